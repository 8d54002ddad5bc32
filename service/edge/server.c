/* server.c: the only file of the daemon that talks to the gRPC C core (see server.h for the API).
 *
 * Design: one completion queue served by cfg->cq_threads threads. Every registered method keeps a few
 * grpc_server_request_registered_call()s outstanding, and one generic grpc_server_request_call() is
 * always outstanding to catch unknown methods, which get UNIMPLEMENTED at once (without it they would
 * hang until the client's deadline). Each completion carries a tag {kind, object}.
 *
 * A call (struct lanes_call) has one mutex and a few flags; each kind of operation (read, send,
 * status, close) has its own embedded tag, since at most one of each is in flight. A call ends when
 * the handler has finished it, its status batch and RECV_CLOSE_ON_SERVER have completed, no batch is
 * pending and no callback is running; then on_done runs and the call is freed.
 *
 * Errors: handlers end calls with a LANES_E* code (the daemon's currency); lanes_call_finish() turns it
 * into the gRPC status the client gets with status.c's table, and so do the edge's own refusals (an
 * unknown method, too many calls, shutdown) and the calls it ends itself (idle, grace period over).
 *
 * Connections come from listener.c, which accepts them itself (gRPC's own listener stops for good
 * after one EMFILE) and hands each to grpc_server_add_channel_from_fd.
 *
 * Limits: job calls and control calls (Health, Info) are counted apart, each against max_calls, so
 * streams held open by one client cannot lock health checks out. A housekeeping thread wakes once a
 * second and ends streaming calls that have waited idle_timeout_seconds for the client's next
 * message, or for the client to take a reply (grpc_call_cancel_with_status, DEADLINE_EXCEEDED, with
 * a message that says which).
 *
 * Shutdown (lanes_server_stop): the listener closes; job calls that still arrive on open
 * connections are refused with UNAVAILABLE and a message; in-flight job calls get the grace period;
 * then every call left is cancelled with UNAVAILABLE and a message naming the grace period; we wait
 * until every call has ended, so no thread can start a batch on a call after the completion queue
 * is shut down (gRPC aborts if one does); then grpc_server_shutdown_and_notify, and only then the
 * queue is shut down, drained by its threads, and destroyed. Every call that ends is logged at the
 * debug level with its status, message, peer and duration.
 */
#define _POSIX_C_SOURCE 200809L
#include "clock.h"
#include "server.h"

#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "listener.h"
#include "log.h"
#include "status.h"

#define REQUESTS_PER_METHOD 4
#define MAX_METHODS 16
#define MAX_CQ_THREADS 64

typedef enum tag_kind {
    TAG_REQUEST,  /* a requested call arrived (registered or generic) */
    TAG_RECV,
    TAG_SEND,
    TAG_STATUS,
    TAG_CLOSE,
    TAG_SHUTDOWN, /* grpc_server_shutdown_and_notify completed */
} tag_kind_t;

typedef struct tag {
    tag_kind_t kind;
    void *obj;
} tag_t;

/* One outstanding request for a new call. method == NULL: the generic request (unknown methods). */
typedef struct request {
    tag_t tag;
    const lanes_method_t *method;
    void *handle;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_call_details details;
} request_t;

struct lanes_call {
    pthread_mutex_t mu;
    grpc_call *call;
    const lanes_method_t *m; /* NULL: the server finishes it itself (unknown method, rejected) */
    void *ctx;
    uint64_t arrival_ns;
    tag_t t_recv, t_send, t_status, t_close;
    grpc_byte_buffer *recv_bb, *send_bb, *status_bb;
    grpc_slice status_details;
    int cancelled_flag; /* written by gRPC at RECV_CLOSE_ON_SERVER */
    int pending_ops;    /* batches in flight */
    int in_callbacks;   /* handler callbacks running */
    unsigned recv_pending : 1, send_pending : 1, md_sent : 1, half_closed : 1, cancelled : 1,
        cancel_delivered : 1, finished : 1, status_started : 1, status_done : 1, close_done : 1, done : 1,
        has_status_slice : 1;
    /* A finish requested while a send was in flight. */
    int deferred;
    unsigned control : 1;       /* counted in S.active_control, else in S.active_jobs */
    unsigned ended_by_server : 1; /* cancelled by the housekeeper or at shutdown (its message is in fin_msg) */
    uint64_t recv_since_ns;     /* when the pending read began (0: none) */
    uint64_t send_since_ns;     /* when the pending send began (0: none) */
    char peer[64];              /* "127.0.0.1:5555", for logs */
    const char *path; /* method path, for diagnostics */
    struct lanes_call *prev, *next; /* S.calls, under S.mu */
    lanes_status_t fin_code;
    char *fin_msg;
    void *fin_buf;
    size_t fin_len;
};

