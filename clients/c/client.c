/* lanes_client: Info, Health, Map, Reduce and Echo calls on the gRPC C core (see client.h), and the
 * call plumbing that client_text.c (Acf, WordCount, WordAcf, Corpus) shares through client_internal.h.
 *
 * Design: two call shapes share all the plumbing.
 *   - run_unary(): one batch holding every op (send metadata, message, close; receive metadata,
 *     message, status) and one wait on the queue, the cheapest round trip the core offers.
 *   - run_stream(): a small event loop over one call with three kinds of batch in flight at most, one
 *     of each: SEND (the next request message; SEND_CLOSE_FROM_CLIENT rides with the last one), RECV
 *     (the next response message) and STATUS (RECV_STATUS_ON_CLIENT, started at once so a server
 *     error ends the loop early). A job plugs in two callbacks: next() packs the next request message
 *     (for every streamed job the one builder job_next(): the spec, then the data messages, see
 *     client_internal.h), on_message() consumes one response. The loop stops sending once the status has arrived or a send
 *     failed, and returns only when every batch it started has completed, so the queue is empty
 *     between calls and can be reused.
 * Everything the core writes into during a call lives in one heap call_state_t, so a call that the core
 * fails to wind down after its deadline (a gRPC 1.51 bug, see call_wait()) can be abandoned safely.
 * Messages are packed with protobuf-c straight into a grpc_slice. Bulk responses (Map result chunks,
 * Echo chunks) are decoded by a few lines of wire-format parsing that point into the received slice
 * instead of letting protobuf-c copy each megabyte once more; everything else uses protobuf-c.
 */
#define _POSIX_C_SOURCE 200809L

#include "client_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"

#define METHOD_MAP "/lanes.v1.Lanes/Map"
#define METHOD_REDUCE "/lanes.v1.Lanes/Reduce"
#define METHOD_MAP_ONCE "/lanes.v1.Lanes/MapOnce"
#define METHOD_REDUCE_ONCE "/lanes.v1.Lanes/ReduceOnce"
#define METHOD_INFO "/lanes.v1.Lanes/Info"
#define METHOD_ECHO "/lanes.v1.Lanes/Echo"
#define METHOD_HEALTH "/grpc.health.v1.Health/Check"

/* Replies larger than 4 MiB are not expected, but a result chunk of float64 for a float32 input is
 * twice the input chunk: accept generously rather than fail on a daemon with other chunk sizes. */
#define CLIENT_MAX_RECEIVE_BYTES (64 << 20)

struct lanes_client {
    char *target;
    grpc_channel *channel;
    grpc_completion_queue *cq;
    double timeout;
};

static char tag_unary, tag_send, tag_recv, tag_status;

/* Everything the core may write into while a call's batches are in flight, on the heap so that a call
 * can be abandoned (see call_wait()) without leaving the core a dangling pointer. */
typedef struct call_state {
    struct call_state *next_abandoned;
    grpc_call *call;
    grpc_completion_queue *cq;      /* the queue its batches complete on */
    grpc_metadata_array init_md, trail_md;
    grpc_byte_buffer *send, *recv;
    grpc_status_code status;
    grpc_slice details;
    gpr_timespec give_up;           /* GPR_CLOCK_MONOTONIC; infinite without a deadline */
} call_state_t;

/* Abandoned calls stay reachable here for the life of the process (the core may still write to them). */
static pthread_mutex_t graveyard_lock = PTHREAD_MUTEX_INITIALIZER;
static call_state_t *graveyard;

/* ---- status ---- */

const char *lanes_client_status_name(grpc_status_code code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if ((int)code >= 0 && (size_t)code < sizeof names / sizeof names[0])
        return names[code];
    return "UNKNOWN_STATUS";
}

grpc_status_code st_set(lanes_client_status_t *st, grpc_status_code code, const char *fmt, ...)
{
    va_list ap;
    st->code = code;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
    return code;
}

void st_ok(lanes_client_status_t *st)
{
    st->code = GRPC_STATUS_OK;
    st->message[0] = '\0';
}

static void st_from_call(lanes_client_status_t *st, grpc_status_code code, grpc_slice details)
{
    size_t len = GRPC_SLICE_LENGTH(details);
    if (len >= sizeof st->message)
        len = sizeof st->message - 1;
    st->code = code;
    memcpy(st->message, GRPC_SLICE_START_PTR(details), len);
    st->message[len] = '\0';
}

const char *lanes_client_serving_name(int serving)
{
    switch (serving) {
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__UNKNOWN:
        return "UNKNOWN";
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING:
        return "SERVING";
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING:
        return "NOT_SERVING";
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN:
        return "SERVICE_UNKNOWN";
    default:
        return "INVALID";
    }
}

/* ---- client ---- */

