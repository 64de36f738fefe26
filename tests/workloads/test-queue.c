/* spotlab tests: the inference work queue (gpu-workloads/infer/queue.c) and spotlab-infer.
 *
 * The unit tests drive the queue on a clock of their own (every call takes "now"), so leases
 * expire without waiting. The process tests run spotlab-infer (SPOTLAB_INFER_BIN) on a tiny
 * untrained model the test writes itself: workers killed with SIGKILL at seeded random moments
 * while replacements start (SPOTLAB_KILL_SEED changes the seed), a worker stopped with
 * SIGTERM, and one stalled with SIGSTOP past its lease. Under SPOTLAB_TEST_WRAPPER (valgrind)
 * the workers run under the wrapper too, on a smaller queue with longer leases. */
#include "checkpoint.h"
#include "model.h"
#include "queue.h"
#include "test-util.h"
#include "train-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC G_GINT64_CONSTANT(1000000)
#define T0  (G_GINT64_CONSTANT(1700000000) * SEC)

/* A fresh queue file in a fresh folder. */
typedef struct {
    char *dir;
    char *path;
} Fixture;

static void
__fixture_init(Fixture *f)
{
    f->dir = test_tmpdir_new();
    f->path = g_build_filename(f->dir, "queue.db", NULL);
}

static void
__fixture_clear(Fixture *f)
{
    test_tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->path);
}

/* Adds items first..last with payload "prompt ID". */
static void
__add_range(InferQueue *q, gint64 first, gint64 last)
{
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    for (gint64 id = first; id <= last; id++) {
        g_array_append_val(ids, id);
        g_ptr_array_add(texts, g_strdup_printf("prompt %" G_GINT64_FORMAT, id));
    }
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(infer_queue_add(q, (const gint64 *)ids->data, (const char *const *)texts->pdata,
                                   ids->len, &error));
    CU_ASSERT_PTR_NULL(error);
}

static InferQueueCounts
__counts(InferQueue *q, gint64 now)
{
    InferQueueCounts c = {0};
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(infer_queue_counts(q, now, &c, &error));
    CU_ASSERT_PTR_NULL(error);
    return c;
}

static guint64
__hist(const InferQueueCounts *c, guint k)
{
    return c->attempts != NULL && k < c->attempts->len ? g_array_index(c->attempts, guint64, k) : 0;
}

static gboolean
__collect_all(const InferResult *r, gpointer data)
{
    g_ptr_array_add(data, g_strdup_printf("%" G_GINT64_FORMAT "=%s@%s#%u", r->id, r->result,
                                          r->worker, r->attempt));
    return TRUE;
}

/* A string result of a single-column query on @path, through a connection of its own. */
static char *
__sql_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW)
            out = g_strdup((const char *)sqlite3_column_text(stmt, 0));
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return out;
}

static gboolean
__sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    gboolean ok = sqlite3_open(path, &db) == SQLITE_OK &&
                  sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

/* ---- the queue ---- */

static void
test_create_reopen(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    InferQueue *q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_STRING_EQUAL(infer_queue_path(q), f.path);
    __add_range(q, 1, 10);
    g_autoptr(GPtrArray) got = infer_queue_claim(q, "w1", 3, 60 * SEC, T0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_TRUE(infer_queue_complete(q, "w1", got->pdata[0], "r1", T0, &error));
    infer_queue_free(q);

    /* The file says what it is, durably: WAL mode, the schema version, the application id. */
    g_autofree char *mode = __sql_text(f.path, "PRAGMA journal_mode");
    g_autofree char *version = __sql_text(f.path, "PRAGMA user_version");
    g_autofree char *app = __sql_text(f.path, "PRAGMA application_id");
    CU_ASSERT_STRING_EQUAL(mode, "wal");
    CU_ASSERT_STRING_EQUAL(version, "1");
    CU_ASSERT_EQUAL(g_ascii_strtoll(app, NULL, 10), INFER_QUEUE_APPLICATION_ID);

    /* Reopened, the queue holds what it held: items, leases, results. */
    q = infer_queue_open(f.path, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    g_auto(InferQueueCounts) c = __counts(q, T0);
    CU_ASSERT_EQUAL(c.items, 10);
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT_EQUAL(c.results, 1);
    CU_ASSERT_EQUAL(c.leased, 2);
    CU_ASSERT_EQUAL(c.pending, 7);
    /* The leases of before the close still hold: w1 can complete them. */
    CU_ASSERT_TRUE(infer_queue_complete(q, "w1", got->pdata[1], "r2", T0 + SEC, &error));
    CU_ASSERT_PTR_NULL(error);
    infer_queue_free(q);
    __fixture_clear(&f);
}

static void
test_create_refuses_existing(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    infer_queue_free(infer_queue_create(f.path, &error));
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NULL(infer_queue_create(f.path, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_EXISTS));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, f.path) : NULL);
    g_clear_error(&error);

    /* Nor is any other file overwritten. */
    g_autofree char *text = g_build_filename(f.dir, "notes.txt", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(text, "my notes, not a database\n", -1, NULL));
    CU_ASSERT_PTR_NULL(infer_queue_create(text, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_EXISTS));
    g_autofree char *kept = test_read_file(text);
    CU_ASSERT_STRING_EQUAL(kept, "my notes, not a database\n");
    __fixture_clear(&f);
}

/* Opening @path fails with @code and a message naming the file and containing @fragment. */
static void
__assert_open_fails(const char *path, int code, const char *fragment)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_open(path, &error);
    CU_ASSERT_PTR_NULL(q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, code));
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, path));
    if (strstr(error->message, fragment) == NULL)
        fprintf(stderr, "\nopen %s: \"%s\" does not contain \"%s\"\n", path, error->message,
                fragment);
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, fragment));
}

static void
test_open_errors(void)
{
    Fixture f;
    __fixture_init(&f);
    __assert_open_fails(f.path, INFER_QUEUE_ERROR_OPEN, "No such file");
    __assert_open_fails(f.dir, INFER_QUEUE_ERROR_OPEN, "not a regular file");

    g_autofree char *text = g_build_filename(f.dir, "prompts.txt", NULL);
    g_autofree char *filler = g_strnfill(8192, 'x');
    CU_ASSERT_TRUE(g_file_set_contents(text, filler, -1, NULL));
    __assert_open_fails(text, INFER_QUEUE_ERROR_NOT_QUEUE, "file is not a database");

    g_autofree char *empty = g_build_filename(f.dir, "empty.db", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(empty, "", 0, NULL));
    __assert_open_fails(empty, INFER_QUEUE_ERROR_NOT_QUEUE, "not a spotlab inference queue");

    g_autofree char *other = g_build_filename(f.dir, "other.db", NULL);
    CU_ASSERT_TRUE(__sql_exec(other, "CREATE TABLE t (x); INSERT INTO t VALUES (1);"));
    __assert_open_fails(other, INFER_QUEUE_ERROR_NOT_QUEUE, "application_id");

    g_autofree char *newer = g_build_filename(f.dir, "newer.db", NULL);
    g_autoptr(GError) error = NULL;
    infer_queue_free(infer_queue_create(newer, &error));
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_TRUE(__sql_exec(newer, "PRAGMA user_version = 7"));
    __assert_open_fails(newer, INFER_QUEUE_ERROR_VERSION, "version 7");
    __fixture_clear(&f);
}

