/* The router (see router.h). */
#include "router.h"

#include <stdio.h>

#include "lanes/registry.h"

lanes_status_t lanes_router_init(lanes_router_t *r, const lanes_config_t *cfg, int requested, lanes_job_kind_t kind,
                                 char *msg, size_t cap)
{
    r->kind = kind;
    r->forced = requested;
    r->inline_threshold = cfg->inline_threshold;
    r->cpu_threads = cfg->threads;
    if (requested == 0)
        return LANES_STATUS_OK;
    lanes_backend_info_t b;
    if (requested == LANES_BACKEND_PROCESS_POOL && kind != LANES_JOB_CORPUS) {
        snprintf(msg, cap, "backend 'process-pool' runs batches of documents (the Corpus call), not %s jobs",
                 lanes_router_kind_name(kind));
        return LANES_STATUS_FAILED_PRECONDITION;
    }
    if (kind == LANES_JOB_CORPUS && requested != LANES_BACKEND_PROCESS_POOL) {
        snprintf(msg, cap, "a corpus runs on the process pool only (backend 3), not on backend %d", requested);
        return requested > 0 && requested <= LANES_BACKEND_CUDA ? LANES_STATUS_FAILED_PRECONDITION
                                                                : LANES_STATUS_INVALID_ARGUMENT;
    }
    if (kind == LANES_JOB_TEXT && requested == LANES_BACKEND_CUDA) {
        snprintf(msg, cap, "backend 'cuda' does not run text jobs (inline, cpu, or process-pool via Corpus)");
        return LANES_STATUS_FAILED_PRECONDITION;
    }
    if (lanes_registry_find((lanes_backend_id_t)requested, &b) != 0) {
        snprintf(msg, cap, "unknown backend %d (0 auto, 1 inline, 2 cpu, 3 process-pool, 4 cuda)", requested);
        return LANES_STATUS_INVALID_ARGUMENT;
    }
    if (!b.available) {
        snprintf(msg, cap, "backend '%s' is not available: %s", b.name, b.detail);
        return LANES_STATUS_FAILED_PRECONDITION;
    }
    return LANES_STATUS_OK;
}

const char *lanes_router_kind_name(lanes_job_kind_t kind)
{
    switch (kind) {
    case LANES_JOB_MAP: return "map";
    case LANES_JOB_REDUCE: return "reduce";
    case LANES_JOB_ACF: return "acf";
    case LANES_JOB_TEXT: return "text";
    case LANES_JOB_CORPUS: return "corpus";
    }
    return "?";
}

int lanes_router_place(const lanes_router_t *r, uint64_t n, int *threads)
{
    int pool;
    switch (r->forced) {
    case LANES_BACKEND_INLINE: pool = 0; break;
    case LANES_BACKEND_CPU: pool = 1; break;
    default: pool = r->kind == LANES_JOB_TEXT ? n >= LANES_ROUTER_TEXT_POOL_BYTES : n >= r->inline_threshold;
    }
    *threads = pool && r->kind != LANES_JOB_TEXT ? r->cpu_threads : 1;
    return pool;
}

void lanes_router_explain(const lanes_router_t *r, uint64_t inline_chunks, uint64_t inline_elems,
                          uint64_t pool_chunks, uint64_t pool_elems, const char **backend, char *reason,
                          size_t cap)
{
    const int text = r->kind == LANES_JOB_TEXT;
    *backend = pool_elems > inline_elems || (pool_elems == inline_elems && pool_chunks > inline_chunks)
                   ? "cpu"
                   : "inline";
    if (r->forced == LANES_BACKEND_INLINE) {
        snprintf(reason, cap, "forced by the client: inline");
    } else if (r->forced == LANES_BACKEND_CPU) {
        if (text)
            snprintf(reason, cap, "forced by the client: cpu (a pool thread; one document is tokenized in order)");
        else
            snprintf(reason, cap, "forced by the client: cpu (OpenMP pool, %d threads)", r->cpu_threads);
    } else if (text) {
        snprintf(reason, cap,
                 "auto: one document of %llu bytes, tokenized in order as it streams in: %llu piece(s) under "
                 "%u bytes inline, %llu on a cpu-pool thread (batches of documents go to the process pool: Corpus)",
                 (unsigned long long)(inline_elems + pool_elems), (unsigned long long)inline_chunks,
                 LANES_ROUTER_TEXT_POOL_BYTES, (unsigned long long)pool_chunks);
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
