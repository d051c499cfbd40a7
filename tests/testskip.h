/*
 * testskip: the exit status of a test that could not run here.
 *
 * A test program that finds what it needs missing (a library that does not
 * load, no huge pages reserved, an allocator not built) and so ran nothing
 * at all exits with TEST_SKIPPED after saying why; tests/CMakeLists.txt
 * registers every test with SKIP_RETURN_CODE 77, so ctest reports it as
 * skipped, not passed.  A program that ran some of its cases and left others
 * out passes (or fails) on what it ran and prints a "skip" line for each
 * case left out.
 */
#ifndef SHMBENCH_TESTSKIP_H
#define SHMBENCH_TESTSKIP_H

#define TEST_SKIPPED 77

#endif
