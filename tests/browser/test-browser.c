/* The HTML report in a real browser: headless Chromium (Debian's `chromium` package).
 *
 * The report of two real runs (scenarios/examples/h100-strategies.json, continuous model, and
 * scenarios/quickstart.json, tick model) is made as a user makes it, with `spotlab report`, and
 * loaded in Chromium:
 * - first a page that writes to the console, to prove that this Chromium's console is seen;
 * - the report writes nothing to the console (no error, no uncaught exception);
 * - its script finds eight charts, each with marks that the browser drew with a finite,
 *   non-empty box;
 * - at a phone's width (390 px) the page is no wider than the window: tables and charts scroll
 *   inside their own boxes;
 * - a screenshot at 1280 x 3260 (the first results file down to its timeline) is a PNG of that
 *   size with something on it. It is written into the build folder (SPOTLAB_BROWSER_OUT)
 *   beside report.html; with SPOTLAB_SCREENSHOT=PATH (relative to the source tree) it is also
 *   copied there: this is how docs/img/report.png is refreshed (docs/report-html.md).
 *
 * Exits 77 (skipped) where Chromium is missing. SPOTLAB_CHROMIUM names another binary. */
#include "test-util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#define CHARTS_PER_RESULTS 4
#define N_RESULTS          2
#define SHOT_W             1280
#define SHOT_H             3260

static const char *chromium; /* the browser's path */
static char *tmp;            /* this run's folder: results, profile */
static char *out_dir;        /* where report.html and report.png stay for people to look at */
static char *report;         /* the report's path */
static char *report_url;     /* file:// URL of it */

/* Runs Chromium headless on @url with @extra arguments; returns its exit status and its output
 * (the serialized DOM with --dump-dom) and diagnostics. */
static int
__chromium(const char *url, const char *const *extra, char **out, char **err)
{
    g_autofree char *profile = g_build_filename(tmp, "profile", NULL);
    g_autofree char *profile_arg = g_strdup_printf("--user-data-dir=%s", profile);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *fixed[] = {chromium,
                           "--headless",
                           "--no-sandbox",
                           "--disable-gpu",
                           "--disable-dev-shm-usage",
                           "--disable-extensions",
                           "--no-first-run",
                           "--no-default-browser-check",
                           "--hide-scrollbars",
                           "--force-color-profile=srgb",
                           "--force-device-scale-factor=1",
                           "--enable-logging=stderr",
                           "--v=0",
                           profile_arg};
    for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(argv, (gpointer)fixed[i]);
    for (gsize i = 0; extra[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)extra[i]);
    g_ptr_array_add(argv, (gpointer)url);
    g_ptr_array_add(argv, NULL);
    int wait_status = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                      &wait_status, &error)) {
        fprintf(stderr, "\ncannot run %s: %s\n", chromium, error->message);
        return -1;
    }
    return g_spawn_check_wait_status(wait_status, NULL) ? 0 : 1;
}

/* The lines of Chromium's log that carry the page's console: messages of every level and
 * uncaught exceptions ("[...:INFO:CONSOLE(12)] "message", source: file://..."). */
static char *
__console_lines(const char *log)
{
    GString *lines = g_string_new(NULL);
    g_auto(GStrv) all = g_strsplit(log ? log : "", "\n", -1);
    for (gsize i = 0; all[i] != NULL; i++)
        if (strstr(all[i], "CONSOLE") != NULL || strstr(all[i], "Uncaught") != NULL)
            g_string_append_printf(lines, "%s\n", all[i]);
    return g_string_free(lines, FALSE);
}

/* The value of attribute @name in the tag that starts at @tag, or NULL. */
static char *
__attr(const char *tag, const char *name)
{
    const char *end = strchr(tag, '>');
    g_autofree char *pattern = g_strdup_printf(" %s=\"", name);
    const char *p = strstr(tag, pattern);
    if (p == NULL || (end != NULL && p > end))
        return NULL;
    p += strlen(pattern);
    return g_strndup(p, strcspn(p, "\""));
}

