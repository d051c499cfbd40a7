/*
 * freelist: plain malloc over shared memory, as K&R's allocator and
 * Boost.Interprocess's simple_seq_fit do it.
 *
 * The zone is one run of blocks that tile the data area.  Every block
 * carries a boundary tag at both ends (Knuth): a header word and a footer
 * word holding the same value, the block's size with an in-use bit, so that
 * freeing a block finds both physical neighbours in O(1) and merges with
 * whichever is free.  Free blocks are kept on ONE doubly linked list in
 * address order (links are offsets from the zone base, so any process can
 * follow them wherever it mapped the zone).  Allocation walks that list:
 * first fit ("first", the default: the lowest block that is large enough)
 * or best fit ("best": the smallest block that is large enough, which scans
 * the whole list unless it meets an exact fit).  The block found is split
 * when the remainder can be a block of its own (FL_MIN_BLOCK), else handed
 * out whole.  A free block that merges with no neighbour must find its
 * place in the address-ordered list, which is another walk.  Those walks
 * are this allocator's known weakness, shown, not hidden: they grow with
 * the number of free blocks, i.e. with fragmentation.  freelist_steps()
 * counts the list nodes they visit.
 *
 * Block layout (offsets from the zone base; a block starts at 8 mod 16 so
 * that its payload is 16-byte aligned; S is a multiple of 16):
 *
 *   off          tag: magic(off) << 48 | S | in-use bit
 *   off + 8      payload (S - 16 bytes); a free block keeps here the
 *   off + 16       next and prev offsets of the free list
 *   off + S - 8  tag again (footer)
 *
 * The magic is 16 bits derived from the block's own offset: a header read
 * at the wrong place is unlikely to look valid.  The data area is closed by
 * a prologue footer and an epilogue header, both "in use", so merging never
 * needs a bounds test.  The zone header (struct fl_zone, in freelist.h)
 * holds the lock, the geometry, the free list's sentinel and the counters
 * check() verifies.  The tag format, the pointer validation, the
 * accounting and check()'s walk over the blocks are the ones tlsf uses too,
 * in btag.h and btag.c; this file has what is freelist's own: the footer,
 * the address-ordered list and its searches, the merges.
 *
 * Bad frees are refused with the zone unchanged: outside the blocks,
 * misaligned, not a block start (magic, size, footer, the next header and a
 * free left neighbour must all agree), already free (in-use bit clear).
 * When a freed block merges into its left neighbour, its old header is left
 * marked free, so a second free of it is still called a double free.  What
 * cannot be detected: a pointer into a live block's payload where the
 * program itself wrote a header, footer and next header that agree (with
 * the right magic for that offset); and a free of a block that was freed
 * and since handed out again as the same block (that is a legal free).
 */
#include <stdlib.h>
#include <string.h>

#include "baselines/btag.h"
#include "baselines/freelist.h"

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"

#define FL_ZONE_MAX    (1ULL << 47)            /* sizes fit under the magic */

static int fl_agree(const struct btag_head *h, uint64_t b, uint64_t t, uint64_t s, int left);
static int fl_check_head(struct btag_check *c);
static int fl_check_block(struct btag_check *c, uint64_t b, uint64_t t, uint64_t s,
    int prev_free);
static int fl_check_list(struct btag_check *c);

/* Tags with one flag, in use, and a footer; the blocks after the header. */
static const struct btag_fmt fl_fmt = {
    .name = "freelist",
    .zone_magic = FL_ZONE_MAGIC,
    .head_size = sizeof(struct fl_zone),
    .count_off = offsetof(struct fl_zone, count),
    .start = BTAG_START(sizeof(struct fl_zone)),
    .zone_max = FL_ZONE_MAX,
    .overhead = FL_OVERHEAD,
    .flags = FL_INUSE,
    .state = FL_INUSE,
    .state_free = 0,
    .tags = "boundary tags",
    .agree = fl_agree,
    .check_head = fl_check_head,
    .check_block = fl_check_block,
    .check_lists = fl_check_list,
};


/* Write the header and footer of the block at off. */
static inline void
fl_set(struct fl_zone *fz, uint64_t off, uint64_t size, uint64_t inuse)
{
    uint64_t t = btag_tag(off, size, inuse);

    *btag_word(fz, off) = t;
    *btag_word(fz, off + size - BTAG_WORD) = t;
}


/* Free list primitives; the sentinel makes every node have neighbours. */

