/*
 * test_wl_nginx: the nginx-feature workloads of `shmbench run` (lua_dict,
 * limit_req, ssl_cache), in one process, without the master.
 *
 * Each worker's run() is called in turn over a real zone, with a barrier
 * that returns at once, so that worker 0 makes the module's index and the
 * next one finds it.  The counts are checked against what the spec's
 * arithmetic predicts and against independent counts.
 *
 * lua_dict: on a 1 MiB slab zone, items of 68 + 8 + 52 = 128 bytes fill
 * 31 slots of the header's page and 252 pages of 32, so 8095 items are
 * stored before the first allocation fails, and from then on every new
 * key evicts exactly one item (one forced expiry frees the one chunk the
 * next item needs): the dict holds 8095 items for ever, the evictions are
 * the sets beyond 8095 and each eviction is one forcible set.  The dict is
 * then checked on its own (shdict_check: its item count against the blocks
 * the workload counted in transit) and the zone by the allocator's check().
 * The same run on tlsf (whose count is its own), and an ETC mix with
 * expiry on two workers in turn, on both; Zipf-skewed keys hit more.
 *
 * limit_req: 1 MiB of slab holds 253 x 32 - 1 = 8095 states of IPv4 (84
 * bytes) or IPv6 (96 bytes) keys before the first failure (nginx's "about
 * 8 thousand 128-byte states"), then one forced expiry per new key; the
 * tree (rbtree_check) holds the states made minus those removed; the
 * rate's rejections and the 60-second idle removal happen when they
 * should, on slab and tlsf, with two workers.
 *
 * ssl_cache: 1 MiB of slab holds 4047 TLS 1.2 sessions (126 bytes and a
 * 128-byte record, nginx's "about 4000 sessions"), about 2700 of TLS 1.3
 * (130 bytes: 128 + 256); the tree holds the sessions stored minus those
 * removed, each two blocks; resumptions, expiry (at the tail and found by
 * a lookup) and sessions too big to cache, on slab and tlsf.
 */
#include <stdlib.h>
#include <string.h>

#include "rbtree.h"
#include "registry.h"
#include "shdict.h"
#include "testutil.h"

/* A worker's published module counters (its slot's extra counts), as the
 * workload's struct of them. */
#define EXTRA(type, k) (*(const type *) (k).extra)
#include "wl_nginx_common.h"
#include "workload.h"

struct lua_run {
    struct wl_counters k[2];   /* per worker */
    uint64_t           allocs, frees, fails, first_fail;
    uint64_t           in_transit, items;
    struct shdict_counters c;  /* summed over the workers */
};

static void
test_ready(struct wl_ctx *c)
{
    c->cnt->ops = 0;
}

/* At most this many workers run in turn in these tests. */
#define NX_TEST_WORKERS 2

/* What a module workload's workers did, run one after the other. */
struct nx_run {
    struct wl_counters k[NX_TEST_WORKERS];  /* per worker */
    uint64_t           allocs, frees, fails, first_fail, in_transit;
    uint64_t           extra[WL_EXTRA_MAX]; /* the module's counts, summed */
};

/*
 * Run workload w (parameters in cfg) with nworkers workers in turn over the
 * formatted zone z, sharing a fresh area (returned; the caller frees it):
 * each worker must give its ops table back and hold none of the index's
 * blocks (every allocation handed to the index); the counts are summed,
 * and allocations - frees must be the index's blocks in transit.
 */
static void *
run_workers(const struct workload *w, const struct allocator_ops *ops, void *cfg,
    struct zone *z, unsigned nworkers, uint64_t max_ops, struct nx_run *t)
{
    _Atomic unsigned stop = 0;
    struct wl_ctx    c;
    void            *sh = calloc(1, w->shared_size(cfg, nworkers));
    unsigned         n, i;

