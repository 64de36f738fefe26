/* spotlab: reading results files and merging them for reports (see report.h).
 *
 * Every input is checked for what the renderers read (docs/reports.md, "What a report reads"),
 * so that a renderer never meets a document it cannot draw: an error here names the file, the
 * line and column, and the field, where a renderer could only have printed nonsense. Fields the
 * renderers do not read are left alone, so results written by a newer spotlab of the same schema
 * still make a report.
 */
#include "report.h"

#include "json-source.h"

#include <string.h>

#define REPORT_SCHEMA_VERSION 1

G_DEFINE_QUARK(spotlab - report - error - quark, report_error)

static void __invalid(const JsonSource *src, GError **error, const char *field, const char *format,
                      ...) G_GNUC_PRINTF(4, 5);

static void
__invalid(const JsonSource *src, GError **error, const char *field, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    json_source_set_error_valist(src, error, REPORT_ERROR, REPORT_ERROR_INVALID, field, format, ap);
    va_end(ap);
}

/* Sets @error for @value (at @field), which is not @what: "expected @what, got ...". */
static gboolean
__wrong(const JsonSource *src, GError **error, const char *field, const json_t *value,
        const char *what)
{
    g_autofree char *got = json_describe(value);
    __invalid(src, error, field, "expected %s, got %s", what, got);
    return FALSE;
}

/* Member @key of @object (at @field) when it has JSON type @type; otherwise NULL with @error
 * set. An absent member is an error only when @required; *@out is NULL then. */
static gboolean
__member(const JsonSource *src, const json_t *object, const char *field, const char *key,
         json_type type, const char *what, gboolean required, json_t **out, GError **error)
{
    json_t *v = json_object_get(object, key);
    g_autofree char *f = json_field_join(field, key);
    *out = NULL;
    if (v == NULL) {
        if (!required)
            return TRUE;
        __invalid(src, error, f, "missing; expected %s", what);
        return FALSE;
    }
    gboolean ok = type == JSON_REAL   ? json_is_number(v)
                  : type == JSON_TRUE ? json_is_boolean(v)
                                      : json_typeof(v) == type;
    if (!ok)
        return __wrong(src, error, f, v, what);
    *out = v;
    return TRUE;
}

/* A member that must be a number or null when present. */
static gboolean
__optional_number(const JsonSource *src, const json_t *object, const char *field, const char *key,
                  GError **error)
{
    json_t *v = json_object_get(object, key);
    if (v == NULL || json_is_number(v) || json_is_null(v))
        return TRUE;
    g_autofree char *f = json_field_join(field, key);
    return __wrong(src, error, f, v, "a number or null");
}

/* "spotlab": {"version": ..., "schema": 1}, which opens results files and merged reports. */
static gboolean
__check_header(const JsonSource *src, const json_t *doc, const char *field, GError **error)
{
    g_autofree char *f = json_field_join(field, "spotlab");
    json_t *header = json_object_get(doc, "spotlab");
    if (header == NULL) {
        __invalid(src, error, f,
                  "missing; this is not a spotlab results file (`spotlab run SCENARIO -o "
                  "RESULTS.json` writes one) nor a merged report (`spotlab report ... -o "
                  "REPORT.json`)");
        return FALSE;
    }
    if (!json_is_object(header))
        return __wrong(src, error, f, header, "an object with the results' \"schema\"");
    json_t *schema = NULL;
    if (!__member(src, header, f, "schema", JSON_INTEGER, "the schema version 1", TRUE, &schema,
                  error))
        return FALSE;
    if (json_integer_value(schema) != REPORT_SCHEMA_VERSION) {
        g_autofree char *sf = json_field_join(f, "schema");
        __invalid(src, error, sf,
                  "expected %d, the results schema this spotlab reads, got %" JSON_INTEGER_FORMAT,
                  REPORT_SCHEMA_VERSION, json_integer_value(schema));
        return FALSE;
    }
    return TRUE;
}

