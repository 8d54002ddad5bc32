/* Reduce on the GPU: block partials of arrays and of fused expressions (lanes_cuda_reduce_partials,
 * lanes_cuda_reduce_partials_device) and histograms (lanes_cuda_reduce_histogram).
 *
 * Design: a block partial is computed by 16 threads, one per lane of reduce_cpu.c's order
 * (lanes_device.cuh, lanes_reduce_blocks): a CUDA block of 256 threads reduces 16 blocks of 4096
 * elements, each warp's loads being two whole 128-byte lines for float64, and lane 0 of each group
 * writes its partial to device memory; the partials come back with one copy per piece. Arrays use
 * kernels compiled here by nvcc (templated on the dtype's load and the reduction kind, --fmad=false
 * and explicitly rounded intrinsics); an expression uses the NVRTC kernel generated from its tree
 * (cuda_codegen.c) around the same template. Host arrays go through the two-stream pipeline of
 * map.cu (pipeline.h); generated inputs need no copy in at all. Histograms bin exactly as the CPU
 * reducer from lanes_histogram_params_t (edges copied to the device) and count with atomics
 * (shared-memory counters per CUDA block for up to 8192 bins), so counts are exact. Device-resident
 * block partials can be merged on the device in aligned groups of 2^level
 * (lanes_cuda_reduce_combine_device: one CUDA block per group, a shared-memory tree in the order of the
 * reducer's binary-counter stack), so that 2^level times fewer partials come back to the host.
 * Every launcher checks its arguments first; every CUDA call is checked.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/expr_internal.h"
#include "kcache.h"
#include "pipeline.h"

static_assert(sizeof(struct lanes_dpartial) == sizeof(lanes_reduce_partial_t), "partial layout");
static_assert(offsetof(struct lanes_dpartial, m2) == offsetof(lanes_reduce_partial_t, m2), "partial layout");
static_assert(offsetof(struct lanes_dpartial, isum) == offsetof(lanes_reduce_partial_t, isum), "partial layout");
static_assert(offsetof(struct lanes_dpartial, has_nan) == offsetof(lanes_reduce_partial_t, has_nan), "partial layout");
static_assert(offsetof(struct lanes_dpartial, idx) == offsetof(lanes_reduce_partial_t, idx), "partial layout");
static_assert(offsetof(struct lanes_dpartial, f) == offsetof(lanes_reduce_partial_t, f), "partial layout");
static_assert(offsetof(struct lanes_dpartial, i) == offsetof(lanes_reduce_partial_t, i), "partial layout");
static_assert(LANES_D_BLOCK == LANES_REDUCE_BLOCK, "block size");

#define RED_THREADS 256 /* 16 groups of 16 lanes */
#define HIST_THREADS 256

/* ---- array kernels ---- */

template <class T> struct load_f {
    const T *p;
    __device__ __forceinline__ double operator()(lanes_u64 k) const { return (double)p[k]; }
};
template <class T> struct load_i {
    const T *p;
    __device__ __forceinline__ lanes_i64 operator()(lanes_u64 k) const { return (lanes_i64)p[k]; }
};

template <int KIND, bool MAX, class V, class L>
static __global__ void __launch_bounds__(RED_THREADS) partials_kernel(L ld, lanes_u64 n_blocks, lanes_u64 index0,
                                                                      struct lanes_dpartial *out)
{
    lanes_reduce_blocks<KIND, MAX, V>(ld, n_blocks, index0, out);
}

template <class L> static __global__ void hist_kernel(L ld, lanes_u64 n, struct lanes_dhist h)
{
    lanes_hist_elems(ld, n, h);
}

static int op_kind(lanes_reduce_op_t op, int is_int, bool *want_max)
{
    *want_max = op == LANES_REDUCE_MAX || op == LANES_REDUCE_ARGMAX;
    switch (op) {
    case LANES_REDUCE_SUM: return is_int ? LANES_DK_ISUM : LANES_DK_FSUM;
    case LANES_REDUCE_MEAN: return LANES_DK_FSUM;
    case LANES_REDUCE_VAR:
    case LANES_REDUCE_STD: return LANES_DK_MOMENTS;
    case LANES_REDUCE_MIN:
    case LANES_REDUCE_MAX:
    case LANES_REDUCE_ARGMIN:
    case LANES_REDUCE_ARGMAX: return LANES_DK_EXTREME;
    default: return -1;
    }
}

