/*
 * testutil: the few macros every test program uses.
 *
 * CHECK(cond, fmt, ...) counts a pass or prints the failure with its line;
 * test_summary() prints "NAME: N passed, M failed" and gives the exit code.
 * Tests that fork count failures in the child and report them through the
 * exit status, which the parent CHECKs.
 */
#ifndef SHMBENCH_TESTUTIL_H
#define SHMBENCH_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Print the closing line ctest output readers look for; exit status. */
static inline int
test_summary(const char *name)
{
    printf("%s: %u passed, %u failed\n", name, test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
