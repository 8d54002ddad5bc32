/* The chunk pipeline (see pipeline.h).
 *
 * State machine, all under job->mu; pump_unlock() is the one place that starts work:
 *   - compute the oldest received chunk when none is computing and the unsent results are under two
 *     chunks' worth (room_locked), where the router places it (inline on this thread, as a CPU-pool
 *     task, or as a GPU-pool task that hands it to a CUDA device's worker); the placement's load is
 *     released when the compute ends, and where it ran is recorded for the summary's reason;
 *   - send the oldest result when no send is in flight (one send at a time: gRPC's rule, and the
 *     backpressure that keeps memory bounded);
 *   - ask for the next message by the one flow-control rule (want_message_locked): fewer than two
 *     chunks held or computing, or for an asynchronous job fewer than max_units units in flight and
 *     room for results (its units are submitted from job_on_message as they end, none is held here);
 *   - finish when the client half-closed and all is computed (no unit in flight) and queued for
 *     sending, or at once on an error or cancellation once no compute is running (a running compute
 *     still uses the job; a unit in flight does not: its completion only releases its result, and
 *     ops->cancel drops the units the executor has not started);
 *   - a one-message job (once) sends nothing before the end, so it has no room bound: instead it is
 *     refused at its spec or chunk when its known result size cannot fit one reply
 *     (once_check_size_locked), and fails as soon as its queued results pass that bound (queue_out_locked).
 * Lifetime: a reference for the call (dropped in on_done), one per queued pool task and one per unit
 * in flight on an asynchronous job's executor (dropped in lanes_pipeline_unit_done); the job is freed
 * when the last goes. lanes_call_finish() is always called without job->mu held, since it may
 * run on_done on this very thread.
 */
#define _POSIX_C_SOURCE 200809L
#include "clock.h"
#include "pipeline.h"

#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_pool.h"
#include "lanes/v1/lanes.pb-c.h"
#include "log.h"
#include "server.h"
#include "wire.h"

#define IN_MAX 2

typedef struct in_chunk {
    uint8_t *msg; /* owned: the received message the arrays point into */
    size_t msg_len;
    const uint8_t *arrays[LANES_MAP_MAX_INPUTS];
    size_t n;
    uint64_t index0; /* the job's index of its first element */
    struct in_chunk *next;
} in_chunk_t;

typedef struct binding {
    const lanes_job_ops_t *ops;
    const lanes_config_t *cfg;
    int once; /* unary twin: spec and one chunk in the request, results and final in one reply */
} binding_t;

/* The largest one-message reply: stock gRPC clients receive at most 4 MiB by default. */
#define ONCE_MAX_REPLY (4u << 20)

/* A job that received or sent at least this many bytes ends with malloc_trim(0): glibc keeps freed
 * heap memory (result pieces of about chunk_bytes come from its arenas, not from mmap, once its
 * dynamic mmap threshold has grown past them) and an idle daemon would otherwise stay at its largest
 * job's footprint. Below it, the memory a job used is small and reused by the next one. */
#define TRIM_AFTER_BYTES (64u << 20)

struct lanes_job {
    pthread_mutex_t mu;
    int refs;
    lanes_call_t *call;
    const lanes_job_ops_t *ops;
    const lanes_config_t *cfg;
    int once;
    void *state;
    lanes_router_t router;
    lanes_job_layout_t layout;
    size_t elem_size[LANES_MAP_MAX_INPUTS];
    int have_spec;
    in_chunk_t *in_head, *in_tail;
    int in_len;
    int computing;
    size_t units; /* asynchronous job: units in flight on its executor, each holding a reference */
    lanes_out_list_t out;
    size_t out_bytes;
    int sending;
    size_t sending_payload;
    int recv_pending, half_closed, cancelled, failed, finishing;
    lanes_error_t fail; /* the first failure: its code and message end the call */
    lanes_job_stats_t st;
    uint64_t start_ns;
    uint64_t gen_next; /* generated jobs: the next element to hand out */
    int tail_more;     /* the job has a tail and it has not ended */
    size_t out_peak;   /* the most result bytes queued at once */
};

