/*
 * test_shmtx: the lock excludes across processes (semaphore and trylock-only
 * variants), counts exactly into per-process slots (or the shared overflow
 * slot), survives a holder killed by SIGKILL through force_unlock, ignores
 * unlocks by non-holders, counts nothing when counting is off, and works
 * through a mapping at another address.
 *
 * The sleep path: with no spin rounds and long holds, waiters sleep on the
 * semaphore; every sleep counted is one sem_wait() call, every wakeup one
 * sem_post() consumed, and the wait word and the semaphore balance at rest.
 * A sleeper interrupted by a signal sleeps again without announcing itself
 * twice.  A holder force-unlocked while alive does not release the next
 * holder's lock when it unlocks late, nor count its hold.
 *
 * The semaphore's failures, injected: the program is linked with
 * `ld --wrap` for sem_init, sem_wait, sem_post and sem_destroy
 * (tests/lock.cmake), and the wrappers below count every call (in shared
 * memory, over all processes) and fail the next one with a given errno when
 * asked.  A lock whose semaphore cannot be created says so and works by
 * sched_yield(); a failed sem_wait, sem_post or sem_destroy leaves its
 * message (nginx would log an alert) and the lock usable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "substrate/clock.h"
#include "substrate/diag.h"
#include "testutil.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"
#include "substrate/zone.h"

/* How many of the acquisitions 1..n are timed. */
static uint64_t
sampled_upto(uint64_t n)
{
    uint64_t k, c = 0;

    for (k = 1; k <= n; k++) {
        c += (uint64_t) shmtx_hold_sampled(k);
    }
    return c;
}


_Static_assert(sizeof(struct shmtx) == 64, "struct shmtx is 64 bytes");
_Static_assert(sizeof(struct shmtx_counters) == 128, "a slot is 128 bytes");
_Static_assert(sizeof(struct shmtx_lockword) == 16, "lock words are 16 bytes");

/* Calls of the semaphore functions, by every process (see the wrappers). */
enum { SEM_INIT, SEM_WAIT, SEM_POST, SEM_DESTROY, SEM_NFUNCS };
struct sem_calls {
    _Atomic uint64_t calls[SEM_NFUNCS];
    _Atomic uint64_t wait_ok;       /* sem_wait calls that returned 0 */
    _Atomic uint64_t wait_eintr;    /* ... that a signal interrupted */
};

/* What the processes share, besides the lock. */
struct shared {
    volatile uint64_t counter;      /* protected by the lock, not atomic */
    volatile int      inside;       /* 1 while somebody holds the lock */
    volatile uint64_t violations;   /* found inside == 1 on entry */
    volatile uint64_t bad_owner;    /* shmtx_owner() != me while holding */
    _Atomic int       go;           /* start barrier */
    _Atomic int       ready;        /* crash test: A holds the lock */
    _Atomic int       started;      /* workers that reached the barrier */
    struct sem_calls  sem;          /* counted by the wrappers */
};

static struct zone             zone;
static struct shmtx_lockword  *word;
static struct shmtx           *mtx;
static struct shmtx_counters  *slots;
static struct shared          *sh;
static unsigned                long_hold_every; /* critical(): see there */


/*
 * The wrappers (ld --wrap=sem_init,...): count the call, then fail it with
 * the errno in fail_sem[] (once, in this process) or make the real one.
 */
int __real_sem_init(sem_t *s, int pshared, unsigned value);
int __real_sem_wait(sem_t *s);
int __real_sem_post(sem_t *s);
int __real_sem_destroy(sem_t *s);
int __wrap_sem_init(sem_t *s, int pshared, unsigned value);
int __wrap_sem_wait(sem_t *s);
int __wrap_sem_post(sem_t *s);
int __wrap_sem_destroy(sem_t *s);

static int fail_sem[SEM_NFUNCS];    /* errno for the next call, 0 = none */

/* Count a call; 1 (errno set) if it is to fail. */
static int
sem_fault(int which)
{
    if (sh != NULL) {
        atomic_fetch_add(&sh->sem.calls[which], 1);
    }
    if (fail_sem[which] != 0) {
        errno = fail_sem[which];
        fail_sem[which] = 0;
        return 1;
    }
    return 0;
}

static uint64_t
sem_calls(int which)
{
    return atomic_load(&sh->sem.calls[which]);
}

int
__wrap_sem_init(sem_t *s, int pshared, unsigned value)
{
    return sem_fault(SEM_INIT) ? -1 : __real_sem_init(s, pshared, value);
}

int
__wrap_sem_wait(sem_t *s)
{
    if (sem_fault(SEM_WAIT)) {
        return -1;
    }
    if (__real_sem_wait(s) != 0) {
        if (errno == EINTR && sh != NULL) {
            atomic_fetch_add(&sh->sem.wait_eintr, 1);
        }
        return -1;
    }
    if (sh != NULL) {
        atomic_fetch_add(&sh->sem.wait_ok, 1);
    }
    return 0;
}

int
__wrap_sem_post(sem_t *s)
{
    return sem_fault(SEM_POST) ? -1 : __real_sem_post(s);
}

