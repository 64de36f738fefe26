/* spotlab: expectations (see expect.h). */
#include "expect.h"

#include "run.h"
#include "scenario-private.h"

#include <math.h>
#include <string.h>

/* ---- the metrics ------------------------------------------------------------------------- */

typedef enum { MODEL_TICK = 1, MODEL_CONTINUOUS = 2, MODEL_BOTH = 3 } ModelMask;

typedef struct {
    const char *name;
    ExpectUnit unit;
    gboolean scalar; /* a plain number in the summary, not a distribution */
    ModelMask models;
} Metric;

static const Metric metrics[] = {
    {"cost", EXPECT_UNIT_USD, FALSE, MODEL_BOTH},
    {"cost_compute", EXPECT_UNIT_USD, FALSE, MODEL_CONTINUOUS},
    {"cost_storage", EXPECT_UNIT_USD, FALSE, MODEL_CONTINUOUS},
    {"cost_egress", EXPECT_UNIT_USD, FALSE, MODEL_CONTINUOUS},
    {"savings_pct", EXPECT_UNIT_PERCENT, FALSE, MODEL_BOTH},
    {"total_savings_pct", EXPECT_UNIT_PERCENT, TRUE, MODEL_BOTH},
    {"finish_hours", EXPECT_UNIT_HOURS, FALSE, MODEL_TICK},
    {"completion_hours", EXPECT_UNIT_HOURS, FALSE, MODEL_CONTINUOUS},
    {"finished_pct", EXPECT_UNIT_PERCENT, TRUE, MODEL_CONTINUOUS},
    {"deadline_met_pct", EXPECT_UNIT_PERCENT, TRUE, MODEL_BOTH},
    {"preemptions_mean", EXPECT_UNIT_COUNT, TRUE, MODEL_TICK},
    {"lost_gpu_hours", EXPECT_UNIT_HOURS, FALSE, MODEL_CONTINUOUS},
    {"interruptions", EXPECT_UNIT_COUNT, FALSE, MODEL_CONTINUOUS},
    {"recovery_seconds", EXPECT_UNIT_SECONDS, FALSE, MODEL_CONTINUOUS},
    {"notices", EXPECT_UNIT_COUNT, FALSE, MODEL_CONTINUOUS},
    {"emergency_attempted", EXPECT_UNIT_COUNT, FALSE, MODEL_CONTINUOUS},
    {"emergency_finished", EXPECT_UNIT_COUNT, FALSE, MODEL_CONTINUOUS},
    {"checkpoint_hours", EXPECT_UNIT_HOURS, FALSE, MODEL_CONTINUOUS},
    {"paid_hours", EXPECT_UNIT_HOURS, FALSE, MODEL_CONTINUOUS},
    {"goodput", EXPECT_UNIT_FRACTION, FALSE, MODEL_CONTINUOUS},
    {"cost_per_unit", EXPECT_UNIT_USD, FALSE, MODEL_CONTINUOUS},
};

static const char *const distribution_aggregates[] = {
    "mean", "median", "p90", "p95", "min", "max", "stddev", "ci95", "ci95_low", "ci95_high", NULL};

static ModelMask
__mask(ScenarioModel model)
{
    return model == SCENARIO_MODEL_CONTINUOUS ? MODEL_CONTINUOUS : MODEL_TICK;
}

const char *const *
expect_metric_names(ScenarioModel model)
{
    static const char *names[2][G_N_ELEMENTS(metrics) + 1];
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        for (int m = 0; m < 2; m++) {
            gsize n = 0;
            ModelMask mask = m ? MODEL_CONTINUOUS : MODEL_TICK;
            for (gsize i = 0; i < G_N_ELEMENTS(metrics); i++)
                if (metrics[i].models & mask)
                    names[m][n++] = metrics[i].name;
            names[m][n] = NULL;
        }
        g_once_init_leave(&done, 1);
    }
    return names[model == SCENARIO_MODEL_CONTINUOUS];
}

static const Metric *
__metric(ScenarioModel model, const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(metrics); i++)
        if ((metrics[i].models & __mask(model)) && strcmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return NULL;
}

void
expectation_free(Expectation *e)
{
    if (e == NULL)
        return;
    g_free(e->field);
    g_free(e->name);
    g_strfreev(e->policies);
    g_free(e->metric);
    g_free(e->aggregate);
    g_free(e);
}

