/* GPU worker mode of lanesd ("lanesd --gpu-worker FD DEVICE STAGING_MB"): one process per CUDA
 * device, driven by the daemon's GPU pool over the protocol of gpu_proto.h.
 *
 * Design: the worker opens its device (cuda_api.h) and serves one command at a time: it maps the
 * pool's shared arena, compiles the command's expression (the kernels' cache), runs the CUDA kernel
 * and answers. When a CUDA error poisons the context the worker replies with poisoned = 1 and exits
 * with status 3; the pool respawns it. It asks for SIGKILL when the pool's thread goes
 * (PR_SET_PDEATHSIG). The device operations come through a table (lanes_gpu_device_ops_t): the CUDA
 * backend in every build; in test builds (lanesd-test, test_hooks.c) a simulated device may replace
 * it, so the pool's routing, fault handling and respawns are tested on machines without a GPU.
 */
#ifndef LANES_GPU_WORKER_H
#define LANES_GPU_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_proto.h"
#include "lanes/acf.h"
#include "lanes/expr.h"
#include "lanes/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a device does for the worker. Every function returns 0 or a LANES_E* code with err set. */
typedef struct lanes_gpu_device_ops {
    const char *name;
    /* Opens device 'device', filling hello (ok, n_devices, info, detail, fake). NULL when it cannot. */
    void *(*open)(int device, size_t staging_bytes, lanes_gpu_hello_t *hello);
    int (*map)(void *dev, const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
               uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype, lanes_error_t *err);
    int (*partials)(void *dev, const lanes_reduce_spec_t *spec, const lanes_expr_t *e, const lanes_expr_binding_t *b,
                    const double *params, const void *data, uint64_t index0, size_t n_blocks,
                    lanes_reduce_partial_t *out, lanes_error_t *err);
    int (*histogram)(void *dev, const lanes_reduce_spec_t *spec, const lanes_histogram_params_t *hp,
                     const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params, const void *data,
                     uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err);
    /* r[0..nlags] of buf (nlags + used doubles); max_used bounds 'used' for the whole job. */
    int (*acf)(void *dev, const double *buf, size_t nlags, size_t used, size_t max_used, double *r,
               lanes_error_t *err);
    int (*fault)(void *dev, lanes_error_t *err);
    int (*poisoned)(void *dev);
    void (*close)(void *dev);
} lanes_gpu_device_ops_t;

/* Runs GPU worker mode; argv is "lanesd --gpu-worker FD DEVICE [STAGING_MB]". Returns the exit
 * status: 0 at EOF, 2 for bad arguments, 1 when the socket fails, 3 after a poisoned context. Call
 * first in main(), before any thread exists. */
int lanes_gpu_worker_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* LANES_GPU_WORKER_H */
