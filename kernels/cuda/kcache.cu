/* NVRTC compilation and the per-context kernel cache of the CUDA backend (kcache.h), plus
 * lanes_cuda_compile_check and lanes_cuda_cache_stats of cuda_api.h.
 *
 * Design: a generated source (cuda_codegen.c) is compiled by NVRTC to PTX for the context's compute
 * capability and loaded with the runtime's library API (cudaLibraryLoadData / cudaLibraryGetKernel,
 * CUDA >= 12): the backend never links the driver API (libcuda), so the daemon starts on machines
 * without a driver. Kernels are launched by their cudaKernel_t with cudaLaunchKernel. The cache is a
 * fixed array of LANES_KCACHE_CAP entries keyed by the full source text (a 64-bit FNV-1a hash first,
 * then strcmp), each with its loaded library; a miss with a full cache unloads the least recently
 * used entry. Every NVRTC call is checked; a source NVRTC rejects is LANES_EINVAL with the compiler's
 * log in the message, never a crash. The cache belongs to the context (ctx->kcache, freed by
 * lanes_cuda_close through ctx->kcache_free) and is used by the context's one thread.
 */
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcache.h"

struct kentry {
    char *source;      /* the key (malloc'd); NULL: free slot */
    uint64_t hash;
    uint64_t last_use;
    cudaLibrary_t lib;
    cudaKernel_t kernel;
    char name[32];
};

