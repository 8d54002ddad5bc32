/* The compute backends' vtable (internal to kernels/; the public side is lanes/backend.h).
 *
 * Design (ggml's ggml-backend-impl.h): each backend exports exactly one entry point, a static
 * lanes_backend_iface_t (lanes__backend_cpu in cpu/backend_cpu.c, lanes__backend_cuda in
 * cuda/backend_cuda.c); the registry (registry.c) lists the entry points this build has and is the
 * only place with per-backend build conditions; backend.c wraps an opened device's context in a
 * lanes_backend_t and dispatches each public call through the table. Slots marked (optional) may be
 * NULL: the op then fails with LANES_ENOTSUP and supports() answers 0 for it. An op's slot validates
 * its own arguments (it is the backend's entry point); supports() must answer without a device.
 */
#ifndef LANES_BACKEND_IMPL_H
#define LANES_BACKEND_IMPL_H

#include "lanes/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lanes_backend_iface {
    const char *name; /* static: "cpu", "cuda" */
    /* Counts the devices, describes up to max of them and says why there are none (lanes/backend.h
     * lanes_registry_backend_probe). */
    int (*probe)(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap);
    /* Opens device 'device' and fills *info: returns the backend's context, or NULL with err set. */
    void *(*open)(int device, size_t staging_bytes, lanes_device_info_t *info, lanes_error_t *err);
    /* Whether the op runs for spec (spec is not NULL). Touches no device. */
    int (*supports)(lanes_backend_op_t op, const lanes_backend_spec_t *spec);

    int (*map)(void *ctx, const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
               uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype, lanes_error_t *err); /* (optional) */
    int (*reduce_partials)(void *ctx, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                           const lanes_expr_binding_t *b, const double *params, const void *data, uint64_t index0,
                           size_t n_blocks, lanes_reduce_partial_t *out, lanes_error_t *err); /* (optional) */
    int (*histogram)(void *ctx, const lanes_reduce_spec_t *spec, const lanes_histogram_params_t *hp,
                     const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params, const void *data,
                     uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err); /* (optional) */
    int (*acf_lagsums)(void *ctx, const double *buf, size_t nlags, size_t used, size_t max_used, double *r,
                       lanes_error_t *err); /* (optional) */
    int (*test_fault)(void *ctx, lanes_error_t *err); /* (optional): no deliberate fault (LANES_ENOTSUP) */
    int (*poisoned)(const void *ctx);                 /* (optional): never poisoned */
    void (*close)(void *ctx);
} lanes_backend_iface_t;

/* The entry points (one per backend). */
extern const lanes_backend_iface_t lanes__backend_cpu;
extern const lanes_backend_iface_t lanes__backend_cuda; /* in builds with the CUDA backend only */

/* Opens device 'device' of the backend behind iface (backend.c; called by the registry). Returns a
 * new instance (the caller owns it: lanes_backend_close) or NULL with err set. */
lanes_backend_t *lanes__backend_open(const lanes_backend_iface_t *iface, int device, size_t staging_bytes,
                                     lanes_error_t *err);

/* iface's answer for op and spec, with the optional slots taken into account (0 for a NULL spec). */
int lanes__backend_iface_supports(const lanes_backend_iface_t *iface, lanes_backend_op_t op,
                                  const lanes_backend_spec_t *spec);

/* Shared by the backends' supports(): the reduce op takes block partials (sum, mean, var, std, min,
 * max, argmin, argmax), the dtype is valid, and an expression's elements are float64. */
int lanes__backend_partials_spec_ok(const lanes_backend_spec_t *spec);
/* A histogram with a given range (not the data's) of a valid dtype, float64 for an expression. */
int lanes__backend_histogram_spec_ok(const lanes_backend_spec_t *spec);

#ifdef __cplusplus
}
#endif

#endif /* LANES_BACKEND_IMPL_H */
