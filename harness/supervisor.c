/* spotlab harness: the supervisor (see supervisor.h). */
#include "supervisor.h"
#include "util.h"

#include "progress-lines.h"

#include <errno.h>
#include <glib-unix.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

G_DEFINE_QUARK(harness - supervisor - error - quark, harness_supervisor_error)

/* The descriptor the workload writes its progress lines to. */
#define PROGRESS_FD 3
/* A "line" longer than this without a newline is dropped: the protocol promises < 4096. */
/* The status of a workload stopped by a notice with a complete checkpoint (EX_TEMPFAIL). */
#define EXIT_NOTICE 75

/* One process of the job on the current instance: the only one, or one rank of a gang, each
 * on a simulated instance of its own with its own metadata service and checkpoint folder. */
typedef struct {
    HarnessSupervisor *sup;
    guint rank;
    HarnessImds *imds;
    char *checkpoint_dir;    /* what {checkpoint_dir} names; NULL: none */
    gboolean checkpoint_own; /* a local disk: deleted when the instance ends */
    guint checkpoints;       /* checkpoint_start lines on this instance, every process */

    /* Its process (the latest one). */
    GPid pid;
    gboolean alive;  /* not yet seen to exit */
    gboolean killed; /* SIGKILLed at reclaim + grace, at a checkpoint, as hung or torn down */
    int fd;          /* read end of the progress pipe; -1 when closed */
    GString *pending;
    guint fd_source, child_source, watchdog_timer;
    gint64 spawned, last_line;     /* monotonic */
    gint64 resume_step, last_step; /* this process's; -1 when none */
    gint64 checkpoint_open;        /* a checkpoint started and not ended; -1 when none */
    /* Lost work in time: when the work after its rank's saved state began on this process
     * (NONE until a step after it), the checkpoint in flight and when work after its state
     * began, and when the last step line came. */
    gint64 saved_from, cand_step, cand_from, last_step_at;
} Member;

/* The instance that runs now, or last ran, and its processes (members, one unless a gang). An
 * instance outlives its processes when it has a notice (it lasts until its reclaim) and across
 * restarts after a crash or hang. The notice, the reclaim and the faults hit one member, the
 * reclaimed rank (lost). */
typedef struct {
    gboolean active; /* started and not yet ended */
    guint index;
    Member *m; /* gang members (1 for a single process) */
    guint n;
    guint lost; /* the rank the schedule's notice, reclaim and faults hit */
    guint due_timer, notice_timer, duplicate_timer, reclaim_timer, kill_timer;
    guint crash_timer, hang_timer, checkpoint_timer, restart_timer, teardown_timer;
    /* monotonic, microseconds */
    gint64 started, due_at, notice_at, duplicate_at, reclaim_at, kill_at;
    gint64 crash_at, hang_at, checkpoint_kill_at, restart_at, teardown_kill_at;
    gint64 reclaim_unix_us; /* the reclaim time the notice announces */
    gboolean due;           /* the notice came due (delivered or not): reclaimed at reclaim_at */
    gboolean reclaimed;     /* the reclaim happened (scheduled, or at a checkpoint) */
    gboolean tearing_down;  /* a gang's member ended: the others were told to stop */
    gint interruption;      /* index in the record, -1 when none */
    gint failure;           /* its entry in the record's failures, -1 when none */
    gint restart_of;        /* the failure it was started after, -1 for the instance's first */
} Current;

struct _HarnessSupervisor {
    char **argv;
    char *working_dir;
    char **env;
    HarnessInstanceSpec *specs;
    guint n_specs;
    gint64 restart_delay_us;
    gint64 progress_timeout_us;
    char *checkpoint_dir; /* absolute, or NULL */
    gboolean checkpoint_local;
    char *local_root;       /* local disks live under this folder of ours; NULL until made */
    gboolean local_root_rm; /* it is ours to remove at the end (not a user's checkpoint_dir) */
    char *storage_lib;      /* the storage-fault library, when an instance has storage faults */

    GMainContext *context; /* a reference, once started */
    gboolean started, done, aborted;
    GError *run_error;
    gint64 t0; /* the run's start, monotonic */
    guint start_timer;
    guint next_index; /* the instance the start timer starts */
    gint64 next_start_at;
    guint gang; /* members per instance (1: a single process) */
    gint64 gang_teardown_us;
    gint64 *saved; /* per rank: the newest complete checkpoint it can resume from (0: none) */
    GArray **saved_steps; /* a gang's: per rank, every step it reported complete (gint64) */

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
        .notice_duplicate_us = HARNESS_TIME_NONE,
        .crash_after_us = HARNESS_TIME_NONE,
        .hang_after_us = HARNESS_TIME_NONE,
        .storage_write_mbps = 0,
        .storage_fsync_delay_us = 0,
        .storage_fail = HARNESS_STORAGE_FAIL_NONE,
    };
}

gboolean
harness_instance_spec_has_storage_faults(const HarnessInstanceSpec *spec)
{
    g_return_val_if_fail(spec != NULL, FALSE);
    return spec->storage_write_mbps > 0 || spec->storage_fsync_delay_us > 0 ||
           spec->storage_fail != HARNESS_STORAGE_FAIL_NONE;
}

/* The index of @text in @names, as the enums below number their names; -1 when absent. */
static int
__name_index(const char *const *names, gsize n, const char *text)
{
    for (gsize i = 0; text != NULL && i < n; i++)
        if (strcmp(text, names[i]) == 0)
            return (int)i;
    return -1;
}

static const char *const storage_failure_names[] = {"none", "enospc", "eio", "fsync-eio"};

gboolean
harness_storage_failure_parse(const char *text, HarnessStorageFailure *failure)
{
    int i = __name_index(storage_failure_names, G_N_ELEMENTS(storage_failure_names), text);
    if (i >= 0)
        *failure = (HarnessStorageFailure)i;
    return i >= 0;
}

const char *
harness_storage_failure_name(HarnessStorageFailure failure)
{
    return (guint)failure < G_N_ELEMENTS(storage_failure_names) ? storage_failure_names[failure]
                                                                : "?";
}

char *
harness_storage_fault_library(void)
{
    const char *env = g_getenv("SPOTLAB_STORAGE_FAULT_LIB");
    if (env != NULL && env[0] != '\0')
        return g_strdup(env);
#ifdef HARNESS_STORAGE_FAULT_BUILD
    /* A program of this build folder (a test, build/src/spotlab) uses the library built beside
     * it, so that a build never runs with an older installed copy; an installed one the
     * installed library. */
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe != NULL && g_str_has_prefix(exe, HARNESS_BUILD_ROOT G_DIR_SEPARATOR_S))
        return g_strdup(HARNESS_STORAGE_FAULT_BUILD);
    return g_strdup(HARNESS_STORAGE_FAULT_INSTALL);
#else
    return NULL;
#endif
}

static const char *const sigterm_names[] = {"default", "notice", "reclaim", "never"};

