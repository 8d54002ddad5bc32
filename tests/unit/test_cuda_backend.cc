// Unit tests of the CUDA backend's map and reduce (kernels/cuda/map.cu, reduce.cu, kcache.cu) on
// device 0, each against the CPU reference of the same call.
//
// Design: without a device (or in a CPU-only build) every test skips with the probe's reason. With
// one, a context is opened with small (1 MiB) staging buffers so every call runs the two-stream
// pipeline over several pieces. Checks:
//  - map: arithmetic-only expressions over every array dtype, RANGE and UNIFORM inputs equal
//    lanes_expr_eval bit for bit (float64 and float32 output); transcendental functions and NORMAL
//    inputs within 4 ulp;
//  - reduce partials for every op that takes them and every dtype (NaNs, ties, signed zeros, int
//    wrap) equal lanes_reduce_partials_cpu field by field (NaN: both NaN), and a reducer fed the GPU
//    partials finishes bit-identical to the CPU reducer;
//  - group partials merged on the device equal lanes_reduce_partials_combine;
//  - fused expression reduce against lanes_expr_eval + lanes_reduce_partials_cpu;
//  - histogram counts equal the CPU reducer's, for arrays and expressions;
//  - the NVRTC cache hits, a compile error is LANES_EINVAL with NVRTC's log, argument checks;
//  - lanes_cuda_test_fault poisons the context and later calls fail with LANES_EDEVICE (last test:
//    a sticky error ends the process's use of the device).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#ifdef LANES_TEST_CUDA_RUNTIME
#include <cuda_runtime.h> // device buffers for the device-resident group combine
#endif

#include "cuda/cuda_api.h"
#include "lanes/expr.h"
#include "lanes/kernels.h"

namespace {

constexpr size_t kBlock = LANES_REDUCE_BLOCK;

class CudaBackend : public ::testing::Test {
protected:
    lanes_cuda_ctx_t *ctx = nullptr;

