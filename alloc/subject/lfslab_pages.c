/*
 * lfslab_pages: everything lfslab does under page_lock (docs/lfslab.md §6):
 * page runs, from nginx's allocator (pageruns.h) over the run descriptors;
 * fresh pages for the small classes; large requests; scavenging EMPTY pages
 * off the partial stacks; giving a worker's reserve pages back.
 */
#include <stdatomic.h>
#include <stddef.h>

#include "substrate/diag.h"
#include "subject/lfslab_internal.h"
#include "subject/pageruns.h"

/* ---------------------------------------------------------------------- */
/* Page runs.  The run descriptors say free or allocated; `kind` says what  */
/* an allocated page is, for the lock-free paths.                           */

static inline struct pageruns
lf_runs(struct lfslab_hdr *h)
{
    struct pageruns r = {
        .base = (unsigned char *) h,
        .free = &h->free_runs,
        .desc = lf_run(h, 0),
        .last = lf_run(h, h->npages),
        .pfree = &h->free_pages,
    };

    return r;
}

/* First fit of k pages (docs/nginx-slab.md §6); the first page's index,
 * or -1 if no run is long enough.  Kinds are the caller's to set. */
static int64_t
lf_take_pages(struct lfslab_hdr *h, uint32_t k)
{
    struct pageruns   r = lf_runs(h);
    struct slab_page *run = pageruns_alloc(&r, k);

    return run ? run - r.desc : -1;
}

/* Return pages i .. i+k-1: kind FREE, then nginx's merge and push
 * (docs/nginx-slab.md §7.3). */
static void
lf_free_pages(struct lfslab_hdr *h, uint32_t i, uint32_t k)
{
    struct pageruns r = lf_runs(h);
    uint32_t        n;

    for (n = 0; n < k; n++) {
        atomic_store_explicit(&lf_desc(h, i + n)->kind, K_FREE, memory_order_release);
    }
    pageruns_free(&r, lf_run(h, i), k);
}

uint32_t
lf_run_pages(const struct lfslab_hdr *h, uint32_t i)
{
    return (uint32_t) (RD(lf_run(h, i)->slab) & ~SLAB_PAGE_START);
}

/* A fresh zone's runs: one run of every page, as nginx formats its own. */
void
lf_runs_format(struct lfslab_hdr *h)
{
    struct pageruns r = lf_runs(h);

    pageruns_format(&r, h->npages);
}

struct lf_run_walk {
    alloc_run_fn fn;
    void        *arg;
    unsigned     shift;
    uint32_t     npages;
    int          bad;         /* a run's length is off the zone */
};

static int
lf_run_at(void *arg, uint64_t index, uint64_t pages)
{
    struct lf_run_walk *w = arg;

    if (pages == 0 || pages > w->npages - index) {
        w->bad = 1;
        return 1;
    }
    return w->fn ? w->fn(w->arg, index << w->shift, pages << w->shift) : 0;
}

/* Walk the free runs of a zone whose header is sane, read-only. */
int
lf_each_free_run(const struct lfslab_hdr *h, alloc_run_fn fn, void *arg)
{
    struct lf_run_walk w = { fn, arg, h->page_shift, h->npages, 0 };
    int                rc;

    rc = pageruns_walk((const unsigned char *) h, offsetof(struct lfslab_hdr, free_runs),
                       h->runs_off, h->runs_off + (uint64_t) h->npages * sizeof(struct slab_page),
                       lf_run_at, &w);
    return w.bad ? -1 : rc;
}

/* ---------------------------------------------------------------------- */
/* Scavenging (docs/lfslab.md §6): take each partial stack whole, free its */
/* EMPTY pages, push the others back in their order.                        */

