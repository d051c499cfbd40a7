/*
 * merge: run directories and suite directories joined into one suite
 * directory with its summary.csv (docs/suites.md, "Many hosts").
 *
 * The way a suite fans out over machines: `suite --print-commands` writes
 * the plan (suite.json) and prints one command per run, GNU parallel runs
 * them wherever it likes, and each machine's runs/ and logs/ are copied
 * back; `merge OUT DIR...` then puts every run directory under OUT/runs/
 * by its ID, each with its own meta.json as it was written (so every run
 * still says which machine made it), classifies what every planned run
 * left, and writes suite.json and summary.csv through the code `suite`
 * uses.  OUT may be the suite directory itself (`merge OUT` alone just
 * summarises it).  The plan is OUT's suite.json, else that of the first
 * suite directory given; runs outside the plan (a bare run directory, a
 * run of another suite) are added to it.  A run that two inputs both hold
 * is an error: which of them to keep is the user's decision.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "cli.h"
#include "meta.h"
#include "substrate/diag.h"
#include "suite.h"

static const char merge_cmd[] = "merge";

const char cmd_merge_help[] =
    "usage: shmbench merge OUT [DIR...] [--format md|csv|json]\n"
    "\n"
    "Join run directories (shmbench run --out) and suite directories (shmbench\n"
    "suite) into the suite directory OUT: every run directory is copied to\n"
    "OUT/runs/<ID> unchanged (its meta.json says where it ran), the plan and\n"
    "the runs' states go to OUT/suite.json, and OUT/summary.csv gets one row\n"
    "per line, allocator and procs, as 'shmbench suite' writes it; rows whose\n"
    "runs came from machines of different kinds have mixed_hosts 1.  OUT alone\n"
    "summarises the suite directory OUT (after 'suite --print-commands' and GNU\n"
    "parallel).  The table goes to stdout (--format md, csv or json); exit 1 if\n"
    "a run failed or two inputs hold the same run.\n";

/* Copy the regular file FROM to TO; 0 or -1 (diag). */
static int
merge_copy_file(const char *from, const char *to)
{
    char    buf[65536];
    int     in = open(from, O_RDONLY), out;
    ssize_t n = 0;

    if (in < 0) {
        diag_set("%s: %s", from, strerror(errno));
        return -1;
    }
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (out < 0) {
        diag_set("%s: %s", to, strerror(errno));
        close(in);
        return -1;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t) n) != n) {
            n = -1;
            break;
        }
    }
    close(in);
    if ((close(out) != 0) | (n < 0)) {
        diag_set("copying %s to %s failed", from, to);
        return -1;
    }
    return 0;
}

