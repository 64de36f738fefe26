/* spotlab: trace file formats, detection, price overlays and the canonical writer. */
#include "import-private.h"
#include "util.h"

#include <math.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *description;
    gboolean json;
} FormatInfo;

static const FormatInfo formats[] = {
    {"spotlab", "spotlab's canonical trace format (JSON, docs/traces.md)", TRUE},
    {"csv", "CSV tick series with header time_s,capacity,price (docs/traces.md)", FALSE},
    {"tick-json", "tick arrays {metadata.gap_seconds, data[], prices[]} (needs a convention)",
     TRUE},
    {"probe", "probe logs clock,ISO-timestamp,value (needs a convention)", FALSE},
    {"events", "event logs time_ms,add|remove,node", FALSE},
    {"gcp-counts", "count logs YYYY-MM-DD, HH:MM:SS, count", FALSE},
    {"step-csv", "step functions t,count (needs a time unit)", FALSE},
    {"aws-price-history", "aws ec2 describe-spot-price-history JSON", TRUE},
    {"price-json", "per-tick price arrays {key: [price, ...]} (needs a gap)", TRUE},
    {"gcp-price", "a GCP billing-catalog price object {price, on_demand_price}", TRUE},
};

static const char *const format_names[] = {
    "spotlab",           "csv",        "tick-json", "probe", "events", "gcp-counts", "step-csv",
    "aws-price-history", "price-json", "gcp-price", NULL,
};

const char *const *
trace_format_names(void)
{
    return format_names;
}

static const FormatInfo *
__format_info(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(formats); i++)
        if (g_strcmp0(formats[i].name, name) == 0)
            return &formats[i];
    return NULL;
}

const char *
trace_format_description(const char *format)
{
    const FormatInfo *info = __format_info(format);
    return info ? info->description : NULL;
}

const char *
trace_convention_to_string(TraceConvention convention)
{
    switch (convention) {
    case TRACE_CONVENTION_AVAILABILITY:
        return "availability";
    case TRACE_CONVENTION_PREEMPTED:
        return "preempted";
    case TRACE_CONVENTION_UNSET:
    default:
        return "unset";
    }
}

gboolean
trace_convention_from_string(const char *s, TraceConvention *convention)
{
    if (g_strcmp0(s, "availability") == 0)
        *convention = TRACE_CONVENTION_AVAILABILITY;
    else if (g_strcmp0(s, "preempted") == 0)
        *convention = TRACE_CONVENTION_PREEMPTED;
    else
        return FALSE;
    return TRUE;
}

gboolean
trace__capacity_from_value(gint64 value, TraceConvention convention, double *capacity,
                           const char **problem)
{
    if (value < 0) {
        *problem = "expected a non-negative count";
        return FALSE;
    }
    if (convention == TRACE_CONVENTION_PREEMPTED) {
        if (value > 1) {
            *problem = "expected 0 or 1 (in the preempted convention 1 means unavailable; counts "
                       "are only meaningful in the availability convention)";
            return FALSE;
        }
        *capacity = (double)(1 - value);
    } else {
        *capacity = (double)value;
    }
    return TRUE;
}

gboolean
trace__require_counts(const char *path, const char *format, const TraceImportOptions *options,
                      GError **error)
{
    if (options->convention == TRACE_CONVENTION_PREEMPTED) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "%s: convention: the %s format records how many instances were available, "
                    "so only the availability convention applies to it, got \"preempted\"",
                    path, format);
        return FALSE;
    }
    return TRUE;
}

