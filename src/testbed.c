/* spotlab: `spotlab testbed SCENARIO` (testbed.h, docs/testbed.md, docs/fidelity.md). */
#include "testbed.h"

#include "commands.h"
#include "expect.h"
#include "run-cloud.h"
#include "supervisor.h"
#include "testbed-faults.h"
#include "util.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define US 1000000.0

/* ---- the plan: the simulated replica's instances ----------------------------------------- */

typedef enum {
    PLAN_RUNS_ON, /* the job was done on it (or the horizon came): no end is scheduled */
    PLAN_RECLAIM, /* reclaimed by the cloud */
    PLAN_STOP,    /* released by the strategy while the job went on: drained without a notice */
} PlanEnd;

typedef struct {
    guint number; /* the instance's number in the timeline */
    guint pool;
    SimMarket market;
    double up_h, notice_h, end_h; /* hours since the replica's start; NaN when none */
    PlanEnd end;
} PlanInstance;

/* The instances of @r's timeline in launch order; FALSE with a message when they overlap (a
 * strategy that holds two instances at once for a one-instance job). */
static gboolean
__plan(const SimReplicaResult *r, GArray *plan, double *done_h, GError **error)
{
    *done_h = NAN;
    for (guint k = 0; k < r->timeline->len; k++) {
        const SimTimelineEvent *e = &g_array_index(r->timeline, SimTimelineEvent, k);
        PlanInstance *p = NULL;
        for (guint i = 0; i < plan->len; i++)
            if (g_array_index(plan, PlanInstance, i).number == e->instance)
                p = &g_array_index(plan, PlanInstance, i);
        switch ((SimTimelineKind)e->kind) {
        case SIM_TL_UP: {
            PlanInstance n = {e->instance, e->pool, (SimMarket)e->market, e->hours,
                              NAN,         NAN,     PLAN_RUNS_ON};
            g_array_append_val(plan, n);
            break;
        }
        case SIM_TL_NOTICE:
            if (p != NULL && isnan(p->notice_h))
                p->notice_h = e->hours;
            break;
        case SIM_TL_RECLAIM:
            if (p != NULL && isnan(p->end_h)) {
                p->end_h = e->hours;
                p->end = PLAN_RECLAIM;
            }
            break;
        case SIM_TL_END:
            if (p != NULL && isnan(p->end_h)) {
                p->end_h = e->hours;
                p->end = PLAN_STOP;
            }
            break;
        case SIM_TL_DONE:
            *done_h = e->hours;
            break;
        default:
            break;
        }
    }
    for (guint i = 0; i < plan->len; i++) {
        PlanInstance *p = &g_array_index(plan, PlanInstance, i);
        /* Released because the work was done: in the testbed it runs until the job exits. */
        if (p->end == PLAN_STOP && !isnan(*done_h) && p->end_h >= *done_h)
            p->end = PLAN_RUNS_ON;
        if (i > 0) {
            const PlanInstance *q = &g_array_index(plan, PlanInstance, i - 1);
            if (q->end == PLAN_RUNS_ON || q->end_h > p->up_h) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "the strategy holds two instances at once (instance %u comes up at "
                            "%.4g h while instance %u runs); the testbed replays one instance "
                            "at a time",
                            p->number, p->up_h, q->number);
                return FALSE;
            }
        }
    }
    if (plan->len == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "the simulated replica launched no instance before its horizon");
        return FALSE;
    }
    return TRUE;
}

static HarnessImdsCloud
__imds_cloud(guint cloud)
{
    return cloud == SIM_CLOUD_GCP     ? HARNESS_IMDS_GCP
           : cloud == SIM_CLOUD_AZURE ? HARNESS_IMDS_AZURE
                                      : HARNESS_IMDS_AWS;
}

static gint64
__us(double seconds)
{
    return (gint64)llround(seconds * US);
}

/* The price of @pool's market at @h hours of the replica (trace offset @t0), per hour. */
static double
__price_at(const SimModel *m, guint pool, SimMarket market, SimTime t0, double h)
{
    SimTime a = t0 + __us(h * 3600);
    return sim_model_price_integral(m, pool, market, a, a + 3600 * (SimTime)US);
}

typedef struct {
    HarnessInstanceSpec *specs;
    guint n;
    guint notices_clamped; /* notices whose lead did not fit in the instance's life */
} Schedule;

/* The supervisor's schedule for @plan: trace hours become wall seconds divided by the scale; a
 * reclaim stays where the trace puts it, and its notice comes the notice's lead before it, in
 * real seconds unless the scenario scales leads too. */
static void
__schedule(const Scenario *sc, const ScenarioTestbed *tb, double scale, const GArray *plan,
           SimTime t0, Schedule *out)
{
    const SimModel *m = sc->cloud;
    out->n = plan->len;
    out->specs = g_new0(HarnessInstanceSpec, plan->len);
    out->notices_clamped = 0;
    double prev_end = 0; /* wall seconds */
    for (guint i = 0; i < plan->len; i++) {
        const PlanInstance *p = &g_array_index(plan, PlanInstance, i);
        const SimPool *pool = sim_model_pool(m, p->pool);
        HarnessInstanceSpec *s = &out->specs[i];
        harness_instance_spec_init(s, __imds_cloud(pool->cloud));
        double start = p->up_h * 3600 / scale;
        s->start_delay_us = __us(MAX(0.0, start - prev_end));
        /* Per hour of wall time, so that the record's own cost (price times wall time) reads
         * in trace terms too; the results bill the trace's prices exactly (__measure). */
        s->price_per_hour = __price_at(m, p->pool, p->market, t0, p->up_h) * scale;
        double grace =
            isnan(tb->grace) ? (double)harness_cloud_default_grace_us(s->cloud) / US : tb->grace;
        s->grace_us = __us(tb->scale_notices ? grace / scale : grace);
        if (p->end == PLAN_RUNS_ON)
            continue;
        double end = p->end_h * 3600 / scale;
        double life = MAX(0.0, end - start);
        if (p->end == PLAN_RECLAIM && !isnan(p->notice_h)) {
            double lead = (p->end_h - p->notice_h) * 3600;
            if (tb->scale_notices)
                lead /= scale;
            if (lead > life) {
                lead = life;
                out->notices_clamped++;
            }
            s->notice_after_us = __us(life - lead);
            s->notice_lead_us = __us(lead);
        } else {
            /* A reclaim whose notice never came, or the strategy's own stop: nothing in the
             * metadata service, SIGTERM when the machine goes down, SIGKILL after the grace. */
            s->notice_after_us = __us(life);
            s->notice_lead_us = 0;
            s->notice_missed = TRUE;
            s->sigterm = HARNESS_SIGTERM_AT_RECLAIM;
        }
        prev_end = start + life;
    }
}

