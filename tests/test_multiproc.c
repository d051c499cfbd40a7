/*
 * test_multiproc: the slab shared by forked workers, over every zone method.
 *
 * N workers allocate and free concurrently on one zone.  Each block is
 * filled with a pattern of its owner and sequence number; most blocks are
 * handed to the next worker through a single-producer/single-consumer ring
 * (in a separate shared mapping), which checks the pattern and frees it, so
 * blocks are freed by another process than allocated them.  Every op also
 * bumps a shared non-atomic counter under the zone's lock: if the lock ever
 * let two processes in, increments would be lost.  Afterwards the master
 * checks the zone (slab_check), that every slot is empty, every page free,
 * that the requests the workers made equal the slab's reqs, and that the
 * lock counters saw every acquisition.
 *
 * The crash part: a worker is SIGKILLed while it holds the zone's lock; the
 * master reaps it, force-unlocks, and the blocked workers go on.
 *
 * `test_multiproc hugetlb` runs only the churn over a hugetlb zone, which
 * the default run leaves out; without huge pages it exits with TEST_SKIPPED.
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "substrate/allocator.h"
#include "registry.h"
#include "substrate/diag.h"
#include "substrate/proc.h"
#include "subject/slab.h"
#include "mputil.h"
#include "testutil.h"
#include "testskip.h"

#define NWORKERS  4

struct shared {
    struct mp_ring   ring[NWORKERS];     /* ring[w]: blocks for worker w */
    _Atomic int      done[NWORKERS];     /* worker w produces no more */
    uint64_t         counter;            /* bumped under the zone lock, non-atomic */
    uint64_t         chunk_reqs[NWORKERS];/* chunk requests each worker made */
    uint64_t         lock_ops[NWORKERS]; /* lock acquisitions each worker made */
    uint64_t         bumps[NWORKERS];    /* locked counter bumps each worker made */
    _Atomic int      holding;            /* crash test: victim holds the lock */
    _Atomic int      started;            /* crash test: workers running */
};

static size_t
random_size(uint64_t *rng, size_t P)
{
    uint64_t r = mp_rng(rng) % 100;

    if (r < 70) {
        return mp_rng(rng) % 257;               /* small */
    }
    if (r < 95) {
        return mp_rng(rng) % (P / 2 + 1);       /* any slot */
    }
    return P / 2 + 1 + mp_rng(rng) % (2 * P);   /* 1..3 page runs */
}

/* Locked bump of the non-atomic counter: read, dawdle, write. */
static void
bump(struct slab_pool *pool, struct shared *sh, int w)
{
    volatile uint64_t *c = &sh->counter;
    uint64_t           v;

    shmtx_lock(&pool->mutex);
    v = *c;
    if ((v & 63) == 0) {
        sched_yield();                 /* invite the other process in */
    }
    *c = v + 1;
    shmtx_unlock(&pool->mutex);
    sh->lock_ops[w]++;
    sh->bumps[w]++;
}

/* Exit status: 0 ok, 1 pattern damaged, 2 free refused, 3 check failed. */
static int
worker(struct zone *z, struct shared *sh, int w, unsigned ops)
{
    struct slab_pool *pool = (struct slab_pool *) z->base;
    size_t            P = slab_page_size(pool);
    uint64_t          rng = 0x1234 + (uint64_t) w * 7919, off, size, tag;
    struct { unsigned char *p; size_t size; uint64_t tag; } mine[64];
    unsigned          nmine = 0, i, seq = 0;
    int               bad = 0;

    proc_set_index(w + 1);
    if (z->ops->attach(z) != 0) {
        return 4;
    }
    for (i = 0; i < ops; i++) {
        /* Take what the previous worker handed over: check and free it. */
        while (mp_ring_get(&sh->ring[w], &off, &size, &tag) == 0) {
            unsigned char *p = z->base + off;
            bad |= !mp_intact(p, size, tag);
            bad |= (slab_free(pool, p) != 0) << 1;
            sh->lock_ops[w]++;
        }

        size = random_size(&rng, P);
        tag = ((uint64_t) w << 32) | seq++;
        unsigned char *p = slab_alloc(pool, size);
        sh->lock_ops[w]++;
        if (size <= P / 2) {
            sh->chunk_reqs[w]++;
        }
        if (p == NULL) {
            continue;                   /* a full zone is allowed */
        }
        mp_fill(p, size, tag);
        bump(pool, sh, w);

        if (mp_rng(&rng) % 4 == 0 && nmine < 64) {
            mine[nmine].p = p;          /* keep a while, free ourselves */
            mine[nmine].size = size;
            mine[nmine++].tag = tag;
        } else if (mp_ring_put(&sh->ring[(w + 1) % NWORKERS], (uint64_t) (p - z->base),
                            size, tag) != 0)
        {
            bad |= (slab_free(pool, p) != 0) << 1;    /* ring full: free here */
            sh->lock_ops[w]++;
        }
        if (nmine == 64 || (nmine && mp_rng(&rng) % 8 == 0)) {
            unsigned k = (unsigned) (mp_rng(&rng) % nmine);
            bad |= !mp_intact(mine[k].p, mine[k].size, mine[k].tag);
            bad |= (slab_free(pool, mine[k].p) != 0) << 1;
            sh->lock_ops[w]++;
            mine[k] = mine[--nmine];
        }
    }
    while (nmine) {
        nmine--;
        bad |= !mp_intact(mine[nmine].p, mine[nmine].size, mine[nmine].tag);
        bad |= (slab_free(pool, mine[nmine].p) != 0) << 1;
        sh->lock_ops[w]++;
    }
    atomic_store(&sh->done[w], 1);

    /* Drain until the producer is done and the ring is empty. */
    for (;;) {
        int producer_done = atomic_load(&sh->done[(w + NWORKERS - 1) % NWORKERS]);
        while (mp_ring_get(&sh->ring[w], &off, &size, &tag) == 0) {
            bad |= !mp_intact(z->base + off, size, tag);
            bad |= (slab_free(pool, z->base + off) != 0) << 1;
            sh->lock_ops[w]++;
        }
        if (producer_done) {
            break;
        }
        sched_yield();
    }
    return bad;
}

