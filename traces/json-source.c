/* spotlab: JSON documents that remember where their values are (see json-source.h). */
#include "json-source.h"

#include "util.h"

#include <string.h>

JsonSource *
json_source_load(const char *path, gboolean reject_duplicates, const char *expected, GQuark domain,
                 int code_io, int code_parse, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!spotlab_read_file(path, &text, &len, domain, code_io, error))
        return NULL;
    if (spotlab_is_blank(text, len)) {
        g_set_error(error, domain, code_parse, "%s:1:1: the file is empty; expected %s", path,
                    expected);
        return NULL;
    }
    json_error_t jerr;
    size_t flags = JSON_DECODE_ANY | (reject_duplicates ? JSON_REJECT_DUPLICATES : 0);
    json_t *root = json_loadb(text, len, flags, &jerr);
    if (root == NULL) {
        /* jansson reports the position just after the offending token; column 0 means the
         * error is about the whole input (empty file, for example). */
        g_set_error(error, domain, code_parse, "%s:%d:%d: %s", path, MAX(jerr.line, 1),
                    MAX(jerr.column, 1), jerr.text);
        return NULL;
    }
    JsonSource *src = g_new0(JsonSource, 1);
    src->path = g_strdup(path);
    src->text = g_steal_pointer(&text);
    src->len = len;
    src->root = root;
    return src;
}

void
json_source_free(JsonSource *src)
{
    if (src == NULL)
        return;
    g_free(src->path);
    g_free(src->text);
    json_decref(src->root);
    g_free(src);
}

/* A field path split into steps: a key (index < 0) or an array index. */
typedef struct {
    char *key;
    gint64 index;
} PathStep;

static void
__path_step_clear(gpointer p)
{
    g_free(((PathStep *)p)->key);
}

static GArray *
__parse_field(const char *field)
{
    GArray *steps = g_array_new(FALSE, TRUE, sizeof(PathStep));
    g_array_set_clear_func(steps, __path_step_clear);
    const char *p = field;
    while (*p) {
        PathStep step = {NULL, -1};
        if (p[0] == '[' && p[1] == '"') {
            /* A key that holds dots or brackets, written ["p3.2xlarge"]. */
            const char *start = p + 2;
            const char *end = strstr(start, "\"]");
            if (end == NULL) {
                g_array_unref(steps);
                return NULL;
            }
            step.key = g_strndup(start, end - start);
            p = end + 2;
        } else if (*p == '[') {
            char *end = NULL;
            step.index = g_ascii_strtoll(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || step.index < 0) {
                g_array_unref(steps);
                return NULL;
            }
            p = end + 1;
        } else {
            if (*p == '.')
                p++;
            const char *start = p;
            while (*p && *p != '.' && *p != '[')
                p++;
            if (p == start) {
                g_array_unref(steps);
                return NULL;
            }
            step.key = g_strndup(start, p - start);
        }
        g_array_append_val(steps, step);
    }
    return steps;
}

/* A cursor over the JSON text. Only what locating needs: skipping values and reading keys. */
typedef struct {
    const char *s;
    gsize len;
    gsize pos;
} Cursor;

static void
__skip_ws(Cursor *c)
{
    while (c->pos < c->len && strchr(" \t\r\n", c->s[c->pos]) != NULL && c->s[c->pos] != '\0')
        c->pos++;
}

/* Reads a string token at the cursor into @out (decoded enough to compare keys: escapes of
 * quotes, backslashes and control characters; \u escapes are kept as written, which only
 * matters for keys no scenario uses). */
static gboolean
__read_string(Cursor *c, GString *out)
{
    if (c->pos >= c->len || c->s[c->pos] != '"')
        return FALSE;
    c->pos++;
    while (c->pos < c->len) {
        char ch = c->s[c->pos++];
        if (ch == '"')
            return TRUE;
        if (ch == '\\' && c->pos < c->len) {
            char e = c->s[c->pos++];
            switch (e) {
            case 'n':
                ch = '\n';
                break;
            case 't':
                ch = '\t';
                break;
            case 'r':
                ch = '\r';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case 'u':
                if (out)
                    g_string_append(out, "\\u");
                continue;
            default:
                ch = e;
            }
        }
        if (out)
            g_string_append_c(out, ch);
    }
    return FALSE;
}

