/* spotlab: importers for the line-oriented trace formats (see import.h). */
#include "import-private.h"
#include "util.h"

#include <math.h>
#include <string.h>

/* One comma-separated line: its fields (trimmed) and the 1-based column each starts at. */
typedef struct {
    int line;
    GPtrArray *fields; /* char*, owned */
    GArray *columns;   /* int */
} CsvLine;

typedef struct {
    const char *path;
    const char *p; /* the next unread character */
    int line;
} LineReader;

static void
__csv_line_clear(CsvLine *l)
{
    g_clear_pointer(&l->fields, g_ptr_array_unref);
    g_clear_pointer(&l->columns, g_array_unref);
}

/* Reads the next line that is neither empty nor a '#' comment. FALSE at the end of the text. */
static gboolean
__next_line(LineReader *r, CsvLine *out)
{
    while (*r->p != '\0') {
        const char *start = r->p;
        const char *end = strchr(start, '\n');
        if (end == NULL)
            end = start + strlen(start);
        r->p = *end ? end + 1 : end;
        r->line++;
        const char *stop = end;
        if (stop > start && stop[-1] == '\r')
            stop--;
        const char *q = start;
        while (q < stop && g_ascii_isspace(*q))
            q++;
        if (q == stop || *q == '#')
            continue;

        __csv_line_clear(out);
        out->line = r->line;
        out->fields = g_ptr_array_new_with_free_func(g_free);
        out->columns = g_array_new(FALSE, FALSE, sizeof(int));
        const char *f = start;
        for (;;) {
            const char *comma = memchr(f, ',', stop - f);
            const char *fend = comma ? comma : stop;
            const char *a = f, *b = fend;
            while (a < b && g_ascii_isspace(*a))
                a++;
            while (b > a && g_ascii_isspace(b[-1]))
                b--;
            int column = (int)(a - start) + 1;
            g_ptr_array_add(out->fields, g_strndup(a, b - a));
            g_array_append_val(out->columns, column);
            if (comma == NULL)
                break;
            f = comma + 1;
        }
        return TRUE;
    }
    return FALSE;
}

static const char *
__field(const CsvLine *l, guint i)
{
    return i < l->fields->len ? l->fields->pdata[i] : "";
}

static int
__column(const CsvLine *l, guint i)
{
    return i < l->columns->len ? g_array_index(l->columns, int, i) : 1;
}

static void G_GNUC_PRINTF(6, 7)
    __line_error(GError **error, const char *path, const CsvLine *l, guint field_index,
                 const char *field, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID, "%s:%d:%d: %s: %s", path, l->line,
                __column(l, field_index), field, msg);
}

static gboolean
__parse_double(const char *s, double *out)
{
    char *end = NULL;
    if (*s == '\0')
        return FALSE;
    *out = g_ascii_strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

static gboolean
__parse_int(const char *s, gint64 *out)
{
    char *end = NULL;
    if (*s == '\0')
        return FALSE;
    *out = g_ascii_strtoll(s, &end, 10);
    return *end == '\0';
}

static gboolean
__expect_fields(GError **error, const char *path, const CsvLine *l, guint n, const char *layout)
{
    if (l->fields->len == n)
        return TRUE;
    /* Point at the first field too many, or at the last one there is. */
    guint at = l->fields->len > n ? n : l->fields->len - 1;
    __line_error(error, path, l, at, "line", "expected %u comma-separated fields (%s), got %u", n,
                 layout, l->fields->len);
    return FALSE;
}

static TraceSet *
__single(TracePool *pool)
{
    TraceSet *set = trace_set_new();
    trace_set_add(set, pool);
    return set;
}

static gboolean
__no_rows(GError **error, const char *path, const char *what)
{
    g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID, "%s: the file holds no %s", path, what);
    return FALSE;
}

/* ---- the documented CSV tick series --------------------------------------------------- */

typedef struct {
    TracePool *pool;
    gint64 first;
    gint64 last;
    gint64 rows;
    int first_line;
    int first_column; /* of time_s in the first row */
    int second_line;
} CsvPool;

