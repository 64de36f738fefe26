/* harness: partial loss of a gang job (docs/testbed.md, "Gangs"). A gang of ranks of the C
 * reference workload spotlab-train (tiny), or of a small shell job, runs on an instance of the
 * schedule, each rank as a process group of its own beside a metadata service of its own; the
 * schedule's notice and reclaim hit one rank, and the supervisor, as a gang's agent, stops the
 * others. Each test checks what the record says, so that each would fail if the gang were run as
 * one process, if the others ran on, or if the job's saved state were taken from one rank:
 *
 * - no handler (Google): the reclaimed rank dies at its notice, the others get the teardown's
 *   SIGTERM at once; the job's lost work goes back to the newest periodic checkpoint that every
 *   rank wrote, every rank resumes from it on the next instance, and each ends with the state of
 *   an uninterrupted run;
 * - a handler (AWS): only the reclaimed rank's metadata service shows the notice; it saves and
 *   stops, the others save at the teardown's SIGTERM, each at a step of its own: those
 *   emergency checkpoints are no state of the job unless they hold the same step, and the job
 *   resumes from the newest step they all saved;
 * - a rank that ignores SIGTERM is killed when the teardown's time is up (`spotlab testbed
 *   --schedule`, local disks, {rank} and the gang's environment);
 * - the schedule's gang keys and their errors.
 *
 * Timing: the schedules are scaled to this machine by a calibration run, as test-faults.c does.
 */
#include "supervisor.h"
#include "harness-util.h"
#include "checkpoint-util.h"
#include "test-util.h"
#include "workload-util.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char *train_bin;
static double startup_s = 0.2; /* spotlab-train's start to its first step, measured */
static double steps_per_s = 1000;

static gint64
__us(double s)
{
    return (gint64)(s * 1e6);
}

static guint
__count_deliveries(const HarnessRunRecord *rec, guint instance, const char *what)
{
    guint n = 0;
    for (guint i = 0; i < rec->deliveries->len; i++) {
        const HarnessDelivery *d = &g_array_index(rec->deliveries, HarnessDelivery, i);
        n += d->instance == instance && strcmp(d->what, what) == 0;
    }
    return n;
}

static const HarnessInstanceRecord *
__member(const HarnessInstanceRecord *r, guint rank)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->members);
    CU_ASSERT_FATAL(rank < r->members->len);
    return &g_array_index(r->members, HarnessInstanceRecord, rank);
}

/* When the notice comes: well after every rank's startup (three start at once). */
static double
__notice_after(void)
{
    return MAX(0.8, 3 * startup_s + 0.5);
}

/* spotlab-train as a rank: its own folder, checkpoints every @every steps, kept. */
static GStrv
__rank_argv(gint64 steps, const char *every, gboolean handler)
{
    g_autofree char *steps_text = g_strdup_printf("%" G_GINT64_FORMAT, steps);
    if (!handler)
        return test_strv(train_bin, "--checkpoint-dir", "{checkpoint_dir}", "--checkpoint-every",
                         every, "--keep", "100", "--steps", steps_text, "--log-every", "0",
                         "--no-emergency-checkpoint", NULL);
    return test_strv(train_bin, "--checkpoint-dir", "{checkpoint_dir}", "--checkpoint-every", every,
                     "--keep", "100", "--steps", steps_text, "--log-every", "0", "--notice-cloud",
                     "{cloud}", "--notice-poll", "100ms", NULL);
}

/* The newest step of which every rank's folder in @dir holds a checkpoint (0: none): what the
 * job saved, by the files. */
static gint64
__newest_common(const char *dir, guint gang)
{
    gint64 best = 0;
    g_autofree char *first = g_build_filename(dir, "rank-0", NULL);
    g_autoptr(GDir) d = g_dir_open(first, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        gint64 step = 0;
        if (sscanf(name, "ckpt-%12" G_GINT64_MODIFIER "d.spck", &step) != 1 || step <= best ||
            !g_str_has_suffix(name, ".spck"))
            continue;
        gboolean all = TRUE;
        for (guint k = 1; all && k < gang; k++) {
            g_autofree char *rank = g_strdup_printf("rank-%u", k);
            g_autofree char *rank_dir = g_build_filename(dir, rank, NULL);
            g_autofree char *path = test_checkpoint_path(rank_dir, step);
            all = g_file_test(path, G_FILE_TEST_IS_REGULAR);
        }
        if (all)
            best = step;
    }
    return best;
}

