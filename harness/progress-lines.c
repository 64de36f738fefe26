/* spotlab harness: reading progress lines from a pipe (progress-lines.h). */
#include "progress-lines.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

gboolean
harness_read_lines(int fd, GString *pending, HarnessLineFunc func, gpointer user_data,
                   guint *dropped)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return TRUE;
        if (n <= 0)
            return FALSE;
        gint64 now = g_get_monotonic_time();
        g_string_append_len(pending, buf, n);
        char *start = pending->str, *nl;
        while ((nl = memchr(start, '\n', pending->len - (gsize)(start - pending->str))) != NULL) {
            *nl = '\0';
            func(start, now, user_data);
            start = nl + 1;
        }
        g_string_erase(pending, 0, start - pending->str);
        if (pending->len > HARNESS_LINE_MAX) {
            (*dropped)++;
            g_string_truncate(pending, 0);
        }
    }
}
