/* CLI: what `spotlab` promises on the command line, run as a user runs it.
 *
 * - `spotlab run` on the quickstart scenario exits 0 and prints every policy; -o writes the
 *   results document (docs/results.md) with one run per window per policy and no savings for
 *   the on-demand baseline; results are the same bytes for any thread count and any run;
 *   -o into a folder that does not exist fails before the simulation and leaves nothing behind.
 * - help and version exit 0; usage errors exit 2.
 * - `trace info` lists the pools of a trace; `trace convert` writes a canonical file that reads
 *   back with the same statistics; `trace synth` is a pure function of its arguments. */
#include "test-util.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const policy_names[] = {"on-demand", "spot-only", "greedy", "uniform-progress",
                                           "offline-optimal"};

/* scenarios/quickstart.json and its trace: what every new user runs first. */
#define QUICKSTART_POOLS   3
#define QUICKSTART_WINDOWS 40 /* per pool: "windows": {"random": 40} */

static char *quickstart;       /* scenarios/quickstart.json */
static char *quickstart_trace; /* traces/quickstart/h100-three-zones.json */
static char *cloud_example;    /* scenarios/examples/h100-strategies.json, no external data */
static char *tmp;              /* a folder for this run's outputs */

static char *
__tmp_path(const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

/* ---- spotlab run ------------------------------------------------------------------------- */

static void
test_run_quickstart_prints_every_policy(void)
{
    const char *argv[] = {"run", quickstart, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 0), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    for (gsize i = 0; i < G_N_ELEMENTS(policy_names); i++) {
        /* A table row starts with the policy's name. */
        g_autofree char *row = g_strdup_printf("\n%s ", policy_names[i]);
        if (strstr(out, row) == NULL)
            fprintf(stderr, "\nno row for %s in:\n%s\n", policy_names[i], out);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, row));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "quickstart: tick model, 3 pools, 120 windows"));
    /* stderr is not a terminal here: no progress, nothing at all. */
    CU_ASSERT_STRING_EQUAL(err, "");
}

static void
test_run_shows_progress_on_a_terminal(void)
{
    /* Under script(1) stderr is a terminal: the run reports its progress there, ending with
     * every window done, and clears the line. */
    g_autofree char *script = g_find_program_in_path("script");
    if (script == NULL) {
        fprintf(stderr, "script(1) is missing: progress on a terminal not checked\n");
        return;
    }
    g_autofree char *cmd = g_strdup_printf("%s run %s -t 1", g_getenv("SPOTLAB_BIN"), quickstart);
    const char *argv[] = {script, "-qec", cmd, "/dev/null", NULL};
    g_autofree char *out = NULL;
    int status = 0;
    CU_ASSERT_FATAL(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                 &out, NULL, &status, NULL));
    CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "120/120 windows done"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\033[K"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "expectations: 5 of 5 passed"));
}

/* Checks that @runs holds one entry per window of the scenario: QUICKSTART_WINDOWS for each pool,
 * in the same (pool, start) order as @reference when that is given. */
static void
__check_runs(json_t *runs, json_t *reference, const char *policy)
{
    CU_ASSERT_FATAL(json_is_array(runs));
    CU_ASSERT_EQUAL(json_array_size(runs), QUICKSTART_POOLS * QUICKSTART_WINDOWS);
    g_autoptr(GHashTable) per_pool = g_hash_table_new(g_str_hash, g_str_equal);
    for (gsize i = 0; i < json_array_size(runs); i++) {
        json_t *r = json_array_get(runs, i);
        const char *pool = json_string_value(json_object_get(r, "pool"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
        CU_ASSERT(json_is_number(json_object_get(r, "start_hours")));
        CU_ASSERT(json_is_number(json_object_get(r, "cost")));
        CU_ASSERT(json_is_boolean(json_object_get(r, "deadline_met")));
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(per_pool, pool));
        g_hash_table_insert(per_pool, (gpointer)pool, GUINT_TO_POINTER(n + 1));
        if (strcmp(policy, "on-demand") == 0)
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(r, "savings_pct")), 0, 1e-9);
        if (reference != NULL) {
            json_t *ref = json_array_get(reference, i);
            CU_ASSERT_STRING_EQUAL(pool, json_string_value(json_object_get(ref, "pool")));
            CU_ASSERT(
                json_equal(json_object_get(r, "start_index"), json_object_get(ref, "start_index")));
        }
    }
    CU_ASSERT_EQUAL(g_hash_table_size(per_pool), QUICKSTART_POOLS);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, per_pool);
    while (g_hash_table_iter_next(&it, &key, &value))
        CU_ASSERT_EQUAL(GPOINTER_TO_UINT(value), QUICKSTART_WINDOWS);
}

