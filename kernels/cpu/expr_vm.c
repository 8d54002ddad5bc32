/* Expression virtual machine: the folded tree compiled into a register program, run block by block
 * (lanes_expr_eval, lanes_expr_reduce), and the scalar semantics of every op (lanes__expr_apply).
 *
 * Program: the tree is walked children first. A node whose arguments are all scalars (constants,
 * parameters, or scalars made of them) becomes a scalar instruction, run once per call on a table
 * of scalar slots (parameters first, then constants and scalar results). Every other node becomes a
 * vector instruction: an op, a destination register and up to three sources, each a register or a
 * scalar slot (bit k of 'scalar'), so 2*x-1 is two instructions and no constant is ever broadcast into
 * a block. An input becomes one LOAD instruction at its first use (its register is reused by later
 * uses), i one INDEX instruction. Registers are then assigned by a linear scan over the program:
 * a register is freed after the last instruction that reads it and the next destination takes it
 * (ops are elementwise, so an instruction may write the register it reads), which keeps a deep
 * expression to a handful of block buffers.
 *
 * Running: elements are cut into blocks of EXPR_BLOCK by position in the call; each block runs the
 * whole program: LOAD converts an array input of any dtype to double (memcpy loads, so unaligned data
 * is fine) or generates range/uniform/normal values from the element's global index (index0 + k),
 * then each instruction is one plain loop over the block, and the result is stored once, as float64
 * or rounded to float32. Two copies are skipped when the addresses allow (numexpr does the same): a
 * float64 input at an 8-byte aligned address is read in place by the instructions that use it (its
 * LOAD does nothing), and a float64 output at an aligned address is written directly by the last
 * instruction. Unaligned or converted data always goes through a register. Each element goes through the same operations whatever the block
 * it lands in, so results do not depend on the thread count or on how [index0, index0 + n) is split
 * across calls. Registers live in one scratch allocation per call (on the stack when small), a slice
 * per thread: nothing is allocated per block. threads <= 1 enters no OpenMP construct; otherwise
 * "omp parallel for schedule(static)" runs over the blocks.
 *
 * Vectorisation: the loops for arithmetic, comparisons, logic, where, min/max/clip, abs, sqrt and
 * rounding are "omp simd" loops compiled three times (GCC's target_clones: AVX-512F, AVX2 and the
 * baseline), the variant picked at load time by the CPU; none depends on the ISA for its result
 * (-ffp-contract=off: no FMA; IEEE add/mul/div/sqrt are exact-rounded everywhere). Transcendentals
 * (exp, log, sin, pow, fmod for %, ...) call scalar libm per element, as numexpr's pip wheels do
 * without MKL, so they are bit-identical to the C library's functions.
 *
 * Semantics of each op: lanes__expr_apply() below (scalars and folding) and the block loops use the
 * same inline element functions, so a constant folded at compile time, a per-call scalar and an
 * element computed in a block are the same bits. x ** p with p the same for all elements (constant
 * or parameter) takes numpy's fast paths: x*x for 2, sqrt(x) for 0.5, 1/x for -1; the pow() function
 * and an exponent that varies per element use C pow.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/convert.h"
#include "cpu/expr_internal.h"
#include "lanes/random.h"

/* Elements per block: one register is 8 KiB, so a block's working set stays in L1 (measured: 1024 beats
 * 2048 and 4096 on the memory-bound expressions, no difference on the libm-bound ones). */
#define EXPR_BLOCK 1024
/* Elements evaluated at a time by lanes_expr_reduce (2 MiB of float64). */
#define EXPR_REDUCE_PIECE (256 * 1024)
/* Register scratch up to this many doubles sits on the caller's stack (32 KiB). */
#define EXPR_STACK_DOUBLES 4096
/* Scalar slots: parameters, constants and scalar results (at most one per node). */
#define EXPR_MAX_SCALARS (LANES_EXPR_MAX_NODES + LANES_EXPR_MAX_PARAMS)

/* Vector opcodes beyond lanes_expr_op_t's values. */
enum {
    VM_LOAD = 100, /* dst = input aux */
    VM_INDEX,      /* dst = i */
    VM_FILL,       /* dst = scalar src[0] (a where/clip operand that must be a register) */
};

#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VM_CLONES
#define VM_CLONES
#endif

/* ---- element functions: the one definition of each op ---- */