static gboolean __skip_value(Cursor *c, int depth);

static gboolean
__skip_container(Cursor *c, char close, int depth)
{
    c->pos++; /* the opening bracket */
    __skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == close) {
        c->pos++;
        return TRUE;
    }
    for (;;) {
        if (close == '}') {
            __skip_ws(c);
            if (!__read_string(c, NULL))
                return FALSE;
            __skip_ws(c);
            if (c->pos >= c->len || c->s[c->pos] != ':')
                return FALSE;
            c->pos++;
        }
        if (!__skip_value(c, depth + 1))
            return FALSE;
        __skip_ws(c);
        if (c->pos >= c->len)
            return FALSE;
        if (c->s[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if (c->s[c->pos] == close) {
            c->pos++;
            return TRUE;
        }
        return FALSE;
    }
}

static gboolean
__skip_value(Cursor *c, int depth)
{
    if (depth > 512)
        return FALSE;
    __skip_ws(c);
    if (c->pos >= c->len)
        return FALSE;
    char ch = c->s[c->pos];
    if (ch == '{')
        return __skip_container(c, '}', depth);
    if (ch == '[')
        return __skip_container(c, ']', depth);
    if (ch == '"')
        return __read_string(c, NULL);
    /* A number or a literal: everything up to the next delimiter. */
    while (c->pos < c->len && strchr(",]} \t\r\n", c->s[c->pos]) == NULL)
        c->pos++;
    return TRUE;
}

/* Moves the cursor (at an object or array) onto the value for @step; FALSE when absent. When
 * @key_at is given, it receives the position of the key (for objects). */
static gboolean
__enter(Cursor *c, const PathStep *step, gsize *key_at)
{
    __skip_ws(c);
    if (c->pos >= c->len)
        return FALSE;
    gsize save = c->pos;
    if (step->key != NULL) {
        if (c->s[c->pos] != '{')
            return FALSE;
        c->pos++;
        g_autoptr(GString) key = g_string_new(NULL);
        for (;;) {
            __skip_ws(c);
            g_string_truncate(key, 0);
            gsize key_pos = c->pos;
            if (!__read_string(c, key))
                break;
            __skip_ws(c);
            if (c->pos >= c->len || c->s[c->pos] != ':')
                break;
            c->pos++;
            __skip_ws(c);
            if (strcmp(key->str, step->key) == 0) {
                if (key_at != NULL)
                    *key_at = key_pos;
                return TRUE;
            }
            if (!__skip_value(c, 0))
                break;
            __skip_ws(c);
            if (c->pos >= c->len || c->s[c->pos] != ',')
                break;
            c->pos++;
        }
    } else {
        if (c->s[c->pos] != '[')
            return FALSE;
        c->pos++;
        for (gint64 i = 0;; i++) {
            __skip_ws(c);
            if (c->pos >= c->len || c->s[c->pos] == ']')
                break;
            if (i == step->index)
                return TRUE;
            if (!__skip_value(c, 0))
                break;
            __skip_ws(c);
            if (c->pos >= c->len || c->s[c->pos] != ',')
                break;
            c->pos++;
        }
    }
    c->pos = save;
    return FALSE;
}

static gboolean
__locate(const JsonSource *src, const char *field, gboolean at_key, int *line, int *column)
{
    g_return_val_if_fail(src != NULL, FALSE);
    *line = 1;
    *column = 1;
    Cursor c = {src->text, src->len, 0};
    __skip_ws(&c);
    if (field != NULL && *field != '\0') {
        g_autoptr(GArray) steps = __parse_field(field);
        if (steps == NULL)
            return FALSE;
        for (guint i = 0; i < steps->len; i++) {
            gsize key_at = G_MAXSIZE;
            gboolean last = i + 1 == steps->len;
            if (!__enter(&c, &g_array_index(steps, PathStep, i), last && at_key ? &key_at : NULL))
                break;
            if (key_at != G_MAXSIZE)
                c.pos = key_at;
        }
    }
    for (gsize i = 0; i < c.pos; i++) {
        if (src->text[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)src->text[i] & 0xC0) != 0x80) {
            (*column)++; /* count characters, not UTF-8 continuation bytes */
        }
    }
    return TRUE;
}

