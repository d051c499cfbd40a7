# prep.awk: the preprocessing of shmbench's figures that gnuplot cannot
# do cleanly: CSV fields in quotes (summary.csv's workload_spec holds
# commas), selecting one workload's rows, pivoting allocators into columns
# or into data blocks.  The gnuplot scripts beside it (plots/NN-name.gp)
# run it through a pipe; `shmbench plot` runs it once to list the
# workloads of a suite (docs/plots.md).
#
#   awk -f prep.awk -v what=WHAT [-v fig=FIG] [-v group=SPEC] FILE
#
# WHAT is one of
#
#   groups   (summary.csv) one line per workload group, in suite-file
#            order: first line, slug, label, workload_spec, the rows the
#            driver refused and those with failed runs (each a list of
#            "allocator (N workers)", maybe empty), tab-separated
#   names    (summary.csv, fig, group) the allocators that figure FIG has
#            data for, space-separated, in suite-file order
#   info     (summary.csv, fig, group) for throughput, the smallest and
#            the largest positive value (median, lo, hi) drawn; for lock,
#            the workers it is drawn at, then those two; for latency, the
#            workers, those two, then 1 or 0: allocations timed, frees timed
#   has      (summary.csv, fig frag or fill) per allocator of `names`, a
#            word of one digit per metric: 1 if any group shown has it
#   data     (summary.csv, fig, group) the figure's table, tab-separated,
#            "?" where a value is missing
#   mixed    (summary.csv, fig, group) 1 if a row the figure draws holds
#            runs from machines of different kinds (mixed_hosts), else 0
#   runinfo  (runs.csv) "allocator workload procs header_bytes" of the
#            all row (header_bytes 0 where it is empty)
#
# A workload group is every row with one workload_spec, wherever its lines
# are: its label is the workload's name, with " L<line>" (its first line)
# when two groups share a name.  FIG is throughput, latency, lock (one
# group: data blocks per allocator, or one row per allocator) or frag, fill
# (every group: one row per group, columns per allocator).  Throughput is
# drawn at every worker count; latency and lock at the most workers that
# have their data (contention is what a shared zone is about); frag and
# fill at the fewest, per group (the allocator's own behaviour).  A field
# holding a newline is not read (summary.csv has none).  Debian's default
# awk (mawk) is enough: no gawk extension is used.

# Split the CSV line s into f[1..n] (RFC 4180 quotes); return n.
function csv_split(s, f,    n, i, c, v, q, len) {
    if (index(s, "\"") == 0) {
        return split(s, f, ",")
    }
    n = 0; v = ""; q = 0; len = length(s)
    for (i = 1; i <= len; i++) {
        c = substr(s, i, 1)
        if (q) {
            if (c != "\"") {
                v = v c
            } else if (substr(s, i + 1, 1) == "\"") {
                v = v c; i++
            } else {
                q = 0
            }
        } else if (c == "\"") {
            q = 1
        } else if (c == ",") {
            f[++n] = v; v = ""
        } else {
            v = v c
        }
    }
    f[++n] = v
    return n
}

# Column `name` of row r of the table read (empty if the file has none).
function get(r, name) {
    return (name in col) ? cell[r, col[name]] : ""
}

# The number in column `name` of row r, or "?" if it is empty.
function num(r, name,    v) {
    v = get(r, name)
    return v == "" ? "?" : v
}

# The median and interval of metric m in row r, tab-separated; lo and hi
# fall back to the median when empty (a row with one repeat has them equal).
function stat3(r, m,    med, lo, hi) {
    med = num(r, m "_median")
    lo = num(r, m "_lo")
    hi = num(r, m "_hi")
    if (med == "?") {
        return "?\t?\t?"
    }
    return med "\t" (lo == "?" ? med : lo) "\t" (hi == "?" ? med : hi)
}

# 1 if row r has a value of any metric of the space-separated list ms.
function has(r, ms,    a, n, i) {
    n = split(ms, a, " ")
    for (i = 1; i <= n; i++) {
        if (get(r, a[i] "_median") != "") {
            return 1
        }
    }
    return 0
}

