/* spotlab: scenario files.
 *
 * A scenario names the traces to replay, the job, the policies to compare and the start windows.
 * scenario_load() reads the file, imports every trace it names, samples each pool on its tick
 * grid and checks every window against the trace, so that a Scenario that loads can run without
 * any further input error. docs/scenarios.md documents the format field by field.
 *
 * Units: durations are strings with a unit ("43.2h", "12m", "1h30m", "720s", "2d") or plain
 * numbers of seconds; prices are "$3.06/h" or plain numbers of USD per hour; start offsets are
 * hours (start_hours), as the published runs give them.
 *
 * Ownership: a Scenario owns its traces, the sampled tick arrays and the windows.
 */
#pragma once

#include "json-source.h"
#include "cloud-model.h"
#include "tick-model.h"
#include "trace.h"

G_BEGIN_DECLS

#define SCENARIO_ERROR (scenario_error_quark())
GQuark scenario_error_quark(void);

typedef enum {
    SCENARIO_ERROR_IO,
    SCENARIO_ERROR_PARSE,
    SCENARIO_ERROR_INVALID,
} ScenarioErrorCode;

typedef struct {
    double start_hours;
    gsize start; /* trace index */
} ScenarioWindow;

/* One pool as the tick model sees it. */
typedef struct {
    const TracePool *pool; /* borrowed from Scenario.traces */
    guint threshold;       /* instances needed at once: available when capacity >= threshold */
    guint8 *avail;
    double *price;
    SimTickTrace tick;
    GArray *windows; /* ScenarioWindow */
} ScenarioPool;

typedef enum {
    SCENARIO_MODEL_TICK = 0,   /* the deadline-aware tick model (docs/model.md) */
    SCENARIO_MODEL_CONTINUOUS, /* the continuous-time cloud model (docs/cloud-model.md) */
} ScenarioModel;

/* How `spotlab testbed` runs a continuous-model scenario (its "testbed" section,
 * docs/testbed.md): the workload, which strategy and replica it replays, and the time scale. */
typedef struct {
    char **command;          /* the workload command (argv), or NULL for the built-in workload */
    char *preset;            /* built-in training workload: its preset ("tiny") */
    char **sets;             /* built-in: --set KEY=VALUE changes, NULL-terminated */
    guint strategy;          /* index into Scenario.strategies */
    guint64 replica;         /* the replica whose reclaims are replayed */
    double time_scale;       /* trace seconds per wall second (> 0) */
    gboolean scale_notices;  /* notice leads and grace periods scaled too (else real seconds) */
    double notice_poll;      /* built-in: seconds between metadata polls */
    double grace;            /* seconds from a reclaim to the hard kill, trace time when scaled;
                              * NaN: each cloud's default */
    GArray *faults;          /* TestbedFault (testbed-faults.h): the fault catalogue's faults on
                              * instances of the replayed replica, in wall time; NULL: none */
    double progress_timeout; /* wall seconds of silence that declare a process hung; 0: never */
} ScenarioTestbed;

/* Job fields of a continuous-model scenario that came from the profile its job includes
 * ("job.profile", docs/calibration.md) rather than from the scenario: Scenario.job_from_profile. */
typedef enum {
    SCENARIO_PROFILE_STEP_TIME = 1 << 0,          /* SimJob.default_step_seconds */
    SCENARIO_PROFILE_STARTUP = 1 << 1,            /* SimJob.startup */
    SCENARIO_PROFILE_CHECKPOINT_SIZE = 1 << 2,    /* SimJob.checkpoint_gb */
    SCENARIO_PROFILE_CHECKPOINT_WRITE = 1 << 3,   /* SimJob.write_gbps (fixed cost folded in) */
    SCENARIO_PROFILE_CHECKPOINT_RESTORE = 1 << 4, /* SimJob.restore_gbps (likewise) */
} ScenarioProfileField;

typedef struct {
    char *path;
    char *name;
    char *description;
    guint64 seed;
    ScenarioModel model;
    /* The tick model. */
    SimTickJob job;
    SimTickPolicy policies[SIM_TICK_N_POLICIES];
    guint n_policies;
    TraceSet *traces;
    GPtrArray *pools;     /* ScenarioPool*, owned */
    guint random_windows; /* 0 when start hours were listed */
    /* The continuous-time model: pools and job in @cloud (its traces borrowed from @traces),
     * the strategies to compare, and the on-demand baseline every saving is measured against. */
    SimModel *cloud;
    GPtrArray *strategies; /* SimStrategy*, owned */
    /* Parallel to @strategies: the name the strategy has in the file, which the variants of a
     * swept strategy share (char*, owned). Expectations naming it apply to every variant. */
    GPtrArray *strategy_groups;
    SimStrategy *baseline;
    guint replicas;
    /* What must hold (the "expect" list): Expectation* (expect.h), owned; empty when none. */
    GPtrArray *expectations;
    /* ScenarioProfileField bits: the job fields taken from the job's profile; 0 without one.
     * A profile holds real seconds of the machine it was measured on, which the simulator takes
     * as they are; a testbed that runs trace time faster than wall time scales these fields
     * (docs/calibration.md, "Time scale"). */
    guint job_from_profile;
    /* The "testbed" section of a continuous-model scenario; NULL when it has none. */
    ScenarioTestbed *testbed;
} Scenario;

/**
 * scenario_load:
 * Reads, validates and prepares the scenario in @path.
 * Returns: (transfer full): the scenario, or NULL with @error (SCENARIO_ERROR or TRACE_ERROR) whose
 * message names the file, line, column and field.
 */
Scenario *scenario_load(const char *path, GError **error);

void scenario_free(Scenario *scenario);

/* The number of runs: windows over all pools, times policies. */
gsize scenario_n_windows(const Scenario *scenario);

/**
 * scenario_parse_duration:
 * Parses "43.2h", "12m", "1h30m", "720s", "500ms", "2d" (units ms, s, m or min, h, d, w; parts
 * add up) into seconds.
 * Returns: FALSE for anything else.
 */
gboolean scenario_parse_duration(const char *text, double *seconds);

/* Parses "$3.06/h", "3.06/h", "$3.06", "$0.05/min" into USD per hour. */
gboolean scenario_parse_price(const char *text, double *usd_per_hour);

/* The index in @scenario's strategies of the one named @name (continuous model), or -1. */
int scenario_strategy_index(const Scenario *scenario, const char *name);

/**
 * scenario_testbed_rescale:
 * Sets the testbed's time scale to @time_scale, and scales the job's figures that came from a
 * calibration profile with it: a profile holds real seconds, which are @time_scale times as
 * many seconds of trace (docs/calibration.md).
 */
void scenario_testbed_rescale(Scenario *scenario, double time_scale);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Scenario, scenario_free)

G_END_DECLS
