/*
 * lfslab: nginx's slot geometry with no lock on the small-object path
 * (../shared/spec/lfslab.md; Michael, PLDI 2004, adapted).
 *
 * Requests of 0 .. P/2 bytes go to the 2^n classes 8, 16, ..., P/2, as in
 * the nginx slab; larger ones take runs of pages.  Each worker (a process
 * whose proc_index() is below nworkers) owns, per class, one *active* page
 * and a *private chain* of that page's free chunks, both in its heap record
 * in the zone.  Allocating, and freeing into its own active page, touch only
 * that record: no lock, no atomic read-modify-write.  Every other free (into
 * another worker's page, or a page nobody holds) is one compare-and-swap on
 * the page's descriptor *anchor*, a 64-bit word with the head and length of
 * the page's shared free chain and the page's state.  When its private chain
 * runs dry the owner takes the whole shared chain with one CAS; when both
 * are empty the page goes FULL and the worker pops a page with free chunks
 * from a *partial stack* of the class (a tagged Treiber stack of descriptor
 * indices), or takes a fresh page.  Pages and page runs come from nginx's
 * first-fit run allocator under one process-shared lock, page_lock; EMPTY
 * pages go back to it lazily, when a requester finds no free page
 * (scavenging).  Links are indices or offsets, never pointers: the zone reads
 * the same at any address (check and stats from `shmbench stat`).
 *
 * States of a small page, in its anchor:
 *
 *   ACTIVE   named by exactly one worker's slot or reserve; frees by others
 *            go on the anchor chain, the owner takes that chain when its
 *            cache is dry
 *   FULL     shared chain empty, no owner, in no stack (every chunk is live
 *            or in nobody's hands)
 *   PARTIAL  0 < count < maxcount, on a partial stack of its class
 *   EMPTY    count = maxcount, on a partial stack until popped (reused) or
 *            scavenged (page freed)
 *
 *   new page -> ACTIVE -(chain and cache dry)-> FULL -(a free)-> PARTIAL
 *   -(frees)-> EMPTY;  PARTIAL/EMPTY -(pop)-> ACTIVE;  EMPTY -(scavenge)-> FREE;
 *   FULL -(a worker's free, its reserve empty)-> ACTIVE (reserve)
 *
 * Partial stacks per worker (a deviation from the spec's one stack per
 * class).  The freer that turns a page FULL -> PARTIAL pushes it on its own
 * stack of that class; a worker that needs a page pops its own stack, and
 * only when that is empty the others' in turn (a steal), then takes a fresh
 * page.  With one stack per class both processes CAS the same line on
 * nearly every allocation of the big classes: a page with few chunks (2 of
 * 2048 bytes, 4 of 1024) is popped, drained and retired again at once, and
 * a random churn over sizes 8 .. 2048 pops 0.8 pages per allocation (the
 * stack is LIFO, so the page popped is the one just reopened, with one free
 * chunk).  Own stacks keep those lines in one cache in a local churn.
 * Processes that are not workers push on the stacks of the spare record.
 * Every stack is the spec's stack (same tag, same pop, same push).
 *
 * A reserve page per worker and class (a second deviation).  Even on own
 * stacks a page cycle costs four CASes (retire, push, pop, claim), and the
 * big classes cycle a page on most allocations.  So a worker whose free
 * turns a page FULL -> PARTIAL and whose reserve in that class is empty
 * adopts the page instead: the same one CAS makes it ACTIVE (not PARTIAL),
 * the chunk goes on the reserve's private cache, and nothing is pushed.
 * The worker's own later frees into it are private too; when its active
 * page runs dry the reserve takes its place with no CAS.  A page cycle then
 * costs one CAS (the retire).  The price: a worker holds up to 2 * NC pages
 * (active and reserve per class) that no one else can use or scavenge,
 * where the spec says NC; a worker that finds no free page even after a
 * scavenge gives its own reserves back (one CAS each returns the private
 * cache to the anchor) and scavenges again before it fails.
 *
 * Zone layout (P = page, NC = log2 P - 3 classes, 64-byte lines; every link
 * is an index + 1 with 0 = none, or an offset from the zone base):
 *
 *   0      header line 0, fixed after init: magic, version, page shift, NC,
 *          nworkers, npages, zone size, offsets of heaps/descriptors/pages
 *   64     line 1: page_lock's lock words, free-run list sentinel, free pages
 *   128    line 2: page_lock's process part (struct shmtx)
 *   192    reserved to 1024
 *   1024   nworkers + 1 heap records of 2 KiB: per class one line {slot,
 *          reserve, allocs, frees, fails, pages_in, pages_out, busy}; per
 *          class one line with the head of the worker's partial stack {top,
 *          tag}; then pid and the worker's other counters.  The last record is the
 *          non-workers': their counts (atomic adds: they may be many) and
 *          the stacks they push on.  One line per class for slot and
 *          counters (the spec has three lines per worker), so that an
 *          allocation writes one line; the stack heads apart, as other
 *          processes CAS them.
 *   desc   one 64-byte descriptor per page: anchor, next_partial, kind,
 *          class, shift, owner, maxcount
 *   runs   one nginx page descriptor (struct slab_page, 24 bytes) per page,
 *          for the page-run allocator alone (pageruns.h)
 *   pages  P-aligned; chunk k of page i at pages_off + i*P + (k << shift)
 *
 * A free chunk's first 4 bytes hold the index of the next free chunk (NIL =
 * 0x3FFF ends a chain); there is no in-page bitmap.
 *
 * Anchor: avail bits 0-13, count 14-27, state 28-29, tag 30-63.  Slot (and
 * reserve): page + 1 (bits 0-31), cache head (32-47), cache length (48-63).
 * Partial head: top page + 1 (bits 0-31), tag (32-63).
 *
 * Memory ordering.  Every atomic is at most 64 bits and lock-free (asserted
 * below; no 128-bit CAS, which libatomic may implement with a per-process
 * lock).  Nothing needs store-to-load order across locations, so there is no
 * seq_cst anywhere:
 *
 *   anchor load before a CAS    relaxed: it only feeds the CAS, which checks
 *   free's anchor CAS           release (fail relaxed): publishes the link
 *                               written into the chunk and the user's last
 *                               writes to it, to whoever takes the chain
 *   refill's and claim's CAS    acquire (fail relaxed): every change of an
 *   (taking the whole chain)    anchor is an RMW, so this syncs with every
 *                               free that built the chain: its links and the
 *                               freers' writes to the chunks are visible
 *   adoption CAS (FULL->ACTIVE) acquire (fail relaxed): as a claim; the
 *                               chunk goes to a private cache, so there is
 *                               nothing to publish
 *   giving a reserve back       release (fail relaxed), as a free: publishes
 *                               the private chain it appends
 *   retire CAS (ACTIVE->FULL)   release (the spec says relaxed): the owner
 *                               field is cleared before it, and a later
 *                               claimer (acquiring through the freer's CAS,
 *                               which is in this release sequence) must not
 *                               see its own owner store overwritten
 *   scavenger's anchor load     acquire: the page goes back to the page
 *                               allocator, and the last freers' writes must
 *                               happen before the next user's
 *   new page: anchor store,     relaxed, then kind stored with release: the
 *   class, shift, maxcount,     descriptor is published by the kind store
 *   owner, next_partial         (a freer loads kind with acquire first)
 *   kind store / load           release / acquire, as just said
 *   chunk link                  relaxed: ordered by the anchor CASes around
 *                               it; atomic so that a racing double free is
 *                               not undefined behaviour
 *   partial push CAS            release (fail relaxed): publishes the
 *                               pushed page's next_partial and anchor
 *   partial head load, pop CAS  acquire, both outcomes: the popper reads the
 *                               pusher's next_partial of the top it saw; a
 *                               steal's first look at a head is relaxed (it
 *                               only skips empty stacks)
 *   next_partial store          relaxed: ordered by the head CASes
 *   slots, counters, busy,      relaxed: each has one writer (the owner, or
 *   owner, pid                  whoever holds the page); check and stats
 *                               only read them, quiescent
 *   page_lock                   acquire / release (shmtx): guards the run
 *                               descriptors, free_runs, free_pages
 *
 * The application's own release/acquire handoff of a block (a ring, a
 * queue) is what publishes the block's descriptor to the process that frees
 * it; the kind load's acquire covers the case where it does not.
 *
 * ABA.  Descriptors never move or die, so a stale read is harmless; a page
 * is recycled only when it goes FREE, and only the sole holder of an EMPTY,
 * unlisted page frees it.
 *
 *  - Partial stacks (the tag is needed).  A pop reads top = d and d's next,
 *    then CASes {d, t} -> {next, t+1}.  If meanwhile d is popped, its
 *    successor popped, and d pushed back, an untagged CAS would install a
 *    stale next: one page, two owners.  With own stacks this needs a second
 *    popper on the same head (a stealer, or the owner while a stealer
 *    stalls) or the scavenger pushing back; it stays possible.  The 32-bit
 *    tag, bumped by every push and pop, makes that CAS fail unless the
 *    popper stalls between its read and its CAS across exactly k * 2^32
 *    operations on that one head and finds d on top again: 4.3e9
 *    operations, 40 s at 1e8 ops/s and over two minutes at the ~3e7/s one
 *    contended line allows.  Only a stopped process (SIGSTOP, a debugger)
 *    stalls that long; accepted, as the spec accepts it.  -DLFSLAB_TAG_BITS=2
 *    narrows the tag for the mutation test (tests/lfslab.cmake), which is
 *    then caught (impossible states, or two live blocks overlapping).
 *  - Anchor (the tag is a version, not needed).  Michael's allocator pops
 *    single blocks: a reader of avail = A, next = B can be overtaken.  Here
 *    the owner takes whole chains and reads nothing but the anchor before
 *    its CAS, and a push's new value depends only on the head it links to;
 *    a claim, refill or give-back CAS that succeeds on a recycled value
 *    meets a chain that, having only grown by pushes since, is the chain it
 *    read.  The 34-bit tag wraps after 1.7e10 CASes on one anchor (172 s at
 *    1e8/s); a wrap is harmless.
 *  - Slots and caches have one writer each: no ABA.
 *
 * A popped page that is not PARTIAL or EMPTY, or a stack link out of range,
 * is an impossible state in a correct build: it is counted (the heap's
 * `corrupt`), named in diag, and makes check fail; the page is left alone.
 *
 * Bad frees (lock-free, so only what one look can see) are refused with -1,
 * a diag message, and the zone unchanged: a pointer outside the page area;
 * into a FREE page or a run's tail; into a run not at its start; off a chunk
 * boundary; the chunk at the head of the anchor chain or of the caller's own
 * cache (an immediate double free); into a page whose anchor says EMPTY or
 * holds maxcount chunks; into one's own active or reserve page whose cache
 * holds them all.  NOT detected: a double free of a chunk deep in a chain
 * (or in a cache) while its page has live chunks; a stale pointer into a
 * page reissued to another class or run; a double free racing a refill.
 * These corrupt a chain (a chunk handed out twice); check usually finds it
 * later.  Refusals are not counted in the zone, so that it stays byte for
 * byte unchanged.
 *
 * A worker killed mid-operation (spec §10): every shared change is one CAS,
 * so nothing is half-linked and no small operation waits for the dead.  It
 * leaks its active and reserve pages (frees into them still work), one
 * chunk if killed between taking and returning it, the chain it took if
 * killed between a refill's CAS and its slot store, and, if killed between
 * a pop and its slot store, between FULL->PARTIAL and the push, or between
 * an adoption and the reserve store, that page (an *orphan*).  check reports
 * orphans apart from errors, and tells a worker that died in a slow path by
 * its `busy` word (set around refill, pop, claim, new page and giving a
 * reserve back; two stores to a line the worker owns, off the fast path):
 * counters of such a class may then disagree with the pages, which check
 * notes instead of failing.  Killed holding page_lock, it stops page traffic
 * until the master calls shmtx_force_unlock(lfslab_page_lock(z)), and the
 * runs may be half-updated: no repair is promised.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "subject/lfslab.h"
#include "subject/pageruns.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lfslab needs lock-free 64-bit atomics");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lfslab needs lock-free 32-bit atomics");

#define LFSLAB_MAGIC      0x424c464cu      /* "LFLB" */
#define LFSLAB_VERSION    2
#define LFSLAB_MIN_SHIFT  3
#define LFSLAB_SHIFT_MIN  12
#define LFSLAB_SHIFT_MAX  16
#define LFSLAB_NC_MAX     (LFSLAB_SHIFT_MAX - LFSLAB_MIN_SHIFT)
#define LFSLAB_LINE       64

