/* spotlab: comparing two results files, a gate for strategy changes.
 *
 * `spotlab compare BASE.json CANDIDATE.json` takes the results of one scenario run twice (on
 * the main branch and on a change, say) and tells, for every policy in both and every metric in
 * both, whether the candidate is worse than the base by more than a limit, with 95% confidence.
 * docs/compare.md documents the command; this module holds everything but the printing.
 *
 * The statistics. For each metric the difference is candidate - base, with a 95% confidence
 * interval:
 *   - paired: when both files hold the same runs (same scenario name and seed, the same number
 *     of runs, "runs" arrays in both, the same window or replica at every index) and every run
 *     has the metric in both files: the mean of the per-run differences, with Student's t
 *     interval over the pairs (n - 1 degrees of freedom);
 *   - Welch: otherwise, from the summaries (mean, stddev, n) with the Welch-Satterthwaite
 *     degrees of freedom;
 *   - Newcombe: for shares of runs (deadline_met_pct, finished_pct), the hybrid Wilson score
 *     interval for a difference of two proportions, from the counts of runs;
 *   - the delta method for total_savings_pct, a ratio of sums, from the per-run costs (paired
 *     or Welch as above); without per-run costs it is reported and not tested.
 * A metric's "worse-by" is the difference signed so that positive is worse. The verdict:
 *   regression       the limit is set and the lower end of the worse-by interval exceeds it;
 *   worse            the lower end exceeds 0 (significantly worse), but not the limit;
 *   improvement      the upper end is below 0 (significantly better);
 *   unchanged        the difference is 0 (within 1e-9 of the values' size);
 *   not significant  anything else: the interval holds 0;
 *   untested         too few runs, or no value, to form an interval.
 *
 * Ownership: a CompareInput owns its parsed document; a Comparison copies what it reports and
 * does not keep its inputs.
 */
#pragma once

#include "json-source.h"

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define COMPARE_ERROR (compare_error_quark())
GQuark compare_error_quark(void);

typedef enum {
    COMPARE_ERROR_IO,
    COMPARE_ERROR_PARSE,    /* not JSON */
    COMPARE_ERROR_INVALID,  /* JSON, but not a results file compare can read */
    COMPARE_ERROR_MISMATCH, /* two results files that cannot be compared */
    COMPARE_ERROR_USAGE,    /* a bad --limit or --metric */
} CompareErrorCode;

typedef enum {
    COMPARE_UNIT_USD,
    COMPARE_UNIT_HOURS,
    COMPARE_UNIT_SECONDS,
    COMPARE_UNIT_PERCENT, /* values in percent, differences and limits in points */
    COMPARE_UNIT_COUNT,
    COMPARE_UNIT_FRACTION,
} CompareUnit;

typedef enum {
    COMPARE_KIND_SUMMARY,       /* a summary object: mean, stddev, n */
    COMPARE_KIND_PROPORTION,    /* a share of runs in percent, from counts */
    COMPARE_KIND_TOTAL_SAVINGS, /* 100 * (1 - total cost / total on-demand cost) */
} CompareKind;

typedef struct {
    const char *name; /* the key in "summary" */
    CompareUnit unit;
    gboolean higher_is_better;
    CompareKind kind;
    /* The field of runs[] that holds the metric per run (a boolean for proportions), or NULL
     * when the summary is not a mean over runs (recovery_seconds pools every recovery). */
    const char *run_field;
    const char *default_limit; /* as --limit would give it; NULL: reported, not gated */
} CompareMetricInfo;

/* The metrics compare knows, in the order it reports them. */
const CompareMetricInfo *compare_metrics(gsize *n);

/* The metric called @name, or NULL. */
const CompareMetricInfo *compare_metric_lookup(const char *name);

/* "cost, cost_compute, ...": every known metric, for messages. Free with g_free. */
char *compare_metric_names(void);

