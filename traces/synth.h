/* spotlab: synthetic traces from published statistics.
 *
 * A synthetic pool alternates between available and unavailable. While available it is
 * interrupted at a rate per hour (scaled down on weekends); an outage lasts an exponentially
 * distributed time with a given mean. Transitions are drawn once per tick, so the result is a
 * tick series like the recorded ones. The spot price is the on-demand price less a discount,
 * with a further dip at night (22:00 to 06:00 UTC) and on weekends.
 *
 * Every pool draws from its own stream of the seed, so a synthetic trace is a pure function of
 * its parameters.
 */
#pragma once

#include "trace.h"

G_BEGIN_DECLS

typedef struct {
    const char *name;
    TraceCloud cloud;
    const char *region;
    const char *zone;
    const char *instance_type;
    double hours;           /* length of the recording */
    double gap_seconds;     /* tick length */
    double rate_per_hour;   /* interruptions per available hour, on weekdays */
    double weekend_factor;  /* multiplier of the rate on Saturdays and Sundays */
    double outage_seconds;  /* mean length of an outage */
    double on_demand_price; /* USD per hour */
    double discount;        /* spot discount against on demand, 0..1 */
    double offpeak_dip;     /* further fraction off at night and on weekends, 0..1 */
    const char *start_time; /* ISO 8601 UTC time of t = 0; decides weekdays and hours */
    guint64 seed;
    guint64 stream; /* the pool's stream of the seed */
} TraceSynthParams;

/* Fills @params with the documented defaults, the published figures for one H100 GPU
 * (shared/design/seed-facts.md): 4.1% interruptions per hour, 40% fewer on weekends, 1 h
 * outages, $3.90/h on demand (AWS after its 2025 cut), 70% spot discount, 12% off-peak dip. */
void trace_synth_defaults(TraceSynthParams *params);

/**
 * trace_synth_pool:
 * Returns: (transfer full): the pool, or NULL with @error (TRACE_ERROR_USAGE) naming the bad
 * parameter.
 */
TracePool *trace_synth_pool(const TraceSynthParams *params, GError **error);

G_END_DECLS
