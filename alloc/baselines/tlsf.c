/*
 * tlsf: Two-Level Segregated Fit (Masmano, Ripoll, Crespo, Real, ECRTS
 * 2004) over shared memory, written from the paper's idea.
 *
 * Free blocks are kept in lists by size class, and classes are found with
 * bit instructions instead of walks, so allocation and free take bounded,
 * constant time whatever the fragmentation.  A size s falls in first-level
 * class fl = floor(log2 s) (shifted), and the range [2^f, 2^(f+1)) of that
 * class is cut into 2^TL_SL_LOG2 = 32 second-level lists of equal width.
 * Below TL_SMALL (512 bytes) the classes are linear instead, one list per
 * 16-byte size, as TLSF does for small sizes.  One bitmap word says which
 * first-level classes have a non-empty list, one word per first level which
 * of its 32 lists are non-empty: the search is two find-first-set
 * instructions.
 *
 * Good fit.  A request is rounded up to the next second-level boundary
 * before the search: then every block of the list found is large enough, so
 * the head is taken without looking at another block.  The price is that a
 * block whose size lies in the request's own list but above the request is
 * not used when nothing larger exists (largest_free in stats says which
 * request still succeeds); the waste per block is bounded by the list's
 * width, 1/32 of the size.
 *
 * Blocks (offsets from the zone base; a block starts at 8 mod 16 so that
 * its payload is 16-byte aligned; S is a multiple of 16):
 *
 *   off          header: magic(off) << 48 | S | FREE | PREV_FREE
 *   off + 8      payload, S - 8 bytes; a free block keeps here the next
 *   off + 16       and prev offsets of its list (0 = none)
 *   off + S - 8  a free block's last word: its own offset, the
 *                "previous physical block" link the next block follows
 *                when its PREV_FREE bit is set
 *
 * A block in use has no footer (its last word is payload), as in TLSF; the
 * next block's PREV_FREE bit says whether the link is there.  Freeing merges
 * at once with a free neighbour on either side, so no two free blocks are
 * ever adjacent; an allocation splits off the remainder when it can be a
 * block (TL_MIN_BLOCK) and puts it in its list.  An epilogue header ("in
 * use", size 0) closes the data area.  The whole control structure (lock,
 * bitmaps, list heads as offsets, counters) is the zone header, so any
 * process can use or inspect the zone wherever it maps it.
 *
 * Bad frees are refused with the zone unchanged: outside the blocks,
 * misaligned, not a block start (the magic, the size, the next header's
 * magic and PREV_FREE bit, and a free left neighbour's header must agree),
 * already free.  A block merged into its left neighbour keeps its old
 * header marked free, so a second free is still called a double free.  What
 * cannot be detected: a pointer into a live block's payload where the
 * program wrote a header and a next header that agree (with the right magic
 * for those offsets); and a free of a block that was freed and since handed
 * out again as the same block (a legal free).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/tlsf.h"

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"

#define TL_ALIGN_LOG2    4
#define TL_ALIGN         (1ULL << TL_ALIGN_LOG2)
#define TL_SL_LOG2       5
#define TL_SL_COUNT      (1u << TL_SL_LOG2)
#define TL_FL_SHIFT      (TL_SL_LOG2 + TL_ALIGN_LOG2)
#define TL_SMALL         (1ULL << TL_FL_SHIFT)          /* linear classes below */
#define TL_BLOCK_LOG2    40                             /* blocks < 2^41 bytes */
#define TL_FL_COUNT      (TL_BLOCK_LOG2 - TL_FL_SHIFT + 2)
#define TL_ZONE_MAX      (1ULL << (TL_BLOCK_LOG2 + 1))

#define TL_HDR           8
#define TL_MIN_BLOCK     32                             /* header, links, last word */
#define TL_FREE          1ULL
#define TL_PREV_FREE     2ULL
#define TL_FLAG_BITS     0xfULL
#define TL_SIZE_MASK     0x0000fffffffffff0ULL
#define TL_MAGIC_MASK    0xffff000000000000ULL
#define TL_ZONE_MAGIC    "TLSFZON1"

