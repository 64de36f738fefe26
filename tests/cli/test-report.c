/* CLI: what `spotlab report` promises (docs/reports.md), run as a user runs it.
 *
 * - Markdown of the fixtures in tests/data/report: the verdict line, one heading per results
 *   file, one row per policy with the figures the fixture holds, the continuous model's extra
 *   columns, the expectations with their verdicts; the same bytes every time.
 * - JUnit XML: well formed (parsed with GMarkup), one testsuite per results file, one testcase
 *   per expectation named by its text with a failure carrying the measured value and the bound,
 *   one passing testcase per policy where a file has no expectations; everything escaped.
 * - CSV: one record per run and policy, the fixed columns then the union of the runs' fields,
 *   RFC 4180 quoting (parsed back here), lists joined with ';', empty cells for null.
 * - The merged .json re-loads into the same bytes, and renders as its inputs do.
 * - "-o -" writes the report to standard output.
 * - Every malformed input in tests/data/report/bad is refused with exit 2 and a message naming
 *   the file, line, column and field (NAME.expect beside it), leaving no output behind; so are
 *   usage errors (no input, no -o, an unknown extension, a missing folder, the output among the
 *   inputs).
 * - The results `spotlab run` writes today make a report (the fixtures cannot drift from it). */
#include "test-util.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MIN_BAD_CASES 20

static char *data;  /* tests/data/report */
static char *tick;  /* tick.json: a tick-model results file with three expectations */
static char *cont;  /* continuous.json: a continuous-model results file without expectations */
static char *tmp;   /* a folder for this run's outputs */
static char *empty; /* a folder that must stay empty when spotlab refuses its input */

static char *
__tmp_path(const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

/* Renders @inputs (NULL-terminated) into tmp/@name and returns the report's text. */
static char *
__report(const char *const *inputs, const char *name)
{
    g_autofree char *path = __tmp_path(name);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, "report");
    for (gsize i = 0; inputs[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)inputs[i]);
    g_ptr_array_add(argv, "-o");
    g_ptr_array_add(argv, path);
    g_ptr_array_add(argv, NULL);
    g_autofree char *out = NULL;
    if (test_spotlab_expect((const char *const *)argv->pdata, &out, NULL, 0) != 0)
        return NULL;
    CU_ASSERT_STRING_EQUAL(out, ""); /* the report goes to the file only */
    return test_read_file(path);
}

/* Whether @text holds @line as a whole line. */
static gboolean
__has_line(const char *text, const char *line)
{
    gsize n = strlen(line);
    for (const char *p = strstr(text, line); p != NULL; p = strstr(p + 1, line)) {
        gboolean starts = p == text || p[-1] == '\n';
        gboolean ends = p[n] == '\n' || p[n] == '\0' || (p[n] == '\r' && p[n + 1] == '\n');
        if (starts && ends)
            return TRUE;
    }
    return FALSE;
}

static void
__assert_lines(const char *text, const char *const *lines, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        gboolean ok = __has_line(text, lines[i]);
        if (!ok)
            fprintf(stderr, "\nno line\n  %s\nin:\n%s\n", lines[i], text);
        CU_ASSERT(ok);
    }
}

