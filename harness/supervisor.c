/* spotlab harness: the supervisor (see supervisor.h). */
#include "supervisor.h"

#include <errno.h>
#include <glib-unix.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/resource.h>
#endif

G_DEFINE_QUARK(harness - supervisor - error - quark, harness_supervisor_error)

/* The descriptor the workload writes its progress lines to. */
#define PROGRESS_FD 3
/* A "line" longer than this without a newline is dropped: the protocol promises < 4096. */
#define MAX_PENDING (1u << 20)
/* The status of a workload stopped by a notice with a complete checkpoint (EX_TEMPFAIL). */
#define EXIT_NOTICE 75

/* The instance that runs now, or last ran. */
typedef struct {
    gboolean active; /* started and not yet ended */
    guint index;
    GPid pid;
    gboolean alive;  /* not yet seen to exit */
    gboolean killed; /* SIGKILLed at reclaim + grace */
    HarnessImds *imds;
    int fd; /* read end of the progress pipe; -1 when closed */
    GString *pending;
    guint fd_source, child_source;
    guint notice_timer, reclaim_timer, kill_timer;
    gint64 started, notice_at, reclaim_at, kill_at; /* monotonic, microseconds */
    gboolean noticed, reclaimed;
    gint interruption; /* index in the record, -1 when none */
} Current;

struct _HarnessSupervisor {
    char **argv;
    char *working_dir;
    char **env;
    HarnessInstanceSpec *specs;
    guint n_specs;
    gint64 restart_delay_us;

    GMainContext *context; /* a reference, once started */
    gboolean started, done, aborted;
    GError *run_error;
    gint64 t0; /* the run's start, monotonic */
    guint start_timer;
    guint next_index; /* the instance the start timer starts */
    gint64 next_start_at;
    gint64 saved_step; /* the newest complete checkpoint of the job (0: none) */

    Current cur;
    HarnessRunRecord rec;
};

/* ---- clouds and names --------------------------------------------------------------------- */

gint64
harness_cloud_default_lead_us(HarnessImdsCloud cloud)
{
    return (cloud == HARNESS_IMDS_AWS ? 120 : 30) * G_USEC_PER_SEC;
}

gint64
harness_cloud_default_grace_us(HarnessImdsCloud cloud)
{
    /* Google's reclaim is the hard power-off that ends the 30 s soft-off window; on AWS and
     * Azure SIGTERM comes with the OS shutdown at the reclaim, which takes a few seconds. */
    return cloud == HARNESS_IMDS_GCP ? 0 : 5 * G_USEC_PER_SEC;
}

HarnessSigtermPolicy
harness_cloud_default_sigterm(HarnessImdsCloud cloud)
{
    return cloud == HARNESS_IMDS_GCP ? HARNESS_SIGTERM_AT_NOTICE : HARNESS_SIGTERM_AT_RECLAIM;
}

void
harness_instance_spec_init(HarnessInstanceSpec *spec, HarnessImdsCloud cloud)
{
    g_return_if_fail(spec != NULL);
    *spec = (HarnessInstanceSpec){
        .cloud = cloud,
        .notice_after_us = HARNESS_TIME_NONE,
        .notice_lead_us = HARNESS_DEFAULT,
        .grace_us = HARNESS_DEFAULT,
        .sigterm = HARNESS_SIGTERM_DEFAULT,
        .start_delay_us = HARNESS_DEFAULT,
    };
}

static const char *const sigterm_names[] = {"default", "notice", "reclaim", "never"};

gboolean
harness_sigterm_policy_parse(const char *text, HarnessSigtermPolicy *policy)
{
    for (gsize i = 0; text != NULL && i < G_N_ELEMENTS(sigterm_names); i++)
        if (strcmp(text, sigterm_names[i]) == 0) {
            *policy = (HarnessSigtermPolicy)i;
            return TRUE;
        }
    return FALSE;
}

const char *
harness_sigterm_policy_name(HarnessSigtermPolicy policy)
{
    return (guint)policy < G_N_ELEMENTS(sigterm_names) ? sigterm_names[policy] : "?";
}

const char *
harness_run_outcome_name(HarnessRunOutcome outcome)
{
    static const char *const names[] = {"running", "finished", "not-finished", "aborted", "error"};
    return (guint)outcome < G_N_ELEMENTS(names) ? names[outcome] : "?";
}

const char *
harness_instance_end_name(HarnessInstanceEnd end)
{
    static const char *const names[] = {"none",     "completed", "stopped", "killed",
                                        "signaled", "failed",    "aborted"};
    return (guint)end < G_N_ELEMENTS(names) ? names[end] : "?";
}

static HarnessSigtermPolicy
__sigterm_of(const HarnessInstanceSpec *spec)
{
    return spec->sigterm == HARNESS_SIGTERM_DEFAULT ? harness_cloud_default_sigterm(spec->cloud)
                                                    : spec->sigterm;
}

/* ---- construction ------------------------------------------------------------------------- */

