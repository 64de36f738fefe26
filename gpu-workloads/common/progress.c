/* spotlab workloads: the progress protocol (see progress.h and docs/progress-protocol.md).
 *
 * Each line is built with jansson under the channel's mutex (so that "mono" never goes back
 * from one line to the next), serialised compactly, ended with '\n' and written with one
 * write(2) call. Lines are kept under PIPE_BUF, which makes that write atomic on a pipe: lines
 * from several threads, or from several processes sharing the pipe, never interleave.
 */
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

G_DEFINE_QUARK(spotlab - workload - progress - error - quark, workload_progress_error)

struct WorkloadProgress {
    int fd;       /* -1 when disabled from the start */
    gint enabled; /* atomic: cleared for good by the first failed write */
    GMutex lock;  /* one line at a time */
};

/* Reals with 16 significant digits: a Unix time with microseconds (10 + 6 digits) prints
 * exactly as the microsecond value it is, where %.17g would add a noise digit. */
#define PROGRESS_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16))

static WorkloadProgress *
__progress_new(int fd)
{
    WorkloadProgress *p = g_new0(WorkloadProgress, 1);
    p->fd = fd;
    p->enabled = fd >= 0;
    g_mutex_init(&p->lock);
    return p;
}

void
workload_progress_free(WorkloadProgress *p)
{
    if (p == NULL)
        return;
    g_mutex_clear(&p->lock);
    g_free(p);
}

gboolean
workload_progress_enabled(const WorkloadProgress *p)
{
    return p != NULL && g_atomic_int_get(&p->enabled);
}

static json_t *
__json_number(double v)
{
    /* JSON has no NaN or infinity; jansson refuses them. */
    return isfinite(v) ? json_real(v) : json_null();
}

/* A JSON string from bytes that may not be UTF-8 (a path): invalid sequences become U+FFFD
 * rather than losing the whole line. */
static json_t *
__json_string(const char *s)
{
    if (s == NULL)
        return json_null();
    if (g_utf8_validate(s, -1, NULL))
        return json_string(s);
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    return json_string(valid);
}

/* Shortens every string value but "event" longer than @limit bytes to at most @limit bytes,
 * cut at a character boundary and ended with "...". */
static void
__shorten_strings(json_t *line, gsize limit)
{
    const char *key;
    json_t *value;
    json_object_foreach(line, key, value)
    {
        if (!json_is_string(value) || strcmp(key, "event") == 0)
            continue;
        const char *s = json_string_value(value);
        gsize len = json_string_length(value);
        if (len <= limit)
            continue;
        const char *end = g_utf8_find_prev_char(s, s + limit - 3 + 1);
        gsize keep = end ? (gsize)(end - s) : 0;
        g_autofree char *cut = g_strdup_printf("%.*s...", (int)keep, s);
        json_string_set(value, cut);
    }
}

/* One write(2) of the whole line; EINTR and (on a descriptor made non-blocking by someone
 * else) EAGAIN retry. SIGPIPE is blocked in this thread for the write, and the one a vanished
 * reader raises is taken off again, so that it cannot kill a process whose main forgot to
 * ignore it; the disposition itself is left alone. */
static gboolean
__write_line(int fd, const char *buf, gsize len)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigpending(&pending);
    gboolean was_pending = sigismember(&pending, SIGPIPE) == 1;

    gboolean ok = TRUE;
    gsize done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n >= 0) {
            done += (gsize)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, -1);
            continue;
        }
        if (errno == EPIPE && !was_pending) {
            static const struct timespec no_wait = {0, 0};
            while (sigtimedwait(&pipe_only, NULL, &no_wait) < 0 && errno == EINTR)
                ;
        }
        ok = FALSE;
        break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

/* Stamps @line (an object whose first keys are "event", "time" and "mono") with the clocks,
 * writes it and frees it. */
static void
__emit(WorkloadProgress *p, json_t *line)
{
    if (!workload_progress_enabled(p)) {
        json_decref(line);
        return;
    }
    g_mutex_lock(&p->lock);
    if (g_atomic_int_get(&p->enabled)) {
        json_object_set_new(line, "time", json_real((double)g_get_real_time() / 1e6));
        json_object_set_new(line, "mono", json_real((double)g_get_monotonic_time() / 1e6));
        static const gsize limits[] = {G_MAXSIZE, 1024, 256, 64, 16};
        char *text = NULL;
        gsize len = 0;
        for (gsize i = 0; i < G_N_ELEMENTS(limits); i++) {
            if (i > 0)
                __shorten_strings(line, limits[i]);
            free(text);
            text = json_dumps(line, PROGRESS_DUMP_FLAGS);
            len = text ? strlen(text) : 0;
            if (text != NULL && len + 1 < WORKLOAD_PROGRESS_LINE_MAX)
                break;
        }
        if (text != NULL && len + 1 < WORKLOAD_PROGRESS_LINE_MAX) {
            char buf[WORKLOAD_PROGRESS_LINE_MAX];
            memcpy(buf, text, len);
            buf[len] = '\n';
            if (!__write_line(p->fd, buf, len + 1))
                g_atomic_int_set(&p->enabled, FALSE);
        }
        free(text);
    }
    g_mutex_unlock(&p->lock);
    json_decref(line);
}

/* A line with the keys every line has, in the order the specification shows them. */
static json_t *
__line(const char *event)
{
    json_t *line = json_object();
    json_object_set_new(line, "event", json_string(event));
    json_object_set_new(line, "time", json_null());
    json_object_set_new(line, "mono", json_null());
    return line;
}