TraceSet *
trace__import_csv(const char *path, const char *text, const TraceImportOptions *options,
                  GError **error)
{
    if (!trace__require_counts(path, "csv", options, error))
        return NULL;
    LineReader r = {path, text, 0};
    CsvLine header = {0}, row = {0};
    if (!__next_line(&r, &header)) {
        __no_rows(error, path, "header (time_s,capacity,price)");
        return NULL;
    }
    int c_time = -1, c_cap = -1, c_price = -1, c_pool = -1;
    for (guint i = 0; i < header.fields->len; i++) {
        const char *name = header.fields->pdata[i];
        int *slot = strcmp(name, "time_s") == 0     ? &c_time
                    : strcmp(name, "capacity") == 0 ? &c_cap
                    : strcmp(name, "price") == 0    ? &c_price
                    : strcmp(name, "pool") == 0     ? &c_pool
                                                    : NULL;
        if (slot == NULL || *slot >= 0) {
            __line_error(error, path, &header, i, "header",
                         slot ? "column \"%s\" appears twice"
                              : "unknown column \"%s\"; expected time_s, capacity, price, pool",
                         name);
            __csv_line_clear(&header);
            return NULL;
        }
        *slot = (int)i;
    }
    if (c_time < 0 || (c_cap < 0 && c_price < 0)) {
        __line_error(error, path, &header, 0, "header",
                     "expected a time_s column and a capacity column, a price column or both");
        __csv_line_clear(&header);
        return NULL;
    }
    guint ncols = header.fields->len;
    __csv_line_clear(&header);

    g_autoptr(TraceSet) set = trace_set_new();
    g_autoptr(GHashTable) by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    g_autoptr(TracePool) stem = trace__pool_for_file(path);
    gboolean ok = TRUE;
    while (ok && __next_line(&r, &row)) {
        if (row.fields->len != ncols) {
            __line_error(error, path, &row, 0, "line",
                         "expected %u fields as the header names, got %u", ncols, row.fields->len);
            ok = FALSE;
            break;
        }
        const char *name = c_pool >= 0 ? __field(&row, c_pool) : stem->name;
        if (*name == '\0') {
            __line_error(error, path, &row, c_pool, "pool", "expected a pool name");
            ok = FALSE;
            break;
        }
        CsvPool *cp = g_hash_table_lookup(by_name, name);
        if (cp == NULL) {
            cp = g_new0(CsvPool, 1);
            cp->pool = trace_pool_new(name);
            cp->pool->source = g_strdup(path);
            trace__pool_guess_location(cp->pool, name);
            if (c_pool < 0) {
                cp->pool->cloud = stem->cloud;
                trace_pool_set_string(&cp->pool->zone, stem->zone);
                trace_pool_set_string(&cp->pool->region, stem->region);
                trace_pool_set_string(&cp->pool->instance_type, stem->instance_type);
            }
            cp->pool->has_capacity = c_cap >= 0;
            cp->pool->has_price = c_price >= 0;
            cp->first_line = row.line;
            cp->first_column = __column(&row, c_time);
            trace_set_add(set, cp->pool);
            g_hash_table_insert(by_name, cp->pool->name, cp);
        }
        double ts;
        gint64 t;
        if (!__parse_double(__field(&row, c_time), &ts) || !trace_seconds_to_us(ts, &t)) {
            __line_error(error, path, &row, c_time, "time_s",
                         "expected a time in seconds >= 0, got \"%s\"", __field(&row, c_time));
            ok = FALSE;
            break;
        }
        if (cp->rows == 0) {
            cp->first = t;
        } else if (cp->rows == 1) {
            if (t <= cp->last) {
                __line_error(error, path, &row, c_time, "time_s",
                             "expected times to increase, got %s after %g", __field(&row, c_time),
                             (double)cp->last / 1e6);
                ok = FALSE;
                break;
            }
            cp->pool->gap = t - cp->first;
            cp->second_line = row.line;
        } else if (t - cp->last != cp->pool->gap) {
            __line_error(error, path, &row, c_time, "time_s",
                         "mixed gaps: expected %g (rows %g s apart, as lines %d and %d set), "
                         "got %s",
                         (double)(cp->last + cp->pool->gap) / 1e6, (double)cp->pool->gap / 1e6,
                         cp->first_line, cp->second_line, __field(&row, c_time));
            ok = FALSE;
            break;
        }
        cp->last = t;
        gint64 rel = t - cp->first;
        if (c_cap >= 0) {
            double cap;
            const char *s = __field(&row, c_cap);
            if (!__parse_double(s, &cap) || cap < 0 || cap != floor(cap)) {
                __line_error(error, path, &row, c_cap, "capacity",
                             "expected a whole number of instances >= 0, got \"%s\"", s);
                ok = FALSE;
                break;
            }
            trace_step_append(&cp->pool->capacity, rel, cap);
        }
        if (c_price >= 0) {
            double price;
            const char *s = __field(&row, c_price);
            if (!__parse_double(s, &price) || price < 0) {
                __line_error(error, path, &row, c_price, "price",
                             "expected a spot price in USD per hour >= 0, got \"%s\"", s);
                ok = FALSE;
                break;
            }
            trace_step_append(&cp->pool->price, rel, price);
        }
        cp->rows++;
    }
    __csv_line_clear(&row);
    if (!ok)
        return NULL;
    if (trace_set_len(set) == 0) {
        __no_rows(error, path, "rows after the header");
        return NULL;
    }
    for (guint i = 0; i < trace_set_len(set); i++) {
        TracePool *pool = trace_set_pool(set, i);
        CsvPool *cp = g_hash_table_lookup(by_name, pool->name);
        if (cp->rows < 2) {
            g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID,
                        "%s:%d:%d: time_s: pool '%s' has one row; a tick series needs two to "
                        "know its gap",
                        path, cp->first_line, cp->first_column, pool->name);
            return NULL;
        }
        pool->span = pool->gap * cp->rows;
    }
    return g_steal_pointer(&set);
}

