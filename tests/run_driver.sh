#!/bin/sh
# Black-box tests of `shmbench run` and of the master it shares with
# `bench --procs`, one PART per ctest:
#
#   cli        --help and `list --workloads` list every workload with its
#              parameters; the progress line on a terminal and only there;
#              usage errors (exit 2: --latency's bad values, refused
#              sizes= specs among them) and refused caps (exit 1)
#              with their messages, before anything runs (no result
#              directory made); the default result directory;
#              --keep keeps a named zone; a zone beyond RAM and swap is
#              refused with a message naming --noreserve
#   workloads  the sampler's rows (the allocator's figures under its lock);
#              churn (own and remote frees) and fill, briefly, on slab and
#              tlsf with 2 workers: exit 0, the zone consistent (the master
#              checks it), the merged counters against independent counts
#              (allocations - frees = blocks the workers' own tables hold +
#              blocks in transit; live = held), the result files parsed:
#              every runs.csv row has the documented columns, the all row
#              is the sum of the worker rows, timeseries.csv's ops never
#              decrease, meta.json is JSON with every parameter; the
#              latency columns: p50 <= p90 <= p99 <= p99.9 <= max per kind,
#              with --latency all the counts equal the ops, with sample:K
#              each kind's count is its ops / K within 2 + log2(ops)
#              (test_run_workloads states the sampler's bound), latency.csv
#              parses and its counts sum to the all row's; slots.csv's
#              used chunks are the live blocks (slab); churn and fill
#              with other sizes= distributions (churn with etc, pow2,
#              fixed and twitter:4, whose tail has no bound)
#   crash      a worker killed before the barrier (also with --survive: the
#              others finish), a worker killed holding the zone lock (on
#              slab and on tlsf, and under bench --procs),
#              the master killed (SIGKILL) and signalled (SIGTERM with a
#              kept zone): each run ends within a timeout, with the run
#              written as failed where a master is left to write it, no
#              process of its process group and no /dev/shm file left
#
# Usage: run_driver.sh SHMBENCH PART.  The worker deaths use the master's
# test hook SHMBENCH_TEST_KILL (bench/master.h).
set -u

PART=$2
. "$(dirname "$0")/run_lib.sh"
run_lib_init "$1" "run-$PART"

# The documented columns of runs.csv (docs/results.md), in order.
RUNS_COLUMNS="allocator,workload,procs,zone,zone_bytes,seed,worker,pid,status,ops,allocs,frees,fails,remote_frees,handed_off,in_transit,seconds,throughput_ops_s,live_blocks,live_bytes,granted_bytes,peak_live_bytes,held_blocks,held_bytes,internal_frag,fill_at_fail_bytes,alloc_lat_count,alloc_p50_ns,alloc_p90_ns,alloc_p99_ns,alloc_p999_ns,alloc_max_ns,free_lat_count,free_p50_ns,free_p90_ns,free_p99_ns,free_p999_ns,free_max_ns,lock_acquisitions,lock_contended,lock_spins,lock_yields,lock_sleeps,lock_owner_switches,lock_force_unlocks,lock_wait_ns,lock_wait_max_ns,lock_hold_ns,lock_hold_samples,footprint_bytes,header_bytes,data_bytes,free_bytes,largest_free_bytes,external_frag,peak_footprint_bytes,overhead_at_peak,fill_at_fail_ratio,resident_bytes"
TS_COLUMNS="t_s,ops,allocs,frees,fails,live_bytes,granted_bytes,footprint_bytes,resident_bytes,free_bytes,largest_free_bytes,stats"