static inline double el_neg(double a) { return -a; }
static inline double el_not(double a) { return a == 0.0 ? 1.0 : 0.0; }
static inline double el_add(double a, double b) { return a + b; }
static inline double el_sub(double a, double b) { return a - b; }
static inline double el_mul(double a, double b) { return a * b; }
static inline double el_div(double a, double b) { return a / b; }
static inline double el_lt(double a, double b) { return a < b ? 1.0 : 0.0; }
static inline double el_le(double a, double b) { return a <= b ? 1.0 : 0.0; }
static inline double el_gt(double a, double b) { return a > b ? 1.0 : 0.0; }
static inline double el_ge(double a, double b) { return a >= b ? 1.0 : 0.0; }
static inline double el_eq(double a, double b) { return a == b ? 1.0 : 0.0; }
static inline double el_ne(double a, double b) { return a != b ? 1.0 : 0.0; }
static inline double el_and(double a, double b) { return ((a != 0.0) & (b != 0.0)) ? 1.0 : 0.0; }
static inline double el_or(double a, double b) { return ((a != 0.0) | (b != 0.0)) ? 1.0 : 0.0; }
static inline double el_where(double c, double a, double b) { return c != 0.0 ? a : b; }
static inline double el_clip(double x, double lo, double hi)
{
    return lanes__expr_min(lanes__expr_max(x, lo), hi);
}
static inline double el_square(double a) { return a * a; }
static inline double el_recip(double a) { return 1.0 / a; }
static inline double el_round(double a) { return nearbyint(a); } /* half to even in the default mode */

/* Unary function fn of a (1-argument functions only). */
static inline double el_fn1(int fn, double a)
{
    switch (fn) {
    case LANES_FN_ABS: return fabs(a);
    case LANES_FN_SQRT: return sqrt(a);
    case LANES_FN_CBRT: return cbrt(a);
    case LANES_FN_EXP: return exp(a);
    case LANES_FN_EXPM1: return expm1(a);
    case LANES_FN_LOG: return log(a);
    case LANES_FN_LOG1P: return log1p(a);
    case LANES_FN_LOG2: return log2(a);
    case LANES_FN_LOG10: return log10(a);
    case LANES_FN_SIN: return sin(a);
    case LANES_FN_COS: return cos(a);
    case LANES_FN_TAN: return tan(a);
    case LANES_FN_ASIN: return asin(a);
    case LANES_FN_ACOS: return acos(a);
    case LANES_FN_ATAN: return atan(a);
    case LANES_FN_SINH: return sinh(a);
    case LANES_FN_COSH: return cosh(a);
    case LANES_FN_TANH: return tanh(a);
    case LANES_FN_FLOOR: return floor(a);
    case LANES_FN_CEIL: return ceil(a);
    case LANES_FN_ROUND: return el_round(a);
    case LANES_FN_TRUNC: return trunc(a);
    default: return NAN;
    }
}

double lanes__expr_apply(lanes_expr_op_t op, int fn, const double *a)
{
    switch (op) {
    case LANES_EXPR_NEG: return el_neg(a[0]);
    case LANES_EXPR_NOT: return el_not(a[0]);
    case LANES_EXPR_ADD: return el_add(a[0], a[1]);
    case LANES_EXPR_SUB: return el_sub(a[0], a[1]);
    case LANES_EXPR_MUL: return el_mul(a[0], a[1]);
    case LANES_EXPR_DIV: return el_div(a[0], a[1]);
    case LANES_EXPR_MOD: return lanes__expr_mod(a[0], a[1]);
    case LANES_EXPR_POW: return lanes__expr_pow_scalar(a[0], a[1]);
    case LANES_EXPR_LT: return el_lt(a[0], a[1]);
    case LANES_EXPR_LE: return el_le(a[0], a[1]);
    case LANES_EXPR_GT: return el_gt(a[0], a[1]);
    case LANES_EXPR_GE: return el_ge(a[0], a[1]);
    case LANES_EXPR_EQ: return el_eq(a[0], a[1]);
    case LANES_EXPR_NE: return el_ne(a[0], a[1]);
    case LANES_EXPR_AND: return el_and(a[0], a[1]);
    case LANES_EXPR_OR: return el_or(a[0], a[1]);
    case LANES_EXPR_WHERE: return el_where(a[0], a[1], a[2]);
    case LANES_EXPR_CALL:
        switch (fn) {
        case LANES_FN_ATAN2: return atan2(a[0], a[1]);
        case LANES_FN_MIN: return lanes__expr_min(a[0], a[1]);
        case LANES_FN_MAX: return lanes__expr_max(a[0], a[1]);
        case LANES_FN_POW: return pow(a[0], a[1]);
        case LANES_FN_HYPOT: return hypot(a[0], a[1]);
        case LANES_FN_CLIP: return el_clip(a[0], a[1], a[2]);
        default: return el_fn1(fn, a[0]);
        }
    default: return NAN;
    }
}

/* ---- block loops ---- */

