#!/bin/sh
# Black-box tests of `shmbench suite`, `merge` and `compare`, one PART per
# ctest, over tests/suite_tiny.suite (2 allocators, 2 workloads, procs 1
# and 2, repeat 2, small op budgets):
#
#   run       the suite end to end: exit 0, summary.csv's header exactly the
#             documented one, one row per line, allocator and procs in the
#             file's order, every median equal to the median of the runs'
#             runs.csv `all` rows (recomputed here in Python) inside its
#             interval, the refused combination (fill on glibc) as refused
#             rows with empty figures; a progress line per run (rewritten
#             in place on a terminal); suite.json parses with every run's
#             state; --format json parses; merge of the suite's directory
#             into a new one gives the same summary.csv byte for byte, a
#             second merge of it is refused (the runs are there already),
#             a run with another machine's meta.json gives its row hosts 2
#             and mixed_hosts 1;
#             --resume after one run's directory is deleted makes that run
#             again and leaves every done run as it was; malformed lines
#             and bad options exit 2 with FILE:LINE or the usage message,
#             before anything runs
#   parallel  --print-commands piped into GNU parallel -j2, then merge: the
#             same rows, counts and deterministic medians (ops, fails,
#             peak live bytes) as the suite run directly (skipped without
#             parallel)
#   compare   a directory against itself: every ratio 1, no mark; tlsf
#             against freelist on a large live set (suite_slower.suite):
#             freelist is slower with the mark, --fail-above 10 exits 1,
#             --fail-above 1000 exits 0; --format csv and json parse
#
# Usage: suite_cli.sh SHMBENCH PART.
set -u

PART=$2
. "$(dirname "$0")/run_lib.sh"
run_lib_init "$1" "suite-$PART"
HERE=$(cd "$(dirname "$0")" && pwd)
TINY=$HERE/suite_tiny.suite

if ! command -v python3 >/dev/null 2>&1; then
    echo "skip: no python3 to read the summaries"
    exit 77
fi

METRICS="throughput_ops_s ops fails alloc_p50_ns alloc_p90_ns alloc_p99_ns alloc_p999_ns alloc_max_ns free_p50_ns free_p90_ns free_p99_ns free_p999_ns free_max_ns peak_live_bytes peak_footprint_bytes footprint_bytes resident_bytes internal_frag external_frag overhead_at_peak fill_at_fail_bytes fill_at_fail_ratio lock_acquisitions lock_contended lock_wait_ns lock_wait_max_ns lock_hold_ns"

# header: summary.csv's documented header line.
header() {
    h="line,allocator,workload,workload_spec,procs,runs,ok,failed,refused,hosts"
    for m in $METRICS; do
        h="$h,${m}_median,${m}_lo,${m}_hi"
    done
    echo "$h,mixed_hosts"
}

