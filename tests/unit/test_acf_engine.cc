// Unit tests of the ACF block engine hook (kernels/cpu/acf_cpu.c): lanes_acf_set_block_engine and
// lanes_acf_engine_failed. CPU only, always run.
//
// Design: the engines are written here. The reference engine computes a block's lag sums
// r[k] = sum_j buf[j-k] * buf[j] naively in long double and records what it was given (calls, the
// sizes of the blocks, whether the nlags values before the series' start were zeros); a failing
// engine does the same but fails on its 3rd call. Checked against the CPU path (no engine) and a
// two-pass long double reference of statsmodels' acf: several nlags (incl. 0 and nlags > block),
// series lengths, engine block sizes (smaller and larger than the CPU method's own block), both CPU
// methods (they are the fallback), chunkings (results with one engine are bit-identical for every
// chunking), the fallback after a failure (correct result, engine_failed = 1 with the engine's
// message, no engine call after the failure), and the argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "acf_series.h"
#include "lanes/acf.h"

namespace {

struct Engine {
    int calls = 0;
    int fail_on = 0;              // 1-based call that fails; 0: never
    std::vector<size_t> used;     // 'used' of every call
    bool zeros_before_start = true;
    bool nlags_ok = true;
    size_t nlags = 0;
};

int naive_engine(void *ctx, const double *buf, size_t nlags, size_t used, double *r, lanes_error_t *err)
{
    Engine *e = static_cast<Engine *>(ctx);
    e->calls++;
    e->used.push_back(used);
    if (nlags != e->nlags)
        e->nlags_ok = false;
    if (e->calls == 1)
        for (size_t i = 0; i < nlags; i++)
            if (buf[i] != 0.0)
                e->zeros_before_start = false;
    if (e->calls == e->fail_on) {
        r[0] = NAN;  // garbage the caller must not use
        return lanes_error_set(err, LANES_EDEVICE, "test engine: failing call %d on purpose", e->calls);
    }
    for (size_t k = 0; k <= nlags; k++) {
        long double s = 0;
        for (size_t j = nlags; j < nlags + used; j++)
            s += (long double)buf[j - k] * (long double)buf[j];
        r[k] = (double)s;
    }
    return 0;
}


// Two-pass long double reference of statsmodels' acf (adjusted = false).
std::vector<long double> ref_acf(const std::vector<double> &x, size_t nlags)
{
    const size_t n = x.size();
    long double m = 0;
    for (double v : x)
        m += v;
    m /= (long double)n;
    std::vector<long double> acov(nlags + 1), acf(nlags + 1);
    for (size_t k = 0; k <= nlags; k++) {
        long double s = 0;
        for (size_t t = 0; t + k < n; t++)
            s += ((long double)x[t] - m) * ((long double)x[t + k] - m);
        acov[k] = s / (long double)n;
    }
    for (size_t k = 0; k <= nlags; k++)
        acf[k] = acov[k] / acov[0];
    return acf;
}

struct Job {
    int rc = 0;
    int failed = 0;
    std::string msg;
    std::vector<double> acf;
};

// One job: engine (if e) with the given block, x fed in chunks of the given sizes (cycled).
Job run(const std::vector<double> &x, size_t nlags, lanes_acf_method_t method, Engine *e, size_t block,
        const std::vector<size_t> &chunks)
{
    Job out;
    lanes_acf_spec_t spec{};
    spec.nlags = (int64_t)nlags;
    spec.method = method;
    spec.threads = 1;
    lanes_error_t err{};
    lanes_acf_t *a = lanes_acf_new(&spec, &err);
    EXPECT_NE(a, nullptr) << err.msg;
    if (!a) {
        out.rc = err.code;
        return out;
    }
    if (e) {
        EXPECT_EQ(lanes_acf_set_block_engine(a, block, naive_engine, e), 0);
    }
    size_t off = 0, i = 0;
    while (off < x.size()) {
        size_t c = chunks.empty() ? x.size() - off : std::min(chunks[i++ % chunks.size()], x.size() - off);
        EXPECT_EQ(lanes_acf_feed(a, x.data() + off, c, LANES_DTYPE_F64), 0);
        off += c;
    }
    lanes_acf_result_t res{};
    out.rc = lanes_acf_finish(a, &res, &err);
    EXPECT_EQ(out.rc, 0) << err.msg;
    if (out.rc == 0)
        out.acf.assign(res.acf, res.acf + res.nlags + 1);
    char msg[512];
    out.failed = lanes_acf_engine_failed(a, msg, sizeof msg);
    out.msg = msg;
    lanes_acf_free(a);
    return out;
}

void expect_close(const std::vector<double> &got, const std::vector<double> &want, double tol,
                  const std::string &what)
{
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t k = 0; k < got.size(); k++)
        EXPECT_LE(std::fabs(got[k] - want[k]), tol * std::max(1.0, std::fabs(want[k])))
            << what << " lag " << k << ": got " << got[k] << " want " << want[k];
}

