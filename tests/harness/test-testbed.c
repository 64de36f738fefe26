/* harness: `spotlab testbed SCENARIO`, end to end on the C reference path.
 *
 * - Fidelity: `spotlab calibrate` measures spotlab-train (tiny) on this machine; a scenario
 *   includes that profile, so that the simulator models the workload that really runs, on a
 *   stand-in pool reclaimed about every 12 s; the strategy checkpoints every 4 s and has no
 *   notice handler, so every reclaim loses work. The testbed replays the simulated replica on
 *   real processes; the results have the simulation's schema (the same fields as the
 *   prediction beside them), the job finished, and the measured lost work and recovery time
 *   are within 10% of the prediction, the target (not under valgrind, which delays spotlab's
 *   reading of the lines; the flow is checked there). The replica is checked first to
 *   have its reclaims well away from the checkpoints (where a few milliseconds of startup
 *   decide whether a checkpoint was made), so the comparison measures the model, not luck.
 * - Emergency checkpoints: the same scenario with a notice handler and 3 s AWS notices: every
 *   notice is seen through the emulated IMDS, every emergency checkpoint finishes, nothing is
 *   lost, as predicted.
 * - A time scale of 30: an hour of hazard-model trace in two minutes of wall time... in a
 *   short form: the job's profile is scaled with it, the results say so, and completion comes
 *   out in trace hours.
 * - The user's own command (argv from the scenario, {cloud} and {checkpoint_dir} replaced).
 * - SIGINT mid-run: exit 1, results still written, no process left, no stray files.
 * - No stray files in every case: the testbed's temporary folder is gone afterwards.
 */
#include "test-util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *train_bin;
static gboolean under_valgrind; /* spotlab runs under SPOTLAB_TEST_WRAPPER */
static char *profile_dir;       /* holds profile.json, calibrated once for every test */
static double step_s = 0;       /* the profile's step time */
static double startup = 0;      /* and startup */

/* "0.723ms" or "1.5s" (what the profile writes) in seconds. */
static double
__seconds(const char *text)
{
    if (text == NULL)
        return NAN;
    char *end = NULL;
    double v = g_ascii_strtod(text, &end);
    return strcmp(end, "ms") == 0 ? v / 1000 : strcmp(end, "s") == 0 ? v : (double)NAN;
}

/* Calibrates spotlab-train (tiny) once. */
static void
__calibrate(void)
{
    profile_dir = test_tmpdir_new();
    g_autofree char *profile = g_build_filename(profile_dir, "profile.json", NULL);
    const char *args[] = {"calibrate", "--runs", "1", "-o", profile, NULL};
    g_autofree char *out = NULL, *err = NULL;
    int status = test_spotlab(args, &out, &err);
    if (status != 0)
        fprintf(stderr, "spotlab calibrate: %s\n%s\n", out, err);
    CU_ASSERT_EQUAL_FATAL(status, 0);
    json_t *doc = json_load_file(profile, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    step_s = __seconds(json_string_value(json_object_get(doc, "step_time")));
    startup = __seconds(json_string_value(json_object_get(doc, "startup")));
    json_decref(doc);
    CU_ASSERT_FATAL(step_s > 0 && step_s < 0.05);
    CU_ASSERT_FATAL(startup > 0 && startup < 10);
}

/* A scenario in @dir: the calibrated tiny workload, @seconds of work, a pool reclaimed
 * @per_hour times an hour of trace, strategies with and without a notice handler; @testbed is
 * the "testbed" section. */
static char *
__scenario(const char *dir, double seconds, double per_hour, const char *notice,
           const char *testbed)
{
    g_autofree char *profile = g_build_filename(profile_dir, "profile.json", NULL);
    gint64 steps = (gint64)(seconds / step_s);
    g_autofree char *json = g_strdup_printf(
        "{\n"
        "  \"model\": \"continuous\", \"seed\": 3, \"replicas\": 40, \"horizon\": \"20h\",\n"
        "  \"clouds\": {\"aws\": {\"notice\": \"%s\", \"provisioning\": \"1s\",\n"
        "                       \"billing\": {\"granularity\": \"1s\", \"minimum\": \"1s\"}}},\n"
        "  \"pools\": [{\"name\": \"stand-in\", \"cloud\": \"aws\", \"instance_type\": \"cpu\",\n"
        "             \"hazard\": {\"rate\": \"%g/h\"}, \"spot_price\": \"$1.32/h\",\n"
        "             \"on_demand_price\": \"$3.90/h\"}],\n"
        "  \"job\": {\"type\": \"training\", \"steps\": %" G_GINT64_FORMAT ",\n"
        "          \"profile\": \"%s\"},\n"
        "  \"strategies\": [\n"
        "    {\"name\": \"periodic\", \"preset\": \"periodic\", \"checkpoint\": {\"every\": "
        "\"4s\"}},\n"
        "    {\"name\": \"emergency\", \"preset\": \"emergency\", \"checkpoint\": {\"every\": "
        "\"4s\"}}],\n"
        "  \"testbed\": %s\n"
        "}\n",
        notice, per_hour, steps, profile, testbed);
    char *path = g_build_filename(dir, "scenario.json", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, json, -1, NULL));
    return path;
}

