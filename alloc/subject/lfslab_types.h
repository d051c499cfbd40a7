/*
 * lfslab_types: the map of lfslab's data structure, private to lfslab's
 * files (docs/lfslab.md says why it is shaped so; section numbers below are
 * that document's).
 *
 * Everything lives in the zone, and everything in the zone is reached by an
 * offset from the zone's base or by a page index, never by a pointer, so
 * any process may map the zone anywhere (§2):
 *
 *   0        struct lfslab_hdr            16 lines: geometry, the page-run
 *                                         allocator's list head, page_lock
 *   1024     struct lfslab_heap[nw + 1]   2 KiB per worker, the last one for
 *                                         processes that are not workers
 *   desc     struct lfslab_desc[npages]   one line per page: what the
 *                                         lock-free paths need
 *   runs     struct slab_page[npages]     nginx's page descriptors, for the
 *                                         page-run allocator (pageruns.h)
 *   pages    npages * P bytes             P-aligned
 *
 * The main types come first, each field with what it holds and, for every
 * field more than one process touches, who writes it and under what
 * synchronisation ("Synchronization:"; §8 has the orderings and why).  The
 * encodings of the packed 64-bit words (anchor, slot, stack head) and the
 * accessors follow.
 *
 * Invariants (check verifies them all, §12):
 *  - A page is in exactly one free run (kind FREE), or is one page-run
 *    allocation (LARGE_HEAD, then LARGE_TAIL pages), or is a small page
 *    (SMALL) whose run descriptor says "a one-page run".
 *  - A small page is in exactly one state (§4): ACTIVE, named by exactly
 *    one worker's slot or reserve, its owner that worker; FULL, named by
 *    none, on no stack; PARTIAL or EMPTY, on exactly one partial stack of
 *    its class.  owner is LFSLAB_NO_OWNER unless ACTIVE; next_partial is
 *    NOT_LISTED iff the page is on no stack.
 *  - A small page's free chunks are on its anchor chain (`count` of them)
 *    or on the cache of the slot or reserve that names it, never both, each
 *    once; the rest are live.  The sum over a class of live chunks is the
 *    sum of allocs - frees over the heap records.
 */
#ifndef SHMBENCH_LFSLAB_TYPES_H
#define SHMBENCH_LFSLAB_TYPES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "subject/lfslab.h"
#include "subject/slab.h"
#include "subject/slab_internal.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"
#include "substrate/zone.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lfslab needs lock-free 64-bit atomics");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lfslab needs lock-free 32-bit atomics");

#define LFSLAB_MAGIC      0x424c464cu       /* "LFLB" */
#define LFSLAB_VERSION    2                 /* 2: runs as nginx's descriptors */
/* nginx's slot geometry, the slab's own constants (slab_internal.h). */
#define LFSLAB_MIN_SHIFT  SLAB_MIN_SHIFT      /* class 0: 8-byte chunks */
#define LFSLAB_SHIFT_MIN  SLAB_PAGE_SHIFT_MIN /* pages of 4 KiB .. */
#define LFSLAB_SHIFT_MAX  SLAB_PAGE_SHIFT_MAX /* .. 64 KiB */
#define LFSLAB_NC_MAX     (LFSLAB_SHIFT_MAX - LFSLAB_MIN_SHIFT)   /* classes */
#define LFSLAB_LINE       64                /* a cache line */

/* Workers: proc_index() 0 .. PROC_MAX-2 can be given (proc.h); owner is a
 * u16 with 0xFFFF for none. */
#define LFSLAB_WORKERS_MAX (PROC_MAX - 1)
#define LFSLAB_NO_OWNER    0xFFFF

/* ---------------------------------------------------------------------- */
/* The zone header (§2.1)                                                  */

struct lfslab_hdr {
    /* Line 0: the geometry.  Synchronization: written by init in the
     * master before any worker exists; read-only afterwards. */
    uint32_t magic;                   /* LFSLAB_MAGIC */
    uint32_t version;                 /* LFSLAB_VERSION */
    uint8_t  page_shift;              /* log2 P, LFSLAB_SHIFT_MIN .. MAX */
    uint8_t  nclasses;                /* page_shift - LFSLAB_MIN_SHIFT */
    uint16_t nworkers;                /* heap records 0 .. nworkers-1 */
    uint32_t npages;                  /* data pages */
    uint64_t zone_size;               /* bytes of the zone */
    uint64_t heaps_off;               /* offsets from the zone base: */
    uint64_t desc_off;                /*   of the arrays in the map above */
    uint64_t pages_off;
    uint64_t runs_off;
    uint64_t reserved0;

