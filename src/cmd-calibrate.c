/* spotlab calibrate: measure what a training workload costs on this machine, its step time,
 * startup time and checkpoint write and restore times, and write them as a profile that
 * continuous-model scenarios include (docs/calibration.md).
 *
 * The workload is the built-in spotlab-train (found beside the spotlab binary, then on PATH) or
 * any command that speaks the progress protocol (docs/progress-protocol.md). Everything is
 * measured on real runs in a temporary folder, removed afterwards whatever happens: for each
 * checkpoint size, N times a fresh start, then a restart of the same command after every
 * checkpoint but its oldest was removed, so that it restores one. Each run's process is started
 * with g_spawn (an argv, never a shell) and SPOTLAB_PROGRESS_FD=3 on a pipe; its lines are timed
 * as they are read, as the testbed times them.
 *
 * Exit status: 0 the profile was measured (and written with -o); 1 a run failed, timed out or
 * was interrupted; 2 bad usage, a workload that cannot start or does not speak the protocol, or
 * a profile that cannot be written.
 */
#include "commands.h"
#include "profile.h"
#include "progress-lines.h"
#include "scenario.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define CALIBRATE_ERROR (calibrate_error_quark())
static G_DEFINE_QUARK(spotlab - calibrate - error - quark, calibrate_error)

    enum {
        CALIBRATE_ERROR_USAGE,    /* bad usage or input: exit 2 */
        CALIBRATE_ERROR_PROTOCOL, /* cannot start, or does not speak the protocol: exit 2 */
        CALIBRATE_ERROR_RUN,      /* a run failed, timed out or was interrupted: exit 1 */
    };

#define PROGRESS_FD 3
/* The first steps of each process warm caches and allocators: left out of the step time. */
#define WARM_STEPS 3
/* Steps and checkpoints of the larger (or smaller) checkpoint of the built-in workload, whose
 * steps are not measured: a checkpoint after each step. */
#define VARIANT_STEPS 3
/* The other checkpoint size is about this many times the workload's (or as many times
 * smaller, when that would pass VARIANT_MAX_BYTES). */
#define VARIANT_RATIO     32.0
#define VARIANT_MAX_BYTES 64e6
/* A progress line is shorter than 4096 bytes; more than this without a newline is not one. */

/* Set by SIGINT and SIGTERM: the run in progress is killed and the folder removed. */
static volatile sig_atomic_t interrupted;

static void
__on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- one run --------------------------------------------------------------------------------- */

typedef struct {
    gint64 step;
    char *path;
    double bytes;
    double seconds;
    gboolean ok;
} CheckpointEnd;

typedef struct {
    char *what; /* "tiny, run 2 of 3, fresh start", for messages */
    gint64 spawn_us, hello_us, start_us, first_step_us; /* monotonic; -1: never */
    double first_step_seconds;                          /* its step_seconds; NaN: not given */
    double resume_seconds;                              /* NaN: no resume line */
    gint64 resume_step;
    char *resume_path;
    GArray *step_seconds;    /* double, in the order of the lines */
    GArray *step_periods;    /* double: from one step line to the next ("mono"), outside
                              * checkpoints: the pace of the work, loop included */
    double last_step_mono;   /* the previous step line's "mono"; NaN after a checkpoint */
    GArray *checkpoints;     /* CheckpointEnd */
    double checkpoint_bytes; /* of the start line; NaN: not given */
    double params;
    char *config;
    guint lines, bad_lines;
    int exit_status, exit_signal; /* -1 when not applicable */
    char *exit_reason;
} Run;

static void
__checkpoint_end_clear(gpointer p)
{
    g_free(((CheckpointEnd *)p)->path);
}

static Run *
__run_new(const char *what)
{
    Run *r = g_new0(Run, 1);
    r->what = g_strdup(what);
    r->spawn_us = r->hello_us = r->start_us = r->first_step_us = -1;
    r->first_step_seconds = r->resume_seconds = r->checkpoint_bytes = r->params = NAN;
    r->resume_step = -1;
    r->step_seconds = g_array_new(FALSE, FALSE, sizeof(double));
    r->step_periods = g_array_new(FALSE, FALSE, sizeof(double));
    r->last_step_mono = NAN;
    r->checkpoints = g_array_new(FALSE, TRUE, sizeof(CheckpointEnd));
    g_array_set_clear_func(r->checkpoints, __checkpoint_end_clear);
    r->exit_status = r->exit_signal = -1;
    return r;
}

static void
__run_free(gpointer p)
{
    Run *r = p;
    if (r == NULL)
        return;
    g_free(r->what);
    g_free(r->resume_path);
    g_array_unref(r->step_seconds);
    g_array_unref(r->step_periods);
    g_array_unref(r->checkpoints);
    g_free(r->config);
    g_free(r->exit_reason);
    g_free(r);
}

static double
__number(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* One progress line, received at @now. Readers ignore fields and events they do not know. */
static void
__line(Run *r, const char *text, gint64 now)
{
    while (g_ascii_isspace(*text))
        text++;
    if (*text == '\0')
        return;
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    const char *ev = json_is_object(o) ? json_string_value(json_object_get(o, "event")) : NULL;
    if (ev == NULL) {
        r->bad_lines++;
        json_decref(o);
        return;
    }
    r->lines++;
    if (strcmp(ev, "hello") == 0 && r->hello_us < 0) {
        r->hello_us = now;
    } else if (strcmp(ev, "start") == 0 && r->start_us < 0) {
        r->start_us = now;
        r->checkpoint_bytes = __number(o, "checkpoint_bytes");
        r->params = __number(o, "params");
        const char *config = json_string_value(json_object_get(o, "config"));
        r->config = g_strdup(config);
    } else if (strcmp(ev, "resume") == 0 && isnan(r->resume_seconds)) {
        r->resume_seconds = __number(o, "seconds");
        double step = __number(o, "step");
        r->resume_step = isfinite(step) ? (gint64)step : -1;
        r->resume_path = g_strdup(json_string_value(json_object_get(o, "path")));
        if (isnan(r->resume_seconds))
            r->resume_seconds = INFINITY; /* a resume without its time: reported as such */
    } else if (strcmp(ev, "step") == 0) {
        double s = __number(o, "step_seconds");
        if (r->first_step_us < 0) {
            r->first_step_us = now;
            r->first_step_seconds = s;
        }
        if (isfinite(s) && s >= 0)
            g_array_append_val(r->step_seconds, s);
        double mono = __number(o, "mono");
        if (isfinite(mono) && isfinite(r->last_step_mono) && mono > r->last_step_mono) {
            double period = mono - r->last_step_mono;
            g_array_append_val(r->step_periods, period);
        }
        r->last_step_mono = mono;
    } else if (strcmp(ev, "checkpoint_start") == 0) {
        r->last_step_mono = NAN; /* the next step's period holds the write */
    } else if (strcmp(ev, "checkpoint_end") == 0) {
        double step = __number(o, "step");
        CheckpointEnd c = {
            .step = isfinite(step) ? (gint64)step : -1,
            .path = g_strdup(json_string_value(json_object_get(o, "path"))),
            .bytes = __number(o, "bytes"),
            .seconds = __number(o, "seconds"),
            .ok = json_is_true(json_object_get(o, "ok")),
        };
        g_array_append_val(r->checkpoints, c);
    } else if (strcmp(ev, "exit") == 0 && r->exit_reason == NULL) {
        r->exit_reason = g_strdup(json_string_value(json_object_get(o, "reason")));
    }
    json_decref(o);
}

static void
__on_line(const char *line, gint64 now, gpointer user_data)
{
    __line(user_data, line, now);
}

/* Reads what the pipe holds now; FALSE at end of file. */
static gboolean
__read(int fd, GString *pending, Run *r)
{
    return harness_read_lines(fd, pending, __on_line, r, &r->bad_lines);
}

static void
__child_setup(gpointer user_data)
{
    /* A group of its own, so that what it starts is killed with it; and, on Linux, killed if
     * calibrate dies, so that nothing outlives it. */
    (void)setpgid(0, 0);
#ifdef __linux__
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)GPOINTER_TO_INT(user_data))
        _exit(127);
