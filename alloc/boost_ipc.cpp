/*
 * boost_ipc: Boost.Interprocess's own memory algorithms behind the ops table,
 * the C++ peer the paper compares against: `boost-rbtree` is
 * rbtree_best_fit<mutex_family> (Boost's default: free blocks in a red-black
 * tree ordered by size, best fit, boundary tags for O(1) merging) and
 * `boost-seqfit` is simple_seq_fit<mutex_family> (one address-ordered free
 * list, first fit, merging by walking it).  "Measured, not tuned": each is
 * what a C++ user gets today from
 *
 *     basic_managed_external_buffer<char, ALGORITHM<mutex_family>, iset_index>
 *
 * over memory already mapped, with Boost's defaults (16-byte alignment,
 * Boost's process-shared mutex taken inside every allocate and deallocate),
 * and allocate(n, std::nothrow) / deallocate(p) / size(p) on its segment
 * manager.
 *
 * Layout of the zone:
 *
 *   base                                  base + BOOST_IPC_HDR_SIZE
 *   | struct boost_ipc_hdr: ours        | Boost's segment: segment manager (the
 *   | (magic, geometry, fail counters)  | algorithm's header and its mutex),
 *   |                                   | then Boost's blocks, to the zone's end |
 *
 * Everything Boost keeps in the segment links by offset_ptr, and our header
 * holds offsets, so the segment is valid at any mapping address.  init
 * (master, before fork) constructs the managed buffer with create_only;
 * attach (each process) opens it with open_only over the same bytes, which
 * for an external buffer only records the segment's address; that handle
 * (a `new`ed C++ object) is the process-private state in z->priv, deleted by
 * fini.  stats and check open a handle of their own on the stack, so they
 * need no attach.
 *
 * What Boost cannot tell: deallocate(p) trusts p (a foreign pointer is
 * undefined behaviour, checked at most by BOOST_ASSERT, which release builds
 * compile out).  free() refuses what can be refused cheaply before Boost
 * sees it: NULL, pointers outside [first block, end of zone), and
 * pointers not aligned to Boost's 16 bytes.  It cannot refuse a double free
 * or an interior pointer that happens to be 16-aligned: telling them apart
 * needs the block's "allocated" bit and the block boundaries, which are
 * private to the algorithm (rbtree_best_fit's boundary tags, simple_seq_fit's
 * headers), read without Boost's lock, and even then a freed block that was
 * merged into a neighbour keeps a stale header.  So neither allocator claims
 * ALLOC_BAD_FREE_DETECTED.
 *
 * Two other limits, measured rather than hidden:
 * - Boost's mutex (a PTHREAD_PROCESS_SHARED mutex on Linux) is not robust: a
 *   process that dies inside allocate or deallocate leaves it locked and
 *   every other process, check() included, blocks for ever.  There is no
 *   force-unlock; the tests never kill a process inside Boost.
 * - allocate(n) of Boost 1.74 overflows its unit arithmetic for n near
 *   SIZE_MAX (allocate(SIZE_MAX) returns a small block).  Requests larger
 *   than the whole segment are therefore refused here, before Boost, as a
 *   failed allocation.
 *
 * largest_free is left 0: Boost has no call for it short of walking its
 * private tree/list, or of allocating the biggest block with
 * allocation_command and freeing it again, which takes the lock and would
 * make a concurrent worker fail while stats() runs.
 *
 * Not ALLOC_ATTACH_BY_NAME: the segment itself works from a second mapping
 * at another address (tests/test_boost.c allocates, frees and checks through
 * one), but `shmbench stat` maps the zone read-only, and Boost's
 * check_sanity() takes the segment's mutex, a store into that mapping.
 */

/* Boost and the C++ library first: the compatibility block below must not
 * leak into them. */
#include <boost/interprocess/creation_tags.hpp>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/mem_algo/simple_seq_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <boost/version.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

/*
 * allocator.h is C11.  Through zone.h it includes shmtx.h, whose lock words
 * are `_Atomic`-qualified and whose inline fast paths call <stdatomic.h>'s
 * generic functions; C++17 knows neither.  This file never takes shmbench's
 * lock (Boost locks with its own mutex), so it reads those headers with
 * `_Atomic` empty -- the qualified types are uint32_t and uint64_t, whose
 * size and alignment _Atomic does not change on the ABIs we build for -- and
 * with the three generic functions the inline code names mapped to GCC's
 * __atomic builtins, so that it compiles.  boost_ipc_layout() hands the C++
 * view of the shared structs to tests/test_boost.c, which compares it with
 * the C compiler's.
 */