void
trace__pool_guess_location(TracePool *pool, const char *zone)
{
    if (zone == NULL)
        return;
    /* Not G_REGEX_OPTIMIZE: JIT-compiling four small patterns matched once per pool gains
     * nothing, and PCRE2's JIT code reads the subject in whole words past its end, which
     * memcheck reports as uninitialised reads (meson test --setup=valgrind). */
    static GRegex *aws_zone, *gcp_zone, *aws_region, *gcp_region;
    if (g_once_init_enter(&aws_zone)) {
        gcp_zone = g_regex_new("^([a-z]+-[a-z]+[0-9]+)-[a-z]$", 0, 0, NULL);
        aws_region = g_regex_new("^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$", 0, 0, NULL);
        gcp_region = g_regex_new("^[a-z]+-[a-z]+[0-9]+$", 0, 0, NULL);
        g_once_init_leave(&aws_zone,
                          g_regex_new("^([a-z]{2}(-gov)?-[a-z]+-[0-9]+)[a-z]$", 0, 0, NULL));
    }
    g_autoptr(GMatchInfo) m = NULL;
    if (g_regex_match(aws_zone, zone, 0, &m)) {
        pool->cloud = TRACE_CLOUD_AWS;
        trace_pool_set_string(&pool->zone, zone);
        g_autofree char *region = g_match_info_fetch(m, 1);
        trace_pool_set_string(&pool->region, region);
    } else if (g_regex_match(gcp_zone, zone, 0, NULL)) {
        g_clear_pointer(&m, g_match_info_free);
        g_regex_match(gcp_zone, zone, 0, &m);
        pool->cloud = TRACE_CLOUD_GCP;
        trace_pool_set_string(&pool->zone, zone);
        g_autofree char *region = g_match_info_fetch(m, 1);
        trace_pool_set_string(&pool->region, region);
    } else if (g_regex_match(aws_region, zone, 0, NULL)) {
        pool->cloud = TRACE_CLOUD_AWS;
        trace_pool_set_string(&pool->region, zone);
    } else if (g_regex_match(gcp_region, zone, 0, NULL)) {
        pool->cloud = TRACE_CLOUD_GCP;
        trace_pool_set_string(&pool->region, zone);
    }
}

TracePool *
trace__pool_for_file(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);
    char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        *dot = '\0';
    gboolean generic = strcmp(base, "full") == 0 || base[strspn(base, "0123456789")] == '\0';
    g_autofree char *name = NULL;
    if (generic) {
        g_autofree char *dir = g_path_get_dirname(path);
        g_autofree char *parent = g_path_get_basename(dir);
        name = strcmp(parent, ".") == 0 ? g_strdup(base) : g_steal_pointer(&parent);
    } else {
        name = g_strdup(base);
    }
    TracePool *pool = trace_pool_new(name);
    pool->source = g_strdup(path);
    char *underscore = strchr(name, '_');
    if (underscore != NULL) {
        g_autofree char *zone = g_strndup(name, underscore - name);
        trace__pool_guess_location(pool, zone);
        if (pool->cloud != TRACE_CLOUD_UNKNOWN)
            trace_pool_set_string(&pool->instance_type, underscore + 1);
    } else {
        trace__pool_guess_location(pool, name);
    }
    return pool;
}

const char *
trace__detect_json(const json_t *root)
{
    if (!json_is_object(root))
        return NULL;
    if (json_is_string(json_object_get(root, "format")))
        return "spotlab";
    if (json_object_get(root, "SpotPriceHistory") != NULL)
        return "aws-price-history";
    if (json_object_get(root, "metadata") != NULL && json_object_get(root, "data") != NULL)
        return "tick-json";
    if (json_object_get(root, "machine_type") != NULL && json_object_get(root, "price") != NULL)
        return "gcp-price";
    const char *key;
    json_t *value;
    gboolean all_arrays = json_object_size(root) > 0;
    json_object_foreach((json_t *)root, key, value)
    {
        if (!json_is_array(value))
            all_arrays = FALSE;
    }
    return all_arrays ? "price-json" : NULL;
}

/* Length of a UTF-8 byte order mark at the start of @text (spreadsheets write one before CSV
 * text), which is no part of the content. */
static gsize
__bom_len(const char *text, gsize len)
{
    return len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static gboolean
__looks_json(const char *text, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        if (g_ascii_isspace(text[i]))
            continue;
        return text[i] == '{' || text[i] == '[';
    }
    return FALSE;
}

const char *
trace_detect_format(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!spotlab_read_file(path, &text, &len, TRACE_ERROR, TRACE_ERROR_IO, error))
        return NULL;
    if (spotlab_is_blank(text, len)) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID, "%s:1:1: the file is empty", path);
        return NULL;
    }
    const char *format = NULL;
    if (__looks_json(text, len)) {
        json_error_t jerr;
        json_t *root = json_loadb(text, len, 0, &jerr);
        if (root == NULL) {
            g_set_error(error, TRACE_ERROR, TRACE_ERROR_PARSE, "%s:%d:%d: %s", path,
                        MAX(jerr.line, 1), MAX(jerr.column, 1), jerr.text);
            return NULL;
        }
        format = trace__detect_json(root);
        json_decref(root);
    } else {
        format = trace__detect_text(text + __bom_len(text, len));
    }
    if (format == NULL) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_PARSE,
                    "%s:1:1: not a trace format spotlab knows; name the format (--format, or "
                    "\"format\" in the scenario) to see what does not fit",
                    path);
    }
    return format;
}

