/* Reductions on the CPU: streaming reducers whose results are bit-identical for every chunking of the
 * input and every thread count, with numpy's semantics (NaN, empty input, dtypes, error messages).
 *
 * Design: a reducer is a small state machine fed chunks in order. Its memory is fixed at creation:
 * one block of carry, a stack of at most 66 partials, 256 per-block partials for one parallel batch,
 * and for histograms the counts and edges (plus threads x bins scratch counts when a feed runs on
 * several threads). Each op belongs to one of six kinds:
 *
 *   float sum (sum of F64/F32, mean of any dtype)  blocked pairwise order below
 *   moments   (var, std of any dtype)              the same order, partials (n, mean, M2)
 *   int sum   (sum of I64/I32)                     exact: uint64 addition, wraps as numpy's int64
 *   count                                          elements fed
 *   extreme   (min, max, argmin, argmax)           first occurrence wins, first NaN wins
 *   histogram                                      numpy's np.histogram(x, bins, range=(lo, hi))
 *
 * THE SUMMATION ORDER (float sum, mean, var, std). It is a function of the element count only, so a
 * GPU can reproduce it bit for bit (there: no FMA contraction, e.g. nvcc --fmad=false):
 *
 *  1. Elements are converted to double (int64 rounds to nearest) and cut into blocks of
 *     LANES_REDUCE_BLOCK (4096) by absolute index: block k holds elements [4096k, 4096k + 4096). The
 *     last block may be shorter. A partial block is kept, converted, in the carry between feeds.
 *  2. Block sum S(block): 16 lanes acc[0..15], each starting at -0.0 (the IEEE additive identity, so
 *     a lane's first addition is exact: -0.0 + x == x for every x, -0.0 included). Lane j adds, in
 *     order, the elements j, j+16, j+32, ... of the block: acc[j] = acc[j] + x. Then for s = 8, 4, 2,
 *     1: acc[j] = acc[j] + acc[j+s] for j < s. S = acc[0]. A short last block uses the same rule.
 *  3. Block partial: sum: S. moments: n_b = element count, mean_b = S / n_b, M2_b = the same lane
 *     rule applied to d*d where d = x - mean_b (two passes over the block).
 *  4. Across blocks, a binary-counter stack: each block's partial is pushed in block order at level
 *     0; while the two top entries have the same level they are popped and (lower ⊕ upper) is pushed
 *     at level + 1. At finish, after the last (short) block is pushed the same way, the stack is
 *     folded from the top down: r = top; for each entry below, going down: r = entry ⊕ r.
 *  5. ⊕ for sums: a + b. ⊕ for moments, Chan's merge (evaluated left to right as written, each
 *     operation rounded): if na == 0 the result is b; if nb == 0 it is a; else n = na + nb;
 *     d = mb - ma; mean = ma + d*nb/n; M2 = M2a + M2b + d*d*na*nb/n.
 *  6. sum = r (0.0 if empty); mean = r / n (NaN if empty); var = M2 / max(n - ddof, 0) (NaN if
 *     empty; x/0 is inf and 0/0 NaN, as numpy); std = sqrt(var).
 *
 * Threads: a feed's whole blocks are processed in batches of up to 256 blocks; with threads > 1 and
 * a batch of at least 2 blocks, "omp parallel for schedule(static)" computes the batch's block
 * partials into an array, which is then pushed on the stack sequentially in block order. Step 4
 * therefore sees the same partials in the same order whatever the threads, and so do the extreme
 * kind (block partials merged in order, ties and NaN resolved by smallest index) and the exact
 * integer kinds (int sum, histogram counts). threads <= 1 enters no OpenMP construct.
 *
 * Block partials (kernels.h): another backend computes steps 2-3 for whole blocks (or an extreme, an
 * integer sum per block) and lanes_reducer_feed_partials pushes them exactly where blocks_feed would
 * push its own; lanes_reduce_partials_cpu is the reference it must match, made of the same
 * block_partial / isum_range / extreme_range. A backend may also merge aligned groups of 2^L block
 * partials itself, as the stack would (lanes_reduce_partials_combine is the reference), and the
 * reducer pushes each group at level L (lanes_reducer_feed_group_partials): the same stack, so the
 * same bits, with 2^L times fewer partials to move. Histogram counts made elsewhere are added with
 * lanes_reducer_feed_histogram (integer counts: exact in any order).
 *
 * Histogram, as numpy 2's uniform-bin path: lo > hi fails ("max must be larger than min in range
 * parameter."), then non-finite lo or hi; lo == hi becomes (lo - 0.5, hi + 0.5); edges are
 * linspace(lo, hi, bins + 1): step = (hi - lo)/bins, edge[i] = i*step + lo (or (i/bins)*(hi - lo) + lo
 * when step underflows to 0), edge[bins] = hi; for float32 input the edges are rounded to float
 * (numpy 2 bins float32 data with float32 edges) and edges that do not strictly increase fail with
 * numpy's "Too many bins for data range" message. A value x is kept if edge[0] <= x <= edge[bins]
 * (NaN never is); its bin is k = (size_t)((x - lo)/(hi - lo)*bins) (the subtraction done in float for
 * float32 input, as numpy does), clamped to bins - 1, then corrected one step: k - 1 if
 * x < edge[k], else k + 1 if x >= edge[k+1] and k != bins - 1.
 */
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/convert.h"
#include "lanes/kernels.h"
#include "lanes/text_format.h" /* lanes_py_float_repr: Python's repr() of a float in numpy's messages */