static void
lf_scavenge_stack(const struct lf_ctx *x, unsigned v, unsigned c)
{
    struct lfslab_hdr  *h = x->h;
    _Atomic uint64_t   *head = lf_stack(h, v, c);
    struct lfslab_desc *d;
    uint64_t            old, a;
    uint32_t            t, i, first = 0, last = 0, steps;
    unsigned            st;

    old = atomic_load_explicit(head, memory_order_acquire);
    do {
        if (P_TOP(old) == 0) {
            return;
        }
    } while (!atomic_compare_exchange_weak_explicit(head, &old, P_PACK(0, P_TAG(old) + 1),
                 memory_order_acquire, memory_order_acquire));

    for (t = P_TOP(old), steps = 0; t != 0; steps++) {
        if (t > h->npages || steps >= h->npages) {
            lf_corrupt(x, "lfslab_alloc(): stack (%u, class %u) links to page %u + 1 "
                       "after %u pages: the stack is corrupt", v, c, t - 1, steps);
            break;
        }
        i = t - 1;
        d = lf_desc(h, i);
        t = atomic_load_explicit(&d->next_partial, memory_order_relaxed);
        atomic_store_explicit(&d->next_partial, NOT_LISTED, memory_order_relaxed);
        a = atomic_load_explicit(&d->anchor, memory_order_acquire);
        st = A_STATE(a);
        if (st == ST_EMPTY && A_COUNT(a) == d->maxcount) {
            lf_free_pages(h, i, 1);
            lf_add(x, &x->me->cls[c].pages_out, 1);
        } else if (st == ST_PARTIAL || st == ST_EMPTY) {
            if (last) {
                atomic_store_explicit(&lf_desc(h, last - 1)->next_partial, i + 1,
                                      memory_order_relaxed);
            } else {
                first = i + 1;
            }
            last = i + 1;
        } else {
            lf_corrupt(x, "lfslab_alloc(): page %u on stack (%u, class %u) is in "
                       "state %u: the stack is corrupt", i, v, c, st);
        }
    }
    if (last) {
        lf_push(x, v, c, first - 1, last - 1);
    }
}

static void
lf_scavenge(const struct lf_ctx *x)
{
    unsigned v, c;

    lf_add(x, &x->me->scavenges, 1);
    for (v = 0; v <= x->h->nworkers; v++) {
        for (c = 0; c < x->h->nclasses; c++) {
            lf_scavenge_stack(x, v, c);
        }
    }
}

/*
 * Give back our reserve pages (page_lock held, no free page even after a
 * scavenge): each reserve's private cache goes back on its anchor in one
 * CAS, the page becomes PARTIAL or EMPTY and goes on our stack, where the
 * next scavenge finds it.  Returns how many were given back.
 */
static unsigned
lf_release_reserves(const struct lf_ctx *x)
{
    struct lfslab_hdr  *h = x->h;
    struct lfslab_cls  *k;
    struct lfslab_desc *d;
    uint64_t            r, old;
    uint32_t            i, *tail;
    unsigned            c, n, shift, count, released = 0;

    for (c = 0; c < h->nclasses; c++) {
        k = &x->me->cls[c];
        r = atomic_load_explicit(&k->reserve, memory_order_relaxed);
        if (S_ACTIVE(r) == 0) {
            continue;
        }
        WR(k->busy, 1);
        i = S_ACTIVE(r) - 1;
        d = lf_desc(h, i);
        shift = c + LFSLAB_MIN_SHIFT;
        tail = NULL;
        if (S_N(r) > 0) {
            tail = lf_link(h, i, shift, S_HEAD(r));
            for (n = 1; n < S_N(r); n++) {
                tail = lf_link(h, i, shift, __atomic_load_n(tail, __ATOMIC_RELAXED));
            }
        }
        old = atomic_load_explicit(&d->anchor, memory_order_relaxed);
        for (;;) {
            count = A_COUNT(old) + S_N(r);
            if (tail) {
                __atomic_store_n(tail, A_AVAIL(old), __ATOMIC_RELAXED);
            }
            if (atomic_compare_exchange_weak_explicit(&d->anchor, &old,
                    A_NEXT(old, tail ? S_HEAD(r) : A_AVAIL(old), count,
                           count == 0 ? ST_FULL : count == d->maxcount ? ST_EMPTY : ST_PARTIAL),
                    memory_order_release, memory_order_relaxed))
            {
                break;
            }
            lf_add(x, &x->me->retries, 1);
        }
        WR(d->owner, LFSLAB_NO_OWNER);
        atomic_store_explicit(&k->reserve, 0, memory_order_relaxed);
        if (count > 0) {
            lf_push(x, x->w, c, i, i);
        }
        WR(k->busy, 0);
        released++;
    }
    return released;
}

/* ---------------------------------------------------------------------- */
/* Fresh small pages and large requests                                     */

/* k pages (page_lock held): a free run, else one after a scavenge, else one
 * after giving our reserves back and scavenging again; -1 if none.
 * *scavenged says whether a scavenge ran. */