HarnessSupervisor *
harness_supervisor_new(const HarnessSupervisorConfig *cfg, GError **error)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    if (cfg->argv == NULL || cfg->argv[0] == NULL || cfg->argv[0][0] == '\0') {
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID,
                    "no workload command");
        return NULL;
    }
    if (cfg->schedule.n_instances == 0 || cfg->schedule.instances == NULL) {
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID,
                    "the schedule has no instance");
        return NULL;
    }
    if (cfg->schedule.restart_delay_us < 0) {
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID,
                    "restart delay: expected >= 0");
        return NULL;
    }
    for (guint i = 0; i < cfg->schedule.n_instances; i++) {
        const HarnessInstanceSpec *s = &cfg->schedule.instances[i];
        if ((guint)s->cloud > HARNESS_IMDS_AZURE || (guint)s->sigterm > HARNESS_SIGTERM_NEVER ||
            s->notice_after_us < HARNESS_TIME_NONE || s->notice_lead_us < HARNESS_DEFAULT ||
            s->grace_us < HARNESS_DEFAULT || s->start_delay_us < HARNESS_DEFAULT ||
            !(s->price_per_hour >= 0)) {
            g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID,
                        "instance %u: expected a cloud, times >= 0 (or the defaults) and a "
                        "price >= 0",
                        i);
            return NULL;
        }
    }
    HarnessSupervisor *sup = g_new0(HarnessSupervisor, 1);
    sup->argv = g_strdupv((char **)cfg->argv);
    sup->working_dir = g_strdup(cfg->working_dir);
    sup->env = cfg->env != NULL ? g_strdupv((char **)cfg->env) : g_new0(char *, 1);
    sup->n_specs = cfg->schedule.n_instances;
    sup->specs = g_memdup2(cfg->schedule.instances, sizeof(HarnessInstanceSpec) * sup->n_specs);
    for (guint i = 0; i < sup->n_specs; i++) {
        HarnessInstanceSpec *s = &sup->specs[i];
        if (s->notice_lead_us == HARNESS_DEFAULT)
            s->notice_lead_us = harness_cloud_default_lead_us(s->cloud);
        if (s->grace_us == HARNESS_DEFAULT)
            s->grace_us = harness_cloud_default_grace_us(s->cloud);
    }
    sup->restart_delay_us = cfg->schedule.restart_delay_us;
    sup->cur.fd = -1;
    sup->cur.interruption = -1;
    sup->rec.outcome = HARNESS_RUN_RUNNING;
    sup->rec.final_step = -1;
    sup->rec.total_steps = -1;
    sup->rec.instances = g_array_new(FALSE, TRUE, sizeof(HarnessInstanceRecord));
    sup->rec.interruptions = g_array_new(FALSE, TRUE, sizeof(HarnessInterruption));
    sup->rec.deliveries = g_array_new(FALSE, TRUE, sizeof(HarnessDelivery));
    return sup;
}

/* ---- timers ------------------------------------------------------------------------------- */

/* A timer with microsecond ready time: g_timeout_add() counts its milliseconds from the
 * context's cached time of the current iteration, which can make it fire early against
 * g_get_monotonic_time(); a ready time never fires early, and the poll still sleeps in whole
 * milliseconds rounded up. */
static gboolean
__timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
    g_source_set_ready_time(source, -1);
    return callback(user_data);
}

static GSourceFuncs timer_funcs = {.dispatch = __timer_dispatch};

static guint
__timer_at(HarnessSupervisor *sup, gint64 at, GSourceFunc callback)
{
    GSource *s = g_source_new(&timer_funcs, sizeof(GSource));
    g_source_set_ready_time(s, at);
    g_source_set_callback(s, callback, sup, NULL);
    g_source_set_name(s, "spotlab supervisor timer");
    guint id = g_source_attach(s, sup->context);
    g_source_unref(s);
    return id;
}

static void
__cancel(HarnessSupervisor *sup, guint *id)
{
    if (*id == 0)
        return;
    GSource *s = g_main_context_find_source_by_id(sup->context, *id);
    if (s != NULL)
        g_source_destroy(s);
    *id = 0;
}

/* ---- the record --------------------------------------------------------------------------- */

static gint64
__rel(const HarnessSupervisor *sup, gint64 mono)
{
    return mono - sup->t0;
}

static HarnessInstanceRecord *
__inst(HarnessSupervisor *sup)
{
    return &g_array_index(sup->rec.instances, HarnessInstanceRecord, sup->cur.index);
}

static HarnessInterruption *
__intr(HarnessSupervisor *sup)
{
    if (sup->cur.interruption < 0)
        return NULL;
    return &g_array_index(sup->rec.interruptions, HarnessInterruption, sup->cur.interruption);
}

static void
__delivered(HarnessSupervisor *sup, const char *what, gint64 scheduled, gint64 actual)
{
    HarnessDelivery d = {
        .instance = sup->cur.index,
        .what = what,
        .scheduled_us = __rel(sup, scheduled),
        .actual_us = __rel(sup, actual),
    };
    g_array_append_val(sup->rec.deliveries, d);
}

/* The step the current instance is at: its last step line, else the step it resumed from,
 * else the job's newest checkpoint, from which it will resume. */