/* The control structure, at the zone base. */
struct tl_zone {
    struct shmtx_lockword lock;
    struct shmtx          mutex;
    char                  magic[8];                  /* TL_ZONE_MAGIC */
    uint64_t              size;                      /* zone bytes */
    uint64_t              start;                     /* first block */
    uint64_t              end;                       /* epilogue header */
    uint64_t              fl_bitmap;                 /* bit fl: sl_bitmap[fl] != 0 */
    /* Counters, kept under the lock. */
    uint64_t              nfree;                     /* free blocks */
    uint64_t              free_bytes;                /* their bytes, headers included */
    uint64_t              nused;                     /* blocks handed out */
    uint64_t              used_bytes;                /* their bytes, headers included */
    uint64_t              fails;                     /* allocations that found no list */
    uint64_t              steps;                     /* list nodes visited by searches */
    uint32_t              sl_bitmap[TL_FL_COUNT];    /* bit sl: head[fl][sl] != 0 */
    uint64_t              head[TL_FL_COUNT][TL_SL_COUNT]; /* first block, 0 = empty */
};

_Static_assert(TL_FL_COUNT < 64, "first-level bitmap is one word");

#define TL_START  ((((uint64_t) sizeof(struct tl_zone) + TL_ALIGN - 1) & ~(TL_ALIGN - 1)) + TL_HDR)


static inline uint64_t *
tl_word(struct tl_zone *tz, uint64_t off)
{
    return (uint64_t *) ((unsigned char *) tz + off);
}

#define tl_next(tz, off)  (*tl_word(tz, (off) + 8))
#define tl_prev(tz, off)  (*tl_word(tz, (off) + 16))

static inline uint64_t
tl_magic(uint64_t off)
{
    return (off * 0x9e3779b97f4a7c15ULL) & TL_MAGIC_MASK;
}

static inline uint64_t
tl_tag(uint64_t off, uint64_t size, uint64_t flags)
{
    return tl_magic(off) | size | flags;
}

static inline unsigned
tl_fls(uint64_t x)
{
    return 63u - (unsigned) __builtin_clzll(x);
}

/* The list a block of s bytes belongs to (the paper's mapping). */
static inline void
tl_map(uint64_t s, unsigned *fl, unsigned *sl)
{
    unsigned f;

    if (s < TL_SMALL) {
        *fl = 0;
        *sl = (unsigned) (s >> TL_ALIGN_LOG2);
        return;
    }
    f = tl_fls(s);
    *fl = f - TL_FL_SHIFT + 1;
    *sl = (unsigned) (s >> (f - TL_SL_LOG2)) - TL_SL_COUNT;
}

/* Round s up to the next list boundary: every block of the list that the
 * rounded size maps to is at least s bytes (the good-fit guarantee). */
static inline uint64_t
tl_round(uint64_t s)
{
    if (s >= TL_SMALL) {
        s += (1ULL << (tl_fls(s) - TL_SL_LOG2)) - 1;
    }
    return s;
}

/* The smallest size list (fl, sl) holds. */
static inline uint64_t
tl_list_low(unsigned fl, unsigned sl)
{
    if (fl == 0) {
        return (uint64_t) sl << TL_ALIGN_LOG2;
    }
    return (1ULL << (fl + TL_FL_SHIFT - 1))
           + ((uint64_t) sl << (fl + TL_FL_SHIFT - 1 - TL_SL_LOG2));
}

/* Block size for a request, 0 if no zone could hold it. */
static inline uint64_t
tl_block_size(size_t size)
{
    uint64_t s;

    if (size >= TL_ZONE_MAX) {
        return 0;
    }
    s = ((uint64_t) size + TL_HDR + TL_ALIGN - 1) & ~(TL_ALIGN - 1);
    return s < TL_MIN_BLOCK ? TL_MIN_BLOCK : s;
}


/* Lists and bitmaps. */

