/*
 * xmalloc: the producer-consumer test of xmalloc-test (Lever and Boreham's,
 * as mimalloc-bench runs it: `xmalloc-test -w N -t 5 -s 64`), with the
 * threads turned into processes over one zone.
 *
 * Workers pair up: worker 2i produces, worker 2i + 1 consumes.  The
 * producer allocates `batch` blocks, puts their offsets from the zone base
 * (never pointers) into a batch of the pair's queue, and publishes it; the
 * consumer takes the oldest batch and frees every block of it.  Every free
 * is thus in another process than the allocation.  The queue is a
 * single-producer, single-consumer ring of `depth` batches in the
 * workload's shared area, indexed by a head and a tail on their own cache
 * lines; the producer fills the batch at the tail in place and publishes
 * it with a release store of the tail, the consumer marks each entry freed
 * as it goes and retires the batch with a release store of the head.
 *
 * A full queue makes the producer wait (the allocator is outrunning the
 * frees), an empty one the consumer; a waiting side gives up when the run
 * is stopped, its deadline has passed, or its partner has left its loop
 * (each side says so in the pair's `done` word), so an op budget that
 * ends one side first never leaves the other waiting.  A worker without a
 * partner (the last one of an odd count, or the only one) allocates a
 * batch and frees it itself.
 *
 * At the end, the producer's unpublished batch is its own (recounted as
 * held); what is in published batches and not freed is in transit.
 *
 * Defaults: sizes=fixed:64 (mimalloc-bench's -s 64); batch=128 and
 * depth=16 are this workload's choice, not the benchmark's.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "substrate/diag.h"
#include "workload.h"

struct xmalloc_cfg {
    uint64_t         batch, depth;
    struct size_dist sizes;
};

static const struct wl_param xmalloc_params[] = {
    { "batch", WL_COUNT, 128, 1, 1u << 16, offsetof(struct xmalloc_cfg, batch),
      "blocks per batch handed from producer to consumer", NULL },
    { "depth", WL_COUNT, 16, 1, 1u << 12, offsetof(struct xmalloc_cfg, depth),
      "batches a pair's queue holds", NULL },
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct xmalloc_cfg, sizes),
      "request sizes (mimalloc-bench's -s 64)", "fixed:64" },
};

/* One block of a batch. */
struct xmalloc_item {
    uint64_t off;               /* from the zone base */
    uint64_t granted;
    uint32_t size;              /* requested bytes; 0: freed (or never filled) */
    uint32_t pad;
};

/* A pair's queue; `depth` batches of a count and `batch` items follow. */
struct xmalloc_queue {
    _Atomic uint64_t head;      /* the consumer's: next batch to take */
    char             pad1[56];
    _Atomic uint64_t tail;      /* the producer's: next batch to publish */
    char             pad2[56];
    _Atomic unsigned done[2];   /* producer, consumer: left the loop */
    char             pad3[56];
};

static int
xmalloc_check(const void *cfg, unsigned nworkers)
{
    const struct xmalloc_cfg *c = cfg;

    (void) nworkers;
    return workload_check_sizes("xmalloc", "sizes", &c->sizes);
}

static unsigned
xmalloc_needs(const void *cfg, unsigned nworkers)
{
    (void) cfg;
    return nworkers > 1 ? WL_NEEDS_CROSS_FREE : 0;
}

/* Bytes of one batch: its count, then its items. */
static size_t
xmalloc_batch_bytes(const struct xmalloc_cfg *c)
{
    return sizeof(uint64_t) + c->batch * sizeof(struct xmalloc_item);
}

static size_t
xmalloc_queue_bytes(const struct xmalloc_cfg *c)
{
    size_t n = sizeof(struct xmalloc_queue) + c->depth * xmalloc_batch_bytes(c);

    return (n + 63) & ~(size_t) 63;
}

static size_t
xmalloc_shared_size(const void *cfg, unsigned nworkers)
{
    return (size_t) (nworkers / 2) * xmalloc_queue_bytes(cfg);
}