# summary_ok DIR: the rows, medians and refusals of tiny's summary.
summary_ok() {
    [ "$(head -n 1 "$1/summary.csv")" = "$(header)" ]; ok $? "$1/summary.csv: header differs"
    python3 - "$1" $METRICS <<'PY'
import csv, json, os, statistics, sys
d, metrics = sys.argv[1], sys.argv[2:]
rows = list(csv.DictReader(open(os.path.join(d, "summary.csv"))))
want = [(l, a, p) for l in ("8", "9") for a in ("slab", "glibc") for p in ("1", "2")]
got = [(r["line"], r["allocator"], r["procs"]) for r in rows]
bad = []
if got != want:
    bad.append("rows %s, want %s" % (got, want))
for r in rows:
    refused = r["line"] == "9" and r["allocator"] == "glibc"
    counts = (r["runs"], r["ok"], r["failed"], r["refused"])
    if counts != (("2", "0", "0", "2") if refused else ("2", "2", "0", "0")):
        bad.append("%s: counts %s" % (r["line"] + r["allocator"] + r["procs"], counts))
    if not r["workload_spec"].startswith(r["workload"] + ":"):
        bad.append("spec %s" % r["workload_spec"])
    if r["hosts"] != ("0" if refused else "1") or r["mixed_hosts"] != "0":
        bad.append("hosts %s mixed %s" % (r["hosts"], r["mixed_hosts"]))
    ids = ["L%s-%s-%s-p%s-r%d" % (r["line"], r["allocator"], r["workload"], r["procs"], k)
           for k in (1, 2)]
    alls = []
    for i in ids:
        p = os.path.join(d, "runs", i, "runs.csv")
        if os.path.exists(p):
            alls += [x for x in csv.DictReader(open(p)) if x["worker"] == "all"]
    if refused and alls:
        bad.append("refused row with run directories")
    for m in metrics:
        vals = [float(x[m]) for x in alls if x[m] != ""]
        med, lo, hi = r[m + "_median"], r[m + "_lo"], r[m + "_hi"]
        if not vals:
            if med or lo or hi:
                bad.append("%s %s: %s with no values" % (ids[0], m, med))
            continue
        want_med = statistics.median(vals)
        if med == "" or abs(float(med) - want_med) > 1e-9 * (abs(want_med) + 1):
            bad.append("%s %s: median %s, runs.csv says %s" % (ids[0], m, med, want_med))
        elif not float(lo) <= float(med) <= float(hi):
            bad.append("%s %s: %s outside [%s, %s]" % (ids[0], m, med, lo, hi))
s = json.load(open(os.path.join(d, "suite.json")))
states = sorted(x["state"] for x in s["runs"])
if states != ["done"] * 12 + ["refused"] * 4:
    bad.append("suite.json states %s" % states)
for k in ("suite", "text", "command", "date", "git", "hostname", "cpu_model", "cores"):
    if k not in s:
        bad.append("suite.json lacks " + k)
if bad:
    sys.exit("\n".join(bad[:20]))
PY
    ok $? "$1: summary.csv against the runs"
}

case $PART in
run)
    "$B" suite "$TINY" --out "$T/s" --format json > "$T/out" 2> "$T/err"
    ok $? "suite tiny exited $?: $(tail -3 "$T/err")"
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert len(r) == 8' \
        "$T/out"
    ok $? "suite --format json: not 8 rows of JSON"
    grep -q '^\[16/16\] glibc fill p2 r2 \.\.\. .* s, ETA 0:00 refused: run: ' "$T/err"
    ok $? "no progress line for the last run: $(tail -2 "$T/err")"
    summary_ok "$T/s"
    [ "$(grep -c '^\[[0-9]*/16\] ' "$T/err")" = 16 ]; ok $? "not a progress line per run"

    # On a terminal the progress line is rewritten in place (refusals keep theirs).
    if command -v script >/dev/null 2>&1; then
        script -qc "'$B' suite '$TINY' --out '$T/tty'" /dev/null > "$T/tty.out" 2>&1
        grep -q "$(printf '\r\033')\[K\[16/16\] glibc fill p2 r2 \.\.\." "$T/tty.out"
        ok $? "no progress rewritten in place on a terminal: $(tail -c 300 "$T/tty.out")"
        [ "$(grep -c 'refused: run:' "$T/tty.out")" = 4 ]
        ok $? "a terminal does not keep the 4 refusals' lines"
    else
        echo "skip: no script(1) to give suite a terminal"
    fi

    "$B" merge "$T/m" "$T/s" > /dev/null 2> "$T/err"
    ok $? "merge of the suite exited $?: $(cat "$T/err")"
    cmp -s "$T/s/summary.csv" "$T/m/summary.csv"
    ok $? "merge's summary.csv differs from the suite's"
    [ -f "$T/m/runs/L8-slab-churn-p2-r2/meta.json" ]; ok $? "merge copied no run"
    expect 1 "shmbench: merge: run L8-slab-churn-p1-r1 is in $T/m and in $T/s: remove one of them" \
        "$B" merge "$T/m" "$T/s"
    expect 2 "shmbench: $T/s/runs/L8-slab-churn-p1-r1 is a run directory: OUT must be a suite directory (new or made by suite or merge) (see 'shmbench merge --help')" \
        "$B" merge "$T/s/runs/L8-slab-churn-p1-r1" "$T/s"
    expect 1 "shmbench: compare: $T/s/runs/L8-slab-churn-p1-r1 and $T/s/runs/L9-slab-fill-p1-r1 have no run in common (allocator, workload spec and procs)" \
        "$B" compare "$T/s/runs/L8-slab-churn-p1-r1" "$T/s/runs/L9-slab-fill-p1-r1"
    # A run from another kind of machine: hosts 2 and mixed_hosts 1 in its row only.
    meta=$T/m/runs/L8-slab-churn-p1-r2/meta.json
    sed 's/"hostname": "[^"]*"/"hostname": "elsewhere"/; s/"cpu_model": "[^"]*"/"cpu_model": "Other CPU"/' \
        "$meta" > "$T/meta" && cp "$T/meta" "$meta"
    "$B" merge "$T/m" > /dev/null 2> "$T/err"
    ok $? "merge of OUT alone exited $?: $(cat "$T/err")"
    python3 - "$T/m/summary.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = [(r["line"], r["allocator"], r["procs"], r["hosts"], r["mixed_hosts"]) for r in rows]