static gboolean
__check_expectation(const JsonSource *src, const json_t *e, const char *field, GError **error)
{
    if (!json_is_object(e))
        return __wrong(src, error, field, e, "an expectation object");
    json_t *v = NULL;
    if (!__member(src, e, field, "text", JSON_STRING, "the expectation as a sentence (a string)",
                  TRUE, &v, error))
        return FALSE;
    if (!__member(src, e, field, "verdict", JSON_STRING, "\"pass\" or \"fail\"", TRUE, &v, error))
        return FALSE;
    if (strcmp(json_string_value(v), "pass") != 0 && strcmp(json_string_value(v), "fail") != 0) {
        g_autofree char *f = json_field_join(field, "verdict");
        return __wrong(src, error, f, v, "\"pass\" or \"fail\"");
    }
    static const char *const strings[] = {"policy", "metric",        "aggregate",
                                          "unit",   "measured_text", "field"};
    for (gsize i = 0; i < G_N_ELEMENTS(strings); i++)
        if (!__member(src, e, field, strings[i], JSON_STRING, "a string", FALSE, &v, error))
            return FALSE;
    v = json_object_get(e, "name");
    if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
        g_autofree char *f = json_field_join(field, "name");
        return __wrong(src, error, f, v, "a string or null");
    }
    static const char *const numbers[] = {"measured", "min", "max", "target", "tolerance"};
    for (gsize i = 0; i < G_N_ELEMENTS(numbers); i++)
        if (!__optional_number(src, e, field, numbers[i], error))
            return FALSE;
    return __member(src, e, field, "tolerance_relative", JSON_TRUE, "true or false", FALSE, &v,
                    error);
}

static gboolean
__check_policy(const JsonSource *src, const json_t *p, const char *field, GError **error)
{
    if (!json_is_object(p))
        return __wrong(src, error, field, p, "a policy object with \"name\" and \"summary\"");
    json_t *v = NULL;
    if (!__member(src, p, field, "name", JSON_STRING, "the policy's name (a string)", TRUE, &v,
                  error))
        return FALSE;
    if (!__member(src, p, field, "summary", JSON_OBJECT, "an object", TRUE, &v, error))
        return FALSE;
    g_autofree char *sf = json_field_join(field, "summary");
    if (!__member(src, v, sf, "runs", JSON_INTEGER, "the number of runs", FALSE, &v, error))
        return FALSE;
    json_t *runs = NULL;
    if (!__member(src, p, field, "runs", JSON_ARRAY, "a list of runs", TRUE, &runs, error))
        return FALSE;
    g_autofree char *rf = json_field_join(field, "runs");
    for (gsize i = 0; i < json_array_size(runs); i++) {
        json_t *r = json_array_get(runs, i);
        if (!json_is_object(r)) {
            g_autofree char *f = g_strdup_printf("%s[%zu]", rf, i);
            return __wrong(src, error, f, r, "an object");
        }
    }
    return TRUE;
}