static struct xmalloc_queue *
xmalloc_queue(const struct xmalloc_cfg *c, void *shared, unsigned pair)
{
    return (struct xmalloc_queue *) ((char *) shared + pair * xmalloc_queue_bytes(c));
}

/* Batch i of queue q: its count, its items after it. */
static uint64_t *
xmalloc_batch(const struct xmalloc_cfg *c, struct xmalloc_queue *q, uint64_t i)
{
    return (uint64_t *) ((char *) (q + 1) + (i % c->depth) * xmalloc_batch_bytes(c));
}

static struct xmalloc_item *
xmalloc_items(uint64_t *batch)
{
    return (struct xmalloc_item *) (batch + 1);
}

static uint64_t
xmalloc_in_transit(const void *cfg, void *shared, unsigned nworkers)
{
    const struct xmalloc_cfg *c = cfg;
    struct xmalloc_queue     *q;
    struct xmalloc_item      *it;
    uint64_t                  n = 0, b, i;
    unsigned                  p;

    for (p = 0; p < nworkers / 2; p++) {
        q = xmalloc_queue(c, shared, p);
        for (b = atomic_load(&q->head); b != atomic_load(&q->tail); b++) {
            it = xmalloc_items(xmalloc_batch(c, q, b));
            for (i = 0; i < *xmalloc_batch(c, q, b); i++) {
                n += it[i].size != 0;
            }
        }
    }
    return n;
}

/* Whether a waiting side gives up: stopped, past the deadline, or its
 * partner has left. */
static int
xmalloc_give_up(const struct wl_ctx *c, struct xmalloc_queue *q, unsigned partner)
{
    return atomic_load_explicit(c->stop, memory_order_relaxed) != 0
           || (c->end_ns != 0 && clock_ns() >= c->end_ns)
           || atomic_load_explicit(&q->done[partner], memory_order_acquire) != 0;
}

/* Allocate one block into item *it; 0, or 1 if the run must stop. */
static int
xmalloc_alloc(struct wl_ctx *c, struct xmalloc_item *it, uint64_t *rng)
{
    const struct xmalloc_cfg *cf = c->cfg;
    void                     *p;

    do {
        if (wl_should_stop(c)) {
            return 1;
        }
        it->size = (uint32_t) sizes_draw(&cf->sizes, rng);
        p = wl_alloc(c, it->size, &it->granted);
    } while (p == NULL);
    it->off = (uint64_t) ((unsigned char *) p - c->zone->base);
    return 0;
}

/* The producer's loop; *held gets the blocks of its unpublished batch. */
static void
xmalloc_produce(struct wl_ctx *c, struct xmalloc_queue *q, uint64_t *held, uint64_t *bytes)
{
    const struct xmalloc_cfg *cf = c->cfg;
    uint64_t                  rng = workload_worker_seed(c->seed, c->worker), t, *b, i;
    struct xmalloc_item      *it;

    for (;;) {
        t = atomic_load_explicit(&q->tail, memory_order_relaxed);
        while (t - atomic_load_explicit(&q->head, memory_order_acquire) == cf->depth) {
            if (xmalloc_give_up(c, q, 1)) {
                return;
            }
            sched_yield();
        }
        b = xmalloc_batch(cf, q, t);
        it = xmalloc_items(b);
        for (*b = 0; *b < cf->batch; (*b)++) {
            if (xmalloc_alloc(c, &it[*b], &rng) != 0) {
                for (i = 0; i < *b; i++) {
                    *held += 1;
                    *bytes += it[i].size;
                }
                return;
            }
        }
        for (i = 0; i < *b; i++) {
            wl_give(c, it[i].size, it[i].granted);
        }
        atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    }
}

