/*
 * capture: run a program with libshmbench-capture.so preloaded, so that
 * its heap calls become a trace (workloads/capture/preload.c has the
 * format's details: which calls, realloc, alignment, threads, forks).
 *
 * The command checks what it can before anything runs (the library is
 * there and its path fits in LD_PRELOAD, FILE can be created), forks,
 * and the child sets SHMBENCH_CAPTURE_PID to its own PID (the library
 * writes FILE from that process and FILE.PID from every other) and execs
 * CMD with LD_PRELOAD and SHMBENCH_CAPTURE=FILE (an absolute path, so a
 * CMD that changes directory still writes there).  A close-on-exec pipe
 * tells the parent whether the exec itself failed, which an exit status
 * of 127 could not.  While CMD runs, the command ignores SIGINT and
 * SIGQUIT, as system() does: a ^C reaches CMD, and the command lives to
 * report.  Then every file written is read back with the trace reader,
 * which checks it as `replay` would, and summed up on stderr (stdout is
 * CMD's alone).
 */
#define _GNU_SOURCE                 /* pipe2, strsignal */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "substrate/diag.h"

#define CAPTURE_LIB_NAME "libshmbench-capture.so"
#define CAPTURE_HEADER   "# shmbench capture: pid "
#define CAPTURE_MAX_FILES 4096       /* FILE.PID files reported */

static const char capture_cmd[] = "capture";

const char cmd_capture_help[] =
    "usage: shmbench capture -o FILE [--lib PATH] [--] CMD [ARGS...]\n"
    "\n"
    "Run CMD with libshmbench-capture.so preloaded and write its heap calls\n"
    "(malloc, calloc, realloc, reallocarray, free, posix_memalign,\n"
    "aligned_alloc, memalign, valloc, pvalloc; C++'s new goes through them)\n"
    "to FILE as a trace that 'shmbench replay' takes:\n"
    "  a ID SIZE      a block of SIZE bytes handed out (IDs 1, 2, 3 ...)\n"
    "  f ID           block ID given back; free(NULL) is not recorded\n"
    "  # align A      before the 'a' of an aligned call: a replay does not\n"
    "                 align, the trace format has no alignment\n"
    "  # fail F SIZE  F returned NULL: no block, no 'a'\n"
    "realloc is an 'f' of the old ID and an 'a' of a new one; realloc(NULL, n)\n"
    "an 'a'; realloc(p, 0) an 'f' (glibc frees p and returns NULL).  The\n"
    "trace has no 'pages' line: replay it over slab or nginx with --zone-size.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the trace of CMD's process; every other process\n"
    "                     (a fork, what a child execs) writes FILE.PID, which\n"
    "                     starts with the blocks it inherited at the fork\n"
    "                     (FILE.PID files of earlier runs are left alone)\n"
    "  --lib PATH         the library (default: libshmbench-capture.so in the\n"
    "                     directory of the shmbench binary)\n"
    "\n"
    "CMD is looked up in PATH and runs with shmbench's environment plus\n"
    "LD_PRELOAD (the library first, then any LD_PRELOAD already set),\n"
    "SHMBENCH_CAPTURE=FILE and SHMBENCH_CAPTURE_PID (shmbench's environment\n"
    "holds the GLIBC_TUNABLES setting it restarts itself with, which only\n"
    "reserves thread-local storage).  capture's options end at CMD (or at\n"
    "'--'): what follows, -h and --help included, is CMD's.  Afterwards\n"
    "each file written is checked as 'replay' reads it\n"
    "and summed up on stderr: ops, allocations, frees, peak live blocks and\n"
    "bytes.  A statically linked or setuid CMD cannot be traced (the loader\n"
    "does not preload into it); mmap, brk and sbrk are not heap calls and\n"
    "are not recorded; a process killed by a signal loses what the library\n"
    "had still buffered (up to 1 MiB).\n"
    "\n"
    "exit status: CMD's (128 + N if signal N killed it); 1 when CMD cannot\n"
    "be run, the library cannot be found or was not loaded, FILE cannot be\n"
    "written or a file written is not a valid trace; 2 usage.\n";

