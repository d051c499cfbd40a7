#!/bin/sh
# gen.sh: writes the generated dict scripts of this folder (the fills and
# the calcification run); the others are written by hand.  Run it from
# anywhere: `sh tests/shdict/gen.sh`; it rewrites the files beside it, and
# the same run writes the same bytes (the random order comes from a seeded
# generator in awk, Park and Miller's minimal standard, whose products stay
# exact in awk's doubles, so every awk gives the same script).
#
# Each script starts with `# zone-size SIZE`, the size of its dict, which
# tests/shdict_real.sh gives to nginx's lua_shared_dict and to
# `shmbench shdict --zone-size`.
#
# An item takes 68 + K + V bytes (docs/shdict.md): with 6-byte keys
# (f00001), the fills' values put their items in each slot a dict item can
# reach, 128 to 2048 bytes, then in one page and in two pages.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)

# fill NAME VLEN SETS: a 128 KiB dict (29 free pages) filled with SETS
# items of VLEN bytes, past the first eviction, then gets of the first and
# last keys, a delete and a set again.
fill() {
    awk -v name="$1" -v vlen="$2" -v n="$3" 'BEGIN {
        printf "# %s: a fill of %d items of %d-byte values (items of %d bytes)\n",
               name, n, vlen, 68 + 6 + vlen
        print "# written by gen.sh"
        print "# zone-size 128k"
        for (i = 1; i <= n; i++) {
            printf "set f%05d %d\n", i, vlen
        }
        printf "get f%05d\nget f%05d\nget f%05d\nget f%05d\n", 1, 2, n - 1, n
        printf "delete f%05d\nset f%05d %d\nset f%05d %d\n", n, n, vlen, 1, vlen
        printf "safe_set big %d\nsafe_add f%05d %d\nadd f%05d %d\n", 4 * vlen, n, vlen, n - 1, vlen
    }' > "$dir/$1.script"
}

fill fill-128 50 1150
fill fill-256 150 560
fill fill-512 400 300
fill fill-1024 900 150
fill fill-2048 1900 80
fill fill-page 3000 45
fill fill-2page 6000 25

# calcification: a 256 KiB dict (61 free pages) full of 128-byte items,
# gets in a seeded random order (so that the LRU tail is scattered over the
# pages), then large sets that must free whole pages by evicting the
# oldest 30 items: they fail ("no memory", forcible) while free_space()
# stays small, between more gets and small sets.
awk -v seed=20221201 'function rnd(n) { x = (x * 48271) % 2147483647; return x % n }
BEGIN {
    x = seed
    print "# calcification: small items, random gets, then large sets (one and two pages)"
    print "# written by gen.sh (seed 20221201)"
    print "# zone-size 256k"
    n = 2200
    for (i = 1; i <= n; i++) {
        printf "set s%04d 50\n", i
    }
    for (i = 0; i < 600; i++) {
        printf "get s%04d\n", 1 + rnd(n)
    }
    for (r = 1; r <= 6; r++) {
        printf "set L%d 3000\n", r
        for (i = 0; i < 40; i++) {
            printf "get s%04d\n", 1 + rnd(n)
        }
        for (i = 1; i <= 20; i++) {
            printf "set t%d-%02d 50\n", r, i
        }
        printf "set M%d 6000\n", r
        printf "safe_set S%d 3000\n", r
        printf "get L%d\n", r
    }
}' > "$dir/calcification.script"

# calcification-1m: the figures docs/shdict.md gives for a 1 MiB dict.
awk 'BEGIN {
    print "# calcification-1m: 8095 items of 128 bytes fill a 1 MiB dict; a one-page"
    print "# value then fails twice (the first 30 victims share a page with the"
    print "# header, the next 30 leave three items on theirs) and is stored on the"
    print "# third try, after 63 evictions in all (docs/shdict.md)."
    print "# written by gen.sh"
    print "# zone-size 1m"
    for (i = 1; i <= 8095; i++) {
        printf "set s%05d 50\n", i
    }
    print "set big 3000"
    print "set big 3000"
    print "set big 3000"
    print "get big"
}' > "$dir/calcification-1m.script"
