/*
 * clock: a cheap tick counter for the lock's counters.
 *
 * On x86-64 a tick is one TSC cycle (rdtsc, ~12 ns on this project's VMs);
 * elsewhere it is one nanosecond of CLOCK_MONOTONIC.  Counters store raw
 * ticks and convert to nanoseconds only when reported, with a rate that
 * clock_ticks_per_ns() calibrates once per process.
 */
#ifndef SHMBENCH_CLOCK_H
#define SHMBENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t
clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* A tick: one TSC cycle on x86, else one nanosecond. */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t clock_ticks(void) { return __rdtsc(); }
#else
static inline uint64_t clock_ticks(void) { return clock_ns(); }
#endif

/* Ticks per nanosecond (calibrated over ~20 ms on first call). */
double clock_ticks_per_ns(void);

/* Convert ticks to nanoseconds. */
static inline double
clock_ticks_to_ns(uint64_t ticks)
{
    return (double) ticks / clock_ticks_per_ns();
}

#endif
