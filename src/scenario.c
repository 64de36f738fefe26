/* spotlab: scenario files (see scenario.h and docs/scenarios.md). */
#include "scenario-private.h"

#include "import.h"
#include "rng.h"
#include "util.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK(spotlab - scenario - error - quark, scenario_error)

/* ---- units ------------------------------------------------------------------------------- */

gboolean
scenario_parse_duration(const char *text, double *seconds)
{
    const char *p = text;
    double total = 0;
    gboolean any = FALSE;
    while (g_ascii_isspace(*p))
        p++;
    while (*p != '\0') {
        char *end = NULL;
        if (!g_ascii_isdigit(*p) && *p != '.')
            return FALSE;
        double v = g_ascii_strtod(p, &end);
        if (end == p || !isfinite(v) || v < 0)
            return FALSE;
        p = end;
        while (*p == ' ')
            p++;
        static const struct {
            const char *unit;
            double seconds;
        } units[] = {
            {"ms", 1e-3}, {"min", 60},  {"s", 1},      {"m", 60},
            {"h", 3600},  {"d", 86400}, {"w", 604800},
        };
        gboolean matched = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(units) && !matched; i++) {
            gsize len = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, len) == 0 && !g_ascii_isalpha(p[len])) {
                total += v * units[i].seconds;
                p += len;
                matched = TRUE;
            }
        }
        if (!matched)
            return FALSE;
        any = TRUE;
        while (g_ascii_isspace(*p))
            p++;
    }
    if (!any)
        return FALSE;
    *seconds = total;
    return TRUE;
}

gboolean
scenario_parse_price(const char *text, double *usd_per_hour)
{
    const char *p = text;
    while (g_ascii_isspace(*p))
        p++;
    if (*p == '$')
        p++;
    char *end = NULL;
    if (!g_ascii_isdigit(*p) && *p != '.')
        return FALSE;
    double v = g_ascii_strtod(p, &end);
    if (end == p || !isfinite(v) || v < 0)
        return FALSE;
    p = end;
    while (g_ascii_isspace(*p))
        p++;
    double per = 1; /* hours per unit */
    if (*p == '/') {
        p++;
        if (strcmp(p, "h") == 0 || strcmp(p, "hr") == 0 || strcmp(p, "hour") == 0)
            per = 1;
        else if (strcmp(p, "min") == 0 || strcmp(p, "m") == 0)
            per = 1.0 / 60;
        else if (strcmp(p, "s") == 0)
            per = 1.0 / 3600;
        else if (strcmp(p, "d") == 0 || strcmp(p, "day") == 0)
            per = 24;
        else
            return FALSE;
    } else if (*p != '\0') {
        return FALSE;
    }
    *usd_per_hour = v / per;
    return TRUE;
}

/* The field readers live in scenario-fields.c; this file uses them by their short names. */
#define FAIL         scenario__fail
#define __check_keys scenario__check_keys
#define __object     scenario__object
#define __join       scenario__join
#define __duration   scenario__duration
#define __price      scenario__price
#define __string     scenario__string
#define __uint       scenario__uint

/* ---- the scenario ---------------------------------------------------------------------------- */

static void
__scenario_pool_free(gpointer p)
{
    ScenarioPool *sp = p;
    g_free(sp->avail);
    g_free(sp->price);
    if (sp->windows)
        g_array_unref(sp->windows);
    g_free(sp);
}

void
scenario_free(Scenario *scenario)
{
    if (scenario == NULL)
        return;
    g_free(scenario->path);
    g_free(scenario->name);
    g_free(scenario->description);
    if (scenario->pools)
        g_ptr_array_unref(scenario->pools);
    if (scenario->strategies)
        g_ptr_array_unref(scenario->strategies);
    if (scenario->strategy_groups)
        g_ptr_array_unref(scenario->strategy_groups);
    if (scenario->expectations)
        g_ptr_array_unref(scenario->expectations);
    if (scenario->testbed != NULL) {
        g_strfreev(scenario->testbed->command);
        g_free(scenario->testbed->preset);
        g_strfreev(scenario->testbed->sets);
        if (scenario->testbed->faults != NULL)
            g_array_unref(scenario->testbed->faults);
        g_free(scenario->testbed);
    }
    sim_strategy_free(scenario->baseline);
    sim_model_free(scenario->cloud);
    trace_set_free(scenario->traces);
    g_free(scenario);
}

