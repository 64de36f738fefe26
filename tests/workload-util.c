/* spotlab tests: workload processes and their progress lines; see workload-util.h. */
#include "workload-util.h"

#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct TestWorkload {
    GPid pid;
    int fd;           /* read end of the progress pipe, -1 after end of file */
    GString *pending; /* bytes read after the last complete line */
    GPtrArray *lines; /* json_t, owned */
    GArray *received; /* gint64 per line */
    gboolean reaped;
    int status;
};

TestWorkload *
test_workload_spawn(const char *const *argv, const char *const *env, GError **error)
{
    int fds[2];
    if (pipe(fds) != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "pipe: %s",
                    g_strerror(errno));
        return NULL;
    }
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    const char *wrapper = g_getenv("SPOTLAB_TEST_WRAPPER");
    if (wrapper != NULL && *wrapper != '\0') {
        g_auto(GStrv) words = NULL;
        if (!g_shell_parse_argv(wrapper, NULL, &words, error)) {
            close(fds[0]);
            close(fds[1]);
            return NULL;
        }
        for (int i = 0; words[i] != NULL; i++)
            g_ptr_array_add(args, g_strdup(words[i]));
    }
    for (int i = 0; argv[i] != NULL; i++)
        g_ptr_array_add(args, g_strdup(argv[i]));
    g_ptr_array_add(args, NULL);

    g_auto(GStrv) envp = g_get_environ();
    envp = g_environ_setenv(envp, "SPOTLAB_PROGRESS_FD", "3", TRUE);
    for (int i = 0; env != NULL && env[i] != NULL; i++) {
        const char *eq = strchr(env[i], '=');
        g_assert(eq != NULL);
        g_autofree char *name = g_strndup(env[i], (gsize)(eq - env[i]));
        envp = g_environ_setenv(envp, name, eq + 1, TRUE);
    }
    int source_fds[] = {fds[1]};
    int target_fds[] = {3};
    GPid pid = 0;
    gboolean ok = g_spawn_async_with_pipes_and_fds(
        NULL, (const char *const *)args->pdata, (const char *const *)envp,
        G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, -1, -1, -1, source_fds,
        target_fds, 1, &pid, NULL, NULL, NULL, error);
    close(fds[1]);
    if (!ok) {
        close(fds[0]);
        return NULL;
    }
    TestWorkload *w = g_new0(TestWorkload, 1);
    w->pid = pid;
    w->fd = fds[0];
    w->pending = g_string_new(NULL);
    w->lines = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    w->received = g_array_new(FALSE, FALSE, sizeof(gint64));
    return w;
}

/* Takes one complete line out of w->pending, or returns NULL. */
static char *
__take_line(TestWorkload *w)
{
    char *nl = memchr(w->pending->str, '\n', w->pending->len);
    if (nl == NULL)
        return NULL;
    gsize n = (gsize)(nl - w->pending->str);
    char *line = g_strndup(w->pending->str, n);
    g_string_erase(w->pending, 0, (gssize)n + 1);
    return line;
}

json_t *
test_workload_next(TestWorkload *w, double timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    for (;;) {
        g_autofree char *line = __take_line(w);
        if (line != NULL) {
            json_error_t jerr;
            json_t *obj = json_loads(line, 0, &jerr);
            if (obj == NULL || !json_is_object(obj)) {
                fprintf(stderr, "progress line is not a JSON object: %s\n", line);
                json_decref(obj);
                return NULL;
            }
            gint64 now = g_get_monotonic_time();
            g_ptr_array_add(w->lines, obj);
            g_array_append_val(w->received, now);
            return obj;
        }
        if (w->fd < 0)
            return NULL;
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0)
            return NULL;
        struct pollfd p = {.fd = w->fd, .events = POLLIN};
        int r = poll(&p, 1, (int)MIN(left / 1000 + 1, G_MAXINT));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char buf[4096];
        ssize_t got = read(w->fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            close(w->fd);
            w->fd = -1;
            continue;
        }
        g_string_append_len(w->pending, buf, got);
    }
}

json_t *
test_workload_wait_event(TestWorkload *w, const char *event, gint64 step, double timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    for (;;) {
        double left = (double)(deadline - g_get_monotonic_time()) / G_USEC_PER_SEC;
        if (left <= 0)
            return NULL;
        json_t *line = test_workload_next(w, left);
        if (line == NULL)
            return NULL;
        const char *name = json_string_value(json_object_get(line, "event"));
        if (name == NULL || strcmp(name, event) != 0)
            continue;
        if (step >= 0 && json_integer_value(json_object_get(line, "step")) != step)
            continue;
        return line;
    }
}

