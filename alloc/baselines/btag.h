/*
 * btag: the boundary-tag block format that the two fit allocators share,
 * freelist (freelist.c) and tlsf (tlsf.c), and the code that reads it the
 * same way in both.
 *
 * Both cut the data area of a zone into blocks that tile it.  A block
 * starts at 8 mod 16, so that its payload is 16-byte aligned, and its size
 * S is a multiple of 16, at least BTAG_MIN_BLOCK.  Its first word is a tag:
 *
 *   magic(off) << 48 | S | flags (4 low bits)
 *
 * where the magic is 16 bits derived from the tag's own offset, so that a
 * header read at the wrong place is unlikely to look valid.  A free block
 * keeps the next and prev offsets of its list in its first payload words
 * (BTAG_NEXT, BTAG_PREV).  Each zone header begins with a struct
 * btag_head (lock, magic, geometry) and holds a struct btag_count (the
 * counters check() verifies); the blocks tile [start, end) and an
 * epilogue header sits at end.
 *
 * What the two do differently stays in their own files: which flags there
 * are (freelist: in use; tlsf: free and previous-free), how the other tags
 * of a block look (freelist: a footer equal to the header; tlsf: a back
 * pointer in a free block's last word), the free lists.  A struct btag_fmt
 * says it, once per allocator.  The hot path (alloc, free, usable_size) is
 * here as static inline functions over a constant btag_fmt, which the
 * compiler folds: sharing costs no indirection.  The cold parts (init, stats,
 * the check's walk) are in btag.c.
 */
#ifndef SHMBENCH_BTAG_H
#define SHMBENCH_BTAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"
#include "substrate/zone.h"

#define BTAG_ALIGN_LOG2  4
#define BTAG_ALIGN       ((uint64_t) 1 << BTAG_ALIGN_LOG2)
#define BTAG_WORD        8                         /* a tag or a link */
#define BTAG_MIN_BLOCK   32                        /* header, two links, last word */
#define BTAG_NEXT        8                         /* a free block's list links, */
#define BTAG_PREV        16                        /* from its start */
#define BTAG_FLAG_BITS   0xfULL
#define BTAG_SIZE_MASK   0x0000fffffffffff0ULL
#define BTAG_MAGIC_MASK  0xffff000000000000ULL

/* x rounded up to the block alignment. */
#define BTAG_ROUND(x)    (((uint64_t) (x) + BTAG_ALIGN - 1) & ~(BTAG_ALIGN - 1))

/* The first block of a zone whose header takes hdr bytes: after the header
 * and one word (freelist's prologue footer; tlsf leaves it unused), at 8 mod
 * 16. */
#define BTAG_START(hdr)  (BTAG_ROUND(hdr) + BTAG_WORD)


/* The start of every zone header. */
struct btag_head {
    struct shmtx_lockword lock;
    struct shmtx          mutex;
    char                  magic[8];     /* the allocator's zone magic */
    uint64_t              size;         /* zone bytes */
    uint64_t              start;        /* first block */
    uint64_t              end;          /* epilogue header, one past the last block */
};

/* The counters, kept under the lock, somewhere in the zone header. */
struct btag_count {
    uint64_t              nfree;        /* free blocks */
    uint64_t              free_bytes;   /* their bytes, tags included */
    uint64_t              nused;        /* blocks handed out */
    uint64_t              used_bytes;   /* their bytes, tags included */
    uint64_t              fails;        /* allocations that found no block */
    uint64_t              steps;        /* list nodes visited by searches */
};

struct btag_check;

/*
 * What one allocator's format is: its constants and, as functions, the
 * parts of reading a block that are its own.  Each allocator has one,
 * static const, passed to every function here.
 */
struct btag_fmt {
    const char *name;           /* "freelist": messages name freelist_free() */
    const char *zone_magic;     /* the 8 bytes of btag_head.magic */
    size_t      head_size;      /* sizeof the zone header */
    size_t      count_off;      /* offsetof its struct btag_count */
    uint64_t    start;          /* BTAG_START(head_size) */
    uint64_t    zone_max;       /* zones are smaller, and so are requests */
    uint64_t    overhead;       /* tag bytes of a block: payload = S - overhead */
    uint64_t    flags;          /* the flag bits a header may have */
    uint64_t    state;          /* the flag that tells free from in use */
    uint64_t    state_free;     /* its value in a free block: 0 or state */
    const char *tags;           /* what a pointer that is no block lacks */

    /* Locating a block: whether the other tags of the in-use block at b
     * (header t, s bytes, the next header's magic right) agree with it, and
     * with left, those of a free left neighbour too.  Reads only. */
    int (*agree)(const struct btag_head *h, uint64_t b, uint64_t t, uint64_t s, int left);