gboolean
harness_sigterm_policy_parse(const char *text, HarnessSigtermPolicy *policy)
{
    int i = __name_index(sigterm_names, G_N_ELEMENTS(sigterm_names), text);
    if (i >= 0)
        *policy = (HarnessSigtermPolicy)i;
    return i >= 0;
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

static const char *
__failure_kind_name(HarnessFailureKind kind)
{
    return kind == HARNESS_FAILURE_CRASH ? "crash" : "hang";
}

static const char *
__reclaim_cause_name(HarnessReclaimCause cause)
{
    return cause == HARNESS_RECLAIM_AT_CHECKPOINT ? "checkpoint" : "scheduled";
}

static HarnessSigtermPolicy
__sigterm_of(const HarnessInstanceSpec *spec)
{
    return spec->sigterm == HARNESS_SIGTERM_DEFAULT ? harness_cloud_default_sigterm(spec->cloud)
                                                    : spec->sigterm;
}

/* ---- construction ------------------------------------------------------------------------- */

static gboolean
__argv_uses(char **argv, const char *placeholder)
{
    for (guint i = 0; argv[i] != NULL; i++)
        if (strstr(argv[i], placeholder) != NULL)
            return TRUE;
    return FALSE;
}

static gboolean __invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
__invalid(GError **error, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *message = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error_literal(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID, message);
    return FALSE;
}

static gboolean
__check_spec(const HarnessInstanceSpec *s, guint i, gint64 progress_timeout_us, guint gang,
             GError **error)
{
    if ((guint)s->cloud > HARNESS_IMDS_AZURE || (guint)s->sigterm > HARNESS_SIGTERM_NEVER ||
        s->notice_after_us < HARNESS_TIME_NONE || s->notice_lead_us < HARNESS_DEFAULT ||
        s->grace_us < HARNESS_DEFAULT || s->start_delay_us < HARNESS_DEFAULT ||
        !(s->price_per_hour >= 0))
        return __invalid(error,
                         "instance %u: expected a cloud, times >= 0 (or the defaults) and a "
                         "price >= 0",
                         i);
    if (s->notice_late_us < 0 || s->notice_duplicate_us < HARNESS_TIME_NONE ||
        s->crash_after_us < HARNESS_TIME_NONE || s->hang_after_us < HARNESS_TIME_NONE ||
        s->reclaim_checkpoint_delay_us < 0)
        return __invalid(error, "instance %u: expected fault times >= 0 (or none)", i);
    if (s->imds_fail_count > 0 && (s->imds_fail_status < 400 || s->imds_fail_status > 599))
        return __invalid(error,
                         "instance %u: metadata failures: expected an HTTP status in 400..599, "
                         "got %u",
                         i, s->imds_fail_status);
    if (s->hang_after_us != HARNESS_TIME_NONE && progress_timeout_us == 0 &&
        s->notice_after_us == HARNESS_TIME_NONE)
        return __invalid(error,
                         "instance %u: a hang that nothing ends: expected a progress timeout or "
                         "a notice",
                         i);
    /* 1e9 MB/s is a petabyte a second: beyond any disk, and far from overflowing the rate. */
    if (!(s->storage_write_mbps >= 0 && s->storage_write_mbps <= 1e9) ||
        s->storage_fsync_delay_us < 0 ||
        s->storage_fsync_delay_us > (gint64)3600 * G_USEC_PER_SEC ||
        (guint)s->storage_fail > HARNESS_STORAGE_FAIL_FSYNC_EIO)
        return __invalid(error,
                         "instance %u: storage faults: expected a write bandwidth in 0..1e9 MB/s, "
                         "an fsync delay in 0..1 h and a failure kind",
                         i);
    if (s->storage_fail == HARNESS_STORAGE_FAIL_NONE &&
        (s->storage_fail_after_bytes > 0 || s->storage_fail_from_checkpoint > 0))
        return __invalid(error,
                         "instance %u: storage faults: a failure's limits (after bytes, from a "
                         "checkpoint) without a failure",
                         i);
    if (s->reclaimed_rank >= MAX(gang, 1u))
        return __invalid(error, "instance %u: reclaimed rank %u: expected 0..%u (the gang's ranks)",
                         i, s->reclaimed_rank, MAX(gang, 1u) - 1);
    /* The agent of a gang restarts all its ranks; the supervisor restarts one process. */
    if (gang > 1 &&
        (s->crash_after_us != HARNESS_TIME_NONE || s->hang_after_us != HARNESS_TIME_NONE))
        return __invalid(error,
                         "instance %u: crash and hang faults are for a single process, not a "
                         "gang",
                         i);
    return TRUE;
}

HarnessSupervisor *
harness_supervisor_new(const HarnessSupervisorConfig *cfg, GError **error)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    if (cfg->argv == NULL || cfg->argv[0] == NULL || cfg->argv[0][0] == '\0') {
        __invalid(error, "no workload command");
        return NULL;
    }
    if (cfg->schedule.n_instances == 0 || cfg->schedule.instances == NULL) {
        __invalid(error, "the schedule has no instance");
        return NULL;
    }
    if (cfg->schedule.restart_delay_us < 0) {
        __invalid(error, "restart delay: expected >= 0");
        return NULL;
    }
    if (cfg->progress_timeout_us < 0) {
        __invalid(error, "progress timeout: expected >= 0 (0: none)");
        return NULL;
    }
    if (cfg->gang > 1 && cfg->progress_timeout_us > 0) {
        __invalid(error, "a progress timeout is for a single process, not a gang");
        return NULL;
    }
    if (cfg->gang > 1024 || cfg->gang_teardown_us < HARNESS_DEFAULT) {
        __invalid(error, "gang: expected 1..1024 ranks and a teardown time >= 0");
        return NULL;
    }
    if (cfg->checkpoint_dir != NULL && cfg->checkpoint_dir[0] == '\0') {
        __invalid(error, "checkpoint folder: expected a path, got an empty one");
        return NULL;
    }
    if (cfg->checkpoint_dir == NULL && !cfg->checkpoint_local &&
        __argv_uses((char **)cfg->argv, "{checkpoint_dir}")) {
        __invalid(error, "the command names {checkpoint_dir}: expected a checkpoint folder, or "
                         "local checkpoint storage");
        return NULL;
    }
    g_autofree char *storage_lib = NULL;
    for (guint i = 0; i < cfg->schedule.n_instances; i++) {
        const HarnessInstanceSpec *s = &cfg->schedule.instances[i];
        if (!__check_spec(s, i, cfg->progress_timeout_us, cfg->gang, error))
            return NULL;
        if (!harness_instance_spec_has_storage_faults(s) || storage_lib != NULL)
            continue;
        /* The faults act in the checkpoint folder, through the preloaded library. */
        if (cfg->checkpoint_dir == NULL && !cfg->checkpoint_local) {
            __invalid(error,
                      "instance %u: storage faults: expected a checkpoint folder, or local "
                      "checkpoint storage",
                      i);
            return NULL;
        }
        storage_lib = harness_storage_fault_library();
        if (storage_lib == NULL || !g_path_is_absolute(storage_lib) ||
            strpbrk(storage_lib, ": \t") != NULL ||
            !g_file_test(storage_lib, G_FILE_TEST_IS_REGULAR)) {
            __invalid(error,
                      "instance %u: storage faults: the library that injects them, %s, %s (build "
                      "it, install it, or name it with SPOTLAB_STORAGE_FAULT_LIB)",
                      i, storage_lib != NULL ? storage_lib : "libspotlab-storage-fault.so",
                      storage_lib == NULL ? "is not built on this system"
                      : !g_path_is_absolute(storage_lib) || strpbrk(storage_lib, ": \t") != NULL
                          ? "must be an absolute path without ':' or blanks (LD_PRELOAD)"
                          : "is not there");
            return NULL;
        }
    }
    HarnessSupervisor *sup = g_new0(HarnessSupervisor, 1);
    sup->storage_lib = g_steal_pointer(&storage_lib);
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
    sup->progress_timeout_us = cfg->progress_timeout_us;
    sup->checkpoint_local = cfg->checkpoint_local;
    if (cfg->checkpoint_dir != NULL) {
        /* The workload runs in working_dir: a relative folder is taken from there. */
        g_autofree char *base =
            cfg->working_dir != NULL ? g_canonicalize_filename(cfg->working_dir, NULL) : NULL;
        sup->checkpoint_dir = g_canonicalize_filename(cfg->checkpoint_dir, base);
    }
    sup->gang = MAX(cfg->gang, 1u);
    sup->gang_teardown_us =
        cfg->gang_teardown_us == HARNESS_DEFAULT ? 30 * G_USEC_PER_SEC : cfg->gang_teardown_us;
    sup->saved = g_new0(gint64, sup->gang);
    if (sup->gang > 1) {
        sup->saved_steps = g_new0(GArray *, sup->gang);
        for (guint i = 0; i < sup->gang; i++)
            sup->saved_steps[i] = g_array_new(FALSE, FALSE, sizeof(gint64));
    }
    sup->cur.interruption = -1;
    sup->cur.failure = -1;
    sup->cur.restart_of = -1;
    sup->rec.outcome = HARNESS_RUN_RUNNING;
    sup->rec.final_step = -1;
    sup->rec.total_steps = -1;
    sup->rec.instances = g_array_new(FALSE, TRUE, sizeof(HarnessInstanceRecord));
    sup->rec.interruptions = g_array_new(FALSE, TRUE, sizeof(HarnessInterruption));
    sup->rec.deliveries = g_array_new(FALSE, TRUE, sizeof(HarnessDelivery));
    sup->rec.failures = g_array_new(FALSE, TRUE, sizeof(HarnessFailure));
    return sup;
}

/* ---- checkpoint storage ------------------------------------------------------------------- */

/* The folder of the checkpoints of instance @index (of its @rank in a gang): checkpoint_dir
 * (remote; a gang's rank-R in it), or a fresh local disk made here; NULL with *@path NULL when
 * there is none. */
static gboolean
__instance_storage(HarnessSupervisor *sup, guint index, guint rank, char **path, gboolean *own,
                   GError **error)
{
    *path = NULL;
    *own = FALSE;
    if (!sup->checkpoint_local && (sup->gang == 1 || sup->checkpoint_dir == NULL)) {
        *path = g_strdup(sup->checkpoint_dir);
        return TRUE;
    }
    if (!sup->checkpoint_local) {
        /* Each rank saves its own state, in a folder of its own that outlives the instance. */
        g_autofree char *name = g_strdup_printf("rank-%u", rank);
        g_autofree char *dir = g_build_filename(sup->checkpoint_dir, name, NULL);
        if (g_mkdir_with_parents(dir, 0755) != 0) {
            int err = errno;
            g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_STORAGE,
                        "instance %u: checkpoint folder %s: %s", index, dir, g_strerror(err));
            return FALSE;
        }
        *path = g_steal_pointer(&dir);
        return TRUE;
    }
    if (sup->local_root == NULL) {
        g_autoptr(GError) local = NULL;
        if (sup->checkpoint_dir == NULL) {
            sup->local_root = g_dir_make_tmp("spotlab-testbed-XXXXXX", &local);
            sup->local_root_rm = sup->local_root != NULL;
        } else {
            /* A folder made here is removed at the end (when empty); a user's stays. */
            sup->local_root_rm = !g_file_test(sup->checkpoint_dir, G_FILE_TEST_EXISTS);
            if (g_mkdir_with_parents(sup->checkpoint_dir, 0755) == 0) {
                sup->local_root = g_strdup(sup->checkpoint_dir);
            } else {
                int err = errno;
                g_set_error(&local, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s",
                            sup->checkpoint_dir, g_strerror(err));
            }
        }
        if (sup->local_root == NULL) {
            sup->local_root_rm = FALSE;
            g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_STORAGE,
                        "instance %u: local checkpoint storage: %s", index, local->message);
            return FALSE;
        }
    }
    g_autofree char *name = sup->gang == 1 ? g_strdup_printf("instance-%u", index)
                                           : g_strdup_printf("instance-%u-rank-%u", index, rank);
    g_autofree char *dir = g_build_filename(sup->local_root, name, NULL);
    /* A fresh instance has an empty disk: a folder left by an earlier run is not reused. */
    if (g_mkdir(dir, 0700) != 0) {
        int err = errno;
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_STORAGE,
                    "instance %u: local checkpoint folder %s: %s%s", index, dir, g_strerror(err),
                    err == EEXIST ? " (left by an earlier run? remove it)" : "");
        return FALSE;
    }
    *path = g_steal_pointer(&dir);
    *own = TRUE;
    return TRUE;
}

