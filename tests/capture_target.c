/*
 * capture_target: a program with a known sequence of heap calls, for the
 * capture test (tests/capture_test.sh, part `target`).
 *
 * It runs under `shmbench capture` and writes, to the file named by its
 * argument, what the trace must hold: one line per recorded op, in the
 * order of its stream (`main`, the two threads `t1` and `t2`, the forked
 * `child`), each block named by the program, not by the library's ID:
 *
 *   STREAM a NAME SIZE          an `a` of SIZE bytes
 *   STREAM al NAME SIZE ALIGN   `# align ALIGN`, then an `a` of SIZE bytes
 *   STREAM f NAME               an `f` of NAME's ID
 *   STREAM fail FN SIZE         a `# fail FN SIZE` comment
 *   child live NAME             NAME is among the blocks the child's file
 *                               starts with, under its parent's ID and size
 *   pid PID                     the child's PID (its file is FILE.PID)
 *
 * Every size the program asks for is one no other call here asks for, so
 * the checker finds each op by its size among the C library's own calls
 * (the threads' TLS blocks).  The threads start together at a barrier and
 * interleave; each stream's order is its thread's program order.  The
 * program writes with write(2) and formats into static buffers: stdio
 * would allocate.  Before the fork it closes every descriptor above
 * stderr (the library's too) and opens a file that takes the number; after
 * it, a vfork() child ends by _exit.  It exits 0 if every call returned what the C library
 * promises (calloc's zeroes, realloc's contents, alignments, NULLs), 1
 * otherwise; the child ends by _exit, which the library must flush in.
 *
 * `capture_target --stress THREADS OPS` is the other mode: THREADS threads
 * run OPS random steps each over one shared array of blocks, taking a
 * block out with an atomic exchange and freeing, reallocating or
 * replacing it, so that most blocks are freed by another thread than the
 * one that allocated them and calls overlap all the time.  Sizes are 5000
 * to 5999 bytes, which nothing else here asks for; it prints
 * `allocs N frees M`, the successful calls of those sizes (a realloc
 * counts one of each), for the test to compare with the trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <malloc.h>

#include "prng.h"

#define TARGET_THREAD_OPS 300
#define TARGET_TAKE_TURNS 100        /* ops the two threads strictly alternate */
#define STRESS_SLOTS      512
#define STRESS_THREADS    16

struct target_log {
    char   buf[1 << 16];
    size_t len;
};

static struct target_log log_main, log_thread[2], log_child;
static pthread_barrier_t barrier;
static int               turn;       /* which thread's op is next, while alternating */
static int               bad;

static void
say(struct target_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct target_log *l, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof(l->buf) - l->len) {
        bad = 1;
        return;
    }
    l->len += (size_t) n;
}

static void
expect(int cond, const char *what)
{
    if (!cond) {
        bad = 1;
        if (write(STDERR_FILENO, what, strlen(what)) < 0 || write(STDERR_FILENO, "\n", 1) < 0) {
            return;
        }
    }
}

static void
put(int fd, const struct target_log *l)
{
    if (write(fd, l->buf, l->len) != (ssize_t) l->len) {
        bad = 1;
    }
}

/* Thread t: blocks of sizes 20000 * (t + 1) + k, each second one freeing
 * the one before, then one realloc, then the rest freed.  The first
 * TARGET_TAKE_TURNS steps alternate with the other thread's (so that the
 * trace surely interleaves them), the rest run freely (so that calls
 * surely overlap). */
static void *
target_thread(void *arg)
{
    int                t = (int) (intptr_t) arg;
    struct target_log *l = &log_thread[t];
    const char        *s = t ? "t2" : "t1";
    size_t             base = 20000 * (size_t) (t + 1), k;
    char              *p[TARGET_THREAD_OPS], *q;

    pthread_barrier_wait(&barrier);
    for (k = 0; k < TARGET_THREAD_OPS; k++) {
        while (k < TARGET_TAKE_TURNS && __atomic_load_n(&turn, __ATOMIC_ACQUIRE) != t) {
            sched_yield();
        }
        p[k] = malloc(base + k);
        expect(p[k] != NULL, "thread malloc failed");
        say(l, "%s a b%zu %zu\n", s, k, base + k);
        if (k & 1) {
            free(p[k - 1]);
            p[k - 1] = NULL;
            say(l, "%s f b%zu\n", s, k - 1);
        }
        if (k < TARGET_TAKE_TURNS) {
            __atomic_store_n(&turn, 1 - t, __ATOMIC_RELEASE);
        }
    }
    q = realloc(p[1], base + TARGET_THREAD_OPS + 1);
    expect(q != NULL, "thread realloc failed");
    say(l, "%s f b1\n%s a r1 %zu\n", s, s, base + TARGET_THREAD_OPS + 1);
    p[1] = q;
    for (k = 1; k < TARGET_THREAD_OPS; k += 2) {
        free(p[k]);
        say(l, "%s f %s%zu\n", s, k == 1 ? "r" : "b", k);
    }
    return NULL;
}

