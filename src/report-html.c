/* spotlab report: the HTML renderer.
 *
 * report_html() draws the merged document (report.h) as one self-contained HTML file: inline
 * CSS, SVG charts drawn here, nothing fetched from the network, and a small script that only
 * counts what was drawn (the page reads the same without it). For each results file: a header,
 * a table per policy, four charts (savings with confidence whiskers, cost against lost work, the
 * timeline of the recorded replica, the distribution of recovery or finish times) and the
 * expectations with their verdicts. docs/report-html.md says what each chart shows.
 *
 * The bytes are a pure function of the merged document: numbers are written with
 * g_ascii_formatd (never the locale's decimal comma), nothing depends on the time or the
 * machine, and ids are numbered by position. Every coordinate is checked finite before it is
 * written, so a missing value (null, NaN, a policy with no finished run) leaves its mark out
 * instead of drawing it at NaN. Marks carry class="mark" so that tests can count them. Data per
 * replica is binned (histograms) or summarised, and the timeline is thinned to the chart's
 * resolution, so the file stays small for any number of replicas.
 */
#include "report.h"
#include "util.h"

#include <math.h>
#include <string.h>

/* The charts' coordinate system: every SVG is this wide and scales to the page. */
#define CHART_W   760.0
#define CHAR_W    6.9 /* the width of a character of 12px text, for layout without metrics */
#define ROW_LINES 2   /* a policy's name takes at most this many lines beside a chart */

/* ---- numbers and text ---------------------------------------------------------------------- */

/* A formatted number, returned by value so that calls nest inside one printf. */
typedef struct {
    char s[64];
} Str;

/* @v with @decimals digits after the point, locale-independent; "-0" is written "0". */
static Str
__fixed(double v, int decimals)
{
    static const char *const formats[] = {"%.0f", "%.1f", "%.2f", "%.3f", "%.4f", "%.5f", "%.6f"};
    Str r;
    if (!isfinite(v)) {
        g_strlcpy(r.s, "\xe2\x80\x93", sizeof r.s); /* an en dash: no value */
        return r;
    }
    decimals = CLAMP(decimals, 0, (int)G_N_ELEMENTS(formats) - 1);
    g_ascii_formatd(r.s, sizeof r.s, formats[decimals], v);
    if (r.s[0] == '-' && strspn(r.s + 1, "0.") == strlen(r.s + 1))
        memmove(r.s, r.s + 1, strlen(r.s));
    return r;
}

/* A coordinate: one decimal, without a trailing ".0". Callers leave out what is not finite, so
 * a NaN here is a bug of this file: it is reported (fatal in the tests) and drawn at 0. */
static Str
__c(double v)
{
    if (!isfinite(v)) {
        g_critical("report-html: a coordinate is not finite");
        v = 0;
    }
    Str r = __fixed(v, 1);
    gsize n = strlen(r.s);
    if (n > 2 && strcmp(r.s + n - 2, ".0") == 0)
        r.s[n - 2] = '\0';
    return r;
}

/* "$1,234.56"; "-$7.40"; an en dash for no value. */
static Str
__money(double v, int decimals)
{
    Str digits = __fixed(fabs(v), decimals);
    if (!isfinite(v))
        return digits;
    Str r;
    char *dot = strchr(digits.s, '.');
    gsize int_len = dot ? (gsize)(dot - digits.s) : strlen(digits.s);
    gsize o = 0;
    if (v < 0 && strspn(digits.s, "0.") != strlen(digits.s))
        r.s[o++] = '-';
    r.s[o++] = '$';
    for (gsize i = 0; i < int_len && o < sizeof r.s - 2; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            r.s[o++] = ',';
        r.s[o++] = digits.s[i];
    }
    r.s[o] = '\0';
    if (dot)
        g_strlcat(r.s, dot, sizeof r.s);
    return r;
}

static Str
__pct(double v, int decimals)
{
    Str r = __fixed(v, decimals);
    if (isfinite(v))
        g_strlcat(r.s, "%", sizeof r.s);
    return r;
}

/* A duration in seconds, in the unit that reads best: "45 s", "12.5 min", "3.4 h". */
static Str
__duration(double seconds)
{
    Str r;
    if (!isfinite(seconds))
        return __fixed(seconds, 0);
    const char *unit;
    double v;
    if (seconds < 90) {
        v = seconds;
        unit = " s";
    } else if (seconds < 90 * 60) {
        v = seconds / 60;
        unit = " min";
    } else {
        v = seconds / 3600;
        unit = " h";
    }
    r = __fixed(v, v < 10 ? 1 : 0);
    g_strlcat(r.s, unit, sizeof r.s);
    return r;
}

static Str
__hours(double h)
{
    Str r = __fixed(h, fabs(h) < 10 ? 2 : 1);
    if (isfinite(h))
        g_strlcat(r.s, " h", sizeof r.s);
    return r;
}

/* Appends @text escaped for HTML and XML text and attribute values. */
static void
__esc(GString *out, const char *text)
{
    g_autofree char *e = g_markup_escape_text(text ? text : "", -1);
    g_string_append(out, e);
}

/* Up to @max characters of @text, with an ellipsis where it was cut. */
static char *
__cut(const char *text, glong max)
{
    if (g_utf8_strlen(text, -1) <= max)
        return g_strdup(text);
    g_autofree char *head = g_utf8_substring(text, 0, MAX(max - 1, 1));
    g_strchomp(head);
    return g_strconcat(head, "\xe2\x80\xa6", NULL);
}

/* @text broken into at most ROW_LINES lines of at most @width characters, at spaces or after
 * hyphens ("deadline-uniform-" / "progress"); the last line is cut with an ellipsis when the
 * text does not fit. */
static GPtrArray *
__wrap(const char *text, glong width)
{
    /* Tokens: words, and the pieces of a hyphenated word that is too long for a line, each with
     * whether a space follows it. */
    g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) spaced = g_array_new(FALSE, FALSE, sizeof(gboolean));
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    for (guint w = 0; words[w] != NULL; w++) {
        const char *word = words[w];
        if (*word == '\0')
            continue;
        while (g_utf8_strlen(word, -1) > width && strchr(word, '-') != NULL &&
               strchr(word, '-')[1] != '\0') {
            const char *cut = strchr(word, '-') + 1;
            g_ptr_array_add(tokens, g_strndup(word, (gsize)(cut - word)));
            gboolean f = FALSE;
            g_array_append_val(spaced, f);
            word = cut;
        }
        g_ptr_array_add(tokens, g_strdup(word));
        gboolean t = TRUE;
        g_array_append_val(spaced, t);
    }
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    GString *line = g_string_new(NULL);
    gboolean space = FALSE; /* a space goes before the next token */
    for (guint k = 0; k < tokens->len; k++) {
        const char *tok = tokens->pdata[k];
        glong need = g_utf8_strlen(line->str, -1) + (space ? 1 : 0) + g_utf8_strlen(tok, -1);
        if (line->len > 0 && need > width && lines->len < ROW_LINES - 1) {
            g_ptr_array_add(lines, g_string_free(line, FALSE));
            line = g_string_new(NULL);
            space = FALSE;
        }
        if (space && line->len > 0)
            g_string_append_c(line, ' ');
        g_string_append(line, tok);
        space = g_array_index(spaced, gboolean, k);
    }
    g_ptr_array_add(lines, __cut(line->str, width));
    g_string_free(line, TRUE);
    return lines;
}

/* ---- the results document ------------------------------------------------------------------ */

/* A number of @obj, NaN where it is missing, null or not a number. */
static double
__num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* A statistic of a summary field: __stat(summary, "cost", "mean"). */
static double
__stat(const json_t *summary, const char *field, const char *stat)
{
    return __num(json_object_get(summary, field), stat);
}

/* The 95% confidence interval of a summary field; FALSE where it has none. */
static gboolean
__ci(const json_t *summary, const char *field, double *lo, double *hi)
{
    const json_t *ci = json_object_get(json_object_get(summary, field), "ci95");
    *lo = json_is_number(json_array_get(ci, 0)) ? json_number_value(json_array_get(ci, 0))
                                                : (double)NAN;
    *hi = json_is_number(json_array_get(ci, 1)) ? json_number_value(json_array_get(ci, 1))
                                                : (double)NAN;
    return isfinite(*lo) && isfinite(*hi);
}

static const char *
__str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* One results document as the charts see it. */
typedef struct {
    const json_t *doc;
    guint index;            /* its place in the merged document: ids are unique per report */
    gboolean continuous;    /* the continuous-time model, else the tick model */
    const json_t *policies; /* the policies array (may be empty) */
    gsize n;                /* its length */
    double deadline;        /* hours, NaN when the job has none */
    double label_w;         /* room left of the charts for the policies' names */
    glong label_chars;      /* characters per line of a name there */
} Results;

static const json_t *
__policy(const Results *r, gsize i)
{
    return json_array_get(r->policies, i);
}

static const char *
__policy_name(const Results *r, gsize i)
{
    const char *name = __str(__policy(r, i), "name");
    return name ? name : "?";
}

static const json_t *
__summary(const Results *r, gsize i)
{
    return json_object_get(__policy(r, i), "summary");
}

static void
__results_init(Results *r, const json_t *doc, guint index)
{
    memset(r, 0, sizeof *r);
    r->doc = doc;
    r->index = index;
    const char *model = __str(doc, "model");
    r->continuous = model != NULL && strcmp(model, "continuous") == 0;
    r->policies = json_object_get(doc, "policies");
    r->n = json_array_size(r->policies);
    r->deadline = __num(json_object_get(doc, "job"), "deadline_hours");
    /* Names wrap onto two lines; the column is as wide as the longest needs, within limits. */
    glong longest = 8;
    for (gsize i = 0; i < r->n; i++)
        longest = MAX(longest, g_utf8_strlen(__policy_name(r, i), -1));
    r->label_chars = CLAMP(longest <= 28 ? longest : (longest + 1) / 2 + 2, 8, 30);
    r->label_w = (double)r->label_chars * CHAR_W + 12;
}

/* ---- axes ---------------------------------------------------------------------------------- */

#define AXIS_MAX_TICKS 24

typedef struct {
    double lo, hi; /* the domain, widened to whole ticks */
    double p0, p1; /* where lo and hi are drawn */
    gboolean log;  /* log10 scale (durations) */
    double ticks[AXIS_MAX_TICKS];
    const char *tick_labels[AXIS_MAX_TICKS]; /* log axes: fixed labels */
    guint n_ticks;
    int decimals; /* for the labels of linear ticks */
} Axis;

/* A linear axis over [lo, hi] with about @target ticks at 1, 2, 2.5 or 5 times a power of ten.
 * A degenerate or missing range becomes a small one around the value (or [0, 1]). */
