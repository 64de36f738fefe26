/* harness: the testbed's fault catalogue (docs/testbed.md, "Fault catalogue"). Each fault is
 * injected for real (signals, HTTP answers, files) into the C reference workload spotlab-train
 * (tiny) or a small shell job, and each test checks what the record says about it, so that
 * each would fail if the fault were not injected or not measured:
 *
 * - a missed notice: no metadata notice, no SIGTERM at the notice; Google's reclaim kills, AWS's
 *   SIGTERM at the reclaim is the only warning the workload gets;
 * - a late notice: it comes late, the reclaim does not move; later than the reclaim, it is
 *   missed;
 * - a duplicated notice: a naive job reacts twice (two notice lines, two emergency
 *   checkpoints), spotlab-train once;
 * - a slow and failing metadata service: the failures are counted, the notice is seen late;
 * - a crash (SIGSEGV) and a hang (SIGSTOP, caught by the progress timeout): the command is
 *   restarted on the same instance, resumes from its checkpoint and finishes with the state of
 *   an uninterrupted run; no core file is left;
 * - a reclaim in the middle of a checkpoint write: the checkpoint is torn, the next instance
 *   resumes from the previous complete one, and the final state is that of an uninterrupted
 *   run;
 * - local checkpoint storage lost with each instance: the next instance starts from scratch,
 *   the steps lost count everything, and no folder is left behind;
 * - `spotlab testbed`: every fault key of the schedule, and its errors.
 *
 * Timing: as test-supervisor.c, the schedules are scaled to this machine by a calibration run,
 * with margins of several tenths of a second; scheduled times are checked exactly against the
 * deliveries, measured ones only for order. `test-faults NAME` runs only the tests whose name
 * holds NAME (for a run under valgrind, where the workloads still run natively).
 */
#include "supervisor.h"
#include "harness-util.h"
#include "checkpoint-util.h"
#include "test-util.h"
#include "workload-util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SLACK_US 20000

static const char *train_bin;
static double startup_s = 0.2; /* spotlab-train's start to its first step, measured */
static double steps_per_s = 1000;

/* ---- helpers ------------------------------------------------------------------------------ */

static gint64
__us(double s)
{
    return (gint64)(s * 1e6);
}

/* The @nth (0, 1, ...) delivery of @what to instance @instance, or NULL. */
static const HarnessDelivery *
__delivery(const HarnessRunRecord *rec, guint instance, const char *what, guint nth)
{
    for (guint i = 0; i < rec->deliveries->len; i++) {
        const HarnessDelivery *d = &g_array_index(rec->deliveries, HarnessDelivery, i);
        if (d->instance == instance && strcmp(d->what, what) == 0 && nth-- == 0)
            return d;
    }
    return NULL;
}

static guint
__count_deliveries(const HarnessRunRecord *rec, guint instance, const char *what)
{
    guint n = 0;
    while (__delivery(rec, instance, what, n) != NULL)
        n++;
    return n;
}

/* Measures spotlab-train's startup and step rate on this machine, now. */
static void
__calibrate(void)
{
    test_train_measure(train_bin, &startup_s, &steps_per_s);
}

/* When the notices come: well after startup. */
static double
__notice_after(void)
{
    return MAX(0.6, 2 * startup_s + 0.3);
}

/* The workload saved everything at the notice: with its emergency checkpoint, or without one
 * when the notice came just as a periodic checkpoint of the same step was due (spotlab-train
 * writes no second checkpoint of a step). */
static gboolean
__saved_at_notice(const HarnessInterruption *in)
{
    if (in->checkpoint_ok)
        return in->emergency_checkpoints == 1;
    return in->emergency_checkpoints == 0 && in->last_step > 0 && in->saved_step == in->last_step;
}

/* spotlab-train on {cloud}'s metadata service, polled every @poll. */
static GStrv
__train_argv(const char *dir, gint64 steps, const char *poll, const char *every)
{
    g_autofree char *steps_text = g_strdup_printf("%" G_GINT64_FORMAT, steps);
    return test_strv(train_bin, "--checkpoint-dir", dir, "--notice-cloud", "{cloud}",
                     "--notice-poll", poll, "--checkpoint-every", every, "--steps", steps_text,
                     "--log-every", "0", NULL);
}

/* ---- notices ------------------------------------------------------------------------------ */