template <class T, bool INT>
static void launch_typed(int kind, bool want_max, unsigned grid, cudaStream_t st, const void *data, lanes_u64 nb,
                         lanes_u64 index0, struct lanes_dpartial *out)
{
    const load_f<T> lf{(const T *)data};
    const load_i<T> li{(const T *)data};
    switch (kind) {
    case LANES_DK_FSUM:
        partials_kernel<LANES_DK_FSUM, false, double><<<grid, RED_THREADS, 0, st>>>(lf, nb, index0, out);
        break;
    case LANES_DK_MOMENTS:
        partials_kernel<LANES_DK_MOMENTS, false, double><<<grid, RED_THREADS, 0, st>>>(lf, nb, index0, out);
        break;
    case LANES_DK_ISUM:
        if (INT)
            partials_kernel<LANES_DK_ISUM, false, lanes_i64><<<grid, RED_THREADS, 0, st>>>(li, nb, index0, out);
        break;
    default:
        if (INT && want_max)
            partials_kernel<LANES_DK_EXTREME, true, lanes_i64><<<grid, RED_THREADS, 0, st>>>(li, nb, index0, out);
        else if (INT)
            partials_kernel<LANES_DK_EXTREME, false, lanes_i64><<<grid, RED_THREADS, 0, st>>>(li, nb, index0, out);
        else if (want_max)
            partials_kernel<LANES_DK_EXTREME, true, double><<<grid, RED_THREADS, 0, st>>>(lf, nb, index0, out);
        else
            partials_kernel<LANES_DK_EXTREME, false, double><<<grid, RED_THREADS, 0, st>>>(lf, nb, index0, out);
        break;
    }
}

/* What one reduce call needs per launch. */
struct red_job {
    lanes_dtype_t dtype;
    int kind;
    bool want_max;
    uint64_t index0;         /* global index of the call's first element */
    const lanes_expr_t *e;   /* NULL: an array */
    cudaKernel_t kernel;     /* e's NVRTC kernel */
    struct lanes_kargs a;    /* e's arguments */
    int slot_of[LANES_D_MAX_INPUTS];
    struct lanes_dhist hist; /* histogram only */
    unsigned hist_grid;
};

static unsigned red_grid(size_t blocks) { return (unsigned)((blocks + RED_THREADS / 16 - 1) / (RED_THREADS / 16)); }

/* Partials of blocks [u0, u0 + len) of the call; d_in: the array's piece or the expression's arrays. */
static int red_launch(void *self, lanes_cuda_ctx_t *ctx, cudaStream_t st, size_t u0, size_t len, void *const *d_in,
                      void *d_out, lanes_error_t *err)
{
    struct red_job *j = (struct red_job *)self;
    int rc = 0;
    const lanes_u64 index0 = j->index0 + (lanes_u64)u0 * LANES_D_BLOCK;
    if (j->e) {
        struct lanes_kargs a = j->a;
        for (int s = 0; s < LANES_D_MAX_INPUTS; s++)
            if (j->slot_of[s] >= 0)
                a.in[s] = d_in[j->slot_of[s]];
        a.index0 = index0;
        a.n = len;
        a.out = d_out;
        return lanes__cuda_launch_k(ctx, j->kernel, red_grid(len), RED_THREADS, 0, st, &a, err);
    }
    struct lanes_dpartial *out = (struct lanes_dpartial *)d_out;
    const unsigned grid = red_grid(len);
    switch (j->dtype) {
    case LANES_DTYPE_F64: launch_typed<double, false>(j->kind, j->want_max, grid, st, d_in[0], len, index0, out); break;
    case LANES_DTYPE_F32: launch_typed<float, false>(j->kind, j->want_max, grid, st, d_in[0], len, index0, out); break;
    case LANES_DTYPE_I64: launch_typed<long long, true>(j->kind, j->want_max, grid, st, d_in[0], len, index0, out); break;
    default: launch_typed<int, true>(j->kind, j->want_max, grid, st, d_in[0], len, index0, out); break;
    }
    LANES_CU(ctx, cudaGetLastError());
    return 0;
fail:
    return rc;
}

