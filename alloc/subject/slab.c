/*
 * slab: nginx 1.22.1's slab allocator over offsets (see slab.h).
 *
 * The code follows docs/nginx-slab.md section by section; each
 * function names the section it implements.  Internally we work with
 * process-local pointers and convert at the boundary: a link field holds
 * (target - pool), 0 for null, and a descriptor's prev field carries the
 * page kind in its two low bits, exactly as nginx's pointers do.
 *
 * Lock discipline: slab_alloc/slab_free take pool->mutex around the _locked
 * forms, as nginx does.  slab_usable_size and slab_check only read.
 */
#include "subject/slab.h"

#include <stdlib.h>
#include <string.h>

#include "substrate/diag.h"
#include "subject/pageruns.h"
#include "subject/slab_internal.h"

static inline unsigned char *
slab_page_addr(struct slab_pool *pool, struct slab_page *page, unsigned shift)
{
    return (unsigned char *) pool + pool->start
           + ((uint64_t) (page - slab_desc(pool)) << shift);
}

/* Where the pool keeps its runs, for pageruns.h. */
static inline struct pageruns
slab_runs(struct slab_pool *pool)
{
    struct pageruns r = {
        .base = (unsigned char *) pool,
        .free = &pool->free,
        .desc = slab_desc(pool),
        .last = slab_ptr(pool, pool->last),
        .pfree = &pool->pfree,
    };

    return r;
}

static int
slab_page_shift(size_t page_size)
{
    unsigned s;

    if (page_size < SLAB_PAGE_MIN || page_size > SLAB_PAGE_MAX
        || (page_size & (page_size - 1)) != 0)
    {
        return -1;
    }
    for (s = 0; ((size_t) 1 << s) < page_size; s++) { /* void */ }
    return (int) s;
}

/*
 * nginx's page count and data start for a zone of `size` bytes (§2.3 steps
 * 5, 8, 9); 0 pages if none fit.
 */
static uint64_t
slab_geometry(size_t size, unsigned shift, uint64_t *start_out)
{
    uint64_t P = (uint64_t) 1 << shift, fixed, pages, start, fit;

    fixed = slab_fixed_size(slab_nslots_for(shift));
    if (size <= fixed) {
        return 0;
    }
    pages = slab_pages_estimate(size, fixed, P);
    start = slab_data_start(fixed, pages, P);
    fit = start < size ? (size - start) / P : 0;
    if (pages > fit) {
        pages = fit;            /* start is not recomputed, as in nginx */
    }
    if (start_out) {
        *start_out = start;
    }
    return pages;
}

size_t
slab_zone_size_for_pages(size_t pages, size_t page_size)
{
    int      shift = slab_page_shift(page_size);
    uint64_t fixed, size, start;

    if (shift < 0 || pages == 0) {
        return 0;
    }
    fixed = slab_fixed_size(slab_nslots_for((unsigned) shift));
    size = slab_data_start(fixed, pages, page_size) + pages * page_size;
    return slab_geometry(size, (unsigned) shift, &start) == pages ? size : 0;
}

size_t
slab_min_zone_size(size_t page_size)
{
    return slab_zone_size_for_pages(1, page_size);
}

/* §2.3 */
int
slab_init(struct slab_pool *pool, size_t size, size_t page_size,
    struct shmtx_counters *lockstat)
{
    int               shift = slab_page_shift(page_size);
    unsigned          i, nslots;
    uint64_t          pages, start;
    struct slab_page *slots, *desc;
    struct pageruns   runs;

    if (shift < 0) {
        diag_set("slab_init(): page size %zu is not a power of two "
                 "between %d and %d", page_size, SLAB_PAGE_MIN, SLAB_PAGE_MAX);
        return -1;
    }
    pages = slab_geometry(size, (unsigned) shift, &start);
    if (pages == 0) {
        diag_set("slab_init(): zone of %zu bytes is too small: a slab with "
                 "%zu-byte pages needs at least %zu bytes (header and one page)",
                 size, page_size, slab_min_zone_size(page_size));
        return -1;
    }
    nslots = slab_nslots_for((unsigned) shift);

    memset(pool, 0, sizeof(*pool));
    pool->end = size;
    pool->min_shift = SLAB_MIN_SHIFT;
    pool->min_size = SLAB_MIN_SIZE;
    pool->page_shift = (uint8_t) shift;
    if (shmtx_create(&pool->mutex, &pool->lock, lockstat, 0) != 0) {
        /* nginx goes on without a semaphore after an alert; so do we. */
        diag_clear();
    }