/* Workers: proc_index() 0 .. PROC_MAX-2 can be given (proc.h); owner is a
 * u16 with 0xFFFF for none. */
#define LFSLAB_WORKERS_MAX (PROC_MAX - 1)
#define LFSLAB_NO_OWNER    0xFFFF

#define NOT_LISTED        0xFFFFFFFFu

/* Page kinds. */
#define K_FREE            0
#define K_SMALL           1
#define K_LARGE_HEAD      2
#define K_LARGE_TAIL      3

/* Anchor states. */
#define ST_FULL           0
#define ST_ACTIVE         1
#define ST_PARTIAL        2
#define ST_EMPTY          3

/* Anchor: avail 14 bits, count 14, state 2, tag 34. */
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

/* Slot: active page + 1, cache head, cache length. */
#define S_ACTIVE(s)       ((uint32_t) (s))
#define S_HEAD(s)         ((unsigned) (((s) >> 32) & 0xFFFF))
#define S_N(s)            ((unsigned) ((s) >> 48))
#define S_PACK(act, head, n)                                                  \
    ((uint64_t) (act) | (uint64_t) (head) << 32 | (uint64_t) (n) << 48)

/* Partial-stack head: top page + 1, tag. */
#ifndef LFSLAB_TAG_BITS
#define LFSLAB_TAG_BITS   32
#endif
#if LFSLAB_TAG_BITS < 1 || LFSLAB_TAG_BITS > 32
#error "LFSLAB_TAG_BITS must be 1 .. 32"
#endif
#define P_TAG_MASK        ((uint32_t) (0xFFFFFFFFu >> (32 - LFSLAB_TAG_BITS)))
#define P_TOP(h)          ((uint32_t) (h))
#define P_TAG(h)          ((uint32_t) ((h) >> 32))
#define P_PACK(top, tag)  ((uint64_t) (top) | (uint64_t) ((uint32_t) (tag) & P_TAG_MASK) << 32)