    /* Line 1: the page-run allocator.  Synchronization: page_lock guards
     * free_runs and free_pages (pageruns.h writes them with plain stores);
     * stats and check read them quiescent, or from another process with
     * relaxed loads, which may see them mid-change. */
    struct shmtx_lockword lockword;   /* page_lock's lock word (shmtx) */
    struct slab_page free_runs;       /* sentinel of the free-run list; its
                                         next is the first free run's run
                                         descriptor, as an offset */
    uint64_t free_pages;              /* pages in free runs */
    uint64_t reserved1[2];

    /* Line 2: the rest of page_lock (shmtx.h).  It guards the run
     * descriptors, line 1, a page's kind, class, shift and maxcount while
     * they change, and scavenging (§6). */
    struct shmtx page_lock;

    /* Lines 3 .. 15 */
    uint64_t reserved2[8 * 13];
};

/* ---------------------------------------------------------------------- */
/* A worker's heap record (§2.2)                                           */

/* One class of one worker: one line, so that an allocation writes one
 * line.  Synchronization, unless said otherwise: written only by the worker
 * itself (the non-workers' record: by any non-worker, with atomic adds),
 * with relaxed stores; read by stats and check, quiescent or from another
 * process. */
struct lfslab_cls {
    _Atomic uint64_t slot;            /* the active page and its private cache,
                                         S_PACK(page + 1, cache head, cache n);
                                         0 = no active page */
    _Atomic uint64_t reserve;         /* the reserve page and its cache (§7),
                                         the same encoding.  Written by the
                                         worker alone: its free adopting a
                                         FULL page, its promotion to the slot,
                                         its giving back */
    uint64_t allocs;                  /* chunks handed out */
    uint64_t frees;                   /* chunks freed (by this process) */
    uint64_t fails;                   /* requests that got NULL */
    uint64_t pages_in;                /* fresh pages formatted for the class */
    uint64_t pages_out;               /* EMPTY pages of the class scavenged
                                         (by this process, under page_lock) */
    uint64_t busy;                    /* 1 while in a slow path (refill, pop,
                                         claim, new page, giving back): a
                                         worker found dead with it set died
                                         there (§11) */
};

/* A partial stack of one class (§7): a tagged Treiber stack of pages.
 * Synchronization: head changes only by CAS, by any process: the freer
 * that made a page PARTIAL pushes it on its own stack (release); the
 * stack's worker pops it, others steal from it (acquire); the scavenger,
 * under page_lock, takes it whole and pushes back what it keeps.  Every
 * successful CAS bumps the tag (§9). */
struct lfslab_stack {
    _Atomic uint64_t head;            /* P_PACK(top page + 1, tag); top 0 = empty */
    uint64_t         reserved[7];
};

/* Worker w's record; record nworkers is the non-workers': their counters
 * (atomic adds) and the stacks they push on.  Counters are written by the
 * record's own process (relaxed) and summed by stats, check and
 * lfslab_counter(). */
struct lfslab_heap {
    struct lfslab_cls   cls[LFSLAB_NC_MAX];
    struct lfslab_stack partial[LFSLAB_NC_MAX];
    int32_t  pid;                     /* set by attach; 0 = never attached */
    uint32_t reserved0;
    uint64_t remote;                  /* frees that CASed an anchor */
    uint64_t retries;                 /* failed CASes (anchors, stack heads) */
    uint64_t refills;                 /* shared chains taken by the owner */
    uint64_t pops;                    /* pages popped from a partial stack */
    uint64_t retires;                 /* ACTIVE -> FULL */
    uint64_t lock_acq;                /* page_lock acquisitions */
    uint64_t large_allocs;            /* page runs handed out */
    uint64_t large_fails;             /* page-run requests that got NULL */
    uint64_t large_frees;             /* page runs returned */
    uint64_t scavenges;               /* passes over every stack (§6) */
    uint64_t corrupt;                 /* impossible states met (§9) */
    uint64_t steals;                  /* pages popped from another's stack */
    uint64_t adopts;                  /* FULL pages taken as reserve by a free */
    uint64_t promotes;                /* reserve pages made active */
    uint64_t reserved1[33];
};

/* ---------------------------------------------------------------------- */
/* A page's descriptors (§2.3, §2.4)                                       */

/* What the lock-free paths know of page i: one line, never moved, never
 * freed (a stale read is harmless, §9). */
