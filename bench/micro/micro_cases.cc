/*
 * micro_cases: the three benchmark families of the micro suite, per
 * allocator (bench/micro/micro_cases.h).
 *
 * Each benchmark function makes its own zone before its timed loop and
 * destroys it after, so no case sees another's leftovers and the loop
 * times only the operations: google-benchmark calls the function several
 * times while it settles the iteration count, and each call gets a fresh
 * zone.  After the loop the zone is checked where the allocator can check
 * itself, so an allocator that a case broke shows as an error, not as a
 * fast figure.  Rates are google-benchmark counters: items_per_second
 * (pairs, blocks or lock round trips) and ops, where an allocation and a
 * free each count one, as `shmbench bench` counts them.
 */
#include "micro_cases.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

extern "C" {
#include "substrate/diag.h"
}

#include "micro_shim.h"

namespace {

/* Lock round trips per call into the C loop. */
const benchmark::IterationCount lock_batch = 1000;

/* The request sizes: nginx's slots, then one and two pages. */
std::vector<int64_t>
case_sizes()
{
    std::vector<int64_t> s;

    for (int64_t b = 8; b <= 2048; b *= 2) {
        s.push_back(b);
    }
    s.push_back((int64_t) micro_page_size());
    s.push_back(2 * (int64_t) micro_page_size());
    return s;
}

std::string
why(const char *what)
{
    return std::string(what) + ": " + diag_last();
}

/* The case's zone, or NULL after skipping the case with the reason. */
struct micro_zone *
case_open(benchmark::State &state, const struct micro_alloc *a, size_t need)
{
    struct micro_zone *mz;

    if (a->unavailable) {
        state.SkipWithError(("not available here: " + std::string(a->unavailable)).c_str());
        return NULL;
    }
    mz = micro_zone_open(a, need > MICRO_ZONE_DEFAULT ? need : MICRO_ZONE_DEFAULT);
    if (mz == NULL) {
        state.SkipWithError(why("zone").c_str());
    }
    return mz;
}

/* Whether one block of `size` can be had (skipping the case if not): a
 * size above what the allocator gives is a cap, not a failure. */
bool
case_can_alloc(benchmark::State &state, struct micro_zone *mz, size_t size)
{
    void *p = mz->alloc(mz->zone, size);
    char  msg[96];

    if (p == NULL) {
        snprintf(msg, sizeof(msg), "cannot allocate %zu bytes in a %zu MiB zone", size,
                 mz->size >> 20);
        state.SkipWithError(why(msg).c_str());
        return false;
    }
    if (mz->free(mz->zone, p) != 0) {
        state.SkipWithError(why("free").c_str());
        return false;
    }
    return true;
}

/* After the loop: check the zone (a broken allocator is an error), close it. */
void
case_close(benchmark::State &state, struct micro_zone *mz)
{
    if (!state.error_occurred() && micro_zone_check(mz) != 0) {
        state.SkipWithError(why("check after the loop").c_str());
    }
    micro_zone_close(mz);
}

void
set_rates(benchmark::State &state, int64_t items, int64_t ops)
{
    state.SetItemsProcessed(items);
    state.counters["ops"] = benchmark::Counter((double) ops, benchmark::Counter::kIsRate);
}

void
bm_alloc_free(benchmark::State &state, const struct micro_alloc *a)
{
    size_t             size = (size_t) state.range(0);
    struct micro_zone *mz = case_open(state, a, 0);

    if (mz == NULL) {
        return;
    }
    if (case_can_alloc(state, mz, size)) {
        for (auto _ : state) {
            /* const, so that DoNotOptimize takes its read-only form: with
             * the read-write one ("+m,r" in 1.7.1's header for gcc), gcc
             * 12's AddressSanitizer build got p back changed (NULL, or an
             * ASan stack magic word that free() then crashed on). */
            void *const p = mz->alloc(mz->zone, size);

            benchmark::DoNotOptimize(p);
            if (p == NULL || mz->free(mz->zone, p) != 0) {
                state.SkipWithError(why(p ? "free" : "alloc").c_str());
                break;
            }
        }
    }
    set_rates(state, state.iterations(), 2 * state.iterations());
    case_close(state, mz);
}

/* n blocks, then all freed, in the order they were allocated; a failed
 * allocation frees what it had and ends the case. */
void
bm_batch(benchmark::State &state, const struct micro_alloc *a)
{
    size_t             size = (size_t) state.range(0), n = (size_t) state.range(1), i, j;
    struct micro_zone *mz = case_open(state, a, 2 * n * size);
    std::vector<void *> p(n);

    if (mz == NULL) {
        return;
    }
    if (case_can_alloc(state, mz, size)) {
        for (auto _ : state) {
            for (i = 0; i < n; i++) {
                p[i] = mz->alloc(mz->zone, size);
                if (p[i] == NULL) {
                    break;
                }
            }
            benchmark::DoNotOptimize(p.data());
            for (j = 0; j < i; j++) {
                if (mz->free(mz->zone, p[j]) != 0) {
                    break;
                }
            }
            if (i < n || j < i) {
                state.SkipWithError(why(i < n ? "alloc in the batch" : "free").c_str());
                break;
            }
        }
    }
    set_rates(state, state.iterations() * (int64_t) n, 2 * state.iterations() * (int64_t) n);
    case_close(state, mz);
}

void
bm_lock(benchmark::State &state, const struct micro_alloc *a)
{
    struct micro_zone *mz;

    if (!a->unavailable && !a->in_shm) {
        state.SkipWithError("private heap: no zone, so no zone lock");
        return;
    }
    if (!a->unavailable && !a->has_lock) {
        state.SkipWithError("no zone lock the harness can take (ops->lock is NULL)");
        return;
    }
    mz = case_open(state, a, 0);
    if (mz == NULL) {
        return;
    }
    while (state.KeepRunningBatch(lock_batch)) {
        if (micro_lock_pairs(mz, (uint64_t) lock_batch) != 0) {
            state.SkipWithError(why("lock").c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    case_close(state, mz);
}

}  // namespace

void
micro_register(void)
{
    const struct micro_alloc *all, *a;
    std::vector<int64_t>      sizes = case_sizes();
    benchmark::internal::Benchmark *af, *b;
    size_t                    n, i;

    all = micro_allocs(&n);
    for (i = 0; i < n; i++) {
        a = &all[i];
        af = benchmark::RegisterBenchmark(("alloc_free/" + std::string(a->name)).c_str(),
                                          bm_alloc_free, a);
        b = benchmark::RegisterBenchmark(("batch/" + std::string(a->name)).c_str(),
                                         bm_batch, a);
        for (int64_t s : sizes) {
            af->Arg(s);
            b->Args({ s, MICRO_BATCH });
        }
        benchmark::RegisterBenchmark(("lock/" + std::string(a->name)).c_str(), bm_lock, a);
    }
}
