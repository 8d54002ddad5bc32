/* Device code shared by the CUDA backend's own kernels (reduce.cu, map.cu, compiled by nvcc) and by
 * the kernels NVRTC compiles from expressions (cuda_codegen.c emits this whole file, embedded as a
 * string at build time, in front of every generated source): one source of truth for the Philox
 * streams, the element semantics of the expression ops and the fixed summation order.
 *
 * Design:
 *  - Philox4x32-10 and the uniform/normal streams exactly as kernels/cpu/random_cpu.c (random.h):
 *    element k of stream 'seed' is one Philox block with counter {lo32(k), hi32(k), 0, 0} and key
 *    {lo32(seed), hi32(seed)}; uniform is bit-exact, normal goes through libdevice's log and cos.
 *  - Element functions with the CPU VM's semantics (expr_internal.h): numpy's remainder,
 *    NaN-propagating min/max, pow's fast paths for an exponent that is the same for all elements.
 *  - Block partials in reduce_cpu.c's order: one group of 16 threads (a half warp, one thread per
 *    lane) reduces one block of 4096 elements; thread j adds elements j, j+16, ... in order starting
 *    at -0.0, then the lanes fold s = 8, 4, 2, 1 with shuffles (lane j adds lane j+s: the CPU's
 *    acc[j] + acc[j+s]). At each step the 16 threads of a group read 16 consecutive elements, so a
 *    warp's load is two whole 128-byte lines for float64. Every addition, subtraction, multiplication
 *    and division is an explicitly rounded intrinsic (__dadd_rn ...): no FMA contraction can change
 *    the bits whatever the compiler flags (the build also passes --fmad=false).
 *  - Extremes: each thread keeps the first best element and the first NaN of its lane; the 16 are
 *    combined by smallest index, which is the CPU's sequential "first occurrence, first NaN" rule.
 *  - Histogram: binning exactly as reduce_cpu.c's hist_range, counts with atomics (exact integers).
 * Only plain C++17 and CUDA built-ins: NVRTC compiles it without any header.
 */
#ifndef LANES_DEVICE_CUH
#define LANES_DEVICE_CUH

#define LANES_D_BLOCK 4096    /* LANES_REDUCE_BLOCK */
#define LANES_D_LANES 16
#define LANES_D_STEPS 256     /* elements per lane in a block */
#define LANES_D_MAX_INPUTS 8  /* LANES_EXPR_MAX_INPUTS */
#define LANES_D_MAX_PARAMS 32 /* LANES_EXPR_MAX_PARAMS */
#define LANES_D_HIST_SMEM_BINS 8192 /* histograms up to this many bins count in shared memory */

typedef unsigned long long lanes_u64;
typedef long long lanes_i64;

/* The same layout as lanes_reduce_partial_t (kernels.h); reduce.cu checks it with static_assert. */
struct lanes_dpartial {
    double sum;
    double n, mean, m2;
    lanes_u64 isum;
    int has_nan;
    lanes_u64 idx;
    double f;
    lanes_i64 i;
};

/* lanes_histogram_params_t for the device, plus where the counts go. */
struct lanes_dhist {
    double lo, denom, keep_lo, keep_hi;
    const double *edges;       /* bins + 1, device memory */
    unsigned long long *counts; /* bins, device memory, added to */
    float lo32;
    int f32;
    unsigned bins;
};

/* The one argument of every generated kernel (passed by value). */
struct lanes_kargs {
    const void *in[LANES_D_MAX_INPUTS]; /* ARRAY inputs: device pointers to this launch's element 0 */
    lanes_u64 seed[LANES_D_MAX_INPUTS]; /* UNIFORM, NORMAL */
    double start[LANES_D_MAX_INPUTS], step[LANES_D_MAX_INPUTS]; /* RANGE */
    double p[LANES_D_MAX_PARAMS];       /* parameter values */
    lanes_u64 index0; /* global element index of this launch's element 0 */
    lanes_u64 n;      /* map, histogram: elements; reduce: blocks */
    void *out;        /* map: n elements of the output dtype; reduce: n lanes_dpartial */
    struct lanes_dhist hist;
};

