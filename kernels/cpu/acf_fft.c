/* The FFT method of the streaming ACF (acf_cpu.c): all lags of one block at once, overlap-save.
 *
 * Design: a block buffer a = buf[0 .. nlags + B) holds the previous nlags values then B new ones;
 * b is the same buffer with its first nlags entries zeroed. The block's lag sums
 * r[k] = sum_{j new} a[j-k] * a[j] = sum_i a[i] b[i+k] are the cross-correlation of a and b, computed
 * as IFFT(conj(FFT(a)) * FFT(b)) / N with real transforms (r2c, c2r) of size N, a power of two
 * >= 8*nlags (and >= 4096). B = N - 2*nlags, so no circular wrap reaches lags 0..nlags (a and b are
 * zero from nlags + B up to N). Cost per value: about 3 transforms of N per B values, O(log nlags).
 *
 * Accuracy: r[k] is exact to about eps * log2(N) * sum over the block of y^2 (absolute), so an ACF
 * value is accurate to ~1e-14 for ordinary data; acf_cpu.c shifts the data by its first value first,
 * so a large mean does not enter that bound. Block sums are combined with compensated sums there.
 *
 * Threads: FFTW's planner is not thread-safe, so plan creation and destruction are serialised by one
 * mutex; fftw_execute_dft_* on an object's own arrays is thread-safe. FFTW threads are not used (the
 * daemon runs many jobs at once; a job's FFT per block is short).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

typedef struct lanes__acf_fft lanes__acf_fft_t;
lanes__acf_fft_t *lanes__acf_fft_new(size_t nlags, size_t *block);
void lanes__acf_fft_block(lanes__acf_fft_t *f, const double *buf, size_t used, double *r);
void lanes__acf_fft_free(lanes__acf_fft_t *f);

#define FFT_MIN_SIZE 4096

struct lanes__acf_fft {
    size_t nlags, n, block;
    double *ra, *rb;              /* n */
    fftw_complex *ca, *cb;        /* n/2 + 1 */
    fftw_plan fwd, inv;           /* ra -> ca; ca -> ra (also run on rb/cb via new-array execute) */
};

static pthread_mutex_t g_plan_lock = PTHREAD_MUTEX_INITIALIZER;

void lanes__acf_fft_free(lanes__acf_fft_t *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&g_plan_lock);
    if (f->fwd)
        fftw_destroy_plan(f->fwd);
    if (f->inv)
        fftw_destroy_plan(f->inv);
    pthread_mutex_unlock(&g_plan_lock);
    fftw_free(f->ra);
    fftw_free(f->rb);
    fftw_free(f->ca);
    fftw_free(f->cb);
    free(f);
}

/* Returns a new FFT state for 'nlags' and sets *block to the values per block; NULL if out of memory. */
lanes__acf_fft_t *lanes__acf_fft_new(size_t nlags, size_t *block)
{
    lanes__acf_fft_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    size_t n = FFT_MIN_SIZE;
    while (n < 8 * nlags)
        n *= 2;
    f->nlags = nlags;
    f->n = n;
    f->block = n - 2 * nlags;
    f->ra = fftw_malloc(n * sizeof *f->ra);
    f->rb = fftw_malloc(n * sizeof *f->rb);
    f->ca = fftw_malloc((n / 2 + 1) * sizeof *f->ca);
    f->cb = fftw_malloc((n / 2 + 1) * sizeof *f->cb);
    if (!f->ra || !f->rb || !f->ca || !f->cb) {
        lanes__acf_fft_free(f);
        return NULL;
    }
    pthread_mutex_lock(&g_plan_lock);
    f->fwd = fftw_plan_dft_r2c_1d((int)n, f->ra, f->ca, FFTW_ESTIMATE);
    f->inv = fftw_plan_dft_c2r_1d((int)n, f->ca, f->ra, FFTW_ESTIMATE);
    pthread_mutex_unlock(&g_plan_lock);
    if (!f->fwd || !f->inv) {
        lanes__acf_fft_free(f);
        return NULL;
    }
    *block = f->block;
    return f;
}

/* r[k] = sum_{j = nlags}^{nlags + used - 1} buf[j-k] * buf[j], k = 0..nlags; used <= block. */
void lanes__acf_fft_block(lanes__acf_fft_t *f, const double *buf, size_t used, double *r)
{
    const size_t L = f->nlags, n = f->n, m = n / 2 + 1;
    memcpy(f->ra, buf, (L + used) * sizeof *f->ra);
    memset(f->ra + L + used, 0, (n - L - used) * sizeof *f->ra);
    memset(f->rb, 0, L * sizeof *f->rb);
    memcpy(f->rb + L, buf + L, used * sizeof *f->rb);
    memset(f->rb + L + used, 0, (n - L - used) * sizeof *f->rb);
    fftw_execute_dft_r2c(f->fwd, f->ra, f->ca);
    fftw_execute_dft_r2c(f->fwd, f->rb, f->cb);
    for (size_t i = 0; i < m; i++) {
        const double ar = f->ca[i][0], ai = -f->ca[i][1];  /* conj(A) */
        const double br = f->cb[i][0], bi = f->cb[i][1];
        f->ca[i][0] = ar * br - ai * bi;
        f->ca[i][1] = ar * bi + ai * br;
    }
    fftw_execute_dft_c2r(f->inv, f->ca, f->ra);
    const double scale = 1.0 / (double)n;
    for (size_t k = 0; k <= L; k++)
        r[k] = f->ra[k] * scale;
}
