/* spotlab: the in-memory trace model.
 *
 * Every trace source, whatever its file format, becomes a TraceSet: a list of pools. A pool is
 * one capacity market (cloud, region, zone, instance type) recorded over [0, span) microseconds
 * from the trace start, with two step functions:
 *   - capacity: how many instances could be had (or were alive) from each change point on;
 *     0/1 traces become capacity 0 or 1, gang traces a count 0..k;
 *   - price: the spot price in USD per hour from each change point on.
 * A pool may lack one of the two (a price history has no capacity; most availability traces
 * have no price), and may carry an on-demand price.
 *
 * Step functions store change points only, so memory grows with the number of changes, not with
 * the length of the recording. Sources that were tick series keep their tick length (gap), which
 * the tick model and `spotlab trace info` report.
 *
 * Ownership: a TraceSet owns its pools; a pool owns its strings and step functions. Getters
 * return borrowed pointers.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRACE_ERROR (trace_error_quark())
GQuark trace_error_quark(void);

typedef enum {
    TRACE_ERROR_IO,      /* the file could not be read or written */
    TRACE_ERROR_PARSE,   /* the file is not in the stated or detected format */
    TRACE_ERROR_INVALID, /* the file parses but its content is unusable (empty, mixed gaps...) */
    TRACE_ERROR_USAGE,   /* the caller's options are missing or contradict the file */
} TraceErrorCode;

typedef enum {
    TRACE_CLOUD_UNKNOWN = 0,
    TRACE_CLOUD_AWS,
    TRACE_CLOUD_GCP,
    TRACE_CLOUD_AZURE,
} TraceCloud;

const char *trace_cloud_to_string(TraceCloud cloud);
/* Accepts "aws", "gcp" (or "google"), "azure"; returns FALSE for anything else. */
gboolean trace_cloud_from_string(const char *s, TraceCloud *cloud);

/* A right-continuous step function: value[i] holds on [time[i], time[i+1]), the last value up
 * to the pool's span. time[0] is 0 whenever n > 0; times strictly increase; consecutive values
 * differ (appending an equal value is a no-op). */
typedef struct {
    gint64 *time; /* microseconds from the trace start */
    double *value;
    gsize n;
    gsize cap;
} TraceStep;

/* Appends a change point. @t must not be earlier than the last point; at the same time the new
 * value replaces the old one (sources that log a change as two rows at one time). */
void trace_step_append(TraceStep *step, gint64 t, double v);
/* The value at @t (clamped into the recorded range); NaN when the function is empty. */
double trace_step_at(const TraceStep *step, gint64 t);
void trace_step_clear(TraceStep *step);

typedef struct {
    char *name; /* unique within its set; zone, file stem or source key */
    TraceCloud cloud;
    char *region;
    char *zone;
    char *instance_type;
    char *source;     /* the file it was read from */
    char *start_time; /* ISO 8601 wall-clock time of t = 0, or NULL when the source has none */
    gint64 span;      /* microseconds recorded */
    gint64 gap;       /* tick length in microseconds when the source was a tick series, else 0 */
    gboolean has_capacity;
    TraceStep capacity;
    gboolean has_price;
    TraceStep price;
    double on_demand_price; /* USD per hour; NaN when unknown */
    guint requested;        /* instances the recording asked for (gang size), 0 when unknown */
} TracePool;

TracePool *trace_pool_new(const char *name);
/* A deep copy of @pool. */
TracePool *trace_pool_copy(const TracePool *pool);
void trace_pool_free(TracePool *pool);
/* Sets a string field, copying @value (NULL clears it). */
void trace_pool_set_string(char **field, const char *value);

typedef struct {
    GPtrArray *pools; /* TracePool*, owned */
} TraceSet;

TraceSet *trace_set_new(void);
void trace_set_free(TraceSet *set);
/* Takes ownership of @pool. */
void trace_set_add(TraceSet *set, TracePool *pool);
/* Moves every pool of @other into @set and frees @other. */
void trace_set_take_all(TraceSet *set, TraceSet *other);
const TracePool *trace_set_find(const TraceSet *set, const char *name);

static inline guint
trace_set_len(const TraceSet *set)
{
    return set->pools->len;
}

static inline TracePool *
trace_set_pool(const TraceSet *set, guint i)
{
    return g_ptr_array_index(set->pools, i);
}

/* Per-pool statistics, as `spotlab trace info` prints them. Fields that the pool cannot give
 * (availability without capacity, prices without a price) are NaN. */
typedef struct {
    double span_hours;
    double gap_seconds;  /* 0 when the source was not a tick series */
    guint threshold;     /* capacity needed to count as available */
    double availability; /* fraction of time with capacity >= threshold */
    guint interruptions; /* transitions from available to unavailable */
    double mtbi_hours;   /* available hours per interruption; NaN without interruptions */
    double price_min, price_mean, price_max; /* mean is time-weighted */
    double on_demand_price;
    guint capacity_max;
    double instances_lost; /* sum of capacity drops: instances reclaimed over the span */
    gsize change_points;
} TracePoolStats;

/* Seconds (finite, >= 0, below about 146,000 years) to microseconds, rounded to the nearest. */
gboolean trace_seconds_to_us(double seconds, gint64 *us);

void trace_pool_stats(const TracePool *pool, guint threshold, TracePoolStats *stats);

/* Samples the pool on a tick grid for the tick model: tick i covers [i*gap, (i+1)*gap) and
 * reads the step functions at i*gap. @avail[i] is 1 when capacity >= @threshold; @price[i] is
 * the spot price, or @fallback_price when the pool has none (NaN fallback without a price is an
 * error). The caller frees both arrays with g_free. */
gboolean trace_pool_sample_ticks(const TracePool *pool, gint64 gap, guint threshold,
                                 double fallback_price, guint8 **avail, double **price,
                                 gsize *n_ticks, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TracePool, trace_pool_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TraceSet, trace_set_free)

G_END_DECLS
