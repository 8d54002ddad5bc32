/* lanes expressions: a small compiled language for elementwise functions, numexpr-style.
 *
 * Design: source text -> tokens -> parse tree -> validated, typed tree -> constant folding -> a compact
 * register program. The folded tree is the single source of truth: the CPU runs the program in blocks
 * of a few thousand elements per instruction (SIMD loops, AVX2/AVX-512 chosen at run time, OpenMP
 * across blocks); a GPU backend generates its kernel from the same tree (lanes_expr_root()).
 *
 * The language (all values float64):
 *   numbers (1, 2.5, 1e-3, .5), named inputs (arrays streamed with the job, or generated: range,
 *   uniform, normal), named scalar parameters, the constants pi and e, and the element index i
 *   (global: element k of the job has i = k, whatever the chunking);
 *   operators, loosest first: or; and; not; comparisons (< <= > >= == !=, not chained); + -;
 *   * / %; unary -; ** (right-associative, and binding tighter than a unary minus on its left:
 *   -x**2 is -(x**2), 2**-1 is 0.5), as in Python. Comparisons and and/or/not give 1.0 or 0.0; a
 *   value is true when it is not 0 (NaN is true, as Python's bool(nan)). % is numpy's remainder
 *   (the result takes the divisor's sign);
 *   functions: abs sqrt cbrt exp expm1 log log1p log2 log10 sin cos tan asin acos atan atan2 sinh cosh
 *   tanh floor ceil round (half to even, as numpy) trunc min max (NaN-propagating, as numpy's
 *   minimum/maximum) pow hypot clip(x, lo, hi) where(c, a, b); and the named functions of the map API
 *   as aliases: square(x) = x**2, cube(x) = (x*x)*x (as the named cube), power(x, n) = x**n,
 *   affine(x, a, b) = a*x + b.
 *   x ** p and power(x, p) are C pow, except that an exponent p that is the same for every element
 *   (a constant or parameter, after folding) takes numpy's fast paths: p == 2 is x*x, p == 0.5
 *   sqrt(x), p == -1 1/x; pow(x, p) is always C pow (so x**3 is pow(x, 3), which can differ in the
 *   last bit from cube(x)). round is nearbyint in the default rounding mode. The element index i is
 *   float64.
 *
 * Errors name the problem and where: "unknown function 'sine' at column 1", followed by the source
 * (an excerpt around the column if long) and a caret line; lanes_error_t.column holds the column.
 * Limits protect the daemon: source length, tree depth, instruction count, inputs and parameters.
 *
 * Thread-safety: a compiled lanes_expr_t is immutable; any number of threads may evaluate it at once.
 */
#ifndef LANES_EXPR_H
#define LANES_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LANES_EXPR_MAX_LENGTH 4096  /* characters of source */
#define LANES_EXPR_MAX_DEPTH 64     /* nesting of the tree (its height; parentheses may nest twice as deep) */
#define LANES_EXPR_MAX_NODES 512    /* nodes after folding (about the instruction count) */
#define LANES_EXPR_MAX_INPUTS 8     /* named inputs, streamed and generated together */
#define LANES_EXPR_MAX_PARAMS 32

/* Where an input's values come from. */
typedef enum lanes_source_kind {
    LANES_SOURCE_ARRAY = 0,   /* streamed with the job, of the input's dtype */
    LANES_SOURCE_RANGE = 1,   /* start + step * k for element k */
    LANES_SOURCE_UNIFORM = 2, /* lanes_uniform_at(seed, k) (lanes/random.h) */
    LANES_SOURCE_NORMAL = 3,  /* lanes_normal_at(seed, k) */
} lanes_source_kind_t;

/* An input as the compiler sees it: its name, kind and (for arrays) dtype. */
typedef struct lanes_expr_input {
    const char *name;
    lanes_source_kind_t kind;
    lanes_dtype_t dtype; /* ARRAY only */
} lanes_expr_input_t;

/* An input's values for one evaluation. */
typedef struct lanes_expr_binding {
    const void *data;    /* ARRAY: n elements of the input's dtype (no alignment needed) */
    uint64_t seed;       /* UNIFORM, NORMAL */
    double start, step;  /* RANGE */
} lanes_expr_binding_t;

/* The folded tree, public so other backends can generate code from it. */
typedef enum lanes_expr_op {
    LANES_EXPR_CONST,  /* value */
    LANES_EXPR_INPUT,  /* slot: input index */
    LANES_EXPR_PARAM,  /* slot: parameter index */
    LANES_EXPR_INDEX,  /* i */
    LANES_EXPR_NEG, LANES_EXPR_NOT,
    LANES_EXPR_ADD, LANES_EXPR_SUB, LANES_EXPR_MUL, LANES_EXPR_DIV, LANES_EXPR_MOD, LANES_EXPR_POW,
    LANES_EXPR_LT, LANES_EXPR_LE, LANES_EXPR_GT, LANES_EXPR_GE, LANES_EXPR_EQ, LANES_EXPR_NE,
    LANES_EXPR_AND, LANES_EXPR_OR,
    LANES_EXPR_WHERE,  /* args: condition, if true, if false */
    LANES_EXPR_CALL,   /* slot: lanes_expr_function_t; args: its arguments */
} lanes_expr_op_t;

