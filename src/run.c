/* spotlab: running a scenario and what a run produces (see run.h). */
#include "run.h"

#include "util.h"

#include <math.h>
#include <string.h>

typedef struct {
    RunResults *results;
    gint next; /* the next window to take */
    gint done; /* windows finished */
} Shared;

static void
__run_window(SimTickRunner *runner, const Scenario *sc, RunWindow *rw)
{
    const SimTickTrace *tr = &rw->pool->tick;
    gsize start = rw->window->start;
    sim_tick_run(runner, tr, &sc->job, start, SIM_TICK_ON_DEMAND, &rw->baseline);
    for (guint k = 0; k < sc->n_policies; k++) {
        SimTickPolicy p = sc->policies[k];
        if (p == SIM_TICK_ON_DEMAND)
            rw->by_policy[p] = rw->baseline;
        else
            sim_tick_run(runner, tr, &sc->job, start, p, &rw->by_policy[p]);
    }
}

/* Takes windows until none is left. Returns after the last. */
static void
__work(Shared *shared, RunProgressFunc progress, gpointer user_data)
{
    g_autoptr(SimTickRunner) runner = sim_tick_runner_new();
    RunResults *res = shared->results;
    gint64 last_report = g_get_monotonic_time();
    for (;;) {
        gint i = g_atomic_int_add(&shared->next, 1);
        if ((guint)i >= res->windows->len)
            break;
        __run_window(runner, res->scenario, &g_array_index(res->windows, RunWindow, i));
        gint done = g_atomic_int_add(&shared->done, 1) + 1;
        if (progress != NULL && g_get_monotonic_time() - last_report > 200000) {
            progress((gsize)done, res->windows->len, user_data);
            last_report = g_get_monotonic_time();
        }
    }
}

static gpointer
__worker(gpointer data)
{
    __work(data, NULL, NULL);
    return NULL;
}

static void
__summarise(RunResults *res)
{
    const Scenario *sc = res->scenario;
    gsize n = res->windows->len;
    g_autofree double *cost = g_new(double, n ? n : 1);
    g_autofree double *savings = g_new(double, n ? n : 1);
    g_autofree double *finish = g_new(double, n ? n : 1);
    res->n_policies = sc->n_policies;
    for (guint k = 0; k < sc->n_policies; k++) {
        RunPolicySummary *s = &res->policies[k];
        memset(s, 0, sizeof *s);
        s->policy = sc->policies[k];
        double total = 0, total_od = 0, preemptions = 0;
        for (gsize i = 0; i < n; i++) {
            const RunWindow *rw = &g_array_index(res->windows, RunWindow, i);
            const SimTickResult *r = &rw->by_policy[s->policy];
            cost[i] = r->cost;
            savings[i] =
                rw->baseline.cost > 0 ? 100.0 * (1.0 - r->cost / rw->baseline.cost) : (double)NAN;
            finish[i] = r->finished ? r->finish_hours : (double)NAN;
            total += r->cost;
            total_od += rw->baseline.cost;
            preemptions += r->preemptions;
            s->deadline_met += r->deadline_met;
            s->infeasible += r->infeasible;
            s->unfinished += !r->finished;
        }
        sim_summary_compute(cost, n, &s->cost);
        sim_summary_compute(savings, n, &s->savings);
        sim_summary_compute(finish, n, &s->finish_hours);
        s->total_savings = total_od > 0 ? 100.0 * (1.0 - total / total_od) : (double)NAN;
        s->preemptions_mean = n ? preemptions / (double)n : (double)NAN;
    }
}

