/* libFuzzer target for the expression compiler and evaluator (lanes/expr.h).
 *
 * Design: the input bytes, copied and NUL-terminated (an embedded NUL ends the source early, as it
 * would for any C caller), are compiled with a fixed set of inputs (x: float64 array, y: int32 array,
 * u: uniform stream) and parameters (n, a). A failed compile must leave a well-formed error (a
 * negative code, a NUL-terminated message, a column within the source or 0). A successful one is
 * checked and run:
 *   - the folded tree (lanes_expr_root) is walked: ops, function numbers, argument counts, input and
 *     parameter slots in range, depth within LANES_EXPR_MAX_DEPTH;
 *   - it is evaluated with threads = 1 at a large index0 (near 2^62, and just below 2^64 - n) on
 *     small arrays salted with NaN, +-inf, +-0, subnormals, huge values and int32 extremes; every
 *     array is a heap block of exactly n elements so AddressSanitizer sees any read past its end,
 *     and the output block has a guard element that must stay untouched;
 *   - oracles that need no reference implementation: eval returns 0 on valid arguments; float32
 *     output is the float64 output rounded once; evaluating in two chunks (index0, then index0 + k)
 *     gives the same bits as one call; lanes_expr_reduce (sum) runs on the same job;
 *   - lanes_expr_acquire must succeed exactly when compile did, twice (the second a cache hit), give
 *     the same results, and each acquire is released.
 * Any broken invariant calls abort(), which libFuzzer reports as a crash with the input saved.
 * Leaks are found by LeakSanitizer at the end of each run (libFuzzer's -detect_leaks, on by default).
 *
 * Build: tests/fuzz/CMakeLists.txt (clang, -fsanitize=fuzzer,address,undefined); run: scripts/fuzz.sh.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes/expr.h"

#define FUZZ_N_INPUTS 3
#define FUZZ_N_PARAMS 2
#define FUZZ_MAX_N 19 /* the longest array a run evaluates */

static const lanes_expr_input_t g_inputs[FUZZ_N_INPUTS] = {
    {.name = "x", .kind = LANES_SOURCE_ARRAY, .dtype = LANES_DTYPE_F64},
    {.name = "y", .kind = LANES_SOURCE_ARRAY, .dtype = LANES_DTYPE_I32},
    {.name = "u", .kind = LANES_SOURCE_UNIFORM, .dtype = LANES_DTYPE_INVALID},
};
static const char *const g_params[FUZZ_N_PARAMS] = {"n", "a"};

static const double g_x[FUZZ_MAX_N] = {
    0.0, -0.0, 1.0, -1.0, 0.5, 2.0, NAN, INFINITY, -INFINITY, 1e308, -4.9e-324, 3.141592653589793,
    1e-300, -2.5, 100.0, 7.0, -1e308, 0.1, 710.0};
static const int32_t g_y[FUZZ_MAX_N] = {
    0, 1, -1, INT32_MAX, INT32_MIN, 2, 3, -7, 1000000, 0, 5, -2, 64, 31, -31, 9, 1, -1, 2};
static const double g_param_sets[][FUZZ_N_PARAMS] = {{3.0, -1.5}, {NAN, INFINITY}, {0.0, -0.0}};
static const size_t g_lengths[] = {0, 1, 7, FUZZ_MAX_N};

#define FUZZ_CHECK(cond)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_expr: check failed at line %d: %s\n", __LINE__, #cond);          \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* A heap copy of exactly n elements of size sz (at least one byte, so the pointer is never NULL). */
static void *fuzz_copy(const void *src, size_t n, size_t sz)
{
    void *p = malloc(n * sz > 0 ? n * sz : 1);
    FUZZ_CHECK(p != NULL);
    if (n > 0)
        memcpy(p, src, n * sz);
    return p;
}

/* The same bits, or both NaN (NaN payloads may differ between code paths). */
static int fuzz_same_f64(double a, double b)
{
    if (isnan(a) && isnan(b))
        return 1;
    return memcmp(&a, &b, sizeof a) == 0;
}

