/*
 * lfslab_check: verify every invariant of an lfslab zone (docs/lfslab.md
 * §12; the invariants are listed in lfslab_types.h).
 *
 * Quiescent: no process allocates or frees meanwhile, but the zone may have
 * been left by a worker that died half-way, or be mapped from another
 * process.  Nothing read is trusted: every link is range-checked before it
 * is followed, every walk is bounded by the page count, and the zone is
 * never written.  Errors stop the check with -1 and the first violation.
 * Orphans (docs/lfslab.md §11) and what a dead worker leaves are written to
 * the report as "orphan:" / "note:" lines and do not fail it.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "substrate/diag.h"
#include "subject/lfslab_internal.h"
#include "subject/slab_internal.h"

enum { PS_NONE = 0, PS_FREE, PS_SMALL, PS_LARGE };

struct lf_check {
    const struct lfslab_hdr *h;
    const unsigned char     *base;
    size_t                   size;
    struct diag_checker      out;        /* the report stream, "lfslab_check" */
    uint64_t                 P;
    uint32_t                 npages;
    unsigned                 nclasses, nworkers;
    unsigned char           *state;      /* PS_* per page */
    unsigned char           *in_run;     /* page seen in a free run */
    unsigned char           *listed;     /* times on a partial stack */
    uint16_t                *named;      /* worker + 1 whose slot names it */
    unsigned char           *seen;       /* chunks of one page */
    uint64_t                 live[LFSLAB_NC_MAX], pages_of[LFSLAB_NC_MAX];
    unsigned char            relax[LFSLAB_NC_MAX]; /* counts may differ: orphans,
                                                      a worker died in a slow path */
    uint64_t                 dead_mask;             /* workers whose pid is gone */
    unsigned                 orphans, dead;
};


static const char *
lf_state_name(unsigned st)
{
    static const char *names[] = { "FULL", "ACTIVE", "PARTIAL", "EMPTY" };

    return names[st & 3];
}

static int
lf_check_header(struct lf_check *c)
{
    const struct lfslab_hdr *h = c->h;
    struct lf_layout         l;
    int64_t                  rel;

    if (c->size < sizeof(*h)) {
        return diag_report(&c->out, "zone of %zu bytes cannot hold the header", c->size);
    }
    if (h->magic != LFSLAB_MAGIC || h->version != LFSLAB_VERSION) {
        return diag_report(&c->out, "magic %#x version %u, expected %#x version %u", h->magic,
                       h->version, LFSLAB_MAGIC, LFSLAB_VERSION);
    }
    if (h->page_shift < LFSLAB_SHIFT_MIN || h->page_shift > LFSLAB_SHIFT_MAX
        || h->nclasses != h->page_shift - LFSLAB_MIN_SHIFT)
    {
        return diag_report(&c->out, "page shift %u with %u classes", h->page_shift, h->nclasses);
    }
    if (h->nworkers < 1 || h->nworkers > LFSLAB_WORKERS_MAX) {
        return diag_report(&c->out, "%u workers, expected 1 .. %d", h->nworkers, LFSLAB_WORKERS_MAX);
    }
    if (h->zone_size != c->size) {
        return diag_report(&c->out, "zone size %llu, the zone has %zu bytes",
                       (unsigned long long) h->zone_size, c->size);
    }
    lf_layout(c->size, h->page_shift, h->nworkers, &l);
    if (h->heaps_off != l.heaps_off || h->desc_off != l.desc_off || h->runs_off != l.runs_off
        || h->pages_off != l.pages_off || h->npages != l.npages || l.npages == 0)
    {
        return diag_report(&c->out, "layout heaps %llu desc %llu runs %llu pages %llu npages %u, "
                       "expected %llu %llu %llu %llu %u", (unsigned long long) h->heaps_off,
                       (unsigned long long) h->desc_off, (unsigned long long) h->runs_off,
                       (unsigned long long) h->pages_off, h->npages,
                       (unsigned long long) l.heaps_off, (unsigned long long) l.desc_off,
                       (unsigned long long) l.runs_off, (unsigned long long) l.pages_off,
                       l.npages);
    }
    rel = (int64_t) offsetof(struct lfslab_hdr, lockword)
          - (int64_t) offsetof(struct lfslab_hdr, page_lock);
    if (h->page_lock.lock_rel != rel) {
        return diag_report(&c->out, "page_lock's lock word at relative offset %lld, expected %lld",
                       (long long) h->page_lock.lock_rel, (long long) rel);
    }
    if (RD(h->free_pages) > h->npages) {
        return diag_report(&c->out, "%llu free pages of %u", (unsigned long long) RD(h->free_pages),
                       h->npages);
    }
    c->P = (uint64_t) 1 << h->page_shift;
    c->npages = h->npages;
    c->nclasses = h->nclasses;
    c->nworkers = h->nworkers;
    return 0;
}

