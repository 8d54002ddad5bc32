/* Map on the GPU (lanes_cuda_expr_eval, lanes_cuda_expr_eval_device) and the pieces every
 * expression launcher shares (pipeline.h): the host-data pipeline, the kernel arguments, the NVRTC
 * kernel of an expression, the launch.
 *
 * Design: the kernel is generated from the expression's folded tree (cuda_codegen.c) and compiled
 * once per context, expression text and output dtype (kcache.cu); it is a grid-stride loop storing
 * out[k] = e(index0 + k), rounded once to the output dtype. Host data go through the pipeline: the
 * work is cut into pieces that fit one pinned staging buffer (array inputs and output together;
 * generated inputs cost no transfer; each input's region and the output's start on a 256-byte
 * boundary, so mixed dtypes keep every load and store aligned), piece k runs on stream k % 2: the
 * host copies its inputs into that stream's pinned buffer once the stream's previous piece is done,
 * then copy in, kernel and copy out are queued on the stream, and the host collects the output of
 * piece k when it comes back to the stream for piece k+2. So the copy in of piece k+1 and the copy
 * out of piece k-1 run on one stream while piece k computes on the other. Device buffers are plain cudaMalloc per call. Every CUDA call
 * is checked (LANES_CU); a launcher checks its arguments before touching the device.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/expr_internal.h"
#include "kcache.h"
#include "pipeline.h"

#define MAP_THREADS 256
/* Alignment of each region (an input's elements, the output) in a staging and a device buffer. */
#define PIPE_ALIGN 256

int lanes__cuda_pipeline_run(lanes_cuda_ctx_t *ctx, const struct lanes_pipe *p, lanes_error_t *err)
{
    int rc = 0;
    unsigned char *dbuf[LANES_CUDA_STREAMS] = {NULL, NULL};
    int pending[LANES_CUDA_STREAMS] = {0, 0};
    size_t pend_u0[LANES_CUDA_STREAMS] = {0, 0}, pend_len[LANES_CUDA_STREAMS] = {0, 0};
    size_t in_unit = 0;
    for (int i = 0; i < p->n_in; i++)
        in_unit += p->in_es[i] * p->unit_elems;
    const size_t per = in_unit + p->out_unit_bytes;
    /* Rounding each input region up to PIPE_ALIGN costs less than PIPE_ALIGN bytes per input. */
    const size_t slack = (size_t)p->n_in * PIPE_ALIGN;
    size_t piece = !per ? p->n_units : ctx->staging_bytes > slack ? (ctx->staging_bytes - slack) / per : 0;
    if (p->max_piece && piece > p->max_piece)
        piece = p->max_piece;
    if (piece > p->n_units)
        piece = p->n_units;
    if (p->n_units == 0)
        return 0;
    if (piece == 0)
        return lanes_error_set(err, LANES_EINVAL, "the pinned staging buffers (%zu bytes) hold less than one unit "
                                                  "of work (%zu bytes)", ctx->staging_bytes, per + slack);
    /* Fixed regions of a staging buffer and a device buffer, sized for a whole piece: input i at
     * in_off[i], the output at out_off, each on a PIPE_ALIGN boundary (inputs of different dtypes, e.g.
     * float32 then float64, or an int32 input and a float64 output, would otherwise leave a region at
     * an address its elements' loads or stores may not use). */
    size_t in_off[LANES_D_MAX_INPUTS] = {0};
    size_t out_off = 0;
    for (int i = 0; i < p->n_in; i++) {
        in_off[i] = out_off;
        out_off += piece * p->unit_elems * p->in_es[i];
        out_off = (out_off + PIPE_ALIGN - 1) / PIPE_ALIGN * PIPE_ALIGN;
    }
    const size_t buf_bytes = out_off + piece * p->out_unit_bytes; /* <= staging_bytes */
    const int n_slots = piece < p->n_units ? LANES_CUDA_STREAMS : 1;
    for (int s = 0; s < n_slots; s++)
        if (per)
            LANES_CU(ctx, cudaMalloc((void **)&dbuf[s], buf_bytes));

    for (size_t k = 0, u0 = 0; u0 < p->n_units; k++) {
        const int s = (int)(k % LANES_CUDA_STREAMS);
        const size_t len = p->n_units - u0 < piece ? p->n_units - u0 : piece;
        cudaStream_t st = ctx->stream[s];
        unsigned char *pin = (unsigned char *)ctx->pinned[s];
        /* The stream's previous piece is done: collect its output, reuse its buffers. */
        LANES_CU(ctx, cudaEventSynchronize(ctx->done[s]));
        if (pending[s]) {
            memcpy(p->host_out + pend_u0[s] * p->out_unit_bytes, pin + out_off, pend_len[s] * p->out_unit_bytes);
            pending[s] = 0;
        }
        void *d_in[LANES_D_MAX_INPUTS] = {NULL};
        for (int i = 0; i < p->n_in; i++) {
            const size_t bytes = len * p->unit_elems * p->in_es[i];
            memcpy(pin + in_off[i], p->in[i] + u0 * p->unit_elems * p->in_es[i], bytes);
            d_in[i] = dbuf[s] + in_off[i];
            if (bytes)
                LANES_CU(ctx, cudaMemcpyAsync(dbuf[s] + in_off[i], pin + in_off[i], bytes, cudaMemcpyHostToDevice, st));
        }
        rc = p->launch(p->self, ctx, st, u0, len, d_in, dbuf[s] ? dbuf[s] + out_off : NULL, err);
        if (rc)
            goto fail;
        if (p->out_unit_bytes) {
            LANES_CU(ctx, cudaMemcpyAsync(pin + out_off, dbuf[s] + out_off, len * p->out_unit_bytes,
                                          cudaMemcpyDeviceToHost, st));
            pending[s] = 1;
            pend_u0[s] = u0;
            pend_len[s] = len;
        }
        LANES_CU(ctx, cudaEventRecord(ctx->done[s], st));
        u0 += len;
    }
    for (int s = 0; s < LANES_CUDA_STREAMS; s++) {
        LANES_CU(ctx, cudaEventSynchronize(ctx->done[s]));
        if (pending[s]) {
            memcpy(p->host_out + pend_u0[s] * p->out_unit_bytes, (unsigned char *)ctx->pinned[s] + out_off,
                   pend_len[s] * p->out_unit_bytes);
            pending[s] = 0;
        }
    }
fail:
    if (rc && !ctx->poisoned)
        for (int s = 0; s < LANES_CUDA_STREAMS; s++)
            cudaStreamSynchronize(ctx->stream[s]);
    for (int s = 0; s < LANES_CUDA_STREAMS; s++)
        if (dbuf[s])
            cudaFree(dbuf[s]);
    return rc;
}

