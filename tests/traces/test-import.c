/* Trace import: every format of traces/import.h read from the small fixtures in
 * tests/data/traces, the errors each one promises (file, line, column, field and code), format
 * detection, the canonical round trip, step-function folding, price overlays, per-pool
 * statistics and tick sampling. The expected values are worked out by hand in the comments. */
#include "import.h"
#include "test-util.h"

#include <stdio.h>
#include <string.h>

#define US(seconds) ((gint64)llround((seconds)*1e6))

typedef struct {
    double t; /* seconds */
    double v;
} Point;

static char *
__fixture(const char *relative)
{
    g_autofree char *rel = g_build_filename("traces", relative, NULL);
    return test_data_path(rel);
}

/* Imports a fixture that must import; prints the error when it does not. */
static TraceSet *
__import(const char *relative, const TraceImportOptions *opts)
{
    g_autofree char *path = __fixture(relative);
    g_autoptr(GError) error = NULL;
    TraceSet *set = trace_import(path, opts, &error);
    if (set == NULL)
        fprintf(stderr, "\n  %s: unexpected error: %s\n", relative, error->message);
    return set;
}

/* Asserts that importing @relative fails with @code and a message that starts with
 * "<path>:<where>" (where = "LINE:COL: FIELD:" or " FIELD:" for option errors) and contains
 * @what. */
static void
__expect_error(const char *relative, const TraceImportOptions *opts, TraceErrorCode code,
               const char *where, const char *what)
{
    g_autofree char *path = __fixture(relative);
    g_autoptr(GError) error = NULL;
    g_autoptr(TraceSet) set = trace_import(path, opts, &error);
    CU_ASSERT_PTR_NULL(set);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    g_autofree char *prefix = g_strdup_printf("%s:%s", path, where);
    gboolean ok = g_error_matches(error, TRACE_ERROR, code) &&
                  g_str_has_prefix(error->message, prefix) &&
                  (what == NULL || strstr(error->message, what) != NULL);
    if (!ok)
        fprintf(stderr, "\n  %s: expected code %d, \"%s...%s\"; got code %d, \"%s\"\n", relative,
                code, prefix, what ? what : "", error->code, error->message);
    CU_ASSERT(g_error_matches(error, TRACE_ERROR, code));
    CU_ASSERT(g_str_has_prefix(error->message, prefix));
    if (what != NULL)
        CU_ASSERT_PTR_NOT_NULL(strstr(error->message, what));
}

static void
__assert_step(const TraceStep *step, const Point *pts, gsize n)
{
    gboolean ok = step->n == n;
    for (gsize i = 0; ok && i < n; i++)
        ok = step->time[i] == US(pts[i].t) && step->value[i] == pts[i].v;
    if (!ok) {
        fprintf(stderr, "\n  step function:");
        for (gsize i = 0; i < step->n; i++)
            fprintf(stderr, " (%g, %.17g)", (double)step->time[i] / 1e6, step->value[i]);
        fprintf(stderr, "\n  expected:     ");
        for (gsize i = 0; i < n; i++)
            fprintf(stderr, " (%g, %.17g)", pts[i].t, pts[i].v);
        fprintf(stderr, "\n");
    }
    CU_ASSERT(ok);
}

#define ASSERT_STEP(step, ...)                                                                     \
    do {                                                                                           \
        static const Point pts_[] = {__VA_ARGS__};                                                 \
        __assert_step((step), pts_, G_N_ELEMENTS(pts_));                                           \
    } while (0)

#define ASSERT_STR(actual, expected) CU_ASSERT(g_strcmp0((actual), (expected)) == 0)

/* Both NaN, or equal within @rel. */
#define ASSERT_NUM(actual, expected, rel)                                                          \
    do {                                                                                           \
        double a_ = (actual), e_ = (expected);                                                     \
        if (isnan(e_)) {                                                                           \
            CU_ASSERT(isnan(a_));                                                                  \
        } else {                                                                                   \
            TEST_ASSERT_REL(a_, e_, rel);                                                          \
        }                                                                                          \
    } while (0)

/* ---- step functions ------------------------------------------------------------------------ */

static void
test_step_append_folds(void)
{
    TraceStep s = {0};
    /* An equal value adds nothing. */
    trace_step_append(&s, 0, 1);
    trace_step_append(&s, US(10), 1);
    trace_step_append(&s, US(20), 2);
    trace_step_append(&s, US(30), 2);
    ASSERT_STEP(&s, {0, 1}, {20, 2});
    /* A second value at the same time replaces the first (a change logged as two rows). */
    trace_step_append(&s, US(40), 3);
    trace_step_append(&s, US(40), 5);
    ASSERT_STEP(&s, {0, 1}, {20, 2}, {40, 5});
    /* A replacement equal to the value before it removes the change point. */
    trace_step_append(&s, US(40), 2);
    ASSERT_STEP(&s, {0, 1}, {20, 2});
    /* The folded time may then be used again. */
    trace_step_append(&s, US(40), 7);
    ASSERT_STEP(&s, {0, 1}, {20, 2}, {40, 7});
    /* The first point may be replaced too, and a lone point never folds away. */
    TraceStep one = {0};
    trace_step_append(&one, 0, 4);
    trace_step_append(&one, 0, 6);
    ASSERT_STEP(&one, {0, 6});
    /* Growth past the initial capacity keeps every point. */
    TraceStep many = {0};
    for (int i = 0; i < 1000; i++)
        trace_step_append(&many, US(i), i % 2);
    CU_ASSERT_EQUAL(many.n, 1000);
    CU_ASSERT_EQUAL(many.time[999], US(999));
    CU_ASSERT_EQUAL(many.value[999], 1);
    trace_step_clear(&s);
    trace_step_clear(&one);
    trace_step_clear(&many);
    CU_ASSERT_EQUAL(many.n, 0);
    CU_ASSERT_PTR_NULL(many.time);
}

static void
test_step_at(void)
{
    TraceStep s = {0};
    CU_ASSERT(isnan(trace_step_at(&s, 0)));
    trace_step_append(&s, 0, 3);
    trace_step_append(&s, US(10), 1);
    trace_step_append(&s, US(25), 2);
    CU_ASSERT_EQUAL(trace_step_at(&s, -5), 3); /* clamped to the first point */
    CU_ASSERT_EQUAL(trace_step_at(&s, 0), 3);
    CU_ASSERT_EQUAL(trace_step_at(&s, US(10) - 1), 3);
    CU_ASSERT_EQUAL(trace_step_at(&s, US(10)), 1); /* right-continuous */
    CU_ASSERT_EQUAL(trace_step_at(&s, US(24.999999)), 1);
    CU_ASSERT_EQUAL(trace_step_at(&s, US(25)), 2);
    CU_ASSERT_EQUAL(trace_step_at(&s, US(1e6)), 2);
    trace_step_clear(&s);
}

/* ---- detection -------------------------------------------------------------------------- */

static const struct {
    const char *fixture;
    const char *format;
} detect_table[] = {
    {"spotlab/two-pools.json", "spotlab"},
    {"csv/us-east-1a_h100.csv", "csv"},
    {"csv/pools.csv", "csv"},
    {"csv/mixed-gaps.csv", "csv"}, /* time_s as the last header column */
    {"csv/one-row.csv", "csv"},
    {"csv/us-east-1b_bom.csv", "csv"}, /* after a UTF-8 byte order mark */
    {"tick-json/us-west-2a_v100_1.json", "tick-json"},
    {"tick-json/us-east-2a_v100_4.json", "tick-json"},
    {"tick-json/us-west1-a_h100_16/full.json", "tick-json"},
    {"probe/us-west-2a_v100_1.txt", "probe"},
    {"events/g4dn-small.csv", "events"},
    {"gcp-counts/v100x1-east1c.txt", "gcp-counts"},
    {"step-csv/p2-xlarge-us-east-1e.csv", "step-csv"},
    {"step-csv/p2-xlarge-us-east-1e_scaled.csv", "step-csv"},
    {"aws-price-history/p3-history.json", "aws-price-history"},
    {"price-json/v100-prices.json", "price-json"},
    {"gcp-price/us-west1_a3-highgpu-8g.json", "gcp-price"},
};

