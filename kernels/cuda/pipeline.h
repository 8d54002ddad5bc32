/* The host-data pipeline of the CUDA backend (map.cu), used by map.cu and reduce.cu: work cut into
 * pieces of the pinned staging size, alternating over the context's two streams, so the copy in of
 * piece k+1 and the copy out of piece k-1 run while piece k computes. Internal to kernels/cuda/.
 */
#ifndef LANES_CUDA_PIPELINE_H
#define LANES_CUDA_PIPELINE_H

#include "cuda_internal.h"
#include "lanes_device.cuh"

/* The work: n_units units (an element for map and histograms, a block of LANES_REDUCE_BLOCK elements
 * for partials); each unit reads unit_elems elements of every host input and writes out_unit_bytes to
 * host_out (0: nothing comes back per piece, e.g. histogram counts kept on the device). launch()
 * enqueues the kernel of units [u0, u0 + len) on 'stream' with the inputs already on the device at
 * d_in[i] (element 0 of the piece) and the output going to d_out. */
struct lanes_pipe {
    int n_in;
    const unsigned char *in[LANES_D_MAX_INPUTS]; /* host pointers to unit 0's first element */
    size_t in_es[LANES_D_MAX_INPUTS];            /* bytes per element */
    size_t unit_elems;
    size_t out_unit_bytes;
    unsigned char *host_out;
    size_t n_units;
    size_t max_piece; /* most units in one launch (0: no bound) */
    int (*launch)(void *self, lanes_cuda_ctx_t *ctx, cudaStream_t stream, size_t u0, size_t len,
                  void *const *d_in, void *d_out, lanes_error_t *err);
    void *self;
};

/* Points p's inputs at the host arrays a job reads: 'data' (elements of dt) when e is NULL, else each
 * ARRAY input that e uses, in slot order; slot_of[s] gets the pipeline input of slot s (entries of
 * slots that are not streamed are left as they are). */
void lanes__cuda_pipe_inputs(struct lanes_pipe *p, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                             const void *data, lanes_dtype_t dt, int *slot_of);

/* Runs the pipeline to completion (synchronous). Device buffers are cudaMalloc'd per call and freed
 * before returning. Returns 0 or a LANES_E* code with err set. */
int lanes__cuda_pipeline_run(lanes_cuda_ctx_t *ctx, const struct lanes_pipe *p, lanes_error_t *err);

/* The kargs of an expression call: seeds, ranges and parameters (inputs and out filled per launch).
 * Checks the bindings (an ARRAY input the expression uses needs data unless device_data). */
int lanes__cuda_expr_args(const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                          struct lanes_kargs *a, lanes_error_t *err);

/* Launches an NVRTC kernel (one lanes_kargs argument) on stream. */
int lanes__cuda_launch_k(lanes_cuda_ctx_t *ctx, cudaKernel_t k, unsigned grid, unsigned block, size_t smem,
                         cudaStream_t stream, struct lanes_kargs *a, lanes_error_t *err);

/* The kernel for expression e from the context's NVRTC cache (source by lanes_cuda_expr_source). */
int lanes__cuda_expr_kernel(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, lanes_dtype_t out_dtype, int reduce,
                            lanes_reduce_op_t op, cudaKernel_t *k, lanes_error_t *err);

#endif /* LANES_CUDA_PIPELINE_H */