gsize
scenario_n_windows(const Scenario *scenario)
{
    gsize n = 0;
    for (guint i = 0; i < scenario->pools->len; i++)
        n += ((ScenarioPool *)scenario->pools->pdata[i])->windows->len;
    return n;
}

/* Reads traces[i] and adds its pools to the scenario. */
static gboolean
__load_trace(Ctx *ctx, Scenario *sc, json_t *entry, gsize i)
{
    static const char *const keys[] = {"file",           "format",          "convention", "pools",
                                       "gang_threshold", "time_unit",       "gap",        "prices",
                                       "spot_price",     "on_demand_price", "cloud",      NULL};
    g_autofree char *field = g_strdup_printf("traces[%zu]", i);
    if (!__object(ctx, entry, field, "a trace entry") || !__check_keys(ctx, entry, field, keys))
        return FALSE;

    const char *file = NULL, *format = NULL, *convention = NULL, *time_unit = NULL, *cloud = NULL;
    if (!__string(ctx, entry, field, "file", TRUE, &file) ||
        !__string(ctx, entry, field, "format", FALSE, &format) ||
        !__string(ctx, entry, field, "convention", FALSE, &convention) ||
        !__string(ctx, entry, field, "time_unit", FALSE, &time_unit) ||
        !__string(ctx, entry, field, "cloud", FALSE, &cloud))
        return FALSE;

    TraceImportOptions opts = {.format = format};
    if (format != NULL && strcmp(format, "auto") != 0 && trace_format_description(format) == NULL) {
        g_autofree char *f = __join(field, "format");
        g_autofree char *list = g_strjoinv(", ", (char **)trace_format_names());
        return FAIL(ctx, f, "expected one of %s, got \"%s\"", list, format);
    }
    if (convention != NULL && !trace_convention_from_string(convention, &opts.convention)) {
        g_autofree char *f = __join(field, "convention");
        return FAIL(ctx, f,
                    "expected \"availability\" (1 or k = available) or \"preempted\" "
                    "(1 = unavailable), got \"%s\"",
                    convention);
    }
    if (time_unit != NULL) {
        if (strcmp(time_unit, "s") == 0)
            opts.time_unit = 1;
        else if (strcmp(time_unit, "h") == 0)
            opts.time_unit = 3600;
        else {
            g_autofree char *f = __join(field, "time_unit");
            return FAIL(ctx, f, "expected \"s\" or \"h\", got \"%s\"", time_unit);
        }
    }
    TraceCloud cloud_value = TRACE_CLOUD_UNKNOWN;
    if (cloud != NULL && !trace_cloud_from_string(cloud, &cloud_value)) {
        g_autofree char *f = __join(field, "cloud");
        return FAIL(ctx, f, "expected \"aws\", \"gcp\" or \"azure\", got \"%s\"", cloud);
    }
    guint64 threshold = 1;
    if (!__uint(ctx, entry, field, "gang_threshold", 1, 1000000, &threshold))
        return FALSE;
    double gap_s = 0, spot_price = NAN, od_price = NAN;
    if (!__duration(ctx, entry, field, "gap", FALSE, TRUE, &gap_s) ||
        !__price(ctx, entry, field, "spot_price", &spot_price) ||
        !__price(ctx, entry, field, "on_demand_price", &od_price))
        return FALSE;

    /* Which pools of the file to keep. */
    json_t *pools = json_object_get(entry, "pools");
    g_autofree char *f_pools = __join(field, "pools");
    if (pools != NULL) {
        if (!json_is_array(pools) || json_array_size(pools) == 0) {
            g_autofree char *got = json_describe(pools);
            return FAIL(ctx, f_pools, "expected a non-empty list of pool names, got %s", got);
        }
        for (gsize k = 0; k < json_array_size(pools); k++) {
            json_t *v = json_array_get(pools, k);
            g_autofree char *fk = g_strdup_printf("%s[%zu]", f_pools, k);
            if (!json_is_string(v)) {
                g_autofree char *got = json_describe(v);
                return FAIL(ctx, fk, "expected a pool name, got %s", got);
            }
            for (gsize j = 0; j < k; j++)
                if (strcmp(json_string_value(json_array_get(pools, j)), json_string_value(v)) == 0)
                    return FAIL(ctx, fk, "\"%s\" is listed twice; each pool may appear once",
                                json_string_value(v));
        }
    }

    g_autofree char *path = spotlab_resolve_path(ctx->src->path, file);
    g_autoptr(GError) terr = NULL;
    g_autoptr(TraceSet) set = trace_import(path, &opts, &terr);
    if (set == NULL) {
        /* Both places: the scenario field that names the trace, then the trace file's own
         * line and field. */
        g_autofree char *f = __join(field, "file");
        return FAIL(ctx, terr->code == TRACE_ERROR_USAGE ? field : f, "%s", terr->message);
    }

    /* Prices from another file. */
    json_t *prices = json_object_get(entry, "prices");
    g_autoptr(TraceSet) price_set = NULL;
    if (prices != NULL) {
        static const char *const pkeys[] = {"file", "format", "key", NULL};
        g_autofree char *pf = __join(field, "prices");
        if (!__object(ctx, prices, pf, "a price source") || !__check_keys(ctx, prices, pf, pkeys))
            return FALSE;
        const char *pfile = NULL, *pformat = NULL, *pkey = NULL;
        if (!__string(ctx, prices, pf, "file", TRUE, &pfile) ||
            !__string(ctx, prices, pf, "format", FALSE, &pformat) ||
            !__string(ctx, prices, pf, "key", FALSE, &pkey))
            return FALSE;
        g_autofree char *ppath = spotlab_resolve_path(ctx->src->path, pfile);
        /* Tick prices without a gap of their own align with the first pool's ticks. */
        TraceImportOptions popts = {
            .format = pformat, .key = pkey, .gap = trace_set_pool(set, 0)->gap};
        price_set = trace_import(ppath, &popts, &terr);
        if (price_set == NULL) {
            g_autofree char *pff = __join(pf, "file");
            return FAIL(ctx, pff, "%s", terr->message);
        }
        if (trace_set_len(price_set) != 1) {
            g_autofree char *pfk = __join(pf, "key");
            return FAIL(ctx, pfk, "%s holds %u price series; name one with \"key\"", ppath,
                        trace_set_len(price_set));
        }
    }

    for (guint k = 0; k < trace_set_len(set); k++) {
        TracePool *pool = trace_set_pool(set, k);
        gboolean wanted = pools == NULL;
        for (gsize j = 0; pools != NULL && j < json_array_size(pools) && !wanted; j++)
            wanted = strcmp(json_string_value(json_array_get(pools, j)), pool->name) == 0;
        if (!wanted)
            continue;
        if (trace_set_find(sc->traces, pool->name) != NULL)
            return FAIL(ctx, field,
                        "pool \"%s\" is already loaded from an earlier trace; each "
                        "pool may appear once",
                        pool->name);
        if (cloud != NULL)
            pool->cloud = cloud_value;
        if (price_set != NULL &&
            !trace_pool_apply_prices(pool, trace_set_pool(price_set, 0), &terr)) {
            g_autofree char *pf = __join(field, "prices");
            return FAIL(ctx, pf, "%s", terr->message);
        }
        if (!isnan(od_price))
            pool->on_demand_price = od_price;
        if (isnan(pool->on_demand_price)) {
            g_autofree char *f = __join(field, "on_demand_price");
            return FAIL(ctx, f,
                        "pool \"%s\" has no on-demand price in %s; give one, like "
                        "\"$3.06/h\"",
                        pool->name, path);
        }
        gint64 gap = pool->gap;
        if (gap_s > 0 && !trace_seconds_to_us(gap_s, &gap)) {
            g_autofree char *f = __join(field, "gap");
            return FAIL(ctx, f, "expected a tick length of at most a century");
        }
        if (gap <= 0) {
            g_autofree char *f = __join(field, "gap");
            return FAIL(ctx, f,
                        "pool \"%s\" is not a tick series; give the tick length to "
                        "sample it with, like \"10m\"",
                        pool->name);
        }

        ScenarioPool *sp = g_new0(ScenarioPool, 1);
        sp->pool = pool;
        sp->threshold = (guint)threshold;
        sp->windows = g_array_new(FALSE, FALSE, sizeof(ScenarioWindow));
        g_ptr_array_add(sc->pools, sp);
        gsize n = 0;
        if (!trace_pool_sample_ticks(pool, gap, sp->threshold, spot_price, &sp->avail, &sp->price,
                                     &n, &terr)) {
            g_autofree char *f = __join(field, pool->has_capacity ? "spot_price" : "file");
            return FAIL(ctx, f, "%s", terr->message);
        }
        if (n == 0) {
            g_autofree char *f = __join(field, "file");
            return FAIL(ctx, f, "pool \"%s\" is shorter than one tick", pool->name);
        }
        sp->tick =
            (SimTickTrace){(double)gap / 1e6, n, sp->avail, sp->price, pool->on_demand_price};
    }
    /* Hand the pools kept over to the scenario's set; the rest go with @set. */
    for (guint k = trace_set_len(set); k-- > 0;) {
        TracePool *pool = trace_set_pool(set, k);
        gboolean kept = FALSE;
        for (guint j = 0; j < sc->pools->len && !kept; j++)
            kept = ((ScenarioPool *)sc->pools->pdata[j])->pool == pool;
        if (kept)
            trace_set_add(sc->traces, g_ptr_array_steal_index(set->pools, k));
    }
    if (pools != NULL) {
        for (gsize j = 0; j < json_array_size(pools); j++) {
            const char *want = json_string_value(json_array_get(pools, j));
            if (trace_set_find(sc->traces, want) == NULL) {
                g_autofree char *fk = g_strdup_printf("%s[%zu]", f_pools, j);
                return FAIL(ctx, fk, "no pool named \"%s\" in %s", want, path);
            }
        }
    }
    return TRUE;
}

