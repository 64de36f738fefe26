/* spotlab: reports from results files.
 *
 * `spotlab report RESULTS.json... -o FILE` reads one or more results files (docs/results.md),
 * merges them into one document and renders it in the format the output file's extension
 * names. Every renderer takes the merged document and nothing else, so a report can be made
 * again later from the merged .json alone.
 *
 * The merged document:
 *
 *   { "spotlab": { "version": ..., "schema": 1 },
 *     "report": true,
 *     "results": [ <results document>, ... ] }     in the order given on the command line
 *
 * A merged document given as input contributes its results in order. docs/reports.md documents
 * the formats.
 */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define REPORT_ERROR (report_error_quark())
GQuark report_error_quark(void);

typedef enum {
    REPORT_ERROR_IO,
    REPORT_ERROR_PARSE,   /* not JSON */
    REPORT_ERROR_INVALID, /* JSON, but not a results file spotlab can read */
} ReportErrorCode;

/**
 * report_load:
 * Reads results files or merged documents and merges them.
 * Returns: (transfer full): the merged document, or NULL with @error naming the file, and the
 * line and field where there is one.
 */
json_t *report_load(const char *const *paths, gsize n_paths, GError **error);

/* The renderers. Each returns a newly allocated text; none fails on a merged document that
 * report_load() returned. */
char *report_html(const json_t *merged);
char *report_markdown(const json_t *merged);
char *report_junit(const json_t *merged);
char *report_csv(const json_t *merged);

G_END_DECLS
