// Unit tests of the streaming ACF (kernels/cpu/acf_cpu.c, acf_fft.c): lanes_acf_new/feed/finish.
//
// Design: results are checked against an independent reference written here: a two-pass long double
// computation of statsmodels' formulas (mean first, then the centred lagged products), on the values
// converted to double as the kernel sees them. Checked: random series of n = 2, 3, 10, 1000, 100003
// with nlags up to n - 1 (the reference is O(n * nlags), so nlags is kept moderate at n = 100003),
// adjusted both ways, both methods; a series whose mean is 1e6 times its standard deviation;
// every dtype; chunkings (one chunk, 1-element chunks, random sizes with empty chunks) and thread
// counts, which must give bit-identical results (blocks are cut by absolute index); direct against FFT
// within 1e-10; Bartlett intervals and Ljung-Box statistics against hand-computed values for
// x = 1..5 (p-values from closed forms of chi2.sf, not from GSL); NaN propagation; the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "acf_series.h"
#include "lanes/acf.h"

namespace {

struct Result {
    int rc = 0;
    std::vector<double> acf, confint, q, p;
};

// Values of a typed array as bytes.
struct Data {
    lanes_dtype_t dtype = LANES_DTYPE_F64;
    size_t n = 0;
    std::vector<unsigned char> bytes;
    double at(size_t i) const
    {
        const unsigned char *b = bytes.data() + i * lanes_dtype_size(dtype);
        switch (dtype) {
        case LANES_DTYPE_F64: { double v; std::memcpy(&v, b, 8); return v; }
        case LANES_DTYPE_F32: { float v; std::memcpy(&v, b, 4); return v; }
        case LANES_DTYPE_I64: { int64_t v; std::memcpy(&v, b, 8); return (double)v; }
        default: { int32_t v; std::memcpy(&v, b, 4); return v; }
        }
    }
    std::vector<double> values() const
    {
        std::vector<double> v(n);
        for (size_t i = 0; i < n; i++)
            v[i] = at(i);
        return v;
    }
};

Data make(const std::vector<double> &x, lanes_dtype_t dt)
{
    Data d;
    d.dtype = dt;
    d.n = x.size();
    size_t es = lanes_dtype_size(dt);
    d.bytes.resize(x.size() * es + 1);  // +1: feed from an odd address below
    d.bytes.erase(d.bytes.begin());
    for (size_t i = 0; i < x.size(); i++) {
        unsigned char *b = d.bytes.data() + i * es;
        if (dt == LANES_DTYPE_F64) { double v = x[i]; std::memcpy(b, &v, 8); }
        if (dt == LANES_DTYPE_F32) { float v = (float)x[i]; std::memcpy(b, &v, 4); }
        if (dt == LANES_DTYPE_I64) { int64_t v = (int64_t)std::llround(x[i]); std::memcpy(b, &v, 8); }
        if (dt == LANES_DTYPE_I32) { int32_t v = (int32_t)std::lround(x[i]); std::memcpy(b, &v, 4); }
    }
    return d;
}


// Two-pass long double reference of statsmodels' acf.
std::vector<long double> ref_acf(const std::vector<double> &x, size_t nlags, bool adjusted)
{
    const size_t n = x.size();
    long double m = 0;
    for (double v : x)
        m += v;
    m /= (long double)n;
    std::vector<long double> d(n), acov(nlags + 1), acf(nlags + 1);
    for (size_t i = 0; i < n; i++)
        d[i] = (long double)x[i] - m;
    for (size_t k = 0; k <= nlags; k++) {
        long double s = 0;
        for (size_t t = 0; t + k < n; t++)
            s += d[t] * d[t + k];
        acov[k] = s / (long double)(adjusted ? n - k : n);
    }
    for (size_t k = 0; k <= nlags; k++)
        acf[k] = acov[k] / acov[0];
    return acf;
}

lanes_acf_spec_t spec_of(int64_t nlags, bool adjusted, lanes_acf_method_t method)
{
    lanes_acf_spec_t s{};
    s.nlags = nlags;
    s.adjusted = adjusted;
    s.method = method;
    s.threads = 1;
    return s;
}

// Feeds d in chunks of the given sizes (cycled; the rest in one chunk if sizes is empty).
Result run(const lanes_acf_spec_t &spec, const Data &d, const std::vector<size_t> &sizes = {})
{
    Result r;
    lanes_error_t err{};
    lanes_acf_t *a = lanes_acf_new(&spec, &err);
    EXPECT_NE(a, nullptr) << err.msg;
    if (!a) {
        r.rc = err.code;
        return r;
    }
    const size_t es = lanes_dtype_size(d.dtype);
    size_t off = 0, i = 0;
    while (off < d.n) {
        size_t c = sizes.empty() ? d.n - off : std::min(sizes[i++ % sizes.size()], d.n - off);
        EXPECT_EQ(lanes_acf_feed(a, d.bytes.data() + off * es, c, d.dtype), 0);
        off += c;
    }
    lanes_acf_result_t out{};
    r.rc = lanes_acf_finish(a, &out, &err);
    if (r.rc == 0) {
        const size_t L = out.nlags;
        r.acf.assign(out.acf, out.acf + L + 1);
        if (out.confint)
            r.confint.assign(out.confint, out.confint + 2 * (L + 1));
        if (out.qstat) {
            r.q.assign(out.qstat, out.qstat + L);
            r.p.assign(out.pvalues, out.pvalues + L);
        }
    }
    lanes_acf_free(a);
    return r;
}

void expect_close(const std::vector<double> &got, const std::vector<long double> &want, double tol,
                  const char *what)
{
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t k = 0; k < got.size(); k++) {
        double w = (double)want[k];
        EXPECT_LE(std::fabs(got[k] - w), tol * std::max(1.0, std::fabs(w)))
            << what << " lag " << k << ": got " << got[k] << " want " << w;
    }
}

