/* Benchmark: windows per second of the tick model (sim/tick-model.c) on one core.
 *
 * The workload of the published uniform-progress results (shared/validation/
 * uniform-progress-h100.csv): a job of 43.19 hours of work with a deadline of 51.83 hours and
 * 0.2 hours of restart overhead, on the 13 GCP H100 traces (tick-json, preempted convention,
 * 10-minute ticks). A window is one run of the job from one start tick; every start tick whose
 * deadline falls inside its trace is a valid window.
 *
 * One timed run of a policy loads and samples the 13 traces, as `spotlab run` would, and then
 * runs every valid window of every trace, in passes over them, so that loading is amortised
 * over the run as it is in practice. The figure is windows divided by the whole run's time; the
 * median of the runs is the headline, min and max show the spread. The offline optimum is a
 * dynamic programme, far slower than the online policies: it runs one pass over one start tick
 * in --offline-stride (32) only, and is reported apart from the target.
 *
 * Each policy also prints a checksum of every result of its first pass (costs, hours, counts,
 * bit for bit), so that a change made for speed can be shown to change no result.
 *
 * Exit status: 0 after printing the figures, 77 (skipped) when the shared folder with the
 * traces is absent, 1 when a trace cannot be read, 2 on bad usage. Missing the target is
 * reported, not failed: the figure depends on the machine.
 */
#include "import.h"
#include "tick-model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Windows per second the online policies must reach on one core (docs/performance.md). */
#define TARGET_WINDOWS_PER_SEC 20000.0

#define TRACE_DIR "traces-real/skynomad/converted_multi_region_aligned_h100_16_merged"
#define N_TRACES  13

/* The job of every published row, in hours, digit for digit as the CSV gives them. */
#define WORK_HOURS     43.19444444444445
#define DEADLINE_HOURS 51.833333333333336
#define OVERHEAD_HOURS 0.2

typedef struct {
    TraceSet *set;
    guint8 *avail;
    double *price;
    SimTickTrace tick;
    gsize n_starts; /* valid start ticks: 0 .. n_starts - 1 */
} Trace;

static void
__traces_clear(Trace *traces, guint n)
{
    for (guint i = 0; i < n; i++) {
        trace_set_free(traces[i].set);
        g_free(traces[i].avail);
        g_free(traces[i].price);
    }
    memset(traces, 0, n * sizeof *traces);
}

/* Reads and samples the traces, as the conformance suite and `spotlab run` do. */
static gboolean
__traces_load(char *const *paths, const SimTickJob *job, Trace *traces, GError **error)
{
    for (guint i = 0; i < N_TRACES; i++) {
        Trace *t = &traces[i];
        TraceImportOptions opts = {.format = "tick-json", .convention = TRACE_CONVENTION_PREEMPTED};
        t->set = trace_import(paths[i], &opts, error);
        if (t->set == NULL)
            return FALSE;
        const TracePool *pool = trace_set_pool(t->set, 0);
        gsize n = 0;
        if (!trace_pool_sample_ticks(pool, pool->gap, 1, (double)NAN, &t->avail, &t->price, &n,
                                     error))
            return FALSE;
        t->tick =
            (SimTickTrace){(double)pool->gap / 1e6, n, t->avail, t->price, pool->on_demand_price};
        /* A window is valid when its deadline falls inside the trace. */
        gsize span = (gsize)ceil(job->deadline / t->tick.gap);
        t->n_starts = n >= span ? n - span + 1 : 0;
    }
    return TRUE;
}

/* FNV-1a over the bytes of every field of @r: equal only when every result is bit-identical. */
static guint64
__hash_result(guint64 h, const SimTickResult *r)
{
    const double d[] = {r->cost,       r->spot_cost, r->od_cost,
                        r->spot_hours, r->od_hours,  r->finish_hours};
    const guint u[] = {r->preemptions, r->launches, (guint)r->finished, (guint)r->deadline_met,
                       (guint)r->infeasible};
    const guint8 *p = (const guint8 *)d;
    for (gsize i = 0; i < sizeof d; i++)
        h = (h ^ p[i]) * G_GUINT64_CONSTANT(0x100000001b3);
    p = (const guint8 *)u;
    for (gsize i = 0; i < sizeof u; i++)
        h = (h ^ p[i]) * G_GUINT64_CONSTANT(0x100000001b3);
    return h;
}

typedef struct {
    double rate;       /* windows per second, the whole run */
    double load_share; /* of the run's time, spent loading the traces */
    guint64 windows;
    guint64 checksum; /* of the first pass */
    double mean_cost; /* of the first pass, USD */
} RunResult;

