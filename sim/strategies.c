/* spotlab: the built-in strategy classes (see cloud-model.h and docs/cloud-model.md). */
#include "cloud-model.h"

#include <math.h>
#include <string.h>

#define USEC 1000000.0

/* ---- markets --------------------------------------------------------------------------------- */

static SimMarket
__on_demand(const SimStrategy *s, SimWorld *w, guint unit, gboolean spot_possible)
{
    (void)s, (void)w, (void)unit, (void)spot_possible;
    return SIM_MARKET_ON_DEMAND;
}

static SimMarket
__spot(const SimStrategy *s, SimWorld *w, guint unit, gboolean spot_possible)
{
    (void)s, (void)w, (void)unit;
    return spot_possible ? SIM_MARKET_SPOT : SIM_MARKET_WAIT;
}

static SimMarket
__hybrid(const SimStrategy *s, SimWorld *w, guint unit, gboolean spot_possible)
{
    /* The first units (rounded to the nearest) form the on-demand base; the rest burst on spot
     * when there is spot. A job of one gang is split inside the gang instead (the model does
     * that when it requests the instances). */
    if (sim_world_n_units(w) == 1 && sim_world_model(w)->job.gang > 1)
        return spot_possible ? SIM_MARKET_SPOT : SIM_MARKET_WAIT;
    guint base = (guint)floor(s->on_demand_fraction * sim_world_n_units(w) + 0.5);
    if (unit < base)
        return SIM_MARKET_ON_DEMAND;
    return spot_possible ? SIM_MARKET_SPOT : SIM_MARKET_WAIT;
}

/* The safety net of the deadline-aware policies: move to on demand when the time left, less one
 * decision interval, no longer covers moving there now (saving the work or redoing what cannot
 * be saved, one restart, the rest of the work). */
static gboolean
__must_run_on_demand(const SimStrategy *s, SimWorld *w, guint unit)
{
    SimTime left = sim_world_time_to_deadline(w);
    if (left == SIM_TIME_NEVER)
        return FALSE;
    int pool = s->placement->choose(s, w, unit, SIM_MARKET_ON_DEMAND);
    guint p = pool >= 0 ? (guint)pool : s->pools[0];
    double need = sim_world_unit_move_seconds(w, unit, p) + (double)s->decision_interval / USEC;
    return (double)left / USEC <= need;
}

static SimMarket
__greedy(const SimStrategy *s, SimWorld *w, guint unit, gboolean spot_possible)
{
    if (__must_run_on_demand(s, w, unit))
        return SIM_MARKET_ON_DEMAND;
    return spot_possible ? SIM_MARKET_SPOT : SIM_MARKET_WAIT;
}

static gboolean
__leave_spot(const SimStrategy *s, SimWorld *w, guint unit)
{
    return __must_run_on_demand(s, w, unit);
}

/* Uniform progress in continuous time: progress should keep up with the straight line from
 * nothing at the start to all the work at the deadline. Behind it, on-demand capacity makes up
 * when spot is missing; once on demand, the unit stays there while spot is missing or while it
 * is less than two restarts ahead of the line. */
static SimMarket
__uniform_progress(const SimStrategy *s, SimWorld *w, guint unit, gboolean spot_possible)
{
    if (__must_run_on_demand(s, w, unit))
        return SIM_MARKET_ON_DEMAND;
    SimTime deadline = sim_world_model(w)->job.deadline;
    if (deadline <= 0)
        return spot_possible ? SIM_MARKET_SPOT : SIM_MARKET_WAIT;
    double line = (double)sim_world_now(w) / (double)deadline;
    double progress = sim_world_progress(w);
    double restart = sim_world_restart_seconds(w, s->pools[0]) * USEC / (double)deadline;
    if (sim_world_unit_last_market(w, unit) == SIM_MARKET_ON_DEMAND &&
        (!spot_possible || progress - line < 2 * restart))
        return SIM_MARKET_ON_DEMAND;
    if (spot_possible)
        return SIM_MARKET_SPOT;
    return progress < line ? SIM_MARKET_ON_DEMAND : SIM_MARKET_WAIT;
}

