/* spotlab inference: the durable work queue (see queue.h and docs/inference.md).
 *
 * Every change is one transaction that starts with BEGIN IMMEDIATE: the write lock is taken
 * before the first read, so what a transaction read cannot change before it writes, and no
 * transaction has to upgrade a read lock to a write lock (which SQLite refuses with SQLITE_BUSY
 * at once, busy handler or not). Reads that need a consistent picture (counts, results) run in
 * one deferred read transaction, which WAL mode lets run beside a writer. */
#include "queue.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

G_DEFINE_QUARK(infer - queue - error - quark, infer_queue_error)

struct InferQueue {
    sqlite3 *db;
    char *path;
};

/* The schema of version 1. Items are the prompts with their state and lease; results are kept
 * apart with the item id as primary key, so that a second result for an item cannot be stored
 * even by a bug in the lease checks. */
static const char __schema[] =
    "CREATE TABLE items ("
    "  id INTEGER PRIMARY KEY,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'leased', 'done')),"
    "  worker TEXT," /* the lease's holder while leased; who completed it once done */
    "  lease_deadline INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  CHECK ((state = 'leased') = (lease_deadline IS NOT NULL))"
    ");"
    "CREATE INDEX items_by_state ON items (state);"
    "CREATE INDEX items_by_deadline ON items (lease_deadline) WHERE state = 'leased';"
    "CREATE TABLE results ("
    "  item_id INTEGER PRIMARY KEY REFERENCES items (id),"
    "  result TEXT NOT NULL,"
    "  worker TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  completed_at INTEGER NOT NULL"
    ");";

void
infer_item_free(InferItem *item)
{
    if (item == NULL)
        return;
    g_free(item->payload);
    g_free(item);
}

void
infer_queue_counts_clear(InferQueueCounts *counts)
{
    if (counts == NULL)
        return;
    if (counts->attempts != NULL)
        g_array_unref(counts->attempts);
    memset(counts, 0, sizeof *counts);
}

/* The error code for what SQLite returned. */
static InferQueueError
__code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return INFER_QUEUE_ERROR_BUSY;
    case SQLITE_CORRUPT:
        return INFER_QUEUE_ERROR_CORRUPT;
    case SQLITE_NOTADB:
        return INFER_QUEUE_ERROR_NOT_QUEUE;
    case SQLITE_CANTOPEN:
        return INFER_QUEUE_ERROR_OPEN;
    default:
        return INFER_QUEUE_ERROR_FAILED;
    }
}

/* Sets @error from the connection's last failure: "PATH: WHAT: sqlite's message". */
static void
__sql_error(InferQueue *q, int rc, const char *what, GError **error)
{
    const char *msg = q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_BUSY)
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_BUSY,
                    "%s: %s: %s (another process held the write lock for longer than the busy "
                    "timeout)",
                    q->path, what, msg);
    else
        g_set_error(error, INFER_QUEUE_ERROR, __code_of(rc), "%s: %s: %s", q->path, what, msg);
}

static gboolean
__exec(InferQueue *q, const char *sql, const char *what, GError **error)
{
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        __sql_error(q, rc, what, error);
        return FALSE;
    }
    return TRUE;
}