/* ---- Philox4x32-10 and the streams (random_cpu.c) ---- */

__device__ __forceinline__ void lanes_philox4x32_10(unsigned c[4], lanes_u64 seed)
{
    unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);
#pragma unroll
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const unsigned hi0 = __umulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
        const unsigned hi1 = __umulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
        const unsigned n0 = hi1 ^ c[1] ^ k0;
        const unsigned n2 = hi0 ^ c[3] ^ k1;
        c[1] = lo1;
        c[3] = lo0;
        c[0] = n0;
        c[2] = n2;
    }
}

__device__ __forceinline__ double lanes_uniform_at(lanes_u64 seed, lanes_u64 k)
{
    unsigned c[4] = {(unsigned)k, (unsigned)(k >> 32), 0u, 0u};
    lanes_philox4x32_10(c, seed);
    const lanes_u64 x = ((lanes_u64)c[0] << 32) | c[1];
    return __dmul_rn((double)(x >> 11), 0x1p-53);
}

__device__ __forceinline__ double lanes_normal_at(lanes_u64 seed, lanes_u64 k)
{
    unsigned c[4] = {(unsigned)k, (unsigned)(k >> 32), 0u, 0u};
    lanes_philox4x32_10(c, seed);
    const lanes_u64 x = ((lanes_u64)c[0] << 32) | c[1];
    const lanes_u64 y = ((lanes_u64)c[2] << 32) | c[3];
    const double u1 = __dmul_rn((double)((x >> 11) + 1), 0x1p-53);
    const double u2 = __dmul_rn((double)(y >> 11), 0x1p-53);
    return __dmul_rn(sqrt(__dmul_rn(-2.0, log(u1))), cos(__dmul_rn(6.283185307179586476925286766559, u2)));
}

/* ---- element semantics (expr_internal.h, expr_vm.c) ---- */

__device__ __forceinline__ double lanes_mod(double a, double b)
{
    double mod = fmod(a, b);
    if (b == 0.0)
        return mod;
    if (mod != 0.0) {
        if ((b < 0.0) != (mod < 0.0))
            mod = __dadd_rn(mod, b);
    } else {
        mod = copysign(0.0, b);
    }
    return mod;
}
__device__ __forceinline__ double lanes_min(double a, double b) { return (a <= b || a != a) ? a : b; }
__device__ __forceinline__ double lanes_max(double a, double b) { return (a >= b || a != a) ? a : b; }
__device__ __forceinline__ double lanes_clip(double x, double lo, double hi) { return lanes_min(lanes_max(x, lo), hi); }
__device__ __forceinline__ double lanes_pow_scalar(double x, double p)
{
    if (p == 2.0)
        return __dmul_rn(x, x);
    if (p == 0.5)
        return sqrt(x);
    if (p == -1.0)
        return __ddiv_rn(1.0, x);
    return pow(x, p);
}
__device__ __forceinline__ double lanes_truth(double x) { return x != 0.0 ? 1.0 : 0.0; }

/* ---- block partials (reduce_cpu.c steps 2-3) ---- */

enum { LANES_DK_FSUM = 0, LANES_DK_MOMENTS = 1, LANES_DK_ISUM = 2, LANES_DK_EXTREME = 3 };

/* The lanes' fold, s = 8, 4, 2, 1, then S broadcast to the group. All 32 threads of the warp call it. */
__device__ __forceinline__ double lanes_group_fold(double acc, int lane)
{
#pragma unroll
    for (int s = 8; s >= 1; s >>= 1) {
        const double o = __shfl_down_sync(0xffffffffu, acc, s, 16);
        if (lane < s)
            acc = __dadd_rn(acc, o);
    }
    return __shfl_sync(0xffffffffu, acc, 0, 16);
}

