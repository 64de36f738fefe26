/* spotlab: discrete-event engine (see event-queue.h for the model). */
#include "event-queue.h"

/* The heap orders compact entries; what a handler needs lives in the slot table. Keeping the
 * entries at 24 bytes keeps a 10^5-event heap inside the L2 cache. */
typedef struct {
    SimTime time;
    guint64 key; /* biased priority in the top 16 bits, insertion sequence in the low 48 */
    guint32 slot;
} HeapEntry;

typedef enum { SLOT_FREE, SLOT_LIVE, SLOT_DEAD } SlotState;

typedef struct {
    SimEventFunc func;
    gpointer user_data;
    guint32 generation; /* bumped whenever the slot is released, so old handles go stale */
    guint32 state;      /* SlotState */
    guint32 next_free;
} Slot;

struct _SimEngine {
    HeapEntry *heap;
    gsize heap_len;
    gsize heap_cap;

    Slot *slots;
    guint32 n_slots;
    guint32 slots_cap;
    guint32 free_head; /* G_MAXUINT32 when empty */

    gsize n_live;
    gsize n_dead;
    guint64 next_seq;
    SimTime now;
    gboolean stop;
};

#define SEQ_BITS 48
#define SEQ_MASK ((G_GUINT64_CONSTANT(1) << SEQ_BITS) - 1)
#define PRIORITY_BIAS 32768
#define NO_SLOT G_MAXUINT32
/* Rebuild once dead entries outnumber live ones and there are enough to be worth it. */
#define REBUILD_MIN_DEAD 64

#define D_ARY 4

static inline gboolean
__entry_less(const HeapEntry *a, const HeapEntry *b)
{
    return a->time < b->time || (a->time == b->time && a->key < b->key);
}

SimEngine *
sim_engine_new(void)
{
    SimEngine *engine = g_new0(SimEngine, 1);
    engine->free_head = NO_SLOT;
    return engine;
}

void
sim_engine_free(SimEngine *engine)
{
    if (engine == NULL)
        return;
    g_free(engine->heap);
    g_free(engine->slots);
    g_free(engine);
}

void
sim_engine_reset(SimEngine *engine)
{
    g_return_if_fail(engine != NULL);
    /* Release every slot with a new generation so handles from before the reset go stale. */
    engine->free_head = NO_SLOT;
    for (guint32 i = engine->n_slots; i-- > 0;) {
        Slot *s = &engine->slots[i];
        if (s->state != SLOT_FREE)
            s->generation++;
        s->state = SLOT_FREE;
        s->next_free = engine->free_head;
        engine->free_head = i;
    }
    engine->heap_len = 0;
    engine->n_live = 0;
    engine->n_dead = 0;
    engine->next_seq = 0;
    engine->now = 0;
    engine->stop = FALSE;
}

static guint32
__slot_alloc(SimEngine *engine)
{
    if (engine->free_head != NO_SLOT) {
        guint32 i = engine->free_head;
        engine->free_head = engine->slots[i].next_free;
        return i;
    }
    if (engine->n_slots == engine->slots_cap) {
        engine->slots_cap = engine->slots_cap ? engine->slots_cap * 2 : 64;
        engine->slots = g_renew(Slot, engine->slots, engine->slots_cap);
    }
    guint32 i = engine->n_slots++;
    engine->slots[i].generation = 1;
    engine->slots[i].state = SLOT_FREE;
    return i;
}

static inline void
__slot_release(SimEngine *engine, guint32 i)
{
    Slot *s = &engine->slots[i];
    s->generation++;
    if (s->generation == 0) /* keep handles non-zero after wrap-around */
        s->generation = 1;
    s->state = SLOT_FREE;
    s->next_free = engine->free_head;
    engine->free_head = i;
}

