/*
 * testutil: the few macros every test program uses.
 *
 * CHECK(cond, fmt, ...) counts a pass or prints the failure with its line;
 * test_summary() prints "NAME: N passed, M failed" and gives the exit code;
 * wait_child() reaps a forked child and folds its status into one number.
 * Tests that fork count failures in the child and report them through the
 * exit status, which the parent CHECKs.
 */
#ifndef SHMBENCH_TESTUTIL_H
#define SHMBENCH_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

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

/* Print the closing line ctest output readers look for; exit status. */
static inline int
test_summary(const char *name)
{
    printf("%s: %u passed, %u failed\n", name, test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