/* Drops every pool but the one named @key. */
static TraceSet *
__select_key(TraceSet *set, const char *path, const char *key, GError **error)
{
    if (key == NULL)
        return set;
    for (guint i = 0; i < trace_set_len(set); i++) {
        if (g_strcmp0(trace_set_pool(set, i)->name, key) == 0) {
            TracePool *keep = g_ptr_array_steal_index(set->pools, i);
            g_ptr_array_set_size(set->pools, 0);
            trace_set_add(set, keep);
            return set;
        }
    }
    g_autoptr(GString) names = g_string_new(NULL);
    for (guint i = 0; i < trace_set_len(set) && i < 20; i++)
        g_string_append_printf(names, "%s%s", i ? ", " : "", trace_set_pool(set, i)->name);
    g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                "%s: key: no pool named \"%s\" in this file (it has: %s)", path, key, names->str);
    trace_set_free(set);
    return NULL;
}

TraceSet *
trace_import(const char *path, const TraceImportOptions *options, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    static const TraceImportOptions defaults = {0};
    if (options == NULL)
        options = &defaults;

    const char *format = options->format;
    if (format == NULL || strcmp(format, "auto") == 0) {
        format = trace_detect_format(path, error);
        if (format == NULL)
            return NULL;
    }
    const FormatInfo *info = __format_info(format);
    if (info == NULL) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "%s: format: expected one of spotlab, csv, tick-json, probe, events, "
                    "gcp-counts, step-csv, aws-price-history, price-json, gcp-price; got \"%s\"",
                    path, format);
        return NULL;
    }

    TraceSet *set = NULL;
    if (info->json) {
        g_autoptr(JsonSource) src = json_source_load(path, FALSE, "a trace", TRACE_ERROR,
                                                     TRACE_ERROR_IO, TRACE_ERROR_PARSE, error);
        if (src == NULL)
            return NULL;
        if (strcmp(format, "spotlab") == 0)
            set = trace__import_spotlab(src, options, error);
        else if (strcmp(format, "tick-json") == 0)
            set = trace__import_tick_json(src, options, error);
        else if (strcmp(format, "price-json") == 0)
            set = trace__import_price_json(src, options, error);
        else if (strcmp(format, "gcp-price") == 0)
            set = trace__import_gcp_price(src, options, error);
        else
            set = trace__import_aws_history(src, options, error);
    } else {
        g_autofree char *text = NULL;
        gsize len = 0;
        if (!spotlab_read_file(path, &text, &len, TRACE_ERROR, TRACE_ERROR_IO, error))
            return NULL;
        if (memchr(text, '\0', len) != NULL) {
            g_set_error(error, TRACE_ERROR, TRACE_ERROR_PARSE,
                        "%s: not a text file (it holds NUL bytes)", path);
            return NULL;
        }
        const char *body = text + __bom_len(text, len);
        if (strcmp(format, "csv") == 0)
            set = trace__import_csv(path, body, options, error);
        else if (strcmp(format, "probe") == 0)
            set = trace__import_probe(path, body, options, error);
        else if (strcmp(format, "events") == 0)
            set = trace__import_events(path, body, options, error);
        else if (strcmp(format, "gcp-counts") == 0)
            set = trace__import_gcp_counts(path, body, options, error);
        else
            set = trace__import_step_csv(path, body, options, error);
    }
    if (set == NULL)
        return NULL;
    if (trace_set_len(set) == 0) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID, "%s: the file holds no pools", path);
        trace_set_free(set);
        return NULL;
    }
    return __select_key(set, path, options->key, error);
}