struct lfslab_desc {
    /* The page's shared free chain and state, A_PACK(avail, count, state,
     * tag).  Synchronization: changed by CAS: a free pushes one chunk
     * (release); the owner takes the whole chain (refill, claim: acquire)
     * or retires the page (release); a worker's free adopts a FULL page
     * (acquire); giving a reserve back appends its cache (release).  A
     * new page stores it (relaxed) under page_lock, before `kind`
     * publishes the page; the scavenger loads it (acquire). */
    _Atomic uint64_t anchor;

    /* The next page + 1 on the partial stack, 0 at the bottom, NOT_LISTED
     * on no stack.  Synchronization: relaxed; written by a pusher before
     * its CAS publishes it, by the popper after its CAS won, by the
     * scavenger (page_lock held) on the stacks it took whole. */
    _Atomic uint32_t next_partial;

    /* K_FREE, K_SMALL, K_LARGE_HEAD, K_LARGE_TAIL.  Synchronization:
     * stored under page_lock with release, after the fields below (a new
     * page) or the run (a large one); loaded with acquire by free,
     * usable_size and claim before they read the fields below. */
    _Atomic uint8_t  kind;

    /* A small page's class, chunk shift (class + 3) and chunk count
     * (P >> shift, 2 .. 8192).  Synchronization: written under page_lock
     * before `kind`, constant while the page is SMALL. */
    uint8_t          cls;
    uint8_t          shift;
    uint8_t          reserved0;
    /* The worker whose slot or reserve names the page, or LFSLAB_NO_OWNER.
     * Synchronization: relaxed, written by the page's holder alone (the
     * claimer, the adopter, a new page's maker, the retirer and the giver
     * back clearing it); read by check. */
    uint16_t         owner;
    uint16_t         maxcount;
    uint32_t         reserved1;
    uint64_t         reserved2[5];
};

/*
 * Page i's run descriptor is runs[i], a struct slab_page (slab.h) kept as
 * nginx keeps its own (docs/nginx-slab.md §3): a free run's head holds its
 * length and the free-run list links (offsets from the zone base, the list
 * circular through hdr.free_runs), its last page the tail marker; an
 * allocated run's first page `k | SLAB_PAGE_START`, the others
 * SLAB_PAGE_BUSY.  A small page is, to the run allocator, a one-page run.
 * Synchronization: page_lock; the lock-free paths read only a LARGE_HEAD
 * page's length (after `kind`'s acquire), which does not change while the
 * run is allocated.
 */

/* Bytes of metadata per page: its descriptor and its run descriptor. */
#define LF_PAGE_META      (sizeof(struct lfslab_desc) + sizeof(struct slab_page))

/*
 * A free chunk's first 4 bytes: the index of the next free chunk on the
 * chain it is on (anchor chain or cache), A_NIL at the end; there is no
 * in-page bitmap.  Synchronization: relaxed atomic (a racing double free
 * is then no undefined behaviour); written by the freer before the CAS or
 * slot store that publishes the chunk, by a new page's maker before its
 * slot store; read by whoever took the chain.
 */

_Static_assert(sizeof(struct lfslab_hdr) == 1024, "header is 16 lines");
_Static_assert(offsetof(struct lfslab_hdr, lockword) == LFSLAB_LINE, "line 1");
_Static_assert(offsetof(struct lfslab_hdr, reserved1) <= 2 * LFSLAB_LINE,
               "the run allocator fits line 1");
_Static_assert(offsetof(struct lfslab_hdr, page_lock) == 2 * LFSLAB_LINE, "line 2");
_Static_assert(sizeof(struct shmtx) == LFSLAB_LINE, "page_lock fills line 2");
_Static_assert(sizeof(struct lfslab_cls) == LFSLAB_LINE, "a class is one line");
_Static_assert(sizeof(struct lfslab_heap) == 2048, "a heap record is 2 KiB");
_Static_assert(sizeof(struct lfslab_stack) == LFSLAB_LINE, "a stack head is one line");
_Static_assert(sizeof(struct lfslab_desc) == LFSLAB_LINE, "a descriptor is one line");

/* ---------------------------------------------------------------------- */
/* Page kinds and states (§4)                                              */

/* lfslab_desc.kind */
#define K_FREE            0           /* in a free run */
#define K_SMALL           1           /* chunks of one class */
#define K_LARGE_HEAD      2           /* first page of an allocated run */
#define K_LARGE_TAIL      3           /* another page of it */

