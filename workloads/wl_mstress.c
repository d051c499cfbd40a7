/*
 * mstress: mimalloc-bench's mstress (mimalloc's test-stress) as processes:
 * blocks retained for random lifetimes, blocks migrating between workers
 * through a shared transfer array, sizes mostly small with rare large and
 * huge ones, and every byte of a block checked before it is freed: a
 * corruption detector as much as a benchmark.
 *
 * Each worker keeps `live` retained slots, filled before the barrier.  A
 * step picks a slot at random:
 *   - empty: a new block goes in;
 *   - otherwise, with probability migrate%, the block is swapped into a
 *     random slot of the transfer array (an atomic exchange in the
 *     workload's shared area: `transfer` slots of block offsets, 0 for
 *     none), and whatever was there, a block of any worker or nothing,
 *     takes its place in the retained slot;
 *   - otherwise the block is checked and freed, and a new one goes in.
 * So a block lives for a random number of steps, moves between processes
 * any number of times, and is often freed by a process other than the one
 * that allocated it (with the defaults and 2 workers, about one free in
 * eight is remote).  migrate is at most 99: once the transfer array is
 * full a swap always brings a block back, and only the steps that free
 * make ops, by which an op budget is spent.
 *
 * Sizes: a block's size is drawn from `sizes` (small, pow2:16:1k by
 * default), except that one block in `large_in` (1/100) is drawn from
 * `large` (pow2:4k:64k) and, before that, one in `huge_in` (1/10000) from
 * `huge` (pow2:256k:1m): mstress's mix (mostly small, 1% large, 0.01% huge)
 * scaled to the default 64 MiB zone, where a huge block is 1/64 of it.  A
 * failed allocation is counted (fails) and leaves the slot empty; the run
 * goes on.
 *
 * The pattern: a block starts with a 16-byte header, its tag (the
 * allocating worker in the top bits, its sequence number below) and its
 * size masked by the tag's mix, then wl_pattern_fill's pattern of the tag
 * (wl_stress_common.h).  A worker taking a block from the transfer array
 * learns its size and origin from the header, checked for sense; before
 * any free the header must match and the pattern be intact, else the
 * worker stops with an error naming the block's offset, its size and the
 * first damaged byte, and the driver marks the run failed.
 *
 * Counting: a block given to the transfer array leaves its worker's live
 * set (wl_give, handed_off); a block taken joins the taker's live set, so
 * that live and held count what each worker's table holds, and the blocks
 * left in the array when the run ends are counted by the master as in
 * transit: allocations - frees = held + in transit.  Freeing a block
 * another worker allocated is a remote free.
 */
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "substrate/diag.h"
#include "wl_stress_common.h"
#include "workload.h"

#define MSTRESS_HEADER 16u
#define MSTRESS_SEQ_BITS 40

struct mstress_cfg {
    uint64_t         live, transfer, migrate, large_in, huge_in;
    struct size_dist sizes, large, huge;
};

static const struct wl_param mstress_params[] = {
    { "live", WL_COUNT, 500, 1, 1u << 24, offsetof(struct mstress_cfg, live),
      "retained slots each worker keeps", NULL },
    { "transfer", WL_COUNT, 1000, 1, 1u << 24, offsetof(struct mstress_cfg, transfer),
      "slots of the shared transfer array", NULL },
    { "migrate", WL_PERCENT, 25, 0, 99, offsetof(struct mstress_cfg, migrate),
      "percent of steps that swap a block through the transfer array (the others free)",
      NULL },
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct mstress_cfg, sizes),
      "the small sizes, most blocks (16 bytes at least)", "pow2:16:1k" },
    { "large", WL_SIZES, 0, 0, 0, offsetof(struct mstress_cfg, large),
      "the large sizes", "pow2:4k:64k" },
    { "large_in", WL_COUNT, 100, 0, 1u << 30, offsetof(struct mstress_cfg, large_in),
      "one block in this many is large (0: none)", NULL },
    { "huge", WL_SIZES, 0, 0, 0, offsetof(struct mstress_cfg, huge),
      "the huge sizes", "pow2:256k:1m" },
    { "huge_in", WL_COUNT, 10000, 0, 1u << 30, offsetof(struct mstress_cfg, huge_in),
      "one block in this many is huge (0: none)", NULL },
};

static int
mstress_check(const void *cfg, unsigned nworkers)
{
    const struct mstress_cfg *c = cfg;
    const struct size_dist   *d[3] = { &c->sizes, &c->large, &c->huge };
    const char               *name[3] = { "sizes", "large", "huge" };
    unsigned                  i;

    (void) nworkers;
    for (i = 0; i < 3; i++) {
        if (workload_check_sizes("mstress", name[i], d[i]) != 0) {
            return -1;
        }
        if (sizes_min(d[i]) < MSTRESS_HEADER) {
            diag_set("mstress: %s draws blocks below %u bytes, the block's header",
                     name[i], MSTRESS_HEADER);
            return -1;
        }
    }
    return 0;
}