static gint
__gint64_cmp(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

/* ---- probe logs ------------------------------------------------------------------------- */

TraceSet *
trace__import_probe(const char *path, const char *text, const TraceImportOptions *options,
                    GError **error)
{
    if (options->convention == TRACE_CONVENTION_UNSET) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "%s: convention: a probe log needs its value convention stated: "
                    "\"preempted\" when the column records failed requests (1 = unavailable), "
                    "\"availability\" when it records successes; spotlab never guesses it",
                    path);
        return NULL;
    }
    LineReader r = {path, text, 0};
    CsvLine l = {0};
    g_autoptr(GArray) unix_us = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GArray) caps = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GArray) lines = g_array_new(FALSE, FALSE, sizeof(int));
    g_autoptr(GArray) columns = g_array_new(FALSE, FALSE, sizeof(int));
    gboolean ok = TRUE;
    while (ok && __next_line(&r, &l)) {
        gint64 clock, value;
        ok = __expect_fields(error, path, &l, 3, "clock,ISO-timestamp,value");
        if (ok && (!__parse_int(__field(&l, 0), &clock) || clock != (gint64)unix_us->len)) {
            __line_error(error, path, &l, 0, "clock", "expected the probe number %u, got \"%s\"",
                         unix_us->len, __field(&l, 0));
            ok = FALSE;
        }
        g_autoptr(GDateTime) dt = ok ? g_date_time_new_from_iso8601(__field(&l, 1), utc) : NULL;
        if (ok && dt == NULL) {
            __line_error(error, path, &l, 1, "timestamp",
                         "expected an ISO 8601 time like 2022-10-26T22:05:04.000Z, got \"%s\"",
                         __field(&l, 1));
            ok = FALSE;
        }
        double cap = 0;
        const char *problem = "expected 0 or 1";
        if (ok && (!__parse_int(__field(&l, 2), &value) ||
                   !trace__capacity_from_value(value, options->convention, &cap, &problem))) {
            __line_error(error, path, &l, 2, "value", "%s, got \"%s\"", problem, __field(&l, 2));
            ok = FALSE;
        }
        if (ok) {
            gint64 t = spotlab_datetime_to_unix_us(dt);
            g_array_append_val(unix_us, t);
            g_array_append_val(caps, cap);
            g_array_append_val(lines, l.line);
            int column = __column(&l, 1);
            g_array_append_val(columns, column);
        }
    }
    __csv_line_clear(&l);
    if (!ok)
        return NULL;
    if (unix_us->len < 2) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID,
                    "%s: a probe log needs at least two probes to know its gap, got %u", path,
                    unix_us->len);
        return NULL;
    }
    /* Probes are taken on a nominal period with a little jitter (600 to 601 s apart for a
     * 10-minute prober). The gap is the median spacing rounded to the second; a spacing more
     * than 10% away from it is a missed or doubled probe, which a tick series cannot hold. */
    guint n = unix_us->len;
    g_autoptr(GArray) spacing = g_array_sized_new(FALSE, FALSE, sizeof(gint64), n - 1);
    for (guint i = 1; i < n; i++) {
        gint64 d = g_array_index(unix_us, gint64, i) - g_array_index(unix_us, gint64, i - 1);
        g_array_append_val(spacing, d);
    }
    g_autoptr(GArray) sorted = g_array_copy(spacing);
    g_array_sort(sorted, __gint64_cmp);
    gint64 median = g_array_index(sorted, gint64, sorted->len / 2);
    gint64 gap = (median + SPOTLAB_US_PER_S / 2) / SPOTLAB_US_PER_S * SPOTLAB_US_PER_S;
    if (gap <= 0) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID,
                    "%s: timestamp: probes must be taken at least a second apart", path);
        return NULL;
    }
    for (guint i = 0; i < spacing->len; i++) {
        gint64 d = g_array_index(spacing, gint64, i);
        if (d < gap * 9 / 10 || d > gap * 11 / 10) {
            g_set_error(error, TRACE_ERROR, TRACE_ERROR_INVALID,
                        "%s:%d:%d: timestamp: mixed gaps: expected about %g s after the previous "
                        "probe, got %g s",
                        path, g_array_index(lines, int, i + 1), g_array_index(columns, int, i + 1),
                        (double)gap / 1e6, (double)d / 1e6);
            return NULL;
        }
    }
    TracePool *pool = trace__pool_for_file(path);
    pool->gap = gap;
    pool->span = gap * n;
    pool->has_capacity = TRUE;
    g_autoptr(GDateTime) start = spotlab_datetime_from_unix_us(g_array_index(unix_us, gint64, 0));
    pool->start_time = g_date_time_format_iso8601(start);
    for (guint i = 0; i < n; i++)
        trace_step_append(&pool->capacity, gap * (gint64)i, g_array_index(caps, double, i));
    return __single(pool);
}