/* A small page's state, in its anchor. */
#define ST_FULL           0           /* chain empty, no owner, on no stack */
#define ST_ACTIVE         1           /* named by one slot or reserve */
#define ST_PARTIAL        2           /* 0 < count < maxcount, on a stack */
#define ST_EMPTY          3           /* count = maxcount, on a stack */

#define NOT_LISTED        0xFFFFFFFFu /* next_partial of a page on no stack */

/* ---------------------------------------------------------------------- */
/* Packed words (§3)                                                       */

/* Anchor: avail bits 0-13 (the chain's first chunk, A_NIL = none), count
 * 14-27 (the chain's length), state 28-29, tag 30-63 (a version). */
#define A_NIL             0x3FFFu
#define A_AVAIL(a)        ((unsigned) ((a) & 0x3FFF))
#define A_COUNT(a)        ((unsigned) (((a) >> 14) & 0x3FFF))
#define A_STATE(a)        ((unsigned) (((a) >> 28) & 3))
#define A_TAG(a)          ((a) >> 30)
#define A_PACK(avail, count, state, tag)                                      \
    ((uint64_t) (avail) | (uint64_t) (count) << 14 | (uint64_t) (state) << 28 \
     | (uint64_t) (tag) << 30)
/* The next version of anchor a, with new fields (the tag wraps in 34 bits). */
#define A_NEXT(a, avail, count, state) A_PACK(avail, count, state, A_TAG(a) + 1)

/* Slot and reserve: page + 1 (bits 0-31), cache head (32-47), cache length
 * (48-63). */
#define S_ACTIVE(s)       ((uint32_t) (s))
#define S_HEAD(s)         ((unsigned) (((s) >> 32) & 0xFFFF))
#define S_N(s)            ((unsigned) ((s) >> 48))
#define S_PACK(act, head, n)                                                  \
    ((uint64_t) (act) | (uint64_t) (head) << 32 | (uint64_t) (n) << 48)

/* Partial-stack head: top page + 1 (bits 0-31), tag (32-63, of which the
 * low LFSLAB_TAG_BITS count; lfslab.h). */
#if LFSLAB_TAG_BITS < 1 || LFSLAB_TAG_BITS > 32
#error "LFSLAB_TAG_BITS must be 1 .. 32"
#endif
#define P_TAG_MASK        ((uint32_t) (0xFFFFFFFFu >> (32 - LFSLAB_TAG_BITS)))
#define P_TOP(h)          ((uint32_t) (h))
#define P_TAG(h)          ((uint32_t) ((h) >> 32))
#define P_PACK(top, tag)  ((uint64_t) (top) | (uint64_t) ((uint32_t) (tag) & P_TAG_MASK) << 32)

/* ---------------------------------------------------------------------- */
/* Accessors                                                               */

/* Relaxed access to plain fields that another process may read. */
#define RD(x)             __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WR(x, v)          __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static inline struct lfslab_hdr *
lf_hdr(const struct zone *z)
{
    return (struct lfslab_hdr *) z->base;
}

static inline struct lfslab_heap *
lf_heap(const struct lfslab_hdr *h, unsigned w)
{
    return (struct lfslab_heap *) ((unsigned char *) h + h->heaps_off) + w;
}

static inline struct lfslab_desc *
lf_desc(const struct lfslab_hdr *h, uint32_t i)
{
    return (struct lfslab_desc *) ((unsigned char *) h + h->desc_off) + i;
}

/* Page i's run descriptor (pageruns.h). */
static inline struct slab_page *
lf_run(const struct lfslab_hdr *h, uint32_t i)
{
    return (struct slab_page *) ((unsigned char *) h + h->runs_off) + i;
}

static inline unsigned char *
lf_page(const struct lfslab_hdr *h, uint32_t i)
{
    return (unsigned char *) h + h->pages_off + ((uint64_t) i << h->page_shift);
}

/* The link word of chunk idx of page i. */
static inline uint32_t *
lf_link(const struct lfslab_hdr *h, uint32_t i, unsigned shift, unsigned idx)
{
    return (uint32_t *) (lf_page(h, i) + ((uint64_t) idx << shift));
}

/* The head of partial stack (v, c): worker v's (v = nworkers: the
 * non-workers') stack of class c. */
static inline _Atomic uint64_t *
lf_stack(const struct lfslab_hdr *h, unsigned v, unsigned c)
{
    return &lf_heap(h, v)->partial[c].head;
}

#endif
