/* spotlab testbed: run a job (a workload command) across a schedule of simulated spot instances,
 * delivering each cloud's termination notices and signals, and measure how it survived
 * (docs/testbed.md).
 *
 * This is the first slice of `spotlab testbed SCENARIO`: the schedule is given explicitly as
 * JSON rather than derived from a scenario and its traces.
 *
 *   {"instances": [{"cloud": "aws", "notice_after": "5s", "notice_lead": "2s"}, ...],
 *    "restart_delay": "1s"}
 *
 * Exit status: 0 the job finished, 1 it did not (instances ran out, or SIGINT/SIGTERM aborted
 * the run), 2 bad usage, a bad schedule, or a command that cannot be started. */
#include "commands.h"
#include "json-source.h"
#include "scenario.h"
#include "supervisor.h"
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

/* A year is far beyond any schedule, and keeps microseconds far from overflow. */
#define MAX_SECONDS (365.0 * 86400)

typedef struct {
    JsonSource *src;
    GError **error;
} Reader;

static gboolean G_GNUC_PRINTF(3, 4) __fail(Reader *r, const char *field, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    json_source_set_error_valist(r->src, r->error, TESTBED_ERROR, TESTBED_ERROR_INVALID, field,
                                 format, ap);
    va_end(ap);
    return FALSE;
}

/* A duration: "5s", "500ms", "1m30s" or a number of seconds, >= 0. Absent: @out untouched.
 * With @nullable, null sets HARNESS_TIME_NONE. */
static gboolean
__duration(Reader *r, json_t *obj, const char *field, const char *key, gboolean nullable,
           gint64 *out)
{
    json_t *v = json_object_get(obj, key);
    g_autofree char *f = json_field_join(field, key);
    if (v == NULL)
        return TRUE;
    if (nullable && json_is_null(v)) {
        *out = HARNESS_TIME_NONE;
        return TRUE;
    }
    double s = -1;
    gboolean parsed = json_is_number(v)   ? (s = json_number_value(v), TRUE)
                      : json_is_string(v) ? scenario_parse_duration(json_string_value(v), &s)
                                          : FALSE;
    if (!parsed || !isfinite(s) || s < 0 || s > MAX_SECONDS) {
        g_autofree char *got = json_describe(v);
        return __fail(r, f,
                      "expected a duration >= 0 like \"5s\", \"500ms\", \"2m\" or a number of "
                      "seconds%s, got %s",
                      nullable ? " (or null: no notice)" : "", got);
    }
    *out = (gint64)llround(s * G_USEC_PER_SEC);
    return TRUE;
}

static gboolean
__instance(Reader *r, json_t *v, guint i, HarnessInstanceSpec *spec)
{
    g_autofree char *field = g_strdup_printf("instances[%u]", i);
    if (!json_is_object(v)) {
        g_autofree char *got = json_describe(v);
        return __fail(r, field, "expected an instance (an object with \"cloud\"), got %s", got);
    }
    static const char *const keys[] = {"cloud",   "notice_after",   "notice_lead", "grace",
                                       "sigterm", "price_per_hour", "start_delay", NULL};
    if (!json_source_check_keys(r->src, v, field, keys, TESTBED_ERROR, TESTBED_ERROR_INVALID,
                                r->error))
        return FALSE;
    json_t *cloud = json_object_get(v, "cloud");
    g_autofree char *cloud_field = json_field_join(field, "cloud");
    HarnessImdsCloud c;
    if (cloud == NULL)
        return __fail(r, cloud_field, "missing; expected \"aws\", \"gcp\" or \"azure\"");
    if (!json_is_string(cloud) || !harness_imds_cloud_parse(json_string_value(cloud), &c)) {
        g_autofree char *got = json_describe(cloud);
        return __fail(r, cloud_field, "expected \"aws\", \"gcp\" or \"azure\", got %s", got);
    }
    harness_instance_spec_init(spec, c);
    if (!__duration(r, v, field, "notice_after", TRUE, &spec->notice_after_us) ||
        !__duration(r, v, field, "notice_lead", FALSE, &spec->notice_lead_us) ||
        !__duration(r, v, field, "grace", FALSE, &spec->grace_us) ||
        !__duration(r, v, field, "start_delay", FALSE, &spec->start_delay_us))
        return FALSE;
    json_t *sigterm = json_object_get(v, "sigterm");
    if (sigterm != NULL &&
        (!json_is_string(sigterm) ||
         !harness_sigterm_policy_parse(json_string_value(sigterm), &spec->sigterm))) {
        g_autofree char *f = json_field_join(field, "sigterm");
        g_autofree char *got = json_describe(sigterm);
        return __fail(r, f, "expected \"notice\", \"reclaim\", \"never\" or \"default\", got %s",
                      got);
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
            return __fail(r, f, "expected a price >= 0 like \"$3.06/h\" or a number of USD, got %s",
                          got);
        }
        spec->price_per_hour = p;
    }
    return TRUE;
}