static struct {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t threads[MAX_CQ_THREADS];
    int n_threads;
    int max_calls;
    request_t *requests;
    size_t n_requests;
    const lanes_method_t *methods;
    size_t n_methods;
    pthread_mutex_t mu; /* guards shutting_down and the re-arming of requests */
    pthread_cond_t cv;  /* signalled when active reaches 0 and when shutdown completes */
    int shutting_down;
    int shutdown_done;
    int draining;       /* stop has begun: job calls are refused (under mu) */
    atomic_int active;  /* every call, for shutdown */
    atomic_int active_jobs, active_control;
    double idle_timeout_s;
    grpc_server_credentials *creds;
    pthread_t housekeeper;
    int hk_started, hk_stop; /* under mu */
    struct lanes_call *calls; /* every live call, for diagnostics at shutdown */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

const char *lanes_server_grpc_version(void) { return grpc_version_string(); }

void lanes_server_stats(lanes_server_stats_t *st)
{
    st->active_jobs = atomic_load(&S.active_jobs);
    st->active_control = atomic_load(&S.active_control);
    lanes_listener_connections(&st->open_connections, &st->max_connections, &st->refused_connections);
}

uint64_t lanes_call_arrival_ns(const lanes_call_t *c) { return c->arrival_ns; }

/* ---- requests for new calls ---- */

static void request_arm(request_t *r)
{
    grpc_call_error rc;
    r->call = NULL;
    r->payload = NULL;
    grpc_metadata_array_init(&r->md);
    if (r->method) {
        rc = grpc_server_request_registered_call(S.server, r->handle, &r->call, &r->deadline, &r->md,
                                                 r->method->unary_request ? &r->payload : NULL, S.cq, S.cq,
                                                 &r->tag);
    } else {
        grpc_call_details_init(&r->details);
        rc = grpc_server_request_call(S.server, &r->call, &r->details, &r->md, S.cq, S.cq, &r->tag);
    }
    if (rc != GRPC_CALL_OK)
        lanes_log(LANES_LOG_ERR, 0, "grpc_server_request_call() failed: %d", (int)rc);
}

/* ---- calls ---- */

static grpc_byte_buffer *make_buffer(void *buf, size_t len)
{
    grpc_slice s = len ? grpc_slice_new(buf, len, free) : grpc_empty_slice();
    if (!len)
        free(buf);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* Copies a received message into one malloc'ed block (one copy, whatever the slices). NULL if empty
 * or out of memory (*ok says which). */
static uint8_t *take_message(grpc_byte_buffer *bb, size_t *len, int *ok)
{
    *len = grpc_byte_buffer_length(bb);
    *ok = 1;
    if (*len == 0)
        return NULL;
    uint8_t *out = malloc(*len);
    if (!out) {
        *ok = 0;
        return NULL;
    }
    grpc_byte_buffer_reader reader;
    size_t off = 0;
    if (grpc_byte_buffer_reader_init(&reader, bb)) {
        grpc_slice s;
        while (grpc_byte_buffer_reader_next(&reader, &s)) {
            size_t l = GRPC_SLICE_LENGTH(s);
            if (off + l <= *len)
                memcpy(out + off, GRPC_SLICE_START_PTR(s), l);
            off += l;
            grpc_slice_unref(s);
        }
        grpc_byte_buffer_reader_destroy(&reader);
    }
    if (off != *len) {
        free(out);
        *ok = 0;
        return NULL;
    }
    return out;
}

/* The debug line every ended call leaves: what the client was told, or that it went away. */
static void call_log_end(const lanes_call_t *c)
{
    if ((int)LANES_LOG_DEBUG > lanes_log_current_level)
        return;
    double ms = (double)(lanes_now_ns() - c->arrival_ns) / 1e6;
    const char *peer = c->peer[0] ? c->peer : "unknown peer";
    if (c->ended_by_server)
        lanes_log(LANES_LOG_DEBUG, 0, "call %s from %s ended by lanesd after %.3f ms: %s", c->path, peer, ms,
                  c->fin_msg ? c->fin_msg : "");
    else if (c->cancelled_flag || (c->cancelled && !c->status_started))
        lanes_log(LANES_LOG_DEBUG, 0, "call %s from %s ended after %.3f ms: the client cancelled it or went away%s",
                  c->path, peer, ms, c->m ? "" : " before it was started");
    else
        lanes_log(LANES_LOG_DEBUG, 0, "call %s from %s ended after %.3f ms: %s%s%s", c->path, peer, ms,
                  lanes_status_name(c->fin_code), c->fin_msg && c->fin_msg[0] ? ": " : "", c->fin_msg ? c->fin_msg : "");
}

static void call_free(lanes_call_t *c)
{
    /* Out of S.calls first: the housekeeper and the shutdown path lock calls found there. */
    pthread_mutex_lock(&S.mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        S.calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&S.mu);
    call_log_end(c);
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    if (c->status_bb)
        grpc_byte_buffer_destroy(c->status_bb);
    if (c->has_status_slice)
        grpc_slice_unref(c->status_details);
    free(c->fin_msg);
    free(c->fin_buf);
    grpc_call_unref(c->call);
    pthread_mutex_destroy(&c->mu);
    atomic_fetch_sub(c->control ? &S.active_control : &S.active_jobs, 1);
    free(c);
    if (atomic_fetch_sub(&S.active, 1) == 1) {
        pthread_mutex_lock(&S.mu);
        pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
    }
}

/* With c->mu held: is the call over? Marks it done (the caller then runs on_done and frees it). */
static int call_check_done_locked(lanes_call_t *c)
{
    if (c->done || !c->finished || !c->status_done || !c->close_done || c->pending_ops || c->in_callbacks)
        return 0;
    c->done = 1;
    return 1;
}

static void call_release(lanes_call_t *c)
{
    if (c->m && c->m->on_done)
        c->m->on_done(c->ctx);
    call_free(c);
}

/* With c->mu held: starts the status batch (with the initial metadata and a last message as needed). */
static void call_start_status_locked(lanes_call_t *c, lanes_status_t code, const char *msg, void *buf, size_t len)
{
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].data.send_initial_metadata.count = 0;
        n++;
        c->md_sent = 1;
    }
    if (buf) {
        c->status_bb = make_buffer(buf, len);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->status_bb;
        n++;
    }
    c->status_details = grpc_slice_from_copied_string(msg ? msg : "");
    c->has_status_slice = 1;
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.trailing_metadata_count = 0;
    ops[n].data.send_status_from_server.status = (grpc_status_code)code;
    ops[n].data.send_status_from_server.status_details = &c->status_details;
    n++;
    c->status_started = 1;
    c->pending_ops++;
    grpc_call_error rc = grpc_call_start_batch(c->call, ops, n, &c->t_status, NULL);
    if (rc != GRPC_CALL_OK) {
        lanes_log(LANES_LOG_ERR, 0, "grpc_call_start_batch(status) failed: %d", (int)rc);
        c->pending_ops--;
        c->status_done = 1;
    }
}

