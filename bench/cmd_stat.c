/*
 * stat: a zone's pages, free runs and slots in tengine's slab_stat format
 * (docs/formats.md: stat), then what tengine does not show: the largest
 * free run, resident bytes and the zone lock's counters; or the same facts
 * as one JSON object (--format json).  docs/stat.md is the user's page.
 * `stat --pid` (the zones of a running nginx) is cmd_stat_pid.c's; it
 * prints the same table through stat_tengine_table() (cmd_stat.h).
 *
 * A live zone is read the way tengine's slab_stat reads one: under the
 * zone's lock.  The lock is held only while the zone is copied into private
 * memory; the allocator's check() and stats() then run on the copy, which a
 * private struct zone describes (allocators address their zone by offsets
 * from z->base, and the copy keeps the zone's base alignment, so they read
 * it as they read the zone itself).  A zone whose lock cannot be had within
 * --wait milliseconds is "busy", one whose lock names a process that no
 * longer exists is said to be so, and neither is ever called corrupt.
 * --no-lock reads without the lock (a zone whose holder died), and so does
 * an allocator whose ops table names no lock.
 *
 * What is written.  The zone is attached read-write (taking the lock needs
 * a writable lock word, and a page of a read-only mapping cannot be made
 * writable), then at once mprotect()ed read-only except the OS pages that
 * hold the lock (its lock word and the rest of its struct shmtx): a stray
 * write anywhere else faults.  On those pages stat writes the lock word
 * (its pid, then 0) and, when a process went to sleep on the lock while
 * stat held it, what every unlock writes to wake it (the wait count and
 * the semaphore).  Nothing else: stat's acquisitions are not counted in the
 * lock's counters, because a process started from a shell has counter slot
 * 0, which is the first worker's and is updated by it without atomics, and
 * because the observer should not show in what it observes (the waits it
 * causes are counted by the workers that wait).  With --no-lock the zone is
 * attached read-only and nothing at all is written.
 *
 * Copying.  Only the parts of the zone object that hold data are copied
 * (SEEK_DATA over the posix object): a page of /dev/shm that was never
 * written is not in memory, a read through the mapping would allocate it,
 * and stat must not raise the resident size it reports.  The copy's pages
 * are touched before the lock is taken, so that the copy under it takes no
 * page fault.  The copy's lock word is set back to 0: it shows the zone as
 * stat found it, with the lock free.
 *
 * Validation.  A copy whose check fails is not yet called corrupt: two more
 * copies are taken back to back (under one hold of the lock).  If they are
 * equal the zone held still, and their check is the verdict; if not, the
 * zone changes even under its lock (lfslab's small path takes none) or
 * without it (--no-lock), and the whole is tried again, up to STAT_TRIES
 * times STAT_RETRY_MS apart, before the zone is said to have changed while
 * it was read.  For an allocator with lock-free paths (ALLOC_LOCK_FREE_PATHS:
 * lfslab) two equal copies prove nothing: a worker preempted in the middle
 * of a lock-free transition leaves the same half-done state in both, so
 * such a copy is tried again too, and after the last try the zone is said
 * to have been inconsistent in every try, not corrupt.  Without the lock, a copy that held still but fails while a
 * live process holds the lock is that process's operation in progress (it
 * may be preempted): tried again too, and said so in the end.
 *
 * JSON fields (--format json), one object; a field is present only when the
 * allocator knows it (an allocator without pages has no page fields):
 *   name                 the zone's name, or the trace for --after-replay
 *   source               "zone" (stat NAME) or "replay" (--after-replay)
 *   allocator            the allocator that formatted the zone
 *   read                 stat NAME only: locked (bool: copied under the
 *                        zone's lock), copies (copies taken), lock_wait_ns
 *                        (waiting for the lock, all copies), lock_hold_ns
 *                        (holding it, all copies); read without the lock,
 *                        lock_holder_pid (the lock word's pid, 0: free)
 *   zone_bytes           the allocator region
 *   data_bytes           what can hold blocks
 *   page_size, pages, pages_free                        paged allocators
 *   free_bytes           bytes free for blocks
 *   footprint_bytes      handed out or reserved (docs/metrics.md)
 *   free_runs            [{bytes, start, end}], each_free_run's order;
 *                        start and end are offsets from the first data byte
 *   free_run_count, largest_free_run_bytes            with free_runs
 *   largest_alloc_bytes  the largest request that succeeds now
 *   slots                [{size, total, used, reqs, fails}]  slot stats
 *   fails                failed allocations
 *   slot_fails, larger_fails                          slot stats
 *   resident_bytes       of the region in RAM (null if unknown)
 *   lock                 lock counters: acquisitions, contended, spins,
 *                        yields, sleeps, owner_switches, force_unlocks,
 *                        wait_ns, wait_max_ns, hold_ns, hold_samples
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_stat.h"
#include "substrate/clock.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"

#define STAT_TRIES     5        /* tries before "changed while it was read" */
#define STAT_RETRY_MS  5        /* between them */
#define STAT_WAIT_MS   1000     /* default bound on waiting for the lock */
#define STAT_WAIT_MAX  3600000  /* --wait at most an hour */
#define STAT_NO_LOCK   UINT64_MAX
#define STAT_SPIN_NS   2000000  /* watching the busy lock's word, a round */
#define STAT_REST_NS   500000   /* sleeping between rounds */

