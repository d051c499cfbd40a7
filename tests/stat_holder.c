/*
 * stat_holder: the other processes of tests/stat_live.sh, which tests
 * `shmbench stat` on zones that someone else is using.
 *
 *   stat_holder make ALLOC NAME SIZE     create a posix zone NAME of SIZE
 *                                        bytes formatted by ALLOC, and keep it
 *   stat_holder churn NAME PROCS         PROCS workers (proc_index 0 ..)
 *                                        allocate, fill and free blocks in
 *                                        NAME until SIGTERM (at most 60 s),
 *                                        then free all
 *   stat_holder hold NAME                take NAME's lock and keep it until
 *                                        SIGTERM (at most 60 s)
 *   stat_holder die NAME                 take NAME's lock and exit holding it
 *   stat_holder unlock NAME PID          force-unlock NAME's lock from PID
 *
 * Each command that goes on in the background prints "ready" on stdout once
 * it is under way (churn: once every worker has done its first operations;
 * hold: once it holds the lock), so that the script knows when to look.  A
 * churn worker stops between two operations, never holding the lock, so
 * the zone it leaves is consistent; it exits 1 if the allocator refused one
 * of its frees.  Exit status 2: bad arguments or a set-up that failed, with
 * the reason on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prng.h"
#include "registry.h"
#include "substrate/clock.h"
#include "substrate/diag.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"
#include "testutil.h"

#define HOLDER_LIVE    2000          /* blocks a churn worker keeps */
#define HOLDER_MAX     3000          /* their sizes: 1 .. HOLDER_MAX bytes */
#define HOLDER_LIMIT_S 60            /* nothing runs longer */

static volatile sig_atomic_t holder_stop;

static void
holder_on_term(int sig)
{
    (void) sig;
    holder_stop = 1;
}

static int
holder_fail(const char *what)
{
    fprintf(stderr, "stat_holder: %s: %s\n", what, diag_last());
    return 2;
}

/* Attach NAME read-write and find its allocator; 0 or -1 (said). */
static int
holder_attach(struct zone *z, const char *name)
{
    if (zone_attach(z, name, 0) != 0) {
        holder_fail("attach");
        return -1;
    }
    z->ops = allocator_find(z->ctl->allocator);
    if (z->ops == NULL || z->ops->lock == NULL) {
        fprintf(stderr, "stat_holder: %s: no allocator with a lock\n", name);
        return -1;
    }
    return 0;
}

/* Whether the run is over: SIGTERM, or the limit. */
static int
holder_done(uint64_t t0)
{
    return holder_stop || clock_ns() - t0 > (uint64_t) HOLDER_LIMIT_S * 1000000000u;
}

static int
holder_make(const char *alloc, const char *name, const char *size)
{
    const struct allocator_ops *ops = allocator_find(alloc);
    struct zone                 z;

    if (ops == NULL) {
        return holder_fail("make");
    }
    if (allocator_zone_create(&z, ops, ZONE_POSIX, strtoull(size, NULL, 0), 0, NULL,
                              name) != 0)
    {
        return holder_fail("make");
    }
    z.owner = 0;                /* keep the name */
    zone_destroy(&z);
    return 0;
}

/* Worker w: keep HOLDER_LIVE blocks, replacing a random one each step. */
static int
holder_worker(struct zone *z, int w, int ready_fd)
{
    void    *blk[HOLDER_LIVE] = { 0 };
    uint64_t rng = 0x5747 + (uint64_t) w, t0 = clock_ns(), n, size;
    unsigned i;
    int      bad = 0;
    char     c = 'r';

    if (proc_set_index(w) != 0 || (z->ops->attach && z->ops->attach(z) != 0)) {
        return holder_fail("worker attach");
    }
    for (n = 0; !holder_done(t0); n++) {
        i = (unsigned) prng_below(&rng, HOLDER_LIVE);
        if (blk[i] != NULL && z->ops->free(z, blk[i]) != 0) {
            bad = 1;
        }
        size = 1 + prng_below(&rng, HOLDER_MAX);
        blk[i] = z->ops->alloc(z, size);
        if (blk[i] != NULL) {
            memset(blk[i], w + 1, size);        /* use it, out of the lock */
        }
        if (n == HOLDER_LIVE && write(ready_fd, &c, 1) != 1) {
            return 2;
        }
    }
    for (i = 0; i < HOLDER_LIVE; i++) {
        if (blk[i] != NULL && z->ops->free(z, blk[i]) != 0) {
            bad = 1;
        }
    }
    return bad;
}

static int
holder_churn(const char *name, int procs)
{
    struct zone     z;
    struct timespec tick = { 0, 10000000 };
    pid_t           pid[PROC_INDEX_SHARED];
    int             fds[2], w, rc = 0, st;
    char            c;

    if (procs < 1 || procs >= PROC_INDEX_SHARED || pipe(fds) != 0) {
        fprintf(stderr, "stat_holder: churn: 1 .. %d workers\n", PROC_INDEX_SHARED - 1);
        return 2;
    }
    if (holder_attach(&z, name) != 0) {
        return 2;
    }
    signal(SIGTERM, holder_on_term);
    for (w = 0; w < procs; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            close(fds[0]);
            _exit(holder_worker(&z, w, fds[1]));
        }
    }
    close(fds[1]);
    for (w = 0; w < procs && read(fds[0], &c, 1) == 1; w++) {
        /* one byte per worker under way */
    }
    printf("ready\n");
    fflush(stdout);
    while (!holder_stop) {
        nanosleep(&tick, NULL);
    }
    for (w = 0; w < procs; w++) {
        kill(pid[w], SIGTERM);
    }
    for (w = 0; w < procs; w++) {
        st = wait_child(pid[w]);
        if (st != 0) {
            fprintf(stderr, "stat_holder: worker %d exited %d\n", w, st);
            rc = 1;
        }
    }
    return rc;
}

static int
holder_hold(const char *name, int die)
{
    struct zone     z;
    struct shmtx   *m;
    struct timespec tick = { 0, 10000000 };
    uint64_t        t0 = clock_ns();

    if (holder_attach(&z, name) != 0) {
        return 2;
    }
    signal(SIGTERM, holder_on_term);
    m = z.ops->lock(&z);
    shmtx_lock(m);
    if (die) {
        _exit(0);               /* holding it */
    }
    printf("ready\n");
    fflush(stdout);
    while (!holder_done(t0)) {
        nanosleep(&tick, NULL);
    }
    shmtx_unlock(m);
    return 0;
}

static int
holder_unlock(const char *name, const char *pid)
{
    struct zone z;

    if (holder_attach(&z, name) != 0) {
        return 2;
    }
    if (!shmtx_force_unlock(z.ops->lock(&z), (pid_t) strtol(pid, NULL, 10))) {
        fprintf(stderr, "stat_holder: the lock of %s is not held by %s\n", name, pid);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (strcmp(cmd, "make") == 0 && argc == 5) {
        return holder_make(argv[2], argv[3], argv[4]);
    }
    if (strcmp(cmd, "churn") == 0 && argc == 4) {
        return holder_churn(argv[2], atoi(argv[3]));
    }
    if ((strcmp(cmd, "hold") == 0 || strcmp(cmd, "die") == 0) && argc == 3) {
        return holder_hold(argv[2], cmd[0] == 'd');
    }
    if (strcmp(cmd, "unlock") == 0 && argc == 4) {
        return holder_unlock(argv[2], argv[3]);
    }
    fprintf(stderr, "usage: stat_holder make ALLOC NAME SIZE | churn NAME PROCS | "
                    "hold NAME | die NAME | unlock NAME PID\n");
    return 2;
}
