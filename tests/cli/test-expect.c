/* CLI: expectations, the gate of `spotlab run`.
 *
 * Scenarios are written into a temporary folder with an "expect" list and run as a user runs
 * them. A first run without expectations gives the figures; expectations are then set at
 * exactly those figures (they must pass: bounds are inclusive) and just past them (they must
 * fail), for every aggregate, so that each aggregate provably reads its own field. Units in
 * bounds, targets with tolerances, the confidence-interval gate, policy lists, exit statuses,
 * --no-gate, -q, and the verdicts written to the results file are checked the same way. */
#include "test-util.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static char *tmp;
static char *trace; /* traces/quickstart/h100-three-zones.json, absolute */

static int
__suite_init(void)
{
    tmp = test_tmpdir_new();
    return tmp == NULL;
}

static int
__suite_clean(void)
{
    test_tmpdir_remove(tmp);
    g_free(tmp);
    return 0;
}

/* A tick scenario on the quickstart trace (30 windows) with @expect as its "expect" value, or
 * none when NULL. Returns its path. */
static char *
__tick_scenario(const char *name, const char *expect)
{
    g_autofree char *text = g_strdup_printf(
        "{\n"
        "  \"seed\": 7,\n"
        "  \"traces\": [{\"file\": \"%s\"}],\n"
        "  \"job\": {\"work\": \"24h\", \"deadline\": \"36h\", \"restart_overhead\": \"12m\"},\n"
        "  \"policies\": [\"on-demand\", \"spot-only\", \"greedy\", \"uniform-progress\"],\n"
        "  \"windows\": {\"random\": 10}%s%s\n"
        "}\n",
        trace, expect ? ",\n  \"expect\": " : "", expect ? expect : "");
    char *path = g_strdup_printf("%s/%s.json", tmp, name);
    g_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/* A small continuous scenario on a hazard pool (no trace needed). */
static char *
__cloud_scenario(const char *name, const char *expect)
{
    g_autofree char *text = g_strdup_printf(
        "{\n"
        "  \"model\": \"continuous\", \"seed\": 3, \"replicas\": 40,\n"
        "  \"clouds\": {\"aws\": {\"notice_missed\": \"25%%\"}},\n"
        "  \"pools\": [{\"name\": \"a\", \"cloud\": \"aws\", \"hazard\": {\"rate\": \"5%%/h\"},\n"
        "              \"spot_price\": \"$0.92/h\", \"on_demand_price\": \"$3.06/h\"}],\n"
        "  \"job\": {\"type\": \"training\", \"steps\": 40000, \"step_time\": \"0.9s\",\n"
        "          \"checkpoint\": {\"size\": \"20GB\", \"write\": \"1GB/s\", \"restore\": "
        "\"2GB/s\"}},\n"
        "  \"strategies\": [{\"preset\": \"periodic\"}, {\"preset\": \"emergency\"}]%s%s\n"
        "}\n",
        expect ? ",\n  \"expect\": " : "", expect ? expect : "");
    char *path = g_strdup_printf("%s/%s.json", tmp, name);
    g_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/* Runs @scenario with -o and returns the exit status; the results document in @results. */
static int
__run(const char *scenario, json_t **results, char **out, char **err, const char *extra)
{
    g_autofree char *res = g_strdup_printf("%s.results.json", scenario);
    g_unlink(res);
    const char *argv[] = {"run", scenario, "-o", res, "-t", "2", extra, NULL};
    g_autofree char *o = NULL, *e = NULL;
    int status = test_spotlab(argv, &o, &e);
    if (status < 0 || status == 2)
        fprintf(stderr, "\nspotlab run %s: exit %d\n%s%s\n", scenario, status, o ? o : "",
                e ? e : "");
    if (results)
        *results = json_load_file(res, 0, NULL);
    if (out)
        *out = o ? g_steal_pointer(&o) : g_strdup("");
    if (err)
        *err = e ? g_steal_pointer(&e) : g_strdup("");
    return status;
}

static const json_t *
__summary(const json_t *results, const char *policy)
{
    const json_t *policies = json_object_get(results, "policies");
    for (gsize i = 0; i < json_array_size(policies); i++) {
        const json_t *p = json_array_get(policies, i);
        if (strcmp(json_string_value(json_object_get(p, "name")), policy) == 0)
            return json_object_get(p, "summary");
    }
    return NULL;
}

static double
__num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* The verdicts of a results document, as "pass"/"fail" strings joined by spaces. */
static char *
__verdicts(const json_t *results)
{
    GString *s = g_string_new(NULL);
    const json_t *list = json_object_get(results, "expectations");
    for (gsize i = 0; i < json_array_size(list); i++)
        g_string_append_printf(
            s, "%s%s", i ? " " : "",
            json_string_value(json_object_get(json_array_get(list, i), "verdict")));
    return g_string_free(s, FALSE);
}

/* Checks the verdicts and shows them when they differ. */
#define ASSERT_VERDICTS(results, expected)                                                         \
    do {                                                                                           \
        g_autofree char *got_ = __verdicts(results);                                               \
        if (strcmp(got_, (expected)) != 0)                                                         \
            fprintf(stderr, "\nverdicts: %s\nexpected: %s\n", got_, (expected));                   \
        CU_ASSERT_STRING_EQUAL(got_, (expected));                                                  \
    } while (0)

/* A number as JSON text that reads back to the same double. */
static char *
__exact(double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup(g_ascii_dtostr(buf, sizeof buf, v));
}

/* ---- the tests ------------------------------------------------------------------------- */

static void
test_every_aggregate_reads_its_field(void)
{
    g_autofree char *plain = __tick_scenario("plain", NULL);
    json_t *base = NULL;
    CU_ASSERT_EQUAL_FATAL(__run(plain, &base, NULL, NULL, NULL), 0);
    CU_ASSERT_PTR_NULL(json_object_get(base, "expectations"));
    const json_t *cost = json_object_get(__summary(base, "greedy"), "cost");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cost);
    const char *aggregates[] = {"mean", "median", "p90",      "p95",      "min",
                                "max",  "stddev", "ci95_low", "ci95_high"};
    const double values[] = {__num(json_object_get(cost, "mean")),
                             __num(json_object_get(cost, "median")),
                             __num(json_object_get(cost, "p90")),
                             __num(json_object_get(cost, "p95")),
                             __num(json_object_get(cost, "min")),
                             __num(json_object_get(cost, "max")),
                             __num(json_object_get(cost, "stddev")),
                             __num(json_array_get(json_object_get(cost, "ci95"), 0)),
                             __num(json_array_get(json_object_get(cost, "ci95"), 1))};
    /* At the value (passes: bounds are inclusive), just below it as a max (fails), just above
     * it as a min (fails). */
    g_autoptr(GString) expect = g_string_new("[");
    for (gsize i = 0; i < G_N_ELEMENTS(aggregates); i++) {
        CU_ASSERT(isfinite(values[i]) && values[i] > 0);
        g_autofree char *at = __exact(values[i]);
        g_autofree char *below = __exact(values[i] * (1 - 1e-9));
        g_autofree char *above = __exact(values[i] * (1 + 1e-9));
        g_string_append_printf(
            expect,
            "%s{\"policy\": \"greedy\", \"metric\": \"cost\", \"aggregate\": \"%s\", "
            "\"min\": %s, \"max\": %s},\n"
            "{\"policy\": \"greedy\", \"metric\": \"cost\", \"aggregate\": \"%s\", \"max\": %s},\n"
            "{\"policy\": \"greedy\", \"metric\": \"cost\", \"aggregate\": \"%s\", \"min\": %s}",
            i ? ",\n" : "", aggregates[i], at, at, aggregates[i], below, aggregates[i], above);
    }
    g_string_append(expect, "]");
    g_autofree char *path = __tick_scenario("aggregates", expect->str);
    json_t *res = NULL;
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(__run(path, &res, &out, NULL, NULL), 1);
    const json_t *verdicts = json_object_get(res, "expectations");
    CU_ASSERT_EQUAL_FATAL(json_array_size(verdicts), 3 * G_N_ELEMENTS(aggregates));
    for (gsize i = 0; i < G_N_ELEMENTS(aggregates); i++) {
        for (int k = 0; k < 3; k++) {
            const json_t *v = json_array_get(verdicts, 3 * i + k);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "verdict")),
                                   k == 0 ? "pass" : "fail");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "aggregate")),
                                   aggregates[i]);
            CU_ASSERT_DOUBLE_EQUAL(__num(json_object_get(v, "measured")), values[i], 0);
            /* A value a hair past its bound never prints as the bound itself. */
            const char *text = json_string_value(json_object_get(v, "text"));
            const char *shown = json_string_value(json_object_get(v, "measured_text"));
            const char *bound = k == 0 ? NULL : strstr(text, k == 1 ? "<= " : ">= ");
            CU_ASSERT(k == 0 || (bound != NULL && strcmp(bound + 3, shown) != 0));
        }
    }
    /* The results are the same as without expectations: they only read them. */
    CU_ASSERT(json_equal(json_object_get(res, "policies"), json_object_get(base, "policies")));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "expectations: 9 of 27 passed"));
    json_decref(base);
    json_decref(res);
}

