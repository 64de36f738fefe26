/* The event engine: ordering by (time, priority, insertion), ties, cancellation by handle,
 * stale handles, the rebuild after many cancels, run limits, stop and reset. */
#include "event-queue.h"
#include "rng.h"
#include "test-util.h"

typedef struct {
    GArray *fired; /* int tags in firing order */
    GArray *times; /* SimTime at firing */
} Log;

typedef struct {
    Log *log;
    int tag;
} Tagged;

static void
__record(SimEngine *engine, gpointer data)
{
    Tagged *t = data;
    g_array_append_val(t->log->fired, t->tag);
    SimTime now = sim_engine_now(engine);
    g_array_append_val(t->log->times, now);
}

static Log *
__log_new(void)
{
    Log *log = g_new0(Log, 1);
    log->fired = g_array_new(FALSE, FALSE, sizeof(int));
    log->times = g_array_new(FALSE, FALSE, sizeof(SimTime));
    return log;
}

static void
__log_free(Log *log)
{
    g_array_unref(log->fired);
    g_array_unref(log->times);
    g_free(log);
}

static int
__tag(const Log *log, guint i)
{
    return g_array_index(log->fired, int, i);
}

static void
test_time_order(void)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    Log *log = __log_new();
    SimTime at[] = {50, 10, 40, 20, 30};
    Tagged tags[5];
    for (int i = 0; i < 5; i++) {
        tags[i] = (Tagged){log, (int)at[i]};
        CU_ASSERT_NOT_EQUAL(sim_engine_schedule(e, at[i], 0, __record, &tags[i]), 0);
    }
    CU_ASSERT_EQUAL(sim_engine_pending(e), 5);
    CU_ASSERT_EQUAL(sim_engine_peek_time(e), 10);
    CU_ASSERT_EQUAL(sim_engine_run(e, SIM_TIME_NEVER), 5);
    CU_ASSERT_EQUAL(log->fired->len, 5);
    for (guint i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(__tag(log, i), (int)(10 * (i + 1)));
        CU_ASSERT_EQUAL(g_array_index(log->times, SimTime, i), 10 * (SimTime)(i + 1));
    }
    CU_ASSERT_EQUAL(sim_engine_now(e), 50);
    CU_ASSERT_EQUAL(sim_engine_pending(e), 0);
    CU_ASSERT_EQUAL(sim_engine_peek_time(e), SIM_TIME_NEVER);
    CU_ASSERT_FALSE(sim_engine_step(e));
    __log_free(log);
}

static void
test_ties_priority_then_fifo(void)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    Log *log = __log_new();
    /* Same time: priority 1 events scheduled first must still fire after priority -1 and 0;
     * within a priority, insertion order. */
    struct {
        int priority, tag;
    } plan[] = {{1, 10}, {1, 11}, {0, 20}, {-1, 30}, {1, 12}, {0, 21}, {-1, 31}, {0, 22}};
    Tagged tags[G_N_ELEMENTS(plan)];
    for (gsize i = 0; i < G_N_ELEMENTS(plan); i++) {
        tags[i] = (Tagged){log, plan[i].tag};
        sim_engine_schedule(e, 100, plan[i].priority, __record, &tags[i]);
    }
    sim_engine_run(e, SIM_TIME_NEVER);
    int expected[] = {30, 31, 20, 21, 22, 10, 11, 12};
    CU_ASSERT_EQUAL_FATAL(log->fired->len, G_N_ELEMENTS(expected));
    for (gsize i = 0; i < G_N_ELEMENTS(expected); i++)
        CU_ASSERT_EQUAL(__tag(log, i), expected[i]);
    __log_free(log);
}