static gint64
__current_step(HarnessSupervisor *sup)
{
    const HarnessInstanceRecord *r = __inst(sup);
    if (r->last_step >= 0)
        return r->last_step;
    if (r->resume_step >= 0)
        return r->resume_step;
    return sup->saved_step;
}

static void
__signal_group(HarnessSupervisor *sup, int sig)
{
    /* The group's id is the leader's pid (setpgid in the child and here). */
    if (sup->cur.pid > 0)
        (void)kill(-sup->cur.pid, sig);
}

/* ---- progress lines ----------------------------------------------------------------------- */

static gint64
__int_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (gint64)json_integer_value(v) : -1;
}

static void
__line(HarnessSupervisor *sup, const char *text, gint64 now)
{
    HarnessInstanceRecord *r = __inst(sup);
    r->lines++;
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (obj == NULL || !json_is_object(obj)) {
        r->bad_lines++;
        json_decref(obj);
        return;
    }
    const char *event = json_string_value(json_object_get(obj, "event"));
    HarnessInterruption *in = __intr(sup);
    gint64 step = __int_field(obj, "step");
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    gboolean emergency = g_strcmp0(kind, "emergency") == 0;
    if (event == NULL) {
        r->bad_lines++;
    } else if (strcmp(event, "start") == 0) {
        if (sup->rec.total_steps < 0)
            sup->rec.total_steps = __int_field(obj, "total_steps");
    } else if (strcmp(event, "resume") == 0 && step >= 0) {
        r->resume_step = step;
        /* It was resumed from, so it is complete. */
        sup->saved_step = MAX(sup->saved_step, step);
    } else if (strcmp(event, "step") == 0 && step >= 0) {
        if (r->first_step < 0)
            r->first_step = step;
        r->last_step = step;
        sup->rec.final_step = step;
        for (guint i = 0; i < sup->rec.interruptions->len; i++) {
            HarnessInterruption *p = &g_array_index(sup->rec.interruptions, HarnessInterruption, i);
            if (p->instance < sup->cur.index && p->recovered_us == HARNESS_TIME_NONE &&
                step > p->last_step)
                p->recovered_us = __rel(sup, now);
        }
    } else if (strcmp(event, "checkpoint_start") == 0) {
        if (in != NULL && emergency && in->checkpoint_start_us == HARNESS_TIME_NONE) {
            in->checkpoint_start_us = __rel(sup, now);
            in->checkpoint_step = step;
        }
    } else if (strcmp(event, "checkpoint_end") == 0) {
        gboolean ok = json_is_true(json_object_get(obj, "ok"));
        if (ok && step >= 0)
            sup->saved_step = MAX(sup->saved_step, step);
        if (in != NULL && emergency && in->checkpoint_start_us != HARNESS_TIME_NONE &&
            in->checkpoint_end_us == HARNESS_TIME_NONE && step == in->checkpoint_step) {
            in->checkpoint_end_us = __rel(sup, now);
            in->checkpoint_ok = ok;
        }
    } else if (strcmp(event, "notice") == 0) {
        if (in != NULL && in->reaction_us == HARNESS_TIME_NONE) {
            in->reaction_us = __rel(sup, now);
            const char *source = json_string_value(json_object_get(obj, "source"));
            in->reaction_source = g_strdup(source != NULL ? source : "?");
        }
    } else if (strcmp(event, "exit") == 0) {
        const char *reason = json_string_value(json_object_get(obj, "reason"));
        g_free(r->exit_reason);
        r->exit_reason = g_strdup(reason);
    }
    json_decref(obj);
}

/* Reads what the pipe holds now; FALSE at end of file or on an error. */
static gboolean
__read_progress(HarnessSupervisor *sup)
{
    Current *c = &sup->cur;
    char buf[4096];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return TRUE;
        if (n <= 0)
            return FALSE;
        gint64 now = g_get_monotonic_time();
        g_string_append_len(c->pending, buf, n);
        char *start = c->pending->str, *nl;
        while ((nl = memchr(start, '\n', c->pending->len - (gsize)(start - c->pending->str))) !=
               NULL) {
            *nl = '\0';
            __line(sup, start, now);
            start = nl + 1;
        }
        g_string_erase(c->pending, 0, start - c->pending->str);
        if (c->pending->len > MAX_PENDING) {
            __inst(sup)->bad_lines++;
            g_string_truncate(c->pending, 0);
        }
    }
}

static void
__close_progress(HarnessSupervisor *sup)
{
    Current *c = &sup->cur;
    __cancel(sup, &c->fd_source);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->pending != NULL)
        g_string_free(c->pending, TRUE);
    c->pending = NULL;
}

static gboolean
__on_progress(gint fd, GIOCondition condition, gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    if (__read_progress(sup))
        return G_SOURCE_CONTINUE;
    /* End of file before the process ended: it closed the descriptor; nothing more comes. */
    sup->cur.fd_source = 0;
    close(sup->cur.fd);
    sup->cur.fd = -1;
    return G_SOURCE_REMOVE;
}

/* ---- the run ------------------------------------------------------------------------------ */