int
__wrap_sem_destroy(sem_t *s)
{
    return sem_fault(SEM_DESTROY) ? -1 : __real_sem_destroy(s);
}

/* The semaphore's value (0 if the lock has none). */
static int
sem_value(struct shmtx *m)
{
    int v = 0;

    if (m->semaphore && sem_getvalue(&m->sem, &v) != 0) {
        return -1;
    }
    return v;
}

static void
fresh_lock(uint32_t spin, int with_counters)
{
    memset(zone.base, 0, 8192);
    slots = zone.ctl->lockstat;
    shmtx_counters_reset(slots);
    if (shmtx_create(mtx, word, with_counters ? slots : NULL, spin) != 0) {
        fprintf(stderr, "shmtx_create: %s\n", diag_last());
    }
}

static void
cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* The critical section: read, dawdle, write; checks exclusion. */
static void
critical(pid_t me, uint64_t i)
{
    volatile int sink = 0;
    uint64_t     v;
    int          k;

    if (sh->inside) {
        sh->violations++;
    }
    sh->inside = 1;
    if (shmtx_owner(mtx) != me) {
        sh->bad_owner++;
    }
    v = sh->counter;
    for (k = 0; k < 4; k++) {
        cpu_pause();
        sink += k;
    }
    if ((i & 1023) == 300) {      /* not a timed hold */
        sched_yield();              /* be preempted holding the lock */
    }
    if (long_hold_every && i % long_hold_every == 7) {
        usleep(50);                 /* hold long enough for waiters to sleep */
    }
    sh->counter = v + 1;
    sh->inside = 0;
}

static void
barrier_wait(void)
{
    atomic_fetch_add(&sh->started, 1);
    while (!atomic_load(&sh->go)) {
        sched_yield();
    }
}

static void
barrier_release(int n)
{
    while (atomic_load(&sh->started) < n) {
        sched_yield();
    }
    atomic_store(&sh->go, 1);
}

/* n workers of `iters` lock/critical/unlock each; index i+1 unless shared. */
static void
run_workers(int n, uint64_t iters, int give_index, int use_trylock)
{
    pid_t    pids[8];
    uint64_t i;
    int      w, st;

    atomic_store(&sh->go, 0);
    atomic_store(&sh->started, 0);
    for (w = 0; w < n; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            pid_t me;
            alarm(60);
            if (give_index && proc_set_index(w + 1) != 0) {
                _exit(10);
            }
            if (!give_index && proc_index() != PROC_INDEX_SHARED) {
                _exit(11);
            }
            me = proc_pid();
            if (me != getpid()) {
                _exit(12);
            }
            barrier_wait();
            for (i = 0; i < iters; i++) {
                if (use_trylock) {
                    while (!shmtx_trylock(mtx)) {
                        sched_yield();
                    }
                } else {
                    shmtx_lock(mtx);
                }
                critical(me, i);
                shmtx_unlock(mtx);
            }
            _exit(0);
        }
    }
    barrier_release(n);
    for (w = 0; w < n; w++) {
        st = wait_child(pids[w]);
        CHECK(st == 0, "worker %d exited with %d", w, st);
    }
}

static void
print_report(const char *what)
{
    struct shmtx_report r;

    shmtx_report(slots, &r);
    printf("%-22s acq %llu contended %llu spins %llu yields %llu sleeps %llu "
           "switches %llu samples %llu wait %.0f us (max %.0f us) "
           "hold %.0f us\n", what,
           (unsigned long long) r.acquisitions,
           (unsigned long long) r.contended, (unsigned long long) r.spins,
           (unsigned long long) r.yields, (unsigned long long) r.sleeps,
           (unsigned long long) r.owner_switches,
           (unsigned long long) r.hold_samples, r.wait_ns / 1e3,
           r.wait_max_ns / 1e3, r.hold_ns / 1e3);
}

static void
check_exclusion(const char *what, uint64_t expect)
{
    CHECK(sh->counter == expect, "%s: counter %llu, expected %llu", what,
          (unsigned long long) sh->counter, (unsigned long long) expect);
    CHECK(sh->violations == 0, "%s: %llu exclusion violations", what,
          (unsigned long long) sh->violations);
    CHECK(sh->bad_owner == 0, "%s: owner wrong %llu times", what,
          (unsigned long long) sh->bad_owner);
    CHECK(shmtx_owner(mtx) == 0, "%s: lock left held by %d", what,
          (int) shmtx_owner(mtx));
    /* At rest every announcement was matched by a post: wait is 0, or -k
     * with k posts left in the semaphore (a sleeper that got the lock on its
     * last try after a waker had counted it down, as in nginx). */
    CHECK((int64_t) atomic_load(&word->wait) + sem_value(mtx) == 0,
          "%s: wait %lld and %d posts left", what,
          (long long) atomic_load(&word->wait), sem_value(mtx));
}

