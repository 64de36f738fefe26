/* spotlab inference: a durable work queue with leases, in one SQLite file.
 *
 * Batch inference needs a queue that survives the workers: a worker on a spot machine can be
 * killed at any instant (kill -9, the machine gone) and its items must go back to the queue
 * without a server that notices. The queue is one SQLite database in WAL mode that every worker
 * opens; each change is one transaction, so a killed worker leaves the file as of its last
 * commit. docs/inference.md gives the schema and the guarantees; in short:
 *
 * - An item is "pending", "leased" (to one worker until a lease deadline) or "done".
 * - A claim (BEGIN IMMEDIATE, so claims are serialised) takes up to N items that are pending or
 *   whose lease has expired, leases them to the worker until now + lease, and bumps each item's
 *   attempt counter. The worker id together with the attempt number is the lease: a later
 *   claim of the same item (after expiry) makes a new lease, and the old one is lost even when
 *   the same worker id claims it again.
 * - A completion records the result and marks the item done in one transaction, and only while
 *   the caller still holds the lease (the item is leased with that worker and attempt; a lease
 *   that expired but that nobody took since is still held). Otherwise it is refused with
 *   INFER_QUEUE_ERROR_LEASE_LOST. The results table has the item id as its primary key, so a
 *   result is recorded at most once whatever happens: processing is at least once, recording
 *   exactly once.
 * - Renewal moves the deadline of held leases (a heartbeat); release gives held items back at
 *   once (a worker that got a termination notice), instead of after the lease expires.
 *
 * Time: every call that needs the time takes @now, microseconds of Unix time
 * (g_get_real_time() in a worker), so tests can run leases on a clock of their own. Leases
 * compare wall clocks of the processes that share the file, which is one machine (SQLite's
 * locking does not work over network file systems).
 *
 * Ownership: an InferQueue owns one SQLite connection and must be used by one thread at a time
 * (open one per thread or process). Claimed items (InferItem) are owned by the array returned.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define INFER_QUEUE_ERROR (infer_queue_error_quark())
GQuark infer_queue_error_quark(void);

typedef enum {
    INFER_QUEUE_ERROR_OPEN,         /* the file cannot be opened or created */
    INFER_QUEUE_ERROR_NOT_QUEUE,    /* not an SQLite database, or not a spotlab queue */
    INFER_QUEUE_ERROR_VERSION,      /* a queue of a schema version this build does not know */
    INFER_QUEUE_ERROR_EXISTS,       /* create: the file already holds a database */
    INFER_QUEUE_ERROR_CORRUPT,      /* SQLite found the file damaged */
    INFER_QUEUE_ERROR_BUSY,         /* another process held the write lock past busy_timeout */
    INFER_QUEUE_ERROR_DUPLICATE,    /* add: an item of that id is already in the queue */
    INFER_QUEUE_ERROR_UNKNOWN_ITEM, /* no item of that id */
    INFER_QUEUE_ERROR_LEASE_LOST,   /* the caller's lease expired and the item went elsewhere */
    INFER_QUEUE_ERROR_FAILED,       /* any other SQLite failure (disk full, I/O error) */
} InferQueueError;

/* Schema version, kept in PRAGMA user_version; PRAGMA application_id holds
 * INFER_QUEUE_APPLICATION_ID ("SPLQ") so that other SQLite files are told apart. */
#define INFER_QUEUE_SCHEMA_VERSION 1
#define INFER_QUEUE_APPLICATION_ID 0x53504c51

/* How long a write waits for another process's write lock before failing with
 * INFER_QUEUE_ERROR_BUSY, unless infer_queue_set_busy_timeout() says otherwise. */
#define INFER_QUEUE_BUSY_TIMEOUT_MS 30000

typedef struct InferQueue InferQueue;

/* One claimed item: the prompt and the lease that holds it. */
typedef struct {
    gint64 id;
    char *payload;         /* the item's text (owned) */
    guint attempt;         /* the lease: this claim's attempt number, 1 for the first claim */
    gint64 lease_deadline; /* Unix time in microseconds when the lease expires */
    gboolean lost;         /* set by renew when the lease was found lost */
} InferItem;

