/* lanes_client internals shared by client.c (the call shapes, Info, Health, Map, Reduce, Echo) and
 * client_text.c (Acf, WordCount, WordAcf, Corpus). Not installed, not for callers of client.h.
 *
 * Design: client.c owns the plumbing (run_unary, run_stream, the status helpers, the wire reader, the
 * chunk feeder); the other files only plug jobs into it. The plumbing keeps its short names in the
 * source, but those names are macros for lanes_client__* symbols, so the static library exports only
 * prefixed names (libuv's uv__ convention for internal, non-static functions).
 */
#ifndef LANES_CLIENT_INTERNAL_H
#define LANES_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/byte_buffer.h>

#include "client.h"

#define st_set lanes_client__st_set
#define st_ok lanes_client__st_ok
#define pack_message lanes_client__pack_message
#define wire_next lanes_client__wire_next
#define wire_varint lanes_client__wire_varint
#define copy_str lanes_client__copy_str
#define summary_copy lanes_client__summary_copy
#define chunk_elements lanes_client__chunk_elements
#define run_unary lanes_client__run_unary
#define run_stream lanes_client__run_stream
#define feed_next lanes_client__feed_next
#define feed_chunk lanes_client__feed_chunk
#define job_requests_init lanes_client__job_requests_init
#define job_requests_free lanes_client__job_requests_free
#define job_next lanes_client__job_next

/* Sets st to code and a formatted message; returns code. */
grpc_status_code st_set(lanes_client_status_t *st, grpc_status_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void st_ok(lanes_client_status_t *st);

/* Packs m into a new byte buffer that the caller destroys. */
grpc_byte_buffer *pack_message(const ProtobufCMessage *m);

/* Reads one varint at *p (advancing it). Returns 0, or -1 if malformed or cut. */
int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* The next field of a protobuf message in [*p, end): 1 with its number, wire type and (for
 * length-delimited fields) payload; 0 at the end; -1 if malformed. */
int wire_next(const uint8_t **p, const uint8_t *end, uint32_t *field, uint32_t *wt, const uint8_t **val,
              size_t *vlen);

/* snprintf(dst, cap, "%s", src), NULL as "". */
void copy_str(char *dst, size_t cap, const char *src);

/* Copies a JobSummary (NULL: zeroes dst). */
void summary_copy(lanes_client_summary_t *dst, const Lanes__V1__JobSummary *s);

/* Elements per data message of chunk_bytes payload (0: the default), clamped to fit 4 MiB. */
size_t chunk_elements(size_t chunk_bytes, size_t row_bytes, size_t n_arrays);

/* One request, one response: on OK *reply holds the response bytes (the caller unrefs the slice). */
grpc_status_code run_unary(lanes_client_t *c, const char *method, const ProtobufCMessage *req,
                           grpc_slice *reply, lanes_client_status_t *st);

typedef struct stream_io {
    /* Packs the next request message into a new byte buffer and sets *last when no more follow.
     * Returns NULL with st set to abort the call. A streamed job's next is job_next (below). */
    grpc_byte_buffer *(*next)(void *next_ctx, int *last, lanes_client_status_t *st);
    void *next_ctx;
    /* Consumes one response message. Returns 0, or nonzero with st set to abort the call. */
    int (*on_message)(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st);
    void *ctx;
} stream_io_t;

/* Runs a streaming call of any shape (client, server or bidirectional) to its end: one send and one
 * receive in flight at most. Returns the call's status (also in st). */
grpc_status_code run_stream(lanes_client_t *c, const char *method, const stream_io_t *io,
                            lanes_client_status_t *st);

/* ---- a streamed job's requests: the spec, then the data ----
 * Every streamed request of lanes.proto (MapRequest, ReduceRequest, AcfRequest, WordCountRequest,
 * WordAcfRequest, CorpusRequest) is `oneof msg { XSpec spec = 1; <data> = 2; }`, the data being a
 * Chunk (a Corpus: a DocPiece). So one builder writes every job's requests: field 1 holding the packed
 * spec, then field 2 holding each data message, the very bytes protobuf-c packs for the request with
 * that member set. A job gives the spec and a callback for its data messages. The first data message
 * is read with the spec, so a job without data (no elements, an empty text, no documents) ends its
 * stream with the spec. */

/* Sets *m to the job's next data message (valid until the next call) and *last when no more follow;
 * *m = NULL: the job has no more data (only asked again after *last when there was none at all).
 * Returns 0, or -1 with st set (which aborts the call). */
typedef int (*job_data_fn)(void *ctx, const ProtobufCMessage **m, int *last, lanes_client_status_t *st);

typedef struct job_requests {
    grpc_byte_buffer *spec;    /* the first message, until sent */
    grpc_byte_buffer *first;   /* the first data message, read with the spec, until sent */
    int first_last;
    job_data_fn data;
    void *ctx;
} job_requests_t;

/* Packs spec (borrowed for this call only) as the first request; data and ctx give the rest. */
void job_requests_init(job_requests_t *jr, const ProtobufCMessage *spec, job_data_fn data, void *ctx);
/* Destroys the messages a call did not send. */
void job_requests_free(job_requests_t *jr);
/* stream_io_t's next for every streamed job; next_ctx is its job_requests_t. */
grpc_byte_buffer *job_next(void *next_ctx, int *last, lanes_client_status_t *st);

/* Data chunks of in-memory arrays or a source callback. */
typedef struct feed {
    size_t n_arrays;
    size_t es[LANES_MAP_MAX_INPUTS]; /* bytes per element of each array */
    const void *const *inputs;       /* in-memory arrays, or NULL */
    lanes_client_source_fn source;
    void *source_ctx;
    uint64_t n, sent;
    size_t chunk_elems;
    Lanes__V1__Chunk chunk;          /* feed_chunk's last message, pointing at bins */
    ProtobufCBinaryData bins[LANES_MAP_MAX_INPUTS];
} feed_t;

/* Points bins[] at the next run of elements; returns its length (0 with st set on failure). */
size_t feed_next(feed_t *f, ProtobufCBinaryData *bins, lanes_client_status_t *st);
/* A job_data_fn (ctx: the feed_t): the next Chunk of n_arrays arrays, none once all n are sent. */
int feed_chunk(void *ctx, const ProtobufCMessage **m, int *last, lanes_client_status_t *st);

#endif /* LANES_CLIENT_INTERNAL_H */
