/*
 * slab: nginx 1.22.1's shared-memory slab allocator, re-implemented.
 *
 * Every block offset and every statistic equals what nginx's own
 * ngx_slab.c gives for the same sequence of calls
 * (docs/nginx-slab.md).  The zone is laid out exactly as nginx
 * lays it out (the same 200-byte pool header, slot heads, statistics, page
 * descriptors, page-aligned data), so a zone of Z bytes has nginx's page
 * count.  What differs, and why:
 *
 *  - Links are offsets from the pool (0 = null), never pointers, so another
 *    process can map the zone anywhere and read it (`shmbench stat`).
 *  - The page size is per zone (a byte in the header's padding), not a
 *    process global: 4 KiB, 16 KiB and 64 KiB zones coexist in one process.
 *  - Bitmaps are searched with count-trailing-zeros instead of bit by bit:
 *    the same chunk, found faster.
 *  - Frees that nginx lets through and corrupts the zone with (a pointer
 *    into a small page's bitmap chunks, into the gap after the last page)
 *    are refused like the ones nginx detects.  Every refusal leaves the zone
 *    byte-for-byte unchanged and a diag message naming the function.
 *  - The lock counts contention (shmtx.h) into the zone's control block.
 *  - slab_check() verifies every invariant and never trusts what it reads:
 *    it is safe on a corrupt or concurrently changing zone.
 *
 * Zone layout (P = page size, n = log2(P) - 3 slots, 64-bit):
 *
 *   0    struct slab_pool (200 bytes)
 *   200  n slot heads (struct slab_page)
 *        n statistics records (struct slab_stat)
 *        one struct slab_page per data page
 *        padding to a multiple of P (from the pool's start)
 *   start: data pages
 */
#ifndef SHMBENCH_SLAB_H
#define SHMBENCH_SLAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "substrate/shmtx.h"

/* A page descriptor (nginx: ngx_slab_page_t).  next/prev are offsets from
 * the pool; prev carries the page kind in its two low bits. */
struct slab_page {
    uint64_t slab;
    uint64_t next;
    uint64_t prev;
};

/* Per-slot statistics (nginx: ngx_slab_stat_t). */
struct slab_stat {
    uint64_t total;   /* chunks the slot's pages can hold */
    uint64_t used;    /* chunks handed out */
    uint64_t reqs;    /* requests routed to the slot, ever */
    uint64_t fails;   /* ... that found no page */
};

/* The pool header, field for field at nginx's offsets (ngx_slab_pool_t on
 * x86-64 Linux); pointers there are offsets from the pool here. */
struct slab_pool {
    struct shmtx_lockword lock;  /*   0 */
    uint64_t         min_size;   /*  16 */
    uint64_t         min_shift;  /*  24 */
    uint64_t         pages;      /*  32 descriptor 0 */
    uint64_t         last;       /*  40 one past the last descriptor */
    struct slab_page free;       /*  48 free-run list sentinel */
    uint64_t         stats;      /*  72 statistics array */
    uint64_t         pfree;      /*  80 free pages */
    uint64_t         start;      /*  88 data page 0 */
    uint64_t         end;        /*  96 zone size */
    struct shmtx     mutex;      /* 104 */
    uint64_t         log_ctx;    /* 168 */
    uint8_t          zero;       /* 176 */
    uint8_t          log_nomem;  /* 177 */
    uint8_t          page_shift; /* 178 (nginx: padding) */
    uint8_t          pad[5];     /* 179 */
    uint64_t         data;       /* 184 owner module's datum */
    uint64_t         addr;       /* 192 (nginx: mapping address; here 0) */
};                               /* 200 */

#define SLAB_MIN_SHIFT   3
#define SLAB_PAGE_MIN    4096
#define SLAB_PAGE_MAX    65536

/* Bytes needed for a zone of exactly `pages` data pages of `page_size`
 * (nginx's initialisation arrives at exactly that count); 0 if page_size is
 * not a power of two in [4096, 65536]. */
size_t slab_zone_size_for_pages(size_t pages, size_t page_size);

/* The smallest zone that has one data page. */
size_t slab_min_zone_size(size_t page_size);

/*
 * Format `size` bytes at `pool` (zeroed, aligned to page_size) as a slab
 * zone.  lockstat: PROC_MAX counter slots for the lock, or NULL.
 * Returns 0, or -1 with a diag message (zone too small, says the minimum;
 * bad page size).
 */