static void
test_exclusion(uint32_t spin, const char *what)
{
    const int           n = 4;
    const uint64_t      iters = 200000;
    struct shmtx_report r;
    int                 w;

    fresh_lock(spin, 1);
    run_workers(n, iters, 1, 0);
    check_exclusion(what, n * iters);
    print_report(what);

    shmtx_report(slots, &r);
    CHECK(r.acquisitions == n * iters, "%s: acquisitions %llu", what,
          (unsigned long long) r.acquisitions);
    for (w = 0; w < n; w++) {
        const struct shmtx_counters *c = &slots[w + 1];
        CHECK(c->acquisitions == iters, "%s: slot %d acquisitions %llu",
              what, w + 1, (unsigned long long) c->acquisitions);
        CHECK(c->hold_samples == sampled_upto(iters),
              "%s: slot %d hold samples %llu", what, w + 1,
              (unsigned long long) c->hold_samples);
        CHECK(c->hold_start == 0, "%s: slot %d hold_start left", what, w + 1);
        CHECK(c->wait_max_ticks <= c->wait_ticks, "%s: wait max > total",
              what);
        CHECK(c->owner_switches >= 1 && c->owner_switches <= iters,
              "%s: slot %d switches %llu", what, w + 1,
              (unsigned long long) c->owner_switches);
    }
    CHECK(slots[0].acquisitions == 0
          && slots[PROC_INDEX_SHARED].acquisitions == 0,
          "%s: counts in slots 0 or shared", what);
    CHECK(r.hold_samples == n * sampled_upto(iters)
          && (r.hold_samples == 0 || r.hold_ns > 0), "%s: hold samples %llu",
          what, (unsigned long long) r.hold_samples);
    CHECK(r.contended == 0 || r.wait_ns > 0, "%s: contended without wait",
          what);
    if (spin == SHMTX_TRYLOCK_ONLY) {
        CHECK(r.sleeps == 0 && r.spins == 0,
              "%s: trylock-only lock slept %llu / spun %llu", what,
              (unsigned long long) r.sleeps, (unsigned long long) r.spins);
        CHECK(r.yields >= r.contended, "%s: yields %llu < contended %llu",
              what, (unsigned long long) r.yields,
              (unsigned long long) r.contended);
    } else {
        CHECK(r.yields == 0, "%s: a semaphore lock yielded", what);
    }
    shmtx_destroy(mtx);
}

static void
test_trylock_loop(void)
{
    struct shmtx_report r;

    fresh_lock(SHMTX_TRYLOCK_ONLY, 1);
    run_workers(2, 50000, 1, 1);
    check_exclusion("trylock loop", 100000);
    shmtx_report(slots, &r);
    CHECK(r.acquisitions == 100000 && r.contended == 0,
          "trylock: acquisitions %llu contended %llu",
          (unsigned long long) r.acquisitions,
          (unsigned long long) r.contended);
    /* trylock by the holder and by a free lock */
    CHECK(shmtx_trylock(mtx) == 1 && shmtx_trylock(mtx) == 0,
          "trylock twice");
    shmtx_unlock(mtx);
    CHECK(shmtx_owner(mtx) == 0, "trylock unlock");
}

