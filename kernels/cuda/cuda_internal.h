/* What the CUDA backend's .cu files share: the context (one per device), the checked-call macros,
 * and the error helpers. Internal to kernels/cuda/ (C++ under nvcc).
 *
 * Design: every CUDA, cuFFT and NVRTC call goes through LANES_CU / LANES_CUFFT / LANES_NVRTC, which
 * on failure fill the lanes_error_t named 'err' in scope with the call's text and the library's words,
 * mark the context poisoned when the error is sticky (cudaErrorIllegalAddress, LaunchFailure,
 * MisalignedAddress, Assert, HardwareStackError, IllegalInstruction, InvalidPc, ECC ...), and jump to
 * the function's 'fail:' label. Each operation file owns its own device buffers and frees them at
 * fail:. The context owns the streams and the two pinned staging buffers the pipelines use.
 */
#ifndef LANES_CUDA_INTERNAL_H
#define LANES_CUDA_INTERNAL_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_api.h"

#define LANES_CUDA_STREAMS 2

struct lanes_cuda_ctx {
    int device;
    int poisoned;
    cudaStream_t stream[LANES_CUDA_STREAMS];
    cudaEvent_t done[LANES_CUDA_STREAMS];   /* the last work queued on each stream */
    void *pinned[LANES_CUDA_STREAMS];       /* staging_bytes each (cudaHostAlloc) */
    size_t staging_bytes;
    int sm_count;
    int cc;                                 /* compute capability, major*10 + minor */
    struct lanes_cuda_kcache *kcache;       /* NVRTC kernels (map.cu / reduce.cu), made on first use */
    void (*kcache_free)(struct lanes_cuda_ctx *ctx); /* set with kcache; lanes_cuda_close calls it */
};

/* 1 if e poisons the context (a sticky error: the process must be restarted to use the device). */
int lanes__cuda_sticky(cudaError_t e);
/* Records a failed CUDA call: fills err ("cudaMemcpyAsync(...): an illegal memory access was
 * encountered"), marks ctx poisoned when sticky; returns LANES_ENOMEM, LANES_EINVAL or LANES_EDEVICE. */
int lanes__cuda_fail(lanes_cuda_ctx_t *ctx, cudaError_t e, const char *call, lanes_error_t *err);

/* Checks ctx before an operation (not NULL, not poisoned), makes its device current and clears the
 * runtime's last error left by an earlier failed call (so cudaGetLastError after a launch reports only
 * that launch; a stale sticky error poisons ctx). Returns 0 or a LANES_E* code with err set. */
int lanes__cuda_enter(lanes_cuda_ctx_t *ctx, lanes_error_t *err);

/* In a function with 'int rc', 'lanes_error_t *err' and a 'fail:' label. */
#define LANES_CU(ctx, call)                                                   \
    do {                                                                      \
        cudaError_t lanes_e_ = (call);                                        \
        if (lanes_e_ != cudaSuccess) {                                        \
            rc = lanes__cuda_fail((ctx), lanes_e_, #call, err);               \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

/* Records a failed cuFFT call (result: its cufftResult): fills err with the call and cuFFT's words.
 * cuFFT errors are not sticky by themselves; the context is marked poisoned only when the CUDA runtime
 * reports a sticky error (the runtime's last error is read, and cleared if not sticky). Returns
 * LANES_ENOMEM, LANES_EINVAL or LANES_EDEVICE. Defined in acf.cu. */
int lanes__cufft_fail(lanes_cuda_ctx_t *ctx, int result, const char *call, lanes_error_t *err);

/* As LANES_CU, for cuFFT calls. */
#define LANES_CUFFT(ctx, call)                                                \
    do {                                                                      \
        int lanes_r_ = (int)(call);                                           \
        if (lanes_r_ != 0) {                                                  \
            rc = lanes__cufft_fail((ctx), lanes_r_, #call, err);              \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

#endif /* LANES_CUDA_INTERNAL_H */
