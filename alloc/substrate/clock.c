/*
 * clock: calibration of the tick counter against CLOCK_MONOTONIC.
 */
#include "substrate/clock.h"

double
clock_ticks_per_ns(void)
{
    static double rate;
    uint64_t      t0, c0, t1, c1;

    if (rate > 0) {
        return rate;
    }
    t0 = clock_ns();
    c0 = clock_ticks();
    do {
        t1 = clock_ns();
    } while (t1 - t0 < 20000000);
    c1 = clock_ticks();
    rate = (double) (c1 - c0) / (double) (t1 - t0);
    if (rate <= 0) {
        rate = 1;
    }
    return rate;
}