typedef struct pool_task {
    lanes_job_t *job;
    in_chunk_t *chunk; /* NULL: a tail step */
    lanes_placement_t place;
    uint64_t enqueued_ns;
} pool_task_t;

int lanes_out_list_push(lanes_out_list_t *l, uint8_t *buf, size_t len, size_t payload)
{
    lanes_out_msg_t *m = malloc(sizeof *m);
    if (!m) {
        free(buf);
        return -1;
    }
    *m = (lanes_out_msg_t){.buf = buf, .len = len, .payload = payload};
    if (l->tail)
        l->tail->next = m;
    else
        l->head = m;
    l->tail = m;
    return 0;
}

static void out_list_clear(lanes_out_list_t *l)
{
    for (lanes_out_msg_t *m = l->head, *next; m; m = next) {
        next = m->next;
        free(m->buf);
        free(m);
    }
    l->head = l->tail = NULL;
}

static void in_chunk_free(in_chunk_t *c)
{
    if (c) {
        free(c->msg);
        free(c);
    }
}

/* Records the job's first failure (LANES_E* code and a printf-formatted message); later ones are
 * dropped. */
static void fail_locked(lanes_job_t *j, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_locked(lanes_job_t *j, int code, const char *fmt, ...)
{
    if (j->failed)
        return;
    j->failed = 1;
    j->fail.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->fail.msg, sizeof j->fail.msg, fmt, ap);
    va_end(ap);
}

static void job_unref(lanes_job_t *j)
{
    pthread_mutex_lock(&j->mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last)
        return;
    while (j->in_head) {
        in_chunk_t *c = j->in_head;
        j->in_head = c->next;
        in_chunk_free(c);
    }
    out_list_clear(&j->out);
    if (j->state)
        j->ops->destroy(j->state);
    int trim = j->st.bytes_in + j->st.bytes_out + j->out_peak >= TRIM_AFTER_BYTES;
    pthread_mutex_destroy(&j->mu);
    free(j);
    if (trim)
        malloc_trim(0); /* the job's buffers go back to the system, not only to the allocator */
}

/* Queues the messages a callback appended to out (rc 0), or on its failure (rc a LANES_E* code, err
 * its message) fails the job and frees them. Called with the lock held. */
static void queue_out_locked(lanes_job_t *j, int rc, const lanes_error_t *err, lanes_out_list_t *out)
{
    if (rc != 0) {
        fail_locked(j, rc, "%s", err->msg);
        out_list_clear(out);
        return;
    }
    for (lanes_out_msg_t *m = out->head; m; m = m->next)
        j->out_bytes += m->len;
    if (out->head) {
        if (j->out.tail)
            j->out.tail->next = out->head;
        else
            j->out.head = out->head;
        j->out.tail = out->tail;
    }
    if (j->out_bytes > j->out_peak)
        j->out_peak = j->out_bytes;
    /* A one-message job's results wait for the end: never let them grow past what one reply holds. */
    if (j->once && j->out_bytes > ONCE_MAX_REPLY)
        fail_locked(j, LANES_ELIMIT,
                    "the result is larger than a one-message reply allows (%u bytes; %zu bytes were computed when "
                    "the job was stopped): use the streaming %s call",
                    ONCE_MAX_REPLY, j->out_bytes, j->ops->name);
}

/* Room for more results: a compute (or, for an asynchronous job, the reading that submits units) may
 * start while the unsent results are under two chunks' worth; a one-message job sends nothing before
 * the end and is bounded by its reply instead. */
static int room_locked(const lanes_job_t *j)
{
    return j->once || j->out_bytes <= 2 * j->cfg->chunk_bytes;
}

/* The flow-control rule for reading: the next message is asked for while the work held or running is
 * under the job's bound (see pipeline.h). */
static int want_message_locked(const lanes_job_t *j)
{
    if (j->once || j->recv_pending || j->half_closed || j->failed || j->cancelled || j->finishing)
        return 0;
    if (j->ops->submit)
        return j->units < (j->layout.max_units ? j->layout.max_units : 1) && room_locked(j);
    return j->in_len + j->computing < IN_MAX;
}

