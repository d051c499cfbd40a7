/*
 * wl_nginx_common: what the nginx-feature workloads (wl_lua_dict.c,
 * wl_limit_req.c, wl_ssl_cache.c) share with each other and with their tests.
 *
 * Each of them keeps one module's index in the zone, shared by every
 * worker as one nginx zone is shared by every nginx worker.  Worker 0
 * makes it before the barrier (the module's zone init: its shared header,
 * then its log-context string) and leaves the offsets here; the others
 * find it after the barrier.  The shared area also holds:
 *  - the workload's own lock, for allocators that have no lock of their
 *    own with _locked forms (nx_lock_setup says which is used);
 *  - the count of the index's blocks in the zone: they are shared, no
 *    worker holds them (a worker frees what another stored), so every
 *    allocation is handed at once to the index (wl_give), every free is a
 *    remote free, and the master counts these blocks as in transit;
 *
 * Each workload counts what the module did (evictions, rejections, "no
 * memory") in a struct of uint64_t of its own, below, kept by the worker
 * and published into its slot's extra counts when its loop ends
 * (nx_publish), in the order of the workload's `extra` names, which the
 * driver writes to counters.csv.
 *
 * Also here: nginx's queue (ngx_queue_t) over offsets from the zone's
 * base, and the shared header of limit_req and ssl_cache with its init
 * (ngx_memn2cmp, the modules' key order, is rbtree.h's rbtree_memn2cmp).
 */
#ifndef SHMBENCH_WL_NGINX_COMMON_H
#define SHMBENCH_WL_NGINX_COMMON_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "rbtree.h"
#include "shdict.h"
#include "substrate/shmtx.h"
#include "workload.h"

/* The shared area's head; the workload's per-worker counters follow. */
struct nx_shared {
    struct shmtx_lockword  word;      /* the workload's own lock, when the */
    struct shmtx           mtx;       /* allocator has none */
    _Atomic uint64_t       inited;    /* 1 once worker 0 made the index */
    uint64_t               sh;        /* offset of the module's header */
    uint64_t               log_ctx;   /* offset of its log-context string */
    _Atomic uint64_t       blocks;    /* the index's blocks in the zone now */
};

/* The workloads' needs, shared area and blocks in transit, alike for the
 * three: the index's blocks must be in the zone, and with two workers or
 * more one frees what another stored. */
static inline unsigned
nx_needs(const void *cfg, unsigned nworkers)
{
    (void) cfg;
    return WL_NEEDS_IN_SHM | (nworkers > 1 ? WL_NEEDS_CROSS_FREE : 0);
}

static inline size_t
nx_shared_size(const void *cfg, unsigned nworkers)
{
    (void) cfg;
    (void) nworkers;
    return sizeof(struct nx_shared);
}

static inline uint64_t
nx_in_transit(const void *cfg, void *shared, unsigned nworkers)
{
    (void) cfg;
    (void) nworkers;
    return atomic_load(&((struct nx_shared *) shared)->blocks);
}

/* Publish a worker's counts (n uint64_t, the workload's extra names in
 * order) into its slot. */
static inline void
nx_publish(struct wl_ctx *c, const void *counts, unsigned n)
{
    const uint64_t *v = counts;
    unsigned        i;

    for (i = 0; i < n && i < WL_EXTRA_MAX; i++) {
        wl_add(&c->cnt->extra[i], v[i]);
    }
}

/* limit_req's counters of one worker. */
struct limit_req_counters {
    uint64_t requests;    /* lookups */
    uint64_t hits;        /* ... that found the key's state */
    uint64_t busy;        /* ... rejected by the rate (excess over burst) */
    uint64_t nodes;       /* states created */
    uint64_t expired;     /* states removed as idle (expire's stale rule) */
    uint64_t evictions;   /* states removed by force (expire(0)'s tail) */
    uint64_t nomem;       /* "could not allocate node": the request rejected */
};

/* ssl_cache's counters of one worker. */
struct ssl_cache_counters {
    uint64_t handshakes;  /* steps */
    uint64_t resumes;     /* ... that offered a session id */
    uint64_t hits;        /* ... found and unexpired: resumed from the cache */
    uint64_t stale;       /* ... found expired, and freed by the lookup */
    uint64_t sessions;    /* new sessions stored */
    uint64_t too_big;     /* new sessions over 4096 bytes, not cached */
    uint64_t expired;     /* sessions freed as expired by expire() */
    uint64_t evictions;   /* sessions freed by force (expire(0)'s oldest) */
    uint64_t nomem;       /* "could not allocate new session" */
};

/* ngx_queue_t, its links offsets from the zone's base. */
struct nx_queue {
    uint64_t prev, next;
};

static inline struct nx_queue *
nx_q(unsigned char *base, uint64_t q)
{
    return (struct nx_queue *) (base + q);
}

static inline void
nx_queue_init(unsigned char *base, uint64_t h)
{
    nx_q(base, h)->prev = h;
    nx_q(base, h)->next = h;
}

static inline int
nx_queue_empty(unsigned char *base, uint64_t h)
{
    return nx_q(base, h)->prev == h;
}

static inline void
nx_queue_insert_head(unsigned char *base, uint64_t h, uint64_t x)
{
    nx_q(base, x)->next = nx_q(base, h)->next;
    nx_q(base, nx_q(base, x)->next)->prev = x;
    nx_q(base, x)->prev = h;
    nx_q(base, h)->next = x;
}