static void
test_detect_format(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(detect_table); i++) {
        g_autofree char *path = __fixture(detect_table[i].fixture);
        g_autoptr(GError) error = NULL;
        const char *format = trace_detect_format(path, &error);
        if (g_strcmp0(format, detect_table[i].format) != 0)
            fprintf(stderr, "\n  %s: detected %s, expected %s (%s)\n", detect_table[i].fixture,
                    format ? format : "nothing", detect_table[i].format,
                    error ? error->message : "");
        ASSERT_STR(format, detect_table[i].format);
        CU_ASSERT_PTR_NULL(error);
        /* Every detected name is a listed format with a description. */
        CU_ASSERT_PTR_NOT_NULL(trace_format_description(format));
    }
    const char *const *names = trace_format_names();
    guint n = 0;
    while (names[n] != NULL)
        n++;
    CU_ASSERT_EQUAL(n, 10);

    /* Content that is no trace format, and a file that is not there. */
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *junk = g_build_filename(dir, "junk.txt", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(junk, "hello, world\n", -1, NULL));
    g_autoptr(GError) e1 = NULL;
    CU_ASSERT_PTR_NULL(trace_detect_format(junk, &e1));
    CU_ASSERT(g_error_matches(e1, TRACE_ERROR, TRACE_ERROR_PARSE));
    g_autofree char *where = g_strdup_printf("%s:1:1: ", junk);
    CU_ASSERT(e1 != NULL && g_str_has_prefix(e1->message, where));
    g_autofree char *missing = g_build_filename(dir, "missing.json", NULL);
    g_autoptr(GError) e2 = NULL;
    CU_ASSERT_PTR_NULL(trace_detect_format(missing, &e2));
    CU_ASSERT(g_error_matches(e2, TRACE_ERROR, TRACE_ERROR_IO));
    CU_ASSERT(e2 != NULL && g_str_has_prefix(e2->message, missing));
    test_tmpdir_remove(dir);
}

/* Detection names a format and nothing else: a detected tick-json or probe file still needs
 * the caller's convention, and the one given decides the capacities. */
static void
test_detection_never_sets_convention(void)
{
    static const char *const need[] = {"tick-json/us-west-2a_v100_1.json",
                                       "tick-json/us-west1-a_h100_16/full.json",
                                       "probe/us-west-2a_v100_1.txt"};
    for (gsize i = 0; i < G_N_ELEMENTS(need); i++) {
        TraceImportOptions opts = {.format = NULL};
        __expect_error(need[i], &opts, TRACE_ERROR_USAGE, " convention: ", "never guesses");
        TraceImportOptions autos = {.format = "auto"};
        __expect_error(need[i], &autos, TRACE_ERROR_USAGE, " convention: ", "never guesses");

        TraceImportOptions a = {.format = "auto", .convention = TRACE_CONVENTION_AVAILABILITY};
        TraceImportOptions p = {.format = "auto", .convention = TRACE_CONVENTION_PREEMPTED};
        g_autoptr(TraceSet) sa = __import(need[i], &a);
        g_autoptr(TraceSet) sp = __import(need[i], &p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
        const TracePool *pa = trace_set_pool(sa, 0), *pp = trace_set_pool(sp, 0);
        CU_ASSERT_EQUAL(pa->span, pp->span);
        for (gint64 t = 0; t < pa->span; t += pa->gap)
            CU_ASSERT_EQUAL(trace_step_at(&pa->capacity, t), 1 - trace_step_at(&pp->capacity, t));
    }
}

static void
test_options_errors(void)
{
    TraceImportOptions bad = {.format = "parquet"};
    __expect_error("csv/us-east-1a_h100.csv", &bad, TRACE_ERROR_USAGE,
                   " format: ", "got \"parquet\"");
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *missing = g_build_filename(dir, "missing.csv", NULL);
    TraceImportOptions csv = {.format = "csv"};
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(trace_import(missing, &csv, &error));
    CU_ASSERT(g_error_matches(error, TRACE_ERROR, TRACE_ERROR_IO));
    CU_ASSERT(error != NULL && g_str_has_prefix(error->message, missing));
    test_tmpdir_remove(dir);

    /* Formats whose values are counts reject the preempted convention. */
    static const char *const counts[] = {"csv/us-east-1a_h100.csv", "events/g4dn-small.csv",
                                         "gcp-counts/v100x1-east1c.txt", "spotlab/two-pools.json"};
    for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
        TraceImportOptions p = {.convention = TRACE_CONVENTION_PREEMPTED};
        __expect_error(counts[i], &p, TRACE_ERROR_USAGE, " convention: ", "\"preempted\"");
    }
    TraceImportOptions step = {.convention = TRACE_CONVENTION_PREEMPTED, .time_unit = 1};
    __expect_error("step-csv/p2-xlarge-us-east-1e.csv", &step, TRACE_ERROR_USAGE,
                   " convention: ", "\"preempted\"");
}

/* ---- the canonical format ------------------------------------------------------------------ */