/* Computes chunk c, or a tail step when c is NULL, as placed by the router (pool: on a CPU-pool task).
 * Releases the placement's load when done. Called without the lock; returns with it held. */
static void run_compute(lanes_job_t *j, in_chunk_t *c, lanes_placement_t *p, int pool, uint64_t queued_ns)
{
    lanes_out_list_t out = {0};
    lanes_error_t err = {0};
    int more = 0;
    const int threads = p->threads;
    lanes_exec_t x = {.threads = threads,
                      .device = p->where == LANES_WHERE_CUDA ? p->device : -1,
                      .forced = j->router.forced == LANES_BACKEND_CUDA};
    uint64_t t0 = lanes_now_ns();
    int rc;
    if (c) {
        const lanes_job_piece_t piece = {
            .arrays = c->arrays, .n = c->n, .index0 = c->index0, .request = &c->msg, .request_len = c->msg_len};
        rc = j->ops->compute(j->state, &piece, &x, &out, &err);
    } else {
        rc = j->ops->tail(j->state, threads, j->cfg->chunk_bytes, &out, &more, &err);
    }
    uint64_t dt = lanes_now_ns() - t0;
    size_t n = c ? c->n : 0;
    in_chunk_free(c);
    lanes_router_release(p);

    pthread_mutex_lock(&j->mu);
    j->computing = 0;
    j->st.compute_ns += dt;
    j->st.queued_ns += queued_ns;
    if (!c) {
        j->tail_more = more && rc == 0;
    } else if (x.device >= 0 && !x.fell_back) {
        j->st.pool_chunks++;
        j->st.pool_elems += n;
        lanes_router_record(&j->router, p, LANES_WHERE_CUDA, n);
    } else if (pool) {
        /* A cuda placement that fell back after a device failure is recorded as such (the router
         * counts it); one the job could not use a device for ran on the cpu as placed there. */
        j->st.pool_chunks++;
        j->st.pool_elems += n;
        lanes_placement_t ran = *p;
        if (!x.fell_back)
            ran.where = LANES_WHERE_CPU;
        lanes_router_record(&j->router, &ran, LANES_WHERE_CPU, n);
    } else {
        j->st.inline_chunks++;
        j->st.inline_elems += n;
        lanes_router_record(&j->router, p, LANES_WHERE_INLINE, n);
    }
    if (threads > j->st.max_threads)
        j->st.max_threads = threads;
    queue_out_locked(j, rc, &err, &out);
}

/* Once mode: refuses, before anything is computed, a job whose result (elements x out_elem_bytes,
 * the elements generated or in the one chunk) cannot fit one reply. */
static void once_check_size_locked(lanes_job_t *j)
{
    size_t es = j->layout.out_elem_bytes;
    if (!j->once || j->failed || !j->have_spec || es == 0)
        return;
    uint64_t n = j->layout.n_arrays == 0 ? j->layout.generated_n : j->st.elements;
    if (n <= ONCE_MAX_REPLY / es)
        return;
    char bytes[48];
    if (n > UINT64_MAX / es)
        snprintf(bytes, sizeof bytes, "over 2^64 bytes");
    else
        snprintf(bytes, sizeof bytes, "%llu bytes", (unsigned long long)(n * es));
    fail_locked(j, LANES_ELIMIT,
                "the result would be %llu elements of %zu bytes (%s), larger than a one-message reply allows (%u "
                "bytes): use the streaming %s call, or fewer elements (at most %llu)",
                (unsigned long long)n, es, bytes, ONCE_MAX_REPLY, j->ops->name,
                (unsigned long long)(ONCE_MAX_REPLY / es));
}

static void pump_unlock(lanes_job_t *j);

/* Once mode: the reply is the result messages followed by the final one. Their fields have the reply
 * type's numbers (results in field 1, whose repeated occurrences protobuf merges, so the pieces end up
 * in one Chunk's arrays; the summary in field 2), so the concatenation is one valid message. */
