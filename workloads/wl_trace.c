/*
 * trace: a recorded allocation trace (docs/formats.md) replayed by the
 * workers of `shmbench run`, so that a real program's sequence of requests
 * is measured with every counter, latency histogram and zone figure of the
 * driver, on one zone shared by several processes.
 *
 * The trace is read once, in the master, by prepare() (workloads/trace.h:
 * a compact op array with every ID mapped to a dense slot, checked as it is
 * read), before anything forks, so the workers inherit the parsed array
 * copy-on-write and share its pages, and a malformed trace stops the run
 * with the parser's "FILE:LINE: what" before a zone is made.  `pages N` and
 * `pagesize P` lines are ignored: the run's --zone-size and --page-size
 * make the zone, as for every workload.
 *
 * mode=each: every worker replays the whole trace, as if each were its own
 * copy of the program.  mode=split: worker w replays only the blocks whose
 * dense slot % workers == w, both the `a` and the `f` of each, in trace
 * order, so that the workers together replay the trace once per pass and
 * a block is always freed by the worker that allocated it.  Either way no
 * block crosses between processes, so the workload needs nothing of the
 * allocator (no needs()): it runs on private heaps too.
 *
 * Each worker keeps its own table of block pointers indexed by dense slot,
 * in its own memory (malloc'ed after fork, never in the zone).  It replays
 * its ops in order through wl_alloc and wl_free; an allocation that fails
 * counts as a fail and its `f` is skipped, as `replay` does.  A pass ends
 * after the worker's last op, with whatever the trace left live still
 * allocated; the next pass begins by freeing those blocks (frees, counted
 * as ops), in slot order, so that every pass starts from an empty table.
 * The run ends after `passes` passes (0: none set), at the op budget or the
 * time, whichever comes first, with the stop looked for between any two
 * ops; blocks live then stay allocated and are recounted from the table.
 * So passes=1 is exactly one replay, leaving the zone as `replay` would.
 *
 * Its own counts (counters.csv): the passes each worker finished, its
 * share of the trace (ops per pass) and how far into the next pass it got.
 */
#include <stdio.h>
#include <stdlib.h>

#include "substrate/diag.h"
#include "trace.h"
#include "workload.h"

/* Its counts, in the order of trace_wl_extra. */
enum { TRACE_WL_PASSES, TRACE_WL_SHARE, TRACE_WL_NEXT };

/* mode=: the index of the word in the parameter's list. */
enum trace_wl_mode {
    TRACE_WL_EACH,
    TRACE_WL_SPLIT
};

struct trace_wl_cfg {
    char         file[WL_TEXT_MAX];
    uint64_t     mode;              /* enum trace_wl_mode */
    uint64_t     passes;
    struct trace t;                 /* read by prepare */
};

/*
 * mode is a WL_CHOICE rather than a WL_TEXT checked by check(): the command
 * line refuses a wrong word with the list of right ones for every workload
 * alike, `list --workloads` shows the words, and the worker tests an index,
 * not a string.
 */
static const struct wl_param trace_wl_params[] = {
    { "file", WL_TEXT, 0, 0, 0, offsetof(struct trace_wl_cfg, file),
      "the trace to replay (`trace:FILE` for short; `-`: standard input)", NULL },
    { "mode", WL_CHOICE, TRACE_WL_EACH, 0, 0, offsetof(struct trace_wl_cfg, mode),
      "each: every worker replays the whole trace; split: worker w replays the IDs "
      "whose slot % workers is w", "each|split" },
    { "passes", WL_COUNT, 0, 0, 1u << 30, offsetof(struct trace_wl_cfg, passes),
      "replays of the trace per worker; 0: until --seconds or --ops", NULL },
};

extern const struct workload wl_trace;

static int
trace_wl_check(const void *cfg, unsigned nworkers)
{
    (void) nworkers;
    return workload_check_given(&wl_trace, "file", cfg);
}

