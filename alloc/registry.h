/*
 * registry: the allocators of this build by name (alloc/registry.c).
 *
 * The CLI and the tests find allocators here; no allocator calls it, so an
 * allocator's own test can be linked without the registry (and without the
 * other allocators).
 */
#ifndef SHMBENCH_REGISTRY_H
#define SHMBENCH_REGISTRY_H

#include <stddef.h>

#include "substrate/allocator.h"

/*
 * Every allocator's ops table, each defined in its own file.  Declaring one
 * here links nothing: a test may name the table of the one allocator it is
 * built with (lfslab's hook builds use lfslab_allocator without the registry).
 */
extern const struct allocator_ops slab_allocator;
extern const struct allocator_ops nginx_allocator;
extern const struct allocator_ops freelist_allocator;
extern const struct allocator_ops tlsf_allocator;
extern const struct allocator_ops boost_rbtree_allocator;
extern const struct allocator_ops boost_seqfit_allocator;
extern const struct allocator_ops lfslab_allocator;
extern const struct allocator_ops jemalloc_shm_allocator;
extern const struct allocator_ops mimalloc_shm_allocator;
extern const struct allocator_ops glibc_allocator;
extern const struct allocator_ops jemalloc_allocator;
extern const struct allocator_ops mimalloc_allocator;

/* The registered allocators that are usable here, in `list` order; *n gets
 * the count. */
const struct allocator_ops *const *allocator_all(size_t *n);

/* Allocators known to the project but not built in or not usable here,
 * with the reason. */
struct allocator_missing {
    const char *name;
    const char *why;
};
const struct allocator_missing *allocator_missing(size_t *n);

/* Find by name; NULL (and a diag message listing the names) if unknown. */
const struct allocator_ops *allocator_find(const char *name);

#endif
