/* spotlab: JSON documents that remember where their values are.
 *
 * jansson parses and reports the line and column of syntax errors, but a parsed json_t carries
 * no position. Users need "scenario.json:14:9: job.deadline: expected ..." for errors found
 * after parsing (wrong types, bad values, unknown keys), so a JsonSource keeps the text beside
 * the parsed tree and finds the position of a field path on demand by walking the text. The
 * walk happens only when an error is reported, so valid input pays nothing for it.
 *
 * Field paths are written as users read them: "job.deadline", "windows.start_hours[3]",
 * "traces[0].file", and ["p3.2xlarge"] for a key that holds dots or brackets. A path that does not
 * exist in the text (a missing key) resolves to the deepest part that does, typically the object
 * that should have held the key.
 */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

typedef struct {
    char *path; /* the file name used in messages */
    char *text;
    gsize len;
    json_t *root; /* owned */
} JsonSource;

/**
 * json_source_load:
 * Reads and parses @path. Duplicate object keys are rejected when @reject_duplicates.
 * @expected describes what the file should hold, for the message about an empty file ("a
 * scenario object").
 * Returns: (transfer full): the document, or NULL with @error set in @domain/@code_parse (syntax
 * errors, with line and column; an empty file) or @domain/@code_io (unreadable file).
 */
JsonSource *json_source_load(const char *path, gboolean reject_duplicates, const char *expected,
                             GQuark domain, int code_io, int code_parse, GError **error);

void json_source_free(JsonSource *src);

/**
 * json_source_locate:
 * Finds the 1-based line and column where the value at @field starts (or the deepest existing
 * part of it). Returns FALSE only when @field is malformed or the text is not JSON.
 */
gboolean json_source_locate(const JsonSource *src, const char *field, int *line, int *column);

/**
 * json_source_locate_key:
 * As json_source_locate(), but for the last step of @field, a key, finds the key itself rather
 * than its value: where "unknown key" errors should point.
 */
gboolean json_source_locate_key(const JsonSource *src, const char *field, int *line, int *column);

/**
 * json_source_set_error:
 * Sets @error to "PATH:LINE:COL: FIELD: MESSAGE", locating @field in the text.
 */
void json_source_set_error(const JsonSource *src, GError **error, GQuark domain, int code,
                           const char *field, const char *format, ...) G_GNUC_PRINTF(6, 7);

/* As json_source_set_error(), pointing at the key of @field rather than its value. */
void json_source_set_key_error(const JsonSource *src, GError **error, GQuark domain, int code,
                               const char *field, const char *format, ...) G_GNUC_PRINTF(6, 7);

/* As json_source_set_error(), with a va_list. */
void json_source_set_error_valist(const JsonSource *src, GError **error, GQuark domain, int code,
                                  const char *field, const char *format, va_list ap)
    G_GNUC_PRINTF(6, 0);

/* The path of member @key of the object at @field ("" for the top level): "field.key", or
 * field["key"] when the key holds dots, brackets or quotes. Free with g_free. */
char *json_field_join(const char *field, const char *key);

/**
 * json_source_check_keys:
 * Checks that every key of @object (found at @field, "" for the root) is one of @allowed
 * (NULL-terminated). Returns: FALSE with @error pointing at the first unknown key, listing the
 * keys that are allowed.
 */
gboolean json_source_check_keys(const JsonSource *src, json_t *object, const char *field,
                                const char *const *allowed, GQuark domain, int code,
                                GError **error);

/* A short human description of a JSON value for "got ..." in messages: the value itself for
 * scalars (strings quoted and shortened, numbers as written: -3.9, not -3.8999999999999999),
 * "an object", "an empty list" or "an array" otherwise. Free with g_free. */
char *json_describe(const json_t *value);

/* The name of a JSON type with its article: "a string", "a number", "an object"... */
const char *json_type_name(const json_t *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(JsonSource, json_source_free)

G_END_DECLS
