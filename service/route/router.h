/* The router: decides where each piece of a job runs (inline, the OpenMP pool, or a CUDA device), and
 * says why in words, with the predicted times that decided it.
 *
 * Design: a cost model. For each backend (inline, cpu, cuda) and operation family (map, reduce, acf,
 * text) the time of a piece is predicted as
 *     t = overhead_ns + bytes / bytes_per_ns        (bytes: the piece's input + output bytes)
 * and, for the cpu pool, scaled by how many of its cores are free, for cuda by how many pieces are
 * already queued on the device (concurrency accounting: every placed piece is counted until it is
 * released, so two big jobs don't oversubscribe the CPU or pile onto one GPU). AUTO takes the backend
 * with the smallest prediction among those that are up; ties go to the cheaper resource (inline, then
 * cpu, then cuda). The constants come from a calibration file written by `lanesd --calibrate`
 * (calibrate.c), or from a short calibration at start, or from built-in defaults measured on the dev
 * machine; thresholds pinned in the config (inline_threshold, gpu_threshold) override the model for
 * the choice they pin. Text (one document) is tokenized in order on one thread: pieces under
 * LANES_ROUTER_TEXT_POOL_BYTES inline, larger ones on a cpu-pool thread; Corpus batches run on the
 * process pool. A client may force a backend; forcing one that this daemon cannot use for the job is
 * refused up front (LANES_EPRECOND with a message: FAILED_PRECONDITION), and a forced cuda whose devices
 * all went down mid-job is LANES_ENODEV (UNAVAILABLE). The list of backends comes from the registry only.
 *
 * Threads: the model and the device table are global, set at start (and by the GPU pool when a device
 * goes down or comes back); load counters are atomics. A lanes_router_t belongs to one job: the
 * pipeline calls it under the job's lock.
 */
#ifndef LANES_ROUTER_H
#define LANES_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lanes/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lanes_job_kind {
    LANES_JOB_MAP,
    LANES_JOB_REDUCE,
    LANES_JOB_ACF,
    LANES_JOB_TEXT,   /* one document; elements are bytes */
    LANES_JOB_CORPUS, /* a batch of documents */
} lanes_job_kind_t;

/* Text chunks of at least this many bytes are tokenized on a CPU-pool thread (about 1 ms of work). */
#define LANES_ROUTER_TEXT_POOL_BYTES (64u * 1024u)
/* Devices the router tracks. */
#define LANES_ROUTER_MAX_DEVICES 16

/* Where a piece runs. */
typedef enum lanes_where {
    LANES_WHERE_INLINE = 0, /* on the calling (RPC) thread, one thread */
    LANES_WHERE_CPU = 1,    /* a CPU-pool task with 'threads' OpenMP threads */
    LANES_WHERE_CUDA = 2,   /* a CPU-pool task that hands the work to GPU worker 'device' */
    LANES_WHERE_N = 3
} lanes_where_t;

/* Operation families of the cost model. */
typedef enum lanes_family {
    LANES_FAMILY_MAP = 0,
    LANES_FAMILY_REDUCE = 1,
    LANES_FAMILY_ACF = 2,
    LANES_FAMILY_TEXT = 3,
    LANES_FAMILY_N = 4
} lanes_family_t;

/* One backend's constants for one family. bytes_per_ns <= 0: the backend does not run it. */
typedef struct lanes_cost {
    double overhead_ns;
    double bytes_per_ns;
} lanes_cost_t;

typedef struct lanes_cost_model {
    lanes_cost_t c[LANES_WHERE_N][LANES_FAMILY_N];
    int cpu_threads;     /* the threads the cpu constants were measured with */
    char source[160];    /* "built-in defaults", "calibration file /x (2026-11-21)", "start-up calibration" */
} lanes_cost_model_t;

/* A placement decision for one piece. */
typedef struct lanes_placement {
    lanes_where_t where;
    int threads;                     /* OpenMP threads (1 inline, and 1 for text on the pool) */
    int device;                      /* CUDA device index when where == CUDA, else -1 */
    double predicted_ns[LANES_WHERE_N]; /* the model's times; < 0 when that backend was not a candidate */
    int reserved;                    /* load counted by place, to be released */
} lanes_placement_t;