static void
test_notice_missed(void)
{
    unsigned before = CU_get_number_of_failures();
    double notice_after = __notice_after(), lead = 0.8;
    gint64 steps = (gint64)(steps_per_s * (2 * (notice_after + lead) + 2.0));
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv = __train_argv(dir, steps, "100ms", "200");
    HarnessInstanceSpec specs[3];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_GCP);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[2], HARNESS_IMDS_AWS);
    for (guint i = 0; i < 2; i++) {
        specs[i].notice_after_us = __us(notice_after);
        specs[i].notice_lead_us = __us(lead);
        specs[i].notice_missed = TRUE;
    }
    specs[1].grace_us = __us(1.0); /* room for the emergency checkpoint after SIGTERM */
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 3, .restart_delay_us = __us(0.2)},
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_finished(&cfg, steps, 3, 2);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    for (guint i = 0; i < 2; i++) {
        const HarnessInterruption *in = test_record_interruption(rec, i);
        const HarnessInstanceRecord *r = test_record_instance(rec, i);
        CU_ASSERT_EQUAL(in->cause, HARNESS_RECLAIM_SCHEDULED);
        CU_ASSERT(in->notice_missed);
        CU_ASSERT_EQUAL(in->notice_us, HARNESS_TIME_NONE);
        CU_ASSERT_EQUAL(in->step_at_notice, -1);
        CU_ASSERT_EQUAL(in->notice_due_us, r->started_us + __us(notice_after));
        /* Nothing was announced: the service never answered with the notice, though the
         * workload kept asking; no notice was delivered; the reclaim came on time. */
        CU_ASSERT_EQUAL(r->imds_notices_fetched, 0);
        CU_ASSERT(r->imds_requests > 0);
        CU_ASSERT_PTR_NULL(__delivery(rec, i, "notice", 0));
        const HarnessDelivery *reclaim = __delivery(rec, i, "reclaim", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(reclaim);
        CU_ASSERT_EQUAL(reclaim->scheduled_us, in->notice_due_us + __us(lead));
        CU_ASSERT(in->reclaim_us >= reclaim->scheduled_us);
    }
    /* Google: no ACPI soft-off, so no SIGTERM at all; the hard power-off at the reclaim kills
     * it with everything since its last periodic checkpoint. */
    const HarnessInterruption *g = test_record_interruption(rec, 0);
    const HarnessInstanceRecord *g_inst = test_record_instance(rec, 0);
    CU_ASSERT_EQUAL(g->sigterm_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(__count_deliveries(rec, 0, "sigterm"), 0);
    CU_ASSERT_EQUAL(g->reaction_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(g->reactions, 0);
    CU_ASSERT_EQUAL(g->emergency_checkpoints, 0);
    CU_ASSERT(g->killed_us >= g->reclaim_us);
    CU_ASSERT_EQUAL(g_inst->end, HARNESS_END_KILLED);
    CU_ASSERT_EQUAL(g_inst->exit_signal, SIGKILL);
    CU_ASSERT(g->last_step > 0 && g->saved_step % 200 == 0 && g->saved_step <= g->last_step);
    CU_ASSERT_EQUAL(g->steps_lost, g->last_step - g->saved_step);
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->resume_step,
                    g->saved_step > 0 ? g->saved_step : -1);
    /* AWS: the OS shutdown's SIGTERM at the reclaim is the only warning; the workload still
     * saves everything within the grace. */
    const HarnessInterruption *a = test_record_interruption(rec, 1);
    CU_ASSERT(a->sigterm_us >= a->reclaim_us);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a->reaction_source);
    CU_ASSERT_STRING_EQUAL(a->reaction_source, "sigterm");
    CU_ASSERT(a->reaction_us >= a->sigterm_us);
    CU_ASSERT_EQUAL(a->reactions, 1);
    CU_ASSERT(__saved_at_notice(a));
    CU_ASSERT_EQUAL(a->killed_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(a->steps_lost, 0);
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->end, HARNESS_END_STOPPED);
    CU_ASSERT_EQUAL(test_record_instance(rec, 2)->resume_step, a->saved_step);

    json_t *doc = harness_supervisor_record_to_json(sup);
    json_t *j = json_array_get(json_object_get(doc, "interruptions"), 0);
    CU_ASSERT(json_is_true(json_object_get(j, "notice_missed")));
    CU_ASSERT(json_is_null(json_object_get(j, "notice")));
    CU_ASSERT(json_is_number(json_object_get(j, "notice_due")));
    CU_ASSERT(json_is_null(json_object_get(j, "reaction_latency")));
    json_t *s = json_array_get(json_object_get(json_object_get(doc, "schedule"), "instances"), 0);
    CU_ASSERT(json_is_true(json_object_get(s, "notice_missed")));
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

static void
test_notice_late(void)
{
    unsigned before = CU_get_number_of_failures();
    double notice_after = __notice_after();
    gint64 steps = (gint64)(steps_per_s * (2 * notice_after + 1.5 + 1.0 + 2.0));
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv = __train_argv(dir, steps, "100ms", "200");
    HarnessInstanceSpec specs[3];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_GCP);
    harness_instance_spec_init(&specs[2], HARNESS_IMDS_AWS);
    /* AWS: 0.5 s late of a 1.5 s lead. Google: later than its 1 s lead, so never. */
    specs[0].notice_after_us = __us(notice_after);
    specs[0].notice_lead_us = __us(1.5);
    specs[0].grace_us = __us(0.5);
    specs[0].notice_late_us = __us(0.5);
    specs[1].notice_after_us = __us(notice_after);
    specs[1].notice_lead_us = __us(1.0);
    specs[1].notice_late_us = __us(1.2);
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 3, .restart_delay_us = __us(0.2)},
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_run(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 3);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 2);

    const HarnessInterruption *a = test_record_interruption(rec, 0);
    CU_ASSERT_FALSE(a->notice_missed);
    CU_ASSERT_EQUAL(a->notice_due_us,
                    test_record_instance(rec, 0)->started_us + __us(notice_after));
    const HarnessDelivery *notice = __delivery(rec, 0, "notice", 0);
    const HarnessDelivery *reclaim = __delivery(rec, 0, "reclaim", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(notice);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reclaim);
    /* The notice came 0.5 s late; the reclaim kept its time. */
    CU_ASSERT_EQUAL(notice->scheduled_us, a->notice_due_us + __us(0.5));
    CU_ASSERT(a->notice_us >= a->notice_due_us + __us(0.5));
    CU_ASSERT_EQUAL(reclaim->scheduled_us, a->notice_due_us + __us(1.5));
    /* The workload could not know before: it saw the notice after it came, from the service,
     * and still saved everything in the shorter time left. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(a->reaction_source);
    CU_ASSERT_STRING_EQUAL(a->reaction_source, "aws");
    CU_ASSERT(a->reaction_us >= a->notice_us);
    CU_ASSERT(__saved_at_notice(a));
    CU_ASSERT_EQUAL(a->killed_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(a->steps_lost, 0);
    CU_ASSERT(test_record_instance(rec, 0)->imds_notices_fetched > 0);

    const HarnessInterruption *g = test_record_interruption(rec, 1);
    CU_ASSERT(g->notice_missed);
    CU_ASSERT_EQUAL(g->notice_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(g->sigterm_us, HARNESS_TIME_NONE);
    CU_ASSERT_PTR_NULL(__delivery(rec, 1, "notice", 0));
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->imds_notices_fetched, 0);
    CU_ASSERT(g->killed_us != HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->end, HARNESS_END_KILLED);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* A job that reacts to every SIGTERM with a notice line and an emergency checkpoint, as a
 * handler that is not idempotent does. */
