/* The splittable generator: the published xoshiro256** and SplitMix64 values, reproducibility,
 * independence of streams, and the distributions built on it. */
#include "rng.h"
#include "test-util.h"

static void
test_known_answers(void)
{
    /* xoshiro256** from the state {1, 2, 3, 4}: the authors' reference output. */
    SimRng rng = {{1, 2, 3, 4}, 0};
    const guint64 expected[] = {11520u,
                                0u,
                                1509978240u,
                                G_GUINT64_CONSTANT(1215971899390074240),
                                G_GUINT64_CONSTANT(1216172134540287360),
                                G_GUINT64_CONSTANT(607988272756665600)};
    for (gsize i = 0; i < G_N_ELEMENTS(expected); i++)
        CU_ASSERT_EQUAL(sim_rng_next(&rng), expected[i]);
    /* The root key of seed 0 is SplitMix64's first output for 0. */
    sim_rng_init(&rng, 0);
    CU_ASSERT_EQUAL(rng.key, G_GUINT64_CONSTANT(0xe220a8397b1dcdaf));
}

static void
test_reproducible(void)
{
    SimRng a, b, root;
    sim_rng_init(&root, 12345);
    sim_rng_split(&root, 17, &a);
    sim_rng_init(&root, 12345);
    sim_rng_split(&root, 17, &b);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(sim_rng_next(&a), sim_rng_next(&b));
}

static void
test_split_does_not_depend_on_draws(void)
{
    /* A child depends on its parent's key, not on how far the parent has been drawn, and
     * drawing from one child leaves its siblings alone. */
    SimRng root, c1, c2, sibling, fresh_sibling;
    sim_rng_init(&root, 2024);
    sim_rng_split(&root, 3, &c1);
    for (int i = 0; i < 100; i++)
        sim_rng_next(&root);
    sim_rng_split(&root, 3, &c2);
    CU_ASSERT_EQUAL(c1.key, c2.key);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(sim_rng_next(&c1), sim_rng_next(&c2));
    sim_rng_split(&root, 4, &sibling);
    sim_rng_split(&root, 4, &fresh_sibling);
    for (int i = 0; i < 50; i++)
        sim_rng_next(&c1);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(sim_rng_next(&sibling), sim_rng_next(&fresh_sibling));
    /* Two levels: (seed, replica 1, pool 2) differs from (seed, replica 2, pool 1). */
    SimRng r1, r2, r1p2, r2p1;
    sim_rng_split(&root, 1, &r1);
    sim_rng_split(&root, 2, &r2);
    sim_rng_split(&r1, 2, &r1p2);
    sim_rng_split(&r2, 1, &r2p1);
    CU_ASSERT_NOT_EQUAL(r1p2.key, r2p1.key);
    CU_ASSERT_NOT_EQUAL(sim_rng_next(&r1p2), sim_rng_next(&r2p1));
}

static void
test_streams_independent(void)
{
    /* Neighbouring streams and neighbouring seeds are uncorrelated: for n = 20000 uniform
     * pairs the sample correlation has a standard deviation of 1/sqrt(n) = 0.007; the bound
     * is 5 of those. */
    enum { N = 20000, STREAMS = 32 };
    static double x[STREAMS][N];
    SimRng root;
    sim_rng_init(&root, 42);
    for (int s = 0; s < STREAMS; s++) {
        SimRng r;
        if (s < STREAMS / 2) {
            sim_rng_split(&root, (guint64)s, &r);
        } else {
            sim_rng_init(&r, (guint64)(s - STREAMS / 2)); /* neighbouring seeds */
        }
        for (int i = 0; i < N; i++)
            x[s][i] = sim_rng_double(&r);
    }
    for (int s = 0; s + 1 < STREAMS; s++) {
        double ma = 0, mb = 0;
        for (int i = 0; i < N; i++) {
            ma += x[s][i];
            mb += x[s + 1][i];
        }
        ma /= N;
        mb /= N;
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < N; i++) {
            sab += (x[s][i] - ma) * (x[s + 1][i] - mb);
            saa += (x[s][i] - ma) * (x[s][i] - ma);
            sbb += (x[s + 1][i] - mb) * (x[s + 1][i] - mb);
        }
        double r = sab / sqrt(saa * sbb);
        CU_ASSERT(fabs(r) < 5.0 / sqrt((double)N));
        /* Lag-1 correlation within a stream. */
        double lag = 0;
        for (int i = 1; i < N; i++)
            lag += (x[s][i] - ma) * (x[s][i - 1] - ma);
        CU_ASSERT(fabs(lag / saa) < 5.0 / sqrt((double)N));
    }
}

static void
test_uniformity(void)
{
    /* Chi-square of 200000 draws over 10 bins; 27.88 is the 0.999 quantile for 9 degrees of
     * freedom. Doubles must lie in [0, 1). */
    SimRng rng;
    sim_rng_init(&rng, 7);
    guint bins[10] = {0};
    enum { N = 200000 };
    for (int i = 0; i < N; i++)
        bins[sim_rng_below(&rng, 10)]++;
    double chi = 0, e = N / 10.0;
    for (int b = 0; b < 10; b++)
        chi += (bins[b] - e) * (bins[b] - e) / e;
    CU_ASSERT(chi < 27.88);
    for (int i = 0; i < N; i++) {
        double u = sim_rng_double(&rng);
        CU_ASSERT_FATAL(u >= 0 && u < 1);
    }
    /* A bound that is not a power of two and almost 2^64 still lands below it. */
    guint64 big = G_GUINT64_CONSTANT(0xC000000000000001);
    guint above_half = 0;
    for (int i = 0; i < 10000; i++) {
        guint64 v = sim_rng_below(&rng, big);
        CU_ASSERT_FATAL(v < big);
        above_half += v >= big / 2;
    }
    CU_ASSERT(above_half > 4700 && above_half < 5300);
    CU_ASSERT_EQUAL(sim_rng_below(&rng, 1), 0);
}

static void
test_exponential(void)
{
    /* Mean 1/rate within 4 standard errors (sd of the mean = 1/(rate*sqrt(n))). */
    SimRng rng;
    sim_rng_init(&rng, 11);
    enum { N = 100000 };
    double rate = 0.25, sum = 0;
    for (int i = 0; i < N; i++) {
        double v = sim_rng_exponential(&rng, rate);
        CU_ASSERT_FATAL(v >= 0 && isfinite(v));
        sum += v;
    }
    double mean = sum / N;
    CU_ASSERT(fabs(mean - 4.0) < 4 * 4.0 / sqrt((double)N));
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("rng", NULL, NULL);
    CU_add_test(s, "known answers", test_known_answers);
    CU_add_test(s, "same seed and stream, same values", test_reproducible);
    CU_add_test(s, "splits depend on the path only", test_split_does_not_depend_on_draws);
    CU_add_test(s, "streams and seeds are independent", test_streams_independent);
    CU_add_test(s, "uniform and unbiased", test_uniformity);
    CU_add_test(s, "exponential variates", test_exponential);
    return test_run_all();
}
