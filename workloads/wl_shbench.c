/*
 * shbench: the mix of MicroQuill's SmartHeap benchmark sh6bench, as Ralloc
 * (ISMM 2020) and CXL-SHM (SOSP 2023) run it, with the threads turned into
 * processes over one zone.  Nothing crosses between workers.
 *
 * The sizes are sh6bench's schedule, not a random draw: a base size starts
 * at `min` and grows as base = base * 3 / 2 + 1 while it is at most `max`
 * (then starts again at `min`); for each base, the sizes base, base / 2,
 * base / 4, ... down to `min` are requested, each repeated 250 times if it
 * is below 100 bytes, 50 times below 1000, 10 times below 10000 and once
 * above: small blocks far more often than large ones.  With the defaults
 * (1 to 1000 bytes) 97% of the requests are below 100 bytes.
 *
 * The blocks go, in order, into a buffer of `calls` slots per worker (the
 * benchmark's call count).  When it is full, the batch is freed in two
 * ways: its first half in reverse order (the newest of that half first),
 * then its second half in allocation order (the oldest of that half
 * first); then the buffer fills again, the schedule going on where it
 * stopped.  sh6bench also keeps part of a batch across refills; that part
 * is not reproduced: every batch is freed whole, so the live set of a
 * worker varies between 0 and `calls` blocks.
 */
#include <stdlib.h>

#include "substrate/diag.h"
#include "workload.h"

struct shbench_cfg {
    uint64_t calls, min, max;
};

static const struct wl_param shbench_params[] = {
    { "calls", WL_COUNT, 1000, 2, 1u << 24, offsetof(struct shbench_cfg, calls),
      "blocks allocated per batch, then freed (the benchmark's call count)", NULL },
    { "min", WL_BYTES, 1, 1, 1u << 30, offsetof(struct shbench_cfg, min),
      "smallest request", NULL },
    { "max", WL_BYTES, 1000, 1, 1u << 30, offsetof(struct shbench_cfg, max),
      "largest request", NULL },
};

static int
shbench_check(const void *cfg, unsigned nworkers)
{
    const struct shbench_cfg *c = cfg;

    (void) nworkers;
    if (c->min > c->max) {
        diag_set("shbench: min=%llu is above max=%llu", (unsigned long long) c->min,
                 (unsigned long long) c->max);
        return -1;
    }
    return 0;
}

/* Where the size schedule is. */
struct shbench_sched {
    uint64_t base, size, repeat;
};

/* How often sh6bench requests a size in a row. */
static uint64_t
shbench_repeat(uint64_t size)
{
    uint64_t n = 1;

    if (size < 10000) {
        n = 10;
    }
    if (size < 1000) {
        n *= 5;
    }
    if (size < 100) {
        n *= 5;
    }
    return n;
}

/* The next size of the schedule. */
static uint64_t
shbench_next(const struct shbench_cfg *cf, struct shbench_sched *s)
{
    if (s->repeat == 0) {
        s->size /= 2;
        if (s->size < cf->min) {
            s->base = s->base * 3 / 2 + 1;
            if (s->base > cf->max) {
                s->base = cf->min;
            }
            s->size = s->base;
        }
        s->repeat = shbench_repeat(s->size);
    }
    s->repeat--;
    return s->size;
}

/* One worker's batch. */
static int
shbench_free1(struct wl_ctx *c, struct wl_blocks *t, uint64_t i)
{
    if (t->p[i] != NULL && wl_free(c, t->p[i], t->size[i], t->granted[i]) != 0) {
        diag_set("shbench: worker %u: free of a block of %u bytes refused: %s", c->worker,
                 t->size[i], diag_last());
        return -1;
    }
    t->p[i] = NULL;
    return 0;
}

/* Free the full batch: the first half newest first, the second half
 * oldest first; 1 if the run must stop, -1 if a free is refused. */
static int
shbench_free(struct wl_ctx *c, struct wl_blocks *t)
{
    uint64_t half = t->n / 2, i;

    for (i = half; i-- > 0;) {
        if (wl_should_stop(c)) {
            return 1;
        }
        if (shbench_free1(c, t, i) != 0) {
            return -1;
        }
    }
    for (i = half; i < t->n; i++) {
        if (wl_should_stop(c)) {
            return 1;
        }
        if (shbench_free1(c, t, i) != 0) {
            return -1;
        }
    }
    t->n = 0;
    return 0;
}

static int
shbench_loop(struct wl_ctx *c, struct wl_blocks *t)
{
    const struct shbench_cfg *cf = c->cfg;
    struct shbench_sched      s = { cf->min, cf->min, shbench_repeat(cf->min) };
    int                       rc;

    for (;;) {
        while (t->n < cf->calls) {
            if (wl_should_stop(c)) {
                return 0;
            }
            t->size[t->n] = (uint32_t) shbench_next(cf, &s);
            t->p[t->n] = wl_alloc(c, t->size[t->n], &t->granted[t->n]);
            t->n++;
        }
        rc = shbench_free(c, t);
        if (rc != 0) {
            return rc > 0 ? 0 : -1;
        }
    }
}

static int
shbench_run(struct wl_ctx *c)
{
    const struct shbench_cfg *cf = c->cfg;
    struct wl_blocks          t;
    int                       rc;

    if (wl_blocks_make(c, &t, cf->calls, "shbench") != 0) {
        return -1;
    }
    c->ready(c);
    rc = shbench_loop(c, &t);
    wl_blocks_done(c, &t);
    return rc;
}

const struct workload wl_shbench = {
    .name = "shbench",
    .summary = "sh6bench's mix (as Ralloc, CXL-SHM): batches of `calls` blocks of "
               "min..max bytes, small ones far more often, freed half reversed, half in order",
    .params = shbench_params,
    .nparams = sizeof(shbench_params) / sizeof(shbench_params[0]),
    .cfg_size = sizeof(struct shbench_cfg),
    .check = shbench_check,
    .run = shbench_run,
};
