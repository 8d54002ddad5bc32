/* The NVRTC side of the CUDA backend, shared by map.cu and reduce.cu: compiling generated sources
 * and the per-context cache of loaded kernels (kcache.cu). Internal to kernels/cuda/.
 */
#ifndef LANES_CUDA_KCACHE_H
#define LANES_CUDA_KCACHE_H

#include "cuda_internal.h"

/* Compiles 'source' for compute capability cc (e.g. 90) to PTX with the backend's options
 * (--gpu-architecture=compute_<cc> --fmad=false -default-device --std=c++17). On success *ptx is a
 * malloc'd NUL-terminated string the caller frees. Returns 0, LANES_EINVAL with NVRTC's log in err
 * (the source does not compile), LANES_ENOMEM or LANES_EDEVICE. Thread-safe. */
int lanes__nvrtc_ptx(const char *source, int cc, char **ptx, lanes_error_t *err);

/* The kernel 'name' of 'source' compiled for ctx's device and loaded (cudaLibraryLoadData), from the
 * context's cache (keyed by the source text; least recently used of LANES_KCACHE_CAP dropped first)
 * or compiled on a miss. The kernel stays valid until LANES_KCACHE_CAP other sources were asked for
 * or the context closes: use it before the next call. Creates ctx->kcache on first use. Returns 0 or
 * a LANES_E* code with err set (a compile error is LANES_EINVAL, never a crash). One thread per
 * context, as the context. */
#define LANES_KCACHE_CAP 64
int lanes__kcache_get(lanes_cuda_ctx_t *ctx, const char *source, const char *name, cudaKernel_t *kernel,
                      lanes_error_t *err);

#endif /* LANES_CUDA_KCACHE_H */
