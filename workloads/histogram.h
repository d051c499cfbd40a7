/*
 * histogram: a log-linear latency histogram of nanosecond values.
 *
 * The idea, HdrHistogram's: split every power-of-two range of values into
 * the same number of equal sub-buckets, so that a bucket's width is a fixed
 * fraction of the values it holds.  A value is then known to within that
 * fraction of itself, in a fixed table that is cheap to fill (a count of
 * leading zeros, a shift and an increment: no division, no loop) and
 * trivial to merge (add the tables).
 *
 * The layout.  With HIST_SUB_BITS = 7, S = 2^7 = 128 sub-buckets:
 *
 *   - a value v < 2S = 256 has a bucket of its own, index v (exact);
 *   - a value v in [2^e, 2^(e+1)), e >= 8, has shift s = e - 7 and index
 *     (s << 7) + (v >> s); its bucket holds [ (v >> s) << s,
 *     ((v >> s) + 1) << s ), a width of 2^s, and v >> s lies in [128, 256).
 *
 * Both cases are one formula: s = floor(log2(v | S)) - 7, which is 0 for
 * every v < 256, and index = (s << 7) + (v >> s).  Values up to
 * HIST_VALUE_MAX = 2^40 - 1 ns (about 18 minutes) have buckets, 34 groups of
 * 128, HIST_BUCKETS = 4352 in all; larger values are counted as overflow.
 *
 * The bound.  A bucket of shift s > 0 starts at low = m * 2^s with
 * m = v >> s >= 128, and ends at high = low + 2^s - 1.  For every value v
 * in it, low <= v <= high, so the bucket's upper bound overstates v by
 *
 *   (high - v) / v <= (high - low) / low = (2^s - 1) / (m * 2^s) < 1/m <= 1/128,
 *
 * that is by less than 0.79%; buckets of shift 0 are exact.  Every value
 * this module reports from buckets is such an upper bound (clamped to the
 * recorded maximum, which only brings it closer), so its relative error is
 * under 1/128 < 1%: the 1% that the metrics promise, with room.
 *
 * Percentiles.  Of n recorded values x(1) <= ... <= x(n), the q-quantile
 * (q in [0, 1]) is the order statistic x(r) of rank r = histogram_rank(q, n)
 * = max(1, ceil(q n)): the smallest recorded value v such that at least
 * ceil(q n) values are <= v.  histogram_value_at() reports the upper bound of
 * the bucket holding x(r), clamped to the maximum: a value R with
 * x(r) <= R < x(r) (1 + 1/128).  q = 1 gives the maximum exactly.  If x(r)
 * is an overflow (>= 2^40) the value is not kept; the maximum, an upper
 * bound of it, is reported.
 *
 * Placement.  A histogram is plain data, with no pointer: it can live in a
 * shared mapping and be read by another process.  An all-zero histogram is
 * an empty one (the minimum is stored complemented), so a freshly mapped
 * zeroed slot needs no initialisation.  The struct is aligned to a cache
 * line (64 bytes) and its size is a multiple of it, so that an array of
 * them, one per worker, puts no two workers on one line.  About 34.9 KB.
 * Recording is not atomic: one writer per histogram (its worker); a reader
 * merges it once the writer is done.
 */
#ifndef SHMBENCH_HISTOGRAM_H
#define SHMBENCH_HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

#define HIST_SUB_BITS   7                            /* S = 2^7 sub-buckets */
#define HIST_SUB        (1u << HIST_SUB_BITS)
#define HIST_MAX_BITS   40                           /* values < 2^40 ns */
#define HIST_VALUE_MAX  ((1ull << HIST_MAX_BITS) - 1)
#define HIST_BUCKETS    ((HIST_MAX_BITS - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

/* One histogram: a worker's latencies of one kind of operation. */
struct histogram {
    _Alignas(64)
    uint64_t          count;          /* values recorded, overflow included */
    uint64_t          overflow;       /* of them, values > HIST_VALUE_MAX */
    uint64_t          max;            /* largest value; 0 if empty */
    uint64_t          min_not;        /* ~(smallest value); 0 if empty */
    unsigned __int128 sum;            /* of all values: never wraps */
    uint64_t          bucket[HIST_BUCKETS];
};

