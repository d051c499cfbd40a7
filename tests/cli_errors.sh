#!/bin/sh
# cli_errors.sh SHMBENCH PART [CONFORMANCE_DIR]
#
# Black-box tests of the shmbench command line, one PART per ctest:
#   errors  every kind of bad input gives its exact message and exit status
#           (1 runtime, 2 usage), malformed traces with FILE:LINE (a NUL
#           byte named, control bytes escaped); a few valid edge cases (ID
#           reuse, free of a failed allocation)
#   stat    replay into a kept posix zone, `stat` it from this process (the
#           slot table equals the replay's), then corrupt it: `stat` must
#           refuse with exit 1, not die of a signal; a FIFO and a directory
#           in /dev/shm are refused at once
#   bench   a short `bench` run prints its lines, with the op sequence's
#           fragmentation figures pinned
#   help    every --help prints usage and exits 0
set -u
B=$1
PART=$2
CONF=${3:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/cli_test.XXXXXX") || exit 1
ZONE=/shmbench-test-$$
cleanup() {
    rm -rf "$T"
    rm -f "/dev/shm${ZONE}" "/dev/shm${ZONE}-fifo"
    rmdir "/dev/shm${ZONE}-dir" 2> /dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/cli_lib.sh"

# trace NAME TEXT: write $T/NAME.trace (printf format).
trace() {
    printf "$2" > "$T/$1.trace"
}

part_errors() {
    known=$("$B" list | awk '$3 != "not" && $2 != "-" { printf "%s%s", s, $1; s = ", " }')

    # Malformed traces: exit 1, FILE:LINE.
    trace op 'pages 4\na 1 8\nx 2\n'
    expect 1 "shmbench: $T/op.trace:3: unknown op 'x' (expected a, f, pages, pagesize or #)" \
        "$B" replay "$T/op.trace"
    trace missing 'pages 4\n# comment\na 1\n'
    expect 1 "shmbench: $T/missing.trace:3: missing SIZE: expected 'a ID SIZE'" \
        "$B" replay "$T/missing.trace"
    trace missing2 'pages 4\nf\n'
    expect 1 "shmbench: $T/missing2.trace:2: missing ID: expected 'f ID'" \
        "$B" replay "$T/missing2.trace"
    trace extra 'pages 4\na 1 8\nf 1 2\n'
    expect 1 "shmbench: $T/extra.trace:3: extra field '2': expected 'f ID'" \
        "$B" replay "$T/extra.trace"
    trace nonnum 'pages 4\na 1 12k\n'
    expect 1 "shmbench: $T/nonnum.trace:2: SIZE '12k' is not a decimal number" \
        "$B" replay "$T/nonnum.trace"
    trace overflow 'pages 4\na 18446744073709551616 8\n'
    expect 1 "shmbench: $T/overflow.trace:2: ID '18446744073709551616' does not fit in 64 bits" \
        "$B" replay "$T/overflow.trace"
    trace dup 'pages 4\na 1 8\na 2 8\na 1 16\n'
    expect 1 "shmbench: $T/dup.trace:4: a of ID 1, which is still live (allocated at line 2)" \
        "$B" replay "$T/dup.trace"
    trace unknown 'pages 4\na 1 8\nf 9\n'
    expect 1 "shmbench: $T/unknown.trace:3: f of ID 9, which was never allocated" \
        "$B" replay "$T/unknown.trace"
    trace twice 'pages 4\na 1 8\nf 1\n\nf 1\n'
    expect 1 "shmbench: $T/twice.trace:5: f of ID 1, which was already freed at line 3" \
        "$B" replay "$T/twice.trace"
    trace nopages '# no pages line\na 1 8\n'
    expect 1 "shmbench: $T/nopages.trace:2: no 'pages N' line before the first op (\"slab\" needs one, or --zone-size)" \
        "$B" replay "$T/nopages.trace"
    trace late 'pages 4\na 1 8\npages 8\n'
    expect 1 "shmbench: $T/late.trace:3: 'pages' after the first op (line 2)" \
        "$B" replay "$T/late.trace"
    trace order 'pages 4\npagesize 4096\n'
    expect 1 "shmbench: $T/order.trace:2: 'pagesize' after 'pages' (line 1): it must come first" \
        "$B" replay "$T/order.trace"
    trace pow2 'pagesize 5000\npages 4\na 1 8\n'
    expect 1 "shmbench: $T/pow2.trace:1: pagesize 5000 is not a power of two" \
        "$B" replay "$T/pow2.trace"
    trace unsupported '# tiny pages\npagesize 1024\npages 4\na 1 8\n'
    expect 1 "shmbench: $T/unsupported.trace:2: pagesize 1024 is not supported by \"slab\"" \
        "$B" replay "$T/unsupported.trace"
    trace nul 'pages 4\na 1 8\000 9\n'
    expect 1 "shmbench: $T/nul.trace:2: line holds a NUL byte (at byte 6): a trace is text" \
        "$B" replay "$T/nul.trace"
    trace escape 'pages 4\na 1 8\n\033[2J\033[31mred 2\n'
    expect 1 "shmbench: $T/escape.trace:3: unknown op '\\x1b[2J\\x1b[31mred' (expected a, f, pages, pagesize or #)" \
        "$B" replay "$T/escape.trace"

    # Runtime errors outside the trace: exit 1.
    trace good 'pages 4\na 1 8\na 2 5000\nf 1\n'
    expect 1 "shmbench: replay: zone of 4096 bytes is too small for \"slab\": the minimum is 8192 bytes" \
        "$B" replay --zone-size 4096 "$T/good.trace"
    expect 1 "shmbench: $T/none.trace: No such file or directory" \
        "$B" replay "$T/none.trace"
    expect 1 "shmbench: $T: Is a directory" "$B" replay "$T"
    expect 1 "shmbench: replay: --pagesize 1024 is not supported by \"slab\"" \
        "$B" replay --pagesize 1024 "$T/good.trace"

    # Usage errors: exit 2, with the hint.
    expect 2 "shmbench: unknown option '--foo' for replay (see 'shmbench replay --help')" \
        "$B" replay --foo "$T/good.trace"
    expect 2 "shmbench: unexpected argument 'extra' for replay (see 'shmbench replay --help')" \
        "$B" replay "$T/good.trace" extra
    expect 2 "shmbench: option '--alloc' needs a value (see 'shmbench replay --help')" \
        "$B" replay "$T/good.trace" --alloc
    expect 2 "shmbench: replay needs a TRACE file (see 'shmbench replay --help')" \
        "$B" replay --offsets
    expect 2 "shmbench: unknown command 'frob' (see 'shmbench --help')" "$B" frob
    expect 2 "shmbench: unknown option '--frob' (see 'shmbench --help')" "$B" --frob
    expect 2 "shmbench: bad number '12x' for --rounds (see 'shmbench bench --help')" \
        "$B" bench --rounds 12x
    expect 2 "shmbench: bad number '' for --zone-size (see 'shmbench replay --help')" \
        "$B" replay --zone-size= "$T/good.trace"
    expect 2 "shmbench: --live 0 is out of range (1 to 268435456) (see 'shmbench bench --help')" \
        "$B" bench --live 0
    expect 2 "shmbench: bad size range '9-3' for --sizes (expected MIN-MAX, MIN <= MAX < 4g) (see 'shmbench bench --help')" \
        "$B" bench --sizes 9-3
    expect 2 "shmbench: unknown suffix ':fast' in --alloc (:nocount or :locked) (see 'shmbench bench --help')" \
        "$B" bench --alloc slab:fast
    expect 2 "shmbench: --alloc has an empty name (two commas, or one at an end) (see 'shmbench bench --help')" \
        "$B" bench --alloc slab,,tlsf --rounds 10
    expect 2 "shmbench: --alloc has an empty name (two commas, or one at an end) (see 'shmbench bench --help')" \
        "$B" bench --alloc slab, --rounds 10
    # The _locked forms take no lock: several workers would race on one zone.
    expect 2 "shmbench: 'slab:locked' takes no lock, so it cannot run with --procs 2: the workers would share the zone unsynchronised (see 'shmbench bench --help')" \
        "$B" bench --alloc slab,slab:locked --procs 2 --rounds 10
    # An allocator name that names none is a usage error, in every command.
    expect 2 "shmbench: unknown allocator \"nope\" (known: $known) (see 'shmbench replay --help')" \
        "$B" replay --alloc nope "$T/good.trace"
    expect 2 "shmbench: unknown allocator \"nope\" (known: $known) (see 'shmbench bench --help')" \
        "$B" bench --alloc slab,nope --rounds 10
    expect 2 "shmbench: unknown allocator \"nope\" (known: $known) (see 'shmbench bench --help')" \
        "$B" bench --alloc nope:nocount --rounds 10
    expect 2 "shmbench: unknown allocator \"nope\" (known: $known) (see 'shmbench stat --help')" \
        "$B" stat --after-replay "$T/good.trace" --alloc nope
    expect 2 "shmbench: --alloc needs an allocator name (see 'shmbench replay --help')" \
        "$B" replay --alloc '' "$T/good.trace"
    expect 2 "shmbench: --alloc needs an allocator name (see 'shmbench replay --help')" \
        "$B" replay --alloc= "$T/good.trace"
    expect 2 "shmbench: --alloc needs at least one allocator (see 'shmbench bench --help')" \
        "$B" bench --alloc ''
    expect 2 "shmbench: replay takes one allocator, not a list: --alloc 'slab,slab' (see 'shmbench replay --help')" \
        "$B" replay --alloc slab,slab "$T/good.trace"
    expect 2 "shmbench: stat takes one allocator, not a list: --alloc 'slab,tlsf' (see 'shmbench stat --help')" \
        "$B" stat --after-replay "$T/good.trace" --alloc slab,tlsf
    # Zone names that shm_open would refuse, or that name a directory.
    expect 2 "shmbench: bad zone name '/a/b' for --keep: a '/' may only come first (see 'shmbench replay --help')" \
        "$B" replay --keep /a/b "$T/good.trace"
    expect 2 "shmbench: bad zone name '' for --keep: it is empty (see 'shmbench replay --help')" \
        "$B" replay --keep '' "$T/good.trace"
    expect 2 "shmbench: bad zone name '/' for --keep: it is empty (see 'shmbench replay --help')" \
        "$B" replay --keep / "$T/good.trace"
    expect 2 "shmbench: bad zone name '/..' for --keep: '.' and '..' are directories (see 'shmbench replay --help')" \
        "$B" replay --keep /.. "$T/good.trace"
    long=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk
    expect 2 "shmbench: bad zone name '/abcdefghijklmnopqrs...' for --keep: more than 62 characters (not counting a leading '/') (see 'shmbench replay --help')" \
        "$B" replay --keep "/$long" "$T/good.trace"
    expect 2 "shmbench: bad zone name '' for stat: it is empty (see 'shmbench stat --help')" \
        "$B" stat ''
    expect 2 "shmbench: bad zone name 'a/b' for stat: a '/' may only come first (see 'shmbench stat --help')" \
        "$B" stat a/b
    # (62 characters is a name: looked for, not refused)
    expect 1 "shmbench: stat /${long%k}: zone_attach(posix): shm_open(\"/${long%k}\") failed: No such file or directory" \
        "$B" stat "/${long%k}"
    expect 2 "shmbench: unknown zone method 'nope' (known: anon, devzero, sysv, posix, hugetlb) (see 'shmbench replay --help')" \
        "$B" replay --zone nope "$T/good.trace"
    expect 2 "shmbench: --keep needs --zone posix (see 'shmbench replay --help')" \
        "$B" replay --zone sysv --keep /x "$T/good.trace"
    expect 2 "shmbench: option '--offsets' takes no value (see 'shmbench replay --help')" \
        "$B" replay --offsets=1 "$T/good.trace"
    expect 2 "shmbench: unknown option '--all' for list (see 'shmbench list --help')" \
        "$B" list --all
    expect 2 "shmbench: stat needs a zone NAME or --after-replay TRACE (see 'shmbench stat --help')" \
        "$B" stat
    # (the reason is zone_attach's own words)
    checks=$((checks + 1))
    "$B" stat /shmbench-none-$$ > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 1 ] && grep -q "^shmbench: stat /shmbench-none-$$: .*No such file or directory\$" "$T/err" \
        || fail "stat of a missing zone: exit $rc: $(cat "$T/err")"

    # Valid edge cases: --zone-size instead of pages; an ID reused after its
    # free; the free of a failed allocation is a no-op; CRLF; no final newline.
    trace edge 'pages 1\r\na 18446744073709551615 0\na 2 4096\nf 2\nf 18446744073709551615\na 2 8\nf 2\na 2 3'
    checks=$((checks + 1))
    if ! "$B" replay --offsets "$T/edge.trace" > "$T/out" 2> "$T/err"; then
        fail "edge.trace: $(cat "$T/err")"
    elif [ "$(head -4 "$T/out" | tr '\n' ' ')" != "18446744073709551615 64 2 -1 2 64 2 64 " ]; then
        fail "edge.trace output: $(tr '\n' ' ' < "$T/out")"
    fi
    checks=$((checks + 1))
    "$B" replay --zone-size 1m "$T/nopages.trace" > "$T/out" 2> "$T/err" \
        || fail "--zone-size instead of pages: $(cat "$T/err")"
    checks=$((checks + 1))
    "$B" replay --offsets - < "$T/good.trace" > "$T/out" 2> "$T/err" \
        || fail "trace from stdin: $(cat "$T/err")"
}

part_stat() {
    V=$CONF/11-churn-mixed.trace
    [ -r "$V" ] || { fail "no conformance vector $V"; return; }

    checks=$((checks + 1))
    if ! "$B" replay --offsets --keep "$ZONE" "$V" > "$T/replay" 2> "$T/replay.err"; then
        fail "replay --keep: $(cat "$T/replay.err")"
        return
    fi
    grep -qx "zone kept: $ZONE" "$T/replay.err" || fail "no 'zone kept' line: $(cat "$T/replay.err")"
    [ -e "/dev/shm$ZONE" ] || { fail "/dev/shm$ZONE is gone"; return; }
    cmp -s "$T/replay" "${V%.trace}.expected" || fail "replay --keep output differs"

    checks=$((checks + 1))
    "$B" stat "$ZONE" > "$T/stat" 2> "$T/stat.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "stat exited $rc: $(cat "$T/stat.err")"
        return
    fi
    [ "$(head -1 "$T/stat")" = "* shared memory: $ZONE" ] || fail "stat header: $(head -1 "$T/stat")"
    grep -Eq '^total: +[0-9]+\(KB\) free: +[0-9]+\(KB\) size: +4\(KB\)$' "$T/stat" \
        || fail "no summary line"
    grep -Eq '^pages: +[0-9]+\(KB\) start: +[0-9]+ end: +[0-9]+$' "$T/stat" \
        || fail "no free run line"
    grep -Eq '^lock: acquisitions: [1-9][0-9]* contended: 0 ' "$T/stat" \
        || fail "no lock counters"
    # The slot table and free pages are the replay's.
    awk '/^slot:/ { gsub(/\(Bytes\)/, ""); print "slot", $2, "total", $4, "used", $6, "reqs", $8, "fails", $10 }
         /^pages free:/ { print "pages free", $3 }' "$T/stat" > "$T/stat.slots"
    grep -E '^(slot |pages free )' "$T/replay" > "$T/replay.slots"
    cmp -s "$T/stat.slots" "$T/replay.slots" || {
        fail "stat's slot table differs from the replay's"
        diff "$T/replay.slots" "$T/stat.slots" >&2
    }
    # The free runs add up to the free pages; `free:` is their KB.
    awk '/^pages:/ { sub(/\(KB\)/, "", $2); kb += $2 }
         /^total:/ { sub(/\(KB\)/, "", $4); free = $4 }
         END { exit !(kb == free && kb > 0) }' "$T/stat" || fail "free runs do not add up"

    # The same table with --after-replay, no zone kept.
    checks=$((checks + 1))
    "$B" stat --after-replay "$V" > "$T/after" 2> "$T/after.err" || fail "stat --after-replay"
    tail -n +2 "$T/after" | grep -v '^resident:\|^lock' > "$T/after.body"
    tail -n +2 "$T/stat" | grep -v '^resident:\|^lock' > "$T/stat.body"
    cmp -s "$T/after.body" "$T/stat.body" || fail "--after-replay prints another zone state"

    # Failures of an allocator without size classes are not split by slot.
    checks=$((checks + 1))
    printf 'a 1 100\na 2 5000000\n' > "$T/big.trace"
    "$B" stat --after-replay "$T/big.trace" --alloc tlsf --zone-size 1m > "$T/tlsf" 2>&1 \
        || fail "stat --after-replay on tlsf"
    grep -qx 'failed allocations: 1' "$T/tlsf" || fail "tlsf's failures: $(grep failed "$T/tlsf")"
    "$B" stat --after-replay "$T/big.trace" --zone-size 1m > "$T/slab" 2>&1 \
        || fail "stat --after-replay on slab"
    grep -qx 'failed allocations: 1 (0 in slots, 1 larger requests)' "$T/slab" \
        || fail "slab's failures: $(grep failed "$T/slab")"

    # Corrupt the slab header (pages, last, free-list offsets) behind the
    # allocator region's base: stat must refuse, exit 1, no signal.
    base=$(od -An -t u8 -j 24 -N 8 "/dev/shm$ZONE" | tr -d ' ')
    for what in header descriptors; do
        checks=$((checks + 1))
        if [ "$what" = header ]; then
            seek=$((base + 32)) count=32
        else
            seek=$((base + 200)) count=4000
        fi
        head -c $count /dev/zero | tr '\000' '\377' \
            | dd of="/dev/shm$ZONE" bs=1 seek=$seek conv=notrunc 2> /dev/null
        "$B" stat "$ZONE" > "$T/out" 2> "$T/err"
        rc=$?
        if [ $rc -ne 1 ]; then
            fail "stat of a corrupt zone ($what) exited $rc, want 1: $(cat "$T/err")"
        elif ! grep -q "^shmbench: stat $ZONE: zone is corrupt: " "$T/err"; then
            fail "stat of a corrupt zone ($what): $(cat "$T/err")"
        fi
    done

    # What is not a regular file is refused at once, with what it is (the
    # open of a FIFO would wait for a writer: timeout makes that a failure).
    to=
    command -v timeout > /dev/null && to="timeout 10"
    if mkfifo "/dev/shm${ZONE}-fifo"; then
        expect 1 "shmbench: stat ${ZONE}-fifo: zone_attach(posix): \"${ZONE}-fifo\" is a FIFO, not a shared-memory zone" \
            $to "$B" stat "${ZONE}-fifo"
        rm -f "/dev/shm${ZONE}-fifo"
    else
        fail "cannot make a FIFO in /dev/shm"
    fi
    if mkdir "/dev/shm${ZONE}-dir"; then
        expect 1 "shmbench: stat ${ZONE}-dir: zone_attach(posix): \"${ZONE}-dir\" is a directory, not a shared-memory zone" \
            "$B" stat "${ZONE}-dir"
        rmdir "/dev/shm${ZONE}-dir"
    else
        fail "cannot make a directory in /dev/shm"
    fi

    # A truncated object is refused by zone_attach.
    checks=$((checks + 1))
    truncate -s 8192 "/dev/shm$ZONE"
    "$B" stat "$ZONE" > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 1 ] || fail "stat of a truncated zone exited $rc: $(cat "$T/err")"
    rm -f "/dev/shm$ZONE"

    # Without --keep, a posix replay leaves nothing in /dev/shm.
    checks=$((checks + 1))
    "$B" replay --zone posix "$V" > /dev/null 2>&1 &
    pid=$!
    wait $pid || fail "replay --zone posix"
    [ ! -e "/dev/shm/shmbench-$pid" ] || fail "/dev/shm/shmbench-$pid left behind"
}

