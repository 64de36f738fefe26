/* CLI: `spotlab compare`, the gate between the results of a base and of a candidate.
 *
 * The statistics are checked against independent values: Student's t quantiles against the
 * project's table and against values computed to 30 digits for fractional degrees of freedom;
 * Newcombe's interval against the examples of his 1998 paper.
 *
 * The hand-made results files of tests/data/compare, and what compare must say of them:
 *
 * - tick-base.json: scenario "compare-fixture", seed 1, five windows; greedy costs 10, 12, 11,
 *   13, 14 against an on-demand cost of 40 per window (savings 75, 70, 72.5, 67.5, 65; total
 *   saving 70%); spot-only and on-demand as well.
 * - tick-regression.json: the same scenario and seed, greedy costs 12, 13, 14, 15, 16: paired
 *   differences 2, 1, 3, 2, 2, mean 2, sd sqrt(0.5), t(4) = 2.776445: CI [1.122011, 2.877989],
 *   a regression at the default 0%; savings -5 points, CI [-7.194973, -2.805027], and the same
 *   for the total saving (the delta method with a constant on-demand cost gives the per-window
 *   savings). With cost=10% (1.20) the cost is worse within its limit; with 5% (0.60), with 1 or
 *   $1 a regression; with 1.5 worse.
 * - tick-other-seed.json: the same numbers under seed 2: the runs are not paired, so Welch
 *   from the summaries: difference 2, sd sqrt(2.5) in both, df 8, CI [-0.306004, 4.306004]:
 *   not significant.
 * - tick-noise.json: seed 1, greedy costs 10.5, 11.5, 11.5, 13, 14: paired mean 0.1, CI
 *   [-0.419425, 0.619425]: not significant.
 * - continuous-base.json, continuous-candidate.json: summaries only (no runs), 100 replicas;
 *   "periodic" in both: cost 250 -> 255 (sd 10), Welch df 198, CI [2.211146, 7.788854]:
 *   regression; savings 70 -> 69.5 (sd 1): CI [-0.778885, -0.221115]: regression; deadline met
 *   98 -> 90 of 100, Newcombe CI [-15.576572, -1.287616] points: regression; finished 100 -> 99:
 *   not significant; completion 30 h (n 100) -> 29 h (n 99), sd 2: CI [-1.559195, -0.440805]:
 *   improvement; total savings without runs: untested. "on-demand" is only in the base,
 *   "failover" only in the candidate.
 * - minimal.json: a small valid results file; bad/ holds copies of it with one defect each,
 *   and beside each NAME.expect the message compare must print.
 *
 * Real runs: hazard-training.json (continuous model, a hazard pool, no traces) and
 * tick-training.json (the quickstart trace) run as they are and with a strategy parameter
 * changed; compare must catch the regression, pair the runs, and leave the strategies that did
 * not change unchanged. */
#include "compare.h"
#include "stats.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MIN_BAD_CASES 30

static char *data_dir; /* tests/data/compare */
static char *tmp;      /* this run's outputs */

static char *
__data(const char *name)
{
    return g_build_filename(data_dir, name, NULL);
}

static char *
__tmp_path(const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

static gint
__compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in @dir, sorted, joined by spaces: what a test expects to find there. */
static char *
__dir_listing(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, __compare_names);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

/* The line of counts in @text: the one that starts with "compare: ". */
static char *
__counts_line(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix(lines[i], "compare: "))
            return g_strdup(lines[i]);
    return g_strdup("");
}

/* Compares @base with @candidate (names in tests/data/compare) with the extra arguments @extra
 * (NULL-terminated, may be NULL), writing the comparison to a fresh .json in the temporary
 * folder, and returns the parsed document; @status receives the exit status. */
static json_t *
__compare(const char *base, const char *candidate, const char *const *extra, int *status,
          char **out, char **err)
{
    g_autofree char *b = g_path_is_absolute(base) ? g_strdup(base) : __data(base);
    g_autofree char *c = g_path_is_absolute(candidate) ? g_strdup(candidate) : __data(candidate);
    static int counter;
    g_autofree char *name = g_strdup_printf("comparison-%d.json", ++counter);
    g_autofree char *output = __tmp_path(name);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, "compare");
    g_ptr_array_add(argv, b);
    g_ptr_array_add(argv, c);
    for (gsize i = 0; extra != NULL && extra[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)extra[i]);
    g_ptr_array_add(argv, "-o");
    g_ptr_array_add(argv, output);
    g_ptr_array_add(argv, NULL);
    g_autofree char *o = NULL, *e = NULL;
    *status = test_spotlab((const char *const *)argv->pdata, &o, &e);
    if (out)
        *out = o ? g_steal_pointer(&o) : g_strdup("");
    if (err)
        *err = e ? g_steal_pointer(&e) : g_strdup("");
    json_error_t jerr;
    json_t *doc = json_load_file(output, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        fprintf(stderr, "\n%s: %s (exit %d)\n", output, jerr.text, *status);
    return doc;
}

/* The row of @metric for @policy in a comparison document, or NULL. */
static json_t *
__row(json_t *doc, const char *policy, const char *metric)
{
    json_t *policies = json_object_get(doc, "policies");
    for (gsize i = 0; i < json_array_size(policies); i++) {
        json_t *p = json_array_get(policies, i);
        if (g_strcmp0(json_string_value(json_object_get(p, "name")), policy) != 0)
            continue;
        json_t *rows = json_object_get(p, "metrics");
        for (gsize j = 0; j < json_array_size(rows); j++) {
            json_t *r = json_array_get(rows, j);
            if (g_strcmp0(json_string_value(json_object_get(r, "metric")), metric) == 0)
                return r;
        }
    }
    fprintf(stderr, "\nno row for %s %s\n", policy, metric);
    return NULL;
}

static const char *
__verdict(json_t *doc, const char *policy, const char *metric)
{
    const char *v = json_string_value(json_object_get(__row(doc, policy, metric), "verdict"));
    return v ? v : "(none)";
}

#define ASSERT_VERDICT(doc, policy, metric, expected)                                              \
    do {                                                                                           \
        const char *v_ = __verdict((doc), (policy), (metric));                                     \
        if (strcmp(v_, (expected)) != 0)                                                           \
            fprintf(stderr, "\n%s %s: verdict %s, expected %s\n", (policy), (metric), v_,          \
                    (expected));                                                                   \
        CU_ASSERT_STRING_EQUAL(v_, (expected));                                                    \
    } while (0)