/* How much worse the candidate may be in one metric. */
typedef struct {
    const CompareMetricInfo *metric;
    gboolean gated;    /* FALSE for "none": reported, never a regression */
    gboolean relative; /* @value is a percentage of the base value */
    double value;      /* >= 0, in the metric's unit (points for percentages) or in percent */
} CompareLimit;

/**
 * compare_limit_parse:
 * Parses a --limit argument, "METRIC=VALUE": VALUE is "none", a percentage of the base value
 * ("5%"), or an amount in the metric's unit: "5" or "$5" for money, "0.5" (hours), "0.5h" or
 * "30m" for hours, "90" or "90s" or "2m" for seconds, "2" or "2pts" for percentages (points).
 * Returns: FALSE with @error (COMPARE_ERROR_USAGE) naming the argument and, for an unknown
 * metric, listing the known ones.
 */
gboolean compare_limit_parse(const char *arg, CompareLimit *limit, GError **error);

/* The default limit of @metric; limit->gated is FALSE when it has none. */
void compare_limit_default(const CompareMetricInfo *metric, CompareLimit *limit);

/* The limit as people write it: "10%", "$5", "0.5 h", "2 pts", "none". Free with g_free. */
char *compare_limit_format(const CompareLimit *limit);

/* ---- the statistics ---------------------------------------------------------------------- */

/* The 0.975 quantile of Student's t with @df (> 0, not necessarily whole) degrees of freedom:
 * the inverse of the regularized incomplete beta function, to about 1e-10; NaN for df <= 0. */
double compare_t975(double df);

/**
 * compare_paired_ci:
 * The mean of @candidate[i] - @base[i] over @n >= 2 pairs and its 95% t interval.
 * Returns: FALSE when @n < 2 or a value is not finite.
 */
gboolean compare_paired_ci(const double *base, const double *candidate, gsize n, double *mean,
                           double *low, double *high);

/**
 * compare_welch_ci:
 * The difference of two means (candidate - base) from the samples' means, standard deviations
 * and sizes, with Welch's 95% interval; @df receives the Welch-Satterthwaite degrees of freedom
 * (NaN when both standard deviations are 0, and then the interval is the difference itself).
 * Returns: FALSE when a size is below 2 or a value is not finite.
 */
gboolean compare_welch_ci(double base_mean, double base_sd, gsize base_n, double cand_mean,
                          double cand_sd, gsize cand_n, double *diff, double *low, double *high,
                          double *df);

/* The 95% Wilson score interval of @k successes in @n > 0 trials. */
void compare_wilson(gsize k, gsize n, double *low, double *high);

/**
 * compare_newcombe_ci:
 * The difference of two proportions, @cand_k / @cand_n - @base_k / @base_n, with Newcombe's
 * hybrid score interval (his method 10, from the two Wilson intervals), as fractions.
 * Returns: FALSE when a size is 0 or a count exceeds its size.
 */
gboolean compare_newcombe_ci(gsize base_k, gsize base_n, gsize cand_k, gsize cand_n, double *diff,
                             double *low, double *high);

/* ---- inputs ------------------------------------------------------------------------------ */

typedef struct _CompareInput CompareInput;

/**
 * compare_input_load:
 * Reads @path and checks that it is a results file (docs/results.md) that compare can read:
 * every field compare uses has the type it must have.
 * Returns: (transfer full): the input, or NULL with @error (COMPARE_ERROR) naming the file, the
 * line and column, and the field.
 */
CompareInput *compare_input_load(const char *path, GError **error);

void compare_input_free(CompareInput *input);

/* ---- the comparison ---------------------------------------------------------------------- */

typedef enum {
    COMPARE_METHOD_NONE,
    COMPARE_METHOD_PAIRED,
    COMPARE_METHOD_WELCH,
    COMPARE_METHOD_NEWCOMBE,
} CompareMethod;