static void
__cancel_timers(HarnessSupervisor *sup)
{
    __cancel(sup, &sup->cur.notice_timer);
    __cancel(sup, &sup->cur.reclaim_timer);
    __cancel(sup, &sup->cur.kill_timer);
    __cancel(sup, &sup->start_timer);
}

static void
__finish(HarnessSupervisor *sup, HarnessRunOutcome outcome)
{
    if (sup->done)
        return;
    __cancel_timers(sup);
    sup->done = TRUE;
    sup->rec.outcome = outcome;
    sup->rec.wall_us = g_get_monotonic_time() - sup->t0;
    sup->rec.cost = 0;
    for (guint i = 0; i < sup->rec.instances->len; i++)
        sup->rec.cost += g_array_index(sup->rec.instances, HarnessInstanceRecord, i).cost;
    /* Wake a harness_supervisor_run() blocked in its iteration. */
    g_main_context_wakeup(sup->context);
}

static gboolean __start_instance(HarnessSupervisor *sup, guint index, gint64 scheduled,
                                 GError **error);

static gboolean
__on_start_timer(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    sup->start_timer = 0;
    g_autoptr(GError) error = NULL;
    if (!__start_instance(sup, sup->next_index, sup->next_start_at, &error)) {
        g_propagate_error(&sup->run_error, g_steal_pointer(&error));
        __finish(sup, HARNESS_RUN_ERROR);
    }
    return G_SOURCE_REMOVE;
}

/* The current instance is gone (at @end, monotonic); with @go_on the next one is scheduled, or
 * the run ends when there is none. */
static void
__instance_end(HarnessSupervisor *sup, gint64 end, gboolean go_on)
{
    Current *c = &sup->cur;
    if (!c->active)
        return;
    c->active = FALSE;
    __cancel(sup, &c->notice_timer);
    __cancel(sup, &c->reclaim_timer);
    __cancel(sup, &c->kill_timer);
    g_clear_pointer(&c->imds, harness_imds_free);
    HarnessInstanceRecord *r = __inst(sup);
    r->ended_us = __rel(sup, end);
    r->cost = r->price_per_hour * (double)(r->ended_us - r->started_us) / 3.6e9;
    if (!go_on)
        return;
    if (c->index + 1 >= sup->n_specs) {
        __finish(sup, HARNESS_RUN_NOT_FINISHED);
        return;
    }
    gint64 delay = sup->specs[c->index + 1].start_delay_us;
    sup->next_index = c->index + 1;
    sup->next_start_at = end + (delay == HARNESS_DEFAULT ? sup->restart_delay_us : delay);
    sup->start_timer = __timer_at(sup, sup->next_start_at, __on_start_timer);
}

static gboolean
__on_kill(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    c->kill_timer = 0;
    if (c->alive) {
        gint64 now = g_get_monotonic_time();
        __signal_group(sup, SIGKILL);
        c->killed = TRUE;
        __delivered(sup, "sigkill", c->kill_at, now);
        HarnessInterruption *in = __intr(sup);
        if (in != NULL)
            in->killed_us = __rel(sup, now);
    }
    return G_SOURCE_REMOVE;
}

static void
__sigterm(HarnessSupervisor *sup, gint64 scheduled)
{
    gint64 now = g_get_monotonic_time();
    __signal_group(sup, SIGTERM);
    __delivered(sup, "sigterm", scheduled, now);
    HarnessInterruption *in = __intr(sup);
    if (in != NULL && in->sigterm_us == HARNESS_TIME_NONE)
        in->sigterm_us = __rel(sup, now);
}

static gboolean
__on_reclaim(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    c->reclaim_timer = 0;
    c->reclaimed = TRUE;
    gint64 now = g_get_monotonic_time();
    __delivered(sup, "reclaim", c->reclaim_at, now);
    HarnessInterruption *in = __intr(sup);
    if (in != NULL)
        in->reclaim_us = __rel(sup, now);
    if (!c->alive) {
        /* The workload left in time; the machine goes now. */
        __instance_end(sup, c->reclaim_at, TRUE);
        return G_SOURCE_REMOVE;
    }
    if (__sigterm_of(&sup->specs[c->index]) == HARNESS_SIGTERM_AT_RECLAIM)
        __sigterm(sup, c->reclaim_at);
    c->kill_timer = __timer_at(sup, c->kill_at, __on_kill);
    return G_SOURCE_REMOVE;
}

static gboolean
__on_notice(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    c->notice_timer = 0;
    c->noticed = TRUE;
    gint64 now = g_get_monotonic_time();
    /* The reclaim time the cloud announces is the scheduled one, on the wall clock. */
    harness_imds_notify(c->imds, g_get_real_time() + (c->reclaim_at - now));
    __delivered(sup, "notice", c->notice_at, now);
    HarnessInterruption in = {
        .instance = c->index,
        .cloud = sup->specs[c->index].cloud,
        .notice_us = __rel(sup, now),
        .sigterm_us = HARNESS_TIME_NONE,
        .reclaim_us = HARNESS_TIME_NONE,
        .reaction_us = HARNESS_TIME_NONE,
        .checkpoint_start_us = HARNESS_TIME_NONE,
        .checkpoint_end_us = HARNESS_TIME_NONE,
        .checkpoint_step = -1,
        .killed_us = HARNESS_TIME_NONE,
        .exited_us = HARNESS_TIME_NONE,
        .step_at_notice = __current_step(sup),
        .last_step = -1,
        .saved_step = -1,
        .steps_lost = -1,
        .restarted_us = HARNESS_TIME_NONE,
        .recovered_us = HARNESS_TIME_NONE,
    };
    g_array_append_val(sup->rec.interruptions, in);
    c->interruption = (gint)sup->rec.interruptions->len - 1;
    if (c->alive && __sigterm_of(&sup->specs[c->index]) == HARNESS_SIGTERM_AT_NOTICE)
        __sigterm(sup, c->notice_at);
    c->reclaim_timer = __timer_at(sup, c->reclaim_at, __on_reclaim);
    return G_SOURCE_REMOVE;
}

