/*
 * plot: the figures of a suite or run directory, drawn by gnuplot.
 *
 * Every figure is a gnuplot script of the source tree's plots/ directory
 * (plots/NN-name.gp, docs/plots.md), which reads result files only and
 * does its own selecting and pivoting through plots/prep.awk; this command
 * decides what to draw from what the directory holds, runs gnuplot once
 * per figure and format, and writes an index.html that shows them all
 * with a caption each.  A suite directory (summary.csv, runs/) gets the
 * figures of summary.csv, those of one workload once per workload group
 * (every row of one workload_spec, listed by prep.awk), the memory over
 * time of its churn run with the most samples and the slot picture of the
 * first slab run of each suite line; a run directory (runs.csv) gets its
 * memory over time and its slot picture.  A script that finds no data for
 * its figure exits with status 3 after one line on stderr: the figure is
 * skipped with that line, and nothing is written for it.
 *
 * Everything gnuplot is handed goes through its -e variables, as
 * single-quoted gnuplot strings (a quote doubled); the scripts quote for
 * the shell themselves when they run awk.  Only a control character could
 * break that, so a path or name holding one is refused.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#ifndef SHMBENCH_SOURCE_DIR
#define SHMBENCH_SOURCE_DIR ""
#endif

/* A script's exit status for "no data for this figure" (plots/common.gp). */
#define PLOT_NO_DATA 3

static const char plot_cmd[] = "plot";

const char cmd_plot_help[] =
    "usage: shmbench plot DIR [--out PLOTDIR] [--format svg,png] [--scripts SCRIPTS]\n"
    "\n"
    "Draw the figures of DIR with gnuplot, as SVG and PNG, and an index.html\n"
    "that shows them with their captions.  DIR is a suite directory\n"
    "(summary.csv and runs/, written by 'shmbench suite') or one run's\n"
    "directory (runs.csv, written by 'shmbench run').  A suite gets every\n"
    "figure below that it has data for; a run gets 3 and 6.  A figure without\n"
    "data is skipped with one line on stderr.\n"
    "\n"
    "  1 throughput against worker processes, per workload (log y)\n"
    "  2 latency percentiles p50 to max, allocations and frees, per workload\n"
    "  3 memory over time: live, granted, footprint, resident (a churn run)\n"
    "  4 fragmentation: internal, external, overhead at peak, per workload\n"
    "  5 fill at first failure, per workload\n"
    "  6 the slab's per-slot occupancy (slab_stat: total, used, reqs, fails)\n"
    "  7 lock wait and hold time with contention counts, per workload\n"
    "\n"
    "options:\n"
    "  --out PLOTDIR        where to write (default DIR/plots; made if missing)\n"
    "  --format LIST        svg, png or both (default svg,png)\n"
    "  --scripts SCRIPTS    the gnuplot scripts (default: the source tree's\n"
    "                       plots/, " SHMBENCH_SOURCE_DIR "/plots)\n"
    "\n"
    "Needs gnuplot (Debian: gnuplot-nox) and awk in PATH.  docs/plots.md says\n"
    "what each figure shows and how to add one.\n";

/* Where a figure's data comes from, and so how many it makes. */
enum plot_source {
    PLOT_GROUP,        /* summary.csv, once per workload group */
    PLOT_SUMMARY,      /* summary.csv, once */
    PLOT_TIMESERIES,   /* a run's timeseries.csv */
    PLOT_SLOTS         /* a run's slots.csv */
};

/* A figure: its script's name (plots/NAME.gp), its source, its caption. */
struct plot_figure {
    const char       *name;
    enum plot_source  source;
    const char       *title;
    const char       *caption;
};

