/*
 * test_sizes: the size distributions.
 *
 * Every malformed spec is refused with its exact message and leaves the
 * output untouched; good specs parse (suffixes included) and their canonical
 * spec reads back as the same distribution.  Every kind draws within its
 * bounds, uniform and pow2 hit every value / exponent about equally often,
 * and the empirical means agree with sizes_mean().  ETC, over 10^6 draws of
 * a fixed seed for each tail location, agrees with the figures published
 * for the model: key mean 36.2, median 33.9, 1st and 99th percentiles 19
 * and 76; overall value mean 194 (theta 15) and 186 (theta 0); for theta 15
 * a tail share of 0.55845, tail median 183 and tail 99th percentile 2461;
 * and the shares of nginx slab slots that lua_shared_dict items of
 * 68 + key + value bytes fall in.  Twitter: every cluster's spec reads back,
 * the table's figures against the source's (sums over all clusters and a
 * few by name), every refusal by its message, the key always the cluster's
 * mean key, 200000 draws' mean within 5 standard errors of sizes_mean for
 * means from 1 to 67485 bytes, and the geometric shape (the shares of
 * values 0, 1 and 2, and of values at least the mean).  The same seed draws
 * the same sequence.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "sizes.h"
#include "testutil.h"

#define KNOWN "(known: fixed:S, uniform:MIN:MAX, pow2:MIN:MAX, etc[:THETA], twitter:CLUSTER)"
#define BAD_SIZE "(a decimal number of bytes, optionally with a k, m or g suffix, under 2^64)"

/* The parse of spec fails with exactly the message fmt... builds, and
 * leaves *out as it was. */
