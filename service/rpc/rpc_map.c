/* The Map endpoint: elementwise functions over streamed arrays.
 *
 * Design: a job of the chunk pipeline. The spec (lanes.v1.MapSpec) is compiled by the kernels into a
 * map plan; each input chunk becomes one or more result messages of at most chunk_bytes of payload,
 * framed by wire.c so the kernel writes its output straight into the message buffer. When the result
 * has the input's element size and fits one reply, it is computed in place over the received array:
 * a MapRequest chunk and a MapResponse chunk of the same payload have headers of the same length, so
 * the request's buffer, its header rewritten, is the reply (no allocation, one pass). Nothing here
 * knows how a function is evaluated: when the kernels learn expressions, this file does not change.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes/v1/lanes.pb-c.h"
#include "rpc.h"
#include "lanes/registry.h"
#include "rpc_expr.h"
#include "rpc_gpu.h"
#include "wire.h"

typedef struct map_state {
    const lanes_config_t *cfg;
    lanes_map_plan_t *plan; /* a named function on unnamed inputs: the specialised kernels */
    rpc_expr_job_t x;       /* otherwise an expression */
    rpc_expr_job_t gx;      /* a named function as an expression, for a GPU (gpu_ok) */
    int gpu_ok;
    size_t in_size[LANES_MAP_MAX_INPUTS];
    size_t n_inputs;
    size_t out_size;
    lanes_dtype_t out_dtype;
} map_state_t;

static int is_named_function(const char *name)
{
    for (const char *const *f = lanes_map_function_names(); *f; f++)
        if (strcmp(*f, name) == 0)
            return 1;
    return 0;
}

/* Whether the spec is an expression rather than a named function: named or generated inputs, or any
 * text but a bare name. A bare name is an expression only when it names an input ("x", "u"); an
 * unknown bare name ("sine") is reported as an unknown function, which is what its writer meant. */
static int is_expression(const Lanes__V1__MapSpec *m)
{
    if (m->n_input_names || m->n_generated)
        return 1;
    const char *f = m->function;
    int bare = (*f == '_' || isalpha((unsigned char)*f));
    for (const char *p = f; bare && *p; p++)
        bare = *p == '_' || isalnum((unsigned char)*p);
    if (!bare)
        return 1;
    if (is_named_function(f))
        return 0;
    for (size_t i = 0; i < m->n_input_dtypes && i < LANES_EXPR_MAX_INPUTS; i++)
        if (strcmp(f, rpc_expr_default_names[i]) == 0)
            return 1;
    return 0;
}

static void *map_create(const lanes_config_t *cfg)
{
    map_state_t *s = calloc(1, sizeof *s);
    if (s)
        s->cfg = cfg;
    return s;
}

static void map_destroy(void *state)
{
    map_state_t *s = state;
    lanes_map_plan_free(s->plan);
    rpc_expr_clear(&s->x);
    rpc_expr_clear(&s->gx);
    free(s);
}

/* A GPU runs a named function as the expression language's alias of it (lanes/expr.h: the same
 * semantics): "sqrt(x)", "power(x, n)", "power(x, y)", "affine(x, a, b)". Sets s->gpu_ok when a
 * device is up and the expression compiles; without it the job stays on the CPU. */
static void named_gpu_setup(map_state_t *s, const Lanes__V1__MapSpec *m)
{
    lanes_backend_info_t b;
    if (lanes_registry_find(LANES_BACKEND_CUDA, &b) != 0 || !b.available)
        return; /* no device up: the job runs on the CPU, no GPU form needed */
    char src[96];
    const char *f = m->function;
    if (strcmp(f, "affine") == 0)
        snprintf(src, sizeof src, "affine(x, a, b)");
    else if (strcmp(f, "power") == 0)
        snprintf(src, sizeof src, m->n_input_dtypes == 2 ? "power(x, y)" : "power(x, n)");
    else
        snprintf(src, sizeof src, "%s(x)", f);
    rpc_expr_spec_t es;
    RPC_EXPR_SPEC_FROM(es, m, src);
    lanes_job_layout_t scratch = {0};
    lanes_error_t ignored;
    s->gpu_ok = rpc_expr_setup(&s->gx, &es, 1, &scratch, &ignored) == 0;
}

