/*
 * limit_req: ngx_http_limit_req_module's zone, one state per client key,
 * shared by every worker.
 *
 * Each step is one request from a client key drawn uniformly from `keys`
 * keys of `klen` bytes (4: $binary_remote_addr of IPv4, 16: IPv6), under
 * the zone's lock, as the module's lookup does it: find the key's state
 * (the key's CRC-32 as the tree key, then the key's bytes), move it to the
 * head of the LRU queue, compute its excess at the zone's `rate` (requests
 * a second) and reject the request (503) if it is over `burst`; else write
 * back the excess and the last time.  A new key first expires at most 2
 * idle states from the queue's tail (idle 60 s and their excess decayed to
 * 0), then allocates 80 + K bytes (the tree node's 32 bytes, the record's
 * 48, the key); if that fails, it removes the tail state by force (plus up
 * to 2 idle ones) and tries once more; if that fails too, the request is
 * rejected ("could not allocate node").  States are never resized; they
 * are freed only by those two expiries.  One limit per request (the
 * module's `account` case): a state's in-use count stays 0.
 *
 * Layout in the zone, field for field the module's on LP64: the shared
 * header (tree, sentinel, queue: 80 bytes) and the log-context string
 * (" in limit_req zone \"limit_req\"", 31 bytes) allocated at init; a
 * state is a struct rbtree_node whose record starts at the colour byte.
 * Links are offsets from the zone's base (workloads/rbtree.h).
 *
 * Time: nginx's cached ms clock, simulated: `step_us` microseconds per
 * step of this worker, so a run is reproducible from its seed.  Locking,
 * counting and the shared blocks are wl_nginx_common.h's; the module's
 * counts (requests, hits, busy, evictions, idle removals, "no memory") are
 * the worker's extra counts, which the driver writes to counters.csv.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "prng.h"
#include "rbtree.h"
#include "substrate/diag.h"
#include "wl_nginx_common.h"
#include "workload.h"

struct limit_req_cfg {
    uint64_t keys, klen, rate, burst, step_us;
};

static const struct wl_param limit_req_params[] = {
    { "keys", WL_COUNT, 100000, 1, 1ull << 32, offsetof(struct limit_req_cfg, keys),
      "client keys, drawn uniformly", NULL },
    { "klen", WL_COUNT, 4, 1, 65535, offsetof(struct limit_req_cfg, klen),
      "bytes of a key (4: IPv4 $binary_remote_addr, 16: IPv6)", NULL },
    { "rate", WL_COUNT, 10, 1, 1000000, offsetof(struct limit_req_cfg, rate),
      "the zone's rate, requests a second per key", NULL },
    { "burst", WL_COUNT, 5, 0, 1000000, offsetof(struct limit_req_cfg, burst),
      "requests allowed over the rate", NULL },
    { "step_us", WL_COUNT, 10, 0, 1000000000, offsetof(struct limit_req_cfg, step_us),
      "simulated microseconds per step of a worker", NULL },
};

/* The module's state (ngx_http_limit_req_node_t) from the node's colour. */
struct limit_req_rec {
    uint8_t         color;
    uint8_t         dummy;
    uint16_t        len;
    uint32_t        pad;
    struct nx_queue queue;        /* LRU links */
    uint64_t        last;         /* ms of the last accounted request */
    uint64_t        excess;       /* in thousandths of a request */
    uint64_t        count;        /* in-use count */
    unsigned char   data[];       /* the key */
};

#define LR_REC_OFF   32           /* offsetof(ngx_rbtree_node_t, color) */
#define LR_NODE_SIZE(k) (LR_REC_OFF + offsetof(struct limit_req_rec, data) + (k))

#define LR_LOG_FMT " in limit_req zone \"%s\""
#define LR_NAME    "limit_req"

static int
limit_req_check(const void *cfg, unsigned nworkers)
{
    const struct limit_req_cfg *c = cfg;

    (void) nworkers;
    if (c->klen < 8 && c->keys > (1ull << (8 * c->klen))) {
        diag_set("limit_req: keys=%llu do not fit keys of klen=%llu bytes",
                 (unsigned long long) c->keys, (unsigned long long) c->klen);
        return -1;
    }
    return 0;
}

/* One worker's view of the zone. */
struct lr {
    struct wl_ctx             *c;
    struct nx_shared          *s;
    unsigned char             *base;
    struct nx_index           *sh;
    uint64_t                   qh;     /* offset of the queue's head */
    uint64_t                   now;    /* ms */
    uint64_t                   rate;   /* thousandths of a request a second */
    struct limit_req_counters  k;
};

