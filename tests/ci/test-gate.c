/* The CI recipe (docs/ci.md): tests/ci/test-gate.sh runs examples/ci/spotlab-gate.sh as a pull
 * request runs it (see that file for the cases). The script runs as a child process, so that
 * the valgrind and sanitizer setups check this program and, through SPOTLAB_TEST_WRAPPER, every
 * spotlab the script starts, not the shell. */
#include "test-util.h"

#include <stdio.h>
#include <sys/wait.h>

static void
test_recipe(void)
{
    g_autofree char *script = test_data_path("../ci/test-gate.sh");
    const char *argv[] = {"/bin/sh", script, NULL};
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL, *err = NULL;
    int status = 0;
    gboolean ran = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                                &status, &error);
    if (!ran)
        fprintf(stderr, "cannot run %s: %s\n", script, error->message);
    CU_ASSERT_TRUE_FATAL(ran);
    gboolean ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok)
        fprintf(stderr, "\n%s failed:\n%s%s\n", script, out ? out : "", err ? err : "");
    else
        printf("\n  %s", out ? out : "");
    CU_ASSERT_TRUE(ok);
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("ci-recipe", NULL, NULL);
    CU_add_test(s, "the gate script on unchanged, regressed, new and bad scenarios", test_recipe);
    return test_run_all();
}