#define BLOCK LANES_REDUCE_BLOCK
#define N_LANES 16
/* Blocks whose partials are computed in one parallel batch (bounds the partials array). */
#define BATCH_BLOCKS 256
/* Blocks in a stream are < 2^64 / 4096 = 2^52, so levels stay <= 52 and the stack < 54 deep. */
#define STACK_MAX 66

/* ---- op names ---- */

static const char *const g_op_names[LANES_REDUCE_N_OPS + 1] = {
    "sum", "min", "max", "mean", "var", "std", "count", "argmin", "argmax", "histogram", NULL,
};

int lanes_reduce_op_parse(const char *name, lanes_reduce_op_t *op)
{
    if (!name)
        return LANES_EINVAL;
    for (int i = 0; i < LANES_REDUCE_N_OPS; i++) {
        if (strcmp(g_op_names[i], name) == 0) {
            if (op)
                *op = (lanes_reduce_op_t)i;
            return 0;
        }
    }
    return LANES_EINVAL;
}

const char *lanes_reduce_op_name(lanes_reduce_op_t op)
{
    return (unsigned)op < LANES_REDUCE_N_OPS ? g_op_names[op] : "invalid";
}

const char *const *lanes_reduce_op_names(void) { return g_op_names; }

/* ---- state ---- */

typedef enum reduce_kind {
    KIND_FSUM,
    KIND_MOMENTS,
    KIND_ISUM,
    KIND_COUNT,
    KIND_EXTREME,
    KIND_HIST,
} reduce_kind_t;

typedef struct moments {
    double n, mean, m2;
} moments_t;

/* One entry of the cross-block stack (and one block's partial). */
typedef struct partial {
    unsigned level;
    double sum;    /* KIND_FSUM */
    moments_t m;   /* KIND_MOMENTS */
} partial_t;

/* min/max/argmin/argmax over a range of elements. */
typedef struct extreme {
    int has;       /* any element seen */
    int has_nan;   /* a NaN seen: idx and f are the first NaN's */
    uint64_t idx;  /* absolute index of the best element */
    double f;      /* its value, float dtypes */
    int64_t i;     /* its value, integer dtypes */
} extreme_t;

struct lanes_reducer {
    lanes_reduce_spec_t spec;
    reduce_kind_t kind;
    int is_int;      /* spec.dtype is I64 or I32 */
    int want_max;    /* max, argmax */
    int finished;
    uint64_t count;  /* elements fed */

    /* KIND_FSUM, KIND_MOMENTS */
    size_t carry_n;
    size_t depth;
    partial_t stack[STACK_MAX];

    /* KIND_ISUM: the int64 sum as uint64 (wraps without UB) */
    uint64_t isum;

    /* KIND_EXTREME */
    extreme_t ext;

    /* KIND_HIST */
    uint32_t bins;
    int f32;           /* float32 input: float32 edges and float subtraction */
    double lo, hi;     /* the range after widening (double, as numpy's Python floats) */
    float lo32;        /* lo rounded to float (f32 only) */
    double denom;      /* hi - lo */
    double keep_lo, keep_hi; /* edges[0], edges[bins] */
    double *edges;     /* bins + 1 */
    int64_t *counts;   /* bins */
    int64_t *scratch;  /* scratch_threads * bins, per-thread counts of a parallel feed */
    size_t scratch_threads;

    /* Scratch, never read before written: left uninitialised so a reducer is cheap to create. */
    partial_t parts[BATCH_BLOCKS];      /* block partials of one parallel batch */
    extreme_t ext_parts[BATCH_BLOCKS];  /* the same for the extreme kind */
    double carry[BLOCK];                /* the partial block, converted (carry_n elements) */
};

/* ---- blocked sums: the lane rule of step 2, one instance per element type ---- */

static inline double lanes_fold(double acc[N_LANES])
{
    for (int s = N_LANES / 2; s >= 1; s /= 2)
        for (int j = 0; j < s; j++)
            acc[j] = acc[j] + acc[j + s];
    return acc[0];
}

/* block_sum_<t>(p, n): S of n elements at p. block_m2_<t>(p, n, mean): S of (x - mean)^2. */
#define LANES_DEFINE_BLOCK_SUMS(t, LOAD)                                           \
    static double block_sum_##t(const unsigned char *p, size_t n)                  \
    {                                                                              \
        double acc[N_LANES];                                                       \
        for (int j = 0; j < N_LANES; j++)                                          \
            acc[j] = -0.0;                                                         \
        size_t i = 0;                                                              \
        for (; i + N_LANES <= n; i += N_LANES) {                                   \
            _Pragma("omp simd") for (int j = 0; j < N_LANES; j++) acc[j] += LOAD(p, i + j); \
        }                                                                          \
        for (int j = 0; i + (size_t)j < n; j++)                                    \
            acc[j] += LOAD(p, i + (size_t)j);                                      \
        return lanes_fold(acc);                                                    \
    }                                                                              \
    static double block_m2_##t(const unsigned char *p, size_t n, double mean)      \
    {                                                                              \
        double acc[N_LANES];                                                       \
        for (int j = 0; j < N_LANES; j++)                                          \
            acc[j] = -0.0;                                                         \
        size_t i = 0;                                                              \
        for (; i + N_LANES <= n; i += N_LANES) {                                   \
            _Pragma("omp simd") for (int j = 0; j < N_LANES; j++) {                \
                double d = LOAD(p, i + j) - mean;                                  \
                acc[j] += d * d;                                                   \
            }                                                                      \
        }                                                                          \
        for (int j = 0; i + (size_t)j < n; j++) {                                  \
            double d = LOAD(p, i + (size_t)j) - mean;                              \
            acc[j] += d * d;                                                       \
        }                                                                          \
        return lanes_fold(acc);                                                    \
    }