static void
test_corrupt_file(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    InferQueue *q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    __add_range(q, 1, 2000);
    infer_queue_free(q); /* the last close checkpoints the WAL into the file */

    /* Damage every page but the first (which holds the header that names the queue). */
    gsize len = 0;
    g_autofree char *bytes = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(f.path, &bytes, &len, NULL));
    CU_ASSERT_TRUE_FATAL(len > 3 * 4096);
    for (gsize i = 4096; i < len; i++)
        bytes[i] = (char)(i * 7 + 13);
    CU_ASSERT_TRUE(g_file_set_contents(f.path, bytes, (gssize)len, NULL));
    q = infer_queue_open(f.path, &error);
    if (q != NULL) {
        /* The header was intact: the damage shows at the first read of the tables. */
        InferQueueCounts c = {0};
        CU_ASSERT_FALSE(infer_queue_counts(q, T0, &c, &error));
        infer_queue_counts_clear(&c);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_CORRUPT) ||
                   g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_NOT_QUEUE));
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, f.path));
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "malformed"));
    infer_queue_free(q);
    __fixture_clear(&f);
}

static void
test_add_duplicate(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    __add_range(q, 1, 2);
    const gint64 ids[] = {3, 2};
    const char *const texts[] = {"three", "two again"};
    CU_ASSERT_FALSE(infer_queue_add(q, ids, texts, 2, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_DUPLICATE));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "item 2") : NULL);
    /* All or none: item 3 was not added either. */
    g_auto(InferQueueCounts) c = __counts(q, T0);
    CU_ASSERT_EQUAL(c.items, 2);
    __fixture_clear(&f);
}

static void
test_claim_complete(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    __add_range(q, 1, 5);

    g_autoptr(GPtrArray) a = infer_queue_claim(q, "A", 2, 10 * SEC, T0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL_FATAL(a->len, 2);
    const InferItem *a1 = a->pdata[0];
    CU_ASSERT_EQUAL(a1->id, 1);
    CU_ASSERT_EQUAL(((InferItem *)a->pdata[1])->id, 2);
    CU_ASSERT_STRING_EQUAL(a1->payload, "prompt 1");
    CU_ASSERT_EQUAL(a1->attempt, 1);
    CU_ASSERT_EQUAL(a1->lease_deadline, T0 + 10 * SEC);

    g_autoptr(GPtrArray) b = infer_queue_claim(q, "B", 10, 10 * SEC, T0 + SEC, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->len, 3);
    g_autoptr(GPtrArray) c = infer_queue_claim(q, "C", 10, 10 * SEC, T0 + 2 * SEC, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->len, 0);

    CU_ASSERT_TRUE(infer_queue_complete(q, "A", a1, "result one", T0 + 3 * SEC, &error));
    CU_ASSERT_PTR_NULL(error);
    /* A second completion of the same item is refused, even by its own worker. */
    CU_ASSERT_FALSE(infer_queue_complete(q, "A", a1, "again", T0 + 4 * SEC, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_LEASE_LOST));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "done by A") : NULL);
    g_clear_error(&error);
    /* Another worker cannot complete A's item either. */
    CU_ASSERT_FALSE(infer_queue_complete(q, "B", a->pdata[1], "stolen", T0 + 4 * SEC, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_LEASE_LOST));
    g_clear_error(&error);

    InferItem ghost = {.id = 999, .attempt = 1};
    CU_ASSERT_FALSE(infer_queue_complete(q, "A", &ghost, "x", T0, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_UNKNOWN_ITEM));
    g_clear_error(&error);

    g_auto(InferQueueCounts) n = __counts(q, T0 + 5 * SEC);
    CU_ASSERT_EQUAL(n.items, 5);
    CU_ASSERT_EQUAL(n.done, 1);
    CU_ASSERT_EQUAL(n.results, 1);
    CU_ASSERT_EQUAL(n.leased, 4);
    CU_ASSERT_EQUAL(n.pending, 0);
    CU_ASSERT_EQUAL(n.expired, 0);
    CU_ASSERT_EQUAL(n.claims, 5);
    CU_ASSERT_EQUAL(n.next_deadline, T0 + 10 * SEC);
    __fixture_clear(&f);
}

static void
test_expiry_and_theft(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    __add_range(q, 1, 3);

    g_autoptr(GPtrArray) a = infer_queue_claim(q, "A", 1, SEC, T0, &error);
    CU_ASSERT_EQUAL_FATAL(a->len, 1);
    /* Before the deadline the item is A's; at the deadline it is claimable again. */
    g_autoptr(GPtrArray) early = infer_queue_claim(q, "B", 1, SEC, T0 + SEC - 1, &error);
    CU_ASSERT_EQUAL_FATAL(early->len, 1);
    CU_ASSERT_EQUAL(((InferItem *)early->pdata[0])->id, 2);
    g_auto(InferQueueCounts) mid = __counts(q, T0 + SEC);
    CU_ASSERT_EQUAL(mid.expired, 1);
    CU_ASSERT_EQUAL(mid.leased, 1);
    CU_ASSERT_EQUAL(mid.pending, 1);

    /* Expired leases are claimed before pending items. */
    g_autoptr(GPtrArray) b = infer_queue_claim(q, "B", 1, SEC, T0 + SEC, &error);
    CU_ASSERT_EQUAL_FATAL(b->len, 1);
    const InferItem *b1 = b->pdata[0];
    CU_ASSERT_EQUAL(b1->id, 1);
    CU_ASSERT_EQUAL(b1->attempt, 2);

    /* A's completion comes too late: refused, and the message says who holds the item. */
    CU_ASSERT_FALSE(infer_queue_complete(q, "A", a->pdata[0], "from A", T0 + SEC + 5, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_LEASE_LOST));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "leased by B") : NULL);
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "item 1") : NULL);
    g_clear_error(&error);
    CU_ASSERT_TRUE(infer_queue_complete(q, "B", b1, "from B", T0 + SEC + 6, &error));

    /* An expired lease nobody took since is still held: the result is recorded once. */
    CU_ASSERT_TRUE(
        infer_queue_complete(q, "B", early->pdata[0], "late but held", T0 + 9 * SEC, &error));
    CU_ASSERT_PTR_NULL(error);

    /* The same worker id claiming again makes a new lease; the old one is lost. */
    g_autoptr(GPtrArray) c1 = infer_queue_claim(q, "C", 1, SEC, T0 + 10 * SEC, &error);
    g_autoptr(GPtrArray) c2 = infer_queue_claim(q, "C", 1, SEC, T0 + 12 * SEC, &error);
    CU_ASSERT_EQUAL_FATAL(c1->len, 1);
    CU_ASSERT_EQUAL_FATAL(c2->len, 1);
    CU_ASSERT_EQUAL(((InferItem *)c2->pdata[0])->id, 3);
    CU_ASSERT_EQUAL(((InferItem *)c2->pdata[0])->attempt, 2);
    CU_ASSERT_FALSE(infer_queue_complete(q, "C", c1->pdata[0], "old", T0 + 12 * SEC, &error));
    CU_ASSERT_TRUE(g_error_matches(error, INFER_QUEUE_ERROR, INFER_QUEUE_ERROR_LEASE_LOST));
    g_clear_error(&error);
    CU_ASSERT_TRUE(infer_queue_complete(q, "C", c2->pdata[0], "new", T0 + 12 * SEC, &error));

    g_auto(InferQueueCounts) n = __counts(q, T0 + 20 * SEC);
    CU_ASSERT_EQUAL(n.done, 3);
    CU_ASSERT_EQUAL(n.results, 3);
    CU_ASSERT_EQUAL(n.claims, 5);
    CU_ASSERT_EQUAL(__hist(&n, 1), 1);
    CU_ASSERT_EQUAL(__hist(&n, 2), 2);
    CU_ASSERT_EQUAL(n.next_deadline, 0);
    __fixture_clear(&f);
}

