// Every op on every backend against the CPU result (ggml's test-backend-ops): lanes/backend.h's map,
// reduce partials, histogram and ACF lag sums, on device 0 of each backend the registry lists.
//
// Design: one value-parameterised suite, instantiated once per compiled backend
// (lanes_registry_backend_names). A backend that is compiled but has no device here skips every test
// with the probe's reason (GTEST_SKIP), so on a machine without a GPU the cpu backend runs and the cuda
// backend skips; on a GPU machine cuda is compared with the CPU. The reference is the CPU kernels' own
// result (lanes_expr_eval, lanes_reduce_partials_cpu, the CPU reducer, the defining ACF sum in long
// double), which the cpu backend must give bit for bit. Checks, with the tolerances of the CUDA tests
// they come from (tests/unit/test_cuda_backend.cc, test_cuda_acf.cc):
//  - supports(): every op and spec below is supported; count, histograms of the data's range, float32
//    expression reduces and integer map outputs are not; the registry answers as the instance;
//  - map: arithmetic-only expressions over every array dtype, RANGE and UNIFORM inputs equal the CPU bit
//    for bit (float64 and float32 output); transcendental functions and NORMAL inputs within 4 ulp on
//    cuda (libdevice), exact on the cpu;
//  - reduce partials for every op that takes them and every dtype (NaNs, ties, signed zeros, int wrap)
//    equal lanes_reduce_partials_cpu field by field, and a reducer fed them finishes bit-identical to
//    the CPU reducer; fused expression partials against lanes_expr_eval + lanes_reduce_partials_cpu;
//  - histogram counts equal the CPU reducer's for every dtype and 1 .. 20000 bins, and for an expression
//    (NORMAL inputs: within 4 counts on cuda, exact on the cpu);
//  - ACF lag sums for nlags 0 .. 3000 and blocks of 1 .. 100003 values within 1e-12 of sum y^2 of the
//    long double sum, deterministic (the same call twice gives the same bits).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "acf_series.h"
#include "lanes/backend.h"
#include "lanes/expr.h"
#include "lanes/kernels.h"
#include "ops_ref.h"

namespace {

using namespace ops_ref;

std::vector<std::string> BackendNames()
{
    std::vector<std::string> names;
    for (const char *const *n = lanes_registry_backend_names(); *n; n++)
        names.push_back(*n);
    return names;
}

class BackendOps : public ::testing::TestWithParam<std::string> {
protected:
    lanes_backend_t *b = nullptr;

    void SetUp() override
    {
        const char *name = GetParam().c_str();
        lanes_device_info_t devs[16];
        char detail[256] = "";
        int count = lanes_registry_backend_probe(name, devs, 16, detail, sizeof detail);
        if (count <= 0)
            GTEST_SKIP() << "backend '" << name << "' is compiled but has no device: " << detail;
        lanes_error_t err{};
        b = lanes_registry_backend_open(name, 0, (size_t)1 << 20, &err); // small staging: many pieces
        ASSERT_NE(b, nullptr) << name << ": " << err.msg;
    }
    void TearDown() override { lanes_backend_close(b); }

    bool IsCpu() const { return GetParam() == "cpu"; }

