/* The ACF block engine on the device: one block's lag sums r[k] = sum_j buf[j-k] * buf[j]
 * (k = 0..nlags, j over the block's new values) for lanes_acf (kernels/cpu/acf_cpu.c), which streams
 * the series, shifts it and adds the blocks' sums into compensated sums.
 *
 * Design: the host buffer (nlags previous values, then 'used' new ones) is copied to d_buf in pieces
 * staged through the context's two pinned buffers, alternating the two streams (the host fills one
 * pinned buffer while the other is copied). The new values are cut into GROUPS of a fixed size; a
 * group is computed, on the stream of the piece that completed its input, as soon as the copies cover
 * it (the stream first waits for the other stream's latest copy), so computing overlaps copying.
 * Each group writes its lag sums to its own row of d_gpart; a last kernel sums the rows in a fixed
 * order. Per stream there is one set of scratch buffers (and cuFFT plans), so groups on one stream
 * reuse them in stream order and the two streams never share any.
 *   Direct (nlags < LANES_CUDA_ACF_FFT_MIN_NLAGS): a thread block takes a tile of 4096 new values and
 *   the nlags before them into shared memory; for each lag every thread sums its 16 products in a
 *   fixed order, warps reduce by shuffles in a fixed tree, then one thread per lag adds the 8 warp sums
 *   in order: the tile's partial. A group's partials are summed per lag in a fixed order (column sum).
 *   FFT: overlap-save exactly as acf_fft.c, batched: segments of FFT size N (a power of two >= 8*nlags
 *   and >= FFT_MIN_SIZE), B = N - 2*nlags new values each; segment s: a = buf[s*B .. s*B + nlags + u)
 *   zero-padded to N, b = a with its first nlags entries zeroed; r_s = C2R(conj(R2C(a)) * R2C(b)) with
 *   one batched plan for all segments of a group; the group's row is the sum over its segments (fixed
 *   order); cuFFT does not normalise, so the final sum is multiplied by 1/N (a power of two: exact).
 * No atomics anywhere: the same inputs give the same bits on a given device.
 *
 * Accuracy: as acf_fft.c (about eps * log2(N) * sum of y^2 over a segment per lag) for the FFT; the
 * direct kernel's sums (each product and addition rounded separately: the kernels library is built with
 * --fmad=false) are within about eps * (16 + log2(4096) + tiles) of sum |y_t y_t+k|.
 *
 * Memory (device, plain cudaMalloc, all taken in lanes_cuda_acf_new): d_buf (nlags + max_used), a
 * row of nlags + 1 per group, and per stream the scratch of one group: direct, 1024 tiles' partials;
 * FFT, two real and two complex arrays of batch*N plus cuFFT's work area (auto-allocation off, so
 * the work area is ours too).
 *
 * Errors: every CUDA and cuFFT call is checked (LANES_CU, LANES_CUFFT); after a failure both streams
 * are drained (unless the context is poisoned) so no copy still reads the pinned buffers.
 */
#include <cuda_runtime.h>
#include <cufft.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

#define DIRECT_THREADS 256
#define DIRECT_WARPS (DIRECT_THREADS / 32)
#define DIRECT_PER_THREAD 16
#define DIRECT_TILE (DIRECT_THREADS * DIRECT_PER_THREAD) /* new values per thread block */
#define DIRECT_LAG_CHUNK 64                              /* lags per round of warp sums */
#define DIRECT_GROUP_TILES 1024                          /* tiles per group: 4 Mi values */
#define FFT_MIN_SIZE 32768
#define FFT_GROUP_ELEMS ((size_t)1 << 22)                /* about batch * N per group */
#define COLSUM_X 32
#define COLSUM_Y 8
#define GRID_STRIDE_BLOCKS_PER_SM 16

