/*
 * histogram: merging, querying and writing the log-linear histogram
 * (histogram.h says what a bucket is and proves its 1/128 bound).
 *
 * Recording is inline in the header, on the hot path; everything here runs
 * once per report, so it may walk all 4352 buckets: a quantile is one walk
 * of the running count up to the rank.
 */
#include "histogram.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "substrate/diag.h"

void
histogram_reset(struct histogram *h)
{
    memset(h, 0, sizeof(*h));
}

void
histogram_merge(struct histogram *dst, const struct histogram *src)
{
    unsigned i;

    for (i = 0; i < HIST_BUCKETS; i++) {
        dst->bucket[i] += src->bucket[i];
    }
    dst->count += src->count;
    dst->overflow += src->overflow;
    dst->sum += src->sum;
    if (src->max > dst->max) {
        dst->max = src->max;
    }
    if (src->min_not > dst->min_not) {
        dst->min_not = src->min_not;
    }
}

/* The shift of bucket i: its width is 2^shift (0 for the exact buckets). */
static unsigned
histogram_shift(unsigned i)
{
    return i < 2 * HIST_SUB ? 0 : (i >> HIST_SUB_BITS) - 1;
}

uint64_t
histogram_bucket_low(unsigned i)
{
    unsigned s = histogram_shift(i);

    return (uint64_t) (i - (s << HIST_SUB_BITS)) << s;
}

uint64_t
histogram_bucket_high(unsigned i)
{
    return histogram_bucket_low(i) + ((1ull << histogram_shift(i)) - 1);
}

uint64_t
histogram_min(const struct histogram *h)
{
    return h->count ? ~h->min_not : 0;
}

uint64_t
histogram_max(const struct histogram *h)
{
    return h->max;
}

double
histogram_mean(const struct histogram *h)
{
    return h->count ? (double) h->sum / (double) h->count : 0.0;
}

uint64_t
histogram_rank(double q, uint64_t n)
{
    double   x;
    uint64_t r;

    if (n == 0) {
        return 0;
    }
    if (!(q > 0.0)) {                  /* q <= 0, and NaN */
        return 1;
    }
    if (q >= 1.0) {
        return n;
    }
    x = q * (double) n;
    x -= x * 0x1p-50;
    r = (uint64_t) ceil(x);
    return r < 1 ? 1 : r > n ? n : r;
}

uint64_t
histogram_value_at(const struct histogram *h, double q)
{
    uint64_t r = histogram_rank(q, h->count), seen = 0, high;
    unsigned i;

    if (r == 0) {
        return 0;
    }
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= r) {
            high = histogram_bucket_high(i);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;                     /* the rank falls among the overflow */
}

void
histogram_summarize(const struct histogram *h, struct histogram_summary *s)
{
    s->count = h->count;
    s->overflow = h->overflow;
    s->min = histogram_min(h);
    s->max = histogram_max(h);
    s->mean = histogram_mean(h);
    s->p50 = histogram_value_at(h, 0.5);
    s->p90 = histogram_value_at(h, 0.9);
    s->p99 = histogram_value_at(h, 0.99);
    s->p999 = histogram_value_at(h, 0.999);
}

static int
histogram_io_status(FILE *f)
{
    if (ferror(f)) {
        diag_set("writing the histogram: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

int
histogram_csv_header(FILE *f)
{
    fputs("op,low_ns,high_ns,count,cumulative\n", f);
    return histogram_io_status(f);
}

/* One row; `seen` is the running count through this row. */
static void
histogram_csv_row(FILE *f, const char *op, uint64_t low, uint64_t high,
    uint64_t count, uint64_t seen, uint64_t total)
{
    fprintf(f, "%s,%llu,%llu,%llu,%.9f\n", op, (unsigned long long) low,
            (unsigned long long) high, (unsigned long long) count,
            (double) seen / (double) total);
}

int
histogram_write_csv(FILE *f, const char *op, const struct histogram *h)
{
    uint64_t seen = 0;
    unsigned i;

    for (i = 0; i < HIST_BUCKETS; i++) {
        if (h->bucket[i] != 0) {
            seen += h->bucket[i];
            histogram_csv_row(f, op, histogram_bucket_low(i), histogram_bucket_high(i),
                              h->bucket[i], seen, h->count);
        }
    }
    if (h->overflow != 0) {
        histogram_csv_row(f, op, HIST_VALUE_MAX + 1, h->max, h->overflow,
                          h->count, h->count);
    }
    return histogram_io_status(f);
}
