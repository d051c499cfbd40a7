/*
 * stat: a zone's pages, free runs and slots in tengine's slab_stat format
 * (docs/formats.md: stat), then what tengine does not
 * show: the largest free run, resident bytes and the zone lock's counters.
 *
 * A named zone is attached read-only from this process, at whatever address
 * the kernel picks: every read goes through the allocator's offsets.  The
 * allocator's integrity check runs before anything else is read, so a
 * corrupt zone is refused with a message instead of crashing the reader.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"

#define STAT_CHECK_TRIES 5

const char cmd_stat_help[] =
    "usage: shmbench stat NAME\n"
    "       shmbench stat --after-replay TRACE [--alloc NAME] [--zone METHOD]\n"
    "                     [--zone-size BYTES] [--pagesize P]\n"
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
    "\n"
    "start and end are the byte offsets of the run's own first and last byte\n"
    "from the first data page.  (tengine prints the zone's data start and end\n"
    "on every 'pages:' line instead, as pointers.)\n"
    "\n"
    "NAME is a posix zone left by 'shmbench replay --keep NAME' (or a running\n"
    "benchmark).  It is attached read-only, and the allocator's integrity check\n"
    "runs first: a corrupt zone is refused, never read further.  (The lock is\n"
    "not taken: a zone that workers are changing is checked up to 5 times,\n"
    "5 ms apart, before it is called corrupt.)\n"
    "\n"
    "With --after-replay, the trace is replayed first (as 'shmbench replay'\n"
    "does, same options) and the resulting zone is printed.\n";

struct stat_runs {
    uint64_t largest;
    uint64_t count;
};

static int
stat_run(void *arg, uint64_t off, uint64_t len)
{
    struct stat_runs *r = arg;

    printf("pages: %12llu(KB) start: %12llu end: %12llu\n",
           (unsigned long long) (len / 1024), (unsigned long long) off,
           (unsigned long long) (len ? off + len - 1 : off));
    if (len > r->largest) {
        r->largest = len;
    }
    r->count++;
    return 0;
}

static int
stat_print(struct zone *z, const struct allocator_ops *ops, const char *label)
{
    struct alloc_stats  st;
    struct stat_runs    runs = { 0, 0 };
    struct shmtx_report lk;
    long long           resident;
    unsigned            i;
    uint64_t            zone_bytes, largest;
    int                 walked = 0;

    memset(&st, 0, sizeof(st));
    ops->stats(z, &st);
    zone_bytes = st.zone_bytes ? st.zone_bytes : z->size;

    printf("* shared memory: %s\n", label);
    printf("total: %12llu(KB) free: %12llu(KB) size: %12llu(KB)\n",
           (unsigned long long) (zone_bytes / 1024),
           (unsigned long long) (st.pages_free * st.page_size / 1024),
           (unsigned long long) (st.page_size / 1024));
    if (ops->each_free_run) {
        if (ops->each_free_run(z, stat_run, &runs) != 0) {
            return cli_error("%s: the free-run list ended early: %s", label,
                             diag_last());
        }
        walked = 1;
    }
    for (i = 0; i < st.nslots && i < ALLOC_MAX_SLOTS; i++) {
        printf("slot: %12llu(Bytes) total: %12llu used: %12llu reqs: %12llu "
               "fails: %12llu\n",
               (unsigned long long) st.slot[i].size,
               (unsigned long long) st.slot[i].total,
               (unsigned long long) st.slot[i].used,
               (unsigned long long) st.slot[i].reqs,
               (unsigned long long) st.slot[i].fails);
    }

    printf("pages free: %llu\n", (unsigned long long) st.pages_free);
    if (ops->caps & ALLOC_SLOT_STATS) {
        uint64_t slot_fails = 0;
        for (i = 0; i < st.nslots; i++) {
            slot_fails += st.slot[i].fails;
        }
        printf("failed allocations: %llu (%llu in slots, %llu larger requests)\n",
               (unsigned long long) st.fails, (unsigned long long) slot_fails,
               (unsigned long long) (st.fails - slot_fails));
    } else {
        /* No size classes: a failure is not "larger" than anything. */
        printf("failed allocations: %llu\n", (unsigned long long) st.fails);
    }
    largest = walked ? runs.largest : st.largest_free;
    if (st.page_size) {
        printf("largest free run: %llu pages (%llu bytes)\n",
               (unsigned long long) (largest / st.page_size),
               (unsigned long long) largest);
    } else {
        printf("largest free block: %llu bytes\n", (unsigned long long) largest);
    }
    resident = zone_resident(z);
    if (resident >= 0) {
        printf("resident: %lld bytes of %zu\n", resident, z->size);
    } else {
        printf("resident: unknown (%s)\n", diag_last());
    }
    if (ops->caps & ALLOC_LOCK_COUNTERS) {
        shmtx_report(z->ctl->lockstat, &lk);
        printf("lock: acquisitions: %llu contended: %llu spins: %llu yields: %llu "
               "sleeps: %llu owner-switches: %llu force-unlocks: %llu\n",
               (unsigned long long) lk.acquisitions,
               (unsigned long long) lk.contended, (unsigned long long) lk.spins,
               (unsigned long long) lk.yields, (unsigned long long) lk.sleeps,
               (unsigned long long) lk.owner_switches,
               (unsigned long long) lk.force_unlocks);
        printf("lock wait: total: %.0f ns max: %.0f ns\n", lk.wait_ns,
               lk.wait_max_ns);
        printf("lock hold: %.0f ns (estimated from %llu timed holds)\n",
               lk.hold_ns, (unsigned long long) lk.hold_samples);
    }
    return 0;
}

