/*
 * test_substrate: the small pieces of alloc/substrate that the lock and zone
 * tests use without looking at them.
 *
 *  - diag: the last message, exactly as formatted and cut at 511 bytes; the
 *    count grows by one per message and not on clear; diag_report records
 *    "WHO(): message", writes it with a newline where asked and returns -1;
 *    each thread has its own message.
 *  - proc: indexes outside 0 .. PROC_MAX-2 are refused and change nothing;
 *    a forked child has its own pid and the shared slot, whatever its parent
 *    had; a process whose first call is proc_index() (this program run
 *    again with "fresh") has index 0 and its own pid.
 *  - dynlib: a library that does not exist, and one that lacks a function,
 *    give the sentence that says so, set no pointer, and give the same
 *    answer again without another try; a library with every function sets
 *    them all, and a forked child gets the answer its parent got.
 *  - clock: the calibration is positive and stable, and converts a sleep of
 *    20 ms into about 20 ms.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "substrate/clock.h"
#include "substrate/diag.h"
#include "substrate/dynlib.h"
#include "substrate/proc.h"
#include "testutil.h"

static void *
thread_diag(void *arg)
{
    (void) arg;
    diag_set("from the thread");
    return strcmp(diag_last(), "from the thread") == 0 ? arg : NULL;
}

static void
test_diag(void)
{
    unsigned long n;
    pthread_t     t;
    void         *ret = NULL;
    char          big[DIAG_MAX + 500], buf[128];
    FILE         *f;

    diag_clear();
    CHECK(diag_last()[0] == '\0', "diag_clear left \"%s\"", diag_last());
    n = diag_count();
    diag_set("zone_create(%s): %d bytes", "anon", 42);
    CHECK(strcmp(diag_last(), "zone_create(anon): 42 bytes") == 0 && diag_count() == n + 1,
          "diag_set: \"%s\", count %lu", diag_last(), diag_count() - n);
    diag_clear();
    CHECK(diag_last()[0] == '\0' && diag_count() == n + 1, "diag_clear counted");

    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    diag_set("%s", big);
    CHECK(strlen(diag_last()) == DIAG_MAX - 1 && strncmp(diag_last(), big, DIAG_MAX - 1) == 0,
          "a long message kept %zu bytes", strlen(diag_last()));
    diag_set("inner %d", 1);
    diag_set("outer: %s", diag_last());
    diag_set("outermost: %s (%d)", diag_last(), 2);
    CHECK(strcmp(diag_last(), "outermost: outer: inner 1 (2)") == 0,
          "a message quoting the last one: \"%s\"", diag_last());

    f = tmpfile();
    {
        struct diag_checker c = { f, "slab_check" };

        CHECK(diag_report(&c, "page %d: %s", 7, "bad") == -1
              && strcmp(diag_last(), "slab_check(): page 7: bad") == 0,
              "diag_report: \"%s\"", diag_last());
        n = diag_count();
        diag_note(&c, "orphan", "page %d", 9);
        CHECK(strcmp(diag_last(), "slab_check(): page 7: bad") == 0 && diag_count() == n,
              "diag_note changed the last message: \"%s\"", diag_last());
    }
    if (f != NULL) {
        rewind(f);
        CHECK(fgets(buf, sizeof(buf), f) != NULL
              && strcmp(buf, "slab_check(): page 7: bad\n") == 0,
              "diag_report wrote \"%s\"", buf);
        CHECK(fgets(buf, sizeof(buf), f) != NULL
              && strcmp(buf, "slab_check(): orphan: page 9\n") == 0
              && fgetc(f) == EOF, "diag_note wrote \"%s\"", buf);
        fclose(f);
    }
    n = diag_count();
    {
        struct diag_checker c = { NULL, "tlsf_check" };

        CHECK(diag_report(&c, "no report") == -1
              && strcmp(diag_last(), "tlsf_check(): no report") == 0 && diag_count() == n + 1,
              "diag_report(NULL): \"%s\"", diag_last());
        diag_note(&c, "note", "to nowhere");
        CHECK(diag_count() == n + 1, "diag_note without a report counted a message");
    }

    diag_set("from main");
    n = diag_count();
    CHECK(pthread_create(&t, NULL, thread_diag, big) == 0 && pthread_join(t, &ret) == 0
          && ret == big, "the thread's message");
    CHECK(strcmp(diag_last(), "from main") == 0 && diag_count() == n,
          "a thread's message reached main: \"%s\"", diag_last());
}

static void
test_proc(void)
{
    pid_t pid;
    int   st;

    CHECK(proc_index() == 0 && proc_pid() == getpid(), "master: index %d", proc_index());
    CHECK(proc_set_index(-1) == -1 && proc_set_index(PROC_INDEX_SHARED) == -1
          && proc_set_index(PROC_MAX) == -1 && proc_index() == 0,
          "out-of-range indexes: index now %d", proc_index());
    CHECK(proc_set_index(PROC_INDEX_SHARED - 1) == 0 && proc_index() == PROC_INDEX_SHARED - 1,
          "the last private slot");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        _exit(proc_pid() != getpid() ? 1 : proc_index() != PROC_INDEX_SHARED ? 2
              : proc_set_index(3) != 0 || proc_index() != 3 ? 3 : 0);
    }
    st = wait_child(pid);
    CHECK(st == 0, "child: status %d (1 pid, 2 not the shared slot, 3 set_index)", st);
    CHECK(proc_set_index(0) == 0 && proc_index() == 0, "back to 0");
}

/* This program again, with "fresh": its first call is proc_index(). */
static void
test_proc_fresh(char **argv)
{
    pid_t pid;
    int   st;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *args[] = { argv[0], "fresh", NULL };
        execv("/proc/self/exe", args);
        _exit(100);
    }
    st = wait_child(pid);
    CHECK(st == 0, "fresh process: status %d (1 index, 2 pid, 100 exec)", st);
}

