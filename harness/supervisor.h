/* spotlab harness: the supervisor, which runs one job across a schedule of simulated spot
 * instances and measures how it survived their reclaims (docs/testbed.md).
 *
 * A job is a workload command. Each instance of the schedule runs it once, as a fresh process
 * in a process group of its own, beside a fresh emulated metadata service of the instance's
 * cloud (imds.h) on loopback. The supervisor delivers the cloud's termination notice as that
 * cloud does:
 * - at T_notice the metadata service shows the notice (harness_imds_notify) with the reclaim
 *   time T_reclaim = T_notice + lead; Google also powers the VM off softly (ACPI), which the
 *   guest turns into SIGTERM for every process: SIGTERM to the group at T_notice;
 * - AWS and Azure send nothing to the processes before T_reclaim, when the OS is shut down:
 *   SIGTERM to the group at T_reclaim;
 * - at T_reclaim + grace the machine is gone: SIGKILL to the group.
 * The workload's progress lines (docs/progress-protocol.md), read from a pipe named by
 * SPOTLAB_PROGRESS_FD, and the supervisor's own monotonic clock give the measurements: when the
 * notice was seen, whether the emergency checkpoint finished before the kill, steps lost, when
 * the job recovered on the next instance.
 *
 * The job ends when a process exits 0 (finished), or when the instances run out (not
 * finished). A process that exits 75, or dies by a signal, goes on on the next instance; one
 * that exits with another status is a failed run, recorded, and the job also goes on.
 *
 * Faults (docs/testbed.md, "Fault catalogue"), each per instance in HarnessInstanceSpec and
 * each real: a notice missed, late or delivered twice; a slow or failing metadata service; a
 * crash (SIGSEGV to the leader) or a hang (SIGSTOP to the group), after which the command is
 * restarted on the same instance, as an orchestrator's restart policy does; a reclaim without
 * notice in the middle of a checkpoint write (SIGKILL); checkpoint storage that is slow or
 * fails (ENOSPC, EIO), injected into the workload's own system calls by a preloaded library
 * (storage-fault.c) within its checkpoint folder only; and, in the configuration, local
 * checkpoint storage lost with each instance and a progress timeout that declares a silent
 * process hung. Every fault is measured in the record.
 *
 * No process outlives the supervisor: the group is killed (SIGKILL) when its leader exits, on
 * harness_supervisor_abort(), and in harness_supervisor_free(); every child is reaped; on Linux
 * the children also get PR_SET_PDEATHSIG, so that a supervisor killed by SIGKILL takes its
 * children with it (the group's leader dies, what it started itself is its own business).
 *
 * Times: scheduled with millisecond timers on the GMainContext, measured with
 * g_get_monotonic_time(); each delivery records how late it came against its schedule. In the
 * record every time is in microseconds since the run's start, HARNESS_TIME_NONE when the event
 * did not happen.
 *
 * Threads and ownership: a HarnessSupervisor lives on the thread that iterates its context (the
 * context must be that thread's thread-default, as imds.h requires). The caller owns it and
 * frees it with harness_supervisor_free(); the record it returns is borrowed from it.
 */
#pragma once

#include "imds.h"

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define HARNESS_SUPERVISOR_ERROR (harness_supervisor_error_quark())
GQuark harness_supervisor_error_quark(void);

typedef enum {
    HARNESS_SUPERVISOR_ERROR_INVALID, /* a configuration that cannot run */
    HARNESS_SUPERVISOR_ERROR_SPAWN,   /* the workload could not be started */
    HARNESS_SUPERVISOR_ERROR_IMDS,    /* a metadata service could not listen */
    HARNESS_SUPERVISOR_ERROR_ABORTED, /* harness_supervisor_abort() ended the run */
    HARNESS_SUPERVISOR_ERROR_STORAGE, /* an instance's local checkpoint folder */
} HarnessSupervisorError;

/* A time that did not happen, and a setting left to the cloud's default. */
#define HARNESS_TIME_NONE (-1)
#define HARNESS_DEFAULT   (-1)

