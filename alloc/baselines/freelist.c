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
 * needs a bounds test.  The zone header holds the lock, the geometry, the
 * free list's sentinel and the counters check() verifies.
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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/freelist.h"

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"

#define FL_ALIGN       16
#define FL_TAG         8                       /* a header or footer word */
#define FL_OVERHEAD    (2 * FL_TAG)            /* header + footer */
#define FL_MIN_BLOCK   32                      /* header, two links, footer */
#define FL_INUSE       1ULL
#define FL_FLAG_BITS   0xfULL
#define FL_SIZE_MASK   0x0000fffffffffff0ULL
#define FL_MAGIC_MASK  0xffff000000000000ULL
#define FL_ZONE_MAX    (1ULL << 47)            /* sizes fit under the magic */
#define FL_ZONE_MAGIC  "FREELST1"

enum fl_policy { FL_FIRST_FIT = 0, FL_BEST_FIT = 1 };

/* The zone header, at the zone base. */
struct fl_zone {
    struct shmtx_lockword lock;
    struct shmtx          mutex;
    char                  magic[8];     /* FL_ZONE_MAGIC */
    uint64_t              size;         /* zone bytes */
    uint64_t              start;        /* first block */
    uint64_t              end;          /* epilogue header, one past the last block */
    uint32_t              policy;       /* enum fl_policy */
    uint32_t              reserved;
    /* The free list's sentinel, laid out as a free block's header and links
     * so that list code has no special case: its node offset is FL_SENTINEL. */
    uint64_t              sentinel_tag;
    uint64_t              first;        /* lowest free block (its next) */
    uint64_t              last;         /* highest free block (its prev) */
    /* Counters, kept under the lock. */
    uint64_t              nfree;        /* free blocks */
    uint64_t              free_bytes;   /* their bytes, tags included */
    uint64_t              nused;        /* blocks handed out */
    uint64_t              used_bytes;   /* their bytes, tags included */
    uint64_t              fails;        /* allocations that found no block */
    uint64_t              steps;        /* list nodes visited by searches */
};

#define FL_SENTINEL    ((uint64_t) offsetof(struct fl_zone, sentinel_tag))

_Static_assert(offsetof(struct fl_zone, first) == FL_SENTINEL + 8, "sentinel next");
_Static_assert(offsetof(struct fl_zone, last) == FL_SENTINEL + 16, "sentinel prev");

/* Where the first block goes: after the header and the prologue footer. */
#define FL_START  ((((uint64_t) sizeof(struct fl_zone) + FL_ALIGN - 1) & ~(uint64_t) (FL_ALIGN - 1)) \
                   + FL_TAG)


static inline uint64_t *
fl_word(struct fl_zone *fz, uint64_t off)
{
    return (uint64_t *) ((unsigned char *) fz + off);
}

#define fl_next(fz, off)  (*fl_word(fz, (off) + 8))
#define fl_prev(fz, off)  (*fl_word(fz, (off) + 16))

/* 16 bits that depend on a tag's offset, in the tag's top bits. */
static inline uint64_t
fl_magic(uint64_t off)
{
    return (off * 0x9e3779b97f4a7c15ULL) & FL_MAGIC_MASK;
}

static inline uint64_t
fl_tag(uint64_t off, uint64_t size, uint64_t inuse)
{
    return fl_magic(off) | size | inuse;
}

/* Write the header and footer of the block at off. */
static inline void
fl_set(struct fl_zone *fz, uint64_t off, uint64_t size, uint64_t inuse)
{
    uint64_t t = fl_tag(off, size, inuse);

    *fl_word(fz, off) = t;
    *fl_word(fz, off + size - FL_TAG) = t;
}

/* Block size for a request, 0 if it cannot fit any zone. */
static inline uint64_t
fl_block_size(size_t size)
{
    uint64_t s;

    if (size > FL_ZONE_MAX) {
        return 0;
    }
    s = ((uint64_t) size + FL_OVERHEAD + FL_ALIGN - 1) & ~(uint64_t) (FL_ALIGN - 1);
    return s < FL_MIN_BLOCK ? FL_MIN_BLOCK : s;
}


/* Free list primitives; the sentinel makes every node have neighbours. */

