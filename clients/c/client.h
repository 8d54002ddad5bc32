/* lanes_client: calls to the lanes daemon over the gRPC C core, for the CLI and the benchmark.
 *
 * Design: a client owns one insecure channel and one completion queue (GRPC_CQ_NEXT). Every call runs
 * to completion inside the function that starts it, on the calling thread: unary calls are one batch
 * and one wait; streaming calls (Map, Reduce, Echo) keep exactly one SEND_MESSAGE and one RECV_MESSAGE
 * in flight at once and wait on the queue with grpc_completion_queue_next, so the client sends the
 * next chunk while the daemon's results for earlier chunks stream back, and gRPC's flow control is the
 * only buffer. A Map or Reduce job that fits one message goes instead through the unary twin
 * (MapOnce / ReduceOnce: one round trip), unless the job asks for the stream; a daemon without the
 * twins (UNIMPLEMENTED) gets the stream. Jobs are described by plain structs; the data comes either from memory (pointers) or
 * from a source callback that hands out the next run of elements (so a benchmark can stream 800 MB
 * from a 1 MiB pattern), and results go to a caller buffer or a sink callback.
 *
 * Errors: every call returns a grpc_status_code (GRPC_STATUS_OK = 0) and fills a lanes_client_status_t:
 * the server's code and details verbatim, or a code and message made here for failures on this side
 * (transport errors arrive from gRPC as UNAVAILABLE / DEADLINE_EXCEEDED ...; a reply that breaks the
 * protocol is INTERNAL; bad job arguments are INVALID_ARGUMENT, prefixed "client: ").
 *
 * Threads: one client must not be used by two threads at once; distinct clients may be used from
 * distinct threads concurrently (each has its own queue). lanes_client_new/free take and drop a
 * reference on the gRPC library (grpc_init/grpc_shutdown), so no other set-up is needed.
 */
#ifndef LANES_CLIENT_H
#define LANES_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

#include "lanes/kernels.h"
#include "lanes/v1/lanes.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Payload per data message (all input arrays of a chunk together) unless a job says otherwise. */
#define LANES_CLIENT_DEFAULT_CHUNK_BYTES ((size_t)1 << 20)
/* No message is ever larger than this (the daemon's and stock clients' default receive limit); chunk
 * sizes are clamped so that a packed message, protobuf framing included, fits. */
#define LANES_CLIENT_MAX_MESSAGE_BYTES ((size_t)4 << 20)

typedef struct lanes_client lanes_client_t;

typedef struct lanes_client_status {
    grpc_status_code code; /* GRPC_STATUS_OK on success */
    char message[512];     /* the server's details verbatim, or a message made here; "" when OK */
} lanes_client_status_t;

/* "OK", "INVALID_ARGUMENT", ... as in the gRPC docs; "UNKNOWN_STATUS" for codes out of range. */
const char *lanes_client_status_name(grpc_status_code code);

/* Copy of a JobSummary (see lanes.proto). backend is "" when the server sent none. */
typedef struct lanes_client_summary {
    char backend[32];
    char reason[256];
    uint64_t elements, chunks, bytes_in, bytes_out;
    double queued_seconds, compute_seconds, stream_seconds;
    uint32_t threads;
} lanes_client_summary_t;

/* Creates a client for target ("host:port", any gRPC target string). Connects lazily, on the first
 * call. Returns NULL only when out of memory. The caller owns the client and frees it with
 * lanes_client_free(). target is copied. */
lanes_client_t *lanes_client_new(const char *target);

/* Frees the client (NULL allowed). No call may be running on it. */
void lanes_client_free(lanes_client_t *c);

/* Deadline of each later call: seconds from its start; 0 or less means none (the default). A call past
 * its deadline fails with DEADLINE_EXCEEDED; one that gRPC has not wound down 1 s after its deadline
 * (gRPC core 1.51 sometimes never completes a streaming call cancelled mid-send) is abandoned: the
 * function returns DEADLINE_EXCEEDED and the client goes on with a fresh completion queue, leaving the
 * stuck call's small state allocated for the life of the process. */
void lanes_client_set_timeout(lanes_client_t *c, double seconds);

/* The target given to lanes_client_new(). Owned by the client. */
const char *lanes_client_target(const lanes_client_t *c);

/* ---- unary calls ---- */

/* Calls /lanes.v1.Lanes/Info. On OK, *out is a new message that the caller frees with
 * protobuf_c_message_free_unpacked(&(*out)->base, NULL); otherwise *out is NULL. */
grpc_status_code lanes_client_info(lanes_client_t *c, Lanes__V1__InfoResponse **out,
                                   lanes_client_status_t *st);

/* Calls /grpc.health.v1.Health/Check for service ("" or NULL: the whole server). On OK, *serving is
 * the HealthCheckResponse.ServingStatus number (1 SERVING, 2 NOT_SERVING, 0 UNKNOWN, 3 SERVICE_UNKNOWN). */
grpc_status_code lanes_client_health(lanes_client_t *c, const char *service, int *serving,
                                     lanes_client_status_t *st);

/* "SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN" or "INVALID". Static. */
const char *lanes_client_serving_name(int serving);

/* ---- streaming jobs ---- */

/* Hands out input data: sets arrays[i] (one per input array; one for Reduce and Echo) to elements
 * [offset, offset + m) of input i and returns m, 1 <= m <= n. The pointers need only stay valid until
 * the next call of the source or the end of the job (the data is copied into a message at once).
 * Returns 0 to abort the job (the call is cancelled and reports CANCELLED, "client: source failed"). */