want = [("8", "slab", "1", "2", "1")] + [g[:3] + (("0", "0") if g[:2] == ("9", "glibc")
                                                  else ("1", "0")) for g in got[1:]]
if got != want:
    sys.exit("hosts: %s, want %s" % (got, want))
PY
    ok $? "merge: a run from another machine is not flagged"
    for args in "help suite" "suite --help" "merge -h" "compare --help"; do
        # shellcheck disable=SC2086
        "$B" $args > "$T/out" 2> "$T/err"
        ok $? "'shmbench $args' failed"
        grep -q "^usage: shmbench ${args%% -*}" "$T/out" || grep -q "^usage: shmbench ${args#help }" "$T/out"
        ok $? "'shmbench $args' printed no usage: $(head -1 "$T/out")"
    done

    victim=L8-slab-churn-p2-r1
    for d in "$T"/s/runs/*; do
        [ "${d##*/}" = $victim ] || cksum "$d/meta.json"
    done > "$T/before"
    rm -rf "$T/s/runs/$victim"
    "$B" suite --resume "$T/s" > /dev/null 2> "$T/err"
    ok $? "resume exited $?: $(tail -3 "$T/err")"
    grep -q "resuming .*: 5 of 16 runs to make" "$T/err"
    ok $? "resume: not 5 runs (the deleted one and 4 refused): $(head -1 "$T/err")"
    [ "$(grep -c "\] slab churn p2 r1 " "$T/err")" = 1 ]; ok $? "resume did not redo $victim"
    [ "$(grep -c "\] slab" "$T/err")" = 1 ]; ok $? "resume redid other slab runs"
    for d in "$T"/s/runs/*; do
        [ "${d##*/}" = $victim ] || cksum "$d/meta.json"
    done > "$T/after"
    cmp -s "$T/before" "$T/after"; ok $? "resume changed a done run"
    summary_ok "$T/s"

    bad=$T/bad.suite
    printf 'set alloc slab\n\nrun churn --bogus 1\n' > "$bad"
    expect 2 "shmbench: $bad:3: unknown option '--bogus' for run (see 'shmbench run --help')" \
        "$B" suite "$bad" --out "$T/never"
    printf 'run churn:live=0\n' > "$bad"
    expect 2 "shmbench: $bad:1: bad value '0' for churn's live (count, 1 to 16777216) (see 'shmbench run --help')" \
        "$B" suite "$bad" --out "$T/never"
    printf '# x\nset alloc slab,nope\nrun churn\n' > "$bad"
    expect 2 "shmbench: $bad:2: unknown allocator 'nope' (see 'shmbench list'; or @zone, @all)" \
        "$B" suite "$bad" --out "$T/never"
    printf 'run churn --seed 3\n' > "$bad"
    expect 2 "shmbench: $bad:1: --seed is the suite's to set (alloc=, procs= and repeat= choose; seeds and directories are per run)" \
        "$B" suite "$bad" --out "$T/never"
    printf 'run churn procs=1,,2\n' > "$bad"
    expect 2 "shmbench: $bad:1: empty item in list '1,,2'" "$B" suite "$bad" --out "$T/never"
    printf 'set repeat 0\nrun churn\n' > "$bad"
    expect 2 "shmbench: $bad:1: bad repeat '0' (1 to 1000)" "$B" suite "$bad" --out "$T/never"
    printf 'runs churn\n' > "$bad"
    expect 2 "shmbench: $bad:1: unknown word 'runs' (a line is 'set ...' or 'run ...')" \
        "$B" suite "$bad" --out "$T/never"
    printf 'run "churn"\n' > "$bad"
    expect 2 "shmbench: $bad:1: quotes, backslashes and '\$' are not taken (a word is what lies between spaces)" \
        "$B" suite "$bad" --out "$T/never"
    printf '# nothing\n' > "$bad"
    expect 2 "shmbench: $bad: no 'run' line" "$B" suite "$bad" --out "$T/never"
    expect 2 "shmbench: suite: bad procs 'many' (1 to 63, or ncpu) (see 'shmbench suite --help')" \
        "$B" suite "$TINY" --procs many --out "$T/never"
    [ ! -e "$T/never" ]; ok $? "a refused suite made its directory"
    expect 2 "shmbench: no suite 'nosuch' (bench/suites/nosuch.suite) (see 'shmbench suite --help')" \
        "$B" suite nosuch
    expect 2 "shmbench: suite needs a NAME or FILE (bench/suites/) (see 'shmbench suite --help')" \
        "$B" suite
    expect 2 "shmbench: --resume takes the suite and its settings from DIR/suite.json: no NAME, --out, --alloc, --procs, --repeat or --print-commands with it (see 'shmbench suite --help')" \
        "$B" suite quick --resume "$T/s"
    expect 1 "shmbench: suite: --resume: $T/nothing/suite.json: No such file or directory" \
        "$B" suite --resume "$T/nothing"
    expect 2 "shmbench: bad --format 'xml' (md, csv or json) (see 'shmbench suite --help')" \
        "$B" suite quick --format xml
    expect 1 "shmbench: suite: $T/s holds a suite already: --resume $T/s finishes it, or give another --out" \
        "$B" suite "$TINY" --out "$T/s"
    expect 2 "shmbench: merge needs OUT (and the directories to join into it) (see 'shmbench merge --help')" \
        "$B" merge
    expect 1 "shmbench: merge: $T/nothing is neither a suite directory (suite.json) nor a run directory (meta.json)" \
        "$B" merge "$T/m2" "$T/nothing"
    expect 2 "shmbench: compare needs two directories, A and B (see 'shmbench compare --help')" \
        "$B" compare "$T/s"
    ;;