static inline void
tl_insert(struct tl_zone *tz, uint64_t b, uint64_t s)
{
    unsigned fl, sl;
    uint64_t h;

    tl_map(s, &fl, &sl);
    h = tz->head[fl][sl];
    tl_next(tz, b) = h;
    tl_prev(tz, b) = 0;
    if (h) {
        tl_prev(tz, h) = b;
    }
    tz->head[fl][sl] = b;
    tz->sl_bitmap[fl] |= 1u << sl;
    tz->fl_bitmap |= 1ULL << fl;
}

/* The list (fl, sl) lost its last block. */
static inline void
tl_emptied(struct tl_zone *tz, unsigned fl, unsigned sl)
{
    tz->sl_bitmap[fl] &= ~(1u << sl);
    if (tz->sl_bitmap[fl] == 0) {
        tz->fl_bitmap &= ~(1ULL << fl);
    }
}

static inline void
tl_remove(struct tl_zone *tz, uint64_t b, uint64_t s)
{
    unsigned fl, sl;
    uint64_t p = tl_prev(tz, b), n = tl_next(tz, b);

    if (n) {
        tl_prev(tz, n) = p;
    }
    if (p) {
        tl_next(tz, p) = n;
        return;
    }
    tl_map(s, &fl, &sl);
    tz->head[fl][sl] = n;
    if (n == 0) {
        tl_emptied(tz, fl, sl);
    }
}

/* Take the head of a non-empty list whose blocks are all at least `need`
 * bytes, the first such list in size order; 0 if none. */
static inline uint64_t
tl_take(struct tl_zone *tz, uint64_t need)
{
    unsigned fl, sl;
    uint32_t sl_map;
    uint64_t fl_map, b, n;

    tl_map(tl_round(need), &fl, &sl);
    if (fl >= TL_FL_COUNT) {
        return 0;
    }
    sl_map = tz->sl_bitmap[fl] & (~0u << sl);
    if (sl_map == 0) {
        fl_map = tz->fl_bitmap & (~0ULL << (fl + 1));
        if (fl_map == 0) {
            return 0;
        }
        fl = (unsigned) __builtin_ctzll(fl_map);
        sl_map = tz->sl_bitmap[fl];
    }
    sl = (unsigned) __builtin_ctz(sl_map);

    b = tz->head[fl][sl];
    n = tl_next(tz, b);
    tz->head[fl][sl] = n;
    if (n) {
        tl_prev(tz, n) = 0;
    } else {
        tl_emptied(tz, fl, sl);
    }
    tz->steps++;
    return b;
}


static void *
tlsf_alloc_locked(struct zone *z, size_t size)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        need = tl_block_size(size), b, s, rest, r;

    b = need ? tl_take(tz, need) : 0;
    if (b == 0) {
        tz->fails++;
        diag_set("tlsf_alloc(): no free block for %zu bytes", size);
        return NULL;
    }
    s = *tl_word(tz, b) & TL_SIZE_MASK;
    rest = s - need;
    if (rest >= TL_MIN_BLOCK) {
        /* The remainder stays free: the next block's PREV_FREE stays set. */
        r = b + need;
        *tl_word(tz, r) = tl_tag(r, rest, TL_FREE);
        *tl_word(tz, r + rest - TL_HDR) = r;
        tl_insert(tz, r, rest);
        s = need;
    } else {
        *tl_word(tz, b + s) &= ~TL_PREV_FREE;
        tz->nfree--;
    }
    *tl_word(tz, b) = tl_tag(b, s, 0);     /* a free block's left neighbour is in use */
    tz->free_bytes -= s;
    tz->nused++;
    tz->used_bytes += s;
    return z->base + b + TL_HDR;
}

static void *
tlsf_alloc(struct zone *z, size_t size)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    void           *p;

    shmtx_lock(&tz->mutex);
    p = tlsf_alloc_locked(z, size);
    shmtx_unlock(&tz->mutex);
    return p;
}

