/* The Acf endpoint: the autocorrelation of one streamed series, as statsmodels.tsa.stattools.acf.
 *
 * Design: a job of the chunk pipeline. The spec (lanes.v1.AcfSpec) becomes a streaming kernels ACF
 * (lanes/acf.h), which holds O(nlags + block) values whatever the series' length; each chunk is fed
 * to it in arrival order, inline or on the CPU pool as the router places it (the direct method
 * spreads its lags over the pool's threads; results do not depend on the placement). The results
 * exist only at the end, so they are the job's tail: the first tail step finishes the ACF, and each
 * step sends one AcfValues piece of about chunk_bytes (nlags + 1 values can be large), under the
 * pipeline's flow control. AcfDone (n, nlags, method and the job summary) ends the call. The unary
 * twin AcfOnce uses the same messages: AcfResult's repeated field 1 collects the pieces.
 *
 * On a GPU: when the router places the job's first chunk on a CUDA device, the ACF gets a block
 * engine (lanes_acf_set_block_engine) that sends each block of values to that device's GPU worker
 * (gpu_pool.h) for its lag sums, so the whole job's lag products run there while the statistics stay
 * here; blocks are as large as the worker's arena allows (up to ACF_GPU_BLOCK values). If the device
 * fails mid-job, the ACF finishes on the CPU (the result stays right) unless cuda was forced, which
 * ends the job with UNAVAILABLE. A job whose first chunk runs on the CPU stays there.
 */
#include <stdlib.h>
#include <string.h>

#include "gpu_pool.h"
#include "lanes/acf.h"
#include "lanes/registry.h"
#include "lanes/v1/lanes.pb-c.h"
#include "rpc.h"
#include "wire.h"

/* The largest nlags accepted: the kernel holds about ten float64 arrays of nlags values. */
#define ACF_MAX_NLAGS (1ll << 26)
/* The GPU engine's block (values): big enough that a device's transfers and FFTs dwarf the command's
 * fixed cost, small enough to keep the daemon's buffer modest. */
#define ACF_GPU_BLOCK ((size_t)1 << 22)

typedef struct acf_state {
    lanes_acf_t *a;
    int engine;          /* 1: a GPU block engine is set; -1: the job stays on the CPU */
    int device;          /* the engine's device */
    int forced;          /* cuda was forced */
    size_t block;        /* the engine's block */
    lanes_dtype_t dtype;
    lanes_acf_result_t res;
    int finished;
    size_t next; /* the next result index to send */
} acf_state_t;

static void *acf_create(const lanes_config_t *cfg)
{
    (void)cfg;
    return calloc(1, sizeof(acf_state_t));
}

static void acf_destroy(void *state)
{
    acf_state_t *s = state;
    lanes_acf_free(s->a);
    free(s);
}