/* Shared memory of the direct kernel: the tile and the nlags before it, then the warp sums. */
static_assert((LANES_CUDA_ACF_DIRECT_MAX_NLAGS + DIRECT_TILE + DIRECT_WARPS * DIRECT_LAG_CHUNK) *
                      sizeof(double) <= 48 * 1024,
              "the direct kernel's shared memory must fit the default 48 KiB");

struct lanes_cuda_acf {
    lanes_cuda_ctx_t *ctx;  /* borrowed */
    size_t nlags, max_used;
    int fft;                /* 1: cuFFT overlap-save; 0: direct kernel */
    size_t group;           /* new values per group (a multiple of the tile or of the segment) */
    size_t ngroups_max;
    double *d_buf;          /* nlags + max_used */
    double *d_gpart;        /* ngroups_max rows of nlags + 1: each group's lag sums */
    double *d_r;            /* nlags + 1 */
    /* direct */
    size_t group_tiles;
    double *d_part[LANES_CUDA_STREAMS];              /* group_tiles rows of nlags + 1 */
    /* FFT */
    size_t n, log2n, seg;   /* FFT size, its log2, new values per segment */
    size_t batch;           /* segments per group */
    double *d_a[LANES_CUDA_STREAMS], *d_b[LANES_CUDA_STREAMS];        /* batch * n */
    cufftDoubleComplex *d_ca[LANES_CUDA_STREAMS], *d_cb[LANES_CUDA_STREAMS]; /* batch * (n/2 + 1) */
    cufftHandle fwd[LANES_CUDA_STREAMS], inv[LANES_CUDA_STREAMS];
    int have_fwd[LANES_CUDA_STREAMS], have_inv[LANES_CUDA_STREAMS];
    void *d_work[LANES_CUDA_STREAMS];                /* cuFFT work area of the stream's two plans */
};

static const char *cufft_name(int r)
{
    switch (r) {
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
    case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_UNALIGNED_DATA: return "CUFFT_UNALIGNED_DATA";
    case CUFFT_INVALID_DEVICE: return "CUFFT_INVALID_DEVICE";
    case CUFFT_NO_WORKSPACE: return "CUFFT_NO_WORKSPACE";
    case CUFFT_NOT_IMPLEMENTED: return "CUFFT_NOT_IMPLEMENTED";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    case CUFFT_MISSING_DEPENDENCY: return "CUFFT_MISSING_DEPENDENCY";
    default: return "unknown cuFFT error";
    }
}

int lanes__cufft_fail(lanes_cuda_ctx_t *ctx, int result, const char *call, lanes_error_t *err)
{
    /* cudaGetLastError clears a non-sticky error so it is not blamed on a later call. */
    cudaError_t ce = cudaGetLastError();
    if (ctx && lanes__cuda_sticky(ce))
        ctx->poisoned = 1;
    int code = result == CUFFT_ALLOC_FAILED ? LANES_ENOMEM
               : (result == CUFFT_INVALID_VALUE || result == CUFFT_INVALID_SIZE ||
                  result == CUFFT_INVALID_TYPE)
                   ? LANES_EINVAL
                   : LANES_EDEVICE;
    if (ce != cudaSuccess)
        lanes_error_set(err, code, "%s: %s (%d); CUDA runtime: %s (%s)%s", call, cufft_name(result), result,
                        cudaGetErrorString(ce), cudaGetErrorName(ce),
                        ctx && ctx->poisoned ? "; the device context is lost" : "");
    else
        lanes_error_set(err, code, "%s: %s (%d)", call, cufft_name(result), result);
    return code;
}

/* ---- kernels ---- */

/* Direct method: part[blockIdx.x][k] = the lag-k sum over tile blockIdx.x of the values j0 + tile*4096
 * .. (at most 4096 of them, none past 'used'), k = 0..L. buf is d_buf (L previous values first). */
