#!/bin/sh
# End-to-end tests of the trace workload through `shmbench run`, on a
# conformance vector (tests/conformance/10-churn-small.trace) and a small
# trace written here:
#
#   - passes=1 on slab, tlsf and glibc (a private heap), 1 and 2 workers,
#     mode each and split: exit 0, the run not failed, the zone's state,
#     and runs.csv against counts taken from the trace itself: allocations
#     tried (allocs + fails) = the trace's `a` lines times the workers
#     (each) or once (split), ops = its lines (no allocation fails in the
#     default zone), the blocks held at the end = what the trace leaves
#     live, allocs - frees = held = live, and meta.json's parameters;
#   - by --ops (every worker tries exactly that many ops, over several
#     passes, across the frees of what a pass left live) and by --seconds,
#     each and split, with 2 workers;
#   - an allocation that fails (larger than the zone) is a fail and its `f`
#     is skipped, pass after pass;
#   - the trace from standard input (`trace:-`), and from a path with a
#     quote and a backslash, which meta.json records escaped;
#   - refusals: a malformed trace (exit 1, the parser's FILE:LINE message,
#     no result directory), a missing file (exit 1), a trace with no
#     allocation (exit 1), no file, an empty file=, a bad mode word, a
#     file= longer than 4095 bytes, an unknown parameter (exit 2);
#   - `list --workloads` lists trace with its parameters.
#
# Usage: run_wl_trace.sh SHMBENCH.  ok and col come from run_lib.sh.
set -u

. "$(dirname "$0")/run_lib.sh"
run_lib_init "$1" wl-trace-test
TR=$(cd "$(dirname "$0")" && pwd)/conformance/10-churn-small.trace
NA=$(grep -c '^a ' "$TR")
NF=$(grep -c '^f ' "$TR")

# state ALLOC: the zone_state meta.json gives a run on ALLOC.
state() {
    case $1 in
    glibc) echo "not checked: glibc cannot check itself" ;;
    *) echo "consistent (check passed)" ;;
    esac
}

# run_ok NAME ALLOC ARGS...: shmbench run --alloc ALLOC ARGS into $T/NAME:
# exit 0, the run not failed, the zone's state, and the counters agreeing
# with the workers' own tables.
run_ok() {
    n=$1
    a=$2
    shift 2
    "$B" run --alloc "$a" "$@" --out "$T/$n" >"$T/$n.out" 2>"$T/$n.err"
    ok $? "$n: run --alloc $a $*: exit $?: $(cat "$T/$n.err")"
    d=$T/$n
    na=$(col "$d/runs.csv" all allocs)
    nf=$(col "$d/runs.csv" all frees)
    nh=$(col "$d/runs.csv" all held_blocks)
    [ -n "$na" ] && [ $((na - nf)) = "$nh" ]; ok $? "$n: allocs $na - frees $nf != held $nh"
    [ "$(col "$d/runs.csv" all live_blocks)" = "$nh" ]; ok $? "$n: live blocks != held"
    [ "$(col "$d/runs.csv" all live_bytes)" = "$(col "$d/runs.csv" all held_bytes)" ]
    ok $? "$n: live bytes != held bytes"
    grep -q "\"zone_state\": \"$(state "$a")\"" "$d/meta.json"; ok $? "$n: zone state"
    grep -q '"failed": false' "$d/meta.json"; ok $? "$n: run marked failed"
}

# One replay: allocations tried, ops and blocks held against the trace.
for a in slab tlsf glibc; do
    for p in 1 2; do
        for m in each split; do
            n=once-$a-$p-$m
            run_ok "$n" $a --workload "trace:$TR,mode=$m,passes=1" --procs $p --seconds 20
            k=$p
            [ $m = split ] && k=1
            csv=$T/$n/runs.csv
            tried=$(($(col "$csv" all allocs) + $(col "$csv" all fails)))
            [ "$tried" = $((NA * k)) ]; ok $? "$n: $tried allocations tried, not $NA x $k"
            [ "$(col "$csv" all ops)" = $(((NA + NF) * k)) ]
            ok $? "$n: $(col "$csv" all ops) ops, not $((NA + NF)) x $k"
            [ "$(col "$csv" all held_blocks)" = $(((NA - NF) * k)) ]
            ok $? "$n: $(col "$csv" all held_blocks) blocks held, not $((NA - NF)) x $k"
            grep -q "\"workload_params\": {\"file\": \"$TR\", \"mode\": \"$m\", \"passes\": 1}" \
                "$T/$n/meta.json"
            ok $? "$n: meta.json's workload_params"
            w=0
            while [ $w -lt $p ]; do
                [ "$(ctr "$T/$n" $w workload passes)" = 1 ]
                ok $? "$n: worker $w did not finish one pass: $(cat "$T/$n/counters.csv")"
                w=$((w + 1))
            done
        done
    done
    # split: the two workers' shares make the trace
    csv=$T/once-$a-2-split/runs.csv
    [ $(($(col "$csv" 0 ops) + $(col "$csv" 1 ops))) = $((NA + NF)) ] \
        && [ "$(col "$csv" 0 ops)" -gt 0 ] && [ "$(col "$csv" 1 ops)" -gt 0 ]
    ok $? "split on $a: shares of $(col "$csv" 0 ops) and $(col "$csv" 1 ops) ops"
done