gboolean
json_source_locate(const JsonSource *src, const char *field, int *line, int *column)
{
    return __locate(src, field, FALSE, line, column);
}

gboolean
json_source_locate_key(const JsonSource *src, const char *field, int *line, int *column)
{
    return __locate(src, field, TRUE, line, column);
}

static void __set_error(const JsonSource *src, GError **error, GQuark domain, int code,
                        const char *field, gboolean at_key, const char *format, va_list ap)
    G_GNUC_PRINTF(7, 0);

static void
__set_error(const JsonSource *src, GError **error, GQuark domain, int code, const char *field,
            gboolean at_key, const char *format, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    int line = 1, column = 1;
    __locate(src, field, at_key, &line, &column);
    if (field != NULL && *field != '\0')
        g_set_error(error, domain, code, "%s:%d:%d: %s: %s", src->path, line, column, field, msg);
    else
        g_set_error(error, domain, code, "%s:%d:%d: %s", src->path, line, column, msg);
}

void
json_source_set_key_error(const JsonSource *src, GError **error, GQuark domain, int code,
                          const char *field, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    __set_error(src, error, domain, code, field, TRUE, format, ap);
    va_end(ap);
}

void
json_source_set_error(const JsonSource *src, GError **error, GQuark domain, int code,
                      const char *field, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    json_source_set_error_valist(src, error, domain, code, field, format, ap);
    va_end(ap);
}

void
json_source_set_error_valist(const JsonSource *src, GError **error, GQuark domain, int code,
                             const char *field, const char *format, va_list ap)
{
    __set_error(src, error, domain, code, field, FALSE, format, ap);
}

char *
json_field_join(const char *field, const char *key)
{
    gboolean plain = *key != '\0' && strpbrk(key, ".[]\"") == NULL;
    if (!plain)
        return g_strdup_printf("%s[\"%s\"]", field ? field : "", key);
    return field && *field ? g_strdup_printf("%s.%s", field, key) : g_strdup(key);
}

gboolean
json_source_check_keys(const JsonSource *src, json_t *object, const char *field,
                       const char *const *allowed, GQuark domain, int code, GError **error)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        gboolean ok = FALSE;
        for (gsize i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok) {
            g_autofree char *f = json_field_join(field, key);
            g_autofree char *list = g_strjoinv(", ", (char **)allowed);
            json_source_set_key_error(src, error, domain, code, f,
                                      "unknown key; expected one of: %s", list);
            return FALSE;
        }
    }
    return TRUE;
}

const char *
json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
    default:
        return "null";
    }
}

char *
json_describe(const json_t *value)
{
    if (value == NULL)
        return g_strdup("nothing");
    switch (json_typeof(value)) {
    case JSON_STRING: {
        const char *s = json_string_value(value);
        if (g_utf8_strlen(s, -1) > 40) {
            g_autofree char *head = g_utf8_substring(s, 0, 37);
            return g_strdup_printf("\"%s...\"", head);
        }
        return g_strdup_printf("\"%s\"", s);
    }
    case JSON_INTEGER:
        return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
    case JSON_REAL: {
        char buf[32];
        return g_strdup(spotlab_format_double(buf, sizeof buf, json_real_value(value)));
    }
    case JSON_TRUE:
        return g_strdup("true");
    case JSON_FALSE:
        return g_strdup("false");
    case JSON_NULL:
        return g_strdup("null");
    case JSON_OBJECT:
        return g_strdup("an object");
    case JSON_ARRAY:
    default:
        return g_strdup(json_array_size(value) == 0 ? "an empty list" : "an array");
    }
}
