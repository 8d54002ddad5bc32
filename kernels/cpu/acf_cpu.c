/* Streaming autocorrelation (statsmodels' acf) on the CPU: state, the direct method, the statistics.
 *
 * Design: the mean is known only at the end, so the kernel accumulates, on SHIFTED values
 * y_t = x_t - c (c = the first value fed), the lagged products S_k = sum_{t<n-k} y_t y_{t+k}, the
 * total sum of y, the first nlags values of y and (in the block buffer) the last nlags. At finish,
 * with my = mean(y), H_k = sum of the first n-k values = total - (sum of the last k) and
 * T_k = sum of the last n-k values = total - (sum of the first k):
 *     sum_{t<n-k} (y_t - my)(y_{t+k} - my) = S_k - my*H_k - my*T_k + (n-k)*my^2,
 * evaluated in long double. The shift makes y of the size of the spread, not of the mean, so a series
 * whose mean is 1e6 times its standard deviation loses nothing to cancellation.
 *
 * Blocks: values are converted (any dtype) into buf[nlags .. nlags + block) behind the previous
 * nlags values (zeros before the start of the series, which contribute nothing). A full block is
 * processed, then its last nlags values move to the front. Blocks are cut by absolute index, so the
 * result is bit-identical for every chunking of the stream; the final short block is processed at
 * finish. Per block, the direct method computes for each lag k the dot product
 * sum_{j in block} buf[j-k]*buf[j] (8 fixed lanes, vectorised), the FFT method (acf_fft.c) all lags at
 * once; either way the block's lag sums are added to a Neumaier-compensated sum per lag, so the error
 * does not grow with the number of blocks. Direct: about 1 ulp * block/8 of sum|y_t y_{t+k}| per
 * block. FFT: about eps * log2(N) * (sum of y^2 over the block) per lag and block.
 *
 * Block engine (lanes_acf_set_block_engine): another backend (the GPU, kernels/cuda/acf.cu) may compute
 * a block's lag sums. The block size then becomes the engine's (buf holds nlags + that block), blocks
 * are still cut by absolute index, and the r[0..nlags] the engine returns is added to the Neumaier
 * sums exactly as the CPU's. If the engine fails, that block and every later one run on the CPU:
 * acf_cpu_lagsums walks the (larger) buffer in sub-blocks of the CPU method's own size, each one
 * a window of buf with its nlags previous values in front. A block's lag sums are sums over its new
 * values, so sub-blocks add up to exactly the block's sums (up to rounding); memory stays
 * O(nlags + block) and the CPU method's state (the FFT plans) is kept from lanes_acf_new on.
 *
 * Threads: with threads > 1 the direct method spreads a block's lags over OpenMP threads; each lag's
 * sum is computed in the same order whatever the thread count.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "cpu/convert.h"
#include "lanes/acf.h"

#define DIRECT_BLOCK 1024

/* The FFT method (acf_fft.c). */
typedef struct lanes__acf_fft lanes__acf_fft_t;
lanes__acf_fft_t *lanes__acf_fft_new(size_t nlags, size_t *block);
void lanes__acf_fft_block(lanes__acf_fft_t *f, const double *buf, size_t used, double *r);
void lanes__acf_fft_free(lanes__acf_fft_t *f);

struct lanes_acf {
    lanes_acf_spec_t spec;
    size_t nlags;
    int use_fft;
    int finished;
    uint64_t n;          /* values fed */
    double c;            /* the shift: the first value */
    long double sum_y;   /* sum of all y */

    size_t block;        /* values per block (the engine's block when one is set) */
    size_t cpu_block;    /* values per block of the CPU method (direct or FFT); <= its buffers */
    size_t pend;         /* values waiting in buf[nlags ..] */
    double *buf;         /* nlags + block */
    double *head;        /* the first nlags values of y */
    double *s_hi, *s_lo; /* nlags + 1: Neumaier sums of the lag products */
    double *r;           /* nlags + 1: one block's lag sums */
    lanes__acf_fft_t *fft;
    int fed;             /* a feed was called (the engine can no longer be set) */

    lanes_acf_block_fn engine;  /* NULL: the CPU method only */
    void *engine_ctx;           /* borrowed */
    int engine_failed;          /* the engine failed once: the CPU runs the rest of the job */
    char engine_msg[sizeof(((lanes_error_t *)0)->msg)];