static inline void
fl_link_after(struct fl_zone *fz, uint64_t at, uint64_t b)
{
    uint64_t n = fl_next(fz, at);

    fl_next(fz, b) = n;
    fl_prev(fz, b) = at;
    fl_prev(fz, n) = b;
    fl_next(fz, at) = b;
}

static inline void
fl_unlink(struct fl_zone *fz, uint64_t b)
{
    uint64_t p = fl_prev(fz, b), n = fl_next(fz, b);

    fl_next(fz, p) = n;
    fl_prev(fz, n) = p;
}

/* Put b in old's place in the list (same address order). */
static inline void
fl_replace(struct fl_zone *fz, uint64_t old, uint64_t b)
{
    uint64_t p = fl_prev(fz, old), n = fl_next(fz, old);

    fl_next(fz, b) = n;
    fl_prev(fz, b) = p;
    fl_next(fz, p) = b;
    fl_prev(fz, n) = b;
}


/* The searches: the linear walks this allocator is known for. */

static uint64_t
fl_first_fit(struct fl_zone *fz, uint64_t need)
{
    uint64_t b, steps = 0;

    for (b = fz->first; b != FL_SENTINEL; b = fl_next(fz, b)) {
        steps++;
        if ((*fl_word(fz, b) & FL_SIZE_MASK) >= need) {
            break;
        }
    }
    fz->steps += steps;
    return b;
}

static uint64_t
fl_best_fit(struct fl_zone *fz, uint64_t need)
{
    uint64_t b, s, best = FL_SENTINEL, best_size = UINT64_MAX, steps = 0;

    for (b = fz->first; b != FL_SENTINEL; b = fl_next(fz, b)) {
        steps++;
        s = *fl_word(fz, b) & FL_SIZE_MASK;
        if (s >= need && s < best_size) {
            best = b;
            best_size = s;
            if (s == need) {
                break;          /* nothing fits better */
            }
        }
    }
    fz->steps += steps;
    return best;
}

/* The free block after which b goes in address order (the sentinel if b
 * becomes the lowest). */
static uint64_t
fl_place(struct fl_zone *fz, uint64_t b)
{
    uint64_t at = FL_SENTINEL, n, steps = 0;

    for (n = fz->first; n != FL_SENTINEL && n < b; n = fl_next(fz, n)) {
        steps++;
        at = n;
    }
    fz->steps += steps;
    return at;
}


static void *
freelist_alloc_locked(struct zone *z, size_t size)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uint64_t        need = fl_block_size(size), b, s, rest;

    b = FL_SENTINEL;
    if (need != 0) {
        b = fz->policy == FL_BEST_FIT ? fl_best_fit(fz, need) : fl_first_fit(fz, need);
    }
    if (b == FL_SENTINEL) {
        fz->fails++;
        diag_set("freelist_alloc(): no free block for %zu bytes", size);
        return NULL;
    }

    s = *fl_word(fz, b) & FL_SIZE_MASK;
    rest = s - need;
    if (rest >= FL_MIN_BLOCK) {
        /* Keep the high part free, in the same list position. */
        fl_replace(fz, b, b + need);
        fl_set(fz, b + need, rest, 0);
        s = need;
    } else {
        fl_unlink(fz, b);       /* too little left for a block: give it all */
        fz->nfree--;
    }
    fl_set(fz, b, s, FL_INUSE);
    fz->free_bytes -= s;
    fz->nused++;
    fz->used_bytes += s;
    return z->base + b + FL_TAG;
}

static void *
freelist_alloc(struct zone *z, size_t size)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    void           *p;

    shmtx_lock(&fz->mutex);
    p = freelist_alloc_locked(z, size);
    shmtx_unlock(&fz->mutex);
    return p;
}

/*
 * The block whose payload is p, validated without writing anything: *off
 * gets its offset.  fn names the caller in the message.  free() also
 * validates a free left neighbour, which it is about to merge with; it holds
 * the lock.  usable_size() takes no lock and must not look there: another
 * process may be merging or splitting that neighbour right now, while the
 * tags of a live block and its next block's header stay put.
 */
