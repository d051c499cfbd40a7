/*
 * threadtest: Hoard's threadtest as Ralloc (ISMM 2020) and CXL-SHM (SOSP
 * 2023) report it, with the threads turned into processes over one zone.
 *
 * Each worker, in each iteration, allocates its share of `objects` blocks
 * (objects / workers, at least one) into a private table, then frees them
 * all in allocation order; it does `iterations` iterations (0: as many as
 * --seconds or --ops allow).  Nothing crosses between workers: it measures
 * how an allocator serves bursts of same-sized requests from several
 * processes at once.  Hoard's `work` spin between operations is left out
 * (those papers run it with none).
 *
 * Defaults: objects=100000 and sizes=fixed:64, the setup of those papers
 * as their text gives it (100,000 objects of 64 bytes split over the
 * threads); iterations=0 lets the driver's clock end the run, where the
 * papers time a fixed number of iterations (set iterations=N for that).
 */
#include <stdlib.h>

#include "prng.h"
#include "substrate/diag.h"
#include "workload.h"

struct threadtest_cfg {
    uint64_t         objects, iterations;
    struct size_dist sizes;
};

static const struct wl_param threadtest_params[] = {
    { "objects", WL_COUNT, 100000, 1, 1u << 26, offsetof(struct threadtest_cfg, objects),
      "objects allocated then freed per iteration, split over the workers", NULL },
    { "iterations", WL_COUNT, 0, 0, 1u << 30, offsetof(struct threadtest_cfg, iterations),
      "iterations per worker; 0: until --seconds or --ops", NULL },
    { "sizes", WL_SIZES, 0, 0, 0, offsetof(struct threadtest_cfg, sizes),
      "request sizes (the papers' 64-byte objects)", "fixed:64" },
};

static int
threadtest_check(const void *cfg, unsigned nworkers)
{
    const struct threadtest_cfg *c = cfg;

    (void) nworkers;
    return workload_check_sizes("threadtest", "sizes", &c->sizes);
}

/* One worker's blocks of the current iteration. */
/* Allocate the iteration's blocks; 1 if the run must stop. */
static int
threadtest_alloc(struct wl_ctx *c, struct wl_blocks *t, uint64_t want, uint64_t *rng)
{
    const struct threadtest_cfg *cf = c->cfg;

    while (t->n < want) {
        if (wl_should_stop(c)) {
            return 1;
        }
        t->size[t->n] = (uint32_t) sizes_draw(&cf->sizes, rng);
        t->p[t->n] = wl_alloc(c, t->size[t->n], &t->granted[t->n]);
        t->n++;
    }
    return 0;
}

/* Free them in allocation order; 1 if the run must stop, -1 if refused. */
static int
threadtest_free(struct wl_ctx *c, struct wl_blocks *t)
{
    uint64_t i;

    for (i = 0; i < t->n; i++) {
        if (t->p[i] == NULL) {
            continue;
        }
        if (wl_should_stop(c)) {
            return 1;
        }
        if (wl_free(c, t->p[i], t->size[i], t->granted[i]) != 0) {
            diag_set("threadtest: worker %u: free of a block of %u bytes refused: %s",
                     c->worker, t->size[i], diag_last());
            return -1;
        }
        t->p[i] = NULL;
    }
    t->n = 0;
    return 0;
}

static int
threadtest_loop(struct wl_ctx *c, struct wl_blocks *t, uint64_t want)
{
    const struct threadtest_cfg *cf = c->cfg;
    uint64_t                     rng = workload_worker_seed(c->seed, c->worker), it;
    int                          rc;

    for (it = 0; cf->iterations == 0 || it < cf->iterations; it++) {
        if (threadtest_alloc(c, t, want, &rng) != 0) {
            return 0;
        }
        rc = threadtest_free(c, t);
        if (rc != 0) {
            return rc > 0 ? 0 : -1;
        }
    }
    return 0;
}

static int
threadtest_run(struct wl_ctx *c)
{
    const struct threadtest_cfg *cf = c->cfg;
    uint64_t                     want = cf->objects / c->nworkers;
    struct wl_blocks             t;
    int                          rc;

    want = want ? want : 1;
    if (wl_blocks_make(c, &t, want, "threadtest") != 0) {
        return -1;
    }
    c->ready(c);
    rc = threadtest_loop(c, &t, want);
    wl_blocks_done(c, &t);
    return rc;
}

const struct workload wl_threadtest = {
    .name = "threadtest",
    .summary = "Hoard's threadtest (as Ralloc, CXL-SHM): each worker allocates its share "
               "of `objects` blocks, then frees them all, per iteration",
    .params = threadtest_params,
    .nparams = sizeof(threadtest_params) / sizeof(threadtest_params[0]),
    .cfg_size = sizeof(struct threadtest_cfg),
    .check = threadtest_check,
    .run = threadtest_run,
};
