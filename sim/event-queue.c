/* spotlab: discrete-event engine (see event-queue.h for the model).
 *
 * The pending events live in a ladder queue (Tang, Goh and Thng, ACM TOMACS 15(3), 2005):
 *   - the bottom holds the earliest events in exact (time, key) order: a sorted run, and a
 *     4-ary heap for events that arrive while the run is being read;
 *   - rungs hold later events unsorted, in buckets of equal width (a power of two); rung i + 1
 *     subdivides one bucket of rung i, so deeper rungs hold earlier times;
 *   - the top holds the latest events, unsorted.
 * Each of them owns a contiguous range of time and the ranges never overlap, so an event is
 * placed by its time alone: events with equal times always meet in the same bucket and then in
 * the bottom, which orders them by priority and insertion sequence. Events therefore fire in
 * exactly the (time, priority, sequence) order of a single heap.
 *
 * When the bottom runs dry, the next non-empty bucket of the deepest rung is sorted into the run
 * (a bucket with many events is split into a new rung first; one whose times bunch up goes to
 * the heap instead), and the top becomes a new rung once the ladder is used up. Each event moves
 * a bounded number of times, so scheduling and firing cost O(1) amortised for the usual
 * distributions of times; a queue of equal times degrades to the heap's O(log n). A small queue
 * never leaves the bottom.
 *
 * What moves is a 24-byte entry (time, key, slot): buckets keep their entries in chunks and the
 * top in an array, so moving an event reads memory in order. The slot table holds what a
 * handler needs and is read only to fire or cancel. A handle is the slot index and the slot's
 * generation, which changes whenever the slot is released, so stale handles are recognised.
 */
#include "event-queue.h"

#include <string.h>

typedef struct {
    SimEventFunc func; /* NULL once cancelled, and while free */
    gpointer user_data;
    guint32 generation; /* bumped whenever the slot is released, so old handles go stale */
    guint32 next_free;
} Slot;

typedef struct {
    SimTime time;
    guint64 key; /* biased priority in the top 16 bits, insertion sequence in the low 48 */
    guint32 slot;
} Entry;

/* 21 entries and the link fill 512 bytes. */
#define CHUNK_ENTRIES 21
typedef struct {
    Entry entry[CHUNK_ENTRIES];
    guint32 next; /* the bucket's previous (full) chunk, or the next free chunk */
} Chunk;

typedef struct {
    guint32 head;  /* the newest chunk, holding the last ((count - 1) % CHUNK_ENTRIES) + 1 */
    guint32 count; /* entries, cancelled ones included */
} Bucket;

typedef struct {
    guint64 start;     /* time of bucket 0 */
    guint64 cur_start; /* start of bucket cur: this rung owns the times from here up */
    guint shift;       /* buckets are 2^shift microseconds wide */
    gsize cur;         /* the buckets before it have been handed on */
    gsize n_buckets;
    Bucket *buckets;
    gsize buckets_cap;
} Rung;

#define MAX_RUNGS 8

struct _SimEngine {
    Slot *slots;
    guint32 n_slots;
    guint32 slots_cap;
    guint32 free_slot; /* NO_INDEX when empty */

    Entry *heap; /* the bottom */
    gsize heap_len;
    gsize heap_cap;
    gsize spill_at; /* heap size past which the heap is spilled into a new rung */

    Rung rungs[MAX_RUNGS];
    guint n_rungs;
    Chunk *chunks;
    guint32 n_chunks; /* chunks ever handed out since the last reset */
    guint32 chunks_cap;
    guint32 free_chunk; /* NO_INDEX when empty */

    /* A bucket moved down whole is sorted into the run and read from run_pos on; events that
     * arrive below the ladder meanwhile go to the heap, and the earlier of the two fires. */
    Entry *run;
    gsize run_pos;
    gsize run_len;
    gsize run_cap;

    Entry *scratch; /* room to take a bucket apart */
    gsize scratch_cap;
    guint32 *counts; /* the counting pass of a sort */
    gsize counts_cap;