static void
test_run_writes_results(void)
{
    g_autofree char *results = __tmp_path("results.json");
    const char *argv[] = {"run", quickstart, "-q", "-o", results, NULL};
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv, &out, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(out, ""); /* -q */
    json_error_t jerr;
    json_t *doc = json_load_file(results, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        fprintf(stderr, "\n%s:%d:%d: %s\n", results, jerr.line, jerr.column, jerr.text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_FATAL(json_is_object(doc));

    static const char *const keys[] = {"spotlab", "mode",  "model",    "scenario",
                                       "job",     "pools", "baseline", "policies"};
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (json_object_get(doc, keys[i]) == NULL)
            fprintf(stderr, "\nresults lack \"%s\"\n", keys[i]);
        CU_ASSERT_PTR_NOT_NULL(json_object_get(doc, keys[i]));
    }
    CU_ASSERT(json_is_integer(json_object_get(json_object_get(doc, "spotlab"), "schema")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "baseline")), "on-demand");
    json_t *scenario = json_object_get(doc, "scenario");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(scenario, "name")), "quickstart");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(scenario, "seed")), 42);
    json_t *job = json_object_get(doc, "job");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(job, "work_hours")), 24, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(job, "deadline_hours")), 36, 1e-12);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "pools")), QUICKSTART_POOLS);

    json_t *policies = json_object_get(doc, "policies");
    CU_ASSERT_FATAL(json_is_array(policies));
    CU_ASSERT_EQUAL_FATAL(json_array_size(policies), G_N_ELEMENTS(policy_names));
    json_t *reference = NULL;
    for (gsize i = 0; i < json_array_size(policies); i++) {
        json_t *p = json_array_get(policies, i);
        const char *name = json_string_value(json_object_get(p, "name"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT_STRING_EQUAL(name, policy_names[i]); /* the scenario's order */
        json_t *summary = json_object_get(p, "summary");
        CU_ASSERT_FATAL(json_is_object(summary));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(summary, "runs")),
                        QUICKSTART_POOLS * QUICKSTART_WINDOWS);
        CU_ASSERT(json_is_object(json_object_get(summary, "cost")));
        CU_ASSERT(json_is_number(json_object_get(json_object_get(summary, "cost"), "mean")));
        CU_ASSERT(json_is_object(json_object_get(summary, "savings_pct")));
        CU_ASSERT(json_is_number(json_object_get(summary, "total_savings_pct")));
        CU_ASSERT(json_is_number(json_object_get(summary, "deadline_met_pct")));
        if (strcmp(name, "on-demand") == 0) {
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(summary, "total_savings_pct")),
                                   0, 1e-9);
            json_t *savings = json_object_get(summary, "savings_pct");
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(savings, "mean")), 0, 1e-9);
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(savings, "max")), 0, 1e-9);
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(savings, "min")), 0, 1e-9);
        }
        json_t *runs = json_object_get(p, "runs");
        __check_runs(runs, reference, name);
        if (reference == NULL)
            reference = runs;
    }
    json_decref(doc);
}

static void
__check_deterministic(const char *scenario)
{
    g_autofree char *one = __tmp_path("threads-1.json");
    g_autofree char *two = __tmp_path("threads-2.json");
    g_autofree char *again = __tmp_path("threads-2-again.json");
    const char *argv1[] = {"run", scenario, "-q", "--threads", "1", "-o", one, NULL};
    const char *argv2[] = {"run", scenario, "-q", "--threads", "2", "-o", two, NULL};
    const char *argv3[] = {"run", scenario, "-q", "--threads", "2", "-o", again, NULL};
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv1, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv2, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv3, NULL, NULL, 0), 0);
    g_autofree char *a = test_read_file(one), *b = test_read_file(two), *c = test_read_file(again);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(strlen(a) > 1000);
    CU_ASSERT_STRING_EQUAL(a, b); /* --threads 1 and --threads 2 */
    CU_ASSERT_STRING_EQUAL(b, c); /* two runs */
}

static void
test_run_is_deterministic(void)
{
    __check_deterministic(quickstart);
}