static const SimMarketClass markets[] = {
    {"on-demand", __on_demand, NULL},
    {"spot", __spot, NULL},
    {"hybrid", __hybrid, NULL},
    {"greedy", __greedy, __leave_spot},
    {"uniform-progress", __uniform_progress, __leave_spot},
};

/* ---- placements ------------------------------------------------------------------------------ */

static gboolean
__has_spot(SimWorld *w, guint pool)
{
    return sim_world_pool_free_capacity(w, pool) > 0;
}

/* A price per instance-hour as a price for the work: times the step time of the pool's
 * instance type, so a cheap but slow type is not mistaken for a bargain. Among pools of one
 * type this orders exactly as the price. */
static double
__for_work(SimWorld *w, guint pool, double price)
{
    const SimModel *m = sim_world_model(w);
    return price * sim_job_step_seconds(&m->job, sim_model_pool(m, pool)->instance_type);
}

static int
__cheapest_on_demand(const SimStrategy *s, SimWorld *w)
{
    const SimModel *m = sim_world_model(w);
    int best = -1;
    double best_price = INFINITY;
    for (guint k = 0; k < s->n_pools; k++) {
        guint p = s->pools[k];
        double price = __for_work(w, p, sim_model_pool(m, p)->on_demand_price);
        if (price < best_price) {
            best_price = price;
            best = (int)p;
        }
    }
    return best;
}

static int
__first(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market)
{
    (void)unit;
    if (market == SIM_MARKET_ON_DEMAND)
        return (int)s->pools[0];
    for (guint k = 0; k < s->n_pools; k++)
        if (__has_spot(w, s->pools[k]))
            return (int)s->pools[k];
    return -1;
}

static int
__lowest_price(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market)
{
    (void)unit;
    if (market == SIM_MARKET_ON_DEMAND)
        return __cheapest_on_demand(s, w);
    int best = -1;
    double best_price = INFINITY;
    for (guint k = 0; k < s->n_pools; k++) {
        guint p = s->pools[k];
        if (!__has_spot(w, p))
            continue;
        double price = __for_work(w, p, sim_world_pool_price(w, p));
        if (price < best_price) {
            best_price = price;
            best = (int)p;
        }
    }
    return best;
}

static int
__capacity_aware(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market)
{
    (void)unit;
    if (market == SIM_MARKET_ON_DEMAND)
        return __cheapest_on_demand(s, w);
    /* The most spare capacity, then the lowest current risk, then the lowest price. */
    int best = -1;
    guint best_free = 0;
    double best_risk = INFINITY, best_price = INFINITY;
    for (guint k = 0; k < s->n_pools; k++) {
        guint p = s->pools[k];
        guint free_cap = sim_world_pool_free_capacity(w, p);
        if (free_cap == 0)
            continue;
        double risk = sim_world_pool_recent_rate(w, p, s->price_lookback);
        if (isnan(risk))
            risk = 0;
        double price = __for_work(w, p, sim_world_pool_price(w, p));
        gboolean better = best < 0 || free_cap > best_free ||
                          (free_cap == best_free &&
                           (risk < best_risk || (risk == best_risk && price < best_price)));
        if (better) {
            best = (int)p;
            best_free = free_cap;
            best_risk = risk;
            best_price = price;
        }
    }
    return best;
}

static int
__spread(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market)
{
    /* A fleet spread evenly over the pools (EC2 Fleet's "diversified" allocation): the pool
     * with capacity holding the fewest of the job's instances, then the lowest price for the
     * work, so that one pool's reclaim takes a slice of the fleet, not all of it. */
    (void)unit;
    int best = -1;
    guint best_count = G_MAXUINT;
    double best_price = INFINITY;
    for (guint k = 0; k < s->n_pools; k++) {
        guint p = s->pools[k];
        if (market == SIM_MARKET_SPOT && !__has_spot(w, p))
            continue;
        guint count = sim_world_pool_instances(w, p);
        double price = __for_work(w, p,
                                  market == SIM_MARKET_SPOT
                                      ? sim_world_pool_price(w, p)
                                      : sim_model_pool(sim_world_model(w), p)->on_demand_price);
        if (count < best_count || (count == best_count && price < best_price)) {
            best = (int)p;
            best_count = count;
            best_price = price;
        }
    }
    return best;
}