const char cmd_stat_help[] =
    "usage: shmbench stat NAME [--wait MS | --no-lock] [--format text|json]\n"
    "       shmbench stat --after-replay TRACE [--alloc NAME] [--zone METHOD]\n"
    "                     [--zone-size BYTES] [--pagesize P] [--format text|json]\n"
    "       shmbench stat --pid PID [--lock [--wait MS] | --tries N] [--all]\n"
    "                     [--watch SECONDS] [--format text|json]\n"
    "\n"
    "Print a zone's state the way tengine's slab_stat module does:\n"
    "  * shared memory: NAME\n"
    "  total: ZONE(KB) free: FREE PAGES(KB) size: PAGE SIZE(KB)\n"
    "  pages: RUN(KB) start: FIRST end: LAST       one per free run, list order\n"
    "  slot: SIZE(Bytes) total: T used: U reqs: R fails: F    one per slot\n"
    "then 'pages free', 'failed allocations' (nginx's slots count none of the\n"
    "page-run requests; the glue counts those), 'largest free run', 'resident'\n"
    "(bytes of the zone in RAM)\n"
    "and, for allocators with lock counters, the zone lock's counters.\n"
    "An allocator without pages prints what it knows in its own terms:\n"
    "  total: ZONE(KB) free: FREE(KB)\n"
    "  free block: BLOCK(KB) start: FIRST end: LAST   one per free block\n"
    "then 'failed allocations', 'largest free block', 'resident' and the lock.\n"
    "\n"
    "start and end are the byte offsets of the run's own first and last byte\n"
    "from the first data page.  (tengine prints the zone's data start and end\n"
    "on every 'pages:' line instead, as pointers.)\n"
    "\n"
    "NAME is a posix zone left by 'shmbench replay --keep NAME' or one that a\n"
    "running benchmark is changing.  stat takes the zone's lock, as tengine\n"
    "does, only while it copies the zone (writing nothing but the lock word),\n"
    "then checks and prints the copy: a corrupt zone is refused, never read\n"
    "further.\n"
    "  --wait MS          wait at most MS ms for the lock (default 1000), else\n"
    "                     say the zone is busy (exit 1); 0: try once\n"
    "  --no-lock          read without the lock (a zone whose lock holder died),\n"
    "                     writing nothing: a copy is taken until one checks,\n"
    "                     5 tries at most\n"
    "  --format json      the same facts as one JSON object (docs/stat.md)\n"
    "\n"
    "With --after-replay, the trace is replayed first (as 'shmbench replay'\n"
    "does, same options) and the resulting zone is printed.\n"
    "\n"
    "With --pid, the slab zones of a running nginx (PID: its master or any\n"
    "worker) are found and printed, each with its name, data and free pages,\n"
    "largest free run and free_space as lua reports it (docs/stat.md):\n"
    "  --tries N          copies without the lock until one is consistent, at\n"
    "                     most N (default 20); else \"changed while reading\"\n"
    "  --lock             take each zone's lock as nginx's workers do, for the\n"
    "                     time of the copy (root); --wait MS bounds the wait\n"
    "  --all              also list the shared mappings that are no slab zone\n"
    "  --watch SECONDS    print again every SECONDS until interrupted\n"
    "  --format json      one object per print, keyed by zone name, in the\n"
    "                     manner of NGINX Plus's /api/N/slabs\n";

/* What `stat NAME` is asked. */
struct stat_opts {
    const char *name;
    uint64_t    wait_ms;
    int         nolock;
    int         json;
};

/* How a named zone was read. */
struct stat_read {
    int      locked;           /* copied under the zone's lock */
    unsigned copies;
    uint64_t wait_ns;          /* waiting for the lock, all copies */
    uint64_t hold_ns;          /* holding it, all copies */
    uint64_t holder;           /* read without it: the lock word's pid (0:
                                  free, STAT_NO_LOCK: the allocator has none) */
};

/* A private copy of a zone: its control block and its region. */
struct stat_copy {
    unsigned char *mem;        /* an anonymous private mapping */
    size_t         len;
    struct zone    z;          /* a zone handle over it */
};

/* Reading one named zone. */
struct stat_ctx {
    const struct stat_opts     *o;
    const struct allocator_ops *ops;
    struct zone                 live;
    int                         fd;        /* the object, for its holes */
    struct shmtx               *lock;      /* the zone's lock, NULL: none */
    size_t                      word_off;  /* its lock word, from the base */
    int                         take;      /* copy under the lock */
    struct stat_copy            copy[3];
    struct stat_read            read;
};


/* ---------------------------------------------------------------------- */
/* Output: the text table or JSON, from one zone (a copy or a replay's).    */

static int stat_pid_gone(uint64_t pid);

struct stat_out {
    int      json;
    int      paged;            /* the allocator has pages */
    uint64_t count;            /* free runs so far */
    uint64_t largest;          /* the largest of them */
};

static void
stat_json_u64(const char *key, uint64_t v, int comma)
{
    printf("%s\"%s\": %llu", comma ? ", " : "", key, (unsigned long long) v);
}

static int
stat_run(void *arg, uint64_t off, uint64_t len)
{
    struct stat_out   *out = arg;
    unsigned long long end = len ? off + len - 1 : off;

    if (out->json) {
        printf("%s\n    {\"bytes\": %llu, \"start\": %llu, \"end\": %llu}",
               out->count ? "," : "", (unsigned long long) len,
               (unsigned long long) off, end);
    } else {
        printf("%s %12llu(KB) start: %12llu end: %12llu\n",
               out->paged ? "pages:" : "free block:",
               (unsigned long long) (len / 1024), (unsigned long long) off, end);
    }
    if (len > out->largest) {
        out->largest = len;
    }
    out->count++;
    return 0;
}

static void
stat_text_head(const struct alloc_stats *st, const char *label)
{
    printf("* shared memory: %s\n", label);
    if (st->page_size) {
        printf("total: %12llu(KB) free: %12llu(KB) size: %12llu(KB)\n",
               (unsigned long long) (st->zone_bytes / 1024),
               (unsigned long long) (st->pages_free * st->page_size / 1024),
               (unsigned long long) (st->page_size / 1024));
    } else {
        printf("total: %12llu(KB) free: %12llu(KB)\n",
               (unsigned long long) (st->zone_bytes / 1024),
               (unsigned long long) (st->free_bytes / 1024));
    }
}

