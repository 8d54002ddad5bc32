/* lanes-bench-acf: at which nlags does the FFT method of the ACF beat the direct one?
 *
 * Design: for nlags = 2, 4, ..., 4096 it times a whole job (new, feed of 1M float64 values in 64 Ki
 * chunks, finish, free) with LANES_ACF_DIRECT and with LANES_ACF_FFT, on one thread, each the median
 * of 5 runs after a warm-up run. It prints one line per nlags (direct ms, fft ms, ratio) and a line
 * "crossover: <nlags>" naming the smallest nlags from which the FFT wins at every larger nlags
 * measured. LANES_ACF_FFT_MIN_NLAGS (lanes/acf.h) is read off that line. Not a test: timings depend
 * on the machine (its SIMD width above all) and its load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lanes/acf.h"
#include "bench_util.h"

#define N_VALUES (1u << 20)
#define CHUNK 65536
#define REPS 5



static double time_job(const double *x, size_t nlags, lanes_acf_method_t method)
{
    double t[REPS];
    for (int rep = -1; rep < REPS; rep++) {
        lanes_acf_spec_t spec;
        memset(&spec, 0, sizeof spec);
        spec.nlags = (int64_t)nlags;
        spec.method = method;
        spec.threads = 1;
        lanes_error_t err;
        double t0 = bench_now_ms();
        lanes_acf_t *a = lanes_acf_new(&spec, &err);
        if (!a) {
            fprintf(stderr, "lanes_acf_new() failed: %s\n", err.msg);
            exit(1);
        }
        for (size_t off = 0; off < N_VALUES; off += CHUNK)
            lanes_acf_feed(a, x + off, CHUNK, LANES_DTYPE_F64);
        lanes_acf_result_t out;
        if (lanes_acf_finish(a, &out, &err) != 0) {
            fprintf(stderr, "lanes_acf_finish() failed: %s\n", err.msg);
            exit(1);
        }
        lanes_acf_free(a);
        if (rep >= 0)
            t[rep] = bench_now_ms() - t0;
    }
    qsort(t, REPS, sizeof t[0], bench_cmp_double);
    return t[REPS / 2];
}

int main(void)
{
    double *x = malloc(N_VALUES * sizeof *x);
    if (!x)
        return 1;
    unsigned long long s = 88172645463325252ull;
    double prev = 0;
    for (size_t i = 0; i < N_VALUES; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        prev = 0.7 * prev + ((double)(s >> 11) / 9007199254740992.0 - 0.5);
        x[i] = 10.0 + prev;
    }
    size_t crossover = 0;
    printf("%8s %12s %12s %8s\n", "nlags", "direct ms", "fft ms", "ratio");
    for (size_t nlags = 2; nlags <= 4096; nlags *= 2) {
        double td = time_job(x, nlags, LANES_ACF_DIRECT);
        double tf = time_job(x, nlags, LANES_ACF_FFT);
        printf("%8zu %12.2f %12.2f %8.2f\n", nlags, td, tf, td / tf);
        bench_crossover(&crossover, nlags, tf < td);
    }
    if (crossover)
        printf("crossover: %zu\n", crossover);
    else
        printf("crossover: none\n");
    free(x);
    return 0;
}
