/*
 * larson: Larson and Krishnan's server simulation (ISMM 1998), the way
 * mimalloc-bench runs it (`larson 5 8 1000 5000 100 4141 N`), with the
 * worker threads turned into processes over one zone.
 *
 * In the benchmark every thread owns an array of `blocks` blocks.  Each
 * step picks a slot at random, frees its block and allocates one of a
 * random size in its place.  After rounds * blocks steps the thread ends
 * and a new thread inherits its array, so the blocks the old thread
 * allocated are freed by another thread: most frees are remote.
 *
 * Here a thread's end is a handoff between processes.  The arrays live in
 * the workload's shared area (workers + 1 of them; a block is recorded as
 * its offset from the zone base, never a pointer), and one atomic word
 * holds the index of the array that is "parked", waiting for a successor.
 * A worker whose array has lived its rounds exchanges it for the parked
 * one (one atomic exchange: it never waits, and what it gets back was
 * parked by another worker, except with one worker, where its own earlier
 * array comes back).  The blocks it had allocated leave its live set
 * (wl_give); the blocks of the array it takes were allocated elsewhere and
 * are freed as remote frees when their slots come up.  The spare array
 * starts empty: its first holder's steps in empty slots only allocate.
 *
 * Each entry says whether its block is live in the holder's counters (the
 * holder allocated it since it took the array).  When the run ends, a
 * worker recounts those; every other non-empty entry, in any array, was
 * handed off and not yet freed: in transit.
 *
 * Sizes: `sizes=uniform:8:999` by default, the benchmark's 8 + rand % 992
 * (its range [min, max) with min 8, max 1000).
 */
#include <stdatomic.h>

#include "prng.h"
#include "substrate/diag.h"
#include "workload.h"

struct larson_cfg {
    uint64_t         blocks, rounds;
    struct size_dist sizes;
};

static const struct wl_param larson_params[] = {
    { "blocks", WL_COUNT, 5000, 1, 1u << 22, offsetof(struct larson_cfg, blocks),
      "blocks in each worker's array (the benchmark's chunks per thread)", NULL },
    { "rounds", WL_COUNT, 100, 1, 1u << 20, offsetof(struct larson_cfg, rounds),
      "an array is handed on after rounds * blocks steps (the benchmark's rounds)", NULL },
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct larson_cfg, sizes),
      "request sizes (the benchmark's 8 to 999 bytes)", "uniform:8:999" },
};

/* One slot of an array, in the shared area. */
struct larson_entry {
    uint64_t off;               /* the block's offset from the zone base */
    uint64_t granted;
    uint32_t size;              /* requested bytes; 0: the slot is empty */
    uint32_t live;              /* 1: counted live by the array's holder */
};

/* The shared area: the parked array, then workers + 1 arrays. */
struct larson_shared {
    _Atomic uint64_t parked;    /* the parked array's index + 1, mod workers + 1 */
    char             pad[56];
};

static int
larson_check(const void *cfg, unsigned nworkers)
{
    const struct larson_cfg *c = cfg;

    (void) nworkers;
    return workload_check_sizes("larson", "sizes", &c->sizes);
}

static unsigned
larson_needs(const void *cfg, unsigned nworkers)
{
    (void) cfg;
    return nworkers > 1 ? WL_NEEDS_CROSS_FREE : 0;
}

static size_t
larson_shared_size(const void *cfg, unsigned nworkers)
{
    const struct larson_cfg *c = cfg;

    return sizeof(struct larson_shared)
           + ((size_t) nworkers + 1) * c->blocks * sizeof(struct larson_entry);
}

/* Array i of the shared area. */
static struct larson_entry *
larson_array(const struct larson_cfg *c, void *shared, uint64_t i)
{
    return (struct larson_entry *) ((struct larson_shared *) shared + 1) + i * c->blocks;
}

static uint64_t
larson_in_transit(const void *cfg, void *shared, unsigned nworkers)
{
    const struct larson_cfg *c = cfg;
    struct larson_entry     *e = larson_array(c, shared, 0);
    uint64_t                 i, n = 0;

    for (i = 0; i < ((uint64_t) nworkers + 1) * c->blocks; i++) {
        n += e[i].size != 0 && !e[i].live;
    }
    return n;
}