/* Dead workers (their pid is gone), where they died, and a held page_lock:
 * notes. */
static void
lf_check_processes(struct lf_check *c)
{
    const struct lfslab_heap *hp;
    int32_t                   pid;
    uint64_t                  owner;
    unsigned                  w, cl;

    for (w = 0; w < c->nworkers; w++) {
        hp = lf_heap(c->h, w);
        pid = RD(hp->pid);
        if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
            c->dead++;
            c->dead_mask |= (uint64_t) 1 << w;
        }
        for (cl = 0; cl < c->nclasses; cl++) {
            if (RD(hp->cls[cl].busy)) {
                c->relax[cl] = 1;
                diag_note(&c->out, "note", "worker %u (pid %d%s) is in a slow path of class %u: "
                        "a chain it took may be lost", w, pid,
                        c->dead_mask >> w & 1 ? ", dead" : ", alive: not quiescent", cl);
            }
        }
    }
    owner = atomic_load_explicit(&c->h->lockword.lock, memory_order_relaxed);
    if (owner != 0) {
        diag_note(&c->out, "note", "page_lock is held by pid %llu%s", (unsigned long long) owner,
                kill((pid_t) owner, 0) != 0 && errno == ESRCH
                ? ", which is dead: shmtx_force_unlock(lfslab_page_lock(z), pid)" : "");
    }
}

/* Whether page i's run descriptor says "allocated, first of `pages`" (pages
 * > 0) or "allocated, not the first" (pages = 0), as pageruns_alloc leaves it. */
static int
lf_run_is_allocated(const struct lf_check *c, uint32_t i, uint64_t pages)
{
    const struct slab_page *r = lf_run(c->h, i);

    return RD(r->slab) == (pages ? SLAB_PAGE_START | pages : SLAB_PAGE_BUSY)
           && RD(r->next) == 0 && RD(r->prev) == SLAB_PAGE;
}

static int
lf_check_kinds(struct lf_check *c)
{
    const struct lfslab_desc *d;
    const struct slab_page   *r;
    uint32_t                  i, j;
    uint64_t                  k;
    unsigned                  kind, cls, shift, max;

    for (i = 0; i < c->npages; i++) {
        d = lf_desc(c->h, i);
        r = lf_run(c->h, i);
        kind = atomic_load_explicit(&d->kind, memory_order_relaxed);
        switch (kind) {
        case K_FREE:
            c->state[i] = PS_FREE;
            break;
        case K_SMALL:
            cls = RD(d->cls);
            shift = RD(d->shift);
            max = RD(d->maxcount);
            if (cls >= c->nclasses || shift != cls + LFSLAB_MIN_SHIFT
                || max != (c->P >> shift))
            {
                return diag_report(&c->out, "page %u: class %u, shift %u, maxcount %u disagree",
                               i, cls, shift, max);
            }
            if (!lf_run_is_allocated(c, i, 1)) {
                return diag_report(&c->out, "page %u: small page whose run descriptor is not a "
                               "one-page run (slab %#llx next %llu prev %llu)", i,
                               (unsigned long long) RD(r->slab), (unsigned long long) RD(r->next),
                               (unsigned long long) RD(r->prev));
            }
            c->state[i] = PS_SMALL;
            c->pages_of[cls]++;
            break;
        case K_LARGE_HEAD:
            k = RD(r->slab) & ~SLAB_PAGE_START;
            if (k == 0 || k > c->npages - i || !lf_run_is_allocated(c, i, k)) {
                return diag_report(&c->out, "page %u: run of %llu pages is malformed "
                               "(slab %#llx next %llu prev %llu)", i, (unsigned long long) k,
                               (unsigned long long) RD(r->slab), (unsigned long long) RD(r->next),
                               (unsigned long long) RD(r->prev));
            }
            c->state[i] = PS_LARGE;
            for (j = i + 1; j < i + k; j++) {
                d = lf_desc(c->h, j);
                if (atomic_load_explicit(&d->kind, memory_order_relaxed) != K_LARGE_TAIL
                    || !lf_run_is_allocated(c, j, 0))
                {
                    return diag_report(&c->out, "run at page %u: page %u is not one of its tail pages",
                                   i, j);
                }
                c->state[j] = PS_LARGE;
            }
            i += (uint32_t) k - 1;
            break;
        case K_LARGE_TAIL:
            return diag_report(&c->out, "page %u: tail of a page run with no head", i);
        default:
            return diag_report(&c->out, "page %u: kind %u", i, kind);
        }
    }
    return 0;
}

