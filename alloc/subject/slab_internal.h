/*
 * slab_internal: the slab's constants, descriptor helpers and geometry, each
 * written once (docs/nginx-slab.md gives every one of them; section numbers
 * below are that document's).
 *
 * Private to the slab's own code: slab.c, slab_check.c, slab_ops.c, and the
 * page-run allocator pageruns.h, which lfslab borrows with the slab's page
 * descriptors.  Not part of the slab's interface (slab.h).
 */
#ifndef SHMBENCH_SLAB_INTERNAL_H
#define SHMBENCH_SLAB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "subject/slab.h"

/* Page kinds, in the two low bits of a descriptor's prev (§3). */
#define SLAB_PAGE        0              /* free pages, page runs */
#define SLAB_BIG         1              /* chunks larger than exact_size */
#define SLAB_EXACT       2              /* chunks of exact_size */
#define SLAB_SMALL       3              /* chunks smaller than exact_size */
#define SLAB_KIND_MASK   3

/* A descriptor's slab word (§3). */
#define SLAB_PAGE_FREE   0                          /* a free run's other pages */
#define SLAB_PAGE_BUSY   0xffffffffffffffffULL      /* an allocated run's other pages */
#define SLAB_PAGE_START  0x8000000000000000ULL      /* | k: first page of a k-page run */
#define SLAB_SHIFT_MASK  0xfULL                     /* chunk shift of a small or big page */
#define SLAB_MAP_MASK    0xffffffff00000000ULL      /* a big page's bitmap */
#define SLAB_MAP_SHIFT   32
#define SLAB_BUSY        0xffffffffffffffffULL      /* a full bitmap word */

/* Bitmap words: 64 bits (§1), so the exact chunk size is P / 64. */
#define SLAB_WORD_BITS   64
#define SLAB_WORD_SHIFT  6

/* Page shifts: slab.h's SLAB_PAGE_MIN .. SLAB_PAGE_MAX. */
#define SLAB_PAGE_SHIFT_MIN 12
#define SLAB_PAGE_SHIFT_MAX 16

/* The smallest chunk (§1.1: slot 0), and the most slots any zone has. */
#define SLAB_MIN_SIZE    ((uint64_t) 1 << SLAB_MIN_SHIFT)
#define SLAB_NSLOTS_MAX  (SLAB_PAGE_SHIFT_MAX - SLAB_MIN_SHIFT)

_Static_assert(SLAB_PAGE_MIN == 1 << SLAB_PAGE_SHIFT_MIN, "SLAB_PAGE_MIN is 2^SLAB_PAGE_SHIFT_MIN");
_Static_assert(SLAB_PAGE_MAX == 1 << SLAB_PAGE_SHIFT_MAX, "SLAB_PAGE_MAX is 2^SLAB_PAGE_SHIFT_MAX");
_Static_assert(1 << SLAB_WORD_SHIFT == SLAB_WORD_BITS, "a bitmap word has 2^SLAB_WORD_SHIFT bits");

_Static_assert(sizeof(struct slab_pool) == 200, "nginx's pool header is 200 bytes");
_Static_assert(sizeof(struct slab_page) == 24, "nginx's page descriptor is 24 bytes");
_Static_assert(sizeof(struct slab_stat) == 32, "nginx's slot statistics are 32 bytes");
_Static_assert(offsetof(struct slab_pool, mutex) == 104, "mutex at nginx's offset");
_Static_assert(offsetof(struct slab_pool, log_ctx) == 168, "log_ctx at nginx's offset");
_Static_assert(sizeof(struct shmtx) == 64, "nginx's ngx_shmtx_t is 64 bytes");

/* ---------------------------------------------------------------------- */
/* Offsets and descriptors                                                 */

/* A link is an offset from the pool (0 = null); these convert. */
#define slab_ptr(pool, off)   ((void *) ((unsigned char *) (pool) + (off)))
#define slab_off(pool, ptr)   ((uint64_t) ((unsigned char *) (ptr) - (unsigned char *) (pool)))

