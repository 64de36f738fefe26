/* spotlab: comparing two results files (see compare.h and docs/compare.md). */
#include "compare.h"
#include "run.h"
#include "scenario.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(spotlab - compare - error - quark, compare_error)

/* ---- the metrics ------------------------------------------------------------------------- */

static const CompareMetricInfo metrics[] = {
    {"cost", COMPARE_UNIT_USD, FALSE, COMPARE_KIND_SUMMARY, "cost", "0%"},
    {"cost_compute", COMPARE_UNIT_USD, FALSE, COMPARE_KIND_SUMMARY, "cost_compute", NULL},
    {"cost_storage", COMPARE_UNIT_USD, FALSE, COMPARE_KIND_SUMMARY, "cost_storage", NULL},
    {"cost_egress", COMPARE_UNIT_USD, FALSE, COMPARE_KIND_SUMMARY, "cost_egress", NULL},
    {"cost_per_unit", COMPARE_UNIT_USD, FALSE, COMPARE_KIND_SUMMARY, "cost_per_unit", NULL},
    {"savings_pct", COMPARE_UNIT_PERCENT, TRUE, COMPARE_KIND_SUMMARY, "savings_pct", "0"},
    {"total_savings_pct", COMPARE_UNIT_PERCENT, TRUE, COMPARE_KIND_TOTAL_SAVINGS, NULL, "0"},
    {"deadline_met_pct", COMPARE_UNIT_PERCENT, TRUE, COMPARE_KIND_PROPORTION, "deadline_met", "0"},
    {"finished_pct", COMPARE_UNIT_PERCENT, TRUE, COMPARE_KIND_PROPORTION, "finished", "0"},
    {"finish_hours", COMPARE_UNIT_HOURS, FALSE, COMPARE_KIND_SUMMARY, "finish_hours", "10%"},
    {"completion_hours", COMPARE_UNIT_HOURS, FALSE, COMPARE_KIND_SUMMARY, "completion_hours",
     "10%"},
    {"lost_gpu_hours", COMPARE_UNIT_HOURS, FALSE, COMPARE_KIND_SUMMARY, "lost_gpu_hours", NULL},
    {"interruptions", COMPARE_UNIT_COUNT, FALSE, COMPARE_KIND_SUMMARY, "interruptions", NULL},
    {"recovery_seconds", COMPARE_UNIT_SECONDS, FALSE, COMPARE_KIND_SUMMARY, NULL, NULL},
    {"checkpoint_hours", COMPARE_UNIT_HOURS, FALSE, COMPARE_KIND_SUMMARY, "checkpoint_hours", NULL},
    {"paid_hours", COMPARE_UNIT_HOURS, FALSE, COMPARE_KIND_SUMMARY, "paid_hours", NULL},
    {"goodput", COMPARE_UNIT_FRACTION, TRUE, COMPARE_KIND_SUMMARY, "goodput", NULL},
};

/* Fields of runs[] that compare reads, and the JSON type each must have when present. The
 * metric "cost_per_unit" is not a field of runs: it is cost / work_units, as the summary has it. */
static const char *const run_number_fields[] = {
    "cost",           "cost_compute", "cost_storage",     "cost_egress",    "savings_pct",
    "on_demand_cost", "finish_hours", "completion_hours", "lost_gpu_hours", "checkpoint_hours",
    "paid_hours",     "goodput",      "work_units",       "interruptions",
};
static const char *const run_boolean_fields[] = {"deadline_met", "finished"};

/* Values that agree to this relative precision are the same: results files carry 15
 * significant digits, and a difference below them is the printing, not the simulation. */
#define SAME_VALUE_RELATIVE 1e-9

const CompareMetricInfo *
compare_metrics(gsize *n)
{
    *n = G_N_ELEMENTS(metrics);
    return metrics;
}

const CompareMetricInfo *
compare_metric_lookup(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(metrics); i++)
        if (strcmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return NULL;
}

char *
compare_metric_names(void)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(metrics); i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", metrics[i].name);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static gsize
__metric_index(const CompareMetricInfo *m)
{
    return (gsize)(m - metrics);
}

/* ---- limits ------------------------------------------------------------------------------ */

/* A plain non-negative number that fills all of @text. */
static gboolean
__parse_amount(const char *text, double *value)
{
    if (*text == '\0' || g_ascii_isspace(*text) || *text == '+' || *text == '-')
        return FALSE;
    char *end = NULL;
    double v = g_ascii_strtod(text, &end);
    while (end != NULL && g_ascii_isspace(*end))
        end++;
    if (end == text || end == NULL || *end != '\0' || !isfinite(v) || v < 0)
        return FALSE;
    *value = v;
    return TRUE;
}

static const char *
__limit_forms(CompareUnit unit)
{
    switch (unit) {
    case COMPARE_UNIT_USD:
        return "an amount in USD (\"5\", \"$5\")";
    case COMPARE_UNIT_HOURS:
        return "a number of hours or a duration (\"0.5\", \"0.5h\", \"30m\")";
    case COMPARE_UNIT_SECONDS:
        return "a number of seconds or a duration (\"90\", \"90s\", \"2m\")";
    case COMPARE_UNIT_PERCENT:
        return "a number of percentage points (\"2\", \"2pts\")";
    case COMPARE_UNIT_COUNT:
    case COMPARE_UNIT_FRACTION:
        break;
    }
    return "a number (\"0.5\")";
}

/* Parses the VALUE of a limit for @m in the metric's unit. */
static gboolean
__parse_limit_value(const CompareMetricInfo *m, const char *text, CompareLimit *limit)
{
    limit->metric = m;
    limit->gated = TRUE;
    limit->relative = FALSE;
    limit->value = 0;
    if (strcmp(text, "none") == 0) {
        limit->gated = FALSE;
        return TRUE;
    }
    gsize len = strlen(text);
    if (len > 1 && text[len - 1] == '%') {
        g_autofree char *number = g_strndup(text, len - 1);
        limit->relative = TRUE;
        return __parse_amount(number, &limit->value);
    }
    if (__parse_amount(text, &limit->value))
        return TRUE;
    switch (m->unit) {
    case COMPARE_UNIT_USD:
        return text[0] == '$' && __parse_amount(text + 1, &limit->value);
    case COMPARE_UNIT_HOURS:
    case COMPARE_UNIT_SECONDS: {
        double seconds = 0;
        if (!scenario_parse_duration(text, &seconds) || !isfinite(seconds))
            return FALSE;
        limit->value = m->unit == COMPARE_UNIT_HOURS ? seconds / 3600.0 : seconds;
        return TRUE;
    }
    case COMPARE_UNIT_PERCENT: {
        static const char *const suffixes[] = {"pts", "pt", " pts", " pt"};
        for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
            if (g_str_has_suffix(text, suffixes[i]) && len > strlen(suffixes[i])) {
                g_autofree char *number = g_strndup(text, len - strlen(suffixes[i]));
                return __parse_amount(number, &limit->value);
            }
        }
        return FALSE;
    }
    case COMPARE_UNIT_COUNT:
    case COMPARE_UNIT_FRACTION:
        break;
    }
    return FALSE;
}

gboolean
compare_limit_parse(const char *arg, CompareLimit *limit, GError **error)
{
    g_return_val_if_fail(arg != NULL && limit != NULL, FALSE);
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_USAGE,
                    "--limit %s: expected METRIC=VALUE, as in cost=5%% or deadline_met_pct=1", arg);
        return FALSE;
    }
    g_autofree char *name = g_strndup(arg, (gsize)(eq - arg));
    const CompareMetricInfo *m = compare_metric_lookup(name);
    if (m == NULL) {
        g_autofree char *known = compare_metric_names();
        g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_USAGE,
                    "--limit %s: unknown metric \"%s\"; known metrics: %s", arg, name, known);
        return FALSE;
    }
    if (!__parse_limit_value(m, eq + 1, limit)) {
        g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_USAGE,
                    "--limit %s: expected %s, a percentage of the base value (\"5%%\") or "
                    "\"none\", at least 0; got \"%s\"",
                    arg, __limit_forms(m->unit), eq + 1);
        return FALSE;
    }
    return TRUE;
}

void
compare_limit_default(const CompareMetricInfo *metric, CompareLimit *limit)
{
    if (metric->default_limit == NULL) {
        *limit = (CompareLimit){.metric = metric, .gated = FALSE};
        return;
    }
    gboolean ok = __parse_limit_value(metric, metric->default_limit, limit);
    g_assert(ok);
}

