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
 *
 * Sizes: every WL_SIZES default parses, bad specs are refused with
 * sizes_parse's message or the workload's check, and churn.h's generator
 * given `uniform:8:2048` draws bench's sequence bit for bit (other
 * distributions draw their own sizes).  Latency: with every op timed the
 * histograms count exactly the ops; sampling one in K counts each kind's
 * ops / K within the bound that test_sampler states.
 */
#include <stdlib.h>
#include <string.h>

#include "../workloads/churn.h"   /* not tests/churn.h, the multiproc helper */
#include "handoff.h"
#include "registry.h"
#include "testutil.h"
#include "workload.h"

/* The latency set-up of the next test_run: the histograms (NULL: off) and
 * the sampler's K (1: every op). */
static struct histogram *test_lat;
static uint64_t          test_lat_k;

static void
test_ready(struct wl_ctx *c)
{
    c->cnt->ops = 0;
    if (test_lat) {
        memset(test_lat, 0, WL_OPS * sizeof(*test_lat));
        c->lat = test_lat;
        c->lat_below = test_lat_k == 1 ? UINT64_MAX : UINT64_MAX / test_lat_k;
    }
}

static void
test_registry(void)
{
    const struct workload *const *all;
    const struct workload        *w;
    size_t                        n, i;
    char                          known[512];

    all = workload_all(&n);
    CHECK(n >= 2, "%zu workloads", n);
    for (i = 0; i < n; i++) {
        CHECK(workload_find(all[i]->name) == all[i], "%s not found by name", all[i]->name);
        CHECK(all[i]->run != NULL && all[i]->summary != NULL, "%s lacks run or summary",
              all[i]->name);
    }
    CHECK(workload_find("nope") == NULL, "an unknown workload was found");
    /* the names in listing order, whatever workloads were added */
    known[0] = '\0';
    for (i = 0; i < n; i++) {
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                 all[i]->name);
    }
    CHECK(strncmp(known, "churn, fill", 11) == 0, "the first workloads are %s", known);
    CHECK(diag_is("unknown workload 'nope' (known: %s)", known), "the refusal's message");
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
    const struct wl_param *sz;
    uint64_t               cfg[64];
    unsigned               i;
    char                   spec[64];

    memset(cfg, 0xff, sizeof(cfg));
    CHECK(w->cfg_size <= sizeof(cfg), "churn's configuration is %zu bytes", w->cfg_size);
    workload_defaults(w, cfg);
    for (i = 0; i < w->nparams; i++) {
        if (w->params[i].kind == WL_SIZES) {
            CHECK(strcmp(workload_format(&w->params[i], cfg, spec, sizeof(spec)),
                         w->params[i].def_spec) == 0, "%s is %s, not its default %s",
                  w->params[i].name, spec, w->params[i].def_spec);
            continue;
        }
        CHECK(workload_get(&w->params[i], cfg) == w->params[i].def, "%s is not its default",
              w->params[i].name);
    }
    sz = workload_param(w, "sizes");
    CHECK(sz && sz->kind == WL_SIZES, "churn has no sizes=");
    CHECK(workload_set_sizes(sz, cfg, "uniform:100:10") == -1
          && diag_is("size distribution \"uniform:100:10\": MIN > MAX"),
          "uniform:100:10 accepted (%s)", diag_last());
    CHECK(workload_set_sizes(sz, cfg, "normal:5") == -1, "normal:5 accepted");
    CHECK(strcmp(workload_format(sz, cfg, spec, sizeof(spec)), "uniform:8:2048") == 0,
          "a refused spec changed the distribution to %s", spec);
    CHECK(workload_set_sizes(sz, cfg, "fixed:0") == 0 && w->check(cfg, 1) == -1
          && diag_is("churn: sizes=fixed:0 draws requests outside 1 to 4294967295 bytes"),
          "fixed:0 passed the check (%s)", diag_last());
    CHECK(workload_set_sizes(sz, cfg, "fixed:5g") == 0 && w->check(cfg, 1) == -1,
          "fixed:5g passed the check");
    for (i = 0; i < 3; i++) {
        const char *ok[] = { "etc", "pow2:8:4k", "fixed:100" };
        CHECK(workload_set_sizes(sz, cfg, ok[i]) == 0 && w->check(cfg, 1) == 0,
              "%s refused: %s", ok[i], diag_last());
    }
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

/* churn.h's generator: `uniform:8:2048` is bench's [8, 2048] sequence bit
 * for bit; pow2 draws its own. */