lanes_client_t *lanes_client_new(const char *target)
{
    lanes_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->target = strdup(target ? target : "");
    if (!c->target) {
        free(c);
        return NULL;
    }
    grpc_init();
    grpc_arg args[1];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = CLIENT_MAX_RECEIVE_BYTES;
    grpc_channel_args cargs = {1, args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    c->channel = grpc_channel_create(c->target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    c->cq = grpc_completion_queue_create_for_next(NULL);
    return c;
}

void lanes_client_free(lanes_client_t *c)
{
    if (!c)
        return;
    grpc_channel_destroy(c->channel);
    grpc_completion_queue_shutdown(c->cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
    }
    grpc_completion_queue_destroy(c->cq);
    free(c->target);
    free(c);
    grpc_shutdown();
}

void lanes_client_set_timeout(lanes_client_t *c, double seconds)
{
    c->timeout = seconds > 0 ? seconds : 0;
}

const char *lanes_client_target(const lanes_client_t *c)
{
    return c->target;
}

/* ---- messages ---- */

/* Packs m into a new byte buffer that the caller destroys. */
grpc_byte_buffer *pack_message(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* Returns the whole content of bb as one slice (the caller unrefs it). */
static int read_all(grpc_byte_buffer *bb, grpc_slice *out)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return -1;
    *out = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    return 0;
}

/* Minimal protobuf wire reading for the bulk replies: the next field of a message in [*p, end).
 * Returns 1 with the field number, wire type and, for length-delimited fields, the payload; 0 at the
 * end; -1 if malformed. Other wire types are skipped over but still reported. */
int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int wire_next(const uint8_t **p, const uint8_t *end, uint32_t *field, uint32_t *wt,
              const uint8_t **val, size_t *vlen)
{
    uint64_t key, v;
    if (*p >= end)
        return 0;
    if (wire_varint(p, end, &key))
        return -1;
    *field = (uint32_t)(key >> 3);
    *wt = (uint32_t)(key & 7);
    *val = NULL;
    *vlen = 0;
    switch (*wt) {
    case 0:
        return wire_varint(p, end, &v) ? -1 : 1;
    case 1:
        if (end - *p < 8)
            return -1;
        *p += 8;
        return 1;
    case 5:
        if (end - *p < 4)
            return -1;
        *p += 4;
        return 1;
    case 2:
        if (wire_varint(p, end, &v) || v > (uint64_t)(end - *p))
            return -1;
        *val = *p;
        *vlen = (size_t)v;
        *p += v;
        return 1;
    default:
        return -1;
    }
}

void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void summary_copy(lanes_client_summary_t *dst, const Lanes__V1__JobSummary *s)
{
    memset(dst, 0, sizeof *dst);
    if (!s)
        return;
    copy_str(dst->backend, sizeof dst->backend, s->backend);
    copy_str(dst->reason, sizeof dst->reason, s->reason);
    dst->elements = s->elements;
    dst->chunks = s->chunks;
    dst->bytes_in = s->bytes_in;
    dst->bytes_out = s->bytes_out;
    dst->queued_seconds = s->queued_seconds;
    dst->compute_seconds = s->compute_seconds;
    dst->stream_seconds = s->stream_seconds;
    dst->threads = s->threads;
}

/* Elements per data message: chunk_bytes of payload (default 1 MiB), clamped so the packed message,
 * with the framing of a oneof holding a Chunk of n_arrays byte strings, stays within 4 MiB. */
size_t chunk_elements(size_t chunk_bytes, size_t row_bytes, size_t n_arrays)
{
    size_t max_payload = LANES_CLIENT_MAX_MESSAGE_BYTES - 16 - 6 * n_arrays;
    if (chunk_bytes == 0)
        chunk_bytes = LANES_CLIENT_DEFAULT_CHUNK_BYTES;
    if (chunk_bytes > max_payload)
        chunk_bytes = max_payload;
    size_t k = chunk_bytes / row_bytes;
    return k ? k : 1;
}

/* ---- the two call shapes ---- */

/* Waiting on a call. gRPC core 1.51 sometimes never completes the pending batches of a streaming call
 * that is cancelled (by its deadline, or by grpc_call_cancel_with_status) while a SEND_MESSAGE is in
 * flight: the transport sends RST_STREAM and fails the write, but no event ever reaches the queue (seen
 * in most runs of a 40 MB Map with a 5 ms deadline, and it stayed stuck after the server had gone). So
 * the client waits in slices of CQ_TICK_MS, and a call still unfinished ABANDON_GRACE_MS after its
 * deadline is abandoned: reported as DEADLINE_EXCEEDED, its state and queue left to the core, and the
 * client given a fresh queue. A call without a deadline is never abandoned. */
#define CQ_TICK_MS 100
#define ABANDON_GRACE_MS 1000

/* Returns 0 with the next event of cs's queue, or -1 once cs is due to be abandoned. */
static int call_wait(call_state_t *cs, grpc_event *ev)
{
    for (;;) {
        gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
        if (gpr_time_cmp(now, cs->give_up) >= 0)
            return -1;
        gpr_timespec until = gpr_time_add(now, gpr_time_from_millis(CQ_TICK_MS, GPR_TIMESPAN));
        if (gpr_time_cmp(until, cs->give_up) > 0)
            until = cs->give_up;
        *ev = grpc_completion_queue_next(cs->cq, until, NULL);
        if (ev->type == GRPC_OP_COMPLETE)
            return 0;
    }
}

/* Creates a call of method on c's queue, with c's deadline. Returns NULL when out of memory. */
static call_state_t *call_begin(lanes_client_t *c, const char *method)
{
    call_state_t *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
    cs->give_up = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    if (c->timeout > 0) {
        gpr_timespec span = gpr_time_from_micros((int64_t)(c->timeout * 1e6), GPR_TIMESPAN);
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), span);
        cs->give_up = gpr_time_add(gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), span),
                                   gpr_time_from_millis(ABANDON_GRACE_MS, GPR_TIMESPAN));
    }
    cs->cq = c->cq;
    cs->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
                                        grpc_slice_from_static_string(method), NULL, deadline, NULL);
    grpc_metadata_array_init(&cs->init_md);
    grpc_metadata_array_init(&cs->trail_md);
    cs->status = GRPC_STATUS_UNKNOWN;
    cs->details = grpc_empty_slice();
    return cs;
}

