/* Every committed scenario loads and runs, and the example built on the published runs gives the
 * published uniform-progress costs through the same path `spotlab run` takes (scenario loader,
 * importers, runner), not only through the library calls of tests/conformance. The case studies
 * (scenarios/case-studies/) run briefly here and in full in the 'case-studies' test, which checks
 * the figures docs/case-studies.md quotes. */
#include "run-cloud.h"
#include "run.h"
#include "test-util.h"

#include <stdio.h>
#include <string.h>

static char *
__scenarios_dir(void)
{
    g_autofree char *data = test_data_path("");
    return g_build_filename(data, "..", "..", "scenarios", NULL);
}

/* The examples run only in the 'examples' test: they replay weeks of real traces, which takes
 * seconds, too long for the valgrind setup (.ci/test leaves that suite out there). */
static gboolean run_examples;

/* The case studies need no external data: the plain suite runs two replicas of each, the
 * 'case-studies' test (examples suite) every replica. */
static gboolean run_case_studies;

static void
__load_and_run(const char *path, gboolean run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Scenario) sc = scenario_load(path, &error);
    if (sc == NULL)
        fprintf(stderr, "%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    if (sc->model == SCENARIO_MODEL_CONTINUOUS) {
        CU_ASSERT(sc->strategies->len > 0);
        CU_ASSERT(sc->replicas > 0);
        if (!run)
            return;
        g_autoptr(CloudResults) cloud = cloud_run(sc, 2, NULL, NULL);
        for (guint k = 0; k < cloud->n_strategies; k++) {
            const CloudStrategyResults *s = &cloud->strategies[k];
            CU_ASSERT_EQUAL(s->cost.n, sc->replicas);
            CU_ASSERT(s->cost.min >= 0);
        }
        return;
    }
    CU_ASSERT(sc->n_policies > 0);
    CU_ASSERT(scenario_n_windows(sc) > 0);
    if (!run)
        return;
    g_autoptr(RunResults) res = run_scenario(sc, 2, NULL, NULL);
    CU_ASSERT_EQUAL(res->windows->len, scenario_n_windows(sc));
    for (guint k = 0; k < res->n_policies; k++) {
        const RunPolicySummary *s = &res->policies[k];
        CU_ASSERT_EQUAL(s->cost.n, res->windows->len);
        CU_ASSERT(s->cost.min >= 0);
        if (s->policy == SIM_TICK_ON_DEMAND)
            CU_ASSERT_DOUBLE_EQUAL(s->total_savings, 0, 1e-9);
    }
}

static void
test_quickstart(void)
{
    g_autofree char *dir = __scenarios_dir();
    g_autofree char *path = g_build_filename(dir, "quickstart.json", NULL);
    __load_and_run(path, TRUE);
}

/* scenarios/examples/checkpoint-sweep.json needs no external data, so it runs here in full, and
 * what docs/scenarios.md reads from it holds: the swept periodic strategy loses less work and
 * spends more on checkpoints as its interval shrinks, costs least at neither end of the sweep,
 * and a checkpoint on notice loses less work at every interval, the longest then the cheapest. */
