/* harness: the supervisor runs one job across a schedule of simulated instances, delivers each
 * cloud's notice its own way, measures from the progress lines, and leaves nothing behind.
 *
 * - End to end on the C reference path: spotlab-train (tiny) reclaimed on AWS (IMDSv2
 *   instance-action polled by its watcher), Google (preempted, plus SIGTERM at the notice) and
 *   Azure (Scheduled Events Preempt), then finishing on a fourth instance: every notice seen,
 *   from the metadata service first where SIGTERM only comes at reclaim; every emergency
 *   checkpoint complete before any kill; no more steps lost than were done between the notice
 *   and the checkpoint; recovery measured; the final state byte for byte that of an
 *   uninterrupted run; no process left in any instance's group.
 * - A workload that ignores the notice (--hang-at) is SIGKILLed at reclaim + grace; the record
 *   says killed, no checkpoint, the steps lost.
 * - harness_supervisor_abort() from a timer, and harness_supervisor_free() mid-run, leave no
 *   process behind, grandchildren included.
 * - `spotlab testbed`: bad schedules exit 2 with FILE:LINE:COL: field: expected ...; a good run
 *   writes the JSON record and exits 0.
 *
 * Timing: the schedule is scaled to this machine. A short calibration run measures
 * spotlab-train's startup and step rate; the notices come after a few startups, and the job is
 * long enough that three instances cannot finish it however fast the machine gets.
 *
 * Valgrind: under the valgrind setup this test and the spotlab it starts run under memcheck,
 * but the workload processes run natively. Under memcheck spotlab-train trains about fifty
 * times slower, so the schedule would need minutes to land its notices mid-run;
 * spotlab-train's own memory is checked by tests/workloads under valgrind.
 */
#include "checkpoint.h"
#include "supervisor.h"
#include "harness-util.h"
#include "checkpoint-util.h"
#include "test-util.h"
#include "workload-util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Each time is measured when its delivery ran, and each is scheduled against the schedule
 * rather than against the late delivery before it, so that lateness does not add up: two
 * deliveries can be closer together than their schedules by the first one's lateness. */
#define SLACK_US 20000

static const char *train_bin;
static double startup_s = 0.2; /* spotlab-train's start to its first step, measured */
static double steps_per_s = 1000;

static void
__assert_nothing_left(const HarnessRunRecord *rec)
{
    for (guint i = 0; i < rec->instances->len; i++) {
        int pid = g_array_index(rec->instances, HarnessInstanceRecord, i).pid;
        CU_ASSERT(pid > 0);
        if (pid > 0 && !test_group_gone(pid)) {
            fprintf(stderr, "process group %d of instance %u still runs\n", pid, i);
            CU_FAIL("a process of an instance survived the run");
        }
    }
}

/* Runs spotlab-train natively (see the header on valgrind). */
static TestWorkload *
__train_direct(const char *const *args)
{
    return test_train_spawn(train_bin, args);
}

/* Measures startup and step rate on this machine, now. */
static void
__calibrate(void)
{
    test_train_measure(train_bin, &startup_s, &steps_per_s);
}

static gint64
__us(double s)
{
    return (gint64)(s * 1e6);
}

