/* lanes compute library: the public API.
 *
 * Design: the kernels know nothing of RPC. A job is described by plain values (a function name or an
 * op, dtypes, scalar parameters) and compiled into an opaque object: a map plan or a reducer. The
 * daemon then feeds it chunks of little-endian arrays, in order, of any size. Results never depend on
 * how the stream was chunked or on the thread count (reductions follow one fixed blocked-pairwise
 * order), so a job can be split over inline and pooled execution freely.
 *
 * The element types (lanes/dtype.h) and the errors (lanes/error.h) are the base library's (lanes_base,
 * kernels/base/), which the clients link without the compute stack; this header includes both.
 *
 * Errors: functions return 0 or a negative LANES_E* code (lanes/error.h); functions that can fail
 * for a reason worth telling a user also fill a lanes_error_t with a message that names the problem.
 *
 * Threads: 'threads' arguments say how many OpenMP threads one call may use; 1 runs inline on the
 * calling thread without touching the OpenMP runtime. Distinct objects may be used from distinct
 * threads concurrently; one object must not be used by two threads at once unless its comment says so.
 */
#ifndef LANES_KERNELS_H
#define LANES_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/dtype.h"
#include "lanes/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- map: elementwise functions ---- */

/* LANES_MAP_MAX_INPUTS and lanes_param_t: lanes/dtype.h. */

typedef struct lanes_map_plan lanes_map_plan_t;

/* Compiles 'function' for inputs of the given dtypes and an output of out_dtype (F64 or F32).
 * Named functions: square, cube, power (parameter n, or a second input array as exponent), sqrt, exp,
 * log, abs, sin, cos, affine (parameters a and b: a*x + b). Every input dtype is accepted; values are
 * computed in float64 and rounded once to out_dtype. An unknown function, a wrong number of inputs, a
 * missing or unknown parameter, or a bad dtype fails with LANES_EINVAL and a message naming it.
 * Returns a new plan that the caller owns and frees with lanes_map_plan_free(), or NULL with err set.
 * All arguments are borrowed for the duration of the call only. Thread-safe. */
lanes_map_plan_t *lanes_map_plan_compile(const char *function, const lanes_param_t *params,
                                         size_t n_params, const lanes_dtype_t *in_dtypes,
                                         size_t n_inputs, lanes_dtype_t out_dtype,
                                         lanes_error_t *err);

/* Frees a plan; NULL is allowed. */
void lanes_map_plan_free(lanes_map_plan_t *plan);

size_t lanes_map_plan_n_inputs(const lanes_map_plan_t *plan);
lanes_dtype_t lanes_map_plan_input_dtype(const lanes_map_plan_t *plan, size_t i);
lanes_dtype_t lanes_map_plan_out_dtype(const lanes_map_plan_t *plan);

/* Computes out[k] = f(inputs[0][k], inputs[1][k], ...) for k < n. inputs[i] points to n elements of
 * the plan's input dtype i, out to n elements of its output dtype; none may overlap (out may alias
 * an input only if both have the same element size). Pointers need no particular alignment.
 * threads <= 1 runs on the calling thread; otherwise OpenMP with that many threads. A plan is
 * read-only here: one plan may run on several threads at once. Returns 0 or LANES_EINVAL. */
int lanes_map_plan_run(const lanes_map_plan_t *plan, const void *const *inputs, size_t n, void *out,
                       int threads);

/* NULL-terminated list of the named functions, for Info. Static. */
const char *const *lanes_map_function_names(void);

/* ---- reduce ---- */

typedef enum lanes_reduce_op {
    LANES_REDUCE_SUM,
    LANES_REDUCE_MIN,
    LANES_REDUCE_MAX,
    LANES_REDUCE_MEAN,
    LANES_REDUCE_VAR,
    LANES_REDUCE_STD,
    LANES_REDUCE_COUNT,
    LANES_REDUCE_ARGMIN,
    LANES_REDUCE_ARGMAX,
    LANES_REDUCE_HISTOGRAM,
    LANES_REDUCE_N_OPS
} lanes_reduce_op_t;

