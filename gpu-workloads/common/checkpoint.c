/* spotlab workloads: checkpoint files (see checkpoint.h and docs/checkpoints.md).
 *
 * The writer streams each section straight from the caller's memory to the file in large
 * write(2) calls and hashes the same chunk on the way, so the payload is never copied in user
 * space; the header, whose table needs the checksums, is written last with pwrite(2) over a
 * placeholder. After each chunk the kernel is asked to start writing it to the disk
 * (sync_file_range on Linux), so the disk works while the next chunk is hashed and copied and
 * the final fsync has little left to wait for. The reader reads the whole file into one buffer
 * (see workload_checkpoint_load for why not mmap) and checks everything before it hands a
 * section out.
 */
#ifdef __linux__
/* sync_file_range(2) is a GNU extension. */
#define _GNU_SOURCE
#endif
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <xxhash.h>

G_DEFINE_QUARK(spotlab - workload - checkpoint - error - quark, workload_checkpoint_error)

/* The layout, byte by byte, is in docs/checkpoints.md; keep both in step. */
#define CKPT_MAGIC         "SPOTCKPT"
#define CKPT_TRAILER_MAGIC "SPOTDONE"
#define CKPT_HEADER_SIZE   4096u
#define CKPT_ALIGN         4096u
#define CKPT_OFF_VERSION   8
#define CKPT_OFF_HEADER_SZ 12
#define CKPT_OFF_STEP      16
#define CKPT_OFF_COUNT     24
#define CKPT_OFF_FLAGS     28
#define CKPT_OFF_FILE_SIZE 32
#define CKPT_OFF_CREATED   40
#define CKPT_OFF_TABLE     64
#define CKPT_ENTRY_SIZE    56 /* name[32], offset u64, size u64, xxh3 u64 */
#define CKPT_OFF_CHECKSUM  (CKPT_HEADER_SIZE - 8)
#define CKPT_TRAILER_SIZE  24 /* "SPOTDONE", file size u64, header checksum u64 */
#define CKPT_NAME_PREFIX   "ckpt-"
#define CKPT_NAME_SUFFIX   ".spck"
#define CKPT_TMP_PREFIX    ".ckpt-"
#define CKPT_TMP_INFIX     ".spck.tmp-"
/* Large enough that syscall overhead vanishes, small enough that the chunk just hashed is still
 * in the cache when write(2) copies it into the page cache. */
#define CKPT_CHUNK ((gsize)8 << 20)

G_STATIC_ASSERT(CKPT_OFF_TABLE + WORKLOAD_CHECKPOINT_SECTIONS_MAX * CKPT_ENTRY_SIZE <=
                CKPT_OFF_CHECKSUM);
G_STATIC_ASSERT(WORKLOAD_CHECKPOINT_NAME_MAX == 32);

typedef struct {
    char name[WORKLOAD_CHECKPOINT_NAME_MAX];
    guint64 offset;
    guint64 size;
    guint64 checksum;
} CkptEntry;

struct WorkloadCheckpoint {
    char *path;
    guint64 step;
    guint8 *data; /* the whole file */
    guint64 size;
    guint n_sections;
    CkptEntry sections[WORKLOAD_CHECKPOINT_SECTIONS_MAX];
};

/* Little-endian fields, whatever the host's byte order. */
static void
__put_u32(guint8 *p, guint32 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (guint8)(v >> (8 * i));
}

static void
__put_u64(guint8 *p, guint64 v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (guint8)(v >> (8 * i));
}

static guint32
__get_u32(const guint8 *p)
{
    guint32 v = 0;
    for (int i = 0; i < 4; i++)
        v |= (guint32)p[i] << (8 * i);
    return v;
}

static guint64
__get_u64(const guint8 *p)
{
    guint64 v = 0;
    for (int i = 0; i < 8; i++)
        v |= (guint64)p[i] << (8 * i);
    return v;
}

static guint64
__align_up(guint64 v)
{
    return (v + (CKPT_ALIGN - 1)) & ~(guint64)(CKPT_ALIGN - 1);
}

/* XXH3-64 of the header with its checksum field taken as zero. */
static guint64
__header_checksum(const guint8 *header)
{
    guint8 copy[CKPT_HEADER_SIZE];
    memcpy(copy, header, CKPT_OFF_CHECKSUM);
    memset(copy + CKPT_OFF_CHECKSUM, 0, CKPT_HEADER_SIZE - CKPT_OFF_CHECKSUM);
    return XXH3_64bits(copy, sizeof copy);
}

static char *
__file_name(guint64 step)
{
    return g_strdup_printf(CKPT_NAME_PREFIX "%012" G_GUINT64_FORMAT CKPT_NAME_SUFFIX, step);
}