static int
fl_locate(const struct zone *z, const void *p, uint64_t *off, const char *fn, int left)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uintptr_t       a = (uintptr_t) p, base = (uintptr_t) z->base;
    uint64_t        b, t, s, lt, ls;

    if (a < base + fz->start + FL_TAG || a >= base + fz->end) {
        diag_set("%s(): pointer %p is outside the zone's blocks", fn, p);
        return -1;
    }
    if ((a - base) % FL_ALIGN != 0) {
        diag_set("%s(): pointer %p is not 16-byte aligned, so not a block", fn, p);
        return -1;
    }
    b = a - base - FL_TAG;
    t = *fl_word(fz, b);
    s = t & FL_SIZE_MASK;
    if ((t & FL_MAGIC_MASK) != fl_magic(b) || (t & FL_FLAG_BITS & ~FL_INUSE) != 0
        || s < FL_MIN_BLOCK || s > fz->end - b)
    {
        goto not_block;
    }
    if (!(t & FL_INUSE)) {
        diag_set("%s(): block at %p is already free", fn, p);
        return -1;
    }
    if (*fl_word(fz, b + s - FL_TAG) != t
        || (*fl_word(fz, b + s) & FL_MAGIC_MASK) != fl_magic(b + s))
    {
        goto not_block;
    }
    lt = left ? *fl_word(fz, b - FL_TAG) : FL_INUSE;
    if (!(lt & FL_INUSE)) {
        ls = lt & FL_SIZE_MASK;
        if (ls < FL_MIN_BLOCK || ls > b - fz->start || *fl_word(fz, b - ls) != lt
            || (lt & FL_MAGIC_MASK) != fl_magic(b - ls))
        {
            goto not_block;
        }
    }
    *off = b;
    return 0;

not_block:
    diag_set("%s(): pointer %p is not the start of a block (no valid boundary tags)", fn, p);
    return -1;
}

static int
freelist_free_locked(struct zone *z, void *p)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uint64_t        b, s, lt, rt, l, r;

    if (fl_locate(z, p, &b, "freelist_free", 1) != 0) {
        return -1;
    }
    s = *fl_word(fz, b) & FL_SIZE_MASK;
    fz->nused--;
    fz->used_bytes -= s;
    fz->free_bytes += s;

    lt = *fl_word(fz, b - FL_TAG);
    r = b + s;
    rt = *fl_word(fz, r);

    if (!(lt & FL_INUSE)) {
        /* Grow the left neighbour, which keeps its list position; leave
         * our old header saying "free" for a later double free. */
        l = b - (lt & FL_SIZE_MASK);
        *fl_word(fz, b) = fl_tag(b, s, 0);
        s += lt & FL_SIZE_MASK;
        if (!(rt & FL_INUSE)) {
            fl_unlink(fz, r);
            fz->nfree--;
            s += rt & FL_SIZE_MASK;
        }
        fl_set(fz, l, s, 0);

    } else if (!(rt & FL_INUSE)) {
        fl_replace(fz, r, b);           /* take the right neighbour's place */
        fl_set(fz, b, s + (rt & FL_SIZE_MASK), 0);

    } else {
        fl_link_after(fz, fl_place(fz, b), b);
        fl_set(fz, b, s, 0);
        fz->nfree++;
    }
    return 0;
}

static int
freelist_free(struct zone *z, void *p)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    int             rc;

    shmtx_lock(&fz->mutex);
    rc = freelist_free_locked(z, p);
    shmtx_unlock(&fz->mutex);
    return rc;
}

static size_t
freelist_usable_size(struct zone *z, void *p)
{
    unsigned long n = diag_count();
    uint64_t      b;
    char          saved[512];

    /* Looking up a pointer must not clobber the caller's last message. */
    snprintf(saved, sizeof(saved), "%s", diag_last());
    if (fl_locate(z, p, &b, "freelist_usable_size", 0) != 0) {
        if (diag_count() != n) {
            diag_set("%s", saved);
        }
        return 0;
    }
    return (size_t) ((*fl_word((struct fl_zone *) z->base, b) & FL_SIZE_MASK) - FL_OVERHEAD);
}


/* Zone set-up. */