    slots = slab_slots(pool);
    for (i = 0; i < nslots; i++) {
        slots[i].slab = 0;
        slots[i].next = slab_off(pool, &slots[i]);
        slots[i].prev = 0;
    }
    pool->stats = slab_off(pool, &slots[nslots]);
    memset(slab_stat_of(pool), 0, nslots * sizeof(struct slab_stat));

    pool->pages = pool->stats + nslots * sizeof(struct slab_stat);
    desc = slab_desc(pool);
    memset(desc, 0, slab_pages_estimate(size, pool->pages, page_size)
                    * sizeof(struct slab_page));

    pool->start = start;
    pool->last = pool->pages + pages * sizeof(struct slab_page);
    runs = slab_runs(pool);
    pageruns_format(&runs, pages);          /* free list, pfree */
    pool->log_nomem = 1;
    pool->log_ctx = slab_off(pool, &pool->zero);
    pool->zero = 0;
    return 0;
}

/* §6 (pageruns.h) */
static struct slab_page *
slab_alloc_pages(struct slab_pool *pool, uint64_t pages)
{
    struct pageruns r = slab_runs(pool);

    return pageruns_alloc(&r, pages);
}

/* §7.3 (pageruns.h) */
static void
slab_free_pages(struct slab_pool *pool, struct slab_page *page, uint64_t pages)
{
    struct pageruns r = slab_runs(pool);

    pageruns_free(&r, page, pages);
}

/* Take a full chunk page out of its slot list (§5 step 3). */
static inline void
slab_unlink_full(struct slab_pool *pool, struct slab_page *page, uint64_t kind)
{
    struct slab_page *prev = slab_prev(pool, page);

    prev->next = page->next;
    ((struct slab_page *) slab_ptr(pool, page->next))->prev = page->prev;
    page->next = 0;
    page->prev = kind;
}

/* Push a page that was full back at the front of its slot list (§7.2.1). */
static inline void
slab_push_front(struct slab_pool *pool, struct slab_page *page,
    struct slab_page *head, uint64_t kind)
{
    page->next = head->next;
    head->next = slab_off(pool, page);
    page->prev = slab_off(pool, head) | kind;
    ((struct slab_page *) slab_ptr(pool, page->next))->prev = slab_off(pool, page) | kind;
}

