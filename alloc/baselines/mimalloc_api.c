/*
 * mimalloc_api: mimalloc's functions, looked up once per process (see
 * mimalloc_api.h).
 */
#include "baselines/mimalloc_api.h"

#include "substrate/dynlib.h"

void      *(*mi_malloc)(size_t);
void       (*mi_free)(void *);
size_t     (*mi_usable_size)(const void *);
void       (*mi_process_info)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *,
                              size_t *, size_t *);
bool       (*mi_manage_os_memory_ex)(void *, size_t, bool, bool, bool, int, bool, int *);
mi_heap_t *(*mi_heap_new_in_arena)(int);
void      *(*mi_heap_malloc)(mi_heap_t *, size_t);
void       (*mi_heap_destroy)(mi_heap_t *);
bool       (*mi_heap_visit_blocks)(const mi_heap_t *, bool, mi_visit_fn *, void *);
int        (*mi_version)(void);

static const struct dynlib_sym mimalloc_syms[] = {
    { "mi_malloc", (void **) &mi_malloc },
    { "mi_free", (void **) &mi_free },
    { "mi_usable_size", (void **) &mi_usable_size },
    { "mi_process_info", (void **) &mi_process_info },
    { "mi_manage_os_memory_ex", (void **) &mi_manage_os_memory_ex },
    { "mi_heap_new_in_arena", (void **) &mi_heap_new_in_arena },
    { "mi_heap_malloc", (void **) &mi_heap_malloc },
    { "mi_heap_destroy", (void **) &mi_heap_destroy },
    { "mi_heap_visit_blocks", (void **) &mi_heap_visit_blocks },
    { "mi_version", (void **) &mi_version },
    { NULL, NULL },
};

static struct dynlib mimalloc_lib = { .soname = "libmimalloc.so.2", .syms = mimalloc_syms };

const char *
mimalloc_api_load(void)
{
    return dynlib_load(&mimalloc_lib);
}