static const char naive_job[] =
    "exec 2>/dev/null\n"
    "i=0\n"
    "trap 'printf \"{\\\"event\\\":\\\"notice\\\",\\\"source\\\":\\\"sigterm\\\"}\\n\" >&3; "
    "printf \"{\\\"event\\\":\\\"checkpoint_start\\\",\\\"step\\\":%d,\\\"kind\\\":"
    "\\\"emergency\\\"}\\n\" \"$i\" >&3' TERM\n"
    "while :; do i=$((i+1)); printf '{\"event\":\"step\",\"step\":%d}\\n' \"$i\" >&3; "
    "sleep 0.05; done\n";

static void
test_notice_duplicate(void)
{
    unsigned before = CU_get_number_of_failures();
    /* Google: a second ACPI soft-off 0.3 s after the first; the naive job reacts twice. */
    const char *sh_argv[] = {"/bin/sh", "-c", naive_job, NULL};
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_GCP);
    spec.notice_after_us = __us(0.5);
    spec.notice_lead_us = __us(1.2);
    spec.notice_duplicate_us = __us(0.3);
    HarnessSupervisorConfig cfg = {
        .argv = sh_argv,
        .schedule = {.instances = &spec, .n_instances = 1},
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_run(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_NOT_FINISHED);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 1);
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    const HarnessDelivery *notice = __delivery(rec, 0, "notice", 0);
    const HarnessDelivery *dup = __delivery(rec, 0, "duplicate", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(notice);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dup);
    CU_ASSERT_EQUAL(dup->scheduled_us, notice->scheduled_us + __us(0.3));
    CU_ASSERT(in->notice_duplicate_us >= in->notice_us + __us(0.3) - SLACK_US);
    CU_ASSERT_EQUAL(__count_deliveries(rec, 0, "sigterm"), 2);
    CU_ASSERT_EQUAL(in->reactions, 2);
    CU_ASSERT_EQUAL(in->emergency_checkpoints, 2);
    json_t *doc = harness_supervisor_record_to_json(sup);
    json_t *j = json_array_get(json_object_get(doc, "interruptions"), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "reactions")), 2);
    CU_ASSERT(json_is_number(json_object_get(j, "notice_duplicate")));
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);

    /* Azure: a second Preempt event; spotlab-train reacts once and acknowledges. */
    before = CU_get_number_of_failures();
    double notice_after = __notice_after();
    gint64 steps = (gint64)(steps_per_s * (notice_after + 3.0));
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv = __train_argv(dir, steps, "200ms", "0");
    HarnessInstanceSpec az;
    harness_instance_spec_init(&az, HARNESS_IMDS_AZURE);
    az.notice_after_us = __us(notice_after);
    az.notice_lead_us = __us(1.0);
    az.grace_us = __us(0.5);
    az.notice_duplicate_us = __us(0.05);
    HarnessSupervisorConfig cfg2 = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = &az, .n_instances = 1},
    };
    g_autoptr(HarnessSupervisor) sup2 = test_supervisor_run(&cfg2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup2);
    rec = harness_supervisor_record(sup2);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 1);
    in = test_record_interruption(rec, 0);
    CU_ASSERT(in->notice_duplicate_us != HARNESS_TIME_NONE);
    CU_ASSERT_PTR_NOT_NULL(__delivery(rec, 0, "duplicate", 0));
    CU_ASSERT_EQUAL(in->reactions, 1);
    CU_ASSERT_EQUAL(in->emergency_checkpoints, 1);
    CU_ASSERT(in->checkpoint_ok);
    CU_ASSERT_EQUAL(test_record_instance(rec, 0)->end, HARNESS_END_STOPPED);
    test_dump_record_on_failure(sup2, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* ---- the metadata service ----------------------------------------------------------------- */

static void
test_imds_faults(void)
{
    unsigned before = CU_get_number_of_failures();
    double notice_after = __notice_after();
    /* The first instance may see its notice only near its reclaim, past the failures. */
    gint64 steps = (gint64)(steps_per_s * (2 * notice_after + 3.0 + 1.5 + 1.5));
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv = __train_argv(dir, steps, "100ms", "0");
    HarnessInstanceSpec specs[3];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AZURE);
    harness_instance_spec_init(&specs[2], HARNESS_IMDS_AWS);
    for (guint i = 0; i < 2; i++) {
        specs[i].notice_after_us = __us(notice_after);
        specs[i].notice_lead_us = __us(1.5);
        specs[i].grace_us = __us(0.5);
    }
    /* AWS: every answer 300 ms late, the first three 503 (the token requests of the first
     * second or so: a longer lead). Azure: the first two 500. */
    specs[0].notice_lead_us = __us(3.0);
    specs[0].imds_delay_ms = 300;
    specs[0].imds_fail_status = 503;
    specs[0].imds_fail_count = 3;
    specs[1].imds_fail_status = 500;
    specs[1].imds_fail_count = 2;
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 3, .restart_delay_us = __us(0.2)},
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_run(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 3);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 2);
    CU_ASSERT_EQUAL(test_record_instance(rec, 0)->imds_faults_injected, 3);
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->imds_faults_injected, 2);
    CU_ASSERT_EQUAL(test_record_instance(rec, 2)->imds_faults_injected, 0);
    for (guint i = 0; i < 2; i++) {
        const HarnessInterruption *in = test_record_interruption(rec, i);
        CU_ASSERT(test_record_instance(rec, i)->imds_requests >
                  test_record_instance(rec, i)->imds_faults_injected);
        /* The workload got past the errors and saw the notice from the service. */
        CU_ASSERT_PTR_NOT_NULL_FATAL(in->reaction_source);
        CU_ASSERT_STRING_EQUAL(in->reaction_source, i == 0 ? "aws" : "azure");
        CU_ASSERT(in->checkpoint_ok);
        CU_ASSERT_EQUAL(in->killed_us, HARNESS_TIME_NONE);
    }
    /* No answer leaves the slow service before 300 ms, and none that carries the notice was
     * made before the notice. */
    const HarnessInterruption *a = test_record_interruption(rec, 0);
    CU_ASSERT(a->reaction_us - a->notice_us >= __us(0.3));
    json_t *doc = harness_supervisor_record_to_json(sup);
    json_t *inst = json_array_get(json_object_get(doc, "instances"), 0);
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_object_get(inst, "imds"), "faults_injected")), 3);
    json_t *s = json_array_get(json_object_get(json_object_get(doc, "schedule"), "instances"), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(s, "imds"), "fail_status")),
                    503);
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* ---- crashes and hangs -------------------------------------------------------------------- */

