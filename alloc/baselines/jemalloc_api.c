/*
 * jemalloc_api: jemalloc's functions, looked up once per process (see
 * jemalloc_api.h).
 */
#include "baselines/jemalloc_api.h"

#include "substrate/dynlib.h"

int    (*je_mallctl)(const char *, void *, size_t *, void *, size_t);
void  *(*je_mallocx)(size_t, int);
void   (*je_dallocx)(void *, int);
size_t (*je_sallocx)(const void *, int);

static const struct dynlib_sym jemalloc_syms[] = {
    { "mallctl", (void **) &je_mallctl },
    { "mallocx", (void **) &je_mallocx },
    { "dallocx", (void **) &je_dallocx },
    { "sallocx", (void **) &je_sallocx },
    { NULL, NULL },
};

static struct dynlib jemalloc_lib = { .soname = "libjemalloc.so.2", .syms = jemalloc_syms };

const char *
jemalloc_api_load(void)
{
    return dynlib_load(&jemalloc_lib);
}