static void
__axis_linear(Axis *a, double lo, double hi, double p0, double p1, guint target)
{
    memset(a, 0, sizeof *a);
    a->p0 = p0;
    a->p1 = p1;
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (hi - lo <= 1e-9 * MAX(fabs(hi), fabs(lo))) {
        double d = lo == 0 ? 1 : fabs(lo) * 0.1;
        lo = lo >= 0 && lo - d < 0 ? 0 : lo - d;
        hi = hi <= 0 && hi + d > 0 ? 0 : hi + d;
        if (hi - lo <= 0)
            hi = lo + 1;
    }
    double raw = (hi - lo) / (double)MAX(target, 1u);
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
    while ((hi - lo) / step > AXIS_MAX_TICKS - 2)
        step *= 2;
    a->lo = floor(lo / step + 1e-9) * step;
    a->hi = ceil(hi / step - 1e-9) * step;
    if (a->hi <= a->lo)
        a->hi = a->lo + step;
    guint n = (guint)lround((a->hi - a->lo) / step) + 1;
    a->n_ticks = MIN(n, (guint)AXIS_MAX_TICKS);
    for (guint i = 0; i < a->n_ticks; i++) {
        double t = a->lo + (double)i * step;
        a->ticks[i] = fabs(t) < step * 1e-9 ? 0 : t;
    }
    a->decimals = 0;
    while (a->decimals < 6) {
        double scaled = step * pow(10, a->decimals);
        if (fabs(scaled - round(scaled)) < 1e-6 * MAX(1.0, scaled))
            break;
        a->decimals++;
    }
}

/* A log axis for durations in seconds, with ticks at the round durations in [lo, hi]. */
static void
__axis_duration_log(Axis *a, double lo, double hi, double p0, double p1)
{
    static const double ticks[] = {1, 10, 60, 600, 3600, 36000, 360000, 3600000};
    static const char *const labels[] = {"1 s", "10 s", "1 min", "10 min",
                                         "1 h", "10 h", "100 h", "1000 h"};
    memset(a, 0, sizeof *a);
    a->p0 = p0;
    a->p1 = p1;
    a->log = TRUE;
    guint first = 0, last = G_N_ELEMENTS(ticks) - 1;
    for (guint i = 0; i < G_N_ELEMENTS(ticks); i++)
        if (ticks[i] <= lo)
            first = i;
    for (guint i = G_N_ELEMENTS(ticks); i-- > 0;)
        if (ticks[i] >= hi)
            last = i;
    if (last <= first)
        last = MIN(first + 1, (guint)G_N_ELEMENTS(ticks) - 1);
    if (last <= first)
        first = last - 1;
    a->lo = ticks[first];
    a->hi = ticks[last];
    for (guint i = first; i <= last; i++) {
        a->ticks[a->n_ticks] = ticks[i];
        a->tick_labels[a->n_ticks] = labels[i];
        a->n_ticks++;
    }
}

/* Where @v is drawn; values outside the domain are clamped to its ends. */
static double
__map(const Axis *a, double v)
{
    double f;
    if (a->log) {
        v = CLAMP(v, a->lo, a->hi);
        f = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    } else {
        f = (v - a->lo) / (a->hi - a->lo);
        f = CLAMP(f, 0.0, 1.0);
    }
    return a->p0 + f * (a->p1 - a->p0);
}

typedef enum {
    TICK_PLAIN,
    TICK_MONEY,
    TICK_PERCENT,
} TickStyle;

static Str
__tick_label(const Axis *a, guint i, TickStyle style)
{
    if (a->log) {
        Str r;
        g_strlcpy(r.s, a->tick_labels[i], sizeof r.s);
        return r;
    }
    switch (style) {
    case TICK_MONEY:
        return __money(a->ticks[i], a->decimals);
    case TICK_PERCENT:
        return __pct(a->ticks[i], a->decimals);
    case TICK_PLAIN:
    default:
        return __fixed(a->ticks[i], a->decimals);
    }
}

/* ---- SVG ----------------------------------------------------------------------------------- */

static gboolean
__all_finite(double a, double b, double c, double d)
{
    return isfinite(a) && isfinite(b) && isfinite(c) && isfinite(d);
}

/* <line>, left out when a coordinate is not finite. */
static void
__line(GString *s, const char *cls, double x1, double y1, double x2, double y2)
{
    if (!__all_finite(x1, y1, x2, y2))
        return;
    g_string_append_printf(s, "<line class=\"%s\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", cls,
                           __c(x1).s, __c(y1).s, __c(x2).s, __c(y2).s);
}

/* <text>, escaped; @anchor is start, middle or end. */
static void
__text(GString *s, const char *cls, double x, double y, const char *anchor, const char *text)
{
    if (!__all_finite(x, y, 0, 0))
        return;
    g_string_append_printf(s, "<text x=\"%s\" y=\"%s\"", __c(x).s, __c(y).s);
    if (cls && *cls)
        g_string_append_printf(s, " class=\"%s\"", cls);
    if (anchor && strcmp(anchor, "start") != 0)
        g_string_append_printf(s, " text-anchor=\"%s\"", anchor);
    g_string_append_c(s, '>');
    __esc(s, text);
    g_string_append(s, "</text>\n");
}

/* A policy's name at the right end of the label column, on up to two lines around @yc. */
static void
__row_label(GString *s, const Results *r, gsize i, double yc)
{
    g_autoptr(GPtrArray) lines = __wrap(__policy_name(r, i), r->label_chars);
    double y = yc + 4 - 6.5 * (double)(lines->len - 1);
    for (guint k = 0; k < lines->len; k++)
        __text(s, "label", r->label_w, y + 13 * (double)k, "end", lines->pdata[k]);
}

/* Opens a figure with its caption and the <svg>; @name is unique within the results. */
static void
__chart_open(GString *s, const Results *r, const char *name, const char *title, const char *caption,
             double height, gboolean empty)
{
    g_string_append_printf(s, "<figure class=\"chart-box\" id=\"r%u-%s\">\n<figcaption><strong>",
                           r->index + 1, name);
    __esc(s, title);
    g_string_append(s, "</strong>. ");
    __esc(s, caption);
    g_string_append_printf(s,
                           "</figcaption>\n<div class=\"chart-wrap\">\n"
                           "<svg class=\"chart\" data-chart=\"%s\"%s xmlns=\"http://www.w3.org/"
                           "2000/svg\" viewBox=\"0 0 %s %s\" role=\"img\" aria-label=\"",
                           name, empty ? " data-empty=\"true\"" : "", __c(CHART_W).s,
                           __c(height).s);
    __esc(s, title);
    g_string_append(s, "\">\n<title>");
    __esc(s, title);
    g_string_append(s, "</title>\n<desc>");
    __esc(s, caption);
    g_string_append(s, "</desc>\n");
}

static void
__chart_close(GString *s)
{
    g_string_append(s, "</svg>\n</div>\n</figure>\n");
}

/* A chart with nothing to draw says so in its place. */
static void
__chart_empty(GString *s, const Results *r, const char *name, const char *title, const char *why)
{
    __chart_open(s, r, name, title, why, 60, TRUE);
    __text(s, "note", CHART_W / 2, 34, "middle", why);
    __chart_close(s);
}

/* A horizontal axis at @y: grid lines up to @grid_top, ticks, labels and the axis title. */
static void
__x_axis(GString *s, const Axis *a, double y, double grid_top, TickStyle style, const char *title)
{
    g_string_append(s, "<g class=\"axis\">\n");
    for (guint i = 0; i < a->n_ticks; i++) {
        double x = __map(a, a->ticks[i]);
        if (grid_top < y)
            __line(s, a->ticks[i] == 0 && !a->log ? "zero" : "grid", x, grid_top, x, y);
        __line(s, "tick", x, y, x, y + 4);
        __text(s, "tick-label", x, y + 16, "middle", __tick_label(a, i, style).s);
    }
    __line(s, "base", a->p0, y, a->p1, y);
    __text(s, "axis-title", (a->p0 + a->p1) / 2, y + 33, "middle", title);
    g_string_append(s, "</g>\n");
}

/* A vertical axis at @x: grid lines to @grid_right, labels left of it, the title rotated. */
static void
__y_axis(GString *s, const Axis *a, double x, double grid_right, TickStyle style, const char *title,
         double title_x)
{
    g_string_append(s, "<g class=\"axis\">\n");
    for (guint i = 0; i < a->n_ticks; i++) {
        double y = __map(a, a->ticks[i]);
        __line(s, a->ticks[i] == 0 && !a->log ? "zero" : "grid", x, y, grid_right, y);
        __text(s, "tick-label", x - 6, y + 4, "end", __tick_label(a, i, style).s);
    }
    __line(s, "base", x, a->p0, x, a->p1);
    if (title) {
        double yc = (a->p0 + a->p1) / 2;
        g_string_append_printf(s,
                               "<text class=\"axis-title\" text-anchor=\"middle\" "
                               "transform=\"translate(%s %s) rotate(-90)\">",
                               __c(title_x).s, __c(yc).s);
        __esc(s, title);
        g_string_append(s, "</text>\n");
    }
    g_string_append(s, "</g>\n");
}

/* ---- chart: savings per policy with confidence whiskers ------------------------------------ */

static void
__chart_savings(GString *s, const Results *r)
{
    const char *title = "Savings per policy with confidence whiskers";
    const char *caption =
        r->continuous
            ? "The mean saving against on demand on the same replica, in percent; the whisker "
              "spans the 95% confidence interval of the mean. Longer bars are cheaper; bars "
              "left of zero cost more than on demand."
            : "The mean saving against on demand over the same windows, in percent; the whisker "
              "spans the 95% confidence interval of the mean. Longer bars are cheaper; bars "
              "left of zero cost more than on demand.";
    double lo = 0, hi = 0;
    gsize drawn = 0;
    for (gsize i = 0; i < r->n; i++) {
        double mean = __stat(__summary(r, i), "savings_pct", "mean"), cl, ch;
        if (!isfinite(mean))
            continue;
        drawn++;
        lo = MIN(lo, mean);
        hi = MAX(hi, mean);
        if (__ci(__summary(r, i), "savings_pct", &cl, &ch)) {
            lo = MIN(lo, cl);
            hi = MAX(hi, ch);
        }
    }
    if (drawn == 0) {
        __chart_empty(s, r, "savings", title, "No policy has a saving to show.");
        return;
    }
    const double row_h = 30, top = 8;
    double height = top + row_h * (double)r->n + 44;
    Axis x;
    __axis_linear(&x, lo, hi, r->label_w + 14, CHART_W - 64, 6);
    __chart_open(s, r, "savings", title, caption, height, FALSE);
    double base = top + row_h * (double)r->n;
    __x_axis(s, &x, base, top, TICK_PERCENT, "mean saving against on demand (%)");
    double x0 = __map(&x, 0);
    for (gsize i = 0; i < r->n; i++) {
        const json_t *sum = __summary(r, i);
        double yc = top + row_h * ((double)i + 0.5);
        __row_label(s, r, i, yc);
        double mean = __stat(sum, "savings_pct", "mean"), cl, ch;
        if (!isfinite(mean)) {
            __text(s, "note", x0 + 6, yc + 4, "start", "no data");
            continue;
        }
        gboolean has_ci = __ci(sum, "savings_pct", &cl, &ch);
        double xm = __map(&x, mean);
        g_string_append_printf(s,
                               "<rect class=\"mark bar%s\" x=\"%s\" y=\"%s\" width=\"%s\" "
                               "height=\"14\"><title>",
                               mean < 0 ? " neg" : "", __c(MIN(x0, xm)).s, __c(yc - 7).s,
                               __c(fabs(xm - x0)).s);
        __esc(s, __policy_name(r, i));
        g_string_append_printf(s, ": mean saving %s", __pct(mean, 1).s);
        if (has_ci)
            g_string_append_printf(s, ", 95%% CI %s to %s", __pct(cl, 1).s, __pct(ch, 1).s);
        g_string_append(s, "</title></rect>\n");
        double right = MAX(xm, x0);
        if (has_ci) {
            double a = __map(&x, cl), b = __map(&x, ch);
            __line(s, "whisker", a, yc, b, yc);
            __line(s, "whisker", a, yc - 6, a, yc + 6);
            __line(s, "whisker", b, yc - 6, b, yc + 6);
            right = MAX(right, b);
        }
        __text(s, "value", right + 5, yc + 4, "start", __pct(mean, 1).s);
    }
    __chart_close(s);
}