static json_t *
__load_json(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        fprintf(stderr, "\n%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
    return doc;
}

/* ---- Markdown ------------------------------------------------------------------------------ */

static void
test_markdown_fixture(void)
{
    const char *inputs[] = {tick, cont, NULL};
    g_autofree char *md = __report(inputs, "report.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    /* The verdict opens the report: what a reviewer of a pull request looks for first. */
    CU_ASSERT(g_str_has_prefix(md, "**Expectations: 2 of 3 failed.**\n\n"));
    static const char *const lines[] = {
        "## two-policies: tick model, 1 pool, 3 windows",
        "| policy | mean cost | 95% CI | savings | deadline met |",
        "| on-demand | $39.00 | [$39.00, $39.00] | 0.0% | 100.0% |",
        "| greedy | $14.50 | [$10.25, $18.75] | 62.8% | 66.7% |",
        "| result | expectation | measured |",
        "| pass | greedy: cost (mean) <= $20.00 | $14.50 |",
        /* The user's name beside the text; the < that could open a tag is escaped. */
        "| **FAIL** | greedy: deadline_met_pct >= 90% (meets deadlines & \"never\" \\<late>) | "
        "66.67% |",
        /* No measured_text in the verdict: the number in its unit. */
        "| **FAIL** | greedy: finish_hours (p95) within 5% of 10 h | 12.25 h |",
        "## gang-fixture: continuous model, 2 pools, training job, 2 replicas",
        /* No deadline: the share that finished instead. */
        "| strategy | mean cost | 95% CI | savings | finished | lost GPU-h | interruptions | "
        "p95 recovery |",
        "| on-demand | $201.50 | [$200.00, $203.00] | 0.0% | 100.0% | 0.00 | 0.0 | - |",
        "| spot-ckpt | $120.50 | [$100.00, $141.00] | 40.2% | 50.0% | 3.25 | 2.5 | 12.0 min |",
    };
    __assert_lines(md, lines, G_N_ELEMENTS(lines));
    /* Results files in the order given. */
    const char *a = strstr(md, "## two-policies"), *b = strstr(md, "## gang-fixture");
    CU_ASSERT(a != NULL && b != NULL && a < b);
    /* The same bytes again. */
    g_autofree char *again = __report(inputs, "report-again.md");
    CU_ASSERT_STRING_EQUAL(md, again);
}

static void
test_markdown_without_expectations(void)
{
    const char *inputs[] = {cont, NULL};
    g_autofree char *md = __report(inputs, "continuous.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT(g_str_has_prefix(md, "## gang-fixture: continuous model"));
    CU_ASSERT_PTR_NULL(strstr(md, "Expectations"));
    CU_ASSERT_PTR_NULL(strstr(md, "| result |"));
}

/* ---- JUnit XML ----------------------------------------------------------------------------- */

typedef struct {
    guint suites, cases, failures, outputs;
    GPtrArray *case_names;  /* char*, unescaped */
    GPtrArray *classnames;  /* char* */
    GPtrArray *messages;    /* char*, the failures' message attributes */
    GPtrArray *suite_names; /* char* */
} JunitCounts;

static const char *
__attr(const char **names, const char **values, const char *name)
{
    for (gsize i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return values[i];
    return NULL;
}

static void
__junit_start(GMarkupParseContext *ctx, const char *element, const char **names,
              const char **values, gpointer user_data, GError **error)
{
    JunitCounts *c = user_data;
    if (strcmp(element, "testsuite") == 0) {
        c->suites++;
        g_ptr_array_add(c->suite_names, g_strdup(__attr(names, values, "name")));
    } else if (strcmp(element, "testcase") == 0) {
        c->cases++;
        g_ptr_array_add(c->case_names, g_strdup(__attr(names, values, "name")));
        g_ptr_array_add(c->classnames, g_strdup(__attr(names, values, "classname")));
    } else if (strcmp(element, "failure") == 0) {
        c->failures++;
        g_ptr_array_add(c->messages, g_strdup(__attr(names, values, "message")));
    } else if (strcmp(element, "system-out") == 0) {
        c->outputs++;
    }
}

/* Parses @xml with GMarkup (which refuses anything not well formed) and counts its elements. */
static gboolean
__parse_junit(const char *xml, JunitCounts *c)
{
    memset(c, 0, sizeof *c);
    c->case_names = g_ptr_array_new_with_free_func(g_free);
    c->classnames = g_ptr_array_new_with_free_func(g_free);
    c->messages = g_ptr_array_new_with_free_func(g_free);
    c->suite_names = g_ptr_array_new_with_free_func(g_free);
    GMarkupParser parser = {__junit_start, NULL, NULL, NULL, NULL};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, c, NULL);
    g_autoptr(GError) error = NULL;
    /* GMarkup does not read the XML declaration; everything after it must parse. */
    const char *body = strstr(xml, "?>");
    gboolean ok = body != NULL && g_markup_parse_context_parse(ctx, body + 2, -1, &error) &&
                  g_markup_parse_context_end_parse(ctx, &error);
    if (!ok)
        fprintf(stderr, "\nnot well formed: %s\n%s\n", error ? error->message : "no declaration",
                xml);
    g_markup_parse_context_free(ctx);
    return ok;
}

static void
__junit_counts_clear(JunitCounts *c)
{
    g_ptr_array_unref(c->case_names);
    g_ptr_array_unref(c->classnames);
    g_ptr_array_unref(c->messages);
    g_ptr_array_unref(c->suite_names);
}

static void
test_junit_fixture(void)
{
    const char *inputs[] = {tick, cont, NULL};
    g_autofree char *xml = __report(inputs, "report.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT(g_str_has_prefix(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    static const char *const lines[] = {
        "<testsuites name=\"spotlab\" tests=\"5\" failures=\"2\">",
        "  <testsuite name=\"two-policies\" tests=\"3\" failures=\"2\" errors=\"0\" skipped=\"0\">",
        "    <testcase classname=\"two-policies\" name=\"greedy: cost (mean) &lt;= $20.00\"/>",
        "    <testcase classname=\"two-policies\" name=\"greedy: deadline_met_pct &gt;= 90%\">",
        "      <failure message=\"measured 66.67%, expected &gt;= 90%\" type=\"expectation\">"
        "greedy: deadline_met_pct &gt;= 90%: measured 66.67%, expected &gt;= 90%",
        "name: meets deadlines &amp; &quot;never&quot; &lt;late&gt;",
        "      <failure message=\"measured 12.25 h, expected between 9.5 h and 10.5 h\" "
        "type=\"expectation\">greedy: finish_hours (p95) within 5% of 10 h: measured 12.25 h, "
        "expected between 9.5 h and 10.5 h",
        "  <testsuite name=\"gang-fixture\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\">",
        "      <property name=\"model\" value=\"continuous\"/>",
        "    <testcase classname=\"gang-fixture\" name=\"spot-ckpt\">",
        "      <system-out>finished 1 of 2 runs; mean cost $120.50 [$100.00, $141.00]; savings "
        "40.2%",
    };
    __assert_lines(xml, lines, G_N_ELEMENTS(lines));

    JunitCounts c;
    CU_ASSERT_FATAL(__parse_junit(xml, &c));
    CU_ASSERT_EQUAL(c.suites, 2);
    CU_ASSERT_EQUAL(c.cases, 5); /* three expectations, then two policies */
    CU_ASSERT_EQUAL(c.failures, 2);
    CU_ASSERT_EQUAL(c.outputs, 2);
    /* The test cases carry the expectations' texts, unescaped by the parser back to what the
     * results file says. */
    json_t *doc = __load_json(tick);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *list = json_object_get(doc, "expectations");
    CU_ASSERT_EQUAL_FATAL(json_array_size(list), 3);
    for (guint i = 0; i < 3 && i < c.case_names->len; i++) {
        CU_ASSERT_STRING_EQUAL(c.case_names->pdata[i],
                               json_string_value(json_object_get(json_array_get(list, i), "text")));
        CU_ASSERT_STRING_EQUAL(c.classnames->pdata[i], "two-policies");
    }
    json_decref(doc);
    if (c.case_names->len == 5) {
        CU_ASSERT_STRING_EQUAL(c.case_names->pdata[3], "on-demand");
        CU_ASSERT_STRING_EQUAL(c.case_names->pdata[4], "spot-ckpt");
        CU_ASSERT_STRING_EQUAL(c.classnames->pdata[4], "gang-fixture");
    }
    if (c.messages->len == 2)
        CU_ASSERT_STRING_EQUAL(c.messages->pdata[0], "measured 66.67%, expected >= 90%");
    __junit_counts_clear(&c);
}

/* Names with every character XML treats specially, and a control character XML cannot hold at
 * all, still make a well-formed document that reads back as the names. */
static void
test_junit_escapes_everything(void)
{
    json_t *doc = __load_json(tick);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_object_set_new(json_object_get(doc, "scenario"), "name", json_string("a<b>&\"c\" 'd'"));
    json_t *e = json_array_get(json_object_get(doc, "expectations"), 1);
    json_object_set_new(e, "text", json_string("x ]]> <![CDATA[ & \x01 y"));
    json_object_set_new(e, "measured_text", json_string("\"<5>\""));
    g_autofree char *path = __tmp_path("odd-names.json");
    CU_ASSERT_FATAL(json_dump_file(doc, path, JSON_INDENT(2)) == 0);
    json_decref(doc);

    const char *inputs[] = {path, NULL};
    g_autofree char *xml = __report(inputs, "odd-names.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    JunitCounts c;
    CU_ASSERT_FATAL(__parse_junit(xml, &c));
    CU_ASSERT_EQUAL(c.suites, 1);
    CU_ASSERT_EQUAL(c.cases, 3);
    if (c.suite_names->len == 1)
        CU_ASSERT_STRING_EQUAL(c.suite_names->pdata[0], "a<b>&\"c\" 'd'");
    if (c.case_names->len == 3) {
        CU_ASSERT_STRING_EQUAL(c.classnames->pdata[1], "a<b>&\"c\" 'd'");
        CU_ASSERT_STRING_EQUAL(c.case_names->pdata[1], "x ]]> <![CDATA[ & \xef\xbf\xbd y");
    }
    if (c.messages->len >= 1)
        CU_ASSERT_STRING_EQUAL(c.messages->pdata[0], "measured \"<5>\", expected >= 90%");
    __junit_counts_clear(&c);
}

/* ---- CSV ----------------------------------------------------------------------------------- */

/* Parses RFC 4180 text into records (GPtrArray of GPtrArray of char*); NULL when malformed. */
static GPtrArray *
__parse_csv(const char *text)
{
    GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    GPtrArray *record = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) field = g_string_new(NULL);
    const char *p = text;
    while (*p) {
        if (*p == '"') {
            for (p++;; p++) {
                if (*p == '\0')
                    goto bad;
                if (*p == '"') {
                    if (p[1] != '"')
                        break;
                    p++;
                }
                g_string_append_c(field, *p);
            }
            p++;
            if (*p != ',' && *p != '\r')
                goto bad;
        }
        while (*p && *p != ',' && *p != '\r' && *p != '\n' && *p != '"')
            g_string_append_c(field, *p++);
        if (*p == '"' || *p == '\n')
            goto bad; /* a quote inside an unquoted field, or a bare LF */
        g_ptr_array_add(record, g_strdup(field->str));
        g_string_truncate(field, 0);
        if (*p == ',') {
            p++;
        } else if (*p == '\r') {
            if (p[1] != '\n')
                goto bad;
            p += 2;
            g_ptr_array_add(records, record);
            record = g_ptr_array_new_with_free_func(g_free);
        } else {
            goto bad; /* the last record lacks its CRLF */
        }
    }
    g_ptr_array_unref(record);
    return records;
bad:
    g_ptr_array_unref(record);
    g_ptr_array_unref(records);
    return NULL;
}

static int
__column(GPtrArray *header, const char *name)
{
    for (guint i = 0; i < header->len; i++)
        if (strcmp(header->pdata[i], name) == 0)
            return (int)i;
    return -1;
}

static void
test_csv_fixture(void)
{
    const char *inputs[] = {tick, cont, NULL};
    g_autofree char *csv = __report(inputs, "report.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    /* The pool name holds a comma and quotes: quoted, the quotes doubled. */
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "\r\ntwo-policies,tick,on-demand,\"zone-a, \"\"spare\"\"\","
                                       "0.0,0,39.0,"));
    g_autoptr(GPtrArray) records = __parse_csv(csv);
    if (records == NULL)
        fprintf(stderr, "\nnot RFC 4180 CSV:\n%s\n", csv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(records);

    /* One record per run of every policy of every file, after the header. */
    gsize runs = 0;
    const char *files[] = {tick, cont};
    for (gsize f = 0; f < G_N_ELEMENTS(files); f++) {
        json_t *doc = __load_json(files[f]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        json_t *policies = json_object_get(doc, "policies");
        for (gsize k = 0; k < json_array_size(policies); k++)
            runs += json_array_size(json_object_get(json_array_get(policies, k), "runs"));
        json_decref(doc);
    }
    CU_ASSERT_EQUAL(runs, 10);
    CU_ASSERT_EQUAL_FATAL(records->len, runs + 1);

    /* The header: the fixed columns, then the runs' fields in the order the files give them. */
    GPtrArray *header = records->pdata[0];
    static const char *const first[] = {"scenario",    "model",       "policy", "pool",
                                        "start_hours", "start_index", "cost"};
    for (gsize i = 0; i < G_N_ELEMENTS(first); i++)
        CU_ASSERT(i < header->len && strcmp(header->pdata[i], first[i]) == 0);
    CU_ASSERT_EQUAL(__column(header, "launches"), 17); /* the last tick field */
    CU_ASSERT_EQUAL(__column(header, "replica"), 18);  /* the first continuous one */
    CU_ASSERT_EQUAL(__column(header, "recovery_seconds"), (int)header->len - 1);
    for (guint i = 0; i < records->len; i++)
        CU_ASSERT_EQUAL(((GPtrArray *)records->pdata[i])->len, header->len);

    int pool = __column(header, "pool"), finish = __column(header, "finish_hours");
    int finished = __column(header, "finished"), rec = __column(header, "recovery_seconds");
    int replica = __column(header, "replica"), savings = __column(header, "savings_pct");
    CU_ASSERT_FATAL(pool >= 0 && finish >= 0 && finished >= 0 && rec >= 0 && replica >= 0 &&
                    savings >= 0);
    GPtrArray *r1 = records->pdata[1], *r6 = records->pdata[6], *r10 = records->pdata[10];
    CU_ASSERT_STRING_EQUAL(r1->pdata[pool], "zone-a, \"spare\"");
    CU_ASSERT_STRING_EQUAL(r1->pdata[replica], ""); /* a tick run has no replica */
    /* greedy's third window: unfinished, so no finish time. */
    CU_ASSERT_STRING_EQUAL(r6->pdata[2], "greedy");
    CU_ASSERT_STRING_EQUAL(r6->pdata[finished], "false");
    CU_ASSERT_STRING_EQUAL(r6->pdata[finish], "");
    CU_ASSERT_STRING_EQUAL(r6->pdata[savings], "53.8461538461538");
    /* spot-ckpt's second replica: four recoveries, as the results file writes them. */
    CU_ASSERT_STRING_EQUAL(r10->pdata[0], "gang-fixture");
    CU_ASSERT_STRING_EQUAL(r10->pdata[1], "continuous");
    CU_ASSERT_STRING_EQUAL(r10->pdata[2], "spot-ckpt");
    CU_ASSERT_STRING_EQUAL(r10->pdata[replica], "1");
    CU_ASSERT_STRING_EQUAL(r10->pdata[rec], "100.0;200.25;720.0;739.75");
    CU_ASSERT_STRING_EQUAL(r10->pdata[pool], "");
}

/* ---- the merged document ------------------------------------------------------------------- */

static void
test_merged_json_round_trip(void)
{
    const char *inputs[] = {tick, cont, NULL};
    g_autofree char *merged = __report(inputs, "merged.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(merged);
    g_autofree char *path = __tmp_path("merged.json");
    const char *again[] = {path, NULL};
    g_autofree char *reloaded = __report(again, "merged-again.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reloaded);
    CU_ASSERT_STRING_EQUAL(merged, reloaded);

    json_t *doc = __load_json(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT(json_is_true(json_object_get(doc, "report")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(doc, "spotlab"), "schema")),
                    1);
    json_t *results = json_object_get(doc, "results");
    CU_ASSERT_EQUAL_FATAL(json_array_size(results), 2);
    for (gsize i = 0; i < 2; i++) {
        json_t *input = __load_json(inputs[i]);
        CU_ASSERT(json_equal(json_array_get(results, i), input)); /* whole and in order */
        json_decref(input);
    }
    json_decref(doc);

    /* A merged report among the inputs contributes its results in place. */
    const char *mixed[] = {cont, path, NULL};
    g_autofree char *three = __report(mixed, "three.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(three);
    json_t *m = json_loads(three, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    json_t *list = json_object_get(m, "results");
    CU_ASSERT_EQUAL(json_array_size(list), 3);
    static const char *const order[] = {"gang-fixture", "two-policies", "gang-fixture"};
    for (gsize i = 0; i < 3 && i < json_array_size(list); i++)
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                                   json_object_get(json_array_get(list, i), "scenario"), "name")),
                               order[i]);
    json_decref(m);

    /* Every renderer reads the merged document alone: the same report from it as from the
     * files it merged. */
    g_autofree char *md_files = __report(inputs, "files.md");
    g_autofree char *md_merged = __report(again, "merged.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md_files);
    CU_ASSERT_PTR_NOT_NULL_FATAL(md_merged);
    CU_ASSERT_STRING_EQUAL(md_files, md_merged);
    g_autofree char *csv_files = __report(inputs, "files.csv");
    g_autofree char *csv_merged = __report(again, "merged.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv_files);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv_merged);
    CU_ASSERT_STRING_EQUAL(csv_files, csv_merged);
}

/* ---- standard output and formats ---------------------------------------------------------- */

static void
test_stdout(void)
{
    const char *inputs[] = {tick, cont, NULL};
    g_autofree char *md = __report(inputs, "stdout.md");
    g_autofree char *csv = __report(inputs, "stdout.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    g_autofree char *out = NULL, *err = NULL;
    const char *plain[] = {"report", tick, cont, "-o", "-", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(plain, &out, &err, 0), 0);
    CU_ASSERT_STRING_EQUAL(out, md); /* markdown unless told otherwise */
    CU_ASSERT_STRING_EQUAL(err, "");
    g_clear_pointer(&out, g_free);
    const char *as_csv[] = {"report", tick, cont, "-o", "-", "--format", "csv", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(as_csv, &out, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(out, csv);
}

static void
test_format_option_and_extensions(void)
{
    const char *inputs[] = {tick, NULL};
    g_autofree char *xml = __report(inputs, "by-extension.xml");
    g_autofree char *upper = __report(inputs, "upper-case.XML");
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT_STRING_EQUAL(upper, xml);
    /* --format wins over the extension. */
    g_autofree char *path = __tmp_path("named.txt");
    const char *argv[] = {"report", tick, "-o", path, "--format", "junit", NULL};
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, NULL, NULL, 0), 0);
    g_autofree char *named = test_read_file(path);
    CU_ASSERT_STRING_EQUAL(named, xml);
}

/* .html and .htm go to the HTML renderer: a page, not one of the text formats. */
static void
test_html_dispatch(void)
{
    const char *inputs[] = {tick, cont, NULL};
    g_autofree char *html = __report(inputs, "report.html");
    g_autofree char *htm = __report(inputs, "report.htm");
    g_autofree char *md = __report(inputs, "beside-html.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(htm);
    CU_ASSERT_STRING_EQUAL(html, htm);
    CU_ASSERT(strlen(html) > 0);
    CU_ASSERT_STRING_NOT_EQUAL(html, md);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "two-policies"));
}

/* ---- refused input -------------------------------------------------------------------------- */

static void
test_bad_inputs(void)
{
    g_autofree char *dir = g_build_filename(data, "bad", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL)
        if (g_str_has_suffix(name, ".json"))
            g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    CU_ASSERT(names->len >= MIN_BAD_CASES);
    g_autofree char *output = g_build_filename(empty, "report.md", NULL);
    for (guint i = 0; i < names->len; i++) {
        name = names->pdata[i];
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *expect = test_expected_fragment(dir, name);
        if (expect == NULL)
            fprintf(stderr, "\n%s has no .expect beside it\n", name);
        CU_ASSERT(expect != NULL);
        /* The fragment opens with the place: NAME:LINE:COLUMN. */
        g_autofree char *place = g_strdup_printf("%s:", name);
        CU_ASSERT(expect != NULL && g_str_has_prefix(expect, place) &&
                  g_ascii_isdigit(expect[strlen(place)]));
        /* Beside a good file, so that the bad one is found among several inputs. */
        const char *argv[] = {"report", tick, path, "-o", output, NULL};
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 2), 2);
        CU_ASSERT_STRING_EQUAL(out, "");
        g_autofree char *want =
            g_strdup_printf("spotlab report: %s/%s\n", dir, expect ? expect : "");
        gboolean said = g_str_has_prefix(err, want);
        if (!said)
            fprintf(stderr, "\n%s: expected\n  %sgot\n  %s", name, want, err);
        CU_ASSERT(said);
        CU_ASSERT(test_dir_is_empty(empty)); /* no report, no temporary file */
    }
}

static void
test_missing_input(void)
{
    g_autofree char *output = g_build_filename(empty, "report.md", NULL);
    g_autofree char *missing = g_build_filename(data, "no-such-results.json", NULL);
    const char *argv[] = {"report", tick, missing, "-o", output, NULL};
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no-such-results.json: cannot read"));
    CU_ASSERT(test_dir_is_empty(empty));
}

/* Runs @argv, which must be refused with exit 2, nothing on stdout and @fragment on stderr. */
static void
__refused(const char *const *argv, const char *fragment)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, &out, &err, 2), 2);
    CU_ASSERT_STRING_EQUAL(out, "");
    if (strstr(err, fragment) == NULL)
        fprintf(stderr, "\nexpected \"%s\" in:\n%s\n", fragment, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, fragment));
    CU_ASSERT(test_dir_is_empty(empty));
}

static void
test_usage_errors(void)
{
    g_autofree char *md = g_build_filename(empty, "report.md", NULL);
    g_autofree char *txt = g_build_filename(empty, "report.txt", NULL);
    g_autofree char *bare = g_build_filename(empty, "report", NULL);
    g_autofree char *nested = g_build_filename(empty, "missing-folder", "report.md", NULL);

    __refused((const char *const[]){"report", "-o", md, NULL}, "expected one or more");
    __refused((const char *const[]){"report", tick, NULL}, "expected -o FILE");
    __refused((const char *const[]){"report", tick, "-o", txt, NULL},
              "unknown extension '.txt'; expected one of .html, .htm, .md, .xml, .csv, .json");
    __refused((const char *const[]){"report", tick, "-o", bare, NULL}, "has no extension");
    __refused((const char *const[]){"report", tick, "-o", nested, NULL},
              "the folder " G_DIR_SEPARATOR_S);
    __refused((const char *const[]){"report", tick, "-o", empty, NULL}, "is a folder");
    __refused((const char *const[]){"report", tick, "-o", md, "--format", "pdf", NULL},
              "--format: unknown format 'pdf'");
    __refused((const char *const[]){"report", tick, "--bogus", "-o", md, NULL}, "--bogus");
    g_autofree char *err = NULL;
    test_spotlab_expect((const char *const[]){"report", tick, "-o", nested, NULL}, NULL, &err, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing-folder"));
}

static void
test_output_among_inputs(void)
{
    /* A merged report written over itself would lose what it merged. */
    g_autofree char *copy = __tmp_path("results-copy.json");
    g_autofree char *text = test_read_file(tick);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_FATAL(g_file_set_contents(copy, text, -1, NULL));
    const char *argv[] = {"report", cont, copy, "-o", copy, NULL};
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect(argv, NULL, &err, 2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "is one of the inputs"));
    g_autofree char *after = test_read_file(copy);
    CU_ASSERT_STRING_EQUAL(after, text);
    g_unlink(copy);
}

/* ---- what spotlab run writes --------------------------------------------------------------- */

static void
test_report_of_real_results(void)
{
    g_autofree char *root = test_data_path("../..");
    g_autofree char *quickstart = g_build_filename(root, "scenarios", "quickstart.json", NULL);
    g_autofree char *results = __tmp_path("quickstart.json");
    const char *run[] = {"run", quickstart, "-q", "-o", results, NULL};
    /* 1 when one of the scenario's expectations fails: the results are written all the same. */
    int status = test_spotlab(run, NULL, NULL);
    CU_ASSERT_FATAL(status == 0 || status == 1);

    json_t *doc = __load_json(results);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    gsize runs = 0;
    json_t *policies = json_object_get(doc, "policies");
    for (gsize k = 0; k < json_array_size(policies); k++)
        runs += json_array_size(json_object_get(json_array_get(policies, k), "runs"));
    gsize n_expect = json_array_size(json_object_get(doc, "expectations"));
    gsize n_policies = json_array_size(policies);
    json_decref(doc);
    CU_ASSERT(runs > 0);

    const char *inputs[] = {results, NULL};
    g_autofree char *csv = __report(inputs, "quickstart.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    g_autoptr(GPtrArray) records = __parse_csv(csv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(records);
    CU_ASSERT_EQUAL(records->len, runs + 1);

    g_autofree char *md = __report(inputs, "quickstart.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "\n## quickstart: tick model, 3 pools, 120 windows\n") ||
                           g_str_has_prefix(md, "## quickstart: tick model, 3 pools, 120 windows"));
    CU_ASSERT(__has_line(md, "| policy | mean cost | 95% CI | savings | deadline met |"));

    g_autofree char *xml = __report(inputs, "quickstart.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    JunitCounts c;
    CU_ASSERT_FATAL(__parse_junit(xml, &c));
    CU_ASSERT_EQUAL(c.suites, 1);
    CU_ASSERT_EQUAL(c.cases, n_expect > 0 ? n_expect : n_policies);
    __junit_counts_clear(&c);
}

static int
__suite_init(void)
{
    tmp = test_tmpdir_new();
    empty = g_build_filename(tmp, "refused", NULL);
    return g_mkdir(empty, 0755);
}

static int
__suite_clean(void)
{
    test_tmpdir_remove(tmp);
    g_clear_pointer(&tmp, g_free);
    g_clear_pointer(&empty, g_free);
    return 0;
}

int
main(void)
{
    data = test_data_path("report");
    tick = g_build_filename(data, "tick.json", NULL);
    cont = g_build_filename(data, "continuous.json", NULL);

    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("report", __suite_init, __suite_clean);
    CU_add_test(s, "markdown of the fixtures", test_markdown_fixture);
    CU_add_test(s, "markdown without expectations", test_markdown_without_expectations);
    CU_add_test(s, "JUnit XML of the fixtures", test_junit_fixture);
    CU_add_test(s, "JUnit XML escapes everything", test_junit_escapes_everything);
    CU_add_test(s, "CSV: a record per run, RFC 4180", test_csv_fixture);
    CU_add_test(s, "the merged .json reloads into the same document", test_merged_json_round_trip);
    CU_add_test(s, "-o - writes to standard output", test_stdout);
    CU_add_test(s, "--format and the extensions", test_format_option_and_extensions);
    CU_add_test(s, ".html and .htm make the HTML report", test_html_dispatch);
    CU_add_test(s, "bad inputs are refused with their place", test_bad_inputs);
    CU_add_test(s, "a missing input is refused", test_missing_input);
    CU_add_test(s, "usage errors exit 2 and write nothing", test_usage_errors);
    CU_add_test(s, "the output cannot be an input", test_output_among_inputs);
    CU_add_test(s, "a report of what spotlab run writes", test_report_of_real_results);
    int status = test_run_all();
    g_free(data);
    g_free(tick);
    g_free(cont);
    return status;
}