    memset(t, 0, sizeof(*t));
    CHECK(nworkers <= NX_TEST_WORKERS, "%u workers", nworkers);
    for (n = 0; n < nworkers && n < NX_TEST_WORKERS; n++) {
        memset(&c, 0, sizeof(c));
        c.zone = z;
        c.ops = ops;
        c.cfg = cfg;
        c.worker = n;
        c.nworkers = nworkers;
        c.seed = 1;
        c.max_ops = max_ops;
        c.stop = &stop;
        c.cnt = &t->k[n];
        c.shared = sh;
        c.ready = test_ready;
        CHECK(w->run(&c) == 0, "%s on %s, worker %u: %s", w->name, ops->name, n, diag_last());
        CHECK(c.ops == ops, "worker %u left its ops table changed", n);
        CHECK(t->k[n].live_blocks == 0 && t->k[n].held_blocks == 0,
              "worker %u holds blocks of the shared index", n);
        CHECK(t->k[n].handed_off == t->k[n].allocs, "worker %u: %llu handed off of %llu",
              n, (unsigned long long) t->k[n].handed_off,
              (unsigned long long) t->k[n].allocs);
        t->allocs += t->k[n].allocs;
        t->frees += t->k[n].frees;
        t->fails += t->k[n].fails;
        for (i = 0; i < WL_EXTRA_MAX; i++) {
            t->extra[i] += t->k[n].extra[i];
        }
    }
    t->first_fail = t->k[0].first_fail_op;
    t->in_transit = w->in_transit(cfg, sh, nworkers);
    CHECK(t->allocs - t->frees == t->in_transit, "%s: allocs %llu - frees %llu != "
          "%llu in transit", ops->name, (unsigned long long) t->allocs,
          (unsigned long long) t->frees, (unsigned long long) t->in_transit);
    return sh;
}

/* Set lua_dict's parameter `name` in cfg. */
static void
set_param(const struct workload *w, void *cfg, const char *name, uint64_t v)
{
    *workload_value(workload_param(w, name), cfg) = v;
}

/* Run lua_dict (parameters in cfg) with nworkers workers in turn over a
 * fresh zone of `alloc`; check the zone and the dict; sum the counts. */
static void
run_lua(const char *alloc, void *cfg, size_t zone_size, unsigned nworkers,
    uint64_t max_ops, struct lua_run *out)
{
    const struct workload      *w = workload_find("lua_dict");
    const struct allocator_ops *ops = allocator_find(alloc);
    struct nx_shared           *sh;
    struct nx_run               t;
    struct shdict               d;
    struct zone                 z;
    size_t                      i;

    memset(out, 0, sizeof(*out));
    CHECK(ops != NULL, "%s: %s", alloc, diag_last());
    CHECK(w->check(cfg, nworkers) == 0, "check: %s", diag_last());
    CHECK(w->prepare(cfg, 1, nworkers) == 0, "prepare: %s", diag_last());
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, zone_size, 0, NULL, NULL) == 0,
          "%s: zone: %s", alloc, diag_last());
    sh = run_workers(w, ops, cfg, &z, nworkers, max_ops, &t);
    memcpy(out->k, t.k, sizeof(out->k));
    out->allocs = t.allocs;
    out->frees = t.frees;
    out->fails = t.fails;
    out->first_fail = t.first_fail;
    out->in_transit = t.in_transit;
    memcpy(&out->c, t.extra, sizeof(out->c));
    CHECK(out->c.hits + out->c.misses == out->c.gets, "%s: hits + misses != gets", alloc);
    /* the dict as any process sees it: a handle made from the shared offsets */
    memset(&d, 0, sizeof(d));
    d.zone = &z;
    d.sh = sh->sh;
    d.log_ctx = sh->log_ctx;
    CHECK(shdict_check(&d, stderr, &out->items) == 0, "%s: dict: %s", alloc, diag_last());
    CHECK(out->items + 2 == out->in_transit, "%s: %llu items + 2 init blocks, %llu counted",
          alloc, (unsigned long long) out->items, (unsigned long long) out->in_transit);
    CHECK(ops->check(&z, stderr) == 0, "%s: check: %s", alloc, diag_last());
    for (i = 0; i < nworkers; i++) {
        CHECK(EXTRA(struct shdict_counters, out->k[i]).sets + EXTRA(struct shdict_counters, out->k[i]).gets > 0, "worker %zu did nothing", i);
    }
    free(sh);
    zone_destroy(&z);
}