/* Slot k's old block goes (freed here, or a remote free), a new one comes.
 * In the measured loop (`measured`) the stop is asked between the two
 * ops: wl_should_stop reads the clock only when the attempts are a
 * multiple of 256, and a step of two ops after one of one (an empty slot)
 * would otherwise never land on one. */
static int
larson_step(struct wl_ctx *c, struct larson_entry *e, uint64_t *rng, int measured)
{
    const struct larson_cfg *cf = c->cfg;
    void                    *p;
    int                      rc;

    if (e->size != 0) {
        p = c->zone->base + e->off;
        rc = e->live ? wl_free(c, p, e->size, e->granted) : wl_free_remote(c, p);
        if (rc != 0) {
            diag_set("larson: worker %u: free of a block of %u bytes (%s) refused: %s",
                     c->worker, e->size, e->live ? "its own" : "handed over",
                     diag_last());
            return -1;
        }
        e->size = 0;
        if (measured && wl_should_stop(c)) {
            return 0;
        }
    }
    e->size = (uint32_t) sizes_draw(&cf->sizes, rng);
    p = wl_alloc(c, e->size, &e->granted);
    if (p == NULL) {
        e->size = 0;
        return 0;
    }
    e->off = (uint64_t) ((unsigned char *) p - c->zone->base);
    e->live = 1;
    return 0;
}

/* The thread ends: its array is parked, the parked one taken; returns the
 * index of the array now held. */
static uint64_t
larson_handoff(struct wl_ctx *c, uint64_t held)
{
    const struct larson_cfg *cf = c->cfg;
    struct larson_shared    *sh = c->shared;
    struct larson_entry     *e = larson_array(cf, c->shared, held);
    uint64_t                 i, m = (uint64_t) c->nworkers + 1, got;

    for (i = 0; i < cf->blocks; i++) {
        if (e[i].size != 0 && e[i].live) {
            wl_give(c, e[i].size, e[i].granted);
            e[i].live = 0;
        }
    }
    got = atomic_exchange_explicit(&sh->parked, (held + 1) % m, memory_order_acq_rel);
    return (got + m - 1) % m;
}

static int
larson_run(struct wl_ctx *c)
{
    const struct larson_cfg *cf = c->cfg;
    uint64_t                 rng = workload_worker_seed(c->seed, c->worker);
    uint64_t                 held = c->worker, life = cf->rounds * cf->blocks, step = 0;
    uint64_t                 i, blocks = 0, bytes = 0;
    struct larson_entry     *e = larson_array(cf, c->shared, held);
    int                      rc = 0;

    for (i = 0; i < cf->blocks; i++) {
        if (larson_step(c, &e[i], &rng, 0) != 0) {
            return -1;
        }
    }
    c->ready(c);
    while (!wl_should_stop(c)) {
        if (++step > life) {
            held = larson_handoff(c, held);
            e = larson_array(cf, c->shared, held);
            step = 1;
        }
        if (larson_step(c, &e[prng_below(&rng, cf->blocks)], &rng, 1) != 0) {
            rc = -1;
            break;
        }
    }
    for (i = 0; i < cf->blocks; i++) {
        blocks += e[i].size != 0 && e[i].live;
        bytes += e[i].size != 0 && e[i].live ? e[i].size : 0;
    }
    wl_recount(c, blocks, bytes);
    return rc;
}

const struct workload wl_larson = {
    .name = "larson",
    .summary = "Larson's server churn (mimalloc-bench): random replace in an array of "
               "`blocks`, the array handed to another worker every rounds * blocks steps",
    .params = larson_params,
    .nparams = sizeof(larson_params) / sizeof(larson_params[0]),
    .cfg_size = sizeof(struct larson_cfg),
    .check = larson_check,
    .needs = larson_needs,
    .shared_size = larson_shared_size,
    .in_transit = larson_in_transit,
    .run = larson_run,
};
