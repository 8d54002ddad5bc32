/* The CUDA backend's per-device context and its error handling: open/close, the probe, sticky-error
 * detection, the copy-bandwidth baseline and the deliberate fault of the tests.
 *
 * Design: a context is one device's primary context (made current with cudaSetDevice by every entry
 * point), LANES_CUDA_STREAMS non-blocking streams with an event each, and one pinned staging buffer
 * per stream, so a pipeline can copy piece k+1 in on one stream while piece k computes and piece k-1
 * copies out on the other. Device memory is taken with plain cudaMalloc by each operation (never
 * managed memory). An error is "sticky" when CUDA documents that the context is unusable afterwards
 * (cudaErrorIllegalAddress and friends): the context is then marked poisoned and every later call
 * fails, so the owning process (the GPU worker) knows it must exit and be respawned.
 */
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

int lanes__cuda_sticky(cudaError_t e)
{
    switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorMisalignedAddress:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout:
    case cudaErrorUnknown:
        return 1;
    default:
        return 0;
    }
}

int lanes__cuda_fail(lanes_cuda_ctx_t *ctx, cudaError_t e, const char *call, lanes_error_t *err)
{
    int code = e == cudaErrorMemoryAllocation ? LANES_ENOMEM
               : (e == cudaErrorInvalidValue || e == cudaErrorInvalidConfiguration) ? LANES_EINVAL
                                                                                     : LANES_EDEVICE;
    if (ctx && lanes__cuda_sticky(e))
        ctx->poisoned = 1;
    lanes_error_set(err, code, "%s: %s (%s)%s", call, cudaGetErrorString(e), cudaGetErrorName(e),
                    ctx && ctx->poisoned ? "; the device context is lost" : "");
    return code;
}

/* Why the runtime sees no device, in words a user can act on: the runtime reports a missing driver
 * library and a too-old driver alike as cudaErrorInsufficientDriver, so the driver library is looked
 * for here to tell them apart. */
static void explain_no_device(cudaError_t rc, char *detail, size_t cap)
{
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    void *libcuda = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (libcuda)
        dlclose(libcuda);
    const char *env = getenv("CUDA_VISIBLE_DEVICES");
    if (!libcuda && (rc == cudaErrorInsufficientDriver || rc == cudaErrorNoDevice || driver == 0))
        snprintf(detail, cap,
                 "no CUDA device: no NVIDIA driver on this machine (its library libcuda.so.1 was not found; "
                 "install the NVIDIA driver, or in a container run with the NVIDIA container toolkit, "
                 "e.g. docker run --gpus all)");
    else if (rc == cudaErrorInsufficientDriver)
        snprintf(detail, cap,
                 "no CUDA device: the NVIDIA driver is too old: it supports CUDA %d.%d, and lanes was built "
                 "with the CUDA %d.%d runtime (update the driver)",
                 driver / 1000, (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10);
    else if (rc == cudaErrorNoDevice)
        snprintf(detail, cap,
                 "no CUDA device: the NVIDIA driver (CUDA %d.%d) sees no GPU%s%s%s (check nvidia-smi)",
                 driver / 1000, (driver % 1000) / 10, env ? " with CUDA_VISIBLE_DEVICES='" : "", env ? env : "",
                 env ? "'" : "");
    else
        snprintf(detail, cap, "no CUDA device: cudaGetDeviceCount() failed: %s (%s; driver CUDA %d.%d, runtime %d.%d)",
                 cudaGetErrorString(rc), cudaGetErrorName(rc), driver / 1000, (driver % 1000) / 10,
                 runtime / 1000, (runtime % 1000) / 10);
}

extern "C" int lanes_cuda_probe(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap)
{
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess) {
        explain_no_device(rc, detail, detail_cap);
        return 0;
    }
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    for (int i = 0; i < count && i < max; i++) {
        cudaDeviceProp prop;
        memset(&devs[i], 0, sizeof devs[i]);
        devs[i].index = i;
        rc = cudaGetDeviceProperties(&prop, i);
        if (rc != cudaSuccess) {
            snprintf(devs[i].name, sizeof devs[i].name, "unknown (%s)", cudaGetErrorString(rc));
            continue;
        }
        snprintf(devs[i].name, sizeof devs[i].name, "%s", prop.name);
        devs[i].memory_bytes = (uint64_t)prop.totalGlobalMem;
        devs[i].cc_major = prop.major;
        devs[i].cc_minor = prop.minor;
    }
    snprintf(detail, detail_cap, "%d CUDA device(s); runtime %d.%d, driver %d.%d", count, runtime / 1000,
             (runtime % 1000) / 10, driver / 1000, (driver % 1000) / 10);
    return count;
}