/*
 * Test hooks (only with -DLFSLAB_TEST_HOOKS): a test sets lfslab_test_hook to
 * stall in the pop window (the ABA mutation test) or to stop at the points
 * where a crash leaves an orphan.  The numbers are part of the test's
 * contract (tests/test_lfslab.c).
 */
#define LF_HOOK_POP_WINDOW   1   /* pop: next read, CAS not yet done */
#define LF_HOOK_POPPED       2   /* pop: CAS won, page not yet claimed */
#define LF_HOOK_FREED_FULL   3   /* free: FULL -> PARTIAL done, not yet pushed */
#ifdef LFSLAB_TEST_HOOKS
void (*lfslab_test_hook)(int point, unsigned page);
#define LF_HOOK(pt, pg)                                                       \
    do {                                                                      \
        if (lfslab_test_hook) {                                               \
            lfslab_test_hook(pt, pg);                                         \
        }                                                                     \
    } while (0)
#else
#define LF_HOOK(pt, pg) ((void) 0)
#endif

/*
 * The worker index: proc_index(), or, in the thread-mode test build
 * (-DLFSLAB_THREAD_INDEX, for ThreadSanitizer, which cannot follow
 * processes), a per-thread index that the test sets: threads then stand in
 * for processes.
 */
#ifdef LFSLAB_THREAD_INDEX
_Thread_local int lfslab_thread_index = -1;
#define LF_INDEX() (lfslab_thread_index >= 0 ? lfslab_thread_index : proc_index())
#else
#define LF_INDEX() proc_index()
#endif

