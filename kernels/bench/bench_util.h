/* Timing helpers shared by the kernels' benchmark programs (kernels/bench/). Header-only. */
#ifndef LANES_BENCH_UTIL_H
#define LANES_BENCH_UTIL_H

#include <time.h>

/* Monotonic wall time in milliseconds. */
static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* qsort comparator of doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif /* LANES_BENCH_UTIL_H */
