/* spotlab: summaries of per-replica metrics.
 *
 * A SimSummary describes a sample of one metric over replicas (windows of the tick model,
 * replicas of a continuous-time run): mean, median, 90th percentile, extremes, and a 95%
 * confidence interval for the mean from Student's t distribution (exact quantiles for 1 to 30
 * degrees of freedom, interpolated in 1/df beyond, the normal quantile in the limit).
 * Percentiles interpolate linearly between order statistics (Hyndman and Fan's type 7, the
 * default of R and NumPy). Sums run in the order given, so a summary is reproducible bit for bit.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    gsize n;
    double mean;
    double stddev; /* sample standard deviation (n - 1); 0 when n < 2 */
    double median;
    double p90;
    double p95;
    double min;
    double max;
    double ci_low; /* 95% confidence interval of the mean; equal to the mean when n < 2 */
    double ci_high;
} SimSummary;

/* Summarises @n values (NaN values are skipped). All fields are NaN when none remain. */
void sim_summary_compute(const double *values, gsize n, SimSummary *summary);

/* The @q quantile (0..1) of @sorted (ascending, @n > 0), type 7. */
double sim_quantile_sorted(const double *sorted, gsize n, double q);

/* The two-sided 95% quantile of Student's t with @df degrees of freedom (df >= 1). */
double sim_t975(gsize df);

G_END_DECLS