static unsigned
mstress_needs(const void *cfg, unsigned nworkers)
{
    const struct mstress_cfg *c = cfg;

    return c->migrate > 0 && nworkers > 1 ? WL_NEEDS_CROSS_FREE : 0;
}

static size_t
mstress_shared_size(const void *cfg, unsigned nworkers)
{
    const struct mstress_cfg *c = cfg;

    (void) nworkers;
    return (size_t) c->transfer * sizeof(_Atomic uint64_t);
}

static uint64_t
mstress_in_transit(const void *cfg, void *shared, unsigned nworkers)
{
    const struct mstress_cfg *c = cfg;
    _Atomic uint64_t         *tr = shared;
    uint64_t                  i, n = 0;

    (void) nworkers;
    for (i = 0; i < c->transfer; i++) {
        n += atomic_load_explicit(&tr[i], memory_order_relaxed) != 0;
    }
    return n;
}

/* A retained slot (p NULL: empty). */
struct mstress_block {
    unsigned char *p;
    uint64_t       size, granted, tag;
};

/* A worker's state. */
struct mstress {
    struct wl_ctx        *c;
    struct mstress_block *slot;
    uint64_t              rng, seq, max_size;
};

static uint64_t
mstress_off(const struct mstress *m, const unsigned char *p)
{
    return (uint64_t) ((uintptr_t) p - (uintptr_t) m->c->zone->base);
}

static unsigned
mstress_origin(uint64_t tag)
{
    return (unsigned) (tag >> MSTRESS_SEQ_BITS);
}

/* A size: huge one time in huge_in, else large one in large_in, else small. */
static uint64_t
mstress_size(struct mstress *m)
{
    const struct mstress_cfg *cf = m->c->cfg;

    if (cf->huge_in != 0 && prng_below(&m->rng, cf->huge_in) == 0) {
        return sizes_draw(&cf->huge, &m->rng);
    }
    if (cf->large_in != 0 && prng_below(&m->rng, cf->large_in) == 0) {
        return sizes_draw(&cf->large, &m->rng);
    }
    return sizes_draw(&cf->sizes, &m->rng);
}

/* A new block in slot b: allocated, headed and filled (a failure leaves
 * the slot empty). */
static void
mstress_new(struct mstress *m, struct mstress_block *b)
{
    uint64_t word[2];

    b->size = mstress_size(m);
    b->p = wl_alloc(m->c, b->size, &b->granted);
    if (b->p == NULL) {
        return;
    }
    b->tag = ((uint64_t) m->c->worker << MSTRESS_SEQ_BITS)
             | (m->seq++ & ((1ull << MSTRESS_SEQ_BITS) - 1));
    word[0] = b->tag;
    word[1] = b->size ^ prng_mix(b->tag);
    memcpy(b->p, word, sizeof(word));
    wl_pattern_fill(b->p + MSTRESS_HEADER, b->size - MSTRESS_HEADER, b->tag);
}

/* Whether slot b's block is what was written into it; -1 with a diag
 * message naming the block if not. */
static int
mstress_intact(struct mstress *m, const struct mstress_block *b)
{
    uint64_t word[2];
    size_t   bad;

    memcpy(word, b->p, sizeof(word));
    if (word[0] != b->tag || (word[1] ^ prng_mix(b->tag)) != b->size) {
        bad = word[0] != b->tag ? 0 : 8;
    } else {
        bad = wl_pattern_ok(b->p + MSTRESS_HEADER, b->size - MSTRESS_HEADER, b->tag);
        if (bad == b->size - MSTRESS_HEADER) {
            return 0;
        }
        bad += MSTRESS_HEADER;
    }
    diag_set("mstress: worker %u: block at offset %llu (%llu bytes, allocated by worker %u) "
             "corrupt at byte %zu", m->c->worker, (unsigned long long) mstress_off(m, b->p),
             (unsigned long long) b->size, mstress_origin(b->tag), bad);
    return -1;
}

/* Check and free slot b's block. */
static int
mstress_free(struct mstress *m, struct mstress_block *b)
{
    struct wl_ctx *c = m->c;

    if (mstress_intact(m, b) != 0) {
        return -1;
    }
    if (mstress_origin(b->tag) == c->worker) {
        if (wl_free(c, b->p, b->size, b->granted) != 0) {
            goto refused;
        }
    } else {
        if (wl_free_remote(c, b->p) != 0) {
            goto refused;
        }
        wl_sub(&c->cnt->live_blocks, 1);
        wl_sub(&c->cnt->live_bytes, b->size);
        wl_sub(&c->cnt->granted_bytes, b->granted);
    }
    b->p = NULL;
    return 0;

refused:
    diag_set("mstress: worker %u: free of the block at offset %llu (%llu bytes) refused: %s",
             c->worker, (unsigned long long) mstress_off(m, b->p),
             (unsigned long long) b->size, diag_last());
    return -1;
}