static void
test_three_clouds(void)
{
    __calibrate();
    /* Notices well after startup; the job needs the time of three such instances and two
     * seconds more at the measured rate, so that it ends on the fourth even if the machine
     * gets much faster meanwhile. */
    double notice_after = MAX(0.6, 2 * startup_s + 0.3);
    gint64 steps = (gint64)(steps_per_s * (3 * notice_after + 2.0));
    g_autofree char *steps_text = g_strdup_printf("%" G_GINT64_FORMAT, steps);

    g_autofree char *ref_dir = test_tmpdir_new();
    const char *ref_args[] = {"--steps", steps_text, "--checkpoint-dir", ref_dir, "--log-every",
                              "0",       NULL};
    g_autoptr(TestWorkload) ref = __train_direct(ref_args);
    CU_ASSERT_FATAL(ref != NULL);
    CU_ASSERT_EQUAL_FATAL(test_workload_wait(ref, 600), 0);

    g_autofree char *dir = test_tmpdir_new();
    const char *argv[] = {train_bin,  "--checkpoint-dir", dir,     "--notice-cloud",
                          "{cloud}",  "--notice-poll",    "200ms", "--steps",
                          steps_text, "--log-every",      "0",     NULL};
    HarnessImdsCloud clouds[] = {HARNESS_IMDS_AWS, HARNESS_IMDS_GCP, HARNESS_IMDS_AZURE,
                                 HARNESS_IMDS_AWS};
    HarnessInstanceSpec specs[4];
    for (guint i = 0; i < 4; i++) {
        harness_instance_spec_init(&specs[i], clouds[i]);
        specs[i].price_per_hour = 3.0;
        if (i < 3) {
            specs[i].notice_after_us = __us(notice_after);
            specs[i].notice_lead_us = __us(1.5);
            specs[i].grace_us = __us(0.5);
        }
    }
    HarnessSupervisorConfig cfg = {
        .argv = argv,
        .schedule = {.instances = specs, .n_instances = 4, .restart_delay_us = __us(0.2)},
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(HarnessSupervisor) sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_FATAL(sup != NULL);
    gboolean ok = harness_supervisor_run(sup, NULL, &error);
    if (!ok)
        fprintf(stderr, "run: %s\n", error->message);
    CU_ASSERT_FATAL(ok);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    json_t *doc = harness_supervisor_record_to_json(sup);
    g_autofree char *text = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);

    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL(rec->final_step, steps);
    CU_ASSERT_EQUAL(rec->total_steps, steps);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 4);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 3);
    for (guint i = 0; i < 4; i++) {
        const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, i);
        CU_ASSERT_EQUAL(r->end, i < 3 ? HARNESS_END_STOPPED : HARNESS_END_COMPLETED);
        CU_ASSERT_EQUAL(r->bad_lines, 0);
        CU_ASSERT(r->ended_us >= r->started_us);
        /* The job moved on every instance: it was mid-run at each notice. */
        CU_ASSERT(r->first_step > 0 && r->last_step > r->first_step);
        TEST_ASSERT_REL(r->cost, 3.0 * (double)(r->ended_us - r->started_us) / 3.6e9, 1e-9);
    }
    for (guint i = 0; i < 3; i++) {
        const HarnessInterruption *in = &g_array_index(rec->interruptions, HarnessInterruption, i);
        CU_ASSERT_EQUAL(in->instance, i);
        CU_ASSERT_EQUAL(in->cloud, clouds[i]);
        /* Seen, and through the cloud's own mechanism: SIGTERM comes only at reclaim on AWS
         * and Azure, so the metadata notice must have been first there. */
        CU_ASSERT(in->reaction_us != HARNESS_TIME_NONE && in->reaction_us >= in->notice_us);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in->reaction_source);
        if (clouds[i] == HARNESS_IMDS_GCP) {
            CU_ASSERT(strcmp(in->reaction_source, "gcp") == 0 ||
                      strcmp(in->reaction_source, "sigterm") == 0);
            CU_ASSERT(in->sigterm_us != HARNESS_TIME_NONE && in->sigterm_us >= in->notice_us);
        } else {
            CU_ASSERT_STRING_EQUAL(in->reaction_source, harness_imds_cloud_name(clouds[i]));
            /* It left with its checkpoint before the OS shutdown: no SIGTERM was needed. */
            CU_ASSERT_EQUAL(in->sigterm_us, HARNESS_TIME_NONE);
        }
        /* The emergency checkpoint was complete, before any kill (there was none). */
        CU_ASSERT(in->checkpoint_ok);
        CU_ASSERT(in->checkpoint_start_us >= in->notice_us);
        CU_ASSERT(in->checkpoint_end_us >= in->checkpoint_start_us);
        CU_ASSERT_EQUAL(in->killed_us, HARNESS_TIME_NONE);
        CU_ASSERT(in->exited_us >= in->checkpoint_end_us);
        CU_ASSERT(in->reclaim_us >= in->notice_us + __us(1.5) - SLACK_US);
        /* Nothing lost beyond the steps done between the notice and the checkpoint. */
        CU_ASSERT(in->checkpoint_step >= in->step_at_notice);
        CU_ASSERT(in->steps_lost >= 0 &&
                  in->steps_lost <= in->checkpoint_step - in->step_at_notice);
        CU_ASSERT_EQUAL(in->saved_step, in->checkpoint_step);
        CU_ASSERT_EQUAL(in->last_step, in->checkpoint_step);
        /* The next instance started after the reclaim and the restart delay, and recovered. */
        const HarnessInstanceRecord *next =
            &g_array_index(rec->instances, HarnessInstanceRecord, i + 1);
        CU_ASSERT_EQUAL(in->restarted_us, next->started_us);
        CU_ASSERT(in->restarted_us >= in->reclaim_us + __us(0.2) - SLACK_US);
        CU_ASSERT(in->recovered_us > in->restarted_us);
        CU_ASSERT_EQUAL(next->resume_step, in->checkpoint_step);
    }
    /* Every delivery was recorded and came at or after its schedule. */
    guint notices = 0;
    for (guint i = 0; i < rec->deliveries->len; i++) {
        const HarnessDelivery *d = &g_array_index(rec->deliveries, HarnessDelivery, i);
        CU_ASSERT(d->actual_us >= d->scheduled_us);
        notices += strcmp(d->what, "notice") == 0;
    }
    CU_ASSERT_EQUAL(notices, 3);

    g_autofree char *a = test_checkpoint_path(ref_dir, steps);
    g_autofree char *b = test_checkpoint_path(dir, steps);
    CU_ASSERT(test_same_training_state(a, b));
    __assert_nothing_left(rec);
    if (CU_get_number_of_failures() > 0)
        fprintf(stderr, "record:\n%s\n", text);
    test_tmpdir_remove(ref_dir);
    test_tmpdir_remove(dir);
}