typedef enum {
    COMPARE_VERDICT_REGRESSION,
    COMPARE_VERDICT_WORSE,
    COMPARE_VERDICT_IMPROVEMENT,
    COMPARE_VERDICT_NOT_SIGNIFICANT,
    COMPARE_VERDICT_UNCHANGED,
    COMPARE_VERDICT_UNTESTED,
    COMPARE_N_VERDICTS,
} CompareVerdict;

/* "regression", "worse", "improvement", "not significant", "unchanged", "untested". */
const char *compare_verdict_name(CompareVerdict verdict);

typedef struct {
    const CompareMetricInfo *metric;
    double base, candidate; /* the metric's value in each file (NaN: none) */
    double difference;      /* candidate - base */
    double ci_low, ci_high; /* 95% interval of the difference (NaN: untested) */
    CompareMethod method;
    gboolean delta;       /* total_savings_pct: the interval is the delta method's */
    gsize n_base, n_cand; /* runs (or pairs, then equal) behind each side */
    double df;            /* t degrees of freedom; NaN for Newcombe and untested */
    CompareLimit limit;
    double limit_abs; /* the limit in the metric's unit; NaN when not gated */
    CompareVerdict verdict;
    char *note;     /* why a metric is untested, or NULL */
    gboolean empty; /* neither file has a value (no recoveries, say): unchanged */
} CompareRow;

typedef struct {
    char *name;
    gboolean paired; /* the runs of the two files were matched one to one */
    GArray *rows;    /* CompareRow, in compare_metrics() order */
} ComparePolicy;

typedef struct {
    char *path;
    char *scenario; /* NULL when the file names none */
    gboolean has_seed;
    gint64 seed;
    gint64 runs; /* per policy; -1 when unknown */
} CompareSide;

typedef struct {
    char *model; /* "tick" or "continuous" */
    CompareSide base, candidate;
    gboolean same_scenario; /* same name, seed and number of runs: runs can be paired */
    GPtrArray *policies;    /* ComparePolicy*, in the base file's order */
    GPtrArray *warnings;    /* char*: what the command should print on stderr */
    gsize counts[COMPARE_N_VERDICTS];
} Comparison;

/**
 * compare_new:
 * Compares every policy of @candidate that @base also has, metric by metric. @limits (@n_limits,
 * later ones win) replace the default limits of the metrics they name; @metrics (NULL or
 * NULL-terminated) restricts the comparison to those metrics.
 * Returns: (transfer full): the comparison, or NULL with @error: COMPARE_ERROR_MISMATCH for
 * files of different models or without a policy in common, COMPARE_ERROR_USAGE for an unknown
 * metric in @metrics or when none of @metrics is in both files.
 */
Comparison *compare_new(const CompareInput *base, const CompareInput *candidate,
                        const CompareLimit *limits, gsize n_limits, const char *const *metrics,
                        GError **error);

void compare_free(Comparison *comparison);

/* Whether the gate failed: at least one regression. */
gboolean compare_failed(const Comparison *comparison);

/* The table `spotlab compare` prints, ending with the line of counts. */
char *compare_table(const Comparison *comparison);

/* The line of counts: "compare: 1 regression, 2 improvements, ...". */
char *compare_counts_line(const Comparison *comparison);

/* The comparison as a JSON document (docs/compare.md). */
json_t *compare_to_json(const Comparison *comparison);

/* Markdown for a pull-request comment: the counts, and a table of the significant changes. */
char *compare_markdown(const Comparison *comparison);

/* JUnit XML: one test case per policy and gated metric, failing on a regression. */
char *compare_junit(const Comparison *comparison);

/* Whether @path ends in an extension compare_write() knows: .json, .md or .xml. */
gboolean compare_output_known(const char *path);

/* Writes the comparison to @path atomically, in the format its extension names. */
gboolean compare_write(const Comparison *comparison, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CompareInput, compare_input_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Comparison, compare_free)

G_END_DECLS