/* The page whose run descriptor is at offset `off` from the base, or -1. */
static int64_t
lf_check_run_index(const struct lf_check *c, uint64_t off)
{
    uint64_t runs = c->h->runs_off;

    if (off < runs || off >= runs + (uint64_t) c->npages * sizeof(struct slab_page)
        || (off - runs) % sizeof(struct slab_page))
    {
        return -1;
    }
    return (int64_t) ((off - runs) / sizeof(struct slab_page));
}

/* The free-run list, as nginx keeps it (docs/nginx-slab.md §3, §7.4). */
static int
lf_check_free_runs(struct lf_check *c)
{
    const uint64_t          sentinel = offsetof(struct lfslab_hdr, free_runs);
    const struct slab_page *d, *t;
    uint64_t                off, prev = sentinel, L, sum = 0;
    int64_t                 h;
    uint32_t                steps, i, j;

    for (off = RD(c->h->free_runs.next), steps = 0; off != sentinel; steps++) {
        if (steps >= c->npages) {
            return diag_report(&c->out, "free-run list does not return to its sentinel within %u "
                           "runs", c->npages);
        }
        h = lf_check_run_index(c, off);
        if (h < 0) {
            return diag_report(&c->out, "free-run list links to offset %llu, not a run descriptor",
                           (unsigned long long) off);
        }
        i = (uint32_t) h;
        d = lf_run(c->h, i);
        L = RD(d->slab);
        if (c->state[i] != PS_FREE || c->in_run[i]) {
            return diag_report(&c->out, "free-run list: page %u is %s", i,
                           c->in_run[i] ? "in two runs" : "not free");
        }
        if (RD(d->prev) != prev) {
            return diag_report(&c->out, "free run at page %u: prev link %llu, expected %llu", i,
                           (unsigned long long) RD(d->prev), (unsigned long long) prev);
        }
        if (L == 0 || L > c->npages - i) {
            return diag_report(&c->out, "free run at page %u has %llu pages", i,
                           (unsigned long long) L);
        }
        for (j = i; j < i + L; j++) {
            if (c->state[j] != PS_FREE || c->in_run[j]) {
                return diag_report(&c->out, "free run at page %u: page %u is %s", i, j,
                               c->in_run[j] ? "in two runs" : "not free");
            }
            c->in_run[j] = 1;
            if (j == i) {
                continue;
            }
            /* The other pages: free, unlinked; the last one (the tail
             * marker) names the head, but a fresh zone's one run has none,
             * as in nginx.  The others' prev is not meaningful. */
            t = lf_run(c->h, j);
            if (RD(t->slab) != SLAB_PAGE_FREE || RD(t->next) != 0 || slab_kind(t) != SLAB_PAGE
                || (j == i + L - 1 && RD(t->prev) != off
                    && !(i == 0 && L == c->npages && RD(t->prev) == 0)))
            {
                return diag_report(&c->out, "free run at page %u: page %u has run descriptor "
                               "%llu %llu %llu", i, j, (unsigned long long) RD(t->slab),
                               (unsigned long long) RD(t->next), (unsigned long long) RD(t->prev));
            }
        }
        if ((i > 0 && c->state[i - 1] == PS_FREE)
            || (i + L < c->npages && c->state[i + L] == PS_FREE))
        {
            return diag_report(&c->out, "free run at pages %u .. %llu is not coalesced with a "
                           "neighbour", i, (unsigned long long) (i + L - 1));
        }
        sum += L;
        prev = off;
        off = RD(d->next);
    }
    if (sum != RD(c->h->free_pages)) {
        return diag_report(&c->out, "free runs hold %llu pages, free_pages says %llu",
                       (unsigned long long) sum, (unsigned long long) RD(c->h->free_pages));
    }
    for (i = 0; i < c->npages; i++) {
        if (c->state[i] == PS_FREE && !c->in_run[i]) {
            return diag_report(&c->out, "page %u is free but in no free run", i);
        }
    }
    return 0;
}

