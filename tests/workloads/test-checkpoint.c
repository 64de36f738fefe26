/* Checkpoint files (gpu-workloads/common/checkpoint.c): the byte layout of
 * docs/checkpoints.md, round trips, every kind of damage rejected with its own message, the
 * choice of the latest checkpoint, pruning, clean failures (no temporary file left, nothing
 * under a checkpoint name), a SIGKILL in the middle of a write, and the asynchronous writer. */
#include "checkpoint.h"
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#define MIB ((gsize)1 << 20)

/* Bytes that depend on @seed and on their position, so that a section swapped with another, or
 * shifted, does not compare equal. */
static void
fill(void *buf, gsize size, guint64 seed)
{
    guint8 *p = buf;
    guint64 x = seed * 0x9e3779b97f4a7c15u + 1;
    gsize i = 0;
    for (; i + 8 <= size; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
    for (; i < size; i++)
        p[i] = (guint8)(i * 31 + seed);
}

static gboolean
matches(const void *buf, gsize size, guint64 seed)
{
    g_autofree guint8 *want = g_malloc(size ? size : 1);
    fill(want, size, seed);
    return memcmp(buf, want, size) == 0;
}

/* The sections every test writes: a large one (more than one 8 MiB chunk), an empty one, one
 * that ends one byte into a 4096-byte page, and a small one. */
typedef struct {
    const char *name;
    gsize size;
} Shape;

static const Shape shapes[] = {
    {"params", 9 * MIB + 123},
    {"empty", 0},
    {"adam_m", 4097},
    {"rng", 17},
};

typedef struct {
    WorkloadSection sections[G_N_ELEMENTS(shapes)];
    guint8 *data[G_N_ELEMENTS(shapes)];
} Snapshot;

static void
snapshot_init(Snapshot *s, guint64 step)
{
    for (gsize i = 0; i < G_N_ELEMENTS(shapes); i++) {
        s->data[i] = g_malloc(shapes[i].size ? shapes[i].size : 1);
        fill(s->data[i], shapes[i].size, step * 16 + i);
        s->sections[i] = (WorkloadSection){shapes[i].name, s->data[i], shapes[i].size};
    }
}

static void
snapshot_clear(Snapshot *s)
{
    for (gsize i = 0; i < G_N_ELEMENTS(shapes); i++)
        g_free(s->data[i]);
}

static gboolean
write_step(const char *dir, guint64 step, guint keep_last)
{
    Snapshot s;
    snapshot_init(&s, step);
    g_autoptr(GError) error = NULL;
    gboolean ok = workload_checkpoint_write(dir, step, s.sections, G_N_ELEMENTS(shapes), keep_last,
                                            NULL, &error);
    if (!ok)
        fprintf(stderr, "\nwrite of step %" G_GUINT64_FORMAT ": %s\n", step, error->message);
    snapshot_clear(&s);
    return ok;
}

/* Whether @ckpt holds exactly the sections write_step() wrote for @step. */
static gboolean
holds_step(const WorkloadCheckpoint *ckpt, guint64 step)
{
    if (workload_checkpoint_step(ckpt) != step)
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(shapes); i++) {
        guint64 size = 0;
        const void *data =
            workload_checkpoint_section(ckpt, shapes[i].name, shapes[i].size, &size, NULL);
        if (data == NULL || size != shapes[i].size || !matches(data, size, step * 16 + i))
            return FALSE;
    }
    return TRUE;
}

static char *
ckpt_path(const char *dir, guint64 step)
{
    return g_strdup_printf("%s/ckpt-%012" G_GUINT64_FORMAT ".spck", dir, step);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in @dir, sorted, joined with spaces. */
static char *
list_dir(const char *dir)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, compare_names);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

static guint32
get_u32(const guint8 *p)
{
    return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static guint64
get_u64(const guint8 *p)
{
    return (guint64)get_u32(p) | (guint64)get_u32(p + 4) << 32;
}

static void
put_u32(guint8 *p, guint32 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (guint8)(v >> (8 * i));
}

static void
put_u64(guint8 *p, guint64 v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (guint8)(v >> (8 * i));
}

static guint64
header_checksum(const guint8 *header)
{
    guint8 copy[4096];
    memcpy(copy, header, 4096);
    memset(copy + 4088, 0, 8);
    return XXH3_64bits(copy, 4096);
}

static void
test_round_trip(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *sub = g_build_filename(dir, "a", "b", NULL); /* created by the write */
    Snapshot s;
    snapshot_init(&s, 40);
    WorkloadCheckpointInfo info = {0};
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(
        workload_checkpoint_write(sub, 40, s.sections, G_N_ELEMENTS(shapes), 0, &info, &error));
    CU_ASSERT_PTR_NULL(error);
    g_autofree char *path = ckpt_path(sub, 40);
    CU_ASSERT_STRING_EQUAL(info.path, path);
    GStatBuf st;
    CU_ASSERT_EQUAL(g_stat(path, &st), 0);
    CU_ASSERT_EQUAL(info.bytes, (guint64)st.st_size);
    CU_ASSERT_TRUE(info.seconds > 0 && info.seconds < 60);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0644 & ~(guint)0);
    workload_checkpoint_info_clear(&info);
    CU_ASSERT_PTR_NULL(info.path);
    /* Only the checkpoint is left: no temporary file. */
    g_autofree char *names = list_dir(sub);
    CU_ASSERT_STRING_EQUAL(names, "ckpt-000000000040.spck");

    g_autoptr(WorkloadCheckpoint) ckpt = workload_checkpoint_load(path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ckpt);
    CU_ASSERT_STRING_EQUAL(workload_checkpoint_path(ckpt), path);
    CU_ASSERT_TRUE(holds_step(ckpt, 40));
    /* Section data is aligned for any element type. */
    const void *params = workload_checkpoint_section(ckpt, "params", G_MAXUINT64, NULL, NULL);
    CU_ASSERT_EQUAL((guintptr)params % 16, 0);
    guint64 size = 1;
    CU_ASSERT_PTR_NOT_NULL(workload_checkpoint_section(ckpt, "empty", 0, &size, &error));
    CU_ASSERT_EQUAL(size, 0);

    /* A section of another size names both sizes. */
    CU_ASSERT_PTR_NULL(workload_checkpoint_section(ckpt, "adam_m", 4096, NULL, &error));
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_CORRUPT));
    CU_ASSERT_PTR_NOT_NULL(
        error ? strstr(error->message, "section adam_m: 4097 bytes, expected 4096") : NULL);
    g_clear_error(&error);
    CU_ASSERT_PTR_NULL(workload_checkpoint_section(ckpt, "adam_v", G_MAXUINT64, NULL, &error));
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_MISSING));
    CU_ASSERT_PTR_NOT_NULL(error ? strstr(error->message, "no section adam_v") : NULL);

    /* No sections at all is a valid checkpoint too. */
    CU_ASSERT_TRUE(workload_checkpoint_write(sub, 41, NULL, 0, 0, NULL, NULL));
    g_autofree char *path41 = ckpt_path(sub, 41);
    g_autoptr(WorkloadCheckpoint) none = workload_checkpoint_load(path41, NULL);
    CU_ASSERT_PTR_NOT_NULL(none);
    snapshot_clear(&s);
    test_tmpdir_remove(dir);
}

