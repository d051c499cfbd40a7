/*
 * libshmbench-capture.so: an LD_PRELOAD library that records the heap calls
 * of any dynamically linked program as a shmbench trace (docs/formats.md),
 * so that a real program's allocations can be replayed over every allocator
 * (`shmbench capture -o FILE -- CMD ARGS` sets it up; by hand:
 * `SHMBENCH_CAPTURE=FILE LD_PRELOAD=/path/libshmbench-capture.so CMD`).
 *
 * What is recorded.  malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc and pvalloc, whoever calls
 * them: the program, the C library on its behalf (strdup, fopen's buffer,
 * the dynamic loader's thread-local blocks), C++'s operator new (which
 * calls malloc, or aligned_alloc for aligned types).  Memory the program
 * maps itself (mmap, brk, sbrk) is not a heap call and is not recorded.
 *
 *   # shmbench capture: pid P (ARGV0)   first line of every file
 *   a ID SIZE         a block of SIZE requested bytes was handed out
 *   # align A         just before the `a` of posix_memalign, aligned_alloc,
 *                     memalign (A as asked), valloc and pvalloc (A the page
 *                     size): the trace format has no alignment, so a replay
 *                     allocates SIZE with the allocator's own alignment
 *   f ID              block ID was given back
 *   # fail NAME SIZE  NAME (malloc, calloc, ...) returned NULL for SIZE
 *                     bytes (calloc's product, SIZE_MAX if it overflows);
 *                     a failure allocates nothing, so it is no `a` line
 *   # end of pid P: A allocations, F frees, L live, X failed,
 *       U frees not recorded, S frees not seen
 *                     the process's totals, written at exit (S: see below)
 *
 * IDs are 1, 2, 3 ... in the order of the calls, never reused within a
 * file, so no `a` names a live ID.  realloc(NULL, n) is an `a`;
 * realloc(p, n) that returns q is `f` of p's ID then `a` of a new ID of n
 * bytes (even when q == p: the trace format has no resize); a realloc that
 * fails (NULL for n > 0) leaves p as it was and is a `# fail` line.
 * realloc(p, 0) is what glibc makes of it: glibc frees p and returns NULL
 * (REALLOC_ZERO_BYTES_FREES), recorded as `f` alone; a C library that
 * returns a new block instead gets `f` and `a ID 0`.  free(NULL) is not
 * recorded, nor is a free of a pointer the library never saw handed out
 * (one allocated before the library started, or by the library's own
 * calls); the end line counts those as "not recorded".  A block handed out
 * at an address the library still holds live was freed where no hook saw
 * it (a C library calling its own free internally; none is known in
 * glibc): its old ID gets its `f` just before the new `a`, and the end
 * line counts it as "not seen".  pvalloc's SIZE is its request
 * rounded up to the page size, which is what it allocates.  No `pages`
 * line is written (a program has no zone): `shmbench replay` needs
 * --zone-size for the allocators that take page counts (slab, nginx).
 *
 * Threads.  One lock covers the pointer-to-ID map, the ID counter and the
 * output buffer, so the file is one sequence that every thread's calls
 * went into in an order consistent with the real heap: a free is recorded
 * before the real free (no other thread can be handed that block before
 * its `f` is written), an allocation after the real one returns, and a
 * realloc holds the lock across the real call (the block it frees cannot
 * be handed to another thread before the `f` and `a` are in).  It
 * serialises the recording, not the allocator: enough for the programs a
 * trace is taken of.
 *
 * Processes.  The process that `shmbench capture` started writes FILE
 * (SHMBENCH_CAPTURE=FILE; SHMBENCH_CAPTURE_PID names that process; used by
 * hand without it, the first process the library starts in sets it to its
 * own PID).  Every other process writes FILE.PID: a child of fork() (the
 * parent's buffer is written out before the fork, the child opens its own
 * file), and a program exec'd from a child.  A fork child's file starts
 * with the blocks live at the fork, each as an `a` of its parent's ID and
 * size between two comment lines, so that its frees of inherited blocks
 * are frees of IDs its own file allocated: every file replays on its own.
 * A process that execs keeps the same PID, so the program it execs writes
 * the same file anew: the file holds the last program that PID ran (what
 * the first one still had buffered is lost with its memory).
 *
 * Output.  Lines go into a 1 MiB buffer that is written with write(2)
 * when full, before a fork, at exit (a destructor; after it, every
 * record is written at once, for the frees of later destructors), and in
 * _exit and _Exit, which the library wraps for that.  A process killed by a
 * signal loses what was still buffered; what was written is a valid trace
 * of its start.  If the program closes the file's descriptor or reuses its
 * number, the next write sees another file behind it (fstat) and opens
 * FILE again to append.  If writing fails the library says so on stderr
 * and stops recording; the file stays valid up to there.
 *
 * The library's own memory (map, buffer) is mmap'd: it makes no heap call
 * while it records.  Its bootstrap (dlsym finds the next malloc, and dlsym
 * may itself call calloc) is served from a small static arena whose blocks
 * are never recorded and never given to the real free.  A hook called
 * while the library is itself inside a heap call (its setenv, its
 * pthread_atfork, a real allocator that calls malloc) goes straight to the
 * real function, unrecorded.  A process made by raw clone() without
 * fork's handlers records nothing: it would write into its parent's file;
 * nor does the child of a vfork() that calls _exit (it shares its parent's
 * buffer).
 */