/* Parses an op name ("sum", ...). Returns 0 or LANES_EINVAL. Thread-safe. */
int lanes_reduce_op_parse(const char *name, lanes_reduce_op_t *op);
/* The op's name, or "invalid". Static string. */
const char *lanes_reduce_op_name(lanes_reduce_op_t op);
/* NULL-terminated list of op names, for Info. Static. */
const char *const *lanes_reduce_op_names(void);

#define LANES_HISTOGRAM_MAX_BINS (1u << 16)

typedef struct lanes_reduce_spec {
    lanes_reduce_op_t op;
    lanes_dtype_t dtype;
    double ddof;         /* var, std */
    uint32_t bins;       /* histogram: 1 .. LANES_HISTOGRAM_MAX_BINS */
    int has_range;       /* histogram: must be 1 */
    double lo, hi;       /* histogram range, finite, lo <= hi (lo == hi widens by 0.5 each way) */
    /* histogram: lo and hi are the data's min and max (numpy's default range). For float32 input numpy
     * then computes the edges in float32 arithmetic, not in float64 as for a given range. */
    int range_from_data;
} lanes_reduce_spec_t;

typedef struct lanes_reduce_result {
    /* dtype of the scalar result, as numpy would give it: I64 for sums of integers, count, argmin,
     * argmax; the input dtype for min and max; F64 otherwise. */
    lanes_dtype_t dtype;
    double f;            /* the value when dtype is F64 or F32 */
    int64_t i;           /* the value when dtype is I64 or I32 */
    /* histogram only: bins counts and bins+1 edges, owned by the reducer (valid until it is freed);
     * dtype is then I64 and i the number of values counted (those within the range). */
    uint32_t bins;
    const int64_t *counts;
    const double *edges;
} lanes_reduce_result_t;

typedef struct lanes_reducer lanes_reducer_t;

/* Creates a streaming reducer. Validates the spec (bad dtype, ddof not finite, histogram
 * without a finite range, with bins out of range, or with edges that cannot all be distinct in the
 * data's precision: numpy's "Too many bins for data range") and fails with LANES_EINVAL and a message.
 * Returns a new reducer that the caller owns (lanes_reducer_free()), or NULL with err set.
 * Memory is O(block) (+ O(bins), and threads x bins during a parallel feed, for histograms), whatever
 * the number of elements fed. Thread-safe. */
lanes_reducer_t *lanes_reducer_new(const lanes_reduce_spec_t *spec, lanes_error_t *err);

/* Feeds the next n elements (of the spec's dtype; no alignment needed). Chunks may have any size; the
 * result is bit-identical for every chunking and every thread count. threads <= 1 runs inline.
 * Not thread-safe for one reducer. Returns 0, or LANES_EINVAL for a NULL reducer, NULL data with
 * n > 0, or a feed after finish. */
int lanes_reducer_feed(lanes_reducer_t *r, const void *data, size_t n, int threads);

/* Elements fed so far. */
uint64_t lanes_reducer_count(const lanes_reducer_t *r);

/* Computes the result of everything fed. numpy's semantics: NaN propagates through sum, mean, var,
 * std, min and max; argmin/argmax return the first NaN's index if any; integer sums wrap as int64;
 * an empty sum is 0, an empty mean/var/std NaN; var with n - ddof <= 0 gives inf (or NaN for 0/0);
 * empty min, max, argmin, argmax fail with LANES_EEMPTY and numpy's message. May be called once (a
 * second call fails with LANES_EINVAL). Returns 0 or a negative code with err set. */
int lanes_reducer_finish(lanes_reducer_t *r, lanes_reduce_result_t *out, lanes_error_t *err);

void lanes_reducer_free(lanes_reducer_t *r);

/* Number of elements in one reduction block: the unit of the fixed summation order (reduce_cpu.c's
 * design comment gives the order exactly). Another backend that must match it bit for bit has to keep
 * each addition a separate rounding: no fused multiply-add contraction (nvcc: --fmad=false). */
#define LANES_REDUCE_BLOCK 4096

/* ---- block partials: another backend (a GPU) reduces whole blocks, the reducer combines them ----
 * A block's partial follows steps 2-3 of reduce_cpu.c's design comment, so feeding partials is bit for
 * bit the same as feeding the blocks' elements. */