/* Reads SCHEDULE.json into @specs and @restart_delay_us. */
static gboolean
__load_schedule(const char *path, GArray *specs, gint64 *restart_delay_us, GError **error)
{
    g_autoptr(JsonSource) src =
        json_source_load(path, TRUE, "a testbed schedule object", TESTBED_ERROR, TESTBED_ERROR_IO,
                         TESTBED_ERROR_PARSE, error);
    if (src == NULL)
        return FALSE;
    Reader r = {.src = src, .error = error};
    if (!json_is_object(src->root)) {
        g_autofree char *got = json_describe(src->root);
        return __fail(&r, "", "expected a schedule (an object with \"instances\"), got %s", got);
    }
    static const char *const keys[] = {"instances", "restart_delay", NULL};
    if (!json_source_check_keys(src, src->root, "", keys, TESTBED_ERROR, TESTBED_ERROR_INVALID,
                                error))
        return FALSE;
    json_t *list = json_object_get(src->root, "instances");
    if (list == NULL)
        return __fail(&r, "instances", "missing; expected a list of instances");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        g_autofree char *got = json_describe(list);
        return __fail(&r, "instances", "expected a non-empty list of instances, got %s", got);
    }
    *restart_delay_us = 0;
    if (!__duration(&r, src->root, "", "restart_delay", FALSE, restart_delay_us))
        return FALSE;
    for (guint i = 0; i < json_array_size(list); i++) {
        HarnessInstanceSpec spec;
        if (!__instance(&r, json_array_get(list, i), i, &spec))
            return FALSE;
        g_array_append_val(specs, spec);
    }
    return TRUE;
}

static gboolean
__on_quit(gpointer user_data)
{
    harness_supervisor_abort(user_data);
    return G_SOURCE_CONTINUE;
}

/* "12.345" seconds or "-" for a time that did not happen. */
static char *
__t(gint64 us)
{
    return us == HARNESS_TIME_NONE ? g_strdup("-") : g_strdup_printf("%.3f", (double)us / 1e6);
}