/* §4.1, §5 */
void *
slab_alloc_locked(struct slab_pool *pool, size_t size)
{
    struct slab_geom  g;
    struct slab_page *page, *head;
    struct slab_stat *stat;
    unsigned          shift, slot, n, map, b;
    uint64_t         *bitmap, mask, freebits;
    unsigned char    *addr;

    slab_geom_of(pool, &g);

    if (size > g.max_size) {
        page = slab_alloc_pages(pool, (size >> g.shift)
                                      + ((size & (g.page_size - 1)) ? 1 : 0));
        return page ? slab_page_addr(pool, page, g.shift) : NULL;
    }

    if (size > pool->min_size) {
        shift = 64 - (unsigned) __builtin_clzll((uint64_t) size - 1);
    } else {
        shift = SLAB_MIN_SHIFT;
    }
    slot = shift - SLAB_MIN_SHIFT;
    stat = &slab_stat_of(pool)[slot];
    stat->reqs++;

    head = &slab_slots(pool)[slot];
    page = slab_ptr(pool, head->next);

    if (page != head) {
        addr = slab_page_addr(pool, page, g.shift);

        if (shift < g.exact_shift) {
            bitmap = (uint64_t *) addr;
            map = (unsigned) ((g.page_size >> shift) / SLAB_WORD_BITS);
            for (n = 0; n < map; n++) {
                if (bitmap[n] == SLAB_BUSY) {
                    continue;
                }
                b = (unsigned) __builtin_ctzll(~bitmap[n]);
                bitmap[n] |= (uint64_t) 1 << b;
                stat->used++;
                if (bitmap[n] == SLAB_BUSY) {
                    unsigned k;
                    for (k = n + 1; k < map && bitmap[k] == SLAB_BUSY; k++) { /* void */ }
                    if (k == map) {
                        slab_unlink_full(pool, page, SLAB_SMALL);
                    }
                }
                return addr + (((uint64_t) n * SLAB_WORD_BITS + b) << shift);
            }

        } else if (shift == g.exact_shift) {
            if (page->slab != SLAB_BUSY) {
                b = (unsigned) __builtin_ctzll(~page->slab);
                page->slab |= (uint64_t) 1 << b;
                if (page->slab == SLAB_BUSY) {
                    slab_unlink_full(pool, page, SLAB_EXACT);
                }
                stat->used++;
                return addr + ((uint64_t) b << shift);
            }

        } else {
            mask = (((uint64_t) 1 << (g.page_size >> shift)) - 1) << SLAB_MAP_SHIFT;
            freebits = ~page->slab & mask;
            if (freebits) {
                b = (unsigned) __builtin_ctzll(freebits);
                page->slab |= (uint64_t) 1 << b;
                if ((page->slab & SLAB_MAP_MASK) == mask) {
                    slab_unlink_full(pool, page, SLAB_BIG);
                }
                stat->used++;
                return addr + ((uint64_t) (b - SLAB_MAP_SHIFT) << shift);
            }
        }

        /* Unreachable in a consistent zone; nginx alerts and goes on. */
        diag_set("slab_alloc(): page is busy");
    }

    page = slab_alloc_pages(pool, 1);
    if (page == NULL) {
        stat->fails++;
        return NULL;
    }
    addr = slab_page_addr(pool, page, g.shift);

    if (shift < g.exact_shift) {
        bitmap = (uint64_t *) addr;
        b = slab_small_reserved(g.shift, shift);
        map = (unsigned) ((g.page_size >> shift) / SLAB_WORD_BITS);
        for (n = 0; n < (b + 1) / SLAB_WORD_BITS; n++) {
            bitmap[n] = SLAB_BUSY;
        }
        bitmap[n] = ((uint64_t) 1 << ((b + 1) % SLAB_WORD_BITS)) - 1;
        for (n = n + 1; n < map; n++) {
            bitmap[n] = 0;
        }
        page->slab = shift;
        page->next = slab_off(pool, head);
        page->prev = slab_off(pool, head) | SLAB_SMALL;
        head->next = slab_off(pool, page);
        stat->total += (g.page_size >> shift) - b;
        stat->used++;
        return addr + ((uint64_t) b << shift);
    }

    if (shift == g.exact_shift) {
        page->slab = 1;
        page->prev = slab_off(pool, head) | SLAB_EXACT;
        stat->total += SLAB_WORD_BITS;
    } else {
        page->slab = ((uint64_t) 1 << SLAB_MAP_SHIFT) | shift;
        page->prev = slab_off(pool, head) | SLAB_BIG;
        stat->total += g.page_size >> shift;
    }
    page->next = slab_off(pool, head);
    head->next = slab_off(pool, page);
    stat->used++;
    return addr;
}

void *
slab_alloc(struct slab_pool *pool, size_t size)
{
    void *p;

    shmtx_lock(&pool->mutex);
    p = slab_alloc_locked(pool, size);
    shmtx_unlock(&pool->mutex);
    return p;
}

void *
slab_calloc_locked(struct slab_pool *pool, size_t size)
{
    void *p = slab_alloc_locked(pool, size);

    if (p) {
        memset(p, 0, size);     /* the requested size, as nginx does */
    }
    return p;
}

void *
slab_calloc(struct slab_pool *pool, size_t size)
{
    void *p;

    shmtx_lock(&pool->mutex);
    p = slab_calloc_locked(pool, size);
    shmtx_unlock(&pool->mutex);
    return p;
}

/*
 * What a pointer refers to, found without writing anything (§7.1).  Used by
 * free (before any write) and by usable_size.
 */
struct slab_block {
    struct slab_page *page;
    uint64_t          kind;
    unsigned          shift;    /* chunk shift (chunk pages) */
    unsigned          chunk;    /* chunk index in the page */
    uint64_t         *word;     /* word holding the chunk's bit */
    uint64_t          bit;      /* the bit */
    uint64_t          pages;    /* run length (page runs) */
};

/* A refusal of slab_locate(): fn names the caller; NULL keeps it quiet. */
static int
slab_refuse(const char *fn, const char *why)
{
    if (fn) {
        diag_set("%s(): %s", fn, why);
    }
    return -1;
}