/* ---- reading them ------------------------------------------------------------------------ */

/* "$1,500.25" or "1500.25" (USD). */
static gboolean
__parse_usd(const char *text, double *out)
{
    if (*text == '$')
        text++;
    g_autoptr(GString) digits = g_string_new(NULL);
    for (const char *p = text; *p; p++)
        if (*p != ',')
            g_string_append_c(digits, *p);
    if (digits->len == 0 || g_ascii_isspace(digits->str[0]))
        return FALSE;
    char *end;
    double v = g_ascii_strtod(digits->str, &end);
    if (*end != '\0' || !isfinite(v))
        return FALSE;
    *out = v;
    return TRUE;
}

/* "95%" into 95 (percent); FALSE without the sign. */
static gboolean
__parse_percent(const char *text, double *out)
{
    gsize n = strlen(text);
    if (n < 2 || text[n - 1] != '%' || g_ascii_isspace(text[0]))
        return FALSE;
    g_autofree char *num = g_strndup(text, n - 1);
    char *end;
    double v = g_ascii_strtod(num, &end);
    if (*end != '\0' || !isfinite(v))
        return FALSE;
    *out = v;
    return TRUE;
}

static const char *
__unit_example(ExpectUnit unit)
{
    switch (unit) {
    case EXPECT_UNIT_USD:
        return "an amount like \"$500\" or a number of USD";
    case EXPECT_UNIT_PERCENT:
        return "a percentage like \"95%\" or a number of percent";
    case EXPECT_UNIT_HOURS:
        return "a duration like \"30h\" or \"1d\", or a number of hours";
    case EXPECT_UNIT_SECONDS:
        return "a duration like \"5m\" or \"90s\", or a number of seconds";
    case EXPECT_UNIT_FRACTION:
        return "a fraction like 0.9 or \"90%\"";
    case EXPECT_UNIT_COUNT:
    default:
        return "a number";
    }
}

/* A bound's value at @field in the metric's unit. */
static gboolean
__value(Ctx *ctx, json_t *v, const char *field, ExpectUnit unit, double *out)
{
    double x = NAN;
    gboolean ok = FALSE;
    if (json_is_number(v)) {
        x = json_number_value(v);
        ok = isfinite(x);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        double seconds;
        switch (unit) {
        case EXPECT_UNIT_USD:
            ok = __parse_usd(s, &x);
            break;
        case EXPECT_UNIT_PERCENT:
            ok = __parse_percent(s, &x);
            break;
        case EXPECT_UNIT_FRACTION:
            ok = __parse_percent(s, &x);
            x /= 100.0;
            break;
        case EXPECT_UNIT_HOURS:
        case EXPECT_UNIT_SECONDS:
            ok = scenario_parse_duration(s, &seconds);
            x = unit == EXPECT_UNIT_HOURS ? seconds / 3600.0 : seconds;
            break;
        case EXPECT_UNIT_COUNT:
        default:
            break;
        }
    }
    if (!ok) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, field, "expected %s, got %s", __unit_example(unit), got);
    }
    *out = x;
    return TRUE;
}

/* The policies @name stands for: a policy of the scenario, or a swept strategy's name. */
static gboolean
__resolve(const Scenario *sc, const char *name, GPtrArray *out)
{
    gboolean found = FALSE;
    if (sc->model == SCENARIO_MODEL_CONTINUOUS) {
        for (guint k = 0; k < sc->strategies->len; k++) {
            const SimStrategy *s = sc->strategies->pdata[k];
            const char *group = sc->strategy_groups->pdata[k];
            if (strcmp(s->name, name) == 0 || strcmp(group, name) == 0) {
                g_ptr_array_add(out, g_strdup(s->name));
                found = TRUE;
            }
        }
    } else {
        for (guint k = 0; k < sc->n_policies; k++) {
            if (strcmp(sim_tick_policy_name(sc->policies[k]), name) == 0) {
                g_ptr_array_add(out, g_strdup(name));
                found = TRUE;
            }
        }
    }
    return found;
}