/* Unary: SIMD (cloned per ISA) or libm (a plain loop of calls). */
#define VM_UNARY_SIMD(name, EXPR)                                   \
    VM_CLONES static void name(double *d, const double *pa, size_t n) \
    {                                                               \
        _Pragma("omp simd") for (size_t k = 0; k < n; k++)          \
        {                                                           \
            double a = pa[k];                                       \
            d[k] = (EXPR);                                          \
        }                                                           \
    }
#define VM_UNARY_LIBM(name, EXPR)                        \
    static void name(double *d, const double *pa, size_t n) \
    {                                                    \
        for (size_t k = 0; k < n; k++) {                 \
            double a = pa[k];                            \
            d[k] = (EXPR);                               \
        }                                                \
    }

/* Binary, in three shapes: vector-vector, vector-scalar, scalar-vector. */
#define VM_BINARY_(ATTR, PRAGMA, name, EXPR)                                         \
    ATTR static void name##_vv(double *d, const double *pa, const double *pb, size_t n) \
    {                                                                                \
        PRAGMA for (size_t k = 0; k < n; k++)                                        \
        {                                                                            \
            double a = pa[k], b = pb[k];                                             \
            d[k] = (EXPR);                                                           \
        }                                                                            \
    }                                                                                \
    ATTR static void name##_vs(double *d, const double *pa, double b, size_t n)      \
    {                                                                                \
        PRAGMA for (size_t k = 0; k < n; k++)                                        \
        {                                                                            \
            double a = pa[k];                                                        \
            d[k] = (EXPR);                                                           \
        }                                                                            \
    }                                                                                \
    ATTR static void name##_sv(double *d, double a, const double *pb, size_t n)      \
    {                                                                                \
        PRAGMA for (size_t k = 0; k < n; k++)                                        \
        {                                                                            \
            double b = pb[k];                                                        \
            d[k] = (EXPR);                                                           \
        }                                                                            \
    }
#define VM_BINARY_SIMD(name, EXPR) VM_BINARY_(VM_CLONES, _Pragma("omp simd"), name, EXPR)
#define VM_BINARY_LIBM(name, EXPR) VM_BINARY_(, , name, EXPR)

VM_UNARY_SIMD(vm_neg, el_neg(a))
VM_UNARY_SIMD(vm_not, el_not(a))
VM_UNARY_SIMD(vm_abs, fabs(a))
VM_UNARY_SIMD(vm_sqrt, sqrt(a))
VM_UNARY_SIMD(vm_square, el_square(a))
VM_UNARY_SIMD(vm_recip, el_recip(a))
VM_UNARY_SIMD(vm_floor, floor(a))
VM_UNARY_SIMD(vm_ceil, ceil(a))
VM_UNARY_SIMD(vm_trunc, trunc(a))
VM_UNARY_SIMD(vm_round, el_round(a))
VM_UNARY_LIBM(vm_cbrt, cbrt(a))
VM_UNARY_LIBM(vm_exp, exp(a))
VM_UNARY_LIBM(vm_expm1, expm1(a))
VM_UNARY_LIBM(vm_log, log(a))
VM_UNARY_LIBM(vm_log1p, log1p(a))
VM_UNARY_LIBM(vm_log2, log2(a))
VM_UNARY_LIBM(vm_log10, log10(a))
VM_UNARY_LIBM(vm_sin, sin(a))
VM_UNARY_LIBM(vm_cos, cos(a))
VM_UNARY_LIBM(vm_tan, tan(a))
VM_UNARY_LIBM(vm_asin, asin(a))
VM_UNARY_LIBM(vm_acos, acos(a))
VM_UNARY_LIBM(vm_atan, atan(a))
VM_UNARY_LIBM(vm_sinh, sinh(a))
VM_UNARY_LIBM(vm_cosh, cosh(a))
VM_UNARY_LIBM(vm_tanh, tanh(a))

VM_BINARY_SIMD(vm_add, el_add(a, b))
VM_BINARY_SIMD(vm_sub, el_sub(a, b))
VM_BINARY_SIMD(vm_mul, el_mul(a, b))
VM_BINARY_SIMD(vm_div, el_div(a, b))
VM_BINARY_SIMD(vm_lt, el_lt(a, b))
VM_BINARY_SIMD(vm_le, el_le(a, b))
VM_BINARY_SIMD(vm_gt, el_gt(a, b))
VM_BINARY_SIMD(vm_ge, el_ge(a, b))
VM_BINARY_SIMD(vm_eq, el_eq(a, b))
VM_BINARY_SIMD(vm_ne, el_ne(a, b))
VM_BINARY_SIMD(vm_and, el_and(a, b))
VM_BINARY_SIMD(vm_or, el_or(a, b))
VM_BINARY_SIMD(vm_min, lanes__expr_min(a, b))
VM_BINARY_SIMD(vm_max, lanes__expr_max(a, b))
VM_BINARY_LIBM(vm_mod, lanes__expr_mod(a, b))
VM_BINARY_LIBM(vm_pow, pow(a, b))
VM_BINARY_LIBM(vm_atan2, atan2(a, b))
VM_BINARY_LIBM(vm_hypot, hypot(a, b))