#endif
}

/* The last lines the command printed (its stdout and stderr go to @log), for messages. */
static char *
__log_tail(const char *log)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(log, &text, &len, NULL) || len == 0)
        return g_strdup("");
    g_auto(GStrv) lines = g_strsplit(g_strchomp(text), "\n", -1);
    guint n = g_strv_length(lines);
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = n > 4 ? n - 4 : 0; i < n; i++) {
        g_autofree char *line = g_utf8_make_valid(lines[i], -1);
        if (g_utf8_strlen(line, -1) > 300)
            *g_utf8_offset_to_pointer(line, 300) = '\0';
        g_string_append_printf(out, "\n  | %s", line);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

typedef struct {
    gint64 timeout_us;
    char *log; /* where each run's stdout and stderr go */
} Runner;

/* Runs @argv to its end, reading its progress lines into @r. FALSE (CALIBRATE_ERROR_PROTOCOL)
 * when it cannot start, or (CALIBRATE_ERROR_RUN) when it ran past the timeout or calibrate was
 * interrupted; how it ended is in @r otherwise. */
static gboolean
__run(const Runner *runner, char **argv, Run *r, GError **error)
{
    int fds[2];
    if (pipe(fds) != 0) {
        int err = errno;
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_RUN, "progress pipe: %s",
                    g_strerror(err));
        return FALSE;
    }
    (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    (void)fcntl(fds[0], F_SETFL, O_NONBLOCK);
    int log = open(runner->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_RUN, "%s: %s", runner->log,
                    g_strerror(err));
        return FALSE;
    }
    g_auto(GStrv) envp = g_get_environ();
    envp = g_environ_setenv(envp, "SPOTLAB_PROGRESS_FD", G_STRINGIFY(PROGRESS_FD), TRUE);
    int source_fds[] = {fds[1]};
    int target_fds[] = {PROGRESS_FD};
    GPid pid = 0;
    g_autoptr(GError) local = NULL;
    r->spawn_us = g_get_monotonic_time();
    gboolean ok = g_spawn_async_with_pipes_and_fds(
        NULL, (const char *const *)argv, (const char *const *)envp,
        G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
        __child_setup, GINT_TO_POINTER((int)getpid()), -1, log, log, source_fds, target_fds, 1,
        &pid, NULL, NULL, NULL, &local);
    close(fds[1]);
    close(log);
    if (!ok) {
        close(fds[0]);
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL, "cannot start %s: %s",
                    argv[0], local->message);
        return FALSE;
    }
    (void)setpgid(pid, pid);

    g_autoptr(GString) pending = g_string_new(NULL);
    gboolean open_fd = TRUE;
    const char *killed_why = NULL;
    for (;;) {
        if (interrupted || g_get_monotonic_time() - r->spawn_us > runner->timeout_us) {
            killed_why = interrupted ? "interrupted" : "timeout";
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int n = poll(&p, open_fd ? 1 : 0, open_fd ? 50 : 10);
        if (n > 0 && open_fd && !__read(fds[0], pending, r))
            open_fd = FALSE;
        /* Ended, but left unreaped (WNOWAIT) until its group is killed below, so that the
         * group's number cannot have gone to another process by then. */
        siginfo_t info = {0};
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
            break;
    }
    /* What it wrote before it ended is in the pipe; whatever of its group still holds the pipe
     * open is a stray, killed here, and on a timeout or an interruption the process too. */
    if (open_fd && killed_why == NULL)
        (void)__read(fds[0], pending, r);
    (void)kill(-pid, SIGKILL);
    (void)kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    if (pending->len > 0)
        __line(r, pending->str, g_get_monotonic_time());
    if (WIFEXITED(status))
        r->exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r->exit_signal = WTERMSIG(status);
    if (killed_why != NULL && strcmp(killed_why, "interrupted") == 0) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_RUN, "%s: interrupted", r->what);
        return FALSE;
    }
    if (killed_why != NULL) {
        g_autofree char *tail = __log_tail(runner->log);
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_RUN,
                    "%s: still running after %.0f s, killed (--timeout)%s%s", r->what,
                    (double)runner->timeout_us / G_USEC_PER_SEC,
                    *tail ? "; its output ended with:" : "", tail);
        return FALSE;
    }
    return TRUE;
}

static char *
__how_it_ended(const Run *r)
{
    if (r->exit_signal > 0)
        return g_strdup_printf("was killed by signal %d (%s)", r->exit_signal,
                               g_strsignal(r->exit_signal));
    return g_strdup_printf("exited with status %d", r->exit_status);
}

/* Whether @r ran as a workload must for calibration: spoke the protocol, succeeded, and gave
 * the lines its kind of run is measured by. */
static gboolean
__check_run(const Runner *runner, const Run *r, const char *program, gboolean resumed,
            GError **error)
{
    g_autofree char *tail = __log_tail(runner->log);
    g_autofree char *ended = __how_it_ended(r);
    const char *with = *tail ? "; its output ended with:" : "";
    if (r->lines == 0) {
        g_autofree char *bad =
            r->bad_lines > 0
                ? g_strdup_printf(" (%u lines that are not JSON objects with an \"event\")",
                                  r->bad_lines)
                : g_strdup("");
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s: %s does not speak the progress protocol: it wrote no progress line on "
                    "SPOTLAB_PROGRESS_FD%s (docs/progress-protocol.md), and %s%s%s",
                    r->what, program, bad, ended, with, tail);
        return FALSE;
    }
    if (r->exit_status != 0) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_RUN, "%s: %s %s%s%s", r->what, program,
                    ended, with, tail);
        return FALSE;
    }
    if (!resumed && r->step_seconds->len == 0) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s: %s reported no \"step\" line with \"step_seconds\"; calibrate measures "
                    "the steps",
                    r->what, program);
        return FALSE;
    }
    gboolean saved = FALSE;
    for (guint i = 0; i < r->checkpoints->len && !saved; i++)
        saved = g_array_index(r->checkpoints, CheckpointEnd, i).ok;
    if (!resumed && !saved) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s: %s reported no complete checkpoint (\"checkpoint_end\" with \"ok\": "
                    "true); calibrate measures checkpoints, so the command must write some into "
                    "{checkpoint_dir}",
                    r->what, program);
        return FALSE;
    }
    if (resumed && isnan(r->resume_seconds)) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s: %s, started again with a checkpoint in {checkpoint_dir}, reported no "
                    "\"resume\" line; calibrate measures the restore from it",
                    r->what, program);
        return FALSE;
    }
    if (resumed && !isfinite(r->resume_seconds)) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s: %s reported a \"resume\" line without \"seconds\" (the restore time)",
                    r->what, program);
        return FALSE;
    }
    return TRUE;
}