struct lanes_cuda_kcache {
    struct kentry e[LANES_KCACHE_CAP];
    uint64_t tick;
    uint64_t compiled, hits;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static int nvrtc_fail(nvrtcResult r, const char *call, lanes_error_t *err)
{
    int code = r == NVRTC_ERROR_OUT_OF_MEMORY ? LANES_ENOMEM
               : (r == NVRTC_ERROR_COMPILATION || r == NVRTC_ERROR_INVALID_INPUT ||
                  r == NVRTC_ERROR_INVALID_OPTION || r == NVRTC_ERROR_INVALID_PROGRAM)
                   ? LANES_EINVAL
                   : LANES_EDEVICE;
    return lanes_error_set(err, code, "%s: %s", call, nvrtcGetErrorString(r));
}

#define LANES_NVRTC(call)                                  \
    do {                                                   \
        nvrtcResult lanes_r_ = (call);                     \
        if (lanes_r_ != NVRTC_SUCCESS) {                   \
            rc = nvrtc_fail(lanes_r_, #call, err);         \
            goto fail;                                     \
        }                                                  \
    } while (0)

int lanes__nvrtc_ptx(const char *source, int cc, char **ptx, lanes_error_t *err)
{
    int rc = 0;
    nvrtcProgram prog = NULL;
    char arch[48];
    size_t size = 0;
    *ptx = NULL;
    if (!source || cc < 10 || cc > 999)
        return lanes_error_set(err, LANES_EINVAL, "NVRTC: no source or a bad compute capability (%d)", cc);
    snprintf(arch, sizeof arch, "--gpu-architecture=compute_%d", cc);
    const char *opts[] = {arch, "--fmad=false", "-default-device", "--std=c++17"};
    LANES_NVRTC(nvrtcCreateProgram(&prog, source, "lanes_expr.cu", 0, NULL, NULL));
    {
        nvrtcResult cr = nvrtcCompileProgram(prog, (int)(sizeof opts / sizeof opts[0]), opts);
        if (cr != NVRTC_SUCCESS) {
            size_t log_size = 0;
            char *log = NULL;
            if (nvrtcGetProgramLogSize(prog, &log_size) == NVRTC_SUCCESS && log_size > 1 &&
                (log = (char *)malloc(log_size)) != NULL && nvrtcGetProgramLog(prog, log) == NVRTC_SUCCESS) {
                rc = lanes_error_set(err, cr == NVRTC_ERROR_COMPILATION ? LANES_EINVAL : LANES_EDEVICE,
                                     "NVRTC could not compile the generated kernel: %s", log);
            } else {
                rc = nvrtc_fail(cr, "nvrtcCompileProgram()", err);
            }
            free(log);
            goto fail;
        }
    }
    LANES_NVRTC(nvrtcGetPTXSize(prog, &size));
    *ptx = (char *)malloc(size ? size : 1);
    if (!*ptx) {
        rc = lanes_error_set(err, LANES_ENOMEM, "out of memory for %zu bytes of PTX", size);
        goto fail;
    }
    LANES_NVRTC(nvrtcGetPTX(prog, *ptx));
fail:
    if (rc != 0) {
        free(*ptx);
        *ptx = NULL;
    }
    if (prog)
        nvrtcDestroyProgram(&prog);
    return rc;
}

extern "C" int lanes_cuda_compile_check(const char *source, int cc, lanes_error_t *err)
{
    char *ptx = NULL;
    int rc = lanes__nvrtc_ptx(source, cc, &ptx, err);
    free(ptx);
    return rc;
}

static void kentry_drop(struct kentry *k)
{
    if (k->lib)
        cudaLibraryUnload(k->lib);
    free(k->source);
    memset(k, 0, sizeof *k);
}

static void kcache_free(lanes_cuda_ctx_t *ctx)
{
    if (!ctx->kcache)
        return;
    for (int i = 0; i < LANES_KCACHE_CAP; i++)
        if (ctx->kcache->e[i].source)
            kentry_drop(&ctx->kcache->e[i]);
    free(ctx->kcache);
    ctx->kcache = NULL;
}

int lanes__kcache_get(lanes_cuda_ctx_t *ctx, const char *source, const char *name, cudaKernel_t *kernel,
                      lanes_error_t *err)
{
    int rc = 0;
    char *ptx = NULL;
    struct kentry *slot = NULL;
    if (!source || !name || strlen(name) >= sizeof slot->name)
        return lanes_error_set(err, LANES_EINVAL, "kernel cache: no source or a bad kernel name");
    if (!ctx->kcache) {
        ctx->kcache = (struct lanes_cuda_kcache *)calloc(1, sizeof *ctx->kcache);
        if (!ctx->kcache)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory for the NVRTC kernel cache");
        ctx->kcache_free = kcache_free;
    }
    struct lanes_cuda_kcache *c = ctx->kcache;
    const uint64_t h = fnv1a(source);
    c->tick++;
    for (int i = 0; i < LANES_KCACHE_CAP; i++) {
        struct kentry *k = &c->e[i];
        if (k->source && k->hash == h && strcmp(k->name, name) == 0 && strcmp(k->source, source) == 0) {
            k->last_use = c->tick;
            c->hits++;
            *kernel = k->kernel;
            return 0;
        }
    }
    /* A miss: compile first (a failure leaves the cache as it was), then take a free or the LRU slot. */
    rc = lanes__nvrtc_ptx(source, ctx->cc, &ptx, err);
    if (rc)
        return rc;
    for (int i = 0; i < LANES_KCACHE_CAP; i++) {
        struct kentry *k = &c->e[i];
        if (!k->source) {
            slot = k;
            break;
        }
        if (!slot || k->last_use < slot->last_use)
            slot = k;
    }
    if (slot->source)
        kentry_drop(slot);
    slot->source = strdup(source);
    if (!slot->source) {
        rc = lanes_error_set(err, LANES_ENOMEM, "out of memory for a kernel cache key");
        goto fail;
    }
    LANES_CU(ctx, cudaLibraryLoadData(&slot->lib, ptx, NULL, NULL, 0, NULL, NULL, 0));
    LANES_CU(ctx, cudaLibraryGetKernel(&slot->kernel, slot->lib, name));
    slot->hash = h;
    slot->last_use = c->tick;
    snprintf(slot->name, sizeof slot->name, "%s", name);
    c->compiled++;
    *kernel = slot->kernel;
    free(ptx);
    return 0;
fail:
    kentry_drop(slot);
    free(ptx);
    return rc;
}

extern "C" void lanes_cuda_cache_stats(const lanes_cuda_ctx_t *ctx, uint64_t *compiled, uint64_t *hits)
{
    uint64_t c = 0, h = 0;
    if (ctx && ctx->kcache) {
        c = ctx->kcache->compiled;
        h = ctx->kcache->hits;
    }
    if (compiled)
        *compiled = c;
    if (hits)
        *hits = h;
}
