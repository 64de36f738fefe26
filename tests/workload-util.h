/* spotlab tests: running a workload process (spotlab-train, spotlab-infer, a user's program)
 * the way the testbed does, and reading its progress lines (docs/progress-protocol.md).
 *
 * The child gets SPOTLAB_PROGRESS_FD=3 on the write end of a pipe; the parent reads one JSON
 * object per line. When SPOTLAB_TEST_WRAPPER is set (valgrind), the child runs under it.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct TestWorkload TestWorkload;

/* Starts @argv (argv[0] a path) with the extra environment @env ("NAME=VALUE", NULL-terminated,
 * may be NULL) added to the test's own; stdout and stderr go to the test's. */
TestWorkload *test_workload_spawn(const char *const *argv, const char *const *env, GError **error);

/* The next progress line, parsed (owned by the caller), or NULL at end of file, after
 * @timeout_s seconds without a line, or for a line that is not a JSON object (reported on
 * stderr). */
json_t *test_workload_next(TestWorkload *w, double timeout_s);

/* Skips lines until one whose "event" is @event (and, when @step is not -1, whose "step" is
 * @step); NULL as test_workload_next(). Every line read is kept (test_workload_lines). */
json_t *test_workload_wait_event(TestWorkload *w, const char *event, gint64 step, double timeout_s);

/* Every line read so far (borrowed json_t objects in reading order). */
GPtrArray *test_workload_lines(TestWorkload *w);

/* The monotonic time (g_get_monotonic_time, microseconds) at which the line was received. */
gint64 test_workload_received_us(TestWorkload *w, const json_t *line);

pid_t test_workload_pid(const TestWorkload *w);
void test_workload_signal(TestWorkload *w, int sig);

/* Waits for the child to end; returns its exit status, 128 + signal when a signal ended it,
 * or -1 after @timeout_s seconds (the child is then killed). Reads and keeps the progress
 * lines that are left. */
int test_workload_wait(TestWorkload *w, double timeout_s);

/* Kills the child if it still runs and frees everything. Accepts NULL. */
void test_workload_free(TestWorkload *w);

/* As test_workload_spawn(), never under SPOTLAB_TEST_WRAPPER: for workloads that must run at
 * their own speed while the test runs under valgrind. */
TestWorkload *test_workload_spawn_native(const char *const *argv, GError **error);

/* Starts @train_bin with @args (NULL-terminated) natively; NULL, said on stderr, when it
 * cannot start. */
TestWorkload *test_train_spawn(const char *train_bin, const char *const *args);

/* Measures spotlab-train (@train_bin, tiny, natively) on this machine, now: from its start to
 * its first step, and its steps per second. */
void test_train_measure(const char *train_bin, double *startup_s, double *steps_per_s);

/* Whether a process of group @pgid still runs (zombies, which run nothing, aside). */
gboolean test_group_running(int pgid);

/* Whether group @pgid is gone within 5 s: the kernel may still be ending what SIGKILL was
 * sent to (a grandchild killed with its group) when the leader has been reaped. */
gboolean test_group_gone(int pgid);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestWorkload, test_workload_free)

G_END_DECLS
