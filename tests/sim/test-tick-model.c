/* The tick model on small traces whose costs are worked out by hand (one-hour ticks, spot at
 * $1/h, on demand at $3/h unless stated), and properties of the offline optimum on random
 * traces. The reference itself is checked by tests/conformance. */
#include "rng.h"
#include "test-util.h"
#include "tick-model.h"

#include <string.h>

#define H 3600.0

typedef struct {
    guint8 avail[256];
    double price[256];
    SimTickTrace tr;
} Fixture;

/* A trace from a string of '1' (spot available) and '0', one-hour ticks. */
static void
__fixture(Fixture *f, const char *pattern, double spot, double od)
{
    gsize n = strlen(pattern);
    g_assert(n <= G_N_ELEMENTS(f->avail));
    for (gsize i = 0; i < n; i++) {
        f->avail[i] = pattern[i] == '1';
        f->price[i] = spot;
    }
    f->tr = (SimTickTrace){H, n, f->avail, f->price, od};
}

static SimTickResult
__run(Fixture *f, double work_h, double deadline_h, double overhead_h, gsize start,
      SimTickPolicy policy)
{
    g_autoptr(SimTickRunner) runner = sim_tick_runner_new();
    SimTickJob job = {work_h * H, deadline_h * H, overhead_h * H};
    SimTickResult r;
    sim_tick_run(runner, &f->tr, &job, start, policy, &r);
    return r;
}

static void
test_on_demand(void)
{
    /* Launch at tick 0 and run three ticks: 3 x $3. */
    Fixture f;
    __fixture(&f, "1111111111", 1, 3);
    SimTickResult r = __run(&f, 3, 10, 0, 0, SIM_TICK_ON_DEMAND);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.od_hours, 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 3, 1e-12);
    CU_ASSERT_TRUE(r.finished && r.deadline_met && !r.infeasible);
    CU_ASSERT_EQUAL(r.launches, 1);
    CU_ASSERT_EQUAL(r.preemptions, 0);
}

static void
test_overhead_longer_than_a_tick(void)
{
    /* d = 1.5 h: tick 1 is all overhead (r 1.5 -> 0.5), tick 2 gives 0.5 h of work, ticks 3
     * and 4 give the remaining 1.5 h. Four spot ticks at $1, done at hour 4. */
    Fixture f;
    __fixture(&f, "1111111111", 1, 3);
    SimTickResult r = __run(&f, 2, 10, 1.5, 0, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.spot_hours, 4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 4, 1e-12);
    CU_ASSERT_EQUAL(r.launches, 1);
}

static void
test_preempted_while_overhead_pending(void)
{
    /* d = 3 h, spot at ticks 0-1, gone at 2, back from 3. Launch at 0; ticks 1 and 2 burn 2 h
     * of overhead; the loss at tick 2 drops the last hour of it. Relaunch at 3 pays the full
     * 3 h again (ticks 4-6), and tick 7 does the hour of work: 6 spot ticks = $6, done at 7. */
    Fixture f;
    __fixture(&f, "11011111111111111111", 1, 3);
    SimTickResult r = __run(&f, 1, 20, 3, 0, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 7, 1e-12);
    CU_ASSERT_EQUAL(r.preemptions, 1);
    CU_ASSERT_EQUAL(r.launches, 2);

    /* d = 1.5 h: the tick before the loss still credits 0.5 h of work; relaunch at 3, 0.5 h
     * more at tick 5 and the last hour at 6: $5 on spot, done at hour 6. */
    r = __run(&f, 2, 10, 1.5, 0, SIM_TICK_GREEDY);
    Fixture g;
    __fixture(&g, "1101111111", 1, 3);
    r = __run(&g, 2, 10, 1.5, 0, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 6, 1e-12);
    CU_ASSERT_EQUAL(r.preemptions, 1);
    CU_ASSERT_EQUAL(r.launches, 2);
}

static void
test_safety_net(void)
{
    /* No spot: greedy waits until the remaining time (3 h at tick 2) equals the time needed
     * (3 h), then runs on demand: $9, done exactly at the deadline. */
    Fixture f;
    __fixture(&f, "0000000000", 1, 3);
    SimTickResult r = __run(&f, 3, 5, 0, 0, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 5, 1e-12);
    CU_ASSERT_TRUE(r.deadline_met);
    CU_ASSERT_DOUBLE_EQUAL(r.spot_hours, 0, 1e-12);

    /* With d = 1 h the net moves to on demand at tick 1; at tick 2 spot appears, but the net
     * keeps on demand because switching would cost another hour: 3 ticks on demand = $9. */
    Fixture g;
    __fixture(&g, "0011111111", 1, 3);
    r = __run(&g, 2, 4, 1, 0, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.od_hours, 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.spot_hours, 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 4, 1e-12);
    CU_ASSERT_TRUE(r.deadline_met);
    CU_ASSERT_EQUAL(r.launches, 1);
}