/* One instance, a failure at @after seconds, a restart on the same instance, the end. */
static void
__test_restart(HarnessFailureKind kind)
{
    unsigned before = CU_get_number_of_failures();
    double after = __notice_after();
    double timeout = 1.0;
    gint64 steps = (gint64)(steps_per_s * (after + 2.0));
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *cwd = test_tmpdir_new();
    g_auto(GStrv) argv = __train_argv(dir, steps, "200ms", "300");
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_AWS);
    if (kind == HARNESS_FAILURE_CRASH) {
        spec.crash_after_us = __us(after);
    } else {
        spec.hang_after_us = __us(after);
        /* A backstop: should the hang go undetected, a reclaim ends the run (and the test
         * fails) instead of a stopped process holding it forever. */
        spec.notice_after_us = __us(after + 20.0);
        spec.notice_lead_us = __us(1.0);
        spec.grace_us = __us(0.5);
    }
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .working_dir = cwd,
        .schedule = {.instances = &spec, .n_instances = 1, .restart_delay_us = __us(0.2)},
        .progress_timeout_us = kind == HARNESS_FAILURE_HANG ? __us(timeout) : 0,
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_run(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL(rec->final_step, steps);
    /* The same instance, restarted once. */
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 1);
    const HarnessInstanceRecord *r = test_record_instance(rec, 0);
    CU_ASSERT_EQUAL(r->restarts, 1);
    CU_ASSERT_EQUAL(r->end, HARNESS_END_COMPLETED);
    CU_ASSERT_EQUAL(rec->interruptions->len, 0);
    CU_ASSERT_EQUAL_FATAL(rec->failures->len, 1);
    const HarnessFailure *f = &g_array_index(rec->failures, HarnessFailure, 0);
    CU_ASSERT_EQUAL(f->instance, 0);
    CU_ASSERT_EQUAL(f->kind, kind);
    CU_ASSERT(f->pid > 0 && f->pid != r->pid);
    const HarnessDelivery *d =
        __delivery(rec, 0, kind == HARNESS_FAILURE_CRASH ? "crash" : "hang", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->scheduled_us, r->started_us + __us(after));
    CU_ASSERT(f->injected_us >= d->scheduled_us);
    if (kind == HARNESS_FAILURE_CRASH) {
        /* In a sanitized build (meson test --setup=asan) the workload's AddressSanitizer takes
         * the SIGSEGV for a bad access of its own, reports it and aborts (abort_on_error=1):
         * the crash ends it by SIGABRT. */
        const char *asan = g_getenv("ASAN_OPTIONS");
        gboolean aborts = asan != NULL && strstr(asan, "abort_on_error=1") != NULL;
        CU_ASSERT(f->exit_signal == SIGSEGV || (aborts && f->exit_signal == SIGABRT));
        CU_ASSERT_EQUAL(f->detected_us, f->exited_us);
    } else {
        /* Stopped, silent, declared hung once the silence lasted the timeout, then killed. */
        CU_ASSERT_EQUAL(f->exit_signal, SIGKILL);
        /* Lines written before the stop may be read a moment after it. */
        CU_ASSERT(f->last_line_us <= f->injected_us + 5 * SLACK_US);
        CU_ASSERT(f->detected_us >= f->last_line_us + __us(timeout));
        CU_ASSERT(f->exited_us >= f->detected_us);
        CU_ASSERT_PTR_NOT_NULL(__delivery(rec, 0, "hung-kill", 0));
    }
    CU_ASSERT(f->detected_us >= f->injected_us);
    CU_ASSERT(f->last_step > 0);
    CU_ASSERT(f->saved_step % 300 == 0 && f->saved_step <= f->last_step);
    CU_ASSERT_EQUAL(f->steps_lost, f->last_step - f->saved_step);
    /* Restarted after the restart delay, from the newest checkpoint, and back past where it
     * failed. */
    const HarnessDelivery *restart = __delivery(rec, 0, "restart", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(restart);
    CU_ASSERT_EQUAL(restart->scheduled_us, f->exited_us + __us(0.2));
    CU_ASSERT(f->restarted_us >= restart->scheduled_us);
    CU_ASSERT_EQUAL(f->resume_step, f->saved_step > 0 ? f->saved_step : -1);
    CU_ASSERT(f->recovered_us > f->restarted_us);
    /* The instance's own resume is that of its first process: none. */
    CU_ASSERT_EQUAL(r->resume_step, -1);
    const char *extra[] = {"--checkpoint-every", "300", NULL};
    CU_ASSERT(test_same_as_uninterrupted(train_bin, dir, steps, extra));
    /* No core file, nothing at all, in the workload's folder. */
    CU_ASSERT(test_dir_is_empty(cwd));
    json_t *doc = harness_supervisor_record_to_json(sup);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "restarts")), 1);
    json_t *jf = json_array_get(json_object_get(doc, "failures"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(jf, "kind")),
                           kind == HARNESS_FAILURE_CRASH ? "crash" : "hang");
    CU_ASSERT(json_is_number(json_object_get(jf, "recovery_seconds")));
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
    test_tmpdir_remove(cwd);
}