static const char *
__number(char *buf, gsize size, double v)
{
    return spotlab_format_double(buf, size, v);
}

char *
compare_limit_format(const CompareLimit *limit)
{
    if (!limit->gated)
        return g_strdup("none");
    char num[G_ASCII_DTOSTR_BUF_SIZE];
    __number(num, sizeof num, limit->value);
    if (limit->relative)
        return g_strdup_printf("%s%%", num);
    switch (limit->metric->unit) {
    case COMPARE_UNIT_USD:
        return g_strdup_printf("$%s", num);
    case COMPARE_UNIT_HOURS:
        return g_strdup_printf("%s h", num);
    case COMPARE_UNIT_SECONDS:
        return g_strdup_printf("%s s", num);
    case COMPARE_UNIT_PERCENT:
        return g_strdup_printf("%s pts", num);
    case COMPARE_UNIT_COUNT:
    case COMPARE_UNIT_FRACTION:
        break;
    }
    return g_strdup(num);
}

/* ---- the statistics ---------------------------------------------------------------------- */

#define Z975 1.959963984540054

/* The continued fraction of the regularized incomplete beta function (modified Lentz). */
static double
__beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 100000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

/* I_x(a, b), the regularized incomplete beta function. */
static double
__beta_inc(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2))
        return front * __beta_cf(a, b, x) / a;
    return 1 - front * __beta_cf(b, a, 1 - x) / b;
}