static sqlite3_stmt *
__prepare(InferQueue *q, const char *sql, const char *what, GError **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        __sql_error(q, rc, what, error);
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

typedef sqlite3_stmt InferStmt;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(InferStmt, sqlite3_finalize)

/* Ends a failed transaction; harmless when none is open (SQLite may have rolled back already). */
static void
__rollback(InferQueue *q)
{
    if (!sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
__commit(InferQueue *q, const char *what, GError **error)
{
    if (!__exec(q, "COMMIT", what, error)) {
        __rollback(q);
        return FALSE;
    }
    return TRUE;
}

/* A single integer from @sql (a PRAGMA or an aggregate). */
static gboolean
__query_int(InferQueue *q, const char *sql, const char *what, gint64 *value, GError **error)
{
    g_autoptr(InferStmt) stmt = __prepare(q, sql, what, error);
    if (stmt == NULL)
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        __sql_error(q, rc, what, error);
        return FALSE;
    }
    *value = sqlite3_column_int64(stmt, 0);
    return TRUE;
}

/* Opens the connection and sets what every connection needs. */
static InferQueue *
__connect(const char *path, int flags, GError **error)
{
    g_autoptr(InferQueue) q = g_new0(InferQueue, 1);
    q->path = g_strdup(path);
    int rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK) {
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_OPEN, "%s: cannot open: %s", path,
                    q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        return NULL;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, INFER_QUEUE_BUSY_TIMEOUT_MS);
    return g_steal_pointer(&q);
}

/* Settings of each connection. synchronous=FULL: in WAL mode a commit then returns only after
 * the WAL is on disk, so a completion a worker reported survives a power cut too (NORMAL would
 * keep every guarantee of queue.h but could lose the last commits to a power cut, which would
 * make their items be processed again). Foreign keys check that a result names an item. */
static gboolean
__configure(InferQueue *q, GError **error)
{
    return __exec(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configure", error);
}

/* Switches the file to WAL mode (kept in the file; a no-op when it is already). */
static gboolean
__set_wal(InferQueue *q, GError **error)
{
    g_autoptr(InferStmt) stmt = __prepare(q, "PRAGMA journal_mode = WAL", "set WAL mode", error);
    if (stmt == NULL)
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        __sql_error(q, rc, "set WAL mode", error);
        return FALSE;
    }
    const char *mode = (const char *)sqlite3_column_text(stmt, 0);
    if (g_ascii_strcasecmp(mode != NULL ? mode : "", "wal") != 0) {
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_FAILED,
                    "%s: cannot switch to WAL mode (journal mode stays \"%s\")", q->path,
                    mode != NULL ? mode : "");
        return FALSE;
    }
    return TRUE;
}

InferQueue *
infer_queue_create(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autoptr(InferQueue) q =
        __connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, error);
    if (q == NULL)
        return NULL;
    /* The first read tells a file that is not a database (SQLITE_NOTADB) from an empty one. */
    gint64 objects = 0;
    g_autoptr(GError) local = NULL;
    if (!__query_int(q, "SELECT count(*) FROM sqlite_master", "read the schema", &objects,
                     &local)) {
        if (g_error_matches(local, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_NOT_QUEUE))
            g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_EXISTS,
                        "%s: exists and is not an SQLite database (%s); a queue is never "
                        "written over another file",
                        path, sqlite3_errmsg(q->db));
        else
            g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    if (objects > 0) {
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_EXISTS,
                    "%s: already holds a database; a queue is never overwritten (remove the "
                    "file first)",
                    path);
        return NULL;
    }
    if (!__set_wal(q, error) || !__configure(q, error))
        return NULL;
    if (!__exec(q, "BEGIN IMMEDIATE", "create the queue", error))
        return NULL;
    /* Another process may have created the queue since the check above. */
    if (!__query_int(q, "SELECT count(*) FROM sqlite_master", "read the schema", &objects, error)) {
        __rollback(q);
        return NULL;
    }
    if (objects > 0) {
        __rollback(q);
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_EXISTS,
                    "%s: already holds a database (created by another process meanwhile)", path);
        return NULL;
    }
    g_autofree char *pragmas =
        g_strdup_printf("PRAGMA user_version = %d; PRAGMA application_id = %d;",
                        INFER_QUEUE_SCHEMA_VERSION, INFER_QUEUE_APPLICATION_ID);
    if (!__exec(q, __schema, "create the schema", error) ||
        !__exec(q, pragmas, "set the schema version", error)) {
        __rollback(q);
        return NULL;
    }
    if (!__commit(q, "create the queue", error))
        return NULL;
    return g_steal_pointer(&q);
}

InferQueue *
infer_queue_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    GStatBuf st;
    if (g_stat(path, &st) != 0) {
        int saved = errno;
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_OPEN, "%s: cannot open: %s", path,
                    g_strerror(saved));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_OPEN,
                    "%s: cannot open: not a regular file", path);
        return NULL;
    }
    g_autoptr(InferQueue) q = __connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, error);
    if (q == NULL)
        return NULL;
    gint64 app = 0, version = 0;
    g_autoptr(GError) local = NULL;
    if (!__query_int(q, "PRAGMA application_id", "read the header", &app, &local)) {
        if (g_error_matches(local, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_NOT_QUEUE))
            g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_NOT_QUEUE,
                        "%s: not a spotlab inference queue: %s", path, sqlite3_errmsg(q->db));
        else
            g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    if (app != INFER_QUEUE_APPLICATION_ID) {
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_NOT_QUEUE,
                    "%s: not a spotlab inference queue: an SQLite database with application_id "
                    "0x%08" G_GINT64_MODIFIER "x, expected 0x%08x (made by spotlab-infer init)",
                    path, app, INFER_QUEUE_APPLICATION_ID);
        return NULL;
    }
    if (!__query_int(q, "PRAGMA user_version", "read the schema version", &version, error))
        return NULL;
    if (version != INFER_QUEUE_SCHEMA_VERSION) {
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_VERSION,
                    "%s: queue schema version %" G_GINT64_FORMAT ", this build reads version %d",
                    path, version, INFER_QUEUE_SCHEMA_VERSION);
        return NULL;
    }
    if (!__set_wal(q, error) || !__configure(q, error))
        return NULL;
    return g_steal_pointer(&q);
}