/* Removes the folders made for local disks (each disk went with its instance). */
static void
__remove_local_root(HarnessSupervisor *sup)
{
    if (sup->local_root != NULL && sup->checkpoint_dir == NULL)
        spotlab_remove_tree(sup->local_root); /* all ours */
    else if (sup->local_root != NULL && sup->local_root_rm)
        (void)g_rmdir(sup->local_root); /* made here, and empty unless someone else wrote */
    g_clear_pointer(&sup->local_root, g_free);
    sup->local_root_rm = FALSE;
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

static HarnessFailure *
__failure(HarnessSupervisor *sup, gint i)
{
    return i < 0 ? NULL : &g_array_index(sup->rec.failures, HarnessFailure, i);
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

/* A member's own record: the instance's for a single process, its rank's in a gang. */
static HarnessInstanceRecord *
__mrec(const Member *m)
{
    HarnessInstanceRecord *r = __inst(m->sup);
    return r->members == NULL ? r : &g_array_index(r->members, HarnessInstanceRecord, m->rank);
}

/* The member the schedule's notice, reclaim and faults hit. */
static Member *
__lost(HarnessSupervisor *sup)
{
    return &sup->cur.m[sup->cur.lost];
}

/* The step a member's process is at: its last step line, else the step it resumed from, else
 * its rank's newest checkpoint, from which it will resume. */
static gint64
__current_step(const Member *m)
{
    if (m->last_step >= 0)
        return m->last_step;
    if (m->resume_step >= 0)
        return m->resume_step;
    return m->sup->saved[m->rank];
}

/* The job's step: the lowest of its members' (a gang is as far as its slowest rank). */
static gint64
__job_step(HarnessSupervisor *sup)
{
    gint64 step = G_MAXINT64;
    for (guint i = 0; i < sup->cur.n; i++)
        step = MIN(step, __current_step(&sup->cur.m[i]));
    return step;
}

/* Rank @rank has a complete checkpoint of @step (it said so, or resumed from it). */
static void
__saved_add(HarnessSupervisor *sup, guint rank, gint64 step)
{
    sup->saved[rank] = MAX(sup->saved[rank], step);
    if (sup->gang == 1)
        return;
    GArray *steps = sup->saved_steps[rank];
    for (guint i = 0; i < steps->len; i++)
        if (g_array_index(steps, gint64, i) == step)
            return;
    g_array_append_val(steps, step);
}

/* The checkpoints of every rank are gone (local disks lost with their instance). */
static void
__saved_clear(HarnessSupervisor *sup)
{
    for (guint i = 0; i < sup->gang; i++) {
        sup->saved[i] = 0;
        if (sup->saved_steps != NULL)
            g_array_set_size(sup->saved_steps[i], 0);
    }
}

/* The job's resume point: the newest step every rank has a complete checkpoint of, as the
 * progress lines told (0: none). For a gang, a step one rank saved and another did not is no
 * state of the job: ranks that each save at a notice of their own save different steps. */
static gint64
__job_saved(const HarnessSupervisor *sup)
{
    if (sup->gang == 1)
        return sup->saved[0];
    gint64 best = 0;
    const GArray *first = sup->saved_steps[0];
    for (guint i = 0; i < first->len; i++) {
        gint64 step = g_array_index(first, gint64, i);
        gboolean all = step > best;
        for (guint k = 1; all && k < sup->gang; k++) {
            gboolean has = FALSE;
            const GArray *other = sup->saved_steps[k];
            for (guint j = 0; !has && j < other->len; j++)
                has = g_array_index(other, gint64, j) == step;
            all = has;
        }
        if (all)
            best = step;
    }
    return best;
}

static gboolean
__any_alive(const HarnessSupervisor *sup)
{
    for (guint i = 0; i < sup->cur.n; i++)
        if (sup->cur.m[i].alive)
            return TRUE;
    return FALSE;
}

static void
__signal_member(const Member *m, int sig)
{
    /* The group's id is the leader's pid (setpgid in the child and here). */
    if (m->pid > 0)
        (void)kill(-m->pid, sig);
}

/* A new interruption of the current instance, which becomes its own. */
static HarnessInterruption *
__interruption_new(HarnessSupervisor *sup, HarnessReclaimCause cause)
{
    Current *c = &sup->cur;
    HarnessInterruption in = {
        .instance = c->index,
        .cloud = sup->specs[c->index].cloud,
        .cause = cause,
        .notice_due_us = HARNESS_TIME_NONE,
        .notice_us = HARNESS_TIME_NONE,
        .notice_duplicate_us = HARNESS_TIME_NONE,
        .sigterm_us = HARNESS_TIME_NONE,
        .reclaim_us = HARNESS_TIME_NONE,
        .reaction_us = HARNESS_TIME_NONE,
        .checkpoint_start_us = HARNESS_TIME_NONE,
        .checkpoint_end_us = HARNESS_TIME_NONE,
        .checkpoint_step = -1,
        .killed_us = HARNESS_TIME_NONE,
        .exited_us = HARNESS_TIME_NONE,
        .step_at_notice = -1,
        .last_step = -1,
        .saved_step = -1,
        .steps_lost = -1,
        .lost_us = HARNESS_TIME_NONE,
        .restarted_us = HARNESS_TIME_NONE,
        .recovered_us = HARNESS_TIME_NONE,
        .torn_step = -1,
        .gang = c->n,
        .rank = c->lost,
        .teardown_us = HARNESS_TIME_NONE,
    };
    g_array_append_val(sup->rec.interruptions, in);
    c->interruption = (gint)sup->rec.interruptions->len - 1;
    return __intr(sup);
}

/* A new failure of the current process, which becomes its own. */
static HarnessFailure *
__failure_new(HarnessSupervisor *sup, HarnessFailureKind kind)
{
    Current *c = &sup->cur;
    HarnessFailure f = {
        .instance = c->index,
        .kind = kind,
        .pid = __lost(sup)->pid,
        .injected_us = HARNESS_TIME_NONE,
        .last_line_us = HARNESS_TIME_NONE,
        .detected_us = HARNESS_TIME_NONE,
        .exited_us = HARNESS_TIME_NONE,
        .exit_status = -1,
        .last_step = -1,
        .saved_step = -1,
        .steps_lost = -1,
        .torn_step = -1,
        .restarted_us = HARNESS_TIME_NONE,
        .resume_step = -1,
        .recovered_us = HARNESS_TIME_NONE,
    };
    g_array_append_val(sup->rec.failures, f);
    c->failure = (gint)sup->rec.failures->len - 1;
    return __failure(sup, c->failure);
}

/* ---- progress lines ----------------------------------------------------------------------- */

static gint64
__int_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (gint64)json_integer_value(v) : -1;
}

static gboolean __on_checkpoint_reclaim(gpointer user_data);
static void __checkpoint_reclaim(HarnessSupervisor *sup, gint64 scheduled);

/* The job came to @step (a step line of a single process, the lowest step of a gang's): the
 * interruptions and failures it has got past are recovered. */
static void
__job_progress(HarnessSupervisor *sup, gint64 step, gint64 now)
{
    sup->rec.final_step = step;
    for (guint i = 0; i < sup->rec.interruptions->len; i++) {
        HarnessInterruption *p = &g_array_index(sup->rec.interruptions, HarnessInterruption, i);
        if (p->instance < sup->cur.index && p->recovered_us == HARNESS_TIME_NONE &&
            step > p->last_step)
            p->recovered_us = __rel(sup, now);
    }
    for (guint i = 0; i < sup->rec.failures->len; i++) {
        HarnessFailure *f = &g_array_index(sup->rec.failures, HarnessFailure, i);
        /* Only a later process: the failed one has ended. */
        if (f->exited_us != HARNESS_TIME_NONE && f->recovered_us == HARNESS_TIME_NONE &&
            step > f->last_step)
            f->recovered_us = __rel(sup, now);
    }
}

static void
__line(Member *m, const char *text, gint64 now)
{
    HarnessSupervisor *sup = m->sup;
    Current *c = &sup->cur;
    HarnessInstanceRecord *r = __mrec(m);
    gint64 *saved = &sup->saved[m->rank];
    r->lines++;
    m->last_line = now;
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (obj == NULL || !json_is_object(obj)) {
        r->bad_lines++;
        json_decref(obj);
        return;
    }
    const char *event = json_string_value(json_object_get(obj, "event"));
    /* The interruption is the reclaimed member's: what the others say is not its reaction. */
    HarnessInterruption *in = m->rank == c->lost ? __intr(sup) : NULL;
    gint64 step = __int_field(obj, "step");
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    gboolean emergency = g_strcmp0(kind, "emergency") == 0;
    if (event == NULL) {
        r->bad_lines++;
    } else if (strcmp(event, "start") == 0) {
        if (sup->rec.total_steps < 0)
            sup->rec.total_steps = __int_field(obj, "total_steps");
    } else if (strcmp(event, "resume") == 0 && step >= 0) {
        m->resume_step = step;
        HarnessFailure *after = __failure(sup, c->restart_of);
        if (after != NULL)
            after->resume_step = step;
        else
            r->resume_step = step;
        /* It was resumed from, so it is complete. */
        __saved_add(sup, m->rank, step);
        m->saved_from = HARNESS_TIME_NONE;
    } else if (strcmp(event, "step") == 0 && step >= 0) {
        if (r->first_step < 0) {
            r->first_step = step;
            r->first_step_us = __rel(sup, now);
        }
        r->last_step = step;
        m->last_step = step;
        double seconds = json_number_value(json_object_get(obj, "step_seconds"));
        /* The work of this step began a step's time before its line. */
        gint64 began = now - (gint64)(MAX(0.0, seconds) * 1e6);
        if (m->saved_from == HARNESS_TIME_NONE && step > *saved)
            m->saved_from = began;
        if (m->cand_step >= 0 && m->cand_from == HARNESS_TIME_NONE && step > m->cand_step)
            m->cand_from = began;
        m->last_step_at = now;
        if (seconds > 0) {
            r->step_seconds_sum += seconds;
            r->steps_timed++;
        }
        /* A gang moves on when its slowest rank does. */
        if (__job_step(sup) == step)
            __job_progress(sup, step, now);
    } else if (strcmp(event, "checkpoint_start") == 0) {
        m->checkpoint_open = step;
        m->cand_step = step;
        m->cand_from = HARNESS_TIME_NONE;
        m->checkpoints++;
        if (in != NULL && emergency) {
            in->emergency_checkpoints++;
            if (in->checkpoint_start_us == HARNESS_TIME_NONE) {
                in->checkpoint_start_us = __rel(sup, now);
                in->checkpoint_step = step;
            }
        }
        const HarnessInstanceSpec *spec = &sup->specs[c->index];
        if (m->rank == c->lost && spec->reclaim_at_checkpoint > 0 &&
            m->checkpoints == spec->reclaim_at_checkpoint && m->alive && !c->reclaimed) {
            /* The machine vanishes in the middle of the write: at once, or a little later. */
            c->checkpoint_kill_at = now + spec->reclaim_checkpoint_delay_us;
            if (spec->reclaim_checkpoint_delay_us == 0)
                __checkpoint_reclaim(sup, now);
            else
                c->checkpoint_timer =
                    __timer_at(sup, c->checkpoint_kill_at, __on_checkpoint_reclaim);
        }
    } else if (strcmp(event, "checkpoint_end") == 0) {
        gboolean ok = json_is_true(json_object_get(obj, "ok"));
        if (step == m->checkpoint_open)
            m->checkpoint_open = -1;
        if (ok && step > *saved) {
            /* A blocking write: the next step, still to come, begins the unsaved work. */
            m->saved_from = step == m->cand_step ? m->cand_from : HARNESS_TIME_NONE;
        }
        if (ok && step >= 0) {
            __saved_add(sup, m->rank, step);
            r->checkpoints++;
            r->checkpoint_seconds += MAX(0.0, json_number_value(json_object_get(obj, "seconds")));
        }
        if (in != NULL && emergency && in->checkpoint_start_us != HARNESS_TIME_NONE &&
            in->checkpoint_end_us == HARNESS_TIME_NONE && step == in->checkpoint_step) {
            in->checkpoint_end_us = __rel(sup, now);
            in->checkpoint_ok = ok;
        }
    } else if (strcmp(event, "notice") == 0) {
        if (in != NULL) {
            in->reactions++;
            if (in->reaction_us == HARNESS_TIME_NONE) {
                in->reaction_us = __rel(sup, now);
                const char *source = json_string_value(json_object_get(obj, "source"));
                in->reaction_source = g_strdup(source != NULL ? source : "?");
            }
        }
    } else if (strcmp(event, "storage_fault") == 0) {
        /* The storage-fault library's report of a failure it injected. */
        if (r->storage_faults++ == 0)
            r->storage_first_fault_us = __rel(sup, now);
    } else if (strcmp(event, "exit") == 0) {
        const char *reason = json_string_value(json_object_get(obj, "reason"));
        g_free(r->exit_reason);
        r->exit_reason = g_strdup(reason);
    }
    json_decref(obj);
}

static void
__on_line(const char *line, gint64 now, gpointer user_data)
{
    __line(user_data, line, now);
}

/* Reads what the pipe holds now; FALSE at end of file or on an error. */
static gboolean
__read_progress(Member *m)
{
    return harness_read_lines(m->fd, m->pending, __on_line, m, &__mrec(m)->bad_lines);
}

static void
__close_progress(Member *m)
{
    __cancel(m->sup, &m->fd_source);
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    if (m->pending != NULL)
        g_string_free(m->pending, TRUE);
    m->pending = NULL;
}

static gboolean
__on_progress(gint fd, GIOCondition condition, gpointer user_data)
{
    Member *m = user_data;
    if (__read_progress(m))
        return G_SOURCE_CONTINUE;
    /* End of file before the process ended: it closed the descriptor; nothing more comes. */
    m->fd_source = 0;
    close(m->fd);
    m->fd = -1;
    return G_SOURCE_REMOVE;
}

/* ---- the run ------------------------------------------------------------------------------ */

/* The current instance's timers, its processes' watchdogs among them. */
static void
__cancel_instance_timers(HarnessSupervisor *sup)
{
    Current *c = &sup->cur;
    guint *timers[] = {&c->due_timer,     &c->notice_timer,     &c->duplicate_timer,
                       &c->reclaim_timer, &c->kill_timer,       &c->crash_timer,
                       &c->hang_timer,    &c->checkpoint_timer, &c->restart_timer,
                       &c->teardown_timer};
    for (gsize i = 0; i < G_N_ELEMENTS(timers); i++)
        __cancel(sup, timers[i]);
    for (guint i = 0; i < c->n; i++)
        __cancel(sup, &c->m[i].watchdog_timer);
}

static void
__cancel_timers(HarnessSupervisor *sup)
{
    __cancel_instance_timers(sup);
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
    __remove_local_root(sup);
    /* Wake a harness_supervisor_run() blocked in its iteration. */
    g_main_context_wakeup(sup->context);
}

static gboolean __start_instance(HarnessSupervisor *sup, guint index, gint64 scheduled,
                                 GError **error);
static gboolean __spawn(Member *m, GError **error);

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

/* A gang's instance record sums up its members' (supervisor.h). */
static void
__gang_summary(HarnessSupervisor *sup)
{
    HarnessInstanceRecord *r = __inst(sup);
    if (r->members == NULL)
        return;
    const HarnessInstanceRecord *lost =
        &g_array_index(r->members, HarnessInstanceRecord, sup->cur.lost);
    r->pid = lost->pid;
    r->exited_us = lost->exited_us;
    r->end = lost->end;
    r->exit_status = lost->exit_status;
    r->exit_signal = lost->exit_signal;
    g_free(r->exit_reason);
    r->exit_reason = g_strdup(lost->exit_reason);
    r->resume_step = r->first_step = r->last_step = G_MAXINT64;
    r->first_step_us = HARNESS_TIME_NONE;
    r->step_seconds_sum = r->checkpoint_seconds = 0;
    r->steps_timed = 0;
    r->checkpoints = r->lines = r->bad_lines = r->storage_faults = 0;
    r->imds_requests = r->imds_faults_injected = r->imds_notices_fetched = 0;
    r->storage_first_fault_us = HARNESS_TIME_NONE;
    for (guint i = 0; i < r->members->len; i++) {
        const HarnessInstanceRecord *x = &g_array_index(r->members, HarnessInstanceRecord, i);
        /* -1 (none) is the lowest of all: a rank that never said leaves the gang's unknown. */
        r->resume_step = MIN(r->resume_step, x->resume_step);
        r->first_step = MIN(r->first_step, x->first_step);
        r->last_step = MIN(r->last_step, x->last_step);
        r->first_step_us = MAX(r->first_step_us, x->first_step_us);
        r->step_seconds_sum += x->step_seconds_sum;
        r->steps_timed += x->steps_timed;
        r->checkpoints += x->checkpoints;
        r->checkpoint_seconds += x->checkpoint_seconds;
        r->lines += x->lines;
        r->bad_lines += x->bad_lines;
        r->imds_requests += x->imds_requests;
        r->imds_faults_injected += x->imds_faults_injected;
        r->imds_notices_fetched += x->imds_notices_fetched;
        r->storage_faults += x->storage_faults;
        if (x->storage_first_fault_us != HARNESS_TIME_NONE &&
            (r->storage_first_fault_us == HARNESS_TIME_NONE ||
             x->storage_first_fault_us < r->storage_first_fault_us))
            r->storage_first_fault_us = x->storage_first_fault_us;
    }
    /* The gang's first step came when its last rank made one. */
    if (r->first_step < 0)
        r->first_step_us = HARNESS_TIME_NONE;
}

/* The current instance is gone (at @end, monotonic): its metadata services and its local disks
 * with it. With @go_on the next one is scheduled, or the run ends when there is none. */
static void
__instance_end(HarnessSupervisor *sup, gint64 end, gboolean go_on)
{
    Current *c = &sup->cur;
    if (!c->active)
        return;
    c->active = FALSE;
    __cancel_instance_timers(sup);
    for (guint i = 0; i < c->n; i++) {
        Member *m = &c->m[i];
        HarnessInstanceRecord *mr = __mrec(m);
        if (m->imds != NULL) {
            HarnessImdsStats stats;
            harness_imds_get_stats(m->imds, &stats);
            mr->imds_requests = stats.requests;
            mr->imds_faults_injected = stats.faults_injected;
            mr->imds_notices_fetched = stats.notices_fetched;
        }
        g_clear_pointer(&m->imds, harness_imds_free);
        if (m->checkpoint_own)
            spotlab_remove_tree(m->checkpoint_dir);
        m->checkpoint_own = FALSE;
        g_clear_pointer(&m->checkpoint_dir, g_free);
        mr->saved_step = sup->saved[i];
    }
    /* Checkpoints on the instance's own disks went with it. */
    if (sup->checkpoint_local)
        __saved_clear(sup);
    __gang_summary(sup);
    HarnessInstanceRecord *r = __inst(sup);
    r->ended_us = __rel(sup, end);
    /* A gang's instance is as many machines. */
    r->cost = r->price_per_hour * c->n * (double)(r->ended_us - r->started_us) / 3.6e9;
    for (guint i = 0; r->members != NULL && i < r->members->len; i++) {
        HarnessInstanceRecord *x = &g_array_index(r->members, HarnessInstanceRecord, i);
        x->ended_us = r->ended_us;
        x->cost = x->price_per_hour * (double)(x->ended_us - x->started_us) / 3.6e9;
    }
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
    Member *m = __lost(sup);
    c->kill_timer = 0;
    if (m->alive) {
        gint64 now = g_get_monotonic_time();
        __signal_member(m, SIGKILL);
        m->killed = TRUE;
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
    __signal_member(__lost(sup), SIGTERM);
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
    /* A notice or duplicate not delivered by now never will be. */
    __cancel(sup, &c->notice_timer);
    __cancel(sup, &c->duplicate_timer);
    gint64 now = g_get_monotonic_time();
    __delivered(sup, "reclaim", c->reclaim_at, now);
    HarnessInterruption *in = __intr(sup);
    if (in != NULL)
        in->reclaim_us = __rel(sup, now);
    if (!__lost(sup)->alive) {
        /* The workload left in time (or was down between restarts); the machine goes now, and
         * the instance ends with it, or when the last of a gang's other ranks has stopped. */
        if (!__any_alive(sup))
            __instance_end(sup, c->reclaim_at, TRUE);
        return G_SOURCE_REMOVE;
    }
    if (__sigterm_of(&sup->specs[c->index]) == HARNESS_SIGTERM_AT_RECLAIM)
        __sigterm(sup, c->reclaim_at);
    c->kill_timer = __timer_at(sup, c->kill_at, __on_kill);
    return G_SOURCE_REMOVE;
}

static gboolean
__on_duplicate(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    c->duplicate_timer = 0;
    gint64 now = g_get_monotonic_time();
    /* The same reclaim time again: AWS shows the same instance-action, Azure adds a second
     * Preempt event (a new EventId, DocumentIncarnation moves on), Google's preempted stays
     * TRUE (nothing for wait_for_change to answer) but the guest gets a second ACPI soft-off. */
    harness_imds_notify(__lost(sup)->imds, c->reclaim_unix_us);
    __delivered(sup, "duplicate", c->duplicate_at, now);
    HarnessInterruption *in = __intr(sup);
    if (in != NULL)
        in->notice_duplicate_us = __rel(sup, now);
    if (__lost(sup)->alive && __sigterm_of(&sup->specs[c->index]) == HARNESS_SIGTERM_AT_NOTICE)
        __sigterm(sup, c->duplicate_at);
    return G_SOURCE_REMOVE;
}

static void
__deliver_notice(HarnessSupervisor *sup, gint64 now)
{
    Current *c = &sup->cur;
    const HarnessInstanceSpec *spec = &sup->specs[c->index];
    /* The reclaim time the cloud announces is the scheduled one, on the wall clock. */
    c->reclaim_unix_us = g_get_real_time() + (c->reclaim_at - now);
    harness_imds_notify(__lost(sup)->imds, c->reclaim_unix_us);
    __delivered(sup, "notice", c->notice_at, now);
    HarnessInterruption *in = __intr(sup);
    g_assert(in != NULL); /* made when the notice came due */
    in->notice_us = __rel(sup, now);
    in->step_at_notice = __current_step(__lost(sup));
    if (__lost(sup)->alive && __sigterm_of(spec) == HARNESS_SIGTERM_AT_NOTICE)
        __sigterm(sup, c->notice_at);
    if (spec->notice_duplicate_us != HARNESS_TIME_NONE) {
        /* Against the schedule, as every delivery; none once the machine is gone. */
        c->duplicate_at = c->notice_at + spec->notice_duplicate_us;
        if (c->duplicate_at < c->reclaim_at)
            c->duplicate_timer = __timer_at(sup, c->duplicate_at, __on_duplicate);
    }
}

static gboolean
__on_notice(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    sup->cur.notice_timer = 0;
    __deliver_notice(sup, g_get_monotonic_time());
    return G_SOURCE_REMOVE;
}

/* The notice's scheduled time: from here the instance is reclaimed at reclaim_at, whether the
 * notice comes now, later, or never. */
static gboolean
__on_due(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    const HarnessInstanceSpec *spec = &sup->specs[c->index];
    c->due_timer = 0;
    c->due = TRUE;
    gint64 now = g_get_monotonic_time();
    HarnessInterruption *in = __intr(sup);
    if (in == NULL)
        in = __interruption_new(sup, HARNESS_RECLAIM_SCHEDULED);
    in->notice_due_us = __rel(sup, c->due_at);
    if (spec->notice_missed || c->notice_at >= c->reclaim_at)
        in->notice_missed = TRUE;
    else if (c->notice_at <= now)
        __deliver_notice(sup, now);
    else
        c->notice_timer = __timer_at(sup, c->notice_at, __on_notice);
    c->reclaim_timer = __timer_at(sup, c->reclaim_at, __on_reclaim);
    return G_SOURCE_REMOVE;
}

/* reclaim_at_checkpoint: the machine is gone in the middle of a checkpoint, without notice. */
static void
__checkpoint_reclaim(HarnessSupervisor *sup, gint64 scheduled)
{
    Current *c = &sup->cur;
    Member *m = __lost(sup);
    c->checkpoint_timer = 0;
    if (!m->alive || c->reclaimed)
        return;
    gint64 now = g_get_monotonic_time();
    __signal_member(m, SIGKILL);
    m->killed = TRUE;
    c->reclaimed = TRUE;
    /* Nothing scheduled for this machine happens any more. */
    __cancel(sup, &c->due_timer);
    __cancel(sup, &c->notice_timer);
    __cancel(sup, &c->duplicate_timer);
    __cancel(sup, &c->reclaim_timer);
    __cancel(sup, &c->kill_timer);
    __cancel(sup, &c->crash_timer);
    __cancel(sup, &c->hang_timer);
    __delivered(sup, "sigkill", scheduled, now);
    HarnessInterruption *in = __intr(sup);
    if (in == NULL)
        in = __interruption_new(sup, HARNESS_RECLAIM_AT_CHECKPOINT);
    in->cause = HARNESS_RECLAIM_AT_CHECKPOINT;
    in->reclaim_us = __rel(sup, now);
    in->killed_us = __rel(sup, now);
}

static gboolean
__on_checkpoint_reclaim(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    __checkpoint_reclaim(sup, sup->cur.checkpoint_kill_at);
    return G_SOURCE_REMOVE;
}

/* Whether a fault may still strike the current process (a single one: no gang). */
static gboolean
__can_fail(const Current *c)
{
    return c->m[0].alive && !c->m[0].killed && !c->reclaimed && c->failure < 0;
}

static gboolean
__on_crash(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    c->crash_timer = 0;
    if (!__can_fail(c))
        return G_SOURCE_REMOVE;
    gint64 now = g_get_monotonic_time();
    /* A segmentation fault of the leader, as a bug or a bad memory access would raise. */
    (void)kill(c->m[0].pid, SIGSEGV);
    __delivered(sup, "crash", c->crash_at, now);
    __failure_new(sup, HARNESS_FAILURE_CRASH)->injected_us = __rel(sup, now);
    return G_SOURCE_REMOVE;
}

static gboolean
__on_hang(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    c->hang_timer = 0;
    if (!__can_fail(c))
        return G_SOURCE_REMOVE;
    gint64 now = g_get_monotonic_time();
    /* Every process of the job stops where it is, as on a deadlock or a stuck collective: it
     * still lives, and says nothing more. */
    __signal_member(&c->m[0], SIGSTOP);
    __delivered(sup, "hang", c->hang_at, now);
    __failure_new(sup, HARNESS_FAILURE_HANG)->injected_us = __rel(sup, now);
    return G_SOURCE_REMOVE;
}

/* progress_timeout: a process silent for that long is declared hung and killed (a single
 * process: no gang). */
static gboolean
__on_watchdog(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    Member *m = &c->m[0];
    m->watchdog_timer = 0;
    if (!m->alive || m->killed)
        return G_SOURCE_REMOVE;
    gint64 deadline = m->last_line + sup->progress_timeout_us;
    gint64 now = g_get_monotonic_time();
    if (now < deadline) {
        /* A line came since the timer was set: wait for the silence to last. */
        m->watchdog_timer = __timer_at(sup, deadline, __on_watchdog);
        return G_SOURCE_REMOVE;
    }
    HarnessFailure *f = __failure(sup, c->failure);
    if (f == NULL)
        f = __failure_new(sup, HARNESS_FAILURE_HANG);
    f->detected_us = __rel(sup, now);
    f->last_line_us = __rel(sup, m->last_line);
    __signal_member(m, SIGKILL);
    m->killed = TRUE;
    __delivered(sup, "hung-kill", deadline, now);
    return G_SOURCE_REMOVE;
}

static gboolean
__on_restart(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    Member *m = &c->m[0];
    c->restart_timer = 0;
    g_autoptr(GError) error = NULL;
    if (!__spawn(m, &error)) {
        g_propagate_error(&sup->run_error, g_steal_pointer(&error));
        __instance_end(sup, g_get_monotonic_time(), FALSE);
        __finish(sup, HARNESS_RUN_ERROR);
        return G_SOURCE_REMOVE;
    }
    __delivered(sup, "restart", c->restart_at, m->spawned);
    HarnessFailure *f = __failure(sup, c->restart_of);
    g_assert(f != NULL); /* a restart follows a failure */
    f->restarted_us = __rel(sup, m->spawned);
    /* The record describes the instance's latest process: this one, which runs. */
    HarnessInstanceRecord *r = __inst(sup);
    r->restarts++;
    r->pid = m->pid;
    r->exited_us = HARNESS_TIME_NONE;
    r->exit_status = -1;
    r->exit_signal = 0;
    r->end = HARNESS_END_NONE;
    HarnessInterruption *in = __intr(sup);
    if (in != NULL) {
        in->exited_us = HARNESS_TIME_NONE;
        in->last_step = in->saved_step = in->steps_lost = in->torn_step = -1;
        in->lost_us = HARNESS_TIME_NONE;
    }
    return G_SOURCE_REMOVE;
}

/* The gang's teardown ran out of time: what still runs is killed. */
static gboolean
__on_teardown_kill(gpointer user_data)
{
    HarnessSupervisor *sup = user_data;
    Current *c = &sup->cur;
    c->teardown_timer = 0;
    gboolean any = FALSE;
    for (guint i = 0; i < c->n; i++) {
        Member *m = &c->m[i];
        if (m->alive) {
            __signal_member(m, SIGKILL);
            m->killed = TRUE;
            any = TRUE;
        }
    }
    if (any)
        __delivered(sup, "teardown-kill", c->teardown_kill_at, g_get_monotonic_time());
    return G_SOURCE_REMOVE;
}

/* A rank of a gang ended without finishing the job: the others cannot go on without it. As a
 * gang's agent (torchrun) does, the supervisor stops them: SIGTERM to each one's group, SIGKILL
 * to what still runs gang_teardown later. The reclaimed rank's machine keeps its own schedule
 * (its notice, reclaim and kill) beside that. */
static void
__teardown(HarnessSupervisor *sup, gint64 now)
{
    Current *c = &sup->cur;
    c->tearing_down = TRUE;
    gboolean any = FALSE;
    for (guint i = 0; i < c->n; i++) {
        Member *m = &c->m[i];
        if (!m->alive)
            continue;
        __signal_member(m, SIGTERM);
        __mrec(m)->torn_down_us = __rel(sup, now);
        any = TRUE;
    }
    if (!any)
        return;
    __delivered(sup, "teardown", now, now);
    HarnessInterruption *in = __intr(sup);
    if (in != NULL && in->teardown_us == HARNESS_TIME_NONE)
        in->teardown_us = __rel(sup, now);
    c->teardown_kill_at = now + sup->gang_teardown_us;
    c->teardown_timer = __timer_at(sup, c->teardown_kill_at, __on_teardown_kill);
}

/* Every process of the instance has ended (at @now): its interruption and failure are settled,
 * and the job finishes, waits for the reclaim, restarts the command, or goes on on the next
 * instance. */
static void
__all_exited(HarnessSupervisor *sup, gint64 now)
{
    Current *c = &sup->cur;
    Member *lost = __lost(sup);
    __cancel(sup, &c->teardown_timer);
    __gang_summary(sup);
    HarnessInstanceRecord *r = __inst(sup);
    HarnessInterruption *in = __intr(sup);
    if (in != NULL) {
        in->exited_us = __mrec(lost)->exited_us;
        in->last_step = __job_step(sup);
        /* What the next instance can resume from: nothing of a disk that goes with this one. */
        gint64 saved = __job_saved(sup);
        in->saved_step = sup->checkpoint_local ? 0 : saved;
        in->steps_lost = MAX(0, in->last_step - in->saved_step);
        in->torn_step = lost->checkpoint_open;
        /* In time: the process's work since the saved state; unknown when the work lost goes
         * back past this process (a local disk lost with its checkpoints). A gang's: the lost
         * steps at the pace of the rank that reached the gang's last step. */
        const Member *slowest = lost;
        for (guint i = 0; i < c->n; i++)
            if (__current_step(&c->m[i]) == in->last_step)
                slowest = &c->m[i];
        const HarnessInstanceRecord *sr = __mrec(slowest);
        if (in->steps_lost == 0)
            in->lost_us = 0;
        else if (c->n > 1)
            in->lost_us = sr->steps_timed > 0 && in->saved_step == saved
                              ? (gint64)((double)in->steps_lost * sr->step_seconds_sum /
                                         (double)sr->steps_timed * 1e6)
                              : HARNESS_TIME_NONE;
        else
            in->lost_us = lost->saved_from != HARNESS_TIME_NONE &&
                                  lost->last_step_at != HARNESS_TIME_NONE && in->saved_step == saved
                              ? MAX(0, lost->last_step_at - lost->saved_from)
                              : HARNESS_TIME_NONE;
    }

    /* A crash or a hang: the instance is still there, and its orchestrator starts the command
     * again after the restart delay, on the same machine, disk and metadata service. */
    HarnessFailure *f = __failure(sup, c->failure);
    if (f != NULL) {
        f->exited_us = r->exited_us;
        f->exit_status = r->exit_status;
        f->exit_signal = r->exit_signal;
        if (f->detected_us == HARNESS_TIME_NONE && f->kind == HARNESS_FAILURE_CRASH)
            f->detected_us = f->exited_us;
        if (f->last_line_us == HARNESS_TIME_NONE)
            f->last_line_us = __rel(sup, lost->last_line);
        f->last_step = __current_step(lost);
        /* The same disk: local checkpoints count. */
        f->saved_step = sup->saved[lost->rank];
        f->steps_lost = MAX(0, f->last_step - f->saved_step);
        f->torn_step = lost->checkpoint_open;
        if (!sup->aborted && !c->reclaimed && r->end != HARNESS_END_COMPLETED) {
            c->restart_of = c->failure;
            c->failure = -1;
            c->restart_at = now + sup->restart_delay_us;
            c->restart_timer = __timer_at(sup, c->restart_at, __on_restart);
            return;
        }
    }
    gboolean completed = TRUE;
    for (guint i = 0; i < c->n; i++) {
        const HarnessInstanceRecord *x = __mrec(&c->m[i]);
        completed = completed && x->end == HARNESS_END_COMPLETED;
        if (x->end == HARNESS_END_FAILED)
            sup->rec.failed_runs++;
    }

    if (sup->aborted) {
        __instance_end(sup, now, FALSE);
        __finish(sup, HARNESS_RUN_ABORTED);
    } else if (completed) {
        __instance_end(sup, now, FALSE);
        __finish(sup, HARNESS_RUN_FINISHED);
    } else if (c->due && !c->reclaimed) {
        /* The machine stays until its reclaim, which ends the instance. */
        __cancel(sup, &c->kill_timer);
    } else {
        __instance_end(sup, now, TRUE);
    }
}

static void
__on_child(GPid pid, gint wait_status, gpointer user_data)
{
    Member *m = user_data;
    HarnessSupervisor *sup = m->sup;
    Current *c = &sup->cur;
    gint64 now = g_get_monotonic_time();
    m->child_source = 0;
    m->alive = FALSE;
    __cancel(sup, &m->watchdog_timer);
    /* Everything the process wrote is in the pipe by now; whatever else of its group still
     * holds the pipe open is a stray, killed here. */
    if (m->fd >= 0)
        (void)__read_progress(m);
    __close_progress(m);
    __signal_member(m, SIGKILL);

    HarnessInstanceEnd end;
    int exit_status = -1, exit_signal = 0;
    if (WIFEXITED(wait_status)) {
        exit_status = WEXITSTATUS(wait_status);
        end = exit_status == 0             ? HARNESS_END_COMPLETED
              : exit_status == EXIT_NOTICE ? HARNESS_END_STOPPED
                                           : HARNESS_END_FAILED;
    } else {
        exit_signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
        end = m->killed ? HARNESS_END_KILLED : HARNESS_END_SIGNALED;
    }
    if (sup->aborted)
        end = HARNESS_END_ABORTED;

    /* The member's latest process: final unless it is restarted (and still final if the
     * instance is reclaimed before the restart). */
    HarnessInstanceRecord *r = __mrec(m);
    r->exited_us = __rel(sup, now);
    r->exit_status = exit_status;
    r->exit_signal = exit_signal;
    r->end = end;
    r->saved_step = sup->saved[m->rank];
    if (c->n > 1 && end != HARNESS_END_COMPLETED && !sup->aborted && !c->tearing_down)
        __teardown(sup, now);
    if (!__any_alive(sup))
        __all_exited(sup, now);
}

typedef struct {
    pid_t parent;
    gboolean no_core;
} ChildSetup;

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void
__child_setup(gpointer user_data)
{
    const ChildSetup *setup = user_data;
    (void)setpgid(0, 0);
    /* The supervisor stands for the cloud's control plane, which does not share the guest's
     * processors: workloads run below it (nice 10) so that a saturated machine delays their
     * steps, not the notices and kills scheduled for them. A plain system call. */
    (void)setpriority(PRIO_PROCESS, 0, 10);
    if (setup->no_core) {
        /* An injected crash must not leave a core file behind. */
        struct rlimit none = {0, 0};
        (void)setrlimit(RLIMIT_CORE, &none);
    }
#ifdef __linux__
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The parent may have died before the prctl: then nobody would kill us. */
    if (getppid() != setup->parent)
        _exit(127);
#endif
}

static char *
__substitute(const char *arg, HarnessImdsCloud cloud, guint index, guint rank,
             const char *checkpoint_dir)
{
    GString *s = g_string_new(arg);
    g_autofree char *n = g_strdup_printf("%u", index);
    g_autofree char *r = g_strdup_printf("%u", rank);
    g_string_replace(s, "{cloud}", harness_imds_cloud_name(cloud), 0);
    g_string_replace(s, "{instance}", n, 0);
    g_string_replace(s, "{rank}", r, 0);
    if (checkpoint_dir != NULL)
        g_string_replace(s, "{checkpoint_dir}", checkpoint_dir, 0);
    return g_string_free(s, FALSE);
}

/* Adds what the storage-fault library reads (storage-fault.c) to @envp, and the library to its
 * LD_PRELOAD, after what is already there. */
static char **
__storage_environ(char **envp, const char *lib, const HarnessInstanceSpec *spec, const char *dir)
{
    const char *preload = g_environ_getenv(envp, "LD_PRELOAD");
    g_autofree char *list = preload != NULL && preload[0] != '\0'
                                ? g_strconcat(preload, ":", lib, NULL)
                                : g_strdup(lib);
    envp = g_environ_setenv(envp, "LD_PRELOAD", list, TRUE);
    /* A sanitized workload checks that its sanitizer's runtime is the first library loaded,
     * and aborts when a preloaded one comes before it; the storage library has no sanitizer
     * and intercepts nothing the runtime needs first. */
    const char *asan = g_environ_getenv(envp, "ASAN_OPTIONS");
    g_autofree char *asan_options = asan != NULL && asan[0] != '\0'
                                        ? g_strconcat(asan, ":verify_asan_link_order=0", NULL)
                                        : g_strdup("verify_asan_link_order=0");
    envp = g_environ_setenv(envp, "ASAN_OPTIONS", asan_options, TRUE);
    g_autofree char *bps =
        g_strdup_printf("%" G_GUINT64_FORMAT, (guint64)(spec->storage_write_mbps * 1e6 + 0.5));
    g_autofree char *delay = g_strdup_printf("%" G_GINT64_FORMAT, spec->storage_fsync_delay_us);
    g_autofree char *after = g_strdup_printf("%" G_GUINT64_FORMAT, spec->storage_fail_after_bytes);
    g_autofree char *from = g_strdup_printf("%u", MAX(1u, spec->storage_fail_from_checkpoint));
    envp = g_environ_setenv(envp, "SPOTLAB_STORAGE_FAULT_DIR", dir, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_STORAGE_WRITE_BPS", bps, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_STORAGE_FSYNC_DELAY_US", delay, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_STORAGE_FAIL",
                            harness_storage_failure_name(spec->storage_fail), TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_STORAGE_FAIL_AFTER_BYTES", after, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_STORAGE_FAIL_FROM_FILE", from, TRUE);
    return envp;
}

/* Starts the command of member @m on the current instance (its first process, or a restart). */
static gboolean
__spawn(Member *m, GError **error)
{
    HarnessSupervisor *sup = m->sup;
    Current *c = &sup->cur;
    const HarnessInstanceSpec *spec = &sup->specs[c->index];
    g_autoptr(GError) local = NULL;
    int fds[2];
    if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        int err = errno;
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_SPAWN,
                    "instance %u: progress pipe: %s", c->index, g_strerror(err));
        return FALSE;
    }

    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; sup->argv[i] != NULL; i++)
        g_ptr_array_add(
            args, __substitute(sup->argv[i], spec->cloud, c->index, m->rank, m->checkpoint_dir));
    g_ptr_array_add(args, NULL);
    g_auto(GStrv) envp = g_get_environ();
    for (guint i = 0; sup->env[i] != NULL; i++) {
        const char *eq = strchr(sup->env[i], '=');
        if (eq == NULL)
            continue;
        g_autofree char *name = g_strndup(sup->env[i], (gsize)(eq - sup->env[i]));
        envp = g_environ_setenv(envp, name, eq + 1, TRUE);
    }
    g_autofree char *endpoint = harness_imds_env_value(m->imds);
    g_autofree char *fd_text = g_strdup_printf("%d", PROGRESS_FD);
    g_autofree char *index_text = g_strdup_printf("%u", c->index);
    g_autofree char *rank_text = g_strdup_printf("%u", m->rank);
    g_autofree char *size_text = g_strdup_printf("%u", c->n);
    envp = g_environ_setenv(envp, harness_imds_env_name(spec->cloud), endpoint, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_PROGRESS_FD", fd_text, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_INSTANCE", index_text, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_CLOUD", harness_imds_cloud_name(spec->cloud), TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_GANG_RANK", rank_text, TRUE);
    envp = g_environ_setenv(envp, "SPOTLAB_GANG_SIZE", size_text, TRUE);
    if (m->checkpoint_dir != NULL)
        envp = g_environ_setenv(envp, "SPOTLAB_CHECKPOINT_DIR", m->checkpoint_dir, TRUE);
    if (harness_instance_spec_has_storage_faults(spec) && m->checkpoint_dir != NULL)
        envp = __storage_environ(envp, sup->storage_lib, spec, m->checkpoint_dir);

    ChildSetup setup = {
        .parent = getpid(),
        .no_core = spec->crash_after_us != HARNESS_TIME_NONE,
    };
    int source_fds[] = {fds[1]};
    int target_fds[] = {PROGRESS_FD};
    GPid pid = 0;
    gboolean ok = g_spawn_async_with_pipes_and_fds(
        sup->working_dir, (const char *const *)args->pdata, (const char *const *)envp,
        G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, __child_setup, &setup, -1, -1, -1,
        source_fds, target_fds, 1, &pid, NULL, NULL, NULL, &local);
    close(fds[1]);
    if (!ok) {
        close(fds[0]);
        g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_SPAWN,
                    "instance %u: cannot start %s: %s", c->index, sup->argv[0], local->message);
        return FALSE;
    }
    /* Also here, so that a signal sent before the child ran its setup reaches the group;
     * EACCES once it has exec'ed, which means it did it itself. */
    (void)setpgid(pid, pid);
    gint64 now = g_get_monotonic_time();
    m->pid = pid;
    m->alive = TRUE;
    m->killed = FALSE;
    m->fd = fds[0];
    m->pending = g_string_new(NULL);
    m->spawned = now;
    m->last_line = now;
    m->resume_step = -1;
    m->last_step = -1;
    m->checkpoint_open = -1;
    m->saved_from = m->cand_from = m->last_step_at = HARNESS_TIME_NONE;
    m->cand_step = -1;

    GSource *fd_source = g_unix_fd_source_new(m->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(fd_source, (GSourceFunc)(void (*)(void))__on_progress, m, NULL);
    m->fd_source = g_source_attach(fd_source, sup->context);
    g_source_unref(fd_source);
    GSource *child = g_child_watch_source_new(pid);
    g_source_set_callback(child, (GSourceFunc)(void (*)(void))__on_child, m, NULL);
    m->child_source = g_source_attach(child, sup->context);
    g_source_unref(child);
    if (sup->progress_timeout_us > 0)
        m->watchdog_timer = __timer_at(sup, now + sup->progress_timeout_us, __on_watchdog);
    return TRUE;
}