/* where(c, a, b) with c a register, a and b registers or scalars. */
VM_CLONES static void vm_where_vv(double *d, const double *pc, const double *pa, const double *pb, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        d[k] = el_where(pc[k], pa[k], pb[k]);
}
VM_CLONES static void vm_where_vs(double *d, const double *pc, const double *pa, double b, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        d[k] = el_where(pc[k], pa[k], b);
}
VM_CLONES static void vm_where_sv(double *d, const double *pc, double a, const double *pb, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        d[k] = el_where(pc[k], a, pb[k]);
}
VM_CLONES static void vm_where_ss(double *d, const double *pc, double a, double b, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        d[k] = el_where(pc[k], a, b);
}

/* clip(x, lo, hi): all registers, or x a register and lo, hi scalars. */
VM_CLONES static void vm_clip_vvv(double *d, const double *px, const double *plo, const double *phi, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        d[k] = el_clip(px[k], plo[k], phi[k]);
}
VM_CLONES static void vm_clip_vss(double *d, const double *px, double lo, double hi, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        d[k] = el_clip(px[k], lo, hi);
}

static void vm_fill(double *d, double v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        d[k] = v;
}

/* d[j] = (double)(k0 + j): exact sums of exact doubles while k0 + n <= 2^53, else converted one by
 * one (C's uint64 -> double, round to nearest). */
VM_CLONES static void vm_index(double *d, uint64_t k0, size_t n)
{
    if (k0 <= (UINT64_C(1) << 53) - n) {
        double base = (double)k0;
        int m = (int)n;
#pragma omp simd
        for (int j = 0; j < m; j++)
            d[j] = base + (double)j;
    } else {
        for (size_t j = 0; j < n; j++)
            d[j] = (double)(k0 + j);
    }
}

/* ---- program ---- */

typedef struct operand {
    int scalar; /* 1: idx is a scalar slot, 0: a virtual register */
    int idx;
    int input;  /* the register holds input input - 1 (0: no) */
} operand_t;

typedef struct builder {
    lanes_expr_t *e;
    lanes__expr_instr_t *prog;
    size_t n_prog, cap_prog;
    int n_vregs;
    int input_vreg[LANES_EXPR_MAX_INPUTS];
    int index_vreg;
} builder_t;

static int build_emit(builder_t *b, int code, int aux, int n_src, const operand_t *src)
{
    lanes__expr_instr_t *in = &b->prog[b->n_prog++];
    memset(in, 0, sizeof *in);
    in->code = (uint16_t)code;
    in->aux = aux;
    in->n_src = (uint8_t)n_src;
    for (int k = 0; k < n_src; k++) {
        in->src[k] = (uint16_t)src[k].idx;
        if (src[k].scalar)
            in->scalar |= (uint8_t)(1u << k);
        in->input[k] = (uint8_t)src[k].input;
    }
    int v = b->n_vregs++;
    in->dst = (uint16_t)v;
    return v;
}

