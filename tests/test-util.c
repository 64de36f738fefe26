/* spotlab tests: shared helpers (see test-util.h). */
#include "test-util.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
test_data_path(const char *relative)
{
    const char *dir = g_getenv("SPOTLAB_TEST_DATA");
    g_assert(dir != NULL);
    return g_build_filename(dir, relative, NULL);
}

const char *
test_shared_dir(void)
{
    const char *dir = g_getenv("SPOTLAB_SHARED");
    if (dir == NULL || !g_file_test(dir, G_FILE_TEST_IS_DIR))
        return NULL;
    return dir;
}

char *
test_shared_path(const char *relative)
{
    const char *dir = test_shared_dir();
    g_assert(dir != NULL);
    return g_build_filename(dir, relative, NULL);
}

char *
test_tmpdir_new(void)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("spotlab-test-XXXXXX", &error);
    g_assert_no_error(error);
    return dir;
}

void
test_tmpdir_remove(const char *dir)
{
    if (dir == NULL)
        return;
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            test_tmpdir_remove(path);
        else
            g_unlink(path);
    }
    g_rmdir(dir);
}

int
test_spotlab(const char *const *argv, char **out, char **err)
{
    const char *bin = g_getenv("SPOTLAB_BIN");
    g_assert(bin != NULL);
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    const char *wrapper = g_getenv("SPOTLAB_TEST_WRAPPER");
    if (wrapper != NULL && *wrapper != '\0') {
        g_auto(GStrv) words = NULL;
        g_assert(g_shell_parse_argv(wrapper, NULL, &words, NULL));
        for (int i = 0; words[i] != NULL; i++)
            g_ptr_array_add(args, g_strdup(words[i]));
    }
    g_ptr_array_add(args, g_strdup(bin));
    for (int i = 0; argv[i] != NULL; i++)
        g_ptr_array_add(args, g_strdup(argv[i]));
    g_ptr_array_add(args, NULL);
    int status = 0;
    g_autoptr(GError) error = NULL;
    /* The wrapper (valgrind) is found on PATH; spotlab itself is named by its full path. */
    if (!g_spawn_sync(NULL, (char **)args->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, err,
                      &status, &error)) {
        fprintf(stderr, "cannot run %s: %s\n", bin, error->message);
        return -1;
    }
    if (!WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int
test_spotlab_expect(const char *const *argv, char **out, char **err, int expected)
{
    g_autofree char *o = NULL, *e = NULL;
    int status = test_spotlab(argv, &o, &e);
    if (status != expected) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
        fprintf(stderr, "\nspotlab %s: exit %d, expected %d\nstdout: %s\nstderr: %s\n", cmd, status,
                expected, o ? o : "", e ? e : "");
    }
    if (out)
        *out = o ? g_steal_pointer(&o) : g_strdup("");
    if (err)
        *err = e ? g_steal_pointer(&e) : g_strdup("");
    return status;
}

gboolean
test_dir_is_empty(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    return d != NULL && g_dir_read_name(d) == NULL;
}

char *
test_read_file(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return text;
}

char *
test_expected_fragment(const char *dir, const char *name)
{
    const char *dot = strrchr(name, '.');
    g_autofree char *stem = dot ? g_strndup(name, (gsize)(dot - name)) : g_strdup(name);
    g_autofree char *path = g_strdup_printf("%s/%s.expect", dir, stem);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_strchomp(text);
    if (*text == '\0' || strchr(text, '\n') != NULL)
        return NULL;
    return g_steal_pointer(&text);
}

int
test_run_all(void)
{
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned run = CU_get_number_of_tests_run();
    CU_ErrorCode code = CU_get_error();
    CU_cleanup_registry();
    if (code != CUE_SUCCESS)
        return 2;
    /* A suite that ran no test is a defect, not a pass. */
    if (run == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return failures > 0 ? 1 : 0;
}
