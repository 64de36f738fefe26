/* spotlab: the text reports: Markdown for pull requests, JUnit XML for CI systems, CSV for
 * spreadsheets and notebooks (docs/reports.md).
 *
 * Each renderer reads a merged document that report_load() checked, and nothing else: no clock,
 * no locale, no file names beyond those inside the document, so the same inputs give the same
 * bytes. Values the checks do not require (a summary statistic, a job's deadline) may still be
 * missing or null; they print as "-" rather than as a made-up zero.
 */
#include "report.h"

#include "run.h"

#include "util.h"

#include <math.h>
#include <string.h>

/* ---- reading the merged document ------------------------------------------------------------ */

/* @value as a finite number, or FALSE. */
static gboolean
__number(const json_t *value, double *out)
{
    if (!json_is_number(value))
        return FALSE;
    double v = json_number_value(value);
    if (!isfinite(v))
        return FALSE;
    *out = v;
    return TRUE;
}

/* The number at @obj.@a (.@b when given), or NaN. */
static double
__get(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    if (b != NULL)
        v = json_object_get(v, b);
    double out = NAN;
    return __number(v, &out) ? out : (double)NAN;
}

static const char *
__string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static gboolean
__is_continuous(const json_t *doc)
{
    return g_strcmp0(__string(doc, "model"), "continuous") == 0;
}

/* The number of runs (windows or replicas) each policy of @doc ran. */
static gsize
__n_runs(const json_t *doc)
{
    const json_t *p = json_array_get(json_object_get(doc, "policies"), 0);
    const json_t *n = json_object_get(json_object_get(p, "summary"), "runs");
    if (json_is_integer(n) && json_integer_value(n) >= 0)
        return (gsize)json_integer_value(n);
    return json_array_size(json_object_get(p, "runs"));
}

/* Whether the job of @doc has a deadline: the continuous model writes null when it has none. */
static gboolean
__has_deadline(const json_t *doc)
{
    return isfinite(__get(doc, "job", "deadline_hours"));
}

static gsize
__count_finished(const json_t *policy)
{
    const json_t *runs = json_object_get(policy, "runs");
    gsize n = 0;
    for (gsize i = 0; i < json_array_size(runs); i++)
        n += json_is_true(json_object_get(json_array_get(runs, i), "finished"));
    return n;
}

/* ---- formatting values ---------------------------------------------------------------------- */

static char *
__money(double v)
{
    char buf[64];
    run_format_money(buf, sizeof buf, v);
    return g_strdup(buf);
}

/* "[$26.95, $27.35]", or "-" without a confidence interval. */
static char *
__money_ci(const json_t *stats)
{
    const json_t *ci = json_object_get(stats, "ci95");
    double lo = NAN, hi = NAN;
    if (!__number(json_array_get(ci, 0), &lo) || !__number(json_array_get(ci, 1), &hi))
        return g_strdup("-");
    g_autofree char *a = __money(lo), *b = __money(hi);
    return g_strdup_printf("[%s, %s]", a, b);
}

static char *
__fixed(double v, int decimals, const char *suffix)
{
    if (!isfinite(v))
        return g_strdup("-");
    return g_strdup_printf("%.*f%s", decimals, v, suffix);
}

/* A duration for people: seconds under a minute, minutes under an hour, hours beyond. */
static char *
__duration(double seconds)
{
    if (!isfinite(seconds))
        return g_strdup("-");
    if (fabs(seconds) < 60)
        return g_strdup_printf("%.0f s", seconds);
    if (fabs(seconds) < 3600)
        return g_strdup_printf("%.1f min", seconds / 60);
    return g_strdup_printf("%.1f h", seconds / 3600);
}

/* A measured value or a bound of an expectation in its unit, written as `spotlab run` writes
 * them in the verdicts (four significant digits, money in cents), so that a report and the run's
 * own lines read the same. */