static void
__on_child(GPid pid, gint wait_status, gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    gint64 now = g_get_monotonic_time();
    c->child_source = 0;
    c->alive = FALSE;
    /* Everything the process wrote is in the pipe by now; whatever else of its group still
     * holds the pipe open is a stray, killed here. */
    if (c->fd >= 0)
        (void)__read_progress(sup);
    __close_progress(sup);
    __signal_group(sup, SIGKILL);

    HarnessInstanceRecord *r = __inst(sup);
    r->exited_us = __rel(sup, now);
    if (WIFEXITED(wait_status)) {
        r->exit_status = WEXITSTATUS(wait_status);
        r->end = r->exit_status == 0             ? HARNESS_END_COMPLETED
                 : r->exit_status == EXIT_NOTICE ? HARNESS_END_STOPPED
                                                 : HARNESS_END_FAILED;
    } else {
        r->exit_signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
        r->end = c->killed ? HARNESS_END_KILLED : HARNESS_END_SIGNALED;
    }
    if (sup->aborted)
        r->end = HARNESS_END_ABORTED;
    if (r->end == HARNESS_END_FAILED)
        sup->rec.failed_runs++;

    HarnessInterruption *in = __intr(sup);
    if (in != NULL) {
        in->exited_us = r->exited_us;
        in->last_step = __current_step(sup);
        in->saved_step = sup->saved_step;
        in->steps_lost = MAX(0, in->last_step - in->saved_step);
    }

    if (sup->aborted) {
        __instance_end(sup, now, FALSE);
        __finish(sup, HARNESS_RUN_ABORTED);
    } else if (r->end == HARNESS_END_COMPLETED) {
        __instance_end(sup, now, FALSE);
        __finish(sup, HARNESS_RUN_FINISHED);
    } else if (c->noticed && !c->reclaimed) {
        /* The machine stays until its reclaim, which ends the instance. */
        __cancel(sup, &c->kill_timer);
    } else {
        __instance_end(sup, now, TRUE);
    }
}

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void
__child_setup(gpointer user_data)
{
    pid_t parent = (pid_t)GPOINTER_TO_INT(user_data);
    (void)setpgid(0, 0);
    /* The supervisor stands for the cloud's control plane, which does not share the guest's
     * processors: workloads run below it (nice 10) so that a saturated machine delays their
     * steps, not the notices and kills scheduled for them. A plain system call. */
    (void)setpriority(PRIO_PROCESS, 0, 10);
#ifdef __linux__
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The parent may have died before the prctl: then nobody would kill us. */
    if (getppid() != parent)
        _exit(127);
#else
    (void)parent;
#endif
}

static char *
__substitute(const char *arg, HarnessImdsCloud cloud, guint index)
{
    GString *s = g_string_new(arg);
    g_autofree char *n = g_strdup_printf("%u", index);
    g_string_replace(s, "{cloud}", harness_imds_cloud_name(cloud), 0);
    g_string_replace(s, "{instance}", n, 0);
    return g_string_free(s, FALSE);
}