void
infer_queue_free(InferQueue *queue)
{
    if (queue == NULL)
        return;
    sqlite3_close(queue->db);
    g_free(queue->path);
    g_free(queue);
}

const char *
infer_queue_path(const InferQueue *queue)
{
    g_return_val_if_fail(queue != NULL, NULL);
    return queue->path;
}

void
infer_queue_set_busy_timeout(InferQueue *queue, guint milliseconds)
{
    g_return_if_fail(queue != NULL);
    sqlite3_busy_timeout(queue->db, (int)MIN(milliseconds, (guint)G_MAXINT));
}

gboolean
infer_queue_add(InferQueue *queue, const gint64 *ids, const char *const *payloads, guint n,
                GError **error)
{
    g_return_val_if_fail(queue != NULL, FALSE);
    g_return_val_if_fail(n == 0 || (ids != NULL && payloads != NULL), FALSE);
    for (guint i = 0; i < n; i++)
        g_return_val_if_fail(payloads[i] != NULL, FALSE);
    if (!__exec(queue, "BEGIN IMMEDIATE", "add items", error))
        return FALSE;
    g_autoptr(InferStmt) stmt =
        __prepare(queue, "INSERT INTO items (id, payload) VALUES (?1, ?2)", "add items", error);
    if (stmt == NULL) {
        __rollback(queue);
        return FALSE;
    }
    for (guint i = 0; i < n; i++) {
        sqlite3_bind_int64(stmt, 1, ids[i]);
        sqlite3_bind_text(stmt, 2, payloads[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            __rollback(queue);
            g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_DUPLICATE,
                        "%s: item %" G_GINT64_FORMAT " is already in the queue; nothing added",
                        queue->path, ids[i]);
            return FALSE;
        }
        if (rc != SQLITE_DONE) {
            g_autofree char *what = g_strdup_printf("add item %" G_GINT64_FORMAT, ids[i]);
            __sql_error(queue, rc, what, error);
            __rollback(queue);
            return FALSE;
        }
        sqlite3_reset(stmt);
    }
    return __commit(queue, "add items", error);
}

/* Appends up to @max rows of @stmt (id, payload, attempts) to @out as items to lease. */
static gboolean
__collect(InferQueue *q, sqlite3_stmt *stmt, guint max, GPtrArray *out, GError **error)
{
    int rc = SQLITE_DONE;
    while (out->len < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        InferItem *item = g_new0(InferItem, 1);
        item->id = sqlite3_column_int64(stmt, 0);
        item->payload = g_strdup((const char *)sqlite3_column_text(stmt, 1));
        if (item->payload == NULL)
            item->payload = g_strdup("");
        item->attempt = (guint)sqlite3_column_int64(stmt, 2) + 1;
        g_ptr_array_add(out, item);
    }
    if (out->len < max && rc != SQLITE_DONE) {
        __sql_error(q, rc, "claim items", error);
        return FALSE;
    }
    return TRUE;
}

