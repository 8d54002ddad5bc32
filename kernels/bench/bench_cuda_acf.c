/* lanes-bench-cuda-acf: the ACF with the GPU block engine (cuda/acf.cu) against the CPU path, and the
 * device's crossover between its direct kernel and its cuFFT method.
 *
 * Design: one series (an AR(1) of 2^26 float64 values with a mean, generated here) is run through the
 * same object API twice in the same process: lanes_acf with the CPU FFT method, and lanes_acf with
 * lanes_cuda_acf_block_fn as its block engine (blocks of GPU_BLOCK values); each time covers a whole
 * job (new, feeds of 1 Mi values, finish, free; for the GPU also the engine's buffers and cuFFT
 * plans). It prints both times, the ratio (the target: >= 10x for 2^26 values, nlags 2^20 on
 * an H100) and the largest difference between the two ACFs; then the same for 2^24 values, nlags 1000.
 * Last, for nlags 16 .. 1024 it times lanes_cuda_acf_lagsums on one block of 2^24 values with the
 * direct kernel and with cuFFT (median of 5 after a warm-up) and prints "crossover: <nlags>", the
 * smallest nlags from which cuFFT wins at every larger nlags measured: LANES_CUDA_ACF_FFT_MIN_NLAGS
 * (cuda/cuda_api.h) is read off that line. Without a device it prints "no CUDA device: skipped" and
 * exits 0. Not a test: timings depend on the machine and its load.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda/cuda_api.h"
#include "lanes/acf.h"
#include "bench_util.h"

#define BIG_N ((size_t)1 << 26)
#define BIG_NLAGS ((size_t)1 << 20)
#define SMALL_N ((size_t)1 << 24)
#define SMALL_NLAGS ((size_t)1000)
#define GPU_BLOCK ((size_t)1 << 24)
#define CHUNK ((size_t)1 << 20)
#define CROSS_N ((size_t)1 << 24)
#define REPS 5



static void die(const char *what, const lanes_error_t *err)
{
    fprintf(stderr, "%s failed: %s\n", what, err->msg);
    exit(1);
}

/* One whole ACF job over x[0..n); with ctx != NULL through the GPU engine. Copies the ACF to acf
 * (nlags + 1) and returns the time in ms. */
static double acf_job(lanes_cuda_ctx_t *ctx, const double *x, size_t n, size_t nlags, double *acf)
{
    lanes_error_t err;
    memset(&err, 0, sizeof err);
    double t0 = bench_now_ms();
    lanes_acf_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.nlags = (int64_t)nlags;
    spec.method = LANES_ACF_FFT;
    spec.threads = 1;
    lanes_acf_t *a = lanes_acf_new(&spec, &err);
    if (!a)
        die("lanes_acf_new()", &err);
    lanes_cuda_acf_t *eng = NULL;
    if (ctx) {
        size_t block = GPU_BLOCK < n ? GPU_BLOCK : n;
        eng = lanes_cuda_acf_new(ctx, nlags, block, &err);
        if (!eng)
            die("lanes_cuda_acf_new()", &err);
        if (lanes_acf_set_block_engine(a, block, lanes_cuda_acf_block_fn, eng) != 0) {
            fprintf(stderr, "lanes_acf_set_block_engine() failed\n");
            exit(1);
        }
    }
    for (size_t off = 0; off < n; off += CHUNK)
        lanes_acf_feed(a, x + off, n - off < CHUNK ? n - off : CHUNK, LANES_DTYPE_F64);
    lanes_acf_result_t out;
    if (lanes_acf_finish(a, &out, &err) != 0)
        die("lanes_acf_finish()", &err);
    char msg[512];
    if (lanes_acf_engine_failed(a, msg, sizeof msg)) {
        fprintf(stderr, "the GPU engine failed (the CPU finished the job): %s\n", msg);
        exit(1);
    }
    memcpy(acf, out.acf, (nlags + 1) * sizeof *acf);
    lanes_acf_free(a);
    lanes_cuda_acf_free(eng);
    return bench_now_ms() - t0;
}