static int
slab_locate(struct slab_pool *pool, const void *ptr, struct slab_block *blk,
    const char *fn)
{
    struct slab_geom g;
    uint64_t         off, npages, in_page;
    unsigned char   *addr;

    slab_geom_of(pool, &g);
    off = (uint64_t) ((const unsigned char *) ptr - (unsigned char *) pool);
    npages = (pool->last - pool->pages) / sizeof(struct slab_page);

    /* nginx tests p > end; pointers past the last page index descriptors
     * that do not exist, so we refuse everything outside the pages. */
    if ((const unsigned char *) ptr < (unsigned char *) pool
        || off < pool->start || off >= pool->start + (npages << g.shift))
    {
        return slab_refuse(fn, "outside of pool");
    }

    blk->page = &slab_desc(pool)[(off - pool->start) >> g.shift];
    blk->kind = slab_kind(blk->page);
    in_page = (off - pool->start) & (g.page_size - 1);
    addr = slab_page_addr(pool, blk->page, g.shift);

    switch (blk->kind) {

    case SLAB_SMALL:
        blk->shift = (unsigned) (blk->page->slab & SLAB_SHIFT_MASK);
        if (in_page & (((uint64_t) 1 << blk->shift) - 1)) {
            goto wrong_chunk;
        }
        blk->chunk = (unsigned) (in_page >> blk->shift);
        if (blk->chunk < slab_small_reserved(g.shift, blk->shift)) {
            /* nginx lets this through and corrupts the page's bitmap */
            return slab_refuse(fn, "pointer to the page's bitmap");
        }
        blk->word = (uint64_t *) addr + blk->chunk / SLAB_WORD_BITS;
        blk->bit = (uint64_t) 1 << (blk->chunk % SLAB_WORD_BITS);
        break;

    case SLAB_EXACT:
        blk->shift = g.exact_shift;
        if (in_page & (((uint64_t) 1 << blk->shift) - 1)) {
            goto wrong_chunk;
        }
        blk->chunk = (unsigned) (in_page >> blk->shift);
        blk->word = &blk->page->slab;
        blk->bit = (uint64_t) 1 << blk->chunk;
        break;

    case SLAB_BIG:
        blk->shift = (unsigned) (blk->page->slab & SLAB_SHIFT_MASK);
        if (in_page & (((uint64_t) 1 << blk->shift) - 1)) {
            goto wrong_chunk;
        }
        blk->chunk = (unsigned) (in_page >> blk->shift);
        blk->word = &blk->page->slab;
        blk->bit = (uint64_t) 1 << (blk->chunk + SLAB_MAP_SHIFT);
        break;

    default: /* SLAB_PAGE */
        if (in_page) {
            goto wrong_chunk;
        }
        if (!(blk->page->slab & SLAB_PAGE_START)) {
            return slab_refuse(fn, "page is already free");
        }
        if (blk->page->slab == SLAB_PAGE_BUSY) {
            return slab_refuse(fn, "pointer to wrong page");
        }
        blk->pages = blk->page->slab & ~SLAB_PAGE_START;
        return 0;
    }

    if (!(*blk->word & blk->bit)) {
        return slab_refuse(fn, "chunk is already free");
    }
    return 0;

wrong_chunk:
    return slab_refuse(fn, "pointer to wrong chunk");
}

