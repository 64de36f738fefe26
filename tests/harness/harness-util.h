/* spotlab tests: what the supervisor's tests (test-supervisor.c, test-faults.c, test-storage.c)
 * share: running a supervisor to its end, reading its record, and checking that nothing of a
 * run is left behind. */
#pragma once

#include "supervisor.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* A NULL-terminated vector of copies of the arguments, up to NULL. */
GStrv test_strv(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Runs @cfg to its end and returns the supervisor (its record is complete); NULL, said on
 * stderr, when the configuration is refused. */
HarnessSupervisor *test_supervisor_run(const HarnessSupervisorConfig *cfg);

/* test_supervisor_run(), and CUnit checks that the job finished at step @steps on
 * @instances instances with @interruptions interruptions (fatal when it did not run, or the
 * counts differ). */
HarnessSupervisor *test_supervisor_finished(const HarnessSupervisorConfig *cfg, gint64 steps,
                                            guint instances, guint interruptions);

const HarnessInstanceRecord *test_record_instance(const HarnessRunRecord *rec, guint i);
const HarnessInterruption *test_record_interruption(const HarnessRunRecord *rec, guint i);

/* A CUnit failure when process group @pgid (> 0) still runs after the moment the kernel may
 * need. */
void test_assert_group_gone(int pgid);

/* A CUnit failure for every process group of an instance (a gang's ranks too), or of a
 * process that failed on one, that still runs (after the moment the kernel may need). */
void test_assert_nothing_left(const HarnessRunRecord *rec);

/* Prints the record on stderr when the test has failed since @failures_before
 * (CU_get_number_of_failures()), so that a failure shows why. */
void test_dump_record_on_failure(HarnessSupervisor *sup, unsigned failures_before);

/* Whether the final checkpoint in @dir holds the state of an uninterrupted run of @train_bin
 * for @steps with the same @extra arguments (NULL-terminated, or NULL), run natively now. */
gboolean test_same_as_uninterrupted(const char *train_bin, const char *dir, gint64 steps,
                                    const char *const *extra);

/* A test of a harness test program. */
typedef struct {
    const char *name;
    CU_TestFunc func;
} TestNamed;

/* A harness test program's main: SPOTLAB_TRAIN_BIN into *@train_bin (exit 1 when it is unset:
 * run through meson test), @setup (may be NULL), then, in suite @suite, the tests of @tests
 * whose name holds argv[1] (every one without it: `test-faults crash` runs the crash tests). */
int test_harness_main(int argc, char **argv, const char *suite, const TestNamed *tests, gsize n,
                      const char **train_bin, void (*setup)(void));

/* Writes @schedule (JSON text) to DIR/schedule.json and runs `spotlab testbed --schedule it
 * -o DIR/record.json -- COMMAND...`, which must exit 0 (else a CUnit failure). Returns the
 * record (NULL, with a CUnit failure, when none was written); *@out (may be NULL) gets what it
 * printed. */
json_t *test_run_schedule(const char *dir, const char *schedule, const char *const *command,
                          char **out);

/* A schedule file `spotlab testbed --schedule` must refuse, and the fragment its message must
 * hold right after the file's name (":LINE:COL: field: ..."). */
typedef struct {
    const char *json;
    const char *expected;
} TestBadSchedule;

/* Runs `spotlab testbed --schedule FILE -- true` on each case, in @dir: exit 2 and the
 * fragment, or a CUnit failure that names the case. */
void test_bad_schedules(const char *dir, const TestBadSchedule *cases, gsize n);

G_END_DECLS