/* ---- chart: cost against lost work --------------------------------------------------------- */

typedef struct {
    double x0, y0, x1, y1;
} Box;

static gboolean
__overlaps(const Box *a, const Box *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* The 95% Wilson score interval of a proportion @k of @n, in percent. */
static void
__wilson(double k, double n, double *lo, double *hi)
{
    const double z = 1.959963984540054;
    if (!(n > 0)) {
        *lo = *hi = NAN;
        return;
    }
    double p = k / n, d = 1 + z * z / n;
    double c = (p + z * z / (2 * n)) / d;
    double h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
    *lo = 100 * MAX(0.0, c - h);
    *hi = 100 * MIN(1.0, c + h);
}

typedef struct {
    double x, y, xl, xh, yl, yh; /* the point and its intervals (NaN where none) */
    double px, py;
    GString *label;
    gboolean merged; /* drawn with an earlier point at the same place */
} ScatterPoint;

/* Where the label of point @p goes: the first place, nearest first, that overlaps neither
 * another label nor a point and stays inside @area. Returns the text anchor. */
static const char *
__place_label(const ScatterPoint *p, double text_w, const Box *area, GArray *taken, double *lx,
              double *ly)
{
    static const double radii[] = {8, 16, 26, 38, 52, 68, 86, 106};
    /* Directions: right, left, above, below, then the diagonals. */
    static const double dirs[][2] = {{1, 0},      {-1, 0},      {0, -1},    {0, 1},
                                     {0.7, -0.7}, {-0.7, -0.7}, {0.7, 0.7}, {-0.7, 0.7}};
    for (guint ri = 0; ri < G_N_ELEMENTS(radii); ri++) {
        for (guint d = 0; d < G_N_ELEMENTS(dirs); d++) {
            double cx = p->px + dirs[d][0] * radii[ri], cy = p->py + dirs[d][1] * radii[ri];
            Box b;
            const char *anchor;
            if (dirs[d][0] > 0.1) {
                b.x0 = cx;
                anchor = "start";
            } else if (dirs[d][0] < -0.1) {
                b.x0 = cx - text_w;
                anchor = "end";
            } else {
                b.x0 = cx - text_w / 2;
                anchor = "middle";
            }
            b.x1 = b.x0 + text_w;
            b.y0 = cy - 6;
            b.y1 = cy + 6;
            if (b.x0 < area->x0 || b.x1 > area->x1 || b.y0 < area->y0 || b.y1 > area->y1)
                continue;
            gboolean clear = TRUE;
            for (guint k = 0; k < taken->len && clear; k++)
                clear = !__overlaps(&b, &g_array_index(taken, Box, k));
            if (!clear)
                continue;
            g_array_append_val(taken, b);
            *lx = cx;
            *ly = cy + 4;
            return anchor;
        }
    }
    *lx = p->px + 8;
    *ly = p->py + 4;
    return "start";
}

static void
__chart_scatter(GString *s, const Results *r)
{
    const char *title = r->continuous ? "Cost against lost work per policy"
                                      : "Cost against missed deadlines per policy";
    const char *caption =
        r->continuous
            ? "Each point is a policy: its mean cost per replica (across) against the mean "
              "GPU-hours of work it lost to reclaims (up); the cross-hairs span the 95% "
              "confidence intervals of both means. Down and left is better."
            : "Each point is a policy: its mean cost per window (across) against the share of "
              "windows that missed the deadline (up; the tick model loses no work, it loses "
              "time). Cross-hairs: 95% confidence interval of the mean cost, and the 95% Wilson "
              "interval of the share. Down and left is better.";
    g_autoptr(GArray) pts = g_array_new(FALSE, TRUE, sizeof(ScatterPoint));
    double xmin = INFINITY, xmax = -INFINITY, ymax = 0;
    for (gsize i = 0; i < r->n; i++) {
        const json_t *sum = __summary(r, i);
        ScatterPoint p = {.xl = NAN, .xh = NAN, .yl = NAN, .yh = NAN};
        p.x = __stat(sum, "cost", "mean");
        __ci(sum, "cost", &p.xl, &p.xh);
        if (r->continuous) {
            p.y = __stat(sum, "lost_gpu_hours", "mean");
            __ci(sum, "lost_gpu_hours", &p.yl, &p.yh);
        } else {
            double runs = __num(sum, "runs"), met = __num(sum, "deadline_met");
            p.y = runs > 0 ? 100 * (runs - met) / runs : (double)NAN;
            __wilson(runs - met, runs, &p.yl, &p.yh);
        }
        if (!isfinite(p.x) || !isfinite(p.y)) {
            p.label = NULL;
            g_array_append_val(pts, p);
            continue;
        }
        xmin = MIN(xmin, isfinite(p.xl) ? MIN(p.xl, p.x) : p.x);
        xmax = MAX(xmax, isfinite(p.xh) ? MAX(p.xh, p.x) : p.x);
        ymax = MAX(ymax, isfinite(p.yh) ? MAX(p.yh, p.y) : p.y);
        p.label = g_string_new(NULL);
        g_string_append_printf(p.label, "%zu %s", i + 1, __policy_name(r, i));
        g_array_append_val(pts, p);
    }
    gsize drawn = 0;
    for (guint i = 0; i < pts->len; i++)
        drawn += g_array_index(pts, ScatterPoint, i).label != NULL;
    if (drawn == 0) {
        __chart_empty(s, r, "scatter", title, "No policy has a mean cost to show.");
        return;
    }
    const double height = 380, left = 78, right = CHART_W - 30, top = 14, bottom = height - 52;
    Axis x, y;
    __axis_linear(&x, xmin, xmax, left, right, 7);
    __axis_linear(&y, 0, r->continuous ? ymax : MAX(ymax, 1.0), bottom, top, 5);
    __chart_open(s, r, "scatter", title, caption, height, FALSE);
    __x_axis(s, &x, bottom, bottom, TICK_MONEY,
             r->continuous ? "mean cost per replica (USD)" : "mean cost per window (USD)");
    __y_axis(s, &y, left, right, TICK_PLAIN,
             r->continuous ? "mean lost work (GPU-hours)" : "deadline missed (% of windows)", 16);
    /* Points at the same place (to a pixel and a half) share one label. */
    for (guint i = 0; i < pts->len; i++) {
        ScatterPoint *p = &g_array_index(pts, ScatterPoint, i);
        if (p->label == NULL)
            continue;
        p->px = __map(&x, p->x);
        p->py = __map(&y, p->y);
        for (guint k = 0; k < i; k++) {
            ScatterPoint *q = &g_array_index(pts, ScatterPoint, k);
            if (q->label != NULL && !q->merged && fabs(q->px - p->px) < 1.5 &&
                fabs(q->py - p->py) < 1.5) {
                g_string_append_printf(q->label, ", %s", p->label->str);
                p->merged = TRUE;
                break;
            }
        }
    }
    g_string_append(s, "<g class=\"intervals\">\n");
    for (guint i = 0; i < pts->len; i++) {
        const ScatterPoint *p = &g_array_index(pts, ScatterPoint, i);
        if (p->label == NULL)
            continue;
        if (isfinite(p->xl) && isfinite(p->xh)) {
            __line(s, "ci", __map(&x, p->xl), p->py, __map(&x, p->xh), p->py);
            __line(s, "ci", __map(&x, p->xl), p->py - 4, __map(&x, p->xl), p->py + 4);
            __line(s, "ci", __map(&x, p->xh), p->py - 4, __map(&x, p->xh), p->py + 4);
        }
        if (isfinite(p->yl) && isfinite(p->yh)) {
            __line(s, "ci", p->px, __map(&y, p->yl), p->px, __map(&y, p->yh));
            __line(s, "ci", p->px - 4, __map(&y, p->yl), p->px + 4, __map(&y, p->yl));
            __line(s, "ci", p->px - 4, __map(&y, p->yh), p->px + 4, __map(&y, p->yh));
        }
    }
    g_string_append(s, "</g>\n");
    /* Points, their cross-hairs and their room first, so that no label covers them. */
    g_autoptr(GArray) taken = g_array_new(FALSE, FALSE, sizeof(Box));
    for (guint i = 0; i < pts->len; i++) {
        const ScatterPoint *p = &g_array_index(pts, ScatterPoint, i);
        if (p->label == NULL)
            continue;
        if (isfinite(p->xl) && isfinite(p->xh)) {
            Box b = {__map(&x, p->xl) - 1, p->py - 4, __map(&x, p->xh) + 1, p->py + 4};
            g_array_append_val(taken, b);
        }
        if (isfinite(p->yl) && isfinite(p->yh)) {
            Box b = {p->px - 4, __map(&y, p->yh) - 1, p->px + 4, __map(&y, p->yl) + 1};
            g_array_append_val(taken, b);
        }
    }
    for (guint i = 0; i < pts->len; i++) {
        const ScatterPoint *p = &g_array_index(pts, ScatterPoint, i);
        if (p->label == NULL || p->merged)
            continue;
        Box b = {p->px - 5, p->py - 5, p->px + 5, p->py + 5};
        g_array_append_val(taken, b);
        g_string_append_printf(s, "<circle class=\"mark point\" cx=\"%s\" cy=\"%s\" r=\"4.5\">",
                               __c(p->px).s, __c(p->py).s);
        g_string_append(s, "<title>");
        __esc(s, p->label->str);
        g_string_append_printf(s, ": mean cost %s, ", __money(p->x, 2).s);
        if (r->continuous)
            g_string_append_printf(s, "mean lost work %s GPU-hours", __fixed(p->y, 2).s);
        else
            g_string_append_printf(s, "deadline missed in %s of windows", __pct(p->y, 1).s);
        g_string_append(s, "</title></circle>\n");
    }
    Box area = {left + 2, top - 10, right, bottom - 2};
    for (guint i = 0; i < pts->len; i++) {
        const ScatterPoint *p = &g_array_index(pts, ScatterPoint, i);
        if (p->label == NULL || p->merged)
            continue;
        g_autofree char *text = __cut(p->label->str, 40);
        double w = (double)g_utf8_strlen(text, -1) * CHAR_W * 11 / 12, lx, ly;
        const char *anchor = __place_label(p, w, &area, taken, &lx, &ly);
        if (hypot(lx - p->px, ly - 4 - p->py) > 12) {
            /* A leader line from the point to the label's near edge. */
            double ex = strcmp(anchor, "start") == 0 ? lx - 2
                        : strcmp(anchor, "end") == 0 ? lx + 2
                                                     : lx;
            double ey =
                strcmp(anchor, "middle") == 0 ? (ly - 4 < p->py ? ly + 2 : ly - 12) : ly - 4;
            __line(s, "leader", p->px, p->py, ex, ey);
        }
        __text(s, "point-label", lx, ly, anchor, text);
    }
    for (guint i = 0; i < pts->len; i++) {
        ScatterPoint *p = &g_array_index(pts, ScatterPoint, i);
        if (p->label)
            g_string_free(p->label, TRUE);
    }
    __chart_close(s);
}

/* ---- chart: timeline of one replica -------------------------------------------------------- */

typedef enum {
    EV_NOTICE,
    EV_LAUNCH_FAILED,
    EV_SWITCH,
    EV_RECLAIM,
    EV_CHECKPOINT,
    EV_N,
} EventMark;

static const struct {
    const char *kind;   /* as in the results file */
    const char *legend; /* as the legend says it */
} event_marks[EV_N] = {
    [EV_NOTICE] = {"notice", "termination notice"},
    [EV_LAUNCH_FAILED] = {"launch-failed", "launch failed"},
    [EV_SWITCH] = {"switch", "switch to on demand"},
    [EV_RECLAIM] = {"reclaim", "reclaim"},
    [EV_CHECKPOINT] = {"checkpoint", "checkpoint"},
};

/* The shape of an event marker at (@x, @y), shared by the lanes and the legend. */
static void
__event_shape(GString *s, EventMark kind, double x, double y, gboolean mark)
{
    const char *m = mark ? "mark " : "";
    switch (kind) {
    case EV_NOTICE:
        g_string_append_printf(s, "<path class=\"%sev-notice\" d=\"M%s %sH%sL%s %sZ\"/>\n", m,
                               __c(x - 4).s, __c(y - 3.5).s, __c(x + 4).s, __c(x).s,
                               __c(y + 3.5).s);
        break;
    case EV_LAUNCH_FAILED:
        g_string_append_printf(s,
                               "<rect class=\"%sev-launch-failed\" x=\"%s\" y=\"%s\" width=\"6\" "
                               "height=\"6\"/>\n",
                               m, __c(x - 3).s, __c(y - 3).s);
        break;
    case EV_SWITCH:
        g_string_append_printf(s, "<path class=\"%sev-switch\" d=\"M%s %sL%s %sL%s %sL%s %sZ\"/>\n",
                               m, __c(x).s, __c(y - 4).s, __c(x + 4).s, __c(y).s, __c(x).s,
                               __c(y + 4).s, __c(x - 4).s, __c(y).s);
        break;
    case EV_RECLAIM: {
        g_autofree char *d = g_strdup_printf(
            "M%s %sL%s %sM%s %sL%s %s", __c(x - 3.5).s, __c(y - 3.5).s, __c(x + 3.5).s,
            __c(y + 3.5).s, __c(x - 3.5).s, __c(y + 3.5).s, __c(x + 3.5).s, __c(y - 3.5).s);
        g_string_append_printf(s,
                               "<path class=\"halo\" d=\"%s\"/><path class=\"%sev-reclaim\" "
                               "d=\"%s\"/>\n",
                               d, m, d);
        break;
    }
    case EV_CHECKPOINT:
        g_string_append_printf(s, "<path class=\"%sev-checkpoint\" d=\"M%s %sV%s\"/>\n", m,
                               __c(x).s, __c(y - 3).s, __c(y + 3).s);
        break;
    case EV_N:
    default:
        break;
    }
}

/* A step function of time: change points [hours, value]. */
typedef struct {
    double t, v;
} Step;

/* The change points of a [[hours, value], ...] array, in order, finite ones only. */
static GArray *
__steps(const json_t *series)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(Step));
    for (gsize i = 0; i < json_array_size(series); i++) {
        const json_t *pt = json_array_get(series, i);
        Step st = {json_number_value(json_array_get(pt, 0)),
                   json_number_value(json_array_get(pt, 1))};
        if (json_is_number(json_array_get(pt, 0)) && json_is_number(json_array_get(pt, 1)) &&
            isfinite(st.t) && isfinite(st.v))
            g_array_append_val(a, st);
    }
    return a;
}

