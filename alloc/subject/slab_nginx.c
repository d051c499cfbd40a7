/*
 * slab_nginx: a zone of nginx itself, copied out of a running nginx, made
 * readable by the slab's own checker and statistics.
 *
 * nginx's zone and this slab's have the same layout byte for byte (the
 * same header, slot heads, statistics, descriptors, data start); they
 * differ only in what a link holds: nginx stores absolute addresses of its
 * own process, the slab stores offsets from the pool (0 = null).  So a
 * copy of nginx's zone becomes a slab zone by subtracting the zone's
 * address from every link in the part before the data pages, and then
 * slab_check(), slab_stats() and slab_each_free_run() read it unchanged:
 * there is one checker, not a second one for nginx.
 *
 * Nothing in the copy is trusted.  A link that does not point into the
 * zone becomes SLAB_NGINX_BAD (with its kind bits kept), an offset no
 * descriptor and no list head has, so the checker reports the link instead
 * of following it.  The data pages hold no links the checker reads; of
 * them it reads only the bitmaps at the start of small chunk pages, which
 * slab_nginx_bitmaps() lists for a caller that copies a zone piecemeal.
 */
#include "subject/slab.h"

#include <string.h>

#include "substrate/diag.h"
#include "subject/slab_internal.h"

/* A link that pointed outside the zone: far beyond any zone's end, and
 * 8-aligned so that the kind bits stay apart. */
#define SLAB_NGINX_BAD  (UINT64_MAX & ~(uint64_t) 0xff)

int
slab_nginx_header(const struct slab_pool *hdr, uint64_t addr, size_t map_size,
    size_t page_size, size_t *size)
{
    unsigned shift, nslots;
    uint64_t fixed, est, end = addr + map_size;

    for (shift = 0; shift < 64 && ((size_t) 1 << shift) != page_size; shift++) {
        /* log2 of the page size */
    }
    if (!slab_page_shift_ok(shift)) {
        diag_set("slab_nginx_header(): page size %zu is not one nginx's slab has", page_size);
        return -1;
    }
    nslots = slab_nslots_for(shift);
    fixed = slab_fixed_size(nslots);
    if (hdr->addr != addr) {
        diag_set("slab_nginx_header(): the header's address field is %#llx, not the "
                 "mapping's %#llx", (unsigned long long) hdr->addr, (unsigned long long) addr);
        return -1;
    }
    if (hdr->end > end || hdr->end + page_size <= end || hdr->end < addr + fixed + 2 * page_size) {
        diag_set("slab_nginx_header(): the header's end %#llx is not in the mapping's "
                 "last page", (unsigned long long) hdr->end);
        return -1;
    }
    if (hdr->min_shift != SLAB_MIN_SHIFT || hdr->min_size != SLAB_MIN_SIZE) {
        diag_set("slab_nginx_header(): min_shift %llu, min_size %llu: not a slab pool",
                 (unsigned long long) hdr->min_shift, (unsigned long long) hdr->min_size);
        return -1;
    }
    est = slab_pages_estimate(hdr->end - addr, fixed, page_size);
    if (hdr->stats != addr + slab_stats_offset(nslots) || hdr->pages != addr + fixed
        || hdr->start != addr + slab_data_start(fixed, est, page_size))
    {
        diag_set("slab_nginx_header(): statistics, descriptors or data are not where "
                 "nginx 1.22.1 puts them for %zu-byte pages", page_size);
        return -1;
    }
    if (hdr->last <= hdr->pages || hdr->last > hdr->start
        || (hdr->last - hdr->pages) % sizeof(struct slab_page))
    {
        diag_set("slab_nginx_header(): the last descriptor %#llx is not one",
                 (unsigned long long) hdr->last);
        return -1;
    }
    *size = (size_t) (hdr->end - addr);
    return 0;
}

/* A link of nginx (an address, kind bits if `kinds`) as an offset. */
static uint64_t
slab_nginx_link(uint64_t v, uint64_t addr, uint64_t size, int kinds)
{
    uint64_t kind = kinds ? v & SLAB_KIND_MASK : 0, p = v - kind;

    if (p == 0) {
        return v;                       /* null, or only the kind */
    }
    if (p < addr || p - addr >= size) {
        return SLAB_NGINX_BAD | kind;
    }
    return (p - addr) | kind;
}