/* ---- the folder ------------------------------------------------------------------------------ */

/* Whether @path (as the workload reported it, relative to the working folder) lies in @dir. */
static char *
__inside(const char *path, const char *dir)
{
    if (path == NULL)
        return NULL;
    g_autofree char *canon = g_canonicalize_filename(path, NULL);
    g_autofree char *prefix = g_strconcat(dir, G_DIR_SEPARATOR_S, NULL);
    return g_str_has_prefix(canon, prefix) ? g_steal_pointer(&canon) : NULL;
}

/* Leaves in @dir only the oldest complete checkpoint @fresh reported that is still there, so
 * that the next run restores it. Only files in @dir are ever removed. */
static gboolean
__prepare_restart(const char *dir, const Run *fresh, const char *program, GError **error)
{
    const CheckpointEnd *keep = NULL;
    for (guint i = 0; i < fresh->checkpoints->len; i++) {
        const CheckpointEnd *c = &g_array_index(fresh->checkpoints, CheckpointEnd, i);
        g_autofree char *path = __inside(c->path, dir);
        if (c->ok && path != NULL && g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
            (keep == NULL || c->step < keep->step))
            keep = c;
    }
    if (keep == NULL) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s: none of the checkpoints %s reported is in {checkpoint_dir} (%s); the "
                    "command must write its checkpoints there",
                    fresh->what, program, dir);
        return FALSE;
    }
    g_autofree char *kept = __inside(keep->path, dir);
    for (guint i = 0; i < fresh->checkpoints->len; i++) {
        const CheckpointEnd *c = &g_array_index(fresh->checkpoints, CheckpointEnd, i);
        g_autofree char *path = __inside(c->path, dir);
        if (path != NULL && strcmp(path, kept) != 0)
            (void)g_remove(path);
    }
    return TRUE;
}

/* ---- the machine ----------------------------------------------------------------------------- */

static char *
__cpu_model(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL))
        return NULL;
    static const char *const keys[] = {"model name", "Hardware", "cpu model", "Processor"};
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
        for (guint i = 0; lines[i] != NULL; i++) {
            char *colon = strchr(lines[i], ':');
            if (colon == NULL)
                continue;
            g_autofree char *key = g_strstrip(g_strndup(lines[i], (gsize)(colon - lines[i])));
            if (strcmp(key, keys[k]) == 0)
                return g_strstrip(g_strdup(colon + 1));
        }
    }
    return NULL;
}

/* "\040" in /proc/mounts is a space. */
static char *
__unescape_mount(const char *s)
{
    GString *out = g_string_new(NULL);
    for (; *s != '\0'; s++) {
        if (s[0] == '\\' && g_ascii_isdigit(s[1]) && g_ascii_isdigit(s[2]) &&
            g_ascii_isdigit(s[3])) {
            g_string_append_c(out, (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0')));
            s += 3;
        } else {
            g_string_append_c(out, *s);
        }
    }
    return g_string_free(out, FALSE);
}

/* The file system @dir is on ("ext4", "tmpfs"), from the longest mount point above it. */
static char *
__filesystem(const char *dir)
{
    char *real = realpath(dir, NULL);
    g_autofree char *text = NULL;
    if (real == NULL || !g_file_get_contents("/proc/mounts", &text, NULL, NULL)) {
        free(real);
        return NULL;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    char *best = NULL;
    gsize best_len = 0;
    for (guint i = 0; lines[i] != NULL; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
        if (g_strv_length(f) < 3)
            continue;
        g_autofree char *mount = __unescape_mount(f[1]);
        gsize len = strlen(mount);
        gboolean above = strcmp(mount, "/") == 0 ||
                         (strncmp(real, mount, len) == 0 && (real[len] == '/' || real[len] == 0));
        if (above && (best == NULL || len >= best_len)) {
            g_free(best);
            best = g_strdup(f[2]);
            best_len = len;
        }
    }
    free(real);
    return best;
}

/* ---- statistics ------------------------------------------------------------------------------ */

static int
__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The @q quantile (0..1, nearest rank on the sorted values; the median averages the middle two
 * of an even count); NaN when empty. */
static double
__quantile(GArray *values, double q)
{
    if (values->len == 0)
        return NAN;
    g_autofree double *v = g_memdup2(values->data, values->len * sizeof(double));
    qsort(v, values->len, sizeof(double), __cmp_double);
    guint n = values->len;
    if (q == 0.5 && n % 2 == 0)
        return (v[n / 2 - 1] + v[n / 2]) / 2;
    return v[(guint)floor(q * (n - 1) + 0.5)];
}

/* ---- the calibration ------------------------------------------------------------------------- */

/* One checkpoint size: the command (with {checkpoint_dir} and {steps}) and its runs. */
typedef struct {
    char *label;        /* "tiny", "tiny with hidden=1024 batch=1" */
    char **argv;        /* the command, placeholders unreplaced */
    guint64 steps;      /* for {steps} */
    gboolean variant;   /* only its checkpoints are measured */
    char **variant_set; /* built-in: the --set changes that make the variant */
    GPtrArray *fresh;   /* Run* */
    GPtrArray *restart; /* Run* */
} Size;

static void
__size_free(gpointer p)
{
    Size *s = p;
    g_free(s->label);
    g_strfreev(s->argv);
    g_strfreev(s->variant_set);
    g_ptr_array_unref(s->fresh);
    g_ptr_array_unref(s->restart);
    g_free(s);
}

static Size *
__size_new(const char *label, GPtrArray *argv, guint64 steps, gboolean variant)
{
    Size *s = g_new0(Size, 1);
    s->label = g_strdup(label);
    g_ptr_array_add(argv, NULL);
    s->argv = (char **)g_ptr_array_free(argv, FALSE);
    s->steps = steps;
    s->variant = variant;
    s->fresh = g_ptr_array_new_with_free_func(__run_free);
    s->restart = g_ptr_array_new_with_free_func(__run_free);
    return s;
}

static char *
__replace(const char *arg, const char *placeholder, const char *value)
{
    g_auto(GStrv) parts = g_strsplit(arg, placeholder, -1);
    return g_strjoinv(value, parts);
}

static char **
__argv_for(const Size *s, const char *dir)
{
    g_autofree char *steps = g_strdup_printf("%" G_GUINT64_FORMAT, s->steps);
    guint n = g_strv_length(s->argv);
    char **argv = g_new0(char *, n + 1);
    for (guint i = 0; i < n; i++) {
        g_autofree char *a = __replace(s->argv[i], "{checkpoint_dir}", dir);
        argv[i] = __replace(a, "{steps}", steps);
    }
    return argv;
}

/* The parameters of spotlab-train's model with @hidden (gpu-workloads/train/model.c). */
static double
__params(json_t *cfg, double hidden)
{
    double v = __number(cfg, "vocab"), e = __number(cfg, "embed"), c = __number(cfg, "context"),
           l = __number(cfg, "layers");
    return v * e + c * e * hidden + hidden + v * hidden + v + (l - 1) * (hidden * hidden + hidden);
}

/* Asks spotlab-train for its configuration with @preset and @sets, which checks them too. */
static json_t *
__train_config(const char *train, const char *preset, char **sets, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)train);
    g_ptr_array_add(argv, "--preset");
    g_ptr_array_add(argv, (char *)preset);
    for (guint i = 0; sets != NULL && sets[i] != NULL; i++) {
        g_ptr_array_add(argv, "--set");
        g_ptr_array_add(argv, sets[i]);
    }
    g_ptr_array_add(argv, "--print-config");
    g_ptr_array_add(argv, NULL);
    g_autofree char *out = NULL, *err = NULL;
    int status = 0;
    g_autoptr(GError) local = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                      &out, &err, &status, &local)) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL, "cannot start %s: %s", train,
                    local->message);
        return NULL;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_USAGE, "%s",
                    err != NULL && *err ? g_strchomp(err) : "spotlab-train --print-config failed");
        return NULL;
    }
    json_error_t jerr;
    json_t *cfg = json_loads(out, 0, &jerr);
    if (!json_is_object(cfg) || !isfinite(__number(cfg, "hidden"))) {
        json_decref(cfg);
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s --print-config: expected its configuration as a JSON object", train);
        return NULL;
    }
    return cfg;
}

