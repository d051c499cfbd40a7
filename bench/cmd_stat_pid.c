/*
 * stat --pid: the slab zones of a running nginx, read from outside it.
 *
 * Given the pid of nginx's master or of any worker (Debian's binary as it
 * is: no module added, no debug symbols), every slab zone the process maps
 * is found, copied consistently and checked (bench/ngx_zone.h says how),
 * and printed: tengine's slab_stat table (the same code as `stat NAME`,
 * over the copy made a slab zone), then what the table does not say: the
 * zone's feature and name, its size, data and free pages, the largest free
 * run (what the largest allocation needs) and free_space as lua's
 * ngx.shared.DICT:free_space() gives it (free pages times the page size).
 * --format json gives one object per print keyed by zone name, each zone
 * in the manner of NGINX Plus's /api/N/slabs ("pages": used and free,
 * "slots": per chunk size used, free, reqs, fails) with our fields after.
 * docs/stat.md ("stat --pid") is the user's page.
 *
 * A zone that never settles, or that is corrupt, is said so on stderr and
 * the others still print; the exit status is then 1.  A pid that is not
 * nginx's, does not exist, exits while it is read, or whose memory may not
 * be read ends the command with its message and status 1.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_stat.h"
#include "ngx_zone.h"
#include "registry.h"
#include "substrate/diag.h"
#include "subject/slab.h"

#define STATPID_TRIES      20       /* copies without the lock, default */
#define STATPID_TRIES_MAX  100000
#define STATPID_WAIT_MS    1000     /* --lock's wait, default */
#define STATPID_WAIT_MAX   3600000
#define STATPID_WATCH_MAX  86400
#define STATPID_LAYOUT     "1.22.1" /* the pool header layout read here */

/* What `stat --pid` is asked. */
struct statpid_opts {
    pid_t           pid;
    struct ngxz_how how;
    int             all;
    int             json;
    uint64_t        watch;          /* seconds, 0: print once */
};

/* A zone's label: its name, else its raw log context, else its address. */
static void
statpid_label(const struct ngxz_zone *z, char *buf, size_t len)
{
    if (z->name[0] != '\0') {
        snprintf(buf, len, "%s", z->name);
    } else {
        snprintf(buf, len, "zone@%#" PRIx64, z->addr);
    }
}

/* The process-wide failures: their message; the exit code. */
static int
statpid_fail(const struct statpid_opts *o, const struct ngxz_proc *p)
{
    if (p->err == NGXZ_NOPROC) {
        return cli_error("stat --pid %d: no such process", (int) o->pid);
    }
    if (p->err == NGXZ_GONE) {
        return cli_error("stat --pid %d: the process exited while it was read", (int) o->pid);
    }
    return cli_error("stat --pid %d: %s", (int) o->pid, diag_last());
}


/* ---------------------------------------------------------------------- */
/* Text                                                                     */

/* One zone's text; 0, or the exit code of a failure already printed. */
static int
statpid_text_zone(const struct statpid_opts *o, struct ngxz_zone *z)
{
    const struct slab_pool *pool = (const struct slab_pool *) z->z.base;
    struct alloc_stats      st;
    uint64_t                largest, P = slab_page_size(pool);
    char                    label[192];

    statpid_label(z, label, sizeof(label));
    if (stat_tengine_table(&z->z, &slab_allocator, label, &st, &largest) != 0) {
        return CLI_EXIT_FAIL;
    }
    printf("zone: ");
    if (z->feature[0] != '\0') {
        printf("%s \"%s\"", z->feature, z->name);
    } else {
        printf("log context ");
        cli_json_string(stdout, z->log_ctx);
    }
    printf(", %zu bytes at %#" PRIx64 " in pid %d\n", z->size, z->addr, (int) o->pid);
    printf("data pages: %" PRIu64 " free pages: %" PRIu64 " used pages: %" PRIu64 "\n",
           st.pages, st.pages_free, st.pages - st.pages_free);
    printf("largest free run: %" PRIu64 " pages (%" PRIu64 " bytes)\n", largest / P, largest);
    printf("free_space: %" PRIu64 " bytes (lua's free_space(): free pages times %" PRIu64
           ")\n", st.pages_free * P, P);
    if (z->locked) {
        printf("read: under the zone's lock: waited %.1f us, held %.1f us\n",
               z->wait_ns / 1e3, z->hold_ns / 1e3);
    } else {
        printf("read: without the lock: consistent at copy %u of at most %u\n", z->tries,
               o->how.tries);
    }
    return 0;
}


