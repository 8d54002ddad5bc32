/* The chunk pipeline: one engine for every streamed job (Map, Reduce, Acf, WordCount, WordAcf), so the flow control,
 * validation of chunks, routing, timing and summaries are written once.
 *
 * Design: a call's messages are `oneof { Spec spec = 1; Chunk chunk = 2; }`. The engine reads the spec
 * first and hands it to the job's on_spec; then it reads chunks, checks each against the job's input
 * layout, and computes them one at a time in arrival order (inline on the RPC thread for small chunks,
 * on the CPU pool otherwise, as the router says), while the next chunk is being received and the last
 * results are being sent. At most two chunks are held in and a bounded number of result bytes wait
 * to be sent, so a call's memory is O(chunk) whatever the job's size. When the client half-closes and
 * every chunk is computed, a job with a tail (results that exist only at the end, such as the ACF's
 * nlags + 1 values or a word table) produces them in pieces under the same flow control; then the
 * job's final message (summary, result) ends the call.
 *
 * One-message twins (once = 1) reply with every result in one message of at most 4 MiB, so nothing
 * is sent before the end: a job whose result size follows from its element count (a Map: n times the
 * output dtype's size) is refused (RESOURCE_EXHAUSTED, naming the sizes) before anything is computed
 * when it cannot fit, and any other job stops the same way as soon as its queued results pass the
 * bound. A one-message call holds O(reply), never O(job). Every spec is checked for U+0000 in its
 * string fields first, and a text's bytes against the job's max_bytes as they arrive. A job that moved
 * many bytes hands the allocator's free memory back to the system when it ends (malloc_trim).
 *
 * Errors: every callback returns 0 or a LANES_E* code with err filled (lanes/error.h); the engine ends
 * the call with the first failure's code and message, which the edge turns into the client's status
 * (edge/status.c). The engine's own refusals are LANES_EINVAL (a malformed or out-of-order message),
 * LANES_ELIMIT (a one-message reply's bound) and LANES_ENOMEM.
 *
 * Threads: the engine's state is guarded by its mutex; compute runs without it. Only one compute of a
 * job runs at a time, so a job's compute callback never runs concurrently with itself.
 */
#ifndef LANES_PIPELINE_H
#define LANES_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lanes/error.h"
#include "lanes/kernels.h"
#include "lanes/registry.h"
#include "router.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lanes_job lanes_job_t;

/* What a spec says about the chunks that follow. */
typedef struct lanes_job_layout {
    int n_arrays;                           /* arrays per chunk, 0..LANES_MAP_MAX_INPUTS */
    lanes_dtype_t dtypes[LANES_MAP_MAX_INPUTS];
    int bytes;                              /* 1: one array of raw bytes (text); dtypes unused */
    int backend;                            /* requested lanes.v1.Backend */
    size_t out_elem_bytes;                  /* result bytes per element (map: the output dtype's size; 0
                                             * for jobs whose result does not grow with n), for the router */
    /* n_arrays == 0: every input is generated; the engine computes elements 0 .. generated_n - 1 in
     * pieces of generated_piece elements, with no chunk from the client. */
    uint64_t generated_n;
    uint64_t generated_piece;
    /* bytes == 1: the largest document accepted, in bytes (0: no bound). The engine refuses the call
     * (INVALID_ARGUMENT naming max_doc_bytes) with the chunk that passes it, before computing it. */
    uint64_t max_bytes;
} lanes_job_layout_t;

/* Messages a compute produced, in order. */
typedef struct lanes_out_msg {
    uint8_t *buf; /* malloc'ed, framed message */
    size_t len;
    size_t payload; /* array bytes in it */
    struct lanes_out_msg *next;
} lanes_out_msg_t;

typedef struct lanes_out_list {
    lanes_out_msg_t *head, *tail;
} lanes_out_list_t;

/* Appends a message (takes ownership of buf). Returns 0 or -1 (out of memory; buf freed). */
int lanes_out_list_push(lanes_out_list_t *l, uint8_t *buf, size_t len, size_t payload);

/* Statistics the final message reports. */
typedef struct lanes_job_stats {
    uint64_t elements, chunks, bytes_in, bytes_out;
    uint64_t queued_ns, compute_ns, total_ns;
    uint64_t inline_chunks, inline_elems, pool_chunks, pool_elems; /* pool: cpu-pool tasks (cuda ones too) */
    int max_threads;
    const char *backend; /* from the router */
    char reason[320];
} lanes_job_stats_t;