static int
__failover(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market)
{
    /* Stay where the unit ran until it is interrupted there; then move to the next pool of the
     * list (another zone, region or cloud), round the list. */
    int last = sim_world_unit_last_pool(w, unit);
    guint from = 0;
    for (guint k = 0; last >= 0 && k < s->n_pools; k++)
        if (s->pools[k] == (guint)last)
            from = (k + 1) % s->n_pools;
    if (market == SIM_MARKET_ON_DEMAND)
        return (int)s->pools[from];
    for (guint k = 0; k < s->n_pools; k++) {
        guint p = s->pools[(from + k) % s->n_pools];
        if (__has_spot(w, p))
            return (int)p;
    }
    return -1;
}

static int
__price_predictive(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market)
{
    (void)unit;
    if (market == SIM_MARKET_ON_DEMAND)
        return __cheapest_on_demand(s, w);
    /* The lowest price predicted for the hours ahead: the mean of the recorded price over the
     * look-back, which smooths out short spikes the current price would chase. */
    int best = -1;
    double best_price = INFINITY;
    for (guint k = 0; k < s->n_pools; k++) {
        guint p = s->pools[k];
        if (!__has_spot(w, p))
            continue;
        double price = __for_work(w, p, sim_world_pool_mean_price(w, p, s->price_lookback));
        if (price < best_price) {
            best_price = price;
            best = (int)p;
        }
    }
    return best;
}

static int
__arbitrage(const SimStrategy *s, SimWorld *w, guint unit, SimMarket market)
{
    /* Across clouds: the lowest total of running the remaining work at the pool's price plus
     * moving the checkpoint there and back (egress), the cost of going where it is cheap. */
    const SimModel *m = sim_world_model(w);
    const SimJob *job = &m->job;
    int best = -1;
    double best_cost = INFINITY;
    for (guint k = 0; k < s->n_pools; k++) {
        guint p = s->pools[k];
        if (market == SIM_MARKET_SPOT && !__has_spot(w, p))
            continue;
        const SimPool *pool = sim_model_pool(m, p);
        double hours = sim_world_unit_remaining_seconds(w, unit, p) / 3600.0 * job->gang;
        double price =
            market == SIM_MARKET_SPOT ? sim_world_pool_price(w, p) : pool->on_demand_price;
        double egress = sim_model_egress_per_gb(m, p);
        double cost = hours * price + 2 * egress * job->checkpoint_gb;
        if (cost < best_cost) {
            best_cost = cost;
            best = (int)p;
        }
    }
    return best;
}

static const SimPlacementClass placements[] = {
    {"first", __first},
    {"lowest-price", __lowest_price},
    {"capacity-aware", __capacity_aware},
    {"spread", __spread},
    {"failover", __failover},
    {"price-predictive", __price_predictive},
    {"arbitrage", __arbitrage},
};

/* ---- checkpoints ----------------------------------------------------------------------------- */

static SimTime
__no_checkpoints(const SimStrategy *s, SimWorld *w, guint unit)
{
    (void)s, (void)w, (void)unit;
    return 0;
}

static SimTime
__periodic(const SimStrategy *s, SimWorld *w, guint unit)
{
    (void)w, (void)unit;
    return s->checkpoint_interval;
}

/* Daly's first-order optimum for a checkpoint cost C and a mean time between failures M:
 * sqrt(2 C M) - C while C < M / 2, else M (Young's formula without the correction). The
 * failures that count are those of the unit's spot instances (on-demand members are never
 * reclaimed) that destroy work: with a checkpoint on notice that fits in the notice, only
 * reclaims whose notice is missed or comes too late. When none can, the interval is the
 * strategy's longest (checkpoint_max): periodic checkpoints then only guard against what the
 * model does not know. */
