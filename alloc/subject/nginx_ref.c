/*
 * nginx_ref: the `nginx` reference allocator — nginx 1.22.1's own
 * src/core/ngx_slab.c and src/core/ngx_shmtx.c, compiled unchanged from
 * Debian's source package (scripts/fetch-nginx.sh, cmake/nginx_ref.cmake),
 * behind the ops table.  It is the oracle that `slab` must match offset for
 * offset, and the speed reference that `slab`'s counters are measured
 * against.
 *
 * The glue does what nginx's core does around the slab: it sets the
 * process globals (ngx_pagesize and its shift, ngx_ncpu, ngx_pid), lays the
 * pool at the start of the zone as ngx_init_zone_pool() does, and turns
 * nginx's log calls (nginx_shim/ngx_core.h) into diag messages: a free that
 * nginx refuses logs an alert, which makes free() return -1.  Nothing is
 * ever printed.
 *
 * Unlike nginx, which fixes the page size once per process, the page size
 * here is per zone (read back from the pool's layout): before each call the glue
 * makes nginx's page-size globals match the zone, resetting the slab's
 * constants when they change, so zones of 4, 16 and 64 KiB pages work in
 * one process (one at a time per call; processes are single-threaded).
 *
 * The pool holds raw pointers, as in nginx: every process must map the zone
 * at the same address (fork), so it cannot be attached by name.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <ngx_config.h>
#include <ngx_core.h>

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/proc.h"
#include "substrate/zone.h"

#define NGINX_REF_PAGE_MIN  4096
#define NGINX_REF_PAGE_MAX  65536

/* Defined in the generated wrapper around ngx_slab.c (nginx_ref.cmake). */
void ngx_ref_slab_sizes_reset(void);

/* nginx's process globals (src/os/unix/ngx_posix_init.c, ngx_process.c,
 * ngx_cycle.c). */
static ngx_log_t       ngx_ref_log = { NGX_LOG_NOTICE };
static ngx_cycle_t     ngx_ref_cycle = { &ngx_ref_log };
volatile ngx_cycle_t  *ngx_cycle = &ngx_ref_cycle;
ngx_pid_t              ngx_pid;
ngx_int_t              ngx_ncpu;
ngx_uint_t             ngx_pagesize;
ngx_uint_t             ngx_pagesize_shift;

/* Messages nginx logged in this process, by kind. */
static unsigned long   ngx_ref_alerts;  /* alert or worse: refused frees, sem errors */
static unsigned long   ngx_ref_nomem;   /* crit "no memory" */

#if (NGX_PTR_SIZE == 8)
#define NGX_REF_PAGE_START  0x8000000000000000
#define NGX_REF_PAGE_BUSY   0xffffffffffffffff
#else
#define NGX_REF_PAGE_START  0x80000000
#define NGX_REF_PAGE_BUSY   0xffffffff
#endif

#if (NGX_PTR_SIZE == 8) && defined(__x86_64__) && defined(__linux__)
/* docs/nginx-slab.md §2.2: the pool header of x86-64 Linux. */
_Static_assert(sizeof(ngx_slab_pool_t) == 200, "ngx_slab_pool_t is not 200 bytes");
_Static_assert(sizeof(ngx_slab_page_t) == 24, "ngx_slab_page_t is not 24 bytes");
_Static_assert(sizeof(ngx_slab_stat_t) == 32, "ngx_slab_stat_t is not 32 bytes");
#endif

void
ngx_ref_log_error(ngx_uint_t level, ngx_err_t err, const char *fmt, ...)
{
    char     msg[256];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (level <= NGX_LOG_ALERT) {
        ngx_ref_alerts++;
    } else if (level == NGX_LOG_CRIT) {
        ngx_ref_nomem++;
    }

    if (err) {
        diag_set("nginx: %s (%d: %s)", msg, err, strerror(err));
    } else {
        diag_set("nginx: %s", msg);
    }
}

/* Make nginx's page-size globals those of page size `ps` (a power of two),
 * as ngx_os_init() and ngx_slab_sizes_init() would at startup. */
static void
nginx_ref_use_page_size(size_t ps)
{
    ngx_uint_t  n;

    ngx_pagesize = ps;
    ngx_pagesize_shift = 0;
    for (n = ngx_pagesize; n >>= 1; ngx_pagesize_shift++) { /* void */ }

    ngx_ref_slab_sizes_reset();
    ngx_slab_sizes_init();
}

