/* extern "C" entry points of the CUDA code (kernels/cuda/ (.cu files)), with the same names in
 * cuda_stub.c for builds without CUDA (each then fails with LANES_ENODEV and says so). Internal to
 * kernels/: not on lanes_kernels' public include path.
 *
 * Who calls these: the cuda backend (backend_cuda.c, the one way in from outside kernels/: lanes/backend.h,
 * which the GPU worker process `lanesd --gpu-worker` runs), and the CUDA tests and benchmarks (with a
 * private include of kernels/). The daemon process itself never calls them, so no CUDA context ever
 * exists in the process that forks or serves RPCs, and a sticky CUDA error kills only a respawnable
 * worker.
 *
 * Errors: every CUDA, cuFFT and NVRTC call is checked; a failure returns a negative LANES_E* code
 * with a message in err naming the call and the runtime's words. LANES_EINVAL: bad arguments or an
 * expression NVRTC rejects; LANES_ENOMEM: device or pinned memory exhausted; LANES_EDEVICE: any
 * other device error. After an error that poisons the context (illegal address, launch failure ...)
 * lanes_cuda_poisoned() is 1: the owner must stop using the context and exit the process.
 *
 * Threads: one context is used by one thread at a time (the worker's command thread). Distinct
 * contexts (one per device) may be used from distinct threads.
 */
#ifndef LANES_CUDA_API_H
#define LANES_CUDA_API_H

#include "lanes/acf.h"
#include "lanes/expr.h"
#include "lanes/kernels.h"
#include "lanes/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counts CUDA devices and describes up to max of them in devs. Returns the count (0 when there is no
 * device or no driver), or LANES_ENODEV when built without CUDA; writes a one-line explanation to
 * detail either way. Initialises the CUDA runtime in this process. */
int lanes_cuda_probe(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap);

typedef struct lanes_cuda_ctx lanes_cuda_ctx_t;

/* Opens device 'device': its primary context, >= 2 streams, pinned staging buffers of staging_bytes
 * each (0: a default of 64 MiB), and the NVRTC kernel cache. Returns the context (the caller owns
 * it: lanes_cuda_close) or NULL with err set. */
lanes_cuda_ctx_t *lanes_cuda_open(int device, size_t staging_bytes, lanes_error_t *err);
void lanes_cuda_close(lanes_cuda_ctx_t *ctx);
/* 1 once a sticky error has poisoned the context (every later call fails with LANES_EDEVICE). */
int lanes_cuda_poisoned(const lanes_cuda_ctx_t *ctx);
/* Kernels compiled and cache hits of the NVRTC cache, for Info. */
void lanes_cuda_cache_stats(const lanes_cuda_ctx_t *ctx, uint64_t *compiled, uint64_t *hits);

/* The CUDA C source NVRTC compiles for an expression evaluated into out_dtype ('reduce' = 0: a map
 * kernel; 1: the block-partials kernel of a reduce of spec->op, fused with the expression). Written
 * into buf (NUL-terminated). Returns the length, or a negative LANES_E* code (buffer too small:
 * LANES_ENOMEM). Pure C, no device needed: tests compile the text with NVRTC on any machine.
 * Thread-safe. */
long lanes_cuda_expr_source(const lanes_expr_t *e, lanes_dtype_t out_dtype, int reduce, lanes_reduce_op_t op,
                            char *buf, size_t cap);
/* Compiles 'source' with NVRTC for the given compute capability (e.g. 90) to PTX, without a device.
 * Returns 0 or LANES_EINVAL with NVRTC's log in err. For tests. Thread-safe. */
int lanes_cuda_compile_check(const char *source, int cc, lanes_error_t *err);

/* Map: out[k] = e(element index0 + k) for k < n, exactly like lanes_expr_eval (same Philox streams:
 * generated inputs are bit-identical; arithmetic without FMA contraction; transcendental functions use
 * CUDA's libdevice and may differ from glibc's in the last bits). bindings: one per input (ARRAY
 * data are host pointers to n elements of the input's dtype). Host memory need not be pinned: large
 * n is cut into pieces staged through the pinned buffers on two streams, so the copy in of piece k+1,
 * the compute of piece k and the copy out of piece k-1 overlap. */
int lanes_cuda_expr_eval(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                         const double *params, uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                         lanes_error_t *err);

/* Reduce, block partials: out[b] = the partial (lanes_reduce_partial_t) of block b of n_blocks whole
 * blocks, elements index0 .. index0 + n_blocks * LANES_REDUCE_BLOCK - 1 (index0 a multiple of the block).
 * The elements are either an array (e == NULL: 'data', host memory of spec->dtype) or the expression
 * e evaluated in float64 (then spec->dtype must be F64 and data is NULL). spec->op must take partials
 * (sum, mean, var, std, min, max, argmin, argmax). Bit-identical to lanes_reduce_partials_cpu for
 * arrays and for expressions without transcendental functions. */
int lanes_cuda_reduce_partials(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                               const lanes_expr_binding_t *bindings, const double *params, const void *data,
                               uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out, lanes_error_t *err);