RunResults *
run_scenario(const Scenario *scenario, guint threads, RunProgressFunc progress, gpointer user_data)
{
    g_return_val_if_fail(scenario != NULL, NULL);
    RunResults *res = g_new0(RunResults, 1);
    res->scenario = scenario;
    res->windows = g_array_sized_new(FALSE, TRUE, sizeof(RunWindow), scenario_n_windows(scenario));
    for (guint p = 0; p < scenario->pools->len; p++) {
        const ScenarioPool *sp = scenario->pools->pdata[p];
        for (guint w = 0; w < sp->windows->len; w++) {
            RunWindow rw = {0};
            rw.pool = sp;
            rw.window = &g_array_index(sp->windows, ScenarioWindow, w);
            g_array_append_val(res->windows, rw);
        }
    }

    if (threads == 0)
        threads = g_get_num_processors();
    threads = MIN(threads, MAX(res->windows->len, 1u));
    Shared shared = {res, 0, 0};
    g_autoptr(GPtrArray) workers = g_ptr_array_new();
    for (guint t = 1; t < threads; t++)
        g_ptr_array_add(workers, g_thread_new("spotlab-run", __worker, &shared));
    __work(&shared, progress, user_data);
    for (guint t = 0; t < workers->len; t++)
        g_thread_join(workers->pdata[t]);
    if (progress != NULL)
        progress(res->windows->len, res->windows->len, user_data);
    __summarise(res);

    /* The first window once more under each policy, tick by tick, for the timeline. */
    if (res->windows->len > 0) {
        g_autoptr(SimTickRunner) runner = sim_tick_runner_new();
        const RunWindow *rw = &g_array_index(res->windows, RunWindow, 0);
        for (guint k = 0; k < scenario->n_policies; k++) {
            SimTickPolicy p = scenario->policies[k];
            SimTickResult r;
            res->timeline[p] = g_array_new(FALSE, FALSE, 1);
            sim_tick_runner_record(runner, res->timeline[p]);
            sim_tick_run(runner, &rw->pool->tick, &scenario->job, rw->window->start, p, &r);
        }
        sim_tick_runner_record(runner, NULL);
    }
    return res;
}

void
run_results_free(RunResults *results)
{
    if (results == NULL)
        return;
    g_array_unref(results->windows);
    for (guint p = 0; p < SIM_TICK_N_POLICIES; p++)
        if (results->timeline[p] != NULL)
            g_array_unref(results->timeline[p]);
    g_free(results);
}

/* ---- the results document --------------------------------------------------------------- */

json_t *
run_json_number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *
run_summary_json(const SimSummary *s)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:[o,o]}", "n", (json_int_t)s->n,
                     "mean", run_json_number(s->mean), "stddev", run_json_number(s->stddev),
                     "median", run_json_number(s->median), "p90", run_json_number(s->p90), "p95",
                     run_json_number(s->p95), "min", run_json_number(s->min), "max",
                     run_json_number(s->max), "ci95", run_json_number(s->ci_low),
                     run_json_number(s->ci_high));
}

static json_t *
__result_json(const RunWindow *rw, const SimTickResult *r)
{
    json_t *o = json_pack(
        "{s:s, s:o, s:I, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:o, s:o, s:o, s:I, s:I}", "pool",
        rw->pool->pool->name, "start_hours", run_json_number(rw->window->start_hours),
        "start_index", (json_int_t)rw->window->start, "cost", run_json_number(r->cost), "spot_cost",
        run_json_number(r->spot_cost), "on_demand_cost", run_json_number(r->od_cost), "savings_pct",
        run_json_number(rw->baseline.cost > 0 ? 100.0 * (1.0 - r->cost / rw->baseline.cost)
                                              : (double)NAN),
        "finished", r->finished, "deadline_met", r->deadline_met, "infeasible", r->infeasible,
        "finish_hours", run_json_number(r->finish_hours), "spot_hours",
        run_json_number(r->spot_hours), "on_demand_hours", run_json_number(r->od_hours),
        "preemptions", (json_int_t)r->preemptions, "launches", (json_int_t)r->launches);
    return o;
}