std::vector<double> to_double(const std::vector<long double> &v)
{
    return std::vector<double>(v.begin(), v.end());
}

TEST(AcfEngine, NaiveEngineMatchesCpuAndReference)
{
    struct Case { size_t n, nlags, block; };
    const Case cases[] = {
        {2, 1, 1},     {10, 0, 3},      {10, 9, 4},       {1000, 5, 7},      {1000, 30, 1000},
        {5000, 40, 3000}, {5000, 100, 64}, {20011, 150, 4096}, {20011, 7, 20011}, {20011, 300, 1500},
    };
    std::mt19937 rng(5);
    std::vector<size_t> rnd(40);
    for (size_t &s : rnd)
        s = rng() % 900;  // empty chunks included
    unsigned seed = 100;
    for (const Case &c : cases) {
        auto x = ar1(c.n, 0.8, 2.5, 1.5, seed++);
        const auto want = to_double(ref_acf(x, c.nlags));
        const std::string what = "n " + std::to_string(c.n) + " nlags " + std::to_string(c.nlags) +
                                 " block " + std::to_string(c.block);
        for (auto method : {LANES_ACF_DIRECT, LANES_ACF_FFT}) {
            Job cpu = run(x, c.nlags, method, nullptr, 0, {});
            ASSERT_EQ(cpu.rc, 0) << what;
            Engine e1;
            e1.nlags = c.nlags;
            Job one = run(x, c.nlags, method, &e1, c.block, {});
            ASSERT_EQ(one.rc, 0) << what;
            EXPECT_EQ(one.failed, 0);
            EXPECT_EQ(one.msg, "");
            EXPECT_TRUE(e1.zeros_before_start) << what;
            EXPECT_TRUE(e1.nlags_ok) << what;
            // Blocks cut by absolute index: full blocks, then the short rest at finish.
            const size_t nfull = c.n / c.block, rest = c.n % c.block;
            ASSERT_EQ(e1.used.size(), nfull + (rest ? 1 : 0)) << what;
            for (size_t i = 0; i < nfull; i++)
                EXPECT_EQ(e1.used[i], c.block) << what;
            if (rest) {
                EXPECT_EQ(e1.used.back(), rest) << what;
            }
            expect_close(one.acf, cpu.acf, 1e-12, what + " vs cpu");
            expect_close(one.acf, want, 1e-12, what + " vs reference");
            for (const auto &ch : std::vector<std::vector<size_t>>{{1}, rnd, {c.block}, {c.block + 1, 3}}) {
                Engine e2;
                e2.nlags = c.nlags;
                Job r = run(x, c.nlags, method, &e2, c.block, ch);
                ASSERT_EQ(r.rc, 0) << what;
                EXPECT_EQ(e2.used, e1.used) << what;
                EXPECT_EQ(0, std::memcmp(r.acf.data(), one.acf.data(), one.acf.size() * sizeof(double)))
                    << what << ": not bit-identical across chunkings";
            }
        }
    }
}

TEST(AcfEngine, LargeMeanThroughEngine)
{
    // mean = 1e6 * std: the engine sees shifted values, so nothing cancels.
    auto x = ar1(30000, 0.9, 0.0, 1.0, 7);
    for (double &v : x)
        v += 1e6;
    const auto want = to_double(ref_acf(x, 200));
    Engine e;
    e.nlags = 200;
    Job r = run(x, 200, LANES_ACF_AUTO, &e, 8000, {4097});
    ASSERT_EQ(r.rc, 0);
    expect_close(r.acf, want, 1e-12, "large mean");
}

