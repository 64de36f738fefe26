/* spotlab: reading and writing trace files.
 *
 * Formats (name: what it reads):
 *   spotlab            the canonical format, JSON (docs/traces.md); `spotlab trace convert`
 *                      writes it; every other format converts to it without loss
 *   csv                a documented CSV tick series: header `time_s,capacity,price` (capacity or
 *                      price may be left out, a `pool` column may be added); rows evenly spaced
 *   tick-json          `{"metadata":{"gap_seconds":G,...},"data":[...],"prices":[...]}` tick
 *                      arrays (Can't Be Late, SkyNomad, SpotHedge traces); 0/1 or counts;
 *                      `metadata.price_info` gives the spot and on-demand prices
 *   probe              raw probe logs `clock,ISO-timestamp,value`, one probe per tick
 *   events             event logs `time_ms,add|remove,node` (autoscaling-group membership)
 *   gcp-counts         count logs `YYYY-MM-DD, HH:MM:SS, count` (running preemptible VMs)
 *   step-csv           step functions `t,count` (each change may appear as two rows)
 *   aws-price-history  `aws ec2 describe-spot-price-history` JSON output
 *   price-json         `{"<key>": [price per tick, ...], ...}` per-tick price arrays
 *   gcp-price          a GCP billing-catalog price object (`price`, `on_demand_price`)
 *
 * The value convention of tick arrays and probe logs is never guessed: the caller states
 * whether 1 means "available" (TRACE_CONVENTION_AVAILABILITY; counts 0..k are the instances
 * available) or "preempted" (TRACE_CONVENTION_PREEMPTED; 1 = unavailable). Formats whose values
 * name what they count (capacity columns, event logs, count logs) are in the availability
 * convention by definition and reject "preempted".
 *
 * The format itself may be detected from the content; detection never decides a convention.
 */
#pragma once

#include "trace.h"

G_BEGIN_DECLS

typedef enum {
    TRACE_CONVENTION_UNSET = 0,
    TRACE_CONVENTION_AVAILABILITY,
    TRACE_CONVENTION_PREEMPTED,
} TraceConvention;

const char *trace_convention_to_string(TraceConvention convention);
gboolean trace_convention_from_string(const char *s, TraceConvention *convention);

typedef struct {
    const char *format;         /* a format name, or NULL / "auto" to detect it */
    TraceConvention convention; /* required by tick-json and probe */
    double time_unit;           /* step-csv: seconds per time unit (1 or 3600); 0 = unset */
    gint64 gap;                 /* price-json: tick length in microseconds; 0 = unset */
    const char *key;            /* keep only the pool of this name or key; NULL keeps all */
} TraceImportOptions;

/* The format names above, NULL-terminated, and a one-line description of each. */
const char *const *trace_format_names(void);
const char *trace_format_description(const char *format);

/**
 * trace_detect_format:
 * Returns: the name of the format of @path (a static string), or NULL with @error set.
 */
const char *trace_detect_format(const char *path, GError **error);

/**
 * trace_import:
 * Reads @path into a new TraceSet. Every pool's `source` is @path.
 * Returns: (transfer full): the pools, or NULL with @error in TRACE_ERROR naming the file, line
 * and field of the first problem.
 */
TraceSet *trace_import(const char *path, const TraceImportOptions *options, GError **error);

/**
 * trace_pool_apply_prices:
 * Gives @pool the spot prices of @prices (a pool read from a price file). When @prices is a
 * tick series with no gap of its own (price-json), its ticks align index for index with
 * @pool's; otherwise times align from the trace start. A constant price (gcp-price) applies
 * throughout. The on-demand price is taken too when @pool has none.
 */
gboolean trace_pool_apply_prices(TracePool *pool, const TracePool *prices, GError **error);

/**
 * trace_set_to_json:
 * Returns: (transfer full): @set in the canonical format, one change point per line.
 */
char *trace_set_to_json(const TraceSet *set);

/**
 * trace_set_write:
 * Writes @set to @path in the canonical format, atomically.
 */
gboolean trace_set_write(const TraceSet *set, const char *path, GError **error);

G_END_DECLS