static json_t *
__fidelity_row(json_t *doc, const char *metric)
{
    json_t *rows = json_object_get(doc, "fidelity");
    for (gsize i = 0; i < json_array_size(rows); i++)
        if (g_strcmp0(json_string_value(json_object_get(json_array_get(rows, i), "metric")),
                      metric) == 0)
            return json_array_get(rows, i);
    return NULL;
}

static double
__num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* The testbed's temporary folder goes in @dir/tmp, which must be empty afterwards. */
static char *
__tmp(const char *dir)
{
    char *tmp = g_build_filename(dir, "tmp", NULL);
    g_mkdir_with_parents(tmp, 0755);
    g_setenv("TMPDIR", tmp, TRUE);
    return tmp;
}

/* Hours of the replica's reclaims and checkpoints (the prediction's timeline). Returns the
 * smallest distance, in seconds of trace, from a reclaim back to the checkpoint before it. */
static double
__reclaim_margin(json_t *doc)
{
    json_t *events = json_object_get(
        json_object_get(json_array_get(json_object_get(doc, "prediction"), 0), "timeline"),
        "events");
    double last_ckpt = -1, margin = INFINITY;
    for (gsize i = 0; i < json_array_size(events); i++) {
        json_t *e = json_array_get(events, i);
        const char *kind = json_string_value(json_array_get(e, 1));
        double h = json_number_value(json_array_get(e, 0));
        if (strcmp(kind, "checkpoint") == 0 || strcmp(kind, "ready") == 0)
            last_ckpt = h;
        else if (strcmp(kind, "reclaim") == 0 && last_ckpt >= 0)
            margin = MIN(margin, (h - last_ckpt) * 3600);
    }
    return margin;
}

