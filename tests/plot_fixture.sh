#!/bin/sh
# plot_fixture.sh SHMBENCH DIR: a small suite directory made by hand, for
# the tests of `shmbench plot` (tests/plot_test.sh), until `shmbench suite`
# writes real ones.  It is a test fixture, not a result: short real runs
# and the summary.csv that a suite directory's contract asks for.
#
# The plan, one "suite line" per line, each run repeated:
#
#   1  churn, --ops 20000            slab tlsf glibc   procs 1 2  repeats 2
#   2  fill, a 4 MiB zone            slab tlsf glibc   procs 1 2  repeats 1
#   3  churn:live=2000, --sample-ms 5, 4000000 ops   slab   procs 1  repeat 1
#
# glibc is refused on fill (a private heap cannot fill a zone), which gives
# summary.csv a refused row with empty metrics.  Each run lands in
# DIR/runs/L<line>-<alloc>-<workload>-p<procs>-r<repeat>/; a refused run
# (exit 1 and no meta.json) leaves no directory.  DIR/plan.txt lists every
# planned run with its state (done, failed, refused), where a real suite
# has suite.json.
#
# summary.csv: one row per (line, allocator, procs), in plan order; for
# each metric, the median over the ok repeats of the all row's column and
# a 95% percentile-bootstrap interval of that median (2000 resamples,
# awk's srand(1), so that the file is the same from run to run of the same
# awk); lo = hi = median with one repeat; empty when no repeat has a value.
# workload_spec is name:k=v,... from meta.json's workload_params; hosts
# counts distinct hostname + cpu model (meta.json has no hostname today,
# so the cpu model alone), mixed_hosts says whether cpu model or core
# count differ among the row's runs.
set -u

B=$1
D=$2
mkdir -p "$D/runs" || exit 1
: > "$D/plan.txt"

# one LINE ALLOC WORKLOAD PROCS REPEAT RUN-OPTIONS...: a run of the plan.
one() {
    line=$1 alloc=$2 wl=$3 procs=$4 rep=$5
    shift 5
    id=L$line-$alloc-${wl%%:*}-p$procs-r$rep
    if "$B" run --alloc "$alloc" --workload "$wl" --procs "$procs" \
            --out "$D/runs/$id" "$@" > /dev/null 2> "$D/runs/err"; then
        state=done
    elif [ -f "$D/runs/$id/meta.json" ]; then
        state=failed
    else
        state=refused
    fi
    printf '%s %s %s %s %s %s %s\n' "$line" "$alloc" "${wl%%:*}" "$procs" "$rep" "$id" \
        "$state" >> "$D/plan.txt"
}

for alloc in slab tlsf glibc; do
    for procs in 1 2; do
        for rep in 1 2; do
            one 1 $alloc churn $procs $rep --ops 20000
        done
    done
done
for alloc in slab tlsf glibc; do
    for procs in 1 2; do
        one 2 $alloc fill $procs 1 --zone-size 4m
    done
done
one 3 slab churn:live=2000 1 1 --ops 4000000 --sample-ms 5
rm -f "$D/runs/err"

