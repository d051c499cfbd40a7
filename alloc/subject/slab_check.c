/*
 * slab_check: verify every invariant of a slab zone (docs/nginx-slab.md §7.4).
 *
 * The zone may be corrupt, written by a process that died half-way, or
 * attached read-only from another process while workers change it: nothing
 * read is trusted.  Every offset is checked against the bytes mapped before
 * it is followed, every list walk is bounded by the page count, and the
 * check never writes the zone.  The first violation is reported, precisely:
 * which structure, which page or slot, what was expected and what was found.
 */
#include "subject/slab.h"

#include <stdlib.h>
#include <string.h>

#include "substrate/diag.h"
#include "subject/slab_internal.h"

/* What check() learned about each data page. */
enum page_state {
    ST_UNSEEN = 0,
    ST_FREE_HEAD,
    ST_FREE,
    ST_RUN,
    ST_CHUNK,           /* chunk page, not yet seen in a slot list */
    ST_CHUNK_LISTED,
};

struct check {
    const struct slab_pool *pool;
    const unsigned char    *base;
    size_t                  size;
    struct diag_checker     out;    /* the report stream, "slab_check" */
    struct slab_geom        g;      /* from the header's page shift */
    uint64_t                npages;
    const struct slab_page *desc;
    unsigned char          *state;
    /* per slot, from the pages */
    uint64_t                pages_of[SLAB_NSLOTS_MAX], used_of[SLAB_NSLOTS_MAX],
                            open_of[SLAB_NSLOTS_MAX];
};

/* Index of the descriptor at offset `off`, or -1 if it is not one. */
static int64_t
desc_index(const struct check *c, uint64_t off)
{
    uint64_t pages = c->pool->pages;

    if (off < pages || off >= c->pool->last || (off - pages) % sizeof(struct slab_page)) {
        return -1;
    }
    return (int64_t) ((off - pages) / sizeof(struct slab_page));
}

static int
check_header(struct check *c)
{
    const struct slab_pool *pool = c->pool;
    uint64_t fixed, est, start;

    if (c->size < sizeof(struct slab_pool)) {
        return diag_report(&c->out, "zone of %zu bytes cannot hold the pool header", c->size);
    }
    if (!slab_page_shift_ok(pool->page_shift)) {
        return diag_report(&c->out, "page shift %u is not between %d and %d", pool->page_shift,
                    SLAB_PAGE_SHIFT_MIN, SLAB_PAGE_SHIFT_MAX);
    }
    slab_geom_of(pool, &c->g);
    if (pool->min_shift != SLAB_MIN_SHIFT || pool->min_size != SLAB_MIN_SIZE) {
        return diag_report(&c->out, "min_shift %llu / min_size %llu, expected %d / %llu",
                    (unsigned long long) pool->min_shift,
                    (unsigned long long) pool->min_size, SLAB_MIN_SHIFT,
                    (unsigned long long) SLAB_MIN_SIZE);
    }
    if (pool->end != c->size) {
        return diag_report(&c->out, "end is %llu, the zone has %zu bytes",
                    (unsigned long long) pool->end, c->size);
    }
    fixed = slab_fixed_size(c->g.nslots);
    if (pool->stats != slab_stats_offset(c->g.nslots)) {
        return diag_report(&c->out, "stats at offset %llu, expected %llu", (unsigned long long) pool->stats,
                    (unsigned long long) slab_stats_offset(c->g.nslots));
    }
    if (pool->pages != fixed) {
        return diag_report(&c->out, "descriptors at offset %llu, expected %llu",
                    (unsigned long long) pool->pages, (unsigned long long) fixed);
    }
    if (pool->last < pool->pages || (pool->last - pool->pages) % sizeof(struct slab_page)
        || pool->last > c->size)
    {
        return diag_report(&c->out, "last descriptor offset %llu is not a descriptor boundary in the zone",
                    (unsigned long long) pool->last);
    }
    c->npages = (pool->last - pool->pages) / sizeof(struct slab_page);
    if (c->npages == 0) {
        return diag_report(&c->out, "zone has no pages");
    }
    est = slab_pages_estimate(c->size, fixed, c->g.page_size);
    start = slab_data_start(fixed, est, c->g.page_size);
    if (pool->start != start) {
        return diag_report(&c->out, "data start at offset %llu, expected %llu",
                    (unsigned long long) pool->start, (unsigned long long) start);
    }
    if (pool->start + c->npages * c->g.page_size > c->size || c->npages > est) {
        return diag_report(&c->out, "%llu pages of %llu bytes do not fit between the data start and the end",
                    (unsigned long long) c->npages, (unsigned long long) c->g.page_size);
    }
    if (pool->pfree > c->npages) {
        return diag_report(&c->out, "pfree %llu exceeds the %llu pages", (unsigned long long) pool->pfree,
                    (unsigned long long) c->npages);
    }
    c->desc = (const struct slab_page *) (c->base + pool->pages);
    return 0;
}