/* Frees what the members of the current instance hold: services, folders, the array. Their
 * processes must have ended (or be killed by the caller). */
static void
__members_free(HarnessSupervisor *sup)
{
    Current *c = &sup->cur;
    for (guint i = 0; i < c->n; i++) {
        Member *m = &c->m[i];
        __close_progress(m);
        g_clear_pointer(&m->imds, harness_imds_free);
        if (m->checkpoint_own)
            spotlab_remove_tree(m->checkpoint_dir);
        m->checkpoint_own = FALSE;
        g_clear_pointer(&m->checkpoint_dir, g_free);
    }
    g_clear_pointer(&c->m, g_free);
    c->n = 0;
}

/* Kills the members' processes that run and reaps them, blocking (their watches go away). */
static void
__members_kill(HarnessSupervisor *sup)
{
    Current *c = &sup->cur;
    for (guint i = 0; i < c->n; i++) {
        Member *m = &c->m[i];
        __cancel(sup, &m->child_source);
        if (!m->alive)
            continue;
        __signal_member(m, SIGKILL);
        /* GLib may have reaped it already (ECHILD), which is as good. */
        int status;
        while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR)
            ;
        m->alive = FALSE;
        if (c->active)
            __mrec(m)->end = HARNESS_END_ABORTED;
    }
}

