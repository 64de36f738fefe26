/* `spotlab calibrate` and the profiles that scenarios include (docs/calibration.md).
 *
 * - Calibrating spotlab-train tiny (found beside spotlab, as a user's build finds it) writes a
 *   well-formed profile whose figures agree with what spotlab-train's own progress lines say when
 *   the test runs it: the same checkpoint size, to the byte; a step time within the spread the
 *   profile gives and near the test's own run; write and restore times and bandwidths > 0; a
 *   point for every checkpoint written and restored, of two sizes; and the temporary folder is
 *   gone afterwards.
 * - A scenario that includes that profile takes its step time, startup and checkpoint; with a
 *   profile that has fixed costs (tests/data/cli/profile-h100.json), they are folded into the
 *   bandwidths at the job's checkpoint size; what the job states itself wins, and
 *   Scenario.job_from_profile says which fields came from the profile.
 * - Bad profiles (missing, bad JSON, another kind of file, bad units) exit 2 with a message that
 *   names the scenario's "job.profile" and the profile's file, line, column and field.
 * - Commands that cannot start or do not speak the progress protocol exit 2; a workload run that
 *   fails exits 1; any command that speaks the protocol can be calibrated (one checkpoint size:
 *   no fixed cost fitted); bad usage exits 2. No case leaves its temporary folder behind. */
#include "profile.h"
#include "scenario-private.h"
#include "test-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 2

static char *work;     /* a temporary folder for the whole file */
static char *profile;  /* the profile calibrated once, in @work */
static char *cal_out;  /* what that calibration printed */
static int cal_status; /* and its exit status */

static const char *
__train(void)
{
    const char *train = g_getenv("SPOTLAB_TRAIN_BIN");
    g_assert(train != NULL);
    return train;
}

static json_t *
__load_json(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL)
        fprintf(stderr, "\n%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
    return doc;
}

/* A duration, size or bandwidth member of @obj, parsed as scenarios parse them (@parse). */
static double
__parsed(json_t *obj, const char *key, gboolean (*parse)(const char *, double *))
{
    double v = -1;
    const char *text = json_string_value(json_object_get(obj, key));
    CU_ASSERT_PTR_NOT_NULL(text);
    CU_ASSERT(text != NULL && parse(text, &v));
    return v;
}

static double
__duration(json_t *obj, const char *key)
{
    return __parsed(obj, key, scenario_parse_duration);
}

static double
__size(json_t *obj, const char *key)
{
    return __parsed(obj, key, scenario_parse_size);
}

static double
__bandwidth(json_t *obj, const char *key)
{
    return __parsed(obj, key, scenario_parse_bandwidth);
}

static int
__cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
__median(const GArray *a)
{
    if (a == NULL || a->len == 0)
        return NAN;
    g_autofree double *v = g_new(double, a->len);
    memcpy(v, a->data, a->len * sizeof(double));
    qsort(v, a->len, sizeof(double), __cmp);
    return v[a->len / 2];
}

/* What spotlab-train says of itself, run here directly (never under a wrapper such as
 * valgrind, so that its times are the ones calibrate saw): the step times, the checkpoint files'
 * sizes and the start line's checkpoint_bytes. */
typedef struct {
    double step_median;      /* of the step lines' step_seconds */
    double file_bytes;       /* of the first checkpoint_end line */
    double checkpoint_bytes; /* of the start line */
} TrainLines;

