/* spotlab: running a continuous-model scenario and what the run produces.
 *
 * Every strategy runs on the same replicas (same trace offsets, same random streams), and the
 * on-demand baseline runs beside them, so savings are paired replica by replica. Replicas are
 * shared among threads; each result lands in its fixed slot and summaries are computed in
 * replica order, so results are byte-identical for any thread count.
 */
#pragma once

#include "run.h"
#include "scenario.h"

#include <jansson.h>

G_BEGIN_DECLS

typedef struct {
    const SimStrategy *strategy; /* borrowed from the scenario */
    SimReplicaResult *replicas;  /* one per replica */
    SimSummary cost, cost_compute, cost_storage, cost_egress, savings, completion_hours,
        lost_gpu_hours, interruptions, recovery, goodput, cost_per_unit, checkpoint_hours, notices,
        emergency_attempted, emergency_finished, paid_hours;
    double total_savings; /* percent: 1 - total cost / total on-demand cost */
    gsize finished;
    gsize deadline_met;
    guint64 events;
} CloudStrategyResults;

typedef struct {
    const Scenario *scenario;
    guint n_replicas;
    SimReplicaResult *baseline;
    CloudStrategyResults *strategies;
    guint n_strategies;
    double seconds; /* wall-clock time of the run (not written to the results file) */
    /* The testbed writes its measurements in this layout: its "mode" ("sim" when NULL) and the
     * number of its first replica (0 for simulations, which run them all). */
    const char *mode;
    guint first_replica;
} CloudResults;

CloudResults *cloud_run(const Scenario *scenario, guint threads, RunProgressFunc progress,
                        gpointer user_data);
void cloud_results_free(CloudResults *results);
/* Fills the strategies' summaries from their replicas (cloud_run() does it). */
void cloud_results_summarise(CloudResults *results);
json_t *cloud_results_to_json(const CloudResults *results);
gboolean cloud_results_write(const CloudResults *results, const char *path, GError **error);
char *cloud_results_table(const CloudResults *results);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CloudResults, cloud_results_free)

G_END_DECLS
