/* Synthetic traces: a pure function of their parameters (same parameters, same step functions;
 * another stream or seed, another trace), interruptions at the rate asked for, scaled on
 * weekends, outages of the mean length asked for, and the documented price shape. */
#include "import.h"
#include "synth.h"
#include "test-util.h"

#include <stdio.h>
#include <string.h>

#define US(seconds) ((gint64)llround((seconds)*1e6))

static gboolean
__steps_equal(const TraceStep *a, const TraceStep *b)
{
    if (a->n != b->n)
        return FALSE;
    return memcmp(a->time, b->time, a->n * sizeof *a->time) == 0 &&
           memcmp(a->value, b->value, a->n * sizeof *a->value) == 0;
}

static TracePool *
__synth(const TraceSynthParams *p)
{
    g_autoptr(GError) error = NULL;
    TracePool *pool = trace_synth_pool(p, &error);
    if (pool == NULL)
        fprintf(stderr, "\n  synth: %s\n", error->message);
    return pool;
}

static void
test_deterministic(void)
{
    TraceSynthParams p;
    trace_synth_defaults(&p);
    p.hours = 2000;
    p.seed = 42;
    p.stream = 3;
    g_autoptr(TracePool) a = __synth(&p);
    g_autoptr(TracePool) b = __synth(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* Enough interruptions for the comparisons below to mean something. */
    CU_ASSERT(a->capacity.n > 20);
    CU_ASSERT(__steps_equal(&a->capacity, &b->capacity));
    CU_ASSERT(__steps_equal(&a->price, &b->price));
    CU_ASSERT_EQUAL(a->span, b->span);
    /* The whole canonical text, metadata included. */
    g_autoptr(TraceSet) sa = trace_set_new(), sb = trace_set_new();
    trace_set_add(sa, g_steal_pointer(&a));
    trace_set_add(sb, g_steal_pointer(&b));
    g_autofree char *ja = trace_set_to_json(sa);
    g_autofree char *jb = trace_set_to_json(sb);
    CU_ASSERT_STRING_EQUAL(ja, jb);

    /* Another stream or another seed gives another trace. */
    const TracePool *ref = trace_set_pool(sa, 0);
    TraceSynthParams q = p;
    q.stream = 4;
    g_autoptr(TracePool) other_stream = __synth(&q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other_stream);
    CU_ASSERT(!__steps_equal(&ref->capacity, &other_stream->capacity));
    q = p;
    q.seed = 43;
    g_autoptr(TracePool) other_seed = __synth(&q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other_seed);
    CU_ASSERT(!__steps_equal(&ref->capacity, &other_seed->capacity));
    CU_ASSERT(!__steps_equal(&other_stream->capacity, &other_seed->capacity));

    /* Prices draw nothing: changing them leaves the capacity as it was. */
    q = p;
    q.discount = 0.5;
    q.on_demand_price = 2.0;
    g_autoptr(TracePool) repriced = __synth(&q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(repriced);
    CU_ASSERT(__steps_equal(&ref->capacity, &repriced->capacity));
    CU_ASSERT(!__steps_equal(&ref->price, &repriced->price));
}

typedef enum {
    CLASS_DAY,     /* Monday to Friday, 06:00 to 22:00 UTC */
    CLASS_NIGHT,   /* Monday to Friday, 22:00 to 06:00 UTC */
    CLASS_WEEKEND, /* Saturday and Sunday, all day */
    N_CLASSES
} HourClass;

typedef struct {
    double weekday_ticks, weekday_hits; /* up before the tick, and interrupted at it */
    double weekend_ticks, weekend_hits;
    double down_ticks, recoveries; /* down before the tick, and back up at it */
    double class_ticks[N_CLASSES], price_sum[N_CLASSES];
} Exposure;

/* Counts, tick by tick, the chances to be interrupted (or to recover) and how many were
 * taken, and sums the spot price by hour class. The state of tick i is drawn at tick i, with
 * the rate of tick i's day. The calendar is counted on from the start time here, rather than
 * computed from the epoch as the synthesizer does, so the two cross-check. */
static void
__exposure(const TracePool *pool, Exposure *e)
{
    memset(e, 0, sizeof *e);
    g_autofree guint8 *avail = NULL;
    g_autofree double *price = NULL;
    gsize n = 0;
    CU_ASSERT_FATAL(trace_pool_sample_ticks(pool, pool->gap, 1, NAN, &avail, &price, &n, NULL));
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GDateTime) start = g_date_time_new_from_iso8601(pool->start_time, utc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(start);
    CU_ASSERT_FATAL(pool->gap % 1000000 == 0);
    const gint64 gap_s = pool->gap / 1000000;
    const gint64 first = g_date_time_get_hour(start) * 3600 + g_date_time_get_minute(start) * 60 +
                         g_date_time_get_second(start);
    const int monday_based = g_date_time_get_day_of_week(start) - 1; /* 0 = Monday */
    for (gsize i = 0; i < n; i++) {
        gint64 s = first + (gint64)i * gap_s;
        int dow = (int)((monday_based + s / 86400) % 7) + 1;
        int hour = (int)(s % 86400 / 3600);
        gboolean weekend = dow >= 6;
        HourClass c = weekend ? CLASS_WEEKEND : (hour >= 22 || hour < 6) ? CLASS_NIGHT : CLASS_DAY;
        e->class_ticks[c]++;
        e->price_sum[c] += price[i];
        if (i == 0)
            continue;
        if (avail[i - 1]) {
            if (weekend) {
                e->weekend_ticks++;
                e->weekend_hits += !avail[i];
            } else {
                e->weekday_ticks++;
                e->weekday_hits += !avail[i];
            }
        } else {
            e->down_ticks++;
            e->recoveries += avail[i];
        }
    }
}

/* |observed - n p| within @k binomial standard errors. */
static gboolean
__within(double observed, double n, double p, double k)
{
    double sd = sqrt(n * p * (1 - p));
    gboolean ok = fabs(observed - n * p) <= k * sd;
    if (!ok)
        fprintf(stderr, "\n  observed %g, expected %g +- %g (%g sd)\n", observed, n * p, sd,
                (observed - n * p) / sd);
    return ok;
}

static void
test_interruption_rate(void)
{
    /* The defaults: 0.041 interruptions per available hour, 40% fewer on weekends, 1 h
     * outages, 10 min ticks. Over 20000 h that is about 560 weekday and 135 weekend
     * interruptions, so a wrong rate or a missing weekend factor shows by far more than four
     * standard errors. */
    TraceSynthParams p;
    trace_synth_defaults(&p);
    p.hours = 20000;
    p.seed = 7;
    g_autoptr(TracePool) pool = __synth(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    CU_ASSERT_EQUAL(pool->gap, US(600));
    CU_ASSERT_EQUAL(pool->span, US(20000 * 3600.0));
    Exposure e;
    __exposure(pool, &e);
    const double h = p.gap_seconds / 3600;
    const double p_weekday = 1 - exp(-p.rate_per_hour * h);
    const double p_weekend = 1 - exp(-p.rate_per_hour * p.weekend_factor * h);
    const double p_recover = 1 - exp(-p.gap_seconds / p.outage_seconds);
    CU_ASSERT(e.weekday_hits > 400 && e.weekend_hits > 80);
    CU_ASSERT(__within(e.weekday_hits, e.weekday_ticks, p_weekday, 4));
    CU_ASSERT(__within(e.weekend_hits, e.weekend_ticks, p_weekend, 4));
    /* Without the weekend factor the weekend count would be far off. */
    CU_ASSERT(!__within(e.weekend_hits, e.weekend_ticks, p_weekday, 4));
    CU_ASSERT(__within(e.recoveries, e.down_ticks, p_recover, 4));
    printf("\n  weekday %.5f/h (asked %.5f), weekend %.5f/h (asked %.5f), mean outage %.0f s\n",
           e.weekday_hits / (e.weekday_ticks * h), p.rate_per_hour,
           e.weekend_hits / (e.weekend_ticks * h), p.rate_per_hour * p.weekend_factor,
           e.down_ticks * p.gap_seconds / e.recoveries);

    /* The same rate from the statistics `spotlab trace info` prints: interruptions per
     * available hour, all days together. */
    TracePoolStats st;
    trace_pool_stats(pool, 1, &st);
    CU_ASSERT_EQUAL(st.interruptions, (guint)(e.weekday_hits + e.weekend_hits));
    double expected = e.weekday_ticks * p_weekday + e.weekend_ticks * p_weekend;
    CU_ASSERT(fabs(st.interruptions - expected) <= 4 * sqrt(expected));

    /* A weekend factor of 0: no interruption ever starts on a Saturday or Sunday. */
    p.hours = 5000;
    p.weekend_factor = 0;
    g_autoptr(TracePool) calm = __synth(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(calm);
    __exposure(calm, &e);
    CU_ASSERT(e.weekend_ticks > 1000);
    CU_ASSERT_EQUAL(e.weekend_hits, 0);
    CU_ASSERT(e.weekday_hits > 50);
    /* A factor of 1: weekends like weekdays. */
    p.weekend_factor = 1;
    g_autoptr(TracePool) flat = __synth(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(flat);
    __exposure(flat, &e);
    CU_ASSERT(__within(e.weekend_hits, e.weekend_ticks, p_weekday, 4));
    CU_ASSERT(__within(e.weekday_hits, e.weekday_ticks, p_weekday, 4));
}

static void
test_prices_and_metadata(void)
{
    /* $3.90 on demand, 70% off: $1.17; 12% less again at night (22:00 to 06:00 UTC) and on
     * weekends: $1.0296. 2025-01-06 is a Monday. */
    TraceSynthParams p;
    trace_synth_defaults(&p);
    p.name = "aws-h100";
    p.region = "us-east-1";
    p.zone = "us-east-1a";
    g_autoptr(TracePool) pool = __synth(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    CU_ASSERT_STRING_EQUAL(pool->name, "aws-h100");
    CU_ASSERT_EQUAL(pool->cloud, TRACE_CLOUD_AWS);
    CU_ASSERT_STRING_EQUAL(pool->zone, "us-east-1a");
    CU_ASSERT_STRING_EQUAL(pool->instance_type, "h100");
    CU_ASSERT(g_str_has_prefix(pool->start_time, "2025-01-06T00:00:00"));
    CU_ASSERT_EQUAL(pool->span, US(168 * 3600.0));
    CU_ASSERT_EQUAL(pool->on_demand_price, 3.90);
    CU_ASSERT(pool->has_capacity && pool->has_price);
    CU_ASSERT_EQUAL(trace_step_at(&pool->capacity, 0), 1); /* it starts available */
    static const struct {
        double hours;
        double price;
    } at[] = {
        {0, 1.0296},           /* Monday 00:00, night */
        {5.9, 1.0296},         /* Monday 05:50 */
        {6, 1.17},             /* Monday 06:00 */
        {21.9, 1.17},          /* Monday 21:50 */
        {22, 1.0296},          /* Monday 22:00 */
        {4 * 24 + 12, 1.17},   /* Friday noon */
        {5 * 24 + 12, 1.0296}, /* Saturday noon */
        {6 * 24 + 12, 1.0296}, /* Sunday noon */
    };
    for (gsize i = 0; i < G_N_ELEMENTS(at); i++)
        TEST_ASSERT_REL(trace_step_at(&pool->price, US(at[i].hours * 3600)), at[i].price, 1e-12);
    /* 7 nights and 2 weekend days a week off-peak, with both counted once: weekdays have 16
     * peak hours, so 80 of 168 h are at $1.17. */
    TracePoolStats st;
    trace_pool_stats(pool, 1, &st);
    TEST_ASSERT_REL(st.price_mean, (80 * 1.17 + 88 * 1.0296) / 168, 1e-12);
}

static void
test_bad_parameters(void)
{
    static const struct {
        const char *what;
        double gap, hours, discount;
        const char *start;
    } cases[] = {
        {"gap", 0, 168, 0.7, "2025-01-06T00:00:00Z"},
        {"hours", 600, 0.1, 0.7, "2025-01-06T00:00:00Z"},
        {"discount", 600, 168, 1.5, "2025-01-06T00:00:00Z"},
        {"start", 600, 168, 0.7, "next monday"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TraceSynthParams p;
        trace_synth_defaults(&p);
        p.gap_seconds = cases[i].gap;
        p.hours = cases[i].hours;
        p.discount = cases[i].discount;
        p.start_time = cases[i].start;
        g_autoptr(GError) error = NULL;
        g_autoptr(TracePool) pool = trace_synth_pool(&p, &error);
        CU_ASSERT_PTR_NULL(pool);
        CU_ASSERT(g_error_matches(error, TRACE_ERROR, TRACE_ERROR_USAGE));
        g_autofree char *prefix = g_strdup_printf("synth: %s: ", cases[i].what);
        CU_ASSERT(error != NULL && g_str_has_prefix(error->message, prefix));
    }
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite suite = CU_add_suite("traces-synth", NULL, NULL);
    CU_add_test(suite, "deterministic", test_deterministic);
    CU_add_test(suite, "interruption_rate", test_interruption_rate);
    CU_add_test(suite, "prices_and_metadata", test_prices_and_metadata);
    CU_add_test(suite, "bad_parameters", test_bad_parameters);
    return test_run_all();
}
