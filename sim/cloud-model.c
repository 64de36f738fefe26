/* spotlab: the continuous-time cloud model (see cloud-model.h and docs/cloud-model.md).
 *
 * A replica is a SimWorld: the engine, the units of work (one training run, the trials of a
 * sweep, the workers of an inference queue), the instances they run on, and the tallies that
 * become its SimReplicaResult. Everything that happens is an event: a launch completing, a unit
 * becoming ready, a checkpoint starting or ending, a notice, a reclaim, a unit's work running
 * out, a decision tick, the horizon. Work between events is computed, not stepped: a working
 * unit's progress is a linear function of time.
 */
#include "cloud-model.h"

#include <math.h>
#include <string.h>

#define USEC    1000000.0
#define HOUR_US (3600.0 * USEC)

/* Event priorities at equal times: work that completes (a task, a checkpoint) at the very
 * moment of a reclaim counts, as the tick model credits the tick that ended; then reclaims,
 * before notices and everything else; the horizon last. */
enum {
    PRIO_COMPLETE = -3,
    PRIO_RECLAIM = -2,
    PRIO_NOTICE = -1,
    PRIO_DEFAULT = 0,
    PRIO_HORIZON = 10,
};

/* ---- distributions ------------------------------------------------------------------------ */

static double
__normal(SimRng *rng)
{
    /* Box-Muller; 1 - u lies in (0, 1]. */
    double u = 1.0 - sim_rng_double(rng), v = sim_rng_double(rng);
    return sqrt(-2.0 * log(u)) * cos(2.0 * G_PI * v);
}

SimTime
sim_dist_draw(const SimDist *d, SimRng *rng)
{
    double s;
    switch (d->kind) {
    case SIM_DIST_UNIFORM:
        s = d->a + (d->b - d->a) * sim_rng_double(rng);
        break;
    case SIM_DIST_EXPONENTIAL:
        s = d->a > 0 ? sim_rng_exponential(rng, 1.0 / d->a) : 0;
        break;
    case SIM_DIST_LOGNORMAL: {
        /* Median a and 95th percentile b: sigma = ln(b / a) / z(0.95). */
        double sigma = d->b > d->a && d->a > 0 ? log(d->b / d->a) / 1.6448536269514722 : 0;
        s = d->a * exp(sigma * __normal(rng));
        break;
    }
    case SIM_DIST_FIXED:
    default:
        s = d->a;
        break;
    }
    return s > 0 ? (SimTime)llround(s * USEC) : 0;
}

/* The standard normal quantile, by Acklam's rational approximation refined with one step of
 * Halley's method (relative error below 1e-12 over (0, 1)). */