void infer_item_free(InferItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(InferItem, infer_item_free)

/**
 * infer_queue_create:
 * @path: the database file; created, or an empty file reused
 *
 * Creates an empty queue (WAL mode, the schema, user_version and application_id). Fails with
 * INFER_QUEUE_ERROR_EXISTS when @path already holds a database (a queue or not): a queue is
 * never overwritten. Returns: (transfer full) the open queue, or NULL with @error set.
 */
InferQueue *infer_queue_create(const char *path, GError **error);

/**
 * infer_queue_open:
 * @path: an existing queue made by infer_queue_create()
 *
 * Opens a queue. A missing file is INFER_QUEUE_ERROR_OPEN; a file that is not an SQLite
 * database, or one without the queue's application_id, INFER_QUEUE_ERROR_NOT_QUEUE; a schema
 * version other than INFER_QUEUE_SCHEMA_VERSION, INFER_QUEUE_ERROR_VERSION. Messages name
 * @path and what SQLite said. Returns: (transfer full) the queue, or NULL with @error set.
 */
InferQueue *infer_queue_open(const char *path, GError **error);

/* Closes the connection (a WAL checkpoint happens when it is the last one). Accepts NULL. */
void infer_queue_free(InferQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(InferQueue, infer_queue_free)

/* The path the queue was opened with (borrowed). */
const char *infer_queue_path(const InferQueue *queue);

/* How long a write waits for the lock held by another process (default
 * INFER_QUEUE_BUSY_TIMEOUT_MS); 0 fails at once. */
void infer_queue_set_busy_timeout(InferQueue *queue, guint milliseconds);

/**
 * infer_queue_add:
 * @ids: @n item ids (any gint64, each new to the queue)
 * @payloads: @n UTF-8 texts (borrowed)
 *
 * Adds @n pending items in one transaction: all or none. An id already in the queue, or twice
 * in @ids, fails with INFER_QUEUE_ERROR_DUPLICATE naming it. Returns: TRUE on success.
 */
gboolean infer_queue_add(InferQueue *queue, const gint64 *ids, const char *const *payloads, guint n,
                         GError **error);

/**
 * infer_queue_claim:
 * @worker: the worker's id (any non-empty string; unique per process)
 * @max: at most this many items (>= 1)
 * @lease_us: lease duration in microseconds (> 0)
 * @now: the time, Unix microseconds
 *
 * Leases up to @max claimable items to @worker until @now + @lease_us in one BEGIN IMMEDIATE
 * transaction, and bumps their attempt counters. Items whose lease expired come first (oldest
 * deadline first), then pending items in id order. Returns: (transfer full) an array of
 * InferItem (empty when nothing is claimable), or NULL with @error set.
 */
GPtrArray *infer_queue_claim(InferQueue *queue, const char *worker, guint max, gint64 lease_us,
                             gint64 now, GError **error);

/**
 * infer_queue_complete:
 * @item: an item this worker claimed (its id and attempt are the lease)
 * @result: the result text (borrowed)
 *
 * Records @result and marks the item done, in one transaction, if @worker still holds the
 * lease. Otherwise nothing changes and the call fails with INFER_QUEUE_ERROR_LEASE_LOST, whose
 * message says where the item went (leased to another worker, back in the queue, or done);
 * INFER_QUEUE_ERROR_UNKNOWN_ITEM when no such item exists. Returns: TRUE when recorded.
 */
gboolean infer_queue_complete(InferQueue *queue, const char *worker, const InferItem *item,
                              const char *result, gint64 now, GError **error);

/**
 * infer_queue_complete_batch:
 * @items: (element-type InferItem) items this worker claimed
 * @results: one result text per item of @items (borrowed); NULL skips that item
 *
 * As infer_queue_complete() for every item of @items (those not already marked lost), in one
 * transaction: one commit, one fsync, instead of one per item. Items whose lease was lost are
 * not recorded and get lost = TRUE; every other item with a result is recorded. Returns: the
 * number of results recorded, or -1 with @error set when the queue failed (nothing recorded).
 */
gint infer_queue_complete_batch(InferQueue *queue, const char *worker, GPtrArray *items,
                                const char *const *results, gint64 now, GError **error);

/**
 * infer_queue_renew:
 * @items: (element-type InferItem) items this worker claimed
 *
 * Moves the deadline of every lease in @items that @worker still holds to @now + @lease_us (a
 * heartbeat), in one transaction, and updates each item's lease_deadline. Items whose lease
 * was lost get lost = TRUE and must not be completed. Returns: the number of leases renewed,
 * or -1 with @error set.
 */
gint infer_queue_renew(InferQueue *queue, const char *worker, GPtrArray *items, gint64 lease_us,
                       gint64 now, GError **error);

/**
 * infer_queue_release:
 * @items: (element-type InferItem) items this worker claimed and will not complete
 *
 * Gives the leases in @items that @worker still holds back at once (the items become pending
 * again; their attempt counters stay), in one transaction. Lost leases are skipped. Returns:
 * the number of items released, or -1 with @error set.
 */
gint infer_queue_release(InferQueue *queue, const char *worker, GPtrArray *items, GError **error);

/* What the queue holds, read in one snapshot. */
typedef struct {
    guint64 items;        /* all items */
    guint64 pending;      /* never claimed, or released */
    guint64 leased;       /* leased and the lease still runs */
    guint64 expired;      /* leased but the lease expired: claimable again */
    guint64 done;         /* completed */
    guint64 results;      /* rows in the results table (== done) */
    guint64 claims;       /* attempts, summed over all items */
    gint64 next_deadline; /* the earliest running lease's deadline, 0 when none runs */
    GArray *attempts;     /* guint64: attempts->data[k] items were claimed k times */
} InferQueueCounts;

void infer_queue_counts_clear(InferQueueCounts *counts);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(InferQueueCounts, infer_queue_counts_clear)

/* Fills @counts (cleared first by the caller or zero-initialised) as of @now. */
gboolean infer_queue_counts(InferQueue *queue, gint64 now, InferQueueCounts *counts,
                            GError **error);

/* One recorded result, as infer_queue_foreach_result() passes it (all fields borrowed). */
typedef struct {
    gint64 id;
    const char *result;
    const char *worker;  /* who recorded it */
    guint attempt;       /* under which lease */
    gint64 completed_at; /* Unix microseconds */
} InferResult;

/* Returns FALSE to stop the iteration early. */
typedef gboolean (*InferResultFunc)(const InferResult *result, gpointer user_data);

/* Calls @func for every result in id order, in one read snapshot. */
gboolean infer_queue_foreach_result(InferQueue *queue, InferResultFunc func, gpointer user_data,
                                    GError **error);

G_END_DECLS
