/*
 * test_wl_server: the server workloads (larson, threadtest, shbench,
 * xmalloc) in one process, without the master, where their op counts can
 * be told exactly.
 *
 * Each runs over a fresh zone of slab and of tlsf, with one worker, an op
 * budget and a driver context whose barrier returns at once; its counters
 * must match what its own tables and its shared area hold (allocations -
 * frees = live + in transit, live = held) and the zone must pass its
 * check.  Then the exact patterns: threadtest's iterations allocate and
 * free exactly objects * iterations blocks and end with none held;
 * shbench's budget stops inside the second batch with exactly the
 * allocations and frees that its batch rule gives; larson with one worker
 * takes its own parked array back and frees those blocks as handed-over
 * blocks, with the parked array's blocks in transit; xmalloc's lone
 * worker frees its own batches.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "testutil.h"
#include "workload.h"

static void
test_ready(struct wl_ctx *c)
{
    c->cnt->ops = 0;
}

/* Run workload `name` with parameters `kv` ("k=v" pairs of numbers, NULL:
 * defaults) on allocator `alloc` with a budget of max_ops, `setup` blocks
 * allocated before the barrier; *k gets the counters, *transit the blocks
 * in transit. */
static void
test_run(const char *alloc, const char *name, const char *const *kv, uint64_t setup,
    uint64_t max_ops, struct wl_counters *k, uint64_t *transit)
{
    const struct allocator_ops *ops = allocator_find(alloc);
    const struct workload      *w = workload_find(name);
    const struct wl_param      *p;
    _Atomic unsigned            stop = 0;
    struct zone                 z;
    struct wl_ctx               c;
    unsigned char               cfg[512];
    size_t                      n;

    CHECK(ops != NULL && w != NULL && w->cfg_size <= sizeof(cfg), "%s, %s", alloc, name);
    memset(k, 0, sizeof(*k));
    workload_defaults(w, cfg);
    for (; kv != NULL && *kv != NULL; kv += 2) {
        p = workload_param(w, kv[0]);
        CHECK(p != NULL && p->kind != WL_SIZES, "%s has no numeric %s", name, kv[0]);
        *workload_value(p, cfg) = strtoull(kv[1], NULL, 10);
    }
    CHECK(!w->check || w->check(cfg, 1) == 0, "%s: check: %s", name, diag_last());
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, 8u << 20, 0, NULL, NULL) == 0,
          "%s: zone: %s", alloc, diag_last());
    n = w->shared_size ? w->shared_size(cfg, 1) : 0;
    memset(&c, 0, sizeof(c));
    c.shared = n ? calloc(1, n) : NULL;
    CHECK(n == 0 || c.shared != NULL, "no memory for %zu shared bytes", n);
    c.zone = &z;
    c.ops = ops;
    c.cfg = cfg;
    c.nworkers = 1;
    c.seed = 7;
    c.max_ops = max_ops;
    c.stop = &stop;
    c.cnt = k;
    c.ready = test_ready;
    CHECK(w->run(&c) == 0, "%s on %s: %s", name, alloc, diag_last());
    *transit = w->in_transit ? w->in_transit(cfg, c.shared, 1) : 0;
    CHECK(k->allocs - k->frees == k->live_blocks + *transit,
          "%s on %s: allocs %llu - frees %llu != live %llu + in transit %llu", name, alloc,
          (unsigned long long) k->allocs, (unsigned long long) k->frees,
          (unsigned long long) k->live_blocks, (unsigned long long) *transit);
    CHECK(k->live_blocks == k->held_blocks && k->live_bytes == k->held_bytes,
          "%s on %s: counted %llu blocks of %llu bytes, the table holds %llu of %llu", name,
          alloc, (unsigned long long) k->live_blocks, (unsigned long long) k->live_bytes,
          (unsigned long long) k->held_blocks, (unsigned long long) k->held_bytes);
    /* ops counts from the barrier (test_ready): `setup` allocations (larson's
     * fill) are before it. */
    CHECK(k->ops + setup == k->allocs + k->frees, "%s on %s: ops %llu, %llu set up", name,
          alloc, (unsigned long long) k->ops, (unsigned long long) setup);
    CHECK(ops->check(&z, stderr) == 0, "%s on %s: check: %s", name, alloc, diag_last());
    free(c.shared);
    zone_destroy(&z);
}

static void
test_patterns(const char *alloc)
{
    static const char *const tt[] = { "objects", "100", "iterations", "3", NULL };
    static const char *const sh[] = { "calls", "10", NULL };
    static const char *const la[] = { "blocks", "10", "rounds", "1", NULL };
    static const char *const xm[] = { "batch", "8", NULL };
    struct wl_counters       k;
    uint64_t                 t;

    /* threadtest: 3 iterations of 100, then it ends by itself. */
    test_run(alloc, "threadtest", tt, 0, 0, &k, &t);
    CHECK(k.allocs == 300 && k.frees == 300 && k.held_blocks == 0 && t == 0,
          "threadtest on %s: %llu allocs, %llu frees, %llu held", alloc,
          (unsigned long long) k.allocs, (unsigned long long) k.frees,
          (unsigned long long) k.held_blocks);

    /* shbench: 25 ops = a batch of 10 allocated and freed, 5 of the next. */
    test_run(alloc, "shbench", sh, 0, 25, &k, &t);
    CHECK(k.allocs == 15 && k.frees == 10 && k.held_blocks == 5,
          "shbench on %s: %llu allocs, %llu frees, %llu held", alloc,
          (unsigned long long) k.allocs, (unsigned long long) k.frees,
          (unsigned long long) k.held_blocks);

    /* larson: handoffs every 10 steps; the spare array comes back. */
    test_run(alloc, "larson", la, 10, 10000, &k, &t);
    CHECK(k.remote_frees > 0 && k.handed_off > 0 && k.allocs > 5000,
          "larson on %s: %llu remote frees, %llu handed off", alloc,
          (unsigned long long) k.remote_frees, (unsigned long long) k.handed_off);
    test_run(alloc, "larson", NULL, 5000, 20000, &k, &t);

    /* xmalloc alone: its own batches, no remote free. */
    test_run(alloc, "xmalloc", xm, 0, 1000, &k, &t);
    CHECK(k.remote_frees == 0 && k.allocs == 504 && k.frees == 496 && t == 0,
          "xmalloc on %s: %llu allocs, %llu frees, %llu remote", alloc,
          (unsigned long long) k.allocs, (unsigned long long) k.frees,
          (unsigned long long) k.remote_frees);
    test_run(alloc, "threadtest", NULL, 0, 20000, &k, &t);
    test_run(alloc, "shbench", NULL, 0, 20000, &k, &t);
}

int
main(void)
{
    test_patterns("slab");
    test_patterns("tlsf");
    return test_summary("test_wl_server");
}
