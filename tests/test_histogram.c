/*
 * test_histogram: the log-linear histogram against a sorted array.
 *
 * The buckets tile [0, 2^40) without gap or overlap, each value's index
 * names the bucket that holds it, and every bucket is narrower than 1/128
 * of its low end.  On known data (uniform, exponential, bimodal, constant,
 * one value, zeros, values near 2^40, overflow) every quantile lies at or
 * above the exact order statistic of rank max(1, ceil(q n)) and less than
 * 1/128 of it above; count, min, max and mean are exact.  Ranks of decimal
 * quantiles match integer arithmetic.  Merging equals recording the union;
 * latency.csv's rows add up; a full disk is reported.
 *
 * `test_histogram --bench` prints the cost of one record in ns instead (not
 * a test: timing is noisy).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "prng.h"
#include "substrate/clock.h"
#include "testutil.h"

static struct histogram h1, h2, h3, hu;

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}

static void
test_geometry(void)
{
    unsigned i, bad = 0;
    uint64_t lo, hi;

    CHECK(sizeof(struct histogram) % 64 == 0, "size %zu", sizeof(struct histogram));
    CHECK(_Alignof(struct histogram) == 64, "alignment %zu", _Alignof(struct histogram));
    CHECK(HIST_BUCKETS == 4352, "%u buckets", (unsigned) HIST_BUCKETS);
    CHECK(histogram_bucket_low(0) == 0, "first bucket starts at %llu",
          (unsigned long long) histogram_bucket_low(0));
    CHECK(histogram_bucket_high(HIST_BUCKETS - 1) == HIST_VALUE_MAX, "last bucket ends at %llu",
          (unsigned long long) histogram_bucket_high(HIST_BUCKETS - 1));
    for (i = 0; i < HIST_BUCKETS; i++) {
        lo = histogram_bucket_low(i);
        hi = histogram_bucket_high(i);
        if (lo > hi || histogram_index(lo) != i || histogram_index(hi) != i
            || (i > 0 && lo != histogram_bucket_high(i - 1) + 1)
            || (lo != hi && (hi - lo) * 128 >= lo)    /* < 1/128 of low */
            || (i < 2 * HIST_SUB && lo != hi))
        {
            if (bad++ < 5) {
                fprintf(stderr, "bucket %u: [%llu, %llu]\n", i,
                        (unsigned long long) lo, (unsigned long long) hi);
            }
        }
    }
    CHECK(bad == 0, "%u buckets break the tiling or the 1/128 bound", bad);
}

static void
test_rank(void)
{
    static const uint64_t ns[] = { 1, 2, 7, 10, 200, 999, 1000, 1500, 12345, 100000,
                                   1000000, 999999937 };
    unsigned              k, j, bad = 0;
    uint64_t              n, want, got;

    for (j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
        n = ns[j];
        for (k = 0; k <= 1000; k++) {
            want = (k * n + 999) / 1000;
            want = want < 1 ? 1 : want;
            got = histogram_rank(k / 1000.0, n);
            if (got != want && bad++ < 5) {
                fprintf(stderr, "rank(%u/1000, %llu) = %llu, want %llu\n", k,
                        (unsigned long long) n, (unsigned long long) got,
                        (unsigned long long) want);
            }
        }
    }
    CHECK(bad == 0, "%u ranks differ from ceil(k n / 1000)", bad);
    CHECK(histogram_rank(0.999, 1000) == 999, "p99.9 of 1000");
    CHECK(histogram_rank(0.5, 0) == 0, "empty");
    CHECK(histogram_rank(-1.0, 10) == 1, "q < 0");
    CHECK(histogram_rank(2.0, 10) == 10, "q > 1");
    CHECK(histogram_rank(NAN, 10) == 1, "q NaN");
}

/* Is `got` what the header promises for order statistic `exact`: at or
 * above it by less than 1/128 of it (the maximum `max` itself for an
 * overflowed value)? */