/* A field that must point into the zone (or one past it, `end`). */
static uint64_t
slab_nginx_addr(uint64_t v, uint64_t addr, uint64_t size)
{
    if (v < addr || v - addr > size) {
        return SLAB_NGINX_BAD;
    }
    return v - addr;
}

int
slab_nginx_translate(struct slab_pool *pool, size_t size, uint64_t addr, size_t page_size)
{
    struct slab_page *d;
    uint64_t          n, i;
    unsigned          shift;

    for (shift = 0; shift < 64 && ((size_t) 1 << shift) != page_size; shift++) {
        /* log2 of the page size */
    }
    if (!slab_page_shift_ok(shift) || size < sizeof(*pool)) {
        diag_set("slab_nginx_translate(): %zu bytes of %zu-byte pages is no slab zone",
                 size, page_size);
        return -1;
    }
    pool->pages = slab_nginx_addr(pool->pages, addr, size);
    pool->last = slab_nginx_addr(pool->last, addr, size);
    pool->stats = slab_nginx_addr(pool->stats, addr, size);
    pool->start = slab_nginx_addr(pool->start, addr, size);
    pool->end = slab_nginx_addr(pool->end, addr, size);
    pool->log_ctx = slab_nginx_link(pool->log_ctx, addr, size, 0);
    pool->data = slab_nginx_link(pool->data, addr, size, 0);
    pool->free.next = slab_nginx_link(pool->free.next, addr, size, 0);
    pool->free.prev = slab_nginx_link(pool->free.prev, addr, size, 1);
    pool->page_shift = (uint8_t) shift;   /* nginx: padding; its page size */
    memset(pool->pad, 0, sizeof(pool->pad));
    pool->addr = 0;
    /* nginx's lock has pointers and a semaphore here: no slab code reads
     * them in a copy, and none must think them its own offsets. */
    memset(&pool->mutex, 0, sizeof(pool->mutex));

    if (pool->start == SLAB_NGINX_BAD || pool->last == SLAB_NGINX_BAD
        || pool->pages == SLAB_NGINX_BAD || pool->start > size || pool->last > pool->start
        || pool->pages > pool->last || sizeof(*pool) + slab_nslots_for(shift)
                                       * sizeof(struct slab_page) > pool->pages)
    {
        diag_set("slab_nginx_translate(): the header's descriptors or data start are "
                 "outside the zone");
        return -1;
    }
    /* The slot heads and the descriptors: consecutive slab_page records
     * (the statistics between them hold counts, not links). */
    d = slab_slots(pool);
    for (i = 0; i < slab_nslots_for(shift); i++) {
        d[i].next = slab_nginx_link(d[i].next, addr, size, 0);
        d[i].prev = slab_nginx_link(d[i].prev, addr, size, 1);
    }
    d = slab_desc(pool);
    n = (pool->last - pool->pages) / sizeof(struct slab_page);
    for (i = 0; i < n; i++) {
        d[i].next = slab_nginx_link(d[i].next, addr, size, 0);
        d[i].prev = slab_nginx_link(d[i].prev, addr, size, 1);
    }
    return 0;
}

int
slab_nginx_bitmaps(const struct slab_pool *pool, size_t size,
    int (*fn)(void *arg, uint64_t off, uint64_t len), void *arg)
{
    const struct slab_page *d;
    struct slab_geom        g;
    uint64_t                n, i, s, len;

    if (!slab_page_shift_ok(pool->page_shift) || pool->last > size || pool->start > size
        || pool->pages > pool->last)
    {
        diag_set("slab_nginx_bitmaps(): the header is not translated or not a slab's");
        return -1;
    }
    slab_geom_of(pool, &g);
    d = slab_desc(pool);
    n = (pool->last - pool->pages) / sizeof(struct slab_page);
    for (i = 0; i < n && pool->start + (i + 1) * g.page_size <= size; i++) {
        if (slab_kind(&d[i]) != SLAB_SMALL) {
            continue;
        }
        s = d[i].slab & SLAB_SHIFT_MASK;
        if (s < SLAB_MIN_SHIFT || s >= g.exact_shift) {
            continue;                   /* slab_check says what is wrong */
        }
        len = (g.page_size >> s) / 8;   /* one bit per chunk */
        if (fn(arg, pool->start + (i << g.shift), len) != 0) {
            return -1;
        }
    }
    return 0;
}