LANES_DEFINE_BLOCK_SUMS(f64, lanes__load_f64)
LANES_DEFINE_BLOCK_SUMS(f32, lanes__load_f32)
LANES_DEFINE_BLOCK_SUMS(i64, lanes__load_i64)
LANES_DEFINE_BLOCK_SUMS(i32, lanes__load_i32)

static double block_sum(const unsigned char *p, lanes_dtype_t dt, size_t n)
{
    switch (dt) {
    case LANES_DTYPE_F64:
        return block_sum_f64(p, n);
    case LANES_DTYPE_F32:
        return block_sum_f32(p, n);
    case LANES_DTYPE_I64:
        return block_sum_i64(p, n);
    case LANES_DTYPE_I32:
        return block_sum_i32(p, n);
    default:
        return 0.0;
    }
}

static double block_m2(const unsigned char *p, lanes_dtype_t dt, size_t n, double mean)
{
    switch (dt) {
    case LANES_DTYPE_F64:
        return block_m2_f64(p, n, mean);
    case LANES_DTYPE_F32:
        return block_m2_f32(p, n, mean);
    case LANES_DTYPE_I64:
        return block_m2_i64(p, n, mean);
    case LANES_DTYPE_I32:
        return block_m2_i32(p, n, mean);
    default:
        return 0.0;
    }
}

/* The partial of one block of n (>= 1) elements (step 3). */
static partial_t block_partial(reduce_kind_t kind, const unsigned char *p, lanes_dtype_t dt, size_t n)
{
    partial_t part = {0};
    double s = block_sum(p, dt, n);
    if (kind == KIND_FSUM) {
        part.sum = s;
    } else {
        part.m.n = (double)n;
        part.m.mean = s / part.m.n;
        part.m.m2 = block_m2(p, dt, n, part.m.mean);
    }
    return part;
}

/* a ⊕ b (step 5). */
static partial_t partial_merge(reduce_kind_t kind, partial_t a, partial_t b)
{
    partial_t r = {0};
    if (kind == KIND_FSUM) {
        r.sum = a.sum + b.sum;
        return r;
    }
    if (a.m.n == 0)
        return b;
    if (b.m.n == 0)
        return a;
    double n = a.m.n + b.m.n;
    double d = b.m.mean - a.m.mean;
    r.m.n = n;
    r.m.mean = a.m.mean + d * b.m.n / n;
    r.m.m2 = a.m.m2 + b.m.m2 + d * d * a.m.n * b.m.n / n;
    return r;
}

/* Pushes a partial at 'level' (step 4): one block's at level 0, or the merged tree of 2^level blocks
 * (lanes_reduce_partials_combine) when the blocks pushed so far are a multiple of 2^level, which leaves
 * the stack as pushing those blocks one by one would. */
static void stack_push_on(reduce_kind_t kind, partial_t *stack, size_t *depth, partial_t part, unsigned level)
{
    size_t d = *depth;
    part.level = level;
    stack[d++] = part;
    while (d >= 2 && stack[d - 1].level == stack[d - 2].level) {
        partial_t m = partial_merge(kind, stack[d - 2], stack[d - 1]);
        m.level = stack[d - 1].level + 1;
        d--;
        stack[d - 1] = m;
    }
    *depth = d;
}

static void stack_push(lanes_reducer_t *r, partial_t part) { stack_push_on(r->kind, r->stack, &r->depth, part, 0); }

/* Folds the stack top down (step 4); the stack must not be empty. */
static partial_t stack_fold(const lanes_reducer_t *r)
{
    partial_t acc = r->stack[r->depth - 1];
    for (size_t k = r->depth - 1; k-- > 0;)
        acc = partial_merge(r->kind, r->stack[k], acc);
    return acc;
}

/* Whole blocks of a feed: n_blocks * BLOCK elements at p, starting on a block boundary. */
static void blocks_feed(lanes_reducer_t *r, const unsigned char *p, size_t n_blocks, int threads)
{
    const lanes_dtype_t dt = r->spec.dtype;
    const size_t block_bytes = BLOCK * lanes_dtype_size(dt);
    const reduce_kind_t kind = r->kind;
    for (size_t base = 0; base < n_blocks; base += BATCH_BLOCKS) {
        size_t cnt = n_blocks - base < BATCH_BLOCKS ? n_blocks - base : BATCH_BLOCKS;
        const unsigned char *q = p + base * block_bytes;
        if (threads > 1 && cnt >= 2) {
            partial_t *parts = r->parts;
#pragma omp parallel for num_threads(threads) schedule(static)
            for (size_t k = 0; k < cnt; k++)
                parts[k] = block_partial(kind, q + k * block_bytes, dt, BLOCK);
            for (size_t k = 0; k < cnt; k++)
                stack_push(r, parts[k]);
        } else {
            for (size_t k = 0; k < cnt; k++)
                stack_push(r, block_partial(kind, q + k * block_bytes, dt, BLOCK));
        }
    }
}

