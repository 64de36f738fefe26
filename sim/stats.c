/* spotlab: summaries of per-replica metrics (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* t(0.975, df) for df = 1..30. */
static const double t975_table[30] = {
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
    2.364624252,  2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
    2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
    2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
};
/* Beyond the table: t at df 40, 60, 120 and the normal limit, interpolated in 1/df, which is
 * accurate to about 1e-4 over that range. */
static const double t975_df[] = {30, 40, 60, 120};
static const double t975_tail[] = {2.042272456, 2.021075383, 2.000297804, 1.979930405};
#define Z975 1.959963985

double
sim_t975(gsize df)
{
    if (df == 0)
        return NAN;
    if (df <= 30)
        return t975_table[df - 1];
    double x = 1.0 / (double)df;
    for (gsize i = 0; i + 1 < G_N_ELEMENTS(t975_df); i++) {
        if ((double)df <= t975_df[i + 1]) {
            double x0 = 1.0 / t975_df[i], x1 = 1.0 / t975_df[i + 1];
            return t975_tail[i] + (x - x0) * (t975_tail[i + 1] - t975_tail[i]) / (x1 - x0);
        }
    }
    double x0 = 1.0 / 120.0;
    return Z975 + x * (t975_tail[3] - Z975) / x0;
}

double
sim_quantile_sorted(const double *sorted, gsize n, double q)
{
    g_return_val_if_fail(sorted != NULL && n > 0, NAN);
    double h = (double)(n - 1) * q;
    gsize lo = (gsize)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static int
__double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void
sim_summary_compute(const double *values, gsize n, SimSummary *s)
{
    g_return_if_fail(s != NULL);
    g_autofree double *v = g_new(double, n ? n : 1);
    gsize m = 0;
    for (gsize i = 0; i < n; i++)
        if (!isnan(values[i]))
            v[m++] = values[i];
    s->n = m;
    if (m == 0) {
        s->mean = s->stddev = s->median = s->p90 = s->p95 = s->min = s->max = NAN;
        s->ci_low = s->ci_high = NAN;
        return;
    }
    double sum = 0;
    for (gsize i = 0; i < m; i++)
        sum += v[i];
    s->mean = sum / (double)m;
    double ss = 0;
    for (gsize i = 0; i < m; i++)
        ss += (v[i] - s->mean) * (v[i] - s->mean);
    s->stddev = m > 1 ? sqrt(ss / (double)(m - 1)) : 0;
    qsort(v, m, sizeof(double), __double_cmp);
    s->min = v[0];
    s->max = v[m - 1];
    s->median = sim_quantile_sorted(v, m, 0.5);
    s->p90 = sim_quantile_sorted(v, m, 0.9);
    s->p95 = sim_quantile_sorted(v, m, 0.95);
    if (m > 1) {
        double half = sim_t975(m - 1) * s->stddev / sqrt((double)m);
        s->ci_low = s->mean - half;
        s->ci_high = s->mean + half;
    } else {
        s->ci_low = s->ci_high = s->mean;
    }
}