static int
check_free_list(struct check *c)
{
    const struct slab_pool *pool = c->pool;
    const uint64_t sentinel = offsetof(struct slab_pool, free);
    uint64_t off = pool->free.next, prev = sentinel, steps, sum = 0, L, j;
    int64_t  h;
    const struct slab_page *d, *t;

    for (steps = 0; off != sentinel; steps++) {
        if (steps >= c->npages) {
            return diag_report(&c->out, "free list does not return to its sentinel within %llu runs",
                        (unsigned long long) c->npages);
        }
        h = desc_index(c, off);
        if (h < 0) {
            return diag_report(&c->out, "free list: link to offset %llu is not a page descriptor",
                        (unsigned long long) off);
        }
        d = &c->desc[h];
        if (slab_kind(d) != SLAB_PAGE) {
            return diag_report(&c->out, "free list: page %lld has kind %llu, not a free page",
                        (long long) h, (unsigned long long) slab_kind(d));
        }
        if (slab_prev_off(d) != prev) {
            return diag_report(&c->out, "free list: page %lld's prev is %llu, expected %llu",
                        (long long) h, (unsigned long long) d->prev, (unsigned long long) prev);
        }
        L = d->slab;
        if (L == 0 || L & SLAB_PAGE_START || (uint64_t) h + L > c->npages) {
            return diag_report(&c->out, "free list: run at page %lld has length %llu (zone has %llu pages)",
                        (long long) h, (unsigned long long) L, (unsigned long long) c->npages);
        }
        for (j = (uint64_t) h; j < (uint64_t) h + L; j++) {
            if (c->state[j] != ST_UNSEEN) {
                return diag_report(&c->out, "free list: page %llu is in two free runs", (unsigned long long) j);
            }
            c->state[j] = j == (uint64_t) h ? ST_FREE_HEAD : ST_FREE;
            if (j == (uint64_t) h) {
                continue;
            }
            t = &c->desc[j];
            if (t->slab != SLAB_PAGE_FREE || t->next != 0 || slab_kind(t) != SLAB_PAGE) {
                return diag_report(&c->out, "free run at page %lld: page %llu is not marked free "
                            "(slab %llu next %llu prev %llu)", (long long) h,
                            (unsigned long long) j, (unsigned long long) t->slab,
                            (unsigned long long) t->next, (unsigned long long) t->prev);
            }
        }
        if (L >= 2) {
            t = &c->desc[h + (int64_t) L - 1];
            /* The first run of a fresh zone has no tail marker (§2.3.7). */
            if (t->prev != off && !(h == 0 && L == c->npages && t->prev == 0)) {
                return diag_report(&c->out, "free run at page %lld: tail marker of page %llu is %llu, "
                            "expected %llu", (long long) h, (unsigned long long) (h + (int64_t) L - 1),
                            (unsigned long long) t->prev, (unsigned long long) off);
            }
        }
        sum += L;
        prev = off;
        off = d->next;
    }
    if (sum != pool->pfree) {
        return diag_report(&c->out, "free runs hold %llu pages, pfree says %llu",
                    (unsigned long long) sum, (unsigned long long) pool->pfree);
    }
    for (j = 0; j + 1 < c->npages; j++) {
        if ((c->state[j] == ST_FREE_HEAD || c->state[j] == ST_FREE)
            && c->state[j + 1] == ST_FREE_HEAD)
        {
            return diag_report(&c->out, "free runs are not maximal: page %llu ends a run and page %llu "
                        "starts another", (unsigned long long) j, (unsigned long long) j + 1);
        }
    }
    return 0;
}