static void
__print_table(const HarnessRunRecord *rec)
{
    printf("%-4s %-6s %9s %9s %9s %-9s %7s %8s\n", "inst", "cloud", "started", "ended", "wall s",
           "end", "status", "steps");
    for (guint i = 0; i < rec->instances->len; i++) {
        const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, i);
        g_autofree char *start = __t(r->started_us), *end = __t(r->ended_us);
        g_autofree char *wall =
            __t(r->ended_us != HARNESS_TIME_NONE ? r->ended_us - r->started_us : HARNESS_TIME_NONE);
        g_autofree char *status = r->exit_signal > 0    ? g_strdup_printf("sig%d", r->exit_signal)
                                  : r->exit_status >= 0 ? g_strdup_printf("%d", r->exit_status)
                                                        : g_strdup("-");
        g_autofree char *steps =
            r->last_step >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, r->last_step) : g_strdup("-");
        printf("%-4u %-6s %9s %9s %9s %-9s %7s %8s\n", r->index, harness_imds_cloud_name(r->cloud),
               start, end, wall, harness_instance_end_name(r->end), status, steps);
    }
    if (rec->interruptions->len > 0) {
        printf("\nInterruptions (seconds since the run's start):\n");
        printf("%-4s %-6s %8s %8s %-8s %8s %8s %8s %8s %5s %9s\n", "inst", "cloud", "notice",
               "seen", "source", "ckpt end", "reclaim", "killed", "recover", "lost", "recovery");
    }
    for (guint i = 0; i < rec->interruptions->len; i++) {
        const HarnessInterruption *in = &g_array_index(rec->interruptions, HarnessInterruption, i);
        g_autofree char *notice = __t(in->notice_us), *seen = __t(in->reaction_us);
        g_autofree char *ckpt = __t(in->checkpoint_ok ? in->checkpoint_end_us : HARNESS_TIME_NONE);
        g_autofree char *reclaim = __t(in->reclaim_us), *killed = __t(in->killed_us);
        g_autofree char *recovered = __t(in->recovered_us);
        g_autofree char *recovery =
            __t(in->recovered_us != HARNESS_TIME_NONE && in->reclaim_us != HARNESS_TIME_NONE
                    ? in->recovered_us - in->reclaim_us
                    : HARNESS_TIME_NONE);
        printf("%-4u %-6s %8s %8s %-8s %8s %8s %8s %8s %5" G_GINT64_FORMAT " %9s\n", in->instance,
               harness_imds_cloud_name(in->cloud), notice, seen,
               in->reaction_source != NULL ? in->reaction_source : "-", ckpt, reclaim, killed,
               recovered, in->steps_lost, recovery);
    }
    printf("\noutcome: %s; wall %.3f s; final step %" G_GINT64_FORMAT "; %u instance(s)",
           harness_run_outcome_name(rec->outcome), (double)rec->wall_us / 1e6, rec->final_step,
           rec->instances->len);
    if (rec->cost > 0)
        printf("; cost $%.4f", rec->cost);
    printf("\n");
}

int
cmd_testbed(int argc, char **argv)
{
    g_autofree char *schedule_path = NULL;
    g_autofree char *output = NULL;
    /* clang-format off */
    GOptionEntry entries[] = {
        {"schedule", 's', 0, G_OPTION_ARG_FILENAME, &schedule_path,
         "The instances to run the job on, as JSON (docs/testbed.md)", "SCHEDULE.json"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Write the record as JSON to FILE (written atomically)", "FILE"},
        {NULL},
    };
    /* clang-format on */
    const char *usage = "--schedule SCHEDULE.json [-o RECORD.json] -- COMMAND [ARG...]";
    if (!cmd_parse_options(
            "testbed", "-- COMMAND [ARG...]",
            "Run COMMAND (a training job) on each instance of SCHEDULE.json in turn, as a fresh "
            "process beside an emulated metadata service of the instance's cloud, deliver the "
            "cloud's termination notice and signals as the cloud does, and measure from the "
            "job's progress lines (docs/progress-protocol.md) how it survived: notice seen, "
            "emergency checkpoint in time, steps lost, recovery time. {cloud} and {instance} in "
            "the arguments become aws|gcp|azure and 0, 1, .... This is the first slice of "
            "`spotlab testbed SCENARIO` (docs/testbed.md). Exit status: 0 the job finished, 1 "
            "it did not, 2 bad usage or a bad schedule.",
            entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    /* GLib leaves "--" in place when it stops there. */
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    if (schedule_path == NULL || first >= argc) {
        fprintf(stderr, "spotlab testbed: %s\nUsage: spotlab testbed %s\n",
                schedule_path == NULL ? "expected --schedule SCHEDULE.json"
                                      : "expected the job's command after --",
                usage);
        return SPOTLAB_EXIT_USAGE;
    }
    if (output != NULL && (*output == '\0' || g_file_test(output, G_FILE_TEST_IS_DIR))) {
        fprintf(stderr, "spotlab testbed: --output: expected a file name, got '%s'\n", output);
        return SPOTLAB_EXIT_USAGE;
    }

    g_autoptr(GArray) specs = g_array_new(FALSE, TRUE, sizeof(HarnessInstanceSpec));
    gint64 restart_delay_us = 0;
    g_autoptr(GError) error = NULL;
    if (!__load_schedule(schedule_path, specs, &restart_delay_us, &error)) {
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
    __print_table(rec);
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
