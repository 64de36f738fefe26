/* spotlab: the deadline-aware tick model (see tick-model.h and reference-models.md). */
#include "tick-model.h"

#include <math.h>
#include <string.h>

/* The reference treats amounts of work or overhead below a millisecond as zero. */
#define EPS 1e-3

static const char *const policy_names[SIM_TICK_N_POLICIES] = {
    "on-demand", "spot-only", "greedy", "uniform-progress", "offline-optimal",
};

const char *
sim_tick_policy_name(SimTickPolicy policy)
{
    g_return_val_if_fail(policy < SIM_TICK_N_POLICIES, "invalid");
    return policy_names[policy];
}

gboolean
sim_tick_policy_from_name(const char *name, SimTickPolicy *policy)
{
    for (int i = 0; i < SIM_TICK_N_POLICIES; i++) {
        if (g_strcmp0(name, policy_names[i]) == 0) {
            *policy = (SimTickPolicy)i;
            return TRUE;
        }
    }
    return FALSE;
}

gsize
sim_tick_start_index(double start_hours, double gap)
{
    /* The same floating-point operations as the reference, so that start offsets such as
     * 51.833333333333336 h land on the same tick. */
    double s = ceil(start_hours * 3600.0 / gap);
    return s > 0 ? (gsize)s : 0;
}

/* One planned step of the offline optimum. */
typedef struct {
    double w;       /* work done, seconds */
    double r;       /* pending restart overhead, seconds */
    double cost;    /* USD so far */
    guint32 parent; /* index in the previous layer */
    guint8 kind;    /* SimCluster chosen at the previous tick (running during this one) */
} DpState;

struct _SimTickRunner {
    SimEngine *engine;
    /* Offline optimum: every layer of states, kept for backtracking. */
    GArray *dp_states;   /* DpState */
    GArray *dp_layer_at; /* gsize: index of each layer's first state */
    GArray *dp_scratch;  /* DpState */
    GArray *plan;        /* guint8 SimCluster per tick */
};

SimTickRunner *
sim_tick_runner_new(void)
{
    SimTickRunner *runner = g_new0(SimTickRunner, 1);
    runner->engine = sim_engine_new();
    runner->dp_states = g_array_new(FALSE, FALSE, sizeof(DpState));
    runner->dp_layer_at = g_array_new(FALSE, FALSE, sizeof(gsize));
    runner->dp_scratch = g_array_new(FALSE, FALSE, sizeof(DpState));
    runner->plan = g_array_new(FALSE, FALSE, sizeof(guint8));
    return runner;
}

void
sim_tick_runner_free(SimTickRunner *runner)
{
    if (runner == NULL)
        return;
    sim_engine_free(runner->engine);
    g_array_unref(runner->dp_states);
    g_array_unref(runner->dp_layer_at);
    g_array_unref(runner->dp_scratch);
    g_array_unref(runner->plan);
    g_free(runner);
}

/* ---- the tick, on the engine ------------------------------------------------------------- */

typedef struct {
    const SimTickTrace *trace;
    const SimTickJob *job;
    gsize start;
    SimTickPolicy policy;
    const guint8 *plan; /* the offline optimum's schedule, or NULL */
    gsize plan_len;
    double deadline; /* the deadline the policy and safety net see */
    gint64 gap_us;

    gsize t;
    SimCluster cur;
    double w, r;
    SimTickResult *result;
} TickRun;

static inline gboolean
__avail(const SimTickTrace *trace, gsize idx)
{
    return idx < trace->n && trace->avail[idx];
}