/* Releases a call whose batches have all completed. */
static void call_end(call_state_t *cs)
{
    if (cs->send)
        grpc_byte_buffer_destroy(cs->send);
    if (cs->recv)
        grpc_byte_buffer_destroy(cs->recv);
    grpc_slice_unref(cs->details);
    grpc_metadata_array_destroy(&cs->init_md);
    grpc_metadata_array_destroy(&cs->trail_md);
    grpc_call_unref(cs->call);
    free(cs);
}

/* Gives up on a call whose batches did not complete in time (see above). */
static grpc_status_code call_abandon(lanes_client_t *c, call_state_t *cs, const char *method,
                                     lanes_client_status_t *st)
{
    grpc_call_cancel_with_status(cs->call, GRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded", NULL);
    pthread_mutex_lock(&graveyard_lock);
    cs->next_abandoned = graveyard;
    graveyard = cs;
    pthread_mutex_unlock(&graveyard_lock);
    c->cq = grpc_completion_queue_create_for_next(NULL);
    return st_set(st, GRPC_STATUS_DEADLINE_EXCEEDED,
                  "Deadline Exceeded (%s did not end %d ms after its deadline; abandoned)", method,
                  ABANDON_GRACE_MS);
}

static grpc_status_code start_failed(lanes_client_status_t *st, grpc_call_error e, const char *what)
{
    return st_set(st, GRPC_STATUS_INTERNAL, "client: grpc_call_start_batch(%s) failed: error %d", what,
                  (int)e);
}

/* One request, one response: on OK *reply holds the response bytes (the caller unrefs the slice). */
grpc_status_code run_unary(lanes_client_t *c, const char *method, const ProtobufCMessage *req,
                           grpc_slice *reply, lanes_client_status_t *st)
{
    call_state_t *cs = call_begin(c, method);
    grpc_op ops[6];
    grpc_event ev;
    if (!cs)
        return st_set(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "client: out of memory");
    cs->send = pack_message(req);

    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = cs->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &cs->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &cs->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &cs->trail_md;
    ops[5].data.recv_status_on_client.status = &cs->status;
    ops[5].data.recv_status_on_client.status_details = &cs->details;

    grpc_call_error e = grpc_call_start_batch(cs->call, ops, 6, &tag_unary, NULL);
    if (e != GRPC_CALL_OK) {
        start_failed(st, e, method);
        call_end(cs);
        return st->code;
    }
    do {
        if (call_wait(cs, &ev))
            return call_abandon(c, cs, method, st);
    } while (ev.tag != &tag_unary);
    if (cs->status != GRPC_STATUS_OK)
        st_from_call(st, cs->status, cs->details);
    else if (!cs->recv)
        st_set(st, GRPC_STATUS_INTERNAL, "client: %s returned OK but no message", method);
    else if (read_all(cs->recv, reply))
        st_set(st, GRPC_STATUS_INTERNAL, "client: cannot read the reply of %s", method);
    else
        st_ok(st);
    call_end(cs);
    return st->code;
}

grpc_status_code run_stream(lanes_client_t *c, const char *method, const stream_io_t *io,
                            lanes_client_status_t *st)
{
    lanes_client_status_t local;
    int last = 0, failed = 0;
    st_ok(&local);
    grpc_byte_buffer *first = io->next(io->next_ctx, &last, &local);
    if (!first) {
        *st = local;
        return st->code;
    }
    call_state_t *cs = call_begin(c, method);
    if (!cs) {
        grpc_byte_buffer_destroy(first);
        return st_set(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "client: out of memory");
    }
    cs->send = first;

    int send_busy = 0, recv_busy = 0, status_busy = 0, closed = last, status_done = 0;
    grpc_op ops[3];
    size_t nops;
    grpc_call_error e;

    memset(ops, 0, sizeof ops);
    nops = 0;
    ops[nops++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[nops].op = GRPC_OP_SEND_MESSAGE;
    ops[nops++].data.send_message.send_message = cs->send;
    if (last)
        ops[nops++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    if ((e = grpc_call_start_batch(cs->call, ops, nops, &tag_send, NULL)) != GRPC_CALL_OK) {
        start_failed(st, e, "send");
        call_end(cs);
        return st->code;
    }
    send_busy = 1;

    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[0].data.recv_initial_metadata.recv_initial_metadata = &cs->init_md;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &cs->recv;
    if ((e = grpc_call_start_batch(cs->call, ops, 2, &tag_recv, NULL)) != GRPC_CALL_OK) {
        start_failed(&local, e, "recv");
        failed = 1;
        grpc_call_cancel(cs->call, NULL);
    } else {
        recv_busy = 1;
    }

    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &cs->trail_md;
    ops[0].data.recv_status_on_client.status = &cs->status;
    ops[0].data.recv_status_on_client.status_details = &cs->details;
    if ((e = grpc_call_start_batch(cs->call, ops, 1, &tag_status, NULL)) != GRPC_CALL_OK) {
        /* Without a status batch the call cannot be finished cleanly: cancel it and drain. */
        if (!failed)
            start_failed(&local, e, "status");
        failed = 1;
        grpc_call_cancel(cs->call, NULL);
    } else {
        status_busy = 1;
    }

    while (send_busy || recv_busy || status_busy) {
        grpc_event ev;
        if (call_wait(cs, &ev))
            return call_abandon(c, cs, method, st);
        if (ev.tag == &tag_send) {
            send_busy = 0;
            grpc_byte_buffer_destroy(cs->send);
            cs->send = NULL;
            if (!ev.success || closed || status_done || failed)
                continue; /* the call is over or broken: the status says why */
            grpc_byte_buffer *next = io->next(io->next_ctx, &last, &local);
            if (!next) {
                failed = 1;
                grpc_call_cancel(cs->call, NULL);
                continue;
            }
            cs->send = next;
            memset(ops, 0, sizeof ops);
            nops = 0;
            ops[nops].op = GRPC_OP_SEND_MESSAGE;
            ops[nops++].data.send_message.send_message = cs->send;
            if (last)
                ops[nops++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
            if ((e = grpc_call_start_batch(cs->call, ops, nops, &tag_send, NULL)) != GRPC_CALL_OK) {
                start_failed(&local, e, "send");
                failed = 1;
                grpc_call_cancel(cs->call, NULL);
                continue;
            }
            closed = last;
            send_busy = 1;
        } else if (ev.tag == &tag_recv) {
            recv_busy = 0;
            if (!cs->recv)
                continue; /* the server closed its side (or the call failed) */
            grpc_slice s;
            int rc;
            if (read_all(cs->recv, &s)) {
                rc = -1;
                st_set(&local, GRPC_STATUS_INTERNAL, "client: cannot read a reply of %s", method);
            } else {
                rc = failed ? 0
                            : io->on_message(io->ctx, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), &local);
                grpc_slice_unref(s);
            }
            grpc_byte_buffer_destroy(cs->recv);
            cs->recv = NULL;
            if (rc && !failed) {
                failed = 1;
                grpc_call_cancel(cs->call, NULL);
            }
            if (!ev.success || failed)
                continue;
            memset(ops, 0, sizeof ops);
            ops[0].op = GRPC_OP_RECV_MESSAGE;
            ops[0].data.recv_message.recv_message = &cs->recv;
            if ((e = grpc_call_start_batch(cs->call, ops, 1, &tag_recv, NULL)) != GRPC_CALL_OK) {
                start_failed(&local, e, "recv");
                failed = 1;
                grpc_call_cancel(cs->call, NULL);
                continue;
            }
            recv_busy = 1;
        } else if (ev.tag == &tag_status) {
            status_busy = 0;
            status_done = 1;
        }
    }

    if (failed)
        *st = local;
    else if (cs->status != GRPC_STATUS_OK)
        st_from_call(st, cs->status, cs->details);
    else
        st_ok(st);
    call_end(cs);
    return st->code;
}

/* ---- Info and Health ---- */

grpc_status_code lanes_client_info(lanes_client_t *c, Lanes__V1__InfoResponse **out,
                                   lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    Lanes__V1__InfoRequest req = LANES__V1__INFO_REQUEST__INIT;
    grpc_slice reply;
    if (!st)
        st = &dummy;
    *out = NULL;
    if (run_unary(c, METHOD_INFO, &req.base, &reply, st) != GRPC_STATUS_OK)
        return st->code;
    *out = lanes__v1__info_response__unpack(NULL, GRPC_SLICE_LENGTH(reply), GRPC_SLICE_START_PTR(reply));
    grpc_slice_unref(reply);
    if (!*out)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode the InfoResponse");
    return GRPC_STATUS_OK;
}

grpc_status_code lanes_client_health(lanes_client_t *c, const char *service, int *serving,
                                     lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    grpc_slice reply;
    if (!st)
        st = &dummy;
    *serving = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__UNKNOWN;
    req.service = (char *)(service ? service : "");
    if (run_unary(c, METHOD_HEALTH, &req.base, &reply, st) != GRPC_STATUS_OK)
        return st->code;
    Grpc__Health__V1__HealthCheckResponse *resp = grpc__health__v1__health_check_response__unpack(
        NULL, GRPC_SLICE_LENGTH(reply), GRPC_SLICE_START_PTR(reply));
    grpc_slice_unref(reply);
    if (!resp)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode the HealthCheckResponse");
    *serving = (int)resp->status;
    grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
    return GRPC_STATUS_OK;
}

/* ---- data chunks of in-memory arrays or a source: Map, Reduce, Acf and Echo ---- */

/* Points bins[] at the next run of elements; returns its length (0 with st set on failure). */
size_t feed_next(feed_t *f, ProtobufCBinaryData *bins, lanes_client_status_t *st)
{
    uint64_t left = f->n - f->sent;
    size_t want = left < f->chunk_elems ? (size_t)left : f->chunk_elems, m;
    const void *arr[LANES_MAP_MAX_INPUTS];
    if (f->source) {
        memset(arr, 0, sizeof arr);
        m = f->source(f->source_ctx, f->sent, want, arr);
        if (m == 0 || m > want) {
            st_set(st, GRPC_STATUS_CANCELLED, "client: source failed at element %llu",
                   (unsigned long long)f->sent);
            return 0;
        }
        for (size_t i = 0; i < f->n_arrays; i++)
            if (!arr[i]) {
                st_set(st, GRPC_STATUS_CANCELLED, "client: source gave no data for array %zu", i);
                return 0;
            }
    } else {
        m = want;
        for (size_t i = 0; i < f->n_arrays; i++)
            arr[i] = (const unsigned char *)f->inputs[i] + f->sent * f->es[i];
    }
    for (size_t i = 0; i < f->n_arrays; i++) {
        bins[i].len = m * f->es[i];
        bins[i].data = (uint8_t *)arr[i];
    }
    f->sent += m;
    return m;
}

/* A job_data_fn over a feed: the next Chunk, none once every element is sent. */
int feed_chunk(void *ctx, const ProtobufCMessage **m, int *last, lanes_client_status_t *st)
{
    feed_t *f = ctx;
    *m = NULL;
    *last = 1;
    if (f->sent == f->n)
        return 0;
    if (feed_next(f, f->bins, st) == 0)
        return -1;
    lanes__v1__chunk__init(&f->chunk);
    f->chunk.n_arrays = f->n_arrays;
    f->chunk.arrays = f->bins;
    *m = &f->chunk.base;
    *last = f->sent == f->n;
    return 0;
}

/* ---- a streamed job's requests: the spec, then the data (client_internal.h says why one builder
 * serves every streamed job) ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        p[n++] = (uint8_t)(v | 0x80);
    p[n++] = (uint8_t)v;
    return n;
}

/* A request holding m as its length-delimited field 'field'. */
static grpc_byte_buffer *pack_request_field(uint32_t field, const ProtobufCMessage *m)
{
    uint8_t head[20];
    size_t len = protobuf_c_message_get_packed_size(m);
    size_t h = put_varint(head, (uint64_t)field << 3 | 2);
    h += put_varint(head + h, len);
    grpc_slice s = grpc_slice_malloc(h + len);
    memcpy(GRPC_SLICE_START_PTR(s), head, h);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s) + h);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

void job_requests_init(job_requests_t *jr, const ProtobufCMessage *spec, job_data_fn data, void *ctx)
{
    memset(jr, 0, sizeof *jr);
    jr->spec = pack_request_field(1, spec);
    jr->data = data;
    jr->ctx = ctx;
}

void job_requests_free(job_requests_t *jr)
{
    if (jr->spec)
        grpc_byte_buffer_destroy(jr->spec);
    if (jr->first)
        grpc_byte_buffer_destroy(jr->first);
    jr->spec = jr->first = NULL;
}

/* The next data message as a request (*bb NULL: none). Returns 0, or -1 with st set. */
static int job_data(job_requests_t *jr, grpc_byte_buffer **bb, int *last, lanes_client_status_t *st)
{
    const ProtobufCMessage *m = NULL;
    *bb = NULL;
    if (jr->data(jr->ctx, &m, last, st))
        return -1;
    if (m)
        *bb = pack_request_field(2, m);
    return 0;
}

grpc_byte_buffer *job_next(void *next_ctx, int *last, lanes_client_status_t *st)
{
    job_requests_t *jr = next_ctx;
    grpc_byte_buffer *bb;
    if (jr->spec) {
        /* Read the first data message now: a job without data ends with the spec. */
        if (job_data(jr, &jr->first, &jr->first_last, st))
            return NULL;
        *last = jr->first == NULL;
        bb = jr->spec;
        jr->spec = NULL;
        return bb;
    }
    if (jr->first) {
        bb = jr->first;
        jr->first = NULL;
        *last = jr->first_last;
        return bb;
    }
    if (job_data(jr, &bb, last, st))
        return NULL;
    if (!bb)
        st_set(st, GRPC_STATUS_INTERNAL, "client: a job's data ended without its last message");
    return bb;
}

/* Delivers received output elements to out or a sink. */
typedef struct drain {
    size_t es;
    uint64_t n, received;
    void *out;
    lanes_client_sink_fn sink;
    void *sink_ctx;
} drain_t;

static int drain_put(drain_t *d, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    if (len % d->es != 0)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: a result chunk of %zu bytes is not a whole "
                                                "number of %zu-byte elements",
                      len, d->es) != 0;
    size_t m = len / d->es;
    if (m > d->n - d->received)
        return st_set(st, GRPC_STATUS_INTERNAL,
                      "client: the server returned more than the %llu elements sent",
                      (unsigned long long)d->n) != 0;
    if (m) {
        if (d->sink) {
            if (d->sink(d->sink_ctx, d->received, data, m))
                return st_set(st, GRPC_STATUS_CANCELLED, "client: sink failed at element %llu",
                              (unsigned long long)d->received) != 0;
        } else if (d->out) {
            memcpy((unsigned char *)d->out + d->received * d->es, data, len);
        }
    }
    d->received += m;
    return 0;
}

/* ---- Map ---- */

typedef struct map_call {
    const lanes_client_map_job_t *job;
    feed_t feed;
    drain_t drain;
    lanes_dtype_t out_dtype;
    int got_summary;
    int once; /* decoding a MapResult: a chunk may hold several pieces */
    lanes_client_summary_t summary;
} map_call_t;

/* A MapSpec and the arrays it points into. */
typedef struct map_spec_buf {
    Lanes__V1__MapSpec spec;
    Lanes__V1__DType dts[LANES_MAP_MAX_INPUTS];
    char *names[LANES_MAP_MAX_INPUTS];
    Lanes__V1__MapSpec__ParamsEntry *entries, **eptrs;
} map_spec_buf_t;

static int map_spec_build(const map_call_t *mc, map_spec_buf_t *b, lanes_client_status_t *st)
{
    const lanes_client_map_job_t *job = mc->job;
    lanes__v1__map_spec__init(&b->spec);
    b->entries = NULL;
    b->eptrs = NULL;
    if (job->n_params) {
        b->entries = calloc(job->n_params, sizeof *b->entries);
        b->eptrs = calloc(job->n_params, sizeof *b->eptrs);
        if (!b->entries || !b->eptrs) {
            free(b->entries);
            free(b->eptrs);
            return st_set(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "client: out of memory") != 0;
        }
    }
    for (size_t i = 0; i < job->n_params; i++) {
        lanes__v1__map_spec__params_entry__init(&b->entries[i]);
        b->entries[i].key = (char *)job->params[i].name;
        b->entries[i].value = job->params[i].value;
        b->eptrs[i] = &b->entries[i];
    }
    for (size_t i = 0; i < job->n_inputs; i++)
        b->dts[i] = (Lanes__V1__DType)job->in_dtypes[i];
    static const char *const default_names[LANES_MAP_MAX_INPUTS] = {"x", "y", "z", "w", "v", "s", "t", "r"};
    int named = 0;
    for (size_t i = 0; i < job->n_inputs; i++) {
        b->names[i] = (char *)(job->in_names[i] ? job->in_names[i] : default_names[i]);
        named |= job->in_names[i] != NULL;
    }
    if (named) {
        b->spec.n_input_names = job->n_inputs;
        b->spec.input_names = b->names;
    }
    b->spec.function = (char *)job->function;
    b->spec.n_input_dtypes = job->n_inputs;
    b->spec.input_dtypes = b->dts;
    b->spec.output_dtype = (Lanes__V1__DType)mc->out_dtype;
    b->spec.n_params = job->n_params;
    b->spec.params = b->eptrs;
    b->spec.backend = (Lanes__V1__Backend)job->backend;
    return 0;
}

static void map_spec_free(map_spec_buf_t *b)
{
    free(b->entries);
    free(b->eptrs);
}

/* MapResponse: oneof { Chunk chunk = 1; JobSummary summary = 2; }; Chunk: repeated bytes arrays = 1.
 * MapResult has the same field numbers (chunk = 1, summary = 2), and its chunk may hold several
 * pieces, in order. */
static int map_on_message(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    map_call_t *mc = ctx;
    const uint8_t *p = data, *end = data + len, *val;
    size_t vlen;
    uint32_t field, wt;
    int r;
    while ((r = wire_next(&p, end, &field, &wt, &val, &vlen)) == 1) {
        if (field == 1 && wt == 2) {
            const uint8_t *q = val, *qend = val + vlen, *arr = NULL;
            size_t alen = 0, narr = 0;
            while ((r = wire_next(&q, qend, &field, &wt, &val, &vlen)) == 1)
                if (field == 1 && wt == 2) {
                    if (mc->once && drain_put(&mc->drain, val, vlen, st))
                        return -1;
                    arr = val;
                    alen = vlen;
                    narr++;
                }
            if (r < 0)
                break;
            if (mc->once)
                continue;
            if (narr != 1)
                return st_set(st, GRPC_STATUS_INTERNAL,
                              "client: a Map result chunk holds %zu arrays instead of 1", narr) != 0;
            if (drain_put(&mc->drain, arr, alen, st))
                return -1;
        } else if (field == 2 && wt == 2) {
            Lanes__V1__JobSummary *s = lanes__v1__job_summary__unpack(NULL, vlen, val);
            if (!s)
                return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a JobSummary") != 0;
            summary_copy(&mc->summary, s);
            mc->got_summary = 1;
            lanes__v1__job_summary__free_unpacked(s, NULL);
        }
    }
    if (r < 0)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a Map reply") != 0;
    return 0;
}

/* The whole job as one MapCall to MapOnce. */
static grpc_status_code map_once(lanes_client_t *c, map_call_t *mc, lanes_client_status_t *st)
{
    const lanes_client_map_job_t *job = mc->job;
    map_spec_buf_t b;
    ProtobufCBinaryData bins[LANES_MAP_MAX_INPUTS];
    Lanes__V1__Chunk chunk = LANES__V1__CHUNK__INIT;
    Lanes__V1__MapCall call = LANES__V1__MAP_CALL__INIT;
    grpc_slice reply;
    if (map_spec_build(mc, &b, st))
        return st->code;
    call.spec = &b.spec;
    if (job->n) {
        for (size_t i = 0; i < job->n_inputs; i++) {
            bins[i].len = (size_t)job->n * mc->feed.es[i];
            bins[i].data = (uint8_t *)job->inputs[i];
        }
        chunk.n_arrays = job->n_inputs;
        chunk.arrays = bins;
        call.chunk = &chunk;
    }
    grpc_status_code code = run_unary(c, METHOD_MAP_ONCE, &call.base, &reply, st);
    map_spec_free(&b);
    if (code != GRPC_STATUS_OK)
        return code;
    mc->once = 1;
    if (map_on_message(mc, GRPC_SLICE_START_PTR(reply), GRPC_SLICE_LENGTH(reply), st) == 0)
        st_ok(st);
    grpc_slice_unref(reply);
    return st->code;
}

grpc_status_code lanes_client_map(lanes_client_t *c, const lanes_client_map_job_t *job,
                                  lanes_client_summary_t *summary, lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    map_call_t mc;
    if (!st)
        st = &dummy;
    if (summary)
        memset(summary, 0, sizeof *summary);
    memset(&mc, 0, sizeof mc);
    mc.job = job;
    mc.out_dtype = job->out_dtype == LANES_DTYPE_INVALID ? LANES_DTYPE_F64 : job->out_dtype;

    if (!job->function || !job->function[0])
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: no function given");
    if (job->n_inputs < 1 || job->n_inputs > LANES_MAP_MAX_INPUTS)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: %zu input arrays (1 to %d allowed)",
                      job->n_inputs, LANES_MAP_MAX_INPUTS);
    if (mc.out_dtype != LANES_DTYPE_F64 && mc.out_dtype != LANES_DTYPE_F32)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: output dtype must be float64 or float32");
    if (job->n_params && !job->params)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: n_params without params");
    size_t row = 0;
    for (size_t i = 0; i < job->n_inputs; i++) {
        size_t es = lanes_dtype_size(job->in_dtypes[i]);
        if (es == 0)
            return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: input %zu has no valid dtype", i);
        if (job->n && !job->source && !job->inputs[i])
            return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: input %zu is NULL", i);
        mc.feed.es[i] = es;
        row += es;
    }
    if (job->n && !job->sink && !job->out)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: no output buffer or sink");

    mc.feed.n_arrays = job->n_inputs;
    mc.feed.inputs = job->inputs;
    mc.feed.source = job->source;
    mc.feed.source_ctx = job->source_ctx;
    mc.feed.n = job->n;
    mc.feed.chunk_elems = chunk_elements(job->chunk_bytes, row, job->n_inputs);
    mc.drain.es = lanes_dtype_size(mc.out_dtype);
    mc.drain.n = job->n;
    mc.drain.out = job->out;
    mc.drain.sink = job->sink;
    mc.drain.sink_ctx = job->sink_ctx;

    /* One message each way: the inputs fit one chunk, and the result fits one message too. */
    int fits = !job->source && job->n <= mc.feed.chunk_elems &&
               job->n * mc.drain.es <= LANES_CLIENT_MAX_MESSAGE_BYTES - 64;
    if (job->call == LANES_CLIENT_CALL_ONCE && !fits)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT,
                      "client: this Map job does not fit one message (or has a source): use the stream");
    grpc_status_code code = GRPC_STATUS_UNIMPLEMENTED;
    if (fits && job->call != LANES_CLIENT_CALL_STREAM) {
        code = map_once(c, &mc, st);
        if (code == GRPC_STATUS_UNIMPLEMENTED && job->call == LANES_CLIENT_CALL_AUTO) {
            mc.drain.received = 0;
            mc.once = 0;
        }
    }
    if (code == GRPC_STATUS_UNIMPLEMENTED && job->call != LANES_CLIENT_CALL_ONCE) {
        map_spec_buf_t b;
        job_requests_t jr;
        if (map_spec_build(&mc, &b, st))
            return st->code;
        job_requests_init(&jr, &b.spec.base, feed_chunk, &mc.feed);
        map_spec_free(&b);
        stream_io_t io = {job_next, &jr, map_on_message, &mc};
        code = run_stream(c, METHOD_MAP, &io, st);
        job_requests_free(&jr);
    }
    if (code != GRPC_STATUS_OK)
        return code;
    if (mc.drain.received != job->n)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: the server returned %llu of %llu elements",
                      (unsigned long long)mc.drain.received, (unsigned long long)job->n);
    if (summary)
        *summary = mc.summary;
    return GRPC_STATUS_OK;
}