static void
test_churn_sizes(void)
{
    struct churn_params p;
    struct churn_seq    a, b;
    struct size_dist    d;
    uint64_t            i, diff = 0, bad = 0;

    memset(&p, 0, sizeof(p));
    p.live = 1000;
    p.rounds = 100000;
    p.min_size = 8;
    p.max_size = 2048;
    p.seed = 1;
    CHECK(churn_generate(&a, &p) == 0, "bench's churn: %s", diag_last());
    CHECK(sizes_parse("uniform:8:2048", &d) == 0, "uniform:8:2048: %s", diag_last());
    p.min_size = p.max_size = 0;
    p.dist = &d;
    CHECK(churn_generate(&b, &p) == 0, "churn of uniform:8:2048: %s", diag_last());
    CHECK(memcmp(a.fill, b.fill, p.live * sizeof(*a.fill)) == 0
          && memcmp(a.round, b.round, p.rounds * sizeof(*a.round)) == 0,
          "uniform:8:2048 is not bench's sequence");
    churn_free(&b);
    CHECK(sizes_parse("pow2:16:1k", &d) == 0, "pow2:16:1k: %s", diag_last());
    CHECK(churn_generate(&b, &p) == 0, "churn of pow2:16:1k: %s", diag_last());
    for (i = 0; i < p.rounds; i++) {
        diff += b.round[i].size != a.round[i].size;
        bad += b.round[i].size < 16 || b.round[i].size > 1024
               || (b.round[i].size & (b.round[i].size - 1)) != 0;
    }
    CHECK(bad == 0 && diff > p.rounds / 2, "pow2:16:1k: %llu sizes outside it, %llu of "
          "%llu differ from uniform", (unsigned long long) bad, (unsigned long long) diff,
          (unsigned long long) p.rounds);
    churn_free(&a);
    churn_free(&b);
}

/*
 * The sampler: of N consecutive indices, shmtx_sampled(n, UINT64_MAX / K)
 * takes N / K within 2 + log2(N).  (The golden-ratio sequence's discrepancy
 * is O(log N): over every prefix up to 2^24 indices, for K from 2 to 4096,
 * the worst deviation is 5; the bound has room.)  And it does not alias: of the indices
 * that are multiples of K (a workload with period K), about a share 1/K is
 * taken too, not all or none (for K up to 64, where N / K^2 is large enough
 * to tell).
 */
static void
test_sampler(void)
{
    static const uint64_t ks[] = { 2, 7, 64, 256, 1000 };
    uint64_t              n, N = 1u << 20, taken, period, bound = 2 + 20;
    unsigned              i;

    for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        taken = 0;
        period = 0;
        for (n = 0; n < N; n++) {
            taken += shmtx_sampled(n, UINT64_MAX / ks[i]);
            period += n % ks[i] == 0 && shmtx_sampled(n, UINT64_MAX / ks[i]);
        }
        CHECK(taken + bound >= N / ks[i] && taken <= N / ks[i] + bound,
              "K %llu: %llu of %llu taken", (unsigned long long) ks[i],
              (unsigned long long) taken, (unsigned long long) N);
        CHECK(ks[i] > 64 || (period * ks[i] * ks[i] > N / 2 && period * ks[i] * ks[i] < 2 * N),
              "K %llu: %llu of the %llu multiples of K taken (aliasing)",
              (unsigned long long) ks[i], (unsigned long long) period,
              (unsigned long long) (N / ks[i]));
    }
}

/* churn with its ops timed: every op (K = 1), or one in K. */
static void
test_latency(const struct allocator_ops *ops)
{
    const struct workload *churn = workload_find("churn");
    static struct histogram lat[WL_OPS];
    struct wl_counters     k;
    uint64_t               cfg[64], n, want, bound = 2 + 20;

    workload_defaults(churn, cfg);
    *workload_value(workload_param(churn, "live"), cfg) = 300;
    test_lat = lat;
    test_lat_k = 1;
    test_run(ops, "churn", cfg, 8u << 20, 20000, &k);
    n = histogram_count(&lat[WL_OP_ALLOC]) + histogram_count(&lat[WL_OP_FREE]);
    CHECK(n == k.ops && histogram_count(&lat[WL_OP_FREE]) == k.ops / 2,
          "latency all on %s: %llu alloc + %llu free timed of %llu ops", ops->name,
          (unsigned long long) histogram_count(&lat[WL_OP_ALLOC]),
          (unsigned long long) histogram_count(&lat[WL_OP_FREE]),
          (unsigned long long) k.ops);
    CHECK(histogram_value_at(&lat[WL_OP_ALLOC], 0.5) <= histogram_max(&lat[WL_OP_ALLOC])
          && histogram_min(&lat[WL_OP_ALLOC]) > 0, "latency all on %s: p50 above max",
          ops->name);
    test_lat_k = 64;
    test_run(ops, "churn", cfg, 8u << 20, 200000, &k);
    want = k.ops / 2 / 64;
    for (n = 0; n < WL_OPS; n++) {
        CHECK(histogram_count(&lat[n]) + bound >= want
              && histogram_count(&lat[n]) <= want + bound,
              "latency sample:64 on %s: %llu of %llu ops of kind %llu timed", ops->name,
              (unsigned long long) histogram_count(&lat[n]), (unsigned long long) k.ops / 2,
              (unsigned long long) n);
    }
    test_lat = NULL;
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

        test_latency(ops[i]);

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
    test_churn_sizes();
    test_sampler();
    test_workloads();
    return test_summary("test_run_workloads");
}
