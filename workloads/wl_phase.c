/*
 * phase: a churn whose size mix switches mid-run, the workload that shows
 * calcification: memory an allocator gave to one size class (a slab page
 * cut into 128-byte slots, a memcached slab class) stays that class's when
 * the application's sizes change, so the zone fills up or fails although
 * the live bytes would fit.
 *
 * Each worker keeps `live` blocks, drawn from `before` (fixed:100 by
 * default) and allocated before the barrier.  Each step frees one of them,
 * picked at random, and allocates a new one in its place, as churn does.
 * When `at` percent of the run has passed, of the op budget with --ops
 * (attempts: ops and failed allocations), else of the time with --seconds,
 * the new blocks are drawn from `after` (fixed:2000) instead, and `keep`
 * percent of the slots (5%) stop being churned: the before-blocks they hold
 * stay live to the end, as an application's long-lived objects outlive a
 * change of its traffic.  Those scattered survivors pin the pages of the
 * small size class; what an allocator does with the rest of those pages is
 * the calcification measured.  A run stopped only by the master (neither
 * --ops nor --seconds) never switches.
 *
 * What to look at (docs/workloads-stress.md): the timeseries' footprint
 * and fails after the switch against before it, and the workers' fails,
 * live and granted bytes at the end.  A failed allocation leaves its slot
 * empty, to be tried again when the slot is next picked.
 */
#include <stdlib.h>

#include "prng.h"
#include "substrate/diag.h"
#include "wl_stress_common.h"
#include "workload.h"

struct phase_cfg {
    uint64_t         live, at, keep;
    struct size_dist before, after;
};

static const struct wl_param phase_params[] = {
    { "live", WL_COUNT, 1000, 1, 1u << 24, offsetof(struct phase_cfg, live),
      "blocks each worker keeps live", NULL },
    { "before", WL_SIZES, 0, 0, 0, offsetof(struct phase_cfg, before),
      "request sizes before the switch", "fixed:100" },
    { "after", WL_SIZES, 0, 0, 0, offsetof(struct phase_cfg, after),
      "request sizes after the switch", "fixed:2000" },
    { "at", WL_PERCENT, 50, 0, 100, offsetof(struct phase_cfg, at),
      "the switch, in percent of the op budget (--ops) or of the time (--seconds)", NULL },
    { "keep", WL_PERCENT, 5, 0, 99, offsetof(struct phase_cfg, keep),
      "percent of the slots whose before-blocks stay live after the switch", NULL },
};

static int
phase_check(const void *cfg, unsigned nworkers)
{
    const struct phase_cfg *c = cfg;

    (void) nworkers;
    if (workload_check_sizes("phase", "before", &c->before) != 0
        || workload_check_sizes("phase", "after", &c->after) != 0)
    {
        return -1;
    }
    return 0;
}

/* One worker's blocks. */
struct phase_slot {
    void     *p;
    uint64_t  size, granted;
};

/* Whether the switch is due at step `step`: at% of the op budget, or
 * (the clock read every 128 steps, as reading it costs about an op) of
 * the time. */
static int
phase_due(const struct wl_ctx *c, uint64_t step, uint64_t switch_op, uint64_t switch_ns)
{
    if (c->max_ops != 0) {
        return c->cnt->ops + c->cnt->fails >= switch_op;
    }
    return switch_ns != 0 && (step & 127) == 0 && clock_ns() >= switch_ns;
}

static int
phase_loop(struct wl_ctx *c, struct phase_slot *s)
{
    const struct phase_cfg *cf = c->cfg;
    const struct size_dist *d = &cf->before;
    uint64_t                rng = workload_worker_seed(c->seed, c->worker) ^ 1;
    uint64_t                first = 0, k, step = 0, t0 = clock_ns();
    uint64_t                switch_op, switch_ns;

    /* at% of the budget, without overflow for any budget */
    switch_op = c->max_ops / 100 * cf->at + c->max_ops % 100 * cf->at / 100;
    switch_ns = c->end_ns > t0 ? t0 + (c->end_ns - t0) / 100 * cf->at : 0;
    while (!wl_should_stop_step(c, step)) {
        if (d == &cf->before && phase_due(c, step, switch_op, switch_ns)) {
            d = &cf->after;
            first = cf->live * cf->keep / 100;
        }
        k = first + prng_below(&rng, cf->live - first);
        if (s[k].p != NULL && wl_free(c, s[k].p, s[k].size, s[k].granted) != 0) {
            diag_set("phase: worker %u: free of its block of %llu bytes refused: %s",
                     c->worker, (unsigned long long) s[k].size, diag_last());
            return -1;
        }
        s[k].size = sizes_draw(d, &rng);
        s[k].p = wl_alloc(c, s[k].size, &s[k].granted);
        step++;
    }
    return 0;
}

static int
phase_run(struct wl_ctx *c)
{
    const struct phase_cfg *cf = c->cfg;
    struct phase_slot      *s = calloc(cf->live, sizeof(*s));
    uint64_t                i, rng = workload_worker_seed(c->seed, c->worker);
    uint64_t                blocks = 0, bytes = 0;
    int                     rc;

    if (s == NULL) {
        diag_set("phase: worker %u: out of memory for %llu slots", c->worker,
                 (unsigned long long) cf->live);
        return -1;
    }
    for (i = 0; i < cf->live; i++) {
        s[i].size = sizes_draw(&cf->before, &rng);
        s[i].p = wl_alloc(c, s[i].size, &s[i].granted);
    }
    c->ready(c);
    rc = phase_loop(c, s);
    for (i = 0; i < cf->live; i++) {
        blocks += s[i].p != NULL;
        bytes += s[i].p != NULL ? s[i].size : 0;
    }
    wl_recount(c, blocks, bytes);
    free(s);
    return rc;
}

const struct workload wl_phase = {
    .name = "phase",
    .summary = "a churn of `live` blocks whose sizes switch from `before` to `after` at "
               "at% of the run, keep% of the old blocks kept: calcification",
    .params = phase_params,
    .nparams = sizeof(phase_params) / sizeof(phase_params[0]),
    .cfg_size = sizeof(struct phase_cfg),
    .check = phase_check,
    .run = phase_run,
};
