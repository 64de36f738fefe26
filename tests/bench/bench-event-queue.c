/* Benchmark: throughput of the event engine (sim/event-queue.c) on one core.
 *
 * The hold model (Jones, CACM 1986): the queue is filled with a fixed number of pending events,
 * then each fired event schedules one successor at now + an exponential increment, so the queue
 * size stays constant and every event costs one delete-min and one insert. The cancel-heavy
 * variant keeps the same number of live events, but each fired event schedules two and cancels
 * one scheduled a little earlier, so half of all scheduled events are cancelled before they
 * fire (the pattern of timeouts that are mostly disarmed). Both report fired events per second.
 *
 * Increments are drawn from a seeded SimRng stream before the timed region and read back from a
 * table, so the figures measure the engine rather than the logarithm in the exponential draw.
 * Each run starts from a reset engine, fills it, warms it up untimed (the hold model reaches its
 * steady-state distribution of pending times only after some holds), then times a fixed number
 * of fired events. The median of the runs is the headline figure; min and max show the spread.
 *
 * Exit status: 0 after printing the figures, 1 if the engine fired a wrong number of events or
 * went back in time, 2 on bad usage. Missing a target is reported, not failed: the figure
 * depends on the machine.
 */
#include "event-queue.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Events per second the hold model must reach on one core (docs/performance.md). */
#define TARGET_EVENTS_PER_SEC 20e6

/* 2^16 increments (512 KiB) stay in the L2 cache beside the queue, and reusing them cyclically
 * does not correlate with the queue's content. */
#define INCREMENT_TABLE_BITS 16
#define INCREMENT_TABLE_MASK ((1u << INCREMENT_TABLE_BITS) - 1)
/* Mean increment: one second, so that equal times (which the engine also orders) are rare. */
#define MEAN_INCREMENT_US 1e6
/* How far back the cancel-heavy variant reaches for the event it cancels, in fired events. */
#define CANCEL_LAG 1024

typedef struct {
    const SimTime *increments;
    guint32 next_increment;
    guint64 fired;
    guint64 limit; /* stop after this many fired events */
    SimTime last_time;
    gboolean went_back;

    /* Cancel-heavy variant: handles of events to cancel, CANCEL_LAG fired events later. */
    SimEventId ring[CANCEL_LAG];
    guint ring_pos;
    guint64 cancelled;
} Bench;

static inline SimTime
__next_increment(Bench *b)
{
    SimTime inc = b->increments[b->next_increment];
    b->next_increment = (b->next_increment + 1) & INCREMENT_TABLE_MASK;
    return inc;
}

static inline void
__count(SimEngine *engine, Bench *b)
{
    SimTime now = sim_engine_now(engine);
    if (now < b->last_time)
        b->went_back = TRUE;
    b->last_time = now;
    if (++b->fired == b->limit)
        sim_engine_stop(engine);
}

static void
__hold(SimEngine *engine, gpointer data)
{
    Bench *b = data;
    __count(engine, b);
    sim_engine_schedule_in(engine, __next_increment(b), 0, __hold, b);
}

static void
__hold_cancel(SimEngine *engine, gpointer data)
{
    Bench *b = data;
    __count(engine, b);
    sim_engine_schedule_in(engine, __next_increment(b), 0, __hold_cancel, b);
    SimEventId timeout = sim_engine_schedule_in(engine, __next_increment(b), 1, __hold_cancel, b);
    /* The handle stored CANCEL_LAG events ago is almost always still pending: its event lies
     * about a second ahead, while CANCEL_LAG events span about CANCEL_LAG / pending seconds. */
    if (sim_engine_cancel(engine, b->ring[b->ring_pos]))
        b->cancelled++;
    b->ring[b->ring_pos] = timeout;
    b->ring_pos = (b->ring_pos + 1) % CANCEL_LAG;
}

/* CPU time of this thread: on a shared machine the wall clock also counts other processes. */
static double
__cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *name;
    SimEventFunc func;
} Variant;

