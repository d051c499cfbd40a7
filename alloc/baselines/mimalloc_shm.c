/*
 * mimalloc_shm: mimalloc 2.0 over the zone, one heap per worker process in
 * an arena made of its slice (`mimalloc-shm`).
 *
 * The zone is cut into nworkers slices of whole 32 MiB blocks.  Slice i
 * belongs to the process with proc_index() i.  After fork, at its first
 * allocation (attach only checks that it can), a worker hands its slice to
 * mimalloc as an exclusive arena with mi_manage_os_memory_ex(...,
 * exclusive = true, &id).  It then makes a heap that allocates only there,
 * with mi_heap_new_in_arena(id).
 *
 * What mimalloc 2.0.9 accepts (Debian's build, tested):
 * - An arena is made of 32 MiB blocks (mimalloc's segment size).
 *   mi_manage_os_memory_ex refuses an area under 32 MiB.  It accepts a
 *   start that is not aligned to 32 MiB, but then the heap never gets a
 *   single block (every allocation fails).  A 40 MiB area holds one block.
 *   So the zone is aligned to 32 MiB, each slice is a whole number of
 *   32 MiB blocks, and the minimum is 32 MiB per worker.
 * - The heap takes blocks only from its arena.  When the arena is full,
 *   mi_heap_malloc returns NULL; it neither falls back to the OS nor prints.
 *   The default heap never takes blocks from an exclusive arena.
 * - A process can register 64 arenas in its life, and none can be removed.
 *   mishm_arenas remembers ours (process-private).  When a zone is finished
 *   (fini) and a new zone later puts a slice at the same address with the
 *   same size, which mmap usually does, its arena is reused.  When all 64
 *   are taken, mimalloc-shm refuses with a message.
 * - The slice is handed over as committed, not large, and not known to be
 *   zero: a slice may have served an earlier process (a respawned worker),
 *   so mimalloc zeroes what it needs.  Memory given as committed is "pinned".
 *   mimalloc never decommits or resets it, so the shared mapping stays in
 *   place.
 * - Segment and page headers are at the start of each 32 MiB block, in the
 *   zone.  The heap, the thread data and the arena table are
 *   process-private.
 *
 * Per process only, so no cross-process free.  The arena's block bitmap,
 * the heap and its page queues are process-private, and mi_free from
 * another process would look like a local free to mimalloc (the thread id
 * is a TLS address, the same in every forked process): it would race with
 * the owner on the page's free list.  A free outside this process's slice
 * is refused.  Other bad frees are not detected.  A heap belongs to one
 * thread.
 *
 * The slice count is only known to init, so z->priv carries it from the
 * master to the workers through fork, with this process's heap beside it.
 * If a child with the same index finds its parent's heap there, the parent
 * allocated in that slice before fork.  Two processes cannot share an
 * arena, so the child refuses.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "baselines/mimalloc_api.h"

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/proc.h"

#define MISHM_BLOCK      ((size_t) 32 << 20)    /* mimalloc's arena block */
#define MISHM_MAX_ARENAS 64                     /* mimalloc 2.0.9's MI_MAX_ARENAS */

/* An arena this process registered with mimalloc (process-private). */
struct mishm_arena {
    void  *start;
    size_t size;
    int    id;
    int    busy;                 /* a live heap allocates in it */
};

static struct mishm_arena mishm_arenas[MISHM_MAX_ARENAS];
static int                mishm_narenas;

/* A zone's state in one process (z->priv, inherited through fork). */
struct mishm_zone {
    unsigned            nworkers;
    size_t              slice_size;
    /* the heap over slice `index`, made by process pid (0: none yet) */
    pid_t               pid;
    int                 index;
    mi_heap_t          *heap;
    struct mishm_arena *arena;
    unsigned char      *lo, *hi;
    uint64_t            fails;
};

/* mimalloc loads, and is a 2.x (the arena and heap-in-arena API). */
static const char *
mishm_unavailable(void)
{
    static char why[128];
    const char *err = mimalloc_api_load();
    int         v;

    if (err) {
        return err;
    }
    v = mi_version();
    if (v < 200 || v >= 300) {
        snprintf(why, sizeof(why), "mimalloc-shm needs mimalloc 2.x (exclusive arenas, "
                 "32 MiB blocks); libmimalloc.so.2 is version %d", v);
        return why;
    }
    return NULL;
}

/* The arena over [start, start + size): one we registered and no live heap
 * uses, or a new one.  NULL (diag) when mimalloc refuses. */