static void
test_console_is_seen(void)
{
    g_autofree char *canary = g_build_filename(tmp, "canary.html", NULL);
    const char *page = "<!DOCTYPE html><html><body><p>canary</p><script>"
                       "console.error('spotlab-canary');missingFunction();</script></body></html>";
    CU_ASSERT_FATAL(g_file_set_contents(canary, page, -1, NULL));
    g_autofree char *url = g_filename_to_uri(canary, NULL, NULL);
    const char *extra[] = {"--dump-dom", NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(__chromium(url, extra, &out, &err), 0);
    g_autofree char *console = __console_lines(err);
    if (strstr(console, "spotlab-canary") == NULL || strstr(console, "missingFunction") == NULL)
        fprintf(stderr, "\nthis Chromium does not show the page's console on stderr:\n%s\n", err);
    CU_ASSERT_PTR_NOT_NULL(strstr(console, "spotlab-canary"));
    CU_ASSERT_PTR_NOT_NULL(strstr(console, "missingFunction"));
}

static void
test_charts_drawn_without_errors(void)
{
    const char *extra[] = {"--dump-dom", "--window-size=1280,2400", NULL};
    g_autofree char *dom = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(__chromium(report_url, extra, &dom, &err), 0);
    g_autofree char *console = __console_lines(err);
    if (*console != '\0')
        fprintf(stderr, "\nthe report wrote to the console:\n%s\n", console);
    CU_ASSERT_STRING_EQUAL(console, "");

    const char *body = strstr(dom, "<body");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    g_autofree char *ok = __attr(body, "data-charts-ok");
    g_autofree char *charts = __attr(body, "data-charts");
    if (ok == NULL)
        fprintf(stderr, "\nthe report's script did not run:\n%.400s\n", body);
    g_autofree char *expected = g_strdup_printf("%d", CHARTS_PER_RESULTS * N_RESULTS);
    CU_ASSERT_STRING_EQUAL(ok ? ok : "", "yes");
    CU_ASSERT_STRING_EQUAL(charts ? charts : "", expected);

    gsize n = 0;
    for (const char *p = strstr(dom, "<svg class=\"chart\""); p != NULL;
         p = strstr(p + 1, "<svg class=\"chart\"")) {
        n++;
        g_autofree char *kind = __attr(p, "data-chart");
        g_autofree char *marks = __attr(p, "data-marks");
        g_autofree char *drawn = __attr(p, "data-drawn");
        g_autofree char *empty = __attr(p, "data-empty");
        gint64 m = marks ? g_ascii_strtoll(marks, NULL, 10) : 0;
        gint64 d = drawn ? g_ascii_strtoll(drawn, NULL, 10) : -1;
        if (m == 0 || m != d || empty != NULL)
            fprintf(stderr, "\nchart %zu (%s): %s marks, %s drawn%s\n", n, kind ? kind : "?",
                    marks ? marks : "no", drawn ? drawn : "none",
                    empty ? ", says it is empty" : "");
        CU_ASSERT(m > 0);
        CU_ASSERT_EQUAL(m, d);
        CU_ASSERT_PTR_NULL(empty);
    }
    CU_ASSERT_EQUAL(n, CHARTS_PER_RESULTS * N_RESULTS);
}

static void
test_fits_a_phone(void)
{
    const char *extra[] = {"--dump-dom", "--window-size=390,844", NULL};
    g_autofree char *dom = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(__chromium(report_url, extra, &dom, &err), 0);
    const char *body = strstr(dom, "<body");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    g_autofree char *fits = __attr(body, "data-fits");
    CU_ASSERT_STRING_EQUAL(fits ? fits : "", "yes");
}

static guint32
__be32(const guchar *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | (guint32)p[3];
}

static void
test_screenshot(void)
{
    g_autofree char *shot = g_build_filename(out_dir, "report.png", NULL);
    g_remove(shot);
    g_autofree char *shot_arg = g_strdup_printf("--screenshot=%s", shot);
    g_autofree char *size_arg = g_strdup_printf("--window-size=%d,%d", SHOT_W, SHOT_H);
    const char *extra[] = {shot_arg, size_arg, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(__chromium(report_url, extra, &out, &err), 0);
    g_autofree char *png = NULL;
    gsize len = 0;
    CU_ASSERT_FATAL(g_file_get_contents(shot, &png, &len, NULL));
    /* A PNG (signature, then IHDR with the width and height) of the window's size. */
    CU_ASSERT_FATAL(len > 24);
    CU_ASSERT(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    CU_ASSERT(memcmp(png + 12, "IHDR", 4) == 0);
    CU_ASSERT_EQUAL(__be32((const guchar *)png + 16), SHOT_W);
    CU_ASSERT_EQUAL(__be32((const guchar *)png + 20), SHOT_H);
    /* A blank page of that size compresses to a few kilobytes; the report's text and charts
     * take far more. */
    if (len < 60 * 1024)
        fprintf(stderr, "\n%s: %zu bytes: is the page blank?\n", shot, len);
    CU_ASSERT(len >= 60 * 1024);
    fprintf(stderr, "(screenshot: %s) ", shot);

    const char *target = g_getenv("SPOTLAB_SCREENSHOT");
    if (target != NULL && *target != '\0') {
        const char *root = g_getenv("SPOTLAB_SOURCE_ROOT");
        g_autofree char *path = g_path_is_absolute(target) || root == NULL
                                    ? g_strdup(target)
                                    : g_build_filename(root, target, NULL);
        g_autoptr(GError) error = NULL;
        if (!g_file_set_contents(path, png, (gssize)len, &error))
            fprintf(stderr, "\nSPOTLAB_SCREENSHOT: %s\n", error->message);
        CU_ASSERT_PTR_NULL(error);
        fprintf(stderr, "(copied to %s) ", path);
    }
}

/* Runs spotlab with @argv; prints what it said when it fails. */
static gboolean
__spotlab(const char *const *argv)
{
    g_autofree char *o = NULL, *e = NULL;
    int status = test_spotlab(argv, &o, &e);
    if (status != 0) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
        fprintf(stderr, "spotlab %s: exit %d\n%s%s\n", cmd, status, o ? o : "", e ? e : "");
    }
    return status == 0;
}

/* The report as a user makes it. */
static gboolean
__make_report(const char *const *results, gsize n)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer) "report");
    for (gsize i = 0; i < n; i++)
        g_ptr_array_add(argv, (gpointer)results[i]);
    g_ptr_array_add(argv, (gpointer) "-o");
    g_ptr_array_add(argv, report);
    g_ptr_array_add(argv, NULL);
    return __spotlab((const char *const *)argv->pdata);
}