TEST(AcfEngine, FailureFallsBackToCpu)
{
    struct Case { size_t n, nlags, block; lanes_acf_method_t method; };
    // Blocks larger than the CPU method's own block (direct: 1024; FFT: 4096 - 2*nlags here), so the
    // fallback walks the engine's block in sub-blocks; and a block smaller than nlags.
    const Case cases[] = {
        {50000, 20, 5000, LANES_ACF_DIRECT}, {50000, 300, 9000, LANES_ACF_FFT},
        {50000, 300, 9000, LANES_ACF_DIRECT}, {3000, 50, 17, LANES_ACF_AUTO},
    };
    unsigned seed = 200;
    for (const Case &c : cases) {
        auto x = ar1(c.n, 0.6, -3.0, 2.0, seed++);
        const auto want = to_double(ref_acf(x, c.nlags));
        const std::string what = "n " + std::to_string(c.n) + " nlags " + std::to_string(c.nlags) +
                                 " block " + std::to_string(c.block);
        Job cpu = run(x, c.nlags, c.method, nullptr, 0, {});
        ASSERT_EQ(cpu.rc, 0);
        Engine e;
        e.nlags = c.nlags;
        e.fail_on = 3;
        Job r = run(x, c.nlags, c.method, &e, c.block, {777});
        ASSERT_EQ(r.rc, 0) << what;
        EXPECT_EQ(r.failed, 1) << what;
        EXPECT_EQ(r.msg, "test engine: failing call 3 on purpose") << what;
        EXPECT_EQ(e.calls, 3) << what << ": the engine was called after it failed";
        expect_close(r.acf, cpu.acf, 1e-12, what + " vs cpu");
        expect_close(r.acf, want, 1e-12, what + " vs reference");
        // The fallback cuts blocks by absolute index too: bit-identical for another chunking.
        Engine e2;
        e2.nlags = c.nlags;
        e2.fail_on = 3;
        Job r2 = run(x, c.nlags, c.method, &e2, c.block, {1, 5000});
        ASSERT_EQ(r2.rc, 0);
        EXPECT_EQ(0, std::memcmp(r2.acf.data(), r.acf.data(), r.acf.size() * sizeof(double))) << what;
    }
    // A message truncated to the caller's buffer.
    lanes_acf_spec_t spec{};
    spec.nlags = 2;
    lanes_error_t err{};
    lanes_acf_t *a = lanes_acf_new(&spec, &err);
    ASSERT_NE(a, nullptr);
    Engine e;
    e.nlags = 2;
    e.fail_on = 1;
    ASSERT_EQ(lanes_acf_set_block_engine(a, 4, naive_engine, &e), 0);
    EXPECT_EQ(lanes_acf_engine_failed(a, nullptr, 0), 0);
    const double v[6] = {1, 4, 2, 8, 5, 7};
    ASSERT_EQ(lanes_acf_feed(a, v, 6, LANES_DTYPE_F64), 0);
    char small[12];
    EXPECT_EQ(lanes_acf_engine_failed(a, small, sizeof small), 1);
    EXPECT_STREQ(small, "test engine");
    lanes_acf_free(a);
}

TEST(AcfEngine, Errors)
{
    Engine e;
    lanes_acf_spec_t spec{};
    spec.nlags = 3;
    lanes_error_t err{};
    lanes_acf_t *a = lanes_acf_new(&spec, &err);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(lanes_acf_set_block_engine(nullptr, 10, naive_engine, &e), LANES_EINVAL);
    EXPECT_EQ(lanes_acf_set_block_engine(a, 0, naive_engine, &e), LANES_EINVAL);
    EXPECT_EQ(lanes_acf_set_block_engine(a, 10, nullptr, &e), LANES_EINVAL);
    EXPECT_EQ(lanes_acf_set_block_engine(a, SIZE_MAX, naive_engine, &e), LANES_EINVAL);
    EXPECT_EQ(lanes_acf_engine_failed(nullptr, nullptr, 0), 0);
    const double v[2] = {1, 2};
    ASSERT_EQ(lanes_acf_feed(a, v, 2, LANES_DTYPE_F64), 0);
    EXPECT_EQ(lanes_acf_set_block_engine(a, 10, naive_engine, &e), LANES_EINVAL);  // after a feed
    lanes_acf_free(a);

    // Even an empty feed counts as the first feed.
    a = lanes_acf_new(&spec, &err);
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(lanes_acf_feed(a, v, 0, LANES_DTYPE_F64), 0);
    EXPECT_EQ(lanes_acf_set_block_engine(a, 10, naive_engine, &e), LANES_EINVAL);
    lanes_acf_free(a);
    EXPECT_EQ(e.calls, 0);
}

}  // namespace