/* A chunk page: shift, bitmap, fullness; counts per slot. */
static int
check_chunk_page(struct check *c, uint64_t i)
{
    const struct slab_page *d = &c->desc[i];
    uint64_t kind = slab_kind(d), C, used = 0, w, nwords, b, mask, map;
    unsigned s, slot;
    int      full;
    const uint64_t *bitmap;

    if (kind == SLAB_EXACT) {
        s = c->g.exact_shift;
        used = (uint64_t) __builtin_popcountll(d->slab);
        full = d->slab == SLAB_BUSY;
        C = SLAB_WORD_BITS;
        b = 0;
    } else {
        s = (unsigned) (d->slab & SLAB_SHIFT_MASK);
        if (kind == SLAB_SMALL ? (s < SLAB_MIN_SHIFT || s >= c->g.exact_shift)
                               : (s <= c->g.exact_shift || s >= c->g.shift))
        {
            return diag_report(&c->out, "page %llu: %s page with chunk shift %u", (unsigned long long) i,
                        kind == SLAB_SMALL ? "small" : "big", s);
        }
        C = c->g.page_size >> s;
        if (kind == SLAB_BIG) {
            mask = ((1ULL << C) - 1) << SLAB_MAP_SHIFT;
            if (d->slab & ~mask & ~SLAB_SHIFT_MASK) {
                return diag_report(&c->out, "page %llu: big page has bits outside its %llu-chunk map (%#llx)",
                            (unsigned long long) i, (unsigned long long) C,
                            (unsigned long long) d->slab);
            }
            map = d->slab & mask;
            used = (uint64_t) __builtin_popcountll(map);
            full = map == mask;
            b = 0;
        } else {
            bitmap = (const uint64_t *) (c->base + c->pool->start + (i << c->g.shift));
            nwords = C / SLAB_WORD_BITS;
            b = slab_small_reserved(c->g.shift, s);
            full = 1;
            for (w = 0; w < nwords; w++) {
                used += (uint64_t) __builtin_popcountll(bitmap[w]);
                if (bitmap[w] != SLAB_BUSY) {
                    full = 0;
                }
            }
            for (w = 0; w < b; w++) {
                if (!(bitmap[w / SLAB_WORD_BITS] & (1ULL << (w % SLAB_WORD_BITS)))) {
                    return diag_report(&c->out, "page %llu: bitmap chunk %llu of a %u-byte page is not reserved",
                                (unsigned long long) i, (unsigned long long) w, 1u << s);
                }
            }
            used -= b;
        }
    }
    slot = s - SLAB_MIN_SHIFT;

    if (used == 0) {
        return diag_report(&c->out, "page %llu: empty %u-byte chunk page was not released",
                    (unsigned long long) i, 1u << s);
    }
    if (full) {
        if (d->next != 0 || d->prev != kind) {
            return diag_report(&c->out, "page %llu: full %u-byte chunk page is still linked "
                        "(next %llu prev %llu)", (unsigned long long) i, 1u << s,
                        (unsigned long long) d->next, (unsigned long long) d->prev);
        }
    } else {
        if (d->next == 0) {
            return diag_report(&c->out, "page %llu: %u-byte chunk page with free chunks is not in its slot list",
                        (unsigned long long) i, 1u << s);
        }
        c->open_of[slot]++;
    }
    c->pages_of[slot]++;
    c->used_of[slot] += used;
    c->state[i] = ST_CHUNK;
    (void) C;
    return 0;
}

