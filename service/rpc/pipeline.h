/* The chunk pipeline: one engine for every streamed job (Map, Reduce, Acf, WordCount, WordAcf, Corpus), so
 * the references, the fail path, the send queue, flow control, validation of chunks, routing, timing
 * and summaries are written once.
 *
 * Design: a job is computed here or on an asynchronous executor.
 *
 * A job computed here (ops->compute) reads messages `oneof { Spec spec = 1; Chunk chunk = 2; }`. The
 * engine reads the spec first and hands it to the job's on_spec; then it reads chunks, checks each
 * against the job's input layout, and computes them one at a time in arrival order (inline on the RPC
 * thread for small chunks, on the CPU pool otherwise, as the router says), while the next chunk is
 * being received and the last results are being sent. At most two chunks are held in and a bounded
 * number of result bytes wait to be sent, so a call's memory is O(chunk) whatever the job's size.
 * When the client half-closes and every chunk is computed, a job with a tail (results that exist only
 * at the end, such as the ACF's nlags + 1 values or a word table) produces them in pieces under the
 * same flow control; then the job's final message (summary, result) ends the call.
 *
 * An asynchronous job (ops->submit; Corpus) has its own message type: the job's on_message decodes
 * each request message into the spec, a piece of the current unit (which the job keeps itself, e.g.
 * a document's spool) or a piece that ends the unit. An ended unit goes at once to the job's executor
 * (ops->submit: the process pool), which completes it later on its own thread through
 * lanes_pipeline_unit_done(); up to layout.max_units units are in flight, and each completion's messages
 * (ops->unit_done) are queued in completion order, not in the order the units were sent. A unit that
 * fails (a document too large, a worker that died) fails only itself: its result messages say so.
 * A protocol error (a message out of order) fails the call. After the half-close and the last
 * completion, the job's finish builds the final message as for any job.
 *
 * Flow control, one rule: results are sent one at a time, in order; a compute starts only while the
 * unsent results are under two chunks' worth; the next message is read while the work held or running
 * is under the job's bound: two chunks for a job computed here (one computing, one received behind
 * it), layout.max_units units for an asynchronous job, whose units leave for the executor as they end
 * so that the results' room gates its reading too. Nothing else is buffered.
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
 * Lifetime: a job holds one reference for the call (dropped when the edge is done with it), one per
 * queued CPU-pool task and one per unit in flight on an executor. An executor's completion may come
 * after the call ended (a failure or a cancellation ends the call at once, without waiting for units
 * in flight; the job's ops->cancel asks the executor to drop the ones it has not started): the job and
 * its state stay alive until that unit's lanes_pipeline_unit_done() drops its reference, which hands the
 * result to ops->unit_done with out = NULL, only to be released. The job's state is destroyed when
 * the last reference goes.
 *
 * Threads: the engine's state is guarded by its mutex; compute runs without it. Only one compute of a
 * job runs at a time, so a job's compute callback never runs concurrently with itself. on_message,
 * submit, unit_done and cancel run under the engine's mutex (so they never run concurrently with each
 * other), on the RPC thread or, for unit_done, the executor's.
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
    /* An asynchronous job (ops->submit): the most units in flight at once on its executor (0: 1). */
    size_t max_units;
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

/* What an asynchronous job's on_message found in a request message. */
typedef struct lanes_job_msg {
    const uint8_t *spec; /* the message is the spec: its body (into the message), for on_spec */
    size_t spec_len;
    int unit_ready;      /* the message ended a unit that is ready for the executor (ops->submit) */
} lanes_job_msg_t;

typedef struct lanes_job_ops {
    const char *name; /* "map", for logs */
    lanes_job_kind_t kind;
    /* The spec's message type (protobuf-c): before on_spec sees a spec, the engine checks each of its
     * string fields for U+0000 (lanes_wire_check_strings) and refuses one holding it. */
    const struct ProtobufCMessageDescriptor *spec_descriptor;
    /* Allocates the job's state (returns NULL when out of memory). */
    void *(*create)(const lanes_config_t *cfg);
    /* Decodes and validates the spec; fills the layout. Returns 0 or a LANES_E* code with err set. After
     * it succeeds, the engine checks the requested backend (layout->backend, lanes_router_init). */
    int (*on_spec)(void *state, const uint8_t *spec, size_t len, lanes_job_layout_t *layout, lanes_error_t *err);
    /* Computes one piece where x says (x->device >= 0: on that CUDA device, falling back to the CPU
     * with x->threads threads if it fails and cuda was not forced; else with x->threads threads, 1:
     * inline), appending result messages to out. A compute that cannot use a device ignores
     * x->device and runs on the CPU. Returns 0 or a LANES_E* code with err set. Never runs
     * concurrently for one job. NULL for an asynchronous job (submit below). */
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

    /* Asynchronous jobs (see the design above): compute and tail are NULL, the four below are set
     * (cancel optional). All of them run under the engine's mutex and must be short. */
    /* Decodes one request message (msg, len: borrowed for the call) of the job's own type, given
     * whether the spec came already (have_spec): sets m->spec for the spec, or takes in a piece of the
     * current unit, setting m->unit_ready when the piece ends a unit the executor is to run. A unit
     * that fails at once appends its result messages to out. Returns 0, or a LANES_E* code with err
     * set for a protocol error (that fails the call). */
    int (*on_message)(void *state, int have_spec, const uint8_t *msg, size_t len, lanes_job_msg_t *m,
                      lanes_out_list_t *out, lanes_error_t *err);
    /* The client half-closed: returns 0 if the request stream may end here, else a LANES_E* code with
     * err set (no spec; inside a unit). */
    int (*on_end)(void *state, int have_spec, lanes_error_t *err);
    /* Hands the unit on_message just ended to the executor, whose completion must call
     * lanes_pipeline_unit_done(job, result) exactly once. Returns 1 when the executor took the unit (the
     * engine then holds a reference for it), 0 when the unit failed at once (its result messages
     * appended to out), or a LANES_E* code with err set (fails the call). */
    int (*submit)(void *state, lanes_job_t *job, lanes_out_list_t *out, lanes_error_t *err);
    /* A unit completed with result (the job's own type, handed over): appends its messages to out and
     * releases the result. out is NULL once the call has ended: then it only releases the result.
     * Returns 0 or a LANES_E* code with err set (fails the call). */
    int (*unit_done)(void *state, void *result, lanes_out_list_t *out, lanes_error_t *err);
    /* (optional) The call ended with an error while units are in flight: asks the executor to drop
     * those not started (their completions still come). */
    void (*cancel)(void *state);
} lanes_job_ops_t;

/* An asynchronous job's unit completed (ops->submit took it): hands result to ops->unit_done, queues
 * its messages and drops the unit's reference to job (the job may be freed before this returns).
 * Call exactly once per unit taken, from any thread holding none of the engine's locks. */
void lanes_pipeline_unit_done(lanes_job_t *job, void *result);

/* Fills in the lanes_method_t of an endpoint driven by this engine: a stream of spec then chunks (an
 * asynchronous job: its own messages), or with once = 1 its unary twin (spec and at most one chunk in
 * the request; the result messages and the final message concatenated into the reply). 'ops' and 'cfg' must outlive the server. Main
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