/* ---- Reduce ---- */

typedef struct reduce_call {
    const lanes_client_reduce_job_t *job;
    feed_t feed;
    int got_reply;
    lanes_client_reduce_reply_t *reply;
} reduce_call_t;

/* Fills spec (and range, which it points to) from the job. */
static void reduce_spec_build(const lanes_client_reduce_job_t *job, Lanes__V1__ReduceSpec *spec,
                              Lanes__V1__Range *range)
{
    lanes__v1__reduce_spec__init(spec);
    lanes__v1__range__init(range);
    spec->op = (char *)job->op;
    spec->dtype = (Lanes__V1__DType)job->dtype;
    spec->ddof = job->ddof;
    spec->bins = job->bins;
    if (job->has_range) {
        range->lo = job->lo;
        range->hi = job->hi;
        spec->range = range;
    }
    spec->range_from_data = job->range_from_data != 0;
    spec->backend = (Lanes__V1__Backend)job->backend;
}

static int reduce_on_message(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    reduce_call_t *rc = ctx;
    lanes_client_reduce_reply_t *out = rc->reply;
    Lanes__V1__ReduceResponse *r = lanes__v1__reduce_response__unpack(NULL, len, data);
    if (!r)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode the ReduceResponse") != 0;
    lanes_client_reduce_reply_free(out);
    out->dtype = (lanes_dtype_t)r->dtype;
    out->value = r->value;
    out->int_value = r->int_value;
    summary_copy(&out->summary, r->summary);
    int bad = 0;
    if (r->histogram_counts.len || r->histogram_edges.len) {
        size_t bins = r->histogram_counts.len / 8;
        if (r->histogram_counts.len % 8 || r->histogram_edges.len != (bins + 1) * 8) {
            bad = 1;
        } else {
            out->counts = malloc(bins ? bins * 8 : 1);
            out->edges = malloc((bins + 1) * 8);
            if (!out->counts || !out->edges) {
                lanes__v1__reduce_response__free_unpacked(r, NULL);
                lanes_client_reduce_reply_free(out);
                return st_set(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "client: out of memory") != 0;
            }
            memcpy(out->counts, r->histogram_counts.data, bins * 8);
            memcpy(out->edges, r->histogram_edges.data, (bins + 1) * 8);
            out->bins = (uint32_t)bins;
        }
    }
    lanes__v1__reduce_response__free_unpacked(r, NULL);
    if (bad)
        return st_set(st, GRPC_STATUS_INTERNAL,
                      "client: histogram counts and edges in the ReduceResponse do not match") != 0;
    rc->got_reply = 1;
    return 0;
}

