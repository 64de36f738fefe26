/* spotlab: workload profiles, what `spotlab calibrate` measured (docs/calibration.md).
 *
 * A profile is a JSON file ("kind": "spotlab-profile", "version": 1) holding what one workload
 * costs on one machine: its step time, its startup time, and what writing and restoring its
 * checkpoints takes, as a fixed cost plus a bandwidth fitted over checkpoints of several sizes.
 * Every time in it is in real seconds of the machine it was measured on. A continuous-model
 * scenario's job includes one with "profile": "PATH" (scenario-cloud.c), and fields the job
 * states itself win over the profile's.
 *
 * Durations, sizes and bandwidths are written with the scenario units ("0.812ms", "0.525592MB",
 * "1.93GB/s"), so that a profile reads like the job it stands for, and a number there means what
 * it means in a scenario (seconds, GB, GB/s).
 */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define PROFILE_KIND    "spotlab-profile"
#define PROFILE_VERSION 1

/* What a scenario takes from a profile. */
typedef struct {
    double step_seconds;    /* > 0: the steady-state time of one step */
    double startup_seconds; /* >= 0: from the process's start to one ready to restore */
    /* The checkpoint; checkpoint_gb is 0 when the profile has none (the rest is then 0). */
    double checkpoint_gb;
    double write_gbps; /* > 0: bandwidth of the fit time = write_fixed + size / write */
    double write_fixed_seconds;
    double restore_gbps;
    double restore_fixed_seconds;
} Profile;

/**
 * profile_load:
 * Reads and checks the profile in @path into @out.
 * Returns: FALSE with @error (SCENARIO_ERROR) whose message names @path, the line, the column
 * and the field, and says what was expected.
 */
gboolean profile_load(const char *path, Profile *out, GError **error);

/**
 * profile_effective_gbps:
 * The bandwidth that moves @gb in the time of the fit, @fixed_seconds + @gb / @gbps: a fixed
 * cost folded into the bandwidth at that one size, for models that have no fixed cost.
 */
double profile_effective_gbps(double fixed_seconds, double gbps, double gb);

/* A straight line y = fixed + slope * x fitted to points. */
typedef struct {
    double fixed; /* the intercept, >= 0 */
    double slope; /* > 0 */
    guint points;
    guint sizes;           /* distinct x values */
    gboolean through_zero; /* the intercept was pinned to 0 (see profile_fit) */
    double r2;             /* coefficient of determination; NaN with one size */
} ProfileFit;

/**
 * profile_fit:
 * Fits y = fixed + slope * x to the @n points (@x, @y) by least squares. Where that cannot give
 * a fixed cost >= 0 and a slope > 0 (one size only; a negative intercept; times that do not grow
 * with the size), it fits y = slope * x through zero instead and says so in @fit.
 * Returns: FALSE when no line with a positive slope fits (no points, or every x or y is 0).
 */
gboolean profile_fit(const double *x, const double *y, gsize n, ProfileFit *fit);

/* The scenario units, as profiles are written: "0.812345ms", "12.5s"; "0.525592MB" (exact to
 * the byte); "1.93457GB/s" or "812.5MB/s". Free with g_free. */
char *profile_format_duration(double seconds);
char *profile_format_size(double bytes);
char *profile_format_bandwidth(double bytes_per_second);

G_END_DECLS
