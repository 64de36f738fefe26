/* spotlab: running a scenario and what a run produces.
 *
 * run_scenario() runs every window of every pool under every policy of the scenario, and the
 * on-demand baseline beside them (savings are always measured against it, listed or not). Work
 * is shared among threads window by window; each result lands in its fixed slot, and summaries
 * are computed afterwards in slot order, so results are byte-identical for any thread count.
 *
 * The results file (results_to_json) is documented in docs/results.md; its schema is versioned.
 */
#pragma once

#include "scenario.h"
#include "stats.h"

#include <jansson.h>

G_BEGIN_DECLS

#define RESULTS_SCHEMA_VERSION 1

typedef struct {
    const ScenarioPool *pool;     /* borrowed from the scenario */
    const ScenarioWindow *window; /* borrowed from the scenario */
    SimTickResult baseline;       /* on demand, for savings */
    SimTickResult by_policy[SIM_TICK_N_POLICIES];
} RunWindow;

typedef struct {
    SimTickPolicy policy;
    SimSummary cost;
    SimSummary savings;      /* per-window percent saved against on demand */
    SimSummary finish_hours; /* finished runs only */
    double total_savings;    /* percent: 1 - total cost / total on-demand cost */
    gsize deadline_met;
    gsize infeasible;
    gsize unfinished;
    double preemptions_mean;
} RunPolicySummary;

typedef struct {
    const Scenario *scenario; /* borrowed */
    GArray *windows;          /* RunWindow, pool by pool, windows in scenario order */
    RunPolicySummary policies[SIM_TICK_N_POLICIES]; /* in the scenario's policy order */
    guint n_policies;
    /* The first window's run under each policy, tick by tick (guint8 SimCluster), for the
     * timeline of reports; by policy, NULL for policies not run. */
    GArray *timeline[SIM_TICK_N_POLICIES];
} RunResults;

/* Called from the calling thread now and then with the windows done so far. */
typedef void (*RunProgressFunc)(gsize done, gsize total, gpointer user_data);

/**
 * run_scenario:
 * @threads: worker threads; 0 picks the number of processors.
 * Returns: (transfer full): the results; the scenario must outlive them.
 */
RunResults *run_scenario(const Scenario *scenario, guint threads, RunProgressFunc progress,
                         gpointer user_data);

void run_results_free(RunResults *results);

/* The results document (docs/results.md). */
json_t *run_results_to_json(const RunResults *results);

/* Writes the results document to @path atomically. */
gboolean run_results_write(const RunResults *results, const char *path, GError **error);

/* The table `spotlab run` prints: one line per policy. */
char *run_results_table(const RunResults *results);

/* Helpers the results writers share: a JSON number (null for NaN and infinities), a summary
 * object, writing a document atomically, and money for tables ("$1,234.56", "-" for NaN). */
json_t *run_json_number(double v);
json_t *run_summary_json(const SimSummary *s);
gboolean run_json_write(json_t *doc, const char *path, GError **error);
void run_format_money(char *buf, gsize size, double v);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RunResults, run_results_free)

G_END_DECLS
