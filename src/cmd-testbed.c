/* spotlab testbed: run a job (a workload) across simulated spot instances, delivering each
 * cloud's termination notices and signals, and measure how it survived (docs/testbed.md).
 *
 * `spotlab testbed SCENARIO` takes the instances from the simulator's replica of a scenario
 * (testbed.c); `spotlab testbed --schedule S.json -- COMMAND...` from an explicit list:
 *
 *   {"instances": [{"cloud": "aws", "notice_after": "5s", "notice_lead": "2s"}, ...],
 *    "restart_delay": "1s"}
 *
 * Exit status: 0 the job finished, 1 it did not (instances ran out, or SIGINT/SIGTERM aborted
 * the run), 2 bad usage, a bad schedule, or a command that cannot be started. */
#include "commands.h"
#include "json-source.h"
#include "scenario-private.h"
#include "scenario.h"
#include "supervisor.h"
#include "testbed.h"
#include "testbed-faults.h"
#include "util.h"

#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define TESTBED_ERROR (testbed_error_quark())
static G_DEFINE_QUARK(spotlab - testbed - error - quark, testbed_error)

    enum {
        TESTBED_ERROR_IO,
        TESTBED_ERROR_PARSE,
        TESTBED_ERROR_INVALID
    };

static gboolean
__instance(TestbedReader *r, json_t *v, guint i, HarnessInstanceSpec *spec)
{
    g_autofree char *field = g_strdup_printf("instances[%u]", i);
    if (!json_is_object(v)) {
        g_autofree char *got = json_describe(v);
        return testbed_read_fail(r, field,
                                 "expected an instance (an object with \"cloud\"), got %s", got);
    }
    /* The instance's own keys, then the faults'. */
    static const char *const own[] = {"cloud",   "notice_after",   "notice_lead", "grace",
                                      "sigterm", "price_per_hour", "start_delay", "reclaimed_rank"};
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    for (gsize k = 0; k < G_N_ELEMENTS(own); k++)
        g_ptr_array_add(keys, (gpointer)own[k]);
    for (gsize k = 0; testbed_fault_keys[k] != NULL; k++)
        g_ptr_array_add(keys, (gpointer)testbed_fault_keys[k]);
    g_ptr_array_add(keys, NULL);
    if (!json_source_check_keys(r->src, v, field, (const char *const *)keys->pdata, r->domain,
                                r->code, r->error))
        return FALSE;
    json_t *cloud = json_object_get(v, "cloud");
    g_autofree char *cloud_field = json_field_join(field, "cloud");
    HarnessImdsCloud c;
    if (cloud == NULL)
        return testbed_read_fail(r, cloud_field, "missing; expected \"aws\", \"gcp\" or \"azure\"");
    if (!json_is_string(cloud) || !harness_imds_cloud_parse(json_string_value(cloud), &c)) {
        g_autofree char *got = json_describe(cloud);
        return testbed_read_fail(r, cloud_field, "expected \"aws\", \"gcp\" or \"azure\", got %s",
                                 got);
    }
    harness_instance_spec_init(spec, c);
    if (!testbed_read_duration(r, v, field, "notice_after", "no notice", &spec->notice_after_us) ||
        !testbed_read_duration(r, v, field, "notice_lead", NULL, &spec->notice_lead_us) ||
        !testbed_read_duration(r, v, field, "grace", NULL, &spec->grace_us) ||
        !testbed_read_duration(r, v, field, "start_delay", NULL, &spec->start_delay_us))
        return FALSE;
    /* Faults (docs/testbed.md, "Fault catalogue"). */
    if (!testbed_read_faults(r, v, field, spec->notice_after_us != HARNESS_TIME_NONE, spec) ||
        !testbed_read_integer(r, v, field, "reclaimed_rank", 0, G_MAXINT32,
                              "the gang's rank that is reclaimed", &spec->reclaimed_rank))
        return FALSE;
    json_t *sigterm = json_object_get(v, "sigterm");
    if (sigterm != NULL &&
        (!json_is_string(sigterm) ||
         !harness_sigterm_policy_parse(json_string_value(sigterm), &spec->sigterm))) {
        g_autofree char *f = json_field_join(field, "sigterm");
        g_autofree char *got = json_describe(sigterm);
        return testbed_read_fail(
            r, f, "expected \"notice\", \"reclaim\", \"never\" or \"default\", got %s", got);
    }
    json_t *price = json_object_get(v, "price_per_hour");
    if (price != NULL) {
        double p = -1;
        gboolean ok = json_is_number(price)   ? (p = json_number_value(price), TRUE)
                      : json_is_string(price) ? scenario_parse_price(json_string_value(price), &p)
                                              : FALSE;
        if (!ok || !isfinite(p) || p < 0) {
            g_autofree char *f = json_field_join(field, "price_per_hour");
            g_autofree char *got = json_describe(price);
            return testbed_read_fail(
                r, f, "expected a price >= 0 like \"$3.06/h\" or a number of USD, got %s", got);
        }
        spec->price_per_hour = p;
    }
    return TRUE;
}

