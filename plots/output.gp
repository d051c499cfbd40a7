# output.gp: the terminal and the output file of a figure, loaded by
# each figure script once it knows it has data.  W and H are the size
# in pixels (default 1000 by 600); PNG through cairo where this gnuplot
# has it (pngcairo: antialiased), else libgd's png; SVG with the same
# size and font, so that both read alike.
if (!exists("W")) { W = 1000 }
if (!exists("H")) { H = 600 }
if (term eq "svg") {
    set terminal svg size W, H dynamic enhanced font "DejaVu Sans,12" background "white"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size W, H enhanced font "DejaVu Sans,11" background "white"
    } else {
        set terminal png size W, H enhanced font "DejaVu Sans,10" background "white"
    }
}
set encoding utf8
set micro
set output out
set grid ytics lc rgb "#dddddd" lt 1
set border 3
set tics nomirror