extern "C" lanes_cuda_ctx_t *lanes_cuda_open(int device, size_t staging_bytes, lanes_error_t *err)
{
    int rc = 0;
    int count = 0;
    lanes_cuda_ctx_t *ctx = (lanes_cuda_ctx_t *)calloc(1, sizeof *ctx);
    if (!ctx) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory for the CUDA context");
        return NULL;
    }
    ctx->device = device;
    ctx->staging_bytes = staging_bytes ? staging_bytes : (size_t)64 << 20;
    LANES_CU(ctx, cudaGetDeviceCount(&count));
    if (device < 0 || device >= count) {
        lanes_error_set(err, LANES_EINVAL, "CUDA device %d does not exist (%d device(s))", device, count);
        free(ctx);
        return NULL;
    }
    LANES_CU(ctx, cudaSetDevice(device));
    LANES_CU(ctx, cudaDeviceGetAttribute(&ctx->sm_count, cudaDevAttrMultiProcessorCount, device));
    {
        int major = 0, minor = 0;
        LANES_CU(ctx, cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
        LANES_CU(ctx, cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
        ctx->cc = major * 10 + minor;
    }
    for (int s = 0; s < LANES_CUDA_STREAMS; s++) {
        LANES_CU(ctx, cudaStreamCreateWithFlags(&ctx->stream[s], cudaStreamNonBlocking));
        LANES_CU(ctx, cudaEventCreateWithFlags(&ctx->done[s], cudaEventDisableTiming));
        LANES_CU(ctx, cudaHostAlloc(&ctx->pinned[s], ctx->staging_bytes, cudaHostAllocDefault));
    }
    return ctx;
fail:
    if (rc != 0) /* err is set */
        lanes_cuda_close(ctx);
    return NULL;
}

extern "C" void lanes_cuda_close(lanes_cuda_ctx_t *ctx)
{
    if (!ctx)
        return;
    cudaSetDevice(ctx->device);
    if (ctx->kcache_free)
        ctx->kcache_free(ctx);
    for (int s = 0; s < LANES_CUDA_STREAMS; s++) {
        if (ctx->stream[s] && !ctx->poisoned)
            cudaStreamSynchronize(ctx->stream[s]);
        if (ctx->pinned[s])
            cudaFreeHost(ctx->pinned[s]);
        if (ctx->done[s])
            cudaEventDestroy(ctx->done[s]);
        if (ctx->stream[s])
            cudaStreamDestroy(ctx->stream[s]);
    }
    free(ctx);
}

extern "C" int lanes_cuda_poisoned(const lanes_cuda_ctx_t *ctx) { return ctx ? ctx->poisoned : 1; }

/* Checks the context before an operation: current device set, not poisoned, and the runtime's
 * last-error state cleared. A failed runtime call (a cudaMalloc out of memory, a PTX the driver
 * rejects, a cleanup call on an error path ...) leaves its error as the thread's last error; the
 * launchers check their <<<>>> launches with cudaGetLastError, which would report that stale error
 * as the failure of a later, correct launch. A stale sticky error poisons the context. */
int lanes__cuda_enter(lanes_cuda_ctx_t *ctx, lanes_error_t *err)
{
    int rc = 0;
    if (!ctx)
        return lanes_error_set(err, LANES_EINVAL, "no CUDA context");
    if (ctx->poisoned)
        return lanes_error_set(err, LANES_EDEVICE,
                               "CUDA device %d: the context was lost to an earlier error; restart the worker",
                               ctx->device);
    LANES_CU(ctx, cudaSetDevice(ctx->device));
    {
        const cudaError_t stale = cudaGetLastError();
        if (lanes__cuda_sticky(stale)) {
            rc = lanes__cuda_fail(ctx, stale, "cudaGetLastError() (an earlier call)", err);
            goto fail;
        }
    }
    return 0;
fail:
    return rc;
}

extern "C" int lanes_cuda_copy_bandwidth(lanes_cuda_ctx_t *ctx, size_t bytes, int reps, double *bytes_per_ns,
                                         lanes_error_t *err)
{
    void *a = NULL, *b = NULL;
    cudaEvent_t t0 = NULL, t1 = NULL;
    float ms = 0;
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return rc;
    if (bytes == 0 || reps <= 0)
        return lanes_error_set(err, LANES_EINVAL, "copy bandwidth: bytes and reps must be positive");
    cudaStream_t s = ctx->stream[0];
    LANES_CU(ctx, cudaMalloc(&a, bytes));
    LANES_CU(ctx, cudaMalloc(&b, bytes));
    LANES_CU(ctx, cudaMemsetAsync(a, 1, bytes, s));
    LANES_CU(ctx, cudaEventCreate(&t0));
    LANES_CU(ctx, cudaEventCreate(&t1));
    LANES_CU(ctx, cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s)); /* warm-up */
    LANES_CU(ctx, cudaEventRecord(t0, s));
    for (int i = 0; i < reps; i++)
        LANES_CU(ctx, cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
    LANES_CU(ctx, cudaEventRecord(t1, s));
    LANES_CU(ctx, cudaEventSynchronize(t1));
    LANES_CU(ctx, cudaEventElapsedTime(&ms, t0, t1));
    /* A copy reads and writes every byte: count both, as the reduce and map benchmarks count the
     * bytes they move to and from device memory. */
    *bytes_per_ns = 2.0 * (double)bytes * reps / ((double)ms * 1e6);
fail:
    if (t0)
        cudaEventDestroy(t0);
    if (t1)
        cudaEventDestroy(t1);
    cudaFree(a);
    cudaFree(b);
    return rc;
}

/* Stores through an address no allocation covers: the device reports cudaErrorIllegalAddress. */
static __global__ void lanes_fault_kernel(double *p) { p[threadIdx.x] = 1.0; }

extern "C" int lanes_cuda_test_fault(lanes_cuda_ctx_t *ctx, lanes_error_t *err)
{
    int rc = lanes__cuda_enter(ctx, err);
    if (rc)
        return rc;
    lanes_fault_kernel<<<1, 32, 0, ctx->stream[0]>>>((double *)(uintptr_t)0x10);
    LANES_CU(ctx, cudaGetLastError());
    LANES_CU(ctx, cudaStreamSynchronize(ctx->stream[0]));
    return lanes_error_set(err, LANES_EDEVICE, "the deliberate fault did not fault (the device ignored it)");
fail:
    return rc;
}
