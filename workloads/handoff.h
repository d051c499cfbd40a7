/*
 * handoff: a single-producer / single-consumer ring of blocks, placed in a
 * shared mapping, through which one process hands blocks to another to
 * free.
 *
 * A block travels as its offset from the zone base (the zone is mapped at
 * the same address in every forked process, but an offset also survives a
 * zone attached by name), its requested size and a tag the two sides agree
 * on (a test's pattern tag, a workload's granted size).  The producer owns
 * `tail`, the consumer `head`, each on its own cache line; an item is
 * published by the release store of `tail` and consumed by the release
 * store of `head`, so no lock is needed and neither side ever waits: a full
 * ring says so (-1) and the producer keeps the block, an empty one says so
 * and the consumer goes on.  Header-only, because the tests that include it
 * through tests/mputil.h are built without workloads/ on their path.
 */
#ifndef SHMBENCH_HANDOFF_H
#define SHMBENCH_HANDOFF_H

#include <stdatomic.h>
#include <stdint.h>

#define HANDOFF_SIZE 256

struct handoff_ring {
    _Atomic uint64_t head;      /* next slot the consumer reads */
    char             pad1[56];
    _Atomic uint64_t tail;      /* next slot the producer writes */
    char             pad2[56];
    struct {
        uint64_t off, size, tag;
    } item[HANDOFF_SIZE];
};

/* Producer side: hand one block over; -1 when the ring is full. */
static inline int
handoff_put(struct handoff_ring *r, uint64_t off, uint64_t size, uint64_t tag)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

    if (t - atomic_load_explicit(&r->head, memory_order_acquire) == HANDOFF_SIZE) {
        return -1;
    }
    r->item[t % HANDOFF_SIZE].off = off;
    r->item[t % HANDOFF_SIZE].size = size;
    r->item[t % HANDOFF_SIZE].tag = tag;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return 0;
}

/* Consumer side: take the oldest block; -1 when the ring is empty. */
static inline int
handoff_get(struct handoff_ring *r, uint64_t *off, uint64_t *size, uint64_t *tag)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

    if (h == atomic_load_explicit(&r->tail, memory_order_acquire)) {
        return -1;
    }
    *off = r->item[h % HANDOFF_SIZE].off;
    *size = r->item[h % HANDOFF_SIZE].size;
    *tag = r->item[h % HANDOFF_SIZE].tag;
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return 0;
}

/* Blocks in the ring now (exact once both sides have stopped). */
static inline uint64_t
handoff_count(struct handoff_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire)
           - atomic_load_explicit(&r->head, memory_order_acquire);
}

#endif
