/* CUDA C from an expression's folded tree, for NVRTC: the map kernel and the fused reduce kernels of
 * the CUDA backend (lanes_cuda_expr_source in cuda/cuda_api.h). Pure C, compiled in every build, so
 * the generator is tested (and its output compiled by NVRTC) on machines without a GPU.
 *
 * Design: a source is the device prelude (kernels/cuda/lanes_device.cuh, embedded as a string at build
 * time: the Philox streams, the element functions, the block-partials and histogram templates), then
 * one __device__ function lanes_elem(a, k) that computes element k of the launch as float64, then one
 * extern "C" kernel:
 *   map:        lanes_map     out[k] = lanes_elem(a, k), stored as double or rounded once to float
 *   reduce op:  lanes_reduce  a block-partials kernel (lanes_reduce_blocks) over lanes_elem
 *   histogram:  lanes_hist    lanes_hist_elems over lanes_elem
 * lanes_elem is straight-line SSA: the tree is walked children first and every node becomes one
 * "const double tN = ...;". Inputs are loaded once, at their first use: arrays with a typed load of
 * their dtype converted to double, RANGE as start + step * (double)i, UNIFORM/NORMAL from the device
 * Philox at the element's global index (so generated inputs are the CPU's elements bit for bit).
 * Parameters come from the kernel argument (a.p[slot]): the source depends on the expression and the
 * dtypes only, so the NVRTC cache (cuda/kcache.cu), keyed by the text, hits for new parameter values.
 *
 * Semantics are the CPU VM's (expr_vm.c): + - * / as explicitly rounded intrinsics (never an FMA),
 * comparisons/and/or/not/where on "!= 0" truth giving 1.0/0.0, numpy's remainder, NaN-propagating
 * min/max/clip, round as rint (half to even), and x ** p through lanes_pow_scalar (numpy's fast paths
 * 2, 0.5, -1) exactly when the exponent's subtree has no input and no i (a constant or parameter
 * after folding), as the VM decides; pow() and element-varying exponents use pow. Constants are
 * printed as hexadecimal floats (exact), non-finite ones by their bits.
 *
 * Bit-identity with the CPU holds for arithmetic, comparisons, logic, where, min/max/clip, abs, sqrt,
 * floor/ceil/trunc/round, % (fmod is exact), RANGE and UNIFORM inputs. It does not hold for the
 * functions computed by CUDA's libdevice rather than glibc (cbrt exp expm1 log log1p log2 log10 sin
 * cos tan asin acos atan atan2 sinh cosh tanh pow hypot, and so NORMAL inputs and x ** p with a
 * general p): those agree to a few ulp. NaN payloads of computed NaNs may also differ (GPUs produce
 * the canonical NaN).
 *
 * Thread-safety: lanes_cuda_expr_source is pure (reads the immutable expression, writes buf).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cpu/expr_internal.h"
#include "cuda/cuda_api.h"
#include "lanes_device_cuh.inc"

/* A bounded text builder: counts the full length even when buf is too small. */
typedef struct sbuf {
    char *buf;
    size_t cap;
    size_t len;
} sbuf_t;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = s->len < s->cap ? s->cap - s->len : 0;
    int k = vsnprintf(room ? s->buf + s->len : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        s->len += (size_t)k;
}

static void sb_puts(sbuf_t *s, const char *text)
{
    size_t k = strlen(text);
    if (s->len < s->cap) {
        size_t room = s->cap - s->len;
        size_t c = k < room ? k : room - 1;
        memcpy(s->buf + s->len, text, c);
        s->buf[s->len + c] = '\0';
    }
    s->len += k;
}

typedef struct gen {
    const lanes_expr_t *e;
    sbuf_t *s;
    int next;                              /* next temporary's number */
    int loaded[LANES_EXPR_MAX_INPUTS];     /* 1 once vN holds input N */
} gen_t;