static void
test_many_ties_keep_insertion_order(void)
{
    /* Thousands of events at a handful of times: each time's events fire in insertion order,
     * however the heap shuffles them. */
    g_autoptr(SimEngine) e = sim_engine_new();
    Log *log = __log_new();
    enum { N = 5000 };
    Tagged *tags = g_new(Tagged, N);
    SimRng rng;
    sim_rng_init(&rng, 99);
    for (int i = 0; i < N; i++) {
        tags[i] = (Tagged){log, i};
        sim_engine_schedule(e, (SimTime)sim_rng_below(&rng, 4), 0, __record, &tags[i]);
    }
    sim_engine_run(e, SIM_TIME_NEVER);
    CU_ASSERT_EQUAL_FATAL(log->fired->len, N);
    for (guint i = 1; i < N; i++) {
        SimTime t0 = g_array_index(log->times, SimTime, i - 1);
        SimTime t1 = g_array_index(log->times, SimTime, i);
        CU_ASSERT(t0 < t1 || (t0 == t1 && __tag(log, i - 1) < __tag(log, i)));
    }
    g_free(tags);
    __log_free(log);
}

static void
test_cancel(void)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    Log *log = __log_new();
    Tagged a = {log, 1}, b = {log, 2}, c = {log, 3};
    SimEventId ia = sim_engine_schedule(e, 10, 0, __record, &a);
    SimEventId ib = sim_engine_schedule(e, 20, 0, __record, &b);
    SimEventId ic = sim_engine_schedule(e, 30, 0, __record, &c);
    CU_ASSERT(ia != ib && ib != ic);
    CU_ASSERT_TRUE(sim_engine_cancel(e, ib));
    CU_ASSERT_EQUAL(sim_engine_pending(e), 2);
    CU_ASSERT_FALSE(sim_engine_cancel(e, ib)); /* twice */
    CU_ASSERT_FALSE(sim_engine_cancel(e, 0));
    CU_ASSERT_FALSE(sim_engine_cancel(e, G_GUINT64_CONSTANT(0xdeadbeef00000000) | 77));
    sim_engine_run(e, SIM_TIME_NEVER);
    CU_ASSERT_EQUAL_FATAL(log->fired->len, 2);
    CU_ASSERT_EQUAL(__tag(log, 0), 1);
    CU_ASSERT_EQUAL(__tag(log, 1), 3);
    /* Handles of events that fired are stale, even once their slots are reused. */
    CU_ASSERT_FALSE(sim_engine_cancel(e, ia));
    Tagged d = {log, 4};
    SimEventId id = sim_engine_schedule(e, 40, 0, __record, &d);
    CU_ASSERT_FALSE(sim_engine_cancel(e, ia));
    CU_ASSERT_FALSE(sim_engine_cancel(e, ic));
    CU_ASSERT_TRUE(sim_engine_cancel(e, id));
    CU_ASSERT_EQUAL(sim_engine_run(e, SIM_TIME_NEVER), 0);
    __log_free(log);
}

typedef struct {
    SimEventId victim;
    gboolean cancelled;
} CancelOther;

static void
__cancel_other(SimEngine *engine, gpointer data)
{
    CancelOther *co = data;
    co->cancelled = sim_engine_cancel(engine, co->victim);
}

static void
__must_not_fire(SimEngine *engine, gpointer data)
{
    (void)engine;
    *(gboolean *)data = TRUE;
}

static void
test_cancel_from_handler(void)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    gboolean fired = FALSE;
    CancelOther co = {0};
    sim_engine_schedule(e, 5, 0, __cancel_other, &co);
    co.victim = sim_engine_schedule(e, 5, 1, __must_not_fire, &fired);
    sim_engine_run(e, SIM_TIME_NEVER);
    CU_ASSERT_TRUE(co.cancelled);
    CU_ASSERT_FALSE(fired);
}

