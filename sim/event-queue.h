/* spotlab: discrete-event engine.
 *
 * A SimEngine owns a clock and a priority queue of pending events. Events fire in the order
 * (time, priority, insertion sequence): equal times fire lower priority values first, and equal
 * (time, priority) pairs fire in the order they were scheduled, so a run is a pure function of
 * its inputs. Time is an integer count of microseconds since the scenario start (SimTime).
 *
 * Scheduling and firing cost O(1) amortised for the usual spreads of event times, and O(log n)
 * when many events share one time (a ladder queue over a sorted run and a 4-ary heap;
 * event-queue.c explains it). Cancelling is O(1) through the handle that scheduling returned:
 * the event is marked dead and skipped when it is reached; when dead events outnumber live ones
 * they are all removed, which keeps memory bounded and the cost amortised O(1) per cancel.
 * Handles carry a generation, so a stale handle (an event that already fired or was cancelled)
 * is recognised and ignored.
 *
 * There is no global state: every call takes the engine. An engine is not thread-safe; run one
 * engine per thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Microseconds since the scenario start. */
typedef gint64 SimTime;

#define SIM_TIME_NEVER   G_MAXINT64
#define SIM_USEC_PER_SEC G_GINT64_CONSTANT(1000000)

/* A handle to a scheduled event; 0 is never a valid handle. */
typedef guint64 SimEventId;

typedef struct _SimEngine SimEngine;

/* Called when an event fires. The engine's clock already reads the event's time. The handler
 * may schedule, cancel and stop freely. */
typedef void (*SimEventFunc)(SimEngine *engine, gpointer user_data);

/**
 * sim_engine_new:
 * Returns: (transfer full): an engine with its clock at 0 and no events.
 */
SimEngine *sim_engine_new(void);

/**
 * sim_engine_free:
 * Frees the engine and every pending event (their user data is not touched). Accepts NULL.
 */
void sim_engine_free(SimEngine *engine);

/**
 * sim_engine_reset:
 * Drops every pending event and puts the clock back at 0, keeping the allocated memory, so a
 * caller that runs many short simulations can reuse one engine. Handles from before the reset
 * become stale.
 */
void sim_engine_reset(SimEngine *engine);

/**
 * sim_engine_schedule:
 * @at: the time to fire; must not be earlier than sim_engine_now() (API misuse otherwise).
 * @priority: tie-breaker among events at the same time; lower fires first.
 * @func: the handler.
 * @user_data: passed to @func, not owned.
 * Returns: a handle for sim_engine_cancel(), never 0 (0 only on API misuse).
 */
SimEventId sim_engine_schedule(SimEngine *engine, SimTime at, int priority, SimEventFunc func,
                               gpointer user_data);

/**
 * sim_engine_schedule_in:
 * As sim_engine_schedule() at sim_engine_now() + @delay (@delay >= 0).
 */
SimEventId sim_engine_schedule_in(SimEngine *engine, SimTime delay, int priority, SimEventFunc func,
                                  gpointer user_data);

/**
 * sim_engine_cancel:
 * Cancels a pending event in O(1).
 * Returns: TRUE when the event was pending and is now cancelled; FALSE for 0, or a handle whose
 * event already fired or was cancelled.
 */
gboolean sim_engine_cancel(SimEngine *engine, SimEventId id);

/**
 * sim_engine_step:
 * Fires the next pending event, advancing the clock to its time.
 * Returns: FALSE when no event was pending.
 */
gboolean sim_engine_step(SimEngine *engine);

/**
 * sim_engine_run:
 * Fires events in order until none is pending, sim_engine_stop() is called, or the next event
 * lies after @until (that event stays pending and the clock stays at the last fired event).
 * Pass SIM_TIME_NEVER to run to the end.
 * Returns: the number of events fired.
 */
guint64 sim_engine_run(SimEngine *engine, SimTime until);

/* Makes sim_engine_run() return after the current handler. */
void sim_engine_stop(SimEngine *engine);

/* The current time: the time of the event firing now, or of the last one fired. */
SimTime sim_engine_now(const SimEngine *engine);

/* The number of pending (not cancelled) events. */
gsize sim_engine_pending(const SimEngine *engine);

/* The time of the next pending event, or SIM_TIME_NEVER. */
SimTime sim_engine_peek_time(SimEngine *engine);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimEngine, sim_engine_free)

G_END_DECLS
