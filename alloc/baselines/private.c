/*
 * private: the private-heap references `glibc`, `jemalloc` and `mimalloc`.
 *
 * These are the speed ceilings: each worker allocates from its own heap in
 * process memory, not in shared memory.  The zone is ignored (init and
 * attach succeed on any zone), and no process can free another's blocks.
 * glibc is the harness's own malloc.  jemalloc (mallocx/dallocx with the
 * thread cache on, i.e. flags 0) and mimalloc (mi_malloc/mi_free) are
 * loaded at run time with dynlib, so that their exported malloc never
 * replaces glibc's in the harness.
 *
 * A private heap cannot refuse a bad free: glibc aborts on the ones it
 * notices, jemalloc and mimalloc may abort or corrupt their heap.  So free
 * always returns 0 and the caps do not claim bad-free detection.
 * stats gives the fails and, as the footprint, what the heap holds from the
 * OS in this whole process: the harness's own allocations (the trace, the
 * block table) are in it too, and a heap keeps memory it no longer uses, so
 * it is not exact for the blocks measured (no ALLOC_EXACT_FOOTPRINT), and
 * there is no header (the zone is not used).
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/jemalloc_api.h"
#include "baselines/mimalloc_api.h"

#include "substrate/allocator.h"
#include "substrate/diag.h"

#define PRIVATE_SUMMARY "private heap: speed ceiling, not in shared memory; bad frees " \
                        "undetected"

/* In a build with AddressSanitizer, malloc is ASan's, which aborts on a
 * request over its maximum (1 TiB) instead of returning NULL, unless
 * ASAN_OPTIONS says allocator_may_return_null=1.  glibc fails such a
 * request, and so does the `glibc` allocator here. */
#if defined(__SANITIZE_ADDRESS__)
#define PRIVATE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRIVATE_ASAN 1
#endif
#endif
#ifdef PRIVATE_ASAN
#define PRIVATE_GLIBC_MAX ((size_t) 1 << 40)
#else
#define PRIVATE_GLIBC_MAX SIZE_MAX
#endif

/* Failed allocations since init or attach, per allocator, in this process. */
static uint64_t private_glibc_fails, private_je_fails, private_mi_fails;

/* glibc: the harness's malloc. */

static int
private_glibc_init(struct zone *z, const struct alloc_params *p)
{
    (void) z, (void) p;
    private_glibc_fails = 0;
    return 0;
}

static int
private_glibc_attach(struct zone *z)
{
    return private_glibc_init(z, NULL);
}

static void *
private_glibc_alloc(struct zone *z, size_t size)
{
    void *b = size <= PRIVATE_GLIBC_MAX ? malloc(size) : NULL;

    (void) z;
    if (b == NULL) {
        private_glibc_fails++;
    }
    return b;
}

static int
private_glibc_free(struct zone *z, void *b)
{
    (void) z;
    free(b);
    return 0;
}

static size_t
private_glibc_usable_size(struct zone *z, void *b)
{
    (void) z;
    return malloc_usable_size(b);
}

static void
private_glibc_stats(struct zone *z, struct alloc_stats *out)
{
    struct mallinfo2 mi = mallinfo2();

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    out->footprint = mi.arena + mi.hblkhd;      /* sbrk heap + mmapped chunks */
    out->fails = private_glibc_fails;
}

/* jemalloc, through jemalloc_api.h. */

static const char *
private_je_unavailable(void)
{
    return jemalloc_api_load();
}

static int
private_je_init(struct zone *z, const struct alloc_params *p)
{
    const char *why = private_je_unavailable();

    (void) z, (void) p;
    if (why) {
        diag_set("jemalloc: %s", why);
        return -1;
    }
    private_je_fails = 0;
    return 0;
}

static int
private_je_attach(struct zone *z)
{
    return private_je_init(z, NULL);
}