static gboolean
__train_lines(TrainLines *t)
{
    g_autofree char *dir = g_build_filename(work, "own-run", NULL);
    g_autofree char *log = g_build_filename(work, "own-run.jsonl", NULL);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return FALSE;
    const char *argv[] = {
        __train(),     "--steps", "100", "--checkpoint-dir", dir, "--checkpoint-every", "25",
        "--log-every", "0",       NULL};
    g_auto(GStrv) envp = g_environ_setenv(g_get_environ(), "SPOTLAB_PROGRESS_FD", "3", TRUE);
    int source[] = {fd}, target[] = {3};
    GPid pid = 0;
    g_autoptr(GError) error = NULL;
    gboolean ok = g_spawn_async_with_pipes_and_fds(
        NULL, argv, (const char *const *)envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, -1, -1, -1,
        source, target, 1, &pid, NULL, NULL, NULL, &error);
    close(fd);
    if (!ok) {
        fprintf(stderr, "\n%s\n", error->message);
        return FALSE;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    g_autofree char *text = NULL;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        !g_file_get_contents(log, &text, NULL, NULL))
        return FALSE;
    g_autoptr(GArray) steps = g_array_new(FALSE, FALSE, sizeof(double));
    t->file_bytes = NAN;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        json_t *o = json_loads(lines[i], 0, NULL);
        const char *ev = json_string_value(json_object_get(o, "event"));
        if (g_strcmp0(ev, "step") == 0) {
            double s = json_number_value(json_object_get(o, "step_seconds"));
            g_array_append_val(steps, s);
        } else if (g_strcmp0(ev, "checkpoint_end") == 0 && isnan(t->file_bytes)) {
            t->file_bytes = json_number_value(json_object_get(o, "bytes"));
        } else if (g_strcmp0(ev, "start") == 0) {
            t->checkpoint_bytes = json_number_value(json_object_get(o, "checkpoint_bytes"));
        }
        json_decref(o);
    }
    t->step_median = __median(steps);
    return steps->len > 0 && t->file_bytes > 0;
}

/* ---- calibrating spotlab-train ----------------------------------------------------------------
 */

static void
test_calibrate_writes_a_profile(void)
{
    if (cal_status != 0)
        fprintf(stderr, "\nspotlab calibrate: exit %d\n%s\n", cal_status, cal_out);
    CU_ASSERT_EQUAL_FATAL(cal_status, 0);
    /* The table, then where the profile went. */
    CU_ASSERT_PTR_NOT_NULL(strstr(cal_out, "step time "));
    CU_ASSERT_PTR_NOT_NULL(strstr(cal_out, "startup "));
    CU_ASSERT_PTR_NOT_NULL(strstr(cal_out, "  write "));
    CU_ASSERT_PTR_NOT_NULL(strstr(cal_out, "  restore "));
    CU_ASSERT_PTR_NOT_NULL(strstr(cal_out, "profile: "));

    json_t *doc = __load_json(profile);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "kind")), "spotlab-profile");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "version")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "runs")), RUNS);
    json_t *wl = json_object_get(doc, "workload");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wl, "preset")), "tiny");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wl, "config")), "tiny");
    CU_ASSERT(g_str_has_suffix(json_string_value(json_array_get(json_object_get(wl, "command"), 0)),
                               "spotlab-train"));
    json_t *machine = json_object_get(doc, "machine");
    CU_ASSERT(json_integer_value(json_object_get(machine, "cores")) >= 1);
    CU_ASSERT(json_is_string(json_object_get(machine, "host")));
    CU_ASSERT(json_is_string(json_object_get(doc, "measured")));

    /* The whole file reads back as a profile. */
    Profile p;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FATAL(profile_load(profile, &p, &error));
    CU_ASSERT(p.step_seconds > 0 && p.step_seconds < 1);
    CU_ASSERT(p.startup_seconds > 0 && p.startup_seconds < 10);
    CU_ASSERT(p.checkpoint_gb > 0);
    CU_ASSERT(p.write_gbps > 0 && p.restore_gbps > 0);
    CU_ASSERT(p.write_fixed_seconds >= 0 && p.restore_fixed_seconds >= 0);

    /* The step time is the median of the spread it gives. */
    json_t *spread = json_object_get(doc, "step_time_spread");
    double step = __duration(doc, "step_time");
    CU_ASSERT(__duration(spread, "min") <= __duration(spread, "p10"));
    CU_ASSERT(__duration(spread, "p10") <= step);
    CU_ASSERT(step <= __duration(spread, "p90"));
    CU_ASSERT(__duration(spread, "p90") <= __duration(spread, "max"));
    /* The pace from one step line to the next: 2 runs of 100 steps, each a fresh start (99
     * intervals, 3 of them holding the checkpoints at 25, 50 and 75) and a restart from step 25
     * (74 intervals, 2 with checkpoints), less 3 warm intervals per process. */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(spread, "samples")), RUNS * (93 + 69));

    json_t *ck = json_object_get(doc, "checkpoint");
    CU_ASSERT(__duration(ck, "write_time") > 0);
    CU_ASSERT(__duration(ck, "restore_time") > 0);
    json_t *fit = json_object_get(doc, "fit");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(fit, "write"), "sizes")), 2);
    json_decref(doc);
}

