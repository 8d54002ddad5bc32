/* Expression jobs, shared by Map and Reduce: from a spec's expression, named streamed arrays,
 * generated inputs and parameters to a compiled lanes_expr_t and the bindings of each chunk.
 *
 * Design: the spec's pieces arrive as plain arrays (the endpoints unpack their own protobuf types);
 * streamed arrays come first in the input list (their order is the chunk's), generated ones after.
 * Compiled expressions come from the kernels' cache, keyed by text, inputs and parameter names, so a
 * repeated job compiles once. Parameter values and generator seeds are bound per job.
 */
#ifndef LANES_RPC_EXPR_H
#define LANES_RPC_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_pool.h"
#include "lanes/expr.h"
#include "lanes/v1/lanes.pb-c.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rpc_expr_job {
    lanes_expr_t *expr; /* from lanes_expr_acquire; released by rpc_expr_clear */
    size_t n_streamed, n_inputs, n_params;
    size_t in_size[LANES_EXPR_MAX_INPUTS];
    lanes_expr_binding_t bind[LANES_EXPR_MAX_INPUTS];
    double params[LANES_EXPR_MAX_PARAMS];
    /* The expression as a GPU worker receives it (gpu_pool.h): text and names copied into 'text'
     * (malloc'ed), bindings shared with bind[]. rpc_expr_gpu() points the arrays at a piece. */
    char *text;
    lanes_expr_input_t inputs[LANES_EXPR_MAX_INPUTS];
    const char *param_names[LANES_EXPR_MAX_PARAMS];
    lanes_gpu_expr_t gpu;
} rpc_expr_job_t;

/* One spec's description of an expression job. Pointers are borrowed from the unpacked spec. */
typedef struct rpc_expr_spec {
    const char *src;
    size_t n_dtypes;
    const Lanes__V1__DType *dtypes;
    size_t n_names;
    char **names;
    size_t n_generated;
    Lanes__V1__Generated **generated;
    size_t n_params;
    const char *param_names[LANES_EXPR_MAX_PARAMS];
    double param_values[LANES_EXPR_MAX_PARAMS];
    uint64_t n; /* elements when nothing is streamed */
} rpc_expr_spec_t;

/* Fills the rpc_expr_spec_t 'es' from a MapSpec or ReduceSpec pointer 'm' (their expression fields
 * have the same names; a macro because the protobuf-c types differ) with 'source' as the text. */
#define RPC_EXPR_SPEC_FROM(es, m, source)                                                 \
    do {                                                                                  \
        (es) = (rpc_expr_spec_t){.src = (source),                                         \
                                 .n_dtypes = (m)->n_input_dtypes,                         \
                                 .dtypes = (m)->input_dtypes,                             \
                                 .n_names = (m)->n_input_names,                           \
                                 .names = (m)->input_names,                               \
                                 .n_generated = (m)->n_generated,                         \
                                 .generated = (m)->generated,                             \
                                 .n_params = (m)->n_params,                               \
                                 .n = (m)->n};                                            \
        for (size_t i_ = 0; i_ < (m)->n_params && i_ < LANES_EXPR_MAX_PARAMS; i_++) {    \
            (es).param_names[i_] = (m)->params[i_]->key ? (m)->params[i_]->key : "";      \
            (es).param_values[i_] = (m)->params[i_]->value;                               \
        }                                                                                 \
    } while (0)

/* Validates the spec, compiles (or finds) the expression and fills x and the layout (streamed dtypes,
 * or generated_n and generated_piece). Returns 0, or LANES_EINVAL (LANES_ENOMEM) with err naming the
 * problem (the compiler's, with its column and caret line, for expression errors). */
int rpc_expr_setup(rpc_expr_job_t *x, const rpc_expr_spec_t *spec, uint64_t piece, lanes_job_layout_t *layout,
                   lanes_error_t *err);

/* Points the streamed bindings at the chunk's arrays, 'offset' elements in. */
void rpc_expr_bind(rpc_expr_job_t *x, const uint8_t *const *arrays, size_t offset);

/* The GPU description of x with its streamed arrays bound 'offset' elements into the chunk's
 * arrays (as rpc_expr_bind). Valid until the next bind or clear. */
const lanes_gpu_expr_t *rpc_expr_gpu(rpc_expr_job_t *x, const uint8_t *const *arrays, size_t offset);

/* Releases the expression. x may be zeroed or half set up. */
void rpc_expr_clear(rpc_expr_job_t *x);

/* Default names of streamed arrays, in order: x, y, z, w, v, s, t, r. */
extern const char *const rpc_expr_default_names[LANES_EXPR_MAX_INPUTS];

#ifdef __cplusplus
}
#endif

#endif /* LANES_RPC_EXPR_H */