static void
test_units_targets_and_scalars(void)
{
    g_autofree char *plain = __tick_scenario("plain-units", NULL);
    json_t *base = NULL;
    CU_ASSERT_EQUAL_FATAL(__run(plain, &base, NULL, NULL, NULL), 0);
    const json_t *greedy = __summary(base, "greedy");
    double mean_cost = __num(json_object_get(json_object_get(greedy, "cost"), "mean"));
    double max_finish = __num(json_object_get(json_object_get(greedy, "finish_hours"), "max"));
    double met = __num(json_object_get(__summary(base, "spot-only"), "deadline_met_pct"));
    CU_ASSERT_FATAL(mean_cost > 10 && max_finish > 24 && max_finish <= 36 && met < 100);
    /* A relative target around the mean: +-1% passes, a target 5% off with 1% fails; an
     * absolute tolerance in USD; hours as a duration ("1.5d" = 36 h); percent as "100%"; a
     * scalar metric with "value" spelt out or left implicit. */
    g_autofree char *expect = g_strdup_printf(
        "[{\"policy\": \"greedy\", \"metric\": \"cost\", \"target\": \"$%.6f\", \"tolerance\": "
        "\"1%%\"},\n"
        " {\"policy\": \"greedy\", \"metric\": \"cost\", \"target\": \"$%.6f\", \"tolerance\": "
        "\"1%%\"},\n"
        " {\"policy\": \"greedy\", \"metric\": \"cost\", \"target\": %.6f, \"tolerance\": "
        "\"$0.01\"},\n"
        " {\"policy\": \"greedy\", \"metric\": \"finish_hours\", \"aggregate\": \"max\", "
        "\"max\": \"1.5d\"},\n"
        " {\"policy\": \"greedy\", \"metric\": \"finish_hours\", \"aggregate\": \"max\", "
        "\"max\": \"24h\"},\n"
        " {\"policy\": [\"greedy\", \"uniform-progress\"], \"metric\": \"deadline_met_pct\", "
        "\"min\": \"100%%\"},\n"
        " {\"policy\": \"spot-only\", \"metric\": \"deadline_met_pct\", \"aggregate\": "
        "\"value\", \"min\": 100}]",
        mean_cost, mean_cost * 1.05, mean_cost + 0.005);
    g_autofree char *path = __tick_scenario("units", expect);
    json_t *res = NULL;
    CU_ASSERT_EQUAL(__run(path, &res, NULL, NULL, NULL), 1);
    ASSERT_VERDICTS(res, "pass fail pass pass fail pass pass fail");
    const json_t *list = json_object_get(res, "expectations");
    const json_t *rel = json_array_get(list, 0);
    CU_ASSERT_TRUE(json_is_true(json_object_get(rel, "tolerance_relative")));
    CU_ASSERT_DOUBLE_EQUAL(__num(json_object_get(rel, "tolerance")), 0.01, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(__num(json_object_get(json_array_get(list, 3), "max")), 36, 1e-12);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(list, 7), "policy")),
                           "spot-only");
    CU_ASSERT_DOUBLE_EQUAL(__num(json_object_get(json_array_get(list, 7), "measured")), met, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(list, 5), "unit")),
                           "%");
    json_decref(base);
    json_decref(res);
}