static void
test_end_of_trace(void)
{
    /* Four hours of spot, then the trace ends: past it spot is unavailable. Greedy loses the
     * cluster at tick 4 with 4 h done, idles until the net moves it to on demand at tick 9
     * (1 h left, 1 h remaining), finishes at 10: $4 + $3. */
    Fixture f;
    __fixture(&f, "1111", 1, 3);
    SimTickResult r = __run(&f, 5, 10, 0, 0, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 7, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 10, 1e-12);
    CU_ASSERT_EQUAL(r.preemptions, 1);
    CU_ASSERT_TRUE(r.deadline_met);
    /* Spot-only stops at the end of the trace with the work unfinished: it paid $4. */
    r = __run(&f, 5, 10, 0, 0, SIM_TICK_SPOT_ONLY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 4, 1e-12);
    CU_ASSERT_FALSE(r.finished);
    CU_ASSERT_FALSE(r.deadline_met);
    CU_ASSERT(isnan(r.finish_hours));
    /* A start offset reads later ticks: from tick 2 two spot hours remain, just enough. The
     * cluster is released with the work done, which is no preemption. */
    r = __run(&f, 2, 10, 0, 2, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(r.cost, 2, 1e-12);
    CU_ASSERT_EQUAL(r.preemptions, 0);
}

static void
test_infeasible(void)
{
    /* C + d = 6 h > D = 5.5 h: every policy but spot-only reports it infeasible, priced as
     * 6 h on demand. */
    Fixture f;
    __fixture(&f, "1111111111", 1, 3);
    for (int p = 0; p < SIM_TICK_N_POLICIES; p++) {
        SimTickResult r = __run(&f, 5, 5.5, 1, 0, (SimTickPolicy)p);
        if (p == SIM_TICK_SPOT_ONLY) {
            CU_ASSERT_FALSE(r.infeasible);
            CU_ASSERT_TRUE(r.finished);
            CU_ASSERT_FALSE(r.deadline_met); /* done at hour 6 */
            CU_ASSERT_DOUBLE_EQUAL(r.cost, 6, 1e-12);
            continue;
        }
        CU_ASSERT_TRUE(r.infeasible);
        CU_ASSERT_FALSE(r.deadline_met);
        CU_ASSERT_DOUBLE_EQUAL(r.cost, 18, 1e-12);
    }
}

static void
test_uniform_progress_goes_early(void)
{
    /* Spot only from tick 3; C = 2 h, D = 6 h. Uniform progress falls behind its line at tick 1
     * and runs on demand at once ($6, done at 3); greedy waits for spot ($2, done at 5). */
    Fixture f;
    __fixture(&f, "0001111111", 1, 3);
    SimTickResult up = __run(&f, 2, 6, 0, 0, SIM_TICK_UNIFORM_PROGRESS);
    CU_ASSERT_DOUBLE_EQUAL(up.cost, 6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(up.finish_hours, 3, 1e-12);
    SimTickResult gr = __run(&f, 2, 6, 0, 0, SIM_TICK_GREEDY);
    CU_ASSERT_DOUBLE_EQUAL(gr.cost, 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(gr.finish_hours, 5, 1e-12);
    SimTickResult opt = __run(&f, 2, 6, 0, 0, SIM_TICK_OFFLINE_OPTIMAL);
    CU_ASSERT_DOUBLE_EQUAL(opt.cost, 2, 1e-12);
}

static void
test_offline_optimum_beats_both(void)
{
    /* Spot at tick 0 only, then not until 5; C = 2 h, D = 7 h, d = 1 h. Greedy and uniform
     * progress both launch on spot at 0, lose it with only overhead done, and pay 3 more ticks
     * on demand: $1 + $9. The optimum never touches that tick: it launches on demand at 3
     * (overhead during tick 4, an hour of work during 5), switches to spot when it returns at
     * 5 (overhead during 6, the last hour during 7) and is done at the deadline: $6 + $2. */
    Fixture f;
    __fixture(&f, "1000011111", 1, 3);
    SimTickResult gr = __run(&f, 2, 7, 1, 0, SIM_TICK_GREEDY);
    SimTickResult up = __run(&f, 2, 7, 1, 0, SIM_TICK_UNIFORM_PROGRESS);
    SimTickResult opt = __run(&f, 2, 7, 1, 0, SIM_TICK_OFFLINE_OPTIMAL);
    CU_ASSERT_DOUBLE_EQUAL(gr.cost, 10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(up.cost, 10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(opt.cost, 8, 1e-12);
    CU_ASSERT_TRUE(opt.deadline_met);
    CU_ASSERT_DOUBLE_EQUAL(opt.finish_hours, 7, 1e-12);
    CU_ASSERT_EQUAL(opt.preemptions, 0);
    CU_ASSERT_EQUAL(opt.launches, 2);
    CU_ASSERT_DOUBLE_EQUAL(opt.spot_hours, 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(opt.od_hours, 2, 1e-12);
}

static void
test_offline_optimum_uses_cheap_ticks(void)
{
    /* Varying spot prices, always available: the optimum idles through the $5 ticks and runs
     * on the $1 ones, where greedy runs from the start. C = 2 h, D = 6 h, d = 0. */
    Fixture f;
    __fixture(&f, "111111", 1, 10);
    double prices[] = {5, 5, 1, 1, 5, 5};
    memcpy(f.price, prices, sizeof prices);
    SimTickResult gr = __run(&f, 2, 6, 0, 0, SIM_TICK_GREEDY);
    SimTickResult opt = __run(&f, 2, 6, 0, 0, SIM_TICK_OFFLINE_OPTIMAL);
    CU_ASSERT_DOUBLE_EQUAL(gr.cost, 10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(opt.cost, 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(opt.finish_hours, 4, 1e-12);
}

static void
test_offline_optimum_bounds_random(void)
{
    /* On random traces the optimum meets the deadline and costs no more than any online
     * policy that met it. */
    SimRng rng;
    sim_rng_init(&rng, 2025);
    g_autoptr(SimTickRunner) runner = sim_tick_runner_new();
    guint strictly_better = 0;
    for (int trial = 0; trial < 300; trial++) {
        Fixture f;
        gsize n = 30 + sim_rng_below(&rng, 60);
        double p_up = 0.3 + 0.65 * sim_rng_double(&rng);
        gboolean up = TRUE;
        for (gsize i = 0; i < n; i++) {
            if (sim_rng_double(&rng) > p_up)
                up = !up;
            f.avail[i] = up;
            f.price[i] = 0.5 + sim_rng_below(&rng, 4) * 0.25;
        }
        f.tr = (SimTickTrace){600, n, f.avail, f.price, 3.0};
        double work = (2 + (double)sim_rng_below(&rng, 12)) * 600 + sim_rng_below(&rng, 600);
        SimTickJob job = {work, work * (1.2 + sim_rng_double(&rng)),
                          (double)sim_rng_below(&rng, 3) * 450};
        if (job.work + job.overhead > job.deadline)
            continue;
        SimTickResult opt;
        sim_tick_run(runner, &f.tr, &job, 0, SIM_TICK_OFFLINE_OPTIMAL, &opt);
        double best_online = INFINITY;
        for (int p = SIM_TICK_ON_DEMAND; p <= SIM_TICK_UNIFORM_PROGRESS; p++) {
            if (p == SIM_TICK_SPOT_ONLY)
                continue;
            SimTickResult r;
            sim_tick_run(runner, &f.tr, &job, 0, (SimTickPolicy)p, &r);
            if (r.deadline_met) {
                CU_ASSERT(opt.deadline_met);
                CU_ASSERT(opt.cost <= r.cost + 1e-9);
                best_online = fmin(best_online, r.cost);
            }
        }
        strictly_better += opt.cost < best_online - 1e-9;
    }
    /* The search is not just reproducing a heuristic. */
    CU_ASSERT(strictly_better > 10);
}

static void
test_runner_reuse_is_deterministic(void)
{
    /* One runner used for many runs in any order gives the same results as fresh runners. */
    Fixture f;
    __fixture(&f, "1101100111010011101111000111", 0.8, 3);
    SimTickJob job = {5 * H, 12 * H, 0.3 * H};
    g_autoptr(SimTickRunner) shared = sim_tick_runner_new();
    for (int round = 0; round < 3; round++) {
        for (int p = SIM_TICK_N_POLICIES - 1; p >= 0; p--) {
            for (gsize s = 0; s < 10; s++) {
                SimTickResult a, b;
                sim_tick_run(shared, &f.tr, &job, s, (SimTickPolicy)p, &a);
                g_autoptr(SimTickRunner) fresh = sim_tick_runner_new();
                sim_tick_run(fresh, &f.tr, &job, s, (SimTickPolicy)p, &b);
                CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
            }
        }
    }
}

static void
test_start_index_and_names(void)
{
    /* ceil(h * 3600 / gap), with the floating-point steps of the reference. */
    CU_ASSERT_EQUAL(sim_tick_start_index(0, 600), 0);
    CU_ASSERT_EQUAL(sim_tick_start_index(51.833333333333336, 600), 311);
    CU_ASSERT_EQUAL(sim_tick_start_index(1.01, 600), 7);
    /* 259.1666666666667 h is 1555.0000000000002 ticks in floating point: the reference, and
     * so the published numbers, start that window at tick 1556. */
    CU_ASSERT_EQUAL(sim_tick_start_index(259.1666666666667, 600), 1556);
    for (int p = 0; p < SIM_TICK_N_POLICIES; p++) {
        SimTickPolicy back;
        CU_ASSERT_TRUE(sim_tick_policy_from_name(sim_tick_policy_name((SimTickPolicy)p), &back));
        CU_ASSERT_EQUAL(back, p);
    }
    SimTickPolicy x;
    CU_ASSERT_FALSE(sim_tick_policy_from_name("cheapest", &x));
}

static void
test_record(void)
{
    /* Greedy on 110111: spot ticks 0-1, lost at 2, back at 3 (the cluster of each tick is
     * recorded); the record follows the last run and is empty after an infeasible one. */
    Fixture f;
    __fixture(&f, "1101111111", 1, 3);
    g_autoptr(SimTickRunner) runner = sim_tick_runner_new();
    g_autoptr(GArray) ticks = g_array_new(FALSE, FALSE, 1);
    sim_tick_runner_record(runner, ticks);
    SimTickJob job = {4 * H, 10 * H, 0};
    SimTickResult r;
    sim_tick_run(runner, &f.tr, &job, 0, SIM_TICK_GREEDY, &r);
    CU_ASSERT_DOUBLE_EQUAL(r.finish_hours, 5, 1e-12);
    CU_ASSERT_EQUAL_FATAL(ticks->len, 5);
    const guint8 want[] = {SIM_CLUSTER_SPOT, SIM_CLUSTER_SPOT, SIM_CLUSTER_NONE, SIM_CLUSTER_SPOT,
                           SIM_CLUSTER_SPOT};
    CU_ASSERT_EQUAL(memcmp(ticks->data, want, sizeof want), 0);
    sim_tick_run(runner, &f.tr, &job, 0, SIM_TICK_ON_DEMAND, &r);
    CU_ASSERT_EQUAL(ticks->len, 4);
    job.work = 20 * H;
    sim_tick_run(runner, &f.tr, &job, 0, SIM_TICK_ON_DEMAND, &r);
    CU_ASSERT_TRUE(r.infeasible);
    CU_ASSERT_EQUAL(ticks->len, 0);
    sim_tick_runner_record(runner, NULL);
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("tick-model", NULL, NULL);
    CU_add_test(s, "on demand", test_on_demand);
    CU_add_test(s, "restart overhead longer than a tick", test_overhead_longer_than_a_tick);
    CU_add_test(s, "preemption while overhead is pending", test_preempted_while_overhead_pending);
    CU_add_test(s, "the safety net", test_safety_net);
    CU_add_test(s, "the end of the trace", test_end_of_trace);
    CU_add_test(s, "infeasible jobs", test_infeasible);
    CU_add_test(s, "uniform progress runs on demand early", test_uniform_progress_goes_early);
    CU_add_test(s, "the optimum skips a doomed launch", test_offline_optimum_beats_both);
    CU_add_test(s, "the optimum picks cheap ticks", test_offline_optimum_uses_cheap_ticks);
    CU_add_test(s, "the optimum bounds the online policies", test_offline_optimum_bounds_random);
    CU_add_test(s, "runner reuse is deterministic", test_runner_reuse_is_deterministic);
    CU_add_test(s, "start index and policy names", test_start_index_and_names);
    CU_add_test(s, "recording the cluster of each tick", test_record);
    return test_run_all();
}
