/*
 * churn: the churn workload, drawn up front from a seed.
 *
 * A churn keeps `live` slots, each holding one block.  It starts by filling
 * every slot (fill[i] is slot i's size), then each round frees the block of
 * one slot and allocates a new one in its place: round[j] says which slot
 * and the new size.  Slots are uniform; sizes are uniform in [min, max]
 * (bench's churn), or drawn from a size distribution (workloads/sizes.h)
 * when one is given; all from one splitmix64 stream (prng.h) in that
 * order: the fill sizes, then per round its slot and its size.  A uniform
 * distribution draws exactly as [min, max] does (sizes_draw's uniform is
 * min + prng_below(span)), so `uniform:8:2048` is bench's default sequence,
 * bit for bit; a draw above UINT32_MAX (etc's unbounded tail: a draw of
 * 1 MiB already has a probability of about 1e-9) is cut to UINT32_MAX.
 *
 * The idea: draw the whole sequence before anything is measured, so that a
 * timed loop reads two words per round and computes nothing, and every
 * allocator (and every repeat) is handed exactly the same ops.  A driver
 * applies the sequence as it likes; the rules it keeps are these: a slot
 * whose allocation failed is empty, and the next round that picks it only
 * allocates.  Several processes can share one sequence, each with its own
 * slots: worker w of n starts at churn_first(q, w, n) and walks
 * churn_after() round the end, so that they do not all ask for the same
 * sizes at the same time.
 */
#ifndef SHMBENCH_CHURN_H
#define SHMBENCH_CHURN_H

#include <stdint.h>

#include "sizes.h"

/* One round: free slot `slot`'s block, allocate `size` bytes in its place. */
struct churn_round {
    uint32_t slot;
    uint32_t size;
};

/* A drawn churn. */
struct churn_seq {
    uint32_t           *fill;      /* live sizes, one per slot */
    struct churn_round *round;     /* rounds of them */
    uint64_t            live, rounds;
};

/* What to draw. */
struct churn_params {
    uint64_t live;                 /* slots, >= 1 */
    uint64_t rounds;               /* >= 1 */
    uint64_t min_size, max_size;   /* min <= max <= UINT32_MAX */
    uint64_t seed;                 /* any value */
    const struct size_dist *dist;  /* sizes from this; NULL: uniform [min, max] */
};

/*
 * Draw the churn that `p` describes into *q.  Returns 0, or -1 with a diag
 * message ("out of memory for N rounds"), *q then holding nothing (churn_free
 * is still safe).
 */
int churn_generate(struct churn_seq *q, const struct churn_params *p);

/* Release what churn_generate allocated. */
void churn_free(struct churn_seq *q);

/* The round at which worker w of n starts: the sequence cut in n equal
 * parts, so that worker 0 of 1 starts at round 0. */
static inline uint64_t
churn_first(const struct churn_seq *q, unsigned w, unsigned n)
{
    return w * q->rounds / n;
}

/* The round after round j: the sequence is a ring. */
static inline uint64_t
churn_after(const struct churn_seq *q, uint64_t j)
{
    return j + 1 == q->rounds ? 0 : j + 1;
}

#endif
