/* spotlab workloads: checkpoint files.
 *
 * A checkpoint is one file holding named sections (weights, optimizer moments, training
 * position, RNG state, ...). The file starts with a fixed 4096-byte header (magic "SPOTCKPT",
 * format version, header size, step, a table of sections with their offsets, sizes and XXH3-64
 * checksums, a checksum of the header itself, and reserved room) and ends with a trailer that
 * marks the file complete. All integers are little-endian. docs/checkpoints.md describes the
 * layout byte by byte so that other tools can read it.
 *
 * Files are written atomically: to a temporary file in the same folder, fsync, rename to
 * ckpt-STEP.spck, fsync of the folder. A crash at any point leaves either the previous set of
 * checkpoints or the previous set plus the new complete one, never a half-written file under
 * a checkpoint's name. After a successful write only the newest @keep_last checkpoints are
 * kept.
 *
 * Ownership: a WorkloadCheckpoint owns its file contents; sections returned by
 * workload_checkpoint_section() are borrowed from it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WORKLOAD_CHECKPOINT_ERROR (workload_checkpoint_error_quark())
GQuark workload_checkpoint_error_quark(void);

typedef enum {
    WORKLOAD_CHECKPOINT_ERROR_IO,      /* the file system refused (message has the path, errno) */
    WORKLOAD_CHECKPOINT_ERROR_CORRUPT, /* bad magic, version, size, checksum or no trailer */
    WORKLOAD_CHECKPOINT_ERROR_NONE,    /* no complete checkpoint in the folder */
    WORKLOAD_CHECKPOINT_ERROR_MISSING, /* a section the caller needs is not in the file */
    WORKLOAD_CHECKPOINT_ERROR_INVALID, /* the format cannot hold what the caller asked for: too
                                        * many sections, a name empty, too long or repeated */
} WorkloadCheckpointError;

#define WORKLOAD_CHECKPOINT_NAME_MAX 32 /* section names: at most 31 bytes */
/* Sections per file: what the 4096-byte header's table holds (56 bytes an entry). */
#define WORKLOAD_CHECKPOINT_SECTIONS_MAX 64
#define WORKLOAD_CHECKPOINT_VERSION      1

/* One section to write: @data is borrowed for the duration of the write. */
typedef struct {
    const char *name;
    const void *data;
    guint64 size;
} WorkloadSection;

/* What a finished write did. */
typedef struct {
    char *path;     /* final path of the checkpoint (owned; free with g_free) */
    guint64 bytes;  /* file size, header and trailer included */
    double seconds; /* wall time of the write, fsyncs and rename included */
} WorkloadCheckpointInfo;

void workload_checkpoint_info_clear(WorkloadCheckpointInfo *info);

/* Writes a checkpoint of @step with @sections into @dir (created if missing) atomically, then
 * removes all but the newest @keep_last checkpoints (0 keeps all; the file just written is
 * never removed) and temporary files left by processes that died. On error nothing under a
 * checkpoint name is created or removed, and the temporary file is gone. Pruning is best
 * effort: a file it cannot remove does not fail the write. @info may be NULL; when given it is
 * filled on failure too (the path the checkpoint would have had, bytes 0, the time spent).
 * At most one process may write into a folder at a time. */
gboolean workload_checkpoint_write(const char *dir, guint64 step, const WorkloadSection *sections,
                                   guint n_sections, guint keep_last, WorkloadCheckpointInfo *info,
                                   GError **error);

typedef struct WorkloadCheckpoint WorkloadCheckpoint;

/* Reads and verifies the checkpoint at @path (header, trailer, every checksum). */
WorkloadCheckpoint *workload_checkpoint_load(const char *path, GError **error);

/* Finds the newest complete checkpoint in @dir and loads it. Files that fail verification are
 * skipped; one message per skipped file ("PATH: why", newly allocated: create @rejected with
 * g_ptr_array_new_with_free_func(g_free)) is appended to @rejected (may be NULL) so the caller
 * can report them. Fails with WORKLOAD_CHECKPOINT_ERROR_NONE when nothing usable is there (a
 * missing folder included). */