/* Relaxed access to plain fields that another process may read. */
#define RD(x)             __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WR(x, v)          __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

struct lfslab_hdr {
    /* line 0: fixed after init */
    uint32_t magic;
    uint32_t version;
    uint8_t  page_shift;
    uint8_t  nclasses;
    uint16_t nworkers;
    uint32_t npages;
    uint64_t zone_size;
    uint64_t heaps_off;
    uint64_t desc_off;
    uint64_t pages_off;
    uint64_t runs_off;
    uint64_t reserved0;
    /* line 1: the page-run allocator, under page_lock */
    struct shmtx_lockword lockword;
    struct slab_page free_runs;       /* the free-run list's sentinel (pageruns.h) */
    uint64_t free_pages;
    uint64_t reserved1[2];
    /* line 2 */
    struct shmtx page_lock;
    /* lines 3 .. 15 */
    uint64_t reserved2[8 * 13];
};

/* One class of one worker: one cache line. */
struct lfslab_cls {
    _Atomic uint64_t slot;            /* S_PACK(active page + 1, cache head, cache n) */
    _Atomic uint64_t reserve;         /* the same for the reserve page */
    uint64_t allocs;                  /* chunks handed out */
    uint64_t frees;                   /* chunks freed (by this process) */
    uint64_t fails;                   /* requests that got NULL */
    uint64_t pages_in;                /* fresh pages formatted for the class */
    uint64_t pages_out;               /* EMPTY pages of the class scavenged */
    uint64_t busy;                    /* 1 while in a slow path (refill, pop,
                                         claim, new page): a worker found dead
                                         with it set died there (check) */
};

/* A partial stack: one line, written by pushers, poppers, the scavenger. */
struct lfslab_stack {
    _Atomic uint64_t head;            /* P_PACK(top page + 1, tag) */
    uint64_t         reserved[7];
};

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
    uint64_t large_allocs;
    uint64_t large_fails;
    uint64_t large_frees;
    uint64_t scavenges;
    uint64_t corrupt;                 /* impossible states met (see above) */
    uint64_t steals;                  /* pages popped from another's stack */
    uint64_t adopts;                  /* FULL pages taken as reserve by a free */
    uint64_t promotes;                /* reserve pages made active */
    uint64_t reserved1[33];
};

struct lfslab_desc {
    _Atomic uint64_t anchor;
    _Atomic uint32_t next_partial;    /* next page + 1 in the stack, 0 = end,
                                         NOT_LISTED = in no stack */
    _Atomic uint8_t  kind;
    uint8_t          cls;
    uint8_t          shift;
    uint8_t          reserved0;
    uint16_t         owner;           /* worker whose slot holds it, or none */
    uint16_t         maxcount;        /* P >> shift */
    uint32_t         reserved1;
    uint64_t         reserved2[5];
};

_Static_assert(sizeof(struct lfslab_hdr) == 1024, "header is 16 lines");
_Static_assert(offsetof(struct lfslab_hdr, lockword) == 64, "line 1");
_Static_assert(offsetof(struct lfslab_hdr, reserved1) <= 128, "the run allocator fits line 1");
_Static_assert(offsetof(struct lfslab_hdr, page_lock) == 128, "line 2");
_Static_assert(sizeof(struct shmtx) == 64, "page_lock fills line 2");
_Static_assert(sizeof(struct lfslab_cls) == LFSLAB_LINE, "a class is one line");
_Static_assert(sizeof(struct lfslab_heap) == 2048, "a heap record is 2 KiB");
_Static_assert(sizeof(struct lfslab_stack) == LFSLAB_LINE, "a stack head is one line");
_Static_assert(sizeof(struct lfslab_desc) == LFSLAB_LINE, "a descriptor is one line");

/* Exported for tests and the driver: see lfslab.h. */

/* ---------------------------------------------------------------------- */
/* Geometry                                                                */

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

static int
lf_page_shift(size_t page_size)
{
    unsigned s;

    for (s = LFSLAB_SHIFT_MIN; s <= LFSLAB_SHIFT_MAX; s++) {
        if (page_size == (size_t) 1 << s) {
            return (int) s;
        }
    }
    return -1;
}