static int map_on_spec(void *state, const uint8_t *spec, size_t len, lanes_job_layout_t *layout, lanes_error_t *err)
{
    map_state_t *s = state;
    Lanes__V1__MapSpec *m = lanes__v1__map_spec__unpack(NULL, len, spec);
    if (!m)
        return lanes_error_set(err, LANES_EINVAL, "malformed MapSpec");
    int rc = 0;
    if (!m->function || !*m->function) {
        rc = lanes_error_set(err, LANES_EINVAL, "MapSpec.function is empty: name a function (%s)",
                             rpc_map_function_list());
        goto out;
    }
    lanes_dtype_t out_dt = m->output_dtype == LANES__V1__DTYPE__DTYPE_UNSPECIFIED ? LANES_DTYPE_F64
                                                                                    : (lanes_dtype_t)m->output_dtype;
    if (out_dt != LANES_DTYPE_F64 && out_dt != LANES_DTYPE_F32) {
        rc = lanes_error_set(err, LANES_EINVAL, "output dtype must be float64 or float32, got %s",
                             lanes_dtype_name(out_dt));
        goto out;
    }
    s->out_dtype = out_dt;
    s->out_size = lanes_dtype_size(out_dt);
    layout->backend = (int)m->backend;
    layout->out_elem_bytes = s->out_size; /* for the router: a result element per input element */
    if (is_expression(m)) {
        rpc_expr_spec_t es;
        RPC_EXPR_SPEC_FROM(es, m, m->function);
        size_t piece = s->cfg->chunk_bytes / s->out_size;
        rc = rpc_expr_setup(&s->x, &es, piece ? piece : 1, layout, err);
        s->gpu_ok = rc == 0;
        goto out;
    }
    if (m->n_input_dtypes < 1 || m->n_input_dtypes > LANES_MAP_MAX_INPUTS) {
        rc = lanes_error_set(err, LANES_EINVAL,
                             "MapSpec.input_dtypes has %zu entries; give one dtype per input array (1 to %d)",
                             m->n_input_dtypes, LANES_MAP_MAX_INPUTS);
        goto out;
    }
    lanes_dtype_t in[LANES_MAP_MAX_INPUTS];
    for (size_t i = 0; i < m->n_input_dtypes; i++) {
        in[i] = (lanes_dtype_t)m->input_dtypes[i];
        if (lanes_dtype_size(in[i]) == 0) {
            rc = lanes_error_set(err, LANES_EINVAL,
                                 "MapSpec.input_dtypes[%zu] is %d, not a dtype (float64, float32, int64, int32)", i,
                                 (int)m->input_dtypes[i]);
            goto out;
        }
    }
    lanes_param_t params[16];
    if (m->n_params > 16) {
        rc = lanes_error_set(err, LANES_EINVAL, "MapSpec.params has %zu entries (at most 16)", m->n_params);
        goto out;
    }
    for (size_t i = 0; i < m->n_params; i++) {
        params[i].name = m->params[i]->key ? m->params[i]->key : "";
        params[i].value = m->params[i]->value;
    }
    s->plan = lanes_map_plan_compile(m->function, params, m->n_params, in, m->n_input_dtypes, out_dt, err);
    if (!s->plan) {
        rc = err->code; /* EINVAL (an unknown function, a bad parameter) or ENOMEM */
        goto out;
    }
    s->n_inputs = m->n_input_dtypes;
    named_gpu_setup(s, m);
    layout->n_arrays = (int)m->n_input_dtypes;
    for (size_t i = 0; i < m->n_input_dtypes; i++) {
        layout->dtypes[i] = in[i];
        s->in_size[i] = lanes_dtype_size(in[i]);
    }
out:
    lanes__v1__map_spec__free_unpacked(m, NULL);
    return rc;
}

/* Computes elements off .. off + k - 1 of the chunk into dst: on x's device when it has one (and the
 * job has a GPU form), else or after a device failure on the CPU. */
