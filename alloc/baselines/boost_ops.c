/*
 * boost_ops: the `boost-rbtree` and `boost-seqfit` allocators, Boost.Interprocess's
 * own memory algorithms (boost_ipc.h, boost_ipc.cpp) over the zone.  This is
 * what a C++ user picks today for shared memory, the peer the paper compares
 * against: Boost's defaults, measured, not tuned.
 *
 * Layout of the zone:
 *
 *   base                                   base + BOOST_HDR_SIZE
 *   | struct boost_hdr: ours             | Boost's segment: segment manager (the
 *   | (magic, algorithm, geometry)       | algorithm's header and its mutex),
 *   |                                    | then Boost's blocks, to the zone's end |
 *
 * Everything Boost keeps in the segment links by offset_ptr, and our header
 * holds offsets, so the segment is valid at any mapping address.  init
 * (master, before fork) creates the segment; attach (each process) opens it,
 * which for an external buffer only records the address: that handle is the
 * process-private state in z->priv, closed by fini.  Allocation failures are
 * counted in the zone control block's per-process lines.
 *
 * What Boost cannot tell: deallocate(p) trusts p (a foreign pointer is
 * undefined behaviour, checked at most by BOOST_ASSERT, which release builds
 * compile out).  free() refuses what can be refused cheaply before Boost
 * sees it: pointers outside [first block, end of zone) and pointers not
 * aligned to Boost's 16 bytes.  It cannot refuse a double free or an
 * interior pointer that happens to be 16-aligned: telling them apart needs
 * the block's "allocated" bit and the block boundaries, which are private to
 * the algorithm, read without Boost's lock, and even then a freed block
 * merged into a neighbour keeps a stale header.  So neither allocator
 * claims ALLOC_BAD_FREE_DETECTED.
 *
 * Limits, measured rather than hidden:
 * - Boost's mutex (PTHREAD_PROCESS_SHARED on Linux) is not robust: a process
 *   that dies inside allocate or deallocate leaves it locked and every other
 *   process, check() included, blocks for ever; there is no force-unlock.
 * - allocate(n) of Boost 1.74 overflows its unit arithmetic for n near
 *   SIZE_MAX (allocate(SIZE_MAX) returns a small block): requests larger
 *   than the segment are refused here, as failed allocations.
 * - largest_free is 0: Boost has no call for it short of walking its
 *   private tree or list, or allocating the biggest block and freeing it,
 *   which takes the lock and would make a concurrent worker fail.
 * - check() is Boost's check_sanity() (it walks the free tree or list,
 *   checking alignment and the free and allocated totals) plus our header:
 *   shallower than the slab's walk of every invariant.
 * - Not ALLOC_ATTACH_BY_NAME: the segment works from a second mapping at
 *   another address, but check_sanity() takes the segment's mutex, a store
 *   that a read-only mapping (`shmbench stat`) cannot make.
 */
#include <stdatomic.h>
#include <string.h>

#include "substrate/allocator.h"
#include "baselines/boost_ipc.h"
#include "substrate/diag.h"

#define BOOST_MAGIC "BOOSTIPC"

/* Ours, at the zone's base, before Boost's segment (shared). */
struct boost_hdr {
    char     magic[8];            /* BOOST_MAGIC */
    char     algorithm[16];       /* "rbtree_best_fit" or "simple_seq_fit" */
    uint64_t seg_off;             /* Boost's segment, from base */
    uint64_t seg_size;            /* its bytes */
    uint64_t data_off;            /* the first block's user pointer, from base */
    uint64_t free_at_init;        /* get_free_memory() of the empty segment */
};

/* The segment starts 64-aligned, which covers Boost's 16. */
#define BOOST_HDR_SIZE ((sizeof(struct boost_hdr) + 63) & ~(size_t) 63)

static inline struct boost_hdr *
boost_hdr(const struct zone *z)
{
    return (struct boost_hdr *) z->base;
}

static inline unsigned char *
boost_seg(const struct zone *z)
{
    return z->base + boost_hdr(z)->seg_off;
}

/* Our header names this algorithm and fits the zone. */
static int
boost_hdr_valid(const struct zone *z, enum boost_ipc_algo a, const char *name)
{
    const struct boost_hdr *h = boost_hdr(z);

    if (z->size < BOOST_HDR_SIZE || memcmp(h->magic, BOOST_MAGIC, 8) != 0
        || strncmp(h->algorithm, boost_ipc_algorithm(a), sizeof(h->algorithm)) != 0)
    {
        diag_set("%s: the zone holds no %s segment (bad header)", name, boost_ipc_algorithm(a));
        return 0;
    }
    if (h->seg_off != BOOST_HDR_SIZE || h->seg_size != z->size - BOOST_HDR_SIZE
        || h->data_off < h->seg_off || h->data_off >= z->size || h->free_at_init > h->seg_size)
    {
        diag_set("%s: the header's geometry does not match a zone of %zu bytes", name, z->size);
        return 0;
    }
    return 1;
}

