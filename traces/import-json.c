/* spotlab: importers for the JSON trace formats (see import.h). */
#include "import-private.h"
#include "util.h"

#include <math.h>
#include <string.h>

#define ERR(field, ...)                                                                            \
    json_source_set_error(src, error, TRACE_ERROR, TRACE_ERROR_INVALID, field, __VA_ARGS__)

/* Reads an optional number member; FALSE (error set) when present but not a number. */
static gboolean
__opt_number(JsonSource *src, json_t *obj, const char *key, const char *field, double *out,
             gboolean *present, GError **error)
{
    json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (v == NULL)
        return TRUE;
    if (!json_is_number(v)) {
        g_autofree char *got = json_describe(v);
        ERR(field, "expected a number, got %s", got);
        return FALSE;
    }
    *out = json_number_value(v);
    return TRUE;
}

static gboolean
__opt_string(JsonSource *src, json_t *obj, const char *key, const char *field, const char **out,
             GError **error)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return TRUE;
    if (!json_is_string(v)) {
        g_autofree char *got = json_describe(v);
        ERR(field, "expected a string, got %s", got);
        return FALSE;
    }
    *out = json_string_value(v);
    return TRUE;
}

static gboolean
__need_convention(JsonSource *src, const char *format, const TraceImportOptions *options,
                  GError **error)
{
    if (options->convention != TRACE_CONVENTION_UNSET)
        return TRUE;
    g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                "%s: convention: a %s trace needs its value convention stated, \"availability\" "
                "(1 or k = available) or \"preempted\" (1 = unavailable); spotlab never guesses "
                "it (scenario: \"convention\"; command line: --convention)",
                src->path, format);
    return FALSE;
}

/* ---- the canonical format ------------------------------------------------------------- */

static gboolean
__read_step(JsonSource *src, json_t *array, const char *field, gint64 span, gboolean counts,
            TraceStep *step, GError **error)
{
    if (!json_is_array(array)) {
        g_autofree char *got = json_describe(array);
        ERR(field, "expected an array of [time_s, value] pairs, got %s", got);
        return FALSE;
    }
    if (json_array_size(array) == 0) {
        ERR(field, "expected at least one [time_s, value] pair, got an empty array");
        return FALSE;
    }
    gint64 last = -1;
    for (gsize i = 0; i < json_array_size(array); i++) {
        json_t *pair = json_array_get(array, i);
        g_autofree char *f = g_strdup_printf("%s[%zu]", field, i);
        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_number(json_array_get(pair, 0)) || !json_is_number(json_array_get(pair, 1))) {
            g_autofree char *got = json_describe(pair);
            ERR(f, "expected a [time_s, value] pair of numbers, got %s", got);
            return FALSE;
        }
        double ts = json_number_value(json_array_get(pair, 0));
        double v = json_number_value(json_array_get(pair, 1));
        gint64 t;
        if (!trace_seconds_to_us(ts, &t)) {
            ERR(f, "expected a time in seconds >= 0, got %g", ts);
            return FALSE;
        }
        if (i == 0 && t != 0) {
            ERR(f, "expected the first change point at time 0, got %g", ts);
            return FALSE;
        }
        if (t <= last) {
            ERR(f, "expected times to increase, got %g after %g", ts, (double)last / 1e6);
            return FALSE;
        }
        /* A log that ends with an event (an event log's last add or remove, a price
         * history's last record) has a change point at the end of its span, holding for no
         * time; it is part of the recording, so the format keeps it. */
        if (t > span) {
            ERR(f, "expected a time no later than the end of the trace (span_s %g), got %g",
                (double)span / 1e6, ts);
            return FALSE;
        }
        if (!isfinite(v) || v < 0 || (counts && v != floor(v))) {
            ERR(f,
                counts ? "expected a whole number of instances >= 0, got %g"
                       : "expected a price >= 0, got %g",
                v);
            return FALSE;
        }
        last = t;
        trace_step_append(step, t, v);
    }
    return TRUE;
}

