#!/bin/sh
# stat_live.sh SHMBENCH STAT_HOLDER
#
# `shmbench stat NAME` on zones that other processes use (stat_holder.c is
# the other process):
#   live      slab, tlsf, freelist and lfslab zones that two workers churn:
#             every stat of a series succeeds, under the lock, none says
#             corrupt; the zone is consistent once they stop
#   busy      a live process holds the lock: "busy" within the --wait bound,
#             exit 1; SIGTERM ends a waiting stat at once; --no-lock reads
#             it, naming the holder
#   dead      the lock names a process that died holding it: said at once,
#             not after the bound; --no-lock reads it; after a force-unlock
#             stat takes the lock again
#   unchanged stat (locked, json, --no-lock, refused) leaves every byte of a
#             quiescent zone as it was, and its resident size too (the copy
#             skips the pages never written: a 64 MiB zone stays small)
#   json      --format json parses (python3 -m json.tool, skipped without
#             python3) and has the documented fields, page fields only for a
#             paged allocator
#   nopages   tlsf's text has no page lines: its free blocks, in its terms
#   usage     bad options exit 2 with their message
set -u
B=$1
H=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/stat_live.XXXXXX") || exit 1
Z=/shmbench-statlive-$$
BG=""
cleanup() {
    for p in $BG; do
        kill "$p" 2> /dev/null
    done
    wait
    rm -rf "$T"
    rm -f /dev/shm"$Z"-*
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/cli_lib.sh"

# ready FILE: wait (20 s at most) until a background helper wrote "ready"
# (each helper gets a file of its own: the shell may create it after this
# starts looking).
ready() {
    i=0
    while ! grep -qx ready "$1" 2> /dev/null; do
        i=$((i + 1))
        [ $i -gt 200 ] && return 1
        sleep 0.1
    done
}

# stop PID: end a background helper (SIGTERM) and give its exit status.
stop() {
    kill -TERM "$1" 2> /dev/null
    wait "$1"
}

now_ms() {
    date +%s%3N
}

sum_zone() {
    cksum < "/dev/shm$1"
}

# make ALLOC NAME SIZE
make() {
    "$H" make "$1" "$2" "$3" || { fail "stat_holder make $*"; return 1; }
}

part_live() {
    for alloc in slab tlsf freelist lfslab; do
        name=$Z-$alloc
        make $alloc "$name" 8388608 || continue
        "$H" churn "$name" 2 > "$T/churn.$alloc" 2>&1 &
        cpid=$!
        BG="$BG $cpid"
        ready "$T/churn.$alloc" || { fail "$alloc: churn never started: $(cat "$T/churn.$alloc")"; continue; }
        ok=0 corrupt=0 n=0
        while [ $n -lt 12 ]; do
            n=$((n + 1))
            checks=$((checks + 1))
            # Busy is a fair answer on a loaded machine; corrupt never is.
            "$B" stat --wait 10000 "$name" > "$T/s" 2> "$T/e"
            rc=$?
            if [ $rc -eq 0 ] && grep -q '^lock taken by stat: ' "$T/s"; then
                ok=$((ok + 1))
            else
                grep -q corrupt "$T/e" && corrupt=$((corrupt + 1))
                fail "$alloc: stat of a churned zone, try $n: exit $rc: $(cat "$T/e")"
            fi
        done
        echo "$alloc: $ok of $n stats of a churned zone succeeded, $corrupt said corrupt"
        checks=$((checks + 1))
        stop $cpid || fail "$alloc: churn exited $?: $(cat "$T/churn.$alloc")"
        checks=$((checks + 1))
        "$B" stat "$name" > "$T/s" 2> "$T/e" || fail "$alloc: stat after the churn: $(cat "$T/e")"
    done
}

part_busy() {
    name=$Z-busy
    make slab "$name" 1048576 || return
    "$H" hold "$name" > "$T/hold" 2>&1 &
    hpid=$!
    BG="$BG $hpid"
    ready "$T/hold" || { fail "hold never started: $(cat "$T/hold")"; return; }
    before=$(sum_zone "$name")
    t0=$(now_ms)
    expect 1 "shmbench: stat $name: zone is busy: its lock is held by pid $hpid for over 300 ms" \
        "$B" stat --wait 300 "$name"
    t1=$(now_ms)
    checks=$((checks + 1))
    [ $((t1 - t0)) -ge 300 ] && [ $((t1 - t0)) -lt 3000 ] \
        || fail "busy after $((t1 - t0)) ms, want 300 .. 3000"
    expect 1 "shmbench: stat $name: zone is busy: its lock is held by pid $hpid for over 0 ms" \
        "$B" stat --wait 0 "$name"
    checks=$((checks + 1))
    "$B" stat --no-lock "$name" > "$T/s" 2> "$T/e" || fail "--no-lock while held: $(cat "$T/e")"
    grep -qx "lock not taken: 1 copy read without it; the lock is held by pid $hpid" "$T/s" \
        || fail "--no-lock while held: $(tail -1 "$T/s")"
    # A stat waiting for the lock ends on SIGTERM at once, not after --wait.
    checks=$((checks + 1))
    "$B" stat --wait 60000 "$name" > /dev/null 2>&1 &
    spid=$!
    sleep 0.5
    t0=$(now_ms)
    kill -TERM $spid
    wait $spid
    rc=$?
    t1=$(now_ms)
    [ $rc -eq 143 ] && [ $((t1 - t0)) -lt 2000 ] \
        || fail "SIGTERM while waiting: exit $rc after $((t1 - t0)) ms"
    checks=$((checks + 1))
    [ "$(sum_zone "$name")" = "$before" ] || fail "a refused stat changed the zone"
    checks=$((checks + 1))
    stop $hpid || fail "hold exited $?"
    "$B" stat "$name" > "$T/s" 2> "$T/e" || fail "stat after the holder let go: $(cat "$T/e")"
}

part_dead() {
    name=$Z-dead
    make tlsf "$name" 1048576 || return
    "$H" die "$name" &
    dpid=$!
    wait $dpid
    before=$(sum_zone "$name")
    t0=$(now_ms)
    expect 1 "shmbench: stat $name: the lock is held by pid $dpid, which no longer exists: use --no-lock, or force-unlock it" \
        "$B" stat --wait 5000 "$name"
    t1=$(now_ms)
    checks=$((checks + 1))
    [ $((t1 - t0)) -lt 2000 ] || fail "a dead holder was reported after $((t1 - t0)) ms"
    checks=$((checks + 1))
    "$B" stat --no-lock "$name" > "$T/s" 2> "$T/e" || fail "--no-lock, dead holder: $(cat "$T/e")"
    grep -qx "lock not taken: 1 copy read without it; the lock is held by pid $dpid, which no longer exists" "$T/s" \
        || fail "--no-lock, dead holder: $(tail -1 "$T/s")"
    checks=$((checks + 1))
    [ "$(sum_zone "$name")" = "$before" ] || fail "stat changed a zone with a dead holder"
    checks=$((checks + 1))
    "$H" unlock "$name" $dpid || fail "force-unlock"
    "$B" stat "$name" > "$T/s" 2> "$T/e" || fail "stat after the force-unlock: $(cat "$T/e")"
}

part_unchanged() {
    name=$Z-same
    make slab "$name" 4194304 || return
    "$H" churn "$name" 1 > "$T/churn.same" 2>&1 &
    cpid=$!
    BG="$BG $cpid"
    ready "$T/churn.same" || { fail "churn never started: $(cat "$T/churn.same")"; return; }
    sleep 0.2
    stop $cpid || fail "churn exited $?"
    before=$(sum_zone "$name")
    for args in "" "--format json" "--no-lock" "--wait 0"; do
        checks=$((checks + 1))
        "$B" stat $args "$name" > "$T/s" 2> "$T/e" || fail "stat $args: $(cat "$T/e")"
        [ "$(sum_zone "$name")" = "$before" ] || fail "stat $args changed the zone's bytes"
    done

    # The copy reads only what was written: resident stays as it was.
    name=$Z-big
    make slab "$name" 67108864 || return
    checks=$((checks + 1))
    r1=$("$B" stat "$name" | awk '/^resident:/ { print $2 }')
    r2=$("$B" stat "$name" | awk '/^resident:/ { print $2 }')
    [ -n "$r1" ] && [ "$r1" = "$r2" ] && [ "$r1" -lt 8388608 ] \
        || fail "resident of an untouched 64 MiB zone: $r1, then $r2"
}

part_json() {
    if ! command -v python3 > /dev/null; then
        echo "skip json: no python3 to parse the output"
        return
    fi
    make slab "$Z-js" 1048576 || return
    make tlsf "$Z-jt" 1048576 || return
    printf 'pages 8\na 1 100\na 2 5000\nf 1\n' > "$T/t.trace"
    "$B" stat --format json "$Z-js" > "$T/slab.json" 2> "$T/e" || fail "json slab: $(cat "$T/e")"
    "$B" stat --format json "$Z-jt" > "$T/tlsf.json" 2> "$T/e" || fail "json tlsf: $(cat "$T/e")"
    "$B" stat --format json --no-lock "$Z-jt" > "$T/nolock.json" 2> "$T/e" \
        || fail "json --no-lock: $(cat "$T/e")"
    "$B" stat --format json --after-replay "$T/t.trace" > "$T/replay.json" 2> "$T/e" \
        || fail "json after replay: $(cat "$T/e")"
    for f in slab tlsf nolock replay; do
        checks=$((checks + 1))
        python3 -m json.tool "$T/$f.json" > /dev/null 2> "$T/e" || fail "$f.json: $(cat "$T/e")"
    done
    checks=$((checks + 1))
    python3 - "$T" "$Z" << 'EOF' || fail "json fields"
import json, sys
t, z = sys.argv[1], sys.argv[2]
def load(n):
    return json.load(open("%s/%s.json" % (t, n)))
def need(d, keys, what):
    for k in keys:
        if k not in d:
            sys.exit("%s: no %s in %s" % (what, k, sorted(d)))
common = ["name", "source", "allocator", "zone_bytes", "data_bytes", "free_bytes",
          "footprint_bytes", "largest_alloc_bytes", "fails", "resident_bytes", "lock"]
paged = ["page_size", "pages", "pages_free"]
s, l, n, r = load("slab"), load("tlsf"), load("nolock"), load("replay")
need(s, common + paged + ["read", "free_runs", "free_run_count",
     "largest_free_run_bytes", "slots", "slot_fails", "larger_fails"], "slab")
need(l, common + ["read", "free_runs"], "tlsf")
for k in paged + ["slots", "slot_fails"]:
    if k in l:
        sys.exit("tlsf has %s" % k)
need(s["read"], ["locked", "copies", "lock_wait_ns", "lock_hold_ns"], "read")
need(s["lock"], ["acquisitions", "contended", "spins", "yields", "sleeps",
     "owner_switches", "force_unlocks", "wait_ns", "wait_max_ns", "hold_ns",
     "hold_samples"], "lock")
need(s["slots"][0], ["size", "total", "used", "reqs", "fails"], "slot")
need(l["free_runs"][0], ["bytes", "start", "end"], "free run")
assert s["name"] == z + "-js" and s["source"] == "zone" and s["allocator"] == "slab", s
assert s["read"]["locked"] is True and s["read"]["copies"] == 1, s["read"]
assert n["read"]["locked"] is False and n["read"]["lock_holder_pid"] == 0, n["read"]
assert r["source"] == "replay" and "read" not in r, r
assert sum(x["bytes"] for x in s["free_runs"]) == s["pages_free"] * s["page_size"], s
assert s["free_run_count"] == len(s["free_runs"]), s
EOF
}

part_nopages() {
    name=$Z-np
    make tlsf "$name" 1048576 || return
    checks=$((checks + 1))
    "$B" stat "$name" > "$T/s" 2> "$T/e" || { fail "tlsf stat: $(cat "$T/e")"; return; }
    if grep -E '^pages|size:|\(KB\) free: +0\(KB\)' "$T/s"; then
        fail "tlsf's stat has page lines"
    fi
    grep -Eq '^total: +1024\(KB\) free: +[1-9][0-9]*\(KB\)$' "$T/s" || fail "tlsf total line: $(head -2 "$T/s")"
    grep -Eq '^free block: +[0-9]+\(KB\) start: +[0-9]+ end: +[0-9]+$' "$T/s" || fail "no free block line"
    grep -Eq '^largest free block: [1-9][0-9]* bytes \(largest allocation now: [1-9][0-9]* bytes\)$' "$T/s" \
        || fail "no largest free block line: $(grep largest "$T/s")"
    checks=$((checks + 1))
    "$B" stat "$Z-busy" > "$T/s" 2> "$T/e" || { fail "slab stat: $(cat "$T/e")"; return; }
    grep -Eq '^total: +[0-9]+\(KB\) free: +[0-9]+\(KB\) size: +4\(KB\)$' "$T/s" && grep -q '^pages free: ' "$T/s" \
        || fail "the slab lost its page lines"
}

part_usage() {
    expect 2 "shmbench: --wait bounds the wait for the lock, which --no-lock does not take (see 'shmbench stat --help')" \
        "$B" stat --no-lock --wait 5 /x
    expect 2 "shmbench: --format xml: expected text or json (see 'shmbench stat --help')" \
        "$B" stat --format xml /x
    expect 2 "shmbench: --wait and --no-lock go with a zone NAME: a replay's zone is this process's own (see 'shmbench stat --help')" \
        "$B" stat --after-replay /dev/null --no-lock
    expect 2 "shmbench: bad number 'soon' for --wait (see 'shmbench stat --help')" \
        "$B" stat --wait soon /x
    expect 2 "shmbench: option '--no-lock' takes no value (see 'shmbench stat --help')" \
        "$B" stat --no-lock=1 /x
}

part_live
part_busy
part_dead
part_unchanged
part_json
part_nopages
part_usage

echo "stat_live: $checks checks, $fails failed"
[ $fails -eq 0 ]