static void compare(lanes_cuda_ctx_t *ctx, const double *x, size_t n, size_t nlags)
{
    double *cpu = malloc((nlags + 1) * sizeof *cpu), *gpu = malloc((nlags + 1) * sizeof *gpu);
    if (!cpu || !gpu) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    acf_job(ctx, x, n < GPU_BLOCK ? n : GPU_BLOCK, nlags, gpu); /* warm-up: device, cuFFT, pages */
    double tg = acf_job(ctx, x, n, nlags, gpu);
    double tc = acf_job(NULL, x, n, nlags, cpu);
    double maxdiff = 0;
    for (size_t k = 0; k <= nlags; k++)
        maxdiff = fmax(maxdiff, fabs(gpu[k] - cpu[k]));
    printf("n %zu nlags %zu: cpu (fft, 1 thread) %.1f ms, gpu engine %.1f ms, ratio %.1fx, max |acf diff| %.2e\n",
           n, nlags, tc, tg, tc / tg, maxdiff);
    free(cpu);
    free(gpu);
}

/* Median time of lanes_cuda_acf_lagsums over one block of CROSS_N values, after a warm-up. */
static double time_lagsums(lanes_cuda_ctx_t *ctx, const double *buf, size_t nlags, lanes_acf_method_t m,
                           double *r)
{
    lanes_error_t err;
    memset(&err, 0, sizeof err);
    lanes_cuda_acf_t *e = lanes_cuda_acf_new_method(ctx, nlags, CROSS_N, m, &err);
    if (!e)
        die("lanes_cuda_acf_new_method()", &err);
    double t[REPS];
    for (int rep = -1; rep < REPS; rep++) {
        double t0 = bench_now_ms();
        if (lanes_cuda_acf_lagsums(e, buf, CROSS_N, r, &err) != 0)
            die("lanes_cuda_acf_lagsums()", &err);
        if (rep >= 0)
            t[rep] = bench_now_ms() - t0;
    }
    lanes_cuda_acf_free(e);
    qsort(t, REPS, sizeof t[0], bench_cmp_double);
    return t[REPS / 2];
}

int main(void)
{
    lanes_device_info_t devs[8];
    char detail[256];
    int count = lanes_cuda_probe(devs, 8, detail, sizeof detail);
    if (count <= 0) {
        printf("no CUDA device: skipped\n(%s)\n", detail);
        return 0;
    }
    printf("device 0: %s (cc %d.%d); %s\n", devs[0].name, devs[0].cc_major, devs[0].cc_minor, detail);
    lanes_error_t err;
    memset(&err, 0, sizeof err);
    lanes_cuda_ctx_t *ctx = lanes_cuda_open(0, 0, &err);
    if (!ctx)
        die("lanes_cuda_open()", &err);

    double *x = malloc(BIG_N * sizeof *x);
    if (!x) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    unsigned long long s = 88172645463325252ull;
    double prev = 0;
    for (size_t i = 0; i < BIG_N; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        prev = 0.7 * prev + ((double)(s >> 11) / 9007199254740992.0 - 0.5);
        x[i] = 10.0 + prev;
    }

    compare(ctx, x, BIG_N, BIG_NLAGS);
    compare(ctx, x, SMALL_N, SMALL_NLAGS);

    /* The crossover: one block, nlags previous values then CROSS_N new ones. */
    double *r = malloc((LANES_CUDA_ACF_DIRECT_MAX_NLAGS + 1) * sizeof *r);
    if (!r)
        return 1;
    size_t crossover = 0;
    printf("lagsums of one block of %zu values (incl. its copy to the device):\n", CROSS_N);
    printf("%8s %12s %12s %8s\n", "nlags", "direct ms", "cufft ms", "ratio");
    for (size_t nlags = 16; nlags <= LANES_CUDA_ACF_DIRECT_MAX_NLAGS; nlags *= 2) {
        double td = time_lagsums(ctx, x, nlags, LANES_ACF_DIRECT, r);
        double tf = time_lagsums(ctx, x, nlags, LANES_ACF_FFT, r);
        printf("%8zu %12.2f %12.2f %8.2f\n", nlags, td, tf, td / tf);
        bench_crossover(&crossover, nlags, tf < td);
    }
    if (crossover)
        printf("crossover: %zu (LANES_CUDA_ACF_FFT_MIN_NLAGS is %d)\n", crossover, LANES_CUDA_ACF_FFT_MIN_NLAGS);
    else
        printf("crossover: none up to %d (LANES_CUDA_ACF_FFT_MIN_NLAGS is %d)\n", LANES_CUDA_ACF_DIRECT_MAX_NLAGS,
               LANES_CUDA_ACF_FFT_MIN_NLAGS);
    free(r);
    free(x);
    lanes_cuda_close(ctx);
    return 0;
}