static double
__field(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static double
__ci(json_t *row, gsize i)
{
    json_t *v = json_array_get(json_object_get(row, "ci95"), i);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static const char *
__test(json_t *row)
{
    const char *t = json_string_value(json_object_get(row, "test"));
    return t ? t : "(none)";
}

/* ---- the statistics ---------------------------------------------------------------------- */

static void
test_t_quantiles(void)
{
    /* Whole degrees of freedom: the project's table (9 decimals). */
    for (gsize df = 1; df <= 30; df++)
        TEST_ASSERT_REL(compare_t975((double)df), sim_t975(df), 1e-9);
    /* Fractional ones, as Welch's interval needs: computed to 30 digits from the incomplete
     * beta function. */
    static const double cases[][2] = {
        {1.5, 6.01666310442793},   {2.5, 3.57465484200368},    {7.3, 2.3450667365477},
        {12.6, 2.16736109225821},  {33.3, 2.03381922413405},   {45.2, 2.01385744217347},
        {150.7, 1.97583069649035}, {1000.5, 1.96233789245935}, {1e6, 1.95996635681411},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
        TEST_ASSERT_REL(compare_t975(cases[i][0]), cases[i][1], 1e-9);
    CU_ASSERT(isnan(compare_t975(0)));
    CU_ASSERT(isnan(compare_t975(-1)));
}

static void
test_paired_and_welch(void)
{
    static const double base[] = {10, 12, 11, 13, 14}, cand[] = {12, 13, 14, 15, 16};
    double mean = 0, lo = 0, hi = 0, diff = 0, df = 0;
    CU_ASSERT_FATAL(compare_paired_ci(base, cand, 5, &mean, &lo, &hi));
    TEST_ASSERT_REL(mean, 2, 1e-12);
    TEST_ASSERT_REL(lo, 1.122010966914917, 1e-9);
    TEST_ASSERT_REL(hi, 2.877989033085083, 1e-9);
    CU_ASSERT_FALSE(compare_paired_ci(base, cand, 1, &mean, &lo, &hi));

    CU_ASSERT_FATAL(compare_welch_ci(12, sqrt(2.5), 5, 14, sqrt(2.5), 5, &diff, &lo, &hi, &df));
    TEST_ASSERT_REL(diff, 2, 1e-12);
    TEST_ASSERT_REL(df, 8, 1e-12);
    TEST_ASSERT_REL(lo, -0.3060041352041667, 1e-9);
    TEST_ASSERT_REL(hi, 4.306004135204167, 1e-9);
    /* Unequal variances and sizes: df from Welch-Satterthwaite. */
    CU_ASSERT_FATAL(compare_welch_ci(4000, 3000, 250, 4100, 3000, 260, &diff, &lo, &hi, &df));
    TEST_ASSERT_REL(df, 507.21658920682535, 1e-9);
    TEST_ASSERT_REL(lo, -422.0778909556018, 1e-9);
    TEST_ASSERT_REL(hi, 622.0778909556018, 1e-9);
    /* No spread: the difference is certain. */
    CU_ASSERT_FATAL(compare_welch_ci(40, 0, 5, 41, 0, 5, &diff, &lo, &hi, &df));
    CU_ASSERT_DOUBLE_EQUAL(lo, 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hi, 1, 1e-12);
    CU_ASSERT(isnan(df));
    /* One value: no interval. */
    CU_ASSERT_FALSE(compare_welch_ci(40, 0, 1, 41, 1, 5, &diff, &lo, &hi, &df));
    CU_ASSERT_FALSE(compare_welch_ci(NAN, 1, 5, 41, 1, 5, &diff, &lo, &hi, &df));
}

static void
test_newcombe(void)
{
    /* Newcombe (1998), "Interval estimation for the difference between independent
     * proportions", table II, method 10: (a) 56/70 - 48/80, (b) 9/10 - 3/10, (d) 5/56 - 0/29,
     * (e) 0/10 - 0/20, published to 4 decimals. */
    static const struct {
        gsize k1, n1, k2, n2;
        double lo, hi;
    } cases[] = {
        {56, 70, 48, 80, 0.0524, 0.3339},
        {9, 10, 3, 10, 0.1705, 0.8090},
        {5, 56, 0, 29, -0.0381, 0.1926},
        {0, 10, 0, 20, -0.1611, 0.2775},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        double d = 0, lo = 0, hi = 0;
        /* Candidate minus base: the first proportion is the candidate's. */
        CU_ASSERT_FATAL(
            compare_newcombe_ci(cases[i].k2, cases[i].n2, cases[i].k1, cases[i].n1, &d, &lo, &hi));
        CU_ASSERT_DOUBLE_EQUAL(d,
                               (double)cases[i].k1 / (double)cases[i].n1 -
                                   (double)cases[i].k2 / (double)cases[i].n2,
                               1e-12);
        CU_ASSERT_DOUBLE_EQUAL(lo, cases[i].lo, 5e-5);
        CU_ASSERT_DOUBLE_EQUAL(hi, cases[i].hi, 5e-5);
    }
    double lo = 0, hi = 0, d = 0;
    compare_wilson(0, 10, &lo, &hi);
    CU_ASSERT_DOUBLE_EQUAL(lo, 0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(hi, 0.2775327998628892, 1e-12);
    CU_ASSERT_FALSE(compare_newcombe_ci(0, 0, 1, 2, &d, &lo, &hi));
    CU_ASSERT_FALSE(compare_newcombe_ci(3, 2, 1, 2, &d, &lo, &hi));
}

static void
test_limits(void)
{
    static const struct {
        const char *arg;
        gboolean gated, relative;
        double value;
        const char *shown;
    } good[] = {
        {"cost=5%", TRUE, TRUE, 5, "5%"},
        {"cost=$5", TRUE, FALSE, 5, "$5"},
        {"cost=2.5", TRUE, FALSE, 2.5, "$2.5"},
        {"cost=0", TRUE, FALSE, 0, "$0"},
        {"finish_hours=0.5", TRUE, FALSE, 0.5, "0.5 h"},
        {"completion_hours=30m", TRUE, FALSE, 0.5, "0.5 h"},
        {"completion_hours=1h30m", TRUE, FALSE, 1.5, "1.5 h"},
        {"recovery_seconds=2m", TRUE, FALSE, 120, "120 s"},
        {"recovery_seconds=90", TRUE, FALSE, 90, "90 s"},
        {"deadline_met_pct=2", TRUE, FALSE, 2, "2 pts"},
        {"deadline_met_pct=2pts", TRUE, FALSE, 2, "2 pts"},
        {"savings_pct=10%", TRUE, TRUE, 10, "10%"},
        {"goodput=0.01", TRUE, FALSE, 0.01, "0.01"},
        {"savings_pct=none", FALSE, FALSE, 0, "none"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        CompareLimit limit;
        g_autoptr(GError) error = NULL;
        gboolean ok = compare_limit_parse(good[i].arg, &limit, &error);
        if (!ok)
            fprintf(stderr, "\n%s: %s\n", good[i].arg, error->message);
        CU_ASSERT_FATAL(ok);
        CU_ASSERT_EQUAL(limit.gated, good[i].gated);
        CU_ASSERT_EQUAL(limit.relative, good[i].relative);
        CU_ASSERT_DOUBLE_EQUAL(limit.value, good[i].value, 1e-12);
        g_autofree char *shown = compare_limit_format(&limit);
        CU_ASSERT_STRING_EQUAL(shown, good[i].shown);
    }
    static const struct {
        const char *arg, *message;
    } bad[] = {
        {"costs=5%", "unknown metric \"costs\"; known metrics: cost, cost_compute"},
        {"cost", "expected METRIC=VALUE"},
        {"=5", "expected METRIC=VALUE"},
        {"cost=", "expected an amount in USD"},
        {"cost=abc", "expected an amount in USD (\"5\", \"$5\")"},
        {"cost=-5", "at least 0; got \"-5\""},
        {"cost=-5%", "got \"-5%\""},
        {"cost=5h", "got \"5h\""},
        {"cost=5%%", "got \"5%%\""},
        {"cost=nan", "got \"nan\""},
        {"cost=inf", "got \"inf\""},
        {"finish_hours=$5", "a number of hours or a duration"},
        {"recovery_seconds=fast", "a number of seconds or a duration"},
        {"deadline_met_pct=5x", "a number of percentage points"},
        {"interruptions=2pts", "a number (\"0.5\")"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        CompareLimit limit;
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FALSE(compare_limit_parse(bad[i].arg, &limit, &error));
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT(g_error_matches(error, COMPARE_ERROR, COMPARE_ERROR_USAGE));
        if (strstr(error->message, bad[i].message) == NULL)
            fprintf(stderr, "\n%s: \"%s\" lacks \"%s\"\n", bad[i].arg, error->message,
                    bad[i].message);
        CU_ASSERT_PTR_NOT_NULL(strstr(error->message, bad[i].message));
        g_autofree char *prefix = g_strdup_printf("--limit %s: ", bad[i].arg);
        CU_ASSERT(g_str_has_prefix(error->message, prefix));
    }
}

static void
test_defaults_are_documented(void)
{
    /* Every default limit parses, and docs/compare.md states each metric's. */
    g_autofree char *doc_path = test_data_path("../../docs/compare.md");
    g_autofree char *doc = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(doc_path, &doc, NULL, NULL));
    gsize n = 0;
    const CompareMetricInfo *m = compare_metrics(&n);
    CU_ASSERT(n >= 15);
    for (gsize i = 0; i < n; i++) {
        CompareLimit limit;
        compare_limit_default(&m[i], &limit);
        CU_ASSERT_EQUAL(limit.gated, m[i].default_limit != NULL);
        g_autofree char *shown = compare_limit_format(&limit);
        g_autofree char *row = g_strdup_printf("| `%s` | %s | %s |", m[i].name,
                                               m[i].higher_is_better ? "higher" : "lower",
                                               limit.gated ? shown : "none");
        if (strstr(doc, row) == NULL)
            fprintf(stderr, "\ndocs/compare.md lacks the row \"%s\"\n", row);
        CU_ASSERT_PTR_NOT_NULL(strstr(doc, row));
    }
}

/* ---- the hand-made fixtures -------------------------------------------------------------- */

static void
test_identical_files(void)
{
    int status = -1;
    g_autofree char *out = NULL, *err = NULL;
    json_t *doc = __compare("tick-base.json", "tick-base.json", NULL, &status, &out, &err);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT(json_is_true(json_object_get(doc, "same_scenario")));
    json_t *policies = json_object_get(doc, "policies");
    CU_ASSERT_EQUAL(json_array_size(policies), 3);
    gsize rows = 0;
    for (gsize i = 0; i < json_array_size(policies); i++) {
        json_t *p = json_array_get(policies, i);
        CU_ASSERT(json_is_true(json_object_get(p, "paired")));
        json_t *metrics = json_object_get(p, "metrics");
        for (gsize j = 0; j < json_array_size(metrics); j++, rows++) {
            json_t *r = json_array_get(metrics, j);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "verdict")), "unchanged");
            CU_ASSERT_EQUAL(__field(r, "difference"), 0);
            CU_ASSERT_EQUAL(__field(r, "base"), __field(r, "candidate"));
        }
    }
    /* cost, savings_pct, total_savings_pct, deadline_met_pct and finish_hours of 3 policies. */
    CU_ASSERT_EQUAL(rows, 15);
    g_autofree char *last = __counts_line(out);
    CU_ASSERT_STRING_EQUAL(last, "compare: 0 regressions, 0 worse, 0 improvements, 0 not "
                                 "significant, 15 unchanged, 0 untested");
    json_decref(doc);
}

static void
test_paired_regression(void)
{
    int status = -1;
    g_autofree char *out = NULL, *err = NULL;
    json_t *doc = __compare("tick-base.json", "tick-regression.json", NULL, &status, &out, &err);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(err, "");
    json_t *cost = __row(doc, "greedy", "cost");
    CU_ASSERT_STRING_EQUAL(__test(cost), "paired");
    TEST_ASSERT_REL(__field(cost, "base"), 12, 1e-12);
    TEST_ASSERT_REL(__field(cost, "candidate"), 14, 1e-12);
    TEST_ASSERT_REL(__field(cost, "difference"), 2, 1e-12);
    TEST_ASSERT_REL(__ci(cost, 0), 1.122010966914917, 1e-9);
    TEST_ASSERT_REL(__ci(cost, 1), 2.877989033085083, 1e-9);
    TEST_ASSERT_REL(__field(cost, "df"), 4, 1e-12);
    CU_ASSERT_EQUAL(__field(cost, "limit_absolute"), 0);
    ASSERT_VERDICT(doc, "greedy", "cost", "regression");

    json_t *savings = __row(doc, "greedy", "savings_pct");
    TEST_ASSERT_REL(__field(savings, "difference"), -5, 1e-12);
    TEST_ASSERT_REL(__ci(savings, 0), -7.194972582712708, 1e-9);
    TEST_ASSERT_REL(__ci(savings, 1), -2.805027417287292, 1e-9);
    ASSERT_VERDICT(doc, "greedy", "savings_pct", "regression");
    /* The total saving, by the delta method over the paired runs: with one on-demand cost for
     * every window it is the mean of the per-window savings. */
    json_t *total = __row(doc, "greedy", "total_savings_pct");
    CU_ASSERT_STRING_EQUAL(__test(total), "paired");
    CU_ASSERT(json_is_true(json_object_get(total, "delta_method")));
    TEST_ASSERT_REL(__field(total, "base"), 70, 1e-9);
    TEST_ASSERT_REL(__field(total, "candidate"), 65, 1e-9);
    TEST_ASSERT_REL(__ci(total, 0), -7.194972582712708, 1e-9);
    TEST_ASSERT_REL(__ci(total, 1), -2.805027417287292, 1e-9);
    ASSERT_VERDICT(doc, "greedy", "total_savings_pct", "regression");
    ASSERT_VERDICT(doc, "greedy", "finish_hours", "unchanged");
    ASSERT_VERDICT(doc, "greedy", "deadline_met_pct", "unchanged");
    CU_ASSERT_STRING_EQUAL(__test(__row(doc, "greedy", "deadline_met_pct")), "newcombe");
    /* A run of spot-only did not finish: its finish hours cannot be paired. */
    CU_ASSERT_STRING_EQUAL(__test(__row(doc, "spot-only", "finish_hours")), "welch");
    CU_ASSERT_STRING_EQUAL(__test(__row(doc, "spot-only", "cost")), "paired");
    static const char *const others[] = {"spot-only", "on-demand"};
    static const char *const metrics[] = {"cost", "savings_pct", "total_savings_pct",
                                          "deadline_met_pct", "finish_hours"};
    for (gsize i = 0; i < G_N_ELEMENTS(others); i++)
        for (gsize j = 0; j < G_N_ELEMENTS(metrics); j++)
            ASSERT_VERDICT(doc, others[i], metrics[j], "unchanged");
    json_t *counts = json_object_get(doc, "counts");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(counts, "regressions")), 3);
    CU_ASSERT(json_is_true(json_object_get(doc, "failed")));
    g_autofree char *last = __counts_line(out);
    CU_ASSERT_STRING_EQUAL(last, "compare: 3 regressions, 0 worse, 0 improvements, 0 not "
                                 "significant, 12 unchanged, 0 untested");
    /* The table shows the row as people read it. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "+$2.00"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "[+$1.12, +$2.88]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "runs paired one to one"));
    json_decref(doc);
}

static void
test_other_seed_uses_welch(void)
{
    int status = -1;
    g_autofree char *err = NULL;
    json_t *doc = __compare("tick-base.json", "tick-other-seed.json", NULL, &status, NULL, &err);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: the scenarios differ"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "seed 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "seed 2"));
    CU_ASSERT(json_is_false(json_object_get(doc, "same_scenario")));
    json_t *cost = __row(doc, "greedy", "cost");
    CU_ASSERT_STRING_EQUAL(__test(cost), "welch");
    TEST_ASSERT_REL(__field(cost, "df"), 8, 1e-9);
    TEST_ASSERT_REL(__ci(cost, 0), -0.3060041352041667, 1e-9);
    TEST_ASSERT_REL(__ci(cost, 1), 4.306004135204167, 1e-9);
    ASSERT_VERDICT(doc, "greedy", "cost", "not significant");
    ASSERT_VERDICT(doc, "greedy", "savings_pct", "not significant");
    ASSERT_VERDICT(doc, "greedy", "total_savings_pct", "not significant");
    CU_ASSERT_STRING_EQUAL(__test(__row(doc, "greedy", "total_savings_pct")), "welch");
    CU_ASSERT(json_is_false(
        json_object_get(json_array_get(json_object_get(doc, "policies"), 0), "paired")));
    json_decref(doc);
}

static void
test_noise_is_not_significant(void)
{
    int status = -1;
    g_autofree char *out = NULL;
    json_t *doc = __compare("tick-base.json", "tick-noise.json", NULL, &status, &out, NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *cost = __row(doc, "greedy", "cost");
    CU_ASSERT_STRING_EQUAL(__test(cost), "paired");
    TEST_ASSERT_REL(__field(cost, "difference"), 0.1, 1e-9);
    TEST_ASSERT_REL(__ci(cost, 0), -0.41942531684178397, 1e-9);
    TEST_ASSERT_REL(__ci(cost, 1), 0.6194253168417839, 1e-9);
    ASSERT_VERDICT(doc, "greedy", "cost", "not significant");
    ASSERT_VERDICT(doc, "greedy", "savings_pct", "not significant");
    ASSERT_VERDICT(doc, "greedy", "total_savings_pct", "not significant");
    g_autofree char *last = __counts_line(out);
    CU_ASSERT_STRING_EQUAL(last, "compare: 0 regressions, 0 worse, 0 improvements, 3 not "
                                 "significant, 12 unchanged, 0 untested");
    json_decref(doc);
}

/* Runs tick-base against tick-regression with @limits and checks the greedy cost's verdict,
 * its absolute limit and the exit status. */
static void
__check_limit(const char *const *limits, const char *verdict, double limit_abs, int expected)
{
    int status = -1;
    json_t *doc = __compare("tick-base.json", "tick-regression.json", limits, &status, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    if (status != expected)
        fprintf(stderr, "\n%s: exit %d, expected %d\n", limits[1], status, expected);
    CU_ASSERT_EQUAL(status, expected);
    ASSERT_VERDICT(doc, "greedy", "cost", verdict);
    TEST_ASSERT_REL(__field(__row(doc, "greedy", "cost"), "limit_absolute"), limit_abs, 1e-12);
    json_decref(doc);
}

static void
test_relative_and_absolute_limits(void)
{
    /* The cost is worse by [1.122, 2.878] with 95% confidence; the base is $12. */
    __check_limit((const char *const[]){"--limit", "cost=10%", NULL}, "worse", 1.2, 1);
    __check_limit((const char *const[]){"--limit", "cost=5%", NULL}, "regression", 0.6, 1);
    __check_limit((const char *const[]){"-l", "cost=1.5", NULL}, "worse", 1.5, 1);
    __check_limit((const char *const[]){"-l", "cost=$1", NULL}, "regression", 1, 1);
    /* A later --limit for a metric replaces an earlier one. */
    __check_limit((const char *const[]){"-l", "cost=1", "-l", "cost=10%", NULL}, "worse", 1.2, 1);
    /* With every worsening within its limit, the gate passes. */
    __check_limit((const char *const[]){"-l", "cost=10%", "-l", "savings_pct=none", "-l",
                                        "total_savings_pct=8", NULL},
                  "worse", 1.2, 0);
    int status = -1;
    const char *const loose[] = {
        "-l", "cost=10%", "-l", "savings_pct=none", "-l", "total_savings_pct=8", NULL};
    g_autofree char *out = NULL;
    json_t *doc = __compare("tick-base.json", "tick-regression.json", loose, &status, &out, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *savings = __row(doc, "greedy", "savings_pct");
    CU_ASSERT(json_is_null(json_object_get(savings, "limit")));
    ASSERT_VERDICT(doc, "greedy", "savings_pct", "worse");
    ASSERT_VERDICT(doc, "greedy", "total_savings_pct", "worse");
    TEST_ASSERT_REL(__field(__row(doc, "greedy", "total_savings_pct"), "limit_absolute"), 8, 1e-12);
    g_autofree char *last = __counts_line(out);
    CU_ASSERT_STRING_EQUAL(last, "compare: 0 regressions, 3 worse, 0 improvements, 0 not "
                                 "significant, 12 unchanged, 0 untested");
    json_decref(doc);
}

static void
test_summaries_only(void)
{
    int status = -1;
    g_autofree char *err = NULL;
    json_t *doc =
        __compare("continuous-base.json", "continuous-candidate.json", NULL, &status, NULL, &err);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "model")), "continuous");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: policy \"on-demand\" is only in " /* the base */));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "continuous-base.json"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: policy \"failover\" is only in "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "continuous-candidate.json"));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "policies")), 1);

    json_t *cost = __row(doc, "periodic", "cost");
    CU_ASSERT_STRING_EQUAL(__test(cost), "welch");
    TEST_ASSERT_REL(__field(cost, "df"), 198, 1e-9);
    TEST_ASSERT_REL(__ci(cost, 0), 2.2111461376070993, 1e-9);
    TEST_ASSERT_REL(__ci(cost, 1), 7.788853862392901, 1e-9);
    ASSERT_VERDICT(doc, "periodic", "cost", "regression");
    json_t *savings = __row(doc, "periodic", "savings_pct");
    TEST_ASSERT_REL(__ci(savings, 0), -0.77888538623929, 1e-9);
    TEST_ASSERT_REL(__ci(savings, 1), -0.22111461376070995, 1e-9);
    ASSERT_VERDICT(doc, "periodic", "savings_pct", "regression");
    json_t *deadline = __row(doc, "periodic", "deadline_met_pct");
    CU_ASSERT_STRING_EQUAL(__test(deadline), "newcombe");
    TEST_ASSERT_REL(__field(deadline, "difference"), -8, 1e-9);
    TEST_ASSERT_REL(__ci(deadline, 0), -15.576572151032364, 1e-9);
    TEST_ASSERT_REL(__ci(deadline, 1), -1.2876163844670663, 1e-9);
    ASSERT_VERDICT(doc, "periodic", "deadline_met_pct", "regression");
    json_t *finished = __row(doc, "periodic", "finished_pct");
    TEST_ASSERT_REL(__ci(finished, 0), -5.448619617870543, 1e-9);
    TEST_ASSERT_REL(__ci(finished, 1), 2.7898470739711843, 1e-9);
    ASSERT_VERDICT(doc, "periodic", "finished_pct", "not significant");
    json_t *completion = __row(doc, "periodic", "completion_hours");
    TEST_ASSERT_REL(__ci(completion, 0), -1.5591953177988556, 1e-9);
    TEST_ASSERT_REL(__ci(completion, 1), -0.4408046822011443, 1e-9);
    ASSERT_VERDICT(doc, "periodic", "completion_hours", "improvement");
    ASSERT_VERDICT(doc, "periodic", "lost_gpu_hours", "not significant");
    ASSERT_VERDICT(doc, "periodic", "recovery_seconds", "not significant");
    ASSERT_VERDICT(doc, "periodic", "goodput", "unchanged");
    /* No runs: the total saving, a ratio of sums, is reported and not tested. */
    json_t *total = __row(doc, "periodic", "total_savings_pct");
    ASSERT_VERDICT(doc, "periodic", "total_savings_pct", "untested");
    TEST_ASSERT_REL(__field(total, "difference"), -0.5, 1e-9);
    CU_ASSERT(json_is_null(json_array_get(json_object_get(total, "ci95"), 0)));
    CU_ASSERT(json_is_string(json_object_get(total, "note")));
    json_decref(doc);

    /* Relative and absolute limits on Welch's interval: [2.211, 7.789] against $2.50 and $2. */
    const char *const one_pct[] = {"-l", "cost=1%", NULL};
    doc = __compare("continuous-base.json", "continuous-candidate.json", one_pct, &status, NULL,
                    NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    ASSERT_VERDICT(doc, "periodic", "cost", "worse");
    TEST_ASSERT_REL(__field(__row(doc, "periodic", "cost"), "limit_absolute"), 2.5, 1e-12);
    json_decref(doc);
    const char *const two[] = {"-l", "cost=2", NULL};
    doc = __compare("continuous-base.json", "continuous-candidate.json", two, &status, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    ASSERT_VERDICT(doc, "periodic", "cost", "regression");
    json_decref(doc);
}

static void
test_metric_restricts(void)
{
    int status = -1;
    const char *const cost[] = {"--metric", "cost", NULL};
    g_autofree char *out = NULL;
    json_t *doc = __compare("tick-base.json", "tick-regression.json", cost, &status, &out, NULL);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *policies = json_object_get(doc, "policies");
    for (gsize i = 0; i < json_array_size(policies); i++)
        CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(policies, i), "metrics")),
                        1);
    g_autofree char *last = __counts_line(out);
    CU_ASSERT_STRING_EQUAL(last, "compare: 1 regression, 0 worse, 0 improvements, 0 not "
                                 "significant, 2 unchanged, 0 untested");
    json_decref(doc);

    const char *const unhurt[] = {"-m", "finish_hours", "-m", "deadline_met_pct", NULL};
    doc = __compare("tick-base.json", "tick-regression.json", unhurt, &status, NULL, NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_object_get(doc, "counts"), "unchanged")), 6);
    json_decref(doc);

    /* A metric of the other model: a warning, and the rest is compared. */
    const char *const mixed[] = {"-m", "finish_hours", "-m", "cost", NULL};
    g_autofree char *err = NULL;
    doc =
        __compare("continuous-base.json", "continuous-candidate.json", mixed, &status, NULL, &err);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: --metric finish_hours: not in both results"));
    json_decref(doc);

    /* A limit for a metric of the other model: a warning, no failure of its own. */
    const char *const limit[] = {"-l", "finish_hours=5%", NULL};
    g_clear_pointer(&err, g_free);
    doc =
        __compare("continuous-base.json", "continuous-candidate.json", limit, &status, NULL, &err);
    CU_ASSERT_EQUAL(status, 1); /* the regressions of test_summaries_only */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: --limit finish_hours: not in both results"));
    json_decref(doc);
}