static void
test_complete_batch(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    __add_range(q, 1, 4);
    g_autoptr(GPtrArray) a = infer_queue_claim(q, "A", 4, SEC, T0, &error);
    CU_ASSERT_EQUAL_FATAL(a->len, 4);
    /* Item 1's lease expires and B takes it; item 4 has no result yet. */
    g_autoptr(GPtrArray) b = infer_queue_claim(q, "B", 1, SEC, T0 + SEC, &error);
    CU_ASSERT_EQUAL_FATAL(b->len, 1);
    CU_ASSERT_EQUAL(((InferItem *)b->pdata[0])->id, 1);
    const char *results[] = {"one", "two", "three", NULL};
    CU_ASSERT_EQUAL(infer_queue_complete_batch(q, "A", a, results, T0 + SEC, &error), 2);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_TRUE(((InferItem *)a->pdata[0])->lost);
    CU_ASSERT_FALSE(((InferItem *)a->pdata[1])->lost);
    CU_ASSERT_FALSE(((InferItem *)a->pdata[3])->lost);
    g_auto(InferQueueCounts) c = __counts(q, T0 + SEC);
    CU_ASSERT_EQUAL(c.done, 2);
    CU_ASSERT_EQUAL(c.results, 2);
    CU_ASSERT_EQUAL(c.leased, 1);  /* item 1, B's */
    CU_ASSERT_EQUAL(c.expired, 1); /* item 4, A's expired lease, still A's to complete */
    /* A second batch completion of the same items records nothing more. */
    ((InferItem *)a->pdata[0])->lost = FALSE;
    const char *again[] = {"1'", "2'", "3'", "4'"};
    CU_ASSERT_EQUAL(infer_queue_complete_batch(q, "A", a, again, T0 + SEC, &error), 1);
    CU_ASSERT_TRUE(((InferItem *)a->pdata[1])->lost);
    CU_ASSERT_FALSE(((InferItem *)a->pdata[3])->lost);
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
    CU_ASSERT_TRUE(infer_queue_foreach_result(q, __collect_all, rows, &error));
    CU_ASSERT_EQUAL_FATAL(rows->len, 3);
    CU_ASSERT_STRING_EQUAL(rows->pdata[0], "2=two@A#1");
    CU_ASSERT_STRING_EQUAL(rows->pdata[1], "3=three@A#1");
    CU_ASSERT_STRING_EQUAL(rows->pdata[2], "4=4'@A#1");
    __fixture_clear(&f);
}

static void
test_renew(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    __add_range(q, 1, 2);
    g_autoptr(GPtrArray) a = infer_queue_claim(q, "A", 2, SEC, T0, &error);
    CU_ASSERT_EQUAL_FATAL(a->len, 2);
    CU_ASSERT_EQUAL(infer_queue_renew(q, "A", a, SEC, T0 + SEC / 2, &error), 2);
    CU_ASSERT_EQUAL(((InferItem *)a->pdata[0])->lease_deadline, T0 + 3 * SEC / 2);
    /* Past the first deadline but before the renewed one, nothing is claimable. */
    g_autoptr(GPtrArray) none = infer_queue_claim(q, "B", 2, SEC, T0 + 6 * SEC / 5, &error);
    CU_ASSERT_EQUAL(none->len, 0);
    /* Another worker cannot renew A's leases. */
    g_autoptr(GPtrArray) foreign = g_ptr_array_new();
    g_ptr_array_add(foreign, a->pdata[0]);
    CU_ASSERT_EQUAL(infer_queue_renew(q, "B", foreign, 100 * SEC, T0, &error), 0);
    ((InferItem *)a->pdata[0])->lost = FALSE; /* that flag was B's view */

    /* After the renewed deadline B takes one item; A's renewal then keeps only the other. */
    g_autoptr(GPtrArray) b = infer_queue_claim(q, "B", 1, SEC, T0 + 2 * SEC, &error);
    CU_ASSERT_EQUAL_FATAL(b->len, 1);
    gint64 taken = ((InferItem *)b->pdata[0])->id;
    CU_ASSERT_EQUAL(infer_queue_renew(q, "A", a, SEC, T0 + 2 * SEC, &error), 1);
    CU_ASSERT_PTR_NULL(error);
    for (guint i = 0; i < a->len; i++) {
        const InferItem *it = a->pdata[i];
        CU_ASSERT_EQUAL(it->lost, it->id == taken);
        if (it->id != taken)
            CU_ASSERT_EQUAL(it->lease_deadline, T0 + 3 * SEC);
    }
    __fixture_clear(&f);
}