static struct limit_req_rec *
lr_rec(unsigned char *base, uint64_t node)
{
    return (struct limit_req_rec *) (base + node + LR_REC_OFF);
}

static uint64_t
lr_node_of_queue(uint64_t q)
{
    return q - LR_REC_OFF - offsetof(struct limit_req_rec, queue);
}

/* ngx_http_limit_req_rbtree_insert_value: by CRC-32, then the key. */
static void
lr_insert_value(unsigned char *base, uint64_t temp, uint64_t node, uint64_t sentinel)
{
    struct rbtree_node   *n = rbtree_at(base, node), *t;
    struct limit_req_rec *rn = lr_rec(base, node), *rt;
    uint64_t             *p;

    for ( ;; ) {
        t = rbtree_at(base, temp);
        if (n->key != t->key) {
            p = n->key < t->key ? &t->left : &t->right;
        } else {
            rt = lr_rec(base, temp);
            p = rbtree_memn2cmp(rn->data, rt->data, rn->len, rt->len) < 0 ? &t->left : &t->right;
        }
        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }
    *p = node;
    n->parent = temp;
    n->left = sentinel;
    n->right = sentinel;
    n->color = RBTREE_RED;
}

/* ngx_http_limit_req_expire: n = 1 removes up to 2 idle states from the
 * tail; n = 0 the tail by force, then up to 2 idle ones. */
static int
lr_expire(struct lr *l, unsigned n)
{
    struct limit_req_rec *r;
    uint64_t              q, node;
    int64_t               ms, excess;
    unsigned              forced;

    while (n < 3) {
        if (nx_queue_empty(l->base, l->qh)) {
            return 0;
        }
        q = nx_q(l->base, l->qh)->prev;
        node = lr_node_of_queue(q);
        r = lr_rec(l->base, node);
        if (r->count != 0) {
            return 0;
        }
        forced = n == 0;
        if (n++ != 0) {
            ms = (int64_t) (l->now - r->last);
            ms = ms < 0 ? -ms : ms;
            if (ms < 60000) {
                return 0;
            }
            excess = (int64_t) r->excess - (int64_t) l->rate * ms / 1000;
            if (excess > 0) {
                return 0;
            }
        }
        nx_queue_remove(l->base, q);
        rbtree_delete(l->base, &l->sh->rbtree, node);
        if (nx_free(l->c, l->s, l->base + node) != 0) {
            diag_set("limit_req: worker %u: free of a state refused: %s", l->c->worker,
                     diag_last());
            return -1;
        }
        if (forced) {
            l->k.evictions++;
        } else {
            l->k.expired++;
        }
    }
    return 0;
}

/* A new key's state, or 0 when there is no memory (after the retry). */
static uint64_t
lr_new(struct lr *l, const unsigned char *key, size_t klen, uint32_t hash)
{
    struct limit_req_rec *r;
    unsigned char        *p;
    uint64_t              node;

    if (lr_expire(l, 1) != 0) {
        return UINT64_MAX;
    }
    p = nx_alloc(l->c, l->s, LR_NODE_SIZE(klen));
    if (p == NULL) {
        if (lr_expire(l, 0) != 0) {
            return UINT64_MAX;
        }
        p = nx_alloc(l->c, l->s, LR_NODE_SIZE(klen));
        if (p == NULL) {
            l->k.nomem++;
            return 0;
        }
    }
    node = (uint64_t) (p - l->base);
    rbtree_at(l->base, node)->key = hash;
    r = lr_rec(l->base, node);
    r->len = (uint16_t) klen;
    r->excess = 0;
    memcpy(r->data, key, klen);
    rbtree_insert(l->base, &l->sh->rbtree, node, lr_insert_value);
    nx_queue_insert_head(l->base, l->qh, node + LR_REC_OFF
                         + offsetof(struct limit_req_rec, queue));
    r->last = l->now;
    r->count = 0;
    l->k.nodes++;
    return node;
}