/* ---------------------------------------------------------------------- */
/* JSON                                                                     */

static void
statpid_json_key(const char *key, int *first)
{
    printf("%s\n  ", *first ? "" : ",");
    cli_json_string(stdout, key);
    printf(": ");
    *first = 0;
}

static void
statpid_json_zone(struct ngxz_zone *z)
{
    const struct slab_pool *pool = (const struct slab_pool *) z->z.base;
    struct alloc_stats      st;
    uint64_t                P = slab_page_size(pool), run;
    unsigned                i;
    char                    addr[32];

    memset(&st, 0, sizeof(st));
    slab_allocator.stats(&z->z, &st);
    run = slab_largest_free_run(pool, z->size);
    printf("{\"pages\": {\"used\": %" PRIu64 ", \"free\": %" PRIu64 "}, \"slots\": {",
           st.pages - st.pages_free, st.pages_free);
    for (i = 0; i < st.nslots; i++) {
        printf("%s\n    \"%" PRIu64 "\": {\"used\": %" PRIu64 ", \"free\": %" PRIu64
               ", \"reqs\": %" PRIu64 ", \"fails\": %" PRIu64 "}", i ? "," : "",
               st.slot[i].size, st.slot[i].used, st.slot[i].total - st.slot[i].used,
               st.slot[i].reqs, st.slot[i].fails);
    }
    printf("},\n    \"name\": ");
    cli_json_string(stdout, z->name);
    printf(", \"feature\": ");
    cli_json_string(stdout, z->feature);
    printf(", \"log_ctx\": ");
    cli_json_string(stdout, z->log_ctx);
    snprintf(addr, sizeof(addr), "%#" PRIx64, z->addr);
    printf(", \"address\": \"%s\",\n    \"size\": %zu, \"page_size\": %" PRIu64
           ", \"data_pages\": %" PRIu64 ", \"largest_free_run\": {\"pages\": %" PRIu64
           ", \"bytes\": %" PRIu64 "}, \"free_space\": %" PRIu64 ",\n    \"read\": "
           "{\"locked\": %s, \"copies\": %u, \"lock_wait_ns\": %" PRIu64
           ", \"lock_hold_ns\": %" PRIu64 "}}", addr, z->size, P, st.pages, run, run * P,
           st.pages_free * P, z->locked ? "true" : "false", z->tries, z->wait_ns, z->hold_ns);
}

/* A zone that could not be read, in the JSON object. */
static void
statpid_json_error(const struct ngxz_zone *z, const char *why)
{
    printf("{\"name\": ");
    cli_json_string(stdout, z->name);
    printf(", \"error\": ");
    cli_json_string(stdout, why);
    printf("}");
}

/* --all: a mapping that is not a slab zone. */
static void
statpid_other(const struct statpid_opts *o, const struct ngxz_map *m, const char *why,
    int *first)
{
    char key[48];

    if (!o->json) {
        printf("not a slab zone: %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " bytes, %s): %s\n",
               m->start, m->end, m->end - m->start, m->path, why);
        return;
    }
    snprintf(key, sizeof(key), "@%#" PRIx64, m->start);
    statpid_json_key(key, first);
    printf("{\"slab\": false, \"size\": %" PRIu64 ", \"path\": ", m->end - m->start);
    cli_json_string(stdout, m->path);
    printf(", \"why\": ");
    cli_json_string(stdout, why);
    printf("}");
}


