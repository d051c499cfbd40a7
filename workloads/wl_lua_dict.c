/*
 * lua_dict: every worker drives one lua_shared_dict in the zone, through
 * the faithful emulation of ngx_http_lua_shdict.c (workloads/shdict.h).
 *
 * Each step is a dict:get (get=P percent of steps) or a dict:set of a key
 * drawn from `keys` keys of `klen` bytes (the key's index in its first
 * bytes, then a filler), uniformly or, with zipf=T, from YCSB's Zipfian
 * distribution of theta T/100 (a few hot keys, a long tail), with a string value whose length is drawn
 * from `sizes=SPEC` (memcached's ETC value mix by default) and an expiry of
 * `ttl` ms (0: never).  The dict does what the module does: lazy expiry of
 * up to 2 items, LRU moves, reuse in place of an equal length, and on a
 * failed allocation up to 30 rounds of forced expiry (so the counts of
 * evictions, forcible sets and "no memory" are the module's).
 *
 * Time: the dict's clock is simulated, advanced by `step_us` microseconds
 * per step of this worker (10 by default: 100k requests a second), so
 * that a run is reproducible from its seed and expiry does not depend on
 * the machine's speed.  Workers' clocks advance alike as long as they run
 * at about the same rate, as nginx workers' cached clocks do.
 *
 * Locking: nginx holds the zone's mutex for the whole operation and calls
 * the slab's _locked functions inside it.  Where the allocator has a lock
 * and _locked forms (ops->lock, alloc_locked, free_locked: slab, tlsf,
 * freelist), the workload does exactly that: the dict's lock is the
 * allocator's own mutex, and the dict allocates through _locked calls.
 * Otherwise the dict is serialised by a lock of the workload's own, in its
 * shared area, and allocates through the ordinary (locking or lock-free)
 * calls.
 *
 * Counting: every allocation and free the dict makes goes through
 * wl_alloc / wl_free_remote (counted, timed).  The dict's blocks belong to
 * no worker (a worker frees items that others stored), so each allocation
 * is handed at once to the shared dict (wl_give), each free is a remote
 * free, and the blocks in the dict are counted in the shared area and
 * reported as in transit: allocations - frees = in transit at the end.
 * The dict's own counters (struct shdict_counters: gets, hits, evictions,
 * forcible sets, "no memory", ...) are the worker's extra counts, which
 * the driver writes to counters.csv.
 * A run's op budget (--ops) bounds dict operations; the driver's ops
 * column counts allocations and frees, as for every workload.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "shdict.h"
#include "substrate/diag.h"
#include "wl_nginx_common.h"
#include "workload.h"

struct lua_dict_cfg {
    uint64_t         keys, klen, get, ttl, step_us, zipf;
    struct size_dist sizes;
    double           zetan, eta;    /* the Zipf draw's constants (prepare) */
};

static const struct wl_param lua_dict_params[] = {
    { "keys", WL_COUNT, 1000000, 1, 1ull << 32, offsetof(struct lua_dict_cfg, keys),
      "keys in the keyspace", NULL },
    { "klen", WL_COUNT, 32, 8, 250, offsetof(struct lua_dict_cfg, klen),
      "bytes of every key", NULL },
    { "get", WL_PERCENT, 90, 0, 100, offsetof(struct lua_dict_cfg, get),
      "percent of steps that are gets (the rest are sets)", NULL },
    { "ttl", WL_COUNT, 60000, 0, 1ull << 40, offsetof(struct lua_dict_cfg, ttl),
      "expiry of a set in ms of the simulated clock (0: never)", NULL },
    { "step_us", WL_COUNT, 10, 0, 1000000000, offsetof(struct lua_dict_cfg, step_us),
      "simulated microseconds per step of a worker", NULL },
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct lua_dict_cfg, sizes),
      "value lengths", "etc" },
    { "zipf", WL_COUNT, 0, 0, 99, offsetof(struct lua_dict_cfg, zipf),
      "key skew: Zipf's theta in hundredths (0: uniform, 99: YCSB's 0.99)", NULL },
};

/* Zipf's theta of the configuration. */
static double
lua_dict_theta(const struct lua_dict_cfg *c)
{
    return (double) c->zipf / 100.0;
}