static inline void
nx_queue_remove(unsigned char *base, uint64_t x)
{
    nx_q(base, nx_q(base, x)->next)->prev = nx_q(base, x)->prev;
    nx_q(base, nx_q(base, x)->prev)->next = nx_q(base, x)->next;
}

/*
 * The shared header of limit_req's zone (ngx_http_limit_req_shctx_t) and
 * of the SSL session cache (ngx_ssl_session_cache_t), alike: the tree, its
 * sentinel, the LRU queue's head; 80 bytes.
 */
struct nx_index {
    struct rbtree      rbtree;
    struct rbtree_node sentinel;
    struct nx_queue    queue;
};

/* The header and its queue's head, once s->sh is known. */
static inline struct nx_index *
nx_index(unsigned char *base, const struct nx_shared *s)
{
    return (struct nx_index *) (base + s->sh);
}

static inline uint64_t
nx_index_queue(const struct nx_shared *s)
{
    return s->sh + offsetof(struct nx_index, queue);
}

/*
 * The lock that serialises the index, as nginx's zone mutex does: where
 * the allocator has a lock and _locked forms, its own mutex, and c->ops
 * is switched to a copy of its table (*locked) whose alloc and free are
 * the _locked forms, so that the workload allocates under the mutex it
 * holds exactly as the module does; otherwise the shared area's lock, and
 * the ordinary calls.  The caller restores c->ops at its end.
 */
static inline struct shmtx *
nx_lock_setup(struct wl_ctx *c, struct nx_shared *s, struct allocator_ops *locked)
{
    const struct allocator_ops *o = c->ops;

    if (o->lock != NULL && o->alloc_locked != NULL && o->free_locked != NULL) {
        *locked = *o;
        locked->alloc = o->alloc_locked;
        locked->free = o->free_locked;
        c->ops = locked;
        return o->lock(c->zone);
    }
    return &s->mtx;
}

/* Worker 0, before the barrier: make the workload's own lock (without a
 * semaphore it yields: not an error to stop for). */
static inline void
nx_shared_init(struct nx_shared *s)
{
    (void) shmtx_create(&s->mtx, &s->word, NULL, 0);
}

/*
 * Across the barrier: worker 0 makes the workload's lock and, holding m,
 * its index (init(arg): 0, or -1 with a diag message); the others wait at
 * the barrier and find it made.  0, or -1 with a diag message ("WL: worker
 * W: worker 0 made no WHAT").
 */
static inline int
nx_open(struct wl_ctx *c, struct nx_shared *s, struct shmtx *m, int (*init)(void *arg),
    void *arg, const char *wl, const char *what)
{
    int rc;

    if (c->worker == 0) {
        nx_shared_init(s);
        shmtx_lock(m);
        rc = init(arg);
        shmtx_unlock(m);
        if (rc != 0) {
            return -1;
        }
        atomic_store(&s->inited, 1);
    }
    c->ready(c);
    if (atomic_load(&s->inited) == 0) {
        diag_set("%s: worker %u: worker 0 made no %s", wl, c->worker, what);
        return -1;
    }
    return 0;
}

/* An allocation of the index: counted, handed at once to the shared index. */
static inline void *
nx_alloc(struct wl_ctx *c, struct nx_shared *s, size_t size)
{
    uint64_t g;
    void    *p = wl_alloc(c, size, &g);

    if (p != NULL) {
        wl_give(c, size, g);
        atomic_fetch_add(&s->blocks, 1);
    }
    return p;
}

/* A free of the index's block p (stored by any worker); 0 or -1 with the
 * allocator's diag message. */
static inline int
nx_free(struct wl_ctx *c, struct nx_shared *s, void *p)
{
    if (wl_free_remote(c, p) != 0) {
        return -1;
    }
    atomic_fetch_sub(&s->blocks, 1);
    return 0;
}

/*
 * Worker 0's zone init, as the two modules do it: the header (an empty
 * tree and queue), then the log-context string `log` (NUL included),
 * their offsets left in s.  `wl` and `part` ("zone", "cache") name them
 * in the message.  0, or -1 with a diag message.
 */
static inline int
nx_index_make(struct wl_ctx *c, struct nx_shared *s, const char *log, const char *wl,
    const char *part)
{
    unsigned char *base = c->zone->base, *hdr, *p;
    size_t         len = strlen(log) + 1;

    hdr = nx_alloc(c, s, sizeof(struct nx_index));
    if (hdr == NULL) {
        diag_set("%s: no memory for the %s's %zu-byte header", wl, part,
                 sizeof(struct nx_index));
        return -1;
    }
    s->sh = (uint64_t) (hdr - base);
    rbtree_init(base, &nx_index(base, s)->rbtree, s->sh + offsetof(struct nx_index, sentinel));
    nx_queue_init(base, nx_index_queue(s));
    p = nx_alloc(c, s, len);
    if (p == NULL) {
        diag_set("%s: no memory for the %s's %zu-byte log context", wl, part, len);
        return -1;
    }
    memcpy(p, log, len);
    s->log_ctx = (uint64_t) (p - base);
    return 0;
}

/* Whether the loop ends after `step` steps of the module: the driver's
 * limits, looked at by steps (a lookup that hits allocates nothing), or
 * --ops counted in module operations. */
static inline int
nx_should_stop(const struct wl_ctx *c, uint64_t step)
{
    return wl_should_stop_step(c, step) || (c->max_ops != 0 && step >= c->max_ops);
}

#endif