static size_t
freelist_min_zone_size(const struct alloc_params *p)
{
    (void) p;
    return (size_t) (FL_START + FL_MIN_BLOCK + FL_TAG);
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
    uint64_t        start = FL_START, end;

    if (fl_policy_parse(p->policy, &policy) != 0) {
        return -1;
    }
    if (z->size < freelist_min_zone_size(p)) {
        diag_set("freelist_init(): zone of %zu bytes is too small: the minimum is %zu bytes",
                 z->size, freelist_min_zone_size(p));
        return -1;
    }
    if (z->size >= FL_ZONE_MAX) {
        diag_set("freelist_init(): zone of %zu bytes is too large: the limit is %llu bytes",
                 z->size, (unsigned long long) FL_ZONE_MAX - 1);
        return -1;
    }
    if ((uintptr_t) z->base % FL_ALIGN != 0) {
        diag_set("freelist_init(): zone base %p is not 16-byte aligned", (void *) z->base);
        return -1;
    }

    /* Blocks tile [start, end); the epilogue header sits at end. */
    end = start + ((z->size - start - FL_TAG) & ~(uint64_t) (FL_ALIGN - 1));

    memset(fz, 0, sizeof(*fz));
    if (shmtx_create(&fz->mutex, &fz->lock, z->ctl ? z->ctl->lockstat : NULL, 0) != 0) {
        diag_clear();   /* works without the semaphore, as nginx goes on */
    }
    memcpy(fz->magic, FL_ZONE_MAGIC, sizeof(fz->magic));
    fz->size = z->size;
    fz->start = start;
    fz->end = end;
    fz->policy = policy;
    fz->sentinel_tag = fl_tag(FL_SENTINEL, 0, FL_INUSE);
    fz->first = fz->last = FL_SENTINEL;

    *fl_word(fz, start - FL_TAG) = fl_tag(start - FL_TAG, 0, FL_INUSE);   /* prologue */
    *fl_word(fz, end) = fl_tag(end, 0, FL_INUSE);                         /* epilogue */
    fl_set(fz, start, end - start, 0);
    fl_link_after(fz, FL_SENTINEL, start);
    fz->nfree = 1;
    fz->free_bytes = end - start;

    return 0;
}

static int
freelist_attach(struct zone *z)
{
    (void) z;           /* nothing process-private */
    return 0;
}

static size_t
freelist_data_offset(struct zone *z)
{
    return (size_t) ((const struct fl_zone *) z->base)->start;
}


/* Read-only views: stats, free runs, the check.  They take no lock (a
 * process that attached the zone read-only cannot) and trust nothing:
 * every offset is bounds-checked and every walk bounded. */

/* Whether the header's geometry is the one init writes for this zone. */
static int
fl_geometry_ok(const struct zone *z)
{
    const struct fl_zone *fz = (const struct fl_zone *) z->base;

    return z->size >= freelist_min_zone_size(NULL) && z->size < FL_ZONE_MAX
           && memcmp(fz->magic, FL_ZONE_MAGIC, sizeof(fz->magic)) == 0
           && fz->size == z->size && fz->start == FL_START
           && fz->end == FL_START + ((z->size - FL_START - FL_TAG) & ~(uint64_t) (FL_ALIGN - 1));
}

/* Whether off can be a block on the list (in bounds, aligned). */
static inline int
fl_node_ok(const struct fl_zone *fz, uint64_t off)
{
    return off >= fz->start && off + FL_MIN_BLOCK <= fz->end && off % FL_ALIGN == FL_TAG;
}

