/* spotlab: seeded, splittable random numbers.
 *
 * Every random decision in a simulation draws from a SimRng stream that is derived from the
 * scenario seed by a path of stream numbers (for example: seed -> replica 12 -> pool 3). A
 * stream's values depend only on its path, never on how many values other streams drew or on
 * which thread ran them, so results are a pure function of (scenario, seed).
 *
 * The generator is xoshiro256** (Blackman and Vigna); stream keys are derived with the
 * SplitMix64 finaliser, whose avalanche makes neighbouring stream numbers unrelated. A SimRng
 * is a plain value: copy it, embed it, no allocation.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    guint64 s[4]; /* generator state */
    guint64 key;  /* derivation key: children are derived from it, not from the state */
} SimRng;

/* Well-known stream numbers used by the project, so that streams never collide by accident. */
enum {
    SIM_RNG_STREAM_WINDOWS = 1, /* random start windows of the tick model, per pool */
    SIM_RNG_STREAM_REPLICA = 2, /* replicas of a continuous-time run */
};

/* Initialises @rng as the root stream of @seed. */
void sim_rng_init(SimRng *rng, guint64 seed);

/* Initialises @child as stream @stream of @parent. The parent is not advanced. */
void sim_rng_split(const SimRng *parent, guint64 stream, SimRng *child);

/* The next 64 random bits. */
guint64 sim_rng_next(SimRng *rng);

/* A uniform double in [0, 1), with 53 random bits. */
double sim_rng_double(SimRng *rng);

/* A uniform integer in [0, @bound); @bound > 0. Unbiased (Lemire's multiply-and-reject). */
guint64 sim_rng_below(SimRng *rng, guint64 bound);

/* An exponential variate with the given @rate (> 0), mean 1/@rate. */
double sim_rng_exponential(SimRng *rng, double rate);

G_END_DECLS