    Entry *top;
    gsize n_top;
    gsize top_cap;
    guint64 top_start; /* events at or after it go to the top; TOP_NONE while there is none */
    guint64 top_min, top_max;

    gsize n_live;
    gsize n_dead; /* cancelled events still queued somewhere */
    guint64 next_seq;
    SimTime now;
    gboolean stop;
};

#define SEQ_BITS      48
#define SEQ_MASK      ((G_GUINT64_CONSTANT(1) << SEQ_BITS) - 1)
#define PRIORITY_BIAS 32768
#define NO_INDEX      G_MAXUINT32
#define TOP_NONE      G_MAXUINT64 /* above every time: SimTime is at most G_MAXINT64 */
/* Rebuild once dead entries outnumber live ones and there are enough to be worth it. */
#define REBUILD_MIN_DEAD 64

#define D_ARY 4
/* A heap this small stays in the L1 cache; past it the ladder takes over. */
#define BOTTOM_MAX 256
/* A bucket with more events than this is split into a new rung rather than moved down. */
#define BUCKET_MAX 256
/* Events per bucket when a rung is made. A bucket then gains events until its turn comes, and
 * moves down as a whole: a few dozen entries, read in order, cost less than touching a bucket's
 * chunk for every handful of events. */
#define EVENTS_PER_BUCKET 16

/* The firing order. Times are never negative (at >= now >= 0), so (time, key) compares as one
 * unsigned 128-bit number where the compiler has them: two instructions and no branch, where
 * the heap would otherwise mispredict about every other comparison of random times. */
#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 EntryOrder;

static inline gboolean
__entry_less(const Entry *a, const Entry *b)
{
    EntryOrder x = ((EntryOrder)(guint64)a->time << 64) | a->key;
    EntryOrder y = ((EntryOrder)(guint64)b->time << 64) | b->key;
    return x < y;
}
#else
static inline gboolean
__entry_less(const Entry *a, const Entry *b)
{
    /* Bitwise rather than short-circuit operators, for the same reason. */
    return (a->time < b->time) | ((a->time == b->time) & (a->key < b->key));
}
#endif

/* ceil(log2(x)) for x >= 1; only needed when a rung is made. */
static guint
__ceil_log2(guint64 x)
{
    guint n = 0;
    while (n < 63 && (G_GUINT64_CONSTANT(1) << n) < x)
        n++;
    return n;
}

/* A hint to start loading @addr; a no-op where the compiler has no such builtin. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PREFETCH(addr) ((void)(addr))
#endif

SimEngine *
sim_engine_new(void)
{
    SimEngine *engine = g_new0(SimEngine, 1);
    engine->free_slot = NO_INDEX;
    engine->free_chunk = NO_INDEX;
    engine->top_start = TOP_NONE;
    engine->spill_at = BOTTOM_MAX;
    return engine;
}

void
sim_engine_free(SimEngine *engine)
{
    if (engine == NULL)
        return;
    g_free(engine->slots);
    g_free(engine->heap);
    for (guint i = 0; i < MAX_RUNGS; i++)
        g_free(engine->rungs[i].buckets);
    g_free(engine->chunks);
    g_free(engine->run);
    g_free(engine->scratch);
    g_free(engine->counts);
    g_free(engine->top);
    g_free(engine);
}

/* ---- slots and chunks ---------------------------------------------------------------------- */

static inline void
__slot_release(SimEngine *engine, guint32 i)
{
    Slot *s = &engine->slots[i];
    s->generation++;
    if (s->generation == 0) /* keep handles non-zero after wrap-around */
        s->generation = 1;
    s->func = NULL;
    s->next_free = engine->free_slot;
    engine->free_slot = i;
}

static inline guint32
__slot_alloc(SimEngine *engine)
{
    if (engine->free_slot != NO_INDEX) {
        guint32 i = engine->free_slot;
        engine->free_slot = engine->slots[i].next_free;
        return i;
    }
    if (engine->n_slots == engine->slots_cap) {
        engine->slots_cap = engine->slots_cap ? engine->slots_cap * 2 : 64;
        engine->slots = g_renew(Slot, engine->slots, engine->slots_cap);
    }
    guint32 i = engine->n_slots++;
    engine->slots[i].generation = 1;
    engine->slots[i].func = NULL;
    return i;
}

