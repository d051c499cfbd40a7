#!/bin/sh
# micro_test.sh SHMBENCH PART: the micro suite and `shmbench micro`.
#
#   cli    micro's usage errors and runtime refusals, exact message and
#          status: unknown options, --benchmark_out (micro's own), a missing
#          --out value, an --out that is a file, a shmbench with no
#          shmbench-micro beside it; runs without google-benchmark too
#   suite  shmbench-micro on slab and glibc, briefly: every expected
#          benchmark name is in its JSON, none other; lock/glibc is skipped
#          with a message and lock/slab is not; slab's and glibc's
#          alloc_free and batch cases ran with a rate; `shmbench micro --out
#          DIR` writes micro.json and meta.json (which parse, with the fields
#          meta.json promises), and without --out into
#          results/micro/<date>-<n>, n counting up; a bad google-benchmark
#          flag makes micro fail with exit 1 and meta.json marked failed.
#          Needs python3 to read JSON (skipped without it).
set -u
B=$1
PART=$2
case $B in
/*) ;;
*) B=$PWD/$B ;;
esac
T=$(mktemp -d "${TMPDIR:-/tmp}/micro_test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/cli_lib.sh"

see="(see 'shmbench micro --help')"

part_cli() {
    expect 2 "shmbench: unknown option '--frob' for micro $see" "$B" micro --frob
    expect 2 "shmbench: unexpected argument 'extra' for micro $see" "$B" micro extra
    expect 2 "shmbench: option '--out' needs a value $see" "$B" micro --out
    expect 2 "shmbench: --out needs a directory $see" "$B" micro --out ''
    expect 2 "shmbench: '--benchmark_out=x.json' is set by micro (micro.json in --out DIR) $see" \
        "$B" micro --benchmark_out=x.json
    expect 2 "shmbench: '--benchmark_out_format=csv' is set by micro (micro.json in --out DIR) $see" \
        "$B" micro --benchmark_out_format=csv
    : > "$T/file"
    if [ -x "$(dirname "$B")/shmbench-micro" ]; then
        expect 1 "shmbench: micro: $T/file is not a directory" "$B" micro --out "$T/file"
    fi
    mkdir "$T/bin"
    cp "$B" "$T/bin/shmbench"
    expect 1 "shmbench: micro: $T/bin/shmbench-micro: No such file or directory (this build has no google-benchmark: install libbenchmark-dev and build again)" \
        "$T/bin/shmbench" micro --out "$T/none"
    [ -e "$T/none" ] && fail "micro made --out although it had no suite to run"
}

part_suite() {
    M=$(dirname "$B")/shmbench-micro
    if ! command -v python3 > /dev/null; then
        echo "skip suite: no python3 to read the JSON output"
        exit 77
    fi
    page=$(getconf PAGESIZE)

    checks=$((checks + 1))
    "$M" '--benchmark_filter=^(alloc_free|batch|lock)/(slab|glibc)(/|$)' \
        --benchmark_min_time=0.01 --benchmark_format=json > "$T/suite.json" 2> "$T/err" \
        || fail "shmbench-micro exited $?: $(cat "$T/err")"
    checks=$((checks + 1))
    python3 - "$T/suite.json" "$page" > "$T/py" 2>&1 << 'PY' || fail "suite.json: $(cat "$T/py")"
import json, sys
doc = json.load(open(sys.argv[1]))
page = int(sys.argv[2])
sizes = [8 << i for i in range(9)] + [page, 2 * page]
want = set()
for a in ("slab", "glibc"):
    want |= {"alloc_free/%s/%d" % (a, s) for s in sizes}
    want |= {"batch/%s/%d/1000" % (a, s) for s in sizes}
    want.add("lock/" + a)
runs = {b["name"]: b for b in doc["benchmarks"]}
bad = []
if set(runs) != want:
    bad.append("missing %s, unexpected %s" % (sorted(want - set(runs)), sorted(set(runs) - want)))
g = runs.get("lock/glibc", {})
if not g.get("error_occurred") or not g.get("error_message"):
    bad.append("lock/glibc was not skipped with a message: %r" % g)
for n, b in runs.items():
    if n == "lock/glibc":
        continue
    if b.get("error_occurred"):
        bad.append("%s: error %r" % (n, b.get("error_message")))
    elif not b.get("items_per_second", 0) > 0:
        bad.append("%s: no items_per_second" % n)
    elif not n.startswith("lock/") and not b.get("ops", 0) > 0:
        bad.append("%s: no ops rate" % n)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

    checks=$((checks + 1))
    "$B" micro --out "$T/m" '--benchmark_filter=^lock/(slab|glibc)$' \
        --benchmark_min_time=0.01 > "$T/out" 2> "$T/err" \
        || fail "shmbench micro exited $?: $(cat "$T/err")"
    grep -q "^micro: results in $T/m (micro.json, meta.json)$" "$T/out" \
        || fail "micro printed no result line: $(tail -2 "$T/out")"
    grep -q '^lock/slab ' "$T/out" || fail "micro's console table has no lock/slab line"
    checks=$((checks + 1))
    python3 - "$T/m" > "$T/py" 2>&1 << 'PY' || fail "micro --out: $(cat "$T/py")"
import json, sys
d = sys.argv[1]
bench = json.load(open(d + "/micro.json"))
meta = json.load(open(d + "/meta.json"))
bad = []
names = sorted(b["name"] for b in bench["benchmarks"])
if names != ["lock/glibc", "lock/slab"]:
    bad.append("micro.json has %s" % names)
for k in ("command", "suite_command", "git", "compiler", "kernel", "cpu_model", "cores",
          "date", "exit_status"):
    if k not in meta:
        bad.append("meta.json has no %s" % k)
if meta.get("command", [])[:2] != ["shmbench", "micro"] or meta.get("failed") is not False \
        or meta.get("exit_status") != 0:
    bad.append("meta.json: command %r, failed %r, exit_status %r"
               % (meta.get("command"), meta.get("failed"), meta.get("exit_status")))
if "--benchmark_out_format=json" not in meta.get("suite_command", []):
    bad.append("suite_command %r" % meta.get("suite_command"))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

    # Without --out: results/micro/<date>-<n> under the working directory,
    # the first n not taken (the day read back from the names, so that a
    # run across midnight cannot fail it).
    checks=$((checks + 1))
    mkdir "$T/cwd"
    for n in 1 2; do
        (cd "$T/cwd" && "$B" micro '--benchmark_filter=^lock/slab$' \
            --benchmark_min_time=0.01 > "$T/out" 2> "$T/err") \
            || fail "micro without --out exited $?: $(cat "$T/err")"
    done
    got=$(cd "$T/cwd/results/micro" 2> /dev/null && ls | tr '\n' ' ')
    day=${got%%-1 *}
    case "$day" in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) ;;
    *) day=none ;;
    esac
    [ "$got" = "$day-1 $day-2 " ] || fail "micro without --out made results/micro/{$got}"
    for n in 1 2; do
        [ -s "$T/cwd/results/micro/$day-$n/micro.json" ] \
            && [ -s "$T/cwd/results/micro/$day-$n/meta.json" ] \
            || fail "micro without --out: no micro.json and meta.json in $day-$n"
    done
    grep -q "^micro: results in results/micro/$day-2 " "$T/out" \
        || fail "micro without --out: $(tail -1 "$T/out")"

    # The suite refuses a flag it does not know: micro says so and fails.
    checks=$((checks + 1))
    "$B" micro --out "$T/bad" --benchmark_frob=1 > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 1 ] || fail "micro with a bad flag exited $rc, want 1"
    tail -1 "$T/err" | grep -qx "shmbench: micro: shmbench-micro exited with status 2" \
        || fail "micro with a bad flag: $(cat "$T/err")"
    grep -q '"failed": true' "$T/bad/meta.json" 2> /dev/null \
        || fail "micro with a bad flag: meta.json not marked failed"
}

case $PART in
    cli) part_cli ;;
    suite) part_suite ;;
    *) echo "micro_test.sh: unknown part '$PART'" >&2; exit 2 ;;
esac
echo "micro $PART: $checks checks, $fails failed"
[ $fails -eq 0 ]
