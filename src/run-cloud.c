/* spotlab: running a continuous-model scenario (see run-cloud.h). */
#include "run-cloud.h"

#include <math.h>
#include <string.h>

typedef struct {
    CloudResults *res;
    gint next;
    gint done;
} Shared;

static void
__work(Shared *shared, RunProgressFunc progress, gpointer user_data)
{
    CloudResults *res = shared->res;
    const Scenario *sc = res->scenario;
    g_autoptr(SimWorkspace) ws = sim_workspace_new();
    gint64 last_report = g_get_monotonic_time();
    for (;;) {
        gint i = g_atomic_int_add(&shared->next, 1);
        if ((guint)i >= res->n_replicas)
            break;
        sim_model_run(ws, sc->cloud, sc->baseline, (guint64)i, &res->baseline[i]);
        /* Replica 0 of every strategy keeps its timeline, for reports. */
        sim_workspace_set_recording(ws, i == 0);
        for (guint k = 0; k < res->n_strategies; k++)
            sim_model_run(ws, sc->cloud, res->strategies[k].strategy, (guint64)i,
                          &res->strategies[k].replicas[i]);
        sim_workspace_set_recording(ws, FALSE);
        gint done = g_atomic_int_add(&shared->done, 1) + 1;
        if (progress != NULL && g_get_monotonic_time() - last_report > 200000) {
            progress((gsize)done, res->n_replicas, user_data);
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

typedef double (*Metric)(const SimReplicaResult *r, const SimReplicaResult *base);

static void
__summary(const CloudResults *res, const SimReplicaResult *rs, Metric metric, SimSummary *out)
{
    g_autofree double *v = g_new(double, res->n_replicas);
    for (guint i = 0; i < res->n_replicas; i++)
        v[i] = metric(&rs[i], &res->baseline[i]);
    sim_summary_compute(v, res->n_replicas, out);
}

#define METRIC(name, expr)                                                                         \
    static double name(const SimReplicaResult *r, const SimReplicaResult *base)                    \
    {                                                                                              \
        (void)base;                                                                                \
        return (expr);                                                                             \
    }

METRIC(__m_cost, r->cost)
METRIC(__m_compute, r->cost_compute)
METRIC(__m_storage, r->cost_storage)
METRIC(__m_egress, r->cost_egress)
METRIC(__m_savings, base->cost > 0 ? 100.0 * (1.0 - r->cost / base->cost) : (double)NAN)
METRIC(__m_completion, r->finished ? r->completion_hours : (double)NAN)
METRIC(__m_lost_gpu, r->lost_gpu_hours)
METRIC(__m_interruptions, (double)r->interruptions)
METRIC(__m_goodput, r->goodput)
METRIC(__m_cost_per_unit, r->work_units > 0 ? r->cost / r->work_units : (double)NAN)
METRIC(__m_checkpoint, r->checkpoint_hours)
METRIC(__m_notices, (double)r->notices)
METRIC(__m_emergency_attempted, (double)r->emergency_attempted)
METRIC(__m_emergency_finished, (double)r->emergency_finished)
METRIC(__m_paid, r->paid_hours)

void
cloud_results_summarise(CloudResults *res)
{
    for (guint k = 0; k < res->n_strategies; k++) {
        CloudStrategyResults *s = &res->strategies[k];
        const SimReplicaResult *rs = s->replicas;
        __summary(res, rs, __m_cost, &s->cost);
        __summary(res, rs, __m_compute, &s->cost_compute);
        __summary(res, rs, __m_storage, &s->cost_storage);
        __summary(res, rs, __m_egress, &s->cost_egress);
        __summary(res, rs, __m_savings, &s->savings);
        __summary(res, rs, __m_completion, &s->completion_hours);
        __summary(res, rs, __m_lost_gpu, &s->lost_gpu_hours);
        __summary(res, rs, __m_interruptions, &s->interruptions);
        __summary(res, rs, __m_goodput, &s->goodput);
        __summary(res, rs, __m_cost_per_unit, &s->cost_per_unit);
        __summary(res, rs, __m_checkpoint, &s->checkpoint_hours);
        __summary(res, rs, __m_notices, &s->notices);
        __summary(res, rs, __m_emergency_attempted, &s->emergency_attempted);
        __summary(res, rs, __m_emergency_finished, &s->emergency_finished);
        __summary(res, rs, __m_paid, &s->paid_hours);
        /* Recovery times are pooled over every interruption of every replica. */
        g_autoptr(GArray) rec = g_array_new(FALSE, FALSE, sizeof(double));
        double total = 0, total_base = 0;
        for (guint i = 0; i < res->n_replicas; i++) {
            g_array_append_vals(rec, rs[i].recovery_seconds->data, rs[i].recovery_seconds->len);
            total += rs[i].cost;
            total_base += res->baseline[i].cost;
            s->finished += rs[i].finished;
            s->deadline_met += rs[i].deadline_met;
            s->events += rs[i].events;
        }
        sim_summary_compute((const double *)(const void *)rec->data, rec->len, &s->recovery);
        s->total_savings = total_base > 0 ? 100.0 * (1.0 - total / total_base) : (double)NAN;
    }
}

CloudResults *
cloud_run(const Scenario *sc, guint threads, RunProgressFunc progress, gpointer user_data)
{
    g_return_val_if_fail(sc != NULL && sc->model == SCENARIO_MODEL_CONTINUOUS, NULL);
    gint64 started = g_get_monotonic_time();
    CloudResults *res = g_new0(CloudResults, 1);
    res->scenario = sc;
    res->n_replicas = sc->replicas;
    res->baseline = g_new0(SimReplicaResult, sc->replicas);
    res->n_strategies = sc->strategies->len;
    res->strategies = g_new0(CloudStrategyResults, res->n_strategies);
    for (guint k = 0; k < res->n_strategies; k++) {
        res->strategies[k].strategy = sc->strategies->pdata[k];
        res->strategies[k].replicas = g_new0(SimReplicaResult, sc->replicas);
    }
    if (threads == 0)
        threads = g_get_num_processors();
    threads = MIN(threads, MAX(sc->replicas, 1u));
    Shared shared = {res, 0, 0};
    g_autoptr(GPtrArray) workers = g_ptr_array_new();
    for (guint t = 1; t < threads; t++)
        g_ptr_array_add(workers, g_thread_new("spotlab-replica", __worker, &shared));
    __work(&shared, progress, user_data);
    for (guint t = 0; t < workers->len; t++)
        g_thread_join(workers->pdata[t]);
    if (progress != NULL)
        progress(res->n_replicas, res->n_replicas, user_data);
    cloud_results_summarise(res);
    res->seconds = (double)(g_get_monotonic_time() - started) / 1e6;
    return res;
}

void
cloud_results_free(CloudResults *res)
{
    if (res == NULL)
        return;
    for (guint i = 0; i < res->n_replicas; i++)
        sim_replica_result_clear(&res->baseline[i]);
    g_free(res->baseline);
    for (guint k = 0; k < res->n_strategies; k++) {
        for (guint i = 0; i < res->n_replicas; i++)
            sim_replica_result_clear(&res->strategies[k].replicas[i]);
        g_free(res->strategies[k].replicas);
    }
    g_free(res->strategies);
    g_free(res);
}

/* ---- the results document ------------------------------------------------------------------ */

#define NUM run_json_number

static json_t *
__replica_json(guint i, const SimReplicaResult *r, const SimReplicaResult *base)
{
    json_t *rec = json_array();
    for (guint k = 0; k < r->recovery_seconds->len; k++)
        json_array_append_new(rec, NUM(g_array_index(r->recovery_seconds, double, k)));
    json_t *o = json_object();
    json_object_set_new(o, "replica", json_integer(i));
    json_object_set_new(o, "finished", json_boolean(r->finished));
    json_object_set_new(o, "deadline_met", json_boolean(r->deadline_met));
    json_object_set_new(o, "completion_hours", NUM(r->completion_hours));
    json_object_set_new(o, "cost", NUM(r->cost));
    json_object_set_new(o, "cost_compute", NUM(r->cost_compute));
    json_object_set_new(o, "cost_storage", NUM(r->cost_storage));
    json_object_set_new(o, "cost_egress", NUM(r->cost_egress));
    json_object_set_new(o, "on_demand_cost", NUM(base->cost));
    json_object_set_new(o, "savings_pct",
                        NUM(base->cost > 0 ? 100.0 * (1.0 - r->cost / base->cost) : (double)NAN));
    json_object_set_new(o, "paid_hours", NUM(r->paid_hours));
    json_object_set_new(o, "useful_hours", NUM(r->useful_hours));
    json_object_set_new(o, "lost_hours", NUM(r->lost_hours));
    json_object_set_new(o, "overhead_hours", NUM(r->overhead_hours));
    json_object_set_new(o, "idle_hours", NUM(r->idle_hours));
    json_object_set_new(o, "lost_gpu_hours", NUM(r->lost_gpu_hours));
    json_object_set_new(o, "checkpoint_hours", NUM(r->checkpoint_hours));
    json_object_set_new(o, "goodput", NUM(r->goodput));
    json_object_set_new(o, "work_units", NUM(r->work_units));
    json_object_set_new(o, "interruptions", json_integer(r->interruptions));
    json_object_set_new(o, "reclaims", json_integer(r->reclaims));
    json_object_set_new(o, "notices", json_integer(r->notices));
    json_object_set_new(o, "notices_missed", json_integer(r->notices_missed));
    json_object_set_new(o, "rebalances", json_integer(r->rebalances));
    json_object_set_new(o, "emergency_attempted", json_integer(r->emergency_attempted));
    json_object_set_new(o, "emergency_finished", json_integer(r->emergency_finished));
    json_object_set_new(o, "checkpoints", json_integer(r->checkpoints));
    json_object_set_new(o, "launches", json_integer(r->launches));
    json_object_set_new(o, "launch_failures", json_integer(r->launch_failures));
    json_object_set_new(o, "switches", json_integer(r->switches));
    json_object_set_new(o, "recovery_seconds", rec);
    if (r->items_done > 0 || r->items_duplicated > 0) {
        json_object_set_new(o, "items_done", json_integer((json_int_t)r->items_done));
        json_object_set_new(o, "items_duplicated", json_integer((json_int_t)r->items_duplicated));
        json_object_set_new(o, "items_lost", json_integer((json_int_t)r->items_lost));
    }
    return o;
}

static const char *
__job_kind(SimJobKind kind)
{
    return kind == SIM_JOB_SWEEP ? "sweep" : kind == SIM_JOB_INFERENCE ? "inference" : "training";
}

/* Replica 0's events: [hours, kind, unit, instance, pool, market]. */
static json_t *
__timeline_json(const SimModel *m, const SimReplicaResult *r, guint replica)
{
    json_t *events = json_array();
    for (guint k = 0; r->timeline != NULL && k < r->timeline->len; k++) {
        const SimTimelineEvent *e = &g_array_index(r->timeline, SimTimelineEvent, k);
        json_array_append_new(events,
                              json_pack("[o, s, i, i, s, s]", NUM(e->hours),
                                        sim_timeline_kind_name((SimTimelineKind)e->kind), e->unit,
                                        (int)e->instance, sim_model_pool(m, e->pool)->name,
                                        e->market == SIM_MARKET_ON_DEMAND ? "on-demand" : "spot"));
    }
    return json_pack("{s:i, s:o, s:o, s:o}", "replica", replica, "start_hours", NUM(r->start_hours),
                     "end_hours", NUM(r->finished ? r->completion_hours : m->horizon / 3.6e9),
                     "events", events);
}

/* A pool's capacity and price over [from, to) hours of trace time, as [hours since from, value]
 * change points, for the timeline chart. */
static json_t *
__series_json(const SimModel *m, guint pool, double from, double to)
{
    const SimPool *p = sim_model_pool(m, pool);
    json_t *o = json_pack("{s:s}", "pool", p->name);
    const SimSteps *steps[2] = {&p->capacity, &p->price};
    const char *keys[2] = {"capacity", "price"};
    for (int k = 0; k < 2; k++) {
        const SimSteps *st = steps[k];
        json_t *points = json_array();
        if (st->n == 0) {
            if (k == 1)
                json_array_append_new(points, json_pack("[f, o]", 0.0, NUM(p->constant_price)));
            json_object_set_new(o, keys[k], points);
            continue;
        }
        for (gsize i = 0; i < st->n; i++) {
            double h = (double)st->time[i] / 3.6e9;
            double next = i + 1 < st->n ? (double)st->time[i + 1] / 3.6e9 : (double)INFINITY;
            if (next <= from || h >= to)
                continue;
            json_array_append_new(points,
                                  json_pack("[o, o]", NUM(MAX(h, from) - from), NUM(st->value[i])));
        }
        json_object_set_new(o, keys[k], points);
    }
    json_object_set_new(o, "on_demand_price", NUM(p->on_demand_price));
    return o;
}

json_t *
cloud_results_to_json(const CloudResults *res)
{
    const Scenario *sc = res->scenario;
    const SimModel *m = sc->cloud;
    json_t *root = json_object();
    json_object_set_new(
        root, "spotlab",
        json_pack("{s:s, s:i}", "version", SPOTLAB_VERSION, "schema", RESULTS_SCHEMA_VERSION));
    json_object_set_new(root, "mode", json_string(res->mode != NULL ? res->mode : "sim"));
    json_object_set_new(root, "model", json_string("continuous"));
    json_t *scen = json_pack("{s:s, s:s, s:I, s:i}", "name", sc->name, "file", sc->path, "seed",
                             (json_int_t)sc->seed, "replicas", sc->replicas);
    if (sc->description)
        json_object_set_new(scen, "description", json_string(sc->description));
    json_object_set_new(root, "scenario", scen);
    json_object_set_new(root, "job",
                        json_pack("{s:s, s:i, s:o, s:o}", "type", __job_kind(m->job.kind),
                                  "instances", m->job.gang, "deadline_hours",
                                  NUM(m->job.deadline > 0 ? m->job.deadline / 3.6e9 : (double)NAN),
                                  "horizon_hours", NUM(m->horizon / 3.6e9)));
    json_t *pools = json_array();
    for (guint k = 0; k < m->pools->len; k++) {
        const SimPool *p = sim_model_pool(m, k);
        json_array_append_new(
            pools, json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:o, s:o}", "name", p->name, "cloud",
                             sim_cloud_name((SimCloudKind)p->cloud), "region", p->region, "zone",
                             p->zone, "instance_type", p->instance_type, "capacity",
                             p->capacity.n > 0 ? "trace" : "hazard", "interruptions_per_hour",
                             NUM(p->trace_rate), "on_demand_price", NUM(p->on_demand_price)));
    }
    json_object_set_new(root, "pools", pools);
    json_object_set_new(root, "baseline", json_string("on-demand"));
    json_t *strategies = json_array();
    for (guint k = 0; k < res->n_strategies; k++) {
        const CloudStrategyResults *s = &res->strategies[k];
        double n = res->n_replicas;
        json_t *summary = json_object();
        json_object_set_new(summary, "runs", json_integer(res->n_replicas));
        json_object_set_new(summary, "cost", run_summary_json(&s->cost));
        json_object_set_new(summary, "cost_compute", run_summary_json(&s->cost_compute));
        json_object_set_new(summary, "cost_storage", run_summary_json(&s->cost_storage));
        json_object_set_new(summary, "cost_egress", run_summary_json(&s->cost_egress));
        json_object_set_new(summary, "savings_pct", run_summary_json(&s->savings));
        json_object_set_new(summary, "total_savings_pct", NUM(s->total_savings));
        json_object_set_new(summary, "completion_hours", run_summary_json(&s->completion_hours));
        json_object_set_new(summary, "finished_pct", NUM(100.0 * (double)s->finished / n));
        json_object_set_new(summary, "deadline_met_pct", NUM(100.0 * (double)s->deadline_met / n));
        json_object_set_new(summary, "lost_gpu_hours", run_summary_json(&s->lost_gpu_hours));
        json_object_set_new(summary, "interruptions", run_summary_json(&s->interruptions));
        json_object_set_new(summary, "recovery_seconds", run_summary_json(&s->recovery));
        json_object_set_new(summary, "notices", run_summary_json(&s->notices));
        json_object_set_new(summary, "emergency_attempted",
                            run_summary_json(&s->emergency_attempted));
        json_object_set_new(summary, "emergency_finished",
                            run_summary_json(&s->emergency_finished));
        json_object_set_new(summary, "checkpoint_hours", run_summary_json(&s->checkpoint_hours));
        json_object_set_new(summary, "paid_hours", run_summary_json(&s->paid_hours));
        json_object_set_new(summary, "goodput", run_summary_json(&s->goodput));
        json_object_set_new(summary, "cost_per_unit", run_summary_json(&s->cost_per_unit));
        json_t *runs = json_array();
        for (guint i = 0; i < res->n_replicas; i++)
            json_array_append_new(
                runs, __replica_json(res->first_replica + i, &s->replicas[i], &res->baseline[i]));
        json_array_append_new(strategies,
                              json_pack("{s:s, s:o, s:o, s:o}", "name", s->strategy->name,
                                        "summary", summary, "timeline",
                                        __timeline_json(m, &s->replicas[0], res->first_replica),
                                        "runs", runs));
    }
    json_object_set_new(root, "policies", strategies);
    /* Capacity and price of the pools the recorded replicas used, over their span. */
    if (res->n_replicas > 0 && res->n_strategies > 0) {
        double from = res->strategies[0].replicas[0].start_hours, to = from;
        g_autofree gboolean *used = g_new0(gboolean, m->pools->len);
        for (guint k = 0; k < res->n_strategies; k++) {
            const SimReplicaResult *r = &res->strategies[k].replicas[0];
            to = MAX(to, from + (r->finished ? r->completion_hours : m->horizon / 3.6e9));
            for (guint e = 0; r->timeline != NULL && e < r->timeline->len; e++)
                used[g_array_index(r->timeline, SimTimelineEvent, e).pool] = TRUE;
        }
        json_t *series = json_array();
        for (guint p = 0; p < m->pools->len; p++)
            if (used[p])
                json_array_append_new(series, __series_json(m, p, from, to));
        json_object_set_new(root, "timeline_series", series);
    }
    return root;
}

gboolean
cloud_results_write(const CloudResults *res, const char *path, GError **error)
{
    json_t *doc = cloud_results_to_json(res);
    gboolean ok = run_json_write(doc, path, error);
    json_decref(doc);
    return ok;
}

char *
cloud_results_table(const CloudResults *res)
{
    const Scenario *sc = res->scenario;
    const SimModel *m = sc->cloud;
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "%s: continuous model, %u pool%s, %s job, %u replica%s\n\n",
                           sc->name, m->pools->len, m->pools->len == 1 ? "" : "s",
                           __job_kind(m->job.kind), res->n_replicas,
                           res->n_replicas == 1 ? "" : "s");
    int width = 8;
    for (guint k = 0; k < res->n_strategies; k++)
        width = MAX(width, (int)strlen(res->strategies[k].strategy->name));
    g_string_append_printf(out, "%-*s %11s %25s %8s %9s %8s %9s %13s %6s\n", width, "strategy",
                           "mean cost", "95% CI of the mean", "savings", "done (h)", "deadline",
                           "lost GPUh", "recovery p50/95", "interr");
    for (guint k = 0; k < res->n_strategies; k++) {
        const CloudStrategyResults *s = &res->strategies[k];
        char mean[32], lo[32], hi[32], ci[80], sav[16], done[16], dl[16], lost[16], rec[32],
            intr[16];
        run_format_money(mean, sizeof mean, s->cost.mean);
        run_format_money(lo, sizeof lo, s->cost.ci_low);
        run_format_money(hi, sizeof hi, s->cost.ci_high);
        g_snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
        g_snprintf(sav, sizeof sav, "%.1f%%", s->total_savings);
        g_snprintf(done, sizeof done, "%.1f", s->completion_hours.median);
        if (m->job.deadline > 0)
            g_snprintf(dl, sizeof dl, "%.1f%%",
                       100.0 * (double)s->deadline_met / (double)res->n_replicas);
        else
            g_snprintf(dl, sizeof dl, "%.1f%%",
                       100.0 * (double)s->finished / (double)res->n_replicas);
        g_snprintf(lost, sizeof lost, "%.2f", s->lost_gpu_hours.mean);
        if (s->recovery.n > 0)
            g_snprintf(rec, sizeof rec, "%.0fs/%.0fs", s->recovery.median, s->recovery.p95);
        else
            g_strlcpy(rec, "-", sizeof rec);
        g_snprintf(intr, sizeof intr, "%.1f", s->interruptions.mean);
        g_string_append_printf(out, "%-*s %11s %25s %8s %9s %8s %9s %13s %6s\n", width,
                               s->strategy->name, mean, ci, sav, done, dl, lost, rec, intr);
    }
    g_string_append_printf(out,
                           "\nsavings: total cost against on demand on the same replicas; done: "
                           "median completion; %s; lost GPUh: mean GPU-hours of work lost; "
                           "recovery: from a reclaim until the work is back where it was\n",
                           m->job.deadline > 0 ? "deadline: replicas that met it"
                                               : "deadline (none set): replicas that finished");
    return g_string_free(out, FALSE);
}
