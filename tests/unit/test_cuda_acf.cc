// Unit tests of the ACF block engine on the device (kernels/cuda/acf.cu): lanes_cuda_acf_new/_method,
// lanes_cuda_acf_lagsums, lanes_cuda_acf_block_fn. Skipped, with the probe's reason, where there is no
// CUDA device (or the build has no CUDA).
//
// Design: one block's lag sums r[k] = sum_j buf[j-k] buf[j] from the direct kernel and from cuFFT are
// checked against a long double reference computed here, within 1e-12 of sum y^2 over the block (the
// FFT's error bound scales with it), for nlags 0 .. 3000 and blocks from 1 value to several groups,
// also through a tiny staging buffer (many pieces alternating the two streams); the same call twice
// must give the same bits. Whole ACFs (lanes_acf with lanes_cuda_acf_block_fn) must match the CPU
// path within 1e-10 (relative) for several n / nlags, including 1e6 values with nlags 2000 and a
// series whose mean is 1e6 times its standard deviation, and be bit-identical across chunkings.
// Argument errors; last, a poisoned context: the engine fails and the CPU finishes the job correctly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_api.h"
#include "acf_series.h"
#include "lanes/acf.h"

namespace {

class CudaAcf : public ::testing::Test {
protected:
    void SetUp() override
    {
        lanes_device_info_t devs[4];
        char detail[256] = "";
        int n = lanes_cuda_probe(devs, 4, detail, sizeof detail);
        if (n <= 0)
            GTEST_SKIP() << "no CUDA device (" << detail << ")";
        lanes_error_t err{};
        ctx_ = lanes_cuda_open(0, 0, &err);
        ASSERT_NE(ctx_, nullptr) << err.msg;
    }
    void TearDown() override { lanes_cuda_close(ctx_); }
    lanes_cuda_ctx_t *ctx_ = nullptr;
};


// r[k] in long double and sum of y^2 over the block's new values.
std::vector<long double> ref_lagsums(const std::vector<double> &buf, size_t L, size_t used, long double *ss)
{
    std::vector<long double> r(L + 1);
    for (size_t k = 0; k <= L; k++) {
        long double s = 0;
        for (size_t j = L; j < L + used; j++)
            s += (long double)buf[j - k] * (long double)buf[j];
        r[k] = s;
    }
    *ss = r[0];
    return r;
}

void check_lagsums(lanes_cuda_ctx_t *ctx, size_t L, size_t used, lanes_acf_method_t m, unsigned seed)
{
    const std::string what = std::string(m == LANES_ACF_DIRECT ? "direct" : "fft") + " nlags " +
                             std::to_string(L) + " used " + std::to_string(used);
    // The nlags values before the block are real values (a block in mid-series), not zeros.
    auto buf = ar1(L + used, 0.9, 0.5, 2.0, seed);
    long double ss = 0;
    auto want = ref_lagsums(buf, L, used, &ss);
    lanes_error_t err{};
    lanes_cuda_acf_t *a = lanes_cuda_acf_new_method(ctx, L, used + 17, m, &err);
    ASSERT_NE(a, nullptr) << what << ": " << err.msg;
    std::vector<double> r(L + 1, NAN), r2(L + 1, NAN);
    ASSERT_EQ(lanes_cuda_acf_lagsums(a, buf.data(), used, r.data(), &err), 0) << what << ": " << err.msg;
    for (size_t k = 0; k <= L; k++)
        ASSERT_LE(std::fabs((long double)r[k] - want[k]), 1e-12L * ss)
            << what << " lag " << k << ": got " << r[k] << " want " << (double)want[k];
    ASSERT_EQ(lanes_cuda_acf_block_fn(a, buf.data(), L, used, r2.data(), &err), 0) << what << ": " << err.msg;
    EXPECT_EQ(0, std::memcmp(r.data(), r2.data(), r.size() * sizeof(double))) << what << ": not deterministic";
    lanes_cuda_acf_free(a);
}

TEST_F(CudaAcf, LagSumsAgainstReference)
{
    struct Case { size_t L, used; };
    const Case cases[] = {
        {0, 1},       {0, 5000},    {1, 1},       {1, 4096},    {7, 4097},      {33, 100003}, {63, 4096 * 3 + 5},
        {64, 100003}, {200, 1000},  {200, 70001}, {1024, 9000}, {3000, 20000},  {3000, 1},
    };
    unsigned seed = 1;
    for (const Case &c : cases) {
        for (auto m : {LANES_ACF_DIRECT, LANES_ACF_FFT}) {
            if (m == LANES_ACF_DIRECT && c.L > LANES_CUDA_ACF_DIRECT_MAX_NLAGS)
                continue;
            check_lagsums(ctx_, c.L, c.used, m, seed++);
        }
    }
}

TEST_F(CudaAcf, LagSumsManyPiecesAndGroups)
{
    // 64 KiB staging buffers: the block is copied in 8192-value pieces alternating the two streams,
    // and 5e6 new values make more than one group for both methods (direct: 4 Mi values per group;
    // FFT with nlags 100: 128 segments of 32568 values).
    lanes_cuda_close(ctx_);
    lanes_error_t err{};
    ctx_ = lanes_cuda_open(0, 64 << 10, &err);
    ASSERT_NE(ctx_, nullptr) << err.msg;
    check_lagsums(ctx_, 9, 5000000, LANES_ACF_DIRECT, 77);
    check_lagsums(ctx_, 100, 5000000, LANES_ACF_FFT, 78);
}

TEST_F(CudaAcf, Errors)
{
    lanes_error_t err{};
    EXPECT_EQ(lanes_cuda_acf_new(ctx_, 10, 0, &err), nullptr);
    EXPECT_EQ(err.code, LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_acf_new(nullptr, 10, 100, &err), nullptr);
    EXPECT_EQ(err.code, LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_acf_new_method(ctx_, LANES_CUDA_ACF_DIRECT_MAX_NLAGS + 1, 100, LANES_ACF_DIRECT, &err),
              nullptr);
    EXPECT_EQ(err.code, LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_acf_new_method(ctx_, 10, 100, (lanes_acf_method_t)9, &err), nullptr);
    EXPECT_EQ(err.code, LANES_EINVAL);

    lanes_cuda_acf_t *a = lanes_cuda_acf_new(ctx_, 10, 100, &err);
    ASSERT_NE(a, nullptr) << err.msg;
    std::vector<double> buf(10 + 101, 1.0), r(11, NAN);
    EXPECT_EQ(lanes_cuda_acf_lagsums(a, buf.data(), 101, r.data(), &err), LANES_EINVAL);  // > max_used
    EXPECT_EQ(lanes_cuda_acf_lagsums(a, nullptr, 10, r.data(), &err), LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_acf_lagsums(a, buf.data(), 10, nullptr, &err), LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_acf_lagsums(nullptr, buf.data(), 10, r.data(), &err), LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_acf_block_fn(a, buf.data(), 11, 10, r.data(), &err), LANES_EINVAL);  // nlags
    EXPECT_EQ(lanes_cuda_acf_block_fn(nullptr, buf.data(), 10, 10, r.data(), &err), LANES_EINVAL);
    ASSERT_EQ(lanes_cuda_acf_lagsums(a, buf.data(), 0, r.data(), &err), 0);
    for (double v : r)
        EXPECT_EQ(v, 0.0);
    ASSERT_EQ(lanes_cuda_acf_lagsums(a, buf.data(), 100, r.data(), &err), 0) << err.msg;
    for (size_t k = 0; k <= 10; k++)
        EXPECT_EQ(r[k], 100.0) << k;  // all ones: exact
    lanes_cuda_acf_free(a);
    lanes_cuda_acf_free(nullptr);
    EXPECT_FALSE(lanes_cuda_poisoned(ctx_));
}

struct Acf {
    std::vector<double> acf;
    int failed = 0;
    std::string msg;
};

// A whole ACF job; engine: NULL for the CPU path. 'chunk' values per feed.
Acf acf_job(const std::vector<double> &x, size_t nlags, lanes_cuda_acf_t *engine, size_t block, size_t chunk)
{
    Acf out;
    lanes_acf_spec_t spec{};
    spec.nlags = (int64_t)nlags;
    spec.threads = 1;
    lanes_error_t err{};
    lanes_acf_t *a = lanes_acf_new(&spec, &err);
    EXPECT_NE(a, nullptr) << err.msg;
    if (!a)
        return out;
    if (engine) {
        EXPECT_EQ(lanes_acf_set_block_engine(a, block, lanes_cuda_acf_block_fn, engine), 0);
    }
    for (size_t off = 0; off < x.size(); off += chunk)
        EXPECT_EQ(lanes_acf_feed(a, x.data() + off, std::min(chunk, x.size() - off), LANES_DTYPE_F64), 0);
    lanes_acf_result_t res{};
    EXPECT_EQ(lanes_acf_finish(a, &res, &err), 0) << err.msg;
    out.acf.assign(res.acf, res.acf + res.nlags + 1);
    char msg[512];
    out.failed = lanes_acf_engine_failed(a, msg, sizeof msg);
    out.msg = msg;
    lanes_acf_free(a);
    return out;
}

void expect_close(const std::vector<double> &got, const std::vector<double> &want, double tol, const std::string &what)
{
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t k = 0; k < got.size(); k++)
        EXPECT_LE(std::fabs(got[k] - want[k]), tol * std::max(1.0, std::fabs(want[k])))
            << what << " lag " << k << ": got " << got[k] << " want " << want[k];
}