/* Bytes of metadata per page: its descriptor and its run descriptor. */
#define LF_PAGE_META      (sizeof(struct lfslab_desc) + sizeof(struct slab_page))

static unsigned
lf_param_workers(const struct alloc_params *p)
{
    return p->nworkers < LFSLAB_WORKERS_MAX ? p->nworkers : LFSLAB_WORKERS_MAX;
}

struct lf_layout {
    uint64_t heaps_off, desc_off, runs_off, pages_off;
    uint32_t npages;
};

/* The layout of a zone of `size` bytes; 0 pages if none fit. */
static uint32_t
lf_layout(uint64_t size, unsigned shift, unsigned nworkers, struct lf_layout *l)
{
    uint64_t P = (uint64_t) 1 << shift, n;

    l->heaps_off = sizeof(struct lfslab_hdr);
    l->desc_off = l->heaps_off + (uint64_t) (nworkers + 1) * sizeof(struct lfslab_heap);
    l->runs_off = 0;
    l->pages_off = 0;
    l->npages = 0;
    if (size <= l->desc_off) {
        return 0;
    }
    n = (size - l->desc_off) / (P + LF_PAGE_META);
    if (n > 0xFFFFFFF0u) {
        n = 0xFFFFFFF0u;
    }
    for (; n > 0; n--) {
        l->runs_off = l->desc_off + n * sizeof(struct lfslab_desc);
        l->pages_off = (l->runs_off + n * sizeof(struct slab_page) + P - 1) & ~(P - 1);
        if (l->pages_off + n * P <= size) {
            break;
        }
    }
    l->npages = (uint32_t) n;
    return l->npages;
}

/* ---------------------------------------------------------------------- */
/* Counters: a worker's own record takes plain relaxed updates, the shared  */
/* record of non-workers atomic adds.                                       */

struct lf_ctx {
    struct lfslab_hdr  *h;
    struct lfslab_heap *me;
    unsigned            w;            /* worker index, or nworkers */
    int                 shared;       /* me is the non-workers' record */
};

static inline void
lf_add(const struct lf_ctx *x, uint64_t *field, uint64_t v)
{
    if (x->shared) {
        __atomic_add_fetch(field, v, __ATOMIC_RELAXED);
    } else {
        WR(*field, RD(*field) + v);
    }
}

static inline void
lf_ctx_of(struct zone *z, struct lf_ctx *x)
{
    int idx = LF_INDEX();

    x->h = lf_hdr(z);
    x->shared = idx < 0 || (unsigned) idx >= x->h->nworkers;
    x->w = x->shared ? x->h->nworkers : (unsigned) idx;
    x->me = lf_heap(x->h, x->w);
}

/* ---------------------------------------------------------------------- */
/* Page runs: nginx's allocator (pageruns.h) over the run descriptors,      */
/* under page_lock.  Its descriptors say free or allocated; `kind` says     */
/* what an allocated page is, for the lock-free paths.                       */

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

/* Return pages i .. i+k-1: kind FREE, then nginx's merge and push (§7.3). */
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

/* The length of the allocated run at page i. */
static inline uint32_t
lf_run_pages(const struct lfslab_hdr *h, uint32_t i)
{
    return (uint32_t) (RD(lf_run(h, i)->slab) & ~SLAB_PAGE_START);
}

/* ---------------------------------------------------------------------- */
/* Partial stacks                                                           */

static inline _Atomic uint64_t *
lf_stack(const struct lfslab_hdr *h, unsigned v, unsigned c)
{
    return &lf_heap(h, v)->partial[c].head;
}

/* Push the chain first .. last (linked by next_partial) on stack (v, c). */
static void
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

static void
lf_corrupt(const struct lf_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An impossible state: count it where check will see it, say what. */
static void
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
        LF_HOOK(LF_HOOK_POP_WINDOW, P_TOP(old) - 1);
        if (atomic_compare_exchange_weak_explicit(head, &old,
                P_PACK(next, P_TAG(old) + 1),
                memory_order_acquire, memory_order_acquire))
        {
            break;
        }
        lf_add(x, &x->me->retries, 1);
    }
    LF_HOOK(LF_HOOK_POPPED, P_TOP(old) - 1);
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
/* Small allocation (spec §4)                                               */

/* Step 2: take the active page's shared chain into the cache (0), or, if
 * it is empty, retire the page as FULL and clear the slot (-1). */
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

/* Step 3: claim popped page i: take its chain, make it ACTIVE in our slot. */
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

static void lf_scavenge(const struct lf_ctx *x);
static unsigned lf_release_reserves(const struct lf_ctx *x);