/* The path of a step line through @steps from the first change point to @t_end. */
static void
__step_path(GString *d, GArray *steps, double t_end, const Axis *x, const Axis *y)
{
    double last_px = -1;
    for (guint i = 0; i < steps->len; i++) {
        const Step *st = &g_array_index(steps, Step, i);
        double px = __map(x, st->t), py = __map(y, st->v);
        if (i == 0)
            g_string_append_printf(d, "M%s %s", __c(px).s, __c(py).s);
        else if (px - last_px < 0.25)
            g_string_append_printf(d, "V%s", __c(py).s);
        else
            g_string_append_printf(d, "H%sV%s", __c(px).s, __c(py).s);
        last_px = px;
    }
    g_string_append_printf(d, "H%s", __c(__map(x, t_end)).s);
}

/* The number of instances up on each market after each event of a recorded replica. */
typedef struct {
    double t;
    int spot, on_demand;
} Occupancy;

static GArray *
__occupancy(const json_t *events, int *peak)
{
    GArray *occ = g_array_new(FALSE, FALSE, sizeof(Occupancy));
    g_autoptr(GHashTable) up = g_hash_table_new(g_direct_hash, g_direct_equal);
    Occupancy cur = {0, 0, 0};
    for (gsize i = 0; i < json_array_size(events); i++) {
        const json_t *e = json_array_get(events, i);
        double t = json_number_value(json_array_get(e, 0));
        const char *kind = json_string_value(json_array_get(e, 1));
        const json_t *inst = json_array_get(e, 3);
        const char *market = json_string_value(json_array_get(e, 5));
        if (kind == NULL || !json_is_integer(inst) || !isfinite(t))
            continue;
        /* Keys are instance + 1 so that instance 0 is not NULL; values 1 spot, 2 on demand. */
        gpointer key = GSIZE_TO_POINTER((gsize)json_integer_value(inst) + 1);
        int on = GPOINTER_TO_INT(g_hash_table_lookup(up, key));
        if (strcmp(kind, "up") == 0 && on == 0) {
            on = market != NULL && strcmp(market, "on-demand") == 0 ? 2 : 1;
            g_hash_table_insert(up, key, GINT_TO_POINTER(on));
            if (on == 1)
                cur.spot++;
            else
                cur.on_demand++;
        } else if ((strcmp(kind, "end") == 0 || strcmp(kind, "reclaim") == 0) && on != 0) {
            g_hash_table_remove(up, key);
            if (on == 1)
                cur.spot--;
            else
                cur.on_demand--;
        } else {
            continue;
        }
        cur.t = t;
        if (occ->len > 0 && g_array_index(occ, Occupancy, occ->len - 1).t == t)
            g_array_index(occ, Occupancy, occ->len - 1) = cur;
        else
            g_array_append_val(occ, cur);
        *peak = MAX(*peak, cur.spot + cur.on_demand);
    }
    return occ;
}

/* The path of one market's area in a lane, from 0 to @t_end: the spot instances up from the
 * lane's base, or the on-demand ones stacked above them. Change points closer than half a unit
 * across are thinned (the last state wins). NULL when the area is empty throughout. */
static char *
__occupancy_path(GArray *occ, gboolean on_demand, double t_end, const Axis *x, double y_base,
                 double per_instance)
{
    /* The x of each change point, thinned: within half a unit the last state wins. */
    g_autoptr(GArray) px = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) lo = g_array_new(FALSE, FALSE, sizeof(int));
    g_autoptr(GArray) hi = g_array_new(FALSE, FALSE, sizeof(int));
    gboolean any = FALSE;
    for (guint i = 0; i < occ->len; i++) {
        const Occupancy *o = &g_array_index(occ, Occupancy, i);
        double xx = __map(x, MIN(o->t, t_end));
        int l = on_demand ? o->spot : 0, h = on_demand ? o->spot + o->on_demand : o->spot;
        any = any || h > l;
        if (px->len > 0 && xx - g_array_index(px, double, px->len - 1) < 0.5) {
            g_array_index(lo, int, lo->len - 1) = l;
            g_array_index(hi, int, hi->len - 1) = h;
            continue;
        }
        g_array_append_val(px, xx);
        g_array_append_val(lo, l);
        g_array_append_val(hi, h);
    }
    if (!any)
        return NULL;
    double x_end = __map(x, t_end);
    GString *d = g_string_new(NULL);
    /* The upper edge forward, then the lower edge back. */
    g_string_append_printf(d, "M%s %s", __c(__map(x, 0)).s, __c(y_base).s);
    for (guint i = 0; i < px->len; i++)
        g_string_append_printf(d, "H%sV%s", __c(g_array_index(px, double, i)).s,
                               __c(y_base - per_instance * g_array_index(hi, int, i)).s);
    g_string_append_printf(d, "H%s", __c(x_end).s);
    for (guint i = px->len; i-- > 0;) {
        g_string_append_printf(d, "V%sH%s",
                               __c(y_base - per_instance * g_array_index(lo, int, i)).s,
                               __c(g_array_index(px, double, i)).s);
    }
    g_string_append_printf(d, "V%sH%sZ", __c(y_base).s, __c(__map(x, 0)).s);
    return g_string_free(d, FALSE);
}

/* Markers of one kind closer than this across are drawn once; checkpoints, thin ticks, closer. */
#define MARKER_W     7.0
#define CHECKPOINT_W 2.5

static const char *const pool_dashes[] = {"", "7 3", "2 2", "9 3 2 3", "4 4", "1 3"};

static void
__legend_item_swatch(GString *s, double x, double y, const char *cls, const char *fill_id)
{
    if (fill_id)
        g_string_append_printf(s,
                               "<rect class=\"%s\" x=\"%s\" y=\"%s\" width=\"16\" height=\"10\" "
                               "fill=\"url(#%s)\"/>\n",
                               cls, __c(x).s, __c(y - 5).s, fill_id);
    else
        g_string_append_printf(
            s, "<rect class=\"%s\" x=\"%s\" y=\"%s\" width=\"16\" height=\"10\"/>\n", cls, __c(x).s,
            __c(y - 5).s);
}

/* The legend: items laid out left to right, in rows as wide as the chart. */
typedef struct {
    GString *s;
    double x, y, left;
} Legend;

static void
__legend_next(Legend *l, const char *text, double swatch_w)
{
    double w = swatch_w + 6 + (double)g_utf8_strlen(text, -1) * CHAR_W + 18;
    if (l->x + w > CHART_W - 8 && l->x > l->left) {
        l->x = l->left;
        l->y += 18;
    }
}

static void
__legend_text(Legend *l, const char *text, double swatch_w)
{
    __text(l->s, "legend", l->x + swatch_w + 6, l->y + 4, "start", text);
    l->x += swatch_w + 6 + (double)g_utf8_strlen(text, -1) * CHAR_W + 18;
}