static void
test_crash(void)
{
    __test_restart(HARNESS_FAILURE_CRASH);
}

static void
test_hang(void)
{
    __test_restart(HARNESS_FAILURE_HANG);
}

/* A crash after the notice, with a restart delay longer than what is left of the notice: the
 * instance is reclaimed while the job is down, and the job goes on on the next one. */
static void
test_crash_then_reclaim(void)
{
    unsigned before = CU_get_number_of_failures();
    const char *argv[] = {"/bin/sh", "-c",
                          "[ \"$SPOTLAB_INSTANCE\" = 1 ] && exit 0; exec sleep 1000", NULL};
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    specs[0].notice_after_us = __us(0.3);
    specs[0].notice_lead_us = __us(0.6);
    specs[0].crash_after_us = __us(0.5);
    HarnessSupervisorConfig cfg = {
        .argv = argv,
        .schedule = {.instances = specs, .n_instances = 2, .restart_delay_us = __us(1.0)},
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_run(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 2);
    CU_ASSERT_EQUAL_FATAL(rec->failures->len, 1);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 1);
    const HarnessFailure *f = &g_array_index(rec->failures, HarnessFailure, 0);
    const HarnessInstanceRecord *r = test_record_instance(rec, 0);
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    CU_ASSERT_EQUAL(f->kind, HARNESS_FAILURE_CRASH);
    CU_ASSERT_EQUAL(f->exit_signal, SIGSEGV);
    /* Never restarted: the machine went first, at its scheduled time. */
    CU_ASSERT_EQUAL(f->restarted_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(r->restarts, 0);
    CU_ASSERT_PTR_NULL(__delivery(rec, 0, "restart", 0));
    CU_ASSERT_EQUAL(r->end, HARNESS_END_SIGNALED);
    CU_ASSERT_EQUAL(r->exit_signal, SIGSEGV);
    CU_ASSERT_EQUAL(in->exited_us, f->exited_us);
    CU_ASSERT(in->reclaim_us != HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(r->ended_us, __delivery(rec, 0, "reclaim", 0)->scheduled_us);
    CU_ASSERT_EQUAL(in->restarted_us, test_record_instance(rec, 1)->started_us);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
}

/* ---- reclaim during a checkpoint ---------------------------------------------------------- */

/* A model whose checkpoint (120 MB) takes a good tenth of a second to write, so that a kill
 * 5 ms after its start lands in the middle of the write. */
static const char *const big_model[] = {"--set", "hidden=3072", "--set", "batch=1", NULL};

static void
test_reclaim_mid_checkpoint(void)
{
    unsigned before = CU_get_number_of_failures();
    const gint64 steps = 14;
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv =
        test_strv(train_bin, "--checkpoint-dir", dir, "--checkpoint-every", "4", "--steps", "14",
                  "--log-every", "0", big_model[0], big_model[1], big_model[2], big_model[3], NULL);
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    /* Killed 5 ms into its second checkpoint, that of step 8. */
    specs[0].reclaim_at_checkpoint = 2;
    specs[0].reclaim_checkpoint_delay_us = __us(0.005);
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 2, .restart_delay_us = __us(0.5)},
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(HarnessSupervisor) sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_FATAL(sup != NULL);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    /* Iterated here, to look at the folder between the two instances. */
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    CU_ASSERT_FATAL(harness_supervisor_start(sup, ctx, &error));
    gboolean looked = FALSE;
    while (!harness_supervisor_is_done(sup)) {
        g_main_context_iteration(ctx, TRUE);
        if (!looked && rec->instances->len == 1 &&
            test_record_instance(rec, 0)->ended_us != HARNESS_TIME_NONE) {
            looked = TRUE;
            /* The machine vanished mid-write: step 8 never became a checkpoint; step 4 is. */
            g_autofree char *torn = test_checkpoint_path(dir, 8);
            g_autofree char *prev = test_checkpoint_path(dir, 4);
            CU_ASSERT_FALSE(g_file_test(torn, G_FILE_TEST_EXISTS));
            CU_ASSERT(g_file_test(prev, G_FILE_TEST_EXISTS));
        }
    }
    g_main_context_pop_thread_default(ctx);
    CU_ASSERT(looked);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL(rec->final_step, steps);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 2);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 1);
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    CU_ASSERT_EQUAL(in->cause, HARNESS_RECLAIM_AT_CHECKPOINT);
    CU_ASSERT_EQUAL(in->notice_due_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(in->notice_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(in->sigterm_us, HARNESS_TIME_NONE);
    CU_ASSERT(in->killed_us != HARNESS_TIME_NONE && in->killed_us == in->reclaim_us);
    CU_ASSERT_EQUAL(in->torn_step, 8);
    CU_ASSERT_EQUAL(in->last_step, 8);
    CU_ASSERT_EQUAL(in->saved_step, 4);
    CU_ASSERT_EQUAL(in->steps_lost, 4);
    CU_ASSERT_EQUAL(test_record_instance(rec, 0)->end, HARNESS_END_KILLED);
    const HarnessDelivery *kill = __delivery(rec, 0, "sigkill", 0);
    CU_ASSERT_PTR_NOT_NULL(kill);
    /* The next instance resumed from the previous complete checkpoint, not the torn one. */
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->resume_step, 4);
    CU_ASSERT(in->recovered_us > in->restarted_us);
    CU_ASSERT(test_same_as_uninterrupted(train_bin, dir, steps,
                                         (const char *const[]){"--checkpoint-every", "4",
                                                               big_model[0], big_model[1],
                                                               big_model[2], big_model[3], NULL}));
    json_t *doc = harness_supervisor_record_to_json(sup);
    json_t *j = json_array_get(json_object_get(doc, "interruptions"), 0);
    CU_ASSERT(json_is_true(json_object_get(j, "checkpoint_torn")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reclaim_cause")), "checkpoint");
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* ---- checkpoint storage ------------------------------------------------------------------- */

static void
test_local_disk(void)
{
    unsigned before = CU_get_number_of_failures();
    double notice_after = MAX(0.5, 2 * startup_s + 0.2);
    gint64 steps = (gint64)(steps_per_s * (notice_after + 1.5));
    g_auto(GStrv) argv = __train_argv("{checkpoint_dir}", steps, "100ms", "200");
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    specs[0].notice_after_us = __us(notice_after);
    specs[0].notice_lead_us = __us(1.0);
    specs[0].grace_us = __us(0.5);
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 2, .restart_delay_us = __us(0.2)},
        .checkpoint_local = TRUE,
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_finished(&cfg, steps, 2, 1);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    /* The emergency checkpoint was written, on a disk that went with the instance: nothing was
     * saved, every step was lost, and the next instance started from scratch. */
    CU_ASSERT(in->checkpoint_ok);
    CU_ASSERT(in->last_step > 0);
    CU_ASSERT_EQUAL(in->saved_step, 0);
    CU_ASSERT_EQUAL(in->steps_lost, in->last_step);
    const HarnessInstanceRecord *next = test_record_instance(rec, 1);
    CU_ASSERT_EQUAL(next->resume_step, -1);
    CU_ASSERT_EQUAL(next->first_step, 1);
    CU_ASSERT(in->recovered_us > in->restarted_us);
    /* Each instance had its own folder, and none is left. */
    const char *d0 = test_record_instance(rec, 0)->checkpoint_dir, *d1 = next->checkpoint_dir;
    CU_ASSERT_PTR_NOT_NULL_FATAL(d0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d1);
    CU_ASSERT_STRING_NOT_EQUAL(d0, d1);
    CU_ASSERT_FALSE(g_file_test(d0, G_FILE_TEST_EXISTS));
    CU_ASSERT_FALSE(g_file_test(d1, G_FILE_TEST_EXISTS));
    g_autofree char *root = g_path_get_dirname(d0);
    CU_ASSERT_FALSE(g_file_test(root, G_FILE_TEST_EXISTS));
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
}

/* A job that checks the folder it is given, and what it finds there: instance 0 leaves a file,
 * instance 1 looks for it, and finishes. */
static const char storage_job[] =
    "test \"$SPOTLAB_CHECKPOINT_DIR\" = \"$0\" && test -d \"$0\" || exit 3\n"
    "if [ \"$SPOTLAB_INSTANCE\" = 0 ]; then touch \"$0/ckpt\"; exit 75; fi\n"
    "if [ -e \"$0/ckpt\" ]; then found=yes; else found=no; fi\n"
    "[ \"$found\" = \"$1\" ] && exit 0 || exit 4\n";

static void
__test_storage(gboolean local)
{
    unsigned before = CU_get_number_of_failures();
    g_autofree char *dir = test_tmpdir_new();
    /* Local: a fresh disk, the file is gone. Remote: the same storage, it is there. */
    const char *argv[] = {"/bin/sh", "-c", storage_job, "{checkpoint_dir}", local ? "no" : "yes",
                          NULL};
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_GCP);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AZURE);
    HarnessSupervisorConfig cfg = {
        .argv = argv,
        .schedule = {.instances = specs, .n_instances = 2},
        .checkpoint_dir = dir,
        .checkpoint_local = local,
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_run(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 2);
    CU_ASSERT_EQUAL(test_record_instance(rec, 0)->exit_status, 75);
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->exit_status, 0);
    g_autofree char *d0 = g_build_filename(dir, "instance-0", NULL);
    CU_ASSERT_STRING_EQUAL(test_record_instance(rec, 0)->checkpoint_dir, local ? d0 : dir);
    /* Local: instance-0 and instance-1 went with their instances. Remote: the file stays. */
    CU_ASSERT_EQUAL(test_dir_is_empty(dir), local);
    test_dump_record_on_failure(sup, before);
    test_tmpdir_remove(dir);
}