static int
within(uint64_t got, uint64_t exact, uint64_t max)
{
    if (exact > HIST_VALUE_MAX) {
        return got == max;
    }
    return got >= exact && (got == exact || (got - exact) * 128 < exact);
}

/* h holds exactly the n values v (sorted here): check every statistic. */
static void
check_against(const char *name, const struct histogram *h, uint64_t *v, size_t n)
{
    static const double qs[] = { 0, 0.0001, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
                                 0.95, 0.99, 0.995, 0.999, 0.9999, 1 };
    unsigned __int128   sum = 0;
    struct histogram_summary s;
    uint64_t            exact, got, r;
    unsigned            i, bad = 0;
    size_t              j;

    qsort(v, n, sizeof(*v), cmp_u64);
    for (j = 0; j < n; j++) {
        sum += v[j];
    }
    CHECK(histogram_count(h) == n, "%s: count %llu, want %zu", name,
          (unsigned long long) histogram_count(h), n);
    CHECK(histogram_min(h) == v[0], "%s: min %llu, want %llu", name,
          (unsigned long long) histogram_min(h), (unsigned long long) v[0]);
    CHECK(histogram_max(h) == v[n - 1], "%s: max %llu, want %llu", name,
          (unsigned long long) histogram_max(h), (unsigned long long) v[n - 1]);
    CHECK(fabs(histogram_mean(h) - (double) sum / n) <= 1e-9 * ((double) sum / n),
          "%s: mean %.3f, want %.3f", name, histogram_mean(h), (double) sum / n);
    for (i = 0; i < sizeof(qs) / sizeof(qs[0]) + 1000; i++) {
        double q = i < sizeof(qs) / sizeof(qs[0]) ? qs[i]
                                                 : (i - sizeof(qs) / sizeof(qs[0]) + 1) / 1000.0;

        r = histogram_rank(q, n);
        exact = v[r - 1];
        got = histogram_value_at(h, q);
        if (!within(got, exact, v[n - 1])) {
            if (bad++ < 5) {
                fprintf(stderr, "%s: q %.4f (rank %llu): %llu, exact %llu\n", name, q,
                        (unsigned long long) r, (unsigned long long) got,
                        (unsigned long long) exact);
            }
        }
    }
    CHECK(bad == 0, "%s: %u quantiles off the order statistic by 1/128 or more", name, bad);
    CHECK(histogram_value_at(h, 1.0) == v[n - 1], "%s: q 1 is not the maximum", name);
    for (bad = 0, i = 1; i <= 1000; i++) {
        bad += histogram_value_at(h, i / 1000.0) > v[n - 1];
    }
    CHECK(bad == 0, "%s: %u quantiles above the maximum", name, bad);
    histogram_summarize(h, &s);
    CHECK(s.count == n && s.min == v[0] && s.max == v[n - 1]
          && s.p50 == histogram_value_at(h, 0.5) && s.p90 == histogram_value_at(h, 0.9)
          && s.p99 == histogram_value_at(h, 0.99) && s.p999 == histogram_value_at(h, 0.999),
          "%s: summary disagrees with the queries", name);
}

enum shape { UNIFORM, EXPONENTIAL, BIMODAL, CONSTANT, ZEROS, HUGE, OVERFLOW };

static uint64_t
draw(enum shape sh, uint64_t *rng)
{
    double u = ((double) (prng_next(rng) >> 11) + 0.5) * 0x1p-53;

    switch (sh) {
    case UNIFORM:     return prng_below(rng, 1000000);
    case EXPONENTIAL: return (uint64_t) (-20000.0 * log(u));
    case BIMODAL:     return prng_below(rng, 10) < 7 ? 80 + prng_below(rng, 40)
                                                     : 2000000 + prng_below(rng, 500000);
    case CONSTANT:    return 5000;
    case ZEROS:       return 0;
    case HUGE:        return HIST_VALUE_MAX - prng_below(rng, 1ull << 36);
    case OVERFLOW:    return prng_below(rng, 4) == 0 ? (HIST_VALUE_MAX + 1) << prng_below(rng, 20)
                                                     : 100 + prng_below(rng, 1000);
    }
    return 0;
}