const lanes_acf_method_t kMethods[] = {LANES_ACF_DIRECT, LANES_ACF_FFT};

TEST(Acf, HandComputedTinySeries)
{
    Data d = make({1, 2, 3, 4, 5}, LANES_DTYPE_F64);
    for (auto m : kMethods) {
        lanes_acf_spec_t s = spec_of(4, false, m);
        s.alpha = 0.05;
        s.qstat = 1;
        Result r = run(s, d);
        ASSERT_EQ(r.rc, 0);
        const double acf[] = {1, 0.4, -0.1, -0.4, -0.4};
        for (int k = 0; k < 5; k++)
            EXPECT_NEAR(r.acf[k], acf[k], 1e-14) << k;
        const double z = 1.959963984540054;
        const double var[] = {0, 0.2, 0.264, 0.268, 0.332};
        for (int k = 0; k < 5; k++) {
            EXPECT_NEAR(r.confint[2 * k], acf[k] - z * std::sqrt(var[k]), 1e-13) << k;
            EXPECT_NEAR(r.confint[2 * k + 1], acf[k] + z * std::sqrt(var[k]), 1e-13) << k;
        }
        const double q[] = {1.4, 35 * (0.04 + 0.01 / 3.0), 35 * (0.04 + 0.01 / 3.0) + 2.8,
                            35 * (0.04 + 0.01 / 3.0) + 8.4};
        for (int k = 0; k < 4; k++)
            EXPECT_NEAR(r.q[k], q[k], 1e-12) << k;
        // chi2.sf closed forms for df = 1..4
        const double p[] = {std::erfc(std::sqrt(q[0] / 2)), std::exp(-q[1] / 2),
                            std::erfc(std::sqrt(q[2] / 2)) +
                                std::sqrt(2 * q[2] / M_PI) * std::exp(-q[2] / 2),
                            std::exp(-q[3] / 2) * (1 + q[3] / 2)};
        for (int k = 0; k < 4; k++)
            EXPECT_NEAR(r.p[k], p[k], 1e-12) << k;

        s.adjusted = 1;
        r = run(s, d);
        ASSERT_EQ(r.rc, 0);
        const double adj[] = {1, 0.5, -1.0 / 6.0, -1, -2};
        for (int k = 0; k < 5; k++)
            EXPECT_NEAR(r.acf[k], adj[k], 1e-14) << k;
    }
}

TEST(Acf, RandomSeriesAgainstReference)
{
    struct Case { size_t n; std::vector<size_t> lags; };
    const Case cases[] = {
        {2, {0, 1}}, {3, {0, 1, 2}}, {10, {0, 1, 5, 9}}, {1000, {1, 30, 200, 999}},
        {100003, {0, 7, 50, 150}},
    };
    unsigned seed = 1;
    for (const Case &c : cases) {
        auto x = ar1(c.n, 0.7, 3.0, 2.0, seed++);
        Data d = make(x, LANES_DTYPE_F64);
        for (size_t L : c.lags) {
            for (int adj = 0; adj < 2; adj++) {
                auto want = ref_acf(x, L, adj);
                for (auto m : kMethods) {
                    Result r = run(spec_of((int64_t)L, adj, m), d, {4093});
                    ASSERT_EQ(r.rc, 0);
                    expect_close(r.acf, want, 1e-10, m == LANES_ACF_FFT ? "fft" : "direct");
                }
            }
        }
    }
}