static void
test_ignores_notice(void)
{
    g_autofree char *dir = test_tmpdir_new();
    const char *argv[] = {train_bin, "--checkpoint-dir",
                          dir,       "--notice-cloud",
                          "aws",     "--notice-poll",
                          "100ms",   "--hang-at",
                          "5",       "--steps",
                          "1000000", "--log-every",
                          "0",       NULL};
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_AWS);
    /* After it hangs, so that nothing can write a checkpoint any more. */
    spec.notice_after_us = __us(2 * startup_s + 0.5);
    spec.notice_lead_us = __us(0.3);
    spec.grace_us = __us(0.3);
    HarnessSupervisorConfig cfg = {
        .argv = argv,
        .schedule = {.instances = &spec, .n_instances = 1},
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(HarnessSupervisor) sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_FATAL(sup != NULL);
    CU_ASSERT_FATAL(harness_supervisor_run(sup, NULL, &error));
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_NOT_FINISHED);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 1);
    const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, 0);
    CU_ASSERT_EQUAL(r->end, HARNESS_END_KILLED);
    CU_ASSERT_EQUAL(r->exit_signal, SIGKILL);
    CU_ASSERT_EQUAL(r->last_step, 5);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 1);
    const HarnessInterruption *in = &g_array_index(rec->interruptions, HarnessInterruption, 0);
    /* SIGTERM at reclaim (AWS), ignored; SIGKILL at reclaim + grace. */
    CU_ASSERT(in->sigterm_us >= in->notice_us + __us(0.3) - SLACK_US);
    CU_ASSERT(in->killed_us >= in->notice_us + __us(0.6) - SLACK_US);
    CU_ASSERT(in->exited_us >= in->killed_us);
    CU_ASSERT_FALSE(in->checkpoint_ok);
    CU_ASSERT_EQUAL(in->checkpoint_end_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(in->steps_lost, 5);
    CU_ASSERT_EQUAL(in->recovered_us, HARNESS_TIME_NONE);
    json_t *doc = harness_supervisor_record_to_json(sup);
    json_t *j = json_array_get(json_object_get(doc, "interruptions"), 0);
    CU_ASSERT(json_is_false(json_object_get(j, "checkpoint_in_time")));
    CU_ASSERT(json_is_number(json_object_get(j, "killed")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "outcome")), "not-finished");
    json_decref(doc);
    __assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* A job whose process starts a grandchild: the group must go, not only the leader. */
