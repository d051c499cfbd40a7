#!/bin/sh
# End-to-end tests of the nginx-feature workloads (lua_dict, limit_req,
# ssl_cache) through `shmbench run`: each runs briefly with 2 workers on
# slab, tlsf and lfslab (lock-free, its frees cross processes) in a 1 MiB
# zone (so that the modules' evictions run):
# exit 0, the zone consistent after the run (the master's check), the run
# not failed, the all row's counts against each other (allocations -
# frees = blocks in transit: the module's index is shared, no worker holds
# its blocks), each worker's module counters in counters.csv with the all
# row their sum and evictions among them (the summary line says them too),
# and lfslab's own counters there; then the cap refusals, exit 1 before anything runs: two
# workers on jemalloc-shm (no cross-process free: a worker frees what
# another stored) and any of them on a private heap (glibc); and a worker
# killed while it holds the zone lock.
#
# Usage: run_wl_nginx.sh SHMBENCH
set -u

. "$(dirname "$0")/run_lib.sh"
run_lib_init "$1" wl-nginx

for alloc in slab tlsf lfslab; do
    for wl in lua_dict limit_req:keys=1000000 ssl_cache; do
        name=${wl%%:*}
        d=$T/$alloc-$name
        "$B" run --alloc "$alloc" --workload "$wl" --procs 2 --seconds 0.3 --zone-size 1m \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$alloc $wl: exit $?: $(cat "$T/err")"
        grep -q '"zone_state": "consistent (check passed)"' "$d/meta.json"
        ok $? "$alloc $wl: zone not consistent"
        grep -q '"failed": false' "$d/meta.json"; ok $? "$alloc $wl: run marked failed"
        a=$(col "$d/runs.csv" all allocs)
        f=$(col "$d/runs.csv" all frees)
        t=$(col "$d/runs.csv" all in_transit)
        l=$(col "$d/runs.csv" all live_blocks)
        [ -n "$a" ] && [ $((a - f)) -eq "$t" ] && [ "$l" -eq 0 ]
        ok $? "$alloc $wl: allocs $a - frees $f != in transit $t (live $l)"
        [ -z "$(col "$d/runs.csv" all overhead_at_peak)" ] && [ -z "$(col "$d/runs.csv" all internal_frag)" ] \
            && [ -n "$(col "$d/runs.csv" all footprint_bytes)" ]
        ok $? "$alloc $wl: live-derived figures of a shared index reported, or no footprint"
        e0=$(ctr "$d" 0 workload evictions)
        e1=$(ctr "$d" 1 workload evictions)
        ea=$(ctr "$d" all workload evictions)
        [ -n "$e0" ] && [ -n "$e1" ] && [ "$ea" -eq $((e0 + e1)) ] && [ "$ea" -gt 0 ]
        ok $? "$alloc $wl: evictions $e0 + $e1 != $ea, or none in 1 MiB: $(cat "$d/counters.csv")"
        n0=$(ctr "$d" 0 workload nomem)
        [ -n "$n0" ]; ok $? "$alloc $wl: no nomem counter"
        grep -q "^$name: .* evictions=$ea\( \|$\)" "$T/out"
        ok $? "$alloc $wl: the summary does not say the evictions: $(cat "$T/out")"
        if [ "$alloc" = lfslab ]; then
            [ -n "$(ctr "$d" all allocator remote)" ] && [ -n "$(ctr "$d" 1 allocator allocs)" ]
            ok $? "$alloc $wl: no allocator counters: $(cat "$d/counters.csv")"
        else
            ! grep -q ',allocator,' "$d/counters.csv"
            ok $? "$alloc $wl: allocator counters of an allocator without them"
        fi
    done
done

# A worker killed holding the zone lock (the dict's lock on slab): the run
# ends, failed, in bounded time, the lock force-unlocked.
for wl in lua_dict limit_req ssl_cache; do
    SHMBENCH_TEST_KILL=0:lock timeout 20 "$B" run --alloc slab --workload $wl --procs 2 \
        --seconds 30 --zone-size 1m --out "$T/kill-$wl" >"$T/out" 2>"$T/err"
    ok $(($? != 1)) "$wl: a death holding the lock did not end the run with 1"
    grep -q "^shmbench: run: slab: worker 0 (pid [0-9]*) held the zone lock: force-unlocked$" \
        "$T/err"
    ok $? "$wl: the lock was not force-unlocked: $(cat "$T/err")"
    grep -q '"failed": true' "$T/kill-$wl/meta.json"; ok $? "$wl: the run is not marked failed"
done

if "$B" list | grep -q '^jemalloc-shm '; then
    for wl in lua_dict limit_req ssl_cache; do
        "$B" run --alloc jemalloc-shm --workload $wl --procs 2 --out "$T/refused" \
            >"$T/out" 2>"$T/err"
        rc=$?
        [ $rc -eq 1 ] && [ "$(head -n 1 "$T/err")" = "shmbench: run: $wl frees blocks in another process than the one that allocated them, and jemalloc-shm has no cross-process free (see 'shmbench list')" ]
        ok $? "$wl on jemalloc-shm: status $rc: $(cat "$T/err")"
        [ ! -e "$T/refused" ]; ok $? "a refused $wl made its result directory"
    done
else
    echo "skip: jemalloc-shm is not built in"
fi
for wl in lua_dict limit_req ssl_cache; do
    "$B" run --alloc glibc --workload $wl --out "$T/refused" >"$T/out" 2>"$T/err"
    ok $(($? != 1)) "$wl on glibc: not refused: $(cat "$T/err")"
    [ ! -e "$T/refused" ]; ok $? "a refused $wl made its result directory"
done

echo "run_wl_nginx: $checks checks, $fails failed"
[ "$fails" = 0 ]