static void
test_fidelity(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *tmp = __tmp(dir);
    g_autofree char *scenario =
        __scenario(dir, 24, 300, "2m", "{\"strategy\": \"periodic\", \"replica\": 0}");
    g_autofree char *results = g_build_filename(dir, "results.json", NULL);
    g_autofree char *sim = g_build_filename(dir, "sim.json", NULL);

    /* Pick the first replica whose reclaims fall at least a second after a checkpoint (or the
     * start of work) and at least a second before the next, with at least two of them. */
    const char *run_args[] = {"run", scenario, "-o", sim, "--quiet", NULL};
    CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(run_args, NULL, NULL, 0), 0);
    json_t *simdoc = json_load_file(sim, 0, NULL);
    CU_ASSERT_FATAL(simdoc != NULL);
    json_decref(simdoc);

    int replica = -1;
    for (int r = 0; r < 40 && replica < 0; r++) {
        g_autofree char *rtext = g_strdup_printf("%d", r);
        const char *args[] = {"testbed", scenario,  "--replica", rtext, "-o",
                              results,   "--quiet", "--dry-run", NULL};
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL_FATAL(test_spotlab_expect(args, &out, &err, 0), 0);
        json_t *plan = json_load_file(results, 0, NULL);
        CU_ASSERT_FATAL(plan != NULL);
        json_t *run0 = json_array_get(
            json_object_get(json_array_get(json_object_get(plan, "prediction"), 0), "runs"), 0);
        double margin = __reclaim_margin(plan);
        double interruptions = __num(run0, "interruptions");
        if (interruptions >= 2 && margin >= 2.0 && margin <= 3.5 &&
            json_is_true(json_object_get(run0, "finished")))
            replica = r;
        json_decref(plan);
    }
    CU_ASSERT_FATAL(replica >= 0);

    g_autofree char *rtext = g_strdup_printf("%d", replica);
    const char *args[] = {"testbed", scenario, "--replica", rtext, "-o", results, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(args, &out, &err, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "prediction vs testbed"));
    json_t *doc = json_load_file(results, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "mode")), "testbed");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "model")), "continuous");
    json_t *measured = json_array_get(json_object_get(doc, "policies"), 0);
    json_t *predicted = json_array_get(json_object_get(doc, "prediction"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(measured, "name")), "periodic");
    json_t *mrun = json_array_get(json_object_get(measured, "runs"), 0);
    json_t *prun = json_array_get(json_object_get(predicted, "runs"), 0);
    /* The same schema: every field of the prediction's run, and of its summary. */
    const char *key;
    json_t *value;
    json_object_foreach(prun, key, value)
    {
        if (json_object_get(mrun, key) == NULL)
            fprintf(stderr, "measured run lacks %s\n", key);
        CU_ASSERT_PTR_NOT_NULL(json_object_get(mrun, key));
    }
    json_object_foreach(json_object_get(predicted, "summary"), key, value)
        CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(measured, "summary"), key));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(mrun, "replica")), replica);
    CU_ASSERT(json_is_true(json_object_get(mrun, "finished")));
    CU_ASSERT_EQUAL(__num(mrun, "interruptions"), __num(prun, "interruptions"));
    CU_ASSERT(__num(mrun, "lost_hours") > 0);
    CU_ASSERT(__num(mrun, "cost") > 0);
    /* Within 10%: lost work and recovery time. */
    const char *metrics[] = {"lost_hours", "recovery_seconds_mean"};
    for (gsize i = 0; i < G_N_ELEMENTS(metrics); i++) {
        json_t *row = __fidelity_row(doc, metrics[i]);
        CU_ASSERT_FATAL(row != NULL);
        double e = __num(row, "error_pct");
        fprintf(stderr, "fidelity %s: predicted %g, measured %g, error %+.1f%%\n", metrics[i],
                __num(row, "predicted"), __num(row, "measured"), e);
        /* Under valgrind spotlab reads the progress lines late: the flow is checked, not the
         * timing. */
        if (!under_valgrind)
            CU_ASSERT(fabs(e) <= 10.0);
    }
    /* Reports read it as a simulation's results, and say what the testbed measured. */
    g_autofree char *md = g_build_filename(dir, "report.md", NULL);
    g_autofree char *html = g_build_filename(dir, "report.html", NULL);
    const char *report_md[] = {"report", results, "-o", md, NULL};
    const char *report_html[] = {"report", results, "-o", html, NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(report_md, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL(test_spotlab_expect(report_html, NULL, NULL, 0), 0);
    g_autofree char *md_text = test_read_file(md);
    g_autofree char *html_text = test_read_file(html);
    CU_ASSERT(md_text != NULL && strstr(md_text, "Measured by the testbed: strategy periodic") &&
              strstr(md_text, "| prediction vs testbed |") &&
              strstr(md_text, "| lost_hours (hours) |"));
    CU_ASSERT(html_text != NULL && strstr(html_text, "Prediction against measurement") &&
              strstr(html_text, "measured by</dt>"));
    json_t *tb = json_object_get(doc, "testbed");
    CU_ASSERT_EQUAL(__num(tb, "time_scale"), 1.0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(tb, "notice_leads")), "real seconds");
    CU_ASSERT(json_is_object(json_object_get(tb, "record")));
    json_decref(doc);
    CU_ASSERT(test_dir_is_empty(tmp));
    test_tmpdir_remove(dir);
}