/* When the processes get SIGTERM. */
typedef enum {
    HARNESS_SIGTERM_DEFAULT,   /* the cloud's way: Google at the notice, AWS and Azure at reclaim */
    HARNESS_SIGTERM_AT_NOTICE, /* with the metadata notice (Google's ACPI soft-off) */
    HARNESS_SIGTERM_AT_RECLAIM, /* when the OS is shut down at the reclaim (AWS, Azure) */
    HARNESS_SIGTERM_NEVER,      /* straight to SIGKILL at reclaim + grace */
} HarnessSigtermPolicy;

/* How checkpoint storage fails (storage-fault.c). */
typedef enum {
    HARNESS_STORAGE_FAIL_NONE,
    HARNESS_STORAGE_FAIL_ENOSPC,    /* writes (and renames into the folder) fail: ENOSPC */
    HARNESS_STORAGE_FAIL_EIO,       /* the same with EIO */
    HARNESS_STORAGE_FAIL_FSYNC_EIO, /* writes succeed, fsync and fdatasync fail: EIO */
} HarnessStorageFailure;

/* "none", "enospc", "eio", "fsync-eio"; FALSE for anything else. */
gboolean harness_storage_failure_parse(const char *text, HarnessStorageFailure *failure);
const char *harness_storage_failure_name(HarnessStorageFailure failure);

/* One simulated instance. Fill with harness_instance_spec_init(), then change what differs. */
typedef struct {
    HarnessImdsCloud cloud;
    gint64 notice_after_us; /* from the process's start to the notice; HARNESS_TIME_NONE: no
                               notice, the instance runs until the workload exits */
    gint64 notice_lead_us;  /* notice to reclaim; HARNESS_DEFAULT: 120 s AWS, 30 s Google, Azure */
    gint64 grace_us;        /* reclaim to SIGKILL; HARNESS_DEFAULT: the cloud's (see
                               harness_cloud_default_grace_us) */
    HarnessSigtermPolicy sigterm;
    double price_per_hour; /* USD per hour of this instance; 0: no cost recorded */
    gint64 start_delay_us; /* from the previous instance's end (the run's start for the first)
                              to this one's start; HARNESS_DEFAULT: the schedule's restart delay
                              (0 for the first) */

    /* Faults (docs/testbed.md, "Fault catalogue"); harness_instance_spec_init() sets none. */
    gboolean notice_missed;     /* the notice never comes: no metadata notice, no SIGTERM at the
                                   notice; the reclaim comes as scheduled */
    gint64 notice_late_us;      /* the notice comes this long after its time (>= 0); the reclaim
                                   does not move; a notice due at or after the reclaim is missed */
    gint64 notice_duplicate_us; /* the notice is delivered again this long after the first
                                   (before the reclaim): Google a second SIGTERM, Azure a second
                                   Preempt event, AWS the same instance-action again;
                                   HARNESS_TIME_NONE: once */
    guint imds_delay_ms;        /* the metadata service answers this late (0: at once) */
    guint imds_fail_status;     /* its first imds_fail_count requests are answered with this HTTP
                                   status (400..599) */
    guint imds_fail_count;
    gint64 crash_after_us;       /* SIGSEGV to the workload's leader this long after the instance's
                                    start; HARNESS_TIME_NONE: none */
    gint64 hang_after_us;        /* SIGSTOP to the workload's group this long after the instance's
                                    start; HARNESS_TIME_NONE: none */
    guint reclaim_at_checkpoint; /* a reclaim without notice (SIGKILL to the group) when the
                                    workload reports its Nth checkpoint_start on this instance
                                    (1, 2, ...), reclaim_checkpoint_delay_us later; 0: none */
    gint64 reclaim_checkpoint_delay_us; /* >= 0 */
    /* Checkpoint storage that is slow or fails, in the instance's checkpoint folder only (the
     * configuration must name one): the workload's processes get the storage-fault library in
     * LD_PRELOAD. Counts are per process, from its start. */
    double storage_write_mbps;     /* write bandwidth cap in MB/s (10^6 bytes); 0: full speed */
    gint64 storage_fsync_delay_us; /* added before each fsync/fdatasync there (>= 0) */
    HarnessStorageFailure storage_fail;
    guint64 storage_fail_after_bytes;   /* the failure begins once the process has written this
                                           many bytes there; the write that crosses it is cut
                                           short (0: at once) */
    guint storage_fail_from_checkpoint; /* the failure hits only the Nth file (1, 2, ...) the
                                           process opens for writing there and later ones: a
                                           writer of one file per checkpoint fails from its Nth
                                           checkpoint on (0: from the first) */

    /* A gang (HarnessSupervisorConfig.gang > 1): the rank whose instance gets the notice, the
     * reclaim and reclaim_at_checkpoint (0, 1, ... < gang); the others run on until the
     * supervisor, as the gang's agent, tears them down. */
    guint reclaimed_rank;
} HarnessInstanceSpec;