static inline void
fl_link_after(struct fl_zone *fz, uint64_t at, uint64_t b)
{
    uint64_t n = btag_next(fz, at);

    btag_next(fz, b) = n;
    btag_prev(fz, b) = at;
    btag_prev(fz, n) = b;
    btag_next(fz, at) = b;
}

static inline void
fl_unlink(struct fl_zone *fz, uint64_t b)
{
    uint64_t p = btag_prev(fz, b), n = btag_next(fz, b);

    btag_next(fz, p) = n;
    btag_prev(fz, n) = p;
}

/* Put b in old's place in the list (same address order). */
static inline void
fl_replace(struct fl_zone *fz, uint64_t old, uint64_t b)
{
    uint64_t p = btag_prev(fz, old), n = btag_next(fz, old);

    btag_next(fz, b) = n;
    btag_prev(fz, b) = p;
    btag_next(fz, p) = b;
    btag_prev(fz, n) = b;
}


/* The searches: the linear walks this allocator is known for. */

static uint64_t
fl_first_fit(struct fl_zone *fz, uint64_t need)
{
    uint64_t b, steps = 0;

    for (b = fz->first; b != FL_SENTINEL; b = btag_next(fz, b)) {
        steps++;
        if ((*btag_word(fz, b) & BTAG_SIZE_MASK) >= need) {
            break;
        }
    }
    fz->count.steps += steps;
    return b;
}

static uint64_t
fl_best_fit(struct fl_zone *fz, uint64_t need)
{
    uint64_t b, s, best = FL_SENTINEL, best_size = UINT64_MAX, steps = 0;

    for (b = fz->first; b != FL_SENTINEL; b = btag_next(fz, b)) {
        steps++;
        s = *btag_word(fz, b) & BTAG_SIZE_MASK;
        if (s >= need && s < best_size) {
            best = b;
            best_size = s;
            if (s == need) {
                break;          /* nothing fits better */
            }
        }
    }
    fz->count.steps += steps;
    return best;
}

/* The free block after which b goes in address order (the sentinel if b
 * becomes the lowest). */
static uint64_t
fl_place(struct fl_zone *fz, uint64_t b)
{
    uint64_t at = FL_SENTINEL, n, steps = 0;

    for (n = fz->first; n != FL_SENTINEL && n < b; n = btag_next(fz, n)) {
        steps++;
        at = n;
    }
    fz->count.steps += steps;
    return at;
}


static void *
freelist_alloc_locked(struct zone *z, size_t size)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uint64_t        need = btag_block_size(&fl_fmt, size), b, s, rest;

    b = FL_SENTINEL;
    if (need != 0) {
        b = fz->policy == FL_BEST_FIT ? fl_best_fit(fz, need) : fl_first_fit(fz, need);
    }
    if (b == FL_SENTINEL) {
        return btag_no_block(&fl_fmt, &fz->count, size);
    }

    s = *btag_word(fz, b) & BTAG_SIZE_MASK;
    rest = s - need;
    if (rest >= BTAG_MIN_BLOCK) {
        /* Keep the high part free, in the same list position. */
        fl_replace(fz, b, b + need);
        fl_set(fz, b + need, rest, 0);
        s = need;
    } else {
        fl_unlink(fz, b);       /* too little left for a block: give it all */
        fz->count.nfree--;
    }
    fl_set(fz, b, s, FL_INUSE);
    return btag_grant(z, &fz->count, b, s);
}

static void *
freelist_alloc(struct zone *z, size_t size)
{
    return btag_alloc(z, size, freelist_alloc_locked);
}

/* btag_locate's part for freelist: the footer repeats the header, and a
 * free left neighbour (its footer just before b) has a header that agrees. */
static int
fl_agree(const struct btag_head *h, uint64_t b, uint64_t t, uint64_t s, int left)
{
    uint64_t lt, ls;

    if (btag_read(h, b + s - BTAG_WORD) != t) {
        return 0;
    }
    lt = left ? btag_read(h, b - BTAG_WORD) : FL_INUSE;
    if (!(lt & FL_INUSE)) {
        ls = lt & BTAG_SIZE_MASK;
        if (ls < BTAG_MIN_BLOCK || ls > b - h->start || btag_read(h, b - ls) != lt
            || (lt & BTAG_MAGIC_MASK) != btag_magic(b - ls))
        {
            return 0;
        }
    }
    return 1;
}

