/*
 * allocator: what every allocator shares, whatever it is: the caps as words,
 * and the one place a zone is created and formatted for an allocator.
 *
 * The registry that finds an allocator by name is alloc/registry.c, the one
 * file that knows every allocator.
 */
#include "substrate/allocator.h"

#include <stdatomic.h>
#include <string.h>

#include "substrate/diag.h"

struct alloc_params
alloc_params_resolve(const struct alloc_params *p)
{
    struct alloc_params r = { 0 };

    if (p != NULL) {
        r = *p;
    }
    if (r.page_size == 0) {
        r.page_size = zone_os_page();
    }
    if (r.nworkers == 0) {
        r.nworkers = ALLOC_WORKERS_DEFAULT;
    }
    return r;
}

size_t
allocator_zone_size_for_pages(const struct allocator_ops *ops, size_t pages,
    const struct alloc_params *p)
{
    struct alloc_params r = alloc_params_resolve(p);

    return allocator_takes_pages(ops) ? ops->zone_size_for_pages(pages, &r) : 0;
}

size_t
allocator_min_zone_size(const struct allocator_ops *ops, const struct alloc_params *p)
{
    struct alloc_params r = alloc_params_resolve(p);

    return ops->min_zone_size ? ops->min_zone_size(&r) : 0;
}

size_t
allocator_zone_align(const struct allocator_ops *ops, const struct alloc_params *p)
{
    struct alloc_params r = alloc_params_resolve(p);

    return ops->zone_align ? ops->zone_align(&r) : 0;
}

const char *
allocator_caps_string(const struct allocator_ops *ops, char *buf, size_t len)
{
    /* In `list`'s order; a word is a cap bit, or an optional member. */
    const struct {
        int         has;
        const char *name;
    } words[] = {
        { (ops->caps & ALLOC_IN_SHM) != 0, "in-shm" },
        { (ops->caps & ALLOC_IN_SHM) == 0, "private-heap" },
        { (ops->caps & ALLOC_CROSS_PROCESS_FREE) != 0, "cross-free" },
        { (ops->caps & ALLOC_SLOT_STATS) != 0, "slot-stats" },
        { allocator_can_check(ops), "check" },
        { (ops->caps & ALLOC_BAD_FREE_DETECTED) != 0, "bad-free" },
        { allocator_takes_pages(ops), "pages" },
        { (ops->caps & ALLOC_LOCK_COUNTERS) != 0, "lock-counters" },
        { (ops->caps & ALLOC_ATTACH_BY_NAME) != 0, "attach" },
        { (ops->caps & ALLOC_LOCK_FREE_PATHS) != 0, "lock-free" },
    };
    size_t i, used = 0;

    if (len == 0) {
        return buf;
    }
    buf[0] = '\0';
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (words[i].has && used < len) {
            used += (size_t) snprintf(buf + used, len - used, "%s%s",
                                      used ? "," : "", words[i].name);
        }
    }
    return buf;
}

/* What the zone's control block says of its allocator, for `stat` and for
 * any process that attaches the zone by name. */
static void
allocator_stamp(struct zone *z, const struct allocator_ops *ops)
{
    struct alloc_stats st;

    if (z->ctl == NULL) {
        return;
    }
    memset(&st, 0, sizeof(st));
    ops->stats(z, &st);
    memset(z->ctl->allocator, 0, sizeof(z->ctl->allocator));
    snprintf(z->ctl->allocator, sizeof(z->ctl->allocator), "%s", ops->name);
    z->ctl->page_size = st.page_size;
    atomic_store(&z->ctl->formatted, 1);
}

int
allocator_zone_create(struct zone *z, const struct allocator_ops *ops,
    enum zone_method method, size_t size, size_t pages,
    const struct alloc_params *p, const char *name)
{
    struct alloc_params r = alloc_params_resolve(p);
    size_t              min;

    if (pages > 0) {
        if (!allocator_takes_pages(ops)) {
            diag_set("allocator \"%s\" does not take a page count", ops->name);
            return -1;
        }
        size = ops->zone_size_for_pages(pages, &r);
        if (size == 0) {
            diag_set("allocator \"%s\": no zone gives %zu pages of that size",
                     ops->name, pages);
            return -1;
        }
    }
    min = ops->min_zone_size ? ops->min_zone_size(&r) : 0;
    if (size < min) {
        diag_set("zone of %zu bytes is too small for \"%s\": the minimum is %zu bytes",
                 size, ops->name, min);
        return -1;
    }
    if (zone_create(z, method, size, ops->zone_align ? ops->zone_align(&r) : 0, name) != 0) {
        return -1;
    }
    if (ops->init(z, &r) != 0) {
        zone_destroy(z);
        return -1;
    }
    z->ops = ops;
    allocator_stamp(z, ops);
    return 0;
}