/* Sets @spec to @cloud with no notice, no fault and every default. */
void harness_instance_spec_init(HarnessInstanceSpec *spec, HarnessImdsCloud cloud);

/* The clouds' defaults: notice lead (AWS 120 s, Google 30 s, Azure 30 s); grace after the
 * reclaim before the hard power-off (AWS 5 s and Azure 5 s: the OS shutdown that SIGTERM
 * starts; Google 0 s: the soft-off came at the notice, the reclaim is the hard off); SIGTERM at
 * the notice for Google, at reclaim for AWS and Azure. */
gint64 harness_cloud_default_lead_us(HarnessImdsCloud cloud);
gint64 harness_cloud_default_grace_us(HarnessImdsCloud cloud);
HarnessSigtermPolicy harness_cloud_default_sigterm(HarnessImdsCloud cloud);

/* "default", "notice", "reclaim", "never"; FALSE for anything else. */
gboolean harness_sigterm_policy_parse(const char *text, HarnessSigtermPolicy *policy);
const char *harness_sigterm_policy_name(HarnessSigtermPolicy policy);

/* Whether @spec has a storage fault (slow writes, slow fsyncs or a failure). */
gboolean harness_instance_spec_has_storage_faults(const HarnessInstanceSpec *spec);

/**
 * harness_storage_fault_library:
 * Returns: (transfer full): the path of libspotlab-storage-fault.so that the supervisor
 * preloads for storage faults: $SPOTLAB_STORAGE_FAULT_LIB when set; else the one of this build
 * folder when the running program is in it (a test, build/src/spotlab); else the installed one
 * (LIBDIR/spotlab). NULL where there is none (not Linux). The file may be missing.
 */
char *harness_storage_fault_library(void);

typedef struct {
    const HarnessInstanceSpec *instances; /* borrowed; copied by harness_supervisor_new() */
    guint n_instances;                    /* >= 1 */
    gint64 restart_delay_us;              /* from an instance's end to the next start (>= 0) */
} HarnessSchedule;

typedef struct {
    /* The workload command, NULL-terminated (copied). argv[0] is looked up in PATH. "{cloud}"
     * (aws, gcp or azure) and "{instance}" (0, 1, ...) are replaced in every argument. It is
     * run directly (g_spawn), never through a shell. */
    const char *const *argv;
    const char *working_dir; /* NULL: the supervisor's own */
    const char *const *env;  /* extra "NAME=VALUE" for the workload, or NULL (copied) */
    HarnessSchedule schedule;
    /* A process that writes no progress line for this long is declared hung: SIGKILL to its
     * group, then the command is restarted on the same instance. 0: never. */
    gint64 progress_timeout_us;
    /* Checkpoint storage. "{checkpoint_dir}" in the arguments and SPOTLAB_CHECKPOINT_DIR in the
     * workload's environment name the folder: with checkpoint_local FALSE, checkpoint_dir itself
     * (remote storage, kept from one instance to the next; NULL: neither is set, and
     * "{checkpoint_dir}" is refused); with TRUE, a fresh folder per instance, its local disk,
     * deleted when the instance ends: checkpoint_dir/instance-N, or a folder of the
     * supervisor's own under g_get_tmp_dir() when checkpoint_dir is NULL (deleted at the end).
     * A relative checkpoint_dir is taken from working_dir (or the current folder). */
    const char *checkpoint_dir;
    gboolean checkpoint_local;
    /* A gang job: this many processes (ranks) per instance of the schedule (0 and 1: one),
     * each on its own simulated instance with its own metadata service and process group,
     * "{rank}" in the arguments and SPOTLAB_GANG_RANK / SPOTLAB_GANG_SIZE in its environment,
     * and its own checkpoint folder: checkpoint_dir/rank-R (remote), or a local disk of its
     * own. The schedule's notice and reclaim hit one rank (reclaimed_rank); when a rank ends
     * without finishing, the supervisor stops the others as a gang's agent (torchrun) does:
     * SIGTERM to their groups, SIGKILL gang_teardown_us later. The job goes on on the next
     * instance (set) from the newest step every rank saved. Crash, hang and progress-timeout
     * faults are refused with a gang. */
    guint gang;
    gint64 gang_teardown_us; /* HARNESS_DEFAULT: 30 s (torchrun's) */
} HarnessSupervisorConfig;