/* ---------------------------------------------------------------------- */
/* One print                                                                */

/* The message for a pid that has no slab zone. */
static int
statpid_no_zone(const struct statpid_opts *o, const struct ngxz_proc *p)
{
    char version[96] = "";

    if (p->version[0] != '\0' && strcmp(p->version, STATPID_LAYOUT) != 0) {
        snprintf(version, sizeof(version), "; it is nginx/%s, and the zone layout read "
                 "here is nginx %s's", p->version, STATPID_LAYOUT);
    }
    return cli_error("stat --pid %d: not an nginx with slab zones: none of its %u shared "
                     "mappings starts with a slab pool header (its program is %s%s)",
                     (int) o->pid, p->nmaps, p->exe, version);
}

/* Find, copy and print every zone once; the exit code, *fatal set when
 * the process itself failed us (not there, gone, not nginx, unreadable). */
static int
statpid_once(const struct statpid_opts *o, int *fatal)
{
    struct ngxz_proc  p;
    struct ngxz_zone *zs = NULL;
    unsigned          i, n = 0;
    int               r, rc = 0, first = 1;
    char              label[192];

    *fatal = 1;
    if (ngxz_open(&p, o->pid) != 0) {
        rc = statpid_fail(o, &p);
        ngxz_close(&p);
        return rc;
    }
    zs = calloc(p.nmaps ? p.nmaps : 1, sizeof(*zs));
    if (zs == NULL) {
        ngxz_close(&p);
        return cli_error("stat --pid %d: out of memory", (int) o->pid);
    }
    for (i = 0; i < p.nmaps; i++) {
        r = ngxz_identify(&p, &p.maps[i], &zs[n]);
        if (r < 0) {
            rc = statpid_fail(o, &p);
            goto done;
        }
        if (r > 0) {
            n++;
        }
    }
    if (n == 0) {
        rc = statpid_no_zone(o, &p);
        goto done;
    }
    *fatal = 0;
    if (o->json) {
        printf("{");
    } else {
        printf("# nginx pid %d: %s, %s%s, %u slab zone%s\n", (int) o->pid, p.exe,
               p.version[0] ? "nginx/" : "version unknown", p.version, n, n == 1 ? "" : "s");
    }
    for (i = 0; i < n; i++) {
        statpid_label(&zs[i], label, sizeof(label));
        if (ngxz_copy(&p, &zs[i], &o->how) != 0) {
            if (p.err == NGXZ_GONE || p.err == NGXZ_PERM) {
                if (o->json) {
                    printf("\n}\n");
                }
                *fatal = 1;
                rc = statpid_fail(o, &p);
                goto done;
            }
            rc = cli_error("stat --pid %d: zone \"%s\": %s%s", (int) o->pid, label,
                           p.err == NGXZ_CORRUPT ? "zone is corrupt: " : "", diag_last());
            if (o->json) {
                statpid_json_key(label, &first);
                statpid_json_error(&zs[i], diag_last());
            }
            continue;
        }
        if (o->json) {
            statpid_json_key(label, &first);
            statpid_json_zone(&zs[i]);
        } else if (statpid_text_zone(o, &zs[i]) != 0) {
            rc = CLI_EXIT_FAIL;
        }
    }
    if (o->all) {
        for (i = 0; i < p.nmaps; i++) {
            struct ngxz_zone other;

            if (ngxz_identify(&p, &p.maps[i], &other) == 0) {
                statpid_other(o, &p.maps[i], diag_last(), &first);
            }
            ngxz_release(&other);
        }
    }
    if (o->json) {
        printf("\n}\n");
    }
done:
    for (i = 0; i < n; i++) {
        ngxz_release(&zs[i]);
    }
    free(zs);
    ngxz_close(&p);
    fflush(stdout);
    return rc;
}


/* ---------------------------------------------------------------------- */
/* The command                                                              */

