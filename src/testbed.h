/* spotlab: `spotlab testbed SCENARIO`, a continuous-model scenario replayed on real processes.
 *
 * The simulator runs the scenario's replica under the chosen strategy and records its timeline;
 * the instances of that timeline (when each came up, got its notice, was reclaimed) become the
 * supervisor's schedule (harness/supervisor.h), with trace time divided by the time scale; the
 * workload (the built-in training program, or the scenario's command) runs on them; and what the
 * supervisor measured is written in the simulation's results schema (docs/results.md) with
 * "mode": "testbed", beside the simulator's prediction of the same replica and the relative
 * error of each figure (docs/fidelity.md). docs/testbed.md states the mapping in full.
 */
#pragma once

#include "scenario.h"
#include "supervisor.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    const char *scenario_path;
    const char *strategy;   /* NULL: the scenario's testbed.strategy */
    gint64 replica;         /* < 0: the scenario's testbed.replica */
    double time_scale;      /* NaN: the scenario's testbed.time_scale */
    const char *output;     /* the results file, or NULL */
    const char *record;     /* the supervisor's own record (docs/testbed.md), or NULL */
    const char *workdir;    /* where checkpoints go, kept; NULL: a temporary folder, removed */
    const char *train_path; /* spotlab-train; NULL: beside this program, else in PATH */
    gboolean quiet;         /* no tables on stdout */
    gboolean dry_run;       /* print (and with @output write) the plan and the prediction only */
} TestbedOptions;

/* Runs it; returns the exit status of `spotlab testbed` (0 finished and every expectation
 * holds, 1 not finished or an expectation failed, 2 bad input), having printed what happened. */
int testbed_run_scenario(const TestbedOptions *options);

/* Prints the instances and interruptions of a supervisor's record as tables on stdout. */
void testbed_print_record(const HarnessRunRecord *record);

G_END_DECLS