static double (*lib_cos)(double);
static double (*lib_sin)(double);
static void   *lib_none;

static void
test_dynlib(void)
{
    static const struct dynlib_sym missing_fn[] = {
        { "cos", (void **) &lib_cos },
        { "shmbench_no_such_function", &lib_none },
        { NULL, NULL }
    };
    static const struct dynlib_sym trig[] = {
        { "cos", (void **) &lib_cos },
        { "sin", (void **) &lib_sin },
        { NULL, NULL }
    };
    static struct dynlib none = { .soname = "libshmbench-no-such.so.1", .syms = trig };
    static struct dynlib lacking = { .soname = "libm.so.6", .syms = missing_fn };
    static struct dynlib libm = { .soname = "libm.so.6", .syms = trig };
    const char *why;
    char        want[320];
    pid_t       pid;
    int         st;

    why = dynlib_load(&none);
    CHECK(why != NULL && strcmp(why, "libshmbench-no-such.so.1 could not be loaded: "
                                "libshmbench-no-such.so.1: cannot open shared object file: "
                                "No such file or directory") == 0,
          "a missing library: %s", why ? why : "(loaded)");
    CHECK(lib_cos == NULL && lib_sin == NULL && none.state == -1 && none.handle == NULL,
          "a missing library set a pointer");
    CHECK(dynlib_load(&none) == why, "a second load of a missing library");

    why = dynlib_load(&lacking);
    snprintf(want, sizeof(want), "libm.so.6 has no function shmbench_no_such_function (a "
             "different version than the one this allocator was written for?)");
    CHECK(why != NULL && strcmp(why, want) == 0, "a missing function: %s",
          why ? why : "(loaded)");
    CHECK(lib_cos == NULL && lib_none == NULL, "a library lacking a function set a pointer");
    CHECK(dynlib_load(&lacking) == why && lacking.state == -1, "a second load");

    CHECK(dynlib_load(&libm) == NULL && libm.state == 1, "libm: %s", libm.why);
    CHECK(lib_cos != NULL && lib_sin != NULL && lib_cos(0.0) == 1.0 && lib_sin(0.0) == 0.0,
          "libm's functions");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        _exit(dynlib_load(&libm) == NULL && dynlib_load(&none) != NULL ? 0 : 1);
    }
    st = wait_child(pid);
    CHECK(st == 0, "a child's answers differ from its parent's: %d", st);
    CHECK(strcmp(DYNLIB_STATIC_TLS_TUNABLE, "glibc.rtld.optional_static_tls=16384") == 0,
          "tunable");
}

static void
test_clock(void)
{
    double   rate = clock_ticks_per_ns(), ms;
    uint64_t t0;

    CHECK(rate > 0 && isfinite(rate) && clock_ticks_per_ns() == rate,
          "ticks per ns %f, then %f", rate, clock_ticks_per_ns());
    t0 = clock_ticks();
    usleep(20000);
    ms = clock_ticks_to_ns(clock_ticks() - t0) / 1e6;
    CHECK(ms >= 15 && ms < 1000, "20 ms of sleep measured as %.1f ms", ms);
    printf("clock: %.3f ticks per ns; 20 ms of sleep measured as %.1f ms\n", rate, ms);
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "fresh") == 0) {
        return proc_index() != 0 ? 1 : proc_pid() != getpid() ? 2 : 0;
    }
    alarm(60);
    proc_init();
    test_diag();
    test_proc();
    test_proc_fresh(argv);
    test_dynlib();
    test_clock();
    return test_summary("test_substrate");
}