static int
freelist_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    struct fl_zone *fz = (struct fl_zone *) z->base;
    uint64_t        b, s, steps, max_steps;

    if (!fl_geometry_ok(z)) {
        return -1;
    }
    max_steps = (fz->end - fz->start) / FL_MIN_BLOCK;
    for (b = fz->first, steps = 0; b != FL_SENTINEL; b = fl_next(fz, b), steps++) {
        if (steps >= max_steps || !fl_node_ok(fz, b)) {
            return -1;
        }
        s = *fl_word(fz, b) & FL_SIZE_MASK;
        if (s > fz->end - b) {
            return -1;
        }
        if (fn && fn(arg, b - fz->start, s)) {
            return 0;
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
    const struct fl_zone *fz = (const struct fl_zone *) z->base;
    uint64_t              largest = 0;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    if (!fl_geometry_ok(z)) {
        return;
    }
    out->data_bytes = fz->end - fz->start;
    out->free_bytes = fz->free_bytes - fz->nfree * FL_OVERHEAD;
    if (freelist_each_free_run(z, fl_largest, &largest) == 0 && largest >= FL_MIN_BLOCK) {
        out->largest_free = largest - FL_OVERHEAD;
    }
    out->footprint = fz->end + FL_TAG - fz->free_bytes;
    out->fails = fz->fails;
}

uint64_t
freelist_steps(const struct zone *z)
{
    return ((const struct fl_zone *) z->base)->steps;
}


/* check(): every invariant, first violation reported. */

struct fl_check {
    const struct fl_zone *fz;
    struct diag_checker   out;          /* the report stream and our name */
    uint64_t             *free_off;     /* free blocks found by the walk, ascending */
    size_t                nfree, cap;
};

static inline uint64_t
fl_read(const struct fl_check *c, uint64_t off)
{
    return *(const uint64_t *) ((const unsigned char *) c->fz + off);
}

static int
fl_check_header(struct fl_check *c, const struct zone *z)
{
    const struct fl_zone *fz = c->fz;

    if (z->size < freelist_min_zone_size(NULL) || z->size >= FL_ZONE_MAX) {
        return diag_report(&c->out, "zone of %zu bytes cannot be a freelist zone", z->size);
    }
    if (memcmp(fz->magic, FL_ZONE_MAGIC, sizeof(fz->magic)) != 0) {
        return diag_report(&c->out, "zone header magic is not %s", FL_ZONE_MAGIC);
    }
    if (fz->size != z->size) {
        return diag_report(&c->out, "zone header says %llu bytes, the zone has %zu",
                       (unsigned long long) fz->size, z->size);
    }
    if (!fl_geometry_ok(z)) {
        return diag_report(&c->out, "blocks span [%llu, %llu), expected [%llu, %llu)",
                       (unsigned long long) fz->start, (unsigned long long) fz->end,
                       (unsigned long long) FL_START,
                       (unsigned long long) (FL_START + ((z->size - FL_START - FL_TAG)
                                                         & ~(uint64_t) (FL_ALIGN - 1))));
    }
    if (fz->policy != FL_FIRST_FIT && fz->policy != FL_BEST_FIT) {
        return diag_report(&c->out, "policy %u is neither first (0) nor best (1) fit", fz->policy);
    }
    if (fl_read(c, fz->start - FL_TAG) != fl_tag(fz->start - FL_TAG, 0, FL_INUSE)) {
        return diag_report(&c->out, "prologue tag at offset %llu is damaged",
                       (unsigned long long) (fz->start - FL_TAG));
    }
    if (fl_read(c, fz->end) != fl_tag(fz->end, 0, FL_INUSE)) {
        return diag_report(&c->out, "epilogue tag at offset %llu is damaged", (unsigned long long) fz->end);
    }
    return 0;
}

static int
fl_remember_free(struct fl_check *c, uint64_t off)
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
fl_check_blocks(struct fl_check *c)
{
    const struct fl_zone *fz = c->fz;
    uint64_t b, t, s, nused = 0, used = 0, freed = 0;
    int      prev_free = 0;

    for (b = fz->start; b < fz->end; b += s) {
        t = fl_read(c, b);
        s = t & FL_SIZE_MASK;
        if ((t & FL_MAGIC_MASK) != fl_magic(b)) {
            return diag_report(&c->out, "block at offset %llu: header %#llx has a wrong magic",
                           (unsigned long long) b, (unsigned long long) t);
        }
        if ((t & FL_FLAG_BITS & ~FL_INUSE) != 0 || s < FL_MIN_BLOCK || s > fz->end - b) {
            return diag_report(&c->out, "block at offset %llu: size %llu out of bounds (header %#llx)",
                           (unsigned long long) b, (unsigned long long) s,
                           (unsigned long long) t);
        }
        if (fl_read(c, b + s - FL_TAG) != t) {
            return diag_report(&c->out, "block at offset %llu: footer %#llx disagrees with header %#llx",
                           (unsigned long long) b,
                           (unsigned long long) fl_read(c, b + s - FL_TAG),
                           (unsigned long long) t);
        }
        if (t & FL_INUSE) {
            nused++;
            used += s;
            prev_free = 0;
            continue;
        }
        if (prev_free) {
            return diag_report(&c->out, "two adjacent free blocks: the one at offset %llu was not merged",
                           (unsigned long long) b);
        }
        prev_free = 1;
        freed += s;
        if (fl_remember_free(c, b) != 0) {
            return -1;
        }
    }
    if (b != fz->end) {
        return diag_report(&c->out, "the last block overruns the end at offset %llu",
                       (unsigned long long) fz->end);
    }
    if (nused != fz->nused || used != fz->used_bytes) {
        return diag_report(&c->out, "counters say %llu blocks in use (%llu bytes), the walk found %llu (%llu)",
                       (unsigned long long) fz->nused, (unsigned long long) fz->used_bytes,
                       (unsigned long long) nused, (unsigned long long) used);
    }
    if (c->nfree != fz->nfree || freed != fz->free_bytes) {
        return diag_report(&c->out, "counters say %llu free blocks (%llu bytes), the walk found %zu (%llu)",
                       (unsigned long long) fz->nfree, (unsigned long long) fz->free_bytes,
                       c->nfree, (unsigned long long) freed);
    }
    return 0;
}

/* Index of off among the free blocks the walk found, or -1. */
static ptrdiff_t
fl_find_free(const struct fl_check *c, uint64_t off)
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

/* The list holds exactly the free blocks, in address order: since the walk
 * found them in address order, the k-th list node must be the k-th free
 * block, which also proves "each exactly once". */
static int
fl_check_list(struct fl_check *c)
{
    const struct fl_zone *fz = c->fz;
    uint64_t  b, prev = FL_SENTINEL;
    size_t    k = 0;
    ptrdiff_t i;

    for (b = fz->first; b != FL_SENTINEL; prev = b, b = fl_read(c, b + 8), k++) {
        if (k == c->nfree) {
            return diag_report(&c->out, "free list: more than the %zu free blocks (cycle or stray link "
                           "to offset %llu)", c->nfree, (unsigned long long) b);
        }
        if (b != c->free_off[k]) {
            i = fl_node_ok(fz, b) ? fl_find_free(c, b) : -1;
            if (i < 0) {
                return diag_report(&c->out, "free list: link to offset %llu is not a free block",
                               (unsigned long long) b);
            }
            return diag_report(&c->out, "free list: not in address order at offset %llu "
                           "(entry %zu should be offset %llu)", (unsigned long long) b, k,
                           (unsigned long long) c->free_off[k]);
        }
        if (fl_read(c, b + 16) != prev) {
            return diag_report(&c->out, "free list: block at offset %llu links back to %llu, not %llu",
                           (unsigned long long) b, (unsigned long long) fl_read(c, b + 16),
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

static int
freelist_check(struct zone *z, FILE *report)
{
    struct fl_check c;
    int             rc;

    memset(&c, 0, sizeof(c));
    c.fz = (const struct fl_zone *) z->base;
    c.out.report = report;
    c.out.who = "freelist_check";
    if (z->size < sizeof(struct fl_zone)) {
        return diag_report(&c.out, "zone of %zu bytes cannot hold the header", z->size);
    }
    rc = fl_check_header(&c, z);
    if (rc == 0) {
        rc = fl_check_blocks(&c);
    }
    if (rc == 0) {
        rc = fl_check_list(&c);
    }
    free(c.free_off);
    return rc;
}

const struct allocator_ops freelist_allocator = {
    .name = "freelist",
    .summary = "plain malloc over shm: boundary tags, one address-ordered free list "
               "(offsets), first fit by default, best fit via policy \"best\"; "
               "linear search",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE
            | ALLOC_BAD_FREE_DETECTED | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME,
    .min_zone_size = freelist_min_zone_size,
    .init = freelist_init,
    .attach = freelist_attach,
    .alloc = freelist_alloc,
    .free = freelist_free,
    .usable_size = freelist_usable_size,
    .stats = freelist_stats,
    .check = freelist_check,
    .alloc_locked = freelist_alloc_locked,
    .free_locked = freelist_free_locked,
    .data_offset = freelist_data_offset,
    .each_free_run = freelist_each_free_run,
};