TraceSet *
trace__import_spotlab(JsonSource *src, const TraceImportOptions *options, GError **error)
{
    static const char *const top_keys[] = {"format", "version", "pools", NULL};
    static const char *const pool_keys[] = {
        "name",       "cloud",  "region", "zone",      "instance_type",
        "start_time", "span_s", "gap_s",  "requested", "on_demand_price",
        "capacity",   "price",  NULL};
    json_t *root = src->root;
    if (!json_is_object(root)) {
        ERR(NULL, "expected a JSON object with \"format\": \"spotlab-trace\"");
        return NULL;
    }
    if (options->convention == TRACE_CONVENTION_PREEMPTED &&
        !trace__require_counts(src->path, "spotlab", options, error))
        return NULL;
    if (!json_source_check_keys(src, root, "", top_keys, TRACE_ERROR, TRACE_ERROR_INVALID, error))
        return NULL;
    json_t *format = json_object_get(root, "format");
    if (!json_is_string(format) || strcmp(json_string_value(format), "spotlab-trace") != 0) {
        g_autofree char *got = json_describe(format);
        ERR("format", "expected \"spotlab-trace\", got %s", got);
        return NULL;
    }
    json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 1) {
        g_autofree char *got = json_describe(version);
        ERR("version", "expected 1 (the only version this spotlab reads), got %s", got);
        return NULL;
    }
    json_t *pools = json_object_get(root, "pools");
    if (!json_is_array(pools) || json_array_size(pools) == 0) {
        g_autofree char *got = json_describe(pools);
        ERR("pools", "expected a non-empty array of pools, got %s", got);
        return NULL;
    }

    g_autoptr(TraceSet) set = trace_set_new();
    for (gsize i = 0; i < json_array_size(pools); i++) {
        json_t *p = json_array_get(pools, i);
        g_autofree char *prefix = g_strdup_printf("pools[%zu].", i);
        g_autofree char *pfield = g_strdup_printf("pools[%zu]", i);
#define PF(key) g_autofree char *f_##key = g_strconcat(prefix, #key, NULL)
        PF(name);
        PF(cloud);
        PF(region);
        PF(zone);
        PF(instance_type);
        PF(start_time);
        PF(span_s);
        PF(gap_s);
        PF(requested);
        PF(on_demand_price);
        PF(capacity);
        PF(price);
#undef PF
        if (!json_is_object(p)) {
            g_autofree char *got = json_describe(p);
            ERR(pfield, "expected a pool object, got %s", got);
            return NULL;
        }
        if (!json_source_check_keys(src, p, pfield, pool_keys, TRACE_ERROR, TRACE_ERROR_INVALID,
                                    error))
            return NULL;
        const char *name, *cloud, *region, *zone, *itype, *start;
        if (!__opt_string(src, p, "name", f_name, &name, error) ||
            !__opt_string(src, p, "cloud", f_cloud, &cloud, error) ||
            !__opt_string(src, p, "region", f_region, &region, error) ||
            !__opt_string(src, p, "zone", f_zone, &zone, error) ||
            !__opt_string(src, p, "instance_type", f_instance_type, &itype, error) ||
            !__opt_string(src, p, "start_time", f_start_time, &start, error))
            return NULL;
        if (name == NULL || *name == '\0') {
            ERR(f_name, "expected a non-empty pool name");
            return NULL;
        }
        if (trace_set_find(set, name) != NULL) {
            ERR(f_name, "expected a name no other pool in the file has, got \"%s\" again", name);
            return NULL;
        }
        g_autoptr(TracePool) pool = trace_pool_new(name);
        pool->source = g_strdup(src->path);
        if (cloud != NULL && !trace_cloud_from_string(cloud, &pool->cloud)) {
            ERR(f_cloud, "expected \"aws\", \"gcp\", \"azure\" or \"unknown\", got \"%s\"", cloud);
            return NULL;
        }
        pool->region = g_strdup(region);
        pool->zone = g_strdup(zone);
        pool->instance_type = g_strdup(itype);
        pool->start_time = g_strdup(start);

        double span_s = 0, gap_s = 0, requested = 0, od = NAN;
        gboolean has_span, has_gap, has_requested, has_od;
        if (!__opt_number(src, p, "span_s", f_span_s, &span_s, &has_span, error) ||
            !__opt_number(src, p, "gap_s", f_gap_s, &gap_s, &has_gap, error) ||
            !__opt_number(src, p, "requested", f_requested, &requested, &has_requested, error) ||
            !__opt_number(src, p, "on_demand_price", f_on_demand_price, &od, &has_od, error))
            return NULL;
        json_t *cap = json_object_get(p, "capacity");
        json_t *price = json_object_get(p, "price");
        /* A catalogue price (gcp-price) has no recording length: span 0 with one price. */
        if (!has_span || !trace_seconds_to_us(span_s, &pool->span) ||
            (pool->span == 0 && cap != NULL)) {
            ERR(f_span_s, "expected the recorded length in seconds, > 0 (0 only for a price "
                          "without capacity)");
            return NULL;
        }
        if (has_gap && (!trace_seconds_to_us(gap_s, &pool->gap) || pool->gap <= 0)) {
            ERR(f_gap_s, "expected the tick length in seconds, > 0, got %g", gap_s);
            return NULL;
        }
        if (has_requested) {
            if (requested < 1 || requested != floor(requested) || requested > 1e6) {
                ERR(f_requested, "expected a whole number of instances >= 1, got %g", requested);
                return NULL;
            }
            pool->requested = (guint)requested;
        }
        if (has_od) {
            if (!isfinite(od) || od < 0) {
                ERR(f_on_demand_price, "expected a price in USD per hour >= 0, got %g", od);
                return NULL;
            }
            pool->on_demand_price = od;
        }
        if (cap == NULL && price == NULL) {
            ERR(pfield, "expected \"capacity\", \"price\" or both");
            return NULL;
        }
        if (cap != NULL) {
            if (!__read_step(src, cap, f_capacity, pool->span, TRUE, &pool->capacity, error))
                return NULL;
            pool->has_capacity = TRUE;
        }
        if (price != NULL) {
            if (!__read_step(src, price, f_price, pool->span, FALSE, &pool->price, error))
                return NULL;
            pool->has_price = TRUE;
        }
        trace_set_add(set, g_steal_pointer(&pool));
    }
    return g_steal_pointer(&set);
}