part_bench() {
    checks=$((checks + 1))
    "$B" bench --alloc slab,slab:nocount,slab:locked --rounds 20000 --repeat 2 > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || { fail "bench exited $rc: $(cat "$T/err")"; return; }
    n='[0-9]+\.[0-9][0-9]'
    for re in "^# bench: sizes 8-2048, live 1000, rounds 20000, seed 1, repeat 2, " \
              "^slab ns/op $n min $n max $n\$" \
              "^slab:nocount ns/op $n min $n max $n\$" \
              "^slab:locked ns/op $n min $n max $n\$" \
              "^ratio slab:nocount/slab [0-9]+\.[0-9]{3}\$" \
              "^ratio slab:locked/slab [0-9]+\.[0-9]{3}\$" \
              "^lock slab acquisitions [0-9]+ contended 0\$"; do
        grep -Eq "$re" "$T/out" || fail "bench output has no line matching /$re/"
    done
    ! grep -q '^lock slab:nocount' "$T/out" || fail "lock counters of a nocount run"
    ! grep -q '^lock slab:locked' "$T/out" || fail "lock counters of a run without the lock"
    ! grep -q '^fails' "$T/out" || fail "bench had failures"
    [ -s "$T/err" ] && fail "bench wrote to stderr: $(cat "$T/err")"
    # Two rounds' ops, each one lock acquisition: 2 * 20000.
    grep -qx 'lock slab acquisitions 40000 contended 0' "$T/out" \
        || fail "lock acquisitions are not 2 * rounds: $(grep '^lock' "$T/out")"
    # The op sequence is seed 1's for ever: what is live at the end, and so
    # the fragmentation, is the same in every run and every version.
    for a in slab slab:nocount slab:locked; do
        grep -qx "frag $a internal 25.0% (live 1057194 bytes, granted 1408672)" "$T/out" \
            || fail "seed 1's sequence changed: $(grep "^frag $a " "$T/out")"
    done

    # Two worker processes on one zone: aggregate throughput, and every
    # worker's rounds (not its fill, not its final frees) in the counters.
    checks=$((checks + 1))
    "$B" bench --alloc slab --procs 2 --rounds 20000 --repeat 2 > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || { fail "bench --procs 2 exited $rc: $(cat "$T/err")"; return; }
    for re in ", procs 2\$" "^slab ns/op $n min $n max $n\$" "^throughput slab $n Mops/s\$" \
              "^frag slab internal 25\.0% \(live 2091956 bytes, granted 2789816\)\$" \
              "^lock slab acquisitions 80000 contended [0-9]+\$"; do
        grep -Eq "$re" "$T/out" || fail "bench --procs 2 output has no line matching /$re/"
    done
    expect 2 "shmbench: --procs 0 is out of range (1 to 63) (see 'shmbench bench --help')" \
        "$B" bench --alloc slab --procs 0
}