#define _GNU_SOURCE                 /* RTLD_NEXT */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prng.h"

#define CAPTURE_PUBLIC     __attribute__((visibility("default")))
#define CAPTURE_BUF_BYTES  (1u << 20)
#define CAPTURE_LINE_MAX   256           /* room for the longest line (the end line: ~210) */
#define CAPTURE_BOOT_BYTES (64u << 10)   /* what dlsym may need before malloc is found */
#define CAPTURE_MAP_FIRST  (1u << 14)    /* entries of the first pointer map */
#define CAPTURE_NAME_MAX   80            /* bytes of argv[0] in the header */

/* One live block: its address, its ID and requested size. */
struct capture_entry {
    uintptr_t ptr;           /* 0: empty slot */
    uint64_t  id;
    uint64_t  size;
};

struct capture {
    pthread_mutex_t       lock;
    int                   on;          /* recording (atomic reads) */
    int                   sync;        /* after the destructor: write each record */
    int                   opened;      /* the file was created by this process */
    int                   fd;          /* -1 until the first write */
    dev_t                 dev;
    ino_t                 ino;
    pid_t                 pid;         /* the process this state belongs to */
    uint64_t              next_id;
    struct capture_entry *map;         /* open addressing, linear probing */
    size_t                map_mask;
    size_t                map_used;
    uint64_t              allocs, frees, fails, unknown_frees, unseen_frees;
    size_t                len;         /* bytes in buf */
    char                  base[PATH_MAX];        /* FILE */
    char                  path[PATH_MAX + 24];   /* FILE or FILE.PID */
    char                  name[CAPTURE_NAME_MAX + 1];
    char                  buf[CAPTURE_BUF_BYTES];
};

static struct capture cap = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fd = -1,
    .next_id = 1,
};