/* A cancelled event's entry has reached a place where it can be dropped. */
static inline void
__drop_dead(SimEngine *engine, guint32 slot)
{
    __slot_release(engine, slot);
    engine->n_dead--;
}

static inline guint32
__chunk_alloc(SimEngine *engine)
{
    if (engine->free_chunk != NO_INDEX) {
        guint32 i = engine->free_chunk;
        engine->free_chunk = engine->chunks[i].next;
        return i;
    }
    if (engine->n_chunks == engine->chunks_cap) {
        engine->chunks_cap = engine->chunks_cap ? engine->chunks_cap * 2 : 64;
        engine->chunks = g_renew(Chunk, engine->chunks, engine->chunks_cap);
    }
    return engine->n_chunks++;
}

static inline void
__chunk_free(SimEngine *engine, guint32 i)
{
    engine->chunks[i].next = engine->free_chunk;
    engine->free_chunk = i;
}

void
sim_engine_reset(SimEngine *engine)
{
    g_return_if_fail(engine != NULL);
    /* Release every slot with a new generation so handles from before the reset go stale. */
    engine->free_slot = NO_INDEX;
    for (guint32 i = engine->n_slots; i-- > 0;)
        __slot_release(engine, i);
    engine->heap_len = 0;
    engine->run_pos = 0;
    engine->run_len = 0;
    engine->spill_at = BOTTOM_MAX;
    engine->n_rungs = 0;
    engine->n_chunks = 0;
    engine->free_chunk = NO_INDEX;
    engine->n_top = 0;
    engine->top_start = TOP_NONE;
    engine->n_live = 0;
    engine->n_dead = 0;
    engine->next_seq = 0;
    engine->now = 0;
    engine->stop = FALSE;
}

/* ---- the bottom heap ----------------------------------------------------------------------- */

