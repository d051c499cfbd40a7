/*
 * pageruns: nginx's page-run allocator, one copy for the slab and lfslab.
 *
 * First fit in free-list order, split from the low end, the rest keeping
 * the run's place in the list (docs/nginx-slab.md §6); a returned run merged
 * with both neighbours through nginx's tail marker and pushed at the front
 * (§7.3).  It works on nginx's own page descriptors (struct slab_page:
 * slab/next/prev, links as offsets from a base, the kind in prev's two low
 * bits, §3), so the slab stays byte for byte nginx's, and lfslab keeps an
 * array of the same descriptors beside its own, for its runs alone
 * (docs/lfslab.md §6).
 *
 * Header-only and always inlined: the slab calls these on its hot path, and
 * its wrappers (slab_alloc_pages, slab_free_pages) compile to the code they
 * compiled to before this file existed.  lfslab's test builds link only the
 * substrate (tests/lfslab.cmake), and a header needs no library.
 *
 * Where a caller keeps its runs is a struct pageruns, built on the stack
 * from the caller's header; the functions write nothing else.  The caller
 * holds whatever lock guards them (the slab's pool mutex, lfslab's
 * page_lock).
 */
#ifndef SHMBENCH_PAGERUNS_H
#define SHMBENCH_PAGERUNS_H

#include <stdint.h>
#include <string.h>

#include "subject/slab_internal.h"

struct pageruns {
    unsigned char    *base;     /* links are offsets from here; 0 is null */
    struct slab_page *free;     /* the free-run list's sentinel */
    struct slab_page *desc;     /* page 0's descriptor */
    struct slab_page *last;     /* one past the last page's descriptor */
    uint64_t         *pfree;    /* free pages */
};

#define PAGERUNS_INLINE static inline __attribute__((always_inline))

/* A fresh zone's runs: all `pages` pages in one run, which has no tail
 * marker, as nginx leaves it (§2.3 step 7).  The descriptors are zero. */
PAGERUNS_INLINE void
pageruns_format(const struct pageruns *r, uint64_t pages)
{
    r->free->slab = 0;
    r->free->next = slab_off(r->base, r->desc);
    r->free->prev = 0;
    r->desc[0].slab = pages;
    r->desc[0].next = slab_off(r->base, r->free);
    r->desc[0].prev = slab_off(r->base, r->free);
    *r->pfree = pages;
}

/* §6: the first run of at least `pages` pages in list order, split from
 * the low end and marked allocated (first descriptor `pages | PAGE_START`,
 * the others PAGE_BUSY); NULL, the runs untouched, if none is long enough. */
PAGERUNS_INLINE struct slab_page *
pageruns_alloc(const struct pageruns *r, uint64_t pages)
{
    struct slab_page *sentinel = r->free, *page, *rest, *prev, *p;

    for (page = slab_ptr(r->base, sentinel->next); page != sentinel;
         page = slab_ptr(r->base, page->next))
    {
        if (page->slab < pages) {
            continue;
        }
        if (page->slab > pages) {
            rest = page + pages;
            if (page->slab - pages >= 2) {
                page[page->slab - 1].prev = slab_off(r->base, rest);
            }
            rest->slab = page->slab - pages;
            rest->next = page->next;
            rest->prev = page->prev;
            prev = slab_prev(r->base, page);
            prev->next = slab_off(r->base, rest);
            ((struct slab_page *) slab_ptr(r->base, page->next))->prev = slab_off(r->base, rest);
        } else {
            prev = slab_prev(r->base, page);
            prev->next = page->next;
            ((struct slab_page *) slab_ptr(r->base, page->next))->prev = page->prev;
        }

        page->slab = pages | SLAB_PAGE_START;
        page->next = 0;
        page->prev = SLAB_PAGE;
        *r->pfree -= pages;

        for (p = page + 1; p < page + pages; p++) {
            p->slab = SLAB_PAGE_BUSY;
            p->next = 0;
            p->prev = SLAB_PAGE;
        }
        return page;
    }
    /* nginx logs "ngx_slab_alloc() failed: no memory" here (crit). */
    return NULL;
}

/* §7.3: return the `pages` pages from `page` (a page still in a list, a
 * slab chunk page in its slot list, leaves it first), merge with the runs
 * on both sides, push the run at the front of the free list. */
PAGERUNS_INLINE void
pageruns_free(const struct pageruns *r, struct slab_page *page, uint64_t pages)
{
    struct slab_page *join, *prev;

    *r->pfree += pages;
    page->slab = pages--;
    if (pages) {
        memset(&page[1], 0, pages * sizeof(struct slab_page));
    }

    if (page->next) {
        prev = slab_prev(r->base, page);
        prev->next = page->next;
        ((struct slab_page *) slab_ptr(r->base, page->next))->prev = page->prev;
    }

    join = page + page->slab;
    if (join < r->last && slab_kind(join) == SLAB_PAGE && join->next != 0) {
        pages += join->slab;
        page->slab += join->slab;
        prev = slab_prev(r->base, join);
        prev->next = join->next;
        ((struct slab_page *) slab_ptr(r->base, join->next))->prev = join->prev;
        join->slab = SLAB_PAGE_FREE;
        join->next = 0;
        join->prev = SLAB_PAGE;
    }

    if (page > r->desc) {
        join = page - 1;
        if (slab_kind(join) == SLAB_PAGE) {
            if (join->slab == SLAB_PAGE_FREE && join->prev != 0) {
                join = slab_prev(r->base, join);    /* tail marker -> head */
            }
            if (join->next != 0) {
                pages += join->slab;
                join->slab += page->slab;
                prev = slab_prev(r->base, join);
                prev->next = join->next;
                ((struct slab_page *) slab_ptr(r->base, join->next))->prev = join->prev;
                page->slab = SLAB_PAGE_FREE;
                page->next = 0;
                page->prev = SLAB_PAGE;
                page = join;
            }
        }
    }

    if (pages) {
        page[pages].prev = slab_off(r->base, page);
    }

    page->prev = slab_off(r->base, r->free);
    page->next = r->free->next;
    ((struct slab_page *) slab_ptr(r->base, page->next))->prev = slab_off(r->base, page);
    r->free->next = slab_off(r->base, page);
}

/*
 * Walk the free-run list of a zone mapped read-only, trusting nothing: fn
 * gets each run's page index and its length (the head's slab word, as
 * found) in list order, and non-zero from fn stops the walk.  `base` maps
 * the zone; the descriptors are at offsets [desc, last) from it (the caller
 * has checked that they lie in the mapping), the sentinel at `sentinel`.
 * A link off a descriptor, or more runs than pages, ends the walk with -1;
 * otherwise 0.
 */
static inline int
pageruns_walk(const unsigned char *base, uint64_t sentinel, uint64_t desc, uint64_t last,
    int (*fn)(void *arg, uint64_t index, uint64_t pages), void *arg)
{
    uint64_t                npages = (last - desc) / sizeof(struct slab_page), off, steps;
    const struct slab_page *page;

    off = ((const struct slab_page *) (base + sentinel))->next;
    for (steps = 0; off != sentinel; steps++) {
        if (steps > npages || off < desc || off >= last
            || (off - desc) % sizeof(struct slab_page))
        {
            return -1;
        }
        page = (const struct slab_page *) (base + off);
        if (fn && fn(arg, (off - desc) / sizeof(struct slab_page), page->slab)) {
            return 0;
        }
        off = page->next;
    }
    return 0;
}

#endif