/* The width of the other checkpoint size: about VARIANT_RATIO times the parameters, or as
 * many as VARIANT_MAX_BYTES allows when that is still 4 times more, else VARIANT_RATIO times
 * fewer; a multiple of 8. 0 when no width gives a size different enough. */
static guint
__variant_hidden(json_t *cfg)
{
    double hidden = __number(cfg, "hidden"), base = __params(cfg, hidden);
    double bytes = 12 * base; /* three float arrays: the parameters and Adam's two moments */
    double target = bytes * VARIANT_RATIO <= VARIANT_MAX_BYTES ? base * VARIANT_RATIO
                    : bytes * 4 <= VARIANT_MAX_BYTES           ? VARIANT_MAX_BYTES / 12
                                                               : base / VARIANT_RATIO;
    guint best = 0;
    double best_err = INFINITY;
    for (guint h = 8; h <= 65536; h += 8) {
        double err = fabs(log(__params(cfg, h) / target));
        if (err < best_err) {
            best_err = err;
            best = h;
        }
    }
    double ratio = __params(cfg, best) / base;
    return ratio >= 4 || ratio <= 0.25 ? best : 0;
}

typedef struct {
    /* Options. */
    char *preset;
    char **sets;
    int runs;
    gint64 steps;
    char *output;
    char *dir;
    double timeout_seconds;
    char **command; /* after --, or NULL: the built-in workload */
    /* Found. */
    char *train; /* the built-in workload's path */
    json_t *train_config;
    char *program;    /* for messages: the workload's name */
    GPtrArray *sizes; /* Size* */
    char *tmp;        /* the temporary folder */
    char *fs;         /* its file system */
    GDateTime *measured;
} Calibration;

static void
__calibration_clear(Calibration *c)
{
    g_free(c->preset);
    g_strfreev(c->sets);
    g_free(c->output);
    g_free(c->dir);
    g_free(c->train);
    json_decref(c->train_config);
    g_free(c->program);
    if (c->sizes != NULL)
        g_ptr_array_unref(c->sizes);
    g_free(c->tmp);
    g_free(c->fs);
    if (c->measured != NULL)
        g_date_time_unref(c->measured);
}

/* The sizes to measure: the built-in workload at its preset and at another width, or the
 * command as given. */
static gboolean
__plan(Calibration *c, GError **error)
{
    c->sizes = g_ptr_array_new_with_free_func(__size_free);
    if (c->command != NULL) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        gboolean named = FALSE;
        for (guint i = 0; c->command[i] != NULL; i++) {
            named = named || strstr(c->command[i], "{checkpoint_dir}") != NULL;
            g_ptr_array_add(argv, g_strdup(c->command[i]));
        }
        if (!named) {
            g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_USAGE,
                        "the command must name {checkpoint_dir}, the folder its checkpoints go "
                        "to (a fresh one in the temporary folder for each run)");
            return FALSE;
        }
        /* "python3 train.py", "sh job.sh": the script says more than its interpreter. */
        g_autofree char *base = g_path_get_basename(c->command[0]);
        const char *arg = c->command[1];
        if (arg != NULL && arg[0] != '-' && strchr(arg, '{') == NULL) {
            g_autofree char *script = g_path_get_basename(arg);
            c->program = g_strdup_printf("%s %s", base, script);
        } else {
            c->program = g_steal_pointer(&base);
        }
        g_ptr_array_add(c->sizes,
                        __size_new(c->program, g_steal_pointer(&argv), (guint64)c->steps, FALSE));
        return TRUE;
    }
    if (c->train == NULL)
        c->train = cmd_find_train();
    if (c->train == NULL) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_USAGE,
                    "cannot find spotlab-train beside spotlab or on PATH; build it (meson "
                    "compile) or name a workload after --");
        return FALSE;
    }
    c->program = g_path_get_basename(c->train);
    c->train_config = __train_config(c->train, c->preset, c->sets, error);
    if (c->train_config == NULL)
        return FALSE;
    guint64 every = MAX((guint64)c->steps / 4, 1);
    for (int v = 0; v < 2; v++) {
        guint hidden = 0;
        if (v == 1 && (hidden = __variant_hidden(c->train_config)) == 0)
            break;
        GPtrArray *argv = g_ptr_array_new();
        g_ptr_array_add(argv, g_strdup(c->train));
        g_ptr_array_add(argv, g_strdup("--preset"));
        g_ptr_array_add(argv, g_strdup(c->preset));
        for (guint i = 0; c->sets != NULL && c->sets[i] != NULL; i++) {
            g_ptr_array_add(argv, g_strdup("--set"));
            g_ptr_array_add(argv, g_strdup(c->sets[i]));
        }
        /* The other size: wider, and one sample per batch, so that its steps stay short; its
         * steps are not measured, only its checkpoints. Later --set win. */
        g_autofree char *h = g_strdup_printf("hidden=%u", hidden);
        const char *variant_set[] = {h, "batch=1", NULL};
        for (gsize i = 0; v == 1 && variant_set[i] != NULL; i++) {
            g_ptr_array_add(argv, g_strdup("--set"));
            g_ptr_array_add(argv, g_strdup(variant_set[i]));
        }
        g_autofree char *ev = g_strdup_printf("%" G_GUINT64_FORMAT, v == 1 ? 1 : every);
        const char *rest[] = {"--steps",
                              "{steps}",
                              "--checkpoint-dir",
                              "{checkpoint_dir}",
                              "--checkpoint-every",
                              ev,
                              "--keep",
                              "1000",
                              "--log-every",
                              "0"};
        for (gsize i = 0; i < G_N_ELEMENTS(rest); i++)
            g_ptr_array_add(argv, g_strdup(rest[i]));
        g_autofree char *label = v == 0 ? g_strdup(c->preset)
                                        : g_strdup_printf("%s with %s %s", c->preset, h, "batch=1");
        Size *s = __size_new(label, argv, v == 1 ? VARIANT_STEPS : (guint64)c->steps, v == 1);
        if (v == 1)
            s->variant_set = g_strdupv((char **)variant_set);
        g_ptr_array_add(c->sizes, s);
    }
    return TRUE;
}

