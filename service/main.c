/* lanesd: start-up, signals and shutdown.
 *
 * Design: configuration is read and validated first (a bad value is fatal and named); SIGTERM and
 * SIGINT are blocked before any thread exists, so every thread (gRPC's included) inherits the mask and
 * the main thread alone takes them with sigwait(). The backend registry probes devices before gRPC
 * starts. The subsystems (the CPU pool, the process pool, the GPU pool, the gRPC server) start from
 * one table, in its order; a start that fails has logged why and left nothing of its own running, and
 * the ones before it stop in reverse order (exit status 1). On a signal the same table is unwound:
 * health turns NOT_SERVING, in-flight calls get grace_seconds, the rest are cancelled, the GPU pool's
 * queued pieces reach their devices, the pools stop, and the process exits 0.
 *
 * "lanesd --calibrate [FILE]" (calibrate.c) measures the router's cost constants, writes them and exits;
 * at start the router's model comes from calibration_file (a bad file is fatal), a quick calibration
 * (calibrate_at_start) or the built-in defaults.
 *
 * GPU worker mode ("lanesd --gpu-worker FD DEVICE STAGING_MB", gpu_worker.c) too: the GPU pool starts
 * one per device, and only those processes ever initialise CUDA.
 *
 * Worker mode ("lanesd --worker FD MEMORY_MB", worker.c) is decided before anything else: the process
 * pool starts its workers from this binary with posix_spawn (never a bare fork: by then gRPC and
 * OpenMP threads exist), before the server starts.
 *
 * OpenMP's idle workers spin by default after each parallel region; on a daemon whose RPC threads
 * share the cores that steals CPU from the transport (measured on 2 cores: streaming Map at 291 MB/s
 * with spinning workers, 476 MB/s with passive ones). libgomp reads OMP_WAIT_POLICY when it loads,
 * before main, so lanesd sets it to passive and re-executes itself once, unless the user set it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "calibrate.h"
#include "config.h"
#include "gpu_pool.h"
#include "gpu_worker.h"
#include "helper_spawn.h"
#include "listener.h"
#include "test_hooks.h"
#include "cpu_pool.h"
#include "lanes/registry.h"
#include "log.h"
#include "proc_pool.h"
#include "rpc.h"
#include "server.h"
#include "worker.h"

extern char **environ;

static int write_port_file(const char *path, int port)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Re-executes this program with OMP_WAIT_POLICY=passive unless the variable is set (see above). Runs
 * first in main, before any thread exists. Returns only if the variable was set or exec failed. */