static gboolean
__start_instance(HarnessSupervisor *sup, guint index, gint64 scheduled, GError **error)
{
    const HarnessInstanceSpec *spec = &sup->specs[index];
    Current *c = &sup->cur;
    /* The last instance's members are gone: what they held goes now. */
    __members_free(sup);
    *c = (Current){
        .index = index,
        .m = g_new0(Member, sup->gang),
        .n = sup->gang,
        .lost = spec->reclaimed_rank,
        .interruption = -1,
        .failure = -1,
        .restart_of = -1,
    };
    for (guint i = 0; i < c->n; i++) {
        Member *m = &c->m[i];
        m->sup = sup;
        m->rank = i;
        m->fd = -1;
        g_autofree char *vm_name = c->n == 1 ? g_strdup_printf("spotlab-vm-%u", index)
                                             : g_strdup_printf("spotlab-vm-%u-rank-%u", index, i);
        HarnessImdsOptions options = {.cloud = spec->cloud, .instance_name = vm_name};
        g_autoptr(HarnessImds) imds = harness_imds_new(&options, sup->context);
        g_autoptr(GError) local = NULL;
        if (!harness_imds_listen(imds, 0, &local)) {
            g_set_error(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_IMDS,
                        "instance %u: %s metadata service: %s", index,
                        harness_imds_cloud_name(spec->cloud), local->message);
            __members_free(sup);
            return FALSE;
        }
        /* A slow or failing service, from the instance's start. */
        if (spec->imds_delay_ms > 0)
            harness_imds_set_delay(imds, spec->imds_delay_ms);
        if (spec->imds_fail_count > 0)
            harness_imds_fail_next(imds, spec->imds_fail_status, spec->imds_fail_count);
        m->imds = g_steal_pointer(&imds);
        if (!__instance_storage(sup, index, i, &m->checkpoint_dir, &m->checkpoint_own, error)) {
            __members_free(sup);
            return FALSE;
        }
    }
    for (guint i = 0; i < c->n; i++) {
        if (!__spawn(&c->m[i], error)) {
            __members_kill(sup);
            __members_free(sup);
            return FALSE;
        }
    }
    gint64 now = c->m[0].spawned;
    c->active = TRUE;
    c->started = now;
    if (sup->checkpoint_local)
        __saved_clear(sup); /* fresh disks */

    HarnessInstanceRecord r = {
        .index = index,
        .cloud = spec->cloud,
        .pid = __lost(sup)->pid,
        .started_us = __rel(sup, now),
        .exited_us = HARNESS_TIME_NONE,
        .ended_us = HARNESS_TIME_NONE,
        .exit_status = -1,
        .resume_step = -1,
        .first_step = -1,
        .first_step_us = HARNESS_TIME_NONE,
        .last_step = -1,
        .price_per_hour = spec->price_per_hour,
        .checkpoint_dir = g_strdup(__lost(sup)->checkpoint_dir),
        .storage_first_fault_us = HARNESS_TIME_NONE,
        .torn_down_us = HARNESS_TIME_NONE,
        .saved_step = -1,
    };
    if (c->n > 1) {
        r.members = g_array_new(FALSE, TRUE, sizeof(HarnessInstanceRecord));
        for (guint i = 0; i < c->n; i++) {
            HarnessInstanceRecord x = r;
            x.members = NULL;
            x.rank = i;
            x.pid = c->m[i].pid;
            x.started_us = __rel(sup, c->m[i].spawned);
            x.checkpoint_dir = g_strdup(c->m[i].checkpoint_dir);
            g_array_append_val(r.members, x);
        }
    }
    g_array_append_val(sup->rec.instances, r);
    __delivered(sup, "start", scheduled, now);
    for (guint i = 0; i < sup->rec.interruptions->len; i++) {
        HarnessInterruption *p = &g_array_index(sup->rec.interruptions, HarnessInterruption, i);
        if (p->restarted_us == HARNESS_TIME_NONE)
            p->restarted_us = __rel(sup, now);
    }

    if (spec->notice_after_us != HARNESS_TIME_NONE) {
        c->due_at = now + spec->notice_after_us;
        c->notice_at = c->due_at + spec->notice_late_us;
        c->reclaim_at = c->due_at + spec->notice_lead_us;
        c->kill_at = c->reclaim_at + spec->grace_us;
        c->due_timer = __timer_at(sup, c->due_at, __on_due);
    }
    if (spec->crash_after_us != HARNESS_TIME_NONE) {
        c->crash_at = now + spec->crash_after_us;
        c->crash_timer = __timer_at(sup, c->crash_at, __on_crash);
    }
    if (spec->hang_after_us != HARNESS_TIME_NONE) {
        c->hang_at = now + spec->hang_after_us;
        c->hang_timer = __timer_at(sup, c->hang_at, __on_hang);
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
    if (sup->cur.active && __any_alive(sup)) {
        /* The child watches end the run once the processes are reaped. */
        for (guint i = 0; i < sup->cur.n; i++)
            if (sup->cur.m[i].alive)
                __signal_member(&sup->cur.m[i], SIGKILL);
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
        json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:s, s:f, s:o}", "cloud",
                              harness_imds_cloud_name(s->cloud), "notice_after",
                              __seconds(s->notice_after_us), "notice_lead",
                              __seconds(s->notice_lead_us), "grace", __seconds(s->grace_us),
                              "sigterm", harness_sigterm_policy_name(__sigterm_of(s)),
                              "price_per_hour", s->price_per_hour, "start_delay", __seconds(delay));
        /* The faults, every one, so that a record says what was injected. */
        json_object_set_new(o, "notice_missed", json_boolean(s->notice_missed));
        json_object_set_new(o, "notice_late", __seconds(s->notice_late_us));
        json_object_set_new(o, "notice_duplicate", __seconds(s->notice_duplicate_us));
        json_object_set_new(
            o, "imds",
            json_pack("{s:o, s:o, s:i}", "delay", __seconds((gint64)s->imds_delay_ms * 1000),
                      "fail_status",
                      s->imds_fail_count > 0 ? json_integer(s->imds_fail_status) : json_null(),
                      "fail_count", (int)s->imds_fail_count));
        json_object_set_new(o, "crash_after", __seconds(s->crash_after_us));
        json_object_set_new(o, "hang_after", __seconds(s->hang_after_us));
        json_object_set_new(o, "reclaim_at_checkpoint",
                            s->reclaim_at_checkpoint > 0 ? json_integer(s->reclaim_at_checkpoint)
                                                         : json_null());
        json_object_set_new(o, "reclaim_checkpoint_delay",
                            __seconds(s->reclaim_checkpoint_delay_us));
        gboolean fails = s->storage_fail != HARNESS_STORAGE_FAIL_NONE;
        json_object_set_new(
            o, "storage",
            json_pack(
                "{s:o, s:o, s:o, s:o, s:o}", "write_mbps",
                s->storage_write_mbps > 0 ? json_real(s->storage_write_mbps) : json_null(),
                "fsync_delay",
                s->storage_fsync_delay_us > 0 ? __seconds(s->storage_fsync_delay_us) : json_null(),
                "fail",
                fails ? json_string(harness_storage_failure_name(s->storage_fail)) : json_null(),
                "fail_after_bytes",
                fails ? json_integer((json_int_t)s->storage_fail_after_bytes) : json_null(),
                "fail_from_checkpoint",
                fails ? json_integer(MAX(1u, s->storage_fail_from_checkpoint)) : json_null()));
        if (sup->gang > 1)
            json_object_set_new(o, "reclaimed_rank", json_integer(s->reclaimed_rank));
        json_array_append_new(list, o);
    }
    json_t *schedule =
        json_pack("{s:o, s:o, s:o, s:o, s:s}", "instances", list, "restart_delay",
                  __seconds(sup->restart_delay_us), "progress_timeout",
                  sup->progress_timeout_us > 0 ? __seconds(sup->progress_timeout_us) : json_null(),
                  "checkpoint_dir",
                  sup->checkpoint_dir != NULL ? json_string(sup->checkpoint_dir) : json_null(),
                  "checkpoint_storage", sup->checkpoint_local ? "local" : "remote");
    if (sup->gang > 1)
        json_object_set_new(schedule, "gang",
                            json_pack("{s:i, s:o}", "size", (int)sup->gang, "teardown",
                                      __seconds(sup->gang_teardown_us)));
    return schedule;
}