/* The whole job as one ReduceCall to ReduceOnce. */
static grpc_status_code reduce_once(lanes_client_t *c, reduce_call_t *rc, lanes_client_status_t *st)
{
    const lanes_client_reduce_job_t *job = rc->job;
    Lanes__V1__ReduceSpec spec;
    Lanes__V1__Range range;
    ProtobufCBinaryData bin;
    Lanes__V1__Chunk chunk = LANES__V1__CHUNK__INIT;
    Lanes__V1__ReduceCall call = LANES__V1__REDUCE_CALL__INIT;
    grpc_slice reply;
    reduce_spec_build(job, &spec, &range);
    call.spec = &spec;
    if (job->n) {
        bin.len = (size_t)job->n * rc->feed.es[0];
        bin.data = (uint8_t *)job->data;
        chunk.n_arrays = 1;
        chunk.arrays = &bin;
        call.chunk = &chunk;
    }
    grpc_status_code code = run_unary(c, METHOD_REDUCE_ONCE, &call.base, &reply, st);
    if (code != GRPC_STATUS_OK)
        return code;
    if (reduce_on_message(rc, GRPC_SLICE_START_PTR(reply), GRPC_SLICE_LENGTH(reply), st) == 0)
        st_ok(st);
    grpc_slice_unref(reply);
    return st->code;
}

