/*
 * allocator: the registry of allocators by name, and zone set-up helpers.
 *
 * Every allocator is one const ops table defined in its own file; this file
 * only lists them.  Optional ones (built only when their library or source
 * was found) are listed under allocator_missing() otherwise, with the reason,
 * so `shmbench list` can say what was left out instead of hiding it.
 */
#include "allocator.h"

#include <string.h>

#include "diag.h"

extern const struct allocator_ops slab_allocator;
#ifdef SHMBENCH_HAVE_NGINX
extern const struct allocator_ops nginx_allocator;
#endif

static const struct allocator_ops *const registry[] = {
    &slab_allocator,
#ifdef SHMBENCH_HAVE_NGINX
    &nginx_allocator,
#endif
};

static const struct allocator_missing missing[] = {
#ifndef SHMBENCH_HAVE_NGINX
    { "nginx", "nginx's source was not given at build time "
               "(scripts/fetch-nginx.sh, then -DSHMBENCH_NGINX_SRC=DIR)" },
#endif
    { NULL, NULL }
};

const struct allocator_ops *const *
allocator_all(size_t *n)
{
    *n = sizeof(registry) / sizeof(registry[0]);
    return registry;
}

const struct allocator_missing *
allocator_missing(size_t *n)
{
    *n = sizeof(missing) / sizeof(missing[0]) - 1;
    return missing;
}

const struct allocator_ops *
allocator_find(const char *name)
{
    size_t i, n, len;
    char   names[256];

    for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
        if (strcmp(registry[i]->name, name) == 0) {
            return registry[i];
        }
    }

    allocator_missing(&n);
    for (i = 0; i < n; i++) {
        if (strcmp(missing[i].name, name) == 0) {
            diag_set("allocator \"%s\" is not built in: %s", name, missing[i].why);
            return NULL;
        }
    }

    names[0] = '\0';
    len = 0;
    for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
        len += (size_t) snprintf(names + len, len < sizeof(names) ? sizeof(names) - len : 0,
                                 "%s%s", i ? ", " : "", registry[i]->name);
    }
    diag_set("unknown allocator \"%s\" (known: %s)", name, names);
    return NULL;
}

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