/* What a report gives of one histogram; values in ns. */
struct histogram_summary {
    uint64_t count, overflow, min, max;
    double   mean;
    uint64_t p50, p90, p99, p999;
};

/* The bucket index of value v <= HIST_VALUE_MAX (see the layout above). */
static inline unsigned
histogram_index(uint64_t v)
{
    unsigned s = (unsigned) (63 - __builtin_clzll(v | HIST_SUB)) - HIST_SUB_BITS;

    return (s << HIST_SUB_BITS) + (unsigned) (v >> s);
}

/* Record one value of v nanoseconds: O(1), a few instructions. */
static inline void
histogram_record(struct histogram *h, uint64_t v)
{
    if (v <= HIST_VALUE_MAX) {
        h->bucket[histogram_index(v)]++;
    } else {
        h->overflow++;
    }
    h->count++;
    h->sum += v;
    if (v > h->max) {
        h->max = v;
    }
    if (~v > h->min_not) {
        h->min_not = ~v;
    }
}

/* Make h empty (the same as zeroing it). */
void histogram_reset(struct histogram *h);

/* Add every value of src to dst (dst then holds the union; src is not
 * changed; dst == src doubles every count). */
void histogram_merge(struct histogram *dst, const struct histogram *src);

/* The first and last value of bucket i < HIST_BUCKETS: the bucket holds
 * exactly the values in [low, high]. */
uint64_t histogram_bucket_low(unsigned i);
uint64_t histogram_bucket_high(unsigned i);

/* Values recorded, overflow included. */
static inline uint64_t
histogram_count(const struct histogram *h)
{
    return h->count;
}

/* The smallest and largest values recorded, exactly; 0 if empty. */
uint64_t histogram_min(const struct histogram *h);
uint64_t histogram_max(const struct histogram *h);

/* The exact mean of the values recorded; 0 if empty. */
double histogram_mean(const struct histogram *h);

/* The rank of the q-quantile among n values: max(1, ceil(q n)), q clamped to
 * [0, 1], 0 if n is 0.  The product is lowered by a relative 2^-50 before
 * the ceiling, so that a decimal q whose double lies a hair above it gives
 * the rank it names (0.035 * 200 is 7.000000000000001 in doubles; the rank
 * is 7, not 8).  For n < 2^38 every k / 1000.0 gives ceil(k n / 1000)
 * exactly: a fraction of k n / 1000 is a multiple of 1/1000, far above the
 * rounding of q and of the product (a few 2^-53 n) and the 2^-50 n taken
 * off.  The price is that a q n within a relative 2^-50 above an integer
 * counts as the integer, far below anything a measurement can tell. */
uint64_t histogram_rank(double q, uint64_t n);

/* The q-quantile as defined at the top: the upper bound of the bucket
 * holding the order statistic of rank histogram_rank(q, count), clamped to
 * the maximum; within 1/128 of that order statistic above it.  0 if empty. */
uint64_t histogram_value_at(const struct histogram *h, double q);

/* count, overflow, min, max, mean and p50, p90, p99, p99.9 of h. */
void histogram_summarize(const struct histogram *h, struct histogram_summary *s);

/*
 * latency.csv.  histogram_csv_header() writes the header line
 *
 *   op,low_ns,high_ns,count,cumulative
 *
 * and histogram_write_csv() one row per non-empty bucket of h, smallest
 * first, for operation kind `op` (a word without commas: "alloc", "free"):
 *
 *   op          the kind of operation
 *   low_ns      the bucket's smallest value, ns
 *   high_ns     its largest value, ns (low_ns = high_ns below 256 ns); every
 *               value counted in the row lies in [low_ns, high_ns]
 *   count       values in the bucket
 *   cumulative  the fraction of the op's values that are <= high_ns: the
 *               running sum of count over the op's total, 9 decimals (the
 *               last row reads 1.000000000)
 *
 * Overflowed values, if any, come last as one row with low_ns 2^40 and
 * high_ns the maximum.  Returns 0, or -1 with a diag message if the stream
 * reports a write error.
 */
int histogram_csv_header(FILE *f);
int histogram_write_csv(FILE *f, const char *op, const struct histogram *h);

#endif
