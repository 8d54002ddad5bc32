/* lanes compute library: streaming autocorrelation (ACF), as statsmodels.tsa.stattools.acf.
 *
 * The series arrives in chunks, in order; the whole series is never held. Memory is O(nlags + block)
 * whatever the length of the series (block: 1024 values for the direct method, an FFT size minus
 * 2*nlags for the FFT method). Semantics (missing='none', fft irrelevant):
 *   m = mean of the whole series; acovf(k) = sum_{t<n-k} (x_t - m)(x_{t+k} - m) / d, d = n, or n - k
 *   when 'adjusted'; acf(k) = acovf(k) / acovf(0), k = 0..nlags.
 *   alpha: Bartlett intervals acf(k) -/+ z*sqrt(v_k), z = Phi^-1(1 - alpha/2), v_0 = 0, v_1 = 1/n,
 *   v_k = (1 + 2*sum_{j=1}^{k-1} acf(j)^2)/n.
 *   qstat: Ljung-Box Q_k = n(n+2) sum_{j=1}^{k} acf(j)^2/(n-j), p_k = chi2.sf(Q_k, k), k = 1..nlags.
 * NaN (or inf) in the data propagates: every result is NaN, as statsmodels with missing='none'. A
 * constant series gives acovf(0) = 0 and NaN results (0/0), as statsmodels.
 *
 * nlags: the default min(int(10*log10(n)), n-1) needs n, known only at the end of a stream. Choice:
 * nlags must be given (>= 0), OR nlags = -1 together with n_total, the series length announced up
 * front; finish then fails (LANES_EINVAL) if a different number of values was fed.
 *
 * Errors: 0 or a negative LANES_E* code (lanes/kernels.h), with a message in lanes_error_t.
 * Threads: distinct objects may be used from distinct threads at once; one object must not be used by
 * two threads at once. 'threads' > 1 lets a feed of the direct method spread its lags over OpenMP
 * threads; results do not depend on the thread count nor on the chunking (bit for bit).
 */
#ifndef LANES_ACF_H
#define LANES_ACF_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lanes_acf_method {
    LANES_ACF_AUTO = 0,  /* FFT when nlags >= fft_min_nlags (or LANES_ACF_FFT_MIN_NLAGS), else direct */
    LANES_ACF_DIRECT,    /* O(n * nlags) dot products, compensated sums per lag */
    LANES_ACF_FFT,       /* overlap-save block correlation with FFTW: O(n log nlags) */
} lanes_acf_method_t;

/* Default crossover of LANES_ACF_AUTO, measured with lanes-bench-acf (kernels/bench/bench_acf.c): on a
 * 2-core x86-64 dev machine, 1M float64 values, one thread, direct/FFT time was 0.89 at nlags 32,
 * 1.56 at 64, 5.4 at 256, 40 at 4096 (the FFT costs ~8-16 ms whatever nlags; direct grows linearly). */
#define LANES_ACF_FFT_MIN_NLAGS 64

typedef struct lanes_acf_spec {
    int64_t nlags;        /* >= 0, or -1 for statsmodels' default (then n_total is required) */
    uint64_t n_total;     /* the series length if known up front, else 0; checked at finish if > 0 */
    int adjusted;         /* divide by n - k instead of n */
    double alpha;         /* 0: no intervals; else 0 < alpha < 1 */
    int qstat;            /* compute Ljung-Box Q and p-values */
    lanes_acf_method_t method;
    size_t fft_min_nlags; /* AUTO's crossover; 0 = LANES_ACF_FFT_MIN_NLAGS */
    int threads;          /* <= 1: inline */
} lanes_acf_spec_t;

typedef struct lanes_acf_result {
    uint64_t n;             /* values fed */
    size_t nlags;           /* resolved */
    int fft;                /* 1 if the FFT method ran, 0 for the direct one */
    /* Arrays owned by the lanes_acf_t, valid until lanes_acf_free(). NULL when not asked for. */
    const double *acf;      /* nlags + 1 */
    const double *confint;  /* (nlags + 1) x 2, row-major: lower, upper (alpha only) */
    const double *qstat;    /* nlags: Q_1 .. Q_nlags (qstat only) */
    const double *pvalues;  /* nlags (qstat only) */
} lanes_acf_result_t;

typedef struct lanes_acf lanes_acf_t;

/* Validates the spec (nlags < -1, nlags = -1 without n_total, n_total > 0 with nlags >= n_total,
 * alpha not in [0, 1), bad method) and returns a new object that the caller owns and frees with
 * lanes_acf_free(), or NULL with err set (LANES_EINVAL, LANES_ENOMEM). The spec is borrowed for the
 * call only. Thread-safe (FFTW plan creation is serialised by an internal mutex). */
lanes_acf_t *lanes_acf_new(const lanes_acf_spec_t *spec, lanes_error_t *err);

/* Feeds the next n values of dtype 'dtype' (any lanes dtype, may change between feeds, no alignment
 * needed). Returns 0, or LANES_EINVAL for a NULL object, NULL data with n > 0, a bad dtype, or a
 * feed after finish. 'data' is borrowed for the call only. */
int lanes_acf_feed(lanes_acf_t *a, const void *data, size_t n, lanes_dtype_t dtype);

/* The lags the object computes: spec.nlags, or statsmodels' default resolved from n_total. */
size_t lanes_acf_nlags(const lanes_acf_t *a);
/* Sets the OpenMP threads later feeds (and finish) of the direct method may use (<= 1: inline). Results
 * do not depend on it. For a caller that places each chunk by its size. */
void lanes_acf_set_threads(lanes_acf_t *a, int threads);

/* A block engine computes the lag sums of one block on another backend (a GPU):
 * r[k] = sum_{j = nlags}^{nlags + used - 1} buf[j - k] * buf[j], k = 0..nlags, where buf holds the
 * nlags values before the block (zeros before the series' start) then 'used' new values (shifted, as
 * acf_cpu.c's design comment says). Returns 0, or a negative LANES_E* code with err set. */
typedef int (*lanes_acf_block_fn)(void *ctx, const double *buf, size_t nlags, size_t used, double *r,
                                  lanes_error_t *err);
/* Before the first feed: full blocks of 'block' values (>= 1) go to fn (with ctx, borrowed until
 * lanes_acf_free) instead of the CPU method; the final short block too. When fn fails, that block and
 * the rest of the job run on the CPU (the result stays correct; lanes_acf_engine_failed tells, with
 * fn's message). Blocks are still cut by absolute index, so the result does not depend on chunking.
 * Returns 0, or LANES_EINVAL after a feed or for block 0 or a NULL fn, LANES_ENOMEM if the block
 * buffer (nlags + block values) cannot be allocated (the object is then unchanged). */
int lanes_acf_set_block_engine(lanes_acf_t *a, size_t block, lanes_acf_block_fn fn, void *ctx);
/* 1 if the block engine failed and the CPU took over (msg, if not NULL, gets its message, truncated
 * to cap; "" when it did not fail), else 0 (also for a NULL object). */
int lanes_acf_engine_failed(const lanes_acf_t *a, char *msg, size_t cap);
/* Computes the results of everything fed into *out (arrays owned by 'a'). Fails with LANES_EINVAL
 * and a message for n < 2, nlags >= n, n != n_total, or a second call. */
int lanes_acf_finish(lanes_acf_t *a, lanes_acf_result_t *out, lanes_error_t *err);

/* Frees the object and its result arrays; NULL is allowed. */
void lanes_acf_free(lanes_acf_t *a);

#ifdef __cplusplus
}
#endif

#endif /* LANES_ACF_H */