static void
__progress(const char *what)
{
    if (!isatty(STDERR_FILENO))
        return;
    if (what == NULL)
        fputs("\r\033[K", stderr);
    else
        fprintf(stderr, "\r\033[Kcalibrating: %s", what);
    fflush(stderr);
}

/* Runs every size @runs times: a fresh start, then a restart from its oldest checkpoint. */
static gboolean
__measure(Calibration *c, GError **error)
{
    g_autofree char *log = g_build_filename(c->tmp, "output.log", NULL);
    Runner runner = {.timeout_us = (gint64)(c->timeout_seconds * G_USEC_PER_SEC), .log = log};
    for (guint k = 0; k < c->sizes->len; k++) {
        Size *s = c->sizes->pdata[k];
        for (int i = 0; i < c->runs; i++) {
            g_autofree char *name = g_strdup_printf("checkpoints-%u-%d", k, i + 1);
            g_autofree char *dir = g_build_filename(c->tmp, name, NULL);
            if (g_mkdir(dir, 0700) != 0) {
                int err = errno;
                g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_RUN, "%s: %s", dir,
                            g_strerror(err));
                return FALSE;
            }
            g_auto(GStrv) argv = __argv_for(s, dir);
            for (int restart = 0; restart < 2; restart++) {
                g_autofree char *what =
                    g_strdup_printf("%s, run %d of %d, %s", s->label, i + 1, c->runs,
                                    restart ? "restart from a checkpoint" : "fresh start");
                __progress(what);
                Run *r = __run_new(what);
                g_ptr_array_add(restart ? s->restart : s->fresh, r);
                if (!__run(&runner, argv, r, error) ||
                    !__check_run(&runner, r, c->program, restart, error))
                    return FALSE;
                if (!restart && !__prepare_restart(dir, r, c->program, error))
                    return FALSE;
            }
            spotlab_remove_tree(dir);
        }
    }
    __progress(NULL);
    return TRUE;
}

/* The size of the checkpoint @r restored: as its fresh run reported it, else the file's. */
static double
__restored_bytes(const Run *fresh, const Run *r)
{
    g_autofree char *want = r->resume_path ? g_canonicalize_filename(r->resume_path, NULL) : NULL;
    for (guint i = 0; i < fresh->checkpoints->len; i++) {
        const CheckpointEnd *e = &g_array_index(fresh->checkpoints, CheckpointEnd, i);
        if (!e->ok || e->path == NULL)
            continue;
        g_autofree char *have = g_canonicalize_filename(e->path, NULL);
        if ((want != NULL && strcmp(want, have) == 0) ||
            (want == NULL && e->step == r->resume_step))
            return e->bytes;
    }
    return NAN;
}

typedef struct {
    GArray *steps;        /* steady-state step seconds */
    GArray *startup;      /* fresh starts: spawn to first step, less that step */
    GArray *to_start;     /* fresh starts: spawn to "start" */
    GArray *startup_back; /* restarts: spawn to first step, less that step and the restore */
    GArray *write_x, *write_y, *restore_x, *restore_y; /* bytes, seconds: every point */
    GArray *write_at, *restore_at, *bytes_at;          /* at the workload's own size */
    json_t *points;
} Figures;

static void
__figures_clear(Figures *f)
{
    GArray **arrays[] = {&f->steps,    &f->startup,    &f->to_start,  &f->startup_back,
                         &f->write_x,  &f->write_y,    &f->restore_x, &f->restore_y,
                         &f->write_at, &f->restore_at, &f->bytes_at};
    for (gsize i = 0; i < G_N_ELEMENTS(arrays); i++)
        g_clear_pointer(arrays[i], g_array_unref);
    json_decref(f->points);
}

static void
__append(GArray *a, double v)
{
    g_array_append_val(a, v);
}

static json_t *
__point(const char *op, const Size *s, int run, gboolean restart, gint64 step, double bytes,
        double seconds)
{
    return json_pack("{s:s, s:s, s:i, s:b, s:I, s:I, s:f}", "op", op, "size", s->label, "run", run,
                     "restart", restart, "step", (json_int_t)step, "bytes", (json_int_t)bytes,
                     "seconds", seconds);
}

static void
__collect(const Calibration *c, Figures *f)
{
    GArray **arrays[] = {&f->steps,    &f->startup,    &f->to_start,  &f->startup_back,
                         &f->write_x,  &f->write_y,    &f->restore_x, &f->restore_y,
                         &f->write_at, &f->restore_at, &f->bytes_at};
    for (gsize i = 0; i < G_N_ELEMENTS(arrays); i++)
        *arrays[i] = g_array_new(FALSE, FALSE, sizeof(double));
    f->points = json_array();
    for (guint k = 0; k < c->sizes->len; k++) {
        const Size *s = c->sizes->pdata[k];
        for (guint i = 0; i < s->fresh->len; i++) {
            for (int restart = 0; restart < 2; restart++) {
                const Run *r = (restart ? s->restart : s->fresh)->pdata[i];
                for (guint j = 0; j < r->checkpoints->len; j++) {
                    const CheckpointEnd *e = &g_array_index(r->checkpoints, CheckpointEnd, j);
                    if (!e->ok || !(e->bytes > 0) || !(e->seconds >= 0))
                        continue;
                    __append(f->write_x, e->bytes);
                    __append(f->write_y, e->seconds);
                    json_array_append_new(f->points, __point("write", s, (int)i + 1, restart,
                                                             e->step, e->bytes, e->seconds));
                    if (!s->variant) {
                        __append(f->write_at, e->seconds);
                        __append(f->bytes_at, e->bytes);
                    }
                }
                if (restart) {
                    double bytes = __restored_bytes(s->fresh->pdata[i], r);
                    if (bytes > 0) {
                        __append(f->restore_x, bytes);
                        __append(f->restore_y, r->resume_seconds);
                        json_array_append_new(f->points,
                                              __point("restore", s, (int)i + 1, TRUE,
                                                      r->resume_step, bytes, r->resume_seconds));
                    }
                    if (!s->variant)
                        __append(f->restore_at, r->resume_seconds);
                }
                if (s->variant)
                    continue;
                /* The pace: step line to step line; a workload without "mono" gives its own
                 * step times, which leave out what its loop does beside the step. */
                const GArray *pace = r->step_periods->len > 0 ? r->step_periods : r->step_seconds;
                for (guint j = MIN(WARM_STEPS, pace->len / 2); j < pace->len; j++)
                    __append(f->steps, g_array_index(pace, double, j));
                if (r->first_step_us < 0)
                    continue;
                double first = isfinite(r->first_step_seconds) ? r->first_step_seconds : 0;
                double to_step = (double)(r->first_step_us - r->spawn_us) / G_USEC_PER_SEC - first;
                if (!restart) {
                    __append(f->startup, MAX(to_step, 0));
                    if (r->start_us >= 0)
                        __append(f->to_start, (double)(r->start_us - r->spawn_us) / G_USEC_PER_SEC);
                } else {
                    __append(f->startup_back, MAX(to_step - r->resume_seconds, 0));
                }
            }
        }
    }
}