static gboolean
__load_windows(Ctx *ctx, Scenario *sc, json_t *windows)
{
    static const char *const keys[] = {"start_hours", "random", NULL};
    if (!__object(ctx, windows, "windows", "the start windows") ||
        !__check_keys(ctx, windows, "windows", keys))
        return FALSE;
    json_t *starts = json_object_get(windows, "start_hours");
    json_t *random = json_object_get(windows, "random");
    if ((starts == NULL) == (random == NULL))
        return FAIL(ctx, "windows",
                    "expected exactly one of \"start_hours\" (a list of start "
                    "offsets in hours) and \"random\" (a number of windows)");
    const double D = sc->job.deadline;
    if (starts != NULL) {
        if (!json_is_array(starts) || json_array_size(starts) == 0) {
            g_autofree char *got = json_describe(starts);
            return FAIL(ctx, "windows.start_hours",
                        "expected a non-empty list of start offsets in hours, got %s", got);
        }
        for (gsize i = 0; i < json_array_size(starts); i++) {
            json_t *v = json_array_get(starts, i);
            g_autofree char *f = g_strdup_printf("windows.start_hours[%zu]", i);
            if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0) {
                g_autofree char *got = json_describe(v);
                return FAIL(ctx, f, "expected a start offset in hours >= 0, got %s", got);
            }
            double h = json_number_value(v);
            for (guint p = 0; p < sc->pools->len; p++) {
                ScenarioPool *sp = sc->pools->pdata[p];
                double span = (double)sp->tick.n * sp->tick.gap;
                /* Checked before the start becomes a tick index: an offset like 1e30 h has no
                 * index, and converting it would start the window at some other tick. */
                double end = h * 3600 + D;
                ScenarioWindow w = {h, 0};
                if (end <= span + 1e-6) {
                    w.start = sim_tick_start_index(h, sp->tick.gap);
                    end = (double)w.start * sp->tick.gap + D;
                }
                if (end > span + 1e-6)
                    return FAIL(ctx, f,
                                "the window from %g h to its deadline at %g h runs past the end "
                                "of pool \"%s\" at %g h",
                                h, end / 3600, sp->pool->name, span / 3600);
                g_array_append_val(sp->windows, w);
            }
        }
        return TRUE;
    }
    guint64 count = 0;
    if (!__uint(ctx, windows, "windows", "random", 1, 10000000, &count))
        return FALSE;
    sc->random_windows = (guint)count;
    SimRng root, stream;
    sim_rng_init(&root, sc->seed);
    sim_rng_split(&root, SIM_RNG_STREAM_WINDOWS, &stream);
    for (guint p = 0; p < sc->pools->len; p++) {
        ScenarioPool *sp = sc->pools->pdata[p];
        /* Each pool draws from its own stream, so adding a pool never moves another's windows. */
        SimRng rng;
        sim_rng_split(&stream, p, &rng);
        double ticks_needed = ceil(D / sp->tick.gap);
        if (ticks_needed > (double)sp->tick.n)
            return FAIL(ctx, "windows.random",
                        "pool \"%s\" records %g h, shorter than one deadline (%g h)",
                        sp->pool->name, (double)sp->tick.n * sp->tick.gap / 3600, D / 3600);
        guint64 choices = sp->tick.n - (guint64)ticks_needed + 1;
        for (guint64 i = 0; i < count; i++) {
            gsize s = sim_rng_below(&rng, choices);
            ScenarioWindow w = {(double)s * sp->tick.gap / 3600.0, s};
            g_array_append_val(sp->windows, w);
        }
    }
    return TRUE;
}