typedef enum {
    HARNESS_RUN_RUNNING,      /* not ended yet */
    HARNESS_RUN_FINISHED,     /* a workload process exited 0 */
    HARNESS_RUN_NOT_FINISHED, /* the instances ran out first */
    HARNESS_RUN_ABORTED,      /* harness_supervisor_abort() */
    HARNESS_RUN_ERROR,        /* a workload could not be started, or a service could not listen */
} HarnessRunOutcome;

/* How an instance's process ended. */
typedef enum {
    HARNESS_END_NONE,      /* not started, or still running */
    HARNESS_END_COMPLETED, /* exit 0: the job is done */
    HARNESS_END_STOPPED,   /* exit 75: stopped for a notice, resumable */
    HARNESS_END_KILLED,    /* SIGKILLed by the supervisor at reclaim + grace */
    HARNESS_END_SIGNALED,  /* died by another signal (its own SIGTERM handling, a crash) */
    HARNESS_END_FAILED,    /* another exit status */
    HARNESS_END_ABORTED,   /* killed by harness_supervisor_abort() or _free() */
} HarnessInstanceEnd;

typedef struct {
    guint index;
    HarnessImdsCloud cloud;
    guint rank;        /* a gang's member record: its rank; else 0 */
    int pid;           /* also the process group; 0 when it never started. With restarts,
                          pid, exited, end and exit_* are the latest process's */
    gint64 started_us; /* the instance's (first) process started (spawned) */
    gint64 exited_us;  /* the process was seen to end */
    gint64 ended_us;   /* the instance ended: at its reclaim if its notice came due, else at
                          its process's exit */
    HarnessInstanceEnd end;
    int exit_status;    /* when it exited: its status; else -1 */
    int exit_signal;    /* when a signal ended it: the signal; else 0 */
    char *exit_reason;  /* the "reason" of its exit line, or NULL */
    gint64 resume_step; /* the step its first process resumed from; -1 when it did not say */
    gint64 first_step;  /* first and last step lines; -1 when none */
    gint64 last_step;
    gint64 first_step_us;      /* its first step line arrived (NONE: none) */
    double step_seconds_sum;   /* the steps' own "step_seconds", added up */
    guint64 steps_timed;       /* and how many there were */
    guint checkpoints;         /* checkpoints reported complete (ok) */
    double checkpoint_seconds; /* their "seconds", added up */
    guint lines;               /* progress lines read */
    guint bad_lines;           /* lines that were not JSON objects */
    double price_per_hour;
    double cost;          /* price_per_hour * (ended - started) */
    guint restarts;       /* the command was started again on this instance after a failure */
    char *checkpoint_dir; /* the folder "{checkpoint_dir}" named, or NULL */
    /* The metadata service's counters when the instance ended (HarnessImdsStats). */
    guint imds_requests;
    guint imds_faults_injected;
    guint imds_notices_fetched;
    /* Storage failures injected (the library's "storage_fault" lines, one per file), every
     * process of the instance; and when the first was reported (NONE: none). */
    guint storage_faults;
    gint64 storage_first_fault_us;
    /* A gang: one record like this per rank (HarnessInstanceRecord, members NULL), and the
     * instance's own fields sum them up: pid, exited, end, exit_* and checkpoint_dir are the
     * reclaimed rank's; resume, first and last step the lowest of the ranks' (a synchronous job
     * is as far as its slowest rank); counts and costs added up. NULL for a single process. */
    GArray *members;
    gint64 torn_down_us; /* a gang's member: the teardown's SIGTERM reached it; else NONE */
    gint64 saved_step;   /* a gang's member: the newest checkpoint of its rank at its end */
} HarnessInstanceRecord;

/* What ended an instance by a reclaim. */
typedef enum {
    HARNESS_RECLAIM_SCHEDULED,     /* notice_after + notice_lead, notice or not */
    HARNESS_RECLAIM_AT_CHECKPOINT, /* reclaim_at_checkpoint: SIGKILL during a checkpoint */
} HarnessReclaimCause;