    double *acf, *confint, *q, *p; /* results */
};

static inline void neumaier_add(double *s, double *c, double x)
{
    double t = *s + x;
    if (fabs(*s) >= fabs(x))
        *c += (*s - t) + x;
    else
        *c += (x - t) + *s;
    *s = t;
}

/* sum a[i]*b[i], i < n, in 8 fixed lanes. */
static double acf_dot(const double *a, const double *b, size_t n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
#pragma omp simd
        for (int j = 0; j < 8; j++)
            acc[j] += a[i + j] * b[i + j];
    }
    for (int j = 0; i + (size_t)j < n; j++)
        acc[j] += a[i + (size_t)j] * b[i + (size_t)j];
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

/* Adds one block's lag sums r[0..nlags] to the compensated sums. */
static void acf_add_lagsums(lanes_acf_t *a, const double *r)
{
    for (size_t k = 0; k <= a->nlags; k++)
        neumaier_add(&a->s_hi[k], &a->s_lo[k], r[k]);
}

/* The CPU method on the B new values of buf (after its nlags previous ones), in sub-blocks of at
 * most cpu_block values (one sub-block unless an engine set a larger block), each sub-block's lag
 * sums added to the compensated sums. */
static void acf_cpu_lagsums(lanes_acf_t *a, const double *buf, size_t B)
{
    const size_t L = a->nlags;
    for (size_t off = 0; off < B; off += a->cpu_block) {
        const size_t u = B - off < a->cpu_block ? B - off : a->cpu_block;
        const double *w = buf + off; /* w[0 .. L) precede the sub-block's new values w[L .. L + u) */
        if (a->use_fft) {
            lanes__acf_fft_block(a->fft, w, u, a->r);
            acf_add_lagsums(a, a->r);
        } else if (a->spec.threads > 1 && L >= 32) {
#pragma omp parallel for num_threads(a->spec.threads) schedule(static)
            for (size_t k = 0; k <= L; k++)
                neumaier_add(&a->s_hi[k], &a->s_lo[k], acf_dot(w + L - k, w + L, u));
        } else {
            for (size_t k = 0; k <= L; k++)
                neumaier_add(&a->s_hi[k], &a->s_lo[k], acf_dot(w + L - k, w + L, u));
        }
    }
}

/* Processes the pending values: lag sums into s_hi/s_lo (by the engine, or the CPU method), then
 * keeps the last nlags values. */
static void acf_process_block(lanes_acf_t *a)
{
    const size_t L = a->nlags, B = a->pend;
    double *buf = a->buf;
    if (B == 0)
        return;
    /* The sum of y per block (blocks are cut by absolute index), so it is the same for any chunking. */
    long double sum = 0;
    for (size_t j = 0; j < B; j++)
        sum += buf[L + j];
    a->sum_y += sum;
    int on_cpu = 1;
    if (a->engine && !a->engine_failed) {
        lanes_error_t e;
        memset(&e, 0, sizeof e);
        if (a->engine(a->engine_ctx, buf, L, B, a->r, &e) == 0) {
            acf_add_lagsums(a, a->r);
            on_cpu = 0;
        } else {
            a->engine_failed = 1;
            snprintf(a->engine_msg, sizeof a->engine_msg, "%s",
                     e.msg[0] ? e.msg : "the block engine failed without a message");
        }
    }
    if (on_cpu)
        acf_cpu_lagsums(a, buf, B);
    memmove(buf, buf + B, L * sizeof *buf);
    a->pend = 0;
}

int lanes_acf_set_block_engine(lanes_acf_t *a, size_t block, lanes_acf_block_fn fn, void *ctx)
{
    if (!a || !fn || block == 0 || a->fed || a->finished)
        return LANES_EINVAL;
    if (block > (SIZE_MAX / sizeof(double)) - a->nlags)
        return LANES_EINVAL;
    double *buf = calloc(a->nlags + block, sizeof *buf);
    if (!buf)
        return LANES_ENOMEM;
    free(a->buf);
    a->buf = buf;
    a->block = block;
    a->engine = fn;
    a->engine_ctx = ctx;
    return 0;
}

int lanes_acf_engine_failed(const lanes_acf_t *a, char *msg, size_t cap)
{
    if (!a)
        return 0;
    if (msg && cap > 0)
        snprintf(msg, cap, "%s", a->engine_failed ? a->engine_msg : "");
    return a->engine_failed;
}

