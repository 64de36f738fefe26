/* spotlab: the deadline-aware tick model (see tick-model.h and reference-models.md). */
#include "tick-model.h"

#include <math.h>
#include <string.h>

/* The reference treats amounts of work or overhead below a millisecond as zero. */
#define EPS 1e-3

/* Windows up to this many ticks get the exact "k cheapest ticks" bound in the offline
 * optimum (a table of n^2/2 doubles: 16 MB at 2048 ticks, two weeks of 10-minute ticks). */
#define CHEAPEST_TABLE_MAX 2048

/* Pending-overhead values a kind's states are compared across (there are at most
 * ceil(d / gap) + 1 of them; beyond this many, fewer comparisons only keep more states). */
#define DP_MAX_GROUPS 16

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
    GArray *record; /* guint8 per tick: the cluster that ran it, when asked for; borrowed */
    /* Offline optimum: every layer of states, kept for backtracking. */
    GArray *dp_states;   /* DpState */
    GArray *dp_layer_at; /* gsize: index of each layer's first state */
    GArray *dp_scratch;  /* DpState */
    GArray *dp_bills;    /* double per tick: the cheapest bill of the tick */
    GArray *dp_cheapest; /* double: sums of the k cheapest bills from each tick on */
    GArray *dp_row_at;   /* gsize: where each tick's row of dp_cheapest starts */
    GArray *dp_spot_sum; /* double: spot bills of the ticks before t (0 where unavailable) */
    GArray *dp_spot_run; /* gsize: consecutive ticks with spot from t on */
    gsize dp_ticks;      /* ticks up to the deadline in the window being searched */
    gboolean dp_table;   /* dp_cheapest holds the full table */
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
    runner->dp_bills = g_array_new(FALSE, FALSE, sizeof(double));
    runner->dp_cheapest = g_array_new(FALSE, FALSE, sizeof(double));
    runner->dp_row_at = g_array_new(FALSE, FALSE, sizeof(gsize));
    runner->dp_spot_sum = g_array_new(FALSE, FALSE, sizeof(double));
    runner->dp_spot_run = g_array_new(FALSE, FALSE, sizeof(gsize));
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
    g_array_unref(runner->dp_bills);
    g_array_unref(runner->dp_cheapest);
    g_array_unref(runner->dp_row_at);
    g_array_unref(runner->dp_spot_sum);
    g_array_unref(runner->dp_spot_run);
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
    GArray *record;
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
    if (run->cur == SIM_CLUSTER_ON_DEMAND && (!has || (elapsed + 2 * d) * c0 / r0 - (c0 - ct) >= 0))
        req = SIM_CLUSTER_ON_DEMAND;
    double need1 = ceil((ct + d) / gap) * gap;
    double need2 = ceil((ct + 2 * d) / gap) * gap;
    if (need2 >= rem_time && run->cur != SIM_CLUSTER_SPOT)
        req = SIM_CLUSTER_ON_DEMAND;
    if (need1 >= rem_time) {
        req =
            run->cur == SIM_CLUSTER_SPOT && run->r < EPS ? SIM_CLUSTER_SPOT : SIM_CLUSTER_ON_DEMAND;
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
    if (run->record != NULL) {
        guint8 c = (guint8)req;
        g_array_append_val(run->record, c);
    }
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
        .record = runner->record,
    };
    memset(result, 0, sizeof *result);
    if (runner->record != NULL)
        g_array_set_size(runner->record, 0);
    sim_engine_reset(runner->engine);
    sim_engine_schedule(runner->engine, 0, 0, __tick, &run);
    sim_engine_run(runner->engine, SIM_TIME_NEVER);
}

