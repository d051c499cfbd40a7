/*
 * testutil: the few macros every test program uses.
 *
 * CHECK(cond, fmt, ...) counts a pass or prints the failure with its line;
 * test_summary() prints "NAME: N passed, M failed" and gives the exit code;
 * wait_child() reaps a forked child and folds its status into one number;
 * diag_is() compares the last diag message with one built as the code
 * builds it.
 * Tests that fork count failures in the child and report them through the
 * exit status, which the parent CHECKs.
 */
#ifndef SHMBENCH_TESTUTIL_H
#define SHMBENCH_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "substrate/diag.h"

static unsigned test_passed, test_failed;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (cond) {                                                         \
            test_passed++;                                                  \
        } else {                                                            \
            test_failed++;                                                  \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

/* Reap pid: its exit status, 128 + signal if killed, -1 if not our child. */
static inline int
wait_child(pid_t pid)
{
    int st;

    if (waitpid(pid, &st, 0) != pid) {
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Is diag_last() the message fmt... builds?  If not, say both. */
static inline int diag_is(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline int
diag_is(const char *fmt, ...)
{
    char    want[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    if (strcmp(diag_last(), want) != 0) {
        fprintf(stderr, "diag: \"%s\"\n  expected \"%s\"\n", diag_last(), want);
        return 0;
    }
    return 1;
}

/* Print the closing line ctest output readers look for; exit status. */
static inline int
test_summary(const char *name)
{
    printf("%s: %u passed, %u failed\n", name, test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
