#!/bin/sh
# capture_test.sh PART SHMBENCH LIBRARY TARGET
#
# Black-box tests of `shmbench capture` and libshmbench-capture.so, one
# PART per ctest:
#   target  capture tests/capture_target.c (every heap call kind, two
#           threads, a fork whose child ends by _exit): the parent's trace
#           and the child's FILE.PID are checked line by line against the
#           op streams the program wrote (check_streams below), the child's
#           file must start with the blocks live at the fork, both replay,
#           and the command's report names both files; then eight threads
#           handing blocks to each other, whose trace must hold exactly the
#           calls they counted
#   sqlite  Debian's sqlite3 runs a script (a table, 3000 inserts, an
#           index, queries) under capture; its answers must be right and
#           the trace must replay over slab and tlsf with no failure
#           (exit 77, skipped, if sqlite3 is not installed)
#   errors  usage errors, a command that cannot run, a library that cannot
#           be found or was not loaded, CMD's exit status and signal passed
#           on, --help; each with its exact message and status
set -u
PART=$1
B=$2
LIB=$3
TARGET=$4
T=$(mktemp -d "${TMPDIR:-/tmp}/capture_test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/cli_lib.sh"

# check_streams EXPECTED TRACE CHILDTRACE: every op stream of EXPECTED
# (tests/capture_target.c's format) appears in the traces in its order,
# each op found by its size among the C library's own calls, which are
# let through.  The child's stream is checked in CHILDTRACE, whose first
# blocks (those live at the fork) must hold the `live` names under the
# parent's IDs and sizes.  Prints one line per problem.
check_streams() {
    awk '
    function bad(msg) { print FILENAME ":" FNR ": " msg; errors++ }
    # The next op of stream s must be entry e.
    function next_is(s, e, what) {
        if (pos[s] + 1 != e) {
            bad(what " out of order in stream " s ": expected entry " pos[s] + 1 \
                " (" want[s, pos[s] + 1] "), found entry " e " (" want[s, e] ")")
        }
        pos[s] = e
    }
    FILENAME == ARGV[1] {
        if ($1 == "pid") { next }
        s = $1; e = ++n[s]; want[s, e] = $0
        if ($2 == "a" || $2 == "al") {
            if ($4 in bysize) { print "test bug: size " $4 " used twice"; errors++ }
            bysize[$4] = s SUBSEP e; size[$3, s] = $4; align[s, e] = ($2 == "al") ? $5 : ""
        } else if ($2 == "fail") {
            byfail[$3 " " $4] = s SUBSEP e
        } else if ($2 == "live") {
            live[$3] = e
        }
        next
    }
    FNR == 1 {
        file = (FILENAME == ARGV[2]) ? "parent" : "child"
        if ($0 !~ /^# shmbench capture: pid [0-9]+/) { bad("no header line") }
        pending = ""; prologue = 0
        next
    }
    /^# align / { pending = $3; next }
    /^# fail / {
        k = $3 " " $4
        if (k in byfail) { split(byfail[k], se, SUBSEP); next_is(se[1], se[2], "fail " k) }
        next
    }
    /^# blocks live at the fork:/ { prologue = 1; next }
    /^# end of the blocks live at the fork:/ {
        prologue = 0
        for (name in live) {
            id = pid_of["main", name]
            if (!(id in inherited)) { bad("block " name " (ID " id ") not among those live at the fork") }
            else if (inherited[id] != size[name, "main"]) { bad("block " name " inherited with size " inherited[id]) }
            id2name["child", id] = name; stream_of["child", id] = "child"
            next_is("child", live[name], "live " name)
        }
        next
    }
    /^#/ { next }
    $1 == "a" {
        a = pending; pending = ""
        if (prologue) { inherited[$2] = $3; next }
        if (!($3 in bysize)) { if (a != "") { bad("unexpected # align " a) } next }
        split(bysize[$3], se, SUBSEP); s = se[1]; e = se[2]
        if ((file == "child") != (s == "child")) { bad("op of stream " s " in the " file "'\''s trace") }
        next_is(s, e, "a of " $3)
        if (a != align[s, e]) { bad("a of " $3 ": align \"" a "\", want \"" align[s, e] "\"") }
        split(want[s, e], w, " ")
        id2name[file, $2] = w[3]; stream_of[file, $2] = s
        if (s == "main") { pid_of["main", w[3]] = $2 }
        next
    }
    $1 == "f" {
        if (pending != "") { bad("# align before an f"); pending = "" }
        if (!((file, $2) in id2name)) { next }
        s = stream_of[file, $2]; name = id2name[file, $2]
        for (e = pos[s] + 1; e <= n[s]; e++) {
            split(want[s, e], w, " ")
            if (w[2] == "f" && w[3] == name) { break }
        }
        if (e > n[s]) { bad("f of " name " (ID " $2 ") not expected in stream " s); next }
        next_is(s, e, "f of " name)
        delete id2name[file, $2]
        next
    }
    END {
        for (s in n) {
            if (pos[s] != n[s]) { print "stream " s ": " pos[s] " of " n[s] " ops found; next: " want[s, pos[s] + 1]; errors++ }
        }
        exit errors ? 1 : 0
    }' "$@"
}