static void
test_confidence_interval_gate(void)
{
    /* "ci95" passes only when the whole interval is within the bound: a bound between the
     * interval's ends fails whichever side it is on, though the mean alone would pass. */
    g_autofree char *plain = __tick_scenario("plain-ci", NULL);
    json_t *base = NULL;
    CU_ASSERT_EQUAL_FATAL(__run(plain, &base, NULL, NULL, NULL), 0);
    const json_t *sav = json_object_get(__summary(base, "greedy"), "savings_pct");
    double lo = __num(json_array_get(json_object_get(sav, "ci95"), 0));
    double hi = __num(json_array_get(json_object_get(sav, "ci95"), 1));
    CU_ASSERT_FATAL(lo < hi);
    double mid = (lo + hi) / 2, below = lo - 1, above = hi + 1;
    g_autofree char *expect = g_strdup_printf(
        "[{\"policy\": \"greedy\", \"metric\": \"savings_pct\", \"aggregate\": \"ci95\", "
        "\"min\": %.9f},\n"
        " {\"policy\": \"greedy\", \"metric\": \"savings_pct\", \"aggregate\": \"ci95\", "
        "\"min\": %.9f},\n"
        " {\"policy\": \"greedy\", \"metric\": \"savings_pct\", \"aggregate\": \"ci95\", "
        "\"max\": %.9f},\n"
        " {\"policy\": \"greedy\", \"metric\": \"savings_pct\", \"aggregate\": \"mean\", "
        "\"max\": %.9f},\n"
        " {\"policy\": \"greedy\", \"metric\": \"savings_pct\", \"aggregate\": \"ci95\", "
        "\"between\": [\"%.9f%%\", \"%.9f%%\"]}]",
        below, mid, mid, above, below, above);
    g_autofree char *path = __tick_scenario("ci", expect);
    json_t *res = NULL;
    CU_ASSERT_EQUAL(__run(path, &res, NULL, NULL, NULL), 1);
    ASSERT_VERDICTS(res, "pass fail fail pass pass");
    const json_t *first = json_array_get(json_object_get(res, "expectations"), 0);
    CU_ASSERT_DOUBLE_EQUAL(__num(json_object_get(first, "measured")), lo, 0);
    CU_ASSERT_DOUBLE_EQUAL(__num(json_array_get(json_object_get(first, "interval"), 1)), hi, 0);
    json_decref(base);
    json_decref(res);
}

