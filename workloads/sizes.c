/*
 * sizes: parsing size specs, drawing sizes, their means and descriptions
 * (sizes.h gives the syntax and the ETC and Twitter models; the Twitter
 * figures are in sizes_twitter.c).
 *
 * Drawing is on a workload's path, so a draw is a few instructions for the
 * plain kinds; ETC pays a log and a pow or two per draw, as mutilate does.
 * The ETC mean is not a closed form (the key is rounded and capped, the
 * value truncated), so sizes_mean() sums the probabilities of the integer
 * sizes from the CDFs, and integrates the Pareto tail's far end in closed
 * form.  A Twitter draw is one log: ln(1 - p) is computed once, at parse
 * time, and kept in the distribution.
 */
#include "sizes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "prng.h"
#include "substrate/diag.h"

const char sizes_help[] =
    "  fixed:S          always S bytes\n"
    "  uniform:MIN:MAX  uniform in [MIN, MAX] bytes\n"
    "  pow2:MIN:MAX     powers of two in [MIN, MAX] (both powers of two), every\n"
    "                   exponent equally likely\n"
    "  etc[:THETA]      memcached ETC key + value sizes (Atikoglu et al. 2012, mutilate);\n"
    "                   THETA, the value tail's location: 15 (default, mutilate) or 0 (the paper)\n"
    "  twitter:CLUSTER  a Twitter cache cluster's item: its mean key size + a geometric value\n"
    "                   of its mean value size (Twitter cache-trace 2020 statistics); CLUSTER\n"
    "                   1 to 54 but 5, or clusterN\n";

/* The ETC fit (sizes.h). */
#define ETC_KEY_MU     30.7984
#define ETC_KEY_SIGMA  8.20449
#define ETC_KEY_K      0.078688
#define ETC_VAL_SIGMA  214.476
#define ETC_VAL_K      0.348238
#define ETC_THETA      15u

/* P(value = i) for the small values 0..14; the rest is the Pareto tail. */
static const double etc_head[] = {
    0.00536, 0.00047, 0.17820, 0.09239, 0.00018, 0.02740, 0.00065, 0.00606,
    0.00023, 0.00837, 0.00837, 0.08989, 0.00092, 0.00326, 0.01980
};
#define ETC_HEAD (sizeof(etc_head) / sizeof(etc_head[0]))

/* The longest spec sizes_parse reads (longer ones are refused). */
#define SIZES_SPEC_MAX 127