    bool Supports(lanes_backend_op_t op, const lanes_backend_spec_t &spec) const
    {
        int answer = lanes_backend_supports(b, op, &spec);
        EXPECT_EQ(answer, lanes_registry_backend_supports(GetParam().c_str(), op, &spec)) << "op " << op;
        return answer != 0;
    }
};

TEST_P(BackendOps, NameDeviceAndWhatItSupports)
{
    EXPECT_EQ(GetParam(), lanes_backend_name(b));
    lanes_device_info_t info;
    lanes_backend_describe(b, &info);
    EXPECT_EQ(info.index, 0);
    EXPECT_NE(info.name[0], '\0');
    EXPECT_EQ(lanes_backend_poisoned(b), 0);

    lanes_expr_t *e = Compile("a * p + u");
    ASSERT_NE(e, nullptr);
    lanes_reduce_spec_t r{};
    r.dtype = LANES_DTYPE_F64;
    lanes_backend_spec_t s{};
    for (lanes_dtype_t out : {LANES_DTYPE_F64, LANES_DTYPE_F32}) {
        s = {e, out, nullptr, 0};
        EXPECT_TRUE(Supports(LANES_BACKEND_OP_MAP, s));
    }
    s = {e, LANES_DTYPE_I64, nullptr, 0};
    EXPECT_FALSE(Supports(LANES_BACKEND_OP_MAP, s)) << "integer map output";
    s = {nullptr, LANES_DTYPE_F64, nullptr, 0};
    EXPECT_FALSE(Supports(LANES_BACKEND_OP_MAP, s)) << "a map without an expression";
    for (lanes_dtype_t dt : kDtypes) {
        for (lanes_reduce_op_t op : kPartialOps) {
            r.op = op;
            r.dtype = dt;
            s = {nullptr, LANES_DTYPE_INVALID, &r, 0};
            EXPECT_TRUE(Supports(LANES_BACKEND_OP_REDUCE_PARTIALS, s)) << lanes_reduce_op_name(op);
            s.expr = e;
            EXPECT_EQ(Supports(LANES_BACKEND_OP_REDUCE_PARTIALS, s), dt == LANES_DTYPE_F64)
                << "an expression's elements are float64";
        }
        r.op = LANES_REDUCE_HISTOGRAM;
        r.bins = 10;
        r.has_range = 1;
        r.lo = 0;
        r.hi = 1;
        r.range_from_data = 0;
        s = {nullptr, LANES_DTYPE_INVALID, &r, 0};
        EXPECT_TRUE(Supports(LANES_BACKEND_OP_HISTOGRAM, s));
        EXPECT_FALSE(Supports(LANES_BACKEND_OP_REDUCE_PARTIALS, s)) << "a histogram takes no partials";
        r.range_from_data = 1;
        EXPECT_FALSE(Supports(LANES_BACKEND_OP_HISTOGRAM, s)) << "the data's range is the CPU's";
        r = lanes_reduce_spec_t{};
        r.op = LANES_REDUCE_COUNT;
        r.dtype = dt;
        EXPECT_FALSE(Supports(LANES_BACKEND_OP_REDUCE_PARTIALS, s)) << "count";
    }
    for (size_t nlags : {0, 1, 64, 1024, 3000, 1 << 20}) {
        s = {nullptr, LANES_DTYPE_INVALID, nullptr, nlags};
        EXPECT_TRUE(Supports(LANES_BACKEND_OP_ACF_LAGSUMS, s)) << "nlags " << nlags;
    }
    EXPECT_FALSE(lanes_backend_supports(b, LANES_BACKEND_OP_MAP, nullptr));
    lanes_expr_free(e);
}

void CompareMap(lanes_backend_t *b, const char *src, int64_t max_ulp)
{
    const size_t n = 300000 + 7;
    const uint64_t index0 = 12345;
    Inputs in(n);
    lanes_expr_t *e = Compile(src);
    ASSERT_NE(e, nullptr);
    for (lanes_dtype_t out : {LANES_DTYPE_F64, LANES_DTYPE_F32}) {
        const size_t es = lanes_dtype_size(out);
        std::vector<unsigned char> cpu(n * es), dev(n * es);
        ASSERT_EQ(lanes_expr_eval(e, in.bind, kParamValues, index0, n, cpu.data(), out, 1), 0);
        lanes_error_t err;
        ASSERT_EQ(lanes_backend_map(b, e, in.bind, kParamValues, index0, n, dev.data(), out, &err), 0)
            << src << ": " << err.msg;
        int64_t worst = 0;
        size_t where = 0;
        for (size_t k = 0; k < n; k++) {
            double x, y;
            if (out == LANES_DTYPE_F64) {
                std::memcpy(&x, cpu.data() + 8 * k, 8);
                std::memcpy(&y, dev.data() + 8 * k, 8);
            } else {
                float fx, fy;
                std::memcpy(&fx, cpu.data() + 4 * k, 4);
                std::memcpy(&fy, dev.data() + 4 * k, 4);
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

TEST_P(BackendOps, MapArithmeticIsBitIdentical)
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
        CompareMap(b, s, 0);
}

TEST_P(BackendOps, MapTranscendentalWithinFourUlp)
{
    const char *exprs[] = {
        "sin(a) + cos(b)", "exp(b / 50)", "log(abs(a) + 1)", "tanh(a / 30) * atan2(a, b)",
        "g", "hypot(a, b)", "cbrt(c / 1e12)", "a ** 3", "pow(abs(b), 0.3)",
    };
    for (const char *s : exprs)
        CompareMap(b, s, IsCpu() ? 0 : 4); // CUDA's libdevice agrees to a few ulp; the cpu is the reference
}

TEST_P(BackendOps, ReducePartialsEveryOpAndDtype)
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
            std::vector<lanes_reduce_partial_t> cpu(nb), dev(nb);
            ASSERT_EQ(lanes_reduce_partials_cpu(&spec, blocks, kBlock, nb, cpu.data()), 0);
            lanes_error_t err;
            ASSERT_EQ(lanes_backend_reduce_partials(b, &spec, nullptr, nullptr, nullptr, blocks, kBlock, nb, dev.data(),
                                                    &err),
                      0)
                << err.msg;
            for (size_t k = 0; k < nb; k++)
                ExpectSamePartials(cpu[k], dev[k], k);
            // a reducer fed a head, the backend's partials and a tail equals the CPU reducer bit for bit
            lanes_reducer_t *mixed = lanes_reducer_new(&spec, &err);
            ASSERT_NE(mixed, nullptr);
            ASSERT_EQ(lanes_reducer_feed(mixed, data.data(), kBlock, 1), 0);
            ASSERT_EQ(lanes_reducer_feed_partials(mixed, dev.data(), nb), 0);
            ASSERT_EQ(lanes_reducer_feed(mixed, blocks + nb * kBlock * es, n - kBlock - nb * kBlock, 1), 0);
            ExpectSameAsPlain(spec, data, n, mixed);
        }
    }
}

TEST_P(BackendOps, FusedExpressionReduce)
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
            std::vector<lanes_reduce_partial_t> cpu(nb), dev(nb);
            ASSERT_EQ(lanes_reduce_partials_cpu(&spec, values.data(), index0, nb, cpu.data()), 0);
            lanes_error_t err;
            ASSERT_EQ(lanes_backend_reduce_partials(b, &spec, e, in.bind, kParamValues, nullptr, index0, nb, dev.data(),
                                                    &err),
                      0)
                << err.msg;
            for (size_t k = 0; k < nb; k++)
                ExpectSamePartials(cpu[k], dev[k], k);
        }
        lanes_expr_free(e);
    }
}