part_target() {
    : > "$T/expected"
    checks=$((checks + 1))
    "$B" capture -o "$T/t.trace" -- "$TARGET" "$T/expected" > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || { fail "capture of capture_target exited $rc: $(cat "$T/err")"; return; }
    child=$(awk '$1 == "pid" { print $2 }' "$T/expected")
    [ -n "$child" ] || { fail "capture_target wrote no child pid: $(cat "$T/expected")"; return; }
    [ -f "$T/t.trace.$child" ] || { fail "no child trace $T/t.trace.$child: $(ls "$T")"; return; }
    for s in main t1 t2 child; do
        grep -q "^$s " "$T/expected" || fail "no stream $s in the expectations"
    done

    checks=$((checks + 1))
    if ! check_streams "$T/expected" "$T/t.trace" "$T/t.trace.$child" > "$T/check" 2>&1; then
        fail "the traces do not match what capture_target did:"
        cat "$T/check" >&2
    fi

    # The threads took turns for their first 100 steps: the trace has their
    # allocations interleaved at least 199 times.
    checks=$((checks + 1))
    sw=$(awk '$1 == "a" && $3 >= 20000 && $3 < 60000 { s = $3 < 40000; if (seen && s != last) n++; last = s; seen = 1 }
              END { print n + 0 }' "$T/t.trace")
    [ "$sw" -ge 199 ] || fail "the threads' allocations interleave only $sw times"

    # free(NULL) and the failures make no op; IDs are never 0.
    checks=$((checks + 1))
    grep -Eq '^[af] 0( |$)' "$T/t.trace" && fail "an ID 0 was recorded"
    # The child's file: header, forked-from line, inherited blocks, its own
    # ops, its end line (written by _exit).
    checks=$((checks + 1))
    head -1 "$T/t.trace.$child" | grep -Eq "^# shmbench capture: pid $child, forked from pid [0-9]+ \(capture_target\)\$" \
        || fail "child header: $(head -1 "$T/t.trace.$child")"
    grep -Eq "^# end of pid $child: 2 allocations, 2 frees, [0-9]+ live, 0 failed, 0 frees not recorded, 0 frees not seen\$" \
        "$T/t.trace.$child" || fail "child end line: $(grep '^# end' "$T/t.trace.$child")"
    grep -Eq '^# end of pid [0-9]+: [0-9]+ allocations, [0-9]+ frees, [0-9]+ live, 2 failed, 0 frees not recorded, 0 frees not seen$' \
        "$T/t.trace" || fail "parent end line: $(grep '^# end' "$T/t.trace")"

    # The report: one line per file, the parent's first, counts that add up.
    checks=$((checks + 1))
    ops=$(grep -c '^[af] ' "$T/t.trace")
    grep -Eq "^capture: $T/t.trace: $ops ops \([0-9]+ allocations, [0-9]+ frees\), peak live [0-9]+ blocks? \([0-9]+ bytes\), [0-9]+ blocks? \([0-9]+ bytes\) live at the end\$" "$T/err" \
        || fail "no report line for the parent with $ops ops: $(cat "$T/err")"
    grep -q "^capture: $T/t.trace.$child: " "$T/err" || fail "no report line for the child: $(cat "$T/err")"
    [ "$(wc -l < "$T/err")" -eq 2 ] || fail "report is not two lines: $(cat "$T/err")"

    for f in "$T/t.trace" "$T/t.trace.$child"; do
        for a in slab tlsf; do
            checks=$((checks + 1))
            "$B" replay "$f" --alloc $a --zone-size 16m > "$T/out" 2> "$T/err" \
                || fail "replay of $f on $a: $(cat "$T/err")"
            grep -q ' 0 failed;' "$T/out" || fail "replay of $f on $a failed allocations: $(cat "$T/out")"
        done
    done

    # Eight threads hand blocks to each other: the trace holds exactly the
    # calls the program counted (sizes 5000-5999 are its alone), every free
    # was seen before its block was handed out again, and it replays.
    checks=$((checks + 1))
    "$B" capture -o "$T/st.trace" -- "$TARGET" --stress 8 20000 > "$T/out" 2> "$T/err" \
        || { fail "capture of --stress exited $?: $(cat "$T/err")"; return; }
    got=$(awk '$1 == "a" && $3 >= 5000 && $3 < 6000 { id[$2] = 1; a++ }
               $1 == "f" && ($2 in id) { f++ } END { printf "allocs %d frees %d\n", a, f }' "$T/st.trace")
    [ "$got" = "$(cat "$T/out")" ] || fail "--stress: the trace has $got, the program did $(cat "$T/out")"
    grep -Eq '^# end of pid [0-9]+: .*, 0 frees not recorded, 0 frees not seen$' "$T/st.trace" \
        || fail "--stress end line: $(grep '^# end' "$T/st.trace")"
    "$B" replay "$T/st.trace" --alloc tlsf > "$T/out" 2> "$T/err" \
        || fail "replay of the --stress trace: $(cat "$T/err")"
}

part_sqlite() {
    if ! command -v sqlite3 > /dev/null 2>&1; then
        echo "skip capture_sqlite: sqlite3 is not installed (apt-get install sqlite3)"
        exit 77
    fi
    {
        echo "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);"
        echo "BEGIN;"
        awk 'BEGIN { for (i = 1; i <= 3000; i++) printf "INSERT INTO t VALUES(%d, '\''name-%d'\'', %d.5);\n", i, i, i }'
        echo "COMMIT;"
        echo "CREATE INDEX ti ON t(name);"
        echo "SELECT count(*), sum(id) FROM t;"
        echo "SELECT name FROM t WHERE id % 1000 = 0 ORDER BY name DESC;"
        echo "SELECT count(*) FROM t WHERE name LIKE 'name-2%';"
    } > "$T/script.sql"
    checks=$((checks + 1))
    "$B" capture -o "$T/sq.trace" sqlite3 "$T/db" < "$T/script.sql" > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || { fail "capture of sqlite3 exited $rc: $(cat "$T/err")"; return; }
    printf '3000|4501500\nname-3000\nname-2000\nname-1000\n1111\n' | cmp -s - "$T/out" \
        || fail "sqlite3 answered wrong under capture: $(cat "$T/out")"
    grep -Eq "^capture: $T/sq.trace: [0-9]+ ops \(" "$T/err" || fail "no report: $(cat "$T/err")"
    [ "$(wc -l < "$T/err")" -eq 1 ] || fail "more than the report on stderr: $(cat "$T/err")"
    allocs=$(grep -c '^a ' "$T/sq.trace")
    [ "$allocs" -gt 3000 ] || fail "only $allocs allocations recorded from sqlite3"
    for a in slab tlsf; do
        checks=$((checks + 1))
        "$B" replay "$T/sq.trace" --alloc $a --zone-size 64m > "$T/out" 2> "$T/err"
        rc=$?
        [ $rc -eq 0 ] || { fail "replay of sqlite3's trace on $a exited $rc: $(cat "$T/err")"; continue; }
        grep -Eq "^allocs: $allocs done, 0 failed; frees: [0-9]+ done, 0 of failed allocs skipped\$" "$T/out" \
            || fail "replay on $a: $(cat "$T/out")"
    done
    echo "sqlite3: $allocs allocations captured and replayed"
}

part_errors() {
    u="(see 'shmbench capture --help')"
    expect 2 "shmbench: capture needs -o FILE $u" "$B" capture -- true
    expect 2 "shmbench: capture needs -o FILE $u" "$B" capture true
    expect 2 "shmbench: option '-o' needs a value $u" "$B" capture -o
    expect 2 "shmbench: capture needs a command to run $u" "$B" capture -o "$T/x"
    expect 2 "shmbench: capture needs a command to run $u" "$B" capture -o "$T/x" --
    expect 2 "shmbench: -o needs a file name $u" "$B" capture -o "" true
    expect 2 "shmbench: unknown option '--bogus' for capture $u" "$B" capture --bogus -o "$T/x" true
    expect 2 "shmbench: option '--lib' needs a value $u" "$B" capture -o "$T/x" --lib

    expect 1 "shmbench: capture: cannot run 'no-such-command-here': No such file or directory" \
        "$B" capture -o "$T/x" -- no-such-command-here arg
    [ -e "$T/x" ] && fail "the trace of a command that could not run was left behind"
    expect 1 "shmbench: capture: cannot run '$T': Permission denied" \
        "$B" capture -o "$T/x" -- "$T"
    expect 1 "shmbench: capture: $T/no/dir/x: No such file or directory" \
        "$B" capture -o "$T/no/dir/x" -- true
    expect 1 "shmbench: capture: cannot find the capture library $T/none.so: No such file or directory (build the shmbench_capture target, or give --lib PATH)" \
        "$B" capture --lib "$T/none.so" -o "$T/x" -- true
    # The default place: next to the binary.  A copy of shmbench elsewhere
    # has no library beside it.
    mkdir "$T/bin" && cp "$B" "$T/bin/shmbench"
    expect 1 "shmbench: capture: cannot find the capture library $T/bin/libshmbench-capture.so: No such file or directory (build the shmbench_capture target, or give --lib PATH)" \
        "$T/bin/shmbench" capture -o "$T/x" -- true
    # ... which --lib then finds.
    expect 0 "capture: $T/x: 0 ops (0 allocations, 0 frees), peak live 0 blocks (0 bytes), 0 blocks (0 bytes) live at the end" \
        "$T/bin/shmbench" capture --lib "$LIB" -o "$T/x" -- true
    # A library that is no shared object: the loader ignores it (and says
    # so on stderr), and nothing is written.
    printf 'not a library\n' > "$T/fake.so"
    checks=$((checks + 1))
    "$B" capture --lib "$T/fake.so" -o "$T/x" -- true > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 1 ] || fail "a fake library: exit $rc, want 1"
    grep -qx "shmbench: capture: true wrote no trace to $T/x: $T/fake.so was not loaded into it (a statically linked or setuid program?)" \
        "$T/err" || fail "a fake library: $(cat "$T/err")"
    mkdir "$T/a:b" && cp "$LIB" "$T/a:b/lib.so"
    expect 1 "shmbench: capture: the library path '$T/a:b/lib.so' holds a colon or a blank, which LD_PRELOAD cannot carry" \
        "$B" capture --lib "$T/a:b/lib.so" -o "$T/x" -- true

    # CMD's status is the command's; a signal is 128 + N, with a message.
    checks=$((checks + 1))
    "$B" capture --output="$T/x" -- sh -c 'exit 7' > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 7 ] || fail "sh -c 'exit 7' under capture exited $rc: $(cat "$T/err")"
    grep -Eq "^capture: $T/x: [0-9]+ ops " "$T/err" || fail "no report after exit 7: $(cat "$T/err")"
    checks=$((checks + 1))
    "$B" capture -o "$T/x" -- sh -c 'kill -TERM $$' > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 143 ] || fail "a command killed by SIGTERM: exit $rc, want 143"
    grep -qx "shmbench: capture: sh was killed by signal 15 (Terminated)" "$T/err" \
        || fail "killed command: $(cat "$T/err")"
    # The relative output name is reported as given, and written where it
    # names even if CMD changes directory.
    checks=$((checks + 1))
    (cd "$T" && "$B" capture -o rel.trace -- sh -c 'cd /; exit 0') > "$T/out" 2> "$T/err" \
        || fail "relative -o: $(cat "$T/err")"
    grep -q '^capture: rel.trace: ' "$T/err" || fail "relative -o report: $(cat "$T/err")"
    head -1 "$T/rel.trace" | grep -q '^# shmbench capture: pid [0-9]* (sh)$' \
        || fail "relative -o trace: $(head -1 "$T/rel.trace")"

    # Help: the command's arguments after '--' are its own.
    for args in "capture --help" "help capture" "capture -h"; do
        checks=$((checks + 1))
        # shellcheck disable=SC2086
        "$B" $args > "$T/out" 2> "$T/err" || fail "'shmbench $args' failed"
        grep -q '^usage: shmbench capture -o FILE' "$T/out" || fail "'shmbench $args' printed no usage"
    done
    checks=$((checks + 1))
    "$B" --help | grep -q '^  capture ' || fail "shmbench --help does not list capture"
    checks=$((checks + 1))
    "$B" capture -o "$T/x" -- sh -c 'echo "$1"' sh --help > "$T/out" 2> "$T/err"
    grep -qx -- '--help' "$T/out" || fail "CMD's --help after -- was not passed on: $(cat "$T/out")"
    # Without '--' too: capture's options end at CMD.
    "$B" capture -o "$T/x" sh -c 'echo "$1"' sh --help > "$T/out" 2> "$T/err"
    grep -qx -- '--help' "$T/out" || fail "CMD's --help without -- was not passed on: $(cat "$T/out")"
}

case $PART in
    target) part_target ;;
    sqlite) part_sqlite ;;
    errors) part_errors ;;
    *) echo "capture_test.sh: unknown part '$PART'" >&2; exit 2 ;;
esac
echo "capture $PART: $checks checks, $fails failed"
[ $fails -eq 0 ]