/* Checks one results document, found at @field of @src ("" for the whole file). */
static gboolean
__check_results(const JsonSource *src, const json_t *doc, const char *field, GError **error)
{
    if (!json_is_object(doc))
        return __wrong(src, error, field, doc,
                       "a spotlab results object (`spotlab run SCENARIO -o RESULTS.json`)");
    if (json_object_get(doc, "report") != NULL) {
        __invalid(src, error, field,
                  "expected a results document, got a merged report; merged reports do not nest");
        return FALSE;
    }
    if (!__check_header(src, doc, field, error))
        return FALSE;
    json_t *v = NULL;
    if (!__member(src, doc, field, "model", JSON_STRING, "\"tick\" or \"continuous\"", TRUE, &v,
                  error))
        return FALSE;
    if (strcmp(json_string_value(v), "tick") != 0 &&
        strcmp(json_string_value(v), "continuous") != 0) {
        g_autofree char *f = json_field_join(field, "model");
        return __wrong(src, error, f, v, "\"tick\" or \"continuous\"");
    }
    json_t *scenario = NULL;
    if (!__member(src, doc, field, "scenario", JSON_OBJECT, "an object", TRUE, &scenario, error))
        return FALSE;
    g_autofree char *sf = json_field_join(field, "scenario");
    if (!__member(src, scenario, sf, "name", JSON_STRING, "the scenario's name (a string)", TRUE,
                  &v, error))
        return FALSE;
    if (!__member(src, doc, field, "job", JSON_OBJECT, "an object", FALSE, &v, error))
        return FALSE;
    if (!__member(src, doc, field, "pools", JSON_ARRAY, "a list of pools", FALSE, &v, error))
        return FALSE;

    json_t *policies = NULL;
    if (!__member(src, doc, field, "policies", JSON_ARRAY, "a list of policies", TRUE, &policies,
                  error))
        return FALSE;
    g_autofree char *pf = json_field_join(field, "policies");
    if (json_array_size(policies) == 0)
        return __wrong(src, error, pf, policies, "a list of policies");
    for (gsize i = 0; i < json_array_size(policies); i++) {
        g_autofree char *f = g_strdup_printf("%s[%zu]", pf, i);
        if (!__check_policy(src, json_array_get(policies, i), f, error))
            return FALSE;
    }

    json_t *expectations = NULL;
    if (!__member(src, doc, field, "expectations", JSON_ARRAY, "a list of expectations", FALSE,
                  &expectations, error))
        return FALSE;
    g_autofree char *ef = json_field_join(field, "expectations");
    for (gsize i = 0; i < json_array_size(expectations); i++) {
        g_autofree char *f = g_strdup_printf("%s[%zu]", ef, i);
        if (!__check_expectation(src, json_array_get(expectations, i), f, error))
            return FALSE;
    }
    return TRUE;
}

/* Adds the results of one input, a results file or a merged report, to @results. */
static gboolean
__load_one(const char *path, json_t *results, GError **error)
{
    g_autoptr(JsonSource) src =
        json_source_load(path, TRUE, "a spotlab results file or a merged report", REPORT_ERROR,
                         REPORT_ERROR_IO, REPORT_ERROR_PARSE, error);
    if (src == NULL)
        return FALSE;
    json_t *root = src->root;
    if (json_is_object(root) && json_object_get(root, "report") != NULL) {
        json_t *flag = json_object_get(root, "report");
        if (!json_is_true(flag))
            return __wrong(src, error, "report", flag, "true (a merged report)");
        if (!__check_header(src, root, "", error))
            return FALSE;
        json_t *list = NULL;
        if (!__member(src, root, "", "results", JSON_ARRAY, "a list of results documents", TRUE,
                      &list, error))
            return FALSE;
        if (json_array_size(list) == 0)
            return __wrong(src, error, "results", list, "a list of results documents");
        for (gsize i = 0; i < json_array_size(list); i++) {
            g_autofree char *f = g_strdup_printf("results[%zu]", i);
            if (!__check_results(src, json_array_get(list, i), f, error))
                return FALSE;
        }
        for (gsize i = 0; i < json_array_size(list); i++)
            json_array_append(results, json_array_get(list, i));
        return TRUE;
    }
    if (!__check_results(src, root, "", error))
        return FALSE;
    json_array_append(results, root);
    return TRUE;
}

json_t *
report_load(const char *const *paths, gsize n_paths, GError **error)
{
    g_return_val_if_fail(paths != NULL && n_paths > 0, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    json_t *results = json_array();
    for (gsize i = 0; i < n_paths; i++) {
        if (!__load_one(paths[i], results, error)) {
            json_decref(results);
            return NULL;
        }
    }
    return json_pack("{s:{s:s, s:i}, s:b, s:o}", "spotlab", "version", SPOTLAB_VERSION, "schema",
                     REPORT_SCHEMA_VERSION, "report", 1, "results", results);
}