static inline void
__sift_up(Entry *heap, gsize i)
{
    Entry e = heap[i];
    while (i > 0) {
        gsize parent = (i - 1) / D_ARY;
        if (!__entry_less(&e, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = e;
}

/* The index of the least of the @n (1..4) siblings at @c. Entries are distinct (sequence
 * numbers are unique), so the answer does not depend on how the comparisons are arranged. */
static inline gsize
__least_of_group(const Entry *c, gsize n)
{
    if (n == D_ARY) {
        gsize a = __entry_less(&c[1], &c[0]);
        gsize b = 2 + (gsize)__entry_less(&c[3], &c[2]);
        /* A mask rather than a conditional, which the compiler would turn back into a branch. */
        gsize take_b = -(gsize)__entry_less(&c[b], &c[a]);
        return a ^ ((a ^ b) & take_b);
    }
    gsize best = 0;
    for (gsize j = 1; j < n; j++)
        if (__entry_less(&c[j], &c[best]))
            best = j;
    return best;
}

static inline void
__sift_down(Entry *heap, gsize len, gsize i)
{
    Entry e = heap[i];
    for (;;) {
        gsize first = i * D_ARY + 1;
        if (first >= len)
            break;
        gsize best = first + __least_of_group(&heap[first], MIN(D_ARY, len - first));
        if (!__entry_less(&heap[best], &e))
            break;
        heap[i] = heap[best];
        i = best;
    }
    heap[i] = e;
}

static inline void
__heap_reserve(SimEngine *engine, gsize extra)
{
    if (engine->heap_len + extra > engine->heap_cap) {
        engine->heap_cap = MAX(engine->heap_len + extra, MAX(2 * engine->heap_cap, 64));
        engine->heap = g_renew(Entry, engine->heap, engine->heap_cap);
    }
}

static void
__heapify(SimEngine *engine)
{
    gsize len = engine->heap_len;
    if (len > 1)
        for (gsize i = (len - 2) / D_ARY + 1; i-- > 0;)
            __sift_down(engine->heap, len, i);
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

/* ---- the ladder ---------------------------------------------------------------------------- */

/* Makes rung @r cover [start, start + n_buckets << shift), every bucket empty. */
static void
__rung_init(Rung *r, guint64 start, guint shift, gsize n_buckets)
{
    if (r->buckets_cap < n_buckets) {
        g_free(r->buckets);
        r->buckets_cap = MAX(n_buckets, 2 * r->buckets_cap);
        r->buckets = g_new(Bucket, r->buckets_cap);
    }
    memset(r->buckets, 0, n_buckets * sizeof(Bucket));
    r->start = start;
    r->cur_start = start;
    r->shift = shift;
    r->cur = 0;
    r->n_buckets = n_buckets;
}

static inline void
__bucket_push(SimEngine *engine, Rung *r, const Entry *e)
{
    Bucket *b = &r->buckets[((guint64)e->time - r->start) >> r->shift];
    /* The place follows from the count, so storing the entry waits for no load of the chunk. */
    guint32 pos = b->count % CHUNK_ENTRIES;
    if (pos == 0) {
        guint32 c = __chunk_alloc(engine);
        engine->chunks[c].next = b->count > 0 ? b->head : NO_INDEX;
        b->head = c;
    }
    engine->chunks[b->head].entry[pos] = *e;
    b->count++;
}

/* Copies the entries of bucket @b to @out (room for b.count) and frees its chunks. */
static void
__bucket_take(SimEngine *engine, Bucket b, Entry *out)
{
    guint32 c = b.head;
    guint32 n = b.count > 0 ? (b.count - 1) % CHUNK_ENTRIES + 1 : 0; /* in the newest chunk */
    for (guint32 left = b.count; left > 0; left -= n, n = CHUNK_ENTRIES) {
        memcpy(out, engine->chunks[c].entry, n * sizeof(Entry));
        out += n;
        guint32 older = engine->chunks[c].next;
        __chunk_free(engine, c);
        c = older;
    }
}

/* Takes the entries of bucket @b into the scratch array; returns it. */
static Entry *
__bucket_to_scratch(SimEngine *engine, Bucket b)
{
    if (engine->scratch_cap < b.count) {
        engine->scratch_cap = MAX(b.count, 2 * engine->scratch_cap);
        g_free(engine->scratch);
        engine->scratch = g_new(Entry, engine->scratch_cap);
    }
    __bucket_take(engine, b, engine->scratch);
    return engine->scratch;
}

/* Sorts the @n entries at @in into the run, which is empty, and returns TRUE; or returns FALSE,
 * leaving the run empty, when the times bunch up so much that sorting them would cost more
 * than a heap (a counting pass spreads them over about @n classes by time, and an insertion
 * sort then orders each class; that is linear only while the classes stay small). */
static gboolean
__sort_to_run(SimEngine *engine, const Entry *in, gsize n)
{
    guint64 lo = G_MAXUINT64, hi = 0;
    for (gsize i = 0; i < n; i++) {
        lo = MIN(lo, (guint64)in[i].time);
        hi = MAX(hi, (guint64)in[i].time);
    }
    guint bits = __ceil_log2(n);
    guint shift = 0;
    while (shift < 63 && ((hi - lo) >> shift) >= (G_GUINT64_CONSTANT(1) << bits))
        shift++;
    gsize n_classes = (gsize)1 << bits;
    if (engine->counts_cap < n_classes + 1) {
        engine->counts_cap = MAX(n_classes + 1, 2 * engine->counts_cap);
        g_free(engine->counts);
        engine->counts = g_new(guint32, engine->counts_cap);
    }
    guint32 *counts = engine->counts;
    memset(counts, 0, (n_classes + 1) * sizeof *counts);
    for (gsize i = 0; i < n; i++)
        counts[(((guint64)in[i].time - lo) >> shift) + 1]++;
    /* The insertion sort costs about the sum of squared class sizes. */
    guint64 work = 0;
    for (gsize c = 1; c <= n_classes; c++) {
        work += (guint64)counts[c] * counts[c];
        counts[c] += counts[c - 1];
    }
    if (work > 4 * (guint64)n + 64)
        return FALSE;
    if (engine->run_cap < n) {
        engine->run_cap = MAX(n, 2 * engine->run_cap);
        g_free(engine->run);
        engine->run = g_new(Entry, engine->run_cap);
    }
    Entry *run = engine->run;
    for (gsize i = 0; i < n; i++)
        run[counts[((guint64)in[i].time - lo) >> shift]++] = in[i];
    for (gsize i = 1; i < n; i++) {
        Entry e = run[i];
        gsize j = i;
        for (; j > 0 && __entry_less(&e, &run[j - 1]); j--)
            run[j] = run[j - 1];
        run[j] = e;
    }
    engine->run_pos = 0;
    engine->run_len = n;
    return TRUE;
}

/* Moves the @n entries at @in to the bottom (the run and the heap are empty). */
static void
__entries_down(SimEngine *engine, const Entry *in, gsize n)
{
    if (!__sort_to_run(engine, in, n)) {
        __heap_reserve(engine, n);
        memcpy(engine->heap, in, n * sizeof(Entry));
        engine->heap_len = n;
        __heapify(engine);
    }
    /* These events fire soon, and their slots have not been touched since they were scheduled:
     * start loading them now rather than when each handler is due. */
    for (gsize i = 0; i < n; i++)
        PREFETCH(&engine->slots[in[i].slot]);
}

/* A shift giving about @n buckets over @span microseconds (@span, @n >= 1). */
static inline guint
__shift_for(guint64 span, guint64 n)
{
    return __ceil_log2((span + n - 1) / n);
}

/* The top becomes rung 0. */
static void
__top_to_rung(SimEngine *engine)
{
    guint64 span = engine->top_max - engine->top_min + 1;
    guint shift = __shift_for(span, MAX(1, (guint64)engine->n_top / EVENTS_PER_BUCKET));
    gsize n_buckets = (gsize)((span - 1) >> shift) + 1;
    Rung *r = &engine->rungs[0];
    __rung_init(r, engine->top_min, shift, n_buckets);
    engine->n_rungs = 1;
    /* The rung ends past top_max, so later events from there on go to the new top. The sum
     * cannot wrap: top_max < 2^63 and the rung is at most twice the span wide. */
    engine->top_start = engine->top_min + ((guint64)n_buckets << shift);
    for (gsize i = 0; i < engine->n_top; i++)
        __bucket_push(engine, r, &engine->top[i]);
    engine->n_top = 0;
}

/* The heap has grown past spill_at: move the bottom (the run too, which shares its times) into a
 * new deepest rung, so that the heap stays small. */
static void
__spill(SimEngine *engine)
{
    const gsize len = engine->heap_len;
    const gsize n_run = engine->run_len - engine->run_pos;
    const Entry *run = engine->run + engine->run_pos;
    guint64 min = (guint64)engine->heap[0].time;
    if (n_run > 0)
        min = MIN(min, (guint64)run[0].time);
    guint64 limit; /* the end of the times the bottom owns */
    if (engine->n_rungs > 0) {
        limit = engine->rungs[engine->n_rungs - 1].cur_start;
    } else if (engine->top_start != TOP_NONE) {
        limit = engine->top_start;
    } else {
        limit = n_run > 0 ? (guint64)run[n_run - 1].time : 0;
        for (gsize i = 0; i < len; i++)
            limit = MAX(limit, (guint64)engine->heap[i].time);
        limit++;
    }
    /* Events that share one time cannot be split, nor can the ladder grow for ever: let the
     * heap grow instead, and look again once it has doubled. */
    if (limit - min < 2 || engine->n_rungs == MAX_RUNGS) {
        engine->spill_at = 2 * len;
        return;
    }
    guint64 span = limit - min;
    guint shift = __shift_for(span, MAX(1, (len + n_run) / EVENTS_PER_BUCKET));
    Rung *r = &engine->rungs[engine->n_rungs];
    __rung_init(r, min, shift, (gsize)((span - 1) >> shift) + 1);
    if (engine->n_rungs == 0 && engine->top_start == TOP_NONE)
        engine->top_start = limit;
    engine->n_rungs++;
    for (gsize i = 0; i < n_run; i++)
        __bucket_push(engine, r, &run[i]);
    for (gsize i = 0; i < len; i++)
        __bucket_push(engine, r, &engine->heap[i]);
    engine->run_pos = 0;
    engine->run_len = 0;
    engine->heap_len = 0;
    engine->spill_at = BOTTOM_MAX;
}

/* The run and the heap are empty: refill them from the ladder. Returns FALSE when no event is
 * pending. */
static gboolean
__refill(SimEngine *engine)
{
    engine->spill_at = BOTTOM_MAX;
    for (;;) {
        if (engine->n_rungs == 0) {
            if (engine->n_top == 0) {
                engine->top_start = TOP_NONE;
                return FALSE;
            }
            if (engine->n_top <= BUCKET_MAX) {
                /* Nothing but the bottom is left, so it may own every time again. */
                __entries_down(engine, engine->top, engine->n_top);
                engine->n_top = 0;
                engine->top_start = TOP_NONE;
                return TRUE;
            }
            __top_to_rung(engine);
        }
        Rung *r = &engine->rungs[engine->n_rungs - 1];
        while (r->cur < r->n_buckets && r->buckets[r->cur].count == 0)
            r->cur++;
        if (r->cur == r->n_buckets) {
            engine->n_rungs--;
            continue;
        }
        Bucket b = r->buckets[r->cur];
        guint64 bucket_start = r->start + ((guint64)r->cur << r->shift);
        r->cur++;
        r->cur_start = bucket_start + (G_GUINT64_CONSTANT(1) << r->shift);
        if (b.count > BUCKET_MAX && r->shift > 0 && engine->n_rungs < MAX_RUNGS) {
            guint split = MIN(r->shift, __ceil_log2(MAX(2, b.count / EVENTS_PER_BUCKET)));
            Rung *child = &engine->rungs[engine->n_rungs++];
            __rung_init(child, bucket_start, r->shift - split, (gsize)1 << split);
            const Entry *e = __bucket_to_scratch(engine, b);
            for (guint32 i = 0; i < b.count; i++)
                __bucket_push(engine, child, &e[i]);
            continue;
        }
        __entries_down(engine, __bucket_to_scratch(engine, b), b.count);
        return TRUE;
    }
}

/* Removes every cancelled event, in O(pending events + buckets). */
static void
__rebuild(SimEngine *engine)
{
    gsize kept = 0;
    for (gsize i = 0; i < engine->n_top; i++) {
        if (engine->slots[engine->top[i].slot].func == NULL)
            __slot_release(engine, engine->top[i].slot);
        else
            engine->top[kept++] = engine->top[i];
    }
    engine->n_top = kept;

    /* A bucket's survivors go back into it, into the chunks just freed. */
    for (guint i = 0; i < engine->n_rungs; i++) {
        Rung *r = &engine->rungs[i];
        for (gsize j = r->cur; j < r->n_buckets; j++) {
            Bucket b = r->buckets[j];
            if (b.count == 0)
                continue;
            r->buckets[j].count = 0;
            const Entry *e = __bucket_to_scratch(engine, b);
            for (guint32 k = 0; k < b.count; k++) {
                if (engine->slots[e[k].slot].func == NULL)
                    __slot_release(engine, e[k].slot);
                else
                    __bucket_push(engine, r, &e[k]);
            }
        }
    }

    kept = 0;
    for (gsize i = engine->run_pos; i < engine->run_len; i++) {
        if (engine->slots[engine->run[i].slot].func == NULL)
            __slot_release(engine, engine->run[i].slot);
        else
            engine->run[kept++] = engine->run[i];
    }
    engine->run_pos = 0;
    engine->run_len = kept;

    kept = 0;
    for (gsize i = 0; i < engine->heap_len; i++) {
        if (engine->slots[engine->heap[i].slot].func == NULL)
            __slot_release(engine, engine->heap[i].slot);
        else
            engine->heap[kept++] = engine->heap[i];
    }
    engine->heap_len = kept;
    __heapify(engine);
    engine->n_dead = 0;
}

/* ---- the API ------------------------------------------------------------------------------- */

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
    engine->n_live++;
    const SimEventId id = ((guint64)s->generation << 32) | slot;
    const Entry e = {at, ((guint64)(priority + PRIORITY_BIAS) << SEQ_BITS) | engine->next_seq++,
                     slot};

    /* Times are never negative (at >= now >= 0), so they compare as unsigned. */
    const guint64 t = (guint64)at;
    if (t >= engine->top_start) {
        if (engine->n_top == engine->top_cap) {
            engine->top_cap = engine->top_cap ? 2 * engine->top_cap : 64;
            engine->top = g_renew(Entry, engine->top, engine->top_cap);
        }
        engine->top_min = engine->n_top == 0 ? t : MIN(engine->top_min, t);
        engine->top_max = engine->n_top == 0 ? t : MAX(engine->top_max, t);
        engine->top[engine->n_top++] = e;
        return id;
    }
    for (guint i = 0; i < engine->n_rungs; i++) {
        if (t >= engine->rungs[i].cur_start) {
            __bucket_push(engine, &engine->rungs[i], &e);
            return id;
        }
    }
    __heap_reserve(engine, 1);
    engine->heap[engine->heap_len++] = e;
    __sift_up(engine->heap, engine->heap_len - 1);
    if (engine->heap_len > engine->spill_at)
        __spill(engine);
    return id;
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
    if (s->generation != generation || s->func == NULL)
        return FALSE;
    /* The entry stays queued, marked dead through its slot, until it reaches the top of the
     * heap or a rebuild drops it; the slot is released then. */
    s->func = NULL;
    engine->n_live--;
    engine->n_dead++;
    if (engine->n_dead >= REBUILD_MIN_DEAD && engine->n_dead > engine->n_live)
        __rebuild(engine);
    return TRUE;
}

/* The earliest pending event, cancelled ones dropped on the way: in the run when @from_run is set
 * on return, else at the top of the heap. NULL when no event is pending. */
static inline const Entry *
__live_top(SimEngine *engine, gboolean *from_run)
{
    for (;;) {
        const gboolean has_run = engine->run_pos < engine->run_len;
        const Entry *e;
        if (has_run && (engine->heap_len == 0 ||
                        __entry_less(&engine->run[engine->run_pos], &engine->heap[0]))) {
            e = &engine->run[engine->run_pos];
            *from_run = TRUE;
        } else if (engine->heap_len > 0) {
            e = &engine->heap[0];
            *from_run = FALSE;
        } else {
            if (!__refill(engine))
                return NULL;
            continue;
        }
        if (engine->slots[e->slot].func != NULL)
            return e;
        __drop_dead(engine, e->slot);
        if (*from_run)
            engine->run_pos++;
        else
            __pop_top(engine);
    }
}

/* Fires @top, which __live_top() returned with @from_run. */
static inline void
__fire(SimEngine *engine, const Entry *top, gboolean from_run)
{
    guint32 slot = top->slot;
    engine->now = top->time;
    if (from_run)
        engine->run_pos++;
    else
        __pop_top(engine);
    Slot *s = &engine->slots[slot];
    SimEventFunc func = s->func;
    gpointer user_data = s->user_data;
    /* Release before calling so the handler can reuse the slot and a cancel of its own handle
     * is a harmless no-op. */
    __slot_release(engine, slot);
    engine->n_live--;
    func(engine, user_data);
}

gboolean
sim_engine_step(SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, FALSE);
    gboolean from_run;
    const Entry *top = __live_top(engine, &from_run);
    if (top == NULL)
        return FALSE;
    __fire(engine, top, from_run);
    return TRUE;
}

guint64
sim_engine_run(SimEngine *engine, SimTime until)
{
    g_return_val_if_fail(engine != NULL, 0);
    guint64 fired = 0;
    engine->stop = FALSE;
    while (!engine->stop) {
        gboolean from_run;
        const Entry *top = __live_top(engine, &from_run);
        if (top == NULL || top->time > until)
            break;
        __fire(engine, top, from_run);
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
    gboolean from_run;
    const Entry *top = __live_top(engine, &from_run);
    return top ? top->time : SIM_TIME_NEVER;
}
