/* spotlab: what the trace importers share; seen only by traces/ and its tests. */
#pragma once

#include "import.h"
#include "json-source.h"

G_BEGIN_DECLS

/* Names a pool after its file: the file stem, or the folder's name when the stem says nothing
 * ("full", "0"). Fills zone, region, cloud and an instance label when the name reads like
 * "<zone>_<label>" with a zone of a known cloud. */
TracePool *trace__pool_for_file(const char *path);

/* Sets zone, region and cloud from a zone or region name of AWS or Google Cloud. */
void trace__pool_guess_location(TracePool *pool, const char *zone);

/* Capacity of one raw tick value under @convention; FALSE (with @error naming @field of @src or
 * @path:@line) when the value is impossible under it. */
gboolean trace__capacity_from_value(gint64 value, TraceConvention convention, double *capacity,
                                    const char **problem);

/* Rejects a convention for formats whose values are counts by definition. */
gboolean trace__require_counts(const char *path, const char *format,
                               const TraceImportOptions *options, GError **error);

TraceSet *trace__import_spotlab(JsonSource *src, const TraceImportOptions *options, GError **error);
TraceSet *trace__import_tick_json(JsonSource *src, const TraceImportOptions *options,
                                  GError **error);
TraceSet *trace__import_price_json(JsonSource *src, const TraceImportOptions *options,
                                   GError **error);
TraceSet *trace__import_gcp_price(JsonSource *src, const TraceImportOptions *options,
                                  GError **error);
TraceSet *trace__import_aws_history(JsonSource *src, const TraceImportOptions *options,
                                    GError **error);

TraceSet *trace__import_csv(const char *path, const char *text, const TraceImportOptions *options,
                            GError **error);
TraceSet *trace__import_probe(const char *path, const char *text, const TraceImportOptions *options,
                              GError **error);
TraceSet *trace__import_events(const char *path, const char *text,
                               const TraceImportOptions *options, GError **error);
TraceSet *trace__import_gcp_counts(const char *path, const char *text,
                                   const TraceImportOptions *options, GError **error);
TraceSet *trace__import_step_csv(const char *path, const char *text,
                                 const TraceImportOptions *options, GError **error);

/* Guesses a text format from its first data line; NULL when none fits. */
const char *trace__detect_text(const char *text);
/* Guesses a JSON format from its root; NULL when none fits. */
const char *trace__detect_json(const json_t *root);

G_END_DECLS