Scenario *
scenario_load(const char *path, GError **error)
{
    static const char *const keys[] = {"name",   "description", "model",    "seed",
                                       "traces", "job",         "policies", "windows",
                                       "expect", "$schema",     NULL};
    static const char *const job_keys[] = {"work", "deadline", "restart_overhead", NULL};
    g_autoptr(JsonSource) src = json_source_load(
        path, TRUE,
        "a scenario object { \"traces\": ..., \"job\": ..., \"policies\": ..., \"windows\": ... }",
        SCENARIO_ERROR, SCENARIO_ERROR_IO, SCENARIO_ERROR_PARSE, error);
    if (src == NULL)
        return NULL;
    Ctx ctx_ = {.src = src, .error = error}, *ctx = &ctx_;
    json_t *root = src->root;
    if (!json_is_object(root)) {
        g_autofree char *got = json_describe(root);
        FAIL(ctx, NULL, "expected a scenario object { \"traces\": ..., \"job\": ... }, got %s",
             got);
        return NULL;
    }
    /* The scenario format's own JSON Schema (scenarios/schema.json) is the likeliest JSON file
     * beside the scenarios that is not one. */
    json_t *meta = json_object_get(root, "$schema");
    if (json_is_string(meta) && strstr(json_string_value(meta), "json-schema.org") != NULL &&
        (json_object_get(root, "properties") != NULL || json_object_get(root, "$defs") != NULL)) {
        FAIL(ctx, "$schema",
             "expected a scenario, got a JSON Schema (it describes scenarios for editors and "
             "is not one)");
        return NULL;
    }
    json_t *model_value = json_object_get(root, "model");
    gboolean continuous =
        json_is_string(model_value) && strcmp(json_string_value(model_value), "continuous") == 0;
    if (!continuous && json_object_get(root, "sweep") != NULL) {
        FAIL(ctx, "sweep",
             "expected no sweep in a tick-model scenario: the tick model's policies have no "
             "parameters to sweep; sweeps vary a strategy's parameters (\"strategies\": [{..., "
             "\"sweep\": {...}}]) and need \"model\": \"continuous\"");
        return NULL;
    }
    if (!continuous && !__check_keys(ctx, root, "", keys))
        return NULL;

    g_autoptr(Scenario) sc = g_new0(Scenario, 1);
    sc->path = g_strdup(path);
    sc->traces = trace_set_new();
    sc->pools = g_ptr_array_new_with_free_func(__scenario_pool_free);
    sc->seed = 1;

    /* "$schema" names scenarios/schema.json for editors; spotlab only checks it is a string. */
    const char *name = NULL, *description = NULL, *model = NULL, *schema = NULL;
    if (!__string(ctx, root, "", "$schema", FALSE, &schema) ||
        !__string(ctx, root, "", "name", FALSE, &name) ||
        !__string(ctx, root, "", "description", FALSE, &description) ||
        !__string(ctx, root, "", "model", FALSE, &model) ||
        !__uint(ctx, root, "", "seed", 0, G_MAXINT64, &sc->seed))
        return NULL;
    if (name == NULL) {
        g_autofree char *base = g_path_get_basename(path);
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = '\0';
        sc->name = g_strdup(base);
    } else {
        sc->name = g_strdup(name);
    }
    sc->description = g_strdup(description);
    if (continuous) {
        sc->model = SCENARIO_MODEL_CONTINUOUS;
        if (!scenario__load_cloud(ctx, sc, root))
            return NULL;
        return g_steal_pointer(&sc);
    }
    if (model != NULL && strcmp(model, "tick") != 0) {
        FAIL(ctx, "model",
             "expected \"tick\" (the deadline-aware tick model) or \"continuous\" (the "
             "continuous-time cloud model), got \"%s\"",
             model);
        return NULL;
    }

    /* The job first: windows are checked against its deadline. */
    json_t *job = json_object_get(root, "job");
    if (job == NULL) {
        FAIL(ctx, "job",
             "missing; expected {\"work\": ..., \"deadline\": ..., "
             "\"restart_overhead\": ...}");
        return NULL;
    }
    if (!__object(ctx, job, "job", "the job") || !__check_keys(ctx, job, "job", job_keys) ||
        !__duration(ctx, job, "job", "work", TRUE, TRUE, &sc->job.work) ||
        !__duration(ctx, job, "job", "deadline", TRUE, TRUE, &sc->job.deadline) ||
        !__duration(ctx, job, "job", "restart_overhead", FALSE, FALSE, &sc->job.overhead))
        return NULL;

    json_t *policies = json_object_get(root, "policies");
    if (policies == NULL) {
        FAIL(ctx, "policies",
             "missing; expected a list such as [\"on-demand\", \"greedy\", "
             "\"uniform-progress\"]");
        return NULL;
    }
    if (!json_is_array(policies) || json_array_size(policies) == 0) {
        g_autofree char *got = json_describe(policies);
        FAIL(ctx, "policies", "expected a non-empty list of policy names, got %s", got);
        return NULL;
    }
    for (gsize i = 0; i < json_array_size(policies); i++) {
        json_t *v = json_array_get(policies, i);
        g_autofree char *f = g_strdup_printf("policies[%zu]", i);
        SimTickPolicy p;
        if (!json_is_string(v) || !sim_tick_policy_from_name(json_string_value(v), &p)) {
            g_autofree char *got = json_describe(v);
            FAIL(ctx, f,
                 "expected one of on-demand, spot-only, greedy, uniform-progress, "
                 "offline-optimal, got %s",
                 got);
            return NULL;
        }
        for (guint k = 0; k < sc->n_policies; k++) {
            if (sc->policies[k] == p) {
                FAIL(ctx, f, "\"%s\" is listed twice", json_string_value(v));
                return NULL;
            }
        }
        sc->policies[sc->n_policies++] = p;
    }

    json_t *traces = json_object_get(root, "traces");
    if (traces == NULL) {
        FAIL(ctx, "traces", "missing; expected a list of trace entries {\"file\": ...}");
        return NULL;
    }
    if (!json_is_array(traces) || json_array_size(traces) == 0) {
        g_autofree char *got = json_describe(traces);
        FAIL(ctx, "traces", "expected a non-empty list of trace entries, got %s", got);
        return NULL;
    }
    for (gsize i = 0; i < json_array_size(traces); i++)
        if (!__load_trace(ctx, sc, json_array_get(traces, i), i))
            return NULL;

    json_t *windows = json_object_get(root, "windows");
    if (windows == NULL) {
        FAIL(ctx, "windows", "missing; expected {\"start_hours\": [...]} or {\"random\": N}");
        return NULL;
    }
    if (!__load_windows(ctx, sc, windows) || !scenario__load_expectations(ctx, sc, root))
        return NULL;
    return g_steal_pointer(&sc);
}