static SimCluster
__uniform_progress(const TickRun *run, gboolean has, double elapsed, double rem_time)
{
    const SimTickJob *job = run->job;
    const double gap = run->trace->gap, d = job->overhead;
    const double c0 = job->work, ct = job->work - run->w, r0 = job->deadline;
    SimCluster req = has ? SIM_CLUSTER_SPOT : SIM_CLUSTER_NONE;
    if ((c0 - ct) - elapsed * c0 / r0 < 0)
        req = has ? SIM_CLUSTER_SPOT : SIM_CLUSTER_ON_DEMAND;
    if (run->cur == SIM_CLUSTER_ON_DEMAND &&
        (!has || (elapsed + 2 * d) * c0 / r0 - (c0 - ct) >= 0))
        req = SIM_CLUSTER_ON_DEMAND;
    double need1 = ceil((ct + d) / gap) * gap;
    double need2 = ceil((ct + 2 * d) / gap) * gap;
    if (need2 >= rem_time && run->cur != SIM_CLUSTER_SPOT)
        req = SIM_CLUSTER_ON_DEMAND;
    if (need1 >= rem_time) {
        req = run->cur == SIM_CLUSTER_SPOT && run->r < EPS ? SIM_CLUSTER_SPOT
                                                           : SIM_CLUSTER_ON_DEMAND;
        if (d == 0 && has)
            req = SIM_CLUSTER_SPOT;
    }
    return req;
}

static void
__finish(TickRun *run, gboolean finished)
{
    SimTickResult *res = run->result;
    res->finished = finished;
    double finish = (double)run->t * run->trace->gap;
    res->finish_hours = finished ? finish / 3600.0 : (double)NAN;
    /* Met when the work is done by the deadline. The work is credited at tick boundaries, so
     * this is the end of the tick in which it finished. */
    res->deadline_met = finished && finish <= run->job->deadline + EPS;
}

static void
__tick(SimEngine *engine, gpointer data)
{
    TickRun *run = data;
    const SimTickTrace *trace = run->trace;
    const SimTickJob *job = run->job;
    SimTickResult *res = run->result;
    const double gap = trace->gap, d = job->overhead;
    const gsize idx = run->start + run->t;

    /* 1. Observe and bill the tick that just ended. */
    gboolean has = __avail(trace, idx);
    SimCluster last = run->cur;
    /* One running total in the reference's order, so costs match it to the last bit; the
     * split by market is kept beside it. */
    if (last == SIM_CLUSTER_SPOT) {
        double bill = trace->price[idx - 1] * gap / 3600.0;
        res->cost += bill;
        res->spot_cost += bill;
        res->spot_hours += gap / 3600.0;
    } else if (last == SIM_CLUSTER_ON_DEMAND) {
        double bill = trace->od_price * gap / 3600.0;
        res->cost += bill;
        res->od_cost += bill;
        res->od_hours += gap / 3600.0;
    }
    gboolean lost = run->cur == SIM_CLUSTER_SPOT && !has;
    if (lost)
        run->cur = SIM_CLUSTER_NONE;

    /* 2. Progress during the tick that just ended. */
    if (last != SIM_CLUSTER_NONE) {
        double step = MAX(gap - run->r, 0.0);
        run->r -= gap - step;
        if (run->r < EPS)
            run->r = 0;
        run->w += MIN(step, job->work - run->w);
    }

    /* 3. Done? A cluster lost at the tick the work is done costs nothing more, so it is not
     * counted as a preemption. */
    if (job->work - run->w <= EPS) {
        __finish(run, TRUE);
        sim_engine_stop(engine);
        return;
    }
    if (lost)
        res->preemptions++;
    /* Spot-only past the end of the trace can never progress again. */
    if (run->policy == SIM_TICK_SPOT_ONLY && idx >= trace->n) {
        __finish(run, FALSE);
        sim_engine_stop(engine);
        return;
    }

    /* 4. The policy proposes. */
    const double elapsed = (double)run->t * gap;
    const double rem_time = floor((run->deadline - elapsed) / gap) * gap;
    const double need = ceil((job->work - run->w + d) / gap) * gap;
    SimCluster req;
    gboolean safety_net = TRUE;
    switch (run->policy) {
    case SIM_TICK_ON_DEMAND:
        req = SIM_CLUSTER_ON_DEMAND;
        break;
    case SIM_TICK_UNIFORM_PROGRESS:
        req = __uniform_progress(run, has, elapsed, rem_time);
        break;
    case SIM_TICK_OFFLINE_OPTIMAL:
        req = run->t < run->plan_len ? (SimCluster)run->plan[run->t] : SIM_CLUSTER_ON_DEMAND;
        safety_net = FALSE;
        break;
    case SIM_TICK_SPOT_ONLY:
    case SIM_TICK_GREEDY:
    default:
        req = has ? SIM_CLUSTER_SPOT : SIM_CLUSTER_NONE;
        break;
    }

    /* 5. The safety net, 6. spot only where there is spot. */
    if (safety_net && need >= rem_time)
        req = last == SIM_CLUSTER_SPOT && run->r < EPS ? SIM_CLUSTER_SPOT : SIM_CLUSTER_ON_DEMAND;
    if (req == SIM_CLUSTER_SPOT && !has)
        req = safety_net && need >= rem_time ? SIM_CLUSTER_ON_DEMAND : SIM_CLUSTER_NONE;

    /* 7. Restart overhead for a launch or a switch. */
    SimCluster now = last == SIM_CLUSTER_SPOT && !has ? SIM_CLUSTER_NONE : last;
    if (now != req && req != SIM_CLUSTER_NONE) {
        run->r = d;
        res->launches++;
    }

    /* 8. A missed deadline needs no action here: the run goes on (the safety net keeps it on
     * demand) and deadline_met reports it. */

    /* 9. */
    run->cur = req;
    run->t++;
    sim_engine_schedule(engine, (gint64)run->t * run->gap_us, 0, __tick, run);
}