/* What a schedule sets beside its instances. */
typedef struct {
    gint64 progress_timeout_us;
    char *checkpoint_dir;
    gboolean checkpoint_local;
    guint gang;
    gint64 gang_teardown_us;
} ScheduleOptions;

/* "gang": {"size": 4, "teardown": "30s"}: a job of that many ranks (supervisor.h). */
static gboolean
__gang(TestbedReader *r, json_t *root, ScheduleOptions *options)
{
    options->gang = 1;
    options->gang_teardown_us = HARNESS_DEFAULT;
    json_t *v = json_object_get(root, "gang");
    if (v == NULL)
        return TRUE;
    if (!json_is_object(v)) {
        g_autofree char *got = json_describe(v);
        return testbed_read_fail(r, "gang", "expected {\"size\": N, \"teardown\": \"30s\"}, got %s",
                                 got);
    }
    static const char *const keys[] = {"size", "teardown", NULL};
    if (!json_source_check_keys(r->src, v, "gang", keys, r->domain, r->code, r->error))
        return FALSE;
    if (json_object_get(v, "size") == NULL)
        return testbed_read_fail(r, "gang.size", "missing; expected the number of ranks (1..1024)");
    return testbed_read_integer(r, v, "gang", "size", 1, 1024, "the number of ranks",
                                &options->gang) &&
           testbed_read_duration(r, v, "gang", "teardown", NULL, &options->gang_teardown_us);
}

/* Reads SCHEDULE.json into @specs, @restart_delay_us and @options (whose checkpoint_dir the
 * caller frees). */