static void
test_checkpoint_sweep_example(void)
{
    g_autofree char *dir = __scenarios_dir();
    g_autofree char *path = g_build_filename(dir, "examples", "checkpoint-sweep.json", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(Scenario) sc = scenario_load(path, &error);
    if (sc == NULL)
        fprintf(stderr, "%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    /* on-demand, young-daly, periodic x 7 (5m .. 4h), emergency x 3 (15m, 1h, 4h) */
    CU_ASSERT_EQUAL_FATAL(sc->strategies->len, 12);
    for (guint k = 2; k < 12; k++)
        CU_ASSERT_STRING_EQUAL(sc->strategy_groups->pdata[k], k < 9 ? "periodic" : "emergency");
    g_autoptr(CloudResults) res = cloud_run(sc, 2, NULL, NULL);
    const CloudStrategyResults *s = res->strategies;
    guint cheapest = 2;
    for (guint k = 2; k < 9; k++) {
        CU_ASSERT_EQUAL(s[k].finished, sc->replicas);
        if (s[k].cost.mean < s[cheapest].cost.mean)
            cheapest = k;
        if (k == 2)
            continue;
        CU_ASSERT(s[k].lost_gpu_hours.mean > s[k - 1].lost_gpu_hours.mean);
        CU_ASSERT(s[k].checkpoint_hours.mean < s[k - 1].checkpoint_hours.mean);
    }
    CU_ASSERT(cheapest != 2 && cheapest != 8);
    /* 15m, 1h and 4h with and without a checkpoint on notice. */
    static const guint pairs[][2] = {{4, 9}, {6, 10}, {8, 11}};
    for (gsize i = 0; i < G_N_ELEMENTS(pairs); i++)
        CU_ASSERT(s[pairs[i][1]].lost_gpu_hours.mean < s[pairs[i][0]].lost_gpu_hours.mean);
    /* With the checkpoint on notice, the longer the interval the cheaper. */
    CU_ASSERT(s[11].cost.mean < s[10].cost.mean);
    CU_ASSERT(s[10].cost.mean < s[9].cost.mean);
}

static void
test_examples(void)
{
    if (test_shared_dir() == NULL) {
        printf("\n  skipped: the examples read real traces from ../shared, which is absent\n");
        return;
    }
    g_autofree char *dir = __scenarios_dir();
    g_autofree char *examples = g_build_filename(dir, "examples", NULL);
    g_autoptr(GDir) d = g_dir_open(examples, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    guint n = 0;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, ".json"))
            continue;
        g_autofree char *path = g_build_filename(examples, name, NULL);
        __load_and_run(path, run_examples);
        n++;
    }
    CU_ASSERT(n >= 3);
}