/* After fork: free an inherited block, allocate, and _exit. */
static void
target_child(char *keep)
{
    char *a, *b;

    say(&log_child, "child live keep\n");
    a = malloc(3001);
    say(&log_child, "child a k1 3001\n");
    free(keep);
    say(&log_child, "child f keep\n");
    free(a);
    say(&log_child, "child f k1\n");
    b = malloc(3002);
    say(&log_child, "child a k2 3002\n");
    expect(a != NULL && b != NULL, "child malloc failed");
    (void) b;                     /* left live: the end line counts it */
}

static void
target_aligned(struct target_log *l, size_t page)
{
    void *pm = NULL, *aa, *ma, *va, *pv;

    expect(posix_memalign(&pm, 64, 1006) == 0, "posix_memalign failed");
    say(l, "main al pm 1006 64\n");
    aa = aligned_alloc(256, 1792);
    say(l, "main al aa 1792 256\n");
    ma = memalign(4096, 1008);
    say(l, "main al ma 1008 4096\n");
    va = valloc(1009);
    say(l, "main al va 1009 %zu\n", page);
    pv = pvalloc(9000);
    say(l, "main al pv %zu %zu\n", (9000 + page - 1) / page * page, page);
    expect(((uintptr_t) pm & 63) == 0 && ((uintptr_t) aa & 255) == 0
           && ((uintptr_t) ma & 4095) == 0 && ((uintptr_t) va & (page - 1)) == 0
           && ((uintptr_t) pv & (page - 1)) == 0, "misaligned block");
    free(pm);
    say(l, "main f pm\n");
    free(aa);
    say(l, "main f aa\n");
    free(ma);
    say(l, "main f ma\n");
    free(va);
    say(l, "main f va\n");
    free(pv);
    say(l, "main f pv\n");
}

static void
target_realloc(struct target_log *l)
{
    /* volatile: the compiler must not see (and warn of) the sizes */
    volatile size_t huge = (size_t) 1 << 62, many = SIZE_MAX / 2;
    char           *r, *r2, *ra;
    size_t          i;

    r = realloc(NULL, 1003);
    say(l, "main a r1 1003\n");
    memset(r, 'x', 1003);
    r2 = realloc(r, 5003);
    say(l, "main f r1\nmain a r2 5003\n");
    for (i = 0; i < 1003 && r2[i] == 'x'; i++) {
    }
    expect(i == 1003, "realloc grow lost the contents");
    r = realloc(r2, 1005);
    say(l, "main f r2\nmain a r3 1005\n");
    expect(r != NULL && r[1002] == 'x', "realloc shrink lost the contents");
    /* glibc frees and returns NULL */
    expect(realloc(r, 0) == NULL, "realloc(p, 0) did not return NULL");
    say(l, "main f r3\n");
    free(NULL);                   /* not recorded */
    ra = reallocarray(NULL, 9, 113);
    say(l, "main a ra 1017\n");
    free(ra);
    say(l, "main f ra\n");
    errno = 0;
    expect(malloc(huge) == NULL && errno == ENOMEM, "a 2^62-byte malloc did not fail with ENOMEM");
    say(l, "main fail malloc %zu\n", huge);
    expect(calloc(many, 4) == NULL, "an overflowing calloc succeeded");
    say(l, "main fail calloc %zu\n", (size_t) SIZE_MAX);
}

static void   *stress_slot[STRESS_SLOTS];
static unsigned long stress_ops;
static unsigned long stress_allocs, stress_frees;

static void *
stress_thread(void *arg)
{
    uint64_t      seed = (uint64_t) (uintptr_t) arg, r;
    unsigned long i, allocs = 0, frees = 0;
    void         *p, *q;
    size_t        n;

    for (i = 0; i < stress_ops; i++) {
        r = prng_next(&seed);
        n = 5000 + (size_t) (r >> 32) % 1000;
        p = __atomic_exchange_n(&stress_slot[r % STRESS_SLOTS], NULL, __ATOMIC_ACQ_REL);
        if (p != NULL && (r & 0x300) == 0) {
            free(p);
            frees++;
            continue;
        }
        if (p != NULL) {
            q = realloc(p, n);
            if (q == NULL) {
                bad = 1;
                q = p;
            } else {
                allocs++;
                frees++;
            }
        } else {
            q = (r & 0x400) ? calloc(1, n) : malloc(n);
            allocs += q != NULL;
        }
        q = __atomic_exchange_n(&stress_slot[(r >> 16) % STRESS_SLOTS], q, __ATOMIC_ACQ_REL);
        if (q != NULL) {
            free(q);
            frees++;
        }
    }
    __atomic_add_fetch(&stress_allocs, allocs, __ATOMIC_RELAXED);
    __atomic_add_fetch(&stress_frees, frees, __ATOMIC_RELAXED);
    return NULL;
}