/* The functions the hooks stand in front of. */
static void *(*real_malloc)(size_t);
static void  (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int   (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void  (*real_exit)(int);
static void  (*real_Exit)(int);

/* 0 nothing found yet, 1 being looked up, 2 found. */
static int capture_resolved;

/* Per thread: this thread is looking the functions up (its heap calls go
 * to the arena); this thread is inside the library (its heap calls are
 * the library's, not recorded). */
static __thread int capture_resolving __attribute__((tls_model("initial-exec")));
static __thread int capture_busy __attribute__((tls_model("initial-exec")));

static unsigned char capture_arena[CAPTURE_BOOT_BYTES] __attribute__((aligned(64)));
static size_t        capture_arena_used;

static void capture_flush(void);

/* A message on stderr, without stdio (it allocates). */
static void
capture_say(const char *a, const char *b)
{
    const char  *parts[4] = { "libshmbench-capture: ", a, b, "\n" };
    int          i;

    for (i = 0; i < 4; i++) {
        if (parts[i] && write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0) {
            return;
        }
    }
}

/* The bootstrap arena: bump allocation, 16 bytes of header holding the
 * size (for realloc), never freed.  Zeroed, as static memory is. */
static void *
capture_arena_alloc(size_t n, size_t align)
{
    size_t off, cur;

    if (align < 16) {
        align = 16;
    }
    for (;;) {
        cur = __atomic_load_n(&capture_arena_used, __ATOMIC_RELAXED);
        off = (cur + 16 + align - 1) & ~(align - 1);
        if (n > CAPTURE_BOOT_BYTES || off > CAPTURE_BOOT_BYTES - n) {
            return NULL;
        }
        if (__atomic_compare_exchange_n(&capture_arena_used, &cur, off + n, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        {
            memcpy(capture_arena + off - sizeof(size_t), &n, sizeof(size_t));
            return capture_arena + off;
        }
    }
}

static int
capture_in_arena(const void *p)
{
    return (const unsigned char *) p >= capture_arena
           && (const unsigned char *) p < capture_arena + CAPTURE_BOOT_BYTES;
}

static size_t
capture_arena_size(const void *p)
{
    size_t n;

    memcpy(&n, (const unsigned char *) p - sizeof(size_t), sizeof(size_t));
    return n;
}

static void *
capture_next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (f == NULL) {
        capture_say("cannot find the next definition of ", name);
    }
    return f;
}

/*
 * Find the real functions, once.  The thread that does it serves its own
 * heap calls from the arena meanwhile; another thread waits.
 */
static void
capture_resolve(void)
{
    int expected = 0;

    if (__atomic_load_n(&capture_resolved, __ATOMIC_ACQUIRE) == 2) {
        return;
    }
    if (!__atomic_compare_exchange_n(&capture_resolved, &expected, 1, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    {
        while (__atomic_load_n(&capture_resolved, __ATOMIC_ACQUIRE) != 2) {
            sched_yield();
        }
        return;
    }
    capture_resolving = 1;
    real_malloc = (void *(*)(size_t)) capture_next("malloc");
    real_free = (void (*)(void *)) capture_next("free");
    real_calloc = (void *(*)(size_t, size_t)) capture_next("calloc");
    real_realloc = (void *(*)(void *, size_t)) capture_next("realloc");
    real_posix_memalign = (int (*)(void **, size_t, size_t)) capture_next("posix_memalign");
    real_aligned_alloc = (void *(*)(size_t, size_t)) capture_next("aligned_alloc");
    real_memalign = (void *(*)(size_t, size_t)) capture_next("memalign");
    real_exit = (void (*)(int)) capture_next("_exit");
    real_Exit = (void (*)(int)) capture_next("_Exit");
    capture_resolving = 0;
    if (!real_malloc || !real_free || !real_calloc || !real_realloc
        || !real_posix_memalign || !real_aligned_alloc || !real_memalign
        || !real_exit || !real_Exit)
    {
        abort();
    }
    __atomic_store_n(&capture_resolved, 2, __ATOMIC_RELEASE);
}

/* Whether a hook must look the functions up first; 1 if this thread is
 * the one looking them up (use the arena). */
static inline int
capture_booting(void)
{
    if (__builtin_expect(__atomic_load_n(&capture_resolved, __ATOMIC_ACQUIRE) == 2, 1)) {
        return 0;
    }
    if (capture_resolving) {
        return 1;
    }
    capture_resolve();
    return 0;
}

static inline int
capture_recording(void)
{
    return !capture_busy && __atomic_load_n(&cap.on, __ATOMIC_RELAXED);
}

/* ---- output (the lock is held) ---- */

static char *
capture_u64(char *o, uint64_t v)
{
    char tmp[20];
    int  i = 0;

    do {
        tmp[i++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    while (i) {
        *o++ = tmp[--i];
    }
    return o;
}

static char *
capture_str(char *o, const char *s)
{
    size_t n = strlen(s);

    memcpy(o, s, n);
    return o + n;
}

/* Room for one line in the buffer; writes the buffer out if full. */
static char *
capture_room(void)
{
    if (cap.len > sizeof(cap.buf) - CAPTURE_LINE_MAX) {
        capture_flush();
    }
    return cap.buf + cap.len;
}

static void
capture_end_line(char *o)
{
    *o++ = '\n';
    cap.len = (size_t) (o - cap.buf);
}

static void
capture_line_a(uint64_t id, uint64_t size)
{
    char *o = capture_room();

    *o++ = 'a';
    *o++ = ' ';
    o = capture_u64(o, id);
    *o++ = ' ';
    o = capture_u64(o, size);
    capture_end_line(o);
}

static void
capture_line_f(uint64_t id)
{
    char *o = capture_room();

    *o++ = 'f';
    *o++ = ' ';
    o = capture_u64(o, id);
    capture_end_line(o);
}

/* "# WORD NUMBER [NUMBER]" comment lines. */
static void
capture_line_note(const char *word, const char *name, uint64_t n)
{
    char *o = capture_room();

    o = capture_str(o, "# ");
    o = capture_str(o, word);
    *o++ = ' ';
    if (name) {
        o = capture_str(o, name);
        *o++ = ' ';
    }
    o = capture_u64(o, n);
    capture_end_line(o);
}

/* Stop recording (the lock is held): the file stays valid up to here. */
static void
capture_stop(const char *why, const char *detail)
{
    capture_say(why, detail);
    cap.len = 0;
    __atomic_store_n(&cap.on, 0, __ATOMIC_RELAXED);
}

/* The descriptor of this process's file: opened (created empty) on the
 * first write, opened again to append if the program closed it or put
 * another file behind its number. */
static int
capture_fd_is_ours(void)
{
    struct stat st;

    return cap.fd >= 0 && fstat(cap.fd, &st) == 0 && st.st_dev == cap.dev
           && st.st_ino == cap.ino;
}

static int
capture_fd(void)
{
    struct stat st;

    if (capture_fd_is_ours()) {
        return 0;
    }
    cap.fd = -1;                  /* never opened, or not ours any more: leave it alone */
    cap.fd = open(cap.path, O_WRONLY | O_CREAT | O_CLOEXEC
                            | (cap.opened ? O_APPEND : O_TRUNC), 0644);
    if (cap.fd < 0 || fstat(cap.fd, &st) != 0) {
        return -1;
    }
    cap.opened = 1;
    cap.dev = st.st_dev;
    cap.ino = st.st_ino;
    return 0;
}

static void
capture_flush(void)
{
    const char *p = cap.buf;
    size_t      left = cap.len;
    ssize_t     n;

    if (left == 0) {
        return;
    }
    if (getpid() != cap.pid) {
        cap.len = 0;              /* a raw clone(): not this file's process */
        return;
    }
    if (capture_fd() != 0) {
        capture_stop("cannot open the trace file: ", strerror(errno));
        return;
    }
    while (left > 0) {
        n = write(cap.fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            capture_stop("writing the trace failed: ",
                         n < 0 ? strerror(errno) : "nothing written");
            return;
        }
        p += n;
        left -= (size_t) n;
    }
    cap.len = 0;
}

/* ---- the pointer map (the lock is held) ---- */

static inline size_t
capture_home(uintptr_t p)
{
    return (size_t) prng_mix((uint64_t) p) & cap.map_mask;
}

static int
capture_map_grow(void)
{
    struct capture_entry *old = cap.map, *e;
    size_t                old_n = old ? cap.map_mask + 1 : 0;
    size_t                n = old ? old_n * 2 : CAPTURE_MAP_FIRST, i, j;
    void                 *m;

    m = mmap(NULL, n * sizeof(*old), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        return -1;
    }
    cap.map = m;
    cap.map_mask = n - 1;
    for (i = 0; i < old_n; i++) {
        e = &old[i];
        if (e->ptr == 0) {
            continue;
        }
        for (j = capture_home(e->ptr); cap.map[j].ptr; j = (j + 1) & cap.map_mask) {
            /* linear probing */
        }
        cap.map[j] = *e;
    }
    if (old) {
        munmap(old, old_n * sizeof(*old));
    }
    return 0;
}

static int
capture_map_put(uintptr_t p, uint64_t id, uint64_t size)
{
    size_t j;

    if ((cap.map == NULL || (cap.map_used + 1) * 4 > (cap.map_mask + 1) * 3)
        && capture_map_grow() != 0)
    {
        return -1;
    }
    for (j = capture_home(p); cap.map[j].ptr; j = (j + 1) & cap.map_mask) {
        if (cap.map[j].ptr == p) {
            /* Handed out again while we held it live: its free was made
             * where no hook sees it.  Its old ID ends here. */
            capture_line_f(cap.map[j].id);
            cap.unseen_frees++;
            cap.map[j].id = id;
            cap.map[j].size = size;
            return 0;
        }
    }
    cap.map[j].ptr = p;
    cap.map[j].id = id;
    cap.map[j].size = size;
    cap.map_used++;
    return 0;
}

/* Take p out of the map: its ID, or 0 if it is not there.  Deletion
 * shifts the entries after it back, so no tombstones build up. */
static uint64_t
capture_map_take(uintptr_t p)
{
    size_t   i, j, k;
    uint64_t id;

    if (cap.map == NULL) {
        return 0;
    }
    for (i = capture_home(p); cap.map[i].ptr != p; i = (i + 1) & cap.map_mask) {
        if (cap.map[i].ptr == 0) {
            return 0;
        }
    }
    id = cap.map[i].id;
    for (j = i;;) {
        j = (j + 1) & cap.map_mask;
        if (cap.map[j].ptr == 0) {
            break;
        }
        k = capture_home(cap.map[j].ptr);
        /* The entry at j may stay if its home lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        cap.map[i] = cap.map[j];
        i = j;
    }
    cap.map[i].ptr = 0;
    cap.map_used--;
    return id;
}

/* ---- records ---- */

/* errno as the real call left it: recording must not change what the
 * program sees (a failed write would). */
static __thread int capture_errno __attribute__((tls_model("initial-exec")));

static void
capture_lock(void)
{
    capture_errno = errno;
    pthread_mutex_lock(&cap.lock);
    capture_busy++;
}

static void
capture_unlock(void)
{
    if (cap.sync) {
        capture_flush();
    }
    capture_busy--;
    pthread_mutex_unlock(&cap.lock);
    errno = capture_errno;
}

/* An allocation by `fn` of `size` bytes (alignment `align`, 0 if none)
 * returned p; the lock is held. */
static void
capture_alloc_locked(void *p, uint64_t size, size_t align, const char *fn)
{
    if (!cap.on) {
        return;
    }
    if (p == NULL) {
        cap.fails++;
        capture_line_note("fail", fn, size);
        return;
    }
    if (capture_map_put((uintptr_t) p, cap.next_id, size) != 0) {
        capture_stop("out of memory for the pointer map: ", "recording stops");
        return;
    }
    if (align) {
        capture_line_note("align", NULL, align);
    }
    capture_line_a(cap.next_id++, size);
    cap.allocs++;
}

static void
capture_free_locked(void *p)
{
    uint64_t id;

    if (!cap.on) {
        return;
    }
    id = capture_map_take((uintptr_t) p);
    if (id == 0) {
        cap.unknown_frees++;
        return;
    }
    capture_line_f(id);
    cap.frees++;
}

static void *
capture_alloc(void *p, uint64_t size, size_t align, const char *fn)
{
    capture_lock();
    capture_alloc_locked(p, size, align, fn);
    capture_unlock();
    return p;
}

/* ---- the hooks ---- */

static void *
capture_malloc(size_t n, const char *fn)
{
    void *p;

    if (capture_booting()) {
        return capture_arena_alloc(n, 16);
    }
    p = real_malloc(n);
    return capture_recording() ? capture_alloc(p, n, 0, fn) : p;
}

CAPTURE_PUBLIC void *
malloc(size_t n)
{
    return capture_malloc(n, "malloc");
}

CAPTURE_PUBLIC void *
calloc(size_t n, size_t m)
{
    size_t bytes;
    void  *p;

    if (capture_booting()) {
        return __builtin_mul_overflow(n, m, &bytes) ? NULL
                                                    : capture_arena_alloc(bytes, 16);
    }
    p = real_calloc(n, m);
    if (!capture_recording()) {
        return p;
    }
    if (__builtin_mul_overflow(n, m, &bytes)) {
        bytes = SIZE_MAX;
    }
    return capture_alloc(p, bytes, 0, "calloc");
}

CAPTURE_PUBLIC void
free(void *p)
{
    if (p == NULL || capture_in_arena(p) || capture_booting()) {
        return;                   /* booting: no real free yet, and nothing to give it */
    }
    if (capture_recording()) {
        capture_lock();
        capture_free_locked(p);
        capture_unlock();
    }
    real_free(p);
}

/* realloc of an arena block (a loader's bootstrap buffer grown later): a
 * fresh block, unrecorded like the first one was. */
static void *
capture_realloc_arena(void *p, size_t n)
{
    size_t old = capture_arena_size(p);
    void  *q;

    q = capture_resolving ? capture_arena_alloc(n, 16) : real_malloc(n);
    if (q != NULL) {
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

static void *
capture_realloc(void *p, size_t n, const char *fn)
{
    void *q;

    if (p == NULL) {
        return capture_malloc(n, fn);
    }
    if (capture_in_arena(p)) {
        return capture_realloc_arena(p, n);
    }
    if (capture_booting()) {
        errno = ENOMEM;           /* only arena blocks exist yet */
        return NULL;
    }
    if (!capture_recording()) {
        return real_realloc(p, n);
    }
    capture_lock();
    q = real_realloc(p, n);
    if (q == NULL && n > 0) {
        capture_alloc_locked(NULL, n, 0, fn);     /* p is untouched */
    } else {
        capture_free_locked(p);
        if (q != NULL) {
            capture_alloc_locked(q, n, 0, fn);
        }
    }
    capture_unlock();
    return q;
}

CAPTURE_PUBLIC void *
realloc(void *p, size_t n)
{
    return capture_realloc(p, n, "realloc");
}

CAPTURE_PUBLIC void *
reallocarray(void *p, size_t n, size_t m)
{
    size_t bytes;

    if (__builtin_mul_overflow(n, m, &bytes)) {
        if (capture_recording()) {
            capture_alloc(NULL, SIZE_MAX, 0, "reallocarray");
        }
        errno = ENOMEM;
        return NULL;
    }
    return capture_realloc(p, bytes, "reallocarray");
}

CAPTURE_PUBLIC int
posix_memalign(void **out, size_t align, size_t n)
{
    int rc;

    if (capture_booting()) {
        *out = capture_arena_alloc(n, align);
        return *out ? 0 : ENOMEM;
    }
    rc = real_posix_memalign(out, align, n);
    if (capture_recording()) {
        capture_alloc(rc == 0 ? *out : NULL, n, align, "posix_memalign");
    }
    return rc;
}

CAPTURE_PUBLIC void *
aligned_alloc(size_t align, size_t n)
{
    void *p;

    if (capture_booting()) {
        return capture_arena_alloc(n, align);
    }
    p = real_aligned_alloc(align, n);
    return capture_recording() ? capture_alloc(p, n, align, "aligned_alloc") : p;
}

static void *
capture_memalign(size_t align, size_t n, const char *fn)
{
    void *p;

    if (capture_booting()) {
        return capture_arena_alloc(n, align);
    }
    p = real_memalign(align, n);
    return capture_recording() ? capture_alloc(p, n, align, fn) : p;
}

CAPTURE_PUBLIC void *
memalign(size_t align, size_t n)
{
    return capture_memalign(align, n, "memalign");
}

/* valloc and pvalloc are memalign at the page size (glibc's own
 * definition), so that the real one is called once and recorded once. */
CAPTURE_PUBLIC void *
valloc(size_t n)
{
    return capture_memalign((size_t) sysconf(_SC_PAGESIZE), n, "valloc");
}

CAPTURE_PUBLIC void *
pvalloc(size_t n)
{
    size_t page = (size_t) sysconf(_SC_PAGESIZE);

    if (n > SIZE_MAX - page) {
        if (capture_recording()) {
            capture_alloc(NULL, n, 0, "pvalloc");
        }
        errno = ENOMEM;
        return NULL;
    }
    return capture_memalign(page, (n + page - 1) & ~(page - 1), "pvalloc");
}

/* ---- start, fork, exit ---- */

static void
capture_header(const char *forked_from)
{
    char *o = capture_room();

    o = capture_str(o, "# shmbench capture: pid ");
    o = capture_u64(o, (uint64_t) cap.pid);
    if (forked_from) {
        o = capture_str(o, ", forked from pid ");
        o = capture_str(o, forked_from);
    }
    o = capture_str(o, " (");
    o = capture_str(o, cap.name);
    *o++ = ')';
    capture_end_line(o);
}

/* cap.path = FILE.PID */
static void
capture_child_path(void)
{
    char *o = cap.path;

    o = capture_str(o, cap.base);
    *o++ = '.';
    o = capture_u64(o, (uint64_t) cap.pid);
    *o = '\0';
}

static void
capture_end(void)
{
    char *o = capture_room();

    o = capture_str(o, "# end of pid ");
    o = capture_u64(o, (uint64_t) cap.pid);
    o = capture_str(o, ": ");
    o = capture_u64(o, cap.allocs);
    o = capture_str(o, " allocations, ");
    o = capture_u64(o, cap.frees);
    o = capture_str(o, " frees, ");
    o = capture_u64(o, cap.map_used);
    o = capture_str(o, " live, ");
    o = capture_u64(o, cap.fails);
    o = capture_str(o, " failed, ");
    o = capture_u64(o, cap.unknown_frees);
    o = capture_str(o, " frees not recorded, ");
    o = capture_u64(o, cap.unseen_frees);
    o = capture_str(o, " frees not seen");
    capture_end_line(o);
}

static void
capture_prepare(void)
{
    capture_lock();
    if (cap.on) {
        capture_flush();
    }
}

static void
capture_parent(void)
{
    capture_unlock();
}

/* The child of fork(): its own file, which starts with the blocks it
 * inherited, under their parent's IDs. */
static void
capture_child(void)
{
    char   parent[24];
    size_t i;

    pthread_mutex_init(&cap.lock, NULL);    /* held by the forking thread, now us */
    if (cap.on) {
        *capture_u64(parent, (uint64_t) cap.pid) = '\0';
        cap.pid = getpid();
        if (capture_fd_is_ours()) {
            close(cap.fd);                  /* the parent's file */
        }
        cap.fd = -1;
        cap.opened = 0;
        cap.len = 0;
        cap.allocs = cap.frees = cap.fails = cap.unknown_frees = cap.unseen_frees = 0;
        capture_child_path();
        capture_header(parent);
        capture_line_note("blocks live at the fork:", NULL, cap.map_used);
        for (i = 0; cap.map && i <= cap.map_mask; i++) {
            if (cap.map[i].ptr) {
                capture_line_a(cap.map[i].id, cap.map[i].size);
            }
        }
        capture_line_note("end of the blocks live at the fork:", NULL, cap.map_used);
        capture_flush();
    }
    capture_busy--;
}

/*
 * The constructor runs before main (glibc hands it argc, argv, envp).
 * Heap calls made before it pass through unrecorded.
 */
__attribute__((constructor)) static void
capture_start(int argc, char **argv, char **envp)
{
    const char *file, *root, *base;
    char        pid[24];
    size_t      n;
    pid_t       me = getpid();

    (void) envp;
    capture_resolve();
    file = getenv("SHMBENCH_CAPTURE");
    if (file == NULL || file[0] == '\0') {
        return;
    }
    if (strlen(file) >= sizeof(cap.base)) {
        capture_say("SHMBENCH_CAPTURE is too long: ", "nothing is recorded");
        return;
    }
    capture_busy++;
    strcpy(cap.base, file);
    cap.pid = me;
    *capture_u64(pid, (uint64_t) me) = '\0';
    root = getenv("SHMBENCH_CAPTURE_PID");
    if (root == NULL) {
        setenv("SHMBENCH_CAPTURE_PID", pid, 1);
        root = pid;
    }
    if (strcmp(root, pid) == 0) {
        strcpy(cap.path, cap.base);
    } else {
        capture_child_path();
    }
    base = argc > 0 && argv && argv[0] ? argv[0] : "?";
    if (strrchr(base, '/')) {
        base = strrchr(base, '/') + 1;
    }
    for (n = 0; n < CAPTURE_NAME_MAX && base[n]; n++) {
        cap.name[n] = (unsigned char) base[n] < 0x20 || base[n] == 0x7f ? '?' : base[n];
    }
    cap.name[n] = '\0';
    if (pthread_atfork(capture_prepare, capture_parent, capture_child) != 0) {
        capture_say("pthread_atfork failed: ", "forked children are not recorded");
    }
    pthread_mutex_lock(&cap.lock);
    __atomic_store_n(&cap.on, 1, __ATOMIC_RELAXED);
    capture_header(NULL);
    capture_flush();                        /* the file exists from the start */
    pthread_mutex_unlock(&cap.lock);
    capture_busy--;
}

__attribute__((destructor)) static void
capture_finish(void)
{
    capture_lock();
    if (cap.on) {
        capture_end();
        capture_flush();
        cap.sync = 1;
    }
    capture_unlock();
}

/* _exit skips the destructor: write what is buffered first.  It is
 * async-signal-safe, so it only tries the lock (a signal handler may have
 * interrupted a record on this very thread). */
static void
capture_exit_flush(void)
{
    if (__atomic_load_n(&capture_resolved, __ATOMIC_ACQUIRE) != 2) {
        capture_resolve();
    }
    /* A vfork() child shares its parent's memory: it must leave the
     * parent's buffer alone (its exec failed, or it never execs). */
    if (__atomic_load_n(&cap.on, __ATOMIC_RELAXED) && getpid() == cap.pid
        && pthread_mutex_trylock(&cap.lock) == 0)
    {
        capture_busy++;
        if (cap.on && !cap.sync) {
            capture_end();
        }
        capture_flush();
        capture_busy--;
        pthread_mutex_unlock(&cap.lock);
    }
}

CAPTURE_PUBLIC void
_exit(int status)
{
    capture_exit_flush();
    real_exit(status);
    for (;;) {
        syscall(SYS_exit_group, status);
    }
}

CAPTURE_PUBLIC void
_Exit(int status)
{
    capture_exit_flush();
    real_Exit(status);
    for (;;) {
        syscall(SYS_exit_group, status);
    }
}