static int
trace_wl_prepare(void *cfg, uint64_t seed, unsigned nworkers)
{
    struct trace_wl_cfg *c = cfg;

    (void) seed;
    (void) nworkers;
    if (trace_load(&c->t, c->file) != 0) {
        return -1;                  /* "FILE:LINE: what" */
    }
    if (c->t.nallocs == 0) {
        /* A replay of no allocation is no op: the loop would never reach
         * the points where it looks at the clock. */
        diag_set("%s: no allocation to replay", c->file);
        trace_free(&c->t);
        return -1;
    }
    return 0;
}

static void
trace_wl_release(void *cfg)
{
    trace_free(&((struct trace_wl_cfg *) cfg)->t);
}

/* One slot's block in a worker's table. */
struct trace_wl_block {
    void     *p;                    /* NULL: not live (or its allocation failed) */
    uint64_t  size, granted;
};

/* One worker's part: its ops (all of them, or the indices of its share),
 * its table, where it is. */
struct trace_wl_worker {
    const struct trace    *t;
    size_t                *mine;    /* split: indices into t->ops; NULL: all */
    size_t                 n;       /* its ops */
    size_t                 next;    /* the next op of the pass */
    struct trace_wl_block *tab;     /* t->nslots entries */
    uint64_t               passes;  /* passes finished */
};

static uint32_t
trace_wl_slot(const struct trace_op *op)
{
    return op->slot & TRACE_SLOT_MAX;
}

/* The worker's share and table, before the barrier; -1 with diag. */
static int
trace_wl_setup(struct wl_ctx *c, struct trace_wl_worker *me)
{
    const struct trace_wl_cfg *cf = c->cfg;
    const struct trace        *t = &cf->t;
    size_t                     i, k = 0;

    me->t = t;
    me->n = t->nops;
    me->tab = calloc(t->nslots ? t->nslots : 1, sizeof(*me->tab));
    if (me->tab != NULL && cf->mode == TRACE_WL_SPLIT) {
        for (i = 0, me->n = 0; i < t->nops; i++) {
            me->n += trace_wl_slot(&t->ops[i]) % c->nworkers == c->worker;
        }
        me->mine = malloc((me->n ? me->n : 1) * sizeof(*me->mine));
        for (i = 0; me->mine != NULL && i < t->nops; i++) {
            if (trace_wl_slot(&t->ops[i]) % c->nworkers == c->worker) {
                me->mine[k++] = i;
            }
        }
    }
    if (me->tab == NULL || (cf->mode == TRACE_WL_SPLIT && me->mine == NULL)) {
        diag_set("trace: worker %u: out of memory for a table of %zu slots", c->worker,
                 t->nslots);
        return -1;
    }
    return 0;
}

/* The diag message of a free the allocator refused, the allocator's own
 * reason after the block's: the `f` at `line` of the trace, or (line 0)
 * a block the last pass left live.  The reason is copied out first, as
 * diag_set writes the buffer that diag_last reads. */
static void
trace_wl_refused(struct wl_ctx *c, const struct trace_wl_worker *me, size_t slot,
    uint32_t line)
{
    char why[512];

    snprintf(why, sizeof(why), "%s", diag_last());
    if (line != 0) {
        diag_set("trace: worker %u: %s:%u: free of ID %llu refused: %s", c->worker,
                 me->t->path, line, (unsigned long long) me->t->ids[slot], why);
    } else {
        diag_set("trace: worker %u: free of ID %llu (left live by the last pass) "
                 "refused: %s", c->worker, (unsigned long long) me->t->ids[slot], why);
    }
}

