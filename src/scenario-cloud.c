/* spotlab: scenarios of the continuous-time cloud model (docs/scenarios.md, "model":
 * "continuous"). Reads clouds, egress, pools (from traces or hazard models), the job and the
 * strategies into a SimModel and SimStrategy list. */
#include "scenario-private.h"

#include "import.h"
#include "profile.h"
#include "util.h"

#include <math.h>
#include <string.h>

#define US 1e6

static SimTime
__us(double seconds)
{
    return (SimTime)llround(seconds * US);
}

/* ---- clouds and egress ---------------------------------------------------------------------- */

/* A distribution of durations: a duration (fixed), or an object holding one of "fixed",
 * "uniform": [from, to], "exponential" (the mean) or "median" with "p95" (lognormal). */
static gboolean
__dist(Ctx *ctx, json_t *obj, const char *field, const char *key, SimDist *dist)
{
    static const char *const keys[] = {"fixed", "uniform", "exponential", "median", "p95", NULL};
    json_t *v = json_object_get(obj, key);
    g_autofree char *f = scenario__join(field, key);
    if (v == NULL)
        return TRUE;
    if (json_is_string(v) || json_is_number(v)) {
        dist->kind = SIM_DIST_FIXED;
        return scenario__duration(ctx, obj, field, key, TRUE, FALSE, &dist->a);
    }
    if (!scenario__object(ctx, v, f, "a distribution") || !scenario__check_keys(ctx, v, f, keys))
        return FALSE;
    /* One kind only: {"fixed": ..., "median": ...} would otherwise quietly drop a part. */
    static const char *const kinds[] = {"fixed", "uniform", "exponential", "median"};
    const char *kind = NULL;
    for (gsize k = 0; k < G_N_ELEMENTS(kinds); k++) {
        if (json_object_get(v, kinds[k]) == NULL)
            continue;
        if (kind != NULL) {
            g_autofree char *fk = scenario__join(f, kinds[k]);
            return scenario__fail(ctx, fk,
                                  "expected one kind of distribution, got both \"%s\" and "
                                  "\"%s\"",
                                  kind, kinds[k]);
        }
        kind = kinds[k];
    }
    if (kind != NULL && strcmp(kind, "median") != 0 && json_object_get(v, "p95") != NULL) {
        g_autofree char *fp = scenario__join(f, "p95");
        return scenario__fail(ctx, fp, "expected \"p95\" only with \"median\", got it with \"%s\"",
                              kind);
    }
    if (kind == NULL && json_object_get(v, "p95") == NULL)
        return scenario__fail(ctx, f,
                              "expected one of \"fixed\", \"uniform\", \"exponential\" or "
                              "\"median\" with \"p95\", got an empty object");
    if (kind != NULL && strcmp(kind, "fixed") == 0) {
        dist->kind = SIM_DIST_FIXED;
        return scenario__duration(ctx, v, f, "fixed", TRUE, FALSE, &dist->a);
    }
    if (kind != NULL && strcmp(kind, "exponential") == 0) {
        dist->kind = SIM_DIST_EXPONENTIAL;
        return scenario__duration(ctx, v, f, "exponential", TRUE, FALSE, &dist->a);
    }
    if (kind != NULL && strcmp(kind, "uniform") == 0) {
        json_t *u = json_object_get(v, "uniform");
        g_autofree char *fu = scenario__join(f, "uniform");
        if (!json_is_array(u) || json_array_size(u) != 2) {
            g_autofree char *got = json_is_array(u) && json_array_size(u) > 0
                                       ? g_strdup_printf("a list of %zu", json_array_size(u))
                                       : json_describe(u);
            return scenario__fail(ctx, fu, "expected [from, to], two durations, got %s", got);
        }
        g_autofree char *f0 = g_strdup_printf("%s[0]", fu);
        g_autofree char *f1 = g_strdup_printf("%s[1]", fu);
        if (!scenario__duration_value(ctx, json_array_get(u, 0), f0, FALSE, &dist->a) ||
            !scenario__duration_value(ctx, json_array_get(u, 1), f1, FALSE, &dist->b))
            return FALSE;
        if (dist->b < dist->a) {
            g_autofree char *from = json_describe(json_array_get(u, 0));
            g_autofree char *to = json_describe(json_array_get(u, 1));
            return scenario__fail(ctx, fu, "expected [from, to] with from <= to, got [%s, %s]",
                                  from, to);
        }
        dist->kind = SIM_DIST_UNIFORM;
        return TRUE;
    }
    dist->kind = SIM_DIST_LOGNORMAL;
    if (!scenario__duration(ctx, v, f, "median", TRUE, TRUE, &dist->a) ||
        !scenario__duration(ctx, v, f, "p95", TRUE, TRUE, &dist->b))
        return FALSE;
    if (dist->b < dist->a) {
        g_autofree char *fp = scenario__join(f, "p95");
        g_autofree char *median = json_describe(json_object_get(v, "median"));
        g_autofree char *p95 = json_describe(json_object_get(v, "p95"));
        return scenario__fail(ctx, fp, "expected a 95th percentile >= the median (%s), got %s",
                              median, p95);
    }
    return TRUE;
}

/* Reads an optional duration member into a SimTime. */
static gboolean
__time(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean positive, SimTime *out)
{
    double s = NAN;
    if (!scenario__duration(ctx, obj, field, key, FALSE, positive, &s))
        return FALSE;
    if (!isnan(s))
        *out = __us(s);
    return TRUE;
}

static gboolean
__cloud(Ctx *ctx, json_t *obj, const char *field, SimCloud *c)
{
    static const char *const keys[] = {
        "notice",    "notice_missed", "notice_late",  "notice_duplicated",
        "rebalance", "billing",       "provisioning", "preemptible_lifetime",
        NULL};
    if (!scenario__object(ctx, obj, field, "a cloud's settings") ||
        !scenario__check_keys(ctx, obj, field, keys))
        return FALSE;
    if (!__time(ctx, obj, field, "notice", FALSE, &c->notice_lead) ||
        !scenario__fraction(ctx, obj, field, "notice_missed", &c->notice_missed) ||
        !__time(ctx, obj, field, "notice_late", FALSE, &c->notice_late) ||
        !scenario__fraction(ctx, obj, field, "notice_duplicated", &c->notice_duplicated) ||
        !__dist(ctx, obj, field, "provisioning", &c->provisioning) ||
        !__time(ctx, obj, field, "preemptible_lifetime", FALSE, &c->preemptible_lifetime))
        return FALSE;
    json_t *rb = json_object_get(obj, "rebalance");
    if (rb != NULL) {
        static const char *const rkeys[] = {"lead", "probability", NULL};
        g_autofree char *f = scenario__join(field, "rebalance");
        if (!scenario__object(ctx, rb, f, "rebalance settings") ||
            !scenario__check_keys(ctx, rb, f, rkeys) ||
            !__time(ctx, rb, f, "lead", FALSE, &c->rebalance_lead) ||
            !scenario__fraction(ctx, rb, f, "probability", &c->rebalance_probability))
            return FALSE;
    }
    json_t *bill = json_object_get(obj, "billing");
    if (bill != NULL) {
        static const char *const bkeys[] = {"granularity", "minimum", NULL};
        g_autofree char *f = scenario__join(field, "billing");
        if (!scenario__object(ctx, bill, f, "billing settings") ||
            !scenario__check_keys(ctx, bill, f, bkeys) ||
            !__time(ctx, bill, f, "granularity", TRUE, &c->billing_granularity) ||
            !__time(ctx, bill, f, "minimum", FALSE, &c->billing_minimum))
            return FALSE;
    }
    return TRUE;
}

static gboolean
__cloud_index(Ctx *ctx, const char *field, const char *name, guint *out)
{
    for (guint k = 0; k < SIM_N_CLOUDS; k++) {
        if (g_strcmp0(sim_cloud_name((SimCloudKind)k), name) == 0 ||
            (k == SIM_CLOUD_GCP && g_strcmp0(name, "google") == 0)) {
            *out = k;
            return TRUE;
        }
    }
    return scenario__fail(ctx, field, "expected \"aws\", \"gcp\" or \"azure\", got \"%s\"", name);
}

/* ---- pools ----------------------------------------------------------------------------------- */