int slab_init(struct slab_pool *pool, size_t size, size_t page_size,
    struct shmtx_counters *lockstat);

/* Allocate `size` bytes (0 is valid); NULL when the zone is full.  The
 * _locked forms expect the caller to hold pool->mutex, as in nginx. */
void *slab_alloc(struct slab_pool *pool, size_t size);
void *slab_alloc_locked(struct slab_pool *pool, size_t size);

/* The same, then zero the requested `size` bytes. */
void *slab_calloc(struct slab_pool *pool, size_t size);
void *slab_calloc_locked(struct slab_pool *pool, size_t size);

/* Free a block.  0 on success; -1 if p is not a live block (outside the
 * pool, not at a chunk start, already free, inside a run): the zone is
 * unchanged and diag_last() says why, in nginx's words. */
int slab_free(struct slab_pool *pool, void *p);
int slab_free_locked(struct slab_pool *pool, void *p);

/* Bytes granted for the live block at p (chunk size or run bytes), 0 if p
 * is not a live block. */
size_t slab_usable_size(struct slab_pool *pool, const void *p);

/* The page size, slot count, data pages of a formatted pool. */
size_t   slab_page_size(const struct slab_pool *pool);
unsigned slab_nslots(const struct slab_pool *pool);
size_t   slab_npages(const struct slab_pool *pool);

/* Slot i's statistics; chunk size of slot i is 8 << i. */
const struct slab_stat *slab_stats(const struct slab_pool *pool);

/* Walk the free-run list in list order: offset from start and length in
 * pages of each run; `size` is the bytes mapped at pool.  fn returning
 * non-zero stops the walk.  Bounded and checked: a corrupt header or list
 * ends the walk with -1, never reads outside the mapping. */
int slab_each_free_run(const struct slab_pool *pool, size_t size,
    int (*fn)(void *arg, uint64_t off, uint64_t pages), void *arg);

/* Largest free run, in pages (0 if none or corrupt). */
size_t slab_largest_free_run(const struct slab_pool *pool, size_t size);

/*
 * Verify every invariant: header geometry, every offset in bounds, the
 * free-run list (circular, maximal runs, tail markers, lengths sum to
 * pfree), every page in exactly one state, slot lists (circular, only
 * non-full pages of the slot, kinds and shifts right), bitmaps against
 * used/total.  `size` is the bytes mapped at pool (the check never reads
 * beyond).  Returns 0 when consistent, else -1 after writing the first
 * violation to `report` (if not NULL) and to diag.  Never writes the zone.
 */
int slab_check(const struct slab_pool *pool, size_t size, FILE *report);

/* ---------------------------------------------------------------------- */
/* Zones of nginx itself (slab_nginx.c), read out of a running nginx by     */
/* `shmbench stat --pid`: nginx's links are addresses in its process; these */
/* make a copy of its zone one of this slab, which slab_check() and the     */
/* functions above then read.                                               */

/* Whether hdr, the first bytes of a shared mapping at address addr of
 * map_size bytes in nginx's process, is the pool header of an nginx 1.22.1
 * slab zone with page_size-byte pages: its address field is addr, its end
 * lies in the mapping's last page, min_shift is 3, and the statistics,
 * descriptors and data start are where nginx puts them.  Sets *size
 * (end - addr).  0, or -1 with the first mismatch in diag. */
int slab_nginx_header(const struct slab_pool *hdr, uint64_t addr, size_t map_size,
    size_t page_size, size_t *size);

/* Turn the copy at pool (size bytes, the zone's size, with at least the part
 * before the data pages copied) from nginx's addresses into this slab's
 * offsets, in place.  A link outside the zone becomes an offset that
 * slab_check() reports.  0, or -1 (diag) if the header's own pointers lie
 * outside the zone. */
int slab_nginx_translate(struct slab_pool *pool, size_t size, uint64_t addr,
    size_t page_size);

/* For a translated copy: fn(arg, off, len) for the bitmap of every small
 * chunk page, the only data slab_check() reads, in page order; fn returning
 * non-zero ends the walk with -1. */
int slab_nginx_bitmaps(const struct slab_pool *pool, size_t size,
    int (*fn)(void *arg, uint64_t off, uint64_t len), void *arg);

#endif