static double
__now(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

/* One timed run: load, then @passes passes over the windows (every @stride-th start). */
static gboolean
__run_once(char *const *paths, const SimTickJob *job, SimTickPolicy policy, guint passes,
           guint stride, SimTickRunner *runner, RunResult *out, GError **error)
{
    Trace traces[N_TRACES] = {0};
    double t0 = __now();
    if (!__traces_load(paths, job, traces, error)) {
        __traces_clear(traces, N_TRACES);
        return FALSE;
    }
    double t1 = __now();
    guint64 windows = 0, checksum = G_GUINT64_CONSTANT(0xcbf29ce484222325);
    double cost = 0;
    for (guint pass = 0; pass < passes; pass++) {
        for (guint i = 0; i < N_TRACES; i++) {
            for (gsize s = 0; s < traces[i].n_starts; s += stride) {
                SimTickResult r;
                sim_tick_run(runner, &traces[i].tick, job, s, policy, &r);
                if (pass == 0) {
                    checksum = __hash_result(checksum, &r);
                    cost += r.cost;
                }
                windows++;
            }
        }
    }
    double t2 = __now();
    __traces_clear(traces, N_TRACES);
    *out = (RunResult){
        .rate = (double)windows / (t2 - t0),
        .load_share = (t1 - t0) / (t2 - t0),
        .windows = windows,
        .checksum = checksum,
        .mean_cost = windows > 0 ? cost / ((double)windows / passes) : 0,
    };
    return TRUE;
}

static int
__cmp_run(const void *a, const void *b)
{
    double x = ((const RunResult *)a)->rate, y = ((const RunResult *)b)->rate;
    return (x > y) - (x < y);
}

static int
__cmp_path(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The 13 trace files, sorted by name; NULL with @error when the folder does not hold them. */
static char **
__trace_paths(const char *shared, GError **error)
{
    g_autofree char *dir = g_build_filename(shared, TRACE_DIR, NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, error);
    if (d == NULL)
        return NULL;
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(dir, name, "full.json", NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(paths, path);
        else
            g_free(path);
    }
    if (paths->len != N_TRACES) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "%s: expected %d traces (*/full.json), found %u", dir, N_TRACES, paths->len);
        return NULL;
    }
    g_ptr_array_sort(paths, __cmp_path);
    g_ptr_array_add(paths, NULL);
    return (char **)g_ptr_array_steal(paths, NULL);
}

int
main(int argc, char **argv)
{
    gint runs = 5, passes = 4, offline_stride = 32;
    g_autofree char *only = NULL;
    GOptionEntry entries[] = {
        {"runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Runs per policy (default 5)", "N"},
        {"passes", 'p', 0, G_OPTION_ARG_INT, &passes,
         "Passes over all windows per run, online policies (default 4)", "N"},
        {"offline-stride", 's', 0, G_OPTION_ARG_INT, &offline_stride,
         "Offline optimum: every N-th start tick, one pass (default 32)", "N"},
        {"only", 'o', 0, G_OPTION_ARG_STRING, &only, "Run only this policy", "POLICY"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) context = g_option_context_new("- tick model throughput");
    g_option_context_add_main_entries(context, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bench-tick-model: %s\n", error->message);
        return 2;
    }
    SimTickPolicy only_policy = SIM_TICK_N_POLICIES;
    if (runs < 1 || passes < 1 || offline_stride < 1 ||
        (only != NULL && !sim_tick_policy_from_name(only, &only_policy))) {
        fprintf(stderr, "bench-tick-model: --runs, --passes and --offline-stride must be "
                        "positive, --only a policy name\n");
        return 2;
    }

    const char *shared = g_getenv("SPOTLAB_SHARED");
    if (shared == NULL || !g_file_test(shared, G_FILE_TEST_IS_DIR)) {
        printf("SKIP: the shared folder with the real traces is absent (SPOTLAB_SHARED=%s)\n",
               shared ? shared : "(unset)");
        return 77;
    }
    g_auto(GStrv) paths = __trace_paths(shared, &error);
    if (paths == NULL) {
        fprintf(stderr, "bench-tick-model: %s\n", error->message);
        return 1;
    }

    const SimTickJob job = {WORK_HOURS * 3600, DEADLINE_HOURS * 3600, OVERHEAD_HOURS * 3600};
    /* The order of the brief: the online policies against the target, then the optimum. */
    static const SimTickPolicy policies[] = {SIM_TICK_GREEDY, SIM_TICK_UNIFORM_PROGRESS,
                                             SIM_TICK_ON_DEMAND, SIM_TICK_SPOT_ONLY,
                                             SIM_TICK_OFFLINE_OPTIMAL};
    g_autoptr(SimTickRunner) runner = sim_tick_runner_new();
    g_autofree RunResult *results = g_new(RunResult, runs);
    printf("job %.2f h of work, deadline %.2f h, overhead %.1f h; %d traces; "
           "median of %d runs, each loading the traces\n",
           WORK_HOURS, DEADLINE_HOURS, OVERHEAD_HOURS, N_TRACES, runs);
    for (gsize p = 0; p < G_N_ELEMENTS(policies); p++) {
        SimTickPolicy policy = policies[p];
        if (only_policy != SIM_TICK_N_POLICIES && policy != only_policy)
            continue;
        gboolean offline = policy == SIM_TICK_OFFLINE_OPTIMAL;
        guint run_passes = offline ? 1 : (guint)passes;
        guint stride = offline ? (guint)offline_stride : 1;
        for (gint r = 0; r < runs; r++) {
            if (!__run_once(paths, &job, policy, run_passes, stride, runner, &results[r], &error)) {
                fprintf(stderr, "bench-tick-model: %s\n", error->message);
                return 1;
            }
            /* Every run computes the same windows: a differing checksum is a bug. */
            g_assert(results[r].checksum == results[0].checksum);
        }
        guint64 checksum = results[0].checksum;
        double mean_cost = results[0].mean_cost;
        qsort(results, (gsize)runs, sizeof *results, __cmp_run);
        const RunResult *median = &results[runs / 2];
        printf("%-16s %7" G_GUINT64_FORMAT " windows/run: median %9.0f windows/s "
               "(min %.0f, max %.0f), loading %.1f%% of a run",
               sim_tick_policy_name(policy), median->windows, median->rate, results[0].rate,
               results[runs - 1].rate, 100 * median->load_share);
        if (offline)
            printf("; one start tick in %u, no target\n", stride);
        else
            printf("; target %.0f: %s\n", TARGET_WINDOWS_PER_SEC,
                   median->rate >= TARGET_WINDOWS_PER_SEC ? "met" : "NOT met");
        printf("%-16s mean cost %.4f USD, results checksum %016" G_GINT64_MODIFIER "x\n", "",
               mean_cost, checksum);
    }
    return 0;
}