int lanes__cuda_expr_args(const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                          struct lanes_kargs *a, lanes_error_t *err)
{
    memset(a, 0, sizeof *a);
    if (e->n_inputs > LANES_D_MAX_INPUTS || e->n_params > LANES_D_MAX_PARAMS)
        return lanes_error_set(err, LANES_EINVAL, "expression has too many inputs or parameters");
    if (e->n_params && !params)
        return lanes_error_set(err, LANES_EINVAL, "the expression has %zu parameter(s) but no values were given",
                               e->n_params);
    for (size_t k = 0; k < e->n_params; k++)
        a->p[k] = params[k];
    for (size_t k = 0; k < e->n_inputs; k++) {
        if (!e->uses_input[k])
            continue;
        if (!bindings)
            return lanes_error_set(err, LANES_EINVAL, "no bindings for the expression's inputs");
        if (e->kinds[k] == LANES_SOURCE_ARRAY && !bindings[k].data)
            return lanes_error_set(err, LANES_EINVAL, "input %zu is an array but its binding has no data", k);
        a->seed[k] = bindings[k].seed;
        a->start[k] = bindings[k].start;
        a->step[k] = bindings[k].step;
    }
    return 0;
}

int lanes__cuda_launch_k(lanes_cuda_ctx_t *ctx, cudaKernel_t k, unsigned grid, unsigned block, size_t smem,
                         cudaStream_t stream, struct lanes_kargs *a, lanes_error_t *err)
{
    int rc = 0;
    void *args[1] = {a};
    if (grid == 0)
        return 0;
    LANES_CU(ctx, cudaLaunchKernel((const void *)k, dim3(grid), dim3(block), args, smem, stream));
    return 0;
fail:
    return rc;
}

int lanes__cuda_expr_kernel(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, lanes_dtype_t out_dtype, int reduce,
                            lanes_reduce_op_t op, cudaKernel_t *k, lanes_error_t *err)
{
    /* The prelude is ~15 KB and a node at most ~100 characters, so 64 KiB nearly always suffices. */
    const size_t caps[2] = {(size_t)64 << 10, (size_t)1 << 20};
    for (int attempt = 0; attempt < 2; attempt++) {
        char *src = (char *)malloc(caps[attempt]);
        if (!src)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory for a generated kernel source");
        long len = lanes_cuda_expr_source(e, out_dtype, reduce, op, src, caps[attempt]);
        if (len == LANES_ENOMEM) {
            free(src);
            continue;
        }
        if (len < 0) {
            free(src);
            return lanes_error_set(err, (int)len, "cannot generate CUDA code for this expression (%s)",
                                   lanes_strerror((int)len));
        }
        const char *name = !reduce ? "lanes_map" : op == LANES_REDUCE_HISTOGRAM ? "lanes_hist" : "lanes_reduce";
        int rc = lanes__kcache_get(ctx, src, name, k, err);
        free(src);
        return rc;
    }
    return lanes_error_set(err, LANES_ENOMEM, "the generated kernel source is too long");
}

/* ---- map ---- */

struct map_job {
    cudaKernel_t kernel;
    struct lanes_kargs a;
    const lanes_expr_t *e;
    int slot_of[LANES_D_MAX_INPUTS]; /* pipeline input index of each array input slot, -1 if none */
    size_t out_es;
    uint64_t index0;
};