static int
freelist_free_locked(struct zone *z, void *p)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uint64_t        b, s, lt, rt, l, r;

    if (btag_locate(z, &fl_fmt, p, "free", 1, &b) != 0) {
        return -1;
    }
    s = *btag_word(fz, b) & BTAG_SIZE_MASK;
    btag_release(&fz->count, s);

    lt = *btag_word(fz, b - BTAG_WORD);
    r = b + s;
    rt = *btag_word(fz, r);

    if (!(lt & FL_INUSE)) {
        /* Grow the left neighbour, which keeps its list position; leave
         * our old header saying "free" for a later double free. */
        l = b - (lt & BTAG_SIZE_MASK);
        *btag_word(fz, b) = btag_tag(b, s, 0);
        s += lt & BTAG_SIZE_MASK;
        if (!(rt & FL_INUSE)) {
            fl_unlink(fz, r);
            fz->count.nfree--;
            s += rt & BTAG_SIZE_MASK;
        }
        fl_set(fz, l, s, 0);

    } else if (!(rt & FL_INUSE)) {
        fl_replace(fz, r, b);           /* take the right neighbour's place */
        fl_set(fz, b, s + (rt & BTAG_SIZE_MASK), 0);

    } else {
        fl_link_after(fz, fl_place(fz, b), b);
        fl_set(fz, b, s, 0);
        fz->count.nfree++;
    }
    return 0;
}

static int
freelist_free(struct zone *z, void *p)
{
    return btag_free(z, p, freelist_free_locked);
}

static size_t
freelist_usable_size(struct zone *z, void *p)
{
    return btag_usable_size(z, &fl_fmt, p);
}


/* Zone set-up. */

static size_t
freelist_min_zone_size(const struct alloc_params *p)
{
    (void) p;
    return btag_min_zone_size(&fl_fmt);
}

static int
fl_policy_parse(const char *s, uint32_t *out)
{
    if (s == NULL || s[0] == '\0' || strcmp(s, "first") == 0) {
        *out = FL_FIRST_FIT;
    } else if (strcmp(s, "best") == 0) {
        *out = FL_BEST_FIT;
    } else {
        diag_set("freelist_init(): unknown policy \"%s\" (allowed: first, best)", s);
        return -1;
    }
    return 0;
}

static int
freelist_init(struct zone *z, const struct alloc_params *p)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uint32_t        policy;
    uint64_t        start, end;

    if (fl_policy_parse(p->policy, &policy) != 0 || btag_init(z, &fl_fmt) != 0) {
        return -1;
    }
    start = fz->hdr.start;
    end = fz->hdr.end;
    fz->policy = policy;
    fz->sentinel_tag = btag_tag(FL_SENTINEL, 0, FL_INUSE);
    fz->first = fz->last = FL_SENTINEL;

    /* Blocks tile [start, end), closed by a prologue footer and an
     * epilogue header, both "in use". */
    *btag_word(fz, start - BTAG_WORD) = btag_tag(start - BTAG_WORD, 0, FL_INUSE);
    *btag_word(fz, end) = btag_tag(end, 0, FL_INUSE);
    fl_set(fz, start, end - start, 0);
    fl_link_after(fz, FL_SENTINEL, start);
    return 0;
}


/* Read-only views: stats, free runs, the check (btag.h says how they
 * treat what they read). */

static int
freelist_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uint64_t        b, steps = 0;
    int             rc;

    if (!btag_geometry_ok(z, &fl_fmt)) {
        return -1;
    }
    for (b = fz->first; b != FL_SENTINEL; b = btag_next(fz, b)) {
        rc = btag_run(&fz->hdr, b, &steps, fn, arg);
        if (rc != 0) {
            return rc < 0 ? -1 : 0;
        }
    }
    return 0;
}

static int
fl_largest(void *arg, uint64_t off, uint64_t len)
{
    uint64_t *max = arg;

    (void) off;
    if (len > *max) {
        *max = len;
    }
    return 0;
}

static void
freelist_stats(struct zone *z, struct alloc_stats *out)
{
    uint64_t largest = 0;

    if (btag_stats(z, &fl_fmt, out) != 0) {
        return;
    }
    if (freelist_each_free_run(z, fl_largest, &largest) == 0) {
        out->exact |= ALLOC_EXACT_LARGEST;      /* every free block seen */
        if (largest >= BTAG_MIN_BLOCK) {
            out->largest_free = largest - FL_OVERHEAD;
        }
    }
}

uint64_t
freelist_steps(const struct zone *z)
{
    return ((const struct fl_zone *) z->base)->count.steps;
}


/* check(): btag_check() with freelist's own invariants. */