void
sim_tick_runner_record(SimTickRunner *runner, GArray *clusters)
{
    runner->record = clusters;
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

/* Prepares the lower bounds of the search for a window: the cheapest bill of each tick up to
 * the deadline (spot where there is spot, else on demand), and cheapest[t][k], the least k
 * ticks from t on can cost: the sum of the k cheapest bills among ticks t..n_ticks-1 (rows of
 * n_ticks - t + 1 entries, packed). The table is quadratic in the window, so long windows fall
 * back to the cheapest single bill from t on, times k. */
static void
__dp_prepare(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job, gsize start)
{
    const double gap = trace->gap;
    const gsize n_ticks = (gsize)floor((job->deadline + EPS) / gap);
    runner->dp_ticks = n_ticks;
    runner->dp_table = n_ticks <= CHEAPEST_TABLE_MAX;
    GArray *bills = runner->dp_bills, *cheapest = runner->dp_cheapest, *row_at = runner->dp_row_at;
    g_array_set_size(bills, n_ticks);
    g_array_set_size(runner->dp_spot_sum, n_ticks + 1);
    g_array_set_size(runner->dp_spot_run, n_ticks + 1);
    double *spot_sum = (double *)(void *)runner->dp_spot_sum->data;
    gsize *spot_run = (gsize *)(void *)runner->dp_spot_run->data;
    spot_sum[0] = 0;
    for (gsize t = 0; t < n_ticks; t++) {
        double p = trace->od_price;
        gboolean has = __avail(trace, start + t);
        if (has)
            p = MIN(p, trace->price[start + t]);
        g_array_index(bills, double, t) = p * gap / 3600.0;
        spot_sum[t + 1] = spot_sum[t] + (has ? trace->price[start + t] * gap / 3600.0 : 0);
    }
    spot_run[n_ticks] = 0;
    for (gsize t = n_ticks; t-- > 0;)
        spot_run[t] = __avail(trace, start + t) ? spot_run[t + 1] + 1 : 0;
    if (!runner->dp_table) {
        g_array_set_size(cheapest, n_ticks + 1);
        double *min_bill = (double *)(void *)cheapest->data;
        min_bill[n_ticks] = INFINITY;
        for (gsize t = n_ticks; t-- > 0;)
            min_bill[t] = MIN(g_array_index(bills, double, t), min_bill[t + 1]);
        return;
    }
    g_array_set_size(row_at, n_ticks + 1);
    g_array_set_size(cheapest, (n_ticks + 1) * (n_ticks + 2) / 2);
    g_autofree double *sorted = g_new(double, n_ticks + 1);
    gsize len = 0, at_row = 0;
    for (gsize t = n_ticks + 1; t-- > 0;) {
        if (t < n_ticks) {
            /* Insert bill t into the sorted bills of the ticks after it. */
            double b = g_array_index(bills, double, t);
            gsize pos = len;
            while (pos > 0 && sorted[pos - 1] > b) {
                sorted[pos] = sorted[pos - 1];
                pos--;
            }
            sorted[pos] = b;
            len++;
        }
        g_array_index(row_at, gsize, t) = at_row;
        double *row = &g_array_index(cheapest, double, at_row);
        row[0] = 0;
        for (gsize k = 0; k < len; k++)
            row[k + 1] = row[k] + sorted[k];
        at_row += len + 1;
    }
}

/* The least that running @left seconds more can cost from tick @from on; INFINITY when the
 * ticks left before the deadline cannot hold it. */
static double
__dp_rest(const SimTickRunner *runner, double gap, gsize from, double left)
{
    gsize ticks = left > EPS ? (gsize)ceil((left - EPS) / gap) : 0;
    if (from > runner->dp_ticks || ticks > runner->dp_ticks - from)
        return INFINITY;
    if (runner->dp_table)
        return g_array_index(runner->dp_cheapest, double,
                             g_array_index(runner->dp_row_at, gsize, from) + ticks);
    return ticks ? (double)ticks * g_array_index(runner->dp_cheapest, double, from) : 0;
}

/* The least the rest of the work can cost from state @n, just chosen at tick @t. Either the
 * cluster chosen keeps running to the end (spot only while spot lasts), or some later launch
 * pays the overhead d again, and then all that is left plus d runs on the cheapest ticks
 * still on offer. INFINITY when neither fits before the deadline. */
static double
__dp_least_rest(const SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job,
                gsize t, const DpState *n)
{
    const double gap = trace->gap, left = job->work - n->w;
    if (n->kind == SIM_CLUSTER_NONE)
        return __dp_rest(runner, gap, t + 1, left + job->overhead);
    double relaunch = __dp_rest(runner, gap, t, left + job->overhead);
    gsize ticks = (gsize)ceil((left + n->r - EPS) / gap);
    if (t + ticks > runner->dp_ticks)
        return relaunch;
    double keep;
    if (n->kind == SIM_CLUSTER_ON_DEMAND) {
        keep = (double)ticks * (trace->od_price * gap / 3600.0);
    } else {
        const double *spot_sum = (const double *)(const void *)runner->dp_spot_sum->data;
        const gsize *spot_run = (const gsize *)(const void *)runner->dp_spot_run->data;
        keep = spot_run[t] >= ticks ? spot_sum[t + ticks] - spot_sum[t] : (double)INFINITY;
    }
    return MIN(keep, relaunch);
}

/* Drops, from the layer of states starting at @begin (grouped by kind and pending overhead,
 * each group a staircase of decreasing work and cost), every state that another state of
 * the same kind dominates across groups. State a dominates b when a has at least as much
 * work, at least as much work net of pending overhead, and costs no more: whatever b does
 * next (run on, switch, stop), a can do too and is never behind. Within a group net work
 * orders like work, which the staircase already used. */
static void
__dp_dominance(GArray *states, gsize begin)
{
    DpState *layer = &g_array_index(states, DpState, begin);
    gsize len = states->len - begin;
    gsize groups[DP_MAX_GROUPS + 1];
    gsize i = 0;
    g_autofree guint8 *drop = NULL;
    while (i < len) {
        /* The groups of one kind: [groups[g], groups[g + 1]). */
        gsize n_groups = 0, j = i;
        groups[0] = i;
        while (j < len && layer[j].kind == layer[i].kind) {
            if (j > i && layer[j].r != layer[j - 1].r) {
                if (n_groups + 1 == DP_MAX_GROUPS)
                    break;
                groups[++n_groups] = j;
            }
            j++;
        }
        groups[++n_groups] = j;
        for (gsize g = 0; g < n_groups && n_groups > 1; g++) {
            for (gsize k = groups[g]; k < groups[g + 1]; k++) {
                const DpState *b = &layer[k];
                for (gsize h = 0; h < n_groups; h++) {
                    if (h == g)
                        continue;
                    /* The least work a dominating state of group h needs. */
                    double need = b->w + MAX(0.0, layer[groups[h]].r - b->r);
                    gsize lo = groups[h], hi = groups[h + 1];
                    while (lo < hi) {
                        gsize mid = lo + (hi - lo) / 2;
                        if (layer[mid].w >= need)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    if (lo > groups[h] && layer[lo - 1].cost <= b->cost) {
                        if (drop == NULL)
                            drop = g_new0(guint8, len);
                        drop[k] = 1;
                        break;
                    }
                }
            }
        }
        i = j;
    }
    if (drop == NULL)
        return;
    gsize out = 0;
    for (gsize k = 0; k < len; k++)
        if (!drop[k])
            layer[out++] = layer[k];
    g_array_set_size(states, begin + out);
}

/* Searches for the cheapest schedule that meets the deadline and costs at most @bound (less
 * than @bound when @strict); fills runner->plan and returns TRUE when there is one.
 *
 * States at tick t are (kind running during the tick that ends at t, pending overhead, work
 * done) with the least cost reaching them; a state is dropped when another with the same kind
 * and overhead has at least as much work for no more money, and when its cost plus the least
 * its remaining work can cost (__dp_rest) exceeds @bound or the best schedule found so far.
 * The bound never cuts a schedule within it, so a search that finds nothing proves the
 * optimum costs more than @bound. */
static gboolean
__dp_search(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job, gsize start,
            double bound, gboolean strict, double *cost)
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
    /* Costs are sums of the same terms in different orders: allow for rounding. A strict
     * search only keeps what could beat the bound by more than that. */
    const double tol = (strict ? -1e-9 : 1e-9) * MAX(1.0, fabs(bound));
#define OVER(c) ((c) > bound + tol)

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
            if (OVER(s.cost))
                continue;
            if (last != SIM_CLUSTER_NONE) {
                double step = MAX(gap - s.r, 0.0);
                s.r -= gap - step;
                if (s.r < EPS)
                    s.r = 0;
                s.w += MIN(step, C - s.w);
            }
            if (C - s.w <= EPS) {
                if (elapsed > D + EPS || s.cost >= best)
                    continue; /* done after the deadline, or no cheaper */
                best = s.cost;
                bound = MIN(bound, best);
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
                if (OVER(n.cost + __dp_least_rest(runner, trace, job, t, &n)))
                    continue;
                g_array_append_val(next, n);
            }
        }
        if (next->len == 0)
            break;
        g_array_sort(next, __dp_cmp);
        gsize begin = states->len;
        g_array_append_val(layer_at, begin);
        /* Within each (kind, overhead) group, sorted by decreasing work, keep the states that
         * cost strictly less than every state kept before them: a staircase. */
        for (gsize i = 0; i < next->len; i++) {
            const DpState *n = &g_array_index(next, DpState, i);
            if (OVER(n->cost))
                continue;
            if (states->len > begin) {
                const DpState *kept = &g_array_index(states, DpState, states->len - 1);
                if (kept->kind == n->kind && kept->r == n->r && kept->cost <= n->cost)
                    continue;
            }
            g_array_append_val(states, *n);
        }
        __dp_dominance(states, begin);
    }