/* ---- tick arrays ------------------------------------------------------------------------ */

/* The spot and on-demand price of a `price_info` object (SkyNomad traces, GCP price cache). */
static gboolean
__read_price_info(JsonSource *src, json_t *info, const char *field, double *spot, double *od,
                  GError **error)
{
    g_autofree char *f_price = g_strdup_printf("%s%sprice", field, *field ? "." : "");
    g_autofree char *f_od = g_strdup_printf("%s%son_demand_price", field, *field ? "." : "");
    gboolean present;
    *spot = NAN;
    *od = NAN;
    if (!__opt_number(src, info, "price", f_price, spot, &present, error) ||
        !__opt_number(src, info, "on_demand_price", f_od, od, &present, error))
        return FALSE;
    if (!isnan(*spot) && (!isfinite(*spot) || *spot < 0)) {
        ERR(f_price, "expected a price in USD per hour >= 0, got %g", *spot);
        return FALSE;
    }
    if (!isnan(*od) && (!isfinite(*od) || *od < 0)) {
        ERR(f_od, "expected a price in USD per hour >= 0, got %g", *od);
        return FALSE;
    }
    const char *unit = json_string_value(json_object_get(info, "price_unit"));
    if (unit != NULL && strcmp(unit, "h") != 0) {
        g_autofree char *f_unit = g_strdup_printf("%s%sprice_unit", field, *field ? "." : "");
        ERR(f_unit, "expected prices per hour (\"h\"), got \"%s\"", unit);
        return FALSE;
    }
    return TRUE;
}