    /* The check, each after the common part of its step; 0 or -1 reported.
     * check_head: the header's own fields.  check_block: every block's other
     * tags (after magic and size; prev_free: the block before is free).
     * check_free: a free block's, after the adjacency test (NULL: none).
     * check_end: after the walk met the end (NULL: none).  check_lists:
     * the free lists against the free blocks the walk found. */
    int (*check_head)(struct btag_check *c);
    int (*check_block)(struct btag_check *c, uint64_t b, uint64_t t, uint64_t s, int prev_free);
    int (*check_free)(struct btag_check *c, uint64_t b, uint64_t s);
    int (*check_end)(struct btag_check *c);
    int (*check_lists)(struct btag_check *c);
};

/* What check() has learnt so far, handed to the fmt's check hooks. */
struct btag_check {
    const struct btag_fmt   *f;
    const struct zone       *z;
    const struct btag_head  *h;         /* the zone header, at z->base */
    const struct btag_count *n;         /* its counters */
    struct diag_checker      out;       /* the report stream and our name */
    uint64_t                *free_off;  /* free blocks found by the walk, ascending */
    size_t                   nfree, cap;
    int                      last_free; /* the walk ended with a free block */
};


/* The word at offset off from the zone base. */
static inline uint64_t *
btag_word(void *base, uint64_t off)
{
    return (uint64_t *) ((unsigned char *) base + off);
}

/* The same, read only (the views and the check). */
static inline uint64_t
btag_read(const void *base, uint64_t off)
{
    return *(const uint64_t *) ((const unsigned char *) base + off);
}

#define btag_next(base, off)  (*btag_word(base, (off) + BTAG_NEXT))
#define btag_prev(base, off)  (*btag_word(base, (off) + BTAG_PREV))

/* 16 bits that depend on a tag's offset, in the tag's top bits. */
static inline uint64_t
btag_magic(uint64_t off)
{
    return (off * 0x9e3779b97f4a7c15ULL) & BTAG_MAGIC_MASK;
}

/* The tag of a block at off of size bytes with the given flags. */
static inline uint64_t
btag_tag(uint64_t off, uint64_t size, uint64_t flags)
{
    return btag_magic(off) | size | flags;
}

/* Whether header t says its block is free. */
static inline int
btag_is_free(const struct btag_fmt *f, uint64_t t)
{
    return (t & f->state) == f->state_free;
}

/* The counters of the zone header h. */
static inline const struct btag_count *
btag_count_of(const struct btag_head *h, const struct btag_fmt *f)
{
    return (const struct btag_count *) ((const unsigned char *) h + f->count_off);
}

/* Block size for a request, 0 if no zone could hold it. */
static inline uint64_t
btag_block_size(const struct btag_fmt *f, size_t size)
{
    uint64_t s;

    if (size >= f->zone_max) {
        return 0;
    }
    s = BTAG_ROUND((uint64_t) size + f->overhead);
    return s < BTAG_MIN_BLOCK ? BTAG_MIN_BLOCK : s;
}

/* Where the blocks of a zone of size bytes end (its epilogue header). */
static inline uint64_t
btag_end(const struct btag_fmt *f, uint64_t size)
{
    return f->start + ((size - f->start - BTAG_WORD) & ~(BTAG_ALIGN - 1));
}

/* The smallest zone: the header, one block, the epilogue. */
static inline size_t
btag_min_zone_size(const struct btag_fmt *f)
{
    return (size_t) (f->start + BTAG_MIN_BLOCK + BTAG_WORD);
}

/* Whether off can be a block on a free list (in bounds, aligned). */
static inline int
btag_node_ok(const struct btag_head *h, uint64_t off)
{
    return off >= h->start && off + BTAG_MIN_BLOCK <= h->end && off % BTAG_ALIGN == BTAG_WORD;
}


/* Allocation and free. */

/* An allocation that found no block: counted, and said; NULL. */
static inline void *
btag_no_block(const struct btag_fmt *f, struct btag_count *n, size_t size)
{
    n->fails++;
    diag_set("%s_alloc(): no free block for %zu bytes", f->name, size);
    return NULL;
}

/* The s bytes at b, already tagged in use, are handed out: the payload. */
static inline void *
btag_grant(struct zone *z, struct btag_count *n, uint64_t b, uint64_t s)
{
    n->free_bytes -= s;
    n->nused++;
    n->used_bytes += s;
    return z->base + b + BTAG_WORD;
}

/* The s bytes of a block in use come back (the free count is the caller's:
 * it depends on the merges). */
static inline void
btag_release(struct btag_count *n, uint64_t s)
{
    n->nused--;
    n->used_bytes -= s;
    n->free_bytes += s;
}

/* alloc: locked() under the zone's lock. */
static inline void *
btag_alloc(struct zone *z, size_t size, void *(*locked)(struct zone *z, size_t size))
{
    struct btag_head *h = (struct btag_head *) z->base;
    void             *p;

    shmtx_lock(&h->mutex);
    p = locked(z, size);
    shmtx_unlock(&h->mutex);
    return p;
}

/* free: locked() under the zone's lock. */
static inline int
btag_free(struct zone *z, void *p, int (*locked)(struct zone *z, void *p))
{
    struct btag_head *h = (struct btag_head *) z->base;
    int               rc;

    shmtx_lock(&h->mutex);
    rc = locked(z, p);
    shmtx_unlock(&h->mutex);
    return rc;
}