/* The consumer's loop; 0, or -1 if a free is refused. */
static int
xmalloc_consume(struct wl_ctx *c, struct xmalloc_queue *q)
{
    const struct xmalloc_cfg *cf = c->cfg;
    uint64_t                  h, *b, i;
    struct xmalloc_item      *it;

    for (;;) {
        h = atomic_load_explicit(&q->head, memory_order_relaxed);
        while (h == atomic_load_explicit(&q->tail, memory_order_acquire)) {
            if (xmalloc_give_up(c, q, 0) && h == atomic_load(&q->tail)) {
                return 0;
            }
            sched_yield();
        }
        b = xmalloc_batch(cf, q, h);
        it = xmalloc_items(b);
        for (i = 0; i < *b; i++) {
            if (it[i].size == 0) {
                continue;
            }
            if (wl_should_stop(c)) {
                return 0;
            }
            if (wl_free_remote(c, c->zone->base + it[i].off) != 0) {
                diag_set("xmalloc: worker %u: free of a block of %u bytes from worker %u "
                         "refused: %s", c->worker, it[i].size, c->worker - 1, diag_last());
                return -1;
            }
            it[i].size = 0;
        }
        atomic_store_explicit(&q->head, h + 1, memory_order_release);
    }
}

/* A worker without a partner: allocate a batch, free it, in one process. */
static int
xmalloc_solo(struct wl_ctx *c, uint64_t *held, uint64_t *bytes)
{
    const struct xmalloc_cfg *cf = c->cfg;
    struct xmalloc_item      *it = calloc(cf->batch, sizeof(*it));
    uint64_t                  rng = workload_worker_seed(c->seed, c->worker), n = 0, i;
    int                       rc = 0;

    if (it == NULL) {
        diag_set("xmalloc: worker %u: out of memory for a batch of %llu", c->worker,
                 (unsigned long long) cf->batch);
        return -1;
    }
    c->ready(c);
    while (rc == 0) {
        for (n = 0; n < cf->batch && xmalloc_alloc(c, &it[n], &rng) == 0; n++) {
        }
        for (i = 0; i < n && !wl_should_stop(c); i++) {
            if (wl_free(c, c->zone->base + it[i].off, it[i].size, it[i].granted) != 0) {
                diag_set("xmalloc: worker %u: free of its block of %u bytes refused: %s",
                         c->worker, it[i].size, diag_last());
                rc = -1;
                break;
            }
            it[i].size = 0;
        }
        if (i < n || n < cf->batch) {
            break;
        }
    }
    for (i = 0; i < n; i++) {
        *held += it[i].size != 0;
        *bytes += it[i].size;
    }
    free(it);
    return rc;
}

static int
xmalloc_run(struct wl_ctx *c)
{
    const struct xmalloc_cfg *cf = c->cfg;
    struct xmalloc_queue     *q;
    uint64_t                  held = 0, bytes = 0;
    unsigned                  role = c->worker & 1;
    int                       rc = 0;

    if ((c->worker | 1) >= c->nworkers) {
        rc = xmalloc_solo(c, &held, &bytes);
        wl_recount(c, held, bytes);
        return rc;
    }
    q = xmalloc_queue(cf, c->shared, c->worker / 2);
    c->ready(c);
    if (role == 0) {
        xmalloc_produce(c, q, &held, &bytes);
    } else {
        rc = xmalloc_consume(c, q);
    }
    atomic_store_explicit(&q->done[role], 1, memory_order_release);
    wl_recount(c, held, bytes);
    return rc;
}

const struct workload wl_xmalloc = {
    .name = "xmalloc",
    .summary = "xmalloc-test's producer-consumer: even workers allocate batches of "
               "`batch` blocks, the next odd worker frees them, over a shared queue",
    .params = xmalloc_params,
    .nparams = sizeof(xmalloc_params) / sizeof(xmalloc_params[0]),
    .cfg_size = sizeof(struct xmalloc_cfg),
    .check = xmalloc_check,
    .needs = xmalloc_needs,
    .shared_size = xmalloc_shared_size,
    .in_transit = xmalloc_in_transit,
    .run = xmalloc_run,
};