static __global__ void __launch_bounds__(DIRECT_THREADS)
    acf_direct_kernel(const double *__restrict__ buf, size_t L, size_t j0, size_t used, double *__restrict__ part)
{
    extern __shared__ double sm[]; /* L + DIRECT_TILE values, then DIRECT_WARPS * DIRECT_LAG_CHUNK sums */
    double *ws = sm + L + DIRECT_TILE;
    const size_t t0 = j0 + (size_t)blockIdx.x * DIRECT_TILE; /* the tile's first new value */
    const size_t n = used - t0 < DIRECT_TILE ? used - t0 : DIRECT_TILE;
    for (size_t i = threadIdx.x; i < L + n; i += DIRECT_THREADS)
        sm[i] = buf[t0 + i];
    __syncthreads();
    double v[DIRECT_PER_THREAD];
#pragma unroll
    for (int q = 0; q < DIRECT_PER_THREAD; q++) {
        const size_t i = threadIdx.x + (size_t)q * DIRECT_THREADS;
        v[q] = i < n ? sm[L + i] : 0.0;
    }
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    for (size_t k0 = 0; k0 <= L; k0 += DIRECT_LAG_CHUNK) {
        const size_t kn = L + 1 - k0 < DIRECT_LAG_CHUNK ? L + 1 - k0 : DIRECT_LAG_CHUNK;
        for (size_t c = 0; c < kn; c++) {
            const size_t k = k0 + c;
            double acc = 0.0;
#pragma unroll
            for (int q = 0; q < DIRECT_PER_THREAD; q++) {
                const size_t i = threadIdx.x + (size_t)q * DIRECT_THREADS;
                if (i < n)
                    acc += sm[L + i - k] * v[q];
            }
#pragma unroll
            for (int off = 16; off > 0; off >>= 1)
                acc += __shfl_down_sync(0xffffffffu, acc, off);
            if (lane == 0)
                ws[warp * DIRECT_LAG_CHUNK + c] = acc;
        }
        __syncthreads();
        if (threadIdx.x < kn) {
            double s = 0.0;
#pragma unroll
            for (int w = 0; w < DIRECT_WARPS; w++)
                s += ws[w * DIRECT_LAG_CHUNK + threadIdx.x];
            part[(size_t)blockIdx.x * (L + 1) + k0 + threadIdx.x] = s;
        }
        __syncthreads();
    }
}

/* out[k] = scale * sum_{i < rows} in[i*stride + k], k < cols, in a fixed order: COLSUM_Y threads per
 * column take rows y, y + COLSUM_Y, ..., then their sums are added in order of y. */
static __global__ void acf_colsum_kernel(const double *__restrict__ in, size_t stride, size_t rows, size_t cols,
                                         double scale, double *__restrict__ out)
{
    __shared__ double sm[COLSUM_Y][COLSUM_X];
    const size_t k = (size_t)blockIdx.x * COLSUM_X + threadIdx.x;
    double acc = 0.0;
    if (k < cols)
        for (size_t i = threadIdx.y; i < rows; i += COLSUM_Y)
            acc += in[i * stride + k];
    sm[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && k < cols) {
        double s = 0.0;
#pragma unroll
        for (int y = 0; y < COLSUM_Y; y++)
            s += sm[y][threadIdx.x];
        out[k] = s * scale;
    }
}

/* FFT method, one group: for segment s < batch (global segment seg0 + s, first new value
 * (seg0 + s) * seg), a[s][i] = buf[j0 + i] for i < L + u (u: the segment's new values, 0 past
 * 'used'), else 0; b[s][i] = a[s][i] for i >= L, else 0. n = 2^log2n. */
static __global__ void acf_pack_kernel(const double *__restrict__ buf, size_t L, size_t log2n, size_t seg,
                                       size_t seg0, size_t batch, size_t used, double *__restrict__ a,
                                       double *__restrict__ b)
{
    const size_t n = (size_t)1 << log2n, total = batch * n;
    for (size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (size_t)gridDim.x * blockDim.x) {
        const size_t s = idx >> log2n, i = idx & (n - 1);
        const size_t j0 = (seg0 + s) * seg;
        const size_t u = j0 < used ? (used - j0 < seg ? used - j0 : seg) : 0;
        const double v = (u > 0 && i < L + u) ? buf[j0 + i] : 0.0;
        a[idx] = v;
        b[idx] = i >= L ? v : 0.0;
    }
}