void lanes_client_reduce_reply_free(lanes_client_reduce_reply_t *reply)
{
    if (!reply)
        return;
    free(reply->counts);
    free(reply->edges);
    reply->counts = NULL;
    reply->edges = NULL;
    reply->bins = 0;
}

grpc_status_code lanes_client_reduce(lanes_client_t *c, const lanes_client_reduce_job_t *job,
                                     lanes_client_reduce_reply_t *reply, lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    reduce_call_t rc;
    if (!st)
        st = &dummy;
    memset(reply, 0, sizeof *reply);
    memset(&rc, 0, sizeof rc);
    rc.job = job;
    rc.reply = reply;
    if (!job->op || !job->op[0])
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: no reduce op given");
    size_t es = lanes_dtype_size(job->dtype);
    if (es == 0)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: the input has no valid dtype");
    if (job->n && !job->source && !job->data)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: the input is NULL");
    rc.feed.n_arrays = 1;
    rc.feed.es[0] = es;
    rc.feed.inputs = &job->data;
    rc.feed.source = job->source;
    rc.feed.source_ctx = job->source_ctx;
    rc.feed.n = job->n;
    rc.feed.chunk_elems = chunk_elements(job->chunk_bytes, es, 1);

    int fits = !job->source && job->n <= rc.feed.chunk_elems;
    if (job->call == LANES_CLIENT_CALL_ONCE && !fits)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT,
                      "client: this Reduce job does not fit one message (or has a source): use the stream");
    grpc_status_code code = GRPC_STATUS_UNIMPLEMENTED;
    if (fits && job->call != LANES_CLIENT_CALL_STREAM)
        code = reduce_once(c, &rc, st);
    if (code == GRPC_STATUS_UNIMPLEMENTED && job->call != LANES_CLIENT_CALL_ONCE) {
        Lanes__V1__ReduceSpec spec;
        Lanes__V1__Range range;
        job_requests_t jr;
        reduce_spec_build(job, &spec, &range);
        job_requests_init(&jr, &spec.base, feed_chunk, &rc.feed);
        stream_io_t io = {job_next, &jr, reduce_on_message, &rc};
        code = run_stream(c, METHOD_REDUCE, &io, st);
        job_requests_free(&jr);
    }
    if (code != GRPC_STATUS_OK) {
        lanes_client_reduce_reply_free(reply);
        memset(reply, 0, sizeof *reply);
        return code;
    }
    if (!rc.got_reply)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: Reduce returned OK but no ReduceResponse");
    return GRPC_STATUS_OK;
}