TEST_P(BackendOps, HistogramCountsEqualTheCpu)
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
            ASSERT_EQ(lanes_backend_histogram(b, &spec, &hp, nullptr, nullptr, nullptr, data.data(), 0, n, counts.data(),
                                              &err),
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
    ASSERT_EQ(lanes_backend_histogram(b, &spec, &hp, e, in.bind, kParamValues, nullptr, 999, n, counts.data(), &err), 0)
        << err.msg;
    ASSERT_EQ(lanes_expr_reduce(e, in.bind, kParamValues, 999, n, r, 1), 0);
    lanes_reduce_result_t res;
    ASSERT_EQ(lanes_reducer_finish(r, &res, &err), 0);
    // normal inputs may differ by an ulp on cuda, which can move a value across an edge: allow a handful
    int64_t diff = 0;
    for (uint32_t k = 0; k < 50; k++)
        diff += std::llabs(counts[k] - res.counts[k]);
    EXPECT_LE(diff, IsCpu() ? 0 : 4);
    lanes_reducer_free(r);
    lanes_expr_free(e);
}

TEST_P(BackendOps, AcfLagSumsEverySize)
{
    struct Case { size_t L, used; };
    const Case cases[] = {
        {0, 1},       {0, 5000},    {1, 1},       {1, 4096},    {7, 4097},      {33, 100003}, {63, 4096 * 3 + 5},
        {64, 100003}, {200, 1000},  {200, 70001}, {1024, 9000}, {3000, 20000},  {3000, 1},
    };
    unsigned seed = 1;
    for (const Case &c : cases) {
        const std::string what = "nlags " + std::to_string(c.L) + " used " + std::to_string(c.used);
        // The nlags values before the block are real values (a block in mid-series), not zeros.
        auto buf = ar1(c.L + c.used, 0.9, 0.5, 2.0, seed++);
        std::vector<long double> want(c.L + 1);
        for (size_t k = 0; k <= c.L; k++) {
            long double s = 0;
            for (size_t j = c.L; j < c.L + c.used; j++)
                s += (long double)buf[j - k] * (long double)buf[j];
            want[k] = s;
        }
        const long double ss = want[0];
        std::vector<double> r(c.L + 1, NAN), r2(c.L + 1, NAN);
        lanes_error_t err{};
        ASSERT_EQ(lanes_backend_acf_lagsums(b, buf.data(), c.L, c.used, c.used + 17, r.data(), &err), 0)
            << what << ": " << err.msg;
        for (size_t k = 0; k <= c.L; k++)
            ASSERT_LE(std::fabs((long double)r[k] - want[k]), 1e-12L * ss)
                << what << " lag " << k << ": got " << r[k] << " want " << (double)want[k];
        ASSERT_EQ(lanes_backend_acf_lagsums(b, buf.data(), c.L, c.used, c.used + 17, r2.data(), &err), 0)
            << what << ": " << err.msg;
        EXPECT_EQ(0, std::memcmp(r.data(), r2.data(), r.size() * sizeof(double))) << what << ": not deterministic";
    }
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, BackendOps, ::testing::ValuesIn(BackendNames()),
                         [](const ::testing::TestParamInfo<std::string> &p) { return p.param; });