static unsigned map_grid(const lanes_cuda_ctx_t *ctx, size_t n)
{
    size_t g = (n + MAP_THREADS - 1) / MAP_THREADS, most = (size_t)ctx->sm_count * 32;
    return (unsigned)(g < most ? g : most);
}

static int map_launch(void *self, lanes_cuda_ctx_t *ctx, cudaStream_t stream, size_t u0, size_t len,
                      void *const *d_in, void *d_out, lanes_error_t *err)
{
    struct map_job *j = (struct map_job *)self;
    struct lanes_kargs a = j->a;
    for (int s = 0; s < LANES_D_MAX_INPUTS; s++)
        if (j->slot_of[s] >= 0)
            a.in[s] = d_in[j->slot_of[s]];
    a.index0 = j->index0 + u0;
    a.n = len;
    a.out = d_out;
    return lanes__cuda_launch_k(ctx, j->kernel, map_grid(ctx, len), MAP_THREADS, 0, stream, &a, err);
}

/* The checks and set-up both map entry points share. */
static int map_prepare(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                       const double *params, uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                       struct map_job *j, lanes_error_t *err)
{
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return rc;
    if (!e)
        return lanes_error_set(err, LANES_EINVAL, "map: no expression");
    if (out_dtype != LANES_DTYPE_F64 && out_dtype != LANES_DTYPE_F32)
        return lanes_error_set(err, LANES_EINVAL, "map: the output dtype must be float64 or float32, not %s",
                               lanes_dtype_name(out_dtype));
    if (n > 0 && !out)
        return lanes_error_set(err, LANES_EINVAL, "map: no output buffer");
    if (index0 + n < index0)
        return lanes_error_set(err, LANES_EINVAL, "map: index0 + n overflows");
    memset(j, 0, sizeof *j);
    if ((rc = lanes__cuda_expr_args(e, bindings, params, &j->a, err)) != 0)
        return rc;
    j->e = e;
    j->out_es = lanes_dtype_size(out_dtype);
    j->index0 = index0;
    for (int s = 0; s < LANES_D_MAX_INPUTS; s++)
        j->slot_of[s] = -1;
    if (n == 0)
        return 0;
    return lanes__cuda_expr_kernel(ctx, e, out_dtype, 0, LANES_REDUCE_SUM, &j->kernel, err);
}

void lanes__cuda_pipe_inputs(struct lanes_pipe *p, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                             const void *data, lanes_dtype_t dt, int *slot_of)
{
    if (!e) {
        p->n_in = 1;
        p->in[0] = (const unsigned char *)data;
        p->in_es[0] = lanes_dtype_size(dt);
        return;
    }
    for (size_t s = 0; s < e->n_inputs; s++) {
        if (!e->uses_input[s] || e->kinds[s] != LANES_SOURCE_ARRAY)
            continue;
        slot_of[s] = p->n_in;
        p->in[p->n_in] = (const unsigned char *)bindings[s].data;
        p->in_es[p->n_in] = lanes_dtype_size(e->dtypes[s]);
        p->n_in++;
    }
}

extern "C" int lanes_cuda_expr_eval(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                                    const double *params, uint64_t index0, size_t n, void *out,
                                    lanes_dtype_t out_dtype, lanes_error_t *err)
{
    struct map_job j;
    int rc = map_prepare(ctx, e, bindings, params, index0, n, out, out_dtype, &j, err);
    if (rc || n == 0)
        return rc;
    struct lanes_pipe p;
    memset(&p, 0, sizeof p);
    lanes__cuda_pipe_inputs(&p, e, bindings, NULL, LANES_DTYPE_F64, j.slot_of);
    p.unit_elems = 1;
    p.out_unit_bytes = j.out_es;
    p.host_out = (unsigned char *)out;
    p.n_units = n;
    p.launch = map_launch;
    p.self = &j;
    return lanes__cuda_pipeline_run(ctx, &p, err);
}

extern "C" int lanes_cuda_expr_eval_device(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e,
                                           const lanes_expr_binding_t *bindings, const double *params,
                                           uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                                           lanes_error_t *err)
{
    struct map_job j;
    int rc = map_prepare(ctx, e, bindings, params, index0, n, out, out_dtype, &j, err);
    if (rc || n == 0)
        return rc;
    void *d_in[LANES_D_MAX_INPUTS] = {NULL};
    int n_in = 0;
    for (size_t s = 0; s < e->n_inputs; s++) {
        if (!e->uses_input[s] || e->kinds[s] != LANES_SOURCE_ARRAY)
            continue;
        j.slot_of[s] = n_in;
        d_in[n_in++] = (void *)bindings[s].data;
    }
    rc = map_launch(&j, ctx, ctx->stream[0], 0, n, d_in, out, err);
    if (rc)
        return rc;
    LANES_CU(ctx, cudaStreamSynchronize(ctx->stream[0]));
    return 0;
fail:
    return rc;
}