/* Lane 'lane''s sum of x (or of (x - mean)^2 when M2) over a block starting at launch position base. */
template <bool M2, class L>
__device__ __forceinline__ double lanes_lane_sum(const L &ld, lanes_u64 base, int lane, bool valid, double mean)
{
    double acc = -0.0;
    if (!valid)
        return acc;
#pragma unroll 16
    for (int t = 0; t < LANES_D_STEPS; t++) {
        double x = ld(base + (lanes_u64)(t * LANES_D_LANES + lane));
        if (M2) {
            const double d = __dsub_rn(x, mean);
            x = __dmul_rn(d, d);
        }
        acc = __dadd_rn(acc, x);
    }
    return acc;
}

/* Extremes: value type T (double, or lanes_i64 for integer dtypes, which have no NaN). */
template <bool MAX, class T, class L>
__device__ __forceinline__ void lanes_group_extreme(const L &ld, lanes_u64 base, int lane, bool valid, struct lanes_dpartial *o)
{
    T best = T(0);
    unsigned bi = (unsigned)lane;
    int has_nan = 0;
    T nanv = T(0);
    unsigned ni = 0xffffffffu;
    if (valid) {
        best = ld(base + (lanes_u64)lane);
        if (best != best) {
            has_nan = 1;
            nanv = best;
            ni = (unsigned)lane;
        }
#pragma unroll 8
        for (int t = 1; t < LANES_D_STEPS; t++) {
            const unsigned k = (unsigned)(t * LANES_D_LANES + lane);
            const T x = ld(base + k);
            if (MAX ? x > best : x < best) {
                best = x;
                bi = k;
            } else if (x != x && !has_nan) {
                has_nan = 1;
                nanv = x;
                ni = k;
            }
        }
    }
    /* Combine the 16 lanes: the smallest NaN index wins, else the better value, ties to the smaller
     * index. Any combination order gives the same result. */
#pragma unroll
    for (int off = 8; off >= 1; off >>= 1) {
        const int o_has = __shfl_xor_sync(0xffffffffu, has_nan, off, 16);
        const T o_nanv = __shfl_xor_sync(0xffffffffu, nanv, off, 16);
        const unsigned o_ni = __shfl_xor_sync(0xffffffffu, ni, off, 16);
        const T o_best = __shfl_xor_sync(0xffffffffu, best, off, 16);
        const unsigned o_bi = __shfl_xor_sync(0xffffffffu, bi, off, 16);
        if (o_has && (!has_nan || o_ni < ni)) {
            has_nan = 1;
            nanv = o_nanv;
            ni = o_ni;
        }
        if ((MAX ? o_best > best : o_best < best) || (o_best == best && o_bi < bi)) {
            best = o_best;
            bi = o_bi;
        }
    }
    o->has_nan = has_nan;
    o->idx = has_nan ? ni : bi;
    const T v = has_nan ? nanv : best;
    if (sizeof(T) == sizeof(double) && T(0.5) != T(0)) { /* floating T */
        o->f = (double)v;
        o->i = 0;
    } else {
        o->f = 0.0;
        o->i = (lanes_i64)v;
    }
}

/* The partials of n_blocks blocks: group g of the grid (16 threads) reduces block g; element k of
 * the launch is ld(k) (double, or lanes_i64 for ISUM and integer extremes); index0 is the launch's
 * first global index. The grid must cover the blocks with whole warps (blockDim a multiple of 32). */
