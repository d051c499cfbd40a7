/*
 * allocator: what every allocator shares, whatever it is: the caps as words,
 * and the one place a zone is created and formatted for an allocator.
 *
 * The registry that finds an allocator by name is alloc/registry.c, the one
 * file that knows every allocator.
 */
#include "substrate/allocator.h"

#include <string.h>

#include "substrate/diag.h"

const char *
allocator_caps_string(unsigned caps, char *buf, size_t len)
{
    static const struct { unsigned bit; const char *name; } words[] = {
        { ALLOC_IN_SHM, "in-shm" },
        { ALLOC_PRIVATE_HEAP, "private-heap" },
        { ALLOC_CROSS_PROCESS_FREE, "cross-free" },
        { ALLOC_SLOT_STATS, "slot-stats" },
        { ALLOC_CAN_CHECK, "check" },
        { ALLOC_BAD_FREE_DETECTED, "bad-free" },
        { ALLOC_PAGES, "pages" },
        { ALLOC_LOCK_COUNTERS, "lock-counters" },
        { ALLOC_ATTACH_BY_NAME, "attach" },
    };
    size_t i, used = 0;

    if (len == 0) {
        return buf;
    }
    buf[0] = '\0';
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if ((caps & words[i].bit) && used < len) {
            used += (size_t) snprintf(buf + used, len - used, "%s%s",
                                      used ? "," : "", words[i].name);
        }
    }
    return buf;
}

int
allocator_zone_create(struct zone *z, const struct allocator_ops *ops,
    enum zone_method method, size_t size, size_t pages,
    const struct alloc_params *p, const char *name)
{
    static const struct alloc_params none;
    size_t align, min;

    if (p == NULL) {
        p = &none;
    }
    if (pages > 0) {
        if (ops->zone_size_for_pages == NULL) {
            diag_set("allocator \"%s\" does not take a page count", ops->name);
            return -1;
        }
        size = ops->zone_size_for_pages(pages, p);
        if (size == 0) {
            diag_set("allocator \"%s\": no zone gives %zu pages of that size",
                     ops->name, pages);
            return -1;
        }
    }
    min = ops->min_zone_size ? ops->min_zone_size(p) : 0;
    if (size < min) {
        diag_set("zone of %zu bytes is too small for \"%s\": the minimum is %zu bytes",
                 size, ops->name, min);
        return -1;
    }
    align = ops->zone_align ? ops->zone_align(p) : 0;
    if (zone_create(z, method, size, align, name) != 0) {
        return -1;
    }
    if (ops->init(z, p) != 0) {
        zone_destroy(z);
        return -1;
    }
    z->ops = ops;
    return 0;
}
