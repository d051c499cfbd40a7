/*
 * ssl_cache: `ssl_session_cache shared`, nginx's TLS session cache in a
 * zone shared by every worker (ngx_event_openssl.c).
 *
 * Each step is one handshake.  With probability `resume` percent the
 * client offers the id of a session this worker issued among its last
 * `window` ones: looked up (the id's CRC-32 as the tree key, then the
 * id's bytes); found and unexpired, the handshake resumes and the zone is
 * not written; found expired, the lookup frees it.  Every other handshake
 * (and every failed resumption) makes a new session: its serialised form
 * of L bytes (L drawn from `sizes=SPEC`; sessions over 4096 bytes are not
 * cached) and a 128-byte index record (tree node, id, length, session,
 * expiry queue, expiry time, and on 64 bits the 32-byte id inline) are
 * allocated under the zone's lock, as the module does it: expire up to 2
 * sessions past their time from the queue's tail; allocate L; on failure
 * drop the oldest session by force (plus up to 2 expired ones) and retry
 * once; the same for the record; if either still fails, free what was
 * allocated and go on without caching ("could not allocate new session").
 * The queue is in order of creation: a resumption does not move a
 * session.  Expiry is `timeout` seconds (ssl_session_timeout, 300 by
 * default) on nginx's seconds clock, simulated: `step_us` microseconds
 * per step of this worker.
 *
 * The default L, uniform:129:131, is a TLS 1.3 session of OpenSSL 3.0
 * (256-byte slot); fixed:126 is TLS 1.2 with ECDHE and AES-256-GCM (128).
 * Layout, locking, counting and the shared blocks as in wl_limit_req.c
 * and wl_nginx_common.h; links and the record's pointers are offsets from
 * the zone's base.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "prng.h"
#include "rbtree.h"
#include "substrate/diag.h"
#include "wl_nginx_common.h"
#include "workload.h"

#define SSL_MAX_SESSION_SIZE 4096     /* NGX_SSL_MAX_SESSION_SIZE */
#define SSL_ID_LEN           32
#define SSL_TIME_START       1669852800ull   /* 2022-12-01 00:00:00 UTC, seconds */
#define SSL_NAME             "ssl_cache"

struct ssl_cache_cfg {
    uint64_t         resume, window, timeout, step_us;
    struct size_dist sizes;
};

static const struct wl_param ssl_cache_params[] = {
    { "resume", WL_PERCENT, 50, 0, 100, offsetof(struct ssl_cache_cfg, resume),
      "percent of handshakes that offer a session id", NULL },
    { "window", WL_COUNT, 10000, 1, 1ull << 32, offsetof(struct ssl_cache_cfg, window),
      "a resumption picks one of the worker's last WINDOW sessions", NULL },
    { "timeout", WL_COUNT, 300, 0, 1ull << 32, offsetof(struct ssl_cache_cfg, timeout),
      "ssl_session_timeout in seconds of the simulated clock", NULL },
    { "step_us", WL_COUNT, 10, 0, 1000000000, offsetof(struct ssl_cache_cfg, step_us),
      "simulated microseconds per handshake of a worker", NULL },
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct ssl_cache_cfg, sizes),
      "bytes of a serialised session (over 4096: not cached)", "uniform:129:131" },
};

/* The index record (ngx_ssl_sess_id_t on LP64), 128 bytes: the tree
 * node's `data` byte holds the id's length. */
struct ssl_sess_id {
    struct rbtree_node node;
    uint64_t           id;          /* offset of the id (here: sess_id) */
    uint64_t           len;         /* bytes of the serialised session */
    uint64_t           session;     /* offset of the serialised session */
    struct nx_queue    queue;       /* expiry queue, newest at the head */
    int64_t            expire;      /* seconds since the epoch */
    uint64_t           stub;
    unsigned char      sess_id[SSL_ID_LEN];
};

static int
ssl_cache_check(const void *cfg, unsigned nworkers)
{
    const struct ssl_cache_cfg *c = cfg;

    (void) nworkers;
    return workload_check_sizes("ssl_cache", "sizes", &c->sizes);
}

/* One worker's view of the cache. */
struct sc {
    struct wl_ctx             *c;
    struct nx_shared          *s;
    unsigned char             *base;
    struct nx_index           *sh;
    uint64_t                   qh;      /* offset of the expiry queue's head */
    int64_t                    now;     /* seconds */
    struct ssl_cache_counters  k;
};

static struct ssl_sess_id *
sc_at(unsigned char *base, uint64_t off)
{
    return (struct ssl_sess_id *) (base + off);
}