static void
__chart_timeline(GString *out, const Results *r)
{
    const char *title = "Timeline of one replica";
    const json_t *series = json_object_get(r->doc, "timeline_series");
    double t_end = 0;
    gsize recorded = 0;
    for (gsize i = 0; i < r->n; i++) {
        const json_t *tl = json_object_get(__policy(r, i), "timeline");
        double end = __num(tl, "end_hours");
        if (json_is_array(json_object_get(tl, "events"))) {
            recorded++;
            if (isfinite(end))
                t_end = MAX(t_end, end);
        }
    }
    if (recorded == 0 || !(t_end > 0)) {
        __chart_empty(out, r, "timeline", title, "The results file records no timeline.");
        return;
    }
    double t_recorded = t_end; /* the series end here; the axis may reach the deadline */
    if (isfinite(r->deadline) && r->deadline > 0)
        t_end = MAX(t_end, r->deadline);
    const json_t *tl0 = json_object_get(__policy(r, 0), "timeline");
    double start = __num(tl0, "start_hours");
    g_autoptr(GString) caption = g_string_new(NULL);
    g_string_append(caption, r->continuous ? "The first replica of every policy"
                                           : "The first window of the first pool");
    if (isfinite(start))
        g_string_append_printf(caption, " (from hour %s of the traces)", __fixed(start, 1).s);
    g_string_append(caption,
                    ", event by event. Top: the spot price of each pool, with the on-demand price "
                    "for reference, and the spot capacity each pool had. Below, one lane per "
                    "policy: how many instances it ran on spot (solid) and on demand (hatched), "
                    "with its notices, reclaims, launch failures, switches and checkpoints.");

    /* The pools with a price or a capacity to draw. */
    double price_max = 0;
    gsize n_price = 0, n_capacity = 0;
    for (gsize k = 0; k < json_array_size(series); k++) {
        const json_t *ps = json_array_get(series, k);
        g_autoptr(GArray) price = __steps(json_object_get(ps, "price"));
        g_autoptr(GArray) cap = __steps(json_object_get(ps, "capacity"));
        for (guint i = 0; i < price->len; i++)
            price_max = MAX(price_max, g_array_index(price, Step, i).v);
        double od = __num(ps, "on_demand_price");
        if (isfinite(od))
            price_max = MAX(price_max, od);
        n_price += price->len > 0;
        n_capacity += cap->len > 0;
    }

    /* The lanes' occupancy, and the most instances any policy had up at once. */
    int peak = 1;
    g_autoptr(GPtrArray) occs = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
    for (gsize i = 0; i < r->n; i++) {
        const json_t *tl = json_object_get(__policy(r, i), "timeline");
        g_ptr_array_add(occs, __occupancy(json_object_get(tl, "events"), &peak));
    }

    const double left = r->label_w + 14, right = CHART_W - 112;
    const double price_h = n_price > 0 ? 86 : 0, cap_h = 18, lane_h = 42;
    double y = 22;
    double price_top = y;
    if (n_price > 0)
        y += price_h + 14;
    double cap_top = y;
    y += (cap_h + 6) * (double)n_capacity;
    double lanes_top = y + 34;
    double lanes_bottom = lanes_top + lane_h * (double)r->n;
    double legend_top = lanes_bottom + 52;

    Axis x;
    __axis_linear(&x, 0, t_end, left, right, 8);

    /* Drawn first, opened when the legend's height is known. */
    g_autoptr(GString) s = g_string_new(NULL);
    g_string_append_printf(s,
                           "<defs><pattern id=\"r%u-od\" width=\"6\" height=\"6\" "
                           "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
                           "<rect width=\"6\" height=\"6\" class=\"od-bg\"/>"
                           "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" class=\"od-line\"/>"
                           "</pattern></defs>\n",
                           r->index + 1);

    /* Prices. */
    typedef struct {
        double y;
        const char *name;
        const char *dash;
    } EndLabel;
    g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(EndLabel));
    gboolean direct = TRUE; /* the pools' names beside their price lines */
    if (n_price > 0) {
        Axis py;
        __axis_linear(&py, 0, price_max, price_top + price_h, price_top, 3);
        __text(s, "panel-title", left, price_top - 8, "start",
               r->continuous ? "spot price (USD per instance-hour)"
                             : "spot price (USD per hour for the cluster)");
        __y_axis(s, &py, left, right, TICK_MONEY, NULL, 0);
        /* On-demand prices: one reference line per distinct price. */
        g_autoptr(GArray) od_seen = g_array_new(FALSE, FALSE, sizeof(double));
        for (gsize k = 0; k < json_array_size(series); k++) {
            double od = __num(json_array_get(series, k), "on_demand_price");
            gboolean seen = !isfinite(od);
            for (guint j = 0; j < od_seen->len && !seen; j++)
                seen = fabs(g_array_index(od_seen, double, j) - od) < 1e-9;
            if (seen)
                continue;
            g_array_append_val(od_seen, od);
            double yy = __map(&py, od);
            __line(s, "od-price", left, yy, right, yy);
            g_autofree char *label = g_strdup_printf("on demand %s", __money(od, 2).s);
            __text(s, "series-label", right + 4, yy + 4, "start", label);
        }
        /* Spot prices, each pool with its own dash and its name at the line's end. */
        guint drawn = 0;
        for (gsize k = 0; k < json_array_size(series); k++) {
            const json_t *ps = json_array_get(series, k);
            g_autoptr(GArray) price = __steps(json_object_get(ps, "price"));
            if (price->len == 0)
                continue;
            g_autoptr(GString) d = g_string_new(NULL);
            __step_path(d, price, t_recorded, &x, &py);
            const char *dash = pool_dashes[drawn % G_N_ELEMENTS(pool_dashes)];
            g_string_append_printf(s, "<path class=\"mark price\" d=\"%s\"", d->str);
            if (*dash)
                g_string_append_printf(s, " stroke-dasharray=\"%s\"", dash);
            g_string_append(s, "><title>");
            const char *pool = __str(ps, "pool");
            __esc(s, pool ? pool : "pool");
            g_string_append(s, " spot price</title></path>\n");
            EndLabel el = {__map(&py, g_array_index(price, Step, price->len - 1).v),
                           pool ? pool : "pool", dash};
            g_array_append_val(ends, el);
            drawn++;
        }
        /* The pools' names, pushed apart where their prices end close together; the
         * on-demand label sits above them all. */
        for (guint i = 1; i < ends->len; i++)
            for (guint j = i; j > 0 && g_array_index(ends, EndLabel, j - 1).y >
                                           g_array_index(ends, EndLabel, j).y;
                 j--) {
                EndLabel t = g_array_index(ends, EndLabel, j);
                g_array_index(ends, EndLabel, j) = g_array_index(ends, EndLabel, j - 1);
                g_array_index(ends, EndLabel, j - 1) = t;
            }
        double min_y = price_top - 2;
        for (guint j = 0; j < od_seen->len; j++)
            min_y = MAX(min_y, __map(&py, g_array_index(od_seen, double, j)) + 11);
        for (guint i = 0; i < ends->len; i++) {
            EndLabel *el = &g_array_index(ends, EndLabel, i);
            el->y = MAX(el->y, min_y);
            min_y = el->y + 11;
        }
        /* Names that do not fit beside the panel go to the legend instead. */
        direct = ends->len > 0 &&
                 g_array_index(ends, EndLabel, ends->len - 1).y <= price_top + price_h + 6;
        for (guint i = 0; i < ends->len && direct; i++) {
            const EndLabel *el = &g_array_index(ends, EndLabel, i);
            g_autofree char *label = __cut(el->name, 15);
            __text(s, "series-label", right + 4, el->y + 4, "start", label);
        }
    }

    /* Capacity, one strip per pool that has it. */
    double cy = cap_top;
    for (gsize k = 0; k < json_array_size(series); k++) {
        const json_t *ps = json_array_get(series, k);
        g_autoptr(GArray) cap = __steps(json_object_get(ps, "capacity"));
        if (cap->len == 0)
            continue;
        double cmax = 0;
        for (guint i = 0; i < cap->len; i++)
            cmax = MAX(cmax, g_array_index(cap, Step, i).v);
        Axis ay;
        __axis_linear(&ay, 0, MAX(cmax, 1.0), cy + cap_h, cy, 1);
        ay.lo = 0;
        ay.hi = MAX(cmax, 1.0);
        g_autoptr(GString) d = g_string_new(NULL);
        __step_path(d, cap, t_recorded, &x, &ay);
        g_string_append_printf(d, "V%sH%sZ", __c(cy + cap_h).s,
                               __c(__map(&x, g_array_index(cap, Step, 0).t)).s);
        g_string_append_printf(s,
                               "<rect class=\"lane-bg\" x=\"%s\" y=\"%s\" width=\"%s\" "
                               "height=\"%s\"/>\n",
                               __c(left).s, __c(cy).s, __c(right - left).s, __c(cap_h).s);
        g_string_append_printf(s, "<path class=\"mark capacity\" d=\"%s\"><title>", d->str);
        const char *pool = __str(ps, "pool");
        __esc(s, pool ? pool : "pool");
        g_string_append(s, " spot capacity</title></path>\n");
        g_autofree char *name = __cut(pool ? pool : "pool", r->label_chars);
        __text(s, "label", left - 6, cy + cap_h / 2 + 4, "end", name);
        g_autofree char *top_label =
            g_strdup_printf("capacity 0\xe2\x80\x93%s", __fixed(cmax, 0).s);
        __text(s, "series-label", right + 4, cy + cap_h / 2 + 4, "start", top_label);
        cy += cap_h + 6;
    }

    /* The lanes. */
    double per_instance = (lane_h - 20) / (double)peak;
    g_autofree char *lanes_title = g_strdup_printf(
        "instances up per policy (a full lane is %d instance%s)", peak, peak == 1 ? "" : "s");
    __text(s, "panel-title", left, lanes_top - 20, "start", lanes_title);
    gboolean seen_kind[EV_N] = {FALSE};
    gboolean any_on_demand = FALSE;
    double plot_w = right - left;
    gsize cols = (gsize)ceil(plot_w / CHECKPOINT_W) + 2;
    g_autofree gboolean *col_seen = g_new0(gboolean, cols * EV_N);
    for (gsize i = 0; i < r->n; i++) {
        const json_t *tl = json_object_get(__policy(r, i), "timeline");
        const json_t *events = json_object_get(tl, "events");
        double top = lanes_top + lane_h * (double)i;
        double base = top + lane_h - 10; /* the area: from base - (lane_h - 20) to base */
        __row_label(s, r, i, top + 4 + (lane_h - 10) / 2);
        if (!json_is_array(events)) {
            __text(s, "note", left + 4, base - 4, "start", "no timeline recorded");
            continue;
        }
        double end = __num(tl, "end_hours");
        if (!isfinite(end))
            end = t_end;
        g_string_append_printf(s,
                               "<rect class=\"lane-bg\" x=\"%s\" y=\"%s\" width=\"%s\" "
                               "height=\"%s\"/>\n",
                               __c(left).s, __c(base - (lane_h - 20)).s,
                               __c(__map(&x, end) - left).s, __c(lane_h - 20).s);
        GArray *occ = g_ptr_array_index(occs, i);
        g_autofree char *spot = __occupancy_path(occ, FALSE, end, &x, base, per_instance);
        g_autofree char *od = __occupancy_path(occ, TRUE, end, &x, base, per_instance);
        if (spot)
            g_string_append_printf(s, "<path class=\"mark spot\" d=\"%s\"/>\n", spot);
        if (od) {
            g_string_append_printf(
                s, "<path class=\"mark on-demand\" d=\"%s\" fill=\"url(#r%u-od)\"/>\n", od,
                r->index + 1);
            any_on_demand = TRUE;
        }
        /* Event markers, one per kind per marker width, so that they do not pile up. */
        memset(col_seen, 0, cols * EV_N * sizeof(gboolean));
        for (gsize k = 0; k < json_array_size(events); k++) {
            const json_t *e = json_array_get(events, k);
            const char *kind = json_string_value(json_array_get(e, 1));
            double t = json_number_value(json_array_get(e, 0));
            if (kind == NULL || !json_is_number(json_array_get(e, 0)) || !isfinite(t))
                continue;
            for (guint m = 0; m < EV_N; m++) {
                if (strcmp(kind, event_marks[m].kind) != 0)
                    continue;
                double ex = __map(&x, t);
                double w = m == EV_CHECKPOINT ? CHECKPOINT_W : MARKER_W;
                gsize col = (gsize)CLAMP((ex - left) / w, 0.0, (double)(cols - 1));
                if (col_seen[m * cols + col])
                    break;
                col_seen[m * cols + col] = TRUE;
                seen_kind[m] = TRUE;
                double ey = m == EV_RECLAIM      ? base - (lane_h - 20) / 2
                            : m == EV_CHECKPOINT ? base + 5
                                                 : top + 6;
                __event_shape(s, m, ex, ey, TRUE);
                break;
            }
        }
    }
    if (isfinite(r->deadline) && r->deadline > 0) {
        double dx = __map(&x, r->deadline);
        __line(s, "deadline", dx, lanes_top - 12, dx, lanes_bottom);
        __text(s, "series-label", dx + 3, lanes_top - 4, "start", "deadline");
    }
    __x_axis(s, &x, lanes_bottom, lanes_bottom, TICK_PLAIN, "hours since the replica's start");

    /* The legend: only what the chart shows. */
    Legend l = {s, left, legend_top, left};
    __legend_next(&l, "on spot", 16);
    __legend_item_swatch(s, l.x, l.y, "spot", NULL);
    __legend_text(&l, "on spot", 16);
    if (any_on_demand) {
        g_autofree char *id = g_strdup_printf("r%u-od", r->index + 1);
        __legend_next(&l, "on demand", 16);
        __legend_item_swatch(s, l.x, l.y, "on-demand", id);
        __legend_text(&l, "on demand", 16);
    }
    for (guint m = 0; m < EV_N; m++) {
        if (!seen_kind[m])
            continue;
        __legend_next(&l, event_marks[m].legend, 10);
        __event_shape(s, m, l.x + 5, l.y, FALSE);
        __legend_text(&l, event_marks[m].legend, 10);
    }
    if (n_price > 0 && direct) {
        __legend_next(&l, "spot price", 22);
        __line(s, "price", l.x, l.y, l.x + 22, l.y);
        __legend_text(&l, "spot price", 22);
    }
    for (guint i = 0; i < ends->len && !direct; i++) {
        const EndLabel *el = &g_array_index(ends, EndLabel, i);
        g_autofree char *label = g_strdup_printf("%s spot price", el->name);
        __legend_next(&l, label, 22);
        g_string_append_printf(s, "<path class=\"price\" d=\"M%s %sH%s\"", __c(l.x).s, __c(l.y).s,
                               __c(l.x + 22).s);
        if (*el->dash)
            g_string_append_printf(s, " stroke-dasharray=\"%s\"", el->dash);
        g_string_append(s, "/>\n");
        __legend_text(&l, label, 22);
    }
    if (n_price > 0) {
        __legend_next(&l, "on-demand price", 22);
        __line(s, "od-price", l.x, l.y, l.x + 22, l.y);
        __legend_text(&l, "on-demand price", 22);
    }
    if (n_capacity > 0) {
        __legend_next(&l, "spot capacity", 16);
        __legend_item_swatch(s, l.x, l.y, "capacity", NULL);
        __legend_text(&l, "spot capacity", 16);
    }
    if (isfinite(r->deadline) && r->deadline > 0) {
        __legend_next(&l, "deadline", 12);
        __line(s, "deadline", l.x + 6, l.y - 6, l.x + 6, l.y + 6);
        __legend_text(&l, "deadline", 12);
    }
    __chart_open(out, r, "timeline", title, caption->str, l.y + 16, FALSE);
    g_string_append_len(out, s->str, (gssize)s->len);
    __chart_close(out);
}