/* Slot b takes the block at offset off from the transfer array: its size
 * and tag from its header, which must make sense; it joins the live set. */
static int
mstress_adopt(struct mstress *m, struct mstress_block *b, uint64_t off)
{
    struct wl_ctx      *c = m->c;
    struct wl_counters *k = c->cnt;
    uint64_t            word[2];

    b->p = (unsigned char *) ((uintptr_t) c->zone->base + off);
    memcpy(word, b->p, sizeof(word));
    b->tag = word[0];
    b->size = word[1] ^ prng_mix(b->tag);
    if (mstress_origin(b->tag) >= c->nworkers || b->size < MSTRESS_HEADER
        || b->size > m->max_size)
    {
        diag_set("mstress: worker %u: block at offset %llu taken from the transfer array "
                 "has a corrupt header (tag %#llx, size %llu)", c->worker,
                 (unsigned long long) off, (unsigned long long) b->tag,
                 (unsigned long long) b->size);
        return -1;
    }
    b->granted = c->ops->usable_size ? c->ops->usable_size(c->zone, b->p) : b->size;
    wl_add(&k->live_blocks, 1);
    wl_add(&k->live_bytes, b->size);
    wl_add(&k->granted_bytes, b->granted);
    if (k->live_bytes > k->peak_live) {
        __atomic_store_n(&k->peak_live, k->live_bytes, __ATOMIC_RELAXED);
    }
    return 0;
}

/* Slot b's block goes into a random transfer slot; what was there comes
 * back into b. */
static int
mstress_migrate(struct mstress *m, struct mstress_block *b)
{
    const struct mstress_cfg *cf = m->c->cfg;
    _Atomic uint64_t         *tr = m->c->shared;
    uint64_t                  t = prng_below(&m->rng, cf->transfer), old;

    wl_give(m->c, b->size, b->granted);
    old = atomic_exchange_explicit(&tr[t], mstress_off(m, b->p) + 1, memory_order_acq_rel);
    b->p = NULL;
    return old != 0 ? mstress_adopt(m, b, old - 1) : 0;
}

static int
mstress_step(struct mstress *m)
{
    const struct mstress_cfg *cf = m->c->cfg;
    struct mstress_block     *b = &m->slot[prng_below(&m->rng, cf->live)];

    if (b->p == NULL) {
        mstress_new(m, b);
        return 0;
    }
    if (cf->migrate > 0 && prng_below(&m->rng, 100) < cf->migrate) {
        return mstress_migrate(m, b);
    }
    if (mstress_free(m, b) != 0) {
        return -1;
    }
    mstress_new(m, b);
    return 0;
}

static int
mstress_run(struct wl_ctx *c)
{
    const struct mstress_cfg *cf = c->cfg;
    struct mstress            m;
    uint64_t                  i, step = 0, blocks = 0, bytes = 0;
    int                       rc = 0;

    m.c = c;
    m.rng = workload_worker_seed(c->seed, c->worker);
    m.seq = 0;
    m.max_size = sizes_max(&cf->sizes);
    m.max_size = sizes_max(&cf->large) > m.max_size ? sizes_max(&cf->large) : m.max_size;
    m.max_size = sizes_max(&cf->huge) > m.max_size ? sizes_max(&cf->huge) : m.max_size;
    m.slot = calloc(cf->live, sizeof(*m.slot));
    if (m.slot == NULL) {
        diag_set("mstress: worker %u: out of memory for %llu slots", c->worker,
                 (unsigned long long) cf->live);
        return -1;
    }
    for (i = 0; i < cf->live; i++) {
        mstress_new(&m, &m.slot[i]);
    }
    c->ready(c);
    while (!wl_should_stop_step(c, step++)) {
        if (mstress_step(&m) != 0) {
            rc = -1;
            break;
        }
    }
    for (i = 0; i < cf->live; i++) {
        blocks += m.slot[i].p != NULL;
        bytes += m.slot[i].p != NULL ? m.slot[i].size : 0;
    }
    wl_recount(c, blocks, bytes);
    free(m.slot);
    return rc;
}

const struct workload wl_mstress = {
    .name = "mstress",
    .summary = "mimalloc-bench's mstress: retained blocks migrating between workers through "
               "a shared transfer array, pow2 sizes with rare large and huge ones, every "
               "block checked before its free",
    .params = mstress_params,
    .nparams = sizeof(mstress_params) / sizeof(mstress_params[0]),
    .cfg_size = sizeof(struct mstress_cfg),
    .check = mstress_check,
    .needs = mstress_needs,
    .shared_size = mstress_shared_size,
    .in_transit = mstress_in_transit,
    .run = mstress_run,
};
