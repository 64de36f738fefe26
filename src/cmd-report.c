/* spotlab report: render results files as a report (docs/reports.md). */
#include "commands.h"
#include "report.h"
#include "util.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

typedef enum {
    REPORT_FORMAT_HTML,
    REPORT_FORMAT_MARKDOWN,
    REPORT_FORMAT_JUNIT,
    REPORT_FORMAT_CSV,
    REPORT_FORMAT_JSON,
} ReportFormat;

/* The formats by output extension and by --format name. */
static const struct {
    const char *extension;
    const char *name;
    ReportFormat format;
} formats[] = {
    {".html", "html", REPORT_FORMAT_HTML},       {".htm", NULL, REPORT_FORMAT_HTML},
    {".md", "markdown", REPORT_FORMAT_MARKDOWN}, {".xml", "junit", REPORT_FORMAT_JUNIT},
    {".csv", "csv", REPORT_FORMAT_CSV},          {".json", "json", REPORT_FORMAT_JSON},
};

static const char *const usage = "Usage: spotlab report RESULTS.json... -o FILE [--format FORMAT]";

static gboolean
__format_by_extension(const char *output, ReportFormat *format)
{
    g_autofree char *base = g_path_get_basename(output);
    const char *dot = strrchr(base, '.');
    if (dot != NULL) {
        g_autofree char *ext = g_ascii_strdown(dot, -1);
        for (gsize i = 0; i < G_N_ELEMENTS(formats); i++) {
            if (strcmp(ext, formats[i].extension) == 0) {
                *format = formats[i].format;
                return TRUE;
            }
        }
    }
    g_autoptr(GString) list = g_string_new(NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(formats); i++)
        g_string_append_printf(list, "%s%s", i ? ", " : "", formats[i].extension);
    if (dot != NULL)
        fprintf(stderr,
                "spotlab report: --output: %s: unknown extension '%s'; expected one of %s "
                "(or name the format with --format)\n",
                output, dot, list->str);
    else
        fprintf(stderr,
                "spotlab report: --output: %s has no extension to tell the format; expected one "
                "of %s (or name the format with --format)\n",
                output, list->str);
    return FALSE;
}

/* --format takes a format's name or its extension: markdown or md, junit or xml... */
static gboolean
__format_by_name(const char *name, ReportFormat *format)
{
    g_autoptr(GString) list = g_string_new(NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (g_ascii_strcasecmp(name, formats[i].extension + 1) == 0 ||
            (formats[i].name != NULL && g_ascii_strcasecmp(name, formats[i].name) == 0)) {
            *format = formats[i].format;
            return TRUE;
        }
        if (formats[i].name != NULL)
            g_string_append_printf(list, "%s%s", list->len ? ", " : "", formats[i].name);
    }
    fprintf(stderr, "spotlab report: --format: unknown format '%s'; expected one of %s\n", name,
            list->str);
    return FALSE;
}

/* Checks before reading anything that the report can be written where -o says: into a folder
 * that exists, as a file, and not over one of the inputs (which a glob of the results folder picks
 * up on the second run). */
static gboolean
__check_output(const char *output, char **inputs, int n_inputs)
{
    if (*output == '\0') {
        fprintf(stderr, "spotlab report: --output: expected a file name, got an empty one\n");
        return FALSE;
    }
    g_autofree char *dir = g_path_get_dirname(output);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "spotlab report: --output: cannot write %s: the folder %s does not exist\n",
                output, dir);
        return FALSE;
    }
    if (g_file_test(output, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "spotlab report: --output: %s is a folder; expected a file name\n", output);
        return FALSE;
    }
    GStatBuf out_st;
    if (g_stat(output, &out_st) != 0)
        return TRUE;
    for (int i = 0; i < n_inputs; i++) {
        GStatBuf in_st;
        if (g_stat(inputs[i], &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
            in_st.st_ino == out_st.st_ino) {
            fprintf(stderr,
                    "spotlab report: --output: %s is one of the inputs (%s); expected another "
                    "file for the report\n",
                    output, inputs[i]);
            return FALSE;
        }
    }
    return TRUE;
}

static char *
__render(ReportFormat format, const json_t *merged)
{
    switch (format) {
    case REPORT_FORMAT_HTML:
        return report_html(merged);
    case REPORT_FORMAT_MARKDOWN:
        return report_markdown(merged);
    case REPORT_FORMAT_JUNIT:
        return report_junit(merged);
    case REPORT_FORMAT_CSV:
        return report_csv(merged);
    case REPORT_FORMAT_JSON:
    default: {
        /* The merged document as the results file is written: two-space indent, 15 digits. */
        g_autofree char *text = json_dumps(merged, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        return g_strconcat(text, "\n", NULL);
    }
    }
}

int
cmd_report(int argc, char **argv)
{
    g_autofree char *output = NULL;
    g_autofree char *format_name = NULL;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Write the report to FILE (written atomically), in the format its extension names: "
         ".html/.htm, .md, .xml (JUnit), .csv, .json (the merged results); - for standard output",
         "FILE"},
        {"format", 'f', 0, G_OPTION_ARG_STRING, &format_name,
         "The format, whatever the extension: html, markdown (md), junit (xml), csv or json "
         "(default for -o -: markdown)",
         "FORMAT"},
        {NULL},
    };
    if (!cmd_parse_options("report", "RESULTS.json...",
                           "Render one or more results files (spotlab run -o) or merged reports "
                           "as one report.",
                           entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    if (argc < 2) {
        fprintf(stderr, "spotlab report: expected one or more RESULTS.json files, got none\n%s\n",
                usage);
        return SPOTLAB_EXIT_USAGE;
    }
    if (output == NULL) {
        fprintf(stderr, "spotlab report: expected -o FILE (- for standard output)\n%s\n", usage);
        return SPOTLAB_EXIT_USAGE;
    }
    gboolean to_stdout = strcmp(output, "-") == 0;
    if (!to_stdout && !__check_output(output, argv + 1, argc - 1))
        return SPOTLAB_EXIT_USAGE;
    ReportFormat format = REPORT_FORMAT_MARKDOWN;
    if (format_name != NULL) {
        if (!__format_by_name(format_name, &format))
            return SPOTLAB_EXIT_USAGE;
    } else if (!to_stdout && !__format_by_extension(output, &format)) {
        return SPOTLAB_EXIT_USAGE;
    }

    g_autoptr(GError) error = NULL;
    json_t *merged = report_load((const char *const *)(argv + 1), (gsize)(argc - 1), &error);
    if (merged == NULL) {
        fprintf(stderr, "spotlab report: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    g_autofree char *text = __render(format, merged);
    json_decref(merged);
    gsize len = strlen(text);
    if (to_stdout) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "spotlab report: cannot write to standard output\n");
            return SPOTLAB_EXIT_USAGE;
        }
        return SPOTLAB_EXIT_OK;
    }
    if (!spotlab_file_replace(output, text, len, &error)) {
        fprintf(stderr, "spotlab report: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    return SPOTLAB_EXIT_OK;
}