/* KIND_FSUM, KIND_MOMENTS: fill the carry up to a block boundary, whole blocks, keep the rest. */
static void blocked_feed(lanes_reducer_t *r, const unsigned char *p, size_t n, int threads)
{
    const lanes_dtype_t dt = r->spec.dtype;
    const size_t es = lanes_dtype_size(dt);
    if (r->carry_n > 0) {
        size_t take = BLOCK - r->carry_n < n ? BLOCK - r->carry_n : n;
        lanes__convert_to_f64(r->carry + r->carry_n, p, dt, take);
        r->carry_n += take;
        p += take * es;
        n -= take;
        if (r->carry_n < BLOCK)
            return;
        stack_push(r, block_partial(r->kind, (const unsigned char *)r->carry, LANES_DTYPE_F64, BLOCK));
        r->carry_n = 0;
    }
    size_t n_blocks = n / BLOCK;
    blocks_feed(r, p, n_blocks, threads);
    size_t rest = n - n_blocks * BLOCK;
    lanes__convert_to_f64(r->carry, p + n_blocks * BLOCK * es, dt, rest);
    r->carry_n = rest;
}

/* ---- integer sum ---- */

static uint64_t isum_range(const unsigned char *p, lanes_dtype_t dt, size_t n)
{
    uint64_t s = 0;
    if (dt == LANES_DTYPE_I64) {
#pragma omp simd reduction(+ : s)
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, p + i * sizeof v, sizeof v);
            s += v;
        }
    } else {
#pragma omp simd reduction(+ : s)
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + i * sizeof v, sizeof v);
            s += (uint64_t)(int64_t)v;
        }
    }
    return s;
}

static void isum_feed(lanes_reducer_t *r, const unsigned char *p, size_t n, int threads)
{
    const lanes_dtype_t dt = r->spec.dtype;
    const size_t es = lanes_dtype_size(dt);
    size_t n_blocks = (n + BLOCK - 1) / BLOCK;
    if (threads > 1 && n_blocks >= 2) {
        /* uint64 addition is associative: any order gives the same bits. */
        uint64_t s = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : s)
        for (size_t b = 0; b < n_blocks; b++) {
            size_t len = n - b * BLOCK < BLOCK ? n - b * BLOCK : BLOCK;
            s += isum_range(p + b * BLOCK * es, dt, len);
        }
        r->isum += s;
    } else {
        r->isum += isum_range(p, dt, n);
    }
}

/* ---- min, max, argmin, argmax ---- */

/* The extreme of n (>= 1) elements at p whose first has absolute index 'base'. */
static extreme_t extreme_range(const unsigned char *p, lanes_dtype_t dt, size_t n, uint64_t base,
                               int want_max)
{
    extreme_t e = {.has = 1, .idx = base};
    if (dt == LANES_DTYPE_I64 || dt == LANES_DTYPE_I32) {
        int64_t best = lanes__load_int(p, dt, 0);
        size_t bi = 0;
        if (dt == LANES_DTYPE_I64) {
            for (size_t i = 1; i < n; i++) {
                int64_t x = lanes__load_int(p, LANES_DTYPE_I64, i);
                if (want_max ? x > best : x < best) {
                    best = x;
                    bi = i;
                }
            }
        } else {
            for (size_t i = 1; i < n; i++) {
                int64_t x = lanes__load_int(p, LANES_DTYPE_I32, i);
                if (want_max ? x > best : x < best) {
                    best = x;
                    bi = i;
                }
            }
        }
        e.i = best;
        e.idx = base + bi;
        return e;
    }

    double buf[BLOCK];
    size_t done = 0;
    double best = 0.0;
    size_t bi = 0;
    while (done < n) {
        size_t len = n - done < BLOCK ? n - done : BLOCK;
        lanes__convert_to_f64(buf, p + done * lanes_dtype_size(dt), dt, len);
        size_t i = 0;
        if (done == 0) {
            best = buf[0];
            i = 1;
            if (isnan(best)) {
                e.has_nan = 1;
                e.f = best;
                return e;
            }
        }
        if (want_max) {
            for (; i < len; i++) {
                double x = buf[i];
                if (x > best) {
                    best = x;
                    bi = done + i;
                } else if (isnan(x)) {
                    break;
                }
            }
        } else {
            for (; i < len; i++) {
                double x = buf[i];
                if (x < best) {
                    best = x;
                    bi = done + i;
                } else if (isnan(x)) {
                    break;
                }
            }
        }
        if (i < len) {
            e.has_nan = 1;
            e.f = buf[i];
            e.idx = base + done + i;
            return e;
        }
        done += len;
    }
    e.f = best;
    e.idx = base + bi;
    return e;
}

/* a then b (a's elements come first): first NaN wins, then the better value, ties to a. */
static extreme_t extreme_merge(extreme_t a, extreme_t b, int is_int, int want_max)
{
    if (!a.has)
        return b;
    if (!b.has || a.has_nan)
        return a;
    if (b.has_nan)
        return b;
    int better = is_int ? (want_max ? b.i > a.i : b.i < a.i) : (want_max ? b.f > a.f : b.f < a.f);
    return better ? b : a;
}