/* Runs @cfg to its end, as test_supervisor_finished() does (@steps, 2 instances, 1
 * interruption), and looks at the folders between the two instances: *@saved is the newest step
 * of which every rank's folder held a checkpoint then (later instances write more). */
static HarnessSupervisor *
__run_gang(const HarnessSupervisorConfig *cfg, const char *dir, gint64 steps, gint64 *saved)
{
    g_autoptr(GError) error = NULL;
    HarnessSupervisor *sup = harness_supervisor_new(cfg, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    CU_ASSERT_FATAL(harness_supervisor_start(sup, ctx, &error));
    *saved = -1;
    while (!harness_supervisor_is_done(sup)) {
        g_main_context_iteration(ctx, TRUE);
        if (*saved < 0 && rec->instances->len == 1 &&
            test_record_instance(rec, 0)->ended_us != HARNESS_TIME_NONE)
            *saved = __newest_common(dir, cfg->gang);
    }
    g_main_context_pop_thread_default(ctx);
    CU_ASSERT(*saved >= 0);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL(rec->final_step, steps);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 2);
    CU_ASSERT_EQUAL_FATAL(rec->interruptions->len, 1);
    return sup;
}

/* Every rank of the last instance resumed from the interruption's saved step, and every rank's
 * folder ends with the state of an uninterrupted run. */
static void
__assert_resumed_together(const HarnessRunRecord *rec, const char *dir, gint64 steps,
                          const char *every, guint gang)
{
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    const HarnessInstanceRecord *next = test_record_instance(rec, 1);
    for (guint k = 0; k < gang; k++) {
        const HarnessInstanceRecord *m = __member(next, k);
        CU_ASSERT_EQUAL(m->end, HARNESS_END_COMPLETED);
        /* From scratch when no step was saved by all (a slow rank on a loaded machine). */
        CU_ASSERT_EQUAL(m->resume_step, in->saved_step > 0 ? in->saved_step : -1);
        g_autofree char *name = g_strdup_printf("rank-%u", k);
        g_autofree char *rank_dir = g_build_filename(dir, name, NULL);
        CU_ASSERT_STRING_EQUAL(m->checkpoint_dir, rank_dir);
        CU_ASSERT(test_same_as_uninterrupted(
            train_bin, rank_dir, steps, (const char *const[]){"--checkpoint-every", every, NULL}));
    }
    CU_ASSERT_EQUAL(next->resume_step, in->saved_step > 0 ? in->saved_step : -1);
}

/* Google without a handler: the reclaimed rank dies at its notice, the others at the
 * teardown's SIGTERM; back to the newest periodic checkpoint all ranks wrote. */
