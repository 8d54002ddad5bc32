/* Map on the CPU: named elementwise functions compiled into a plan and run in blocks.
 *
 * Design: lanes_map_plan_compile() looks the function up in one table (name, number of inputs,
 * parameter names) and checks everything a user can get wrong (unknown function, input count,
 * unknown, duplicate or missing parameters, dtypes) so that lanes_map_plan_run() cannot fail on a
 * valid plan. The plan is an opaque struct holding an op code and its scalar parameters; a later
 * compiled expression language can add a program to it behind the same compile/run API.
 *
 * Running: the n elements are cut into blocks of LANES_MAP_BLOCK. For each block the inputs are
 * converted to double into buffers on the stack (memcpy loads: pointers may be unaligned), the op is
 * applied by a switch taken once per block whose cases are plain SIMD-friendly loops, and the result
 * is rounded once to the output dtype and stored. Every element is computed in float64 by the same
 * expression whatever the blocking, so results do not depend on the thread count. threads <= 1 runs a
 * plain loop on the calling thread and enters no OpenMP construct; threads > 1 runs
 * "omp parallel for schedule(static)" over the blocks. Because a block reads all of its inputs before
 * it writes its output, out may alias an input of the same element size.
 *
 * Exactness: the kernels are built with -ffp-contract=off, so affine is a*x then + b with two
 * roundings (as numpy), cube is (x*x)*x, and power/sqrt/exp/log/sin/cos are the scalar libm calls
 * (glibc's vector math is only declared under -ffast-math, which lanes never uses).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/convert.h"
#include "lanes/kernels.h"

/* Elements per block: 2 input buffers of 8 KiB on the stack. */
#define LANES_MAP_BLOCK 1024
/* Inputs the named functions use at most (power with an exponent array). */
#define LANES_MAP_NAMED_MAX_INPUTS 2
#define LANES_MAP_MAX_PARAMS 2

typedef enum map_op {
    MAP_SQUARE,
    MAP_CUBE,
    MAP_POWER,      /* pow(x, n), one input and parameter n */
    MAP_POWER2,     /* pow(x, y), two inputs */
    MAP_SQRT,
    MAP_EXP,
    MAP_LOG,
    MAP_ABS,
    MAP_SIN,
    MAP_COS,
    MAP_AFFINE,
    MAP_RECIP,      /* 1/x: power with n = -1 */
} map_op_t;

/* One named function: its op, inputs and parameter names. power is listed once and resolves to
 * MAP_POWER or MAP_POWER2 by its input count. */
typedef struct map_function {
    const char *name;
    map_op_t op;
    size_t n_inputs;
    const char *params[LANES_MAP_MAX_PARAMS + 1]; /* NULL-terminated */
} map_function_t;

static const map_function_t g_functions[] = {
    {"square", MAP_SQUARE, 1, {NULL}},
    {"cube", MAP_CUBE, 1, {NULL}},
    {"power", MAP_POWER, 1, {"n", NULL}},
    {"sqrt", MAP_SQRT, 1, {NULL}},
    {"exp", MAP_EXP, 1, {NULL}},
    {"log", MAP_LOG, 1, {NULL}},
    {"abs", MAP_ABS, 1, {NULL}},
    {"sin", MAP_SIN, 1, {NULL}},
    {"cos", MAP_COS, 1, {NULL}},
    {"affine", MAP_AFFINE, 1, {"a", "b", NULL}},
};
#define N_FUNCTIONS (sizeof g_functions / sizeof g_functions[0])

static const char *const g_function_names[N_FUNCTIONS + 1] = {
    "square", "cube", "power", "sqrt", "exp", "log", "abs", "sin", "cos", "affine", NULL,
};

struct lanes_map_plan {
    map_op_t op;
    size_t n_inputs;
    lanes_dtype_t in_dtypes[LANES_MAP_NAMED_MAX_INPUTS];
    lanes_dtype_t out_dtype;
    double p[LANES_MAP_MAX_PARAMS]; /* parameter values in the order of the function's list */
};

const char *const *lanes_map_function_names(void) { return g_function_names; }

/* ---- compile ---- */

static const map_function_t *map_function_find(const char *name)
{
    for (size_t i = 0; i < N_FUNCTIONS; i++)
        if (strcmp(g_functions[i].name, name) == 0)
            return &g_functions[i];
    return NULL;
}