/* The checks both partials entry points share, and the job. */
static int red_prepare(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                       const lanes_expr_binding_t *bindings, const double *params, const void *data, uint64_t index0,
                       size_t n_blocks, const void *out, struct red_job *j, lanes_error_t *err)
{
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return rc;
    if (!spec)
        return lanes_error_set(err, LANES_EINVAL, "reduce: no spec");
    memset(j, 0, sizeof *j);
    const int is_int = spec->dtype == LANES_DTYPE_I64 || spec->dtype == LANES_DTYPE_I32;
    j->kind = op_kind(spec->op, is_int, &j->want_max);
    if (j->kind < 0)
        return lanes_error_set(err, LANES_EINVAL, "reduce: op '%s' does not take block partials",
                               lanes_reduce_op_name(spec->op));
    if (lanes_dtype_size(spec->dtype) == 0)
        return lanes_error_set(err, LANES_EINVAL, "reduce: invalid dtype %d", (int)spec->dtype);
    if (index0 % LANES_REDUCE_BLOCK != 0)
        return lanes_error_set(err, LANES_EINVAL, "reduce: index0 %llu is not a multiple of the block (%d)",
                               (unsigned long long)index0, LANES_REDUCE_BLOCK);
    if (n_blocks > 0 && !out)
        return lanes_error_set(err, LANES_EINVAL, "reduce: no output for the partials");
    if (n_blocks > ((uint64_t)-1 - index0) / LANES_REDUCE_BLOCK)
        return lanes_error_set(err, LANES_EINVAL, "reduce: index0 + n overflows");
    j->dtype = spec->dtype;
    j->index0 = index0;
    for (int s = 0; s < LANES_D_MAX_INPUTS; s++)
        j->slot_of[s] = -1;
    if (!e) {
        if (n_blocks > 0 && !data)
            return lanes_error_set(err, LANES_EINVAL, "reduce: no data and no expression");
        return 0;
    }
    if (data)
        return lanes_error_set(err, LANES_EINVAL, "reduce: both data and an expression were given");
    if (spec->dtype != LANES_DTYPE_F64)
        return lanes_error_set(err, LANES_EINVAL, "reduce: an expression's values are float64 (spec dtype is %s)",
                               lanes_dtype_name(spec->dtype));
    j->e = e;
    if ((rc = lanes__cuda_expr_args(e, bindings, params, &j->a, err)) != 0)
        return rc;
    if (n_blocks == 0)
        return 0;
    return lanes__cuda_expr_kernel(ctx, e, LANES_DTYPE_F64, 1, spec->op, &j->kernel, err);
}

extern "C" int lanes_cuda_reduce_partials(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                                          const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                          uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out,
                                          lanes_error_t *err)
{
    struct red_job j;
    int rc = red_prepare(ctx, spec, e, bindings, params, data, index0, n_blocks, out, &j, err);
    if (rc || n_blocks == 0)
        return rc;
    struct lanes_pipe p;
    memset(&p, 0, sizeof p);
    lanes__cuda_pipe_inputs(&p, e, bindings, data, spec->dtype, j.slot_of);
    p.unit_elems = LANES_REDUCE_BLOCK;
    p.out_unit_bytes = sizeof(lanes_reduce_partial_t);
    p.host_out = (unsigned char *)out;
    p.n_units = n_blocks;
    p.launch = red_launch;
    p.self = &j;
    return lanes__cuda_pipeline_run(ctx, &p, err);
}

extern "C" int lanes_cuda_reduce_partials_device(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec,
                                                 const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                                                 const double *params, const void *data, uint64_t index0,
                                                 size_t n_blocks, lanes_reduce_partial_t *out, lanes_error_t *err)
{
    struct red_job j;
    int rc = red_prepare(ctx, spec, e, bindings, params, data, index0, n_blocks, out, &j, err);
    if (rc || n_blocks == 0)
        return rc;
    void *d_in[LANES_D_MAX_INPUTS] = {(void *)data};
    if (e) {
        int n_in = 0;
        for (size_t s = 0; s < e->n_inputs; s++) {
            if (!e->uses_input[s] || e->kinds[s] != LANES_SOURCE_ARRAY)
                continue;
            j.slot_of[s] = n_in;
            d_in[n_in++] = (void *)bindings[s].data;
        }
    }
    if ((rc = red_launch(&j, ctx, ctx->stream[0], 0, n_blocks, d_in, out, err)) != 0)
        return rc;
    LANES_CU(ctx, cudaStreamSynchronize(ctx->stream[0]));
    return 0;
fail:
    return rc;
}

