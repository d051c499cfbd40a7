/*
 * ngx_zone: finding a running nginx's slab zones and copying them
 * consistently (ngx_zone.h says how and why).
 *
 * Reading.  Everything comes from /proc/PID: `maps` for the mappings,
 * `mem` (pread at nginx's addresses) for their bytes, and, for --lock,
 * `map_files/START-END`, the zone's shared memory object itself, mapped
 * read-write here.  Only the part of a zone before its data pages and the
 * bitmaps at the start of small chunk pages are read (the checker reads
 * nothing else); so a zone's data pages that nginx never wrote are never
 * touched, and its resident size does not grow by being looked at.
 *
 * nginx's lock.  ngx_shmtx_t on Linux (atomics and a POSIX semaphore): the
 * lock word, 0 or the holder's pid, is the pool header's first word, the
 * wait count the second; the mutex at offset 104 holds pointers to the two,
 * then the flag saying a semaphore was made, then the semaphore itself
 * (sem_t, process-shared).  A worker takes the lock by compare-and-swap of
 * the lock word from 0 to its pid; unlocking swaps it back and, if the wait
 * count says a process went to sleep, takes one off it and posts the
 * semaphore once.  That is what is done here.  While the lock is held no
 * signal is taken (all are blocked; a fault gives the lock back first), and
 * the hold is one copy of the zone's metadata, from our own mapping.
 */
#define _GNU_SOURCE
#include "ngx_zone.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "substrate/clock.h"
#include "substrate/diag.h"
#include "subject/slab.h"

/* nginx 1.22.1's ngx_shmtx_t within the pool header (x86-64 Linux). */
#define NGXZ_MUTEX_OFF      104     /* ngx_slab_pool_t.mutex */
#define NGXZ_SEMFLAG_OFF    120     /* mutex.semaphore */
#define NGXZ_SEM_OFF        128     /* mutex.sem */
#define NGXZ_WAIT_OFF       8       /* ngx_shmtx_sh_t.wait */
#define NGXZ_LOCKWORDS      16      /* lock and wait: change on every lock */
#define NGXZ_LOGCTX_OFF     168     /* ngx_slab_pool_t.log_ctx */
#define NGXZ_ZERO_OFF       176     /* ngx_slab_pool_t.zero: log_ctx's "" */
#define NGXZ_RETRY_NS       1000000 /* between tries without the lock */
#define NGXZ_SPIN_NS        2000000 /* watching a busy lock word, a round */
#define NGXZ_REST_NS        500000  /* resting between rounds */

/* ---------------------------------------------------------------------- */
/* The process                                                              */

/* Whether the process is gone (or a zombie: its memory is). */
static int
ngxz_gone(pid_t pid)
{
    char  path[64], buf[512], *s;
    FILE *f;
    int   gone;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 1;
    }
    gone = fgets(buf, sizeof(buf), f) == NULL;
    fclose(f);
    if (!gone && (s = strrchr(buf, ')')) != NULL && s[1] == ' ') {
        gone = s[2] == 'Z' || s[2] == 'X';
    }
    return gone;
}

/* The version in the program's file: "nginx/" and digits and dots (nginx
 * keeps its NGINX_VER string in the binary). */
static void
ngxz_version(struct ngxz_proc *p)
{
    static const char tag[] = "nginx/";
    char              path[64], buf[65536 + 32];
    size_t            keep = 0, n, i, j;
    FILE             *f;

    snprintf(path, sizeof(path), "/proc/%d/exe", (int) p->pid);
    f = fopen(path, "rb");
    if (f == NULL) {
        return;
    }
    while ((n = fread(buf + keep, 1, sizeof(buf) - 32 - keep, f)) > 0) {
        n += keep;
        for (i = 0; i + sizeof(tag) + 4 < n; i++) {
            if (memcmp(buf + i, tag, sizeof(tag) - 1) != 0
                || !isdigit((unsigned char) buf[i + sizeof(tag) - 1]))
            {
                continue;
            }
            for (j = 0; j + 1 < sizeof(p->version) && i + sizeof(tag) - 1 + j < n
                        && (isdigit((unsigned char) buf[i + sizeof(tag) - 1 + j])
                            || buf[i + sizeof(tag) - 1 + j] == '.'); j++)
            {
                p->version[j] = buf[i + sizeof(tag) - 1 + j];
            }
            p->version[j] = '\0';
            if (strchr(p->version, '.') != NULL) {
                fclose(f);
                return;
            }
            p->version[0] = '\0';
        }
        keep = n < 32 ? n : 32;         /* a tag across the boundary */
        memmove(buf, buf + n - keep, keep);
    }
    fclose(f);
}