static void
test_storage(void)
{
    __test_storage(TRUE);
    __test_storage(FALSE);
    /* {checkpoint_dir} needs a folder to stand for. */
    const char *argv[] = {"/bin/true", "{checkpoint_dir}", NULL};
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_AWS);
    HarnessSupervisorConfig cfg = {.argv = argv,
                                   .schedule = {.instances = &spec, .n_instances = 1}};
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(harness_supervisor_new(&cfg, &error));
    CU_ASSERT(g_error_matches(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID));
}

/* Free mid-run: the local disk of the running instance and the folder above it go too. */
static void
test_free_removes_local_disk(void)
{
    const char *argv[] = {"/bin/sh", "-c", "touch \"$0/x\"; exec sleep 1000", "{checkpoint_dir}",
                          NULL};
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_AWS);
    HarnessSupervisorConfig cfg = {
        .argv = argv,
        .schedule = {.instances = &spec, .n_instances = 1},
        .checkpoint_local = TRUE,
    };
    g_autoptr(GError) error = NULL;
    HarnessSupervisor *sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_FATAL(sup != NULL);
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    CU_ASSERT_FATAL(harness_supervisor_start(sup, ctx, &error));
    const HarnessInstanceRecord *r = test_record_instance(harness_supervisor_record(sup), 0);
    g_autofree char *d = g_strdup(r->checkpoint_dir);
    g_autofree char *x = g_build_filename(d, "x", NULL);
    int pgid = r->pid;
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!g_file_test(x, G_FILE_TEST_EXISTS) && g_get_monotonic_time() < until)
        g_main_context_iteration(ctx, FALSE), g_usleep(10 * 1000);
    CU_ASSERT(g_file_test(x, G_FILE_TEST_EXISTS));
    harness_supervisor_free(sup);
    g_main_context_pop_thread_default(ctx);
    g_autofree char *root = g_path_get_dirname(d);
    CU_ASSERT_FALSE(g_file_test(d, G_FILE_TEST_EXISTS));
    CU_ASSERT_FALSE(g_file_test(root, G_FILE_TEST_EXISTS));
    test_assert_group_gone(pgid);
}