TEST(Acf, LargeMeanNoCancellation)
{
    // mean = 1e6 * std: raw sums of x_t x_{t+k} would lose ~12 digits.
    const size_t n = 20011;
    auto x = ar1(n, 0.9, 0.0, 1.0, 42);
    double m = 0, ss = 0;
    for (double v : x) m += v;
    m /= n;
    for (double v : x) ss += (v - m) * (v - m);
    const double sd = std::sqrt(ss / n);
    for (double &v : x) v = v / sd + 1e6;  // std 1, mean 1e6
    Data d = make(x, LANES_DTYPE_F64);
    for (int adj = 0; adj < 2; adj++) {
        auto want = ref_acf(x, 300, adj);
        for (auto m2 : kMethods) {
            Result r = run(spec_of(300, adj, m2), d, {777});
            ASSERT_EQ(r.rc, 0);
            expect_close(r.acf, want, 1e-10, "large mean");
        }
    }
}

TEST(Acf, EveryDtype)
{
    auto x = ar1(5000, 0.5, 100.0, 30.0, 7);
    const lanes_dtype_t dts[] = {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64, LANES_DTYPE_I32};
    for (auto dt : dts) {
        Data d = make(x, dt);
        auto want = ref_acf(d.values(), 40, false);
        for (auto m : kMethods) {
            Result r = run(spec_of(40, false, m), d, {1000, 3});
            ASSERT_EQ(r.rc, 0);
            expect_close(r.acf, want, 1e-10, lanes_dtype_name(dt));
        }
    }
}

TEST(Acf, ChunkingAndThreadsBitIdentical)
{
    auto x = ar1(9000, 0.8, -5.0, 3.0, 9);
    Data d = make(x, LANES_DTYPE_F64);
    std::mt19937 rng(3);
    std::vector<size_t> rnd(50);
    for (size_t &s : rnd) s = rng() % 700;  // empty chunks included
    for (auto m : kMethods) {
        lanes_acf_spec_t s = spec_of(120, true, m);
        s.alpha = 0.1;
        s.qstat = 1;
        Result one = run(s, d);
        ASSERT_EQ(one.rc, 0);
        const std::vector<std::vector<size_t>> chunkings = {{1}, rnd, {4096}, {4095, 1, 4097}};
        for (const auto &ch : chunkings) {
            for (int th : {1, 3}) {
                s.threads = th;
                Result r = run(s, d, ch);
                ASSERT_EQ(r.rc, 0);
                EXPECT_EQ(0, std::memcmp(r.acf.data(), one.acf.data(), one.acf.size() * 8));
                EXPECT_EQ(0, std::memcmp(r.confint.data(), one.confint.data(), one.confint.size() * 8));
                EXPECT_EQ(0, std::memcmp(r.q.data(), one.q.data(), one.q.size() * 8));
            }
        }
    }
}

TEST(Acf, DirectAgreesWithFft)
{
    auto x = ar1(100003, 0.95, 1.0, 1.0, 11);
    Data d = make(x, LANES_DTYPE_F64);
    for (int64_t L : {1, 64, 1500}) {
        Result a = run(spec_of(L, false, LANES_ACF_DIRECT), d, {65536});
        Result b = run(spec_of(L, false, LANES_ACF_FFT), d, {65536});
        ASSERT_EQ(a.rc, 0);
        ASSERT_EQ(b.rc, 0);
        for (size_t k = 0; k < a.acf.size(); k++)
            EXPECT_NEAR(a.acf[k], b.acf[k], 1e-10) << k;
    }
    // nlags = n - 1 on a long series: FFT only (direct would be O(n^2)); check a few lags.
    auto y = ar1(20000, 0.5, 0.0, 1.0, 12);
    Data dy = make(y, LANES_DTYPE_F64);
    Result f = run(spec_of(19999, false, LANES_ACF_FFT), dy, {3000});
    ASSERT_EQ(f.rc, 0);
    auto want = ref_acf(y, 19999, false);
    expect_close(f.acf, want, 1e-10, "fft nlags = n-1");
}

TEST(Acf, StatisticsMatchFormulas)
{
    auto x = ar1(3000, 0.6, 0.0, 1.0, 5);
    Data d = make(x, LANES_DTYPE_F64);
    lanes_acf_spec_t s = spec_of(25, false, LANES_ACF_AUTO);
    s.alpha = 0.01;
    s.qstat = 1;
    Result r = run(s, d);
    ASSERT_EQ(r.rc, 0);
    const double z = 2.5758293035489004;  // norm.ppf(0.995)
    const double n = 3000;
    long double cum = 0, q = 0;
    for (size_t k = 0; k <= 25; k++) {
        long double var = k == 0 ? 0 : k == 1 ? 1 / n : (1 + 2 * cum) / n;
        if (k >= 1) cum += (long double)r.acf[k] * r.acf[k];
        EXPECT_NEAR(r.confint[2 * k], r.acf[k] - z * std::sqrt((double)var), 1e-12);
        EXPECT_NEAR(r.confint[2 * k + 1], r.acf[k] + z * std::sqrt((double)var), 1e-12);
        if (k >= 1) {
            q += (long double)r.acf[k] * r.acf[k] / (n - k);
            EXPECT_NEAR(r.q[k - 1], (double)(n * (n + 2) * q), 1e-9 * std::max(1.0, r.q[k - 1]));
        }
    }
    // p-values for df 2 and 4 have closed forms
    EXPECT_NEAR(r.p[1], std::exp(-r.q[1] / 2), 1e-12);
    EXPECT_NEAR(r.p[3], std::exp(-r.q[3] / 2) * (1 + r.q[3] / 2), 1e-12);
}