double
compare_t975(double df)
{
    if (!(df > 0))
        return NAN;
    if (isinf(df))
        return Z975;
    /* P(|T| > t) = I_{df / (df + t^2)}(df / 2, 1 / 2) falls as t grows: bisect for 0.05. The
     * quantile lies between the normal one and its value at the smallest df. */
    double lo = Z975, hi = 2 * Z975;
    while (__beta_inc(df / 2, 0.5, df / (df + hi * hi)) > 0.05 && hi < 1e12)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (__beta_inc(df / 2, 0.5, df / (df + mid * mid)) > 0.05)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

gboolean
compare_paired_ci(const double *base, const double *candidate, gsize n, double *mean, double *low,
                  double *high)
{
    if (n < 2)
        return FALSE;
    double sum = 0;
    for (gsize i = 0; i < n; i++) {
        if (!isfinite(base[i]) || !isfinite(candidate[i]))
            return FALSE;
        sum += candidate[i] - base[i];
    }
    double m = sum / (double)n, ss = 0;
    for (gsize i = 0; i < n; i++) {
        double e = candidate[i] - base[i] - m;
        ss += e * e;
    }
    double se = sqrt(ss / (double)(n - 1) / (double)n);
    double half = compare_t975((double)(n - 1)) * se;
    *mean = m;
    *low = m - half;
    *high = m + half;
    return TRUE;
}

gboolean
compare_welch_ci(double base_mean, double base_sd, gsize base_n, double cand_mean, double cand_sd,
                 gsize cand_n, double *diff, double *low, double *high, double *df)
{
    if (base_n < 2 || cand_n < 2 || !isfinite(base_mean) || !isfinite(cand_mean) ||
        !isfinite(base_sd) || !isfinite(cand_sd))
        return FALSE;
    double vb = base_sd * base_sd / (double)base_n, vc = cand_sd * cand_sd / (double)cand_n;
    double d = cand_mean - base_mean, v = vb + vc;
    *diff = d;
    if (v <= 0) {
        *low = *high = d;
        *df = NAN;
        return TRUE;
    }
    double nu = v * v / (vb * vb / (double)(base_n - 1) + vc * vc / (double)(cand_n - 1));
    double half = compare_t975(nu) * sqrt(v);
    *low = d - half;
    *high = d + half;
    *df = nu;
    return TRUE;
}

void
compare_wilson(gsize k, gsize n, double *low, double *high)
{
    g_return_if_fail(n > 0 && k <= n);
    double p = (double)k / (double)n, nn = (double)n, z2 = Z975 * Z975;
    double denom = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / denom;
    double half = Z975 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    *low = MAX(0.0, centre - half);
    *high = MIN(1.0, centre + half);
}

gboolean
compare_newcombe_ci(gsize base_k, gsize base_n, gsize cand_k, gsize cand_n, double *diff,
                    double *low, double *high)
{
    if (base_n == 0 || cand_n == 0 || base_k > base_n || cand_k > cand_n)
        return FALSE;
    double pb = (double)base_k / (double)base_n, pc = (double)cand_k / (double)cand_n;
    double lb, ub, lc, uc;
    compare_wilson(base_k, base_n, &lb, &ub);
    compare_wilson(cand_k, cand_n, &lc, &uc);
    double d = pc - pb;
    *diff = d;
    *low = d - sqrt((pc - lc) * (pc - lc) + (ub - pb) * (ub - pb));
    *high = d + sqrt((uc - pc) * (uc - pc) + (pb - lb) * (pb - lb));
    return TRUE;
}

/* ---- inputs ------------------------------------------------------------------------------ */

struct _CompareInput {
    JsonSource *src;
    const char *model;    /* borrowed from the document */
    const char *scenario; /* NULL when absent */
    gboolean has_seed;
    gint64 seed;
    gint64 runs; /* summary.runs of the first policy */
    json_t *policies;
};

void
compare_input_free(CompareInput *input)
{
    if (input == NULL)
        return;
    json_source_free(input->src);
    g_free(input);
}

static gboolean G_GNUC_PRINTF(4, 5)
    __invalid(const JsonSource *src, GError **error, const char *field, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    json_source_set_error_valist(src, error, COMPARE_ERROR, COMPARE_ERROR_INVALID, field, format,
                                 ap);
    va_end(ap);
    return FALSE;
}

static gboolean
__is_count(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0;
}

/* A summary object: mean, stddev and n, numbers where n > 0. */
static gboolean
__check_summary(const JsonSource *src, json_t *v, const char *field, GError **error)
{
    if (!json_is_object(v)) {
        g_autofree char *got = json_describe(v);
        return __invalid(src, error, field, "expected an object with mean, stddev and n, got %s",
                         got);
    }
    static const char *const keys[] = {"mean", "stddev", "n"};
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
        if (json_object_get(v, keys[i]) == NULL)
            return __invalid(src, error, field,
                             "expected an object with mean, stddev and n; it has no %s", keys[i]);
    json_t *n = json_object_get(v, "n");
    g_autofree char *fn = json_field_join(field, "n");
    if (!__is_count(n)) {
        g_autofree char *got = json_describe(n);
        return __invalid(src, error, fn,
                         "expected a number of values (a whole number >= 0), got %s", got);
    }
    for (gsize i = 0; i < 2; i++) {
        json_t *x = json_object_get(v, keys[i]);
        g_autofree char *fx = json_field_join(field, keys[i]);
        gboolean ok = json_is_number(x) || (json_is_null(x) && json_integer_value(n) == 0);
        if (ok && i == 1 && json_is_number(x) && !(json_number_value(x) >= 0))
            ok = FALSE;
        if (!ok) {
            g_autofree char *got = json_describe(x);
            return __invalid(src, error, fx, "expected %s for n = %lld, got %s",
                             i == 1 ? "a number >= 0" : "a number",
                             (long long)json_integer_value(n), got);
        }
    }
    return TRUE;
}

static gboolean
__check_run(const JsonSource *src, json_t *run, const char *field, GError **error)
{
    if (!json_is_object(run)) {
        g_autofree char *got = json_describe(run);
        return __invalid(src, error, field, "expected a run (an object), got %s", got);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(run_number_fields); i++) {
        json_t *v = json_object_get(run, run_number_fields[i]);
        if (v != NULL && !json_is_number(v) && !json_is_null(v)) {
            g_autofree char *f = json_field_join(field, run_number_fields[i]);
            g_autofree char *got = json_describe(v);
            return __invalid(src, error, f, "expected a number or null, got %s", got);
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(run_boolean_fields); i++) {
        json_t *v = json_object_get(run, run_boolean_fields[i]);
        if (v != NULL && !json_is_boolean(v)) {
            g_autofree char *f = json_field_join(field, run_boolean_fields[i]);
            g_autofree char *got = json_describe(v);
            return __invalid(src, error, f, "expected true or false, got %s", got);
        }
    }
    json_t *pool = json_object_get(run, "pool");
    if (pool != NULL && !json_is_string(pool)) {
        g_autofree char *f = json_field_join(field, "pool");
        g_autofree char *got = json_describe(pool);
        return __invalid(src, error, f, "expected the pool's name, got %s", got);
    }
    static const char *const indices[] = {"start_index", "replica"};
    for (gsize i = 0; i < G_N_ELEMENTS(indices); i++) {
        json_t *v = json_object_get(run, indices[i]);
        if (v != NULL && !__is_count(v)) {
            g_autofree char *f = json_field_join(field, indices[i]);
            g_autofree char *got = json_describe(v);
            return __invalid(src, error, f, "expected a whole number >= 0, got %s", got);
        }
    }
    return TRUE;
}

static gboolean
__check_policy(const JsonSource *src, json_t *p, gsize i, GHashTable *names, GError **error)
{
    g_autofree char *field = g_strdup_printf("policies[%zu]", i);
    if (!json_is_object(p)) {
        g_autofree char *got = json_describe(p);
        return __invalid(src, error, field,
                         "expected a policy (an object with name and summary), "
                         "got %s",
                         got);
    }
    json_t *name = json_object_get(p, "name");
    g_autofree char *fname = json_field_join(field, "name");
    if (!json_is_string(name) || *json_string_value(name) == '\0') {
        g_autofree char *got = json_describe(name);
        return __invalid(src, error, name ? fname : field, "expected the policy's name, got %s",
                         got);
    }
    gpointer other;
    if (g_hash_table_lookup_extended(names, json_string_value(name), NULL, &other))
        return __invalid(src, error, fname,
                         "\"%s\" is also the name of policies[%u]; expected each policy once",
                         json_string_value(name), GPOINTER_TO_UINT(other));
    g_hash_table_insert(names, (gpointer)json_string_value(name), GUINT_TO_POINTER((guint)i));

    json_t *summary = json_object_get(p, "summary");
    g_autofree char *fsummary = json_field_join(field, "summary");
    if (!json_is_object(summary)) {
        g_autofree char *got = json_describe(summary);
        return __invalid(src, error, summary ? fsummary : field,
                         "%sexpected the policy's summary (an object), got %s",
                         summary ? "" : "summary: ", got);
    }
    json_t *runs_n = json_object_get(summary, "runs");
    g_autofree char *fruns_n = json_field_join(fsummary, "runs");
    if (!__is_count(runs_n)) {
        g_autofree char *got = json_describe(runs_n);
        return __invalid(src, error, runs_n ? fruns_n : fsummary,
                         "%sexpected the number of runs (a whole number >= 0), got %s",
                         runs_n ? "" : "runs: ", got);
    }
    for (gsize k = 0; k < G_N_ELEMENTS(metrics); k++) {
        json_t *v = json_object_get(summary, metrics[k].name);
        if (v == NULL)
            continue;
        g_autofree char *f = json_field_join(fsummary, metrics[k].name);
        if (metrics[k].kind == COMPARE_KIND_SUMMARY) {
            if (!__check_summary(src, v, f, error))
                return FALSE;
            continue;
        }
        gboolean share = metrics[k].kind == COMPARE_KIND_PROPORTION;
        double x = json_number_value(v);
        if (json_is_null(v))
            continue;
        if (!json_is_number(v) || x > 100 || (share && x < 0)) {
            g_autofree char *got = json_describe(v);
            return __invalid(src, error, f, "expected a percentage %s, or null, got %s",
                             share ? "from 0 to 100" : "up to 100", got);
        }
    }
    json_t *runs = json_object_get(p, "runs");
    if (runs == NULL)
        return TRUE;
    g_autofree char *fruns = json_field_join(field, "runs");
    if (!json_is_array(runs)) {
        g_autofree char *got = json_describe(runs);
        return __invalid(src, error, fruns, "expected a list of runs, got %s", got);
    }
    if ((json_int_t)json_array_size(runs) != json_integer_value(runs_n))
        return __invalid(src, error, fruns, "expected %lld runs, as summary.runs says, got %zu",
                         (long long)json_integer_value(runs_n), json_array_size(runs));
    for (gsize j = 0; j < json_array_size(runs); j++) {
        g_autofree char *f = g_strdup_printf("%s[%zu]", fruns, j);
        if (!__check_run(src, json_array_get(runs, j), f, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
__check_input(CompareInput *in, GError **error)
{
    const JsonSource *src = in->src;
    json_t *root = src->root;
    if (!json_is_object(root)) {
        g_autofree char *got = json_describe(root);
        return __invalid(src, error, "",
                         "expected a results file of spotlab run -o (an object), got %s", got);
    }
    if (json_is_true(json_object_get(root, "report")))
        return __invalid(src, error, "report",
                         "this is a merged report of spotlab report, not a results file; compare "
                         "the results files of spotlab run -o");
    json_t *spotlab = json_object_get(root, "spotlab");
    if (spotlab == NULL) {
        gboolean scenario = json_object_get(root, "strategies") != NULL ||
                            json_object_get(root, "traces") != NULL ||
                            json_object_get(root, "windows") != NULL;
        return __invalid(src, error, "", "not a results file: it has no \"spotlab\" object%s",
                         scenario ? "; this looks like a scenario: run it with spotlab run "
                                    "SCENARIO -o RESULTS.json and compare the results"
                                  : " (results files come from spotlab run -o)");
    }
    if (!json_is_object(spotlab)) {
        g_autofree char *got = json_describe(spotlab);
        return __invalid(src, error, "spotlab",
                         "expected an object with version and schema, got %s", got);
    }
    json_t *schema = json_object_get(spotlab, "schema");
    if (!json_is_integer(schema)) {
        g_autofree char *got = json_describe(schema);
        return __invalid(src, error, schema ? "spotlab.schema" : "spotlab",
                         "%sexpected the results schema (a whole number), got %s",
                         schema ? "" : "schema: ", got);
    }
    if (json_integer_value(schema) != RESULTS_SCHEMA_VERSION)
        return __invalid(src, error, "spotlab.schema",
                         "expected %d, got %lld: this results file is from another version of "
                         "spotlab",
                         RESULTS_SCHEMA_VERSION, (long long)json_integer_value(schema));
    json_t *model = json_object_get(root, "model");
    const char *m = json_string_value(model);
    if (m == NULL || (strcmp(m, "tick") != 0 && strcmp(m, "continuous") != 0)) {
        g_autofree char *got = json_describe(model);
        return __invalid(src, error, model ? "model" : "",
                         "%sexpected \"tick\" or \"continuous\", got %s",
                         model ? "" : "model: ", got);
    }
    in->model = m;
    json_t *scenario = json_object_get(root, "scenario");
    if (scenario != NULL) {
        if (!json_is_object(scenario)) {
            g_autofree char *got = json_describe(scenario);
            return __invalid(src, error, "scenario",
                             "expected an object with name and seed, got %s", got);
        }
        json_t *name = json_object_get(scenario, "name");
        if (name != NULL && !json_is_string(name)) {
            g_autofree char *got = json_describe(name);
            return __invalid(src, error, "scenario.name", "expected a string, got %s", got);
        }
        json_t *seed = json_object_get(scenario, "seed");
        if (seed != NULL && !json_is_integer(seed)) {
            g_autofree char *got = json_describe(seed);
            return __invalid(src, error, "scenario.seed", "expected a whole number, got %s", got);
        }
        in->scenario = json_string_value(name);
        in->has_seed = seed != NULL;
        in->seed = (gint64)json_integer_value(seed);
    }
    json_t *policies = json_object_get(root, "policies");
    if (!json_is_array(policies) || json_array_size(policies) == 0) {
        g_autofree char *got = json_describe(policies);
        return __invalid(src, error, policies ? "policies" : "",
                         "%sexpected a list of policies with their results, got %s",
                         policies ? "" : "policies: ", got);
    }
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    for (gsize i = 0; i < json_array_size(policies); i++)
        if (!__check_policy(src, json_array_get(policies, i), i, names, error))
            return FALSE;
    in->policies = policies;
    in->runs = (gint64)json_integer_value(
        json_object_get(json_object_get(json_array_get(policies, 0), "summary"), "runs"));
    return TRUE;
}

CompareInput *
compare_input_load(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autoptr(CompareInput) in = g_new0(CompareInput, 1);
    in->runs = -1;
    in->src = json_source_load(path, TRUE, "a results file of spotlab run -o", COMPARE_ERROR,
                               COMPARE_ERROR_IO, COMPARE_ERROR_PARSE, error);
    if (in->src == NULL || !__check_input(in, error))
        return NULL;
    return g_steal_pointer(&in);
}

/* ---- comparing --------------------------------------------------------------------------- */

const char *
compare_verdict_name(CompareVerdict verdict)
{
    static const char *const names[] = {"regression",      "worse",     "improvement",
                                        "not significant", "unchanged", "untested"};
    g_return_val_if_fail(verdict < COMPARE_N_VERDICTS, "?");
    return names[verdict];
}

static void
__row_clear(gpointer data)
{
    CompareRow *row = data;
    g_free(row->note);
}

static void
__policy_free(gpointer data)
{
    ComparePolicy *p = data;
    g_free(p->name);
    g_array_unref(p->rows);
    g_free(p);
}

void
compare_free(Comparison *c)
{
    if (c == NULL)
        return;
    g_free(c->model);
    g_free(c->base.path);
    g_free(c->base.scenario);
    g_free(c->candidate.path);
    g_free(c->candidate.scenario);
    g_ptr_array_unref(c->policies);
    g_ptr_array_unref(c->warnings);
    g_free(c);
}

gboolean
compare_failed(const Comparison *c)
{
    return c->counts[COMPARE_VERDICT_REGRESSION] > 0;
}

static void G_GNUC_PRINTF(2, 3) __warn(Comparison *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_ptr_array_add(c->warnings, g_strdup_vprintf(format, ap));
    va_end(ap);
}

static void
__side(CompareSide *side, const CompareInput *in)
{
    side->path = g_strdup(in->src->path);
    side->scenario = g_strdup(in->scenario);
    side->has_seed = in->has_seed;
    side->seed = in->seed;
    side->runs = in->runs;
}

static char *
__describe_side(const CompareSide *s)
{
    g_autoptr(GString) out = g_string_new(NULL);
    if (s->scenario != NULL)
        g_string_append_printf(out, "\"%s\"", s->scenario);
    else
        g_string_append(out, "no scenario name");
    if (s->has_seed)
        g_string_append_printf(out, ", seed %lld", (long long)s->seed);
    else
        g_string_append(out, ", no seed");
    g_string_append_printf(out, ", %lld runs", (long long)s->runs);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static char *
__policy_names(json_t *policies)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (gsize i = 0; i < json_array_size(policies); i++)
        g_string_append_printf(
            s, "%s%s", i ? ", " : "",
            json_string_value(json_object_get(json_array_get(policies, i), "name")));
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static json_t *
__find_policy(json_t *policies, const char *name)
{
    for (gsize i = 0; i < json_array_size(policies); i++) {
        json_t *p = json_array_get(policies, i);
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            return p;
    }
    return NULL;
}

/* Whether the runs of the two files are the same windows (pool and start) or replicas, index by
 * index. Sets @bad to the first index that differs. */
static gboolean
__same_runs(json_t *rb, json_t *rc, gsize *bad)
{
    *bad = 0;
    if (json_array_size(rb) != json_array_size(rc))
        return FALSE;
    static const char *const keys[] = {"pool", "start_index", "replica"};
    for (gsize j = 0; j < json_array_size(rb); j++) {
        json_t *a = json_array_get(rb, j), *b = json_array_get(rc, j);
        for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
            json_t *x = json_object_get(a, keys[k]), *y = json_object_get(b, keys[k]);
            if ((x == NULL) != (y == NULL) || (x != NULL && !json_equal(x, y))) {
                *bad = j;
                return FALSE;
            }
        }
    }
    return TRUE;
}

static double
__num(json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* The metric @m of every run of @runs into @out (allocated, json_array_size(runs) values).
 * Returns: FALSE when a run lacks it (null, missing, not finite). */
static gboolean
__run_values(json_t *runs, const CompareMetricInfo *m, double **out)
{
    gsize n = json_array_size(runs);
    g_autofree double *v = g_new(double, n ? n : 1);
    gboolean per_unit = strcmp(m->name, "cost_per_unit") == 0;
    for (gsize j = 0; j < n; j++) {
        json_t *r = json_array_get(runs, j);
        if (per_unit) {
            double units = __num(json_object_get(r, "work_units"));
            v[j] = units > 0 ? __num(json_object_get(r, "cost")) / units : (double)NAN;
        } else {
            v[j] = __num(json_object_get(r, m->run_field));
        }
        if (!isfinite(v[j]))
            return FALSE;
    }
    *out = g_steal_pointer(&v);
    return TRUE;
}

/* The number of runs of @runs whose boolean @field is true; FALSE when one lacks it. */
static gboolean
__run_count(json_t *runs, const char *field, gsize *k)
{
    *k = 0;
    for (gsize j = 0; j < json_array_size(runs); j++) {
        json_t *v = json_object_get(json_array_get(runs, j), field);
        if (!json_is_boolean(v))
            return FALSE;
        *k += json_is_true(v);
    }
    return TRUE;
}

static double
__mean(const double *v, gsize n)
{
    double s = 0;
    for (gsize i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

/* Total savings of one file, linearised: pseudo-values whose mean is the total saving and whose
 * spread is its delta-method spread (100 * (1 - R - e_i), e_i = (X_i - R Y_i) / mean(Y), R =
 * sum X / sum Y). Returns FALSE when a run lacks its cost or the on-demand cost behind it. */
static gboolean
__savings_pseudo(json_t *runs, gboolean tick, double summary_value, double **out, double *total)
{
    gsize n = json_array_size(runs);
    if (n < 2)
        return FALSE;
    g_autofree double *x = g_new(double, n), *y = g_new(double, n);
    double sx = 0, sy = 0;
    for (gsize j = 0; j < n; j++) {
        json_t *r = json_array_get(runs, j);
        x[j] = __num(json_object_get(r, "cost"));
        if (tick) {
            /* Tick-model runs give the saving against on demand; the on-demand cost of the
             * window follows from it unless the run cost nothing. */
            double s = __num(json_object_get(r, "savings_pct"));
            y[j] = s < 100 ? x[j] / (1 - s / 100) : (double)NAN;
        } else {
            y[j] = __num(json_object_get(r, "on_demand_cost"));
        }
        if (!isfinite(x[j]) || !isfinite(y[j]) || y[j] < 0)
            return FALSE;
        sx += x[j];
        sy += y[j];
    }
    if (!(sy > 0))
        return FALSE;
    double ratio = sx / sy, ybar = sy / (double)n;
    *total = 100 * (1 - ratio);
    /* The per-run costs must give the file's own total, or they are not what this reads them
     * as. */
    if (!isfinite(summary_value) || fabs(*total - summary_value) > 1e-6 * MAX(1.0, fabs(*total)))
        return FALSE;
    double *v = g_new(double, n);
    for (gsize j = 0; j < n; j++)
        v[j] = 100 * (1 - ratio - (x[j] - ratio * y[j]) / ybar);
    *out = v;
    return TRUE;
}

static double
__sd(const double *v, gsize n)
{
    double m = __mean(v, n), ss = 0;
    for (gsize i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    return sqrt(ss / (double)(n - 1));
}

static void
__verdict(CompareRow *row)
{
    if (row->method == COMPARE_METHOD_NONE || !isfinite(row->ci_low) || !isfinite(row->ci_high)) {
        row->verdict = row->empty ? COMPARE_VERDICT_UNCHANGED : COMPARE_VERDICT_UNTESTED;
        return;
    }
    double size = MAX(fabs(row->base), fabs(row->candidate));
    if (fabs(row->difference) <= SAME_VALUE_RELATIVE * size) {
        row->verdict = COMPARE_VERDICT_UNCHANGED;
        return;
    }
    /* Worse-by: the difference signed so that positive is worse. */
    double worse_lo = row->metric->higher_is_better ? -row->ci_high : row->ci_low;
    double worse_hi = row->metric->higher_is_better ? -row->ci_low : row->ci_high;
    if (row->limit.gated && worse_lo > row->limit_abs)
        row->verdict = COMPARE_VERDICT_REGRESSION;
    else if (worse_lo > 0)
        row->verdict = COMPARE_VERDICT_WORSE;
    else if (worse_hi < 0)
        row->verdict = COMPARE_VERDICT_IMPROVEMENT;
    else
        row->verdict = COMPARE_VERDICT_NOT_SIGNIFICANT;
}

static void
__compare_summary(CompareRow *row, json_t *sb, json_t *sc, json_t *rb, json_t *rc, gboolean paired)
{
    const CompareMetricInfo *m = row->metric;
    row->base = __num(json_object_get(sb, "mean"));
    row->candidate = __num(json_object_get(sc, "mean"));
    row->n_base = (gsize)json_integer_value(json_object_get(sb, "n"));
    row->n_cand = (gsize)json_integer_value(json_object_get(sc, "n"));
    g_autofree double *xb = NULL, *xc = NULL;
    gsize n = json_array_size(rb);
    if (paired && m->run_field != NULL && n >= 2 && __run_values(rb, m, &xb) &&
        __run_values(rc, m, &xc)) {
        compare_paired_ci(xb, xc, n, &row->difference, &row->ci_low, &row->ci_high);
        row->method = COMPARE_METHOD_PAIRED;
        row->base = __mean(xb, n);
        row->candidate = __mean(xc, n);
        row->n_base = row->n_cand = n;
        row->df = (double)(n - 1);
        return;
    }
    row->difference = row->candidate - row->base;
    if (compare_welch_ci(row->base, __num(json_object_get(sb, "stddev")), row->n_base,
                         row->candidate, __num(json_object_get(sc, "stddev")), row->n_cand,
                         &row->difference, &row->ci_low, &row->ci_high, &row->df)) {
        row->method = COMPARE_METHOD_WELCH;
        return;
    }
    row->empty = row->n_base == 0 && row->n_cand == 0;
    if (row->empty)
        row->note = g_strdup("no value in either file");
    else if (MIN(row->n_base, row->n_cand) == 0)
        row->note = g_strdup("no value in one of the files");
    else
        row->note = g_strdup("fewer than 2 values in one of the files");
}

static gboolean
__share_count(json_t *summary, json_t *runs, const CompareMetricInfo *m, gsize *k, gsize *n)
{
    *n = (gsize)json_integer_value(json_object_get(summary, "runs"));
    if (runs != NULL && __run_count(runs, m->run_field, k))
        return TRUE;
    double pct = __num(json_object_get(summary, m->name));
    if (!isfinite(pct))
        return FALSE;
    *k = (gsize)llround(pct * (double)*n / 100);
    return TRUE;
}

static void
__compare_share(CompareRow *row, json_t *sb, json_t *sc, json_t *rb, json_t *rc)
{
    const CompareMetricInfo *m = row->metric;
    row->base = __num(json_object_get(sb, m->name));
    row->candidate = __num(json_object_get(sc, m->name));
    row->difference = row->candidate - row->base;
    gsize kb = 0, nb = 0, kc = 0, nc = 0;
    double d;
    if (__share_count(sb, rb, m, &kb, &nb) && __share_count(sc, rc, m, &kc, &nc) &&
        compare_newcombe_ci(kb, nb, kc, nc, &d, &row->ci_low, &row->ci_high)) {
        row->method = COMPARE_METHOD_NEWCOMBE;
        row->difference = 100 * d;
        row->ci_low *= 100;
        row->ci_high *= 100;
        row->n_base = nb;
        row->n_cand = nc;
        return;
    }
    row->note = g_strdup("no runs to count in one of the files");
}

static void
__compare_total_savings(CompareRow *row, json_t *sb, json_t *sc, json_t *rb, json_t *rc,
                        gboolean paired, gboolean tick)
{
    row->base = __num(json_object_get(sb, row->metric->name));
    row->candidate = __num(json_object_get(sc, row->metric->name));
    row->difference = row->candidate - row->base;
    row->delta = TRUE;
    g_autofree double *vb = NULL, *vc = NULL;
    double tb = 0, tc = 0;
    if (rb == NULL || rc == NULL || !__savings_pseudo(rb, tick, row->base, &vb, &tb) ||
        !__savings_pseudo(rc, tick, row->candidate, &vc, &tc)) {
        row->delta = FALSE;
        row->note = g_strdup("the runs' costs and on-demand costs are needed to test it");
        return;
    }
    gsize nb = json_array_size(rb), nc = json_array_size(rc);
    row->base = tb;
    row->candidate = tc;
    row->n_base = nb;
    row->n_cand = nc;
    if (paired && nb == nc) {
        compare_paired_ci(vb, vc, nb, &row->difference, &row->ci_low, &row->ci_high);
        row->method = COMPARE_METHOD_PAIRED;
        row->df = (double)(nb - 1);
        return;
    }
    if (compare_welch_ci(tb, __sd(vb, nb), nb, tc, __sd(vc, nc), nc, &row->difference, &row->ci_low,
                         &row->ci_high, &row->df))
        row->method = COMPARE_METHOD_WELCH;
}

static ComparePolicy *
__compare_policy(Comparison *c, const char *name, json_t *pb, json_t *pc, const gboolean *selected,
                 const CompareLimit *limits, gboolean *present)
{
    ComparePolicy *p = g_new0(ComparePolicy, 1);
    p->name = g_strdup(name);
    p->rows = g_array_new(FALSE, TRUE, sizeof(CompareRow));
    g_array_set_clear_func(p->rows, __row_clear);
    json_t *sb = json_object_get(pb, "summary"), *sc = json_object_get(pc, "summary");
    json_t *rb = json_object_get(pb, "runs"), *rc = json_object_get(pc, "runs");
    if (c->same_scenario) {
        gsize bad = 0;
        if (rb == NULL || rc == NULL)
            __warn(c,
                   "policy \"%s\": %s has no runs; its differences use Welch's interval from "
                   "the summaries",
                   name, rb == NULL ? c->base.path : c->candidate.path);
        else if (!__same_runs(rb, rc, &bad))
            __warn(c,
                   "policy \"%s\": runs[%zu] is not the same window or replica in both files; "
                   "its differences use Welch's interval from the summaries",
                   name, bad);
        else
            p->paired = TRUE;
    }
    gboolean tick = strcmp(c->model, "tick") == 0;
    for (gsize k = 0; k < G_N_ELEMENTS(metrics); k++) {
        const CompareMetricInfo *m = &metrics[k];
        json_t *vb = json_object_get(sb, m->name), *vc = json_object_get(sc, m->name);
        if (!selected[k] || vb == NULL || vc == NULL)
            continue;
        present[k] = TRUE;
        CompareRow row = {.metric = m, .df = NAN, .ci_low = NAN, .ci_high = NAN};
        row.limit = limits[k];
        switch (m->kind) {
        case COMPARE_KIND_SUMMARY:
            __compare_summary(&row, vb, vc, rb, rc, p->paired);
            break;
        case COMPARE_KIND_PROPORTION:
            __compare_share(&row, sb, sc, rb, rc);
            break;
        case COMPARE_KIND_TOTAL_SAVINGS:
            __compare_total_savings(&row, sb, sc, rb, rc, p->paired, tick);
            break;
        }
        row.limit_abs = NAN;
        if (row.limit.gated)
            row.limit_abs =
                row.limit.relative ? row.limit.value / 100 * fabs(row.base) : row.limit.value;
        if (row.method != COMPARE_METHOD_NONE && row.limit.gated && !isfinite(row.limit_abs))
            row.method = COMPARE_METHOD_NONE;
        __verdict(&row);
        c->counts[row.verdict]++;
        g_array_append_val(p->rows, row);
    }
    return p;
}

Comparison *
compare_new(const CompareInput *base, const CompareInput *candidate, const CompareLimit *limits,
            gsize n_limits, const char *const *only, GError **error)
{
    g_return_val_if_fail(base != NULL && candidate != NULL, NULL);
    if (strcmp(base->model, candidate->model) != 0) {
        g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_MISMATCH,
                    "%s is a %s-model results file and %s a %s-model one; compare results of "
                    "the same model",
                    base->src->path, base->model, candidate->src->path, candidate->model);
        return NULL;
    }
    gboolean selected[G_N_ELEMENTS(metrics)], present[G_N_ELEMENTS(metrics)] = {FALSE};
    for (gsize k = 0; k < G_N_ELEMENTS(metrics); k++)
        selected[k] = only == NULL || only[0] == NULL;
    for (gsize i = 0; only != NULL && only[i] != NULL; i++) {
        const CompareMetricInfo *m = compare_metric_lookup(only[i]);
        if (m == NULL) {
            g_autofree char *known = compare_metric_names();
            g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_USAGE,
                        "--metric %s: unknown metric; known metrics: %s", only[i], known);
            return NULL;
        }
        selected[__metric_index(m)] = TRUE;
    }
    CompareLimit lims[G_N_ELEMENTS(metrics)];
    gboolean limited[G_N_ELEMENTS(metrics)] = {FALSE};
    for (gsize k = 0; k < G_N_ELEMENTS(metrics); k++)
        compare_limit_default(&metrics[k], &lims[k]);
    for (gsize i = 0; i < n_limits; i++) {
        gsize k = __metric_index(limits[i].metric);
        lims[k] = limits[i];
        limited[k] = TRUE;
    }

    g_autoptr(Comparison) c = g_new0(Comparison, 1);
    c->model = g_strdup(base->model);
    c->policies = g_ptr_array_new_with_free_func(__policy_free);
    c->warnings = g_ptr_array_new_with_free_func(g_free);
    __side(&c->base, base);
    __side(&c->candidate, candidate);

    gsize common = 0;
    for (gsize i = 0; i < json_array_size(base->policies); i++)
        common += __find_policy(candidate->policies,
                                json_string_value(json_object_get(json_array_get(base->policies, i),
                                                                  "name"))) != NULL;
    if (common == 0) {
        g_autofree char *a = __policy_names(base->policies);
        g_autofree char *b = __policy_names(candidate->policies);
        g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_MISMATCH,
                    "no policy in common: %s has %s; %s has %s", base->src->path, a,
                    candidate->src->path, b);
        return NULL;
    }

    c->same_scenario = base->scenario != NULL && candidate->scenario != NULL &&
                       strcmp(base->scenario, candidate->scenario) == 0 && base->has_seed &&
                       candidate->has_seed && base->seed == candidate->seed &&
                       base->runs == candidate->runs;
    if (!c->same_scenario) {
        g_autofree char *a = __describe_side(&c->base);
        g_autofree char *b = __describe_side(&c->candidate);
        __warn(c,
               "the scenarios differ (%s: %s; %s: %s): runs are not paired; differences use "
               "Welch's interval from the summaries",
               c->base.path, a, c->candidate.path, b);
    }

    for (gsize i = 0; i < json_array_size(base->policies); i++) {
        json_t *pb = json_array_get(base->policies, i);
        const char *name = json_string_value(json_object_get(pb, "name"));
        json_t *pc = __find_policy(candidate->policies, name);
        if (pc == NULL) {
            __warn(c, "policy \"%s\" is only in %s", name, c->base.path);
            continue;
        }
        g_ptr_array_add(c->policies, __compare_policy(c, name, pb, pc, selected, lims, present));
    }
    for (gsize i = 0; i < json_array_size(candidate->policies); i++) {
        const char *name =
            json_string_value(json_object_get(json_array_get(candidate->policies, i), "name"));
        if (__find_policy(base->policies, name) == NULL)
            __warn(c, "policy \"%s\" is only in %s", name, c->candidate.path);
    }

    gboolean any = FALSE;
    for (gsize k = 0; k < G_N_ELEMENTS(metrics); k++) {
        any |= present[k];
        if (present[k])
            continue;
        if (only != NULL && only[0] != NULL && selected[k])
            __warn(c, "--metric %s: not in both results files (%s model)", metrics[k].name,
                   c->model);
        else if (limited[k] && selected[k])
            __warn(c, "--limit %s: not in both results files (%s model)", metrics[k].name,
                   c->model);
    }
    if (!any) {
        g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_USAGE,
                    "no metric to compare: %s and %s have none of the metrics asked for",
                    base->src->path, candidate->src->path);
        return NULL;
    }
    return g_steal_pointer(&c);
}

/* ---- formatting -------------------------------------------------------------------------- */

static int
__min_decimals(CompareUnit unit)
{
    switch (unit) {
    case COMPARE_UNIT_USD:
    case COMPARE_UNIT_HOURS:
    case COMPARE_UNIT_COUNT:
        return 2;
    case COMPARE_UNIT_SECONDS:
        return 0;
    case COMPARE_UNIT_PERCENT:
        return 1;
    case COMPARE_UNIT_FRACTION:
        return 3;
    }
    return 2;
}

/* Decimals that show about @digits significant digits of @magnitude, within the unit's range. */
static int
__decimals(double magnitude, CompareUnit unit, int digits)
{
    int d = __min_decimals(unit);
    if (isfinite(magnitude) && magnitude > 0)
        d = MAX(d, digits - 1 - (int)floor(log10(magnitude)));
    return MIN(d, 6);
}

/* Formats @v in @unit: "$1,234.56", "32.93 h", "4748 s", "70.18%" (a value) or "-1.18 pts" (a
 * difference), "-" for NaN. @sign puts "+" before positive numbers. Independent of the locale. */
static void
__format(GString *out, double v, CompareUnit unit, int decimals, gboolean sign, gboolean diff)
{
    if (!isfinite(v)) {
        g_string_append(out, "-");
        return;
    }
    char fmt[16], digits[64];
    g_snprintf(fmt, sizeof fmt, "%%.%df", decimals);
    g_ascii_formatd(digits, sizeof digits, fmt, fabs(v));
    gboolean zero = strspn(digits, "0.") == strlen(digits);
    if (v < 0 && !zero)
        g_string_append_c(out, '-');
    else if (sign && !zero)
        g_string_append_c(out, '+');
    if (unit == COMPARE_UNIT_USD) {
        g_string_append_c(out, '$');
        const char *dot = strchr(digits, '.');
        gsize int_len = dot ? (gsize)(dot - digits) : strlen(digits);
        for (gsize i = 0; i < int_len; i++) {
            if (i > 0 && (int_len - i) % 3 == 0)
                g_string_append_c(out, ',');
            g_string_append_c(out, digits[i]);
        }
        g_string_append(out, digits + int_len);
        return;
    }
    g_string_append(out, digits);
    switch (unit) {
    case COMPARE_UNIT_HOURS:
        g_string_append(out, " h");
        break;
    case COMPARE_UNIT_SECONDS:
        g_string_append(out, " s");
        break;
    case COMPARE_UNIT_PERCENT:
        g_string_append(out, diff ? " pts" : "%");
        break;
    case COMPARE_UNIT_USD:
    case COMPARE_UNIT_COUNT:
    case COMPARE_UNIT_FRACTION:
        break;
    }
}

/* The cells of a row: values, difference and interval, in their unit. */
typedef struct {
    char *base, *candidate, *difference, *ci, *limit, *test;
} RowCells;

static void
__row_cells(const CompareRow *row, RowCells *cells)
{
    CompareUnit u = row->metric->unit;
    int dv = __decimals(MAX(fabs(row->base), fabs(row->candidate)), u, 4);
    double spread = fabs(row->difference);
    if (isfinite(row->ci_low))
        spread = MAX(spread, MAX(fabs(row->ci_low), fabs(row->ci_high)));
    int dd = MAX(dv, __decimals(spread, u, 3));
    GString *s = g_string_new(NULL);
    __format(s, row->base, u, dv, FALSE, FALSE);
    cells->base = g_string_free(s, FALSE);
    s = g_string_new(NULL);
    __format(s, row->candidate, u, dv, FALSE, FALSE);
    cells->candidate = g_string_free(s, FALSE);
    s = g_string_new(NULL);
    __format(s, row->difference, u, dd, TRUE, TRUE);
    cells->difference = g_string_free(s, FALSE);
    s = g_string_new(NULL);
    if (isfinite(row->ci_low)) {
        g_string_append_c(s, '[');
        __format(s, row->ci_low, u, dd, TRUE, TRUE);
        g_string_append(s, ", ");
        __format(s, row->ci_high, u, dd, TRUE, TRUE);
        g_string_append_c(s, ']');
    } else {
        g_string_append(s, "-");
    }
    cells->ci = g_string_free(s, FALSE);
    cells->limit = row->limit.gated ? compare_limit_format(&row->limit) : g_strdup("-");
    static const char *const tests[] = {"-", "paired", "Welch", "Newcombe"};
    cells->test = g_strdup(tests[row->method]);
}

static void
__row_cells_clear(RowCells *cells)
{
    g_free(cells->base);
    g_free(cells->candidate);
    g_free(cells->difference);
    g_free(cells->ci);
    g_free(cells->limit);
    g_free(cells->test);
}

char *
compare_counts_line(const Comparison *c)
{
    const gsize *n = c->counts;
    return g_strdup_printf(
        "compare: %zu regression%s, %zu worse, %zu improvement%s, %zu not significant, %zu "
        "unchanged, %zu untested",
        n[COMPARE_VERDICT_REGRESSION], n[COMPARE_VERDICT_REGRESSION] == 1 ? "" : "s",
        n[COMPARE_VERDICT_WORSE], n[COMPARE_VERDICT_IMPROVEMENT],
        n[COMPARE_VERDICT_IMPROVEMENT] == 1 ? "" : "s", n[COMPARE_VERDICT_NOT_SIGNIFICANT],
        n[COMPARE_VERDICT_UNCHANGED], n[COMPARE_VERDICT_UNTESTED]);
}

static const char *
__pairing_line(const Comparison *c)
{
    gboolean all = c->policies->len > 0, some = FALSE;
    for (guint i = 0; i < c->policies->len; i++) {
        const ComparePolicy *p = c->policies->pdata[i];
        all &= p->paired;
        some |= p->paired;
    }
    if (all)
        return "runs paired one to one (same scenario, seed and runs)";
    if (some)
        return "runs paired where both files have them, else Welch's interval from the summaries";
    return "runs not paired: Welch's interval from the summaries";
}

#define N_COLUMNS 9

char *
compare_table(const Comparison *c)
{
    static const char *const head[N_COLUMNS] = {
        "policy", "metric", "base",   "candidate", "difference", "95% CI of the difference",
        "test",   "limit",  "verdict"};
    /* Text columns are left-aligned, numbers right-aligned. */
    static const gboolean left[N_COLUMNS] = {TRUE,  TRUE, FALSE, FALSE, FALSE,
                                             FALSE, TRUE, FALSE, TRUE};
    g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);
    gsize width[N_COLUMNS];
    for (gsize k = 0; k < N_COLUMNS; k++)
        width[k] = g_utf8_strlen(head[k], -1);
    for (guint i = 0; i < c->policies->len; i++) {
        const ComparePolicy *p = c->policies->pdata[i];
        for (guint j = 0; j < p->rows->len; j++) {
            const CompareRow *row = &g_array_index(p->rows, CompareRow, j);
            RowCells rc;
            __row_cells(row, &rc);
            const char *v[N_COLUMNS] = {
                p->name,      row->metric->name, rc.base,
                rc.candidate, rc.difference,     rc.ci,
                rc.test,      rc.limit,          compare_verdict_name(row->verdict)};
            for (gsize k = 0; k < N_COLUMNS; k++) {
                g_ptr_array_add(cells, g_strdup(v[k]));
                width[k] = MAX(width[k], (gsize)g_utf8_strlen(v[k], -1));
            }
            __row_cells_clear(&rc);
        }
    }
    GString *out = g_string_new(NULL);
    g_autofree char *a = __describe_side(&c->base);
    g_autofree char *b = __describe_side(&c->candidate);
    g_string_append_printf(out, "base:      %s (%s)\ncandidate: %s (%s)\n%s model; %s\n\n",
                           c->base.path, a, c->candidate.path, b, c->model, __pairing_line(c));
    for (gsize r = 0; r <= cells->len / N_COLUMNS; r++) {
        for (gsize k = 0; k < N_COLUMNS; k++) {
            const char *v = r == 0 ? head[k] : cells->pdata[(r - 1) * N_COLUMNS + k];
            gsize pad = width[k] - (gsize)g_utf8_strlen(v, -1);
            if (k > 0)
                g_string_append(out, "  ");
            if (!left[k])
                for (gsize s = 0; s < pad; s++)
                    g_string_append_c(out, ' ');
            g_string_append(out, v);
            if (left[k] && k + 1 < N_COLUMNS)
                for (gsize s = 0; s < pad; s++)
                    g_string_append_c(out, ' ');
        }
        g_string_append_c(out, '\n');
    }
    g_autofree char *counts = compare_counts_line(c);
    g_string_append_printf(out, "\n%s\n", counts);
    return g_string_free(out, FALSE);
}

static const char *
__unit_name(CompareUnit unit)
{
    static const char *const names[] = {"USD", "hours", "seconds", "percent", "count", "fraction"};
    return names[unit];
}

static json_t *
__side_json(const CompareSide *s)
{
    json_t *o = json_pack("{s:s}", "file", s->path);
    json_object_set_new(o, "scenario", s->scenario ? json_string(s->scenario) : json_null());
    json_object_set_new(o, "seed", s->has_seed ? json_integer(s->seed) : json_null());
    json_object_set_new(o, "runs", json_integer(s->runs));
    return o;
}

static json_t *
__row_json(const CompareRow *row)
{
    static const char *const tests[] = {"none", "paired", "welch", "newcombe"};
    double sign = row->metric->higher_is_better ? -1 : 1;
    double wlo = row->metric->higher_is_better ? -row->ci_high : row->ci_low;
    double whi = row->metric->higher_is_better ? -row->ci_low : row->ci_high;
    json_t *o = json_object();
    json_object_set_new(o, "metric", json_string(row->metric->name));
    json_object_set_new(o, "unit", json_string(__unit_name(row->metric->unit)));
    json_object_set_new(o, "better",
                        json_string(row->metric->higher_is_better ? "higher" : "lower"));
    json_object_set_new(o, "base", run_json_number(row->base));
    json_object_set_new(o, "candidate", run_json_number(row->candidate));
    json_object_set_new(o, "difference", run_json_number(row->difference));
    json_object_set_new(
        o, "ci95", json_pack("[o,o]", run_json_number(row->ci_low), run_json_number(row->ci_high)));
    json_object_set_new(o, "worse_by", run_json_number(sign * row->difference));
    json_object_set_new(o, "worse_by_ci95",
                        json_pack("[o,o]", run_json_number(wlo), run_json_number(whi)));
    json_object_set_new(o, "test", json_string(tests[row->method]));
    if (row->metric->kind == COMPARE_KIND_TOTAL_SAVINGS)
        json_object_set_new(o, "delta_method", json_boolean(row->delta));
    json_object_set_new(o, "n",
                        json_pack("[I,I]", (json_int_t)row->n_base, (json_int_t)row->n_cand));
    json_object_set_new(o, "df", run_json_number(row->df));
    if (row->limit.gated) {
        g_autofree char *limit = compare_limit_format(&row->limit);
        json_object_set_new(o, "limit", json_string(limit));
        json_object_set_new(o, "limit_absolute", run_json_number(row->limit_abs));
    } else {
        json_object_set_new(o, "limit", json_null());
        json_object_set_new(o, "limit_absolute", json_null());
    }
    json_object_set_new(o, "verdict", json_string(compare_verdict_name(row->verdict)));
    if (row->note != NULL)
        json_object_set_new(o, "note", json_string(row->note));
    return o;
}

json_t *
compare_to_json(const Comparison *c)
{
    json_t *root = json_object();
    json_object_set_new(
        root, "spotlab",
        json_pack("{s:s, s:i}", "version", SPOTLAB_VERSION, "schema", RESULTS_SCHEMA_VERSION));
    json_object_set_new(root, "comparison", json_true());
    json_object_set_new(root, "model", json_string(c->model));
    json_object_set_new(root, "base", __side_json(&c->base));
    json_object_set_new(root, "candidate", __side_json(&c->candidate));
    json_object_set_new(root, "same_scenario", json_boolean(c->same_scenario));
    json_t *policies = json_array();
    for (guint i = 0; i < c->policies->len; i++) {
        const ComparePolicy *p = c->policies->pdata[i];
        json_t *rows = json_array();
        for (guint j = 0; j < p->rows->len; j++)
            json_array_append_new(rows, __row_json(&g_array_index(p->rows, CompareRow, j)));
        json_array_append_new(policies, json_pack("{s:s, s:b, s:o}", "name", p->name, "paired",
                                                  p->paired, "metrics", rows));
    }
    json_object_set_new(root, "policies", policies);
    json_t *warnings = json_array();
    for (guint i = 0; i < c->warnings->len; i++)
        json_array_append_new(warnings, json_string(c->warnings->pdata[i]));
    json_object_set_new(root, "warnings", warnings);
    const gsize *n = c->counts;
    json_object_set_new(root, "counts",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "regressions",
                                  (json_int_t)n[COMPARE_VERDICT_REGRESSION], "worse",
                                  (json_int_t)n[COMPARE_VERDICT_WORSE], "improvements",
                                  (json_int_t)n[COMPARE_VERDICT_IMPROVEMENT], "not_significant",
                                  (json_int_t)n[COMPARE_VERDICT_NOT_SIGNIFICANT], "unchanged",
                                  (json_int_t)n[COMPARE_VERDICT_UNCHANGED], "untested",
                                  (json_int_t)n[COMPARE_VERDICT_UNTESTED]));
    json_object_set_new(root, "failed", json_boolean(compare_failed(c)));
    return root;
}

/* A Markdown table cell: pipes escaped, line breaks flattened. */
static void
__md_cell(GString *out, const char *text)
{
    g_string_append(out, " ");
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            g_string_append(out, "\\|");
        else if (*p == '\n' || *p == '\r')
            g_string_append_c(out, ' ');
        else
            g_string_append_c(out, *p);
    }
    g_string_append(out, " |");
}

char *
compare_markdown(const Comparison *c)
{
    GString *out = g_string_new(NULL);
    gsize regressions = c->counts[COMPARE_VERDICT_REGRESSION];
    if (regressions > 0)
        g_string_append_printf(out, "### spotlab compare: failed, %zu regression%s\n\n",
                               regressions, regressions == 1 ? "" : "s");
    else
        g_string_append(out, "### spotlab compare: passed\n\n");
    g_autofree char *a = __describe_side(&c->base);
    g_autofree char *b = __describe_side(&c->candidate);
    g_string_append_printf(out, "Base `%s` (%s), candidate `%s` (%s): %s model; %s.\n\n",
                           c->base.path, a, c->candidate.path, b, c->model, __pairing_line(c));
    gsize listed = 0, total = 0;
    for (guint i = 0; i < c->policies->len; i++) {
        const ComparePolicy *p = c->policies->pdata[i];
        for (guint j = 0; j < p->rows->len; j++) {
            const CompareRow *row = &g_array_index(p->rows, CompareRow, j);
            total++;
            /* Only what changed significantly: the rest is in the counts. */
            if (row->verdict != COMPARE_VERDICT_REGRESSION &&
                row->verdict != COMPARE_VERDICT_WORSE &&
                row->verdict != COMPARE_VERDICT_IMPROVEMENT)
                continue;
            if (listed++ == 0)
                g_string_append(out, "| policy | metric | base | candidate | difference | 95% CI "
                                     "| test | limit | verdict |\n"
                                     "|---|---|--:|--:|--:|--:|---|--:|---|\n|");
            else
                g_string_append_c(out, '|');
            RowCells rc;
            __row_cells(row, &rc);
            g_autofree char *verdict = row->verdict == COMPARE_VERDICT_REGRESSION
                                           ? g_strdup("**regression**")
                                           : g_strdup(compare_verdict_name(row->verdict));
            const char *v[] = {p->name, row->metric->name, rc.base,  rc.candidate, rc.difference,
                               rc.ci,   rc.test,           rc.limit, verdict};
            for (gsize k = 0; k < G_N_ELEMENTS(v); k++)
                __md_cell(out, v[k]);
            g_string_append_c(out, '\n');
            __row_cells_clear(&rc);
        }
    }
    if (listed == 0)
        g_string_append_printf(out, "No significant difference in %zu comparison%s.\n", total,
                               total == 1 ? "" : "s");
    else
        g_string_append_printf(out,
                               "\n%zu of %zu comparisons changed significantly; the others are "
                               "not significant, unchanged or untested.\n",
                               listed, total);
    g_autofree char *counts = compare_counts_line(c);
    g_string_append_printf(out, "\n%s\n", counts);
    for (guint i = 0; i < c->warnings->len; i++)
        g_string_append_printf(out, "%s- warning: %s\n", i == 0 ? "\n" : "",
                               (const char *)c->warnings->pdata[i]);
    return g_string_free(out, FALSE);
}

char *
compare_junit(const Comparison *c)
{
    gsize tests = 0, failures = 0, skipped = 0;
    for (guint i = 0; i < c->policies->len; i++) {
        const ComparePolicy *p = c->policies->pdata[i];
        for (guint j = 0; j < p->rows->len; j++) {
            const CompareRow *row = &g_array_index(p->rows, CompareRow, j);
            if (!row->limit.gated)
                continue;
            tests++;
            failures += row->verdict == COMPARE_VERDICT_REGRESSION;
            skipped += row->verdict == COMPARE_VERDICT_UNTESTED;
        }
    }
    GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    g_string_append_printf(out,
                           "<testsuites name=\"spotlab compare\" tests=\"%zu\" failures=\"%zu\" "
                           "errors=\"0\" skipped=\"%zu\">\n",
                           tests, failures, skipped);
    for (guint i = 0; i < c->policies->len; i++) {
        const ComparePolicy *p = c->policies->pdata[i];
        gsize t = 0, f = 0, s = 0;
        for (guint j = 0; j < p->rows->len; j++) {
            const CompareRow *row = &g_array_index(p->rows, CompareRow, j);
            t += row->limit.gated;
            f += row->limit.gated && row->verdict == COMPARE_VERDICT_REGRESSION;
            s += row->limit.gated && row->verdict == COMPARE_VERDICT_UNTESTED;
        }
        if (t == 0)
            continue;
        g_string_append(out, "  <testsuite name=\"");
        spotlab_xml_append(out, p->name);
        g_string_append_printf(
            out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n", t, f, s);
        for (guint j = 0; j < p->rows->len; j++) {
            const CompareRow *row = &g_array_index(p->rows, CompareRow, j);
            if (!row->limit.gated)
                continue;
            RowCells rc;
            __row_cells(row, &rc);
            g_autofree char *what = g_strdup_printf(
                "%s: base %s, candidate %s, difference %s, 95%% CI %s (%s), limit %s: %s",
                row->metric->name, rc.base, rc.candidate, rc.difference, rc.ci, rc.test, rc.limit,
                compare_verdict_name(row->verdict));
            g_string_append(out, "    <testcase classname=\"");
            spotlab_xml_append(out, p->name);
            g_string_append_printf(out, "\" name=\"%s\"", row->metric->name);
            if (row->verdict == COMPARE_VERDICT_REGRESSION) {
                g_string_append(out, ">\n      <failure type=\"regression\" message=\"");
                spotlab_xml_append(out, what);
                g_string_append(out, "\"/>\n    </testcase>\n");
            } else if (row->verdict == COMPARE_VERDICT_UNTESTED) {
                g_string_append(out, ">\n      <skipped message=\"");
                spotlab_xml_append(out, what);
                if (row->note != NULL) {
                    g_string_append(out, ": ");
                    spotlab_xml_append(out, row->note);
                }
                g_string_append(out, "\"/>\n    </testcase>\n");
            } else {
                g_string_append(out, ">\n      <system-out>");
                spotlab_xml_append(out, what);
                g_string_append(out, "</system-out>\n    </testcase>\n");
            }
            __row_cells_clear(&rc);
        }
        g_string_append(out, "  </testsuite>\n");
    }
    g_string_append(out, "</testsuites>\n");
    return g_string_free(out, FALSE);
}

gboolean
compare_output_known(const char *path)
{
    return g_str_has_suffix(path, ".json") || g_str_has_suffix(path, ".md") ||
           g_str_has_suffix(path, ".xml");
}

gboolean
compare_write(const Comparison *c, const char *path, GError **error)
{
    if (g_str_has_suffix(path, ".json")) {
        json_t *doc = compare_to_json(c);
        gboolean ok = run_json_write(doc, path, error);
        json_decref(doc);
        return ok;
    }
    g_autofree char *text = NULL;
    if (g_str_has_suffix(path, ".md"))
        text = compare_markdown(c);
    else if (g_str_has_suffix(path, ".xml"))
        text = compare_junit(c);
    if (text == NULL) {
        g_set_error(error, COMPARE_ERROR, COMPARE_ERROR_USAGE,
                    "%s: expected a file name ending in .json, .md or .xml", path);
        return FALSE;
    }
    return spotlab_file_replace(path, text, strlen(text), error);
}
