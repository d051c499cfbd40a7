/*
 * suite_file: a suite file's text into a plan of runs (bench/suite.h).
 *
 * The format is line-based (docs/suites.md): `#` starts a comment
 * anywhere; `set alloc LIST`, `set procs LIST` and `set repeat N` change
 * the settings of the `run` lines after them; `run SPEC [OPTIONS...]
 * [alloc=LIST] [procs=LIST] [repeat=N]` plans one run per allocator, procs
 * and repeat.  The command line's --alloc, --procs and --repeat win over
 * both.  Only what the suite itself means is checked here (its words, the
 * allocator names, the procs, the repeat, the options it sets itself); the
 * workload spec and the run options are `shmbench run`'s, and the suite
 * command asks `run`'s own parser about them before anything runs
 * (cmd_suite.c), so that there is one parser of them, not two.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "master.h"
#include "registry.h"
#include "substrate/diag.h"
#include "suite.h"

/* The options of `run` that the suite gives each run itself. */
static const char *const suite_own_options[] = {
    "--alloc", "--procs", "--seed", "--out", "--workload", "--keep",
};

/* A line's settings while it is read. */
struct suite_set {
    char     alloc[SUITE_MAX_LIST][SUITE_NAME_MAX];
    size_t   nalloc;
    unsigned procs[SUITE_MAX_LIST];
    size_t   nprocs;
    unsigned repeat;
};

struct suite_ctx {
    struct suite *s;
    const char   *file;
    unsigned      line;
};

