# run_lib.sh: what the tests of run's workload groups share (run_wl_*.sh
# source it): the binary and a scratch directory, the ok counter and
# runs.csv's column reader.
#
# run_lib_init SHMBENCH NAME: B is SHMBENCH made absolute, T a fresh
# directory removed at exit, FAILS and CHECKS count from 0.
run_lib_init() {
    B=$1
    case $B in
    /*) ;;
    *) B=$PWD/$B ;;
    esac
    T=${TMPDIR:-/tmp}/shmbench-$2-$$
    FAILS=0
    CHECKS=0
    mkdir -p "$T"
    trap 'rm -rf "$T"' EXIT
}

# ok STATUS MESSAGE...: one check, failed (MESSAGE printed) unless STATUS is 0.
ok() {
    CHECKS=$((CHECKS + 1))
    if [ "$1" != 0 ]; then
        shift
        FAILS=$((FAILS + 1))
        echo "FAIL: $*"
    fi
}

# col FILE ROW NAME: column NAME of the runs.csv row whose worker is ROW
# (a worker's number, or `all`).
col() {
    awk -F, -v row="$2" -v name="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
        $idx["worker"] == row { print $idx[name]; exit }' "$1"
}