/* Whether @name is exactly the name this module gives the checkpoint of some step (the
 * zero-padded form, nothing more), and which step. */
static gboolean
__parse_file_name(const char *name, guint64 *step)
{
    gsize len = strlen(name);
    gsize pre = strlen(CKPT_NAME_PREFIX), suf = strlen(CKPT_NAME_SUFFIX);
    if (len < pre + 12 + suf || !g_str_has_prefix(name, CKPT_NAME_PREFIX) ||
        !g_str_has_suffix(name, CKPT_NAME_SUFFIX) || len - pre - suf > 20)
        return FALSE;
    char digits[21];
    memcpy(digits, name + pre, len - pre - suf);
    digits[len - pre - suf] = '\0';
    guint64 v;
    if (!g_ascii_string_to_unsigned(digits, 10, 0, G_MAXUINT64, &v, NULL))
        return FALSE;
    g_autofree char *canonical = __file_name(v);
    if (strcmp(canonical, name) != 0)
        return FALSE;
    *step = v;
    return TRUE;
}

/* The pid of a temporary file's writer when @name is one (".ckpt-STEP.spck.tmp-PID"). */
static gboolean
__parse_tmp_name(const char *name, gint64 *pid)
{
    if (!g_str_has_prefix(name, CKPT_TMP_PREFIX))
        return FALSE;
    const char *infix = strstr(name, CKPT_TMP_INFIX);
    if (infix == NULL)
        return FALSE;
    guint64 v;
    if (!g_ascii_string_to_unsigned(infix + strlen(CKPT_TMP_INFIX), 10, 1, G_MAXINT32, &v, NULL))
        return FALSE;
    *pid = (gint64)v;
    return TRUE;
}

/* The temporary files this process is writing now: pruning must not take them for the
 * leftovers of an earlier process that had the same pid (pids repeat in containers). */
G_LOCK_DEFINE_STATIC(in_flight);
static GHashTable *in_flight_paths;

static void
__in_flight_add(const char *path)
{
    G_LOCK(in_flight);
    if (in_flight_paths == NULL)
        in_flight_paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add(in_flight_paths, g_strdup(path));
    G_UNLOCK(in_flight);
}

static void
__in_flight_remove(const char *path)
{
    G_LOCK(in_flight);
    g_hash_table_remove(in_flight_paths, path);
    G_UNLOCK(in_flight);
}

static gboolean
__in_flight_has(const char *path)
{
    G_LOCK(in_flight);
    gboolean has = in_flight_paths != NULL && g_hash_table_contains(in_flight_paths, path);
    G_UNLOCK(in_flight);
    return has;
}

static gboolean
__io_error(GError **error, const char *path, const char *what, int err)
{
    g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_IO, "%s: %s: %s", path,
                what, g_strerror(err));
    return FALSE;
}

/* write(2) all of @len bytes: a short write continues where it stopped, EINTR retries. */
static gboolean
__write_all(int fd, const void *buf, gsize len, const char *path, GError **error)
{
    const guint8 *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return __io_error(error, path, "cannot write", errno);
        }
        if (n == 0)
            return __io_error(error, path, "cannot write", EIO);
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static gboolean
__pwrite_all(int fd, const void *buf, gsize len, off_t offset, const char *path, GError **error)
{
    const guint8 *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return __io_error(error, path, "cannot write the header", errno);
        }
        if (n == 0)
            return __io_error(error, path, "cannot write the header", EIO);
        p += n;
        len -= (gsize)n;
        offset += n;
    }
    return TRUE;
}

static int
__fsync(int fd)
{
    int rc;
    do
        rc = fsync(fd);
    while (rc < 0 && errno == EINTR);
    return rc;
}

/* Makes the rename durable. Some file systems cannot fsync a folder (EINVAL): there the
 * rename is as durable as they make it. */
static gboolean
__fsync_dir(const char *dir, GError **error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return __io_error(error, dir, "cannot open the folder to sync it", errno);
    int rc = __fsync(fd);
    int err = errno;
    close(fd);
    if (rc < 0 && err != EINVAL && err != ENOTSUP)
        return __io_error(error, dir, "cannot sync the folder", err);
    return TRUE;
}