static void
test_release(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    __add_range(q, 1, 4);
    g_autoptr(GPtrArray) a = infer_queue_claim(q, "A", 3, 60 * SEC, T0, &error);
    CU_ASSERT_EQUAL_FATAL(a->len, 3);
    CU_ASSERT_TRUE(infer_queue_complete(q, "A", a->pdata[0], "done first", T0, &error));
    /* Released items are pending at once, long before their lease would expire; the
     * completed one is not given back. */
    CU_ASSERT_EQUAL(infer_queue_release(q, "A", a, &error), 2);
    g_auto(InferQueueCounts) c = __counts(q, T0 + SEC);
    CU_ASSERT_EQUAL(c.pending, 3);
    CU_ASSERT_EQUAL(c.leased, 0);
    CU_ASSERT_EQUAL(c.done, 1);
    g_autoptr(GPtrArray) b = infer_queue_claim(q, "B", 4, 60 * SEC, T0 + SEC, &error);
    CU_ASSERT_EQUAL_FATAL(b->len, 3);
    CU_ASSERT_EQUAL(((InferItem *)b->pdata[0])->id, 2);
    CU_ASSERT_EQUAL(((InferItem *)b->pdata[0])->attempt, 2);
    CU_ASSERT_EQUAL(((InferItem *)b->pdata[2])->id, 4);
    CU_ASSERT_EQUAL(((InferItem *)b->pdata[2])->attempt, 1);
    /* A's release of leases it no longer holds changes nothing. */
    for (guint i = 0; i < a->len; i++)
        ((InferItem *)a->pdata[i])->lost = FALSE;
    CU_ASSERT_EQUAL(infer_queue_release(q, "A", a, &error), 0);
    g_auto(InferQueueCounts) d = __counts(q, T0 + SEC);
    CU_ASSERT_EQUAL(d.leased, 3);
    CU_ASSERT_EQUAL(__hist(&d, 1), 2);
    CU_ASSERT_EQUAL(__hist(&d, 2), 2);
    __fixture_clear(&f);
}

static gboolean
__collect_result(const InferResult *r, gpointer data)
{
    g_ptr_array_add(data, g_strdup_printf("%" G_GINT64_FORMAT "=%s@%s#%u", r->id, r->result,
                                          r->worker, r->attempt));
    return ((GPtrArray *)data)->len < 3;
}

static void
test_results_and_connections(void)
{
    Fixture f;
    __fixture_init(&f);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q1 = infer_queue_create(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q1);
    g_autoptr(InferQueue) q2 = infer_queue_open(f.path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q2);
    __add_range(q1, 1, 8);
    /* Two connections share the file: their claims never overlap. */
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    for (int round = 0; round < 4; round++) {
        InferQueue *q = round % 2 ? q2 : q1;
        const char *w = round % 2 ? "two" : "one";
        g_autoptr(GPtrArray) got = infer_queue_claim(q, w, 2, 60 * SEC, T0, &error);
        CU_ASSERT_EQUAL_FATAL(got->len, 2);
        for (guint i = 0; i < got->len; i++) {
            InferItem *it = got->pdata[i];
            CU_ASSERT_FALSE(g_hash_table_contains(seen, &it->id));
            g_hash_table_add(seen, g_memdup2(&it->id, sizeof it->id));
            /* Completed through the other connection: the lease is in the file, not in it. */
            g_autofree char *r = g_strdup_printf("r%" G_GINT64_FORMAT, it->id);
            CU_ASSERT_TRUE(infer_queue_complete(round % 2 ? q1 : q2, w, it, r, T0, &error));
        }
    }
    CU_ASSERT_EQUAL(g_hash_table_size(seen), 8);

    /* Results in id order; the callback can stop early. */
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
    CU_ASSERT_TRUE(infer_queue_foreach_result(q2, __collect_result, rows, &error));
    CU_ASSERT_EQUAL_FATAL(rows->len, 3);
    CU_ASSERT_STRING_EQUAL(rows->pdata[0], "1=r1@one#1");
    CU_ASSERT_STRING_EQUAL(rows->pdata[2], "3=r3@two#1");
    __fixture_clear(&f);
}

/* ---- spotlab-infer ---- */

/* Whether the workers run under SPOTLAB_TEST_WRAPPER (valgrind): everything is 20 to 50 times
 * slower there, so the process tests use smaller queues and longer leases. */
static gboolean
__wrapped(void)
{
    const char *wrapper = g_getenv("SPOTLAB_TEST_WRAPPER");
    return wrapper != NULL && *wrapper != '\0';
}

/* The command line of spotlab-infer with @args (NULL-terminated), under the wrapper if any. */
static GStrv
__infer_argv(const char *const *args)
{
    const char *bin = g_getenv("SPOTLAB_INFER_BIN");
    g_assert(bin != NULL);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    if (__wrapped()) {
        g_auto(GStrv) words = NULL;
        g_assert(g_shell_parse_argv(g_getenv("SPOTLAB_TEST_WRAPPER"), NULL, &words, NULL));
        g_strv_builder_addv(b, (const char **)words);
    }
    g_strv_builder_add(b, bin);
    g_strv_builder_addv(b, (const char **)args);
    return g_strv_builder_end(b);
}

/* Runs spotlab-infer to the end; returns its exit status (-1: did not start or was killed) and
 * prints what it said when that is not @expected. */
static int
__infer_run(const char *const *args, int expected, char **out)
{
    g_auto(GStrv) argv = __infer_argv(args);
    g_autofree char *o = NULL, *e = NULL;
    int status = 0;
    g_autoptr(GError) error = NULL;
    int code = -1;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &o, &e, &status, &error))
        fprintf(stderr, "\ncannot run spotlab-infer: %s\n", error->message);
    else if (WIFEXITED(status))
        code = WEXITSTATUS(status);
    if (code != expected) {
        g_autofree char *cmd = g_strjoinv(" ", argv);
        fprintf(stderr, "\n%s: exit %d, expected %d\nstdout: %s\nstderr: %s\n", cmd, code, expected,
                o ? o : "", e ? e : "");
    }
    if (out != NULL)
        *out = o != NULL ? g_steal_pointer(&o) : g_strdup("");
    return code;
}

/* A worker started in the background: its progress lines go to @progress (as descriptor 3,
 * named by SPOTLAB_PROGRESS_FD), its stdout and stderr to @log. */
typedef struct {
    GPid pid; /* 0 when none runs */
    char *name;
    char *progress;
    char *log;
} Worker;

static void
__worker_clear(Worker *w)
{
    g_free(w->name);
    g_free(w->progress);
    g_free(w->log);
    memset(w, 0, sizeof *w);
}

