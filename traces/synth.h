/* spotlab: synthetic traces from published statistics.
 *
 * A synthetic pool alternates between available and unavailable. While available it is
 * interrupted at a rate per hour (the GPU's rate times the region's factor, scaled down on
 * weekends); an outage lasts an exponentially distributed time with a given mean. Transitions
 * are drawn once per tick, so the result is a tick series like the recorded ones. The spot
 * price is the on-demand price less a discount, times the region's price factor (never above
 * on demand), with a further dip at night (22:00 to 06:00 UTC) and on weekends (Saturday and
 * Sunday UTC, all day).
 *
 * The presets restate shared/design/seed-facts.md: interruptions per instance-hour for A100,
 * V100 and H100, 40% fewer on weekends, us-east-1 at three times the rate of us-west-2,
 * us-west-2 spot prices 20% above us-east-2, spot discounts of 70-91% and a 10-15% dip at
 * night and on weekends. docs/traces.md gives the source of every number.
 *
 * Every pool draws from its own stream of the seed, so a synthetic trace is a pure function of
 * its parameters. Prices draw nothing: changing them leaves the capacity as it was.
 */
#pragma once

#include "trace.h"

G_BEGIN_DECLS

typedef struct {
    const char *name;
    TraceCloud cloud;
    const char *region; /* recorded; the factors below are what it changes */
    const char *zone;
    const char *instance_type;
    double hours;           /* length of the recording */
    double gap_seconds;     /* tick length */
    double rate_per_hour;   /* interruptions per available hour on weekdays, before the region */
    double region_factor;   /* multiplier of the rate for the region (us-west-2 = 1) */
    double weekend_factor;  /* multiplier of the rate on Saturdays and Sundays */
    double outage_seconds;  /* mean length of an outage */
    double on_demand_price; /* USD per hour */
    double discount;        /* spot discount against on demand, 0..1 */
    double price_factor;    /* multiplier of the spot price for the region (us-east-2 = 1) */
    double offpeak_dip;     /* further fraction off at night and on weekends, 0..1 */
    const char *start_time; /* ISO 8601 UTC time of t = 0; decides weekdays and hours */
    guint64 seed;
    guint64 stream; /* the pool's stream of the seed */
} TraceSynthParams;

/* A GPU preset: the published interruption rate and a price for one GPU-hour. */
typedef struct {
    const char *name;       /* "a100", "h100", "v100" */
    double rate_per_hour;   /* interruptions per instance-hour, weekdays */
    double on_demand_price; /* USD per GPU-hour */
    double discount;        /* spot discount at peak hours */
    const char *source;     /* where the numbers come from, one sentence */
} TraceSynthGpu;

/* A region's factors. Regions missing from the table have both factors 1. */
typedef struct {
    const char *name;
    double rate_factor;  /* interruption rate relative to us-west-2 */
    double price_factor; /* spot price relative to us-east-2 */
    const char *source;
} TraceSynthRegion;

/* The presets, in name order; @n receives their number. Borrowed, static. */
const TraceSynthGpu *trace_synth_gpus(gsize *n);
const TraceSynthRegion *trace_synth_regions(gsize *n);

/* The preset of @name, or NULL when there is none. Borrowed, static. */
const TraceSynthGpu *trace_synth_gpu_lookup(const char *name);
const TraceSynthRegion *trace_synth_region_lookup(const char *name);

/* Fills @params with the documented defaults: the H100 preset in a baseline region (both
 * factors 1), 40% fewer interruptions on weekends, 1 h outages, a 12% off-peak dip, 168 h of
 * 10-minute ticks from Monday 2025-01-06 00:00 UTC, seed 1, stream 0. */
void trace_synth_defaults(TraceSynthParams *params);

/**
 * trace_synth_apply_gpu:
 * Sets the rate, on-demand price and discount of @params from the preset @gpu, and the
 * instance type to @gpu's name (static storage).
 * Returns: FALSE with @error (TRACE_ERROR_USAGE, naming the presets) when there is no such
 * preset; @params is then unchanged.
 */
gboolean trace_synth_apply_gpu(TraceSynthParams *params, const char *gpu, GError **error);

/**
 * trace_synth_apply_region:
 * Records @region (borrowed: it must outlive @params' use) and sets the region and price
 * factors from the table, 1 for a region the table does not hold.
 */
void trace_synth_apply_region(TraceSynthParams *params, const char *region);

/**
 * trace_synth_pool:
 * Returns: (transfer full): the pool, or NULL with @error (TRACE_ERROR_USAGE) naming the bad
 * parameter: "synth: discount: expected a fraction from 0 to 1, got 1.5".
 */
TracePool *trace_synth_pool(const TraceSynthParams *params, GError **error);

G_END_DECLS