static int
lf_check_stacks(struct lf_check *c)
{
    const struct lfslab_desc *d;
    uint64_t                  head;
    uint32_t                  t, steps, i;
    unsigned                  v, cl;

    for (v = 0; v <= c->nworkers; v++) {
        for (cl = 0; cl < LFSLAB_NC_MAX; cl++) {
            head = atomic_load_explicit(lf_stack(c->h, v, cl), memory_order_relaxed);
            if (cl >= c->nclasses) {
                if (P_TOP(head) != 0) {
                    return diag_report(&c->out, "stack (%u, class %u) of an unused class is not "
                                   "empty", v, cl);
                }
                continue;
            }
            for (t = P_TOP(head), steps = 0; t != 0; steps++) {
                if (t > c->npages || steps >= c->npages) {
                    return diag_report(&c->out, "stack (%u, class %u): link to page %u + 1 after "
                                   "%u pages", v, cl, t - 1, steps);
                }
                i = t - 1;
                d = lf_desc(c->h, i);
                if (c->state[i] != PS_SMALL || RD(d->cls) != cl) {
                    return diag_report(&c->out, "stack (%u, class %u): page %u is not a page of the "
                                   "class", v, cl, i);
                }
                if (c->listed[i]) {
                    return diag_report(&c->out, "stack (%u, class %u): page %u is listed twice", v,
                                   cl, i);
                }
                c->listed[i] = 1;
                t = atomic_load_explicit(&d->next_partial, memory_order_relaxed);
            }
        }
    }
    return 0;
}

/* named[i]: worker + 1 whose slot (bit 8 clear) or reserve (set) names page
 * i; 0 if none. */
#define NAMED_W(v)        ((unsigned) ((v) & 0xFF) - 1u)
#define NAMED_RESERVE(v)  ((v) >> 8)

static const char *
lf_word_name(unsigned reserve)
{
    return reserve ? "reserve" : "slot";
}

static int
lf_check_slots(struct lf_check *c)
{
    const struct lfslab_heap *hp;
    uint64_t                  s;
    uint32_t                  i;
    unsigned                  w, cl, r;

    for (w = 0; w <= c->nworkers; w++) {
        hp = lf_heap(c->h, w);
        for (cl = 0; cl < LFSLAB_NC_MAX; cl++) {
            for (r = 0; r < 2; r++) {
                s = atomic_load_explicit(r ? &hp->cls[cl].reserve : &hp->cls[cl].slot,
                                         memory_order_relaxed);
                if (S_ACTIVE(s) == 0) {
                    if (S_N(s) != 0) {
                        return diag_report(&c->out, "worker %u class %u: %s cache of %u chunks with "
                                       "no page", w, cl, lf_word_name(r), S_N(s));
                    }
                    continue;
                }
                if (w == c->nworkers || cl >= c->nclasses) {
                    return diag_report(&c->out, "%s record, class %u: %s names page %u",
                                   w == c->nworkers ? "non-workers'" : "worker's unused",
                                   cl, lf_word_name(r), S_ACTIVE(s) - 1);
                }
                i = S_ACTIVE(s) - 1;
                if (i >= c->npages || c->state[i] != PS_SMALL
                    || RD(lf_desc(c->h, i)->cls) != cl)
                {
                    return diag_report(&c->out, "worker %u class %u: %s names page %u, not a page "
                                   "of the class", w, cl, lf_word_name(r), i);
                }
                if (c->named[i]) {
                    return diag_report(&c->out, "page %u is named by worker %u's %s and worker %u's %s",
                                   i, NAMED_W(c->named[i]),
                                   lf_word_name(NAMED_RESERVE(c->named[i])), w,
                                   lf_word_name(r));
                }
                c->named[i] = (uint16_t) ((w + 1) | r << 8);
            }
        }
    }
    return 0;
}

/* Walk a chain of n chunks (n = UINT32_MAX: until NIL) of page i from head:
 * in range, not seen before; its length. */
static int64_t
lf_check_chain(struct lf_check *c, uint32_t i, unsigned head, unsigned n, unsigned max,
    const char *what)
{
    const struct lfslab_desc *d = lf_desc(c->h, i);
    unsigned                  shift = RD(d->shift), x = head, len = 0;

    while (n == UINT32_MAX ? x != A_NIL : len < n) {
        if (x >= max) {
            diag_report(&c->out, "page %u: %s links to chunk %u of %u", i, what, x, max);
            return -1;
        }
        if (c->seen[x]) {
            diag_report(&c->out, "page %u: chunk %u is twice in the %s or in both chains", i, x, what);
            return -1;
        }
        c->seen[x] = 1;
        len++;
        x = __atomic_load_n(lf_link(c->h, i, shift, x), __ATOMIC_RELAXED);
    }
    if (n != UINT32_MAX && x != A_NIL) {
        diag_report(&c->out, "page %u: %s of %u chunks does not end (next %u)", i, what, n, x);
        return -1;
    }
    return len;
}