/* What one trace file holds. */
struct capture_summary {
    size_t   ops, allocs, frees;
    size_t   peak_blocks;
    uint64_t peak_bytes;
    size_t   live_blocks;            /* at the end */
    uint64_t live_bytes;
};

/* The library: --lib, or next to /proc/self/exe; into out[PATH_MAX]. */
static int
capture_find_lib(const char *given, char *out)
{
    char  exe[PATH_MAX], guess[PATH_MAX + sizeof(CAPTURE_LIB_NAME) + 1];
    char *slash;

    if (given == NULL) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n < 0) {
            return cli_error("capture: cannot find the shmbench binary (/proc/self/exe): "
                             "%s; give the library with --lib PATH", strerror(errno));
        }
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        *(slash ? slash + 1 : exe) = '\0';
        snprintf(guess, sizeof(guess), "%s%s", exe, CAPTURE_LIB_NAME);
        given = guess;
    }
    if (realpath(given, out) == NULL) {
        return cli_error("capture: cannot find the capture library %s: %s "
                         "(build the shmbench_capture target, or give --lib PATH)",
                         given, strerror(errno));
    }
    if (access(out, R_OK) != 0) {
        return cli_error("capture: cannot read the capture library %s: %s", out,
                         strerror(errno));
    }
    /* LD_PRELOAD splits at colons and blanks. */
    if (strpbrk(out, ": \t\n") != NULL) {
        return cli_error("capture: the library path '%s' holds a colon or a blank, "
                         "which LD_PRELOAD cannot carry", out);
    }
    return 0;
}

/* Create FILE (so that its directory is checked now) and make its path
 * absolute, into out[PATH_MAX]. */
static int
capture_create_output(const char *file, char *out)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        return cli_error("capture: %s: %s", file, strerror(errno));
    }
    close(fd);
    if (realpath(file, out) == NULL) {
        return cli_error("capture: %s: %s", file, strerror(errno));
    }
    return 0;
}

static int
capture_environment(const char *lib, const char *out)
{
    const char *old = getenv("LD_PRELOAD");
    char       *preload;
    size_t      n = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
    int         rc;

    preload = malloc(n);
    if (preload == NULL) {
        return cli_error("capture: out of memory");
    }
    snprintf(preload, n, "%s%s%s", lib, old && old[0] ? ":" : "", old ? old : "");
    rc = setenv("LD_PRELOAD", preload, 1) != 0 || setenv("SHMBENCH_CAPTURE", out, 1) != 0
         || unsetenv("SHMBENCH_CAPTURE_PID") != 0;
    free(preload);
    return rc ? cli_error("capture: setenv: %s", strerror(errno)) : 0;
}

/*
 * Run argv; *status gets its wait status.  Returns 0, or the exit code
 * after the message when it could not be run.
 */
static int
capture_run(char **argv, int *status)
{
    struct sigaction ign, old_int, old_quit;
    char             pid[24];
    int              fds[2], err = 0;
    ssize_t          n;
    pid_t            child;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        return cli_error("capture: pipe: %s", strerror(errno));
    }
    fflush(NULL);
    child = fork();
    if (child < 0) {
        err = errno;
        close(fds[0]);
        close(fds[1]);
        return cli_error("capture: fork: %s", strerror(err));
    }
    if (child == 0) {
        close(fds[0]);
        snprintf(pid, sizeof(pid), "%ld", (long) getpid());
        if (setenv("SHMBENCH_CAPTURE_PID", pid, 1) == 0) {
            execvp(argv[0], argv);
        }
        err = errno;
        n = write(fds[1], &err, sizeof(err));
        _exit(n == sizeof(err) ? 127 : 126);
    }
    close(fds[1]);
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    do {
        n = read(fds[0], &err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(child, status, 0) < 0 && errno == EINTR) {
        /* again */
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (n == sizeof(err)) {
        return cli_error("capture: cannot run '%s': %s", argv[0], strerror(err));
    }
    return 0;
}

/* Whether the file starts with the library's header line. */
static int
capture_has_header(const char *path)
{
    char    head[sizeof(CAPTURE_HEADER) - 1];
    ssize_t n;
    int     fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return 0;
    }
    n = read(fd, head, sizeof(head));
    close(fd);
    return n == (ssize_t) sizeof(head) && memcmp(head, CAPTURE_HEADER, sizeof(head)) == 0;
}

