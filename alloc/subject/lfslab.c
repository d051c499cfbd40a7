/*
 * lfslab: nginx's slot geometry with no lock on the small-object path
 * (docs/lfslab.md; Michael, PLDI 2004, adapted).  This file holds the
 * lock-free paths: small allocation (docs/lfslab.md §5.1), free (§5.3),
 * the partial stacks (§7).  What takes page_lock is in lfslab_pages.c, the
 * data structure in lfslab_types.h (lfslab_internal.h lists the files).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "substrate/diag.h"
#include "subject/lfslab_internal.h"

#ifdef LFSLAB_TEST_HOOKS
void (*lfslab_test_hook)(int point, unsigned page);
#endif
#ifdef LFSLAB_THREAD_INDEX
_Thread_local int lfslab_thread_index = -1;
#endif

/* ---------------------------------------------------------------------- */
/* Partial stacks (docs/lfslab.md §7, §9)                                 */

/* Push the chain first .. last on stack (v, c): one CAS, release. */
void
lf_push(const struct lf_ctx *x, unsigned v, unsigned c, uint32_t first, uint32_t last)
{
    _Atomic uint64_t   *head = lf_stack(x->h, v, c);
    struct lfslab_desc *d = lf_desc(x->h, last);
    uint64_t            old = atomic_load_explicit(head, memory_order_relaxed);

    for (;;) {
        atomic_store_explicit(&d->next_partial, P_TOP(old), memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(head, &old,
                P_PACK(first + 1, P_TAG(old) + 1),
                memory_order_release, memory_order_relaxed))
        {
            return;
        }
        lf_add(x, &x->me->retries, 1);
    }
}

/* An impossible state: count it where check will see it, say what. */
void
lf_corrupt(const struct lf_ctx *x, const char *fmt, ...)
{
    va_list ap;

    lf_add(x, &x->me->corrupt, 1);
    va_start(ap, fmt);
    diag_vset(fmt, ap);
    va_end(ap);
}

/* Pop a page from stack (v, c); its index, or -1 if the stack is empty. */
static int64_t
lf_pop_from(const struct lf_ctx *x, unsigned v, unsigned c)
{
    _Atomic uint64_t   *head = lf_stack(x->h, v, c);
    struct lfslab_desc *d;
    uint64_t            old = atomic_load_explicit(head, memory_order_acquire);
    uint32_t            next;

    for (;;) {
        if (P_TOP(old) == 0) {
            return -1;
        }
        if (P_TOP(old) > x->h->npages) {
            lf_corrupt(x, "lfslab_alloc(): stack (%u, class %u) top is page %u + 1 of %u: "
                       "the stack is corrupt", v, c, P_TOP(old) - 1, x->h->npages);
            return -1;
        }
        d = lf_desc(x->h, P_TOP(old) - 1);
        next = atomic_load_explicit(&d->next_partial, memory_order_relaxed);
        LF_HOOK(LFSLAB_HOOK_POP_WINDOW, P_TOP(old) - 1);
        if (atomic_compare_exchange_weak_explicit(head, &old,
                P_PACK(next, P_TAG(old) + 1),
                memory_order_acquire, memory_order_acquire))
        {
            break;
        }
        lf_add(x, &x->me->retries, 1);
    }
    LF_HOOK(LFSLAB_HOOK_POPPED, P_TOP(old) - 1);
    atomic_store_explicit(&d->next_partial, NOT_LISTED, memory_order_relaxed);
    lf_add(x, &x->me->pops, 1);
    return P_TOP(old) - 1;
}

/* Pop a page of class c: our own stack first, then the others' in turn
 * (the non-workers' record included); -1 if all are empty. */