static int once_reply(lanes_job_t *j, uint8_t **buf, size_t *len, lanes_error_t *err)
{
    size_t total = *len;
    for (lanes_out_msg_t *m = j->out.head; m; m = m->next)
        total += m->len;
    if (total > ONCE_MAX_REPLY)
        return lanes_error_set(err, LANES_ELIMIT,
                               "the result (%zu bytes) is larger than a one-message reply allows (%u bytes): use "
                               "the streaming %s call", total, ONCE_MAX_REPLY, j->ops->name);
    uint8_t *out;
    size_t off = 0;
    if (!j->out.head->next) {
        /* One result piece (the usual case): grow it and append the final message; a large block is
         * remapped by realloc rather than copied. */
        lanes_out_msg_t *m = j->out.head;
        out = realloc(m->buf, total);
        if (!out)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory");
        m->buf = NULL;
        off = m->len;
        j->st.bytes_out += m->payload;
    } else {
        out = malloc(total);
        if (!out)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory");
        for (lanes_out_msg_t *m = j->out.head; m; m = m->next) {
            memcpy(out + off, m->buf, m->len);
            off += m->len;
            j->st.bytes_out += m->payload;
        }
    }
    if (*len)
        memcpy(out + off, *buf, *len);
    free(*buf);
    *buf = out;
    *len = total;
    return 0;
}

static void pool_run(void *arg)
{
    pool_task_t *t = arg;
    lanes_job_t *j = t->job;
    run_compute(j, t->chunk, &t->place, 1, lanes_now_ns() - t->enqueued_ns);
    free(t);
    pump_unlock(j);
    job_unref(j);
}

/* Generated jobs: queues the next piece when nothing else is waiting (one piece ahead at most). */
static void generate_locked(lanes_job_t *j)
{
    if (!j->have_spec || j->layout.n_arrays != 0 || j->in_head || j->failed || j->cancelled ||
        j->gen_next >= j->layout.generated_n)
        return;
    in_chunk_t *c = calloc(1, sizeof *c);
    if (!c) {
        fail_locked(j, LANES_ENOMEM, "out of memory");
        return;
    }
    uint64_t left = j->layout.generated_n - j->gen_next;
    c->n = (size_t)(left < j->layout.generated_piece ? left : j->layout.generated_piece);
    c->index0 = j->gen_next;
    j->gen_next += c->n;
    j->in_head = j->in_tail = c;
    j->in_len = 1;
    j->st.chunks++;
    j->st.elements += c->n;
}

/* Every input element is in: streamed jobs end with the client's half-close, generated ones when the
 * last piece was handed out. */
static int inputs_done_locked(const lanes_job_t *j)
{
    return j->layout.n_arrays > 0 || j->gen_next >= j->layout.generated_n;
}