/*
 * The block in use whose payload is p, validated without writing anything:
 * *off gets its offset.  op names the caller in the message (free,
 * usable_size).  free() also validates a free left neighbour (left), which
 * it is about to merge with; it holds the lock.  usable_size() takes no lock
 * and must not look there: another process may be merging, splitting or
 * allocating that neighbour right now, while the tags of a live block and
 * its next block's header stay put.
 */
static inline int
btag_locate(const struct zone *z, const struct btag_fmt *f, const void *p, const char *op,
    int left, uint64_t *off)
{
    const struct btag_head *h = (const struct btag_head *) z->base;
    uintptr_t               a = (uintptr_t) p, base = (uintptr_t) z->base;
    uint64_t                b, t, s;

    if (a < base + h->start + BTAG_WORD || a >= base + h->end) {
        diag_set("%s_%s(): pointer %p is outside the zone's blocks", f->name, op, p);
        return -1;
    }
    if ((a - base) % BTAG_ALIGN != 0) {
        diag_set("%s_%s(): pointer %p is not 16-byte aligned, so not a block", f->name, op, p);
        return -1;
    }
    b = a - base - BTAG_WORD;
    t = btag_read(h, b);
    s = t & BTAG_SIZE_MASK;
    if ((t & BTAG_MAGIC_MASK) != btag_magic(b) || (t & BTAG_FLAG_BITS & ~f->flags) != 0
        || s < BTAG_MIN_BLOCK || s > h->end - b)
    {
        goto not_block;
    }
    if (btag_is_free(f, t)) {
        diag_set("%s_%s(): block at %p is already free", f->name, op, p);
        return -1;
    }
    if ((btag_read(h, b + s) & BTAG_MAGIC_MASK) != btag_magic(b + s) || !f->agree(h, b, t, s, left)) {
        goto not_block;
    }
    *off = b;
    return 0;

not_block:
    diag_set("%s_%s(): pointer %p is not the start of a block (no valid %s)", f->name, op, p,
             f->tags);
    return -1;
}

/* usable_size: the payload of the block at p, 0 if p is none; looking a
 * pointer up does not clobber the caller's last message. */
static inline size_t
btag_usable_size(const struct zone *z, const struct btag_fmt *f, const void *p)
{
    unsigned long n = diag_count();
    uint64_t      b;
    char          saved[512];

    snprintf(saved, sizeof(saved), "%s", diag_last());
    if (btag_locate(z, f, p, "usable_size", 0, &b) != 0) {
        if (diag_count() != n) {
            diag_set("%s", saved);
        }
        return 0;
    }
    return (size_t) ((btag_read(z->base, b) & BTAG_SIZE_MASK) - f->overhead);
}


/* Zone set-up and the read-only views (btag.c).  The views take no lock (a
 * process that attached the zone read-only cannot) and trust nothing: every
 * offset is bounds-checked and every walk bounded. */

/* init's common part: refuse a zone that is too small, too large or
 * misaligned; then zero the header, make the lock, write the magic and the
 * geometry, and count [start, end) as one free block, whose tags the
 * allocator writes.  0 or -1 (diag). */
int btag_init(struct zone *z, const struct btag_fmt *f);

/* Whether the header's geometry is the one init writes for this zone. */
int btag_geometry_ok(const struct zone *z, const struct btag_fmt *f);

/* data_offset, for both ops tables: the first block. */
size_t btag_data_offset(struct zone *z);

/* stats' common part: everything but largest_free, which is the caller's
 * to fill when this returns 0; -1 when the geometry is not right (then only
 * zone_bytes is set). */
int btag_stats(struct zone *z, const struct btag_fmt *f, struct alloc_stats *out);

/*
 * One node b of a free list, met by each_free_run after *steps others: -1
 * if it cannot be a free block or the walk has met more nodes than there
 * can be blocks; else fn (NULL: none) is told its run, and 1 means fn
 * asked to stop, 0 to go on.
 */
static inline int
btag_run(const struct btag_head *h, uint64_t b, uint64_t *steps, alloc_run_fn fn, void *arg)
{
    uint64_t s;

    if ((*steps)++ >= (h->end - h->start) / BTAG_MIN_BLOCK || !btag_node_ok(h, b)) {
        return -1;
    }
    s = btag_read(h, b) & BTAG_SIZE_MASK;
    if (s > h->end - b) {
        return -1;
    }
    return fn && fn(arg, b - h->start, s) ? 1 : 0;
}

/*
 * check(), as "NAME_check": the header (its common fields, then
 * check_head), a walk over every block by its sizes (magic, size,
 * check_block, no two free blocks adjacent, check_free, the end, then
 * check_end and the counters), then check_lists.  The first violation is
 * reported; 0 or -1.
 */
int btag_check(struct zone *z, FILE *report, const struct btag_fmt *f);

/* Index of off among the free blocks the walk found, or -1. */
ptrdiff_t btag_find_free(const struct btag_check *c, uint64_t off);

#endif