static int64_t
lf_pop(const struct lf_ctx *x, unsigned c)
{
    unsigned n = x->h->nworkers + 1u, k, v;
    int64_t  i;

    if ((i = lf_pop_from(x, x->w, c)) >= 0) {
        return i;
    }
    for (k = 1; k < n; k++) {
        v = (x->w + k) % n;
        if (P_TOP(atomic_load_explicit(lf_stack(x->h, v, c), memory_order_relaxed)) == 0) {
            continue;
        }
        if ((i = lf_pop_from(x, v, c)) >= 0) {
            lf_add(x, &x->me->steals, 1);
            return i;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Small allocation (docs/lfslab.md §5.1)                                 */

/* docs/lfslab.md §5.1 step 2: take the active page's shared chain into
 * the cache (0), or, if it is empty, retire the page as FULL and clear the
 * slot (-1). */
static int
lf_refill(const struct lf_ctx *x, unsigned c, uint64_t *s)
{
    struct lfslab_cls  *k = &x->me->cls[c];
    uint32_t            i = S_ACTIVE(*s) - 1;
    struct lfslab_desc *d = lf_desc(x->h, i);
    uint64_t            old = atomic_load_explicit(&d->anchor, memory_order_relaxed);

    for (;;) {
        if (A_AVAIL(old) != A_NIL) {
            if (atomic_compare_exchange_weak_explicit(&d->anchor, &old,
                    A_NEXT(old, A_NIL, 0, ST_ACTIVE),
                    memory_order_acquire, memory_order_relaxed))
            {
                *s = S_PACK(i + 1, A_AVAIL(old), A_COUNT(old));
                atomic_store_explicit(&k->slot, *s, memory_order_relaxed);
                lf_add(x, &x->me->refills, 1);
                return 0;
            }
        } else {
            WR(d->owner, LFSLAB_NO_OWNER);
            if (atomic_compare_exchange_weak_explicit(&d->anchor, &old,
                    A_NEXT(old, A_NIL, 0, ST_FULL),
                    memory_order_release, memory_order_relaxed))
            {
                *s = 0;
                atomic_store_explicit(&k->slot, 0, memory_order_relaxed);
                lf_add(x, &x->me->retires, 1);
                return -1;
            }
            WR(d->owner, (uint16_t) x->w);      /* a free came: still ours */
        }
        lf_add(x, &x->me->retries, 1);
    }
}

/* docs/lfslab.md §5.1 step 4: claim popped page i: take its chain, make it
 * ACTIVE in our slot. */
static int
lf_claim(const struct lf_ctx *x, unsigned c, uint32_t i, uint64_t *s)
{
    struct lfslab_desc *d = lf_desc(x->h, i);
    uint64_t            old = atomic_load_explicit(&d->anchor, memory_order_relaxed);
    unsigned            st;

    if (atomic_load_explicit(&d->kind, memory_order_acquire) != K_SMALL || RD(d->cls) != c) {
        lf_corrupt(x, "lfslab_alloc(): page %u on the class %u stack is not a "
                   "page of that class: the stack is corrupt", i, c);
        return -1;
    }
    for (;;) {
        st = A_STATE(old);
        if ((st != ST_PARTIAL && st != ST_EMPTY) || A_AVAIL(old) == A_NIL) {
            lf_corrupt(x, "lfslab_alloc(): page %u popped from the class %u stack "
                       "is in state %u with %u free chunks: the stack is corrupt",
                       i, c, st, A_COUNT(old));
            return -1;
        }
        if (atomic_compare_exchange_weak_explicit(&d->anchor, &old,
                A_NEXT(old, A_NIL, 0, ST_ACTIVE),
                memory_order_acquire, memory_order_relaxed))
        {
            break;
        }
        lf_add(x, &x->me->retries, 1);
    }
    WR(d->owner, (uint16_t) x->w);
    *s = S_PACK(i + 1, A_AVAIL(old), A_COUNT(old));
    atomic_store_explicit(&x->me->cls[c].slot, *s, memory_order_relaxed);
    return 0;
}

/* docs/lfslab.md §5.1 step 5: a fresh page from the page allocator, all
 * its chunks cached. */
static int
lf_new_page(const struct lf_ctx *x, unsigned c, uint64_t *s)
{
    struct lfslab_hdr *h = x->h;
    unsigned           shift = c + LFSLAB_MIN_SHIFT, n, max;
    uint32_t          *link;
    int64_t            i;
    int                scavenged;

    i = lf_page_for_class(x, c, &scavenged);
    if (i < 0) {
        /* The scavenger pushed pages with free chunks back: one more look. */
        if (scavenged && (i = lf_pop(x, c)) >= 0) {
            return lf_claim(x, c, (uint32_t) i, s);
        }
        return -1;
    }
    max = (unsigned) (((uint64_t) 1 << h->page_shift) >> shift);
    for (n = 0; n + 1 < max; n++) {
        link = lf_link(h, (uint32_t) i, shift, n);
        __atomic_store_n(link, n + 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(lf_link(h, (uint32_t) i, shift, max - 1), A_NIL, __ATOMIC_RELAXED);
    *s = S_PACK((uint32_t) i + 1, 0, max);
    atomic_store_explicit(&x->me->cls[c].slot, *s, memory_order_relaxed);
    return 0;
}

/* docs/lfslab.md §5.1 steps 2-5: refill, else the reserve, else a popped
 * page, else a fresh one; 0 with a non-empty cache in *s, -1 if there is
 * no chunk of the class. */
static int
lf_alloc_slow(const struct lf_ctx *x, unsigned c, uint64_t *s)
{
    struct lfslab_cls *k = &x->me->cls[c];
    uint64_t           r;
    int64_t            i;
    uint32_t           tries;

    if (S_ACTIVE(*s) != 0 && lf_refill(x, c, s) == 0) {
        return 0;
    }
    /* Step 3: the reserve page becomes the active one, with its cache: no
     * CAS.  The reserve word is cleared first: a crash between the stores
     * leaves an orphan, never a page in two slots. */
    r = atomic_load_explicit(&k->reserve, memory_order_relaxed);
    if (S_ACTIVE(r) != 0) {
        atomic_store_explicit(&k->reserve, 0, memory_order_relaxed);
        atomic_store_explicit(&k->slot, r, memory_order_relaxed);
        lf_add(x, &x->me->promotes, 1);
        *s = r;
        if (S_N(r) > 0 || lf_refill(x, c, s) == 0) {
            return 0;
        }
    }
    /* Step 4: a page from a partial stack.  A correct stack gives a
     * claimable page at once; a corrupt one (see lf_claim) cannot keep us
     * here for more than a pass over the pages. */
    for (tries = 0; tries <= x->h->npages; tries++) {
        i = lf_pop(x, c);
        if (i < 0) {
            break;
        }
        if (lf_claim(x, c, (uint32_t) i, s) == 0) {
            return 0;
        }
    }
    return lf_new_page(x, c, s);
}

static void *
lf_alloc_small(const struct lf_ctx *x, unsigned c)
{
    struct lfslab_cls *k = &x->me->cls[c];
    uint64_t           s = atomic_load_explicit(&k->slot, memory_order_relaxed);
    unsigned           shift = c + LFSLAB_MIN_SHIFT, next;
    uint32_t          *chunk;
    int                rc;

    if (__builtin_expect(S_N(s) == 0, 0)) {
        WR(k->busy, 1);
        rc = lf_alloc_slow(x, c, &s);
        WR(k->busy, 0);
        if (rc != 0) {
            lf_add(x, &k->fails, 1);
            diag_set("lfslab_alloc(): no free chunk of %u bytes and no free page",
                     1u << shift);
            return NULL;
        }
    }
    /* docs/lfslab.md §5.1 step 1: the head of the private cache. */
    chunk = lf_link(x->h, S_ACTIVE(s) - 1, shift, S_HEAD(s));
    next = __atomic_load_n(chunk, __ATOMIC_RELAXED);
    atomic_store_explicit(&k->slot, S_PACK(S_ACTIVE(s), next, S_N(s) - 1),
                          memory_order_relaxed);
    lf_add(x, &k->allocs, 1);
    return chunk;
}

void *
lfslab_alloc(struct zone *z, size_t size)
{
    struct lf_ctx x;
    unsigned      c;

    lf_ctx_of(z, &x);
    if (__builtin_expect(x.shared, 0)) {
        diag_set("lfslab_alloc(): process index %d is not a worker of this zone "
                 "(nworkers %u): it may free, not allocate", LF_INDEX(), x.h->nworkers);
        return NULL;
    }
    if (size > ((size_t) 1 << x.h->page_shift) / 2) {
        return lf_alloc_large(&x, size);
    }
    c = size <= 8 ? 0 : (unsigned) (64 - __builtin_clzll((uint64_t) size - 1)) - LFSLAB_MIN_SHIFT;
    return lf_alloc_small(&x, c);
}

/* ---------------------------------------------------------------------- */
/* Free (docs/lfslab.md §5.3, §10)                                        */

static int
lf_locate(const struct lfslab_hdr *h, const void *p, struct lf_block *b, const char *fn)
{
    uintptr_t start = (uintptr_t) h + h->pages_off;
    uint64_t  off, in;

    if ((uintptr_t) p < start
        || (off = (uint64_t) ((uintptr_t) p - start)) >= (uint64_t) h->npages << h->page_shift)
    {
        diag_set("%s(): %p is outside of the zone's pages", fn, p);
        return -1;
    }
    b->page = (uint32_t) (off >> h->page_shift);
    in = off & (((uint64_t) 1 << h->page_shift) - 1);
    b->d = lf_desc(h, b->page);
    b->kind = atomic_load_explicit(&b->d->kind, memory_order_acquire);

    switch (b->kind) {
    case K_SMALL:
        b->cls = RD(b->d->cls);
        b->shift = RD(b->d->shift);
        b->maxcount = RD(b->d->maxcount);
        if (b->shift != b->cls + LFSLAB_MIN_SHIFT || b->shift >= h->page_shift) {
            diag_set("%s(): page %u has chunk shift %u for class %u: corrupt",
                     fn, b->page, b->shift, b->cls);
            return -1;
        }
        if (in & (((uint64_t) 1 << b->shift) - 1)) {
            diag_set("%s(): pointer to wrong chunk (offset %llu in a page of "
                     "%u-byte chunks)", fn, (unsigned long long) in, 1u << b->shift);
            return -1;
        }
        b->idx = (unsigned) (in >> b->shift);
        return 0;
    case K_LARGE_HEAD:
        if (in) {
            diag_set("%s(): pointer into a page run, not at its start", fn);
            return -1;
        }
        b->pages = lf_run_pages(h, b->page);
        return 0;
    case K_LARGE_TAIL:
        diag_set("%s(): pointer into a page run, not at its start", fn);
        return -1;
    case K_FREE:
        diag_set("%s(): page %u is free", fn, b->page);
        return -1;
    default:
        diag_set("%s(): page %u has kind %u: corrupt", fn, b->page, b->kind);
        return -1;
    }
}

/* docs/lfslab.md §5.3 steps 3-4: one CAS on the page's anchor; if the page
 * was FULL, this freer alone pushes it on its own stack of the class, or,
 * if it is a worker with no reserve page in the class, adopts it as its
 * reserve: FULL -> ACTIVE, the chunk into the reserve's private cache, no
 * push. */
static int
lf_free_remote(const struct lf_ctx *x, const struct lf_block *b)
{
    struct lfslab_desc *d = b->d;
    struct lfslab_cls  *k = &x->me->cls[b->cls];
    uint64_t            old = atomic_load_explicit(&d->anchor, memory_order_relaxed);
    uint32_t           *link = lf_link(x->h, b->page, b->shift, b->idx);
    unsigned            st, count;
    int                 adopt, can_adopt;

    can_adopt = !x->shared
                && S_ACTIVE(atomic_load_explicit(&k->reserve, memory_order_relaxed)) == 0;
    for (;;) {
        st = A_STATE(old);
        count = A_COUNT(old);
        if (st == ST_EMPTY || count >= b->maxcount) {
            diag_set("lfslab_free(): chunk is already free (page %u has all its "
                     "chunks free)", b->page);
            return -1;
        }
        if (A_AVAIL(old) == b->idx) {
            diag_set("lfslab_free(): chunk is already free (chunk %u heads page "
                     "%u's free chain)", b->idx, b->page);
            return -1;
        }
        adopt = can_adopt && st == ST_FULL;
        if (adopt) {
            __atomic_store_n(link, A_NIL, __ATOMIC_RELAXED);
            if (atomic_compare_exchange_weak_explicit(&d->anchor, &old,
                    A_NEXT(old, A_NIL, 0, ST_ACTIVE),
                    memory_order_acquire, memory_order_relaxed))
            {
                break;
            }
        } else {
            __atomic_store_n(link, A_AVAIL(old), __ATOMIC_RELAXED);
            if (atomic_compare_exchange_weak_explicit(&d->anchor, &old,
                    A_NEXT(old, b->idx, count + 1,
                           st == ST_FULL ? ST_PARTIAL
                           : st == ST_PARTIAL && count + 1 == b->maxcount ? ST_EMPTY : st),
                    memory_order_release, memory_order_relaxed))
            {
                break;
            }
        }
        lf_add(x, &x->me->retries, 1);
    }
    lf_add(x, &k->frees, 1);
    lf_add(x, &x->me->remote, 1);
    if (adopt) {
        WR(d->owner, (uint16_t) x->w);
        atomic_store_explicit(&k->reserve, S_PACK(b->page + 1, b->idx, 1),
                              memory_order_relaxed);
        lf_add(x, &x->me->adopts, 1);
    } else if (st == ST_FULL) {
        LF_HOOK(LFSLAB_HOOK_FREED_FULL, b->page);
        lf_push(x, x->w, b->cls, b->page, b->page);
    }
    return 0;
}

/* docs/lfslab.md §5.3 step 2: a free into one of our own pages (active or
 * reserve) goes on its private cache, `word`: no atomic read-modify-write. */
static int
lf_free_cached(const struct lf_ctx *x, _Atomic uint64_t *word, uint64_t s,
    const struct lf_block *b)
{
    unsigned n = S_N(s);

    if (n >= b->maxcount) {
        diag_set("lfslab_free(): chunk is already free (page %u has all its "
                 "chunks in this worker's cache)", b->page);
        return -1;
    }
    if (n > 0 && S_HEAD(s) == b->idx) {
        diag_set("lfslab_free(): chunk is already free (chunk %u heads this "
                 "worker's cache of page %u)", b->idx, b->page);
        return -1;
    }
    __atomic_store_n(lf_link(x->h, b->page, b->shift, b->idx), n ? S_HEAD(s) : A_NIL,
                     __ATOMIC_RELAXED);
    atomic_store_explicit(word, S_PACK(b->page + 1, b->idx, n + 1), memory_order_relaxed);
    lf_add(x, &x->me->cls[b->cls].frees, 1);
    return 0;
}

int
lfslab_free(struct zone *z, void *p)
{
    struct lf_ctx      x;
    struct lf_block    b;
    struct lfslab_cls *k;
    uint64_t           s;

    /* The link store below misses when the caller has not touched the
     * block lately, and the CAS after it would wait for that miss. */
    __builtin_prefetch(p, 1, 3);
    lf_ctx_of(z, &x);
    if (lf_locate(x.h, p, &b, "lfslab_free") != 0) {
        return -1;
    }
    if (b.kind == K_LARGE_HEAD) {
        return lf_free_large(&x, &b);
    }
    if (!x.shared) {
        k = &x.me->cls[b.cls];
        s = atomic_load_explicit(&k->slot, memory_order_relaxed);
        if (S_ACTIVE(s) == b.page + 1) {
            return lf_free_cached(&x, &k->slot, s, &b);
        }
        s = atomic_load_explicit(&k->reserve, memory_order_relaxed);
        if (S_ACTIVE(s) == b.page + 1) {
            return lf_free_cached(&x, &k->reserve, s, &b);
        }
    }
    return lf_free_remote(&x, &b);
}

size_t
lfslab_usable_size(struct zone *z, void *p)
{
    struct lfslab_hdr *h = lf_hdr(z);
    struct lf_block    b;
    unsigned long      n = diag_count();
    char               saved[512];

    /* Looking up a pointer must not clobber the caller's last message. */
    snprintf(saved, sizeof(saved), "%s", diag_last());
    if (lf_locate(h, p, &b, "lfslab_usable_size") != 0) {
        if (diag_count() != n) {
            diag_set("%s", saved);
        }
        return 0;
    }
    if (b.kind == K_LARGE_HEAD) {
        return (size_t) b.pages << h->page_shift;
    }
    return (size_t) 1 << b.shift;
}