/* The layout promised by docs/checkpoints.md, read back with independent code. */
static void
test_format_bytes(void)
{
    g_autofree char *dir = test_tmpdir_new();
    CU_ASSERT_TRUE_FATAL(write_step(dir, 0x0102030405ull, 0));
    g_autofree char *path = ckpt_path(dir, 0x0102030405ull);
    gsize len = 0;
    g_autofree guint8 *f = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, (char **)&f, &len, NULL));
    CU_ASSERT_FATAL(len > 4096 + 24);
    CU_ASSERT_EQUAL(memcmp(f, "SPOTCKPT", 8), 0);
    CU_ASSERT_EQUAL(get_u32(f + 8), 1);
    CU_ASSERT_EQUAL(get_u32(f + 12), 4096);
    CU_ASSERT_EQUAL(f[16], 0x05); /* little-endian step */
    CU_ASSERT_EQUAL(get_u64(f + 16), 0x0102030405ull);
    CU_ASSERT_EQUAL(get_u32(f + 24), G_N_ELEMENTS(shapes));
    CU_ASSERT_EQUAL(get_u32(f + 28), 0);
    CU_ASSERT_EQUAL(get_u64(f + 32), len);
    gint64 created = (gint64)get_u64(f + 40);
    CU_ASSERT_TRUE(llabs(created - g_get_real_time()) < 600 * G_USEC_PER_SEC);
    guint64 expected_offset = 4096;
    for (gsize i = 0; i < G_N_ELEMENTS(shapes); i++) {
        const guint8 *e = f + 64 + i * 56;
        CU_ASSERT_STRING_EQUAL((const char *)e, shapes[i].name);
        guint64 offset = get_u64(e + 32), size = get_u64(e + 40);
        CU_ASSERT_EQUAL(offset, expected_offset);
        CU_ASSERT_EQUAL(offset % 4096, 0);
        CU_ASSERT_EQUAL(size, shapes[i].size);
        CU_ASSERT_EQUAL(get_u64(e + 48), XXH3_64bits(f + offset, size));
        expected_offset = (offset + size + 4095) / 4096 * 4096;
        /* Padding between sections is zero. */
        for (guint64 b = offset + size; b < expected_offset && b < len - 24; b++)
            if (f[b] != 0) {
                CU_FAIL("padding is not zero");
                break;
            }
    }
    /* Unused table entries and the reserved room are zero. */
    gboolean zero = TRUE;
    for (gsize b = 64 + G_N_ELEMENTS(shapes) * 56; b < 4088; b++)
        zero = zero && f[b] == 0;
    CU_ASSERT_TRUE(zero);
    for (gsize b = 48; b < 64; b++)
        zero = zero && f[b] == 0;
    CU_ASSERT_TRUE(zero);
    CU_ASSERT_EQUAL(get_u64(f + 4088), header_checksum(f));
    /* The trailer follows the last section's bytes. */
    const Shape *last = &shapes[G_N_ELEMENTS(shapes) - 1];
    CU_ASSERT_EQUAL(len - 24, get_u64(f + 64 + (G_N_ELEMENTS(shapes) - 1) * 56 + 32) + last->size);
    CU_ASSERT_EQUAL(memcmp(f + len - 24, "SPOTDONE", 8), 0);
    CU_ASSERT_EQUAL(get_u64(f + len - 16), len);
    CU_ASSERT_EQUAL(get_u64(f + len - 8), get_u64(f + 4088));
    test_tmpdir_remove(dir);
}

typedef enum { FLIP, TRUNCATE, SET_U32, ZERO, APPEND } Damage;

typedef struct {
    const char *what;
    Damage damage;
    gint64 offset; /* negative: from the end */
    guint32 value;
    gboolean fix_checksum; /* recompute the header checksum after the damage */
    const char *message;
} DamageCase;

static const gint64 params_mid = 4096 + (9 * MIB) / 2;
static const gint64 adam_m_at = 4096 + ((9 * MIB + 123 + 4095) / 4096) * 4096;