#undef OVER
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

/* Fills runner->plan with a schedule that meets the deadline for less than @upper, the cost of
 * a schedule known to meet it (the best online policy's; INFINITY when none did), and returns
 * TRUE; FALSE when no schedule is cheaper. The strict bound keeps the search small: every
 * state that cannot beat the known schedule is dropped, so when that schedule is already
 * optimal (a run that had to stay on demand, say) little is searched. */
static gboolean
__offline_optimum(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job,
                  gsize start, double upper, double *cost)
{
    __dp_prepare(runner, trace, job, start);
    return __dp_search(runner, trace, job, start, upper, isfinite(upper), cost);
}

void
sim_tick_run(SimTickRunner *runner, const SimTickTrace *trace, const SimTickJob *job, gsize start,
             SimTickPolicy policy, SimTickResult *result)
{
    g_return_if_fail(runner != NULL && trace != NULL && job != NULL && result != NULL);
    g_return_if_fail(trace->gap > 0 && policy < SIM_TICK_N_POLICIES);
    if (runner->record != NULL)
        g_array_set_size(runner->record, 0);

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
        /* The best online schedule that meets the deadline bounds the search from above;
         * when nothing beats it, it is the optimum. */
        double upper = INFINITY;
        SimTickPolicy upper_policy = SIM_TICK_ON_DEMAND;
        for (int p = SIM_TICK_ON_DEMAND; p <= SIM_TICK_UNIFORM_PROGRESS; p++) {
            if (p == SIM_TICK_SPOT_ONLY)
                continue;
            __run_on_engine(runner, trace, job, start, (SimTickPolicy)p, NULL, 0, result);
            if (result->deadline_met && result->cost < upper) {
                upper = result->cost;
                upper_policy = (SimTickPolicy)p;
            }
        }
        double planned = 0;
        if (!__offline_optimum(runner, trace, job, start, upper, &planned)) {
            /* No schedule beats the best online one (or none meets the deadline at all, and
             * on demand is what the job falls back to). */
            __run_on_engine(runner, trace, job, start, upper_policy, NULL, 0, result);
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
