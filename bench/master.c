/*
 * master: forking, releasing, sampling, reaping and stopping workers, and
 * cleaning up after them and after the master's own signals (master.h says
 * what and why).
 *
 * The master loops in master_wait() until no worker is left; every pass
 * reaps what has ended, reacts (a death, a signal), escalates a stop that
 * is taking too long, calls the sampler when due, and sleeps until the
 * next thing it must do, at most MASTER_TICK_MS: it never spins and never
 * waits on a worker.  Workers wait at the barrier on a futex in the shared
 * area, woken by the release or the abort.
 */
#define _GNU_SOURCE
#include "master.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "substrate/clock.h"
#include "substrate/diag.h"

/* The master's longest sleep between two looks at its workers (ms). */
#define MASTER_TICK_MS 5

/* Trylock attempts of the sampler, 20 us apart, before it gives up. */
#define MASTER_SAMPLE_TRIES 50

/* The parts of the shared area start at this alignment: the largest that
 * a counter in them asks for (struct shmtx_counters: two cache lines). */
#define MASTER_ALIGN 128

/* Barrier word values. */
enum { MASTER_WAIT = 0, MASTER_GO = 1, MASTER_ABORT = 2 };

/* Worker states in the shared area. */
enum { MASTER_FORKED = 0, MASTER_READY = 1 };

/* The shared area: the barrier and the stop flag, then the caller's area,
 * then the slots, each part on its own cache lines (MASTER_ALIGN). */
struct master_shared {
    _Atomic uint32_t go;            /* futex word: MASTER_WAIT, _GO, _ABORT */
    _Atomic unsigned stop;          /* non-zero: workers end their loop */
    _Atomic uint32_t state[MASTER_MAX_WORKERS];
    uint64_t         area_off, slot_off, slot_stride;
} __attribute__((aligned(MASTER_ALIGN)));

/* The signal the master caught, 0 if none (set by the handler). */
static volatile sig_atomic_t master_caught;

static const int master_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
#define MASTER_NSIGNALS (sizeof(master_signals) / sizeof(master_signals[0]))

static size_t
master_round(size_t v)
{
    return (v + MASTER_ALIGN - 1) & ~(size_t) (MASTER_ALIGN - 1);
}

static void
master_sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);       /* a signal cuts it short: that is wanted */
}

/* ---- signals ---- */

static void
master_on_signal(int sig)
{
    if (master_caught == 0) {
        master_caught = sig;
    }
}

static void
master_catch_signals(void)
{
    struct sigaction sa;
    size_t           i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = master_on_signal;   /* no SA_RESTART: sleeps end at once */
    sigemptyset(&sa.sa_mask);
    master_caught = 0;
    for (i = 0; i < MASTER_NSIGNALS; i++) {
        sigaction(master_signals[i], &sa, NULL);
    }
    /* Reaping needs the children's exit statuses: SIGCHLD ignored (maybe
     * inherited through exec) would have the kernel discard them. */
    signal(SIGCHLD, SIG_DFL);
}

static void
master_default_signals(void)
{
    size_t i;

    for (i = 0; i < MASTER_NSIGNALS; i++) {
        signal(master_signals[i], SIG_DFL);
    }
}

/* ---- accessors ---- */

struct zone *
master_zone(struct master *m)
{
    return &m->zone;
}

void *
master_area(struct master *m)
{
    return (char *) m->sh + m->sh->area_off;
}

void *
master_slot(struct master *m, unsigned w)
{
    return (char *) m->sh + m->sh->slot_off + (size_t) w * m->sh->slot_stride;
}

const _Atomic unsigned *
master_stop_flag(struct master *m)
{
    return &m->sh->stop;
}

/* ---- the barrier ---- */

static void master_hook_after_release(struct master *m, unsigned w);

static long
master_futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *) word, op, val, ts, NULL, 0);
}

