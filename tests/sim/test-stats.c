/* Summaries: mean, sample deviation, type-7 percentiles and Student's t intervals, against
 * values worked out by hand. */
#include "stats.h"
#include "test-util.h"

static void
test_summary_known_values(void)
{
    /* 1..10: mean 5.5, sd sqrt(55/6) = 3.0276504, median 5.5, p90 = 9.1 (h = 8.1),
     * t(0.975, 9) = 2.2621572, half-width 2.2621572 * 3.0276504 / sqrt(10) = 2.1658506. */
    double v[] = {7, 3, 10, 1, 5, 9, 2, 8, 6, 4};
    SimSummary s;
    sim_summary_compute(v, G_N_ELEMENTS(v), &s);
    CU_ASSERT_EQUAL(s.n, 10);
    TEST_ASSERT_REL(s.mean, 5.5, 1e-12);
    TEST_ASSERT_REL(s.stddev, sqrt(55.0 / 6.0), 1e-12);
    TEST_ASSERT_REL(s.median, 5.5, 1e-12);
    TEST_ASSERT_REL(s.p90, 9.1, 1e-12);
    TEST_ASSERT_REL(s.p95, 9.55, 1e-12);
    CU_ASSERT_EQUAL(s.min, 1);
    CU_ASSERT_EQUAL(s.max, 10);
    TEST_ASSERT_REL(s.ci_low, 5.5 - 2.1658506, 1e-7);
    TEST_ASSERT_REL(s.ci_high, 5.5 + 2.1658506, 1e-7);
}

static void
test_summary_edges(void)
{
    SimSummary s;
    double one[] = {42};
    sim_summary_compute(one, 1, &s);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_EQUAL(s.mean, 42);
    CU_ASSERT_EQUAL(s.stddev, 0);
    CU_ASSERT_EQUAL(s.ci_low, 42);
    CU_ASSERT_EQUAL(s.ci_high, 42);
    CU_ASSERT_EQUAL(s.p90, 42);
    /* NaN values are left out; none left gives NaN everywhere. */
    double some[] = {NAN, 2, NAN, 4};
    sim_summary_compute(some, 4, &s);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_EQUAL(s.mean, 3);
    double none[] = {NAN, NAN};
    sim_summary_compute(none, 2, &s);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT(isnan(s.mean) && isnan(s.median) && isnan(s.ci_low));
    sim_summary_compute(NULL, 0, &s);
    CU_ASSERT_EQUAL(s.n, 0);
    /* Identical values: a zero-width interval. */
    double same[] = {3, 3, 3, 3};
    sim_summary_compute(same, 4, &s);
    CU_ASSERT_EQUAL(s.ci_low, 3);
    CU_ASSERT_EQUAL(s.ci_high, 3);
}

static void
test_t_quantiles(void)
{
    TEST_ASSERT_REL(sim_t975(1), 12.7062047, 1e-7);
    TEST_ASSERT_REL(sim_t975(2), 4.3026527, 1e-7);
    TEST_ASSERT_REL(sim_t975(10), 2.2281389, 1e-7);
    TEST_ASSERT_REL(sim_t975(30), 2.0422725, 1e-7);
    /* Interpolated beyond the table: df 50 = 2.0085591, df 100 = 1.9839715, df 1000 =
     * 1.9623391; the normal limit 1.9599640. */
    CU_ASSERT(fabs(sim_t975(50) - 2.0085591) < 2e-4);
    CU_ASSERT(fabs(sim_t975(100) - 1.9839715) < 2e-4);
    CU_ASSERT(fabs(sim_t975(1000) - 1.9623391) < 2e-4);
    CU_ASSERT(fabs(sim_t975(G_MAXINT32) - 1.9599640) < 1e-6);
    /* Monotone decreasing. */
    for (gsize df = 1; df < 2000; df++)
        CU_ASSERT(sim_t975(df + 1) <= sim_t975(df));
}

static void
test_quantile_sorted(void)
{
    double v[] = {10, 20, 30, 40};
    CU_ASSERT_EQUAL(sim_quantile_sorted(v, 4, 0), 10);
    CU_ASSERT_EQUAL(sim_quantile_sorted(v, 4, 1), 40);
    TEST_ASSERT_REL(sim_quantile_sorted(v, 4, 0.5), 25, 1e-12);
    TEST_ASSERT_REL(sim_quantile_sorted(v, 4, 0.9), 37, 1e-12);
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("stats", NULL, NULL);
    CU_add_test(s, "summary of 1..10", test_summary_known_values);
    CU_add_test(s, "one value, NaN, none, constant", test_summary_edges);
    CU_add_test(s, "Student t quantiles", test_t_quantiles);
    CU_add_test(s, "type 7 quantiles", test_quantile_sorted);
    return test_run_all();
}
