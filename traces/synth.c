/* spotlab: synthetic traces from published statistics (see synth.h). */
#include "synth.h"

#include "rng.h"
#include "util.h"

#include <math.h>

void
trace_synth_defaults(TraceSynthParams *p)
{
    *p = (TraceSynthParams){
        .name = "synthetic",
        .cloud = TRACE_CLOUD_AWS,
        .instance_type = "h100",
        .hours = 168,
        .gap_seconds = 600,
        .rate_per_hour = 0.041,
        .weekend_factor = 0.6,
        .outage_seconds = 3600,
        .on_demand_price = 3.90,
        .discount = 0.70,
        .offpeak_dip = 0.12,
        .start_time = "2025-01-06T00:00:00Z", /* a Monday */
        .seed = 1,
    };
}

static gboolean
__bad(GError **error, const char *what, double v)
{
    g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE, "synth: %s, got %g", what, v);
    return FALSE;
}

TracePool *
trace_synth_pool(const TraceSynthParams *p, GError **error)
{
    g_return_val_if_fail(p != NULL, NULL);
    gint64 gap, span;
    if (!trace_seconds_to_us(p->gap_seconds, &gap) || gap <= 0)
        return __bad(error, "gap: expected a tick length > 0", p->gap_seconds), NULL;
    if (!trace_seconds_to_us(p->hours * 3600, &span) || span < gap)
        return __bad(error, "hours: expected at least one tick", p->hours), NULL;
    if (!(p->rate_per_hour >= 0) || !isfinite(p->rate_per_hour))
        return __bad(error, "rate: expected interruptions per hour >= 0", p->rate_per_hour), NULL;
    if (!(p->weekend_factor >= 0) || !isfinite(p->weekend_factor))
        return __bad(error, "weekend factor: expected >= 0", p->weekend_factor), NULL;
    if (!(p->outage_seconds > 0) || !isfinite(p->outage_seconds))
        return __bad(error, "outage: expected a mean duration > 0", p->outage_seconds), NULL;
    if (!(p->on_demand_price >= 0) || !isfinite(p->on_demand_price))
        return __bad(error, "on-demand price: expected >= 0", p->on_demand_price), NULL;
    if (!(p->discount >= 0 && p->discount <= 1))
        return __bad(error, "discount: expected a fraction from 0 to 1", p->discount), NULL;
    if (!(p->offpeak_dip >= 0 && p->offpeak_dip <= 1))
        return __bad(error, "off-peak dip: expected a fraction from 0 to 1", p->offpeak_dip), NULL;
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GDateTime) start = g_date_time_new_from_iso8601(p->start_time, utc);
    if (start == NULL) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "synth: start: expected an ISO 8601 time like 2025-01-06T00:00:00Z, got %s",
                    p->start_time);
        return NULL;
    }
    gint64 start_us = spotlab_datetime_to_unix_us(start);

    g_autoptr(TracePool) pool = trace_pool_new(p->name);
    pool->cloud = p->cloud;
    pool->region = g_strdup(p->region);
    pool->zone = g_strdup(p->zone);
    pool->instance_type = g_strdup(p->instance_type);
    pool->start_time = g_date_time_format_iso8601(start);
    pool->gap = gap;
    gint64 n = span / gap;
    pool->span = n * gap;
    pool->on_demand_price = p->on_demand_price;
    pool->has_capacity = TRUE;
    pool->has_price = TRUE;

    SimRng root, rng;
    sim_rng_init(&root, p->seed);
    sim_rng_split(&root, p->stream, &rng);
    const double hours_per_tick = p->gap_seconds / 3600.0;
    const double recover = 1.0 - exp(-p->gap_seconds / p->outage_seconds);
    const double base = p->on_demand_price * (1.0 - p->discount);
    gboolean up = TRUE;
    for (gint64 i = 0; i < n; i++) {
        gint64 t = i * gap;
        g_autoptr(GDateTime) now = spotlab_datetime_from_unix_us(start_us + t);
        int dow = g_date_time_get_day_of_week(now); /* 1 = Monday */
        int hour = g_date_time_get_hour(now);
        gboolean weekend = dow >= 6;
        gboolean night = hour >= 22 || hour < 6;
        /* Every tick draws once, whatever the state, so streams stay aligned across
         * parameter changes that do not touch the draws. */
        double u = sim_rng_double(&rng);
        if (i > 0) {
            if (up) {
                double rate = p->rate_per_hour * (weekend ? p->weekend_factor : 1.0);
                up = u >= 1.0 - exp(-rate * hours_per_tick);
            } else {
                up = u < recover;
            }
        }
        trace_step_append(&pool->capacity, t, up ? 1 : 0);
        double price = base * (weekend || night ? 1.0 - p->offpeak_dip : 1.0);
        trace_step_append(&pool->price, t, round(price * 1e4) / 1e4);
    }
    return g_steal_pointer(&pool);
}