typedef size_t (*lanes_client_source_fn)(void *ctx, uint64_t offset, size_t n, const void **arrays);

/* Receives output elements [offset, offset + n) in order; data is valid during the call only.
 * Returns 0 to go on, nonzero to abort the job (CANCELLED, "client: sink failed"). */
typedef int (*lanes_client_sink_fn)(void *ctx, uint64_t offset, const void *data, size_t n);

/* Which call carries a Map or Reduce job. */
typedef enum lanes_client_call {
    LANES_CLIENT_CALL_AUTO = 0, /* the unary twin if the job has no source and fits one message */
    LANES_CLIENT_CALL_STREAM,   /* always the stream */
    LANES_CLIENT_CALL_ONCE,     /* always the unary twin; INVALID_ARGUMENT if the job does not fit */
} lanes_client_call_t;

typedef struct lanes_client_map_job {
    const char *function;          /* "square", "power", ..., or an expression: "x*x + 1" */
    /* Optional names of the inputs in an expression (borrowed); all NULL: the daemon's defaults
     * x, y, z, w, ... */
    const char *in_names[LANES_MAP_MAX_INPUTS];
    const lanes_param_t *params;   /* n_params scalar parameters (names and array borrowed) */
    size_t n_params;
    size_t n_inputs;               /* 1 .. LANES_MAP_MAX_INPUTS */
    lanes_dtype_t in_dtypes[LANES_MAP_MAX_INPUTS];
    const void *inputs[LANES_MAP_MAX_INPUTS]; /* n elements each; used when source is NULL */
    uint64_t n;                    /* elements per input array (may be 0) */
    lanes_dtype_t out_dtype;       /* F64 (also when LANES_DTYPE_INVALID) or F32 */
    int backend;                   /* a Lanes__V1__Backend number; 0 = auto */
    size_t chunk_bytes;            /* payload per message, all inputs together; 0 = default */
    lanes_client_source_fn source; /* optional, instead of inputs */
    void *source_ctx;
    void *out;                     /* n elements of out_dtype; used when sink is NULL */
    lanes_client_sink_fn sink;     /* optional, instead of out */
    void *sink_ctx;
    lanes_client_call_t call;      /* default AUTO */
} lanes_client_map_job_t;

/* Runs a Map job: streams the spec and the inputs, writes the n results to job->out (or the sink) in
 * order. All job pointers are borrowed for the duration of the call. summary may be NULL. Fails with
 * INTERNAL if the server returns a number of elements other than n. */
grpc_status_code lanes_client_map(lanes_client_t *c, const lanes_client_map_job_t *job,
                                  lanes_client_summary_t *summary, lanes_client_status_t *st);

typedef struct lanes_client_reduce_job {
    const char *op;                /* "sum", "mean", "histogram", ... */
    lanes_dtype_t dtype;
    double ddof;                   /* var, std */
    uint32_t bins;                 /* histogram; 0 = the server's default (10) */
    int has_range;                 /* histogram: sends Range{lo, hi} when nonzero */
    double lo, hi;
    int range_from_data;           /* histogram: lo and hi are the data's min and max (numpy's default
                                      range; float32 edges then use float32 arithmetic, as numpy) */
    int backend;                   /* a Lanes__V1__Backend number; 0 = auto */
    size_t chunk_bytes;            /* 0 = default */
    const void *data;              /* n elements; used when source is NULL */
    uint64_t n;
    lanes_client_source_fn source; /* optional, instead of data */
    void *source_ctx;
    lanes_client_call_t call;      /* default AUTO */
} lanes_client_reduce_job_t;

typedef struct lanes_client_reduce_reply {
    lanes_dtype_t dtype;           /* of the scalar result, as numpy would give it */
    double value;                  /* when dtype is F64 or F32 */
    int64_t int_value;             /* when dtype is I64 or I32 */
    uint32_t bins;                 /* histogram: number of bins, else 0 */
    int64_t *counts;               /* bins counts, malloc'd (NULL if none) */
    double *edges;                 /* bins + 1 edges, malloc'd (NULL if none) */
    lanes_client_summary_t summary;
} lanes_client_reduce_reply_t;

/* Runs a Reduce job. On OK, *reply is filled and owns counts/edges: free them with
 * lanes_client_reduce_reply_free(). On failure *reply is zeroed (freeing it is still allowed). */
grpc_status_code lanes_client_reduce(lanes_client_t *c, const lanes_client_reduce_job_t *job,
                                     lanes_client_reduce_reply_t *reply, lanes_client_status_t *st);

/* Frees the histogram arrays of a reply and zeroes them; NULL allowed. */
void lanes_client_reduce_reply_free(lanes_client_reduce_reply_t *reply);

typedef struct lanes_client_echo_job {
    const void *data;              /* n bytes; used when source is NULL */
    uint64_t n;
    size_t chunk_bytes;            /* 0 = default */
    lanes_client_source_fn source; /* optional, instead of data (elements are bytes) */
    void *source_ctx;
    void *out;                     /* n bytes; optional, used when sink is NULL */
    lanes_client_sink_fn sink;     /* optional */
    void *sink_ctx;
} lanes_client_echo_job_t;

/* Streams n bytes through /lanes.v1.Lanes/Echo in chunks and receives them back (into out or the sink
 * if given, else counted only). *bytes_back (may be NULL) gets the number of bytes received. Fails with
 * INTERNAL if that differs from n. */
grpc_status_code lanes_client_echo(lanes_client_t *c, const lanes_client_echo_job_t *job,
                                   uint64_t *bytes_back, lanes_client_status_t *st);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CLIENT_H */
