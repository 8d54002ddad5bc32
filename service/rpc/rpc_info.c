/* The Info endpoint, and the helpers the endpoints share (name lists).
 *
 * Design: Info answers from the configuration and the backend registry, both fixed after start, so it
 * needs no lock; uptime, pid, the process pool's state and the router's model, devices and load are
 * read at the time of the call (the router's own functions are thread-safe), and so is the memory the
 * daemon holds: its resident set and its document spools (spool.h), which the resident set misses.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "gpu_pool.h"
#include "lanes/expr.h"
#include "lanes/registry.h"
#include "lanes/v1/lanes.pb-c.h"
#include "proc_pool.h"
#include "router.h"
#include "rpc.h"
#include "server.h"
#include "spool.h"
#include "wire.h"

static const lanes_config_t *g_cfg;
static int g_statm_fd = -1;
static uint64_t g_start_ns;
static char g_map_list[512];
static char g_reduce_list[512];

static void join_names(const char *const *names, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; names[i] && n < cap; i++) {
        int m = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", names[i]);
        if (m < 0)
            break;
        n += (size_t)m;
    }
}

void rpc_init(const lanes_config_t *cfg, uint64_t start_ns)
{
    g_cfg = cfg;
    g_start_ns = start_ns;
    if (g_statm_fd < 0)
        g_statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    join_names(lanes_map_function_names(), g_map_list, sizeof g_map_list);
    join_names(lanes_reduce_op_names(), g_reduce_list, sizeof g_reduce_list);
}

const char *rpc_map_function_list(void) { return g_map_list; }
const char *rpc_reduce_op_list(void) { return g_reduce_list; }

static void *info_start(lanes_call_t *call, void *arg) { return call; }


/* Appends the process pool's live state to its registry detail. */
static void pool_now(char *detail, size_t cap)
{
    lanes_proc_pool_stats_t st;
    lanes_proc_pool_stats(&st);
    size_t len = strlen(detail);
    int n = snprintf(detail + len, cap - len,
                     "; now %d ready, %d busy, %zu queued; %llu documents done, %llu failed, %llu retried; %llu "
                     "worker deaths, %llu respawns; pids",
                     st.ready, st.busy, st.queued, (unsigned long long)st.completed, (unsigned long long)st.failed,
                     (unsigned long long)st.retried, (unsigned long long)st.deaths, (unsigned long long)st.respawns);
    for (int i = 0; i < st.workers && n > 0 && len + (size_t)n < cap; i++) {
        len += (size_t)n;
        n = snprintf(detail + len, cap - len, " %d", st.pid[i]);
    }
}

/* The router's model, then its devices and load now. */
static void router_model_text(char *out, size_t cap)
{
    lanes_cost_model_t m;
    lanes_router_get_model(&m);
    lanes_router_format_model(&m, out, cap);
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "; now: %d cpu thread(s) reserved", lanes_router_cpu_busy());
    for (int d = 0; d < LANES_ROUTER_MAX_DEVICES; d++) {
        len = strlen(out);
        if (len + 1 >= cap)
            break;
        if (lanes_router_device_up(d))
            snprintf(out + len, cap - len, ", cuda device %d up (%d queued)", d, lanes_router_gpu_queue(d));
    }
}

/* The resident set now: the second field of /proc/self/statm (pages), read with pread() on an fd
 * opened once by rpc_init() (a read at offset 0 makes the kernel produce it afresh; 2 us, where
 * opening /proc files costs 70-150 us on the development machines). 0 if unreadable. Thread-safe. */