static int fuzz_same_f32(float a, float b)
{
    if (isnan(a) && isnan(b))
        return 1;
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Walks the folded tree; returns its depth. */
static int fuzz_walk(const lanes_expr_node_t *node, int depth)
{
    FUZZ_CHECK(node != NULL);
    FUZZ_CHECK(depth <= LANES_EXPR_MAX_DEPTH + 1);
    FUZZ_CHECK((int)node->op >= (int)LANES_EXPR_CONST && (int)node->op <= (int)LANES_EXPR_CALL);
    FUZZ_CHECK(node->n_args >= 0 && node->n_args <= 3);
    FUZZ_CHECK(node->column >= 0);
    switch (node->op) {
    case LANES_EXPR_INPUT:
        FUZZ_CHECK(node->slot >= 0 && node->slot < FUZZ_N_INPUTS);
        break;
    case LANES_EXPR_PARAM:
        FUZZ_CHECK(node->slot >= 0 && node->slot < FUZZ_N_PARAMS);
        break;
    case LANES_EXPR_CALL:
        FUZZ_CHECK(node->slot >= 0 && node->slot < LANES_FN_COUNT);
        FUZZ_CHECK(node->n_args >= 1);
        break;
    case LANES_EXPR_WHERE:
        FUZZ_CHECK(node->n_args == 3);
        break;
    default:
        break;
    }
    int deepest = depth;
    for (int k = 0; k < node->n_args; k++) {
        const int d = fuzz_walk(node->args[k], depth + 1);
        deepest = d > deepest ? d : deepest;
    }
    return deepest;
}

/* Evaluates e on elements index0 .. index0+n-1 with x, y, seed and params; out64 gets n doubles.
 * Checks the float32 output, a two-chunk evaluation and the output's guard element. */
static void fuzz_eval_job(const lanes_expr_t *e, const double *params, uint64_t index0, size_t n,
                          uint64_t seed, double *out64)
{
    double *x = fuzz_copy(g_x, n, sizeof(double));
    int32_t *y = fuzz_copy(g_y, n, sizeof(int32_t));
    lanes_expr_binding_t b[FUZZ_N_INPUTS];
    memset(b, 0, sizeof b);
    b[0].data = x;
    b[1].data = y;
    b[2].seed = seed;

    /* float64, with a guard element after the n outputs. */
    double *o = malloc((n + 1) * sizeof(double));
    FUZZ_CHECK(o != NULL);
    const double guard = -12345.678;
    o[n] = guard;
    FUZZ_CHECK(lanes_expr_eval(e, b, params, index0, n, o, LANES_DTYPE_F64, 1) == 0);
    FUZZ_CHECK(memcmp(&o[n], &guard, sizeof guard) == 0);
    memcpy(out64, o, n * sizeof(double));

    /* float32: the float64 values rounded once. */
    float *o32 = malloc((n + 1) * sizeof(float));
    FUZZ_CHECK(o32 != NULL);
    const float guard32 = -9.5f;
    o32[n] = guard32;
    FUZZ_CHECK(lanes_expr_eval(e, b, params, index0, n, o32, LANES_DTYPE_F32, 1) == 0);
    FUZZ_CHECK(memcmp(&o32[n], &guard32, sizeof guard32) == 0);
    for (size_t k = 0; k < n; k++)
        FUZZ_CHECK(fuzz_same_f32(o32[k], (float)o[k]));

    /* Two chunks: [0, m) at index0, then [m, n) at index0 + m with the inputs advanced. */
    if (n >= 2) {
        const size_t m = n / 2 + 1;
        double *c = malloc(n * sizeof(double));
        FUZZ_CHECK(c != NULL);
        FUZZ_CHECK(lanes_expr_eval(e, b, params, index0, m, c, LANES_DTYPE_F64, 1) == 0);
        lanes_expr_binding_t b2[FUZZ_N_INPUTS];
        memcpy(b2, b, sizeof b2);
        b2[0].data = x + m;
        b2[1].data = y + m;
        FUZZ_CHECK(lanes_expr_eval(e, b2, params, index0 + m, n - m, c + m, LANES_DTYPE_F64, 1) == 0);
        for (size_t k = 0; k < n; k++)
            FUZZ_CHECK(fuzz_same_f64(c[k], o[k]));
        free(c);
    }

    /* Fused map-reduce over the same job. */
    lanes_reduce_spec_t spec = {.op = LANES_REDUCE_SUM, .dtype = LANES_DTYPE_F64};
    lanes_reducer_t *r = lanes_reducer_new(&spec, NULL);
    FUZZ_CHECK(r != NULL);
    FUZZ_CHECK(lanes_expr_reduce(e, b, params, index0, n, r, 1) == 0);
    FUZZ_CHECK(lanes_reducer_count(r) == n);
    lanes_reduce_result_t res;
    FUZZ_CHECK(lanes_reducer_finish(r, &res, NULL) == 0);
    lanes_reducer_free(r);

    free(o32);
    free(o);
    free(y);
    free(x);
}

/* Runs e on every length, parameter set and index0. With compare set the float64 results must equal
 * those in results (from another object compiled from the same source), else they are stored there. */
static void fuzz_run(const lanes_expr_t *e, double *results, int compare)
{
    const uint64_t index0s[] = {(UINT64_C(1) << 62) + 12345, UINT64_MAX - FUZZ_MAX_N};
    const size_t n_params = sizeof g_param_sets / sizeof g_param_sets[0];
    const size_t n_lengths = sizeof g_lengths / sizeof g_lengths[0];
    size_t at = 0;
    for (size_t ii = 0; ii < 2; ii++)
        for (size_t p = 0; p < n_params; p++)
            for (size_t l = 0; l < n_lengths; l++) {
                double out[FUZZ_MAX_N];
                const size_t n = g_lengths[l];
                fuzz_eval_job(e, g_param_sets[p], index0s[ii], n, 0x5eedULL + p, out);
                for (size_t k = 0; k < n; k++, at++) {
                    if (compare)
                        FUZZ_CHECK(fuzz_same_f64(results[at], out[k]));
                    else
                        results[at] = out[k];
                }
            }
}

/* Every (index0, params, length) job's outputs, in fuzz_run's order. */
#define FUZZ_RESULTS (2 * 3 * (0 + 1 + 7 + FUZZ_MAX_N))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Sources far beyond the length limit only repeat the same rejection. */
    if (size > 2 * LANES_EXPR_MAX_LENGTH)
        return 0;
    char *src = malloc(size + 1);
    FUZZ_CHECK(src != NULL);
    if (size > 0)
        memcpy(src, data, size);
    src[size] = '\0';

    lanes_error_t err;
    memset(&err, 0x5a, sizeof err); /* garbage: compile must set what it reports */
    lanes_expr_t *e = lanes_expr_compile(src, g_inputs, FUZZ_N_INPUTS, g_params, FUZZ_N_PARAMS, &err);
    lanes_error_t err2;
    memset(&err2, 0, sizeof err2);
    lanes_expr_t *a1 = lanes_expr_acquire(src, g_inputs, FUZZ_N_INPUTS, g_params, FUZZ_N_PARAMS, &err2);
    lanes_expr_t *a2 = lanes_expr_acquire(src, g_inputs, FUZZ_N_INPUTS, g_params, FUZZ_N_PARAMS, NULL);
    FUZZ_CHECK((e != NULL) == (a1 != NULL));
    FUZZ_CHECK((e != NULL) == (a2 != NULL));

    if (e == NULL) {
        FUZZ_CHECK(err.code < 0);
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(err.column >= 0 && (size_t)err.column <= strlen(src) + 1);
        FUZZ_CHECK(err2.code == err.code);
        FUZZ_CHECK(strcmp(err2.msg, err.msg) == 0);
    } else {
        const lanes_expr_node_t *root = lanes_expr_root(e);
        FUZZ_CHECK(fuzz_walk(root, 1) <= LANES_EXPR_MAX_DEPTH + 1);
        for (size_t s = 0; s < FUZZ_N_INPUTS; s++) {
            const int used = lanes_expr_uses_input(e, s);
            FUZZ_CHECK(used == 0 || used == 1);
            FUZZ_CHECK(used == lanes_expr_uses_input(a1, s));
        }
        static double results[FUZZ_RESULTS];
        fuzz_run(e, results, 0);
        fuzz_run(a1, results, 1);
        fuzz_run(a2, results, 1);
        lanes_expr_free(e);
    }
    if (a2 != NULL)
        lanes_expr_release(a2);
    if (a1 != NULL)
        lanes_expr_release(a1);
    free(src);
    return 0;
}