static json_t *
__duration_json(double seconds)
{
    if (!isfinite(seconds))
        return json_null();
    g_autofree char *text = profile_format_duration(seconds);
    return json_string(text);
}

static json_t *
__fit_json(const ProfileFit *fit)
{
    return json_pack("{s:s, s:i, s:i, s:o}", "method",
                     fit->through_zero ? "through-zero" : "least-squares", "points", fit->points,
                     "sizes", fit->sizes, "r2",
                     isfinite(fit->r2) ? json_real(fit->r2) : json_null());
}

static json_t *
__profile_json(const Calibration *c, const Figures *f, const ProfileFit *wfit,
               const ProfileFit *rfit)
{
    const Size *main = c->sizes->pdata[0];
    json_t *doc = json_object();
    json_object_set_new(doc, "kind", json_string(PROFILE_KIND));
    json_object_set_new(doc, "version", json_integer(PROFILE_VERSION));
    g_autofree char *when = g_date_time_format(c->measured, "%Y-%m-%dT%H:%M:%SZ");
    json_object_set_new(doc, "measured", json_string(when));

    struct utsname u;
    g_autofree char *system =
        uname(&u) == 0 ? g_strdup_printf("%s %s %s", u.sysname, u.release, u.machine) : NULL;
    g_autofree char *cpu = __cpu_model();
    const char *host = g_get_host_name();
    g_autofree char *parent = g_path_get_dirname(c->tmp);
    json_t *machine = json_object();
    json_object_set_new(machine, "host", json_string(host));
    json_object_set_new(machine, "cpu", cpu ? json_string(cpu) : json_null());
    json_object_set_new(machine, "cores", json_integer(g_get_num_processors()));
    json_object_set_new(machine, "system", system ? json_string(system) : json_null());
    json_object_set_new(machine, "checkpoint_dir", json_string(parent));
    json_object_set_new(machine, "filesystem", c->fs ? json_string(c->fs) : json_null());
    json_object_set_new(doc, "machine", machine);

    json_t *workload = json_object();
    json_t *command = json_array();
    for (guint i = 0; main->argv[i] != NULL; i++)
        json_array_append_new(command, json_string(main->argv[i]));
    json_object_set_new(workload, "command", command);
    json_object_set_new(workload, "preset", c->command ? json_null() : json_string(c->preset));
    json_t *sets = json_array();
    for (guint i = 0; c->command == NULL && c->sets != NULL && c->sets[i] != NULL; i++)
        json_array_append_new(sets, json_string(c->sets[i]));
    json_object_set_new(workload, "set", sets);
    const Run *first = main->fresh->pdata[0];
    json_object_set_new(workload, "config",
                        first->config ? json_string(first->config) : json_null());
    json_object_set_new(workload, "params",
                        isfinite(first->params) ? json_integer((json_int_t)first->params)
                                                : json_null());
    json_object_set_new(workload, "checkpoint_bytes",
                        isfinite(first->checkpoint_bytes)
                            ? json_integer((json_int_t)first->checkpoint_bytes)
                            : json_null());
    json_object_set_new(doc, "workload", workload);
    json_object_set_new(doc, "runs", json_integer(c->runs));
    json_object_set_new(doc, "steps", json_integer(c->steps));

    json_object_set_new(doc, "step_time", __duration_json(__quantile(f->steps, 0.5)));
    json_object_set_new(
        doc, "step_time_spread",
        json_pack("{s:o, s:o, s:o, s:o, s:i}", "p10", __duration_json(__quantile(f->steps, 0.1)),
                  "p90", __duration_json(__quantile(f->steps, 0.9)), "min",
                  __duration_json(__quantile(f->steps, 0)), "max",
                  __duration_json(__quantile(f->steps, 1)), "samples", (int)f->steps->len));
    json_object_set_new(doc, "startup", __duration_json(__quantile(f->startup, 0.5)));
    json_object_set_new(doc, "startup_detail",
                        json_pack("{s:o, s:o}", "to_start",
                                  __duration_json(__quantile(f->to_start, 0.5)), "restart",
                                  __duration_json(__quantile(f->startup_back, 0.5))));

    g_autofree char *size = profile_format_size(__quantile(f->bytes_at, 0.5));
    g_autofree char *wbw = profile_format_bandwidth(1 / wfit->slope);
    g_autofree char *rbw = profile_format_bandwidth(1 / rfit->slope);
    json_t *ck = json_object();
    json_object_set_new(ck, "size", json_string(size));
    json_object_set_new(ck, "write", json_string(wbw));
    json_object_set_new(ck, "write_fixed", __duration_json(wfit->fixed));
    json_object_set_new(ck, "write_time", __duration_json(__quantile(f->write_at, 0.5)));
    json_object_set_new(ck, "restore", json_string(rbw));
    json_object_set_new(ck, "restore_fixed", __duration_json(rfit->fixed));
    json_object_set_new(ck, "restore_time", __duration_json(__quantile(f->restore_at, 0.5)));
    json_object_set_new(doc, "checkpoint", ck);
    json_object_set_new(
        doc, "fit",
        json_pack("{s:o, s:o}", "write", __fit_json(wfit), "restore", __fit_json(rfit)));
    json_t *variant = json_null();
    for (guint k = 0; k < c->sizes->len; k++) {
        const Size *s = c->sizes->pdata[k];
        if (!s->variant)
            continue;
        json_t *set = json_array();
        for (guint i = 0; s->variant_set[i] != NULL; i++)
            json_array_append_new(set, json_string(s->variant_set[i]));
        double bytes = NAN;
        const Run *r = s->fresh->pdata[0];
        for (guint j = 0; j < r->checkpoints->len && isnan(bytes); j++)
            if (g_array_index(r->checkpoints, CheckpointEnd, j).ok)
                bytes = g_array_index(r->checkpoints, CheckpointEnd, j).bytes;
        g_autofree char *vsize = profile_format_size(bytes);
        json_decref(variant);
        variant =
            json_pack("{s:o, s:s, s:I}", "set", set, "size", vsize, "steps", (json_int_t)s->steps);
    }
    json_object_set_new(doc, "variant", variant);
    return doc;
}