static int hugetlb_missing;     /* the hugetlb zone could not be made */

static void
run_churn(enum zone_method method, unsigned ops)
{
    const struct allocator_ops *slab = allocator_find("slab");
    struct zone                 z;
    struct shared              *sh;
    struct slab_pool           *pool;
    struct alloc_stats          st;
    struct shmtx_report         rep;
    pid_t                       pid[NWORKERS];
    uint64_t                    reqs = 0, want_reqs = 0, lock_ops = 0;
    int                         w, status;
    unsigned                    i;
    char                        name[64];

    snprintf(name, sizeof(name), "/shmbench-test-mp-%d", (int) getpid());
    if (allocator_zone_create(&z, slab, method, 0, 2048, NULL, name) != 0) {
        if (method == ZONE_HUGETLB) {
            printf("skip the hugetlb churn: %s\n", diag_last());
            hugetlb_missing = 1;
            return;
        }
        CHECK(0, "%s zone: %s", zone_method_name(method), diag_last());
        return;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof(*sh));
    pool = (struct slab_pool *) z.base;

    for (w = 0; w < NWORKERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            alarm(60);
            _exit(worker(&z, sh, w, ops));
        }
    }
    for (w = 0; w < NWORKERS; w++) {
        CHECK(waitpid(pid[w], &status, 0) == pid[w] && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
              "%s: worker %d status %#x (1 pattern, 2 free refused, 4 attach)",
              zone_method_name(method), w, status);
    }

    CHECK(slab_check(pool, z.size, stderr) == 0, "%s: check after churn", zone_method_name(method));
    z.ops->stats(&z, &st);
    for (i = 0; i < st.nslots; i++) {
        CHECK(st.slot[i].used == 0 && st.slot[i].total == 0, "%s: slot %llu used %llu total %llu",
              zone_method_name(method), (unsigned long long) st.slot[i].size,
              (unsigned long long) st.slot[i].used, (unsigned long long) st.slot[i].total);
        reqs += st.slot[i].reqs;
    }
    for (w = 0; w < NWORKERS; w++) {
        want_reqs += sh->chunk_reqs[w];
        lock_ops += sh->lock_ops[w];
    }
    CHECK(st.pages_free == st.pages, "%s: %llu of %llu pages free", zone_method_name(method),
          (unsigned long long) st.pages_free, (unsigned long long) st.pages);
    CHECK(reqs == want_reqs, "%s: slab counted %llu requests, workers made %llu",
          zone_method_name(method), (unsigned long long) reqs, (unsigned long long) want_reqs);
    {
        uint64_t bumps = 0;
        for (w = 0; w < NWORKERS; w++) {
            bumps += sh->bumps[w];
        }
        CHECK(bumps > 0 && sh->counter == bumps, "%s: locked counter %llu, bumps %llu",
              zone_method_name(method), (unsigned long long) sh->counter,
              (unsigned long long) bumps);
    }
    shmtx_report(z.ctl->lockstat, &rep);
    CHECK(rep.acquisitions == lock_ops, "%s: lock counted %llu acquisitions, workers made %llu",
          zone_method_name(method), (unsigned long long) rep.acquisitions,
          (unsigned long long) lock_ops);
    for (w = 0; w < NWORKERS; w++) {
        CHECK(z.ctl->lockstat[w + 1].acquisitions == sh->lock_ops[w],
              "worker %d's own counter slot", w);
    }
    printf("%-8s %u workers x %u ops: %llu lock acquisitions, %llu contended, %llu sleeps, "
           "%llu owner switches\n", zone_method_name(method), NWORKERS, ops,
           (unsigned long long) rep.acquisitions, (unsigned long long) rep.contended,
           (unsigned long long) rep.sleeps, (unsigned long long) rep.owner_switches);
    munmap(sh, sizeof(*sh));
    zone_destroy(&z);
}