GPtrArray *
infer_queue_claim(InferQueue *queue, const char *worker, guint max, gint64 lease_us, gint64 now,
                  GError **error)
{
    g_return_val_if_fail(queue != NULL, NULL);
    g_return_val_if_fail(worker != NULL && *worker != '\0', NULL);
    g_return_val_if_fail(max >= 1 && lease_us > 0, NULL);
    if (!__exec(queue, "BEGIN IMMEDIATE", "claim items", error))
        return NULL;
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func((GDestroyNotify)infer_item_free);
    /* Expired leases first: their items have waited longest. */
    g_autoptr(InferStmt) expired = __prepare(
        queue,
        "SELECT id, payload, attempts FROM items WHERE state = 'leased' AND lease_deadline <= ?1 "
        "ORDER BY lease_deadline, id LIMIT ?2",
        "claim items", error);
    g_autoptr(InferStmt) pending = __prepare(queue,
                                             "SELECT id, payload, attempts FROM items WHERE state "
                                             "= 'pending' ORDER BY id LIMIT ?1",
                                             "claim items", error);
    g_autoptr(InferStmt) lease = __prepare(
        queue,
        "UPDATE items SET state = 'leased', worker = ?2, lease_deadline = ?3, attempts = ?4 "
        "WHERE id = ?1",
        "claim items", error);
    if (expired == NULL || pending == NULL || lease == NULL) {
        __rollback(queue);
        return NULL;
    }
    sqlite3_bind_int64(expired, 1, now);
    sqlite3_bind_int64(expired, 2, max);
    sqlite3_bind_int64(pending, 1, max);
    if (!__collect(queue, expired, max, items, error) ||
        !__collect(queue, pending, max, items, error)) {
        __rollback(queue);
        return NULL;
    }
    gint64 deadline = now + lease_us;
    for (guint i = 0; i < items->len; i++) {
        InferItem *item = items->pdata[i];
        item->lease_deadline = deadline;
        sqlite3_bind_int64(lease, 1, item->id);
        sqlite3_bind_text(lease, 2, worker, -1, SQLITE_STATIC);
        sqlite3_bind_int64(lease, 3, deadline);
        sqlite3_bind_int64(lease, 4, item->attempt);
        int rc = sqlite3_step(lease);
        if (rc != SQLITE_DONE) {
            __sql_error(queue, rc, "claim items", error);
            __rollback(queue);
            return NULL;
        }
        sqlite3_reset(lease);
    }
    if (!__commit(queue, "claim items", error))
        return NULL;
    return g_steal_pointer(&items);
}

/* Records @result for @item inside the open transaction if @worker holds the lease; fails with
 * INFER_QUEUE_ERROR_LEASE_LOST (nothing written) when it does not. */
static gboolean
__complete_one(InferQueue *q, const char *worker, const InferItem *item, const char *result,
               gint64 now, GError **error)
{
    g_autofree char *what = g_strdup_printf("complete item %" G_GINT64_FORMAT, item->id);
    g_autoptr(InferStmt) get =
        __prepare(q, "SELECT state, worker, attempts FROM items WHERE id = ?1", what, error);
    if (get == NULL)
        return FALSE;
    sqlite3_bind_int64(get, 1, item->id);
    int rc = sqlite3_step(get);
    if (rc == SQLITE_DONE) {
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_UNKNOWN_ITEM,
                    "%s: no item %" G_GINT64_FORMAT " in the queue", q->path, item->id);
        return FALSE;
    }
    if (rc != SQLITE_ROW) {
        __sql_error(q, rc, what, error);
        return FALSE;
    }
    const char *state = (const char *)sqlite3_column_text(get, 0);
    const char *holder = (const char *)sqlite3_column_text(get, 1);
    gint64 attempts = sqlite3_column_int64(get, 2);
    if (g_strcmp0(state, "leased") != 0 || g_strcmp0(holder, worker) != 0 ||
        attempts != item->attempt) {
        g_autofree char *where =
            g_strcmp0(state, "pending") == 0
                ? g_strdup("it is back in the queue")
                : g_strdup_printf("it is %s by %s under attempt %" G_GINT64_FORMAT,
                                  g_strcmp0(state, "done") == 0 ? "done" : "leased",
                                  holder != NULL ? holder : "?", attempts);
        g_set_error(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_LEASE_LOST,
                    "%s: item %" G_GINT64_FORMAT ": the lease of %s (attempt %u) was lost and "
                    "the result is not recorded: %s",
                    q->path, item->id, worker, item->attempt, where);
        return FALSE;
    }
    g_autoptr(InferStmt) insert =
        __prepare(q,
                  "INSERT INTO results (item_id, result, worker, attempt, completed_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)",
                  what, error);
    g_autoptr(InferStmt) done = __prepare(
        q, "UPDATE items SET state = 'done', lease_deadline = NULL WHERE id = ?1", what, error);
    if (insert == NULL || done == NULL)
        return FALSE;
    sqlite3_bind_int64(insert, 1, item->id);
    sqlite3_bind_text(insert, 2, result, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 3, worker, -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 4, item->attempt);
    sqlite3_bind_int64(insert, 5, now);
    sqlite3_bind_int64(done, 1, item->id);
    if ((rc = sqlite3_step(insert)) != SQLITE_DONE || (rc = sqlite3_step(done)) != SQLITE_DONE) {
        __sql_error(q, rc, what, error);
        return FALSE;
    }
    return TRUE;
}