/* ---- the workload's command ------------------------------------------------------------------ */

static gint
__cmp_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* The strategy's checkpoint interval in trace seconds: its own for periodic checkpoints; for
 * the schedules the simulator computes as it goes (Young/Daly, adaptive), the median spacing
 * of the replica's periodic checkpoints; 0 for none. */
static double
__checkpoint_interval(const SimStrategy *s, const SimReplicaResult *r)
{
    if (strcmp(s->checkpoint->name, "none") == 0)
        return 0;
    if (strcmp(s->checkpoint->name, "periodic") == 0)
        return (double)s->checkpoint_interval / US;
    g_autoptr(GArray) gaps = g_array_new(FALSE, FALSE, sizeof(double));
    double mark = NAN, notice = NAN;
    for (guint k = 0; k < r->timeline->len; k++) {
        const SimTimelineEvent *e = &g_array_index(r->timeline, SimTimelineEvent, k);
        if (e->kind == SIM_TL_NOTICE)
            notice = e->hours;
        else if (e->kind == SIM_TL_READY || e->kind == SIM_TL_CHECKPOINT_DONE)
            mark = e->hours;
        else if (e->kind == SIM_TL_CHECKPOINT && !isnan(mark) && e->hours != notice) {
            double gap = (e->hours - mark) * 3600;
            g_array_append_val(gaps, gap);
            mark = NAN;
        }
    }
    if (gaps->len == 0)
        return 0;
    g_array_sort(gaps, __cmp_double);
    return g_array_index(gaps, double, gaps->len / 2);
}

static char *
__substitute(const char *arg, const char *name, const char *value)
{
    g_auto(GStrv) parts = g_strsplit(arg, name, -1);
    return g_strjoinv(value, parts);
}

/* The command each instance runs: the scenario's, or spotlab-train set up as the strategy says:
 * the job's steps, its checkpoint interval (trace time divided by the scale), an emergency
 * checkpoint on the cloud's notice or none. {checkpoint_dir} becomes @ckdir. */
static GPtrArray *
__command(const Scenario *sc, const ScenarioTestbed *tb, const SimStrategy *s,
          const SimReplicaResult *pred, double scale, const char *train, const char *ckdir,
          double *interval_wall)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    *interval_wall = 0;
    if (tb->command != NULL) {
        for (guint i = 0; tb->command[i] != NULL; i++)
            g_ptr_array_add(argv, __substitute(tb->command[i], "{checkpoint_dir}", ckdir));
        g_ptr_array_add(argv, NULL);
        return argv;
    }
    const SimJob *job = &sc->cloud->job;
    g_ptr_array_add(argv, g_strdup(train));
    g_ptr_array_add(argv, g_strdup("--preset"));
    g_ptr_array_add(argv, g_strdup(tb->preset));
    for (guint i = 0; tb->sets != NULL && tb->sets[i] != NULL; i++) {
        g_ptr_array_add(argv, g_strdup("--set"));
        g_ptr_array_add(argv, g_strdup(tb->sets[i]));
    }
    g_ptr_array_add(argv, g_strdup("--steps"));
    g_ptr_array_add(argv, g_strdup_printf("%.0f", ceil(job->steps)));
    g_ptr_array_add(argv, g_strdup("--checkpoint-dir"));
    g_ptr_array_add(argv, g_strdup(ckdir));
    g_ptr_array_add(argv, g_strdup("--log-every"));
    g_ptr_array_add(argv, g_strdup("0"));
    gboolean saves = job->checkpoint_gb > 0;
    double interval = saves ? __checkpoint_interval(s, pred) / scale : 0;
    if (interval > 0) {
        *interval_wall = interval;
        g_ptr_array_add(argv, g_strdup("--checkpoint-interval"));
        g_ptr_array_add(argv, g_strdup_printf("%.6fs", interval));
        if (job->async_checkpoint)
            g_ptr_array_add(argv, g_strdup("--async"));
    }
    if (saves && s->emergency_checkpoint) {
        g_ptr_array_add(argv, g_strdup("--notice-cloud"));
        g_ptr_array_add(argv, g_strdup("{cloud}"));
        g_ptr_array_add(argv, g_strdup("--notice-poll"));
        g_ptr_array_add(argv, g_strdup_printf("%.0fms", ceil(tb->notice_poll * 1000)));
    } else {
        g_ptr_array_add(argv, g_strdup("--no-emergency-checkpoint"));
    }
    g_ptr_array_add(argv, NULL);
    return argv;
}

/* ---- folders ----------------------------------------------------------------------------------
 */

static gboolean
__dir_is_empty(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    return dir == NULL || g_dir_read_name(dir) == NULL;
}

/* ---- measurement: the record in the simulation's terms ------------------------------------- */

static void
__tl(SimReplicaResult *r, double hours, SimTimelineKind kind, guint pool, SimMarket market,
     guint instance)
{
    SimTimelineEvent e = {.hours = hours,
                          .kind = (guint8)kind,
                          .market = (guint8)market,
                          .unit = 0,
                          .pool = pool,
                          .instance = instance};
    g_array_append_val(r->timeline, e);
}

static gint
__by_time(gconstpointer a, gconstpointer b)
{
    const SimTimelineEvent *x = a, *y = b;
    return x->hours < y->hours ? -1 : x->hours > y->hours ? 1 : 0;
}

/* The median of the job's measured step times, in seconds; NaN without any. */
static double
__step_seconds(const HarnessRunRecord *rec)
{
    double sum = 0;
    guint64 n = 0;
    for (guint i = 0; i < rec->instances->len; i++) {
        const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, i);
        sum += r->step_seconds_sum;
        n += r->steps_timed;
    }
    return n > 0 ? sum / (double)n : (double)NAN;
}

/* A recovery from @from to @to (microseconds of wall time), in trace seconds; nothing when it
 * did not start or did not end. */
