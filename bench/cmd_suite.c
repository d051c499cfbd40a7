/*
 * suite: a matrix of `shmbench run`s from a suite file, into one suite
 * directory with every run's result directory and a summary.csv
 * (docs/suites.md; bench/suite.h has the plan and the directory).
 *
 * Every run is `shmbench run` itself, this very binary executed as a
 * child with the line's options and the suite's --alloc, --procs, --seed
 * and --out, its output into logs/<ID>.log: a suite measures exactly what
 * a user running the command by hand would, and `--print-commands` can
 * hand the same command lines to GNU parallel.  Runs go one at a time (they
 * measure), repeats interleaved (every run of repeat 1, then of repeat 2,
 * ...) so that a slow spell of the machine spreads over the allocators
 * instead of landing on one.  Before anything runs, each `run` line is put
 * to `run`'s own parser (with a --procs 0 at the end, which it must reach
 * and refuse), so that a malformed line stops the suite at once with its
 * FILE:LINE.  suite.json is rewritten after every run, so an interrupted
 * suite resumes (--resume DIR) from what its files say.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "meta.h"
#include "substrate/clock.h"
#include "substrate/diag.h"
#include "suite.h"

#ifndef SHMBENCH_SOURCE_DIR
#define SHMBENCH_SOURCE_DIR ""
#endif

static const char suite_cmd[] = "suite";

const char cmd_suite_help[] =
    "usage: shmbench suite NAME|FILE [--alloc LIST] [--procs LIST] [--repeat R]\n"
    "                      [--out DIR] [--print-commands] [--format md|csv|json]\n"
    "       shmbench suite --resume DIR [--format md|csv|json]\n"
    "\n"
    "Run a matrix of 'shmbench run's from a suite file (bench/suites/NAME.suite,\n"
    "or FILE): each 'run' line is a workload spec and run options, run for every\n"
    "allocator, procs and repeat of its settings.  Every run's result directory\n"
    "goes under DIR/runs/, its output under DIR/logs/; DIR/summary.csv has one\n"
    "row per line, allocator and procs: the median of every metric over the\n"
    "repeats with a 95% bootstrap interval (docs/suites.md).  Progress and the\n"
    "estimated time left go to stderr; the summary table to stdout.\n"
    "\n"
    "options:\n"
    "  --alloc LIST      allocators for every line (names, @zone: every in-zone one\n"
    "                    built, @all: every one built), over the file's\n"
    "  --procs LIST      worker counts for every line (numbers, ncpu: 1..online CPUs)\n"
    "  --repeat R        repeats of every run (seeds 1..R)\n"
    "  --out DIR         the suite directory (default results/suites/NAME-<date>-<n>)\n"
    "  --print-commands  write the plan to DIR and print each run as one shell\n"
    "                    command, running nothing (for GNU parallel; then 'shmbench\n"
    "                    merge DIR' makes the summary)\n"
    "  --resume DIR      finish the suite of DIR: runs done are kept, the others\n"
    "                    are made again (the suite and settings come from\n"
    "                    DIR/suite.json)\n"
    "  --format F        the printed table: md (default), csv (summary.csv), json\n"
    "\n"
    "A malformed line stops the suite before anything runs: 'FILE:LINE: what',\n"
    "exit 2.  A combination that run refuses (a workload that frees across\n"
    "processes on an allocator that cannot) is recorded as refused, a run that\n"
    "fails as failed, and the suite goes on; it exits 1 if any run failed.\n";

struct suite_opts {
    const char         *what, *out, *resume;
    int                 print;
    enum summary_format fmt;
};

struct suite_state_run {
    struct suite *s;
    char          dir[PATH_MAX];
    char          bin[PATH_MAX];
    char          date[32];
    int           argc;
    char        **argv;
};

/* ---- options and the file ---- */