# By op budget: several passes, exactly the budget tried by each worker.
for a in slab tlsf glibc; do
    for m in each split; do
        n=ops-$a-$m
        run_ok "$n" $a --workload "trace:$TR,mode=$m" --procs 2 --ops 10000
        for w in 0 1; do
            t=$(($(col "$T/$n/runs.csv" $w ops) + $(col "$T/$n/runs.csv" $w fails)))
            [ "$t" = 10000 ]; ok $? "$n: worker $w tried $t ops, not 10000"
        done
        [ "$(ctr "$T/$n" 0 workload passes)" -ge 2 ]
        ok $? "$n: passes: $(cat "$T/$n/counters.csv")"
    done
done
# By time, every allocator of the three.
for a in slab tlsf glibc; do
    run_ok time-$a $a --workload "trace:$TR,mode=split" --procs 2 --seconds 0.3
    [ "$(col "$T/time-$a/runs.csv" all ops)" -gt $((NA + NF)) ]
    ok $? "time-$a: fewer ops than one pass"
done

# A failed allocation: counted, its free skipped, in every pass.
printf 'a 1 64\na 2 200000000\na 3 100\nf 2\nf 1\n' >"$T/fail.trace"
run_ok fail slab --workload "trace:$T/fail.trace,passes=3" --zone-size 1m
csv=$T/fail/runs.csv
[ "$(col "$csv" all allocs)/$(col "$csv" all fails)/$(col "$csv" all frees)" = 6/3/5 ]
ok $? "fail: allocs/fails/frees $(col "$csv" all allocs)/$(col "$csv" all fails)/$(col "$csv" all frees), not 6/3/5"
[ "$(col "$csv" all held_blocks)/$(col "$csv" all held_bytes)" = 1/100 ]
ok $? "fail: held $(col "$csv" all held_blocks) blocks"

# A path that JSON must escape, recorded whole in meta.json.
q=$T/'q"b\s.trace'
cp "$TR" "$q"
run_ok quoted tlsf --workload "trace:$q,passes=1"
grep -qF "\"file\": \"$T/q\\\"b\\\\s.trace\"" "$T/quoted/meta.json"
ok $? "quoted: meta.json's file: $(grep -F workload_params "$T/quoted/meta.json")"

# From standard input.
"$B" run --alloc tlsf --workload trace:-,passes=1 --out "$T/stdin" <"$TR" >/dev/null 2>&1
ok $? "trace:- failed"
[ "$(col "$T/stdin/runs.csv" all allocs)" = "$NA" ]; ok $? "trace:-: allocs"

# refused RC FIRST-LINE NAME ARGS...: run exits RC, its stderr's first line
# is FIRST-LINE (under LeakSanitizer a report may follow), no directory.
refused() {
    rc=$1
    line=$2
    n=$3
    shift 3
    "$B" run --alloc slab "$@" --out "$T/$n" >/dev/null 2>"$T/$n.err"
    got=$?
    [ $got = "$rc" ] && [ "$(head -n 1 "$T/$n.err")" = "$line" ]
    ok $? "$n: exit $got, not $rc: $(cat "$T/$n.err")"
    [ ! -e "$T/$n" ]; ok $? "$n: a refused run left its directory"
}

printf 'a 1 10\na 2 20\nf 3\n' >"$T/bad.trace"
refused 1 "shmbench: run: trace: $T/bad.trace:3: f of ID 3, which was never allocated" \
    malformed --workload "trace:$T/bad.trace" --procs 2
refused 1 "shmbench: run: trace: $T/none.trace: No such file or directory" \
    missing --workload "trace:$T/none.trace"
printf '# no op\npages 8\n' >"$T/empty.trace"
refused 1 "shmbench: run: trace: $T/empty.trace: no allocation to replay" \
    empty --workload "trace:$T/empty.trace"
need="shmbench: trace: file is required (--workload trace:FILE, or trace:file=FILE) (see 'shmbench run --help')"
refused 2 "$need" nofile --workload trace
refused 2 "$need" nofile2 --workload trace:mode=split
refused 2 "shmbench: bad value for trace's file: the value is empty (see 'shmbench run --help')" \
    emptyfile --workload trace:file=
refused 2 "shmbench: bad value for trace's mode: 'both' is not one of each, split (see 'shmbench run --help')" \
    badmode --workload "trace:$TR,mode=both"
long=$(awk 'BEGIN { s = "/"; for (i = 0; i < 4095; i++) s = s "x"; print s }')
refused 2 "shmbench: bad value for trace's file: a value of 4096 bytes is longer than the 4095 that file= holds (see 'shmbench run --help')" \
    long --workload "trace:$long"
refused 2 "shmbench: workload trace has no parameter 'split' (see 'shmbench run --help')" \
    unknown --workload "trace:$TR,split=1"
refused 2 "shmbench: bad value '0x1' for trace's passes (count, 0 to 1073741824) (see 'shmbench run --help')" \
    badpasses --workload "trace:$TR,passes=0x1"

"$B" list --workloads >"$T/list" 2>&1; ok $? "list --workloads failed"
grep -q "^  trace: " "$T/list"; ok $? "list --workloads does not list trace"
for p in "file= .*required" "mode=each .*each, split" "passes=0 "; do
    grep -q "^      $p" "$T/list"; ok $? "list --workloads does not give $p"
done

echo "run_wl_trace: $checks checks, $fails failed"
[ "$fails" = 0 ]
