/* spotlab: the continuous-time cloud model.
 *
 * A replica simulates one run of a job on spot, preemptible and on-demand capacity, on the event
 * engine, in integer microseconds. The model has four parts, all plain data once built, shared
 * read-only by every replica and every thread:
 *
 *   - clouds (SimCloud): how a cloud reclaims and bills: the notice lead before a reclaim (with
 *     missed, late and duplicated notices), AWS rebalance recommendations, billing granularity
 *     and minimum, the provisioning delay, Google's lifetime limit for legacy preemptible VMs;
 *   - pools (SimPool): one instance type in one zone, sold on demand and on spot; spot capacity
 *     and price come from a recorded step function (a trace) or from a hazard model
 *     (interruptions per instance-hour, modulated by weekday and hour, and a launch-failure
 *     probability); Azure pools may carry the user's maximum price, above which instances are
 *     evicted;
 *   - the job (SimJob): training (steps, step time per instance type, checkpoints with size,
 *     write and restore bandwidth, startup time, where checkpoints live), batch inference over
 *     a queue with leases, hyperparameter sweeps of independent trials; each unit of work runs
 *     on a gang of k instances that must all be up at once;
 *   - the strategy (SimStrategy): a table of function pointers for the market decision, the
 *     placement and the checkpoint schedule, with its parameters, plus how it reacts to notices.
 *
 * A replica draws every random choice from streams of (seed, replica, purpose), so its result
 * is a pure function of the model, the strategy, the seed and the replica number, whatever
 * thread runs it. docs/cloud-model.md states the model in full.
 */
#pragma once

#include "event-queue.h"
#include "rng.h"
#include "stats.h"

G_BEGIN_DECLS

/* ---- distributions ------------------------------------------------------------------------ */

typedef enum {
    SIM_DIST_FIXED = 0,   /* a */
    SIM_DIST_UNIFORM,     /* uniform on [a, b] */
    SIM_DIST_EXPONENTIAL, /* mean a */
    SIM_DIST_LOGNORMAL,   /* median a, 95th percentile b */
} SimDistKind;

typedef struct {
    SimDistKind kind;
    double a, b; /* seconds */
} SimDist;

/* A draw in microseconds, never negative. */
SimTime sim_dist_draw(const SimDist *dist, SimRng *rng);
/* The mean, and the @q quantile (0 < q < 1), in seconds. */
double sim_dist_mean(const SimDist *dist);
double sim_dist_quantile(const SimDist *dist, double q);

/* ---- clouds ---------------------------------------------------------------------------------- */

typedef enum { SIM_CLOUD_AWS = 0, SIM_CLOUD_GCP, SIM_CLOUD_AZURE, SIM_N_CLOUDS } SimCloudKind;

const char *sim_cloud_name(SimCloudKind kind);

typedef struct {
    SimCloudKind kind;
    SimTime notice_lead;          /* notice before a reclaim; 0: none */
    double notice_missed;         /* probability that a notice never comes */
    SimTime notice_late;          /* a notice comes this much later than it should (>= 0) */
    double notice_duplicated;     /* probability that a notice comes twice */
    SimTime rebalance_lead;       /* AWS: a rebalance recommendation this long before the reclaim */
    double rebalance_probability; /* of a recommendation before a reclaim */
    SimTime billing_granularity;  /* billed time is rounded up to a multiple of this (> 0) */
    SimTime billing_minimum;      /* and is at least this */
    SimDist provisioning;         /* from a request to a running (billed) instance */
    SimTime preemptible_lifetime; /* Google legacy preemptible VMs: reclaimed after this; 0 */
} SimCloud;

/* The documented defaults of each cloud (docs/cloud-model.md). */
void sim_cloud_defaults(SimCloudKind kind, SimCloud *cloud);

/* Egress prices in USD per GB for moving a checkpoint. */
typedef struct {
    double zone;           /* between zones of one region */
    double region;         /* between regions of one cloud */
    double cloud;          /* between clouds */
    double bandwidth_gbps; /* GB per second for such moves */
} SimEgress;

void sim_egress_defaults(SimEgress *egress);