static gboolean
__check_sections(guint64 step, const WorkloadSection *sections, guint n, GError **error)
{
    if (n > WORKLOAD_CHECKPOINT_SECTIONS_MAX) {
        g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_INVALID,
                    "checkpoint of step %" G_GUINT64_FORMAT
                    ": %u sections, the format holds at most %d",
                    step, n, WORKLOAD_CHECKPOINT_SECTIONS_MAX);
        return FALSE;
    }
    for (guint i = 0; i < n; i++) {
        const char *name = sections[i].name;
        gsize len = name ? strlen(name) : 0;
        if (len == 0 || len >= WORKLOAD_CHECKPOINT_NAME_MAX) {
            g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_INVALID,
                        "checkpoint of step %" G_GUINT64_FORMAT
                        ": section %u: name \"%s\" is %" G_GSIZE_FORMAT " bytes, expected 1 to %d",
                        step, i, name ? name : "", len, WORKLOAD_CHECKPOINT_NAME_MAX - 1);
            return FALSE;
        }
        for (guint j = 0; j < i; j++) {
            if (strcmp(sections[j].name, name) == 0) {
                g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_INVALID,
                            "checkpoint of step %" G_GUINT64_FORMAT
                            ": section %u: name \"%s\" repeats section %u",
                            step, i, name, j);
                return FALSE;
            }
        }
    }
    return TRUE;
}

static gint
__compare_steps_descending(gconstpointer a, gconstpointer b)
{
    guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Removes all but the newest @keep_last checkpoints (never @keep_step, just written) and the
 * temporary files of writers that are gone. Best effort: what cannot be removed stays. */
static void
__prune(const char *dir, guint keep_last, guint64 keep_step)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    if (d == NULL)
        return;
    g_autoptr(GArray) steps = g_array_new(FALSE, FALSE, sizeof(guint64));
    const char *name;
    pid_t self = getpid();
    while ((name = g_dir_read_name(d)) != NULL) {
        guint64 step;
        gint64 pid;
        if (__parse_file_name(name, &step)) {
            g_array_append_val(steps, step);
        } else if (__parse_tmp_name(name, &pid)) {
            g_autofree char *path = g_build_filename(dir, name, NULL);
            /* kill(pid, 0) fails with ESRCH only when no such process exists; EPERM means it
             * lives under another user. A file of our own pid that no thread of ours is
             * writing was left by an earlier process that had the same pid. */
            gboolean dead = (pid == self) ? !__in_flight_has(path)
                                          : (kill((pid_t)pid, 0) < 0 && errno == ESRCH);
            if (dead)
                g_unlink(path);
        }
    }
    if (keep_last == 0 || steps->len <= keep_last)
        return;
    g_array_sort(steps, __compare_steps_descending);
    for (guint i = keep_last; i < steps->len; i++) {
        guint64 step = g_array_index(steps, guint64, i);
        if (step == keep_step)
            continue;
        g_autofree char *file = __file_name(step);
        g_autofree char *path = g_build_filename(dir, file, NULL);
        g_unlink(path);
    }
}

void
workload_checkpoint_info_clear(WorkloadCheckpointInfo *info)
{
    if (info == NULL)
        return;
    g_clear_pointer(&info->path, g_free);
    info->bytes = 0;
    info->seconds = 0;
}

/* Starts the write-back of bytes just written, without waiting for it: a hint (errors, and
 * kernels without the call, are left to the final fsync). Without it the kernel would start
 * only once the dirty pages pass its background threshold, which for a checkpoint smaller than
 * a tenth of the memory is at the fsync, after all the copying: the disk would sit idle while
 * the CPU works, then the CPU while the disk does. */
static void
__start_writeback(int fd, guint64 offset, guint64 len)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    sync_file_range(fd, (off_t)offset, (off_t)len, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)offset;
    (void)len;
#endif
}

/* Streams one section into @fd at @offset (the file position) from the caller's memory,
 * hashing each chunk just before it is written, while it is still in the cache. */
static gboolean
__write_section(int fd, guint64 offset, const WorkloadSection *section, guint64 *checksum,
                const char *path, GError **error)
{
    /* The state is allocated by the library: its layout is not part of libxxhash's ABI. */
    XXH3_state_t *state = XXH3_createState();
    if (state == NULL)
        g_error("XXH3_createState: out of memory");
    XXH3_64bits_reset(state);
    const guint8 *p = section->data;
    guint64 left = section->size;
    gboolean ok = TRUE;
    while (ok && left > 0) {
        gsize n = left < CKPT_CHUNK ? (gsize)left : CKPT_CHUNK;
        XXH3_64bits_update(state, p, n);
        ok = __write_all(fd, p, n, path, error);
        if (ok)
            __start_writeback(fd, offset, n);
        p += n;
        offset += n;
        left -= n;
    }
    *checksum = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return ok;
}