size_t lanes_acf_nlags(const lanes_acf_t *a) { return a->nlags; }

void lanes_acf_set_threads(lanes_acf_t *a, int threads)
{
    if (a)
        a->spec.threads = threads;
}

void lanes_acf_free(lanes_acf_t *a)
{
    if (!a)
        return;
    lanes__acf_fft_free(a->fft);
    free(a->buf);
    free(a->head);
    free(a->s_hi);
    free(a->s_lo);
    free(a->r);
    free(a->acf);
    free(a->confint);
    free(a->q);
    free(a->p);
    free(a);
}

lanes_acf_t *lanes_acf_new(const lanes_acf_spec_t *spec, lanes_error_t *err)
{
    if (!spec) {
        lanes_error_set(err, LANES_EINVAL, "acf: no spec");
        return NULL;
    }
    if (spec->nlags < -1) {
        lanes_error_set(err, LANES_EINVAL, "acf: nlags must be >= 0 (or -1 for the default)");
        return NULL;
    }
    if (spec->nlags == -1 && spec->n_total == 0) {
        lanes_error_set(err, LANES_EINVAL,
                        "acf: the default nlags needs the series length (n_total) up front");
        return NULL;
    }
    if (spec->n_total > 0 && spec->nlags >= 0 && (uint64_t)spec->nlags >= spec->n_total) {
        lanes_error_set(err, LANES_EINVAL, "acf: nlags (%lld) must be < n (%llu)",
                        (long long)spec->nlags, (unsigned long long)spec->n_total);
        return NULL;
    }
    if (!(spec->alpha >= 0.0 && spec->alpha < 1.0)) {
        lanes_error_set(err, LANES_EINVAL, "acf: alpha must be in (0, 1), or 0 for no intervals");
        return NULL;
    }
    if ((unsigned)spec->method > LANES_ACF_FFT) {
        lanes_error_set(err, LANES_EINVAL, "acf: unknown method %d", (int)spec->method);
        return NULL;
    }
    lanes_acf_t *a = calloc(1, sizeof *a);
    if (!a) {
        lanes_error_set(err, LANES_ENOMEM, "acf: out of memory");
        return NULL;
    }
    a->spec = *spec;
    if (spec->nlags >= 0) {
        a->nlags = (size_t)spec->nlags;
    } else {
        /* statsmodels: min(int(10 * np.log10(nobs)), nobs - 1) */
        double d = floor(10.0 * log10((double)spec->n_total));
        uint64_t dl = d < 0 ? 0 : (uint64_t)d;
        a->nlags = (size_t)(dl < spec->n_total - 1 ? dl : spec->n_total - 1);
    }
    size_t min_fft = spec->fft_min_nlags ? spec->fft_min_nlags : LANES_ACF_FFT_MIN_NLAGS;
    a->use_fft = spec->method == LANES_ACF_FFT ||
                 (spec->method == LANES_ACF_AUTO && a->nlags >= min_fft);
    const size_t L = a->nlags;
    if (a->use_fft) {
        a->fft = lanes__acf_fft_new(L, &a->block);
        if (!a->fft)
            goto oom;
    } else {
        a->block = DIRECT_BLOCK;
    }
    a->cpu_block = a->block;
    a->buf = calloc(L + a->block, sizeof *a->buf);
    a->head = calloc(L ? L : 1, sizeof *a->head);
    a->s_hi = calloc(L + 1, sizeof *a->s_hi);
    a->s_lo = calloc(L + 1, sizeof *a->s_lo);
    a->r = calloc(L + 1, sizeof *a->r);
    a->acf = calloc(L + 1, sizeof *a->acf);
    if (!a->buf || !a->head || !a->s_hi || !a->s_lo || !a->r || !a->acf)
        goto oom;
    if (spec->alpha > 0 && !(a->confint = calloc(2 * (L + 1), sizeof *a->confint)))
        goto oom;
    if (spec->qstat && (!(a->q = calloc(L ? L : 1, sizeof *a->q)) ||
                        !(a->p = calloc(L ? L : 1, sizeof *a->p))))
        goto oom;
    return a;
oom:
    lanes_acf_free(a);
    lanes_error_set(err, LANES_ENOMEM, "acf: out of memory (nlags %zu)", L);
    return NULL;
}