static void
test_gang_no_handler(void)
{
    unsigned before = CU_get_number_of_failures();
    const guint gang = 3;
    double notice_after = __notice_after();
    gint64 steps = (gint64)(steps_per_s * (notice_after + 1.0));
    /* Three ranks on this machine's processors may each go at a third of the calibrated pace:
     * checkpoints often enough that the slowest writes some before the notice. */
    gint64 every = MAX(10, (gint64)(steps_per_s * notice_after / 8));
    g_autofree char *every_text = g_strdup_printf("%" G_GINT64_FORMAT, every);
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv = __rank_argv(steps, every_text, FALSE);
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_GCP);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    specs[0].notice_after_us = __us(notice_after);
    specs[0].notice_lead_us = __us(1.0);
    specs[0].reclaimed_rank = 1;
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 2, .restart_delay_us = __us(0.2)},
        .checkpoint_dir = dir,
        .gang = gang,
        .gang_teardown_us = HARNESS_DEFAULT,
    };
    gint64 saved_files = -1;
    g_autoptr(HarnessSupervisor) sup = __run_gang(&cfg, dir, steps, &saved_files);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    const HarnessInstanceRecord *first = test_record_instance(rec, 0);
    CU_ASSERT_EQUAL_FATAL(first->members->len, gang);
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    CU_ASSERT_EQUAL(in->gang, gang);
    CU_ASSERT_EQUAL(in->rank, 1);
    /* Only the reclaimed rank got the cloud's SIGTERM; the others the teardown's, right after
     * it died, and the instance (its pid, its end) is the reclaimed rank's. */
    const HarnessInstanceRecord *lost = __member(first, 1);
    CU_ASSERT_EQUAL(lost->end, HARNESS_END_SIGNALED);
    CU_ASSERT_EQUAL(lost->exit_signal, SIGTERM);
    CU_ASSERT_EQUAL(lost->torn_down_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(first->pid, lost->pid);
    CU_ASSERT_EQUAL(first->end, HARNESS_END_SIGNALED);
    CU_ASSERT_EQUAL(__count_deliveries(rec, 0, "sigterm"), 1);
    CU_ASSERT_EQUAL(__count_deliveries(rec, 0, "teardown"), 1);
    CU_ASSERT_EQUAL(__count_deliveries(rec, 0, "teardown-kill"), 0);
    CU_ASSERT(in->teardown_us != HARNESS_TIME_NONE && in->teardown_us >= lost->exited_us);
    CU_ASSERT(in->teardown_us < in->reclaim_us);
    gint64 lowest = G_MAXINT64;
    for (guint k = 0; k < gang; k++) {
        const HarnessInstanceRecord *m = __member(first, k);
        lowest = MIN(lowest, m->last_step);
        CU_ASSERT(m->pid > 0);
        if (k == 1)
            continue;
        CU_ASSERT_EQUAL(m->torn_down_us, in->teardown_us);
        CU_ASSERT_EQUAL(m->end, HARNESS_END_SIGNALED);
        CU_ASSERT_EQUAL(m->exit_signal, SIGTERM);
        CU_ASSERT(m->exited_us >= m->torn_down_us);
        CU_ASSERT(m->pid != lost->pid);
    }
    /* The gang is as far as its slowest rank, and saved what all ranks saved: a periodic
     * checkpoint, every @every steps. */
    CU_ASSERT_EQUAL(in->last_step, lowest);
    CU_ASSERT_EQUAL(first->last_step, lowest);
    CU_ASSERT(in->saved_step % every == 0);
    CU_ASSERT(in->saved_step <= lowest);
    CU_ASSERT_EQUAL(in->saved_step, saved_files);
    CU_ASSERT_EQUAL(in->steps_lost, in->last_step - in->saved_step);
    CU_ASSERT(in->steps_lost == 0 || in->lost_us > 0);
    CU_ASSERT(in->recovered_us > in->restarted_us);
    __assert_resumed_together(rec, dir, steps, every_text, gang);
    json_t *doc = harness_supervisor_record_to_json(sup);
    json_t *j0 = json_array_get(json_object_get(doc, "instances"), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j0, "gang")), gang);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j0, "reclaimed_rank")), 1);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j0, "members")), gang);
    json_t *ji = json_array_get(json_object_get(doc, "interruptions"), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ji, "rank")), 1);
    CU_ASSERT(json_is_real(json_object_get(ji, "teardown")));
    json_t *jg = json_object_get(json_object_get(doc, "schedule"), "gang");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(jg, "size")), gang);
    TEST_ASSERT_REL(json_number_value(json_object_get(jg, "teardown")), 30.0, 1e-9);
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* AWS with a handler: each rank saves at a notice of its own, the reclaimed rank at the
 * metadata notice, the other at the teardown's SIGTERM. */
