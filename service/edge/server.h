/* The daemon's RPC edge: a small event API over the gRPC C core, so that no other file of the daemon
 * includes gRPC headers.
 *
 * Design: server.c owns the completion queue, its threads and every call's gRPC state. An endpoint is
 * a lanes_method_t: a path and callbacks. A call is driven by events delivered to its handler context
 * (a message arrived, the client half-closed, a send completed, the call was cancelled) and by the
 * handler's requests (read the next message, send one, finish). At most one read and one send are in
 * flight per call: a handler asks for the next message only when it has room for it, and sends the
 * next reply only after on_sent, which is the backpressure that keeps a call's memory O(chunk).
 *
 * Threads: callbacks run on completion-queue threads, never with a server lock held, and may be
 * concurrent for one call (a send completing while a message arrives): a handler protects its own
 * state. The lanes_call_* functions may be called from any thread (compute threads send their own
 * results). Callbacks must stay short; long compute goes to the CPU pool.
 *
 * Errors: a handler ends a call with a LANES_E* code and a message (lanes/error.h), the daemon's one
 * currency; only the edge knows gRPC's statuses (status.h).
 *
 * Lifetime: the handler must call lanes_call_finish() exactly once (also after on_cancel); after that
 * it makes no more lanes_call_* calls and receives no more events but on_done, which comes once every
 * operation of the call is over; the handler then frees its context. The lanes_call_t is valid until
 * on_done returns.
 */
#ifndef LANES_SERVER_H
#define LANES_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lanes/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lanes_call lanes_call_t;

typedef struct lanes_method {
    const char *path;      /* "/lanes.v1.Lanes/Map" */
    int unary_request;     /* 1: exactly one request message (unary and server-streaming methods) */
    int control;           /* 1: an operator's call (Health, Info): never counted against max_calls, so
                            * jobs cannot lock health checks out; control calls have a budget of their
                            * own (max_calls again), and they are served while the daemon drains */
    void *arg;             /* passed to start */
    /* A call arrived. Returns the handler context, or NULL when it cannot take the call (the call then
     * gets RESOURCE_EXHAUSTED). For streaming requests the server then reads the first message. */
    void *(*start)(lanes_call_t *call, void *arg);
    /* A request message. The handler owns 'data' (malloc'ed; free it with free()); len may be 0 with
     * data NULL. */
    void (*on_message)(void *ctx, uint8_t *data, size_t len);
    /* The client finished sending (streaming requests only). */
    void (*on_half_close)(void *ctx);
    /* A send completed; ok is 0 if the call broke. (optional) */
    void (*on_sent)(void *ctx, int ok);
    /* The client went away or the call was cancelled: finish soon. */
    void (*on_cancel)(void *ctx);
    /* Everything is over: free ctx. */
    void (*on_done)(void *ctx);
} lanes_method_t;

/* Asks for the next request message (streaming requests). Returns 0, or -1 if the call is finished,
 * cancelled, half-closed or already reading. */
int lanes_call_request_message(lanes_call_t *call);

/* Sends one message. Takes ownership of buf (malloc'ed; freed with free() when gRPC is done with it,
 * also on failure). Returns 0, or -1 if a send is in flight or the call is over. */
int lanes_call_send(lanes_call_t *call, void *buf, size_t len);

/* Ends the call with code (0 or LANES_E*: the edge turns it into the client's gRPC status, status.h)
 * and message (copied), after an optional last message (ownership of buf as in lanes_call_send; NULL
 * for none). If a send is in flight the status follows when it completes. Call exactly once. */
void lanes_call_finish(lanes_call_t *call, int code, const char *message, void *buf, size_t len);

/* Monotonic nanoseconds at which the call arrived. */
uint64_t lanes_call_arrival_ns(const lanes_call_t *call);

/* Starts serving the methods with cfg->cq_threads completion-queue threads, on the connections the
 * listener accepts (listener.h: lanes_listener_open must have succeeded). A streaming call whose
 * client sends nothing, or reads nothing, for cfg->idle_timeout_seconds is ended with
 * DEADLINE_EXCEEDED and a message that says so. 'methods' must outlive the server. Returns 0 or -1
 * with a one-line message in err. Main thread. */
int lanes_server_start(const lanes_config_t *cfg, const lanes_method_t *methods, size_t n_methods, char *err,
                       size_t err_cap);

/* Stops accepting connections; job calls that arrive on open connections get UNAVAILABLE ("lanesd is
 * shutting down"), while Health and Info are still answered; lets in-flight calls run for
 * grace_seconds, cancels the rest with UNAVAILABLE and a message naming the grace period, waits for
 * every call to end and releases gRPC. Returns 0, or -1 if some call did not end within 10 s of its
 * cancellation (each is logged): gRPC is then left as it is and the caller should exit at once.
 * Main thread, once, after lanes_server_start succeeded. */
int lanes_server_stop(double grace_seconds);

/* The edge's counters now: job and control calls in progress, connections open, the connection
 * limit, connections refused since start. Thread-safe. */
typedef struct lanes_server_stats {
    int active_jobs, active_control;
    int open_connections, max_connections;
    unsigned long long refused_connections;
} lanes_server_stats_t;
void lanes_server_stats(lanes_server_stats_t *st);

/* The gRPC core's version string. */
const char *lanes_server_grpc_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_SERVER_H */