static char *
__in_unit(double v, const char *unit)
{
    if (!isfinite(v))
        return g_strdup("no data");
    char num[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(num, sizeof num, "%.4g", v);
    if (g_strcmp0(unit, "USD") == 0)
        return __money(v);
    if (g_strcmp0(unit, "%") == 0)
        return g_strdup_printf("%s%%", num);
    if (g_strcmp0(unit, "hours") == 0)
        return g_strdup_printf("%s h", num);
    if (g_strcmp0(unit, "seconds") == 0)
        return g_strdup_printf("%s s", num);
    return g_strdup(num);
}

/* What an expectation measured: the run's own text when the verdict carries it (an interval for
 * "ci95"), else the number in its unit. */
static char *
__measured(const json_t *e)
{
    const char *text = __string(e, "measured_text");
    if (text != NULL)
        return g_strdup(text);
    return __in_unit(__get(e, "measured", NULL), __string(e, "unit"));
}

/* The bound of an expectation: "<= $50.00", ">= 90%", "between 1 and 2" (a target with its
 * tolerance is written as the range it allows); NULL when open. */
static char *
__bound(const json_t *e)
{
    const char *unit = __string(e, "unit");
    double lo = __get(e, "min", NULL), hi = __get(e, "max", NULL);
    g_autofree char *a = __in_unit(lo, unit), *b = __in_unit(hi, unit);
    if (isfinite(lo) && isfinite(hi))
        return lo == hi ? g_strdup_printf("= %s", a) : g_strdup_printf("between %s and %s", a, b);
    if (isfinite(hi))
        return g_strdup_printf("<= %s", b);
    if (isfinite(lo))
        return g_strdup_printf(">= %s", a);
    return NULL;
}

static gboolean
__failed(const json_t *e)
{
    return g_strcmp0(__string(e, "verdict"), "fail") == 0;
}

/* ---- Markdown ------------------------------------------------------------------------------- */

/* Appends @text for a table cell or a heading, with a backslash before the punctuation that
 * would otherwise turn into Markdown there (CommonMark lets any ASCII punctuation be escaped):
 * always | ` * ~ and the backslash; _ where it could open or close emphasis (not inside a word,
 * as in deadline_met_pct); < and & where they could open a tag or an entity; ] where it could
 * close a link. Line breaks become spaces. What stays unescaped reads the same raw and rendered.
 */
static void
__md(GString *out, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        char c = *p, prev = p > text ? p[-1] : ' ', next = p[1];
        gboolean escape = FALSE;
        switch (c) {
        case '\n':
        case '\r':
        case '\t':
            c = ' ';
            break;
        case '\\':
        case '`':
        case '*':
        case '|':
        case '~':
            escape = TRUE;
            break;
        case '_':
            escape = !g_ascii_isalnum(prev) || !g_ascii_isalnum(next);
            break;
        case '<':
            escape = g_ascii_isalpha(next) || next == '/' || next == '!' || next == '?';
            break;
        case '&':
            escape = g_ascii_isalpha(next) || next == '#';
            break;
        case ']':
            escape = next == '(' || next == '[';
            break;
        default:
            break;
        }
        if (escape)
            g_string_append_c(out, '\\');
        g_string_append_c(out, c);
    }
}

/* "quickstart: tick model, 3 pools, 120 windows" */
static void
__md_heading(GString *out, const json_t *doc)
{
    gboolean cont = __is_continuous(doc);
    g_string_append(out, "## ");
    __md(out, __string(json_object_get(doc, "scenario"), "name"));
    g_string_append_printf(out, ": %s model", cont ? "continuous" : "tick");
    const json_t *pools = json_object_get(doc, "pools");
    if (json_is_array(pools))
        g_string_append_printf(out, ", %zu pool%s", json_array_size(pools),
                               json_array_size(pools) == 1 ? "" : "s");
    const char *type = __string(json_object_get(doc, "job"), "type");
    if (cont && type != NULL) {
        g_string_append(out, ", ");
        __md(out, type);
        g_string_append(out, " job");
    }
    gsize n = __n_runs(doc);
    const char *unit = cont ? "replica" : "window";
    g_string_append_printf(out, ", %zu %s%s\n\n", n, unit, n == 1 ? "" : "s");
    const json_t *tb = json_object_get(doc, "testbed");
    if (g_strcmp0(__string(doc, "mode"), "testbed") == 0 && json_is_object(tb)) {
        /* Measured, not simulated: say what ran and how time was mapped. */
        char scale[G_ASCII_DTOSTR_BUF_SIZE];
        spotlab_format_double(scale, sizeof scale, __get(tb, "time_scale", NULL));
        g_string_append(out, "Measured by the testbed: strategy ");
        __md(out, __string(tb, "strategy"));
        g_string_append_printf(
            out,
            ", replica %.0f, on real processes (%s); time scale %s, notice "
            "leads and grace in %s; outcome: ",
            __get(tb, "replica", NULL),
            g_strcmp0(__string(tb, "workload"), "train") == 0 ? "the built-in training workload"
                                                              : "the scenario's command",
            scale,
            g_strcmp0(__string(tb, "notice_leads"), "scaled") == 0 ? "scaled time"
                                                                   : "real seconds");
        __md(out, __string(tb, "outcome"));
        g_string_append(out, ".\n\n");
    }
}

