/* spotlab tests: the supervisor's tests' shared helpers (harness-util.h). */
#include "harness-util.h"

#include "checkpoint-util.h"
#include "test-util.h"
#include "workload-util.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

GStrv
test_strv(const char *first, ...)
{
    GPtrArray *a = g_ptr_array_new();
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        g_ptr_array_add(a, g_strdup(s));
    va_end(ap);
    g_ptr_array_add(a, NULL);
    return (GStrv)g_ptr_array_free(a, FALSE);
}

HarnessSupervisor *
test_supervisor_run(const HarnessSupervisorConfig *cfg)
{
    g_autoptr(GError) error = NULL;
    HarnessSupervisor *sup = harness_supervisor_new(cfg, &error);
    if (sup == NULL) {
        fprintf(stderr, "supervisor: %s\n", error->message);
        return NULL;
    }
    if (!harness_supervisor_run(sup, NULL, &error))
        fprintf(stderr, "run: %s\n", error->message);
    return sup;
}

HarnessSupervisor *
test_supervisor_finished(const HarnessSupervisorConfig *cfg, gint64 steps, guint instances,
                         guint interruptions)
{
    HarnessSupervisor *sup = test_supervisor_run(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL(rec->final_step, steps);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, instances);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, interruptions);
    return sup;
}

const HarnessInstanceRecord *
test_record_instance(const HarnessRunRecord *rec, guint i)
{
    return &g_array_index(rec->instances, HarnessInstanceRecord, i);
}

const HarnessInterruption *
test_record_interruption(const HarnessRunRecord *rec, guint i)
{
    return &g_array_index(rec->interruptions, HarnessInterruption, i);
}

void
test_assert_group_gone(int pgid)
{
    CU_ASSERT(pgid > 0);
    if (pgid > 0 && !test_group_gone(pgid)) {
        fprintf(stderr, "process group %d still runs\n", pgid);
        CU_FAIL("a process survived the run");
    }
}

void
test_assert_nothing_left(const HarnessRunRecord *rec)
{
    for (guint i = 0; i < rec->instances->len; i++) {
        const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, i);
        test_assert_group_gone(r->pid);
        for (guint k = 0; r->members != NULL && k < r->members->len; k++)
            test_assert_group_gone(g_array_index(r->members, HarnessInstanceRecord, k).pid);
    }
    for (guint i = 0; i < rec->failures->len; i++)
        test_assert_group_gone(g_array_index(rec->failures, HarnessFailure, i).pid);
}

void
test_dump_record_on_failure(HarnessSupervisor *sup, unsigned failures_before)
{
    if (CU_get_number_of_failures() == failures_before)
        return;
    json_t *doc = harness_supervisor_record_to_json(sup);
    g_autofree char *text = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);
    fprintf(stderr, "record:\n%s\n", text);
}

gboolean
test_same_as_uninterrupted(const char *train_bin, const char *dir, gint64 steps,
                           const char *const *extra)
{
    g_autofree char *ref_dir = test_tmpdir_new();
    g_autofree char *steps_text = g_strdup_printf("%" G_GINT64_FORMAT, steps);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    const char *base[] = {"--steps", steps_text, "--checkpoint-dir", ref_dir, "--log-every", "0"};
    for (gsize i = 0; i < G_N_ELEMENTS(base); i++)
        g_ptr_array_add(args, (gpointer)base[i]);
    for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
        g_ptr_array_add(args, (gpointer)extra[i]);
    g_ptr_array_add(args, NULL);
    gboolean same = FALSE;
    g_autoptr(TestWorkload) w = test_train_spawn(train_bin, (const char *const *)args->pdata);
    if (w != NULL && test_workload_wait(w, 600) == 0) {
        g_autofree char *a = test_checkpoint_path(ref_dir, steps);
        g_autofree char *b = test_checkpoint_path(dir, steps);
        same = test_same_training_state(a, b);
    }
    test_tmpdir_remove(ref_dir);
    return same;
}

int
test_harness_main(int argc, char **argv, const char *suite, const TestNamed *tests, gsize n,
                  const char **train_bin, void (*setup)(void))
{
    *train_bin = g_getenv("SPOTLAB_TRAIN_BIN");
    if (*train_bin == NULL) {
        fprintf(stderr, "SPOTLAB_TRAIN_BIN is not set: run through meson test\n");
        return 1;
    }
    const char *only = argc > 1 ? argv[1] : NULL;
    if (g_getenv("SPOTLAB_TEST_WRAPPER") != NULL)
        fprintf(stderr, "valgrind: the workload processes run natively (see test-supervisor.c)\n");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    if (setup != NULL)
        setup();
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    for (gsize i = 0; i < n; i++)
        if (only == NULL || strstr(tests[i].name, only) != NULL)
            CU_add_test(s, tests[i].name, tests[i].func);
    return test_run_all();
}

json_t *
test_run_schedule(const char *dir, const char *schedule, const char *const *command, char **out)
{
    g_autofree char *path = g_build_filename(dir, "schedule.json", NULL);
    g_autofree char *record = g_build_filename(dir, "record.json", NULL);
    if (!g_file_set_contents(path, schedule, -1, NULL)) {
        CU_FAIL("cannot write the schedule");
        return NULL;
    }
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    const char *head[] = {"testbed", "--schedule", path, "-o", record, "--"};
    for (gsize i = 0; i < G_N_ELEMENTS(head); i++)
        g_ptr_array_add(args, (gpointer)head[i]);
    for (guint i = 0; command[i] != NULL; i++)
        g_ptr_array_add(args, (gpointer)command[i]);
    g_ptr_array_add(args, NULL);
    g_autofree char *o = NULL, *e = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect((const char *const *)args->pdata, &o, &e, 0), 0);
    json_error_t jerr;
    json_t *doc = json_load_file(record, 0, &jerr);
    if (doc == NULL)
        CU_FAIL("spotlab testbed wrote no record");
    if (out != NULL)
        *out = g_steal_pointer(&o);
    return doc;
}

void
test_bad_schedules(const char *dir, const TestBadSchedule *cases, gsize n)
{
    g_autofree char *path = g_build_filename(dir, "schedule.json", NULL);
    for (gsize i = 0; i < n; i++) {
        CU_ASSERT_FATAL(g_file_set_contents(path, cases[i].json, -1, NULL));
        const char *args[] = {"testbed", "--schedule", path, "--", "true", NULL};
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(test_spotlab_expect(args, &out, &err, 2), 2);
        g_autofree char *want = g_strconcat(path, cases[i].expected, NULL);
        if (err == NULL || strstr(err, want) == NULL) {
            fprintf(stderr, "case %zu: expected '%s' in: %s\n", i, want, err ? err : "");
            CU_FAIL("the message does not point at the field");
        }
    }
}