static void
test_outputs(void)
{
    g_autofree char *base = __data("tick-base.json");
    g_autofree char *cand = __data("tick-regression.json");
    g_autofree char *dir = __tmp_path("outputs");
    CU_ASSERT_FATAL(g_mkdir(dir, 0755) == 0);
    g_autofree char *md = g_build_filename(dir, "comment.md", NULL);
    g_autofree char *xml = g_build_filename(dir, "junit.xml", NULL);
    g_autofree char *json1 = g_build_filename(dir, "a.json", NULL);
    g_autofree char *json2 = g_build_filename(dir, "b.json", NULL);
    const char *const outputs[] = {md, xml, json1, json2};
    for (gsize i = 0; i < G_N_ELEMENTS(outputs); i++) {
        const char *argv[] = {"compare", base, cand, "-o", outputs[i], NULL};
        g_autofree char *out = NULL;
        CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, NULL, 1), 1);
        g_autofree char *said = g_strdup_printf("comparison: %s\n", outputs[i]);
        CU_ASSERT(g_str_has_suffix(out, said));
    }
    /* Written atomically: nothing beside the outputs. */
    g_autofree char *listing = __dir_listing(dir);
    CU_ASSERT_STRING_EQUAL(listing, "a.json b.json comment.md junit.xml");

    g_autofree char *a = NULL, *b = NULL, *m = NULL, *x = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(json1, &a, NULL, NULL));
    CU_ASSERT_FATAL(g_file_get_contents(json2, &b, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(a, b); /* deterministic */
    CU_ASSERT_FATAL(g_file_get_contents(md, &m, NULL, NULL));
    CU_ASSERT(g_str_has_prefix(m, "### spotlab compare: failed, 3 regressions\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, "| greedy | cost | $12.00 | $14.00 | +$2.00 | [+$1.12, "
                                     "+$2.88] | paired | 0% | **regression** |\n"));
    /* Only what changed significantly is listed. */
    CU_ASSERT_PTR_NULL(strstr(m, "| spot-only |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, "3 of 15 comparisons changed significantly"));

    CU_ASSERT_FATAL(g_file_get_contents(xml, &x, NULL, NULL));
    /* Well-formed: GMarkup parses it. */
    GMarkupParser parser = {0};
    g_autoptr(GMarkupParseContext) ctx = g_markup_parse_context_new(&parser, 0, NULL, NULL);
    g_autoptr(GError) error = NULL;
    gboolean ok = g_markup_parse_context_parse(ctx, x, -1, &error) &&
                  g_markup_parse_context_end_parse(ctx, &error);
    if (!ok)
        fprintf(stderr, "\n%s: %s\n", xml, error->message);
    CU_ASSERT(ok);
    /* One test case per policy and gated metric: 3 policies, 5 gated metrics. */
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testsuites name=\"spotlab compare\" tests=\"15\" "
                                     "failures=\"3\" errors=\"0\" skipped=\"0\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testcase classname=\"greedy\" name=\"cost\">\n      "
                                     "<failure type=\"regression\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testcase classname=\"spot-only\" name=\"cost\">\n      "
                                     "<system-out>"));
    gsize cases = 0;
    for (const char *p = x; (p = strstr(p, "<testcase ")) != NULL; p++)
        cases++;
    CU_ASSERT_EQUAL(cases, 15);
    test_tmpdir_remove(dir);
}

/* ---- bad input --------------------------------------------------------------------------- */

/* Runs compare with @argv (an -o into a fresh folder is added), expects exit 2, nothing on
 * stdout, @fragment on stderr and no file written. */
static void
__check_refused(const char *const *argv, const char *fragment)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *output = g_build_filename(dir, "comparison.json", NULL);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    for (gsize i = 0; argv[i] != NULL; i++)
        g_ptr_array_add(args, (gpointer)argv[i]);
    g_ptr_array_add(args, "-o");
    g_ptr_array_add(args, output);
    g_ptr_array_add(args, NULL);
    g_autofree char *out = NULL, *err = NULL;
    int status = test_spotlab((const char *const *)args->pdata, &out, &err);
    gboolean ok_status = status == 2, ok_out = out != NULL && *out == '\0',
             ok_err = err != NULL && strstr(err, fragment) != NULL, ok_dir = test_dir_is_empty(dir);
    if (!ok_status || !ok_out || !ok_err || !ok_dir) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
        fprintf(stderr,
                "\nspotlab %s: exit %d\n  expected on stderr: %s\n  stderr: %s  stdout: %s\n"
                "  output folder empty: %s\n",
                cmd, status, fragment, err ? err : "(none)", out ? out : "(none)",
                ok_dir ? "yes" : "no");
    }
    CU_ASSERT(ok_status);
    CU_ASSERT(ok_out);
    CU_ASSERT(ok_err);
    CU_ASSERT(ok_dir);
    test_tmpdir_remove(dir);
}