/* A holder dies by SIGKILL; the master frees its lock; the sleepers go on. */
static void
test_crash(void)
{
    pid_t    a, b, c;
    uint64_t i;
    int      st, k;

    fresh_lock(0, 1);
    atomic_store(&sh->ready, 0);

    a = fork();
    if (a == 0) {
        alarm(30);
        proc_set_index(1);
        /* the next acquisition is a timed one: it dies with hold_start set */
        for (i = 1; !shmtx_hold_sampled(i); i++) {
            shmtx_lock(mtx);
            shmtx_unlock(mtx);
        }
        shmtx_lock(mtx);
        atomic_store(&sh->ready, 1);
        for ( ;; ) {
            pause();
        }
    }
    while (!atomic_load(&sh->ready)) {
        sched_yield();
    }
    CHECK(shmtx_owner(mtx) == a, "crash: owner %d, A is %d",
          (int) shmtx_owner(mtx), (int) a);
    CHECK(slots[1].hold_start != 0, "crash: A's hold is not timed");

    pid_t *bc[2] = { &b, &c };
    for (k = 0; k < 2; k++) {
        *bc[k] = fork();
        if (*bc[k] == 0) {
            pid_t me;
            alarm(20);
            proc_set_index(2 + k);
            me = proc_pid();
            for (i = 0; i < 1000; i++) {
                shmtx_lock(mtx);
                critical(me, i);
                shmtx_unlock(mtx);
            }
            _exit(0);
        }
    }

    /* both announce themselves and sleep on the semaphore */
    for (k = 0; k < 5000 && atomic_load(&word->wait) < 2; k++) {
        usleep(1000);
    }
    CHECK(atomic_load(&word->wait) == 2, "crash: %llu sleepers announced",
          (unsigned long long) atomic_load(&word->wait));
    usleep(20000);
    CHECK(sh->counter == 0 && shmtx_owner(mtx) == a,
          "crash: somebody got past a held lock");

    CHECK(shmtx_force_unlock(mtx, b) == 0, "force_unlock of a non-holder");
    CHECK(shmtx_owner(mtx) == a, "force_unlock of a non-holder released it");

    kill(a, SIGKILL);
    st = wait_child(a);
    CHECK(st == 128 + SIGKILL, "crash: A ended with %d", st);
    CHECK(shmtx_owner(mtx) == a, "crash: lock not held by the dead A");
    CHECK(shmtx_force_unlock(mtx, a) == 1, "crash: force_unlock(A) != 1");
    CHECK(slots[1].hold_start == 0, "crash: dead A's timed hold not dropped");

    st = wait_child(b);
    CHECK(st == 0, "crash: B ended with %d", st);
    st = wait_child(c);
    CHECK(st == 0, "crash: C ended with %d", st);
    check_exclusion("crash", 2000);
    CHECK(shmtx_force_unlock(mtx, a) == 0, "crash: second force_unlock(A)");
    CHECK(slots[0].force_unlocks == 1, "crash: force_unlocks %llu in slot 0",
          (unsigned long long) slots[0].force_unlocks);
    CHECK(slots[2].sleeps >= 1 && slots[3].sleeps >= 1,
          "crash: B slept %llu, C slept %llu",
          (unsigned long long) slots[2].sleeps,
          (unsigned long long) slots[3].sleeps);
    CHECK(shmtx_hold_sampled(slots[1].acquisitions)
          && slots[2].acquisitions == 1000 && slots[3].acquisitions == 1000,
          "crash: acquisitions");
    print_report("crash");

    /* unlock by a process that does not hold the lock does nothing */
    shmtx_lock(mtx);
    b = fork();
    if (b == 0) {
        alarm(10);
        shmtx_unlock(mtx);
        _exit(shmtx_owner(mtx) == getppid() ? 0 : 1);
    }
    CHECK(wait_child(b) == 0, "a non-holder's unlock released the lock");
    CHECK(shmtx_owner(mtx) == proc_pid(), "owner changed by a non-holder");
    CHECK(shmtx_force_unlock(mtx, b) == 0, "force_unlock with a wrong pid");
    shmtx_unlock(mtx);
    CHECK(shmtx_owner(mtx) == 0, "unlock by the holder");
    shmtx_unlock(mtx);
    CHECK(shmtx_owner(mtx) == 0, "second unlock");
    CHECK(shmtx_force_unlock(mtx, proc_pid()) == 0, "force_unlock of free");
    CHECK(shmtx_force_unlock(mtx, 0) == 0, "force_unlock(0)");
    shmtx_destroy(mtx);
}

