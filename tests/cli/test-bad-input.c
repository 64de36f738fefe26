/* CLI: every malformed scenario in tests/data/bad-scenarios is refused the way users need it.
 *
 * Each file there (other than *.expect, and not the traces/ folder its cases read) is one way a
 * user can get a scenario wrong; NAME.expect beside it holds a fragment of the message spotlab
 * must print. The cases are found by listing the folder, so adding a file adds a case. For each,
 * `spotlab run NAME -o RESULTS` must exit 2, print nothing on stdout, print the fragment on
 * stderr, and leave the results folder empty (no results file, no temporary file).
 *
 * spotlab runs inside the folder with the bare file name, so that messages read exactly as a
 * user who typed `spotlab run NAME` sees them, and the fragments can hold whole locations
 * ("NAME:7:17: job.deadline: ..."), which this test also requires of every fragment. */
#include "test-util.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#define MIN_CASES 30

static char *cases_dir;
static GPtrArray *cases; /* char* file names, sorted */

/* A CUnit assertion whose message names the case, so a failure says which file failed. */
#define CASE_ASSERT(cond, name, what)                                                              \
    do {                                                                                           \
        g_autofree char *msg_ = g_strdup_printf("%s: %s", (name), (what));                         \
        CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, __LINE__, msg_, __FILE__, "",         \
                                CU_FALSE);                                                         \
    } while (0)

static void
test_enough_cases(void)
{
    if (cases->len < MIN_CASES)
        fprintf(stderr, "only %u bad scenarios in %s; expected at least %d\n", cases->len,
                cases_dir, MIN_CASES);
    CU_ASSERT(cases->len >= MIN_CASES);
}

static void
test_every_expectation_names_its_place(void)
{
    /* "NAME:LINE:COLUMN: " opens every fragment: the rule for bad-input messages, held here so
     * that a fragment cannot quietly drop the location. */
    for (guint i = 0; i < cases->len; i++) {
        const char *name = cases->pdata[i];
        g_autofree char *expect = test_expected_fragment(cases_dir, name);
        CASE_ASSERT(expect != NULL, name, "has a one-line .expect beside it");
        if (expect == NULL)
            continue;
        g_autofree char *escaped = g_regex_escape_string(name, -1);
        g_autofree char *re = g_strdup_printf("^%s:[1-9][0-9]*:[1-9][0-9]*: ", escaped);
        CASE_ASSERT(g_regex_match_simple(re, expect, 0, 0), name,
                    "its .expect starts with NAME:LINE:COLUMN:");
    }
}

static void
test_every_case_is_refused(void)
{
    for (guint i = 0; i < cases->len; i++) {
        const char *name = cases->pdata[i];
        g_autofree char *expect = test_expected_fragment(cases_dir, name);
        if (expect == NULL)
            continue; /* reported by test_every_expectation_names_its_place */
        g_autofree char *tmp = test_tmpdir_new();
        g_autofree char *results = g_build_filename(tmp, "results.json", NULL);
        const char *argv[] = {"run", name, "-o", results, NULL};
        g_autofree char *out = NULL, *err = NULL;
        int status = test_spotlab(argv, &out, &err);

        gboolean ok_status = status == 2, ok_out = out != NULL && *out == '\0',
                 ok_err = err != NULL && strstr(err, expect) != NULL,
                 ok_dir = test_dir_is_empty(tmp);
        if (!ok_status || !ok_out || !ok_err || !ok_dir)
            fprintf(stderr,
                    "\n%s: exit %d\n  expected on stderr: %s\n  stderr: %s  stdout: %s\n"
                    "  results folder empty: %s\n",
                    name, status, expect, err ? err : "(none)", out ? out : "(none)",
                    ok_dir ? "yes" : "no");
        CASE_ASSERT(ok_status, name, "exit status 2");
        CASE_ASSERT(ok_out, name, "nothing on stdout");
        CASE_ASSERT(ok_err, name, "stderr holds the .expect fragment");
        CASE_ASSERT(ok_dir, name, "no results file and no temporary file written");
        test_tmpdir_remove(tmp);
    }
}

static gint
__compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
main(void)
{
    cases_dir = test_data_path("bad-scenarios");
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = g_dir_open(cases_dir, 0, &error);
    if (dir == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return 1;
    }
    cases = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = g_build_filename(cases_dir, name, NULL);
        if (g_str_has_suffix(name, ".expect") || !g_file_test(path, G_FILE_TEST_IS_REGULAR))
            continue;
        g_ptr_array_add(cases, g_strdup(name));
    }
    g_ptr_array_sort(cases, __compare_names);
    /* The cases name their traces relative to themselves, and messages should show the bare
     * file name: run spotlab from inside the folder. */
    if (g_chdir(cases_dir) != 0) {
        perror(cases_dir);
        return 1;
    }

    CU_initialize_registry();
    CU_pSuite suite = CU_add_suite("bad-input", NULL, NULL);
    CU_add_test(suite, "at least 30 bad scenarios", test_enough_cases);
    CU_add_test(suite, "every .expect names file, line and column",
                test_every_expectation_names_its_place);
    CU_add_test(suite, "every bad scenario exits 2 with its message and writes nothing",
                test_every_case_is_refused);
    int status = test_run_all();
    g_ptr_array_unref(cases);
    g_free(cases_dir);
    return status;
}