static void
test_cancel_many_rebuilds(void)
{
    /* Cancel most of a large queue: the survivors still fire in order and nothing else does. */
    g_autoptr(SimEngine) e = sim_engine_new();
    Log *log = __log_new();
    enum { N = 20000 };
    Tagged *tags = g_new(Tagged, N);
    SimEventId *ids = g_new(SimEventId, N);
    SimRng rng;
    sim_rng_init(&rng, 7);
    SimTime *at = g_new(SimTime, N);
    for (int i = 0; i < N; i++) {
        tags[i] = (Tagged){log, i};
        at[i] = (SimTime)sim_rng_below(&rng, 1000000);
        ids[i] = sim_engine_schedule(e, at[i], 0, __record, &tags[i]);
    }
    gsize kept = 0;
    for (int i = 0; i < N; i++) {
        if (i % 10 == 3) {
            kept++;
        } else {
            CU_ASSERT_TRUE(sim_engine_cancel(e, ids[i]));
        }
    }
    CU_ASSERT_EQUAL(sim_engine_pending(e), kept);
    sim_engine_run(e, SIM_TIME_NEVER);
    CU_ASSERT_EQUAL_FATAL(log->fired->len, kept);
    for (guint i = 0; i < log->fired->len; i++) {
        int tag = __tag(log, i);
        CU_ASSERT_EQUAL(tag % 10, 3);
        CU_ASSERT_EQUAL(g_array_index(log->times, SimTime, i), at[tag]);
        if (i > 0) {
            int prev = __tag(log, i - 1);
            CU_ASSERT(at[prev] < at[tag] || (at[prev] == at[tag] && prev < tag));
        }
    }
    g_free(at);
    g_free(ids);
    g_free(tags);
    __log_free(log);
}

static void
__reschedule(SimEngine *engine, gpointer data)
{
    int *count = data;
    if (++*count < 100)
        sim_engine_schedule_in(engine, 7, 0, __reschedule, count);
}

static void
test_run_until_and_stop(void)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    int count = 0;
    sim_engine_schedule(e, 0, 0, __reschedule, &count);
    /* Events at 0, 7, ..., 70 fire; the one at 77 stays pending. */
    CU_ASSERT_EQUAL(sim_engine_run(e, 70), 11);
    CU_ASSERT_EQUAL(count, 11);
    CU_ASSERT_EQUAL(sim_engine_now(e), 70);
    CU_ASSERT_EQUAL(sim_engine_peek_time(e), 77);
    CU_ASSERT_EQUAL(sim_engine_run(e, SIM_TIME_NEVER), 89);
    CU_ASSERT_EQUAL(count, 100);
    CU_ASSERT_EQUAL(sim_engine_now(e), 99 * 7);
}

static void
__stopper(SimEngine *engine, gpointer data)
{
    int *count = data;
    if (++*count == 3)
        sim_engine_stop(engine);
}

static void
test_stop(void)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    int count = 0;
    for (int i = 0; i < 6; i++)
        sim_engine_schedule(e, i, 0, __stopper, &count);
    CU_ASSERT_EQUAL(sim_engine_run(e, SIM_TIME_NEVER), 3);
    CU_ASSERT_EQUAL(sim_engine_pending(e), 3);
    CU_ASSERT_EQUAL(sim_engine_run(e, SIM_TIME_NEVER), 3);
    CU_ASSERT_EQUAL(count, 6);
}

static void
test_reset(void)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    gboolean fired = FALSE;
    SimEventId id = sim_engine_schedule(e, 10, 0, __must_not_fire, &fired);
    sim_engine_reset(e);
    CU_ASSERT_EQUAL(sim_engine_pending(e), 0);
    CU_ASSERT_EQUAL(sim_engine_now(e), 0);
    CU_ASSERT_FALSE(sim_engine_cancel(e, id));
    CU_ASSERT_FALSE(sim_engine_step(e));
    CU_ASSERT_FALSE(fired);
    /* The engine works as new after a reset. */
    Log *log = __log_new();
    Tagged a = {log, 1}, b = {log, 2};
    sim_engine_schedule(e, 3, 0, __record, &b);
    sim_engine_schedule(e, 3, -5, __record, &a);
    sim_engine_run(e, SIM_TIME_NEVER);
    CU_ASSERT_EQUAL_FATAL(log->fired->len, 2);
    CU_ASSERT_EQUAL(__tag(log, 0), 1);
    __log_free(log);
}

typedef struct {
    SimTime time;
    int priority;
    guint seq;
} Ref;

