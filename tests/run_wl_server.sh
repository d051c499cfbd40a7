#!/bin/sh
# End-to-end tests of the server workloads (larson, threadtest, shbench,
# xmalloc) through `shmbench run`:
#
#   each workload, briefly, on slab and tlsf (and lfslab for the two that
#   free across processes), by an op budget and by a deadline: exit 0, the
#   zone consistent afterwards (the master's check, in meta.json), the run
#   not marked failed, and the merged counters against independent counts:
#   allocations - frees = blocks the workers' own tables hold + blocks the
#   workload's shared area holds in transit; live blocks and bytes = held
#   ones.  larson and xmalloc must free across processes (remote_frees >
#   0); xmalloc with 3 workers runs a pair and a worker on its own; the
#   cross-process workloads are refused on jemalloc-shm (exit 1, before
#   anything runs), a bad shbench range with exit 2.  lfslab's own counters
#   (counters.csv) against the driver's: each worker's small and large
#   allocations and frees as lfslab counted them in that worker's heap
#   record equal the worker's runs.csv row, on larson (cross-process).
#
# Usage: run_wl_server.sh SHMBENCH.
set -u

. "$(dirname "$0")/run_lib.sh"
run_lib_init "$1" wl-server

# runs ALLOC WORKLOAD PROCS LIMIT...: one run, checked; sets D.
runs() {
    a=$1
    w=$2
    p=$3
    shift 3
    D=$T/$a-$(echo "$w" | tr ':,=' '---')-$p-$1
    timeout 60 "$B" run --alloc "$a" --workload "$w" --procs "$p" "$@" --out "$D" \
        >"$T/out" 2>"$T/err"
    ok $? "$a $w --procs $p $*: $(cat "$T/err")"
    [ -s "$D/runs.csv" ] || return 0
    na=$(col "$D/runs.csv" all allocs)
    nf=$(col "$D/runs.csv" all frees)
    nh=$(col "$D/runs.csv" all held_blocks)
    nt=$(col "$D/runs.csv" all in_transit)
    [ "$na" -gt 0 ] && [ $((na - nf)) = $((nh + nt)) ]
    ok $? "$D: allocs $na - frees $nf != held $nh + in transit $nt"
    [ "$(col "$D/runs.csv" all live_blocks)" = "$nh" ]; ok $? "$D: live blocks != held blocks"
    [ "$(col "$D/runs.csv" all live_bytes)" = "$(col "$D/runs.csv" all held_bytes)" ]
    ok $? "$D: live bytes != held bytes"
    grep -q '"zone_state": "consistent (check passed)"' "$D/meta.json"
    ok $? "$D: zone not consistent"
    grep -q '"failed": false' "$D/meta.json"; ok $? "$D: run marked failed"
}

for a in slab tlsf lfslab; do
    runs $a larson:blocks=200,rounds=5 2 --ops 40000
    [ "$(col "$D/runs.csv" all remote_frees)" -gt 0 ]; ok $? "$a larson: no remote frees"
    [ "$(col "$D/runs.csv" all handed_off)" -gt 0 ]; ok $? "$a larson: nothing handed off"
    runs $a larson:blocks=100,rounds=2 3 --seconds 0.3
    runs $a xmalloc:batch=32,depth=4 3 --ops 40000
    [ "$(col "$D/runs.csv" all remote_frees)" -gt 0 ]; ok $? "$a xmalloc: no remote frees"
    runs $a xmalloc 2 --seconds 0.3
    [ "$(col "$D/runs.csv" all remote_frees)" = "$(col "$D/runs.csv" all frees)" ]
    ok $? "$a xmalloc: a pair's frees are not all remote"
    [ "$a" = lfslab ] && continue
    runs $a threadtest:objects=2000 2 --ops 40000
    runs $a threadtest:objects=1000,iterations=3 2 --seconds 5
    [ "$(col "$D/runs.csv" all allocs)" = 3000 ]; ok $? "$a threadtest: not 3 iterations of 500 each"
    [ "$(col "$D/runs.csv" all held_blocks)" = 0 ]; ok $? "$a threadtest: blocks left after the last"
    runs $a shbench:calls=300 2 --ops 40000
    runs $a shbench:min=16,max=4k 2 --seconds 0.3
done

if "$B" list | grep -q '^jemalloc-shm '; then
    for w in larson xmalloc; do
        "$B" run --alloc jemalloc-shm --workload $w --procs 2 --out "$T/refused" \
            >"$T/out" 2>"$T/err"
        [ $? = 1 ]; ok $? "$w on jemalloc-shm: not refused with 1"
        [ "$(head -n 1 "$T/err")" = "shmbench: run: $w frees blocks in another process than the one that allocated them, and jemalloc-shm has no cross-process free (see 'shmbench list')" ]
        ok $? "$w on jemalloc-shm: the refusal says: $(cat "$T/err")"
        [ ! -e "$T/refused" ]; ok $? "a refused run made its result directory"
    done
else
    echo "skip: jemalloc-shm is not built in"
fi
"$B" run --alloc slab --workload shbench:min=10,max=5 --out "$T/refused" >"$T/out" 2>"$T/err"
[ $? = 2 ]; ok $? "shbench min > max: not a usage error"
[ "$(head -n 1 "$T/err")" = "shmbench: shbench: min=10 is above max=5 (see 'shmbench run --help')" ]
ok $? "shbench min > max says: $(cat "$T/err")"

# lfslab's per-process counters, through its ops table, against the driver's.
runs lfslab larson 2 --ops 20000
for w in 0 1 all; do
    for c in allocs frees; do
        small=$(ctr "$D" $w allocator $c)
        large=$(ctr "$D" $w allocator large_$c)
        [ -n "$small" ] && [ $((small + large)) = "$(col "$D/runs.csv" $w $c)" ]
        ok $? "lfslab larson worker $w: lfslab counted $small + $large $c, the driver $(col "$D/runs.csv" $w $c)"
    done
done

echo "wl_server: $checks checks, $fails failed"
[ "$fails" = 0 ]
