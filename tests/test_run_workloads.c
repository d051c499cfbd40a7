/*
 * test_run_workloads: the workload registry and the workloads of `shmbench
 * run`, in one process, without the master.
 *
 * The registry finds every workload by name and refuses others with the
 * list of names; the parameter tables give their defaults; the handoff ring
 * holds exactly HANDOFF_SIZE blocks in order.  Then each workload runs in
 * this process over a real zone, with a driver context whose barrier
 * returns at once, and its counters are checked against what its own
 * tables hold (the independent count: allocations - frees = live = held)
 * and against the zone, which must pass its check afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "handoff.h"
#include "registry.h"
#include "testutil.h"
#include "workload.h"

static void
test_ready(struct wl_ctx *c)
{
    c->cnt->ops = 0;
}

static void
test_registry(void)
{
    const struct workload *const *all;
    const struct workload        *w;
    size_t                        n, i;

    all = workload_all(&n);
    CHECK(n >= 2, "%zu workloads", n);
    for (i = 0; i < n; i++) {
        CHECK(workload_find(all[i]->name) == all[i], "%s not found by name", all[i]->name);
        CHECK(all[i]->run != NULL && all[i]->summary != NULL, "%s lacks run or summary",
              all[i]->name);
    }
    CHECK(workload_find("nope") == NULL, "an unknown workload was found");
    CHECK(diag_is("unknown workload 'nope' (known: churn, fill)"), "the refusal's message");
    w = workload_find("churn");
    CHECK(w && workload_param(w, "live") != NULL, "churn has no live=");
    CHECK(w && workload_param(w, "nope") == NULL, "churn has a nope=");
    CHECK(workload_worker_seed(1, 0) != workload_worker_seed(1, 1), "two workers, one stream");
    CHECK(workload_worker_seed(7, 3) == workload_worker_seed(7, 3), "a stream that changes");
}

static void
test_defaults(void)
{
    const struct workload *w = workload_find("churn");
    uint64_t               cfg[64];
    unsigned               i;

    memset(cfg, 0xff, sizeof(cfg));
    CHECK(w->cfg_size <= sizeof(cfg), "churn's configuration is %zu bytes", w->cfg_size);
    workload_defaults(w, cfg);
    for (i = 0; i < w->nparams; i++) {
        CHECK(workload_get(&w->params[i], cfg) == w->params[i].def, "%s is not its default",
              w->params[i].name);
    }
    *workload_value(workload_param(w, "min"), cfg) = 100;
    *workload_value(workload_param(w, "max"), cfg) = 10;
    CHECK(w->check(cfg, 1) == -1 && diag_is("churn: min=100 is above max=10"),
          "min above max accepted");
    *workload_value(workload_param(w, "max"), cfg) = 1000;
    *workload_value(workload_param(w, "remote"), cfg) = 5;
    CHECK(w->check(cfg, 1) == -1, "remote frees with one worker accepted");
    CHECK(w->check(cfg, 2) == 0, "remote frees with two workers refused");
    CHECK(w->needs(cfg, 2) == WL_NEEDS_CROSS_FREE, "remote frees need no cross-free");
    *workload_value(workload_param(w, "remote"), cfg) = 0;
    CHECK(w->needs(cfg, 2) == 0, "own frees need cross-free");
}

static void
test_handoff(void)
{
    struct handoff_ring *r = calloc(1, sizeof(*r));
    uint64_t             i, off = 0, size = 0, tag = 0;

    for (i = 0; i < HANDOFF_SIZE; i++) {
        CHECK(handoff_put(r, i, 2 * i, 3 * i) == 0, "put %llu refused", (unsigned long long) i);
    }
    CHECK(handoff_put(r, 0, 0, 0) == -1, "a full ring took one more");
    CHECK(handoff_count(r) == HANDOFF_SIZE, "count %llu", (unsigned long long) handoff_count(r));
    for (i = 0; i < HANDOFF_SIZE; i++) {
        CHECK(handoff_get(r, &off, &size, &tag) == 0 && off == i && size == 2 * i
              && tag == 3 * i, "get %llu: %llu %llu %llu", (unsigned long long) i,
              (unsigned long long) off, (unsigned long long) size, (unsigned long long) tag);
    }
    CHECK(handoff_get(r, &off, &size, &tag) == -1, "an empty ring gave a block");
    free(r);
}

/* Run workload `name` (parameters already in cfg) in this process over a
 * fresh zone of `ops`; check its counts and the zone. */