/*
 * The block whose payload is p, validated without writing anything: *off
 * gets its offset.  fn names the caller in the message.  free() also
 * validates a free left neighbour, which it is about to merge with; it holds
 * the lock.  usable_size() takes no lock and must not look there: another
 * process may be allocating that neighbour right now, while everything of a
 * live block up to its next header stays put.
 */
static int
tl_locate(const struct zone *z, const void *p, uint64_t *off, const char *fn, int left)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uintptr_t       a = (uintptr_t) p, base = (uintptr_t) z->base;
    uint64_t        b, t, s, nt, l;

    if (a < base + tz->start + TL_HDR || a >= base + tz->end) {
        diag_set("%s(): pointer %p is outside the zone's blocks", fn, p);
        return -1;
    }
    if ((a - base) % TL_ALIGN != 0) {
        diag_set("%s(): pointer %p is not 16-byte aligned, so not a block", fn, p);
        return -1;
    }
    b = a - base - TL_HDR;
    t = *tl_word(tz, b);
    s = t & TL_SIZE_MASK;
    if ((t & TL_MAGIC_MASK) != tl_magic(b) || (t & TL_FLAG_BITS & ~(TL_FREE | TL_PREV_FREE))
        || s < TL_MIN_BLOCK || s > tz->end - b)
    {
        goto not_block;
    }
    if (t & TL_FREE) {
        diag_set("%s(): block at %p is already free", fn, p);
        return -1;
    }
    nt = *tl_word(tz, b + s);
    if ((nt & TL_MAGIC_MASK) != tl_magic(b + s) || (nt & TL_PREV_FREE)) {
        goto not_block;
    }
    if (left && (t & TL_PREV_FREE)) {
        l = *tl_word(tz, b - TL_HDR);
        if (l < tz->start || l >= b || b - l < TL_MIN_BLOCK || l % TL_ALIGN != TL_HDR
            || *tl_word(tz, l) != tl_tag(l, b - l, TL_FREE))
        {
            goto not_block;
        }
    }
    *off = b;
    return 0;

not_block:
    diag_set("%s(): pointer %p is not the start of a block (no valid header)", fn, p);
    return -1;
}

static int
tlsf_free_locked(struct zone *z, void *p)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        b, t, s, n, nt, l, ls;

    if (tl_locate(z, p, &b, "tlsf_free", 1) != 0) {
        return -1;
    }
    t = *tl_word(tz, b);
    s = t & TL_SIZE_MASK;
    n = b + s;
    nt = *tl_word(tz, n);
    tz->nused--;
    tz->used_bytes -= s;
    tz->free_bytes += s;
    tz->nfree++;

    if (t & TL_PREV_FREE) {
        /* Merge into the left neighbour; our old header says "free" for a
         * later double free. */
        l = *tl_word(tz, b - TL_HDR);
        ls = *tl_word(tz, l) & TL_SIZE_MASK;
        tl_remove(tz, l, ls);
        *tl_word(tz, b) = t | TL_FREE;
        b = l;
        s += ls;
        tz->nfree--;
    }
    if (nt & TL_FREE) {
        tl_remove(tz, n, nt & TL_SIZE_MASK);
        s += nt & TL_SIZE_MASK;
        tz->nfree--;
    }
    *tl_word(tz, b) = tl_tag(b, s, TL_FREE);
    *tl_word(tz, b + s - TL_HDR) = b;
    *tl_word(tz, b + s) |= TL_PREV_FREE;
    tl_insert(tz, b, s);
    return 0;
}

static int
tlsf_free(struct zone *z, void *p)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    int             rc;

    shmtx_lock(&tz->mutex);
    rc = tlsf_free_locked(z, p);
    shmtx_unlock(&tz->mutex);
    return rc;
}

static size_t
tlsf_usable_size(struct zone *z, void *p)
{
    unsigned long n = diag_count();
    uint64_t      b;
    char          saved[512];

    /* Looking up a pointer must not clobber the caller's last message. */
    snprintf(saved, sizeof(saved), "%s", diag_last());
    if (tl_locate(z, p, &b, "tlsf_usable_size", 0) != 0) {
        if (diag_count() != n) {
            diag_set("%s", saved);
        }
        return 0;
    }
    return (size_t) ((*tl_word((struct tl_zone *) z->base, b) & TL_SIZE_MASK) - TL_HDR);
}


