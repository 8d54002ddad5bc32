/* The router: decides where each piece of a job runs, and says why in words.
 *
 * Design: in this version the backends that run map, reduce and ACF are "inline" (single-threaded
 * SIMD on the RPC thread) and "cpu" (the OpenMP pool). AUTO sends a chunk inline when it has fewer
 * elements than inline_threshold (measured: below it, waking the OpenMP team costs more than it
 * saves), else to the pool. Text (one document: WordCount, WordAcf) is tokenized in order, on one
 * thread: chunks under LANES_ROUTER_TEXT_POOL_BYTES run inline, larger ones on a CPU-pool thread so a
 * big document never holds a completion-queue thread. Corpus batches run on the process pool. A client
 * may force a backend; forcing one that this daemon cannot use for the job is refused up front with a
 * message. The list of backends comes from the registry only.
 */
#ifndef LANES_ROUTER_H
#define LANES_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lanes_job_kind {
    LANES_JOB_MAP,
    LANES_JOB_REDUCE,
    LANES_JOB_ACF,
    LANES_JOB_TEXT,   /* one document; elements are bytes */
    LANES_JOB_CORPUS, /* a batch of documents */
} lanes_job_kind_t;

/* Text chunks of at least this many bytes are tokenized on a CPU-pool thread (about 1 ms of work). */
#define LANES_ROUTER_TEXT_POOL_BYTES (64u * 1024u)

typedef struct lanes_router {
    lanes_job_kind_t kind;
    int forced;                /* lanes.v1.Backend value; 0 = AUTO */
    uint64_t inline_threshold; /* elements */
    int cpu_threads;
} lanes_router_t;

/* Checks a requested backend (lanes.v1.Backend number) for a job kind and fills *r. Returns OK, or
 * INVALID_ARGUMENT (unknown number) / FAILED_PRECONDITION (not available or not for this job) with a
 * message in msg. Thread-safe (reads the registry and cfg). */
lanes_status_t lanes_router_init(lanes_router_t *r, const lanes_config_t *cfg, int requested, lanes_job_kind_t kind,
                                 char *msg, size_t cap);

/* "map", "reduce", "acf", "text", "corpus". */
const char *lanes_router_kind_name(lanes_job_kind_t kind);

/* Where a piece of n elements runs: returns 1 for the CPU pool, 0 for inline on the calling (RPC)
 * thread, and sets *threads to the OpenMP threads its kernel may use (1 for text). */
int lanes_router_place(const lanes_router_t *r, uint64_t n, int *threads);

/* Writes the summary's backend name and reason from what ran: chunk counts and elements per backend. */
void lanes_router_explain(const lanes_router_t *r, uint64_t inline_chunks, uint64_t inline_elems,
                          uint64_t pool_chunks, uint64_t pool_elems, const char **backend, char *reason,
                          size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* LANES_ROUTER_H */
