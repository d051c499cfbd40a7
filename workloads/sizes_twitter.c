/*
 * sizes_twitter: the presets of the `twitter:CLUSTER` size distribution,
 * one pair of figures per cluster of Twitter's in-memory caches.
 *
 * The figures are those of Twitter's public cache-trace repository,
 * github.com/twitter/cache-trace, file stat/2020Mar.md, which accompanies
 * Yang, Yue and Rashmi, "A large scale analysis of hundreds of in-memory
 * cache clusters at Twitter" (OSDI 2020).  That table gives for each of its
 * 54 clusters only the mean key size and the mean value size, in bytes;
 * cluster 5 has neither (N/A), so it has no preset here.  What is drawn
 * from the two means, and why, is written in sizes.h; this file only holds
 * the figures, so that they can be checked against the source line by line.
 */
#include "sizes.h"

/* A cluster's published means; both 0 where the table has none. */
struct sizes_twitter_means {
    uint16_t key;
    uint32_t value;
};

/* Indexed by the cluster's number, as the source numbers them. */
static const struct sizes_twitter_means sizes_twitter_table[SIZES_TWITTER_CLUSTERS + 1] = {
    [ 1] = {  80,   267 },
    [ 2] = {  21,    68 },
    [ 3] = {  19,   120 },
    [ 4] = {  67,  2439 },
    /* [5]: N/A, N/A */
    [ 6] = {  44,   252 },
    [ 7] = {  17,  1936 },
    [ 8] = {  23,  9497 },
    [ 9] = {  32,    39 },
    [10] = {  22,  2333 },
    [11] = {  24,   170 },
    [12] = {  44,  1030 },
    [13] = {  44,  4266 },
    [14] = {  96,   414 },
    [15] = {  18,   102 },
    [16] = {  18,   115 },
    [17] = {  19,   212 },
    [18] = {  18,    37 },
    [19] = {  42,   101 },
    [20] = {  26,    55 },
    [21] = {  25,     1 },
    [22] = {  54,     4 },
    [23] = {  35,   224 },
    [24] = {  32,   699 },
    [25] = {  49,    28 },
    [26] = { 122,  1745 },
    [27] = {  66,     8 },
    [28] = {  45,    85 },
    [29] = {  36,   799 },
    [30] = {  22,   689 },
    [31] = {  41,    15 },
    [32] = {  41,   138 },
    [33] = {  24,  1118 },
    [34] = {  33,   322 },
    [35] = {  19,  1796 },
    [36] = {  23,    78 },
    [37] = {  72, 20134 },
    [38] = {  41,   185 },
    [39] = {  41,    80 },
    [40] = {  44,   155 },
    [41] = {  44,   171 },
    [42] = {  40,  4703 },
    [43] = {  44,   304 },
    [44] = {  25,    22 },
    [45] = {  10,   120 },
    [46] = {  44,   928 },
    [47] = {  44,   267 },
    [48] = {  44,    70 },
    [49] = {  44, 10658 },
    [50] = {  18, 67485 },
    [51] = {  44,   221 },
    [52] = {  20,   273 },
    [53] = {  36,  9213 },
    [54] = {  19,   246 },
};

int
sizes_twitter_preset(unsigned cluster, uint64_t *key, uint64_t *value)
{
    const struct sizes_twitter_means *m;

    if (cluster < 1 || cluster > SIZES_TWITTER_CLUSTERS) {
        return -1;
    }
    m = &sizes_twitter_table[cluster];
    if (m->key == 0) {
        return -1;                     /* published as N/A */
    }
    *key = m->key;
    *value = m->value;
    return 0;
}