static void extreme_feed(lanes_reducer_t *r, const unsigned char *p, size_t n, int threads)
{
    if (r->ext.has_nan)
        return; /* the result is decided */
    const lanes_dtype_t dt = r->spec.dtype;
    const size_t es = lanes_dtype_size(dt);
    const int want_max = r->want_max;
    const uint64_t base = r->count;
    size_t n_blocks = (n + BLOCK - 1) / BLOCK;
    if (threads > 1 && n_blocks >= 2) {
        extreme_t *parts = r->ext_parts;
        for (size_t b0 = 0; b0 < n_blocks; b0 += BATCH_BLOCKS) {
            size_t cnt = n_blocks - b0 < BATCH_BLOCKS ? n_blocks - b0 : BATCH_BLOCKS;
#pragma omp parallel for num_threads(threads) schedule(static)
            for (size_t k = 0; k < cnt; k++) {
                size_t start = (b0 + k) * BLOCK;
                size_t len = n - start < BLOCK ? n - start : BLOCK;
                parts[k] = extreme_range(p + start * es, dt, len, base + start, want_max);
            }
            for (size_t k = 0; k < cnt; k++)
                r->ext = extreme_merge(r->ext, parts[k], r->is_int, want_max);
            if (r->ext.has_nan)
                return;
        }
    } else if (n > 0) {
        r->ext = extreme_merge(r->ext, extreme_range(p, dt, n, base, want_max), r->is_int, want_max);
    }
}

/* ---- histogram ---- */

/* Adds n elements at p to counts[0..bins). */
static void hist_range(const lanes_reducer_t *r, const unsigned char *p, size_t n, int64_t *counts)
{
    const lanes_dtype_t dt = r->spec.dtype;
    const size_t es = lanes_dtype_size(dt);
    const double *edges = r->edges;
    const size_t bins = r->bins;
    const double keep_lo = r->keep_lo, keep_hi = r->keep_hi, lo = r->lo, denom = r->denom;
    const double bins_d = (double)bins;
    const float lo32 = r->lo32;
    double buf[BLOCK];
    for (size_t done = 0; done < n; done += BLOCK) {
        size_t len = n - done < BLOCK ? n - done : BLOCK;
        lanes__convert_to_f64(buf, p + done * es, dt, len);
        for (size_t i = 0; i < len; i++) {
            double x = buf[i];
            if (!(x >= keep_lo && x <= keep_hi))
                continue; /* out of range or NaN */
            /* numpy: float32 data minus float32(lo) in float32, then / (hi - lo) * bins in double. */
            double f = r->f32 ? (double)((float)x - lo32) / denom * bins_d : (x - lo) / denom * bins_d;
            size_t k = f < bins_d ? (size_t)f : bins - 1;
            if (k > 0 && x < edges[k])
                k--;
            else if (k != bins - 1 && x >= edges[k + 1])
                k++;
            counts[k]++;
        }
    }
}

static void hist_feed(lanes_reducer_t *r, const unsigned char *p, size_t n, int threads)
{
    const size_t es = lanes_dtype_size(r->spec.dtype);
    const size_t bins = r->bins;
    size_t n_blocks = (n + BLOCK - 1) / BLOCK;
    /* Parallel only when the feed outweighs zeroing and merging threads x bins counts. */
    if (threads > 1 && n_blocks >= 2 && n >= 4 * bins * (size_t)threads) {
        if (r->scratch_threads < (size_t)threads) {
            int64_t *s = realloc(r->scratch, (size_t)threads * bins * sizeof *s);
            if (s) {
                r->scratch = s;
                r->scratch_threads = (size_t)threads;
            }
        }
        if (r->scratch_threads >= (size_t)threads) {
            int64_t *scratch = r->scratch;
            memset(scratch, 0, (size_t)threads * bins * sizeof *scratch);
#pragma omp parallel num_threads(threads)
            {
                int64_t *local = scratch + (size_t)omp_get_thread_num() * bins;
#pragma omp for schedule(static)
                for (size_t b = 0; b < n_blocks; b++) {
                    size_t start = b * BLOCK;
                    size_t len = n - start < BLOCK ? n - start : BLOCK;
                    hist_range(r, p + start * es, len, local);
                }
            }
            for (size_t t = 0; t < (size_t)threads; t++)
                for (size_t k = 0; k < bins; k++)
                    r->counts[k] += scratch[t * bins + k];
            return;
        }
        /* no memory for per-thread counts: count inline */
    }
    hist_range(r, p, n, r->counts);
}