/* "square, cube, ..." into buf. */
static void map_function_list(char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_FUNCTIONS && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", g_functions[i].name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* "a, b" or "none" into buf. */
static void map_param_list(const char *const *names, char *buf, size_t cap)
{
    size_t len = 0;
    snprintf(buf, cap, "none");
    for (size_t i = 0; names[i] && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

lanes_map_plan_t *lanes_map_plan_compile(const char *function, const lanes_param_t *params,
                                         size_t n_params, const lanes_dtype_t *in_dtypes,
                                         size_t n_inputs, lanes_dtype_t out_dtype,
                                         lanes_error_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
    if (!function || !*function) {
        lanes_error_set(err, LANES_EINVAL, "no function name given");
        return NULL;
    }
    const map_function_t *fn = map_function_find(function);
    if (!fn) {
        char known[160];
        map_function_list(known, sizeof known);
        lanes_error_set(err, LANES_EINVAL, "unknown function '%s' (known: %s)", function, known);
        return NULL;
    }

    /* Inputs: power takes 1 (with parameter n) or 2 (exponent array); the others exactly theirs. */
    map_op_t op = fn->op;
    const char *const *param_names = fn->params;
    static const char *const no_params[] = {NULL};
    if (fn->op == MAP_POWER) {
        if (n_inputs != 1 && n_inputs != 2) {
            lanes_error_set(err, LANES_EINVAL, "function 'power' takes 1 or 2 input arrays, got %zu",
                            n_inputs);
            return NULL;
        }
        if (n_inputs == 2) {
            op = MAP_POWER2;
            param_names = no_params;
        }
    } else if (n_inputs != fn->n_inputs) {
        lanes_error_set(err, LANES_EINVAL, "function '%s' takes %zu input array%s, got %zu", fn->name,
                        fn->n_inputs, fn->n_inputs == 1 ? "" : "s", n_inputs);
        return NULL;
    }
    if (!in_dtypes) {
        lanes_error_set(err, LANES_EINVAL, "no input dtypes given");
        return NULL;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        if (lanes_dtype_size(in_dtypes[i]) == 0) {
            lanes_error_set(err, LANES_EINVAL, "input %zu has an invalid dtype (%d)", i, (int)in_dtypes[i]);
            return NULL;
        }
    }
    if (out_dtype != LANES_DTYPE_F64 && out_dtype != LANES_DTYPE_F32) {
        lanes_error_set(err, LANES_EINVAL, "output dtype must be float64 or float32, got %s",
                        lanes_dtype_name(out_dtype));
        return NULL;
    }

    /* Parameters: each given one must be known and given once; each known one must be given. */
    if (n_params && !params) {
        lanes_error_set(err, LANES_EINVAL, "%zu parameters announced but none given", n_params);
        return NULL;
    }
    double values[LANES_MAP_MAX_PARAMS] = {0};
    int seen[LANES_MAP_MAX_PARAMS] = {0};
    for (size_t i = 0; i < n_params; i++) {
        const char *name = params[i].name;
        if (!name) {
            lanes_error_set(err, LANES_EINVAL, "parameter %zu of function '%s' has no name", i, fn->name);
            return NULL;
        }
        size_t k = 0;
        while (param_names[k] && strcmp(param_names[k], name) != 0)
            k++;
        if (!param_names[k]) {
            char list[64];
            map_param_list(param_names, list, sizeof list);
            if (op == MAP_POWER2)
                lanes_error_set(err, LANES_EINVAL,
                                "function 'power' takes no parameter '%s' with 2 input arrays "
                                "(the second array is the exponent)",
                                name);
            else
                lanes_error_set(err, LANES_EINVAL, "function '%s' takes no parameter '%s' (parameters: %s)",
                                fn->name, name, list);
            return NULL;
        }
        if (seen[k]) {
            lanes_error_set(err, LANES_EINVAL, "function '%s': parameter '%s' given twice", fn->name, name);
            return NULL;
        }
        seen[k] = 1;
        values[k] = params[i].value;
    }
    for (size_t k = 0; param_names[k]; k++) {
        if (!seen[k]) {
            if (op == MAP_POWER)
                lanes_error_set(err, LANES_EINVAL,
                                "function 'power' needs parameter 'n' (or a second input array as the "
                                "exponent)");
            else
                lanes_error_set(err, LANES_EINVAL, "function '%s' needs parameter '%s'", fn->name,
                                param_names[k]);
            return NULL;
        }
    }

    lanes_map_plan_t *plan = calloc(1, sizeof *plan);
    if (!plan) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory compiling function '%s'", fn->name);
        return NULL;
    }
    plan->op = op;
    plan->n_inputs = n_inputs;
    for (size_t i = 0; i < n_inputs; i++)
        plan->in_dtypes[i] = in_dtypes[i];
    plan->out_dtype = out_dtype;
    memcpy(plan->p, values, sizeof values);
    /* numpy's x**n takes fast paths for these scalar exponents (square, sqrt, reciprocal); libm's pow
     * can differ from them in the last bit (and sqrt(-0.0) is -0.0, sqrt(-inf) NaN), so follow numpy. */
    if (op == MAP_POWER) {
        if (values[0] == 2.0)
            plan->op = MAP_SQUARE;
        else if (values[0] == 0.5)
            plan->op = MAP_SQRT;
        else if (values[0] == -1.0)
            plan->op = MAP_RECIP;
    }
    return plan;
}

void lanes_map_plan_free(lanes_map_plan_t *plan) { free(plan); }

size_t lanes_map_plan_n_inputs(const lanes_map_plan_t *plan) { return plan ? plan->n_inputs : 0; }

lanes_dtype_t lanes_map_plan_input_dtype(const lanes_map_plan_t *plan, size_t i)
{
    return plan && i < plan->n_inputs ? plan->in_dtypes[i] : LANES_DTYPE_INVALID;
}

lanes_dtype_t lanes_map_plan_out_dtype(const lanes_map_plan_t *plan)
{
    return plan ? plan->out_dtype : LANES_DTYPE_INVALID;
}

/* ---- run ---- */

/* y[i] = f(x[i]) (and of z[i] for power2) for i < n: one switch, then a plain loop per op. y may be x. */
static void map_apply(const lanes_map_plan_t *plan, double *y, const double *x, const double *z, size_t n)
{
    const double p0 = plan->p[0], p1 = plan->p[1];
    switch (plan->op) {
    case MAP_SQUARE:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * x[i];
        break;
    case MAP_CUBE:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * x[i] * x[i];
        break;
    case MAP_POWER:
        for (size_t i = 0; i < n; i++)
            y[i] = pow(x[i], p0);
        break;
    case MAP_POWER2:
        for (size_t i = 0; i < n; i++)
            y[i] = pow(x[i], z[i]);
        break;
    case MAP_SQRT:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] = sqrt(x[i]);
        break;
    case MAP_EXP:
        for (size_t i = 0; i < n; i++)
            y[i] = exp(x[i]);
        break;
    case MAP_LOG:
        for (size_t i = 0; i < n; i++)
            y[i] = log(x[i]);
        break;
    case MAP_ABS:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] = fabs(x[i]);
        break;
    case MAP_SIN:
        for (size_t i = 0; i < n; i++)
            y[i] = sin(x[i]);
        break;
    case MAP_COS:
        for (size_t i = 0; i < n; i++)
            y[i] = cos(x[i]);
        break;
    case MAP_RECIP:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0 / x[i];
        break;
    case MAP_AFFINE:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] = p0 * x[i] + p1;
        break;
    }
}