/* ---- event logs --------------------------------------------------------------------------- */

TraceSet *
trace__import_events(const char *path, const char *text, const TraceImportOptions *options,
                     GError **error)
{
    if (!trace__require_counts(path, "events", options, error))
        return NULL;
    LineReader r = {path, text, 0};
    CsvLine l = {0};
    g_autoptr(GHashTable) alive = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(TracePool) pool = trace__pool_for_file(path);
    gint64 last = 0;
    guint peak = 0;
    gboolean ok = TRUE, any = FALSE;
    trace_step_append(&pool->capacity, 0, 0);
    while (ok && __next_line(&r, &l)) {
        gint64 ms;
        ok = __expect_fields(error, path, &l, 3, "time_ms,add|remove,node");
        if (ok && (!__parse_int(__field(&l, 0), &ms) || ms < 0 || ms > G_MAXINT64 / 1000)) {
            __line_error(error, path, &l, 0, "time_ms",
                         "expected milliseconds since the start >= 0, got \"%s\"", __field(&l, 0));
            ok = FALSE;
        }
        if (ok && ms * 1000 < last) {
            __line_error(error, path, &l, 0, "time_ms",
                         "expected events in time order, got %s after %" G_GINT64_FORMAT,
                         __field(&l, 0), last / 1000);
            ok = FALSE;
        }
        const char *action = __field(&l, 1), *node = __field(&l, 2);
        if (ok && strcmp(action, "add") != 0 && strcmp(action, "remove") != 0) {
            __line_error(error, path, &l, 1, "action", "expected add or remove, got \"%s\"",
                         action);
            ok = FALSE;
        }
        if (ok && *node == '\0') {
            __line_error(error, path, &l, 2, "node", "expected a node name");
            ok = FALSE;
        }
        if (ok && strcmp(action, "add") == 0) {
            if (!g_hash_table_add(alive, g_strdup(node))) {
                __line_error(error, path, &l, 2, "node", "node \"%s\" is added while alive", node);
                ok = FALSE;
            }
        } else if (ok && !g_hash_table_remove(alive, node)) {
            __line_error(error, path, &l, 2, "node", "node \"%s\" is removed but is not alive",
                         node);
            ok = FALSE;
        }
        if (ok) {
            last = ms * 1000;
            guint count = g_hash_table_size(alive);
            peak = MAX(peak, count);
            trace_step_append(&pool->capacity, last, count);
            any = TRUE;
        }
    }
    __csv_line_clear(&l);
    if (!ok)
        return NULL;
    if (!any) {
        __no_rows(error, path, "events");
        return NULL;
    }
    /* The log ends at its last event: nothing is known after it. */
    pool->span = MAX(last, 1);
    pool->has_capacity = TRUE;
    pool->requested = peak;
    return __single(g_steal_pointer(&pool));
}