static gboolean
__worker_start(Worker *w, const char *dir, const char *name, const char *const *args)
{
    __worker_clear(w);
    w->name = g_strdup(name);
    w->progress = g_strdup_printf("%s/%s.progress", dir, name);
    w->log = g_strdup_printf("%s/%s.log", dir, name);
    int pfd = open(w->progress, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int lfd = open(w->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    g_assert(pfd >= 0 && lfd >= 0);
    g_auto(GStrv) argv = __infer_argv(args);
    g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "SPOTLAB_PROGRESS_FD", "3", TRUE);
    int source[] = {pfd};
    int target[] = {3};
    g_autoptr(GError) error = NULL;
    gboolean ok = g_spawn_async_with_pipes_and_fds(
        NULL, (const char *const *)argv, (const char *const *)env,
        G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, -1, lfd, lfd, source, target,
        1, &w->pid, NULL, NULL, NULL, &error);
    close(pfd);
    close(lfd);
    if (!ok) {
        fprintf(stderr, "\ncannot start a worker: %s\n", error->message);
        w->pid = 0;
    }
    return ok;
}

/* Prints a worker's log, so that a failure shows what the worker said. */
static void
__worker_show(const Worker *w)
{
    g_autofree char *text = test_read_file(w->log);
    fprintf(stderr, "\n--- worker %s (%s) ---\n%s", w->name, w->log, text ? text : "(no log)\n");
}

/* The progress lines of a worker, parsed; NULL entries for lines that are not JSON. */
static GPtrArray *
__progress_lines(const char *path)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    g_autofree char *text = test_read_file(path);
    if (text == NULL)
        return lines;
    g_auto(GStrv) rows = g_strsplit(text, "\n", -1);
    for (int i = 0; rows[i] != NULL; i++)
        if (rows[i][0] != '\0')
            g_ptr_array_add(lines, json_loads(rows[i], 0, NULL));
    return lines;
}

static const char *
__event(const json_t *line)
{
    return json_string_value(json_object_get(line, "event"));
}

/* How many "item" lines a worker wrote so far. */
static guint
__items_reported(const Worker *w)
{
    g_autoptr(GPtrArray) lines = __progress_lines(w->progress);
    guint n = 0;
    for (guint i = 0; i < lines->len; i++)
        n += g_strcmp0(__event(lines->pdata[i]), "item") == 0;
    return n;
}

/* Waits for the worker to exit, at most @timeout_us; returns its exit status, -1 when it was
 * killed by a signal, -2 on timeout (the worker is then killed). */
static int
__worker_wait(Worker *w, gint64 timeout_us)
{
    gint64 until = g_get_monotonic_time() + timeout_us;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(w->pid, &status, WNOHANG);
        if (r == w->pid) {
            w->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        if (g_get_monotonic_time() > until) {
            kill(w->pid, SIGKILL);
            waitpid(w->pid, &status, 0);
            w->pid = 0;
            return -2;
        }
        g_usleep(10000);
    }
}

/* An untrained "tiny" model in @dir/model, written as spotlab-train writes its checkpoints:
 * sections "config" (JSON text) and "params". Untrained weights generate deterministic text
 * as well as trained ones do. */
static char *
__write_model(const char *dir)
{
    TrainConfig cfg;
    g_assert(train_config_preset("tiny", &cfg) == 0);
    guint64 count = train_param_count(&cfg);
    g_autofree float *params = g_new(float, count);
    train_init_params(&cfg, params);
    g_autofree char *json = train_config_to_json(&cfg);
    const WorkloadSection sections[] = {
        {.name = "config", .data = json, .size = strlen(json)},
        {.name = "params", .data = params, .size = count * sizeof(float)},
    };
    char *model = g_build_filename(dir, "model", NULL);
    g_autoptr(GError) error = NULL;
    if (!workload_checkpoint_write(model, 0, sections, G_N_ELEMENTS(sections), 0, NULL, &error))
        g_error("cannot write the model: %s", error->message);
    return model;
}

static gboolean
__copy_file(const char *from, const char *to)
{
    g_autofree char *bytes = NULL;
    gsize len = 0;
    return g_file_get_contents(from, &bytes, &len, NULL) &&
           g_file_set_contents(to, bytes, (gssize)len, NULL);
}

static gboolean
__result_into(const InferResult *r, gpointer data)
{
    g_hash_table_insert(data, g_memdup2(&r->id, sizeof r->id), g_strdup(r->result));
    return TRUE;
}

/* Every recorded result of @path by item id. */
static GHashTable *
__results(const char *path)
{
    GHashTable *out = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_open(path, &error);
    CU_ASSERT_PTR_NOT_NULL(q);
    if (q != NULL)
        CU_ASSERT_TRUE(infer_queue_foreach_result(q, __result_into, out, &error));
    return out;
}

static InferQueueCounts
__counts_of(const char *path)
{
    InferQueueCounts c = {0};
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) q = infer_queue_open(path, &error);
    CU_ASSERT_PTR_NOT_NULL(q);
    if (q != NULL)
        CU_ASSERT_TRUE(infer_queue_counts(q, g_get_real_time(), &c, &error));
    return c;
}

/* The kill test: several workers on one queue, SIGKILLed at seeded random moments while they
 * hold leases, replaced at once, until the queue is done. No item may be lost or recorded
 * twice, and the results must be those of one uninterrupted worker. */
