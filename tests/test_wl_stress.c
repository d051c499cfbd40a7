/*
 * test_wl_stress: the stress workloads (mstress, phase) and their block
 * pattern, in one process, without the master.
 *
 * The pattern (workloads/wl_stress_common.h) reads back intact at every
 * size and alignment, and one damaged byte anywhere is found at its word.
 * The parameter checks refuse what cannot run (mstress blocks below its
 * header) and ask for cross-process free only when blocks migrate between
 * workers.  Each workload then runs over slab and tlsf with a driver
 * context whose barrier returns at once, its counts checked against its
 * own tables (allocations - frees = held + in transit, live = held) and
 * the zone checked afterwards.  mstress over an allocator that grants one
 * block twice (a wrapper of tlsf) stops with the corrupt block's offset.
 * phase switches where it is told: at the op budget's at%, or the time's,
 * never when at=100, and the kept slots hold before-sizes to the end.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "testutil.h"
#include "workload.h"
#include "wl_stress_common.h"

/* The run's time limit for test_ready (0: none). */
static uint64_t test_ns;

static void
test_ready(struct wl_ctx *c)
{
    c->cnt->ops = 0;
    c->end_ns = test_ns ? clock_ns() + test_ns : 0;
}

static void
test_pattern(void)
{
    unsigned char buf[80];
    size_t        size, off, i, bad = 0, missed = 0;

    for (off = 0; off < 8; off++) {
        for (size = 0; size + off <= sizeof(buf); size++) {
            wl_pattern_fill(buf + off, size, 42 + size);
            bad += wl_pattern_ok(buf + off, size, 42 + size) != size;
            bad += size >= 8 && wl_pattern_ok(buf + off, size, 43 + size) != 0;
            for (i = 0; i < size; i++) {
                buf[off + i] ^= 0x10;
                missed += wl_pattern_ok(buf + off, size, 42 + size) != (i & ~(size_t) 7);
                buf[off + i] ^= 0x10;
            }
        }
    }
    CHECK(bad == 0, "%zu intact blocks judged damaged, or another tag's judged intact", bad);
    CHECK(missed == 0, "%zu damaged bytes not found at their word", missed);
    wl_pattern_fill(buf, 16, 1);
    wl_pattern_fill(buf + 16, 16, 2);
    CHECK(memcmp(buf, buf + 16, 16) != 0, "two tags, one pattern");
}

static void
test_params(void)
{
    const struct workload *m = workload_find("mstress"), *p = workload_find("phase");
    uint64_t               cfg[64];

    CHECK(m != NULL && p != NULL, "mstress or phase not registered");
    if (m == NULL || p == NULL) {
        return;
    }
    CHECK(m->cfg_size <= sizeof(cfg) && p->cfg_size <= sizeof(cfg), "configurations too big");
    workload_defaults(m, cfg);
    CHECK(m->check(cfg, 2) == 0, "mstress's defaults refused: %s", diag_last());
    CHECK(m->needs(cfg, 2) == WL_NEEDS_CROSS_FREE, "migration without cross-process free");
    CHECK(m->needs(cfg, 1) == 0, "one worker asks for cross-process free");
    CHECK(m->shared_size(cfg, 2) == 1000 * sizeof(uint64_t), "transfer array of %zu bytes",
          m->shared_size(cfg, 2));
    *workload_value(workload_param(m, "migrate"), cfg) = 0;
    CHECK(m->needs(cfg, 2) == 0, "no migration asks for cross-process free");
    CHECK(workload_set_sizes(workload_param(m, "large"), cfg, "pow2:8:64k") == 0
          && m->check(cfg, 1) == -1
          && diag_is("mstress: large draws blocks below 16 bytes, the block's header"),
          "8-byte blocks accepted (%s)", diag_last());
    CHECK(workload_set_sizes(workload_param(m, "large"), cfg, "fixed:5g") == 0
          && m->check(cfg, 1) == -1
          && diag_is("mstress: large=fixed:5368709120 draws requests outside 1 to "
                     "4294967295 bytes"),
          "5 GiB blocks accepted (%s)", diag_last());
    workload_defaults(p, cfg);
    CHECK(p->check(cfg, 1) == 0, "phase's defaults refused: %s", diag_last());
    CHECK(p->needs == NULL, "phase needs something of the allocator");
    CHECK(workload_set_sizes(workload_param(p, "after"), cfg, "fixed:0") == 0
          && p->check(cfg, 1) == -1
          && diag_is("phase: after=fixed:0 draws requests outside 1 to 4294967295 bytes"),
          "0-byte blocks accepted (%s)", diag_last());
}