static SimTime
__young_daly_for(const SimStrategy *s, SimWorld *w, guint unit, double rate_per_hour)
{
    const SimModel *m = sim_world_model(w);
    const SimJob *job = &m->job;
    /* The write as the unit's pool sees it: a store in another region or zone adds the
     * transfer, both to the cost of a checkpoint and to whether one fits in a notice. */
    int last = sim_world_unit_last_pool(w, unit);
    guint pool = last >= 0 ? (guint)last : s->pools[0];
    double c = sim_world_write_seconds(w, pool);
    if (c <= 0)
        return 0;
    double exposure = sim_world_unit_spot_instances(w, unit);
    if (exposure == 0 && sim_world_unit_last_market(w, unit) == SIM_MARKET_SPOT)
        exposure = job->gang; /* not placed yet: plan for an all-spot gang */
    double harmful = 1;
    if (s->emergency_checkpoint) {
        const SimCloud *cloud = &m->clouds[sim_model_pool(m, pool)->cloud];
        gboolean fits = (double)(cloud->notice_lead - cloud->notice_late) / USEC >= c;
        harmful = fits ? cloud->notice_missed : 1;
    }
    double rate = rate_per_hour * exposure * harmful;
    if (!(rate > 0))
        return s->checkpoint_max;
    double mtbf = 3600.0 / rate;
    double tau = c < mtbf / 2 ? sqrt(2 * c * mtbf) - c : mtbf;
    return MIN((SimTime)llround(MAX(tau, 1.0) * USEC), MAX(s->checkpoint_max, (SimTime)USEC));
}

static SimTime
__young_daly(const SimStrategy *s, SimWorld *w, guint unit)
{
    double rate = s->assumed_rate_per_hour;
    if (isnan(rate)) {
        /* Measured, starting from what the pool's trace or hazard model states: a gamma prior
         * worth one interruption at that rate, updated with the reclaims and spot hours seen.
         * One early reclaim then moves the estimate, but does not make it explode. */
        int pool = sim_world_unit_last_pool(w, unit);
        double prior = sim_world_pool_rate(w, pool >= 0 ? (guint)pool : s->pools[0]);
        double hours = sim_world_spot_hours(w);
        guint seen = sim_world_reclaims(w);
        if (prior > 0)
            rate = (seen + 1.0) / (hours + 1.0 / prior);
        else
            rate = hours > 0 ? seen / hours : 0;
    }
    return __young_daly_for(s, w, unit, rate);
}

static SimTime
__adaptive(const SimStrategy *s, SimWorld *w, guint unit)
{
    /* The Young/Daly interval for the risk now: the pool's recent interruption rate (its
     * hazard at this hour and day for hazard pools), within the strategy's bounds. */
    int pool = sim_world_unit_last_pool(w, unit);
    double rate =
        sim_world_pool_recent_rate(w, pool >= 0 ? (guint)pool : s->pools[0], s->price_lookback);
    SimTime tau = __young_daly_for(s, w, unit, rate > 0 ? rate : 0);
    if (tau == 0)
        tau = s->checkpoint_max;
    return CLAMP(tau, s->checkpoint_min, s->checkpoint_max);
}

static const SimCheckpointClass checkpoints[] = {
    {"none", __no_checkpoints},
    {"periodic", __periodic},
    {"young-daly", __young_daly},
    {"adaptive", __adaptive},
};

/* ---- lookup ---------------------------------------------------------------------------------- */

#define LOOKUP(table, name)                                                                        \
    for (gsize i = 0; i < G_N_ELEMENTS(table); i++)                                                \
        if (g_strcmp0(table[i].name, name) == 0)                                                   \
            return &table[i];                                                                      \
    return NULL

const SimMarketClass *
sim_market_class(const char *name)
{
    LOOKUP(markets, name);
}

const SimPlacementClass *
sim_placement_class(const char *name)
{
    LOOKUP(placements, name);
}

const SimCheckpointClass *
sim_checkpoint_class(const char *name)
{
    LOOKUP(checkpoints, name);
}

const char *const *
sim_market_class_names(void)
{
    static const char *const names[] = {"on-demand",        "spot", "hybrid", "greedy",
                                        "uniform-progress", NULL};
    return names;
}

const char *const *
sim_placement_class_names(void)
{
    static const char *const names[] = {"first",    "lowest-price",     "capacity-aware",
                                        "failover", "price-predictive", "arbitrage",
                                        NULL};
    return names;
}

const char *const *
sim_checkpoint_class_names(void)
{
    static const char *const names[] = {"none", "periodic", "young-daly", "adaptive", NULL};
    return names;
}