/* 1 if the subtree has no input and no i: the same value for every element. */
static int node_is_scalar(const lanes_expr_node_t *nd)
{
    switch (nd->op) {
    case LANES_EXPR_CONST:
    case LANES_EXPR_PARAM:
        return 1;
    case LANES_EXPR_INPUT:
    case LANES_EXPR_INDEX:
        return 0;
    default:
        for (int k = 0; k < nd->n_args; k++)
            if (!node_is_scalar(nd->args[k]))
                return 0;
        return 1;
    }
}

static const char *fn1_name(int fn)
{
    switch (fn) {
    case LANES_FN_ABS: return "fabs";
    case LANES_FN_SQRT: return "sqrt";
    case LANES_FN_CBRT: return "cbrt";
    case LANES_FN_EXP: return "exp";
    case LANES_FN_EXPM1: return "expm1";
    case LANES_FN_LOG: return "log";
    case LANES_FN_LOG1P: return "log1p";
    case LANES_FN_LOG2: return "log2";
    case LANES_FN_LOG10: return "log10";
    case LANES_FN_SIN: return "sin";
    case LANES_FN_COS: return "cos";
    case LANES_FN_TAN: return "tan";
    case LANES_FN_ASIN: return "asin";
    case LANES_FN_ACOS: return "acos";
    case LANES_FN_ATAN: return "atan";
    case LANES_FN_SINH: return "sinh";
    case LANES_FN_COSH: return "cosh";
    case LANES_FN_TANH: return "tanh";
    case LANES_FN_FLOOR: return "floor";
    case LANES_FN_CEIL: return "ceil";
    case LANES_FN_ROUND: return "rint";
    case LANES_FN_TRUNC: return "trunc";
    default: return NULL;
    }
}

/* Emits the load of input slot into vSLOT (once). Returns 0 or LANES_EINVAL. */
static int gen_input(gen_t *g, int slot)
{
    const lanes_expr_t *e = g->e;
    if (slot < 0 || (size_t)slot >= e->n_inputs)
        return LANES_EINVAL;
    if (g->loaded[slot])
        return 0;
    g->loaded[slot] = 1;
    switch (e->kinds[slot]) {
    case LANES_SOURCE_ARRAY: {
        const char *ct = NULL;
        switch (e->dtypes[slot]) {
        case LANES_DTYPE_F64: ct = "double"; break;
        case LANES_DTYPE_F32: ct = "float"; break;
        case LANES_DTYPE_I64: ct = "long long"; break;
        case LANES_DTYPE_I32: ct = "int"; break;
        default: return LANES_EINVAL;
        }
        sb_printf(g->s, "    const double v%d = (double)((const %s *)a.in[%d])[k];\n", slot, ct, slot);
        return 0;
    }
    case LANES_SOURCE_RANGE:
        sb_printf(g->s, "    const double v%d = __dadd_rn(a.start[%d], __dmul_rn(a.step[%d], (double)gi));\n", slot,
                  slot, slot);
        return 0;
    case LANES_SOURCE_UNIFORM:
        sb_printf(g->s, "    const double v%d = lanes_uniform_at(a.seed[%d], gi);\n", slot, slot);
        return 0;
    case LANES_SOURCE_NORMAL:
        sb_printf(g->s, "    const double v%d = lanes_normal_at(a.seed[%d], gi);\n", slot, slot);
        return 0;
    }
    return LANES_EINVAL;
}

/* Writes the C expression of a constant into out (cap >= 64). */
static void const_text(double v, char *out, size_t cap)
{
    if (isfinite(v)) {
        snprintf(out, cap, "%a", v);
    } else {
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        snprintf(out, cap, "__longlong_as_double(0x%016llxLL)", (unsigned long long)bits);
    }
}

