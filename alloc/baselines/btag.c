/*
 * btag: the cold half of the boundary-tag format shared by freelist and
 * tlsf (btag.h): formatting a zone header, the stats both compute alike,
 * and check()'s frame: the header's common fields, the walk over every
 * block by its sizes with the free offsets it collects, and the counters.
 * What each allocator checks beyond that comes in through its btag_fmt.
 */
#include <stdlib.h>
#include <string.h>

#include "baselines/btag.h"

int
btag_init(struct zone *z, const struct btag_fmt *f)
{
    struct btag_head  *h = (struct btag_head *) z->base;
    struct btag_count *n;

    if (z->size < btag_min_zone_size(f)) {
        diag_set("%s_init(): zone of %zu bytes is too small: the minimum is %zu bytes",
                 f->name, z->size, btag_min_zone_size(f));
        return -1;
    }
    if (z->size >= f->zone_max) {
        diag_set("%s_init(): zone of %zu bytes is too large: the limit is %llu bytes",
                 f->name, z->size, (unsigned long long) f->zone_max - 1);
        return -1;
    }
    if ((uintptr_t) z->base % BTAG_ALIGN != 0) {
        diag_set("%s_init(): zone base %p is not 16-byte aligned", f->name, (void *) z->base);
        return -1;
    }

    memset(h, 0, f->head_size);
    if (shmtx_create(&h->mutex, &h->lock, z->ctl ? z->ctl->lockstat : NULL, 0) != 0) {
        diag_clear();   /* works without the semaphore, as nginx goes on */
    }
    memcpy(h->magic, f->zone_magic, sizeof(h->magic));
    h->size = z->size;
    h->start = f->start;
    h->end = btag_end(f, z->size);

    n = (struct btag_count *) ((unsigned char *) h + f->count_off);
    n->nfree = 1;
    n->free_bytes = h->end - h->start;
    return 0;
}

int
btag_geometry_ok(const struct zone *z, const struct btag_fmt *f)
{
    const struct btag_head *h = (const struct btag_head *) z->base;

    return z->size >= btag_min_zone_size(f) && z->size < f->zone_max
           && memcmp(h->magic, f->zone_magic, sizeof(h->magic)) == 0
           && h->size == z->size && h->start == f->start && h->end == btag_end(f, z->size);
}

size_t
btag_data_offset(struct zone *z)
{
    return (size_t) ((const struct btag_head *) z->base)->start;
}

/*
 * The blocks tile [start, end), so footprint, the bytes of the blocks
 * handed out (their tags included), is the data bytes less the free blocks'
 * bytes: exact, kept under the lock.  header_bytes is the rest of the zone:
 * the header and the prologue word before the first block, the epilogue tag
 * and the tail too short for a block after the last.  largest_free is the
 * caller's (freelist and tlsf find it differently).
 */
int
btag_stats(struct zone *z, const struct btag_fmt *f, struct alloc_stats *out)
{
    const struct btag_head  *h = (const struct btag_head *) z->base;
    const struct btag_count *n = btag_count_of(h, f);

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    if (!btag_geometry_ok(z, f)) {
        return -1;
    }
    out->data_bytes = h->end - h->start;
    out->free_bytes = n->free_bytes - n->nfree * f->overhead;
    out->header_bytes = z->size - out->data_bytes;
    out->footprint = out->data_bytes - n->free_bytes;
    out->exact = ALLOC_EXACT_FOOTPRINT;
    out->fails = n->fails;
    return 0;
}


/* check(). */

static int
btag_check_head(struct btag_check *c)
{
    const struct zone      *z = c->z;
    const struct btag_head *h = c->h;
    const struct btag_fmt  *f = c->f;

    if (z->size < btag_min_zone_size(f) || z->size >= f->zone_max) {
        return diag_report(&c->out, "zone of %zu bytes cannot be a %s zone", z->size, f->name);
    }
    if (memcmp(h->magic, f->zone_magic, sizeof(h->magic)) != 0) {
        return diag_report(&c->out, "zone header magic is not %s", f->zone_magic);
    }
    if (h->size != z->size) {
        return diag_report(&c->out, "zone header says %llu bytes, the zone has %zu",
                       (unsigned long long) h->size, z->size);
    }
    if (!btag_geometry_ok(z, f)) {
        return diag_report(&c->out, "blocks span [%llu, %llu), expected [%llu, %llu)",
                       (unsigned long long) h->start, (unsigned long long) h->end,
                       (unsigned long long) f->start,
                       (unsigned long long) btag_end(f, z->size));
    }
    return f->check_head(c);
}