TraceSet *
trace__import_tick_json(JsonSource *src, const TraceImportOptions *options, GError **error)
{
    json_t *root = src->root;
    if (!__need_convention(src, "tick-json", options, error))
        return NULL;
    json_t *meta = json_object_get(root, "metadata");
    if (!json_is_object(meta)) {
        g_autofree char *got = json_describe(meta);
        ERR("metadata", "expected an object with gap_seconds, got %s", got);
        return NULL;
    }
    double gap_s = 0;
    gboolean has_gap;
    if (!__opt_number(src, meta, "gap_seconds", "metadata.gap_seconds", &gap_s, &has_gap, error))
        return NULL;
    gint64 gap;
    if (!has_gap || !trace_seconds_to_us(gap_s, &gap) || gap <= 0) {
        ERR("metadata.gap_seconds", "expected the tick length in seconds, > 0");
        return NULL;
    }
    json_t *data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        g_autofree char *got = json_describe(data);
        ERR("data", "expected an array with one value per tick, got %s", got);
        return NULL;
    }
    gsize n = json_array_size(data);
    if (n == 0) {
        ERR("data", "expected at least one tick, got an empty array");
        return NULL;
    }
    json_t *prices = json_object_get(root, "prices");
    if (prices != NULL && (!json_is_array(prices) || json_array_size(prices) != n)) {
        ERR("prices", "expected an array of one spot price per tick (%zu, as in \"data\"), got %s",
            n, json_is_array(prices) ? "an array of another length" : json_type_name(prices));
        return NULL;
    }

    g_autoptr(TracePool) pool = trace__pool_for_file(src->path);
    const char *zone = json_string_value(json_object_get(meta, "zone"));
    if (zone != NULL)
        trace__pool_guess_location(pool, zone);
    const char *start = json_string_value(json_object_get(meta, "start_time"));
    pool->start_time = g_strdup(start);
    pool->gap = gap;
    pool->span = gap * (gint64)n;
    pool->has_capacity = TRUE;

    for (gsize i = 0; i < n; i++) {
        json_t *v = json_array_get(data, i);
        const char *problem = "expected a whole number";
        double capacity = 0;
        if (!json_is_integer(v) ||
            !trace__capacity_from_value(json_integer_value(v), options->convention, &capacity,
                                        &problem)) {
            g_autofree char *field = g_strdup_printf("data[%zu]", i);
            g_autofree char *got = json_describe(v);
            ERR(field, "%s, got %s", problem, got);
            return NULL;
        }
        trace_step_append(&pool->capacity, gap * (gint64)i, capacity);
    }

    json_t *info = json_object_get(meta, "price_info");
    double info_spot = NAN, info_od = NAN;
    if (json_is_object(info)) {
        if (!__read_price_info(src, info, "metadata.price_info", &info_spot, &info_od, error))
            return NULL;
        const char *mt = json_string_value(json_object_get(info, "machine_type"));
        if (mt != NULL && pool->instance_type == NULL)
            pool->instance_type = g_strdup(mt);
        pool->on_demand_price = info_od;
    }
    if (prices != NULL) {
        for (gsize i = 0; i < n; i++) {
            json_t *v = json_array_get(prices, i);
            if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0) {
                g_autofree char *field = g_strdup_printf("prices[%zu]", i);
                g_autofree char *got = json_describe(v);
                ERR(field, "expected a spot price in USD per hour >= 0, got %s", got);
                return NULL;
            }
            trace_step_append(&pool->price, gap * (gint64)i, json_number_value(v));
        }
        pool->has_price = TRUE;
    } else if (!isnan(info_spot)) {
        trace_step_append(&pool->price, 0, info_spot);
        pool->has_price = TRUE;
    }
    TraceSet *set = trace_set_new();
    trace_set_add(set, g_steal_pointer(&pool));
    return set;
}

/* ---- price files ------------------------------------------------------------------------- */