static void
test_bad_files(void)
{
    g_autofree char *bad_dir = __data("bad");
    g_autoptr(GDir) dir = g_dir_open(bad_dir, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL)
        if (g_str_has_suffix(name, ".json"))
            g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, __compare_names);
    if (names->len < MIN_BAD_CASES)
        fprintf(stderr, "\nonly %u bad results files in %s\n", names->len, bad_dir);
    CU_ASSERT(names->len >= MIN_BAD_CASES);

    /* Messages show the file as it was named: run from inside the folder. */
    g_autofree char *cwd = g_get_current_dir();
    CU_ASSERT_FATAL(g_chdir(bad_dir) == 0);
    /* The file the cases are made from is itself good, so each fails by its own defect. */
    const char *good[] = {"compare", "../minimal.json", "../minimal.json", "-q", NULL};
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(good, &out, NULL, 0), 0);
    for (guint i = 0; i < names->len; i++) {
        const char *n = names->pdata[i];
        g_autofree char *expect = test_expected_fragment(bad_dir, n);
        if (expect == NULL)
            fprintf(stderr, "\n%s has no one-line .expect\n", n);
        CU_ASSERT(expect != NULL);
        if (expect == NULL)
            continue;
        /* NAME:LINE:COLUMN: opens every message. */
        g_autofree char *escaped = g_regex_escape_string(n, -1);
        g_autofree char *re = g_strdup_printf("^%s:[1-9][0-9]*:[1-9][0-9]*: ", escaped);
        CU_ASSERT(g_regex_match_simple(re, expect, 0, 0));
        /* As the base and as the candidate. */
        const char *as_base[] = {"compare", n, "../minimal.json", NULL};
        const char *as_candidate[] = {"compare", "../minimal.json", n, NULL};
        __check_refused(as_base, expect);
        __check_refused(as_candidate, expect);
    }
    CU_ASSERT(g_chdir(cwd) == 0);
}

