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
 * bitmaps, list heads as offsets, counters: struct tl_zone, in tlsf.h) is
 * the zone header, so any process can use or inspect the zone wherever it
 * maps it.  The tag format, the pointer validation, the accounting and
 * check()'s walk over the blocks are the ones freelist uses too, in btag.h
 * and btag.c; this file has what is tlsf's own: the PREV_FREE bit and the
 * back link, the classes, lists and bitmaps, the merges.
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
#include <stdlib.h>
#include <string.h>

#include "baselines/btag.h"
#include "baselines/tlsf.h"

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"

#define TL_SMALL         (1ULL << TL_FL_SHIFT)          /* linear classes below */
#define TL_ZONE_MAX      (1ULL << (TL_BLOCK_LOG2 + 1))

static int tl_agree(const struct btag_head *h, uint64_t b, uint64_t t, uint64_t s, int left);
static int tl_check_head(struct btag_check *c);
static int tl_check_block(struct btag_check *c, uint64_t b, uint64_t t, uint64_t s,
    int prev_free);
static int tl_check_free(struct btag_check *c, uint64_t b, uint64_t s);
static int tl_check_end(struct btag_check *c);
static int tl_check_lists(struct btag_check *c);

/* Headers with FREE and PREV_FREE, no footer; the blocks after the control
 * structure. */
static const struct btag_fmt tl_fmt = {
    .name = "tlsf",
    .zone_magic = TL_ZONE_MAGIC,
    .head_size = sizeof(struct tl_zone),
    .count_off = offsetof(struct tl_zone, count),
    .start = BTAG_START(sizeof(struct tl_zone)),
    .zone_max = TL_ZONE_MAX,
    .overhead = TL_OVERHEAD,
    .flags = TL_FREE | TL_PREV_FREE,
    .state = TL_FREE,
    .state_free = TL_FREE,
    .tags = "header",
    .agree = tl_agree,
    .check_head = tl_check_head,
    .check_block = tl_check_block,
    .check_free = tl_check_free,
    .check_end = tl_check_end,
    .check_lists = tl_check_lists,
};


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
        *sl = (unsigned) (s >> BTAG_ALIGN_LOG2);
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
        return (uint64_t) sl << BTAG_ALIGN_LOG2;
    }
    return (1ULL << (fl + TL_FL_SHIFT - 1))
           + ((uint64_t) sl << (fl + TL_FL_SHIFT - 1 - TL_SL_LOG2));
}


/* Lists and bitmaps. */