static int
lf_check_page(struct lf_check *c, uint32_t i)
{
    const struct lfslab_desc *d = lf_desc(c->h, i);
    uint64_t                  a = atomic_load_explicit(&d->anchor, memory_order_relaxed), s = 0;
    unsigned                  cl = RD(d->cls), max = RD(d->maxcount), st = A_STATE(a);
    unsigned                  count = A_COUNT(a), n = 0, w, owner = RD(d->owner);
    uint32_t                  np = atomic_load_explicit(&d->next_partial, memory_order_relaxed);
    int64_t                   len;

    memset(c->seen, 0, max);
    len = lf_check_chain(c, i, A_AVAIL(a), UINT32_MAX, max, "anchor chain");
    if (len < 0) {
        return -1;
    }
    if ((unsigned) len != count) {
        return diag_report(&c->out, "page %u: anchor chain holds %lld chunks, count says %u", i,
                       (long long) len, count);
    }
    if (c->named[i]) {
        w = NAMED_W(c->named[i]);
        s = atomic_load_explicit(NAMED_RESERVE(c->named[i]) ? &lf_heap(c->h, w)->cls[cl].reserve
                                                            : &lf_heap(c->h, w)->cls[cl].slot,
                                 memory_order_relaxed);
        n = S_N(s);
        if (n > max) {
            return diag_report(&c->out, "page %u: worker %u caches %u of its %u chunks", i, w, n, max);
        }
        if (lf_check_chain(c, i, S_HEAD(s), n, max, "cache") < 0) {
            return -1;
        }
        if (st != ST_ACTIVE || owner != w) {
            /* A worker killed while retiring the page (owner cleared, or
             * FULL, before its slot store) leaves this; nothing else does. */
            if ((c->dead_mask >> w & 1) && RD(lf_heap(c->h, w)->cls[cl].busy)) {
                diag_note(&c->out, "orphan", "page %u (class %u): %s, owner %u, still in dead "
                        "worker %u's slot", i, cl, lf_state_name(st), owner, w);
                c->orphans++;
                c->relax[cl] = 1;
                c->live[cl] += max - count - n;
                return 0;
            }
            return diag_report(&c->out, "page %u: in worker %u's %s but %s with owner %u", i, w,
                           lf_word_name(NAMED_RESERVE(c->named[i])), lf_state_name(st), owner);
        }
    }
    switch (st) {
    case ST_ACTIVE:
        if (c->listed[i]) {
            return diag_report(&c->out, "page %u: ACTIVE and on the class %u stack", i, cl);
        }
        if (!c->named[i]) {
            c->orphans++;
            c->relax[cl] = 1;
            diag_note(&c->out, "orphan", "page %u (class %u, %u free chunks): ACTIVE in no "
                    "worker's slot (its claimer or adopter died before the slot store)",
                    i, cl, count);
        }
        break;
    case ST_FULL:
        if (count != 0 || c->listed[i]) {
            return diag_report(&c->out, "page %u: FULL with %u chunks%s", i, count,
                           c->listed[i] ? ", listed" : "");
        }
        break;
    case ST_PARTIAL:
    case ST_EMPTY:
        if (st == ST_PARTIAL ? count == 0 || count >= max : count != max) {
            return diag_report(&c->out, "page %u: %s with %u of %u chunks free", i,
                           lf_state_name(st), count, max);
        }
        if (!c->listed[i]) {
            c->orphans++;
            c->relax[cl] = 1;
            diag_note(&c->out, "orphan", "page %u (class %u, %u free chunks): %s but on no "
                    "stack (its popper or pusher died)", i, cl, count, lf_state_name(st));
        }
        break;
    }
    if (!c->listed[i] && np != NOT_LISTED && st != ST_PARTIAL && st != ST_EMPTY
        && !(st == ST_ACTIVE && !c->named[i]))
    {
        return diag_report(&c->out, "page %u: on no stack but next_partial is %u", i, np);
    }
    if (st != ST_ACTIVE && owner != LFSLAB_NO_OWNER) {
        return diag_report(&c->out, "page %u: %s but owner is %u", i, lf_state_name(st), owner);
    }
    c->live[cl] += max - count - n;
    return 0;
}