/* ca[i] = conj(ca[i]) * cb[i], i < m. */
static __global__ void acf_conj_mul_kernel(cufftDoubleComplex *__restrict__ ca, const cufftDoubleComplex *__restrict__ cb,
                                           size_t m)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < m; i += (size_t)gridDim.x * blockDim.x) {
        const cufftDoubleComplex x = ca[i], y = cb[i];
        cufftDoubleComplex z;
        z.x = x.x * y.x + x.y * y.y;
        z.y = x.x * y.y - x.y * y.x;
        ca[i] = z;
    }
}

/* ---- launchers (one stream each) ---- */

static unsigned grid_for(const lanes_cuda_ctx_t *ctx, size_t total, unsigned threads)
{
    size_t blocks = (total + threads - 1) / threads;
    size_t cap = (size_t)(ctx->sm_count > 0 ? ctx->sm_count : 1) * GRID_STRIDE_BLOCKS_PER_SM;
    if (blocks > cap)
        blocks = cap;
    return (unsigned)(blocks ? blocks : 1);
}

static int launch_colsum(lanes_cuda_ctx_t *ctx, cudaStream_t st, const double *in, size_t stride, size_t rows,
                         size_t cols, double scale, double *out, lanes_error_t *err)
{
    int rc = 0;
    const dim3 block(COLSUM_X, COLSUM_Y);
    const unsigned grid = (unsigned)((cols + COLSUM_X - 1) / COLSUM_X);
    acf_colsum_kernel<<<grid, block, 0, st>>>(in, stride, rows, cols, scale, out);
    LANES_CU(ctx, cudaGetLastError());
    return 0;
fail:
    return rc;
}

/* Computes group g of a call with 'used' new values on stream s: its lag sums into row g of d_gpart
 * (unscaled for the FFT). The group's input, d_buf[g*group .. nlags + its end), must be on the
 * device by the time the stream runs it. */
static int acf_group(lanes_cuda_acf_t *a, int s, size_t g, size_t used, lanes_error_t *err)
{
    int rc = 0;
    lanes_cuda_ctx_t *ctx = a->ctx;
    const cudaStream_t st = ctx->stream[s];
    const size_t L = a->nlags, j0 = g * a->group;
    const size_t nv = used - j0 < a->group ? used - j0 : a->group;
    double *row = a->d_gpart + g * (L + 1);
    if (!a->fft) {
        const size_t tiles = (nv + DIRECT_TILE - 1) / DIRECT_TILE;
        const size_t smem = (L + DIRECT_TILE + DIRECT_WARPS * DIRECT_LAG_CHUNK) * sizeof(double);
        acf_direct_kernel<<<(unsigned)tiles, DIRECT_THREADS, smem, st>>>(a->d_buf, L, j0, used, a->d_part[s]);
        LANES_CU(ctx, cudaGetLastError());
        rc = launch_colsum(ctx, st, a->d_part[s], L + 1, tiles, L + 1, 1.0, row, err);
        if (rc)
            goto fail;
    } else {
        const size_t nseg = (nv + a->seg - 1) / a->seg;
        acf_pack_kernel<<<grid_for(ctx, a->batch * a->n, 256), 256, 0, st>>>(
            a->d_buf, L, a->log2n, a->seg, g * a->batch, a->batch, used, a->d_a[s], a->d_b[s]);
        LANES_CU(ctx, cudaGetLastError());
        LANES_CUFFT(ctx, cufftExecD2Z(a->fwd[s], a->d_a[s], a->d_ca[s]));
        LANES_CUFFT(ctx, cufftExecD2Z(a->fwd[s], a->d_b[s], a->d_cb[s]));
        const size_t m = a->batch * (a->n / 2 + 1);
        acf_conj_mul_kernel<<<grid_for(ctx, m, 256), 256, 0, st>>>(a->d_ca[s], a->d_cb[s], m);
        LANES_CU(ctx, cudaGetLastError());
        LANES_CUFFT(ctx, cufftExecZ2D(a->inv[s], a->d_ca[s], a->d_a[s]));
        /* Segment s's lag k is d_a[s*n + k]: a column sum over the group's used segments. */
        rc = launch_colsum(ctx, st, a->d_a[s], a->n, nseg, L + 1, 1.0, row, err);
        if (rc)
            goto fail;
    }
    return 0;
fail:
    return rc;
}