/* The profile's text: indented, with "points" last and one point per line, so that the file
 * stays short enough to read. */
static char *
__profile_text(json_t *doc, json_t *points)
{
    const size_t flags = JSON_REAL_PRECISION(9);
    g_autofree char *head = json_dumps(doc, JSON_INDENT(2) | flags);
    g_autoptr(GString) out = g_string_new(head);
    /* The head ends with "\n}": the points go in before it. */
    g_string_truncate(out, out->len - 2);
    g_string_append(out, ",\n  \"points\": [");
    for (gsize i = 0; i < json_array_size(points); i++) {
        g_autofree char *p = json_dumps(json_array_get(points, i), JSON_COMPACT | flags);
        g_string_append_printf(out, "%s\n    %s", i ? "," : "", p);
    }
    g_string_append(out, json_array_size(points) ? "\n  ]\n}\n" : "]\n}\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* "0.812 ms", "1.93 GB/s": three digits for the table. */
static char *
__show_duration(double s)
{
    if (!isfinite(s))
        return g_strdup("-");
    return s < 1 ? g_strdup_printf("%.3g ms", s * 1e3) : g_strdup_printf("%.3g s", s);
}

static char *
__show_size(double bytes)
{
    return bytes < 1e9 ? g_strdup_printf("%.3g MB", bytes / 1e6)
                       : g_strdup_printf("%.3g GB", bytes / 1e9);
}

static char *
__show_bandwidth(double bps)
{
    return bps < 1e9 ? g_strdup_printf("%.3g MB/s", bps / 1e6)
                     : g_strdup_printf("%.3g GB/s", bps / 1e9);
}

static void
__print_fit(const char *what, double at, const ProfileFit *fit)
{
    g_autofree char *t = __show_duration(at), *fixed = __show_duration(fit->fixed);
    g_autofree char *bw = __show_bandwidth(1 / fit->slope);
    g_autofree char *r2 = isfinite(fit->r2) ? g_strdup_printf(", R2 %.2f", fit->r2) : g_strdup("");
    printf("  %-15s %-12s fit %s + size / %s (%u points, %u size%s%s%s)\n", what, t, fixed, bw,
           fit->points, fit->sizes, fit->sizes == 1 ? "" : "s", r2,
           fit->through_zero ? "; no fixed cost fitted" : "");
}

static void
__print_table(const Calibration *c, const Figures *f, const ProfileFit *wfit,
              const ProfileFit *rfit)
{
    g_autoptr(GString) sizes = g_string_new(NULL);
    for (guint k = 0; k < c->sizes->len; k++) {
        const Size *s = c->sizes->pdata[k];
        double bytes = NAN;
        const Run *r = s->fresh->pdata[0];
        for (guint j = 0; j < r->checkpoints->len && isnan(bytes); j++)
            if (g_array_index(r->checkpoints, CheckpointEnd, j).ok)
                bytes = g_array_index(r->checkpoints, CheckpointEnd, j).bytes;
        g_autofree char *b = __show_size(bytes);
        g_string_append_printf(sizes, "%s%s", k ? " and " : "", b);
    }
    g_autofree char *parent = g_path_get_dirname(c->tmp);
    printf("%s%s%s: %d run%s of %" G_GINT64_FORMAT " steps, each a fresh start and a restart; "
           "checkpoints of %s in %s (%s)\n\n",
           c->program, c->command ? "" : " ", c->command ? "" : c->preset, c->runs,
           c->runs == 1 ? "" : "s", c->steps, sizes->str, parent,
           c->fs ? c->fs : "unknown file system");
    g_autofree char *step = __show_duration(__quantile(f->steps, 0.5));
    g_autofree char *p10 = __show_duration(__quantile(f->steps, 0.1));
    g_autofree char *p90 = __show_duration(__quantile(f->steps, 0.9));
    printf("%-17s %-12s p10 %s, p90 %s, %u steps\n", "step time", step, p10, p90, f->steps->len);
    g_autofree char *startup = __show_duration(__quantile(f->startup, 0.5));
    g_autofree char *to_start = __show_duration(__quantile(f->to_start, 0.5));
    g_autofree char *back = __show_duration(__quantile(f->startup_back, 0.5));
    printf("%-17s %-12s from the process's start to its first step, less the step; to its "
           "\"start\" line %s; a restart's %s, less its restore\n",
           "startup", startup, to_start, back);
    g_autofree char *size = __show_size(__quantile(f->bytes_at, 0.5));
    printf("%-17s %s\n", "checkpoint", size);
    __print_fit("write", __quantile(f->write_at, 0.5), wfit);
    __print_fit("restore", __quantile(f->restore_at, 0.5), rfit);
}

static int
__exit_code(const GError *error)
{
    return error->code == CALIBRATE_ERROR_RUN ? SPOTLAB_EXIT_GATE : SPOTLAB_EXIT_USAGE;
}

/* Measures, fits and writes; the temporary folder is the caller's to remove. */
static gboolean
__calibrate(Calibration *c, GError **error)
{
    if (!__plan(c, error) || !__measure(c, error))
        return FALSE;
    Figures f = {0};
    __collect(c, &f);
    ProfileFit wfit, rfit;
    gboolean ok = TRUE;
    if (f.steps->len == 0 || f.startup->len == 0 || f.bytes_at->len == 0) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s reported too little to measure: %u steps, %u starts, %u checkpoints",
                    c->program, f.steps->len, f.startup->len, f.bytes_at->len);
        ok = FALSE;
    } else if (!profile_fit((double *)(void *)f.write_x->data, (double *)(void *)f.write_y->data,
                            f.write_x->len, &wfit) ||
               !profile_fit((double *)(void *)f.restore_x->data,
                            (double *)(void *)f.restore_y->data, f.restore_x->len, &rfit)) {
        g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_PROTOCOL,
                    "%s reported checkpoint and restore times that fit no bandwidth (%u writes, "
                    "%u restores, all taking no time?)",
                    c->program, f.write_x->len, f.restore_x->len);
        ok = FALSE;
    }
    if (ok) {
        c->measured = g_date_time_new_now_utc();
        __print_table(c, &f, &wfit, &rfit);
        if (c->output != NULL) {
            json_t *doc = __profile_json(c, &f, &wfit, &rfit);
            g_autofree char *text = __profile_text(doc, f.points);
            json_decref(doc);
            g_autoptr(GError) werr = NULL;
            if (!spotlab_file_replace(c->output, text, strlen(text), &werr)) {
                g_set_error(error, CALIBRATE_ERROR, CALIBRATE_ERROR_USAGE, "%s", werr->message);
                ok = FALSE;
            } else {
                printf("profile: %s\n", c->output);
            }
        }
    }
    __figures_clear(&f);
    return ok;
}

