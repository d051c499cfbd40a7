/*
 * churn: each worker keeps `live` blocks; each step frees one of them,
 * picked at random, and allocates a new one in its place.
 *
 * The op sequence is workloads/churn.h's, the one `shmbench bench` runs:
 * drawn once in the master from the run's seed (`rounds` steps, walked as a
 * ring), the same for every worker, each starting at its own point of it
 * (churn_first), so that `run --workload churn` and `bench` are the same
 * churn.  With `remote=P`, P percent of the frees (drawn from the worker's
 * own generator, so the sequence itself is unchanged) are not done by the
 * worker: the block goes through a handoff ring (workloads/handoff.h) to
 * another worker, picked at random, which frees it when it next drains its
 * rings (every 16 steps).  A full ring means the worker frees the block
 * itself.  There is one ring per (receiver, sender) pair, so each ring has
 * one producer and one consumer.  Blocks still in a ring when the run ends
 * are counted by the master as in transit.
 *
 * Sizes come from `sizes=SPEC` (workloads/sizes.h), drawn into the
 * sequence by churn.h's generator; the default, uniform:8:2048, draws
 * exactly bench's default sequence.
 */
#include <stdlib.h>
#include <string.h>

#include "churn.h"
#include "prng.h"
#include "handoff.h"
#include "substrate/diag.h"
#include "workload.h"

struct churn_cfg {
    uint64_t         live, rounds, remote;
    struct size_dist sizes;
    struct churn_seq seq;               /* drawn by prepare */
};

static const struct wl_param churn_params[] = {
    { "live", WL_COUNT, 1000, 1, 1u << 24, offsetof(struct churn_cfg, live),
      "blocks each worker keeps live", NULL },
    { "rounds", WL_COUNT, 1000000, 1, 1u << 28, offsetof(struct churn_cfg, rounds),
      "length of the drawn step sequence, walked as a ring", NULL },
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct churn_cfg, sizes),
      "request sizes (the default is bench's churn)", "uniform:8:2048" },
    { "remote", WL_PERCENT, 0, 0, 100, offsetof(struct churn_cfg, remote),
      "percent of frees handed to another worker", NULL },
};

static int
churn_check(const void *cfg, unsigned nworkers)
{
    const struct churn_cfg *c = cfg;

    if (workload_check_sizes("churn", "sizes", &c->sizes) != 0) {
        return -1;
    }
    if (c->remote > 0 && nworkers < 2) {
        diag_set("churn: remote=%llu needs another worker to free in (--procs 2 or more)",
                 (unsigned long long) c->remote);
        return -1;
    }
    return 0;
}

static unsigned
churn_needs(const void *cfg, unsigned nworkers)
{
    const struct churn_cfg *c = cfg;

    return c->remote > 0 && nworkers > 1 ? WL_NEEDS_CROSS_FREE : 0;
}

static size_t
churn_shared_size(const void *cfg, unsigned nworkers)
{
    const struct churn_cfg *c = cfg;

    return c->remote > 0 ? (size_t) nworkers * nworkers * sizeof(struct handoff_ring) : 0;
}

static int
churn_prepare(void *cfg, uint64_t seed, unsigned nworkers)
{
    struct churn_cfg   *c = cfg;
    struct churn_params p;

    (void) nworkers;
    p.live = c->live;
    p.rounds = c->rounds;
    p.min_size = 0;
    p.max_size = 0;
    p.seed = seed;
    p.dist = &c->sizes;
    return churn_generate(&c->seq, &p);
}

static void
churn_release(void *cfg)
{
    churn_free(&((struct churn_cfg *) cfg)->seq);
}

static uint64_t
churn_in_transit(const void *cfg, void *shared, unsigned nworkers)
{
    const struct churn_cfg *c = cfg;
    uint64_t                n = 0;
    size_t                  i;

    for (i = 0; c->remote > 0 && i < (size_t) nworkers * nworkers; i++) {
        n += handoff_count((struct handoff_ring *) shared + i);
    }
    return n;
}

