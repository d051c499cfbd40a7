/*
 * registry: every allocator of the project by name, the one file that knows
 * them all (alloc/README.md: it sits above the substrate, the subject and
 * the baselines, and nothing below it calls it).
 *
 * Every allocator is one const ops table defined in its own file; this file
 * only lists them.  Some are optional: built only when their library or
 * source was found at build time (SHMBENCH_HAVE_*), or usable only when
 * their shared library loads at run time (ops->unavailable).  Those left
 * out are listed by allocator_missing() with the reason, so `shmbench list`
 * says what is missing instead of hiding it.
 */
#include "registry.h"

#include <stdio.h>
#include <string.h>

#include "substrate/diag.h"

struct entry {
    const char                 *name;
    const struct allocator_ops *ops;   /* NULL: not built */
    const char                 *why;   /* ... and why */
};

static const struct entry known[] = {
    { "slab", &slab_allocator, NULL },
#ifdef SHMBENCH_HAVE_NGINX
    { "nginx", &nginx_allocator, NULL },
#else
    { "nginx", NULL, "nginx's source was not given at build time "
                     "(scripts/fetch-nginx.sh, then -DSHMBENCH_NGINX_SRC=DIR)" },
#endif
    { "freelist", &freelist_allocator, NULL },
    { "tlsf", &tlsf_allocator, NULL },
#ifdef SHMBENCH_HAVE_BOOST
    { "boost-rbtree", &boost_rbtree_allocator, NULL },
    { "boost-seqfit", &boost_seqfit_allocator, NULL },
#else
    { "boost-rbtree", NULL, "Boost.Interprocess headers were not found at build time "
                            "(Debian: libboost-dev)" },
    { "boost-seqfit", NULL, "Boost.Interprocess headers were not found at build time "
                            "(Debian: libboost-dev)" },
#endif
    { "lfslab", &lfslab_allocator, NULL },
    { "jemalloc-shm", &jemalloc_shm_allocator, NULL },
    { "mimalloc-shm", &mimalloc_shm_allocator, NULL },
    { "glibc", &glibc_allocator, NULL },
    { "jemalloc", &jemalloc_allocator, NULL },
    { "mimalloc", &mimalloc_allocator, NULL },
};

#define NKNOWN (sizeof(known) / sizeof(known[0]))

static const struct allocator_ops *usable[NKNOWN];
static struct allocator_missing    left_out[NKNOWN + 1];
static size_t                      nusable, nleft_out;

/* Sort the known allocators into usable and left out, once per process. */
static void
allocator_sort(void)
{
    static int  done;
    const char *why;
    size_t      i;

    if (done) {
        return;
    }
    done = 1;
    for (i = 0; i < NKNOWN; i++) {
        why = known[i].ops == NULL ? known[i].why
              : known[i].ops->unavailable ? known[i].ops->unavailable() : NULL;
        if (why == NULL) {
            usable[nusable++] = known[i].ops;
        } else {
            left_out[nleft_out].name = known[i].name;
            left_out[nleft_out++].why = why;
        }
    }
}

const struct allocator_ops *const *
allocator_all(size_t *n)
{
    allocator_sort();
    *n = nusable;
    return usable;
}

const struct allocator_missing *
allocator_missing(size_t *n)
{
    allocator_sort();
    *n = nleft_out;
    return left_out;
}

const struct allocator_ops *
allocator_find(const char *name)
{
    size_t i, len;
    char   names[512];

    allocator_sort();
    for (i = 0; i < nusable; i++) {
        if (strcmp(usable[i]->name, name) == 0) {
            return usable[i];
        }
    }
    for (i = 0; i < nleft_out; i++) {
        if (strcmp(left_out[i].name, name) == 0) {
            diag_set("allocator \"%s\" is not available: %s", name, left_out[i].why);
            return NULL;
        }
    }

    names[0] = '\0';
    len = 0;
    for (i = 0; i < nusable && len < sizeof(names); i++) {
        len += (size_t) snprintf(names + len, sizeof(names) - len, "%s%s",
                                 i ? ", " : "", usable[i]->name);
    }
    diag_set("unknown allocator \"%s\" (known: %s)", name, names);
    return NULL;
}