/* One per instance whose notice came due (delivered, late or missed), or that was reclaimed at
 * a checkpoint. */
typedef struct {
    guint instance;
    HarnessImdsCloud cloud;
    HarnessReclaimCause cause;
    gint64 notice_due_us;   /* the notice's scheduled time (start + notice_after); NONE when none
                               was scheduled */
    gboolean notice_missed; /* it never came (notice_missed, or later than the reclaim) */
    gint64 notice_us;       /* harness_imds_notify() called; NONE when missed */
    gint64 notice_duplicate_us; /* the second delivery; NONE when none */
    gint64 sigterm_us;          /* SIGTERM sent to the group (at notice or reclaim) */
    gint64 reclaim_us;          /* the reclaim timer fired (scheduled: notice + lead) */
    gint64 reaction_us;         /* the first "notice" line arrived */
    char *reaction_source;      /* its "source": "aws", "gcp", "azure", "sigterm"...; or NULL */
    gint64 checkpoint_start_us; /* first emergency checkpoint_start after the notice */
    gint64 checkpoint_end_us;   /* its checkpoint_end */
    gboolean checkpoint_ok;     /* that end said ok */
    gint64 checkpoint_step;     /* its step; -1 when none */
    gint64 killed_us;      /* SIGKILL sent while the process lived; NONE when it exited before */
    gint64 exited_us;      /* the process was seen to end */
    gint64 step_at_notice; /* the last step reported when the notice was delivered */
    gint64 last_step;      /* the last step reported before the kill or exit */
    gint64 saved_step;     /* the newest complete checkpoint then (0: none) */
    gint64 steps_lost;     /* last_step - saved_step */
    gint64 lost_us;        /* the same in time: from when work after the saved state began on
                              this process to its last step line; NONE when the loss goes back
                              past this process (local checkpoints lost with an instance) */
    gint64 restarted_us;   /* the next instance's process started */
    gint64 recovered_us;   /* a later instance first reported a step above last_step */
    guint reactions;       /* "notice" lines on the instance after the notice */
    guint emergency_checkpoints; /* emergency checkpoint_start lines after the notice */
    gint64 torn_step; /* a checkpoint started and not ended when the process died; -1: none */
    /* A gang: the reclaimed rank (the times above are its process's), when the teardown of
     * the others began (NONE: they had ended), and last_step / saved_step are the gang's: the
     * lowest step any rank reached, the newest step every rank saved. */
    guint gang;
    guint rank;
    gint64 teardown_us;
} HarnessInterruption;

/* A crash or hang of the workload, after which it was restarted on the same instance. */
typedef enum {
    HARNESS_FAILURE_CRASH, /* crash_after: SIGSEGV to the leader */
    HARNESS_FAILURE_HANG,  /* hang_after (SIGSTOP), or a process silent for progress_timeout */
} HarnessFailureKind;

typedef struct {
    guint instance;
    HarnessFailureKind kind;
    int pid;             /* the process that failed */
    gint64 injected_us;  /* SIGSEGV (crash) or SIGSTOP (hang) sent; NONE: a hang of its own */
    gint64 last_line_us; /* its last progress line before the failure was detected */
    gint64 detected_us;  /* crash: the process was seen to end; hang: declared hung, no line for
                            progress_timeout (then SIGKILL); NONE when never detected */
    gint64 exited_us;    /* the process was seen to end */
    int exit_status;     /* -1 when a signal ended it */
    int exit_signal;     /* 0 when it exited */
    gint64 last_step;    /* the last step reported before it ended */
    gint64 saved_step;   /* the newest complete checkpoint then (0: none) */
    gint64 steps_lost;   /* last_step - saved_step */
    gint64 torn_step;    /* a checkpoint started and not ended when it died; -1: none */
    gint64 restarted_us; /* the command started again on the instance; NONE: it was not (the
                            instance was reclaimed first, or the run ended) */
    gint64 resume_step;  /* the step the restarted process resumed from; -1 when it did not say */
    gint64 recovered_us; /* a later process first reported a step above last_step */
} HarnessFailure;