static gboolean
__start_instance(HarnessSupervisor *sup, guint index, gint64 scheduled, GError **error)
{
    const HarnessInstanceSpec *spec = &sup->specs[index];
    Current *c = &sup->cur;
    g_autofree char *vm_name = g_strdup_printf("spotlab-vm-%u", index);
    HarnessImdsOptions options = {.cloud = spec->cloud, .instance_name = vm_name};
    g_autoptr(HarnessImds) imds = harness_imds_new(&options, sup->context);
    g_autoptr(GError) local = NULL;
    if (!harness_imds_listen(imds, 0, &local)) {
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_IMDS,
                    "instance %u: %s metadata service: %s", index,
                    harness_imds_cloud_name(spec->cloud), local->message);
        return FALSE;
    }

    int fds[2];
    if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        int err = errno;
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_SPAWN,
                    "instance %u: progress pipe: %s", index, g_strerror(err));
        return FALSE;
    }

    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; sup->argv[i] != NULL; i++)
        g_ptr_array_add(args, __substitute(sup->argv[i], spec->cloud, index));
    g_ptr_array_add(args, NULL);
    g_auto(GStrv) envp = g_get_environ();
    for (guint i = 0; sup->env[i] != NULL; i++) {
        const char *eq = strchr(sup->env[i], '=');
        if (eq == NULL)
            continue;
        g_autofree char *name = g_strndup(sup->env[i], (gsize)(eq - sup->env[i]));
        envp = g_environ_setenv(envp, name, eq + 1, TRUE);
    }
    g_autofree char *endpoint = harness_imds_env_value(imds);
    g_autofree char *fd_text = g_strdup_printf("%d", PROGRESS_FD);
    g_autofree char *index_text = g_strdup_printf("%u", index);
    envp = g_environ_setenv(envp, harness_imds_env_name(spec->cloud), endpoint, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_PROGRESS_FD", fd_text, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_INSTANCE", index_text, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_CLOUD", harness_imds_cloud_name(spec->cloud), TRUE);

    int source_fds[] = {fds[1]};
    int target_fds[] = {PROGRESS_FD};
    GPid pid = 0;
    gboolean ok = g_spawn_async_with_pipes_and_fds(
        sup->working_dir, (const char *const *)args->pdata, (const char *const *)envp,
        G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, __child_setup,
        GINT_TO_POINTER((int)getpid()), -1, -1, -1, source_fds, target_fds, 1, &pid, NULL, NULL,
        NULL, &local);
    close(fds[1]);
    if (!ok) {
        close(fds[0]);
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_SPAWN,
                    "instance %u: cannot start %s: %s", index, sup->argv[0], local->message);
        return FALSE;
    }
    /* Also here, so that a signal sent before the child ran its setup reaches the group;
     * EACCES once it has exec'ed, which means it did it itself. */
    (void)setpgid(pid, pid);
    gint64 now = g_get_monotonic_time();

    *c = (Current){
        .active = TRUE,
        .index = index,
        .pid = pid,
        .alive = TRUE,
        .imds = g_steal_pointer(&imds),
        .fd = fds[0],
        .pending = g_string_new(NULL),
        .started = now,
        .interruption = -1,
    };
    HarnessInstanceRecord r = {
        .index = index,
        .cloud = spec->cloud,
        .pid = pid,
        .started_us = __rel(sup, now),
        .exited_us = HARNESS_TIME_NONE,
        .ended_us = HARNESS_TIME_NONE,
        .exit_status = -1,
        .resume_step = -1,
        .first_step = -1,
        .last_step = -1,
        .price_per_hour = spec->price_per_hour,
    };
    g_array_append_val(sup->rec.instances, r);
    __delivered(sup, "start", scheduled, now);
    for (guint i = 0; i < sup->rec.interruptions->len; i++) {
        HarnessInterruption *p = &g_array_index(sup->rec.interruptions, HarnessInterruption, i);
        if (p->restarted_us == HARNESS_TIME_NONE)
            p->restarted_us = __rel(sup, now);
    }

    GSource *fd_source = g_unix_fd_source_new(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(fd_source, (GSourceFunc)(void (*)(void))__on_progress, sup, NULL);
    c->fd_source = g_source_attach(fd_source, sup->context);
    g_source_unref(fd_source);
    GSource *child = g_child_watch_source_new(pid);
    g_source_set_callback(child, (GSourceFunc)(void (*)(void))__on_child, sup, NULL);
    c->child_source = g_source_attach(child, sup->context);
    g_source_unref(child);

    if (spec->notice_after_us != HARNESS_TIME_NONE) {
        c->notice_at = now + spec->notice_after_us;
        c->reclaim_at = c->notice_at + spec->notice_lead_us;
        c->kill_at = c->reclaim_at + spec->grace_us;
        c->notice_timer = __timer_at(sup, c->notice_at, __on_notice);
    }
    return TRUE;
}

gboolean
harness_supervisor_start(HarnessSupervisor *sup, GMainContext *context, GError **error)
{
    g_return_val_if_fail(sup != NULL && !sup->started, FALSE);
    sup->started = TRUE;
    sup->context = g_main_context_ref(context != NULL ? context : g_main_context_default());
    sup->t0 = g_get_monotonic_time();
    if (sup->specs[0].start_delay_us > 0) {
        /* The first instance is provisioned like every other: it starts later. */
        sup->next_index = 0;
        sup->next_start_at = sup->t0 + sup->specs[0].start_delay_us;
        sup->start_timer = __timer_at(sup, sup->next_start_at, __on_start_timer);
        return TRUE;
    }
    if (!__start_instance(sup, 0, sup->t0, error)) {
        __finish(sup, HARNESS_RUN_ERROR);
        return FALSE;
    }
    return TRUE;
}

gboolean
harness_supervisor_run(HarnessSupervisor *sup, GMainContext *context, GError **error)
{
    g_return_val_if_fail(sup != NULL && !sup->started, FALSE);
    GMainContext *ctx = context != NULL ? context : g_main_context_default();
    g_main_context_push_thread_default(ctx);
    gboolean ok = harness_supervisor_start(sup, ctx, error);
    while (ok && !sup->done)
        g_main_context_iteration(ctx, TRUE);
    g_main_context_pop_thread_default(ctx);
    if (!ok)
        return FALSE;
    if (sup->run_error != NULL) {
        g_propagate_error(error, g_error_copy(sup->run_error));
        return FALSE;
    }
    if (sup->rec.outcome == HARNESS_RUN_ABORTED) {
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_ABORTED,
                    "the run was aborted");
        return FALSE;
    }
    return TRUE;
}

