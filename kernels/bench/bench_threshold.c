/* lanes-bench-kernels: where does the OpenMP pool start to beat inline execution?
 *
 * Design: for float64 chunks of 256 .. 1M elements it times three kernels, each with threads = 1
 * (inline: no OpenMP construct entered) and threads = omp_get_num_procs() (the pool): map "square"
 * (memory-bound), map "sin" (compute-bound) and a reduce feed of "sum". Each timing is the median of
 * many repetitions (enough to fill ~50 ms per cell, at least 15), after warm-up runs, so one
 * descheduling does not move the figure. Successive repetitions of a small size read successive
 * windows of the first ROTATE_SPAN input elements (512 KiB, cache-resident like a chunk just
 * received): with the same few thousand values every time the branch predictor learns libm's
 * branches and sin looks twice as fast as it is on fresh data. It prints one table per kernel (size, inline µs, pool µs,
 * inline/pool ratio) and a line "crossover <fn>: <elements>" naming the smallest size at which the
 * pool wins by at least 5% and keeps winning at every larger size ("none" if it never does); the
 * margin keeps a tie measured as 1.00x (the reducer runs inline below 2 blocks whatever the thread
 * count) from being read as a win. The router's inline threshold is read off those lines. Not a
 * test: timings depend on the machine and its load (on a shared 2-core machine one descheduled pool
 * thread costs a whole scheduler slice, ~8 ms, so run it on an idle machine).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes/kernels.h"

#define N_SIZES 7
/* Small sizes rotate their input over this many elements. */
#define ROTATE_SPAN 65536
/* The pool must be this much faster to count as a win. */
#define WIN_RATIO 1.05
static const size_t g_sizes[N_SIZES] = {256, 1024, 4096, 16384, 65536, 262144, 1048576};

typedef enum bench_kind { BENCH_SQUARE, BENCH_SIN, BENCH_SUM } bench_kind_t;

typedef struct bench_ctx {
    bench_kind_t kind;
    lanes_map_plan_t *plan;
    const double *in;  /* ROTATE_SPAN or n elements, whichever is more */
    double *out;
    size_t n;
} bench_ctx_t;

static volatile double g_sink;

static void bench_once(const bench_ctx_t *c, int threads, int rep)
{
    const size_t windows = c->n < ROTATE_SPAN ? ROTATE_SPAN / c->n : 1;
    const double *in = c->in + (size_t)rep % windows * c->n;
    if (c->kind == BENCH_SUM) {
        lanes_reduce_spec_t spec = {.op = LANES_REDUCE_SUM, .dtype = LANES_DTYPE_F64};
        lanes_reducer_t *r = lanes_reducer_new(&spec, NULL);
        lanes_reduce_result_t res;
        lanes_reducer_feed(r, in, c->n, threads);
        lanes_reducer_finish(r, &res, NULL);
        g_sink = res.f;
        lanes_reducer_free(r);
    } else {
        const void *inputs[1] = {in};
        lanes_map_plan_run(c->plan, inputs, c->n, c->out, threads);
        g_sink = c->out[c->n / 2];
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median wall time of one call, in microseconds. */
static double bench_median_us(const bench_ctx_t *c, int threads)
{
    for (int i = 0; i < 5; i++)
        bench_once(c, threads, i);
    double t0 = omp_get_wtime();
    bench_once(c, threads, 0);
    double one = omp_get_wtime() - t0;
    int reps = one > 0 ? (int)(0.05 / one) : 1000;
    if (reps < 15)
        reps = 15;
    if (reps > 2001)
        reps = 2001;
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        return NAN;
    for (int i = 0; i < reps; i++) {
        double s = omp_get_wtime();
        bench_once(c, threads, i);
        t[i] = omp_get_wtime() - s;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = t[reps / 2] * 1e6;
    free(t);
    return med;
}

int main(void)
{
    const int pool = omp_get_num_procs();
    const size_t max_n = g_sizes[N_SIZES - 1];
    double *in = malloc(max_n * sizeof *in);
    double *out = malloc(max_n * sizeof *out);
    if (!in || !out) {
        fprintf(stderr, "lanes-bench-kernels: out of memory\n");
        return 1;
    }
    srand(12345);
    for (size_t i = 0; i < max_n; i++)
        in[i] = (double)rand() / RAND_MAX * 20.0 - 10.0;

    const lanes_dtype_t f64 = LANES_DTYPE_F64;
    lanes_error_t err;
    lanes_map_plan_t *square = lanes_map_plan_compile("square", NULL, 0, &f64, 1, LANES_DTYPE_F64, &err);
    lanes_map_plan_t *sine = lanes_map_plan_compile("sin", NULL, 0, &f64, 1, LANES_DTYPE_F64, &err);
    if (!square || !sine) {
        fprintf(stderr, "lanes-bench-kernels: %s\n", err.msg);
        return 1;
    }

    static const char *const names[] = {"map square", "map sin", "reduce sum"};
    static const char *const short_names[] = {"square", "sin", "sum"};
    printf("lanes-bench-kernels: float64, inline = 1 thread, pool = %d threads (omp_get_num_procs)\n", pool);
    for (int k = 0; k < 3; k++) {
        printf("\n%s\n%10s %12s %12s %8s\n", names[k], "elements", "inline_us", "pool_us", "ratio");
        size_t crossover = 0;
        for (int s = 0; s < N_SIZES; s++) {
            bench_ctx_t c = {.kind = (bench_kind_t)k, .plan = k == BENCH_SIN ? sine : square,
                             .in = in, .out = out, .n = g_sizes[s]};
            double t1 = bench_median_us(&c, 1);
            double tp = bench_median_us(&c, pool);
            double ratio = t1 / tp;
            printf("%10zu %12.2f %12.2f %8.2f\n", g_sizes[s], t1, tp, ratio);
            if (ratio >= WIN_RATIO) {
                if (!crossover)
                    crossover = g_sizes[s];
            } else {
                crossover = 0;
            }
        }
        if (crossover)
            printf("crossover %s: %zu\n", short_names[k], crossover);
        else
            printf("crossover %s: none\n", short_names[k]);
    }
    lanes_map_plan_free(square);
    lanes_map_plan_free(sine);
    free(in);
    free(out);
    return 0;
}