/* Compiles nd's subtree (recursion depth <= the tree's height); returns where its value is. */
static operand_t build_node(builder_t *b, const lanes_expr_node_t *nd)
{
    lanes_expr_t *e = b->e;
    operand_t r = {0, 0, 0};
    switch (nd->op) {
    case LANES_EXPR_CONST:
        r.scalar = 1;
        r.idx = (int)e->n_scalars++;
        e->consts[r.idx] = nd->value;
        return r;
    case LANES_EXPR_PARAM:
        r.scalar = 1;
        r.idx = nd->slot;
        return r;
    case LANES_EXPR_INPUT:
        if (b->input_vreg[nd->slot] < 0)
            b->input_vreg[nd->slot] = build_emit(b, VM_LOAD, nd->slot, 0, NULL);
        r.idx = b->input_vreg[nd->slot];
        r.input = nd->slot + 1;
        return r;
    case LANES_EXPR_INDEX:
        if (b->index_vreg < 0)
            b->index_vreg = build_emit(b, VM_INDEX, 0, 0, NULL);
        r.idx = b->index_vreg;
        return r;
    default:
        break;
    }
    operand_t a[3];
    int all_scalar = 1;
    for (int k = 0; k < nd->n_args; k++) {
        a[k] = build_node(b, nd->args[k]);
        all_scalar &= a[k].scalar;
    }
    if (all_scalar) {
        lanes__expr_sinstr_t *s = &e->sprog[e->n_sprog++];
        memset(s, 0, sizeof *s);
        s->op = nd->op;
        s->fn = nd->slot;
        s->n_args = nd->n_args;
        for (int k = 0; k < nd->n_args; k++)
            s->src[k] = (uint16_t)a[k].idx;
        s->dst = (uint16_t)e->n_scalars++;
        r.scalar = 1;
        r.idx = s->dst;
        return r;
    }
    /* where's condition and clip's bounds take only the shapes the loops have: fill the others */
    int is_where = nd->op == LANES_EXPR_WHERE;
    int is_clip = nd->op == LANES_EXPR_CALL && nd->slot == LANES_FN_CLIP;
    if (is_where && a[0].scalar) {
        a[0].idx = build_emit(b, VM_FILL, 0, 1, &a[0]);
        a[0].scalar = 0;
        a[0].input = 0;
    }
    if (is_clip && !(!a[0].scalar && a[1].scalar && a[2].scalar)) {
        for (int k = 0; k < 3; k++) {
            if (a[k].scalar) {
                a[k].idx = build_emit(b, VM_FILL, 0, 1, &a[k]);
                a[k].scalar = 0;
                a[k].input = 0;
            }
        }
    }
    r.idx = build_emit(b, nd->op, nd->slot, nd->n_args, a);
    return r;
}

/* Linear scan: virtual registers to block registers, freeing each after its last reader. */
static int build_regalloc(builder_t *b, int result_vreg)
{
    int nv = b->n_vregs;
    int *last = malloc((size_t)(nv ? nv : 1) * sizeof *last);
    int *phys = malloc((size_t)(nv ? nv : 1) * sizeof *phys);
    int *free_regs = malloc((size_t)(nv ? nv : 1) * sizeof *free_regs);
    if (!last || !phys || !free_regs) {
        free(last);
        free(phys);
        free(free_regs);
        return LANES_ENOMEM;
    }
    for (int v = 0; v < nv; v++)
        last[v] = -1;
    for (size_t i = 0; i < b->n_prog; i++)
        for (int k = 0; k < 3; k++)
            if (!(b->prog[i].scalar & (1u << k)) && k < b->prog[i].n_src)
                last[b->prog[i].src[k]] = (int)i;
    if (result_vreg >= 0)
        last[result_vreg] = (int)b->n_prog;
    int n_free = 0, n_phys = 0;
    for (size_t i = 0; i < b->n_prog; i++) {
        lanes__expr_instr_t *in = &b->prog[i];
        int ns = in->n_src;
        int vsrc[3];
        for (int k = 0; k < ns; k++) {
            vsrc[k] = -1;
            if (in->scalar & (1u << k))
                continue;
            vsrc[k] = in->src[k];
            in->src[k] = (uint16_t)phys[vsrc[k]];
        }
        for (int k = 0; k < ns; k++) {
            int v = vsrc[k];
            if (v < 0 || last[v] != (int)i)
                continue;
            int dup = 0;
            for (int j = 0; j < k; j++)
                dup |= vsrc[j] == v;
            if (!dup)
                free_regs[n_free++] = phys[v];
        }
        int dv = in->dst;
        phys[dv] = n_free ? free_regs[--n_free] : n_phys++;
        in->dst = (uint16_t)phys[dv];
    }
    b->e->n_regs = (size_t)n_phys;
    if (result_vreg >= 0)
        b->e->result = (uint16_t)phys[result_vreg];
    free(last);
    free(phys);
    free(free_regs);
    return 0;
}

int lanes__expr_program_build(lanes_expr_t *e)
{
    size_t nn = e->n_nodes;
    builder_t b;
    memset(&b, 0, sizeof b);
    b.e = e;
    b.cap_prog = 3 * nn + LANES_EXPR_MAX_INPUTS + 2; /* a node, its fills, the loads */
    b.prog = malloc(b.cap_prog * sizeof *b.prog);
    e->sprog = malloc((nn ? nn : 1) * sizeof *e->sprog);
    e->consts = calloc(nn + e->n_params + 1, sizeof *e->consts);
    if (!b.prog || !e->sprog || !e->consts) {
        free(b.prog);
        return LANES_ENOMEM;
    }
    for (int k = 0; k < LANES_EXPR_MAX_INPUTS; k++)
        b.input_vreg[k] = -1;
    b.index_vreg = -1;
    e->n_scalars = e->n_params;
    operand_t r = build_node(&b, e->root);
    e->result_scalar = r.scalar;
    e->result = (uint16_t)r.idx;
    e->result_input = r.input;
    if (build_regalloc(&b, r.scalar ? -1 : r.idx) != 0) {
        free(b.prog);
        return LANES_ENOMEM;
    }
    e->prog = b.prog;
    e->n_prog = b.n_prog;
    return 0;
}