# files_ok DIR PROCS: the result files, their columns, the all row's sums.
files_ok() {
    d=$1
    procs=$2
    for f in runs.csv timeseries.csv latency.csv counters.csv slots.csv meta.json; do
        [ -s "$d/$f" ]; ok $? "$d/$f missing or empty"
    done
    [ "$(head -n 1 "$d/runs.csv")" = "$RUNS_COLUMNS" ]; ok $? "$d/runs.csv: header differs"
    [ "$(head -n 1 "$d/timeseries.csv")" = "$TS_COLUMNS" ]; ok $? "$d/timeseries.csv: header differs"
    n=$(awk -F, 'NR > 1 && NF != 59 { bad++ } END { print bad + 0 }' "$d/runs.csv")
    [ "$n" = 0 ]; ok $? "$d/runs.csv: $n rows without 59 columns"
    n=$(awk -F, 'NR > 1 && NF != 12 { bad++ } END { print bad + 0 }' "$d/timeseries.csv")
    [ "$n" = 0 ]; ok $? "$d/timeseries.csv: $n rows without 12 columns"
    [ "$(wc -l <"$d/runs.csv")" = $((procs + 2)) ]; ok $? "$d/runs.csv: not $procs worker rows and all"
    n=$(awk -F, 'NR > 1 && $2 < last { bad++ } NR > 1 { last = $2 } END { print bad + 0 }' \
        "$d/timeseries.csv")
    [ "$n" = 0 ]; ok $? "$d/timeseries.csv: ops decrease"
    for c in ops allocs frees fails remote_frees handed_off live_blocks live_bytes \
             granted_bytes held_blocks held_bytes; do
        sum=$(awk -F, -v name=$c '
            NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
            $idx["worker"] != "all" { s += $idx[name] } END { printf "%d", s }' "$d/runs.csv")
        [ "$sum" = "$(col "$d/runs.csv" all $c)" ]; ok $? "$d: $c: workers sum to $sum, all says $(col "$d/runs.csv" all $c)"
    done
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$d/meta.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
need = ["command", "git", "compiler", "c_flags", "kernel", "cpu_model", "cores",
        "governor", "loadavg", "date", "parameters", "workers", "failed", "why",
        "zone_state"]
missing = [k for k in need if k not in m]
p = m.get("parameters", {})
for k in ["alloc", "workload", "workload_params", "procs", "seconds", "ops", "zone",
          "zone_size", "page_size", "seed", "sample_ms", "keep", "noreserve", "survive",
          "latency"]:
    if k not in p:
        missing.append("parameters." + k)
if missing:
    sys.exit("meta.json lacks " + ", ".join(missing))
EOF
        ok $? "$d/meta.json does not parse or lacks fields"
    else
        echo "skip: no python3 to parse meta.json"
    fi
}

# lat_ok DIR K: the latency columns of every runs.csv row (ordered
# percentiles; counts: the ops for K = 1, each kind's ops / K within
# 2 + log2(ops) for K > 1, empty for K = 0) and latency.csv (its counts
# sum to the all row's, the cumulative column ends at 1).
lat_ok() {
    d=$1
    k=$2
    n=$(awk -F, -v k="$k" '
        NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
        {
            ops = $idx["ops"]
            for (j = 0; j < 2; j++) {
                op = j ? "free" : "alloc"
                c = $idx[op "_lat_count"]
                if (k == 0) { if (c != "" || $idx[op "_max_ns"] != "") bad++; continue }
                if ($idx[op "_p50_ns"] + 0 > $idx[op "_p90_ns"] || $idx[op "_p90_ns"] + 0 > $idx[op "_p99_ns"] ||
                    $idx[op "_p99_ns"] + 0 > $idx[op "_p999_ns"] || $idx[op "_p999_ns"] + 0 > $idx[op "_max_ns"] ||
                    $idx[op "_p50_ns"] == "" || $idx[op "_max_ns"] + 0 <= 0) {
                    print "row " $idx["worker"] ": " op " percentiles out of order"; bad++
                }
                sum += c
                if (k > 1) {
                    want = ops / 2 / k; slack = 2 + log(ops) / log(2)
                    if (c < want - slack || c > want + slack) { print "row " $idx["worker"] ": " op " count " c ", want " want; bad++ }
                }
            }
            if (k == 1 && sum != ops) { print "row " $idx["worker"] ": " sum " timed of " ops " ops"; bad++ }
            sum = 0
        }
        END { print bad + 0 }' "$d/runs.csv")
    [ "$(echo "$n" | tail -n 1)" = 0 ]; ok $? "$d: latency columns: $n"
    [ "$(head -n 1 "$d/latency.csv")" = "op,low_ns,high_ns,count,cumulative" ]
    ok $? "$d/latency.csv: header differs"
    for op in alloc free; do
        got=$(awk -F, -v op=$op 'NR > 1 && $1 == op { s += $4; last = $5 } NR > 1 && NF != 5 { bad++ }
              END { if (bad) print "bad"; else printf "%d %s", s, last }' "$d/latency.csv")
        if [ "$k" = 0 ]; then
            want="0 "
        else
            want="$(col "$d/runs.csv" all ${op}_lat_count) 1.000000000"
        fi
        [ "$got" = "$want" ]; ok $? "$d/latency.csv: $op: '$got', want '$want'"
    done
}

# counts_ok DIR: the merged counters against the independent counts.
counts_ok() {
    d=$1
    na=$(col "$d/runs.csv" all allocs)
    nf=$(col "$d/runs.csv" all frees)
    nh=$(col "$d/runs.csv" all held_blocks)
    nt=$(col "$d/runs.csv" all in_transit)
    [ $((na - nf)) = $((nh + nt)) ]; ok $? "$d: allocs $na - frees $nf != held $nh + in transit $nt"
    [ "$(col "$d/runs.csv" all live_blocks)" = "$nh" ]; ok $? "$d: live blocks != held blocks"
    [ "$(col "$d/runs.csv" all live_bytes)" = "$(col "$d/runs.csv" all held_bytes)" ]
    ok $? "$d: live bytes != held bytes"
    grep -q '"zone_state": "consistent (check passed)"' "$d/meta.json"; ok $? "$d: zone not consistent"
    grep -q '"failed": false' "$d/meta.json"; ok $? "$d: run marked failed"
}

# in_group PGID: whether a process (a zombie not counted) is in the group.
# By ps, not `kill -0 -PGID`, which not every sh's kill takes.
in_group() {
    ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { n++ } END { exit !n }'
}

# gone PGID SHMNAME: no process of the group and no zone file, waiting up
# to 10 s for the group to empty (the kernel's parent-death signal and the
# reaping of orphans take a moment).
gone() {
    i=0
    while in_group "$1" && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    ! in_group "$1"; ok $? "process group $1 still has processes: $(ps -o pid=,stat=,args= -g "$1")"
    [ ! -e "/dev/shm/$2" ]; ok $? "/dev/shm/$2 left behind"
}

# wait_workers PID N: wait (5 s at most) until master PID has N children.
wait_workers() {
    i=0
    while [ $i -lt 50 ]; do
        n=$(pgrep -c -P "$1" 2>/dev/null)
        [ "${n:-0}" -ge "$2" ] && break
        sleep 0.1
        i=$((i + 1))
    done
}

case "$PART" in
cli)
    "$B" run --help >"$T/help" 2>&1; ok $? "run --help failed"
    "$B" list --workloads >"$T/list" 2>&1; ok $? "list --workloads failed"
    for w in churn fill; do
        grep -q "^  $w: " "$T/help"; ok $? "run --help does not list $w"
        grep -q "^  $w: " "$T/list"; ok $? "list --workloads does not list $w"
    done
    for p in live=1000 rounds=1000000 sizes=uniform:8:2048 remote=0 sizes=uniform:16:4096; do
        grep -q " $p " "$T/list"; ok $? "list --workloads does not give $p"
    done
    tail -n "$(wc -l <"$T/list")" "$T/help" | cmp -s - "$T/list"
    ok $? "run --help and list --workloads list the workloads differently"

    cd "$T" || exit 1
    expect_first 2 "shmbench: run needs --alloc NAME (see 'shmbench run --help')" \
        "$B" run --workload churn
    expect_first 2 "shmbench: run needs --workload NAME (see 'shmbench run --help')" \
        "$B" run --alloc slab
    # Every workload of `list --workloads`, in its order.
    known=$("$B" list --workloads | sed -n 's/^  \([a-z_0-9]*\): .*/\1/p' | paste -sd, | sed 's/,/, /g')
    expect_first 2 "shmbench: unknown workload 'chum' (known: $known) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload chum
    expect_first 2 "shmbench: workload churn has no parameter 'foo' (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:foo=1
    expect_first 2 "shmbench: bad workload parameter 'live' in 'churn:live' (expected k=v) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:live
    expect_first 2 "shmbench: bad value '12x' for churn's live (count, 1 to 16777216) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:live=12x
    expect_first 2 "shmbench: bad value '101' for churn's remote (percent, 0 to 100) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:remote=101
    expect_first 2 "shmbench: bad value for churn's sizes: size distribution \"uniform:100:10\": MIN > MAX (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:sizes=uniform:100:10
    expect_first 2 "shmbench: bad value for fill's sizes: size distribution \"zipf:3\": unknown kind \"zipf\" (known: fixed:S, uniform:MIN:MAX, pow2:MIN:MAX, etc[:THETA], twitter:CLUSTER) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload fill:sizes=zipf:3
    expect_first 2 "shmbench: bad value for churn's sizes: size distribution \"twitter:5\": cluster 5 has no preset: the trace's statistics publish no sizes for it (clusters 1 to 54 but 5) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:sizes=twitter:5
    expect_first 2 "shmbench: fill: sizes=fixed:0 draws requests outside 1 to 4294967295 bytes (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload fill:sizes=fixed:0
    expect_first 2 "shmbench: workload churn has no parameter 'min' (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:min=8
    for l in sample:0 sample: sample:x some sample:1000000001; do
        expect_first 2 "shmbench: bad value '$l' for --latency (all, off, or sample:K with K from 1 to 1000000000) (see 'shmbench run --help')" \
            "$B" run --alloc slab --workload churn --latency "$l" --out "$T/refused"
    done
    [ ! -e "$T/refused" ]; ok $? "a refused --latency made its result directory"
    expect_first 2 "shmbench: churn: remote=50 needs another worker to free in (--procs 2 or more) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn:remote=50
    expect_first 2 "shmbench: --seconds and --ops exclude each other (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn --seconds 1 --ops 5
    expect_first 2 "shmbench: bad time '-1' for --seconds (a positive number of seconds, at most 1000000) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn --seconds -1
    expect_first 2 "shmbench: --procs 64 is out of range (1 to 63) (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn --procs 64
    expect_first 2 "shmbench: --keep needs --zone posix (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn --keep x --zone anon
    expect_first 2 "shmbench: unknown option '--frob' for run (see 'shmbench run --help')" \
        "$B" run --alloc slab --workload churn --frob

    # The progress line: on a terminal only.
    if command -v script >/dev/null 2>&1; then
        script -qc "'$B' run --alloc slab --workload churn --seconds 0.6 --out '$T/tty'" \
            /dev/null >"$T/tty.out" 2>&1
        grep -q "run: 0\.[0-9] s, [0-9]* ops, [0-9.]* Mops/s" "$T/tty.out"
        ok $? "no progress line on a terminal: $(cat "$T/tty.out")"
    else
        echo "skip: no script(1) to give run a terminal"
    fi
    "$B" run --alloc slab --workload churn --seconds 0.6 --out "$T/notty" >"$T/out" 2>"$T/err"
    [ ! -s "$T/err" ]; ok $? "a progress line on a file: $(cat "$T/err")"

    # Refused caps: exit 1, before anything runs (no directory made).
    if "$B" list | grep -q '^jemalloc-shm '; then
        expect_first 1 "shmbench: run: churn:remote=50 frees blocks in another process than the one that allocated them, and jemalloc-shm has no cross-process free (see 'shmbench list')" \
            "$B" run --alloc jemalloc-shm --workload churn:remote=50 --procs 2 --out "$T/refused"
        [ ! -e "$T/refused" ]; ok $? "a refused run made its result directory"
    else
        echo "skip: jemalloc-shm is not built in"
    fi
    expect_first 1 "shmbench: run: fill needs its blocks in the zone (it fills it, or shares it between workers), and glibc keeps its blocks in a private heap" \
        "$B" run --alloc glibc --workload fill --out "$T/refused"
    expect_first 1 "shmbench: run: a zone of 4096 bytes is too small for \"slab\" with 2 workers: the minimum is 8192 bytes (--zone-size)" \
        "$B" run --alloc slab --workload churn --procs 2 --zone-size 4k --out "$T/refused"
    [ ! -e "$T/refused" ]; ok $? "a refused run made its result directory"

    # The default directory, in a fresh working directory.
    "$B" run --alloc slab --workload churn --ops 1000 >"$T/out" 2>"$T/err"
    ok $? "a run with the default --out failed: $(cat "$T/err")"
    n=$(ls -d "$T"/results/runs/*-slab-churn-1 2>/dev/null | wc -l)
    [ "$n" = 1 ]; ok $? "no results/runs/<date>-slab-churn-1"
    "$B" run --alloc slab --workload churn --ops 1000 >"$T/out" 2>"$T/err"
    n=$(ls -d "$T"/results/runs/*-slab-churn-2 2>/dev/null | wc -l)
    [ "$n" = 1 ]; ok $? "the second run did not get results/runs/<date>-slab-churn-2"

    # --keep: the zone stays, attachable by name.
    Z=shmbench-run-test-keep-$$
    "$B" run --alloc slab --workload churn --ops 1000 --keep "$Z" --out "$T/keep" \
        >"$T/out" 2>"$T/err"
    ok $? "run --keep failed: $(cat "$T/err")"
    [ -e "/dev/shm/$Z" ]; ok $? "run --keep did not keep /dev/shm/$Z"
    "$B" stat "$Z" >"$T/out" 2>&1; ok $? "stat of the kept zone failed: $(cat "$T/out")"
    rm -f "/dev/shm/$Z"

    # A zone beyond RAM and swap: refused, naming --noreserve (only where
    # the kernel's heuristic overcommit refuses it).
    if [ "$(cat /proc/sys/vm/overcommit_memory 2>/dev/null)" = 0 ]; then
        kb=$(awk '/^(MemTotal|SwapTotal):/ { s += $2 } END { print s * 2 }' /proc/meminfo)
        "$B" run --alloc tlsf --workload churn --ops 10 --zone-size "${kb}k" --out "$T/big" \
            >"$T/out" 2>"$T/err"
        [ $? = 1 ]; ok $? "a zone of ${kb}k was not refused"
        grep -q -- "--noreserve maps it without that promise" "$T/err"
        ok $? "the refusal does not name --noreserve: $(cat "$T/err")"
        [ ! -e "$T/big" ]; ok $? "a run whose zone could not be made left its directory"
        "$B" run --alloc tlsf --workload churn --ops 10 --zone-size "${kb}k" --noreserve \
            --out "$T/big" >"$T/out" 2>"$T/err"
        ok $? "--noreserve did not map a zone of ${kb}k: $(cat "$T/err")"
    else
        echo "skip: overcommit_memory is not 0: the kernel would not refuse a large zone"
    fi
    ;;

workloads)
    for a in slab tlsf; do
        # The sampler: rows while the workers run, with the allocator's
        # figures taken under its lock.
        d=$T/$a-sampled
        "$B" run --alloc $a --workload churn --procs 2 --seconds 0.5 --sample-ms 20 \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a sampled churn failed: $(cat "$T/err")"
        files_ok "$d" 2
        n=$(awk -F, 'NR > 1 && $12 == 1 && $8 > 0 && $9 > 0 { n++ } END { print n + 0 }' \
            "$d/timeseries.csv")
        [ "$n" -ge 5 ]; ok $? "$a: $n sampled rows with the allocator's figures, want 5 or more"
    done
    for a in slab tlsf; do
        d=$T/$a-churn
        "$B" run --alloc $a --workload churn:live=500 --procs 2 --ops 100000 --sample-ms 1 \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a churn failed: $(cat "$T/err")"
        files_ok "$d" 2
        counts_ok "$d"
        lat_ok "$d" 64
        if [ $a = slab ]; then
            # slots.csv: the chunks in use over every slot are the blocks
            # live at the end (churn's sizes all fit a slot); tlsf has none.
            u=$(awk -F, 'NR > 1 { s += $3 } END { print s + 0 }' "$d/slots.csv")
            [ "$(wc -l <"$d/slots.csv")" -gt 1 ] && [ "$u" = "$(col "$d/runs.csv" all live_blocks)" ]
            ok $? "$a: slots.csv says $u chunks used, runs.csv $(col "$d/runs.csv" all live_blocks) live"
        else
            [ "$(cat "$d/slots.csv")" = "slot_bytes,total,used,reqs,fails" ]
            ok $? "$a: slots.csv has rows: $(head -3 "$d/slots.csv")"
        fi
        d=$T/$a-all
        "$B" run --alloc $a --workload churn:live=500 --procs 2 --ops 100000 --latency all \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a churn --latency all failed: $(cat "$T/err")"
        files_ok "$d" 2
        lat_ok "$d" 1
        d=$T/$a-sample
        "$B" run --alloc $a --workload churn:live=500 --procs 2 --ops 100000 --latency sample:7 \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a churn --latency sample:7 failed: $(cat "$T/err")"
        lat_ok "$d" 7
        d=$T/$a-off
        "$B" run --alloc $a --workload churn:live=500 --ops 20000 --latency off \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a churn --latency off failed: $(cat "$T/err")"
        files_ok "$d" 1
        lat_ok "$d" 0
        grep -q '"latency": "off"' "$d/meta.json"; ok $? "$a: meta.json does not say latency off"
        for sz in etc pow2:8:4096 fixed:100 twitter:4; do
            d=$T/$a-churn-$sz
            "$B" run --alloc $a --workload churn:live=500,sizes=$sz --procs 2 --ops 50000 \
                --out "$d" >"$T/out" 2>"$T/err"
            ok $? "$a churn sizes=$sz failed: $(cat "$T/err")"
            files_ok "$d" 2
            counts_ok "$d"
            grep -q "\"sizes\": \"$( [ $sz = etc ] && echo etc:15 || echo $sz)\"" "$d/meta.json"
            ok $? "$a churn sizes=$sz: meta.json does not record the spec"
        done
        d=$T/$a-fill-pow2
        "$B" run --alloc $a --workload fill:sizes=pow2:8:4096 --zone-size 2m --seconds 10 \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a fill sizes=pow2:8:4096 failed: $(cat "$T/err")"
        counts_ok "$d"
        [ "$(col "$d/runs.csv" all fails)" = 1 ]; ok $? "$a fill pow2: not one failure"
        d=$T/$a-remote
        "$B" run --alloc $a --workload churn:live=500,remote=50 --procs 2 --ops 100000 \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a churn remote=50 failed: $(cat "$T/err")"
        files_ok "$d" 2
        counts_ok "$d"
        [ "$(col "$d/runs.csv" all remote_frees)" -gt 0 ]; ok $? "$a: no remote frees"
        d=$T/$a-fill
        "$B" run --alloc $a --workload fill --procs 2 --zone-size 2m --seconds 10 \
            --out "$d" >"$T/out" 2>"$T/err"
        ok $? "$a fill failed: $(cat "$T/err")"
        files_ok "$d" 2
        counts_ok "$d"
        [ "$(col "$d/runs.csv" all fails)" = 2 ]; ok $? "$a fill: not one failure per worker"
        r=$(col "$d/runs.csv" all fill_at_fail_ratio)
        awk -v r="$r" 'BEGIN { exit !(r > 0.5 && r <= 1) }'
        ok $? "$a fill: fill at first failure $r is not in (0.5, 1]"
    done
    ;;

crash)
    # A worker killed before the barrier: the master does not wait for it.
    d=$T/barrier
    SHMBENCH_TEST_KILL=1:barrier timeout 20 "$B" run --alloc slab --workload churn \
        --procs 3 --seconds 30 --out "$d" >"$T/out" 2>"$T/err"
    [ $? = 1 ]; ok $? "a death before the barrier did not end the run with 1"
    grep -q "^shmbench: run: slab: worker 1 (pid [0-9]*) was killed by signal 9 (Killed)$" "$T/err"
    ok $? "the dead worker is not named: $(cat "$T/err")"
    grep -q '"failed": true' "$d/meta.json"; ok $? "the run is not marked failed"
    [ "$(col "$d/runs.csv" 1 status)" = "signal:9" ]; ok $? "worker 1's status is not signal:9"
    files_ok "$d" 3

    # A worker killed holding the lock: released, the others stopped, the
    # zone still consistent.
    for a in slab tlsf; do
        d=$T/lock-$a
        SHMBENCH_TEST_KILL=0:lock timeout 20 "$B" run --alloc $a --workload churn \
            --procs 2 --seconds 30 --out "$d" >"$T/out" 2>"$T/err"
        [ $? = 1 ]; ok $? "$a: a death holding the lock did not end the run with 1"
        grep -q "^shmbench: run: $a: worker 0 (pid [0-9]*) held the zone lock: force-unlocked$" \
            "$T/err"
        ok $? "$a: the lock was not force-unlocked: $(cat "$T/err")"
        grep -q "^shmbench: run: $a: zone after the failure: consistent" "$T/err"
        ok $? "$a: the zone's state is not reported consistent: $(cat "$T/err")"
        [ "$(col "$d/runs.csv" all lock_force_unlocks)" = 1 ]; ok $? "$a: force-unlocks not 1"
        files_ok "$d" 2
    done

    # --survive: the others run to their end; the run is still failed.
    d=$T/survive
    SHMBENCH_TEST_KILL=1:barrier timeout 20 "$B" run --alloc slab --workload churn \
        --procs 3 --ops 100000 --survive --out "$d" >"$T/out" 2>"$T/err"
    [ $? = 1 ]; ok $? "--survive: the run did not end with 1"
    for w in 0 2; do
        [ "$(col "$d/runs.csv" $w status)" = ok ]; ok $? "--survive: worker $w did not finish"
        [ "$(col "$d/runs.csv" $w ops)" -ge 100000 ]; ok $? "--survive: worker $w stopped early"
    done

    # bench --procs no longer hangs on that death.
    SHMBENCH_TEST_KILL=1:lock timeout 20 "$B" bench --alloc slab --procs 2 --repeat 1 \
        --rounds 100000 >"$T/out" 2>"$T/err"
    [ $? = 1 ]; ok $? "bench --procs did not end with 1 on a death holding the lock"
    grep -q "^shmbench: bench: slab: the run failed: worker 1 (pid [0-9]*) was killed by signal 9 (Killed)$" \
        "$T/err"
    ok $? "bench --procs does not say why it failed: $(cat "$T/err")"

    # The master killed: the workers follow, the zone file is gone already.
    setsid "$B" run --alloc slab --workload churn --procs 2 --seconds 30 --zone posix \
        --out "$T/killed" >"$T/out" 2>"$T/err" &
    sleep 0.2
    m=$(pgrep -o -f "out $T/killed")
    if [ -n "$m" ]; then
        wait_workers "$m" 2
        kill -KILL "$m"
        gone "$m" "shmbench-$m"
    else
        fail "the master to kill was not found"
    fi

    # The master signalled with a kept zone: workers stopped, the name
    # removed, the run written as failed, the master dead of the signal.
    Z=shmbench-run-test-term-$$
    setsid "$B" run --alloc tlsf --workload churn --procs 2 --seconds 30 --keep "$Z" \
        --out "$T/term" >"$T/out" 2>"$T/err" &
    sleep 0.2
    m=$(pgrep -o -f "out $T/term")
    if [ -n "$m" ]; then
        wait_workers "$m" 2
        kill -TERM "$m"
        gone "$m" "$Z"
        grep -q '"failed": true' "$T/term/meta.json"; ok $? "a signalled run is not marked failed"
        grep -q '"why": "the master was interrupted by signal 15 (Terminated)"' \
            "$T/term/meta.json"
        ok $? "the signalled run does not say why"
    else
        fail "the master to signal was not found"
    fi
    rm -f "/dev/shm/$Z"
    ;;

*)
    echo "usage: run_driver.sh SHMBENCH cli|workloads|crash" >&2
    exit 2
    ;;
esac

echo "run $PART: $checks checks, $fails failed"
[ "$fails" = 0 ]