/* Block b of the job: convert the inputs, apply, store. */
static void map_run_block(const lanes_map_plan_t *plan, const void *const *inputs, size_t n, void *out,
                          size_t b)
{
    double x[LANES_MAP_BLOCK], z[LANES_MAP_BLOCK];
    size_t start = b * LANES_MAP_BLOCK;
    size_t len = n - start < LANES_MAP_BLOCK ? n - start : LANES_MAP_BLOCK;
    const double *zp = NULL;

    lanes__convert_to_f64(x, (const unsigned char *)inputs[0] + start * lanes_dtype_size(plan->in_dtypes[0]),
                          plan->in_dtypes[0], len);
    if (plan->n_inputs > 1) {
        lanes__convert_to_f64(z,
                              (const unsigned char *)inputs[1] + start * lanes_dtype_size(plan->in_dtypes[1]),
                              plan->in_dtypes[1], len);
        zp = z;
    }
    map_apply(plan, x, x, zp, len);
    lanes__store_from_f64((unsigned char *)out + start * lanes_dtype_size(plan->out_dtype), x, plan->out_dtype,
                          len);
}

int lanes_map_plan_run(const lanes_map_plan_t *plan, const void *const *inputs, size_t n, void *out,
                       int threads)
{
    if (!plan)
        return LANES_EINVAL;
    if (n == 0)
        return 0;
    if (!inputs || !out)
        return LANES_EINVAL;
    for (size_t i = 0; i < plan->n_inputs; i++)
        if (!inputs[i])
            return LANES_EINVAL;

    size_t n_blocks = (n + LANES_MAP_BLOCK - 1) / LANES_MAP_BLOCK;
    if (threads <= 1) {
        for (size_t b = 0; b < n_blocks; b++)
            map_run_block(plan, inputs, n, out, b);
    } else {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t b = 0; b < n_blocks; b++)
            map_run_block(plan, inputs, n, out, b);
    }
    return 0;
}
