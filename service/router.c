/* The router (see router.h). */
#include "router.h"

#include <stdio.h>

#include "lanes/registry.h"

lanes_status_t lanes_router_init(lanes_router_t *r, const lanes_config_t *cfg, int requested, lanes_job_kind_t kind,
                                 char *msg, size_t cap)
{
    r->forced = requested;
    r->inline_threshold = cfg->inline_threshold;
    r->cpu_threads = cfg->threads;
    if (requested == 0)
        return LANES_STATUS_OK;
    lanes_backend_info_t b;
    if (lanes_registry_find((lanes_backend_id_t)requested, &b) != 0) {
        if (requested == LANES_BACKEND_PROCESS_POOL) {
            snprintf(msg, cap, "backend 'process-pool' does not run %s jobs (it runs text jobs)",
                     kind == LANES_JOB_MAP ? "map" : "reduce");
            return LANES_STATUS_FAILED_PRECONDITION;
        }
        snprintf(msg, cap, "unknown backend %d (0 auto, 1 inline, 2 cpu, 3 process-pool, 4 cuda)", requested);
        return LANES_STATUS_INVALID_ARGUMENT;
    }
    if (!b.available) {
        snprintf(msg, cap, "backend '%s' is not available: %s", b.name, b.detail);
        return LANES_STATUS_FAILED_PRECONDITION;
    }
    return LANES_STATUS_OK;
}

int lanes_router_threads(const lanes_router_t *r, uint64_t n)
{
    switch (r->forced) {
    case LANES_BACKEND_INLINE: return 1;
    case LANES_BACKEND_CPU: return r->cpu_threads;
    default: return n < r->inline_threshold ? 1 : r->cpu_threads;
    }
}

void lanes_router_explain(const lanes_router_t *r, uint64_t inline_chunks, uint64_t inline_elems,
                          uint64_t pool_chunks, uint64_t pool_elems, const char **backend, char *reason,
                          size_t cap)
{
    *backend = pool_elems > inline_elems || (pool_elems == inline_elems && pool_chunks > inline_chunks)
                   ? "cpu"
                   : "inline";
    if (r->forced == LANES_BACKEND_INLINE) {
        snprintf(reason, cap, "forced by the client: inline");
    } else if (r->forced == LANES_BACKEND_CPU) {
        snprintf(reason, cap, "forced by the client: cpu (OpenMP pool, %d threads)", r->cpu_threads);
    } else if (pool_chunks == 0) {
        snprintf(reason, cap, "auto: %llu chunk(s), each under inline_threshold %llu elements: inline",
                 (unsigned long long)inline_chunks, (unsigned long long)r->inline_threshold);
    } else if (inline_chunks == 0) {
        snprintf(reason, cap, "auto: %llu chunk(s) of at least inline_threshold %llu elements: cpu (OpenMP pool, %d threads)",
                 (unsigned long long)pool_chunks, (unsigned long long)r->inline_threshold, r->cpu_threads);
    } else {
        snprintf(reason, cap,
                 "auto: %llu chunk(s) (%llu elements) at least inline_threshold %llu ran on the cpu pool (%d threads), "
                 "%llu smaller chunk(s) (%llu elements) inline",
                 (unsigned long long)pool_chunks, (unsigned long long)pool_elems,
                 (unsigned long long)r->inline_threshold, r->cpu_threads, (unsigned long long)inline_chunks,
                 (unsigned long long)inline_elems);
    }
}