/* Reads the options into @c and calibrates; returns the exit status. */
static int
__main(Calibration *c, int argc, char **argv)
{
    g_autofree char *timeout = NULL;
    /* clang-format off */
    GOptionEntry entries[] = {
        {"preset", 'p', 0, G_OPTION_ARG_STRING, &c->preset,
         "The built-in workload's preset: tiny (default), small, 1g, large", "NAME"},
        {"set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &c->sets,
         "Change one setting of the preset (repeatable; spotlab-train --print-config lists them)",
         "KEY=VALUE"},
        {"runs", 'n', 0, G_OPTION_ARG_INT, &c->runs,
         "Runs of each kind, of which medians are taken (default 5)", "N"},
        {"steps", 0, 0, G_OPTION_ARG_INT64, &c->steps,
         "Steps of each run, {steps} in a command (default 100)", "N"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &c->output,
         "Write the profile to FILE (atomically)", "FILE"},
        {"dir", 0, 0, G_OPTION_ARG_FILENAME, &c->dir,
         "Make the temporary folder in DIR, on the disk whose checkpoints are to be measured "
         "(default: $TMPDIR or /tmp)", "DIR"},
        {"timeout", 0, 0, G_OPTION_ARG_STRING, &timeout,
         "Kill a run that takes longer than this, and fail (default 10m)", "DURATION"},
        {"train", 0, 0, G_OPTION_ARG_FILENAME, &c->train,
         "The built-in workload's program (default: spotlab-train beside spotlab, else in PATH; "
         "build/gpu-workloads/train/spotlab-train-cuda for the GPU)", "PATH"},
        {NULL},
    };
    /* clang-format on */
    const char *usage = "[--preset NAME] [--set KEY=VALUE...] [--runs N] [-o PROFILE.json] "
                        "[-- COMMAND [ARG...]]";
    /* The command is what follows the first "--", split off before the options are parsed, so
     * that its own options stay its own, and a stray argument before "--" is an error rather
     * than a command (GLib drops the "--" it stops at). */
    int n_opts = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            n_opts = i;
            break;
        }
    }
    const int split = n_opts;
    g_autofree char **opts = g_new0(char *, n_opts + 1);
    memcpy(opts, argv, sizeof(char *) * (gsize)n_opts);
    if (!cmd_parse_options(
            "calibrate", "[-- COMMAND [ARG...]]",
            "Measure a training workload on this machine, its step time, startup time and "
            "checkpoint write and restore times, and write them as a profile that scenarios "
            "include (\"job\": {\"profile\": \"PROFILE.json\"}; docs/calibration.md). The "
            "workload is spotlab-train (found beside spotlab, else on PATH) at --preset with "
            "--set, or COMMAND, which must speak the progress protocol "
            "(docs/progress-protocol.md) and write its checkpoints into {checkpoint_dir}; "
            "{steps} in its arguments becomes --steps. Exit status: 0 measured, 1 a run failed, "
            "2 bad usage or a command that does not speak the protocol.",
            entries, &n_opts, &opts))
        return SPOTLAB_EXIT_USAGE;
    if (n_opts > 1) {
        fprintf(stderr,
                "spotlab calibrate: unexpected argument '%s'; a command goes after --\n"
                "Usage: spotlab calibrate %s\n",
                opts[1], usage);
        return SPOTLAB_EXIT_USAGE;
    }
    if (split < argc) {
        if (split + 1 >= argc) {
            fprintf(stderr,
                    "spotlab calibrate: expected a command after --\nUsage: spotlab calibrate "
                    "%s\n",
                    usage);
            return SPOTLAB_EXIT_USAGE;
        }
        c->command = argv + split + 1;
    }
    if (c->command != NULL && (c->preset != NULL || c->sets != NULL || c->train != NULL)) {
        fprintf(stderr,
                "spotlab calibrate: --%s: only for the built-in workload; a command after -- "
                "takes its own arguments\n",
                c->preset != NULL ? "preset"
                : c->sets != NULL ? "set"
                                  : "train");
        return SPOTLAB_EXIT_USAGE;
    }
    if (c->preset == NULL)
        c->preset = g_strdup("tiny");
    if (c->runs < 1 || c->runs > 1000) {
        fprintf(stderr, "spotlab calibrate: --runs: expected a number from 1 to 1000, got %d\n",
                c->runs);
        return SPOTLAB_EXIT_USAGE;
    }
    if (c->steps < 1 || c->steps > G_MAXINT32) {
        fprintf(stderr,
                "spotlab calibrate: --steps: expected a number from 1 to 2147483647, got "
                "%" G_GINT64_FORMAT "\n",
                c->steps);
        return SPOTLAB_EXIT_USAGE;
    }
    if (timeout != NULL &&
        (!scenario_parse_duration(timeout, &c->timeout_seconds) || !(c->timeout_seconds > 0))) {
        fprintf(stderr,
                "spotlab calibrate: --timeout: expected a duration > 0 like \"10m\" or \"90s\", "
                "got '%s'\n",
                timeout);
        return SPOTLAB_EXIT_USAGE;
    }
    if (c->output != NULL) {
        g_autofree char *folder = g_path_get_dirname(c->output);
        if (*c->output == '\0' || g_file_test(c->output, G_FILE_TEST_IS_DIR) ||
            !g_file_test(folder, G_FILE_TEST_IS_DIR)) {
            fprintf(stderr,
                    "spotlab calibrate: --output: expected a file in a folder that exists, got "
                    "'%s'\n",
                    c->output);
            return SPOTLAB_EXIT_USAGE;
        }
    }
    const char *parent = c->dir != NULL ? c->dir : g_get_tmp_dir();
    g_autofree char *pattern = g_build_filename(parent, "spotlab-calibrate-XXXXXX", NULL);
    if (g_mkdtemp(pattern) == NULL) {
        int err = errno;
        fprintf(stderr, "spotlab calibrate: cannot make a temporary folder in %s: %s\n", parent,
                g_strerror(err));
        return SPOTLAB_EXIT_USAGE;
    }
    c->tmp = g_canonicalize_filename(pattern, NULL);
    c->fs = __filesystem(c->tmp);

    /* Interrupted, the run in progress is killed and the folder removed all the same. */
    struct sigaction sa = {.sa_handler = __on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_autoptr(GError) error = NULL;
    gboolean ok = __calibrate(c, &error);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    spotlab_remove_tree(c->tmp);
    __progress(NULL);
    if (!ok) {
        fprintf(stderr, "spotlab calibrate: %s\n", error->message);
        return __exit_code(error);
    }
    return SPOTLAB_EXIT_OK;
}

int
cmd_calibrate(int argc, char **argv)
{
    Calibration c = {.runs = 5, .steps = 100, .timeout_seconds = 600};
    int status = __main(&c, argc, argv);
    __calibration_clear(&c);
    return status;
}