static int suite_err(const struct suite_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Leave `FILE:LINE: what` (or `FILE: what` for the command line's
 * overrides, line 0) as the diag message; -1. */
static int
suite_err(const struct suite_ctx *c, const char *fmt, ...)
{
    char    what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (c->line == 0) {
        diag_set("%s: %s", c->file, what);
    } else {
        diag_set("%s:%u: %s", c->file, c->line, what);
    }
    return -1;
}

void *
suite_keep(struct suite *s, void *p)
{
    void **mem;

    if (p == NULL) {
        return NULL;
    }
    mem = realloc(s->mem, (s->nmem + 1) * sizeof(*mem));
    if (mem == NULL) {
        free(p);
        return NULL;
    }
    s->mem = mem;
    s->mem[s->nmem++] = p;
    return p;
}

/* One allocator name, or @zone / @all, appended to set. */
static int
suite_alloc_item(const struct suite_ctx *c, struct suite_set *set, const char *name)
{
    const struct allocator_ops *const *all;
    const struct allocator_missing    *miss;
    size_t                             n, i;
    int                                zone = strcmp(name, "@zone") == 0;

    if (zone || strcmp(name, "@all") == 0) {
        all = allocator_all(&n);
        for (i = 0; i < n; i++) {
            if ((!zone || (all[i]->caps & ALLOC_IN_SHM)) && set->nalloc < SUITE_MAX_LIST) {
                snprintf(set->alloc[set->nalloc++], SUITE_NAME_MAX, "%s", all[i]->name);
            }
        }
        return 0;
    }
    if (allocator_find(name) == NULL) {
        miss = allocator_missing(&n);
        for (i = 0; i < n && strcmp(miss[i].name, name) != 0; i++) {
        }
        if (i == n) {
            return suite_err(c, "unknown allocator '%s' (see 'shmbench list'; or @zone, "
                             "@all)", name);
        }
        /* known but not built here: planned, and refused by run with why */
    }
    if (strlen(name) >= SUITE_NAME_MAX || set->nalloc == SUITE_MAX_LIST) {
        return suite_err(c, "allocator list too long at '%s'", name);
    }
    snprintf(set->alloc[set->nalloc++], SUITE_NAME_MAX, "%s", name);
    return 0;
}

/* Comma-separated items of list, each given to item; an empty item is an
 * error. */
static int
suite_list(const struct suite_ctx *c, struct suite_set *set, const char *list, int procs)
{
    char     buf[2048], *item, *rest = buf;
    uint64_t v, ncpu;

    if (snprintf(buf, sizeof(buf), "%s", list) >= (int) sizeof(buf)) {
        return suite_err(c, "list too long: '%.40s...'", list);
    }
    if (procs) {
        set->nprocs = 0;
    } else {
        set->nalloc = 0;
    }
    while ((item = strsep(&rest, ",")) != NULL) {
        if (item[0] == '\0') {
            return suite_err(c, "empty item in list '%s'", list);
        }
        if (!procs) {
            if (suite_alloc_item(c, set, item) != 0) {
                return -1;
            }
            continue;
        }
        if (strcmp(item, "ncpu") == 0) {
            ncpu = (uint64_t) sysconf(_SC_NPROCESSORS_ONLN);
            for (v = 1; v <= ncpu && v <= MASTER_MAX_WORKERS
                 && set->nprocs < SUITE_MAX_LIST; v++) {
                set->procs[set->nprocs++] = (unsigned) v;
            }
            continue;
        }
        if (cli_parse_u64(item, &v) != 0 || v < 1 || v > MASTER_MAX_WORKERS) {
            return suite_err(c, "bad procs '%s' (1 to %d, or ncpu)", item,
                             MASTER_MAX_WORKERS);
        }
        if (set->nprocs == SUITE_MAX_LIST) {
            return suite_err(c, "procs list too long: '%s'", list);
        }
        set->procs[set->nprocs++] = (unsigned) v;
    }
    if (procs ? set->nprocs == 0 : set->nalloc == 0) {
        return suite_err(c, "no %s in the list", procs ? "procs" : "allocator");
    }
    return 0;
}

static int
suite_repeat(const struct suite_ctx *c, struct suite_set *set, const char *s)
{
    uint64_t v;

    if (cli_parse_u64(s, &v) != 0 || v < 1 || v > SUITE_MAX_REPEAT) {
        return suite_err(c, "bad repeat '%.40s' (1 to %d)", s, SUITE_MAX_REPEAT);
    }
    set->repeat = (unsigned) v;
    return 0;
}

/* `set KEY VALUE` */
static int
suite_set_line(const struct suite_ctx *c, struct suite_set *set, char **w, size_t n)
{
    if (n != 3) {
        return suite_err(c, "%s", "'set' takes a key (alloc, procs, repeat) and a value");
    }
    if (strcmp(w[1], "alloc") == 0) {
        return suite_list(c, set, w[2], 0);
    }
    if (strcmp(w[1], "procs") == 0) {
        return suite_list(c, set, w[2], 1);
    }
    if (strcmp(w[1], "repeat") == 0) {
        return suite_repeat(c, set, w[2]);
    }
    return suite_err(c, "unknown setting '%s' (alloc, procs or repeat)", w[1]);
}

/* The command line's overrides, over a line's settings. */
static int
suite_overrides(const struct suite_ctx *c, struct suite_set *set)
{
    struct suite_ctx cl = { c->s, "suite", 0 };

    if (c->s->set_alloc && suite_list(&cl, set, c->s->set_alloc, 0) != 0) {
        return -1;
    }
    if (c->s->set_procs && suite_list(&cl, set, c->s->set_procs, 1) != 0) {
        return -1;
    }
    if (c->s->set_repeat) {
        set->repeat = c->s->set_repeat;
    }
    return 0;
}

/* The runs of one `run` line with its settings. */
static int
suite_expand(const struct suite_ctx *c, const struct suite_set *set, char **args,
    size_t nargs, const char *spec)
{
    struct suite     *s = c->s;
    struct suite_run *r, *runs;
    size_t            a, p, k, more = set->nalloc * set->nprocs * set->repeat;
    size_t            wl = strcspn(spec, ":");

    if (s->nruns + more > SUITE_MAX_RUNS) {
        return suite_err(c, "more than %d runs planned", SUITE_MAX_RUNS);
    }
    if (wl == 0 || wl >= SUITE_NAME_MAX) {
        return suite_err(c, "bad workload spec '%s'", spec);
    }
    runs = realloc(s->runs, (s->nruns + more) * sizeof(*runs));
    if (runs == NULL) {
        return suite_err(c, "%s", "out of memory");
    }
    s->runs = runs;
    for (a = 0; a < set->nalloc; a++) {
        for (p = 0; p < set->nprocs; p++) {
            for (k = 1; k <= set->repeat; k++) {
                r = &s->runs[s->nruns++];
                memset(r, 0, sizeof(*r));
                r->line = c->line;
                snprintf(r->alloc, sizeof(r->alloc), "%s", set->alloc[a]);
                snprintf(r->workload, sizeof(r->workload), "%.*s", (int) wl, spec);
                r->spec = spec;
                r->args = args;
                r->nargs = nargs;
                r->procs = set->procs[p];
                r->repeat = (unsigned) k;
                r->seed = k;
                snprintf(r->id, sizeof(r->id), "L%u-%s-%s-p%u-r%u", r->line, r->alloc,
                         r->workload, r->procs, r->repeat);
            }
        }
    }
    return 0;
}

/* `run SPEC [OPTIONS...] [alloc=LIST] [procs=LIST] [repeat=N]` */
static int
suite_run_line(const struct suite_ctx *c, const struct suite_set *defaults, char **w,
    size_t n)
{
    struct suite_set set = *defaults;
    char           **args;
    size_t           i, k, nargs = 0;

    if (n < 2 || w[1][0] == '-') {
        return suite_err(c, "%s", "'run' needs a workload spec first (NAME[:k=v,...])");
    }
    args = suite_keep(c->s, calloc(n, sizeof(*args)));
    if (args == NULL) {
        return suite_err(c, "%s", "out of memory");
    }
    for (i = 2; i < n; i++) {
        if (strncmp(w[i], "alloc=", 6) == 0) {
            if (suite_list(c, &set, w[i] + 6, 0) != 0) {
                return -1;
            }
        } else if (strncmp(w[i], "procs=", 6) == 0) {
            if (suite_list(c, &set, w[i] + 6, 1) != 0) {
                return -1;
            }
        } else if (strncmp(w[i], "repeat=", 7) == 0) {
            if (suite_repeat(c, &set, w[i] + 7) != 0) {
                return -1;
            }
        } else {
            for (k = 0; k < sizeof(suite_own_options) / sizeof(suite_own_options[0]); k++) {
                size_t len = strlen(suite_own_options[k]);

                if (strncmp(w[i], suite_own_options[k], len) == 0
                    && (w[i][len] == '\0' || w[i][len] == '='))
                {
                    return suite_err(c, "%s is the suite's to set (alloc=, procs= and "
                                     "repeat= choose; seeds and directories are per run)",
                                     suite_own_options[k]);
                }
            }
            args[nargs++] = w[i];
        }
    }
    if (suite_overrides(c, &set) != 0) {
        return -1;
    }
    return suite_expand(c, &set, args, nargs, w[1]);
}

/* Split a line (comment cut) into words; their count. */
static size_t
suite_words(char *line, char **w, size_t max)
{
    size_t n = 0;
    char  *tok;

    line[strcspn(line, "#")] = '\0';
    while ((tok = strsep(&line, " \t\r")) != NULL) {
        if (tok[0] != '\0' && n < max) {
            w[n++] = tok;
        }
    }
    return n;
}

int
suite_parse(struct suite *s, const char *file, const char *text)
{
    struct suite_ctx ctx = { s, file, 0 };
    struct suite_set set;
    char            *buf = suite_keep(s, strdup(text)), *line, *rest, *w[256];
    size_t           n;
    int              runs = 0;

    if (buf == NULL) {
        diag_set("%s: out of memory", file);
        return -1;
    }
    memset(&set, 0, sizeof(set));
    set.repeat = 1;
    set.procs[set.nprocs++] = 1;
    if (suite_alloc_item(&ctx, &set, "@zone") != 0) {
        return -1;
    }
    for (rest = buf; (line = strsep(&rest, "\n")) != NULL; ) {
        ctx.line++;
        if (strpbrk(line, "\"'\\`$") != NULL && strcspn(line, "\"'\\`$") < strcspn(line, "#")) {
            return suite_err(&ctx, "%s", "quotes, backslashes and '$' are not taken (a "
                             "word is what lies between spaces)");
        }
        n = suite_words(line, w, sizeof(w) / sizeof(w[0]));
        if (n == 0) {
            continue;
        }
        if (n == sizeof(w) / sizeof(w[0])) {
            return suite_err(&ctx, "%s", "too many words");
        }
        if (strcmp(w[0], "set") == 0) {
            if (suite_set_line(&ctx, &set, w, n) != 0) {
                return -1;
            }
        } else if (strcmp(w[0], "run") == 0) {
            if (suite_run_line(&ctx, &set, w, n) != 0) {
                return -1;
            }
            runs++;
        } else {
            return suite_err(&ctx, "unknown word '%s' (a line is 'set ...' or 'run ...')",
                             w[0]);
        }
    }
    if (runs == 0) {
        diag_set("%s: no 'run' line", file);
        return -1;
    }
    return 0;
}

void
suite_free(struct suite *s)
{
    size_t i;

    for (i = 0; i < s->nruns; i++) {
        free(s->runs[i].why);
    }
    for (i = 0; i < s->nmem; i++) {
        free(s->mem[i]);
    }
    free(s->mem);
    free(s->runs);
    free(s->name);
    free(s->file);
    free(s->text);
    free(s->set_alloc);
    free(s->set_procs);
    memset(s, 0, sizeof(*s));
}