static void
run_damage(const DamageCase *c)
{
    g_autofree char *dir = test_tmpdir_new();
    CU_ASSERT_TRUE_FATAL(write_step(dir, 40, 0));
    g_autofree char *path = ckpt_path(dir, 40);
    gsize len = 0;
    g_autofree guint8 *f = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, (char **)&f, &len, NULL));
    gsize at = c->offset < 0 ? len - (gsize)(-c->offset) : (gsize)c->offset;
    switch (c->damage) {
    case FLIP:
        f[at] ^= 0x10;
        break;
    case TRUNCATE:
        len = at;
        break;
    case SET_U32:
        put_u32(f + at, c->value);
        break;
    case ZERO:
        memset(f + at, 0, 8);
        break;
    case APPEND:
        f = g_realloc(f, len + 10);
        memset(f + len, 'x', 10);
        len += 10;
        break;
    }
    if (c->fix_checksum)
        put_u64(f + 4088, header_checksum(f));
    CU_ASSERT_TRUE_FATAL(g_file_set_contents(path, (const char *)f, (gssize)len, NULL));

    g_autoptr(GError) error = NULL;
    g_autoptr(WorkloadCheckpoint) ckpt = workload_checkpoint_load(path, &error);
    CU_ASSERT_PTR_NULL(ckpt);
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_CORRUPT));
    g_autofree char *want = g_strdup_printf("%s: %s", path, c->message);
    if (error == NULL || strstr(error->message, want) == NULL) {
        fprintf(stderr, "\n%s: expected \"%s\", got \"%s\"\n", c->what, want,
                error ? error->message : "no error");
        CU_FAIL("wrong message for a damaged checkpoint");
    }
    test_tmpdir_remove(dir);
}

static void
test_damage_rejected(void)
{
    const DamageCase cases[] = {
        {"byte flipped in the step", FLIP, 20, 0, FALSE,
         "header checksum mismatch (file damaged?)"},
        {"byte flipped in the table", FLIP, 64 + 56 + 40, 0, FALSE,
         "header checksum mismatch (file damaged?)"},
        {"byte flipped in the reserved room", FLIP, 4000, 0, FALSE,
         "header checksum mismatch (file damaged?)"},
        {"byte flipped in the checksum", FLIP, 4090, 0, FALSE,
         "header checksum mismatch (file damaged?)"},
        {"byte flipped in params", FLIP, params_mid, 0, FALSE,
         "section params: checksum mismatch (file damaged?)"},
        {"last byte of params", FLIP, 4096 + 9 * MIB + 122, 0, FALSE,
         "section params: checksum mismatch (file damaged?)"},
        {"byte flipped in adam_m", FLIP, adam_m_at + 4096, 0, FALSE,
         "section adam_m: checksum mismatch (file damaged?)"},
        {"byte flipped in rng", FLIP, -24 - 3, 0, FALSE,
         "section rng: checksum mismatch (file damaged?)"},
        {"cut in half", TRUNCATE, params_mid, 0, FALSE, "truncated: "},
        {"trailer cut off", TRUNCATE, -24, 0, FALSE, "truncated: "},
        {"cut inside the header", TRUNCATE, 100, 0, FALSE, "truncated: 100 bytes"},
        {"empty file", TRUNCATE, 0, 0, FALSE, "not a spotlab checkpoint (bad magic)"},
        {"trailer magic gone", ZERO, -24, 0, FALSE,
         "no completion trailer (the write did not finish)"},
        {"trailer size wrong", FLIP, -16, 0, FALSE, "completion trailer does not match the header"},
        {"trailer checksum wrong", FLIP, -1, 0, FALSE,
         "completion trailer does not match the header"},
        {"wrong magic", FLIP, 3, 0, FALSE, "not a spotlab checkpoint (bad magic)"},
        {"future version", SET_U32, 8, 2, TRUE, "format version 2 is newer than this spotlab"},
        {"version 0", SET_U32, 8, 0, TRUE, "format version 0"},
        {"other header size", SET_U32, 12, 8192, TRUE, "header size 8192, expected 4096"},
        {"too many sections", SET_U32, 24, 65, TRUE, "65 sections, the format holds at most 64"},
        {"section outside the file", SET_U32, 64 + 56 + 32 + 4, 1, TRUE, "section empty: offset"},
        {"bytes appended", APPEND, 0, 0, FALSE, "bytes appended after the trailer"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
        run_damage(&cases[i]);
}

static void
test_not_found(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *missing = g_build_filename(dir, "nothing-here", NULL);
    CU_ASSERT_PTR_NULL(workload_checkpoint_load(missing, &error));
    CU_ASSERT_TRUE(g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_IO));
    CU_ASSERT_PTR_NOT_NULL(error ? strstr(error->message, missing) : NULL);
    g_clear_error(&error);
    /* A missing folder and an empty one: nothing usable. */
    CU_ASSERT_PTR_NULL(workload_checkpoint_load_latest(missing, NULL, &error));
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_NONE));
    g_clear_error(&error);
    CU_ASSERT_PTR_NULL(workload_checkpoint_load_latest(dir, NULL, &error));
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_NONE));
    g_clear_error(&error);
    /* A folder is not a checkpoint. */
    CU_ASSERT_PTR_NULL(workload_checkpoint_load(dir, &error));
    CU_ASSERT_PTR_NOT_NULL(error);
    test_tmpdir_remove(dir);
}

