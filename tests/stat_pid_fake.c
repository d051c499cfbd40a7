/*
 * stat_pid_fake: a process whose shared memory looks like nginx's, for
 * tests/stat_pid_fake.sh, which tests `shmbench stat --pid` where no real
 * nginx is at hand and in states a real nginx does not get into on demand.
 *
 * Like nginx's master, it maps its zones with anonymous shared mappings and
 * formats them with nginx's own slab code (the `nginx` allocator, built from
 * nginx's source): the pool header at the mapping's start, its address and
 * end fields set as ngx_init_zone_pool() sets them, absolute pointers
 * everywhere.  It makes three mappings: zone "f" (1 MiB, with some blocks
 * allocated and a log context ` in fake zone "f"` in the zone), a zone of
 * 64 KiB with no log context, and one page that is no slab zone (nginx's
 * accept-mutex page is such a one).  Then, by MODE:
 *
 *   idle      nothing more
 *   corrupt   zone f's free-page count is one too many (its lock is free)
 *   midop     zone f's lock is held by us, and its free-page count is one
 *             too many: a worker stopped in the middle of an operation
 *   hold      zone f's lock word holds our pid (taken as a worker does)
 *   dead      zone f's lock word holds the pid of a child that has exited
 *
 * It prints "ready" once the state is made, then waits for SIGTERM (60 s at
 * most) and exits 0 if zone f's lock word is as it left it (free, or held
 * by itself or the dead child): a reader that took the lock gave it back.
 * It allows any process to read its memory (PR_SET_PTRACER), as the kernel
 * lets root read nginx's.  Exit status 77: no nginx allocator in this
 * build; 2: bad arguments or a set-up that failed; 1: the lock word was
 * changed.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "subject/slab.h"
#include "substrate/diag.h"
#include "testskip.h"

#define FAKE_ZONE     (1u << 20)
#define FAKE_SMALL    (64u << 10)
#define FAKE_PAGE     4096
#define FAKE_LOGCTX   " in fake zone \"f\""

static volatile sig_atomic_t fake_stop;

static void
fake_on_term(int sig)
{
    (void) sig;
    fake_stop = 1;
}

/* An nginx zone of `size` bytes in a mapping of its own, formatted by
 * nginx's slab code; NULL on failure (said on stderr). */
static struct slab_pool *
fake_zone(const struct allocator_ops *ng, struct zone *z, size_t size)
{
    struct alloc_params p = { .page_size = FAKE_PAGE };

    memset(z, 0, sizeof(*z));
    z->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    z->ctl = calloc(1, ZONE_CTL_SIZE);
    if (z->base == MAP_FAILED || z->ctl == NULL) {
        fprintf(stderr, "stat_pid_fake: no memory for a zone\n");
        return NULL;
    }
    z->size = size;
    z->map = z->base;
    z->map_size = size;
    z->ops = ng;
    if (ng->init(z, &p) != 0) {
        fprintf(stderr, "stat_pid_fake: nginx's slab init: %s\n", diag_last());
        return NULL;
    }
    return (struct slab_pool *) z->base;
}

int
main(int argc, char **argv)
{
    const struct allocator_ops *ng = allocator_find("nginx");
    struct zone                 f, s;
    struct slab_pool           *pool;
    _Atomic uint64_t           *word;
    uint64_t                    want = 0;
    struct timespec             tick = { 0, 10000000 };
    time_t                      until = time(NULL) + 60;
    char                       *ctx;
    unsigned                    i;
    void                       *page;
    pid_t                       child;

    if (argc != 2) {
        fprintf(stderr, "usage: stat_pid_fake idle|corrupt|midop|hold|dead\n");
        return 2;
    }
    if (ng == NULL) {
        printf("skip: the nginx allocator is not built (no nginx source)\n");
        return TEST_SKIPPED;
    }
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    signal(SIGTERM, fake_on_term);
    if ((pool = fake_zone(ng, &f, FAKE_ZONE)) == NULL || fake_zone(ng, &s, FAKE_SMALL) == NULL) {
        return 2;
    }
    page = mmap(NULL, FAKE_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        return 2;
    }
    memset(page, 0x5a, FAKE_PAGE);
    /* The log context, as nginx's modules put it: a block of the zone. */
    ctx = ng->alloc(&f, sizeof(FAKE_LOGCTX));
    if (ctx == NULL) {
        return 2;
    }
    memcpy(ctx, FAKE_LOGCTX, sizeof(FAKE_LOGCTX));
    pool->log_ctx = (uint64_t) (uintptr_t) ctx;
    for (i = 0; i < 100; i++) {
        if (ng->alloc(&f, 8 + i * 37) == NULL) {     /* chunks of every slot, runs */
            return 2;
        }
    }
    word = (_Atomic uint64_t *) (void *) &pool->lock;

    if (strcmp(argv[1], "corrupt") == 0 || strcmp(argv[1], "midop") == 0) {
        pool->pfree++;
        want = strcmp(argv[1], "midop") == 0 ? (uint64_t) getpid() : 0;
    } else if (strcmp(argv[1], "hold") == 0) {
        want = (uint64_t) getpid();
    } else if (strcmp(argv[1], "dead") == 0) {
        child = fork();
        if (child == 0) {
            atomic_store(word, (uint64_t) getpid());
            _exit(0);
        }
        if (child < 0 || waitpid(child, NULL, 0) != child) {
            return 2;
        }
        want = (uint64_t) child;
    } else if (strcmp(argv[1], "idle") != 0) {
        fprintf(stderr, "stat_pid_fake: unknown mode %s\n", argv[1]);
        return 2;
    }
    if (want != 0) {
        atomic_store(word, want);
    }
    printf("ready\n");
    fflush(stdout);
    while (!fake_stop && time(NULL) < until) {
        nanosleep(&tick, NULL);
    }
    free(f.ctl);
    free(s.ctl);
    return atomic_load(word) == want ? 0 : 1;
}