static void
test_mismatched_files(void)
{
    g_autofree char *cwd = g_get_current_dir();
    CU_ASSERT_FATAL(g_chdir(data_dir) == 0);
    const char *models[] = {"compare", "tick-base.json", "continuous-base.json", NULL};
    __check_refused(models, "spotlab compare: tick-base.json is a tick-model results file and "
                            "continuous-base.json a continuous-model one");
    const char *disjoint[] = {"compare", "tick-base.json", "tick-other-policies.json", NULL};
    __check_refused(disjoint, "no policy in common: tick-base.json has greedy, spot-only, "
                              "on-demand; tick-other-policies.json has uniform-progress");
    const char *missing[] = {"compare", "tick-base.json", "no-such-results.json", NULL};
    __check_refused(missing, "no-such-results.json: cannot read");
    const char *no_metric[] = {"compare",  "continuous-base.json", "continuous-candidate.json",
                               "--metric", "finish_hours",         NULL};
    __check_refused(no_metric, "no metric to compare");
    CU_ASSERT(g_chdir(cwd) == 0);
}

static void
test_usage_errors(void)
{
    g_autofree char *base = __data("tick-base.json");
    g_autofree char *cand = __data("tick-regression.json");
    const char *one[] = {"compare", base, NULL};
    __check_refused(one, "expected BASE and CANDIDATE results files, got 1");
    const char *three[] = {"compare", base, cand, cand, NULL};
    __check_refused(three, "expected BASE and CANDIDATE results files, got 3");
    const char *unknown[] = {"compare", base, cand, "--limit", "costs=5%", NULL};
    __check_refused(unknown, "--limit costs=5%: unknown metric \"costs\"; known metrics: cost, "
                             "cost_compute, cost_storage");
    const char *bad_value[] = {"compare", base, cand, "-l", "deadline_met_pct=lots", NULL};
    __check_refused(bad_value, "--limit deadline_met_pct=lots: expected a number of percentage "
                               "points");
    const char *negative[] = {"compare", base, cand, "-l", "cost=-1%", NULL};
    __check_refused(negative, "--limit cost=-1%: expected");
    const char *metric[] = {"compare", base, cand, "--metric", "price", NULL};
    __check_refused(metric, "--metric price: unknown metric; known metrics: cost,");
    const char *option[] = {"compare", base, cand, "--frobnicate", NULL};
    __check_refused(option, "Unknown option --frobnicate");

    /* -o: a format compare does not write, a folder that does not exist, an input. */
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *txt = g_build_filename(dir, "comparison.txt", NULL);
    const char *argv_txt[] = {"compare", base, cand, "-o", txt, NULL};
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv_txt, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected a file name ending in .json, .md"));
    g_clear_pointer(&err, g_free);
    g_autofree char *missing = g_build_filename(dir, "missing", "comparison.json", NULL);
    const char *argv_missing[] = {"compare", base, cand, "-o", missing, NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(argv_missing, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not exist"));
    g_clear_pointer(&err, g_free);
    CU_ASSERT(test_dir_is_empty(dir));
    g_autofree char *copy = g_build_filename(dir, "base.json", NULL);
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(base, &text, NULL, NULL));
    CU_ASSERT_FATAL(g_file_set_contents(copy, text, -1, NULL));
    const char *argv_over[] = {"compare", copy, cand, "-o", copy, NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(argv_over, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "is the base results file"));
    g_autofree char *after = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(copy, &after, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(after, text);
    test_tmpdir_remove(dir);

    const char *help[] = {"compare", "--help", NULL};
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(help, &out, NULL, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--limit"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--metric"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Default limits: cost 0%, savings_pct 0 pts"));
}

/* ---- real runs --------------------------------------------------------------------------- */

/* Writes @text with every @from replaced by @to to @path. */
static void
__write_replaced(const char *text, const char *from, const char *to, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(text, from, -1);
    CU_ASSERT_FATAL(g_strv_length(parts) >= 2); /* the text to replace is there */
    g_autofree char *replaced = g_strjoinv(to, parts);
    CU_ASSERT_FATAL(g_file_set_contents(path, replaced, -1, NULL));
}

static char *
__simulate(const char *scenario, const char *name)
{
    char *results = __tmp_path(name);
    const char *argv[] = {"run", scenario, "-q", "-o", results, NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, NULL, NULL, 0), 0);
    return results;
}

static void
test_real_continuous_regression(void)
{
    g_autofree char *scenario = __data("hazard-training.json");
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(scenario, &text, NULL, NULL));
    /* The candidate checkpoints every 3 hours instead of every 15 minutes. */
    g_autofree char *sparse = __tmp_path("hazard-training-sparse.json");
    __write_replaced(text, "\"every\": \"15m\"", "\"every\": \"3h\"", sparse);
    g_autofree char *base = __simulate(scenario, "hazard-base.json");
    g_autofree char *cand = __simulate(sparse, "hazard-sparse.json");

    int status = -1;
    g_autofree char *err = NULL;
    json_t *doc = __compare(base, cand, NULL, &status, NULL, &err);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT(json_is_true(json_object_get(doc, "same_scenario")));
    json_t *cost = __row(doc, "spot", "cost");
    CU_ASSERT_STRING_EQUAL(__test(cost), "paired");
    CU_ASSERT(__ci(cost, 0) > 0);
    ASSERT_VERDICT(doc, "spot", "cost", "regression");
    ASSERT_VERDICT(doc, "spot", "lost_gpu_hours", "worse");
    ASSERT_VERDICT(doc, "spot", "checkpoint_hours", "improvement");
    /* On demand does not checkpoint: the change leaves it exactly as it was. */
    json_t *od = json_object_get(json_array_get(json_object_get(doc, "policies"), 0), "metrics");
    CU_ASSERT(json_array_size(od) >= 15);
    for (gsize i = 0; i < json_array_size(od); i++) {
        json_t *r = json_array_get(od, i);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "verdict")), "unchanged");
    }
    json_decref(doc);

    /* The other way round, the change is an improvement, and the gate passes. */
    doc = __compare(cand, base, NULL, &status, NULL, NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    ASSERT_VERDICT(doc, "spot", "cost", "improvement");
    json_decref(doc);

    /* Another seed is noise: Welch's interval, and nothing significant in the spot strategy's
     * gated metrics. */
    g_autofree char *reseeded = __tmp_path("hazard-training-seed-6.json");
    __write_replaced(text, "\"seed\": 5", "\"seed\": 6", reseeded);
    g_autofree char *other = __simulate(reseeded, "hazard-seed-6.json");
    g_clear_pointer(&err, g_free);
    doc = __compare(base, other, NULL, &status, NULL, &err);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: the scenarios differ"));
    CU_ASSERT_STRING_EQUAL(__test(__row(doc, "spot", "cost")), "welch");
    ASSERT_VERDICT(doc, "spot", "cost", "not significant");
    ASSERT_VERDICT(doc, "spot", "completion_hours", "not significant");
    json_decref(doc);

    /* The same scenario twice: the same bytes, every metric unchanged. */
    g_autofree char *again = __simulate(scenario, "hazard-again.json");
    doc = __compare(base, again, NULL, &status, NULL, NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *counts = json_object_get(doc, "counts");
    CU_ASSERT(json_integer_value(json_object_get(counts, "unchanged")) >= 30);
    static const char *const none[] = {"regressions", "worse", "improvements", "not_significant",
                                       "untested"};
    for (gsize i = 0; i < G_N_ELEMENTS(none); i++)
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(counts, none[i])), 0);
    json_decref(doc);
}