static void
test_profile_agrees_with_the_progress_lines(void)
{
    CU_ASSERT_EQUAL_FATAL(cal_status, 0);
    TrainLines own = {0};
    CU_ASSERT_FATAL(__train_lines(&own));
    json_t *doc = __load_json(profile);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);

    /* The checkpoint is the file spotlab-train writes, to the byte, and the start line's
     * figure is copied. */
    double file_bytes = own.file_bytes;
    g_autofree char *size = profile_format_size(file_bytes);
    json_t *ck = json_object_get(doc, "checkpoint");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ck, "size")), size);
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_object_get(doc, "workload"), "checkpoint_bytes")),
        (json_int_t)own.checkpoint_bytes);

    /* The step time is near what the test's own run measured: the same program on the same
     * machine, within a factor of 3 for the noise of a shared machine. */
    double step = __duration(doc, "step_time"), own_step = own.step_median;
    if (!(step > own_step / 3 && step < own_step * 3))
        fprintf(stderr, "\nprofile step time %g s, own run's median %g s\n", step, own_step);
    CU_ASSERT(step > own_step / 3 && step < own_step * 3);

    /* Every point is a checkpoint written or restored, of the workload's size or the other
     * one's, and takes time; each run wrote 4 checkpoints and its restart 3 (tiny, every 25 of
     * 100 steps), the other size 3 and 2 (a checkpoint after each of 3 steps). */
    json_t *points = json_object_get(doc, "points");
    double variant_bytes = 0;
    guint writes = 0, restores = 0;
    for (gsize i = 0; i < json_array_size(points); i++) {
        json_t *pt = json_array_get(points, i);
        const char *op = json_string_value(json_object_get(pt, "op"));
        double bytes = json_number_value(json_object_get(pt, "bytes"));
        double seconds = json_number_value(json_object_get(pt, "seconds"));
        CU_ASSERT(seconds > 0);
        if (bytes != file_bytes) {
            CU_ASSERT(variant_bytes == 0 || bytes == variant_bytes);
            variant_bytes = bytes;
        }
        writes += g_strcmp0(op, "write") == 0;
        restores += g_strcmp0(op, "restore") == 0;
    }
    CU_ASSERT_EQUAL(writes, RUNS * (4 + 3) + RUNS * (3 + 2));
    CU_ASSERT_EQUAL(restores, RUNS * 2);
    CU_ASSERT(variant_bytes >= 4 * file_bytes);
    g_autofree char *vsize = profile_format_size(variant_bytes);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(doc, "variant"), "size")), vsize);

    /* A least-squares line over two sizes goes through the mean time of each: at the
     * workload's size it gives a time between the fastest and the slowest write of that size. */
    double lo = G_MAXDOUBLE, hi = 0;
    for (gsize i = 0; i < json_array_size(points); i++) {
        json_t *pt = json_array_get(points, i);
        if (g_strcmp0(json_string_value(json_object_get(pt, "op")), "write") != 0 ||
            json_number_value(json_object_get(pt, "bytes")) != file_bytes)
            continue;
        double s = json_number_value(json_object_get(pt, "seconds"));
        lo = MIN(lo, s);
        hi = MAX(hi, s);
    }
    double gb = file_bytes / 1e9;
    double at = __duration(ck, "write_fixed") + gb / __bandwidth(ck, "write");
    json_t *wfit = json_object_get(json_object_get(doc, "fit"), "write");
    if (g_strcmp0(json_string_value(json_object_get(wfit, "method")), "least-squares") == 0) {
        if (!(at >= lo * 0.999 && at <= hi * 1.001))
            fprintf(stderr, "\nfit at %g GB: %g s; writes took %g to %g s\n", gb, at, lo, hi);
        CU_ASSERT(at >= lo * 0.999 && at <= hi * 1.001);
    }
    json_decref(doc);
}