# The groups: gspec[1..ngroups], gline[], gname[], glabel[], gslug[];
# rgroup[r] is row r's group.
function find_groups(    r, s, g, named, nm) {
    ngroups = 0
    for (r = 1; r <= nrows; r++) {
        s = get(r, "workload_spec")
        if (s == "") {
            s = get(r, "workload")
        }
        if (!(s in gindex)) {
            gindex[s] = ++ngroups
            gspec[ngroups] = s
            gline[ngroups] = get(r, "line")
            gname[ngroups] = get(r, "workload")
            named[gname[ngroups]]++
        } else if (get(r, "line") + 0 < gline[gindex[s]] + 0) {
            gline[gindex[s]] = get(r, "line")
        }
        rgroup[r] = gindex[s]
    }
    for (g = 1; g <= ngroups; g++) {
        nm = gname[g]
        gsub(/[^A-Za-z0-9_.-]/, "_", nm)
        gslug[g] = "L" gline[g] "-" nm
        glabel[g] = gname[g] (named[gname[g]] > 1 ? " L" gline[g] : "")
    }
}

# The metrics of figure f, space-separated.
function metrics(f) {
    if (f == "throughput") return "throughput_ops_s"
    if (f == "latency") return "alloc_p50_ns alloc_p90_ns alloc_p99_ns alloc_p999_ns alloc_max_ns " \
                               "free_p50_ns free_p90_ns free_p99_ns free_p999_ns free_max_ns"
    if (f == "lock") return "lock_acquisitions lock_wait_ns lock_hold_ns"
    if (f == "frag") return "internal_frag external_frag overhead_at_peak"
    if (f == "fill") return "fill_at_fail_ratio"
    print "prep.awk: unknown figure '" f "'" > "/dev/stderr"
    exit 2
}

# Select the rows of figure f: sel[r] = 1; the allocators in order,
# alloc[1..nalloc]; for a one-group figure, at[] its workers; for frag and
# fill, the groups shown, shown[1..nshown], and the workers of each, gat[].
function select_rows(f,    ms, r, g, p, a, i) {
    ms = metrics(f)
    nalloc = 0
    nshown = 0
    if (f == "frag" || f == "fill") {
        for (r = 1; r <= nrows; r++) {
            if (!has(r, ms)) continue
            g = rgroup[r]; p = get(r, "procs") + 0
            if (!(g in gat) || p < gat[g]) gat[g] = p
        }
        for (g = 1; g <= ngroups; g++) {
            if (g in gat) shown[++nshown] = g
        }
        for (r = 1; r <= nrows; r++) {
            g = rgroup[r]
            if ((g in gat) && get(r, "procs") + 0 == gat[g] && has(r, ms)) sel[r] = 1
        }
    } else {
        if (!(group in gindex)) {
            print "prep.awk: no workload '" group "' in " FILENAME > "/dev/stderr"
            exit 2
        }
        g = gindex[group]
        at = ""
        for (r = 1; r <= nrows; r++) {
            if (rgroup[r] != g || !has(r, ms)) continue
            p = get(r, "procs") + 0
            if (f == "throughput" && get(r, "throughput_ops_s_median") + 0 <= 0) continue
            if (f == "throughput") { sel[r] = 1; continue }
            if (at == "" || p > at) at = p
        }
        for (r = 1; r <= nrows && f != "throughput"; r++) {
            if (rgroup[r] == g && has(r, ms) && get(r, "procs") + 0 == at) sel[r] = 1
        }
    }
    for (r = 1; r <= nrows; r++) {
        a = get(r, "allocator")
        if (sel[r] && !(a in aindex)) {
            aindex[a] = ++nalloc
            alloc[nalloc] = a
        }
    }
}

