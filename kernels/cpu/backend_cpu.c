/* The cpu backend (lanes/backend.h): the CPU kernels behind the backend interface, the reference every
 * other backend's results are compared with (tests/backend/test_backend_ops.cc).
 *
 * Design: one device (index 0, the host) and no state beyond it: every op runs the kernels on the
 * calling thread (threads = 1, as a device serves one command at a time; the kernels' results do not
 * depend on the thread count). Maps are lanes_expr_eval; block partials are lanes_reduce_partials_cpu
 * over the array, or over the expression evaluated into float64 first; histograms are a reducer of the
 * same spec fed the elements; ACF lag sums are the defining sum, accumulated in long double. It has no
 * sticky error, so test_fault and poisoned are left out. In the daemon's test build the simulated GPU
 * devices are this backend behind the GPU worker's process boundary (service/test_hooks.c).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_impl.h"

/* The one device: the host. */
static void host_info(lanes_device_info_t *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "host CPU (%d online CPU(s))", omp_get_num_procs());
}

static int cpu_probe(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap)
{
    if (max > 0)
        host_info(&devs[0]);
    snprintf(detail, detail_cap, "the CPU kernels on the host (%d online CPU(s))", omp_get_num_procs());
    return 1;
}

static int g_host; /* the context of device 0: the host needs no state */

static void *cpu_open(int device, size_t staging_bytes, lanes_device_info_t *info, lanes_error_t *err)
{
    (void)staging_bytes;
    if (device != 0) {
        lanes_error_set(err, LANES_ENODEV, "the cpu backend has one device (0), not %d", device);
        return NULL;
    }
    host_info(info);
    return &g_host;
}

static int cpu_supports(lanes_backend_op_t op, const lanes_backend_spec_t *spec)
{
    switch (op) {
    case LANES_BACKEND_OP_MAP:
        return spec->expr && (spec->out_dtype == LANES_DTYPE_F64 || spec->out_dtype == LANES_DTYPE_F32);
    case LANES_BACKEND_OP_REDUCE_PARTIALS: return lanes__backend_partials_spec_ok(spec);
    case LANES_BACKEND_OP_HISTOGRAM: return lanes__backend_histogram_spec_ok(spec);
    case LANES_BACKEND_OP_ACF_LAGSUMS: return 1;
    }
    return 0;
}

static int cpu_map(void *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
                   uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype, lanes_error_t *err)
{
    (void)ctx;
    int rc = lanes_expr_eval(e, b, params, index0, n, out, out_dtype, 1);
    return rc ? lanes_error_set(err, rc, "cpu map failed: %s", lanes_strerror(rc)) : 0;
}

/* Evaluates elements index0 .. index0 + n - 1 of an expression into a new float64 array (the caller
 * frees it), or NULL with err set. */
static double *eval_all(const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params, uint64_t index0,
                        size_t n, lanes_error_t *err)
{
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf) {
        lanes_error_set(err, LANES_ENOMEM, "cpu backend: out of memory for %zu values", n);
        return NULL;
    }
    int rc = lanes_expr_eval(e, b, params, index0, n, buf, LANES_DTYPE_F64, 1);
    if (rc) {
        lanes_error_set(err, rc, "cpu backend: evaluating the expression failed: %s", lanes_strerror(rc));
        free(buf);
        return NULL;
    }
    return buf;
}

static int cpu_reduce_partials(void *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                               const lanes_expr_binding_t *b, const double *params, const void *data,
                               uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out, lanes_error_t *err)
{
    (void)ctx;
    double *buf = NULL;
    if (e && !(buf = eval_all(e, b, params, index0, n_blocks * LANES_REDUCE_BLOCK, err)))
        return err->code;
    int rc = lanes_reduce_partials_cpu(spec, e ? (const void *)buf : data, index0, n_blocks, out);
    free(buf);
    return rc ? lanes_error_set(err, rc, "cpu reduce failed: %s", lanes_strerror(rc)) : 0;
}

static int cpu_histogram(void *ctx, const lanes_reduce_spec_t *spec, const lanes_histogram_params_t *hp,
                         const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params, const void *data,
                         uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err)
{
    (void)ctx;
    lanes_reducer_t *r = lanes_reducer_new(spec, err);
    if (!r)
        return err->code;
    double *buf = NULL;
    if (e && !(buf = eval_all(e, b, params, index0, n, err))) {
        lanes_reducer_free(r);
        return err->code;
    }
    int rc = lanes_reducer_feed(r, e ? (const void *)buf : data, n, 1);
    lanes_reduce_result_t res;
    if (rc == 0)
        rc = lanes_reducer_finish(r, &res, err);
    if (rc == 0)
        memcpy(counts, res.counts, (size_t)hp->bins * sizeof *counts);
    free(buf);
    lanes_reducer_free(r);
    return rc ? lanes_error_set(err, rc, "cpu histogram failed: %s", lanes_strerror(rc)) : 0;
}

static int cpu_acf_lagsums(void *ctx, const double *buf, size_t nlags, size_t used, size_t max_used, double *r,
                           lanes_error_t *err)
{
    (void)ctx, (void)max_used, (void)err;
    for (size_t k = 0; k <= nlags; k++) {
        long double s = 0;
        for (size_t j = nlags; j < nlags + used; j++)
            s += (long double)buf[j - k] * buf[j];
        r[k] = (double)s;
    }
    return 0;
}

static void cpu_close(void *ctx) { (void)ctx; }

const lanes_backend_iface_t lanes__backend_cpu = {
    .name = "cpu",
    .probe = cpu_probe,
    .open = cpu_open,
    .supports = cpu_supports,
    .map = cpu_map,
    .reduce_partials = cpu_reduce_partials,
    .histogram = cpu_histogram,
    .acf_lagsums = cpu_acf_lagsums,
    .close = cpu_close,
};