static void
test_run(const struct allocator_ops *ops, const char *name, void *cfg, size_t zone_size,
    uint64_t max_ops, struct wl_counters *k)
{
    const struct workload *w = workload_find(name);
    _Atomic unsigned       stop = 0;
    struct zone            z;
    struct wl_ctx          c;

    memset(k, 0, sizeof(*k));
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, zone_size, 0, NULL, NULL) == 0,
          "%s: zone: %s", ops->name, diag_last());
    CHECK(!w->prepare || w->prepare(cfg, 1, 1) == 0, "%s: prepare: %s", name, diag_last());
    memset(&c, 0, sizeof(c));
    c.zone = &z;
    c.ops = ops;
    c.cfg = cfg;
    c.nworkers = 1;
    c.seed = 1;
    c.max_ops = max_ops;
    c.stop = &stop;
    c.cnt = k;
    c.ready = test_ready;
    CHECK(w->run(&c) == 0, "%s on %s: %s", name, ops->name, diag_last());
    CHECK(k->allocs - k->frees == k->live_blocks, "%s on %s: allocs %llu - frees %llu != "
          "live %llu", name, ops->name, (unsigned long long) k->allocs,
          (unsigned long long) k->frees, (unsigned long long) k->live_blocks);
    CHECK(k->live_blocks == k->held_blocks && k->live_bytes == k->held_bytes,
          "%s on %s: counted %llu blocks of %llu bytes, the table holds %llu of %llu", name,
          ops->name, (unsigned long long) k->live_blocks, (unsigned long long) k->live_bytes,
          (unsigned long long) k->held_blocks, (unsigned long long) k->held_bytes);
    CHECK(k->granted_bytes >= k->live_bytes, "%s on %s: granted below live", name, ops->name);
    CHECK(k->peak_live >= k->live_bytes, "%s on %s: peak below live", name, ops->name);
    CHECK(ops->check(&z, stderr) == 0, "%s on %s: check: %s", name, ops->name, diag_last());
    if (w->release) {
        w->release(cfg);
    }
    zone_destroy(&z);
}

static void
test_workloads(void)
{
    const struct allocator_ops *ops[] = { &slab_allocator, &tlsf_allocator };
    const struct workload      *churn = workload_find("churn"), *fill = workload_find("fill");
    struct wl_counters          k;
    uint64_t                    cfg[64];
    unsigned                    i;

    for (i = 0; i < 2; i++) {
        workload_defaults(churn, cfg);
        *workload_value(workload_param(churn, "live"), cfg) = 300;
        *workload_value(workload_param(churn, "rounds"), cfg) = 5000;
        test_run(ops[i], "churn", cfg, 8u << 20, 20000, &k);
        CHECK(k.ops >= 20000 && k.ops <= 20002, "churn on %s: %llu ops for a budget of "
              "20000", ops[i]->name, (unsigned long long) k.ops);
        CHECK(k.live_blocks == 300 && k.fails == 0, "churn on %s: %llu live, %llu fails",
              ops[i]->name, (unsigned long long) k.live_blocks, (unsigned long long) k.fails);

        workload_defaults(fill, cfg);
        test_run(ops[i], "fill", cfg, 1u << 20, 0, &k);
        CHECK(k.fails == 1 && k.first_fail_op == k.ops + 1 && k.fill_at_fail == k.live_bytes,
              "fill on %s: %llu fails, first at %llu of %llu ops, fill %llu of %llu live",
              ops[i]->name, (unsigned long long) k.fails, (unsigned long long) k.first_fail_op,
              (unsigned long long) k.ops, (unsigned long long) k.fill_at_fail,
              (unsigned long long) k.live_bytes);
        CHECK(k.live_bytes > (1u << 20) / 2, "fill on %s: only %llu bytes", ops[i]->name,
              (unsigned long long) k.live_bytes);
    }
}

int
main(void)
{
    test_registry();
    test_defaults();
    test_handoff();
    test_workloads();
    return test_summary("test_run_workloads");
}
