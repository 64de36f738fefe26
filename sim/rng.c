/* spotlab: seeded, splittable random numbers (see rng.h). */
#include "rng.h"

#include <math.h>

static inline guint64
__splitmix64(guint64 *x)
{
    guint64 z = (*x += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline guint64
__rotl(guint64 x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Seeds the state from the key with SplitMix64, as the xoshiro authors recommend; the state
 * can never be all zero because SplitMix64 is a bijection walked over four distinct inputs. */
static void
__rng_from_key(SimRng *rng, guint64 key)
{
    guint64 x = key;
    rng->key = key;
    for (int i = 0; i < 4; i++)
        rng->s[i] = __splitmix64(&x);
}

void
sim_rng_init(SimRng *rng, guint64 seed)
{
    g_return_if_fail(rng != NULL);
    guint64 x = seed;
    __rng_from_key(rng, __splitmix64(&x));
}

void
sim_rng_split(const SimRng *parent, guint64 stream, SimRng *child)
{
    g_return_if_fail(parent != NULL && child != NULL);
    /* Two rounds of mixing: one over the stream number, one over its combination with the
     * parent key, so that (key, stream) and (key', stream') pairs that differ in any bit give
     * unrelated child keys. */
    guint64 a = stream;
    guint64 mixed_stream = __splitmix64(&a);
    guint64 b = parent->key ^ mixed_stream;
    __rng_from_key(child, __splitmix64(&b));
}

guint64
sim_rng_next(SimRng *rng)
{
    guint64 *s = rng->s;
    const guint64 result = __rotl(s[1] * 5, 7) * 9;
    const guint64 t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = __rotl(s[3], 45);
    return result;
}

double
sim_rng_double(SimRng *rng)
{
    return (double)(sim_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* GCC and Clang provide 128-bit integers on every 64-bit target the project builds for;
 * __extension__ keeps -Wpedantic quiet about them. */
__extension__ typedef unsigned __int128 RngU128;

guint64
sim_rng_below(SimRng *rng, guint64 bound)
{
    g_return_val_if_fail(bound > 0, 0);
    RngU128 m = (RngU128)sim_rng_next(rng) * bound;
    guint64 low = (guint64)m;
    if (low < bound) {
        guint64 threshold = -bound % bound;
        while (low < threshold) {
            m = (RngU128)sim_rng_next(rng) * bound;
            low = (guint64)m;
        }
    }
    return (guint64)(m >> 64);
}

double
sim_rng_exponential(SimRng *rng, double rate)
{
    g_return_val_if_fail(rate > 0, 0);
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    return -log1p(-sim_rng_double(rng)) / rate;
}
