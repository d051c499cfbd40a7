/*
 * fill: allocate until the first failure, and report how full the zone was
 * then (fill at first failure, docs/metrics.md).
 *
 * Each worker allocates blocks of sizes drawn from `sizes=SPEC`
 * (workloads/sizes.h; uniform:16:4096 by default) and frees nothing;
 * it stops at its own first failed allocation (or at the run's op or time
 * limit), so that with several workers the zone is filled by all of them
 * and every worker records the live bytes it held when it was first
 * refused.  The master relates the merged live bytes to the zone's data
 * bytes.  Only allocators whose blocks live in the zone are filled: on a
 * private heap the first failure would be the machine's.
 */
#include <stdlib.h>

#include "prng.h"
#include "substrate/diag.h"
#include "workload.h"

struct fill_cfg {
    struct size_dist sizes;
};

static const struct wl_param fill_params[] = {
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct fill_cfg, sizes), "request sizes",
      "uniform:16:4096" },
};

static int
fill_check(const void *cfg, unsigned nworkers)
{
    const struct fill_cfg *c = cfg;

    (void) nworkers;
    return workload_check_sizes("fill", "sizes", &c->sizes);
}

static unsigned
fill_needs(const void *cfg, unsigned nworkers)
{
    (void) cfg;
    (void) nworkers;
    return WL_NEEDS_IN_SHM;
}

/* The worker's table of blocks, grown by doubling. */
struct fill_table {
    void     **p;
    uint32_t  *size;
    size_t     n, cap;
};

static int
fill_push(struct fill_table *t, void *p, uint32_t size)
{
    size_t    cap = t->cap ? 2 * t->cap : 4096;
    void    **np;
    uint32_t *ns;

    if (t->n == t->cap) {
        np = realloc(t->p, cap * sizeof(*np));
        if (np == NULL) {
            return -1;
        }
        t->p = np;
        ns = realloc(t->size, cap * sizeof(*ns));
        if (ns == NULL) {
            return -1;
        }
        t->size = ns;
        t->cap = cap;
    }
    t->p[t->n] = p;
    t->size[t->n++] = size;
    return 0;
}

static int
fill_run(struct wl_ctx *c)
{
    const struct fill_cfg *cf = c->cfg;
    struct fill_table      t = { 0 };
    uint64_t               rng = workload_worker_seed(c->seed, c->worker);
    uint64_t               granted, bytes = 0, i, v;
    uint32_t               size;
    void                  *p;
    int                    rc = 0;

    c->ready(c);
    while (!wl_should_stop(c)) {
        v = sizes_draw(&cf->sizes, &rng);    /* uniform: min + prng_below(span) */
        size = v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
        p = wl_alloc(c, size, &granted);
        if (p == NULL) {
            break;
        }
        if (fill_push(&t, p, size) != 0) {
            diag_set("fill: worker %u: out of memory for a table of %zu blocks",
                     c->worker, t.n);
            rc = -1;
            break;
        }
    }
    for (i = 0; i < t.n; i++) {
        bytes += t.size[i];
    }
    wl_recount(c, t.n, bytes);
    free(t.p);
    free(t.size);
    return rc;
}

const struct workload wl_fill = {
    .name = "fill",
    .summary = "allocate until the first failure; reports the fill at first failure",
    .params = fill_params,
    .nparams = sizeof(fill_params) / sizeof(fill_params[0]),
    .cfg_size = sizeof(struct fill_cfg),
    .check = fill_check,
    .needs = fill_needs,
    .run = fill_run,
};
