# gen-churn-trace.awk: a random alloc/free churn trace in shmbench's format.
#
#   awk -v ops=1000000 -v live=20000 -v seed=7 -f scripts/gen-churn-trace.awk > churn.trace
#
# Allocations and frees are drawn so the live count hovers below `live`;
# 90% of sizes are 1..512 bytes, 10% 1..16384 (page runs included).  The
# random numbers come from MINSTD (x = 48271 x mod 2^31-1), exact in awk's
# doubles, so every awk (mawk, gawk) writes the same trace for a seed.
function rnd() { x = (x * 48271) % 2147483647; return x / 2147483647 }
BEGIN {
    if (ops == "") ops = 1000000
    if (live == "") live = 20000
    if (seed == "") seed = 1
    x = seed % 2147483646 + 1
    print "# random churn: ops " ops ", live " live ", seed " seed
    print "pages 20000"
    next_id = 1; nl = 0
    for (i = 0; i < ops; i++) {
        if (nl < live && (nl == 0 || rnd() < 0.5 + (live - nl) / (2 * live))) {
            sz = (rnd() < 0.9) ? int(rnd() * 512) + 1 : int(rnd() * 16384) + 1
            ids[nl++] = next_id
            print "a " next_id " " sz
            next_id++
        } else {
            k = int(rnd() * nl)
            print "f " ids[k]
            ids[k] = ids[--nl]
        }
    }
}