static const struct plot_figure plot_figures[] = {
    { "01-throughput", PLOT_GROUP, "Throughput against worker processes",
      "Aggregate throughput (every worker's completed allocations and frees "
      "over the wall time from the workers' release to the last one's end) "
      "against the number of worker processes, one line per allocator, on a "
      "log scale.  A point is the median over the repeats, its bar the 95% "
      "interval of that median.  A line that falls as workers are added is "
      "an allocator whose lock or shared state serialises them." },
    { "02-latency", PLOT_GROUP, "Latency percentiles",
      "The p50, p90, p99, p99.9 and maximum latency of the timed "
      "allocations (left) and frees (right), one line per allocator, log "
      "scale, at the most workers the workload ran with.  Medians over the "
      "repeats with 95% intervals.  The left end is the common case, the "
      "right end the waits (a contended lock, a page run to find)." },
    { "03-memory", PLOT_TIMESERIES, "Memory over time",
      "Live bytes (the requested sizes of the blocks held), granted bytes "
      "(their usable sizes), the footprint (the zone's bytes handed out or "
      "reserved for blocks, its fixed header excluded; only where the "
      "sample could read the allocator's figures) and the resident bytes "
      "(the zone's pages in RAM), sampled while the workers ran.  The gap "
      "from live to granted is internal fragmentation, from granted to "
      "footprint the memory held by free space inside used pages." },
    { "04-fragmentation", PLOT_SUMMARY, "Fragmentation per allocator and workload",
      "Internal fragmentation (1 - live / granted bytes at the end), "
      "external fragmentation (1 - largest free block / free bytes at the "
      "end) and overhead at peak (peak footprint / peak live bytes; 1 is "
      "none), one bar per allocator in each workload's group, medians over "
      "the repeats with 95% intervals, each workload at the fewest workers "
      "it ran with.  A missing bar is a figure with no value: not reported "
      "by that allocator, or nothing free." },
    { "05-fill", PLOT_SUMMARY, "Fill at first failure",
      "The live bytes when the first allocation failed, as a percentage of "
      "the zone's data bytes, one bar per allocator for each workload that "
      "ran the zone full, medians over the repeats with 95% intervals.  "
      "What is missing to 100% was lost to headers, rounding and free "
      "pieces too small for the request." },
    { "06-slots", PLOT_SLOTS, "Per-slot occupancy (slab_stat)",
      "The slab's slots at the end of one run, as tengine's slab_stat shows "
      "them: per chunk size, the chunks its pages hold (total) and those "
      "allocated (used), then on a log scale the requests of that size "
      "class since the zone was made and those that failed.  Total well "
      "above used is memory a slot keeps in pages it cannot give back." },
    { "07-lock", PLOT_GROUP, "Zone lock: wait and hold time",
      "The total time the workers waited for the zone's lock and held it "
      "(hold time estimated from one acquisition in 256), summed over the "
      "workers, per allocator with lock counters, log scale, at the most "
      "workers the workload ran with; under each name, the acquisitions "
      "whose first attempt failed of all acquisitions.  Medians over the "
      "repeats with 95% intervals." },
};

#define PLOT_NFIGURES (sizeof(plot_figures) / sizeof(plot_figures[0]))

/* A growing byte buffer, NUL-terminated. */
struct plot_buf {
    char   *data;
    size_t  len, cap;
};

/* A workload group of summary.csv (prep.awk's `groups`): its rows that
 * the driver refused and those with failed runs, for the captions. */
struct plot_group {
    char *line, *slug, *label, *spec, *refused, *failed;
};

/* A run of a suite's runs/ directory. */
struct plot_run {
    char      id[256];
    long      line;                 /* from the ID's L<line>-, else -1 */
    char      allocator[64];
    char      workload[64];
    long      samples;              /* timeseries.csv rows */
    long      with_stats;           /* ... holding the allocator's figures */
    long      slots;                /* slots.csv rows */
};

/* A figure drawn: what index.html shows. */
struct plot_drawn {
    const struct plot_figure *fig;
    char                      base[320];
    char                      from[PATH_MAX];  /* the data file, relative to DIR */
    char                     *detail;          /* the workload, or NULL */
};

/* The command's state. */
struct plot_state {
    const char         *dir;
    const char         *out;
    const char         *scripts;
    int                 svg, png;
    int                 suite;
    char                gnuplot[PATH_MAX];
    struct plot_group  *groups;
    size_t              ngroups;
    struct plot_drawn  *drawn;
    size_t              ndrawn;
    int                 failed;
};

/* realloc, or the command's end: a few kilobytes that cannot be had
 * leave nothing sensible to draw. */
static void *
plot_realloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        cli_error("plot: out of memory");
        exit(CLI_EXIT_FAIL);
    }
    return p;
}

/* strdup, through plot_realloc. */
static char *
plot_strdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(plot_realloc(NULL, n), s, n);
}

/* Append n bytes of s to b. */
static void
plot_buf_add(struct plot_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = plot_realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Append printf's output to b. */
static void
plot_buf_printf(struct plot_buf *b, const char *fmt, ...)
{
    va_list ap;
    char    tmp[1024];
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n >= (int) sizeof(tmp)) {
        char *big = plot_realloc(NULL, (size_t) n + 1);

        va_start(ap, fmt);
        vsnprintf(big, (size_t) n + 1, fmt, ap);
        va_end(ap);
        plot_buf_add(b, big, (size_t) n);
        free(big);
        return;
    }
    plot_buf_add(b, tmp, (size_t) (n < 0 ? 0 : n));
}

/* The full path of program `name` in PATH into path; 0 or -1. */
static int
plot_find_program(const char *name, char *path, size_t size)
{
    const char *p = getenv("PATH"), *end;
    size_t      n;

    for (; p && *p; p = *end ? end + 1 : end) {
        end = strchr(p, ':');
        if (end == NULL) {
            end = p + strlen(p);
        }
        n = (size_t) (end - p);
        if (n == 0) {
            continue;
        }
        if (snprintf(path, size, "%.*s/%s", (int) n, p, name) < (int) size
            && access(path, X_OK) == 0)
        {
            return 0;
        }
    }
    return -1;
}