static void
__tl_event(json_t *events, double hours, const char *kind, int instance, const char *pool,
           SimCluster market)
{
    json_array_append_new(events,
                          json_pack("[o, s, i, i, s, s]", run_json_number(hours), kind, 0, instance,
                                    pool, market == SIM_CLUSTER_SPOT ? "spot" : "on-demand"));
}

/* The first window's run under one policy as timeline events, in the form the continuous
 * model writes (docs/results.md): launches, reclaims, releases and the end of the work. */
static json_t *
__timeline_json(const RunResults *res, SimTickPolicy policy)
{
    const RunWindow *rw = &g_array_index(res->windows, RunWindow, 0);
    const SimTickTrace *tr = &rw->pool->tick;
    const GArray *ticks = res->timeline[policy];
    const SimTickResult *r = &rw->by_policy[policy];
    const char *pool = rw->pool->pool->name;
    const double gap_h = tr->gap / 3600.0, overhead_h = res->scenario->job.overhead / 3600.0;
    json_t *events = json_array();
    int instance = -1;
    SimCluster prev = SIM_CLUSTER_NONE;
    double end_hours = r->finished ? r->finish_hours : (double)ticks->len * gap_h;
    for (guint t = 0; t <= ticks->len; t++) {
        SimCluster c =
            t < ticks->len ? (SimCluster)g_array_index(ticks, guint8, t) : SIM_CLUSTER_NONE;
        double h = t * gap_h;
        if (c == prev && t < ticks->len)
            continue;
        if (prev != SIM_CLUSTER_NONE) {
            gsize idx = rw->window->start + t;
            gboolean reclaimed =
                prev == SIM_CLUSTER_SPOT && t < ticks->len && !(idx < tr->n && tr->avail[idx]);
            if (t == ticks->len && r->finished)
                __tl_event(events, h, "done", instance, pool, prev);
            __tl_event(events, h, reclaimed ? "reclaim" : "end", instance, pool, prev);
        }
        if (c != SIM_CLUSTER_NONE) {
            instance++;
            __tl_event(events, h, "up", instance, pool, c);
            /* Ready once the restart overhead has passed, if the cluster lasts that long. */
            guint ready = t + (guint)ceil(overhead_h / gap_h - 1e-9), u = t;
            while (u < ready && u < ticks->len && g_array_index(ticks, guint8, u) == (guint8)c)
                u++;
            if (u == ready && ready < ticks->len)
                __tl_event(events, h + overhead_h, "ready", instance, pool, c);
        }
        prev = c;
    }
    return json_pack("{s:i, s:s, s:o, s:o, s:o}", "replica", 0, "pool", pool, "start_hours",
                     run_json_number(rw->window->start_hours), "end_hours",
                     run_json_number(end_hours), "events", events);
}

/* The first window's pool over the recorded span, as change points [hours since the window's
 * start, value]: capacity (the gang threshold when available, else 0) and price. */
static json_t *
__series_json(const RunResults *res)
{
    const RunWindow *rw = &g_array_index(res->windows, RunWindow, 0);
    const SimTickTrace *tr = &rw->pool->tick;
    gsize span = 0;
    for (guint p = 0; p < SIM_TICK_N_POLICIES; p++)
        if (res->timeline[p] != NULL)
            span = MAX(span, res->timeline[p]->len);
    json_t *capacity = json_array(), *price = json_array();
    double last_cap = NAN, last_price = NAN;
    for (gsize t = 0; t <= span && rw->window->start + t < tr->n; t++) {
        gsize idx = rw->window->start + t;
        double cap = tr->avail[idx] ? rw->pool->threshold : 0, pr = tr->price[idx];
        double h = (double)t * tr->gap / 3600.0;
        if (cap != last_cap)
            json_array_append_new(capacity,
                                  json_pack("[o, o]", run_json_number(h), run_json_number(cap)));
        if (pr != last_price)
            json_array_append_new(price,
                                  json_pack("[o, o]", run_json_number(h), run_json_number(pr)));
        last_cap = cap;
        last_price = pr;
    }
    return json_pack("[{s:s, s:o, s:o, s:o}]", "pool", rw->pool->pool->name, "capacity", capacity,
                     "price", price, "on_demand_price", run_json_number(tr->od_price));
}