/* ---- pools ----------------------------------------------------------------------------------- */

/* Every pool sells its instance type on two markets: spot (capacity and price from the pool's
 * trace or hazard model) and on demand (always available, at the on-demand price). */
typedef enum {
    SIM_MARKET_SPOT = 0,
    SIM_MARKET_ON_DEMAND,
    SIM_MARKET_WAIT, /* a market decision only: request nothing now, decide again later */
} SimMarket;

/* A step function borrowed from a trace: value[i] from time[i] on (microseconds from the trace
 * start), the last up to span. */
typedef struct {
    const gint64 *time;
    const double *value;
    gsize n;
} SimSteps;

/* The hazard model of a spot pool without a capacity trace. */
typedef struct {
    double rate_per_hour;  /* interruptions per instance-hour on weekdays */
    double weekend_factor; /* multiplier on Saturdays and Sundays (UTC) */
    double night_factor;   /* multiplier from 22:00 to 06:00 UTC */
    double launch_failure; /* probability that a launch finds no capacity */
} SimHazard;

typedef struct {
    char *name;
    guint cloud; /* index into the model's clouds */
    char *region;
    char *zone;
    char *instance_type;
    guint gpus; /* GPUs per instance, for GPU-hours */
    /* Spot capacity: a trace, or the hazard model when capacity.n == 0. */
    SimSteps capacity;
    SimHazard hazard;
    /* Price per instance-hour: a trace, or a constant when price.n == 0. */
    SimSteps price;
    double constant_price;
    double on_demand_price; /* of the same instance type, for baselines */
    double max_price;       /* Azure: evicted while the price is above it; NaN: none */
    gboolean preemptible;   /* Google legacy preemptible: the cloud's lifetime limit applies */
    double trace_rate;      /* interruptions per available hour in the capacity trace (set by
                             * sim_model_finish); the hazard's rate for hazard pools */
} SimPool;

/* ---- jobs ------------------------------------------------------------------------------------ */

typedef enum {
    SIM_JOB_TRAINING = 0, /* one unit: steps of training on a gang */
    SIM_JOB_SWEEP,        /* independent trials, each a training unit */
    SIM_JOB_INFERENCE,    /* a queue of items, workers lease and process them */
} SimJobKind;

typedef struct {
    const char *instance_type; /* owned by the model */
    double seconds;            /* per step (training) or per item (inference) on that type */
} SimStepTime;

typedef struct {
    SimJobKind kind;
    guint gang;     /* instances one unit needs at once (k >= 1) */
    double steps;   /* training: steps per unit (per trial in a sweep) */
    guint trials;   /* sweep: trials; training: 1 */
    guint parallel; /* sweep and inference: units running at once */
    guint64 items;  /* inference: items in the queue */
    SimTime lease;  /* inference: lease of an item; a reclaimed worker's items return then */
    SimStepTime *step_times; /* per instance type */
    guint n_step_times;
    double default_step_seconds; /* for types not listed */
    SimTime startup;             /* from a running instance to one ready to load state */
    double checkpoint_gb;        /* size of a checkpoint; 0: nothing to save */
    double write_gbps;           /* checkpoint write bandwidth */
    double restore_gbps;         /* checkpoint restore bandwidth */
    gboolean async_checkpoint;   /* the state is copied aside and written while work goes on */
    gboolean keeps_progress;     /* work survives the loss of instances (state kept outside them,
                                  * as the tick model assumes): only the restart is paid */
    guint storage_cloud;         /* where checkpoints live */
    char *storage_region;
    char *storage_zone;      /* NULL for regional (object) storage */
    double storage_gb_month; /* USD per GB-month of checkpoint storage */
    SimTime deadline;        /* 0: none */
    double epoch_steps;      /* training: steps per epoch, for cost per epoch; 0: none */
} SimJob;

/* The step (or item) time of @job on @instance_type, in seconds. */
double sim_job_step_seconds(const SimJob *job, const char *instance_type);

/* ---- the model ------------------------------------------------------------------------------- */

