/* Conformance: every published uniform-progress run on the 13 GCP H100 traces
 * (shared/validation/uniform-progress-h100.csv) reproduces within 1e-6 relative error. The
 * traces are read with the importer a user's scenario would use, in the preempted convention
 * their source states, and the tick model runs on the engine as in `spotlab run`. */
#include "import.h"
#include "test-util.h"
#include "tick-model.h"

#include <stdio.h>
#include <stdlib.h>

static GPtrArray *rows; /* char** (split CSV rows) */

static void
test_every_published_row(void)
{
    g_autoptr(SimTickRunner) runner = sim_tick_runner_new();
    double worst = 0;
    guint checked = 0;
    for (guint i = 0; i < rows->len; i++) {
        char **f = rows->pdata[i];
        g_autofree char *path = g_build_filename(test_shared_dir(), "traces-real", f[0], NULL);
        TraceImportOptions opts = {.format = "tick-json", .convention = TRACE_CONVENTION_PREEMPTED};
        g_autoptr(GError) error = NULL;
        g_autoptr(TraceSet) set = trace_import(path, &opts, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        const TracePool *pool = trace_set_pool(set, 0);
        g_autofree guint8 *avail = NULL;
        g_autofree double *price = NULL;
        gsize n = 0;
        CU_ASSERT_FATAL(
            trace_pool_sample_ticks(pool, pool->gap, 1, (double)NAN, &avail, &price, &n, &error));
        SimTickTrace tr = {(double)pool->gap / 1e6, n, avail, price, pool->on_demand_price};
        SimTickJob job = {g_ascii_strtod(f[2], NULL) * 3600, g_ascii_strtod(f[3], NULL) * 3600,
                          g_ascii_strtod(f[4], NULL) * 3600};
        double expected = g_ascii_strtod(f[5], NULL);
        SimTickResult res;
        sim_tick_run(runner, &tr, &job, sim_tick_start_index(g_ascii_strtod(f[1], NULL), tr.gap),
                     SIM_TICK_UNIFORM_PROGRESS, &res);
        double rel = fabs(res.cost - expected) / expected;
        if (rel > 1e-6)
            fprintf(stderr, "row %u (%s from %s h): cost %.10f, published %.10f\n", i + 2, f[0],
                    f[1], res.cost, expected);
        CU_ASSERT(rel <= 1e-6);
        CU_ASSERT(res.finished);
        worst = fmax(worst, rel);
        checked++;
    }
    printf("\n  %u published runs reproduced, worst relative error %.3g\n", checked, worst);
    CU_ASSERT_EQUAL(checked, 78);
}

int
main(void)
{
    if (test_shared_dir() == NULL) {
        printf("SKIP: the shared folder with the published results and real traces is absent "
               "(SPOTLAB_SHARED=%s)\n",
               g_getenv("SPOTLAB_SHARED"));
        return TEST_SKIP;
    }
    g_autofree char *csv = test_shared_path("validation/uniform-progress-h100.csv");
    g_autofree char *text = NULL;
    if (!g_file_get_contents(csv, &text, NULL, NULL)) {
        printf("SKIP: %s is absent\n", csv);
        return TEST_SKIP;
    }
    rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 1; lines[i] != NULL; i++) {
        g_strchomp(lines[i]);
        if (*lines[i] == '\0')
            continue;
        char **f = g_strsplit(lines[i], ",", -1);
        g_assert(g_strv_length(f) == 6);
        g_ptr_array_add(rows, f);
    }
    CU_initialize_registry();
    CU_pSuite suite = CU_add_suite("conformance", NULL, NULL);
    CU_add_test(suite, "every published uniform-progress run", test_every_published_row);
    int status = test_run_all();
    g_ptr_array_unref(rows);
    return status;
}