void
master_ready(struct master *m)
{
    struct timespec ts = { 0, 50 * 1000000L };
    uint32_t        g;

    atomic_store(&m->sh->state[proc_index()], MASTER_READY);
    while ((g = atomic_load(&m->sh->go)) == MASTER_WAIT) {
        master_futex(&m->sh->go, FUTEX_WAIT, MASTER_WAIT, &ts);
    }
    if (g == MASTER_ABORT) {
        _exit(0);
    }
    master_hook_after_release(m, (unsigned) proc_index());
}

static void
master_set_go(struct master *m, uint32_t g)
{
    atomic_store(&m->sh->go, g);
    master_futex(&m->sh->go, FUTEX_WAKE, INT32_MAX, NULL);
}

/* ---- the workers ---- */

/* The test hook for worker w (master.h): "barrier", "lock" or NULL. */
static const char *
master_test_hook(unsigned w)
{
    const char *s = getenv("SHMBENCH_TEST_KILL");
    char       *end;
    unsigned long n;

    if (s == NULL) {
        return NULL;
    }
    n = strtoul(s, &end, 10);
    if (end == s || *end != ':' || n != w) {
        return NULL;
    }
    return end + 1;
}

static _Noreturn void
master_child(struct master *m, unsigned w, pid_t parent)
{
    const char *hook;
    int         rc;

    master_default_signals();
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(CLI_EXIT_FAIL);        /* the master is gone already */
    }
    proc_set_index((int) w);
    if (m->o.ops->attach && m->o.ops->attach(&m->zone) != 0) {
        _exit(cli_error("%s: %s: worker %u: attach: %s", m->o.who, m->o.label, w,
                        diag_last()));
    }
    hook = master_test_hook(w);
    if (hook && strcmp(hook, "barrier") == 0) {
        raise(SIGKILL);
    }
    rc = m->o.worker(m, w, m->o.arg);
    _exit(rc);
}

/* In a worker, after the release: the "lock" hook. */
static void
master_hook_after_release(struct master *m, unsigned w)
{
    const char *hook = master_test_hook(w);

    if (hook && strcmp(hook, "lock") == 0 && m->lock) {
        shmtx_lock(m->lock);
        raise(SIGKILL);
    }
}

static int
master_fork(struct master *m)
{
    pid_t    parent = getpid(), pid;
    unsigned w;

    fflush(NULL);
    for (w = 0; w < m->o.procs; w++) {
        pid = fork();
        if (pid < 0) {
            return cli_error("%s: fork of worker %u failed: %s", m->o.who, w, strerror(errno));
        }
        if (pid == 0) {
            master_child(m, w, parent);
        }
        m->w[w].pid = pid;
        m->started++;
        m->alive++;
    }
    return 0;
}

/* ---- failure, reaping, stopping ---- */

