# cli_lib.sh: the checks the command-line tests share (cli_errors.sh,
# capture_test.sh, stat_live.sh and replay_mem.sh source it).  The sourcing
# script sets T, a scratch directory, before it calls expect.
#
# fails and checks count; a script ends by printing them and exiting
# non-zero when fails is not 0.
fails=0
checks=0

# expect_first STATUS LINE CMD ARGS...: CMD exits STATUS and the first line
# of its stderr is LINE (for commands that say more after it).
expect_first() {
    status=$1
    line=$2
    shift 2
    checks=$((checks + 1))
    "$@" > "$T/out" 2> "$T/err"
    rc=$?
    got=$(head -n 1 "$T/err")
    if [ "$rc" != "$status" ] || [ "$got" != "$line" ]; then
        fail "'$*': status $rc (want $status)"
        echo "  got:  $got" >&2
        echo "  want: $line" >&2
    fi
}

# ends_within PID TENTHS WHAT: wait up to TENTHS tenths of a second for the
# background job PID to end; if it does not, kill it and fail, naming WHAT.
# Its exit status is left in $ended.
ends_within() {
    i=0
    while kill -0 "$1" 2> /dev/null && [ $i -lt "$2" ]; do
        sleep 0.1
        i=$((i + 1))
    done
    checks=$((checks + 1))
    if kill -0 "$1" 2> /dev/null; then
        kill "$1"
        fail "$3 did not end"
    fi
    wait "$1"
    ended=$?
}

# fail MESSAGE...: one failed check, said on stderr.
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# expect STATUS MESSAGE CMD ARGS...: CMD exits STATUS and prints exactly the
# one line MESSAGE on stderr (and, when STATUS is not 0, nothing on stdout).
expect() {
    status=$1
    msg=$2
    shift 2
    checks=$((checks + 1))
    "$@" > "$T/out" 2> "$T/err"
    rc=$?
    if [ "$rc" -ne "$status" ]; then
        fail "'$*' exited $rc, want $status (stderr: $(cat "$T/err"))"
        return
    fi
    if ! printf '%s\n' "$msg" | cmp -s - "$T/err"; then
        fail "'$*' stderr:"
        echo "  got:  $(cat "$T/err")" >&2
        echo "  want: $msg" >&2
    fi
    if [ "$status" -ne 0 ] && [ -s "$T/out" ]; then
        fail "'$*' wrote to stdout on failure: $(head -3 "$T/out")"
    fi
}
