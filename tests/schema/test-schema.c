/* scenarios/schema.json, the JSON Schema editors use for scenario files, says what the scenario
 * loader says: tests/schema/check-schema.py checks it with python3-jsonschema, one section per
 * test here (see that file): the schema is valid draft 2020-12 with every property described;
 * every shipped scenario follows it; the structurally wrong bad scenarios break it at the field
 * spotlab names; and on a corpus of unit values and of shapes of strategies (sweeps),
 * expectations, jobs, pools and clouds it accepts exactly what `spotlab validate` accepts.
 *
 * The checker runs as a child process, so that the valgrind and sanitizer setups check this
 * program and the spotlab it starts, not the Python interpreter. Without python3 or its
 * jsonschema module the test is skipped (exit 77). SPOTLAB_PYTHON names another interpreter. */
#include "test-util.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static char *python;  /* the interpreter */
static char *checker; /* tests/schema/check-schema.py */

/* Runs the checker's @section; returns its exit status, or -1 when it could not run. */
static int
__check(const char *section, char **output)
{
    const char *argv[] = {python, checker, section, NULL};
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL, *err = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                      &error)) {
        fprintf(stderr, "cannot run %s: %s\n", python, error->message);
        return -1;
    }
    if (output != NULL)
        *output = g_strconcat(out ? out : "", err ? err : "", NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
__section(const char *section)
{
    g_autofree char *output = NULL;
    int status = __check(section, &output);
    if (status != 0)
        fprintf(stderr, "\ncheck-schema.py %s: exit %d\n%s", section, status, output ? output : "");
    else
        printf("\n  %s", output);
    CU_ASSERT_EQUAL(status, 0);
}

static void
test_meta(void)
{
    __section("meta");
}

static void
test_shipped(void)
{
    __section("shipped");
}

static void
test_bad(void)
{
    __section("bad");
}

static void
test_agreement(void)
{
    __section("agreement");
}

int
main(void)
{
    const char *env = g_getenv("SPOTLAB_PYTHON");
    python = env != NULL && *env != '\0' ? g_strdup(env) : g_find_program_in_path("python3");
    if (python == NULL) {
        printf(
            "SKIP: python3 is not installed; the schema checks need it and python3-jsonschema\n");
        return TEST_SKIP;
    }
    g_autofree char *data = test_data_path("");
    checker = g_build_filename(data, "..", "schema", "check-schema.py", NULL);
    /* The checker exits 77, saying so, when the jsonschema module is missing. */
    g_autofree char *probe = NULL;
    int status = __check("meta", &probe);
    if (status == TEST_SKIP) {
        fputs(probe, stdout);
        g_free(python);
        g_free(checker);
        return TEST_SKIP;
    }
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("schema", NULL, NULL);
    CU_add_test(s, "a valid draft 2020-12 schema, every property described", test_meta);
    CU_add_test(s, "every shipped scenario follows it", test_shipped);
    CU_add_test(s, "structurally wrong scenarios break it where spotlab says", test_bad);
    CU_add_test(s, "it accepts exactly the values and shapes spotlab accepts", test_agreement);
    int result = test_run_all();
    g_free(python);
    g_free(checker);
    return result;
}
