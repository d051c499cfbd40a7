/*
 * coverage_exit: in the coverage build (SHMBENCH_COVERAGE), _exit() that
 * writes the gcov counts first.
 *
 * The tests' and the benchmark's forked workers end by _exit(), which skips
 * the exit handlers, among them the one that writes this process's counts
 * into the .gcda files: whatever only a child ran (the lock's sleep path, a
 * worker's churn) would count as never run.  The coverage build links every
 * program with `ld --wrap=_exit`, which sends each call of _exit() here;
 * __gcov_dump() merges the counts into the files (under a file lock, so
 * processes ending together do not lose each other's), then the real
 * _exit() ends the process.  A process killed by a signal still writes
 * nothing, as it should: it never ran to its end.
 */
#include <stdnoreturn.h>

void __gcov_dump(void);
noreturn void __real__exit(int status);
noreturn void __wrap__exit(int status);

noreturn void
__wrap__exit(int status)
{
    __gcov_dump();
    __real__exit(status);
}