gboolean
harness_supervisor_is_done(const HarnessSupervisor *sup)
{
    g_return_val_if_fail(sup != NULL, TRUE);
    return sup->done;
}

void
harness_supervisor_abort(HarnessSupervisor *sup)
{
    g_return_if_fail(sup != NULL);
    if (!sup->started || sup->done || sup->aborted)
        return;
    sup->aborted = TRUE;
    __cancel_timers(sup);
    if (sup->cur.active && sup->cur.alive) {
        /* The child watch ends the run once the process is reaped. */
        __signal_group(sup, SIGKILL);
        return;
    }
    __instance_end(sup, g_get_monotonic_time(), FALSE);
    __finish(sup, HARNESS_RUN_ABORTED);
}

const HarnessRunRecord *
harness_supervisor_record(const HarnessSupervisor *sup)
{
    g_return_val_if_fail(sup != NULL, NULL);
    return &sup->rec;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static json_t *
__seconds(gint64 us)
{
    return us == HARNESS_TIME_NONE ? json_null() : json_real((double)us / 1e6);
}

static json_t *
__step(gint64 step)
{
    return step < 0 ? json_null() : json_integer(step);
}

static json_t *
__schedule_json(const HarnessSupervisor *sup)
{
    json_t *list = json_array();
    for (guint i = 0; i < sup->n_specs; i++) {
        const HarnessInstanceSpec *s = &sup->specs[i];
        gint64 delay = s->start_delay_us != HARNESS_DEFAULT ? s->start_delay_us
                       : i == 0                             ? 0
                                                            : sup->restart_delay_us;
        json_array_append_new(
            list, json_pack("{s:s, s:o, s:o, s:o, s:s, s:f, s:o}", "cloud",
                            harness_imds_cloud_name(s->cloud), "notice_after",
                            __seconds(s->notice_after_us), "notice_lead",
                            __seconds(s->notice_lead_us), "grace", __seconds(s->grace_us),
                            "sigterm", harness_sigterm_policy_name(__sigterm_of(s)),
                            "price_per_hour", s->price_per_hour, "start_delay", __seconds(delay)));
    }
    return json_pack("{s:o, s:o}", "instances", list, "restart_delay",
                     __seconds(sup->restart_delay_us));
}

json_t *
harness_supervisor_record_to_json(const HarnessSupervisor *sup)
{
    g_return_val_if_fail(sup != NULL, NULL);
    const HarnessRunRecord *rec = &sup->rec;
    json_t *command = json_array();
    for (guint i = 0; sup->argv[i] != NULL; i++)
        json_array_append_new(command, json_string(sup->argv[i]));

    json_t *instances = json_array();
    for (guint i = 0; i < rec->instances->len; i++) {
        const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, i);
        gint64 wall =
            r->ended_us != HARNESS_TIME_NONE ? r->ended_us - r->started_us : HARNESS_TIME_NONE;
        json_array_append_new(
            instances,
            json_pack("{s:i, s:s, s:i, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, "
                      "s:i, s:i, s:f}",
                      "index", (int)r->index, "cloud", harness_imds_cloud_name(r->cloud), "pid",
                      (int)r->pid, "started", __seconds(r->started_us), "exited",
                      __seconds(r->exited_us), "ended", __seconds(r->ended_us), "wall_seconds",
                      __seconds(wall), "end", harness_instance_end_name(r->end), "exit_status",
                      r->exit_status >= 0 ? json_integer(r->exit_status) : json_null(),
                      "exit_signal",
                      r->exit_signal > 0 ? json_integer(r->exit_signal) : json_null(),
                      "exit_reason", r->exit_reason ? json_string(r->exit_reason) : json_null(),
                      "resume_step", __step(r->resume_step), "first_step", __step(r->first_step),
                      "last_step", __step(r->last_step), "lines", (int)r->lines, "bad_lines",
                      (int)r->bad_lines, "cost", r->cost));
    }

    json_t *interruptions = json_array();
    for (guint i = 0; i < rec->interruptions->len; i++) {
        const HarnessInterruption *in = &g_array_index(rec->interruptions, HarnessInterruption, i);
        gint64 latency = in->reaction_us != HARNESS_TIME_NONE ? in->reaction_us - in->notice_us
                                                              : HARNESS_TIME_NONE;
        gint64 recovery = in->recovered_us != HARNESS_TIME_NONE && in->reclaim_us >= 0
                              ? in->recovered_us - in->reclaim_us
                              : HARNESS_TIME_NONE;
        /* In time: complete before the kill, or before the process ended on its own. */
        gboolean in_time =
            in->checkpoint_ok && in->checkpoint_end_us != HARNESS_TIME_NONE &&
            (in->killed_us == HARNESS_TIME_NONE || in->checkpoint_end_us <= in->killed_us);
        json_t *o = json_pack(
            "{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:o, s:o, s:o}",
            "instance", (int)in->instance, "cloud", harness_imds_cloud_name(in->cloud), "notice",
            __seconds(in->notice_us), "sigterm", __seconds(in->sigterm_us), "reclaim",
            __seconds(in->reclaim_us), "reaction", __seconds(in->reaction_us), "reaction_source",
            in->reaction_source ? json_string(in->reaction_source) : json_null(),
            "reaction_latency", __seconds(latency), "checkpoint_start",
            __seconds(in->checkpoint_start_us), "checkpoint_end", __seconds(in->checkpoint_end_us),
            "checkpoint_ok", in->checkpoint_ok, "checkpoint_in_time", in_time, "killed",
            __seconds(in->killed_us), "exited", __seconds(in->exited_us), "checkpoint_step",
            __step(in->checkpoint_step));
        json_object_set_new(o, "step_at_notice", __step(in->step_at_notice));
        json_object_set_new(o, "last_step", __step(in->last_step));
        json_object_set_new(o, "saved_step", __step(in->saved_step));
        json_object_set_new(o, "steps_lost", __step(in->steps_lost));
        json_object_set_new(o, "restarted", __seconds(in->restarted_us));
        json_object_set_new(o, "recovered", __seconds(in->recovered_us));
        json_object_set_new(o, "recovery_seconds", __seconds(recovery));
        json_array_append_new(interruptions, o);
    }

    json_t *deliveries = json_array();
    gint64 max_late = 0, sum_late = 0;
    for (guint i = 0; i < rec->deliveries->len; i++) {
        const HarnessDelivery *d = &g_array_index(rec->deliveries, HarnessDelivery, i);
        gint64 late = d->actual_us - d->scheduled_us;
        max_late = MAX(max_late, late);
        sum_late += late;
        json_array_append_new(
            deliveries, json_pack("{s:i, s:s, s:o, s:o, s:f}", "instance", (int)d->instance, "what",
                                  d->what, "scheduled", __seconds(d->scheduled_us), "actual",
                                  __seconds(d->actual_us), "late_ms", (double)late / 1e3));
    }
    guint n = rec->deliveries->len;
    json_t *lateness =
        json_pack("{s:i, s:f, s:f}", "deliveries", (int)n, "max_ms", (double)max_late / 1e3,
                  "mean_ms", n > 0 ? (double)sum_late / 1e3 / n : 0.0);

    gint64 lost = 0;
    for (guint i = 0; i < rec->interruptions->len; i++)
        lost += MAX(0, g_array_index(rec->interruptions, HarnessInterruption, i).steps_lost);
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:b, s:o, s:o, s:o, s:i, s:i, s:i, s:f, s:o, s:o, s:o, s:o, s:o}", "kind",
        "spotlab-testbed-record", "version", 1, "outcome", harness_run_outcome_name(rec->outcome),
        "finished", rec->outcome == HARNESS_RUN_FINISHED, "wall_seconds", __seconds(rec->wall_us),
        "final_step", __step(rec->final_step), "total_steps", __step(rec->total_steps),
        "instances_used", (int)rec->instances->len, "failed_runs", (int)rec->failed_runs,
        "steps_lost", (int)lost, "cost", rec->cost, "command", command, "schedule",
        __schedule_json(sup), "instances", instances, "interruptions", interruptions, "deliveries",
        deliveries);
    json_object_set_new(root, "lateness", lateness);
    if (sup->run_error != NULL)
        json_object_set_new(root, "error", json_string(sup->run_error->message));
    return root;
}

