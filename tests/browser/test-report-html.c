/* The HTML report (src/report-html.c, docs/report-html.md) without a browser.
 *
 * - Every results file gets its four charts (savings, cost against lost work, timeline,
 *   distribution), each an <svg class="chart"> with a title, an aria-label and marks
 *   (class="mark"), for both models: real runs of the quickstart (tick) and of a small
 *   continuous scenario, and the report fixtures in tests/data/report.
 * - Every coordinate is a plain finite number with a decimal point, whatever the data holds:
 *   nulls, NaN-free gaps, a policy without finished runs, an empty policy list, no results.
 * - All text is escaped; the page needs nothing from the network and runs one script, its own.
 * - The bytes are the same every time and in a locale with a decimal comma where one exists.
 * - Expectations show their verdicts in words and symbols; their absence is said.
 * - The size does not grow with the number of replicas (histograms bin). */
#include "report.h"
#include "test-util.h"

#include <jansson.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

static char *tmp;             /* a folder for this run's outputs */
static json_t *tick_results;  /* a quickstart run */
static json_t *cloud_results; /* a run of a small continuous scenario */
static char *data;            /* tests/data/report */

#define CHARTS_PER_RESULTS 4

static json_t *
__merged(json_t *first, ...)
{
    json_t *m = json_pack("{s:{s:s,s:i},s:b,s:[]}", "spotlab", "version", "0.1.0", "schema", 1,
                          "report", 1, "results");
    va_list ap;
    va_start(ap, first);
    for (json_t *r = first; r != NULL; r = va_arg(ap, json_t *))
        json_array_append(json_object_get(m, "results"), r);
    va_end(ap);
    return m;
}

static json_t *
__load(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL)
        fprintf(stderr, "\n%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
    return doc;
}

