/* CLI: `spotlab validate SCENARIO...` checks scenario files as `spotlab run` reads them.
 *
 * - every shipped scenario (scenarios/, and the valid fixtures of tests/data/cli) validates:
 *   exit 0, one "PATH: ok (...)" line each, in order, saying what the file holds;
 * - a bad scenario exits 2 with exactly the message `spotlab run` prints for it;
 * - good and bad files mixed: every file is reported, the good ones after a bad one too, and
 *   the exit status is 2;
 * - -q prints only the errors; no file at all is a usage error (exit 2). */
#include "test-util.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static char *scenarios_dir; /* scenarios/ of the source tree */

static gint
__compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds the .json files of @dir, sorted, to @paths; those that read the real traces only when
 * ../shared is there. */
static void
__add_scenarios(GPtrArray *paths, const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, ".json"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;
        CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
        /* Only scenarios: the fixtures folder holds other files too. */
        if (strstr(text, "\"model\"") == NULL && strstr(text, "\"policies\"") == NULL)
            continue;
        if (test_shared_dir() == NULL && strstr(text, "shared/") != NULL)
            continue;
        g_ptr_array_add(found, g_steal_pointer(&path));
    }
    g_ptr_array_sort(found, __compare_paths);
    for (guint i = 0; i < found->len; i++)
        g_ptr_array_add(paths, g_strdup(found->pdata[i]));
}

/* The number of expectations @path lists. */
static gsize
__n_expectations(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    gsize n = json_array_size(json_object_get(root, "expect"));
    json_decref(root);
    return n;
}

static void
test_every_shipped_scenario_validates(void)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *quickstart = g_build_filename(scenarios_dir, "quickstart.json", NULL);
    g_ptr_array_add(paths, g_strdup(quickstart));
    g_autofree char *examples = g_build_filename(scenarios_dir, "examples", NULL);
    g_autofree char *cases = g_build_filename(scenarios_dir, "case-studies", NULL);
    g_autofree char *fixtures = test_data_path("cli");
    __add_scenarios(paths, examples);
    __add_scenarios(paths, cases);
    __add_scenarios(paths, fixtures);
    /* The quickstart, at least 1 example without external data, 7 case studies, 2 fixtures. */
    CU_ASSERT(paths->len >= 11);

    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, "validate");
    for (guint i = 0; i < paths->len; i++)
        g_ptr_array_add(argv, paths->pdata[i]);
    g_ptr_array_add(argv, NULL);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect((const char *const *)argv->pdata, &out, &err, 0), 0);
    CU_ASSERT_STRING_EQUAL(err, "");

    /* One line per file, in the order given. */
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(lines), paths->len + 1);
    CU_ASSERT_STRING_EQUAL(lines[paths->len], "");
    for (guint i = 0; i < paths->len; i++) {
        g_autofree char *prefix = g_strdup_printf("%s: ok (", (char *)paths->pdata[i]);
        if (!g_str_has_prefix(lines[i], prefix))
            fprintf(stderr, "\nline %u: %s\nexpected it to start with: %s\n", i, lines[i], prefix);
        CU_ASSERT(g_str_has_prefix(lines[i], prefix));
        CU_ASSERT(g_str_has_suffix(lines[i], "expectations)") ||
                  g_str_has_suffix(lines[i], "expectation)"));
    }
    /* What the quickstart holds: 3 pools of 40 random windows, 5 policies. */
    gsize n = __n_expectations(quickstart);
    g_autofree char *expected =
        g_strdup_printf("%s: ok (tick model, 3 pools, 120 windows, 5 policies, %zu expectation%s)",
                        quickstart, n, n == 1 ? "" : "s");
    CU_ASSERT_STRING_EQUAL(lines[0], expected);
}

static void
test_continuous_summary_counts_sweep_variants(void)
{
    g_autofree char *interval = test_data_path("cli/sweep-interval.json");
    g_autofree char *grid = test_data_path("cli/sweep-grid.json");
    const char *argv[] = {"validate", interval, grid, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 0), 0);
    g_autofree char *expected = g_strdup_printf(
        "%s: ok (continuous model, 200 replicas, 1 pool, 5 strategies, 4 of them sweep variants, "
        "0 expectations)\n"
        "%s: ok (continuous model, 20 replicas, 1 pool, 8 strategies, 6 of them sweep variants, "
        "1 expectation)\n",
        interval, grid);
    CU_ASSERT_STRING_EQUAL(out, expected);
    CU_ASSERT_STRING_EQUAL(err, "");
}

/* Bad scenarios of several kinds: a wrong value, a sweep value, a missing trace, bad JSON, an
 * unknown key, a file that is not there. */
static const char *const bad_cases[] = {
    "duration-words.json",       "sweep-bad-value.json",           "trace-missing-file.json",
    "syntax-missing-comma.json", "cloud-strategy-name-twice.json", "unknown-top-key.json",
    "no-such-scenario.json",
};

