/* spotlab workloads: the progress protocol.
 *
 * A workload reports what it does as JSON lines on a file descriptor named by the environment
 * variable SPOTLAB_PROGRESS_FD (docs/progress-protocol.md is the specification, so that
 * users' own workloads can speak it too). Without the variable reporting is off and every call
 * here is a cheap no-op. Each line is written with one write(2) call, so lines from several
 * threads never interleave; every line carries "event", "time" (Unix time in seconds with
 * microseconds, CLOCK_REALTIME) and "mono" (CLOCK_MONOTONIC seconds), and the first line is a
 * "hello" with the protocol version, the workload's name and its pid.
 *
 * A WorkloadProgress may be used from several threads at once.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WORKLOAD_PROGRESS_VERSION 1
#define WORKLOAD_PROGRESS_ENV     "SPOTLAB_PROGRESS_FD"
/* Lines are shorter than this (PIPE_BUF on Linux), so one write(2) to a pipe is atomic; long
 * string fields (a path, a notice's detail) are shortened to fit. */
#define WORKLOAD_PROGRESS_LINE_MAX 4096

#define WORKLOAD_PROGRESS_ERROR (workload_progress_error_quark())
GQuark workload_progress_error_quark(void);

typedef enum {
    WORKLOAD_PROGRESS_ERROR_VALUE, /* SPOTLAB_PROGRESS_FD is not a non-negative integer */
    WORKLOAD_PROGRESS_ERROR_FD,    /* the descriptor is not open, or not for writing */
} WorkloadProgressError;

typedef struct WorkloadProgress WorkloadProgress;

/* Opens the channel named by SPOTLAB_PROGRESS_FD and writes the hello line. A variable that is
 * not a non-negative integer, or names a descriptor that is not open for writing, is an error
 * (the workload should exit 2). Without the variable returns a disabled channel. */
WorkloadProgress *workload_progress_open(const char *workload, GError **error);
/* A channel on @fd (not closed by free), for tests and for tools that pick the fd themselves.
 * The same checks as above; a hello that cannot be written (no reader) gives a channel that is
 * already off, not an error. */
WorkloadProgress *workload_progress_open_fd(const char *workload, int fd, GError **error);
void workload_progress_free(WorkloadProgress *progress);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WorkloadProgress, workload_progress_free)

/* FALSE when reporting is off: no variable, a write failed, or @progress is NULL (every function
 * below accepts NULL as a channel that is off). */
gboolean workload_progress_enabled(const WorkloadProgress *progress);

/* Each function writes one line; write errors (a reader that went away) turn reporting off
 * rather than stopping the workload. A write to a pipe whose reader went away raises SIGPIPE,
 * which kills a process by default: the program's main should set SIGPIPE to SIG_IGN (library
 * code leaves signal dispositions alone); as a second line of defence each write blocks SIGPIPE
 * in the calling thread and consumes the one it raised, so even without SIG_IGN the workload
 * survives. Non-finite numbers (a diverged loss) are written as null. */
void workload_progress_start(WorkloadProgress *p, const char *config_name, guint64 total_steps,
                             guint64 params, guint64 checkpoint_bytes);
void workload_progress_resume(WorkloadProgress *p, guint64 step, const char *path, double seconds);
void workload_progress_step(WorkloadProgress *p, guint64 step, double loss, guint64 items,
                            double step_seconds);
/* @kind: "periodic", "emergency" or "final". */
void workload_progress_checkpoint_start(WorkloadProgress *p, guint64 step, const char *kind,
                                        const char *path);
/* @ok FALSE: the write failed (@message says why). */
void workload_progress_checkpoint_end(WorkloadProgress *p, guint64 step, const char *kind,
                                      const char *path, guint64 bytes, double seconds, gboolean ok,
                                      const char *message);
/* @source: "sigterm", "aws", "gcp" or "azure"; @detail: what the source said (the AWS
 * instance-action JSON, say), may be NULL; @deadline: Unix time of the announced reclaim or
 * 0 when the source gave none. */
void workload_progress_notice(WorkloadProgress *p, const char *source, const char *detail,
                              double deadline);
/* Inference: one queue item finished. */
void workload_progress_item(WorkloadProgress *p, guint64 item, guint64 items_done);
/* @reason: "completed", "notice", "signal", "error"; the last line a workload writes. */
void workload_progress_exit(WorkloadProgress *p, const char *reason, guint64 step, int exit_code);

G_END_DECLS