static void
__run_on_engine(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job,
                gsize start, SimTickPolicy policy, const guint8 *plan, gsize plan_len,
                SimTickResult *result)
{
    TickRun run = {
        .trace = trace,
        .job = job,
        .start = start,
        .policy = policy,
        .plan = plan,
        .plan_len = plan_len,
        .deadline = policy == SIM_TICK_SPOT_ONLY ? (double)INFINITY : job->deadline,
        .gap_us = llround(trace->gap * 1e6),
        .cur = SIM_CLUSTER_NONE,
        .result = result,
    };
    memset(result, 0, sizeof *result);
    sim_engine_reset(runner->engine);
    sim_engine_schedule(runner->engine, 0, 0, __tick, &run);
    sim_engine_run(runner->engine, SIM_TIME_NEVER);
}

/* ---- the offline optimum ------------------------------------------------------------------ */

static int
__dp_cmp(gconstpointer a, gconstpointer b)
{
    const DpState *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->r != y->r)
        return x->r < y->r ? -1 : 1;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1; /* more work first */
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    return x->parent < y->parent ? -1 : x->parent > y->parent;
}

/* Fills runner->plan with the cheapest schedule that meets the deadline; FALSE when none does.
 * States at tick t are (kind running during the tick that ends at t, pending overhead, work
 * done) with the least cost reaching them; a state is dropped when another with the same kind
 * and overhead has at least as much work for no more money. */