/* 128-byte items, every step a set of a new key (2^32 keys: 12000 draws
 * repeat none for seed 1, which the eviction count checks), no expiry. */
static void
fill_config(const struct workload *w, void *cfg)
{
    workload_defaults(w, cfg);
    set_param(w, cfg, "klen", 8);
    set_param(w, cfg, "get", 0);
    set_param(w, cfg, "ttl", 0);
    set_param(w, cfg, "keys", 1ull << 32);
    CHECK(workload_set_sizes(workload_param(w, "sizes"), cfg, "fixed:52") == 0,
          "fixed:52: %s", diag_last());
}

static void
test_fill_slab(void)
{
    const struct workload *w = workload_find("lua_dict");
    uint64_t               cfg[64];
    struct lua_run         r;

    fill_config(w, cfg);
    run_lua("slab", cfg, 1u << 20, 1, 12000, &r);
    CHECK(r.first_fail == 8096, "the first failure was attempt %llu, expected 8096 (8095 "
          "items fit)", (unsigned long long) r.first_fail);
    CHECK(r.items == 8095, "the full dict holds %llu items, expected 8095",
          (unsigned long long) r.items);
    CHECK(r.c.sets > 8095 && r.c.evictions == r.c.sets - 8095, "%llu sets, %llu evictions",
          (unsigned long long) r.c.sets, (unsigned long long) r.c.evictions);
    CHECK(r.c.forcible == r.c.evictions && r.fails == r.c.evictions && r.c.nomem == 0,
          "forcible %llu, failed allocations %llu, no memory %llu",
          (unsigned long long) r.c.forcible, (unsigned long long) r.fails,
          (unsigned long long) r.c.nomem);
    CHECK(r.c.expired == 0 && r.c.gets == 0, "expired %llu", (unsigned long long) r.c.expired);
}

static void
test_fill_tlsf(void)
{
    const struct workload *w = workload_find("lua_dict");
    uint64_t               cfg[64];
    struct lua_run         r;

    fill_config(w, cfg);
    run_lua("tlsf", cfg, 1u << 20, 1, 12000, &r);
    CHECK(r.first_fail > 1 && r.c.evictions > 0, "tlsf never filled: first failure %llu",
          (unsigned long long) r.first_fail);
    CHECK(r.items == r.first_fail - 1, "tlsf: %llu items after the fill, %llu before it",
          (unsigned long long) r.items, (unsigned long long) r.first_fail - 1);
    CHECK(r.c.evictions == r.c.sets - r.items && r.c.nomem == 0, "tlsf: %llu evictions",
          (unsigned long long) r.c.evictions);
}

/* ETC values with expiry and gets, two workers sharing the dict. */
static void
test_mix(void)
{
    const struct workload *w = workload_find("lua_dict");
    const char            *alloc[] = { "slab", "tlsf" };
    uint64_t               cfg[64];
    struct lua_run         r;
    unsigned               i;

    for (i = 0; i < 2; i++) {
        workload_defaults(w, cfg);
        set_param(w, cfg, "keys", 20000);
        set_param(w, cfg, "get", 50);
        set_param(w, cfg, "ttl", 20);
        run_lua(alloc[i], cfg, 1u << 20, 2, 30000, &r);
        CHECK(r.c.hits > 0 && r.c.misses > 0, "%s: %llu hits, %llu misses", alloc[i],
              (unsigned long long) r.c.hits, (unsigned long long) r.c.misses);
        CHECK(r.c.evictions > 0 && r.c.forcible > 0 && r.c.expired > 0,
              "%s: %llu evictions, %llu forcible, %llu expired", alloc[i],
              (unsigned long long) r.c.evictions, (unsigned long long) r.c.forcible,
              (unsigned long long) r.c.expired);
    }
}

/* A Zipf skew of 0.99 makes the hot keys hit where uniform keys miss;
 * its constants are refused for a keyspace too large to sum over. */
