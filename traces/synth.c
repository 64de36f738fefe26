/* spotlab: synthetic traces from published statistics (see synth.h). */
#include "synth.h"

#include "rng.h"
#include "util.h"

#include <math.h>
#include <string.h>

/* The GPU presets. Rates: shared/design/seed-facts.md, "Interruption rates (from an analysis
 * of 10 million spot instance-hours)". Discounts: seed-facts gives 70-91% in general, V100 up
 * to 91%, H100 rarely beyond 75%; each preset's peak discount is chosen so that with the
 * default 12% off-peak dip the deepest price stays inside its published bound. */
static const TraceSynthGpu gpus[] = {
    {
        .name = "a100",
        .rate_per_hour = 0.023,
        /* seed-facts: (ml.)p4d.24xlarge, 8 A100, $32.77/h on demand. */
        .on_demand_price = 32.77 / 8,
        /* The middle of the general 70-91% range (and the 80% average reported for p5 spot);
         * 82.4% off-peak. */
        .discount = 0.80,
        .source =
            "seed-facts: 2.3%/h; ml.p4d.24xlarge (8 A100) $32.77/h / 8; 80% off, the middle of "
            "70-91%",
    },
    {
        .name = "h100",
        .rate_per_hour = 0.041,
        /* seed-facts: AWS cut on-demand H100 prices to about $3.90 per GPU-hour in June 2025. */
        .on_demand_price = 3.90,
        /* H100 rarely beyond 75% off: 70% at peak, 73.6% off-peak. */
        .discount = 0.70,
        .source = "seed-facts: 4.1%/h; $3.90/GPU-h after the June 2025 cut; 70% off, H100 "
                  "rarely beyond 75%",
    },
    {
        .name = "v100",
        .rate_per_hour = 0.008,
        /* AWS public list price of p3.2xlarge (1 V100, Linux, us-east-1): $3.06/h. */
        .on_demand_price = 3.06,
        /* V100 up to 91% off: 89% at peak, 90.3% off-peak. */
        .discount = 0.89,
        .source = "seed-facts: 0.8%/h; AWS list price of p3.2xlarge (1 V100) $3.06/h; 89% off, "
                  "V100 up to 91%",
    },
};

/* The regions with a published figure (seed-facts.md, "Interruption rates" and "Prices"). The
 * interruption baseline is us-west-2, the price baseline us-east-2: the two figures compare
 * different pairs of regions, so each factor has its own baseline. */
static const TraceSynthRegion regions[] = {
    {"us-east-1", 3.0, 1.0, "seed-facts: 3x the interruption rate of us-west-2"},
    {"us-east-2", 1.0, 1.0, "seed-facts: the price baseline us-west-2 is compared with"},
    {"us-west-2", 1.0, 1.2, "seed-facts: the interruption baseline; spot 20% above us-east-2"},
};

const TraceSynthGpu *
trace_synth_gpus(gsize *n)
{
    *n = G_N_ELEMENTS(gpus);
    return gpus;
}

const TraceSynthRegion *
trace_synth_regions(gsize *n)
{
    *n = G_N_ELEMENTS(regions);
    return regions;
}

const TraceSynthGpu *
trace_synth_gpu_lookup(const char *name)
{
    for (gsize i = 0; name != NULL && i < G_N_ELEMENTS(gpus); i++)
        if (strcmp(gpus[i].name, name) == 0)
            return &gpus[i];
    return NULL;
}

const TraceSynthRegion *
trace_synth_region_lookup(const char *name)
{
    for (gsize i = 0; name != NULL && i < G_N_ELEMENTS(regions); i++)
        if (strcmp(regions[i].name, name) == 0)
            return &regions[i];
    return NULL;
}

void
trace_synth_defaults(TraceSynthParams *p)
{
    const TraceSynthGpu *h100 = trace_synth_gpu_lookup("h100");
    g_assert(h100 != NULL);
    *p = (TraceSynthParams){
        .name = "synthetic",
        .cloud = TRACE_CLOUD_AWS,
        .instance_type = h100->name,
        .hours = 168,
        .gap_seconds = 600,
        .rate_per_hour = h100->rate_per_hour,
        .region_factor = 1,
        /* seed-facts: 40% fewer interruptions on weekends. */
        .weekend_factor = 0.6,
        .outage_seconds = 3600,
        .on_demand_price = h100->on_demand_price,
        .discount = h100->discount,
        .price_factor = 1,
        /* seed-facts: nights and weekends a further 10-15% cheaper; 12% is inside that. */
        .offpeak_dip = 0.12,
        .start_time = "2025-01-06T00:00:00Z", /* a Monday */
        .seed = 1,
    };
}