/* Where one compute runs, and (set by the compute) where it really ran. */
typedef struct lanes_exec {
    int threads;    /* OpenMP threads for CPU work (1: inline on the calling thread) */
    int device;     /* >= 0: run the piece on this CUDA device through the GPU pool (gpu_pool.h) */
    int forced;     /* cuda was forced by the client: a device failure ends the job (UNAVAILABLE) */
    int fell_back;  /* set by the compute: the device failed, the piece ran on the CPU instead */
} lanes_exec_t;

/* One piece for a compute: n elements per array, elements index0 .. index0+n-1 of the job. */
typedef struct lanes_job_piece {
    const uint8_t *const *arrays; /* point into *request (NULL arrays for a generated piece) */
    size_t n;
    uint64_t index0;
    /* The received message the arrays point into (malloc'ed, request_len bytes; *request is NULL for
     * a generated piece): the compute may take that buffer over, to write its result in place, by
     * setting *request to NULL. */
    uint8_t **request;
    size_t request_len;
} lanes_job_piece_t;

typedef struct lanes_job_ops {
    const char *name; /* "map", for logs */
    lanes_job_kind_t kind;
    /* The spec's message type (protobuf-c): before on_spec sees a spec, the engine checks each of its
     * string fields for U+0000 (lanes_wire_check_strings) and refuses one holding it. */
    const struct ProtobufCMessageDescriptor *spec_descriptor;
    /* Allocates the job's state (returns NULL when out of memory). */
    void *(*create)(const lanes_config_t *cfg);
    /* Decodes and validates the spec; fills the layout. Returns 0 or a LANES_E* code with err set. */
    int (*on_spec)(void *state, const uint8_t *spec, size_t len, lanes_job_layout_t *layout, lanes_error_t *err);
    /* Computes one piece where x says (x->device >= 0: on that CUDA device, falling back to the CPU
     * with x->threads threads if it fails and cuda was not forced; else with x->threads threads, 1:
     * inline), appending result messages to out. A compute that cannot use a device ignores
     * x->device and runs on the CPU. Returns 0 or a LANES_E* code with err set. Never runs
     * concurrently for one job. */
    int (*compute)(void *state, const lanes_job_piece_t *piece, lanes_exec_t *x, lanes_out_list_t *out,
                   lanes_error_t *err);
    /* (optional) Produces results that exist only once every chunk is computed, one piece per call:
     * appends messages to out (about chunk_bytes of payload at most) and sets *more while pieces
     * remain. Called after the last compute, again while *more is set and the sent queue has room;
     * like compute it runs inline or on the pool ('threads', placed by the job's total size) and
     * never concurrently with itself or compute. Returns 0 or a LANES_E* code with err set. */
    int (*tail)(void *state, int threads, size_t chunk_bytes, lanes_out_list_t *out, int *more, lanes_error_t *err);
    /* Builds the last message (malloc'ed, into *buf and *len) once everything is computed and sent.
     * Returns 0 or a LANES_E* code with err set (then no message is sent). */
    int (*finish)(void *state, const lanes_job_stats_t *stats, uint8_t **buf, size_t *len, lanes_error_t *err);
    void (*destroy)(void *state);
} lanes_job_ops_t;

/* Fills in the lanes_method_t of an endpoint driven by this engine: a stream of spec then chunks, or
 * with once = 1 its unary twin (spec and at most one chunk in the request; the result messages and
 * the final message concatenated into the reply). 'ops' and 'cfg' must outlive the server. Main
 * thread, before the server starts. */
struct lanes_method;
void lanes_pipeline_method(struct lanes_method *m, const char *path, const lanes_job_ops_t *ops,
                           const lanes_config_t *cfg, int once);

/* Packs a JobSummary (protobuf-c) from stats. The caller frees nothing: it fills *s in place, with
 * strings borrowed from stats. */
struct Lanes__V1__JobSummary;
void lanes_pipeline_summary(const lanes_job_stats_t *stats, struct Lanes__V1__JobSummary *s);

#ifdef __cplusplus
}
#endif

#endif /* LANES_PIPELINE_H */