static void
test_bad_scenarios_fail_as_run_does(void)
{
    g_autofree char *dir = test_data_path("bad-scenarios");
    for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path = g_build_filename(dir, bad_cases[i], NULL);
        const char *validate[] = {"validate", path, NULL};
        const char *run[] = {"run", path, NULL};
        g_autofree char *vout = NULL, *verr = NULL, *rout = NULL, *rerr = NULL;
        CU_ASSERT_EQUAL(test_spotlab_expect(validate, &vout, &verr, 2), 2);
        CU_ASSERT_EQUAL(test_spotlab_expect(run, &rout, &rerr, 2), 2);
        CU_ASSERT_STRING_EQUAL(vout, "");
        /* The message names the file, and is the one `spotlab run` prints. */
        g_autofree char *prefix = g_strdup_printf("spotlab: %s:", path);
        CU_ASSERT(g_str_has_prefix(verr, prefix));
        if (strcmp(verr, rerr) != 0)
            fprintf(stderr, "\n%s\n  validate: %s  run: %s", bad_cases[i], verr, rerr);
        CU_ASSERT_STRING_EQUAL(verr, rerr);
    }
}

static void
test_sweep_error_points_at_the_value(void)
{
    g_autofree char *path = test_data_path("bad-scenarios/sweep-bad-value.json");
    const char *argv[] = {"validate", path, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 2), 2);
    g_autofree char *expected =
        g_strdup_printf("spotlab: %s:13:47: strategies[2].sweep[\"checkpoint.interval\"][1]: "
                        "expected a duration like \"43.2h\", \"12m\", \"1h30m\" or a number of "
                        "seconds, got \"banana\"\n",
                        path);
    CU_ASSERT_STRING_EQUAL(err, expected);
}

static void
test_good_and_bad_mixed(void)
{
    g_autofree char *good1 = g_build_filename(scenarios_dir, "quickstart.json", NULL);
    g_autofree char *good2 = test_data_path("cli/sweep-grid.json");
    g_autofree char *bad1 = test_data_path("bad-scenarios/duration-words.json");
    g_autofree char *bad2 = test_data_path("bad-scenarios/sweep-duplicate-value.json");
    const char *argv[] = {"validate", bad1, good1, bad2, good2, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 2), 2);
    /* Both good files, the one after the last bad file included, in order. */
    g_auto(GStrv) ok = g_strsplit(out, "\n", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(ok), 3);
    g_autofree char *ok1 = g_strdup_printf("%s: ok (tick model, ", good1);
    g_autofree char *ok2 = g_strdup_printf("%s: ok (continuous model, ", good2);
    CU_ASSERT(g_str_has_prefix(ok[0], ok1));
    CU_ASSERT(g_str_has_prefix(ok[1], ok2));
    /* Both bad files, in order, each on its line. */
    g_auto(GStrv) bad = g_strsplit(err, "\n", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(bad), 3);
    g_autofree char *e1 = g_strdup_printf("spotlab: %s:", bad1);
    g_autofree char *e2 = g_strdup_printf("spotlab: %s:11:53: strategies[0].sweep["
                                          "\"checkpoint.interval\"][2]: expected each value once",
                                          bad2);
    CU_ASSERT(g_str_has_prefix(bad[0], e1));
    CU_ASSERT(g_str_has_prefix(bad[1], e2));
}

static void
test_quiet_prints_only_errors(void)
{
    g_autofree char *good = g_build_filename(scenarios_dir, "quickstart.json", NULL);
    g_autofree char *bad = test_data_path("bad-scenarios/sweep-tick-model.json");
    const char *ok_only[] = {"validate", "-q", good, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(ok_only, &out, &err, 0), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_STRING_EQUAL(err, "");

    const char *mixed[] = {"validate", "--quiet", good, bad, NULL};
    g_autofree char *out2 = NULL, *err2 = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(mixed, &out2, &err2, 2), 2);
    CU_ASSERT_STRING_EQUAL(out2, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(err2, "sweep: expected no sweep in a tick-model scenario"));
}

static void
test_usage(void)
{
    const char *none[] = {"validate", NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(none, &out, &err, 2), 2);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Usage: spotlab validate"));

    const char *bad_option[] = {"validate", "--frobnicate", "x.json", NULL};
    g_autofree char *out2 = NULL, *err2 = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(bad_option, &out2, &err2, 2), 2);
    CU_ASSERT_STRING_EQUAL(out2, "");

    const char *help[] = {"validate", "--help", NULL};
    g_autofree char *out3 = NULL, *err3 = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(help, &out3, &err3, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out3, "SCENARIO..."));

    /* The command is listed in spotlab's own help. */
    const char *top[] = {"--help", NULL};
    g_autofree char *out4 = NULL, *err4 = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(top, &out4, &err4, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out4, "  validate "));
}

int
main(void)
{
    g_autofree char *data = test_data_path("");
    scenarios_dir = g_build_filename(data, "..", "..", "scenarios", NULL);
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("validate", NULL, NULL);
    CU_add_test(s, "every shipped scenario validates", test_every_shipped_scenario_validates);
    CU_add_test(s, "continuous summaries count sweep variants",
                test_continuous_summary_counts_sweep_variants);
    CU_add_test(s, "bad scenarios exit 2 with the message run prints",
                test_bad_scenarios_fail_as_run_does);
    CU_add_test(s, "a bad sweep value is reported at itself", test_sweep_error_points_at_the_value);
    CU_add_test(s, "good and bad files mixed: all reported, exit 2", test_good_and_bad_mixed);
    CU_add_test(s, "-q prints only errors", test_quiet_prints_only_errors);
    CU_add_test(s, "usage", test_usage);
    int status = test_run_all();
    g_free(scenarios_dir);
    return status;
}