static void
test_cloud_run_is_deterministic(void)
{
    /* The continuous-time model: replicas draw from their own streams, whatever thread runs
     * them. */
    __check_deterministic(cloud_example);
}

static void
test_run_output_into_missing_folder(void)
{
    g_autofree char *parent = __tmp_path("missing-parent");
    CU_ASSERT_FATAL(g_mkdir(parent, 0755) == 0);
    g_autofree char *results = g_build_filename(parent, "missing-folder", "results.json", NULL);
    const char *argv[] = {"run", quickstart, "-o", results, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 2), 2);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing-folder"));
    /* Nothing was created: no folder, no results, no temporary file beside them. */
    CU_ASSERT(test_dir_is_empty(parent));
    test_tmpdir_remove(parent);
}

static void
test_run_output_over_scenario_is_refused(void)
{
    g_autofree char *copy = __tmp_path("scenario-copy.json");
    g_autofree char *text = test_read_file(quickstart);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_FATAL(g_file_set_contents(copy, text, -1, NULL));
    const char *argv[] = {"run", copy, "-o", copy, NULL};
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "is the scenario file"));
    g_autofree char *after = test_read_file(copy);
    CU_ASSERT_STRING_EQUAL(after, text);
    g_unlink(copy);
}

/* ---- help, version and usage -------------------------------------------------------------- */

static void
test_help_and_version(void)
{
    const char *const *cases[] = {
        (const char *const[]){"--version", NULL},
        (const char *const[]){"--help", NULL},
        (const char *const[]){"run", "--help", NULL},
        (const char *const[]){"trace", "info", "--help", NULL},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL;
        CU_ASSERT_EQUAL(test_spotlab_expect(cases[i], &out, NULL, 0), 0);
        CU_ASSERT(out != NULL && *out != '\0');
    }
    g_autofree char *out = NULL;
    const char *version[] = {"--version", NULL};
    test_spotlab_expect(version, &out, NULL, 0);
    CU_ASSERT(g_str_has_prefix(out, "spotlab "));
    g_autofree char *help = NULL;
    const char *run_help[] = {"run", "--help", NULL};
    test_spotlab_expect(run_help, &help, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "--output"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "--threads"));
}

static void
test_usage_errors(void)
{
    g_autofree char *out = NULL, *err = NULL;
    const char *unknown[] = {"frobnicate", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(unknown, &out, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown command 'frobnicate'"));
    CU_ASSERT_STRING_EQUAL(out, "");
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    const char *no_file[] = {"run", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(no_file, &out, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected one SCENARIO file"));
    CU_ASSERT_STRING_EQUAL(out, "");
    g_clear_pointer(&err, g_free);

    const char *nothing[] = {NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(nothing, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Usage"));
    g_clear_pointer(&err, g_free);

    const char *bad_threads[] = {"run", quickstart, "--threads", "-1", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(bad_threads, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--threads"));
    g_clear_pointer(&err, g_free);

    const char *missing[] = {"run", "no-such-scenario.json", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(missing, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no-such-scenario.json"));
}

/* ---- spotlab trace ------------------------------------------------------------------------ */

static void
test_trace_info_lists_pools(void)
{
    const char *argv[] = {"trace", "info", quickstart_trace, NULL};
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv, &out, NULL, 0), 0);
    static const char *const pools[] = {"calm", "typical", "volatile"};
    for (gsize i = 0; i < G_N_ELEMENTS(pools); i++) {
        g_autofree char *row = g_strdup_printf("\n%s ", pools[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, row));
    }
}

/* `trace info --json @path`, parsed, with the "file" of each row removed. */
static json_t *
__info_json(const char *path)
{
    const char *argv[] = {"trace", "info", "--json", path, NULL};
    g_autofree char *out = NULL;
    if (test_spotlab_expect(argv, &out, NULL, 0) != 0)
        return NULL;
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    for (gsize i = 0; doc != NULL && i < json_array_size(doc); i++)
        json_object_del(json_array_get(doc, i), "file");
    return doc;
}

static void
test_trace_convert_keeps_statistics(void)
{
    g_autofree char *csv = test_data_path("cli/two-zones.csv");
    g_autofree char *canonical = __tmp_path("two-zones.json");
    const char *argv[] = {"trace", "convert", csv, "-o", canonical, NULL};
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv, NULL, NULL, 0), 0);
    g_autofree char *text = test_read_file(canonical);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"format\": \"spotlab-trace\""));

    json_t *from_csv = __info_json(csv);
    json_t *from_canonical = __info_json(canonical);
    CU_ASSERT_PTR_NOT_NULL_FATAL(from_csv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(from_canonical);
    CU_ASSERT_EQUAL(json_array_size(from_csv), 2);
    if (!json_equal(from_csv, from_canonical)) {
        g_autofree char *a = json_dumps(from_csv, JSON_INDENT(2));
        g_autofree char *b = json_dumps(from_canonical, JSON_INDENT(2));
        fprintf(stderr, "\ncsv:\n%s\ncanonical:\n%s\n", a, b);
    }
    CU_ASSERT(json_equal(from_csv, from_canonical));
    /* The statistics are the fixture's, not merely equal to each other. */
    json_t *a = json_array_get(from_csv, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "pool")), "us-east-1a");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(a, "span_hours")), 4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(a, "gap_seconds")), 600, 1e-12);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "interruptions")), 2);
    json_decref(from_csv);
    json_decref(from_canonical);

    /* Converting the canonical file again changes nothing. */
    g_autofree char *twice = __tmp_path("two-zones-again.json");
    const char *again[] = {"trace", "convert", canonical, "-o", twice, NULL};
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(again, NULL, NULL, 0), 0);
    g_autofree char *text2 = test_read_file(twice);
    CU_ASSERT_STRING_EQUAL(text, text2);
}