static void
__recovery(SimReplicaResult *meas, gint64 from, gint64 to, double scale)
{
    if (from == HARNESS_TIME_NONE || to == HARNESS_TIME_NONE)
        return;
    double s = (double)(to - from) / US * scale;
    g_array_append_val(meas->recovery_seconds, s);
}

/* Fills @meas from what the supervisor measured, in trace time (wall seconds times @scale),
 * costed and billed as the simulator bills (sim_model_bill). */
static void
__measure(const Scenario *sc, const HarnessRunRecord *rec, const GArray *plan, double scale,
          SimTime t0, const SimReplicaResult *pred, SimReplicaResult *meas, double *lost_steps_out)
{
    const SimModel *m = sc->cloud;
    const SimJob *job = &m->job;
    double h = scale / 3600.0 / US; /* hours of trace per microsecond of wall time */
    memset(meas, 0, sizeof *meas);
    meas->recovery_seconds = g_array_new(FALSE, FALSE, sizeof(double));
    meas->timeline = g_array_new(FALSE, FALSE, sizeof(SimTimelineEvent));
    meas->start_hours = pred->start_hours;
    meas->completion_hours = NAN;
    meas->launch_failures = pred->launch_failures;
    double step_s = __step_seconds(rec) * scale;
    if (isnan(step_s))
        step_s = 0;
    gint64 end_us = rec->wall_us;
    for (guint i = 0; i < rec->instances->len; i++) {
        const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, i);
        const PlanInstance *p = &g_array_index(plan, PlanInstance, MIN(r->index, plan->len - 1));
        gint64 ended = r->ended_us != HARNESS_TIME_NONE ? r->ended_us : end_us;
        double lived_s = (double)(ended - r->started_us) / US * scale;
        double paid = 0;
        meas->cost_compute +=
            sim_model_bill(m, p->pool, p->market, t0 + __us((double)r->started_us / US * scale),
                           __us(lived_s), &paid);
        meas->paid_hours += paid;
        meas->lifetime_hours += lived_s / 3600;
        meas->launches++;
        meas->checkpoints += r->checkpoints;
        meas->checkpoint_hours += r->checkpoint_seconds * scale / 3600;
        meas->overhead_hours += r->checkpoint_seconds * scale / 3600;
        if (r->first_step_us != HARNESS_TIME_NONE)
            meas->overhead_hours += (double)(r->first_step_us - r->started_us) * h;
        __tl(meas, (double)r->started_us * h, SIM_TL_UP, p->pool, p->market, r->index);
        if (r->first_step_us != HARNESS_TIME_NONE)
            __tl(meas, (double)r->first_step_us * h, SIM_TL_READY, p->pool, p->market, r->index);
        if (r->end == HARNESS_END_COMPLETED) {
            meas->finished = TRUE;
            meas->completion_hours = (double)r->exited_us * h;
            __tl(meas, (double)r->exited_us * h, SIM_TL_DONE, p->pool, p->market, r->index);
        }
        __tl(meas, (double)ended * h, SIM_TL_END, p->pool, p->market, r->index);
    }
    double lost_steps = 0, lost_hours = 0;
    gint64 episode_from = HARNESS_TIME_NONE, episode_to = HARNESS_TIME_NONE;
    for (guint i = 0; i < rec->interruptions->len; i++) {
        const HarnessInterruption *in = &g_array_index(rec->interruptions, HarnessInterruption, i);
        const PlanInstance *p =
            &g_array_index(plan, PlanInstance, MIN(in->instance, plan->len - 1));
        if (p->end != PLAN_RECLAIM)
            continue;
        meas->reclaims++;
        if (in->reclaim_us != HARNESS_TIME_NONE)
            __tl(meas, (double)in->reclaim_us * h, SIM_TL_RECLAIM, p->pool, p->market,
                 in->instance);
        if (in->notice_us != HARNESS_TIME_NONE) {
            meas->notices++;
            __tl(meas, (double)in->notice_us * h, SIM_TL_NOTICE, p->pool, p->market, in->instance);
        } else {
            meas->notices_missed++;
        }
        if (in->last_step < 0)
            continue; /* it held no work yet */
        meas->interruptions++;
        if (in->checkpoint_start_us != HARNESS_TIME_NONE) {
            meas->emergency_attempted++;
            meas->emergency_finished +=
                in->checkpoint_ok &&
                (in->killed_us == HARNESS_TIME_NONE || in->checkpoint_end_us <= in->killed_us);
        }
        lost_steps += (double)in->steps_lost;
        /* Lost work in time as the process spent it, else its steps at the mean step time. */
        double lost_h = in->lost_us != HARNESS_TIME_NONE ? (double)in->lost_us * h
                                                         : (double)in->steps_lost * step_s / 3600;
        lost_hours += lost_h;
        meas->max_lost_per_interruption_hours = MAX(meas->max_lost_per_interruption_hours, lost_h);
        /* One recovery per episode, as the simulator counts them: a reclaim that comes before
         * the job is back where it was extends the recovery in progress, which ends when the
         * job is past the furthest step any of them lost. */
        if (in->reclaim_us == HARNESS_TIME_NONE)
            continue;
        if (episode_from != HARNESS_TIME_NONE &&
            (episode_to == HARNESS_TIME_NONE || in->reclaim_us < episode_to)) {
            episode_to = in->recovered_us == HARNESS_TIME_NONE ? HARNESS_TIME_NONE
                                                               : MAX(episode_to, in->recovered_us);
            continue;
        }
        __recovery(meas, episode_from, episode_to, scale);
        episode_from = in->reclaim_us;
        episode_to = in->recovered_us;
    }
    __recovery(meas, episode_from, episode_to, scale);
    /* Crashes and hangs (testbed.faults): the work since the newest checkpoint, at the mean
     * step time, and a recovery each, from the failure's detection until the job is past the
     * step it failed at. The model draws none: what they cost shows against the prediction. */
    for (guint i = 0; i < rec->failures->len; i++) {
        const HarnessFailure *f = &g_array_index(rec->failures, HarnessFailure, i);
        double lost_h = (double)MAX(0, f->steps_lost) * step_s / 3600;
        lost_steps += (double)MAX(0, f->steps_lost);
        lost_hours += lost_h;
        meas->max_lost_per_interruption_hours = MAX(meas->max_lost_per_interruption_hours, lost_h);
        __recovery(meas, f->detected_us, f->recovered_us, scale);
    }
    meas->lost_hours = lost_hours;
    *lost_steps_out = lost_steps;
    double gpus = sim_model_pool(m, g_array_index(plan, PlanInstance, 0).pool)->gpus;
    meas->lost_gpu_hours = meas->lost_hours * gpus;
    double final_step = rec->final_step > 0 ? (double)rec->final_step : 0;
    meas->useful_hours = final_step * step_s / 3600;
    meas->idle_hours = MAX(0.0, meas->lifetime_hours - meas->useful_hours - meas->lost_hours -
                                    meas->overhead_hours);
    meas->work_units = job->epoch_steps > 0 ? final_step / job->epoch_steps : meas->finished;
    meas->deadline_met =
        meas->finished &&
        (job->deadline <= 0 || meas->completion_hours * 3600 * US <= (double)job->deadline);
    /* Storage as the simulator prices it: the checkpoint held from the first one to the end. */
    double end_h = meas->finished ? meas->completion_hours : (double)end_us * h;
    if (job->checkpoint_gb > 0 && meas->checkpoints > 0)
        meas->cost_storage = job->checkpoint_gb * job->storage_gb_month * end_h / (30.0 * 24);
    meas->cost = meas->cost_compute + meas->cost_storage + meas->cost_egress;
    meas->goodput = meas->paid_hours > 0 ? meas->useful_hours / meas->paid_hours : (double)NAN;
    g_array_sort(meas->timeline, __by_time);
}