static int64_t
lf_take_or_scavenge(const struct lf_ctx *x, uint32_t k, int *scavenged)
{
    int64_t i = lf_take_pages(x->h, k);

    *scavenged = 0;
    if (i < 0) {
        lf_scavenge(x);
        *scavenged = 1;
        i = lf_take_pages(x->h, k);
        if (i < 0 && lf_release_reserves(x) > 0) {
            lf_scavenge(x);
            i = lf_take_pages(x->h, k);
        }
    }
    return i;
}

/* docs/lfslab.md §5.1 step 5: the page, described as an ACTIVE page of
 * class c that the caller owns, published by its kind. */
int64_t
lf_page_for_class(const struct lf_ctx *x, unsigned c, int *scavenged)
{
    struct lfslab_hdr  *h = x->h;
    struct lfslab_desc *d;
    unsigned            shift = c + LFSLAB_MIN_SHIFT, max;
    int64_t             i;
    uint64_t            old;

    max = (unsigned) (((uint64_t) 1 << h->page_shift) >> shift);
    shmtx_lock(&h->page_lock);
    lf_add(x, &x->me->lock_acq, 1);
    i = lf_take_or_scavenge(x, 1, scavenged);
    if (i >= 0) {
        d = lf_desc(h, (uint32_t) i);
        WR(d->cls, (uint8_t) c);
        WR(d->shift, (uint8_t) shift);
        WR(d->maxcount, (uint16_t) max);
        WR(d->owner, (uint16_t) x->w);
        atomic_store_explicit(&d->next_partial, NOT_LISTED, memory_order_relaxed);
        old = atomic_load_explicit(&d->anchor, memory_order_relaxed);
        atomic_store_explicit(&d->anchor, A_NEXT(old, A_NIL, 0, ST_ACTIVE),
                              memory_order_relaxed);
        atomic_store_explicit(&d->kind, K_SMALL, memory_order_release);
        lf_add(x, &x->me->cls[c].pages_in, 1);
    }
    shmtx_unlock(&h->page_lock);
    return i;
}

/* docs/lfslab.md §5.2 */
void *
lf_alloc_large(const struct lf_ctx *x, size_t size)
{
    struct lfslab_hdr *h = x->h;
    uint64_t           P = (uint64_t) 1 << h->page_shift, k;
    int64_t            i;
    uint32_t           n;
    int                scavenged;

    if (size > (uint64_t) h->npages * P) {
        lf_add(x, &x->me->large_fails, 1);
        diag_set("lfslab_alloc(): %zu bytes exceed the zone's %u pages", size, h->npages);
        return NULL;
    }
    k = (size + P - 1) >> h->page_shift;
    shmtx_lock(&h->page_lock);
    lf_add(x, &x->me->lock_acq, 1);
    i = lf_take_or_scavenge(x, (uint32_t) k, &scavenged);
    if (i >= 0) {
        for (n = 1; n < k; n++) {
            atomic_store_explicit(&lf_desc(h, (uint32_t) i + n)->kind, K_LARGE_TAIL,
                                  memory_order_release);
        }
        atomic_store_explicit(&lf_desc(h, (uint32_t) i)->kind, K_LARGE_HEAD,
                              memory_order_release);
        lf_add(x, &x->me->large_allocs, 1);
    } else {
        lf_add(x, &x->me->large_fails, 1);
    }
    shmtx_unlock(&h->page_lock);
    if (i < 0) {
        diag_set("lfslab_alloc(): no run of %llu free pages", (unsigned long long) k);
        return NULL;
    }
    return lf_page(h, (uint32_t) i);
}

/* docs/lfslab.md §5.3 step 1 */
int
lf_free_large(const struct lf_ctx *x, const struct lf_block *b)
{
    struct lfslab_hdr *h = x->h;

    shmtx_lock(&h->page_lock);
    lf_add(x, &x->me->lock_acq, 1);
    if (atomic_load_explicit(&b->d->kind, memory_order_relaxed) != K_LARGE_HEAD) {
        shmtx_unlock(&h->page_lock);
        diag_set("lfslab_free(): page run at page %u is already free", b->page);
        return -1;
    }
    lf_free_pages(h, b->page, lf_run_pages(h, b->page));
    lf_add(x, &x->me->large_frees, 1);
    shmtx_unlock(&h->page_lock);
    return 0;
}