static void
test_exit_status_quiet_and_no_gate(void)
{
    const char *expect = "[{\"metric\": \"deadline_met_pct\", \"min\": \"100%\"}]";
    g_autofree char *path = __tick_scenario("gate", expect);
    /* Absent "policy": every policy, spot-only failing. */
    json_t *res = NULL;
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(__run(path, &res, &out, &err, NULL), 1);
    ASSERT_VERDICTS(res, "pass fail pass pass");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "expectations: 3 of 4 passed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "FAIL  expect[0]  spot-only: deadline_met_pct >= 100%"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "pass  expect[0]  greedy: deadline_met_pct >= 100%"));
    json_decref(res);
    /* Quiet: nothing on stdout, the failure alone on stderr. */
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(__run(path, NULL, &out, &err, "-q"), 1);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "FAIL  expect[0]  spot-only"));
    CU_ASSERT_PTR_NULL(strstr(err, "pass  "));
    /* --no-gate: measured and written, exit 0. */
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(__run(path, &res, &out, &err, "--no-gate"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "FAIL  expect[0]  spot-only"));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(res, "expectations")), 4);
    json_decref(res);
}

static void
test_continuous_metrics(void)
{
    g_autofree char *plain = __cloud_scenario("cloud-plain", NULL);
    json_t *base = NULL;
    CU_ASSERT_EQUAL_FATAL(__run(plain, &base, NULL, NULL, NULL), 0);
    const json_t *em = __summary(base, "emergency");
    double rec_p95 = __num(json_object_get(json_object_get(em, "recovery_seconds"), "p95"));
    double goodput = __num(json_object_get(json_object_get(em, "goodput"), "mean"));
    double lost = __num(json_object_get(json_object_get(em, "lost_gpu_hours"), "mean"));
    CU_ASSERT_FATAL(rec_p95 > 60 && goodput > 0.5 && goodput < 1 && lost > 0);
    /* recovery_seconds in a duration (minutes), goodput as a percentage, lost GPU-hours as a
     * number, for one strategy and for both. */
    g_autofree char *lost_bound = __exact(lost * (1 + 1e-9));
    g_autofree char *expect = g_strdup_printf(
        "[{\"policy\": \"emergency\", \"metric\": \"recovery_seconds\", \"aggregate\": \"p95\", "
        "\"max\": \"%.6fm\"},\n"
        " {\"policy\": \"emergency\", \"metric\": \"goodput\", \"min\": \"%.6f%%\"},\n"
        " {\"policy\": \"emergency\", \"metric\": \"goodput\", \"min\": %.6f},\n"
        " {\"metric\": \"lost_gpu_hours\", \"max\": %s}]",
        rec_p95 / 60 + 1e-6, goodput * 100 - 1e-4, goodput + 1e-4, lost_bound);
    g_autofree char *path = __cloud_scenario("cloud-expect", expect);
    json_t *res = NULL;
    CU_ASSERT_EQUAL(__run(path, &res, NULL, NULL, NULL), 1);
    const json_t *list = json_object_get(res, "expectations");
    CU_ASSERT_EQUAL_FATAL(json_array_size(list), 5);
    ASSERT_VERDICTS(res, "pass pass fail fail pass");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(list, 0), "unit")),
                           "seconds");
    CU_ASSERT_DOUBLE_EQUAL(__num(json_object_get(json_array_get(list, 1), "min")), goodput - 1e-6,
                           1e-7);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(list, 3), "policy")),
                           "periodic");
    json_decref(base);
    json_decref(res);
}

