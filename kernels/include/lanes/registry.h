/* lanes backend registry: which compute backends this build has and which are usable now.
 *
 * Design: the registry (registry.c) is the only place that knows the list of backends; everything
 * else, the daemon's router and Info included, asks it. Probing a device happens once, at
 * lanes_registry_init(), and is cached: CUDA is initialised in the calling process then, never lazily
 * from an RPC thread.
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

/* Probes the backends once (CUDA devices included) with cpu_threads as the OpenMP pool's size.
 * Call once from the main thread at start, before any RPC thread runs; later calls are no-ops.
 * Not thread-safe against the other functions here while it runs. */
void lanes_registry_init(int cpu_threads);

/* Marks a backend that the embedding program runs itself (the daemon's process pool) as available or
 * not, with a detail (copied). Main thread, after init and before any reader thread runs. */
void lanes_registry_set_available(lanes_backend_id_t id, int available, const char *detail);

/* Number of backends listed (compiled or not). Thread-safe after init. */
size_t lanes_registry_count(void);

/* Copies backend i (0 <= i < count) into *out. Returns 0 or LANES_EINVAL. Thread-safe after init. */
int lanes_registry_get(size_t i, lanes_backend_info_t *out);

/* Looks a backend up by id. Returns 0 or LANES_EINVAL (unknown id). Thread-safe after init. */
int lanes_registry_find(lanes_backend_id_t id, lanes_backend_info_t *out);

/* Devices seen at init: copies up to max into out, returns how many exist. Thread-safe after init. */
int lanes_registry_devices(lanes_device_info_t *out, int max);

#ifdef __cplusplus
}
#endif

#endif /* LANES_REGISTRY_H */
