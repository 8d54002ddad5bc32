// The inputs and comparisons the backend tests share (tests/backend/test_backend_ops.cc, every op on
// every backend, and tests/unit/test_cuda_backend.cc, the CUDA code's own calls): random arrays of every
// dtype with NaNs, ties and signed zeros; seven expression inputs (four arrays, RANGE, UNIFORM, NORMAL)
// and two parameters; bit and ulp comparisons that count two NaNs as equal (GPUs return the canonical
// NaN); partials compared field by field; a reducer compared with the plain CPU reducer.
#ifndef LANES_TESTS_OPS_REF_H
#define LANES_TESTS_OPS_REF_H

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "lanes/expr.h"
#include "lanes/kernels.h"

namespace ops_ref {

constexpr size_t kBlock = LANES_REDUCE_BLOCK;

const lanes_dtype_t kDtypes[] = {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64, LANES_DTYPE_I32};

inline std::vector<unsigned char> Random(lanes_dtype_t dt, size_t n, unsigned seed, bool specials)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-100.0, 100.0);
    std::vector<unsigned char> b(n * lanes_dtype_size(dt));
    for (size_t i = 0; i < n; i++) {
        double v = u(rng);
        int64_t iv = static_cast<int64_t>(rng());
        if (specials) {
            if (rng() % 211 == 0)
                v = std::numeric_limits<double>::quiet_NaN();
            if (i % 777 == 3)
                v = -100.0; // ties
            if (i % 501 == 9)
                v = (i & 1) ? 0.0 : -0.0;
        }
        unsigned char *p = b.data() + i * lanes_dtype_size(dt);
        if (dt == LANES_DTYPE_F64) {
            std::memcpy(p, &v, 8);
        } else if (dt == LANES_DTYPE_F32) {
            float f = static_cast<float>(v);
            std::memcpy(p, &f, 4);
        } else if (dt == LANES_DTYPE_I64) {
            std::memcpy(p, &iv, 8); // large values: sums wrap
        } else {
            int32_t w = static_cast<int32_t>(iv);
            std::memcpy(p, &w, 4);
        }
    }
    return b;
}

inline bool SameDouble(double a, double b)
{
    if (std::isnan(a) || std::isnan(b))
        return std::isnan(a) && std::isnan(b); // GPUs may return the canonical NaN
    return std::memcmp(&a, &b, sizeof a) == 0;
}

inline int64_t UlpDistance(double a, double b)
{
    if (std::isnan(a) || std::isnan(b))
        return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
    if (a == b)
        return 0;
    int64_t ia, ib;
    std::memcpy(&ia, &a, 8);
    std::memcpy(&ib, &b, 8);
    if ((ia < 0) != (ib < 0))
        return INT64_MAX;
    return ia > ib ? ia - ib : ib - ia;
}

const lanes_expr_input_t kInputs[] = {
    {"a", LANES_SOURCE_ARRAY, LANES_DTYPE_F64}, {"b", LANES_SOURCE_ARRAY, LANES_DTYPE_F32},
    {"c", LANES_SOURCE_ARRAY, LANES_DTYPE_I64}, {"d", LANES_SOURCE_ARRAY, LANES_DTYPE_I32},
    {"r", LANES_SOURCE_RANGE, LANES_DTYPE_INVALID}, {"u", LANES_SOURCE_UNIFORM, LANES_DTYPE_INVALID},
    {"g", LANES_SOURCE_NORMAL, LANES_DTYPE_INVALID},
};
const char *const kParams[] = {"p", "q"};
const double kParamValues[] = {2.5, -0.75};

struct Inputs {
    size_t n;
    std::vector<unsigned char> a, b, c, d;
    lanes_expr_binding_t bind[7];
    explicit Inputs(size_t n_) : n(n_)
    {
        a = Random(LANES_DTYPE_F64, n, 1, false);
        b = Random(LANES_DTYPE_F32, n, 2, false);
        c = Random(LANES_DTYPE_I64, n, 3, false);
        d = Random(LANES_DTYPE_I32, n, 4, false);
        std::memset(bind, 0, sizeof bind);
        bind[0].data = a.data();
        bind[1].data = b.data();
        bind[2].data = c.data();
        bind[3].data = d.data();
        bind[4].start = -3.0;
        bind[4].step = 0.125;
        bind[5].seed = 77;
        bind[6].seed = 78;
    }
};

inline lanes_expr_t *Compile(const char *src)
{
    lanes_error_t err;
    lanes_expr_t *e = lanes_expr_compile(src, kInputs, 7, kParams, 2, &err);
    EXPECT_NE(e, nullptr) << src << ": " << err.msg;
    return e;
}

const lanes_reduce_op_t kPartialOps[] = {LANES_REDUCE_SUM,  LANES_REDUCE_MEAN,   LANES_REDUCE_VAR,
                                         LANES_REDUCE_STD,  LANES_REDUCE_MIN,    LANES_REDUCE_MAX,
                                         LANES_REDUCE_ARGMIN, LANES_REDUCE_ARGMAX};

inline void ExpectSamePartials(const lanes_reduce_partial_t &c, const lanes_reduce_partial_t &g, size_t b)
{
    EXPECT_TRUE(SameDouble(c.sum, g.sum)) << "block " << b << " sum " << c.sum << " vs " << g.sum;
    EXPECT_TRUE(SameDouble(c.n, g.n)) << "block " << b;
    EXPECT_TRUE(SameDouble(c.mean, g.mean)) << "block " << b << " mean " << c.mean << " vs " << g.mean;
    EXPECT_TRUE(SameDouble(c.m2, g.m2)) << "block " << b << " m2 " << c.m2 << " vs " << g.m2;
    EXPECT_EQ(c.isum, g.isum) << "block " << b;
    EXPECT_EQ(c.has_nan, g.has_nan) << "block " << b;
    EXPECT_EQ(c.idx, g.idx) << "block " << b;
    EXPECT_TRUE(SameDouble(c.f, g.f)) << "block " << b;
    EXPECT_EQ(c.i, g.i) << "block " << b;
}

// Finishes 'other' (fed by the caller some other way) and a CPU reducer fed data[0, n) plainly, and
// expects the same result bit for bit; frees other.
inline void ExpectSameAsPlain(const lanes_reduce_spec_t &spec, const std::vector<unsigned char> &data, size_t n,
                       lanes_reducer_t *other)
{
    lanes_error_t err;
    lanes_reducer_t *plain = lanes_reducer_new(&spec, &err);
    ASSERT_TRUE(plain && other);
    ASSERT_EQ(lanes_reducer_feed(plain, data.data(), n, 1), 0);
    lanes_reduce_result_t rp, ro;
    ASSERT_EQ(lanes_reducer_finish(plain, &rp, &err), 0);
    ASSERT_EQ(lanes_reducer_finish(other, &ro, &err), 0);
    EXPECT_EQ(rp.dtype, ro.dtype);
    EXPECT_TRUE(SameDouble(rp.f, ro.f)) << rp.f << " vs " << ro.f;
    EXPECT_EQ(rp.i, ro.i);
    lanes_reducer_free(plain);
    lanes_reducer_free(other);
}

} // namespace ops_ref

#endif // LANES_TESTS_OPS_REF_H