static void
test_shapes(void)
{
    static const char *names[] = { "uniform", "exponential", "bimodal", "constant",
                                   "zeros", "huge", "overflow" };
    static uint64_t    v[100000];
    uint64_t           rng = 42;
    size_t             j, n;
    int                sh;

    for (sh = UNIFORM; sh <= OVERFLOW; sh++) {
        n = sh == CONSTANT || sh == ZEROS ? 1000 : sizeof(v) / sizeof(v[0]);
        histogram_reset(&h1);
        for (j = 0; j < n; j++) {
            v[j] = draw(sh, &rng);
            histogram_record(&h1, v[j]);
        }
        check_against(names[sh], &h1, v, n);
        if (sh == OVERFLOW) {
            CHECK(h1.overflow > 0 && h1.overflow < n, "overflow: %llu overflowed",
                  (unsigned long long) h1.overflow);
            CHECK(histogram_value_at(&h1, 0.5) < 1200, "overflow: p50");
        }
    }

    /* One value; every value of the edges of the buckets, one at a time. */
    histogram_reset(&h1);
    v[0] = 123456789;
    histogram_record(&h1, v[0]);
    check_against("single", &h1, v, 1);
    for (j = 0; j < HIST_BUCKETS; j += 37) {
        histogram_reset(&h1);
        v[0] = histogram_bucket_low(j);
        v[1] = histogram_bucket_high(j);
        histogram_record(&h1, v[0]);
        histogram_record(&h1, v[1]);
        check_against("edges", &h1, v, 2);
    }
    histogram_reset(&h1);
    v[0] = UINT64_MAX;
    v[1] = UINT64_MAX;
    histogram_record(&h1, v[0]);
    histogram_record(&h1, v[1]);
    check_against("2^64 - 1 twice", &h1, v, 2);
    CHECK(histogram_mean(&h1) == (double) UINT64_MAX, "the sum wrapped: mean %g",
          histogram_mean(&h1));
}

static void
test_empty_and_merge(void)
{
    static const struct histogram zero;
    uint64_t rng = 7, x;
    unsigned j;

    histogram_reset(&h1);
    CHECK(memcmp(&h1, &zero, sizeof(zero)) == 0, "reset is not all zero");
    CHECK(histogram_count(&h1) == 0 && histogram_min(&h1) == 0 && histogram_max(&h1) == 0
          && histogram_mean(&h1) == 0.0 && histogram_value_at(&h1, 0.5) == 0,
          "empty histogram");

    histogram_reset(&h2);
    histogram_reset(&h3);
    histogram_reset(&hu);
    for (j = 0; j < 300000; j++) {
        x = draw((enum shape) (j % 7), &rng);
        histogram_record(j % 3 == 0 ? &h1 : j % 3 == 1 ? &h2 : &h3, x);
        histogram_record(&hu, x);
    }
    histogram_merge(&h1, &h2);
    histogram_merge(&h1, &h3);
    CHECK(memcmp(&h1, &hu, sizeof(hu)) == 0, "merge differs from recording the union");
    histogram_reset(&h2);
    histogram_merge(&h1, &h2);
    CHECK(memcmp(&h1, &hu, sizeof(hu)) == 0, "merging an empty histogram changed it");
    histogram_merge(&h2, &hu);
    CHECK(memcmp(&h2, &hu, sizeof(hu)) == 0, "merge into an empty one is not a copy");
    histogram_merge(&h2, &h2);
    CHECK(h2.count == 2 * hu.count && h2.bucket[100] == 2 * hu.bucket[100]
          && histogram_min(&h2) == histogram_min(&hu) && h2.max == hu.max,
          "self-merge does not double");
}

