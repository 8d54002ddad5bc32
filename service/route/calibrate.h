/* Calibration of the router's cost model: measures what a piece costs on each backend.
 *
 * Design: for each operation family the real kernels run on this machine at a few sizes (map: the
 * "sin" map plan on float64, reduce: a float64 sum reducer, acf: the direct method with 16 lags, text:
 * the word tokenizer), inline (one thread) and as the cpu pool runs them (cpu_threads OpenMP threads,
 * plus the measured latency of handing a task to another thread); each (bytes, time) series is fitted
 * to overhead_ns + bytes / bytes_per_ns by lanes_calibrate_fit (least squares of the relative error,
 * with the overhead kept positive and no larger than the smallest piece's time: see calibrate.c). The
 * fastest of a few repetitions counts, so a noisy neighbour inflates nothing but the spread. CUDA is measured only through an optional
 * callback that the GPU worker supplies; without it the model keeps its built-in cuda constants.
 * `lanesd --calibrate` takes a few seconds and writes the file the daemon reads at start
 * (calibration_file; lanes_calibrate_write_model and lanes_calibrate_read_model, its writer and
 * parser, live here too); calibrate_at_start runs the quick variant (under a second in all).
 *
 * Threads: lanes_calibrate() uses OpenMP itself and should run alone (start-up, or the --calibrate
 * mode), not beside a serving daemon's jobs.
 */
#ifndef LANES_CALIBRATE_H
#define LANES_CALIBRATE_H

#include <stddef.h>

#include "config.h"
#include "router.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Times one cuda piece of the family over 'bytes' bytes (input + output), end to end through the GPU
 * worker, into *ns. Returns 0, or non-zero when the device cannot (the family keeps its defaults). */
typedef int (*lanes_calibrate_gpu_fn)(void *ctx, lanes_family_t fam, size_t bytes, double *ns);

#define LANES_CALIBRATE_MAX_SIZES 6

/* What one backend's constants for one family were fitted to. */
typedef struct lanes_calibrate_series {
    int n;                                   /* measurements; 0: not measured (the constants are defaults) */
    double bytes[LANES_CALIBRATE_MAX_SIZES]; /* a piece's input + output bytes, increasing */
    double ns[LANES_CALIBRATE_MAX_SIZES];    /* its time: the fastest of the repetitions */
} lanes_calibrate_series_t;

typedef struct lanes_calibrate_measured {
    lanes_calibrate_series_t s[LANES_WHERE_N][LANES_FAMILY_N];
} lanes_calibrate_measured_t;

typedef struct lanes_calibrate_opts {
    int cpu_threads;                    /* OpenMP threads of a cpu-pool piece (< 1: online CPUs) */
    int quick;                          /* 1: start-up calibration, under 1 s; 0: lanesd --calibrate */
    lanes_calibrate_gpu_fn measure_gpu; /* (optional) NULL keeps the built-in cuda constants */
    void *gpu_ctx;                      /* passed to measure_gpu, borrowed */
    lanes_calibrate_measured_t *measured; /* (optional) receives every series the fit was made from */
} lanes_calibrate_opts_t;

/* Fits t = overhead_ns + bytes / bytes_per_ns to k measurements (bytes[i], ns[i]) into *out: the least
 * squares of the relative error (ns[i] - t(bytes[i])) / ns[i], subject to
 *     max(y0 - x0 * ym / xm, y0 / LANES_CALIBRATE_MIN_OVERHEAD_DIV) <= overhead_ns <= y0, bytes_per_ns > 0
 * where (x0, y0) is the smallest piece and (xm, ym) the largest (calibrate.c says why). So the model
 * is increasing in bytes, a piece is never free, and no piece is predicted faster than the part of
 * the smallest one's time that its bytes cannot explain. Points with bytes or ns not finite and > 0
 * are left out. Returns 0, or -1 (and *out untouched) with fewer than two points of different sizes.
 * Pure: thread-safe. */
#define LANES_CALIBRATE_MIN_OVERHEAD_DIV 16.0
int lanes_calibrate_fit(const double *bytes, const double *ns, int k, lanes_cost_t *out);

/* Writes the series of *m as lines "measured family.backend = bytes:ns bytes:ns ..." (those with n > 0)
 * into out, truncated to cap. Thread-safe. */
void lanes_calibrate_format_measured(const lanes_calibrate_measured_t *m, char *out, size_t cap);

/* Measures the inline and cpu constants of every family (and cuda's through measure_gpu) into *out;
 * its source says how and when. Returns 0, or -1 with a message (out of memory, a kernel refused).
 * Not to be run beside other compute (see above). */
int lanes_calibrate(const lanes_calibrate_opts_t *o, lanes_cost_model_t *out, char *err, size_t cap);

/* Writes the model as a table for people (one line per family and backend, with the predicted time of
 * a 1 MiB piece) into out, truncated to cap. Thread-safe. */
void lanes_calibrate_format_table(const lanes_cost_model_t *m, char *out, size_t cap);

/* Reads a calibration file written by lanes_calibrate_write_model (or lanesd --calibrate). Returns 0, or
 * -1 with a message naming the file and line. */
int lanes_calibrate_read_model(const char *path, lanes_cost_model_t *out, char *err, size_t cap);
/* Writes the model as a calibration file ("family.backend = overhead_ns bytes_per_ns" lines, with
 * comments). Returns 0 or -1 with a message. */
int lanes_calibrate_write_model(const char *path, const lanes_cost_model_t *m, char *err, size_t cap);

/* The model the daemon starts with: the calibration_file if set (a bad file is an error naming the
 * file and line), else a quick calibration if calibrate_at_start, else the built-in defaults.
 * Returns 0 or -1 with a message. Start-up only. */
int lanes_calibrate_startup_model(const lanes_config_t *cfg, lanes_cost_model_t *out, char *err, size_t cap);

/* `lanesd --calibrate [FILE] [config options]`: measures, prints the table, writes FILE (default: the
 * calibration_file option, else lanes-calibration.txt) and returns the exit status (0, 1 on failure,
 * 2 on a usage error). argv[1] must be "--calibrate". */
int lanes_calibrate_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CALIBRATE_H */