static void
test_emergency(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *tmp = __tmp(dir);
    g_autofree char *scenario = __scenario(dir, 12, 300, "3s",
                                           "{\"strategy\": \"emergency\", \"notice_poll\": "
                                           "\"100ms\"}");
    g_autofree char *results = g_build_filename(dir, "results.json", NULL);
    const char *args[] = {"testbed", scenario, "-o", results, "--quiet", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(args, NULL, NULL, 0), 0);
    json_t *doc = json_load_file(results, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    json_t *mrun = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "policies"), 0), "runs"), 0);
    json_t *prun = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "prediction"), 0), "runs"), 0);
    CU_ASSERT(json_is_true(json_object_get(mrun, "finished")));
    CU_ASSERT(__num(prun, "emergency_finished") >= 1);
    CU_ASSERT_EQUAL(__num(mrun, "emergency_finished"), __num(prun, "emergency_finished"));
    CU_ASSERT_EQUAL(__num(mrun, "emergency_attempted"), __num(mrun, "emergency_finished"));
    CU_ASSERT_EQUAL(__num(mrun, "lost_hours"), 0);
    /* Every notice went through the emulated IMDS and was seen there. */
    json_t *intr = json_object_get(json_object_get(json_object_get(doc, "testbed"), "record"),
                                   "interruptions");
    CU_ASSERT(json_array_size(intr) >= 1);
    for (gsize i = 0; i < json_array_size(intr); i++) {
        json_t *in = json_array_get(intr, i);
        if (json_is_null(json_object_get(in, "checkpoint_start")))
            continue; /* a notice before the job had started working */
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(in, "reaction_source")), "aws");
        CU_ASSERT(json_is_true(json_object_get(in, "checkpoint_in_time")));
    }
    json_decref(doc);
    CU_ASSERT(test_dir_is_empty(tmp));
    test_tmpdir_remove(dir);
}

static void
test_time_scale(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *tmp = __tmp(dir);
    /* At 30 s of trace per second, 10 s of work are 300 s of trace; 36 reclaims an hour of
     * trace are one every 3 s of wall time... the profile's times are scaled with it. */
    g_autofree char *scenario =
        __scenario(dir, 10, 36, "2m", "{\"strategy\": \"periodic\", \"time_scale\": 30}");
    g_autofree char *results = g_build_filename(dir, "results.json", NULL);
    const char *args[] = {"testbed", scenario, "-o", results, "--quiet", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(args, NULL, NULL, 0), 0);
    json_t *doc = json_load_file(results, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    json_t *tb = json_object_get(doc, "testbed");
    CU_ASSERT_EQUAL(__num(tb, "time_scale"), 30.0);
    /* The step time in trace seconds is 30 times the real one. */
    json_t *row = __fidelity_row(doc, "step_seconds");
    CU_ASSERT_FATAL(row != NULL);
    CU_ASSERT(fabs(__num(row, "predicted") / (30 * step_s) - 1) < 1e-6);
    if (!under_valgrind)
        CU_ASSERT(fabs(__num(row, "error_pct")) < 50);
    json_t *mrun = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "policies"), 0), "runs"), 0);
    CU_ASSERT(json_is_true(json_object_get(mrun, "finished")));
    /* Completion in trace hours: about 10 s of work, 30 times over. */
    double h = __num(mrun, "completion_hours");
    CU_ASSERT(h * 3600 > 10 * 30 * 0.7);
    double wall = __num(json_object_get(tb, "record"), "wall_seconds");
    CU_ASSERT(fabs(h * 3600 / 30 - wall) < (under_valgrind ? 2.0 : 0.5));
    json_decref(doc);
    CU_ASSERT(test_dir_is_empty(tmp));
    test_tmpdir_remove(dir);
}