TEST(Acf, NanPropagatesAndConstantSeries)
{
    std::vector<double> x = {1, 2, NAN, 4, 5, 6};
    lanes_acf_spec_t s = spec_of(3, false, LANES_ACF_DIRECT);
    s.alpha = 0.05;
    s.qstat = 1;
    for (auto m : kMethods) {
        s.method = m;
        Result r = run(s, make(x, LANES_DTYPE_F64));
        ASSERT_EQ(r.rc, 0);
        for (double v : r.acf) EXPECT_TRUE(std::isnan(v));
        for (double v : r.p) EXPECT_TRUE(std::isnan(v));
        Result c = run(s, make({2, 2, 2, 2, 2}, LANES_DTYPE_F64));
        ASSERT_EQ(c.rc, 0);
        for (double v : c.acf) EXPECT_TRUE(std::isnan(v));
    }
}

TEST(Acf, DefaultNlagsAndErrors)
{
    lanes_error_t err{};
    lanes_acf_spec_t s = spec_of(-1, false, LANES_ACF_AUTO);
    EXPECT_EQ(lanes_acf_new(&s, &err), nullptr);  // default nlags needs n_total
    EXPECT_EQ(err.code, LANES_EINVAL);
    s.n_total = 1000;  // min(int(10*log10(1000)), 999) = 30
    Result r = run(s, make(ar1(1000, 0.3, 0, 1, 2), LANES_DTYPE_F64));
    ASSERT_EQ(r.rc, 0);
    EXPECT_EQ(r.acf.size(), 31u);
    s.n_total = 5;  // min(int(6.99), 4) = 4
    r = run(s, make({1, 2, 3, 4, 5}, LANES_DTYPE_F64));
    ASSERT_EQ(r.rc, 0);
    EXPECT_EQ(r.acf.size(), 5u);
    r = run(s, make({1, 2, 3, 4, 5, 6}, LANES_DTYPE_F64));  // n != n_total
    EXPECT_EQ(r.rc, LANES_EINVAL);

    lanes_acf_spec_t bad = spec_of(3, false, LANES_ACF_AUTO);
    for (double alpha : {-0.1, 1.0, 2.0, (double)NAN}) {
        bad.alpha = alpha;
        EXPECT_EQ(lanes_acf_new(&bad, &err), nullptr);
    }
    bad = spec_of(-2, false, LANES_ACF_AUTO);
    EXPECT_EQ(lanes_acf_new(&bad, &err), nullptr);
    bad = spec_of(3, false, (lanes_acf_method_t)7);
    EXPECT_EQ(lanes_acf_new(&bad, &err), nullptr);

    EXPECT_EQ(run(spec_of(0, false, LANES_ACF_DIRECT), make({1}, LANES_DTYPE_F64)).rc, LANES_EINVAL);
    EXPECT_EQ(run(spec_of(3, false, LANES_ACF_DIRECT), make({1, 2, 3}, LANES_DTYPE_F64)).rc,
              LANES_EINVAL);  // nlags >= n

    s = spec_of(1, false, LANES_ACF_DIRECT);
    lanes_acf_t *a = lanes_acf_new(&s, &err);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(lanes_acf_feed(a, nullptr, 1, LANES_DTYPE_F64), LANES_EINVAL);
    EXPECT_EQ(lanes_acf_feed(a, "x", 1, LANES_DTYPE_INVALID), LANES_EINVAL);
    double v[3] = {1, 3, 2};
    EXPECT_EQ(lanes_acf_feed(a, v, 3, LANES_DTYPE_F64), 0);
    lanes_acf_result_t out{};
    EXPECT_EQ(lanes_acf_finish(a, &out, &err), 0);
    EXPECT_EQ(lanes_acf_finish(a, &out, &err), LANES_EINVAL);
    EXPECT_EQ(lanes_acf_feed(a, v, 3, LANES_DTYPE_F64), LANES_EINVAL);
    lanes_acf_free(a);
    lanes_acf_free(nullptr);
}

}  // namespace