/* ngx_ssl_session_rbtree_insert_value: by CRC-32, then the id. */
static void
sc_insert_value(unsigned char *base, uint64_t temp, uint64_t node, uint64_t sentinel)
{
    struct ssl_sess_id *n = sc_at(base, node), *t;
    uint64_t           *p;

    for ( ;; ) {
        t = sc_at(base, temp);
        if (n->node.key != t->node.key) {
            p = n->node.key < t->node.key ? &t->node.left : &t->node.right;
        } else {
            p = rbtree_memn2cmp(base + n->id, base + t->id, n->node.data, t->node.data) < 0
                ? &t->node.left : &t->node.right;
        }
        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }
    *p = node;
    n->node.parent = temp;
    n->node.left = sentinel;
    n->node.right = sentinel;
    n->node.color = RBTREE_RED;
}

/* Unlink session `node` and free its two blocks; 0 or -1 with diag. */
static int
sc_remove(struct sc *l, uint64_t node)
{
    struct ssl_sess_id *n = sc_at(l->base, node);

    nx_queue_remove(l->base, node + offsetof(struct ssl_sess_id, queue));
    rbtree_delete(l->base, &l->sh->rbtree, node);
    if (nx_free(l->c, l->s, l->base + n->session) != 0
        || nx_free(l->c, l->s, l->base + node) != 0)
    {
        diag_set("ssl_cache: worker %u: free of a session refused: %s", l->c->worker,
                 diag_last());
        return -1;
    }
    return 0;
}

/* ngx_ssl_expire_sessions: n = 1 frees up to 2 expired sessions from the
 * tail; n = 0 the oldest by force, then up to 2 expired ones. */