static int
all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t               i;

    for (i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static void
test_counting_off(void)
{
    pid_t pid;
    int   i;

    fresh_lock(0, 1);
    CHECK(shmtx_counting() == 1, "counting is on by default");
    shmtx_set_counting(0);
    CHECK(shmtx_counting() == 0, "counting off");
    for (i = 0; i < 1000; i++) {
        shmtx_lock(mtx);
        shmtx_unlock(mtx);
    }
    for (i = 0; i < 10; i++) {
        CHECK(shmtx_trylock(mtx) == 1, "trylock");
        shmtx_unlock(mtx);
    }
    /* children inherit the flag, contended or not, indexed or not */
    run_workers(2, 20000, 1, 0);
    check_exclusion("counting off", 40000);
    pid = fork();
    if (pid == 0) {
        for (i = 0; i < 1000; i++) {
            shmtx_lock(mtx);
            shmtx_unlock(mtx);
        }
        _exit(shmtx_counting() != 0);
    }
    CHECK(wait_child(pid) == 0, "child lost the flag");
    CHECK(all_zero(slots, PROC_MAX * sizeof(*slots)),
          "counting off: counters were written");
    CHECK(atomic_load(&mtx->last_owner) == 0, "counting off: last_owner");
    shmtx_set_counting(1);

    shmtx_lock(mtx);
    shmtx_unlock(mtx);
    CHECK(slots[proc_index()].acquisitions == 1
          && slots[proc_index()].owner_switches == 1
          && atomic_load(&mtx->last_owner) == (uint64_t) proc_pid(),
          "counting back on");
    shmtx_destroy(mtx);

    /* no counters at all */
    fresh_lock(0, 0);
    CHECK(shmtx_counters(mtx) == NULL, "counters of a lock without");
    run_workers(2, 20000, 1, 0);
    check_exclusion("no counters", 40000);
    CHECK(all_zero(slots, PROC_MAX * sizeof(*slots)),
          "no counters: slots written");
    shmtx_destroy(mtx);
}

static void
test_shared_slot(void)
{
    const struct shmtx_counters *s;
    int                          i, others = 0;

    fresh_lock(0, 1);
    CHECK(shmtx_counters(mtx) == slots, "counters pointer");
    run_workers(2, 10000, 0, 0);
    check_exclusion("shared slot", 20000);
    s = &slots[PROC_INDEX_SHARED];
    CHECK(s->acquisitions == 20000, "shared slot: %llu acquisitions",
          (unsigned long long) s->acquisitions);
    CHECK(s->hold_samples == sampled_upto(20000),
          "shared slot: %llu hold samples",
          (unsigned long long) s->hold_samples);
    CHECK(s->hold_start == 0, "shared slot: hold_start left");
    CHECK(s->owner_switches >= 2, "shared slot: %llu switches",
          (unsigned long long) s->owner_switches);
    for (i = 0; i < PROC_INDEX_SHARED; i++) {
        others += !all_zero(&slots[i], sizeof(slots[i]));
    }
    CHECK(others == 0, "shared slot: %d other slots written", others);
    print_report("shared slot");
    shmtx_destroy(mtx);
}

/* The lock inside a posix zone, used through a mapping at another address. */
static void
test_relative(void)
{
    struct zone            pz, a;
    struct shmtx_lockword *pw;
    struct shmtx          *pm;
    _Atomic int           *flag;
    char                   name[ZONE_NAME_MAX];
    pid_t                  pid;
    int                    st, k;

    snprintf(name, sizeof(name), "/shmbench-test-shmtx-%d", (int) getpid());
    if (zone_create(&pz, ZONE_POSIX, 65536, 0, name) != 0) {
        CHECK(0, "zone_create(posix): %s", diag_last());
        return;
    }
    pw = (struct shmtx_lockword *) pz.base;
    pm = (struct shmtx *) (pz.base + 104);
    flag = (_Atomic int *) (pz.base + 4096);
    CHECK(shmtx_create(pm, pw, pz.ctl->lockstat, 0) == 0, "create: %s",
          diag_last());
    CHECK(pm->lock_rel == -104
          && pm->stats_rel == (char *) pz.ctl->lockstat - (char *) pm,
          "offsets are self-relative");

    shmtx_lock(pm);
    pid = fork();
    if (pid == 0) {
        struct shmtx *am;
        alarm(20);
        proc_set_index(5);
        if (zone_attach(&a, name, 0) != 0 || a.base == pz.base) {
            _exit(10);
        }
        am = (struct shmtx *) (a.base + 104);
        if (shmtx_owner(am) != getppid() || shmtx_trylock(am)) {
            _exit(11);
        }
        atomic_store((_Atomic int *) (a.base + 4096), 1);
        shmtx_lock(am);             /* sleeps until the master unlocks */
        if (shmtx_owner(pm) != getpid()) {
            _exit(12);
        }
        shmtx_unlock(am);
        _exit(a.ctl->lockstat[5].acquisitions == 1
              && a.ctl->lockstat[5].contended == 1 ? 0 : 13);
    }
    while (!atomic_load(flag)) {
        sched_yield();
    }
    for (k = 0; k < 2000 && atomic_load(&pw->wait) < 1; k++) {
        usleep(1000);
    }
    CHECK(atomic_load(&pw->wait) == 1, "relative: the child did not sleep");
    shmtx_unlock(pm);
    st = wait_child(pid);
    CHECK(st == 0, "relative: child status %d", st);
    CHECK(shmtx_owner(pm) == 0, "relative: left held");
    shmtx_destroy(pm);
    zone_destroy(&pz);
}

/* Waiters that reach the semaphore: spin 1 (no spin rounds: a failed try
 * goes straight to announcing and sleeping) and a 50 us hold in every 64th
 * critical section.  Exclusion holds; the counters agree with the calls the
 * wrappers saw. */
static void
test_sleepers(void)
{
    const int           n = 4;
    const uint64_t      iters = 5000;
    struct shmtx_report r;
    uint64_t            w0, ok0, p0, contended = 0;
    int                 w;

    fresh_lock(1, 1);
    w0 = sem_calls(SEM_WAIT);
    ok0 = atomic_load(&sh->sem.wait_ok);
    p0 = sem_calls(SEM_POST);
    long_hold_every = 64;
    run_workers(n, iters, 1, 0);
    long_hold_every = 0;
    check_exclusion("sleepers", n * iters);
    print_report("sleepers");

    shmtx_report(slots, &r);
    CHECK(r.acquisitions == n * iters, "sleepers: acquisitions %llu",
          (unsigned long long) r.acquisitions);
    CHECK(r.sleeps > 0 && r.contended > 0 && r.wait_ns > 0,
          "sleepers: sleeps %llu, contended %llu, wait %.0f ns",
          (unsigned long long) r.sleeps, (unsigned long long) r.contended,
          r.wait_ns);
    CHECK(r.spins == 0 && r.yields == 0,
          "sleepers: spin 1 spun %llu pauses, yielded %llu times",
          (unsigned long long) r.spins, (unsigned long long) r.yields);
    CHECK(r.sleeps == sem_calls(SEM_WAIT) - w0,
          "sleepers: %llu sleeps counted, %llu sem_wait calls",
          (unsigned long long) r.sleeps,
          (unsigned long long) (sem_calls(SEM_WAIT) - w0));
    /* every post woke one sleeper, except those still in the semaphore */
    CHECK(sem_calls(SEM_POST) - p0
          == atomic_load(&sh->sem.wait_ok) - ok0 + (uint64_t) sem_value(mtx),
          "sleepers: %llu posts, %llu wakeups, %d left",
          (unsigned long long) (sem_calls(SEM_POST) - p0),
          (unsigned long long) (atomic_load(&sh->sem.wait_ok) - ok0),
          sem_value(mtx));
    for (w = 1; w <= n; w++) {
        const struct shmtx_counters *c = &slots[w];
        contended += c->contended;
        CHECK(c->acquisitions == iters, "sleepers: slot %d acquisitions %llu", w,
              (unsigned long long) c->acquisitions);
        CHECK(c->contended <= c->acquisitions
              && (c->sleeps == 0 || c->contended > 0)
              && (c->contended == 0) == (c->wait_ticks == 0)
              && c->wait_max_ticks <= c->wait_ticks,
              "sleepers: slot %d: contended %llu sleeps %llu wait %llu max %llu", w,
              (unsigned long long) c->contended, (unsigned long long) c->sleeps,
              (unsigned long long) c->wait_ticks,
              (unsigned long long) c->wait_max_ticks);
    }
    CHECK(contended == r.contended, "sleepers: contended in other slots");
    shmtx_destroy(mtx);
}

static volatile sig_atomic_t signals_seen;

static void
on_signal(int sig)
{
    (void) sig;
    signals_seen++;
}

/* A sleeper interrupted by signals (sem_wait returns EINTR: never restarted
 * after a handler) sleeps again, announced once, and gets the lock when the
 * holder lets go. */
static void
test_interrupted_sleep(void)
{
    struct sigaction sa;
    uint64_t         w0, intr;
    pid_t            pid;
    int              k, st;

    fresh_lock(0, 1);
    w0 = sem_calls(SEM_WAIT);
    atomic_store(&sh->ready, 0);
    shmtx_lock(mtx);
    pid = fork();
    if (pid == 0) {
        unsigned long before;
        int           ok;

        alarm(20);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;          /* no SA_RESTART */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        proc_set_index(1);
        before = diag_count();
        atomic_store(&sh->ready, 1);
        shmtx_lock(mtx);
        ok = shmtx_owner(mtx) == proc_pid() && diag_count() == before;
        shmtx_unlock(mtx);
        _exit(!ok ? 1 : signals_seen == 0 ? 2 : 0);
    }
    for (k = 0; k < 5000 && !(atomic_load(&sh->ready) && atomic_load(&word->wait) == 1);
         k++)
    {
        usleep(1000);
    }
    CHECK(atomic_load(&word->wait) == 1, "interrupted: the child did not sleep");
    /* signal until three of them have interrupted a sem_wait (a signal
     * that comes before the child is in sem_wait interrupts nothing) */
    for (k = 0; k < 400 && atomic_load(&sh->sem.wait_eintr) < 3; k++) {
        kill(pid, SIGUSR1);
        usleep(5000);
    }
    CHECK(atomic_load(&sh->sem.wait_eintr) >= 3, "interrupted: %llu sem_wait calls "
          "interrupted", (unsigned long long) atomic_load(&sh->sem.wait_eintr));
    CHECK(shmtx_owner(mtx) == proc_pid(), "interrupted: a signal let the sleeper in");
    CHECK(atomic_load(&word->wait) == 1, "interrupted: wait %lld after the signals",
          (long long) atomic_load(&word->wait));
    shmtx_unlock(mtx);
    st = wait_child(pid);
    CHECK(st == 0, "interrupted: child status %d (1: lock or a message, 2: signals)", st);
    intr = atomic_load(&sh->sem.wait_eintr);
    CHECK(slots[1].acquisitions == 1 && slots[1].contended == 1,
          "interrupted: acquisitions %llu contended %llu",
          (unsigned long long) slots[1].acquisitions,
          (unsigned long long) slots[1].contended);
    CHECK(slots[1].sleeps == intr + 1 && slots[1].sleeps == sem_calls(SEM_WAIT) - w0,
          "interrupted: %llu sleeps counted, %llu sem_wait calls, %llu interrupted",
          (unsigned long long) slots[1].sleeps,
          (unsigned long long) (sem_calls(SEM_WAIT) - w0), (unsigned long long) intr);
    CHECK(shmtx_owner(mtx) == 0 && (int64_t) atomic_load(&word->wait) + sem_value(mtx) == 0,
          "interrupted: owner %d, wait %lld, %d posts", (int) shmtx_owner(mtx),
          (long long) atomic_load(&word->wait), sem_value(mtx));
    shmtx_destroy(mtx);
}

/* The master force-unlocks a holder it took for dead, which then unlocks:
 * the late unlock neither releases the next holder's lock nor counts the
 * hold (which was a timed one). */
static void
test_late_unlock(void)
{
    uint64_t i, samples;
    pid_t    pid;
    int      st;

    fresh_lock(0, 1);
    for (i = 1; !shmtx_hold_sampled(i); i++) {
        shmtx_lock(mtx);
        shmtx_unlock(mtx);
    }
    samples = slots[0].hold_samples;
    shmtx_lock(mtx);                        /* the i-th: timed */
    CHECK(slots[0].hold_start != 0, "late unlock: the hold is not timed");
    CHECK(shmtx_force_unlock(mtx, proc_pid()) == 1, "late unlock: force_unlock");
    CHECK(slots[0].hold_start == 0 && slots[0].force_unlocks == 1,
          "late unlock: force_unlock kept the hold or did not count");

    atomic_store(&sh->ready, 0);
    atomic_store(&sh->go, 0);
    pid = fork();
    if (pid == 0) {
        alarm(20);
        proc_set_index(1);
        shmtx_lock(mtx);
        atomic_store(&sh->ready, 1);
        while (!atomic_load(&sh->go)) {
            sched_yield();
        }
        st = shmtx_owner(mtx) == proc_pid();
        shmtx_unlock(mtx);
        _exit(st ? 0 : 1);
    }
    while (!atomic_load(&sh->ready)) {
        sched_yield();
    }
    shmtx_unlock(mtx);                      /* late: B holds it now */
    CHECK(shmtx_owner(mtx) == pid, "late unlock released the next holder's lock (owner %d)",
          (int) shmtx_owner(mtx));
    CHECK(slots[0].hold_samples == samples && slots[0].hold_start == 0,
          "late unlock counted a hold: %llu samples, %llu before",
          (unsigned long long) slots[0].hold_samples, (unsigned long long) samples);
    atomic_store(&sh->go, 1);
    st = wait_child(pid);
    CHECK(st == 0, "late unlock: the next holder lost the lock (status %d)", st);
    CHECK(shmtx_owner(mtx) == 0 && slots[1].acquisitions == 1, "late unlock: end state");
    shmtx_destroy(mtx);
}

/* No semaphore (sem_init fails): create says so and returns -1; the lock
 * still excludes, waiting by sched_yield(), and never touches the
 * semaphore. */
static void
test_no_semaphore(void)
{
    struct shmtx_report r;
    uint64_t            calls[SEM_NFUNCS];
    unsigned long       before;
    int                 i, rc;

    memset(zone.base, 0, 8192);
    shmtx_counters_reset(slots);
    for (i = 0; i < SEM_NFUNCS; i++) {
        calls[i] = sem_calls(i);
    }
    fail_sem[SEM_INIT] = ENOSPC;
    before = diag_count();
    rc = shmtx_create(mtx, word, slots, 1);
    CHECK(rc == -1 && diag_count() == before + 1
          && diag_is("shmtx_create: sem_init failed: %s; the lock goes on without a "
                     "semaphore", strerror(ENOSPC)),
          "no semaphore: create returned %d", rc);
    CHECK(mtx->semaphore == 0 && mtx->spin == 1, "no semaphore: semaphore %u spin %u",
          mtx->semaphore, mtx->spin);
    long_hold_every = 64;
    run_workers(4, 5000, 1, 0);
    long_hold_every = 0;
    check_exclusion("no semaphore", 20000);
    print_report("no semaphore");
    shmtx_report(slots, &r);
    CHECK(r.acquisitions == 20000 && r.sleeps == 0 && r.spins == 0,
          "no semaphore: acquisitions %llu sleeps %llu spins %llu",
          (unsigned long long) r.acquisitions, (unsigned long long) r.sleeps,
          (unsigned long long) r.spins);
    CHECK(r.contended > 0 && r.yields >= r.contended,
          "no semaphore: contended %llu, yields %llu", (unsigned long long) r.contended,
          (unsigned long long) r.yields);
    shmtx_destroy(mtx);
    CHECK(sem_calls(SEM_WAIT) == calls[SEM_WAIT] && sem_calls(SEM_POST) == calls[SEM_POST]
          && sem_calls(SEM_DESTROY) == calls[SEM_DESTROY],
          "no semaphore: the semaphore was used");
}

/* sem_wait, sem_post and sem_destroy failing: a message each, the lock
 * still usable. */
static void
test_sem_failures(void)
{
    uint64_t w0;
    pid_t    pid;
    int      k, st;

    /* sem_wait fails once (not EINTR): the waiter goes back to trying,
     * announces itself again, sleeps, and gets the lock at the unlock. */
    fresh_lock(0, 1);
    w0 = sem_calls(SEM_WAIT);
    shmtx_lock(mtx);
    pid = fork();
    if (pid == 0) {
        int ok;

        alarm(20);
        proc_set_index(1);
        fail_sem[SEM_WAIT] = EINVAL;
        shmtx_lock(mtx);
        ok = shmtx_owner(mtx) == proc_pid()
             && diag_is("shmtx_lock: sem_wait failed: %s", strerror(EINVAL));
        shmtx_unlock(mtx);
        _exit(ok ? 0 : 1);
    }
    for (k = 0; k < 5000 && (atomic_load(&word->wait) < 2 || sem_calls(SEM_WAIT) - w0 < 2);
         k++)
    {
        usleep(1000);
    }
    CHECK(atomic_load(&word->wait) == 2 && sem_calls(SEM_WAIT) - w0 == 2,
          "sem_wait failure: wait %lld, %llu sem_wait calls",
          (long long) atomic_load(&word->wait),
          (unsigned long long) (sem_calls(SEM_WAIT) - w0));
    CHECK(shmtx_owner(mtx) == proc_pid(), "sem_wait failure let the waiter in");
    shmtx_unlock(mtx);
    st = wait_child(pid);
    CHECK(st == 0, "sem_wait failure: the waiter ended with %d", st);
    CHECK(slots[1].sleeps == 2 && slots[1].acquisitions == 1 && shmtx_owner(mtx) == 0,
          "sem_wait failure: sleeps %llu acquisitions %llu",
          (unsigned long long) slots[1].sleeps, (unsigned long long) slots[1].acquisitions);
    shmtx_destroy(mtx);

    /* sem_post fails: the waker has counted the sleeper down already */
    fresh_lock(0, 1);
    atomic_store(&word->wait, 1);           /* one announced sleeper */
    shmtx_lock(mtx);
    fail_sem[SEM_POST] = EOVERFLOW;
    shmtx_unlock(mtx);
    CHECK(diag_is("shmtx_wakeup: sem_post failed: %s", strerror(EOVERFLOW)),
          "sem_post failure: no message");
    CHECK(shmtx_owner(mtx) == 0 && atomic_load(&word->wait) == 0 && sem_value(mtx) == 0,
          "sem_post failure: owner %d wait %lld value %d", (int) shmtx_owner(mtx),
          (long long) atomic_load(&word->wait), sem_value(mtx));
    CHECK(shmtx_trylock(mtx) == 1, "sem_post failure: the lock is not free");
    shmtx_unlock(mtx);

    /* sem_destroy fails: the lock forgets its semaphore all the same */
    w0 = sem_calls(SEM_DESTROY);
    fail_sem[SEM_DESTROY] = EBUSY;
    shmtx_destroy(mtx);
    CHECK(diag_is("shmtx_destroy: sem_destroy failed: %s", strerror(EBUSY))
          && mtx->semaphore == 0, "sem_destroy failure");
    shmtx_destroy(mtx);
    CHECK(sem_calls(SEM_DESTROY) - w0 == 1, "destroyed twice: %llu sem_destroy calls",
          (unsigned long long) (sem_calls(SEM_DESTROY) - w0));
}

/* A report of no counters is all zeros. */
static void
test_report_none(void)
{
    struct shmtx_report r;

    memset(&r, 0xff, sizeof(r));
    shmtx_report(NULL, &r);
    CHECK(r.acquisitions == 0 && r.contended == 0 && r.spins == 0 && r.yields == 0
          && r.sleeps == 0 && r.owner_switches == 0 && r.force_unlocks == 0
          && r.hold_samples == 0 && r.wait_ns == 0 && r.wait_max_ns == 0 && r.hold_ns == 0,
          "report of NULL counters is not zero");
}

/* Uncontended lock+unlock, counting on and off (informational). */
static void
test_cost(void)
{
    const int n = 2000000;
    uint64_t  t0, t1, t2;
    int       i, round;
    double    on = 1e9, off = 1e9, x;

    fresh_lock(0, 1);
    for (round = 0; round < 3; round++) {
        shmtx_set_counting(1);
        t0 = clock_ns();
        for (i = 0; i < n; i++) {
            shmtx_lock(mtx);
            shmtx_unlock(mtx);
        }
        t1 = clock_ns();
        shmtx_set_counting(0);
        for (i = 0; i < n; i++) {
            shmtx_lock(mtx);
            shmtx_unlock(mtx);
        }
        t2 = clock_ns();
        x = (double) (t1 - t0) / n;
        on = x < on ? x : on;
        x = (double) (t2 - t1) / n;
        off = x < off ? x : off;
    }
    shmtx_set_counting(1);
    printf("uncontended lock+unlock: %.1f ns counting, %.1f ns not\n", on,
           off);
    CHECK(slots[0].acquisitions == 3u * n
          && slots[0].hold_samples == sampled_upto(3u * n),
          "cost: acquisitions %llu",
          (unsigned long long) slots[0].acquisitions);
    shmtx_destroy(mtx);
}

int
main(void)
{
    alarm(110);
    setvbuf(stdout, NULL, _IOLBF, 0);
    proc_init();
    if (zone_create(&zone, ZONE_ANON, 1 << 20, 0, NULL) != 0) {
        fprintf(stderr, "zone_create: %s\n", diag_last());
        return 1;
    }
    word = (struct shmtx_lockword *) zone.base;
    mtx = (struct shmtx *) (zone.base + 128);
    sh = (struct shared *) (zone.base + 4096);
    CHECK(proc_index() == 0, "master index %d", proc_index());

    memset(sh, 0, sizeof(*sh));
    test_exclusion(0, "semaphore lock");
    CHECK(sem_calls(SEM_INIT) == 1, "sem_init not wrapped: test_shmtx must be linked "
          "with --wrap=sem_init,sem_wait,sem_post,sem_destroy (tests/lock.cmake)");
    test_exclusion(SHMTX_TRYLOCK_ONLY, "trylock-only lock");
    test_trylock_loop();
    test_crash();
    test_counting_off();
    test_shared_slot();
    test_relative();
    test_sleepers();
    test_interrupted_sleep();
    test_late_unlock();
    test_no_semaphore();
    test_sem_failures();
    test_report_none();
    test_cost();

    zone_destroy(&zone);
    return test_summary("test_shmtx");
}