/* Read and check the trace at path, and sum it up.  0, or -1 (diag). */
static int
capture_summarize(const char *path, struct capture_summary *s)
{
    struct trace           t;
    const struct trace_op *op;
    uint64_t              *size, live = 0;
    size_t                 blocks = 0, slot;

    memset(s, 0, sizeof(*s));
    if (trace_load(&t, path) != 0) {
        return -1;
    }
    size = calloc(t.nslots ? t.nslots : 1, sizeof(*size));
    if (size == NULL) {
        trace_free(&t);
        diag_set("%s: out of memory", path);
        return -1;
    }
    for (op = t.ops; op < t.ops + t.nops; op++) {
        slot = op->slot & TRACE_SLOT_MAX;
        if (op->slot & TRACE_OP_FREE) {
            live -= size[slot];
            blocks--;
            continue;
        }
        size[slot] = op->size;
        live += op->size;
        blocks++;
        if (live > s->peak_bytes) {
            s->peak_bytes = live;
        }
    }
    s->ops = t.nops;
    s->allocs = t.nallocs;
    s->frees = t.nfrees;
    s->peak_blocks = t.max_live;
    s->live_blocks = blocks;
    s->live_bytes = live;
    free(size);
    trace_free(&t);
    return 0;
}

static int
capture_report(const char *shown, const char *path)
{
    struct capture_summary s;

    if (capture_summarize(path, &s) != 0) {
        return cli_error("capture: the trace written is not valid: %s", diag_last());
    }
    fflush(stdout);
    fprintf(stderr, "capture: %s: %zu ops (%zu allocations, %zu frees), peak live "
            "%zu block%s (%llu bytes), %zu block%s (%llu bytes) live at the end\n",
            shown, s.ops, s.allocs, s.frees, s.peak_blocks, s.peak_blocks == 1 ? "" : "s",
            (unsigned long long) s.peak_bytes, s.live_blocks, s.live_blocks == 1 ? "" : "s",
            (unsigned long long) s.live_bytes);
    return 0;
}

static int
capture_name_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *) a, *y = *(const char *const *) b;
    size_t      lx = strlen(x), ly = strlen(y);

    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);   /* numeric order of PIDs */
}

/*
 * The FILE.PID files this run wrote: names FILE.<digits> in FILE's
 * directory, written since `start`, holding the library's header.
 * Reported in PID order, each as FILE.PID as the user spelled FILE.
 */
