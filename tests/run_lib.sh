# run_lib.sh: what the tests of `shmbench run` share (run_driver.sh and
# run_wl_*.sh source it): the binary and a scratch directory, the ok check
# and the readers of runs.csv's columns and counters.csv's rows.  The
# counts and fail/expect are cli_lib.sh's.
#
# run_lib_init SHMBENCH NAME: B is SHMBENCH made absolute, T a fresh
# directory removed at exit.
. "$(dirname "$0")/cli_lib.sh"

run_lib_init() {
    B=$1
    case $B in
    /*) ;;
    *) B=$PWD/$B ;;
    esac
    T=${TMPDIR:-/tmp}/shmbench-$2-$$
    mkdir -p "$T"
    trap 'rm -rf "$T"' EXIT
}

# ok STATUS MESSAGE...: one check, failed (MESSAGE printed) unless STATUS is 0.
ok() {
    checks=$((checks + 1))
    if [ "$1" != 0 ]; then
        shift
        fail "$@"
    fi
}

# col FILE ROW NAME: column NAME of the runs.csv row whose worker is ROW
# (a worker's number, or `all`).
col() {
    awk -F, -v row="$2" -v name="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
        $idx["worker"] == row { print $idx[name]; exit }' "$1"
}

# ctr DIR WORKER SOURCE NAME: the value of counter NAME from SOURCE
# (workload or allocator) of WORKER (a number, or `all`) in DIR/counters.csv.
ctr() {
    awk -F, -v w="$2" -v s="$3" -v n="$4" '
        NR > 1 && $1 == w && $2 == s && $3 == n { print $4; exit }' "$1/counters.csv"
}