/* ---- spotlab testbed ---------------------------------------------------------------------- */

static void
test_cli_fault_schedules(void)
{
    static const TestBadSchedule cases[] = {
        {"{\"instances\": [{\"cloud\": \"aws\", \"notice_after\": 1, \"notice_missed\": 1}]}",
         ":1:69: instances[0].notice_missed: expected true or false, got 1"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"notice_late\": \"2s\"}]}",
         ":1:48: instances[0].notice_late: needs a notice (notice_after)"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"notice_after\": 1, \"notice_duplicate\": "
         "\"x\"}]}",
         ":1:72: instances[0].notice_duplicate: expected a duration"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"imds\": {\"fail_status\": 200, "
         "\"fail_count\": 3}}]}",
         ":1:57: instances[0].imds.fail_status: expected an HTTP status (an integer in "
         "400..599), got 200"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"imds\": {\"fail_status\": 503}}]}",
         ":1:41: instances[0].imds.fail_count: missing"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"imds\": {\"delay\": \"2h\"}}]}",
         ":1:51: instances[0].imds.delay: expected a delay of at most 1m"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"imds\": {\"slow\": true}}]}",
         ":1:42: instances[0].imds.slow: unknown key"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"crash_after\": -1}]}",
         ":1:48: instances[0].crash_after: expected a duration >= 0"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"hang_after\": \"2s\"}]}",
         ":1:47: instances[0].hang_after: a hang that nothing ends"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"reclaim_at_checkpoint\": 1.5}]}",
         ":1:58: instances[0].reclaim_at_checkpoint: expected the checkpoint_start to reclaim "
         "at"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"reclaim_checkpoint_delay\": \"5ms\"}]}",
         ":1:61: instances[0].reclaim_checkpoint_delay: needs reclaim_at_checkpoint"},
        {"{\"instances\": [{\"cloud\": \"aws\"}], \"progress_timeout\": \"soon\"}",
         ":1:55: progress_timeout: expected a duration"},
        {"{\"instances\": [{\"cloud\": \"aws\"}], \"checkpoint_dir\": 3}",
         ":1:53: checkpoint_dir: expected a folder name, got 3"},
        {"{\"instances\": [{\"cloud\": \"aws\"}], \"checkpoint_storage\": \"disk\"}",
         ":1:57: checkpoint_storage: expected \"remote\" or \"local\", got \"disk\""},
    };
    g_autofree char *dir = test_tmpdir_new();
    test_bad_schedules(dir, cases, G_N_ELEMENTS(cases));
    test_tmpdir_remove(dir);
}