static void
test_temporary_folder_is_removed(void)
{
    g_autofree char *tmp = g_build_filename(work, "tmp", NULL);
    CU_ASSERT(test_dir_is_empty(tmp));
}

/* ---- profiles in scenarios --------------------------------------------------------------------
 */

static Scenario *
__load(const char *path)
{
    g_autoptr(GError) error = NULL;
    Scenario *sc = scenario_load(path, &error);
    if (sc == NULL)
        fprintf(stderr, "\n%s\n", error->message);
    return sc;
}

/* A scenario in @work whose job is @job (JSON text). */
static char *
__scenario(const char *name, const char *job)
{
    g_autofree char *text = g_strdup_printf(
        "{\"model\": \"continuous\", \"replicas\": 5,\n"
        " \"pools\": [{\"name\": \"a\", \"cloud\": \"aws\", \"hazard\": {\"gpu\": \"h100\"},\n"
        "             \"spot_price\": \"$1.32/h\", \"on_demand_price\": \"$3.90/h\"}],\n"
        " \"job\": %s,\n"
        " \"strategies\": [{\"preset\": \"emergency\"}]}\n",
        job);
    char *path = g_build_filename(work, name, NULL);
    g_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void
test_scenario_takes_the_calibrated_profile(void)
{
    CU_ASSERT_EQUAL_FATAL(cal_status, 0);
    /* Relative to the scenario's folder. */
    g_autofree char *base = g_path_get_basename(profile);
    g_autofree char *job = g_strdup_printf("{\"steps\": 1000, \"profile\": \"%s\"}", base);
    g_autofree char *path = __scenario("calibrated.json", job);
    g_autoptr(Scenario) sc = __load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    Profile p;
    CU_ASSERT_FATAL(profile_load(profile, &p, NULL));
    const SimJob *j = &sc->cloud->job;
    TEST_ASSERT_REL(j->default_step_seconds, p.step_seconds, 1e-12);
    CU_ASSERT(llabs(j->startup - llround(p.startup_seconds * 1e6)) <= 1);
    TEST_ASSERT_REL(j->checkpoint_gb, p.checkpoint_gb, 1e-12);
    TEST_ASSERT_REL(j->write_gbps,
                    p.checkpoint_gb / (p.write_fixed_seconds + p.checkpoint_gb / p.write_gbps),
                    1e-12);
    TEST_ASSERT_REL(j->restore_gbps,
                    p.checkpoint_gb / (p.restore_fixed_seconds + p.checkpoint_gb / p.restore_gbps),
                    1e-12);
    CU_ASSERT_EQUAL(sc->job_from_profile, SCENARIO_PROFILE_STEP_TIME | SCENARIO_PROFILE_STARTUP |
                                              SCENARIO_PROFILE_CHECKPOINT_SIZE |
                                              SCENARIO_PROFILE_CHECKPOINT_WRITE |
                                              SCENARIO_PROFILE_CHECKPOINT_RESTORE);

    /* And it runs. */
    const char *argv[] = {"run", path, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 0), 0);
}

static void
test_fixed_costs_fold_into_the_bandwidth(void)
{
    /* tests/data/cli/profile-h100.json: 250 ms steps, 45 s startup, 40 GB written in 3 s +
     * size / 2 GB/s and restored in 1.5 s + size / 4 GB/s. */
    g_autofree char *path = test_data_path("cli/profile-job.json");
    g_autoptr(Scenario) sc = __load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    const SimJob *j = &sc->cloud->job;
    TEST_ASSERT_REL(j->default_step_seconds, 0.25, 1e-12);
    CU_ASSERT_EQUAL(j->startup, 45 * 1000000);
    TEST_ASSERT_REL(j->checkpoint_gb, 40, 1e-12);
    TEST_ASSERT_REL(j->write_gbps, 40 / (3 + 40 / 2.0), 1e-12);
    TEST_ASSERT_REL(j->restore_gbps, 40 / (1.5 + 40 / 4.0), 1e-12);
    CU_ASSERT_EQUAL(sc->job_from_profile, 0x1f);
    /* The job's own fields are kept: the deadline, and the storage beside the first pool. */
    CU_ASSERT_EQUAL(j->deadline, (SimTime)48 * 3600 * 1000000);
    CU_ASSERT_STRING_EQUAL(j->storage_region, "us-east-1");

    const char *argv[] = {"validate", path, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 0), 0);
}