/* Step 4: a fresh page from the page allocator, all its chunks cached. */
static int
lf_new_page(const struct lf_ctx *x, unsigned c, uint64_t *s)
{
    struct lfslab_hdr  *h = x->h;
    struct lfslab_desc *d;
    unsigned            shift = c + LFSLAB_MIN_SHIFT, n, max;
    uint32_t           *link;
    int64_t             i;
    int                 scavenged = 0;
    uint64_t            old;

    max = (unsigned) (((uint64_t) 1 << h->page_shift) >> shift);
    shmtx_lock(&h->page_lock);
    lf_add(x, &x->me->lock_acq, 1);
    i = lf_take_pages(h, 1);
    if (i < 0) {
        lf_scavenge(x);
        scavenged = 1;
        i = lf_take_pages(h, 1);
        if (i < 0 && lf_release_reserves(x) > 0) {
            lf_scavenge(x);
            i = lf_take_pages(h, 1);
        }
    }
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

    if (i < 0) {
        /* The scavenger pushed pages with free chunks back: one more look. */
        if (scavenged && (i = lf_pop(x, c)) >= 0) {
            return lf_claim(x, c, (uint32_t) i, s);
        }
        return -1;
    }
    for (n = 0; n + 1 < max; n++) {
        link = lf_link(h, (uint32_t) i, shift, n);
        __atomic_store_n(link, n + 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(lf_link(h, (uint32_t) i, shift, max - 1), A_NIL, __ATOMIC_RELAXED);
    *s = S_PACK((uint32_t) i + 1, 0, max);
    atomic_store_explicit(&x->me->cls[c].slot, *s, memory_order_relaxed);
    return 0;
}

/* Steps 2-4: refill, else a popped page, else a fresh one; 0 with a
 * non-empty cache in *s, -1 if there is no chunk of the class. */
static int
lf_alloc_slow(const struct lf_ctx *x, unsigned c, uint64_t *s)
{
    int64_t  i;
    uint32_t tries;

    struct lfslab_cls *k = &x->me->cls[c];
    uint64_t           r;

    if (S_ACTIVE(*s) != 0 && lf_refill(x, c, s) == 0) {
        return 0;
    }
    /* The reserve page becomes the active one, with its cache: no CAS.  The
     * reserve word is cleared first: a crash between the stores leaves an
     * orphan, never a page in two slots. */
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
    /* A correct stack gives a claimable page at once; a corrupt one (see
     * lf_claim) cannot keep us here for more than a pass over the pages. */
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
    /* Step 1: the head of the private cache. */
    chunk = lf_link(x->h, S_ACTIVE(s) - 1, shift, S_HEAD(s));
    next = __atomic_load_n(chunk, __ATOMIC_RELAXED);
    atomic_store_explicit(&k->slot, S_PACK(S_ACTIVE(s), next, S_N(s) - 1),
                          memory_order_relaxed);
    lf_add(x, &k->allocs, 1);
    return chunk;
}

/* ---------------------------------------------------------------------- */
/* Scavenging (spec §5), page_lock held: take each partial stack whole,     */
/* free its EMPTY pages, push the others back in their order.               */

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
/* Large requests                                                           */

static void *
lf_alloc_large(const struct lf_ctx *x, size_t size)
{
    struct lfslab_hdr *h = x->h;
    uint64_t           P = (uint64_t) 1 << h->page_shift, k;
    int64_t            i;
    uint32_t           n;

    if (size > (uint64_t) h->npages * P) {
        lf_add(x, &x->me->large_fails, 1);
        diag_set("lfslab_alloc(): %zu bytes exceed the zone's %u pages", size, h->npages);
        return NULL;
    }
    k = (size + P - 1) >> h->page_shift;
    shmtx_lock(&h->page_lock);
    lf_add(x, &x->me->lock_acq, 1);
    i = lf_take_pages(h, (uint32_t) k);
    if (i < 0) {
        lf_scavenge(x);
        i = lf_take_pages(h, (uint32_t) k);
        if (i < 0 && lf_release_reserves(x) > 0) {
            lf_scavenge(x);
            i = lf_take_pages(h, (uint32_t) k);
        }
    }
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

static void *
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
/* Free (spec §4, §9)                                                       */

/* What a pointer refers to, found without writing anything. */
struct lf_block {
    uint32_t            page;
    struct lfslab_desc *d;
    unsigned            kind;
    unsigned            cls, shift, idx, maxcount;   /* small */
    uint32_t            pages;                       /* large */
};

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

static int
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

/* Steps 3-4: one CAS on the page's anchor; if the page was FULL, this freer
 * alone pushes it on its own stack of the class, or, if it is a worker with
 * no reserve page in the class, adopts it as its reserve: FULL -> ACTIVE,
 * the chunk into the reserve's private cache, no push. */
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
        LF_HOOK(LF_HOOK_FREED_FULL, b->page);
        lf_push(x, x->w, b->cls, b->page, b->page);
    }
    return 0;
}

/* Step 2: a free into one of our own pages (active or reserve) goes on its
 * private cache, `word`: no atomic read-modify-write. */
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

static int
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

static size_t
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

/* ---------------------------------------------------------------------- */
/* Set-up                                                                   */

static size_t
lfslab_min_zone_size(const struct alloc_params *p)
{
    size_t page = p->page_size;
    size_t desc_off = sizeof(struct lfslab_hdr)
                      + (lf_param_workers(p) + 1) * sizeof(struct lfslab_heap);

    if (lf_page_shift(page) < 0) {
        return 0;
    }
    return ((desc_off + LF_PAGE_META + page - 1) & ~(page - 1)) + page;
}

static size_t
lfslab_zone_align(const struct alloc_params *p)
{
    return p->page_size;
}

static int
lfslab_init(struct zone *z, const struct alloc_params *p)
{
    struct lfslab_hdr  *h = lf_hdr(z);
    struct lfslab_desc *d;
    struct lf_layout    l;
    size_t              page = p->page_size;
    int                 shift = lf_page_shift(page);
    unsigned            nworkers = lf_param_workers(p);
    uint32_t            i;
    struct pageruns     runs;

    if (shift < 0) {
        diag_set("lfslab_init(): page size %zu is not a power of two between %d and %d",
                 page, 1 << LFSLAB_SHIFT_MIN, 1 << LFSLAB_SHIFT_MAX);
        return -1;
    }
    if (((uintptr_t) z->base & (page - 1)) != 0) {
        diag_set("lfslab_init(): zone base is not aligned to the %zu-byte page", page);
        return -1;
    }
    if (lf_layout(z->size, (unsigned) shift, nworkers, &l) == 0) {
        diag_set("lfslab_init(): zone of %zu bytes is too small: lfslab with %zu-byte "
                 "pages and %u workers needs at least %zu bytes", z->size, page, nworkers,
                 lfslab_min_zone_size(p));
        return -1;
    }

    memset(z->base, 0, l.pages_off);
    h->magic = LFSLAB_MAGIC;
    h->version = LFSLAB_VERSION;
    h->page_shift = (uint8_t) shift;
    h->nclasses = (uint8_t) (shift - LFSLAB_MIN_SHIFT);
    h->nworkers = (uint16_t) nworkers;
    h->npages = l.npages;
    h->zone_size = z->size;
    h->heaps_off = l.heaps_off;
    h->desc_off = l.desc_off;
    h->runs_off = l.runs_off;
    h->pages_off = l.pages_off;
    if (shmtx_create(&h->page_lock, &h->lockword, z->ctl ? z->ctl->lockstat : NULL, 0) != 0) {
        diag_clear();       /* works without the semaphore, as nginx does */
    }
    for (i = 0; i < l.npages; i++) {
        d = lf_desc(h, i);
        atomic_store_explicit(&d->next_partial, NOT_LISTED, memory_order_relaxed);
        d->owner = LFSLAB_NO_OWNER;
    }
    runs = lf_runs(h);
    pageruns_format(&runs, l.npages);       /* one run of every page, as nginx */

    return 0;
}

static int
lfslab_attach(struct zone *z)
{
    struct lfslab_hdr *h = lf_hdr(z);
    int                idx = LF_INDEX();

    if (idx < 0 || (unsigned) idx >= h->nworkers) {
        diag_set("lfslab_attach(): process index %d is not a worker of this zone "
                 "(nworkers %u; proc_set_index() gives one)", idx, h->nworkers);
        return -1;
    }
    WR(lf_heap(h, (unsigned) idx)->pid, (int32_t) proc_pid());
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Statistics: read only, from any mapping; bounded where they walk.        */

static int
lf_header_sane(const struct zone *z)
{
    const struct lfslab_hdr *h = lf_hdr(z);
    struct lf_layout         l;

    return z->size >= sizeof(*h) && h->magic == LFSLAB_MAGIC
           && h->page_shift >= LFSLAB_SHIFT_MIN && h->page_shift <= LFSLAB_SHIFT_MAX
           && h->nworkers >= 1 && h->nworkers <= LFSLAB_WORKERS_MAX
           && lf_layout(z->size, h->page_shift, h->nworkers, &l) == h->npages
           && h->npages > 0 && l.desc_off == h->desc_off && l.pages_off == h->pages_off
           && l.heaps_off == h->heaps_off && l.runs_off == h->runs_off;
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

static int
lfslab_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    const struct lfslab_hdr *h = lf_hdr(z);
    struct lf_run_walk       w = { fn, arg, 0, 0, 0 };
    int                      rc;

    if (!lf_header_sane(z)) {
        return -1;
    }
    w.shift = h->page_shift;
    w.npages = h->npages;
    rc = pageruns_walk(z->base, offsetof(struct lfslab_hdr, free_runs), h->runs_off,
                       h->runs_off + (uint64_t) h->npages * sizeof(struct slab_page),
                       lf_run_at, &w);
    return w.bad ? -1 : rc;
}

static int
lf_max_run(void *arg, uint64_t off, uint64_t len)
{
    uint64_t *max = arg;

    (void) off;
    if (len > *max) {
        *max = len;
    }
    return 0;
}

static void
lfslab_stats(struct zone *z, struct alloc_stats *out)
{
    const struct lfslab_hdr  *h = lf_hdr(z);
    const struct lfslab_heap *hp;
    uint64_t                  P, in, outp, max = 0;
    unsigned                  c, w;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    if (!lf_header_sane(z)) {
        return;
    }
    P = (uint64_t) 1 << h->page_shift;
    out->page_size = P;
    out->pages = h->npages;
    out->data_bytes = (uint64_t) h->npages * P;
    out->pages_free = RD(h->free_pages);
    out->free_bytes = out->pages_free * P;
    if (lfslab_each_free_run(z, lf_max_run, &max) == 0) {
        out->largest_free = max;
    }
    out->footprint = h->pages_off + (out->pages - out->pages_free) * P;
    out->nslots = h->nclasses;
    for (c = 0; c < h->nclasses; c++) {
        out->slot[c].size = (uint64_t) 8 << c;
        in = outp = 0;
        for (w = 0; w <= h->nworkers; w++) {
            hp = lf_heap(h, w);
            out->slot[c].used += RD(hp->cls[c].allocs) - RD(hp->cls[c].frees);
            out->slot[c].reqs += RD(hp->cls[c].allocs) + RD(hp->cls[c].fails);
            out->slot[c].fails += RD(hp->cls[c].fails);
            in += RD(hp->cls[c].pages_in);
            outp += RD(hp->cls[c].pages_out);
        }
        out->slot[c].total = (in - outp) * (P >> (c + LFSLAB_MIN_SHIFT));
        out->fails += out->slot[c].fails;
    }
    for (w = 0; w <= h->nworkers; w++) {
        out->fails += RD(lf_heap(h, w)->large_fails);
    }
}

static size_t
lfslab_data_offset(struct zone *z)
{
    return (size_t) lf_hdr(z)->pages_off;
}

struct shmtx *
lfslab_page_lock(struct zone *z)
{
    return &lf_hdr(z)->page_lock;
}

uint64_t
lfslab_counter(struct zone *z, const char *name)
{
    static const struct { const char *name; size_t off; } global[] = {
        { "remote", offsetof(struct lfslab_heap, remote) },
        { "retries", offsetof(struct lfslab_heap, retries) },
        { "refills", offsetof(struct lfslab_heap, refills) },
        { "pops", offsetof(struct lfslab_heap, pops) },
        { "retires", offsetof(struct lfslab_heap, retires) },
        { "lock_acq", offsetof(struct lfslab_heap, lock_acq) },
        { "large_allocs", offsetof(struct lfslab_heap, large_allocs) },
        { "large_fails", offsetof(struct lfslab_heap, large_fails) },
        { "large_frees", offsetof(struct lfslab_heap, large_frees) },
        { "scavenges", offsetof(struct lfslab_heap, scavenges) },
        { "corrupt", offsetof(struct lfslab_heap, corrupt) },
        { "steals", offsetof(struct lfslab_heap, steals) },
        { "adopts", offsetof(struct lfslab_heap, adopts) },
        { "promotes", offsetof(struct lfslab_heap, promotes) },
    };
    static const struct { const char *name; size_t off; } perclass[] = {
        { "allocs", offsetof(struct lfslab_cls, allocs) },
        { "frees", offsetof(struct lfslab_cls, frees) },
        { "fails", offsetof(struct lfslab_cls, fails) },
        { "pages_in", offsetof(struct lfslab_cls, pages_in) },
        { "pages_out", offsetof(struct lfslab_cls, pages_out) },
    };
    const struct lfslab_hdr *h = lf_hdr(z);
    const unsigned char     *rec;
    uint64_t                 sum = 0;
    unsigned                 w, c;
    size_t                   i;

    if (!lf_header_sane(z)) {
        return UINT64_MAX;
    }
    for (i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
        if (strcmp(name, global[i].name) == 0) {
            for (w = 0; w <= h->nworkers; w++) {
                rec = (const unsigned char *) lf_heap(h, w);
                sum += __atomic_load_n((const uint64_t *) (rec + global[i].off),
                                       __ATOMIC_RELAXED);
            }
            return sum;
        }
    }
    for (i = 0; i < sizeof(perclass) / sizeof(perclass[0]); i++) {
        if (strcmp(name, perclass[i].name) == 0) {
            for (w = 0; w <= h->nworkers; w++) {
                for (c = 0; c < h->nclasses; c++) {
                    rec = (const unsigned char *) &lf_heap(h, w)->cls[c];
                    sum += __atomic_load_n((const uint64_t *) (rec + perclass[i].off),
                                           __ATOMIC_RELAXED);
                }
            }
            return sum;
        }
    }
    return UINT64_MAX;
}

/* ---------------------------------------------------------------------- */
/* check (spec §8): quiescent; trusts nothing it reads; never writes.       */
/* Errors stop it with -1.  Orphans (§10) and what a dead worker leaves are  */
/* written to the report as "orphan:" / "note:" lines and do not fail it.    */

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

static int
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

const struct allocator_ops lfslab_allocator = {
    .name = "lfslab",
    .summary = "nginx's 2^n slots with no lock on the small path (per-worker pages, "
               "one CAS per cross-process free); page runs and large requests take "
               "the page lock",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE | ALLOC_SLOT_STATS
            | ALLOC_BAD_FREE_DETECTED | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME,
    .min_zone_size = lfslab_min_zone_size,
    .zone_align = lfslab_zone_align,
    .init = lfslab_init,
    .attach = lfslab_attach,
    .alloc = lfslab_alloc,
    .free = lfslab_free,
    .usable_size = lfslab_usable_size,
    .stats = lfslab_stats,
    .check = lfslab_check,
    .data_offset = lfslab_data_offset,
    .each_free_run = lfslab_each_free_run,
};