static void
test_cli_fault_run(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *ck = g_build_filename(dir, "ck", NULL);
    /* Every fault key; the job (the storage check) is done on the second instance before any
     * of the first instance's faults is due. */
    g_autofree char *json = g_strdup_printf(
        "{\"instances\": [{\"cloud\": \"azure\", \"notice_after\": \"30s\", \"notice_late\": "
        "\"2s\", \"notice_duplicate\": \"1s\", \"notice_missed\": false,\n"
        "  \"imds\": {\"delay\": \"500ms\", \"fail_status\": 503, \"fail_count\": 3},\n"
        "  \"crash_after\": \"20s\", \"hang_after\": \"25s\", \"reclaim_at_checkpoint\": 2,\n"
        "  \"reclaim_checkpoint_delay\": \"5ms\"},\n"
        "  {\"cloud\": \"gcp\"}],\n"
        " \"progress_timeout\": \"10s\", \"checkpoint_dir\": \"%s\", \"checkpoint_storage\": "
        "\"local\"}",
        ck);
    const char *command[] = {"/bin/sh", "-c", storage_job, "{checkpoint_dir}", "no", NULL};
    json_t *doc = test_run_schedule(dir, json, command, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "outcome")), "finished");
    json_t *sched = json_object_get(doc, "schedule");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sched, "checkpoint_storage")),
                           "local");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sched, "checkpoint_dir")), ck);
    TEST_ASSERT_REL(json_number_value(json_object_get(sched, "progress_timeout")), 10.0, 1e-9);
    json_t *s0 = json_array_get(json_object_get(sched, "instances"), 0);
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "notice_late")), 2.0, 1e-9);
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "notice_duplicate")), 1.0, 1e-9);
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "crash_after")), 20.0, 1e-9);
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "hang_after")), 25.0, 1e-9);
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "reclaim_checkpoint_delay")), 0.005,
                    1e-9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s0, "reclaim_at_checkpoint")), 2);
    json_t *imds = json_object_get(s0, "imds");
    TEST_ASSERT_REL(json_number_value(json_object_get(imds, "delay")), 0.5, 1e-9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(imds, "fail_status")), 503);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(imds, "fail_count")), 3);
    json_decref(doc);
    /* The local disks went with their instances, and the folder made for them too. */
    CU_ASSERT_FALSE(g_file_test(ck, G_FILE_TEST_EXISTS));
    test_tmpdir_remove(dir);
}

int
main(int argc, char **argv)
{
    static const TestNamed tests[] = {
        {"a missed notice", test_notice_missed},
        {"a late notice", test_notice_late},
        {"a duplicated notice", test_notice_duplicate},
        {"a slow and failing metadata service", test_imds_faults},
        {"a crash, restarted on the same instance", test_crash},
        {"a hang, detected and restarted on the same instance", test_hang},
        {"a crash, then the reclaim before the restart", test_crash_then_reclaim},
        {"a reclaim in the middle of a checkpoint", test_reclaim_mid_checkpoint},
        {"local checkpoints lost with the instance", test_local_disk},
        {"checkpoint storage: local and remote folders", test_storage},
        {"free mid-run removes the local disk", test_free_removes_local_disk},
        {"spotlab testbed: bad fault schedules", test_cli_fault_schedules},
        {"spotlab testbed: every fault key", test_cli_fault_run},
    };
    return test_harness_main(argc, argv, "faults", tests, G_N_ELEMENTS(tests), &train_bin,
                             __calibrate);
}