static int
stress(const char *threads, const char *ops)
{
    pthread_t th[STRESS_THREADS];
    char      line[64];
    long      i, n = atol(threads);
    int       len;

    stress_ops = (unsigned long) atol(ops);
    if (n < 1 || n > STRESS_THREADS) {
        return 2;
    }
    for (i = 0; i < n; i++) {
        if (pthread_create(&th[i], NULL, stress_thread, (void *) (uintptr_t) (i + 1)) != 0) {
            return 1;
        }
    }
    for (i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
    }
    for (i = 0; i < STRESS_SLOTS; i++) {
        if (stress_slot[i]) {
            free(stress_slot[i]);
            stress_frees++;
        }
    }
    len = snprintf(line, sizeof(line), "allocs %lu frees %lu\n", stress_allocs, stress_frees);
    if (write(STDOUT_FILENO, line, (size_t) len) != len) {
        return 1;
    }
    return bad;
}

int
main(int argc, char **argv)
{
    struct target_log *l = &log_main;
    pthread_t          th[2];
    char              *m1, *c1, *m2, *keep, decoy_path[4096];
    size_t             i, page = (size_t) sysconf(_SC_PAGESIZE);
    struct stat        st;
    pid_t              pid;
    int                fd, decoy, status;

    if (argc == 4 && strcmp(argv[1], "--stress") == 0) {
        return stress(argv[2], argv[3]);
    }
    if (argc != 2) {
        if (write(STDERR_FILENO, "usage: capture_target EXPECTED | --stress THREADS OPS\n", 54) < 0) {
            return 2;
        }
        return 2;
    }
    m1 = malloc(1001);
    say(l, "main a m1 1001\n");
    c1 = calloc(11, 92);
    say(l, "main a c1 1012\n");
    for (i = 0; i < 1012 && c1[i] == 0; i++) {
    }
    expect(m1 != NULL && i == 1012, "calloc gave no zeroes");
    target_realloc(l);
    target_aligned(l, page);
    keep = malloc(1018);
    say(l, "main a keep 1018\n");

    pthread_barrier_init(&barrier, NULL, 2);
    for (i = 0; i < 2; i++) {
        expect(pthread_create(&th[i], NULL, target_thread, (void *) (intptr_t) i) == 0,
               "pthread_create failed");
    }
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }

    /* Every descriptor above stderr closed, the library's among them, and
     * its number given to a file of the program's: the trace must go on
     * in the trace file, and nothing into this one. */
    for (fd = 3; fd < 1024; fd++) {
        close(fd);
    }
    snprintf(decoy_path, sizeof(decoy_path), "%s.decoy", argv[1]);
    decoy = open(decoy_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    expect(decoy >= 0, "cannot create the decoy file");
    m2 = malloc(1019);
    say(l, "main a m2 1019\n");
    free(m2);
    say(l, "main f m2\n");

    pid = fork();
    if (pid == 0) {
        target_child(keep);
        fd = open(argv[1], O_WRONLY | O_APPEND);
        if (fd < 0) {
            _exit(1);
        }
        put(fd, &log_child);
        close(fd);
        _exit(bad);
    }
    expect(pid > 0, "fork failed");
    expect(waitpid(pid, &status, 0) == pid && WIFEXITED(status)
           && WEXITSTATUS(status) == 0, "the child failed");
    say(l, "pid %ld\n", (long) pid);
    free(keep);
    say(l, "main f keep\n");
    /* A vfork() child that ends by _exit shares this buffer (holding the
     * free just made): it must leave it alone. */
    pid = vfork();
    if (pid == 0) {
        _exit(0);
    }
    expect(pid > 0 && waitpid(pid, &status, 0) == pid, "vfork failed");
    free(m1);
    say(l, "main f m1\n");
    free(c1);
    say(l, "main f c1\n");

    expect(fstat(decoy, &st) == 0 && st.st_size == 0, "the trace went into the decoy file");
    close(decoy);
    fd = open(argv[1], O_WRONLY | O_APPEND);
    expect(fd >= 0, "cannot open the expectations file");
    put(fd, l);
    put(fd, &log_thread[0]);
    put(fd, &log_thread[1]);
    close(fd);
    return bad;
}