/* Mutual exclusion: the non-atomic counter equals the locked bumps. */
static void
run_exclusion(void)
{
    const struct allocator_ops *slab = allocator_find("slab");
    struct zone                 z;
    struct shared              *sh;
    struct slab_pool           *pool;
    pid_t                       pid[NWORKERS];
    int                         w, status;
    const unsigned              n = 200000;

    CHECK(allocator_zone_create(&z, slab, ZONE_ANON, 0, 16, NULL, NULL) == 0, "zone");
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof(*sh));
    pool = (struct slab_pool *) z.base;
    for (w = 0; w < NWORKERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            unsigned i;
            alarm(60);
            proc_set_index(w + 1);
            for (i = 0; i < n; i++) {
                bump(pool, sh, w);
            }
            _exit(0);
        }
    }
    for (w = 0; w < NWORKERS; w++) {
        waitpid(pid[w], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exclusion worker %d", w);
    }
    CHECK(sh->counter == (uint64_t) NWORKERS * n, "lost updates: counter %llu, expected %llu",
          (unsigned long long) sh->counter, (unsigned long long) NWORKERS * n);
    munmap(sh, sizeof(*sh));
    zone_destroy(&z);
}

/* A worker dies holding the lock; the master force-unlocks; others go on. */
static void
run_crash(void)
{
    const struct allocator_ops *slab = allocator_find("slab");
    struct zone                 z;
    struct shared              *sh;
    struct slab_pool           *pool;
    pid_t                       victim, pid[2];
    int                         w, status;
    struct timespec             nap = { 0, 100 * 1000000 };

    CHECK(allocator_zone_create(&z, slab, ZONE_ANON, 0, 256, NULL, NULL) == 0, "zone");
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof(*sh));
    pool = (struct slab_pool *) z.base;

    victim = fork();
    if (victim == 0) {
        proc_set_index(1);
        shmtx_lock(&pool->mutex);
        atomic_store(&sh->holding, 1);
        for (;;) {
            pause();
        }
    }
    while (!atomic_load(&sh->holding)) {
        sched_yield();
    }
    CHECK(shmtx_owner(&pool->mutex) == victim, "victim holds the lock");

    for (w = 0; w < 2; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            uint64_t rng = (uint64_t) w + 1;
            unsigned i;
            void    *p;
            alarm(30);
            proc_set_index(w + 2);
            atomic_fetch_add(&sh->started, 1);
            for (i = 0; i < 20000; i++) {       /* blocks until the force-unlock */
                p = slab_alloc(pool, random_size(&rng, 4096));
                if (p && slab_free(pool, p) != 0) {
                    _exit(2);
                }
            }
            _exit(0);
        }
    }
    while (atomic_load(&sh->started) < 2) {
        sched_yield();
    }
    nanosleep(&nap, NULL);                      /* let them block on the lock */
    CHECK(shmtx_owner(&pool->mutex) == victim, "still held while the victim lives");

    kill(victim, SIGKILL);
    CHECK(waitpid(victim, &status, 0) == victim && WIFSIGNALED(status), "victim reaped");
    CHECK(shmtx_force_unlock(&pool->mutex, pid[0]) == 0, "force-unlock of a non-holder refused");
    CHECK(shmtx_force_unlock(&pool->mutex, victim) == 1, "force-unlock of the dead holder");
    for (w = 0; w < 2; w++) {
        CHECK(waitpid(pid[w], &status, 0) == pid[w] && WIFEXITED(status)
              && WEXITSTATUS(status) == 0, "worker %d after the crash: status %#x", w, status);
    }
    CHECK(slab_check(pool, z.size, stderr) == 0, "check after the crash");
    CHECK(pool->pfree == slab_npages(pool), "all pages free after the crash");
    munmap(sh, sizeof(*sh));
    zone_destroy(&z);
}

int
main(int argc, char **argv)
{
    proc_init();
    if (argc > 1 && strcmp(argv[1], "hugetlb") == 0) {
        run_churn(ZONE_HUGETLB, 20000);
        if (hugetlb_missing) {
            return TEST_SKIPPED;
        }
        return test_summary("test_multiproc hugetlb");
    }
    run_exclusion();
    run_churn(ZONE_ANON, 60000);
    run_churn(ZONE_DEVZERO, 20000);
    run_churn(ZONE_SYSV, 20000);
    run_churn(ZONE_POSIX, 20000);
    run_crash();
    return test_summary("test_multiproc");
}