static void
stat_json_head(const struct alloc_stats *st, const struct allocator_ops *ops,
    const char *label, const struct stat_read *rd)
{
    printf("{\n  \"name\": ");
    cli_json_string(stdout, label);
    printf(",\n  \"source\": \"%s\",\n  \"allocator\": ", rd ? "zone" : "replay");
    cli_json_string(stdout, ops->name);
    if (rd) {
        printf(",\n  \"read\": {\"locked\": %s", rd->locked ? "true" : "false");
        stat_json_u64("copies", rd->copies, 1);
        stat_json_u64("lock_wait_ns", rd->wait_ns, 1);
        stat_json_u64("lock_hold_ns", rd->hold_ns, 1);
        if (!rd->locked && rd->holder != STAT_NO_LOCK) {
            stat_json_u64("lock_holder_pid", rd->holder, 1);
        }
        printf("}");
    }
    printf(",\n  ");
    stat_json_u64("zone_bytes", st->zone_bytes, 0);
    stat_json_u64("data_bytes", st->data_bytes, 1);
    if (st->page_size) {
        stat_json_u64("page_size", st->page_size, 1);
        stat_json_u64("pages", st->pages, 1);
        stat_json_u64("pages_free", st->pages_free, 1);
    }
    stat_json_u64("free_bytes", st->free_bytes, 1);
    stat_json_u64("footprint_bytes", st->footprint, 1);
}

static void
stat_slots(const struct alloc_stats *st, int json)
{
    unsigned i, n = st->nslots < ALLOC_MAX_SLOTS ? st->nslots : ALLOC_MAX_SLOTS;

    if (json) {
        printf(",\n  \"slots\": [");
    }
    for (i = 0; i < n; i++) {
        if (json) {
            printf("%s\n    {\"size\": %llu, \"total\": %llu, \"used\": %llu, "
                   "\"reqs\": %llu, \"fails\": %llu}", i ? "," : "",
                   (unsigned long long) st->slot[i].size,
                   (unsigned long long) st->slot[i].total,
                   (unsigned long long) st->slot[i].used,
                   (unsigned long long) st->slot[i].reqs,
                   (unsigned long long) st->slot[i].fails);
        } else {
            printf("slot: %12llu(Bytes) total: %12llu used: %12llu reqs: %12llu "
                   "fails: %12llu\n",
                   (unsigned long long) st->slot[i].size,
                   (unsigned long long) st->slot[i].total,
                   (unsigned long long) st->slot[i].used,
                   (unsigned long long) st->slot[i].reqs,
                   (unsigned long long) st->slot[i].fails);
        }
    }
    if (json) {
        printf("%s]", n ? "\n  " : "");
    }
}

/* pages free, failed allocations, the largest free run or block. */
static void
stat_summary(const struct alloc_stats *st, const struct allocator_ops *ops,
    const struct stat_out *out, int walked)
{
    uint64_t slot_fails = 0, largest = walked ? out->largest : st->largest_free;
    unsigned i;

    for (i = 0; i < st->nslots && i < ALLOC_MAX_SLOTS; i++) {
        slot_fails += st->slot[i].fails;
    }
    if (out->json) {
        if (walked) {
            printf(",\n  ");
            stat_json_u64("free_run_count", out->count, 0);
            stat_json_u64("largest_free_run_bytes", out->largest, 1);
        }
        printf(",\n  ");
        stat_json_u64("largest_alloc_bytes", st->largest_free, 0);
        stat_json_u64("fails", st->fails, 1);
        if (ops->caps & ALLOC_SLOT_STATS) {
            stat_json_u64("slot_fails", slot_fails, 1);
            stat_json_u64("larger_fails", st->fails - slot_fails, 1);
        }
        return;
    }
    if (st->page_size) {
        printf("pages free: %llu\n", (unsigned long long) st->pages_free);
    }
    if (ops->caps & ALLOC_SLOT_STATS) {
        printf("failed allocations: %llu (%llu in slots, %llu larger requests)\n",
               (unsigned long long) st->fails, (unsigned long long) slot_fails,
               (unsigned long long) (st->fails - slot_fails));
    } else {
        /* No size classes: a failure is not "larger" than anything. */
        printf("failed allocations: %llu\n", (unsigned long long) st->fails);
    }
    if (st->page_size) {
        printf("largest free run: %llu pages (%llu bytes)\n",
               (unsigned long long) (largest / st->page_size),
               (unsigned long long) largest);
    } else if (walked) {
        /* A block's size has its tags in it; what fits is the allocator's. */
        printf("largest free block: %llu bytes (largest allocation now: %llu "
               "bytes)\n", (unsigned long long) out->largest,
               (unsigned long long) st->largest_free);
    } else {
        printf("largest allocation now: %llu bytes\n",
               (unsigned long long) st->largest_free);
    }
}

static void
stat_lock_counters(const struct zone *z, int json)
{
    struct shmtx_report lk;

    shmtx_report(z->ctl->lockstat, &lk);
    if (json) {
        printf(",\n  \"lock\": {");
        stat_json_u64("acquisitions", lk.acquisitions, 0);
        stat_json_u64("contended", lk.contended, 1);
        stat_json_u64("spins", lk.spins, 1);
        stat_json_u64("yields", lk.yields, 1);
        stat_json_u64("sleeps", lk.sleeps, 1);
        stat_json_u64("owner_switches", lk.owner_switches, 1);
        stat_json_u64("force_unlocks", lk.force_unlocks, 1);
        stat_json_u64("wait_ns", (uint64_t) lk.wait_ns, 1);
        stat_json_u64("wait_max_ns", (uint64_t) lk.wait_max_ns, 1);
        stat_json_u64("hold_ns", (uint64_t) lk.hold_ns, 1);
        stat_json_u64("hold_samples", lk.hold_samples, 1);
        printf("}");
        return;
    }
    printf("lock: acquisitions: %llu contended: %llu spins: %llu yields: %llu "
           "sleeps: %llu owner-switches: %llu force-unlocks: %llu\n",
           (unsigned long long) lk.acquisitions,
           (unsigned long long) lk.contended, (unsigned long long) lk.spins,
           (unsigned long long) lk.yields, (unsigned long long) lk.sleeps,
           (unsigned long long) lk.owner_switches,
           (unsigned long long) lk.force_unlocks);
    printf("lock wait: total: %.0f ns max: %.0f ns\n", lk.wait_ns, lk.wait_max_ns);
    printf("lock hold: %.0f ns (estimated from %llu timed holds)\n",
           lk.hold_ns, (unsigned long long) lk.hold_samples);
}