static void
test_real_tick_regression(void)
{
    g_autofree char *scenario = __data("tick-training.json");
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(scenario, &text, NULL, NULL));
    /* The copy lives elsewhere: it names the trace by its full path. */
    g_autofree char *traces = test_data_path("../../traces/");
    g_autofree char *with_path = NULL;
    {
        g_auto(GStrv) parts = g_strsplit(text, "../../../traces/", -1);
        CU_ASSERT_FATAL(g_strv_length(parts) == 2);
        with_path = g_strjoinv(traces, parts);
    }
    g_autofree char *slow = __tmp_path("tick-training-slow-restart.json");
    __write_replaced(with_path, "\"restart_overhead\": \"12m\"", "\"restart_overhead\": \"1h\"",
                     slow);
    g_autofree char *base = __simulate(scenario, "tick-base-run.json");
    g_autofree char *cand = __simulate(slow, "tick-slow-restart.json");
    int status = -1;
    json_t *doc = __compare(base, cand, NULL, &status, NULL, NULL);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    static const char *const spot[] = {"spot-only", "greedy", "uniform-progress"};
    for (gsize i = 0; i < G_N_ELEMENTS(spot); i++) {
        CU_ASSERT_STRING_EQUAL(__test(__row(doc, spot[i], "cost")), "paired");
        ASSERT_VERDICT(doc, spot[i], "cost", "regression");
        ASSERT_VERDICT(doc, spot[i], "total_savings_pct", "regression");
        CU_ASSERT(json_is_true(
            json_object_get(__row(doc, spot[i], "total_savings_pct"), "delta_method")));
    }
    /* Restarts are slower, but not 10% slower at the low end of the interval. */
    ASSERT_VERDICT(doc, "greedy", "finish_hours", "worse");
    json_decref(doc);

    /* Identical runs: nothing changed. */
    g_autofree char *again = __simulate(scenario, "tick-base-again.json");
    g_autofree char *out = NULL;
    doc = __compare(base, again, NULL, &status, &out, NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    g_autofree char *last = __counts_line(out);
    CU_ASSERT_STRING_EQUAL(last, "compare: 0 regressions, 0 worse, 0 improvements, 0 not "
                                 "significant, 20 unchanged, 0 untested");
    json_decref(doc);
}