/* The constants of YCSB's Zipfian draw (Gray et al., "Quickly generating
 * billion-record synthetic databases"): zeta(n) = sum of 1 / i^theta, once
 * in the master, over the keyspace. */
static int
lua_dict_prepare(void *cfg, uint64_t seed, unsigned nworkers)
{
    struct lua_dict_cfg *c = cfg;
    double               theta = lua_dict_theta(c), zeta2;
    uint64_t             i;

    (void) seed;
    (void) nworkers;
    if (c->zipf == 0) {
        return 0;
    }
    if (c->keys > (1ull << 28)) {
        diag_set("lua_dict: zipf=%llu needs keys=%llu at most %llu (its constants are a sum "
                 "over the keys)", (unsigned long long) c->zipf,
                 (unsigned long long) c->keys, 1ull << 28);
        return -1;
    }
    c->zetan = 0;
    for (i = 1; i <= c->keys; i++) {
        c->zetan += pow((double) i, -theta);
    }
    zeta2 = 1 + pow(2, -theta);
    c->eta = (1 - pow(2.0 / (double) c->keys, 1 - theta)) / (1 - zeta2 / c->zetan);
    return 0;
}

/* A key's number: uniform, or Zipf-skewed (0 the most frequent). */
static uint64_t
lua_dict_draw_key(const struct lua_dict_cfg *c, uint64_t *rng)
{
    double   theta, u, uz;
    uint64_t k;

    if (c->zipf == 0 || c->keys < 2) {
        return prng_below(rng, c->keys);
    }
    theta = lua_dict_theta(c);
    u = (double) (prng_next(rng) >> 11) * 0x1p-53;
    uz = u * c->zetan;
    if (uz < 1) {
        return 0;
    }
    if (uz < 1 + pow(0.5, theta)) {
        return 1;
    }
    k = (uint64_t) ((double) c->keys * pow(c->eta * u - c->eta + 1, 1 / (1 - theta)));
    return k < c->keys ? k : c->keys - 1;
}

static int
lua_dict_check(const void *cfg, unsigned nworkers)
{
    const struct lua_dict_cfg *c = cfg;

    (void) nworkers;
    return workload_check_sizes("lua_dict", "sizes", &c->sizes);
}

/*
 * The dict's view of the zone: a copy of the worker's zone whose ops table
 * counts every allocation and free through the worker's context.  A worker
 * is one process (one test at a time in a unit test), so its context is
 * this process's.
 */
static struct wl_ctx          *lua_ctx;
static struct nx_shared *lua_sh;
static struct allocator_ops    lua_zone_ops;   /* what the dict calls */
static struct allocator_ops    lua_locked_ops; /* _locked forms, under the mutex */

static void *
lua_zone_alloc(struct zone *z, size_t size)
{
    (void) z;
    return nx_alloc(lua_ctx, lua_sh, size);
}

static int
lua_zone_free(struct zone *z, void *p)
{
    (void) z;
    return nx_free(lua_ctx, lua_sh, p);
}

static void
lua_lock(void *m)
{
    shmtx_lock(m);
}

static void
lua_unlock(void *m)
{
    shmtx_unlock(m);
}

/* Set up the worker's handle d over the view zone dz, with the lock
 * nx_lock_setup chooses. */
static void
lua_dict_attach(struct wl_ctx *c, struct shdict *d, struct zone *dz)
{
    struct shmtx *m;

    lua_ctx = c;
    lua_sh = c->shared;
    m = nx_lock_setup(c, lua_sh, &lua_locked_ops);
    *dz = *c->zone;
    lua_zone_ops = *c->zone->ops;
    lua_zone_ops.alloc = lua_zone_alloc;
    lua_zone_ops.free = lua_zone_free;
    dz->ops = &lua_zone_ops;
    memset(d, 0, sizeof(*d));
    d->zone = dz;
    shdict_set_lock(d, lua_lock, lua_unlock, m);
}

/* Key number k in klen bytes: its 8 bytes, then a filler. */
static void
lua_dict_key(unsigned char *key, size_t klen, uint64_t k)
{
    memcpy(key, &k, sizeof(k));
    memset(key + sizeof(k), 'k', klen - sizeof(k));
}

/* Make the dict (worker 0, before the barrier) or find it (the others,
 * after it). */