template <int KIND, bool MAX, class T, class L>
__device__ __forceinline__ void lanes_reduce_blocks(const L &ld, lanes_u64 n_blocks, lanes_u64 index0,
                                                    struct lanes_dpartial *out)
{
    const int lane = (int)(threadIdx.x & 15u);
    const lanes_u64 b = (lanes_u64)blockIdx.x * (blockDim.x / 16u) + threadIdx.x / 16u;
    const bool valid = b < n_blocks;
    const lanes_u64 base = b * LANES_D_BLOCK;
    struct lanes_dpartial o;
    o.sum = 0.0;
    o.n = 0.0;
    o.mean = 0.0;
    o.m2 = 0.0;
    o.isum = 0;
    o.has_nan = 0;
    o.idx = 0;
    o.f = 0.0;
    o.i = 0;
    if (KIND == LANES_DK_FSUM || KIND == LANES_DK_MOMENTS) {
        const double s = lanes_group_fold(lanes_lane_sum<false>(ld, base, lane, valid, 0.0), lane);
        if (KIND == LANES_DK_FSUM) {
            o.sum = s;
        } else {
            o.n = (double)LANES_D_BLOCK;
            o.mean = __ddiv_rn(s, o.n);
            o.m2 = lanes_group_fold(lanes_lane_sum<true>(ld, base, lane, valid, o.mean), lane);
        }
    } else if (KIND == LANES_DK_ISUM) {
        lanes_u64 s = 0;
        if (valid) {
#pragma unroll 16
            for (int t = 0; t < LANES_D_STEPS; t++)
                s += (lanes_u64)ld(base + (lanes_u64)(t * LANES_D_LANES + lane));
        }
#pragma unroll
        for (int off = 8; off >= 1; off >>= 1)
            s += __shfl_xor_sync(0xffffffffu, s, off, 16);
        o.isum = s;
    } else {
        lanes_group_extreme<MAX, T>(ld, base, lane, valid, &o);
        o.idx += index0 + base;
    }
    if (valid && lane == 0)
        out[b] = o;
}

/* ---- histogram (reduce_cpu.c hist_range) ---- */

__device__ __forceinline__ int lanes_hist_bin(const struct lanes_dhist &h, double x)
{
    if (!(x >= h.keep_lo && x <= h.keep_hi))
        return -1; /* out of range or NaN */
    const double bins_d = (double)h.bins;
    const double f = h.f32 ? __dmul_rn(__ddiv_rn((double)__fsub_rn((float)x, h.lo32), h.denom), bins_d)
                           : __dmul_rn(__ddiv_rn(__dsub_rn(x, h.lo), h.denom), bins_d);
    unsigned k = f < bins_d ? (unsigned)(lanes_u64)f : h.bins - 1;
    if (k > 0 && x < h.edges[k])
        k--;
    else if (k != h.bins - 1 && x >= h.edges[k + 1])
        k++;
    return (int)k;
}

/* Grid-stride over n elements; counts in shared memory (dynamic, bins unsigned ints) when
 * bins <= LANES_D_HIST_SMEM_BINS, else straight into h.counts. */
template <class L>
__device__ __forceinline__ void lanes_hist_elems(const L &ld, lanes_u64 n, const struct lanes_dhist &h)
{
    extern __shared__ unsigned lanes_hist_smem[];
    const bool shared = h.bins <= LANES_D_HIST_SMEM_BINS;
    if (shared) {
        for (unsigned k = threadIdx.x; k < h.bins; k += blockDim.x)
            lanes_hist_smem[k] = 0;
        __syncthreads();
    }
    const lanes_u64 stride = (lanes_u64)gridDim.x * blockDim.x;
    for (lanes_u64 k = (lanes_u64)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += stride) {
        const int bin = lanes_hist_bin(h, ld(k));
        if (bin < 0)
            continue;
        if (shared)
            atomicAdd(&lanes_hist_smem[bin], 1u);
        else
            atomicAdd(&h.counts[bin], 1ull);
    }
    if (shared) {
        __syncthreads();
        for (unsigned k = threadIdx.x; k < h.bins; k += blockDim.x)
            if (lanes_hist_smem[k])
                atomicAdd(&h.counts[k], (unsigned long long)lanes_hist_smem[k]);
    }
}

#endif /* LANES_DEVICE_CUH */