int lanes_call_request_message(lanes_call_t *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->finished || c->cancelled || c->half_closed || c->recv_pending) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_bb;
    c->recv_pending = 1;
    c->recv_since_ns = lanes_now_ns();
    c->pending_ops++;
    grpc_call_error rc = grpc_call_start_batch(c->call, &op, 1, &c->t_recv, NULL);
    if (rc != GRPC_CALL_OK) {
        c->recv_pending = 0;
        c->pending_ops--;
        pthread_mutex_unlock(&c->mu);
        lanes_log(LANES_LOG_ERR, 0, "grpc_call_start_batch(recv) failed: %d", (int)rc);
        return -1;
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int lanes_call_send(lanes_call_t *c, void *buf, size_t len)
{
    pthread_mutex_lock(&c->mu);
    if (c->finished || c->cancelled || c->send_pending) {
        pthread_mutex_unlock(&c->mu);
        free(buf);
        return -1;
    }
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
        c->md_sent = 1;
    }
    c->send_bb = make_buffer(buf, len);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->send_bb;
    n++;
    c->send_pending = 1;
    c->send_since_ns = lanes_now_ns();
    c->pending_ops++;
    grpc_call_error rc = grpc_call_start_batch(c->call, ops, n, &c->t_send, NULL);
    if (rc != GRPC_CALL_OK) {
        c->send_pending = 0;
        c->pending_ops--;
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
        pthread_mutex_unlock(&c->mu);
        lanes_log(LANES_LOG_ERR, 0, "grpc_call_start_batch(send) failed: %d", (int)rc);
        return -1;
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void lanes_call_finish(lanes_call_t *c, int code, const char *message, void *buf, size_t len)
{
    pthread_mutex_lock(&c->mu);
    if (c->finished) {
        pthread_mutex_unlock(&c->mu);
        free(buf);
        lanes_log(LANES_LOG_ERR, 0, "internal: a call was finished twice");
        return;
    }
    c->finished = 1;
    if (c->ended_by_server) {
        /* lanesd ended the call (idle, shutdown): its client gets that status, not the handler's. */
        free(buf);
        buf = NULL;
        len = 0;
    } else {
        c->fin_code = lanes_status_from_error(code);
        free(c->fin_msg);
        c->fin_msg = strdup(message ? message : "");
    }
    if (c->send_pending) {
        c->deferred = 1;
        c->fin_buf = buf;
        c->fin_len = len;
    } else {
        call_start_status_locked(c, c->fin_code, c->fin_msg, buf, len);
    }
    int done = call_check_done_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (done)
        call_release(c);
}

/* Delivers one callback outside the lock; afterwards checks whether the call is over. */
#define DELIVER(c, expr)                         \
    do {                                         \
        (expr);                                  \
        pthread_mutex_lock(&(c)->mu);            \
        (c)->in_callbacks--;                     \
        int done_ = call_check_done_locked((c)); \
        pthread_mutex_unlock(&(c)->mu);          \
        if (done_)                               \
            call_release((c));                   \
    } while (0)

static void call_on_cancel_locked(lanes_call_t *c, int *deliver)
{
    c->cancelled = 1;
    *deliver = 0;
    if (!c->cancel_delivered && !c->finished && c->m) {
        c->cancel_delivered = 1;
        c->in_callbacks++;
        *deliver = 1;
    }
}

static void call_on_recv(lanes_call_t *c, int ok)
{
    pthread_mutex_lock(&c->mu);
    c->recv_pending = 0;
    c->recv_since_ns = 0;
    c->pending_ops--;
    grpc_byte_buffer *bb = c->recv_bb;
    c->recv_bb = NULL;
    int deliver_cancel = 0, deliver_msg = 0, deliver_close = 0;
    if (!ok) {
        call_on_cancel_locked(c, &deliver_cancel);
    } else if (!c->finished && !c->cancelled) {
        if (bb)
            deliver_msg = 1;
        else
            c->half_closed = deliver_close = 1;
        c->in_callbacks++;
    }
    int done = call_check_done_locked(c);
    pthread_mutex_unlock(&c->mu);

    if (deliver_msg) {
        size_t len;
        int ok_copy;
        uint8_t *data = take_message(bb, &len, &ok_copy);
        if (ok_copy)
            DELIVER(c, c->m->on_message(c->ctx, data, len));
        else
            DELIVER(c, c->m->on_cancel(c->ctx)); /* out of memory: give the call up */
    } else if (deliver_close) {
        DELIVER(c, c->m->on_half_close(c->ctx));
    } else if (deliver_cancel) {
        DELIVER(c, c->m->on_cancel(c->ctx));
    } else if (done) {
        call_release(c);
    }
    if (bb)
        grpc_byte_buffer_destroy(bb);
}

static void call_on_send(lanes_call_t *c, int ok)
{
    pthread_mutex_lock(&c->mu);
    c->send_pending = 0;
    c->send_since_ns = 0;
    c->pending_ops--;
    if (c->send_bb) {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
    }
    int deliver = 0, deliver_cancel = 0;
    if (c->deferred) {
        c->deferred = 0;
        call_start_status_locked(c, c->fin_code, c->fin_msg, c->fin_buf, c->fin_len);
        c->fin_buf = NULL;
    } else if (!ok) {
        call_on_cancel_locked(c, &deliver_cancel);
    } else if (!c->finished && c->m && c->m->on_sent) {
        deliver = 1;
        c->in_callbacks++;
    }
    int done = call_check_done_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (deliver)
        DELIVER(c, c->m->on_sent(c->ctx, ok));
    else if (deliver_cancel)
        DELIVER(c, c->m->on_cancel(c->ctx));
    else if (done)
        call_release(c);
}

static void call_on_status(lanes_call_t *c, int ok)
{
    pthread_mutex_lock(&c->mu);
    c->pending_ops--;
    c->status_done = 1;
    int done = call_check_done_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (done)
        call_release(c);
}

static void call_on_close(lanes_call_t *c, int ok)
{
    pthread_mutex_lock(&c->mu);
    c->pending_ops--;
    c->close_done = 1;
    int deliver_cancel = 0;
    if (c->cancelled_flag || !ok)
        call_on_cancel_locked(c, &deliver_cancel);
    int done = call_check_done_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (deliver_cancel)
        DELIVER(c, c->m->on_cancel(c->ctx));
    else if (done)
        call_release(c);
}

static void server_on_request(request_t *r, int ok)
{
    grpc_call *gc = r->call;
    grpc_byte_buffer *payload = r->payload;
    char unknown_method[256] = "";
    if (!r->method && ok) {
        size_t l = GRPC_SLICE_LENGTH(r->details.method);
        if (l >= sizeof unknown_method)
            l = sizeof unknown_method - 1;
        memcpy(unknown_method, GRPC_SLICE_START_PTR(r->details.method), l);
        unknown_method[l] = 0;
    }
    grpc_metadata_array_destroy(&r->md);
    if (!r->method)
        grpc_call_details_destroy(&r->details);

    pthread_mutex_lock(&S.mu);
    int stopping = S.shutting_down;
    if (!stopping)
        request_arm(r);
    pthread_mutex_unlock(&S.mu);
    if (!ok || !gc) {
        if (payload)
            grpc_byte_buffer_destroy(payload);
        return;
    }

    lanes_call_t *c = calloc(1, sizeof *c);
    if (!c) {
        grpc_call_cancel_with_status(gc, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
        grpc_call_unref(gc);
        if (payload)
            grpc_byte_buffer_destroy(payload);
        return;
    }
    atomic_fetch_add(&S.active, 1);
    c->control = r->method && r->method->control;
    int in_flight = atomic_fetch_add(c->control ? &S.active_control : &S.active_jobs, 1) + 1;
    pthread_mutex_init(&c->mu, NULL);
    c->call = gc;
    c->path = r->method ? r->method->path : "(unknown method)";
    char *gpeer = grpc_call_get_peer(gc);
    lanes_listener_peer(gpeer, c->peer, sizeof c->peer);
    gpr_free(gpeer);
    pthread_mutex_lock(&S.mu);
    int draining = S.draining;
    c->next = S.calls;
    if (S.calls)
        S.calls->prev = c;
    S.calls = c;
    pthread_mutex_unlock(&S.mu);
    c->arrival_ns = lanes_now_ns();
    c->t_recv = (tag_t){TAG_RECV, c};
    c->t_send = (tag_t){TAG_SEND, c};
    c->t_status = (tag_t){TAG_STATUS, c};
    c->t_close = (tag_t){TAG_CLOSE, c};

    /* RECV_CLOSE_ON_SERVER tells us when the client cancels; start it first. */
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled_flag;
    c->pending_ops = 1;
    if (grpc_call_start_batch(gc, &op, 1, &c->t_close, NULL) != GRPC_CALL_OK) {
        lanes_log(LANES_LOG_ERR, 0, "grpc_call_start_batch(close) failed");
        c->pending_ops = 0;
        c->close_done = 1;
    }

    const char *reject = NULL;
    int reject_code = 0;
    char reject_msg[400];
    if (!r->method) {
        snprintf(reject_msg, sizeof reject_msg, "unknown method %s", unknown_method);
        reject = reject_msg;
        reject_code = LANES_ENOSYS;
    } else if (stopping || (draining && !c->control)) {
        reject = "lanesd is shutting down: it takes no new calls";
        reject_code = LANES_EUNAVAIL;
    } else if (in_flight > S.max_calls) {
        snprintf(reject_msg, sizeof reject_msg, "too many concurrent %s (max_calls is %d)",
                 c->control ? "Health and Info calls" : "calls", S.max_calls);
        reject = reject_msg;
        reject_code = LANES_ELIMIT;
    } else if (r->method->unary_request && !payload) {
        reject = "the request message is missing";
        reject_code = LANES_EINVAL;
    } else {
        void *ctx = r->method->start(c, r->method->arg);
        if (!ctx) {
            reject = "the server could not take the call (out of memory)";
            reject_code = LANES_ENOMEM;
        } else {
            /* Under the lock: RECV_CLOSE_ON_SERVER may complete on another thread at any time, and
             * a cancellation seen before the handler was attached must still reach it (below). */
            pthread_mutex_lock(&c->mu);
            c->ctx = ctx;
            c->m = r->method;
            pthread_mutex_unlock(&c->mu);
        }
    }
    if (reject) {
        if (payload)
            grpc_byte_buffer_destroy(payload);
        lanes_log(LANES_LOG_DEBUG, 0, "rejected a call: %s", reject);
        lanes_call_finish(c, reject_code, reject, NULL, 0);
        return;
    }

    if (c->m->unary_request) {
        size_t len;
        int ok_copy;
        uint8_t *data = take_message(payload, &len, &ok_copy);
        grpc_byte_buffer_destroy(payload);
        pthread_mutex_lock(&c->mu);
        c->in_callbacks++;
        pthread_mutex_unlock(&c->mu);
        if (ok_copy)
            DELIVER(c, c->m->on_message(c->ctx, data, len));
        else
            DELIVER(c, c->m->on_cancel(c->ctx));
        return;
    }

    /* Streaming request: send the initial metadata and read the first message in one batch. */
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &c->recv_bb;
    pthread_mutex_lock(&c->mu);
    int start = !c->finished && !c->cancelled;
    int early_cancel = 0;
    if (!start && c->cancelled && !c->cancel_delivered && !c->finished) {
        /* The client went away before the handler was attached: it still has to finish the call. */
        c->cancel_delivered = 1;
        c->in_callbacks++;
        early_cancel = 1;
    }
    if (start) {
        c->md_sent = 1;
        c->recv_pending = 1;
        c->recv_since_ns = lanes_now_ns();
        c->pending_ops++;
        if (grpc_call_start_batch(gc, ops, 2, &c->t_recv, NULL) != GRPC_CALL_OK) {
            lanes_log(LANES_LOG_ERR, 0, "grpc_call_start_batch(first recv) failed");
            c->recv_pending = 0;
            c->pending_ops--;
            c->cancelled = 1;
            c->cancel_delivered = 1;
            c->in_callbacks++;
            early_cancel = 1;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (early_cancel)
        DELIVER(c, c->m->on_cancel(c->ctx));
}

static void *cq_thread(void *arg)
{
    (void)arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(S.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        tag_t *t = ev.tag;
        switch (t->kind) {
        case TAG_REQUEST: server_on_request(t->obj, ev.success); break;
        case TAG_RECV: call_on_recv(t->obj, ev.success); break;
        case TAG_SEND: call_on_send(t->obj, ev.success); break;
        case TAG_STATUS: call_on_status(t->obj, ev.success); break;
        case TAG_CLOSE: call_on_close(t->obj, ev.success); break;
        case TAG_SHUTDOWN:
            pthread_mutex_lock(&S.mu);
            S.shutdown_done = 1;
            pthread_cond_broadcast(&S.cv);
            pthread_mutex_unlock(&S.mu);
            break;
        }
    }
    return NULL;
}

/* With S.mu held: marks one live call as ended by the server with a status and message for its
 * client, and pins it (in_callbacks) so it stays valid after S.mu is released. Returns 1 if the caller
 * must then deliver on_cancel with call_end_deliver (outside S.mu). The handler finishes as on any
 * cancellation, and lanes_call_finish sends this status instead of the handler's. A call whose reply
 * the client does not take (a send pending) cannot get a status in order: gRPC cancels it instead. */
static int call_end_by_server_locked(lanes_call_t *c, int code, const char *msg)
{
    pthread_mutex_lock(&c->mu);
    int deliver = 0, cancel_now = 0;
    if (!c->done && !c->ended_by_server && !c->finished && c->m) {
        c->ended_by_server = 1;
        c->fin_code = lanes_status_from_error(code);
        free(c->fin_msg);
        c->fin_msg = strdup(msg);
        if (c->send_pending)
            cancel_now = 1;
        if (!c->cancel_delivered) {
            c->cancel_delivered = 1;
            c->in_callbacks++;
            deliver = 1;
        }
        c->cancelled = 1; /* no more reads or sends from the handler */
    }
    pthread_mutex_unlock(&c->mu);
    if (cancel_now)
        grpc_call_cancel_with_status(c->call, (grpc_status_code)code, msg, NULL);
    return deliver;
}

/* Delivers on_cancel to calls pinned by call_end_by_server_locked. S.mu not held. */
static void call_end_deliver(lanes_call_t **calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lanes_call_t *c = calls[i];
        DELIVER(c, c->m->on_cancel(c->ctx));
    }
}

#define END_BATCH 256

/* Once a second: ends streaming calls idle for idle_timeout_seconds (see the design above). */
static void *housekeeper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&S.mu);
    while (!S.hk_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&S.cv, &S.mu, &ts);
        if (S.hk_stop || S.idle_timeout_s <= 0)
            continue;
        uint64_t limit = (uint64_t)(S.idle_timeout_s * 1e9);
        lanes_call_t *ended[END_BATCH];
        size_t n_ended = 0;
        for (lanes_call_t *c = S.calls; c; c = c->next) {
            pthread_mutex_lock(&c->mu);
            /* The clock is read under the call's lock: a read or send started on another thread
             * after an earlier reading would make "now - since" wrap around. */
            uint64_t now = lanes_now_ns();
            int idle_recv = c->recv_pending && c->recv_since_ns && c->recv_since_ns <= now &&
                            now - c->recv_since_ns >= limit;
            int idle_send = c->send_pending && c->send_since_ns && c->send_since_ns <= now &&
                            now - c->send_since_ns >= limit;
            int skip = c->finished || c->ended_by_server || !c->m;
            pthread_mutex_unlock(&c->mu);
            if (skip || !(idle_recv || idle_send))
                continue;
            char msg[200];
            snprintf(msg, sizeof msg, "lanesd ended the call: the client %s for %g s (idle_timeout_seconds)",
                     idle_recv ? "sent nothing" : "took no reply", S.idle_timeout_s);
            lanes_log(LANES_LOG_INFO, 0, "call %s from %s: %s", c->path, c->peer[0] ? c->peer : "unknown peer", msg);
            if (call_end_by_server_locked(c, LANES_ETIMEDOUT, msg))
                ended[n_ended++] = c;
            if (n_ended == END_BATCH)
                break; /* the rest at the next pass */
        }
        if (n_ended) {
            pthread_mutex_unlock(&S.mu);
            call_end_deliver(ended, n_ended);
            pthread_mutex_lock(&S.mu);
        }
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

/* A connection the listener kept: gRPC serves it from now on (and closes it). Accept thread. */
static void server_on_connection(int fd, const char *peer, void *arg)
{
    (void)arg;
    lanes_log(LANES_LOG_DEBUG, 0, "connection from %s (fd %d)", peer, fd);
    grpc_server_add_channel_from_fd(S.server, fd, S.creds);
}

int lanes_server_start(const lanes_config_t *cfg, const lanes_method_t *methods, size_t n_methods, char *err,
                       size_t err_cap)
{
    if (n_methods > MAX_METHODS) {
        snprintf(err, err_cap, "too many methods");
        return -1;
    }
    grpc_init();
    grpc_arg args[3];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)cfg->max_message_bytes;
    /* gRPC turns SO_REUSEPORT on by default: a second daemon would silently share our port. */
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
    args[1].value.integer = 0;
    /* No BDP probe: it widens each stream's HTTP/2 receive window as the round trip grows, so on a
     * loaded machine more inbound bytes wait inside gRPC (a 2 GiB Map peaked at 75-113 MiB under
     * stress-ng, 65-68 MiB without the probe). Measured here on an idle 2-core machine, 512 MiB of
     * Map from Python: 379 MB/s without the probe against 415 MB/s with it (medians of 3, noisy), a
     * price paid for a memory bound that load cannot move. */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = (char *)GRPC_ARG_HTTP2_BDP_PROBE;
    args[2].value.integer = 0;
    grpc_channel_args ch_args = {3, args};
    S.server = grpc_server_create(&ch_args, NULL);
    S.cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(S.server, S.cq, NULL);
    S.methods = methods;
    S.n_methods = n_methods;
    S.max_calls = cfg->max_calls;
    S.idle_timeout_s = cfg->idle_timeout_seconds;

    S.n_requests = n_methods * REQUESTS_PER_METHOD + 1;
    S.requests = calloc(S.n_requests, sizeof *S.requests);
    if (!S.requests) {
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n_methods; i++) {
        void *h = grpc_server_register_method(
            S.server, methods[i].path, NULL,
            methods[i].unary_request ? GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER : GRPC_SRM_PAYLOAD_NONE, 0);
        if (!h) {
            snprintf(err, err_cap, "grpc_server_register_method(%s) failed", methods[i].path);
            return -1;
        }
        for (size_t k = 0; k < REQUESTS_PER_METHOD; k++) {
            request_t *r = &S.requests[i * REQUESTS_PER_METHOD + k];
            r->method = &methods[i];
            r->handle = h;
        }
    }
    for (size_t i = 0; i < S.n_requests; i++)
        S.requests[i].tag = (tag_t){TAG_REQUEST, &S.requests[i]};

    S.creds = grpc_insecure_server_credentials_create();
    grpc_server_start(S.server);
    if (lanes_listener_start(server_on_connection, NULL, err, err_cap) != 0) {
        static tag_t t = {TAG_SHUTDOWN, NULL};
        grpc_server_shutdown_and_notify(S.server, S.cq, &t);
        grpc_server_cancel_all_calls(S.server);
        while (grpc_completion_queue_next(S.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type != GRPC_OP_COMPLETE) {
        }
        grpc_server_destroy(S.server);
        grpc_server_credentials_release(S.creds);
        grpc_completion_queue_shutdown(S.cq);
        while (grpc_completion_queue_next(S.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
               GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(S.cq);
        free(S.requests);
        grpc_shutdown();
        return -1;
    }
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n_requests; i++)
        request_arm(&S.requests[i]);
    pthread_mutex_unlock(&S.mu);

    S.n_threads = cfg->cq_threads < MAX_CQ_THREADS ? cfg->cq_threads : MAX_CQ_THREADS;
    for (int i = 0; i < S.n_threads; i++) {
        int rc = pthread_create(&S.threads[i], NULL, cq_thread, NULL);
        if (rc != 0) {
            snprintf(err, err_cap, "pthread_create() failed: %s", strerror(rc));
            return -1;
        }
    }
    int rc = pthread_create(&S.housekeeper, NULL, housekeeper_main, NULL);
    if (rc != 0) {
        snprintf(err, err_cap, "pthread_create() of the housekeeping thread failed: %s", strerror(rc));
        return -1;
    }
    S.hk_started = 1;
    return 0;
}

/* With S.mu held: logs every live call and what it waits for. */
static void log_live_calls_locked(void)
{
    for (lanes_call_t *c = S.calls; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        lanes_log(LANES_LOG_WARN, 0,
                  "live call %s: pending batches %d, callbacks running %d, recv %d, send %d, finished %d, "
                  "status sent %d/%d, closed %d, cancelled %d, half-closed %d",
                  c->path, c->pending_ops, c->in_callbacks, c->recv_pending, c->send_pending, c->finished,
                  c->status_started, c->status_done, c->close_done, c->cancelled, c->half_closed);
        pthread_mutex_unlock(&c->mu);
    }
}

/* Waits (with S.mu held) until *count is 0 or the deadline passes; returns 1 if it is 0. */
static int wait_zero_locked(atomic_int *count, uint64_t deadline_ns)
{
    while (atomic_load(count) > 0) {
        uint64_t now = lanes_now_ns();
        if (now >= deadline_ns)
            return 0;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait = deadline_ns - now;
        if (wait > 50000000ull)
            wait = 50000000ull; /* re-check periodically: the counts are also decremented without S.mu */
        ts.tv_sec += (time_t)(wait / 1000000000ull);
        ts.tv_nsec += (long)(wait % 1000000000ull);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&S.cv, &S.mu, &ts);
    }
    return 1;
}

int lanes_server_stop(double grace_seconds)
{
    static tag_t shutdown_tag = {TAG_SHUTDOWN, NULL};
    lanes_listener_stop(); /* no new connections */
    pthread_mutex_lock(&S.mu);
    S.draining = 1;        /* job calls on open connections are refused from now on */
    int n = atomic_load(&S.active_jobs);
    if (n > 0)
        lanes_log(LANES_LOG_INFO, 0, "draining %d call(s) for up to %.1f s", n, grace_seconds);
    /* Every call gets the grace period, Health Watch streams included: health has turned NOT_SERVING
     * and each Watch ends by itself once its client has been told. */
    int idle = wait_zero_locked(&S.active, lanes_now_ns() + (uint64_t)(grace_seconds * 1e9));
    if (!idle) {
        lanes_log(LANES_LOG_WARN, 0, "grace period over: cancelling %d call(s)", atomic_load(&S.active));
        log_live_calls_locked();
    }
    /* Every call left (jobs past the grace period, Health Watch streams, control calls) ends now,
     * each with a message that says why. */
    char msg[160];
    if (idle)
        snprintf(msg, sizeof msg, "lanesd is shutting down");
    else
        snprintf(msg, sizeof msg, "lanesd is shutting down: the call was cancelled after the %g s grace period",
                 grace_seconds);
    for (;;) {
        lanes_call_t *ended[END_BATCH];
        size_t n_ended = 0;
        for (lanes_call_t *c = S.calls; c && n_ended < END_BATCH; c = c->next)
            if (call_end_by_server_locked(c, LANES_EUNAVAIL, msg))
                ended[n_ended++] = c;
        if (!n_ended)
            break;
        pthread_mutex_unlock(&S.mu);
        call_end_deliver(ended, n_ended);
        pthread_mutex_lock(&S.mu);
    }
    idle = wait_zero_locked(&S.active, lanes_now_ns() + 10ull * 1000000000ull);
    if (!idle) {
        /* A call gRPC never completes: tearing the queue down now would abort the process (a batch
         * could still be started on it), and waiting could last forever. Give up. */
        lanes_log(LANES_LOG_ERR, 0, "%d call(s) did not end after cancellation:", atomic_load(&S.active));
        log_live_calls_locked();
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    S.shutting_down = 1;
    S.hk_stop = 1;
    pthread_cond_broadcast(&S.cv);
    grpc_server_shutdown_and_notify(S.server, S.cq, &shutdown_tag);
    pthread_mutex_unlock(&S.mu);
    if (S.hk_started)
        pthread_join(S.housekeeper, NULL);
    /* Calls that raced in since (their requests are no longer re-armed) are cancelled here. */
    grpc_server_cancel_all_calls(S.server);
    pthread_mutex_lock(&S.mu);
    if (!wait_zero_locked(&S.active, lanes_now_ns() + 10ull * 1000000000ull)) {
        lanes_log(LANES_LOG_ERR, 0, "%d call(s) did not end after cancellation:", atomic_load(&S.active));
        log_live_calls_locked();
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    while (!S.shutdown_done)
        pthread_cond_wait(&S.cv, &S.mu);
    pthread_mutex_unlock(&S.mu);
    grpc_completion_queue_shutdown(S.cq);
    for (int i = 0; i < S.n_threads; i++)
        pthread_join(S.threads[i], NULL);
    grpc_server_destroy(S.server);
    grpc_server_credentials_release(S.creds);
    grpc_completion_queue_destroy(S.cq);
    free(S.requests);
    grpc_shutdown();
    return 0;
}