static void
master_fail(struct master *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
master_fail(struct master *m, const char *fmt, ...)
{
    va_list ap;

    if (m->failed) {
        return;
    }
    m->failed = 1;
    va_start(ap, fmt);
    vsnprintf(m->why, sizeof(m->why), fmt, ap);
    va_end(ap);
}

/* "exited with status 3" / "was killed by signal 9 (Killed)" */
static void
master_status_words(int st, char *buf, size_t len)
{
    if (WIFEXITED(st)) {
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        snprintf(buf, len, "was killed by signal %d (%s)%s", WTERMSIG(st),
                 strsignal(WTERMSIG(st)), WCOREDUMP(st) ? ", core dumped" : "");
    } else {
        snprintf(buf, len, "ended with wait status %#x", st);
    }
}

/* Worker i has been reaped with status st. */
static void
master_ended(struct master *m, unsigned i, int st)
{
    struct master_worker *w = &m->w[i];
    char                  words[128];

    w->reaped = 1;
    w->status = st;
    m->alive--;
    if (m->lock && shmtx_force_unlock(m->lock, w->pid)) {
        w->held_lock = 1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        w->stopped = m->stopping;   /* ended by the stop flag, between two ops */
        return;
    }
    master_status_words(st, words, sizeof(words));
    if (m->escalated && WIFSIGNALED(st)
        && (WTERMSIG(st) == SIGTERM || WTERMSIG(st) == SIGKILL))
    {
        w->stopped = w->killed = 1; /* our SIGTERM or SIGKILL */
    } else {
        w->died = 1;
        cli_error("%s: %s: worker %u (pid %ld) %s", m->o.who, m->o.label, i,
                  (long) w->pid, words);
        master_fail(m, "worker %u (pid %ld) %s", i, (long) w->pid, words);
    }
    if (w->held_lock) {
        cli_error("%s: %s: worker %u (pid %ld) held the zone lock: force-unlocked", m->o.who,
                  m->o.label, i, (long) w->pid);
    }
}

static void
master_reap(struct master *m)
{
    unsigned i;
    pid_t    pid;
    int      st;

    while (m->alive > 0 && (pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (i = 0; i < m->started; i++) {
            if (m->w[i].pid == pid && !m->w[i].reaped) {
                master_ended(m, i, st);
                break;
            }
        }
    }
}

static void
master_signal_alive(struct master *m, int sig)
{
    unsigned i;

    for (i = 0; i < m->started; i++) {
        if (!m->w[i].reaped) {
            kill(m->w[i].pid, sig);
        }
    }
}

/* Ask every worker to end: the flag (and the barrier's abort) now, the
 * signals later (master_escalate). */
static void
master_stop(struct master *m)
{
    if (m->stopping) {
        return;
    }
    m->stopping = 1;
    m->stop_ns = clock_ns();
    atomic_store(&m->sh->stop, 1);
    if (!m->released) {
        master_set_go(m, MASTER_ABORT);
    }
}

static void
master_escalate(struct master *m)
{
    uint64_t waited = (clock_ns() - m->stop_ns) / 1000000u;

    if (m->escalated == 0 && waited >= MASTER_GRACE_MS) {
        master_signal_alive(m, SIGTERM);
        m->escalated = 1;
    } else if (m->escalated == 1 && waited >= 2 * MASTER_GRACE_MS) {
        master_signal_alive(m, SIGKILL);
        m->escalated = 2;
    }
}

/* A signal to the master: note it, remove a kept zone's name, stop. */
static void
master_take_signal(struct master *m)
{
    int sig = master_caught;

    if (sig == 0 || m->signal != 0) {
        return;
    }
    m->signal = sig;
    master_fail(m, "the master was interrupted by signal %d (%s)", sig, strsignal(sig));
    cli_error("%s: the master was interrupted by signal %d (%s)", m->o.who, sig,
              strsignal(sig));
    if (m->have_zone && m->zone.method == ZONE_POSIX && m->zone.owner) {
        zone_unlink(&m->zone);
    }
    master_stop(m);
}

/* One pass of a wait: reap, react, escalate. */
static void
master_pass(struct master *m)
{
    master_reap(m);
    master_take_signal(m);
    if (m->failed && !m->o.survive) {
        master_stop(m);
    }
    if (m->stopping) {
        master_escalate(m);
    }
}

static unsigned
master_ready_count(struct master *m)
{
    unsigned i, n = 0;

    for (i = 0; i < m->started; i++) {
        n += !m->w[i].reaped && atomic_load(&m->sh->state[i]) == MASTER_READY;
    }
    return n;
}

/* Wait until every live worker is ready (then release them) or none is
 * left. */
static void
master_barrier(struct master *m)
{
    while (m->alive > 0) {
        master_pass(m);
        if (m->stopping) {
            return;
        }
        if (m->alive > 0 && master_ready_count(m) == m->alive) {
            if (m->o.ops->caps & ALLOC_LOCK_COUNTERS) {
                shmtx_counters_reset(m->zone.ctl->lockstat); /* the measured part only */
            }
            m->t_go = clock_ns();
            m->released = 1;
            master_set_go(m, MASTER_GO);
            return;
        }
        master_sleep_ms(1);
    }
}

/* Wait for every worker, sampling while they run. */
static void
master_wait(struct master *m)
{
    uint64_t next = 0, now, period = (uint64_t) m->o.sample_ms * 1000000u;
    unsigned ms;

    if (m->released && m->o.sample && period) {
        next = m->t_go + period;
    }
    while (m->alive > 0) {
        master_pass(m);
        now = clock_ns();
        if (next && now >= next && !m->stopping && !m->failed) {
            m->o.sample(m, m->o.arg);
            next += period * ((now - next) / period + 1);
        }
        if (m->alive == 0) {
            break;
        }
        ms = MASTER_TICK_MS;
        if (next && next > now && (next - now) / 1000000u < ms) {
            ms = (unsigned) ((next - now) / 1000000u) + 1;
        }
        master_sleep_ms(ms);
    }
    m->t_done = clock_ns();
}

/* ---- the zone's state at the end ---- */

/* Workers that did not end by themselves with status 0. */
static unsigned
master_abnormal(const struct master *m)
{
    unsigned i, n = 0;

    for (i = 0; i < m->started; i++) {
        n += m->w[i].died || m->w[i].killed;
    }
    return n;
}

/* Whether the master may read the zone through the allocator now that no
 * worker is left: not if one ended abnormally and may hold a lock that the
 * driver cannot see (its stats or check would wait for ever). */
static int
master_zone_safe(const struct master *m)
{
    return master_abnormal(m) == 0 || m->lock != NULL || !(m->o.ops->caps & ALLOC_IN_SHM);
}

static void
master_check(struct master *m)
{
    const struct allocator_ops *ops = m->o.ops;
    unsigned                    died = master_abnormal(m);

    if (!allocator_can_check(ops)) {
        snprintf(m->zone_state, sizeof(m->zone_state), "not checked: %s cannot check "
                 "itself", m->o.label);
        return;
    }
    if (!master_zone_safe(m)) {
        /* Its check or stats may take a lock the dead worker held. */
        snprintf(m->zone_state, sizeof(m->zone_state), "not checked: a worker died and "
                 "the driver cannot see %s's lock to release it", m->o.label);
        return;
    }
    m->checked = 1;
    m->consistent = ops->check(&m->zone, NULL) == 0;
    if (m->consistent) {
        snprintf(m->zone_state, sizeof(m->zone_state), "consistent (check passed)%s",
                 died ? "; the dead workers' blocks stay allocated (nginx does not "
                        "repair a zone either)" : "");
    } else {
        snprintf(m->zone_state, sizeof(m->zone_state), "inconsistent: %s", diag_last());
        master_fail(m, "the zone fails its check at the end: %s", diag_last());
    }
    if (died) {
        cli_error("%s: %s: zone after the failure: %s", m->o.who, m->o.label, m->zone_state);
    } else if (!m->consistent) {
        cli_error("%s: %s: zone at the end: %s", m->o.who, m->o.label, m->zone_state);
    }
}

/* ---- set-up ---- */

static int
master_make_zone(struct master *m)
{
    const struct master_opts *o = &m->o;
    const char               *name = NULL;
    unsigned                  old;
    int                       err, rc;

    if (o->method == ZONE_POSIX) {
        if (o->keep) {
            name = o->keep;
        } else {
            snprintf(m->posix_name, sizeof(m->posix_name), "/shmbench-%ld", (long) getpid());
            name = m->posix_name;
        }
    }
    old = zone_set_flags(o->noreserve ? ZONE_NORESERVE : 0);
    rc = allocator_zone_create(&m->zone, o->ops, o->method, o->zone_size, 0, &o->params,
                               name);
    err = errno;
    zone_set_flags(old);
    if (rc != 0) {
        return cli_error("%s: %s: %s%s", o->who, o->label, diag_last(),
                         err == ENOMEM && !o->noreserve && o->method != ZONE_HUGETLB
                         ? " (the kernel will not commit RAM and swap for a zone this "
                           "large; --noreserve maps it without that promise)" : "");
    }
    m->have_zone = 1;
    if (o->method == ZONE_POSIX && !o->keep && zone_unlink(&m->zone) != 0) {
        return cli_error("%s: %s", o->who, diag_last());
    }
    m->lock = m->zone.ops->lock ? m->zone.ops->lock(&m->zone) : NULL;
    return 0;
}

static int
master_make_area(struct master *m)
{
    size_t area_off = master_round(sizeof(struct master_shared));
    size_t stride = master_round(m->o.slot_size ? m->o.slot_size : 64);
    size_t slot_off = area_off + master_round(m->o.area_size);
    void  *p;

    m->sh_size = slot_off + stride * m->o.procs;
    p = mmap(NULL, m->sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        m->sh = NULL;
        return cli_error("%s: mmap of the workers' area (%zu bytes) failed: %s", m->o.who,
                         m->sh_size, strerror(errno));
    }
    m->sh = p;
    m->sh->area_off = area_off;
    m->sh->slot_off = slot_off;
    m->sh->slot_stride = stride;
    return 0;
}

int
master_run(struct master *m, const struct master_opts *o)
{
    memset(m, 0, sizeof(*m));
    m->o = *o;
    m->o.params.nworkers = o->procs;
    if (o->procs < 1 || o->procs > MASTER_MAX_WORKERS) {
        return cli_error("%s: %u workers: 1 to %d can run", o->who, o->procs,
                         MASTER_MAX_WORKERS);
    }
    master_catch_signals();
    m->counting = shmtx_counting();
    if (master_make_zone(m) != 0 || master_make_area(m) != 0) {
        return -1;
    }
    if (master_fork(m) != 0) {
        master_fail(m, "a worker could not be forked");
    }
    /* The workers count; the master's own acquisitions (the sampler's) and
     * force-unlocks would land in the slot of whatever index it has. */
    shmtx_set_counting(0);
    master_barrier(m);
    master_wait(m);
    master_take_signal(m);
    master_check(m);
    return m->failed ? 1 : 0;
}

int
master_sample_stats(struct master *m, struct alloc_stats *out)
{
    int i, rc = -1;

    if (m->lock == NULL) {
        return -1;
    }
    /* Uncounted (counting is off in the master): the lock counters describe
     * the workers, and a counted acquisition would also make the next
     * worker's look like an owner switch. */
    for (i = 0; i < MASTER_SAMPLE_TRIES && rc != 0; i++) {
        if (shmtx_trylock(m->lock)) {
            m->o.ops->stats(&m->zone, out);
            shmtx_unlock(m->lock);
            rc = 0;
        } else {
            usleep(20);
        }
    }
    return rc;
}

int
master_final_stats(struct master *m, struct alloc_stats *out)
{
    /* A private heap's stats, read here, would be the master's heap. */
    if (m->alive > 0 || !master_zone_safe(m) || !(m->o.ops->caps & ALLOC_IN_SHM)) {
        return -1;
    }
    m->o.ops->stats(&m->zone, out);
    return 0;
}

void
master_finish(struct master *m)
{
    int sig = m->signal ? m->signal : master_caught;  /* one caught after the run */

    if (m->have_zone) {
        if (m->o.ops->fini) {
            m->o.ops->fini(&m->zone);
        }
        if (m->o.keep && !sig) {
            m->zone.owner = 0;      /* zone_destroy leaves the name */
            fflush(stdout);
            fprintf(stderr, "zone kept: %s\n", m->zone.name);
        }
        zone_destroy(&m->zone);
        m->have_zone = 0;
    }
    if (m->sh) {
        munmap(m->sh, m->sh_size);
        m->sh = NULL;
    }
    shmtx_set_counting(m->counting);
    master_default_signals();
    if (sig) {
        fflush(NULL);
        raise(sig);
    }
}