/* Emits nd and its arguments; writes the name of its value into name (cap >= 64). */
static int gen_node(gen_t *g, const lanes_expr_node_t *nd, char *name, size_t cap)
{
    char a[3][64];
    int rc;
    switch (nd->op) {
    case LANES_EXPR_CONST:
        const_text(nd->value, name, cap);
        return 0;
    case LANES_EXPR_PARAM:
        if (nd->slot < 0 || (size_t)nd->slot >= g->e->n_params || nd->slot >= LANES_EXPR_MAX_PARAMS)
            return LANES_EINVAL;
        snprintf(name, cap, "a.p[%d]", nd->slot);
        return 0;
    case LANES_EXPR_INPUT:
        if ((rc = gen_input(g, nd->slot)) != 0)
            return rc;
        snprintf(name, cap, "v%d", nd->slot);
        return 0;
    case LANES_EXPR_INDEX:
        snprintf(name, cap, "((double)gi)");
        return 0;
    default:
        break;
    }
    if (nd->n_args < 0 || nd->n_args > 3)
        return LANES_EINVAL;
    for (int k = 0; k < nd->n_args; k++)
        if ((rc = gen_node(g, nd->args[k], a[k], sizeof a[k])) != 0)
            return rc;
    int t = g->next++;
    sbuf_t *s = g->s;
    sb_printf(s, "    const double t%d = ", t);
    switch (nd->op) {
    case LANES_EXPR_NEG: sb_printf(s, "-(%s)", a[0]); break;
    case LANES_EXPR_NOT: sb_printf(s, "(%s == 0.0 ? 1.0 : 0.0)", a[0]); break;
    case LANES_EXPR_ADD: sb_printf(s, "__dadd_rn(%s, %s)", a[0], a[1]); break;
    case LANES_EXPR_SUB: sb_printf(s, "__dsub_rn(%s, %s)", a[0], a[1]); break;
    case LANES_EXPR_MUL: sb_printf(s, "__dmul_rn(%s, %s)", a[0], a[1]); break;
    case LANES_EXPR_DIV: sb_printf(s, "__ddiv_rn(%s, %s)", a[0], a[1]); break;
    case LANES_EXPR_MOD: sb_printf(s, "lanes_mod(%s, %s)", a[0], a[1]); break;
    case LANES_EXPR_POW:
        sb_printf(s, "%s(%s, %s)", node_is_scalar(nd->args[1]) ? "lanes_pow_scalar" : "pow", a[0], a[1]);
        break;
    case LANES_EXPR_LT: sb_printf(s, "(%s < %s ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_LE: sb_printf(s, "(%s <= %s ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_GT: sb_printf(s, "(%s > %s ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_GE: sb_printf(s, "(%s >= %s ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_EQ: sb_printf(s, "(%s == %s ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_NE: sb_printf(s, "(%s != %s ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_AND: sb_printf(s, "((%s != 0.0) & (%s != 0.0) ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_OR: sb_printf(s, "((%s != 0.0) | (%s != 0.0) ? 1.0 : 0.0)", a[0], a[1]); break;
    case LANES_EXPR_WHERE: sb_printf(s, "(%s != 0.0 ? %s : %s)", a[0], a[1], a[2]); break;
    case LANES_EXPR_CALL:
        switch (nd->slot) {
        case LANES_FN_ATAN2: sb_printf(s, "atan2(%s, %s)", a[0], a[1]); break;
        case LANES_FN_MIN: sb_printf(s, "lanes_min(%s, %s)", a[0], a[1]); break;
        case LANES_FN_MAX: sb_printf(s, "lanes_max(%s, %s)", a[0], a[1]); break;
        case LANES_FN_POW: sb_printf(s, "pow(%s, %s)", a[0], a[1]); break;
        case LANES_FN_HYPOT: sb_printf(s, "hypot(%s, %s)", a[0], a[1]); break;
        case LANES_FN_CLIP: sb_printf(s, "lanes_clip(%s, %s, %s)", a[0], a[1], a[2]); break;
        default: {
            const char *f = fn1_name(nd->slot);
            if (!f || nd->n_args != 1)
                return LANES_EINVAL;
            sb_printf(s, "%s(%s)", f, a[0]);
            break;
        }
        }
        break;
    default:
        return LANES_EINVAL;
    }
    sb_puts(s, ";\n");
    snprintf(name, cap, "t%d", t);
    return 0;
}

long lanes_cuda_expr_source(const lanes_expr_t *e, lanes_dtype_t out_dtype, int reduce, lanes_reduce_op_t op,
                            char *buf, size_t cap)
{
    const lanes_expr_node_t *root = lanes_expr_root(e);
    if (!root || (!reduce && out_dtype != LANES_DTYPE_F64 && out_dtype != LANES_DTYPE_F32))
        return LANES_EINVAL;
    if (reduce && (out_dtype != LANES_DTYPE_F64 || (unsigned)op >= LANES_REDUCE_N_OPS || op == LANES_REDUCE_COUNT))
        return LANES_EINVAL;
    if (e->n_inputs > LANES_EXPR_MAX_INPUTS || e->n_params > LANES_EXPR_MAX_PARAMS)
        return LANES_EINVAL;
    sbuf_t s = {buf, buf ? cap : 0, 0};
    if (s.cap)
        s.buf[0] = '\0';
    gen_t g;
    memset(&g, 0, sizeof g);
    g.e = e;
    g.s = &s;

    sb_puts(&s, lanes__cuda_prelude);
    sb_puts(&s, "\n/* ---- generated from the expression's folded tree (cuda_codegen.c) ---- */\n"
                "__device__ __forceinline__ double lanes_elem(const struct lanes_kargs &a, lanes_u64 k)\n{\n"
                "    const lanes_u64 gi = a.index0 + k;\n"
                "    (void)gi;\n");
    char result[64];
    int rc = gen_node(&g, root, result, sizeof result);
    if (rc != 0)
        return rc;
    sb_printf(&s, "    return %s;\n}\n\n", result);

    if (!reduce) {
        sb_printf(&s,
                  "extern \"C\" __global__ void lanes_map(const struct lanes_kargs a)\n{\n"
                  "    %s *out = (%s *)a.out;\n"
                  "    const lanes_u64 stride = (lanes_u64)gridDim.x * blockDim.x;\n"
                  "    for (lanes_u64 k = (lanes_u64)blockIdx.x * blockDim.x + threadIdx.x; k < a.n; k += stride)\n"
                  "        out[k] = %s;\n}\n",
                  out_dtype == LANES_DTYPE_F64 ? "double" : "float", out_dtype == LANES_DTYPE_F64 ? "double" : "float",
                  out_dtype == LANES_DTYPE_F64 ? "lanes_elem(a, k)" : "__double2float_rn(lanes_elem(a, k))");
    } else {
        sb_puts(&s, "struct lanes_eload {\n    const struct lanes_kargs &a;\n"
                    "    __device__ __forceinline__ double operator()(lanes_u64 k) const { return lanes_elem(a, k); }\n"
                    "};\n");
        if (op == LANES_REDUCE_HISTOGRAM) {
            sb_puts(&s, "extern \"C\" __global__ void lanes_hist(const struct lanes_kargs a)\n{\n"
                        "    const struct lanes_eload ld{a};\n"
                        "    lanes_hist_elems(ld, a.n, a.hist);\n}\n");
        } else {
            const char *kind = "LANES_DK_EXTREME";
            if (op == LANES_REDUCE_SUM || op == LANES_REDUCE_MEAN)
                kind = "LANES_DK_FSUM";
            else if (op == LANES_REDUCE_VAR || op == LANES_REDUCE_STD)
                kind = "LANES_DK_MOMENTS";
            const int want_max = op == LANES_REDUCE_MAX || op == LANES_REDUCE_ARGMAX;
            sb_printf(&s,
                      "extern \"C\" __global__ void lanes_reduce(const struct lanes_kargs a)\n{\n"
                      "    const struct lanes_eload ld{a};\n"
                      "    lanes_reduce_blocks<%s, %s, double>(ld, a.n, a.index0, (struct lanes_dpartial *)a.out);\n}\n",
                      kind, want_max ? "true" : "false");
        }
    }
    if (s.len + 1 > cap || !buf)
        return LANES_ENOMEM;
    return (long)s.len;
}