static void
test_published_example(void)
{
    if (!run_examples)
        return;
    if (test_shared_dir() == NULL) {
        printf("\n  skipped: ../shared is absent\n");
        return;
    }
    g_autofree char *dir = __scenarios_dir();
    g_autofree char *path = g_build_filename(dir, "examples", "gcp-h100-published.json", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(Scenario) sc = scenario_load(path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(RunResults) res = run_scenario(sc, 1, NULL, NULL);

    g_autofree char *csv = test_shared_path("validation/uniform-progress-h100.csv");
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(csv, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint matched = 0;
    for (guint i = 1; lines[i] != NULL; i++) {
        g_auto(GStrv) f = g_strsplit(g_strstrip(lines[i]), ",", -1);
        if (g_strv_length(f) != 6)
            continue;
        /* The pool is named after the folder of its full.json. */
        g_autofree char *folder = g_path_get_dirname(f[0]);
        g_autofree char *pool = g_path_get_basename(folder);
        double start = g_ascii_strtod(f[1], NULL), expected = g_ascii_strtod(f[5], NULL);
        for (guint w = 0; w < res->windows->len; w++) {
            const RunWindow *rw = &g_array_index(res->windows, RunWindow, w);
            if (strcmp(rw->pool->pool->name, pool) != 0 || rw->window->start_hours != start)
                continue;
            double cost = rw->by_policy[SIM_TICK_UNIFORM_PROGRESS].cost;
            CU_ASSERT(fabs(cost - expected) <= 1e-6 * expected);
            /* The optimum never costs more, and meets the deadline. */
            CU_ASSERT(rw->by_policy[SIM_TICK_OFFLINE_OPTIMAL].cost <= cost + 1e-9);
            CU_ASSERT(rw->by_policy[SIM_TICK_OFFLINE_OPTIMAL].deadline_met);
            matched++;
        }
    }
    CU_ASSERT_EQUAL(matched, 78);
}

/* What docs/case-studies.md quotes for every strategy of every case study (the first of each file
 * is the published set-up): the total saving against on demand, in percent. A change of the
 * model that moves one of them by more than the tolerance must come with new figures in the doc. */
static const struct {
    const char *file;
    const char *strategy;
    double savings_pct;
} case_study_figures[] = {
    {"doordash.json", "published: 30% on-demand base, 70% spot", 55.7},
    {"doordash.json", "spot, failover to on demand for the deadline", 79.7},
    {"doordash.json", "100% spot, cheapest region", 79.7},
    {"doordash.json", "30% base, 70% spot in the calmest region", 55.8},
    {"doordash.json", "30% base, 70% spot, checkpoint on notice", 55.8},
    {"netflix.json", "published: 100% spot, queue, cheapest region", 80.0},
    {"netflix.json", "100% spot, queue, us-west-2 only", 76.0},
    {"netflix.json", "100% spot, queue, calmest region", 80.0},
    {"netflix.json", "90% spot, queue, cheapest region", 72.0},
    {"pinterest-regional-outages.json", "80% spot, region failover", 70.1},
    {"pinterest-regional-outages.json", "80% spot, us-east-1 only (wait out outages)", 71.0},
    {"pinterest-regional-outages.json", "80% spot, us-west-2 only (wait out outages)", 67.8},
    {"pinterest-regional-outages.json", "80% spot, capacity-aware", 69.2},
    {"pinterest.json", "published: 80% spot, 15m, region failover", 70.2},
    {"pinterest.json", "100% spot, 15m, region failover", 88.4},
    {"pinterest.json", "80% spot, 15m, us-east-1 only", 70.5},
    {"pinterest.json", "80% spot, no checkpoints", 67.3},
    {"pinterest.json", "80% spot, Young/Daly, checkpoint on notice", 71.0},
    {"pinterest.json", "80% spot, Young/Daly, on notice, us-east-1 only", 71.1},
    {"pinterest.json", "seed V100 rate: 80% spot, 15m, failover", 66.3},
    {"pinterest.json", "seed V100 rate: 80% spot, 15m, us-east-1 only", 67.9},
    {"pinterest.json", "seed V100 rate: 80% spot, Young/Daly, on notice", 68.8},
    {"snap.json", "published: 90% spot, spread over 6 regions", 71.4},
    {"snap.json", "100% spot, spread over 6 regions", 79.3},
    {"snap.json", "90% spot, cheapest of 6 regions", 72.0},
    {"snap.json", "100% spot, cheapest of 6 regions", 80.0},
    {"snap.json", "90% spot, us-east-1 only", 72.0},
    {"snap.json", "90% spot, us-west-2 only", 68.4},
    {"snap.json", "90% spot, region failover", 71.9},
    {"spotify-critical.json", "published: 3 copies on spot, 5m, checkpoint on notice", 78.8},
    {"spotify-critical.json", "3 copies on spot, checkpoint on notice only", 79.5},
    {"spotify.json", "published: spot, 5m, checkpoint on notice", 78.8},
    {"spotify.json", "spot, 5m, notices ignored", 78.7},
    {"spotify.json", "spot, 15m, checkpoint on notice", 79.2},
    {"spotify.json", "spot, Young/Daly, checkpoint on notice", 79.4},
    {"spotify.json", "spot, checkpoint on notice only", 79.4},
    {"spotify.json", "spot, no checkpoints", -29.7},
    {"spotify.json", "us-west-2: spot, 5m, checkpoint on notice", 75.0},
};

/* The case-study files that case_study_figures quotes. */
static guint
__n_quoted_files(void)
{
    guint n = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(case_study_figures); i++)
        if (i == 0 || strcmp(case_study_figures[i].file, case_study_figures[i - 1].file) != 0)
            n++;
    return n;
}

/* The deepest spot discount among a strategy's pools, in percent: no strategy can save more. */
static double
__deepest_discount(const Scenario *sc, const SimStrategy *s)
{
    double deepest = 0;
    for (guint k = 0; k < s->n_pools; k++) {
        const SimPool *p = sim_model_pool(sc->cloud, s->pools[k]);
        double low = p->price.n > 0 ? p->price.value[0] : p->constant_price;
        for (gsize i = 1; i < p->price.n; i++)
            low = MIN(low, p->price.value[i]);
        deepest = MAX(deepest, 100.0 * (1.0 - low / p->on_demand_price));
    }
    return deepest;
}

static void
__check_case_study(const char *name, const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Scenario) sc = scenario_load(path, &error);
    if (sc == NULL)
        fprintf(stderr, "%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_FATAL(sc->model == SCENARIO_MODEL_CONTINUOUS);
    /* The doc promises tight confidence intervals. */
    CU_ASSERT(sc->replicas >= 200);
    if (!run_case_studies)
        sc->replicas = 2;
    g_autoptr(CloudResults) res = cloud_run(sc, 2, NULL, NULL);
    CU_ASSERT_FATAL(res->n_strategies > 0);
    for (guint k = 0; k < res->n_strategies; k++) {
        const CloudStrategyResults *s = &res->strategies[k];
        CU_ASSERT_EQUAL(s->cost.n, sc->replicas);
        CU_ASSERT(s->cost.min >= 0);
        CU_ASSERT(s->total_savings <= __deepest_discount(sc, s->strategy) + 1e-9);
        for (guint i = 0; i < res->n_replicas; i++) {
            CU_ASSERT_EQUAL(s->replicas[i].items_lost, 0);
            CU_ASSERT_EQUAL(s->replicas[i].items_duplicated, 0);
        }
        if (run_case_studies)
            CU_ASSERT(s->savings.ci_high - s->savings.ci_low <= 4.0);
    }
    /* The published set-up finishes every replica and saves money. */
    const CloudStrategyResults *published = &res->strategies[0];
    CU_ASSERT_EQUAL(published->finished, sc->replicas);
    CU_ASSERT(published->total_savings > 0);
    if (!run_case_studies)
        return;
    for (guint k = 0; k < res->n_strategies; k++) {
        const CloudStrategyResults *s = &res->strategies[k];
        gboolean quoted = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(case_study_figures); i++) {
            if (strcmp(case_study_figures[i].file, name) != 0 ||
                strcmp(case_study_figures[i].strategy, s->strategy->name) != 0)
                continue;
            quoted = TRUE;
            double expected = case_study_figures[i].savings_pct;
            if (fabs(s->total_savings - expected) > 1.0)
                printf("\n  %s, \"%s\": saves %.1f%%, docs/case-studies.md says %.1f%%\n", name,
                       s->strategy->name, s->total_savings, expected);
            CU_ASSERT(fabs(s->total_savings - expected) <= 1.0);
        }
        if (!quoted)
            printf("\n  %s, \"%s\": no figure quoted\n", name, s->strategy->name);
        CU_ASSERT(quoted);
    }
}

static void
test_case_studies(void)
{
    g_autofree char *dir = __scenarios_dir();
    g_autofree char *cases = g_build_filename(dir, "case-studies", NULL);
    g_autoptr(GDir) d = g_dir_open(cases, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    guint n = 0;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, ".json"))
            continue;
        g_autofree char *path = g_build_filename(cases, name, NULL);
        __check_case_study(name, path);
        n++;
    }
    CU_ASSERT_EQUAL(n, __n_quoted_files());
}

int
main(int argc, char **argv)
{
    run_examples = argc > 1 && strcmp(argv[1], "--run-examples") == 0;
    run_case_studies = argc > 1 && strcmp(argv[1], "--run-case-studies") == 0;
    if (run_case_studies) {
        CU_initialize_registry();
        CU_pSuite s = CU_add_suite("case studies", NULL, NULL);
        CU_add_test(s, "every case study runs and gives the quoted figures", test_case_studies);
        return test_run_all();
    }
    if (run_examples && test_shared_dir() == NULL) {
        printf("SKIP: the examples replay real traces from ../shared, which is absent\n");
        return TEST_SKIP;
    }
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("scenarios", NULL, NULL);
    if (run_examples) {
        CU_add_test(s, "every example loads and runs", test_examples);
        CU_add_test(s, "the published example gives the published costs", test_published_example);
    } else {
        CU_add_test(s, "the quickstart loads and runs", test_quickstart);
        CU_add_test(s, "the checkpoint-sweep example runs as documented",
                    test_checkpoint_sweep_example);
        CU_add_test(s, "every example loads", test_examples);
        CU_add_test(s, "every case study loads and runs two replicas", test_case_studies);
    }
    return test_run_all();
}