static void
test_latest_skips_damaged(void)
{
    g_autofree char *dir = test_tmpdir_new();
    for (guint64 step = 10; step <= 30; step += 10)
        CU_ASSERT_TRUE_FATAL(write_step(dir, step, 0));
    /* Foreign files that look almost like checkpoints are not candidates. */
    const char *foreign[] = {"ckpt-99.spck", "ckpt-000000000099.spck.bak", "notes.txt",
                             "ckpt-00000000009x.spck"};
    for (gsize i = 0; i < G_N_ELEMENTS(foreign); i++) {
        g_autofree char *p = g_build_filename(dir, foreign[i], NULL);
        CU_ASSERT_TRUE(g_file_set_contents(p, "junk", -1, NULL));
    }

    g_autoptr(GPtrArray) rejected = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(WorkloadCheckpoint) newest = workload_checkpoint_load_latest(dir, rejected, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(newest);
    CU_ASSERT_TRUE(holds_step(newest, 30));
    CU_ASSERT_EQUAL(rejected->len, 0);

    /* Damage the newest: the previous one is chosen and the rejection reported. */
    g_autofree char *p30 = ckpt_path(dir, 30);
    int fd = open(p30, O_WRONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pwrite(fd, "X", 1, (off_t)params_mid), 1);
    close(fd);
    g_autoptr(WorkloadCheckpoint) previous = workload_checkpoint_load_latest(dir, rejected, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(previous);
    CU_ASSERT_TRUE(holds_step(previous, 20));
    CU_ASSERT_EQUAL_FATAL(rejected->len, 1);
    g_autofree char *want = g_strdup_printf("%s: section params: checksum mismatch", p30);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_ptr_array_index(rejected, 0), want));

    /* Nothing usable: every file rejected, one message each. */
    g_autofree char *p20 = ckpt_path(dir, 20), *p10 = ckpt_path(dir, 10);
    CU_ASSERT_TRUE(g_file_set_contents(p20, "SPOTCKPT", -1, NULL));
    CU_ASSERT_TRUE(g_file_set_contents(p10, "", -1, NULL));
    g_ptr_array_set_size(rejected, 0);
    CU_ASSERT_PTR_NULL(workload_checkpoint_load_latest(dir, rejected, &error));
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_NONE));
    CU_ASSERT_EQUAL(rejected->len, 3);
    if (rejected->len == 3) {
        CU_ASSERT_PTR_NOT_NULL(strstr(g_ptr_array_index(rejected, 1), "ckpt-000000000020.spck: "
                                                                      "truncated"));
        CU_ASSERT_PTR_NOT_NULL(strstr(g_ptr_array_index(rejected, 2), "ckpt-000000000010.spck: "
                                                                      "not a spotlab checkpoint"));
    }
    test_tmpdir_remove(dir);
}

/* A gang's ranks: the newest step every peer folder holds too, checked by name only. */
static void
test_latest_common(void)
{
    g_autofree char *root = test_tmpdir_new();
    g_autofree char *a = g_build_filename(root, "rank-0", NULL);
    g_autofree char *b = g_build_filename(root, "rank-1", NULL);
    g_autofree char *c = g_build_filename(root, "rank-2", NULL);
    const guint64 steps_a[] = {10, 20, 30}, steps_b[] = {10, 20, 31}, steps_c[] = {10, 30};
    for (gsize i = 0; i < G_N_ELEMENTS(steps_a); i++)
        CU_ASSERT_TRUE_FATAL(write_step(a, steps_a[i], 0));
    for (gsize i = 0; i < G_N_ELEMENTS(steps_b); i++)
        CU_ASSERT_TRUE_FATAL(write_step(b, steps_b[i], 0));
    for (gsize i = 0; i < G_N_ELEMENTS(steps_c); i++)
        CU_ASSERT_TRUE_FATAL(write_step(c, steps_c[i], 0));
    g_autoptr(GError) error = NULL;
    /* No peers: the newest. */
    g_autoptr(WorkloadCheckpoint) own =
        workload_checkpoint_load_latest_common(a, NULL, NULL, &error);
    CU_ASSERT_TRUE(own != NULL && holds_step(own, 30));
    /* With rank 1: 30 is rank 0's alone, 20 both hold. */
    const char *one[] = {b, NULL};
    g_autoptr(WorkloadCheckpoint) with_b =
        workload_checkpoint_load_latest_common(a, one, NULL, &error);
    CU_ASSERT_TRUE(with_b != NULL && holds_step(with_b, 20));
    /* With both: only 10 is everyone's. */
    const char *both[] = {b, c, NULL};
    g_autoptr(WorkloadCheckpoint) with_all =
        workload_checkpoint_load_latest_common(a, both, NULL, &error);
    CU_ASSERT_TRUE(with_all != NULL && holds_step(with_all, 10));
    /* A peer with nothing in common (a missing folder): none, and the message says why. */
    g_autofree char *gone = g_build_filename(root, "rank-3", NULL);
    const char *none[] = {b, gone, NULL};
    CU_ASSERT_PTR_NULL(workload_checkpoint_load_latest_common(a, none, NULL, &error));
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_NONE));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "every peer folder holds")
                                         : NULL);
    test_tmpdir_remove(root);
}

/* A pid that belonged to a process that is gone. The process is a program, not a fork of
 * this one, so that valgrind (which follows forks) has nothing to report about it. */
static pid_t
dead_pid(void)
{
    char *argv[] = {"true", NULL};
    GPid pid = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_async(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                       NULL, &pid, &error))
        g_error("cannot run true: %s", error->message);
    waitpid(pid, NULL, 0);
    return pid;
}

static void
touch(const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    CU_ASSERT_TRUE(g_file_set_contents(p, "x", -1, NULL));
}