static void expect_error(const char *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
expect_error(const char *spec, const char *fmt, ...)
{
    struct size_dist d, before;
    char             want[512];
    va_list          ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    memset(&d, 0xa5, sizeof(d));
    before = d;
    CHECK(sizes_parse(spec, &d) == -1, "\"%s\" was accepted", spec);
    CHECK(diag_is("%s", want), "\"%s\": wrong message", spec);
    CHECK(memcmp(&d, &before, sizeof(d)) == 0, "\"%s\": a failed parse wrote out", spec);
}

static void
test_errors(void)
{
    char long_spec[200];

    expect_error("", "size distribution \"\": empty (known kinds: fixed:S, "
                 "uniform:MIN:MAX, pow2:MIN:MAX, etc[:THETA], twitter:CLUSTER)");
    expect_error("gauss:1:2", "size distribution \"gauss:1:2\": unknown kind \"gauss\" " KNOWN);
    expect_error(" fixed:1", "size distribution \" fixed:1\": unknown kind \" fixed\" " KNOWN);
    expect_error("Fixed:1", "size distribution \"Fixed:1\": unknown kind \"Fixed\" " KNOWN);
    expect_error("fixed", "size distribution \"fixed\": expected fixed:S");
    expect_error("fixed:1:2", "size distribution \"fixed:1:2\": expected fixed:S");
    expect_error("fixed:4q", "size distribution \"fixed:4q\": bad size \"4q\" " BAD_SIZE);
    expect_error("fixed:", "size distribution \"fixed:\": bad size \"\" " BAD_SIZE);
    expect_error("fixed:k", "size distribution \"fixed:k\": bad size \"k\" " BAD_SIZE);
    expect_error("fixed:-1", "size distribution \"fixed:-1\": bad size \"-1\" " BAD_SIZE);
    expect_error("fixed:0x10", "size distribution \"fixed:0x10\": bad size \"0x10\" " BAD_SIZE);
    expect_error("fixed:4kb", "size distribution \"fixed:4kb\": bad size \"4kb\" " BAD_SIZE);
    expect_error("fixed:18446744073709551616",
                 "size distribution \"fixed:18446744073709551616\": bad size "
                 "\"18446744073709551616\" " BAD_SIZE);
    expect_error("fixed:17179869184g", "size distribution \"fixed:17179869184g\": bad size "
                 "\"17179869184g\" " BAD_SIZE);
    expect_error("uniform:9:3", "size distribution \"uniform:9:3\": MIN > MAX");
    expect_error("uniform:2k:1k", "size distribution \"uniform:2k:1k\": MIN > MAX");
    expect_error("uniform:1", "size distribution \"uniform:1\": expected uniform:MIN:MAX");
    expect_error("uniform:1:2:3", "size distribution \"uniform:1:2:3\": expected uniform:MIN:MAX");
    expect_error("uniform:1:2:3:4:5",
                 "size distribution \"uniform:1:2:3:4:5\": expected uniform:MIN:MAX");
    expect_error("uniform::8", "size distribution \"uniform::8\": bad size \"\" " BAD_SIZE);
    expect_error("uniform:8:x", "size distribution \"uniform:8:x\": bad size \"x\" " BAD_SIZE);
    expect_error("pow2:8", "size distribution \"pow2:8\": expected pow2:MIN:MAX");
    expect_error("pow2:3:64", "size distribution \"pow2:3:64\": MIN 3 is not a power of two");
    expect_error("pow2:0:64", "size distribution \"pow2:0:64\": MIN 0 is not a power of two");
    expect_error("pow2:8:100", "size distribution \"pow2:8:100\": MAX 100 is not a power of two");
    expect_error("pow2:64:8", "size distribution \"pow2:64:8\": MIN > MAX");
    expect_error("etc:7", "size distribution \"etc:7\": THETA \"7\" is neither 15 "
                 "(mutilate's value tail) nor 0 (the paper's)");
    expect_error("etc:", "size distribution \"etc:\": THETA \"\" is neither 15 "
                 "(mutilate's value tail) nor 0 (the paper's)");
    expect_error("etc:15:1", "size distribution \"etc:15:1\": expected etc or etc:THETA");
    expect_error("twitter", "size distribution \"twitter\": expected twitter:CLUSTER "
                 "(a cluster number, 1 to 54, or clusterN)");
    expect_error("twitter:4:1", "size distribution \"twitter:4:1\": expected "
                 "twitter:CLUSTER (a cluster number, 1 to 54, or clusterN)");
    expect_error("twitter:0", "size distribution \"twitter:0\": no cluster 0 (clusters 1 to 54)");
    expect_error("twitter:55", "size distribution \"twitter:55\": no cluster 55 "
                 "(clusters 1 to 54)");
    expect_error("twitter:cluster0", "size distribution \"twitter:cluster0\": no cluster "
                 "0 (clusters 1 to 54)");
    expect_error("twitter:99999999999999999999999", "size distribution "
                 "\"twitter:99999999999999999999999\": no cluster 99999999999999999999999 "
                 "(clusters 1 to 54)");
    expect_error("twitter:5", "size distribution \"twitter:5\": cluster 5 has no preset: the "
                 "trace's statistics publish no sizes for it (clusters 1 to 54 but 5)");
    expect_error("twitter:cluster5", "size distribution \"twitter:cluster5\": cluster 5 has no "
                 "preset: the trace's statistics publish no sizes for it (clusters 1 to 54 but 5)");
    expect_error("twitter:x", "size distribution \"twitter:x\": cluster \"x\" is not a number "
                 "(clusters 1 to 54, as N or clusterN)");
    expect_error("twitter:", "size distribution \"twitter:\": cluster \"\" is not a number "
                 "(clusters 1 to 54, as N or clusterN)");
    expect_error("twitter:cluster", "size distribution \"twitter:cluster\": cluster "
                 "\"cluster\" is not a number (clusters 1 to 54, as N or clusterN)");
    expect_error("twitter:-4", "size distribution \"twitter:-4\": cluster \"-4\" is not a "
                 "number (clusters 1 to 54, as N or clusterN)");
    expect_error("twitter:4k", "size distribution \"twitter:4k\": cluster \"4k\" is not a "
                 "number (clusters 1 to 54, as N or clusterN)");
    expect_error("twitter:Cluster4", "size distribution \"twitter:Cluster4\": cluster "
                 "\"Cluster4\" is not a number (clusters 1 to 54, as N or clusterN)");
    memset(long_spec, '1', sizeof(long_spec) - 1);
    long_spec[sizeof(long_spec) - 1] = '\0';
    memcpy(long_spec, "fixed:", 6);
    expect_error(long_spec, "size distribution \"%.40s...\": longer than 127 characters",
                 long_spec);
}

/* spec parses as kind with bounds [min, max], and its canonical spec
 * `canon` parses back to the same. */
static void
expect_parse(const char *spec, enum size_kind kind, uint64_t min, uint64_t max,
    const char *canon)
{
    struct size_dist d, again;
    char             buf[128];

    CHECK(sizes_parse(spec, &d) == 0, "\"%s\": %s", spec, diag_last());
    CHECK(d.kind == kind && sizes_min(&d) == min && sizes_max(&d) == max,
          "\"%s\": kind %d [%llu, %llu]", spec, (int) d.kind,
          (unsigned long long) sizes_min(&d), (unsigned long long) sizes_max(&d));
    CHECK(strcmp(sizes_spec(&d, buf, sizeof(buf)), canon) == 0, "\"%s\": canonical \"%s\"",
          spec, buf);
    CHECK(sizes_parse(buf, &again) == 0 && memcmp(&d, &again, sizeof(d)) == 0,
          "\"%s\": the canonical spec reads back differently", spec);
    CHECK(strlen(sizes_describe(&d, buf, sizeof(buf))) > 10 && strchr(buf, '\n') == NULL,
          "\"%s\": description \"%s\"", spec, buf);
}

static void
test_parse(void)
{
    struct size_dist d;
    char             buf[160];
    uint64_t         v;

    expect_parse("fixed:0", SIZES_FIXED, 0, 0, "fixed:0");
    expect_parse("fixed:4k", SIZES_FIXED, 4096, 4096, "fixed:4096");
    expect_parse("fixed:1M", SIZES_FIXED, 1 << 20, 1 << 20, "fixed:1048576");
    expect_parse("fixed:16777215g", SIZES_FIXED, 16777215ull << 30, 16777215ull << 30,
                 "fixed:18014397435740160");
    expect_parse("uniform:8:4k", SIZES_UNIFORM, 8, 4096, "uniform:8:4096");
    expect_parse("uniform:7:7", SIZES_UNIFORM, 7, 7, "uniform:7:7");
    expect_parse("uniform:0:18446744073709551615", SIZES_UNIFORM, 0, UINT64_MAX,
                 "uniform:0:18446744073709551615");
    expect_parse("pow2:8:4k", SIZES_POW2, 8, 4096, "pow2:8:4096");
    expect_parse("pow2:1:1", SIZES_POW2, 1, 1, "pow2:1:1");
    expect_parse("pow2:1:8g", SIZES_POW2, 1, 8ull << 30, "pow2:1:8589934592");
    expect_parse("etc", SIZES_ETC, 1, UINT64_MAX, "etc:15");
    expect_parse("etc:15", SIZES_ETC, 1, UINT64_MAX, "etc:15");
    expect_parse("etc:0", SIZES_ETC, 1, UINT64_MAX, "etc:0");

    CHECK(sizes_parse("pow2:8:4k", &d) == 0 && d.min_shift == 3 && d.max_shift == 12,
          "pow2 shifts %u %u", d.min_shift, d.max_shift);
    CHECK(sizes_parse("etc:0", &d) == 0 && d.theta == 0, "etc:0 theta %u", d.theta);
    sizes_parse("etc", &d);
    sizes_describe(&d, buf, sizeof(buf));
    CHECK(strstr(buf, "theta=15") != NULL && strstr(buf, "mean 230.4") != NULL,
          "etc description \"%s\"", buf);
    CHECK(sizes_parse_bytes("18446744073709551615", &v) == 0 && v == UINT64_MAX, "2^64 - 1");
    CHECK(sizes_parse_bytes("17179869183g", &v) == 0 && v == 17179869183ull << 30, "g max");
    CHECK(sizes_parse_bytes("17179869184g", &v) == -1, "2^64 with suffix");
    CHECK(strstr(sizes_help, "etc[:THETA]") != NULL, "help lacks etc");
    CHECK(strstr(sizes_help, "twitter:CLUSTER") != NULL, "help lacks twitter");
}

/* n draws of spec: all in bounds, mean near sizes_mean() (relative tol). */
static void
check_draws(const char *spec, unsigned n, double tol)
{
    struct size_dist d;
    uint64_t         rng = 99, v, out = 0;
    double           sum = 0.0, mean;
    unsigned         i;

    CHECK(sizes_parse(spec, &d) == 0, "%s: %s", spec, diag_last());
    for (i = 0; i < n; i++) {
        v = sizes_draw(&d, &rng);
        out += v < sizes_min(&d) || v > sizes_max(&d)
               || (d.kind == SIZES_POW2 && (v & (v - 1)) != 0);
        sum += (double) v;
    }
    mean = sizes_mean(&d);
    CHECK(out == 0, "%s: %llu draws out of bounds", spec, (unsigned long long) out);
    CHECK(fabs(sum / n - mean) <= tol * mean, "%s: mean %.3f, sizes_mean %.3f", spec,
          sum / n, mean);
}

static void
test_bounds(void)
{
    struct size_dist d;
    uint64_t         rng = 5, count[16] = { 0 }, v;
    unsigned         i, bad = 0;

    check_draws("fixed:100", 1000, 0.0);
    check_draws("fixed:0", 1000, 0.0);
    check_draws("uniform:8:4096", 200000, 0.01);
    check_draws("uniform:1k:1m", 200000, 0.01);
    check_draws("uniform:7:7", 1000, 0.0);
    check_draws("uniform:0:18446744073709551615", 200000, 0.01);
    check_draws("pow2:8:4k", 200000, 0.02);
    check_draws("pow2:1:1", 1000, 0.0);
    check_draws("etc", 200000, 0.02);
    check_draws("etc:0", 200000, 0.02);

    /* Every value of a small uniform, every exponent of pow2, equally often
     * (100000 draws over 4 or 10: about 2.5% of a share, 6 sigma). */
    sizes_parse("uniform:5:8", &d);
    for (i = 0; i < 100000; i++) {
        count[sizes_draw(&d, &rng)]++;
    }
    for (i = 5; i <= 8; i++) {
        bad += count[i] < 24000 || count[i] > 26000;
    }
    CHECK(bad == 0 && count[4] == 0 && count[9] == 0, "uniform:5:8 counts %llu %llu %llu %llu",
          (unsigned long long) count[5], (unsigned long long) count[6],
          (unsigned long long) count[7], (unsigned long long) count[8]);
    memset(count, 0, sizeof(count));
    sizes_parse("pow2:16:8k", &d);
    for (i = 0; i < 100000; i++) {
        v = sizes_draw(&d, &rng);
        count[__builtin_ctzll(v)]++;
    }
    for (bad = 0, i = 0; i < 16; i++) {
        bad += (i >= 4 && i <= 13) ? count[i] < 9400 || count[i] > 10600 : count[i] != 0;
    }
    CHECK(bad == 0, "pow2:16:8k: %u exponents off", bad);

    /* The key cap. */
    for (bad = 0, i = 0; i < 10000; i++) {
        bad += sizes_etc_key(&rng, 1) != 1;
        v = sizes_etc_key(&rng, 30);
        bad += v < 1 || v > 30;
    }
    CHECK(bad == 0, "%u keys over their cap", bad);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}

/* The nginx slab slot (0: 8 bytes ... 8: 2048) of n bytes, 9 for pages. */
static unsigned
slot_of(uint64_t n)
{
    unsigned s = 0;

    while (s < 9 && (8ull << s) < n) {
        s++;
    }
    return s;
}

/* |got - want| <= tol, said with a name. */
#define NEAR(what, got, want, tol)                                          \
    CHECK(fabs((double) (got) - (want)) <= (tol), "%s: %.4f, expected %.4f +- %.4f", \
          what, (double) (got), (double) (want), (double) (tol))

#define N_ETC 1000000u

static void
test_etc(unsigned theta, const double share[10])
{
    static uint64_t tail[N_ETC];
    static uint64_t keyc[SIZES_ETC_KEY_MAX + 1];
    uint64_t        rng = 2012 + theta, k, v, slots[10] = { 0 }, ksum = 0, below, kq[3];
    double          vsum = 0.0;
    size_t          nt = 0, i;
    unsigned        s;
    char            what[64];

    memset(keyc, 0, sizeof(keyc));
    for (i = 0; i < N_ETC; i++) {
        k = sizes_etc_key(&rng, SIZES_ETC_KEY_MAX);
        v = sizes_etc_value(&rng, theta);
        keyc[k]++;
        ksum += k;
        vsum += (double) v;
        if (theta == 15 && v >= 15) {
            tail[nt++] = v;
        }
        slots[slot_of(68 + k + v)]++;
    }

    /* Key: mean 36.2; the median of the rounded key is the integer next to
     * 33.9; 1st and 99th percentiles 19 and 76. */
    for (below = 0, k = 1; below + keyc[k] < N_ETC / 100; k++) {
        below += keyc[k];
    }
    kq[0] = k;
    for (; below + keyc[k] < N_ETC / 2; k++) {
        below += keyc[k];
    }
    kq[1] = k;
    for (; below + keyc[k] < N_ETC / 100 * 99; k++) {
        below += keyc[k];
    }
    kq[2] = k;
    printf("etc:%u, %u draws: key mean %.3f, p1 %llu, median %llu, p99 %llu; value mean %.3f\n",
           theta, N_ETC, (double) ksum / N_ETC, (unsigned long long) kq[0],
           (unsigned long long) kq[1], (unsigned long long) kq[2], vsum / N_ETC);
    NEAR("key mean", (double) ksum / N_ETC, 36.2, 0.2);
    NEAR("key p1", kq[0], 19, 1);
    NEAR("key median", kq[1], 33.9, 0.5);
    NEAR("key p99", kq[2], 76, 1);

    /* Value: the mean overall; for theta 15 the tail on its own (values
     * from the table are <= 14, the tail's >= 15). */
    NEAR("value mean", vsum / N_ETC, theta ? 194 : 186, 2.5);
    if (theta == 15) {
        qsort(tail, nt, sizeof(tail[0]), cmp_u64);
        printf("etc:15 tail: share %.5f, median %llu, p99 %llu\n", (double) nt / N_ETC,
               (unsigned long long) tail[nt / 2], (unsigned long long) tail[nt / 100 * 99]);
        NEAR("tail share", (double) nt / N_ETC, 0.55845, 0.002);
        NEAR("tail median", tail[nt / 2], 183, 183 * 0.02);
        NEAR("tail p99", tail[nt / 100 * 99], 2461, 2461 * 0.025);
    }

    /* The slab slots of 68 + K + V bytes: the published shares, 200000
     * samples' worth of precision (about 0.1 points), +- 0.5 points. */
    printf("etc:%u slots 128 256 512 1024 2048 pages:", theta);
    for (s = 4; s < 10; s++) {
        printf(" %.2f%%", 100.0 * slots[s] / N_ETC);
    }
    printf("\n");
    for (s = 0; s < 10; s++) {
        snprintf(what, sizeof(what), "etc:%u slot %u share %%", theta, s);
        NEAR(what, 100.0 * slots[s] / N_ETC, share[s], 0.5);
    }
}

static void
test_etc_means(void)
{
    struct size_dist d;

    /* The exact means against the published ones (rounded to 0.1 byte or
     * to 1 byte) and against a direct sum in the sizes_mean comment's
     * terms: key 36.223 + value 194.166 (theta 15) or 185.789 (theta 0). */
    sizes_parse("etc:15", &d);
    NEAR("etc:15 mean", sizes_mean(&d), 36.2 + 194, 1.0);
    NEAR("etc:15 mean, 3 decimals", sizes_mean(&d), 230.389, 0.002);
    sizes_parse("etc:0", &d);
    NEAR("etc:0 mean", sizes_mean(&d), 36.2 + 186, 1.0);
    NEAR("etc:0 mean, 3 decimals", sizes_mean(&d), 222.012, 0.002);
}

static void
test_reproducible(void)
{
    static const char *specs[] = { "fixed:8", "uniform:1:1000000", "pow2:1:1g", "etc", "etc:0",
                                   "twitter:4", "twitter:21", "twitter:50" };
    static const uint64_t golden[] = { 566562, 745782, 971003, 444360 };
    static const uint64_t golden_tw[] = { 1453, 782, 138, 2045, 2046, 727 };
    struct size_dist   d;
    uint64_t           a, b, c, k, v;
    unsigned           i, j, same, diff;

    for (j = 0; j < sizeof(specs) / sizeof(specs[0]); j++) {
        sizes_parse(specs[j], &d);
        a = b = 31337;
        c = 31338;
        for (same = 1, diff = 0, i = 0; i < 10000; i++) {
            v = sizes_draw(&d, &a);
            same &= v == sizes_draw(&d, &b);
            diff += v != sizes_draw(&d, &c);
        }
        CHECK(same, "%s: one seed, two sequences", specs[j]);
        CHECK(d.kind == SIZES_FIXED || diff > 1000, "%s: seeds 31337 and 31338 agree", specs[j]);
    }

    /* ETC's order of draws: the key, then the value. */
    sizes_parse("etc", &d);
    a = b = 77;
    for (same = 1, i = 0; i < 10000; i++) {
        k = sizes_etc_key(&a, SIZES_ETC_KEY_MAX);
        v = sizes_etc_value(&a, 15);
        same &= sizes_draw(&d, &b) == k + v;
    }
    CHECK(same && a == b, "etc is not a key draw then a value draw");

    /* The uniform sequence is prng_below's, one draw a size: pinned (the
     * values are those of an independent splitmix64 written in Python),
     * since a seed must keep meaning the same workload. */
    sizes_parse("uniform:1:1000000", &d);
    a = 1;
    for (same = 1, i = 0; i < 4; i++) {
        v = sizes_draw(&d, &a);
        if (v != golden[i]) {
            fprintf(stderr, "uniform draw %u of seed 1: %llu, pinned %llu\n", i,
                    (unsigned long long) v, (unsigned long long) golden[i]);
            same = 0;
        }
    }
    b = 1;
    CHECK(same && 1 + prng_below(&b, 1000000) == golden[0], "the uniform sequence changed");

    /* Twitter: one generator draw a size, and the sizes of seed 1 for
     * cluster 4 pinned (computed by an independent Python splitmix64 and
     * the inversion of sizes.h). */
    sizes_parse("twitter:4", &d);
    a = b = 1;
    for (same = 1, i = 0; i < 6; i++) {
        v = sizes_draw(&d, &a);
        (void) prng_next(&b);
        if (v != golden_tw[i] || a != b) {
            fprintf(stderr, "twitter:4 draw %u of seed 1: %llu, pinned %llu\n", i,
                    (unsigned long long) v, (unsigned long long) golden_tw[i]);
            same = 0;
        }
    }
    CHECK(same, "the twitter sequence changed");
}

/* Every cluster's spec, both forms, parses and reads back; the table's
 * figures are the source's: their sums over the 53 clusters (and weighted
 * by the cluster's number, which catches a figure in the wrong row), and a
 * few clusters by name, written out from the source. */
static void
test_twitter_parse(void)
{
    static const struct { unsigned c; uint64_t key, value; } named[] = {
        { 1, 80, 267 }, { 4, 67, 2439 }, { 21, 25, 1 }, { 26, 122, 1745 },
        { 37, 72, 20134 }, { 50, 18, 67485 }, { 54, 19, 246 }
    };
    struct size_dist d;
    uint64_t         key, value, ks = 0, vs = 0, kw = 0, vw = 0;
    unsigned         c, i, found = 0;
    char             spec[32], canon[32], want[160], buf[160];

    for (c = 0; c <= SIZES_TWITTER_CLUSTERS + 1; c++) {
        if (sizes_twitter_preset(c, &key, &value) != 0) {
            CHECK(c == 0 || c == 5 || c == SIZES_TWITTER_CLUSTERS + 1,
                  "cluster %u has no preset", c);
            continue;
        }
        found++;
        ks += key;
        vs += value;
        kw += c * key;
        vw += c * value;
        snprintf(canon, sizeof(canon), "twitter:%u", c);
        snprintf(spec, sizeof(spec), "twitter:cluster%u", c);
        expect_parse(canon, SIZES_TWITTER, key, UINT64_MAX, canon);
        expect_parse(spec, SIZES_TWITTER, key, UINT64_MAX, canon);
        sizes_parse(canon, &d);
        CHECK(d.cluster == c && sizes_mean(&d) == (double) (key + value)
              && sizes_unbounded(&d), "%s: cluster %u, mean %.3f", canon, d.cluster,
              sizes_mean(&d));
        snprintf(want, sizeof(want), "twitter cluster %u: key %llu bytes + geometric value "
                 "of mean %llu bytes (Twitter cache-trace 2020 statistics)", c,
                 (unsigned long long) key, (unsigned long long) value);
        CHECK(strcmp(sizes_describe(&d, buf, sizeof(buf)), want) == 0, "%s: \"%s\"", canon,
              buf);
    }
    CHECK(found == 53 && ks == 2015 && vs == 146437 && kw == 55157 && vw == 5911732,
          "table: %u clusters, key sums %llu %llu, value sums %llu %llu", found,
          (unsigned long long) ks, (unsigned long long) kw, (unsigned long long) vs,
          (unsigned long long) vw);
    for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        CHECK(sizes_twitter_preset(named[i].c, &key, &value) == 0 && key == named[i].key
              && value == named[i].value, "cluster %u: %llu %llu", named[i].c,
              (unsigned long long) key, (unsigned long long) value);
    }
    expect_parse("twitter:04", SIZES_TWITTER, 67, UINT64_MAX, "twitter:4");

    /* The other kinds: bounded or not. */
    sizes_parse("etc", &d);
    CHECK(sizes_unbounded(&d), "etc bounded");
    sizes_parse("uniform:0:18446744073709551615", &d);
    CHECK(!sizes_unbounded(&d), "uniform unbounded");
}

