/*
 * sizes: the distributions a workload draws its block sizes from.
 *
 * A distribution is written as a short spec (on the command line, in a
 * workload's parameters) and parsed once into a `struct size_dist`, plain
 * data with no pointer, so that the master can copy it into every worker.
 * Draws come from the project's one generator (prng.h) with a state the
 * caller owns: a worker seeded the same way draws the same sizes.
 *
 *   fixed:S          always S bytes
 *   uniform:MIN:MAX  every size in [MIN, MAX] equally likely
 *   pow2:MIN:MAX     powers of two in [MIN, MAX] (both powers of two), every
 *                    exponent equally likely: 8, 16, ... as often each
 *   etc[:THETA]      the key + value size of one item of Facebook's memcached
 *                    "ETC" pool, as fitted by Atikoglu et al. (SIGMETRICS
 *                    2012) and encoded by the mutilate load generator
 *   twitter:CLUSTER  the key + value size of one item of a cluster (1 to 54,
 *                    not 5; also written clusterN) of Twitter's caches, from
 *                    the published mean key and value sizes
 *
 * A size is decimal with an optional binary suffix, k, m or g (KiB, MiB,
 * GiB): `uniform:1k:64k`.
 *
 * ETC.  The key length is a Generalized Extreme Value draw (location
 * 30.7984, scale 8.20449, shape 0.078688) by the inverse CDF
 * mu + (sigma/k) ((-ln U)^-k - 1), rounded to the nearest integer, at least
 * 1 and at most a store's key limit (memcached's 250 for `etc`).  The value
 * length is, with probability 0.44155 in all, one of the small sizes 0..14
 * of a fixed table (a uniform U1 walks the table's running sum and takes the
 * first size whose sum exceeds U1), and otherwise the integer part of a
 * Generalized Pareto draw theta + (sigma/k) (U2^-k - 1), scale 214.476,
 * shape 0.348238, with a fresh uniform U2.  THETA, the Pareto location, is
 * 0 in the paper and in mutilate's first version, 15 in mutilate since
 * August 2012 (where the tail starts after the table ends); `etc` means
 * `etc:15`, and the canonical spec (sizes_spec) always says which.  The
 * three quantities are independent, as the paper found them.  The value has
 * no upper bound: a draw of 1 MiB or more has a probability of about 1e-9.
 *
 * Twitter.  Twitter's public cache-trace repository
 * (github.com/twitter/cache-trace, file stat/2020Mar.md, accompanying Yang,
 * Yue and Rashmi, "A large scale analysis of hundreds of in-memory cache
 * clusters at Twitter", OSDI 2020) publishes per cluster only the mean key
 * size K and the mean value size V; the figures are in sizes_twitter.c.
 * Since nothing but means is known, the model is our own choice: an item is
 * key + value bytes; the key is K bytes, always (the keys of one cluster
 * follow one format); the value is drawn from the geometric distribution on
 * {0, 1, 2, ...} of mean V, the distribution of greatest entropy on the
 * non-negative integers for a given mean, that is the one that assumes
 * nothing beyond the published figure.  It is drawn by inversion from one
 * uniform U in (0, 1): floor(ln U / ln(1 - p)) with p = 1 / (V + 1), so
 * P(value >= j) = (1 - p)^j and the mean is exactly V: sizes_mean is K + V,
 * sizes_min is K.  The model's value has no upper bound, and sizes_max says
 * none; in practice the smallest U, 2^-54, ends the drawn tail at
 * ln(2^-54) / ln(1 - p), about 37.4 V for a large V (2.5 MB for cluster
 * 50's 67485).  Cluster 5, published without sizes, is refused.
 *
 * The order of the draws (for etc the key, then U1, then U2 if the value
 * falls in the tail; one draw for uniform, pow2 and twitter, none for fixed) is part of
 * what a seed means and must not change.
 */
#ifndef SHMBENCH_SIZES_H
#define SHMBENCH_SIZES_H

#include <stddef.h>
#include <stdint.h>