static void
test_keep_last(void)
{
    g_autofree char *dir = test_tmpdir_new();
    const char *foreign[] = {"notes.txt", "ckpt-1.spck", "ckpt-000000000001.spck.bak",
                             ".ckpt-000000000002.spck.tmp-abc", "ckpt-000000000003.spck~"};
    for (gsize i = 0; i < G_N_ELEMENTS(foreign); i++)
        touch(dir, foreign[i]);
    g_autofree char *sub = g_build_filename(dir, "ckpt-000000000000.spck.d", NULL);
    g_mkdir(sub, 0755);
    /* Temporary files: of a process that is gone (removed), of one that lives (kept: pid 1
     * always does), and of this very process but written by no thread of it (an earlier process
     * with the same pid, as in a restarted container: removed). */
    g_autofree char *dead = g_strdup_printf(".ckpt-000000000009.spck.tmp-%d", (int)dead_pid());
    g_autofree char *self = g_strdup_printf(".ckpt-000000000008.spck.tmp-%d", (int)getpid());
    touch(dir, dead);
    touch(dir, ".ckpt-000000000007.spck.tmp-1");
    touch(dir, self);

    for (guint64 step = 1; step <= 6; step++)
        CU_ASSERT_TRUE_FATAL(write_step(dir, step, 3));
    g_autofree char *names = list_dir(dir);
    CU_ASSERT_STRING_EQUAL(names, ".ckpt-000000000002.spck.tmp-abc .ckpt-000000000007.spck.tmp-1 "
                                  "ckpt-000000000000.spck.d ckpt-000000000001.spck.bak "
                                  "ckpt-000000000003.spck~ ckpt-000000000004.spck "
                                  "ckpt-000000000005.spck ckpt-000000000006.spck ckpt-1.spck "
                                  "notes.txt");
    /* A step below the newest ones (a deliberate rewind) is kept: the file just written is never
     * pruned. */
    CU_ASSERT_TRUE(write_step(dir, 2, 3));
    g_autofree char *after = list_dir(dir);
    CU_ASSERT_STRING_EQUAL(after, ".ckpt-000000000002.spck.tmp-abc .ckpt-000000000007.spck.tmp-1 "
                                  "ckpt-000000000000.spck.d ckpt-000000000001.spck.bak "
                                  "ckpt-000000000002.spck ckpt-000000000003.spck~ "
                                  "ckpt-000000000004.spck ckpt-000000000005.spck "
                                  "ckpt-000000000006.spck ckpt-1.spck notes.txt");
    /* 0 keeps everything. */
    CU_ASSERT_TRUE(write_step(dir, 7, 0));
    g_autofree char *all = list_dir(dir);
    CU_ASSERT_STRING_EQUAL(all, ".ckpt-000000000002.spck.tmp-abc .ckpt-000000000007.spck.tmp-1 "
                                "ckpt-000000000000.spck.d ckpt-000000000001.spck.bak "
                                "ckpt-000000000002.spck ckpt-000000000003.spck~ "
                                "ckpt-000000000004.spck ckpt-000000000005.spck "
                                "ckpt-000000000006.spck ckpt-000000000007.spck ckpt-1.spck "
                                "notes.txt");
    test_tmpdir_remove(dir);
}

static void
expect_invalid(const char *dir, const WorkloadSection *sections, guint n, const char *message)
{
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FALSE(workload_checkpoint_write(dir, 5, sections, n, 0, NULL, &error));
    CU_ASSERT_TRUE(
        g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_INVALID));
    if (error == NULL || strstr(error->message, message) == NULL) {
        fprintf(stderr, "\nexpected \"%s\", got \"%s\"\n", message,
                error ? error->message : "no error");
        CU_FAIL("wrong message for a checkpoint the format cannot hold");
    }
}

static void
test_invalid_sections(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *sub = g_build_filename(dir, "never", NULL);
    static const char byte = 1;
    WorkloadSection many[WORKLOAD_CHECKPOINT_SECTIONS_MAX + 1];
    char names[WORKLOAD_CHECKPOINT_SECTIONS_MAX + 1][16];
    for (int i = 0; i <= WORKLOAD_CHECKPOINT_SECTIONS_MAX; i++) {
        g_snprintf(names[i], sizeof names[i], "layer%d", i);
        many[i] = (WorkloadSection){names[i], &byte, 1};
    }
    expect_invalid(sub, many, WORKLOAD_CHECKPOINT_SECTIONS_MAX + 1,
                   "65 sections, the format holds at most 64");
    WorkloadSection bad[2] = {{"a", &byte, 1}, {"a", &byte, 1}};
    expect_invalid(sub, bad, 2, "section 1: name \"a\" repeats section 0");
    bad[1].name = "";
    expect_invalid(sub, bad, 2, "section 1: name \"\" is 0 bytes, expected 1 to 31");
    bad[1].name = "0123456789012345678901234567890123"; /* 34 bytes */
    expect_invalid(sub, bad, 2, "is 34 bytes, expected 1 to 31");
    /* Nothing was created, not even the folder. */
    CU_ASSERT_FALSE(g_file_test(sub, G_FILE_TEST_EXISTS));

    /* The most the header holds, with a name of the longest length, works. */
    bad[1].name = "012345678901234567890123456789X"; /* 31 bytes */
    many[1].name = bad[1].name;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(
        workload_checkpoint_write(dir, 5, many, WORKLOAD_CHECKPOINT_SECTIONS_MAX, 0, NULL, &error));
    g_autofree char *path = ckpt_path(dir, 5);
    g_autoptr(WorkloadCheckpoint) ckpt = workload_checkpoint_load(path, &error);
    CU_ASSERT_PTR_NOT_NULL(ckpt);
    if (ckpt != NULL) {
        const char *one = workload_checkpoint_section(ckpt, "layer63", 1, NULL, NULL);
        CU_ASSERT_TRUE(one != NULL && *one == 1);
        CU_ASSERT_PTR_NOT_NULL(workload_checkpoint_section(ckpt, bad[1].name, 1, NULL, NULL));
    }
    test_tmpdir_remove(dir);
}

