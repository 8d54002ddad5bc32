/* The Echo endpoint: every request message comes back unchanged, undecoded. It measures the transport
 * alone (gRPC, HTTP/2, one copy in and out): the bound Map is compared against in benchmarks.
 *
 * Design: pipelined like Map, so the bound is a fair one: while a message is being sent back, the
 * next one is read and held (at most one held), so receiving and sending overlap. The next read is
 * asked for only when nothing is held, which keeps a call's memory at two messages.
 */
#include <pthread.h>
#include <stdlib.h>

#include "rpc.h"
#include "server.h"

typedef struct echo {
    pthread_mutex_t mu;
    lanes_call_t *call;
    uint8_t *held; /* a received message waiting for the send in flight */
    size_t held_len;
    int sending, half_closed, finished;
} echo_t;

static void *echo_start(lanes_call_t *call, void *arg)
{
    echo_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    pthread_mutex_init(&e->mu, NULL);
    e->call = call;
    return e;
}

/* With e->mu held: finishes the call if the client is done and everything went back. Returns 1 if
 * the caller must call lanes_call_finish (outside no lock is needed: we are inside a callback). */
static int echo_done_locked(echo_t *e)
{
    if (e->finished || !e->half_closed || e->sending || e->held)
        return 0;
    e->finished = 1;
    return 1;
}

static void echo_on_message(void *ctx, uint8_t *data, size_t len)
{
    echo_t *e = ctx;
    pthread_mutex_lock(&e->mu);
    if (e->finished) {
        free(data);
    } else if (e->sending) {
        e->held = data; /* the next read waits until this one is sent */
        e->held_len = len;
    } else {
        e->sending = 1;
        if (lanes_call_send(e->call, data, len) != 0)
            e->sending = 0; /* the call broke: on_cancel follows */
        else
            lanes_call_request_message(e->call);
    }
    pthread_mutex_unlock(&e->mu);
}

static void echo_on_sent(void *ctx, int ok)
{
    echo_t *e = ctx;
    pthread_mutex_lock(&e->mu);
    e->sending = 0;
    if (ok && e->held && !e->finished) {
        uint8_t *data = e->held;
        e->held = NULL;
        e->sending = 1;
        if (lanes_call_send(e->call, data, e->held_len) != 0)
            e->sending = 0;
        else if (!e->half_closed)
            lanes_call_request_message(e->call);
    }
    int done = echo_done_locked(e);
    pthread_mutex_unlock(&e->mu);
    if (done)
        lanes_call_finish(e->call, 0, "", NULL, 0);
}

static void echo_on_half_close(void *ctx)
{
    echo_t *e = ctx;
    pthread_mutex_lock(&e->mu);
    e->half_closed = 1;
    int done = echo_done_locked(e);
    pthread_mutex_unlock(&e->mu);
    if (done)
        lanes_call_finish(e->call, 0, "", NULL, 0);
}

static void echo_on_cancel(void *ctx)
{
    echo_t *e = ctx;
    pthread_mutex_lock(&e->mu);
    int first = !e->finished;
    e->finished = 1;
    pthread_mutex_unlock(&e->mu);
    if (first)
        lanes_call_finish(e->call, LANES_ECANCELED, "the call was cancelled", NULL, 0);
}

static void echo_on_done(void *ctx)
{
    echo_t *e = ctx;
    free(e->held);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

const lanes_method_t rpc_echo_method = {
    .path = "/lanes.v1.Lanes/Echo",
    .unary_request = 0,
    .start = echo_start,
    .on_message = echo_on_message,
    .on_half_close = echo_on_half_close,
    .on_sent = echo_on_sent,
    .on_cancel = echo_on_cancel,
    .on_done = echo_on_done,
};