/*
 * The pool at z->base, with nginx's page-size globals made those of the
 * zone.  The page shift is read from the pool itself: ngx_slab_init() puts
 * the statistics right after log2(P) - min_shift slot heads.
 */
static inline ngx_slab_pool_t *
nginx_ref_pool(struct zone *z)
{
    ngx_slab_pool_t  *sp = (ngx_slab_pool_t *) z->base;
    ngx_uint_t        shift;

    shift = (ngx_uint_t) ((u_char *) sp->stats - (u_char *) (sp + 1))
            / sizeof(ngx_slab_page_t) + sp->min_shift;
    if (shift != ngx_pagesize_shift) {
        nginx_ref_use_page_size((size_t) 1 << shift);
    }
    return sp;
}

static size_t
nginx_ref_page_size(const struct alloc_params *p)
{
    size_t ps = p->page_size;

    if (ps < NGINX_REF_PAGE_MIN || ps > NGINX_REF_PAGE_MAX || (ps & (ps - 1))) {
        return 0;
    }
    return ps;
}

static unsigned
nginx_ref_nslots(size_t ps)
{
    unsigned shift = 0;

    while ((ps >>= 1) != 0) {
        shift++;
    }
    return shift - 3;   /* ngx_pagesize_shift - pool->min_shift */
}

/* docs/nginx-slab.md §2.4, generalised: header, slot heads and statistics, then one
 * descriptor and one page per data page, the data page-aligned. */
static size_t
nginx_ref_zone_size_for_pages(size_t pages, const struct alloc_params *p)
{
    size_t ps = nginx_ref_page_size(p), fixed, desc;

    if (ps == 0 || pages == 0) {
        return 0;
    }
    if (pages > (SIZE_MAX / 2) / (ps + sizeof(ngx_slab_page_t))) {
        return 0;
    }
    fixed = sizeof(ngx_slab_pool_t)
            + nginx_ref_nslots(ps) * (sizeof(ngx_slab_page_t) + sizeof(ngx_slab_stat_t));
    desc = fixed + pages * sizeof(ngx_slab_page_t);
    return ((desc + ps - 1) / ps + pages) * ps;
}

static size_t
nginx_ref_min_zone_size(const struct alloc_params *p)
{
    return nginx_ref_zone_size_for_pages(1, p);
}

static size_t
nginx_ref_zone_align(const struct alloc_params *p)
{
    size_t ps = nginx_ref_page_size(p);

    return ps ? ps : zone_os_page();
}

static void
nginx_ref_after_fork(void)
{
    ngx_pid = getpid();
}

static void
nginx_ref_process_init(void)
{
    static int  done;
    long        ncpu;

    if (!done) {
        done = 1;
        /* nginx sets ngx_pid in every process it forks; so does this. */
        pthread_atfork(NULL, NULL, nginx_ref_after_fork);
    }
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    ngx_ncpu = ncpu > 0 ? ncpu : 1;
    ngx_pid = proc_pid();
}

static int
nginx_ref_init(struct zone *z, const struct alloc_params *p)
{
    ngx_slab_pool_t  *sp;
    size_t            ps, min, pages;

    ps = nginx_ref_page_size(p);
    if (ps == 0) {
        diag_set("nginx: page size %zu is not a power of two from %d to %d",
                 p->page_size, NGINX_REF_PAGE_MIN, NGINX_REF_PAGE_MAX);
        return -1;
    }
    min = nginx_ref_zone_size_for_pages(1, p);
    if (z->size < min) {
        diag_set("nginx: zone of %zu bytes is too small for %zu-byte pages: "
                 "the minimum is %zu bytes", z->size, ps, min);
        return -1;
    }
    if ((uintptr_t) z->base % ps != 0) {
        diag_set("nginx: zone base %p is not aligned to the page size %zu",
                 (void *) z->base, ps);
        return -1;
    }

    nginx_ref_process_init();
    nginx_ref_use_page_size(ps);

    /* ngx_init_zone_pool() on a fresh (zero-filled) mapping: mutex.spin is
     * 0 there, so ngx_shmtx_create() makes it 2048 with a semaphore. */
    sp = (ngx_slab_pool_t *) z->base;
    sp->end = z->base + z->size;
    sp->min_shift = 3;
    sp->addr = z->base;

    if (ngx_shmtx_create(&sp->mutex, &sp->lock, NULL) != NGX_OK) {
        return -1;
    }
    ngx_slab_init(sp);

    pages = (size_t) (sp->last - sp->pages);
    if (pages == 0 || sp->pfree != pages) {
        diag_set("nginx: ngx_slab_init() made %zu pages of a %zu-byte zone",
                 pages, z->size);
        return -1;
    }

    return 0;
}