static void
stat_resident(long long resident, size_t size, int json)
{
    if (json) {
        if (resident >= 0) {
            printf(",\n  \"resident_bytes\": %lld", resident);
        } else {
            printf(",\n  \"resident_bytes\": null");
        }
    } else if (resident >= 0) {
        printf("resident: %lld bytes of %zu\n", resident, size);
    } else {
        printf("resident: unknown (%s)\n", diag_last());
    }
}

/* The text line saying how a named zone was read (it starts with "lock", as
 * the lines about the lock do). */
static void
stat_text_read(const struct stat_read *rd)
{
    if (rd->locked) {
        printf("lock taken by stat: waited %.1f us, held %.1f us, %u cop%s\n",
               rd->wait_ns / 1e3, rd->hold_ns / 1e3, rd->copies,
               rd->copies == 1 ? "y" : "ies");
    } else if (rd->holder == STAT_NO_LOCK) {
        printf("lock not taken: %u cop%s read; the allocator has no lock\n",
               rd->copies, rd->copies == 1 ? "y" : "ies");
    } else if (rd->holder == 0) {
        printf("lock not taken: %u cop%s read without it; the lock was free\n",
               rd->copies, rd->copies == 1 ? "y" : "ies");
    } else {
        printf("lock not taken: %u cop%s read without it; the lock is held by "
               "pid %llu%s\n", rd->copies, rd->copies == 1 ? "y" : "ies",
               (unsigned long long) rd->holder,
               stat_pid_gone(rd->holder) ? ", which no longer exists" : "");
    }
}

/*
 * The table's first part for zone z: its head, its free runs, its slots
 * (*st its statistics, *out the runs seen); *walked whether the runs were
 * walked.  0, or the printed error's exit code.
 */
static int
stat_table(struct zone *z, const struct allocator_ops *ops, const char *label,
    const struct stat_read *rd, struct alloc_stats *st, struct stat_out *out,
    int *walked)
{
    memset(st, 0, sizeof(*st));
    ops->stats(z, st);
    if (st->zone_bytes == 0) {
        st->zone_bytes = z->size;
    }
    out->paged = st->page_size != 0;
    if (out->json) {
        stat_json_head(st, ops, label, rd);
    } else {
        stat_text_head(st, label);
    }
    *walked = 0;
    if (ops->each_free_run) {
        if (out->json) {
            printf(",\n  \"free_runs\": [");
        }
        if (ops->each_free_run(z, stat_run, out) != 0) {
            fflush(stdout);
            return cli_error("%s: the free-run list ended early: %s", label,
                             diag_last());
        }
        if (out->json) {
            printf("%s]", out->count ? "\n  " : "");
        }
        *walked = 1;
    }
    if (ops->caps & ALLOC_SLOT_STATS) {
        stat_slots(st, out->json);
    }
    return 0;
}

int
stat_tengine_table(struct zone *z, const struct allocator_ops *ops,
    const char *label, struct alloc_stats *st, uint64_t *largest)
{
    struct stat_out out = { 0, 0, 0, 0 };
    int             walked, rc;

    rc = stat_table(z, ops, label, NULL, st, &out, &walked);
    *largest = out.largest;
    return rc;
}

/*
 * Print zone z (a copy, or a replay's own zone); resident bytes are those
 * of live, the zone itself; rd says how a named zone was read (NULL after a
 * replay).
 */
static int
stat_print(struct zone *z, const struct zone *live, const struct allocator_ops *ops,
    const char *label, const struct stat_read *rd, int json)
{
    struct alloc_stats st;
    struct stat_out    out = { json, 0, 0, 0 };
    int                walked, rc;

    if ((rc = stat_table(z, ops, label, rd, &st, &out, &walked)) != 0) {
        return rc;
    }
    stat_summary(&st, ops, &out, walked);
    stat_resident(zone_resident(live), z->size, json);
    if (ops->caps & ALLOC_LOCK_COUNTERS) {
        stat_lock_counters(z, json);
    }
    if (json) {
        printf("\n}\n");
    } else if (rd) {
        stat_text_read(rd);
    }
    return 0;
}


/* ---------------------------------------------------------------------- */
/* The lock: found, made writable, taken within a bound.                    */

/* The lock this process holds, for the signal handler to give back. */
static struct shmtx *stat_held;

/* A deferred signal that came while waiting for or holding the lock. */
static volatile sig_atomic_t stat_signal;

static void
stat_sigbus(int sig)
{
    static const char msg[] =
        "shmbench: stat: the zone is truncated or corrupt (bus error reading it)\n";

    (void) sig;
    if (stat_held != NULL) {
        shmtx_unlock(stat_held);        /* a dead stat must not hold the zone */
    }
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        _exit(CLI_EXIT_FAIL);
    }
    _exit(CLI_EXIT_FAIL);
}

