/* The Reduce endpoint: one value (or a histogram) from a stream of elements.
 *
 * Design: a job of the chunk pipeline with no result chunks. The spec (lanes.v1.ReduceSpec) becomes a
 * kernels reducer; each chunk is fed to it in arrival order (the pipeline never computes two chunks of
 * a job at once), and the reducer's fixed blocked order makes the result independent of chunking and
 * threads. The reply carries the value in the type numpy would give it, and the job summary.
 *
 * On a GPU (the router placed the piece on a device): the ops that take block partials (sum, mean,
 * var, std, min, max, argmin, argmax) feed the CPU reducer up to the next block boundary, send the
 * whole blocks to the device, which returns one partial per block computed in the CPU's exact order,
 * and feed the rest on the CPU, so the result is bit-identical to a CPU run. A histogram with a given
 * range is binned on the device and its counts added. count, and histograms whose range comes from
 * the data, stay on the CPU. A device failure sends the piece to the CPU (or ends the job with
 * UNAVAILABLE when cuda was forced).
 */
#include <stdlib.h>
#include <string.h>

#include "lanes/v1/lanes.pb-c.h"
#include "rpc.h"
#include "rpc_expr.h"
#include "rpc_gpu.h"
#include "wire.h"

/* Elements of a generated piece: large, since a fused reduction never holds them (lanes_expr_reduce
 * evaluates in bounded blocks); each piece is one compute of the pipeline. */
#define GENERATED_PIECE (1u << 22)

typedef struct reduce_state {
    lanes_reducer_t *r;
    lanes_reduce_spec_t spec; /* what r was made from (dtype F64 for a fused reduce) */
    rpc_expr_job_t x; /* fused map-reduce when x.expr is set */
} reduce_state_t;

static void *reduce_create(const lanes_config_t *cfg)
{
    (void)cfg;
    return calloc(1, sizeof(reduce_state_t));
}

static void reduce_destroy(void *state)
{
    reduce_state_t *s = state;
    lanes_reducer_free(s->r);
    rpc_expr_clear(&s->x);
    free(s);
}

static int reduce_on_spec(void *state, const uint8_t *spec, size_t len, lanes_job_layout_t *layout, lanes_error_t *err)
{
    reduce_state_t *s = state;
    Lanes__V1__ReduceSpec *m = lanes__v1__reduce_spec__unpack(NULL, len, spec);
    if (!m)
        return lanes_error_set(err, LANES_EINVAL, "malformed ReduceSpec");
    int rc = 0;
    lanes_reduce_spec_t rs = {0};
    if (lanes_reduce_op_parse(m->op ? m->op : "", &rs.op) != 0) {
        rc = lanes_error_set(err, LANES_EINVAL, "unknown reduce op '%s' (known: %s)", m->op ? m->op : "",
                             rpc_reduce_op_list());
        goto out;
    }
    int fused = m->expr && *m->expr;
    if (fused) {
        rpc_expr_spec_t es;
        RPC_EXPR_SPEC_FROM(es, m, m->expr);
        rc = rpc_expr_setup(&s->x, &es, GENERATED_PIECE, layout, err);
        if (rc != 0)
            goto out;
        rs.dtype = LANES_DTYPE_F64; /* the mapped values */
    } else if (m->n_input_dtypes || m->n_input_names || m->n_generated || m->n_params) {
        rc = lanes_error_set(err, LANES_EINVAL,
                             "input_dtypes, input_names, generated and params go with expr (a fused map-reduce); "
                             "a plain reduce takes dtype");
        goto out;
    } else {
        rs.dtype = (lanes_dtype_t)m->dtype;
    }
    if (lanes_dtype_size(rs.dtype) == 0) {
        rc = lanes_error_set(err, LANES_EINVAL, "ReduceSpec.dtype is %d, not a dtype (float64, float32, int64, int32)",
                             (int)m->dtype);
        goto out;
    }
    rs.ddof = m->ddof;
    rs.bins = m->bins ? m->bins : 10; /* numpy's default */
    if (m->range) {
        rs.has_range = 1;
        rs.lo = m->range->lo;
        rs.hi = m->range->hi;
    }
    rs.range_from_data = m->range_from_data;
    s->spec = rs;
    s->r = lanes_reducer_new(&rs, err);
    if (!s->r) {
        rc = err->code; /* EINVAL (a bad ddof, bins or range) or ENOMEM */
        goto out;
    }
    if (!fused) {
        layout->n_arrays = 1;
        layout->dtypes[0] = rs.dtype;
    }
    layout->backend = (int)m->backend;
    layout->out_elem_bytes = 0; /* for the router: the result is a scalar (or bins), not per element */
out:
    lanes__v1__reduce_spec__free_unpacked(m, NULL);
    return rc;
}

/* Feeds elements off .. off + k - 1 of the chunk on the CPU. */
static int cpu_feed(reduce_state_t *s, const uint8_t *const *arrays, uint64_t index0, size_t off, size_t k, int threads)
{
    if (k == 0)
        return 0;
    if (s->x.expr) {
        rpc_expr_bind(&s->x, arrays, off);
        return lanes_expr_reduce(s->x.expr, s->x.bind, s->x.params, index0 + off, k, s->r, threads);
    }
    return lanes_reducer_feed(s->r, arrays[0] + off * lanes_dtype_size(s->spec.dtype), k, threads);
}

/* Runs what it can of the chunk on device x->device. Sets *done when the whole chunk was fed; else
 * (a device failure, with fall-back) the caller feeds elements *from .. n - 1 on the CPU. */