static void
test_unwritable_folder(void)
{
    g_autofree char *dir = test_tmpdir_new();
    /* A folder under a regular file cannot exist, for root too. */
    g_autofree char *file = g_build_filename(dir, "plain-file", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(file, "x", -1, NULL));
    g_autofree char *under = g_build_filename(file, "ckpt", NULL);
    Snapshot s;
    snapshot_init(&s, 1);
    WorkloadCheckpointInfo info = {0};
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FALSE(
        workload_checkpoint_write(under, 1, s.sections, G_N_ELEMENTS(shapes), 0, &info, &error));
    CU_ASSERT_TRUE(g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_IO));
    g_autofree char *want =
        g_strdup_printf("%s: cannot create the folder: %s", under, g_strerror(ENOTDIR));
    CU_ASSERT_STRING_EQUAL(error ? error->message : "", want);
    g_autofree char *would_be = ckpt_path(under, 1);
    CU_ASSERT_STRING_EQUAL(info.path, would_be);
    CU_ASSERT_EQUAL(info.bytes, 0);
    workload_checkpoint_info_clear(&info);
    g_clear_error(&error);

    /* A folder without write permission: root writes anyway, so only others can check it. */
    if (geteuid() != 0) {
        g_autofree char *ro = g_build_filename(dir, "read-only", NULL);
        g_mkdir(ro, 0555);
        CU_ASSERT_FALSE(
            workload_checkpoint_write(ro, 1, s.sections, G_N_ELEMENTS(shapes), 0, NULL, &error));
        CU_ASSERT_PTR_NOT_NULL(error ? strstr(error->message, g_strerror(EACCES)) : NULL);
        CU_ASSERT_PTR_NOT_NULL(error ? strstr(error->message, ro) : NULL);
        CU_ASSERT_TRUE(test_dir_is_empty(ro));
        g_chmod(ro, 0755);
    }
    snapshot_clear(&s);
    test_tmpdir_remove(dir);
}

/* A write that fails half-way (the file size limit, EFBIG) leaves the folder as it was: the
 * previous checkpoint, no temporary file. The limit and SIGXFSZ are set for the test only (no
 * other thread writes meanwhile) and restored after. */
static void
test_failure_mid_write(void)
{
    g_autofree char *dir = test_tmpdir_new();
    CU_ASSERT_TRUE_FATAL(write_step(dir, 1, 0));
    struct rlimit saved;
    CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    void (*saved_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4 * MIB, saved.rlim_max};
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &limit) == 0);

    Snapshot s;
    snapshot_init(&s, 2);
    WorkloadCheckpointInfo info = {0};
    g_autoptr(GError) error = NULL;
    gboolean ok =
        workload_checkpoint_write(dir, 2, s.sections, G_N_ELEMENTS(shapes), 1, &info, &error);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, saved_handler);

    CU_ASSERT_FALSE(ok);
    CU_ASSERT_TRUE(g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_IO));
    g_autofree char *want = g_strdup_printf("%s/.ckpt-000000000002.spck.tmp-%d: cannot write: %s",
                                            dir, (int)getpid(), g_strerror(EFBIG));
    CU_ASSERT_STRING_EQUAL(error ? error->message : "", want);
    g_autofree char *names = list_dir(dir);
    CU_ASSERT_STRING_EQUAL(names, "ckpt-000000000001.spck");
    g_autofree char *would_be = ckpt_path(dir, 2);
    CU_ASSERT_STRING_EQUAL(info.path ? info.path : "", would_be);
    CU_ASSERT_EQUAL(info.bytes, 0);
    workload_checkpoint_info_clear(&info);
    snapshot_clear(&s);
    g_autoptr(WorkloadCheckpoint) ckpt = workload_checkpoint_load_latest(dir, NULL, NULL);
    CU_ASSERT_TRUE(ckpt != NULL && holds_step(ckpt, 1));
    test_tmpdir_remove(dir);
}

/* SIGKILL at a random moment of a loop of writes: whatever the moment, every file under a
 * checkpoint name is complete, the latest loads, and the next write clears the temporary file
 * of the killed writer. */