static double
__normal_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p <= 0)
        return -INFINITY;
    if (p >= 1)
        return INFINITY;
    double x;
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - 0.02425) {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        double q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double e = 0.5 * erfc(-x / sqrt(2)) - p;
    double u = e * sqrt(2 * G_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

double
sim_dist_quantile(const SimDist *d, double q)
{
    switch (d->kind) {
    case SIM_DIST_UNIFORM:
        return d->a + q * (d->b - d->a);
    case SIM_DIST_LOGNORMAL: {
        double sigma = d->b > d->a && d->a > 0 ? log(d->b / d->a) / 1.6448536269514722 : 0;
        return d->a * exp(sigma * __normal_quantile(q));
    }
    case SIM_DIST_EXPONENTIAL:
        return -d->a * log1p(-q);
    case SIM_DIST_FIXED:
    default:
        return d->a;
    }
}

double
sim_dist_mean(const SimDist *d)
{
    switch (d->kind) {
    case SIM_DIST_UNIFORM:
        return (d->a + d->b) / 2;
    case SIM_DIST_LOGNORMAL: {
        double sigma = d->b > d->a && d->a > 0 ? log(d->b / d->a) / 1.6448536269514722 : 0;
        return d->a * exp(sigma * sigma / 2);
    }
    case SIM_DIST_EXPONENTIAL:
    case SIM_DIST_FIXED:
    default:
        return d->a;
    }
}

/* ---- clouds ------------------------------------------------------------------------------- */

const char *
sim_timeline_kind_name(SimTimelineKind kind)
{
    static const char *const names[SIM_TL_N_KINDS] = {
        "up",        "launch-failed", "ready", "checkpoint", "checkpoint-done", "notice",
        "rebalance", "reclaim",       "end",   "done",       "switch",
    };
    return kind < SIM_TL_N_KINDS ? names[kind] : "unknown";
}

const char *
sim_cloud_name(SimCloudKind kind)
{
    static const char *const names[SIM_N_CLOUDS] = {"aws", "gcp", "azure"};
    return kind < SIM_N_CLOUDS ? names[kind] : "unknown";
}

void
sim_cloud_defaults(SimCloudKind kind, SimCloud *c)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->billing_granularity = (SimTime)USEC;
    c->billing_minimum = 60 * (SimTime)USEC;
    c->provisioning.kind = SIM_DIST_LOGNORMAL;
    switch (kind) {
    case SIM_CLOUD_AWS:
        c->notice_lead = 120 * (SimTime)USEC;
        c->rebalance_lead = 600 * (SimTime)USEC;
        c->rebalance_probability = 0.5;
        c->provisioning.a = 90;
        c->provisioning.b = 300;
        break;
    case SIM_CLOUD_GCP:
        c->notice_lead = 30 * (SimTime)USEC;
        c->preemptible_lifetime = 24 * 3600 * (SimTime)USEC;
        c->provisioning.a = 60;
        c->provisioning.b = 180;
        break;
    case SIM_CLOUD_AZURE:
    default:
        c->notice_lead = 30 * (SimTime)USEC;
        c->billing_granularity = 60 * (SimTime)USEC;
        c->provisioning.a = 120;
        c->provisioning.b = 360;
        break;
    }
}

void
sim_egress_defaults(SimEgress *e)
{
    e->zone = 0.01;
    e->region = 0.02;
    e->cloud = 0.09;
    e->bandwidth_gbps = 0.5;
}

/* ---- the model ---------------------------------------------------------------------------- */

SimModel *
sim_model_new(void)
{
    SimModel *m = g_new0(SimModel, 1);
    for (int k = 0; k < SIM_N_CLOUDS; k++)
        sim_cloud_defaults((SimCloudKind)k, &m->clouds[k]);
    m->pools = g_ptr_array_new_with_free_func((GDestroyNotify)sim_pool_free);
    sim_egress_defaults(&m->egress);
    m->job.gang = 1;
    m->job.trials = 1;
    m->job.parallel = 1;
    m->job.default_step_seconds = 1;
    m->horizon = 30 * 24 * 3600 * (SimTime)USEC;
    m->seed = 1;
    return m;
}

void
sim_model_free(SimModel *m)
{
    if (m == NULL)
        return;
    g_ptr_array_unref(m->pools);
    for (guint i = 0; i < m->job.n_step_times; i++)
        g_free((char *)m->job.step_times[i].instance_type);
    g_free(m->job.step_times);
    g_free(m->job.storage_region);
    g_free(m->job.storage_zone);
    g_free(m);
}

SimPool *
sim_pool_new(const char *name)
{
    SimPool *p = g_new0(SimPool, 1);
    p->name = g_strdup(name);
    p->gpus = 1;
    p->max_price = NAN;
    p->trace_rate = NAN;
    return p;
}

void
sim_pool_free(SimPool *p)
{
    if (p == NULL)
        return;
    g_free(p->name);
    g_free(p->region);
    g_free(p->zone);
    g_free(p->instance_type);
    g_free(p);
}

void
sim_model_add_pool(SimModel *m, SimPool *p)
{
    g_ptr_array_add(m->pools, p);
}

void
sim_model_finish(SimModel *m)
{
    for (guint k = 0; k < m->pools->len; k++) {
        SimPool *p = g_ptr_array_index(m->pools, k);
        if (p->capacity.n == 0) {
            p->trace_rate = p->hazard.rate_per_hour;
            continue;
        }
        /* Interruptions per available hour over the recording, for policies that plan with a
         * rate (Young/Daly) before they have seen any. */
        gint64 span = m->trace_span > 0 ? m->trace_span : p->capacity.time[p->capacity.n - 1];
        gint64 up = 0;
        guint drops = 0;
        for (gsize i = 0; i < p->capacity.n && p->capacity.time[i] < span; i++) {
            gint64 end = i + 1 < p->capacity.n ? MIN(p->capacity.time[i + 1], span) : span;
            if (p->capacity.value[i] >= 1)
                up += MAX(end - p->capacity.time[i], 0);
            else if (i > 0 && p->capacity.value[i - 1] >= 1)
                drops++;
        }
        p->trace_rate = up > 0 ? drops / ((double)up / HOUR_US) : (double)NAN;
    }
}

double
sim_job_step_seconds(const SimJob *job, const char *instance_type)
{
    for (guint i = 0; i < job->n_step_times; i++)
        if (g_strcmp0(job->step_times[i].instance_type, instance_type) == 0)
            return job->step_times[i].seconds;
    return job->default_step_seconds;
}

SimStrategy *
sim_strategy_new(const char *name)
{
    SimStrategy *s = g_new0(SimStrategy, 1);
    s->name = g_strdup(name);
    s->market = sim_market_class("spot");
    s->placement = sim_placement_class("first");
    s->checkpoint = sim_checkpoint_class("none");
    s->assumed_rate_per_hour = NAN;
    s->decision_interval = 300 * (SimTime)USEC;
    s->retry_backoff = 60 * (SimTime)USEC;
    s->price_lookback = 24 * 3600 * (SimTime)USEC;
    s->checkpoint_min = 60 * (SimTime)USEC;
    s->checkpoint_max = 4 * 3600 * (SimTime)USEC;
    return s;
}

void
sim_strategy_free(SimStrategy *s)
{
    if (s == NULL)
        return;
    g_free(s->name);
    g_free(s->pools);
    g_free(s);
}

/* ---- the world ---------------------------------------------------------------------------- */

typedef enum {
    INST_PROVISIONING = 0,
    INST_UP,
    INST_GONE,
} InstState;

typedef struct Instance Instance;
typedef struct Unit Unit;

struct Instance {
    SimWorld *w;
    Unit *unit;
    guint pool;
    SimMarket market;
    InstState state;
    guint rank;         /* trace pools: the capacity it needs to survive */
    SimTime up_at;      /* billing starts */
    SimTime reclaim_at; /* SIM_TIME_NEVER when it will not be reclaimed */
    SimEventId ev_up, ev_reclaim, ev_notice, ev_notice2, ev_rebalance;
    gboolean notice_missed; /* the cloud will not warn before this reclaim */
    guint32 number;         /* in the order the replica asked for instances */
    Instance *next_free;
};

typedef enum {
    UNIT_IDLE = 0,  /* no instances; waiting to decide (or for a retry) */
    UNIT_ACQUIRING, /* instances requested, not all up */
    UNIT_STARTING,  /* all up: starting and restoring the last checkpoint */
    UNIT_WORKING,
    UNIT_CHECKPOINTING, /* a blocking checkpoint is being written */
    UNIT_STOPPED,       /* stopped by a notice (saved and exited, or ended by Google's
                         * soft-off): its instances wait for their reclaim */
    UNIT_DONE,
} UnitPhase;

struct Unit {
    SimWorld *w;
    guint index;
    UnitPhase phase;
    guint pool;
    SimMarket market;
    int last_pool;
    Instance **inst; /* the gang: k slots, NULL when empty */
    guint n_up;
    guint n_live; /* provisioning or up */

    /* Work on the current task, in steps (training, sweep) or in item progress (inference). */
    double total;   /* steps of the task (a trial; an item) */
    double done;    /* steps done as of 'since' */
    double durable; /* steps that survive a loss */
    SimTime since;
    double step_s; /* seconds per step on the current instances */
    gboolean has_task;
    gboolean has_checkpoint;
    gboolean checkpoint_writing;
    gboolean checkpoint_emergency;
    gboolean checkpoint_blocking;
    double checkpoint_steps;
    gboolean switch_after_checkpoint; /* leave spot for on demand once it is written */
    gboolean notice_pending;          /* a notice came for its current instances, and it saves
                                       * and stops on notices */
    gboolean pinned_on_demand;        /* the safety net moved it: it stays on demand */
    guint n_on_demand;                /* hybrid gang: its first slots run on demand ... */
    guint od_pool;                    /* ... in this pool */
    SimTime checkpoint_first;         /* when the first checkpoint was stored (storage billing) */

    /* Inference: the item being processed, and its lease. */
    guint64 item;
    struct Lease *lease;

    SimEventId ev_ready, ev_checkpoint, ev_checkpoint_end, ev_done, ev_decide, ev_retry;

    /* Accounting of instance time by phase. */
    SimTime acct_since;

    /* Recovery: the progress to regain after an interruption, and since when. */
    gboolean recovering;
    double recover_target;
    SimTime recover_from;
    SimEventId ev_recovered;
    SimTime interrupted_at; /* failover: last interruption */
};

/* An item's lease (inference). It outlives the worker that took it: when a worker is lost, its
 * lease runs on and returns the item to the queue when it expires. */
typedef struct Lease {
    SimWorld *w;
    guint64 item;
    Unit *holder; /* NULL once the worker is gone */
    SimEventId ev;
    struct Lease *next_free;
} Lease;

struct _SimWorkspace {
    SimEngine *engine;
    gboolean record;
    Lease *free_leases;
    GPtrArray *lease_blocks; /* Lease[64] blocks, owned */
    gsize lease_block_used;
    Instance *free_instances;
    GPtrArray *instance_blocks; /* Instance[64] blocks, owned */
    gsize block_used;
    GArray *units;             /* Unit */
    GArray *unit_inst;         /* Instance* slots of every unit's gang */
    GArray *pool_used;         /* guint: instances up per pool */
    GArray *pool_cursor;       /* gsize: capacity step cursor per pool */
    GArray *pool_price_cursor; /* gsize */
    GArray *item_returns;      /* guint64: inference items back in the queue */
};

struct _SimWorld {
    SimWorkspace *ws;
    SimEngine *engine;
    const SimModel *m;
    const SimStrategy *s;
    SimReplicaResult *r;
    SimRng rng_provision, rng_notice, rng_hazard, rng_launch;
    SimTime t0; /* trace offset of time 0 */
    Unit *units;
    guint n_units;
    guint n_active; /* units not DONE */
    /* Work not yet given to a unit. */
    guint trials_left;
    guint trials_done;
    guint64 items_next;   /* inference: next fresh item */
    GArray *returned;     /* inference: items whose lease expired, to be redone */
    guint8 *item_state;   /* inference: 0 pending, 1 leased, 2 done (NULL when no items) */
    double compute_hours; /* instance-hours of work, lost or not */
    guint32 instances_made;
    double spot_hours_seen; /* for the observed interruption rate */
    gboolean stopped;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static inline const SimPool *
__pool(const SimWorld *w, guint i)
{
    return g_ptr_array_index(w->m->pools, i);
}

static inline const SimCloud *
__cloud(const SimWorld *w, guint pool)
{
    return &w->m->clouds[__pool(w, pool)->cloud];
}

static inline SimTime
__now(const SimWorld *w)
{
    return sim_engine_now(w->engine);
}

static void
__record(SimWorld *w, SimTimelineKind kind, guint unit, guint pool, guint32 instance,
         SimMarket market)
{
    if (w->r->timeline == NULL)
        return;
    SimTimelineEvent e = {
        (double)__now(w) / HOUR_US, (guint8)kind, (guint8)market, (guint16)unit, pool, instance};
    g_array_append_val(w->r->timeline, e);
}

static inline SimTime
__secs(double s)
{
    return s > 0 ? (SimTime)llround(s * USEC) : 0;
}

static void
__cancel(SimWorld *w, SimEventId *id)
{
    if (*id != 0)
        sim_engine_cancel(w->engine, *id);
    *id = 0;
}

/* The index of the step in force at trace time @t, moving a forward-only @cursor. */
static gsize
__step_index(const SimSteps *st, gsize *cursor, gint64 t)
{
    gsize i = *cursor < st->n ? *cursor : 0;
    if (i > 0 && st->time[i] > t)
        i = 0; /* time went backwards (a new replica): start over */
    while (i + 1 < st->n && st->time[i + 1] <= t)
        i++;
    *cursor = i;
    return i;
}

/* Trace capacity at world time @tau (0 past the end of the recording). */
static double
__capacity_at(SimWorld *w, guint pool, SimTime tau)
{
    const SimPool *p = __pool(w, pool);
    gint64 t = w->t0 + tau;
    if (w->m->trace_span > 0 && t >= w->m->trace_span)
        return 0;
    gsize *cursor = &g_array_index(w->ws->pool_cursor, gsize, pool);
    return p->capacity.value[__step_index(&p->capacity, cursor, t)];
}

static double
__price_at(SimWorld *w, guint pool, SimTime tau)
{
    const SimPool *p = __pool(w, pool);
    if (p->price.n == 0)
        return p->constant_price;
    gsize *cursor = &g_array_index(w->ws->pool_price_cursor, gsize, pool);
    return p->price.value[__step_index(&p->price, cursor, w->t0 + tau)];
}

/* USD for running one instance of @pool on @market over world times [a, b). */
double
sim_model_price_integral(const SimModel *model, guint pool, SimMarket market, SimTime a, SimTime b)
{
    const SimPool *p = sim_model_pool(model, pool);
    if (b <= a)
        return 0;
    if (market == SIM_MARKET_ON_DEMAND)
        return p->on_demand_price * (double)(b - a) / HOUR_US;
    if (p->price.n == 0)
        return p->constant_price * (double)(b - a) / HOUR_US;
    const SimSteps *st = &p->price;
    gsize lo = 0, hi = st->n;
    while (hi - lo > 1) {
        gsize mid = lo + (hi - lo) / 2;
        if (st->time[mid] <= a)
            lo = mid;
        else
            hi = mid;
    }
    double sum = 0;
    for (gsize i = lo; i < st->n && (i == lo || st->time[i] < b); i++) {
        gint64 s = MAX(a, st->time[i]);
        gint64 e = i + 1 < st->n ? MIN(b, st->time[i + 1]) : b;
        if (e > s)
            sum += st->value[i] * (double)(e - s) / HOUR_US;
    }
    return sum;
}

double
sim_model_bill(const SimModel *model, guint pool, SimMarket market, SimTime up_at, SimTime lived,
               double *paid_hours)
{
    const SimCloud *c = &model->clouds[sim_model_pool(model, pool)->cloud];
    SimTime charged =
        (lived + c->billing_granularity - 1) / c->billing_granularity * c->billing_granularity;
    charged = MAX(charged, c->billing_minimum);
    if (paid_hours != NULL)
        *paid_hours = (double)charged / HOUR_US;
    return sim_model_price_integral(model, pool, market, up_at, up_at + charged);
}

static double
__price_integral(SimWorld *w, guint pool, SimMarket market, SimTime a, SimTime b)
{
    return sim_model_price_integral(w->m, pool, market, w->t0 + a, w->t0 + b);
}

/* Hazard multiplier at world time @tau: weekend and night factors on UTC wall-clock time. */
static double
__hazard_factor(const SimWorld *w, const SimHazard *h, SimTime tau)
{
    gint64 unix_s = w->m->start_unix + (w->t0 + tau) / (gint64)USEC;
    gint64 day = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int dow = (int)(((day + 3) % 7 + 7) % 7); /* 0 = Monday; 1970-01-01 was a Thursday */
    int hour = (int)((unix_s - day * 86400) / 3600);
    double f = 1;
    if (dow >= 5)
        f *= h->weekend_factor;
    if (hour >= 22 || hour < 6)
        f *= h->night_factor;
    return f;
}

/* ---- accounting ------------------------------------------------------------------------------ */

/* Books the instance time of @u since the last call to the bucket of its phase. Called before
 * any change of the unit's phase or of its instances that are up. */
static void
__acct(Unit *u)
{
    SimWorld *w = u->w;
    SimTime now = __now(w);
    double h = (double)(now - u->acct_since) / HOUR_US * u->n_up;
    u->acct_since = now;
    if (h <= 0)
        return;
    switch (u->phase) {
    case UNIT_WORKING:
        w->compute_hours += h;
        break;
    case UNIT_STARTING:
        w->r->overhead_hours += h;
        break;
    case UNIT_CHECKPOINTING:
        w->r->overhead_hours += h;
        w->r->checkpoint_hours += h;
        break;
    case UNIT_ACQUIRING:
    case UNIT_IDLE:
    case UNIT_DONE:
    default:
        w->r->idle_hours += h;
        break;
    }
}

static void
__set_phase(Unit *u, UnitPhase phase)
{
    __acct(u);
    u->phase = phase;
}

/* Brings u->done up to now while the unit works. */
static void
__progress(Unit *u)
{
    SimTime now = __now(u->w);
    if (u->phase == UNIT_WORKING && u->step_s > 0)
        u->done = MIN(u->total, u->done + (double)(now - u->since) / USEC / u->step_s);
    u->since = now;
}

/* ---- instances ----------------------------------------------------------------------------- */

static Instance *
__instance_new(SimWorld *w)
{
    SimWorkspace *ws = w->ws;
    Instance *i = ws->free_instances;
    if (i != NULL) {
        ws->free_instances = i->next_free;
    } else {
        if (ws->instance_blocks->len == 0 || ws->block_used == 64) {
            g_ptr_array_add(ws->instance_blocks, g_new(Instance, 64));
            ws->block_used = 0;
        }
        i = &((Instance *)g_ptr_array_index(ws->instance_blocks,
                                            ws->instance_blocks->len - 1))[ws->block_used++];
    }
    memset(i, 0, sizeof *i);
    i->w = w;
    i->number = w->instances_made++;
    return i;
}

static void
__instance_release(SimWorld *w, Instance *i)
{
    i->next_free = w->ws->free_instances;
    w->ws->free_instances = i;
}

/* Ends @i now: bills it and drops its pending events. */
static void
__instance_end(Instance *i)
{
    SimWorld *w = i->w;
    Unit *u = i->unit;
    SimTime now = __now(w);
    __cancel(w, &i->ev_up);
    __cancel(w, &i->ev_reclaim);
    __cancel(w, &i->ev_notice);
    __cancel(w, &i->ev_notice2);
    __cancel(w, &i->ev_rebalance);
    if (i->state == INST_UP) {
        __record(w, SIM_TL_END, u->index, i->pool, i->number, i->market);
        __acct(u);
        SimTime lived = now - i->up_at;
        double paid = 0;
        w->r->cost_compute +=
            sim_model_bill(w->m, i->pool, i->market, w->t0 + i->up_at, lived, &paid);
        w->r->paid_hours += paid;
        w->r->lifetime_hours += (double)lived / HOUR_US;
        if (i->market == SIM_MARKET_SPOT)
            w->spot_hours_seen += (double)lived / HOUR_US;
        g_array_index(w->ws->pool_used, guint, i->pool)--;
        u->n_up--;
    }
    if (i->state != INST_GONE)
        u->n_live--;
    i->state = INST_GONE;
    for (guint k = 0; k < w->m->job.gang; k++)
        if (u->inst[k] == i)
            u->inst[k] = NULL;
    __instance_release(w, i);
}

static gboolean __over_max_price(SimWorld *w, guint pool);
static void __unit_start(Unit *u);
static void __unit_stop(Unit *u);
/* Why a unit loses its instances. */
typedef enum {
    LOSS_RECLAIM,       /* the cloud took an instance back */
    LOSS_LAUNCH_FAILED, /* a launch found no capacity */
    LOSS_SWITCH,        /* the strategy leaves spot for on demand */
} LossReason;
static void __unit_interrupted(Unit *u, LossReason why, Instance *lost);
static void __unit_fill(Unit *u);
static void __unit_checkpoint(Unit *u, gboolean emergency);
static void __on_reclaim(SimEngine *e, gpointer data);
static void __on_notice(SimEngine *e, gpointer data);
static void __on_rebalance(SimEngine *e, gpointer data);
static void __unit_all_up(Unit *u);

/* When a spot instance of @pool that came up now, needing @rank units of trace capacity, will
 * be reclaimed: the first later time the capacity falls below its rank, the hazard's draw, the
 * preemptible lifetime or a price above the maximum, whichever comes first. */
static SimTime
__reclaim_time(SimWorld *w, Instance *i)
{
    const SimPool *p = __pool(w, i->pool);
    const SimCloud *c = __cloud(w, i->pool);
    SimTime now = __now(w), at = SIM_TIME_NEVER;
    if (p->capacity.n > 0) {
        const SimSteps *st = &p->capacity;
        gsize k = g_array_index(w->ws->pool_cursor, gsize, i->pool);
        gint64 t = w->t0 + now;
        /* The cursor sits at the step in force now (the launch just read it). */
        for (gsize j = k + 1; j < st->n; j++) {
            if (st->time[j] > t && st->value[j] < i->rank) {
                at = st->time[j] - w->t0;
                break;
            }
        }
        if (w->m->trace_span > 0 && w->m->trace_span - w->t0 < at)
            at = w->m->trace_span - w->t0; /* nothing is known past the recording */
    } else if (p->hazard.rate_per_hour > 0) {
        /* A non-homogeneous Poisson process by thinning: candidates at the highest rate, each
         * kept with the ratio of the rate then to that bound. */
        const SimHazard *h = &p->hazard;
        double top = h->rate_per_hour * MAX(1.0, h->weekend_factor) * MAX(1.0, h->night_factor) *
                     MAX(1.0, h->weekend_factor * h->night_factor);
        double tau = (double)now;
        for (int guard = 0; guard < 100000; guard++) {
            tau += sim_rng_exponential(&w->rng_hazard, top) * HOUR_US;
            if (tau >= (double)w->m->horizon)
                break;
            double f = h->rate_per_hour * __hazard_factor(w, h, (SimTime)tau);
            if (sim_rng_double(&w->rng_hazard) * top < f) {
                at = (SimTime)tau;
                break;
            }
        }
    }
    if (p->preemptible && c->preemptible_lifetime > 0)
        at = MIN(at, now + c->preemptible_lifetime);
    if (!isnan(p->max_price) && p->price.n > 0) {
        const SimSteps *st = &p->price;
        gint64 t = w->t0 + now;
        for (gsize j = 0; j < st->n; j++) {
            gint64 end = j + 1 < st->n ? st->time[j + 1] : G_MAXINT64;
            if (end <= t || st->value[j] <= p->max_price)
                continue;
            /* The launch checked the price now, so this is a later rise. */
            at = MIN(at, MAX(st->time[j], t + 1) - w->t0);
            break;
        }
    }
    return at;
}

static void
__schedule_reclaim(SimWorld *w, Instance *i)
{
    const SimCloud *c = __cloud(w, i->pool);
    SimTime now = __now(w);
    i->reclaim_at = __reclaim_time(w, i);
    if (i->reclaim_at >= w->m->horizon) {
        i->reclaim_at = SIM_TIME_NEVER;
        return;
    }
    i->ev_reclaim = sim_engine_schedule(w->engine, i->reclaim_at, PRIO_RECLAIM, __on_reclaim, i);
    /* Every reclaim draws the same number of values, so fault settings never shift the
     * streams of later reclaims. */
    double u_missed = sim_rng_double(&w->rng_notice);
    double u_dup = sim_rng_double(&w->rng_notice);
    double u_rebalance = sim_rng_double(&w->rng_notice);
    if (c->notice_lead > 0 && u_missed >= c->notice_missed) {
        SimTime at = MAX(now, i->reclaim_at - c->notice_lead + c->notice_late);
        if (at < i->reclaim_at) {
            i->ev_notice = sim_engine_schedule(w->engine, at, PRIO_NOTICE, __on_notice, i);
            if (u_dup < c->notice_duplicated)
                i->ev_notice2 =
                    sim_engine_schedule(w->engine, MIN(at + (SimTime)USEC, i->reclaim_at - 1),
                                        PRIO_NOTICE, __on_notice, i);
        }
    } else if (c->notice_lead > 0) {
        i->notice_missed = TRUE;
    }
    if (c->rebalance_lead > 0 && u_rebalance < c->rebalance_probability) {
        SimTime at = MAX(now, i->reclaim_at - c->rebalance_lead);
        if (at < i->reclaim_at && (i->ev_notice == 0 || at < i->reclaim_at - c->notice_lead))
            i->ev_rebalance = sim_engine_schedule(w->engine, at, PRIO_NOTICE, __on_rebalance, i);
    }
}

static void
__on_up(SimEngine *e, gpointer data)
{
    (void)e;
    Instance *i = data;
    SimWorld *w = i->w;
    Unit *u = i->unit;
    i->ev_up = 0;
    const SimPool *p = __pool(w, i->pool);
    guint used = g_array_index(w->ws->pool_used, guint, i->pool);
    if (i->market == SIM_MARKET_SPOT) {
        gboolean ok;
        if (p->capacity.n > 0) {
            i->rank = used + 1;
            ok = __capacity_at(w, i->pool, __now(w)) >= i->rank;
        } else {
            ok = sim_rng_double(&w->rng_launch) >= p->hazard.launch_failure;
        }
        ok = ok && !__over_max_price(w, i->pool);
        if (!ok) {
            /* No capacity: the gang's request fails; try again after the backoff. */
            w->r->launch_failures++;
            __record(w, SIM_TL_LAUNCH_FAILED, u->index, i->pool, i->number, i->market);
            __unit_interrupted(u, LOSS_LAUNCH_FAILED, NULL);
            return;
        }
    }
    __acct(u);
    i->state = INST_UP;
    i->up_at = __now(w);
    g_array_index(w->ws->pool_used, guint, i->pool)++;
    u->n_up++;
    w->r->launches++;
    __record(w, SIM_TL_UP, u->index, i->pool, i->number, i->market);
    if (i->market == SIM_MARKET_SPOT)
        __schedule_reclaim(w, i);
    if (u->n_up == w->m->job.gang)
        __unit_all_up(u);
}

static void
__on_notice(SimEngine *e, gpointer data)
{
    (void)e;
    Instance *i = data;
    SimWorld *w = i->w;
    Unit *u = i->unit;
    gboolean duplicate = i->ev_notice == 0;
    if (duplicate) {
        i->ev_notice2 = 0;
    } else {
        i->ev_notice = 0;
        w->r->notices++;
        __record(w, SIM_TL_NOTICE, u->index, i->pool, i->number, i->market);
    }
    if (w->m->job.kind == SIM_JOB_INFERENCE)
        return;
    if (w->s->emergency_checkpoint && w->m->job.checkpoint_gb > 0) {
        /* A handler saves and stops: an emergency checkpoint now when working, never a second
         * one on top of a checkpoint already being written (which stops the work when it
         * ends: a duplicated notice finds it running), and a unit still starting stops as
         * soon as it is ready (it sees the notice, and has nothing new to save). */
        u->notice_pending = TRUE;
        if (u->phase == UNIT_WORKING && !u->checkpoint_writing)
            __unit_checkpoint(u, TRUE);
    } else if (__cloud(w, i->pool)->kind == SIM_CLOUD_GCP &&
               (u->phase == UNIT_WORKING || u->phase == UNIT_CHECKPOINTING ||
                u->phase == UNIT_STARTING)) {
        /* Google's notice is an ACPI soft-off: every process gets SIGTERM, and a job without
         * a handler ends there (a checkpoint being written is cut short). */
        __unit_stop(u);
    }
}

static void
__on_rebalance(SimEngine *e, gpointer data)
{
    (void)e;
    Instance *i = data;
    SimWorld *w = i->w;
    Unit *u = i->unit;
    i->ev_rebalance = 0;
    w->r->rebalances++;
    __record(w, SIM_TL_REBALANCE, u->index, i->pool, i->number, i->market);
    if (w->s->move_on_rebalance && u->phase == UNIT_WORKING && !u->checkpoint_writing &&
        w->m->job.checkpoint_gb > 0 && w->m->job.kind != SIM_JOB_INFERENCE) {
        __unit_checkpoint(u, FALSE);
    }
}

static void
__on_reclaim(SimEngine *e, gpointer data)
{
    (void)e;
    Instance *i = data;
    SimWorld *w = i->w;
    i->ev_reclaim = 0;
    w->r->reclaims++;
    __record(w, SIM_TL_RECLAIM, i->unit->index, i->pool, i->number, i->market);
    if (i->notice_missed)
        w->r->notices_missed++;
    Unit *u = i->unit;
    u->interrupted_at = __now(w);
    __unit_interrupted(u, LOSS_RECLAIM, i);
}

/* ---- units ----------------------------------------------------------------------------------- */

static void __on_unit_ready(SimEngine *e, gpointer data);
static void __on_unit_done(SimEngine *e, gpointer data);
static void __on_checkpoint(SimEngine *e, gpointer data);
static void __on_checkpoint_end(SimEngine *e, gpointer data);
static void __on_retry(SimEngine *e, gpointer data);
static void __on_decide(SimEngine *e, gpointer data);
static void __on_recovered(SimEngine *e, gpointer data);
static void __on_lease(SimEngine *e, gpointer data);

/* Cost and time of moving a checkpoint between the storage and @pool, as the clouds price it. */
double
sim_model_egress_per_gb(const SimModel *m, guint pool)
{
    const SimPool *p = sim_model_pool(m, pool);
    const SimJob *job = &m->job;
    if (p->cloud != job->storage_cloud)
        return m->egress.cloud;
    if (job->storage_region != NULL && g_strcmp0(p->region, job->storage_region) != 0)
        return m->egress.region;
    /* Object storage is regional; a store that lives in one zone (a disk, a file system)
     * charges for reads and writes from the others. */
    if (job->storage_zone != NULL && g_strcmp0(p->zone, job->storage_zone) != 0)
        return m->egress.zone;
    return 0;
}

static double
__egress_per_gb(const SimWorld *w, guint pool)
{
    return sim_model_egress_per_gb(w->m, pool);
}

static double
__transfer_seconds(const SimWorld *w, guint pool)
{
    const SimJob *job = &w->m->job;
    if (__egress_per_gb(w, pool) <= 0 || w->m->egress.bandwidth_gbps <= 0)
        return 0;
    return job->checkpoint_gb / w->m->egress.bandwidth_gbps;
}

static double
__restore_seconds(const SimWorld *w, const Unit *u, guint pool)
{
    const SimJob *job = &w->m->job;
    if (!u->has_checkpoint || job->checkpoint_gb <= 0 || job->restore_gbps <= 0)
        return 0;
    return job->checkpoint_gb / job->restore_gbps + __transfer_seconds(w, pool);
}

static double
__write_seconds(const SimWorld *w, guint pool)
{
    const SimJob *job = &w->m->job;
    if (job->checkpoint_gb <= 0 || job->write_gbps <= 0)
        return 0;
    return job->checkpoint_gb / job->write_gbps + __transfer_seconds(w, pool);
}

/* Gives the unit its next task; FALSE when there is none left. */
static gboolean
__take_task(Unit *u)
{
    SimWorld *w = u->w;
    const SimJob *job = &w->m->job;
    switch (job->kind) {
    case SIM_JOB_INFERENCE: {
        /* Items whose lease ran out first; one that its old worker finished meanwhile is done
         * and skipped. */
        gboolean found = FALSE;
        while (!found && w->returned->len > 0) {
            u->item = g_array_index(w->returned, guint64, w->returned->len - 1);
            g_array_set_size(w->returned, w->returned->len - 1);
            found = w->item_state[u->item] == 0;
        }
        if (!found && w->items_next < job->items) {
            u->item = w->items_next++;
            found = TRUE;
        }
        if (!found)
            return FALSE;
        u->total = 1;
        break;
    }
    case SIM_JOB_SWEEP:
    case SIM_JOB_TRAINING:
    default:
        if (w->trials_left == 0)
            return FALSE;
        w->trials_left--;
        u->total = job->steps;
        break;
    }
    u->done = u->durable = 0;
    u->has_task = TRUE;
    u->has_checkpoint = FALSE;
    return TRUE;
}

static void __on_lease(SimEngine *e, gpointer data);

static Lease *
__lease_new(SimWorld *w)
{
    SimWorkspace *ws = w->ws;
    Lease *l = ws->free_leases;
    if (l != NULL) {
        ws->free_leases = l->next_free;
    } else {
        if (ws->lease_blocks->len == 0 || ws->lease_block_used == 64) {
            g_ptr_array_add(ws->lease_blocks, g_new(Lease, 64));
            ws->lease_block_used = 0;
        }
        l = &((Lease *)g_ptr_array_index(ws->lease_blocks,
                                         ws->lease_blocks->len - 1))[ws->lease_block_used++];
    }
    memset(l, 0, sizeof *l);
    l->w = w;
    return l;
}

static void
__lease_free(SimWorld *w, Lease *l)
{
    __cancel(w, &l->ev);
    l->next_free = w->ws->free_leases;
    w->ws->free_leases = l;
}

/* Leases the unit's item now (inference): it returns to the queue when the lease runs out,
 * unless it is done first. */
static void
__lease(Unit *u)
{
    SimWorld *w = u->w;
    w->item_state[u->item] = 1;
    if (u->lease != NULL)
        __lease_free(w, u->lease);
    u->lease = NULL;
    if (w->m->job.lease <= 0)
        return;
    Lease *l = __lease_new(w);
    l->item = u->item;
    l->holder = u;
    l->ev = sim_engine_schedule_in(w->engine, w->m->job.lease, PRIO_DEFAULT, __on_lease, l);
    u->lease = l;
}

/* The item goes back to the queue; an idle worker takes it. */
static void
__return_item(SimWorld *w, guint64 item)
{
    w->item_state[item] = 0;
    g_array_append_val(w->returned, item);
    for (guint k = 0; k < w->n_units; k++)
        if (w->units[k].phase == UNIT_IDLE && !w->units[k].has_task && w->units[k].ev_retry == 0)
            __unit_start(&w->units[k]);
}

static void
__on_lease(SimEngine *e, gpointer data)
{
    (void)e;
    Lease *l = data;
    SimWorld *w = l->w;
    l->ev = 0;
    /* The lease ran out before the item was done. If its worker is still on it and finishes,
     * the item is done twice (a lease shorter than an item's work). */
    if (l->holder != NULL)
        l->holder->lease = NULL;
    guint64 item = l->item;
    __lease_free(w, l);
    if (w->item_state[item] == 1)
        __return_item(w, item);
}

/* Schedules the end of the unit's task from its progress now. */
static void
__schedule_done(Unit *u)
{
    SimWorld *w = u->w;
    __cancel(w, &u->ev_done);
    if (u->phase != UNIT_WORKING)
        return;
    __progress(u);
    double left = (u->total - u->done) * u->step_s;
    u->ev_done = sim_engine_schedule_in(w->engine, __secs(left), PRIO_COMPLETE, __on_unit_done, u);
}

static void
__schedule_checkpoint(Unit *u)
{
    SimWorld *w = u->w;
    __cancel(w, &u->ev_checkpoint);
    if (w->m->job.checkpoint_gb <= 0 || w->m->job.kind == SIM_JOB_INFERENCE)
        return;
    SimTime dt = w->s->checkpoint->interval(w->s, w, u->index);
    if (dt > 0)
        u->ev_checkpoint = sim_engine_schedule_in(w->engine, dt, PRIO_DEFAULT, __on_checkpoint, u);
}

static void
__unit_checkpoint(Unit *u, gboolean emergency)
{
    SimWorld *w = u->w;
    __cancel(w, &u->ev_checkpoint);
    __progress(u);
    u->checkpoint_writing = TRUE;
    u->checkpoint_emergency = emergency;
    __record(w, SIM_TL_CHECKPOINT, u->index, u->pool, 0, u->market);
    u->checkpoint_steps = u->done;
    /* A notice's checkpoint blocks: the job stops to save before its instance goes. */
    u->checkpoint_blocking = !w->m->job.async_checkpoint || emergency;
    if (emergency)
        w->r->emergency_attempted++;
    if (u->checkpoint_blocking) {
        __set_phase(u, UNIT_CHECKPOINTING);
        __cancel(w, &u->ev_done);
    }
    double egress = __egress_per_gb(w, u->pool) * w->m->job.checkpoint_gb;
    w->r->cost_egress += egress;
    SimTime write = __secs(__write_seconds(w, u->pool));
    u->ev_checkpoint_end =
        sim_engine_schedule_in(w->engine, write, PRIO_COMPLETE, __on_checkpoint_end, u);
    if (!u->checkpoint_blocking) {
        /* Asynchronous checkpoints are spaced from start to start (never overlapping), so the
         * state they save is at most one interval and one write old. */
        SimTime dt = w->s->checkpoint->interval(w->s, w, u->index);
        if (dt > 0 && w->m->job.kind != SIM_JOB_INFERENCE)
            u->ev_checkpoint = sim_engine_schedule_in(w->engine, MAX(dt, write + 1), PRIO_DEFAULT,
                                                      __on_checkpoint, u);
    }
}

static void
__on_checkpoint(SimEngine *e, gpointer data)
{
    (void)e;
    Unit *u = data;
    u->ev_checkpoint = 0;
    if (u->phase == UNIT_WORKING && !u->checkpoint_writing)
        __unit_checkpoint(u, FALSE);
}

static void __unit_release(Unit *u);

static void
__on_checkpoint_end(SimEngine *e, gpointer data)
{
    (void)e;
    Unit *u = data;
    SimWorld *w = u->w;
    u->ev_checkpoint_end = 0;
    u->checkpoint_writing = FALSE;
    u->durable = MAX(u->durable, u->checkpoint_steps);
    if (!u->has_checkpoint && u->checkpoint_first < 0)
        u->checkpoint_first = __now(w);
    u->has_checkpoint = TRUE;
    w->r->checkpoints++;
    __record(w, SIM_TL_CHECKPOINT_DONE, u->index, u->pool, 0, u->market);
    if (u->checkpoint_emergency)
        w->r->emergency_finished++;
    if (u->checkpoint_blocking) {
        __set_phase(u, UNIT_WORKING);
        u->since = __now(w);
    }
    if (u->switch_after_checkpoint) {
        /* Leave spot for on demand, from the checkpoint just written. */
        u->switch_after_checkpoint = FALSE;
        u->market = SIM_MARKET_ON_DEMAND;
        __progress(u);
        __unit_release(u);
        __unit_start(u);
        return;
    }
    if (u->notice_pending) {
        /* The notice's checkpoint (or the one it found running, when nothing was done since
         * its state) is written: the job exits. Work done during an asynchronous one is
         * saved by an emergency checkpoint first. */
        __progress(u);
        if (u->done > u->durable && u->phase == UNIT_WORKING) {
            __unit_checkpoint(u, TRUE);
            return;
        }
        __unit_stop(u);
        return;
    }
    __schedule_done(u);
    if (u->checkpoint_blocking)
        __schedule_checkpoint(u);
}

/* The job stops on its instances (a notice): work stays where it is, what is not saved will be
 * lost with them, and they wait, idle, for their reclaim. */
static void
__unit_stop(Unit *u)
{
    SimWorld *w = u->w;
    __progress(u);
    __cancel(w, &u->ev_ready);
    __cancel(w, &u->ev_done);
    __cancel(w, &u->ev_checkpoint);
    __cancel(w, &u->ev_checkpoint_end);
    __cancel(w, &u->ev_recovered);
    u->checkpoint_writing = FALSE;
    __set_phase(u, UNIT_STOPPED);
}

/* Ends every instance of the unit (work already accounted by the caller). */
static void
__unit_release(Unit *u)
{
    SimWorld *w = u->w;
    __acct(u);
    for (guint k = 0; k < w->m->job.gang; k++)
        if (u->inst[k] != NULL)
            __instance_end(u->inst[k]);
    __cancel(w, &u->ev_ready);
    __cancel(w, &u->ev_done);
    __cancel(w, &u->ev_checkpoint);
    __cancel(w, &u->ev_checkpoint_end);
    u->checkpoint_writing = FALSE;
    __set_phase(u, UNIT_IDLE);
}

static void
__unit_all_up(Unit *u)
{
    SimWorld *w = u->w;
    const SimJob *job = &w->m->job;
    __set_phase(u, UNIT_STARTING);
    double restore = job->kind == SIM_JOB_INFERENCE ? 0 : __restore_seconds(w, u, u->pool);
    if (restore > 0)
        w->r->cost_egress += __egress_per_gb(w, u->pool) * job->checkpoint_gb;
    SimTime ready = job->startup + __secs(restore);
    u->ev_ready = sim_engine_schedule_in(w->engine, ready, PRIO_DEFAULT, __on_unit_ready, u);
}

static void
__schedule_recovery(Unit *u)
{
    SimWorld *w = u->w;
    __cancel(w, &u->ev_recovered);
    if (!u->recovering || u->phase != UNIT_WORKING)
        return;
    __progress(u);
    double left = MAX(0.0, u->recover_target - u->done) * u->step_s;
    u->ev_recovered =
        sim_engine_schedule_in(w->engine, __secs(left), PRIO_DEFAULT, __on_recovered, u);
}

static void
__on_recovered(SimEngine *e, gpointer data)
{
    (void)e;
    Unit *u = data;
    SimWorld *w = u->w;
    u->ev_recovered = 0;
    if (!u->recovering)
        return;
    u->recovering = FALSE;
    double s = (double)(__now(w) - u->recover_from) / USEC;
    g_array_append_val(w->r->recovery_seconds, s);
}

static void
__on_unit_ready(SimEngine *e, gpointer data)
{
    (void)e;
    Unit *u = data;
    SimWorld *w = u->w;
    u->ev_ready = 0;
    /* The unit resumes from its last durable state. */
    u->done = u->durable;
    if (u->notice_pending) {
        /* A notice came while it started: it sees it and stops, with nothing new to save. It
         * is back where it was, though, when it lost nothing: that ends a recovery. */
        __record(w, SIM_TL_READY, u->index, u->pool, 0, u->market);
        u->since = __now(w);
        __set_phase(u, UNIT_STOPPED);
        if (u->recovering && u->done >= u->recover_target) {
            u->recovering = FALSE;
            double secs = (double)(__now(w) - u->recover_from) / USEC;
            g_array_append_val(w->r->recovery_seconds, secs);
        }
        return;
    }
    __set_phase(u, UNIT_WORKING);
    __record(w, SIM_TL_READY, u->index, u->pool, 0, u->market);
    u->since = __now(w);
    u->step_s = sim_job_step_seconds(&w->m->job, __pool(w, u->pool)->instance_type);
    if (w->m->job.kind == SIM_JOB_INFERENCE) {
        __lease(u);
        /* A queue worker has recovered once it processes items again. */
        if (u->recovering) {
            u->recovering = FALSE;
            double secs = (double)(__now(w) - u->recover_from) / USEC;
            g_array_append_val(w->r->recovery_seconds, secs);
        }
    }
    __schedule_done(u);
    __schedule_checkpoint(u);
    __schedule_recovery(u);
}

static void __job_maybe_done(SimWorld *w);

static void
__on_unit_done(SimEngine *e, gpointer data)
{
    (void)e;
    Unit *u = data;
    SimWorld *w = u->w;
    u->ev_done = 0;
    __progress(u);
    u->done = u->total;
    u->durable = u->total;
    __record(w, SIM_TL_DONE, u->index, u->pool, 0, u->market);
    if (u->recovering) {
        u->recovering = FALSE;
        double s = (double)(__now(w) - u->recover_from) / USEC;
        g_array_append_val(w->r->recovery_seconds, s);
        __cancel(w, &u->ev_recovered);
    }
    const SimJob *job = &w->m->job;
    if (job->kind == SIM_JOB_INFERENCE) {
        if (w->item_state[u->item] == 2)
            w->r->items_duplicated++;
        else
            w->r->items_done++;
        w->item_state[u->item] = 2;
        if (u->lease != NULL)
            __lease_free(w, u->lease);
        u->lease = NULL;
        w->r->work_units += 1;
    } else {
        w->trials_done++;
        if (job->kind == SIM_JOB_SWEEP || job->epoch_steps <= 0)
            w->r->work_units += 1;
        else
            w->r->work_units += job->steps / job->epoch_steps;
    }
    u->has_task = FALSE;
    if (job->kind == SIM_JOB_INFERENCE && w->r->items_done == job->items) {
        __job_maybe_done(w);
        return;
    }
    /* Keep the instances for the next task, if any. */
    if (__take_task(u)) {
        if (job->kind == SIM_JOB_INFERENCE)
            __lease(u);
        u->since = __now(w);
        __schedule_done(u);
        __schedule_checkpoint(u);
        return;
    }
    __unit_release(u);
    if (job->kind == SIM_JOB_INFERENCE)
        return; /* idle until an item comes back, or the job is done */
    __set_phase(u, UNIT_DONE);
    __cancel(w, &u->ev_decide);
    __cancel(w, &u->ev_retry);
    w->n_active--;
    __job_maybe_done(w);
}

static void
__job_maybe_done(SimWorld *w)
{
    /* Inference is done when every item is: idle workers may still be waiting for items whose
     * lease has not run out. */
    if (w->m->job.kind == SIM_JOB_INFERENCE ? w->r->items_done < w->m->job.items : w->n_active > 0)
        return;
    for (guint k = 0; k < w->n_units; k++) {
        Unit *u = &w->units[k];
        if (u->phase != UNIT_DONE) {
            __unit_release(u);
            __cancel(w, &u->ev_retry);
            __cancel(w, &u->ev_decide);
            __set_phase(u, UNIT_DONE);
        }
    }
    w->n_active = 0;
    w->r->finished = TRUE;
    w->r->completion_hours = (double)__now(w) / HOUR_US;
    sim_engine_stop(w->engine);
    w->stopped = TRUE;
}

/* After a reclaim of @lost, one of a gang's instances: when the strategy would put the gang back
 * in the same pool on the same market, only the reclaimed instance is replaced and the others
 * wait for it (idle, billed), as elastic and gang schedulers do. Returns FALSE, changing
 * nothing, when the gang should move instead (another pool, on demand, no spot to be had). */
static gboolean
__replace_lost(Unit *u, Instance *lost)
{
    SimWorld *w = u->w;
    const SimStrategy *s = w->s;
    if (u->pinned_on_demand || lost->market != SIM_MARKET_SPOT)
        return FALSE;
    /* Ask with the reclaimed instance gone, as a fresh request would. */
    int pool = s->placement->choose(s, w, u->index, SIM_MARKET_SPOT);
    if (pool != (int)u->pool || s->market->choose(s, w, u->index, TRUE) != SIM_MARKET_SPOT)
        return FALSE;
    __acct(u);
    __cancel(w, &u->ev_ready);
    __cancel(w, &u->ev_done);
    __cancel(w, &u->ev_checkpoint);
    __cancel(w, &u->ev_checkpoint_end);
    u->checkpoint_writing = FALSE;
    u->switch_after_checkpoint = FALSE;
    __instance_end(lost);
    /* The noticed instance is gone: the gang works again once the replacement is up. */
    u->notice_pending = FALSE;
    __set_phase(u, UNIT_ACQUIRING);
    __unit_fill(u);
    return TRUE;
}

/* The unit loses its instances (@why). Work not saved is lost and accounted; a reclaim counts
 * as an interruption and starts a recovery; a failed launch holds no work and tries again after
 * the backoff. */
static void
__unit_interrupted(Unit *u, LossReason why, Instance *lost)
{
    SimWorld *w = u->w;
    __progress(u);
    gboolean held_work = u->phase == UNIT_WORKING || u->phase == UNIT_CHECKPOINTING ||
                         u->phase == UNIT_STARTING || u->phase == UNIT_STOPPED;
    if (w->m->job.keeps_progress && w->m->job.kind != SIM_JOB_INFERENCE)
        u->durable = u->done;
    if (why != LOSS_LAUNCH_FAILED && held_work) {
        double lost_h = MAX(0.0, u->done - u->durable) * u->step_s / 3600.0;
        w->r->lost_hours += lost_h * w->m->job.gang;
        w->r->lost_gpu_hours += lost_h * w->m->job.gang * __pool(w, u->pool)->gpus;
    }
    if (why == LOSS_RECLAIM && held_work) {
        double lost_h = MAX(0.0, u->done - u->durable) * u->step_s / 3600.0;
        w->r->interruptions++;
        w->r->max_lost_per_interruption_hours = MAX(w->r->max_lost_per_interruption_hours, lost_h);
        if (!u->recovering) {
            u->recovering = TRUE;
            u->recover_from = __now(w);
            u->recover_target = u->done;
        } else {
            u->recover_target = MAX(u->recover_target, u->done);
        }
        __cancel(w, &u->ev_recovered);
    }
    /* What was not saved is gone: the next run resumes from the durable state, and a second
     * loss before it works again loses nothing more. */
    u->done = u->durable;
    if (w->m->job.kind == SIM_JOB_INFERENCE && u->has_task) {
        /* A lost worker's item stays leased until its lease runs out; the worker comes back
         * with no task. A worker that leaves on purpose, or has no lease, hands it back now. */
        u->has_task = FALSE;
        if (u->lease != NULL && why == LOSS_RECLAIM) {
            u->lease->holder = NULL;
            u->lease = NULL;
        } else {
            if (u->lease != NULL)
                __lease_free(w, u->lease);
            u->lease = NULL;
            if (w->item_state[u->item] != 2)
                __return_item(w, u->item);
        }
    }
    u->last_pool = (int)u->pool;
    if (why == LOSS_RECLAIM && lost != NULL && w->m->job.gang > 1 && __replace_lost(u, lost))
        return;
    __unit_release(u);
    if (why == LOSS_LAUNCH_FAILED) {
        __cancel(w, &u->ev_retry);
        u->ev_retry =
            sim_engine_schedule_in(w->engine, w->s->retry_backoff, PRIO_DEFAULT, __on_retry, u);
    } else {
        __unit_start(u);
    }
}

static void
__on_retry(SimEngine *e, gpointer data)
{
    (void)e;
    Unit *u = data;
    u->ev_retry = 0;
    if (u->phase == UNIT_IDLE)
        __unit_start(u);
}

static void
__on_decide(SimEngine *e, gpointer data)
{
    (void)e;
    Unit *u = data;
    SimWorld *w = u->w;
    u->ev_decide = 0;
    if (u->phase == UNIT_DONE || u->market != SIM_MARKET_SPOT)
        return;
    gboolean on_spot = u->phase == UNIT_ACQUIRING || u->phase == UNIT_STARTING ||
                       u->phase == UNIT_WORKING || u->phase == UNIT_CHECKPOINTING ||
                       u->phase == UNIT_STOPPED;
    if (on_spot && !u->switch_after_checkpoint && w->s->market->leave_spot(w->s, w, u->index)) {
        /* Move to on demand: a checkpoint first when there is work to save, so it comes along;
         * without checkpoints what is not saved is lost, as in a reclaim. A unit still starting
         * has nothing to lose. */
        w->r->switches++;
        __record(w, SIM_TL_SWITCH, u->index, u->pool, 0, u->market);
        u->pinned_on_demand = TRUE;
        if (u->phase == UNIT_WORKING && w->m->job.checkpoint_gb > 0 &&
            w->m->job.kind != SIM_JOB_INFERENCE) {
            u->switch_after_checkpoint = TRUE;
            if (!u->checkpoint_writing)
                __unit_checkpoint(u, FALSE);
        } else if (u->phase != UNIT_CHECKPOINTING) {
            __unit_interrupted(u, LOSS_SWITCH, NULL);
        } else {
            u->switch_after_checkpoint = TRUE; /* the checkpoint being written takes it along */
        }
        return;
    }
    u->ev_decide =
        sim_engine_schedule_in(w->engine, w->s->decision_interval, PRIO_DEFAULT, __on_decide, u);
}

/* Requests an instance for every empty slot of the unit's gang: the first n_on_demand slots on
 * demand in od_pool (a hybrid gang), the others on the unit's market in its pool. */
static void
__unit_fill(Unit *u)
{
    SimWorld *w = u->w;
    for (guint k = 0; k < w->m->job.gang; k++) {
        if (u->inst[k] != NULL)
            continue;
        gboolean od = k < u->n_on_demand;
        Instance *i = __instance_new(w);
        i->unit = u;
        i->pool = od ? u->od_pool : u->pool;
        i->market = od ? SIM_MARKET_ON_DEMAND : u->market;
        i->state = INST_PROVISIONING;
        u->inst[k] = i;
        u->n_live++;
        const SimCloud *c = __cloud(w, i->pool);
        i->ev_up =
            sim_engine_schedule_in(w->engine, sim_dist_draw(&c->provisioning, &w->rng_provision),
                                   PRIO_DEFAULT, __on_up, i);
    }
}

/* Decides where the unit runs next and requests its instances; or waits. */
static void
__unit_start(Unit *u)
{
    SimWorld *w = u->w;
    const SimStrategy *s = w->s;
    const SimJob *job = &w->m->job;
    if (u->phase != UNIT_IDLE || w->stopped)
        return;
    u->notice_pending = FALSE; /* new instances */
    if (!u->has_task && !__take_task(u)) {
        /* Nothing left for this unit. An inference worker waits: items of lost workers come
         * back when their leases run out. */
        if (job->kind != SIM_JOB_INFERENCE) {
            __set_phase(u, UNIT_DONE);
            w->n_active--;
            __job_maybe_done(w);
        }
        return;
    }
    int spot_pool = -1;
    SimMarket market = SIM_MARKET_ON_DEMAND;
    if (!u->pinned_on_demand) {
        spot_pool = s->placement->choose(s, w, u->index, SIM_MARKET_SPOT);
        market = s->market->choose(s, w, u->index, spot_pool >= 0);
    }
    int pool = -1;
    if (market == SIM_MARKET_SPOT)
        pool = spot_pool;
    else if (market == SIM_MARKET_ON_DEMAND)
        pool = s->placement->choose(s, w, u->index, SIM_MARKET_ON_DEMAND);
    if (pool < 0) {
        /* Wait: no spot to be had (or the policy waits); decide again later. */
        SimTime wait = s->market->leave_spot != NULL ? MIN(s->retry_backoff, s->decision_interval)
                                                     : s->retry_backoff;
        __cancel(w, &u->ev_retry);
        u->ev_retry = sim_engine_schedule_in(w->engine, wait, PRIO_DEFAULT, __on_retry, u);
        return;
    }
    u->pool = (guint)pool;
    u->market = market;
    __set_phase(u, UNIT_ACQUIRING);
    const SimCloud *c = __cloud(w, u->pool);
    /* A hybrid strategy with a single gang splits the gang itself: its on-demand share of the
     * instances (parameter servers, say) on demand, the rest on spot. */
    guint on_demand = 0;
    int od_pool = pool;
    if (market == SIM_MARKET_SPOT && s->market == sim_market_class("hybrid") && w->n_units == 1) {
        on_demand = (guint)floor(s->on_demand_fraction * job->gang + 0.5);
        on_demand = MIN(on_demand, job->gang - 1);
        if (on_demand > 0)
            od_pool = s->placement->choose(s, w, u->index, SIM_MARKET_ON_DEMAND);
        if (od_pool < 0)
            od_pool = pool;
    }
    /* Deadline-aware markets look again every decision interval from the moment a unit goes to
     * spot, starting included. */
    if (s->market->leave_spot != NULL && market == SIM_MARKET_SPOT && u->ev_decide == 0)
        u->ev_decide =
            sim_engine_schedule_in(w->engine, s->decision_interval, PRIO_DEFAULT, __on_decide, u);
    u->n_on_demand = on_demand;
    u->od_pool = (guint)od_pool;
    (void)c;
    __unit_fill(u);
}

static void
__on_horizon(SimEngine *e, gpointer data)
{
    SimWorld *w = data;
    w->stopped = TRUE;
    sim_engine_stop(e);
}

/* ---- the API for strategies ------------------------------------------------------------------ */

SimTime
sim_world_now(const SimWorld *w)
{
    return __now(w);
}

const SimModel *
sim_world_model(const SimWorld *w)
{
    return w->m;
}

/* Azure: no spot instance is had while the price is above the user's maximum. */
static gboolean
__over_max_price(SimWorld *w, guint pool)
{
    const SimPool *p = __pool(w, pool);
    return !isnan(p->max_price) && __price_at(w, pool, __now(w)) > p->max_price;
}

guint
sim_world_pool_free_capacity(SimWorld *w, guint pool)
{
    const SimPool *p = __pool(w, pool);
    if (__over_max_price(w, pool))
        return 0;
    if (p->capacity.n == 0)
        return G_MAXUINT;
    double cap = __capacity_at(w, pool, __now(w));
    guint used = g_array_index(w->ws->pool_used, guint, pool);
    return cap > used ? (guint)(cap - used) : 0;
}

double
sim_world_pool_price(SimWorld *w, guint pool)
{
    return __price_at(w, pool, __now(w));
}

double
sim_world_pool_mean_price(SimWorld *w, guint pool, SimTime lookback)
{
    SimTime now = __now(w);
    /* The recorded history before the replica's start counts too: that is what a predictor
     * would have seen. */
    SimTime from = now - lookback;
    if (from + w->t0 < 0)
        from = -w->t0;
    if (now <= from)
        return __price_at(w, pool, now);
    return __price_integral(w, pool, SIM_MARKET_SPOT, from, now) / ((double)(now - from) / HOUR_US);
}

double
sim_world_spot_hours(const SimWorld *w)
{
    /* Instances that ended, and the time so far of those still up. */
    double hours = w->spot_hours_seen;
    SimTime now = __now(w);
    for (guint k = 0; k < w->n_units; k++) {
        const Unit *u = &w->units[k];
        for (guint g = 0; g < w->m->job.gang; g++) {
            const Instance *i = u->inst[g];
            if (i != NULL && i->state == INST_UP && i->market == SIM_MARKET_SPOT)
                hours += (double)(now - i->up_at) / HOUR_US;
        }
    }
    return hours;
}

double
sim_world_observed_rate(const SimWorld *w)
{
    double hours = sim_world_spot_hours(w);
    if (hours <= 0)
        return NAN;
    return w->r->reclaims / hours;
}

guint
sim_world_pool_instances(const SimWorld *w, guint pool)
{
    guint n = 0;
    for (guint k = 0; k < w->n_units; k++)
        for (guint g = 0; g < w->m->job.gang; g++)
            n += w->units[k].inst[g] != NULL && w->units[k].inst[g]->pool == pool;
    return n;
}

guint
sim_world_reclaims(const SimWorld *w)
{
    return w->r->reclaims;
}

double
sim_world_pool_rate(SimWorld *w, guint pool)
{
    const SimPool *p = __pool(w, pool);
    if (p->capacity.n == 0)
        return p->hazard.rate_per_hour * __hazard_factor(w, &p->hazard, __now(w));
    return p->trace_rate;
}

double
sim_world_unit_remaining_seconds(const SimWorld *w, guint unit, guint pool)
{
    const Unit *u = &w->units[unit];
    double step = sim_job_step_seconds(&w->m->job, __pool(w, pool)->instance_type);
    double done = u->done;
    if (u->phase == UNIT_WORKING && u->step_s > 0)
        done = MIN(u->total, done + (double)(__now(w) - u->since) / USEC / u->step_s);
    double left = (u->has_task ? u->total - done : 0);
    /* Work not yet handed to any unit, shared among the units that can run at once. */
    const SimJob *job = &w->m->job;
    if (job->kind == SIM_JOB_SWEEP)
        left += (double)w->trials_left * job->steps / MAX(1u, job->parallel);
    else if (job->kind == SIM_JOB_INFERENCE)
        left += (double)(job->items - w->items_next + w->returned->len) / MAX(1u, job->parallel);
    return left * step;
}

double
sim_world_unit_move_seconds(const SimWorld *w, guint unit, guint pool)
{
    const Unit *u = &w->units[unit];
    const SimJob *job = &w->m->job;
    double total = sim_world_unit_remaining_seconds(w, unit, pool);
    double step = sim_job_step_seconds(job, __pool(w, pool)->instance_type);
    gboolean working = u->phase == UNIT_WORKING || u->phase == UNIT_CHECKPOINTING;
    gboolean saves = job->checkpoint_gb > 0 && job->kind != SIM_JOB_INFERENCE;
    /* Whichever is worse: moving by choice (saving the work first) or by a reclaim (redoing
     * what is not saved), since a reclaim may come before the next decision. */
    double extra = 0;
    if (working && saves)
        extra = __write_seconds(w, u->pool);
    if (working && !job->keeps_progress && u->has_task) {
        double done = u->done;
        if (u->phase == UNIT_WORKING && u->step_s > 0)
            done = MIN(u->total, done + (double)(__now(w) - u->since) / USEC / u->step_s);
        extra = MAX(extra, MAX(0.0, done - u->durable) * step);
    }
    /* A safety net plans for a slow restart: the gang's slowest of k launches at its 95th
     * percentile (the 0.95^(1/k) quantile of one launch). */
    const Unit *u0 = &w->units[0];
    double q = pow(0.95, 1.0 / MAX(1u, job->gang));
    double restart = sim_dist_quantile(&__cloud(w, pool)->provisioning, q) +
                     (double)job->startup / USEC + __restore_seconds(w, u0, pool);
    return total + extra + restart;
}

SimTime
sim_world_time_to_deadline(const SimWorld *w)
{
    if (w->m->job.deadline <= 0)
        return SIM_TIME_NEVER;
    return w->m->job.deadline - __now(w);
}

double
sim_world_progress(const SimWorld *w)
{
    const SimJob *job = &w->m->job;
    if (job->kind == SIM_JOB_INFERENCE)
        return job->items ? (double)w->r->items_done / (double)job->items : 1;
    double total = job->steps * (job->kind == SIM_JOB_SWEEP ? job->trials : 1);
    double done = w->trials_done * job->steps;
    for (guint k = 0; k < w->n_units; k++) {
        const Unit *u = &w->units[k];
        if (!u->has_task)
            continue;
        double d = u->done;
        if (u->phase == UNIT_WORKING && u->step_s > 0)
            d = MIN(u->total, d + (double)(__now(w) - u->since) / USEC / u->step_s);
        done += d;
    }
    return total > 0 ? MIN(1.0, done / total) : 1;
}

double
sim_world_pool_recent_rate(SimWorld *w, guint pool, SimTime lookback)
{
    const SimPool *p = __pool(w, pool);
    if (p->capacity.n == 0)
        return sim_world_pool_rate(w, pool);
    /* Drops below one instance per available hour over the last @lookback of the recording
     * (history before the replica's start included). */
    const SimSteps *st = &p->capacity;
    gint64 b = w->t0 + __now(w), a = MAX((gint64)0, b - lookback);
    gsize lo = 0, hi = st->n;
    while (hi - lo > 1) {
        gsize mid = lo + (hi - lo) / 2;
        if (st->time[mid] <= a)
            lo = mid;
        else
            hi = mid;
    }
    double up = 0;
    guint drops = 0;
    for (gsize i = lo; i < st->n && st->time[i] < b; i++) {
        gint64 s0 = MAX(a, st->time[i]);
        gint64 e0 = i + 1 < st->n ? MIN(b, st->time[i + 1]) : b;
        if (st->value[i] >= 1)
            up += (double)(e0 - s0) / HOUR_US;
        else if (i > lo && st->value[i - 1] >= 1)
            drops++;
    }
    if (up <= 0)
        return p->trace_rate;
    return drops / up;
}

SimMarket
sim_world_unit_last_market(const SimWorld *w, guint unit)
{
    return w->units[unit].market;
}

guint
sim_world_unit_spot_instances(const SimWorld *w, guint unit)
{
    const Unit *u = &w->units[unit];
    if (u->market != SIM_MARKET_SPOT)
        return 0;
    return w->m->job.gang - MIN(u->n_on_demand, w->m->job.gang);
}

guint
sim_world_n_units(const SimWorld *w)
{
    return w->n_units;
}

int
sim_world_unit_last_pool(const SimWorld *w, guint unit)
{
    return w->units[unit].last_pool;
}

double
sim_world_write_seconds(const SimWorld *w, guint pool)
{
    return __write_seconds(w, pool);
}

double
sim_world_restart_seconds(const SimWorld *w, guint pool)
{
    const Unit *u = &w->units[0];
    return sim_dist_mean(&__cloud(w, pool)->provisioning) + (double)w->m->job.startup / USEC +
           __restore_seconds(w, u, pool);
}

/* ---- running a replica ---------------------------------------------------------------------- */

SimWorkspace *
sim_workspace_new(void)
{
    SimWorkspace *ws = g_new0(SimWorkspace, 1);
    ws->engine = sim_engine_new();
    ws->instance_blocks = g_ptr_array_new_with_free_func(g_free);
    ws->lease_blocks = g_ptr_array_new_with_free_func(g_free);
    ws->units = g_array_new(FALSE, TRUE, sizeof(Unit));
    ws->unit_inst = g_array_new(FALSE, TRUE, sizeof(Instance *));
    ws->pool_used = g_array_new(FALSE, TRUE, sizeof(guint));
    ws->pool_cursor = g_array_new(FALSE, TRUE, sizeof(gsize));
    ws->pool_price_cursor = g_array_new(FALSE, TRUE, sizeof(gsize));
    ws->item_returns = g_array_new(FALSE, FALSE, sizeof(guint64));
    return ws;
}

void
sim_workspace_free(SimWorkspace *ws)
{
    if (ws == NULL)
        return;
    sim_engine_free(ws->engine);
    g_ptr_array_unref(ws->instance_blocks);
    g_ptr_array_unref(ws->lease_blocks);
    g_array_unref(ws->units);
    g_array_unref(ws->unit_inst);
    g_array_unref(ws->pool_used);
    g_array_unref(ws->pool_cursor);
    g_array_unref(ws->pool_price_cursor);
    g_array_unref(ws->item_returns);
    g_free(ws);
}

void
sim_workspace_set_recording(SimWorkspace *ws, gboolean record)
{
    g_return_if_fail(ws != NULL);
    ws->record = record;
}

void
sim_replica_result_clear(SimReplicaResult *r)
{
    if (r->recovery_seconds != NULL)
        g_array_unref(r->recovery_seconds);
    if (r->timeline != NULL)
        g_array_unref(r->timeline);
    memset(r, 0, sizeof *r);
}

enum {
    STREAM_START = 1,
    STREAM_PROVISION,
    STREAM_NOTICE,
    STREAM_HAZARD,
    STREAM_LAUNCH,
};

void
sim_model_run(SimWorkspace *ws, const SimModel *m, const SimStrategy *s, guint64 replica,
              SimReplicaResult *r)
{
    g_return_if_fail(ws != NULL && m != NULL && s != NULL && r != NULL);
    g_return_if_fail(m->pools->len > 0 && s->n_pools > 0);
    memset(r, 0, sizeof *r);
    r->recovery_seconds = g_array_new(FALSE, FALSE, sizeof(double));
    r->completion_hours = NAN;
    if (ws->record)
        r->timeline = g_array_new(FALSE, FALSE, sizeof(SimTimelineEvent));

    const SimJob *job = &m->job;
    SimWorld world = {0}, *w = &world;
    w->ws = ws;
    w->engine = ws->engine;
    w->m = m;
    w->s = s;
    w->r = r;
    sim_engine_reset(ws->engine);

    /* Streams: (seed, replica, purpose). The start offset is shared by every strategy of the
     * replica, so strategies are compared on the same stretch of the traces. */
    SimRng root, rep, start;
    sim_rng_init(&root, m->seed);
    sim_rng_split(&root, SIM_RNG_STREAM_REPLICA, &rep);
    sim_rng_split(&rep, replica, &rep);
    sim_rng_split(&rep, STREAM_START, &start);
    sim_rng_split(&rep, STREAM_PROVISION, &w->rng_provision);
    sim_rng_split(&rep, STREAM_NOTICE, &w->rng_notice);
    sim_rng_split(&rep, STREAM_HAZARD, &w->rng_hazard);
    sim_rng_split(&rep, STREAM_LAUNCH, &w->rng_launch);
    w->t0 = m->start_min;
    if (m->start_max > m->start_min)
        w->t0 += (SimTime)sim_rng_below(&start, (guint64)(m->start_max - m->start_min) + 1);
    r->start_hours = (double)w->t0 / HOUR_US;

    guint n_pools = m->pools->len;
    g_array_set_size(ws->pool_used, n_pools);
    g_array_set_size(ws->pool_cursor, n_pools);
    g_array_set_size(ws->pool_price_cursor, n_pools);
    memset(ws->pool_used->data, 0, n_pools * sizeof(guint));
    memset(ws->pool_cursor->data, 0, n_pools * sizeof(gsize));
    memset(ws->pool_price_cursor->data, 0, n_pools * sizeof(gsize));
    /* Reuse the memory of earlier replicas: every block's slots become free again. */
    ws->free_instances = NULL;
    g_ptr_array_set_size(ws->instance_blocks, MIN(ws->instance_blocks->len, 1));
    ws->block_used = 0;
    ws->free_leases = NULL;
    g_ptr_array_set_size(ws->lease_blocks, MIN(ws->lease_blocks->len, 1));
    ws->lease_block_used = 0;
    g_array_set_size(ws->item_returns, 0);
    w->returned = ws->item_returns;

    /* Units: one for training; up to `parallel` for sweeps and inference. */
    guint n_units = job->kind == SIM_JOB_TRAINING ? 1 : MAX(1u, job->parallel);
    if (job->kind == SIM_JOB_SWEEP)
        n_units = MIN(n_units, MAX(1u, job->trials));
    w->trials_left = job->kind == SIM_JOB_SWEEP ? job->trials : 1;
    g_autofree guint8 *item_state = NULL;
    if (job->kind == SIM_JOB_INFERENCE) {
        item_state = g_new0(guint8, job->items ? job->items : 1);
        w->item_state = item_state;
        if (job->items == 0)
            n_units = 0;
    }
    g_array_set_size(ws->units, n_units);
    g_array_set_size(ws->unit_inst, (gsize)n_units * job->gang);
    memset(ws->unit_inst->data, 0, (gsize)n_units * job->gang * sizeof(Instance *));
    w->units = (Unit *)(void *)ws->units->data;
    w->n_units = n_units;
    w->n_active = n_units;
    for (guint k = 0; k < n_units; k++) {
        Unit *u = &w->units[k];
        memset(u, 0, sizeof *u);
        u->w = w;
        u->index = k;
        u->last_pool = -1;
        u->checkpoint_first = -1;
        u->inst = &g_array_index(ws->unit_inst, Instance *, (gsize)k * job->gang);
    }

    sim_engine_schedule(w->engine, m->horizon, PRIO_HORIZON, __on_horizon, w);
    for (guint k = 0; k < n_units; k++)
        __unit_start(&w->units[k]);
    if (n_units == 0)
        __job_maybe_done(w);
    if (!w->stopped)
        r->events = sim_engine_run(w->engine, SIM_TIME_NEVER);

    /* Close the books: end every instance still up, at the stop time. */
    for (guint k = 0; k < n_units; k++) {
        Unit *u = &w->units[k];
        __progress(u);
        if (u->phase != UNIT_DONE && u->phase != UNIT_IDLE) {
            /* Unfinished at the horizon: work not saved is not useful either. */
            double open = MAX(0.0, u->done - u->durable) * u->step_s / 3600.0 * job->gang;
            r->lost_hours += open;
        }
        for (guint g = 0; g < job->gang; g++)
            if (u->inst[g] != NULL)
                __instance_end(u->inst[g]);
        __acct(u);
        if (u->checkpoint_first >= 0 && job->checkpoint_gb > 0)
            r->cost_storage += job->checkpoint_gb * job->storage_gb_month *
                               (double)(__now(w) - u->checkpoint_first) / (30.0 * 24 * HOUR_US);
    }
    r->useful_hours = w->compute_hours - r->lost_hours;
    r->cost = r->cost_compute + r->cost_storage + r->cost_egress;
    r->goodput = r->paid_hours > 0 ? r->useful_hours / r->paid_hours : (double)NAN;
    if (job->kind == SIM_JOB_INFERENCE) {
        guint64 pending = 0;
        for (guint64 k = 0; k < job->items; k++)
            pending += item_state[k] != 2;
        /* Every item is done or still pending: nothing vanished. */
        r->items_lost = job->items - r->items_done - pending;
    }
    r->deadline_met = r->finished && (job->deadline <= 0 ||
                                      r->completion_hours * HOUR_US <= (double)job->deadline);
    w->item_state = NULL;
}