/* Op `op`; -1 with diag if the allocator refuses a free. */
static int
trace_wl_op(struct wl_ctx *c, struct trace_wl_worker *me, const struct trace_op *op)
{
    uint32_t               slot = trace_wl_slot(op);
    struct trace_wl_block *b = &me->tab[slot];

    if (!(op->slot & TRACE_OP_FREE)) {
        b->size = op->size;
        b->p = wl_alloc(c, (size_t) op->size, &b->granted);
        return 0;
    }
    if (b->p == NULL) {
        return 0;                   /* its allocation failed: nothing to free */
    }
    if (wl_free(c, b->p, b->size, b->granted) != 0) {
        trace_wl_refused(c, me, slot, op->line);
        return -1;
    }
    b->p = NULL;
    return 0;
}

/* Free what the last pass left live; 1 if the run must stop first, -1 if
 * a free is refused. */
static int
trace_wl_clear(struct wl_ctx *c, struct trace_wl_worker *me)
{
    struct trace_wl_block *b;
    size_t                 s;

    for (s = 0; s < me->t->nslots; s++) {
        b = &me->tab[s];
        if (b->p == NULL) {
            continue;
        }
        if (wl_should_stop(c)) {
            return 1;
        }
        if (wl_free(c, b->p, b->size, b->granted) != 0) {
            trace_wl_refused(c, me, s, 0);
            return -1;
        }
        b->p = NULL;
    }
    return 0;
}

/* The measured loop: passes over the worker's ops until it must stop. */
static int
trace_wl_loop(struct wl_ctx *c, struct trace_wl_worker *me)
{
    const struct trace_wl_cfg *cf = c->cfg;
    const struct trace_op     *ops = me->t->ops;
    int                        rc;

    if (me->n == 0) {
        return 0;                   /* split: no ID of the trace falls to it */
    }
    for (;;) {
        for (; me->next < me->n; me->next++) {
            if (wl_should_stop(c)) {
                return 0;
            }
            if (trace_wl_op(c, me, me->mine ? &ops[me->mine[me->next]] : &ops[me->next])
                != 0)
            {
                return -1;
            }
        }
        me->passes++;
        if (cf->passes != 0 && me->passes >= cf->passes) {
            return 0;
        }
        rc = trace_wl_clear(c, me);
        if (rc != 0) {
            return rc > 0 ? 0 : -1;
        }
        me->next = 0;
    }
}

static int
trace_wl_run(struct wl_ctx *c)
{
    struct trace_wl_worker     me = { 0 };
    uint64_t                   blocks = 0, bytes = 0;
    size_t                     s;
    int                        rc;

    if (trace_wl_setup(c, &me) != 0) {
        free(me.tab);
        free(me.mine);
        return -1;
    }
    c->ready(c);
    rc = trace_wl_loop(c, &me);
    for (s = 0; s < me.t->nslots; s++) {
        blocks += me.tab[s].p != NULL;
        bytes += me.tab[s].p != NULL ? me.tab[s].size : 0;
    }
    wl_recount(c, blocks, bytes);
    wl_add(&c->cnt->extra[TRACE_WL_PASSES], me.passes);
    wl_add(&c->cnt->extra[TRACE_WL_SHARE], me.n);
    wl_add(&c->cnt->extra[TRACE_WL_NEXT], me.next < me.n ? me.next : 0);
    free(me.tab);
    free(me.mine);
    return rc;
}

static const char *const trace_wl_extra[] = { "passes", "share_ops", "next_ops" };

const struct workload wl_trace = {
    .name = "trace",
    .summary = "replay a trace file (trace:FILE) in every worker, or split its IDs over "
               "the workers (mode=split)",
    .params = trace_wl_params,
    .nparams = sizeof(trace_wl_params) / sizeof(trace_wl_params[0]),
    .cfg_size = sizeof(struct trace_wl_cfg),
    .bare = "file",
    .check = trace_wl_check,
    .prepare = trace_wl_prepare,
    .release = trace_wl_release,
    .run = trace_wl_run,
    .extra = trace_wl_extra,
    .nextra = sizeof(trace_wl_extra) / sizeof(trace_wl_extra[0]),
};