static gboolean
__load_schedule(const char *path, GArray *specs, gint64 *restart_delay_us, ScheduleOptions *options,
                GError **error)
{
    g_autoptr(JsonSource) src =
        json_source_load(path, TRUE, "a testbed schedule object", TESTBED_ERROR, TESTBED_ERROR_IO,
                         TESTBED_ERROR_PARSE, error);
    if (src == NULL)
        return FALSE;
    TestbedReader r = {
        .src = src, .error = error, .domain = TESTBED_ERROR, .code = TESTBED_ERROR_INVALID};
    if (!json_is_object(src->root)) {
        g_autofree char *got = json_describe(src->root);
        return testbed_read_fail(&r, "",
                                 "expected a schedule (an object with \"instances\"), got %s", got);
    }
    static const char *const keys[] = {"instances",
                                       "restart_delay",
                                       "progress_timeout",
                                       "checkpoint_dir",
                                       "gang",
                                       "checkpoint_storage",
                                       NULL};
    if (!json_source_check_keys(src, src->root, "", keys, r.domain, r.code, error))
        return FALSE;
    json_t *list = json_object_get(src->root, "instances");
    if (list == NULL)
        return testbed_read_fail(&r, "instances", "missing; expected a list of instances");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        g_autofree char *got = json_describe(list);
        return testbed_read_fail(&r, "instances", "expected a non-empty list of instances, got %s",
                                 got);
    }
    *restart_delay_us = 0;
    if (!testbed_read_duration(&r, src->root, "", "restart_delay", NULL, restart_delay_us))
        return FALSE;
    options->progress_timeout_us = 0;
    if (!testbed_read_duration(&r, src->root, "", "progress_timeout", "none",
                               &options->progress_timeout_us))
        return FALSE;
    if (options->progress_timeout_us == HARNESS_TIME_NONE)
        options->progress_timeout_us = 0;
    if (!__gang(&r, src->root, options))
        return FALSE;
    if (options->gang > 1 && options->progress_timeout_us > 0)
        return testbed_read_fail(
            &r, "progress_timeout",
            "is for a single process: a gang's agent restarts all its ranks, which the "
            "testbed does not (remove it, or \"gang\")");
    json_t *dir = json_object_get(src->root, "checkpoint_dir");
    if (dir != NULL && (!json_is_string(dir) || json_string_length(dir) == 0 ||
                        strlen(json_string_value(dir)) != json_string_length(dir))) {
        g_autofree char *got = json_describe(dir);
        return testbed_read_fail(&r, "checkpoint_dir", "expected a folder name, got %s", got);
    }
    json_t *storage = json_object_get(src->root, "checkpoint_storage");
    options->checkpoint_local = FALSE;
    if (storage != NULL) {
        const char *name = json_is_string(storage) ? json_string_value(storage) : NULL;
        if (g_strcmp0(name, "remote") != 0 && g_strcmp0(name, "local") != 0) {
            g_autofree char *got = json_describe(storage);
            return testbed_read_fail(&r, "checkpoint_storage",
                                     "expected \"remote\" or \"local\", got %s", got);
        }
        options->checkpoint_local = strcmp(name, "local") == 0;
    }
    for (guint i = 0; i < json_array_size(list); i++) {
        HarnessInstanceSpec spec;
        if (!__instance(&r, json_array_get(list, i), i, &spec))
            return FALSE;
        /* A stopped process that nothing detects nor reclaims would hold the run forever. */
        if (spec.hang_after_us != HARNESS_TIME_NONE && options->progress_timeout_us == 0 &&
            spec.notice_after_us == HARNESS_TIME_NONE) {
            g_autofree char *f = g_strdup_printf("instances[%u].hang_after", i);
            return testbed_read_fail(
                &r, f,
                "a hang that nothing ends: expected a top-level \"progress_timeout\" "
                "or a notice (notice_after)");
        }
        if (spec.reclaimed_rank >= options->gang) {
            g_autofree char *f = g_strdup_printf("instances[%u].reclaimed_rank", i);
            return testbed_read_fail(&r, f, "expected a rank of the gang (0..%u), got %u",
                                     options->gang - 1, spec.reclaimed_rank);
        }
        if (options->gang > 1 &&
            (spec.crash_after_us != HARNESS_TIME_NONE || spec.hang_after_us != HARNESS_TIME_NONE)) {
            g_autofree char *f = g_strdup_printf(
                "instances[%u].%s", i,
                spec.crash_after_us != HARNESS_TIME_NONE ? "crash_after" : "hang_after");
            return testbed_read_fail(
                &r, f,
                "is for a single process: a gang's agent restarts all its ranks, which "
                "the testbed does not");
        }
        /* The faults act in the checkpoint folder: there must be one. */
        if (harness_instance_spec_has_storage_faults(&spec) && dir == NULL &&
            !options->checkpoint_local) {
            g_autofree char *f = g_strdup_printf("instances[%u].storage", i);
            return testbed_read_fail(
                &r, f,
                "needs a checkpoint folder: a top-level \"checkpoint_dir\", or "
                "\"checkpoint_storage\": \"local\"");
        }
        g_array_append_val(specs, spec);
    }
    options->checkpoint_dir = dir != NULL ? g_strdup(json_string_value(dir)) : NULL;
    return TRUE;
}

