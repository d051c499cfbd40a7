/*
 * test_wl_nginx: the nginx-feature workloads of `shmbench run` (lua_dict),
 * in one process, without the master.
 *
 * Each worker's run() is called in turn over a real zone, with a barrier
 * that returns at once, so that worker 0 makes the dict and the next one
 * finds it.  The counts are checked against what the spec's arithmetic
 * predicts and against independent counts: on a 1 MiB slab zone, items of
 * 68 + 8 + 52 = 128 bytes fill 31 slots of the header's page and 252 pages
 * of 32, so 8095 items are stored before the first allocation fails, and
 * from then on every new key evicts exactly one item (one forced expiry
 * frees the one chunk the next item needs), so the dict holds 8095 items
 * for ever, the evictions are the sets beyond 8095 and each eviction is
 * one forcible set.  The dict is then checked on its own (shdict_check:
 * its item count against the blocks the workload counted in transit) and
 * the zone by the allocator's check().  The same runs go on tlsf (where
 * the count is tlsf's, not the slab's), and an ETC mix with expiry on two
 * workers in turn.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "shdict.h"
#include "testutil.h"
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
    struct lua_dict_shared     *sh;
    _Atomic unsigned            stop = 0;
    struct shdict               d;
    struct zone                 z;
    struct wl_ctx               c;
    size_t                      i;
    unsigned                    n;

    memset(out, 0, sizeof(*out));
    CHECK(ops != NULL, "%s: %s", alloc, diag_last());
    CHECK(w->check(cfg, nworkers) == 0, "check: %s", diag_last());
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, zone_size, 0, NULL, NULL) == 0,
          "%s: zone: %s", alloc, diag_last());
    sh = calloc(1, w->shared_size(cfg, nworkers));
    for (n = 0; n < nworkers; n++) {
        memset(&c, 0, sizeof(c));
        c.zone = &z;
        c.ops = ops;
        c.cfg = cfg;
        c.worker = n;
        c.nworkers = nworkers;
        c.seed = 1;
        c.max_ops = max_ops;
        c.stop = &stop;
        c.cnt = &out->k[n];
        c.shared = sh;
        c.ready = test_ready;
        CHECK(w->run(&c) == 0, "lua_dict on %s, worker %u: %s", alloc, n, diag_last());
        CHECK(c.ops == ops, "worker %u left its ops table changed", n);
        CHECK(out->k[n].live_blocks == 0 && out->k[n].held_blocks == 0,
              "worker %u holds blocks of the shared dict", n);
        CHECK(out->k[n].handed_off == out->k[n].allocs, "worker %u: %llu handed off of %llu",
              n, (unsigned long long) out->k[n].handed_off,
              (unsigned long long) out->k[n].allocs);
        out->allocs += out->k[n].allocs;
        out->frees += out->k[n].frees;
        out->fails += out->k[n].fails;
        out->c.sets += sh->count[n].sets;
        out->c.gets += sh->count[n].gets;
        out->c.hits += sh->count[n].hits;
        out->c.misses += sh->count[n].misses;
        out->c.evictions += sh->count[n].evictions;
        out->c.expired += sh->count[n].expired;
        out->c.forcible += sh->count[n].forcible;
        out->c.nomem += sh->count[n].nomem;
    }
    out->first_fail = out->k[0].first_fail_op;
    out->in_transit = w->in_transit(cfg, sh, nworkers);
    CHECK(out->allocs - out->frees == out->in_transit, "%s: allocs %llu - frees %llu != "
          "%llu in transit", alloc, (unsigned long long) out->allocs,
          (unsigned long long) out->frees, (unsigned long long) out->in_transit);
    CHECK(out->c.hits + out->c.misses == out->c.gets, "%s: hits + misses != gets", alloc);
    /* the dict as any process sees it: a handle made from the shared offsets */
    memset(&d, 0, sizeof(d));
    d.zone = &z;
    d.sh = sh->h.sh;
    d.log_ctx = sh->h.log_ctx;
    CHECK(shdict_check(&d, stderr, &out->items) == 0, "%s: dict: %s", alloc, diag_last());
    CHECK(out->items + 2 == out->in_transit, "%s: %llu items + 2 init blocks, %llu counted",
          alloc, (unsigned long long) out->items, (unsigned long long) out->in_transit);
    CHECK(ops->check(&z, stderr) == 0, "%s: check: %s", alloc, diag_last());
    for (i = 0; i < nworkers; i++) {
        CHECK(sh->count[i].sets + sh->count[i].gets > 0, "worker %zu did nothing", i);
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
}

int
main(void)
{
    test_params();
    test_fill_slab();
    test_fill_tlsf();
    test_mix();
    return test_summary("test_wl_nginx");
}