static void
test_own_command(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *tmp = __tmp(dir);
    g_autofree char *testbed = g_strdup_printf(
        "{\"strategy\": \"emergency\", \"command\": [\"%s\", \"--checkpoint-dir\", "
        "\"{checkpoint_dir}\", \"--steps\", \"%" G_GINT64_FORMAT "\", \"--notice-cloud\", "
        "\"{cloud}\", \"--notice-poll\", \"100ms\", \"--log-every\", \"0\"]}",
        train_bin, (gint64)(6 / step_s));
    g_autofree char *scenario = __scenario(dir, 6, 300, "3s", testbed);
    g_autofree char *results = g_build_filename(dir, "results.json", NULL);
    const char *args[] = {"testbed", scenario, "-o", results, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(args, &out, &err, 0), 0);
    /* The command ran with its placeholders replaced, and never through a shell. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--notice-cloud {cloud}"));
    json_t *doc = json_load_file(results, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    json_t *tb = json_object_get(doc, "testbed");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(tb, "workload")), "command");
    json_t *cmd = json_object_get(json_object_get(tb, "record"), "command");
    CU_ASSERT(strstr(json_string_value(json_array_get(cmd, 2)), "checkpoints") != NULL);
    json_decref(doc);
    CU_ASSERT(test_dir_is_empty(tmp));
    test_tmpdir_remove(dir);
}

/* The fault catalogue from the scenario: a crash on the one instance of a pool that is never
 * reclaimed costs the work since the last checkpoint, which the prediction (no fault) does not
 * have; faults on an instance the replica does not have, or a notice fault on an instance
 * without a notice, are refused before anything runs. */
static void
test_scenario_faults(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *tmp = __tmp(dir);
    g_autofree char *scenario =
        __scenario(dir, 6, 0.001, "3s",
                   "{\"strategy\": \"periodic\", \"progress_timeout\": \"30s\",\n"
                   "  \"faults\": [{\"instance\": 0, \"crash_after\": \"2s\"}]}");
    const char *dry[] = {"testbed", scenario, "--dry-run", NULL};
    g_autofree char *dry_out = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(dry, &dry_out, NULL, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(dry_out, "faults: crash after 2 s"));
    g_autofree char *results = g_build_filename(dir, "results.json", NULL);
    const char *args[] = {"testbed", scenario, "-o", results, NULL};
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(args, &out, NULL, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Failures (restarted on the same instance)"));
    json_t *doc = json_load_file(results, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    json_t *tb = json_object_get(doc, "testbed");
    json_t *rec = json_object_get(tb, "record");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               json_array_get(json_object_get(tb, "plan"), 0), "faults")),
                           "crash after 2 s");
    TEST_ASSERT_REL(__num(json_object_get(rec, "schedule"), "progress_timeout"), 30.0, 1e-9);
    json_t *failures = json_object_get(rec, "failures");
    CU_ASSERT_EQUAL_FATAL(json_array_size(failures), 1);
    json_t *f = json_array_get(failures, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f, "kind")), "crash");
    CU_ASSERT(__num(f, "steps_lost") > 0);
    CU_ASSERT(__num(f, "recovered") > __num(f, "restarted"));
    /* Nothing predicted lost, the crash's work measured lost. */
    json_t *lost = __fidelity_row(doc, "lost_hours");
    CU_ASSERT_FATAL(lost != NULL);
    CU_ASSERT_EQUAL(__num(lost, "predicted"), 0.0);
    CU_ASSERT(__num(lost, "measured") > 0);
    json_decref(doc);

    /* Refused once the replica is known: an instance it does not have, and a notice fault on
     * one that gets no notice. */
    static const struct {
        const char *faults;
        const char *message;
    } bad[] = {
        {"[{\"instance\": 3, \"crash_after\": \"2s\"}]",
         "testbed.faults[0].instance: strategy \"periodic\", replica 0 runs on 1 instance(s) (0 "
         "to 0"},
        {"[{\"instance\": 0, \"notice_late\": \"2s\"}]",
         "testbed.faults[0]: a notice fault on instance 0, which gets no notice in replica 0"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *testbed =
            g_strdup_printf("{\"strategy\": \"periodic\", \"faults\": %s}", bad[i].faults);
        g_autofree char *path = __scenario(dir, 6, 0.001, "3s", testbed);
        const char *refused[] = {"testbed", path, NULL};
        g_autofree char *err = NULL;
        CU_ASSERT_EQUAL(test_spotlab_expect(refused, NULL, &err, 2), 2);
        if (err == NULL || strstr(err, bad[i].message) == NULL)
            fprintf(stderr, "\nexpected '%s' in: %s", bad[i].message, err ? err : "");
        CU_ASSERT_PTR_NOT_NULL(err != NULL ? strstr(err, bad[i].message) : NULL);
    }
    CU_ASSERT(test_dir_is_empty(tmp));
    test_tmpdir_remove(dir);
}

