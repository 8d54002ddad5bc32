/* The backend instances and their dispatch (see lanes/backend.h and backend_impl.h).
 *
 * Design: a lanes_backend_t is the backend's table, its device and the context its open() returned;
 * every public call checks its instance and slot, then calls through the table. The spec checks the
 * backends' supports() share live here, so every backend judges a reduce spec by the same rule.
 */
#include "backend_impl.h"

#include <stdlib.h>
#include <string.h>

struct lanes_backend {
    const lanes_backend_iface_t *iface;
    void *ctx;
    lanes_device_info_t info;
};

lanes_backend_t *lanes__backend_open(const lanes_backend_iface_t *iface, int device, size_t staging_bytes,
                                     lanes_error_t *err)
{
    lanes_backend_t *b = calloc(1, sizeof *b);
    if (!b) {
        lanes_error_set(err, LANES_ENOMEM, "%s backend: out of memory", iface->name);
        return NULL;
    }
    b->iface = iface;
    b->ctx = iface->open(device, staging_bytes, &b->info, err);
    if (!b->ctx) {
        free(b);
        return NULL;
    }
    return b;
}

static int has_slot(const lanes_backend_iface_t *i, lanes_backend_op_t op)
{
    switch (op) {
    case LANES_BACKEND_OP_MAP: return i->map != NULL;
    case LANES_BACKEND_OP_REDUCE_PARTIALS: return i->reduce_partials != NULL;
    case LANES_BACKEND_OP_HISTOGRAM: return i->histogram != NULL;
    case LANES_BACKEND_OP_ACF_LAGSUMS: return i->acf_lagsums != NULL;
    }
    return 0;
}

int lanes__backend_iface_supports(const lanes_backend_iface_t *iface, lanes_backend_op_t op,
                                  const lanes_backend_spec_t *spec)
{
    return spec && has_slot(iface, op) && iface->supports(op, spec);
}

int lanes_backend_supports(const lanes_backend_t *b, lanes_backend_op_t op, const lanes_backend_spec_t *spec)
{
    return b && lanes__backend_iface_supports(b->iface, op, spec);
}

static int valid_dtype(lanes_dtype_t dt) { return lanes_dtype_size(dt) != 0; }

int lanes__backend_partials_spec_ok(const lanes_backend_spec_t *spec)
{
    const lanes_reduce_spec_t *r = spec->reduce;
    if (!r || !valid_dtype(r->dtype) || (spec->expr && r->dtype != LANES_DTYPE_F64))
        return 0;
    switch (r->op) {
    case LANES_REDUCE_SUM: case LANES_REDUCE_MEAN: case LANES_REDUCE_VAR: case LANES_REDUCE_STD:
    case LANES_REDUCE_MIN: case LANES_REDUCE_MAX: case LANES_REDUCE_ARGMIN: case LANES_REDUCE_ARGMAX:
        return 1;
    default:
        return 0;
    }
}

int lanes__backend_histogram_spec_ok(const lanes_backend_spec_t *spec)
{
    const lanes_reduce_spec_t *r = spec->reduce;
    return r && r->op == LANES_REDUCE_HISTOGRAM && r->has_range && !r->range_from_data && valid_dtype(r->dtype) &&
           (!spec->expr || r->dtype == LANES_DTYPE_F64);
}

const char *lanes_backend_name(const lanes_backend_t *b) { return b ? b->iface->name : "none"; }

void lanes_backend_describe(const lanes_backend_t *b, lanes_device_info_t *info)
{
    if (b)
        *info = b->info;
    else
        memset(info, 0, sizeof *info);
}

/* 0, or LANES_EINVAL / LANES_ENOTSUP with err set when b cannot run the slot. */
static int check(const lanes_backend_t *b, int has, const char *what, lanes_error_t *err)
{
    if (!b)
        return lanes_error_set(err, LANES_EINVAL, "%s: no backend", what);
    if (!has)
        return lanes_error_set(err, LANES_ENOTSUP, "backend '%s' does not run %s", b->iface->name, what);
    return 0;
}

int lanes_backend_map(lanes_backend_t *b, const lanes_expr_t *e, const lanes_expr_binding_t *bindings,
                      const double *params, uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype,
                      lanes_error_t *err)
{
    int rc = check(b, b && b->iface->map, "map", err);
    return rc ? rc : b->iface->map(b->ctx, e, bindings, params, index0, n, out, out_dtype, err);
}

int lanes_backend_reduce_partials(lanes_backend_t *b, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                                  const lanes_expr_binding_t *bindings, const double *params, const void *data,
                                  uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out,
                                  lanes_error_t *err)
{
    int rc = check(b, b && b->iface->reduce_partials, "reduce partials", err);
    return rc ? rc
              : b->iface->reduce_partials(b->ctx, spec, e, bindings, params, data, index0, n_blocks, out, err);
}

int lanes_backend_histogram(lanes_backend_t *b, const lanes_reduce_spec_t *spec, const lanes_histogram_params_t *hp,
                            const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                            const void *data, uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err)
{
    int rc = check(b, b && b->iface->histogram, "histograms", err);
    return rc ? rc : b->iface->histogram(b->ctx, spec, hp, e, bindings, params, data, index0, n, counts, err);
}

int lanes_backend_acf_lagsums(lanes_backend_t *b, const double *buf, size_t nlags, size_t used, size_t max_used,
                              double *r, lanes_error_t *err)
{
    int rc = check(b, b && b->iface->acf_lagsums, "ACF lag sums", err);
    return rc ? rc : b->iface->acf_lagsums(b->ctx, buf, nlags, used, max_used, r, err);
}

int lanes_backend_test_fault(lanes_backend_t *b, lanes_error_t *err)
{
    int rc = check(b, b && b->iface->test_fault, "deliberate faults", err);
    return rc ? rc : b->iface->test_fault(b->ctx, err);
}

int lanes_backend_poisoned(const lanes_backend_t *b)
{
    return b && b->iface->poisoned ? b->iface->poisoned(b->ctx) : 0;
}

void lanes_backend_close(lanes_backend_t *b)
{
    if (!b)
        return;
    b->iface->close(b->ctx);
    free(b);
}