/* ---- entry points ---- */

extern "C" void lanes_cuda_acf_free(lanes_cuda_acf_t *a)
{
    if (!a)
        return;
    lanes_cuda_ctx_t *ctx = a->ctx;
    cudaSetDevice(ctx->device);
    for (int s = 0; s < LANES_CUDA_STREAMS; s++) {
        if (a->have_fwd[s])
            cufftDestroy(a->fwd[s]);
        if (a->have_inv[s])
            cufftDestroy(a->inv[s]);
        cudaFree(a->d_work[s]);
        cudaFree(a->d_a[s]);
        cudaFree(a->d_b[s]);
        cudaFree(a->d_ca[s]);
        cudaFree(a->d_cb[s]);
        cudaFree(a->d_part[s]);
    }
    cudaFree(a->d_buf);
    cudaFree(a->d_gpart);
    cudaFree(a->d_r);
    free(a);
}

extern "C" lanes_cuda_acf_t *lanes_cuda_acf_new_method(lanes_cuda_ctx_t *ctx, size_t nlags, size_t max_used,
                                                       lanes_acf_method_t method, lanes_error_t *err)
{
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return NULL;
    if (max_used == 0) {
        lanes_error_set(err, LANES_EINVAL, "cuda acf: max_used must be >= 1");
        return NULL;
    }
    if ((unsigned)method > LANES_ACF_FFT) {
        lanes_error_set(err, LANES_EINVAL, "cuda acf: unknown method %d", (int)method);
        return NULL;
    }
    /* N >= 8*nlags must stay a sane FFT size (2^31 values); sizes below cannot overflow then. */
    if (nlags > ((size_t)1 << 28) || max_used > SIZE_MAX / 64 - nlags) {
        lanes_error_set(err, LANES_EINVAL, "cuda acf: nlags %zu or max_used %zu too large", nlags, max_used);
        return NULL;
    }
    const int fft = method == LANES_ACF_FFT || (method == LANES_ACF_AUTO && nlags >= LANES_CUDA_ACF_FFT_MIN_NLAGS);
    if (!fft && nlags > LANES_CUDA_ACF_DIRECT_MAX_NLAGS) {
        lanes_error_set(err, LANES_EINVAL, "cuda acf: the direct kernel takes nlags <= %d, not %zu",
                        LANES_CUDA_ACF_DIRECT_MAX_NLAGS, nlags);
        return NULL;
    }
    lanes_cuda_acf_t *a = (lanes_cuda_acf_t *)calloc(1, sizeof *a);
    if (!a) {
        lanes_error_set(err, LANES_ENOMEM, "cuda acf: out of memory");
        return NULL;
    }
    const size_t L = nlags;
    a->ctx = ctx;
    a->nlags = L;
    a->max_used = max_used;
    a->fft = fft;
    LANES_CU(ctx, cudaMalloc(&a->d_buf, (L + max_used) * sizeof(double)));
    LANES_CU(ctx, cudaMalloc(&a->d_r, (L + 1) * sizeof(double)));
    if (!fft) {
        const size_t tiles = (max_used + DIRECT_TILE - 1) / DIRECT_TILE;
        a->group_tiles = tiles < DIRECT_GROUP_TILES ? tiles : DIRECT_GROUP_TILES;
        a->group = (size_t)DIRECT_GROUP_TILES * DIRECT_TILE;
        for (int s = 0; s < LANES_CUDA_STREAMS; s++)
            LANES_CU(ctx, cudaMalloc(&a->d_part[s], a->group_tiles * (L + 1) * sizeof(double)));
    } else {
        size_t n = FFT_MIN_SIZE, log2n = 15;
        while (n < 8 * L) {
            n *= 2;
            log2n++;
        }
        a->n = n;
        a->log2n = log2n;
        a->seg = n - 2 * L;
        const size_t nseg_max = (max_used + a->seg - 1) / a->seg;
        size_t batch = FFT_GROUP_ELEMS / n;
        if (batch < 1)
            batch = 1;
        if (batch > nseg_max)
            batch = nseg_max;
        a->batch = batch;
        a->group = batch * a->seg;
        long long nn = (long long)n;
        for (int s = 0; s < LANES_CUDA_STREAMS; s++) {
            size_t ws_fwd = 0, ws_inv = 0;
            LANES_CU(ctx, cudaMalloc(&a->d_a[s], batch * n * sizeof(double)));
            LANES_CU(ctx, cudaMalloc(&a->d_b[s], batch * n * sizeof(double)));
            LANES_CU(ctx, cudaMalloc(&a->d_ca[s], batch * (n / 2 + 1) * sizeof(cufftDoubleComplex)));
            LANES_CU(ctx, cudaMalloc(&a->d_cb[s], batch * (n / 2 + 1) * sizeof(cufftDoubleComplex)));
            LANES_CUFFT(ctx, cufftCreate(&a->fwd[s]));
            a->have_fwd[s] = 1;
            LANES_CUFFT(ctx, cufftCreate(&a->inv[s]));
            a->have_inv[s] = 1;
            LANES_CUFFT(ctx, cufftSetAutoAllocation(a->fwd[s], 0));
            LANES_CUFFT(ctx, cufftSetAutoAllocation(a->inv[s], 0));
            /* NULL embeds: the basic batched layout (real rows of n, complex rows of n/2 + 1). */
            LANES_CUFFT(ctx, cufftMakePlanMany64(a->fwd[s], 1, &nn, NULL, 1, 0, NULL, 1, 0, CUFFT_D2Z,
                                                 (long long)batch, &ws_fwd));
            LANES_CUFFT(ctx, cufftMakePlanMany64(a->inv[s], 1, &nn, NULL, 1, 0, NULL, 1, 0, CUFFT_Z2D,
                                                 (long long)batch, &ws_inv));
            const size_t ws = ws_fwd > ws_inv ? ws_fwd : ws_inv;
            if (ws > 0)
                LANES_CU(ctx, cudaMalloc(&a->d_work[s], ws));
            LANES_CUFFT(ctx, cufftSetWorkArea(a->fwd[s], a->d_work[s]));
            LANES_CUFFT(ctx, cufftSetWorkArea(a->inv[s], a->d_work[s]));
            LANES_CUFFT(ctx, cufftSetStream(a->fwd[s], ctx->stream[s]));
            LANES_CUFFT(ctx, cufftSetStream(a->inv[s], ctx->stream[s]));
        }
    }
    a->ngroups_max = (max_used + a->group - 1) / a->group;
    LANES_CU(ctx, cudaMalloc(&a->d_gpart, a->ngroups_max * (L + 1) * sizeof(double)));
    return a;
fail:
    lanes_cuda_acf_free(a);
    return NULL;
}

