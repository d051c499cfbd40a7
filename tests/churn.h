/*
 * churn: CHURN_WORKERS forked workers allocating and freeing on one zone.
 *
 * Each worker (proc_set_index(w), then attach) allocates blocks of 8 ..
 * max_size bytes, fills each with a pattern of its tag (worker, sequence),
 * and with `cross` hands three in four to the next worker through a ring,
 * which checks the pattern and frees them: blocks are freed by another
 * process than allocated them.  The rest it keeps a while (up to 64) and
 * frees itself.  At the end every block is freed, so a zone whose allocator
 * frees everything it is given comes back to its empty state.
 *
 * Include after testutil.h and mputil.h: churn_run() CHECKs each worker's
 * exit status (bit 1: a damaged block, 2: a free refused, 4: attach failed).
 */
#ifndef SHMBENCH_CHURN_H
#define SHMBENCH_CHURN_H

#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "substrate/allocator.h"
#include "substrate/proc.h"

#define CHURN_WORKERS 4

struct churn_shared {
    struct mp_ring ring[CHURN_WORKERS];
    _Atomic int    done[CHURN_WORKERS];
    uint64_t       calls[CHURN_WORKERS];     /* alloc + free calls */
};

static int
churn_free(const struct allocator_ops *ops, struct zone *z, struct churn_shared *sh, int w,
    unsigned char *p, uint64_t size, uint64_t tag)
{
    int bad = !mp_intact(p, size, tag);

    bad |= (ops->free(z, p) != 0) << 1;
    sh->calls[w]++;
    return bad;
}

static int
churn_worker(const struct allocator_ops *ops, struct zone *z, struct churn_shared *sh, int w,
    unsigned nops, int cross, size_t max_size)
{
    uint64_t       rng = 0x77 + (uint64_t) w, off, size, tag;
    struct { unsigned char *p; size_t size; uint64_t tag; } mine[64];
    unsigned       i, n = 0;
    int            bad = 0;
    unsigned char *p;

    proc_set_index(w);
    if (ops->attach && ops->attach(z) != 0) {
        return 4;
    }
    for (i = 0; i < nops; i++) {
        while (cross && mp_ring_get(&sh->ring[w], &off, &size, &tag) == 0) {
            bad |= churn_free(ops, z, sh, w, z->base + off, size, tag);
        }
        size = 8 + mp_rng(&rng) % (max_size - 7);
        tag = ((uint64_t) w << 32) | i;
        p = ops->alloc(z, size);
        sh->calls[w]++;
        if (p == NULL) {
            continue;
        }
        mp_fill(p, size, tag);
        if (cross && mp_rng(&rng) % 4 != 0
            && mp_ring_put(&sh->ring[(w + 1) % CHURN_WORKERS], (uint64_t) (p - z->base), size,
                           tag) == 0)
        {
            continue;
        }
        if (n == 64) {
            unsigned k = (unsigned) (mp_rng(&rng) % n);
            bad |= churn_free(ops, z, sh, w, mine[k].p, mine[k].size, mine[k].tag);
            mine[k] = mine[--n];
        }
        mine[n].p = p;
        mine[n].size = size;
        mine[n++].tag = tag;
    }
    while (n) {
        n--;
        bad |= churn_free(ops, z, sh, w, mine[n].p, mine[n].size, mine[n].tag);
    }
    atomic_store(&sh->done[w], 1);
    while (cross) {             /* drain until the producer is done */
        int producer_done = atomic_load(&sh->done[(w + CHURN_WORKERS - 1) % CHURN_WORKERS]);
        while (mp_ring_get(&sh->ring[w], &off, &size, &tag) == 0) {
            bad |= churn_free(ops, z, sh, w, z->base + off, size, tag);
        }
        if (producer_done) {
            break;
        }
        sched_yield();
    }
    return bad;
}

/* Run the workers of nops rounds each and wait for them; the number of
 * alloc and free calls they made (each one lock, for locked allocators). */
static uint64_t
churn_run(const struct allocator_ops *ops, struct zone *z, unsigned nops, int cross,
    size_t max_size, const char *label)
{
    struct churn_shared *sh;
    pid_t                pid[CHURN_WORKERS];
    uint64_t             calls = 0;
    int                  w, st;

    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED, "%s: shared mapping for the churn", label);
    if (sh == MAP_FAILED) {
        return 0;
    }
    memset(sh, 0, sizeof(*sh));
    fflush(stdout);
    for (w = 0; w < CHURN_WORKERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            alarm(60);
            _exit(churn_worker(ops, z, sh, w, nops, cross, max_size));
        }
    }
    for (w = 0; w < CHURN_WORKERS; w++) {
        st = wait_child(pid[w]);
        CHECK(st == 0, "%s: churn worker %d ended with %d (1 damaged block, 2 free refused, "
              "4 attach)", label, w, st);
        calls += sh->calls[w];
    }
    munmap(sh, sizeof(*sh));
    return calls;
}

#endif
