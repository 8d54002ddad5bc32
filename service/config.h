/* lanesd configuration: built-in defaults, then an optional config file, then LANES_* environment
 * variables, then command-line flags, each overriding the one before.
 *
 * Design: one table (config.c) lists every key with its type, default, bounds and help text; it
 * drives parsing from all three sources, validation, --help and --print-config. A bad value is fatal
 * at start with a message that names the key and where it came from ("config file lanes.conf line 3:
 * chunk_bytes: 12 is below the minimum 4096").
 */
#ifndef LANES_CONFIG_H
#define LANES_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lanes_config {
    char listen[256];          /* host:port; port 0 picks a free one */
    char port_file[512];       /* if set, the bound port is written here once listening */
    int threads;               /* OpenMP threads of one pool job; 0 = online CPUs */
    int pool_workers;          /* pool jobs that run at once */
    int cq_threads;            /* completion-queue threads */
    int max_calls;             /* concurrent job calls (and, apart, Health/Info calls); more get RESOURCE_EXHAUSTED */
    int max_connections;       /* open client connections; 0 = as the open-file limit allows */
    double idle_timeout_seconds;/* a stream waiting this long for its client is ended; 0 = never */
    uint64_t chunk_bytes;      /* preferred chunk payload, and the largest reply message payload */
    uint64_t max_message_bytes;/* largest request message accepted */
    uint64_t inline_threshold; /* chunks with fewer elements than this run inline; 0 = the model decides */
    double grace_seconds;      /* on SIGTERM/SIGINT, time given to in-flight calls */
    int log_level;             /* lanes_log_level_t */
    int proc_workers;          /* worker processes of the process pool; -1 = auto, 0 = no pool */
    int worker_memory_mb;      /* each worker's memory limit for its work; 0 = none */
    int worker_retries;        /* more attempts of a document whose worker died */
    uint64_t max_doc_bytes;    /* largest document accepted */
    char calibration_file[512];/* the router's cost constants (lanesd --calibrate); "" = none */
    int calibrate_at_start;    /* 1: without a calibration file, measure the constants at start (< 1 s) */
    uint64_t gpu_threshold;    /* pieces with at least this many elements go to cuda when a device is up; 0 = model */
    int gpu_devices;           /* CUDA devices to drive (one GPU worker process each); -1 = all, 0 = none */
    int gpu_arena_mb;          /* shared memory per device between the daemon and its GPU worker */
    double gpu_timeout_s;      /* a GPU command not answered within this: the worker is killed and restarted */
} lanes_config_t;

/* proc_workers = auto: the online CPUs, at most this many. */
#define LANES_PROC_WORKERS_AUTO_MAX 8

/* Fills *cfg with the built-in defaults. */
void lanes_config_defaults(lanes_config_t *cfg);

/* Builds the configuration from defaults, the file named by --config (or LANES_CONFIG), the
 * environment (envp, NULL-terminated "KEY=value" strings; pass environ) and argv. On success returns 0.
 * On a usage or validation error returns -1 with a message in err. Returns 1 when argv asked for
 * --help, --version or --print-config and the text was written to out (the caller exits 0).
 * Not thread-safe (start-up only). */
int lanes_config_load(lanes_config_t *cfg, int argc, char **argv, char **envp, char *err, size_t err_cap,
                      char *out, size_t out_cap);

/* Applies one "key" = "value" setting, validated; 'origin' names where it came from, for the message.
 * Returns 0 or -1 with err set. Exposed for tests. */
int lanes_config_set(lanes_config_t *cfg, const char *key, const char *value, const char *origin, char *err,
                     size_t err_cap);

/* Helpers of the daemon's "key = value" files (the config file, the router's calibration file). */
/* Writes a printf-formatted message into err (cap bytes; nothing if err is NULL) and returns -1.
 * Thread-safe. */
int lanes_errf(char *err, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Strips leading and trailing white space in place; returns the first non-space character of s. */
char *lanes_trim(char *s);

/* Writes the effective configuration as a config file ("key = value" lines) into out. */
void lanes_config_format(const lanes_config_t *cfg, char *out, size_t out_cap);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CONFIG_H */