static void
test_zipf(void)
{
    const struct workload *w = workload_find("lua_dict");
    uint64_t               cfg[64], hits[2];
    struct lua_run         r;
    unsigned               i;

    for (i = 0; i < 2; i++) {
        workload_defaults(w, cfg);
        set_param(w, cfg, "keys", 100000);
        set_param(w, cfg, "zipf", i ? 99 : 0);
        run_lua("slab", cfg, 4u << 20, 1, 20000, &r);
        hits[i] = r.c.hits;
    }
    CHECK(hits[1] > 5 * hits[0] && hits[1] > 0, "hits: %llu with zipf=99, %llu uniform",
          (unsigned long long) hits[1], (unsigned long long) hits[0]);
    set_param(w, cfg, "keys", 1ull << 30);
    CHECK(w->prepare(cfg, 1, 1) == -1 && diag_is("lua_dict: zipf=99 needs keys=1073741824 at "
          "most 268435456 (its constants are a sum over the keys)"),
          "a Zipf keyspace of 2^30 accepted");
}

static void
test_params(void)
{
    const struct workload *w = workload_find("lua_dict");
    uint64_t               cfg[64];

    CHECK(w != NULL && w->cfg_size <= sizeof(cfg), "lua_dict: %s", diag_last());
    workload_defaults(w, cfg);
    CHECK(w->needs(cfg, 1) == WL_NEEDS_IN_SHM, "one worker needs cross-free");
    CHECK(w->needs(cfg, 2) == (WL_NEEDS_IN_SHM | WL_NEEDS_CROSS_FREE),
          "two workers free each other's items: cross-free");
    CHECK(workload_set_sizes(workload_param(w, "sizes"), cfg, "fixed:5g") == 0
          && w->check(cfg, 1) == -1, "values of 5 GB passed the check");
    CHECK(diag_is("lua_dict: sizes=fixed:5368709120 draws requests outside 1 to 4294967295 "
          "bytes"), "the refusal's message");
    w = workload_find("ssl_cache");
    CHECK(w != NULL && w->cfg_size <= sizeof(cfg), "ssl_cache: %s", diag_last());
    workload_defaults(w, cfg);
    CHECK(w->needs(cfg, 2) == (WL_NEEDS_IN_SHM | WL_NEEDS_CROSS_FREE), "ssl_cache's needs");
    CHECK(workload_set_sizes(workload_param(w, "sizes"), cfg, "fixed:0") == 0
          && w->check(cfg, 1) == -1, "sessions of 0 bytes passed the check");
    w = workload_find("limit_req");
    CHECK(w != NULL && w->cfg_size <= sizeof(cfg), "limit_req: %s", diag_last());
    workload_defaults(w, cfg);
    CHECK(w->check(cfg, 1) == 0 && w->needs(cfg, 1) == WL_NEEDS_IN_SHM, "limit_req's needs");
}

/* ---- limit_req ---- */

/* The tree order of limit_req's states: CRC-32, then the key (the record's
 * length at node + 34, its key at node + 80). */
static int
lr_cmp(unsigned char *base, uint64_t a, uint64_t b, void *arg)
{
    struct rbtree_node *na = rbtree_at(base, a), *nb = rbtree_at(base, b);
    uint16_t            la, lb;

    (void) arg;
    if (na->key != nb->key) {
        return na->key < nb->key ? -1 : 1;
    }
    memcpy(&la, base + a + 34, 2);
    memcpy(&lb, base + b + 34, 2);
    return rbtree_memn2cmp(base + a + 80, base + b + 80, la, lb);
}

struct lr_run {
    uint64_t                  allocs, frees, fails, first_fail, in_transit, states;
    struct limit_req_counters c;
};

/* Run limit_req (parameters in cfg) with nworkers workers in turn over a
 * fresh zone of `alloc`; check the tree, the counts and the zone. */