awk -v D="$D" '
function csv_line(path, want,    line, n, i, h, f, hn) {
    # the all row of a runs.csv into row[name]
    delete row
    if ((getline line < path) <= 0) { return 0 }
    hn = split(line, h, ",")
    while ((getline line < path) > 0) {
        n = split(line, f, ",")
        if (f[7] == want) {
            for (i = 1; i <= hn; i++) { row[h[i]] = f[i] }
            close(path)
            return 1
        }
    }
    close(path)
    return 0
}
function meta(path,    line, p, kv, n, i, k, v, parts) {
    # workload_params as k=v,..., the cpu model, cores, hostname, failed
    m_params = ""; m_cpu = ""; m_cores = ""; m_host = ""; m_failed = 0
    while ((getline line < path) > 0) {
        if (match(line, /"workload_params": \{[^}]*\}/)) {
            p = substr(line, RSTART + 20, RLENGTH - 21)
            n = split(p, parts, ", ")
            for (i = 1; i <= n; i++) {
                k = parts[i]; sub(/^"/, "", k); sub(/".*$/, "", k)
                v = parts[i]; sub(/^[^:]*: */, "", v); gsub(/"/, "", v)
                m_params = m_params (i > 1 ? "," : "") k "=" v
            }
        }
        if (match(line, /"cpu_model": "[^"]*"/)) { m_cpu = substr(line, RSTART + 14, RLENGTH - 15) }
        if (match(line, /"cores": [0-9]+/)) { m_cores = substr(line, RSTART + 9, RLENGTH - 9) }
        if (match(line, /"hostname": "[^"]*"/)) { m_host = substr(line, RSTART + 13, RLENGTH - 14) }
        if (line ~ /"failed": true/) { m_failed = 1 }
    }
    close(path)
}
function sift(a, i, n,    c, t) {
    while ((c = 2 * i) <= n) {
        if (c < n && a[c + 1] > a[c]) { c++ }
        if (a[i] >= a[c]) { return }
        t = a[i]; a[i] = a[c]; a[c] = t
        i = c
    }
}
function hsort(a, n,    i, t) {
    # heapsort a[1..n]: no recursion, whatever the duplicates
    for (i = int(n / 2); i >= 1; i--) { sift(a, i, n) }
    for (i = n; i > 1; i--) { t = a[1]; a[1] = a[i]; a[i] = t; sift(a, 1, i - 1) }
}
function median(a, n,    s, i) {
    for (i = 1; i <= n; i++) { s[i] = a[i] }
    hsort(s, n)
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
}
function stat3(a, n,    r, i, j, res, bs) {
    # "median,lo,hi" of a[1..n]; empty with n = 0
    if (n == 0) { return ",," }
    if (n == 1) { return sprintf("%.10g,%.10g,%.10g", a[1], a[1], a[1]) }
    for (r = 1; r <= 2000; r++) {
        for (i = 1; i <= n; i++) { res[i] = a[int(rand() * n) + 1] }
        bs[r] = median(res, n)
    }
    hsort(bs, 2000)
    return sprintf("%.10g,%.10g,%.10g", median(a, n), bs[50], bs[1951])
}
BEGIN {
    srand(1)
    nm = split("throughput_ops_s ops fails alloc_p50_ns alloc_p90_ns alloc_p99_ns " \
               "alloc_p999_ns alloc_max_ns free_p50_ns free_p90_ns free_p99_ns " \
               "free_p999_ns free_max_ns peak_live_bytes peak_footprint_bytes " \
               "footprint_bytes resident_bytes internal_frag external_frag " \
               "overhead_at_peak fill_at_fail_bytes fill_at_fail_ratio " \
               "lock_acquisitions lock_contended lock_wait_ns lock_wait_max_ns " \
               "lock_hold_ns", metric, " ")
    out = D "/summary.csv"
    hdr = "line,allocator,workload,workload_spec,procs,runs,ok,failed,refused,hosts"
    for (m = 1; m <= nm; m++) {
        hdr = hdr "," metric[m] "_median," metric[m] "_lo," metric[m] "_hi"
    }
    print hdr ",mixed_hosts" > out
    nk = 0
    while ((getline pl < (D "/plan.txt")) > 0) {
        split(pl, p, " ")
        key = p[1] " " p[2] " " p[4]
        if (!(key in seen)) { seen[key] = 1; keys[++nk] = key; wname[key] = p[3] }
        planned[key]++
        if (p[7] == "refused") { refused[key]++; continue }
        meta(D "/runs/" p[6] "/meta.json")
        spec[p[1]] = p[3] ":" m_params
        host[key, m_host "|" m_cpu] = 1
        kind[key, m_cpu "|" m_cores] = 1
        if (p[7] == "failed" || m_failed || !csv_line(D "/runs/" p[6] "/runs.csv", "all")) {
            failed[key]++
            continue
        }
        k = ++ok[key]
        for (m = 1; m <= nm; m++) { val[key, k, metric[m]] = row[metric[m]] }
    }
    for (i = 1; i <= nk; i++) {
        key = keys[i]
        split(key, p, " ")
        nh = 0; nkind = 0
        for (hk in host) { split(hk, q, SUBSEP); if (q[1] == key) { nh++ } }
        for (hk in kind) { split(hk, q, SUBSEP); if (q[1] == key) { nkind++ } }
        s = p[1] in spec ? spec[p[1]] : wname[key]
        line = sprintf("%s,%s,%s,\"%s\",%s,%d,%d,%d,%d,%d", p[1], p[2], wname[key], s,
                       p[3], planned[key], ok[key], failed[key], refused[key], nh)
        for (m = 1; m <= nm; m++) {
            n = 0
            delete a
            for (k = 1; k <= ok[key]; k++) {
                v = val[key, k, metric[m]]
                if (v != "") { a[++n] = v + 0 }
            }
            line = line "," stat3(a, n)
        }
        print line "," (nkind > 1 ? 1 : 0) > out
    }
}'