typedef struct {
    SimCloud clouds[SIM_N_CLOUDS];
    GPtrArray *pools; /* SimPool*, owned */
    SimEgress egress;
    SimJob job;
    SimTime horizon;    /* a replica stops here, finished or not */
    SimTime trace_span; /* the traces' common length; 0 when no pool has a trace */
    SimTime start_min;  /* replicas start at a trace offset drawn from [start_min, start_max] */
    SimTime start_max;
    gint64 start_unix; /* wall-clock time of trace offset 0, for weekdays and hours (UTC) */
    guint64 seed;
} SimModel;

SimModel *sim_model_new(void);
void sim_model_free(SimModel *model);
/* Takes ownership of @pool. */
void sim_model_add_pool(SimModel *model, SimPool *pool);
/* Derives what the pools imply (each trace's interruption rate); call once every pool is in and
 * trace_span is set, before running. */
void sim_model_finish(SimModel *model);
SimPool *sim_pool_new(const char *name);
void sim_pool_free(SimPool *pool);

static inline const SimPool *
sim_model_pool(const SimModel *model, guint i)
{
    return g_ptr_array_index(model->pools, i);
}

/* USD for an instance of @pool on @market over [@a, @b), microseconds of trace time (the price
 * trace's own times, not a replica's): the integral of the price. */
double sim_model_price_integral(const SimModel *model, guint pool, SimMarket market, SimTime a,
                                SimTime b);
/* What an instance of @pool on @market, up at trace time @up_at for @lived, is billed: its
 * lifetime rounded up to the cloud's billing granularity and at least the minimum (those hours
 * in @paid_hours), priced by the integral above. */
double sim_model_bill(const SimModel *model, guint pool, SimMarket market, SimTime up_at,
                      SimTime lived, double *paid_hours);

/* USD per GB to move a checkpoint between the job's checkpoint store and @pool: the cloud
 * egress price across clouds, the region price across regions, the zone price across zones of a
 * zonal store, else 0. */
double sim_model_egress_per_gb(const SimModel *model, guint pool);

/* ---- strategies ------------------------------------------------------------------------------ */

typedef struct _SimWorld SimWorld;
typedef struct _SimStrategy SimStrategy;

/* Which market a unit should run on next (asked whenever it needs instances, and at decision
 * ticks for the deadline-aware policies). */
typedef struct {
    const char *name;
    /* Returns the market for a unit about to request instances. @spot_possible: whether the
     * placement found spot capacity worth trying. */
    SimMarket (*choose)(const SimStrategy *s, SimWorld *w, guint unit, gboolean spot_possible);
    /* For deadline-aware policies: whether a unit running on spot should move to on demand
     * now. NULL: never. */
    gboolean (*leave_spot)(const SimStrategy *s, SimWorld *w, guint unit);
} SimMarketClass;

/* Which pool a unit's instances go to. */
typedef struct {
    const char *name;
    /* Returns a pool index among the strategy's pools for @market, or -1 when none fits. */
    int (*choose)(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market);
} SimPlacementClass;

/* When a running unit checkpoints next. */
typedef struct {
    const char *name;
    /* The interval from now to the next checkpoint of @unit; 0 for none. */
    SimTime (*interval)(const SimStrategy *s, SimWorld *w, guint unit);
} SimCheckpointClass;

struct _SimStrategy {
    char *name;
    const SimMarketClass *market;
    const SimPlacementClass *placement;
    const SimCheckpointClass *checkpoint;
    guint *pools; /* the pools the strategy may use, in preference order */
    guint n_pools;
    double on_demand_fraction;              /* hybrid: the share of units kept on demand */
    SimTime checkpoint_interval;            /* periodic */
    SimTime checkpoint_min, checkpoint_max; /* adaptive bounds */
    double assumed_rate_per_hour;  /* Young/Daly and adaptive: interruption rate to plan with;
                                    * NaN: measured from the pools during the run */
    gboolean emergency_checkpoint; /* on notice */
    gboolean move_on_rebalance;    /* leave a pool on a rebalance recommendation */
    SimTime decision_interval;     /* deadline-aware policies re-decide this often */
    SimTime retry_backoff;         /* after a failed launch */
    SimTime price_lookback;        /* price-predictive: the history it averages */
};

