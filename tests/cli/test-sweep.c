/* Sweeps: a strategy with "sweep" becomes one strategy per value (per point of the grid of
 * several parameters), each read as if the file held that value, named after the strategy and
 * the values as written, and grouped under the strategy's own name.
 *
 * - tests/data/cli/sweep-interval.json sweeps a checkpoint interval over 4 values: 4 variants,
 *   in the order written, with those intervals and everything else as the strategy says; the
 *   lost GPU-hours fall as the interval shrinks; a variant gives the same results, replica for
 *   replica, as the strategy written out by hand with that value;
 * - tests/data/cli/sweep-grid.json sweeps two parameters: the 3 x 2 grid in key order (the
 *   file's, not alphabetical) and then value order, between the strategies around it; an
 *   expectation naming the swept strategy applies to every variant;
 * - `spotlab run` shows every variant. */
#include "expect.h"
#include "run-cloud.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define US 1e6

static Scenario *
__load(const char *path)
{
    g_autoptr(GError) error = NULL;
    Scenario *sc = scenario_load(path, &error);
    if (sc == NULL)
        fprintf(stderr, "\n%s\n", error->message);
    return sc;
}

static const SimStrategy *
__strategy(const Scenario *sc, guint k)
{
    return sc->strategies->pdata[k];
}

static void
test_interval_sweep_makes_one_strategy_per_value(void)
{
    g_autofree char *path = test_data_path("cli/sweep-interval.json");
    g_autoptr(Scenario) sc = __load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL_FATAL(sc->strategies->len, 5);
    CU_ASSERT_EQUAL_FATAL(sc->strategy_groups->len, sc->strategies->len);
    static const struct {
        const char *name;
        double seconds;
    } variants[] = {
        {"every checkpoint.interval=4h", 4 * 3600},
        {"every checkpoint.interval=1h", 3600},
        {"every checkpoint.interval=30m", 1800},
        {"every checkpoint.interval=600", 600},
    };
    CU_ASSERT_STRING_EQUAL(__strategy(sc, 0)->name, "on-demand");
    CU_ASSERT_STRING_EQUAL(sc->strategy_groups->pdata[0], "on-demand");
    for (guint k = 0; k < G_N_ELEMENTS(variants); k++) {
        const SimStrategy *s = __strategy(sc, k + 1);
        CU_ASSERT_STRING_EQUAL(s->name, variants[k].name);
        CU_ASSERT_STRING_EQUAL(sc->strategy_groups->pdata[k + 1], "every");
        CU_ASSERT_EQUAL(s->checkpoint_interval, (SimTime)(variants[k].seconds * US));
        /* Everything else as the strategy says: the periodic preset. */
        CU_ASSERT_PTR_EQUAL(s->checkpoint, sim_checkpoint_class("periodic"));
        CU_ASSERT_PTR_EQUAL(s->market, sim_market_class("spot"));
        CU_ASSERT_PTR_EQUAL(s->placement, sim_placement_class("first"));
        CU_ASSERT_FALSE(s->emergency_checkpoint);
        CU_ASSERT_EQUAL(s->n_pools, 1);
    }
}

