#!/bin/sh
# End-to-end tests of the stress workloads (mstress, phase) through
# `shmbench run`, with 2 forked workers:
#
#   - mstress on slab, tlsf and lfslab, phase on slab and tlsf, by ops,
#     mstress with migrate=99 (almost every step a swap, no op) and phase
#     on slab by time (the switch at half of 1 s): exit 0, the
#     run not failed, the zone consistent (the master checks it), and the
#     merged counters against the independent counts: allocations - frees
#     = blocks the workers' tables hold + blocks left in the transfer
#     array, live = held; mstress's frees include remote ones;
#   - the refused cap: mstress on jemalloc-shm (no cross-process free)
#     exits 1 with the reason, before anything runs, and runs with
#     migrate=0; refused parameters exit 2 with the workload's message;
#   - `list --workloads` lists both with their parameters.
#
# Usage: run_wl_stress.sh SHMBENCH.  ok and col come from run_lib.sh;
# counts_ok reads runs.csv and meta.json as tests/run_driver.sh's helper of
# the same name does (that script runs its parts when sourced).
set -u

. "$(dirname "$0")/run_lib.sh"
run_lib_init "$1" wl-stress-test

# counts_ok DIR [ZONE_STATE]: the run succeeded, its zone's state is
# ZONE_STATE (consistent by default), and its merged counters agree with
# the independent counts.
counts_ok() {
    d=$1
    zs=${2:-consistent (check passed)}
    na=$(col "$d/runs.csv" all allocs)
    nf=$(col "$d/runs.csv" all frees)
    nh=$(col "$d/runs.csv" all held_blocks)
    nt=$(col "$d/runs.csv" all in_transit)
    [ -n "$na" ] && [ $((na - nf)) = $((nh + ${nt:-0})) ]
    ok $? "$d: allocs $na - frees $nf != held $nh + in transit $nt"
    [ "$(col "$d/runs.csv" all live_blocks)" = "$nh" ]; ok $? "$d: live blocks != held blocks"
    [ "$(col "$d/runs.csv" all live_bytes)" = "$(col "$d/runs.csv" all held_bytes)" ]
    ok $? "$d: live bytes != held bytes"
    grep -q "\"zone_state\": \"$zs\"" "$d/meta.json"; ok $? "$d: zone not '$zs'"
    grep -q '"failed": false' "$d/meta.json"; ok $? "$d: run marked failed"
}

# run_ok NAME ARGS...: shmbench run ARGS into $T/NAME, exit 0, counts_ok
# (with $ZONE_STATE if set).
run_ok() {
    n=$1
    shift
    "$B" run "$@" --procs 2 --out "$T/$n" >"$T/$n.out" 2>"$T/$n.err"
    ok $? "run $*: exit $?: $(cat "$T/$n.err")"
    counts_ok "$T/$n" "${ZONE_STATE:-}"
}

for a in slab tlsf lfslab; do
    run_ok mstress-$a --alloc $a --workload mstress --ops 20000
    [ "$(col "$T/mstress-$a/runs.csv" all remote_frees)" -gt 0 ]
    ok $? "mstress on $a: no remote frees"
    [ "$(col "$T/mstress-$a/runs.csv" all in_transit)" -gt 0 ]
    ok $? "mstress on $a: nothing in the transfer array"
done
# nearly every step a swap, which is no op: the run still ends on time
run_ok mstress-swaps --alloc tlsf --workload mstress:migrate=99 --seconds 0.5
for a in slab tlsf; do
    run_ok phase-$a --alloc $a --workload phase:live=200,after=uniform:500:3000 --ops 20000
done
run_ok phase-time --alloc slab --workload phase --seconds 1 --sample-ms 50
n=$(awk 'END { print NR - 1 }' "$T/phase-time/timeseries.csv")
[ "$n" -ge 5 ]; ok $? "phase by time: $n timeseries rows"

"$B" run --alloc jemalloc-shm --workload mstress --procs 2 --ops 1000 --out "$T/je" \
    >/dev/null 2>"$T/je.err"
rc=$?
# the first line: under LeakSanitizer a report of run's own may follow
[ $rc = 1 ] && [ "$(head -n 1 "$T/je.err")" = "shmbench: run: mstress frees blocks in another process than the one that allocated them, and jemalloc-shm has no cross-process free (see 'shmbench list')" ]
ok $? "mstress on jemalloc-shm: exit $rc: $(cat "$T/je.err")"
[ ! -e "$T/je" ]; ok $? "a refused run made its directory"
ZONE_STATE="not checked: jemalloc-shm cannot check itself"
run_ok je-local --alloc jemalloc-shm --workload mstress:migrate=0 --ops 2000
ZONE_STATE=

"$B" run --alloc slab --workload mstress:sizes=pow2:8:1k --ops 10 --out "$T/bad" \
    >/dev/null 2>"$T/bad.err"
rc=$?
[ $rc = 2 ] && [ "$(head -n 1 "$T/bad.err")" = "shmbench: mstress: sizes draws blocks below 16 bytes, the block's header (see 'shmbench run --help')" ]
ok $? "mstress sizes=pow2:8:1k: exit $rc: $(cat "$T/bad.err")"
"$B" run --alloc slab --workload phase:keep=100 --ops 10 --out "$T/bad" >/dev/null 2>&1
[ $? = 2 ]; ok $? "phase keep=100 accepted"

"$B" list --workloads >"$T/list" 2>&1; ok $? "list --workloads failed"
for w in mstress phase; do
    grep -q "^  $w: " "$T/list"; ok $? "list --workloads does not list $w"
done
for p in live=500 transfer=1000 migrate=25 sizes=pow2:16:1k large_in=100 huge_in=10000 \
         before=fixed:100 after=fixed:2000 at=50 keep=5; do
    grep -q " $p " "$T/list"; ok $? "list --workloads does not give $p"
done

echo "run_wl_stress: $checks checks, $fails failed"
[ "$fails" = 0 ]