static void
test_job_fields_win_over_the_profile(void)
{
    g_autofree char *fixture = test_data_path("cli/profile-h100.json");
    g_autofree char *job = g_strdup_printf(
        "{\"steps\": 1000, \"profile\": \"%s\", \"step_time\": \"2s\", \"startup\": \"1m\",\n"
        " \"checkpoint\": {\"size\": \"10GB\", \"write\": \"1GB/s\"}}",
        fixture);
    g_autofree char *path = __scenario("overrides.json", job);
    g_autoptr(Scenario) sc = __load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    const SimJob *j = &sc->cloud->job;
    TEST_ASSERT_REL(j->default_step_seconds, 2, 1e-12);
    CU_ASSERT_EQUAL(j->startup, 60 * 1000000);
    TEST_ASSERT_REL(j->checkpoint_gb, 10, 1e-12);
    TEST_ASSERT_REL(j->write_gbps, 1, 1e-12);
    /* The restore comes from the profile, at the job's size: 1.5 s + 10 GB / 4 GB/s. */
    TEST_ASSERT_REL(j->restore_gbps, 10 / (1.5 + 10 / 4.0), 1e-12);
    CU_ASSERT_EQUAL(sc->job_from_profile, SCENARIO_PROFILE_CHECKPOINT_RESTORE);

    /* A per-instance-type step time wins too, and a checkpoint of 0 saves nothing. */
    g_autofree char *job2 = g_strdup_printf(
        "{\"steps\": 1000, \"profile\": \"%s\", \"step_time\": {\"default\": \"3s\"},\n"
        " \"checkpoint\": {\"size\": 0}}",
        fixture);
    g_autofree char *path2 = __scenario("overrides-2.json", job2);
    g_autoptr(Scenario) sc2 = __load(path2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc2);
    TEST_ASSERT_REL(sc2->cloud->job.default_step_seconds, 3, 1e-12);
    CU_ASSERT_EQUAL(sc2->cloud->job.checkpoint_gb, 0);
    CU_ASSERT_EQUAL(sc2->job_from_profile, SCENARIO_PROFILE_STARTUP);
}

static void
test_bad_profiles_name_the_profile(void)
{
    /* tests/data/bad-scenarios: the scenario's place of "profile", then the profile's file,
     * line, column and field. */
    static const struct {
        const char *scenario;
        const char *message;
    } cases[] = {
        {"cloud-profile-missing.json", "cloud-profile-missing.json:9:16: job.profile: "
                                       "profiles/no-such-profile.json: cannot read: "},
        {"cloud-profile-bad-json.json",
         "cloud-profile-bad-json.json:9:16: job.profile: profiles/bad-json.json:4:13: "},
        {"cloud-profile-wrong-kind.json", "cloud-profile-wrong-kind.json:9:16: job.profile: "
                                          "profiles/wrong-kind.json:2:11: kind: expected "
                                          "\"spotlab-profile\""},
        {"cloud-profile-bad-units.json",
         "cloud-profile-bad-units.json:9:16: job.profile: profiles/bad-units.json:5:16: "
         "step_time: expected a duration"},
        {"cloud-profile-bad-bandwidth.json",
         "cloud-profile-bad-bandwidth.json:9:16: job.profile: profiles/bad-bandwidth.json:7:14: "
         "checkpoint.write: expected a bandwidth"},
    };
    g_autofree char *dir = test_data_path("bad-scenarios");
    g_autofree char *cwd = g_get_current_dir();
    CU_ASSERT_FATAL(g_chdir(dir) == 0);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        for (int run = 0; run < 2; run++) {
            const char *argv[] = {run ? "run" : "validate", cases[i].scenario, NULL};
            g_autofree char *out = NULL, *err = NULL;
            CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 2), 2);
            g_autofree char *want = g_strconcat("spotlab: ", cases[i].message, NULL);
            if (!g_str_has_prefix(err, want))
                fprintf(stderr, "\nexpected: %s\ngot: %s", want, err);
            CU_ASSERT(g_str_has_prefix(err, want));
        }
    }
    CU_ASSERT(g_chdir(cwd) == 0);
}