/* Boost's minimum segment holds one minimal block, which for
 * simple_seq_fit is smaller than allocate(1) needs: add a few. */
static size_t
boost_min_zone(enum boost_ipc_algo a)
{
    return BOOST_HDR_SIZE + boost_ipc_min_segment(a) + 4 * 64;
}

static int
boost_init(struct zone *z, enum boost_ipc_algo a, const char *name)
{
    struct boost_hdr *h = boost_hdr(z);
    unsigned char    *first;
    void             *mb;

    if (z->size < boost_min_zone(a)) {
        diag_set("%s: zone of %zu bytes is too small: the minimum is %zu bytes", name, z->size,
                 boost_min_zone(a));
        return -1;
    }
    memset(h, 0, sizeof(*h));
    h->seg_off = BOOST_HDR_SIZE;
    h->seg_size = z->size - BOOST_HDR_SIZE;
    mb = boost_ipc_create(a, boost_seg(z), h->seg_size);
    if (mb == NULL) {
        return -1;
    }
    h->free_at_init = boost_ipc_free_memory(a, boost_seg(z), h->seg_size);

    /* The first data byte: the user pointer of the first block of the empty
     * segment, which both algorithms split from its start, so no block lies
     * below it; below are Boost's segment manager and one block header. */
    first = boost_ipc_allocate(a, mb, 1);
    if (first == NULL || first < boost_seg(z) + boost_ipc_block_header(a)) {
        diag_set("%s: Boost's first block of an empty segment is not after its header", name);
        boost_ipc_close(a, mb);
        return -1;
    }
    boost_ipc_deallocate(a, mb, first);
    h->data_off = (uint64_t) (first - z->base);
    memcpy(h->magic, BOOST_MAGIC, 8);
    snprintf(h->algorithm, sizeof(h->algorithm), "%s", boost_ipc_algorithm(a));

    if (z->priv) {
        boost_ipc_close(a, z->priv);
    }
    z->priv = mb;
    return 0;
}

static int
boost_attach(struct zone *z, enum boost_ipc_algo a, const char *name)
{
    void *mb;

    if (!boost_hdr_valid(z, a, name)) {
        return -1;
    }
    mb = boost_ipc_open(a, boost_seg(z), boost_hdr(z)->seg_size);
    if (mb == NULL) {
        return -1;
    }
    /* A handle inherited through fork is this process's copy of the parent's
     * heap object: close it, use our own. */
    if (z->priv) {
        boost_ipc_close(a, z->priv);
    }
    z->priv = mb;
    return 0;
}

static void
boost_fini(struct zone *z, enum boost_ipc_algo a)
{
    if (z->priv) {
        boost_ipc_close(a, z->priv);
        z->priv = NULL;
    }
}

static void *
boost_alloc(struct zone *z, enum boost_ipc_algo a, const char *name, size_t size)
{
    void *p = NULL;

    if (z->priv == NULL) {
        diag_set("%s: alloc in a process that neither formatted nor attached the zone", name);
    } else if (size <= boost_hdr(z)->seg_size) {    /* Boost 1.74 overflows near SIZE_MAX */
        p = boost_ipc_allocate(a, z->priv, size);
    }
    if (p == NULL) {
        zone_count_fail(z->ctl->procstat);
    }
    return p;
}

/* Whether p can be a block's user pointer, as far as is cheap to tell:
 * inside the blocks and aligned.  Refusals say why (fn names the op). */
static int
boost_plausible(struct zone *z, enum boost_ipc_algo a, const char *name, const void *p,
    const char *fn)
{
    const unsigned char *lo = z->base + boost_hdr(z)->data_off, *hi = z->base + z->size;

    if ((const unsigned char *) p < lo || (const unsigned char *) p >= hi) {
        diag_set("%s %s(): %p is outside the segment's blocks [%p, %p)", name, fn, p,
                 (const void *) lo, (const void *) hi);
        return 0;
    }
    if ((uintptr_t) p & (boost_ipc_alignment(a) - 1)) {
        diag_set("%s %s(): %p is not aligned to Boost's %zu bytes, so no block's pointer",
                 name, fn, p, boost_ipc_alignment(a));
        return 0;
    }
    return 1;
}

static int
boost_free(struct zone *z, enum boost_ipc_algo a, const char *name, void *p)
{
    if (z->priv == NULL) {
        diag_set("%s free(): the process neither formatted nor attached the zone", name);
        return -1;
    }
    if (!boost_plausible(z, a, name, p, "free")) {
        return -1;
    }
    return boost_ipc_deallocate(a, z->priv, p);
}

static size_t
boost_usable_size(struct zone *z, enum boost_ipc_algo a, const char *name, void *p)
{
    if (!boost_plausible(z, a, name, p, "usable_size")) {
        return 0;
    }
    return boost_ipc_size(a, boost_seg(z), boost_hdr(z)->seg_size, p);
}