static gboolean
__offline_optimum(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job,
                  gsize start, double *cost)
{
    const double gap = trace->gap, d = job->overhead, C = job->work, D = job->deadline;
    GArray *states = runner->dp_states, *layer_at = runner->dp_layer_at;
    GArray *next = runner->dp_scratch;
    g_array_set_size(states, 0);
    g_array_set_size(layer_at, 0);

    DpState init = {0, 0, 0, G_MAXUINT32, SIM_CLUSTER_NONE};
    g_array_append_val(states, init);
    gsize at = 0;
    g_array_append_val(layer_at, at);

    double best = INFINITY;
    gsize best_tick = 0, best_index = 0;
    /* The last tick at which the work can be found done by the deadline. */
    const double last_tick = floor((D + EPS) / gap);

    for (gsize t = 0;; t++) {
        gsize from = g_array_index(layer_at, gsize, t);
        gsize to = states->len;
        if (from == to)
            break;
        const gsize idx = start + t;
        const gboolean has = __avail(trace, idx);
        const double elapsed = (double)t * gap;
        g_array_set_size(next, 0);

        for (gsize i = from; i < to; i++) {
            DpState s = g_array_index(states, DpState, i);
            SimCluster last = s.kind;
            if (last == SIM_CLUSTER_SPOT)
                s.cost += trace->price[idx - 1] * gap / 3600.0;
            else if (last == SIM_CLUSTER_ON_DEMAND)
                s.cost += trace->od_price * gap / 3600.0;
            if (s.cost >= best)
                continue;
            if (last != SIM_CLUSTER_NONE) {
                double step = MAX(gap - s.r, 0.0);
                s.r -= gap - step;
                if (s.r < EPS)
                    s.r = 0;
                s.w += MIN(step, C - s.w);
            }
            if (C - s.w <= EPS) {
                if (elapsed > D + EPS)
                    continue; /* done, but after the deadline */
                best = s.cost;
                best_tick = t;
                best_index = i;
                continue;
            }
            if (elapsed >= D)
                continue;
            SimCluster now = last == SIM_CLUSTER_SPOT && !has ? SIM_CLUSTER_NONE : last;
            for (int k = SIM_CLUSTER_NONE; k <= SIM_CLUSTER_ON_DEMAND; k++) {
                SimCluster req = (SimCluster)k;
                if (req == SIM_CLUSTER_SPOT && !has)
                    continue;
                DpState n = s;
                n.parent = (guint32)(i - from);
                n.kind = (guint8)req;
                if (req == SIM_CLUSTER_NONE)
                    n.r = 0; /* any later launch sets it to d anyway */
                else if (now != req)
                    n.r = d;
                /* Even running every remaining tick cannot finish in time. */
                if (req != SIM_CLUSTER_NONE &&
                    (last_tick - (double)t) * gap - n.r < (C - n.w) - EPS)
                    continue;
                if (req == SIM_CLUSTER_NONE &&
                    (last_tick - (double)t - 1) * gap - d < (C - n.w) - EPS)
                    continue;
                g_array_append_val(next, n);
            }
        }
        if (next->len == 0)
            break;
        g_array_sort(next, __dp_cmp);
        gsize begin = states->len;
        g_array_append_val(layer_at, begin);
        for (gsize i = 0; i < next->len; i++) {
            const DpState *n = &g_array_index(next, DpState, i);
            if (n->cost >= best)
                continue;
            /* Keep n unless the last kept state of its group has as much work for less. */
            if (states->len > begin) {
                const DpState *kept = &g_array_index(states, DpState, states->len - 1);
                if (kept->kind == n->kind && kept->r == n->r && kept->cost <= n->cost)
                    continue;
            }
            g_array_append_val(states, *n);
        }
    }
    if (isinf(best))
        return FALSE;
    *cost = best;

    /* Backtrack: the state found done at best_tick was reached by a choice at each earlier
     * tick; the choice made at tick t is the kind stored in the state of layer t + 1. */
    g_array_set_size(runner->plan, best_tick);
    gsize i = best_index;
    for (gsize t = best_tick; t > 0; t--) {
        const DpState *s = &g_array_index(states, DpState, i);
        g_array_index(runner->plan, guint8, t - 1) = s->kind;
        i = g_array_index(layer_at, gsize, t - 1) + s->parent;
    }
    return TRUE;
}

void
sim_tick_run(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job,
             gsize start, SimTickPolicy policy, SimTickResult *result)
{
    g_return_if_fail(runner != NULL && trace != NULL && job != NULL && result != NULL);
    g_return_if_fail(trace->gap > 0 && policy < SIM_TICK_N_POLICIES);

    if (policy != SIM_TICK_SPOT_ONLY && job->work + job->overhead > job->deadline) {
        memset(result, 0, sizeof *result);
        result->infeasible = TRUE;
        result->od_hours = (job->work + job->overhead) / 3600.0;
        result->od_cost = trace->od_price * (job->work + job->overhead) / 3600.0;
        result->cost = result->od_cost;
        result->finished = TRUE;
        result->finish_hours = result->od_hours;
        result->launches = 1;
        return;
    }
    if (policy == SIM_TICK_OFFLINE_OPTIMAL) {
        double planned = 0;
        if (!__offline_optimum(runner, trace, job, start, &planned)) {
            __run_on_engine(runner, trace, job, start, SIM_TICK_ON_DEMAND, NULL, 0, result);
            return;
        }
        __run_on_engine(runner, trace, job, start, policy, (const guint8 *)runner->plan->data,
                        runner->plan->len, result);
        /* The replay prices the plan with the same steps the search used. */
        g_assert(result->finished && result->deadline_met);
        g_assert(fabs(result->cost - planned) <= 1e-9 * MAX(1.0, planned));
        return;
    }
    __run_on_engine(runner, trace, job, start, policy, NULL, 0, result);
}
