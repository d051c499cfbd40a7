/*
 * lfslab_internal: what lfslab's files share beside the data structure
 * (lfslab_types.h): the calling process's context, counters, test hooks,
 * and the calls one file makes into another.
 *
 *   lfslab.c        the lock-free paths: small allocation, free, partial
 *                   stacks (docs/lfslab.md §5, §7)
 *   lfslab_pages.c  everything under page_lock: page runs, new small
 *                   pages, large requests, scavenging, giving reserves
 *                   back (docs/lfslab.md §6)
 *   lfslab_check.c  check (docs/lfslab.md §12)
 *   lfslab_ops.c    layout, set-up, statistics, the ops table
 */
#ifndef SHMBENCH_LFSLAB_INTERNAL_H
#define SHMBENCH_LFSLAB_INTERNAL_H

#include <stdio.h>

#include "substrate/allocator.h"
#include "subject/lfslab_types.h"

/* Test hooks (lfslab.h): LF_HOOK(point, page) calls lfslab_test_hook in
 * builds with -DLFSLAB_TEST_HOOKS, and is nothing otherwise. */
#ifdef LFSLAB_TEST_HOOKS
#define LF_HOOK(pt, pg)                                                       \
    do {                                                                      \
        if (lfslab_test_hook) {                                               \
            lfslab_test_hook(pt, pg);                                         \
        }                                                                     \
    } while (0)
#else
#define LF_HOOK(pt, pg) ((void) 0)
#endif

/* The worker index: proc_index(), or in the thread-mode build the
 * thread's own (lfslab.h). */
#ifdef LFSLAB_THREAD_INDEX
#define LF_INDEX() (lfslab_thread_index >= 0 ? lfslab_thread_index : proc_index())
#else
#define LF_INDEX() proc_index()
#endif

/* ---------------------------------------------------------------------- */
/* The calling process                                                     */

struct lf_ctx {
    struct lfslab_hdr  *h;
    struct lfslab_heap *me;           /* its heap record */
    unsigned            w;            /* worker index, or nworkers */
    int                 shared;       /* me is the non-workers' record */
};

static inline void
lf_ctx_of(struct zone *z, struct lf_ctx *x)
{
    int idx = LF_INDEX();

    x->h = lf_hdr(z);
    x->shared = idx < 0 || (unsigned) idx >= x->h->nworkers;
    x->w = x->shared ? x->h->nworkers : (unsigned) idx;
    x->me = lf_heap(x->h, x->w);
}

/* Count into the process's record: a worker's own takes plain relaxed
 * updates, the non-workers' shared one atomic adds. */
static inline void
lf_add(const struct lf_ctx *x, uint64_t *field, uint64_t v)
{
    if (x->shared) {
        __atomic_add_fetch(field, v, __ATOMIC_RELAXED);
    } else {
        WR(*field, RD(*field) + v);
    }
}

/* An impossible state (docs/lfslab.md §9): count it where check will see
 * it, and say what in diag. */
void lf_corrupt(const struct lf_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What a pointer refers to, found without writing anything (lf_locate). */
struct lf_block {
    uint32_t            page;
    struct lfslab_desc *d;
    unsigned            kind;
    unsigned            cls, shift, idx, maxcount;   /* small */
    uint32_t            pages;                       /* large */
};

/* ---------------------------------------------------------------------- */
/* lfslab.c                                                                */

/* Push the chain first .. last (linked by next_partial) on stack (v, c). */
void lf_push(const struct lf_ctx *x, unsigned v, unsigned c, uint32_t first, uint32_t last);

void  *lfslab_alloc(struct zone *z, size_t size);
int    lfslab_free(struct zone *z, void *p);
size_t lfslab_usable_size(struct zone *z, void *p);

/* ---------------------------------------------------------------------- */
/* lfslab_pages.c                                                          */

/* A fresh page for class c, ACTIVE and owned by the caller, its chunks not
 * yet linked; -1 if there is none even after scavenging.  *scavenged says
 * whether a scavenge ran (it may have pushed pages with free chunks). */
int64_t lf_page_for_class(const struct lf_ctx *x, unsigned c, int *scavenged);

/* A run for a request of `size` > P/2 bytes; NULL (diag) if none. */
void *lf_alloc_large(const struct lf_ctx *x, size_t size);

/* Return the run b (a LARGE_HEAD page); -1 (diag) if already free. */
int lf_free_large(const struct lf_ctx *x, const struct lf_block *b);

/* The length of the allocated run at page i (its run descriptor). */
uint32_t lf_run_pages(const struct lfslab_hdr *h, uint32_t i);

/* Init's free-run list: every page in one run. */
void lf_runs_format(struct lfslab_hdr *h);

/* each_free_run of a zone whose header is sane (lf_header_sane): offset
 * from the pages and length of each free run, in list order, in bytes; -1
 * if a link or a length is off the zone. */
int lf_each_free_run(const struct lfslab_hdr *h, alloc_run_fn fn, void *arg);

/* ---------------------------------------------------------------------- */
/* lfslab_check.c                                                          */

int lfslab_check(struct zone *z, FILE *report);

/* ---------------------------------------------------------------------- */
/* lfslab_ops.c                                                            */

/* Where the parts of a zone of `size` bytes go (docs/lfslab.md §2). */
struct lf_layout {
    uint64_t heaps_off, desc_off, runs_off, pages_off;
    uint32_t npages;
};

/* The layout of a zone of `size` bytes; its page count, 0 if none fit. */
uint32_t lf_layout(uint64_t size, unsigned shift, unsigned nworkers, struct lf_layout *l);

/* Whether z's header is an lfslab header that agrees with z's size. */
int lf_header_sane(const struct zone *z);

#endif