static void
test_spotlab_canonical(void)
{
    g_autoptr(TraceSet) set = __import("spotlab/two-pools.json", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_EQUAL_FATAL(trace_set_len(set), 2);
    const TracePool *p = trace_set_find(set, "us-east-1a_h100");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_AWS);
    ASSERT_STR(p->region, "us-east-1");
    ASSERT_STR(p->zone, "us-east-1a");
    ASSERT_STR(p->instance_type, "p5.48xlarge");
    ASSERT_STR(p->start_time, "2025-01-06T00:00:00Z");
    CU_ASSERT_EQUAL(p->span, US(7200));
    CU_ASSERT_EQUAL(p->gap, US(600));
    CU_ASSERT_EQUAL(p->requested, 2);
    CU_ASSERT_EQUAL(p->on_demand_price, 3.9);
    CU_ASSERT(p->has_capacity && p->has_price);
    ASSERT_STEP(&p->capacity, {0, 2}, {1800, 0}, {3600.5, 1});
    ASSERT_STEP(&p->price, {0, 1.17}, {3600, 1.0296});
    g_autofree char *path = __fixture("spotlab/two-pools.json");
    ASSERT_STR(p->source, path);

    const TracePool *c = trace_set_pool(set, 1);
    ASSERT_STR(c->name, "catalogue");
    CU_ASSERT_EQUAL(c->cloud, TRACE_CLOUD_GCP);
    CU_ASSERT_PTR_NULL(c->region);
    CU_ASSERT_PTR_NULL(c->start_time);
    CU_ASSERT_EQUAL(c->gap, 0);
    CU_ASSERT_EQUAL(c->requested, 0);
    CU_ASSERT(isnan(c->on_demand_price));
    CU_ASSERT(!c->has_capacity && c->has_price);
    ASSERT_STEP(&c->price, {0, 18.979008});

    /* Keeping one pool by name. */
    TraceImportOptions key = {.key = "catalogue"};
    g_autoptr(TraceSet) one = __import("spotlab/two-pools.json", &key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_EQUAL(trace_set_len(one), 1);
    ASSERT_STR(trace_set_pool(one, 0)->name, "catalogue");

    /* capacity[2] sits on line 8, column 37. */
    __expect_error("spotlab/bad-times.json", NULL, TRACE_ERROR_INVALID,
                   "8:37: pools[0].capacity[2]: ", "expected times to increase, got 40 after 50");
}

/* ---- csv ----------------------------------------------------------------------------------- */

static void
test_csv_capacity_price(void)
{
    g_autoptr(TraceSet) set = __import("csv/us-east-1a_h100.csv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_EQUAL_FATAL(trace_set_len(set), 1);
    const TracePool *p = trace_set_pool(set, 0);
    ASSERT_STR(p->name, "us-east-1a_h100");
    CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_AWS);
    ASSERT_STR(p->zone, "us-east-1a");
    ASSERT_STR(p->region, "us-east-1");
    ASSERT_STR(p->instance_type, "h100");
    /* Six rows 600 s apart: a tick series of 3600 s. */
    CU_ASSERT_EQUAL(p->gap, US(600));
    CU_ASSERT_EQUAL(p->span, US(3600));
    ASSERT_STEP(&p->capacity, {0, 1}, {1200, 0}, {2400, 1});
    ASSERT_STEP(&p->price, {0, 2.5}, {1800, 3.0}, {3000, 2.0});

    /* Capacity 1 1 0 0 1 1: available 4 of 6 ticks, one interruption, 2400 s up per
     * interruption, one instance lost. Price 2.5 for 3 ticks, 3.0 for 2, 2.0 for 1: mean
     * (7.5 + 6 + 2) / 6 = 2.58333. */
    TracePoolStats st;
    trace_pool_stats(p, 1, &st);
    ASSERT_NUM(st.span_hours, 1.0, 1e-12);
    ASSERT_NUM(st.gap_seconds, 600, 1e-12);
    CU_ASSERT_EQUAL(st.threshold, 1);
    ASSERT_NUM(st.availability, 4.0 / 6.0, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 1);
    ASSERT_NUM(st.mtbi_hours, 2400.0 / 3600.0, 1e-12);
    ASSERT_NUM(st.instances_lost, 1, 1e-12);
    CU_ASSERT_EQUAL(st.capacity_max, 1);
    ASSERT_NUM(st.price_min, 2.0, 1e-12);
    ASSERT_NUM(st.price_max, 3.0, 1e-12);
    ASSERT_NUM(st.price_mean, 15.5 / 6.0, 1e-12);
    CU_ASSERT(isnan(st.on_demand_price));
    CU_ASSERT_EQUAL(st.change_points, 6);
}

static void
test_csv_pool_column(void)
{
    g_autoptr(TraceSet) set = __import("csv/pools.csv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_EQUAL_FATAL(trace_set_len(set), 2);
    /* Pools in order of first appearance, each with its own rows. */
    const TracePool *a = trace_set_pool(set, 0), *b = trace_set_pool(set, 1);
    ASSERT_STR(a->name, "us-east-1a");
    ASSERT_STR(b->name, "us-east-1b");
    ASSERT_STR(a->zone, "us-east-1a");
    ASSERT_STR(b->region, "us-east-1");
    CU_ASSERT_EQUAL(b->cloud, TRACE_CLOUD_AWS);
    CU_ASSERT(a->has_capacity && !a->has_price);
    CU_ASSERT_EQUAL(a->gap, US(300));
    CU_ASSERT_EQUAL(a->span, US(1200));
    CU_ASSERT_EQUAL(b->span, US(1200));
    ASSERT_STEP(&a->capacity, {0, 2}, {300, 1}, {600, 0}, {900, 2});
    ASSERT_STEP(&b->capacity, {0, 0}, {300, 1});

    /* a: 2 1 0 2 -> 3 of 4 ticks with >= 1, one interruption, 2 instances lost;
     * b: 0 1 1 1 -> 3 of 4 ticks, no interruption (NaN MTBI), nothing lost. No prices. */
    TracePoolStats st;
    trace_pool_stats(a, 1, &st);
    ASSERT_NUM(st.availability, 0.75, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 1);
    ASSERT_NUM(st.instances_lost, 2, 1e-12);
    CU_ASSERT_EQUAL(st.capacity_max, 2);
    CU_ASSERT(isnan(st.price_mean) && isnan(st.price_min) && isnan(st.price_max));
    trace_pool_stats(b, 1, &st);
    ASSERT_NUM(st.availability, 0.75, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 0);
    CU_ASSERT(isnan(st.mtbi_hours));
    ASSERT_NUM(st.instances_lost, 0, 1e-12);

    /* Without prices, sampling needs a fallback price. */
    g_autofree guint8 *avail = NULL;
    g_autofree double *price = NULL;
    gsize n = 0;
    g_autoptr(GError) error = NULL;
    CU_ASSERT(!trace_pool_sample_ticks(a, a->gap, 1, NAN, &avail, &price, &n, &error));
    CU_ASSERT(g_error_matches(error, TRACE_ERROR, TRACE_ERROR_USAGE));
    CU_ASSERT(error != NULL && strstr(error->message, "us-east-1a") != NULL);
    CU_ASSERT_FATAL(trace_pool_sample_ticks(a, a->gap, 2, 1.5, &avail, &price, &n, NULL));
    CU_ASSERT_EQUAL_FATAL(n, 4);
    static const guint8 want[] = {1, 0, 0, 1};
    for (gsize i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(avail[i], want[i]);
        CU_ASSERT_EQUAL(price[i], 1.5);
    }
}

/* A UTF-8 byte order mark, as spreadsheets write before CSV text, is no part of the header. */
static void
test_csv_byte_order_mark(void)
{
    g_autoptr(TraceSet) set = __import("csv/us-east-1b_bom.csv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const TracePool *p = trace_set_pool(set, 0);
    ASSERT_STR(p->name, "us-east-1b_bom");
    CU_ASSERT_EQUAL(p->span, US(120));
    ASSERT_STEP(&p->capacity, {0, 2}, {60, 1});
}

static void
test_csv_errors(void)
{
    /* Rows 600 s apart, then 300 s: line 5, time_s in column 3. */
    __expect_error("csv/mixed-gaps.csv", NULL, TRACE_ERROR_INVALID, "5:3: time_s: ", "mixed gaps");
    /* One row cannot give a gap: line 2, time_s in column 5. */
    __expect_error("csv/one-row.csv", NULL, TRACE_ERROR_INVALID, "2:5: time_s: ", "one row");
    /* spot_price starts at column 17 of the header. */
    __expect_error("csv/unknown-column.csv", NULL, TRACE_ERROR_INVALID,
                   "1:17: header: ", "unknown column \"spot_price\"");
}

/* ---- tick-json --------------------------------------------------------------------------------
 */

static void
test_tick_json_conventions(void)
{
    TraceImportOptions a = {.convention = TRACE_CONVENTION_AVAILABILITY};
    TraceImportOptions p = {.convention = TRACE_CONVENTION_PREEMPTED};
    g_autoptr(TraceSet) sa = __import("tick-json/us-west-2a_v100_1.json", &a);
    g_autoptr(TraceSet) sp = __import("tick-json/us-west-2a_v100_1.json", &p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    const TracePool *pa = trace_set_pool(sa, 0), *pp = trace_set_pool(sp, 0);
    ASSERT_STR(pa->name, "us-west-2a_v100_1");
    ASSERT_STR(pa->zone, "us-west-2a");
    ASSERT_STR(pa->region, "us-west-2");
    ASSERT_STR(pa->instance_type, "v100_1");
    CU_ASSERT_EQUAL(pa->cloud, TRACE_CLOUD_AWS);
    CU_ASSERT_EQUAL(pa->gap, US(600));
    CU_ASSERT_EQUAL(pa->span, US(6000));
    /* data 1 1 0 0 1 1 1 0 1 1 */
    ASSERT_STEP(&pa->capacity, {0, 1}, {1200, 0}, {2400, 1}, {4200, 0}, {4800, 1});
    ASSERT_STEP(&pp->capacity, {0, 0}, {1200, 1}, {2400, 0}, {4200, 1}, {4800, 0});
    ASSERT_STEP(&pa->price, {0, 0.9}, {1800, 1.2}, {4800, 0.9});
    ASSERT_STEP(&pp->price, {0, 0.9}, {1800, 1.2}, {4800, 0.9});

    /* Tick by tick the two conventions give inverse availability and the same prices. */
    g_autofree guint8 *av_a = NULL, *av_p = NULL;
    g_autofree double *pr_a = NULL, *pr_p = NULL;
    gsize na = 0, np = 0;
    CU_ASSERT_FATAL(trace_pool_sample_ticks(pa, pa->gap, 1, NAN, &av_a, &pr_a, &na, NULL));
    CU_ASSERT_FATAL(trace_pool_sample_ticks(pp, pp->gap, 1, NAN, &av_p, &pr_p, &np, NULL));
    CU_ASSERT_EQUAL_FATAL(na, 10);
    CU_ASSERT_EQUAL_FATAL(np, 10);
    static const guint8 data[] = {1, 1, 0, 0, 1, 1, 1, 0, 1, 1};
    static const double prices[] = {0.9, 0.9, 0.9, 1.2, 1.2, 1.2, 1.2, 1.2, 0.9, 0.9};
    for (gsize i = 0; i < 10; i++) {
        CU_ASSERT_EQUAL(av_a[i], data[i]);
        CU_ASSERT_EQUAL(av_p[i], 1 - data[i]);
        CU_ASSERT_EQUAL(pr_a[i], prices[i]);
        CU_ASSERT_EQUAL(pr_p[i], prices[i]);
    }

    /* Availability convention: up 7 of 10 ticks; interruptions at ticks 2 and 7; 4200 s up,
     * so 0.58333 h per interruption. Price 0.9 x 3, 1.2 x 5, 0.9 x 2: mean 10.5 / 10 = 1.05.
     * Change points: 5 capacity + 3 price. */
    TracePoolStats st;
    trace_pool_stats(pa, 1, &st);
    ASSERT_NUM(st.span_hours, 6000.0 / 3600.0, 1e-12);
    ASSERT_NUM(st.gap_seconds, 600, 1e-12);
    ASSERT_NUM(st.availability, 0.7, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 2);
    ASSERT_NUM(st.mtbi_hours, 4200.0 / 3600.0 / 2, 1e-12);
    ASSERT_NUM(st.instances_lost, 2, 1e-12);
    ASSERT_NUM(st.price_mean, 1.05, 1e-12);
    ASSERT_NUM(st.price_min, 0.9, 1e-12);
    ASSERT_NUM(st.price_max, 1.2, 1e-12);
    CU_ASSERT_EQUAL(st.change_points, 8);
    /* Preempted convention: up 3 of 10 ticks (2, 3, 7); interruptions at ticks 4 and 8. */
    trace_pool_stats(pp, 1, &st);
    ASSERT_NUM(st.availability, 0.3, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 2);
    ASSERT_NUM(st.mtbi_hours, 1800.0 / 3600.0 / 2, 1e-12);
}

static void
test_tick_json_counts(void)
{
    TraceImportOptions a = {.convention = TRACE_CONVENTION_AVAILABILITY};
    g_autoptr(TraceSet) set = __import("tick-json/us-east-2a_v100_4.json", &a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const TracePool *p = trace_set_pool(set, 0);
    /* data 4 4 3 1 0 2 4 4 2 3, 300 s ticks */
    ASSERT_STEP(&p->capacity, {0, 4}, {600, 3}, {900, 1}, {1200, 0}, {1500, 2}, {1800, 4},
                {2400, 2}, {2700, 3});
    CU_ASSERT(!p->has_price);

    /* Drops 4->3, 3->1, 1->0, 4->2 lose 1 + 2 + 1 + 2 = 6 instances whatever the threshold.
     *   threshold 1: up except tick 4: 9/10, 1 interruption, 2700 s up per interruption;
     *   threshold 3: up at ticks 0-2, 6, 7, 9: 6/10, interruptions at ticks 3 and 8, 1800 s up;
     *   threshold 4: up at ticks 0, 1, 6, 7: 4/10, interruptions at ticks 2 and 8, 1200 s up. */
    static const struct {
        guint threshold;
        double availability;
        guint interruptions;
        double up_seconds;
        guint8 avail[10];
    } cases[] = {
        {1, 0.9, 1, 2700, {1, 1, 1, 1, 0, 1, 1, 1, 1, 1}},
        {3, 0.6, 2, 1800, {1, 1, 1, 0, 0, 0, 1, 1, 0, 1}},
        {4, 0.4, 2, 1200, {1, 1, 0, 0, 0, 0, 1, 1, 0, 0}},
    };
    for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
        TracePoolStats st;
        trace_pool_stats(p, cases[c].threshold, &st);
        CU_ASSERT_EQUAL(st.threshold, cases[c].threshold);
        ASSERT_NUM(st.availability, cases[c].availability, 1e-12);
        CU_ASSERT_EQUAL(st.interruptions, cases[c].interruptions);
        ASSERT_NUM(st.mtbi_hours, cases[c].up_seconds / 3600 / cases[c].interruptions, 1e-12);
        ASSERT_NUM(st.instances_lost, 6, 1e-12);
        CU_ASSERT_EQUAL(st.capacity_max, 4);
        CU_ASSERT(isnan(st.price_mean));

        g_autofree guint8 *avail = NULL;
        g_autofree double *price = NULL;
        gsize n = 0;
        CU_ASSERT_FATAL(
            trace_pool_sample_ticks(p, p->gap, cases[c].threshold, 2.0, &avail, &price, &n, NULL));
        CU_ASSERT_EQUAL_FATAL(n, 10);
        for (gsize i = 0; i < n; i++) {
            CU_ASSERT_EQUAL(avail[i], cases[c].avail[i]);
            CU_ASSERT_EQUAL(price[i], 2.0);
        }
    }
    /* Sampled on a coarser grid (600 s), tick i reads the capacity at i * 600 s. */
    g_autofree guint8 *avail = NULL;
    g_autofree double *price = NULL;
    gsize n = 0;
    CU_ASSERT_FATAL(trace_pool_sample_ticks(p, US(600), 3, 2.0, &avail, &price, &n, NULL));
    CU_ASSERT_EQUAL_FATAL(n, 5);
    static const guint8 coarse[] = {1, 1, 0, 1, 0};
    for (gsize i = 0; i < n; i++)
        CU_ASSERT_EQUAL(avail[i], coarse[i]);

    /* A count above 1 means nothing in the preempted convention. */
    TraceImportOptions pre = {.convention = TRACE_CONVENTION_PREEMPTED};
    __expect_error("tick-json/us-east-2a_v100_4.json", &pre, TRACE_ERROR_INVALID,
                   "3:12: data[0]: ", "expected 0 or 1");
}

static void
test_tick_json_price_info(void)
{
    TraceImportOptions p = {.convention = TRACE_CONVENTION_PREEMPTED};
    g_autoptr(TraceSet) set = __import("tick-json/us-west1-a_h100_16/full.json", &p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const TracePool *pool = trace_set_pool(set, 0);
    /* "full" says nothing: the pool is named after its folder. */
    ASSERT_STR(pool->name, "us-west1-a_h100_16");
    CU_ASSERT_EQUAL(pool->cloud, TRACE_CLOUD_GCP);
    ASSERT_STR(pool->zone, "us-west1-a");
    ASSERT_STR(pool->region, "us-west1");
    ASSERT_STR(pool->instance_type, "h100_16");
    ASSERT_STR(pool->start_time, "2025-10-04T00:10:00+00:00");
    CU_ASSERT_EQUAL(pool->span, US(3600));
    /* data 0 1 1 0 0 0 in the preempted convention */
    ASSERT_STEP(&pool->capacity, {0, 1}, {600, 0}, {1800, 1});
    /* Without a prices array the spot price of price_info holds throughout. */
    CU_ASSERT(pool->has_price);
    ASSERT_STEP(&pool->price, {0, 18.979008});
    CU_ASSERT_EQUAL(pool->on_demand_price, 82.52543396);

    TracePoolStats st;
    trace_pool_stats(pool, 1, &st);
    ASSERT_NUM(st.availability, 4.0 / 6.0, 1e-12);
    ASSERT_NUM(st.price_mean, 18.979008, 1e-12);
    ASSERT_NUM(st.on_demand_price, 82.52543396, 1e-12);
}

static void
test_tick_json_errors(void)
{
    TraceImportOptions a = {.convention = TRACE_CONVENTION_AVAILABILITY};
    TraceImportOptions p = {.convention = TRACE_CONVENTION_PREEMPTED};
    /* Two prices for three ticks: the prices array starts at line 4, column 13. */
    __expect_error("tick-json/short-prices.json", &a, TRACE_ERROR_INVALID,
                   "4:13: prices: ", "one spot price per tick (3");
    /* data[2] = 2 sits on line 4, column 11: fine as a count, impossible when 1 = preempted. */
    g_autoptr(TraceSet) ok = __import("tick-json/two-in-preempted.json", &a);
    CU_ASSERT_PTR_NOT_NULL(ok);
    __expect_error("tick-json/two-in-preempted.json", &p, TRACE_ERROR_INVALID,
                   "4:11: data[2]: ", "expected 0 or 1");
    /* No convention at all. */
    TraceImportOptions none = {.format = "tick-json"};
    __expect_error("tick-json/two-in-preempted.json", &none, TRACE_ERROR_USAGE,
                   " convention: ", "\"availability\"");
}

/* ---- probe logs --------------------------------------------------------------------------------
 */

static void
test_probe(void)
{
    TraceImportOptions p = {.convention = TRACE_CONVENTION_PREEMPTED};
    g_autoptr(TraceSet) set = __import("probe/us-west-2a_v100_1.txt", &p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const TracePool *pool = trace_set_pool(set, 0);
    ASSERT_STR(pool->name, "us-west-2a_v100_1");
    ASSERT_STR(pool->zone, "us-west-2a");
    /* Spacings 600 601 600 600 659 s: the median, 600 s, is the gap (the mean, 612 s, would
     * not be); 659 s is within 10% of it. 6 probes. */
    CU_ASSERT_EQUAL(pool->gap, US(600));
    CU_ASSERT_EQUAL(pool->span, US(3600));
    CU_ASSERT(pool->start_time != NULL &&
              g_str_has_prefix(pool->start_time, "2022-10-26T22:05:04"));
    /* fail 0 1 1 0 0 1 -> capacity 1 0 0 1 1 0 */
    ASSERT_STEP(&pool->capacity, {0, 1}, {600, 0}, {1800, 1}, {3000, 0});
    CU_ASSERT(!pool->has_price);

    TraceImportOptions a = {.convention = TRACE_CONVENTION_AVAILABILITY};
    g_autoptr(TraceSet) inv = __import("probe/us-west-2a_v100_1.txt", &a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
    ASSERT_STEP(&trace_set_pool(inv, 0)->capacity, {0, 0}, {600, 1}, {1800, 0}, {3000, 1});
}

static void
test_probe_errors(void)
{
    TraceImportOptions p = {.convention = TRACE_CONVENTION_PREEMPTED};
    /* Probe 2 comes 1200 s after probe 1 (one is missing): line 4 (after a blank line), the
     * timestamp in column 3. */
    __expect_error("probe/missing-probe.txt", &p, TRACE_ERROR_INVALID,
                   "4:3: timestamp: ", "mixed gaps: expected about 600 s");
    __expect_error("probe/clock-out-of-sequence.txt", &p, TRACE_ERROR_INVALID,
                   "3:1: clock: ", "expected the probe number 2, got \"3\"");
    TraceImportOptions none = {.format = "probe"};
    __expect_error("probe/us-west-2a_v100_1.txt", &none, TRACE_ERROR_USAGE,
                   " convention: ", "\"preempted\"");
}

/* ---- event logs --------------------------------------------------------------------------------
 */

static void
test_events(void)
{
    g_autoptr(TraceSet) set = __import("events/g4dn-small.csv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const TracePool *p = trace_set_pool(set, 0);
    ASSERT_STR(p->name, "g4dn-small");
    /* Alive nodes: 1 from 0 s; 3 from 60 s (two adds at one time); 2 from 120 s; 3 from
     * 180 s; 1 from 240 s (two removes); 2 from 300 s, the last event and the end of the log. */
    ASSERT_STEP(&p->capacity, {0, 1}, {60, 3}, {120, 2}, {180, 3}, {240, 1}, {300, 2});
    CU_ASSERT_EQUAL(p->span, US(300));
    CU_ASSERT_EQUAL(p->gap, 0);
    CU_ASSERT_EQUAL(p->requested, 3);
    /* Threshold 2: up over [60, 240) = 180 of 300 s; one interruption at 240 s; drops 3->2 and
     * 3->1 lose 3 instances. */
    TracePoolStats st;
    trace_pool_stats(p, 2, &st);
    ASSERT_NUM(st.availability, 0.6, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 1);
    ASSERT_NUM(st.mtbi_hours, 180.0 / 3600.0, 1e-12);
    ASSERT_NUM(st.instances_lost, 3, 1e-12);
    CU_ASSERT_EQUAL(st.capacity_max, 3);
    ASSERT_NUM(st.gap_seconds, 0, 1e-12);
    trace_pool_stats(p, 1, &st);
    ASSERT_NUM(st.availability, 1.0, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 0);

    __expect_error("events/remove-not-alive.csv", NULL, TRACE_ERROR_INVALID,
                   "2:13: node: ", "\"node2\" is removed but is not alive");
    __expect_error("events/add-twice.csv", NULL, TRACE_ERROR_INVALID,
                   "3:10: node: ", "\"node1\" is added while alive");
    /* The fourth field, the one too many, starts at column 17 of line 2. */
    TraceImportOptions ev = {.format = "events"};
    __expect_error("events/extra-field.csv", &ev, TRACE_ERROR_INVALID, "2:17: line: ",
                   "expected 3 comma-separated fields (time_ms,add|remove,node), got 4");
}

/* ---- GCP count logs
 * ------------------------------------------------------------------------------ */

static void
test_gcp_counts(void)
{
    g_autoptr(TraceSet) set = __import("gcp-counts/v100x1-east1c.txt", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const TracePool *p = trace_set_pool(set, 0);
    ASSERT_STR(p->name, "v100x1-east1c");
    CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_GCP);
    CU_ASSERT(p->start_time != NULL && g_str_has_prefix(p->start_time, "2021-12-10T13:00:00"));
    /* Rows in file order: 13:00 30, 13:02 32, 13:01 31, 13:03 33, 13:02 34, 13:04 30. In time
     * order, with the later of the two 13:02 rows (34) winning. */
    ASSERT_STEP(&p->capacity, {0, 30}, {60, 31}, {120, 34}, {180, 33}, {240, 30});
    CU_ASSERT_EQUAL(p->span, US(240));
    CU_ASSERT_EQUAL(p->requested, 34);
    /* Threshold 32: up over [120, 240) = half the log. */
    TracePoolStats st;
    trace_pool_stats(p, 32, &st);
    ASSERT_NUM(st.availability, 0.5, 1e-12);
    CU_ASSERT_EQUAL(st.capacity_max, 34);
}

/* ---- step functions t,count ---------------------------------------------------------------------
 */

static void
test_step_csv(void)
{
    /* Each change is two rows at one time (old value, new value). */
    TraceImportOptions s = {.format = "step-csv", .time_unit = 1};
    TraceImportOptions h = {.format = "step-csv", .time_unit = 3600};
    g_autoptr(TraceSet) plain = __import("step-csv/p2-xlarge-us-east-1e.csv", &s);
    g_autoptr(TraceSet) scaled = __import("step-csv/p2-xlarge-us-east-1e_scaled.csv", &h);
    g_autoptr(TraceSet) wrong = __import("step-csv/p2-xlarge-us-east-1e_scaled.csv", &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(scaled);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wrong);
    const TracePool *p = trace_set_pool(plain, 0), *q = trace_set_pool(scaled, 0);
    ASSERT_STEP(&p->capacity, {0, 10}, {3600, 9}, {5400, 10}, {7200, 8});
    ASSERT_STEP(&q->capacity, {0, 10}, {3600, 9}, {5400, 10}, {7200, 8});
    CU_ASSERT_EQUAL(p->span, US(9000));
    CU_ASSERT_EQUAL(q->span, US(9000));
    CU_ASSERT_EQUAL(p->requested, 10);
    /* Read as seconds, the hours file is a 2.5 s trace. */
    const TracePool *w = trace_set_pool(wrong, 0);
    ASSERT_STEP(&w->capacity, {0, 10}, {1, 9}, {1.5, 10}, {2, 8});
    CU_ASSERT_EQUAL(w->span, US(2.5));

    /* Threshold 10: up over [0, 3600) and [5400, 7200): 5400 of 9000 s; interruptions at 3600
     * and 7200 s; 0.75 h up per interruption; drops 10->9, 10->8 lose 3 instances. */
    TracePoolStats st;
    trace_pool_stats(p, 10, &st);
    ASSERT_NUM(st.availability, 0.6, 1e-12);
    CU_ASSERT_EQUAL(st.interruptions, 2);
    ASSERT_NUM(st.mtbi_hours, 0.75, 1e-12);
    ASSERT_NUM(st.instances_lost, 3, 1e-12);
    ASSERT_NUM(st.span_hours, 2.5, 1e-12);

    TraceImportOptions none = {.format = "step-csv"};
    __expect_error("step-csv/p2-xlarge-us-east-1e.csv", &none, TRACE_ERROR_USAGE,
                   " time_unit: ", "seconds or hours");
    __expect_error("step-csv/out-of-order.csv", &s, TRACE_ERROR_INVALID,
                   "4:1: t: ", "expected rows in time order, got \"5\"");
}

/* ---- price sources ----------------------------------------------------------------------------
 */

static void
test_aws_price_history(void)
{
    g_autoptr(TraceSet) set = __import("aws-price-history/p3-history.json", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_EQUAL_FATAL(trace_set_len(set), 4);
    /* Pools in order of first appearance; records of non-Linux products keep their name. */
    static const char *const names[] = {"us-east-1a/p3.2xlarge", "us-east-1b/p3.2xlarge",
                                        "us-east-1a/p3.8xlarge", "us-east-1b/p3.2xlarge/Windows"};
    for (guint i = 0; i < 4; i++) {
        const TracePool *p = trace_set_pool(set, i);
        ASSERT_STR(p->name, names[i]);
        CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_AWS);
        ASSERT_STR(p->region, "us-east-1");
        /* The history runs from 00:00 to 12:00 for every pool. */
        CU_ASSERT_EQUAL(p->span, US(12 * 3600));
        CU_ASSERT(p->start_time != NULL && g_str_has_prefix(p->start_time, "2023-02-15T00:00:00"));
        CU_ASSERT(p->has_price && !p->has_capacity);
    }
    const TracePool *a = trace_set_pool(set, 0);
    ASSERT_STR(a->zone, "us-east-1a");
    ASSERT_STR(a->instance_type, "p3.2xlarge");
    ASSERT_STR(trace_set_pool(set, 2)->instance_type, "p3.8xlarge");
    /* Newest first in the file; in time order: 00:00 1.2, 06:00 1.3, 12:00 1.1. */
    ASSERT_STEP(&a->price, {0, 1.2}, {6 * 3600, 1.3}, {12 * 3600, 1.1});
    /* A pool whose only record comes at 09:00 has that price from the start. */
    ASSERT_STEP(&trace_set_pool(set, 1)->price, {0, 0.95});
    ASSERT_STEP(&trace_set_pool(set, 2)->price, {0, 4.0});
    ASSERT_STEP(&trace_set_pool(set, 3)->price, {0, 2.0});
    /* Time-weighted over 12 h: 1.2 for 6 h and 1.3 for 6 h. */
    TracePoolStats st;
    trace_pool_stats(a, 1, &st);
    ASSERT_NUM(st.price_mean, 1.25, 1e-12);
    CU_ASSERT(isnan(st.availability));

    TraceImportOptions key = {.key = "us-east-1a/p3.8xlarge"};
    g_autoptr(TraceSet) one = __import("aws-price-history/p3-history.json", &key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_EQUAL(trace_set_len(one), 1);
    ASSERT_STR(trace_set_pool(one, 0)->name, "us-east-1a/p3.8xlarge");

    __expect_error("aws-price-history/bad-price.json", NULL, TRACE_ERROR_INVALID,
                   "5:19: SpotPriceHistory[1].SpotPrice: ", "got \"$1.30\"");
}

static void
test_price_json(void)
{
    TraceImportOptions opts = {.gap = US(195)};
    g_autoptr(TraceSet) set = __import("price-json/v100-prices.json", &opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_EQUAL_FATAL(trace_set_len(set), 2);
    const TracePool *a = trace_set_pool(set, 0), *b = trace_set_pool(set, 1);
    ASSERT_STR(a->name, "us-east-1a_v100_1");
    ASSERT_STR(b->name, "us-west-2b_v100_1");
    ASSERT_STR(a->zone, "us-east-1a");
    CU_ASSERT_EQUAL(a->cloud, TRACE_CLOUD_AWS);
    CU_ASSERT_EQUAL(a->gap, US(195));
    CU_ASSERT_EQUAL(a->span, US(5 * 195));
    ASSERT_STEP(&a->price, {0, 1.5}, {390, 1.6}, {780, 1.4});
    ASSERT_STEP(&b->price, {0, 0.918}, {585, 1.0});
    /* (1.5 x 2 + 1.6 x 2 + 1.4) / 5 = 1.52 */
    TracePoolStats st;
    trace_pool_stats(a, 1, &st);
    ASSERT_NUM(st.price_mean, 1.52, 1e-12);
    ASSERT_NUM(st.price_min, 1.4, 1e-12);
    ASSERT_NUM(st.price_max, 1.6, 1e-12);

    TraceImportOptions key = {.gap = US(195), .key = "us-west-2b_v100_1"};
    g_autoptr(TraceSet) one = __import("price-json/v100-prices.json", &key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_EQUAL(trace_set_len(one), 1);
    ASSERT_STR(trace_set_pool(one, 0)->name, "us-west-2b_v100_1");

    /* A key the file lacks: the message lists the keys it has. */
    TraceImportOptions bad = {.gap = US(195), .key = "us-east-1z_v100_1"};
    __expect_error("price-json/v100-prices.json", &bad, TRACE_ERROR_USAGE,
                   " key: ", "(it has: us-east-1a_v100_1, us-west-2b_v100_1)");
    TraceImportOptions nogap = {.format = "price-json"};
    __expect_error("price-json/v100-prices.json", &nogap, TRACE_ERROR_USAGE, " gap: ", "--gap");
}

static void
test_gcp_price(void)
{
    g_autoptr(TraceSet) set = __import("gcp-price/us-west1_a3-highgpu-8g.json", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const TracePool *p = trace_set_pool(set, 0);
    ASSERT_STR(p->name, "us-west1_a3-highgpu-8g");
    CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_GCP);
    ASSERT_STR(p->region, "us-west1");
    ASSERT_STR(p->instance_type, "a3-highgpu-8g");
    CU_ASSERT(p->has_price && !p->has_capacity);
    ASSERT_STEP(&p->price, {0, 18.979008});
    CU_ASSERT_EQUAL(p->on_demand_price, 82.52543396);
    /* A catalogue price has no recording length. */
    CU_ASSERT_EQUAL(p->span, 0);
    TracePoolStats st;
    trace_pool_stats(p, 1, &st);
    ASSERT_NUM(st.price_mean, 18.979008, 1e-12);
    ASSERT_NUM(st.price_min, 18.979008, 1e-12);
    ASSERT_NUM(st.on_demand_price, 82.52543396, 1e-12);

    /* A price-only pool cannot be sampled for availability. */
    g_autofree guint8 *avail = NULL;
    g_autofree double *price = NULL;
    gsize n = 0;
    g_autoptr(GError) error = NULL;
    CU_ASSERT(!trace_pool_sample_ticks(p, US(600), 1, 1.0, &avail, &price, &n, &error));
    CU_ASSERT(g_error_matches(error, TRACE_ERROR, TRACE_ERROR_USAGE));
}

/* ---- price overlays ----------------------------------------------------------------------------
 */

static void
test_apply_prices(void)
{
    TraceImportOptions a = {.convention = TRACE_CONVENTION_AVAILABILITY};
    g_autoptr(TraceSet) set = __import("tick-json/us-east-1a_v100_1.json", &a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    TracePool *pool = trace_set_pool(set, 0);
    CU_ASSERT(!pool->has_price);

    /* Per-tick prices read with the pool's gap align index for index. */
    TraceImportOptions popts = {.key = pool->name, .gap = pool->gap};
    g_autoptr(TraceSet) prices = __import("price-json/v100-prices.json", &popts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prices);
    CU_ASSERT_FATAL(trace_pool_apply_prices(pool, trace_set_pool(prices, 0), NULL));
    CU_ASSERT(pool->has_price);
    CU_ASSERT(isnan(pool->on_demand_price));
    g_autofree guint8 *avail = NULL;
    g_autofree double *price = NULL;
    gsize n = 0;
    CU_ASSERT_FATAL(trace_pool_sample_ticks(pool, pool->gap, 1, NAN, &avail, &price, &n, NULL));
    CU_ASSERT_EQUAL_FATAL(n, 5);
    static const double want[] = {1.5, 1.5, 1.6, 1.6, 1.4};
    static const guint8 up[] = {1, 0, 0, 1, 1};
    for (gsize i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(price[i], want[i]);
        CU_ASSERT_EQUAL(avail[i], up[i]);
    }

    /* A catalogue price replaces them, holds throughout and brings its on-demand price... */
    g_autoptr(TraceSet) gcp = __import("gcp-price/us-west1_a3-highgpu-8g.json", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gcp);
    CU_ASSERT_FATAL(trace_pool_apply_prices(pool, trace_set_pool(gcp, 0), NULL));
    ASSERT_STEP(&pool->price, {0, 18.979008});
    CU_ASSERT_EQUAL(pool->on_demand_price, 82.52543396);
    /* ...unless the pool has its own. */
    pool->on_demand_price = 3.06;
    CU_ASSERT_FATAL(trace_pool_apply_prices(pool, trace_set_pool(gcp, 0), NULL));
    CU_ASSERT_EQUAL(pool->on_demand_price, 3.06);

    /* A source without prices is refused and leaves the pool as it was. */
    g_autoptr(TraceSet) caps = __import("csv/pools.csv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(caps);
    g_autoptr(GError) error = NULL;
    CU_ASSERT(!trace_pool_apply_prices(pool, trace_set_pool(caps, 0), &error));
    CU_ASSERT(g_error_matches(error, TRACE_ERROR, TRACE_ERROR_USAGE));
    CU_ASSERT(error != NULL && strstr(error->message, "pools.csv") != NULL);
    ASSERT_STEP(&pool->price, {0, 18.979008});
}

/* Prices that run on past the end of the pool apply only within it: the pool stays a valid
 * trace (its canonical form reads back) and its statistics cover its own span. */
static void
test_apply_prices_longer_than_pool(void)
{
    g_autoptr(TracePool) pool = trace_pool_new("us-east-1a_v100_1");
    pool->gap = US(195);
    pool->span = US(3 * 195);
    pool->has_capacity = TRUE;
    trace_step_append(&pool->capacity, 0, 1);
    TraceImportOptions popts = {.key = "us-east-1a_v100_1", .gap = US(195)};
    g_autoptr(TraceSet) prices = __import("price-json/v100-prices.json", &popts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prices);
    CU_ASSERT_FATAL(trace_pool_apply_prices(pool, trace_set_pool(prices, 0), NULL));
    ASSERT_STEP(&pool->price, {0, 1.5}, {390, 1.6});
    /* (1.5 x 390 + 1.6 x 195) / 585 = 1.53333; the 1.4 after the end does not count. */
    TracePoolStats st;
    trace_pool_stats(pool, 1, &st);
    ASSERT_NUM(st.price_mean, (1.5 * 390 + 1.6 * 195) / 585, 1e-12);
    ASSERT_NUM(st.price_max, 1.6, 1e-12);
    ASSERT_NUM(st.price_min, 1.5, 1e-12);

    g_autoptr(TraceSet) set = trace_set_new();
    trace_set_add(set, g_steal_pointer(&pool));
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *out = g_build_filename(dir, "out.json", NULL);
    CU_ASSERT_FATAL(trace_set_write(set, out, NULL));
    g_autoptr(GError) error = NULL;
    g_autoptr(TraceSet) back = trace_import(out, NULL, &error);
    if (back == NULL)
        fprintf(stderr, "\n  %s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL(back);
    test_tmpdir_remove(dir);
}

/* Statistics take only what lies inside the span, whoever built the pool. */
static void
test_stats_within_span(void)
{
    g_autoptr(TracePool) pool = trace_pool_new("hand-made");
    pool->span = US(100);
    pool->has_price = TRUE;
    trace_step_append(&pool->price, 0, 1.0);
    trace_step_append(&pool->price, US(50), 3.0);
    trace_step_append(&pool->price, US(150), 5.0); /* after the end */
    TracePoolStats st;
    trace_pool_stats(pool, 1, &st);
    /* (1 x 50 + 3 x 50) / 100 = 2 */
    ASSERT_NUM(st.price_mean, 2.0, 1e-12);
    ASSERT_NUM(st.price_max, 3.0, 1e-12);
    ASSERT_NUM(st.price_min, 1.0, 1e-12);
}

/* ---- the canonical round trip ------------------------------------------------------------------
 */

static void
__assert_pools_equal(const TracePool *a, const TracePool *b)
{
    ASSERT_STR(a->name, b->name);
    CU_ASSERT_EQUAL(a->cloud, b->cloud);
    ASSERT_STR(a->region, b->region);
    ASSERT_STR(a->zone, b->zone);
    ASSERT_STR(a->instance_type, b->instance_type);
    ASSERT_STR(a->start_time, b->start_time);
    CU_ASSERT_EQUAL(a->span, b->span);
    CU_ASSERT_EQUAL(a->gap, b->gap);
    CU_ASSERT_EQUAL(a->requested, b->requested);
    CU_ASSERT(isnan(a->on_demand_price) ? isnan(b->on_demand_price)
                                        : a->on_demand_price == b->on_demand_price);
    CU_ASSERT_EQUAL(a->has_capacity, b->has_capacity);
    CU_ASSERT_EQUAL(a->has_price, b->has_price);
    const TraceStep *sa[] = {&a->capacity, &a->price}, *sb[] = {&b->capacity, &b->price};
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL(sa[k]->n, sb[k]->n);
        gboolean same = sa[k]->n == sb[k]->n;
        for (gsize i = 0; same && i < sa[k]->n; i++)
            same = sa[k]->time[i] == sb[k]->time[i] && sa[k]->value[i] == sb[k]->value[i];
        if (!same)
            fprintf(stderr, "\n  pool %s: %s differs after the round trip\n", a->name,
                    k ? "price" : "capacity");
        CU_ASSERT(same);
    }
    /* Equal pools give equal statistics, to the bit. */
    TracePoolStats x, y;
    trace_pool_stats(a, 1, &x);
    trace_pool_stats(b, 1, &y);
    const double xd[] = {x.span_hours, x.gap_seconds,     x.availability,
                         x.mtbi_hours, x.price_min,       x.price_mean,
                         x.price_max,  x.on_demand_price, x.instances_lost};
    const double yd[] = {y.span_hours, y.gap_seconds,     y.availability,
                         y.mtbi_hours, y.price_min,       y.price_mean,
                         y.price_max,  y.on_demand_price, y.instances_lost};
    for (gsize i = 0; i < G_N_ELEMENTS(xd); i++)
        CU_ASSERT(isnan(xd[i]) ? isnan(yd[i]) : xd[i] == yd[i]);
    CU_ASSERT_EQUAL(x.interruptions, y.interruptions);
    CU_ASSERT_EQUAL(x.capacity_max, y.capacity_max);
    CU_ASSERT_EQUAL(x.change_points, y.change_points);
}

static void
test_round_trip(void)
{
    static const struct {
        const char *fixture;
        TraceImportOptions opts;
    } table[] = {
        {"spotlab/two-pools.json", {0}},
        {"csv/us-east-1a_h100.csv", {0}},
        {"csv/pools.csv", {0}},
        {"csv/us-east-1b_bom.csv", {0}},
        {"tick-json/us-west-2a_v100_1.json", {.convention = TRACE_CONVENTION_AVAILABILITY}},
        {"tick-json/us-west-2a_v100_1.json", {.convention = TRACE_CONVENTION_PREEMPTED}},
        {"tick-json/us-east-2a_v100_4.json", {.convention = TRACE_CONVENTION_AVAILABILITY}},
        {"tick-json/us-west1-a_h100_16/full.json", {.convention = TRACE_CONVENTION_PREEMPTED}},
        {"tick-json/us-east-1a_v100_1.json", {.convention = TRACE_CONVENTION_AVAILABILITY}},
        {"tick-json/two-in-preempted.json", {.convention = TRACE_CONVENTION_AVAILABILITY}},
        {"probe/us-west-2a_v100_1.txt", {.convention = TRACE_CONVENTION_PREEMPTED}},
        {"events/g4dn-small.csv", {0}},
        {"gcp-counts/v100x1-east1c.txt", {0}},
        {"step-csv/p2-xlarge-us-east-1e.csv", {.time_unit = 1}},
        {"step-csv/p2-xlarge-us-east-1e_scaled.csv", {.time_unit = 3600}},
        {"step-csv/p2-xlarge-us-east-1e_scaled.csv", {.time_unit = 1}},
        {"aws-price-history/p3-history.json", {0}},
        {"price-json/v100-prices.json", {.gap = 195 * G_GINT64_CONSTANT(1000000)}},
        {"gcp-price/us-west1_a3-highgpu-8g.json", {0}},
    };
    g_autofree char *dir = test_tmpdir_new();
    for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
        g_autoptr(TraceSet) set = __import(table[i].fixture, &table[i].opts);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        g_autofree char *out = g_strdup_printf("%s/%zu.json", dir, i);
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FATAL(trace_set_write(set, out, &error));
        /* The written file is detected as the canonical format and reads back. */
        g_autoptr(GError) derr = NULL;
        ASSERT_STR(trace_detect_format(out, &derr), "spotlab");
        g_autoptr(TraceSet) back = trace_import(out, NULL, &error);
        if (back == NULL)
            fprintf(stderr, "\n  %s: the canonical form does not read back: %s\n", table[i].fixture,
                    error->message);
        CU_ASSERT_PTR_NOT_NULL(back);
        if (back == NULL)
            continue;
        CU_ASSERT_EQUAL(trace_set_len(back), trace_set_len(set));
        for (guint k = 0; k < MIN(trace_set_len(set), trace_set_len(back)); k++) {
            __assert_pools_equal(trace_set_pool(set, k), trace_set_pool(back, k));
            ASSERT_STR(trace_set_pool(back, k)->source, out);
        }
        /* Written again, the text is the same. */
        g_autofree char *j1 = trace_set_to_json(set);
        g_autofree char *j2 = trace_set_to_json(back);
        ASSERT_STR(j1, j2);
    }
    test_tmpdir_remove(dir);
}

/* A file name that is not UTF-8 (Linux allows any bytes) still gives a pool whose canonical
 * form is valid JSON and reads back. */
static void
test_write_non_utf8_name(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *path = g_build_filename(dir, "caf\xe9-zone.csv", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, "time_s,capacity\n0,1\n60,0\n", -1, NULL));
    g_autoptr(GError) error = NULL;
    g_autoptr(TraceSet) set = trace_import(path, NULL, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_STRING_EQUAL(trace_set_pool(set, 0)->name, "caf\xe9-zone");
    g_autofree char *out = g_build_filename(dir, "out.json", NULL);
    CU_ASSERT_FATAL(trace_set_write(set, out, &error));
    g_autoptr(TraceSet) back = trace_import(out, NULL, &error);
    if (back == NULL)
        fprintf(stderr, "\n  %s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    const char *name = trace_set_pool(back, 0)->name;
    CU_ASSERT(g_utf8_validate(name, -1, NULL));
    CU_ASSERT(g_str_has_prefix(name, "caf") && g_str_has_suffix(name, "-zone"));
    ASSERT_STEP(&trace_set_pool(back, 0)->capacity, {0, 1}, {60, 0});
    test_tmpdir_remove(dir);
}

static void
test_pool_copy(void)
{
    /* A copy is equal to its original and owns its memory: changing one leaves the other. */
    g_autoptr(TracePool) a = trace_pool_new("a");
    trace_pool_set_string(&a->zone, "us-east-1a");
    a->span = 3000000;
    a->has_capacity = a->has_price = TRUE;
    trace_step_append(&a->capacity, 0, 1);
    trace_step_append(&a->capacity, 1000000, 0);
    trace_step_append(&a->price, 0, 0.5);
    g_autoptr(TracePool) b = trace_pool_copy(a);
    CU_ASSERT_STRING_EQUAL(b->name, "a");
    CU_ASSERT_STRING_EQUAL(b->zone, "us-east-1a");
    CU_ASSERT_EQUAL(b->span, a->span);
    CU_ASSERT_EQUAL(b->capacity.n, 2);
    CU_ASSERT_EQUAL(b->capacity.time[1], 1000000);
    CU_ASSERT(b->capacity.time != a->capacity.time && b->zone != a->zone);
    b->capacity.value[0] = 7;
    trace_step_append(&b->price, 2000000, 0.75);
    CU_ASSERT_EQUAL(a->capacity.value[0], 1);
    CU_ASSERT_EQUAL(a->price.n, 1);
    CU_ASSERT_EQUAL(b->price.n, 2);
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite suite = CU_add_suite("traces-import", NULL, NULL);
    CU_add_test(suite, "step_append_folds", test_step_append_folds);
    CU_add_test(suite, "pool_copy", test_pool_copy);
    CU_add_test(suite, "step_at", test_step_at);
    CU_add_test(suite, "detect_format", test_detect_format);
    CU_add_test(suite, "detection_never_sets_convention", test_detection_never_sets_convention);
    CU_add_test(suite, "options_errors", test_options_errors);
    CU_add_test(suite, "spotlab_canonical", test_spotlab_canonical);
    CU_add_test(suite, "csv_capacity_price", test_csv_capacity_price);
    CU_add_test(suite, "csv_pool_column", test_csv_pool_column);
    CU_add_test(suite, "csv_byte_order_mark", test_csv_byte_order_mark);
    CU_add_test(suite, "csv_errors", test_csv_errors);
    CU_add_test(suite, "tick_json_conventions", test_tick_json_conventions);
    CU_add_test(suite, "tick_json_counts", test_tick_json_counts);
    CU_add_test(suite, "tick_json_price_info", test_tick_json_price_info);
    CU_add_test(suite, "tick_json_errors", test_tick_json_errors);
    CU_add_test(suite, "probe", test_probe);
    CU_add_test(suite, "probe_errors", test_probe_errors);
    CU_add_test(suite, "events", test_events);
    CU_add_test(suite, "gcp_counts", test_gcp_counts);
    CU_add_test(suite, "step_csv", test_step_csv);
    CU_add_test(suite, "aws_price_history", test_aws_price_history);
    CU_add_test(suite, "price_json", test_price_json);
    CU_add_test(suite, "gcp_price", test_gcp_price);
    CU_add_test(suite, "apply_prices", test_apply_prices);
    CU_add_test(suite, "apply_prices_longer_than_pool", test_apply_prices_longer_than_pool);
    CU_add_test(suite, "stats_within_span", test_stats_within_span);
    CU_add_test(suite, "round_trip", test_round_trip);
    CU_add_test(suite, "write_non_utf8_name", test_write_non_utf8_name);
    return test_run_all();
}
