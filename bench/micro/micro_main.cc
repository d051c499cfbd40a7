/*
 * shmbench-micro: google-benchmark's main for the micro suite
 * (docs/micro.md).
 *
 * It restarts itself once, as `shmbench` does, with the static-TLS tunable
 * that Debian's jemalloc needs when it is dlopen'ed (substrate/dynlib.h),
 * registers every allocator's families (micro_cases.h), and leaves the rest
 * to google-benchmark: its flags (--benchmark_filter=..., --benchmark_min_time=...,
 * --benchmark_format=..., --benchmark_out=...) and its output.  `shmbench
 * micro` runs it with the JSON output kept beside a meta.json.
 */
#include <benchmark/benchmark.h>

#include <cstdio>

extern "C" {
#include "substrate/diag.h"
#include "substrate/dynlib.h"
}

#include "micro_cases.h"

int
main(int argc, char **argv)
{
    if (dynlib_reexec_with_static_tls(argv) != 0) {
        fprintf(stderr, "shmbench-micro: warning: %s; jemalloc will be unavailable\n",
                diag_last());
    }
    micro_register();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 2;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