/* ---- fidelity ---------------------------------------------------------------------------------
 */

static double
__mean(const GArray *a)
{
    if (a == NULL || a->len == 0)
        return NAN;
    double s = 0;
    for (guint i = 0; i < a->len; i++)
        s += g_array_index(a, double, i);
    return s / a->len;
}

/* (measured - predicted) / predicted in percent; 0 when both are 0; NaN when only the
 * prediction is 0 or either is missing. */
static double
__error_pct(double predicted, double measured)
{
    if (isnan(predicted) || isnan(measured))
        return NAN;
    if (predicted == 0)
        return measured == 0 ? 0 : (double)NAN;
    return 100.0 * (measured - predicted) / fabs(predicted);
}

typedef struct {
    const char *name, *unit;
    double predicted, measured;
} FidelityRow;

static json_t *
__fidelity(const SimReplicaResult *pred, const SimReplicaResult *meas, double sim_step_s,
           double measured_step_s, double measured_lost_steps, double scale, FidelityRow *rows,
           guint *n_rows)
{
    FidelityRow r[] = {
        {"lost_work_steps", "steps", pred->lost_hours * 3600 / sim_step_s, measured_lost_steps},
        {"lost_hours", "hours", pred->lost_hours, meas->lost_hours},
        {"recovery_seconds_mean", "seconds", __mean(pred->recovery_seconds),
         __mean(meas->recovery_seconds)},
        {"interruptions", "count", pred->interruptions, meas->interruptions},
        {"emergency_finished", "count", pred->emergency_finished, meas->emergency_finished},
        {"completion_hours", "hours", pred->completion_hours, meas->completion_hours},
        {"cost", "USD", pred->cost, meas->cost},
        {"step_seconds", "seconds", sim_step_s, measured_step_s * scale},
    };
    json_t *list = json_array();
    for (gsize i = 0; i < G_N_ELEMENTS(r); i++) {
        rows[i] = r[i];
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:o, s:o}", "metric", r[i].name, "unit", r[i].unit,
                            "predicted", run_json_number(r[i].predicted), "measured",
                            run_json_number(r[i].measured), "error_pct",
                            run_json_number(__error_pct(r[i].predicted, r[i].measured))));
    }
    *n_rows = G_N_ELEMENTS(r);
    return list;
}

static void
__print_fidelity(const FidelityRow *rows, guint n)
{
    printf("\n%-24s %14s %14s %9s\n", "prediction vs testbed", "predicted", "measured", "error");
    for (guint i = 0; i < n; i++) {
        double e = __error_pct(rows[i].predicted, rows[i].measured);
        g_autofree char *err = isnan(e) ? g_strdup("-") : g_strdup_printf("%+.1f%%", e);
        printf("%-24s %14.6g %14.6g %9s  %s\n", rows[i].name, rows[i].predicted, rows[i].measured,
               err, rows[i].unit);
    }
}

/* "12.345" seconds or "-" for a time that did not happen. */
static char *
__t(gint64 us)
{
    return us == HARNESS_TIME_NONE ? g_strdup("-") : g_strdup_printf("%.3f", (double)us / 1e6);
}

/* One row of the instances' table: an instance, or (@of its instance) a gang's rank. */
static void
__print_instance(const HarnessInstanceRecord *r, const HarnessInstanceRecord *of)
{
    g_autofree char *start = __t(r->started_us), *end = __t(r->ended_us);
    g_autofree char *wall =
        __t(r->ended_us != HARNESS_TIME_NONE ? r->ended_us - r->started_us : HARNESS_TIME_NONE);
    g_autofree char *status = r->exit_signal > 0    ? g_strdup_printf("sig%d", r->exit_signal)
                              : r->exit_status >= 0 ? g_strdup_printf("%d", r->exit_status)
                                                    : g_strdup("-");
    g_autofree char *steps =
        r->last_step >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, r->last_step) : g_strdup("-");
    g_autofree char *name =
        of != NULL ? g_strdup_printf(" r%u", r->rank) : g_strdup_printf("%u", r->index);
    printf("%-4s %-6s %9s %9s %9s %-9s %7s %8s\n", name, harness_imds_cloud_name(r->cloud), start,
           end, wall, harness_instance_end_name(r->end), status, steps);
}