/* Why the process's memory may not be read, for the message. */
static void
ngxz_perm_message(const struct ngxz_proc *p, int err)
{
    char  scope[16] = "";
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");

    if (f != NULL) {
        if (fgets(scope, sizeof(scope), f) == NULL) {
            scope[0] = '\0';
        }
        scope[strcspn(scope, "\n")] = '\0';
        fclose(f);
    }
    diag_set("cannot read the memory of pid %d: %s (run as root or as the user nginx's "
             "workers run as; /proc/sys/kernel/yama/ptrace_scope is %s)", (int) p->pid,
             strerror(err), scope[0] ? scope : "not set: no Yama");
}

/* The rw-s mappings of /dev/zero or of System V segments. */
static int
ngxz_maps(struct ngxz_proc *p)
{
    char             path[64], line[1024], perms[8], file[512];
    unsigned long long s, e, off;
    struct ngxz_map *m;
    FILE            *f;
    int              n;

    snprintf(path, sizeof(path), "/proc/%d/maps", (int) p->pid);
    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == EACCES || errno == EPERM) {
            p->err = NGXZ_PERM;
            ngxz_perm_message(p, errno);
        } else {
            p->err = errno == ENOENT ? NGXZ_NOPROC : NGXZ_FAIL;
            diag_set("cannot open %s: %s", path, strerror(errno));
        }
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        file[0] = '\0';
        n = sscanf(line, "%llx-%llx %7s %llx %*s %*s %511[^\n]", &s, &e, perms, &off, file);
        if (n < 4) {
            fclose(f);
            p->err = NGXZ_FAIL;
            diag_set("%s: a line that does not parse: %.80s", path, line);
            return -1;
        }
        if (strcmp(perms, "rw-s") != 0 || off != 0
            || (strncmp(file, "/dev/zero", 9) != 0 && strncmp(file, "/SYSV", 5) != 0))
        {
            continue;
        }
        m = realloc(p->maps, (p->nmaps + 1) * sizeof(*m));
        if (m == NULL) {
            fclose(f);
            p->err = NGXZ_FAIL;
            diag_set("out of memory for the mappings of pid %d", (int) p->pid);
            return -1;
        }
        p->maps = m;
        m += p->nmaps++;
        m->start = s;
        m->end = e;
        snprintf(m->path, sizeof(m->path), "%s", file);
    }
    fclose(f);
    return 0;
}