/* A descriptor's kind, and its prev link without the kind. */
#define slab_kind(page)       ((page)->prev & SLAB_KIND_MASK)
#define slab_prev_off(page)   ((page)->prev & ~(uint64_t) SLAB_KIND_MASK)
#define slab_prev(pool, page) ((struct slab_page *) slab_ptr(pool, slab_prev_off(page)))

/* The slot heads, statistics and descriptors of a formatted pool (§2.3). */
#define slab_slots(pool)      ((struct slab_page *) ((unsigned char *) (pool) + sizeof(struct slab_pool)))
#define slab_stat_of(pool)    ((struct slab_stat *) slab_ptr(pool, (pool)->stats))
#define slab_desc(pool)       ((struct slab_page *) slab_ptr(pool, (pool)->pages))

/* ---------------------------------------------------------------------- */
/* Geometry                                                                */

/* Whether a pool's page shift is one the slab supports. */
static inline int
slab_page_shift_ok(unsigned shift)
{
    return shift >= SLAB_PAGE_SHIFT_MIN && shift <= SLAB_PAGE_SHIFT_MAX;
}

/* Slots of a zone with 2^shift-byte pages (§1.1). */
static inline unsigned
slab_nslots_for(unsigned shift)
{
    return shift - SLAB_MIN_SHIFT;
}

/* The per-zone constants nginx keeps in process globals (§1). */
struct slab_geom {
    unsigned shift;         /* page shift */
    uint64_t page_size;
    unsigned exact_shift;   /* chunk shift whose page holds one word of chunks */
    uint64_t max_size;      /* larger requests take page runs */
    unsigned nslots;
};

static inline void
slab_geom_for(unsigned shift, struct slab_geom *g)
{
    g->shift = shift;
    g->page_size = (uint64_t) 1 << shift;
    g->exact_shift = shift - SLAB_WORD_SHIFT;
    g->max_size = g->page_size / 2;
    g->nslots = slab_nslots_for(shift);
}

static inline void
slab_geom_of(const struct slab_pool *pool, struct slab_geom *g)
{
    slab_geom_for(pool->page_shift, g);
}

/* Chunk size of slot i (§1.1). */
static inline uint64_t
slab_slot_size(unsigned i)
{
    return SLAB_MIN_SIZE << i;
}

/* Chunks of a small page of 2^s-byte chunks reserved for its bitmap (§1.1: b). */
static inline unsigned
slab_small_reserved(unsigned page_shift, unsigned s)
{
    unsigned b = (unsigned) (((uint64_t) 1 << page_shift >> s) / (8u << s));

    return b ? b : 1;
}

/* Offset of the statistics: after the header and the slot heads (§2.3). */
static inline uint64_t
slab_stats_offset(unsigned nslots)
{
    return sizeof(struct slab_pool) + (uint64_t) nslots * sizeof(struct slab_page);
}

/* Header + slot heads + statistics: the part before the descriptors. */
static inline uint64_t
slab_fixed_size(unsigned nslots)
{
    return slab_stats_offset(nslots) + (uint64_t) nslots * sizeof(struct slab_stat);
}

/* nginx's first page count for `size` bytes: one descriptor and one page
 * each after the fixed part (§2.3 step 5; `size` > fixed). */
static inline uint64_t
slab_pages_estimate(uint64_t size, uint64_t fixed, uint64_t page_size)
{
    return (size - fixed) / (page_size + sizeof(struct slab_page));
}

/* The data start: fixed part and `pages` descriptors, rounded up to the
 * page (§2.3 step 8). */
static inline uint64_t
slab_data_start(uint64_t fixed, uint64_t pages, uint64_t page_size)
{
    return (fixed + pages * sizeof(struct slab_page) + page_size - 1) & ~(page_size - 1);
}

#endif