/* ---- group partials: aligned groups of 2^level block partials merged on the device ---- */

/* a ⊕ b (a's blocks first) for each kind, as reduce_cpu.c's partial_merge and extreme_merge: the
 * moments' Chan merge evaluated left to right with each operation rounded on its own. */
template <int KIND, bool MAX, bool INT>
static __device__ __forceinline__ struct lanes_dpartial group_merge(const struct lanes_dpartial &a,
                                                                    const struct lanes_dpartial &b)
{
    struct lanes_dpartial r = a;
    if (KIND == LANES_DK_FSUM) {
        r.sum = __dadd_rn(a.sum, b.sum);
    } else if (KIND == LANES_DK_MOMENTS) {
        if (a.n == 0)
            return b;
        if (b.n == 0)
            return a;
        const double n = __dadd_rn(a.n, b.n);
        const double d = __dsub_rn(b.mean, a.mean);
        r.n = n;
        r.mean = __dadd_rn(a.mean, __ddiv_rn(__dmul_rn(d, b.n), n));
        r.m2 = __dadd_rn(__dadd_rn(a.m2, b.m2), __ddiv_rn(__dmul_rn(__dmul_rn(__dmul_rn(d, d), a.n), b.n), n));
    } else if (KIND == LANES_DK_ISUM) {
        r.isum = a.isum + b.isum; /* uint64: wraps as the CPU's */
    } else {
        /* first NaN wins, then the better value, ties to a (the earlier blocks) */
        if (a.has_nan)
            return a;
        if (b.has_nan)
            return b;
        const bool better = INT ? (MAX ? b.i > a.i : b.i < a.i) : (MAX ? b.f > a.f : b.f < a.f);
        return better ? b : a;
    }
    return r;
}

/* One CUDA block per group of blockDim.x = 2^level partials: the balanced tree the reducer's stack
 * builds over 2^level pushes (at stride s, entry j merges j + s into itself, lower ⊕ upper). */
template <int KIND, bool MAX, bool INT>
static __global__ void __launch_bounds__(LANES_CUDA_MAX_GROUP) group_kernel(const struct lanes_dpartial *in,
                                                                            struct lanes_dpartial *out)
{
    __shared__ struct lanes_dpartial sh[LANES_CUDA_MAX_GROUP];
    const unsigned j = threadIdx.x;
    sh[j] = in[(lanes_u64)blockIdx.x * blockDim.x + j];
    __syncthreads();
    for (unsigned s = 1; s < blockDim.x; s *= 2) {
        if (j % (2 * s) == 0)
            sh[j] = group_merge<KIND, MAX, INT>(sh[j], sh[j + s]);
        __syncthreads();
    }
    if (j == 0)
        out[blockIdx.x] = sh[0];
}