/* Writes the whole temporary file and syncs it; sets @file_size. */
static gboolean
__write_tmp(int fd, const char *tmp, guint64 step, const WorkloadSection *sections, guint n,
            guint64 *file_size, GError **error)
{
    static const guint8 zeros[CKPT_ALIGN];
    g_autofree guint8 *header = g_malloc0(CKPT_HEADER_SIZE);

    /* A placeholder of zeros: a file caught at this stage has no magic. */
    if (!__write_all(fd, header, CKPT_HEADER_SIZE, tmp, error))
        return FALSE;
    guint64 pos = CKPT_HEADER_SIZE;
    for (guint i = 0; i < n; i++) {
        guint64 offset = __align_up(pos);
        if (offset > pos && !__write_all(fd, zeros, (gsize)(offset - pos), tmp, error))
            return FALSE;
        guint64 checksum;
        if (!__write_section(fd, offset, &sections[i], &checksum, tmp, error))
            return FALSE;
        guint8 *entry = header + CKPT_OFF_TABLE + (gsize)i * CKPT_ENTRY_SIZE;
        memcpy(entry, sections[i].name, strlen(sections[i].name));
        __put_u64(entry + 32, offset);
        __put_u64(entry + 40, sections[i].size);
        __put_u64(entry + 48, checksum);
        pos = offset + sections[i].size;
    }
    guint64 size = pos + CKPT_TRAILER_SIZE;

    memcpy(header, CKPT_MAGIC, 8);
    __put_u32(header + CKPT_OFF_VERSION, WORKLOAD_CHECKPOINT_VERSION);
    __put_u32(header + CKPT_OFF_HEADER_SZ, CKPT_HEADER_SIZE);
    __put_u64(header + CKPT_OFF_STEP, step);
    __put_u32(header + CKPT_OFF_COUNT, n);
    __put_u32(header + CKPT_OFF_FLAGS, 0);
    __put_u64(header + CKPT_OFF_FILE_SIZE, size);
    __put_u64(header + CKPT_OFF_CREATED, (guint64)g_get_real_time());
    guint64 header_checksum = __header_checksum(header);
    __put_u64(header + CKPT_OFF_CHECKSUM, header_checksum);

    guint8 trailer[CKPT_TRAILER_SIZE];
    memcpy(trailer, CKPT_TRAILER_MAGIC, 8);
    __put_u64(trailer + 8, size);
    __put_u64(trailer + 16, header_checksum);
    if (!__write_all(fd, trailer, sizeof trailer, tmp, error) ||
        !__pwrite_all(fd, header, CKPT_HEADER_SIZE, 0, tmp, error))
        return FALSE;
    if (__fsync(fd) < 0)
        return __io_error(error, tmp, "cannot sync", errno);
    *file_size = size;
    return TRUE;
}

gboolean
workload_checkpoint_write(const char *dir, guint64 step, const WorkloadSection *sections,
                          guint n_sections, guint keep_last, WorkloadCheckpointInfo *info,
                          GError **error)
{
    g_return_val_if_fail(dir != NULL, FALSE);
    g_return_val_if_fail(n_sections == 0 || sections != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    for (guint i = 0; i < n_sections; i++)
        g_return_val_if_fail(sections[i].data != NULL || sections[i].size == 0, FALSE);

    gint64 t0 = g_get_monotonic_time();
    g_autofree char *file = __file_name(step);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *tmp_file = g_strdup_printf(
        CKPT_TMP_PREFIX "%012" G_GUINT64_FORMAT CKPT_NAME_SUFFIX ".tmp-%ld", step, (long)getpid());
    g_autofree char *tmp = g_build_filename(dir, tmp_file, NULL);
    guint64 size = 0;
    gboolean ok = FALSE;

    if (!__check_sections(step, sections, n_sections, error))
        goto out;
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        __io_error(error, dir, "cannot create the folder", errno);
        goto out;
    }
    __in_flight_add(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        __io_error(error, tmp, "cannot create", errno);
        __in_flight_remove(tmp);
        goto out;
    }
    ok = __write_tmp(fd, tmp, step, sections, n_sections, &size, error);
    if (close(fd) < 0 && ok)
        ok = __io_error(error, tmp, "cannot close", errno);
    if (ok && rename(tmp, path) < 0)
        ok = __io_error(error, path, "cannot rename the temporary file to it", errno);
    if (!ok)
        g_unlink(tmp);
    __in_flight_remove(tmp);
    if (ok && !__fsync_dir(dir, error)) {
        /* The rename may not survive a crash: take it back rather than report a checkpoint
         * whose durability is unknown as both failed and present. */
        g_unlink(path);
        ok = FALSE;
    }
    if (ok)
        __prune(dir, keep_last, step);

out:
    if (info != NULL) {
        info->path = g_steal_pointer(&path);
        info->bytes = ok ? size : 0;
        info->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    }
    return ok;
}