static int acf_on_spec(void *state, const uint8_t *spec, size_t len, lanes_job_layout_t *layout, lanes_error_t *err)
{
    acf_state_t *s = state;
    Lanes__V1__AcfSpec *m = lanes__v1__acf_spec__unpack(NULL, len, spec);
    if (!m)
        return lanes_error_set(err, LANES_EINVAL, "malformed AcfSpec");
    int rc = LANES_EINVAL;
    lanes_acf_spec_t as = {0};
    s->dtype = (lanes_dtype_t)m->dtype;
    if (lanes_dtype_size(s->dtype) == 0) {
        lanes_error_set(err, LANES_EINVAL, "AcfSpec.dtype is %d, not a dtype (float64, float32, int64, int32)",
                        (int)m->dtype);
        goto out;
    }
    if (m->lags_case == LANES__V1__ACF_SPEC__LAGS_NLAGS) {
        if (m->nlags < 0 || m->nlags > ACF_MAX_NLAGS) {
            lanes_error_set(err, LANES_EINVAL,
                            "nlags is %lld; it must be between 0 and %lld (or unset for statsmodels' default)",
                            (long long)m->nlags, ACF_MAX_NLAGS);
            goto out;
        }
        as.nlags = m->nlags;
    } else {
        if (m->n == 0) {
            lanes_error_set(err, LANES_EINVAL,
                            "nlags is unset and the series length n is unknown: statsmodels' default nlags "
                            "min(int(10*log10(n)), n-1) needs n in the AcfSpec (or give nlags)");
            goto out;
        }
        as.nlags = -1;
    }
    as.n_total = m->n;
    as.adjusted = m->adjusted;
    as.alpha = m->alpha;
    as.qstat = m->qstat;
    switch (m->method) {
    case LANES__V1__ACF_SPEC__METHOD__METHOD_AUTO: as.method = LANES_ACF_AUTO; break;
    case LANES__V1__ACF_SPEC__METHOD__DIRECT: as.method = LANES_ACF_DIRECT; break;
    case LANES__V1__ACF_SPEC__METHOD__FFT: as.method = LANES_ACF_FFT; break;
    default:
        lanes_error_set(err, LANES_EINVAL, "AcfSpec.method is %d, not a method (0 auto, 1 direct, 2 fft)",
                        (int)m->method);
        goto out;
    }
    as.threads = 1;
    s->forced = (int)m->backend == LANES_BACKEND_CUDA;
    s->a = lanes_acf_new(&as, err);
    if (!s->a) {
        rc = err->code; /* EINVAL (a bad alpha, nlags beyond n) or ENOMEM */
        goto out;
    }
    layout->n_arrays = 1;
    layout->dtypes[0] = s->dtype;
    layout->backend = (int)m->backend;
    layout->out_elem_bytes = 0; /* for the router: nlags + 1 results, not per element */
    rc = 0;
out:
    lanes__v1__acf_spec__free_unpacked(m, NULL);
    return rc;
}

/* The block engine: one block's lag sums on the job's device. */
static int gpu_block(void *ctx, const double *buf, size_t nlags, size_t used, double *r, lanes_error_t *err)
{
    acf_state_t *s = ctx;
    return lanes_gpu_acf_lagsums(s->device, buf, nlags, used, s->block, r, err);
}

/* After a feed or finish: a device failure moved the job to the CPU; under a forced cuda that ends it. */
static int engine_check(acf_state_t *s, lanes_exec_t *x, lanes_error_t *err)
{
    char why[400];
    if (s->engine != 1 || !lanes_acf_engine_failed(s->a, why, sizeof why))
        return 0;
    if (s->forced)
        return lanes_error_set(err, LANES_EDEVICE, "backend 'cuda' was forced and the device failed: %s", why);
    if (x) {
        x->fell_back = 1;
    }
    return 0;
}

static int acf_compute(void *state, const lanes_job_piece_t *piece, lanes_exec_t *x, lanes_out_list_t *out,
                       lanes_error_t *err)
{
    (void)out;
    acf_state_t *s = state;
    if (s->engine == 0) { /* the first chunk decides */
        s->engine = -1;
        size_t block = lanes_gpu_acf_max_block(lanes_acf_nlags(s->a));
        if (block > ACF_GPU_BLOCK)
            block = ACF_GPU_BLOCK;
        if (x->device >= 0 && block > 0 && lanes_acf_set_block_engine(s->a, block, gpu_block, s) == 0) {
            s->engine = 1;
            s->device = x->device;
            s->block = block;
        } else if (x->device >= 0 && s->forced) {
            return lanes_error_set(err, LANES_EPRECOND,
                                   "backend 'cuda' was forced but an ACF with nlags %zu does not fit the GPU worker's "
                                   "arena (gpu_arena_mb)", lanes_acf_nlags(s->a));
        }
    }
    x->device = s->engine == 1 ? s->device : -1; /* where the lag products of this chunk go */
    lanes_acf_set_threads(s->a, x->threads);
    int rc = lanes_acf_feed(s->a, piece->arrays[0], piece->n, s->dtype);
    if (rc != 0)
        return lanes_error_set(err, LANES_EINTERNAL, "acf kernel failed: %s", lanes_strerror(rc));
    return engine_check(s, x, err);
}