static int
__suite_init(void)
{
    tmp = test_tmpdir_new();
    const char *dir = g_getenv("SPOTLAB_BROWSER_OUT");
    out_dir = g_strdup(dir != NULL && *dir != '\0' ? dir : tmp);
    report = g_build_filename(out_dir, "report.html", NULL);
    report_url = g_filename_to_uri(report, NULL, NULL);
    /* From the source tree, with the paths a user types: the report shows them. */
    g_autofree char *root = test_data_path("../..");
    if (g_chdir(root) != 0) {
        fprintf(stderr, "cannot enter %s: %s\n", root, g_strerror(errno));
        return 1;
    }
    const char *h100 = "scenarios/examples/h100-strategies.json";
    const char *quickstart = "scenarios/quickstart.json";
    g_autofree char *h100_results = g_build_filename(tmp, "h100-strategies.json", NULL);
    g_autofree char *quickstart_results = g_build_filename(tmp, "quickstart.json", NULL);
    const char *run_h100[] = {"run", h100, "-q", "--no-gate", "-o", h100_results, NULL};
    const char *run_quickstart[] = {"run", quickstart,         "-q", "--no-gate",
                                    "-o",  quickstart_results, NULL};
    if (!__spotlab(run_h100) || !__spotlab(run_quickstart))
        return 1;
    const char *results[] = {h100_results, quickstart_results};
    G_STATIC_ASSERT(G_N_ELEMENTS(results) == N_RESULTS);
    return __make_report(results, N_RESULTS) ? 0 : 1;
}

static int
__suite_clean(void)
{
    test_tmpdir_remove(tmp);
    g_clear_pointer(&tmp, g_free);
    g_clear_pointer(&out_dir, g_free);
    g_clear_pointer(&report, g_free);
    g_clear_pointer(&report_url, g_free);
    return 0;
}

int
main(void)
{
    g_autofree char *found = NULL;
    const char *named = g_getenv("SPOTLAB_CHROMIUM");
    if (named != NULL && *named != '\0')
        found = g_find_program_in_path(named);
    else if ((found = g_find_program_in_path("chromium")) == NULL)
        found = g_find_program_in_path("chromium-browser");
    if (found == NULL) {
        printf("skipped: no Chromium to render the report in (%s not found; on Debian: "
               "apt-get install chromium, or run .ci/install)\n",
               named ? named : "chromium, chromium-browser");
        return TEST_SKIP;
    }
    chromium = found;
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("chromium", __suite_init, __suite_clean);
    CU_add_test(s, "the page's console is seen (a canary that logs an error)",
                test_console_is_seen);
    CU_add_test(s, "the report: no console errors, every chart drawn",
                test_charts_drawn_without_errors);
    CU_add_test(s, "the report fits a phone's width", test_fits_a_phone);
    CU_add_test(s, "a screenshot of the report", test_screenshot);
    return test_run_all();
}