static void
test_sigkill_during_write(void)
{
    GRand *rand = g_rand_new_with_seed(0x5107);
    for (int round = 0; round < 4; round++) {
        g_autofree char *dir = test_tmpdir_new();
        int ready[2];
        CU_ASSERT_FATAL(pipe(ready) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(ready[0]);
            for (guint64 step = 1;; step++) {
                if (!write_step(dir, step, 2))
                    _exit(1);
                if (step == 1 && write(ready[1], "1", 1) != 1)
                    _exit(1);
            }
        }
        close(ready[1]);
        char c;
        CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
        close(ready[0]);
        g_usleep((gulong)g_rand_int_range(rand, 0, 300000));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;
        guint64 newest = 0;
        while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
            if (!g_str_has_prefix(name, "ckpt-"))
                continue;
            g_autofree char *p = g_build_filename(dir, name, NULL);
            g_autoptr(GError) error = NULL;
            g_autoptr(WorkloadCheckpoint) ckpt = workload_checkpoint_load(p, &error);
            if (ckpt == NULL) {
                fprintf(stderr, "\nhalf a file under a checkpoint name: %s\n", error->message);
                CU_FAIL("a checkpoint name holds an incomplete file");
                continue;
            }
            CU_ASSERT_TRUE(holds_step(ckpt, workload_checkpoint_step(ckpt)));
            newest = MAX(newest, workload_checkpoint_step(ckpt));
        }
        g_autoptr(GPtrArray) rejected = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(WorkloadCheckpoint) latest = workload_checkpoint_load_latest(dir, rejected, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(latest);
        CU_ASSERT_EQUAL(workload_checkpoint_step(latest), newest);
        CU_ASSERT_EQUAL(rejected->len, 0);

        /* The next writer (a restarted workload) removes the killed one's temporary file. */
        CU_ASSERT_TRUE(write_step(dir, newest + 1, 2));
        g_autofree char *names = list_dir(dir);
        CU_ASSERT_PTR_NULL(strstr(names, ".tmp-"));
        test_tmpdir_remove(dir);
    }
    g_rand_free(rand);
}

/* The asynchronous writer. The done callback blocks until the test opens a gate, which holds
 * the write "in flight" as long as the test needs. */
typedef struct {
    GMutex lock;
    GCond cond;
    gboolean gate_open;
    GArray *steps;   /* guint64 per callback */
    GThread *thread; /* the thread the callback ran on */
    gboolean failed;
    char *message;
    char *path;
} Gate;

static void
gate_init(Gate *g, gboolean open)
{
    g_mutex_init(&g->lock);
    g_cond_init(&g->cond);
    g->gate_open = open;
    g->steps = g_array_new(FALSE, FALSE, sizeof(guint64));
    g->thread = NULL;
    g->failed = FALSE;
    g->message = NULL;
    g->path = NULL;
}

static void
gate_clear(Gate *g)
{
    g_array_unref(g->steps);
    g_free(g->message);
    g_free(g->path);
    g_mutex_clear(&g->lock);
    g_cond_clear(&g->cond);
}

static void
gate_open(Gate *g)
{
    g_mutex_lock(&g->lock);
    g->gate_open = TRUE;
    g_cond_broadcast(&g->cond);
    g_mutex_unlock(&g->lock);
}

static void
on_done(guint64 step, const WorkloadCheckpointInfo *info, const GError *error, gpointer data)
{
    Gate *g = data;
    g_mutex_lock(&g->lock);
    g_array_append_val(g->steps, step);
    g->thread = g_thread_self();
    g->failed = error != NULL;
    g_free(g->message);
    g->message = error ? g_strdup(error->message) : NULL;
    g_free(g->path);
    g->path = g_strdup(info ? info->path : NULL);
    while (!g->gate_open)
        g_cond_wait(&g->cond, &g->lock);
    g_mutex_unlock(&g->lock);
}

typedef struct {
    WorkloadCheckpointWriter *writer;
    gint returned;
    void *buffer;
} BufferCall;

static gpointer
ask_buffer(gpointer data)
{
    BufferCall *call = data;
    call->buffer = workload_checkpoint_writer_buffer(call->writer, 0, "params", 1000);
    g_atomic_int_set(&call->returned, 1);
    return NULL;
}