static gboolean __corrupt(GError **error, const char *path, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
__corrupt(GError **error, const char *path, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *what = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_CORRUPT, "%s: %s", path,
                what);
    return FALSE;
}

/* pread(2) all of @len bytes from @offset; FALSE with errno 0 at an early end of file. */
static gboolean
__pread_all(int fd, void *buf, gsize len, off_t offset)
{
    guint8 *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return FALSE;
        }
        if (n == 0) {
            errno = 0;
            return FALSE;
        }
        p += n;
        len -= (gsize)n;
        offset += n;
    }
    return TRUE;
}

/* Checks the header in @h (the first 4096 bytes of a file of @actual bytes) and fills @ckpt's
 * step, size and section table from it. */
static gboolean
__parse_header(WorkloadCheckpoint *ckpt, const guint8 *h, guint64 actual, GError **error)
{
    const char *path = ckpt->path;
    guint32 version = __get_u32(h + CKPT_OFF_VERSION);
    if (version > WORKLOAD_CHECKPOINT_VERSION)
        return __corrupt(error, path,
                         "format version %u is newer than this spotlab reads (%d); "
                         "upgrade spotlab to load it",
                         version, WORKLOAD_CHECKPOINT_VERSION);
    if (version == 0)
        return __corrupt(error, path, "format version 0 does not exist (file damaged?)");
    guint32 header_size = __get_u32(h + CKPT_OFF_HEADER_SZ);
    if (header_size != CKPT_HEADER_SIZE)
        return __corrupt(error, path, "header size %u, expected %u (file damaged?)", header_size,
                         CKPT_HEADER_SIZE);
    guint64 header_checksum = __get_u64(h + CKPT_OFF_CHECKSUM);
    if (__header_checksum(h) != header_checksum)
        return __corrupt(error, path, "header checksum mismatch (file damaged?)");

    ckpt->step = __get_u64(h + CKPT_OFF_STEP);
    guint32 count = __get_u32(h + CKPT_OFF_COUNT);
    if (count > WORKLOAD_CHECKPOINT_SECTIONS_MAX)
        return __corrupt(error, path, "%u sections, the format holds at most %d", count,
                         WORKLOAD_CHECKPOINT_SECTIONS_MAX);
    guint64 size = __get_u64(h + CKPT_OFF_FILE_SIZE);
    if (size < CKPT_HEADER_SIZE + CKPT_TRAILER_SIZE)
        return __corrupt(error, path,
                         "the header gives a file size of %" G_GUINT64_FORMAT
                         " bytes, too small for a checkpoint",
                         size);
    if (actual < size)
        return __corrupt(error, path,
                         "truncated: %" G_GUINT64_FORMAT
                         " bytes, the header says %" G_GUINT64_FORMAT
                         " (no completion trailer: the write did not finish or the file was cut)",
                         actual, size);
    if (actual > size)
        return __corrupt(error, path,
                         "bytes appended after the trailer: %" G_GUINT64_FORMAT
                         " bytes, the header says %" G_GUINT64_FORMAT,
                         actual, size);
    ckpt->size = size;

    guint64 data_end = size - CKPT_TRAILER_SIZE, prev_end = CKPT_HEADER_SIZE;
    for (guint i = 0; i < count; i++) {
        const guint8 *e = h + CKPT_OFF_TABLE + (gsize)i * CKPT_ENTRY_SIZE;
        CkptEntry *s = &ckpt->sections[i];
        if (memchr(e, '\0', WORKLOAD_CHECKPOINT_NAME_MAX) == NULL || e[0] == '\0')
            return __corrupt(error, path, "section %u: name empty or not terminated", i);
        memcpy(s->name, e, WORKLOAD_CHECKPOINT_NAME_MAX);
        s->offset = __get_u64(e + 32);
        s->size = __get_u64(e + 40);
        s->checksum = __get_u64(e + 48);
        if (s->offset % CKPT_ALIGN != 0 || s->offset < prev_end || s->offset > data_end ||
            s->size > data_end - s->offset)
            return __corrupt(error, path,
                             "section %s: offset %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                             " bytes: outside the data area or not aligned (file damaged?)",
                             s->name, s->offset, s->size);
        for (guint j = 0; j < i; j++)
            if (strcmp(ckpt->sections[j].name, s->name) == 0)
                return __corrupt(error, path, "section %s appears twice", s->name);
        prev_end = s->offset + s->size;
    }
    ckpt->n_sections = count;
    return TRUE;
}