# Throughput: one block per allocator, rows "procs median lo hi" by procs.
function data_throughput(    i, r, p, n, order, j, t) {
    for (i = 1; i <= nalloc; i++) {
        if (i > 1) printf "\n\n"
        n = 0
        for (r = 1; r <= nrows; r++) {
            if (sel[r] && get(r, "allocator") == alloc[i]) order[++n] = r
        }
        for (p = 2; p <= n; p++) {          # insertion sort by procs: few rows
            for (j = p; j > 1 && get(order[j], "procs") + 0 < get(order[j - 1], "procs") + 0; j--) {
                t = order[j]; order[j] = order[j - 1]; order[j - 1] = t
            }
        }
        for (j = 1; j <= n; j++) {
            printf "%s\t%s\n", get(order[j], "procs"), stat3(order[j], "throughput_ops_s")
        }
    }
}

# Latency: one block per allocator, a row per percentile:
# "k label alloc(median lo hi) free(median lo hi)".
function data_latency(    i, r, k, q, lab) {
    split("p50 p90 p99 p999 max", q, " ")
    split("p50 p90 p99 p99.9 max", lab, " ")
    for (i = 1; i <= nalloc; i++) {
        if (i > 1) printf "\n\n"
        for (r = 1; r <= nrows; r++) {
            if (sel[r] && get(r, "allocator") == alloc[i]) break
        }
        for (k = 1; k <= 5; k++) {
            printf "%d\t%s\t%s\t%s\n", k - 1, lab[k], stat3(r, "alloc_" q[k] "_ns"),
                   stat3(r, "free_" q[k] "_ns")
        }
    }
}

# Lock: a row per allocator: "allocator wait(median lo hi) hold(median lo
# hi) contended acquisitions" (the last two medians).
function data_lock(    i, r) {
    for (i = 1; i <= nalloc; i++) {
        for (r = 1; r <= nrows; r++) {
            if (sel[r] && get(r, "allocator") == alloc[i]) break
        }
        printf "%s\t%s\t%s\t%s\t%s\n", alloc[i], stat3(r, "lock_wait_ns"),
               stat3(r, "lock_hold_ns"), num(r, "lock_contended_median"),
               num(r, "lock_acquisitions_median")
    }
}

# "min max" of the positive values (median, lo, hi) of the metrics ms
# (space-separated) in the selected rows; "0 0" if there is none.
function range(ms,    a, n, r, m, k, v, lo, hi, e) {
    n = split(ms, a, " ")
    split("_median _lo _hi", e, " ")
    lo = 0; hi = 0
    for (r = 1; r <= nrows; r++) {
        if (!sel[r]) continue
        for (m = 1; m <= n; m++) {
            for (k = 1; k <= 3; k++) {
                v = get(r, a[m] e[k]) + 0
                if (v <= 0) continue
                if (lo == 0 || v < lo) lo = v
                if (v > hi) hi = v
            }
        }
    }
    return lo " " hi
}

# 1 if a selected row has a value of any metric of ms.
function any(ms,    r) {
    for (r = 1; r <= nrows; r++) {
        if (sel[r] && has(r, ms)) return 1
    }
    return 0
}

# Frag and fill: a row per group shown: its label (with the workers), then
# per allocator the metrics' median lo hi, "?" where it has none.
function data_groups(f,    ms, nm, m, s, g, i, r, line, found) {
    nm = split(metrics(f), ms, " ")
    for (s = 1; s <= nshown; s++) {
        g = shown[s]
        line = glabel[g] " (" workers_(gat[g]) ")"
        for (i = 1; i <= nalloc; i++) {
            found = 0
            for (r = 1; r <= nrows; r++) {
                if (sel[r] && rgroup[r] == g && get(r, "allocator") == alloc[i]) {
                    found = r
                    break
                }
            }
            for (m = 1; m <= nm; m++) {
                line = line "\t" (found ? stat3(found, ms[m]) : "?\t?\t?")
            }
        }
        print line
    }
}