static const char *const forking_job[] = {"/bin/sh", "-c", "sleep 1000 & exec sleep 1000", NULL};

static gboolean
__abort_cb(gpointer user_data)
{
    harness_supervisor_abort(user_data);
    return G_SOURCE_REMOVE;
}

static void
test_abort(void)
{
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_GCP);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    HarnessSupervisorConfig cfg = {
        .argv = forking_job,
        .schedule = {.instances = specs, .n_instances = 2},
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(HarnessSupervisor) sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_FATAL(sup != NULL);
    g_autoptr(GMainContext) ctx = g_main_context_new();
    GSource *t = g_timeout_source_new(300);
    g_source_set_callback(t, __abort_cb, sup, NULL);
    g_source_attach(t, ctx);
    g_source_unref(t);
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_FALSE(harness_supervisor_run(sup, ctx, &error));
    CU_ASSERT(g_error_matches(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_ABORTED));
    CU_ASSERT(g_get_monotonic_time() - t0 < 30 * G_USEC_PER_SEC);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_ABORTED);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 1);
    CU_ASSERT_EQUAL(g_array_index(rec->instances, HarnessInstanceRecord, 0).end,
                    HARNESS_END_ABORTED);
    __assert_nothing_left(rec);
    /* Aborting again, after the end, does nothing. */
    harness_supervisor_abort(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_ABORTED);
}

static void
test_free_mid_run(void)
{
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_AZURE);
    HarnessSupervisorConfig cfg = {
        .argv = forking_job,
        .schedule = {.instances = &spec, .n_instances = 1},
    };
    g_autoptr(GError) error = NULL;
    HarnessSupervisor *sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_FATAL(sup != NULL);
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    CU_ASSERT_FATAL(harness_supervisor_start(sup, ctx, &error));
    gint64 until = g_get_monotonic_time() + 300 * 1000;
    while (g_get_monotonic_time() < until)
        g_main_context_iteration(ctx, FALSE), g_usleep(10 * 1000);
    CU_ASSERT_FALSE(harness_supervisor_is_done(sup));
    int pgid =
        g_array_index(harness_supervisor_record(sup)->instances, HarnessInstanceRecord, 0).pid;
    CU_ASSERT(pgid > 0 && test_group_running(pgid));
    harness_supervisor_free(sup);
    g_main_context_pop_thread_default(ctx);
    CU_ASSERT(test_group_gone(pgid));
}

static void
test_start_fails(void)
{
    const char *argv[] = {"/nonexistent/spotlab-job", NULL};
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_AWS);
    HarnessSupervisorConfig cfg = {.argv = argv,
                                   .schedule = {.instances = &spec, .n_instances = 1}};
    g_autoptr(GError) error = NULL;
    g_autoptr(HarnessSupervisor) sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_FATAL(sup != NULL);
    CU_ASSERT_FALSE(harness_supervisor_run(sup, NULL, &error));
    CU_ASSERT(g_error_matches(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_SPAWN));
    CU_ASSERT_EQUAL(harness_supervisor_record(sup)->outcome, HARNESS_RUN_ERROR);
    /* A configuration that cannot run is refused up front. */
    HarnessSupervisorConfig empty = {.argv = argv};
    g_autoptr(GError) e2 = NULL;
    CU_ASSERT_PTR_NULL(harness_supervisor_new(&empty, &e2));
    CU_ASSERT(g_error_matches(e2, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID));
}

/* ---- spotlab testbed ---------------------------------------------------------------------- */