/* Zone set-up. */

static size_t
tlsf_min_zone_size(const struct alloc_params *p)
{
    (void) p;
    return (size_t) (TL_START + TL_MIN_BLOCK + TL_HDR);
}

static uint64_t
tl_end_for(uint64_t size)
{
    return TL_START + ((size - TL_START - TL_HDR) & ~(TL_ALIGN - 1));
}

static int
tlsf_init(struct zone *z, const struct alloc_params *p)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        start = TL_START, end;

    if (p->policy && p->policy[0]) {
        diag_set("tlsf_init(): unknown policy \"%s\" (tlsf has one fit, good fit, "
                 "and takes no policy)", p->policy);
        return -1;
    }
    if (z->size < tlsf_min_zone_size(p)) {
        diag_set("tlsf_init(): zone of %zu bytes is too small: the minimum is %zu bytes",
                 z->size, tlsf_min_zone_size(p));
        return -1;
    }
    if (z->size >= TL_ZONE_MAX) {
        diag_set("tlsf_init(): zone of %zu bytes is too large: the limit is %llu bytes",
                 z->size, (unsigned long long) TL_ZONE_MAX - 1);
        return -1;
    }
    if ((uintptr_t) z->base % TL_ALIGN != 0) {
        diag_set("tlsf_init(): zone base %p is not 16-byte aligned", (void *) z->base);
        return -1;
    }
    end = tl_end_for(z->size);

    memset(tz, 0, sizeof(*tz));
    if (shmtx_create(&tz->mutex, &tz->lock, z->ctl ? z->ctl->lockstat : NULL, 0) != 0) {
        diag_clear();   /* works without the semaphore, as nginx goes on */
    }
    memcpy(tz->magic, TL_ZONE_MAGIC, sizeof(tz->magic));
    tz->size = z->size;
    tz->start = start;
    tz->end = end;

    *tl_word(tz, start) = tl_tag(start, end - start, TL_FREE);
    *tl_word(tz, end - TL_HDR) = start;
    *tl_word(tz, end) = tl_tag(end, 0, TL_PREV_FREE);          /* epilogue */
    tl_insert(tz, start, end - start);
    tz->nfree = 1;
    tz->free_bytes = end - start;

    return 0;
}

static int
tlsf_attach(struct zone *z)
{
    (void) z;           /* nothing process-private */
    return 0;
}

static size_t
tlsf_data_offset(struct zone *z)
{
    return (size_t) ((const struct tl_zone *) z->base)->start;
}


/* Read-only views: stats, free runs, the check.  They take no lock (a
 * process that attached the zone read-only cannot) and trust nothing:
 * every offset is bounds-checked and every walk bounded. */

static int
tl_geometry_ok(const struct zone *z)
{
    const struct tl_zone *tz = (const struct tl_zone *) z->base;

    return z->size >= tlsf_min_zone_size(NULL) && z->size < TL_ZONE_MAX
           && memcmp(tz->magic, TL_ZONE_MAGIC, sizeof(tz->magic)) == 0
           && tz->size == z->size && tz->start == TL_START && tz->end == tl_end_for(z->size);
}

static inline int
tl_node_ok(const struct tl_zone *tz, uint64_t off)
{
    return off >= tz->start && off + TL_MIN_BLOCK <= tz->end && off % TL_ALIGN == TL_HDR;
}

static int
tlsf_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        b, s, steps = 0, max_steps;
    unsigned        fl, sl;

    if (!tl_geometry_ok(z)) {
        return -1;
    }
    max_steps = (tz->end - tz->start) / TL_MIN_BLOCK;
    for (fl = 0; fl < TL_FL_COUNT; fl++) {
        for (sl = 0; sl < TL_SL_COUNT; sl++) {
            for (b = tz->head[fl][sl]; b != 0; b = tl_next(tz, b)) {
                if (steps++ >= max_steps || !tl_node_ok(tz, b)) {
                    return -1;
                }
                s = *tl_word(tz, b) & TL_SIZE_MASK;
                if (s > tz->end - b) {
                    return -1;
                }
                if (fn && fn(arg, b - tz->start, s)) {
                    return 0;
                }
            }
        }
    }
    return 0;
}