part_help() {
    for args in "--help" "help" "-h" "help list" "help replay" "help stat" "help bench" \
                "list --help" "replay --help" "stat -h" "bench --help" "replay x --help" \
                "help micro" "micro --help"; do
        checks=$((checks + 1))
        # shellcheck disable=SC2086
        "$B" $args > "$T/out" 2> "$T/err"
        rc=$?
        [ $rc -eq 0 ] || fail "'shmbench $args' exited $rc"
        grep -q '^usage: shmbench' "$T/out" || fail "'shmbench $args' printed no usage"
        [ -s "$T/err" ] && fail "'shmbench $args' wrote to stderr"
    done
    checks=$((checks + 1))
    "$B" > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 2 ] || fail "'shmbench' alone exited $rc, want 2"
    checks=$((checks + 1))
    "$B" list > "$T/out" 2> "$T/err" || fail "list failed"
    grep -Eq '^slab +in-shm,' "$T/out" || fail "list has no slab line: $(cat "$T/out")"
}

case $PART in
    errors) part_errors ;;
    stat) part_stat ;;
    bench) part_bench ;;
    help) part_help ;;
    *) echo "cli_errors.sh: unknown part '$PART'" >&2; exit 2 ;;
esac
echo "cli $PART: $checks checks, $fails failed"
[ $fails -eq 0 ]
