/* spotlab compare: gate a candidate's results against a base's (see compare.h). */
#include "commands.h"
#include "compare.h"

#include <glib/gstdio.h>
#include <stdio.h>

#define USAGE "Usage: spotlab compare BASE.json CANDIDATE.json [-l METRIC=VALUE]... [-o FILE]\n"

/* Checks before reading the inputs that the comparison can be written where -o says: a known
 * format, into a folder that exists, and not over an input. */
static gboolean
__check_output(const char *output, char **inputs)
{
    if (!compare_output_known(output)) {
        fprintf(stderr,
                "spotlab compare: --output: %s: expected a file name ending in .json, .md "
                "(Markdown) or .xml (JUnit)\n",
                output);
        return FALSE;
    }
    g_autofree char *dir = g_path_get_dirname(output);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr,
                "spotlab compare: --output: cannot write %s: the folder %s does not exist\n",
                output, dir);
        return FALSE;
    }
    if (g_file_test(output, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "spotlab compare: --output: %s is a folder; expected a file name\n",
                output);
        return FALSE;
    }
    GStatBuf out_st, in_st;
    for (int i = 0; i < 2; i++) {
        if (g_stat(output, &out_st) == 0 && g_stat(inputs[i], &in_st) == 0 &&
            out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
            fprintf(stderr,
                    "spotlab compare: --output: %s is the %s results file; expected another "
                    "file\n",
                    output, i == 0 ? "base" : "candidate");
            return FALSE;
        }
    }
    return TRUE;
}

/* The summary --help shows: what compare does, and the default limits, from the metric table. */
static char *
__summary(void)
{
    GString *s = g_string_new(
        "Compare the results of a scenario on a candidate change with those on the base.\n\n"
        "For every policy in both files and every metric in both, prints the difference "
        "(candidate - base) with its 95% confidence interval, and fails (exit 1) when a metric "
        "is worse beyond its limit with 95% confidence. Runs of the same scenario, seed and size "
        "are paired one to one; otherwise Welch's interval is used.\n\nDefault limits:");
    gsize n = 0;
    const CompareMetricInfo *metrics = compare_metrics(&n);
    for (gsize i = 0, shown = 0; i < n; i++) {
        if (metrics[i].default_limit == NULL)
            continue;
        CompareLimit limit;
        compare_limit_default(&metrics[i], &limit);
        g_autofree char *text = compare_limit_format(&limit);
        g_string_append_printf(s, "%s %s %s", shown++ ? "," : "", metrics[i].name, text);
    }
    g_string_append(s, ". Other metrics:");
    for (gsize i = 0, shown = 0; i < n; i++)
        if (metrics[i].default_limit == NULL)
            g_string_append_printf(s, "%s %s", shown++ ? "," : "", metrics[i].name);
    g_string_append(s, ", reported without a limit. docs/compare.md explains the statistics.");
    return g_string_free(s, FALSE);
}

int
cmd_compare(int argc, char **argv)
{
    g_auto(GStrv) limit_args = NULL;
    g_auto(GStrv) metric_args = NULL;
    g_autofree char *output = NULL;
    gboolean quiet = FALSE;
    GOptionEntry entries[] = {
        {"limit", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &limit_args,
         "How much worse the candidate may be in METRIC: an amount in its unit (5, $5, 0.5h, "
         "2pts), a percentage of the base value (5%), or none; repeatable, replaces that "
         "metric's default",
         "METRIC=VALUE"},
        {"metric", 'm', 0, G_OPTION_ARG_STRING_ARRAY, &metric_args,
         "Compare only METRIC (repeatable)", "METRIC"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Write the comparison to FILE, atomically: .json, .md (a pull-request comment) or .xml "
         "(JUnit)",
         "FILE"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the line of counts", NULL},
        {NULL},
    };
    g_autofree char *summary = __summary();
    if (!cmd_parse_options("compare", "BASE.json CANDIDATE.json", summary, entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    if (argc != 3) {
        fprintf(stderr,
                "spotlab compare: expected BASE and CANDIDATE results files, got %d\n" USAGE,
                argc - 1);
        return SPOTLAB_EXIT_USAGE;
    }
    g_autoptr(GArray) limits = g_array_new(FALSE, FALSE, sizeof(CompareLimit));
    g_autoptr(GError) error = NULL;
    for (gsize i = 0; limit_args != NULL && limit_args[i] != NULL; i++) {
        CompareLimit limit;
        if (!compare_limit_parse(limit_args[i], &limit, &error)) {
            fprintf(stderr, "spotlab compare: %s\n", error->message);
            return SPOTLAB_EXIT_USAGE;
        }
        g_array_append_val(limits, limit);
    }
    for (gsize i = 0; metric_args != NULL && metric_args[i] != NULL; i++) {
        if (compare_metric_lookup(metric_args[i]) == NULL) {
            g_autofree char *known = compare_metric_names();
            fprintf(stderr, "spotlab compare: --metric %s: unknown metric; known metrics: %s\n",
                    metric_args[i], known);
            return SPOTLAB_EXIT_USAGE;
        }
    }
    if (output != NULL && !__check_output(output, argv + 1))
        return SPOTLAB_EXIT_USAGE;

    g_autoptr(CompareInput) base = compare_input_load(argv[1], &error);
    g_autoptr(CompareInput) candidate = base ? compare_input_load(argv[2], &error) : NULL;
    if (candidate == NULL) {
        fprintf(stderr, "spotlab: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    g_autoptr(Comparison) comparison =
        compare_new(base, candidate, (const CompareLimit *)(const void *)limits->data, limits->len,
                    (const char *const *)metric_args, &error);
    if (comparison == NULL) {
        fprintf(stderr, "spotlab compare: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    for (guint i = 0; i < comparison->warnings->len; i++)
        fprintf(stderr, "spotlab compare: warning: %s\n",
                (const char *)comparison->warnings->pdata[i]);
    if (output != NULL && !compare_write(comparison, output, &error)) {
        fprintf(stderr, "spotlab compare: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    if (quiet) {
        g_autofree char *counts = compare_counts_line(comparison);
        printf("%s\n", counts);
    } else {
        g_autofree char *table = compare_table(comparison);
        fputs(table, stdout);
        if (output != NULL)
            printf("comparison: %s\n", output);
    }
    return compare_failed(comparison) ? SPOTLAB_EXIT_GATE : SPOTLAB_EXIT_OK;
}