static void
run_lr(const char *alloc, void *cfg, size_t zone_size, unsigned nworkers,
    uint64_t max_ops, struct lr_run *out)
{
    const struct workload      *w = workload_find("limit_req");
    const struct allocator_ops *ops = allocator_find(alloc);
    struct diag_checker         dc = { stderr, "limit_req" };
    struct nx_shared           *sh;
    struct nx_run               t;
    struct zone                 z;

    memset(out, 0, sizeof(*out));
    CHECK(w != NULL && ops != NULL, "limit_req on %s: %s", alloc, diag_last());
    CHECK(w->check(cfg, nworkers) == 0, "check: %s", diag_last());
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, zone_size, 0, NULL, NULL) == 0,
          "%s: zone: %s", alloc, diag_last());
    sh = run_workers(w, ops, cfg, &z, nworkers, max_ops, &t);
    out->allocs = t.allocs;
    out->frees = t.frees;
    out->fails = t.fails;
    out->first_fail = t.first_fail;
    out->in_transit = t.in_transit;
    memcpy(&out->c, t.extra, sizeof(out->c));
    CHECK(rbtree_check(z.base, z.size, (struct rbtree *) (z.base + sh->sh), lr_cmp, NULL,
                       1u << 24, &out->states, &dc) == 0, "%s: tree: %s", alloc, diag_last());
    CHECK(out->states + 2 == out->in_transit, "%s: %llu states + 2 init blocks, %llu counted",
          alloc, (unsigned long long) out->states, (unsigned long long) out->in_transit);
    CHECK(out->c.nodes - out->c.expired - out->c.evictions == out->states,
          "%s: %llu made - %llu idle - %llu evicted != %llu states", alloc,
          (unsigned long long) out->c.nodes, (unsigned long long) out->c.expired,
          (unsigned long long) out->c.evictions, (unsigned long long) out->states);
    CHECK(out->c.hits + out->c.nodes + out->c.nomem == out->c.requests,
          "%s: hits + made + no memory != requests", alloc);
    CHECK(ops->check(&z, stderr) == 0, "%s: check: %s", alloc, diag_last());
    free(sh);
    zone_destroy(&z);
}

/* The nginx documentation's "about 8 thousand 128-byte states" a megabyte:
 * on a 1 MiB slab zone the 84-byte IPv4 states (slot 128) share the
 * header's page and fill 252 more (the log string has a 32-byte page):
 * 253 x 32 - 1 = 8095 before the first failure; then each new key evicts
 * one.  An IPv6 key (96 bytes) is in the same slot: the same count. */
static void
test_limit_req_slab(void)
{
    const struct workload *w = workload_find("limit_req");
    uint64_t               cfg[16], klen[] = { 4, 16 };
    struct lr_run          r;
    unsigned               i;

    for (i = 0; i < 2; i++) {
        workload_defaults(w, cfg);
        set_param(w, cfg, "keys", 1ull << 32);
        set_param(w, cfg, "klen", klen[i]);
        run_lr("slab", cfg, 1u << 20, 1, 12000, &r);
        CHECK(r.first_fail == 8096, "klen %llu: the first failure was attempt %llu, expected "
              "8096 (8095 states fit)", (unsigned long long) klen[i],
              (unsigned long long) r.first_fail);
        CHECK(r.states == 8095 && r.c.evictions == r.c.nodes - 8095 && r.c.nomem == 0,
              "klen %llu: %llu states, %llu made, %llu evicted", (unsigned long long) klen[i],
              (unsigned long long) r.states, (unsigned long long) r.c.nodes,
              (unsigned long long) r.c.evictions);
        CHECK(r.c.evictions == r.fails, "one failed allocation per eviction");
    }
}

/* tlsf, and two workers sharing the zone with repeated keys: hits, the
 * rate's rejections, and idle states removed once 60 simulated s pass. */
