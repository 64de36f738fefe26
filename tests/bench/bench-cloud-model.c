/* Benchmark: the continuous-time cloud model (sim/cloud-model.c) at scale.
 *
 * The scenario: the project's synthetic 100-pool trace (traces/synthetic/mixed-100-pools-30d.json:
 * H100, A100 and V100 pools in four regions over 30 days, 10-minute ticks), a training job of
 * 20 days of H100 work on 8-GPU instances (slower on A100 and V100), a 30-day horizon, and two
 * strategies beside the on-demand baseline: diversified placement (the cheapest pool with
 * capacity among the 100, checkpoints every 15 minutes and on notice) and capacity-aware
 * placement with Young/Daly checkpoints. Replicas differ in their random draws (provisioning
 * delays, notice faults).
 *
 * It measures:
 *   - model events per second on one core (the engine and the model together), target 5 M;
 *   - the wall time of 10,000 replicas through the real runner (cloud_run, GLib threads) on
 *     --threads threads (default 2), target 30 s;
 *   - memory: the model's trace data is its change points; the bench reports them, the peak
 *     resident size, and runs the same scenario with every change point ten times further apart
 *     (the same number of changes over ten times the span) to show that memory does not grow
 *     with the span.
 * Each figure is the median of --runs runs (default 3). Missing a target is reported, not
 * failed: the figures depend on the machine.
 */
#include "import.h"
#include "run-cloud.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TARGET_EVENTS_PER_SEC 5e6
#define TARGET_SECONDS        30.0
#define US                    1000000LL
#define HOUR                  (3600 * US)