/* ---- other commands, failures and usage --------------------------------------------------------
 */

/* Runs spotlab calibrate with @args (NULL-terminated) and a fresh --dir, which must be empty
 * afterwards; returns the exit status. */
static int
__calibrate(const char *const *args, char **out, char **err, int expected)
{
    g_autofree char *tmp = g_build_filename(work, "tmp-case", NULL);
    g_mkdir(tmp, 0700);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, "calibrate");
    g_ptr_array_add(argv, "--dir");
    g_ptr_array_add(argv, tmp);
    for (gsize i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    int status = test_spotlab_expect((const char *const *)argv->pdata, out, err, expected);
    CU_ASSERT(test_dir_is_empty(tmp));
    g_rmdir(tmp);
    return status;
}

static void
test_not_a_workload_exits_2(void)
{
    g_autofree char *no_ck = test_data_path("calibrate/no-checkpoints.sh");
    static const char *const bin_true[] = {"--", "/bin/true", "{checkpoint_dir}", NULL};
    static const char *const no_such[] = {"--", "/no/such/program", "{checkpoint_dir}", NULL};
    static const char *const no_dir[] = {"--", "/bin/true", NULL};
    const char *const no_checkpoints[] = {"--runs",           "1", "--", "/bin/sh", no_ck,
                                          "{checkpoint_dir}", NULL};
    static const struct {
        const char *const *args;
        const char *message;
    } cases[] = {
        {bin_true, "does not speak the progress protocol"},
        {no_such, "cannot start /no/such/program"},
        {no_dir, "must name {checkpoint_dir}"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(__calibrate(cases[i].args, &out, &err, 2), 2);
        CU_ASSERT_STRING_EQUAL(out, "");
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].message));
    }
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(__calibrate(no_checkpoints, &out, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "reported no complete checkpoint"));
}

static void
test_failed_run_exits_1(void)
{
    g_autofree char *fails = test_data_path("calibrate/fails.sh");
    const char *const args[] = {"--", "/bin/sh", fails, "{checkpoint_dir}", NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(__calibrate(args, &out, &err, 1), 1);
    /* Which run, how it ended and what it said. */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "run 1 of 5, fresh start"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exited with status 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of memory (on purpose)"));
}

static void
test_any_command_that_speaks_the_protocol(void)
{
    g_autofree char *out_path = g_build_filename(work, "command.json", NULL);
    const char *const args[] = {"--runs",
                                "1",
                                "--steps",
                                "20",
                                "-o",
                                out_path,
                                "--",
                                __train(),
                                "--steps",
                                "{steps}",
                                "--checkpoint-dir",
                                "{checkpoint_dir}",
                                "--checkpoint-every",
                                "5",
                                "--log-every",
                                "0",
                                NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(__calibrate(args, &out, &err, 0), 0);
    json_t *doc = __load_json(out_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *wl = json_object_get(doc, "workload");
    CU_ASSERT(json_is_null(json_object_get(wl, "preset")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(wl, "command"), 2)),
                           "{steps}");
    /* One checkpoint size: all of the time is on the bandwidth. */
    json_t *wfit = json_object_get(json_object_get(doc, "fit"), "write");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wfit, "method")), "through-zero");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(wfit, "sizes")), 1);
    CU_ASSERT(json_is_null(json_object_get(doc, "variant")));
    json_t *ck = json_object_get(doc, "checkpoint");
    CU_ASSERT_EQUAL(__duration(ck, "write_fixed"), 0);
    CU_ASSERT(__bandwidth(ck, "write") > 0);
    CU_ASSERT(__size(ck, "size") > 0);
    Profile p;
    CU_ASSERT(profile_load(out_path, &p, NULL));
    json_decref(doc);
}