extern "C" int lanes_cuda_reduce_combine_device(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec,
                                                const lanes_reduce_partial_t *in, size_t n_blocks, unsigned level,
                                                lanes_reduce_partial_t *out, lanes_error_t *err)
{
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return rc;
    if (!spec)
        return lanes_error_set(err, LANES_EINVAL, "reduce combine: no spec");
    if (level < 1 || (1u << level) > LANES_CUDA_MAX_GROUP)
        return lanes_error_set(err, LANES_EINVAL, "reduce combine: level %u is not in 1 .. %d", level,
                               LANES_CUDA_MAX_GROUP_LEVEL);
    const size_t group = (size_t)1 << level;
    if (n_blocks % group != 0)
        return lanes_error_set(err, LANES_EINVAL, "reduce combine: %zu blocks are not whole groups of %zu", n_blocks,
                               group);
    const int is_int = spec->dtype == LANES_DTYPE_I64 || spec->dtype == LANES_DTYPE_I32;
    bool want_max = false;
    const int kind = op_kind(spec->op, is_int, &want_max);
    if (kind < 0 || lanes_dtype_size(spec->dtype) == 0)
        return lanes_error_set(err, LANES_EINVAL, "reduce combine: op '%s' on %s does not take block partials",
                               lanes_reduce_op_name(spec->op), lanes_dtype_name(spec->dtype));
    const size_t n_groups = n_blocks / group;
    if (n_groups == 0)
        return 0;
    if (!in || !out)
        return lanes_error_set(err, LANES_EINVAL, "reduce combine: no input or output");
    if (n_groups > 0x7FFFFFFFu)
        return lanes_error_set(err, LANES_EINVAL, "reduce combine: %zu groups are more than one launch holds",
                               n_groups);
    const struct lanes_dpartial *d_in = (const struct lanes_dpartial *)in;
    struct lanes_dpartial *d_out = (struct lanes_dpartial *)out;
    const dim3 grid((unsigned)n_groups), threads((unsigned)group);
    cudaStream_t st = ctx->stream[0];
    switch (kind) {
    case LANES_DK_FSUM: group_kernel<LANES_DK_FSUM, false, false><<<grid, threads, 0, st>>>(d_in, d_out); break;
    case LANES_DK_MOMENTS: group_kernel<LANES_DK_MOMENTS, false, false><<<grid, threads, 0, st>>>(d_in, d_out); break;
    case LANES_DK_ISUM: group_kernel<LANES_DK_ISUM, false, true><<<grid, threads, 0, st>>>(d_in, d_out); break;
    default:
        if (is_int && want_max)
            group_kernel<LANES_DK_EXTREME, true, true><<<grid, threads, 0, st>>>(d_in, d_out);
        else if (is_int)
            group_kernel<LANES_DK_EXTREME, false, true><<<grid, threads, 0, st>>>(d_in, d_out);
        else if (want_max)
            group_kernel<LANES_DK_EXTREME, true, false><<<grid, threads, 0, st>>>(d_in, d_out);
        else
            group_kernel<LANES_DK_EXTREME, false, false><<<grid, threads, 0, st>>>(d_in, d_out);
        break;
    }
    LANES_CU(ctx, cudaGetLastError());
    LANES_CU(ctx, cudaStreamSynchronize(st));
    return 0;
fail:
    return rc;
}

/* ---- histogram ---- */

static int hist_launch(void *self, lanes_cuda_ctx_t *ctx, cudaStream_t st, size_t u0, size_t len, void *const *d_in,
                       void *d_out, lanes_error_t *err)
{
    (void)d_out;
    struct red_job *j = (struct red_job *)self;
    int rc = 0;
    const size_t smem = j->hist.bins <= LANES_D_HIST_SMEM_BINS ? j->hist.bins * sizeof(unsigned) : 0;
    size_t g = (len + HIST_THREADS - 1) / HIST_THREADS;
    const unsigned grid = (unsigned)(g < j->hist_grid ? g : j->hist_grid);
    if (j->e) {
        struct lanes_kargs a = j->a;
        for (int s = 0; s < LANES_D_MAX_INPUTS; s++)
            if (j->slot_of[s] >= 0)
                a.in[s] = d_in[j->slot_of[s]];
        a.index0 = j->index0 + u0;
        a.n = len;
        a.hist = j->hist;
        return lanes__cuda_launch_k(ctx, j->kernel, grid, HIST_THREADS, smem, st, &a, err);
    }
    switch (j->dtype) {
    case LANES_DTYPE_F64:
        hist_kernel<<<grid, HIST_THREADS, smem, st>>>(load_f<double>{(const double *)d_in[0]}, len, j->hist);
        break;
    case LANES_DTYPE_F32:
        hist_kernel<<<grid, HIST_THREADS, smem, st>>>(load_f<float>{(const float *)d_in[0]}, len, j->hist);
        break;
    case LANES_DTYPE_I64:
        hist_kernel<<<grid, HIST_THREADS, smem, st>>>(load_f<long long>{(const long long *)d_in[0]}, len, j->hist);
        break;
    default:
        hist_kernel<<<grid, HIST_THREADS, smem, st>>>(load_f<int>{(const int *)d_in[0]}, len, j->hist);
        break;
    }
    LANES_CU(ctx, cudaGetLastError());
    return 0;
fail:
    return rc;
}

