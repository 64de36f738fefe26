/* spotlab: what the scenario readers share (scenario.c, scenario-cloud.c, their tests).
 *
 * Each reader takes the parsing context, the JSON object, the field path of that object (""
 * for the top level) and the key; it fills @out and returns TRUE, or sets the context's error
 * naming the file, line, column and field, with what was expected, and returns FALSE. Absent
 * optional members leave @out untouched.
 */
#pragma once

#include "scenario.h"

#include <jansson.h>

G_BEGIN_DECLS

typedef struct {
    JsonSource *src;
    GError **error;
    /* Continuous-model scenarios: trace files already read, by path and reading options, so
     * that pools taken from one file read it once. */
    GHashTable *traces;
    /* While a variant of a swept strategy is read: fields whose values come from the sweep, as
     * if the strategy held them ("strategies[2].checkpoint.every"), and where the values really
     * are ("strategies[2].sweep[\"checkpoint.interval\"][1]"), so that errors point there. */
    const char *const *moved_from;
    const char *const *moved_to;
    guint n_moved;
} Ctx;

/* Sets the error at @field and returns FALSE, so that checks read `return scenario__fail(...)`. */
gboolean scenario__fail(Ctx *ctx, const char *field, const char *format, ...) G_GNUC_PRINTF(3, 4);
gboolean scenario__check_keys(Ctx *ctx, json_t *obj, const char *field, const char *const *allowed);
gboolean scenario__object(Ctx *ctx, json_t *v, const char *field, const char *what);
/* "field.key", or "key" at the top level; free with g_free. */
char *scenario__join(const char *field, const char *key);

gboolean scenario__duration(Ctx *ctx, json_t *obj, const char *field, const char *key,
                            gboolean required, gboolean positive, double *out);
/* A duration given as the value @v found at @field (an array element, say). */
gboolean scenario__duration_value(Ctx *ctx, json_t *v, const char *field, gboolean positive,
                                  double *out);
gboolean scenario__price(Ctx *ctx, json_t *obj, const char *field, const char *key, double *out);
gboolean scenario__string(Ctx *ctx, json_t *obj, const char *field, const char *key,
                          gboolean required, const char **out);
gboolean scenario__uint(Ctx *ctx, json_t *obj, const char *field, const char *key, guint64 min,
                        guint64 max, guint64 *out);
gboolean scenario__bool(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean *out);
/* A plain number within [min, max]. */
gboolean scenario__number(Ctx *ctx, json_t *obj, const char *field, const char *key, double min,
                          double max, double *out);
/* A fraction: 0.3 or "30%", within [0, 1]. */
gboolean scenario__fraction(Ctx *ctx, json_t *obj, const char *field, const char *key, double *out);
/* An amount of data in GB: "40GB", "500MB", "1.5TB", "8GiB" or a number of GB. */
gboolean scenario__size(Ctx *ctx, json_t *obj, const char *field, const char *key,
                        gboolean required, double *out);
/* A bandwidth in GB/s: "1GB/s", "500MB/s", "10Gbit/s" or a number of GB/s (> 0). */
gboolean scenario__bandwidth(Ctx *ctx, json_t *obj, const char *field, const char *key,
                             double *out);
/* A rate per hour: "4.1%/h", "0.041/h", "1/day" or a number per hour. */
gboolean scenario__rate(Ctx *ctx, json_t *obj, const char *field, const char *key, double *out);
/* A price per GB ("$0.09/GB") or per GB-month ("$0.023/GB-month"), or a number of USD. */
gboolean scenario__gb_price(Ctx *ctx, json_t *obj, const char *field, const char *key,
                            gboolean per_month, double *out);

/* Reads the rest of a continuous-model scenario (name, description and seed are read). */
gboolean scenario__load_cloud(Ctx *ctx, Scenario *sc, json_t *root);

/* Reads the "testbed" section (scenario-testbed.c), once the strategies are known. */
gboolean scenario__load_testbed(Ctx *ctx, Scenario *sc, json_t *root);

/* Reads the "expect" list (expect.c), once the policies are known. */
gboolean scenario__load_expectations(Ctx *ctx, Scenario *sc, json_t *root);

/* Parsers of the units above, for the command line too. */
gboolean scenario_parse_size(const char *text, double *gb);
gboolean scenario_parse_bandwidth(const char *text, double *gb_per_second);
gboolean scenario_parse_rate(const char *text, double *per_hour);

G_END_DECLS
