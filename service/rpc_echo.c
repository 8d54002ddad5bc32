/* The Echo endpoint: every request message comes back unchanged, undecoded. It measures the transport
 * alone (gRPC, HTTP/2, one copy in and out), the bound Map is compared against in benchmarks.
 *
 * Design: strictly one message in flight: read, send it back, read the next once the send completed.
 */
#include <pthread.h>
#include <stdlib.h>

#include "rpc.h"

typedef struct echo {
    pthread_mutex_t mu;
    lanes_call_t *call;
    int finished;
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

static void echo_finish(echo_t *e, lanes_status_t code, const char *msg)
{
    pthread_mutex_lock(&e->mu);
    int first = !e->finished;
    e->finished = 1;
    pthread_mutex_unlock(&e->mu);
    if (first)
        lanes_call_finish(e->call, code, msg, NULL, 0);
}

static void echo_on_message(void *ctx, uint8_t *data, size_t len)
{
    echo_t *e = ctx;
    lanes_call_send(e->call, data, len); /* a failure means the call broke: on_cancel follows */
}

static void echo_on_sent(void *ctx, int ok)
{
    echo_t *e = ctx;
    if (ok)
        lanes_call_request_message(e->call);
}

static void echo_on_half_close(void *ctx) { echo_finish(ctx, LANES_STATUS_OK, ""); }
static void echo_on_cancel(void *ctx) { echo_finish(ctx, LANES_STATUS_CANCELLED, "the call was cancelled"); }

static void echo_on_done(void *ctx)
{
    echo_t *e = ctx;
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