void lanes__expr_program_free(lanes_expr_t *e)
{
    free(e->prog);
    free(e->sprog);
    free(e->consts);
    e->prog = NULL;
    e->sprog = NULL;
    e->consts = NULL;
}

/* ---- evaluation ---- */

typedef struct vm_call {
    const lanes_expr_t *e;
    const lanes_expr_binding_t *bindings;
    const double *sc; /* scalar slots */
    uint64_t index0;
    size_t n;
    unsigned char *out;
    lanes_dtype_t out_dtype;
    size_t stride; /* doubles per register */
    /* float64 inputs at 8-byte aligned addresses, read in place (NULL: loaded into a register) */
    const double *direct[LANES_EXPR_MAX_INPUTS];
    double *out_direct; /* float64 output at an aligned address: the last instruction writes it */
} vm_call_t;

#define VM_BIN(nm)                              \
    do {                                        \
        if (s == 0)                             \
            nm##_vv(d, R(0), R(1), len);        \
        else if (s == 1)                        \
            nm##_sv(d, S(0), R(1), len);        \
        else                                    \
            nm##_vs(d, R(0), S(1), len);        \
    } while (0)

/* Runs instruction 'in' on the block of len elements starting at position off of the call. */
/* Runs instruction 'in' on the block of len elements starting at position off of the call, writing d.
 * A source that is a float64 input at an aligned address is read in place. */
static void vm_exec(const vm_call_t *c, const lanes__expr_instr_t *in, double *d, double *regs, size_t off,
                    size_t len)
{
#define R(k)                                                                                           \
    (in->input[k] && c->direct[in->input[k] - 1] ? c->direct[in->input[k] - 1] + off                 \
                                                 : regs + (size_t)in->src[k] * c->stride)
#define S(k) (c->sc[in->src[k]])
    unsigned s = in->scalar;
    switch (in->code) {
    case VM_LOAD: {
        const lanes_expr_binding_t *bd = &c->bindings[in->aux];
        lanes_dtype_t dt = c->e->dtypes[in->aux];
        switch (c->e->kinds[in->aux]) {
        case LANES_SOURCE_ARRAY:
            lanes__convert_to_f64(d, (const unsigned char *)bd->data + off * lanes_dtype_size(dt), dt, len);
            break;
        case LANES_SOURCE_RANGE: {
            double start = bd->start, step = bd->step;
            vm_index(d, c->index0 + off, len);
            for (size_t k = 0; k < len; k++)
                d[k] = start + step * d[k];
            break;
        }
        case LANES_SOURCE_UNIFORM:
            lanes_uniform_fill(bd->seed, c->index0 + off, len, d);
            break;
        case LANES_SOURCE_NORMAL:
            lanes_normal_fill(bd->seed, c->index0 + off, len, d);
            break;
        }
        break;
    }
    case VM_INDEX: vm_index(d, c->index0 + off, len); break;
    case VM_FILL: vm_fill(d, S(0), len); break;
    case LANES_EXPR_NEG: vm_neg(d, R(0), len); break;
    case LANES_EXPR_NOT: vm_not(d, R(0), len); break;
    case LANES_EXPR_ADD: VM_BIN(vm_add); break;
    case LANES_EXPR_SUB: VM_BIN(vm_sub); break;
    case LANES_EXPR_MUL: VM_BIN(vm_mul); break;
    case LANES_EXPR_DIV: VM_BIN(vm_div); break;
    case LANES_EXPR_MOD: VM_BIN(vm_mod); break;
    case LANES_EXPR_POW:
        if (s == 2) { /* a scalar exponent: numpy's fast paths */
            double p = S(1);
            if (p == 2.0)
                vm_square(d, R(0), len);
            else if (p == 0.5)
                vm_sqrt(d, R(0), len);
            else if (p == -1.0)
                vm_recip(d, R(0), len);
            else
                vm_pow_vs(d, R(0), p, len);
        } else {
            VM_BIN(vm_pow);
        }
        break;
    case LANES_EXPR_LT: VM_BIN(vm_lt); break;
    case LANES_EXPR_LE: VM_BIN(vm_le); break;
    case LANES_EXPR_GT: VM_BIN(vm_gt); break;
    case LANES_EXPR_GE: VM_BIN(vm_ge); break;
    case LANES_EXPR_EQ: VM_BIN(vm_eq); break;
    case LANES_EXPR_NE: VM_BIN(vm_ne); break;
    case LANES_EXPR_AND: VM_BIN(vm_and); break;
    case LANES_EXPR_OR: VM_BIN(vm_or); break;
    case LANES_EXPR_WHERE: /* condition always a register */
        switch (s & 6u) {
        case 0: vm_where_vv(d, R(0), R(1), R(2), len); break;
        case 2: vm_where_sv(d, R(0), S(1), R(2), len); break;
        case 4: vm_where_vs(d, R(0), R(1), S(2), len); break;
        default: vm_where_ss(d, R(0), S(1), S(2), len); break;
        }
        break;
    case LANES_EXPR_CALL:
        switch (in->aux) {
        case LANES_FN_ABS: vm_abs(d, R(0), len); break;
        case LANES_FN_SQRT: vm_sqrt(d, R(0), len); break;
        case LANES_FN_CBRT: vm_cbrt(d, R(0), len); break;
        case LANES_FN_EXP: vm_exp(d, R(0), len); break;
        case LANES_FN_EXPM1: vm_expm1(d, R(0), len); break;
        case LANES_FN_LOG: vm_log(d, R(0), len); break;
        case LANES_FN_LOG1P: vm_log1p(d, R(0), len); break;
        case LANES_FN_LOG2: vm_log2(d, R(0), len); break;
        case LANES_FN_LOG10: vm_log10(d, R(0), len); break;
        case LANES_FN_SIN: vm_sin(d, R(0), len); break;
        case LANES_FN_COS: vm_cos(d, R(0), len); break;
        case LANES_FN_TAN: vm_tan(d, R(0), len); break;
        case LANES_FN_ASIN: vm_asin(d, R(0), len); break;
        case LANES_FN_ACOS: vm_acos(d, R(0), len); break;
        case LANES_FN_ATAN: vm_atan(d, R(0), len); break;
        case LANES_FN_SINH: vm_sinh(d, R(0), len); break;
        case LANES_FN_COSH: vm_cosh(d, R(0), len); break;
        case LANES_FN_TANH: vm_tanh(d, R(0), len); break;
        case LANES_FN_FLOOR: vm_floor(d, R(0), len); break;
        case LANES_FN_CEIL: vm_ceil(d, R(0), len); break;
        case LANES_FN_ROUND: vm_round(d, R(0), len); break;
        case LANES_FN_TRUNC: vm_trunc(d, R(0), len); break;
        case LANES_FN_ATAN2: VM_BIN(vm_atan2); break;
        case LANES_FN_MIN: VM_BIN(vm_min); break;
        case LANES_FN_MAX: VM_BIN(vm_max); break;
        case LANES_FN_POW: VM_BIN(vm_pow); break;
        case LANES_FN_HYPOT: VM_BIN(vm_hypot); break;
        case LANES_FN_CLIP:
            if (s == 6)
                vm_clip_vss(d, R(0), S(1), S(2), len);
            else
                vm_clip_vvv(d, R(0), R(1), R(2), len);
            break;
        default: break;
        }
        break;
    default: break;
    }
#undef R
#undef S
}