typedef enum lanes_expr_function {
    LANES_FN_ABS, LANES_FN_SQRT, LANES_FN_CBRT, LANES_FN_EXP, LANES_FN_EXPM1, LANES_FN_LOG, LANES_FN_LOG1P,
    LANES_FN_LOG2, LANES_FN_LOG10, LANES_FN_SIN, LANES_FN_COS, LANES_FN_TAN, LANES_FN_ASIN, LANES_FN_ACOS,
    LANES_FN_ATAN, LANES_FN_ATAN2, LANES_FN_SINH, LANES_FN_COSH, LANES_FN_TANH, LANES_FN_FLOOR, LANES_FN_CEIL,
    LANES_FN_ROUND, LANES_FN_TRUNC, LANES_FN_MIN, LANES_FN_MAX, LANES_FN_POW, LANES_FN_HYPOT, LANES_FN_CLIP,
    LANES_FN_COUNT
} lanes_expr_function_t;

typedef struct lanes_expr_node {
    lanes_expr_op_t op;
    double value;     /* CONST */
    int slot;         /* INPUT, PARAM: index; CALL: lanes_expr_function_t */
    int n_args;       /* 0 to 3 */
    const struct lanes_expr_node *args[3];
    int column;       /* 1-based column in the source where the node starts */
} lanes_expr_node_t;

typedef struct lanes_expr lanes_expr_t;

/* Compiles src for the given inputs and parameter names (all borrowed for the call only). A name in
 * src must be an input, a parameter, pi, e or i (inputs and parameters may not be named pi, e, i or
 * like a function). Inputs the expression does not use are allowed. Fails with LANES_EINVAL and a
 * message with the column and a caret line. Returns a new expression that the caller owns
 * (lanes_expr_free()), or NULL with err set. Thread-safe. */
lanes_expr_t *lanes_expr_compile(const char *src, const lanes_expr_input_t *inputs, size_t n_inputs,
                                 const char *const *param_names, size_t n_params, lanes_error_t *err);

void lanes_expr_free(lanes_expr_t *e);

/* Compiled expressions are cached by their source, inputs (names, kinds, dtypes) and parameter names
 * (not by parameter values or bindings, which come at evaluation). acquire returns a shared
 * expression (compiling it on a miss) that the caller gives back with lanes_expr_release(); the cache
 * keeps a bounded number of them (least recently used dropped first). release also frees an expression
 * from lanes_expr_compile() that nobody else holds, like lanes_expr_free(). Thread-safe. */
lanes_expr_t *lanes_expr_acquire(const char *src, const lanes_expr_input_t *inputs, size_t n_inputs,
                                 const char *const *param_names, size_t n_params, lanes_error_t *err);
void lanes_expr_release(lanes_expr_t *e);

/* The cache's counters and size, for Info and tests. */
typedef struct lanes_expr_cache_stats {
    size_t entries, capacity;       /* expressions held now, most it holds */
    uint64_t hits, misses, evictions;
} lanes_expr_cache_stats_t;
void lanes_expr_cache_stats(lanes_expr_cache_stats_t *out);

/* Drops every cache entry (expressions still acquired live until released). Thread-safe. */
void lanes_expr_cache_clear(void);

/* The folded tree; valid as long as e. */
const lanes_expr_node_t *lanes_expr_root(const lanes_expr_t *e);

/* 1 if the expression reads input slot (after folding), else 0. */
int lanes_expr_uses_input(const lanes_expr_t *e, size_t slot);

/* Evaluates elements index0 .. index0+n-1 of the job into out (n elements of out_dtype, F64 or F32:
 * computed in float64, rounded once). bindings has one entry per input; params one value per parameter
 * name. threads <= 1 runs inline, else OpenMP. Returns 0, LANES_EINVAL (bad arguments, a missing
 * binding for an input the expression uses) or LANES_ENOMEM (register scratch). Thread-safe. */
int lanes_expr_eval(const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                    uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype, int threads);

/* Fused map-reduce: evaluates elements index0 .. index0+n-1 and feeds them to r (created for dtype
 * F64) in order, holding at most a bounded block of mapped values, never the whole. The reducer's
 * result is the same as feeding the materialised array. Returns 0 or a negative code. */
int lanes_expr_reduce(const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                      uint64_t index0, size_t n, lanes_reducer_t *r, int threads);

/* NULL-terminated list of the function names the language knows (aliases included). Static. */
const char *const *lanes_expr_function_names(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_EXPR_H */