static void
test_gang_emergency(void)
{
    unsigned before = CU_get_number_of_failures();
    const guint gang = 2;
    double notice_after = __notice_after();
    gint64 steps = (gint64)(steps_per_s * (notice_after + 1.0));
    gint64 every = MAX(10, (gint64)(steps_per_s * notice_after / 3));
    g_autofree char *every_text = g_strdup_printf("%" G_GINT64_FORMAT, every);
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv = __rank_argv(steps, every_text, TRUE);
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    specs[0].notice_after_us = __us(notice_after);
    specs[0].notice_lead_us = __us(1.5);
    specs[0].grace_us = __us(0.5);
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 2, .restart_delay_us = __us(0.2)},
        .checkpoint_dir = dir,
        .gang = gang,
        .gang_teardown_us = __us(5),
    };
    gint64 saved_files = -1;
    g_autoptr(HarnessSupervisor) sup = __run_gang(&cfg, dir, steps, &saved_files);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    const HarnessInstanceRecord *first = test_record_instance(rec, 0);
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    const HarnessInstanceRecord *lost = __member(first, 0), *other = __member(first, 1);
    /* Rank 0 saw the notice on its own metadata service and saved in time; rank 1's service
     * never showed one. */
    CU_ASSERT_EQUAL(in->rank, 0);
    CU_ASSERT_STRING_EQUAL(in->reaction_source, "aws");
    /* Saved at the notice: its emergency checkpoint, or none when a periodic one of the same
     * step had just been written (spotlab-train writes no second checkpoint of a step). */
    CU_ASSERT(in->checkpoint_ok ||
              (in->emergency_checkpoints == 0 && lost->saved_step == lost->last_step));
    CU_ASSERT(lost->imds_notices_fetched > 0);
    CU_ASSERT(other->imds_requests > 0);
    CU_ASSERT_EQUAL(other->imds_notices_fetched, 0);
    CU_ASSERT_EQUAL(lost->end, HARNESS_END_STOPPED);
    /* Rank 1 saved at the teardown's SIGTERM and stopped, before its kill. */
    CU_ASSERT(other->torn_down_us >= lost->exited_us);
    CU_ASSERT_EQUAL(other->end, HARNESS_END_STOPPED);
    CU_ASSERT_EQUAL(__count_deliveries(rec, 0, "teardown-kill"), 0);
    CU_ASSERT(lost->saved_step == lost->last_step && lost->saved_step > 0);
    CU_ASSERT(other->saved_step == other->last_step && other->saved_step > 0);
    /* What the job saved: the newest step that both folders hold, not either rank's newest
     * (unless they agree); at two ranks' own steps, a periodic one. */
    CU_ASSERT_EQUAL(in->saved_step, saved_files);
    CU_ASSERT(in->saved_step <= MIN(lost->saved_step, other->saved_step));
    if (lost->saved_step != other->saved_step)
        CU_ASSERT(in->saved_step % every == 0);
    CU_ASSERT_EQUAL(in->last_step, MIN(lost->last_step, other->last_step));
    CU_ASSERT_EQUAL(in->steps_lost, in->last_step - in->saved_step);
    __assert_resumed_together(rec, dir, steps, every_text, gang);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* A rank that ignores SIGTERM: killed when the teardown's time is up. Through the command line,
 * with local disks; the job checks {rank} and the gang's environment on the second instance.
 * The notice comes a second in, when rank 0's shell has long set its trap. */
static const char teardown_job[] =
    "[ \"$SPOTLAB_GANG_SIZE\" = 2 ] && [ \"$SPOTLAB_GANG_RANK\" = \"$0\" ] || exit 5\n"
    "case \"$SPOTLAB_CHECKPOINT_DIR\" in *-rank-\"$0\") ;; *) exit 6 ;; esac\n"
    "[ \"$SPOTLAB_INSTANCE\" = 1 ] && exit 0\n"
    "[ \"$0\" = 0 ] && trap '' TERM\n"
    "while :; do sleep 0.05; done\n";

