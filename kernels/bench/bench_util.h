/* Timing helpers shared by the kernels' benchmark programs (kernels/bench/). Header-only. */
#ifndef LANES_BENCH_UTIL_H
#define LANES_BENCH_UTIL_H

#include <stddef.h>
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

/* A crossover scan over growing sizes: *crossover is the first size n from which 'faster' held at
 * every size since (0 while it does not hold). */
static inline void bench_crossover(size_t *crossover, size_t n, int faster)
{
    if (!faster)
        *crossover = 0;
    else if (!*crossover)
        *crossover = n;
}

#endif /* LANES_BENCH_UTIL_H */