/* Runs one variant @runs times; returns FALSE when the engine misbehaved. */
static gboolean
__bench_variant(const Variant *v, SimEngine *engine, const SimTime *increments, guint pending,
                guint64 warmup, guint64 events, guint runs)
{
    g_autofree double *rate = g_new(double, runs);
    g_autofree double *cpu_rate = g_new(double, runs);
    double share = 1;
    g_autofree Bench *b = g_new0(Bench, 1);
    guint64 cancelled = 0, scheduled = 0;
    for (guint run = 0; run < runs; run++) {
        memset(b, 0, sizeof *b);
        b->increments = increments;
        b->next_increment = run * 7919u; /* a different stretch of the table per run */
        sim_engine_reset(engine);
        for (guint i = 0; i < pending; i++)
            sim_engine_schedule(engine, __next_increment(b), 0, v->func, b);

        b->limit = warmup;
        if (warmup > 0 && sim_engine_run(engine, SIM_TIME_NEVER) != warmup)
            return FALSE;

        b->fired = 0;
        b->cancelled = 0;
        b->limit = events;
        gsize before = sim_engine_pending(engine);
        gint64 t0 = g_get_monotonic_time();
        double c0 = __cpu_seconds();
        guint64 fired = sim_engine_run(engine, SIM_TIME_NEVER);
        double c1 = __cpu_seconds();
        gint64 t1 = g_get_monotonic_time();
        /* Each fired event leaves its successor; the cancel variant's second event stays
         * pending unless the cancel that goes with it succeeded. */
        gsize expected = before + (v->func == __hold_cancel ? events - b->cancelled : 0);
        if (fired != events || b->fired != events || b->went_back ||
            sim_engine_pending(engine) != expected)
            return FALSE;
        double wall = (double)(t1 - t0) / 1e6;
        rate[run] = (double)events / wall;
        cpu_rate[run] = (double)events / (c1 - c0);
        share = MIN(share, (c1 - c0) / wall);
        cancelled += b->cancelled;
        scheduled += v->func == __hold_cancel ? 2 * events : events;
    }
    qsort(rate, runs, sizeof *rate, __cmp_double);
    qsort(cpu_rate, runs, sizeof *cpu_rate, __cmp_double);
    printf("%-13s %u pending, %u runs of %" G_GUINT64_FORMAT " events: median %.2f M events/s "
           "(min %.2f, max %.2f)\n",
           v->name, pending, runs, events, rate[runs / 2] / 1e6, rate[0] / 1e6,
           rate[runs - 1] / 1e6);
    /* Wall-clock figures are the headline; per CPU second shows what a busy machine took. */
    printf("%-13s per CPU second: median %.2f M events/s; least CPU share of a run %.2f\n", "",
           cpu_rate[runs / 2] / 1e6, share);
    if (v->func == __hold_cancel)
        printf("%-13s %.1f%% of scheduled events cancelled before firing\n", "",
               100.0 * (double)cancelled / (double)scheduled);
    else
        printf("%-13s target %.0f M events/s: %s\n", "", TARGET_EVENTS_PER_SEC / 1e6,
               rate[runs / 2] >= TARGET_EVENTS_PER_SEC ? "met" : "NOT met");
    return TRUE;
}

int
main(int argc, char **argv)
{
    gint pending = 100000, runs = 7;
    g_autofree char *only = NULL;
    gint64 events = 4000000, warmup = 1000000;
    GOptionEntry entries[] = {
        {"pending", 'n', 0, G_OPTION_ARG_INT, &pending, "Pending events (default 100000)", "N"},
        {"events", 'e', 0, G_OPTION_ARG_INT64, &events, "Timed events per run (default 4000000)",
         "N"},
        {"warmup", 'w', 0, G_OPTION_ARG_INT64, &warmup,
         "Untimed events before each run (default 1000000)", "N"},
        {"runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Runs per variant (default 7)", "N"},
        {"only", 'o', 0, G_OPTION_ARG_STRING, &only, "Run only this variant (hold, hold+cancel)",
         "NAME"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) context = g_option_context_new("- event engine throughput");
    g_option_context_add_main_entries(context, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bench-event-queue: %s\n", error->message);
        return 2;
    }
    if (pending < 1 || events < 1 || warmup < 0 || runs < 1) {
        fprintf(stderr, "bench-event-queue: --pending, --events and --runs must be positive\n");
        return 2;
    }

    SimRng root, stream;
    sim_rng_init(&root, 20240601);
    sim_rng_split(&root, 1, &stream);
    g_autofree SimTime *increments = g_new(SimTime, INCREMENT_TABLE_MASK + 1);
    for (guint i = 0; i <= INCREMENT_TABLE_MASK; i++)
        increments[i] = (SimTime)(sim_rng_exponential(&stream, 1.0) * MEAN_INCREMENT_US);

    static const Variant variants[] = {
        {"hold", __hold},
        {"hold+cancel", __hold_cancel},
    };
    g_autoptr(SimEngine) engine = sim_engine_new();
    for (gsize i = 0; i < G_N_ELEMENTS(variants); i++) {
        if (only != NULL && g_strcmp0(only, variants[i].name) != 0)
            continue;
        if (!__bench_variant(&variants[i], engine, increments, (guint)pending, (guint64)warmup,
                             (guint64)events, (guint)runs)) {
            fprintf(stderr,
                    "bench-event-queue: %s: the engine fired a wrong number of events "
                    "or went back in time\n",
                    variants[i].name);
            return 1;
        }
    }
    return 0;
}
