/* Internals of the expression language (lanes/expr.h), shared by its three files:
 *   expr_parse.c  source -> tokens -> tree (validated, aliases expanded) -> folded tree; the error
 *                 messages with their caret line; the compiled object's life (compile, free)
 *   expr_vm.c     folded tree -> register program; evaluation in blocks (eval, reduce); the scalar
 *                 semantics of every op (lanes__expr_apply), which folding uses too
 *   expr_cache.c  acquire/release: a bounded, mutex-protected cache of compiled expressions
 *
 * Design: one function, lanes__expr_apply(), defines what every op does to float64 scalars; the VM's
 * block loops apply the very same inline element functions below, so a folded constant, a
 * once-per-call scalar and a vector element computed from the same operands are the same bits.
 * Internal to kernels/cpu; not part of the public API.
 */
#ifndef LANES_CPU_EXPR_INTERNAL_H
#define LANES_CPU_EXPR_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "lanes/expr.h"

/* ---- element semantics (scalar; the VM's loops inline the same functions) ---- */

static inline double lanes__expr_truth(double x) { return x != 0.0 ? 1.0 : 0.0; } /* NaN is true */

/* numpy's remainder (npy_remainder / npy_divmod): the result takes the divisor's sign; a zero divisor
 * gives fmod's NaN; a zero result gets the divisor's sign. */
static inline double lanes__expr_mod(double a, double b)
{
    double mod = fmod(a, b);
    if (b == 0.0)
        return mod;
    if (mod != 0.0) { /* NaN included, as numpy's "if (mod)" */
        if ((b < 0.0) != (mod < 0.0))
            mod += b;
    } else {
        mod = copysign(0.0, b);
    }
    return mod;
}

/* numpy's minimum/maximum: NaN-propagating; on ties (e.g. -0.0 and 0.0) the first argument. */
static inline double lanes__expr_min(double a, double b) { return (a <= b || a != a) ? a : b; }
static inline double lanes__expr_max(double a, double b) { return (a >= b || a != a) ? a : b; }

/* x ** p for an exponent p that is the same for every element (a constant or a parameter): numpy's
 * fast paths for 2, 0.5 and -1 (x*x, sqrt(x), 1/x), else C pow. An exponent that varies per element
 * is always C pow. */
static inline double lanes__expr_pow_scalar(double x, double p)
{
    if (p == 2.0)
        return x * x;
    if (p == 0.5)
        return sqrt(x);
    if (p == -1.0)
        return 1.0 / x;
    return pow(x, p);
}

/* What op (and fn for LANES_EXPR_CALL) gives for the arguments a[0..n_args), every argument known to
 * be the same for all elements (so POW takes lanes__expr_pow_scalar). Not for CONST, INPUT, PARAM,
 * INDEX. Defined in expr_vm.c. Pure, thread-safe. */
double lanes__expr_apply(lanes_expr_op_t op, int fn, const double *a);

/* ---- the compiled object ---- */

/* One instruction of the register program (expr_vm.c gives the opcodes). src[k] names a register or,
 * where bit k of 'scalar' is set, a scalar slot. */
typedef struct lanes__expr_instr {
    uint16_t code;
    uint16_t dst;
    uint16_t src[3];
    uint8_t scalar;
    uint8_t n_src;
    uint8_t input[3]; /* src[k] holds input input[k] - 1 (0: not an input), read in place if possible */
    int32_t aux;      /* input slot for LOAD */
} lanes__expr_instr_t;

/* One once-per-call scalar computation: scalars[dst] = apply(op, fn, scalars[src...]). */
typedef struct lanes__expr_sinstr {
    int op, fn, n_args;
    uint16_t dst;
    uint16_t src[3];
} lanes__expr_sinstr_t;

struct lanes_expr {
    /* the folded tree: nodes[0 .. n_nodes), root among them */
    lanes_expr_node_t *nodes;
    size_t n_nodes;
    const lanes_expr_node_t *root;

    size_t n_inputs, n_params;
    lanes_source_kind_t kinds[LANES_EXPR_MAX_INPUTS];
    lanes_dtype_t dtypes[LANES_EXPR_MAX_INPUTS];
    unsigned char uses_input[LANES_EXPR_MAX_INPUTS];

    /* program (expr_vm.c): scalar slots are constants (values in consts), then parameters, then
     * the results of the scalar instructions */
    size_t n_scalars, n_consts;
    double *consts;
    lanes__expr_sinstr_t *sprog;
    size_t n_sprog;
    lanes__expr_instr_t *prog;
    size_t n_prog;
    size_t n_regs;
    int result_scalar;  /* 1: the result is scalar slot 'result', else register 'result' */
    uint16_t result;
    int result_input;   /* the result is input result_input - 1 as it is (0: no) */

    /* cache bookkeeping (expr_cache.c), under its mutex */
    long refs;      /* references: 1 from compile or from the cache, +1 per acquire */
    int cached;     /* 1 while a cache entry holds it */
};

/* Builds e's program from its folded tree (called once by compile). Returns 0 or LANES_ENOMEM. */
int lanes__expr_program_build(lanes_expr_t *e);
/* Frees what lanes__expr_program_build allocated. */
void lanes__expr_program_free(lanes_expr_t *e);

#endif /* LANES_CPU_EXPR_INTERNAL_H */