/* Block blk of the call: run the program, store the result. */
static void vm_block(const vm_call_t *c, double *regs, size_t blk)
{
    size_t off = blk * EXPR_BLOCK;
    size_t len = c->n - off < EXPR_BLOCK ? c->n - off : EXPR_BLOCK;
    const lanes_expr_t *e = c->e;
    int stored = 0;
    for (size_t i = 0; i < e->n_prog; i++) {
        const lanes__expr_instr_t *in = &e->prog[i];
        if (in->code == VM_LOAD && c->direct[in->aux])
            continue;
        double *d = regs + (size_t)in->dst * c->stride;
        if (i + 1 == e->n_prog && c->out_direct) { /* the result's instruction */
            d = c->out_direct + off;
            stored = 1;
        }
        vm_exec(c, in, d, regs, off, len);
    }
    if (stored)
        return;
    const double *r = regs + (size_t)e->result * c->stride;
    if (e->result_input && c->direct[e->result_input - 1])
        r = c->direct[e->result_input - 1] + off;
    if ((const void *)r == (const void *)(c->out + off * lanes_dtype_size(c->out_dtype)))
        return; /* "x" evaluated in place */
    lanes__store_from_f64(c->out + off * lanes_dtype_size(c->out_dtype), r, c->out_dtype, len);
}

/* Fills the scalar slots: constants, parameters, then the scalar program. sc holds n_scalars. */
static void vm_scalars(const lanes_expr_t *e, const double *params, double *sc)
{
    memcpy(sc, e->consts, e->n_scalars * sizeof *sc);
    for (size_t k = 0; k < e->n_params; k++)
        sc[k] = params[k];
    for (size_t i = 0; i < e->n_sprog; i++) {
        const lanes__expr_sinstr_t *s = &e->sprog[i];
        double a[3] = {0, 0, 0};
        for (int k = 0; k < s->n_args; k++)
            a[k] = sc[s->src[k]];
        sc[s->dst] = lanes__expr_apply((lanes_expr_op_t)s->op, s->fn, a);
    }
}