void
testbed_print_record(const HarnessRunRecord *rec)
{
    if (rec->instances->len > 0 &&
        g_array_index(rec->instances, HarnessInstanceRecord, 0).members != NULL)
        printf("A gang: each instance's row is the gang (the reclaimed rank's end and status, the "
               "slowest rank's step), its ranks below it.\n");
    printf("%-4s %-6s %9s %9s %9s %-9s %7s %8s\n", "inst", "cloud", "started", "ended", "wall s",
           "end", "status", "steps");
    for (guint i = 0; i < rec->instances->len; i++) {
        const HarnessInstanceRecord *r = &g_array_index(rec->instances, HarnessInstanceRecord, i);
        __print_instance(r, NULL);
        for (guint k = 0; r->members != NULL && k < r->members->len; k++)
            __print_instance(&g_array_index(r->members, HarnessInstanceRecord, k), r);
    }
    if (rec->interruptions->len > 0) {
        printf("\nInterruptions (seconds since the run's start):\n");
        printf("%-4s %-6s %8s %8s %-8s %8s %8s %8s %8s %5s %9s\n", "inst", "cloud", "notice",
               "seen", "source", "ckpt end", "reclaim", "killed", "recover", "lost", "recovery");
    }
    for (guint i = 0; i < rec->interruptions->len; i++) {
        const HarnessInterruption *in = &g_array_index(rec->interruptions, HarnessInterruption, i);
        g_autofree char *notice = __t(in->notice_us), *seen = __t(in->reaction_us);
        g_autofree char *ckpt = __t(in->checkpoint_ok ? in->checkpoint_end_us : HARNESS_TIME_NONE);
        g_autofree char *reclaim = __t(in->reclaim_us), *killed = __t(in->killed_us);
        g_autofree char *recovered = __t(in->recovered_us);
        g_autofree char *recovery =
            __t(in->recovered_us != HARNESS_TIME_NONE && in->reclaim_us != HARNESS_TIME_NONE
                    ? in->recovered_us - in->reclaim_us
                    : HARNESS_TIME_NONE);
        printf("%-4u %-6s %8s %8s %-8s %8s %8s %8s %8s %5" G_GINT64_FORMAT " %9s\n", in->instance,
               harness_imds_cloud_name(in->cloud), notice, seen,
               in->reaction_source != NULL ? in->reaction_source : "-", ckpt, reclaim, killed,
               recovered, in->steps_lost, recovery);
    }
    if (rec->failures->len > 0) {
        printf("\nFailures (restarted on the same instance):\n");
        printf("%-4s %-6s %8s %8s %9s %9s %5s %9s\n", "inst", "kind", "injected", "detected",
               "restarted", "recovered", "lost", "recovery");
    }
    for (guint i = 0; i < rec->failures->len; i++) {
        const HarnessFailure *f = &g_array_index(rec->failures, HarnessFailure, i);
        g_autofree char *injected = __t(f->injected_us), *detected = __t(f->detected_us);
        g_autofree char *restarted = __t(f->restarted_us), *recovered = __t(f->recovered_us);
        g_autofree char *recovery =
            __t(f->recovered_us != HARNESS_TIME_NONE && f->detected_us != HARNESS_TIME_NONE
                    ? f->recovered_us - f->detected_us
                    : HARNESS_TIME_NONE);
        printf("%-4u %-6s %8s %8s %9s %9s %5" G_GINT64_FORMAT " %9s\n", f->instance,
               f->kind == HARNESS_FAILURE_CRASH ? "crash" : "hang", injected, detected, restarted,
               recovered, MAX(0, f->steps_lost), recovery);
    }
    printf("\noutcome: %s; wall %.3f s; final step %" G_GINT64_FORMAT "; %u instance(s)",
           harness_run_outcome_name(rec->outcome), (double)rec->wall_us / 1e6, rec->final_step,
           rec->instances->len);
    if (rec->cost > 0)
        printf("; cost $%.4f", rec->cost);
    printf("\n");
}

/* ---- the run ------------------------------------------------------------------------------- */

typedef struct {
    Scenario *sc;
    const ScenarioTestbed *tb;
    const SimStrategy *strategy;
    guint64 replica;
    double scale;
    SimReplicaResult pred, base; /* the prediction, and on demand for the savings */
    gboolean simulated;
    SimTime t0; /* the replica's trace offset */
    GArray *plan;
    Schedule schedule;
    char *train;
    char *workdir;
    gboolean temporary;
    char *ckdir;
    GPtrArray *argv;
    double interval_wall;
    HarnessSupervisor *sup;
    gboolean horizon, interrupted;
} Run;

static void
__run_clear(Run *r)
{
    g_clear_pointer(&r->sup, harness_supervisor_free);
    if (r->temporary && r->workdir != NULL)
        spotlab_remove_tree(r->workdir);
    g_free(r->workdir);
    g_free(r->ckdir);
    g_free(r->train);
    g_free(r->schedule.specs);
    if (r->argv != NULL)
        g_ptr_array_unref(r->argv);
    if (r->plan != NULL)
        g_array_unref(r->plan);
    if (r->simulated) {
        sim_replica_result_clear(&r->pred);
        sim_replica_result_clear(&r->base);
    }
    scenario_free(r->sc);
}

/* The scenario's testbed.faults on the schedule's instances: each must name an instance of the
 * replayed replica, and a notice fault an instance with a notice. */
static gboolean
__apply_faults(Run *r, const char *path)
{
    for (guint i = 0; r->tb->faults != NULL && i < r->tb->faults->len; i++) {
        const TestbedFault *f = &g_array_index(r->tb->faults, TestbedFault, i);
        if (f->instance >= r->schedule.n) {
            fprintf(stderr,
                    "spotlab testbed: %s: testbed.faults[%u].instance: strategy \"%s\", replica "
                    "%" G_GUINT64_FORMAT " runs on %u instance(s) (0 to %u; --dry-run lists "
                    "them), got %u\n",
                    path, i, r->strategy->name, r->replica, r->schedule.n, r->schedule.n - 1,
                    f->instance);
            return FALSE;
        }
        HarnessInstanceSpec *s = &r->schedule.specs[f->instance];
        gboolean notice_fault = f->spec.notice_missed || f->spec.notice_late_us > 0 ||
                                f->spec.notice_duplicate_us != HARNESS_TIME_NONE;
        if (notice_fault && s->notice_after_us == HARNESS_TIME_NONE) {
            fprintf(stderr,
                    "spotlab testbed: %s: testbed.faults[%u]: a notice fault on instance %u, which "
                    "gets no notice in replica %" G_GUINT64_FORMAT " (it %s)\n",
                    path, i, f->instance, r->replica,
                    g_array_index(r->plan, PlanInstance, f->instance).end == PLAN_STOP
                        ? "is stopped by the strategy"
                        : "runs on to the end");
            return FALSE;
        }
        testbed_faults_apply(s, &f->spec);
    }
    return TRUE;
}

