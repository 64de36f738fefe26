/* spotlab: the in-memory trace model (see trace.h). */
#include "trace.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK(spotlab - trace - error - quark, trace_error)

const char *
trace_cloud_to_string(TraceCloud cloud)
{
    switch (cloud) {
    case TRACE_CLOUD_AWS:
        return "aws";
    case TRACE_CLOUD_GCP:
        return "gcp";
    case TRACE_CLOUD_AZURE:
        return "azure";
    case TRACE_CLOUD_UNKNOWN:
    default:
        return "unknown";
    }
}

gboolean
trace_cloud_from_string(const char *s, TraceCloud *cloud)
{
    if (g_strcmp0(s, "aws") == 0)
        *cloud = TRACE_CLOUD_AWS;
    else if (g_strcmp0(s, "gcp") == 0 || g_strcmp0(s, "google") == 0)
        *cloud = TRACE_CLOUD_GCP;
    else if (g_strcmp0(s, "azure") == 0)
        *cloud = TRACE_CLOUD_AZURE;
    else if (g_strcmp0(s, "unknown") == 0)
        *cloud = TRACE_CLOUD_UNKNOWN;
    else
        return FALSE;
    return TRUE;
}

gboolean
trace_seconds_to_us(double seconds, gint64 *us)
{
    /* 2^62 microseconds is about 146,000 years: anything beyond is an input error. */
    if (!isfinite(seconds) || seconds < 0 || seconds > 4.6e12)
        return FALSE;
    *us = llround(seconds * 1e6);
    return TRUE;
}

void
trace_step_append(TraceStep *step, gint64 t, double v)
{
    g_return_if_fail(step != NULL);
    if (step->n > 0) {
        g_return_if_fail(t >= step->time[step->n - 1]);
        if (t == step->time[step->n - 1]) {
            step->value[step->n - 1] = v;
            /* The replacement may now equal the value before it: fold the point away. */
            if (step->n > 1 && step->value[step->n - 2] == v)
                step->n--;
            return;
        }
        if (step->value[step->n - 1] == v)
            return;
    }
    if (step->n == step->cap) {
        step->cap = step->cap ? step->cap * 2 : 16;
        step->time = g_renew(gint64, step->time, step->cap);
        step->value = g_renew(double, step->value, step->cap);
    }
    step->time[step->n] = t;
    step->value[step->n] = v;
    step->n++;
}