/* 1 if s holds a control character (which a gnuplot -e string cannot). */
static int
plot_has_control(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* 1 if path is a regular file. */
static int
plot_is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* mkdir -p; 0 or the exit status (printed). */
static int
plot_mkdirs(const char *path)
{
    char   buf[PATH_MAX];
    size_t i, n = strlen(path);

    if (n >= sizeof(buf)) {
        return cli_error("plot: %s: path too long", path);
    }
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                return cli_error("plot: mkdir %s: %s", buf, strerror(errno));
            }
            buf[i] = path[i];
        }
    }
    return 0;
}

/*
 * Run argv (argv[0] a path) with its stdout into *out (NULL: /dev/null) and
 * its stderr into *err; return its exit status, 127 if it could not be
 * started, 128 + N if signal N ended it, -1 if it could not be forked.
 */
static int
plot_spawn(char *const argv[], struct plot_buf *out, struct plot_buf *err)
{
    int            po[2] = { -1, -1 }, pe[2], st, open_fds;
    pid_t          pid;
    struct pollfd  fds[2];
    char           chunk[4096];
    ssize_t        n;
    int            i;

    if (out && pipe(po) != 0) {
        return -1;
    }
    if (pipe(pe) != 0) {
        if (out) {
            close(po[0]);
            close(po[1]);
        }
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        if (out) {
            close(po[0]);
            close(po[1]);
        }
        close(pe[0]);
        close(pe[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        dup2(out ? po[1] : null, 1);
        dup2(pe[1], 2);
        if (null > 2) {
            close(null);
        }
        if (out) {
            close(po[0]);
            close(po[1]);
        }
        close(pe[0]);
        close(pe[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    if (out) {
        close(po[1]);
    }
    close(pe[1]);
    fds[0].fd = out ? po[0] : -1;
    fds[1].fd = pe[0];
    fds[0].events = fds[1].events = POLLIN;
    open_fds = out ? 2 : 1;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            n = read(fds[i].fd, chunk, sizeof(chunk));
            if (n > 0) {
                plot_buf_add(i == 0 ? out : err, chunk, (size_t) n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    if (WIFSIGNALED(st)) {
        return 128 + WTERMSIG(st);
    }
    return WEXITSTATUS(st);
}

/* Append s to b as a single-quoted gnuplot string ('' for a quote). */
static void
plot_buf_quote(struct plot_buf *b, const char *s)
{
    plot_buf_add(b, "'", 1);
    for (; *s; s++) {
        plot_buf_add(b, s, 1);
        if (*s == '\'') {
            plot_buf_add(b, "'", 1);
        }
    }
    plot_buf_add(b, "'", 1);
}

/* Append `; name='value'` to the -e string b. */
static void
plot_var(struct plot_buf *b, const char *name, const char *value)
{
    plot_buf_printf(b, "%s%s=", b->len ? "; " : "", name);
    plot_buf_quote(b, value);
}

/* The first line of s into line (at most size - 1 bytes). */
static void
plot_first_line(const char *s, char *line, size_t size)
{
    size_t n = strcspn(s, "\n");

    if (n >= size) {
        n = size - 1;
    }
    memcpy(line, s, n);
    line[n] = '\0';
}

/* The last non-empty line of s into line: a script's reason for exiting
 * comes last, after any warning gnuplot printed before it. */
static void
plot_last_line(const char *s, char *line, size_t size)
{
    const char *end = s + strlen(s), *start;

    while (end > s && end[-1] == '\n') {
        end--;
    }
    for (start = end; start > s && start[-1] != '\n'; start--) {
    }
    if ((size_t) (end - start) >= size) {
        end = start + size - 1;
    }
    memcpy(line, start, (size_t) (end - start));
    line[end - start] = '\0';
}

/*
 * Draw figure f as OUT/BASE.svg and .png with gnuplot: in, runs, group
 * and label are the script's variables (NULL: unset).  Returns 0 if it was
 * drawn (and records it for index.html, with `from` and `detail`), 1 if
 * the script found no data (said on stderr), -1 if gnuplot failed (said).
 */
static int
plot_draw(struct plot_state *s, const struct plot_figure *f, const char *base,
    const char *in, const char *runs, const char *group, const char *label,
    const char *from, const char *detail)
{
    static const char *const exts[2] = { "svg", "png" };
    char             script[PATH_MAX], out[PATH_MAX], line[512], name[320], *p;
    char            *argv[5];
    struct plot_buf  vars, err;
    struct plot_drawn *d;
    struct stat      st;
    int              k, rc;

    snprintf(script, sizeof(script), "%s/%s.gp", s->scripts, f->name);
    snprintf(name, sizeof(name), "%s", base);
    for (p = name; *p; p++) {           /* a file name, and safe in HTML */
        if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_' && *p != '.') {
            *p = '_';
        }
    }
    base = name;
    for (k = 0; k < 2; k++) {
        if ((k == 0 && !s->svg) || (k == 1 && !s->png)) {
            continue;
        }
        snprintf(out, sizeof(out), "%s/%s.%s", s->out, base, exts[k]);
        memset(&vars, 0, sizeof(vars));
        memset(&err, 0, sizeof(err));
        plot_var(&vars, "in", in);
        plot_var(&vars, "out", out);
        plot_var(&vars, "term", exts[k]);
        plot_var(&vars, "lib", s->scripts);
        if (runs) {
            plot_var(&vars, "runs", runs);
        }
        if (group) {
            plot_var(&vars, "group", group);
        }
        if (label) {
            plot_var(&vars, "label", label);
        }
        argv[0] = s->gnuplot;
        argv[1] = (char *) "-e";
        argv[2] = vars.data;
        argv[3] = script;
        argv[4] = NULL;
        rc = plot_spawn(argv, NULL, &err);
        free(vars.data);
        if (rc == PLOT_NO_DATA) {
            plot_last_line(err.data ? err.data : "", line, sizeof(line));
            free(err.data);
            fflush(stdout);
            fprintf(stderr, "shmbench: plot: skipping %s: %s\n", base, line);
            return 1;
        }
        if (err.len) {
            fflush(stdout);
            fputs(err.data, stderr);
        }
        free(err.data);
        if (rc != 0) {
            cli_error("plot: %s: gnuplot %s (%s)", base,
                      rc < 0 ? "could not be run" : rc >= 128 ? "was killed" : "failed",
                      script);
            s->failed = 1;
            return -1;
        }
        if (stat(out, &st) != 0 || st.st_size == 0) {
            cli_error("plot: %s: gnuplot wrote nothing (%s)", out, script);
            s->failed = 1;
            return -1;
        }
    }
    s->drawn = plot_realloc(s->drawn, (s->ndrawn + 1) * sizeof(*d));
    d = &s->drawn[s->ndrawn++];
    d->fig = f;
    snprintf(d->base, sizeof(d->base), "%s", base);
    snprintf(d->from, sizeof(d->from), "%s", from);
    d->detail = detail ? plot_strdup(detail) : NULL;
    return 0;
}

/* summary.csv's workload groups, from prep.awk; 0 or the exit status. */
static int
plot_load_groups(struct plot_state *s, const char *summary)
{
    char             awk[PATH_MAX], prep[PATH_MAX], msg[512], *argv[6], *p, *nl, *f[6];
    struct plot_buf  out = { 0 }, err = { 0 };
    int              rc, k;

    if (plot_find_program("awk", awk, sizeof(awk)) != 0) {
        return cli_error("plot: awk not found in PATH (Debian: mawk or gawk)");
    }
    snprintf(prep, sizeof(prep), "%s/prep.awk", s->scripts);
    argv[0] = awk;
    argv[1] = (char *) "-f";
    argv[2] = prep;
    argv[3] = (char *) "-vwhat=groups";
    argv[4] = (char *) summary;
    argv[5] = NULL;
    rc = plot_spawn(argv, &out, &err);
    if (rc != 0) {
        plot_first_line(err.data ? err.data : "", msg, sizeof(msg));
        free(out.data);
        free(err.data);
        return cli_error("plot: %s: awk failed: %s", summary, msg[0] ? msg : "no message");
    }
    free(err.data);
    for (p = out.data; p && *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL) {
            break;
        }
        *nl = '\0';
        for (k = 0; k < 6; k++) {
            f[k] = p;
            p += strcspn(p, "\t");
            if (*p) {
                *p++ = '\0';
            }
        }
        if (f[3][0] == '\0' || plot_has_control(f[3])) {
            continue;
        }
        s->groups = plot_realloc(s->groups, (s->ngroups + 1) * sizeof(*s->groups));
        s->groups[s->ngroups].line = plot_strdup(f[0]);
        s->groups[s->ngroups].slug = plot_strdup(f[1]);
        s->groups[s->ngroups].label = plot_strdup(f[2]);
        s->groups[s->ngroups].spec = plot_strdup(f[3]);
        s->groups[s->ngroups].refused = plot_strdup(f[4]);
        s->groups[s->ngroups].failed = plot_strdup(f[5]);
        s->ngroups++;
    }
    free(out.data);
    return 0;
}

/* Data rows of a CSV file (lines after the header), -1 if unreadable. */
static long
plot_count_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    long  n = 0;
    int   c, last = '\n';

    if (f == NULL) {
        return -1;
    }
    while ((c = getc(f)) != EOF) {
        if (c == '\n' && last != '\n') {
            n++;
        }
        last = c;
    }
    if (last != '\n') {
        n++;
    }
    fclose(f);
    return n > 0 ? n - 1 : 0;
}

/* Rows of a timeseries.csv whose last column, `stats`, is 1: the samples
 * that have the allocator's footprint and free bytes (docs/results.md). */
static long
plot_count_stats_rows(const char *path)
{
    FILE   *f = fopen(path, "r");
    char   *line = NULL;
    size_t  cap = 0;
    ssize_t len;
    long    n = 0;

    if (f == NULL) {
        return 0;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        n += len >= 2 && line[len - 1] == '1' && line[len - 2] == ',';
    }
    free(line);
    fclose(f);
    return n;
}

/* The allocator and workload of runs.csv's all row (its first two
 * columns; worker is the seventh); 0 or -1. */
static int
plot_read_run(const char *path, struct plot_run *r)
{
    FILE   *f = fopen(path, "r");
    char   *line = NULL, *p, *field[8];
    size_t  cap = 0;
    int     k, found = -1;

    if (f == NULL) {
        return -1;
    }
    while (found < 0 && getline(&line, &cap, f) > 0) {
        p = line;
        for (k = 0; k < 8; k++) {
            field[k] = p;
            p += strcspn(p, ",\n");
            if (*p) {
                *p++ = '\0';
            }
        }
        if (strcmp(field[6], "all") == 0) {
            snprintf(r->allocator, sizeof(r->allocator), "%s", field[0]);
            snprintf(r->workload, sizeof(r->workload), "%s", field[1]);
            found = 0;
        }
    }
    free(line);
    fclose(f);
    return found;
}

/* qsort's order of runs: by suite line, then by ID (r1 before r2). */
static int
plot_run_order(const void *a, const void *b)
{
    const struct plot_run *x = a, *y = b;

    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

/* The runs of DIR/runs/ with a runs.csv, in suite-line order; *n of them
 * (0, and NULL, if there is no runs/). */
static struct plot_run *
plot_scan_runs(const char *dir, size_t *n)
{
    char              path[PATH_MAX];
    DIR              *d;
    struct dirent    *e;
    struct plot_run  *runs = NULL, *r;
    char             *end;

    *n = 0;
    snprintf(path, sizeof(path), "%s/runs", dir);
    d = opendir(path);
    if (d == NULL) {
        return NULL;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(runs->id)
            || plot_has_control(e->d_name))
        {
            continue;
        }
        runs = plot_realloc(runs, (*n + 1) * sizeof(*runs));
        r = &runs[*n];
        memset(r, 0, sizeof(*r));
        snprintf(r->id, sizeof(r->id), "%s", e->d_name);
        snprintf(path, sizeof(path), "%s/runs/%s/runs.csv", dir, r->id);
        if (plot_read_run(path, r) != 0) {
            continue;
        }
        r->line = -1;
        if (r->id[0] == 'L' && r->id[1] >= '0' && r->id[1] <= '9') {
            r->line = strtol(r->id + 1, &end, 10);
            if (*end != '-') {
                r->line = -1;
            }
        }
        snprintf(path, sizeof(path), "%s/runs/%s/timeseries.csv", dir, r->id);
        r->samples = plot_count_rows(path);
        r->with_stats = plot_count_stats_rows(path);
        snprintf(path, sizeof(path), "%s/runs/%s/slots.csv", dir, r->id);
        r->slots = plot_count_rows(path);
        (*n)++;
    }
    closedir(d);
    if (*n > 1) {
        qsort(runs, *n, sizeof(*runs), plot_run_order);
    }
    return runs;
}

/* Append to a caption what group g's figures leave out: the rows the
 * driver refused, those with failed runs (named with the group's label
 * when `named`). */
static void
plot_not_run(struct plot_buf *b, const struct plot_group *g, int named)
{
    if (g->refused[0]) {
        plot_buf_printf(b, " Refused by the driver, not run%s%s: %s.", named ? " on " : "",
                        named ? g->label : "", g->refused);
    }
    if (g->failed[0]) {
        plot_buf_printf(b, " Failed runs, left out of the medians%s%s: %s.",
                        named ? " on " : "", named ? g->label : "", g->failed);
    }
}

/* The figures of summary.csv: each workload group's, then the others. */
static void
plot_summary_figure(struct plot_state *s, const struct plot_figure *f, const char *summary)
{
    struct plot_buf list = { 0 };
    char            base[320];
    size_t          g;

    if (f->source == PLOT_SUMMARY) {
        for (g = 0; g < s->ngroups; g++) {
            plot_buf_printf(&list, "%s%s = %s", g ? "; " : "Workloads: ",
                            s->groups[g].label, s->groups[g].spec);
        }
        plot_buf_add(&list, ".", 1);
        for (g = 0; g < s->ngroups; g++) {
            plot_not_run(&list, &s->groups[g], 1);
        }
        plot_draw(s, f, f->name, summary, NULL, "", "", "summary.csv", list.data);
        free(list.data);
        return;
    }
    for (g = 0; g < s->ngroups; g++) {
        snprintf(base, sizeof(base), "%s-%s", f->name, s->groups[g].slug);
        plot_buf_printf(&list, "Workload %s.", s->groups[g].spec);
        plot_not_run(&list, &s->groups[g], 0);
        plot_draw(s, f, base, summary, NULL, s->groups[g].spec, "", "summary.csv", list.data);
        free(list.data);
        memset(&list, 0, sizeof(list));
    }
}

/* Figure 3 of a suite: its churn run with the most samples that have the
 * allocator's footprint (an in-zone allocator's), then with the most
 * samples. */
static void
plot_suite_memory(struct plot_state *s, const struct plot_figure *f,
    const struct plot_run *runs, size_t n)
{
    const struct plot_run *best = NULL;
    char                   in[PATH_MAX], rc[PATH_MAX], from[PATH_MAX], label[320];
    size_t                 i;

    for (i = 0; i < n; i++) {
        if (strcmp(runs[i].workload, "churn") == 0 && runs[i].samples >= 2
            && (best == NULL || runs[i].with_stats > best->with_stats
                || (runs[i].with_stats == best->with_stats
                    && runs[i].samples > best->samples)))
        {
            best = &runs[i];
        }
    }
    if (best == NULL) {
        fflush(stdout);
        fprintf(stderr, "shmbench: plot: skipping %s: no churn run in %s/runs has two "
                "samples or more (run with --sample-ms)\n", f->name, s->dir);
        return;
    }
    snprintf(in, sizeof(in), "%s/runs/%s/timeseries.csv", s->dir, best->id);
    snprintf(rc, sizeof(rc), "%s/runs/%s/runs.csv", s->dir, best->id);
    snprintf(from, sizeof(from), "runs/%s/timeseries.csv", best->id);
    snprintf(label, sizeof(label), "runs/%s", best->id);
    plot_draw(s, f, f->name, in, rc, NULL, label, from, NULL);
}

/* Figure 6 of a suite: the first slab run of each suite line that has
 * slot statistics. */
static void
plot_suite_slots(struct plot_state *s, const struct plot_figure *f,
    const struct plot_run *runs, size_t n)
{
    char   in[PATH_MAX], rc[PATH_MAX], from[PATH_MAX], label[320], base[400];
    long   last = -1;
    size_t i, drawn = 0;

    for (i = 0; i < n; i++) {
        if (runs[i].line < 0 || runs[i].line == last || runs[i].slots < 1
            || strcmp(runs[i].allocator, "slab") != 0)
        {
            continue;
        }
        last = runs[i].line;
        snprintf(in, sizeof(in), "%s/runs/%s/slots.csv", s->dir, runs[i].id);
        snprintf(rc, sizeof(rc), "%s/runs/%s/runs.csv", s->dir, runs[i].id);
        snprintf(from, sizeof(from), "runs/%s/slots.csv", runs[i].id);
        snprintf(label, sizeof(label), "runs/%s", runs[i].id);
        snprintf(base, sizeof(base), "%s-L%ld-%s", f->name, runs[i].line, runs[i].workload);
        plot_draw(s, f, base, in, rc, NULL, label, from, NULL);
        drawn++;
    }
    if (drawn == 0) {
        fflush(stdout);
        fprintf(stderr, "shmbench: plot: skipping %s: no slab run in %s/runs has slot "
                "statistics\n", f->name, s->dir);
    }
}

/* The figures of one run directory: 3 and 6. */
static void
plot_run_figure(struct plot_state *s, const struct plot_figure *f)
{
    const char *file = f->source == PLOT_TIMESERIES ? "timeseries.csv" : "slots.csv";
    char        in[PATH_MAX], rc[PATH_MAX];

    snprintf(in, sizeof(in), "%s/%s", s->dir, file);
    snprintf(rc, sizeof(rc), "%s/runs.csv", s->dir);
    if (!plot_is_file(in)) {
        fflush(stdout);
        fprintf(stderr, "shmbench: plot: skipping %s: no %s in %s\n", f->name, file, s->dir);
        return;
    }
    plot_draw(s, f, f->name, in, rc, NULL, s->dir, file, NULL);
}

/* s as HTML text. */
static void
plot_html(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* OUT/index.html: every figure drawn, with its caption; 0 or -1 (said). */
static int
plot_write_index(const struct plot_state *s)
{
    char    path[PATH_MAX];
    FILE   *out;
    size_t  i;
    const struct plot_drawn *d;
    const char *img = s->png ? "png" : "svg";

    snprintf(path, sizeof(path), "%s/index.html", s->out);
    out = fopen(path, "w");
    if (out == NULL) {
        return cli_error("plot: %s: %s", path, strerror(errno));
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>shmbench: ", out);
    plot_html(out, s->dir);
    fputs("</title>\n<style>\n"
          "body { font-family: sans-serif; max-width: 1040px; margin: 1em auto; padding: 0 1em; }\n"
          "figure { margin: 2.5em 0; }\n"
          "img { max-width: 100%; border: 1px solid #ccc; }\n"
          "figcaption { margin-top: 0.5em; line-height: 1.4; }\n"
          "code { font-size: 90%; }\n"
          "</style>\n</head>\n<body>\n<h1>shmbench figures</h1>\n<p>The figures of <code>", out);
    plot_html(out, s->dir);
    fprintf(out, "</code> (a %s directory), drawn by <code>shmbench plot</code> from its result "
            "files with the gnuplot scripts of <code>plots/</code>; docs/plots.md says how "
            "to read each one.</p>\n", s->suite ? "suite" : "run");
    fputs("<ul>\n", out);
    for (i = 0; i < s->ndrawn; i++) {
        d = &s->drawn[i];
        fprintf(out, "<li><a href=\"#%s\">%zu. ", d->base, (size_t) (d->fig - plot_figures) + 1);
        plot_html(out, d->fig->title);
        fprintf(out, "</a>: <code>%s</code></li>\n", d->base);
    }
    fputs("</ul>\n", out);
    for (i = 0; i < s->ndrawn; i++) {
        d = &s->drawn[i];
        if (i == 0 || d->fig != s->drawn[i - 1].fig) {
            fprintf(out, "<h2>%zu. ", (size_t) (d->fig - plot_figures) + 1);
            plot_html(out, d->fig->title);
            fputs("</h2>\n", out);
        }
        fprintf(out, "<figure id=\"%s\">\n<a href=\"%s.%s\"><img src=\"%s.%s\" alt=\"",
                d->base, d->base, img, d->base, img);
        plot_html(out, d->fig->title);
        fputs("\"></a>\n<figcaption><b>", out);
        plot_html(out, d->fig->title);
        fprintf(out, "</b> (<code>%s</code>). ", d->base);
        plot_html(out, d->fig->caption);
        if (d->detail) {
            fputc(' ', out);
            plot_html(out, d->detail);
        }
        fputs(" From <code>", out);
        plot_html(out, d->from);
        fputs("</code>.", out);
        if (s->svg) {
            fprintf(out, " <a href=\"%s.svg\">SVG</a>", d->base);
        }
        if (s->png) {
            fprintf(out, " <a href=\"%s.png\">PNG</a>", d->base);
        }
        fputs("</figcaption>\n</figure>\n", out);
    }
    fputs("</body>\n</html>\n", out);
    if (fclose(out) != 0) {
        return cli_error("plot: %s: %s", path, strerror(errno));
    }
    return 0;
}

/* 1 if NAME is a figure's file name: two digits, '-', [A-Za-z0-9_.-]+,
 * then .svg or .png. */
static int
plot_is_figure_name(const char *name)
{
    size_t n = strlen(name), i;

    if (n < 8 || !isdigit((unsigned char) name[0]) || !isdigit((unsigned char) name[1])
        || name[2] != '-'
        || (strcmp(name + n - 4, ".svg") != 0 && strcmp(name + n - 4, ".png") != 0))
    {
        return 0;
    }
    for (i = 3; i < n - 4; i++) {
        if (!isalnum((unsigned char) name[i]) && name[i] != '-' && name[i] != '_'
            && name[i] != '.')
        {
            return 0;
        }
    }
    return 1;
}

/* Remove from OUT the figures this run did not write (a figure now
 * skipped, a format not asked for): OUT then holds what DIR's files give,
 * nothing older.  Other files are left alone. */
static void
plot_remove_stale(const struct plot_state *s)
{
    DIR           *d = opendir(s->out);
    struct dirent *e;
    char           path[PATH_MAX], name[340];
    size_t         i;
    int            keep;

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (!plot_is_figure_name(e->d_name)) {
            continue;
        }
        keep = 0;
        for (i = 0; i < s->ndrawn && !keep; i++) {
            snprintf(name, sizeof(name), "%s.svg", s->drawn[i].base);
            keep = s->svg && strcmp(name, e->d_name) == 0;
            snprintf(name, sizeof(name), "%s.png", s->drawn[i].base);
            keep = keep || (s->png && strcmp(name, e->d_name) == 0);
        }
        snprintf(path, sizeof(path), "%s/%s", s->out, e->d_name);
        if (!keep && plot_is_file(path) && unlink(path) != 0) {
            fflush(stdout);
            fprintf(stderr, "shmbench: plot: warning: %s: %s\n", path, strerror(errno));
        }
    }
    closedir(d);
}

/* --format's list into s->svg, s->png (a usage error if it names another). */
static void
plot_formats(struct plot_state *s, const char *list)
{
    const char *p = list;
    size_t      n;

    s->svg = s->png = 0;
    for (;;) {
        n = strcspn(p, ",");
        if (n == 3 && strncmp(p, "svg", 3) == 0) {
            s->svg = 1;
        } else if (n == 3 && strncmp(p, "png", 3) == 0) {
            s->png = 1;
        } else {
            cli_usage_error(plot_cmd, "unknown format '%.*s' in --format %s (svg, png)",
                            (int) n, p, list);
        }
        if (p[n] == '\0') {
            break;
        }
        p += n + 1;
    }
}

/* Every script the figures need is in s->scripts; 0 or the exit status. */
static int
plot_check_scripts(const struct plot_state *s)
{
    static const char *const lib[] = { "prep.awk", "common.gp", "output.gp" };
    char   path[PATH_MAX];
    size_t i;

    for (i = 0; i < PLOT_NFIGURES + 3; i++) {
        if (i < 3) {
            snprintf(path, sizeof(path), "%s/%s", s->scripts, lib[i]);
        } else {
            snprintf(path, sizeof(path), "%s/%s.gp", s->scripts, plot_figures[i - 3].name);
        }
        if (!plot_is_file(path)) {
            return cli_error("plot: %s: no such script (give shmbench's plots/ "
                             "directory with --scripts)", path);
        }
    }
    return 0;
}

int
cmd_plot(int argc, char **argv)
{
    struct plot_state  s;
    struct plot_run   *runs = NULL;
    const char        *val;
    char               summary[PATH_MAX], runs_csv[PATH_MAX], outdir[PATH_MAX];
    size_t             i, nruns = 0;
    int                k, rc;
    struct stat        st;

    memset(&s, 0, sizeof(s));
    s.svg = s.png = 1;
    s.scripts = SHMBENCH_SOURCE_DIR[0] ? SHMBENCH_SOURCE_DIR "/plots" : "plots";
    for (k = 1; k < argc; k++) {
        if (cli_option(plot_cmd, argc, argv, &k, "--out", &val)) {
            s.out = val;
        } else if (cli_option(plot_cmd, argc, argv, &k, "--format", &val)) {
            plot_formats(&s, val);
        } else if (cli_option(plot_cmd, argc, argv, &k, "--scripts", &val)) {
            s.scripts = val;
        } else if (argv[k][0] != '-' && s.dir == NULL) {
            s.dir = argv[k];
        } else {
            cli_unknown_option(plot_cmd, argv[k]);
        }
    }
    if (s.dir == NULL) {
        cli_usage_error(plot_cmd, "plot needs a suite or run directory");
    }
    if (s.dir[0] == '\0' || (s.out && s.out[0] == '\0') || s.scripts[0] == '\0') {
        cli_usage_error(plot_cmd, "an empty directory name");
    }
    if (plot_has_control(s.dir) || (s.out && plot_has_control(s.out))
        || plot_has_control(s.scripts))
    {
        cli_usage_error(plot_cmd, "a directory name with a control character");
    }
    if (stat(s.dir, &st) != 0) {
        return cli_error("plot: %s: %s", s.dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return cli_error("plot: %s: not a directory", s.dir);
    }
    snprintf(summary, sizeof(summary), "%s/summary.csv", s.dir);
    snprintf(runs_csv, sizeof(runs_csv), "%s/runs.csv", s.dir);
    s.suite = plot_is_file(summary);
    if (!s.suite && !plot_is_file(runs_csv)) {
        return cli_error("plot: %s: neither summary.csv (a suite directory) nor runs.csv "
                         "(a run directory)", s.dir);
    }
    if (plot_find_program("gnuplot", s.gnuplot, sizeof(s.gnuplot)) != 0) {
        return cli_error("plot: gnuplot not found in PATH (Debian: apt-get install gnuplot-nox)");
    }
    if ((rc = plot_check_scripts(&s)) != 0) {
        return rc;
    }
    if (s.out == NULL) {
        snprintf(outdir, sizeof(outdir), "%s/plots", s.dir);
        s.out = outdir;
    }
    if ((rc = plot_mkdirs(s.out)) != 0) {
        return rc;
    }
    if (stat(s.out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return cli_error("plot: %s: not a directory", s.out);
    }
    if (s.suite) {
        if ((rc = plot_load_groups(&s, summary)) != 0) {
            return rc;
        }
        runs = plot_scan_runs(s.dir, &nruns);
    }
    for (i = 0; i < PLOT_NFIGURES; i++) {
        const struct plot_figure *f = &plot_figures[i];

        if (!s.suite) {
            if (f->source == PLOT_TIMESERIES || f->source == PLOT_SLOTS) {
                plot_run_figure(&s, f);
            }
        } else if (f->source == PLOT_GROUP || f->source == PLOT_SUMMARY) {
            plot_summary_figure(&s, f, summary);
        } else if (f->source == PLOT_TIMESERIES) {
            plot_suite_memory(&s, f, runs, nruns);
        } else {
            plot_suite_slots(&s, f, runs, nruns);
        }
    }
    free(runs);
    if (!s.failed) {
        plot_remove_stale(&s);
    }
    rc = plot_write_index(&s);
    printf("plot: %zu figure%s in %s (index.html)\n", s.ndrawn, s.ndrawn == 1 ? "" : "s", s.out);
    for (i = 0; i < s.ngroups; i++) {
        free(s.groups[i].line);
        free(s.groups[i].slug);
        free(s.groups[i].label);
        free(s.groups[i].spec);
        free(s.groups[i].refused);
        free(s.groups[i].failed);
    }
    free(s.groups);
    for (i = 0; i < s.ndrawn; i++) {
        free(s.drawn[i].detail);
    }
    free(s.drawn);
    return rc != 0 || s.failed ? CLI_EXIT_FAIL : 0;
}