/* Counters against the structure.  A worker may die between a change and
 * its count: up to one per dead worker per class is a note; so is any
 * difference in a class with orphans or a worker that died in a slow path. */
static int
lf_check_counters(struct lf_check *c)
{
    const struct lfslab_heap *hp;
    uint64_t                  allocs, frees, in, out, corrupt = 0, diff;
    unsigned                  w, cl;

    for (w = 0; w <= c->nworkers; w++) {
        corrupt += RD(lf_heap(c->h, w)->corrupt);
    }
    if (corrupt) {
        return diag_report(&c->out, "%llu impossible states were met at run time (a partial stack "
                       "gave a page that is not PARTIAL or EMPTY: ABA)",
                       (unsigned long long) corrupt);
    }
    for (cl = 0; cl < c->nclasses; cl++) {
        allocs = frees = in = out = 0;
        for (w = 0; w <= c->nworkers; w++) {
            hp = lf_heap(c->h, w);
            allocs += RD(hp->cls[cl].allocs);
            frees += RD(hp->cls[cl].frees);
            in += RD(hp->cls[cl].pages_in);
            out += RD(hp->cls[cl].pages_out);
        }
        if (in - out != c->pages_of[cl]) {
            diff = in - out > c->pages_of[cl] ? in - out - c->pages_of[cl]
                                              : c->pages_of[cl] - (in - out);
            if (diff > c->dead) {
                return diag_report(&c->out, "class %u: counters say %llu pages, the zone has %llu",
                               cl, (unsigned long long) (in - out),
                               (unsigned long long) c->pages_of[cl]);
            }
            diag_note(&c->out, "note", "class %u: counters say %llu pages, the zone has %llu "
                    "(a worker died mid-operation)", cl, (unsigned long long) (in - out),
                    (unsigned long long) c->pages_of[cl]);
        }
        if (allocs - frees != c->live[cl]) {
            diff = allocs - frees > c->live[cl] ? allocs - frees - c->live[cl]
                                                : c->live[cl] - (allocs - frees);
            if (!c->relax[cl] && diff > c->dead) {
                return diag_report(&c->out, "class %u: %llu allocs - %llu frees = %llu live chunks, "
                               "the pages hold %llu", cl, (unsigned long long) allocs,
                               (unsigned long long) frees,
                               (unsigned long long) (allocs - frees),
                               (unsigned long long) c->live[cl]);
            }
            diag_note(&c->out, "note", "class %u: counters say %llu live chunks, the pages hold "
                    "%llu (orphans or a worker that died mid-operation)", cl,
                    (unsigned long long) (allocs - frees), (unsigned long long) c->live[cl]);
        }
    }
    return 0;
}

int
lfslab_check(struct zone *z, FILE *report)
{
    struct lf_check c;
    uint32_t        i;
    int             rc;

    memset(&c, 0, sizeof(c));
    c.h = lf_hdr(z);
    c.base = z->base;
    c.size = z->size;
    c.out.report = report;
    c.out.who = "lfslab_check";
    if (lf_check_header(&c) != 0) {
        return -1;
    }
    c.state = calloc(c.npages, 1);
    c.in_run = calloc(c.npages, 1);
    c.listed = calloc(c.npages, 1);
    c.named = calloc(c.npages, sizeof(*c.named));
    c.seen = malloc(c.P >> LFSLAB_MIN_SHIFT);
    if (!c.state || !c.in_run || !c.listed || !c.named || !c.seen) {
        rc = diag_report(&c.out, "out of memory for %u pages", c.npages);
        goto done;
    }
    lf_check_processes(&c);
    rc = lf_check_kinds(&c);
    if (rc == 0) {
        rc = lf_check_free_runs(&c);
    }
    if (rc == 0) {
        rc = lf_check_stacks(&c);
    }
    if (rc == 0) {
        rc = lf_check_slots(&c);
    }
    for (i = 0; rc == 0 && i < c.npages; i++) {
        if (c.state[i] == PS_SMALL) {
            rc = lf_check_page(&c, i);
        }
    }
    if (rc == 0) {
        rc = lf_check_counters(&c);
    }
done:
    free(c.state);
    free(c.in_run);
    free(c.listed);
    free(c.named);
    free(c.seen);
    return rc;
}