/* Whether arg is one of the options of `stat --after-replay`. */
static int
statpid_replay_option(const char *arg)
{
    static const char *const opts[] = {
        "--alloc", "--zone", "--zone-size", "--pagesize"
    };
    size_t   n;
    unsigned i;

    for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        n = strlen(opts[i]);
        if (strncmp(arg, opts[i], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
            return 1;
        }
    }
    return 0;
}

static void
statpid_parse(int argc, char **argv, struct statpid_opts *o)
{
    static const char cmd[] = "stat";
    const char       *val;
    int               i, wait_set = 0, tries_set = 0, pid_set = 0;

    memset(o, 0, sizeof(*o));
    o->how.tries = STATPID_TRIES;
    o->how.wait_ms = STATPID_WAIT_MS;
    for (i = 1; i < argc; i++) {
        if (cli_option(cmd, argc, argv, &i, "--pid", &val)) {
            if (pid_set) {
                cli_usage_error(cmd, "--pid given twice");
            }
            o->pid = (pid_t) cli_number(cmd, "--pid", val, 1, INT32_MAX);
            pid_set = 1;
        } else if (cli_flag(cmd, argv[i], "--lock")) {
            o->how.lock = 1;
        } else if (cli_option(cmd, argc, argv, &i, "--wait", &val)) {
            o->how.wait_ms = cli_number(cmd, "--wait", val, 0, STATPID_WAIT_MAX);
            wait_set = 1;
        } else if (cli_option(cmd, argc, argv, &i, "--tries", &val)) {
            o->how.tries = (unsigned) cli_number(cmd, "--tries", val, 1, STATPID_TRIES_MAX);
            tries_set = 1;
        } else if (cli_flag(cmd, argv[i], "--all")) {
            o->all = 1;
        } else if (cli_option(cmd, argc, argv, &i, "--watch", &val)) {
            o->watch = cli_number(cmd, "--watch", val, 1, STATPID_WATCH_MAX);
        } else if (cli_option(cmd, argc, argv, &i, "--format", &val)) {
            if (strcmp(val, "json") != 0 && strcmp(val, "text") != 0) {
                cli_usage_error(cmd, "--format %s: expected text or json", val);
            }
            o->json = strcmp(val, "json") == 0;
        } else if (argv[i][0] != '-') {
            cli_usage_error(cmd, "--pid reads a running nginx: a zone NAME does not go "
                            "with it");
        } else if (cli_flag(cmd, argv[i], "--no-lock")) {
            cli_usage_error(cmd, "--pid reads without the lock unless --lock is given: "
                            "--no-lock does not go with it");
        } else if (strncmp(argv[i], "--after-replay", 14) == 0) {
            cli_usage_error(cmd, "give --pid PID or --after-replay TRACE, not both");
        } else if (statpid_replay_option(argv[i])) {
            cli_usage_error(cmd, "%s goes with --after-replay, not with --pid", argv[i]);
        } else {
            cli_unknown_option(cmd, argv[i]);
        }
    }
    if (wait_set && !o->how.lock) {
        cli_usage_error(cmd, "--wait bounds the wait for the lock, which only --lock takes");
    }
    if (tries_set && o->how.lock) {
        cli_usage_error(cmd, "--tries counts copies without the lock: not with --lock");
    }
}

int
statpid_cmd(int argc, char **argv)
{
    struct statpid_opts o;
    struct timespec     gap;
    time_t              now;
    char                when[32];
    int                 rc, fatal;

    statpid_parse(argc, argv, &o);
    for ( ;; ) {
        if (o.watch && !o.json) {
            now = time(NULL);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
            printf("# %s\n", when);
        }
        rc = statpid_once(&o, &fatal);
        if (!o.watch || fatal) {
            return rc;
        }
        gap.tv_sec = (time_t) o.watch;
        gap.tv_nsec = 0;
        while (nanosleep(&gap, &gap) != 0) {
            /* a signal that did not end us: sleep the rest */
        }
    }
}