/* Published interruption rates per instance-hour (shared/design/seed-facts.md). */
static gboolean
__gpu_rate(const char *gpu, double *rate)
{
    static const struct {
        const char *gpu;
        double rate;
    } rates[] = {{"a100", 0.023}, {"v100", 0.008}, {"h100", 0.041}};
    for (gsize i = 0; i < G_N_ELEMENTS(rates); i++) {
        if (g_ascii_strcasecmp(gpu, rates[i].gpu) == 0) {
            *rate = rates[i].rate;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
__hazard(Ctx *ctx, json_t *obj, const char *field, SimHazard *h)
{
    static const char *const keys[] = {
        "rate", "gpu", "region_factor", "weekend_factor", "night_factor", "launch_failure", NULL};
    if (!scenario__object(ctx, obj, field, "a hazard model") ||
        !scenario__check_keys(ctx, obj, field, keys))
        return FALSE;
    const char *gpu = NULL;
    double rate = NAN, region = 1;
    h->weekend_factor = 0.6;
    h->night_factor = 1;
    if (!scenario__string(ctx, obj, field, "gpu", FALSE, &gpu) ||
        !scenario__rate(ctx, obj, field, "rate", &rate) ||
        !scenario__number(ctx, obj, field, "region_factor", 0, 1000, &region) ||
        !scenario__number(ctx, obj, field, "weekend_factor", 0, 1000, &h->weekend_factor) ||
        !scenario__number(ctx, obj, field, "night_factor", 0, 1000, &h->night_factor) ||
        !scenario__fraction(ctx, obj, field, "launch_failure", &h->launch_failure))
        return FALSE;
    /* An explicit rate beats the GPU's published one, but a GPU we have no rate for is still a
     * mistake worth saying, not a label to ignore. */
    double published = NAN;
    if (gpu != NULL && !__gpu_rate(gpu, &published)) {
        g_autofree char *f = scenario__join(field, "gpu");
        return scenario__fail(ctx, f, "expected a100, v100 or h100 (published rates), got \"%s\"",
                              gpu);
    }
    if (isnan(rate))
        rate = published;
    if (isnan(rate))
        return scenario__fail(ctx, field,
                              "expected \"rate\" (interruptions per instance-hour, like "
                              "\"4.1%%/h\") or \"gpu\" (a100, v100, h100)");
    h->rate_per_hour = rate * region;
    return TRUE;
}

static gboolean
__pool(Ctx *ctx, Scenario *sc, json_t *obj, gsize i)
{
    static const char *const keys[] = {
        "name",      "cloud",       "region",         "zone",        "instance_type",
        "gpus",      "trace",       "hazard",         "spot_price",  "on_demand_price",
        "max_price", "preemptible", "capacity_scale", "price_scale", NULL};
    g_autofree char *field = g_strdup_printf("pools[%zu]", i);
    if (!scenario__object(ctx, obj, field, "a pool") ||
        !scenario__check_keys(ctx, obj, field, keys))
        return FALSE;
    const char *name = NULL, *cloud = NULL, *region = NULL, *zone = NULL, *itype = NULL;
    if (!scenario__string(ctx, obj, field, "name", TRUE, &name) ||
        !scenario__string(ctx, obj, field, "cloud", TRUE, &cloud) ||
        !scenario__string(ctx, obj, field, "region", FALSE, &region) ||
        !scenario__string(ctx, obj, field, "zone", FALSE, &zone) ||
        !scenario__string(ctx, obj, field, "instance_type", FALSE, &itype))
        return FALSE;
    SimModel *m = sc->cloud;
    for (guint k = 0; k < m->pools->len; k++) {
        if (strcmp(sim_model_pool(m, k)->name, name) == 0) {
            g_autofree char *f = scenario__join(field, "name");
            return scenario__fail(ctx, f, "\"%s\" names an earlier pool too", name);
        }
    }
    SimPool *p = sim_pool_new(name);
    /* From here on the pool belongs to the model, so every error path frees it. */
    sim_model_add_pool(m, p);
    g_autofree char *f_cloud = scenario__join(field, "cloud");
    if (!__cloud_index(ctx, f_cloud, cloud, &p->cloud))
        return FALSE;
    p->region = g_strdup(region);
    p->zone = g_strdup(zone);
    p->instance_type = g_strdup(itype ? itype : name);
    guint64 gpus = 1;
    double scale = 1, price_scale = 1, spot = NAN, od = NAN, max_price = NAN;
    gboolean preemptible = FALSE;
    if (!scenario__uint(ctx, obj, field, "gpus", 1, 1024, &gpus) ||
        !scenario__number(ctx, obj, field, "capacity_scale", 1, 1e6, &scale) ||
        !scenario__number(ctx, obj, field, "price_scale", 1e-6, 1e6, &price_scale) ||
        !scenario__price(ctx, obj, field, "spot_price", &spot) ||
        !scenario__price(ctx, obj, field, "on_demand_price", &od) ||
        !scenario__price(ctx, obj, field, "max_price", &max_price) ||
        !scenario__bool(ctx, obj, field, "preemptible", &preemptible))
        return FALSE;
    p->gpus = (guint)gpus;
    p->preemptible = preemptible;
    p->max_price = max_price;

    json_t *trace = json_object_get(obj, "trace");
    json_t *hazard = json_object_get(obj, "hazard");
    if (trace == NULL && hazard == NULL)
        return scenario__fail(ctx, field,
                              "expected \"trace\" (capacity and price from a recording) or "
                              "\"hazard\" (a hazard model), got neither");
    if (trace != NULL && hazard != NULL) {
        /* Point at whichever of the two the user wrote second. */
        g_autofree char *ft = scenario__join(field, "trace");
        g_autofree char *fh = scenario__join(field, "hazard");
        int lt = 0, ct = 0, lh = 0, ch = 0;
        json_source_locate_key(ctx->src, ft, &lt, &ct);
        json_source_locate_key(ctx->src, fh, &lh, &ch);
        return scenario__fail(ctx, lt > lh || (lt == lh && ct > ch) ? ft : fh,
                              "expected either \"trace\" (capacity and price from a recording) "
                              "or \"hazard\" (a hazard model), got both");
    }
    if (hazard != NULL) {
        g_autofree char *fh = scenario__join(field, "hazard");
        if (!__hazard(ctx, hazard, fh, &p->hazard))
            return FALSE;
        if (json_object_get(obj, "capacity_scale") != NULL) {
            g_autofree char *fs = scenario__join(field, "capacity_scale");
            return scenario__fail(ctx, fs,
                                  "expected only in a pool with a \"trace\": a hazard model has "
                                  "no capacity to scale");
        }
        if (json_object_get(obj, "price_scale") != NULL) {
            g_autofree char *fs = scenario__join(field, "price_scale");
            return scenario__fail(ctx, fs,
                                  "expected only in a pool with a \"trace\": a hazard model's "
                                  "prices are \"spot_price\" and \"on_demand_price\" as given");
        }
    } else {
        static const char *const tkeys[] = {"file", "format",    "convention",
                                            "pool", "time_unit", NULL};
        g_autofree char *ft = scenario__join(field, "trace");
        if (!scenario__object(ctx, trace, ft, "a trace") ||
            !scenario__check_keys(ctx, trace, ft, tkeys))
            return FALSE;
        const char *file = NULL, *format = NULL, *convention = NULL, *key = NULL, *time_unit = NULL;
        if (!scenario__string(ctx, trace, ft, "file", TRUE, &file) ||
            !scenario__string(ctx, trace, ft, "format", FALSE, &format) ||
            !scenario__string(ctx, trace, ft, "convention", FALSE, &convention) ||
            !scenario__string(ctx, trace, ft, "pool", FALSE, &key) ||
            !scenario__string(ctx, trace, ft, "time_unit", FALSE, &time_unit))
            return FALSE;
        TraceImportOptions opts = {.format = format};
        if (format != NULL && strcmp(format, "auto") != 0 &&
            trace_format_description(format) == NULL) {
            g_autofree char *ff = scenario__join(ft, "format");
            g_autofree char *list = g_strjoinv(", ", (char **)trace_format_names());
            return scenario__fail(ctx, ff, "expected one of %s, got \"%s\"", list, format);
        }
        if (convention != NULL && !trace_convention_from_string(convention, &opts.convention)) {
            g_autofree char *fc = scenario__join(ft, "convention");
            return scenario__fail(ctx, fc,
                                  "expected \"availability\" (1 or k = available) or "
                                  "\"preempted\" (1 = unavailable), got \"%s\"",
                                  convention);
        }
        if (time_unit != NULL)
            opts.time_unit = strcmp(time_unit, "h") == 0   ? 3600
                             : strcmp(time_unit, "s") == 0 ? 1
                                                           : 0;
        if (time_unit != NULL && opts.time_unit == 0) {
            g_autofree char *fu = scenario__join(ft, "time_unit");
            return scenario__fail(ctx, fu, "expected \"s\" or \"h\", got \"%s\"", time_unit);
        }
        g_autofree char *path = spotlab_resolve_path(ctx->src->path, file);
        g_autoptr(GError) terr = NULL;
        /* The pool is picked here rather than by the importer, so that a name the file lacks
         * is reported at "pool". A file several pools come from is read once. */
        g_autofree char *cache_key = g_strdup_printf("%s\n%s\n%d\n%g", path, format ? format : "",
                                                     opts.convention, opts.time_unit);
        TraceSet *set = g_hash_table_lookup(ctx->traces, cache_key);
        g_autofree char *ff = scenario__join(ft, "file");
        if (set == NULL) {
            set = trace_import(path, &opts, &terr);
            if (set == NULL)
                return scenario__fail(ctx, terr->code == TRACE_ERROR_USAGE ? ft : ff, "%s",
                                      terr->message);
            g_hash_table_insert(ctx->traces, g_steal_pointer(&cache_key), set);
        }
        g_autoptr(GString) names = g_string_new(NULL);
        guint chosen = G_MAXUINT;
        for (guint k = 0; k < trace_set_len(set); k++) {
            const char *pool_name = trace_set_pool(set, k)->name;
            if (k < 20)
                g_string_append_printf(names, "%s%s", k ? ", " : "", pool_name);
            if (key != NULL && chosen == G_MAXUINT && strcmp(pool_name, key) == 0)
                chosen = k;
        }
        if (trace_set_len(set) > 20)
            g_string_append(names, ", ...");
        g_autofree char *fk = scenario__join(ft, "pool");
        if (key != NULL && chosen == G_MAXUINT)
            return scenario__fail(ctx, fk, "expected a pool of %s (%s), got \"%s\"", path,
                                  names->str, key);
        if (key == NULL && trace_set_len(set) != 1)
            return scenario__fail(ctx, fk,
                                  "missing; %s holds %u pools, expected the name of one: %s", path,
                                  trace_set_len(set), names->str);
        /* A copy of its own: the scales below change it. */
        TracePool *tp = trace_pool_copy(trace_set_pool(set, key != NULL ? chosen : 0));
        trace_set_add(sc->traces, tp);
        if (!tp->has_capacity)
            return scenario__fail(ctx, ff,
                                  "%s: pool \"%s\" records prices only; expected a trace that "
                                  "records capacity",
                                  path, tp->name);
        if (scale != 1) {
            for (gsize k = 0; k < tp->capacity.n; k++)
                tp->capacity.value[k] *= scale;
        }
        p->capacity = (SimSteps){tp->capacity.time, tp->capacity.value, tp->capacity.n};
        /* Prices recorded per GPU (or per smaller instance) become the pool's instance prices. */
        if (tp->has_price) {
            for (gsize k = 0; k < tp->price.n; k++)
                tp->price.value[k] *= price_scale;
            p->price = (SimSteps){tp->price.time, tp->price.value, tp->price.n};
        }
        if (isnan(od))
            od = tp->on_demand_price * price_scale;
        /* All traces share one clock: replicas start at one offset into all of them. */
        m->trace_span = m->trace_span == 0 ? tp->span : MIN(m->trace_span, tp->span);
        if (m->start_unix == 0 && tp->start_time != NULL) {
            g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
            g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(tp->start_time, utc);
            if (dt != NULL)
                m->start_unix = g_date_time_to_unix(dt);
        }
    }
    if (p->price.n > 0 && !isnan(spot)) {
        /* The recording's prices would win, and the price given would change nothing. */
        g_autofree char *fs = scenario__join(field, "spot_price");
        return scenario__fail(ctx, fs,
                              "expected none: the trace of pool \"%s\" records its spot prices; "
                              "scale them with \"price_scale\" instead, or leave them out of "
                              "the trace",
                              name);
    }
    if (p->price.n == 0) {
        if (isnan(spot)) {
            g_autofree char *fs = scenario__join(field, "spot_price");
            return scenario__fail(
                ctx, fs,
                "missing; expected the spot price per instance-hour of pool "
                "\"%s\", like \"$1.17/h\" (%s)",
                name, hazard != NULL ? "a hazard model gives no prices" : "its trace records none");
        }
        p->constant_price = spot;
    }
    if (isnan(od)) {
        g_autofree char *fo = scenario__join(field, "on_demand_price");
        return scenario__fail(ctx, fo,
                              "missing; expected the on-demand price per instance-hour of pool "
                              "\"%s\", like \"$3.90/h\"%s",
                              name, hazard != NULL ? "" : " (its trace records none)");
    }
    p->on_demand_price = od;
    return TRUE;
}

/* ---- the job --------------------------------------------------------------------------------- */

static gboolean
__step_times(Ctx *ctx, const SimModel *m, json_t *obj, const char *field, const char *key,
             SimJob *job)
{
    json_t *v = json_object_get(obj, key);
    g_autofree char *f = scenario__join(field, key);
    if (v == NULL)
        return scenario__fail(ctx, f,
                              "missing; expected a duration like \"0.9s\", or an object "
                              "of durations by instance type with a \"default\"");
    if (!json_is_object(v)) {
        double s;
        if (!scenario__duration(ctx, obj, field, key, TRUE, TRUE, &s))
            return FALSE;
        job->default_step_seconds = s;
        return TRUE;
    }
    job->default_step_seconds = NAN;
    const char *type;
    json_t *value;
    json_object_foreach(v, type, value)
    {
        /* A type no pool has would never be used: most likely a misspelt one, which would
         * quietly run at the default time. */
        gboolean known = strcmp(type, "default") == 0;
        for (guint k = 0; k < m->pools->len && !known; k++)
            known = strcmp(sim_model_pool(m, k)->instance_type, type) == 0;
        if (!known) {
            g_autoptr(GString) list = g_string_new(NULL);
            for (guint k = 0; k < m->pools->len; k++) {
                const char *t = sim_model_pool(m, k)->instance_type;
                gboolean seen = FALSE;
                for (guint j = 0; j < k && !seen; j++)
                    seen = strcmp(sim_model_pool(m, j)->instance_type, t) == 0;
                if (!seen)
                    g_string_append_printf(list, "%s\"%s\"", list->len ? ", " : "", t);
            }
            /* A key that cannot be written as a field path ("", "a[1]") is shown in the message
             * and located at the object. */
            gboolean path_safe = *type != '\0' && strchr(type, '[') == NULL;
            g_autofree char *ft = path_safe ? scenario__join(f, type) : g_strdup(f);
            return scenario__fail(ctx, ft,
                                  "expected the instance type of a pool (%s) or \"default\", got "
                                  "\"%s\"",
                                  list->str, type);
        }
        double s;
        if (!scenario__duration(ctx, v, f, type, TRUE, TRUE, &s))
            return FALSE;
        if (strcmp(type, "default") == 0) {
            job->default_step_seconds = s;
            continue;
        }
        job->step_times = g_renew(SimStepTime, job->step_times, job->n_step_times + 1);
        job->step_times[job->n_step_times++] = (SimStepTime){g_strdup(type), s};
    }
    if (isnan(job->default_step_seconds)) {
        g_autofree char *fd = scenario__join(f, "default");
        return scenario__fail(ctx, fd, "missing; expected the time on instance types not listed");
    }
    return TRUE;
}

/* "job.profile": a profile of the workload (docs/calibration.md), read into @profile. Its own
 * errors name the profile's file, line, column and field, after the place in the scenario that
 * names it, as a trace file's errors do. */
static gboolean
__job_profile(Ctx *ctx, json_t *obj, Profile *profile, gboolean *has_profile)
{
    const char *file = NULL;
    if (!scenario__string(ctx, obj, "job", "profile", FALSE, &file))
        return FALSE;
    if (file == NULL)
        return TRUE;
    g_autofree char *path = spotlab_resolve_path(ctx->src->path, file);
    g_autoptr(GError) perr = NULL;
    if (!profile_load(path, profile, &perr))
        return scenario__fail(ctx, "job.profile", "%s", perr->message);
    *has_profile = TRUE;
    return TRUE;
}

/* Fills what the job's checkpoint leaves out from @profile. SimJob has no fixed cost per
 * checkpoint, so the profile's is folded into the bandwidth at the job's checkpoint size: the
 * checkpoint then takes what the profile's fit says a checkpoint of that size takes. */
static void
__job_checkpoint_from_profile(Scenario *sc, json_t *ck, const Profile *profile)
{
    SimJob *job = &sc->cloud->job;
    if (ck == NULL || json_object_get(ck, "size") == NULL) {
        job->checkpoint_gb = profile->checkpoint_gb;
        sc->job_from_profile |= SCENARIO_PROFILE_CHECKPOINT_SIZE;
    }
    if (job->checkpoint_gb <= 0)
        return; /* the job says it saves nothing */
    if (ck == NULL || json_object_get(ck, "write") == NULL) {
        job->write_gbps = profile_effective_gbps(profile->write_fixed_seconds, profile->write_gbps,
                                                 job->checkpoint_gb);
        sc->job_from_profile |= SCENARIO_PROFILE_CHECKPOINT_WRITE;
    }
    if (ck == NULL || json_object_get(ck, "restore") == NULL) {
        job->restore_gbps = profile_effective_gbps(profile->restore_fixed_seconds,
                                                   profile->restore_gbps, job->checkpoint_gb);
        sc->job_from_profile |= SCENARIO_PROFILE_CHECKPOINT_RESTORE;
    }
}

static gboolean
__job(Ctx *ctx, Scenario *sc, json_t *obj)
{
    static const char *const keys[] = {
        "type",       "steps",     "step_time",      "epoch_steps", "trials",    "parallel",
        "items",      "item_time", "workers",        "lease",       "instances", "startup",
        "checkpoint", "deadline",  "keeps_progress", "profile",     NULL};
    SimJob *job = &sc->cloud->job;
    if (!scenario__object(ctx, obj, "job", "the job") ||
        !scenario__check_keys(ctx, obj, "job", keys))
        return FALSE;
    const char *type = "training";
    if (!scenario__string(ctx, obj, "job", "type", FALSE, &type))
        return FALSE;
    if (strcmp(type, "training") != 0 && strcmp(type, "sweep") != 0 &&
        strcmp(type, "inference") != 0)
        return scenario__fail(
            ctx, "job.type", "expected \"training\", \"sweep\" or \"inference\", got \"%s\"", type);
    /* A member of another job type would be ignored: "items" in a training job means that the
     * type or the member is wrong, so say so rather than run something else. */
    static const struct {
        const char *key;
        const char *types; /* the job types it belongs to */
        const char *what;
    } members[] = {
        {"steps", "training sweep", "a training job or a sweep"},
        {"step_time", "training sweep", "a training job or a sweep"},
        {"epoch_steps", "training sweep", "a training job or a sweep"},
        {"trials", "sweep", "a sweep"},
        {"parallel", "sweep", "a sweep"},
        {"items", "inference", "an inference job"},
        {"item_time", "inference", "an inference job"},
        {"workers", "inference", "an inference job"},
        {"lease", "inference", "an inference job"},
        {"profile", "training sweep", "a training job or a sweep"},
    };
    for (gsize k = 0; k < G_N_ELEMENTS(members); k++) {
        if (json_object_get(obj, members[k].key) == NULL)
            continue;
        g_auto(GStrv) types = g_strsplit(members[k].types, " ", -1);
        if (g_strv_contains((const char *const *)types, type))
            continue;
        g_autofree char *f = scenario__join("job", members[k].key);
        return scenario__fail(ctx, f, "expected only in %s, got it in a%s %s job%s",
                              members[k].what, strcmp(type, "inference") == 0 ? "n" : "", type,
                              json_object_get(obj, "type") == NULL ? " (the default \"type\")"
                                                                   : "");
    }
    /* The profile first: what the job states itself then replaces what it gives. */
    Profile profile = {0};
    gboolean has_profile = FALSE;
    if (!__job_profile(ctx, obj, &profile, &has_profile))
        return FALSE;
    guint64 gang = 1, trials = 1, parallel = 1, items = 0, workers = 1;
    double steps = 0, epoch = 0, startup = 0, deadline = 0, lease = 0;
    if (has_profile && json_object_get(obj, "startup") == NULL) {
        startup = profile.startup_seconds;
        sc->job_from_profile |= SCENARIO_PROFILE_STARTUP;
    }
    if (!scenario__bool(ctx, obj, "job", "keeps_progress", &job->keeps_progress) ||
        !scenario__uint(ctx, obj, "job", "instances", 1, 4096, &gang) ||
        !scenario__duration(ctx, obj, "job", "startup", FALSE, FALSE, &startup) ||
        !scenario__duration(ctx, obj, "job", "deadline", FALSE, TRUE, &deadline))
        return FALSE;
    job->gang = (guint)gang;
    job->startup = __us(startup);
    job->deadline = __us(deadline);
    if (strcmp(type, "training") == 0 || strcmp(type, "sweep") == 0) {
        json_t *sv = json_object_get(obj, "steps");
        if (sv == NULL)
            return scenario__fail(ctx, "job.steps", "missing; expected the training steps");
        if (!scenario__number(ctx, obj, "job", "steps", 1, 1e15, &steps) ||
            !scenario__number(ctx, obj, "job", "epoch_steps", 0, 1e15, &epoch))
            return FALSE;
        if (has_profile && json_object_get(obj, "step_time") == NULL) {
            job->default_step_seconds = profile.step_seconds;
            sc->job_from_profile |= SCENARIO_PROFILE_STEP_TIME;
        } else if (json_object_get(obj, "step_time") == NULL) {
            return scenario__fail(ctx, "job.step_time",
                                  "missing; expected a duration like \"0.9s\", an object of "
                                  "durations by instance type with a \"default\", or a "
                                  "\"profile\" that gives it (docs/calibration.md)");
        } else if (!__step_times(ctx, sc->cloud, obj, "job", "step_time", job)) {
            return FALSE;
        }
        job->kind = SIM_JOB_TRAINING;
        job->steps = steps;
        job->epoch_steps = epoch;
        if (strcmp(type, "sweep") == 0) {
            job->kind = SIM_JOB_SWEEP;
            if (!scenario__uint(ctx, obj, "job", "trials", 1, 10000000, &trials) ||
                !scenario__uint(ctx, obj, "job", "parallel", 1, 100000, &parallel))
                return FALSE;
            job->trials = (guint)trials;
            job->parallel = (guint)parallel;
        }
    } else {
        if (json_object_get(obj, "items") == NULL)
            return scenario__fail(ctx, "job.items", "missing; expected the items in the queue");
        if (!scenario__uint(ctx, obj, "job", "items", 1, 100000000, &items) ||
            !scenario__uint(ctx, obj, "job", "workers", 1, 100000, &workers) ||
            !scenario__duration(ctx, obj, "job", "lease", FALSE, FALSE, &lease) ||
            !__step_times(ctx, sc->cloud, obj, "job", "item_time", job))
            return FALSE;
        job->kind = SIM_JOB_INFERENCE;
        job->items = items;
        job->parallel = (guint)workers;
        job->lease = __us(lease);
    }

    json_t *ck = json_object_get(obj, "checkpoint");
    gboolean ck_profile = has_profile && profile.checkpoint_gb > 0;
    if (ck != NULL || ck_profile) {
        static const char *const ckeys[] = {"size", "write", "restore", "async", "storage", NULL};
        if (ck != NULL &&
            (!scenario__object(ctx, ck, "job.checkpoint", "checkpoint settings") ||
             !scenario__check_keys(ctx, ck, "job.checkpoint", ckeys) ||
             !scenario__size(ctx, ck, "job.checkpoint", "size", !ck_profile, &job->checkpoint_gb) ||
             !scenario__bandwidth(ctx, ck, "job.checkpoint", "write", &job->write_gbps) ||
             !scenario__bandwidth(ctx, ck, "job.checkpoint", "restore", &job->restore_gbps) ||
             !scenario__bool(ctx, ck, "job.checkpoint", "async", &job->async_checkpoint)))
            return FALSE;
        if (ck_profile)
            __job_checkpoint_from_profile(sc, ck, &profile);
        for (int k = 0; k < 2 && job->checkpoint_gb > 0; k++) {
            const char *what = k == 0 ? "write" : "restore";
            if ((k == 0 ? job->write_gbps : job->restore_gbps) > 0)
                continue;
            g_autofree char *f = scenario__join("job.checkpoint", what);
            g_autofree char *size = json_describe(json_object_get(ck, "size"));
            return scenario__fail(ctx, f,
                                  "missing; expected the bandwidth to %s checkpoints of %s, like "
                                  "\"1GB/s\"",
                                  what, size);
        }
        json_t *st = ck != NULL ? json_object_get(ck, "storage") : NULL;
        /* Checkpoints live beside the first pool unless the scenario says where. */
        const SimPool *first = sim_model_pool(sc->cloud, 0);
        job->storage_cloud = first->cloud;
        job->storage_region = g_strdup(first->region);
        if (st != NULL) {
            static const char *const skeys[] = {"cloud", "region", "zone", "price", NULL};
            const char *scloud = NULL, *sregion = NULL, *szone = NULL;
            if (!scenario__object(ctx, st, "job.checkpoint.storage", "a storage location") ||
                !scenario__check_keys(ctx, st, "job.checkpoint.storage", skeys) ||
                !scenario__string(ctx, st, "job.checkpoint.storage", "cloud", FALSE, &scloud) ||
                !scenario__string(ctx, st, "job.checkpoint.storage", "region", FALSE, &sregion) ||
                !scenario__string(ctx, st, "job.checkpoint.storage", "zone", FALSE, &szone) ||
                !scenario__gb_price(ctx, st, "job.checkpoint.storage", "price", TRUE,
                                    &job->storage_gb_month))
                return FALSE;
            if (scloud != NULL &&
                !__cloud_index(ctx, "job.checkpoint.storage.cloud", scloud, &job->storage_cloud))
                return FALSE;
            if (sregion != NULL) {
                g_free(job->storage_region);
                job->storage_region = g_strdup(sregion);
            }
            job->storage_zone = g_strdup(szone);
        }
    }
    return TRUE;
}

/* ---- strategies ------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *market;
    const char *placement;
    const char *checkpoint;
    gboolean emergency;
    const char *summary;
} Preset;

static const Preset presets[] = {
    {"on-demand", "on-demand", "lowest-price", "none", FALSE, "on demand only"},
    {"spot-restart", "spot", "first", "none", FALSE, "spot only, restart from scratch"},
    {"periodic", "spot", "first", "periodic", FALSE, "spot with periodic checkpoints"},
    {"young-daly", "spot", "first", "young-daly", FALSE, "spot, Young/Daly checkpoint interval"},
    {"adaptive", "spot", "first", "adaptive", FALSE, "spot, checkpoints as often as risk says"},
    {"emergency", "spot", "first", "periodic", TRUE, "periodic plus a checkpoint on notice"},
    {"diversified", "spot", "spread", "periodic", TRUE, "spread evenly over several pools"},
    {"capacity-aware", "spot", "capacity-aware", "periodic", TRUE, "the pool with most room"},
    {"hybrid", "hybrid", "lowest-price", "periodic", TRUE, "an on-demand base and spot burst"},
    {"failover", "spot", "failover", "periodic", TRUE, "move to the next region when reclaimed"},
    {"price-predictive", "spot", "price-predictive", "periodic", TRUE, "lowest predicted price"},
    {"arbitrage", "spot", "arbitrage", "periodic", TRUE, "cheapest across clouds with egress"},
    {"deadline-greedy", "greedy", "first", "periodic", TRUE, "spot until the deadline says not"},
    {"deadline-uniform-progress", "uniform-progress", "first", "periodic", TRUE,
     "keep up with the uniform progress line"},
};

/* Whether the value at @field comes from a sweep (see Ctx.moved_from). */
static gboolean
__swept(const Ctx *ctx, const char *field)
{
    for (guint k = 0; k < ctx->n_moved; k++)
        if (strcmp(ctx->moved_from[k], field) == 0)
            return TRUE;
    return FALSE;
}

/* Reads the strategy in @obj at @field into @out: the file's own, or a variant of a swept one
 * with the sweep's values in place. Its keys are checked by the caller. The strategy is named
 * after its "name" or preset. Returns: FALSE with the context's error set. */
static gboolean
__strategy_read(Ctx *ctx, const SimModel *m, json_t *obj, const char *field, SimStrategy **out)
{
    const char *name = NULL, *preset_name = NULL, *market = NULL, *placement = NULL,
               *on_notice = NULL, *on_rebalance = NULL;
    if (!scenario__string(ctx, obj, field, "name", FALSE, &name) ||
        !scenario__string(ctx, obj, field, "preset", FALSE, &preset_name) ||
        !scenario__string(ctx, obj, field, "market", FALSE, &market) ||
        !scenario__string(ctx, obj, field, "placement", FALSE, &placement) ||
        !scenario__string(ctx, obj, field, "on_notice", FALSE, &on_notice) ||
        !scenario__string(ctx, obj, field, "on_rebalance", FALSE, &on_rebalance))
        return FALSE;
    const Preset *preset = NULL;
    if (preset_name != NULL) {
        for (gsize k = 0; k < G_N_ELEMENTS(presets) && preset == NULL; k++)
            if (strcmp(presets[k].name, preset_name) == 0)
                preset = &presets[k];
        if (preset == NULL) {
            g_autoptr(GString) list = g_string_new(NULL);
            for (gsize k = 0; k < G_N_ELEMENTS(presets); k++)
                g_string_append_printf(list, "%s%s", k ? ", " : "", presets[k].name);
            g_autofree char *f = scenario__join(field, "preset");
            return scenario__fail(ctx, f, "expected one of %s, got \"%s\"", list->str, preset_name);
        }
    }
    if (name == NULL)
        name = preset_name;
    if (name == NULL)
        return scenario__fail(ctx, field, "expected a \"name\" or a \"preset\"");
    g_autoptr(SimStrategy) s = sim_strategy_new(name);
    s->checkpoint_interval = 15 * 60 * (SimTime)US;
    if (preset != NULL) {
        s->market = sim_market_class(preset->market);
        s->placement = sim_placement_class(preset->placement);
        s->checkpoint = sim_checkpoint_class(preset->checkpoint);
        s->emergency_checkpoint = preset->emergency;
        if (strcmp(preset->name, "hybrid") == 0)
            s->on_demand_fraction = 0.3;
    }
    if (market != NULL && (s->market = sim_market_class(market)) == NULL) {
        g_autofree char *f = scenario__join(field, "market");
        g_autofree char *list = g_strjoinv(", ", (char **)sim_market_class_names());
        return scenario__fail(ctx, f, "expected one of %s, got \"%s\"", list, market);
    }
    if (placement != NULL && (s->placement = sim_placement_class(placement)) == NULL) {
        g_autofree char *f = scenario__join(field, "placement");
        g_autofree char *list = g_strjoinv(", ", (char **)sim_placement_class_names());
        return scenario__fail(ctx, f, "expected one of %s, got \"%s\"", list, placement);
    }
    if (on_notice != NULL) {
        g_autofree char *f = scenario__join(field, "on_notice");
        if (strcmp(on_notice, "checkpoint") != 0 && strcmp(on_notice, "nothing") != 0)
            return scenario__fail(ctx, f, "expected \"checkpoint\" or \"nothing\", got \"%s\"",
                                  on_notice);
        s->emergency_checkpoint = strcmp(on_notice, "checkpoint") == 0;
    }
    if (on_rebalance != NULL) {
        g_autofree char *f = scenario__join(field, "on_rebalance");
        if (strcmp(on_rebalance, "checkpoint") != 0 && strcmp(on_rebalance, "nothing") != 0)
            return scenario__fail(ctx, f, "expected \"checkpoint\" or \"nothing\", got \"%s\"",
                                  on_rebalance);
        s->move_on_rebalance = strcmp(on_rebalance, "checkpoint") == 0;
    }
    if (!scenario__fraction(ctx, obj, field, "on_demand_fraction", &s->on_demand_fraction) ||
        !__time(ctx, obj, field, "decision_interval", TRUE, &s->decision_interval) ||
        !__time(ctx, obj, field, "retry", TRUE, &s->retry_backoff) ||
        !__time(ctx, obj, field, "lookback", TRUE, &s->price_lookback) ||
        !scenario__rate(ctx, obj, field, "assumed_rate", &s->assumed_rate_per_hour))
        return FALSE;

    /* checkpoint: "none" | "young-daly" | "adaptive" | {"every": D} | {"adaptive": {min, max}} */
    json_t *ck = json_object_get(obj, "checkpoint");
    g_autofree char *fck = scenario__join(field, "checkpoint");
    if (ck != NULL && json_is_string(ck)) {
        const char *c = json_string_value(ck);
        if (strcmp(c, "periodic") == 0 || (s->checkpoint = sim_checkpoint_class(c)) == NULL)
            return scenario__fail(ctx, fck,
                                  "expected \"none\", \"young-daly\", \"adaptive\", "
                                  "{\"every\": \"15m\"} or {\"adaptive\": {\"min\": ..., "
                                  "\"max\": ...}}, got \"%s\"",
                                  c);
    } else if (ck != NULL) {
        static const char *const ckeys[] = {"every", "adaptive", NULL};
        if (!scenario__object(ctx, ck, fck, "a checkpoint schedule") ||
            !scenario__check_keys(ctx, ck, fck, ckeys))
            return FALSE;
        json_t *ad = json_object_get(ck, "adaptive");
        if (json_object_get(ck, "every") != NULL && ad != NULL) {
            g_autofree char *fa = scenario__join(fck, "adaptive");
            return scenario__fail(ctx, fa,
                                  "expected either \"every\" (a fixed interval) or \"adaptive\" "
                                  "(bounds), got both");
        }
        if (json_object_get(ck, "every") != NULL) {
            s->checkpoint = sim_checkpoint_class("periodic");
            if (!__time(ctx, ck, fck, "every", TRUE, &s->checkpoint_interval))
                return FALSE;
        } else if (ad != NULL) {
            static const char *const akeys[] = {"min", "max", NULL};
            g_autofree char *fa = scenario__join(fck, "adaptive");
            s->checkpoint = sim_checkpoint_class("adaptive");
            if (!scenario__object(ctx, ad, fa, "adaptive bounds") ||
                !scenario__check_keys(ctx, ad, fa, akeys) ||
                !__time(ctx, ad, fa, "min", TRUE, &s->checkpoint_min) ||
                !__time(ctx, ad, fa, "max", TRUE, &s->checkpoint_max))
                return FALSE;
            if (s->checkpoint_max < s->checkpoint_min) {
                g_autofree char *fmin = scenario__join(fa, "min");
                g_autofree char *fmax = scenario__join(fa, "max");
                g_autofree char *min = json_describe(json_object_get(ad, "min"));
                g_autofree char *max = json_describe(json_object_get(ad, "max"));
                /* Point at the bound written last: the minimum when the maximum is the default
                 * or the minimum comes from a sweep, else the maximum. */
                if (json_object_get(ad, "max") == NULL)
                    return scenario__fail(ctx, fmin,
                                          "expected a minimum <= the maximum (by default %g h), "
                                          "got %s",
                                          (double)s->checkpoint_max / 3.6e9, min);
                if (__swept(ctx, fmin) && !__swept(ctx, fmax))
                    return scenario__fail(
                        ctx, fmin, "expected a minimum <= the maximum (%s), got %s", max, min);
                return scenario__fail(ctx, fmax, "expected a maximum >= the minimum (%s), got %s",
                                      min, max);
            }
        } else {
            return scenario__fail(ctx, fck,
                                  "expected {\"every\": \"15m\"} or {\"adaptive\": {\"min\": ..., "
                                  "\"max\": ...}}, got an empty object");
        }
    }
    if (market == NULL && preset == NULL)
        return scenario__fail(ctx, field, "expected a \"preset\" or a \"market\"");

    /* The pools it may use: all of the scenario's, in order, unless it names some. */
    json_t *pools = json_object_get(obj, "pools");
    if (pools == NULL) {
        s->n_pools = m->pools->len;
        s->pools = g_new(guint, s->n_pools);
        for (guint k = 0; k < s->n_pools; k++)
            s->pools[k] = k;
    } else {
        g_autofree char *fp = scenario__join(field, "pools");
        if (!json_is_array(pools) || json_array_size(pools) == 0) {
            g_autofree char *got = json_describe(pools);
            return scenario__fail(ctx, fp, "expected a non-empty list of pool names, got %s", got);
        }
        s->n_pools = (guint)json_array_size(pools);
        s->pools = g_new(guint, s->n_pools);
        for (guint k = 0; k < s->n_pools; k++) {
            json_t *v = json_array_get(pools, k);
            g_autofree char *fk = g_strdup_printf("%s[%u]", fp, k);
            gboolean found = FALSE;
            for (guint j = 0; j < m->pools->len && json_is_string(v) && !found; j++) {
                if (strcmp(sim_model_pool(m, j)->name, json_string_value(v)) == 0) {
                    s->pools[k] = j;
                    found = TRUE;
                }
            }
            if (!found) {
                g_autoptr(GString) names = g_string_new(NULL);
                for (guint j = 0; j < m->pools->len && j < 20; j++)
                    g_string_append_printf(names, "%s\"%s\"", j ? ", " : "",
                                           sim_model_pool(m, j)->name);
                if (m->pools->len > 20)
                    g_string_append(names, ", ...");
                g_autofree char *got = json_describe(v);
                return scenario__fail(ctx, fk, "expected the name of a pool (%s), got %s",
                                      names->str, got);
            }
            /* The list is an order of preference: a pool twice in it is a slip. */
            for (guint j = 0; j < k; j++)
                if (s->pools[j] == s->pools[k])
                    return scenario__fail(ctx, fk,
                                          "\"%s\" is listed twice; each pool may appear once",
                                          json_string_value(v));
        }
    }
    *out = g_steal_pointer(&s);
    return TRUE;
}

/* ---- sweeps ---------------------------------------------------------------------------------- */

/* The parameters a sweep may vary. Each stands for a member of the strategy object, @path keys
 * deep, and belongs to the strategies whose market, placement or checkpoints use it. */
typedef enum {
    SWEEP_CHECKPOINT_INTERVAL,
    SWEEP_ADAPTIVE_MIN,
    SWEEP_ADAPTIVE_MAX,
    SWEEP_ASSUMED_RATE,
    SWEEP_ON_DEMAND_FRACTION,
    SWEEP_DECISION_INTERVAL,
    SWEEP_LOOKBACK,
    SWEEP_RETRY,
} SweepParam;

static const struct {
    const char *key;     /* as a sweep names it */
    const char *path[4]; /* the member it stands for, NULL-terminated */
    const char *owner;   /* the strategies that have it, for messages */
} sweepables[] = {
    [SWEEP_CHECKPOINT_INTERVAL] = {"checkpoint.interval",
                                   {"checkpoint", "every"},
                                   "strategies with periodic checkpoints"},
    [SWEEP_ADAPTIVE_MIN] = {"checkpoint.adaptive.min",
                            {"checkpoint", "adaptive", "min"},
                            "strategies with adaptive checkpoints"},
    [SWEEP_ADAPTIVE_MAX] = {"checkpoint.adaptive.max",
                            {"checkpoint", "adaptive", "max"},
                            "strategies with adaptive checkpoints"},
    [SWEEP_ASSUMED_RATE] = {"assumed_rate",
                            {"assumed_rate"},
                            "strategies with Young/Daly checkpoints"},
    [SWEEP_ON_DEMAND_FRACTION] = {"on_demand_fraction",
                                  {"on_demand_fraction"},
                                  "strategies with the hybrid market"},
    [SWEEP_DECISION_INTERVAL] = {"decision_interval",
                                 {"decision_interval"},
                                 "strategies with a deadline-aware market (greedy, "
                                 "uniform-progress)"},
    [SWEEP_LOOKBACK] = {"lookback",
                        {"lookback"},
                        "strategies with capacity-aware or price-predictive placement or "
                        "adaptive checkpoints"},
    [SWEEP_RETRY] = {"retry", {"retry"}, "every strategy"},
};

#define SWEEP_MAX_VARIANTS 1000

static gboolean
__sweep_applies(const SimStrategy *s, SweepParam p)
{
    switch (p) {
    case SWEEP_CHECKPOINT_INTERVAL:
        return s->checkpoint == sim_checkpoint_class("periodic");
    case SWEEP_ADAPTIVE_MIN:
    case SWEEP_ADAPTIVE_MAX:
        return s->checkpoint == sim_checkpoint_class("adaptive");
    case SWEEP_ASSUMED_RATE:
        return s->checkpoint == sim_checkpoint_class("young-daly");
    case SWEEP_ON_DEMAND_FRACTION:
        return s->market == sim_market_class("hybrid");
    case SWEEP_DECISION_INTERVAL:
        return s->market->leave_spot != NULL;
    case SWEEP_LOOKBACK:
        return s->placement == sim_placement_class("capacity-aware") ||
               s->placement == sim_placement_class("price-predictive") ||
               s->checkpoint == sim_checkpoint_class("adaptive");
    case SWEEP_RETRY:
    default:
        return TRUE;
    }
}

/* The value of parameter @p as read, to tell repeated values apart from different ones. */
static double
__sweep_value(const SimStrategy *s, SweepParam p)
{
    switch (p) {
    case SWEEP_CHECKPOINT_INTERVAL:
        return (double)s->checkpoint_interval;
    case SWEEP_ADAPTIVE_MIN:
        return (double)s->checkpoint_min;
    case SWEEP_ADAPTIVE_MAX:
        return (double)s->checkpoint_max;
    case SWEEP_ASSUMED_RATE:
        return s->assumed_rate_per_hour;
    case SWEEP_ON_DEMAND_FRACTION:
        return s->on_demand_fraction;
    case SWEEP_DECISION_INTERVAL:
        return (double)s->decision_interval;
    case SWEEP_LOOKBACK:
        return (double)s->price_lookback;
    case SWEEP_RETRY:
    default:
        return (double)s->retry_backoff;
    }
}

/* Sets the member at @path of @obj to @value, copying the objects on the way rather than
 * changing the file's own. */
static void
__set_path(json_t *obj, const char *const *path, json_t *value)
{
    if (path[1] == NULL) {
        json_object_set(obj, path[0], value);
        return;
    }
    json_t *inner = json_object_get(obj, path[0]);
    json_t *copy = json_is_object(inner) ? json_copy(inner) : json_object();
    __set_path(copy, path + 1, value);
    json_object_set_new(obj, path[0], copy);
}

/* One parameter of a sweep: which, its values, and where it is in the file. */
typedef struct {
    SweepParam param;
    const char *key;
    json_t *values; /* borrowed from the file */
    char *field;    /* strategies[i].sweep["key"] */
} SweepAxis;

/* Reads the variant of the strategy @obj at @field with value @at[k] of every axis. */
static SimStrategy *
__sweep_variant(Ctx *ctx, const SimModel *m, json_t *obj, const char *field, const SweepAxis *axes,
                guint n_axes, const gsize *at)
{
    json_t *copy = json_copy(obj);
    json_object_del(copy, "sweep");
    g_autoptr(GPtrArray) from = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func(g_free);
    for (guint k = 0; k < n_axes; k++) {
        const char *const *path = sweepables[axes[k].param].path;
        __set_path(copy, path, json_array_get(axes[k].values, at[k]));
        char *f = g_strdup(field);
        for (gsize d = 0; path[d] != NULL; d++) {
            char *next = scenario__join(f, path[d]);
            g_free(f);
            f = next;
        }
        g_ptr_array_add(from, f);
        g_ptr_array_add(to, g_strdup_printf("%s[%zu]", axes[k].field, at[k]));
    }
    ctx->moved_from = (const char *const *)from->pdata;
    ctx->moved_to = (const char *const *)to->pdata;
    ctx->n_moved = n_axes;
    SimStrategy *s = NULL;
    __strategy_read(ctx, m, copy, field, &s);
    ctx->moved_from = ctx->moved_to = NULL;
    ctx->n_moved = 0;
    json_decref(copy);
    return s;
}

/* A sweep value as the file has it, for the variant's name: "10m", 0.3. */
static char *
__sweep_value_text(json_t *v)
{
    return json_is_string(v) ? g_strdup(json_string_value(v)) : json_describe(v);
}

/* Whether @name is taken by an earlier strategy, or by the name a swept one has in the file. */
static gboolean
__strategy_name_taken(const Scenario *sc, const char *name)
{
    for (guint k = 0; k < sc->strategies->len; k++)
        if (strcmp(((SimStrategy *)sc->strategies->pdata[k])->name, name) == 0 ||
            strcmp(sc->strategy_groups->pdata[k], name) == 0)
            return TRUE;
    return FALSE;
}

static void
__sweep_axis_clear(gpointer p)
{
    g_free(((SweepAxis *)p)->field);
}

/* Checks the sweep of the strategy @base (read from @obj at @field without it) and adds one
 * strategy per value, or per point of the grid of several parameters. */
static gboolean
__sweep(Ctx *ctx, Scenario *sc, json_t *obj, const char *field, const SimStrategy *base,
        json_t *sweep)
{
    g_autofree char *fs = scenario__join(field, "sweep");
    if (!json_is_object(sweep) || json_object_size(sweep) == 0) {
        g_autofree char *got = json_describe(sweep);
        return scenario__fail(ctx, fs,
                              "expected an object of parameters and their values, like "
                              "{\"checkpoint.interval\": [\"10m\", \"30m\", \"1h\"]}, got %s",
                              json_is_object(sweep) ? "an empty object" : got);
    }
    g_autoptr(GString) all = g_string_new(NULL);
    g_autoptr(GString) own = g_string_new(NULL);
    for (gsize p = 0; p < G_N_ELEMENTS(sweepables); p++) {
        g_string_append_printf(all, "%s%s", p ? ", " : "", sweepables[p].key);
        if (__sweep_applies(base, (SweepParam)p))
            g_string_append_printf(own, "%s%s", own->len ? ", " : "", sweepables[p].key);
    }
    g_autoptr(GArray) axes = g_array_new(FALSE, TRUE, sizeof(SweepAxis));
    g_array_set_clear_func(axes, __sweep_axis_clear);
    const char *key;
    json_t *values;
    guint64 n_variants = 1;
    json_object_foreach(sweep, key, values)
    {
        SweepAxis axis = {0, key, values, scenario__join(fs, key)};
        g_array_append_val(axes, axis);
        gsize p = 0;
        while (p < G_N_ELEMENTS(sweepables) && strcmp(sweepables[p].key, key) != 0)
            p++;
        if (p == G_N_ELEMENTS(sweepables)) {
            json_source_set_key_error(ctx->src, ctx->error, SCENARIO_ERROR, SCENARIO_ERROR_INVALID,
                                      axis.field,
                                      "unknown parameter; expected one of the parameters a "
                                      "sweep can vary: %s",
                                      all->str);
            return FALSE;
        }
        g_array_index(axes, SweepAxis, axes->len - 1).param = (SweepParam)p;
        if (!__sweep_applies(base, (SweepParam)p)) {
            json_source_set_key_error(
                ctx->src, ctx->error, SCENARIO_ERROR, SCENARIO_ERROR_INVALID, axis.field,
                "not a parameter of this strategy (market %s, placement %s, checkpoints %s): "
                "%s belongs to %s; expected one of: %s",
                base->market->name, base->placement->name, base->checkpoint->name, key,
                sweepables[p].owner, own->str);
            return FALSE;
        }
        if (!json_is_array(values) || json_array_size(values) == 0) {
            g_autofree char *got = json_describe(values);
            return scenario__fail(ctx, axis.field,
                                  "expected a non-empty list of values of %s, like [\"10m\", "
                                  "\"1h\"] or [0.2, 0.5], got %s",
                                  key, got);
        }
        n_variants *= json_array_size(values);
        if (n_variants > SWEEP_MAX_VARIANTS) {
            g_autoptr(GString) sizes = g_string_new(NULL);
            for (guint k = 0; k < axes->len; k++)
                g_string_append_printf(sizes, "%s%zu", k ? " x " : "",
                                       json_array_size(g_array_index(axes, SweepAxis, k).values));
            return scenario__fail(ctx, fs,
                                  "expected at most %d variants, got %s = %" G_GUINT64_FORMAT
                                  "%s; sweep fewer values, or split the sweep over several "
                                  "strategies",
                                  SWEEP_MAX_VARIANTS, sizes->str, n_variants,
                                  axes->len < json_object_size(sweep) ? " already" : "");
        }
    }
    const SweepAxis *ax = (const SweepAxis *)(void *)axes->data;
    guint n_axes = axes->len;

    /* Each value first, with the other parameters at their first values, so that a bad or
     * repeated value is reported at itself, in the order of the file. */
    g_autofree gsize *at = g_new0(gsize, n_axes);
    for (guint k = 0; k < n_axes; k++) {
        gsize n = json_array_size(ax[k].values);
        g_autofree double *seen = g_new(double, n);
        for (gsize j = 0; j < n; j++) {
            at[k] = j;
            g_autoptr(SimStrategy) v = __sweep_variant(ctx, sc->cloud, obj, field, ax, n_axes, at);
            if (v == NULL)
                return FALSE;
            seen[j] = __sweep_value(v, ax[k].param);
            for (gsize e = 0; e < j; e++) {
                if (seen[e] != seen[j] && !(isnan(seen[e]) && isnan(seen[j])))
                    continue;
                g_autofree char *fj = g_strdup_printf("%s[%zu]", ax[k].field, j);
                g_autofree char *now = json_describe(json_array_get(ax[k].values, j));
                g_autofree char *before = json_describe(json_array_get(ax[k].values, e));
                return scenario__fail(ctx, fj,
                                      "expected each value once, got %s, the same as %s at "
                                      "[%zu]",
                                      now, before, e);
            }
        }
        at[k] = 0;
    }

    /* The grid, in the order of the keys and then of the values: the last key varies
     * fastest. */
    for (guint64 n = 0; n < n_variants; n++) {
        SimStrategy *v = __sweep_variant(ctx, sc->cloud, obj, field, ax, n_axes, at);
        if (v == NULL)
            return FALSE;
        g_autoptr(GString) name = g_string_new(base->name);
        for (guint k = 0; k < n_axes; k++) {
            g_autofree char *text = __sweep_value_text(json_array_get(ax[k].values, at[k]));
            g_string_append_printf(name, " %s=%s", ax[k].key, text);
        }
        if (__strategy_name_taken(sc, name->str)) {
            sim_strategy_free(v);
            g_autofree char *f = scenario__join(field, "name");
            return scenario__fail(ctx, f,
                                  "the sweep makes a strategy named \"%s\", which names an "
                                  "earlier strategy too; expected names that differ",
                                  name->str);
        }
        g_free(v->name);
        v->name = g_string_free(g_steal_pointer(&name), FALSE);
        g_ptr_array_add(sc->strategies, v);
        g_ptr_array_add(sc->strategy_groups, g_strdup(base->name));
        for (guint k = n_axes; k-- > 0;) {
            if (++at[k] < json_array_size(ax[k].values))
                break;
            at[k] = 0;
        }
    }
    return TRUE;
}

static gboolean
__strategy(Ctx *ctx, Scenario *sc, json_t *obj, gsize i)
{
    static const char *const keys[] = {"name",
                                       "preset",
                                       "market",
                                       "placement",
                                       "pools",
                                       "checkpoint",
                                       "on_notice",
                                       "on_rebalance",
                                       "on_demand_fraction",
                                       "decision_interval",
                                       "retry",
                                       "lookback",
                                       "assumed_rate",
                                       "sweep",
                                       NULL};
    g_autofree char *field = g_strdup_printf("strategies[%zu]", i);
    if (!scenario__object(ctx, obj, field, "a strategy") ||
        !scenario__check_keys(ctx, obj, field, keys))
        return FALSE;
    json_t *sweep = json_object_get(obj, "sweep");
    /* The strategy as written, without the sweep: its name, and the market, placement and
     * checkpoints that say which parameters it has. */
    json_t *plain = json_copy(obj);
    json_object_del(plain, "sweep");
    g_autoptr(SimStrategy) s = NULL;
    gboolean ok = __strategy_read(ctx, sc->cloud, plain, field, &s);
    json_decref(plain);
    if (!ok)
        return FALSE;
    if (__strategy_name_taken(sc, s->name)) {
        g_autofree char *f = scenario__join(field, "name");
        return scenario__fail(ctx, f, "\"%s\" names an earlier strategy too", s->name);
    }
    if (sweep != NULL)
        return __sweep(ctx, sc, obj, field, s, sweep);
    g_ptr_array_add(sc->strategy_groups, g_strdup(s->name));
    g_ptr_array_add(sc->strategies, g_steal_pointer(&s));
    return TRUE;
}

/* ---- the scenario ---------------------------------------------------------------------------- */

static gboolean __load_cloud(Ctx *ctx, Scenario *sc, json_t *root);

gboolean
scenario__load_cloud(Ctx *ctx, Scenario *sc, json_t *root)
{
    ctx->traces =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)trace_set_free);
    gboolean ok = __load_cloud(ctx, sc, root);
    g_clear_pointer(&ctx->traces, g_hash_table_unref);
    return ok;
}

static gboolean
__load_cloud(Ctx *ctx, Scenario *sc, json_t *root)
{
    static const char *const keys[] = {"name",    "description", "model",      "seed",   "replicas",
                                       "horizon", "start",       "start_time", "clouds", "egress",
                                       "pools",   "job",         "strategies", "expect", "$schema",
                                       "testbed", NULL};
    if (!scenario__check_keys(ctx, root, "", keys))
        return FALSE;
    sc->cloud = sim_model_new();
    sc->strategies = g_ptr_array_new_with_free_func((GDestroyNotify)sim_strategy_free);
    sc->strategy_groups = g_ptr_array_new_with_free_func(g_free);
    SimModel *m = sc->cloud;
    m->seed = sc->seed;
    guint64 replicas = 100;
    double horizon = NAN;
    if (!scenario__uint(ctx, root, "", "replicas", 1, 100000000, &replicas) ||
        !scenario__duration(ctx, root, "", "horizon", FALSE, TRUE, &horizon))
        return FALSE;
    sc->replicas = (guint)replicas;
    if (!isnan(horizon))
        m->horizon = __us(horizon);

    json_t *clouds = json_object_get(root, "clouds");
    if (clouds != NULL) {
        static const char *const ckeys[] = {"aws", "gcp", "azure", NULL};
        if (!scenario__object(ctx, clouds, "clouds", "cloud settings by cloud") ||
            !scenario__check_keys(ctx, clouds, "clouds", ckeys))
            return FALSE;
        for (guint k = 0; k < SIM_N_CLOUDS; k++) {
            json_t *c = json_object_get(clouds, sim_cloud_name((SimCloudKind)k));
            g_autofree char *f = g_strdup_printf("clouds.%s", sim_cloud_name((SimCloudKind)k));
            if (c != NULL && !__cloud(ctx, c, f, &m->clouds[k]))
                return FALSE;
        }
    }
    json_t *egress = json_object_get(root, "egress");
    if (egress != NULL) {
        static const char *const ekeys[] = {"zone", "region", "cloud", "bandwidth", NULL};
        if (!scenario__object(ctx, egress, "egress", "egress prices") ||
            !scenario__check_keys(ctx, egress, "egress", ekeys) ||
            !scenario__gb_price(ctx, egress, "egress", "zone", FALSE, &m->egress.zone) ||
            !scenario__gb_price(ctx, egress, "egress", "region", FALSE, &m->egress.region) ||
            !scenario__gb_price(ctx, egress, "egress", "cloud", FALSE, &m->egress.cloud) ||
            !scenario__bandwidth(ctx, egress, "egress", "bandwidth", &m->egress.bandwidth_gbps))
            return FALSE;
    }

    json_t *pools = json_object_get(root, "pools");
    if (pools == NULL)
        return scenario__fail(ctx, "pools", "missing; expected a list of pools");
    if (!json_is_array(pools) || json_array_size(pools) == 0) {
        g_autofree char *got = json_describe(pools);
        return scenario__fail(ctx, "pools", "expected a non-empty list of pools, got %s", got);
    }
    for (gsize i = 0; i < json_array_size(pools); i++)
        if (!__pool(ctx, sc, json_array_get(pools, i), i))
            return FALSE;

    const char *start_time = NULL;
    if (!scenario__string(ctx, root, "", "start_time", FALSE, &start_time))
        return FALSE;
    if (start_time != NULL) {
        g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
        g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(start_time, utc);
        if (dt == NULL)
            return scenario__fail(ctx, "start_time",
                                  "expected an ISO 8601 time like \"2025-01-06T00:00:00Z\", got "
                                  "\"%s\"",
                                  start_time);
        m->start_unix = g_date_time_to_unix(dt);
    } else if (m->start_unix == 0) {
        m->start_unix = 1736121600; /* 2025-01-06T00:00:00Z, a Monday */
    }

    /* Where in the traces replicas start: a random offset (the default) or a fixed one. */
    json_t *start = json_object_get(root, "start");
    double offset = NAN;
    if (start != NULL &&
        !(json_is_string(start) && strcmp(json_string_value(start), "random") == 0)) {
        /* Words other than "random" get a message that offers it; a negative offset is left
         * to the duration reader, which says what is wrong with it. */
        double seconds;
        if (!(json_is_string(start) || json_is_number(start)) ||
            (json_is_string(start) && json_string_value(start)[0] != '-' &&
             !scenario_parse_duration(json_string_value(start), &seconds))) {
            g_autofree char *got = json_describe(start);
            return scenario__fail(ctx, "start",
                                  "expected \"random\" or an offset into the traces like \"12h\", "
                                  "got %s",
                                  got);
        }
        if (!scenario__duration(ctx, root, "", "start", TRUE, FALSE, &offset))
            return FALSE;
    }
    if (m->trace_span > 0) {
        /* Whatever the offset, a replica must stay within the recordings. */
        if (m->horizon > m->trace_span && isnan(horizon))
            return scenario__fail(ctx, "horizon",
                                  "missing; the default (%g h) is longer than the traces, "
                                  "expected a horizon of at most %g h",
                                  m->horizon / 3.6e9, m->trace_span / 3.6e9);
        if (m->horizon > m->trace_span) {
            g_autofree char *got = json_describe(json_object_get(root, "horizon"));
            return scenario__fail(ctx, "horizon",
                                  "expected at most the length of the traces (%g h), so that "
                                  "replicas stay within the recordings, got %s",
                                  m->trace_span / 3.6e9, got);
        }
        if (!isnan(offset)) {
            if (__us(offset) + m->horizon > m->trace_span) {
                g_autofree char *got = json_describe(start);
                return scenario__fail(ctx, "start",
                                      "expected an offset of at most %g h (the traces' %g h less "
                                      "the %g h horizon), got %s",
                                      (m->trace_span - m->horizon) / 3.6e9, m->trace_span / 3.6e9,
                                      m->horizon / 3.6e9, got);
            }
            m->start_min = m->start_max = __us(offset);
        } else {
            m->start_min = 0;
            m->start_max = m->trace_span - m->horizon;
        }
    } else if (!isnan(offset)) {
        m->start_min = m->start_max = __us(offset);
    } else {
        /* Hazard pools only: replicas start at random times of a week, so they meet weekdays,
         * weekends, days and nights as often as a job started any time would. */
        m->start_min = 0;
        m->start_max = 7 * 24 * 3600 * (SimTime)US - 1;
    }

    json_t *job = json_object_get(root, "job");
    if (job == NULL)
        return scenario__fail(ctx, "job", "missing; expected the job");
    if (!__job(ctx, sc, job))
        return FALSE;
    for (guint k = 0; k < m->pools->len; k++) {
        const SimPool *p = sim_model_pool(m, k);
        if (sim_job_step_seconds(&m->job, p->instance_type) <= 0)
            return scenario__fail(ctx, "job.step_time", "no step time for pool \"%s\"", p->name);
    }

    json_t *strategies = json_object_get(root, "strategies");
    if (strategies == NULL)
        return scenario__fail(ctx, "strategies", "missing; expected a list of strategies");
    if (!json_is_array(strategies) || json_array_size(strategies) == 0) {
        g_autofree char *got = json_describe(strategies);
        return scenario__fail(ctx, "strategies", "expected a non-empty list of strategies, got %s",
                              got);
    }
    for (gsize i = 0; i < json_array_size(strategies); i++)
        if (!__strategy(ctx, sc, json_array_get(strategies, i), i))
            return FALSE;

    sim_model_finish(m);
    if (!scenario__load_expectations(ctx, sc, root) || !scenario__load_testbed(ctx, sc, root))
        return FALSE;

    /* The baseline: the same job on demand in the cheapest pool, no checkpoints. */
    sc->baseline = sim_strategy_new("on-demand baseline");
    sc->baseline->market = sim_market_class("on-demand");
    sc->baseline->placement = sim_placement_class("lowest-price");
    sc->baseline->n_pools = m->pools->len;
    sc->baseline->pools = g_new(guint, m->pools->len);
    for (guint k = 0; k < m->pools->len; k++)
        sc->baseline->pools[k] = k;
    return TRUE;
}