static void pump_unlock(lanes_job_t *j)
{
    for (;;) {
        generate_locked(j);
        int room = room_locked(j);
        int tail_due = j->tail_more && j->half_closed && !j->in_head && inputs_done_locked(j);
        if (!j->failed && !j->cancelled && !j->computing && (j->in_head || tail_due) && room) {
            in_chunk_t *c = j->in_head; /* NULL: a tail step */
            if (c) {
                j->in_head = c->next;
                if (!j->in_head)
                    j->in_tail = NULL;
                j->in_len--;
            }
            j->computing = 1;
            lanes_placement_t p;
            lanes_error_t perr = {0};
            /* A tail step is placed by the job's size, but it is no piece of the input: the reason
             * keeps describing the pieces. */
            lanes_placement_t last = j->router.last;
            uint64_t last_n = j->router.last_n;
            int prc = lanes_router_place(&j->router, c ? c->n : j->st.elements, &p, &perr);
            if (!c) {
                j->router.last = last;
                j->router.last_n = last_n;
            }
            if (prc != 0) {
                j->computing = 0;
                in_chunk_free(c);
                fail_locked(j, prc, "%s", perr.msg);
                continue;
            }
            /* where == CUDA: a GPU-pool task (cpu_pool.h) hands the piece to device p.device's GPU
             * worker (the compute blocks on it, so neither the RPC thread nor a CPU-pool thread
             * does); if the device fails the compute runs the piece on the CPU with p.threads
             * threads, and run_compute records where it ran. */
            if (p.where != LANES_WHERE_INLINE) {
                pool_task_t *t = malloc(sizeof *t);
                if (t) {
                    *t = (pool_task_t){.job = j, .chunk = c, .place = p, .enqueued_ns = lanes_now_ns()};
                    j->refs++;
                    if (lanes_pool_submit_to(p.where == LANES_WHERE_CUDA ? LANES_POOL_GPU : LANES_POOL_CPU, pool_run,
                                             t) == 0 ||
                        (p.where == LANES_WHERE_CUDA && lanes_pool_submit(pool_run, t) == 0))
                        goto sends;
                    j->refs--;
                    free(t);
                }
                /* the pool is stopping or out of memory: compute here */
            }
            pthread_mutex_unlock(&j->mu);
            run_compute(j, c, &p, 0, 0);
            continue;
        }
    sends:
        if (!j->once && !j->sending && j->out.head && !j->cancelled && !j->failed) {
            lanes_out_msg_t *m = j->out.head;
            j->out.head = m->next;
            if (!j->out.head)
                j->out.tail = NULL;
            j->out_bytes -= m->len;
            j->sending = 1;
            j->sending_payload = m->payload;
            if (lanes_call_send(j->call, m->buf, m->len) != 0) {
                j->sending = 0;
                j->cancelled = 1;
            }
            free(m);
        }
        break;
    }

    if (want_message_locked(j)) {
        j->recv_pending = 1;
        if (lanes_call_request_message(j->call) != 0) {
            j->recv_pending = 0;
            j->cancelled = 1;
        }
    }

    int done_ok = j->have_spec && j->half_closed && !j->in_head && (j->once || !j->out.head) && !j->computing &&
                  !j->units && inputs_done_locked(j) && !j->tail_more;
    int done_err = (j->failed || j->cancelled) && !j->computing;
    if (j->finishing || !(done_ok || done_err)) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    j->finishing = 1;
    lanes_error_t err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (j->cancelled && !j->failed)
        lanes_error_set(&err, LANES_ECANCELED, "the call was cancelled");
    else if (j->failed)
        err = j->fail;
    else {
        if (j->sending)
            j->st.bytes_out += j->sending_payload; /* the status follows this last send */
        j->st.total_ns = lanes_now_ns() - j->start_ns;
        lanes_router_explain(&j->router, &j->st.backend, j->st.reason, sizeof j->st.reason);
        err.code = j->ops->finish(j->state, &j->st, &buf, &len, &err);
        if (err.code == 0 && j->once && j->out.head)
            err.code = once_reply(j, &buf, &len, &err);
        if (err.code != 0) {
            free(buf);
            buf = NULL;
            len = 0;
        }
    }
    while (j->in_head) {
        in_chunk_t *c = j->in_head;
        j->in_head = c->next;
        in_chunk_free(c);
    }
    j->in_tail = NULL;
    out_list_clear(&j->out);
    if (err.code != 0 && j->units && j->ops->cancel)
        j->ops->cancel(j->state); /* the units in flight complete later, only to be released */
    lanes_call_t *call = j->call;
    if (err.code != 0)
        lanes_log(LANES_LOG_INFO, 0, "%s call ended with %s: %s", j->ops->name, lanes_strerror(err.code), err.msg);
    else
        lanes_log(LANES_LOG_DEBUG, 0, "%s call done: %llu elements in %llu chunks", j->ops->name,
                  (unsigned long long)j->st.elements, (unsigned long long)j->st.chunks);
    pthread_mutex_unlock(&j->mu);
    lanes_call_finish(call, err.code, err.msg, buf, len);
}

/* ---- server callbacks ---- */

static void *job_start(lanes_call_t *call, void *arg)
{
    const binding_t *b = arg;
    lanes_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->state = b->ops->create(b->cfg);
    if (!j->state) {
        free(j);
        return NULL;
    }
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 1;
    j->call = call;
    j->ops = b->ops;
    j->cfg = b->cfg;
    j->start_ns = lanes_call_arrival_ns(call);
    j->once = b->once;
    j->recv_pending = !b->once; /* the server reads the first message itself */
    return j;
}