/* A testbed result's prediction beside its measurement (docs/fidelity.md). */
static void
__md_fidelity(GString *out, const json_t *doc)
{
    const json_t *rows = json_object_get(doc, "fidelity");
    if (json_array_size(rows) == 0)
        return;
    g_string_append(out, "| prediction vs testbed | predicted | measured | error |\n"
                         "|:--|--:|--:|--:|\n");
    for (gsize i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        const char *unit = __string(r, "unit");
        double pv = __get(r, "predicted", NULL), mv = __get(r, "measured", NULL);
        double e = __get(r, "error_pct", NULL);
        g_autofree char *p = isnan(pv) ? g_strdup("-") : g_strdup_printf("%.6g", pv);
        g_autofree char *m = isnan(mv) ? g_strdup("-") : g_strdup_printf("%.6g", mv);
        g_autofree char *err = isnan(e) ? g_strdup("-") : g_strdup_printf("%+.1f%%", e);
        g_string_append(out, "| ");
        __md(out, __string(r, "metric"));
        if (unit != NULL) {
            g_string_append(out, " (");
            __md(out, unit);
            g_string_append_c(out, ')');
        }
        g_string_append_printf(out, " | %s | %s | %s |\n", p, m, err);
    }
    g_string_append_c(out, '\n');
}

static void
__md_policies(GString *out, const json_t *doc)
{
    gboolean cont = __is_continuous(doc), deadline = __has_deadline(doc) || !cont;
    g_string_append_printf(out, "| %s | mean cost | 95%% CI | savings | %s |",
                           cont ? "strategy" : "policy", deadline ? "deadline met" : "finished");
    if (cont)
        g_string_append(out, " lost GPU-h | interruptions | p95 recovery |");
    g_string_append(out, "\n|:--|--:|--:|--:|--:|");
    if (cont)
        g_string_append(out, "--:|--:|--:|");
    g_string_append_c(out, '\n');
    const json_t *policies = json_object_get(doc, "policies");
    for (gsize i = 0; i < json_array_size(policies); i++) {
        const json_t *p = json_array_get(policies, i);
        const json_t *s = json_object_get(p, "summary");
        g_autofree char *mean = __money(__get(s, "cost", "mean"));
        g_autofree char *ci = __money_ci(json_object_get(s, "cost"));
        g_autofree char *savings = __fixed(__get(s, "total_savings_pct", NULL), 1, "%");
        g_autofree char *met =
            __fixed(__get(s, deadline ? "deadline_met_pct" : "finished_pct", NULL), 1, "%");
        g_string_append(out, "| ");
        __md(out, __string(p, "name"));
        g_string_append_printf(out, " | %s | %s | %s | %s |", mean, ci, savings, met);
        if (cont) {
            g_autofree char *lost = __fixed(__get(s, "lost_gpu_hours", "mean"), 2, "");
            g_autofree char *intr = __fixed(__get(s, "interruptions", "mean"), 1, "");
            g_autofree char *rec = __duration(__get(s, "recovery_seconds", "p95"));
            g_string_append_printf(out, " %s | %s | %s |", lost, intr, rec);
        }
        g_string_append_c(out, '\n');
    }
    g_string_append_c(out, '\n');
}