int
sizes_parse_bytes(const char *s, uint64_t *out)
{
    size_t   n = strlen(s), i;
    unsigned shift = 0, d;
    uint64_t v = 0;

    if (n > 0) {
        switch (s[n - 1]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        }
    }
    if (shift) {
        n--;
    }
    if (n == 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        d = (unsigned) (s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (v > (UINT64_MAX >> shift)) {
        return -1;
    }
    *out = v << shift;
    return 0;
}

/* The spec's fields, split at ':' in a copy. */
struct sizes_fields {
    char  buf[SIZES_SPEC_MAX + 1];
    char *f[4];
    int   n;                           /* fields; 4 means "more than 3" */
};

static int
sizes_split(const char *spec, struct sizes_fields *fs)
{
    char *p;

    if (strlen(spec) > SIZES_SPEC_MAX) {
        diag_set("size distribution \"%.40s...\": longer than %d characters", spec,
                 SIZES_SPEC_MAX);
        return -1;
    }
    strcpy(fs->buf, spec);
    fs->n = 0;
    for (p = fs->buf; fs->n < 4; p++) {
        fs->f[fs->n++] = p;
        p = strchr(p, ':');
        if (p == NULL) {
            break;
        }
        *p = '\0';
    }
    return 0;
}

static int
sizes_size(const char *spec, const char *field, uint64_t *v)
{
    if (sizes_parse_bytes(field, v) != 0) {
        diag_set("size distribution \"%s\": bad size \"%s\" (a decimal number of "
                 "bytes, optionally with a k, m or g suffix, under 2^64)", spec, field);
        return -1;
    }
    return 0;
}

/* uniform:MIN:MAX and pow2:MIN:MAX. */
static int
sizes_parse_range(const char *spec, struct sizes_fields *fs, struct size_dist *d)
{
    if (fs->n != 3) {
        diag_set("size distribution \"%s\": expected %s:MIN:MAX", spec, fs->f[0]);
        return -1;
    }
    if (sizes_size(spec, fs->f[1], &d->min) != 0
        || sizes_size(spec, fs->f[2], &d->max) != 0)
    {
        return -1;
    }
    if (d->min > d->max) {
        diag_set("size distribution \"%s\": MIN > MAX", spec);
        return -1;
    }
    if (d->kind != SIZES_POW2) {
        return 0;
    }
    if (d->min == 0 || (d->min & (d->min - 1)) != 0) {
        diag_set("size distribution \"%s\": MIN %s is not a power of two", spec, fs->f[1]);
        return -1;
    }
    if ((d->max & (d->max - 1)) != 0) {
        diag_set("size distribution \"%s\": MAX %s is not a power of two", spec, fs->f[2]);
        return -1;
    }
    d->min_shift = (unsigned) __builtin_ctzll(d->min);
    d->max_shift = (unsigned) __builtin_ctzll(d->max);
    return 0;
}

static int
sizes_parse_etc(const char *spec, struct sizes_fields *fs, struct size_dist *d)
{
    if (fs->n > 2) {
        diag_set("size distribution \"%s\": expected etc or etc:THETA", spec);
        return -1;
    }
    d->theta = ETC_THETA;
    if (fs->n == 2) {
        if (strcmp(fs->f[1], "0") == 0) {
            d->theta = 0;
        } else if (strcmp(fs->f[1], "15") != 0) {
            diag_set("size distribution \"%s\": THETA \"%s\" is neither 15 (mutilate's "
                     "value tail) nor 0 (the paper's)", spec, fs->f[1]);
            return -1;
        }
    }
    d->min = 1;
    d->max = UINT64_MAX;
    return 0;
}

/* twitter:N or twitter:clusterN. */
static int
sizes_parse_twitter(const char *spec, struct sizes_fields *fs, struct size_dist *d)
{
    const char *num, *f;
    unsigned    n = 0;
    uint64_t    key, value;

    if (fs->n != 2) {
        diag_set("size distribution \"%s\": expected twitter:CLUSTER (a cluster "
                 "number, 1 to %d, or clusterN)", spec, SIZES_TWITTER_CLUSTERS);
        return -1;
    }
    num = fs->f[1];
    if (strncmp(num, "cluster", 7) == 0) {
        num += 7;
    }
    if (num[0] == '\0' || strspn(num, "0123456789") != strlen(num)) {
        diag_set("size distribution \"%s\": cluster \"%s\" is not a number (clusters "
                 "1 to %d, as N or clusterN)", spec, fs->f[1], SIZES_TWITTER_CLUSTERS);
        return -1;
    }
    /* Digits only: stop counting once past every cluster, so that a long
     * number cannot overflow. */
    for (f = num; *f != '\0' && n <= SIZES_TWITTER_CLUSTERS; f++) {
        n = n * 10 + (unsigned) (*f - '0');
    }
    if (n < 1 || n > SIZES_TWITTER_CLUSTERS) {
        diag_set("size distribution \"%s\": no cluster %s (clusters 1 to %d)", spec, num,
                 SIZES_TWITTER_CLUSTERS);
        return -1;
    }
    if (sizes_twitter_preset(n, &key, &value) != 0) {
        diag_set("size distribution \"%s\": cluster %u has no preset: the trace's "
                 "statistics publish no sizes for it (clusters 1 to %d but %u)", spec, n,
                 SIZES_TWITTER_CLUSTERS, n);
        return -1;
    }
    d->cluster = n;
    d->min = key;
    d->max = UINT64_MAX;
    d->value_mean = (uint32_t) value;  /* the largest is 67485 */
    d->log_q = log1p(-1.0 / ((double) value + 1.0));
    return 0;
}

int
sizes_parse(const char *spec, struct size_dist *out)
{
    struct sizes_fields fs;
    struct size_dist    d;
    const char         *kind;
    int                 rc;

    if (spec[0] == '\0') {
        diag_set("size distribution \"\": empty (known kinds: " SIZES_KINDS ")");
        return -1;
    }
    if (sizes_split(spec, &fs) != 0) {
        return -1;
    }
    memset(&d, 0, sizeof(d));
    kind = fs.f[0];
    if (strcmp(kind, "fixed") == 0) {
        d.kind = SIZES_FIXED;
        if (fs.n != 2) {
            diag_set("size distribution \"%s\": expected fixed:S", spec);
            return -1;
        }
        rc = sizes_size(spec, fs.f[1], &d.min);
        d.max = d.min;
    } else if (strcmp(kind, "uniform") == 0 || strcmp(kind, "pow2") == 0) {
        d.kind = kind[0] == 'u' ? SIZES_UNIFORM : SIZES_POW2;
        rc = sizes_parse_range(spec, &fs, &d);
    } else if (strcmp(kind, "etc") == 0) {
        d.kind = SIZES_ETC;
        rc = sizes_parse_etc(spec, &fs, &d);
    } else if (strcmp(kind, "twitter") == 0) {
        d.kind = SIZES_TWITTER;
        rc = sizes_parse_twitter(spec, &fs, &d);
    } else {
        diag_set("size distribution \"%s\": unknown kind \"%s\" (known: " SIZES_KINDS ")",
                 spec, kind);
        return -1;
    }
    if (rc != 0) {
        return -1;
    }
    *out = d;
    return 0;
}

/* A uniform double in the open interval (0, 1): 53 random bits, centred in
 * their cell, so that neither log(U) nor U^-k can be infinite. */
static double
sizes_unit(uint64_t *rng)
{
    return ((double) (prng_next(rng) >> 11) + 0.5) * 0x1p-53;
}

uint64_t
sizes_etc_key(uint64_t *rng, uint64_t cap)
{
    double x = ETC_KEY_MU + (ETC_KEY_SIGMA / ETC_KEY_K)
               * (pow(-log(sizes_unit(rng)), -ETC_KEY_K) - 1.0);

    /* x > mu - sigma/k = -73.5 always; compare before converting so that a
     * huge draw cannot overflow the conversion. */
    if (x < 1.5) {
        return 1;
    }
    if (x >= (double) cap - 0.5) {
        return cap;
    }
    return (uint64_t) llround(x);
}

uint64_t
sizes_etc_value(uint64_t *rng, unsigned theta)
{
    double   u = sizes_unit(rng), sum = 0.0, x;
    unsigned i;

    for (i = 0; i < ETC_HEAD; i++) {
        sum += etc_head[i];
        if (sum > u) {
            return i;
        }
    }
    x = theta + (ETC_VAL_SIGMA / ETC_VAL_K) * (pow(sizes_unit(rng), -ETC_VAL_K) - 1.0);
    return (uint64_t) x;               /* x < 2^30: U >= 2^-54 */
}

/* The geometric value of a Twitter distribution: by inversion, one draw
 * (sizes.h).  ln U and ln(1 - p) are both negative; the quotient is under
 * 38 (V + 1), far from overflowing the conversion. */
static uint64_t
sizes_geometric(uint64_t *rng, double log_q)
{
    return (uint64_t) floor(log(sizes_unit(rng)) / log_q);
}

uint64_t
sizes_draw(const struct size_dist *d, uint64_t *rng)
{
    uint64_t span, k;

    switch (d->kind) {
    case SIZES_FIXED:
        return d->min;
    case SIZES_UNIFORM:
        span = d->max - d->min + 1;    /* 0: the whole 64-bit range */
        return d->min + (span ? prng_below(rng, span) : prng_next(rng));
    case SIZES_POW2:
        return 1ull << (d->min_shift
                        + prng_below(rng, d->max_shift - d->min_shift + 1));
    case SIZES_ETC:
        k = sizes_etc_key(rng, SIZES_ETC_KEY_MAX);
        return k + sizes_etc_value(rng, d->theta);
    case SIZES_TWITTER:
        return d->min + sizes_geometric(rng, d->log_q);
    }
    return 0;
}

uint64_t
sizes_min(const struct size_dist *d)
{
    return d->min;
}

uint64_t
sizes_max(const struct size_dist *d)
{
    return d->max;
}

int
sizes_unbounded(const struct size_dist *d)
{
    return d->kind == SIZES_ETC || d->kind == SIZES_TWITTER;
}

/* GEV's CDF at x (the key's). */
static double
sizes_gev_cdf(double x)
{
    double t = 1.0 + ETC_KEY_K * (x - ETC_KEY_MU) / ETC_KEY_SIGMA;

    return t <= 0.0 ? 0.0 : exp(-pow(t, -1.0 / ETC_KEY_K));
}

/* The mean key length with the rounding and the cap: P(key = j) is the
 * GEV mass of [j - 1/2, j + 1/2), the ends taking everything beyond. */
static double
sizes_etc_key_mean(uint64_t cap)
{
    double   mean = 0.0, below = 0.0, f;
    uint64_t j;

    for (j = 1; j < cap; j++) {
        f = sizes_gev_cdf((double) j + 0.5);
        mean += (double) j * (f - below);
        below = f;
    }
    return mean + (double) cap * (1.0 - below);
}

/* P(tail draw >= x): the Pareto survival function. */
static double
sizes_gpd_survival(double x, unsigned theta)
{
    return x <= theta ? 1.0
                      : pow(1.0 + ETC_VAL_K * (x - theta) / ETC_VAL_SIGMA, -1.0 / ETC_VAL_K);
}

/* The mean value length: the table's, plus the tail's share times the mean
 * of the tail's integer part, which is the sum over j >= 1 of P(tail >= j);
 * the sum is taken to J, its remainder as the integral of the survival
 * function from J + 1/2 (the midpoint rule, off by far less than 1e-9). */
static double
sizes_etc_value_mean(unsigned theta)
{
    const unsigned J = 1u << 14;
    double         mean = 0.0, head = 0.0, tail = 0.0;
    unsigned       i, j;

    for (i = 0; i < ETC_HEAD; i++) {
        mean += i * etc_head[i];
        head += etc_head[i];
    }
    for (j = 1; j <= J; j++) {
        tail += sizes_gpd_survival(j, theta);
    }
    tail += ETC_VAL_SIGMA / (1.0 - ETC_VAL_K)
            * pow(1.0 + ETC_VAL_K * (J + 0.5 - theta) / ETC_VAL_SIGMA,
                  1.0 - 1.0 / ETC_VAL_K);
    return mean + (1.0 - head) * tail;
}

double
sizes_mean(const struct size_dist *d)
{
    double   sum = 0.0;
    unsigned s;

    switch (d->kind) {
    case SIZES_FIXED:
        return (double) d->min;
    case SIZES_UNIFORM:
        return ((double) d->min + (double) d->max) / 2.0;
    case SIZES_POW2:
        for (s = d->min_shift; s <= d->max_shift; s++) {
            sum += ldexp(1.0, (int) s);
        }
        return sum / (d->max_shift - d->min_shift + 1);
    case SIZES_ETC:
        return sizes_etc_key_mean(SIZES_ETC_KEY_MAX) + sizes_etc_value_mean(d->theta);
    case SIZES_TWITTER:
        return (double) d->min + (double) d->value_mean;
    }
    return 0.0;
}

char *
sizes_spec(const struct size_dist *d, char *buf, size_t n)
{
    unsigned long long lo = d->min, hi = d->max;

    switch (d->kind) {
    case SIZES_FIXED:
        snprintf(buf, n, "fixed:%llu", lo);
        break;
    case SIZES_UNIFORM:
        snprintf(buf, n, "uniform:%llu:%llu", lo, hi);
        break;
    case SIZES_POW2:
        snprintf(buf, n, "pow2:%llu:%llu", lo, hi);
        break;
    case SIZES_ETC:
        snprintf(buf, n, "etc:%u", d->theta);
        break;
    case SIZES_TWITTER:
        snprintf(buf, n, "twitter:%u", d->cluster);
        break;
    }
    return buf;
}

char *
sizes_describe(const struct size_dist *d, char *buf, size_t n)
{
    unsigned long long lo = d->min, hi = d->max;
    double             mean = sizes_mean(d);

    switch (d->kind) {
    case SIZES_FIXED:
        snprintf(buf, n, "fixed: always %llu bytes", lo);
        break;
    case SIZES_UNIFORM:
        snprintf(buf, n, "uniform: %llu to %llu bytes, mean %.1f", lo, hi, mean);
        break;
    case SIZES_POW2:
        snprintf(buf, n, "pow2: powers of two from %llu to %llu bytes, each exponent "
                 "equally likely, mean %.1f", lo, hi, mean);
        break;
    case SIZES_ETC:
        snprintf(buf, n, "etc: memcached ETC key + value sizes (GEV key up to %u bytes, "
                 "value table + Pareto tail at theta=%u), mean %.1f bytes",
                 SIZES_ETC_KEY_MAX, d->theta, mean);
        break;
    case SIZES_TWITTER:
        snprintf(buf, n, "twitter cluster %u: key %llu bytes + geometric value of mean "
                 "%llu bytes (Twitter cache-trace 2020 statistics)", d->cluster, lo,
                 (unsigned long long) d->value_mean);
        break;
    }
    return buf;
}