/* The index of the change point in force at @t: the last i with time[i] <= t (0 before). */
static gsize
__step_index(const TraceStep *step, gint64 t)
{
    gsize lo = 0, hi = step->n;
    while (hi - lo > 1) {
        gsize mid = lo + (hi - lo) / 2;
        if (step->time[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

double
trace_step_at(const TraceStep *step, gint64 t)
{
    if (step->n == 0)
        return NAN;
    return step->value[__step_index(step, t)];
}

void
trace_step_clear(TraceStep *step)
{
    g_clear_pointer(&step->time, g_free);
    g_clear_pointer(&step->value, g_free);
    step->n = step->cap = 0;
}

TracePool *
trace_pool_new(const char *name)
{
    TracePool *pool = g_new0(TracePool, 1);
    pool->name = g_strdup(name);
    pool->on_demand_price = NAN;
    return pool;
}

static void
__step_copy(TraceStep *to, const TraceStep *from)
{
    to->n = to->cap = from->n;
    to->time = g_memdup2(from->time, from->n * sizeof(gint64));
    to->value = g_memdup2(from->value, from->n * sizeof(double));
}

TracePool *
trace_pool_copy(const TracePool *pool)
{
    g_return_val_if_fail(pool != NULL, NULL);
    TracePool *p = g_memdup2(pool, sizeof *pool);
    p->name = g_strdup(pool->name);
    p->region = g_strdup(pool->region);
    p->zone = g_strdup(pool->zone);
    p->instance_type = g_strdup(pool->instance_type);
    p->source = g_strdup(pool->source);
    p->start_time = g_strdup(pool->start_time);
    __step_copy(&p->capacity, &pool->capacity);
    __step_copy(&p->price, &pool->price);
    return p;
}

void
trace_pool_free(TracePool *pool)
{
    if (pool == NULL)
        return;
    g_free(pool->name);
    g_free(pool->region);
    g_free(pool->zone);
    g_free(pool->instance_type);
    g_free(pool->source);
    g_free(pool->start_time);
    trace_step_clear(&pool->capacity);
    trace_step_clear(&pool->price);
    g_free(pool);
}

void
trace_pool_set_string(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

TraceSet *
trace_set_new(void)
{
    TraceSet *set = g_new0(TraceSet, 1);
    set->pools = g_ptr_array_new_with_free_func((GDestroyNotify)trace_pool_free);
    return set;
}

void
trace_set_free(TraceSet *set)
{
    if (set == NULL)
        return;
    g_ptr_array_unref(set->pools);
    g_free(set);
}

void
trace_set_add(TraceSet *set, TracePool *pool)
{
    g_return_if_fail(set != NULL && pool != NULL);
    g_ptr_array_add(set->pools, pool);
}

void
trace_set_take_all(TraceSet *set, TraceSet *other)
{
    g_return_if_fail(set != NULL && other != NULL);
    for (guint i = 0; i < other->pools->len; i++)
        g_ptr_array_add(set->pools, other->pools->pdata[i]);
    g_ptr_array_set_free_func(other->pools, NULL);
    trace_set_free(other);
}

const TracePool *
trace_set_find(const TraceSet *set, const char *name)
{
    for (guint i = 0; i < set->pools->len; i++) {
        const TracePool *pool = set->pools->pdata[i];
        if (g_strcmp0(pool->name, name) == 0)
            return pool;
    }
    return NULL;
}

void
trace_pool_stats(const TracePool *pool, guint threshold, TracePoolStats *stats)
{
    g_return_if_fail(pool != NULL && stats != NULL);
    memset(stats, 0, sizeof *stats);
    stats->span_hours = (double)pool->span / 3.6e9;
    stats->gap_seconds = (double)pool->gap / 1e6;
    stats->threshold = threshold;
    stats->on_demand_price = pool->on_demand_price;
    stats->availability = NAN;
    stats->mtbi_hours = NAN;
    stats->price_min = stats->price_mean = stats->price_max = NAN;
    stats->change_points = pool->capacity.n + pool->price.n;

    if (pool->has_capacity && pool->capacity.n > 0 && pool->span > 0) {
        const TraceStep *c = &pool->capacity;
        gint64 up = 0;
        gboolean was_up = FALSE;
        double cap_max = 0;
        /* A change point after the span lies outside the recording; one at its very end (a
         * log's last event) holds for no time but still happened. */
        for (gsize i = 0; i < c->n && c->time[i] <= pool->span; i++) {
            gint64 end = i + 1 < c->n ? c->time[i + 1] : pool->span;
            if (end > pool->span)
                end = pool->span;
            gboolean is_up = c->value[i] >= threshold;
            if (is_up && end > c->time[i])
                up += end - c->time[i];
            if (was_up && !is_up)
                stats->interruptions++;
            if (i > 0 && c->value[i] < c->value[i - 1])
                stats->instances_lost += c->value[i - 1] - c->value[i];
            was_up = is_up;
            cap_max = MAX(cap_max, c->value[i]);
        }
        stats->capacity_max = (guint)cap_max;
        stats->availability = (double)up / (double)pool->span;
        if (stats->interruptions > 0)
            stats->mtbi_hours = (double)up / 3.6e9 / stats->interruptions;
    }
    if (pool->has_price && pool->price.n > 0 && pool->span == 0) {
        /* A catalogue price: one value with no recording length. */
        stats->price_min = stats->price_mean = stats->price_max = pool->price.value[0];
    } else if (pool->has_price && pool->price.n > 0) {
        const TraceStep *p = &pool->price;
        double weighted = 0;
        stats->price_min = INFINITY;
        stats->price_max = -INFINITY;
        for (gsize i = 0; i < p->n && p->time[i] <= pool->span; i++) {
            gint64 end = i + 1 < p->n ? p->time[i + 1] : pool->span;
            if (end > pool->span)
                end = pool->span;
            weighted += p->value[i] * (double)(end - p->time[i]);
            stats->price_min = MIN(stats->price_min, p->value[i]);
            stats->price_max = MAX(stats->price_max, p->value[i]);
        }
        stats->price_mean = weighted / (double)pool->span;
    }
}

gboolean
trace_pool_sample_ticks(const TracePool *pool, gint64 gap, guint threshold, double fallback_price,
                        guint8 **avail, double **price, gsize *n_ticks, GError **error)
{
    g_return_val_if_fail(pool != NULL && gap > 0, FALSE);
    if (!pool->has_capacity) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "%s: pool '%s' has no capacity data; pair it with an availability trace",
                    pool->source ? pool->source : "trace", pool->name);
        return FALSE;
    }
    if (!pool->has_price && isnan(fallback_price)) {
        g_set_error(error, TRACE_ERROR, TRACE_ERROR_USAGE,
                    "%s: pool '%s' has no spot prices; give a spot price for it",
                    pool->source ? pool->source : "trace", pool->name);
        return FALSE;
    }
    gsize n = (gsize)(pool->span / gap);
    guint8 *a = g_new(guint8, n ? n : 1);
    double *p = g_new(double, n ? n : 1);
    /* Walk both step functions once, in order: O(ticks + change points). */
    gsize ci = 0, pi = 0;
    for (gsize i = 0; i < n; i++) {
        gint64 t = (gint64)i * gap;
        const TraceStep *c = &pool->capacity;
        while (ci + 1 < c->n && c->time[ci + 1] <= t)
            ci++;
        a[i] = c->n > 0 && c->value[ci] >= threshold;
        if (pool->has_price) {
            const TraceStep *ps = &pool->price;
            while (pi + 1 < ps->n && ps->time[pi + 1] <= t)
                pi++;
            p[i] = ps->value[pi];
        } else {
            p[i] = fallback_price;
        }
    }
    *avail = a;
    *price = p;
    *n_ticks = n;
    return TRUE;
}
