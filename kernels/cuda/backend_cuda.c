/* The cuda backend (lanes/backend.h): one CUDA device per instance, over the CUDA code's extern "C"
 * entry points (cuda_api.h). Built only with the CUDA backend (the registry lists it then).
 *
 * Design: the context is the device's lanes_cuda_ctx_t (streams, pinned staging, the NVRTC cache)
 * and the last ACF job's block engine, kept while nlags and max_used stay the same (one ACF job sends
 * many blocks; its cuFFT plans and device buffers are made once). supports() holds what the CUDA code
 * runs, so nothing outside kernels/ keeps rules about it: maps of any expression into float64 or
 * float32 (NVRTC compiles every expression the language has); block partials of the ops that take
 * them over any dtype, or over a float64 expression; histograms with a given range; ACF lag sums up to
 * the block engine's largest nlags (2^28). Errors and poisoning are cuda_api.h's.
 */
#include <stdlib.h>

#include "backend_impl.h"
#include "cuda/cuda_api.h"

/* The ACF block engine's largest nlags (cuda/acf.cu: its FFT size stays a sane 2^31 values). */
#define CUDA_ACF_MAX_NLAGS ((size_t)1 << 28)

typedef struct cuda_dev {
    lanes_cuda_ctx_t *ctx;
    lanes_cuda_acf_t *acf; /* the last ACF job's engine, kept while nlags and max_used stay */
    size_t acf_nlags, acf_max_used;
} cuda_dev_t;

static void *cuda_open(int device, size_t staging_bytes, lanes_device_info_t *info, lanes_error_t *err)
{
    lanes_device_info_t devs[16];
    char detail[256];
    int n = lanes_cuda_probe(devs, 16, detail, sizeof detail);
    if (n <= 0 || device < 0 || device >= n || device >= 16) {
        lanes_error_set(err, LANES_ENODEV, "no CUDA device %d: %s", device, detail);
        return NULL;
    }
    cuda_dev_t *d = calloc(1, sizeof *d);
    if (!d) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory");
        return NULL;
    }
    d->ctx = lanes_cuda_open(device, staging_bytes, err);
    if (!d->ctx) {
        free(d);
        return NULL;
    }
    *info = devs[device];
    return d;
}

static int cuda_supports(lanes_backend_op_t op, const lanes_backend_spec_t *spec)
{
    switch (op) {
    case LANES_BACKEND_OP_MAP:
        return spec->expr && (spec->out_dtype == LANES_DTYPE_F64 || spec->out_dtype == LANES_DTYPE_F32);
    case LANES_BACKEND_OP_REDUCE_PARTIALS: return lanes__backend_partials_spec_ok(spec);
    case LANES_BACKEND_OP_HISTOGRAM: return lanes__backend_histogram_spec_ok(spec);
    case LANES_BACKEND_OP_ACF_LAGSUMS: return spec->nlags <= CUDA_ACF_MAX_NLAGS;
    }
    return 0;
}

static int cuda_map(void *dev, const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
                    uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype, lanes_error_t *err)
{
    return lanes_cuda_expr_eval(((cuda_dev_t *)dev)->ctx, e, b, params, index0, n, out, out_dtype, err);
}

static int cuda_reduce_partials(void *dev, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                                const lanes_expr_binding_t *b, const double *params, const void *data,
                                uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out, lanes_error_t *err)
{
    return lanes_cuda_reduce_partials(((cuda_dev_t *)dev)->ctx, spec, e, b, params, data, index0, n_blocks, out,
                                      err);
}

static int cuda_histogram(void *dev, const lanes_reduce_spec_t *spec, const lanes_histogram_params_t *hp,
                          const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
                          const void *data, uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err)
{
    return lanes_cuda_reduce_histogram(((cuda_dev_t *)dev)->ctx, spec, hp, e, b, params, data, index0, n, counts,
                                       err);
}

static int cuda_acf_lagsums(void *dev, const double *buf, size_t nlags, size_t used, size_t max_used, double *r,
                            lanes_error_t *err)
{
    cuda_dev_t *d = dev;
    if (!d->acf || d->acf_nlags != nlags || d->acf_max_used != max_used) {
        lanes_cuda_acf_free(d->acf);
        d->acf = lanes_cuda_acf_new(d->ctx, nlags, max_used, err);
        if (!d->acf)
            return err->code ? err->code : LANES_EDEVICE;
        d->acf_nlags = nlags;
        d->acf_max_used = max_used;
    }
    return lanes_cuda_acf_lagsums(d->acf, buf, used, r, err);
}

static int cuda_test_fault(void *dev, lanes_error_t *err) { return lanes_cuda_test_fault(((cuda_dev_t *)dev)->ctx, err); }

static int cuda_poisoned(const void *dev) { return lanes_cuda_poisoned(((const cuda_dev_t *)dev)->ctx); }

static void cuda_close(void *dev)
{
    cuda_dev_t *d = dev;
    lanes_cuda_acf_free(d->acf);
    lanes_cuda_close(d->ctx);
    free(d);
}

const lanes_backend_iface_t lanes__backend_cuda = {
    .name = "cuda",
    .probe = lanes_cuda_probe,
    .open = cuda_open,
    .supports = cuda_supports,
    .map = cuda_map,
    .reduce_partials = cuda_reduce_partials,
    .histogram = cuda_histogram,
    .acf_lagsums = cuda_acf_lagsums,
    .test_fault = cuda_test_fault,
    .poisoned = cuda_poisoned,
    .close = cuda_close,
};