static inline void
__sift_up(HeapEntry *heap, gsize i)
{
    HeapEntry e = heap[i];
    while (i > 0) {
        gsize parent = (i - 1) / D_ARY;
        if (!__entry_less(&e, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = e;
}

static inline void
__sift_down(HeapEntry *heap, gsize len, gsize i)
{
    HeapEntry e = heap[i];
    for (;;) {
        gsize first = i * D_ARY + 1;
        if (first >= len)
            break;
        gsize best = first;
        gsize last = MIN(first + D_ARY, len);
        for (gsize c = first + 1; c < last; c++)
            if (__entry_less(&heap[c], &heap[best]))
                best = c;
        if (!__entry_less(&heap[best], &e))
            break;
        heap[i] = heap[best];
        i = best;
    }
    heap[i] = e;
}

/* Removes the cancelled entries and restores the heap in O(n). */
static void
__rebuild(SimEngine *engine)
{
    gsize out = 0;
    for (gsize i = 0; i < engine->heap_len; i++) {
        guint32 slot = engine->heap[i].slot;
        if (engine->slots[slot].state == SLOT_DEAD)
            __slot_release(engine, slot);
        else
            engine->heap[out++] = engine->heap[i];
    }
    engine->heap_len = out;
    engine->n_dead = 0;
    if (out > 1)
        for (gsize i = (out - 2) / D_ARY + 1; i-- > 0;)
            __sift_down(engine->heap, out, i);
}

SimEventId
sim_engine_schedule(SimEngine *engine, SimTime at, int priority, SimEventFunc func,
                    gpointer user_data)
{
    g_return_val_if_fail(engine != NULL, 0);
    g_return_val_if_fail(func != NULL, 0);
    g_return_val_if_fail(at >= engine->now, 0);
    g_return_val_if_fail(priority >= -PRIORITY_BIAS && priority < PRIORITY_BIAS, 0);
    /* 2^48 insertions outlast any simulation this engine is meant for. */
    g_assert(engine->next_seq <= SEQ_MASK);

    guint32 slot = __slot_alloc(engine);
    Slot *s = &engine->slots[slot];
    s->func = func;
    s->user_data = user_data;
    s->state = SLOT_LIVE;

    if (engine->heap_len == engine->heap_cap) {
        engine->heap_cap = engine->heap_cap ? engine->heap_cap * 2 : 64;
        engine->heap = g_renew(HeapEntry, engine->heap, engine->heap_cap);
    }
    HeapEntry *e = &engine->heap[engine->heap_len];
    e->time = at;
    e->key = ((guint64)(priority + PRIORITY_BIAS) << SEQ_BITS) | engine->next_seq++;
    e->slot = slot;
    __sift_up(engine->heap, engine->heap_len++);
    engine->n_live++;
    return ((guint64)s->generation << 32) | slot;
}

SimEventId
sim_engine_schedule_in(SimEngine *engine, SimTime delay, int priority, SimEventFunc func,
                       gpointer user_data)
{
    g_return_val_if_fail(engine != NULL, 0);
    g_return_val_if_fail(delay >= 0 && delay <= SIM_TIME_NEVER - engine->now, 0);
    return sim_engine_schedule(engine, engine->now + delay, priority, func, user_data);
}

gboolean
sim_engine_cancel(SimEngine *engine, SimEventId id)
{
    g_return_val_if_fail(engine != NULL, FALSE);
    guint32 slot = (guint32)(id & G_MAXUINT32);
    guint32 generation = (guint32)(id >> 32);
    if (id == 0 || slot >= engine->n_slots)
        return FALSE;
    Slot *s = &engine->slots[slot];
    if (s->generation != generation || s->state != SLOT_LIVE)
        return FALSE;
    s->state = SLOT_DEAD;
    engine->n_live--;
    engine->n_dead++;
    if (engine->n_dead >= REBUILD_MIN_DEAD && engine->n_dead > engine->n_live)
        __rebuild(engine);
    return TRUE;
}

static inline void
__pop_top(SimEngine *engine)
{
    engine->heap_len--;
    if (engine->heap_len > 0) {
        engine->heap[0] = engine->heap[engine->heap_len];
        __sift_down(engine->heap, engine->heap_len, 0);
    }
}

/* Drops cancelled entries from the top; returns the top live entry or NULL. */
static inline HeapEntry *
__live_top(SimEngine *engine)
{
    while (engine->heap_len > 0) {
        guint32 slot = engine->heap[0].slot;
        if (engine->slots[slot].state == SLOT_LIVE)
            return &engine->heap[0];
        __slot_release(engine, slot);
        engine->n_dead--;
        __pop_top(engine);
    }
    return NULL;
}

gboolean
sim_engine_step(SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, FALSE);
    HeapEntry *top = __live_top(engine);
    if (top == NULL)
        return FALSE;
    guint32 slot = top->slot;
    engine->now = top->time;
    __pop_top(engine);

    Slot *s = &engine->slots[slot];
    SimEventFunc func = s->func;
    gpointer user_data = s->user_data;
    /* Release before calling so the handler can reuse the slot and a cancel of its own handle
     * is a harmless no-op. */
    __slot_release(engine, slot);
    engine->n_live--;
    func(engine, user_data);
    return TRUE;
}

guint64
sim_engine_run(SimEngine *engine, SimTime until)
{
    g_return_val_if_fail(engine != NULL, 0);
    guint64 fired = 0;
    engine->stop = FALSE;
    while (!engine->stop) {
        HeapEntry *top = __live_top(engine);
        if (top == NULL || top->time > until)
            break;
        sim_engine_step(engine);
        fired++;
    }
    return fired;
}

void
sim_engine_stop(SimEngine *engine)
{
    g_return_if_fail(engine != NULL);
    engine->stop = TRUE;
}

SimTime
sim_engine_now(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, 0);
    return engine->now;
}

gsize
sim_engine_pending(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, 0);
    return engine->n_live;
}

SimTime
sim_engine_peek_time(SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, SIM_TIME_NEVER);
    HeapEntry *top = __live_top(engine);
    return top ? top->time : SIM_TIME_NEVER;
}