gboolean
infer_queue_complete(InferQueue *queue, const char *worker, const InferItem *item,
                     const char *result, gint64 now, GError **error)
{
    g_return_val_if_fail(queue != NULL && item != NULL && result != NULL, FALSE);
    g_return_val_if_fail(worker != NULL && *worker != '\0', FALSE);
    if (!__exec(queue, "BEGIN IMMEDIATE", "complete an item", error))
        return FALSE;
    if (!__complete_one(queue, worker, item, result, now, error)) {
        __rollback(queue);
        return FALSE;
    }
    return __commit(queue, "complete an item", error);
}

gint
infer_queue_complete_batch(InferQueue *queue, const char *worker, GPtrArray *items,
                           const char *const *results, gint64 now, GError **error)
{
    g_return_val_if_fail(queue != NULL && items != NULL && results != NULL, -1);
    g_return_val_if_fail(worker != NULL && *worker != '\0', -1);
    if (!__exec(queue, "BEGIN IMMEDIATE", "complete items", error))
        return -1;
    gint recorded = 0;
    g_autofree gboolean *lost = g_new0(gboolean, MAX(items->len, 1));
    for (guint i = 0; i < items->len; i++) {
        const InferItem *item = items->pdata[i];
        if (item->lost || results[i] == NULL)
            continue;
        g_autoptr(GError) local = NULL;
        if (__complete_one(queue, worker, item, results[i], now, &local)) {
            recorded++;
        } else if (g_error_matches(local, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_LEASE_LOST)) {
            lost[i] = TRUE;
        } else {
            g_propagate_error(error, g_steal_pointer(&local));
            __rollback(queue);
            return -1;
        }
    }
    if (!__commit(queue, "complete items", error))
        return -1;
    for (guint i = 0; i < items->len; i++)
        if (lost[i])
            ((InferItem *)items->pdata[i])->lost = TRUE;
    return recorded;
}

/* Runs @sql (?1 id, ?2 worker, ?3 attempt, ?4 optional value) for each item of @items in one
 * transaction; items whose row did not change have lost their lease. */
static gint
__for_held(InferQueue *q, const char *worker, GPtrArray *items, const char *sql, gboolean has_value,
           gint64 value, const char *what, GError **error)
{
    if (!__exec(q, "BEGIN IMMEDIATE", what, error))
        return -1;
    g_autoptr(InferStmt) stmt = __prepare(q, sql, what, error);
    if (stmt == NULL) {
        __rollback(q);
        return -1;
    }
    gint changed = 0;
    g_autofree gboolean *held = g_new0(gboolean, MAX(items->len, 1));
    for (guint i = 0; i < items->len; i++) {
        InferItem *item = items->pdata[i];
        if (item->lost)
            continue;
        sqlite3_bind_int64(stmt, 1, item->id);
        sqlite3_bind_text(stmt, 2, worker, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, item->attempt);
        if (has_value)
            sqlite3_bind_int64(stmt, 4, value);
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE) {
            __sql_error(q, rc, what, error);
            __rollback(q);
            return -1;
        }
        held[i] = sqlite3_changes(q->db) == 1;
        changed += held[i];
        sqlite3_reset(stmt);
    }
    if (!__commit(q, what, error))
        return -1;
    /* The items change only once the transaction is committed. */
    for (guint i = 0; i < items->len; i++) {
        InferItem *item = items->pdata[i];
        if (item->lost)
            continue;
        if (!held[i])
            item->lost = TRUE;
        else if (has_value)
            item->lease_deadline = value;
    }
    return changed;
}

gint
infer_queue_renew(InferQueue *queue, const char *worker, GPtrArray *items, gint64 lease_us,
                  gint64 now, GError **error)
{
    g_return_val_if_fail(queue != NULL && items != NULL, -1);
    g_return_val_if_fail(worker != NULL && *worker != '\0' && lease_us > 0, -1);
    return __for_held(queue, worker, items,
                      "UPDATE items SET lease_deadline = ?4 WHERE id = ?1 AND state = 'leased' "
                      "AND worker = ?2 AND attempts = ?3",
                      TRUE, now + lease_us, "renew leases", error);
}

gint
infer_queue_release(InferQueue *queue, const char *worker, GPtrArray *items, GError **error)
{
    g_return_val_if_fail(queue != NULL && items != NULL, -1);
    g_return_val_if_fail(worker != NULL && *worker != '\0', -1);
    return __for_held(queue, worker, items,
                      "UPDATE items SET state = 'pending', worker = NULL, lease_deadline = NULL "
                      "WHERE id = ?1 AND state = 'leased' AND worker = ?2 AND attempts = ?3",
                      FALSE, 0, "release leases", error);
}

