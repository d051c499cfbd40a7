#!/bin/sh
# stat_pid_fake.sh SHMBENCH STAT_PID_FAKE
#
# `shmbench stat --pid` of stat_pid_fake (tests/stat_pid_fake.c), a process
# whose zones are made as nginx makes them, by nginx's own slab code:
#   idle      zone "f" is found and named from its log context (feature
#             "fake"), the zone without one is "zone@ADDRESS", the one-page
#             mapping is left out, and listed by --all; the figures agree
#             with each other (free pages * 4096 = free_space, JSON =
#             text); --lock (root) reads it and leaves the lock free
#   corrupt   f's free-page count one too many: "zone is corrupt" naming
#             the checker's finding, exit 1, the other zone still printed
#   midop     f's lock held by a live process and its free-page count one
#             off, as a worker stopped mid-operation leaves it: not corrupt
#             but "changed while reading" after --tries 3, naming the holder
#   hold      f's lock held by a live process: read without the lock all
#             the same; --lock --wait 100 says busy within the bound
#   dead      f's lock held by a pid that has exited: --lock says so at
#             once; without the lock it reads
#   gone      as nobody its memory may not be read (root, with setpriv);
#             --watch ends with status 1 when the process goes
#   usage     the options that do not go with --pid
# Skips (77) without the nginx allocator, or where this user may not read
# another process's memory.
set -u
B=$1
F=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/stat_pid_fake.XXXXXX") || exit 1
FAKE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2> /dev/null
    wait
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/cli_lib.sh"

# start MODE: run the fake in the background until it is ready; FAKE.
start() {
    "$F" "$1" > "$T/fake.out" 2> "$T/fake.err" &
    FAKE=$!
    i=0
    while ! grep -qx ready "$T/fake.out" 2> /dev/null; do
        if ! kill -0 "$FAKE" 2> /dev/null; then
            wait "$FAKE"
            rc=$?
            FAKE=""
            [ "$rc" = 77 ] && { cat "$T/fake.out"; exit 77; }
            echo "FAIL: stat_pid_fake $1 exited $rc: $(cat "$T/fake.err")" >&2
            exit 1
        fi
        i=$((i + 1))
        [ $i -gt 200 ] && { echo "FAIL: stat_pid_fake $1 is not ready" >&2; exit 1; }
        sleep 0.05
    done
}

# stop: end the fake; its status must be 0 (the lock word as it left it).
stop() {
    kill -TERM "$FAKE"
    wait "$FAKE"
    rc=$?
    checks=$((checks + 1))
    [ "$rc" = 0 ] || fail "stat_pid_fake ended with $rc: a lock word was changed"
    FAKE=""
}

root=0
[ "$(id -u)" = 0 ] && root=1

# --- idle ------------------------------------------------------------------
start idle
if ! "$B" stat --pid "$FAKE" > "$T/i.txt" 2> "$T/i.err"; then
    if grep -q "cannot read the memory" "$T/i.err"; then
        echo "skip: $(cat "$T/i.err")"
        exit 77
    fi
    fail "stat --pid of the idle fake: $(cat "$T/i.err")"
fi
checks=$((checks + 1))
grep -q "^# nginx pid $FAKE: .*, 2 slab zones$" "$T/i.txt" || fail "head: $(head -1 "$T/i.txt")"
grep -q '^zone: fake "f", 1048576 bytes at 0x' "$T/i.txt" || fail "zone f not found by name"
grep -q "^\* shared memory: zone@0x" "$T/i.txt" || fail "the unnamed zone is not zone@ADDRESS"
grep -q '^zone: log context "", 65536 bytes' "$T/i.txt" || fail "the unnamed zone's line"
[ "$(grep -c "^read: without the lock: consistent at copy 1 of at most 20$" "$T/i.txt")" = 2 ] \
    || fail "the zones of a still process did not read at the first copy"
free=$(awk '$0 == "* shared memory: f" {on = 1} on && /^data pages:/ {print $6; exit}' "$T/i.txt")
space=$(awk '$0 == "* shared memory: f" {on = 1} on && /^free_space:/ {print $2; exit}' "$T/i.txt")
[ -n "$free" ] && [ "$((free * 4096))" = "$space" ] || fail "f: $free free pages, free_space $space"
grep -q "^not a slab zone" "$T/i.txt" && fail "the one-page mapping was listed without --all"
"$B" stat --pid "$FAKE" --all > "$T/a.txt" 2> "$T/a.err" || fail "--all: $(cat "$T/a.err")"
grep -q "^not a slab zone: 0x[0-9a-f]*-0x[0-9a-f]* (4096 bytes, /dev/zero (deleted)): 4096 bytes: too small for a slab zone$" \
    "$T/a.txt" || fail "--all does not list the one-page mapping"
if command -v python3 > /dev/null 2>&1; then
    checks=$((checks + 1))
    "$B" stat --pid "$FAKE" --format json > "$T/j.json" 2> "$T/j.err" || fail "json: $(cat "$T/j.err")"
    python3 - "$T/j.json" "$space" << 'PY' || fail "the JSON print: see above"