static void
test_bad_usage_exits_2(void)
{
    static const char *const preset_and_command[] = {"--preset",         "tiny", "--", "/bin/true",
                                                     "{checkpoint_dir}", NULL};
    static const char *const stray[] = {"tiny", NULL};
    static const char *const runs[] = {"--runs", "0", NULL};
    static const char *const preset[] = {"--preset", "huge", NULL};
    static const char *const set[] = {"--set", "hidden=wide", NULL};
    static const char *const timeout[] = {"--timeout", "soon", NULL};
    static const char *const nothing_after[] = {"--", NULL};
    static const char *const train_and_command[] = {"--train",   "/bin/true",        "--",
                                                    "/bin/true", "{checkpoint_dir}", NULL};
    static const char *const no_train[] = {"--train", "/no/such/spotlab-train", NULL};
    static const struct {
        const char *const *args;
        const char *message;
    } cases[] = {
        {preset_and_command, "--preset: only for the built-in workload"},
        {stray, "unexpected argument 'tiny'"},
        {runs, "--runs: expected a number from 1 to 1000, got 0"},
        {preset, "unknown preset 'huge'"},
        {set, "hidden"},
        {timeout, "--timeout: expected a duration"},
        {nothing_after, "expected a command after --"},
        {train_and_command, "--train: only for the built-in workload"},
        {no_train, "cannot start /no/such/spotlab-train"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(__calibrate(cases[i].args, &out, &err, 2), 2);
        if (strstr(err, cases[i].message) == NULL)
            fprintf(stderr, "\nexpected '%s' in: %s", cases[i].message, err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].message));
    }
}

int
main(void)
{
    work = test_tmpdir_new();
    profile = g_build_filename(work, "tiny.json", NULL);
    g_autofree char *tmp = g_build_filename(work, "tmp", NULL);
    g_mkdir(tmp, 0700);
    /* Calibrated once, for every test that reads the profile. */
    const char *argv[] = {"calibrate", "--runs", G_STRINGIFY(RUNS), "--dir",
                          tmp,         "-o",     profile,           NULL};
    g_autofree char *err = NULL;
    cal_status = test_spotlab(argv, &cal_out, &err);
    if (cal_out == NULL)
        cal_out = g_strdup("");
    if (cal_status != 0)
        fprintf(stderr, "spotlab calibrate: %s\n", err ? err : "");

    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("calibrate", NULL, NULL);
    CU_add_test(s, "calibrate spotlab-train tiny: a well-formed profile",
                test_calibrate_writes_a_profile);
    CU_add_test(s, "the profile agrees with spotlab-train's progress lines",
                test_profile_agrees_with_the_progress_lines);
    CU_add_test(s, "the temporary folder is removed", test_temporary_folder_is_removed);
    CU_add_test(s, "a scenario takes the calibrated profile",
                test_scenario_takes_the_calibrated_profile);
    CU_add_test(s, "fixed costs fold into the bandwidth", test_fixed_costs_fold_into_the_bandwidth);
    CU_add_test(s, "the job's own fields win over the profile",
                test_job_fields_win_over_the_profile);
    CU_add_test(s, "bad profiles exit 2 naming the profile's file, line and field",
                test_bad_profiles_name_the_profile);
    CU_add_test(s, "a command that is not a workload exits 2", test_not_a_workload_exits_2);
    CU_add_test(s, "a failed run exits 1", test_failed_run_exits_1);
    CU_add_test(s, "any command that speaks the protocol",
                test_any_command_that_speaks_the_protocol);
    CU_add_test(s, "bad usage exits 2", test_bad_usage_exits_2);
    int status = test_run_all();
    test_tmpdir_remove(work);
    g_free(work);
    g_free(profile);
    g_free(cal_out);
    return status;
}