WorkloadCheckpoint *workload_checkpoint_load_latest(const char *dir, GPtrArray *rejected,
                                                    GError **error);

/* The same, among the steps that every folder of @peers (NULL-terminated; NULL: none) also
 * holds a checkpoint of, by name: the newest checkpoint of a gang's rank that all its ranks
 * saved, since a step one rank saved and another did not is no state of the job. */
WorkloadCheckpoint *workload_checkpoint_load_latest_common(const char *dir,
                                                           const char *const *peers,
                                                           GPtrArray *rejected, GError **error);

void workload_checkpoint_free(WorkloadCheckpoint *ckpt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WorkloadCheckpoint, workload_checkpoint_free)

guint64 workload_checkpoint_step(const WorkloadCheckpoint *ckpt);
const char *workload_checkpoint_path(const WorkloadCheckpoint *ckpt);

/* The section called @name: its bytes (borrowed) and size, or NULL with
 * WORKLOAD_CHECKPOINT_ERROR_MISSING. When @expected_size is not G_MAXUINT64 a different size
 * is an error (WORKLOAD_CHECKPOINT_ERROR_CORRUPT) that names the section and both sizes. */
const void *workload_checkpoint_section(const WorkloadCheckpoint *ckpt, const char *name,
                                        guint64 expected_size, guint64 *size, GError **error);

/* Asynchronous checkpoints. The training loop copies its state into a snapshot (host memory
 * owned by the writer, allocated once and reused), submits it, and goes on training while a
 * writer thread writes it with workload_checkpoint_write(). At most one write is in flight. */
typedef struct WorkloadCheckpointWriter WorkloadCheckpointWriter;

/* Called on the writer thread when a write finished: @error is NULL on success; @info is never
 * NULL (on failure its path is the one the checkpoint would have had). The write still counts
 * as in flight while the callback runs, so wait() returns only after it; the callback must not
 * call workload_checkpoint_writer_wait(), _buffer(), _submit() or _free() (they would wait for
 * it), but may call _busy(). */
typedef void (*WorkloadCheckpointDone)(guint64 step, const WorkloadCheckpointInfo *info,
                                       const GError *error, gpointer user_data);

WorkloadCheckpointWriter *workload_checkpoint_writer_new(const char *dir, guint keep_last,
                                                         WorkloadCheckpointDone done,
                                                         gpointer user_data);
/* Stops the thread after the write in flight (if any) finished. Accepts NULL. */
void workload_checkpoint_writer_free(WorkloadCheckpointWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WorkloadCheckpointWriter, workload_checkpoint_writer_free)

/* Waits for the write in flight (if any), then returns a host buffer of @size bytes for
 * section @index of the next snapshot (sections are numbered from 0 in the order they will be
 * written). The buffer is owned by the writer and stays valid until the next submit. */
void *workload_checkpoint_writer_buffer(WorkloadCheckpointWriter *writer, guint index,
                                        const char *name, guint64 size);

/* Hands the snapshot filled through workload_checkpoint_writer_buffer() (sections 0..@n-1) to
 * the writer thread as the checkpoint of @step and returns at once (it first waits for a write
 * still in flight, which happens only when no buffer was asked for since the last submit). */
void workload_checkpoint_writer_submit(WorkloadCheckpointWriter *writer, guint64 step,
                                       guint n_sections);

/* Whether a write is in flight, and of which step (@step may be NULL). */
gboolean workload_checkpoint_writer_busy(WorkloadCheckpointWriter *writer, guint64 *step);

/* Blocks until no write is in flight. Returns FALSE with the error of the last write when it
 * failed (the error is then cleared; a later successful write clears it too, so an earlier
 * failure is seen only by the done callback). */
gboolean workload_checkpoint_writer_wait(WorkloadCheckpointWriter *writer, GError **error);

G_END_DECLS
