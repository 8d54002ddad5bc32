/* The backend registry: the one list of compute backends (inline, cpu, process-pool, cuda), probed
 * once at start.
 *
 * Design: a static table filled by lanes_registry_init(); readers copy entries out, so after init the
 * table is read-only and every reader is thread-safe without a lock. The CUDA entry is probed through
 * cuda_api.h, which a CPU-only build satisfies with cuda_stub.c. The process pool lives in the daemon
 * (service/proc_pool.c): its entry starts "not started" and the daemon marks it at start-up. In this version the CUDA backend is a
 * device probe only: its kernels come with the CUDA issue, so it is never "available" for jobs yet.
 */
#include "lanes/registry.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cuda/cuda_api.h"
#include "lanes/kernels.h"

#define LANES_MAX_DEVICES 16

static lanes_backend_info_t g_backends[4];
static size_t g_n_backends;
static lanes_device_info_t g_devices[LANES_MAX_DEVICES];
static int g_n_devices;
static int g_initialised;

void lanes_registry_init(int cpu_threads)
{
    if (g_initialised)
        return;
    g_initialised = 1;
    if (cpu_threads <= 0)
        cpu_threads = omp_get_num_procs();

    lanes_backend_info_t *b = &g_backends[g_n_backends++];
    *b = (lanes_backend_info_t){.id = LANES_BACKEND_INLINE, .name = "inline", .compiled = 1, .available = 1};
    snprintf(b->detail, sizeof b->detail, "single-threaded SIMD on the RPC thread, for small chunks");

    b = &g_backends[g_n_backends++];
    *b = (lanes_backend_info_t){.id = LANES_BACKEND_CPU, .name = "cpu", .compiled = 1, .available = 1};
    snprintf(b->detail, sizeof b->detail, "OpenMP SIMD pool, %d thread(s) of %d online CPU(s)", cpu_threads,
             omp_get_num_procs());

    b = &g_backends[g_n_backends++];
    *b = (lanes_backend_info_t){.id = LANES_BACKEND_PROCESS_POOL, .name = "process-pool", .compiled = 1};
    snprintf(b->detail, sizeof b->detail, "not started");

    b = &g_backends[g_n_backends++];
    *b = (lanes_backend_info_t){.id = LANES_BACKEND_CUDA, .name = "cuda"};
    char detail[160];
    int n = lanes_cuda_probe(g_devices, LANES_MAX_DEVICES, detail, sizeof detail);
    b->compiled = n != LANES_ENODEV;
    g_n_devices = n > 0 ? n : 0;
    b->available = 0;
    if (b->compiled && g_n_devices > 0)
        snprintf(b->detail, sizeof b->detail, "%s; device probe only, CUDA kernels are not in this version",
                 detail);
    else
        snprintf(b->detail, sizeof b->detail, "%s", detail);
}

void lanes_registry_set_available(lanes_backend_id_t id, int available, const char *detail)
{
    for (size_t i = 0; i < g_n_backends; i++) {
        if (g_backends[i].id == id) {
            g_backends[i].available = available;
            snprintf(g_backends[i].detail, sizeof g_backends[i].detail, "%s", detail ? detail : "");
        }
    }
}

size_t lanes_registry_count(void) { return g_n_backends; }

int lanes_registry_get(size_t i, lanes_backend_info_t *out)
{
    if (i >= g_n_backends)
        return LANES_EINVAL;
    *out = g_backends[i];
    return 0;
}

int lanes_registry_find(lanes_backend_id_t id, lanes_backend_info_t *out)
{
    for (size_t i = 0; i < g_n_backends; i++) {
        if (g_backends[i].id == id) {
            *out = g_backends[i];
            return 0;
        }
    }
    return LANES_EINVAL;
}

int lanes_registry_devices(lanes_device_info_t *out, int max)
{
    for (int i = 0; i < g_n_devices && i < max; i++)
        out[i] = g_devices[i];
    return g_n_devices;
}