gboolean
trace_pool_apply_prices(TracePool *pool, const TracePool *prices, GError **error)
{
    g_return_val_if_fail(pool != NULL && prices != NULL, FALSE);
    if (!prices->has_price || prices->price.n == 0) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE, "%s: pool '%s' holds no prices",
                    prices->source ? prices->source : "prices", prices->name);
        return FALSE;
    }
    trace_step_clear(&pool->price);
    const TraceStep *src = &prices->price;
    /* A price series longer than the pool applies only within the pool's span: a change
     * point at or after its end holds for none of it, and would make the pool an invalid
     * trace (the canonical format rejects change points after the span). */
    for (gsize i = 0; i < src->n; i++) {
        if (i > 0 && pool->span > 0 && src->time[i] >= pool->span)
            break;
        trace_step_append(&pool->price, src->time[i], src->value[i]);
    }
    pool->has_price = TRUE;
    if (isnan(pool->on_demand_price))
        pool->on_demand_price = prices->on_demand_price;
    return TRUE;
}

static void
__append_step(GString *out, const char *key, const TraceStep *step)
{
    char t[40], v[40];
    g_string_append_printf(out, ",\n      \"%s\": [", key);
    for (gsize i = 0; i < step->n; i++) {
        /* Microseconds as exact decimal seconds. */
        gint64 us = step->time[i];
        if (us % SPOTLAB_US_PER_S == 0)
            g_snprintf(t, sizeof t, "%" G_GINT64_FORMAT, us / SPOTLAB_US_PER_S);
        else
            g_snprintf(t, sizeof t, "%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT,
                       us / SPOTLAB_US_PER_S, us % SPOTLAB_US_PER_S);
        g_string_append_printf(out, "%s\n        [%s, %s]", i ? "," : "", t,
                               spotlab_format_double(v, sizeof v, step->value[i]));
    }
    g_string_append(out, "\n      ]");
}

/* Appends @value as a JSON string. Names come from file names, which need not be UTF-8 (JSON
 * text must be): invalid bytes become U+FFFD rather than an invalid file. */
static void
__append_quoted(GString *out, const char *value)
{
    g_autofree char *valid = g_utf8_make_valid(value, -1);
    json_t *s = json_string(valid);
    g_autofree char *quoted = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    g_string_append(out, quoted);
}

static void
__append_string(GString *out, const char *key, const char *value)
{
    if (value == NULL)
        return;
    g_string_append_printf(out, ",\n      \"%s\": ", key);
    __append_quoted(out, value);
}

static void
__append_seconds(GString *out, const char *key, gint64 us)
{
    char buf[40];
    g_string_append_printf(out, ",\n      \"%s\": %s", key,
                           spotlab_format_double(buf, sizeof buf, (double)us / 1e6));
}

char *
trace_set_to_json(const TraceSet *set)
{
    GString *out = g_string_new("{\n  \"format\": \"spotlab-trace\",\n  \"version\": 1,\n"
                                "  \"pools\": [");
    for (guint i = 0; i < trace_set_len(set); i++) {
        const TracePool *p = trace_set_pool(set, i);
        char buf[40];
        g_string_append_printf(out, "%s\n    {\n      \"name\": ", i ? "," : "");
        __append_quoted(out, p->name);
        g_string_append_printf(out, ",\n      \"cloud\": \"%s\"", trace_cloud_to_string(p->cloud));
        __append_string(out, "region", p->region);
        __append_string(out, "zone", p->zone);
        __append_string(out, "instance_type", p->instance_type);
        __append_string(out, "start_time", p->start_time);
        __append_seconds(out, "span_s", p->span);
        if (p->gap > 0)
            __append_seconds(out, "gap_s", p->gap);
        if (p->requested > 0)
            g_string_append_printf(out, ",\n      \"requested\": %u", p->requested);
        if (!isnan(p->on_demand_price))
            g_string_append_printf(out, ",\n      \"on_demand_price\": %s",
                                   spotlab_format_double(buf, sizeof buf, p->on_demand_price));
        if (p->has_capacity)
            __append_step(out, "capacity", &p->capacity);
        if (p->has_price)
            __append_step(out, "price", &p->price);
        g_string_append(out, "\n    }");
    }
    g_string_append(out, "\n  ]\n}\n");
    return g_string_free(out, FALSE);
}

gboolean
trace_set_write(const TraceSet *set, const char *path, GError **error)
{
    g_autofree char *text = trace_set_to_json(set);
    return spotlab_file_replace(path, text, strlen(text), error);
}