/* The file is read into one buffer rather than mapped: every byte is hashed before use, so a
 * mapping would save no reading; read(2) reports an I/O error as an error where a mapping
 * raises SIGBUS, and a file truncated or replaced under a mapping (a concurrent prune, a copy
 * in progress) could crash the workload instead of failing the load. The cost is one copy of
 * the file in memory, which the caller frees as soon as it has restored its state. */
WorkloadCheckpoint *
workload_checkpoint_load(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    g_autoptr(WorkloadCheckpoint) ckpt = g_new0(WorkloadCheckpoint, 1);
    ckpt->path = g_strdup(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        __io_error(error, path, "cannot open", errno);
        return NULL;
    }
    gboolean ok = FALSE;
    struct stat st;
    guint8 header[CKPT_HEADER_SIZE];
    if (fstat(fd, &st) < 0) {
        __io_error(error, path, "cannot stat", errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        __corrupt(error, path, "not a regular file");
        goto out;
    }
    guint64 actual = (guint64)st.st_size;
    gsize first = actual < CKPT_HEADER_SIZE ? (gsize)actual : CKPT_HEADER_SIZE;
    if (!__pread_all(fd, header, first, 0)) {
        if (errno != 0)
            __io_error(error, path, "cannot read", errno);
        else
            __corrupt(error, path, "shrank while being read");
        goto out;
    }
    if (first < 8 || memcmp(header, CKPT_MAGIC, 8) != 0) {
        __corrupt(error, path, "not a spotlab checkpoint (bad magic)");
        goto out;
    }
    if (first < CKPT_HEADER_SIZE) {
        __corrupt(error, path,
                  "truncated: %" G_GUINT64_FORMAT
                  " bytes, less than the %u-byte header (the write did not finish)",
                  actual, CKPT_HEADER_SIZE);
        goto out;
    }
    if (!__parse_header(ckpt, header, actual, error))
        goto out;
    if (ckpt->size > G_MAXSIZE || (ckpt->data = g_try_malloc((gsize)ckpt->size)) == NULL) {
        g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_IO,
                    "%s: cannot allocate %" G_GUINT64_FORMAT " bytes to read it", path, ckpt->size);
        goto out;
    }
    memcpy(ckpt->data, header, CKPT_HEADER_SIZE);
    if (!__pread_all(fd, ckpt->data + CKPT_HEADER_SIZE, (gsize)ckpt->size - CKPT_HEADER_SIZE,
                     CKPT_HEADER_SIZE)) {
        if (errno != 0)
            __io_error(error, path, "cannot read", errno);
        else
            __corrupt(error, path, "shrank while being read");
        goto out;
    }

    const guint8 *trailer = ckpt->data + ckpt->size - CKPT_TRAILER_SIZE;
    if (memcmp(trailer, CKPT_TRAILER_MAGIC, 8) != 0) {
        __corrupt(error, path, "no completion trailer (the write did not finish)");
        goto out;
    }
    if (__get_u64(trailer + 8) != ckpt->size ||
        __get_u64(trailer + 16) != __get_u64(header + CKPT_OFF_CHECKSUM)) {
        __corrupt(error, path, "completion trailer does not match the header (file damaged?)");
        goto out;
    }
    for (guint i = 0; i < ckpt->n_sections; i++) {
        const CkptEntry *s = &ckpt->sections[i];
        if (XXH3_64bits(ckpt->data + s->offset, (gsize)s->size) != s->checksum) {
            __corrupt(error, path, "section %s: checksum mismatch (file damaged?)", s->name);
            goto out;
        }
    }
    ok = TRUE;
out:
    close(fd);
    return ok ? g_steal_pointer(&ckpt) : NULL;
}

WorkloadCheckpoint *
workload_checkpoint_load_latest(const char *dir, GPtrArray *rejected, GError **error)
{
    return workload_checkpoint_load_latest_common(dir, NULL, rejected, error);
}

/* Whether every folder of @peers holds a checkpoint of @step (by name). */
static gboolean
__peers_hold(const char *const *peers, guint64 step)
{
    g_autofree char *file = __file_name(step);
    for (guint i = 0; peers != NULL && peers[i] != NULL; i++) {
        g_autofree char *path = g_build_filename(peers[i], file, NULL);
        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return FALSE;
    }
    return TRUE;
}