TraceSet *
trace__import_price_json(JsonSource *src, const TraceImportOptions *options, GError **error)
{
    json_t *root = src->root;
    if (!json_is_object(root) || json_object_size(root) == 0) {
        ERR(NULL, "expected an object of per-tick price arrays, {\"<key>\": [price, ...]}");
        return NULL;
    }
    if (options->gap <= 0) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "%s: gap: a price-json file has no tick length of its own; give it (command "
                    "line: --gap SECONDS; in a scenario it is the availability trace's)",
                    src->path);
        return NULL;
    }
    g_autoptr(TraceSet) set = trace_set_new();
    /* Keys in file order, so pools come out in the order the file lists them. */
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        g_ptr_array_add(keys, (gpointer)key);
    }
    for (guint k = 0; k < keys->len; k++) {
        key = keys->pdata[k];
        value = json_object_get(root, key);
        if (!json_is_array(value) || json_array_size(value) == 0) {
            g_autofree char *got = json_describe(value);
            ERR(key, "expected a non-empty array of prices, got %s", got);
            return NULL;
        }
        g_autoptr(TracePool) pool = trace_pool_new(key);
        pool->source = g_strdup(src->path);
        const char *underscore = strchr(key, '_');
        g_autofree char *zone = underscore ? g_strndup(key, underscore - key) : g_strdup(key);
        trace__pool_guess_location(pool, zone);
        pool->gap = options->gap;
        pool->span = options->gap * (gint64)json_array_size(value);
        pool->has_price = TRUE;
        for (gsize i = 0; i < json_array_size(value); i++) {
            json_t *v = json_array_get(value, i);
            if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0) {
                g_autofree char *field = g_strdup_printf("%s[%zu]", key, i);
                g_autofree char *got = json_describe(v);
                ERR(field, "expected a spot price in USD per hour >= 0, got %s", got);
                return NULL;
            }
            trace_step_append(&pool->price, options->gap * (gint64)i, json_number_value(v));
        }
        trace_set_add(set, g_steal_pointer(&pool));
    }
    return g_steal_pointer(&set);
}

TraceSet *
trace__import_gcp_price(JsonSource *src, const TraceImportOptions *options, GError **error)
{
    (void)options;
    json_t *root = src->root;
    double spot, od;
    if (!__read_price_info(src, root, "", &spot, &od, error))
        return NULL;
    if (isnan(spot)) {
        ERR("price", "expected the spot price in USD per hour");
        return NULL;
    }
    const char *region = json_string_value(json_object_get(root, "region"));
    const char *machine = json_string_value(json_object_get(root, "machine_type"));
    g_autoptr(TracePool) pool = trace__pool_for_file(src->path);
    if (region != NULL)
        trace__pool_guess_location(pool, region);
    trace_pool_set_string(&pool->instance_type, machine);
    pool->on_demand_price = od;
    pool->has_price = TRUE;
    trace_step_append(&pool->price, 0, spot);
    /* A catalogue price has no recording length; it holds for any span it is applied to. */
    pool->span = 0;
    TraceSet *set = trace_set_new();
    trace_set_add(set, g_steal_pointer(&pool));
    return set;
}

typedef struct {
    gint64 unix_us;
    double price;
    gsize index; /* position in the file, for messages and a stable sort */
} PricePoint;

