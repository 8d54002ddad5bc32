/* The registry: the one list of compute backends this build has (cpu, cuda) and of the placements
 * the daemon reports (inline, cpu, process-pool, cuda).
 *
 * Design: the compute backends are a static table of their entry points (backend_impl.h), and this is
 * the only file with per-backend build conditions (ggml's registry): LANES_HAVE_CUDA adds the cuda
 * entry. Opening, probing and supports() go through that table. The placements are a second static
 * table filled by lanes_registry_init() and guarded by one mutex; readers copy entries out. The CUDA
 * placement is "compiled" when the table has the cuda backend and starts unavailable: the daemon's GPU
 * pool (service/exec/gpu_pool.c) probes the devices in its worker processes, so CUDA never starts in
 * the daemon, and marks the placement up or down as its workers come and go. The process pool lives in
 * the daemon too and is marked at start.
 */
#include "lanes/registry.h"

#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backend_impl.h"
#include "lanes/kernels.h"

static const lanes_backend_iface_t *const g_ifaces[] = {
    &lanes__backend_cpu,
#ifdef LANES_HAVE_CUDA
    &lanes__backend_cuda,
#endif
};
#define N_IFACES (sizeof g_ifaces / sizeof g_ifaces[0])

static const char *const g_iface_names[] = {
    "cpu",
#ifdef LANES_HAVE_CUDA
    "cuda",
#endif
    NULL,
};

static const lanes_backend_iface_t *find_iface(const char *name)
{
    for (size_t i = 0; name && i < N_IFACES; i++)
        if (strcmp(g_ifaces[i]->name, name) == 0)
            return g_ifaces[i];
    return NULL;
}

const char *const *lanes_registry_backend_names(void) { return g_iface_names; }

int lanes_registry_backend_probe(const char *name, lanes_device_info_t *devs, int max, char *detail,
                                 size_t detail_cap)
{
    const lanes_backend_iface_t *i = find_iface(name);
    if (!i) {
        snprintf(detail, detail_cap, "backend '%s' is not built into this binary", name ? name : "");
        return LANES_ENODEV;
    }
    return i->probe(devs, max, detail, detail_cap);
}

lanes_backend_t *lanes_registry_backend_open(const char *name, int device, size_t staging_bytes,
                                             lanes_error_t *err)
{
    const lanes_backend_iface_t *i = find_iface(name);
    if (!i) {
        lanes_error_set(err, LANES_ENODEV, "backend '%s' is not built into this binary", name ? name : "");
        return NULL;
    }
    return lanes__backend_open(i, device, staging_bytes, err);
}

int lanes_registry_backend_supports(const char *name, lanes_backend_op_t op, const lanes_backend_spec_t *spec)
{
    const lanes_backend_iface_t *i = find_iface(name);
    return i && lanes__backend_iface_supports(i, op, spec);
}

#define LANES_MAX_DEVICES 16

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static lanes_backend_info_t g_backends[4];
static size_t g_n_backends;
static lanes_device_info_t g_devices[LANES_MAX_DEVICES];
static int g_n_devices;
static int g_initialised;

void lanes_registry_init(int cpu_threads)
{
    pthread_mutex_lock(&g_mu);
    if (g_initialised) {
        pthread_mutex_unlock(&g_mu);
        return;
    }
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
    *b = (lanes_backend_info_t){.id = LANES_BACKEND_CUDA, .name = "cuda", .compiled = find_iface("cuda") != NULL};
    snprintf(b->detail, sizeof b->detail, "%s",
             b->compiled ? "not started: no GPU worker has probed the devices"
                         : "not built: this is a CPU-only build (configure with nvcc present)");
    pthread_mutex_unlock(&g_mu);
}

void lanes_registry_set_available(lanes_backend_id_t id, int available, const char *detail)
{
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < g_n_backends; i++) {
        if (g_backends[i].id == id) {
            g_backends[i].available = available;
            snprintf(g_backends[i].detail, sizeof g_backends[i].detail, "%s", detail ? detail : "");
        }
    }
    pthread_mutex_unlock(&g_mu);
}

void lanes_registry_set_devices(const lanes_device_info_t *devs, int n)
{
    pthread_mutex_lock(&g_mu);
    g_n_devices = n < 0 ? 0 : n > LANES_MAX_DEVICES ? LANES_MAX_DEVICES : n;
    for (int i = 0; i < g_n_devices; i++)
        g_devices[i] = devs[i];
    pthread_mutex_unlock(&g_mu);
}

size_t lanes_registry_count(void)
{
    pthread_mutex_lock(&g_mu);
    size_t n = g_n_backends;
    pthread_mutex_unlock(&g_mu);
    return n;
}

int lanes_registry_get(size_t i, lanes_backend_info_t *out)
{
    int rc = LANES_EINVAL;
    pthread_mutex_lock(&g_mu);
    if (i < g_n_backends) {
        *out = g_backends[i];
        rc = 0;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

int lanes_registry_find(lanes_backend_id_t id, lanes_backend_info_t *out)
{
    int rc = LANES_EINVAL;
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < g_n_backends; i++) {
        if (g_backends[i].id == id) {
            *out = g_backends[i];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

int lanes_registry_devices(lanes_device_info_t *out, int max)
{
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n_devices && i < max; i++)
        out[i] = g_devices[i];
    int n = g_n_devices;
    pthread_mutex_unlock(&g_mu);
    return n;
}
