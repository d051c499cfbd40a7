/*
 * workload: what one worker of `shmbench run` does, behind a small table.
 *
 * A workload is a const struct workload (found by name in the registry
 * below; each one lives in its own file, workloads/wl_<name>.c).  Its
 * parameters are a table (name, default, range, help, where the value goes
 * in the workload's configuration struct), so that the command line can
 * parse `NAME:k=v,...` with its own number parsers, `run --help` and
 * `shmbench list --workloads` can print every parameter with its default,
 * and the result files can record every value with the defaults filled in,
 * all from one description.
 *
 * The life of a run, as the driver (bench/master.h) sees it:
 *
 *   master:  wl_defaults, the k=v assignments, check, prepare (once, before
 *            fork: whatever every worker shares read-only, such as a drawn
 *            sequence), shared_size bytes zeroed in a shared mapping
 *   worker:  run(ctx): set up (fill its live blocks), ctx->ready(ctx) (the
 *            barrier: returns once every worker is ready and the clock has
 *            started), then the measured loop until wl_should_stop(), then
 *            wl_recount() and return 0 (or -1 with a diag message)
 *   master:  release
 *
 * Every allocation and free goes through the ops table; every count goes
 * into the worker's own struct wl_counters, which nobody else writes, so
 * counting adds no traffic between processes.  The master reads the slots
 * while the workers run (relaxed loads: a sample may be a few ops old) and
 * merges them at the end.
 *
 * Sizes: a workload's block sizes are one `sizes=SPEC` parameter (kind
 * WL_SIZES), a distribution of workloads/sizes.h (`uniform:8:2048`,
 * `pow2:8:4096`, `etc`, ...), parsed once by sizes_parse into a struct
 * size_dist inside the configuration, so that every workload draws its
 * sizes the same way and meta.json records the canonical spec.
 *
 * Text: a WL_TEXT parameter (a path, such as trace's `file`) is kept as
 * characters in a char[WL_TEXT_MAX] array inside the configuration, not
 * as a pointer, because the configuration is what the workers inherit and
 * what meta.json records: the value travels with it whole.  A WL_CHOICE
 * parameter is one word of a short list (trace's `mode=each|split`), kept
 * as the word's index, so that a worker tests a number, the command line
 * refuses any other word, and the listing and meta.json show the word.
 */
#ifndef SHMBENCH_WORKLOAD_H
#define SHMBENCH_WORKLOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "histogram.h"
#include "sizes.h"
#include "substrate/allocator.h"
#include "substrate/clock.h"
#include "substrate/shmtx.h"

/*
 * One worker's counters, in its own cache lines of the master's shared
 * mapping.  Written by that worker only (relaxed stores), read by the
 * master.  Definitions in docs/results.md.
 */
struct wl_counters {
    uint64_t ops;            /* allocations + frees completed (docs/metrics.md) */
    uint64_t allocs;         /* allocations that succeeded */
    uint64_t frees;          /* frees done here (own blocks and handed-in ones) */
    uint64_t fails;          /* allocations that failed */
    uint64_t remote_frees;   /* frees here of blocks another worker allocated */
    uint64_t handed_off;     /* blocks given to another worker to free */
    uint64_t live_blocks;    /* blocks this worker holds now */
    uint64_t live_bytes;     /* their requested bytes */
    uint64_t granted_bytes;  /* their usable_size (the request if unknown) */
    uint64_t peak_live;      /* highest live_bytes seen */
    uint64_t fill_at_fail;   /* live_bytes when the first allocation failed */
    uint64_t first_fail_op;  /* ops + fails at the first failure; 0: none */
    uint64_t held_blocks;    /* recount at the end from the worker's own table */
    uint64_t held_bytes;     /* requested bytes of those */
    uint64_t t_end;          /* clock_ns() when the measured loop ended */
    uint64_t done;           /* 1 once the worker returned from run() */
    uint64_t poll_at;        /* attempts at which wl_should_stop next reads
                                the clock and the stop flag (not a result) */
    uint64_t extra[16];      /* the workload's own counts, named by its
                                `extra` table (struct workload) */
} __attribute__((aligned(64)));

/* The most counts of its own a workload may keep (wl_counters.extra). */
#define WL_EXTRA_MAX (sizeof(((struct wl_counters *) 0)->extra) / sizeof(uint64_t))

/* The kinds of op whose latency is recorded. */
enum wl_op {
    WL_OP_ALLOC,             /* an allocation that succeeded */
    WL_OP_FREE,              /* a free, own block or handed-in */
    WL_OPS
};