static void
tlsf_stats(struct zone *z, struct alloc_stats *out)
{
    const struct tl_zone *tz = (const struct tl_zone *) z->base;
    unsigned              fl, sl;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    if (!tl_geometry_ok(z)) {
        return;
    }
    out->data_bytes = tz->end - tz->start;
    out->free_bytes = tz->free_bytes - tz->nfree * TL_HDR;
    /* The largest request that succeeds: the low end of the highest
     * non-empty list (good fit rounds every request up to a boundary). */
    if (tz->fl_bitmap) {
        fl = tl_fls(tz->fl_bitmap);
        if (fl < TL_FL_COUNT && tz->sl_bitmap[fl]) {
            sl = tl_fls(tz->sl_bitmap[fl]);
            if (tl_list_low(fl, sl) >= TL_MIN_BLOCK) {
                out->largest_free = tl_list_low(fl, sl) - TL_HDR;
            }
        }
    }
    out->footprint = tz->end + TL_HDR - tz->free_bytes;
    out->fails = tz->fails;
}

uint64_t
tlsf_steps(const struct zone *z)
{
    return ((const struct tl_zone *) z->base)->steps;
}


/* check(): every invariant, first violation reported. */

struct tl_check {
    const struct tl_zone *tz;
    struct diag_checker   out;          /* the report stream and our name */
    uint64_t             *free_off;     /* free blocks found by the walk, ascending */
    unsigned char        *listed;       /* ... seen on a list */
    size_t                nfree, cap;
};

static inline uint64_t
tl_read(const struct tl_check *c, uint64_t off)
{
    return *(const uint64_t *) ((const unsigned char *) c->tz + off);
}

static int
tl_check_header(struct tl_check *c, const struct zone *z)
{
    const struct tl_zone *tz = c->tz;

    if (z->size < tlsf_min_zone_size(NULL) || z->size >= TL_ZONE_MAX) {
        return diag_report(&c->out, "zone of %zu bytes cannot be a tlsf zone", z->size);
    }
    if (memcmp(tz->magic, TL_ZONE_MAGIC, sizeof(tz->magic)) != 0) {
        return diag_report(&c->out, "zone header magic is not %s", TL_ZONE_MAGIC);
    }
    if (tz->size != z->size) {
        return diag_report(&c->out, "zone header says %llu bytes, the zone has %zu",
                       (unsigned long long) tz->size, z->size);
    }
    if (!tl_geometry_ok(z)) {
        return diag_report(&c->out, "blocks span [%llu, %llu), expected [%llu, %llu)",
                       (unsigned long long) tz->start, (unsigned long long) tz->end,
                       (unsigned long long) TL_START, (unsigned long long) tl_end_for(z->size));
    }
    if (tz->fl_bitmap >> TL_FL_COUNT) {
        return diag_report(&c->out, "first-level bitmap %#llx has bits beyond its %d classes",
                       (unsigned long long) tz->fl_bitmap, TL_FL_COUNT);
    }
    return 0;
}

static int
tl_remember_free(struct tl_check *c, uint64_t off)
{
    uint64_t *n;

    if (c->nfree == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        n = realloc(c->free_off, c->cap * sizeof(*n));
        if (n == NULL) {
            return diag_report(&c->out, "out of memory for %zu free blocks", c->cap);
        }
        c->free_off = n;
    }
    c->free_off[c->nfree++] = off;
    return 0;
}