static void
__md_expectations(GString *out, const json_t *list)
{
    if (json_array_size(list) == 0)
        return;
    g_string_append(out, "| result | expectation | measured |\n|:--|:--|--:|\n");
    for (gsize i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        g_autofree char *measured = __measured(e);
        const char *text = __string(e, "text"), *name = __string(e, "name");
        g_string_append_printf(out, "| %s | ", __failed(e) ? "**FAIL**" : "pass");
        __md(out, text);
        if (name != NULL && strcmp(name, text) != 0) {
            g_string_append(out, " (");
            __md(out, name);
            g_string_append_c(out, ')');
        }
        g_string_append(out, " | ");
        __md(out, measured);
        g_string_append(out, " |\n");
    }
    g_string_append_c(out, '\n');
}

char *
report_markdown(const json_t *merged)
{
    g_return_val_if_fail(merged != NULL, NULL);
    const json_t *results = json_object_get(merged, "results");
    GString *out = g_string_new(NULL);

    gsize n_expect = 0, n_failed = 0;
    gboolean any_continuous = FALSE;
    for (gsize i = 0; i < json_array_size(results); i++) {
        const json_t *doc = json_array_get(results, i);
        const json_t *list = json_object_get(doc, "expectations");
        n_expect += json_array_size(list);
        for (gsize k = 0; k < json_array_size(list); k++)
            n_failed += __failed(json_array_get(list, k));
        any_continuous |= __is_continuous(doc);
    }
    /* The verdict first: what a reviewer of a pull request looks for. */
    if (n_failed > 0)
        g_string_append_printf(out, "**Expectations: %zu of %zu failed.**\n\n", n_failed, n_expect);
    else if (n_expect > 0)
        g_string_append_printf(out, "Expectations: %s %zu hold.\n\n", n_expect == 1 ? "the" : "all",
                               n_expect);

    for (gsize i = 0; i < json_array_size(results); i++) {
        const json_t *doc = json_array_get(results, i);
        __md_heading(out, doc);
        __md_policies(out, doc);
        __md_fidelity(out, doc);
        __md_expectations(out, json_object_get(doc, "expectations"));
    }
    g_string_append(out, "savings: the whole bill against on demand on the same runs; "
                         "95% CI: of the mean cost");
    if (any_continuous)
        g_string_append(out, "; lost GPU-h: mean GPU-hours of work lost; interruptions: mean per "
                             "replica; p95 recovery: from a reclaim until the work is back where "
                             "it was");
    g_string_append(out, ".\n");
    return g_string_free(out, FALSE);
}

/* ---- JUnit XML ------------------------------------------------------------------------------ */

static void
__xml_attr(GString *out, const char *name, const char *value)
{
    g_string_append_printf(out, " %s=\"", name);
    spotlab_xml_append(out, value);
    g_string_append_c(out, '"');
}

/* "measured $66.96, expected <= $50.00" */
static char *
__junit_message(const json_t *e)
{
    g_autofree char *m = __measured(e);
    g_autofree char *bound = __bound(e);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "measured %s", m);
    if (bound != NULL)
        g_string_append_printf(s, ", expected %s", bound);
    return g_string_free(s, FALSE);
}

static void
__junit_expectation(GString *out, const char *scenario, const json_t *e)
{
    g_string_append(out, "    <testcase");
    __xml_attr(out, "classname", scenario);
    __xml_attr(out, "name", __string(e, "text"));
    if (!__failed(e)) {
        g_string_append(out, "/>\n");
        return;
    }
    g_autofree char *message = __junit_message(e);
    g_string_append(out, ">\n      <failure");
    __xml_attr(out, "message", message);
    __xml_attr(out, "type", "expectation");
    g_string_append_c(out, '>');
    g_autoptr(GString) body = g_string_new(NULL);
    g_string_append_printf(body, "%s: %s", __string(e, "text"), message);
    static const char *const keys[] = {"name", "policy", "metric", "aggregate", "unit", "field"};
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
        const char *v = __string(e, keys[i]);
        if (v != NULL && (i > 0 || strcmp(v, __string(e, "text")) != 0))
            g_string_append_printf(body, "\n%s: %s", keys[i], v);
    }
    spotlab_xml_append(out, body->str);
    g_string_append(out, "</failure>\n    </testcase>\n");
}

/* Without expectations, a test case per policy that says how it did; it always passes, since
 * nothing was asked of it, and it is named by the policy alone so that CI systems follow it from
 * run to run. */
