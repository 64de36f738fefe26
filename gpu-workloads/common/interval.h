/* spotlab workloads: time intervals on the command line ("30s", "500ms", "2m", "1h", "1.5s" or
 * plain seconds), as the workloads' options (--notice-poll, --lease) take them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Parses @text into microseconds (> 0). FALSE for an empty text, a value that is not positive
 * or above 1e9 units, or another unit. */
gboolean workload_parse_interval(const char *text, gint64 *us);

G_END_DECLS