enum size_kind {
    SIZES_FIXED,
    SIZES_UNIFORM,
    SIZES_POW2,
    SIZES_ETC,
    SIZES_TWITTER
};

/* A parsed distribution. */
struct size_dist {
    enum size_kind kind;
    unsigned       theta;          /* etc: the value tail's location, 0 or 15 */
    unsigned       min_shift;      /* pow2: log2 of min and max */
    unsigned       max_shift;
    unsigned       cluster;        /* twitter: the cluster's number */
    uint32_t       value_mean;     /* twitter: the value's mean V (no padding
                                    * before min: the tests compare bytes) */
    uint64_t       min, max;       /* fixed: both S; uniform, pow2: the bounds;
                                    * twitter: min is the key's length */
    double         log_q;          /* twitter: ln(1 - p), kept for the draw */
};

/* memcached's longest key, the cap of `etc`'s key length. */
#define SIZES_ETC_KEY_MAX 250

/* The clusters of Twitter's statistics, numbered 1 to this. */
#define SIZES_TWITTER_CLUSTERS 54

/* The kinds as a list, for messages: "fixed:S, uniform:MIN:MAX, ...". */
#define SIZES_KINDS \
    "fixed:S, uniform:MIN:MAX, pow2:MIN:MAX, etc[:THETA], twitter:CLUSTER"

/* The syntax, for a command's --help: each kind with what it means, every
 * line indented by two spaces and ending in a newline. */
extern const char sizes_help[];

/* A size: decimal with an optional k/K, m/M or g/G suffix (binary), fitting
 * in 64 bits; 0 or -1 (no diag message: the caller names the context).
 * The same grammar as bench's --zone-size, kept here so that workloads/
 * depends on nothing in bench/. */
int sizes_parse_bytes(const char *s, uint64_t *out);

/*
 * Parse `spec` into *out.  Returns 0, or -1 with a diag message
 * `size distribution "SPEC": WHY` naming what is wrong ("unknown kind
 * \"x\" (known: ...)", "expected uniform:MIN:MAX", "bad size \"4q\"",
 * "MIN > MAX", "MIN 3 is not a power of two", ...); *out is then
 * untouched.
 */
int sizes_parse(const char *spec, struct size_dist *out);

/* One size drawn from d with the generator whose state is *rng. */
uint64_t sizes_draw(const struct size_dist *d, uint64_t *rng);

/* ETC's key length (one draw), in [1, cap], cap >= 1 (250 for memcached,
 * 65535 for a lua_shared_dict). */
uint64_t sizes_etc_key(uint64_t *rng, uint64_t cap);

/* ETC's value length (one or two draws), tail location theta. */
uint64_t sizes_etc_value(uint64_t *rng, unsigned theta);

/* Twitter cluster `cluster`'s published mean key and value sizes into
 * *key and *value: 0, or -1 (no diag message: the caller names the spec)
 * for a cluster outside 1..SIZES_TWITTER_CLUSTERS or one published without
 * sizes (5). */
int sizes_twitter_preset(unsigned cluster, uint64_t *key, uint64_t *value);

/* The smallest and largest size d can draw (UINT64_MAX: no bound). */
uint64_t sizes_min(const struct size_dist *d);
uint64_t sizes_max(const struct size_dist *d);

/* 1 if d's sizes have a tail without an upper bound (etc, twitter), whose
 * rare huge draws a caller cuts to its own limit; 0 if d draws within
 * bounds given in its spec. */
int sizes_unbounded(const struct size_dist *d);

/* The exact mean of d's sizes (for etc computed from the distributions'
 * CDFs, rounding, the cap and the integer part included, to about 1e-9). */
double sizes_mean(const struct size_dist *d);

/* The canonical spec of d ("uniform:8:4096", "etc:15"), which sizes_parse
 * reads back as d, into buf of n bytes; returns buf. */
char *sizes_spec(const struct size_dist *d, char *buf, size_t n);

/* A one-line description of d, for --help and meta.json, into buf of n
 * bytes; returns buf. */
char *sizes_describe(const struct size_dist *d, char *buf, size_t n);

#endif