WorkloadCheckpoint *
workload_checkpoint_load_latest_common(const char *dir, const char *const *peers,
                                       GPtrArray *rejected, GError **error)
{
    g_return_val_if_fail(dir != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    g_autoptr(GError) local = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
    if (d == NULL) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_NONE,
                        "%s: no checkpoint (the folder does not exist)", dir);
        else
            g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_IO, "%s",
                        local->message);
        return NULL;
    }
    g_autoptr(GArray) steps = g_array_new(FALSE, FALSE, sizeof(guint64));
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        guint64 step;
        if (__parse_file_name(name, &step) && __peers_hold(peers, step))
            g_array_append_val(steps, step);
    }
    g_array_sort(steps, __compare_steps_descending);
    for (guint i = 0; i < steps->len; i++) {
        g_autofree char *file = __file_name(g_array_index(steps, guint64, i));
        g_autofree char *path = g_build_filename(dir, file, NULL);
        g_autoptr(GError) why = NULL;
        WorkloadCheckpoint *ckpt = workload_checkpoint_load(path, &why);
        if (ckpt != NULL)
            return ckpt;
        if (rejected != NULL)
            g_ptr_array_add(rejected, g_strdup(why->message));
    }
    if (steps->len == 0)
        g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_NONE,
                    "%s: no checkpoint (no file named ckpt-STEP.spck%s)", dir,
                    peers != NULL && peers[0] != NULL ? " of a step every peer folder holds" : "");
    else
        g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_NONE,
                    "%s: no complete checkpoint (%u rejected)", dir, steps->len);
    return NULL;
}

void
workload_checkpoint_free(WorkloadCheckpoint *ckpt)
{
    if (ckpt == NULL)
        return;
    g_free(ckpt->data);
    g_free(ckpt->path);
    g_free(ckpt);
}

guint64
workload_checkpoint_step(const WorkloadCheckpoint *ckpt)
{
    g_return_val_if_fail(ckpt != NULL, 0);
    return ckpt->step;
}

const char *
workload_checkpoint_path(const WorkloadCheckpoint *ckpt)
{
    g_return_val_if_fail(ckpt != NULL, NULL);
    return ckpt->path;
}