import json, sys
j = json.load(open(sys.argv[1]))
f = j["f"]
assert len(j) == 2 and f["feature"] == "fake" and f["log_ctx"] == ' in fake zone "f"', j.keys()
assert f["free_space"] == int(sys.argv[2]) == 4096 * f["pages"]["free"], f
assert sum(s["used"] for s in f["slots"].values()) > 0
PY
fi
if [ $root = 1 ]; then
    checks=$((checks + 1))
    "$B" stat --pid "$FAKE" --lock > "$T/l.txt" 2> "$T/l.err" || fail "--lock: $(cat "$T/l.err")"
    [ "$(grep -c "^read: under the zone's lock" "$T/l.txt")" = 2 ] || fail "--lock did not lock"
    sed '/^read:/d' "$T/i.txt" > "$T/i2.txt"
    sed '/^read:/d' "$T/l.txt" | cmp -s - "$T/i2.txt" || fail "--lock printed other figures"
fi
stop

# --- corrupt ---------------------------------------------------------------
start corrupt
expect_first 1 "shmbench: stat --pid $FAKE: zone \"f\": zone is corrupt: slab_check(): free runs hold 186 pages, pfree says 187" \
    "$B" stat --pid "$FAKE"
checks=$((checks + 1))
grep -q "^\* shared memory: zone@0x" "$T/out" || fail "the other zone was not printed"
stop

# --- midop -----------------------------------------------------------------
start midop
expect_first 1 "shmbench: stat --pid $FAKE: zone \"f\": changed while reading: 3 tries without the lock, none consistent; pid $FAKE held its lock, mid-operation (the last said: slab_check(): free runs hold 186 pages, pfree says 187)" \
    "$B" stat --pid "$FAKE" --tries 3
stop

# --- hold ------------------------------------------------------------------
start hold
checks=$((checks + 1))
"$B" stat --pid "$FAKE" > "$T/h.txt" 2> "$T/h.err" || fail "reading a zone whose lock is held: $(cat "$T/h.err")"
if [ $root = 1 ]; then
    t0=$(date +%s%N)
    expect_first 1 "shmbench: stat --pid $FAKE: zone \"f\": zone is busy: its lock was not free for 100 ms (last held by pid $FAKE)" \
        "$B" stat --pid "$FAKE" --lock --wait 100
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    checks=$((checks + 1))
    [ "$ms" -lt 2000 ] || fail "--wait 100 took $ms ms"
fi
stop

# --- dead ------------------------------------------------------------------
start dead
checks=$((checks + 1))
"$B" stat --pid "$FAKE" > "$T/d.txt" 2> "$T/d.err" || fail "reading a zone whose holder died: $(cat "$T/d.err")"
if [ $root = 1 ]; then
    # said at once, not after the minute it may wait
    t0=$(date +%s%N)
    "$B" stat --pid "$FAKE" --lock --wait 60000 > "$T/out" 2> "$T/err"
    rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    checks=$((checks + 1))
    [ "$rc" = 1 ] && [ "$ms" -lt 5000 ] \
        && grep -q "^shmbench: stat --pid $FAKE: zone \"f\": its lock is held by pid [0-9]*, which no longer exists" "$T/err" \
        || fail "--lock on a dead holder's lock: status $rc after $ms ms: $(cat "$T/err")"
fi
stop

# --- permission, and a process that goes ----------------------------------
start idle
if [ $root = 1 ] && command -v setpriv > /dev/null 2>&1 \
   && setpriv --reuid=65534 --regid=65534 --clear-groups "$B" --help > /dev/null 2>&1; then
    expect_first 1 "shmbench: stat --pid $FAKE: cannot read the memory of pid $FAKE: Permission denied (run as root or as the user nginx's workers run as; /proc/sys/kernel/yama/ptrace_scope is $(cat /proc/sys/kernel/yama/ptrace_scope 2> /dev/null || echo 'not set: no Yama'))" \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$B" stat --pid "$FAKE"
fi
"$B" stat --pid "$FAKE" --watch 1 --format json > "$T/w.json" 2> "$T/w.err" &
WATCH=$!
sleep 1.5
stop
ends_within "$WATCH" 50 "--watch, when the process went,"
rc=$ended
[ "$rc" = 1 ] && grep -q "^shmbench: stat --pid [0-9]*: \(no such process\|the process exited while it was read\)$" "$T/w.err" \
    || fail "--watch's end: status $rc: $(cat "$T/w.err")"
[ "$(grep -c '^{$' "$T/w.json")" -ge 2 ] || fail "--watch 1 --format json printed $(grep -c '^{$' "$T/w.json") objects in 1.5 s"

# --- usage -----------------------------------------------------------------
expect 2 "shmbench: --alloc goes with --after-replay, not with --pid (see 'shmbench stat --help')" \
    "$B" stat --pid 1 --alloc slab
expect 2 "shmbench: give --pid PID or --after-replay TRACE, not both (see 'shmbench stat --help')" \
    "$B" stat --after-replay t.trace --pid 1
expect 2 "shmbench: --format xml: expected text or json (see 'shmbench stat --help')" \
    "$B" stat --pid 1 --format xml
expect 2 "shmbench: --pid given twice (see 'shmbench stat --help')" "$B" stat --pid 1 --pid 2

echo "stat_pid_fake: $checks checks, $fails failed"
[ "$fails" = 0 ]