static int acf_tail(void *state, int threads, size_t chunk_bytes, lanes_out_list_t *out, int *more, lanes_error_t *err)
{
    acf_state_t *s = state;
    if (!s->finished) {
        lanes_acf_set_threads(s->a, threads);
        if (lanes_acf_finish(s->a, &s->res, err) != 0)
            return err->code; /* EINVAL (too few values for nlags), EEMPTY or ENOMEM */
        int st = engine_check(s, NULL, err);
        if (st != 0)
            return st;
        s->finished = 1;
    }
    const size_t total = s->res.nlags + 1;
    const size_t per = sizeof(double) * (1 + (s->res.confint ? 2 : 0) + (s->res.qstat ? 2 : 0));
    size_t m = chunk_bytes / per;
    if (m == 0)
        m = 1;
    if (m > total - s->next)
        m = total - s->next;
    const size_t off = s->next;
    /* qstat and pvalues have nlags values: the ones in [off, off + m) that exist. */
    const size_t qn = off >= s->res.nlags ? 0 : (off + m > s->res.nlags ? s->res.nlags - off : m);
    Lanes__V1__AcfValues v = LANES__V1__ACF_VALUES__INIT;
    v.offset = off;
    v.acf.data = (uint8_t *)(s->res.acf + off);
    v.acf.len = m * sizeof(double);
    if (s->res.confint) {
        v.confint.data = (uint8_t *)(s->res.confint + 2 * off);
        v.confint.len = 2 * m * sizeof(double);
    }
    if (s->res.qstat && qn) {
        v.qstat.data = (uint8_t *)(s->res.qstat + off);
        v.qstat.len = qn * sizeof(double);
        v.pvalues.data = (uint8_t *)(s->res.pvalues + off);
        v.pvalues.len = qn * sizeof(double);
    }
    Lanes__V1__AcfResponse r = LANES__V1__ACF_RESPONSE__INIT;
    r.msg_case = LANES__V1__ACF_RESPONSE__MSG_VALUES;
    r.values = &v;
    uint8_t *buf;
    size_t len;
    int rc = lanes_wire_pack((const ProtobufCMessage *)&r, &buf, &len, err);
    if (rc != 0)
        return rc;
    if (lanes_out_list_push(out, buf, len, v.acf.len + v.confint.len + v.qstat.len + v.pvalues.len) != 0)
        return lanes_error_set(err, LANES_ENOMEM, "out of memory");
    s->next += m;
    *more = s->next < total;
    return 0;
}

static int acf_finish(void *state, const lanes_job_stats_t *st, uint8_t **buf, size_t *len, lanes_error_t *err)
{
    acf_state_t *s = state;
    Lanes__V1__JobSummary summary;
    lanes_pipeline_summary(st, &summary);
    Lanes__V1__AcfDone done = LANES__V1__ACF_DONE__INIT;
    done.n = s->res.n;
    done.nlags = s->res.nlags;
    done.method = (char *)(s->res.fft ? "fft" : "direct");
    done.summary = &summary;
    Lanes__V1__AcfResponse r = LANES__V1__ACF_RESPONSE__INIT;
    r.msg_case = LANES__V1__ACF_RESPONSE__MSG_DONE;
    r.done = &done;
    return lanes_wire_pack((const ProtobufCMessage *)&r, buf, len, err);
}

const lanes_job_ops_t rpc_acf_ops = {
    .name = "acf",
    .spec_descriptor = &lanes__v1__acf_spec__descriptor,
    .kind = LANES_JOB_ACF,
    .create = acf_create,
    .on_spec = acf_on_spec,
    .compute = acf_compute,
    .tail = acf_tail,
    .finish = acf_finish,
    .destroy = acf_destroy,
};
