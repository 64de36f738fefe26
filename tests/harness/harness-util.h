/* spotlab tests: what the supervisor's tests (test-supervisor.c, test-faults.c, test-storage.c)
 * share: running a supervisor to its end, reading its record, and checking that nothing of a
 * run is left behind. */
#pragma once

#include "supervisor.h"

#include <glib.h>

G_BEGIN_DECLS

/* A NULL-terminated vector of copies of the arguments, up to NULL. */
GStrv test_strv(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Runs @cfg to its end and returns the supervisor (its record is complete); NULL, said on
 * stderr, when the configuration is refused. */
HarnessSupervisor *test_supervisor_run(const HarnessSupervisorConfig *cfg);

const HarnessInstanceRecord *test_record_instance(const HarnessRunRecord *rec, guint i);
const HarnessInterruption *test_record_interruption(const HarnessRunRecord *rec, guint i);

/* A CUnit failure when process group @pgid (> 0) still runs after the moment the kernel may
 * need. */
void test_assert_group_gone(int pgid);

/* A CUnit failure for every process group of an instance, or of a process that failed on
 * one, that still runs (after the moment the kernel may need). */
void test_assert_nothing_left(const HarnessRunRecord *rec);

/* Prints the record on stderr when the test has failed since @failures_before
 * (CU_get_number_of_failures()), so that a failure shows why. */
void test_dump_record_on_failure(HarnessSupervisor *sup, unsigned failures_before);

/* Whether the final checkpoint in @dir holds the state of an uninterrupted run of @train_bin
 * for @steps with the same @extra arguments (NULL-terminated, or NULL), run natively now. */
gboolean test_same_as_uninterrupted(const char *train_bin, const char *dir, gint64 steps,
                                    const char *const *extra);

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