static int
__ref_cmp(gconstpointer a, gconstpointer b)
{
    const Ref *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
test_random_against_sort(void)
{
    /* Random times and priorities with random cancels, checked against a plain sort of the
     * survivors by (time, priority, insertion). */
    for (guint64 seed = 1; seed <= 5; seed++) {
        g_autoptr(SimEngine) e = sim_engine_new();
        Log *log = __log_new();
        enum { N = 3000 };
        Tagged *tags = g_new(Tagged, N);
        Ref *refs = g_new(Ref, N);
        SimEventId *ids = g_new(SimEventId, N);
        SimRng rng;
        sim_rng_init(&rng, seed);
        for (int i = 0; i < N; i++) {
            refs[i] =
                (Ref){(SimTime)sim_rng_below(&rng, 50), (int)sim_rng_below(&rng, 5) - 2, (guint)i};
            tags[i] = (Tagged){log, i};
            ids[i] = sim_engine_schedule(e, refs[i].time, refs[i].priority, __record, &tags[i]);
        }
        g_autoptr(GArray) expect = g_array_new(FALSE, FALSE, sizeof(Ref));
        for (int i = 0; i < N; i++) {
            if (sim_rng_below(&rng, 3) == 0) {
                CU_ASSERT_TRUE(sim_engine_cancel(e, ids[i]));
            } else {
                g_array_append_val(expect, refs[i]);
            }
        }
        g_array_sort(expect, __ref_cmp);
        sim_engine_run(e, SIM_TIME_NEVER);
        CU_ASSERT_EQUAL_FATAL(log->fired->len, expect->len);
        for (guint i = 0; i < expect->len; i++)
            CU_ASSERT_EQUAL(__tag(log, i), (int)g_array_index(expect, Ref, i).seq);
        g_free(ids);
        g_free(refs);
        g_free(tags);
        __log_free(log);
    }
}

/* ---- a randomised comparison against a reference ------------------------------------------ */

/* The reference: every pending event in a GSequence sorted by (time, priority, insertion). */
typedef struct {
    SimTime time;
    int priority;
    guint64 seq;
    SimEventId id;
    gboolean fired;
} RefEvent;

typedef struct {
    SimEngine *engine;
    SimRng rng;
    GSequence *pending; /* RefEvent*, sorted */
    GPtrArray *all;     /* RefEvent*, owned, by seq */
    GHashTable *iters;  /* seq -> GSequenceIter* */
    guint64 next_seq;
    guint64 budget; /* events still to schedule */
    guint mismatches;
    int mode; /* how times are drawn */
} Fuzz;

static gint
__ref_order(gconstpointer a, gconstpointer b, gpointer user_data)
{
    const RefEvent *x = a, *y = b;
    (void)user_data;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void __fuzz_fire(SimEngine *engine, gpointer data);

/* A delay from one of several shapes, so that every part of the engine is exercised: equal
 * times, tight bunches, wide exponential spreads, and times near the end of the clock. */
static SimTime
__fuzz_delay(Fuzz *f, SimTime now)
{
    guint64 pick = sim_rng_below(&f->rng, 100);
    SimTime d;
    if (f->mode == 0 || pick < 10)
        d = 0;
    else if (f->mode == 1 || pick < 40)
        d = (SimTime)sim_rng_below(&f->rng, 8);
    else if (pick < 90)
        d = (SimTime)sim_rng_exponential(&f->rng, 1.0 / (f->mode == 2 ? 1e3 : 1e7));
    else if (pick < 98)
        d = (SimTime)sim_rng_below(&f->rng, G_GUINT64_CONSTANT(1) << 40);
    else
        d = (SimTime)sim_rng_below(&f->rng, (guint64)(SIM_TIME_NEVER - now) / 2 + 1);
    return MIN(d, SIM_TIME_NEVER - 1 - now);
}

static void
__fuzz_schedule(Fuzz *f, SimTime now)
{
    if (f->budget == 0)
        return;
    f->budget--;
    RefEvent *r = g_new0(RefEvent, 1);
    r->time = now + __fuzz_delay(f, now);
    r->priority = (int)sim_rng_below(&f->rng, 3) - 1;
    r->seq = f->next_seq++;
    g_ptr_array_add(f->all, r);
    r->id = sim_engine_schedule(f->engine, r->time, r->priority, __fuzz_fire, r);
    g_hash_table_insert(f->iters, r, g_sequence_insert_sorted(f->pending, r, __ref_order, NULL));
}

/* The fuzz state, for the handlers (each fuzz run sets it). */
static Fuzz *fuzz;

static void
__fuzz_fire(SimEngine *engine, gpointer data)
{
    RefEvent *r = data;
    Fuzz *f = fuzz;
    GSequenceIter *first = g_sequence_get_begin_iter(f->pending);
    RefEvent *expected = g_sequence_iter_is_end(first) ? NULL : g_sequence_get(first);
    if (expected != r || sim_engine_now(engine) != r->time)
        f->mismatches++;
    GSequenceIter *it = g_hash_table_lookup(f->iters, r);
    g_hash_table_remove(f->iters, r);
    if (it != NULL)
        g_sequence_remove(it);
    r->fired = TRUE;
    /* Schedule 0 to 2 new events, and cancel one at random now and then. */
    guint64 n = sim_rng_below(&f->rng, 3);
    for (guint64 i = 0; i < n; i++)
        __fuzz_schedule(f, sim_engine_now(engine));
    if (sim_rng_below(&f->rng, 4) == 0 && f->all->len > 0) {
        RefEvent *victim = f->all->pdata[sim_rng_below(&f->rng, f->all->len)];
        GSequenceIter *vit = g_hash_table_lookup(f->iters, victim);
        gboolean cancelled = sim_engine_cancel(engine, victim->id);
        if (cancelled != (vit != NULL))
            f->mismatches++;
        if (vit != NULL) {
            g_sequence_remove(vit);
            g_hash_table_remove(f->iters, victim);
        }
    }
}

static void
test_fuzz_against_reference(void)
{
    for (int mode = 0; mode < 4; mode++) {
        for (guint64 seed = 1; seed <= 6; seed++) {
            Fuzz f = {0};
            fuzz = &f;
            f.engine = sim_engine_new();
            f.mode = mode;
            f.budget = 30000;
            sim_rng_init(&f.rng, seed * 7919 + (guint64)mode);
            f.pending = g_sequence_new(NULL);
            f.all = g_ptr_array_new_with_free_func(g_free);
            f.iters = g_hash_table_new(NULL, NULL);
            /* A large initial population pushes events up the ladder. */
            for (int i = 0; i < 2000; i++)
                __fuzz_schedule(&f, 0);
            /* Run in slices, peeking and checking the count between them. */
            while (sim_engine_pending(f.engine) > 0) {
                SimTime next = sim_engine_peek_time(f.engine);
                GSequenceIter *first = g_sequence_get_begin_iter(f.pending);
                CU_ASSERT_FATAL(!g_sequence_iter_is_end(first));
                CU_ASSERT_EQUAL(next, ((RefEvent *)g_sequence_get(first))->time);
                SimTime until = next + (SimTime)sim_rng_below(&f.rng, 1000);
                if (until < next)
                    until = SIM_TIME_NEVER;
                sim_engine_run(f.engine, until);
                CU_ASSERT_EQUAL(sim_engine_pending(f.engine),
                                (gsize)g_sequence_get_length(f.pending));
            }
            CU_ASSERT_EQUAL(f.mismatches, 0);
            CU_ASSERT_EQUAL(g_sequence_get_length(f.pending), 0);
            CU_ASSERT_EQUAL(f.budget, 0);
            g_hash_table_unref(f.iters);
            g_ptr_array_unref(f.all);
            g_sequence_free(f.pending);
            sim_engine_free(f.engine);
            fuzz = NULL;
        }
    }
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("event-queue", NULL, NULL);
    CU_add_test(s, "events fire in time order", test_time_order);
    CU_add_test(s, "ties: priority, then insertion order", test_ties_priority_then_fifo);
    CU_add_test(s, "many ties keep insertion order", test_many_ties_keep_insertion_order);
    CU_add_test(s, "cancel by handle; stale handles", test_cancel);
    CU_add_test(s, "cancel from a handler", test_cancel_from_handler);
    CU_add_test(s, "cancelling most of a large queue", test_cancel_many_rebuilds);
    CU_add_test(s, "run until a time", test_run_until_and_stop);
    CU_add_test(s, "stop from a handler", test_stop);
    CU_add_test(s, "reset", test_reset);
    CU_add_test(s, "random schedules against a sort", test_random_against_sort);
    CU_add_test(s, "fuzz against a reference queue", test_fuzz_against_reference);
    return test_run_all();
}