/* Run workload w (parameters in cfg) in this process, as worker 0 of 1,
 * over a fresh zone; the run's result, with *k its counters.  The counts
 * and the zone are checked when the run succeeded. */
static int
test_run(const struct allocator_ops *ops, const struct workload *w, void *cfg,
    uint64_t max_ops, struct wl_counters *k)
{
    _Atomic unsigned stop = 0;
    struct zone      z;
    struct wl_ctx    c;
    uint64_t         transit;
    int              rc;

    memset(k, 0, sizeof(*k));
    if (allocator_zone_create(&z, ops, ZONE_ANON, 8u << 20, 0, NULL, NULL) != 0) {
        CHECK(0, "%s: zone: %s", ops->name, diag_last());
        return -1;
    }
    memset(&c, 0, sizeof(c));
    c.zone = &z;
    c.ops = ops;
    c.cfg = cfg;
    c.nworkers = 1;
    c.seed = 7;
    c.max_ops = max_ops;
    c.stop = &stop;
    c.cnt = k;
    c.ready = test_ready;
    c.shared = calloc(1, w->shared_size ? w->shared_size(cfg, 1) : 1);
    rc = w->run(&c);
    if (rc == 0) {
        transit = w->in_transit ? w->in_transit(cfg, c.shared, 1) : 0;
        CHECK(k->allocs - k->frees == k->held_blocks + transit, "%s on %s: allocs %llu - "
              "frees %llu != held %llu + in transit %llu", w->name, ops->name,
              (unsigned long long) k->allocs, (unsigned long long) k->frees,
              (unsigned long long) k->held_blocks, (unsigned long long) transit);
        CHECK(k->live_blocks == k->held_blocks && k->live_bytes == k->held_bytes,
              "%s on %s: counted %llu blocks of %llu bytes, the table holds %llu of %llu",
              w->name, ops->name, (unsigned long long) k->live_blocks,
              (unsigned long long) k->live_bytes, (unsigned long long) k->held_blocks,
              (unsigned long long) k->held_bytes);
        CHECK(k->granted_bytes >= k->live_bytes && k->peak_live >= k->live_bytes,
              "%s on %s: granted or peak below live", w->name, ops->name);
        CHECK(ops->check(&z, stderr) == 0, "%s on %s: check: %s", w->name, ops->name,
              diag_last());
    }
    free(c.shared);
    zone_destroy(&z);
    return rc;
}

static void
test_mstress(const struct allocator_ops *ops)
{
    const struct workload *w = workload_find("mstress");
    struct wl_counters     k;
    uint64_t               cfg[64];

    workload_defaults(w, cfg);
    CHECK(test_run(ops, w, cfg, 200000, &k) == 0, "mstress on %s: %s", ops->name,
          diag_last());
    /* the budget is looked at between steps, and a step may make 2 ops */
    CHECK(k.ops + k.fails >= 200000 && k.ops + k.fails <= 200001 && k.handed_off > 0
          && k.remote_frees == 0,
          "mstress on %s: %llu ops, %llu handed off, %llu remote frees", ops->name,
          (unsigned long long) k.ops, (unsigned long long) k.handed_off,
          (unsigned long long) k.remote_frees);
    /* huge blocks every step: most fail in 8 MiB, the run goes on */
    *workload_value(workload_param(w, "huge_in"), cfg) = 1;
    CHECK(test_run(ops, w, cfg, 2000, &k) == 0 && k.fails > 0, "mstress on %s, all huge: "
          "%llu fails (%s)", ops->name, (unsigned long long) k.fails, diag_last());
}