/* One scheduled action and when it really happened. */
typedef struct {
    guint instance;
    const char *what; /* "start", "notice", "sigterm", "reclaim", "sigkill"; with faults also
                         "duplicate", "crash", "hang", "hung-kill", "restart"; with a gang
                         "teardown" and "teardown-kill" (static) */
    gint64 scheduled_us;
    gint64 actual_us;
} HarnessDelivery;

typedef struct {
    HarnessRunOutcome outcome;
    gint64 wall_us;        /* the run's start to its end */
    gint64 final_step;     /* the last step any instance reported; -1 when none */
    gint64 total_steps;    /* the "total_steps" of the first start line; -1 when none */
    guint failed_runs;     /* instances whose process ended HARNESS_END_FAILED */
    double cost;           /* the instances' costs */
    GArray *instances;     /* HarnessInstanceRecord, one per instance started */
    GArray *interruptions; /* HarnessInterruption */
    GArray *deliveries;    /* HarnessDelivery */
    GArray *failures;      /* HarnessFailure */
} HarnessRunRecord;

typedef struct _HarnessSupervisor HarnessSupervisor;

/**
 * harness_supervisor_new:
 * @cfg: the command and schedule (copied).
 * Returns: (transfer full): a supervisor that has started nothing, or NULL with
 * HARNESS_SUPERVISOR_ERROR_INVALID (no command, no instance, a negative time, a metadata
 * failure status outside 400..599, a hang that nothing would end (no progress timeout and no
 * notice), "{checkpoint_dir}" without a checkpoint folder, storage faults without a checkpoint
 * folder or without the storage-fault library, a storage failure's limits without a failure).
 */
HarnessSupervisor *harness_supervisor_new(const HarnessSupervisorConfig *cfg, GError **error);

/**
 * harness_supervisor_start:
 * @context: (nullable): where its timers, child watches, pipes and metadata services run; NULL:
 *   the global default context. It must be the thread-default context of the thread that
 *   iterates it.
 * Starts the first instance and returns; the run goes on as @context is iterated. Call once.
 * Returns: FALSE with HARNESS_SUPERVISOR_ERROR_SPAWN, _IMDS or _STORAGE when the first
 * instance cannot start (the record then says HARNESS_RUN_ERROR).
 */
gboolean harness_supervisor_start(HarnessSupervisor *sup, GMainContext *context, GError **error);

/**
 * harness_supervisor_run:
 * Starts the run and iterates @context (pushed as the thread-default) until it ends.
 * Returns: TRUE when the job finished or the instances ran out (see the record's outcome);
 * FALSE with HARNESS_SUPERVISOR_ERROR_ABORTED after harness_supervisor_abort(), or with
 * _SPAWN or _IMDS when an instance could not start. The record is complete in every case.
 */
gboolean harness_supervisor_run(HarnessSupervisor *sup, GMainContext *context, GError **error);

/* Whether the run has ended (any outcome). */
gboolean harness_supervisor_is_done(const HarnessSupervisor *sup);

/**
 * harness_supervisor_abort:
 * Ends the run now: SIGKILL to the running group, timers cancelled; the run ends
 * HARNESS_RUN_ABORTED once the process is reaped (on a later iteration of the context). For a
 * command's SIGINT/SIGTERM handler (g_unix_signal_add). Does nothing once the run has ended.
 */
void harness_supervisor_abort(HarnessSupervisor *sup);

/* The record so far (borrowed; valid until the supervisor is freed). */
const HarnessRunRecord *harness_supervisor_record(const HarnessSupervisor *sup);

/**
 * harness_supervisor_record_to_json:
 * Returns: (transfer full): the record as a JSON object (docs/testbed.md): the command, the
 * schedule, outcome, totals, instances, interruptions, failures and deliveries, every time in
 * seconds since the run's start (null when it did not happen).
 */
json_t *harness_supervisor_record_to_json(const HarnessSupervisor *sup);

const char *harness_run_outcome_name(HarnessRunOutcome outcome);
const char *harness_instance_end_name(HarnessInstanceEnd end);

/**
 * harness_supervisor_free:
 * Accepts NULL. Mid-run: kills the running process group with SIGKILL and reaps its leader
 * (blocking for the moment that takes), deletes the local checkpoint folders it made, then
 * frees everything. Call it on the context's thread.
 */
void harness_supervisor_free(HarnessSupervisor *sup);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HarnessSupervisor, harness_supervisor_free)

G_END_DECLS