/* Whether any process runs spotlab-train with @marker among its arguments. */
static gboolean
__train_running(const char *marker)
{
    g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        if (!g_ascii_isdigit(name[0]))
            continue;
        g_autofree char *path = g_strdup_printf("/proc/%s/cmdline", name);
        g_autofree char *cmdline = NULL;
        gsize len = 0;
        if (!g_file_get_contents(path, &cmdline, &len, NULL))
            continue;
        for (gsize i = 0; i + 1 < len; i++)
            if (cmdline[i] == '\0')
                cmdline[i] = ' ';
        if (strstr(cmdline, "spotlab-train") != NULL && strstr(cmdline, marker) != NULL)
            return TRUE;
    }
    return FALSE;
}

static void
test_interrupted(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *tmp = __tmp(dir);
    g_autofree char *scenario = __scenario(dir, 60, 300, "2m", "{\"strategy\": \"periodic\"}");
    g_autofree char *results = g_build_filename(dir, "results.json", NULL);
    const char *argv[] = {
        g_getenv("SPOTLAB_BIN"), "testbed", scenario, "-o", results, "--quiet", NULL};
    GPid pid;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FATAL(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &pid, &error));
    /* Wait until the workload runs (its checkpoint folder is under @tmp), then interrupt. */
    gboolean running = FALSE;
    for (int i = 0; i < 200 && !running; i++) {
        g_usleep(50000);
        running = __train_running(tmp);
    }
    CU_ASSERT_FATAL(running);
    g_usleep(500000);
    kill(pid, SIGINT);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    g_spawn_close_pid(pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CU_ASSERT(!__train_running(tmp));
    json_t *doc = json_load_file(results, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    json_t *mrun = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "policies"), 0), "runs"), 0);
    CU_ASSERT(json_is_false(json_object_get(mrun, "finished")));
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(doc, "testbed"), "outcome")), "aborted");
    json_decref(doc);
    CU_ASSERT(test_dir_is_empty(tmp));
    test_tmpdir_remove(dir);
}

int
main(void)
{
    train_bin = g_getenv("SPOTLAB_TRAIN_BIN");
    if (train_bin == NULL || g_getenv("SPOTLAB_BIN") == NULL) {
        fprintf(stderr, "SPOTLAB_BIN and SPOTLAB_TRAIN_BIN must name the built programs\n");
        return 1;
    }
    under_valgrind = g_getenv("SPOTLAB_TEST_WRAPPER") != NULL;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("testbed scenario", NULL, NULL);
    CU_add_test(s, "calibrate the workload", __calibrate);
    CU_add_test(s, "fidelity: lost work and recovery within 10%", test_fidelity);
    CU_add_test(s, "emergency checkpoints through the IMDS", test_emergency);
    CU_add_test(s, "a time scale", test_time_scale);
    CU_add_test(s, "the scenario's own command", test_own_command);
    CU_add_test(s, "faults from the scenario", test_scenario_faults);
    CU_add_test(s, "SIGINT leaves nothing behind", test_interrupted);
    int rc = test_run_all();
    if (profile_dir != NULL)
        test_tmpdir_remove(profile_dir);
    return rc;
}