static int map_piece(map_state_t *s, lanes_exec_t *x, const uint8_t *const *arrays, uint64_t index0, size_t off,
                     size_t k, uint8_t *dst, lanes_error_t *err)
{
    if (x->device >= 0 && !s->gpu_ok)
        x->device = -1; /* no GPU form (no device was up at the spec): the CPU runs it, as placed */
    if (x->device >= 0) {
        rpc_expr_job_t *g = s->plan ? &s->gx : &s->x;
        lanes_error_t gerr = {0};
        int rc = lanes_gpu_map(x->device, rpc_expr_gpu(g, arrays, off), index0 + off, k, dst, s->out_dtype, &gerr);
        int use = 0;
        int st = rpc_gpu_outcome(rc, &gerr, x, &use, err);
        if (st != 0 || use)
            return st;
    }
    int rc;
    if (s->plan) {
        const void *in[LANES_MAP_MAX_INPUTS];
        for (size_t i = 0; i < s->n_inputs; i++)
            in[i] = arrays[i] + off * s->in_size[i];
        rc = lanes_map_plan_run(s->plan, in, k, dst, x->threads);
    } else {
        rpc_expr_bind(&s->x, arrays, off);
        rc = lanes_expr_eval(s->x.expr, s->x.bind, s->x.params, index0 + off, k, dst, s->out_dtype, x->threads);
    }
    if (rc != 0)
        return lanes_error_set(err, LANES_EINTERNAL, "map kernel failed: %s", lanes_strerror(rc));
    return 0;
}

static int map_compute(void *state, const lanes_job_piece_t *piece, lanes_exec_t *x, lanes_out_list_t *out,
                       lanes_error_t *err)
{
    map_state_t *s = state;
    const uint8_t *const *arrays = piece->arrays;
    const size_t n = piece->n;
    const uint64_t index0 = piece->index0;
    uint8_t **request = piece->request;
    const size_t request_len = piece->request_len;
    size_t payload_all = n * s->out_size;
    size_t hdr_all = lanes_wire_chunk_header_size(1, payload_all);
    if (s->plan && s->n_inputs == 1 && s->in_size[0] == s->out_size && payload_all <= s->cfg->chunk_bytes &&
        *request && arrays[0] == *request + hdr_all && request_len == hdr_all + payload_all) {
        uint8_t *buf = *request;
        int st = map_piece(s, x, arrays, index0, 0, n, buf + hdr_all, err);
        if (st != 0)
            return st;
        lanes_wire_chunk_header(buf, 1, payload_all);
        *request = NULL;
        if (lanes_out_list_push(out, buf, request_len, payload_all) != 0)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory");
        return 0;
    }
    size_t per = s->cfg->chunk_bytes / s->out_size;
    if (per == 0)
        per = 1;
    for (size_t off = 0; off < n; off += per) {
        size_t k = n - off < per ? n - off : per;
        size_t payload = k * s->out_size;
        size_t hdr = lanes_wire_chunk_header_size(1, payload);
        uint8_t *buf = malloc(hdr + payload);
        if (!buf)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory for a %zu-byte result chunk", payload);
        lanes_wire_chunk_header(buf, 1, payload);
        int st = map_piece(s, x, arrays, index0, off, k, buf + hdr, err);
        if (st != 0) {
            free(buf);
            return st;
        }
        if (lanes_out_list_push(out, buf, hdr + payload, payload) != 0) {
            return lanes_error_set(err, LANES_ENOMEM, "out of memory");
        }
    }
    return 0;
}

static int map_finish(void *state, const lanes_job_stats_t *st, uint8_t **buf, size_t *len, lanes_error_t *err)
{
    Lanes__V1__JobSummary summary;
    lanes_pipeline_summary(st, &summary);
    Lanes__V1__MapResponse resp = LANES__V1__MAP_RESPONSE__INIT;
    resp.msg_case = LANES__V1__MAP_RESPONSE__MSG_SUMMARY;
    resp.summary = &summary;
    return lanes_wire_pack((const ProtobufCMessage *)&resp, buf, len, err);
}

const lanes_job_ops_t rpc_map_ops = {
    .name = "map",
    .spec_descriptor = &lanes__v1__map_spec__descriptor,
    .kind = LANES_JOB_MAP,
    .create = map_create,
    .on_spec = map_on_spec,
    .compute = map_compute,
    .finish = map_finish,
    .destroy = map_destroy,
};