static int
check_pages(struct check *c)
{
    uint64_t i, k, j;
    const struct slab_page *d;

    for (i = 0; i < c->npages; i++) {
        if (c->state[i] != ST_UNSEEN) {
            continue;
        }
        d = &c->desc[i];
        switch (slab_kind(d)) {
        case SLAB_PAGE:
            if (!(d->slab & SLAB_PAGE_START) || d->slab == SLAB_PAGE_BUSY) {
                return diag_report(&c->out, "page %llu: neither in a free run nor the first page of a run "
                            "(slab %#llx)", (unsigned long long) i, (unsigned long long) d->slab);
            }
            k = d->slab & ~SLAB_PAGE_START;
            if (k == 0 || i + k > c->npages || d->next != 0 || d->prev != 0) {
                return diag_report(&c->out, "page %llu: run of %llu pages is malformed",
                            (unsigned long long) i, (unsigned long long) k);
            }
            for (j = i; j < i + k; j++) {
                if (j > i && (c->desc[j].slab != SLAB_PAGE_BUSY || c->desc[j].next != 0
                              || c->desc[j].prev != 0 || c->state[j] != ST_UNSEEN))
                {
                    return diag_report(&c->out, "run at page %llu: page %llu is not marked busy",
                                (unsigned long long) i, (unsigned long long) j);
                }
                c->state[j] = ST_RUN;
            }
            i += k - 1;
            break;
        default:
            if (check_chunk_page(c, i) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static int
check_slots(struct check *c)
{
    const struct slab_pool *pool = c->pool;
    const struct slab_page *slots = slab_slots(pool);
    const struct slab_stat *stat = slab_stat_of(pool);
    uint64_t head, off, prev, steps, kind, usable, b;
    int64_t  i;
    unsigned slot, s;

    for (slot = 0; slot < c->g.nslots; slot++) {
        s = slot + SLAB_MIN_SHIFT;
        kind = s < c->g.exact_shift ? SLAB_SMALL : s == c->g.exact_shift ? SLAB_EXACT : SLAB_BIG;
        head = sizeof(*pool) + slot * sizeof(struct slab_page);
        prev = head;
        for (off = slots[slot].next, steps = 0; off != head; steps++) {
            if (steps >= c->npages) {
                return diag_report(&c->out, "slot %u list does not return to its head", 1u << s);
            }
            i = desc_index(c, off);
            if (i < 0) {
                return diag_report(&c->out, "slot %u list: link to offset %llu is not a page descriptor",
                            1u << s, (unsigned long long) off);
            }
            if (c->state[i] != ST_CHUNK) {
                return diag_report(&c->out, "slot %u list: page %lld is %s", 1u << s, (long long) i,
                            c->state[i] == ST_CHUNK_LISTED ? "listed twice"
                                                           : "not a chunk page with free chunks");
            }
            if (slab_kind(&c->desc[i]) != kind
                || (kind != SLAB_EXACT && (c->desc[i].slab & SLAB_SHIFT_MASK) != s))
            {
                return diag_report(&c->out, "slot %u list: page %lld belongs to another slot", 1u << s,
                            (long long) i);
            }
            if (slab_prev_off(&c->desc[i]) != prev) {
                return diag_report(&c->out, "slot %u list: page %lld's prev is %llu, expected %llu", 1u << s,
                            (long long) i, (unsigned long long) slab_prev_off(&c->desc[i]),
                            (unsigned long long) prev);
            }
            c->state[i] = ST_CHUNK_LISTED;
            c->open_of[slot]--;
            prev = off;
            off = c->desc[i].next;
        }
        if (c->open_of[slot] != 0) {
            return diag_report(&c->out, "slot %u: %llu pages with free chunks are missing from its list",
                        1u << s, (unsigned long long) c->open_of[slot]);
        }
        if (kind == SLAB_SMALL) {
            b = slab_small_reserved(c->g.shift, s);
            usable = (c->g.page_size >> s) - b;
        } else {
            usable = kind == SLAB_EXACT ? SLAB_WORD_BITS : c->g.page_size >> s;
        }
        if (stat[slot].total != c->pages_of[slot] * usable) {
            return diag_report(&c->out, "slot %u: total is %llu, its %llu pages hold %llu", 1u << s,
                        (unsigned long long) stat[slot].total,
                        (unsigned long long) c->pages_of[slot],
                        (unsigned long long) (c->pages_of[slot] * usable));
        }
        if (stat[slot].used != c->used_of[slot]) {
            return diag_report(&c->out, "slot %u: used is %llu, the bitmaps hold %llu", 1u << s,
                        (unsigned long long) stat[slot].used,
                        (unsigned long long) c->used_of[slot]);
        }
        if (stat[slot].fails > stat[slot].reqs) {
            return diag_report(&c->out, "slot %u: %llu fails of %llu requests", 1u << s,
                        (unsigned long long) stat[slot].fails,
                        (unsigned long long) stat[slot].reqs);
        }
    }
    return 0;
}

int
slab_check(const struct slab_pool *pool, size_t size, FILE *report)
{
    struct check c;
    int          rc;

    memset(&c, 0, sizeof(c));
    c.pool = pool;
    c.base = (const unsigned char *) pool;
    c.size = size;
    c.out.report = report;
    c.out.who = "slab_check";

    if (check_header(&c) != 0) {
        return -1;
    }
    c.state = calloc(c.npages, 1);
    if (c.state == NULL) {
        return diag_report(&c.out, "out of memory for %llu pages", (unsigned long long) c.npages);
    }
    rc = check_free_list(&c);
    if (rc == 0) {
        rc = check_pages(&c);
    }
    if (rc == 0) {
        rc = check_slots(&c);
    }
    free(c.state);
    return rc;
}
