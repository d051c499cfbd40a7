/*
 * jemalloc_api: the part of jemalloc 5's own API that shmbench calls, loaded
 * at run time, for the two allocators built on it: `jemalloc` (private heap,
 * private.c) and `jemalloc-shm` (arenas over the zone, jemalloc_shm.c).
 *
 * The library is loaded with dlopen(RTLD_LOCAL) (substrate/dynlib.h says
 * why) and called only through these pointers; they are set, once per
 * process, by jemalloc_api_load().  The declarations are jemalloc's ABI,
 * written here so that the build needs no jemalloc header.
 */
#ifndef SHMBENCH_JEMALLOC_API_H
#define SHMBENCH_JEMALLOC_API_H

#include <stddef.h>

/* mallocx() flags, as jemalloc.h defines them. */
#define JE_MALLOCX_ARENA(a)    ((((int) (a)) + 1) << 20)
#define JE_MALLOCX_TCACHE_NONE (((-1) + 2) << 8)

extern int    (*je_mallctl)(const char *, void *, size_t *, void *, size_t);
extern void  *(*je_mallocx)(size_t, int);
extern void   (*je_dallocx)(void *, int);
extern size_t (*je_sallocx)(const void *, int);

/* Load libjemalloc.so.2 and every pointer above, on the first call; NULL if
 * they are all there, else why not (the same answer on every later call). */
const char *jemalloc_api_load(void);

#endif
