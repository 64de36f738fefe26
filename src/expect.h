/* spotlab: expectations, what a scenario says must hold.
 *
 * A scenario's "expect" list (docs/scenarios.md, "Expectations") names a metric of the results,
 * an aggregate over the replicas (mean, a percentile, an end of the 95% confidence interval...)
 * and a bound, for some policies or for all. The scenario reader checks and resolves them
 * (scenario__load_expectations); after a run, expect_evaluate() measures each against the
 * results document, policy by policy, and gives a verdict. The verdicts go into the results
 * file ("expectations") and decide `spotlab run`'s exit status.
 */
#pragma once

#include "scenario.h"

#include <jansson.h>

G_BEGIN_DECLS

typedef enum {
    EXPECT_UNIT_USD = 0,
    EXPECT_UNIT_PERCENT,
    EXPECT_UNIT_HOURS,
    EXPECT_UNIT_SECONDS,
    EXPECT_UNIT_COUNT,
    EXPECT_UNIT_FRACTION,
} ExpectUnit;

typedef struct {
    char *field;    /* where it is in the scenario: "expect[2]" */
    char *name;     /* the user's name for it, or NULL */
    GStrv policies; /* the policies it applies to, resolved (swept variants expanded) */
    char *metric;   /* a key of the results' policy summaries */
    char
        *aggregate; /* mean, median, p90, p95, min, max, stddev, ci95, ci95_low, ci95_high, value */
    ExpectUnit unit;
    double min, max; /* the bound; NaN where open */
    gboolean has_target;
    double target, tolerance; /* as written: the tolerance relative when @tolerance_relative */
    gboolean tolerance_relative;
} Expectation;

void expectation_free(Expectation *e);

/* The metrics expectations may name in a scenario of @model, NULL-terminated (static). */
const char *const *expect_metric_names(ScenarioModel model);

/**
 * expect_evaluate:
 * Measures every expectation of @scenario on @results (a results document of that scenario).
 * Returns: (transfer full): an array of verdict objects, one per expectation and policy, in the
 * scenario's order (docs/results.md, "expectations").
 */
json_t *expect_evaluate(const Scenario *scenario, const json_t *results);

/* The number of failed verdicts in @verdicts. */
gsize expect_failures(const json_t *verdicts);

/* The lines `spotlab run` prints: one per verdict; only the failures when @failed_only. */
char *expect_table(const json_t *verdicts, gboolean failed_only);

G_END_DECLS