static int gpu_feed(reduce_state_t *s, lanes_exec_t *x, const uint8_t *const *arrays, size_t n, uint64_t index0,
                    size_t *from, int *done, lanes_error_t *err)
{
    lanes_error_t gerr = {0};
    const lanes_gpu_expr_t *gx = NULL;
    const uint8_t *data = NULL;
    const size_t es = lanes_dtype_size(s->spec.dtype);
    int rc = 0, use = 0;
    int st;
    if (lanes_reducer_takes_partials(s->r)) {
        size_t head = lanes_reducer_to_boundary(s->r);
        if (head > n)
            head = n;
        if (cpu_feed(s, arrays, index0, 0, head, x->threads) != 0)
            goto kernel;
        *from = head;
        size_t nb = (n - head) / LANES_REDUCE_BLOCK;
        if (nb > 0) {
            lanes_reduce_partial_t *parts = malloc(nb * sizeof *parts);
            if (!parts) {
                return lanes_error_set(err, LANES_ENOMEM, "out of memory for %zu block partials", nb);
            }
            if (s->x.expr)
                gx = rpc_expr_gpu(&s->x, arrays, head);
            else
                data = arrays[0] + head * es;
            rc = lanes_gpu_reduce_partials(x->device, &s->spec, gx, data, index0 + head, nb, parts, &gerr);
            st = rpc_gpu_outcome(rc, &gerr, x, &use, err);
            if (use)
                rc = lanes_reducer_feed_partials(s->r, parts, nb);
            free(parts);
            if (!use)
                return st; /* a failure, or a fall-back: the CPU feeds from *from */
            if (rc != 0)
                goto kernel;
            *from = head + nb * LANES_REDUCE_BLOCK;
        }
        if (cpu_feed(s, arrays, index0, *from, n - *from, x->threads) != 0)
            goto kernel;
        *done = 1;
        return 0;
    }
    if (s->spec.op == LANES_REDUCE_HISTOGRAM && s->spec.has_range && !s->spec.range_from_data) {
        int64_t *counts = malloc((size_t)s->spec.bins * sizeof *counts);
        if (!counts)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory for %u histogram counts", s->spec.bins);
        if (s->x.expr)
            gx = rpc_expr_gpu(&s->x, arrays, 0);
        else
            data = arrays[0];
        rc = lanes_gpu_reduce_histogram(x->device, &s->spec, gx, data, index0, n, counts, &gerr);
        st = rpc_gpu_outcome(rc, &gerr, x, &use, err);
        if (use)
            rc = lanes_reducer_feed_histogram(s->r, counts, n);
        free(counts);
        if (!use)
            return st;
        if (rc != 0)
            goto kernel;
        *done = 1;
        return 0;
    }
    x->device = -1; /* count, or a histogram of the data's range: the CPU's (not a fall-back) */
    return 0;
kernel:
    return lanes_error_set(err, LANES_EINTERNAL, "reduce kernel failed");
}

static int reduce_compute(void *state, const lanes_job_piece_t *piece, lanes_exec_t *x, lanes_out_list_t *out,
                          lanes_error_t *err)
{
    (void)out;
    reduce_state_t *s = state;
    size_t from = 0;
    int done = 0;
    if (x->device >= 0) {
        int st = gpu_feed(s, x, piece->arrays, piece->n, piece->index0, &from, &done, err);
        if (st != 0 || done)
            return st;
    }
    int rc = cpu_feed(s, piece->arrays, piece->index0, from, piece->n - from, x->threads);
    if (rc != 0)
        return lanes_error_set(err, LANES_EINTERNAL, "reduce kernel failed: %s", lanes_strerror(rc));
    return 0;
}

static int reduce_finish(void *state, const lanes_job_stats_t *st, uint8_t **buf, size_t *len, lanes_error_t *err)
{
    reduce_state_t *s = state;
    lanes_reduce_result_t res;
    if (lanes_reducer_finish(s->r, &res, err) != 0)
        return err->code; /* EEMPTY (numpy's message for an empty min, max, argmin, argmax) or ENOMEM */
    Lanes__V1__JobSummary summary;
    lanes_pipeline_summary(st, &summary);
    Lanes__V1__ReduceResponse resp = LANES__V1__REDUCE_RESPONSE__INIT;
    resp.dtype = (Lanes__V1__DType)res.dtype;
    if (res.dtype == LANES_DTYPE_I64 || res.dtype == LANES_DTYPE_I32)
        resp.int_value = res.i;
    else
        resp.value = res.f;
    if (res.counts) {
        /* Little-endian on the wire; this daemon runs on little-endian hosts (x86-64, aarch64). */
        resp.histogram_counts.data = (uint8_t *)res.counts;
        resp.histogram_counts.len = (size_t)res.bins * sizeof(int64_t);
        resp.histogram_edges.data = (uint8_t *)res.edges;
        resp.histogram_edges.len = ((size_t)res.bins + 1) * sizeof(double);
    }
    resp.summary = &summary;
    return lanes_wire_pack((const ProtobufCMessage *)&resp, buf, len, err);
}

const lanes_job_ops_t rpc_reduce_ops = {
    .name = "reduce",
    .spec_descriptor = &lanes__v1__reduce_spec__descriptor,
    .kind = LANES_JOB_REDUCE,
    .create = reduce_create,
    .on_spec = reduce_on_spec,
    .compute = reduce_compute,
    .finish = reduce_finish,
    .destroy = reduce_destroy,
};