typedef struct lanes_router {
    lanes_job_kind_t kind;
    lanes_family_t family;
    int forced;                /* lanes.v1.Backend value; 0 = AUTO */
    size_t bytes_per_elem;     /* input + output bytes per element, for the model */
    uint64_t inline_threshold; /* config: pieces with fewer elements run inline (0 = the model decides) */
    uint64_t gpu_threshold;    /* config: pieces with at least this many go to cuda when up (0 = the model) */
    int cpu_threads;
    int pool_workers;          /* config: CPU-pool tasks that run at once (1: tasks never share the cores) */
    /* what ran, for the summary */
    uint64_t chunks[LANES_WHERE_N], elems[LANES_WHERE_N];
    lanes_placement_t last;    /* the last AUTO decision of the biggest piece, for the reason */
    uint64_t last_n;
    int gpu_fallbacks;         /* pieces that went to the CPU because a device failed mid-piece */
} lanes_router_t;

/* ---- global state (start-up, the GPU pool, tests) ---- */

/* Installs the cost model (copied). Start-up, before the server runs; tests may call it any time. */
void lanes_router_set_model(const lanes_cost_model_t *m);
/* The model in use (copied out). Thread-safe. */
void lanes_router_get_model(lanes_cost_model_t *out);
/* The built-in defaults (measured on the 2-core dev machine; cuda: H100 figures from the design). */
void lanes_router_default_model(lanes_cost_model_t *out);
/* Writes the model in one paragraph ("source; cpu_threads 2; map: inline 1.20 us + 2.50 B/ns, ...") into out
 * (truncated to cap), for Info and logs. Thread-safe. */
void lanes_router_format_model(const lanes_cost_model_t *m, char *out, size_t cap);

/* The GPU pool says how many devices there are and which are up. Thread-safe. */
void lanes_router_set_devices(int count);
void lanes_router_set_device_up(int device, int up);
int lanes_router_device_up(int device);
/* Load now: CPU-pool threads reserved, pieces queued on a device. Thread-safe. */
int lanes_router_cpu_busy(void);
int lanes_router_gpu_queue(int device);

/* ---- per job ---- */

/* Checks a requested backend (lanes.v1.Backend number) for a job kind and fills *r; bytes_per_elem is
 * the job's input + output bytes per element (0 for text and corpus). Returns 0, or LANES_EINVAL
 * (unknown number) / LANES_EPRECOND (not available or not for this job) with err set.
 * Thread-safe (reads the registry, the device table and cfg). */
int lanes_router_init(lanes_router_t *r, const lanes_config_t *cfg, int requested, lanes_job_kind_t kind,
                      size_t bytes_per_elem, lanes_error_t *err);

/* "map", "reduce", "acf", "text", "corpus". */
const char *lanes_router_kind_name(lanes_job_kind_t kind);
/* "map", "reduce", "acf", "text" ("?" for another number). Static string. */
const char *lanes_router_family_name(lanes_family_t fam);
/* "inline", "cpu", "cuda". */
const char *lanes_where_name(lanes_where_t w);

/* Decides where a piece of n elements runs and reserves its load (cores, or a slot on the device's
 * queue). Returns 0, or LANES_ENODEV with err set when cuda was forced and no device is up. The
 * caller must call lanes_router_release(p) once the piece is done, and lanes_router_record() with
 * where it really ran. */
int lanes_router_place(lanes_router_t *r, uint64_t n, lanes_placement_t *p, lanes_error_t *err);
void lanes_router_release(lanes_placement_t *p);

/* Records where a piece of n elements ran ('where' may differ from p->where when a GPU piece fell
 * back to the CPU because its device failed). */
void lanes_router_record(lanes_router_t *r, const lanes_placement_t *p, lanes_where_t where, uint64_t n);

/* Writes the summary's backend name (static string) and reason: what ran where, and for AUTO the
 * predicted times that decided it ("auto: 8 chunk(s) of 131072 elements: cuda predicted 1.9 ms, cpu
 * 14.2 ms, inline 40.0 ms (model: calibration file ...)"). */
void lanes_router_explain(const lanes_router_t *r, const char **backend, char *reason, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* LANES_ROUTER_H */
