/* lanes backend registry: which compute backends this build has and which are usable now.
 *
 * Design: the registry (registry.c) is the only place that knows the list of backends; everything
 * else, the daemon's router and Info included, asks it. Two lists: the placements the daemon reports
 * (this header: inline, cpu, process-pool, cuda) and the compute backends this build has, which it
 * probes and opens (lanes/backend.h: lanes_registry_backend_*). The registry never initialises CUDA itself:
 * in the daemon the GPU worker processes probe the devices (service/exec/gpu_pool.c) and report them with
 * lanes_registry_set_devices() and lanes_registry_set_available(), which may change at any time (a
 * device goes down and comes back).
 * Every function is thread-safe after init (a mutex guards the table; readers copy entries out).
 */
#ifndef LANES_REGISTRY_H
#define LANES_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lanes_backend_id {
    LANES_BACKEND_INLINE = 1, /* numbers match lanes.v1.Backend */
    LANES_BACKEND_CPU = 2,
    LANES_BACKEND_PROCESS_POOL = 3,
    LANES_BACKEND_CUDA = 4,
} lanes_backend_id_t;

typedef struct lanes_backend_info {
    lanes_backend_id_t id;
    const char *name;   /* static: "inline", "cpu", "process-pool", "cuda" */
    int compiled;       /* built into this binary */
    int available;      /* usable for jobs now */
    char detail[320];   /* what it runs on, or why it is not available */
} lanes_backend_info_t;

typedef struct lanes_device_info {
    int index;
    char name[96];
    uint64_t memory_bytes;
    int cc_major, cc_minor;
} lanes_device_info_t;

/* Lists the backends once with cpu_threads as the OpenMP pool's size. CUDA is listed as compiled or
 * not, unavailable until someone reports devices. Call once from the main thread at start, before any
 * other thread uses the registry; later calls are no-ops. */
void lanes_registry_init(int cpu_threads);

/* Marks a backend as available or not, with a detail (copied). Thread-safe. */
void lanes_registry_set_available(lanes_backend_id_t id, int available, const char *detail);

/* Records the devices (copied; at most 16). Thread-safe. */
void lanes_registry_set_devices(const lanes_device_info_t *devs, int n);

/* Number of backends listed (compiled or not). Thread-safe after init. */
size_t lanes_registry_count(void);

/* Copies backend i (0 <= i < count) into *out. Returns 0 or LANES_EINVAL. Thread-safe after init. */
int lanes_registry_get(size_t i, lanes_backend_info_t *out);

/* Looks a backend up by id. Returns 0 or LANES_EINVAL (unknown id). Thread-safe after init. */
int lanes_registry_find(lanes_backend_id_t id, lanes_backend_info_t *out);

/* Devices reported: copies up to max into out, returns how many exist. Thread-safe after init. */
int lanes_registry_devices(lanes_device_info_t *out, int max);

#ifdef __cplusplus
}
#endif

#endif /* LANES_REGISTRY_H */