parallel)
    if ! command -v parallel >/dev/null 2>&1; then
        echo "skip: no GNU parallel (Debian's parallel package)"
        exit 77
    fi
    "$B" suite "$TINY" --out "$T/s" > /dev/null 2> "$T/err"
    ok $? "suite tiny exited $?: $(tail -3 "$T/err")"
    "$B" suite "$TINY" --out "$T/p" --print-commands > "$T/cmds" 2> "$T/err"
    ok $? "--print-commands exited $?: $(cat "$T/err")"
    [ "$(wc -l < "$T/cmds")" = 16 ]; ok $? "--print-commands: not 16 commands"
    [ ! -e "$T/p/runs/L8-slab-churn-p1-r1" ]; ok $? "--print-commands ran something"
    grep -q "^mkdir -p $T/p/logs && $B run --workload churn:live=200 --ops 20000 --sample-ms 0 --alloc slab --procs 1 --seed 1 --out $T/p/runs/L8-slab-churn-p1-r1 > $T/p/logs/L8-slab-churn-p1-r1.log 2>&1\$" "$T/cmds"
    ok $? "--print-commands: the first command differs: $(head -1 "$T/cmds")"
    parallel -j2 < "$T/cmds" > /dev/null 2>&1      # exits 4: the refused runs
    "$B" merge "$T/p" > /dev/null 2> "$T/err"
    ok $? "merge exited $?: $(cat "$T/err")"
    summary_ok "$T/p"
    python3 - "$T/s/summary.csv" "$T/p/summary.csv" <<'PY'