/* An instance, or a gang's member. */
static json_t *
__instance_json(const HarnessInstanceRecord *r)
{
    gint64 wall =
        r->ended_us != HARNESS_TIME_NONE ? r->ended_us - r->started_us : HARNESS_TIME_NONE;
    json_t *o = json_pack(
        "{s:i, s:s, s:i, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:f}",
        "index", (int)r->index, "cloud", harness_imds_cloud_name(r->cloud), "pid", (int)r->pid,
        "started", __seconds(r->started_us), "exited", __seconds(r->exited_us), "ended",
        __seconds(r->ended_us), "wall_seconds", __seconds(wall), "end",
        harness_instance_end_name(r->end), "exit_status",
        r->exit_status >= 0 ? json_integer(r->exit_status) : json_null(), "exit_signal",
        r->exit_signal > 0 ? json_integer(r->exit_signal) : json_null(), "exit_reason",
        r->exit_reason ? json_string(r->exit_reason) : json_null(), "resume_step",
        __step(r->resume_step), "first_step", __step(r->first_step), "last_step",
        __step(r->last_step), "lines", (int)r->lines, "bad_lines", (int)r->bad_lines, "cost",
        r->cost);
    json_object_set_new(o, "restarts", json_integer(r->restarts));
    json_object_set_new(o, "checkpoint_dir",
                        r->checkpoint_dir != NULL ? json_string(r->checkpoint_dir) : json_null());
    json_object_set_new(o, "imds",
                        json_pack("{s:i, s:i, s:i}", "requests", (int)r->imds_requests,
                                  "faults_injected", (int)r->imds_faults_injected,
                                  "notices_fetched", (int)r->imds_notices_fetched));
    json_object_set_new(o, "storage",
                        json_pack("{s:i, s:o}", "faults_injected", (int)r->storage_faults,
                                  "first_fault", __seconds(r->storage_first_fault_us)));
    return o;
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
        json_t *o = __instance_json(r);
        if (r->members != NULL) {
            json_t *members = json_array();
            for (guint k = 0; k < r->members->len; k++) {
                const HarnessInstanceRecord *x =
                    &g_array_index(r->members, HarnessInstanceRecord, k);
                json_t *mo = __instance_json(x);
                json_object_del(mo, "index");
                json_object_set_new(mo, "rank", json_integer(x->rank));
                json_object_set_new(mo, "torn_down", __seconds(x->torn_down_us));
                json_object_set_new(mo, "saved_step", __step(x->saved_step));
                json_array_append_new(members, mo);
            }
            json_object_set_new(o, "gang", json_integer(r->members->len));
            json_object_set_new(o, "reclaimed_rank",
                                json_integer(sup->specs[r->index].reclaimed_rank));
            json_object_set_new(o, "members", members);
        }
        json_array_append_new(instances, o);
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
        json_object_set_new(o, "lost_seconds", __seconds(in->lost_us));
        json_object_set_new(o, "restarted", __seconds(in->restarted_us));
        json_object_set_new(o, "recovered", __seconds(in->recovered_us));
        json_object_set_new(o, "recovery_seconds", __seconds(recovery));
        json_object_set_new(o, "reclaim_cause", json_string(__reclaim_cause_name(in->cause)));
        json_object_set_new(o, "notice_due", __seconds(in->notice_due_us));
        json_object_set_new(o, "notice_missed", json_boolean(in->notice_missed));
        json_object_set_new(o, "notice_duplicate", __seconds(in->notice_duplicate_us));
        json_object_set_new(o, "reactions", json_integer(in->reactions));
        json_object_set_new(o, "emergency_checkpoints", json_integer(in->emergency_checkpoints));
        json_object_set_new(o, "checkpoint_torn", json_boolean(in->torn_step >= 0));
        json_object_set_new(o, "torn_step", __step(in->torn_step));
        if (in->gang > 1) {
            json_object_set_new(o, "gang", json_integer(in->gang));
            json_object_set_new(o, "rank", json_integer(in->rank));
            json_object_set_new(o, "teardown", __seconds(in->teardown_us));
        }
        json_array_append_new(interruptions, o);
    }

    json_t *failures = json_array();
    gint64 failure_lost = 0;
    for (guint i = 0; i < rec->failures->len; i++) {
        const HarnessFailure *f = &g_array_index(rec->failures, HarnessFailure, i);
        gint64 recovery = f->recovered_us != HARNESS_TIME_NONE && f->detected_us >= 0
                              ? f->recovered_us - f->detected_us
                              : HARNESS_TIME_NONE;
        failure_lost += MAX(0, f->steps_lost);
        json_t *o = json_pack(
            "{s:i, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "instance", (int)f->instance, "kind",
            __failure_kind_name(f->kind), "pid", (int)f->pid, "injected", __seconds(f->injected_us),
            "last_line", __seconds(f->last_line_us), "detected", __seconds(f->detected_us),
            "exited", __seconds(f->exited_us), "exit_status",
            f->exit_status >= 0 ? json_integer(f->exit_status) : json_null(), "exit_signal",
            f->exit_signal > 0 ? json_integer(f->exit_signal) : json_null());
        json_object_set_new(o, "last_step", __step(f->last_step));
        json_object_set_new(o, "saved_step", __step(f->saved_step));
        json_object_set_new(o, "steps_lost", __step(f->steps_lost));
        json_object_set_new(o, "checkpoint_torn", json_boolean(f->torn_step >= 0));
        json_object_set_new(o, "torn_step", __step(f->torn_step));
        json_object_set_new(o, "restarted", __seconds(f->restarted_us));
        json_object_set_new(o, "resume_step", __step(f->resume_step));
        json_object_set_new(o, "recovered", __seconds(f->recovered_us));
        json_object_set_new(o, "recovery_seconds", __seconds(recovery));
        json_array_append_new(failures, o);
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

    gint64 lost = failure_lost;
    guint restarts = 0;
    for (guint i = 0; i < rec->interruptions->len; i++)
        lost += MAX(0, g_array_index(rec->interruptions, HarnessInterruption, i).steps_lost);
    for (guint i = 0; i < rec->instances->len; i++)
        restarts += g_array_index(rec->instances, HarnessInstanceRecord, i).restarts;
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:b, s:o, s:o, s:o, s:i, s:i, s:i, s:f, s:o, s:o, s:o, s:o, s:o}", "kind",
        "spotlab-testbed-record", "version", 1, "outcome", harness_run_outcome_name(rec->outcome),
        "finished", rec->outcome == HARNESS_RUN_FINISHED, "wall_seconds", __seconds(rec->wall_us),
        "final_step", __step(rec->final_step), "total_steps", __step(rec->total_steps),
        "instances_used", (int)rec->instances->len, "failed_runs", (int)rec->failed_runs,
        "steps_lost", (int)lost, "cost", rec->cost, "command", command, "schedule",
        __schedule_json(sup), "instances", instances, "interruptions", interruptions, "deliveries",
        deliveries);
    json_object_set_new(root, "restarts", json_integer(restarts));
    json_object_set_new(root, "failures", failures);
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
    if (sup->context != NULL) {
        /* Mid-run: nobody may outlive us. The processes are reaped here, since their watches
         * go away with us. */
        __cancel_timers(sup);
        __members_kill(sup);
    }
    /* The processes are gone: their local disks go, and so does every folder made for disks. */
    __members_free(sup);
    __remove_local_root(sup);
    for (guint i = 0; i < sup->rec.instances->len; i++) {
        HarnessInstanceRecord *r = &g_array_index(sup->rec.instances, HarnessInstanceRecord, i);
        g_free(r->exit_reason);
        g_free(r->checkpoint_dir);
        for (guint k = 0; r->members != NULL && k < r->members->len; k++) {
            HarnessInstanceRecord *x = &g_array_index(r->members, HarnessInstanceRecord, k);
            g_free(x->exit_reason);
            g_free(x->checkpoint_dir);
        }
        if (r->members != NULL)
            g_array_unref(r->members);
    }
    for (guint i = 0; i < sup->rec.interruptions->len; i++)
        g_free(g_array_index(sup->rec.interruptions, HarnessInterruption, i).reaction_source);
    g_array_unref(sup->rec.instances);
    g_array_unref(sup->rec.interruptions);
    g_array_unref(sup->rec.deliveries);
    g_array_unref(sup->rec.failures);
    g_clear_error(&sup->run_error);
    if (sup->context != NULL)
        g_main_context_unref(sup->context);
    g_strfreev(sup->argv);
    g_strfreev(sup->env);
    g_free(sup->working_dir);
    g_free(sup->checkpoint_dir);
    g_free(sup->storage_lib);
    g_free(sup->specs);
    g_free(sup->saved);
    for (guint i = 0; sup->saved_steps != NULL && i < sup->gang; i++)
        g_array_unref(sup->saved_steps[i]);
    g_free(sup->saved_steps);
    g_free(sup);
}