json_t *
run_results_to_json(const RunResults *res)
{
    const Scenario *sc = res->scenario;
    json_t *root = json_object();
    json_object_set_new(
        root, "spotlab",
        json_pack("{s:s, s:i}", "version", SPOTLAB_VERSION, "schema", RESULTS_SCHEMA_VERSION));
    json_object_set_new(root, "mode", json_string("sim"));
    json_object_set_new(root, "model", json_string("tick"));
    json_object_set_new(root, "scenario",
                        json_pack("{s:s, s:s, s:I}", "name", sc->name, "file", sc->path, "seed",
                                  (json_int_t)sc->seed));
    if (sc->description)
        json_object_set_new(json_object_get(root, "scenario"), "description",
                            json_string(sc->description));
    json_object_set_new(
        root, "job",
        json_pack("{s:o, s:o, s:o}", "work_hours", run_json_number(sc->job.work / 3600),
                  "deadline_hours", run_json_number(sc->job.deadline / 3600),
                  "restart_overhead_hours", run_json_number(sc->job.overhead / 3600)));
    json_t *pools = json_array();
    for (guint p = 0; p < sc->pools->len; p++) {
        const ScenarioPool *sp = sc->pools->pdata[p];
        TracePoolStats st;
        trace_pool_stats(sp->pool, sp->threshold, &st);
        json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:I, s:I, s:o, s:o}", "name",
                              sp->pool->name, "cloud", trace_cloud_to_string(sp->pool->cloud),
                              "region", sp->pool->region, "zone", sp->pool->zone, "instance_type",
                              sp->pool->instance_type, "source", sp->pool->source, "gap_seconds",
                              run_json_number(sp->tick.gap), "ticks", (json_int_t)sp->tick.n,
                              "gang_threshold", (json_int_t)sp->threshold, "availability",
                              run_json_number(st.availability), "on_demand_price",
                              run_json_number(sp->tick.od_price));
        json_array_append_new(pools, o);
    }
    json_object_set_new(root, "pools", pools);
    json_object_set_new(root, "baseline", json_string("on-demand"));

    json_t *policies = json_array();
    for (guint k = 0; k < res->n_policies; k++) {
        const RunPolicySummary *s = &res->policies[k];
        gsize n = res->windows->len;
        json_t *summary = json_pack(
            "{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o}", "runs", (json_int_t)n, "cost",
            run_summary_json(&s->cost), "savings_pct", run_summary_json(&s->savings),
            "total_savings_pct", run_json_number(s->total_savings), "finish_hours",
            run_summary_json(&s->finish_hours), "deadline_met_pct",
            run_json_number(n ? 100.0 * (double)s->deadline_met / (double)n : (double)NAN),
            "deadline_met", (json_int_t)s->deadline_met, "infeasible", (json_int_t)s->infeasible,
            "unfinished", (json_int_t)s->unfinished, "preemptions_mean",
            run_json_number(s->preemptions_mean));
        json_t *runs = json_array();
        for (gsize i = 0; i < n; i++) {
            const RunWindow *rw = &g_array_index(res->windows, RunWindow, i);
            json_array_append_new(runs, __result_json(rw, &rw->by_policy[s->policy]));
        }
        json_t *o =
            json_pack("{s:s, s:o}", "name", sim_tick_policy_name(s->policy), "summary", summary);
        if (res->timeline[s->policy] != NULL)
            json_object_set_new(o, "timeline", __timeline_json(res, s->policy));
        json_object_set_new(o, "runs", runs);
        json_array_append_new(policies, o);
    }
    json_object_set_new(root, "policies", policies);
    if (res->windows->len > 0)
        json_object_set_new(root, "timeline_series", __series_json(res));
    return root;
}