static void __add(GString *t, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Appends to a comma-separated list. */
static void
__add(GString *t, const char *format, ...)
{
    if (t->len > 0)
        g_string_append(t, ", ");
    va_list ap;
    va_start(ap, format);
    g_string_append_vprintf(t, format, ap);
    va_end(ap);
}

/* "crash after 5 s, metadata 3 x HTTP 503": what testbed.faults put on instance @i, or NULL. */
static char *
__faults_text(const Run *r, guint i)
{
    const TestbedFault *f = NULL;
    for (guint k = 0; r->tb->faults != NULL && k < r->tb->faults->len; k++)
        if (g_array_index(r->tb->faults, TestbedFault, k).instance == i)
            f = &g_array_index(r->tb->faults, TestbedFault, k);
    if (f == NULL)
        return NULL;
    const HarnessInstanceSpec *s = &f->spec;
    GString *t = g_string_new(NULL);
    if (s->notice_missed)
        __add(t, "notice missed");
    if (s->notice_late_us > 0)
        __add(t, "notice %.3g s late", (double)s->notice_late_us / US);
    if (s->notice_duplicate_us != HARNESS_TIME_NONE)
        __add(t, "notice again after %.3g s", (double)s->notice_duplicate_us / US);
    if (s->imds_delay_ms > 0)
        __add(t, "metadata %u ms slow", s->imds_delay_ms);
    if (s->imds_fail_count > 0)
        __add(t, "metadata %u x HTTP %u", s->imds_fail_count, s->imds_fail_status);
    if (s->crash_after_us != HARNESS_TIME_NONE)
        __add(t, "crash after %.3g s", (double)s->crash_after_us / US);
    if (s->hang_after_us != HARNESS_TIME_NONE)
        __add(t, "hang after %.3g s", (double)s->hang_after_us / US);
    if (s->reclaim_at_checkpoint > 0)
        __add(t, "reclaim in checkpoint %u", s->reclaim_at_checkpoint);
    if (harness_instance_spec_has_storage_faults(s))
        __add(t, "storage faults");
    return g_string_free(t, FALSE);
}

/* Loads the scenario, simulates the replica and prepares the schedule, the command and the
 * folders. Returns an exit status, SPOTLAB_EXIT_OK to go on. */
static int
__prepare(const TestbedOptions *opt, Run *r)
{
    g_autoptr(GError) error = NULL;
    r->sc = scenario_load(opt->scenario_path, &error);
    if (r->sc == NULL) {
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    const Scenario *sc = r->sc;
    if (sc->model != SCENARIO_MODEL_CONTINUOUS || sc->testbed == NULL) {
        fprintf(stderr,
                "spotlab testbed: %s: expected a continuous-model scenario with a \"testbed\" "
                "section (docs/testbed.md)\n",
                opt->scenario_path);
        return SPOTLAB_EXIT_USAGE;
    }
    r->tb = sc->testbed;
    int si =
        opt->strategy != NULL ? scenario_strategy_index(sc, opt->strategy) : (int)r->tb->strategy;
    if (si < 0) {
        fprintf(stderr, "spotlab testbed: --strategy: %s has no strategy \"%s\"\n",
                opt->scenario_path, opt->strategy);
        return SPOTLAB_EXIT_USAGE;
    }
    r->strategy = sc->strategies->pdata[si];
    r->replica = opt->replica >= 0 ? (guint64)opt->replica : r->tb->replica;
    if (r->replica >= sc->replicas) {
        fprintf(stderr, "spotlab testbed: --replica: expected 0 to %u, got %" G_GUINT64_FORMAT "\n",
                sc->replicas - 1, r->replica);
        return SPOTLAB_EXIT_USAGE;
    }
    r->scale = r->tb->time_scale;
    if (!isnan(opt->time_scale) && opt->time_scale != r->scale) {
        /* The job's figures measured by calibration follow the new scale too. */
        scenario_testbed_rescale(r->sc, opt->time_scale);
        r->scale = opt->time_scale;
    }

    g_autoptr(SimWorkspace) ws = sim_workspace_new();
    sim_workspace_set_recording(ws, TRUE);
    sim_model_run(ws, sc->cloud, r->strategy, r->replica, &r->pred);
    sim_workspace_set_recording(ws, FALSE);
    sim_model_run(ws, sc->cloud, sc->baseline, r->replica, &r->base);
    r->simulated = TRUE;
    r->t0 = __us(r->pred.start_hours * 3600);
    r->plan = g_array_new(FALSE, TRUE, sizeof(PlanInstance));
    double done_h;
    if (!__plan(&r->pred, r->plan, &done_h, &error)) {
        fprintf(stderr, "spotlab testbed: %s: strategy \"%s\", replica %" G_GUINT64_FORMAT ": %s\n",
                opt->scenario_path, r->strategy->name, r->replica, error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    __schedule(sc, r->tb, r->scale, r->plan, r->t0, &r->schedule);
    if (!__apply_faults(r, opt->scenario_path))
        return SPOTLAB_EXIT_USAGE;

    if (r->tb->command == NULL) {
        r->train = opt->train_path != NULL ? g_strdup(opt->train_path) : cmd_find_train();
        if (r->train == NULL) {
            fprintf(stderr, "spotlab testbed: cannot find spotlab-train beside spotlab or in "
                            "PATH\n");
            return SPOTLAB_EXIT_USAGE;
        }
    }
    r->temporary = opt->workdir == NULL;
    if (opt->dry_run) {
        r->ckdir = g_strdup(opt->workdir != NULL ? opt->workdir : "DIR/checkpoints");
    } else {
        if (r->temporary) {
            r->workdir = g_dir_make_tmp("spotlab-testbed-XXXXXX", &error);
        } else if (g_mkdir_with_parents(opt->workdir, 0755) == 0) {
            r->workdir = g_canonicalize_filename(opt->workdir, NULL);
        } else {
            int e = errno;
            g_set_error(&error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", opt->workdir,
                        g_strerror(e));
        }
        if (r->workdir != NULL) {
            r->ckdir = g_build_filename(r->workdir, "checkpoints", NULL);
            if (!__dir_is_empty(r->ckdir))
                g_set_error(&error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                            "%s: expected an empty or new folder: the job would resume from "
                            "the checkpoints in it",
                            r->ckdir);
            else if (g_mkdir_with_parents(r->ckdir, 0755) != 0)
                g_set_error(&error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s",
                            r->ckdir, g_strerror(errno));
        }
        if (error != NULL) {
            fprintf(stderr, "spotlab testbed: --workdir: %s\n", error->message);
            return SPOTLAB_EXIT_USAGE;
        }
    }
    r->argv = __command(sc, r->tb, r->strategy, &r->pred, r->scale, r->train, r->ckdir,
                        &r->interval_wall);
    return SPOTLAB_EXIT_OK;
}

static const char *
__plan_end_name(PlanEnd end)
{
    return end == PLAN_RECLAIM ? "reclaim" : end == PLAN_STOP ? "stop" : "runs on";
}

/* The plan: what the simulator's replica did, and the instances it becomes. */
static void
__print_plan(const Run *r)
{
    const Scenario *sc = r->sc;
    printf("%s: strategy %s, replica %" G_GUINT64_FORMAT " (trace offset %.4g h); time scale %g "
           "(a second of wall time is %g s of trace); notice leads and grace %s\n",
           sc->name, r->strategy->name, r->replica, r->pred.start_hours, r->scale, r->scale,
           r->tb->scale_notices ? "scaled too" : "in real seconds");
    printf("simulated: %u instance(s), %u reclaim(s), %s", r->plan->len, r->pred.reclaims,
           r->pred.finished ? "finished" : "not finished");
    if (r->pred.finished)
        printf(" at %.4g h (%.3f s of wall time)", r->pred.completion_hours,
               r->pred.completion_hours * 3600 / r->scale);
    printf("\n\n%-4s %-10s %-6s %-9s %9s %9s %9s %9s\n", "inst", "pool", "cloud", "market",
           "start s", "notice s", "end s", "end");
    double t = 0;
    for (guint i = 0; i < r->plan->len; i++) {
        const PlanInstance *p = &g_array_index(r->plan, PlanInstance, i);
        const HarnessInstanceSpec *s = &r->schedule.specs[i];
        t += (double)s->start_delay_us / US;
        g_autofree char *notice =
            s->notice_after_us == HARNESS_TIME_NONE || s->notice_missed
                ? g_strdup("-")
                : g_strdup_printf("%.3f", t + (double)s->notice_after_us / US);
        double end = s->notice_after_us == HARNESS_TIME_NONE
                         ? (double)NAN
                         : t + (double)(s->notice_after_us + s->notice_lead_us) / US;
        g_autofree char *end_text = isnan(end) ? g_strdup("-") : g_strdup_printf("%.3f", end);
        printf("%-4u %-10s %-6s %-9s %9.3f %9s %9s %9s\n", i,
               sim_model_pool(sc->cloud, p->pool)->name, harness_imds_cloud_name(s->cloud),
               p->market == SIM_MARKET_ON_DEMAND ? "on-demand" : "spot", t, notice, end_text,
               __plan_end_name(p->end));
        g_autofree char *faults = __faults_text(r, i);
        if (faults != NULL)
            printf("     faults: %s\n", faults);
        if (!isnan(end))
            t = end;
    }
    printf("\ncommand:");
    for (guint i = 0; i + 1 < r->argv->len; i++)
        printf(" %s", (const char *)r->argv->pdata[i]);
    printf("\n");
    if (r->schedule.notices_clamped > 0)
        printf("note: %u notice lead(s) longer than the instance's life: the notice comes at "
               "its start\n",
               r->schedule.notices_clamped);
    fflush(stdout);
}

/* The "testbed" object of the results. */
static json_t *
__testbed_json(const Run *r, const char *outcome, double measured_step)
{
    json_t *cmd = json_array();
    for (guint i = 0; i + 1 < r->argv->len; i++)
        json_array_append_new(cmd, json_string(r->argv->pdata[i]));
    json_t *plan = json_array();
    for (guint i = 0; i < r->plan->len; i++) {
        const PlanInstance *p = &g_array_index(r->plan, PlanInstance, i);
        const HarnessInstanceSpec *s = &r->schedule.specs[i];
        json_array_append_new(
            plan, json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:b}", "instance",
                            (int)p->number, "pool", sim_model_pool(r->sc->cloud, p->pool)->name,
                            "market", p->market == SIM_MARKET_ON_DEMAND ? "on-demand" : "spot",
                            "up_hours", run_json_number(p->up_h), "notice_hours",
                            run_json_number(p->notice_h), "end_hours", run_json_number(p->end_h),
                            "end", __plan_end_name(p->end), "start_delay",
                            run_json_number((double)s->start_delay_us / US), "notice_after",
                            s->notice_after_us == HARNESS_TIME_NONE
                                ? json_null()
                                : run_json_number((double)s->notice_after_us / US),
                            "notice_lead",
                            s->notice_after_us == HARNESS_TIME_NONE
                                ? json_null()
                                : run_json_number((double)s->notice_lead_us / US),
                            "notice_missed", s->notice_missed));
        g_autofree char *faults = __faults_text(r, i);
        if (faults != NULL)
            json_object_set_new(json_array_get(plan, i), "faults", json_string(faults));
    }
    return json_pack("{s:s, s:I, s:o, s:b, s:s, s:i, s:o, s:o, s:s, s:s, s:o, s:o}", "strategy",
                     r->strategy->name, "replica", (json_int_t)r->replica, "time_scale",
                     run_json_number(r->scale), "scale_notices", r->tb->scale_notices,
                     "notice_leads", r->tb->scale_notices ? "scaled" : "real seconds",
                     "notices_clamped", (int)r->schedule.notices_clamped,
                     "checkpoint_interval_seconds", run_json_number(r->interval_wall),
                     "step_seconds", run_json_number(measured_step), "outcome", outcome, "workload",
                     r->tb->command != NULL ? "command" : "train", "command", cmd, "plan", plan);
}

/* The prediction alone, in the results layout (its "policies"). */
static json_t *
__prediction_json(Run *r)
{
    CloudStrategyResults pr = {.strategy = r->strategy, .replicas = &r->pred};
    CloudResults pres = {.scenario = r->sc,
                         .n_replicas = 1,
                         .baseline = &r->base,
                         .strategies = &pr,
                         .n_strategies = 1,
                         .first_replica = (guint)r->replica};
    cloud_results_summarise(&pres);
    json_t *doc = cloud_results_to_json(&pres);
    json_t *policies = json_incref(json_object_get(doc, "policies"));
    json_decref(doc);
    return policies;
}

static gboolean
__on_quit(gpointer user_data)
{
    Run *r = user_data;
    r->interrupted = TRUE;
    harness_supervisor_abort(r->sup);
    return G_SOURCE_CONTINUE;
}

static gboolean
__on_horizon(gpointer user_data)
{
    Run *r = user_data;
    r->horizon = TRUE;
    harness_supervisor_abort(r->sup);
    return G_SOURCE_REMOVE;
}

static int
__write(const char *path, json_t *doc, gboolean quiet, const char *what)
{
    g_autoptr(GError) error = NULL;
    if (!run_json_write(doc, path, &error)) {
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    if (!quiet)
        printf("%s: %s\n", what, path);
    return SPOTLAB_EXIT_OK;
}

/* Runs the schedule, then measures and writes the results. */
static int
__execute(const TestbedOptions *opt, Run *r)
{
    g_autoptr(GError) error = NULL;
    const Scenario *sc = r->sc;
    const SimModel *m = sc->cloud;
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)r->argv->pdata,
        .schedule = {.instances = r->schedule.specs, .n_instances = r->schedule.n},
        .progress_timeout_us = __us(r->tb->progress_timeout),
    };
    r->sup = harness_supervisor_new(&cfg, &error);
    if (r->sup == NULL) {
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    guint sources[] = {
        g_unix_signal_add(SIGINT, __on_quit, r),
        g_unix_signal_add(SIGTERM, __on_quit, r),
        g_timeout_add_full(G_PRIORITY_DEFAULT,
                           (guint)MIN(ceil((double)m->horizon / r->scale / 1000.0), 4e9),
                           __on_horizon, r, NULL),
    };
    gboolean ok = harness_supervisor_run(r->sup, NULL, &error);
    for (gsize i = 0; i < G_N_ELEMENTS(sources); i++)
        if (i < 2 || !r->horizon)
            g_source_remove(sources[i]);
    const HarnessRunRecord *rec = harness_supervisor_record(r->sup);
    if (!ok && rec->outcome == HARNESS_RUN_ERROR) {
        fprintf(stderr, "spotlab testbed: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    if (r->interrupted)
        fprintf(stderr, "spotlab testbed: interrupted\n");
    if (r->horizon)
        fprintf(stderr, "spotlab testbed: the horizon (%g h of trace) came first\n",
                (double)m->horizon / 3.6e9);

    SimReplicaResult meas;
    double lost_steps = 0;
    __measure(sc, rec, r->plan, r->scale, r->t0, &r->pred, &meas, &lost_steps);
    double measured_step = __step_seconds(rec);
    double sim_step = sim_job_step_seconds(&m->job, sim_model_pool(m, 0)->instance_type);
    FidelityRow rows[16];
    guint n_rows = 0;
    json_t *fidelity =
        __fidelity(&r->pred, &meas, sim_step, measured_step, lost_steps, r->scale, rows, &n_rows);

    /* The measurement, in the simulation's layout. */
    CloudStrategyResults sr = {.strategy = r->strategy, .replicas = &meas};
    CloudResults res = {.scenario = sc,
                        .n_replicas = 1,
                        .baseline = &r->base,
                        .strategies = &sr,
                        .n_strategies = 1,
                        .mode = "testbed",
                        .first_replica = (guint)r->replica};
    cloud_results_summarise(&res);
    json_t *doc = cloud_results_to_json(&res);
    json_t *tb = __testbed_json(r, r->horizon ? "horizon" : harness_run_outcome_name(rec->outcome),
                                measured_step);
    json_object_set_new(tb, "record", harness_supervisor_record_to_json(r->sup));
    json_object_set_new(doc, "testbed", tb);
    json_object_set_new(doc, "prediction", __prediction_json(r));
    json_object_set_new(doc, "fidelity", fidelity);

    json_t *verdicts = NULL;
    if (sc->expectations->len > 0) {
        /* Only the replayed strategy was measured: the others' expectations do not apply. */
        json_t *all = expect_evaluate(sc, doc);
        verdicts = json_array();
        for (gsize i = 0; i < json_array_size(all); i++) {
            json_t *v = json_array_get(all, i);
            if (g_strcmp0(json_string_value(json_object_get(v, "policy")), r->strategy->name) == 0)
                json_array_append(verdicts, v);
        }
        json_decref(all);
        json_object_set_new(doc, "expectations", json_incref(verdicts));
    }
    if (!opt->quiet) {
        printf("\n");
        testbed_print_record(rec);
        __print_fidelity(rows, n_rows);
        if (verdicts != NULL) {
            g_autofree char *t = expect_table(verdicts, FALSE);
            printf("\n%s", t);
        }
    }
    int status = SPOTLAB_EXIT_OK;
    if (!meas.finished || r->interrupted || (verdicts != NULL && expect_failures(verdicts) > 0))
        status = SPOTLAB_EXIT_GATE;
    if (opt->output != NULL && __write(opt->output, doc, opt->quiet, "results") != SPOTLAB_EXIT_OK)
        status = SPOTLAB_EXIT_USAGE;
    if (opt->record != NULL) {
        json_t *rj = harness_supervisor_record_to_json(r->sup);
        if (__write(opt->record, rj, opt->quiet, "record") != SPOTLAB_EXIT_OK)
            status = SPOTLAB_EXIT_USAGE;
        json_decref(rj);
    }
    json_decref(verdicts);
    json_decref(doc);
    sim_replica_result_clear(&meas);
    return status;
}

int
testbed_run_scenario(const TestbedOptions *opt)
{
    Run r = {0};
    int status = __prepare(opt, &r);
    if (status == SPOTLAB_EXIT_OK && !opt->quiet)
        __print_plan(&r);
    if (status == SPOTLAB_EXIT_OK && opt->dry_run) {
        /* The prediction and the plan, nothing run. */
        json_t *doc =
            json_pack("{s:s, s:o, s:o}", "mode", "testbed-plan", "testbed",
                      __testbed_json(&r, "dry-run", NAN), "prediction", __prediction_json(&r));
        if (opt->output != NULL)
            status = __write(opt->output, doc, opt->quiet, "plan");
        json_decref(doc);
    } else if (status == SPOTLAB_EXIT_OK) {
        status = __execute(opt, &r);
    }
    __run_clear(&r);
    return status;
}
