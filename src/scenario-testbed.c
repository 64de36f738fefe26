/* spotlab: the "testbed" section of a continuous-model scenario (docs/testbed.md): which
 * workload `spotlab testbed SCENARIO` runs, which strategy and replica it replays, and how trace
 * time maps onto wall time.
 *
 *   "testbed": { "workload": "train", "preset": "tiny", "set": {"width": 64},
 *                "strategy": "periodic", "replica": 0, "time_scale": 1,
 *                "scale_notices": false, "notice_poll": "100ms", "grace": "5s" }
 *
 * or, for the user's own program, "command": ["python3", "train.py", "--ckpt",
 * "{checkpoint_dir}"] instead of workload, preset, set and notice_poll. */
#include "scenario-private.h"

#include "model.h"
#include "testbed-faults.h"
#include "train-config.h"

#include <math.h>
#include <string.h>

#define FAIL scenario__fail

/* "command": a non-empty list of non-empty strings, run as an argv (never through a shell). */
static gboolean
__command(Ctx *ctx, json_t *v, ScenarioTestbed *tb)
{
    if (!json_is_array(v) || json_array_size(v) == 0) {
        g_autofree char *got = json_describe(v);
        return FAIL(ctx, "testbed.command",
                    "expected the workload's command as a list of arguments like "
                    "[\"python3\", \"train.py\", \"--ckpt\", \"{checkpoint_dir}\"], got %s",
                    got);
    }
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    for (gsize i = 0; i < json_array_size(v); i++) {
        json_t *a = json_array_get(v, i);
        if (!json_is_string(a) || (i == 0 && json_string_length(a) == 0) ||
            strlen(json_string_value(a)) != json_string_length(a)) {
            g_autofree char *f = g_strdup_printf("testbed.command[%zu]", i);
            g_autofree char *got = json_describe(a);
            return FAIL(ctx, f, "expected %s, got %s",
                        i == 0 ? "the program's name or path" : "an argument (a string)", got);
        }
        g_ptr_array_add(argv, g_strdup(json_string_value(a)));
    }
    g_ptr_array_add(argv, NULL);
    tb->command = (char **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
    return TRUE;
}

/* "preset" and "set" of the built-in training workload, checked as spotlab-train checks them. */
static gboolean
__train_config(Ctx *ctx, json_t *section, ScenarioTestbed *tb)
{
    const char *preset = "tiny";
    if (!scenario__string(ctx, section, "testbed", "preset", FALSE, &preset))
        return FALSE;
    TrainConfig cfg;
    if (train_config_preset(preset, &cfg) != 0)
        return FAIL(ctx, "testbed.preset", "expected tiny, small, 1g or large, got \"%s\"", preset);
    tb->preset = g_strdup(preset);
    json_t *set = json_object_get(section, "set");
    if (set == NULL)
        return TRUE;
    if (!scenario__object(ctx, set, "testbed.set", "settings of the preset, like {\"width\": 64}"))
        return FALSE;
    g_autoptr(GPtrArray) sets = g_ptr_array_new_with_free_func(g_free);
    const char *key;
    json_t *value;
    json_object_foreach(set, key, value)
    {
        g_autofree char *f = scenario__join("testbed.set", key);
        g_autofree char *text = NULL;
        if (json_is_string(value))
            text = g_strdup(json_string_value(value));
        else if (json_is_integer(value))
            text = g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
        else if (json_is_real(value))
            text = g_strdup_printf("%.17g", json_real_value(value));
        g_autoptr(GError) local = NULL;
        if (text == NULL || !train_config_set(&cfg, key, text, &local)) {
            g_autofree char *got = json_describe(value);
            return FAIL(ctx, f, "%s", local != NULL ? local->message : "expected a number");
        }
        g_ptr_array_add(sets, g_strdup_printf("%s=%s", key, text));
    }
    g_autoptr(GError) local = NULL;
    if (!train_config_validate(&cfg, &local))
        return FAIL(ctx, "testbed.set", "%s", local->message);
    g_ptr_array_add(sets, NULL);
    tb->sets = (char **)g_ptr_array_free(g_steal_pointer(&sets), FALSE);
    return TRUE;
}

/* "faults": [{"instance": 1, "crash_after": "5s"}, ...]: the fault catalogue's keys, as a
 * schedule's instances take them (testbed-faults.h), on instances of the replayed replica.
 * Whether the instance exists, and has the notice a notice fault needs, is known once the
 * replica is simulated (testbed.c). */
static gboolean
__faults(Ctx *ctx, json_t *section, ScenarioTestbed *tb)
{
    json_t *list = json_object_get(section, "faults");
    if (list == NULL)
        return TRUE;
    if (!json_is_array(list)) {
        g_autofree char *got = json_describe(list);
        return FAIL(ctx, "testbed.faults",
                    "expected a list of faults like [{\"instance\": 1, \"crash_after\": \"5s\"}], "
                    "got %s",
                    got);
    }
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    g_ptr_array_add(keys, (gpointer) "instance");
    for (gsize k = 0; testbed_fault_keys[k] != NULL; k++)
        g_ptr_array_add(keys, (gpointer)testbed_fault_keys[k]);
    g_ptr_array_add(keys, NULL);
    TestbedReader r = {.src = ctx->src,
                       .error = ctx->error,
                       .domain = SCENARIO_ERROR,
                       .code = SCENARIO_ERROR_INVALID};
    tb->faults = g_array_new(FALSE, TRUE, sizeof(TestbedFault));
    for (gsize i = 0; i < json_array_size(list); i++) {
        json_t *v = json_array_get(list, i);
        g_autofree char *f = g_strdup_printf("testbed.faults[%zu]", i);
        if (!scenario__object(ctx, v, f, "an instance's faults, with \"instance\"") ||
            !scenario__check_keys(ctx, v, f, (const char *const *)keys->pdata))
            return FALSE;
        TestbedFault fault = {0};
        harness_instance_spec_init(&fault.spec, HARNESS_IMDS_AWS);
        guint64 instance = 0;
        if (json_object_get(v, "instance") == NULL)
            return FAIL(ctx, f,
                        "missing \"instance\": the index of the replica's instance (0, "
                        "1, ... in launch order, as --dry-run lists them)");
        if (!scenario__uint(ctx, v, f, "instance", 0, 100000, &instance) ||
            !testbed_read_faults(&r, v, f, TRUE, &fault.spec))
            return FALSE;
        fault.instance = (guint)instance;
        for (guint k = 0; k < tb->faults->len; k++)
            if (g_array_index(tb->faults, TestbedFault, k).instance == fault.instance) {
                g_autofree char *fi = scenario__join(f, "instance");
                return FAIL(ctx, fi, "instance %u has faults already (testbed.faults[%u])",
                            fault.instance, k);
            }
        g_array_append_val(tb->faults, fault);
    }
    return TRUE;
}

int
scenario_strategy_index(const Scenario *sc, const char *name)
{
    for (guint k = 0; sc->strategies != NULL && k < sc->strategies->len; k++)
        if (strcmp(((SimStrategy *)sc->strategies->pdata[k])->name, name) == 0)
            return (int)k;
    return -1;
}

void
scenario_testbed_rescale(Scenario *sc, double time_scale)
{
    g_return_if_fail(sc != NULL && sc->testbed != NULL && time_scale > 0);
    double f = time_scale / sc->testbed->time_scale;
    sc->testbed->time_scale = time_scale;
    SimJob *job = &sc->cloud->job;
    if (sc->job_from_profile & SCENARIO_PROFILE_STEP_TIME)
        job->default_step_seconds *= f;
    if (sc->job_from_profile & SCENARIO_PROFILE_STARTUP)
        job->startup = (SimTime)llround((double)job->startup * f);
    if (sc->job_from_profile & SCENARIO_PROFILE_CHECKPOINT_WRITE)
        job->write_gbps /= f;
    if (sc->job_from_profile & SCENARIO_PROFILE_CHECKPOINT_RESTORE)
        job->restore_gbps /= f;
}

gboolean
scenario__load_testbed(Ctx *ctx, Scenario *sc, json_t *root)
{
    static const char *const keys[] = {"workload",    "command", "preset",     "set",
                                       "strategy",    "replica", "time_scale", "scale_notices",
                                       "notice_poll", "grace",   "faults",     "progress_timeout",
                                       NULL};
    json_t *section = json_object_get(root, "testbed");
    if (section == NULL)
        return TRUE;
    if (!scenario__object(ctx, section, "testbed", "the testbed settings") ||
        !scenario__check_keys(ctx, section, "testbed", keys))
        return FALSE;
    const SimJob *job = &sc->cloud->job;
    if (job->kind != SIM_JOB_TRAINING)
        return FAIL(ctx, "testbed",
                    "expected a training job: the testbed runs training workloads (job.type is "
                    "not \"training\")");
    if (job->gang != 1)
        return FAIL(ctx, "testbed",
                    "expected a job on one instance at a time: the scenario form replays one "
                    "instance at a time, and this job needs %u at once (job.instances); a gang "
                    "of %u runs with `spotlab testbed --schedule` and \"gang\" (docs/testbed.md)",
                    job->gang, job->gang);
    ScenarioTestbed *tb = g_new0(ScenarioTestbed, 1);
    sc->testbed = tb;
    tb->time_scale = 1;
    tb->notice_poll = 0.1;
    tb->grace = NAN;

    json_t *command = json_object_get(section, "command");
    const char *workload = NULL;
    if (!scenario__string(ctx, section, "testbed", "workload", FALSE, &workload))
        return FALSE;
    if (command != NULL) {
        static const char *const builtin_only[] = {"workload", "preset", "set", "notice_poll"};
        for (gsize i = 0; i < G_N_ELEMENTS(builtin_only); i++)
            if (json_object_get(section, builtin_only[i]) != NULL) {
                g_autofree char *f = scenario__join("testbed", builtin_only[i]);
                return FAIL(ctx, f,
                            "expected either \"command\" (your own program) or the built-in "
                            "workload's settings, not both");
            }
        if (!__command(ctx, command, tb))
            return FALSE;
    } else {
        if (workload != NULL && strcmp(workload, "train") != 0)
            return FAIL(ctx, "testbed.workload",
                        "expected \"train\" (the built-in training workload), got \"%s\"; run "
                        "your own program with \"command\"",
                        workload);
        if (!__train_config(ctx, section, tb) ||
            !scenario__duration(ctx, section, "testbed", "notice_poll", FALSE, TRUE,
                                &tb->notice_poll))
            return FALSE;
    }

    const char *strategy = NULL;
    if (!scenario__string(ctx, section, "testbed", "strategy", FALSE, &strategy))
        return FALSE;
    int index = strategy != NULL ? scenario_strategy_index(sc, strategy) : 0;
    if (index < 0) {
        g_autoptr(GString) names = g_string_new(NULL);
        for (guint k = 0; k < sc->strategies->len; k++)
            g_string_append_printf(names, "%s\"%s\"", k ? ", " : "",
                                   ((SimStrategy *)sc->strategies->pdata[k])->name);
        return FAIL(ctx, "testbed.strategy", "expected one of the strategies (%s), got \"%s\"",
                    names->str, strategy);
    }
    tb->strategy = (guint)index;
    double scale = 1;
    if (!scenario__uint(ctx, section, "testbed", "replica", 0, sc->replicas - 1, &tb->replica) ||
        !scenario__number(ctx, section, "testbed", "time_scale", 1e-3, 1e7, &scale) ||
        !scenario__bool(ctx, section, "testbed", "scale_notices", &tb->scale_notices) ||
        !scenario__duration(ctx, section, "testbed", "grace", FALSE, FALSE, &tb->grace) ||
        !scenario__duration(ctx, section, "testbed", "progress_timeout", FALSE, TRUE,
                            &tb->progress_timeout) ||
        !__faults(ctx, section, tb))
        return FALSE;
    /* The profile's real seconds are @scale times as many seconds of trace. */
    scenario_testbed_rescale(sc, scale);
    return TRUE;
}