import csv, sys
a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
keys = ["line", "allocator", "workload", "workload_spec", "procs", "runs", "ok", "refused",
        "ops_median", "fails_median", "peak_live_bytes_median"]
bad = [(x["line"], x["allocator"], x["procs"], k, x[k], y[k])
       for x, y in zip(a, b) for k in keys if x[k] != y[k]]
if len(a) != len(b) or bad:
    sys.exit("direct and parallel summaries differ: %s" % bad[:5])
PY
    ok $? "the parallel suite's summary against the direct one"
    ;;
compare)
    "$B" suite "$TINY" --out "$T/s" --repeat 3 > /dev/null 2> "$T/err"
    ok $? "suite tiny exited $?: $(tail -3 "$T/err")"
    "$B" compare "$T/s" "$T/s" --format csv > "$T/self.csv" 2> "$T/err"
    ok $? "compare with itself exited $?: $(cat "$T/err")"
    python3 - "$T/self.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
bad = [r for r in rows for m in ("throughput", "alloc_p99", "peak_footprint", "internal_frag")
       if r[m + "_ratio"] not in ("", "1") or r[m + "_excludes_1"] != "0"]
if len(rows) != 6 or bad:
    sys.exit("%d rows, %s" % (len(rows), bad[:2]))
PY
    ok $? "compare with itself: not 6 rows of ratio 1 without a mark"
    "$B" compare "$T/s" "$T/s" > "$T/self.md" 2>&1
    ok $? "compare (md) exited $?"
    grep -v "excludes 1" "$T/self.md" | grep -q '\*'
    [ $? = 1 ]; ok $? "compare with itself marked a row: $(cat "$T/self.md")"
    grep -q "^- slab churn:live=200,.* p2: $T/s ran 1.00 ± [0-9.]* times faster than $T/s\$" \
        "$T/self.md"
    ok $? "compare with itself: no hyperfine verdict: $(tail -2 "$T/self.md")"

    "$B" suite "$HERE/suite_slower.suite" --alloc tlsf --out "$T/tlsf" > /dev/null 2> "$T/err"
    ok $? "suite slower on tlsf exited $?: $(tail -2 "$T/err")"
    "$B" suite "$HERE/suite_slower.suite" --alloc freelist --out "$T/fl" > /dev/null 2> "$T/err"
    ok $? "suite slower on freelist exited $?: $(tail -2 "$T/err")"
    "$B" compare "$T/tlsf" "$T/fl" --fail-above 10 > "$T/out" 2> "$T/err"
    [ $? = 1 ]; ok $? "--fail-above 10 on freelist against tlsf did not exit 1: $(cat "$T/out")"
    grep -q "^shmbench: compare: throughput fell by more than 10%: churn:.* p1: freelist ran .* times slower than tlsf" "$T/err"
    ok $? "no regression message: $(cat "$T/err")"
    grep -q "^| tlsf → freelist | churn:live=20000,.* | 1 | 3/3 | 0\.[0-9]* \[.*\] \* |" "$T/out"
    ok $? "the throughput ratio is not marked: $(cat "$T/out")"
    "$B" compare "$T/tlsf" "$T/fl" --fail-above 1000 --format json > "$T/out" 2> "$T/err"
    ok $? "--fail-above 1000 exited $?: $(cat "$T/err")"
    python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
m = j["matches"]
assert j["regressions"] == 0 and len(m) == 1 and m[0]["allocator_b"] == "freelist"
assert m[0]["throughput"]["hi"] < 1 and m[0]["throughput"]["excludes_1"]
' "$T/out"
    ok $? "compare --format json: $(head -c 300 "$T/out")"
    expect 2 "shmbench: bad --fail-above 'x' (a percentage, 0 or more) (see 'shmbench compare --help')" \
        "$B" compare "$T/tlsf" "$T/fl" --fail-above x
    ;;
*)
    echo "usage: suite_cli.sh SHMBENCH run|parallel|compare" >&2
    exit 2
    ;;
esac

echo "suite_cli $PART: $checks checks, $fails failed"
[ "$fails" = 0 ]