static void
test_gang_teardown_kill(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *ck = g_build_filename(dir, "disks", NULL);
    g_autofree char *json = g_strdup_printf(
        "{\"gang\": {\"size\": 2, \"teardown\": \"400ms\"}, \"checkpoint_storage\": \"local\", "
        "\"checkpoint_dir\": \"%s\",\n"
        " \"instances\": [{\"cloud\": \"gcp\", \"notice_after\": \"1s\", \"notice_lead\": "
        "\"2s\", \"reclaimed_rank\": 1},\n"
        "  {\"cloud\": \"azure\"}]}",
        ck);
    const char *command[] = {"/bin/sh", "-c", teardown_job, "{rank}", NULL};
    g_autofree char *out = NULL;
    json_t *doc = test_run_schedule(dir, json, command, &out);
    CU_ASSERT_FATAL(doc != NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " r1 "));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "outcome")), "finished");
    json_t *i0 = json_array_get(json_object_get(doc, "instances"), 0);
    json_t *m0 = json_array_get(json_object_get(i0, "members"), 0);
    json_t *m1 = json_array_get(json_object_get(i0, "members"), 1);
    CU_ASSERT_FATAL(m0 != NULL && m1 != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m1, "end")), "signaled");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m0, "end")), "killed");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m0, "exit_signal")), SIGKILL);
    double torn = json_number_value(json_object_get(m0, "torn_down"));
    double exited = json_number_value(json_object_get(m0, "exited"));
    /* Killed at the teardown plus its 400 ms, not before. */
    CU_ASSERT(exited >= torn + 0.4);
    json_t *kill = NULL;
    json_t *deliveries = json_object_get(doc, "deliveries");
    for (gsize i = 0; i < json_array_size(deliveries); i++) {
        json_t *d = json_array_get(deliveries, i);
        if (strcmp(json_string_value(json_object_get(d, "what")), "teardown-kill") == 0)
            kill = d;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(kill);
    TEST_ASSERT_REL(json_number_value(json_object_get(kill, "scheduled")), torn + 0.4, 1e-6);
    /* Each rank had a disk of its own, gone with the instance. */
    const char *d0 = json_string_value(json_object_get(m0, "checkpoint_dir"));
    const char *d1 = json_string_value(json_object_get(m1, "checkpoint_dir"));
    CU_ASSERT_FATAL(d0 != NULL && d1 != NULL);
    CU_ASSERT_STRING_NOT_EQUAL(d0, d1);
    CU_ASSERT_FALSE(g_file_test(ck, G_FILE_TEST_EXISTS));
    for (int k = 0; k < 2; k++)
        test_assert_group_gone((int)json_integer_value(
            json_object_get(json_array_get(json_object_get(i0, "members"), k), "pid")));
    json_decref(doc);
    test_tmpdir_remove(dir);
}

static void
test_gang_bad_schedules(void)
{
    static const TestBadSchedule cases[] = {
        {"{\"gang\": 3, \"instances\": [{\"cloud\": \"aws\"}]}",
         ":1:10: gang: expected {\"size\": N, \"teardown\": \"30s\"}, got 3"},
        {"{\"gang\": {\"size\": 0}, \"instances\": [{\"cloud\": \"aws\"}]}",
         ":1:19: gang.size: expected the number of ranks (an integer in 1..1024), got 0"},
        {"{\"gang\": {\"teardown\": \"1s\"}, \"instances\": [{\"cloud\": \"aws\"}]}",
         ":1:10: gang.size: missing; expected the number of ranks"},
        {"{\"gang\": {\"size\": 2, \"grace\": \"1s\"}, \"instances\": [{\"cloud\": \"aws\"}]}",
         ":1:22: gang.grace: unknown key"},
        {"{\"gang\": {\"size\": 2}, \"instances\": [{\"cloud\": \"aws\", \"reclaimed_rank\": 2}]}",
         ":1:72: instances[0].reclaimed_rank: expected a rank of the gang (0..1), got 2"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"reclaimed_rank\": 1}]}",
         ":1:51: instances[0].reclaimed_rank: expected a rank of the gang (0..0), got 1"},
        {"{\"gang\": {\"size\": 2}, \"instances\": [{\"cloud\": \"aws\", \"crash_after\": "
         "\"1s\"}]}",
         ":1:69: instances[0].crash_after: is for a single process"},
        {"{\"gang\": {\"size\": 2}, \"progress_timeout\": \"5s\", \"instances\": [{\"cloud\": "
         "\"aws\"}]}",
         ":1:43: progress_timeout: is for a single process"},
    };
    g_autofree char *dir = test_tmpdir_new();
    test_bad_schedules(dir, cases, G_N_ELEMENTS(cases));
    test_tmpdir_remove(dir);
}

/* Measures spotlab-train's startup and step rate on this machine, now. */
static void
__calibrate(void)
{
    test_train_measure(train_bin, &startup_s, &steps_per_s);
}

int
main(int argc, char **argv)
{
    static const TestNamed tests[] = {
        {"a gang without a handler: back to what all ranks saved", test_gang_no_handler},
        {"a gang with a handler: emergency checkpoints of different steps", test_gang_emergency},
        {"a gang's rank that ignores SIGTERM is killed at the teardown's end",
         test_gang_teardown_kill},
        {"spotlab testbed: bad gang schedules", test_gang_bad_schedules},
    };
    return test_harness_main(argc, argv, "gang", tests, G_N_ELEMENTS(tests), &train_bin,
                             __calibrate);
}