/* The files of run directory FROM into TO (made); 0 or -1 (diag). */
static int
merge_copy_dir(const char *from, const char *to)
{
    char           a[PATH_MAX + 300], b[PATH_MAX + 300];
    DIR           *d = opendir(from);
    struct dirent *e;
    struct stat    st;
    int            rc = 0;

    if (d == NULL) {
        diag_set("%s: %s", from, strerror(errno));
        return -1;
    }
    if (mkdir(to, 0777) != 0) {
        diag_set("mkdir %s: %s", to, strerror(errno));
        closedir(d);
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (snprintf(a, sizeof(a), "%s/%s", from, e->d_name) >= (int) sizeof(a)
            || snprintf(b, sizeof(b), "%s/%s", to, e->d_name) >= (int) sizeof(b))
        {
            diag_set("%s/%s: path too long", from, e->d_name);
            rc = -1;
        } else if (stat(a, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = merge_copy_file(a, b);
        }
    }
    closedir(d);
    return rc;
}

/* The run of s called id, or NULL. */
static struct suite_run *
merge_find(struct suite *s, const char *id)
{
    size_t i;

    for (i = 0; i < s->nruns; i++) {
        if (strcmp(s->runs[i].id, id) == 0) {
            return &s->runs[i];
        }
    }
    return NULL;
}

/* r appended to s (its strings copied); the new run, or NULL. */
static struct suite_run *
merge_append(struct suite *s, const struct suite_run *r)
{
    struct suite_run *runs = realloc(s->runs, (s->nruns + 1) * sizeof(*runs)), *n;
    size_t            i;

    if (runs == NULL) {
        return NULL;
    }
    s->runs = runs;
    n = &s->runs[s->nruns++];
    *n = *r;
    n->why = NULL;
    n->src = NULL;
    n->spec = r->spec ? suite_keep(s, strdup(r->spec)) : NULL;
    n->args = r->nargs ? suite_keep(s, calloc(r->nargs, sizeof(*n->args))) : NULL;
    n->nargs = n->args ? r->nargs : 0;
    for (i = 0; i < n->nargs; i++) {
        n->args[i] = suite_keep(s, strdup(r->args[i]));
    }
    return n;
}

/* Whether input run r left anything: a directory or a log. */
static int
merge_has_output(const struct suite_run *r)
{
    return r->state == SUITE_DONE || r->state == SUITE_FAILED || r->state == SUITE_REFUSED;
}

/* The runs of input DIR (loaded as in) into out's plan and directory. */
static int
merge_input(struct suite *out, const char *odir, const char *dir, struct suite *in)
{
    char              to[PATH_MAX + SUITE_ID_MAX + 16], log[PATH_MAX + SUITE_ID_MAX + 16];
    struct suite_run *o;
    struct stat       st;
    size_t            i;

    for (i = 0; i < in->nruns; i++) {
        const struct suite_run *r = &in->runs[i];

        o = merge_find(out, r->id);
        if (o && merge_has_output(o) && merge_has_output(r)) {
            return cli_error("merge: run %s is in %s and in %s: remove one of them", r->id,
                             odir, dir);
        }
        if (o == NULL && (o = merge_append(out, r)) == NULL) {
            return cli_error("merge: out of memory");
        }
        if (r->src && stat(r->src, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(to, sizeof(to), "%s/runs/%s", odir, r->id);
            if (merge_copy_dir(r->src, to) != 0) {
                return cli_error("merge: %s", diag_last());
            }
        }
        snprintf(log, sizeof(log), "%s/logs/%s.log", dir, r->id);
        snprintf(to, sizeof(to), "%s/logs/%s.log", odir, r->id);
        if (stat(log, &st) == 0 && merge_copy_file(log, to) != 0) {
            return cli_error("merge: %s", diag_last());
        }
        suite_classify(odir, o);
    }
    if (out->text == NULL && in->text) {
        out->name = in->name ? strdup(in->name) : NULL;
        out->file = in->file ? strdup(in->file) : NULL;
        out->text = strdup(in->text);
        out->set_alloc = in->set_alloc ? strdup(in->set_alloc) : NULL;
        out->set_procs = in->set_procs ? strdup(in->set_procs) : NULL;
        out->set_repeat = in->set_repeat;
    }
    return 0;
}

/* OUT's own plan, if it has one, and its directories. */
static int
merge_open_out(struct suite *s, const char *odir)
{
    char        path[PATH_MAX + 32];
    struct stat st;
    size_t      i;

    snprintf(path, sizeof(path), "%s/meta.json", odir);
    if (stat(path, &st) == 0) {
        cli_usage_error(merge_cmd, "%s is a run directory: OUT must be a suite directory "
                        "(new or made by suite or merge)", odir);
    }
    snprintf(path, sizeof(path), "%s/suite.json", odir);
    if (stat(path, &st) == 0) {
        if (suite_load_json(s, odir) != 0) {
            return cli_error("merge: %s", diag_last());
        }
        for (i = 0; i < s->nruns; i++) {
            suite_classify(odir, &s->runs[i]);
        }
    }
    snprintf(path, sizeof(path), "%s/runs", odir);
    if (meta_mkdirs(merge_cmd, path) != 0) {
        return CLI_EXIT_FAIL;
    }
    snprintf(path, sizeof(path), "%s/logs", odir);
    return meta_mkdirs(merge_cmd, path) != 0 ? CLI_EXIT_FAIL : 0;
}

/* Say what the plan lacks; the exit status from the states. */
static int
merge_report(const struct suite *s, const char *odir)
{
    size_t i, count[5] = { 0, 0, 0, 0, 0 };
    const char *first_missing = NULL;

    for (i = 0; i < s->nruns; i++) {
        count[s->runs[i].state]++;
        if (s->runs[i].state == SUITE_MISSING && first_missing == NULL) {
            first_missing = s->runs[i].id;
        }
    }
    if (first_missing) {
        fprintf(stderr, "shmbench: merge: %zu planned runs have no result (first: %s)\n",
                count[SUITE_MISSING], first_missing);
    }
    fprintf(stderr, "merge: %zu runs: %zu done, %zu failed, %zu refused, %zu missing; "
            "summary in %s/summary.csv\n", s->nruns, count[SUITE_DONE], count[SUITE_FAILED],
            count[SUITE_REFUSED], count[SUITE_MISSING], odir);
    return count[SUITE_FAILED] ? CLI_EXIT_FAIL : 0;
}

int
cmd_merge(int argc, char **argv)
{
    struct suite         out, in;
    struct suite_result *res = NULL;
    enum summary_format  fmt = SUMMARY_MD;
    const char          *val, *dirs[256];
    char                 odir[PATH_MAX], real[PATH_MAX], date[32];
    time_t               now = time(NULL);
    int                  k, n = 0, rc;

    for (k = 1; k < argc; k++) {
        if (cli_option(merge_cmd, argc, argv, &k, "--format", &val)) {
            if (summary_format_of(val, &fmt) != 0) {
                cli_usage_error(merge_cmd, "bad --format '%s' (md, csv or json)", val);
            }
        } else if (argv[k][0] == '-' || n == 256) {
            cli_unknown_option(merge_cmd, argv[k]);
        } else {
            dirs[n++] = argv[k];
        }
    }
    if (n == 0) {
        cli_usage_error(merge_cmd, "merge needs OUT (and the directories to join into it)");
    }
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (meta_mkdirs(merge_cmd, dirs[0]) != 0) {
        return CLI_EXIT_FAIL;
    }
    if (realpath(dirs[0], odir) == NULL) {
        return cli_error("merge: %s: %s", dirs[0], strerror(errno));
    }
    memset(&out, 0, sizeof(out));
    rc = merge_open_out(&out, odir);
    for (k = 1; rc == 0 && k < n; k++) {
        if (realpath(dirs[k], real) != NULL && strcmp(real, odir) == 0) {
            continue;                   /* OUT itself: its runs are there */
        }
        if (suite_load_dir(dirs[k], &in, &res) != 0) {
            rc = cli_error("merge: %s", diag_last());
        } else {
            rc = merge_input(&out, odir, dirs[k], &in);
        }
        free(res);
        res = NULL;
        suite_free(&in);
    }
    if (rc == 0 && out.nruns == 0) {
        rc = cli_error("merge: no runs in %s or the directories given", odir);
    }
    if (rc == 0) {
        res = calloc(out.nruns, sizeof(*res));
        if (res == NULL) {
            rc = cli_error("merge: out of memory");
        }
    }
    if (rc == 0) {
        suite_read_results(&out, odir, res);
        if (summary_write(&out, res, odir, stdout, fmt) != 0
            || suite_write_json(&out, odir, argc, argv, date) != 0)
        {
            rc = cli_error("merge: %s", diag_last());
        } else {
            rc = merge_report(&out, odir);
        }
    }
    free(res);
    suite_free(&out);
    return rc;
}