/* A crash while the lock is held gives it back, then crashes as it would. */
static void
stat_sigsegv(int sig)
{
    if (stat_held != NULL) {
        shmtx_unlock(stat_held);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/*
 * Find the allocator's lock in the live zone: c->lock and c->word_off.
 * Nothing read is trusted: the lock and its word must lie in the region, the
 * word aligned.  0, or -1 with the reason in why.
 */
static int
stat_lock_find(struct stat_ctx *c, char *why, size_t len)
{
    struct zone   *z = &c->live;
    unsigned char *m;
    int64_t        rel;
    size_t         moff;

    m = (unsigned char *) c->ops->lock(z);
    if (z->size < sizeof(struct shmtx) || m < z->base
        || (size_t) (m - z->base) > z->size - sizeof(struct shmtx))
    {
        snprintf(why, len, "its lock is outside the zone");
        return -1;
    }
    moff = (size_t) (m - z->base);
    rel = ((const struct shmtx *) m)->lock_rel;
    if ((rel < 0 && (uint64_t) -rel > moff)
        || (rel >= 0 && (uint64_t) rel > z->size - sizeof(struct shmtx_lockword) - moff)
        || (moff + (size_t) rel) % sizeof(uint64_t) != 0)
    {
        snprintf(why, len, "its lock's lock word is at offset %lld from it, outside "
                 "the zone or misaligned", (long long) rel);
        return -1;
    }
    c->lock = (struct shmtx *) m;
    c->word_off = moff + (size_t) rel;
    return 0;
}

/* Make the OS pages that hold the lock (its word and its struct shmtx)
 * writable, the rest of the zone staying read-only.  0 or an exit code. */
static int
stat_lock_writable(struct stat_ctx *c)
{
    uintptr_t base = (uintptr_t) c->live.base, page = zone_os_page();
    uintptr_t m = (uintptr_t) c->lock, w = base + c->word_off;
    uintptr_t lo = w < m ? w : m;
    uintptr_t hi = m + sizeof(struct shmtx);

    if (w + sizeof(struct shmtx_lockword) > hi) {
        hi = w + sizeof(struct shmtx_lockword);
    }
    lo &= ~(page - 1);
    hi = (hi + page - 1) & ~(page - 1);
    if (mprotect((void *) lo, hi - lo, PROT_READ | PROT_WRITE) != 0) {
        return cli_error("stat %s: cannot make the lock's page writable: %s",
                         c->o->name, strerror(errno));
    }
    return 0;
}

/* What waiting for the lock ended in; STAT_STOPPED: a signal came first
 * (one that did not end the process: it waits again). */
enum { STAT_LOCKED, STAT_BUSY, STAT_DEAD, STAT_STOPPED };

/* Whether pid (a lock word's value) names no process.  Our own pid cannot
 * be in a lock we do not hold but by a dead process that had it before. */
static int
stat_pid_gone(uint64_t pid)
{
    return pid > INT32_MAX || (pid_t) pid == getpid()
           || (kill((pid_t) pid, 0) != 0 && errno == ESRCH);
}

/* Watch the lock word for about STAT_SPIN_NS and take the lock the moment
 * it reads free; 1 if taken.  nginx's lock is not fair: a worker that
 * unlocks takes it again a few tens of nanoseconds later, so on a zone
 * whose workers keep it busy only a waiter that watches the word closely
 * ever sees it free. */
static int
stat_lock_spin(struct shmtx *m, uint64_t until)
{
    const struct shmtx_lockword *w = shmtx_word(m);
    unsigned                     i;

    do {
        if (stat_signal != 0) {
            return 0;
        }
        for (i = 0; i < 256; i++) {
            if (atomic_load_explicit(&w->lock, memory_order_relaxed) == 0
                && shmtx_trylock(m))
            {
                return 1;
            }
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    } while (clock_ns() < until);
    return 0;
}

/*
 * Take the lock, trying for at most wait_ms: STAT_LOCKED; STAT_BUSY, *holder
 * the last pid seen holding it and *many set if more than one was; or
 * STAT_DEAD at once when it is held by a pid that names no process (read
 * twice: a holder that exits after its unlock is not dead in the lock), or
 * STAT_STOPPED when a deferred signal came.  Watching the word takes a CPU:
 * it alternates with short sleeps.
 */
static int
stat_lock_take(struct shmtx *m, uint64_t wait_ms, uint64_t *holder, int *many)
{
    struct timespec rest = { 0, STAT_REST_NS };
    uint64_t        now = clock_ns(), deadline = now + wait_ms * 1000000;
    uint64_t        owner, first = 0;

    *many = 0;
    for ( ;; ) {
        if (shmtx_trylock(m)) {
            return STAT_LOCKED;
        }
        if (stat_signal != 0) {
            return STAT_STOPPED;
        }
        owner = (uint64_t) shmtx_owner(m);
        if (owner != 0) {
            if (first == 0) {
                first = owner;
            } else if (owner != first) {
                *many = 1;
            }
            *holder = owner;
            if (stat_pid_gone(owner) && (uint64_t) shmtx_owner(m) == owner) {
                return STAT_DEAD;
            }
        }
        now = clock_ns();
        if (now >= deadline) {
            return STAT_BUSY;
        }
        if (stat_lock_spin(m, now + STAT_SPIN_NS < deadline ? now + STAT_SPIN_NS
                                                            : deadline)) {
            return STAT_LOCKED;
        }
        if (clock_ns() < deadline) {
            nanosleep(&rest, NULL);
        }
    }
}

/* The message for a lock that could not be had; the exit code. */
static int
stat_lock_refused(const struct stat_ctx *c, int rc, uint64_t holder, int many)
{
    const char *name = c->o->name;

    if (rc == STAT_DEAD) {
        return cli_error("stat %s: the lock is held by pid %llu, which no longer "
                         "exists: use --no-lock, or force-unlock it", name,
                         (unsigned long long) holder);
    }
    if (many) {
        return cli_error("stat %s: zone is busy: its lock was never free for over "
                         "%llu ms (held by several processes, last by pid %llu)",
                         name, (unsigned long long) c->o->wait_ms,
                         (unsigned long long) holder);
    }
    return cli_error("stat %s: zone is busy: its lock is held by pid %llu for over "
                     "%llu ms", name, (unsigned long long) holder,
                     (unsigned long long) c->o->wait_ms);
}


/* ---------------------------------------------------------------------- */
/* Copies.                                                                  */

/* A zeroed private mapping for a copy of the live zone: the control block,
 * then the region at the live base's alignment.  0 or -1 (printed). */
static int
stat_copy_make(struct stat_ctx *c, struct stat_copy *cp)
{
    size_t    page = zone_os_page(), ctl = (ZONE_CTL_SIZE + page - 1) & ~(page - 1);
    size_t    align = (size_t) c->live.ctl->align;
    uintptr_t base;

    /* The alignment init asked for, which the live base has. */
    if (align < page || (align & (align - 1)) != 0
        || ((uintptr_t) c->live.base & (align - 1)) != 0)
    {
        align = page;
    }
    cp->len = ctl + align + c->live.size;
    cp->mem = mmap(NULL, cp->len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (cp->mem == MAP_FAILED) {
        cp->mem = NULL;
        return cli_error("stat %s: no memory for a copy of the zone (%zu bytes): %s",
                         c->o->name, cp->len, strerror(errno));
    }
    base = ((uintptr_t) cp->mem + ctl + align - 1) & ~((uintptr_t) align - 1);
    memset(&cp->z, 0, sizeof(cp->z));
    cp->z.map = cp->mem;
    cp->z.map_size = cp->len;
    cp->z.ctl = (struct zone_ctl *) cp->mem;
    cp->z.base = (unsigned char *) base;
    cp->z.size = c->live.size;
    cp->z.method = ZONE_POSIX;
    cp->z.shmid = -1;
    cp->z.readonly = 1;
    cp->z.ops = c->ops;
    memcpy(cp->z.name, c->live.name, sizeof(cp->z.name));
    return 0;
}

/*
 * The data of the zone object's bytes [off, off + len) into dst (dst[0] is
 * offset off), from the live mapping src (likewise), skipping the object's
 * holes: never-written pages, which read as zero, stay unread in the zone
 * and untouched in the copy.  With touch, only write one byte per page of
 * dst, so that the copy later takes no page fault.
 */
static void
stat_copy_data(int fd, const unsigned char *src, unsigned char *dst, off_t off,
    off_t len, int touch)
{
    off_t  end = off + len, d, h, i;
    size_t page = zone_os_page();

    for (d = off; d < end; d = h) {
        h = end;
        if (fd >= 0) {
            d = lseek(fd, d, SEEK_DATA);
            if (d == -1 && errno == ENXIO) {
                return;                         /* holes to the end */
            }
            if (d == -1) {
                d = off;                        /* no SEEK_DATA: all is data */
            } else if (d >= end) {
                return;
            } else {
                h = lseek(fd, d, SEEK_HOLE);
                h = h == -1 || h > end ? end : h;
            }
        }
        if (touch) {
            for (i = d; i < h; i += (off_t) page) {
                dst[i - off] = 0;
            }
        } else {
            memcpy(dst + (d - off), src + (d - off), (size_t) (h - d));
        }
    }
}

/* The live zone into cp (touch: only its pages, see stat_copy_data). */
static void
stat_copy_zone(struct stat_ctx *c, struct stat_copy *cp, int touch)
{
    struct zone *z = &c->live;

    if (touch) {
        /* A copy taken before is dropped: its pages read as zero again, as
         * the holes of the next copy must (and take no memory). */
        madvise(cp->z.base, cp->z.size, MADV_DONTNEED);
    } else {
        memcpy(cp->z.ctl, z->ctl, ZONE_CTL_SIZE);
    }
    stat_copy_data(c->fd, z->base, cp->z.base, (off_t) (z->base - z->map),
                   (off_t) z->size, touch);
    if (!touch && c->take) {
        /* Taken from free by us: the copy shows it free. */
        atomic_store_explicit(&((struct shmtx_lockword *) (cp->z.base + c->word_off))->lock,
                              0, memory_order_relaxed);
    }
}

/* The signals that end or stop a process from the terminal or the system:
 * caught while stat waits for or holds the lock, and acted on after. */
static const int stat_deferred[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define STAT_NDEFERRED (sizeof(stat_deferred) / sizeof(stat_deferred[0]))

static void
stat_on_signal(int sig)
{
    stat_signal = sig;
}

/* Catch the deferred signals that are not ignored (old: their actions), and
 * SIGSEGV, which gives the lock back. */
static void
stat_signals_catch(struct sigaction *old, struct sigaction *old_segv)
{
    struct sigaction sa;
    unsigned         i;

    stat_signal = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = stat_on_signal;
    for (i = 0; i < STAT_NDEFERRED; i++) {
        sigaction(stat_deferred[i], NULL, &old[i]);
        if (old[i].sa_handler != SIG_IGN) {
            sigaction(stat_deferred[i], &sa, NULL);
        }
    }
    sa.sa_handler = stat_sigsegv;
    sigaction(SIGSEGV, &sa, old_segv);
}

/* Put the actions back, then act on a signal that came meanwhile. */
static void
stat_signals_release(const struct sigaction *old, const struct sigaction *old_segv)
{
    unsigned i;

    sigaction(SIGSEGV, old_segv, NULL);
    for (i = 0; i < STAT_NDEFERRED; i++) {
        sigaction(stat_deferred[i], &old[i], NULL);
    }
    if (stat_signal != 0) {
        raise(stat_signal);     /* SIGTSTP: we go on once continued */
    }
}

/*
 * Copy the live zone into a, then b if not NULL, back to back: under the
 * zone's lock when there is one to take.  0, or the printed refusal's exit
 * code (the lock was busy or its holder dead).  Between taking the lock and
 * giving it back nothing but SIGKILL can end this process: the signals that
 * would are acted on after, and a fault in the copy gives the lock back.
 */
static int
stat_take(struct stat_ctx *c, struct stat_copy *a, struct stat_copy *b)
{
    struct sigaction old[STAT_NDEFERRED], old_segv;
    uint64_t         t0, t1, holder = 0;
    int              rc, many;

    stat_copy_zone(c, a, 1);
    if (b) {
        stat_copy_zone(c, b, 1);
    }
    if (!c->take) {
        stat_copy_zone(c, a, 0);
        if (b) {
            stat_copy_zone(c, b, 0);
        }
        c->read.copies += b ? 2 : 1;
        return 0;
    }

    do {
        stat_signals_catch(old, &old_segv);
        stat_held = c->lock;
        t0 = clock_ns();
        rc = stat_lock_take(c->lock, c->o->wait_ms, &holder, &many);
        t1 = clock_ns();
        if (rc == STAT_LOCKED) {
            stat_copy_zone(c, a, 0);
            if (b) {
                stat_copy_zone(c, b, 0);
            }
            shmtx_unlock(c->lock);
        }
        stat_held = NULL;
        c->read.wait_ns += t1 - t0;
        c->read.hold_ns += rc == STAT_LOCKED ? clock_ns() - t1 : 0;
        stat_signals_release(old, &old_segv);
    } while (rc == STAT_STOPPED);
    if (rc != STAT_LOCKED) {
        return stat_lock_refused(c, rc, holder, many);
    }
    c->read.copies += b ? 2 : 1;
    return 0;
}

/* The lock word's value in a copy, STAT_NO_LOCK if there is no lock. */
static uint64_t
stat_lock_value(const struct stat_ctx *c, const struct stat_copy *cp)
{
    if (c->lock == NULL) {
        return STAT_NO_LOCK;
    }
    return atomic_load_explicit(
        &((const struct shmtx_lockword *) (cp->z.base + c->word_off))->lock,
        memory_order_relaxed);
}

/* Whether two copies hold the same region. */
static int
stat_same(const struct stat_copy *a, const struct stat_copy *b)
{
    return memcmp(a->z.base, b->z.base, a->z.size) == 0;
}

/*
 * A consistent copy of the live zone (see the top of the file): *out, or
 * the printed error's exit code.
 */
static int
stat_settle(struct stat_ctx *c, struct stat_copy **out)
{
    struct stat_copy *a = &c->copy[0], *b = &c->copy[1], *d = &c->copy[2];
    struct timespec   gap = { 0, STAT_RETRY_MS * 1000000L };
    const char       *name = c->o->name;
    char              why[512];
    uint64_t          owner, held = 0;
    unsigned          t, lockfree = 0;
    int               rc;

    for (t = 0; t < STAT_TRIES; t++) {
        if (t > 0) {
            nanosleep(&gap, NULL);
        }
        if ((rc = stat_take(c, a, NULL)) != 0) {
            return rc;
        }
        if (c->ops->check(&a->z, NULL) == 0) {
            *out = a;
            return 0;
        }
        snprintf(why, sizeof(why), "%s", diag_last());
        if ((b->mem == NULL && stat_copy_make(c, b) != 0)
            || (d->mem == NULL && stat_copy_make(c, d) != 0))
        {
            return CLI_EXIT_FAIL;
        }
        if ((rc = stat_take(c, b, d)) != 0) {
            return rc;
        }
        if (!stat_same(b, d)) {
            continue;                   /* it changes while it is copied */
        }
        if (c->ops->check(&b->z, NULL) == 0) {
            *out = b;
            return 0;
        }
        /* It held still, and it is not consistent: corrupt, unless a live
         * process holds the lock that we did not take (it is mid-operation,
         * perhaps preempted: try again), or the allocator changes the zone
         * without its lock (a preempted lock-free operation: try again). */
        if (c->ops->caps & ALLOC_LOCK_FREE_PATHS) {
            lockfree++;
            continue;
        }
        owner = stat_lock_value(c, b);
        if (!c->take && owner != STAT_NO_LOCK && owner != 0) {
            if (!stat_pid_gone(owner)) {
                held = owner;
                continue;
            }
            return cli_error("stat %s: zone is corrupt: %s (its lock is held by "
                             "pid %llu, which no longer exists: it may have died "
                             "mid-operation)", name, diag_last(),
                             (unsigned long long) owner);
        }
        return cli_error("stat %s: zone is corrupt: %s", name, diag_last());
    }
    if (lockfree == STAT_TRIES) {
        return cli_error("stat %s: the zone was inconsistent in all %u tries, each copy "
                         "holding still (%s changes it without its lock: a worker "
                         "preempted mid-operation looks so; a zone that stays so "
                         "once its workers stop is corrupt): %s", name, STAT_TRIES,
                         c->ops->name, why);
    }
    if (held != 0) {
        return cli_error("stat %s: the zone was inconsistent in all %u tries while "
                         "pid %llu held its lock (it is mid-operation; without "
                         "--no-lock, stat waits for the lock): %s", name,
                         STAT_TRIES, (unsigned long long) held, why);
    }
    return cli_error("stat %s: the zone changed while it was read: %u tries of "
                     "%s, none consistent (the first said: %s)", name, STAT_TRIES,
                     c->take ? "copies under its lock" : "copies without the lock",
                     why);
}


/* ---------------------------------------------------------------------- */
/* stat NAME                                                                */

/*
 * Attach the named zone: read-only with --no-lock; else read-write, and at
 * once read-only again but for the lock's pages (stat_lock_find).  A zone
 * this process may read but not write is said so.  0 or an exit code.
 */
static int
stat_attach(struct stat_ctx *c)
{
    const char *name = c->o->name;
    char        why[512];

    if (c->o->nolock) {
        if (zone_attach(&c->live, name, 1) != 0) {
            return cli_error("stat %s: %s", name, diag_last());
        }
        return 0;
    }
    if (zone_attach(&c->live, name, 0) == 0) {
        if (mprotect(c->live.map, c->live.map_size, PROT_READ) != 0) {
            return cli_error("stat %s: mprotect of the zone failed: %s", name,
                             strerror(errno));
        }
        return 0;
    }
    snprintf(why, sizeof(why), "%s", diag_last());
    if (zone_attach(&c->live, name, 1) != 0) {
        return cli_error("stat %s: %s", name, diag_last());
    }
    return cli_error("stat %s: cannot take the zone's lock: opening it for "
                     "writing failed (%s); --no-lock reads it without the lock",
                     name, why);
}

/* The allocator of the attached zone, if it can be read from here. */
static int
stat_allocator(struct stat_ctx *c)
{
    const char *name = c->o->name;
    char        aname[ZONE_ALLOC_NAME_MAX + 1];

    memcpy(aname, c->live.ctl->allocator, ZONE_ALLOC_NAME_MAX);
    aname[ZONE_ALLOC_NAME_MAX] = '\0';
    if (atomic_load(&c->live.ctl->formatted) != 1) {
        return cli_error("stat %s: the zone is not formatted (its allocator's "
                         "init never finished)", name);
    }
    c->ops = allocator_find(aname);
    if (c->ops == NULL) {
        return cli_error("stat %s: the zone was formatted by an allocator this "
                         "build cannot read: %s", name, diag_last());
    }
    if (!(c->ops->caps & ALLOC_ATTACH_BY_NAME) || c->ops->check == NULL) {
        return cli_error("stat %s: \"%s\" zones cannot be read from another "
                         "process", name, c->ops->name);
    }
    c->live.ops = c->ops;
    return 0;
}

/* The zone object again, for its holes (the mapping does not say them). */
static int
stat_open_object(struct stat_ctx *c)
{
    struct stat st;

    c->fd = shm_open(c->live.name, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (c->fd == -1) {
        return cli_error("stat %s: shm_open again failed: %s", c->o->name,
                         strerror(errno));
    }
    if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode)
        || (unsigned long long) st.st_size != c->live.map_size)
    {
        return cli_error("stat %s: the zone was replaced while it was attached",
                         c->o->name);
    }
    return 0;
}

static int
stat_named(const struct stat_opts *o)
{
    struct stat_ctx   c;
    struct stat_copy *good = NULL;
    char              why[256];
    unsigned          i;
    int               rc;

    memset(&c, 0, sizeof(c));
    c.o = o;
    c.fd = -1;
    signal(SIGBUS, stat_sigbus);
    shmtx_set_counting(0);      /* the lock word only: see the top of the file */
    if ((rc = stat_attach(&c)) != 0 || (rc = stat_allocator(&c)) != 0
        || (rc = stat_open_object(&c)) != 0)
    {
        goto done;
    }
    if (c.ops->lock != NULL && stat_lock_find(&c, why, sizeof(why)) != 0) {
        if (!o->nolock) {
            rc = cli_error("stat %s: zone is corrupt: %s (--no-lock reads it "
                           "without the lock)", o->name, why);
            goto done;
        }
        c.lock = NULL;          /* read as if it had none */
    }
    c.take = c.lock != NULL && !o->nolock;
    if ((c.take && (rc = stat_lock_writable(&c)) != 0)
        || (rc = stat_copy_make(&c, &c.copy[0])) != 0
        || (rc = stat_settle(&c, &good)) != 0)
    {
        goto done;
    }
    c.read.locked = c.take;
    c.read.holder = c.take ? 0 : stat_lock_value(&c, good);
    rc = stat_print(&good->z, &c.live, c.ops, o->name, &c.read, o->json);
done:
    for (i = 0; i < 3; i++) {
        if (c.copy[i].mem) {
            munmap(c.copy[i].mem, c.copy[i].len);
        }
    }
    if (c.fd >= 0) {
        close(c.fd);
    }
    zone_destroy(&c.live);
    return rc;
}

int
cmd_stat(int argc, char **argv)
{
    static const char   cmd[] = "stat";
    struct replay_opts  o;
    struct replay_state s;
    struct stat_opts    so;
    const char         *val;
    int                 i, rc, after = 0, wait_set = 0;
    uint64_t            v;

    memset(&o, 0, sizeof(o));
    memset(&so, 0, sizeof(so));
    o.cmd = cmd;
    o.method = ZONE_ANON;
    so.wait_ms = STAT_WAIT_MS;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pid") == 0 || strncmp(argv[i], "--pid=", 6) == 0) {
            return statpid_cmd(argc, argv);     /* a running nginx: cmd_stat_pid.c */
        }
    }
    for (i = 1; i < argc; i++) {
        if (cli_option(cmd, argc, argv, &i, "--after-replay", &val)) {
            o.trace_path = val;
            after = 1;
        } else if (cli_option(cmd, argc, argv, &i, "--alloc", &val)) {
            o.ops = cli_allocator(cmd, val);
        } else if (cli_option(cmd, argc, argv, &i, "--zone", &val)) {
            o.method = cli_zone_method(cmd, val);
        } else if (cli_option(cmd, argc, argv, &i, "--zone-size", &val)) {
            o.zone_size = cli_bytes(cmd, "--zone-size", val, 1, SIZE_MAX / 2);
        } else if (cli_option(cmd, argc, argv, &i, "--pagesize", &val)) {
            v = cli_bytes(cmd, "--pagesize", val, 1, 1ull << 30);
            if (v & (v - 1)) {
                cli_usage_error(cmd, "--pagesize %s is not a power of two", val);
            }
            o.page_size = v;
        } else if (cli_option(cmd, argc, argv, &i, "--wait", &val)) {
            so.wait_ms = cli_number(cmd, "--wait", val, 0, STAT_WAIT_MAX);
            wait_set = 1;
        } else if (cli_flag(cmd, argv[i], "--no-lock")) {
            so.nolock = 1;
        } else if (cli_option(cmd, argc, argv, &i, "--format", &val)) {
            if (strcmp(val, "json") != 0 && strcmp(val, "text") != 0) {
                cli_usage_error(cmd, "--format %s: expected text or json", val);
            }
            so.json = strcmp(val, "json") == 0;
        } else if (argv[i][0] != '-' && so.name == NULL) {
            so.name = argv[i];
        } else {
            cli_unknown_option(cmd, argv[i]);
        }
    }
    if (after && so.name) {
        cli_usage_error(cmd, "give a zone NAME or --after-replay TRACE, not both");
    }
    if (so.nolock && wait_set) {
        cli_usage_error(cmd, "--wait bounds the wait for the lock, which --no-lock "
                        "does not take");
    }
    if (!after) {
        if (so.name == NULL) {
            cli_usage_error(cmd, "stat needs a zone NAME or --after-replay TRACE");
        }
        if (o.ops || o.zone_size || o.page_size || o.method != ZONE_ANON) {
            cli_usage_error(cmd, "--alloc, --zone, --zone-size and --pagesize "
                            "go with --after-replay");
        }
        cli_zone_name(cmd, "stat", so.name);
        return stat_named(&so);
    }
    if (so.nolock || wait_set) {
        cli_usage_error(cmd, "--wait and --no-lock go with a zone NAME: a replay's "
                        "zone is this process's own");
    }

    rc = replay_run(&o, &s);
    if (rc == 0) {
        rc = stat_print(&s.zone, &s.zone, s.ops, s.trace.path, NULL, so.json);
    }
    replay_release(&o, &s);
    return rc;
}