static void
test_kill_workers(void)
{
    const gboolean slow = __wrapped();
    Worker workers[3] = {{0}};
    const guint n_items = slow ? 60 : 300, n_workers = G_N_ELEMENTS(workers);
    const guint n_kills = slow ? 4 : 10;
    const char *lease = slow ? "3s" : "1s";
    const guint32 seed = (guint32)g_ascii_strtoull(
        g_getenv("SPOTLAB_KILL_SEED") != NULL ? g_getenv("SPOTLAB_KILL_SEED") : "20261127", NULL,
        10);
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *model = __write_model(dir);
    g_autofree char *queue = g_build_filename(dir, "queue.db", NULL);
    g_autofree char *ref = g_build_filename(dir, "reference.db", NULL);
    g_autofree char *items = g_strdup_printf("%u", n_items);
    const char *init[] = {"init", queue, "--prompts", items, "--seed", "5", NULL};
    CU_ASSERT_EQUAL_FATAL(__infer_run(init, 0, NULL), 0);
    /* init closed the queue, so its WAL is folded into the file: a copy is a whole queue. */
    g_autofree char *wal = g_strconcat(queue, "-wal", NULL);
    CU_ASSERT_FALSE(g_file_test(wal, G_FILE_TEST_EXISTS));
    CU_ASSERT_TRUE_FATAL(__copy_file(queue, ref));

    /* The reference: one worker, never interrupted. */
    const char *solo[] = {"work", ref,        "--model", model,     "--worker", "solo", "--batch",
                          "4",    "--tokens", "48",      "--lease", "30s",      NULL};
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL_FATAL(__infer_run(solo, 0, NULL), 0);
    double solo_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    printf("\n    reference: %u items in %.2f s by one worker (%.0f items/s, process start "
           "included)\n",
           n_items, solo_s, n_items / solo_s);

    /* The workers under fire: the kills are spread over the first quarter of the time one
     * worker needs. */
    const double gap_us = MAX(20000.0, solo_s * 1e6 / (4.0 * n_kills));
    GRand *rng = g_rand_new_with_seed(seed);
    guint started = 0, kills = 0, exits_ok = 0, exits_bad = 0;
    t0 = g_get_monotonic_time();
    const gint64 timeout = (slow ? 900 : 120) * G_USEC_PER_SEC;
    gboolean timed_out = FALSE;
    for (guint i = 0; i < n_workers; i++) {
        g_autofree char *name = g_strdup_printf("w%u", started++);
        const char *args[] = {"work", queue,      "--model", model,     "--worker", name, "--batch",
                              "4",    "--tokens", "48",      "--lease", lease,      NULL};
        CU_ASSERT_TRUE_FATAL(__worker_start(&workers[i], dir, name, args));
    }
    for (;;) {
        /* Reap the workers that finished on their own: the queue is done for them. */
        guint alive = 0;
        for (guint i = 0; i < n_workers; i++) {
            if (workers[i].pid == 0)
                continue;
            int status = 0;
            if (waitpid(workers[i].pid, &status, WNOHANG) == workers[i].pid) {
                workers[i].pid = 0;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                    exits_ok++;
                } else {
                    exits_bad++;
                    __worker_show(&workers[i]);
                }
                continue;
            }
            alive++;
        }
        if (alive == 0)
            break;
        if (g_get_monotonic_time() - t0 > timeout) {
            timed_out = TRUE;
            for (guint i = 0; i < n_workers; i++)
                if (workers[i].pid != 0) {
                    __worker_show(&workers[i]);
                    __worker_wait(&workers[i], 0);
                }
            break;
        }
        if (kills >= n_kills) {
            g_usleep(20000);
            continue;
        }
        /* A random pause, then a random worker that is past its start (it reported an item,
         * so it is in its loop, where it holds a batch nearly all the time) dies at once. The
         * pauses scale with the reference run, so that the kills come while the queue still
         * has work, on a fast machine as on a loaded one. */
        g_usleep((gulong)(gap_us * g_rand_double_range(rng, 0.5, 1.5)));
        Worker *eligible[G_N_ELEMENTS(workers)];
        guint n_eligible = 0;
        for (guint i = 0; i < n_workers; i++)
            if (workers[i].pid != 0 && __items_reported(&workers[i]) > 0)
                eligible[n_eligible++] = &workers[i];
        if (n_eligible == 0)
            continue;
        Worker *victim = eligible[g_rand_int_range(rng, 0, (gint32)n_eligible)];
        kill(victim->pid, SIGKILL);
        int status = 0;
        waitpid(victim->pid, &status, 0);
        victim->pid = 0;
        CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        kills++;
        g_autofree char *name = g_strdup_printf("w%u", started++);
        const char *args[] = {"work", queue,      "--model", model,     "--worker", name, "--batch",
                              "4",    "--tokens", "48",      "--lease", lease,      NULL};
        CU_ASSERT_TRUE_FATAL(__worker_start(victim, dir, name, args));
    }
    double kill_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    printf("    kill test: %u items, %u workers at a time, %u started, %u SIGKILLed (seed %u), "
           "lease %s: done in %.2f s\n",
           n_items, n_workers, started, kills, seed, lease, kill_s);
    CU_ASSERT_FALSE(timed_out);
    /* The kills may fall short when the queue is done first (a machine much faster under the
     * fleet than under the lone reference); half of them is still a kill test. */
    CU_ASSERT_TRUE(kills >= n_kills / 2);
    CU_ASSERT_EQUAL(exits_bad, 0);
    CU_ASSERT_TRUE(exits_ok >= 1);

    /* Nothing lost, nothing twice: every item done with exactly one result, no other result. */
    g_auto(InferQueueCounts) c = __counts_of(queue);
    CU_ASSERT_EQUAL(c.items, n_items);
    CU_ASSERT_EQUAL(c.done, n_items);
    CU_ASSERT_EQUAL(c.results, n_items);
    CU_ASSERT_EQUAL(c.pending + c.leased + c.expired, 0);
    g_autoptr(GHashTable) got = __results(queue);
    g_autoptr(GHashTable) want = __results(ref);
    CU_ASSERT_EQUAL(g_hash_table_size(got), n_items);
    CU_ASSERT_EQUAL(g_hash_table_size(want), n_items);
    guint differ = 0;
    g_autoptr(GHashTable) distinct = g_hash_table_new(g_str_hash, g_str_equal);
    for (gint64 id = 1; id <= (gint64)n_items; id++) {
        const char *a = g_hash_table_lookup(got, &id), *b = g_hash_table_lookup(want, &id);
        CU_ASSERT_PTR_NOT_NULL(a);
        if (a == NULL || b == NULL || strcmp(a, b) != 0)
            differ++;
        if (b != NULL)
            g_hash_table_add(distinct, (gpointer)b);
    }
    CU_ASSERT_EQUAL(differ, 0);
    /* The comparison means something only if results depend on the prompt. */
    CU_ASSERT_TRUE(g_hash_table_size(distinct) > n_items / 10);

    /* Each result was reported once, by the worker that recorded it, after the commit: no id
     * twice over all the workers' progress lines (a worker killed between its commit and its
     * report leaves an item unreported), and the workers that ended on their own wrote an exit
     * line "completed". */
    g_autoptr(GHashTable) reported =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    guint duplicates = 0, completed = 0;
    for (guint k = 0; k < started; k++) {
        g_autofree char *path = g_strdup_printf("%s/w%u.progress", dir, k);
        g_autoptr(GPtrArray) lines = __progress_lines(path);
        for (guint i = 0; i < lines->len; i++) {
            const json_t *line = lines->pdata[i];
            CU_ASSERT_PTR_NOT_NULL_FATAL(line);
            if (g_strcmp0(__event(line), "item") == 0) {
                gint64 id = json_integer_value(json_object_get(line, "item"));
                CU_ASSERT_TRUE(id >= 1 && id <= (gint64)n_items);
                if (!g_hash_table_add(reported, g_memdup2(&id, sizeof id)))
                    duplicates++;
            }
            if (g_strcmp0(__event(line), "exit") == 0) {
                CU_ASSERT_EQUAL(i, lines->len - 1);
                CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(line, "reason")),
                                       "completed");
                completed++;
            }
        }
    }
    CU_ASSERT_EQUAL(duplicates, 0);
    CU_ASSERT_EQUAL(completed, exits_ok);
    CU_ASSERT_TRUE(g_hash_table_size(reported) + kills * 4 >= n_items);

    /* The kills hit work in progress: items were leased more than once. */
    guint64 again = 0;
    for (guint k = 2; k < c.attempts->len; k++)
        again += g_array_index(c.attempts, guint64, k);
    printf("    items claimed more than once: %" G_GUINT64_FORMAT
           " (claims in all: %" G_GUINT64_FORMAT ")\n",
           again, c.claims);
    CU_ASSERT_TRUE(again > 0);
    CU_ASSERT_TRUE(c.claims > n_items);
    if (CU_get_number_of_failures() > 0)
        fprintf(stderr, "\nkill test folder kept: %s\n", dir);
    else
        test_tmpdir_remove(dir);
    for (guint i = 0; i < n_workers; i++)
        __worker_clear(&workers[i]);
    g_rand_free(rng);
}