static void on_spec_locked(lanes_job_t *j, const uint8_t *body, size_t len)
{
    lanes_error_t err = {0};
    if (j->have_spec) {
        fail_locked(j, LANES_EINVAL,
                    "the job spec was sent twice: only the first message of a %s call carries it", j->ops->name);
        return;
    }
    if (j->ops->spec_descriptor &&
        lanes_wire_check_strings(body, len, j->ops->spec_descriptor, err.msg, sizeof err.msg) != 0) {
        fail_locked(j, LANES_EINVAL, "%s", err.msg);
        return;
    }
    int rc = j->ops->on_spec(j->state, body, len, &j->layout, &err);
    if (rc == 0) {
        /* The router's bytes per element: the streamed inputs and the output (text: its bytes); a job
         * whose inputs are all generated computes them, at a float64's 8 bytes. */
        size_t bpe = 0;
        if (j->ops->submit)
            bpe = 0; /* an asynchronous job's units are never placed by the router */
        else if (j->layout.bytes)
            bpe = 1;
        else {
            for (int i = 0; i < j->layout.n_arrays; i++)
                bpe += lanes_dtype_size(j->layout.dtypes[i]);
            bpe += j->layout.out_elem_bytes;
            if (j->layout.n_arrays == 0)
                bpe += 8;
        }
        rc = lanes_router_init(&j->router, j->cfg, j->layout.backend, j->ops->kind, bpe, &err);
    }
    if (rc != 0) {
        fail_locked(j, rc, "%s", err.msg);
        return;
    }
    for (int i = 0; i < j->layout.n_arrays; i++)
        j->elem_size[i] = j->layout.bytes ? 1 : lanes_dtype_size(j->layout.dtypes[i]);
    j->tail_more = j->ops->tail != NULL;
    if (j->layout.generated_piece == 0)
        j->layout.generated_piece = 1;
    j->have_spec = 1;
}

static void on_chunk_locked(lanes_job_t *j, uint8_t *data, size_t data_len, const uint8_t *body, size_t len)
{
    const uint8_t *arrays[LANES_MAP_MAX_INPUTS];
    size_t lens[LANES_MAP_MAX_INPUTS];
    unsigned long long k = (unsigned long long)j->st.chunks;
    if (!j->have_spec) {
        fail_locked(j, LANES_EINVAL,
                    "a data chunk arrived before the job spec: the first message of a %s call must carry the spec",
                    j->ops->name);
        free(data);
        return;
    }
    if (j->layout.n_arrays == 0) {
        fail_locked(j, LANES_EINVAL,
                    "this %s job streams no array (every input is generated), but a data chunk arrived",
                    j->ops->name);
        free(data);
        return;
    }
    int n_arrays = lanes_wire_chunk_arrays(body, len, arrays, lens, LANES_MAP_MAX_INPUTS);
    if (n_arrays < 0) {
        fail_locked(j, LANES_EINVAL, "chunk %llu is malformed (not a lanes.v1.Chunk)", k);
        free(data);
        return;
    }
    if (n_arrays != j->layout.n_arrays) {
        fail_locked(j, LANES_EINVAL, "chunk %llu has %d array(s), but the job has %d input(s)", k,
                    n_arrays, j->layout.n_arrays);
        free(data);
        return;
    }
    size_t n = 0, total = 0;
    for (int i = 0; i < n_arrays; i++) {
        size_t es = j->elem_size[i];
        if (lens[i] % es != 0) {
            fail_locked(j, LANES_EINVAL,
                        "array %d of chunk %llu has %zu bytes, which is not a multiple of %zu (the size of %s)", i, k,
                        lens[i], es, j->layout.bytes ? "a byte" : lanes_dtype_name(j->layout.dtypes[i]));
            free(data);
            return;
        }
        size_t ni = lens[i] / es;
        if (i == 0)
            n = ni;
        else if (ni != n) {
            fail_locked(j, LANES_EINVAL,
                        "chunk %llu: array %d has %zu elements but array 0 has %zu; the arrays of a chunk must "
                        "have equal lengths",
                        k, i, ni, n);
            free(data);
            return;
        }
        total += lens[i];
    }
    if (j->layout.bytes && j->layout.max_bytes &&
        (total > j->layout.max_bytes || j->st.bytes_in > j->layout.max_bytes - total)) {
        fail_locked(j, LANES_EINVAL,
                    "the %s text is larger than the maximum of %llu bytes (max_doc_bytes): chunk %llu brings it "
                    "to %llu bytes",
                    j->ops->name, (unsigned long long)j->layout.max_bytes, k,
                    (unsigned long long)(j->st.bytes_in + total));
        free(data);
        return;
    }
    in_chunk_t *c = calloc(1, sizeof *c);
    if (!c) {
        fail_locked(j, LANES_ENOMEM, "out of memory");
        free(data);
        return;
    }
    c->msg = data;
    c->msg_len = data_len;
    c->n = n;
    c->index0 = j->st.elements;
    for (int i = 0; i < n_arrays; i++)
        c->arrays[i] = arrays[i];
    if (j->in_tail)
        j->in_tail->next = c;
    else
        j->in_head = c;
    j->in_tail = c;
    j->in_len++;
    j->st.chunks++;
    j->st.elements += n;
    j->st.bytes_in += total;
}