const void *
workload_checkpoint_section(const WorkloadCheckpoint *ckpt, const char *name, guint64 expected_size,
                            guint64 *size, GError **error)
{
    g_return_val_if_fail(ckpt != NULL, NULL);
    g_return_val_if_fail(name != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    for (guint i = 0; i < ckpt->n_sections; i++) {
        const CkptEntry *s = &ckpt->sections[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (expected_size != G_MAXUINT64 && s->size != expected_size) {
            g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_CORRUPT,
                        "%s: section %s: %" G_GUINT64_FORMAT " bytes, expected %" G_GUINT64_FORMAT
                        " (a checkpoint of another model or configuration?)",
                        ckpt->path, name, s->size, expected_size);
            return NULL;
        }
        if (size != NULL)
            *size = s->size;
        return ckpt->data + s->offset;
    }
    g_set_error(error, WORKLOAD_CHECKPOINT_ERROR, WORKLOAD_CHECKPOINT_ERROR_MISSING,
                "%s: no section %s", ckpt->path, name);
    return NULL;
}

/* The asynchronous writer. One mutex guards everything below it; the snapshot buffers belong
 * to the training thread between workload_checkpoint_writer_buffer() and _submit(), and to the
 * writer thread from _submit() until the write (and its callback) finished. */
typedef struct {
    char name[WORKLOAD_CHECKPOINT_NAME_MAX];
    void *data;
    guint64 capacity;
    guint64 size;
} WriterSlot;

struct WorkloadCheckpointWriter {
    char *dir;
    guint keep_last;
    WorkloadCheckpointDone done;
    gpointer user_data;
    GThread *thread;

    GMutex lock;
    GCond cond;
    GArray *slots;      /* WriterSlot */
    gboolean in_flight; /* submitted and not yet finished (callback included) */
    guint64 step;
    guint n_sections;
    gboolean quit;
    GError *last_error; /* of the last finished write, NULL when it succeeded */
};

static gpointer
__writer_thread(gpointer data)
{
    WorkloadCheckpointWriter *w = data;
    g_mutex_lock(&w->lock);
    for (;;) {
        while (!w->in_flight && !w->quit)
            g_cond_wait(&w->cond, &w->lock);
        if (!w->in_flight)
            break; /* quit, and nothing left to write */
        guint64 step = w->step;
        guint n = w->n_sections;
        WorkloadSection sections[WORKLOAD_CHECKPOINT_SECTIONS_MAX];
        for (guint i = 0; i < n; i++) {
            const WriterSlot *slot = &g_array_index(w->slots, WriterSlot, i);
            sections[i] = (WorkloadSection){slot->name, slot->data, slot->size};
        }
        g_mutex_unlock(&w->lock);

        WorkloadCheckpointInfo info = {0};
        GError *error = NULL;
        workload_checkpoint_write(w->dir, step, sections, n, w->keep_last, &info, &error);
        if (w->done != NULL)
            w->done(step, &info, error, w->user_data);
        workload_checkpoint_info_clear(&info);

        g_mutex_lock(&w->lock);
        g_clear_error(&w->last_error);
        w->last_error = error;
        w->in_flight = FALSE;
        g_cond_broadcast(&w->cond);
    }
    g_mutex_unlock(&w->lock);
    return NULL;
}

WorkloadCheckpointWriter *
workload_checkpoint_writer_new(const char *dir, guint keep_last, WorkloadCheckpointDone done,
                               gpointer user_data)
{
    g_return_val_if_fail(dir != NULL, NULL);
    WorkloadCheckpointWriter *w = g_new0(WorkloadCheckpointWriter, 1);
    w->dir = g_strdup(dir);
    w->keep_last = keep_last;
    w->done = done;
    w->user_data = user_data;
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    w->slots = g_array_sized_new(FALSE, TRUE, sizeof(WriterSlot), 4);
    w->thread = g_thread_new("ckpt-writer", __writer_thread, w);
    return w;
}

void
workload_checkpoint_writer_free(WorkloadCheckpointWriter *w)
{
    if (w == NULL)
        return;
    g_mutex_lock(&w->lock);
    w->quit = TRUE;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
    g_thread_join(w->thread);
    for (guint i = 0; i < w->slots->len; i++)
        g_free(g_array_index(w->slots, WriterSlot, i).data);
    g_array_unref(w->slots);
    g_clear_error(&w->last_error);
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
    g_free(w->dir);
    g_free(w);
}

static void
__wait_idle(WorkloadCheckpointWriter *w)
{
    while (w->in_flight)
        g_cond_wait(&w->cond, &w->lock);
}

void *
workload_checkpoint_writer_buffer(WorkloadCheckpointWriter *w, guint index, const char *name,
                                  guint64 size)
{
    g_return_val_if_fail(w != NULL, NULL);
    g_return_val_if_fail(index < WORKLOAD_CHECKPOINT_SECTIONS_MAX, NULL);
    g_return_val_if_fail(name != NULL && *name != '\0', NULL);
    g_return_val_if_fail(strlen(name) < WORKLOAD_CHECKPOINT_NAME_MAX, NULL);
    g_return_val_if_fail(size <= G_MAXSIZE, NULL);

    g_mutex_lock(&w->lock);
    __wait_idle(w);
    if (index >= w->slots->len)
        g_array_set_size(w->slots, index + 1);
    WriterSlot *slot = &g_array_index(w->slots, WriterSlot, index);
    if (slot->data == NULL || slot->capacity < size) {
        /* Grows only: the old contents are not needed, so free before allocating rather than
         * realloc, which would copy them (and briefly hold both). */
        g_free(slot->data);
        slot->data = g_malloc(size > 0 ? (gsize)size : 1);
        slot->capacity = size;
    }
    g_strlcpy(slot->name, name, sizeof slot->name);
    slot->size = size;
    void *data = slot->data;
    g_mutex_unlock(&w->lock);
    return data;
}

void
workload_checkpoint_writer_submit(WorkloadCheckpointWriter *w, guint64 step, guint n_sections)
{
    g_return_if_fail(w != NULL);
    g_mutex_lock(&w->lock);
    __wait_idle(w);
    if (n_sections > w->slots->len) {
        g_mutex_unlock(&w->lock);
        g_return_if_fail(n_sections <= w->slots->len);
        return;
    }
    for (guint i = 0; i < n_sections; i++) {
        if (g_array_index(w->slots, WriterSlot, i).data == NULL) {
            g_mutex_unlock(&w->lock);
            g_return_if_fail(!"every section 0..n-1 has a buffer");
            return;
        }
    }
    w->step = step;
    w->n_sections = n_sections;
    w->in_flight = TRUE;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

gboolean
workload_checkpoint_writer_busy(WorkloadCheckpointWriter *w, guint64 *step)
{
    g_return_val_if_fail(w != NULL, FALSE);
    g_mutex_lock(&w->lock);
    gboolean busy = w->in_flight;
    if (busy && step != NULL)
        *step = w->step;
    g_mutex_unlock(&w->lock);
    return busy;
}

gboolean
workload_checkpoint_writer_wait(WorkloadCheckpointWriter *w, GError **error)
{
    g_return_val_if_fail(w != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    g_mutex_lock(&w->lock);
    __wait_idle(w);
    GError *last = g_steal_pointer(&w->last_error);
    g_mutex_unlock(&w->lock);
    if (last != NULL) {
        g_propagate_error(error, last);
        return FALSE;
    }
    return TRUE;
}