static void
suite_parse_opts(int argc, char **argv, struct suite_opts *o, struct suite *s)
{
    const char *val;
    int         k;

    memset(o, 0, sizeof(*o));
    for (k = 1; k < argc; k++) {
        if (cli_option(suite_cmd, argc, argv, &k, "--alloc", &val)) {
            s->set_alloc = strdup(val);
        } else if (cli_option(suite_cmd, argc, argv, &k, "--procs", &val)) {
            s->set_procs = strdup(val);
        } else if (cli_option(suite_cmd, argc, argv, &k, "--repeat", &val)) {
            s->set_repeat = (unsigned) cli_number(suite_cmd, "--repeat", val, 1,
                                                  SUITE_MAX_REPEAT);
        } else if (cli_option(suite_cmd, argc, argv, &k, "--out", &val)) {
            o->out = val;
        } else if (cli_option(suite_cmd, argc, argv, &k, "--resume", &val)) {
            o->resume = val;
        } else if (cli_option(suite_cmd, argc, argv, &k, "--format", &val)) {
            if (summary_format_of(val, &o->fmt) != 0) {
                cli_usage_error(suite_cmd, "bad --format '%s' (md, csv or json)", val);
            }
        } else if (cli_flag(suite_cmd, argv[k], "--print-commands")) {
            o->print = 1;
        } else if (argv[k][0] == '-' || o->what) {
            cli_unknown_option(suite_cmd, argv[k]);
        } else {
            o->what = argv[k];
        }
    }
    if (o->resume && (o->what || o->out || s->set_alloc || s->set_procs || s->set_repeat
                      || o->print))
    {
        cli_usage_error(suite_cmd, "--resume takes the suite and its settings from "
                        "DIR/suite.json: no NAME, --out, --alloc, --procs, --repeat or "
                        "--print-commands with it");
    }
    if (!o->resume && o->what == NULL) {
        cli_usage_error(suite_cmd, "suite needs a NAME or FILE (bench/suites/)");
    }
}

/* The whole of file PATH, or NULL (diag). */
static char *
suite_read_file(const char *path)
{
    FILE  *f = fopen(path, "r");
    char  *text;
    long   n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        diag_set("%s: %s", path, strerror(errno));
        if (f) {
            fclose(f);
        }
        return NULL;
    }
    text = malloc((size_t) n + 1);
    if (text == NULL || fread(text, 1, (size_t) n, f) != (size_t) n) {
        diag_set("%s: cannot read it", path);
        free(text);
        fclose(f);
        return NULL;
    }
    fclose(f);
    text[n] = '\0';
    return text;
}

/* NAME|FILE into s->file, s->name and s->text: a path (with a '/' or
 * ending in .suite), else NAME.suite in bench/suites/ of the source tree
 * or of the working directory.  0, or the exit status (printed). */
static int
suite_find(struct suite *s, const char *what)
{
    char        path[PATH_MAX + 64];
    const char *base, *dot;
    struct stat st;
    size_t      n = strlen(what);

    if (strchr(what, '/') || (n > 6 && strcmp(what + n - 6, ".suite") == 0)) {
        snprintf(path, sizeof(path), "%s", what);
    } else {
        snprintf(path, sizeof(path), "%s/bench/suites/%s.suite", SHMBENCH_SOURCE_DIR, what);
        if (SHMBENCH_SOURCE_DIR[0] == '\0' || stat(path, &st) != 0) {
            snprintf(path, sizeof(path), "bench/suites/%s.suite", what);
        }
        if (stat(path, &st) != 0) {
            cli_usage_error(suite_cmd, "no suite '%s' (bench/suites/%s.suite)", what, what);
        }
    }
    s->text = suite_read_file(path);
    if (s->text == NULL) {
        return cli_error("suite: %s", diag_last());
    }
    s->file = strdup(path);
    base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    dot = strstr(base, ".suite");
    s->name = strndup(base, dot && dot[6] == '\0' ? (size_t) (dot - base) : strlen(base));
    return 0;
}

/* ---- children ---- */

/* The room suite_run_argv needs in bufs: --procs, --seed and --out. */
#define SUITE_OUT_MAX  (PATH_MAX + SUITE_ID_MAX + 16)
#define SUITE_BUFS_MAX (64 + SUITE_OUT_MAX)

