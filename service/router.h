/* The router: decides where each piece of a job runs, and says why in words.
 *
 * Design: in this version the backends that run map and reduce are "inline" (single-threaded SIMD on
 * the RPC thread) and "cpu" (the OpenMP pool). AUTO sends a chunk inline when it has fewer elements
 * than inline_threshold (measured: below it, waking the OpenMP team costs more than it saves), else to
 * the pool. A client may force a backend; forcing one that this daemon cannot use for the job is
 * refused up front with a message. The list of backends comes from the registry only.
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

typedef enum lanes_job_kind { LANES_JOB_MAP, LANES_JOB_REDUCE } lanes_job_kind_t;

typedef struct lanes_router {
    int forced;                /* lanes.v1.Backend value; 0 = AUTO */
    uint64_t inline_threshold; /* elements */
    int cpu_threads;
} lanes_router_t;

/* Checks a requested backend (lanes.v1.Backend number) for a job kind and fills *r. Returns OK, or
 * INVALID_ARGUMENT (unknown number) / FAILED_PRECONDITION (not available or not for this job) with a
 * message in msg. Thread-safe (reads the registry and cfg). */
lanes_status_t lanes_router_init(lanes_router_t *r, const lanes_config_t *cfg, int requested, lanes_job_kind_t kind,
                                 char *msg, size_t cap);

/* Threads to run a chunk of n elements with: 1 means inline, more means the OpenMP pool. */
int lanes_router_threads(const lanes_router_t *r, uint64_t n);

/* Writes the summary's backend name and reason from what ran: chunk counts and elements per backend. */
void lanes_router_explain(const lanes_router_t *r, uint64_t inline_chunks, uint64_t inline_elems,
                          uint64_t pool_chunks, uint64_t pool_elems, const char **backend, char *reason,
                          size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* LANES_ROUTER_H */