    void SetUp() override
    {
        lanes_device_info_t devs[4];
        char detail[256] = "";
        int count = lanes_cuda_probe(devs, 4, detail, sizeof detail);
        if (count <= 0)
            GTEST_SKIP() << "no CUDA device: " << detail;
        lanes_error_t err;
        ctx = lanes_cuda_open(0, (size_t)1 << 20, &err);
        ASSERT_NE(ctx, nullptr) << err.msg;
    }
    void TearDown() override { lanes_cuda_close(ctx); }
};

const lanes_dtype_t kDtypes[] = {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64, LANES_DTYPE_I32};

std::vector<unsigned char> Random(lanes_dtype_t dt, size_t n, unsigned seed, bool specials)
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

bool SameDouble(double a, double b)
{
    if (std::isnan(a) || std::isnan(b))
        return std::isnan(a) && std::isnan(b); // GPUs may return the canonical NaN
    return std::memcmp(&a, &b, sizeof a) == 0;
}

int64_t UlpDistance(double a, double b)
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

lanes_expr_t *Compile(const char *src)
{
    lanes_error_t err;
    lanes_expr_t *e = lanes_expr_compile(src, kInputs, 7, kParams, 2, &err);
    EXPECT_NE(e, nullptr) << src << ": " << err.msg;
    return e;
}

void CompareMap(lanes_cuda_ctx_t *ctx, const char *src, int64_t max_ulp)
{
    const size_t n = 300000 + 7;
    const uint64_t index0 = 12345;
    Inputs in(n);
    lanes_expr_t *e = Compile(src);
    ASSERT_NE(e, nullptr);
    for (lanes_dtype_t out : {LANES_DTYPE_F64, LANES_DTYPE_F32}) {
        const size_t es = lanes_dtype_size(out);
        std::vector<unsigned char> cpu(n * es), gpu(n * es);
        ASSERT_EQ(lanes_expr_eval(e, in.bind, kParamValues, index0, n, cpu.data(), out, 1), 0);
        lanes_error_t err;
        ASSERT_EQ(lanes_cuda_expr_eval(ctx, e, in.bind, kParamValues, index0, n, gpu.data(), out, &err), 0)
            << src << ": " << err.msg;
        int64_t worst = 0;
        size_t where = 0;
        for (size_t k = 0; k < n; k++) {
            double x, y;
            if (out == LANES_DTYPE_F64) {
                std::memcpy(&x, cpu.data() + 8 * k, 8);
                std::memcpy(&y, gpu.data() + 8 * k, 8);
            } else {
                float fx, fy;
                std::memcpy(&fx, cpu.data() + 4 * k, 4);
                std::memcpy(&fy, gpu.data() + 4 * k, 4);
                x = fx, y = fy;
            }
            int64_t dist = max_ulp == 0 ? (SameDouble(x, y) ? 0 : INT64_MAX) : UlpDistance(x, y);
            if (dist > worst) {
                worst = dist;
                where = k;
            }
        }
        EXPECT_LE(worst, max_ulp) << src << " (" << lanes_dtype_name(out) << ") element " << where;
    }
    lanes_expr_free(e);
}

TEST_F(CudaBackend, MapArithmeticIsBitIdentical)
{
    const char *exprs[] = {
        "a + b * c - d / r",
        "a ** 2 + b ** 0.5 + c ** -1 + d * p - q",
        "a % b + (c % 7) - (-d % p)",
        "where(a > b, c, d) + ((a <= 0) and not (u < 0.5)) + (r != 1) * 3",
        "min(a, b) + max(c, d) + clip(a, p, q) + abs(b) + sqrt(abs(a))",
        "floor(a) + ceil(b) + round(a * 0.5) + trunc(b)",
        "u + r + i",
        "4 * ((u * u + r * r) < 1)",
        "square(a) + cube(b) + affine(d, p, q)",
    };
    for (const char *s : exprs)
        CompareMap(ctx, s, 0);
}

TEST_F(CudaBackend, MapTranscendentalWithinFourUlp)
{
    const char *exprs[] = {
        "sin(a) + cos(b)", "exp(b / 50)", "log(abs(a) + 1)", "tanh(a / 30) * atan2(a, b)",
        "g", "hypot(a, b)", "cbrt(c / 1e12)", "a ** 3", "pow(abs(b), 0.3)",
    };
    for (const char *s : exprs)
        CompareMap(ctx, s, 4);
}

const lanes_reduce_op_t kPartialOps[] = {LANES_REDUCE_SUM,  LANES_REDUCE_MEAN,   LANES_REDUCE_VAR,
                                         LANES_REDUCE_STD,  LANES_REDUCE_MIN,    LANES_REDUCE_MAX,
                                         LANES_REDUCE_ARGMIN, LANES_REDUCE_ARGMAX};

void ExpectSamePartials(const lanes_reduce_partial_t &c, const lanes_reduce_partial_t &g, size_t b)
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
void ExpectSameAsPlain(const lanes_reduce_spec_t &spec, const std::vector<unsigned char> &data, size_t n,
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

TEST_F(CudaBackend, ReducePartialsEveryOpAndDtype)
{
    const size_t nb = 37, head = 100, n = head + 4096 - head + nb * kBlock + 555;
    for (lanes_dtype_t dt : kDtypes) {
        std::vector<unsigned char> data = Random(dt, n, 11, true);
        const size_t es = lanes_dtype_size(dt);
        const unsigned char *blocks = data.data() + kBlock * es; // blocks start at element 4096
        for (lanes_reduce_op_t op : kPartialOps) {
            SCOPED_TRACE(std::string(lanes_reduce_op_name(op)) + " " + lanes_dtype_name(dt));
            lanes_reduce_spec_t spec;
            std::memset(&spec, 0, sizeof spec);
            spec.op = op;
            spec.dtype = dt;
            spec.ddof = 1.0;
            std::vector<lanes_reduce_partial_t> cpu(nb), gpu(nb);
            ASSERT_EQ(lanes_reduce_partials_cpu(&spec, blocks, kBlock, nb, cpu.data()), 0);
            lanes_error_t err;
            ASSERT_EQ(lanes_cuda_reduce_partials(ctx, &spec, nullptr, nullptr, nullptr, blocks, kBlock, nb, gpu.data(),
                                                 &err),
                      0)
                << err.msg;
            for (size_t b = 0; b < nb; b++)
                ExpectSamePartials(cpu[b], gpu[b], b);
            // a reducer fed a head, the GPU partials and a tail equals the CPU reducer bit for bit
            lanes_reducer_t *mixed = lanes_reducer_new(&spec, &err);
            ASSERT_NE(mixed, nullptr);
            ASSERT_EQ(lanes_reducer_feed(mixed, data.data(), kBlock, 1), 0);
            ASSERT_EQ(lanes_reducer_feed_partials(mixed, gpu.data(), nb), 0);
            ASSERT_EQ(lanes_reducer_feed(mixed, blocks + nb * kBlock * es, n - kBlock - nb * kBlock, 1), 0);
            ExpectSameAsPlain(spec, data, n, mixed);
        }
    }
}

// Group partials merged on the device (lanes_cuda_reduce_combine_device) equal the CPU reference
// (lanes_reduce_partials_combine) field by field, for every op and dtype and levels 1, 3 and 8, and
// a reducer fed the device's groups finishes bit-identical to the plain CPU reducer.
TEST_F(CudaBackend, GroupPartialsOnTheDeviceEqualTheCpu)
{
#ifdef LANES_TEST_CUDA_RUNTIME
    const size_t nb = 512, n = nb * kBlock;
    for (lanes_dtype_t dt : kDtypes) {
        std::vector<unsigned char> data = Random(dt, n, 23, true);
        for (lanes_reduce_op_t op : kPartialOps) {
            lanes_reduce_spec_t spec;
            std::memset(&spec, 0, sizeof spec);
            spec.op = op;
            spec.dtype = dt;
            spec.ddof = 1.0;
            std::vector<lanes_reduce_partial_t> parts(nb), cpu(nb), gpu(nb);
            ASSERT_EQ(lanes_reduce_partials_cpu(&spec, data.data(), 0, nb, parts.data()), 0);
            lanes_reduce_partial_t *d_in = nullptr, *d_out = nullptr;
            ASSERT_EQ(cudaMalloc(reinterpret_cast<void **>(&d_in), nb * sizeof *d_in), cudaSuccess);
            ASSERT_EQ(cudaMalloc(reinterpret_cast<void **>(&d_out), nb * sizeof *d_out), cudaSuccess);
            ASSERT_EQ(cudaMemcpy(d_in, parts.data(), nb * sizeof *d_in, cudaMemcpyHostToDevice), cudaSuccess);
            for (unsigned level : {1u, 3u, 8u}) {
                SCOPED_TRACE(std::string(lanes_reduce_op_name(op)) + " " + lanes_dtype_name(dt) + " level " +
                             std::to_string(level));
                const size_t ng = nb >> level;
                lanes_error_t err;
                ASSERT_EQ(lanes_reduce_partials_combine(&spec, parts.data(), nb, level, cpu.data()), 0);
                ASSERT_EQ(lanes_cuda_reduce_combine_device(ctx, &spec, d_in, nb, level, d_out, &err), 0) << err.msg;
                ASSERT_EQ(cudaMemcpy(gpu.data(), d_out, ng * sizeof *d_out, cudaMemcpyDeviceToHost), cudaSuccess);
                for (size_t g = 0; g < ng; g++)
                    ExpectSamePartials(cpu[g], gpu[g], g);
                lanes_reducer_t *grouped = lanes_reducer_new(&spec, &err);
                ASSERT_NE(grouped, nullptr);
                ASSERT_EQ(lanes_reducer_feed_group_partials(grouped, gpu.data(), ng, level), 0);
                ExpectSameAsPlain(spec, data, n, grouped);
            }
            lanes_error_t err;
            EXPECT_EQ(lanes_cuda_reduce_combine_device(ctx, &spec, d_in, nb - 1, 1, d_out, &err), LANES_EINVAL);
            EXPECT_EQ(lanes_cuda_reduce_combine_device(ctx, &spec, d_in, nb, 9, d_out, &err), LANES_EINVAL);
            cudaFree(d_in);
            cudaFree(d_out);
        }
    }
#else
    GTEST_SKIP() << "a CPU-only build (no CUDA runtime)";
#endif
}

TEST_F(CudaBackend, FusedExpressionReduce)
{
    const size_t nb = 21, n = nb * kBlock;
    const uint64_t index0 = 3 * kBlock;
    Inputs in(n);
    for (const char *src : {"a * 2 + b - c / 1e15 + d * u + r", "4 * ((u * u + r * r / 1e6) < 1)", "where(a > 50, 0 / 0, b)"}) {
        lanes_expr_t *e = Compile(src);
        ASSERT_NE(e, nullptr);
        std::vector<double> values(n);
        ASSERT_EQ(lanes_expr_eval(e, in.bind, kParamValues, index0, n, values.data(), LANES_DTYPE_F64, 1), 0);
        for (lanes_reduce_op_t op : kPartialOps) {
            SCOPED_TRACE(std::string(src) + " " + lanes_reduce_op_name(op));
            lanes_reduce_spec_t spec;
            std::memset(&spec, 0, sizeof spec);
            spec.op = op;
            spec.dtype = LANES_DTYPE_F64;
            std::vector<lanes_reduce_partial_t> cpu(nb), gpu(nb);
            ASSERT_EQ(lanes_reduce_partials_cpu(&spec, values.data(), index0, nb, cpu.data()), 0);
            lanes_error_t err;
            ASSERT_EQ(lanes_cuda_reduce_partials(ctx, &spec, e, in.bind, kParamValues, nullptr, index0, nb, gpu.data(),
                                                 &err),
                      0)
                << err.msg;
            for (size_t b = 0; b < nb; b++)
                ExpectSamePartials(cpu[b], gpu[b], b);
        }
        lanes_expr_free(e);
    }
}

TEST_F(CudaBackend, HistogramCountsEqualTheCpu)
{
    const size_t n = 200003;
    for (lanes_dtype_t dt : kDtypes) {
        for (uint32_t bins : {1u, 10u, 1000u, 20000u}) {
            SCOPED_TRACE(std::string(lanes_dtype_name(dt)) + " bins " + std::to_string(bins));
            std::vector<unsigned char> data = Random(dt, n, 9, true);
            lanes_reduce_spec_t spec;
            std::memset(&spec, 0, sizeof spec);
            spec.op = LANES_REDUCE_HISTOGRAM;
            spec.dtype = dt;
            spec.bins = bins;
            spec.has_range = 1;
            spec.lo = dt == LANES_DTYPE_F64 || dt == LANES_DTYPE_F32 ? -80.0 : -3e9;
            spec.hi = dt == LANES_DTYPE_F64 || dt == LANES_DTYPE_F32 ? 90.0 : 2e9;
            lanes_error_t err;
            lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
            ASSERT_NE(r, nullptr) << err.msg;
            lanes_histogram_params_t hp;
            ASSERT_EQ(lanes_reducer_histogram_params(r, &hp), 0);
            std::vector<int64_t> counts(bins);
            ASSERT_EQ(lanes_cuda_reduce_histogram(ctx, &spec, &hp, nullptr, nullptr, nullptr, data.data(), 0, n,
                                                  counts.data(), &err),
                      0)
                << err.msg;
            ASSERT_EQ(lanes_reducer_feed(r, data.data(), n, 1), 0);
            lanes_reduce_result_t res;
            ASSERT_EQ(lanes_reducer_finish(r, &res, &err), 0);
            for (uint32_t k = 0; k < bins; k++)
                ASSERT_EQ(counts[k], res.counts[k]) << "bin " << k;
            lanes_reducer_free(r);
        }
    }
    // an expression (generated input, no transfer)
    lanes_expr_t *e = Compile("g * 3 + u");
    ASSERT_NE(e, nullptr);
    Inputs in(16);
    lanes_reduce_spec_t spec;
    std::memset(&spec, 0, sizeof spec);
    spec.op = LANES_REDUCE_HISTOGRAM;
    spec.dtype = LANES_DTYPE_F64;
    spec.bins = 50;
    spec.has_range = 1;
    spec.lo = -5;
    spec.hi = 5;
    lanes_error_t err;
    lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
    ASSERT_NE(r, nullptr);
    lanes_histogram_params_t hp;
    ASSERT_EQ(lanes_reducer_histogram_params(r, &hp), 0);
    std::vector<int64_t> counts(50);
    ASSERT_EQ(lanes_cuda_reduce_histogram(ctx, &spec, &hp, e, in.bind, kParamValues, nullptr, 999, n, counts.data(), &err),
              0)
        << err.msg;
    ASSERT_EQ(lanes_expr_reduce(e, in.bind, kParamValues, 999, n, r, 1), 0);
    lanes_reduce_result_t res;
    ASSERT_EQ(lanes_reducer_finish(r, &res, &err), 0);
    // normal inputs may differ by an ulp, which can move a value across an edge: allow a handful
    int64_t diff = 0;
    for (uint32_t k = 0; k < 50; k++)
        diff += std::llabs(counts[k] - res.counts[k]);
    EXPECT_LE(diff, 4);
    lanes_reducer_free(r);
    lanes_expr_free(e);
}

TEST_F(CudaBackend, CacheErrorsAndArgumentChecks)
{
    lanes_expr_t *e = Compile("a * p + u");
    ASSERT_NE(e, nullptr);
    Inputs in(1000);
    std::vector<double> out(1000);
    lanes_error_t err;
    uint64_t c0 = 0, h0 = 0, c1 = 0, h1 = 0;
    lanes_cuda_cache_stats(ctx, &c0, &h0);
    ASSERT_EQ(lanes_cuda_expr_eval(ctx, e, in.bind, kParamValues, 0, 1000, out.data(), LANES_DTYPE_F64, &err), 0);
    double other[2] = {7.0, 8.0}; // new parameter values: the same kernel
    ASSERT_EQ(lanes_cuda_expr_eval(ctx, e, in.bind, other, 0, 1000, out.data(), LANES_DTYPE_F64, &err), 0);
    lanes_cuda_cache_stats(ctx, &c1, &h1);
    EXPECT_EQ(c1, c0 + 1);
    EXPECT_GE(h1, h0 + 1);

    EXPECT_EQ(lanes_cuda_compile_check("__global__ void k() { nonsense }", 90, &err), LANES_EINVAL);
    EXPECT_NE(std::string(err.msg).find("error"), std::string::npos) << err.msg;

    lanes_reduce_spec_t spec;
    std::memset(&spec, 0, sizeof spec);
    spec.op = LANES_REDUCE_SUM;
    spec.dtype = LANES_DTYPE_F64;
    std::vector<lanes_reduce_partial_t> parts(1);
    std::vector<double> x(kBlock, 1.0);
    EXPECT_EQ(lanes_cuda_reduce_partials(ctx, &spec, nullptr, nullptr, nullptr, x.data(), 1, 1, parts.data(), &err),
              LANES_EINVAL); // index0 not on a block boundary
    EXPECT_EQ(lanes_cuda_reduce_partials(ctx, &spec, nullptr, nullptr, nullptr, nullptr, 0, 1, parts.data(), &err),
              LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_reduce_partials(ctx, &spec, e, in.bind, kParamValues, x.data(), 0, 1, parts.data(), &err),
              LANES_EINVAL); // data and an expression
    spec.dtype = LANES_DTYPE_F32;
    EXPECT_EQ(lanes_cuda_reduce_partials(ctx, &spec, e, in.bind, kParamValues, nullptr, 0, 1, parts.data(), &err),
              LANES_EINVAL); // expressions are float64
    spec.dtype = LANES_DTYPE_F64;
    spec.op = LANES_REDUCE_COUNT;
    EXPECT_EQ(lanes_cuda_reduce_partials(ctx, &spec, nullptr, nullptr, nullptr, x.data(), 0, 1, parts.data(), &err),
              LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_expr_eval(ctx, e, in.bind, nullptr, 0, 1000, out.data(), LANES_DTYPE_F64, &err),
              LANES_EINVAL); // parameters missing
    EXPECT_EQ(lanes_cuda_expr_eval(ctx, e, in.bind, kParamValues, 0, 1000, out.data(), LANES_DTYPE_I64, &err),
              LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_expr_eval(nullptr, e, in.bind, kParamValues, 0, 1000, out.data(), LANES_DTYPE_F64, &err),
              LANES_EINVAL);
    lanes_expr_free(e);
}

// Last: a sticky error ends this process's use of the device.
TEST_F(CudaBackend, ZzFaultPoisonsTheContext)
{
    lanes_error_t err;
    EXPECT_EQ(lanes_cuda_test_fault(ctx, &err), LANES_EDEVICE) << err.msg;
    EXPECT_EQ(lanes_cuda_poisoned(ctx), 1);
    lanes_expr_t *e = Compile("u + 1");
    ASSERT_NE(e, nullptr);
    Inputs in(10);
    std::vector<double> out(10);
    EXPECT_EQ(lanes_cuda_expr_eval(ctx, e, in.bind, kParamValues, 0, 10, out.data(), LANES_DTYPE_F64, &err),
              LANES_EDEVICE);
    EXPECT_NE(std::string(err.msg).find("lost"), std::string::npos) << err.msg;
    lanes_reduce_spec_t spec;
    std::memset(&spec, 0, sizeof spec);
    spec.op = LANES_REDUCE_SUM;
    spec.dtype = LANES_DTYPE_F64;
    lanes_reduce_partial_t p;
    EXPECT_EQ(lanes_cuda_reduce_partials(ctx, &spec, e, in.bind, kParamValues, nullptr, 0, 1, &p, &err), LANES_EDEVICE);
    lanes_expr_free(e);
}

} // namespace