GPtrArray *
test_workload_lines(TestWorkload *w)
{
    return w->lines;
}

gint64
test_workload_received_us(TestWorkload *w, const json_t *line)
{
    for (guint i = 0; i < w->lines->len; i++)
        if (g_ptr_array_index(w->lines, i) == line)
            return g_array_index(w->received, gint64, i);
    return -1;
}

pid_t
test_workload_pid(const TestWorkload *w)
{
    return w->pid;
}

void
test_workload_signal(TestWorkload *w, int sig)
{
    if (!w->reaped)
        kill(w->pid, sig);
}

int
test_workload_wait(TestWorkload *w, double timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    while (!w->reaped) {
        /* Keep reading so that a child blocked on a full pipe can go on. */
        while (w->fd >= 0 && test_workload_next(w, 0.02) != NULL)
            ;
        int status = 0;
        pid_t r = waitpid(w->pid, &status, WNOHANG);
        if (r == w->pid) {
            w->reaped = TRUE;
            w->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (g_get_monotonic_time() > deadline) {
            kill(w->pid, SIGKILL);
            waitpid(w->pid, &status, 0);
            w->reaped = TRUE;
            w->status = -1;
            return -1;
        }
        if (w->fd < 0)
            g_usleep(10000);
    }
    while (w->fd >= 0 && test_workload_next(w, 1.0) != NULL)
        ;
    return w->status;
}

void
test_workload_free(TestWorkload *w)
{
    if (w == NULL)
        return;
    if (!w->reaped) {
        kill(w->pid, SIGKILL);
        int status;
        waitpid(w->pid, &status, 0);
    }
    if (w->fd >= 0)
        close(w->fd);
    g_string_free(w->pending, TRUE);
    g_ptr_array_unref(w->lines);
    g_array_unref(w->received);
    g_free(w);
}

TestWorkload *
test_workload_spawn_native(const char *const *argv, GError **error)
{
    g_autofree char *wrapper = g_strdup(g_getenv("SPOTLAB_TEST_WRAPPER"));
    g_unsetenv("SPOTLAB_TEST_WRAPPER");
    TestWorkload *w = test_workload_spawn(argv, NULL, error);
    if (wrapper != NULL)
        g_setenv("SPOTLAB_TEST_WRAPPER", wrapper, TRUE);
    return w;
}

TestWorkload *
test_train_spawn(const char *train_bin, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)train_bin);
    for (guint i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    g_autoptr(GError) error = NULL;
    TestWorkload *w = test_workload_spawn_native((const char *const *)argv->pdata, &error);
    if (w == NULL)
        fprintf(stderr, "cannot start %s: %s\n", train_bin, error->message);
    return w;
}

void
test_train_measure(const char *train_bin, double *startup_s, double *steps_per_s)
{
    g_autofree char *dir = test_tmpdir_new();
    const char *argv[] = {train_bin, "--steps",     "400", "--checkpoint-dir",
                          dir,       "--log-every", "0",   NULL};
    gint64 t0 = g_get_monotonic_time();
    TestWorkload *w = test_workload_spawn_native(argv, NULL);
    g_assert(w != NULL);
    json_t *first = test_workload_wait_event(w, "step", 1, 60);
    gint64 t1 = g_get_monotonic_time();
    json_t *last = test_workload_wait_event(w, "step", 400, 60);
    g_assert(first != NULL && last != NULL && test_workload_wait(w, 60) == 0);
    double span = json_real_value(json_object_get(last, "mono")) -
                  json_real_value(json_object_get(first, "mono"));
    *startup_s = (double)(t1 - t0) / 1e6;
    *steps_per_s = span > 0 ? 399 / span : 1000;
    test_workload_free(w);
    test_tmpdir_remove(dir);
    fprintf(stderr, "calibration: startup %.3f s, %.0f steps/s\n", *startup_s, *steps_per_s);
}

gboolean
test_group_running(int pgid)
{
    if (kill(-pgid, 0) != 0 && errno == ESRCH)
        return FALSE;
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        if (!g_ascii_isdigit(name[0]))
            continue;
        g_autofree char *path = g_strdup_printf("/proc/%s/stat", name);
        g_autofree char *text = NULL;
        if (!g_file_get_contents(path, &text, NULL, NULL))
            continue;
        const char *rp = strrchr(text, ')');
        char state;
        int ppid, pgrp;
        if (rp != NULL && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z' && state != 'X')
            return TRUE;
    }
    return FALSE;
}

gboolean
test_group_gone(int pgid)
{
    for (int i = 0; i < 250; i++) {
        if (!test_group_running(pgid))
            return TRUE;
        g_usleep(20 * 1000);
    }
    return FALSE;
}