int
ngxz_open(struct ngxz_proc *p, pid_t pid)
{
    char    path[64];
    ssize_t n;

    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->mem = -1;
    p->page_size = (size_t) sysconf(_SC_PAGESIZE);
    snprintf(path, sizeof(path), "/proc/%d", (int) pid);
    if (access(path, F_OK) != 0 || ngxz_gone(pid)) {
        p->err = NGXZ_NOPROC;
        diag_set("no process has pid %d", (int) pid);
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
    n = readlink(path, p->exe, sizeof(p->exe) - 1);
    if (n > 0) {
        p->exe[n] = '\0';
    } else {
        snprintf(p->exe, sizeof(p->exe), "unknown: %s cannot be read", path);
    }
    ngxz_version(p);
    if (ngxz_maps(p) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/%d/mem", (int) pid);
    p->mem = open(path, O_RDONLY | O_CLOEXEC);
    if (p->mem == -1) {
        if (errno == ENOENT || ngxz_gone(pid)) {
            p->err = NGXZ_GONE;
            diag_set("pid %d exited while it was read", (int) pid);
        } else {
            p->err = NGXZ_PERM;
            ngxz_perm_message(p, errno);
        }
        return -1;
    }
    return 0;
}

void
ngxz_close(struct ngxz_proc *p)
{
    if (p->mem >= 0) {
        close(p->mem);
    }
    free(p->maps);
    p->maps = NULL;
    p->nmaps = 0;
    p->mem = -1;
}

/* len bytes at nginx's address addr into dst. */
static int
ngxz_pread(struct ngxz_proc *p, uint64_t addr, void *dst, size_t len)
{
    size_t  got = 0;
    ssize_t n;
    int     err;

    while (got < len) {
        n = pread(p->mem, (char *) dst + got, len - got, (off_t) (addr + got));
        if (n > 0) {
            got += (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        err = n < 0 ? errno : EIO;
        if (ngxz_gone(p->pid)) {
            p->err = NGXZ_GONE;
            diag_set("pid %d exited while it was read", (int) p->pid);
        } else if (err == EPERM || err == EACCES) {
            p->err = NGXZ_PERM;
            ngxz_perm_message(p, err);
        } else {
            p->err = NGXZ_FAIL;
            diag_set("reading %zu bytes at %#" PRIx64 " of pid %d: %s", len - got,
                     addr + got, (int) p->pid, strerror(err));
        }
        return -1;
    }
    return 0;
}


/* ---------------------------------------------------------------------- */
/* Zones                                                                    */

/* The feature and the name in a log context ` in FEATURE zone "NAME"` (or
 * ` in FEATURE "NAME"`); else the raw string is the name. */
static void
ngxz_parse_name(struct ngxz_zone *z)
{
    const char *s = z->log_ctx, *q, *e;
    size_t      n, fl;

    z->feature[0] = '\0';
    e = s + strlen(s);
    if (strncmp(s, " in ", 4) == 0 && e - s > 6 && e[-1] == '"'
        && (q = memchr(s + 4, '"', (size_t) (e - s - 4))) != NULL && q < e - 1)
    {
        n = (size_t) (e - 1 - q - 1);
        fl = (size_t) (q - (s + 4));
        while (fl > 0 && s[4 + fl - 1] == ' ') {
            fl--;
        }
        if (fl >= 5 && strncmp(s + 4 + fl - 5, " zone", 5) == 0) {
            fl -= 5;
        }
        if (n > 0 && n < sizeof(z->name) && fl > 0 && fl < sizeof(z->feature)) {
            memcpy(z->feature, s + 4, fl);
            z->feature[fl] = '\0';
            memcpy(z->name, q + 1, n);
            z->name[n] = '\0';
            return;
        }
    }
    snprintf(z->name, sizeof(z->name), "%s", s);
}

/* The zone's log-context string, if its pointer lies in the zone. */
static int
ngxz_log_ctx(struct ngxz_proc *p, struct ngxz_zone *z, uint64_t ptr)
{
    size_t len = sizeof(z->log_ctx) - 1;

    z->log_ctx[0] = '\0';
    if (ptr == z->addr + NGXZ_ZERO_OFF || ptr < z->addr || ptr >= z->addr + z->size) {
        return 0;                       /* nginx's "" or nothing we may follow */
    }
    if (len > z->addr + z->size - ptr) {
        len = (size_t) (z->addr + z->size - ptr);
    }
    if (ngxz_pread(p, ptr, z->log_ctx, len) != 0) {
        return -1;
    }
    z->log_ctx[len] = '\0';             /* a longer one is cut, not overrun */
    return 0;
}

void
ngxz_release(struct ngxz_zone *z)
{
    if (z->mem != NULL) {
        munmap(z->mem, z->len);
    }
    free(z->raw);
    free(z->again);
    z->mem = NULL;
    z->raw = z->again = NULL;
}

/* Memory for the copies: a zeroed control block, then the image. */
static int
ngxz_alloc(struct ngxz_proc *p, struct ngxz_zone *z)
{
    size_t ctl = (ZONE_CTL_SIZE + p->page_size - 1) & ~(p->page_size - 1);

    z->len = ctl + z->size;
    z->mem = mmap(NULL, z->len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    z->raw = malloc(z->meta);
    z->again = malloc(z->meta);
    if (z->mem == MAP_FAILED || z->raw == NULL || z->again == NULL) {
        if (z->mem == MAP_FAILED) {
            z->mem = NULL;
        }
        ngxz_release(z);
        p->err = NGXZ_FAIL;
        diag_set("no memory for a copy of the %zu-byte zone at %#" PRIx64, z->size, z->addr);
        return -1;
    }
    memset(&z->z, 0, sizeof(z->z));
    z->z.ctl = (struct zone_ctl *) z->mem;
    z->z.map = z->mem;
    z->z.map_size = z->len;
    z->z.base = z->mem + ctl;
    z->z.size = z->size;
    z->z.shmid = -1;
    z->z.readonly = 1;
    return 0;
}

int
ngxz_identify(struct ngxz_proc *p, const struct ngxz_map *m, struct ngxz_zone *z)
{
    struct slab_pool hdr;
    uint64_t         w[2];

    memset(z, 0, sizeof(*z));
    z->map = m;
    z->addr = m->start;
    if (m->end - m->start < 2 * p->page_size) {
        diag_set("%" PRIu64 " bytes: too small for a slab zone", m->end - m->start);
        return 0;
    }
    if (ngxz_pread(p, m->start, &hdr, sizeof(hdr)) != 0) {
        return -1;
    }
    if (slab_nginx_header(&hdr, m->start, (size_t) (m->end - m->start), p->page_size,
                          &z->size) != 0)
    {
        return 0;
    }
    z->meta = (size_t) (hdr.start - m->start);
    memcpy(w, (const unsigned char *) &hdr + NGXZ_MUTEX_OFF, sizeof(w));
    z->lock_ptr[0] = w[0];
    z->lock_ptr[1] = w[1];
    if (ngxz_log_ctx(p, z, hdr.log_ctx) != 0) {
        return -1;
    }
    ngxz_parse_name(z);
    return ngxz_alloc(p, z) == 0 ? 1 : -1;
}


/* ---------------------------------------------------------------------- */
/* One copy: the metadata, then the small pages' bitmaps                    */

/* Where a copy's bytes come from: nginx's memory, or our mapping of it. */
struct ngxz_src {
    struct ngxz_proc      *p;
    const struct ngxz_zone *z;
    const unsigned char   *map;     /* --lock: the zone mapped here */
};

static int
ngxz_get(const struct ngxz_src *s, uint64_t off, void *dst, size_t len)
{
    if (s->map != NULL) {
        memcpy(dst, s->map + off, len);
        return 0;
    }
    return ngxz_pread(s->p, s->z->addr + off, dst, len);
}

static int
ngxz_get_bitmap(void *arg, uint64_t off, uint64_t len)
{
    const struct ngxz_src *s = arg;

    return ngxz_get(s, off, s->z->z.base + off, (size_t) len);
}

/*
 * One copy into the image: the metadata (kept raw in z->raw), translated,
 * then the bitmaps the translated descriptors name.  0; 1 if the metadata
 * did not translate (a torn read: its pointers mixed); -1 (read failed).
 */
static int
ngxz_read_once(const struct ngxz_src *s, struct ngxz_zone *z)
{
    struct slab_pool *pool = (struct slab_pool *) z->z.base;

    if (ngxz_get(s, 0, z->z.base, z->meta) != 0) {
        return -1;
    }
    memcpy(z->raw, z->z.base, z->meta);
    if (slab_nginx_translate(pool, z->size, z->addr, s->p->page_size) != 0) {
        return 1;
    }
    if (slab_nginx_bitmaps(pool, z->size, ngxz_get_bitmap, (void *) s) != 0) {
        return s->p->err != NGXZ_OK ? -1 : 1;
    }
    return 0;
}

/* The lock word of a raw copy. */
static uint64_t
ngxz_word(const unsigned char *raw)
{
    uint64_t w;

    memcpy(&w, raw, sizeof(w));
    return w;
}

/* Without the lock (see the top of ngx_zone.h). */
static int
ngxz_copy_unlocked(struct ngxz_proc *p, struct ngxz_zone *z, unsigned tries)
{
    struct ngxz_src s = { p, z, NULL };
    struct timespec gap = { 0, NGXZ_RETRY_NS };
    char            why[256] = "", by[64] = "";
    uint64_t        owner;
    unsigned        t;
    int             rc;

    for (t = 0; t < tries; t++) {
        if (t > 0) {
            nanosleep(&gap, NULL);
        }
        z->tries = t + 1;
        rc = ngxz_read_once(&s, z);
        if (rc < 0) {
            return -1;
        }
        if (rc > 0) {
            snprintf(why, sizeof(why), "%s", diag_last());
            continue;
        }
        if (ngxz_pread(p, z->addr, z->again, z->meta) != 0) {
            return -1;
        }
        if (memcmp(z->raw + NGXZ_LOCKWORDS, z->again + NGXZ_LOCKWORDS,
                   z->meta - NGXZ_LOCKWORDS) != 0)
        {
            snprintf(why, sizeof(why), "the metadata differed when read again");
            by[0] = '\0';
            continue;                   /* nginx changed it meanwhile */
        }
        if (slab_check((const struct slab_pool *) z->z.base, z->size, NULL) == 0) {
            return 0;
        }
        snprintf(why, sizeof(why), "%s", diag_last());
        /* It held still: a verdict, unless a process held the lock through
         * both reads (an operation in progress, perhaps preempted). */
        owner = ngxz_word(z->again) != 0 ? ngxz_word(z->again) : ngxz_word(z->raw);
        if (owner == 0) {
            p->err = NGXZ_CORRUPT;
            diag_set("%s", why);
            return -1;
        }
        snprintf(by, sizeof(by), "; pid %" PRIu64 " held its lock, mid-operation", owner);
    }
    p->err = NGXZ_CHANGED;
    diag_set("changed while reading: %u tries without the lock, none consistent%s (the "
             "last said: %s)", tries, by, why);
    return -1;
}


/* ---------------------------------------------------------------------- */
/* With nginx's lock                                                        */

/* The zone mapped here while we may hold its lock, for the fault handler. */
static unsigned char *volatile ngxz_held;

static void
ngxz_unlock(unsigned char *map)
{
    _Atomic uint64_t *lock = (_Atomic uint64_t *) map;
    _Atomic int64_t  *wait = (_Atomic int64_t *) (map + NGXZ_WAIT_OFF);
    uint64_t          me = (uint64_t) getpid();
    int64_t           n;
    uint64_t          sem;

    if (!atomic_compare_exchange_strong(lock, &me, 0)) {
        return;
    }
    memcpy(&sem, map + NGXZ_SEMFLAG_OFF, sizeof(sem));
    if (sem == 0) {
        return;
    }
    /* Wake one process that announced it sleeps on the semaphore. */
    n = atomic_load(wait);
    while (n > 0) {
        if (atomic_compare_exchange_weak(wait, &n, n - 1)) {
            sem_post((sem_t *) (map + NGXZ_SEM_OFF));
            break;
        }
    }
}

/* A fault while we hold the lock: give it back, then fault as before. */
static void
ngxz_on_fault(int sig)
{
    if (ngxz_held != NULL) {
        ngxz_unlock(ngxz_held);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Whether a lock word's pid names no process. */
static int
ngxz_pid_dead(uint64_t pid)
{
    return pid > INT32_MAX || (kill((pid_t) pid, 0) != 0 && errno == ESRCH);
}

/*
 * Take the lock (signals blocked from the moment it is had: *old the mask
 * to restore), trying for at most wait_ms: 0, or -1 with NGXZ_BUSY.  The
 * word is watched closely, as nginx's lock is not fair.
 */
static int
ngxz_lock(struct ngxz_proc *p, unsigned char *map, uint64_t wait_ms, sigset_t *old)
{
    _Atomic uint64_t *lock = (_Atomic uint64_t *) map;
    struct timespec   rest = { 0, NGXZ_REST_NS };
    uint64_t          deadline = clock_ns() + wait_ms * 1000000, round, v, zero;
    sigset_t          all;
    unsigned          i;

    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    for ( ;; ) {
        round = clock_ns() + NGXZ_SPIN_NS;
        do {
            for (i = 0; i < 256; i++) {
                if (atomic_load_explicit(lock, memory_order_relaxed) != 0) {
#if defined(__x86_64__) || defined(__i386__)
                    __builtin_ia32_pause();
#endif
                    continue;
                }
                sigprocmask(SIG_BLOCK, &all, old);
                ngxz_held = map;
                zero = 0;
                if (atomic_compare_exchange_strong(lock, &zero, (uint64_t) getpid())) {
                    return 0;
                }
                ngxz_held = NULL;
                sigprocmask(SIG_SETMASK, old, NULL);
            }
        } while (clock_ns() < round);
        v = atomic_load(lock);
        if (v != 0 && ngxz_pid_dead(v) && atomic_load(lock) == v) {
            p->err = NGXZ_BUSY;
            diag_set("its lock is held by pid %" PRIu64 ", which no longer exists (nginx's "
                     "master force-unlocks a dead worker's locks when it reaps it)", v);
            return -1;
        }
        if (clock_ns() >= deadline) {
            p->err = NGXZ_BUSY;
            diag_set("zone is busy: its lock was not free for %" PRIu64 " ms (last held "
                     "by pid %" PRIu64 ")", wait_ms, v);
            return -1;
        }
        nanosleep(&rest, NULL);
    }
}

/* Map the zone through /proc/PID/map_files (root): NULL, or the mapping. */
static unsigned char *
ngxz_map_zone(struct ngxz_proc *p, const struct ngxz_zone *z)
{
    char  path[96];
    void *m;
    int   fd, err;

    snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int) p->pid,
             z->map->start, z->map->end);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd == -1) {
        err = errno;
        p->err = err == ENOENT && ngxz_gone(p->pid) ? NGXZ_GONE
                 : err == EPERM || err == EACCES ? NGXZ_PERM : NGXZ_FAIL;
        diag_set("--lock: cannot open %s: %s (taking nginx's lock needs the zone mapped "
                 "writable, which only root may do this way)", path, strerror(err));
        return NULL;
    }
    m = mmap(NULL, (size_t) (z->map->end - z->map->start), PROT_READ | PROT_WRITE,
             MAP_SHARED, fd, 0);
    err = errno;
    close(fd);
    if (m == MAP_FAILED) {
        p->err = NGXZ_FAIL;
        diag_set("--lock: mapping %s failed: %s", path, strerror(err));
        return NULL;
    }
    return m;
}

/* Under nginx's lock. */
static int
ngxz_copy_locked(struct ngxz_proc *p, struct ngxz_zone *z, uint64_t wait_ms)
{
    struct sigaction sa, old_segv, old_bus;
    struct ngxz_src  s = { p, z, NULL };
    unsigned char   *map;
    sigset_t         old;
    uint64_t         t0, t1;
    int              rc;

    if (z->lock_ptr[0] != z->addr || z->lock_ptr[1] != z->addr + NGXZ_WAIT_OFF) {
        p->err = NGXZ_FAIL;
        diag_set("--lock: the zone's mutex does not point at the header's lock words "
                 "(%#" PRIx64 ", %#" PRIx64 "): not nginx 1.22.1's ngx_shmtx_t",
                 z->lock_ptr[0], z->lock_ptr[1]);
        return -1;
    }
    map = ngxz_map_zone(p, z);
    if (map == NULL) {
        return -1;
    }
    s.map = map;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = ngxz_on_fault;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    t0 = clock_ns();
    rc = ngxz_lock(p, map, wait_ms, &old);
    t1 = clock_ns();
    if (rc == 0) {
        rc = ngxz_read_once(&s, z);
        ngxz_unlock(map);
        ngxz_held = NULL;
        sigprocmask(SIG_SETMASK, &old, NULL);
        z->hold_ns = clock_ns() - t1;
    }
    z->wait_ns = t1 - t0;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    munmap(map, (size_t) (z->map->end - z->map->start));
    z->tries = 1;
    if (rc < 0) {
        return -1;
    }
    if (rc > 0 || slab_check((const struct slab_pool *) z->z.base, z->size, NULL) != 0) {
        p->err = NGXZ_CORRUPT;          /* read under its lock: no excuse */
        return -1;
    }
    return 0;
}

int
ngxz_copy(struct ngxz_proc *p, struct ngxz_zone *z, const struct ngxz_how *how)
{
    p->err = NGXZ_OK;
    z->locked = how->lock;
    z->wait_ns = z->hold_ns = 0;
    if (how->lock) {
        return ngxz_copy_locked(p, z, how->wait_ms);
    }
    return ngxz_copy_unlocked(p, z, how->tries);
}