gboolean
run_json_write(json_t *doc, const char *path, GError **error)
{
    g_autofree char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    g_autoptr(GString) out = g_string_new(text);
    g_string_append_c(out, '\n');
    return spotlab_file_replace(path, out->str, out->len, error);
}

gboolean
run_results_write(const RunResults *results, const char *path, GError **error)
{
    json_t *doc = run_results_to_json(results);
    gboolean ok = run_json_write(doc, path, error);
    json_decref(doc);
    return ok;
}

/* ---- the terminal table --------------------------------------------------------------------- */

void
run_format_money(char *buf, gsize size, double v)
{
    if (!isfinite(v)) {
        g_strlcpy(buf, "-", size);
        return;
    }
    /* Thousands separators keep large costs readable. */
    char digits[64];
    g_snprintf(digits, sizeof digits, "%.2f", fabs(v));
    char *dot = strchr(digits, '.');
    gsize int_len = (gsize)(dot - digits);
    GString *s = g_string_new(v < 0 ? "-$" : "$");
    for (gsize i = 0; i < int_len; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            g_string_append_c(s, ',');
        g_string_append_c(s, digits[i]);
    }
    g_string_append(s, dot);
    g_strlcpy(buf, s->str, size);
    g_string_free(s, TRUE);
}

char *
run_results_table(const RunResults *res)
{
    const Scenario *sc = res->scenario;
    GString *out = g_string_new(NULL);
    gsize n = res->windows->len;
    g_string_append_printf(out,
                           "%s: tick model, %u pool%s, %zu window%s; job %.2f h of work, "
                           "deadline %.2f h, restart overhead %.2f h\n\n",
                           sc->name, sc->pools->len, sc->pools->len == 1 ? "" : "s", n,
                           n == 1 ? "" : "s", sc->job.work / 3600, sc->job.deadline / 3600,
                           sc->job.overhead / 3600);
    g_string_append_printf(out, "%-17s %12s %27s %12s %12s %9s %9s\n", "policy", "mean cost",
                           "95% CI of the mean", "median", "p90", "savings", "deadline");
    for (guint k = 0; k < res->n_policies; k++) {
        const RunPolicySummary *s = &res->policies[k];
        char mean[32], lo[32], hi[32], med[32], p90[32], ci[80], sav[16], dl[16];
        run_format_money(mean, sizeof mean, s->cost.mean);
        run_format_money(lo, sizeof lo, s->cost.ci_low);
        run_format_money(hi, sizeof hi, s->cost.ci_high);
        run_format_money(med, sizeof med, s->cost.median);
        run_format_money(p90, sizeof p90, s->cost.p90);
        g_snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
        g_snprintf(sav, sizeof sav, "%.1f%%", s->total_savings);
        g_snprintf(dl, sizeof dl, "%.1f%%", n ? 100.0 * (double)s->deadline_met / (double)n : 0.0);
        g_string_append_printf(out, "%-17s %12s %27s %12s %12s %9s %9s\n",
                               sim_tick_policy_name(s->policy), mean, ci, med, p90, sav, dl);
    }
    g_string_append(out, "\nsavings: total cost against on demand over the same windows; "
                         "deadline: runs that met it\n");
    gsize infeasible = 0, unfinished = 0;
    for (guint k = 0; k < res->n_policies; k++) {
        infeasible = MAX(infeasible, res->policies[k].infeasible);
        unfinished += res->policies[k].unfinished;
    }
    if (infeasible > 0)
        g_string_append_printf(out,
                               "%zu window%s infeasible (work + overhead > deadline): priced "
                               "as on demand for work + overhead\n",
                               infeasible, infeasible == 1 ? " is" : "s are");
    if (unfinished > 0)
        g_string_append_printf(out,
                               "%zu run%s ended with the trace before the work was done "
                               "(spot-only)\n",
                               unfinished, unfinished == 1 ? "" : "s");
    return g_string_free(out, FALSE);
}
