/*
 * mputil: pieces shared by the multi-process tests.
 *
 * A seeded generator (the project's splitmix64, workloads/prng.h), block
 * patterns that depend on a block's tag (owner and sequence number) so that
 * a block damaged or handed out twice is noticed when it is checked, a
 * block record with an overlap check over a set of them, and, under the
 * tests' names, the driver's handoff ring (workloads/handoff.h), through which
 * one worker hands blocks (as offsets from the zone base) to another to
 * free.
 */
#ifndef SHMBENCH_MPUTIL_H
#define SHMBENCH_MPUTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* By its path from here: lfslab's test builds do not have workloads/ on
 * their include path. */
#include "../workloads/prng.h"
#include "../workloads/handoff.h"

/* The project's generator (workloads/prng.h) under the tests' name. */
static inline uint64_t
mp_rng(uint64_t *s)
{
    return prng_next(s);
}

static inline unsigned char
mp_pattern(uint64_t tag, uint64_t i)
{
    return (unsigned char) (tag * 131 + i * 7 + (tag >> 8));
}

static inline void
mp_fill(unsigned char *p, size_t size, uint64_t tag)
{
    size_t i;

    for (i = 0; i < size; i++) {
        p[i] = mp_pattern(tag, i);
    }
}

static inline int
mp_intact(const unsigned char *p, size_t size, uint64_t tag)
{
    size_t i;

    for (i = 0; i < size; i++) {
        if (p[i] != mp_pattern(tag, i)) {
            return 0;
        }
    }
    return 1;
}

/* A block a test holds: where, what it asked, what it got, its pattern's
 * tag (p NULL: no block). */
struct mp_block {
    unsigned char *p;
    size_t         size, usable;
    uint64_t       tag;
};

static inline int
mp_by_address(const void *a, const void *b)
{
    const struct mp_block *x = a, *y = b;

    return (x->p > y->p) - (x->p < y->p);
}

/* Overlapping neighbours among the blocks of blk[0..n) held (p not NULL),
 * each taken as its usable bytes plus pad (a header the allocator keeps
 * after it).  blk is not reordered. */
static inline size_t
mp_overlaps(const struct mp_block *blk, size_t n, size_t pad)
{
    struct mp_block *s = malloc((n ? n : 1) * sizeof(*s));
    size_t           i, m = 0, bad = 0;

    if (s == NULL) {
        return n;                     /* counts as a failure: nothing checked */
    }
    for (i = 0; i < n; i++) {
        if (blk[i].p) {
            s[m++] = blk[i];
        }
    }
    qsort(s, m, sizeof(*s), mp_by_address);
    for (i = 1; i < m; i++) {
        bad += s[i - 1].p + s[i - 1].usable + pad > s[i].p;
    }
    free(s);
    return bad;
}

/* The handoff ring is workloads/handoff.h's, under the tests' names. */
#define MP_RING HANDOFF_SIZE
#define mp_ring handoff_ring

static inline int
mp_ring_put(struct handoff_ring *r, uint64_t off, uint64_t size, uint64_t tag)
{
    return handoff_put(r, off, size, tag);
}

static inline int
mp_ring_get(struct handoff_ring *r, uint64_t *off, uint64_t *size, uint64_t *tag)
{
    return handoff_get(r, off, size, tag);
}

#endif