static void
__junit_policy(GString *out, const char *scenario, const json_t *doc, const json_t *p)
{
    const json_t *s = json_object_get(p, "summary");
    gboolean cont = __is_continuous(doc), deadline = __has_deadline(doc) || !cont;
    g_autofree char *mean = __money(__get(s, "cost", "mean"));
    g_autofree char *ci = __money_ci(json_object_get(s, "cost"));
    g_autofree char *savings = __fixed(__get(s, "total_savings_pct", NULL), 1, "%");
    g_autofree char *met = __fixed(__get(s, "deadline_met_pct", NULL), 1, "%");
    g_autoptr(GString) text = g_string_new(NULL);
    g_string_append_printf(text, "finished %zu of %zu runs; mean cost %s %s; savings %s",
                           __count_finished(p), json_array_size(json_object_get(p, "runs")), mean,
                           ci, savings);
    if (deadline)
        g_string_append_printf(text, "; deadline met %s", met);
    g_string_append_c(text, '\n');
    g_string_append(out, "    <testcase");
    __xml_attr(out, "classname", scenario);
    __xml_attr(out, "name", __string(p, "name"));
    g_string_append(out, ">\n      <system-out>");
    spotlab_xml_append(out, text->str);
    g_string_append(out, "</system-out>\n    </testcase>\n");
}

char *
report_junit(const json_t *merged)
{
    g_return_val_if_fail(merged != NULL, NULL);
    const json_t *results = json_object_get(merged, "results");
    gsize tests = 0, failures = 0;
    for (gsize i = 0; i < json_array_size(results); i++) {
        const json_t *doc = json_array_get(results, i);
        const json_t *list = json_object_get(doc, "expectations");
        gsize n = json_array_size(list);
        tests += n > 0 ? n : json_array_size(json_object_get(doc, "policies"));
        for (gsize k = 0; k < n; k++)
            failures += __failed(json_array_get(list, k));
    }
    GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    g_string_append_printf(out, "<testsuites name=\"spotlab\" tests=\"%zu\" failures=\"%zu\">\n",
                           tests, failures);
    for (gsize i = 0; i < json_array_size(results); i++) {
        const json_t *doc = json_array_get(results, i);
        const json_t *scenario = json_object_get(doc, "scenario");
        const char *name = __string(scenario, "name");
        const json_t *list = json_object_get(doc, "expectations");
        const json_t *policies = json_object_get(doc, "policies");
        gsize n = json_array_size(list), failed = 0;
        for (gsize k = 0; k < n; k++)
            failed += __failed(json_array_get(list, k));
        g_string_append(out, "  <testsuite");
        __xml_attr(out, "name", name);
        g_string_append_printf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n",
                               n > 0 ? n : json_array_size(policies), failed);
        g_string_append(out, "    <properties>\n");
        g_string_append(out, "      <property name=\"model\"");
        __xml_attr(out, "value", __string(doc, "model"));
        g_string_append(out, "/>\n");
        const json_t *seed = json_object_get(scenario, "seed");
        if (json_is_integer(seed))
            g_string_append_printf(
                out, "      <property name=\"seed\" value=\"%" JSON_INTEGER_FORMAT "\"/>\n",
                json_integer_value(seed));
        g_string_append_printf(out, "      <property name=\"runs\" value=\"%zu\"/>\n",
                               __n_runs(doc));
        g_string_append(out, "    </properties>\n");
        if (n > 0) {
            for (gsize k = 0; k < n; k++)
                __junit_expectation(out, name, json_array_get(list, k));
        } else {
            for (gsize k = 0; k < json_array_size(policies); k++)
                __junit_policy(out, name, doc, json_array_get(policies, k));
        }
        g_string_append(out, "  </testsuite>\n");
    }
    g_string_append(out, "</testsuites>\n");
    return g_string_free(out, FALSE);
}

/* ---- CSV ------------------------------------------------------------------------------------ */

static const char *const csv_fixed[] = {"scenario", "model", "policy"};

/* The columns after the fixed ones: every key of the runs that holds something other than an
 * object in some run, in the order keys first appear (results file by results file, policy by
 * policy, run by run), so the columns follow the results file's own order. */