static inline void
tl_insert(struct tl_zone *tz, uint64_t b, uint64_t s)
{
    unsigned fl, sl;
    uint64_t h;

    tl_map(s, &fl, &sl);
    h = tz->head[fl][sl];
    btag_next(tz, b) = h;
    btag_prev(tz, b) = 0;
    if (h) {
        btag_prev(tz, h) = b;
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
    uint64_t p = btag_prev(tz, b), n = btag_next(tz, b);

    if (n) {
        btag_prev(tz, n) = p;
    }
    if (p) {
        btag_next(tz, p) = n;
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
    n = btag_next(tz, b);
    tz->head[fl][sl] = n;
    if (n) {
        btag_prev(tz, n) = 0;
    } else {
        tl_emptied(tz, fl, sl);
    }
    tz->count.steps++;
    return b;
}


static void *
tlsf_alloc_locked(struct zone *z, size_t size)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        need = btag_block_size(&tl_fmt, size), b, s, rest, r;

    b = need ? tl_take(tz, need) : 0;
    if (b == 0) {
        return btag_no_block(&tl_fmt, &tz->count, size);
    }
    s = *btag_word(tz, b) & BTAG_SIZE_MASK;
    rest = s - need;
    if (rest >= BTAG_MIN_BLOCK) {
        /* The remainder stays free: the next block's PREV_FREE stays set. */
        r = b + need;
        *btag_word(tz, r) = btag_tag(r, rest, TL_FREE);
        *btag_word(tz, r + rest - BTAG_WORD) = r;
        tl_insert(tz, r, rest);
        s = need;
    } else {
        *btag_word(tz, b + s) &= ~TL_PREV_FREE;
        tz->count.nfree--;
    }
    *btag_word(tz, b) = btag_tag(b, s, 0);     /* a free block's left neighbour is in use */
    return btag_grant(z, &tz->count, b, s);
}

static void *
tlsf_alloc(struct zone *z, size_t size)
{
    return btag_alloc(z, size, tlsf_alloc_locked);
}

/* btag_locate's part for tlsf: the next header does not say its left
 * neighbour is free, and where ours does, the back link leads to a free
 * header that ends at b. */
static int
tl_agree(const struct btag_head *h, uint64_t b, uint64_t t, uint64_t s, int left)
{
    uint64_t l;

    if (btag_read(h, b + s) & TL_PREV_FREE) {
        return 0;
    }
    if (left && (t & TL_PREV_FREE)) {
        l = btag_read(h, b - BTAG_WORD);
        if (l < h->start || l >= b || b - l < BTAG_MIN_BLOCK || l % BTAG_ALIGN != BTAG_WORD
            || btag_read(h, l) != btag_tag(l, b - l, TL_FREE))
        {
            return 0;
        }
    }
    return 1;
}

static int
tlsf_free_locked(struct zone *z, void *p)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        b, t, s, n, nt, l, ls;

    if (btag_locate(z, &tl_fmt, p, "free", 1, &b) != 0) {
        return -1;
    }
    t = *btag_word(tz, b);
    s = t & BTAG_SIZE_MASK;
    n = b + s;
    nt = *btag_word(tz, n);
    btag_release(&tz->count, s);
    tz->count.nfree++;

    if (t & TL_PREV_FREE) {
        /* Merge into the left neighbour; our old header says "free" for a
         * later double free. */
        l = *btag_word(tz, b - BTAG_WORD);
        ls = *btag_word(tz, l) & BTAG_SIZE_MASK;
        tl_remove(tz, l, ls);
        *btag_word(tz, b) = t | TL_FREE;
        b = l;
        s += ls;
        tz->count.nfree--;
    }
    if (nt & TL_FREE) {
        tl_remove(tz, n, nt & BTAG_SIZE_MASK);
        s += nt & BTAG_SIZE_MASK;
        tz->count.nfree--;
    }
    *btag_word(tz, b) = btag_tag(b, s, TL_FREE);
    *btag_word(tz, b + s - BTAG_WORD) = b;
    *btag_word(tz, b + s) |= TL_PREV_FREE;
    tl_insert(tz, b, s);
    return 0;
}

static int
tlsf_free(struct zone *z, void *p)
{
    return btag_free(z, p, tlsf_free_locked);
}

static size_t
tlsf_usable_size(struct zone *z, void *p)
{
    return btag_usable_size(z, &tl_fmt, p);
}


/* Zone set-up. */

static size_t
tlsf_min_zone_size(const struct alloc_params *p)
{
    (void) p;
    return btag_min_zone_size(&tl_fmt);
}

static int
tlsf_init(struct zone *z, const struct alloc_params *p)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        start, end;

    if (p->policy && p->policy[0]) {
        diag_set("tlsf_init(): unknown policy \"%s\" (tlsf has one fit, good fit, "
                 "and takes no policy)", p->policy);
        return -1;
    }
    if (btag_init(z, &tl_fmt) != 0) {
        return -1;
    }
    start = tz->hdr.start;
    end = tz->hdr.end;

    *btag_word(tz, start) = btag_tag(start, end - start, TL_FREE);
    *btag_word(tz, end - BTAG_WORD) = start;
    *btag_word(tz, end) = btag_tag(end, 0, TL_PREV_FREE);          /* epilogue */
    tl_insert(tz, start, end - start);
    return 0;
}


