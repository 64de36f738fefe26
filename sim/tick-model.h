/* spotlab: the deadline-aware tick model (shared/design/reference-models.md).
 *
 * A job of C seconds of work must finish D seconds after it starts; every launch or switch of
 * the cluster costs d seconds of restart overhead. Time advances in ticks of one trace gap; at
 * each tick boundary the model bills the tick that ended, credits its progress, lets the policy
 * choose SPOT, ON_DEMAND or NONE for the next tick, and applies the safety net that moves the
 * job to on demand when the deadline would otherwise slip. The steps and their order follow
 * the reference exactly, so published numbers reproduce to the last bit.
 *
 * The model runs on the event engine: each tick is an event, scheduled one gap after the one
 * before. The offline optimum is computed by dynamic programming over (tick, cluster kind,
 * pending overhead, progress) with the whole trace known, and its schedule is then replayed on
 * the engine like any other policy, so every policy is priced by the same code.
 *
 * Choices beyond the reference, documented in docs/model.md:
 *   - the deadline is met when the work is done by it (at the end of the tick that finished
 *     it); a run that misses it keeps going (the safety net keeps it on demand) until the work
 *     is done, so its cost is the cost of finishing;
 *   - a spot cluster lost at the tick the work is done is not counted as a preemption;
 *   - spot-only ignores the deadline; when the trace ends before its work is done, it stops
 *     there unfinished;
 *   - the offline optimum needs no safety net (it knows the future); when no schedule can meet
 *     the deadline it falls back to on demand from the start.
 */
#pragma once

#include "event-queue.h"

G_BEGIN_DECLS

typedef enum {
    SIM_CLUSTER_NONE = 0,
    SIM_CLUSTER_SPOT,
    SIM_CLUSTER_ON_DEMAND,
} SimCluster;

typedef enum {
    SIM_TICK_ON_DEMAND = 0,
    SIM_TICK_SPOT_ONLY,
    SIM_TICK_GREEDY,
    SIM_TICK_UNIFORM_PROGRESS,
    SIM_TICK_OFFLINE_OPTIMAL,
    SIM_TICK_N_POLICIES
} SimTickPolicy;

/* "on-demand", "spot-only", "greedy", "uniform-progress", "offline-optimal". */
const char *sim_tick_policy_name(SimTickPolicy policy);
gboolean sim_tick_policy_from_name(const char *name, SimTickPolicy *policy);

/* One pool sampled on its tick grid. Arrays are borrowed and hold @n ticks. */
typedef struct {
    double gap;          /* seconds per tick, > 0 */
    gsize n;             /* ticks recorded; past them spot is unavailable */
    const guint8 *avail; /* 1 when spot capacity can be had during tick i */
    const double *price; /* spot USD per hour during tick i */
    double od_price;     /* on-demand USD per hour */
} SimTickTrace;

typedef struct {
    double work;     /* C, seconds of work */
    double deadline; /* D, seconds after the start */
    double overhead; /* d, seconds of restart overhead per launch */
} SimTickJob;

typedef struct {
    double cost; /* USD: spot_cost + od_cost */
    double spot_cost;
    double od_cost;
    double spot_hours;   /* paid hours on spot */
    double od_hours;     /* paid hours on demand */
    double finish_hours; /* hours from the start to the tick the work was done; NaN if not */
    guint preemptions;   /* running spot clusters lost */
    guint launches;      /* times the restart overhead was incurred */
    gboolean finished;
    gboolean deadline_met;
    gboolean infeasible; /* C + d > D: priced as on demand for C + d seconds */
} SimTickResult;

/* The trace index of a start offset in hours: ceil(hours * 3600 / gap), as the reference. */
gsize sim_tick_start_index(double start_hours, double gap);

typedef struct _SimTickRunner SimTickRunner;

/* A runner owns an engine and scratch memory; reuse one per thread for many runs. */
SimTickRunner *sim_tick_runner_new(void);
void sim_tick_runner_free(SimTickRunner *runner);

/* Makes the runs that follow fill @clusters (guint8, or NULL to stop) with the cluster that ran
 * each tick from the start (a SimCluster per tick), for timelines. The array is borrowed. */
void sim_tick_runner_record(SimTickRunner *runner, GArray *clusters);

/**
 * sim_tick_run:
 * Runs @job from trace index @start under @policy and fills @result. Never fails: inputs are
 * validated by the caller (gap > 0, non-negative durations, prices >= 0).
 */
void sim_tick_run(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job,
                  gsize start, SimTickPolicy policy, SimTickResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimTickRunner, sim_tick_runner_free)

G_END_DECLS