static char *
__policy_list(const Scenario *sc)
{
    g_autoptr(GString) s = g_string_new(NULL);
    if (sc->model == SCENARIO_MODEL_CONTINUOUS) {
        for (guint k = 0; k < sc->strategy_groups->len; k++) {
            const char *group = sc->strategy_groups->pdata[k];
            if (k > 0 && strcmp(group, sc->strategy_groups->pdata[k - 1]) == 0)
                continue;
            g_string_append_printf(s, "%s\"%s\"", s->len ? ", " : "", group);
        }
    } else {
        for (guint k = 0; k < sc->n_policies; k++)
            g_string_append_printf(s, "%s\"%s\"", k ? ", " : "",
                                   sim_tick_policy_name(sc->policies[k]));
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static gboolean
__policies(Ctx *ctx, const Scenario *sc, json_t *obj, const char *field, Expectation *e)
{
    json_t *v = json_object_get(obj, "policy");
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *f = scenario__join(field, "policy");
    if (v == NULL) {
        if (sc->model == SCENARIO_MODEL_CONTINUOUS) {
            for (guint k = 0; k < sc->strategies->len; k++)
                g_ptr_array_add(names, g_strdup(((SimStrategy *)sc->strategies->pdata[k])->name));
        } else {
            for (guint k = 0; k < sc->n_policies; k++)
                g_ptr_array_add(names, g_strdup(sim_tick_policy_name(sc->policies[k])));
        }
    } else if (json_is_string(v) || (json_is_array(v) && json_array_size(v) > 0)) {
        gsize n = json_is_string(v) ? 1 : json_array_size(v);
        for (gsize i = 0; i < n; i++) {
            json_t *item = json_is_string(v) ? v : json_array_get(v, i);
            g_autofree char *fi =
                json_is_string(v) ? g_strdup(f) : g_strdup_printf("%s[%zu]", f, i);
            if (!json_is_string(item)) {
                g_autofree char *got = json_describe(item);
                return scenario__fail(ctx, fi, "expected a policy name, got %s", got);
            }
            const char *name = json_string_value(item);
            for (gsize j = 0; j < i; j++) {
                if (strcmp(json_string_value(json_array_get(v, j)), name) == 0)
                    return scenario__fail(ctx, fi, "\"%s\" is listed twice", name);
            }
            if (!__resolve(sc, name, names)) {
                g_autofree char *list = __policy_list(sc);
                return scenario__fail(
                    ctx, fi,
                    "expected the name of one of the scenario's %s (%s), got "
                    "\"%s\"",
                    sc->model == SCENARIO_MODEL_CONTINUOUS ? "strategies" : "policies", list, name);
            }
        }
    } else {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f,
                              "expected a policy name or a non-empty list of them (absent: "
                              "every policy), got %s",
                              got);
    }
    g_ptr_array_add(names, NULL);
    e->policies = (GStrv)g_ptr_array_steal(names, NULL);
    return TRUE;
}

static gboolean
__expectation(Ctx *ctx, Scenario *sc, json_t *obj, gsize i)
{
    static const char *const keys[] = {"name", "policy",  "metric", "aggregate", "min",
                                       "max",  "between", "target", "tolerance", NULL};
    g_autofree char *field = g_strdup_printf("expect[%zu]", i);
    if (!scenario__object(ctx, obj, field, "an expectation") ||
        !scenario__check_keys(ctx, obj, field, keys))
        return FALSE;
    Expectation *e = g_new0(Expectation, 1);
    g_ptr_array_add(sc->expectations, e);
    e->field = g_strdup(field);
    e->min = e->max = NAN;
    const char *name = NULL, *metric = NULL, *aggregate = NULL;
    if (!scenario__string(ctx, obj, field, "name", FALSE, &name) ||
        !scenario__string(ctx, obj, field, "metric", FALSE, &metric) ||
        !scenario__string(ctx, obj, field, "aggregate", FALSE, &aggregate))
        return FALSE;
    e->name = g_strdup(name);

    const char *const *names = expect_metric_names(sc->model);
    const char *model = sc->model == SCENARIO_MODEL_CONTINUOUS ? "continuous" : "tick";
    g_autofree char *known = g_strjoinv(", ", (char **)names);
    g_autofree char *fm = scenario__join(field, "metric");
    if (metric == NULL)
        return scenario__fail(ctx, fm, "missing; expected one of the %s model's metrics: %s", model,
                              known);
    const Metric *m = __metric(sc->model, metric);
    if (m == NULL) {
        const Metric *other =
            __metric(sc->model == SCENARIO_MODEL_CONTINUOUS ? SCENARIO_MODEL_TICK
                                                            : SCENARIO_MODEL_CONTINUOUS,
                     metric);
        return scenario__fail(ctx, fm, "expected one of the %s model's metrics (%s), got \"%s\"%s",
                              model, known, metric,
                              other ? (sc->model == SCENARIO_MODEL_CONTINUOUS
                                           ? ", which only the tick model reports"
                                           : ", which only the continuous model reports")
                                    : "");
    }
    e->metric = g_strdup(m->name);
    e->unit = m->unit;

    g_autofree char *fa = scenario__join(field, "aggregate");
    if (m->scalar) {
        if (aggregate != NULL && strcmp(aggregate, "value") != 0)
            return scenario__fail(ctx, fa,
                                  "expected \"value\" (or nothing): %s is one number per "
                                  "policy, not a distribution over replicas, got \"%s\"",
                                  m->name, aggregate);
        e->aggregate = g_strdup("value");
    } else if (aggregate == NULL) {
        e->aggregate = g_strdup("mean");
    } else if (g_strv_contains(distribution_aggregates, aggregate)) {
        e->aggregate = g_strdup(aggregate);
    } else {
        g_autofree char *list = g_strjoinv(", ", (char **)distribution_aggregates);
        return scenario__fail(ctx, fa, "expected one of %s, got \"%s\"", list, aggregate);
    }

    /* The bound: min and/or max, between, or target with tolerance. */
    json_t *vmin = json_object_get(obj, "min"), *vmax = json_object_get(obj, "max");
    json_t *between = json_object_get(obj, "between"), *target = json_object_get(obj, "target");
    json_t *tolerance = json_object_get(obj, "tolerance");
    int kinds = (vmin || vmax) + (between != NULL) + (target != NULL);
    if (kinds == 0)
        return scenario__fail(ctx, field,
                              "expected a bound: \"max\", \"min\" (or both), \"between\": [low, "
                              "high], or \"target\" with \"tolerance\"");
    if (kinds > 1) {
        const char *second = target ? "target" : "between";
        g_autofree char *f = scenario__join(field, second);
        return scenario__fail(ctx, f,
                              "expected one kind of bound: \"min\"/\"max\", \"between\" or "
                              "\"target\" with \"tolerance\", not several");
    }
    if (tolerance != NULL && target == NULL) {
        g_autofree char *f = scenario__join(field, "tolerance");
        return scenario__fail(ctx, f, "a tolerance needs a \"target\" to be around");
    }
    if (vmin) {
        g_autofree char *f = scenario__join(field, "min");
        if (!__value(ctx, vmin, f, m->unit, &e->min))
            return FALSE;
    }
    if (vmax) {
        g_autofree char *f = scenario__join(field, "max");
        if (!__value(ctx, vmax, f, m->unit, &e->max))
            return FALSE;
    }
    if (between) {
        g_autofree char *f = scenario__join(field, "between");
        if (!json_is_array(between) || json_array_size(between) != 2) {
            g_autofree char *got = json_is_array(between)
                                       ? g_strdup_printf("a list of %zu", json_array_size(between))
                                       : json_describe(between);
            return scenario__fail(ctx, f, "expected two values [low, high] (%s each), got %s",
                                  __unit_example(m->unit), got);
        }
        g_autofree char *f0 = g_strdup_printf("%s[0]", f), *f1 = g_strdup_printf("%s[1]", f);
        if (!__value(ctx, json_array_get(between, 0), f0, m->unit, &e->min) ||
            !__value(ctx, json_array_get(between, 1), f1, m->unit, &e->max))
            return FALSE;
    }
    if (!isnan(e->min) && !isnan(e->max) && e->min > e->max) {
        g_autofree char *f = scenario__join(field, between ? "between" : "max");
        return scenario__fail(ctx, f, "expected the upper bound to be at least the lower one");
    }
    if (target) {
        g_autofree char *ft = scenario__join(field, "target");
        g_autofree char *fl = scenario__join(field, "tolerance");
        if (!__value(ctx, target, ft, m->unit, &e->target))
            return FALSE;
        if (tolerance == NULL)
            return scenario__fail(ctx, fl,
                                  "missing; a target needs a tolerance: %s, or a relative one "
                                  "like \"10%%\"",
                                  __unit_example(m->unit));
        double tol;
        if (json_is_string(tolerance) && __parse_percent(json_string_value(tolerance), &tol)) {
            e->tolerance_relative = TRUE;
            e->tolerance = tol / 100.0;
        } else {
            /* Percent and fraction metrics: a tolerance with a % sign is relative; an absolute
             * one is a plain number. */
            ExpectUnit tu = m->unit == EXPECT_UNIT_FRACTION ? EXPECT_UNIT_COUNT : m->unit;
            if (!__value(ctx, tolerance, fl, tu, &e->tolerance))
                return FALSE;
        }
        if (e->tolerance < 0) {
            g_autofree char *got = json_describe(tolerance);
            return scenario__fail(ctx, fl, "expected a tolerance of at least 0, got %s", got);
        }
        double half = e->tolerance_relative ? e->tolerance * fabs(e->target) : e->tolerance;
        e->has_target = TRUE;
        e->min = e->target - half;
        e->max = e->target + half;
    }
    return __policies(ctx, sc, obj, field, e);
}

gboolean
scenario__load_expectations(Ctx *ctx, Scenario *sc, json_t *root)
{
    sc->expectations = g_ptr_array_new_with_free_func((GDestroyNotify)expectation_free);
    json_t *list = json_object_get(root, "expect");
    if (list == NULL)
        return TRUE;
    if (!json_is_array(list) || json_array_size(list) == 0) {
        g_autofree char *got = json_describe(list);
        return scenario__fail(ctx, "expect",
                              "expected a non-empty list of expectations like {\"metric\": "
                              "\"cost\", \"max\": \"$500\"}, got %s",
                              got);
    }
    for (gsize i = 0; i < json_array_size(list); i++)
        if (!__expectation(ctx, sc, json_array_get(list, i), i))
            return FALSE;
    return TRUE;
}

/* ---- measuring them ---------------------------------------------------------------------- */

/* @v in its unit: USD with @digits decimals (at least 2), other units with @digits significant
 * digits (at least 4), never in exponent form for large values. */
static void
__format_digits(char *buf, gsize size, double v, ExpectUnit unit, int digits)
{
    if (!isfinite(v)) {
        g_strlcpy(buf, "no data", size);
        return;
    }
    char num[G_ASCII_DTOSTR_BUF_SIZE], fmt[16];
    if (unit == EXPECT_UNIT_USD) {
        if (digits <= 2) {
            run_format_money(buf, size, v);
            return;
        }
        g_snprintf(fmt, sizeof fmt, "%%.%df", digits);
        g_ascii_formatd(num, sizeof num, fmt, fabs(v));
        g_snprintf(buf, size, "%s$%s", v < 0 ? "-" : "", num);
        return;
    }
    if (fabs(v) >= pow(10, digits))
        g_snprintf(fmt, sizeof fmt, "%%.0f");
    else
        g_snprintf(fmt, sizeof fmt, "%%.%dg", digits);
    g_ascii_formatd(num, sizeof num, fmt, v);
    const char *suffix = unit == EXPECT_UNIT_PERCENT   ? "%"
                         : unit == EXPECT_UNIT_HOURS   ? " h"
                         : unit == EXPECT_UNIT_SECONDS ? " s"
                                                       : "";
    g_snprintf(buf, size, "%s%s", num, suffix);
}

/* A bound as written: the fewest digits (2 decimals of USD, 4 significant digits at least) that
 * give its value back. */
static void
__format(char *buf, gsize size, double v, ExpectUnit unit)
{
    int digits = unit == EXPECT_UNIT_USD ? 2 : 4;
    for (; digits < 15 && isfinite(v); digits++) {
        char num[G_ASCII_DTOSTR_BUF_SIZE], fmt[16];
        g_snprintf(fmt, sizeof fmt, unit == EXPECT_UNIT_USD ? "%%.%df" : "%%.%dg", digits);
        double back = g_ascii_strtod(g_ascii_formatd(num, sizeof num, fmt, v), NULL);
        if (fabs(back - v) <= 1e-12 * fabs(v))
            break;
    }
    __format_digits(buf, size, v, unit, digits);
}

/* A measured value with enough digits that it never prints equal to a bound it differs from
 * ("measured 99.996%" against ">= 100%", not "measured 100%"). */
static void
__format_measured(char *buf, gsize size, double v, const Expectation *e)
{
    int digits = e->unit == EXPECT_UNIT_USD ? 2 : 4;
    for (; digits < 15; digits++) {
        gboolean clash = FALSE;
        const double bounds[2] = {e->min, e->max};
        for (int k = 0; k < 2; k++) {
            if (!isfinite(bounds[k]) || bounds[k] == v)
                continue;
            char a[64], b[64];
            __format_digits(a, sizeof a, v, e->unit, digits);
            __format_digits(b, sizeof b, bounds[k], e->unit, digits);
            clash = clash || strcmp(a, b) == 0;
        }
        if (!clash)
            break;
    }
    __format_digits(buf, size, v, e->unit, digits);
}

static const char *
__unit_name(ExpectUnit unit)
{
    static const char *const names[] = {"USD", "%", "hours", "seconds", "count", "fraction"};
    return unit < G_N_ELEMENTS(names) ? names[unit] : "count";
}

/* "greedy: p95 cost <= $50.00" */
static char *
__text(const Expectation *e, const char *policy)
{
    char a[64], b[64];
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s: %s", policy, e->metric);
    if (strcmp(e->aggregate, "value") != 0)
        g_string_append_printf(s, " (%s)",
                               strcmp(e->aggregate, "ci95") == 0        ? "95% CI of the mean"
                               : strcmp(e->aggregate, "ci95_low") == 0  ? "low end of the 95% CI"
                               : strcmp(e->aggregate, "ci95_high") == 0 ? "high end of the 95% CI"
                                                                        : e->aggregate);
    if (e->has_target) {
        __format(a, sizeof a, e->target, e->unit);
        if (e->tolerance_relative) {
            char num[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append_printf(s, " within %s%% of %s",
                                   g_ascii_formatd(num, sizeof num, "%.4g", e->tolerance * 100), a);
        } else {
            __format(b, sizeof b, e->tolerance,
                     e->unit == EXPECT_UNIT_FRACTION ? EXPECT_UNIT_COUNT : e->unit);
            g_string_append_printf(s, " within %s of %s", b, a);
        }
    } else if (!isnan(e->min) && !isnan(e->max)) {
        __format(a, sizeof a, e->min, e->unit);
        __format(b, sizeof b, e->max, e->unit);
        g_string_append_printf(s, " between %s and %s", a, b);
    } else if (!isnan(e->min)) {
        __format(a, sizeof a, e->min, e->unit);
        g_string_append_printf(s, " >= %s", a);
    } else {
        __format(a, sizeof a, e->max, e->unit);
        g_string_append_printf(s, " <= %s", a);
    }
    return g_string_free(s, FALSE);
}

/* A number of the results document as the results file holds it: rounded to 15 significant
 * digits (run_json_write), so that a bound copied from the file decides as it reads. */
static double
__number(const json_t *v)
{
    if (!json_is_number(v))
        return (double)NAN;
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_ascii_strtod(g_ascii_formatd(buf, sizeof buf, "%.15g", json_number_value(v)), NULL);
}

static const json_t *
__policy_summary(const json_t *results, const char *policy)
{
    const json_t *policies = json_object_get(results, "policies");
    for (gsize k = 0; k < json_array_size(policies); k++) {
        const json_t *p = json_array_get(policies, k);
        const char *name = json_string_value(json_object_get(p, "name"));
        if (name != NULL && strcmp(name, policy) == 0)
            return json_object_get(p, "summary");
    }
    return NULL;
}

/* One verdict: the measured value(s) of @e for @policy, and whether they are within bounds. */
static json_t *
__verdict(const Expectation *e, const char *policy, const json_t *results)
{
    const json_t *summary = __policy_summary(results, policy);
    const json_t *v = summary ? json_object_get(summary, e->metric) : NULL;
    double measured = NAN, lo = NAN, hi = NAN;
    gboolean interval = strcmp(e->aggregate, "ci95") == 0;
    if (strcmp(e->aggregate, "value") == 0) {
        measured = __number(v);
    } else if (json_is_object(v)) {
        const json_t *ci = json_object_get(v, "ci95");
        lo = __number(json_array_get(ci, 0));
        hi = __number(json_array_get(ci, 1));
        if (strcmp(e->aggregate, "ci95_low") == 0)
            measured = lo;
        else if (strcmp(e->aggregate, "ci95_high") == 0)
            measured = hi;
        else if (interval)
            measured = __number(json_object_get(v, "mean"));
        else
            measured = __number(json_object_get(v, e->aggregate));
    }
    gboolean pass;
    if (interval) {
        /* The whole interval must lie within the bound: a conservative gate. */
        pass = isfinite(lo) && isfinite(hi) && (isnan(e->min) || lo >= e->min) &&
               (isnan(e->max) || hi <= e->max);
        /* The end that decided: the one nearer the bound it must respect (or past it). */
        if (isnan(e->min))
            measured = hi;
        else if (isnan(e->max))
            measured = lo;
        else
            measured = lo < e->min ? lo : hi > e->max ? hi : measured;
    } else {
        pass = isfinite(measured) && (isnan(e->min) || measured >= e->min) &&
               (isnan(e->max) || measured <= e->max);
    }
    g_autofree char *text = __text(e, policy);
    char shown[160];
    __format_measured(shown, sizeof shown, measured, e);
    if (interval) {
        char l[64], h[64];
        __format_measured(l, sizeof l, lo, e);
        __format_measured(h, sizeof h, hi, e);
        g_snprintf(shown, sizeof shown, "[%s, %s]", l, h);
    }
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "name", e->name ? e->name : text, "field",
                  e->field, "policy", policy, "metric", e->metric, "aggregate", e->aggregate, "min",
                  run_json_number(e->min), "max", run_json_number(e->max));
    if (e->has_target) {
        json_object_set_new(o, "target", run_json_number(e->target));
        json_object_set_new(o, "tolerance", run_json_number(e->tolerance));
        json_object_set_new(o, "tolerance_relative", json_boolean(e->tolerance_relative));
    }
    json_object_set_new(o, "unit", json_string(__unit_name(e->unit)));
    json_object_set_new(o, "measured", run_json_number(measured));
    if (interval)
        json_object_set_new(o, "interval",
                            json_pack("[o, o]", run_json_number(lo), run_json_number(hi)));
    json_object_set_new(o, "measured_text", json_string(shown));
    json_object_set_new(o, "verdict", json_string(pass ? "pass" : "fail"));
    json_object_set_new(o, "text", json_string(text));
    return o;
}

json_t *
expect_evaluate(const Scenario *sc, const json_t *results)
{
    json_t *out = json_array();
    for (guint i = 0; sc->expectations != NULL && i < sc->expectations->len; i++) {
        const Expectation *e = sc->expectations->pdata[i];
        for (char **p = e->policies; *p != NULL; p++)
            json_array_append_new(out, __verdict(e, *p, results));
    }
    return out;
}

gsize
expect_failures(const json_t *verdicts)
{
    gsize n = 0;
    for (gsize i = 0; i < json_array_size(verdicts); i++) {
        const char *v = json_string_value(json_object_get(json_array_get(verdicts, i), "verdict"));
        n += v == NULL || strcmp(v, "pass") != 0;
    }
    return n;
}

char *
expect_table(const json_t *verdicts, gboolean failed_only)
{
    GString *s = g_string_new(NULL);
    gsize n = json_array_size(verdicts), failed = expect_failures(verdicts);
    if (n == 0)
        return g_string_free(s, FALSE);
    g_string_append_printf(s, "expectations: %zu of %zu passed\n", n - failed, n);
    for (gsize i = 0; i < n; i++) {
        const json_t *v = json_array_get(verdicts, i);
        gboolean pass = strcmp(json_string_value(json_object_get(v, "verdict")), "pass") == 0;
        if (failed_only && pass)
            continue;
        const char *text = json_string_value(json_object_get(v, "text"));
        const char *name = json_string_value(json_object_get(v, "name"));
        g_string_append_printf(s, "  %s  %s  %s, measured %s", pass ? "pass" : "FAIL",
                               json_string_value(json_object_get(v, "field")), text,
                               json_string_value(json_object_get(v, "measured_text")));
        if (name != NULL && strcmp(name, text) != 0)
            g_string_append_printf(s, " (%s)", name);
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}