/* An allocator that grants one block twice: tlsf's ops, with every 50th
 * allocation answered by the previous block again. */
static const struct allocator_ops *test_base;
static unsigned                    test_allocs;
static void                       *test_last;

static void *
test_twice_alloc(struct zone *z, size_t size)
{
    if (++test_allocs % 50 == 0 && test_last != NULL) {
        return test_last;
    }
    test_last = test_base->alloc(z, size);
    return test_last;
}

static void
test_mstress_corrupt(void)
{
    const struct workload *w = workload_find("mstress");
    struct allocator_ops   twice;
    struct wl_counters     k;
    uint64_t               cfg[64];
    const char            *msg = "mstress: worker 0: block at offset ";

    test_base = allocator_find("tlsf");
    twice = *test_base;
    twice.alloc = test_twice_alloc;
    workload_defaults(w, cfg);
    *workload_value(workload_param(w, "live"), cfg) = 20;
    *workload_value(workload_param(w, "migrate"), cfg) = 0;
    CHECK(workload_set_sizes(workload_param(w, "sizes"), cfg, "fixed:64") == 0, "fixed:64");
    CHECK(test_run(&twice, w, cfg, 100000, &k) == -1, "a block granted twice went unnoticed");
    CHECK(strncmp(diag_last(), msg, strlen(msg)) == 0
          && strstr(diag_last(), "(64 bytes, allocated by worker 0) corrupt at byte ") != NULL,
          "the corruption's message: %s", diag_last());
}

/* phase with live=100, keep=10, before fixed:100, after fixed:2000: the
 * bytes held at the end. */
static uint64_t
test_phase_held(const struct allocator_ops *ops, uint64_t at, uint64_t max_ops)
{
    const struct workload *w = workload_find("phase");
    struct wl_counters     k;
    uint64_t               cfg[64];

    workload_defaults(w, cfg);
    *workload_value(workload_param(w, "live"), cfg) = 100;
    *workload_value(workload_param(w, "keep"), cfg) = 10;
    *workload_value(workload_param(w, "at"), cfg) = at;
    CHECK(test_run(ops, w, cfg, max_ops, &k) == 0, "phase on %s: %s", ops->name, diag_last());
    CHECK(k.fails == 0, "phase on %s: %llu fails in 8 MiB", ops->name,
          (unsigned long long) k.fails);
    return k.held_bytes;
}

static void
test_phase(const struct allocator_ops *ops)
{
    uint64_t after = 10 * 100 + 90 * 2000, before = 100 * 100, got;

    got = test_phase_held(ops, 50, 40000);
    CHECK(got == after, "phase on %s, at=50: %llu bytes held, want %llu", ops->name,
          (unsigned long long) got, (unsigned long long) after);
    got = test_phase_held(ops, 0, 40000);
    CHECK(got == after, "phase on %s, at=0: %llu bytes held", ops->name,
          (unsigned long long) got);
    got = test_phase_held(ops, 100, 40000);
    CHECK(got == before, "phase on %s, at=100: %llu bytes held", ops->name,
          (unsigned long long) got);
    /* by time: 100 ms, switched at 30 ms */
    test_ns = 100000000;
    got = test_phase_held(ops, 30, 0);
    test_ns = 0;
    CHECK(got == after, "phase on %s by time: %llu bytes held", ops->name,
          (unsigned long long) got);
}

int
main(void)
{
    const char *names[] = { "slab", "tlsf" };
    unsigned    i;

    test_pattern();
    test_params();
    for (i = 0; i < 2; i++) {
        test_mstress(allocator_find(names[i]));
        test_phase(allocator_find(names[i]));
    }
    test_mstress_corrupt();
    return test_summary("test_wl_stress");
}