static gsize
__count(const char *haystack, const char *needle)
{
    gsize n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Checks the charts of @html: @expected of them, each with a title and an aria-label, each
 * with marks unless it says it is empty; returns how many are empty. */
static gsize
__check_charts(const char *html, gsize expected)
{
    gsize charts = 0, empty = 0;
    for (const char *p = strstr(html, "<svg class=\"chart\""); p != NULL;
         p = strstr(p + 1, "<svg class=\"chart\"")) {
        charts++;
        const char *end = strstr(p, "</svg>");
        CU_ASSERT_PTR_NOT_NULL_FATAL(end);
        g_autofree char *svg = g_strndup(p, (gsize)(end - p));
        const char *tag_end = strchr(svg, '>');
        g_autofree char *tag = g_strndup(svg, (gsize)(tag_end - svg));
        CU_ASSERT_PTR_NOT_NULL(strstr(tag, "aria-label=\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(tag, "viewBox=\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<title>"));
        gboolean is_empty = strstr(tag, "data-empty=\"true\"") != NULL;
        gsize marks = __count(svg, "class=\"mark");
        if (is_empty) {
            empty++;
            CU_ASSERT_EQUAL(marks, 0);
        } else {
            if (marks == 0)
                fprintf(stderr, "\na chart without marks: %s\n", tag);
            CU_ASSERT(marks > 0);
        }
    }
    if (charts != expected)
        fprintf(stderr, "\n%zu charts, expected %zu\n", charts, expected);
    CU_ASSERT_EQUAL(charts, expected);
    return empty;
}

/* Every numeric attribute holds digits, a point and minus signs only (path data: and the path
 * commands): no NaN, no infinity, no decimal comma. */
static void
__check_numbers(const char *html)
{
    static const char *const attrs[] = {" x=\"",  " y=\"", " width=\"",  " height=\"", " cx=\"",
                                        " cy=\"", " r=\"", " x1=\"",     " y1=\"",     " x2=\"",
                                        " y2=\"", " d=\"", " viewBox=\""};
    gsize checked = 0;
    for (gsize a = 0; a < G_N_ELEMENTS(attrs); a++) {
        const char *allowed =
            strcmp(attrs[a], " d=\"") == 0 ? "0123456789.- MLHVZ" : "0123456789.- ";
        for (const char *p = strstr(html, attrs[a]); p != NULL; p = strstr(p + 1, attrs[a])) {
            const char *v = p + strlen(attrs[a]);
            gsize len = strcspn(v, "\"");
            gsize ok = strspn(v, allowed);
            if (ok < len || len == 0) {
                g_autofree char *bad = g_strndup(v, MIN(len, 80));
                fprintf(stderr, "\nnot a number:%s%s\"\n", attrs[a], bad);
            }
            CU_ASSERT(ok >= len && len > 0);
            checked++;
        }
    }
    CU_ASSERT(checked > 0);
}

/* Nothing from the network, no other script than the report's own. */
static void
__check_self_contained(const char *html)
{
    gsize svg_ns = __count(html, "xmlns=\"http://www.w3.org/2000/svg\"");
    CU_ASSERT_EQUAL(__count(html, "http://") + __count(html, "https://"), svg_ns);
    CU_ASSERT_PTR_NULL(strstr(html, " src="));
    CU_ASSERT_PTR_NULL(strstr(html, "<link"));
    CU_ASSERT_PTR_NULL(strstr(html, "@import"));
    CU_ASSERT_EQUAL(__count(html, "url("), __count(html, "url(#"));
    CU_ASSERT_EQUAL(__count(html, "<script"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<meta name=\"viewport\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "@media print"));
    CU_ASSERT(g_str_has_suffix(html, "</html>\n"));
}

static void
test_both_models_real_runs(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(tick_results);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cloud_results);
    json_t *m = __merged(cloud_results, tick_results, NULL);
    g_autofree char *html = report_html(m);
    json_decref(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(__check_charts(html, 2 * CHARTS_PER_RESULTS), 0);
    __check_numbers(html);
    __check_self_contained(html);
    /* Each kind of chart, in each section. */
    static const char *const kinds[] = {"savings", "scatter", "timeline", "distribution"};
    for (gsize k = 0; k < G_N_ELEMENTS(kinds); k++) {
        g_autofree char *attr = g_strdup_printf("data-chart=\"%s\"", kinds[k]);
        CU_ASSERT_EQUAL(__count(html, attr), 2);
    }
    /* The continuous model's charts speak of lost work and recovery; the tick model's say
     * honestly what they show instead. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "Cost against lost work per policy"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "mean lost work (GPU-hours)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "Distribution of recovery times"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "Cost against missed deadlines per policy"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "deadline missed (% of windows)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "Distribution of finish times"));
    /* One savings bar and one point per policy of each file. */
    gsize policies = json_array_size(json_object_get(cloud_results, "policies")) +
                     json_array_size(json_object_get(tick_results, "policies"));
    CU_ASSERT_EQUAL(__count(html, "class=\"mark bar"), policies);
    /* Points at the same place share one mark; every policy is named beside one. */
    CU_ASSERT(__count(html, "class=\"mark point\"") <= policies);
    CU_ASSERT(__count(html, "class=\"mark point\"") > 1);
    /* The timeline has its price and lanes; the tick run was reclaimed at least once. */
    CU_ASSERT(__count(html, "class=\"mark price\"") >= 2);
    CU_ASSERT(__count(html, "class=\"mark spot\"") >= 2);
    CU_ASSERT(__count(html, "class=\"mark ev-reclaim\"") >= 1);
    /* Every policy in the summary table, with its number. */
    for (gsize i = 0; i < json_array_size(json_object_get(tick_results, "policies")); i++) {
        const char *name = json_string_value(
            json_object_get(json_array_get(json_object_get(tick_results, "policies"), i), "name"));
        g_autofree char *cell = g_strdup_printf("<td class=\"name\">%s</td>", name);
        CU_ASSERT_PTR_NOT_NULL(strstr(html, cell));
    }
}

static void
test_fixtures(void)
{
    g_autofree char *tick_path = g_build_filename(data, "tick.json", NULL);
    g_autofree char *cont_path = g_build_filename(data, "continuous.json", NULL);
    json_t *tick = __load(tick_path), *cont = __load(cont_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tick);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cont);
    json_t *m = __merged(tick, cont, NULL);
    g_autofree char *html = report_html(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    __check_charts(html, 2 * CHARTS_PER_RESULTS);
    __check_numbers(html);
    __check_self_contained(html);
    /* The fixture's expectations: one passes, two fail, in words and symbols. */
    CU_ASSERT_EQUAL(__count(html, "\xe2\x9c\x93 pass"), 1);
    CU_ASSERT_EQUAL(__count(html, "\xe2\x9c\x97 fail"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "2 of 3 fail"));
    /* The continuous fixture has none, and the report says so. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "The scenario states no expectations."));
    /* A name with markup in it is escaped. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "meets deadlines &amp; &quot;never&quot; &lt;late&gt;"));
    CU_ASSERT_PTR_NULL(strstr(html, "<late>"));
    json_decref(m);
    json_decref(tick);
    json_decref(cont);
}

/* A results document with holes everywhere: nulls where numbers go, a policy with no finished
 * run, a timeline with broken events, markup in every name. */
static const char holes_json[] =
    "{\"spotlab\":{\"version\":\"0.1.0\",\"schema\":1},\"mode\":\"sim\",\"model\":\"continuous\","
    "\"scenario\":{\"name\":\"holes <b>&</b>\",\"seed\":3,\"replicas\":2,"
    "\"description\":\"<script>alert('x')</script>\"},"
    "\"job\":{\"type\":\"training\",\"instances\":2,\"deadline_hours\":null,\"horizon_hours\":10},"
    "\"pools\":[{\"name\":\"p<1>\",\"cloud\":null,\"region\":\"r\",\"instance_type\":\"t\","
    "\"capacity\":\"hazard\",\"interruptions_per_hour\":null,\"on_demand_price\":null}],"
    "\"baseline\":\"on-demand\",\"policies\":["
    "{\"name\":\"nothing <finished>\",\"summary\":{\"runs\":2,"
    "\"cost\":{\"n\":0,\"mean\":null,\"ci95\":[null,null]},"
    "\"savings_pct\":{\"n\":0,\"mean\":null,\"ci95\":null},\"total_savings_pct\":null,"
    "\"lost_gpu_hours\":{\"mean\":null},\"recovery_seconds\":{\"n\":0,\"p95\":null},"
    "\"finished_pct\":0,\"deadline_met_pct\":null},"
    "\"runs\":[{\"replica\":0,\"finished\":false,\"recovery_seconds\":[]},"
    "{\"replica\":1,\"finished\":false,\"recovery_seconds\":null}],"
    "\"timeline\":{\"replica\":0,\"start_hours\":null,\"end_hours\":null,\"events\":["
    "[null,\"up\",0,0,\"p\",\"spot\"],[\"x\",\"reclaim\",0,0,\"p\",\"spot\"],5,[1],"
    "[2,\"notice\",0,\"i\",\"p\",\"spot\"]]}},"
    "{\"name\":\"one value\",\"summary\":{\"runs\":1,"
    "\"cost\":{\"n\":1,\"mean\":5,\"ci95\":[5,5]},\"savings_pct\":{\"n\":1,\"mean\":-1e-12,"
    "\"ci95\":[null,3]},\"lost_gpu_hours\":{\"mean\":0,\"ci95\":[0,0]},"
    "\"recovery_seconds\":{\"n\":2,\"p95\":0}},"
    "\"runs\":[{\"replica\":0,\"recovery_seconds\":[0,0,-3,\"x\"]}],"
    "\"timeline\":{\"replica\":0,\"start_hours\":0,\"end_hours\":0.5,\"events\":["
    "[0,\"up\",0,0,\"p\",\"on-demand\"],[0,\"up\",0,0,\"p\",\"on-demand\"],"
    "[0.2,\"checkpoint\",0,0,\"p\",\"on-demand\"],[0.25,\"launch-failed\",0,1,\"p\",\"spot\"],"
    "[0.3,\"switch\",0,0,\"p\",\"spot\"],[0.5,\"end\",0,0,\"p\",\"on-demand\"],"
    "[0.5,\"end\",0,0,\"p\",\"on-demand\"]]}},"
    "7],"
    "\"timeline_series\":[{\"pool\":\"p\",\"capacity\":[[0,null],[null,1],[0.1,4]],"
    "\"price\":[[0,null]],\"on_demand_price\":null},{\"pool\":null},3],"
    "\"expectations\":[{\"name\":null,\"field\":\"expect[0]\",\"policy\":null,\"metric\":null,"
    "\"aggregate\":null,\"min\":null,\"max\":null,\"unit\":\"seconds\",\"measured\":null,"
    "\"verdict\":\"fail\",\"text\":\"<no measure>\"}]}";

static void
test_holes(void)
{
    json_error_t jerr;
    json_t *holes = json_loads(holes_json, 0, &jerr);
    if (holes == NULL)
        fprintf(stderr, "\nholes: %d:%d: %s\n", jerr.line, jerr.column, jerr.text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(holes);
    /* The same document as a tick-model one, whose charts read other fields. */
    json_t *tick = json_deep_copy(holes);
    json_object_set_new(tick, "model", json_string("tick"));
    json_t *m = __merged(holes, tick, NULL);
    /* A non-finite coordinate would be a critical, fatal here (G_DEBUG=fatal-criticals). */
    g_autofree char *html = report_html(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    __check_charts(html, 2 * CHARTS_PER_RESULTS);
    __check_numbers(html);
    __check_self_contained(html);
    CU_ASSERT_PTR_NULL(strstr(html, "<script>alert"));
    CU_ASSERT_PTR_NULL(strstr(html, "<finished>"));
    CU_ASSERT_PTR_NULL(strstr(html, "<no measure>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "&lt;script&gt;alert("));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "\xe2\x9c\x97 fail"));
    json_decref(m);
    json_decref(tick);
    json_decref(holes);

    /* No results at all, and a results file with no policies: a page, and empty charts. */
    json_t *none = __merged(NULL);
    g_autofree char *html_none = report_html(none);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html_none);
    CU_ASSERT_PTR_NOT_NULL(strstr(html_none, "No results."));
    __check_charts(html_none, 0);
    json_decref(none);
    json_t *bare = json_pack("{s:s,s:[]}", "model", "continuous", "policies");
    json_t *mb = __merged(bare, NULL);
    g_autofree char *html_bare = report_html(mb);
    CU_ASSERT_EQUAL(__check_charts(html_bare, CHARTS_PER_RESULTS), CHARTS_PER_RESULTS);
    __check_numbers(html_bare);
    json_decref(mb);
    json_decref(bare);
}

static void
test_deterministic(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(cloud_results);
    json_t *m = __merged(cloud_results, tick_results, NULL);
    g_autofree char *one = report_html(m);
    g_autofree char *two = report_html(m);
    CU_ASSERT_STRING_EQUAL(one, two);
    /* A locale that writes numbers with a decimal comma must change nothing. */
    static const char *const comma_locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE.utf8",
                                                "fr_FR.utf8",  "nl_NL.UTF-8", "ru_RU.UTF-8"};
    g_autofree char *saved = g_strdup(setlocale(LC_NUMERIC, NULL));
    const char *used = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(comma_locales) && used == NULL; i++)
        if (setlocale(LC_NUMERIC, comma_locales[i]) != NULL)
            used = comma_locales[i];
    if (used != NULL) {
        g_autofree char *three = report_html(m);
        setlocale(LC_NUMERIC, saved);
        CU_ASSERT_STRING_EQUAL(one, three);
    } else {
        fprintf(stderr, "(no locale with a decimal comma installed; compared in C only) ");
    }
    json_decref(m);
}

/* A continuous results document with @replicas replicas of one policy, three recoveries
 * each, built here. */
static json_t *
__many_replicas(gsize replicas)
{
    json_t *runs = json_array();
    for (gsize i = 0; i < replicas; i++) {
        double base = 60.0 * (double)(1 + i % 97);
        json_array_append_new(runs,
                              json_pack("{s:I,s:b,s:[f,f,f]}", "replica", (json_int_t)i, "finished",
                                        1, "recovery_seconds", base, base * 3, base * 40));
    }
    json_t *summary = json_pack("{s:I,s:{s:f,s:[f,f]},s:{s:f,s:[f,f]},s:{s:f,s:[f,f]},s:f}", "runs",
                                (json_int_t)replicas, "cost", "mean", 100.0, "ci95", 90.0, 110.0,
                                "savings_pct", "mean", 60.0, "ci95", 58.0, 62.0, "lost_gpu_hours",
                                "mean", 2.0, "ci95", 1.5, 2.5, "finished_pct", 100.0);
    return json_pack("{s:s,s:{s:s,s:I},s:{s:s,s:i},s:[{s:s,s:o,s:o}]}", "model", "continuous",
                     "scenario", "name", "many", "replicas", (json_int_t)replicas, "job", "type",
                     "training", "instances", 1, "policies", "name", "spot", "summary", summary,
                     "runs", runs);
}

static void
test_size_does_not_grow_with_replicas(void)
{
    json_t *small = __many_replicas(100), *large = __many_replicas(10000);
    json_t *ms = __merged(small, NULL), *ml = __merged(large, NULL);
    g_autofree char *a = report_html(ms);
    g_autofree char *b = report_html(ml);
    /* Only the counts in the histogram bins' titles and the labels grow by a digit or two. */
    gsize la = strlen(a), lb = strlen(b);
    if (lb > la + 600)
        fprintf(stderr, "\n100 replicas: %zu bytes, 10000 replicas: %zu bytes\n", la, lb);
    CU_ASSERT(lb <= la + 600);
    CU_ASSERT(lb < 64 * 1024);
    CU_ASSERT_EQUAL(__check_charts(b, CHARTS_PER_RESULTS), 1); /* no timeline recorded */
    __check_numbers(b);
    json_decref(ms);
    json_decref(ml);
    json_decref(small);
    json_decref(large);
}

/* A small continuous scenario: a traced pool and a hazard pool, a gang of 2, 16 replicas. */
static const char cloud_scenario[] =
    "{\n"
    "  \"name\": \"report-small\", \"model\": \"continuous\", \"seed\": 5,\n"
    "  \"replicas\": 16, \"horizon\": \"3d\",\n"
    "  \"pools\": [\n"
    "    { \"name\": \"use1-h100\", \"cloud\": \"aws\", \"region\": \"us-east-1\",\n"
    "      \"instance_type\": \"h100\", \"capacity_scale\": 2,\n"
    "      \"trace\": { \"file\": \"%s\", \"pool\": \"use1-h100\" } },\n"
    "    { \"name\": \"hazard-h100\", \"cloud\": \"aws\", \"region\": \"us-west-2\",\n"
    "      \"instance_type\": \"h100\", \"hazard\": { \"gpu\": \"h100\" },\n"
    "      \"spot_price\": \"$1.32/h\", \"on_demand_price\": \"$3.90/h\" }\n"
    "  ],\n"
    "  \"job\": { \"type\": \"training\", \"instances\": 2, \"steps\": 36000,\n"
    "           \"step_time\": \"1s\", \"startup\": \"2m\", \"deadline\": \"20h\",\n"
    "           \"checkpoint\": { \"size\": \"10GB\", \"write\": \"1GB/s\",\n"
    "                           \"restore\": \"2GB/s\" } },\n"
    "  \"strategies\": [\n"
    "    { \"preset\": \"on-demand\" },\n"
    "    { \"preset\": \"spot-restart\", \"pools\": [\"use1-h100\"] },\n"
    "    { \"preset\": \"emergency\", \"pools\": [\"use1-h100\"],\n"
    "      \"checkpoint\": { \"every\": \"30m\" } },\n"
    "    { \"preset\": \"failover\" }\n"
    "  ]\n"
    "}\n";

static json_t *
__run(const char *scenario, const char *name)
{
    g_autofree char *out = g_build_filename(tmp, name, NULL);
    const char *argv[] = {"run", scenario, "-q", "-o", out, NULL};
    g_autofree char *o = NULL, *e = NULL;
    int status = test_spotlab(argv, &o, &e);
    if (status != 0 && status != 1) {
        fprintf(stderr, "spotlab run %s: exit %d\n%s%s\n", scenario, status, o ? o : "",
                e ? e : "");
        return NULL;
    }
    return __load(out);
}

static int
__suite_init(void)
{
    tmp = test_tmpdir_new();
    g_autofree char *root = test_data_path("../..");
    g_autofree char *quickstart = g_build_filename(root, "scenarios", "quickstart.json", NULL);
    tick_results = __run(quickstart, "quickstart.json");
    g_autofree char *trace =
        g_build_filename(root, "traces", "synthetic", "gpus-two-regions-30d.json", NULL);
    g_autofree char *text = g_strdup_printf(cloud_scenario, trace);
    g_autofree char *scenario = g_build_filename(tmp, "small.json", NULL);
    if (!g_file_set_contents(scenario, text, -1, NULL))
        return 1;
    cloud_results = __run(scenario, "small-results.json");
    return 0;
}

static int
__suite_clean(void)
{
    json_decref(tick_results);
    json_decref(cloud_results);
    test_tmpdir_remove(tmp);
    g_clear_pointer(&tmp, g_free);
    return 0;
}

int
main(void)
{
    data = test_data_path("report");
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("report-html", __suite_init, __suite_clean);
    CU_add_test(s, "both models: four charts each, with marks", test_both_models_real_runs);
    CU_add_test(s, "the report fixtures, with expectations", test_fixtures);
    CU_add_test(s, "holes in the data draw no NaN", test_holes);
    CU_add_test(s, "the same bytes every time and in any locale", test_deterministic);
    CU_add_test(s, "the size does not grow with the replicas",
                test_size_does_not_grow_with_replicas);
    int status = test_run_all();
    g_free(data);
    return status;
}