static int hist_init(lanes_reducer_t *r, const lanes_reduce_spec_t *spec, lanes_error_t *err)
{
    if (spec->bins < 1)
        return lanes_error_set(err, LANES_EINVAL, "histogram needs bins >= 1");
    if (spec->bins > LANES_HISTOGRAM_MAX_BINS)
        return lanes_error_set(err, LANES_EINVAL, "histogram bins must be at most %u, got %u",
                               (unsigned)LANES_HISTOGRAM_MAX_BINS, (unsigned)spec->bins);
    if (spec->has_range != 1)
        return lanes_error_set(err, LANES_EINVAL, "histogram needs a range (lo, hi): the input is streamed once");
    double lo = spec->lo, hi = spec->hi;
    /* numpy's order: lo > hi first, then finiteness. */
    if (lo > hi)
        return lanes_error_set(err, LANES_EINVAL, "max must be larger than min in range parameter.");
    if (!isfinite(lo) || !isfinite(hi)) {
        char a[40], b[40];
        lanes_py_float_repr(lo, a, sizeof a);
        lanes_py_float_repr(hi, b, sizeof b);
        return lanes_error_set(err, LANES_EINVAL, "supplied range of [%s, %s] is not finite", a, b);
    }
    if (lo == hi) {
        lo = lo - 0.5;
        hi = hi + 0.5;
    }
    const uint32_t bins = spec->bins;
    double delta = hi - lo;
    if (!isfinite(delta))
        return lanes_error_set(err, LANES_EINVAL,
                               "Too many bins for data range. Cannot create %u finite-sized bins. "
                               "(the range is wider than the largest float64)",
                               (unsigned)bins);
    r->bins = bins;
    r->f32 = spec->dtype == LANES_DTYPE_F32;
    r->lo = lo;
    r->hi = hi;
    r->denom = delta;
    r->lo32 = (float)lo;
    r->edges = malloc(((size_t)bins + 1) * sizeof *r->edges);
    r->counts = calloc(bins, sizeof *r->counts);
    if (!r->edges || !r->counts)
        return lanes_error_set(err, LANES_ENOMEM, "out of memory for a histogram of %u bins", (unsigned)bins);

    /* numpy.linspace(lo, hi, bins + 1) */
    double step = delta / bins;
    for (uint32_t i = 0; i < bins; i++) {
        if (step == 0)
            r->edges[i] = ((double)i / bins) * delta + lo;
        else
            r->edges[i] = (double)i * step + lo;
    }
    r->edges[bins] = hi;
    if (r->f32 && spec->range_from_data) {
        /* numpy's default range on float32 data is float32 scalars: the widening and linspace run in
         * float32 arithmetic (each operation rounded to float). */
        float lo32 = (float)spec->lo, hi32 = (float)spec->hi;
        if (lo32 == hi32) {
            lo32 = lo32 - 0.5f;
            hi32 = hi32 + 0.5f;
        }
        float d32 = hi32 - lo32, step32 = d32 / (float)bins;
        for (uint32_t i = 0; i < bins; i++) {
            float e = step32 == 0 ? ((float)i / (float)bins) * d32 : (float)i * step32;
            r->edges[i] = (double)(e + lo32);
        }
        r->edges[bins] = hi32;
        r->lo = lo32;
        r->hi = hi32;
        r->denom = (double)d32;
        r->lo32 = lo32;
    } else if (r->f32) {
        for (uint32_t i = 0; i <= bins; i++)
            r->edges[i] = (double)(float)r->edges[i];
    }
    for (uint32_t i = 0; i < bins; i++)
        if (!(r->edges[i] < r->edges[i + 1]))
            return lanes_error_set(err, LANES_EINVAL,
                                   "Too many bins for data range. Cannot create %u finite-sized bins.",
                                   (unsigned)bins);
    r->keep_lo = r->edges[0];
    r->keep_hi = r->edges[bins];
    return 0;
}

/* ---- the reducer ---- */

/* The kind of an op on integer (is_int) or float input; *want_max is 1 for max and argmax. */
static reduce_kind_t op_kind(lanes_reduce_op_t op, int is_int, int *want_max)
{
    *want_max = op == LANES_REDUCE_MAX || op == LANES_REDUCE_ARGMAX;
    switch (op) {
    case LANES_REDUCE_SUM:
        return is_int ? KIND_ISUM : KIND_FSUM;
    case LANES_REDUCE_MEAN:
        return KIND_FSUM;
    case LANES_REDUCE_VAR:
    case LANES_REDUCE_STD:
        return KIND_MOMENTS;
    case LANES_REDUCE_COUNT:
        return KIND_COUNT;
    case LANES_REDUCE_MIN:
    case LANES_REDUCE_ARGMIN:
    case LANES_REDUCE_MAX:
    case LANES_REDUCE_ARGMAX:
        return KIND_EXTREME;
    default:
        return KIND_HIST;
    }
}

lanes_reducer_t *lanes_reducer_new(const lanes_reduce_spec_t *spec, lanes_error_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
    if (!spec) {
        lanes_error_set(err, LANES_EINVAL, "no reduce spec given");
        return NULL;
    }
    if ((unsigned)spec->op >= LANES_REDUCE_N_OPS) {
        lanes_error_set(err, LANES_EINVAL, "unknown reduce op %d", (int)spec->op);
        return NULL;
    }
    if (lanes_dtype_size(spec->dtype) == 0) {
        lanes_error_set(err, LANES_EINVAL, "input dtype is invalid (%d)", (int)spec->dtype);
        return NULL;
    }
    if ((spec->op == LANES_REDUCE_VAR || spec->op == LANES_REDUCE_STD) && !isfinite(spec->ddof)) {
        char d[40];
        lanes_py_float_repr(spec->ddof, d, sizeof d);
        lanes_error_set(err, LANES_EINVAL, "ddof must be finite, got %s", d);
        return NULL;
    }

    lanes_reducer_t *r = malloc(sizeof *r);
    if (r) /* zero the state; the scratch arrays at the end need no zeroing */
        memset(r, 0, offsetof(lanes_reducer_t, parts));
    if (!r) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory creating a '%s' reducer",
                        lanes_reduce_op_name(spec->op));
        return NULL;
    }
    r->spec = *spec;
    r->is_int = spec->dtype == LANES_DTYPE_I64 || spec->dtype == LANES_DTYPE_I32;
    r->kind = op_kind(spec->op, r->is_int, &r->want_max);
    if (r->kind == KIND_HIST && hist_init(r, spec, err) != 0) {
        lanes_reducer_free(r);
        return NULL;
    }
    return r;
}

int lanes_reducer_feed(lanes_reducer_t *r, const void *data, size_t n, int threads)
{
    if (!r || r->finished || (n > 0 && !data))
        return LANES_EINVAL;
    if (n == 0)
        return 0;
    const unsigned char *p = data;
    switch (r->kind) {
    case KIND_FSUM:
    case KIND_MOMENTS:
        blocked_feed(r, p, n, threads);
        break;
    case KIND_ISUM:
        isum_feed(r, p, n, threads);
        break;
    case KIND_COUNT:
        break;
    case KIND_EXTREME:
        extreme_feed(r, p, n, threads);
        break;
    case KIND_HIST:
        hist_feed(r, p, n, threads);
        break;
    }
    r->count += n;
    return 0;
}