/* Device-resident variants, for the benchmarks and for callers that keep data on the device: the same
 * as lanes_cuda_expr_eval / lanes_cuda_reduce_partials, except that ARRAY binding data, 'data' and
 * 'out' are device pointers (cudaMalloc'd by the caller, suitably aligned for their dtype) on ctx's
 * device. No staging: one launch on the context's first stream; returns when it is done. */
int lanes_cuda_expr_eval_device(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                                const double *params, uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                                lanes_error_t *err);
int lanes_cuda_reduce_partials_device(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                                      const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                      uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out,
                                      lanes_error_t *err);

/* Group partials on the device (kernels.h "Groups"): out[g] = the merge of in[g * 2^level ..
 * (g + 1) * 2^level - 1], bit-identical to lanes_reduce_partials_combine, for n_blocks a multiple of
 * 2^level and 1 <= level <= LANES_CUDA_MAX_GROUP_LEVEL. in and out are device pointers on ctx's device
 * (they may not overlap); feed out with lanes_reducer_feed_group_partials at 'level'. One launch on the
 * context's first stream; returns when it is done. */
#define LANES_CUDA_MAX_GROUP_LEVEL 8
#define LANES_CUDA_MAX_GROUP (1 << LANES_CUDA_MAX_GROUP_LEVEL)
int lanes_cuda_reduce_combine_device(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec,
                                     const lanes_reduce_partial_t *in, size_t n_blocks, unsigned level,
                                     lanes_reduce_partial_t *out, lanes_error_t *err);

/* Reduce, histogram: counts[bins] of n elements (array or expression as above, any index0), binned
 * exactly as the CPU reducer with parameters hp. Counts only values inside the range. */
int lanes_cuda_reduce_histogram(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec,
                                const lanes_histogram_params_t *hp, const lanes_expr_t *e,
                                const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err);

/* ACF block engine on the device (lanes_acf_block_fn semantics: r[0..nlags] of one block of 'used'
 * values after nlags previous ones): a direct kernel for small nlags, cuFFT overlap-save (R2C/C2R,
 * normalised by 1/N) for large ones. max_used bounds 'used' (device buffers and cuFFT plans are made
 * once for it). Returns a new object (the caller owns it) or NULL with err set. The object borrows
 * ctx (which must outlive it) and is used by ctx's thread only. */
typedef struct lanes_cuda_acf lanes_cuda_acf_t;
lanes_cuda_acf_t *lanes_cuda_acf_new(lanes_cuda_ctx_t *ctx, size_t nlags, size_t max_used, lanes_error_t *err);
/* Default crossover of lanes_cuda_acf_new: cuFFT from this nlags on, the direct kernel below it. A
 * guess until measured on a device with lanes-bench-cuda-acf (kernels/bench/bench_cuda_acf.c). */
#define LANES_CUDA_ACF_FFT_MIN_NLAGS 64
/* The direct kernel's largest nlags (its tile and the nlags before it live in shared memory). */
#define LANES_CUDA_ACF_DIRECT_MAX_NLAGS 1024
/* As lanes_cuda_acf_new with the method chosen: LANES_ACF_AUTO (the crossover above),
 * LANES_ACF_DIRECT (nlags <= LANES_CUDA_ACF_DIRECT_MAX_NLAGS) or LANES_ACF_FFT. For the benchmark
 * that measures the crossover and for tests of both methods. */
lanes_cuda_acf_t *lanes_cuda_acf_new_method(lanes_cuda_ctx_t *ctx, size_t nlags, size_t max_used,
                                            lanes_acf_method_t method, lanes_error_t *err);
/* r[k] = sum_{j=nlags}^{nlags+used-1} buf[j-k] * buf[j], k = 0..nlags, for buf (nlags + used values,
 * host memory, borrowed for the call; used <= max_used). Synchronous: returns 0 when r is written, or
 * a negative LANES_E* code with err set. Deterministic: the same inputs give the same bits. */
int lanes_cuda_acf_lagsums(lanes_cuda_acf_t *a, const double *buf, size_t used, double *r, lanes_error_t *err);
/* Frees the object's device memory and plans; NULL is allowed. */
void lanes_cuda_acf_free(lanes_cuda_acf_t *a);
/* The lanes_acf_block_fn adapter: ctx is a lanes_cuda_acf_t made for the same nlags. */
int lanes_cuda_acf_block_fn(void *ctx, const double *buf, size_t nlags, size_t used, double *r, lanes_error_t *err);

/* Device-to-device copy bandwidth in bytes/ns (the benchmarks' baseline): copies 'bytes' 'reps'
 * times with cudaMemcpyAsync and times it with events. */
int lanes_cuda_copy_bandwidth(lanes_cuda_ctx_t *ctx, size_t bytes, int reps, double *bytes_per_ns,
                              lanes_error_t *err);

/* Provokes a sticky error on purpose (a kernel that stores through an invalid device pointer), so
 * tests and the GPU worker's test hooks can check that a poisoned context is detected and survived.
 * Returns the error it caused (LANES_EDEVICE) with err set; the context is poisoned afterwards. */
int lanes_cuda_test_fault(lanes_cuda_ctx_t *ctx, lanes_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CUDA_API_H */