/*
 * One worker's slot in the master's shared mapping: its counters, then one
 * latency histogram per op kind (workloads/histogram.h).  The histograms
 * hold clock_ticks() differences, not nanoseconds: reading the tick counter
 * (rdtsc) costs a few ns where clock_gettime costs about 20, and the
 * conversion to nanoseconds is one scale of the whole histogram at report
 * time, never a multiply per op.  Both parts are cache-line aligned, so no
 * two workers share a line.
 */
struct wl_slot {
    struct wl_counters cnt;
    struct histogram   lat[WL_OPS];
};

/* Kinds of parameter values. */
enum wl_kind {
    WL_COUNT,                /* a decimal number */
    WL_BYTES,                /* a byte count, with the k/m/g suffixes */
    WL_PERCENT,              /* a decimal number 0..100 */
    WL_SIZES,                /* a size distribution spec (sizes.h) */
    WL_TEXT,                 /* a string of at most WL_TEXT_MAX - 1 bytes */
    WL_CHOICE                /* one word of a list */
};

/* The bytes of a WL_TEXT parameter's array, its terminating NUL included. */
#define WL_TEXT_MAX 4096

/* One parameter: `name=value` sets the uint64_t at `offset` in the
 * workload's configuration; for WL_SIZES the struct size_dist there,
 * parsed from the spec (def_spec by default; def, min and max unused);
 * for WL_TEXT the char[WL_TEXT_MAX] there (def_spec by default; NULL: no
 * default, the parameter is required, as the workload's check() says);
 * for WL_CHOICE the uint64_t there, the index of one of the words that
 * def_spec lists separated by '|' ("each|split"; def is the default's
 * index; min and max unused). */
struct wl_param {
    const char  *name;
    enum wl_kind kind;
    uint64_t     def, min, max;
    size_t       offset;
    const char  *help;
    const char  *def_spec;
};

struct wl_ctx;

/* Workload needs. */
#define WL_NEEDS_CROSS_FREE 1u   /* frees blocks another process allocated */
#define WL_NEEDS_IN_SHM     2u   /* its blocks must be in the zone */

/* Workload flags (struct workload's `flags`). */
#define WL_SHARED_INDEX     1u   /* its blocks belong to an index in the zone
                                    that every worker shares (a module's
                                    tree), not to a worker: no worker's live
                                    bytes count them, so the figures made of
                                    live bytes (internal fragmentation,
                                    overhead at peak, fill at failure) are
                                    unknown and left empty */

struct workload {
    const char            *name;
    const char            *summary;     /* one line for the listings */
    const struct wl_param *params;
    unsigned               nparams;
    size_t                 cfg_size;    /* bytes of its configuration struct */

    /* Optional: the parameter that a first value without '=' sets, so that
     * `trace:FILE` means `trace:file=FILE`; NULL: none. */
    const char            *bare;

    /* Optional: cross-parameter rules (min <= max); 0 or -1 with a diag
     * message naming the parameters. */
    int      (*check)(const void *cfg, unsigned nworkers);

    /* What the configuration needs of the allocator (WL_NEEDS_*). */
    unsigned (*needs)(const void *cfg, unsigned nworkers);

    /* Optional: bytes of shared memory the workers share (rings); 0: none. */
    size_t   (*shared_size)(const void *cfg, unsigned nworkers);

    /* Optional: set-up in the master before fork (0 or -1 with diag); what
     * it allocates is inherited by every worker and freed by release. */
    int      (*prepare)(void *cfg, uint64_t seed, unsigned nworkers);
    void     (*release)(void *cfg);

    /* Optional: blocks left in the shared area between workers (handed off,
     * not yet freed), counted by the master once no worker is left. */
    uint64_t (*in_transit)(const void *cfg, void *shared, unsigned nworkers);

    /* Required: one worker's whole part (see the top of the file). */
    int      (*run)(struct wl_ctx *c);

    /* Optional: the names of the counts of its own the workload keeps in
     * cnt->extra[0 .. nextra-1] (evictions, hits, ...), as words
     * ([a-z_]+) that counters.csv gives as they are; nextra <=
     * WL_EXTRA_MAX.  Updated with wl_add like every count. */
    const char *const     *extra;
    unsigned               nextra;

    unsigned               flags;       /* WL_SHARED_INDEX */
};