/* Once mode: the request holds the spec (field 1) and at most one chunk (field 2); then it is as if
 * the client half-closed. */
static void once_on_message_locked(lanes_job_t *j, uint8_t *data, size_t len)
{
    const uint8_t *p = data, *end = data + len, *body, *chunk = NULL, *spec = NULL;
    size_t blen, chunk_len = 0, spec_len = 0;
    uint32_t field;
    int rc;
    j->half_closed = 1;
    while ((rc = lanes_wire_next_field(&p, end, &field, &body, &blen)) == 0) {
        if (field == 1 && !spec) {
            spec = body;
            spec_len = blen;
        } else if (field == 2 && !chunk) {
            chunk = body;
            chunk_len = blen;
        } else {
            fail_locked(j, LANES_EINVAL,
                        "a one-message %s request holds the spec (field 1) and at most one chunk (field 2), "
                        "once each; field %u is extra", j->ops->name, field);
            free(data);
            return;
        }
    }
    if (rc < 0 || !spec) {
        fail_locked(j, LANES_EINVAL, rc < 0 ? "malformed one-message %s request"
                                                             : "the one-message %s request has no spec",
                    j->ops->name);
        free(data);
        return;
    }
    on_spec_locked(j, spec, spec_len);
    if (j->failed || !chunk)
        free(data);
    else
        on_chunk_locked(j, data, len, chunk, chunk_len);
    once_check_size_locked(j);
}

/* Asynchronous jobs: the job decodes the message; a spec goes the common way, an ended unit to the
 * executor. */
static void async_on_message_locked(lanes_job_t *j, const uint8_t *data, size_t len)
{
    lanes_job_msg_t m = {0};
    lanes_out_list_t out = {0};
    lanes_error_t err = {0};
    int rc = j->ops->on_message(j->state, j->have_spec, data, len, &m, &out, &err);
    queue_out_locked(j, rc, &err, &out);
    if (rc != 0)
        return;
    if (m.spec)
        on_spec_locked(j, m.spec, m.spec_len);
    if (!m.unit_ready || j->failed)
        return;
    out = (lanes_out_list_t){0};
    rc = j->ops->submit(j->state, j, &out, &err);
    if (rc == 1) {
        j->units++;
        j->refs++; /* dropped by lanes_pipeline_unit_done, which may come after the call ended */
        rc = 0;
    }
    queue_out_locked(j, rc, &err, &out);
}