uint64_t lanes_reducer_count(const lanes_reducer_t *r) { return r ? r->count : 0; }

int lanes_reducer_finish(lanes_reducer_t *r, lanes_reduce_result_t *out, lanes_error_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
    if (!r || !out)
        return lanes_error_set(err, LANES_EINVAL, "no reducer or no result given");
    if (r->finished)
        return lanes_error_set(err, LANES_EINVAL, "the reducer was already finished");
    r->finished = 1;
    memset(out, 0, sizeof *out);
    const lanes_reduce_op_t op = r->spec.op;

    switch (r->kind) {
    case KIND_FSUM:
    case KIND_MOMENTS: {
        if (r->carry_n > 0) {
            stack_push(r, block_partial(r->kind, (const unsigned char *)r->carry, LANES_DTYPE_F64, r->carry_n));
            r->carry_n = 0;
        }
        out->dtype = LANES_DTYPE_F64;
        if (r->count == 0) {
            out->f = op == LANES_REDUCE_SUM ? 0.0 : NAN;
            return 0;
        }
        partial_t all = stack_fold(r);
        if (op == LANES_REDUCE_SUM) {
            out->f = all.sum;
        } else if (op == LANES_REDUCE_MEAN) {
            out->f = all.sum / (double)r->count;
        } else {
            double dof = all.m.n - r->spec.ddof;
            double var = all.m.m2 / (dof > 0 ? dof : 0.0);
            out->f = op == LANES_REDUCE_STD ? sqrt(var) : var;
        }
        return 0;
    }
    case KIND_ISUM: {
        int64_t v;
        memcpy(&v, &r->isum, sizeof v); /* two's complement: the wrapped int64 */
        out->dtype = LANES_DTYPE_I64;
        out->i = v;
        return 0;
    }
    case KIND_COUNT:
        out->dtype = LANES_DTYPE_I64;
        out->i = (int64_t)r->count;
        return 0;
    case KIND_EXTREME:
        if (r->count == 0) {
            if (op == LANES_REDUCE_MIN || op == LANES_REDUCE_MAX)
                return lanes_error_set(err, LANES_EEMPTY,
                                       "zero-size array to reduction operation %s which has no identity",
                                       op == LANES_REDUCE_MIN ? "minimum" : "maximum");
            return lanes_error_set(err, LANES_EEMPTY, "attempt to get %s of an empty sequence",
                                   lanes_reduce_op_name(op));
        }
        if (op == LANES_REDUCE_ARGMIN || op == LANES_REDUCE_ARGMAX) {
            out->dtype = LANES_DTYPE_I64;
            out->i = (int64_t)r->ext.idx;
        } else {
            out->dtype = r->spec.dtype;
            if (r->is_int)
                out->i = r->ext.i;
            else
                out->f = r->ext.f;
        }
        return 0;
    case KIND_HIST: {
        int64_t total = 0;
        for (uint32_t k = 0; k < r->bins; k++)
            total += r->counts[k];
        out->dtype = LANES_DTYPE_I64;
        out->i = total;
        out->bins = r->bins;
        out->counts = r->counts;
        out->edges = r->edges;
        return 0;
    }
    }
    return 0;
}

void lanes_reducer_free(lanes_reducer_t *r)
{
    if (!r)
        return;
    free(r->edges);
    free(r->counts);
    free(r->scratch);
    free(r);
}

/* ---- block partials ---- */

static int kind_takes_partials(reduce_kind_t kind)
{
    return kind == KIND_FSUM || kind == KIND_MOMENTS || kind == KIND_ISUM || kind == KIND_EXTREME;
}

int lanes_reducer_takes_partials(const lanes_reducer_t *r) { return r && kind_takes_partials(r->kind); }

size_t lanes_reducer_to_boundary(const lanes_reducer_t *r)
{
    if (!r)
        return 0;
    size_t in_block = (size_t)(r->count % BLOCK);
    return in_block ? BLOCK - in_block : 0;
}

/* The kind of a spec whose op takes block partials (and its dtype's int-ness and max-ness), or -1 for
 * a bad spec or an op without partials: the checks the partials functions share. */
static int partials_kind(const lanes_reduce_spec_t *spec, int *is_int, int *want_max)
{
    if (!spec || (unsigned)spec->op >= LANES_REDUCE_N_OPS || lanes_dtype_size(spec->dtype) == 0)
        return -1;
    *is_int = spec->dtype == LANES_DTYPE_I64 || spec->dtype == LANES_DTYPE_I32;
    const reduce_kind_t kind = op_kind(spec->op, *is_int, want_max);
    return kind_takes_partials(kind) ? (int)kind : -1;
}

/* The stack partial and the extreme of a lanes_reduce_partial_t. */
static partial_t partial_of(const lanes_reduce_partial_t *q)
{
    partial_t part = {.sum = q->sum, .m = {.n = q->n, .mean = q->mean, .m2 = q->m2}};
    return part;
}

static extreme_t extreme_of(const lanes_reduce_partial_t *q)
{
    extreme_t e = {.has = 1, .has_nan = q->has_nan != 0, .idx = q->idx, .f = q->f, .i = q->i};
    return e;
}