gboolean
trace_synth_apply_gpu(TraceSynthParams *p, const char *gpu, GError **error)
{
    g_return_val_if_fail(p != NULL, FALSE);
    const TraceSynthGpu *preset = trace_synth_gpu_lookup(gpu);
    if (preset == NULL) {
        GString *names = g_string_new(NULL);
        for (gsize i = 0; i < G_N_ELEMENTS(gpus); i++)
            g_string_append_printf(names, "%s%s", i ? ", " : "", gpus[i].name);
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "synth: gpu: expected one of %s, got '%s'", names->str, gpu ? gpu : "(null)");
        g_string_free(names, TRUE);
        return FALSE;
    }
    p->instance_type = preset->name;
    p->rate_per_hour = preset->rate_per_hour;
    p->on_demand_price = preset->on_demand_price;
    p->discount = preset->discount;
    return TRUE;
}

void
trace_synth_apply_region(TraceSynthParams *p, const char *region)
{
    g_return_if_fail(p != NULL);
    const TraceSynthRegion *r = trace_synth_region_lookup(region);
    p->region = region;
    p->region_factor = r ? r->rate_factor : 1.0;
    p->price_factor = r ? r->price_factor : 1.0;
}

static gboolean
__bad(GError **error, const char *what, double v)
{
    g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE, "synth: %s, got %g", what, v);
    return FALSE;
}

static gboolean
__nonnegative(double v)
{
    return v >= 0 && isfinite(v);
}

/* Floor division, for times before 1970. */
static gint64
__floor_div(gint64 a, gint64 b)
{
    gint64 q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
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
    if (!__nonnegative(p->rate_per_hour))
        return __bad(error, "rate: expected interruptions per hour >= 0", p->rate_per_hour), NULL;
    if (!__nonnegative(p->region_factor))
        return __bad(error, "region-factor: expected a number >= 0", p->region_factor), NULL;
    if (!__nonnegative(p->weekend_factor))
        return __bad(error, "weekend-factor: expected a number >= 0", p->weekend_factor), NULL;
    if (!(p->outage_seconds > 0) || !isfinite(p->outage_seconds))
        return __bad(error, "outage: expected a mean duration > 0", p->outage_seconds), NULL;
    if (!__nonnegative(p->on_demand_price))
        return __bad(error, "on-demand-price: expected USD per hour >= 0", p->on_demand_price),
               NULL;
    if (!(p->discount >= 0 && p->discount <= 1))
        return __bad(error, "discount: expected a fraction from 0 to 1", p->discount), NULL;
    if (!__nonnegative(p->price_factor))
        return __bad(error, "price-factor: expected a number >= 0", p->price_factor), NULL;
    if (!(p->offpeak_dip >= 0 && p->offpeak_dip <= 1))
        return __bad(error, "offpeak-dip: expected a fraction from 0 to 1", p->offpeak_dip), NULL;
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GDateTime) start =
        p->start_time ? g_date_time_new_from_iso8601(p->start_time, utc) : NULL;
    if (start == NULL) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "synth: start: expected an ISO 8601 time like 2025-01-06T00:00:00Z, got %s",
                    p->start_time ? p->start_time : "nothing");
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
    const double rate = p->rate_per_hour * p->region_factor;
    const double hit_weekday = 1.0 - exp(-rate * hours_per_tick);
    const double hit_weekend = 1.0 - exp(-rate * p->weekend_factor * hours_per_tick);
    /* A spot price above on demand would not sell: a high price factor on a small discount
     * stops at the on-demand price. */
    const double peak =
        fmin(p->on_demand_price * (1.0 - p->discount) * p->price_factor, p->on_demand_price);
    const double peak_rounded = round(peak * 1e4) / 1e4;
    const double offpeak_rounded = round(peak * (1.0 - p->offpeak_dip) * 1e4) / 1e4;
    gboolean up = TRUE;
    for (gint64 i = 0; i < n; i++) {
        gint64 t = i * gap;
        /* UTC calendar arithmetic: day 0 of the epoch, 1970-01-01, was a Thursday. */
        gint64 second = __floor_div(start_us + t, SPOTLAB_US_PER_S);
        gint64 day = __floor_div(second, 86400);
        int dow = (int)((day % 7 + 7 + 3) % 7) + 1; /* 1 = Monday */
        int hour = (int)((second - day * 86400) / 3600);
        gboolean weekend = dow >= 6;
        gboolean night = hour >= 22 || hour < 6;
        /* Every tick draws once, whatever the state, so streams stay aligned across
         * parameter changes that do not touch the draws. */
        double u = sim_rng_double(&rng);
        if (i > 0)
            up = up ? u >= (weekend ? hit_weekend : hit_weekday) : u < recover;
        trace_step_append(&pool->capacity, t, up ? 1 : 0);
        trace_step_append(&pool->price, t, weekend || night ? offpeak_rounded : peak_rounded);
    }
    return g_steal_pointer(&pool);
}
