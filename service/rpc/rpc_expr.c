/* Expression jobs shared by Map and Reduce (see rpc_expr.h). */
#define _POSIX_C_SOURCE 200809L
#include "rpc_expr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const rpc_expr_default_names[LANES_EXPR_MAX_INPUTS] = {"x", "y", "z", "w", "v", "s", "t", "r"};

static const char *generated_kind_name(int kind)
{
    switch (kind) {
    case LANES__V1__GENERATED__KIND__RANGE: return "range";
    case LANES__V1__GENERATED__KIND__UNIFORM: return "uniform";
    case LANES__V1__GENERATED__KIND__NORMAL: return "normal";
    default: return "?";
    }
}

int rpc_expr_setup(rpc_expr_job_t *x, const rpc_expr_spec_t *spec, uint64_t piece, lanes_job_layout_t *layout,
                   lanes_error_t *err)
{
    memset(x, 0, sizeof *x);
    size_t n_streamed = spec->n_dtypes, n_inputs = spec->n_dtypes + spec->n_generated;
    if (n_inputs > LANES_EXPR_MAX_INPUTS)
        return lanes_error_set(err, LANES_EINVAL, "the job has %zu inputs (streamed and generated); the limit is %d",
                               n_inputs, LANES_EXPR_MAX_INPUTS);
    if (spec->n_names && spec->n_names != n_streamed) {
        return lanes_error_set(err, LANES_EINVAL, "input_names has %zu names for %zu streamed arrays", spec->n_names,
                               n_streamed);
    }
    if (spec->n_params > LANES_EXPR_MAX_PARAMS)
        return lanes_error_set(err, LANES_EINVAL, "the job has %zu parameters; the limit is %d", spec->n_params,
                               LANES_EXPR_MAX_PARAMS);
    lanes_expr_input_t inputs[LANES_EXPR_MAX_INPUTS];
    for (size_t i = 0; i < n_streamed; i++) {
        lanes_dtype_t dt = (lanes_dtype_t)spec->dtypes[i];
        if (lanes_dtype_size(dt) == 0)
            return lanes_error_set(err, LANES_EINVAL,
                                   "input_dtypes[%zu] is %d, not a dtype (float64, float32, int64, int32)", i,
                                   (int)spec->dtypes[i]);
        inputs[i] = (lanes_expr_input_t){.name = spec->n_names ? spec->names[i] : rpc_expr_default_names[i],
                                         .kind = LANES_SOURCE_ARRAY,
                                         .dtype = dt};
        x->in_size[i] = lanes_dtype_size(dt);
        layout->dtypes[i] = dt;
    }
    for (size_t g = 0; g < spec->n_generated; g++) {
        const Lanes__V1__Generated *gen = spec->generated[g];
        lanes_expr_input_t *in = &inputs[n_streamed + g];
        lanes_expr_binding_t *b = &x->bind[n_streamed + g];
        in->name = gen->name ? gen->name : "";
        in->dtype = LANES_DTYPE_F64;
        switch (gen->kind) {
        case LANES__V1__GENERATED__KIND__RANGE: in->kind = LANES_SOURCE_RANGE; break;
        case LANES__V1__GENERATED__KIND__UNIFORM: in->kind = LANES_SOURCE_UNIFORM; break;
        case LANES__V1__GENERATED__KIND__NORMAL: in->kind = LANES_SOURCE_NORMAL; break;
        default:
            return lanes_error_set(err, LANES_EINVAL, "generated input '%s' has kind %d (range 1, uniform 2, normal 3)",
                                   in->name, (int)gen->kind);
        }
        if (in->kind == LANES_SOURCE_RANGE && (!isfinite(gen->start) || !isfinite(gen->step)))
            return lanes_error_set(err, LANES_EINVAL, "generated input '%s' (%s) needs a finite start and step",
                                   in->name, generated_kind_name(gen->kind));
        b->seed = gen->seed;
        b->start = gen->start;
        b->step = gen->step;
    }
    x->expr = lanes_expr_acquire(spec->src, inputs, n_inputs, spec->param_names, spec->n_params, err);
    if (!x->expr)
        return err->code; /* the compiler's EINVAL (with column and caret line) or ENOMEM */
    x->n_streamed = n_streamed;
    x->n_inputs = n_inputs;
    x->n_params = spec->n_params;
    memcpy(x->params, spec->param_values, spec->n_params * sizeof(double));
    /* Keep the text and names for a GPU worker, which compiles the expression again. */
    size_t tlen = strlen(spec->src) + 1;
    for (size_t i = 0; i < n_inputs; i++)
        tlen += strlen(inputs[i].name) + 1;
    for (size_t i = 0; i < spec->n_params; i++)
        tlen += strlen(spec->param_names[i]) + 1;
    x->text = malloc(tlen);
    if (!x->text)
        return lanes_error_set(err, LANES_ENOMEM, "out of memory");
    char *t = x->text;
    t = stpcpy(t, spec->src) + 1;
    for (size_t i = 0; i < n_inputs; i++) {
        x->inputs[i] = inputs[i];
        x->inputs[i].name = t;
        t = stpcpy(t, inputs[i].name) + 1;
    }
    for (size_t i = 0; i < spec->n_params; i++) {
        x->param_names[i] = t;
        t = stpcpy(t, spec->param_names[i]) + 1;
    }
    x->gpu = (lanes_gpu_expr_t){.src = x->text, .n_inputs = n_inputs, .inputs = x->inputs, .bind = x->bind,
                                .n_params = spec->n_params, .param_names = x->param_names, .params = x->params};
    layout->n_arrays = (int)n_streamed;
    if (n_streamed == 0) {
        layout->generated_n = spec->n;
        layout->generated_piece = piece;
    }
    return 0;
}

void rpc_expr_bind(rpc_expr_job_t *x, const uint8_t *const *arrays, size_t offset)
{
    for (size_t i = 0; i < x->n_streamed; i++)
        x->bind[i].data = arrays[i] + offset * x->in_size[i];
}

const lanes_gpu_expr_t *rpc_expr_gpu(rpc_expr_job_t *x, const uint8_t *const *arrays, size_t offset)
{
    rpc_expr_bind(x, arrays, offset);
    return &x->gpu;
}

void rpc_expr_clear(rpc_expr_job_t *x)
{
    if (x->expr)
        lanes_expr_release(x->expr);
    x->expr = NULL;
    free(x->text);
    x->text = NULL;
}