/*
 * footprint: the bytes Boost has handed out since the segment was empty
 * (get_free_memory() then less now, its per-block headers included), exact:
 * Boost keeps the free total under its lock.  header_bytes: the rest of the
 * zone, ours and Boost's segment manager before the first block.
 * largest_free is unknown (0; see the top of the file).
 */
static void
boost_stats(struct zone *z, enum boost_ipc_algo a, const char *name, struct alloc_stats *out)
{
    const struct boost_hdr *h = boost_hdr(z);
    uint64_t                free_bytes;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    if (!boost_hdr_valid(z, a, name)) {
        return;
    }
    free_bytes = boost_ipc_free_memory(a, boost_seg(z), h->seg_size);
    out->data_bytes = h->free_at_init;
    out->free_bytes = free_bytes;
    out->largest_free = 0;          /* not available: see the top of the file */
    out->header_bytes = z->size - h->free_at_init;
    out->footprint = h->free_at_init > free_bytes ? h->free_at_init - free_bytes : 0;
    out->exact = ALLOC_EXACT_FOOTPRINT;
    out->fails = zone_fails(z->ctl->procstat);
}

static int
boost_check(struct zone *z, enum boost_ipc_algo a, const char *name, FILE *report)
{
    const struct boost_hdr *h = boost_hdr(z);
    uint64_t                free_bytes;

    if (!boost_hdr_valid(z, a, name)
        || boost_ipc_check_sanity(a, boost_seg(z), h->seg_size) != 0)
    {
        goto bad;
    }
    free_bytes = boost_ipc_free_memory(a, boost_seg(z), h->seg_size);
    if (free_bytes > h->free_at_init) {
        diag_set("%s check(): %llu bytes free, more than the %llu of the empty segment", name,
                 (unsigned long long) free_bytes, (unsigned long long) h->free_at_init);
        goto bad;
    }
    return 0;
bad:
    if (report) {
        fprintf(report, "%s\n", diag_last());
    }
    return -1;
}

static size_t
boost_data_offset(struct zone *z)
{
    return boost_hdr(z)->data_off;
}

#ifndef SHMBENCH_BOOST_VERSION
#define SHMBENCH_BOOST_VERSION "(version unknown)"
#endif

#define BOOST_RBTREE_SUMMARY                                                            \
    "Boost.Interprocess " SHMBENCH_BOOST_VERSION " rbtree_best_fit (its default): best fit " \
    "via a size-ordered red-black tree, boundary tags, process-shared mutex (not robust), " \
    "offset_ptr (double free undetected)"
#define BOOST_SEQFIT_SUMMARY                                                            \
    "Boost.Interprocess " SHMBENCH_BOOST_VERSION " simple_seq_fit: address-ordered free " \
    "list, first fit, merge by list walk, process-shared mutex (not robust), offset_ptr " \
    "(double free undetected); alloc and free walk the free list: O(free blocks), " \
    "microseconds to hundreds of them per op with 10^5 blocks live (the algorithm, not " \
    "a hang)"

/* One ops table per algorithm: thin functions that name it. */
#define BOOST_OPS(tag, A, NAME, SUMMARY)                                                      \
    static size_t tag##_min_zone_size(const struct alloc_params *p)                      \
    { (void) p; return boost_min_zone(A); }                                              \
    static int tag##_init(struct zone *z, const struct alloc_params *p)                  \
    { (void) p; return boost_init(z, A, NAME); }                                         \
    static int tag##_attach(struct zone *z) { return boost_attach(z, A, NAME); }         \
    static void tag##_fini(struct zone *z) { boost_fini(z, A); }                         \
    static void *tag##_alloc(struct zone *z, size_t n) { return boost_alloc(z, A, NAME, n); } \
    static int tag##_free(struct zone *z, void *p) { return boost_free(z, A, NAME, p); } \
    static size_t tag##_usable_size(struct zone *z, void *p)                             \
    { return boost_usable_size(z, A, NAME, p); }                                         \
    static void tag##_stats(struct zone *z, struct alloc_stats *out)                     \
    { boost_stats(z, A, NAME, out); }                                                    \
    static int tag##_check(struct zone *z, FILE *r) { return boost_check(z, A, NAME, r); } \
    const struct allocator_ops tag##_allocator = {                                       \
        .name = NAME,                                                                    \
        .summary = SUMMARY,                                                              \
        .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE,                                 \
        .min_zone_size = tag##_min_zone_size,                                            \
        .init = tag##_init,                                                              \
        .attach = tag##_attach,                                                          \
        .alloc = tag##_alloc,                                                            \
        .free = tag##_free,                                                              \
        .usable_size = tag##_usable_size,                                                \
        .stats = tag##_stats,                                                            \
        .check = tag##_check,                                                            \
        .data_offset = boost_data_offset,                                                \
        .fini = tag##_fini,                                                              \
    }

BOOST_OPS(boost_rbtree, BOOST_IPC_RBTREE, "boost-rbtree", BOOST_RBTREE_SUMMARY);
BOOST_OPS(boost_seqfit, BOOST_IPC_SEQFIT, "boost-seqfit", BOOST_SEQFIT_SUMMARY);