static int
capture_report_children(const char *file, const char *abs, const struct timespec *start)
{
    char           dir[PATH_MAX], path[PATH_MAX * 2], shown[PATH_MAX * 2];
    char          *names[CAPTURE_MAX_FILES], *slash;
    const char    *base;
    struct dirent *d;
    struct stat    st;
    size_t         n = 0, i, blen;
    DIR           *dp;
    int            rc = 0;

    snprintf(dir, sizeof(dir), "%s", abs);
    slash = strrchr(dir, '/');
    *slash = '\0';
    base = strrchr(abs, '/') + 1;
    blen = strlen(base);
    dp = opendir(dir[0] ? dir : "/");
    if (dp == NULL) {
        return cli_error("capture: %s: %s", dir, strerror(errno));
    }
    while ((d = readdir(dp)) != NULL && n < CAPTURE_MAX_FILES) {
        if (strncmp(d->d_name, base, blen) != 0 || d->d_name[blen] != '.'
            || d->d_name[blen + 1] == '\0')
        {
            continue;
        }
        if (strspn(d->d_name + blen + 1, "0123456789") != strlen(d->d_name + blen + 1)) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)
            || st.st_mtim.tv_sec < start->tv_sec
            || (st.st_mtim.tv_sec == start->tv_sec && st.st_mtim.tv_nsec < start->tv_nsec)
            || !capture_has_header(path))
        {
            continue;
        }
        if ((names[n] = strdup(d->d_name + blen)) == NULL) {
            rc = cli_error("capture: out of memory");
            break;
        }
        n++;
    }
    closedir(dp);
    qsort(names, n, sizeof(names[0]), capture_name_cmp);
    for (i = 0; i < n; i++) {
        if (rc == 0) {
            snprintf(path, sizeof(path), "%s%s", abs, names[i]);
            snprintf(shown, sizeof(shown), "%s%s", file, names[i]);
            rc = capture_report(shown, path);
        }
        free(names[i]);
    }
    return rc;
}

/* CMD's exit status as this command's. */
static int
capture_status(const char *cmd, int status)
{
    if (WIFSIGNALED(status)) {
        cli_error("capture: %s was killed by signal %d (%s)", cmd, WTERMSIG(status),
                  strsignal(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : CLI_EXIT_FAIL;
}

int
cmd_capture(int argc, char **argv)
{
    const char     *file = NULL, *lib = NULL, *val;
    char            lib_path[PATH_MAX], out[PATH_MAX];
    struct timespec start;
    int             i, rc, status = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (cli_is_help(argv[i])) {
            fputs(cmd_capture_help, stdout);
            return 0;
        }
        if (cli_option(capture_cmd, argc, argv, &i, "-o", &val)
            || cli_option(capture_cmd, argc, argv, &i, "--output", &val))
        {
            file = val;
        } else if (cli_option(capture_cmd, argc, argv, &i, "--lib", &val)) {
            lib = val;
        } else if (argv[i][0] == '-') {
            cli_unknown_option(capture_cmd, argv[i]);
        } else {
            break;
        }
    }
    if (file == NULL) {
        cli_usage_error(capture_cmd, "capture needs -o FILE");
    }
    if (file[0] == '\0') {
        cli_usage_error(capture_cmd, "-o needs a file name");
    }
    if (lib && lib[0] == '\0') {
        cli_usage_error(capture_cmd, "--lib needs a path");
    }
    if (i >= argc) {
        cli_usage_error(capture_cmd, "capture needs a command to run");
    }

    if ((rc = capture_find_lib(lib, lib_path)) != 0
        || (rc = capture_create_output(file, out)) != 0
        || (rc = capture_environment(lib_path, out)) != 0)
    {
        return rc;
    }
    /* File times come from the kernel's coarse clock, which may lag this
     * one by a tick: allow 20 ms. */
    clock_gettime(CLOCK_REALTIME, &start);
    if (start.tv_nsec < 20000000) {
        start.tv_sec--;
        start.tv_nsec += 1000000000;
    }
    start.tv_nsec -= 20000000;
    if ((rc = capture_run(argv + i, &status)) != 0) {
        unlink(out);
        return rc;
    }
    if (!capture_has_header(out)) {
        rc = cli_error("capture: %s wrote no trace to %s: %s was not loaded into it "
                       "(a statically linked or setuid program?)", argv[i], file, lib_path);
        capture_status(argv[i], status);
        return rc;
    }
    if ((rc = capture_report(file, out)) != 0
        || (rc = capture_report_children(file, out, &start)) != 0)
    {
        return rc;
    }
    return capture_status(argv[i], status);
}