static double
__median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The resident size now, in KB (Linux /proc/self/statm), or -1. */
static long
__rss_kb(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/self/statm", &text, NULL, NULL))
        return -1;
    long pages = 0, resident = 0;
    if (sscanf(text, "%ld %ld", &pages, &resident) != 2)
        return -1;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The scenario, built in code from the trace set (which must outlive it). @stretch multiplies
 * every time in the traces (1: as recorded). */
static Scenario *
__scenario(TraceSet *set, guint replicas, gint64 stretch)
{
    Scenario *sc = g_new0(Scenario, 1);
    sc->name = g_strdup("bench-100-pools");
    sc->path = g_strdup("(built in)");
    sc->model = SCENARIO_MODEL_CONTINUOUS;
    sc->pools = g_ptr_array_new();
    sc->replicas = replicas;
    SimModel *m = sim_model_new();
    sc->cloud = m;
    for (guint k = 0; k < trace_set_len(set); k++) {
        TracePool *tp = trace_set_pool(set, k);
        if (stretch != 1) {
            for (gsize i = 0; i < tp->capacity.n; i++)
                tp->capacity.time[i] *= stretch;
            for (gsize i = 0; i < tp->price.n; i++)
                tp->price.time[i] *= stretch;
            tp->span *= stretch;
        }
        SimPool *p = sim_pool_new(tp->name);
        p->cloud = SIM_CLOUD_AWS;
        p->region = g_strdup(tp->region);
        p->instance_type = g_strdup(tp->instance_type);
        p->gpus = 8;
        p->capacity = (SimSteps){tp->capacity.time, tp->capacity.value, tp->capacity.n};
        p->price = (SimSteps){tp->price.time, tp->price.value, tp->price.n};
        /* The trace prices one GPU; the pools sell 8-GPU instances. */
        p->on_demand_price = tp->on_demand_price * 8;
        sim_model_add_pool(m, p);
        m->trace_span = m->trace_span ? MIN(m->trace_span, tp->span) : tp->span;
    }
    m->horizon = m->trace_span;
    m->job.kind = SIM_JOB_TRAINING;
    m->job.steps = 20 * 24 * 3600;
    m->job.default_step_seconds = 1;
    static SimStepTime times[] = {{NULL, 1.0}, {NULL, 1.8}, {NULL, 4.5}};
    m->job.step_times = g_new(SimStepTime, 3);
    memcpy(m->job.step_times, times, sizeof times);
    m->job.step_times[0].instance_type = g_strdup("h100");
    m->job.step_times[1].instance_type = g_strdup("a100");
    m->job.step_times[2].instance_type = g_strdup("v100");
    m->job.n_step_times = 3;
    m->job.startup = 120 * US;
    m->job.checkpoint_gb = 80;
    m->job.write_gbps = 2;
    m->job.restore_gbps = 4;
    m->job.storage_region = g_strdup("us-east-1");
    m->job.storage_gb_month = 0.023;
    m->start_unix = 1736121600;
    sim_model_finish(m);

    sc->strategies = g_ptr_array_new_with_free_func((GDestroyNotify)sim_strategy_free);
    const struct {
        const char *name, *placement, *checkpoint;
    } defs[] = {{"diversified", "lowest-price", "periodic"},
                {"capacity-aware", "capacity-aware", "young-daly"}};
    for (gsize d = 0; d < G_N_ELEMENTS(defs); d++) {
        SimStrategy *s = sim_strategy_new(defs[d].name);
        s->market = sim_market_class("spot");
        s->placement = sim_placement_class(defs[d].placement);
        s->checkpoint = sim_checkpoint_class(defs[d].checkpoint);
        s->checkpoint_interval = 15 * 60 * US;
        s->emergency_checkpoint = TRUE;
        s->n_pools = m->pools->len;
        s->pools = g_new(guint, s->n_pools);
        for (guint k = 0; k < s->n_pools; k++)
            s->pools[k] = k;
        g_ptr_array_add(sc->strategies, s);
    }
    sc->baseline = sim_strategy_new("on-demand baseline");
    sc->baseline->market = sim_market_class("on-demand");
    sc->baseline->placement = sim_placement_class("lowest-price");
    sc->baseline->n_pools = m->pools->len;
    sc->baseline->pools = g_new(guint, m->pools->len);
    for (guint k = 0; k < m->pools->len; k++)
        sc->baseline->pools[k] = k;
    return sc;
}

static void
__scenario_free(Scenario *sc)
{
    sc->traces = NULL; /* the caller owns the traces */
    scenario_free(sc);
}

int
main(int argc, char **argv)
{
    int runs = 3, threads = 2, replicas = 10000;
    GOptionEntry entries[] = {
        {"runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Runs per figure (default 3)", "N"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads for the replicas (default 2)",
         "N"},
        {"replicas", 'n', 0, G_OPTION_ARG_INT, &replicas, "Replicas (default 10000)", "N"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, NULL) || runs < 1 || threads < 1 || replicas < 1)
        return 2;
    const char *data = g_getenv("SPOTLAB_SOURCE_ROOT");
    g_autofree char *path = g_build_filename(data ? data : ".", "traces", "synthetic",
                                             "mixed-100-pools-30d.json", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(TraceSet) set = trace_import(path, NULL, &error);
    if (set == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return 1;
    }
    gsize changes = 0;
    for (guint k = 0; k < trace_set_len(set); k++)
        changes += trace_set_pool(set, k)->capacity.n + trace_set_pool(set, k)->price.n;

    /* 1. Events per second on one core. */
    Scenario *sc = __scenario(set, (guint)replicas, 1);
    double *eps = g_new(double, runs);
    for (int r = 0; r < runs; r++) {
        g_autoptr(SimWorkspace) ws = sim_workspace_new();
        guint64 events = 0;
        gint64 t0 = g_get_monotonic_time();
        for (guint64 i = 0; i < 1000; i++) {
            for (guint k = 0; k < sc->strategies->len; k++) {
                SimReplicaResult res;
                sim_model_run(ws, sc->cloud, sc->strategies->pdata[k], i, &res);
                events += res.events;
                sim_replica_result_clear(&res);
            }
        }
        eps[r] = (double)events / ((double)(g_get_monotonic_time() - t0) / 1e6);
    }
    double eps_median = __median(eps, runs);
    printf("events      1000 replicas x %u strategies on one core: median %.2f M events/s "
           "(%d runs); target %.0f M: %s\n",
           sc->strategies->len, eps_median / 1e6, runs, TARGET_EVENTS_PER_SEC / 1e6,
           eps_median >= TARGET_EVENTS_PER_SEC ? "met" : "NOT met");

    /* 2. The whole scenario through the runner. */
    double *secs = g_new(double, runs);
    double mean_cost[2] = {0, 0}, finished[2] = {0, 0};
    for (int r = 0; r < runs; r++) {
        CloudResults *res = cloud_run(sc, (guint)threads, NULL, NULL);
        secs[r] = res->seconds;
        for (guint k = 0; k < 2 && k < res->n_strategies; k++) {
            mean_cost[k] = res->strategies[k].cost.mean;
            finished[k] = 100.0 * (double)res->strategies[k].finished / res->n_replicas;
        }
        cloud_results_free(res);
    }
    double secs_median = __median(secs, runs);
    printf("replicas    %d replicas x (baseline + %u strategies), 100 pools, 30 days, %d "
           "threads: median %.2f s (%d runs); target %.0f s: %s\n",
           replicas, sc->strategies->len, threads, secs_median, runs, TARGET_SECONDS,
           secs_median <= TARGET_SECONDS ? "met" : "NOT met");
    printf("            diversified: mean cost $%.2f, %.1f%% finished; capacity-aware: $%.2f, "
           "%.1f%% finished\n",
           mean_cost[0], finished[0], mean_cost[1], finished[1]);
    __scenario_free(sc);

    /* 3. Memory: 1,000 replicas over the traces as recorded, then over the same change points
     * ten times further apart (ten times the span and horizon). The model holds change points,
     * not time, so the resident size while the results are held is the same. */
    long rss[2];
    for (int wide = 0; wide < 2; wide++) {
        g_autoptr(TraceSet) copy = trace_import(path, NULL, &error);
        Scenario *m = __scenario(copy, 1000, wide ? 10 : 1);
        CloudResults *res = cloud_run(m, (guint)threads, NULL, NULL);
        rss[wide] = __rss_kb();
        cloud_results_free(res);
        __scenario_free(m);
    }
    printf("memory      %zu change points (%.2f MB of step arrays); resident with 1,000 "
           "replicas' results held: %.1f MB over 720 h, %.1f MB over 7,200 h\n",
           changes, (double)changes * (sizeof(gint64) + sizeof(double)) / 1e6,
           (double)rss[0] / 1024, (double)rss[1] / 1024);
    g_free(eps);
    g_free(secs);
    return 0;
}