namespace shmbench_c11 {
constexpr int memory_order_relaxed = __ATOMIC_RELAXED;

template <class T>
inline T atomic_load_explicit(T *p, int order) { return __atomic_load_n(p, order); }

template <class T, class V>
inline void atomic_store_explicit(T *p, V v, int order) { __atomic_store_n(p, (T) v, order); }

template <class T, class V>
inline bool atomic_compare_exchange_strong(T *p, T *expected, V desired)
{
    return __atomic_compare_exchange_n(p, expected, (T) desired, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
}  // namespace shmbench_c11

using shmbench_c11::atomic_compare_exchange_strong;
using shmbench_c11::atomic_load_explicit;
using shmbench_c11::atomic_store_explicit;
using shmbench_c11::memory_order_relaxed;

#define _Atomic
extern "C" {
#include "allocator.h"
#include "diag.h"
#include "proc.h"
}
#undef _Atomic

namespace {

namespace bi = boost::interprocess;

#define BOOST_IPC_MAGIC "BOOSTIPC"

/* One failure counter per process slot (proc_index()), a cache line each. */
struct alignas(64) boost_ipc_fail_slot {
    uint64_t fails;
};

/* Ours, at the zone's base, before Boost's segment (shared). */
struct boost_ipc_hdr {
    char     magic[8];            /* BOOST_IPC_MAGIC */
    char     algorithm[16];       /* "rbtree_best_fit" or "simple_seq_fit" */
    uint64_t seg_off;             /* Boost's segment, from base */
    uint64_t seg_size;            /* its bytes */
    uint64_t data_off;            /* the first block's user pointer, from base */
    uint64_t free_at_init;        /* get_free_memory() of the empty segment */
    alignas(64) boost_ipc_fail_slot fail[PROC_MAX];
};

/* The segment starts 64-aligned, which covers Boost's 16. */
constexpr size_t BOOST_IPC_HDR_SIZE = (sizeof(boost_ipc_hdr) + 63) & ~size_t(63);

typedef bi::rbtree_best_fit<bi::mutex_family> rbtree_algorithm;
typedef bi::simple_seq_fit<bi::mutex_family>  seqfit_algorithm;

/*
 * Both allocators are this template over Boost's algorithm class; `Names`
 * gives the registry name and Boost's name of the algorithm.
 */
template <class Algorithm, class Names>
struct boost_ipc {
    typedef bi::basic_managed_external_buffer<char, Algorithm, bi::iset_index> buffer;
    typedef typename buffer::segment_manager                                segment;

    static constexpr size_t alignment = Algorithm::Alignment;

    static boost_ipc_hdr *hdr(const struct zone *z)
    {
        return reinterpret_cast<boost_ipc_hdr *>(z->base);
    }

    static unsigned char *seg_addr(const struct zone *z)
    {
        return z->base + hdr(z)->seg_off;
    }

    static void count_fail(struct zone *z) noexcept
    {
        __atomic_fetch_add(&hdr(z)->fail[proc_index()].fails, 1, __ATOMIC_RELAXED);
    }

    /* Our header names this algorithm and fits the zone. */
    static int hdr_valid(const struct zone *z) noexcept
    {
        const boost_ipc_hdr *h = hdr(z);

        if (z->size < BOOST_IPC_HDR_SIZE || memcmp(h->magic, BOOST_IPC_MAGIC, 8) != 0
            || strncmp(h->algorithm, Names::algorithm, sizeof(h->algorithm)) != 0)
        {
            diag_set("%s: the zone holds no %s segment (bad header)", Names::name,
                     Names::algorithm);
            return 0;
        }
        if (h->seg_off != BOOST_IPC_HDR_SIZE || h->seg_size != z->size - BOOST_IPC_HDR_SIZE
            || h->data_off < h->seg_off || h->data_off >= z->size
            || h->free_at_init > h->seg_size)
        {
            diag_set("%s: the header's geometry does not match a zone of %zu bytes",
                     Names::name, z->size);
            return 0;
        }
        return 1;
    }

    /* Boost's minimum segment holds one minimal block, which for
     * simple_seq_fit is smaller than allocate(1) needs: add a few. */
    static size_t min_zone_size(const struct alloc_params *) noexcept
    {
        return BOOST_IPC_HDR_SIZE + segment::get_min_size() + 4 * 64;
    }

    static int init(struct zone *z, const struct alloc_params *p) noexcept
    {
        boost_ipc_hdr *h;
        buffer        *mb = nullptr;
        unsigned char *first = nullptr;
        size_t         min = min_zone_size(p);

        if (z->size < min) {
            diag_set("%s: zone of %zu bytes is too small: the minimum is %zu bytes",
                     Names::name, z->size, min);
            return -1;
        }
        if ((reinterpret_cast<uintptr_t>(z->base) & (alignment - 1)) != 0) {
            diag_set("%s: zone base %p is not aligned to Boost's %zu bytes", Names::name,
                     static_cast<void *>(z->base), alignment);
            return -1;
        }
        h = new (z->base) boost_ipc_hdr();
        h->seg_off = BOOST_IPC_HDR_SIZE;
        h->seg_size = z->size - BOOST_IPC_HDR_SIZE;
        try {
            mb = new buffer(bi::create_only, seg_addr(z), h->seg_size);
            h->free_at_init = mb->get_free_memory();

            /* The first data byte: the user pointer of the first block of
             * the empty segment, which both algorithms split from its start,
             * so no block lies below it (the tests check every block against
             * it); below are Boost's segment manager and one block header. */
            first = static_cast<unsigned char *>(mb->allocate(1, std::nothrow));
            if (first != nullptr) {
                mb->deallocate(first);
            }
        } catch (const std::exception &e) {
            diag_set("%s: Boost could not create its segment: %s", Names::name, e.what());
            delete mb;
            return -1;
        } catch (...) {
            diag_set("%s: Boost could not create its segment", Names::name);
            delete mb;
            return -1;
        }
        if (first == nullptr
            || first < seg_addr(z) + sizeof(segment) + Algorithm::PayloadPerAllocation)
        {
            diag_set("%s: Boost's first block of an empty segment is not after its header",
                     Names::name);
            delete mb;
            return -1;
        }
        h->data_off = static_cast<uint64_t>(first - z->base);
        memcpy(h->magic, BOOST_IPC_MAGIC, 8);
        snprintf(h->algorithm, sizeof(h->algorithm), "%s", Names::algorithm);

        if (z->priv) {
            fini(z);
        }
        z->priv = mb;
        if (z->ctl) {
            snprintf(z->ctl->allocator, sizeof(z->ctl->allocator), "%s", Names::name);
            z->ctl->page_size = 0;
            __atomic_store_n(&z->ctl->formatted, 1, __ATOMIC_SEQ_CST);
        }
        return 0;
    }

    static int attach(struct zone *z) noexcept
    {
        buffer *mb;

        if (!hdr_valid(z)) {
            return -1;
        }
        try {
            mb = new buffer(bi::open_only, seg_addr(z), hdr(z)->seg_size);
        } catch (const std::exception &e) {
            diag_set("%s: Boost could not open its segment: %s", Names::name, e.what());
            return -1;
        } catch (...) {
            diag_set("%s: Boost could not open its segment", Names::name);
            return -1;
        }
        /* A handle inherited through fork is this process's copy of the
         * parent's heap object: delete it here, replace it by our own. */
        fini(z);
        z->priv = mb;
        return 0;
    }

    static void fini(struct zone *z) noexcept
    {
        delete static_cast<buffer *>(z->priv);
        z->priv = nullptr;
    }

    static void *alloc(struct zone *z, size_t size) noexcept
    {
        buffer *mb = static_cast<buffer *>(z->priv);
        void   *p = nullptr;

        if (mb == nullptr) {
            diag_set("%s: alloc in a process that neither formatted nor attached the zone",
                     Names::name);
        } else if (size <= hdr(z)->seg_size) {      /* Boost 1.74 overflows near SIZE_MAX */
            try {
                p = mb->allocate(size, std::nothrow);
            } catch (const std::exception &e) {
                diag_set("%s: allocate(%zu): %s", Names::name, size, e.what());
            } catch (...) {
                diag_set("%s: allocate(%zu) threw", Names::name, size);
            }
        }
        if (p == nullptr) {
            count_fail(z);
        }
        return p;
    }

    /* Whether p can be a block's user pointer, as far as is cheap to tell:
     * inside the blocks and aligned.  Refusals say why (fn names the op). */
    static int plausible(struct zone *z, const void *p, const char *fn) noexcept
    {
        const boost_ipc_hdr *h = hdr(z);
        uintptr_t            a = reinterpret_cast<uintptr_t>(p);
        uintptr_t            lo = reinterpret_cast<uintptr_t>(z->base) + h->data_off;
        uintptr_t            hi = reinterpret_cast<uintptr_t>(z->base) + z->size;

        if (a < lo || a >= hi) {
            diag_set("%s %s(): %p is outside the segment's blocks [%p, %p)", Names::name, fn,
                     p, reinterpret_cast<void *>(lo), reinterpret_cast<void *>(hi));
            return 0;
        }
        if ((a & (alignment - 1)) != 0) {
            diag_set("%s %s(): %p is not aligned to Boost's %zu bytes, so no block's "
                     "pointer", Names::name, fn, p, alignment);
            return 0;
        }
        return 1;
    }

    static int free(struct zone *z, void *p) noexcept
    {
        buffer *mb = static_cast<buffer *>(z->priv);

        if (mb == nullptr) {
            diag_set("%s free(): the process neither formatted nor attached the zone",
                     Names::name);
            return -1;
        }
        if (!plausible(z, p, "free")) {
            return -1;
        }
        try {
            mb->deallocate(p);
        } catch (const std::exception &e) {
            diag_set("%s free(): deallocate(%p): %s", Names::name, p, e.what());
            return -1;
        } catch (...) {
            diag_set("%s free(): deallocate(%p) threw", Names::name, p);
            return -1;
        }
        return 0;
    }

    /* segment_manager::size(p), i.e. the algorithm's size(p): the bytes of
     * the block that p may use.  No lock (Boost's own comment: the block's
     * size does not change while it is allocated). */
    static size_t usable_size(struct zone *z, void *p) noexcept
    {
        if (!plausible(z, p, "usable_size")) {
            return 0;
        }
        try {
            buffer mb(bi::open_only, seg_addr(z), hdr(z)->seg_size);
            return mb.get_segment_manager()->size(p);
        } catch (...) {
            diag_set("%s usable_size(): Boost could not open its segment", Names::name);
            return 0;
        }
    }

    static size_t data_offset(struct zone *z) noexcept
    {
        return hdr(z)->data_off;
    }

    static void stats(struct zone *z, struct alloc_stats *out) noexcept
    {
        const boost_ipc_hdr *h = hdr(z);

        memset(out, 0, sizeof(*out));
        out->zone_bytes = z->size;
        if (!hdr_valid(z)) {
            return;
        }
        /* get_free_memory() reads two header words, no lock. */
        uint64_t free_bytes;
        try {
            buffer mb(bi::open_only, seg_addr(z), h->seg_size);
            free_bytes = mb.get_free_memory();
        } catch (...) {
            diag_set("%s stats(): Boost could not open its segment", Names::name);
            return;
        }
        out->data_bytes = h->free_at_init;
        out->free_bytes = free_bytes;
        out->largest_free = 0;          /* not available: see the top of the file */
        out->footprint = z->size > free_bytes ? z->size - free_bytes : 0;
        for (unsigned i = 0; i < PROC_MAX; i++) {
            out->fails += __atomic_load_n(&h->fail[i].fails, __ATOMIC_RELAXED);
        }
    }

    /* Boost's check_sanity() (it takes the segment's mutex, walks the free
     * tree or list checking alignment, and compares the free and allocated
     * totals with the size), plus our header and free <= free at init. */
    static int check(struct zone *z, FILE *report) noexcept
    {
        const boost_ipc_hdr *h = hdr(z);
        bool                 sane;
        uint64_t             free_bytes;

        if (!hdr_valid(z)) {
            goto bad;
        }
        try {
            buffer mb(bi::open_only, seg_addr(z), h->seg_size);
            sane = mb.check_sanity();
            free_bytes = mb.get_free_memory();
        } catch (const std::exception &e) {
            diag_set("%s check(): %s", Names::name, e.what());
            goto bad;
        } catch (...) {
            diag_set("%s check(): check_sanity() threw", Names::name);
            goto bad;
        }
        if (!sane) {
            diag_set("%s check(): Boost's check_sanity() failed", Names::name);
            goto bad;
        }
        if (free_bytes > h->free_at_init) {
            diag_set("%s check(): %llu bytes free, more than the %llu of the empty segment",
                     Names::name, (unsigned long long) free_bytes,
                     (unsigned long long) h->free_at_init);
            goto bad;
        }
        return 0;
    bad:
        if (report) {
            fprintf(report, "%s\n", diag_last());
        }
        return -1;
    }
};

struct rbtree_names {
    static constexpr const char *name = "boost-rbtree";
    static constexpr const char *algorithm = "rbtree_best_fit";
};

struct seqfit_names {
    static constexpr const char *name = "boost-seqfit";
    static constexpr const char *algorithm = "simple_seq_fit";
};

typedef boost_ipc<rbtree_algorithm, rbtree_names> rbtree;
typedef boost_ipc<seqfit_algorithm, seqfit_names> seqfit;

constexpr unsigned boost_ipc_caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE | ALLOC_CAN_CHECK;

template <class A>
constexpr allocator_ops
boost_ipc_ops(const char *name, const char *summary)
{
    allocator_ops ops{};

    ops.name = name;
    ops.summary = summary;
    ops.caps = boost_ipc_caps;
    ops.min_zone_size = A::min_zone_size;
    ops.init = A::init;
    ops.attach = A::attach;
    ops.alloc = A::alloc;
    ops.free = A::free;
    ops.usable_size = A::usable_size;
    ops.stats = A::stats;
    ops.check = A::check;
    ops.data_offset = A::data_offset;
    ops.fini = A::fini;
    return ops;
}

/* "Boost.Interprocess 1.74 " + what, at compile time (BOOST_LIB_VERSION
 * spells it 1_74). */
struct summary_text {
    char s[256];
};

constexpr summary_text
summary_of(const char *what)
{
    summary_text t{};
    const char   head[] = "Boost.Interprocess ";
    unsigned     major = BOOST_VERSION / 100000, minor = BOOST_VERSION / 100 % 1000;
    size_t       n = 0, i = 0;

    for (i = 0; head[i] && n < sizeof(t.s) - 1; i++) {
        t.s[n++] = head[i];
    }
    t.s[n++] = char('0' + major % 10);
    t.s[n++] = '.';
    if (minor >= 100) {
        t.s[n++] = char('0' + minor / 100);
    }
    if (minor >= 10) {
        t.s[n++] = char('0' + minor / 10 % 10);
    }
    t.s[n++] = char('0' + minor % 10);
    t.s[n++] = ' ';
    for (i = 0; what[i] && n < sizeof(t.s) - 1; i++) {
        t.s[n++] = what[i];
    }
    return t;
}

constexpr summary_text rbtree_summary = summary_of(
    "rbtree_best_fit (its default): best fit via a size-ordered red-black tree, boundary "
    "tags, process-shared mutex (not robust), offset_ptr (double free undetected)");

constexpr summary_text seqfit_summary = summary_of(
    "simple_seq_fit: address-ordered free list, first fit, merge by list walk, "
    "process-shared mutex (not robust), offset_ptr (double free undetected)");

}  // namespace

extern "C" const allocator_ops boost_rbtree_allocator = boost_ipc_ops<rbtree>(
    "boost-rbtree", rbtree_summary.s);

extern "C" const allocator_ops boost_seqfit_allocator = boost_ipc_ops<seqfit>(
    "boost-seqfit", seqfit_summary.s);

/*
 * For tests/test_boost.c: the C++ compiler's view of the shared structs
 * (read through the _Atomic workaround above), and Boost's alignment, so the
 * test can compare them with the C compiler's.  out[] gets, in order:
 * sizeof(struct zone), offsetof(zone, priv), sizeof(struct zone_ctl),
 * offsetof(zone_ctl, formatted), offsetof(zone_ctl, lockstat),
 * sizeof(struct alloc_stats), sizeof(struct allocator_ops),
 * offsetof(allocator_ops, fini), Boost's alignment.  Returns the count.
 */
extern "C" size_t boost_ipc_layout(size_t *out, size_t n) noexcept;

extern "C" size_t
boost_ipc_layout(size_t *out, size_t n) noexcept
{
    const size_t v[] = {
        sizeof(struct zone),
        offsetof(struct zone, priv),
        sizeof(struct zone_ctl),
        offsetof(struct zone_ctl, formatted),
        offsetof(struct zone_ctl, lockstat),
        sizeof(struct alloc_stats),
        sizeof(struct allocator_ops),
        offsetof(struct allocator_ops, fini),
        rbtree::alignment,
    };
    size_t i, count = sizeof(v) / sizeof(v[0]);

    for (i = 0; i < n && i < count; i++) {
        out[i] = v[i];
    }
    return count;
}