/* ---- chart: distribution of recovery (or finish) times ------------------------------------- */

#define HIST_BINS 40

static int
__cmp_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The values of one policy: recovery seconds (continuous) or finish hours (tick). */
static GArray *
__distribution_values(const Results *r, gsize i)
{
    GArray *v = g_array_new(FALSE, FALSE, sizeof(double));
    const json_t *runs = json_object_get(__policy(r, i), "runs");
    for (gsize k = 0; k < json_array_size(runs); k++) {
        const json_t *run = json_array_get(runs, k);
        if (r->continuous) {
            const json_t *rec = json_object_get(run, "recovery_seconds");
            for (gsize j = 0; j < json_array_size(rec); j++) {
                const json_t *x = json_array_get(rec, j);
                double d = json_number_value(x);
                if (json_is_number(x) && isfinite(d) && d >= 0)
                    g_array_append_val(v, d);
            }
        } else {
            double h = __num(run, "finish_hours");
            if (isfinite(h))
                g_array_append_val(v, h);
        }
    }
    g_array_sort(v, __cmp_double);
    return v;
}

/* The @q quantile of sorted @v (linear between order statistics). */
static double
__quantile(GArray *v, double q)
{
    if (v->len == 0)
        return NAN;
    double pos = q * (double)(v->len - 1);
    gsize k = (gsize)floor(pos);
    double a = g_array_index(v, double, k);
    double b = g_array_index(v, double, MIN(k + 1, (gsize)v->len - 1));
    return a + (pos - (double)k) * (b - a);
}

static void
__chart_distribution(GString *s, const Results *r)
{
    const char *title =
        r->continuous ? "Distribution of recovery times" : "Distribution of finish times";
    const char *caption =
        r->continuous
            ? "Every recovery of every replica, from a reclaim until the work is back where it "
              "was: a histogram per policy, each scaled to its own tallest bin, with the "
              "median (solid line) and the 95th percentile (dashed)."
            : "The tick model has no recovery times; this is when each window's work was done, "
              "over the windows that finished: a histogram per policy, each scaled to its own "
              "tallest bin, with the median (solid line), the 95th percentile (dashed) and the "
              "deadline.";
    g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
    double vmin = INFINITY, vmax = -INFINITY, vmin_pos = INFINITY;
    gsize total = 0;
    for (gsize i = 0; i < r->n; i++) {
        GArray *v = __distribution_values(r, i);
        g_ptr_array_add(values, v);
        if (v->len == 0)
            continue;
        total += v->len;
        vmin = MIN(vmin, g_array_index(v, double, 0));
        vmax = MAX(vmax, g_array_index(v, double, v->len - 1));
        for (guint k = 0; k < v->len; k++)
            if (g_array_index(v, double, k) > 0) {
                vmin_pos = MIN(vmin_pos, g_array_index(v, double, k));
                break;
            }
    }
    if (total == 0) {
        __chart_empty(s, r, "distribution", title,
                      r->continuous ? "No policy had a recovery to time." : "No window finished.");
        return;
    }
    const double row_h = 40, top = 8, left = r->label_w + 14, right = CHART_W - 150;
    double height = top + row_h * (double)r->n + 44;
    /* Recovery times span minutes to days: a log axis when they spread over more than 30
     * times, else a linear one in the unit that reads best. */
    Axis x;
    double scale = 1; /* seconds per axis unit (linear axes) */
    const char *axis_title;
    if (r->continuous && isfinite(vmin_pos) && vmax / vmin_pos > 30) {
        __axis_duration_log(&x, vmin_pos, vmax, left, right);
        axis_title = "recovery time (log scale)";
    } else if (r->continuous) {
        scale = vmax < 600 ? 1 : vmax < 3 * 3600 ? 60 : 3600;
        axis_title = scale == 1    ? "recovery time (seconds)"
                     : scale == 60 ? "recovery time (minutes)"
                                   : "recovery time (hours)";
        __axis_linear(&x, MIN(vmin, 0.0) / scale, vmax / scale, left, right, 7);
    } else {
        double hi = vmax;
        if (isfinite(r->deadline))
            hi = MAX(hi, r->deadline);
        __axis_linear(&x, vmin, hi, left, right, 8);
        axis_title = "finish time (hours since the window's start)";
    }
    /* Bins: equal widths on the axis as drawn. */
    double bin_w = (x.p1 - x.p0) / HIST_BINS;
    __chart_open(s, r, "distribution", title, caption, height, FALSE);
    double bottom = top + row_h * (double)r->n;
    __x_axis(s, &x, bottom, top, TICK_PLAIN, axis_title);
    for (gsize i = 0; i < r->n; i++) {
        GArray *v = g_ptr_array_index(values, i);
        double row_top = top + row_h * (double)i, base = row_top + row_h - 6;
        __row_label(s, r, i, row_top + row_h / 2);
        __line(s, "row-base", left, base, right, base);
        if (v->len == 0) {
            __text(s, "note", left + 6, base - 8, "start",
                   r->continuous ? "no recoveries" : "no window finished");
            continue;
        }
        guint counts[HIST_BINS] = {0};
        guint most = 0;
        for (guint k = 0; k < v->len; k++) {
            double px = __map(&x, g_array_index(v, double, k) / scale);
            int b = (int)floor((px - x.p0) / bin_w);
            b = CLAMP(b, 0, HIST_BINS - 1);
            counts[b]++;
            most = MAX(most, counts[b]);
        }
        double bar_max = row_h - 14;
        for (int b = 0; b < HIST_BINS; b++) {
            if (counts[b] == 0)
                continue;
            double h = bar_max * (double)counts[b] / (double)most;
            g_string_append_printf(s,
                                   "<rect class=\"mark hist\" x=\"%s\" y=\"%s\" width=\"%s\" "
                                   "height=\"%s\"><title>%u</title></rect>\n",
                                   __c(x.p0 + bin_w * b + 0.5).s, __c(base - h).s, __c(bin_w - 1).s,
                                   __c(h).s, counts[b]);
        }
        double median = __quantile(v, 0.5), p95 = __quantile(v, 0.95);
        double mx = __map(&x, median / scale), qx = __map(&x, p95 / scale);
        __line(s, "median", mx, base - bar_max - 2, mx, base);
        __line(s, "p95", qx, base - bar_max - 2, qx, base);
        g_autofree char *m_text =
            g_strdup_printf("median %s", r->continuous ? __duration(median).s : __hours(median).s);
        g_autofree char *q_text = g_strdup_printf(
            "p95 %s, n %u", r->continuous ? __duration(p95).s : __hours(p95).s, v->len);
        __text(s, "series-label", right + 8, row_top + row_h / 2 - 2, "start", m_text);
        __text(s, "series-label", right + 8, row_top + row_h / 2 + 11, "start", q_text);
    }
    if (!r->continuous && isfinite(r->deadline)) {
        double dx = __map(&x, r->deadline);
        __line(s, "deadline", dx, top - 4, dx, bottom);
        __text(s, "series-label", dx + 3, top + 6, "start", "deadline");
    }
    __chart_close(s);
}

/* ---- tables -------------------------------------------------------------------------------- */

static void
__td(GString *s, const char *text)
{
    g_string_append(s, "<td>");
    __esc(s, text);
    g_string_append(s, "</td>");
}

