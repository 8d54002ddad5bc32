/* Stand-in for the CUDA code in builds without CUDA: the same extern "C" entry points as
 * cuda/cuda_api.h, each saying plainly that CUDA was not built in (LANES_ENODEV). Linked instead of
 * the cuda/ sources so the CUDA tests and benchmarks link in every build and no #ifdef leaks outside
 * kernels/. The cuda backend (backend_cuda.c) is not built then: the registry does not list it, so
 * nothing in the daemon reaches these. */
#include <stdio.h>

#include "cuda/cuda_api.h"
#include "lanes/kernels.h"

#define NOT_BUILT "not built: this is a CPU-only build (configure with nvcc present)"

int lanes_cuda_probe(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap)
{
    (void)devs;
    (void)max;
    snprintf(detail, detail_cap, NOT_BUILT);
    return LANES_ENODEV;
}

lanes_cuda_ctx_t *lanes_cuda_open(int device, size_t staging_bytes, lanes_error_t *err)
{
    (void)device;
    (void)staging_bytes;
    lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
    return NULL;
}

void lanes_cuda_close(lanes_cuda_ctx_t *ctx) { (void)ctx; }

int lanes_cuda_poisoned(const lanes_cuda_ctx_t *ctx)
{
    (void)ctx;
    return 1;
}

int lanes_cuda_copy_bandwidth(lanes_cuda_ctx_t *ctx, size_t bytes, int reps, double *bytes_per_ns,
                              lanes_error_t *err)
{
    (void)ctx;
    (void)bytes;
    (void)reps;
    (void)bytes_per_ns;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

int lanes_cuda_test_fault(lanes_cuda_ctx_t *ctx, lanes_error_t *err)
{
    (void)ctx;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

/* The ACF block engine (cuda/acf.cu). */
lanes_cuda_acf_t *lanes_cuda_acf_new_method(lanes_cuda_ctx_t *ctx, size_t nlags, size_t max_used,
                                            lanes_acf_method_t method, lanes_error_t *err)
{
    (void)ctx;
    (void)nlags;
    (void)max_used;
    (void)method;
    lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
    return NULL;
}

lanes_cuda_acf_t *lanes_cuda_acf_new(lanes_cuda_ctx_t *ctx, size_t nlags, size_t max_used, lanes_error_t *err)
{
    return lanes_cuda_acf_new_method(ctx, nlags, max_used, LANES_ACF_AUTO, err);
}

int lanes_cuda_acf_lagsums(lanes_cuda_acf_t *a, const double *buf, size_t used, double *r, lanes_error_t *err)
{
    (void)a;
    (void)buf;
    (void)used;
    (void)r;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

void lanes_cuda_acf_free(lanes_cuda_acf_t *a) { (void)a; }

int lanes_cuda_acf_block_fn(void *ctx, const double *buf, size_t nlags, size_t used, double *r, lanes_error_t *err)
{
    (void)ctx;
    (void)buf;
    (void)nlags;
    (void)used;
    (void)r;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

/* ---- map and reduce (cuda/map.cu, cuda/reduce.cu, cuda/kcache.cu); lanes_cuda_expr_source is
 * cuda_codegen.c, built everywhere ---- */

void lanes_cuda_cache_stats(const lanes_cuda_ctx_t *ctx, uint64_t *compiled, uint64_t *hits)
{
    (void)ctx;
    if (compiled)
        *compiled = 0;
    if (hits)
        *hits = 0;
}

int lanes_cuda_compile_check(const char *source, int cc, lanes_error_t *err)
{
    (void)source;
    (void)cc;
    return lanes_error_set(err, LANES_ENODEV, "NVRTC %s", NOT_BUILT);
}

int lanes_cuda_expr_eval(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                         const double *params, uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                         lanes_error_t *err)
{
    (void)ctx, (void)e, (void)bindings, (void)params, (void)index0, (void)n, (void)out, (void)out_dtype;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

int lanes_cuda_expr_eval_device(lanes_cuda_ctx_t *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                                const double *params, uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                                lanes_error_t *err)
{
    (void)ctx, (void)e, (void)bindings, (void)params, (void)index0, (void)n, (void)out, (void)out_dtype;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

int lanes_cuda_reduce_partials(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                               const lanes_expr_binding_t *bindings, const double *params, const void *data,
                               uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out, lanes_error_t *err)
{
    (void)ctx, (void)spec, (void)e, (void)bindings, (void)params, (void)data, (void)index0, (void)n_blocks, (void)out;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

int lanes_cuda_reduce_partials_device(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                                      const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                      uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out,
                                      lanes_error_t *err)
{
    (void)ctx, (void)spec, (void)e, (void)bindings, (void)params, (void)data, (void)index0, (void)n_blocks, (void)out;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

int lanes_cuda_reduce_combine_device(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec,
                                     const lanes_reduce_partial_t *in, size_t n_blocks, unsigned level,
                                     lanes_reduce_partial_t *out, lanes_error_t *err)
{
    (void)ctx, (void)spec, (void)in, (void)n_blocks, (void)level, (void)out;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}

int lanes_cuda_reduce_histogram(lanes_cuda_ctx_t *ctx, const lanes_reduce_spec_t *spec,
                                const lanes_histogram_params_t *hp, const lanes_expr_t *e,
                                const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err)
{
    (void)ctx, (void)spec, (void)hp, (void)e, (void)bindings, (void)params, (void)data, (void)index0, (void)n,
        (void)counts;
    return lanes_error_set(err, LANES_ENODEV, "CUDA %s", NOT_BUILT);
}