/* argv of `shmbench run` for r (n gets the count), its numbers and --out in
 * bufs (SUITE_BUFS_MAX bytes); NULL if out of memory or room. */
static char **
suite_run_argv(const struct suite_state_run *c, const struct suite_run *r, char *bufs,
    size_t *n)
{
    char  **v = calloc(r->nargs + 16, sizeof(*v));
    size_t  k = 0, i;
    char   *procs = bufs, *seed = bufs + 32, *out = bufs + 64;

    if (v == NULL) {
        return NULL;
    }
    snprintf(procs, 32, "%u", r->procs);
    snprintf(seed, 32, "%llu", (unsigned long long) r->seed);
    if (snprintf(out, SUITE_OUT_MAX, "%s/runs/%s", c->dir, r->id) >= SUITE_OUT_MAX) {
        free(v);
        return NULL;
    }
    v[k++] = (char *) c->bin;
    v[k++] = "run";
    v[k++] = "--workload";
    v[k++] = (char *) r->spec;
    for (i = 0; i < r->nargs; i++) {
        v[k++] = r->args[i];
    }
    v[k++] = "--alloc";
    v[k++] = (char *) r->alloc;
    v[k++] = "--procs";
    v[k++] = procs;
    v[k++] = "--seed";
    v[k++] = seed;
    v[k++] = "--out";
    v[k++] = out;
    v[k] = NULL;
    *n = k;
    return v;
}

/* Run argv with stdout and stderr into fd (closed here); its wait status,
 * or -1 (diag). */
static int
suite_spawn(char **argv, int fd)
{
    pid_t pid;
    int   st;

    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        diag_set("fork: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv(argv[0], argv);
        fprintf(stderr, "shmbench: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            diag_set("waitpid: %s", strerror(errno));
            return -1;
        }
    }
    return st;
}

/* The first line (warnings aside) that `shmbench run ARGS --procs 0`
 * writes on stderr, into line; its exit status (-1: it could not be run). */