static void
test_quickstart_passes(void)
{
    /* The quickstart scenario states its expectations, and they hold. */
    g_autofree char *root = test_data_path("../..");
    g_autofree char *quickstart = g_build_filename(root, "scenarios", "quickstart.json", NULL);
    g_autofree char *res_path = g_build_filename(tmp, "quickstart-results.json", NULL);
    const char *argv[] = {"run", quickstart, "-o", res_path, NULL};
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(test_spotlab(argv, &out, NULL), 0);
    json_t *res = json_load_file(res_path, 0, NULL);
    const json_t *list = json_object_get(res, "expectations");
    CU_ASSERT(json_array_size(list) >= 3);
    CU_ASSERT_EQUAL(json_array_size(list), 5);
    g_autofree char *verdicts = __verdicts(res);
    CU_ASSERT_PTR_NULL(strstr(verdicts, "fail"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out ? out : "", "expectations: 5 of 5 passed"));
    json_decref(res);
}

int
main(void)
{
    g_autofree char *root = test_data_path("../..");
    trace = g_build_filename(root, "traces", "quickstart", "h100-three-zones.json", NULL);
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("expect", __suite_init, __suite_clean);
    CU_add_test(s, "every aggregate reads its own field", test_every_aggregate_reads_its_field);
    CU_add_test(s, "units, targets and plain-number metrics", test_units_targets_and_scalars);
    CU_add_test(s, "the confidence-interval gate", test_confidence_interval_gate);
    CU_add_test(s, "exit status, -q and --no-gate", test_exit_status_quiet_and_no_gate);
    CU_add_test(s, "continuous-model metrics", test_continuous_metrics);
    CU_add_test(s, "the quickstart's expectations hold", test_quickstart_passes);
    int status = test_run_all();
    g_free(trace);
    return status;
}