TEST_F(CudaAcf, WholeAcfMatchesCpu)
{
    struct Case { size_t n, nlags, block; double mean_over_sd; };
    const Case cases[] = {
        {1000000, 2000, 1 << 18, 0},  {200003, 10, 50000, 0},   {100000, 64, 1 << 20, 0},
        {300000, 5000, 100000, 0},    {100000, 300, 30000, 1e6}, {5000, 4999, 1000, 3},
    };
    unsigned seed = 300;
    for (const Case &c : cases) {
        auto x = ar1(c.n, 0.8, 0.0, 1.0, seed++);
        if (c.mean_over_sd > 0) {
            double m = 0, ss = 0;
            for (double v : x) m += v;
            m /= (double)x.size();
            for (double v : x) ss += (v - m) * (v - m);
            const double sd = std::sqrt(ss / (double)x.size());
            for (double &v : x) v = (v - m) / sd + c.mean_over_sd;  // std 1, mean 1e6
        }
        const std::string what = "n " + std::to_string(c.n) + " nlags " + std::to_string(c.nlags);
        Acf cpu = acf_job(x, c.nlags, nullptr, 0, 65536);
        lanes_error_t err{};
        lanes_cuda_acf_t *e = lanes_cuda_acf_new(ctx_, c.nlags, c.block, &err);
        ASSERT_NE(e, nullptr) << what << ": " << err.msg;
        Acf gpu = acf_job(x, c.nlags, e, c.block, 65536);
        EXPECT_EQ(gpu.failed, 0) << what << ": " << gpu.msg;
        expect_close(gpu.acf, cpu.acf, 1e-10, what);
        Acf gpu2 = acf_job(x, c.nlags, e, c.block, 7777);  // the same engine object, reused
        EXPECT_EQ(gpu2.failed, 0) << what << ": " << gpu2.msg;
        EXPECT_EQ(0, std::memcmp(gpu2.acf.data(), gpu.acf.data(), gpu.acf.size() * sizeof(double)))
            << what << ": not bit-identical across chunkings";
        lanes_cuda_acf_free(e);
    }
}

// Last in the file: a sticky error poisons the process's device context.
TEST_F(CudaAcf, PoisonedContextFallsBackToCpu)
{
    auto x = ar1(50000, 0.5, 1.0, 1.0, 999);
    Acf cpu = acf_job(x, 100, nullptr, 0, 4096);
    lanes_error_t err{};
    lanes_cuda_acf_t *e = lanes_cuda_acf_new(ctx_, 100, 20000, &err);
    ASSERT_NE(e, nullptr) << err.msg;
    EXPECT_EQ(lanes_cuda_test_fault(ctx_, &err), LANES_EDEVICE);
    ASSERT_TRUE(lanes_cuda_poisoned(ctx_));
    Acf gpu = acf_job(x, 100, e, 20000, 4096);
    EXPECT_EQ(gpu.failed, 1);
    EXPECT_NE(gpu.msg.find("lost"), std::string::npos) << gpu.msg;
    expect_close(gpu.acf, cpu.acf, 1e-12, "fallback");
    lanes_cuda_acf_free(e);
}

}  // namespace