static void
test_csv(void)
{
    char              *text = NULL, *line, *save;
    size_t             len = 0, rows = 0;
    unsigned long long lo, hi, c, total = 0, prev_hi = 0;
    double             cum = 0.0;
    char               op[16];
    FILE              *f = open_memstream(&text, &len);
    int                j, bad = 0;

    histogram_reset(&h1);
    for (j = 0; j < 1000; j++) {
        histogram_record(&h1, (uint64_t) j * j);
    }
    histogram_record(&h1, 1ull << 50);
    CHECK(histogram_csv_header(f) == 0 && histogram_write_csv(f, "alloc", &h1) == 0,
          "write: %s", diag_last());
    fclose(f);
    line = strtok_r(text, "\n", &save);
    CHECK(line && strcmp(line, "op,low_ns,high_ns,count,cumulative") == 0, "header '%s'", line);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        if (sscanf(line, "%15[^,],%llu,%llu,%llu,%lf", op, &lo, &hi, &c, &cum) != 5
            || strcmp(op, "alloc") != 0 || c == 0 || lo > hi || (rows && lo <= prev_hi))
        {
            bad++;
        }
        total += c;
        prev_hi = hi;
        rows++;
    }
    CHECK(bad == 0, "%d malformed or unordered rows", bad);
    CHECK(total == 1001, "rows count %llu values", total);
    CHECK(cum == 1.0 && prev_hi == 1ull << 50, "last row: cumulative %f, high %llu", cum, prev_hi);
    /* One row per non-empty bucket, and the overflow row. */
    {
        size_t   want = 1;
        unsigned i;

        for (i = 0; i < HIST_BUCKETS; i++) {
            want += h1.bucket[i] != 0;
        }
        CHECK(rows == want, "%zu rows, want %zu", rows, want);
    }
    free(text);

    f = fopen("/dev/full", "w");
    if (f == NULL) {
        printf("skip csv write error: no /dev/full\n");
        return;
    }
    setvbuf(f, NULL, _IONBF, 0);
    CHECK(histogram_write_csv(f, "free", &h1) == -1
          && strncmp(diag_last(), "writing the histogram: ", 23) == 0,
          "a full disk went unnoticed: %s", diag_last());
    fclose(f);
}

/* --bench: ns per record over values drawn up front, against the same loop
 * summing the values instead. */
static int
bench(void)
{
    enum { NV = 4096, ROUNDS = 50000 };
    static uint64_t v[NV];
    uint64_t        rng = 1, t0, t1, t2, sink = 0;
    unsigned        i, j;

    for (i = 0; i < NV; i++) {
        v[i] = 20 + draw(EXPONENTIAL, &rng) / 100;
    }
    histogram_reset(&h1);
    t0 = clock_ns();
    for (j = 0; j < ROUNDS; j++) {
        for (i = 0; i < NV; i++) {
            histogram_record(&h1, v[i]);
        }
    }
    t1 = clock_ns();
    for (j = 0; j < ROUNDS; j++) {
        for (i = 0; i < NV; i++) {
            sink += v[i];
            __asm__ volatile("" : "+r"(sink));
        }
    }
    t2 = clock_ns();
    printf("histogram_record: %.2f ns per record; loop summing the values: %.2f ns "
           "(%llu records, p50 %llu ns, sink %llu)\n",
           (double) (t1 - t0) / ((double) NV * ROUNDS),
           (double) (t2 - t1) / ((double) NV * ROUNDS),
           (unsigned long long) h1.count, (unsigned long long) histogram_value_at(&h1, 0.5),
           (unsigned long long) (sink & 1));
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        return bench();
    }
    test_geometry();
    test_rank();
    test_shapes();
    test_empty_and_merge();
    test_csv();
    return test_summary("test_histogram");
}