static int
lua_dict_open(struct wl_ctx *c, struct shdict *d)
{
    struct nx_shared *s = c->shared;
    void                   *m = d->lock_arg;

    if (c->worker == 0) {
        nx_shared_init(s);
        /* shdict_init starts a fresh handle: the lock is set again after */
        shmtx_lock(m);
        if (shdict_init(d, d->zone, "lua_dict") != 0) {
            shmtx_unlock(m);
            diag_set("lua_dict: the dict does not fit the zone: %s", diag_last());
            return -1;
        }
        shmtx_unlock(m);
        shdict_set_lock(d, lua_lock, lua_unlock, m);
        s->sh = d->sh;
        s->log_ctx = d->log_ctx;
        atomic_store(&s->inited, 1);
    }
    c->ready(c);
    if (c->worker != 0) {
        if (atomic_load(&s->inited) == 0) {
            diag_set("lua_dict: worker %u: worker 0 made no dict", c->worker);
            return -1;
        }
        d->sh = s->sh;
        d->log_ctx = s->log_ctx;
        shdict_clock_set(d, SHDICT_CLOCK_START);
    }
    return 0;
}

/* One step: a get or a set.  0, or -1 with diag (the dict raised). */
static int
lua_dict_step(struct wl_ctx *c, struct shdict *d, unsigned char *key, uint64_t *rng)
{
    const struct lua_dict_cfg *cf = c->cfg;
    struct shdict_result       r;
    struct shdict_value        v;
    uint64_t                   len;

    lua_dict_key(key, cf->klen, lua_dict_draw_key(cf, rng));
    if (prng_below(rng, 100) < cf->get) {
        return shdict_get(d, key, cf->klen, 0, &r);
    }
    len = sizes_draw(&cf->sizes, rng);
    memset(&v, 0, sizeof(v));
    v.type = SHDICT_TSTRING;
    v.len = len > UINT32_MAX ? UINT32_MAX : len;
    return shdict_set(d, key, cf->klen, &v, (int64_t) cf->ttl, 0, &r);
}

static int
lua_dict_run(struct wl_ctx *c)
{
    const struct lua_dict_cfg *cf = c->cfg;
    const struct allocator_ops *ops = c->ops;
    uint64_t                   rng = workload_worker_seed(c->seed, c->worker);
    uint64_t                   step = 0;
    unsigned char              key[256];
    struct shdict              d;
    struct zone                dz;
    int                        rc = 0;

    lua_dict_attach(c, &d, &dz);
    if (lua_dict_open(c, &d) != 0) {
        c->ops = ops;
        wl_recount(c, 0, 0);
        return -1;
    }
    while (!nx_should_stop(c, step)) {
        shdict_clock_set(&d, SHDICT_CLOCK_START + step * cf->step_us / 1000);
        if (lua_dict_step(c, &d, key, &rng) != 0) {
            diag_set("lua_dict: worker %u: %s", c->worker, diag_last());
            rc = -1;
            break;
        }
        step++;
    }
    nx_publish(c, &d.count, sizeof(d.count) / sizeof(uint64_t));
    c->ops = ops;
    wl_recount(c, 0, 0);
    return rc;
}

/* struct shdict_counters' fields, in order. */
static const char *const lua_dict_extra[] = {
    "sets", "deletes", "incrs", "gets", "hits", "misses", "pushes", "pops",
    "evictions", "expired", "nomem", "forcible",
};

_Static_assert(sizeof(lua_dict_extra) / sizeof(lua_dict_extra[0])
               == sizeof(struct shdict_counters) / sizeof(uint64_t),
               "a name for every shdict counter");

const struct workload wl_lua_dict = {
    .name = "lua_dict",
    .summary = "lua_shared_dict gets and sets in one dict shared by the workers "
               "(ngx_http_lua_shdict.c's eviction)",
    .params = lua_dict_params,
    .nparams = sizeof(lua_dict_params) / sizeof(lua_dict_params[0]),
    .cfg_size = sizeof(struct lua_dict_cfg),
    .check = lua_dict_check,
    .needs = nx_needs,
    .shared_size = nx_shared_size,
    .prepare = lua_dict_prepare,
    .in_transit = nx_in_transit,
    .run = lua_dict_run,
    .extra = lua_dict_extra,
    .nextra = sizeof(lua_dict_extra) / sizeof(lua_dict_extra[0]),
    .flags = WL_SHARED_INDEX,
};