static void
test_lost_work_falls_as_the_interval_shrinks(void)
{
    g_autofree char *path = test_data_path("cli/sweep-interval.json");
    g_autoptr(Scenario) sc = __load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(CloudResults) res = cloud_run(sc, 2, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(res->n_strategies, 5);
    /* 4h, 1h, 30m, 10m: each loses less work than the one before. */
    for (guint k = 2; k < res->n_strategies; k++) {
        double before = res->strategies[k - 1].lost_gpu_hours.mean;
        double now = res->strategies[k].lost_gpu_hours.mean;
        if (!(now < before))
            printf("\n  %s loses %.3f GPU-hours, %s %.3f\n", res->strategies[k].strategy->name, now,
                   res->strategies[k - 1].strategy->name, before);
        CU_ASSERT(now < before);
        /* And writes more checkpoints. */
        CU_ASSERT(res->strategies[k].checkpoint_hours.mean >
                  res->strategies[k - 1].checkpoint_hours.mean);
    }
    CU_ASSERT(res->strategies[1].lost_gpu_hours.mean > 0);
}

/* A variant gives what the strategy written out by hand with its value gives. */
static void
test_variant_is_the_strategy_written_out(void)
{
    g_autofree char *path = test_data_path("cli/sweep-interval.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *strategies = json_object_get(root, "strategies");
    json_array_set_new(strategies, 1,
                       json_pack("{s:s, s:s, s:{s:s}}", "name", "every checkpoint.interval=30m",
                                 "preset", "periodic", "checkpoint", "every", "30m"));
    g_autofree char *tmp = test_tmpdir_new();
    g_autofree char *written = g_build_filename(tmp, "written-out.json", NULL);
    CU_ASSERT_EQUAL_FATAL(json_dump_file(root, written, JSON_INDENT(2)), 0);
    json_decref(root);

    g_autoptr(Scenario) swept = __load(path);
    g_autoptr(Scenario) plain = __load(written);
    CU_ASSERT_PTR_NOT_NULL_FATAL(swept);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_EQUAL_FATAL(plain->strategies->len, 2);
    g_autoptr(CloudResults) a = cloud_run(swept, 1, NULL, NULL);
    g_autoptr(CloudResults) b = cloud_run(plain, 3, NULL, NULL);
    const CloudStrategyResults *sa = &a->strategies[3], *sb = &b->strategies[1];
    CU_ASSERT_STRING_EQUAL(sa->strategy->name, sb->strategy->name);
    CU_ASSERT_EQUAL_FATAL(a->n_replicas, b->n_replicas);
    for (guint i = 0; i < a->n_replicas; i++) {
        CU_ASSERT_EQUAL(sa->replicas[i].cost, sb->replicas[i].cost);
        CU_ASSERT_EQUAL(sa->replicas[i].lost_gpu_hours, sb->replicas[i].lost_gpu_hours);
    }
    CU_ASSERT_EQUAL(sa->cost.mean, sb->cost.mean);
    test_tmpdir_remove(tmp);
}

static void
test_grid_in_key_then_value_order(void)
{
    g_autofree char *path = test_data_path("cli/sweep-grid.json");
    g_autoptr(Scenario) sc = __load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL_FATAL(sc->strategies->len, 8);
    CU_ASSERT_EQUAL_FATAL(sc->strategy_groups->len, 8);
    static const struct {
        const char *name;
        double fraction;
        double interval_s;
    } grid[] = {
        {"hybrid on_demand_fraction=0.25 checkpoint.interval=10m", 0.25, 600},
        {"hybrid on_demand_fraction=0.25 checkpoint.interval=1h", 0.25, 3600},
        {"hybrid on_demand_fraction=50% checkpoint.interval=10m", 0.5, 600},
        {"hybrid on_demand_fraction=50% checkpoint.interval=1h", 0.5, 3600},
        {"hybrid on_demand_fraction=0.75 checkpoint.interval=10m", 0.75, 600},
        {"hybrid on_demand_fraction=0.75 checkpoint.interval=1h", 0.75, 3600},
    };
    CU_ASSERT_STRING_EQUAL(__strategy(sc, 0)->name, "on-demand");
    for (guint k = 0; k < G_N_ELEMENTS(grid); k++) {
        const SimStrategy *s = __strategy(sc, k + 1);
        CU_ASSERT_STRING_EQUAL(s->name, grid[k].name);
        CU_ASSERT_STRING_EQUAL(sc->strategy_groups->pdata[k + 1], "hybrid");
        CU_ASSERT_DOUBLE_EQUAL(s->on_demand_fraction, grid[k].fraction, 1e-12);
        CU_ASSERT_EQUAL(s->checkpoint_interval, (SimTime)(grid[k].interval_s * US));
        /* The rest of the hybrid preset stays. */
        CU_ASSERT_PTR_EQUAL(s->market, sim_market_class("hybrid"));
        CU_ASSERT(s->emergency_checkpoint);
    }
    CU_ASSERT_STRING_EQUAL(__strategy(sc, 7)->name, "spot-restart");
    CU_ASSERT_STRING_EQUAL(sc->strategy_groups->pdata[7], "spot-restart");

    /* An expectation naming the swept strategy applies to each of its variants. */
    CU_ASSERT_EQUAL_FATAL(sc->expectations->len, 1);
    const Expectation *e = sc->expectations->pdata[0];
    CU_ASSERT_EQUAL_FATAL(g_strv_length(e->policies), G_N_ELEMENTS(grid));
    for (guint k = 0; k < G_N_ELEMENTS(grid); k++)
        CU_ASSERT_STRING_EQUAL(e->policies[k], grid[k].name);

    /* A larger on-demand share costs more. */
    g_autoptr(CloudResults) res = cloud_run(sc, 2, NULL, NULL);
    CU_ASSERT(res->strategies[3].cost.mean > res->strategies[1].cost.mean);
    CU_ASSERT(res->strategies[5].cost.mean > res->strategies[3].cost.mean);
}

static void
test_run_shows_every_variant(void)
{
    g_autofree char *path = test_data_path("cli/sweep-interval.json");
    const char *argv[] = {"run", path, NULL};
    g_autofree char *out = NULL, *err = NULL;
    int status = test_spotlab(argv, &out, &err);
    if (status != 0)
        fprintf(stderr, "\nspotlab run: exit %d\n%s\n", status, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(status, 0);
    static const char *const names[] = {
        "every checkpoint.interval=4h ", "every checkpoint.interval=1h ",
        "every checkpoint.interval=30m ", "every checkpoint.interval=600 "};
    const char *at = out;
    for (gsize k = 0; k < G_N_ELEMENTS(names); k++) {
        const char *found = strstr(at, names[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(found);
        at = found;
    }
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("sweep", NULL, NULL);
    CU_add_test(s, "a swept interval makes one strategy per value",
                test_interval_sweep_makes_one_strategy_per_value);
    CU_add_test(s, "lost work falls as the interval shrinks",
                test_lost_work_falls_as_the_interval_shrinks);
    CU_add_test(s, "a variant is the strategy written out",
                test_variant_is_the_strategy_written_out);
    CU_add_test(s, "a grid, in key then value order", test_grid_in_key_then_value_order);
    CU_add_test(s, "spotlab run shows every variant", test_run_shows_every_variant);
    return test_run_all();
}