/* Walk every block from start to end by its sizes. */
static int
tl_check_blocks(struct tl_check *c)
{
    const struct tl_zone *tz = c->tz;
    uint64_t b, t, s, nused = 0, used = 0, freed = 0, prev_free = 0;

    for (b = tz->start; b < tz->end; b += s) {
        t = tl_read(c, b);
        s = t & TL_SIZE_MASK;
        if ((t & TL_MAGIC_MASK) != tl_magic(b)) {
            return diag_report(&c->out, "block at offset %llu: header %#llx has a wrong magic",
                           (unsigned long long) b, (unsigned long long) t);
        }
        if ((t & TL_FLAG_BITS & ~(TL_FREE | TL_PREV_FREE)) || s < TL_MIN_BLOCK
            || s > tz->end - b)
        {
            return diag_report(&c->out, "block at offset %llu: size %llu out of bounds (header %#llx)",
                           (unsigned long long) b, (unsigned long long) s,
                           (unsigned long long) t);
        }
        if (!(t & TL_PREV_FREE) != !prev_free) {
            return diag_report(&c->out, "block at offset %llu: PREV_FREE bit is %d, the block before is %s",
                           (unsigned long long) b, (int) ((t >> 1) & 1),
                           prev_free ? "free" : "in use");
        }
        if (!(t & TL_FREE)) {
            nused++;
            used += s;
            prev_free = 0;
            continue;
        }
        if (prev_free) {
            return diag_report(&c->out, "two adjacent free blocks: the one at offset %llu was not merged",
                           (unsigned long long) b);
        }
        if (tl_read(c, b + s - TL_HDR) != b) {
            return diag_report(&c->out, "free block at offset %llu: its last word is %llu, "
                           "not its own offset", (unsigned long long) b,
                           (unsigned long long) tl_read(c, b + s - TL_HDR));
        }
        prev_free = 1;
        freed += s;
        if (tl_remember_free(c, b) != 0) {
            return -1;
        }
    }
    if (b != tz->end) {
        return diag_report(&c->out, "the last block overruns the end at offset %llu",
                       (unsigned long long) tz->end);
    }
    if (tl_read(c, tz->end) != tl_tag(tz->end, 0, prev_free ? TL_PREV_FREE : 0)) {
        return diag_report(&c->out, "epilogue header at offset %llu is %#llx, expected %#llx",
                       (unsigned long long) tz->end, (unsigned long long) tl_read(c, tz->end),
                       (unsigned long long) tl_tag(tz->end, 0, prev_free ? TL_PREV_FREE : 0));
    }
    if (nused != tz->nused || used != tz->used_bytes) {
        return diag_report(&c->out, "counters say %llu blocks in use (%llu bytes), the walk found %llu (%llu)",
                       (unsigned long long) tz->nused, (unsigned long long) tz->used_bytes,
                       (unsigned long long) nused, (unsigned long long) used);
    }
    if (c->nfree != tz->nfree || freed != tz->free_bytes) {
        return diag_report(&c->out, "counters say %llu free blocks (%llu bytes), the walk found %zu (%llu)",
                       (unsigned long long) tz->nfree, (unsigned long long) tz->free_bytes,
                       c->nfree, (unsigned long long) freed);
    }
    return 0;
}