static void
test_limit_req_mix(void)
{
    const struct workload *w = workload_find("limit_req");
    const char            *alloc[] = { "slab", "tlsf" };
    uint64_t               cfg[16];
    struct lr_run          r;
    unsigned               i;

    for (i = 0; i < 2; i++) {
        workload_defaults(w, cfg);
        set_param(w, cfg, "keys", 20000);
        set_param(w, cfg, "step_us", 5000);
        set_param(w, cfg, "rate", 1);
        set_param(w, cfg, "burst", 0);
        run_lr(alloc[i], cfg, 1u << 20, 2, 30000, &r);
        CHECK(r.c.hits > 0 && r.c.evictions > 0, "%s: %llu hits, %llu evictions", alloc[i],
              (unsigned long long) r.c.hits, (unsigned long long) r.c.evictions);
        CHECK(r.c.expired > 0, "%s: no idle state removed", alloc[i]);
    }
    workload_defaults(w, cfg);
    set_param(w, cfg, "keys", 1000);
    set_param(w, cfg, "rate", 1);
    set_param(w, cfg, "burst", 0);
    run_lr("tlsf", cfg, 1u << 20, 1, 20000, &r);
    CHECK(r.c.busy > 0 && r.c.evictions == 0 && r.states == 1000,
          "tlsf, 1000 keys: %llu busy, %llu evicted, %llu states",
          (unsigned long long) r.c.busy, (unsigned long long) r.c.evictions,
          (unsigned long long) r.states);
    set_param(w, cfg, "klen", 2);
    set_param(w, cfg, "keys", 70000);
    CHECK(w->check(cfg, 1) == -1 && diag_is("limit_req: keys=70000 do not fit keys of "
          "klen=2 bytes"), "a keyspace beyond the key's bytes was accepted");
}

/* ---- ssl_cache ---- */

/* The tree order of sessions: CRC-32, then the id (its length in the
 * node's data byte, its offset at node + 40). */
static int
sc_cmp(unsigned char *base, uint64_t a, uint64_t b, void *arg)
{
    struct rbtree_node *na = rbtree_at(base, a), *nb = rbtree_at(base, b);
    uint64_t            ia, ib;

    (void) arg;
    if (na->key != nb->key) {
        return na->key < nb->key ? -1 : 1;
    }
    memcpy(&ia, base + a + 40, 8);
    memcpy(&ib, base + b + 40, 8);
    return rbtree_memn2cmp(base + ia, base + ib, na->data, nb->data);
}

struct sc_run {
    uint64_t                  allocs, frees, fails, first_fail, in_transit, sessions;
    struct ssl_cache_counters c;
};

/* Run ssl_cache (parameters in cfg) with nworkers workers in turn over a
 * fresh zone of `alloc`; check the tree, the counts and the zone. */
static void
run_sc(const char *alloc, void *cfg, size_t zone_size, unsigned nworkers,
    uint64_t max_ops, struct sc_run *out)
{
    const struct workload      *w = workload_find("ssl_cache");
    const struct allocator_ops *ops = allocator_find(alloc);
    struct diag_checker         dc = { stderr, "ssl_cache" };
    struct nx_shared           *sh;
    struct nx_run               t;
    struct zone                 z;

    memset(out, 0, sizeof(*out));
    CHECK(w != NULL && ops != NULL, "ssl_cache on %s: %s", alloc, diag_last());
    CHECK(w->check(cfg, nworkers) == 0, "check: %s", diag_last());
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, zone_size, 0, NULL, NULL) == 0,
          "%s: zone: %s", alloc, diag_last());
    sh = run_workers(w, ops, cfg, &z, nworkers, max_ops, &t);
    out->allocs = t.allocs;
    out->frees = t.frees;
    out->fails = t.fails;
    out->first_fail = t.first_fail;
    out->in_transit = t.in_transit;
    memcpy(&out->c, t.extra, sizeof(out->c));
    CHECK(rbtree_check(z.base, z.size, (struct rbtree *) (z.base + sh->sh), sc_cmp, NULL,
                       1u << 24, &out->sessions, &dc) == 0, "%s: tree: %s", alloc,
          diag_last());
    CHECK(2 * out->sessions + 2 == out->in_transit, "%s: %llu sessions x 2 + 2 init blocks, "
          "%llu counted", alloc, (unsigned long long) out->sessions,
          (unsigned long long) out->in_transit);
    CHECK(out->c.sessions - out->c.expired - out->c.evictions - out->c.stale == out->sessions,
          "%s: %llu stored - %llu expired - %llu evicted - %llu stale != %llu", alloc,
          (unsigned long long) out->c.sessions, (unsigned long long) out->c.expired,
          (unsigned long long) out->c.evictions, (unsigned long long) out->c.stale,
          (unsigned long long) out->sessions);
    CHECK(ops->check(&z, stderr) == 0, "%s: check: %s", alloc, diag_last());
    free(sh);
    zone_destroy(&z);
}