static void
__summary_table(GString *s, const Results *r)
{
    gboolean has_deadline = isfinite(r->deadline);
    g_string_append(s, "<div class=\"table-wrap\"><table class=\"summary\">\n<thead><tr>"
                       "<th class=\"idx\">#</th><th class=\"name\">policy</th><th>mean cost</th>"
                       "<th>95% CI of the mean</th><th>savings on the bill</th>");
    if (r->continuous)
        g_string_append(s, "<th>finished</th>");
    if (has_deadline)
        g_string_append(s, "<th>deadline met</th>");
    g_string_append(s, r->continuous ? "<th>median completion</th><th>lost GPU-hours (mean)</th>"
                                       "<th>interruptions (mean)</th><th>recovery p95</th>"
                                     : "<th>median finish</th><th>preemptions (mean)</th>");
    g_string_append(s, "</tr></thead>\n<tbody>\n");
    for (gsize i = 0; i < r->n; i++) {
        const json_t *sum = __summary(r, i);
        double lo, hi;
        g_string_append_printf(s, "<tr><td>%zu</td><td class=\"name\">", i + 1);
        __esc(s, __policy_name(r, i));
        g_string_append(s, "</td>");
        __td(s, __money(__stat(sum, "cost", "mean"), 2).s);
        if (__ci(sum, "cost", &lo, &hi)) {
            g_autofree char *ci = g_strdup_printf("[%s, %s]", __money(lo, 2).s, __money(hi, 2).s);
            __td(s, ci);
        } else {
            __td(s, "\xe2\x80\x93");
        }
        __td(s, __pct(__num(sum, "total_savings_pct"), 1).s);
        if (r->continuous)
            __td(s, __pct(__num(sum, "finished_pct"), 1).s);
        if (has_deadline)
            __td(s, __pct(__num(sum, "deadline_met_pct"), 1).s);
        if (r->continuous) {
            __td(s, __hours(__stat(sum, "completion_hours", "median")).s);
            __td(s, __fixed(__stat(sum, "lost_gpu_hours", "mean"), 2).s);
            __td(s, __fixed(__stat(sum, "interruptions", "mean"), 1).s);
            double n_rec = __stat(sum, "recovery_seconds", "n");
            __td(s,
                 n_rec > 0 ? __duration(__stat(sum, "recovery_seconds", "p95")).s : "\xe2\x80\x93");
        } else {
            __td(s, __hours(__stat(sum, "finish_hours", "median")).s);
            __td(s, __fixed(__num(sum, "preemptions_mean"), 2).s);
        }
        g_string_append(s, "</tr>\n");
    }
    g_string_append(s, "</tbody>\n</table></div>\n");
}

/* A value of an expectation in its unit. */
static Str
__in_unit(double v, const char *unit)
{
    if (!isfinite(v))
        return __fixed(v, 0);
    if (g_strcmp0(unit, "USD") == 0)
        return __money(v, 2);
    if (g_strcmp0(unit, "%") == 0)
        return __pct(v, 1);
    if (g_strcmp0(unit, "hours") == 0)
        return __hours(v);
    if (g_strcmp0(unit, "seconds") == 0) {
        Str r = __fixed(v, fabs(v) < 100 ? 1 : 0);
        g_strlcat(r.s, " s", sizeof r.s);
        return r;
    }
    if (g_strcmp0(unit, "fraction") == 0)
        return __fixed(v, 3);
    return __fixed(v, fabs(v) < 100 && v != floor(v) ? 2 : 0);
}

/* What an expectation asks for: "at most $300.00", "between 60.0% and 80.0%", "70.0% ± 5.0%". */
static char *
__bound(const json_t *e, const char *unit)
{
    double target = __num(e, "target"), tol = __num(e, "tolerance");
    double min = __num(e, "min"), max = __num(e, "max");
    if (isfinite(target) && isfinite(tol)) {
        if (json_is_true(json_object_get(e, "tolerance_relative")))
            return g_strdup_printf("%s \xc2\xb1 %s", __in_unit(target, unit).s,
                                   __pct(100 * tol, 1).s);
        return g_strdup_printf("%s \xc2\xb1 %s", __in_unit(target, unit).s, __in_unit(tol, unit).s);
    }
    if (isfinite(min) && isfinite(max))
        return g_strdup_printf("between %s and %s", __in_unit(min, unit).s, __in_unit(max, unit).s);
    if (isfinite(min))
        return g_strdup_printf("at least %s", __in_unit(min, unit).s);
    if (isfinite(max))
        return g_strdup_printf("at most %s", __in_unit(max, unit).s);
    return g_strdup("\xe2\x80\x93");
}

static void
__expectations(GString *s, const Results *r)
{
    const json_t *list = json_object_get(r->doc, "expectations");
    g_string_append(s, "<h3>Expectations</h3>\n");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        g_string_append(s, "<p class=\"note\">The scenario states no expectations.</p>\n");
        return;
    }
    gsize failed = 0, n = json_array_size(list);
    for (gsize i = 0; i < n; i++)
        failed += g_strcmp0(__str(json_array_get(list, i), "verdict"), "pass") != 0;
    if (failed == 0)
        g_string_append_printf(s, "<p class=\"verdicts pass\">\xe2\x9c\x93 All %zu pass.</p>\n", n);
    else
        g_string_append_printf(s,
                               "<p class=\"verdicts fail\">\xe2\x9c\x97 %zu of %zu fail%s.</p>\n",
                               failed, n, failed == 1 ? "s" : "");
    g_string_append(s, "<div class=\"table-wrap\"><table class=\"expectations\">\n<thead><tr>"
                       "<th class=\"verdict\">verdict</th><th class=\"name\">expectation</th>"
                       "<th class=\"name\">policy</th><th class=\"name\">measure</th>"
                       "<th>bound</th><th>measured</th></tr></thead>\n<tbody>\n");
    for (gsize i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        gboolean pass = g_strcmp0(__str(e, "verdict"), "pass") == 0;
        const char *unit = __str(e, "unit");
        g_string_append_printf(s,
                               "<tr class=\"%s\"><td class=\"verdict\">%s</td>"
                               "<td class=\"name\">",
                               pass ? "pass" : "fail",
                               pass ? "\xe2\x9c\x93 pass" : "\xe2\x9c\x97 fail");
        const char *name = __str(e, "name"), *text = __str(e, "text");
        __esc(s, name ? name : text ? text : __str(e, "field"));
        if (name && text && strcmp(name, text) != 0) {
            g_string_append(s, "<br><span class=\"detail\">");
            __esc(s, text);
            g_string_append(s, "</span>");
        }
        g_string_append(s, "</td><td class=\"name\">");
        __esc(s, __str(e, "policy"));
        g_string_append(s, "</td><td class=\"name\">");
        /* "cost (p90)", as the verdicts' texts say it; a plain value has no aggregate. */
        const char *aggregate = __str(e, "aggregate"), *metric = __str(e, "metric");
        g_autofree char *measure = aggregate && strcmp(aggregate, "value") != 0
                                       ? g_strdup_printf("%s (%s)", metric ? metric : "", aggregate)
                                       : g_strdup(metric ? metric : "");
        __esc(s, measure);
        g_string_append(s, "</td>");
        g_autofree char *bound = __bound(e, unit);
        __td(s, bound);
        __td(s, __in_unit(__num(e, "measured"), unit).s);
        g_string_append(s, "</tr>\n");
    }
    g_string_append(s, "</tbody>\n</table></div>\n");
}

/* ---- the page ------------------------------------------------------------------------------ */