extern "C" lanes_cuda_acf_t *lanes_cuda_acf_new(lanes_cuda_ctx_t *ctx, size_t nlags, size_t max_used,
                                                lanes_error_t *err)
{
    return lanes_cuda_acf_new_method(ctx, nlags, max_used, LANES_ACF_AUTO, err);
}

extern "C" int lanes_cuda_acf_lagsums(lanes_cuda_acf_t *a, const double *buf, size_t used, double *r,
                                      lanes_error_t *err)
{
    if (!a || !buf || !r)
        return lanes_error_set(err, LANES_EINVAL, "cuda acf: NULL argument");
    if (used > a->max_used)
        return lanes_error_set(err, LANES_EINVAL, "cuda acf: block of %zu values, the object takes at most %zu",
                               used, a->max_used);
    lanes_cuda_ctx_t *ctx = a->ctx;
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return rc;
    const size_t L = a->nlags;
    if (used == 0) {
        memset(r, 0, (L + 1) * sizeof *r);
        return 0;
    }
    const size_t total = L + used, piece = ctx->staging_bytes / sizeof(double);
    if (piece == 0) /* no progress would be made below */
        return lanes_error_set(err, LANES_EINVAL, "cuda acf: the pinned staging buffers (%zu bytes) hold no value",
                               ctx->staging_bytes);
    const size_t ngroups = (used + a->group - 1) / a->group;
    size_t copied = 0, g = 0;
    for (size_t p = 0; copied < total; p++) {
        const int s = (int)(p % LANES_CUDA_STREAMS);
        const size_t cnt = total - copied < piece ? total - copied : piece;
        /* done[s] is recorded right after each copy on stream s: once it has passed, pinned[s] is free. */
        LANES_CU(ctx, cudaEventSynchronize(ctx->done[s]));
        memcpy(ctx->pinned[s], buf + copied, cnt * sizeof(double));
        LANES_CU(ctx, cudaMemcpyAsync(a->d_buf + copied, ctx->pinned[s], cnt * sizeof(double),
                                      cudaMemcpyHostToDevice, ctx->stream[s]));
        LANES_CU(ctx, cudaEventRecord(ctx->done[s], ctx->stream[s]));
        copied += cnt;
        /* Groups whose input (through nlags + their last new value) is now copied run on stream s,
         * after the other stream's latest copy (pieces alternate: so every earlier piece is in). */
        int waited = 0;
        while (g < ngroups && L + ((g + 1) * a->group < used ? (g + 1) * a->group : used) <= copied) {
            if (!waited) {
                LANES_CU(ctx, cudaStreamWaitEvent(ctx->stream[s], ctx->done[1 - s], 0));
                waited = 1;
            }
            rc = acf_group(a, s, g, used, err);
            if (rc)
                goto fail;
            g++;
        }
    }
    /* Every group is queued; the final sum runs on stream 0 after stream 1's work. */
    LANES_CU(ctx, cudaEventRecord(ctx->done[1], ctx->stream[1]));
    LANES_CU(ctx, cudaStreamWaitEvent(ctx->stream[0], ctx->done[1], 0));
    rc = launch_colsum(ctx, ctx->stream[0], a->d_gpart, L + 1, ngroups, L + 1, a->fft ? 1.0 / (double)a->n : 1.0,
                       a->d_r, err);
    if (rc)
        goto fail;
    LANES_CU(ctx, cudaMemcpyAsync(r, a->d_r, (L + 1) * sizeof *r, cudaMemcpyDeviceToHost, ctx->stream[0]));
    LANES_CU(ctx, cudaStreamSynchronize(ctx->stream[0]));
    return 0;
fail:
    if (!ctx->poisoned)
        for (int s = 0; s < LANES_CUDA_STREAMS; s++)
            cudaStreamSynchronize(ctx->stream[s]);
    return rc;
}

extern "C" int lanes_cuda_acf_block_fn(void *ctx, const double *buf, size_t nlags, size_t used, double *r,
                                       lanes_error_t *err)
{
    lanes_cuda_acf_t *a = (lanes_cuda_acf_t *)ctx;
    if (!a)
        return lanes_error_set(err, LANES_EINVAL, "cuda acf: no engine object");
    if (nlags != a->nlags)
        return lanes_error_set(err, LANES_EINVAL, "cuda acf: engine made for nlags %zu, called with %zu", a->nlags,
                               nlags);
    return lanes_cuda_acf_lagsums(a, buf, used, r, err);
}