static int
nginx_ref_attach(struct zone *z)
{
    nginx_ref_process_init();
    (void) nginx_ref_pool(z);       /* the zone's page size */
    return 0;
}

/* nginx counts no failure of a page-run request (size > P/2): the glue
 * counts them in the zone's per-process counters, as slab_ops.c does. */
static void *
nginx_ref_counted(struct zone *z, size_t size, void *p)
{
    if (p == NULL && size > ngx_pagesize / 2) {
        zone_count_fail(z->ctl->procstat);
    }
    return p;
}

static void *
nginx_ref_alloc(struct zone *z, size_t size)
{
    ngx_slab_pool_t *sp = nginx_ref_pool(z);

    return nginx_ref_counted(z, size, ngx_slab_alloc(sp, size));
}

/*
 * nginx checks p against [start, end] only: a pointer between the last data
 * page and the end of the zone is looked up in descriptors that do not exist
 * (undefined behaviour, docs/nginx-slab.md §7.1).  Refuse it here instead.
 */
static int
nginx_ref_past_pages(ngx_slab_pool_t *sp, void *p)
{
    u_char *data_end = sp->start + ((size_t) (sp->last - sp->pages) << ngx_pagesize_shift);

    if ((u_char *) p >= data_end && (u_char *) p <= sp->end) {
        diag_set("nginx: ngx_slab_free(): pointer %p is past the last data page "
                 "(refused by the glue: nginx does not check this)", p);
        return 1;
    }
    return 0;
}

/* Free through one of nginx's two free calls: nginx refuses a bad free by
 * logging an alert, which the shim counts. */
static int
nginx_ref_free_by(struct zone *z, void *p, void (*ngx_free)(ngx_slab_pool_t *, void *))
{
    ngx_slab_pool_t  *sp = nginx_ref_pool(z);
    unsigned long     alerts = ngx_ref_alerts;

    if (nginx_ref_past_pages(sp, p)) {
        return -1;
    }
    ngx_free(sp, p);
    return ngx_ref_alerts == alerts ? 0 : -1;
}

static int
nginx_ref_free(struct zone *z, void *p)
{
    return nginx_ref_free_by(z, p, ngx_slab_free);
}

static void *
nginx_ref_alloc_locked(struct zone *z, size_t size)
{
    ngx_slab_pool_t *sp = nginx_ref_pool(z);

    return nginx_ref_counted(z, size, ngx_slab_alloc_locked(sp, size));
}

static int
nginx_ref_free_locked(struct zone *z, void *p)
{
    return nginx_ref_free_by(z, p, ngx_slab_free_locked);
}

/* The chunk or run size of the live block at p, read from its descriptor as
 * ngx_slab_free_locked() would find it; 0 if p is not a live block. */
static size_t
nginx_ref_usable_size(struct zone *z, void *p)
{
    ngx_slab_pool_t  *sp = nginx_ref_pool(z);
    ngx_slab_page_t  *page;
    uintptr_t         slab, *bitmap, off;
    size_t            n, size, shift;

    if ((u_char *) p < sp->start) {
        return 0;
    }
    n = (size_t) ((u_char *) p - sp->start) >> ngx_pagesize_shift;
    if (n >= (size_t) (sp->last - sp->pages)) {
        return 0;
    }
    page = &sp->pages[n];
    slab = page->slab;
    off = (uintptr_t) p & (ngx_pagesize - 1);

    switch (page->prev & 3) {
    case 3: /* NGX_SLAB_SMALL: bitmap at the start of the page */
        shift = slab & 0xf;
        size = (size_t) 1 << shift;
        if (off & (size - 1)) {
            return 0;
        }
        n = off >> shift;
        bitmap = (uintptr_t *) ((uintptr_t) p - off);
        if (!(bitmap[n / (8 * sizeof(uintptr_t))]
              & ((uintptr_t) 1 << (n % (8 * sizeof(uintptr_t)))))) {
            return 0;
        }
        return size;

    case 2: /* NGX_SLAB_EXACT */
        size = ngx_pagesize / (8 * sizeof(uintptr_t));
        if (off & (size - 1)) {
            return 0;
        }
        if (!(slab & ((uintptr_t) 1 << (off / size)))) {
            return 0;
        }
        return size;

    case 1: /* NGX_SLAB_BIG */
        shift = slab & 0xf;
        size = (size_t) 1 << shift;
        if (off & (size - 1)) {
            return 0;
        }
        if (!(slab & ((uintptr_t) 1 << ((off >> shift) + 4 * sizeof(uintptr_t))))) {
            return 0;
        }
        return size;

    default: /* NGX_SLAB_PAGE */
        if (off != 0 || !(slab & NGX_REF_PAGE_START) || slab == NGX_REF_PAGE_BUSY) {
            return 0;
        }
        return (size_t) (slab & ~(uintptr_t) NGX_REF_PAGE_START) << ngx_pagesize_shift;
    }
}