static int
sc_expire(struct sc *l, unsigned n)
{
    uint64_t node;
    unsigned forced;

    while (n < 3) {
        if (nx_queue_empty(l->base, l->qh)) {
            return 0;
        }
        node = nx_q(l->base, l->qh)->prev - offsetof(struct ssl_sess_id, queue);
        forced = n == 0;
        if (n++ != 0 && sc_at(l->base, node)->expire > l->now) {
            return 0;
        }
        if (sc_remove(l, node) != 0) {
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

/* An allocation of the module's: on failure the oldest session dropped
 * and one retry.  *p NULL when both fail; -1 only on a refused free. */
static int
sc_alloc(struct sc *l, size_t size, unsigned char **p)
{
    *p = nx_alloc(l->c, l->s, size);
    if (*p == NULL) {
        if (sc_expire(l, 0) != 0) {
            return -1;
        }
        *p = nx_alloc(l->c, l->s, size);
    }
    return 0;
}

/* ngx_ssl_new_session's part under the lock; 0 or -1 with diag. */
static int
sc_new(struct sc *l, const unsigned char *id, uint64_t len, int64_t timeout)
{
    unsigned char      *sess, *rec;
    struct ssl_sess_id *n;
    uint64_t            node;

    if (sc_expire(l, 1) != 0 || sc_alloc(l, len, &sess) != 0) {
        return -1;
    }
    rec = NULL;
    if (sess != NULL && sc_alloc(l, sizeof(struct ssl_sess_id), &rec) != 0) {
        return -1;
    }
    if (rec == NULL) {
        l->k.nomem++;
        if (sess != NULL && nx_free(l->c, l->s, sess) != 0) {
            diag_set("ssl_cache: worker %u: free of a session refused: %s", l->c->worker,
                     diag_last());
            return -1;
        }
        return 0;
    }
    memset(sess, 0x30, len);             /* the DER bytes, as the module copies them */
    node = (uint64_t) (rec - l->base);
    n = (struct ssl_sess_id *) rec;
    memcpy(n->sess_id, id, SSL_ID_LEN);
    n->node.key = crc32_short(id, SSL_ID_LEN);
    n->node.data = SSL_ID_LEN;
    n->id = node + offsetof(struct ssl_sess_id, sess_id);
    n->len = len;
    n->session = (uint64_t) (sess - l->base);
    n->expire = l->now + timeout;
    nx_queue_insert_head(l->base, l->qh, node + offsetof(struct ssl_sess_id, queue));
    rbtree_insert(l->base, &l->sh->rbtree, node, sc_insert_value);
    l->k.sessions++;
    return 0;
}

/* ngx_ssl_get_cached_session's part under the lock: 1 resumed, 0 not
 * (absent, or expired and freed), -1 with diag. */
static int
sc_lookup(struct sc *l, const unsigned char *id)
{
    uint32_t            hash = crc32_short(id, SSL_ID_LEN);
    uint64_t            node = l->sh->rbtree.root, sentinel = l->sh->rbtree.sentinel;
    struct ssl_sess_id *n;
    int                 rc;

    while (node != sentinel) {
        n = sc_at(l->base, node);
        if (hash != n->node.key) {
            node = hash < n->node.key ? n->node.left : n->node.right;
            continue;
        }
        rc = rbtree_memn2cmp(id, l->base + n->id, SSL_ID_LEN, n->node.data);
        if (rc == 0) {
            if (n->expire > l->now) {
                return 1;
            }
            l->k.stale++;
            return sc_remove(l, node) != 0 ? -1 : 0;
        }
        node = rc < 0 ? n->node.left : n->node.right;
    }
    return 0;
}

/* Worker 0, before the barrier: the module's zone init (header, then
 * log context). */
static int
sc_init(void *arg)
{
    struct sc *l = arg;
    char       log[sizeof(" in SSL session shared cache \"\"") + sizeof(SSL_NAME)];

    snprintf(log, sizeof(log), " in SSL session shared cache \"%s\"", SSL_NAME);
    return nx_index_make(l->c, l->s, log, "ssl_cache", "cache");
}

static int
sc_open(struct sc *l, struct shmtx *m)
{
    if (nx_open(l->c, l->s, m, sc_init, l, "ssl_cache", "cache") != 0) {
        return -1;
    }
    l->sh = nx_index(l->base, l->s);
    l->qh = nx_index_queue(l->s);
    return 0;
}

/* The id of this worker's session number n. */
static void
sc_id(unsigned char *id, unsigned worker, uint64_t n)
{
    uint32_t w = worker;

    memset(id, 's', SSL_ID_LEN);
    memcpy(id, &w, sizeof(w));
    memcpy(id + sizeof(w), &n, sizeof(n));
}

/* One handshake; 0 or -1 with diag. */
static int
sc_step(struct sc *l, struct shmtx *m, uint64_t *issued, uint64_t *rng)
{
    const struct ssl_cache_cfg *cf = l->c->cfg;
    unsigned char               id[SSL_ID_LEN];
    uint64_t                    len, back;
    int                         rc = 0;

    l->k.handshakes++;
    if (*issued > 0 && prng_below(rng, 100) < cf->resume) {
        l->k.resumes++;
        back = *issued < cf->window ? *issued : cf->window;
        sc_id(id, l->c->worker, *issued - 1 - prng_below(rng, back));
        shmtx_lock(m);
        rc = sc_lookup(l, id);
        shmtx_unlock(m);
        if (rc != 0) {
            l->k.hits += rc == 1;
            return rc == 1 ? 0 : -1;
        }
    }
    len = sizes_draw(&cf->sizes, rng);
    if (len > SSL_MAX_SESSION_SIZE) {
        l->k.too_big++;
        return 0;
    }
    sc_id(id, l->c->worker, (*issued)++);
    shmtx_lock(m);
    rc = sc_new(l, id, len, (int64_t) cf->timeout);
    shmtx_unlock(m);
    return rc;
}

static int
ssl_cache_run(struct wl_ctx *c)
{
    const struct ssl_cache_cfg *cf = c->cfg;
    const struct allocator_ops *ops = c->ops;
    struct allocator_ops        locked;
    uint64_t                    rng = workload_worker_seed(c->seed, c->worker);
    uint64_t                    step = 0, issued = 0;
    struct shmtx               *m;
    struct sc                   l;
    int                         rc = 0;

    memset(&l, 0, sizeof(l));
    l.c = c;
    l.s = c->shared;
    l.base = c->zone->base;
    m = nx_lock_setup(c, l.s, &locked);
    if (sc_open(&l, m) != 0) {
        rc = -1;
    }
    while (rc == 0 && !nx_should_stop(c, step)) {
        l.now = (int64_t) (SSL_TIME_START + step * cf->step_us / 1000000);
        rc = sc_step(&l, m, &issued, &rng);
        step++;
    }
    nx_publish(c, &l.k, sizeof(l.k) / sizeof(uint64_t));
    c->ops = ops;
    wl_recount(c, 0, 0);
    return rc;
}

/* struct ssl_cache_counters' fields, in order. */
static const char *const ssl_cache_extra[] = {
    "handshakes", "resumes", "hits", "stale", "sessions", "too_big", "expired",
    "evictions", "nomem",
};

_Static_assert(sizeof(ssl_cache_extra) / sizeof(ssl_cache_extra[0])
               == sizeof(struct ssl_cache_counters) / sizeof(uint64_t),
               "a name for every ssl_cache counter");

const struct workload wl_ssl_cache = {
    .name = "ssl_cache",
    .summary = "ssl_session_cache shared: two blocks per session, expiry queue, the "
               "oldest dropped and one retry per allocation (ngx_event_openssl.c)",
    .params = ssl_cache_params,
    .nparams = sizeof(ssl_cache_params) / sizeof(ssl_cache_params[0]),
    .cfg_size = sizeof(struct ssl_cache_cfg),
    .check = ssl_cache_check,
    .needs = nx_needs,
    .shared_size = nx_shared_size,
    .in_transit = nx_in_transit,
    .run = ssl_cache_run,
    .extra = ssl_cache_extra,
    .nextra = sizeof(ssl_cache_extra) / sizeof(ssl_cache_extra[0]),
    .flags = WL_SHARED_INDEX,
};