static gboolean
__counts(InferQueue *q, gint64 now, InferQueueCounts *c, GError **error)
{
    g_autoptr(InferStmt) totals = __prepare(
        q,
        "SELECT count(*), total(state = 'pending'),"
        "  total(state = 'leased' AND lease_deadline > ?1),"
        "  total(state = 'leased' AND lease_deadline <= ?1), total(state = 'done'),"
        "  total(attempts),"
        "  min(CASE WHEN state = 'leased' AND lease_deadline > ?1 THEN lease_deadline END) "
        "FROM items",
        "count items", error);
    if (totals == NULL)
        return FALSE;
    sqlite3_bind_int64(totals, 1, now);
    int rc = sqlite3_step(totals);
    if (rc != SQLITE_ROW) {
        __sql_error(q, rc, "count items", error);
        return FALSE;
    }
    /* total() is a double; counts of rows are exact far beyond any queue's size. */
    c->items = (guint64)sqlite3_column_int64(totals, 0);
    c->pending = (guint64)sqlite3_column_double(totals, 1);
    c->leased = (guint64)sqlite3_column_double(totals, 2);
    c->expired = (guint64)sqlite3_column_double(totals, 3);
    c->done = (guint64)sqlite3_column_double(totals, 4);
    c->claims = (guint64)sqlite3_column_double(totals, 5);
    c->next_deadline = sqlite3_column_int64(totals, 6);
    gint64 results = 0;
    if (!__query_int(q, "SELECT count(*) FROM results", "count results", &results, error))
        return FALSE;
    c->results = (guint64)results;
    g_autoptr(InferStmt) hist =
        __prepare(q, "SELECT attempts, count(*) FROM items GROUP BY attempts ORDER BY attempts",
                  "count attempts", error);
    if (hist == NULL)
        return FALSE;
    c->attempts = g_array_new(FALSE, TRUE, sizeof(guint64));
    while ((rc = sqlite3_step(hist)) == SQLITE_ROW) {
        gint64 k = sqlite3_column_int64(hist, 0);
        if (k < 0 || k > G_MAXINT) /* the schema's CHECK keeps it >= 0 */
            continue;
        if ((guint)k >= c->attempts->len)
            g_array_set_size(c->attempts, (guint)k + 1);
        g_array_index(c->attempts, guint64, k) = (guint64)sqlite3_column_int64(hist, 1);
    }
    if (rc != SQLITE_DONE) {
        __sql_error(q, rc, "count attempts", error);
        return FALSE;
    }
    return TRUE;
}

gboolean
infer_queue_counts(InferQueue *queue, gint64 now, InferQueueCounts *counts, GError **error)
{
    g_return_val_if_fail(queue != NULL && counts != NULL, FALSE);
    infer_queue_counts_clear(counts);
    /* One read transaction: every figure comes from the same snapshot. */
    if (!__exec(queue, "BEGIN", "count items", error))
        return FALSE;
    gboolean ok = __counts(queue, now, counts, error);
    if (!ok) {
        __rollback(queue);
        infer_queue_counts_clear(counts);
        return FALSE;
    }
    return __commit(queue, "count items", error);
}

gboolean
infer_queue_foreach_result(InferQueue *queue, InferResultFunc func, gpointer user_data,
                           GError **error)
{
    g_return_val_if_fail(queue != NULL && func != NULL, FALSE);
    if (!__exec(queue, "BEGIN", "read results", error))
        return FALSE;
    g_autoptr(InferStmt) stmt = __prepare(queue,
                                          "SELECT item_id, result, worker, attempt, completed_at "
                                          "FROM results ORDER BY item_id",
                                          "read results", error);
    if (stmt == NULL) {
        __rollback(queue);
        return FALSE;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(stmt, 1);
        const char *worker = (const char *)sqlite3_column_text(stmt, 2);
        InferResult r = {
            .id = sqlite3_column_int64(stmt, 0),
            .result = text != NULL ? text : "",
            .worker = worker != NULL ? worker : "",
            .attempt = (guint)sqlite3_column_int64(stmt, 3),
            .completed_at = sqlite3_column_int64(stmt, 4),
        };
        if (!func(&r, user_data)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        __sql_error(queue, rc, "read results", error);
        __rollback(queue);
        return FALSE;
    }
    g_clear_pointer(&stmt, sqlite3_finalize);
    return __commit(queue, "read results", error);
}