typedef struct lanes_reduce_partial {
    double sum;          /* sum, mean (float sum kind): S(block) */
    double n, mean, m2;  /* var, std (moments kind): n_b, mean_b, M2_b */
    uint64_t isum;       /* sum of I64/I32 (integer kind): the block's sum as uint64 (wraps) */
    int has_nan;         /* min, max, argmin, argmax (extreme kind): a NaN is in the block; then idx, f
                          * are the first NaN's */
    uint64_t idx;        /* extreme kind: absolute index of the block's best element (first on ties) */
    double f;            /* its value (float dtypes) */
    int64_t i;           /* its value (integer dtypes) */
} lanes_reduce_partial_t;

/* 1 if whole blocks can be fed to r as partials (sum, mean, var, std, min, max, argmin, argmax);
 * 0 for count and histogram (see lanes_reducer_feed_histogram). */
int lanes_reducer_takes_partials(const lanes_reducer_t *r);
/* Elements to feed (lanes_reducer_feed) before the next block boundary: 0 when r is at one. */
size_t lanes_reducer_to_boundary(const lanes_reducer_t *r);
/* Feeds n_blocks whole blocks (n_blocks * LANES_REDUCE_BLOCK elements) as their partials, in block
 * order; r must be at a block boundary and take partials. Bit-identical to feeding the elements.
 * Returns 0 or LANES_EINVAL. Not thread-safe for one reducer. */
int lanes_reducer_feed_partials(lanes_reducer_t *r, const lanes_reduce_partial_t *parts, size_t n_blocks);
/* Groups: a backend may merge 2^level consecutive block partials (the first a multiple of 2^level blocks
 * from the start) into one, exactly as the reducer's stack merges them; lanes_reduce_partials_combine is
 * the CPU reference: out[g] = the merge of parts[g * 2^level .. (g + 1) * 2^level - 1] (n_blocks a
 * multiple of 2^level). Feeding n_groups such group partials with lanes_reducer_feed_group_partials is
 * bit-identical to feeding their blocks' partials; r must be at a block count that is a multiple of
 * 2^level. level <= LANES_REDUCE_MAX_GROUP_LEVEL. Return 0 or LANES_EINVAL. combine is thread-safe;
 * feed is not, for one reducer. lanes_reducer_feed_partials is level 0. */
#define LANES_REDUCE_MAX_GROUP_LEVEL 20
int lanes_reduce_partials_combine(const lanes_reduce_spec_t *spec, const lanes_reduce_partial_t *parts,
                                  size_t n_blocks, unsigned level, lanes_reduce_partial_t *out);
int lanes_reducer_feed_group_partials(lanes_reducer_t *r, const lanes_reduce_partial_t *parts, size_t n_groups,
                                      unsigned level);
/* The CPU reference of what a backend must compute: the partials of n_blocks whole blocks of 'data'
 * (n_blocks * LANES_REDUCE_BLOCK elements of spec->dtype) whose first element has absolute index
 * index0 (a multiple of LANES_REDUCE_BLOCK), for spec->op. Returns 0 or LANES_EINVAL. Thread-safe. */
int lanes_reduce_partials_cpu(const lanes_reduce_spec_t *spec, const void *data, uint64_t index0, size_t n_blocks,
                              lanes_reduce_partial_t *out);

/* What a backend needs to bin values exactly as this histogram reducer does (spec with a given range;
 * a range from the data is CPU-only). */
typedef struct lanes_histogram_params {
    uint32_t bins;
    int f32;                 /* float32 input: float subtraction, float32 edges */
    double lo, denom;        /* the range after widening, hi - lo */
    float lo32;              /* lo rounded to float (f32) */
    double keep_lo, keep_hi; /* edges[0], edges[bins] */
    const double *edges;     /* bins + 1, owned by the reducer */
} lanes_histogram_params_t;
/* Fills *out for a histogram reducer with a given range. Returns 0 or LANES_EINVAL. */
int lanes_reducer_histogram_params(const lanes_reducer_t *r, lanes_histogram_params_t *out);
/* Adds counts (bins values) of n_elems elements binned elsewhere. Returns 0 or LANES_EINVAL. */
int lanes_reducer_feed_histogram(lanes_reducer_t *r, const int64_t *counts, uint64_t n_elems);

#ifdef __cplusplus
}
#endif

#endif /* LANES_KERNELS_H */