WorkloadProgress *
workload_progress_open_fd(const char *workload, int fd, GError **error)
{
    g_return_val_if_fail(workload != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    int flags = fd < 0 ? -1 : fcntl(fd, F_GETFL);
    if (flags < 0) {
        g_set_error(error, WORKLOAD_PROGRESS_ERROR, WORKLOAD_PROGRESS_ERROR_FD,
                    "descriptor %d is not open", fd);
        return NULL;
    }
    if ((flags & O_ACCMODE) == O_RDONLY) {
        g_set_error(error, WORKLOAD_PROGRESS_ERROR, WORKLOAD_PROGRESS_ERROR_FD,
                    "descriptor %d is open for reading only, expected one to write to", fd);
        return NULL;
    }
    WorkloadProgress *p = __progress_new(fd);
    json_t *line = __line("hello");
    json_object_set_new(line, "version", json_integer(WORKLOAD_PROGRESS_VERSION));
    json_object_set_new(line, "workload", __json_string(workload));
    json_object_set_new(line, "pid", json_integer((json_int_t)getpid()));
    __emit(p, line);
    return p;
}

WorkloadProgress *
workload_progress_open(const char *workload, GError **error)
{
    g_return_val_if_fail(workload != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    const char *value = g_getenv(WORKLOAD_PROGRESS_ENV);
    if (value == NULL)
        return __progress_new(-1);
    guint64 fd;
    if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT, &fd, NULL)) {
        g_set_error(error, WORKLOAD_PROGRESS_ERROR, WORKLOAD_PROGRESS_ERROR_VALUE,
                    WORKLOAD_PROGRESS_ENV "=\"%s\": expected a file descriptor number (0 or more)",
                    value);
        return NULL;
    }
    GError *local = NULL;
    WorkloadProgress *p = workload_progress_open_fd(workload, (int)fd, &local);
    if (p == NULL)
        g_propagate_prefixed_error(error, local, WORKLOAD_PROGRESS_ENV "=%s: ", value);
    return p;
}

void
workload_progress_start(WorkloadProgress *p, const char *config_name, guint64 total_steps,
                        guint64 params, guint64 checkpoint_bytes)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("start");
    json_object_set_new(line, "config", __json_string(config_name));
    json_object_set_new(line, "total_steps", json_integer((json_int_t)total_steps));
    json_object_set_new(line, "params", json_integer((json_int_t)params));
    json_object_set_new(line, "checkpoint_bytes", json_integer((json_int_t)checkpoint_bytes));
    __emit(p, line);
}

void
workload_progress_resume(WorkloadProgress *p, guint64 step, const char *path, double seconds)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("resume");
    json_object_set_new(line, "step", json_integer((json_int_t)step));
    json_object_set_new(line, "path", __json_string(path));
    json_object_set_new(line, "seconds", __json_number(seconds));
    __emit(p, line);
}

void
workload_progress_step(WorkloadProgress *p, guint64 step, double loss, guint64 items,
                       double step_seconds)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("step");
    json_object_set_new(line, "step", json_integer((json_int_t)step));
    json_object_set_new(line, "loss", __json_number(loss));
    json_object_set_new(line, "items", json_integer((json_int_t)items));
    json_object_set_new(line, "step_seconds", __json_number(step_seconds));
    __emit(p, line);
}

void
workload_progress_checkpoint_start(WorkloadProgress *p, guint64 step, const char *kind,
                                   const char *path)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("checkpoint_start");
    json_object_set_new(line, "step", json_integer((json_int_t)step));
    json_object_set_new(line, "kind", __json_string(kind));
    json_object_set_new(line, "path", __json_string(path));
    __emit(p, line);
}

void
workload_progress_checkpoint_end(WorkloadProgress *p, guint64 step, const char *kind,
                                 const char *path, guint64 bytes, double seconds, gboolean ok,
                                 const char *message)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("checkpoint_end");
    json_object_set_new(line, "step", json_integer((json_int_t)step));
    json_object_set_new(line, "kind", __json_string(kind));
    json_object_set_new(line, "path", __json_string(path));
    json_object_set_new(line, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(line, "seconds", __json_number(seconds));
    json_object_set_new(line, "ok", json_boolean(ok));
    if (!ok)
        json_object_set_new(line, "message", __json_string(message ? message : "unknown error"));
    __emit(p, line);
}

void
workload_progress_notice(WorkloadProgress *p, const char *source, const char *detail,
                         double deadline)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("notice");
    json_object_set_new(line, "source", __json_string(source));
    json_object_set_new(line, "detail", __json_string(detail));
    json_object_set_new(line, "deadline", deadline > 0 ? __json_number(deadline) : json_null());
    __emit(p, line);
}

void
workload_progress_item(WorkloadProgress *p, guint64 item, guint64 items_done)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("item");
    json_object_set_new(line, "item", json_integer((json_int_t)item));
    json_object_set_new(line, "items_done", json_integer((json_int_t)items_done));
    __emit(p, line);
}

void
workload_progress_exit(WorkloadProgress *p, const char *reason, guint64 step, int exit_code)
{
    if (!workload_progress_enabled(p))
        return;
    json_t *line = __line("exit");
    json_object_set_new(line, "reason", __json_string(reason));
    json_object_set_new(line, "step", json_integer((json_int_t)step));
    json_object_set_new(line, "code", json_integer(exit_code));
    __emit(p, line);
}