static void ensure_passive_openmp(char **argv)
{
    if (getenv("OMP_WAIT_POLICY"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): run on with OpenMP's default policy. */
}

/* Starts the process pool (proc_workers: -1 is auto, 0 is none) and logs its size. Returns 0 or -1
 * (logged). */
static int start_proc_pool(lanes_config_t *cfg)
{
    if (cfg->proc_workers < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->proc_workers = n < 1 ? 1 : n > LANES_PROC_WORKERS_AUTO_MAX ? LANES_PROC_WORKERS_AUTO_MAX : (int)n;
    }
    if (cfg->proc_workers == 0) {
        lanes_log(LANES_LOG_INFO, 0, "process pool: off (proc_workers = 0)");
        lanes_registry_set_available(LANES_BACKEND_PROCESS_POOL, 0, "off: proc_workers = 0");
        return 0;
    }
    lanes_proc_pool_config_t pc = {
        .workers = cfg->proc_workers,
        .memory_mb = (unsigned)cfg->worker_memory_mb,
        .retries = (unsigned)cfg->worker_retries,
        .exe = NULL,
    };
    char err[1024];
    if (lanes_proc_pool_start(&pc, err, sizeof err) != 0) {
        lanes_log(LANES_LOG_ERR, 0, "%s", err);
        return -1;
    }
    lanes_proc_pool_stats_t st;
    lanes_proc_pool_stats(&st);
    char limit[96];
    if (st.memory_limit_enforced)
        snprintf(limit, sizeof limit, "%d MiB each", cfg->worker_memory_mb);
    else
        snprintf(limit, sizeof limit, "none%s", cfg->worker_memory_mb ? " under AddressSanitizer" : "");
    char detail[256];
    snprintf(detail, sizeof detail, "%d worker processes (lanesd --worker), one document each at a time; memory "
             "limit %s, retries %d", st.workers, limit, cfg->worker_retries);
    lanes_registry_set_available(LANES_BACKEND_PROCESS_POOL, 1, detail);
    lanes_log(LANES_LOG_INFO, 0, "process pool: %s", detail);
    return 0;
}

/* Stops the GPU pool's piece queue (its queued pieces still reach their devices), then the pool. */
static void stop_gpu_pool(const lanes_config_t *cfg)
{
    (void)cfg;
    lanes_pool_stop_kind(LANES_POOL_GPU);
    lanes_gpu_pool_stop();
}

/* Starts the GPU pool (gpu_devices: -1 all, 0 none): one GPU worker process per device, which probes
 * and owns it; the daemon never initialises CUDA. No device is not an error. Returns 0 or -1 (logged). */
static int start_gpu_pool(lanes_config_t *cfg)
{
    lanes_backend_info_t cuda;
    int fake = 0;
    lanes_test_hooks_gpu_ops(&fake); /* lanesd-test's simulated devices need no CUDA build */
    if ((lanes_registry_find(LANES_BACKEND_CUDA, &cuda) != 0 || !cuda.compiled) && fake == 0)
        return 0; /* a CPU-only build: the registry says so */
    lanes_gpu_pool_config_t gc = {
        .max_devices = cfg->gpu_devices,
        .arena_bytes = (size_t)cfg->gpu_arena_mb << 20,
        .staging_mb = 0,
        .timeout_s = cfg->gpu_timeout_s,
        .exe = NULL,
        .on_change = rpc_health_refresh,
    };
    char err[1024];
    if (lanes_gpu_pool_start(&gc, err, sizeof err) != 0) {
        lanes_log(LANES_LOG_ERR, 0, "%s", err);
        return -1;
    }
    int n = lanes_gpu_pool_devices();
    if (n > 0 && lanes_pool_start_kind(LANES_POOL_GPU, 2 * n) != 0) { /* two pieces in flight per device */
        stop_gpu_pool(cfg);
        return -1;
    }
    return 0;
}

/* The CPU pool's threads (a failed start stops those it made). Returns 0 or -1 (logged). */
static int start_cpu_pool(lanes_config_t *cfg)
{
    if (lanes_pool_start(cfg->pool_workers) == 0)
        return 0;
    lanes_pool_stop();
    return -1;
}

static void stop_cpu_pool(const lanes_config_t *cfg)
{
    (void)cfg;
    lanes_pool_stop();
}

static void stop_proc_pool(const lanes_config_t *cfg)
{
    (void)cfg;
    lanes_proc_pool_stop();
}

/* Starts the gRPC server with every endpoint. Returns 0 or -1 (logged). */
static int start_server(lanes_config_t *cfg)
{
    static lanes_method_t methods[15];
    lanes_pipeline_method(&methods[0], "/lanes.v1.Lanes/Map", &rpc_map_ops, cfg, 0);
    lanes_pipeline_method(&methods[1], "/lanes.v1.Lanes/Reduce", &rpc_reduce_ops, cfg, 0);
    lanes_pipeline_method(&methods[2], "/lanes.v1.Lanes/MapOnce", &rpc_map_ops, cfg, 1);
    lanes_pipeline_method(&methods[3], "/lanes.v1.Lanes/ReduceOnce", &rpc_reduce_ops, cfg, 1);
    methods[4] = rpc_info_method;
    methods[4].control = 1; /* operators' calls: never locked out by jobs (server.h) */
    methods[5] = rpc_echo_method;
    methods[6] = rpc_health_check_method;
    methods[6].control = 1;
    methods[7] = rpc_health_watch_method;
    methods[7].control = 1;
    lanes_pipeline_method(&methods[8], "/lanes.v1.Lanes/Acf", &rpc_acf_ops, cfg, 0);
    lanes_pipeline_method(&methods[9], "/lanes.v1.Lanes/AcfOnce", &rpc_acf_ops, cfg, 1);
    lanes_pipeline_method(&methods[10], "/lanes.v1.Lanes/WordCount", &rpc_word_count_ops, cfg, 0);
    lanes_pipeline_method(&methods[11], "/lanes.v1.Lanes/WordAcf", &rpc_word_acf_ops, cfg, 0);
    rpc_corpus_method(&methods[12], cfg);
    lanes_pipeline_method(&methods[13], "/lanes.v1.Lanes/WordCountOnce", &rpc_word_count_ops, cfg, 1);
    lanes_pipeline_method(&methods[14], "/lanes.v1.Lanes/WordAcfOnce", &rpc_word_acf_ops, cfg, 1);
    const int n_methods = 15;

    char err[1024];
    if (lanes_server_start(cfg, methods, n_methods, err, sizeof err) != 0) {
        lanes_log(LANES_LOG_ERR, 0, "%s", err);
        return -1;
    }
    return 0;
}

/* Health turns NOT_SERVING, in-flight calls get grace_seconds, the rest are cancelled. */
static void stop_server(const lanes_config_t *cfg)
{
    rpc_health_set_not_serving();
    if (lanes_server_stop(cfg->grace_seconds) != 0) {
        lanes_log(LANES_LOG_ERR, 0, "exiting without an orderly gRPC shutdown");
        _exit(0); /* the calls were cancelled; gRPC's threads may still hold them */
    }
}

/* The daemon's subsystems, in start order; they stop in reverse. start() returns 0, or -1 once it has
 * logged why and left nothing of its own running; stop() undoes a start() that returned 0. */
static const struct subsystem {
    const char *name;
    int (*start)(lanes_config_t *cfg);
    void (*stop)(const lanes_config_t *cfg);
} SUBSYSTEMS[] = {
    {"cpu pool", start_cpu_pool, stop_cpu_pool},
    {"process pool", start_proc_pool, stop_proc_pool},
    {"gpu pool", start_gpu_pool, stop_gpu_pool},
    {"server", start_server, stop_server},
};
#define N_SUBSYSTEMS ((int)(sizeof SUBSYSTEMS / sizeof SUBSYSTEMS[0]))

/* Stops the first n subsystems, the last first. Main thread. */
static void subsystems_stop(int n, const lanes_config_t *cfg)
{
    while (n-- > 0) {
        lanes_log(LANES_LOG_DEBUG, 0, "stopping the %s", SUBSYSTEMS[n].name);
        SUBSYSTEMS[n].stop(cfg);
    }
}

/* Starts every subsystem in order; when one fails, stops those before it (in reverse) and returns -1.
 * Main thread. */
static int subsystems_start(lanes_config_t *cfg)
{
    for (int i = 0; i < N_SUBSYSTEMS; i++) {
        if (SUBSYSTEMS[i].start(cfg) != 0) {
            subsystems_stop(i, cfg);
            return -1;
        }
        lanes_log(LANES_LOG_DEBUG, 0, "started the %s", SUBSYSTEMS[i].name);
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Names as ps, top, ss -p and pgrep -x show them: "lanesd" (its binary's name), and helpers
     * that say what they are. */
    if (argc >= 2 && strcmp(argv[1], "--worker") == 0) {
        lanes_set_process_name("lanesd-worker");
        return lanes_worker_main(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "--gpu-worker") == 0) {
        lanes_set_process_name("lanesd-gpu");
        return lanes_gpu_worker_main(argc, argv);
    }
    ensure_passive_openmp(argv);
    lanes_set_process_name(NULL);
    if (argc >= 2 && strcmp(argv[1], "--calibrate") == 0)
        return lanes_calibrate_main(argc, argv); /* measures the router's costs, writes the file, exits */
    static lanes_config_t cfg;
    static char out[8192];
    char err[1024];
    int rc = lanes_config_load(&cfg, argc, argv, environ, err, sizeof err, out, sizeof out);
    if (rc < 0) {
        fprintf(stderr, "lanesd: %s\n", err);
        return 2;
    }
    if (rc > 0) {
        fputs(out, stdout);
        return 0;
    }
    lanes_log_set_level((lanes_log_level_t)cfg.log_level);
    if (cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.threads = n > 0 ? (int)n : 1;
    }

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The listening socket first: a taken port fails at once, in one line, before any pool starts. */
    int port = 0;
    if (lanes_listener_open(cfg.listen, cfg.max_connections, &port, err, sizeof err) != 0) {
        lanes_log(LANES_LOG_ERR, 0, "%s", err);
        return 1;
    }

    uint64_t start_ns = lanes_now_ns();
    lanes_registry_init(cfg.threads);
    {
        /* The router's cost model: calibration_file, else calibrate_at_start, else built-in defaults. */
        lanes_cost_model_t model;
        if (lanes_calibrate_startup_model(&cfg, &model, err, sizeof err) != 0) {
            fprintf(stderr, "lanesd: %s\n", err); /* a bad calibration file: fatal, like a bad config */
            return 2;
        }
        lanes_router_set_model(&model);
        lanes_log(LANES_LOG_INFO, 0, "router cost model: %s", model.source);
    }
    rpc_init(&cfg, start_ns);
    if (subsystems_start(&cfg) != 0)
        return 1;
    if (cfg.port_file[0] && write_port_file(cfg.port_file, port) != 0)
        lanes_log(LANES_LOG_WARN, errno, "writing the port file %s failed", cfg.port_file);

    char host[256];
    snprintf(host, sizeof host, "%s", cfg.listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = 0;
    lanes_backend_info_t cuda;
    int have_cuda = lanes_registry_find(LANES_BACKEND_CUDA, &cuda) == 0;
    lanes_log(LANES_LOG_INFO, 0,
              "lanesd %s listening on %s:%d (cpu threads %d, pool workers %d, cq threads %d, chunk %llu bytes, "
              "inline below %llu elements; cuda: %s)",
              LANES_VERSION, host, port, cfg.threads, cfg.pool_workers, cfg.cq_threads,
              (unsigned long long)cfg.chunk_bytes, (unsigned long long)cfg.inline_threshold,
              have_cuda ? cuda.detail : "not listed");

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    lanes_log(LANES_LOG_INFO, 0, "received %s: shutting down (grace %.1f s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
              cfg.grace_seconds);
    subsystems_stop(N_SUBSYSTEMS, &cfg);
    lanes_log(LANES_LOG_INFO, 0, "stopped");
    return 0;
}