/* ---- freeing ------------------------------------------------------------------------------ */

void
harness_supervisor_free(HarnessSupervisor *sup)
{
    if (sup == NULL)
        return;
    Current *c = &sup->cur;
    if (sup->context != NULL) {
        __cancel_timers(sup);
        if (c->child_source != 0 && c->alive) {
            /* Mid-run: nobody may outlive us. The leader is reaped here, since its watch goes
             * away with us; GLib may have reaped it already (ECHILD), which is as good. */
            __cancel(sup, &c->child_source);
            __signal_group(sup, SIGKILL);
            int status;
            while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
                ;
            c->alive = FALSE;
            if (c->active) {
                HarnessInstanceRecord *r = __inst(sup);
                r->end = HARNESS_END_ABORTED;
            }
        }
        __cancel(sup, &c->child_source);
        __close_progress(sup);
    }
    g_clear_pointer(&c->imds, harness_imds_free);
    for (guint i = 0; i < sup->rec.instances->len; i++)
        g_free(g_array_index(sup->rec.instances, HarnessInstanceRecord, i).exit_reason);
    for (guint i = 0; i < sup->rec.interruptions->len; i++)
        g_free(g_array_index(sup->rec.interruptions, HarnessInterruption, i).reaction_source);
    g_array_unref(sup->rec.instances);
    g_array_unref(sup->rec.interruptions);
    g_array_unref(sup->rec.deliveries);
    g_clear_error(&sup->run_error);
    if (sup->context != NULL)
        g_main_context_unref(sup->context);
    g_strfreev(sup->argv);
    g_strfreev(sup->env);
    g_free(sup->working_dir);
    g_free(sup->specs);
    g_free(sup);
}