static int
suite_ask_run(const char *bin, char **args, size_t nargs, const char *spec, char *line,
    size_t len)
{
    char   tmpl[] = "/tmp/shmbench-suite-XXXXXX", *argv[300];
    size_t k = 0, i;
    int    fd = mkstemp(tmpl), st;
    FILE  *f;

    line[0] = '\0';
    if (fd < 0 || nargs > 290) {
        return -1;
    }
    unlink(tmpl);
    argv[k++] = (char *) bin;
    argv[k++] = "run";
    if (spec) {
        argv[k++] = "--workload";
        argv[k++] = (char *) spec;
    }
    for (i = 0; i < nargs; i++) {
        argv[k++] = args[i];
    }
    argv[k++] = "--procs";
    argv[k++] = "0";
    argv[k] = NULL;
    st = suite_spawn(argv, dup(fd));
    f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    rewind(f);
    while (fgets(line, (int) len, f) != NULL && strncmp(line, "shmbench: warning:", 18) == 0) {
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Every run line to run's parser, before anything runs: with --procs 0
 * last, a line run accepts ends in the same refusal of that --procs as
 * `run --procs 0` alone.  0, or the exit status (printed).
 */
static int
suite_check_lines(const struct suite_state_run *c)
{
    const struct suite *s = c->s;
    char                want[1024], got[1024];
    size_t              i;
    unsigned            last = 0;

    /* only the message counts, not the status: a sanitizer's leak report at
     * the usage error's exit() changes the status of a correct line */
    suite_ask_run(c->bin, NULL, 0, NULL, want, sizeof(want));
    if (strncmp(want, "shmbench: ", 10) != 0) {
        return cli_error("suite: cannot ask %s run about the suite's lines", c->bin);
    }
    for (i = 0; i < s->nruns; i++) {
        if (s->runs[i].line == last) {
            continue;
        }
        last = s->runs[i].line;
        suite_ask_run(c->bin, s->runs[i].args, s->runs[i].nargs, s->runs[i].spec, got,
                      sizeof(got));
        if (strcmp(got, want) != 0) {
            cli_error("%s:%u: %s", s->file, last, strncmp(got, "shmbench: ", 10) == 0
                      ? got + 10 : "'shmbench run' does not take these options");
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

/* ---- the suite directory ---- */

static int
suite_make_dirs(struct suite_state_run *c, const char *out, int resume)
{
    char        path[PATH_MAX + 32];
    unsigned    n;
    struct stat st;

    if (out && !resume) {
        snprintf(path, sizeof(path), "%s/suite.json", out);
        if (stat(path, &st) == 0) {
            return cli_error("suite: %s holds a suite already: --resume %s finishes it, "
                             "or give another --out", out, out);
        }
    }
    if (out) {
        snprintf(path, sizeof(path), "%s", out);
        if (meta_mkdirs(suite_cmd, path) != 0) {
            return CLI_EXIT_FAIL;
        }
    } else {
        if (meta_mkdirs(suite_cmd, "results/suites") != 0) {
            return CLI_EXIT_FAIL;
        }
        for (n = 1; ; n++) {
            snprintf(path, sizeof(path), "results/suites/%s-%.10s-%u", c->s->name, c->date, n);
            if (mkdir(path, 0777) == 0) {
                break;
            }
            if (errno != EEXIST || n == 100000) {
                return cli_error("suite: mkdir %s: %s", path, strerror(errno));
            }
        }
    }
    if (realpath(path, c->dir) == NULL) {
        return cli_error("suite: %s: %s", path, strerror(errno));
    }
    snprintf(path, sizeof(path), "%s/runs", c->dir);
    if (meta_mkdirs(suite_cmd, path) != 0) {
        return CLI_EXIT_FAIL;
    }
    snprintf(path, sizeof(path), "%s/logs", c->dir);
    return meta_mkdirs(suite_cmd, path) != 0 ? CLI_EXIT_FAIL : 0;
}

/* Print s for a POSIX shell: as it is when it is safe, else single-quoted. */
static void
suite_shell_word(FILE *f, const char *s)
{
    const char *p;

    if (s[0] != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789_./:=,@%+-") == strlen(s))
    {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (p = s; *p; p++) {
        if (*p == '\'') {
            fputs("'\\''", f);
        } else {
            fputc(*p, f);
        }
    }
    fputc('\'', f);
}

/* The execution order: repeat by repeat, in plan order within each. */
static size_t *
suite_order(const struct suite *s)
{
    size_t  *order = malloc((s->nruns ? s->nruns : 1) * sizeof(*order)), i, n = 0;
    unsigned rep, max = 0;

    if (order == NULL) {
        return NULL;
    }
    for (i = 0; i < s->nruns; i++) {
        max = s->runs[i].repeat > max ? s->runs[i].repeat : max;
    }
    for (rep = 1; rep <= max; rep++) {
        for (i = 0; i < s->nruns; i++) {
            if (s->runs[i].repeat == rep) {
                order[n++] = i;
            }
        }
    }
    return order;
}

static int
suite_print_commands(struct suite_state_run *c, const size_t *order)
{
    char   bufs[SUITE_BUFS_MAX], **argv, logs[PATH_MAX + 8];
    size_t i, k, n;

    snprintf(logs, sizeof(logs), "%s/logs", c->dir);
    for (i = 0; i < c->s->nruns; i++) {
        argv = suite_run_argv(c, &c->s->runs[order[i]], bufs, &n);
        if (argv == NULL) {
            return cli_error("suite: out of memory or a path too long");
        }
        fputs("mkdir -p ", stdout);
        suite_shell_word(stdout, logs);
        fputs(" && ", stdout);
        for (k = 0; k < n; k++) {
            suite_shell_word(stdout, argv[k]);
            fputc(' ', stdout);
        }
        fputs("> ", stdout);
        suite_shell_word(stdout, logs);
        fputc('/', stdout);
        suite_shell_word(stdout, c->s->runs[order[i]].id);
        fputs(".log 2>&1\n", stdout);
        free(argv);
    }
    return fflush(stdout) == 0 ? 0 : CLI_EXIT_FAIL;
}

/* ---- running ---- */

/* One run; its state from what it left. */
static int
suite_exec(struct suite_state_run *c, struct suite_run *r)
{
    char     bufs[SUITE_BUFS_MAX], log[SUITE_OUT_MAX], **argv;
    char     why[128];
    size_t   n;
    int      fd, st;
    uint64_t t0 = clock_ns();

    if (suite_remove_run(c->dir, r) != 0) {
        return cli_error("suite: %s", diag_last());
    }
    snprintf(log, sizeof(log), "%s/logs/%s.log", c->dir, r->id);
    fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    argv = suite_run_argv(c, r, bufs, &n);
    if (fd < 0 || argv == NULL) {
        free(argv);
        return cli_error("suite: %s: %s", log, fd < 0 ? strerror(errno) : "out of memory");
    }
    st = suite_spawn(argv, fd);
    free(argv);
    if (st < 0) {
        return cli_error("suite: %s", diag_last());
    }
    r->seconds = (double) (clock_ns() - t0) / 1e9;
    suite_classify(c->dir, r);
    if (WIFSIGNALED(st) && r->state != SUITE_FAILED) {
        snprintf(why, sizeof(why), "shmbench run was killed by signal %d", WTERMSIG(st));
        free(r->why);
        r->why = strdup(why);
        r->state = SUITE_FAILED;
    } else if ((WIFEXITED(st) && WEXITSTATUS(st) == 0) != (r->state == SUITE_DONE)) {
        snprintf(why, sizeof(why), "shmbench run exited %d", WIFEXITED(st) ? WEXITSTATUS(st)
                 : -1);
        free(r->why);
        r->why = strdup(why);
        r->state = SUITE_FAILED;
    }
    return 0;
}

/* `[12/48] slab churn p2 r1 ... 1.0 s, ETA 0:36`. */
static void
suite_progress(const struct suite_run *r, size_t i, size_t n, int tty, double mean,
    size_t left)
{
    double eta = mean * (double) left;

    if (tty) {
        fputs("\r\033[K", stderr);
    }
    fprintf(stderr, "[%zu/%zu] %s %s p%u r%u ... %.1f s, ETA %u:%02u", i, n, r->alloc,
            r->workload, r->procs, r->repeat, r->seconds, (unsigned) (eta / 60),
            (unsigned) eta % 60);
    if (r->state != SUITE_DONE) {
        fprintf(stderr, " %s: %s", suite_state_name(r->state), r->why ? r->why : "");
    }
    if (!tty || r->state != SUITE_DONE || i == n) {
        fputc('\n', stderr);
    }
}

static int
suite_run_all(struct suite_state_run *c, const size_t *order, int resume)
{
    struct suite *s = c->s;
    size_t        i, todo = 0, done = 0;
    double        spent = 0;
    int           tty = isatty(2), rc;

    for (i = 0; i < s->nruns; i++) {
        if (resume) {
            suite_classify(c->dir, &s->runs[i]);
        }
        todo += s->runs[i].state != SUITE_DONE;
    }
    if (resume) {
        fprintf(stderr, "suite: resuming %s: %zu of %zu runs to make\n", c->dir, todo,
                s->nruns);
    }
    for (i = 0; i < s->nruns; i++) {
        struct suite_run *r = &s->runs[order[i]];

        if (r->state == SUITE_DONE) {
            continue;
        }
        if (tty) {
            fprintf(stderr, "\r\033[K[%zu/%zu] %s %s p%u r%u ...", done + 1, todo, r->alloc,
                    r->workload, r->procs, r->repeat);
        }
        rc = suite_exec(c, r);
        if (rc != 0) {
            return rc;
        }
        done++;
        spent += r->seconds;
        suite_progress(r, done, todo, tty, spent / (double) done, todo - done);
        if (suite_write_json(s, c->dir, c->argc, c->argv, c->date) != 0) {
            return cli_error("suite: %s", diag_last());
        }
    }
    return 0;
}

/* The summary and the closing line; the exit status. */
static int
suite_finish(struct suite_state_run *c, enum summary_format fmt)
{
    struct suite        *s = c->s;
    struct suite_result *res = calloc(s->nruns ? s->nruns : 1, sizeof(*res));
    size_t               i, count[5] = { 0, 0, 0, 0, 0 };
    int                  rc;

    if (res == NULL) {
        return cli_error("suite: out of memory");
    }
    suite_read_results(s, c->dir, res);
    rc = summary_write(s, res, c->dir, stdout, fmt);
    free(res);
    if (rc != 0 || suite_write_json(s, c->dir, c->argc, c->argv, c->date) != 0) {
        return cli_error("suite: %s", diag_last());
    }
    for (i = 0; i < s->nruns; i++) {
        count[s->runs[i].state]++;
    }
    fprintf(stderr, "suite: %s: %zu runs: %zu done, %zu failed, %zu refused; summary in "
            "%s/summary.csv\n", s->name ? s->name : "?", s->nruns, count[SUITE_DONE],
            count[SUITE_FAILED], count[SUITE_REFUSED], c->dir);
    return count[SUITE_FAILED] ? CLI_EXIT_FAIL : 0;
}

/* --resume: the suite and its settings from DIR/suite.json. */
static int
suite_from_resume(struct suite *s, const char *dir)
{
    struct suite old;

    memset(&old, 0, sizeof(old));
    if (suite_load_json(&old, dir) != 0) {
        cli_error("suite: --resume: %s", diag_last());
        suite_free(&old);
        return CLI_EXIT_FAIL;
    }
    if (old.text == NULL) {
        cli_error("suite: --resume: %s/suite.json holds no suite file (a merge of run "
                  "directories): there is nothing to resume", dir);
        suite_free(&old);
        return CLI_EXIT_FAIL;
    }
    s->name = old.name;
    s->file = old.file ? old.file : strdup(dir);
    s->text = old.text;
    s->set_alloc = old.set_alloc;
    s->set_procs = old.set_procs;
    s->set_repeat = old.set_repeat;
    old.name = old.file = old.text = old.set_alloc = old.set_procs = NULL;
    suite_free(&old);
    return 0;
}

int
cmd_suite(int argc, char **argv)
{
    struct suite           s;
    struct suite_opts      o;
    struct suite_state_run c;
    size_t                *order = NULL;
    time_t                 now = time(NULL);
    int                    rc;

    memset(&s, 0, sizeof(s));
    memset(&c, 0, sizeof(c));
    suite_parse_opts(argc, argv, &o, &s);
    c.s = &s;
    c.argc = argc;
    c.argv = argv;
    strftime(c.date, sizeof(c.date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    rc = o.resume ? suite_from_resume(&s, o.resume) : suite_find(&s, o.what);
    if (rc == 0 && suite_parse(&s, s.file, s.text) != 0) {
        if (strncmp(diag_last(), "suite: ", 7) == 0) {     /* --alloc, --procs */
            cli_usage_error(suite_cmd, "%s", diag_last());
        }
        cli_error("%s", diag_last());
        rc = CLI_EXIT_USAGE;
    }
    if (rc == 0 && suite_self(c.bin, sizeof(c.bin)) != 0) {
        rc = cli_error("suite: %s", diag_last());
    }
    if (rc == 0) {
        rc = suite_check_lines(&c);
    }
    if (rc == 0) {
        rc = suite_make_dirs(&c, o.resume ? o.resume : o.out, o.resume != NULL);
    }
    if (rc == 0 && (order = suite_order(&s)) == NULL) {
        rc = cli_error("suite: out of memory");
    }
    if (rc == 0 && !o.resume && suite_write_json(&s, c.dir, argc, argv, c.date) != 0) {
        rc = cli_error("suite: %s", diag_last());
    }
    if (rc == 0 && o.print) {
        rc = suite_print_commands(&c, order);
    } else if (rc == 0) {
        rc = suite_run_all(&c, order, o.resume != NULL);
        if (rc == 0) {
            rc = suite_finish(&c, o.fmt);
        }
    }
    free(order);
    suite_free(&s);
    return rc;
}
