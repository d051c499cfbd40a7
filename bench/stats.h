/*
 * stats: the few statistics that `suite`, `merge` and `compare` report
 * over the repeats of a run: a median, a percentile, and 95% intervals by
 * a seeded percentile bootstrap.
 *
 * Benchmark repeats are few (3 to 5) and their distribution is skewed (a
 * noisy neighbour makes one run slow, never one fast), so the centre is
 * the median, not the mean, and its interval comes from resampling the
 * repeats rather than from a normal approximation: draw n values with
 * replacement, take the median, 2000 times, and keep the 2.5th and 97.5th
 * percentiles of those medians.  The draws come from the project's PRNG
 * (workloads/prng.h) with a fixed seed, so that the same repeats give the
 * same interval in every summary.csv and every comparison.  A ratio of two
 * medians (compare's B/A) resamples both sides independently.
 *
 * Percentiles interpolate linearly between order statistics (Hyndman and
 * Fan's type 7, what R and numpy use by default).
 */
#ifndef SHMBENCH_STATS_H
#define SHMBENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_RESAMPLES 2000
#define STATS_SEED      0x5eedb007ull   /* every interval's draws start here */
#define STATS_CONF      0.95

/* The p-th percentile (0 <= p <= 1) of the n >= 1 values of sorted, which
 * are in increasing order. */
double stats_percentile_sorted(const double *sorted, size_t n, double p);

/* The median of the n >= 1 values of x (x is left as it was). */
double stats_median(const double *x, size_t n);

/* A 95% interval of the median of x[0..n): *lo and *hi.  With n == 1 both
 * are the value.  0, or -1 (out of memory, n == 0: diag says). */
int stats_median_interval(const double *x, size_t n, double *lo, double *hi);

/* The ratio of medians median(b) / median(a) in *ratio and its 95%
 * interval in *lo, *hi, resampling both sides; na, nb >= 1 and median(a)
 * must not be 0.  With one value on a side the interval reflects the other
 * side only; with one on both it is the ratio itself.  0 or -1. */
int stats_ratio_interval(const double *a, size_t na, const double *b, size_t nb,
    double *ratio, double *lo, double *hi);

#endif