TEST(BackendRegistry, ListsTheCpuFirstAndRefusesWhatItLacks)
{
    const char *const *names = lanes_registry_backend_names();
    ASSERT_NE(names[0], nullptr);
    EXPECT_STREQ(names[0], "cpu");
    lanes_error_t err{};
    EXPECT_EQ(lanes_registry_backend_open("no-such-backend", 0, 0, &err), nullptr);
    EXPECT_EQ(err.code, LANES_ENODEV);
    EXPECT_EQ(lanes_registry_backend_open("cpu", 1, 0, &err), nullptr); // the host is device 0 only
    EXPECT_EQ(err.code, LANES_ENODEV);
    char detail[128];
    lanes_device_info_t dev;
    EXPECT_EQ(lanes_registry_backend_probe("no-such-backend", &dev, 1, detail, sizeof detail), LANES_ENODEV);
    lanes_backend_spec_t s{};
    EXPECT_EQ(lanes_registry_backend_supports("no-such-backend", LANES_BACKEND_OP_ACF_LAGSUMS, &s), 0);
    // the cpu backend runs no deliberate fault and is never poisoned
    lanes_backend_t *b = lanes_registry_backend_open("cpu", 0, 0, &err);
    ASSERT_NE(b, nullptr) << err.msg;
    EXPECT_EQ(lanes_backend_test_fault(b, &err), LANES_ENOTSUP);
    EXPECT_EQ(lanes_backend_poisoned(b), 0);
    lanes_backend_close(b);
    lanes_backend_close(nullptr);
}

} // namespace