extern "C" int lanes_cuda_reduce_histogram(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec,
                                           const lanes_histogram_params_t *hp, const lanes_expr_t *e,
                                           const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                           uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err)
{
    struct red_job j;
    double *d_edges = NULL;
    unsigned long long *d_counts = NULL, *h_counts = NULL;
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return rc;
    if (!spec || !hp || !counts)
        return lanes_error_set(err, LANES_EINVAL, "histogram: no spec, parameters or counts");
    if (spec->op != LANES_REDUCE_HISTOGRAM || lanes_dtype_size(spec->dtype) == 0)
        return lanes_error_set(err, LANES_EINVAL, "histogram: the spec is not a histogram of a valid dtype");
    if (hp->bins < 1 || hp->bins > LANES_HISTOGRAM_MAX_BINS || !hp->edges)
        return lanes_error_set(err, LANES_EINVAL, "histogram: bad parameters (bins %u, edges %p)", (unsigned)hp->bins,
                               (const void *)hp->edges);
    if (hp->f32 != (spec->dtype == LANES_DTYPE_F32))
        return lanes_error_set(err, LANES_EINVAL, "histogram: parameters made for another dtype");
    if (index0 + n < index0)
        return lanes_error_set(err, LANES_EINVAL, "histogram: index0 + n overflows");
    if (e ? (data || spec->dtype != LANES_DTYPE_F64) : (n > 0 && !data))
        return lanes_error_set(err, LANES_EINVAL, "histogram: give either data or a float64 expression");
    memset(&j, 0, sizeof j);
    j.dtype = spec->dtype;
    j.index0 = index0;
    j.e = e;
    for (int s = 0; s < LANES_D_MAX_INPUTS; s++)
        j.slot_of[s] = -1;
    if (e && (rc = lanes__cuda_expr_args(e, bindings, params, &j.a, err)) != 0)
        return rc;
    memset(counts, 0, hp->bins * sizeof *counts);
    if (n == 0)
        return 0;
    if (e && (rc = lanes__cuda_expr_kernel(ctx, e, LANES_DTYPE_F64, 1, LANES_REDUCE_HISTOGRAM, &j.kernel, err)) != 0)
        return rc;
    h_counts = (unsigned long long *)malloc(hp->bins * sizeof *h_counts);
    if (!h_counts)
        return lanes_error_set(err, LANES_ENOMEM, "out of memory for %u histogram counts", (unsigned)hp->bins);
    LANES_CU(ctx, cudaMalloc((void **)&d_edges, ((size_t)hp->bins + 1) * sizeof *d_edges));
    LANES_CU(ctx, cudaMalloc((void **)&d_counts, hp->bins * sizeof *d_counts));
    LANES_CU(ctx, cudaMemcpyAsync(d_edges, hp->edges, ((size_t)hp->bins + 1) * sizeof *d_edges, cudaMemcpyHostToDevice,
                                  ctx->stream[0]));
    LANES_CU(ctx, cudaMemsetAsync(d_counts, 0, hp->bins * sizeof *d_counts, ctx->stream[0]));
    LANES_CU(ctx, cudaStreamSynchronize(ctx->stream[0])); /* both streams use them */
    j.hist.lo = hp->lo;
    j.hist.denom = hp->denom;
    j.hist.keep_lo = hp->keep_lo;
    j.hist.keep_hi = hp->keep_hi;
    j.hist.edges = d_edges;
    j.hist.counts = d_counts;
    j.hist.lo32 = hp->lo32;
    j.hist.f32 = hp->f32;
    j.hist.bins = hp->bins;
    j.hist_grid = (unsigned)ctx->sm_count * 8;
    {
        struct lanes_pipe p;
        memset(&p, 0, sizeof p);
        lanes__cuda_pipe_inputs(&p, e, bindings, data, spec->dtype, j.slot_of);
        p.unit_elems = 1;
        p.n_units = n;
        /* a CUDA block's shared counters are 32-bit: at most 2^31 elements per launch */
        p.max_piece = (size_t)1 << 31;
        p.launch = hist_launch;
        p.self = &j;
        if ((rc = lanes__cuda_pipeline_run(ctx, &p, err)) != 0)
            goto fail;
    }
    LANES_CU(ctx, cudaMemcpy(h_counts, d_counts, hp->bins * sizeof *d_counts, cudaMemcpyDeviceToHost));
    for (uint32_t k = 0; k < hp->bins; k++)
        counts[k] = (int64_t)h_counts[k];
fail:
    cudaFree(d_edges);
    cudaFree(d_counts);
    free(h_counts);
    return rc;
}
