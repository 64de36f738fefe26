/* spotlab tests: shared helpers for the CUnit suites.
 *
 * Fixtures are found through environment variables that tests/meson.build sets:
 *   SPOTLAB_TEST_DATA   tests/data of the source tree
 *   SPOTLAB_SHARED      the shared folder beside the checkout (real traces, published results);
 *                       tests that need it skip (exit 77) where it is absent
 *   SPOTLAB_BIN         the spotlab executable under test
 *   SPOTLAB_TEST_WRAPPER  optional command (valgrind ...) that CLI tests run spotlab under
 */
#pragma once

#include <CUnit/Basic.h>
#include <glib.h>
#include <math.h>

G_BEGIN_DECLS

#define TEST_SKIP 77

/* Path of a fixture under tests/data; free with g_free. */
char *test_data_path(const char *relative);

/* The shared folder when it exists, else NULL. */
const char *test_shared_dir(void);

/* A path under the shared folder (which must exist); free with g_free. */
char *test_shared_path(const char *relative);

/* A fresh temporary folder, removed with everything in it by test_tmpdir_remove(). */
char *test_tmpdir_new(void);
void test_tmpdir_remove(const char *dir);

/* Runs spotlab with @argv (NULL-terminated, without the program name) and captures its
 * output. Returns the exit status (or -1 if it could not start or was killed). */
int test_spotlab(const char *const *argv, char **out, char **err);

/* As test_spotlab(), and when the exit status is not @expected prints the command and what
 * spotlab said, so that a failure shows why. @out and @err are never NULL afterwards (empty
 * when spotlab could not start), so checks fail instead of crashing. */
int test_spotlab_expect(const char *const *argv, char **out, char **err, int expected);

/* Whether @dir exists and holds nothing. */
gboolean test_dir_is_empty(const char *dir);

/* The contents of @path, or NULL when it cannot be read; free with g_free. */
char *test_read_file(const char *path);

/* The message fragment a bad-input case @dir/NAME.json must print: the one line of
 * @dir/NAME.expect, or NULL when that file is missing, empty or holds several lines. */
char *test_expected_fragment(const char *dir, const char *name);

/* Runs every registered suite; returns the process exit status (non-zero on any failure). */
int test_run_all(void);

/* |a - b| <= rel * max(|a|, |b|, 1e-300) */
#define TEST_ASSERT_REL(a, b, rel)                                                                 \
    CU_ASSERT(fabs((double)(a) - (double)(b)) <=                                                   \
              (rel)*fmax(fmax(fabs((double)(a)), fabs((double)(b))), 1e-300))

G_END_DECLS