static GPtrArray *
__csv_columns(const json_t *results)
{
    GPtrArray *columns = g_ptr_array_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (gsize i = 0; i < json_array_size(results); i++) {
        const json_t *policies = json_object_get(json_array_get(results, i), "policies");
        for (gsize k = 0; k < json_array_size(policies); k++) {
            const json_t *runs = json_object_get(json_array_get(policies, k), "runs");
            for (gsize r = 0; r < json_array_size(runs); r++) {
                const char *key;
                json_t *value;
                json_object_foreach(json_array_get(runs, r), key, value)
                {
                    if (json_is_object(value) || g_hash_table_contains(seen, key))
                        continue;
                    g_hash_table_add(seen, (gpointer)key);
                    g_ptr_array_add(columns, (gpointer)key);
                }
            }
        }
    }
    return columns;
}

/* Appends a scalar as the results file writes it: numbers with 15 significant digits, true and
 * false, nothing for null; anything else as compact JSON. */
static void
__csv_scalar(GString *cell, const json_t *v)
{
    if (v == NULL || json_is_null(v))
        return;
    if (json_is_string(v)) {
        g_string_append(cell, json_string_value(v));
        return;
    }
    g_autofree char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    g_string_append(cell, text ? text : "");
}

/* Appends @cell as one RFC 4180 field: quoted when it holds a comma, a quote or a line break,
 * with quotes doubled. */
static void
__csv_field(GString *out, const char *cell)
{
    if (strpbrk(cell, ",\"\r\n") == NULL) {
        g_string_append(out, cell);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = cell; *p; p++) {
        if (*p == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *p);
    }
    g_string_append_c(out, '"');
}

char *
report_csv(const json_t *merged)
{
    g_return_val_if_fail(merged != NULL, NULL);
    const json_t *results = json_object_get(merged, "results");
    g_autoptr(GPtrArray) columns = __csv_columns(results);
    GString *out = g_string_new(NULL);
    g_autoptr(GString) cell = g_string_new(NULL);

    for (gsize c = 0; c < G_N_ELEMENTS(csv_fixed); c++) {
        if (c > 0)
            g_string_append_c(out, ',');
        g_string_append(out, csv_fixed[c]);
    }
    for (guint c = 0; c < columns->len; c++) {
        const char *key = columns->pdata[c];
        g_string_truncate(cell, 0);
        /* A run field named like a fixed column keeps its place under another name. */
        for (gsize f = 0; f < G_N_ELEMENTS(csv_fixed); f++)
            if (strcmp(key, csv_fixed[f]) == 0)
                g_string_append(cell, "runs.");
        g_string_append(cell, key);
        g_string_append_c(out, ',');
        __csv_field(out, cell->str);
    }
    g_string_append(out, "\r\n");

    for (gsize i = 0; i < json_array_size(results); i++) {
        const json_t *doc = json_array_get(results, i);
        const char *scenario = __string(json_object_get(doc, "scenario"), "name");
        const char *model = __string(doc, "model");
        const json_t *policies = json_object_get(doc, "policies");
        for (gsize k = 0; k < json_array_size(policies); k++) {
            const json_t *p = json_array_get(policies, k);
            const json_t *runs = json_object_get(p, "runs");
            for (gsize r = 0; r < json_array_size(runs); r++) {
                const json_t *run = json_array_get(runs, r);
                __csv_field(out, scenario);
                g_string_append_c(out, ',');
                __csv_field(out, model);
                g_string_append_c(out, ',');
                __csv_field(out, __string(p, "name"));
                for (guint c = 0; c < columns->len; c++) {
                    const json_t *v = json_object_get(run, columns->pdata[c]);
                    g_string_truncate(cell, 0);
                    if (json_is_array(v)) {
                        for (gsize j = 0; j < json_array_size(v); j++) {
                            if (j > 0)
                                g_string_append_c(cell, ';');
                            __csv_scalar(cell, json_array_get(v, j));
                        }
                    } else {
                        __csv_scalar(cell, v);
                    }
                    g_string_append_c(out, ',');
                    __csv_field(out, cell->str);
                }
                g_string_append(out, "\r\n");
            }
        }
    }
    return g_string_free(out, FALSE);
}
