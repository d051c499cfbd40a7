/*
 * prng: the project's one pseudo-random generator, splitmix64 (Steele, Lea
 * and Flood 2014, the seeder of java.util.SplittableRandom and xoshiro).
 *
 * Everything random in the project is drawn from it: bench's churn
 * sequence, the differential test's traces, the multi-process tests'
 * sizes.  Their seeded sequences are part of what they mean (a seed printed
 * by a failing test must replay the same trace), so this code must never
 * change its output.  The state is one word, any value is a good seed, and
 * every draw is an add and a mix: cheap enough for a benchmark's set-up and
 * header-only so that builds which link nothing of workloads/ (lfslab's
 * test builds) can use it too.
 */
#ifndef SHMBENCH_PRNG_H
#define SHMBENCH_PRNG_H

#include <stdint.h>

/* The state's increment per draw: 2^64 / phi, odd, so the period is 2^64. */
#define PRNG_GAMMA 0x9e3779b97f4a7c15ull

/* splitmix64's output function: a bijection of 64-bit words in which every
 * input bit changes about half the output bits; also a good hash of an
 * integer key. */
static inline uint64_t
prng_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The next 64-bit draw of the generator whose state is *state. */
static inline uint64_t
prng_next(uint64_t *state)
{
    return prng_mix(*state += PRNG_GAMMA);
}

/* A draw uniform in [0, n), n >= 1: the high word of draw * n (one
 * multiplication, no division; its bias, under n / 2^64, is far below
 * anything a benchmark or a test can see). */
static inline uint64_t
prng_below(uint64_t *state, uint64_t n)
{
    return (uint64_t) (((unsigned __int128) prng_next(state) * n) >> 64);
}

#endif