static int
__price_point_cmp(gconstpointer a, gconstpointer b)
{
    const PricePoint *x = a, *y = b;
    if (x->unix_us != y->unix_us)
        return x->unix_us < y->unix_us ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

TraceSet *
trace__import_aws_history(JsonSource *src, const TraceImportOptions *options, GError **error)
{
    (void)options;
    json_t *history = json_object_get(src->root, "SpotPriceHistory");
    if (!json_is_array(history) || json_array_size(history) == 0) {
        ERR("SpotPriceHistory", "expected a non-empty array of price records");
        return NULL;
    }
    /* Pools in order of first appearance; each collects its points, sorted afterwards because
     * the AWS CLI lists the newest record first. */
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) points =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_array_unref);
    g_autoptr(GHashTable) types = g_hash_table_new(g_str_hash, g_str_equal);
    gint64 first = G_MAXINT64, last = G_MININT64;
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();

    for (gsize i = 0; i < json_array_size(history); i++) {
        json_t *rec = json_array_get(history, i);
        g_autofree char *f = g_strdup_printf("SpotPriceHistory[%zu]", i);
        if (!json_is_object(rec)) {
            g_autofree char *got = json_describe(rec);
            ERR(f, "expected a price record object, got %s", got);
            return NULL;
        }
        static const char *const need[] = {"AvailabilityZone", "InstanceType", "SpotPrice",
                                           "Timestamp"};
        for (gsize k = 0; k < G_N_ELEMENTS(need); k++) {
            if (!json_is_string(json_object_get(rec, need[k]))) {
                g_autofree char *field = g_strdup_printf("%s.%s", f, need[k]);
                ERR(field, "expected a string");
                return NULL;
            }
        }
        const char *az = json_string_value(json_object_get(rec, "AvailabilityZone"));
        const char *itype = json_string_value(json_object_get(rec, "InstanceType"));
        const char *product = json_string_value(json_object_get(rec, "ProductDescription"));
        const char *price_s = json_string_value(json_object_get(rec, "SpotPrice"));
        const char *ts = json_string_value(json_object_get(rec, "Timestamp"));
        char *end = NULL;
        double price = g_ascii_strtod(price_s, &end);
        if (end == price_s || *end != '\0' || !isfinite(price) || price < 0) {
            g_autofree char *field = g_strdup_printf("%s.SpotPrice", f);
            ERR(field, "expected a price in USD per hour like \"0.918000\", got \"%s\"", price_s);
            return NULL;
        }
        g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(ts, utc);
        if (dt == NULL) {
            g_autofree char *field = g_strdup_printf("%s.Timestamp", f);
            ERR(field, "expected an ISO 8601 time like \"2023-02-15T00:00:00+00:00\", got \"%s\"",
                ts);
            return NULL;
        }
        g_autofree char *name = product && strcmp(product, "Linux/UNIX") != 0
                                    ? g_strdup_printf("%s/%s/%s", az, itype, product)
                                    : g_strdup_printf("%s/%s", az, itype);
        GArray *arr = g_hash_table_lookup(points, name);
        if (arr == NULL) {
            arr = g_array_new(FALSE, FALSE, sizeof(PricePoint));
            char *owned = g_strdup(name);
            g_ptr_array_add(names, owned);
            g_hash_table_insert(points, owned, arr);
            g_hash_table_insert(types, owned, (gpointer)itype);
        }
        PricePoint pt = {spotlab_datetime_to_unix_us(dt), price, i};
        g_array_append_val(arr, pt);
        first = MIN(first, pt.unix_us);
        last = MAX(last, pt.unix_us);
    }

    g_autoptr(GDateTime) start = spotlab_datetime_from_unix_us(first);
    g_autofree char *start_iso = g_date_time_format_iso8601(start);
    g_autoptr(TraceSet) set = trace_set_new();
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        GArray *arr = g_hash_table_lookup(points, name);
        g_array_sort(arr, __price_point_cmp);
        TracePool *pool = trace_pool_new(name);
        pool->source = g_strdup(src->path);
        g_autofree char *az = g_strndup(name, strchr(name, '/') - name);
        trace__pool_guess_location(pool, az);
        pool->cloud = TRACE_CLOUD_AWS;
        pool->instance_type = g_strdup(g_hash_table_lookup(types, name));
        pool->start_time = g_strdup(start_iso);
        /* The history covers [first record, last record]; a pool whose own first record comes
         * later has no known price before it, so its first price is carried back to 0. */
        pool->span = MAX(last - first, 1);
        pool->has_price = TRUE;
        for (guint k = 0; k < arr->len; k++) {
            const PricePoint *pt = &g_array_index(arr, PricePoint, k);
            trace_step_append(&pool->price, k == 0 ? 0 : pt->unix_us - first, pt->price);
        }
        trace_set_add(set, pool);
    }
    return g_steal_pointer(&set);
}