static ptrdiff_t
tl_find_free(const struct tl_check *c, uint64_t off)
{
    size_t lo = 0, hi = c->nfree, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (c->free_off[mid] < off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < c->nfree && c->free_off[lo] == off ? (ptrdiff_t) lo : -1;
}

/* One list: each node a free block not seen before, linked back, of a size
 * that maps to this list. */
static int
tl_check_list(struct tl_check *c, unsigned fl, unsigned sl, size_t *seen)
{
    uint64_t  b, prev = 0, s;
    unsigned  f, l;
    ptrdiff_t i;

    for (b = c->tz->head[fl][sl]; b != 0; prev = b, b = tl_read(c, b + 8)) {
        i = tl_node_ok(c->tz, b) ? tl_find_free(c, b) : -1;
        if (i < 0) {
            return diag_report(&c->out, "list (%u,%u): link to offset %llu is not a free block", fl, sl,
                           (unsigned long long) b);
        }
        if (c->listed[i]) {
            return diag_report(&c->out, "list (%u,%u): free block at offset %llu is listed twice "
                           "(or the list has a cycle)", fl, sl, (unsigned long long) b);
        }
        c->listed[i] = 1;
        (*seen)++;
        if (tl_read(c, b + 16) != prev) {
            return diag_report(&c->out, "list (%u,%u): block at offset %llu links back to %llu, not %llu",
                           fl, sl, (unsigned long long) b,
                           (unsigned long long) tl_read(c, b + 16), (unsigned long long) prev);
        }
        s = tl_read(c, b) & TL_SIZE_MASK;
        tl_map(s, &f, &l);
        if (f != fl || l != sl) {
            return diag_report(&c->out, "list (%u,%u): block at offset %llu of %llu bytes belongs in "
                           "list (%u,%u)", fl, sl, (unsigned long long) b,
                           (unsigned long long) s, f, l);
        }
    }
    return 0;
}

static int
tl_check_lists(struct tl_check *c)
{
    const struct tl_zone *tz = c->tz;
    unsigned fl, sl;
    size_t   seen = 0, i;
    int      bit;

    c->listed = calloc(c->nfree ? c->nfree : 1, 1);
    if (c->listed == NULL) {
        return diag_report(&c->out, "out of memory for %zu free blocks", c->nfree);
    }
    for (fl = 0; fl < TL_FL_COUNT; fl++) {
        if (!(tz->fl_bitmap >> fl & 1) != !tz->sl_bitmap[fl]) {
            return diag_report(&c->out, "first-level bitmap bit %u is %d, second-level bitmap %u is %#x",
                           fl, (int) (tz->fl_bitmap >> fl & 1), fl, tz->sl_bitmap[fl]);
        }
        for (sl = 0; sl < TL_SL_COUNT; sl++) {
            bit = (int) (tz->sl_bitmap[fl] >> sl & 1);
            if (!bit != !tz->head[fl][sl]) {
                return diag_report(&c->out, "second-level bitmap bit (%u,%u) is %d, the list head is %llu",
                               fl, sl, bit, (unsigned long long) tz->head[fl][sl]);
            }
            if (tl_check_list(c, fl, sl, &seen) != 0) {
                return -1;
            }
        }
    }
    if (seen != c->nfree) {
        for (i = 0; i < c->nfree && c->listed[i]; i++) { /* void */ }
        return diag_report(&c->out, "%zu of %zu free blocks are on no list (first at offset %llu)",
                       c->nfree - seen, c->nfree, (unsigned long long) c->free_off[i]);
    }
    return 0;
}

static int
tlsf_check(struct zone *z, FILE *report)
{
    struct tl_check c;
    int             rc;

    memset(&c, 0, sizeof(c));
    c.tz = (const struct tl_zone *) z->base;
    c.out.report = report;
    c.out.who = "tlsf_check";
    if (z->size < sizeof(struct tl_zone)) {
        return diag_report(&c.out, "zone of %zu bytes cannot hold the header", z->size);
    }
    rc = tl_check_header(&c, z);
    if (rc == 0) {
        rc = tl_check_blocks(&c);
    }
    if (rc == 0) {
        rc = tl_check_lists(&c);
    }
    free(c.free_off);
    free(c.listed);
    return rc;
}

const struct allocator_ops tlsf_allocator = {
    .name = "tlsf",
    .summary = "two-level segregated fit (Masmano et al. 2004) over shm: 32 lists per "
               "power of two, bitmap search, O(1) good fit, immediate coalescing, offsets",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE
            | ALLOC_BAD_FREE_DETECTED | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME,
    .min_zone_size = tlsf_min_zone_size,
    .init = tlsf_init,
    .attach = tlsf_attach,
    .alloc = tlsf_alloc,
    .free = tlsf_free,
    .usable_size = tlsf_usable_size,
    .stats = tlsf_stats,
    .check = tlsf_check,
    .alloc_locked = tlsf_alloc_locked,
    .free_locked = tlsf_free_locked,
    .data_offset = tlsf_data_offset,
    .each_free_run = tlsf_each_free_run,
};