int lanes_acf_feed(lanes_acf_t *a, const void *data, size_t n, lanes_dtype_t dtype)
{
    if (!a || (!data && n > 0) || lanes_dtype_size(dtype) == 0 || a->finished)
        return LANES_EINVAL;
    a->fed = 1;
    const unsigned char *p = data;
    const size_t esz = lanes_dtype_size(dtype), L = a->nlags;
    while (n > 0) {
        size_t take = a->block - a->pend;
        if (take > n)
            take = n;
        double *dst = a->buf + L + a->pend;
        lanes__convert_to_f64(dst, p, dtype, take);
        if (a->n == 0)
            a->c = dst[0];
        const double c = a->c;
        for (size_t i = 0; i < take; i++)
            dst[i] -= c;
        for (size_t i = 0; a->n + i < L && i < take; i++)
            a->head[a->n + i] = dst[i];
        a->n += take;
        a->pend += take;
        p += take * esz;
        n -= take;
        if (a->pend == a->block)
            acf_process_block(a);
    }
    return 0;
}

int lanes_acf_finish(lanes_acf_t *a, lanes_acf_result_t *out, lanes_error_t *err)
{
    if (!a || !out)
        return lanes_error_set(err, LANES_EINVAL, "acf: NULL argument");
    if (a->finished)
        return lanes_error_set(err, LANES_EINVAL, "acf: finish called twice");
    a->finished = 1;
    const size_t L = a->nlags;
    const uint64_t n = a->n;
    if (a->spec.n_total > 0 && n != a->spec.n_total)
        return lanes_error_set(err, LANES_EINVAL, "acf: %llu values fed, n_total announced %llu",
                               (unsigned long long)n, (unsigned long long)a->spec.n_total);
    if (n < 2)
        return lanes_error_set(err, LANES_EINVAL, "acf: needs at least 2 values, got %llu",
                               (unsigned long long)n);
    if (L >= n)
        return lanes_error_set(err, LANES_EINVAL, "acf: nlags (%zu) must be < n (%llu)", L,
                               (unsigned long long)n);

    acf_process_block(a);
    /* Now buf[0 .. L) holds the last L values (zeros before the start of the series). */
    const double *tail_end = a->buf + L;

    const long double N = (long double)n, my = a->sum_y / N;
    long double first_k = 0, last_k = 0, acov0 = 0;
    for (size_t k = 0; k <= L; k++) {
        if (k > 0) {
            first_k += a->head[k - 1];
            last_k += tail_end[-(ptrdiff_t)k];
        }
        const long double S = (long double)a->s_hi[k] + (long double)a->s_lo[k];
        const long double H = a->sum_y - last_k, T = a->sum_y - first_k;
        const long double num = S - my * H - my * T + (N - (long double)k) * my * my;
        const long double acov = num / (a->spec.adjusted ? N - (long double)k : N);
        if (k == 0)
            acov0 = acov;
        a->acf[k] = (double)(acov / acov0);
    }

    if (a->confint) {
        const double z = gsl_cdf_ugaussian_Pinv(1.0 - a->spec.alpha / 2.0);
        double cum = 0.0; /* sum_{j=1}^{k-1} acf[j]^2 */
        for (size_t k = 0; k <= L; k++) {
            double var;
            if (k == 0) {
                var = 0.0;
            } else if (k == 1) {
                var = 1.0 / (double)n;
            } else {
                cum += a->acf[k - 1] * a->acf[k - 1];
                var = (1.0 + 2.0 * cum) / (double)n;
            }
            const double h = z * sqrt(var);
            a->confint[2 * k] = a->acf[k] - h;
            a->confint[2 * k + 1] = a->acf[k] + h;
        }
    }
    if (a->q) {
        const double nd = (double)n;
        double cum = 0.0;
        for (size_t k = 1; k <= L; k++) {
            cum += a->acf[k] * a->acf[k] / (nd - (double)k);
            const double q = nd * (nd + 2.0) * cum;
            a->q[k - 1] = q;
            /* gsl's error handler would abort on NaN: propagate NaN ourselves. */
            a->p[k - 1] = isnan(q) ? NAN : isinf(q) ? 0.0 : gsl_cdf_chisq_Q(q, (double)k);
        }
    }
    out->n = n;
    out->nlags = L;
    out->fft = a->use_fft;
    out->acf = a->acf;
    out->confint = a->confint;
    out->qstat = a->q;
    out->pvalues = a->p;
    return 0;
}