/* What a worker's run() is given. */
struct wl_ctx {
    struct zone                *zone;
    const struct allocator_ops *ops;
    const void                 *cfg;
    unsigned                    worker, nworkers;
    uint64_t                    seed;      /* the run's seed */
    uint64_t                    max_ops;   /* this worker's op budget; 0: none */
    uint64_t                    end_ns;    /* clock_ns() deadline, set by ready; 0: none */
    const _Atomic unsigned     *stop;      /* non-zero: the master asks to stop */
    struct wl_counters         *cnt;       /* this worker's slot */
    void                       *shared;    /* shared_size bytes, zeroed */
    /* The barrier: returns when every worker is ready; sets end_ns. */
    void                      (*ready)(struct wl_ctx *c);
    void                       *driver;    /* the driver's own, for ready */
    /* Latency: the slot's histograms, set by ready (NULL before it, and
     * with --latency off: the set-up is not timed); lat_below is the
     * sampler's threshold (shmtx_sampled), UINT64_MAX to time every op;
     * lat_n counts each kind's ops since ready, the sampler's index. */
    struct histogram           *lat;
    uint64_t                    lat_below;
    uint64_t                    lat_n[WL_OPS];
};

/* The start of an op of kind `op`: its tick count if this op is timed,
 * else 0 (rdtsc never reads 0 after boot). */
static inline uint64_t
wl_lat_start(struct wl_ctx *c, enum wl_op op)
{
    if (c->lat == NULL
        || (c->lat_below != UINT64_MAX && !shmtx_sampled(c->lat_n[op]++, c->lat_below)))
    {
        return 0;
    }
    return clock_ticks();
}

/* The end of a timed op (t0 from wl_lat_start; 0: not timed). */
static inline void
wl_lat_stop(struct wl_ctx *c, enum wl_op op, uint64_t t0)
{
    if (t0 != 0) {
        histogram_record(&c->lat[op], clock_ticks() - t0);
    }
}

/* Whether the measured loop ends now (wl_should_stop): the op budget is spent (ops and
 * failed allocations: every attempt), or (looked at once per 256 attempts,
 * as reading the clock costs about an op) the deadline has passed or the
 * master asks to stop.  The next look is kept as a count, not as a multiple
 * of 256, so a loop that asks between steps of several attempts, whatever
 * their number, still looks.  wl_time_is_up is the look itself. */
static inline int
wl_time_is_up(const struct wl_ctx *c)
{
    return atomic_load_explicit(c->stop, memory_order_relaxed) != 0
           || (c->end_ns != 0 && clock_ns() >= c->end_ns);
}

static inline int
wl_should_stop(const struct wl_ctx *c)
{
    uint64_t n = c->cnt->ops + c->cnt->fails;

    if (c->max_ops != 0 && n >= c->max_ops) {
        return 1;
    }
    if (n < c->cnt->poll_at) {
        return 0;
    }
    c->cnt->poll_at = n + 256;
    return wl_time_is_up(c);
}

/* wl_should_stop for a loop whose steps may count no op at all (mstress's
 * swaps through its transfer array, a dict lookup that allocates nothing):
 * those never advance the attempt count that wl_should_stop polls by, so
 * this also looks at the deadline and the stop flag once every 128 steps
 * (`step` counts the caller's steps, from 0). */
static inline int
wl_should_stop_step(const struct wl_ctx *c, uint64_t step)
{
    return wl_should_stop(c) || ((step & 127) == 127 && wl_time_is_up(c));
}

/* Add v to a counter of the worker's own slot (single writer: a plain
 * update that the master may read at any time). */
static inline void
wl_add(uint64_t *field, uint64_t v)
{
    __atomic_store_n(field, __atomic_load_n(field, __ATOMIC_RELAXED) + v,
                     __ATOMIC_RELAXED);
}

static inline void
wl_sub(uint64_t *field, uint64_t v)
{
    __atomic_store_n(field, __atomic_load_n(field, __ATOMIC_RELAXED) - v,
                     __ATOMIC_RELAXED);
}

/* Allocate `size` bytes through the ops table and count it: an op (live,
 * granted, peak) or a failure (the fill at the first one).
 * *granted gets the block's granted bytes.  NULL on failure. */
void *wl_alloc(struct wl_ctx *c, size_t size, uint64_t *granted);

/* Free a block this worker holds (requested `size`, `granted` bytes) and
 * count it; 0, or -1 with the allocator's diag message when refused. */
int wl_free(struct wl_ctx *c, void *p, uint64_t size, uint64_t granted);

/* A block this worker holds leaves it for another worker (a handoff): it
 * is no longer counted live here, and counted as handed off. */
void wl_give(struct wl_ctx *c, uint64_t size, uint64_t granted);