/* footprint and header_bytes as the slab's (slab_ops.c), from nginx's own
 * pool: the data pages not free times the page size, exact; the bytes before
 * sp->start. */
static void
nginx_ref_stats(struct zone *z, struct alloc_stats *out)
{
    ngx_slab_pool_t  *sp = nginx_ref_pool(z);
    ngx_slab_page_t  *page;
    size_t            ps = ngx_pagesize, largest = 0, pages;
    unsigned          i, n;

    memset(out, 0, sizeof(*out));

    ngx_shmtx_lock(&sp->mutex);

    pages = (size_t) (sp->last - sp->pages);
    for (page = sp->free.next; page != &sp->free; page = page->next) {
        if (page->slab > largest) {
            largest = page->slab;
        }
    }

    n = (unsigned) (ngx_pagesize_shift - sp->min_shift);
    if (n > ALLOC_MAX_SLOTS) {
        n = ALLOC_MAX_SLOTS;
    }
    out->nslots = n;
    for (i = 0; i < n; i++) {
        out->slot[i].size = (uint64_t) sp->min_size << i;
        out->slot[i].total = sp->stats[i].total;
        out->slot[i].used = sp->stats[i].used;
        out->slot[i].reqs = sp->stats[i].reqs;
        out->slot[i].fails = sp->stats[i].fails;
        out->fails += sp->stats[i].fails;
    }
    out->fails += zone_fails(z->ctl->procstat);     /* page-run requests */

    out->zone_bytes = z->size;
    out->page_size = ps;
    out->pages = pages;
    out->data_bytes = pages * ps;
    out->pages_free = sp->pfree;
    out->free_bytes = sp->pfree * ps;
    out->largest_free = largest * ps;
    out->header_bytes = (uint64_t) (sp->start - z->base);
    out->footprint = (pages - sp->pfree) * ps;
    out->exact = ALLOC_EXACT_FOOTPRINT | ALLOC_EXACT_LARGEST;

    ngx_shmtx_unlock(&sp->mutex);
}

static size_t
nginx_ref_data_offset(struct zone *z)
{
    return (size_t) (((ngx_slab_pool_t *) z->base)->start - z->base);
}

static int
nginx_ref_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    ngx_slab_pool_t  *sp = nginx_ref_pool(z);
    ngx_slab_page_t  *page;
    int               rc = 0;

    ngx_shmtx_lock(&sp->mutex);
    for (page = sp->free.next; page != &sp->free; page = page->next) {
        rc = fn(arg, (uint64_t) (page - sp->pages) << ngx_pagesize_shift,
                (uint64_t) page->slab << ngx_pagesize_shift);
        if (rc != 0) {
            break;
        }
    }
    ngx_shmtx_unlock(&sp->mutex);
    return rc;
}

const struct allocator_ops nginx_allocator = {
    .name = "nginx",
    .summary = "nginx 1.22.1's own ngx_slab.c/ngx_shmtx.c (oracle and speed "
               "reference; Debian source, built not committed)",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE | ALLOC_SLOT_STATS
            | ALLOC_BAD_FREE_DETECTED,
    .zone_size_for_pages = nginx_ref_zone_size_for_pages,
    .min_zone_size = nginx_ref_min_zone_size,
    .zone_align = nginx_ref_zone_align,
    .init = nginx_ref_init,
    .attach = nginx_ref_attach,
    .alloc = nginx_ref_alloc,
    .free = nginx_ref_free,
    .usable_size = nginx_ref_usable_size,
    .stats = nginx_ref_stats,
    .check = NULL,
    .alloc_locked = nginx_ref_alloc_locked,
    .free_locked = nginx_ref_free_locked,
    .data_offset = nginx_ref_data_offset,
    .each_free_run = nginx_ref_each_free_run,
    .fini = NULL,
};
