/*
 * mimalloc_api: the part of mimalloc 2.0's API that shmbench calls, loaded
 * at run time, for the two allocators built on it: `mimalloc` (private
 * heap, private.c) and `mimalloc-shm` (heaps in arenas over the zone,
 * mimalloc_shm.c).
 *
 * As with jemalloc (jemalloc_api.h), the library is loaded with
 * dlopen(RTLD_LOCAL) and called only through these pointers, set once per
 * process by mimalloc_api_load().  The types and declarations are
 * mimalloc's ABI, written here so that the build needs no mimalloc header.
 */
#ifndef SHMBENCH_MIMALLOC_API_H
#define SHMBENCH_MIMALLOC_API_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mi_heap_s mi_heap_t;

struct mi_heap_area {
    void  *blocks;
    size_t reserved, committed, used, block_size, full_block_size;
};

typedef bool (mi_visit_fn)(const mi_heap_t *, const struct mi_heap_area *, void *, size_t,
                           void *);

extern void      *(*mi_malloc)(size_t);
extern void       (*mi_free)(void *);
extern size_t     (*mi_usable_size)(const void *);
extern void       (*mi_process_info)(size_t *, size_t *, size_t *, size_t *, size_t *,
                                     size_t *, size_t *, size_t *);
extern bool       (*mi_manage_os_memory_ex)(void *, size_t, bool, bool, bool, int, bool,
                                            int *);
extern mi_heap_t *(*mi_heap_new_in_arena)(int);
extern void      *(*mi_heap_malloc)(mi_heap_t *, size_t);
extern void       (*mi_heap_destroy)(mi_heap_t *);
extern bool       (*mi_heap_visit_blocks)(const mi_heap_t *, bool, mi_visit_fn *, void *);
extern int        (*mi_version)(void);

/* Load libmimalloc.so.2 and every pointer above, on the first call; NULL if
 * they are all there, else why not (the same answer on every later call). */
const char *mimalloc_api_load(void);

#endif