static uint64_t rss_bytes(void)
{
    char b[128];
    ssize_t n = g_statm_fd >= 0 ? pread(g_statm_fd, b, sizeof b - 1, 0) : -1;
    if (n <= 0)
        return 0;
    b[n] = 0;
    unsigned long long size, resident;
    if (sscanf(b, "%llu %llu", &size, &resident) != 2)
        return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

static void info_on_message(void *ctx, uint8_t *data, size_t len)
{
    lanes_call_t *call = ctx;
    free(data); /* InfoRequest has no fields */
    Lanes__V1__InfoResponse r = LANES__V1__INFO_RESPONSE__INIT;
    r.version = (char *)LANES_VERSION;
    r.grpc_core_version = (char *)lanes_server_grpc_version();

    size_t nb = lanes_registry_count();
    lanes_backend_info_t infos[8];
    Lanes__V1__BackendInfo backends[8], *bp[8];
    if (nb > 8)
        nb = 8;
    for (size_t i = 0; i < nb; i++) {
        lanes_registry_get(i, &infos[i]);
        lanes__v1__backend_info__init(&backends[i]);
        backends[i].name = (char *)infos[i].name;
        backends[i].compiled = infos[i].compiled;
        backends[i].available = infos[i].available;
        backends[i].detail = infos[i].detail;
        if (infos[i].id == LANES_BACKEND_PROCESS_POOL && infos[i].available)
            pool_now(infos[i].detail, sizeof infos[i].detail);
        bp[i] = &backends[i];
    }
    r.n_backends = nb;
    r.backends = bp;

    lanes_device_info_t devs[16];
    int nd = lanes_registry_devices(devs, 16);
    if (nd > 16)
        nd = 16;
    static lanes_gpu_device_stats_t gs[16]; /* large; Info calls are serialised below */
    static pthread_mutex_t gs_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gs_mu);
    int ng = lanes_gpu_pool_stats(gs, 16);
    Lanes__V1__DeviceInfo dinfo[16], *dp[16];
    char cc[16][16];
    for (int i = 0; i < nd; i++) {
        lanes__v1__device_info__init(&dinfo[i]);
        dinfo[i].index = devs[i].index;
        dinfo[i].name = devs[i].name;
        dinfo[i].memory_bytes = devs[i].memory_bytes;
        snprintf(cc[i], sizeof cc[i], "%d.%d", devs[i].cc_major, devs[i].cc_minor);
        dinfo[i].compute_capability = cc[i];
        if (i < ng) {
            dinfo[i].up = gs[i].up;
            dinfo[i].worker_pid = (uint32_t)gs[i].pid;
            dinfo[i].commands = gs[i].commands;
            dinfo[i].failures = gs[i].failures;
            dinfo[i].restarts = gs[i].respawns;
            dinfo[i].last_error = gs[i].last_error;
            dinfo[i].simulated = gs[i].fake;
        } else {
            dinfo[i].last_error = (char *)"";
        }
        dp[i] = &dinfo[i];
    }
    r.n_devices = (size_t)nd;
    r.devices = dp;

    r.cpu_threads = (uint32_t)g_cfg->threads;
    r.cq_threads = (uint32_t)g_cfg->cq_threads;
    r.chunk_bytes = g_cfg->chunk_bytes;
    r.max_message_bytes = g_cfg->max_message_bytes;
    r.inline_threshold = g_cfg->inline_threshold;
    r.max_calls = (uint32_t)g_cfg->max_calls;
    lanes_server_stats_t st;
    lanes_server_stats(&st);
    r.active_calls = (uint32_t)st.active_jobs;
    r.active_control_calls = (uint32_t)st.active_control;
    r.open_connections = (uint32_t)st.open_connections;
    r.max_connections = (uint32_t)st.max_connections;
    r.refused_connections = st.refused_connections;
    r.idle_timeout_seconds = g_cfg->idle_timeout_seconds;
    const char *const *fn = lanes_map_function_names();
    const char *const *ops = lanes_reduce_op_names();
    size_t nf = 0, no = 0;
    while (fn[nf])
        nf++;
    while (ops[no])
        no++;
    r.n_map_functions = nf;
    r.map_functions = (char **)fn;
    r.n_reduce_ops = no;
    r.reduce_ops = (char **)ops;
    const char *const *efn = lanes_expr_function_names();
    size_t ne = 0;
    while (efn[ne])
        ne++;
    r.n_expression_functions = ne;
    r.expression_functions = (char **)efn;
    r.pid = (uint32_t)getpid();
    r.uptime_seconds = (double)(lanes_now_ns() - g_start_ns) * 1e-9;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    r.online_cpus = online > 0 ? (uint32_t)online : 0;
    r.rss_bytes = rss_bytes();
    lanes_spool_usage(&r.spool_bytes, &r.spools);
    r.memory_bytes = r.rss_bytes + r.spool_bytes;
    r.max_doc_bytes = g_cfg->max_doc_bytes;
    char model_text[1024];
    router_model_text(model_text, sizeof model_text);
    r.router_model = model_text;

    uint8_t *buf;
    size_t blen;
    lanes_error_t err = {0};
    int packed = lanes_wire_pack((const ProtobufCMessage *)&r, &buf, &blen, &err);
    pthread_mutex_unlock(&gs_mu);
    if (packed != 0)
        lanes_call_finish(call, packed, err.msg, NULL, 0);
    else
        lanes_call_finish(call, 0, "", buf, blen);
}

static void info_on_cancel(void *ctx) { (void)ctx; /* on_message has already finished the call */ }
static void info_on_done(void *ctx) { (void)ctx; }

const lanes_method_t rpc_info_method = {
    .path = "/lanes.v1.Lanes/Info",
    .unary_request = 1,
    .start = info_start,
    .on_message = info_on_message,
    .on_cancel = info_on_cancel,
    .on_done = info_on_done,
};