# The rows of group g with runs in column c (refused, failed), as
# "allocator (1, 2 workers)" items, comma-separated ("refused" only where
# no run of the row was ok; failed with the count: "slab (2 workers: 1
# of 3)").
function not_run(g, c,    r, a, n, i, order, procs, last, out) {
    n = 0
    for (r = 1; r <= nrows; r++) {
        if (rgroup[r] != g || get(r, c) + 0 == 0) continue
        if (c == "refused" && get(r, "ok") + 0 > 0) continue
        a = get(r, "allocator")
        if (c == "failed") {
            order[++n] = a " (" workers_(get(r, "procs")) ": " get(r, "failed") " of " get(r, "runs") ")"
            continue
        }
        if (!(a in procs)) {
            order[++n] = a
            procs[a] = get(r, "procs")
        } else {
            procs[a] = procs[a] ", " get(r, "procs")
        }
        last[a] = get(r, "procs")
    }
    out = ""
    for (i = 1; i <= n; i++) {
        a = order[i]
        out = out (i > 1 ? ", " : "") (c == "failed" ? a : a " (" procs[a] \
              (last[a] == 1 && procs[a] == "1" ? " worker)" : " workers)"))
    }
    return out
}

# "1 worker", "2 workers".
function workers_(n) {
    return n (n == 1 ? " worker" : " workers")
}

# Per allocator, the digits of has (1: some selected row has metric m).
function has_metrics(f,    ms, nm, i, m, r, w) {
    nm = split(metrics(f), ms, " ")
    for (i = 1; i <= nalloc; i++) {
        w = ""
        for (m = 1; m <= nm; m++) {
            for (r = 1; r <= nrows; r++) {
                if (sel[r] && get(r, "allocator") == alloc[i] && get(r, ms[m] "_median") != "") break
            }
            w = w (r <= nrows ? 1 : 0)
        }
        printf "%s%s", (i > 1 ? " " : ""), w
    }
    printf "\n"
}

{
    sub(/\r$/, "")
    n = csv_split($0, f)
    if (FNR == 1) {
        for (i = 1; i <= n; i++) col[f[i]] = i
        next
    }
    nrows++
    for (i = 1; i <= n; i++) cell[nrows, i] = f[i]
}

END {
    if (what == "runinfo") {
        for (r = 1; r <= nrows; r++) {
            if (get(r, "worker") == "all") {
                print get(r, "allocator"), get(r, "workload"), get(r, "procs"),
                      get(r, "header_bytes") + 0
                exit 0
            }
        }
        exit 0
    }
    find_groups()
    if (what == "groups") {
        for (g = 1; g <= ngroups; g++) {
            printf "%s\t%s\t%s\t%s\t%s\t%s\n", gline[g], gslug[g], glabel[g], gspec[g],
                   not_run(g, "refused"), not_run(g, "failed")
        }
        exit 0
    }
    select_rows(fig)
    if (what == "names") {
        for (i = 1; i <= nalloc; i++) printf "%s%s", (i > 1 ? " " : ""), alloc[i]
        printf "\n"
    } else if (what == "mixed") {
        m = 0
        for (r = 1; r <= nrows; r++) {
            if (sel[r] && get(r, "mixed_hosts") == 1) m = 1
        }
        print m
    } else if (what == "has") {
        has_metrics(fig)
    } else if (what == "info") {
        if (fig == "lock") {
            print at, range("lock_wait_ns lock_hold_ns")
        } else if (fig == "latency") {
            print at, range(metrics(fig)), any("alloc_p50_ns alloc_p90_ns alloc_p99_ns alloc_p999_ns alloc_max_ns"),
                  any("free_p50_ns free_p90_ns free_p99_ns free_p999_ns free_max_ns")
        } else if (fig == "throughput") {
            print range(metrics(fig))
        } else {
            print at
        }
    } else if (what == "data") {
        if (fig == "throughput") data_throughput()
        else if (fig == "latency") data_latency()
        else if (fig == "lock") data_lock()
        else data_groups(fig)
    } else {
        print "prep.awk: unknown what '" what "'" > "/dev/stderr"
        exit 2
    }
}