static void
__header(GString *s, const Results *r)
{
    const json_t *scenario = json_object_get(r->doc, "scenario");
    const json_t *job = json_object_get(r->doc, "job");
    const json_t *pools = json_object_get(r->doc, "pools");
    const char *name = __str(scenario, "name");
    g_string_append_printf(s, "<section class=\"results\" id=\"r%u\">\n<h2>", r->index + 1);
    __esc(s, name ? name : "results");
    g_string_append(s, "</h2>\n");
    const char *description = __str(scenario, "description");
    if (description) {
        g_string_append(s, "<p class=\"description\">");
        __esc(s, description);
        g_string_append(s, "</p>\n");
    }
    g_string_append(s, "<dl class=\"facts\">\n");
    g_string_append_printf(s, "<dt>model</dt><dd>%s</dd>\n",
                           r->continuous ? "continuous time" : "tick");
    const json_t *seed = json_object_get(scenario, "seed");
    if (json_is_integer(seed))
        g_string_append_printf(s, "<dt>seed</dt><dd>%" JSON_INTEGER_FORMAT "</dd>\n",
                               json_integer_value(seed));
    double runs = r->n > 0 ? __num(__summary(r, 0), "runs") : (double)NAN;
    gsize n_pools = json_array_size(pools);
    if (r->continuous) {
        const json_t *rep = json_object_get(scenario, "replicas");
        if (json_is_integer(rep))
            g_string_append_printf(s, "<dt>replicas</dt><dd>%" JSON_INTEGER_FORMAT "</dd>\n",
                                   json_integer_value(rep));
        g_string_append(s, "<dt>job</dt><dd>");
        const char *type = __str(job, "type");
        __esc(s, type ? type : "job");
        double inst = __num(job, "instances");
        if (isfinite(inst))
            g_string_append_printf(s, ", %s instance%s", __fixed(inst, 0).s, inst == 1 ? "" : "s");
        double deadline = __num(job, "deadline_hours"), horizon = __num(job, "horizon_hours");
        g_string_append(s, isfinite(deadline) ? ", deadline " : ", no deadline");
        if (isfinite(deadline))
            g_string_append(s, __hours(deadline).s);
        if (isfinite(horizon))
            g_string_append_printf(s, ", horizon %s", __hours(horizon).s);
        g_string_append(s, "</dd>\n");
    } else {
        if (isfinite(runs))
            g_string_append_printf(s, "<dt>windows</dt><dd>%s over %zu pool%s</dd>\n",
                                   __fixed(runs, 0).s, n_pools, n_pools == 1 ? "" : "s");
        g_string_append_printf(s, "<dt>job</dt><dd>%s of work",
                               __hours(__num(job, "work_hours")).s);
        double deadline = __num(job, "deadline_hours");
        if (isfinite(deadline))
            g_string_append_printf(s, ", deadline %s", __hours(deadline).s);
        double overhead = __num(job, "restart_overhead_hours");
        if (isfinite(overhead))
            g_string_append_printf(s, ", restart overhead %s", __hours(overhead).s);
        g_string_append(s, "</dd>\n");
    }
    g_string_append(s, "<dt>pools</dt><dd>");
    for (gsize k = 0; k < n_pools; k++) {
        const json_t *p = json_array_get(pools, k);
        if (k > 0)
            g_string_append(s, "; ");
        g_autofree char *where =
            g_strjoin(" ", __str(p, "cloud") ? __str(p, "cloud") : "",
                      __str(p, "region") ? __str(p, "region") : "",
                      __str(p, "instance_type") ? __str(p, "instance_type") : "", NULL);
        g_strstrip(where);
        g_string_append(s, "<span class=\"pool\">");
        __esc(s, __str(p, "name"));
        g_string_append(s, "</span> (");
        __esc(s, where);
        double od = __num(p, "on_demand_price");
        if (isfinite(od))
            g_string_append_printf(s, ", on demand %s/h", __money(od, 2).s);
        double rate = __num(p, "interruptions_per_hour"), avail = __num(p, "availability");
        if (isfinite(rate))
            g_string_append_printf(s, ", %s interruptions per instance-hour",
                                   __fixed(rate, rate < 0.01 ? 4 : 3).s);
        if (isfinite(avail))
            g_string_append_printf(s, ", available %s of the time", __pct(100 * avail, 1).s);
        g_string_append(s, ")");
    }
    g_string_append(s, "</dd>\n");
    const char *file = __str(scenario, "file");
    if (file) {
        g_string_append(s, "<dt>scenario file</dt><dd><code>");
        __esc(s, file);
        g_string_append(s, "</code></dd>\n");
    }
    const json_t *tb = json_object_get(r->doc, "testbed");
    if (g_strcmp0(__str(r->doc, "mode"), "testbed") == 0 && json_is_object(tb)) {
        /* Measured on real processes, not simulated (docs/testbed.md). */
        char scale[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(s, "<dt>measured by</dt><dd>the testbed: strategy ");
        __esc(s, __str(tb, "strategy"));
        g_string_append_printf(
            s, ", replica %s, %s; time scale %s, notice leads and grace in %s; outcome ",
            __fixed(__num(tb, "replica"), 0).s,
            g_strcmp0(__str(tb, "workload"), "train") == 0 ? "the built-in training workload"
                                                           : "the scenario's command",
            spotlab_format_double(scale, sizeof scale, __num(tb, "time_scale")),
            g_strcmp0(__str(tb, "notice_leads"), "scaled") == 0 ? "scaled time" : "real seconds");
        __esc(s, __str(tb, "outcome"));
        g_string_append(s, "</dd>\n");
    }
    g_string_append(s, "</dl>\n");
}

/* A testbed result's prediction beside its measurement (docs/fidelity.md). */
static void
__fidelity(GString *s, const Results *r)
{
    const json_t *rows = json_object_get(r->doc, "fidelity");
    if (json_array_size(rows) == 0)
        return;
    g_string_append(s, "<h3>Prediction against measurement</h3>\n"
                       "<div class=\"table-wrap\"><table class=\"fidelity\">\n<thead><tr>"
                       "<th class=\"name\">measure</th><th>predicted</th><th>measured</th>"
                       "<th>error</th></tr></thead>\n<tbody>\n");
    for (gsize i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        g_string_append(s, "<tr><td class=\"name\">");
        __esc(s, __str(row, "metric"));
        const char *unit = __str(row, "unit");
        if (unit != NULL) {
            g_string_append(s, " <span class=\"detail\">(");
            __esc(s, unit);
            g_string_append(s, ")</span>");
        }
        g_string_append(s, "</td>");
        for (int k = 0; k < 2; k++) {
            double v = __num(row, k == 0 ? "predicted" : "measured");
            g_autofree char *text = isfinite(v) ? g_strdup_printf("%.6g", v) : g_strdup("-");
            __td(s, text);
        }
        double e = __num(row, "error_pct");
        g_autofree char *err = isfinite(e) ? g_strdup_printf("%+.1f%%", e) : g_strdup("-");
        __td(s, err);
        g_string_append(s, "</tr>\n");
    }
    g_string_append(s, "</tbody>\n</table></div>\n");
}

static const char page_css[] =
    ":root{color-scheme:light}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0 auto;max-width:1180px;padding:12px 16px 32px;background:#fff;color:#1b1b1b;"
    "font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif}\n"
    "h1{font-size:1.6em;margin:.3em 0}\n"
    "h2{font-size:1.4em;margin:1.8em 0 .3em;padding-bottom:.15em;border-bottom:2px solid "
    "#1b1b1b}\n"
    "h3{font-size:1.1em;margin:1.4em 0 .4em}\n"
    "a{color:#1d4f91}\n"
    "code{font-size:.92em}\n"
    ".lead,.note,.description{max-width:62em}\n"
    ".note{color:#444}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:.6em 0}\n"
    "dl.facts dt{font-weight:600}\n"
    "dl.facts dd{margin:0}\n"
    ".table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.4em 0 1em}\n"
    "table{border-collapse:collapse;font-size:.9em;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:4px 9px;text-align:right;white-space:nowrap;border-bottom:1px solid #ccc}\n"
    "th{vertical-align:bottom;border-bottom:2px solid #555;white-space:normal;min-width:4.5em}\n"
    "th.name,td.name{text-align:left;white-space:normal;min-width:12em}\n"
    "th.idx{min-width:0}\n"
    "tbody tr:nth-child(even){background:#f4f4f4}\n"
    "td.verdict,th.verdict{text-align:left;min-width:0}\n"
    ".detail{font-size:.9em;color:#444}\n"
    "tr.fail td.verdict{font-weight:700;color:#9b1c1c}\n"
    "tr.pass td.verdict{color:#1e5e2e}\n"
    ".verdicts.fail{font-weight:700;color:#9b1c1c}\n"
    ".verdicts.pass{font-weight:600;color:#1e5e2e}\n"
    "figure{margin:1.4em 0;break-inside:avoid;page-break-inside:avoid}\n"
    "figcaption{font-size:.92em;margin-bottom:.35em;max-width:62em}\n"
    ".chart-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}\n"
    "svg.chart{display:block;width:100%;min-width:540px;height:auto}\n"
    "svg.chart text{font-size:12px;fill:#1b1b1b}\n"
    "svg.chart .tick-label,svg.chart .series-label,svg.chart .legend{font-size:11px}\n"
    "svg.chart .point-label{font-size:11px}\n"
    "svg.chart .axis-title,svg.chart .panel-title{font-size:12px;font-weight:600}\n"
    "svg.chart .note{font-style:italic;fill:#555}\n"
    "svg.chart line{stroke:#1b1b1b;stroke-width:1}\n"
    "svg.chart .grid{stroke:#e0e0e0}\n"
    "svg.chart .zero{stroke:#777}\n"
    "svg.chart .base,svg.chart .tick{stroke:#555}\n"
    "svg.chart .row-base{stroke:#bbb}\n"
    "svg.chart .bar{fill:#4f7cac}\n"
    "svg.chart .bar.neg{fill:#b3593c}\n"
    "svg.chart .whisker{stroke:#111;stroke-width:1.4}\n"
    "svg.chart .value{font-size:11px;font-weight:600}\n"
    "svg.chart .point{fill:#1d4f91;stroke:#fff;stroke-width:1.2}\n"
    "svg.chart .ci{stroke:#666;stroke-width:1}\n"
    "svg.chart .leader{stroke:#999;stroke-width:.8}\n"
    "svg.chart .price{fill:none;stroke:#1d4f91;stroke-width:1.6}\n"
    "svg.chart .od-price{stroke:#b3593c;stroke-width:1.4;stroke-dasharray:5 3}\n"
    "svg.chart .capacity{fill:#9aa9b8}\n"
    "svg.chart .lane-bg{fill:#f2f2f2}\n"
    "svg.chart .spot{fill:#2c5d8f}\n"
    "svg.chart .od-bg{fill:#f6dcc6}\n"
    "svg.chart .od-line{stroke:#8a3f1f;stroke-width:2.2}\n"
    "svg.chart .ev-notice{fill:#fff;stroke:#111;stroke-width:1.2}\n"
    "svg.chart .ev-launch-failed{fill:#fff;stroke:#9b1c1c;stroke-width:1.4}\n"
    "svg.chart .ev-switch{fill:#8a3f1f}\n"
    "svg.chart .ev-reclaim{fill:none;stroke:#111;stroke-width:1.8}\n"
    "svg.chart .halo{fill:none;stroke:#fff;stroke-width:4}\n"
    "svg.chart .ev-checkpoint{fill:none;stroke:#2f6b3a;stroke-width:1.2}\n"
    "svg.chart .deadline{stroke:#9b1c1c;stroke-width:1.2;stroke-dasharray:2 3}\n"
    "svg.chart .hist{fill:#4f7cac}\n"
    "svg.chart .median{stroke:#111;stroke-width:1.6}\n"
    "svg.chart .p95{stroke:#111;stroke-width:1.2;stroke-dasharray:3 2}\n"
    "nav.contents ol{margin:.3em 0;padding-left:1.4em}\n"
    "footer{margin-top:2.5em;font-size:.85em;color:#444}\n"
    "@media (max-width:600px){body{font-size:14px;padding:8px}"
    "dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.3em}}\n"
    "@page{margin:14mm}\n"
    "@media print{body{max-width:none;padding:0;font-size:10pt;background:#fff}"
    "a{color:inherit}.table-wrap,.chart-wrap{overflow:visible}"
    "svg.chart{min-width:0}tbody tr:nth-child(even){background:none}"
    "section.results+section.results{break-before:page}"
    "h2,h3,figcaption{break-after:avoid;page-break-after:avoid}"
    "table{break-inside:auto}tr{break-inside:avoid}}\n";

/* Counts, for tests and tools, the marks each chart has and those the browser drew with a finite,
 * non-empty box, and whether the page fits the window's width; the page does not depend on it. */
static const char page_script[] =
    "(function(){var c=document.querySelectorAll('svg.chart'),ok=c.length>0;"
    "for(var i=0;i<c.length;i++){var m=c[i].querySelectorAll('.mark'),d=0;"
    "for(var k=0;k<m.length;k++){var b=m[k].getBBox();"
    "if(isFinite(b.x)&&isFinite(b.y)&&isFinite(b.width)&&isFinite(b.height)&&"
    "b.width+b.height>0)d++;}"
    "c[i].setAttribute('data-marks',String(m.length));"
    "c[i].setAttribute('data-drawn',String(d));"
    "if(!c[i].hasAttribute('data-empty')&&(m.length===0||d!==m.length))ok=false;}"
    "var b=document.body;b.setAttribute('data-charts',String(c.length));"
    "b.setAttribute('data-charts-ok',ok?'yes':'no');"
    "b.setAttribute('data-fits',"
    "document.documentElement.scrollWidth<=window.innerWidth+1?'yes':'no');})();\n";

char *
report_html(const json_t *merged)
{
    g_return_val_if_fail(merged != NULL, NULL);
    const json_t *list = json_object_get(merged, "results");
    gsize n = json_array_size(list);
    const char *version = __str(json_object_get(merged, "spotlab"), "version");
    GString *s = g_string_sized_new(64 * 1024);
    g_string_append(s, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"color-scheme\" content=\"light\">\n"
                       "<meta name=\"generator\" content=\"spotlab");
    if (version) {
        g_string_append_c(s, ' ');
        __esc(s, version);
    }
    g_string_append(s, "\">\n<title>spotlab report");
    if (n == 1) {
        g_string_append(s, ": ");
        __esc(s, __str(json_object_get(json_array_get(list, 0), "scenario"), "name"));
    }
    g_string_append_printf(s,
                           "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n"
                           "<h1>spotlab report</h1>\n<p class=\"lead\">",
                           page_css);
    if (n == 0)
        g_string_append(s, "No results.");
    else
        g_string_append_printf(s, "%zu results file%s, %s.", n, n == 1 ? "" : "s",
                               "simulated by spotlab: cost, savings against on demand, lost "
                               "work and recovery per policy, with 95% confidence intervals");
    g_string_append(s, "</p>\n");
    if (n > 1) {
        g_string_append(s, "<nav class=\"contents\"><ol>\n");
        for (gsize i = 0; i < n; i++) {
            const char *name = __str(json_object_get(json_array_get(list, i), "scenario"), "name");
            g_string_append_printf(s, "<li><a href=\"#r%zu\">", i + 1);
            __esc(s, name ? name : "results");
            g_string_append(s, "</a></li>\n");
        }
        g_string_append(s, "</ol></nav>\n");
    }
    g_string_append(s, "</header>\n<main>\n");
    for (gsize i = 0; i < n; i++) {
        Results r;
        __results_init(&r, json_array_get(list, i), (guint)i);
        __header(s, &r);
        g_string_append(s, "<h3>Policies</h3>\n");
        __summary_table(s, &r);
        __chart_savings(s, &r);
        __chart_scatter(s, &r);
        __chart_timeline(s, &r);
        __chart_distribution(s, &r);
        __fidelity(s, &r);
        __expectations(s, &r);
        g_string_append(s, "</section>\n");
    }
    g_string_append(s, "</main>\n<footer>Made by spotlab");
    if (version) {
        g_string_append_c(s, ' ');
        __esc(s, version);
    }
    g_string_append_printf(s,
                           " from the results files alone; the charts are drawn as SVG in "
                           "this file and need no network.</footer>\n<script>\n%s</script>\n"
                           "</body>\n</html>\n",
                           page_script);
    return g_string_free(s, FALSE);
}
