/* What the endpoints share about running a piece on a GPU: turning a GPU call's outcome into either
 * "run it on the CPU now" or the job's status.
 *
 * Design: the router placed the piece on CUDA device p->device; the endpoint called the GPU pool. A
 * device that is down (LANES_ENODEV) or failed during the call (LANES_EDEVICE, now down and being
 * restarted) is not the client's problem: under AUTO the piece is computed on the CPU instead and the
 * summary says so; when the client forced cuda, the job ends with that code (UNAVAILABLE at the edge)
 * and the pool's words. Anything else is the work's own error (an expression NVRTC rejects:
 * LANES_EINVAL; the backend cannot do it: LANES_ENOTSUP), or LANES_EINTERNAL.
 */
#ifndef LANES_RPC_GPU_H
#define LANES_RPC_GPU_H

#include <stddef.h>

#include "lanes/kernels.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* rc and gerr: a gpu_pool.h call's result for the piece x describes. Returns 0 with *use = 1 when it
 * succeeded (use its result); 0 with *use = 0 and x->fell_back set when the caller must compute the
 * piece on the CPU instead; or the job's LANES_E* code with err set (*use = 0). Thread-safe. */
int rpc_gpu_outcome(int rc, const lanes_error_t *gerr, lanes_exec_t *x, int *use, lanes_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* LANES_RPC_GPU_H */
