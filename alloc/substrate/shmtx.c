/*
 * shmtx: nginx 1.22.1's process-shared mutex (ngx_shmtx.c, the atomic and
 * POSIX-semaphore variant), plus per-process contention counters.
 *
 * The lock word holds the owner's pid and is taken by a compare-and-swap
 * from 0; waiters spin in doubling rounds of pause instructions, then
 * announce themselves in `wait` and sleep on a process-shared semaphore that
 * unlock posts once per announced sleeper.  The structure holds self-relative
 * offsets instead of nginx's pointers, so it works wherever it is mapped.
 *
 * The counters are written only by the process whose slot they are (plain
 * load/add/store, expressed as relaxed atomics so that a reader in another
 * process sees whole values), except the shared overflow slot, which gets
 * relaxed atomic adds.  The fast path adds one branch on the counting flag;
 * clock reads happen only on the slow path and on one hold in
 * SHMTX_HOLD_SAMPLE.
 */
#define _GNU_SOURCE
#include "substrate/shmtx.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "substrate/clock.h"
#include "substrate/diag.h"

int           shmtx_count_on = 1;     /* inherited across fork */
struct shmtx *shmtx_hold_pending;     /* see shmtx.h */
static long shmtx_ncpu;

#if defined(__x86_64__) || defined(__i386__)
#define shmtx_cpu_pause()  __builtin_ia32_pause()
#else
#define shmtx_cpu_pause()
#endif


static long
shmtx_cpus(void)
{
    long n;

    if (shmtx_ncpu == 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        shmtx_ncpu = n > 0 ? n : 1;
    }
    return shmtx_ncpu;
}

void
shmtx_wakeup(struct shmtx *m)
{
    struct shmtx_lockword *w;
    uint64_t               wait;

    if (!m->semaphore) {
        return;
    }
    w = shmtx_word(m);
    for ( ;; ) {
        wait = atomic_load_explicit(&w->wait, memory_order_relaxed);
        if ((int64_t) wait <= 0) {
            return;
        }
        if (atomic_compare_exchange_strong(&w->wait, &wait, wait - 1)) {
            break;
        }
    }
    if (sem_post(&m->sem) == -1) {
        diag_set("shmtx_wakeup: sem_post failed: %s", strerror(errno));
    }
}

int
shmtx_create(struct shmtx *m, struct shmtx_lockword *word,
    struct shmtx_counters *counters, uint32_t spin)
{
    proc_pid();                 /* installs the fork handler before any fork */
    shmtx_cpus();

    m->lock_rel = (int64_t) ((char *) word - (char *) m);
    m->stats_rel = counters ? (int64_t) ((char *) counters - (char *) m) : 0;
    m->semaphore = 0;
    atomic_store(&m->last_owner, 0);

    if (spin == SHMTX_TRYLOCK_ONLY) {
        m->spin = spin;
        return 0;
    }
    m->spin = spin ? spin : SHMTX_SPIN_DEFAULT;
    if (sem_init(&m->sem, 1, 0) == -1) {
        diag_set("shmtx_create: sem_init failed: %s; the lock goes on "
                 "without a semaphore", strerror(errno));
        return -1;
    }
    m->semaphore = 1;
    return 0;
}

void
shmtx_destroy(struct shmtx *m)
{
    if (m->semaphore) {
        if (sem_destroy(&m->sem) == -1) {
            diag_set("shmtx_destroy: sem_destroy failed: %s", strerror(errno));
        }
        m->semaphore = 0;
    }
}

int
shmtx_trylock(struct shmtx *m)
{
    struct shmtx_counters *c;
    uint64_t               pid = (uint64_t) proc_pid();
    int                    shared;

    if (!shmtx_try(shmtx_word(m), pid)) {
        return 0;
    }
    if (shmtx_count_on && m->stats_rel != 0) {
        c = shmtx_slot(m, &shared);
        shmtx_count_acquired(m, c, shared, pid);
    }
    return 1;
}