/* ---- GCP count logs ---------------------------------------------------------------------- */

typedef struct {
    gint64 t;
    double count;
    guint order;
} CountRow;

static gint
__count_row_cmp(gconstpointer a, gconstpointer b)
{
    const CountRow *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

TraceSet *
trace__import_gcp_counts(const char *path, const char *text, const TraceImportOptions *options,
                         GError **error)
{
    if (!trace__require_counts(path, "gcp-counts", options, error))
        return NULL;
    LineReader r = {path, text, 0};
    CsvLine l = {0};
    g_autoptr(TracePool) pool = trace__pool_for_file(path);
    pool->cloud = TRACE_CLOUD_GCP;
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(CountRow));
    gboolean ok = TRUE;
    while (ok && __next_line(&r, &l)) {
        ok = __expect_fields(error, path, &l, 3, "YYYY-MM-DD, HH:MM:SS, count");
        g_autoptr(GDateTime) dt = NULL;
        if (ok) {
            g_autofree char *iso = g_strdup_printf("%sT%sZ", __field(&l, 0), __field(&l, 1));
            dt = g_date_time_new_from_iso8601(iso, utc);
            if (dt == NULL) {
                __line_error(error, path, &l, 0, "time",
                             "expected a date and time like 2021-12-11, 11:11:30, got \"%s, %s\"",
                             __field(&l, 0), __field(&l, 1));
                ok = FALSE;
            }
        }
        gint64 count = 0;
        if (ok && (!__parse_int(__field(&l, 2), &count) || count < 0 || count > G_MAXINT32)) {
            __line_error(error, path, &l, 2, "count",
                         "expected a whole number of running instances >= 0, got \"%s\"",
                         __field(&l, 2));
            ok = FALSE;
        }
        if (ok) {
            CountRow row = {spotlab_datetime_to_unix_us(dt), (double)count, rows->len};
            g_array_append_val(rows, row);
        }
    }
    __csv_line_clear(&l);
    if (!ok)
        return NULL;
    if (rows->len == 0) {
        __no_rows(error, path, "rows");
        return NULL;
    }
    /* Recorded logs interleave overlapping samples (a row may be older than the one above
     * it). Rows are put in time order; at equal times the row further down the file, the
     * later observation, wins. */
    g_array_sort(rows, __count_row_cmp);
    const CountRow *first = &g_array_index(rows, CountRow, 0);
    g_autoptr(GDateTime) start = spotlab_datetime_from_unix_us(first->t);
    pool->start_time = g_date_time_format_iso8601(start);
    guint peak = 0;
    for (guint i = 0; i < rows->len; i++) {
        const CountRow *row = &g_array_index(rows, CountRow, i);
        trace_step_append(&pool->capacity, row->t - first->t, row->count);
        peak = MAX(peak, (guint)row->count);
    }
    pool->span = MAX(g_array_index(rows, CountRow, rows->len - 1).t - first->t, 1);
    pool->has_capacity = TRUE;
    pool->requested = peak;
    return __single(g_steal_pointer(&pool));
}

/* ---- step functions t,count ---------------------------------------------------------------- */