/* Read-only views: stats, free runs, the check (btag.h says how they
 * treat what they read). */

static int
tlsf_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    struct tl_zone *tz = (struct tl_zone *) z->base;
    uint64_t        b, steps = 0;
    unsigned        fl, sl;
    int             rc;

    if (!btag_geometry_ok(z, &tl_fmt)) {
        return -1;
    }
    for (fl = 0; fl < TL_FL_COUNT; fl++) {
        for (sl = 0; sl < TL_SL_COUNT; sl++) {
            for (b = tz->head[fl][sl]; b != 0; b = btag_next(tz, b)) {
                rc = btag_run(&tz->hdr, b, &steps, fn, arg);
                if (rc != 0) {
                    return rc < 0 ? -1 : 0;
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

    if (btag_stats(z, &tl_fmt, out) != 0) {
        return;
    }
    /* The largest request that succeeds: the low end of the highest
     * non-empty list (good fit rounds every request up to a boundary), so
     * exact, though a larger free block may sit in that list. */
    out->exact |= ALLOC_EXACT_LARGEST;
    if (tz->fl_bitmap) {
        fl = tl_fls(tz->fl_bitmap);
        if (fl < TL_FL_COUNT && tz->sl_bitmap[fl]) {
            sl = tl_fls(tz->sl_bitmap[fl]);
            if (tl_list_low(fl, sl) >= BTAG_MIN_BLOCK) {
                out->largest_free = tl_list_low(fl, sl) - TL_OVERHEAD;
            }
        }
    }
}

uint64_t
tlsf_steps(const struct zone *z)
{
    return ((const struct tl_zone *) z->base)->count.steps;
}


/* check(): btag_check() with tlsf's own invariants. */

/* The first-level bitmap has no bits beyond its classes. */
static int
tl_check_head(struct btag_check *c)
{
    const struct tl_zone *tz = (const struct tl_zone *) c->h;

    if (tz->fl_bitmap >> TL_FL_COUNT) {
        return diag_report(&c->out, "first-level bitmap %#llx has bits beyond its %d classes",
                       (unsigned long long) tz->fl_bitmap, TL_FL_COUNT);
    }
    return 0;
}

/* Every block's PREV_FREE bit says what the block before it is. */
static int
tl_check_block(struct btag_check *c, uint64_t b, uint64_t t, uint64_t s, int prev_free)
{
    (void) s;
    if (!(t & TL_PREV_FREE) != !prev_free) {
        return diag_report(&c->out, "block at offset %llu: PREV_FREE bit is %d, the block before is %s",
                       (unsigned long long) b, (int) ((t >> 1) & 1),
                       prev_free ? "free" : "in use");
    }
    return 0;
}

/* A free block's last word is its own offset. */
static int
tl_check_free(struct btag_check *c, uint64_t b, uint64_t s)
{
    if (btag_read(c->h, b + s - BTAG_WORD) != b) {
        return diag_report(&c->out, "free block at offset %llu: its last word is %llu, "
                       "not its own offset", (unsigned long long) b,
                       (unsigned long long) btag_read(c->h, b + s - BTAG_WORD));
    }
    return 0;
}

/* The epilogue header says whether the last block is free. */
static int
tl_check_end(struct btag_check *c)
{
    uint64_t end = c->h->end, want = btag_tag(end, 0, c->last_free ? TL_PREV_FREE : 0);

    if (btag_read(c->h, end) != want) {
        return diag_report(&c->out, "epilogue header at offset %llu is %#llx, expected %#llx",
                       (unsigned long long) end, (unsigned long long) btag_read(c->h, end),
                       (unsigned long long) want);
    }
    return 0;
}

/* One list: each node a free block not seen before (listed), linked back,
 * of a size that maps to this list. */
static int
tl_check_list(struct btag_check *c, unsigned char *listed, unsigned fl, unsigned sl,
    size_t *seen)
{
    const struct tl_zone *tz = (const struct tl_zone *) c->h;
    uint64_t  b, prev = 0, s;
    unsigned  f, l;
    ptrdiff_t i;

    for (b = tz->head[fl][sl]; b != 0; prev = b, b = btag_read(tz, b + BTAG_NEXT)) {
        i = btag_node_ok(&tz->hdr, b) ? btag_find_free(c, b) : -1;
        if (i < 0) {
            return diag_report(&c->out, "list (%u,%u): link to offset %llu is not a free block", fl, sl,
                           (unsigned long long) b);
        }
        if (listed[i]) {
            return diag_report(&c->out, "list (%u,%u): free block at offset %llu is listed twice "
                           "(or the list has a cycle)", fl, sl, (unsigned long long) b);
        }
        listed[i] = 1;
        (*seen)++;
        if (btag_read(tz, b + BTAG_PREV) != prev) {
            return diag_report(&c->out, "list (%u,%u): block at offset %llu links back to %llu, not %llu",
                           fl, sl, (unsigned long long) b,
                           (unsigned long long) btag_read(tz, b + BTAG_PREV), (unsigned long long) prev);
        }
        s = btag_read(tz, b) & BTAG_SIZE_MASK;
        tl_map(s, &f, &l);
        if (f != fl || l != sl) {
            return diag_report(&c->out, "list (%u,%u): block at offset %llu of %llu bytes belongs in "
                           "list (%u,%u)", fl, sl, (unsigned long long) b,
                           (unsigned long long) s, f, l);
        }
    }
    return 0;
}

/* The bitmaps against the lists, every list, and every free block on one. */
static int
tl_check_lists_of(struct btag_check *c, unsigned char *listed)
{
    const struct tl_zone *tz = (const struct tl_zone *) c->h;
    unsigned fl, sl;
    size_t   seen = 0, i;
    int      bit;

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
            if (tl_check_list(c, listed, fl, sl, &seen) != 0) {
                return -1;
            }
        }
    }
    if (seen != c->nfree) {
        for (i = 0; i < c->nfree && listed[i]; i++) { /* void */ }
        return diag_report(&c->out, "%zu of %zu free blocks are on no list (first at offset %llu)",
                       c->nfree - seen, c->nfree, (unsigned long long) c->free_off[i]);
    }
    return 0;
}

static int
tl_check_lists(struct btag_check *c)
{
    unsigned char *listed;      /* which of the walk's free blocks a list holds */
    int            rc;

    listed = calloc(c->nfree ? c->nfree : 1, 1);
    if (listed == NULL) {
        return diag_report(&c->out, "out of memory for %zu free blocks", c->nfree);
    }
    rc = tl_check_lists_of(c, listed);
    free(listed);
    return rc;
}

/* The lock in the zone header (btag_head), taken by every alloc and free. */
static struct shmtx *
tlsf_lock(struct zone *z)
{
    return &((struct btag_head *) z->base)->mutex;
}

static int
tlsf_check(struct zone *z, FILE *report)
{
    return btag_check(z, report, &tl_fmt);
}

const struct allocator_ops tlsf_allocator = {
    .name = "tlsf",
    .summary = "two-level segregated fit (Masmano et al. 2004) over shm: 32 lists per "
               "power of two, bitmap search, O(1) good fit, immediate coalescing, offsets",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE
            | ALLOC_BAD_FREE_DETECTED | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME,
    .min_zone_size = tlsf_min_zone_size,
    .init = tlsf_init,
    .alloc = tlsf_alloc,
    .free = tlsf_free,
    .usable_size = tlsf_usable_size,
    .stats = tlsf_stats,
    .check = tlsf_check,
    .lock = tlsf_lock,
    .alloc_locked = tlsf_alloc_locked,
    .free_locked = tlsf_free_locked,
    .data_offset = btag_data_offset,
    .each_free_run = tlsf_each_free_run,
};