/* SIGTERM: the worker gives its items back at once (long before its lease of 60 s runs out),
 * exits 75 promptly, and its progress ends with a notice and an exit line of reason "notice".
 * Its batch asks for so many tokens that the signal always comes in the middle of it. */
static void
test_sigterm_worker(void)
{
    const gboolean slow = __wrapped();
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *model = __write_model(dir);
    g_autofree char *queue = g_build_filename(dir, "queue.db", NULL);
    const char *init[] = {"init", queue, "--prompts", "40", "--seed", "9", NULL};
    CU_ASSERT_EQUAL_FATAL(__infer_run(init, 0, NULL), 0);
    Worker w = {0};
    const char *args[] = {"work", queue,      "--model", model,     "--worker", "term", "--batch",
                          "8",    "--tokens", "1000000", "--lease", "60s",      NULL};
    CU_ASSERT_TRUE_FATAL(__worker_start(&w, dir, "term", args));

    gint64 until = g_get_monotonic_time() + (slow ? 300 : 60) * G_USEC_PER_SEC;
    gboolean holding = FALSE;
    while (!holding && g_get_monotonic_time() < until) {
        g_auto(InferQueueCounts) c = __counts_of(queue);
        holding = c.leased == 8;
        g_usleep(10000);
    }
    CU_ASSERT_TRUE_FATAL(holding);
    gint64 t0 = g_get_monotonic_time();
    kill(w.pid, SIGTERM);
    int status = __worker_wait(&w, (slow ? 60 : 10) * G_USEC_PER_SEC);
    double took = (double)(g_get_monotonic_time() - t0) / 1e6;
    printf("\n    SIGTERM to exit: %.3f s\n", took);
    CU_ASSERT_EQUAL(status, 75);
    if (status != 75)
        __worker_show(&w);
    CU_ASSERT_TRUE(took < (slow ? 30.0 : 3.0));

    /* Its items are back in the queue now, not in 60 s. */
    g_auto(InferQueueCounts) c = __counts_of(queue);
    CU_ASSERT_EQUAL(c.leased, 0);
    CU_ASSERT_EQUAL(c.expired, 0);
    CU_ASSERT_EQUAL(c.pending, 40);
    CU_ASSERT_EQUAL(c.done, 0);
    CU_ASSERT_EQUAL(c.claims, 8);
    CU_ASSERT_EQUAL(__hist(&c, 1), 8);

    g_autoptr(GPtrArray) lines = __progress_lines(w.progress);
    CU_ASSERT_TRUE_FATAL(lines->len >= 3);
    for (guint i = 0; i < lines->len; i++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(lines->pdata[i]);
    CU_ASSERT_STRING_EQUAL(__event(lines->pdata[0]), "hello");
    const json_t *last = lines->pdata[lines->len - 1];
    CU_ASSERT_STRING_EQUAL(__event(last), "exit");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(last, "reason")), "notice");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(last, "code")), 75);
    const json_t *notice = lines->pdata[lines->len - 2];
    CU_ASSERT_STRING_EQUAL(__event(notice), "notice");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(notice, "source")), "sigterm");

    /* Another worker takes the given-back items at once: the queue is done long before the
     * first worker's leases would have expired. */
    t0 = g_get_monotonic_time();
    const char *next[] = {"work", queue,      "--model", model, "--worker",
                          "next", "--tokens", "8",       NULL};
    CU_ASSERT_EQUAL(__infer_run(next, 0, NULL), 0);
    took = (double)(g_get_monotonic_time() - t0) / 1e6;
    CU_ASSERT_TRUE(took < 50.0);
    g_auto(InferQueueCounts) after = __counts_of(queue);
    CU_ASSERT_EQUAL(after.done, 40);
    CU_ASSERT_EQUAL(__hist(&after, 2), 8);
    if (CU_get_number_of_failures() > 0)
        fprintf(stderr, "\nSIGTERM test folder kept: %s\n", dir);
    else
        test_tmpdir_remove(dir);
    __worker_clear(&w);
}

/* Whether the write lock of @path is free now (a worker stopped inside a transaction would
 * hold it, and every other worker would wait for it). */