/* 200000 draws of cluster c: never below the key, the mean within 5
 * standard errors of sizes_mean (a geometric of mean V has variance
 * V (V + 1)), and the geometric's shape: P(value = j) = p (1 - p)^j for
 * j = 0, 1, 2 and P(value >= V) = (1 - p)^V, each share within 5 of its
 * binomial standard errors. */
static void
check_twitter(unsigned c)
{
    const unsigned   n = 200000;
    struct size_dist d;
    uint64_t         rng = 2020 + c, v, key, low = 0, at[3] = { 0 }, above = 0, lo = UINT64_MAX;
    double           sum = 0.0, mean, vm, se, p, want[4], got[4];
    char             spec[32], what[64];
    unsigned         i, j;

    snprintf(spec, sizeof(spec), "twitter:%u", c);
    CHECK(sizes_parse(spec, &d) == 0, "%s: %s", spec, diag_last());
    key = sizes_min(&d);
    vm = sizes_mean(&d) - (double) key;
    for (i = 0; i < n; i++) {
        v = sizes_draw(&d, &rng);
        low += v < key;
        lo = v < lo ? v : lo;
        if (v >= key && v - key < 3) {
            at[v - key]++;
        }
        above += v >= key && (double) (v - key) >= vm;
        sum += (double) v;
    }
    mean = sum / n;
    se = sqrt(vm * (vm + 1.0) / n);
    printf("%s: key %llu, %u draws: mean %.3f, sizes_mean %.3f (se %.3f), least %llu\n",
           spec, (unsigned long long) key, n, mean, sizes_mean(&d), se,
           (unsigned long long) lo);
    CHECK(low == 0, "%s: %llu draws below the key", spec, (unsigned long long) low);
    NEAR(spec, mean, sizes_mean(&d), 5.0 * se);
    p = 1.0 / (vm + 1.0);
    for (j = 0; j < 3; j++) {
        want[j] = p * pow(1.0 - p, j);
        got[j] = (double) at[j] / n;
    }
    want[3] = pow(1.0 - p, vm);
    got[3] = (double) above / n;
    for (j = 0; j < 4; j++) {
        snprintf(what, sizeof(what), j < 3 ? "%s: share of value %u" : "%s: share >= mean",
                 spec, j);
        NEAR(what, got[j], want[j], 5.0 * sqrt(want[j] * (1.0 - want[j]) / n) + 1e-9);
    }
    /* A value of 0 is drawn where it is likely: the key on its own. */
    CHECK(p < 0.01 || lo == key, "%s: least draw %llu, key %llu", spec,
          (unsigned long long) lo, (unsigned long long) key);
}

static void
test_twitter_draws(void)
{
    static const unsigned clusters[] = { 21, 27, 9, 4, 37, 50 };
    unsigned              i;

    for (i = 0; i < sizeof(clusters) / sizeof(clusters[0]); i++) {
        check_twitter(clusters[i]);
    }
}

int
main(void)
{
    /* The slot shares published for 200000 items: theta 15, theta 0. */
    static const double share15[10] = { 0, 0, 0, 0, 43.9, 24.9, 17.6, 9.5, 3.2, 0.9 };
    static const double share0[10] = { 0, 0, 0, 0, 47.1, 23.3, 16.7, 8.9, 3.1, 0.9 };

    test_errors();
    test_parse();
    test_bounds();
    test_etc(15, share15);
    test_etc(0, share0);
    test_etc_means();
    test_twitter_parse();
    test_twitter_draws();
    test_reproducible();
    return test_summary("test_sizes");
}