static void *
private_je_alloc(struct zone *z, size_t size)
{
    void *b = je_mallocx(size ? size : 1, 0);      /* mallocx(0) is undefined */

    (void) z;
    if (b == NULL) {
        private_je_fails++;
    }
    return b;
}

static int
private_je_free(struct zone *z, void *b)
{
    (void) z;
    if (b) {
        je_dallocx(b, 0);
    }
    return 0;
}

static size_t
private_je_usable_size(struct zone *z, void *b)
{
    (void) z;
    return b ? je_sallocx(b, 0) : 0;
}

static void
private_je_stats(struct zone *z, struct alloc_stats *out)
{
    uint64_t epoch = 1;
    size_t   mapped = 0, len = sizeof(epoch);

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    je_mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
    len = sizeof(mapped);
    if (je_mallctl("stats.mapped", &mapped, &len, NULL, 0) == 0) {
        out->footprint = mapped;
    }
    out->fails = private_je_fails;
}

/* mimalloc, through mimalloc_api.h. */

static const char *
private_mi_unavailable(void)
{
    return mimalloc_api_load();
}

static int
private_mi_init(struct zone *z, const struct alloc_params *p)
{
    const char *why = private_mi_unavailable();

    (void) z, (void) p;
    if (why) {
        diag_set("mimalloc: %s", why);
        return -1;
    }
    private_mi_fails = 0;
    return 0;
}

static int
private_mi_attach(struct zone *z)
{
    return private_mi_init(z, NULL);
}

/* mimalloc's bins below 64 bytes are 8 bytes apart: blocks of 24, 40 or 56
 * bytes are only 8-aligned.  A request over 8 bytes, rounded up to a
 * multiple of 16, gets a block aligned to 16, as from malloc. */
static size_t
private_mi_round(size_t size)
{
    return size <= 8 || size + 15 < size ? size : (size + 15) & ~(size_t) 15;
}

static void *
private_mi_alloc(struct zone *z, size_t size)
{
    void *b = mi_malloc(private_mi_round(size));

    (void) z;
    if (b == NULL) {
        private_mi_fails++;
    }
    return b;
}

static int
private_mi_free(struct zone *z, void *b)
{
    (void) z;
    mi_free(b);
    return 0;
}

static size_t
private_mi_usable_size(struct zone *z, void *b)
{
    (void) z;
    return mi_usable_size(b);
}

static void
private_mi_stats(struct zone *z, struct alloc_stats *out)
{
    size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    out->footprint = commit;
    out->fails = private_mi_fails;
}

const struct allocator_ops glibc_allocator = {
    .name = "glibc",
    .summary = "glibc malloc/free, " PRIVATE_SUMMARY,
    .caps = 0,               /* a private heap: not ALLOC_IN_SHM */
    .init = private_glibc_init,
    .attach = private_glibc_attach,
    .alloc = private_glibc_alloc,
    .free = private_glibc_free,
    .usable_size = private_glibc_usable_size,
    .stats = private_glibc_stats,
};

const struct allocator_ops jemalloc_allocator = {
    .name = "jemalloc",
    .summary = "jemalloc 5.3 mallocx/dallocx with the thread cache, " PRIVATE_SUMMARY,
    .caps = 0,               /* a private heap: not ALLOC_IN_SHM */
    .unavailable = private_je_unavailable,
    .init = private_je_init,
    .attach = private_je_attach,
    .alloc = private_je_alloc,
    .free = private_je_free,
    .usable_size = private_je_usable_size,
    .stats = private_je_stats,
};

const struct allocator_ops mimalloc_allocator = {
    .name = "mimalloc",
    .summary = "mimalloc 2.0 mi_malloc/mi_free, " PRIVATE_SUMMARY,
    .caps = 0,               /* a private heap: not ALLOC_IN_SHM */
    .unavailable = private_mi_unavailable,
    .init = private_mi_init,
    .attach = private_mi_attach,
    .alloc = private_mi_alloc,
    .free = private_mi_free,
    .usable_size = private_mi_usable_size,
    .stats = private_mi_stats,
};