/* nginx's "one megabyte of the cache contains about 4000 sessions": TLS
 * 1.2 sessions of 126 bytes and their 128-byte records, all in slot 128,
 * on a 1 MiB slab zone (the log string has a 64-byte page): 253 x 32 - 1 =
 * 8095 chunks, 4047 sessions; the 4048th session's L takes the last
 * chunk, its record fails (allocation 8096), the oldest session goes and
 * the retry succeeds: one eviction per session from then on.  TLS 1.3's
 * 130 bytes cost 128 + 256: about 253 x 4096 / 384 = 2700. */
static void
test_ssl_cache_slab(void)
{
    const struct workload *w = workload_find("ssl_cache");
    uint64_t               cfg[32];
    struct sc_run          r;

    workload_defaults(w, cfg);
    set_param(w, cfg, "resume", 0);
    CHECK(workload_set_sizes(workload_param(w, "sizes"), cfg, "fixed:126") == 0,
          "fixed:126: %s", diag_last());
    run_sc("slab", cfg, 1u << 20, 1, 12000, &r);
    CHECK(r.first_fail == 8096, "the first failure was allocation %llu, expected 8096",
          (unsigned long long) r.first_fail);
    CHECK(r.sessions == 4047 && r.c.evictions == r.c.sessions - 4047 && r.c.nomem == 0
          && r.fails == r.c.evictions, "%llu sessions, %llu stored, %llu evicted, %llu fails",
          (unsigned long long) r.sessions, (unsigned long long) r.c.sessions,
          (unsigned long long) r.c.evictions, (unsigned long long) r.fails);
    CHECK(workload_set_sizes(workload_param(w, "sizes"), cfg, "fixed:130") == 0,
          "fixed:130: %s", diag_last());
    run_sc("slab", cfg, 1u << 20, 1, 12000, &r);
    CHECK(r.sessions >= 2650 && r.sessions <= 2720 && r.c.evictions > 0,
          "TLS 1.3: %llu sessions in 1 MiB, expected about 2700",
          (unsigned long long) r.sessions);
}

/* Resumptions, expiry and sessions too big to cache, two workers, on slab
 * and tlsf. */
static void
test_ssl_cache_mix(void)
{
    const struct workload *w = workload_find("ssl_cache");
    const char            *alloc[] = { "slab", "tlsf" };
    uint64_t               cfg[32];
    struct sc_run          r;
    unsigned               i;

    for (i = 0; i < 2; i++) {
        workload_defaults(w, cfg);
        set_param(w, cfg, "timeout", 1);
        set_param(w, cfg, "step_us", 200);
        set_param(w, cfg, "window", 3000);
        CHECK(workload_set_sizes(workload_param(w, "sizes"), cfg, "uniform:100:5000") == 0,
              "uniform:100:5000: %s", diag_last());
        run_sc(alloc[i], cfg, 1u << 20, 2, 20000, &r);
        CHECK(r.c.hits > 0 && r.c.stale > 0 && r.c.expired > 0 && r.c.too_big > 0,
              "%s: %llu resumed, %llu stale, %llu expired, %llu too big", alloc[i],
              (unsigned long long) r.c.hits, (unsigned long long) r.c.stale,
              (unsigned long long) r.c.expired, (unsigned long long) r.c.too_big);
        CHECK(r.c.resumes <= r.c.handshakes && r.c.hits + r.c.stale <= r.c.resumes,
              "%s: resumption counts", alloc[i]);
    }
}

int
main(void)
{
    test_params();
    test_fill_slab();
    test_fill_tlsf();
    test_mix();
    test_zipf();
    test_limit_req_slab();
    test_limit_req_mix();
    test_ssl_cache_slab();
    test_ssl_cache_mix();
    return test_summary("test_wl_nginx");
}