/* The first try failed: spin, sleep or yield as nginx does, counting. */
void
shmtx_lock_slow(struct shmtx *m, struct shmtx_lockword *w, uint64_t pid)
{
    struct shmtx_counters *c = NULL;
    uint64_t               n, i, spins = 0, sleeps = 0, yields = 0, t0 = 0;
    uint64_t               waited, max;
    int                    shared = 0, spin;

    if (shmtx_count_on && m->stats_rel != 0) {
        c = shmtx_slot(m, &shared);
        shmtx_add(&c->contended, 1, shared);
        t0 = clock_ticks();
    }

    /* nginx would spin rounds of up to 2^63 pauses on a trylock-only lock */
    spin = shmtx_cpus() > 1 && m->spin != SHMTX_TRYLOCK_ONLY;

    for ( ;; ) {
        if (spin) {
            for (n = 1; n < m->spin; n <<= 1) {
                for (i = 0; i < n; i++) {
                    shmtx_cpu_pause();
                }
                spins += n;
                if (shmtx_try(w, pid)) {
                    goto acquired;
                }
            }
        }

        if (m->semaphore) {
            atomic_fetch_add(&w->wait, 1);
            if (shmtx_try(w, pid)) {
                atomic_fetch_sub(&w->wait, 1);
                goto acquired;
            }
            for ( ;; ) {
                sleeps++;
                if (sem_wait(&m->sem) == 0) {
                    break;
                }
                if (errno != EINTR) {
                    diag_set("shmtx_lock: sem_wait failed: %s",
                             strerror(errno));
                    break;
                }
            }
        } else {
            sched_yield();
            yields++;
        }

        if (shmtx_try(w, pid)) {
            goto acquired;
        }
    }

acquired:
    if (c == NULL) {
        return;
    }
    waited = clock_ticks() - t0;
    shmtx_add(&c->wait_ticks, waited, shared);
    if (shared) {
        max = __atomic_load_n(&c->wait_max_ticks, __ATOMIC_RELAXED);
        while (waited > max
               && !__atomic_compare_exchange_n(&c->wait_max_ticks, &max,
                      waited, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        {
            /* max reloaded */
        }
    } else if (waited > __atomic_load_n(&c->wait_max_ticks, __ATOMIC_RELAXED)) {
        __atomic_store_n(&c->wait_max_ticks, waited, __ATOMIC_RELAXED);
    }
    if (spins) {
        shmtx_add(&c->spins, spins, shared);
    }
    if (sleeps) {
        shmtx_add(&c->sleeps, sleeps, shared);
    }
    if (yields) {
        shmtx_add(&c->yields, yields, shared);
    }
    shmtx_count_acquired(m, c, shared, pid);
}

/* End of a timed hold: add its ticks to this process's slot. */
void
shmtx_hold_end(struct shmtx *m, uint64_t pid)
{
    struct shmtx_counters *c;
    uint64_t               start;
    int                    shared;

    shmtx_hold_pending = NULL;
    if (m->stats_rel == 0
        || atomic_load_explicit(&shmtx_word(m)->lock, memory_order_relaxed) != pid)
    {
        return;
    }
    c = shmtx_slot(m, &shared);
    start = __atomic_load_n(&c->hold_start, __ATOMIC_RELAXED);
    if (start != 0) {
        shmtx_add(&c->hold_ticks_sampled, clock_ticks() - start, shared);
        shmtx_add(&c->hold_samples, 1, shared);
        __atomic_store_n(&c->hold_start, 0, __ATOMIC_RELAXED);
    }
}

int
shmtx_force_unlock(struct shmtx *m, pid_t pid)
{
    struct shmtx_lockword *w = shmtx_word(m);
    struct shmtx_counters *c, *all;
    uint64_t               old = (uint64_t) pid;
    int                    i, shared;

    if (pid <= 0) {
        return 0;
    }

    /* The dead holder's timed hold, if any, can never end: drop it, or
     * whoever gets its slot next would count the time since. */
    all = shmtx_counters(m);
    if (all != NULL
        && atomic_load_explicit(&w->lock, memory_order_relaxed) == old)
    {
        for (i = 0; i < PROC_MAX; i++) {
            if (__atomic_load_n(&all[i].hold_start, __ATOMIC_RELAXED) != 0) {
                __atomic_store_n(&all[i].hold_start, 0, __ATOMIC_RELAXED);
            }
        }
    }

    if (!atomic_compare_exchange_strong(&w->lock, &old, 0)) {
        return 0;
    }
    if (shmtx_count_on && all != NULL) {
        c = shmtx_slot(m, &shared);
        shmtx_add(&c->force_unlocks, 1, shared);
    }
    shmtx_wakeup(m);
    return 1;
}

pid_t
shmtx_owner(const struct shmtx *m)
{
    return (pid_t) atomic_load(&shmtx_word(m)->lock);
}

void
shmtx_set_counting(int on)
{
    shmtx_count_on = on != 0;
}

int
shmtx_counting(void)
{
    return shmtx_count_on;
}

struct shmtx_counters *
shmtx_counters(const struct shmtx *m)
{
    if (m->stats_rel == 0) {
        return NULL;
    }
    return (struct shmtx_counters *) ((char *) m + m->stats_rel);
}

void
shmtx_report(const struct shmtx_counters *counters, struct shmtx_report *out)
{
    const struct shmtx_counters *c;
    uint64_t wait = 0, wait_max = 0, hold = 0, v;
    int      i;

    memset(out, 0, sizeof(*out));
    if (counters == NULL) {
        return;
    }
    for (i = 0; i < PROC_MAX; i++) {
        c = &counters[i];
#define SHMTX_LOAD(f) __atomic_load_n(&c->f, __ATOMIC_RELAXED)
        out->acquisitions += SHMTX_LOAD(acquisitions);
        out->contended += SHMTX_LOAD(contended);
        out->spins += SHMTX_LOAD(spins);
        out->yields += SHMTX_LOAD(yields);
        out->sleeps += SHMTX_LOAD(sleeps);
        out->owner_switches += SHMTX_LOAD(owner_switches);
        out->force_unlocks += SHMTX_LOAD(force_unlocks);
        out->hold_samples += SHMTX_LOAD(hold_samples);
        wait += SHMTX_LOAD(wait_ticks);
        hold += SHMTX_LOAD(hold_ticks_sampled);
        v = SHMTX_LOAD(wait_max_ticks);
        if (v > wait_max) {
            wait_max = v;
        }
#undef SHMTX_LOAD
    }
    out->wait_ns = clock_ticks_to_ns(wait);
    out->wait_max_ns = clock_ticks_to_ns(wait_max);
    if (out->hold_samples > 0) {
        out->hold_ns = clock_ticks_to_ns(hold) * (double) out->acquisitions
                       / (double) out->hold_samples;
    }
}

void
shmtx_counters_reset(struct shmtx_counters *counters)
{
    memset(counters, 0, PROC_MAX * sizeof(*counters));
}
