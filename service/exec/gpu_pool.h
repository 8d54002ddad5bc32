/* The GPU pool: the daemon's side of the CUDA backend. One worker process per device
 * ("lanesd --gpu-worker", gpu_worker.c) owns that device's CUDA context; the daemon itself never
 * initialises CUDA, so it can spawn helpers safely and a poisoned context never takes it down.
 *
 * Design: start() spawns the worker of device 0, whose hello says how many devices the probe saw,
 * then one worker for each other device (up to max_devices). Each device has a shared-memory arena (a
 * memfd mapped here and in its worker) and a mutex: a call copies its inputs into the arena, sends one
 * command, waits for the reply and copies the result out; calls to one device run one at a time, in
 * the order they take the mutex (the router counts the queue). A call larger than the arena is cut
 * into several commands (elements for maps and histograms, whole blocks for reduce partials).
 *
 * Faults: a worker that dies, answers out of protocol, does not answer within the timeout, or reports
 * a poisoned context takes its device down: the call fails with LANES_EDEVICE and a message saying
 * what happened ("GPU worker for device 0 (pid 123) was killed by signal 6 (SIGABRT) while running
 * map"), the router and the registry are told (jobs go to the CPU; Health and Info report it), and a
 * monitor thread starts a new worker after the supervisor's back-off (supervisor.h), marking the
 * device up again once it says hello. Every worker is spawned from the monitor thread, so all of them get
 * SIGKILL if it ends (PR_SET_PDEATHSIG).
 *
 * Threads: start() and stop() from the main thread; every other function from any thread.
 */
#ifndef LANES_GPU_POOL_H
#define LANES_GPU_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/expr.h"
#include "lanes/kernels.h"
#include "lanes/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LANES_GPU_POOL_MAX_DEVICES 16

typedef struct lanes_gpu_pool_config {
    int max_devices;       /* devices to use: -1 all, 0 none (the pool stays off) */
    size_t arena_bytes;    /* shared memory per device (inputs + results of one command) */
    unsigned staging_mb;   /* the worker's pinned staging buffers (0: the CUDA backend's default) */
    double timeout_s;      /* a command not answered within this is a dead worker */
    const char *exe;       /* the lanesd binary (copied); NULL: /proc/self/exe */
    void (*on_change)(void); /* (optional) a device went down or came up; called with no pool lock held */
} lanes_gpu_pool_config_t;

/* Starts the workers and waits for their hellos (at most the supervisor's hello timeout, 60 s: CUDA
 * start-up can take seconds).
 * Having no device is not an error: the pool then stays without workers and the registry says why.
 * Returns 0, or -1 with a message (bad configuration, spawn failure). Main thread. */
int lanes_gpu_pool_start(const lanes_gpu_pool_config_t *cfg, char *err, size_t cap);

/* Stops the monitor and the workers (running calls fail with LANES_ENODEV). Main thread; a no-op
 * when not running. */
void lanes_gpu_pool_stop(void);

/* Devices the pool drives (0 when off or without devices). Thread-safe. */
int lanes_gpu_pool_devices(void);

/* An expression as a worker receives it: the source, the inputs (names, kinds, array dtypes), the
 * bindings of this call (arrays point to the call's first element; generators' seeds and ranges) and
 * the parameters. Everything is borrowed for the call. */
typedef struct lanes_gpu_expr {
    const char *src;
    size_t n_inputs;
    const lanes_expr_input_t *inputs;
    const lanes_expr_binding_t *bind;
    size_t n_params;
    const char *const *param_names;
    const double *params;
} lanes_gpu_expr_t;

/* The calls. Each returns 0, LANES_ENODEV (the device is down or the pool is off: nothing ran),
 * LANES_EDEVICE (the device failed during the call and is now down), LANES_EINVAL (the worker
 * refused the work, e.g. an expression NVRTC rejects; err says why) or LANES_ENOMEM. Inputs and
 * outputs are host memory of the caller, borrowed for the call. Thread-safe. */

/* out = x(elements index0 .. index0 + n - 1), n elements of out_dtype. */
int lanes_gpu_map(int dev, const lanes_gpu_expr_t *x, uint64_t index0, size_t n, void *out,
                  lanes_dtype_t out_dtype, lanes_error_t *err);
/* Partials of n_blocks whole blocks of 'data' (spec->dtype; x NULL) or of x (data NULL), starting at
 * element index0 (a multiple of LANES_REDUCE_BLOCK). */
int lanes_gpu_reduce_partials(int dev, const lanes_reduce_spec_t *spec, const lanes_gpu_expr_t *x,
                              const void *data, uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out,
                              lanes_error_t *err);
/* Histogram counts (spec->bins of them, added to nothing: written) of n elements. */
int lanes_gpu_reduce_histogram(int dev, const lanes_reduce_spec_t *spec, const lanes_gpu_expr_t *x,
                               const void *data, uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err);
/* ACF lag sums r[0..nlags] of buf (nlags + used doubles); max_used: the job's block. */
int lanes_gpu_acf_lagsums(int dev, const double *buf, size_t nlags, size_t used, size_t max_used, double *r,
                          lanes_error_t *err);
/* The largest ACF block (values) whose buffers fit one command for nlags, 0 if none. */
size_t lanes_gpu_acf_max_block(size_t nlags);

/* Calibration (calibrate.h's lanes_calibrate_gpu_fn): times one piece of family fam (router.h's
 * lanes_family_t as an int) over 'bytes' bytes on device 0, end to end through its worker (the copy
 * into the arena, the command, the device's transfers and kernel, the copy out), the best of three.
 * map: sin(x) on float64 (16 bytes an element in and out); reduce: a float64 sum; acf: lag sums of
 * 16 lags. Returns 0, or -1 when the device cannot (down, a family it does not run). ctx is unused. */
int lanes_gpu_pool_measure(void *ctx, int fam, size_t bytes, double *ns);

typedef struct lanes_gpu_device_stats {
    int up;
    int fake;                 /* a test build's simulated device */
    int pid;                  /* 0 while it has no worker */
    lanes_device_info_t info;
    uint64_t commands, failures, deaths, respawns;
    char last_error[256];     /* what took it down last, "" if never */
} lanes_gpu_device_stats_t;

/* Copies up to max devices' stats; returns the device count. Thread-safe. */
int lanes_gpu_pool_stats(lanes_gpu_device_stats_t *out, int max);

#ifdef __cplusplus
}
#endif

#endif /* LANES_GPU_POOL_H */