static int
__suite_init(void)
{
    tmp = test_tmpdir_new();
    return 0;
}

static int
__suite_clean(void)
{
    test_tmpdir_remove(tmp);
    g_clear_pointer(&tmp, g_free);
    return 0;
}

int
main(void)
{
    data_dir = test_data_path("compare");
    if (!g_file_test(data_dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "%s is missing\n", data_dir);
        return 1;
    }
    CU_initialize_registry();
    CU_pSuite stats = CU_add_suite("statistics", NULL, NULL);
    CU_add_test(stats, "t quantiles for whole and fractional df", test_t_quantiles);
    CU_add_test(stats, "paired and Welch intervals", test_paired_and_welch);
    CU_add_test(stats, "Newcombe's interval reproduces his examples", test_newcombe);
    CU_add_test(stats, "limits parse in each metric's unit", test_limits);
    CU_add_test(stats, "every default limit is documented", test_defaults_are_documented);
    CU_pSuite fixtures = CU_add_suite("fixtures", __suite_init, __suite_clean);
    CU_add_test(fixtures, "identical files: all unchanged, exit 0", test_identical_files);
    CU_add_test(fixtures, "paired runs: a clear regression fails", test_paired_regression);
    CU_add_test(fixtures, "another seed: Welch, not significant", test_other_seed_uses_welch);
    CU_add_test(fixtures, "a small noisy difference passes", test_noise_is_not_significant);
    CU_add_test(fixtures, "relative and absolute limits", test_relative_and_absolute_limits);
    CU_add_test(fixtures, "summaries only: Welch and Newcombe", test_summaries_only);
    CU_add_test(fixtures, "--metric restricts the comparison", test_metric_restricts);
    CU_add_test(fixtures, "-o writes .json, .md and .xml", test_outputs);
    CU_pSuite bad = CU_add_suite("bad input", NULL, NULL);
    CU_add_test(bad, "every bad results file exits 2 naming file and field", test_bad_files);
    CU_add_test(bad, "files that cannot be compared exit 2", test_mismatched_files);
    CU_add_test(bad, "usage errors exit 2 and write nothing", test_usage_errors);
    CU_pSuite real = CU_add_suite("real runs", __suite_init, __suite_clean);
    CU_add_test(real, "continuous model: sparser checkpoints are caught",
                test_real_continuous_regression);
    CU_add_test(real, "tick model: a slower restart is caught", test_real_tick_regression);
    int status = test_run_all();
    g_free(data_dir);
    return status;
}