static gboolean
__on_quit(gpointer user_data)
{
    harness_supervisor_abort(user_data);
    return G_SOURCE_CONTINUE;
}

int
cmd_testbed(int argc, char **argv)
{
    g_autofree char *schedule_path = NULL;
    g_autofree char *output = NULL, *record = NULL, *strategy = NULL, *scale_text = NULL;
    g_autofree char *workdir = NULL, *train = NULL;
    gint64 replica = -1;
    gboolean quiet = FALSE, dry_run = FALSE;
    /* clang-format off */
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "SCENARIO: write the results (the simulation's schema, mode testbed) to FILE; "
         "--schedule: write the record. Written atomically", "FILE"},
        {"record", 0, 0, G_OPTION_ARG_FILENAME, &record,
         "SCENARIO: also write the supervisor's own record (docs/testbed.md) to FILE", "FILE"},
        {"strategy", 0, 0, G_OPTION_ARG_STRING, &strategy,
         "SCENARIO: replay this strategy (default: testbed.strategy, else the first)", "NAME"},
        {"replica", 0, 0, G_OPTION_ARG_INT64, &replica,
         "SCENARIO: replay this replica's reclaims (default: testbed.replica, else 0)", "N"},
        {"time-scale", 0, 0, G_OPTION_ARG_STRING, &scale_text,
         "SCENARIO: seconds of trace per second of wall time (default: testbed.time_scale, "
         "else 1)", "S"},
        {"workdir", 0, 0, G_OPTION_ARG_FILENAME, &workdir,
         "SCENARIO: keep the checkpoints in DIR/checkpoints (default: a temporary folder, "
         "removed afterwards)", "DIR"},
        {"train", 0, 0, G_OPTION_ARG_FILENAME, &train,
         "SCENARIO: the spotlab-train program to run (default: beside spotlab, else in PATH)",
         "PATH"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "SCENARIO: print no tables", NULL},
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
         "SCENARIO: print the plan (the simulated replica's instances and the command) and, "
         "with -o, write it with the prediction; run nothing", NULL},
        {"schedule", 's', 0, G_OPTION_ARG_FILENAME, &schedule_path,
         "Run COMMAND on the instances of SCHEDULE.json instead of a scenario's", "SCHEDULE.json"},
        {NULL},
    };
    /* clang-format on */
    const char *usage = "SCENARIO [-o RESULTS.json] [--strategy NAME] [--replica N] "
                        "[--time-scale S]\n       spotlab testbed --schedule SCHEDULE.json "
                        "[-o RECORD.json] -- COMMAND [ARG...]";
    if (!cmd_parse_options(
            "testbed", "SCENARIO | --schedule SCHEDULE.json -- COMMAND [ARG...]",
            "Replay a scenario on real processes: the simulator's replica decides when each "
            "simulated instance comes up and is reclaimed; the workload (the built-in training "
            "program, or the scenario's testbed.command) runs on each as a fresh process beside "
            "an emulated metadata service of its cloud, gets the cloud's notice and signals as "
            "the cloud delivers them, and what was really lost and how long recovery really took "
            "is written in the simulation's results schema beside the simulator's prediction "
            "(docs/testbed.md, docs/fidelity.md). With --schedule, COMMAND runs on an explicit "
            "list of instances instead; {cloud} and {instance} in its arguments become "
            "aws|gcp|azure and 0, 1, .... Exit status: 0 the job finished (and every "
            "expectation holds), 1 it did not, 2 bad usage or bad input.",
            entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    /* GLib leaves "--" in place when it stops there. */
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    if (output != NULL && (*output == '\0' || g_file_test(output, G_FILE_TEST_IS_DIR))) {
        fprintf(stderr, "spotlab testbed: --output: expected a file name, got '%s'\n", output);
        return SPOTLAB_EXIT_USAGE;
    }
    if (schedule_path == NULL) {
        if (argc != 2 || strcmp(argv[1], "--") == 0) {
            fprintf(stderr, "spotlab testbed: %s\nUsage: spotlab testbed %s\n",
                    argc < 2 ? "expected a scenario, or --schedule SCHEDULE.json"
                             : "expected one scenario (a command after -- goes with --schedule)",
                    usage);
            return SPOTLAB_EXIT_USAGE;
        }
        double scale = NAN;
        if (scale_text != NULL) {
            char *end = NULL;
            scale = g_ascii_strtod(scale_text, &end);
            if (end == scale_text || *end != '\0' || !(scale >= 1e-3 && scale <= 1e7)) {
                fprintf(stderr,
                        "spotlab testbed: --time-scale: expected a number from 0.001 to 1e7 "
                        "(seconds of trace per second), got '%s'\n",
                        scale_text);
                return SPOTLAB_EXIT_USAGE;
            }
        }
        TestbedOptions opt = {.scenario_path = argv[1],
                              .strategy = strategy,
                              .replica = replica,
                              .time_scale = scale,
                              .output = output,
                              .record = record,
                              .workdir = workdir,
                              .train_path = train,
                              .quiet = quiet,
                              .dry_run = dry_run};
        return testbed_run_scenario(&opt);
    }
    if (strategy != NULL || replica >= 0 || scale_text != NULL || workdir != NULL ||
        train != NULL || record != NULL || dry_run || quiet) {
        fprintf(stderr, "spotlab testbed: --strategy, --replica, --time-scale, --workdir, "
                        "--train, --record, --dry-run and --quiet go with a scenario, not with "
                        "--schedule\n");
        return SPOTLAB_EXIT_USAGE;
    }
    if (first >= argc) {
        fprintf(stderr,
                "spotlab testbed: expected the job's command after --\nUsage: spotlab "
                "testbed %s\n",
                usage);
        return SPOTLAB_EXIT_USAGE;
    }

    g_autoptr(GArray) specs = g_array_new(FALSE, TRUE, sizeof(HarnessInstanceSpec));
    gint64 restart_delay_us = 0;
    ScheduleOptions options = {0};
    g_autoptr(GError) error = NULL;
    gboolean loaded = __load_schedule(schedule_path, specs, &restart_delay_us, &options, &error);
    g_autofree char *checkpoint_dir = options.checkpoint_dir;
    if (!loaded) {
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)(argv + first),
        .schedule =
            {
                .instances = (const HarnessInstanceSpec *)(void *)specs->data,
                .n_instances = specs->len,
                .restart_delay_us = restart_delay_us,
            },
        .progress_timeout_us = options.progress_timeout_us,
        .checkpoint_dir = checkpoint_dir,
        .checkpoint_local = options.checkpoint_local,
        .gang = options.gang,
        .gang_teardown_us = options.gang_teardown_us,
    };
    g_autoptr(HarnessSupervisor) sup = harness_supervisor_new(&cfg, &error);
    if (sup == NULL) {
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    guint sources[] = {
        g_unix_signal_add(SIGINT, __on_quit, sup),
        g_unix_signal_add(SIGTERM, __on_quit, sup),
    };
    gboolean ok = harness_supervisor_run(sup, NULL, &error);
    for (gsize i = 0; i < G_N_ELEMENTS(sources); i++)
        g_source_remove(sources[i]);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    if (!ok && rec->outcome == HARNESS_RUN_ERROR) {
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    if (!ok)
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
    testbed_print_record(rec);
    if (output != NULL) {
        json_t *doc = harness_supervisor_record_to_json(sup);
        g_autofree char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        json_decref(doc);
        g_autoptr(GString) out = g_string_new(text);
        g_string_append_c(out, '\n');
        g_autoptr(GError) werr = NULL;
        if (!spotlab_file_replace(output, out->str, out->len, &werr)) {
            fprintf(stderr, "spotlab testbed: %s\n", werr->message);
            return SPOTLAB_EXIT_USAGE;
        }
        printf("record: %s\n", output);
    }
    return rec->outcome == HARNESS_RUN_FINISHED ? SPOTLAB_EXIT_OK : SPOTLAB_EXIT_GATE;
}