/* The built-in classes, found by name: markets "on-demand", "spot", "hybrid", "greedy",
 * "uniform-progress"; placements "first", "lowest-price", "capacity-aware", "failover",
 * "price-predictive", "arbitrage"; checkpoints "none", "periodic", "young-daly", "adaptive". */
const SimMarketClass *sim_market_class(const char *name);
const SimPlacementClass *sim_placement_class(const char *name);
const SimCheckpointClass *sim_checkpoint_class(const char *name);
const char *const *sim_market_class_names(void);
const char *const *sim_placement_class_names(void);
const char *const *sim_checkpoint_class_names(void);

SimStrategy *sim_strategy_new(const char *name);
void sim_strategy_free(SimStrategy *strategy);

/* What a strategy sees of the world (for the classes above and for custom strategies). */
SimTime sim_world_now(const SimWorld *w);
const SimModel *sim_world_model(const SimWorld *w);
/* Spot capacity of a pool now: instances a new request could still get (0 when a hazard pool
 * is in a failure draw is not knowable in advance: hazard pools report G_MAXUINT). */
guint sim_world_pool_free_capacity(SimWorld *w, guint pool);
/* The pool's price per instance-hour now, and its mean over the last @lookback. */
double sim_world_pool_price(SimWorld *w, guint pool);
double sim_world_pool_mean_price(SimWorld *w, guint pool, SimTime lookback);
/* Spot instance-hours so far (instances that ended and those still up), reclaims so far, and
 * their ratio, the interruptions per instance-hour seen (NaN before any spot time); and the
 * hazard the model states for a pool. */
double sim_world_spot_hours(const SimWorld *w);
guint sim_world_reclaims(const SimWorld *w);
double sim_world_observed_rate(const SimWorld *w);
double sim_world_pool_rate(SimWorld *w, guint pool);
/* A unit's remaining work in seconds on @pool's instance type, and the time left to the job's
 * deadline (SIM_TIME_NEVER without one). */
double sim_world_unit_remaining_seconds(const SimWorld *w, guint unit, guint pool);
SimTime sim_world_time_to_deadline(const SimWorld *w);
/* The seconds it would take @unit to finish on @pool if it had to move there now, by choice
 * (a checkpoint to save its work first) or by a reclaim (redoing what is not saved), whichever
 * is worse; a slow restart (the slowest of the gang's launches at its 95th percentile); and the
 * rest of the work. */
double sim_world_unit_move_seconds(const SimWorld *w, guint unit, guint pool);
/* Fraction of the job's work done (durable), 0..1. */
double sim_world_progress(const SimWorld *w);
/* The pool the unit last ran on, or -1, and the market it last ran on (SIM_MARKET_SPOT before
 * it ran at all). */
int sim_world_unit_last_pool(const SimWorld *w, guint unit);
SimMarket sim_world_unit_last_market(const SimWorld *w, guint unit);
/* The job's instances in @pool now (up or starting). */
guint sim_world_pool_instances(const SimWorld *w, guint pool);
/* The spot instances of a unit's gang (the gang less its on-demand members; 0 on demand). */
guint sim_world_unit_spot_instances(const SimWorld *w, guint unit);
/* The units of the job: 1 for training, the parallel trials or workers otherwise. */
guint sim_world_n_units(const SimWorld *w);
/* Interruptions per available hour of a pool's trace over the last @lookback (the hazard's
 * current rate for hazard pools): the current risk. */
double sim_world_pool_recent_rate(SimWorld *w, guint pool, SimTime lookback);
/* The time to write a checkpoint from @pool to the job's store, transfer included, in seconds. */
double sim_world_write_seconds(const SimWorld *w, guint pool);
/* The cheapest expected restart overhead, in seconds: provisioning + startup + restore. */
double sim_world_restart_seconds(const SimWorld *w, guint pool);

/* ---- results of one replica ------------------------------------------------------------- */