/* Free a block another worker handed over; counted as a remote free. */
int wl_free_remote(struct wl_ctx *c, void *p);

/* The end of the measured loop: record the time and what the worker's own
 * table says it holds (blocks, bytes), independently of the counters. */
void wl_recount(struct wl_ctx *c, uint64_t blocks, uint64_t bytes);

/*
 * A worker's table of the blocks it holds, slot by slot: pointer,
 * requested size, granted bytes.  Per-process memory (made in the worker,
 * after fork), never in the zone.  Slots [0, n) are in use; a NULL
 * pointer is a failed allocation.
 */
struct wl_blocks {
    void     **p;
    uint32_t  *size;
    uint64_t  *granted;
    uint64_t   n, cap;
};

/* An empty table of cap slots for workload `who`; 0, or -1 with a diag
 * message (out of memory). */
int wl_blocks_make(struct wl_ctx *c, struct wl_blocks *b, uint64_t cap, const char *who);

/* The end of the measured loop with the table: wl_recount of what slots
 * [0, n) hold, then the table released. */
void wl_blocks_done(struct wl_ctx *c, struct wl_blocks *b);

/* ---- the registry ---- */

/* Every workload, in listing order; *n gets the count. */
const struct workload *const *workload_all(size_t *n);

/* Find by name; NULL (and a diag message listing the names) if unknown. */
const struct workload *workload_find(const char *name);

/* The parameter called `name`, or NULL. */
const struct wl_param *workload_param(const struct workload *w, const char *name);

/* Fill cfg (cfg_size bytes) with every parameter's default. */
void workload_defaults(const struct workload *w, void *cfg);

/* The value of parameter p (a number or a WL_CHOICE) in cfg. */
uint64_t *workload_value(const struct wl_param *p, void *cfg);
uint64_t  workload_get(const struct wl_param *p, const void *cfg);

/* The distribution of a WL_SIZES parameter p in cfg. */
struct size_dist       *workload_dist(const struct wl_param *p, void *cfg);
const struct size_dist *workload_dist_get(const struct wl_param *p, const void *cfg);

/* Set parameter p in cfg from its text, for a WL_SIZES parameter: 0, or -1
 * with sizes_parse's diag message (cfg untouched).  The numeric kinds are
 * the command line's to parse (its own number grammar). */
int workload_set_sizes(const struct wl_param *p, void *cfg, const char *text);

/* The string of a WL_TEXT parameter p in cfg ("" if not given). */
const char *workload_text(const struct wl_param *p, const void *cfg);

/* Whether values of kind k are text that workload_set_text parses (a size
 * distribution, a string, a word), not numbers: what the command line
 * hands over as it is, and what meta.json writes as a JSON string. */
int workload_kind_is_text(enum wl_kind k);

/* Set parameter p (workload_kind_is_text) in cfg from its text: 0, or -1
 * with a diag message (cfg untouched): sizes_parse's, a string longer than
 * WL_TEXT_MAX - 1 bytes or empty, a word not in the list (naming them). */
int workload_set_text(const struct wl_param *p, void *cfg, const char *text);

/* For a workload's check(): 0 if the WL_TEXT parameter `name` of workload
 * w has a value in cfg, else -1 with a diag message saying how to give
 * it (as `W:VALUE` where it is w's bare parameter). */
int workload_check_given(const struct workload *w, const char *name, const void *cfg);

/* Parameter p's value in cfg as text ("1000", "uniform:8:2048", a path,
 * a word), its default if cfg is NULL ("" for a text without one), into
 * buf of n bytes (WL_TEXT_MAX holds any); returns buf. */
char *workload_format(const struct wl_param *p, const void *cfg, char *buf, size_t n);

/* The listing line of parameter p (`list --workloads`, `run --help`):
 * its name and default, its kind and range, its help. */
void workload_print_param(FILE *out, const struct wl_param *p);

/* For a workload's check(): 0 if every size d draws fits a request of
 * 1 to UINT32_MAX bytes (the unbounded tails of etc and twitter aside:
 * their draws are cut at UINT32_MAX), else -1 with a diag message naming the workload `wl`
 * and its parameter `name`. */
int workload_check_sizes(const char *wl, const char *name, const struct size_dist *d);

/* A parameter's kind as a word ("count", "bytes", "percent", "text"). */
const char *workload_kind_name(enum wl_kind k);

/* The seed of worker w's own generator, from the run's seed: every worker
 * gets a distinct stream, the same one for the same seed. */
uint64_t workload_worker_seed(uint64_t seed, unsigned w);

#endif
