/* lanes compute library: the compute backends behind one interface (ggml's shape).
 *
 * Design: a backend is one device of one kind of compute code: "cpu" (the CPU kernels, whose results
 * are the reference every other backend is compared with) or "cuda" (kernels/cuda, one device per
 * instance). An instance is an opaque lanes_backend_t opened through the registry
 * (lanes_registry_backend_open in lanes/registry.h, the only place that knows which backends this
 * build has); every instance runs the same ops with the same arguments and the same results (bit for
 * bit, except where a backend's comment says otherwise: CUDA's transcendental functions agree to a
 * few ulp). The ops are the pieces a device runs today:
 *   map              n elements of an expression -> out (float64 or float32)
 *   reduce partials  whole blocks of an array or an expression -> one lanes_reduce_partial_t per block
 *   histogram        n elements -> int64 counts, binned as the CPU reducer with a given range bins them
 *   ACF lag sums     one block of a series -> r[0..nlags] (lanes/acf.h's block engine)
 *
 * Which backend runs what: each backend answers lanes_backend_supports(b, op, spec) per op and spec
 * (the expression, dtypes, reduce op, nlags), and lanes_registry_backend_supports(name, op, spec)
 * answers the same without an instance and without touching a device. The daemon is meant to route
 * with it: its router asks the registry whether the backend behind a placement ("cuda" for a GPU
 * worker's device, "cpu" for a test build's simulated one) supports the op and spec of a piece, and
 * keeps no rules of its own about what CUDA runs; a piece a backend does not support stays on the CPU
 * (or is refused, when the client forced that backend). The daemon itself never opens a "cuda"
 * instance: its GPU worker processes do (service/worker/gpu_worker.c), one device each, so a sticky
 * device error costs a respawnable worker.
 *
 * Adding an op: write the CPU kernel and its slot in the cpu backend (kernels/cpu/backend_cpu.c) first,
 * then the CUDA slot (kernels/cuda/backend_cuda.c over a new .cu file in kernels/cuda), and add the op to
 * tests/backend/test_backend_ops.cc, which runs every op on every backend against the cpu backend.
 *
 * Errors: 0 or a negative LANES_E* code with err set. An op a backend does not implement fails with
 * LANES_ENOTSUP; LANES_EDEVICE is a device failure; once lanes_backend_poisoned() is 1 the instance
 * is unusable (every later op fails) and its owner should close it and exit the process (CUDA: the
 * context is lost for the life of the process).
 *
 * Threads: one instance is used by one thread at a time; distinct instances may be used from distinct
 * threads. Ownership: arguments are borrowed for the call only; results go to caller-owned memory.
 */
#ifndef LANES_BACKEND_H
#define LANES_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/expr.h"
#include "lanes/kernels.h"
#include "lanes/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lanes_backend lanes_backend_t;

typedef enum lanes_backend_op {
    LANES_BACKEND_OP_MAP = 1,         /* lanes_backend_map */
    LANES_BACKEND_OP_REDUCE_PARTIALS, /* lanes_backend_reduce_partials */
    LANES_BACKEND_OP_HISTOGRAM,       /* lanes_backend_histogram */
    LANES_BACKEND_OP_ACF_LAGSUMS,     /* lanes_backend_acf_lagsums */
} lanes_backend_op_t;

/* What a piece asks of a backend, for lanes_backend_supports. Fields an op does not use are ignored. */
typedef struct lanes_backend_spec {
    const lanes_expr_t *expr;          /* MAP: the expression (required); REDUCE_PARTIALS, HISTOGRAM: the
                                        * elements' expression, or NULL for an array of reduce->dtype */
    lanes_dtype_t out_dtype;           /* MAP */
    const lanes_reduce_spec_t *reduce; /* REDUCE_PARTIALS, HISTOGRAM (required) */
    size_t nlags;                      /* ACF_LAGSUMS */
} lanes_backend_spec_t;

/* 1 if b runs op for spec, else 0 (also for a NULL b or spec). Touches no device. Thread-safe. */
int lanes_backend_supports(const lanes_backend_t *b, lanes_backend_op_t op, const lanes_backend_spec_t *spec);