static void
test_cli_bad_schedules(void)
{
    static const TestBadSchedule cases[] = {
        {"{\"instances\": [{\"cloud\": \"aws\", \"notice_after\": \"soon\"}]}",
         ":1:49: instances[0].notice_after: expected a duration"},
        {"{\"instances\": [\n  {\"cloud\": \"aws\", \"lead\": \"2s\"}]}",
         ":2:20: instances[0].lead: unknown key"},
        {"{\"instances\": [{\"cloud\": \"ibm\"}]}",
         ":1:26: instances[0].cloud: expected \"aws\", \"gcp\" or \"azure\", got \"ibm\""},
        {"{\"instances\": []}", ":1:15: instances: expected a non-empty list"},
        {"{\"instances\": [{\"cloud\": \"aws\"}], \"restart_delay\": true}",
         ":1:52: restart_delay: expected a duration"},
        {"{\"instances\": [{\"cloud\": \"gcp\", \"notice_lead\": -2}]}",
         ":1:48: instances[0].notice_lead: expected a duration >= 0"},
        {"{\"instances\": [{\"cloud\": \"gcp\", \"sigterm\": \"later\"}]}",
         ":1:44: instances[0].sigterm: expected \"notice\""},
        {"{\"instances\": [{\"notice_after\": \"1s\"}]}", ":1:16: instances[0].cloud: missing"},
        {"{\"instances\": [{\"cloud\": \"aws\"}],", ":1:"},
        {"[1]", ":1:1: expected a schedule"},
    };
    g_autofree char *dir = test_tmpdir_new();
    test_bad_schedules(dir, cases, G_N_ELEMENTS(cases));
    /* Usage: no schedule, no command. */
    g_autofree char *path = g_build_filename(dir, "schedule.json", NULL);
    const char *no_schedule[] = {"testbed", "--", "true", NULL};
    const char *no_command[] = {"testbed", "--schedule", path, NULL};
    g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(no_schedule, &o1, &e1, 2), 2);
    CU_ASSERT_EQUAL(test_spotlab_expect(no_command, &o2, &e2, 2), 2);
    test_tmpdir_remove(dir);
}

static void
test_cli_good_run(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *ck = g_build_filename(dir, "ck", NULL);
    double notice_after = MAX(0.6, 2 * startup_s + 0.3);
    gint64 steps = (gint64)(steps_per_s * (notice_after + 1.0));
    g_autofree char *json = g_strdup_printf(
        "{\"instances\": [{\"cloud\": \"azure\", \"notice_after\": %.3f, \"notice_lead\": "
        "\"1s\", \"grace\": \"500ms\", \"price_per_hour\": \"$2/h\"},\n"
        "  {\"cloud\": \"aws\"}], \"restart_delay\": \"100ms\"}",
        notice_after);
    g_autofree char *steps_text = g_strdup_printf("%" G_GINT64_FORMAT, steps);
    const char *command[] = {train_bin,  "--checkpoint-dir", ck,      "--notice-cloud",
                             "{cloud}",  "--notice-poll",    "200ms", "--steps",
                             steps_text, "--log-every",      "0",     NULL};
    g_autofree char *out = NULL;
    json_t *doc = test_run_schedule(dir, json, command, &out);
    CU_ASSERT_FATAL(doc != NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "outcome: finished"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "azure"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "outcome")), "finished");
    CU_ASSERT(json_is_true(json_object_get(doc, "finished")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "final_step")), steps);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "instances")), 2);
    json_t *in = json_array_get(json_object_get(doc, "interruptions"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(in, "reaction_source")), "azure");
    CU_ASSERT(json_is_true(json_object_get(in, "checkpoint_in_time")));
    CU_ASSERT(json_is_null(json_object_get(in, "killed")));
    CU_ASSERT(json_is_number(json_object_get(in, "recovery_seconds")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(in, "steps_lost")), 0);
    CU_ASSERT(json_number_value(json_object_get(doc, "cost")) > 0);
    json_decref(doc);
    /* No temporary file left beside the record. */
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL)
        CU_ASSERT(strstr(name, ".tmp") == NULL);
    test_tmpdir_remove(dir);
}

int
main(int argc, char **argv)
{
    static const TestNamed tests[] = {
        {"three clouds, then finished", test_three_clouds},
        {"a workload that ignores the notice is killed", test_ignores_notice},
        {"abort leaves nothing behind", test_abort},
        {"free mid-run leaves nothing behind", test_free_mid_run},
        {"a command that cannot start", test_start_fails},
        {"spotlab testbed: bad schedules", test_cli_bad_schedules},
        {"spotlab testbed: a good run", test_cli_good_run},
    };
    return test_harness_main(argc, argv, "supervisor", tests, G_N_ELEMENTS(tests), &train_bin,
                             NULL);
}
