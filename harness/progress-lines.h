/* spotlab harness: reading a workload's progress lines (docs/progress-protocol.md) from a pipe.
 *
 * The supervisor and `spotlab calibrate` both read the pipe named by SPOTLAB_PROGRESS_FD as
 * data arrives, and time each line when it is read. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A line longer than this (the protocol's lines are under 4096 bytes) is dropped unread. */
#define HARNESS_LINE_MAX (1u << 20)

/* Called for each complete line, without its newline; @now is when it was read
 * (g_get_monotonic_time()). Returning is all it does: the line is the reader's to reuse. */
typedef void (*HarnessLineFunc)(const char *line, gint64 now, gpointer user_data);

/**
 * harness_read_lines:
 * Reads what @fd (non-blocking) holds now, keeping an unfinished line in @pending, and calls
 * @func for every complete line. A partial line that outgrows HARNESS_LINE_MAX is dropped and
 * counted in @dropped.
 * Returns: FALSE at end of file or on a read error; TRUE when the pipe is empty for now.
 */
gboolean harness_read_lines(int fd, GString *pending, HarnessLineFunc func, gpointer user_data,
                            guint *dropped);

G_END_DECLS