/* What a recorded replica's timeline holds, event by event (for reports). */
typedef enum {
    SIM_TL_UP = 0,          /* an instance came up (billing starts) */
    SIM_TL_LAUNCH_FAILED,   /* a launch found no capacity */
    SIM_TL_READY,           /* a unit's gang started and restored: work begins */
    SIM_TL_CHECKPOINT,      /* a checkpoint started */
    SIM_TL_CHECKPOINT_DONE, /* ... and finished (work up to its start is safe) */
    SIM_TL_NOTICE,          /* a termination notice arrived */
    SIM_TL_REBALANCE,       /* a rebalance recommendation arrived */
    SIM_TL_RECLAIM,         /* an instance was reclaimed */
    SIM_TL_END,             /* an instance was released (by the job, or at the horizon) */
    SIM_TL_DONE,            /* a unit finished a task */
    SIM_TL_SWITCH,          /* a unit left spot for on demand */
    SIM_TL_N_KINDS
} SimTimelineKind;

const char *sim_timeline_kind_name(SimTimelineKind kind);

typedef struct {
    double hours;  /* since the replica's start */
    guint8 kind;   /* SimTimelineKind */
    guint8 market; /* SimMarket of the instance (or unit) */
    guint16 unit;
    guint32 pool;
    guint32 instance; /* a number per instance of the replica, from 0 (instance events) */
} SimTimelineEvent;

typedef struct {
    gboolean finished;
    gboolean deadline_met;
    double completion_hours; /* NaN when not finished */
    double cost_compute;
    double cost_storage;
    double cost_egress;
    double cost;       /* the sum */
    double paid_hours; /* instance-hours billed */
    /* Instance-hours by what they were spent on; they add up to the instance lifetimes. */
    double useful_hours;   /* work that counted */
    double lost_hours;     /* work done and then lost */
    double overhead_hours; /* startup, restore, checkpoint writing */
    double idle_hours;     /* waiting: for gang partners, for a decision */
    double lifetime_hours; /* sum of instance lifetimes (<= paid_hours: rounding, minimum) */
    double lost_gpu_hours;
    double checkpoint_hours; /* instance-hours spent writing checkpoints */
    guint interruptions;     /* instances reclaimed while holding work */
    guint reclaims;          /* every reclaim */
    guint notices;           /* notices delivered (duplicates counted once) */
    guint notices_missed;
    guint rebalances;
    guint emergency_attempted;
    guint emergency_finished;
    guint checkpoints;
    guint launch_failures;
    guint launches;
    guint switches; /* units the strategy moved from spot to on demand while they worked */
    double max_lost_per_interruption_hours; /* of one unit's work, wall-clock */
    GArray *recovery_seconds;               /* double per interruption that was recovered */
    double work_units; /* epochs (training), items (inference), trials (sweep) done */
    double goodput;    /* useful_hours / paid_hours */
    guint64 items_done;
    guint64 items_duplicated; /* inference: items processed twice (must stay 0) */
    guint64 items_lost;       /* inference: items never done nor pending (must stay 0) */
    guint64 events;           /* engine events fired */
    double start_hours;       /* the replica's offset into the traces */
    GArray *timeline;         /* SimTimelineEvent, when recording was asked for; else NULL */
} SimReplicaResult;

void sim_replica_result_clear(SimReplicaResult *r);

/* A workspace holds an engine and scratch memory: reuse one per thread. */
typedef struct _SimWorkspace SimWorkspace;
SimWorkspace *sim_workspace_new(void);
void sim_workspace_free(SimWorkspace *ws);
/* Whether the runs that follow record their timeline (off by default: it costs memory). */
void sim_workspace_set_recording(SimWorkspace *ws, gboolean record);

/**
 * sim_model_run:
 * Runs replica @replica of @model under @strategy and fills @result (cleared first; the caller
 * clears it afterwards with sim_replica_result_clear()).
 */
void sim_model_run(SimWorkspace *ws, const SimModel *model, const SimStrategy *strategy,
                   guint64 replica, SimReplicaResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimModel, sim_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimStrategy, sim_strategy_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimWorkspace, sim_workspace_free)

G_END_DECLS