static int
btag_remember_free(struct btag_check *c, uint64_t off)
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
btag_check_blocks(struct btag_check *c)
{
    const struct btag_fmt   *f = c->f;
    const struct btag_head  *h = c->h;
    const struct btag_count *n = c->n;
    uint64_t b, t, s, nused = 0, used = 0, freed = 0;
    int      prev_free = 0;

    for (b = h->start; b < h->end; b += s) {
        t = btag_read(h, b);
        s = t & BTAG_SIZE_MASK;
        if ((t & BTAG_MAGIC_MASK) != btag_magic(b)) {
            return diag_report(&c->out, "block at offset %llu: header %#llx has a wrong magic",
                           (unsigned long long) b, (unsigned long long) t);
        }
        if ((t & BTAG_FLAG_BITS & ~f->flags) != 0 || s < BTAG_MIN_BLOCK || s > h->end - b) {
            return diag_report(&c->out, "block at offset %llu: size %llu out of bounds (header %#llx)",
                           (unsigned long long) b, (unsigned long long) s,
                           (unsigned long long) t);
        }
        if (f->check_block(c, b, t, s, prev_free) != 0) {
            return -1;
        }
        if (!btag_is_free(f, t)) {
            nused++;
            used += s;
            prev_free = 0;
            continue;
        }
        if (prev_free) {
            return diag_report(&c->out, "two adjacent free blocks: the one at offset %llu was not merged",
                           (unsigned long long) b);
        }
        if (f->check_free && f->check_free(c, b, s) != 0) {
            return -1;
        }
        prev_free = 1;
        freed += s;
        if (btag_remember_free(c, b) != 0) {
            return -1;
        }
    }
    if (b != h->end) {
        return diag_report(&c->out, "the last block overruns the end at offset %llu",
                       (unsigned long long) h->end);
    }
    c->last_free = prev_free;
    if (f->check_end && f->check_end(c) != 0) {
        return -1;
    }
    if (nused != n->nused || used != n->used_bytes) {
        return diag_report(&c->out, "counters say %llu blocks in use (%llu bytes), the walk found %llu (%llu)",
                       (unsigned long long) n->nused, (unsigned long long) n->used_bytes,
                       (unsigned long long) nused, (unsigned long long) used);
    }
    if (c->nfree != n->nfree || freed != n->free_bytes) {
        return diag_report(&c->out, "counters say %llu free blocks (%llu bytes), the walk found %zu (%llu)",
                       (unsigned long long) n->nfree, (unsigned long long) n->free_bytes,
                       c->nfree, (unsigned long long) freed);
    }
    return 0;
}

ptrdiff_t
btag_find_free(const struct btag_check *c, uint64_t off)
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

int
btag_check(struct zone *z, FILE *report, const struct btag_fmt *f)
{
    struct btag_check c;
    char              who[32];
    int               rc;

    memset(&c, 0, sizeof(c));
    snprintf(who, sizeof(who), "%s_check", f->name);
    c.f = f;
    c.z = z;
    c.h = (const struct btag_head *) z->base;
    c.n = btag_count_of(c.h, f);
    c.out.report = report;
    c.out.who = who;
    if (z->size < f->head_size) {
        return diag_report(&c.out, "zone of %zu bytes cannot hold the header", z->size);
    }
    rc = btag_check_head(&c);
    if (rc == 0) {
        rc = btag_check_blocks(&c);
    }
    if (rc == 0) {
        rc = f->check_lists(&c);
    }
    free(c.free_off);
    return rc;
}