int lanes_expr_eval(const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                    uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype, int threads)
{
    if (!e || (out_dtype != LANES_DTYPE_F64 && out_dtype != LANES_DTYPE_F32))
        return LANES_EINVAL;
    if (n == 0)
        return 0;
    if (!out || (e->n_params && !params) || index0 + n < index0)
        return LANES_EINVAL;
    for (size_t k = 0; k < e->n_inputs; k++) {
        if (!e->uses_input[k])
            continue;
        if (!bindings || (e->kinds[k] == LANES_SOURCE_ARRAY && !bindings[k].data))
            return LANES_EINVAL;
    }

    double sc[EXPR_MAX_SCALARS];
    vm_scalars(e, params, sc);
    if (e->result_scalar) {
        double v = sc[e->result];
        double buf[256];
        for (size_t k = 0; k < 256; k++)
            buf[k] = v;
        size_t es = lanes_dtype_size(out_dtype);
        for (size_t k = 0; k < n; k += 256)
            lanes__store_from_f64((unsigned char *)out + k * es, buf, out_dtype, n - k < 256 ? n - k : 256);
        return 0;
    }

    size_t n_blocks = (n + EXPR_BLOCK - 1) / EXPR_BLOCK;
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > n_blocks)
        threads = (int)n_blocks;
    size_t len = n < EXPR_BLOCK ? n : EXPR_BLOCK;
    vm_call_t c;
    memset(&c, 0, sizeof c);
    c.e = e;
    c.bindings = bindings;
    c.sc = sc;
    c.index0 = index0;
    c.n = n;
    c.out = (unsigned char *)out;
    c.out_dtype = out_dtype;
    c.stride = (len + 7) & ~(size_t)7;
    for (size_t k = 0; k < e->n_inputs; k++)
        if (e->uses_input[k] && e->kinds[k] == LANES_SOURCE_ARRAY && e->dtypes[k] == LANES_DTYPE_F64 &&
            (uintptr_t)bindings[k].data % _Alignof(double) == 0)
            c.direct[k] = (const double *)bindings[k].data;
    if (out_dtype == LANES_DTYPE_F64 && (uintptr_t)out % _Alignof(double) == 0)
        c.out_direct = (double *)out;
    size_t per_thread = e->n_regs * c.stride;
    size_t total = per_thread * (size_t)threads;

    _Alignas(64) double stack_regs[EXPR_STACK_DOUBLES];
    double *regs = stack_regs;
    if (total > EXPR_STACK_DOUBLES) {
        regs = aligned_alloc(64, total * sizeof *regs);
        if (!regs)
            return LANES_ENOMEM;
    }
    if (threads <= 1) {
        for (size_t b = 0; b < n_blocks; b++)
            vm_block(&c, regs, b);
    } else {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t b = 0; b < n_blocks; b++)
            vm_block(&c, regs + (size_t)omp_get_thread_num() * per_thread, b);
    }
    if (regs != stack_regs)
        free(regs);
    return 0;
}

int lanes_expr_reduce(const lanes_expr_t *e, const lanes_expr_binding_t *bindings, const double *params,
                      uint64_t index0, size_t n, lanes_reducer_t *r, int threads)
{
    if (!e || !r)
        return LANES_EINVAL;
    if (n == 0)
        return 0;
    size_t piece = n < EXPR_REDUCE_PIECE ? n : EXPR_REDUCE_PIECE;
    double *buf = malloc(piece * sizeof *buf);
    if (!buf)
        return LANES_ENOMEM;
    lanes_expr_binding_t moved[LANES_EXPR_MAX_INPUTS];
    int rc = 0;
    for (size_t done = 0; done < n && rc == 0; done += piece) {
        size_t len = n - done < piece ? n - done : piece;
        const lanes_expr_binding_t *bp = bindings;
        if (bindings) {
            for (size_t k = 0; k < e->n_inputs; k++) {
                moved[k] = bindings[k];
                if (e->kinds[k] == LANES_SOURCE_ARRAY && e->uses_input[k] && moved[k].data)
                    moved[k].data = (const unsigned char *)moved[k].data + done * lanes_dtype_size(e->dtypes[k]);
            }
            bp = moved;
        }
        rc = lanes_expr_eval(e, bp, params, index0 + done, len, buf, LANES_DTYPE_F64, threads);
        if (rc == 0)
            rc = lanes_reducer_feed(r, buf, len, threads);
    }
    free(buf);
    return rc;
}