void lanes_pipeline_unit_done(lanes_job_t *j, void *result)
{
    lanes_out_list_t out = {0};
    lanes_error_t err = {0};
    pthread_mutex_lock(&j->mu);
    j->units--;
    int live = !j->finishing && !j->failed && !j->cancelled;
    int rc = j->ops->unit_done(j->state, result, live ? &out : NULL, &err);
    if (live)
        queue_out_locked(j, rc, &err, &out);
    pump_unlock(j);
    job_unref(j);
}

static void job_on_message(void *ctx, uint8_t *data, size_t len)
{
    lanes_job_t *j = ctx;
    pthread_mutex_lock(&j->mu);
    if (j->once) {
        once_on_message_locked(j, data, len);
        pump_unlock(j);
        return;
    }
    j->recv_pending = 0;
    uint32_t field = 0;
    const uint8_t *body = NULL;
    size_t blen = 0;
    if (j->finishing || j->failed || j->cancelled) {
        free(data);
    } else if (j->ops->submit) {
        async_on_message_locked(j, data, len);
        free(data);
    } else if (lanes_wire_oneof(data, len, &field, &body, &blen) != 0) {
        fail_locked(j, LANES_EINVAL,
                    "malformed %s request message: it must hold exactly one of spec (field 1) or chunk (field 2)",
                    j->ops->name);
        free(data);
    } else if (field == 1) {
        on_spec_locked(j, body, blen);
        free(data);
    } else if (field == 2) {
        on_chunk_locked(j, data, len, body, blen);
    } else {
        fail_locked(j, LANES_EINVAL, "unknown field %u in a %s request message", field,
                    j->ops->name);
        free(data);
    }
    pump_unlock(j);
}

static void job_on_half_close(void *ctx)
{
    lanes_job_t *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->recv_pending = 0;
    j->half_closed = 1;
    if (j->ops->on_end) {
        lanes_error_t err = {0};
        int rc = j->ops->on_end(j->state, j->have_spec, &err);
        if (rc != 0)
            fail_locked(j, rc, "%s", err.msg);
    } else if (!j->have_spec) {
        fail_locked(j, LANES_EINVAL, "the %s request stream ended before the job spec",
                    j->ops->name);
    }
    pump_unlock(j);
}

static void job_on_sent(void *ctx, int ok)
{
    lanes_job_t *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->sending = 0;
    j->st.bytes_out += j->sending_payload;
    if (!ok)
        j->cancelled = 1;
    pump_unlock(j);
}

static void job_on_cancel(void *ctx)
{
    lanes_job_t *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->cancelled = 1;
    j->recv_pending = 0;
    pump_unlock(j);
}

static void job_on_done(void *ctx) { job_unref(ctx); }

void lanes_pipeline_method(struct lanes_method *m, const char *path, const lanes_job_ops_t *ops,
                           const lanes_config_t *cfg, int once)
{
    static binding_t bindings[16];
    static int n_bindings;
    if (n_bindings == 16)
        abort(); /* a programming error: more endpoints than bindings */
    binding_t *b = &bindings[n_bindings++];
    b->ops = ops;
    b->cfg = cfg;
    b->once = once;
    *m = (lanes_method_t){
        .path = path,
        .unary_request = once,
        .arg = b,
        .start = job_start,
        .on_message = job_on_message,
        .on_half_close = job_on_half_close,
        .on_sent = job_on_sent,
        .on_cancel = job_on_cancel,
        .on_done = job_on_done,
    };
}

void lanes_pipeline_summary(const lanes_job_stats_t *st, Lanes__V1__JobSummary *s)
{
    lanes__v1__job_summary__init(s);
    s->backend = (char *)(st->backend ? st->backend : "");
    s->reason = (char *)st->reason;
    s->elements = st->elements;
    s->chunks = st->chunks;
    s->bytes_in = st->bytes_in;
    s->bytes_out = st->bytes_out;
    s->queued_seconds = (double)st->queued_ns * 1e-9;
    s->compute_seconds = (double)st->compute_ns * 1e-9;
    double stream = (double)st->total_ns - (double)st->queued_ns - (double)st->compute_ns;
    s->stream_seconds = stream > 0 ? stream * 1e-9 : 0;
    s->threads = (uint32_t)(st->max_threads > 0 ? st->max_threads : 1);
}