/* §7.2 */
int
slab_free_locked(struct slab_pool *pool, void *p)
{
    struct slab_geom  g;
    struct slab_block blk;
    struct slab_page *page, *head;
    struct slab_stat *stat;
    uint64_t         *bitmap, mask;
    unsigned          slot, b, i, map;

    if (slab_locate(pool, p, &blk, "slab_free") != 0) {
        return -1;
    }
    page = blk.page;

    if (blk.kind == SLAB_PAGE) {
        slab_free_pages(pool, page, blk.pages);
        return 0;
    }

    slab_geom_of(pool, &g);
    slot = blk.shift - SLAB_MIN_SHIFT;
    stat = &slab_stat_of(pool)[slot];
    head = &slab_slots(pool)[slot];

    switch (blk.kind) {

    case SLAB_SMALL:
        if (page->next == 0) {
            slab_push_front(pool, page, head, SLAB_SMALL);
        }
        *blk.word &= ~blk.bit;

        /* Empty when no bit beyond the b reserved ones is set. */
        bitmap = (uint64_t *) slab_page_addr(pool, page, g.shift);
        b = slab_small_reserved(g.shift, blk.shift);
        i = b / SLAB_WORD_BITS;
        mask = ((uint64_t) 1 << (b % SLAB_WORD_BITS)) - 1;
        if (bitmap[i] & ~mask) {
            break;
        }
        map = (unsigned) ((g.page_size >> blk.shift) / SLAB_WORD_BITS);
        for (i = i + 1; i < map; i++) {
            if (bitmap[i]) {
                goto done;
            }
        }
        slab_free_pages(pool, page, 1);
        stat->total -= (g.page_size >> blk.shift) - b;
        break;

    case SLAB_EXACT:
        if (page->slab == SLAB_BUSY) {
            slab_push_front(pool, page, head, SLAB_EXACT);
        }
        page->slab &= ~blk.bit;
        if (page->slab) {
            break;
        }
        slab_free_pages(pool, page, 1);
        stat->total -= SLAB_WORD_BITS;
        break;

    default: /* SLAB_BIG */
        if (page->next == 0) {
            slab_push_front(pool, page, head, SLAB_BIG);
        }
        page->slab &= ~blk.bit;
        if (page->slab & SLAB_MAP_MASK) {
            break;
        }
        slab_free_pages(pool, page, 1);
        stat->total -= g.page_size >> blk.shift;
        break;
    }

done:
    stat->used--;
    return 0;
}

int
slab_free(struct slab_pool *pool, void *p)
{
    int rc;

    shmtx_lock(&pool->mutex);
    rc = slab_free_locked(pool, p);
    shmtx_unlock(&pool->mutex);
    return rc;
}

size_t
slab_usable_size(struct slab_pool *pool, const void *p)
{
    struct slab_block blk;

    /* Quietly: looking up a pointer must not clobber the last message. */
    if (slab_locate(pool, p, &blk, NULL) != 0) {
        return 0;
    }
    if (blk.kind == SLAB_PAGE) {
        return (size_t) (blk.pages << pool->page_shift);
    }
    return (size_t) 1 << blk.shift;
}

size_t
slab_page_size(const struct slab_pool *pool)
{
    return (size_t) 1 << pool->page_shift;
}

unsigned
slab_nslots(const struct slab_pool *pool)
{
    return slab_nslots_for(pool->page_shift);
}

size_t
slab_npages(const struct slab_pool *pool)
{
    return (size_t) ((pool->last - pool->pages) / sizeof(struct slab_page));
}

const struct slab_stat *
slab_stats(const struct slab_pool *pool)
{
    return slab_stat_of(pool);
}

struct slab_run_walk {
    int    (*fn)(void *arg, uint64_t off, uint64_t pages);
    void    *arg;
    unsigned shift;
};

static int
slab_run_at(void *arg, uint64_t index, uint64_t pages)
{
    struct slab_run_walk *w = arg;

    return w->fn(w->arg, index << w->shift, pages);
}

/*
 * Walk the free-run list with every offset checked against the bytes mapped
 * and at most npages + 1 steps, so a corrupt or changing zone ends the walk
 * (with -1) instead of the process.
 */
int
slab_each_free_run(const struct slab_pool *pool, size_t size,
    int (*fn)(void *arg, uint64_t off, uint64_t pages), void *arg)
{
    struct slab_run_walk w;

    if (size < sizeof(*pool) || !slab_page_shift_ok(pool->page_shift)) {
        return -1;
    }
    if (pool->pages != slab_fixed_size(slab_nslots_for(pool->page_shift))
        || pool->last < pool->pages || pool->last > size
        || (pool->last - pool->pages) % sizeof(struct slab_page))
    {
        return -1;
    }
    w.fn = fn;
    w.arg = arg;
    w.shift = pool->page_shift;
    return pageruns_walk((const unsigned char *) pool, offsetof(struct slab_pool, free),
                         pool->pages, pool->last, fn ? slab_run_at : NULL, &w);
}

static int
slab_max_run(void *arg, uint64_t off, uint64_t pages)
{
    uint64_t *max = arg;

    (void) off;
    if (pages > *max) {
        *max = pages;
    }
    return 0;
}

size_t
slab_largest_free_run(const struct slab_pool *pool, size_t size)
{
    uint64_t max = 0;

    if (slab_each_free_run(pool, size, slab_max_run, &max) != 0) {
        return 0;
    }
    return (size_t) max;
}