TraceSet *
trace__import_step_csv(const char *path, const char *text, const TraceImportOptions *options,
                       GError **error)
{
    if (!trace__require_counts(path, "step-csv", options, error))
        return NULL;
    if (options->time_unit <= 0) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "%s: time_unit: a step-csv file does not say whether its times are seconds "
                    "or hours; state it (scenario: \"time_unit\": \"s\" or \"h\"; command line: "
                    "--time-unit)",
                    path);
        return NULL;
    }
    LineReader r = {path, text, 0};
    CsvLine l = {0};
    g_autoptr(TracePool) pool = trace__pool_for_file(path);
    gint64 last = -1;
    guint rows = 0, peak = 0;
    gboolean ok = TRUE;
    while (ok && __next_line(&r, &l)) {
        double t_unit, count;
        gint64 t = 0;
        ok = __expect_fields(error, path, &l, 2, "t,count");
        if (ok && (!__parse_double(__field(&l, 0), &t_unit) ||
                   !trace_seconds_to_us(t_unit * options->time_unit, &t))) {
            __line_error(error, path, &l, 0, "t", "expected a time >= 0, got \"%s\"",
                         __field(&l, 0));
            ok = FALSE;
        }
        if (ok && rows == 0 && t != 0) {
            __line_error(error, path, &l, 0, "t", "expected the first row at time 0, got \"%s\"",
                         __field(&l, 0));
            ok = FALSE;
        }
        if (ok && t < last) {
            __line_error(error, path, &l, 0, "t", "expected rows in time order, got \"%s\"",
                         __field(&l, 0));
            ok = FALSE;
        }
        if (ok && (!__parse_double(__field(&l, 1), &count) || count < 0 || count != floor(count))) {
            __line_error(error, path, &l, 1, "count",
                         "expected a whole number of instances >= 0, got \"%s\"", __field(&l, 1));
            ok = FALSE;
        }
        if (ok) {
            last = t;
            peak = MAX(peak, (guint)count);
            trace_step_append(&pool->capacity, t, count);
            rows++;
        }
    }
    __csv_line_clear(&l);
    if (!ok)
        return NULL;
    if (rows == 0) {
        __no_rows(error, path, "rows");
        return NULL;
    }
    pool->span = MAX(last, 1);
    pool->has_capacity = TRUE;
    pool->requested = peak;
    return __single(g_steal_pointer(&pool));
}

/* ---- detection ------------------------------------------------------------------------------ */

const char *
trace__detect_text(const char *text)
{
    static GRegex *events, *counts, *probe, *step;
    if (g_once_init_enter(&events)) {
        counts =
            g_regex_new("^\\d{4}-\\d\\d-\\d\\d, *\\d\\d:\\d\\d:\\d\\d, *\\d+\\s*$", 0, 0, NULL);
        probe = g_regex_new("^\\d+,\\d{4}-\\d\\d-\\d\\dT[^,]+,\\s*-?\\d+\\s*$", 0, 0, NULL);
        step = g_regex_new("^[0-9.]+, *[0-9.]+\\s*$", 0, 0, NULL);
        g_once_init_leave(&events, g_regex_new("^\\d+, *(add|remove), *\\S+\\s*$", 0, 0, NULL));
    }
    LineReader r = {"", text, 0};
    CsvLine l = {0};
    if (!__next_line(&r, &l))
        return NULL;
    __csv_line_clear(&l);
    /* Re-read the raw first data line for the patterns. */
    const char *p = text;
    for (int i = 1; i < l.line; i++)
        p = strchr(p, '\n') + 1;
    const char *end = strchr(p, '\n');
    g_autofree char *first = end ? g_strndup(p, end - p) : g_strdup(p);
    g_strchomp(first);
    /* The documented CSV names its columns; time_s may stand anywhere in the header. */
    g_auto(GStrv) columns = g_strsplit(first, ",", -1);
    for (guint i = 0; columns[i] != NULL; i++)
        if (strcmp(g_strstrip(columns[i]), "time_s") == 0)
            return "csv";
    if (g_regex_match(events, first, 0, NULL))
        return "events";
    if (g_regex_match(counts, first, 0, NULL))
        return "gcp-counts";
    if (g_regex_match(probe, first, 0, NULL))
        return "probe";
    if (g_regex_match(step, first, 0, NULL))
        return "step-csv";
    return NULL;
}