/* The backend's name ("cpu", "cuda"): static. Thread-safe. */
const char *lanes_backend_name(const lanes_backend_t *b);
/* The device the instance runs on (index, name, memory, compute capability; zeros where they do not
 * apply), copied into *info. Thread-safe. */
void lanes_backend_describe(const lanes_backend_t *b, lanes_device_info_t *info);

/* Map: out[k] = e(element index0 + k) for k < n, as lanes_expr_eval (lanes/expr.h) computes it into
 * out_dtype (F64 or F32). bindings: one per input of e (ARRAY data: host memory of n elements). */
int lanes_backend_map(lanes_backend_t *b, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                      const double *params, uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                      lanes_error_t *err);

/* Reduce partials: out[k] = the partial of block k of n_blocks whole blocks, elements index0 ..
 * index0 + n_blocks * LANES_REDUCE_BLOCK - 1 (index0 a multiple of the block), exactly as
 * lanes_reduce_partials_cpu gives them. The elements are an array ('data' of spec->dtype, e NULL) or
 * the expression e evaluated in float64 (spec->dtype F64, data NULL). spec->op takes partials. */
int lanes_backend_reduce_partials(lanes_backend_t *b, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                                  const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                  uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out,
                                  lanes_error_t *err);

/* Histogram: counts[hp->bins] of n elements (array or expression as above, any index0), binned as the
 * CPU reducer of spec binds them (hp from lanes_reducer_histogram_params of that reducer: a given
 * range). */
int lanes_backend_histogram(lanes_backend_t *b, const lanes_reduce_spec_t *spec, const lanes_histogram_params_t *hp,
                            const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                            const void *data, uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err);

/* ACF lag sums (lanes_acf_block_fn semantics, lanes/acf.h): r[k] = sum_{j=nlags}^{nlags+used-1}
 * buf[j-k] * buf[j], k = 0..nlags, for buf of nlags + used values. max_used bounds 'used' for the
 * whole job: a backend may keep buffers and plans made for (nlags, max_used) between calls. */
int lanes_backend_acf_lagsums(lanes_backend_t *b, const double *buf, size_t nlags, size_t used, size_t max_used,
                              double *r, lanes_error_t *err);

/* Provokes the backend's sticky device error on purpose (CUDA: a store through an invalid pointer),
 * so tests see a poisoned instance detected and survived. Returns the error it caused (LANES_EDEVICE)
 * with err set, or LANES_ENOTSUP for a backend that has no such error (cpu). */
int lanes_backend_test_fault(lanes_backend_t *b, lanes_error_t *err);

/* 1 once a sticky error has made the instance unusable, else 0. */
int lanes_backend_poisoned(const lanes_backend_t *b);

/* Closes the instance and frees it; NULL is allowed. */
void lanes_backend_close(lanes_backend_t *b);

/* ---- the backends this build has (registry.c, the only place with per-backend build conditions) ---- */

/* NULL-terminated list of the compiled backends' names, the cpu first. Static. Thread-safe. */
const char *const *lanes_registry_backend_names(void);

/* Devices of backend 'name': describes up to max of them in devs, writes a one-line explanation to
 * detail, and returns how many exist (0: none, e.g. no GPU or no driver), or LANES_ENODEV when this
 * build has no such backend. May initialise the backend's runtime in this process (CUDA's): the daemon
 * calls it in GPU worker processes only. */
int lanes_registry_backend_probe(const char *name, lanes_device_info_t *devs, int max, char *detail,
                                 size_t detail_cap);

/* Opens device 'device' of backend 'name' with staging buffers of staging_bytes (0: the backend's
 * default; the cpu backend has none). Returns a new instance that the caller owns and closes with
 * lanes_backend_close(), or NULL with err set (LANES_ENODEV: no such backend in this build, or no
 * such device). Initialises the backend's runtime, as probe. */
lanes_backend_t *lanes_registry_backend_open(const char *name, int device, size_t staging_bytes,
                                             lanes_error_t *err);

/* lanes_backend_supports for backend 'name' without an instance: touches no device, so the daemon's
 * router may ask it. 0 for a backend this build does not have. Thread-safe. */
int lanes_registry_backend_supports(const char *name, lanes_backend_op_t op, const lanes_backend_spec_t *spec);

#ifdef __cplusplus
}
#endif

#endif /* LANES_BACKEND_H */