static gboolean
__write_lock_free(const char *path)
{
    sqlite3 *db = NULL;
    gboolean free_now =
        sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_exec(db, "BEGIN IMMEDIATE; ROLLBACK;", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return free_now;
}

/* A worker that stalls (SIGSTOP) past its lease loses its items to another worker; when it
 * runs again its renewal finds the leases lost, it records nothing for them, and the results
 * are the other worker's, once each. */
static void
test_stalled_worker(void)
{
    const gboolean slow = __wrapped();
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *model = __write_model(dir);
    g_autofree char *queue = g_build_filename(dir, "queue.db", NULL);
    const char *init[] = {"init", queue, "--prompts", "8", "--seed", "3", NULL};
    CU_ASSERT_EQUAL_FATAL(__infer_run(init, 0, NULL), 0);
    Worker a = {0};
    const char *args[] = {"work",    queue,     "--model", model,      "--worker",
                          "stalled", "--batch", "8",       "--tokens", "1000000",
                          "--lease", "1s",      NULL};
    CU_ASSERT_TRUE_FATAL(__worker_start(&a, dir, "stalled", args));
    gint64 until = g_get_monotonic_time() + (slow ? 300 : 60) * G_USEC_PER_SEC;
    gboolean holding = FALSE;
    while (!holding && g_get_monotonic_time() < until) {
        g_auto(InferQueueCounts) c = __counts_of(queue);
        holding = c.leased == 8;
        g_usleep(10000);
    }
    CU_ASSERT_TRUE_FATAL(holding);
    /* Stop it outside a transaction, then let its leases run out. */
    gboolean stopped = FALSE;
    for (int tries = 0; tries < 1000 && !stopped; tries++) {
        kill(a.pid, SIGSTOP);
        stopped = __write_lock_free(queue);
        if (!stopped) {
            kill(a.pid, SIGCONT);
            g_usleep(1000);
        }
    }
    CU_ASSERT_TRUE_FATAL(stopped);
    gboolean expired = FALSE;
    while (!expired && g_get_monotonic_time() < until) {
        g_usleep(50000);
        g_auto(InferQueueCounts) c = __counts_of(queue);
        expired = c.expired == 8;
    }
    CU_ASSERT_TRUE(expired);
    const char *other[] = {"work",  queue,      "--model", model, "--worker",
                           "other", "--tokens", "6",       NULL};
    CU_ASSERT_EQUAL(__infer_run(other, 0, NULL), 0);
    kill(a.pid, SIGCONT);
    int status = __worker_wait(&a, (slow ? 120 : 20) * G_USEC_PER_SEC);
    CU_ASSERT_EQUAL(status, 0);
    g_autofree char *log = test_read_file(a.log);
    CU_ASSERT_PTR_NOT_NULL(log != NULL ? strstr(log, "the lease was lost") : NULL);
    if (status != 0 || log == NULL || strstr(log, "the lease was lost") == NULL)
        __worker_show(&a);

    g_auto(InferQueueCounts) c = __counts_of(queue);
    CU_ASSERT_EQUAL(c.done, 8);
    CU_ASSERT_EQUAL(c.results, 8);
    CU_ASSERT_EQUAL(__hist(&c, 2), 8);
    g_autoptr(InferQueue) q = infer_queue_open(queue, NULL);
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
    CU_ASSERT_TRUE(q != NULL && infer_queue_foreach_result(q, __collect_all, rows, NULL));
    for (guint i = 0; i < rows->len; i++)
        CU_ASSERT_TRUE(g_str_has_suffix(rows->pdata[i], "@other#2"));
    g_autoptr(GPtrArray) lines = __progress_lines(a.progress);
    CU_ASSERT_TRUE_FATAL(lines->len >= 2);
    const json_t *last = lines->pdata[lines->len - 1];
    CU_ASSERT_STRING_EQUAL(__event(last), "exit");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(last, "reason")), "completed");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(last, "step")), 0);
    if (CU_get_number_of_failures() > 0)
        fprintf(stderr, "\nstalled-worker test folder kept: %s\n", dir);
    else
        test_tmpdir_remove(dir);
    __worker_clear(&a);
}

/* Bad usage and input: exit 2 with a message naming the file. */
static void
test_cli_errors(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *queue = g_build_filename(dir, "queue.db", NULL);
    g_autofree char *prompts = g_build_filename(dir, "prompts.txt", NULL);
    g_autofree char *out = NULL;
    CU_ASSERT_TRUE(g_file_set_contents(prompts, "a fine prompt\n\nNot fine\n", -1, NULL));
    const char *bad_file[] = {"init", queue, "--prompts-file", prompts, NULL};
    CU_ASSERT_EQUAL(__infer_run(bad_file, 2, NULL), 2);
    CU_ASSERT_FALSE(g_file_test(queue, G_FILE_TEST_EXISTS));
    const char *both[] = {"init", queue, "--prompts", "3", "--prompts-file", prompts, NULL};
    CU_ASSERT_EQUAL(__infer_run(both, 2, NULL), 2);
    const char *missing[] = {"status", queue, NULL};
    CU_ASSERT_EQUAL(__infer_run(missing, 2, NULL), 2);
    const char *not_queue[] = {"results", prompts, NULL};
    CU_ASSERT_EQUAL(__infer_run(not_queue, 2, NULL), 2);
    const char *no_model[] = {"work", prompts, NULL};
    CU_ASSERT_EQUAL(__infer_run(no_model, 2, NULL), 2);
    const char *bad_lease[] = {"work", prompts, "--model", dir, "--lease", "soon", NULL};
    CU_ASSERT_EQUAL(__infer_run(bad_lease, 2, NULL), 2);

    /* Good prompts: the item ids are line numbers; results print in id order. */
    CU_ASSERT_TRUE(g_file_set_contents(prompts, "the gpu\n\nwas preempted\n", -1, NULL));
    const char *good[] = {"init", queue, "--prompts-file", prompts, NULL};
    CU_ASSERT_EQUAL(__infer_run(good, 0, NULL), 0);
    const char *again[] = {"init", queue, "--prompts", "5", NULL};
    CU_ASSERT_EQUAL(__infer_run(again, 2, NULL), 2);
    g_autofree char *model = __write_model(dir);
    const char *work[] = {"work", queue, "--model", model, "--tokens", "5", NULL};
    CU_ASSERT_EQUAL(__infer_run(work, 0, NULL), 0);
    const char *results[] = {"results", queue, NULL};
    CU_ASSERT_EQUAL(__infer_run(results, 0, &out), 0);
    g_auto(GStrv) rows = g_strsplit(out, "\n", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(rows), 3);
    CU_ASSERT_TRUE(g_str_has_prefix(rows[0], "1\t"));
    CU_ASSERT_TRUE(g_str_has_prefix(rows[1], "3\t"));
    CU_ASSERT_STRING_EQUAL(rows[2], "");
    g_free(out);
    const char *status[] = {"status", "--json", queue, NULL};
    CU_ASSERT_EQUAL(__infer_run(status, 0, &out), 0);
    json_t *obj = json_loads(out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(obj, "items")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(obj, "done")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(obj, "attempts"), 1)), 2);
    json_decref(obj);
    test_tmpdir_remove(dir);
}

int
main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("queue", NULL, NULL);
    CU_add_test(s, "create, close, reopen", test_create_reopen);
    CU_add_test(s, "create never overwrites", test_create_refuses_existing);
    CU_add_test(s, "open: missing, not SQLite, not a queue, newer", test_open_errors);
    CU_add_test(s, "corrupt file: clear error", test_corrupt_file);
    CU_add_test(s, "add: duplicate ids, all or none", test_add_duplicate);
    CU_add_test(s, "claim and complete", test_claim_complete);
    CU_add_test(s, "lease expiry, theft refused", test_expiry_and_theft);
    CU_add_test(s, "complete a batch", test_complete_batch);
    CU_add_test(s, "renew", test_renew);
    CU_add_test(s, "release", test_release);
    CU_add_test(s, "results, two connections", test_results_and_connections);
    CU_pSuite p = CU_add_suite("spotlab-infer", NULL, NULL);
    CU_add_test(p, "usage and input errors", test_cli_errors);
    CU_add_test(p, "SIGTERM gives the items back at once", test_sigterm_worker);
    CU_add_test(p, "a stalled worker's leases go to another", test_stalled_worker);
    CU_add_test(p, "workers killed at random, none lost or twice", test_kill_workers);
    return test_run_all();
}