static void
test_trace_synth_is_reproducible(void)
{
    g_autofree char *one = __tmp_path("synth-1.json");
    g_autofree char *two = __tmp_path("synth-2.json");
    const char *argv1[] = {"trace", "synth",  "-o",       one,      "--pools", "2", "--hours",
                           "48",    "--rate", "0.05,0.2", "--seed", "9",       NULL};
    const char *argv2[] = {"trace", "synth",  "-o",       two,      "--pools", "2", "--hours",
                           "48",    "--rate", "0.05,0.2", "--seed", "9",       NULL};
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv1, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(argv2, NULL, NULL, 0), 0);
    g_autofree char *a = test_read_file(one), *b = test_read_file(two);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(a, b);
    /* And what it writes reads back. */
    json_t *info = __info_json(one);
    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    CU_ASSERT_EQUAL(json_array_size(info), 2);
    json_decref(info);
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
    /* The scenarios and traces folders sit beside tests/ in the source tree. */
    g_autofree char *root = test_data_path("../..");
    quickstart = g_build_filename(root, "scenarios", "quickstart.json", NULL);
    quickstart_trace =
        g_build_filename(root, "traces", "quickstart", "h100-three-zones.json", NULL);
    cloud_example = g_build_filename(root, "scenarios", "examples", "h100-strategies.json", NULL);
    if (!g_file_test(quickstart, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "%s is missing\n", quickstart);
        return 1;
    }

    CU_initialize_registry();
    CU_pSuite run = CU_add_suite("run", __suite_init, __suite_clean);
    CU_add_test(run, "quickstart prints every policy", test_run_quickstart_prints_every_policy);
    CU_add_test(run, "progress on a terminal", test_run_shows_progress_on_a_terminal);
    CU_add_test(run, "-o writes the results document", test_run_writes_results);
    CU_add_test(run, "results are the same bytes for any thread count and any run",
                test_run_is_deterministic);
    CU_add_test(run, "continuous-model results too", test_cloud_run_is_deterministic);
    CU_add_test(run, "-o into a missing folder fails and leaves nothing",
                test_run_output_into_missing_folder);
    CU_add_test(run, "-o onto the scenario itself is refused",
                test_run_output_over_scenario_is_refused);
    CU_pSuite usage = CU_add_suite("usage", NULL, NULL);
    CU_add_test(usage, "help and version exit 0", test_help_and_version);
    CU_add_test(usage, "usage errors exit 2", test_usage_errors);
    CU_pSuite trace = CU_add_suite("trace", __suite_init, __suite_clean);
    CU_add_test(trace, "trace info lists the pools", test_trace_info_lists_pools);
    CU_add_test(trace, "trace convert keeps the statistics", test_trace_convert_keeps_statistics);
    CU_add_test(trace, "trace synth writes the same bytes twice", test_trace_synth_is_reproducible);
    int status = test_run_all();
    g_free(quickstart);
    g_free(quickstart_trace);
    g_free(cloud_example);
    return status;
}