/* ngx_http_limit_req_lookup with account = 1, under the lock; 0 or -1. */
static int
lr_lookup(struct lr *l, const unsigned char *key, size_t klen, uint64_t burst)
{
    uint32_t              hash = crc32_short(key, klen);
    uint64_t              node = l->sh->rbtree.root, sentinel = l->sh->rbtree.sentinel;
    struct rbtree_node   *n;
    struct limit_req_rec *r;
    int64_t               ms, excess;
    int                   rc;

    l->k.requests++;
    while (node != sentinel) {
        n = rbtree_at(l->base, node);
        if (hash != n->key) {
            node = hash < n->key ? n->left : n->right;
            continue;
        }
        r = lr_rec(l->base, node);
        rc = rbtree_memn2cmp(key, r->data, klen, r->len);
        if (rc == 0) {
            l->k.hits++;
            nx_queue_remove(l->base, node + LR_REC_OFF + offsetof(struct limit_req_rec, queue));
            nx_queue_insert_head(l->base, l->qh, node + LR_REC_OFF
                                 + offsetof(struct limit_req_rec, queue));
            ms = (int64_t) (l->now - r->last);
            ms = ms < -60000 ? 1 : ms < 0 ? 0 : ms;
            excess = (int64_t) r->excess - (int64_t) l->rate * ms / 1000 + 1000;
            excess = excess < 0 ? 0 : excess;
            if ((uint64_t) excess > burst) {
                l->k.busy++;
                return 0;
            }
            r->excess = (uint64_t) excess;
            if (ms != 0) {
                r->last = l->now;
            }
            return 0;
        }
        node = rc < 0 ? n->left : n->right;
    }
    return lr_new(l, key, klen, hash) == UINT64_MAX ? -1 : 0;
}

/* Worker 0, before the barrier: the module's zone init (header, then
 * log context). */
static int
lr_init(void *arg)
{
    struct lr *l = arg;
    char       log[sizeof(LR_LOG_FMT) + sizeof(LR_NAME)];

    snprintf(log, sizeof(log), LR_LOG_FMT, LR_NAME);
    return nx_index_make(l->c, l->s, log, "limit_req", "zone");
}

/* Make the zone's index (worker 0) or find it (the others), across the
 * barrier. */
static int
lr_open(struct lr *l, struct shmtx *m)
{
    if (nx_open(l->c, l->s, m, lr_init, l, "limit_req", "zone") != 0) {
        return -1;
    }
    l->sh = nx_index(l->base, l->s);
    l->qh = nx_index_queue(l->s);
    return 0;
}

static int
limit_req_run(struct wl_ctx *c)
{
    const struct limit_req_cfg *cf = c->cfg;
    const struct allocator_ops *ops = c->ops;
    struct allocator_ops        locked;
    uint64_t                    rng = workload_worker_seed(c->seed, c->worker);
    uint64_t                    step = 0, key;
    unsigned char               buf[65536];
    struct shmtx               *m;
    struct lr                   l;
    int                         rc = 0;

    memset(&l, 0, sizeof(l));
    l.c = c;
    l.s = c->shared;
    l.base = c->zone->base;
    l.rate = cf->rate * 1000;
    m = nx_lock_setup(c, l.s, &locked);
    memset(buf, 'k', cf->klen);
    if (lr_open(&l, m) != 0) {
        rc = -1;
    }
    while (rc == 0 && !nx_should_stop(c, step)) {
        l.now = step * cf->step_us / 1000;
        key = prng_below(&rng, cf->keys);
        memcpy(buf, &key, cf->klen < 8 ? cf->klen : 8);
        shmtx_lock(m);
        rc = lr_lookup(&l, buf, cf->klen, cf->burst * 1000);
        shmtx_unlock(m);
        step++;
    }
    nx_publish(c, &l.k, sizeof(l.k) / sizeof(uint64_t));
    c->ops = ops;
    wl_recount(c, 0, 0);
    return rc;
}

/* struct limit_req_counters' fields, in order. */
static const char *const limit_req_extra[] = {
    "requests", "hits", "busy", "nodes", "expired", "evictions", "nomem",
};

_Static_assert(sizeof(limit_req_extra) / sizeof(limit_req_extra[0])
               == sizeof(struct limit_req_counters) / sizeof(uint64_t),
               "a name for every limit_req counter");

const struct workload wl_limit_req = {
    .name = "limit_req",
    .summary = "limit_req's zone: a state per client key, LRU, one forced expiry and one "
               "retry on failure (ngx_http_limit_req_module.c)",
    .params = limit_req_params,
    .nparams = sizeof(limit_req_params) / sizeof(limit_req_params[0]),
    .cfg_size = sizeof(struct limit_req_cfg),
    .check = limit_req_check,
    .needs = nx_needs,
    .shared_size = nx_shared_size,
    .in_transit = nx_in_transit,
    .run = limit_req_run,
    .extra = limit_req_extra,
    .nextra = sizeof(limit_req_extra) / sizeof(limit_req_extra[0]),
    .flags = WL_SHARED_INDEX,
};