static struct mishm_arena *
mishm_arena_get(void *start, size_t size)
{
    struct mishm_arena *a;
    int                 i, id;

    for (i = 0; i < mishm_narenas; i++) {
        a = &mishm_arenas[i];
        if (!a->busy && a->start == start && a->size == size) {
            a->busy = 1;
            return a;
        }
    }
    if (mishm_narenas == MISHM_MAX_ARENAS
        || !mi_manage_os_memory_ex(start, size, true, false, false, -1, true, &id))
    {
        diag_set("mimalloc-shm: mimalloc refused %p (%zu bytes) as an arena; this "
                 "process has registered %d arenas and mimalloc 2.0 keeps at most %d, "
                 "none removable", start, size, mishm_narenas, MISHM_MAX_ARENAS);
        return NULL;
    }
    a = &mishm_arenas[mishm_narenas++];
    a->start = start;
    a->size = size;
    a->id = id;
    a->busy = 1;
    return a;
}

/* This process's slice index, if the zone is ours, the index has a slice
 * that no ancestor's heap uses and mimalloc loads; -1 (diag) if not. */
static int
mishm_slice_index(struct zone *z)
{
    struct mishm_zone *m = z->priv;
    const char        *why;
    int                idx = proc_index();

    if (m == NULL) {
        diag_set("mimalloc-shm: the zone was not formatted by mimalloc-shm's init in "
                 "this process or its parent");
        return -1;
    }
    if (idx < 0 || (unsigned) idx >= m->nworkers) {
        diag_set("mimalloc-shm: process index %d has no slice: the zone is cut for %u "
                 "workers (proc_set_index 0..%u)", idx, m->nworkers, m->nworkers - 1);
        return -1;
    }
    if (m->pid != 0 && m->pid != proc_pid() && m->index == idx) {
        diag_set("mimalloc-shm: slice %d is in use by process %d, which allocated in "
                 "this zone before fork; mimalloc's arena is process-private, so two "
                 "processes cannot share a slice", idx, (int) m->pid);
        return -1;
    }
    if ((why = mishm_unavailable()) != NULL) {
        diag_set("mimalloc-shm: %s", why);
        return -1;
    }
    return idx;
}

/* Make this process's heap over slice idx. */
static int
mishm_open(struct zone *z, struct mishm_zone *m, int idx)
{
    m->lo = z->base + (size_t) idx * m->slice_size;
    m->hi = m->lo + m->slice_size;
    m->arena = mishm_arena_get(m->lo, m->slice_size);
    if (m->arena == NULL) {
        return -1;
    }
    m->heap = mi_heap_new_in_arena(m->arena->id);
    if (m->heap == NULL) {
        m->arena->busy = 0;
        diag_set("mimalloc-shm: mi_heap_new_in_arena(%d) failed", m->arena->id);
        return -1;
    }
    m->index = idx;
    m->fails = 0;
    m->pid = proc_pid();
    return 0;
}

/* This process's state, its heap made if need be; NULL (diag) if none. */
static struct mishm_zone *
mishm_mine(struct zone *z)
{
    struct mishm_zone *m = z->priv;
    int                idx;

    if (m && m->pid == proc_pid()) {
        return m;
    }
    idx = mishm_slice_index(z);
    return idx >= 0 && mishm_open(z, m, idx) == 0 ? m : NULL;
}

static size_t
mishm_min_zone_size(const struct alloc_params *p)
{
    return p->nworkers * MISHM_BLOCK;
}

static size_t
mishm_zone_align(const struct alloc_params *p)
{
    (void) p;
    return MISHM_BLOCK;
}

static int
mishm_init(struct zone *z, const struct alloc_params *p)
{
    struct mishm_zone *m;
    unsigned           n = p->nworkers;

    if (n > PROC_MAX - 1) {
        diag_set("mimalloc-shm: %u workers: at most %d (one slice per process index)", n,
                 PROC_MAX - 1);
        return -1;
    }
    if ((uintptr_t) z->base % MISHM_BLOCK != 0) {
        diag_set("mimalloc-shm: the zone's base %p is not aligned to 32 MiB (mimalloc "
                 "never allocates from a misaligned arena)", (void *) z->base);
        return -1;
    }
    if (z->size / n < MISHM_BLOCK) {
        diag_set("mimalloc-shm: a zone of %zu bytes is too small for %u workers: "
                 "mimalloc 2.0 needs at least 32 MiB (one arena block, 32 MiB aligned) "
                 "per worker, so the zone needs %zu", z->size, n, n * MISHM_BLOCK);
        return -1;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        diag_set("mimalloc-shm: out of memory");
        return -1;
    }
    m->nworkers = n;
    m->slice_size = z->size / n / MISHM_BLOCK * MISHM_BLOCK;
    z->priv = m;
    return 0;
}

/* Only checks: the heap is made at the first allocation, so that a master
 * that attaches but never allocates leaves slice 0 to worker 0. */