static void
stat_sigbus(int sig)
{
    static const char msg[] =
        "shmbench: stat: the zone is truncated or corrupt (bus error reading it)\n";

    (void) sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        _exit(CLI_EXIT_FAIL);
    }
    _exit(CLI_EXIT_FAIL);
}

static int
stat_named(const char *name)
{
    const struct allocator_ops *ops;
    struct zone                 z;
    char                        aname[ZONE_ALLOC_NAME_MAX + 1];
    int                         rc, tries;

    signal(SIGBUS, stat_sigbus);
    memset(&z, 0, sizeof(z));
    if (zone_attach(&z, name, 1) != 0) {
        return cli_error("stat %s: %s", name, diag_last());
    }
    memcpy(aname, z.ctl->allocator, ZONE_ALLOC_NAME_MAX);
    aname[ZONE_ALLOC_NAME_MAX] = '\0';
    if (atomic_load(&z.ctl->formatted) != 1) {
        rc = cli_error("stat %s: the zone is not formatted (its allocator's "
                       "init never finished)", name);
        goto done;
    }
    ops = allocator_find(aname);
    if (ops == NULL) {
        rc = cli_error("stat %s: the zone was formatted by an allocator this "
                       "build cannot read: %s", name, diag_last());
        goto done;
    }
    if (!(ops->caps & ALLOC_ATTACH_BY_NAME) || ops->check == NULL) {
        rc = cli_error("stat %s: \"%s\" zones cannot be read from another "
                       "process", name, ops->name);
        goto done;
    }
    z.ops = ops;
    /* Read-only, we cannot take the zone's lock: a zone that workers are
     * changing may be caught mid-operation.  Only a zone that fails the check
     * several times, a few milliseconds apart, is called corrupt. */
    for (tries = 1; ops->check(&z, NULL) != 0; tries++) {
        if (tries == STAT_CHECK_TRIES) {
            rc = cli_error("stat %s: zone is corrupt: %s", name, diag_last());
            goto done;
        }
        usleep(5000);
    }
    rc = stat_print(&z, ops, name);
done:
    zone_destroy(&z);
    return rc;
}

int
cmd_stat(int argc, char **argv)
{
    static const char   cmd[] = "stat";
    struct replay_opts  o;
    struct replay_state s;
    const char         *val, *name = NULL;
    int                 i, rc, after = 0;
    uint64_t            v;

    memset(&o, 0, sizeof(o));
    o.cmd = cmd;
    o.method = ZONE_ANON;
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
        } else if (argv[i][0] != '-' && name == NULL) {
            name = argv[i];
        } else {
            cli_unknown_option(cmd, argv[i]);
        }
    }
    if (after && name) {
        cli_usage_error(cmd, "give a zone NAME or --after-replay TRACE, not both");
    }
    if (!after) {
        if (name == NULL) {
            cli_usage_error(cmd, "stat needs a zone NAME or --after-replay TRACE");
        }
        if (o.ops || o.zone_size || o.page_size || o.method != ZONE_ANON) {
            cli_usage_error(cmd, "--alloc, --zone, --zone-size and --pagesize "
                            "go with --after-replay");
        }
        cli_zone_name(cmd, "stat", name);
        return stat_named(name);
    }

    rc = replay_run(&o, &s);
    if (rc == 0) {
        rc = stat_print(&s.zone, s.ops, s.trace.path);
    }
    replay_release(&o, &s);
    return rc;
}