/* ---- Echo ---- */

typedef struct echo_call {
    feed_t feed;
    drain_t drain;
} echo_call_t;

static grpc_byte_buffer *echo_next(void *ctx, int *last, lanes_client_status_t *st)
{
    echo_call_t *ec = ctx;
    Lanes__V1__EchoChunk msg = LANES__V1__ECHO_CHUNK__INIT;
    if (ec->feed.n > 0 && feed_next(&ec->feed, &msg.data, st) == 0)
        return NULL;
    /* n == 0: one empty chunk, so the call still has a message to carry. */
    *last = ec->feed.sent == ec->feed.n;
    return pack_message(&msg.base);
}

/* EchoChunk: bytes data = 1. */
static int echo_on_message(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    echo_call_t *ec = ctx;
    const uint8_t *p = data, *end = data + len, *val, *payload = NULL;
    size_t vlen, plen = 0;
    uint32_t field, wt;
    int r;
    while ((r = wire_next(&p, end, &field, &wt, &val, &vlen)) == 1)
        if (field == 1 && wt == 2) {
            payload = val;
            plen = vlen;
        }
    if (r < 0)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode an EchoChunk") != 0;
    return plen ? drain_put(&ec->drain, payload, plen, st) : 0;
}

grpc_status_code lanes_client_echo(lanes_client_t *c, const lanes_client_echo_job_t *job,
                                   uint64_t *bytes_back, lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    echo_call_t ec;
    if (!st)
        st = &dummy;
    if (bytes_back)
        *bytes_back = 0;
    if (job->n && !job->source && !job->data)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: the input is NULL");
    memset(&ec, 0, sizeof ec);
    ec.feed.n_arrays = 1;
    ec.feed.es[0] = 1;
    ec.feed.inputs = &job->data;
    ec.feed.source = job->source;
    ec.feed.source_ctx = job->source_ctx;
    ec.feed.n = job->n;
    ec.feed.chunk_elems = chunk_elements(job->chunk_bytes, 1, 1);
    ec.drain.es = 1;
    ec.drain.n = job->n;
    ec.drain.out = job->out;
    ec.drain.sink = job->sink;
    ec.drain.sink_ctx = job->sink_ctx;

    stream_io_t io = {echo_next, &ec, echo_on_message, &ec};
    if (run_stream(c, METHOD_ECHO, &io, st) != GRPC_STATUS_OK)
        return st->code;
    if (bytes_back)
        *bytes_back = ec.drain.received;
    if (ec.drain.received != job->n)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: Echo returned %llu of %llu bytes",
                      (unsigned long long)ec.drain.received, (unsigned long long)job->n);
    return GRPC_STATUS_OK;
}