static int
mishm_attach(struct zone *z)
{
    struct mishm_zone *m = z->priv;

    return (m && m->pid == proc_pid()) || mishm_slice_index(z) >= 0 ? 0 : -1;
}

/* mimalloc's bins below 64 bytes are 8 bytes apart: blocks of 24, 40 or 56
 * bytes are only 8-aligned.  A request over 8 bytes, rounded up to a
 * multiple of 16, gets a block aligned to 16, as from malloc. */
static size_t
mishm_round(size_t size)
{
    return size <= 8 || size + 15 < size ? size : (size + 15) & ~(size_t) 15;
}

static void *
mishm_alloc(struct zone *z, size_t size)
{
    struct mishm_zone *m = mishm_mine(z);
    void              *b;

    if (m == NULL) {
        return NULL;
    }
    b = mi_heap_malloc(m->heap, mishm_round(size));
    if (b == NULL) {
        m->fails++;
    }
    return b;
}

static int
mishm_free(struct zone *z, void *b)
{
    struct mishm_zone *m = z->priv;

    if (m == NULL || m->pid != proc_pid() || (unsigned char *) b < m->lo
        || (unsigned char *) b >= m->hi)
    {
        diag_set("mimalloc-shm: free(%p) refused: not in this process's slice (process "
                 "index %d); mimalloc frees only blocks of its own heap, in the process "
                 "that allocated them", b, proc_index());
        return -1;
    }
    mi_free(b);
    return 0;
}

static size_t
mishm_usable_size(struct zone *z, void *b)
{
    struct mishm_zone *m = z->priv;

    if (m == NULL || m->pid != proc_pid() || (unsigned char *) b < m->lo
        || (unsigned char *) b >= m->hi)
    {
        return 0;
    }
    return mi_usable_size(b);
}

/* Adds up the bytes of every page of the heap (an area is one page). */
static bool
mishm_count_area(const mi_heap_t *heap, const struct mi_heap_area *area, void *block,
    size_t size, void *arg)
{
    (void) heap, (void) block, (void) size;
    *(uint64_t *) arg += area->reserved;
    return true;
}

/*
 * This process's slice only: the other slices are known only to their
 * processes.  footprint is the bytes of the pages mimalloc has set up for
 * blocks in this process's heap, found by visiting them (so O(pages));
 * exact for the zone when this process is its only worker (nworkers 1, as
 * in `replay`), else only this slice's part.  The segment and page headers
 * inside each 32 MiB block are mimalloc's, counted in neither figure;
 * header_bytes is the tail of the zone no slice covers.  largest_free is
 * unknown (0).  fails are this process's.
 */
static void
mishm_stats(struct zone *z, struct alloc_stats *out)
{
    struct mishm_zone *m = z->priv;
    uint64_t           pages = 0;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    if (m == NULL) {
        return;
    }
    out->data_bytes = (uint64_t) m->nworkers * m->slice_size;
    out->header_bytes = z->size - out->data_bytes;
    if (m->pid == 0 && m->nworkers == 1) {
        out->exact = ALLOC_EXACT_FOOTPRINT;     /* no heap yet: nothing set up */
    }
    if (m->pid == proc_pid()) {
        mi_heap_visit_blocks(m->heap, false, mishm_count_area, &pages);
        out->footprint = pages;
        out->exact = m->nworkers == 1 ? ALLOC_EXACT_FOOTPRINT : 0;
        out->free_bytes = m->slice_size - pages;
        out->fails = m->fails;
    }
}

/* Free every block of this process's heap and give its arena back to the
 * process's list for a later zone at the same address. */
static void
mishm_fini(struct zone *z)
{
    struct mishm_zone *m = z->priv;

    if (m == NULL) {
        return;
    }
    if (m->pid == proc_pid()) {
        mi_heap_destroy(m->heap);
        m->arena->busy = 0;
    }
    free(m);
    z->priv = NULL;
}

const struct allocator_ops mimalloc_shm_allocator = {
    .name = "mimalloc-shm",
    .summary = "mimalloc 2.0, one heap per worker in an exclusive arena over its slice "
               "of the zone (32 MiB blocks, 32 MiB per worker at least); per process: "
               "heap and arena bitmap are process-private, no cross-process free; bad "
               "frees other than outside the slice undetected",
    .caps = ALLOC_IN_SHM,
    .unavailable = mishm_unavailable,
    .min_zone_size = mishm_min_zone_size,
    .zone_align = mishm_zone_align,
    .init = mishm_init,
    .attach = mishm_attach,
    .alloc = mishm_alloc,
    .free = mishm_free,
    .usable_size = mishm_usable_size,
    .stats = mishm_stats,
    .check = NULL,
    .fini = mishm_fini,
};