/* One worker's blocks. */
/* The ring through which worker `from` hands blocks to worker `to`. */
static struct handoff_ring *
churn_ring(const struct wl_ctx *c, unsigned to, unsigned from)
{
    return (struct handoff_ring *) c->shared + (size_t) to * c->nworkers + from;
}

/* Free what the other workers handed this one. */
static int
churn_drain(struct wl_ctx *c)
{
    uint64_t off, size, tag;
    unsigned from;

    for (from = 0; from < c->nworkers; from++) {
        while (from != c->worker && handoff_get(churn_ring(c, c->worker, from), &off, &size,
                                             &tag) == 0)
        {
            if (wl_free_remote(c, c->zone->base + off) != 0) {
                diag_set("churn: worker %u: free of a block of %llu bytes from worker %u "
                         "refused: %s", c->worker, (unsigned long long) size, from,
                         diag_last());
                return -1;
            }
        }
    }
    return 0;
}

/* Slot k's block leaves: freed here, or handed to another worker. */
static int
churn_release_slot(struct wl_ctx *c, struct wl_blocks *s, uint32_t k, uint64_t *rng)
{
    const struct churn_cfg *cf = c->cfg;
    unsigned                to;
    uint64_t                off;

    if (cf->remote > 0 && prng_below(rng, 100) < cf->remote) {
        to = (c->worker + 1 + (unsigned) prng_below(rng, c->nworkers - 1)) % c->nworkers;
        off = (uint64_t) ((unsigned char *) s->p[k] - c->zone->base);
        if (handoff_put(churn_ring(c, to, c->worker), off, s->size[k], s->granted[k]) == 0) {
            wl_give(c, s->size[k], s->granted[k]);
            return 0;
        }
    }
    if (wl_free(c, s->p[k], s->size[k], s->granted[k]) != 0) {
        diag_set("churn: worker %u: free of its block of %u bytes refused: %s",
                 c->worker, s->size[k], diag_last());
        return -1;
    }
    return 0;
}

static int
churn_loop(struct wl_ctx *c, struct wl_blocks *s)
{
    const struct churn_cfg *cf = c->cfg;
    const struct churn_seq *q = &cf->seq;
    uint64_t                j = churn_first(q, c->worker, c->nworkers), step = 0;
    uint64_t                rng = workload_worker_seed(c->seed, c->worker);
    uint32_t                k;

    while (!wl_should_stop(c)) {
        if (cf->remote > 0 && (step++ & 15) == 0 && churn_drain(c) != 0) {
            return -1;
        }
        k = q->round[j].slot;
        if (s->p[k] != NULL && churn_release_slot(c, s, k, &rng) != 0) {
            return -1;
        }
        s->size[k] = q->round[j].size;
        s->p[k] = wl_alloc(c, s->size[k], &s->granted[k]);
        j = churn_after(q, j);
    }
    return 0;
}

static int
churn_run(struct wl_ctx *c)
{
    const struct churn_cfg *cf = c->cfg;
    const struct churn_seq *q = &cf->seq;
    struct wl_blocks        s;
    uint64_t                i;
    int                     rc;

    if (wl_blocks_make(c, &s, q->live, "churn") != 0) {
        return -1;
    }
    s.n = q->live;
    for (i = 0; i < q->live; i++) {
        s.size[i] = q->fill[i];
        s.p[i] = wl_alloc(c, s.size[i], &s.granted[i]);
    }
    c->ready(c);
    rc = churn_loop(c, &s);
    wl_blocks_done(c, &s);
    return rc;
}

const struct workload wl_churn = {
    .name = "churn",
    .summary = "each worker keeps `live` blocks; each step frees a random one and "
               "allocates anew (bench's churn); remote=P hands P% of frees to other workers",
    .params = churn_params,
    .nparams = sizeof(churn_params) / sizeof(churn_params[0]),
    .cfg_size = sizeof(struct churn_cfg),
    .check = churn_check,
    .needs = churn_needs,
    .shared_size = churn_shared_size,
    .prepare = churn_prepare,
    .release = churn_release,
    .in_transit = churn_in_transit,
    .run = churn_run,
};