int lanes_reducer_feed_group_partials(lanes_reducer_t *r, const lanes_reduce_partial_t *parts, size_t n_groups,
                                      unsigned level)
{
    if (!r || r->finished || !kind_takes_partials(r->kind) || level > LANES_REDUCE_MAX_GROUP_LEVEL ||
        r->count % BLOCK != 0 || (r->count / BLOCK) % ((uint64_t)1 << level) != 0 || (n_groups && !parts))
        return LANES_EINVAL;
    for (size_t g = 0; g < n_groups; g++) {
        const lanes_reduce_partial_t *q = &parts[g];
        switch (r->kind) {
        case KIND_FSUM:
        case KIND_MOMENTS:
            stack_push_on(r->kind, r->stack, &r->depth, partial_of(q), level);
            break;
        case KIND_ISUM:
            r->isum += q->isum;
            break;
        default: /* KIND_EXTREME */
            r->ext = extreme_merge(r->ext, extreme_of(q), r->is_int, r->want_max);
            break;
        }
    }
    r->count += ((uint64_t)n_groups << level) * BLOCK;
    return 0;
}

int lanes_reducer_feed_partials(lanes_reducer_t *r, const lanes_reduce_partial_t *parts, size_t n_blocks)
{
    return lanes_reducer_feed_group_partials(r, parts, n_blocks, 0);
}

int lanes_reduce_partials_combine(const lanes_reduce_spec_t *spec, const lanes_reduce_partial_t *parts,
                                  size_t n_blocks, unsigned level, lanes_reduce_partial_t *out)
{
    if (level > LANES_REDUCE_MAX_GROUP_LEVEL || n_blocks % ((size_t)1 << level) != 0 || (n_blocks && (!parts || !out)))
        return LANES_EINVAL;
    int is_int = 0, want_max = 0;
    const int kind = partials_kind(spec, &is_int, &want_max);
    if (kind < 0)
        return LANES_EINVAL;
    const size_t group = (size_t)1 << level;
    for (size_t g = 0; g < n_blocks / group; g++) {
        const lanes_reduce_partial_t *q = parts + g * group;
        lanes_reduce_partial_t o;
        memset(&o, 0, sizeof o);
        if (kind == KIND_FSUM || kind == KIND_MOMENTS) {
            /* the reducer's own stack over the group: it ends as one entry at 'level' */
            partial_t stack[STACK_MAX];
            size_t depth = 0;
            for (size_t b = 0; b < group; b++)
                stack_push_on(kind, stack, &depth, partial_of(&q[b]), 0);
            o.sum = stack[0].sum;
            o.n = stack[0].m.n;
            o.mean = stack[0].m.mean;
            o.m2 = stack[0].m.m2;
        } else if (kind == KIND_ISUM) {
            for (size_t b = 0; b < group; b++)
                o.isum += q[b].isum;
        } else {
            extreme_t e = {0};
            for (size_t b = 0; b < group; b++)
                e = extreme_merge(e, extreme_of(&q[b]), is_int, want_max);
            o.has_nan = e.has_nan;
            o.idx = e.idx;
            o.f = e.f;
            o.i = e.i;
        }
        out[g] = o;
    }
    return 0;
}

int lanes_reduce_partials_cpu(const lanes_reduce_spec_t *spec, const void *data, uint64_t index0, size_t n_blocks,
                              lanes_reduce_partial_t *out)
{
    if (index0 % BLOCK != 0 || (n_blocks && (!data || !out)))
        return LANES_EINVAL;
    int is_int = 0, want_max = 0;
    const int kind = partials_kind(spec, &is_int, &want_max);
    if (kind < 0)
        return LANES_EINVAL;
    const lanes_dtype_t dt = spec->dtype;
    const size_t block_bytes = BLOCK * lanes_dtype_size(dt);
    for (size_t b = 0; b < n_blocks; b++) {
        const unsigned char *p = (const unsigned char *)data + b * block_bytes;
        lanes_reduce_partial_t *o = &out[b];
        memset(o, 0, sizeof *o);
        switch (kind) {
        case KIND_FSUM:
            o->sum = block_partial(kind, p, dt, BLOCK).sum;
            break;
        case KIND_MOMENTS: {
            partial_t part = block_partial(kind, p, dt, BLOCK);
            o->n = part.m.n;
            o->mean = part.m.mean;
            o->m2 = part.m.m2;
            break;
        }
        case KIND_ISUM:
            o->isum = isum_range(p, dt, BLOCK);
            break;
        default: { /* KIND_EXTREME */
            extreme_t e = extreme_range(p, dt, BLOCK, index0 + (uint64_t)b * BLOCK, want_max);
            o->has_nan = e.has_nan;
            o->idx = e.idx;
            o->f = e.f;
            o->i = e.i;
            break;
        }
        }
    }
    return 0;
}

int lanes_reducer_histogram_params(const lanes_reducer_t *r, lanes_histogram_params_t *out)
{
    if (!r || !out || r->kind != KIND_HIST)
        return LANES_EINVAL;
    out->bins = r->bins;
    out->f32 = r->f32;
    out->lo = r->lo;
    out->denom = r->denom;
    out->lo32 = r->lo32;
    out->keep_lo = r->keep_lo;
    out->keep_hi = r->keep_hi;
    out->edges = r->edges;
    return 0;
}

int lanes_reducer_feed_histogram(lanes_reducer_t *r, const int64_t *counts, uint64_t n_elems)
{
    if (!r || r->finished || r->kind != KIND_HIST || !counts)
        return LANES_EINVAL;
    for (uint32_t k = 0; k < r->bins; k++)
        r->counts[k] += counts[k];
    r->count += n_elems;
    return 0;
}