static void
test_async_writer(void)
{
    g_autofree char *dir = test_tmpdir_new();
    Gate gate;
    gate_init(&gate, FALSE);
    WorkloadCheckpointWriter *w = workload_checkpoint_writer_new(dir, 2, on_done, &gate);
    guint64 step = 0;
    CU_ASSERT_FALSE(workload_checkpoint_writer_busy(w, &step));
    CU_ASSERT_TRUE(workload_checkpoint_writer_wait(w, NULL));

    guint8 *params = workload_checkpoint_writer_buffer(w, 0, "params", 1000);
    guint8 *moments = workload_checkpoint_writer_buffer(w, 1, "adam_m", 9 * MIB);
    CU_ASSERT_PTR_NOT_NULL_FATAL(params);
    CU_ASSERT_PTR_NOT_NULL_FATAL(moments);
    fill(params, 1000, 100);
    fill(moments, 9 * MIB, 101);
    gint64 t0 = g_get_monotonic_time();
    workload_checkpoint_writer_submit(w, 10, 2);
    /* submit returns at once, even though the write cannot finish until the gate opens */
    CU_ASSERT_TRUE(g_get_monotonic_time() - t0 < G_USEC_PER_SEC);
    CU_ASSERT_TRUE(workload_checkpoint_writer_busy(w, &step));
    CU_ASSERT_EQUAL(step, 10);

    /* The training side asks for the next snapshot's buffer: it must wait for the write. */
    BufferCall call = {w, 0, NULL};
    GThread *asker = g_thread_new("asker", ask_buffer, &call);
    g_usleep(200000);
    CU_ASSERT_EQUAL(g_atomic_int_get(&call.returned), 0);
    CU_ASSERT_TRUE(workload_checkpoint_writer_busy(w, NULL));
    gate_open(&gate);
    g_thread_join(asker);
    CU_ASSERT_EQUAL(g_atomic_int_get(&call.returned), 1);
    /* The same buffer, reused: the size did not grow. */
    CU_ASSERT_PTR_EQUAL(call.buffer, params);
    CU_ASSERT_FALSE(workload_checkpoint_writer_busy(w, NULL));
    CU_ASSERT_TRUE(workload_checkpoint_writer_wait(w, NULL));
    g_mutex_lock(&gate.lock);
    CU_ASSERT_EQUAL(gate.steps->len, 1);
    CU_ASSERT_EQUAL(gate.steps->len ? g_array_index(gate.steps, guint64, 0) : 0, 10);
    CU_ASSERT_FALSE(gate.failed);
    CU_ASSERT_PTR_NOT_NULL(gate.thread);
    CU_ASSERT_PTR_NOT_EQUAL(gate.thread, g_thread_self());
    g_autofree char *p10 = ckpt_path(dir, 10);
    CU_ASSERT_STRING_EQUAL(gate.path ? gate.path : "", p10);
    g_mutex_unlock(&gate.lock);

    /* The next snapshot overwrites the reused buffers; step 10 on disk keeps what was
     * submitted. A smaller size reuses the buffer too. */
    CU_ASSERT_PTR_EQUAL(workload_checkpoint_writer_buffer(w, 1, "adam_m", 5000), moments);
    fill(params, 1000, 200);
    fill(moments, 5000, 201);
    workload_checkpoint_writer_submit(w, 20, 2);
    CU_ASSERT_TRUE(workload_checkpoint_writer_wait(w, NULL));
    g_autoptr(WorkloadCheckpoint) c10 = workload_checkpoint_load(p10, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c10);
    const void *a = workload_checkpoint_section(c10, "params", 1000, NULL, NULL);
    const void *b = workload_checkpoint_section(c10, "adam_m", 9 * MIB, NULL, NULL);
    CU_ASSERT_TRUE(a != NULL && matches(a, 1000, 100));
    CU_ASSERT_TRUE(b != NULL && matches(b, 9 * MIB, 101));
    g_autofree char *p20 = ckpt_path(dir, 20);
    g_autoptr(WorkloadCheckpoint) c20 = workload_checkpoint_load(p20, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c20);
    a = workload_checkpoint_section(c20, "params", 1000, NULL, NULL);
    b = workload_checkpoint_section(c20, "adam_m", 5000, NULL, NULL);
    CU_ASSERT_TRUE(a != NULL && matches(a, 1000, 200));
    CU_ASSERT_TRUE(b != NULL && matches(b, 5000, 201));

    /* A third write prunes to keep_last = 2; free waits for the write in flight. */
    params = workload_checkpoint_writer_buffer(w, 0, "params", 1000);
    fill(params, 1000, 300);
    workload_checkpoint_writer_submit(w, 30, 1);
    workload_checkpoint_writer_free(w);
    g_autofree char *names = list_dir(dir);
    CU_ASSERT_STRING_EQUAL(names, "ckpt-000000000020.spck ckpt-000000000030.spck");
    CU_ASSERT_EQUAL(gate.steps->len, 3);
    CU_ASSERT_EQUAL(gate.steps->len == 3 ? g_array_index(gate.steps, guint64, 2) : 0, 30);
    gate_clear(&gate);
    test_tmpdir_remove(dir);
}

static void
test_async_writer_error(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *file = g_build_filename(dir, "plain-file", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(file, "x", -1, NULL));
    g_autofree char *under = g_build_filename(file, "ckpt", NULL);
    Gate gate;
    gate_init(&gate, TRUE);
    g_autoptr(WorkloadCheckpointWriter) w =
        workload_checkpoint_writer_new(under, 0, on_done, &gate);
    fill(workload_checkpoint_writer_buffer(w, 0, "params", 100), 100, 1);
    workload_checkpoint_writer_submit(w, 7, 1);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FALSE(workload_checkpoint_writer_wait(w, &error));
    CU_ASSERT_TRUE(g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_IO));
    CU_ASSERT_PTR_NOT_NULL(error ? strstr(error->message, under) : NULL);
    g_mutex_lock(&gate.lock);
    CU_ASSERT_TRUE(gate.failed);
    CU_ASSERT_EQUAL(gate.steps->len ? g_array_index(gate.steps, guint64, 0) : 0, 7);
    CU_ASSERT_STRING_EQUAL(gate.message ? gate.message : "", error ? error->message : "-");
    g_autofree char *would_be = ckpt_path(under, 7);
    CU_ASSERT_STRING_EQUAL(gate.path ? gate.path : "", would_be);
    g_mutex_unlock(&gate.lock);
    /* The error was handed out once. */
    CU_ASSERT_TRUE(workload_checkpoint_writer_wait(w, NULL));
    g_clear_pointer(&w, workload_checkpoint_writer_free);
    /* free without any write, and of NULL */
    workload_checkpoint_writer_free(workload_checkpoint_writer_new(dir, 0, NULL, NULL));
    workload_checkpoint_writer_free(NULL);
    gate_clear(&gate);
    test_tmpdir_remove(dir);
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("checkpoint", NULL, NULL);
    CU_add_test(s, "round trip", test_round_trip);
    CU_add_test(s, "the documented byte layout", test_format_bytes);
    CU_add_test(s, "every kind of damage is rejected with its message", test_damage_rejected);
    CU_add_test(s, "missing files and folders", test_not_found);
    CU_add_test(s, "load_latest skips a damaged newest", test_latest_skips_damaged);
    CU_add_test(s, "load_latest_common: the newest step every peer holds", test_latest_common);
    CU_add_test(s, "keep_last prunes, foreign files stay", test_keep_last);
    CU_add_test(s, "what the format cannot hold", test_invalid_sections);
    CU_add_test(s, "unwritable folder", test_unwritable_folder);
    CU_add_test(s, "failure half-way leaves no trace", test_failure_mid_write);
    CU_add_test(s, "SIGKILL during writes", test_sigkill_during_write);
    CU_add_test(s, "asynchronous writer", test_async_writer);
    CU_add_test(s, "asynchronous writer errors", test_async_writer_error);
    return test_run_all();
}