/* The policy, and the prologue and epilogue tags. */
static int
fl_check_head(struct btag_check *c)
{
    const struct fl_zone *fz = (const struct fl_zone *) c->h;

    if (fz->policy != FL_FIRST_FIT && fz->policy != FL_BEST_FIT) {
        return diag_report(&c->out, "policy %u is neither first (0) nor best (1) fit", fz->policy);
    }
    if (btag_read(fz, fz->hdr.start - BTAG_WORD) != btag_tag(fz->hdr.start - BTAG_WORD, 0, FL_INUSE)) {
        return diag_report(&c->out, "prologue tag at offset %llu is damaged",
                       (unsigned long long) (fz->hdr.start - BTAG_WORD));
    }
    if (btag_read(fz, fz->hdr.end) != btag_tag(fz->hdr.end, 0, FL_INUSE)) {
        return diag_report(&c->out, "epilogue tag at offset %llu is damaged",
                       (unsigned long long) fz->hdr.end);
    }
    return 0;
}

/* Every block's footer repeats its header. */
static int
fl_check_block(struct btag_check *c, uint64_t b, uint64_t t, uint64_t s, int prev_free)
{
    (void) prev_free;   /* the walk's adjacency test covers what it says */
    if (btag_read(c->h, b + s - BTAG_WORD) != t) {
        return diag_report(&c->out, "block at offset %llu: footer %#llx disagrees with header %#llx",
                       (unsigned long long) b,
                       (unsigned long long) btag_read(c->h, b + s - BTAG_WORD),
                       (unsigned long long) t);
    }
    return 0;
}

/* The list holds exactly the free blocks, in address order: since the walk
 * found them in address order, the k-th list node must be the k-th free
 * block, which also proves "each exactly once". */
static int
fl_check_list(struct btag_check *c)
{
    const struct fl_zone *fz = (const struct fl_zone *) c->h;
    uint64_t  b, prev = FL_SENTINEL;
    size_t    k = 0;
    ptrdiff_t i;

    for (b = fz->first; b != FL_SENTINEL; prev = b, b = btag_read(fz, b + BTAG_NEXT), k++) {
        if (k == c->nfree) {
            return diag_report(&c->out, "free list: more than the %zu free blocks (cycle or stray link "
                           "to offset %llu)", c->nfree, (unsigned long long) b);
        }
        if (b != c->free_off[k]) {
            i = btag_node_ok(&fz->hdr, b) ? btag_find_free(c, b) : -1;
            if (i < 0) {
                return diag_report(&c->out, "free list: link to offset %llu is not a free block",
                               (unsigned long long) b);
            }
            return diag_report(&c->out, "free list: not in address order at offset %llu "
                           "(entry %zu should be offset %llu)", (unsigned long long) b, k,
                           (unsigned long long) c->free_off[k]);
        }
        if (btag_read(fz, b + BTAG_PREV) != prev) {
            return diag_report(&c->out, "free list: block at offset %llu links back to %llu, not %llu",
                           (unsigned long long) b, (unsigned long long) btag_read(fz, b + BTAG_PREV),
                           (unsigned long long) prev);
        }
    }
    if (k != c->nfree) {
        return diag_report(&c->out, "free list: %zu of %zu free blocks are not on it (first missing at "
                       "offset %llu)", c->nfree - k, c->nfree,
                       (unsigned long long) c->free_off[k]);
    }
    if (fz->last != prev) {
        return diag_report(&c->out, "free list: tail is offset %llu, the last node is %llu",
                       (unsigned long long) fz->last, (unsigned long long) prev);
    }
    return 0;
}

/* The lock in the zone header (btag_head), taken by every alloc and free. */
static struct shmtx *
freelist_lock(struct zone *z)
{
    return &((struct btag_head *) z->base)->mutex;
}

static int
freelist_check(struct zone *z, FILE *report)
{
    return btag_check(z, report, &fl_fmt);
}

const struct allocator_ops freelist_allocator = {
    .name = "freelist",
    .summary = "plain malloc over shm: boundary tags, one address-ordered free list "
               "(offsets), first fit by default, best fit via policy \"best\"; "
               "linear search: an op costs O(free blocks), up to microseconds with 10^5 "
               "blocks live (the algorithm, not a hang)",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE
            | ALLOC_BAD_FREE_DETECTED | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME,
    .min_zone_size = freelist_min_zone_size,
    .init = freelist_init,
    .alloc = freelist_alloc,
    .free = freelist_free,
    .usable_size = freelist_usable_size,
    .stats = freelist_stats,
    .check = freelist_check,
    .lock = freelist_lock,
    .alloc_locked = freelist_alloc_locked,
    .free_locked = freelist_free_locked,
    .data_offset = btag_data_offset,
    .each_free_run = freelist_each_free_run,
};
