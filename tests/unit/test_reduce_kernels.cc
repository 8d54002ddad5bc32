// Unit tests of the CPU reducers (kernels/cpu/reduce_cpu.c): lanes_reducer_new/feed/finish.
//
// Design: each op on each dtype is checked against a reference written here, independently:
//  - float sums and means against a long double sum, within 1e-13 * sum(|x|) (the blocked order has
//    at most 256 sequential additions per lane, so its error bound is about 260 ulp of sum(|x|));
//  - integer sums exactly, wraparound included (uint64 arithmetic);
//  - var and std against a two-pass long double computation, within 1e-11 relative;
//  - min, max, argmin, argmax exactly against a first-occurrence scan;
//  - histograms against edges from the linspace formula and a linear search over the edges.
// Determinism is tested bit for bit (memcmp): the same data fed in many chunkings (one chunk,
// 1-element chunks, 4095/4096/4097, random sizes with empty chunks) on 1, 2 and 3 threads must give
// identical sum, mean, var and std. The documented summation order (16 lanes per 4096-block, a
// binary-counter stack of blocks, Chan's merge) is re-implemented here in a few plain lines and must
// match the kernel exactly: that order is the contract a GPU backend reproduces later.
// Also: numpy's NaN semantics, every op on empty input, numpy's error messages, the spec checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dtype_ref.h"
#include "lanes/kernels.h"

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A typed array held as bytes.
struct Data {
    lanes_dtype_t dtype = LANES_DTYPE_F64;
    size_t n = 0;
    std::vector<unsigned char> bytes;

    size_t es() const { return lanes_dtype_size(dtype); }
    double get(size_t i) const { return ref_load_double(bytes.data() + i * es(), dtype); }
    int64_t geti(size_t i) const { return ref_load_int(bytes.data() + i * es(), dtype); }
    bool is_int() const { return dtype == LANES_DTYPE_I64 || dtype == LANES_DTYPE_I32; }
};

Data FromDoubles(lanes_dtype_t dt, const std::vector<double> &v)
{
    Data d;
    d.dtype = dt;
    d.n = v.size();
    d.bytes.resize(v.size() * lanes_dtype_size(dt));
    for (size_t i = 0; i < v.size(); i++) {
        unsigned char *p = d.bytes.data() + i * d.es();
        if (dt == LANES_DTYPE_F64) {
            std::memcpy(p, &v[i], 8);
        } else if (dt == LANES_DTYPE_F32) {
            float f = static_cast<float>(v[i]);
            std::memcpy(p, &f, 4);
        } else if (dt == LANES_DTYPE_I64) {
            int64_t x = static_cast<int64_t>(v[i]);
            std::memcpy(p, &x, 8);
        } else {
            int32_t x = static_cast<int32_t>(v[i]);
            std::memcpy(p, &x, 4);
        }
    }
    return d;
}

Data FromInts(lanes_dtype_t dt, const std::vector<int64_t> &v)
{
    Data d;
    d.dtype = dt;
    d.n = v.size();
    d.bytes.resize(v.size() * lanes_dtype_size(dt));
    for (size_t i = 0; i < v.size(); i++) {
        unsigned char *p = d.bytes.data() + i * d.es();
        if (dt == LANES_DTYPE_I64) {
            std::memcpy(p, &v[i], 8);
        } else {
            int32_t x = static_cast<int32_t>(v[i]);
            std::memcpy(p, &x, 4);
        }
    }
    return d;
}

// Random data of a dtype: floats spread over several magnitudes around 'center', ints in a range.
Data Random(lanes_dtype_t dt, size_t n, uint64_t seed, double center = 0.0)
{
    std::mt19937_64 rng(seed);
    std::vector<double> v(n);
    if (dt == LANES_DTYPE_F64 || dt == LANES_DTYPE_F32) {
        std::normal_distribution<double> norm(0.0, 1.0);
        std::uniform_int_distribution<int> mag(-3, 6);
        for (auto &x : v)
            x = center + norm(rng) * std::pow(10.0, mag(rng));
        return FromDoubles(dt, v);
    }
    std::vector<int64_t> iv(n);
    for (auto &x : iv)
        x = dt == LANES_DTYPE_I64 ? static_cast<int64_t>(rng() % 2000000000001ull) - 1000000000000
                                  : static_cast<int64_t>(rng() % 2000001) - 1000000;
    return FromInts(dt, iv);
}

struct Outcome {
    int rc = 0;
    std::string msg;
    lanes_reduce_result_t res{};
    std::vector<int64_t> counts;
    std::vector<double> edges;
};

// Chunk sizes: cycled until the data run out (a 0 feeds an empty chunk).
using Chunker = std::vector<size_t>;

// Feeds 'd' to a new reducer in the given chunks with 'threads', optionally from an address one
// byte off alignment, and finishes it.
Outcome Reduce(const lanes_reduce_spec_t &spec, const Data &d, const Chunker &chunks = {}, int threads = 1,
               size_t offset = 0)
{
    Outcome o;
    lanes_error_t err;
    lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
    if (!r) {
        o.rc = err.code;
        o.msg = err.msg;
        return o;
    }
    std::vector<unsigned char> buf(d.bytes.size() + offset + 1);
    if (!d.bytes.empty())
        std::memcpy(buf.data() + offset, d.bytes.data(), d.bytes.size());
    const unsigned char *p = buf.data() + offset;
    size_t done = 0, k = 0;
    while (done < d.n) {
        size_t c = chunks.empty() ? d.n : chunks[k++ % chunks.size()];
        c = std::min(c, d.n - done);
        EXPECT_EQ(lanes_reducer_feed(r, p + done * d.es(), c, threads), 0);
        done += c;
    }
    EXPECT_EQ(lanes_reducer_count(r), d.n);
    o.rc = lanes_reducer_finish(r, &o.res, &err);
    o.msg = err.msg;
    if (o.rc == 0 && o.res.counts) {
        o.counts.assign(o.res.counts, o.res.counts + o.res.bins);
        o.edges.assign(o.res.edges, o.res.edges + o.res.bins + 1);
    }
    lanes_reducer_free(r);
    return o;
}

lanes_reduce_spec_t Spec(lanes_reduce_op_t op, lanes_dtype_t dt, double ddof = 0.0)
{
    lanes_reduce_spec_t s{};
    s.op = op;
    s.dtype = dt;
    s.ddof = ddof;
    return s;
}

lanes_reduce_spec_t HistSpec(lanes_dtype_t dt, uint32_t bins, double lo, double hi, int has_range = 1)
{
    lanes_reduce_spec_t s{};
    s.op = LANES_REDUCE_HISTOGRAM;
    s.dtype = dt;
    s.bins = bins;
    s.has_range = has_range;
    s.lo = lo;
    s.hi = hi;
    return s;
}

uint64_t Bits(double x)
{
    uint64_t b;
    std::memcpy(&b, &x, 8);
    return b;
}

const lanes_dtype_t kFloatDtypes[] = {LANES_DTYPE_F64, LANES_DTYPE_F32};
const lanes_dtype_t kAllDtypes[] = {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64, LANES_DTYPE_I32};
const size_t kSizes[] = {1, 2, 15, 16, 17, 100, 4095, 4096, 4097, 3 * 4096 + 5, 100003};

// ---- the documented order, re-implemented plainly ----

double RefLaneSum(const std::vector<double> &x)
{
    double acc[16];
    for (double &a : acc)
        a = -0.0;
    for (size_t i = 0; i < x.size(); i++)
        acc[i % 16] = acc[i % 16] + x[i];
    for (int s = 8; s >= 1; s /= 2)
        for (int j = 0; j < s; j++)
            acc[j] = acc[j] + acc[j + s];
    return acc[0];
}

struct RefPart {
    int level;
    double sum, n, mean, m2;
};

RefPart RefMerge(bool moments, const RefPart &a, const RefPart &b)
{
    RefPart r{0, 0, 0, 0, 0};
    if (!moments) {
        r.sum = a.sum + b.sum;
        return r;
    }
    if (a.n == 0)
        return b;
    if (b.n == 0)
        return a;
    r.n = a.n + b.n;
    double d = b.mean - a.mean;
    r.mean = a.mean + d * b.n / r.n;
    volatile double t = d * d * a.n * b.n / r.n;  // volatile: no FMA contraction in the reference
    r.m2 = a.m2 + b.m2 + t;
    return r;
}

// The blocked order of reduce_cpu.c applied to all of 'xs'.
RefPart RefBlocked(const std::vector<double> &xs, bool moments)
{
    std::vector<RefPart> stack;
    for (size_t start = 0; start < xs.size(); start += 4096) {
        std::vector<double> block(xs.begin() + start, xs.begin() + std::min(xs.size(), start + 4096));
        RefPart p{0, 0, 0, 0, 0};
        double s = RefLaneSum(block);
        if (!moments) {
            p.sum = s;
        } else {
            p.n = static_cast<double>(block.size());
            p.mean = s / p.n;
            std::vector<double> sq(block.size());
            for (size_t i = 0; i < block.size(); i++) {
                double d = block[i] - p.mean;
                sq[i] = d * d;
            }
            p.m2 = RefLaneSum(sq);
        }
        stack.push_back(p);
        while (stack.size() >= 2 && stack[stack.size() - 1].level == stack[stack.size() - 2].level) {
            RefPart m = RefMerge(moments, stack[stack.size() - 2], stack.back());
            m.level = stack.back().level + 1;
            stack.pop_back();
            stack.back() = m;
        }
    }
    RefPart r = stack.back();
    for (size_t k = stack.size() - 1; k-- > 0;)
        r = RefMerge(moments, stack[k], r);
    return r;
}

std::vector<double> AsDoubles(const Data &d)
{
    std::vector<double> v(d.n);
    for (size_t i = 0; i < d.n; i++)
        v[i] = d.get(i);
    return v;
}

// ---- names ----

TEST(ReduceKernels, OpNamesAndParse)
{
    const char *const *names = lanes_reduce_op_names();
    std::vector<std::string> got;
    for (size_t i = 0; names[i]; i++)
        got.push_back(names[i]);
    std::vector<std::string> want = {"sum", "min", "max", "mean", "var", "std", "count", "argmin", "argmax", "histogram"};
    EXPECT_EQ(got, want);
    for (int i = 0; i < LANES_REDUCE_N_OPS; i++) {
        lanes_reduce_op_t op;
        ASSERT_EQ(lanes_reduce_op_parse(want[i].c_str(), &op), 0);
        EXPECT_EQ(op, static_cast<lanes_reduce_op_t>(i));
        EXPECT_EQ(std::string(lanes_reduce_op_name(op)), want[i]);
    }
    lanes_reduce_op_t op;
    EXPECT_EQ(lanes_reduce_op_parse("median", &op), LANES_EINVAL);
    EXPECT_EQ(lanes_reduce_op_parse("", &op), LANES_EINVAL);
    EXPECT_EQ(lanes_reduce_op_parse(nullptr, &op), LANES_EINVAL);
    EXPECT_STREQ(lanes_reduce_op_name(LANES_REDUCE_N_OPS), "invalid");
}

// ---- against references ----

TEST(ReduceKernels, FloatSumAndMeanMatchLongDouble)
{
    uint64_t seed = 1;
    for (lanes_dtype_t dt : kAllDtypes)
        for (size_t n : kSizes) {
            Data d = Random(dt, n, seed++, dt == LANES_DTYPE_F32 ? 3.0 : 0.0);
            long double s = 0, sabs = 0;
            for (size_t i = 0; i < n; i++) {
                s += d.get(i);
                sabs += std::fabs(d.get(i));
            }
            const double tol = 1e-13 * static_cast<double>(sabs);
            if (!d.is_int()) {
                Outcome o = Reduce(Spec(LANES_REDUCE_SUM, dt), d);
                ASSERT_EQ(o.rc, 0);
                EXPECT_EQ(o.res.dtype, LANES_DTYPE_F64);
                EXPECT_NEAR(o.res.f, static_cast<double>(s), tol) << lanes_dtype_name(dt) << " n=" << n;
                EXPECT_EQ(Bits(o.res.f), Bits(RefBlocked(AsDoubles(d), false).sum));
            }
            Outcome m = Reduce(Spec(LANES_REDUCE_MEAN, dt), d);
            ASSERT_EQ(m.rc, 0);
            EXPECT_EQ(m.res.dtype, LANES_DTYPE_F64);
            EXPECT_NEAR(m.res.f, static_cast<double>(s / n), tol / n) << lanes_dtype_name(dt) << " n=" << n;
        }
}

TEST(ReduceKernels, IntegerSumIsExactAndWraps)
{
    uint64_t seed = 100;
    for (lanes_dtype_t dt : {LANES_DTYPE_I64, LANES_DTYPE_I32})
        for (size_t n : kSizes) {
            std::mt19937_64 rng(seed++);
            std::vector<int64_t> v(n);
            uint64_t want = 0;
            for (auto &x : v) {
                x = dt == LANES_DTYPE_I64 ? static_cast<int64_t>(rng())
                                          : static_cast<int32_t>(static_cast<uint32_t>(rng()));
                want += static_cast<uint64_t>(x);
            }
            for (int threads : {1, 3}) {
                Outcome o = Reduce(Spec(LANES_REDUCE_SUM, dt), FromInts(dt, v), {1000, 7}, threads);
                ASSERT_EQ(o.rc, 0);
                EXPECT_EQ(o.res.dtype, LANES_DTYPE_I64);
                EXPECT_EQ(static_cast<uint64_t>(o.res.i), want) << lanes_dtype_name(dt) << " n=" << n;
            }
        }
    // INT64_MAX + 1 wraps to INT64_MIN, as numpy's int64 sum.
    Outcome o = Reduce(Spec(LANES_REDUCE_SUM, LANES_DTYPE_I64),
                       FromInts(LANES_DTYPE_I64, {std::numeric_limits<int64_t>::max(), 1}));
    EXPECT_EQ(o.res.i, std::numeric_limits<int64_t>::min());
    o = Reduce(Spec(LANES_REDUCE_SUM, LANES_DTYPE_I64),
               FromInts(LANES_DTYPE_I64, {std::numeric_limits<int64_t>::min(), -1, 5}));
    EXPECT_EQ(o.res.i, std::numeric_limits<int64_t>::min() + 4);  // MIN - 1 wraps to MAX, + 5
    // int32 sums do not wrap at 32 bits.
    std::vector<int64_t> big(10, std::numeric_limits<int32_t>::max());
    o = Reduce(Spec(LANES_REDUCE_SUM, LANES_DTYPE_I32), FromInts(LANES_DTYPE_I32, big));
    EXPECT_EQ(o.res.i, int64_t{10} * std::numeric_limits<int32_t>::max());
}

TEST(ReduceKernels, VarStdMatchTwoPassLongDouble)
{
    uint64_t seed = 200;
    for (lanes_dtype_t dt : kAllDtypes)
        for (size_t n : kSizes)
            for (double ddof : {0.0, 1.0, 2.5, -1.0}) {
                Data d = Random(dt, n, seed++, dt == LANES_DTYPE_I64 || dt == LANES_DTYPE_I32 ? 0.0 : 1000.0);
                long double s = 0;
                for (size_t i = 0; i < n; i++)
                    s += d.get(i);
                long double mean = s / n, m2 = 0;
                for (size_t i = 0; i < n; i++)
                    m2 += (d.get(i) - mean) * (d.get(i) - mean);
                long double dof = std::max(static_cast<long double>(n) - ddof, 0.0L);
                double want = static_cast<double>(m2 / dof);
                Outcome v = Reduce(Spec(LANES_REDUCE_VAR, dt, ddof), d);
                Outcome sd = Reduce(Spec(LANES_REDUCE_STD, dt, ddof), d);
                ASSERT_EQ(v.rc, 0);
                ASSERT_EQ(sd.rc, 0);
                EXPECT_EQ(v.res.dtype, LANES_DTYPE_F64);
                EXPECT_EQ(sd.res.dtype, LANES_DTYPE_F64);
                std::string what = std::string(lanes_dtype_name(dt)) + " n=" + std::to_string(n) +
                                   " ddof=" + std::to_string(ddof);
                if (std::isinf(want) || std::isnan(want)) {
                    EXPECT_EQ(std::isinf(v.res.f), std::isinf(want)) << what << " got " << v.res.f;
                    EXPECT_EQ(std::isnan(v.res.f), std::isnan(want)) << what << " got " << v.res.f;
                } else {
                    EXPECT_NEAR(v.res.f, want, 1e-11 * want) << what;
                    EXPECT_NEAR(sd.res.f, std::sqrt(want), 1e-11 * std::sqrt(want)) << what;
                }
                EXPECT_EQ(Bits(sd.res.f), Bits(std::sqrt(v.res.f))) << what;
                RefPart ref = RefBlocked(AsDoubles(d), true);
                double dofd = ref.n - ddof;
                EXPECT_EQ(Bits(v.res.f), Bits(ref.m2 / (dofd > 0 ? dofd : 0.0))) << what;
            }
}

TEST(ReduceKernels, VarDegreesOfFreedom)
{
    Data d = FromDoubles(LANES_DTYPE_F64, {1.0, 2.0, 3.0});
    EXPECT_DOUBLE_EQ(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, 0), d).res.f, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, 1), d).res.f, 1.0);
    EXPECT_DOUBLE_EQ(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, -1), d).res.f, 0.5);
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, 3), d).res.f, kInf);    // 2/0
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, 5), d).res.f, kInf);    // max(-2, 0)
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_STD, LANES_DTYPE_F64, 3), d).res.f, kInf);
    Data one = FromDoubles(LANES_DTYPE_F64, {7.0});
    EXPECT_TRUE(std::isnan(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, 1), one).res.f));  // 0/0
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, 0), one).res.f, 0.0);
    Data same = FromDoubles(LANES_DTYPE_F64, std::vector<double>(10000, 0.5));
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64), same, {}, 2).res.f, 0.0);
    // 0.1 is not a block mean exactly, so the variance is a rounding residue, not exactly 0
    Data tenth = FromDoubles(LANES_DTYPE_F64, std::vector<double>(10000, 0.1));
    EXPECT_LT(Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64), tenth, {}, 2).res.f, 1e-30);
}

// First-occurrence scans.
struct RefExtreme {
    double fmin, fmax;
    int64_t imin, imax;
    size_t argmin, argmax;
};

RefExtreme RefScan(const Data &d)
{
    RefExtreme r{d.get(0), d.get(0), d.is_int() ? d.geti(0) : 0, d.is_int() ? d.geti(0) : 0, 0, 0};
    for (size_t i = 0; i < d.n; i++) {
        if (d.is_int()) {
            int64_t x = d.geti(i);
            if (x < r.imin) {
                r.imin = x;
                r.argmin = i;
            }
            if (x > r.imax) {
                r.imax = x;
                r.argmax = i;
            }
        } else {
            double x = d.get(i);
            if (std::isnan(x)) {
                r.fmin = r.fmax = x;
                r.argmin = r.argmax = i;
                break;
            }
            if (x < r.fmin) {
                r.fmin = x;
                r.argmin = i;
            }
            if (x > r.fmax) {
                r.fmax = x;
                r.argmax = i;
            }
        }
    }
    return r;
}

void CheckExtremes(const Data &d, const std::string &what)
{
    RefExtreme ref = RefScan(d);
    for (int threads : {1, 2, 3})
        for (const Chunker &ch : {Chunker{}, Chunker{4097, 1, 5000}}) {
            Outcome mn = Reduce(Spec(LANES_REDUCE_MIN, d.dtype), d, ch, threads);
            Outcome mx = Reduce(Spec(LANES_REDUCE_MAX, d.dtype), d, ch, threads);
            Outcome amn = Reduce(Spec(LANES_REDUCE_ARGMIN, d.dtype), d, ch, threads);
            Outcome amx = Reduce(Spec(LANES_REDUCE_ARGMAX, d.dtype), d, ch, threads);
            ASSERT_EQ(mn.rc | mx.rc | amn.rc | amx.rc, 0) << what;
            EXPECT_EQ(mn.res.dtype, d.dtype) << what;
            EXPECT_EQ(mx.res.dtype, d.dtype) << what;
            EXPECT_EQ(amn.res.dtype, LANES_DTYPE_I64);
            EXPECT_EQ(amx.res.dtype, LANES_DTYPE_I64);
            if (d.is_int()) {
                EXPECT_EQ(mn.res.i, ref.imin) << what;
                EXPECT_EQ(mx.res.i, ref.imax) << what;
            } else {
                EXPECT_EQ(Bits(mn.res.f), Bits(ref.fmin)) << what << " min " << mn.res.f << " want " << ref.fmin;
                EXPECT_EQ(Bits(mx.res.f), Bits(ref.fmax)) << what << " max " << mx.res.f << " want " << ref.fmax;
            }
            EXPECT_EQ(amn.res.i, static_cast<int64_t>(ref.argmin)) << what << " threads=" << threads;
            EXPECT_EQ(amx.res.i, static_cast<int64_t>(ref.argmax)) << what << " threads=" << threads;
        }
}

TEST(ReduceKernels, MinMaxArgminArgmaxExact)
{
    uint64_t seed = 300;
    for (lanes_dtype_t dt : kAllDtypes)
        for (size_t n : {size_t{1}, size_t{3}, size_t{4097}, size_t{20000}}) {
            Data d = Random(dt, n, seed++);
            CheckExtremes(d, std::string(lanes_dtype_name(dt)) + " n=" + std::to_string(n));
        }
    // Ties: the first occurrence wins, in every chunking and thread count.
    std::vector<double> ties(30000, 5.0);
    ties[9000] = ties[17000] = ties[29999] = -2.0;
    ties[100] = ties[25000] = 8.0;
    for (lanes_dtype_t dt : kAllDtypes)
        CheckExtremes(FromDoubles(dt, ties), std::string("ties ") + lanes_dtype_name(dt));
    // +0 and -0 compare equal: the first one is kept.
    CheckExtremes(FromDoubles(LANES_DTYPE_F64, {0.0, -0.0, 1.0, -0.0}), "signed zeros");
    CheckExtremes(FromDoubles(LANES_DTYPE_F64, {-0.0, 0.0}), "signed zeros 2");
    // int64 values that float64 cannot tell apart are compared as integers.
    const int64_t big = int64_t{1} << 53;
    Data d = FromInts(LANES_DTYPE_I64, {big + 1, big, big + 3, big + 2});
    CheckExtremes(d, "int64 beyond 2^53");
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_MIN, LANES_DTYPE_I64), d).res.i, big);
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_ARGMAX, LANES_DTYPE_I64), d).res.i, 2);
    CheckExtremes(FromInts(LANES_DTYPE_I64, {0, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}),
                  "int64 limits");
    Outcome f32 = Reduce(Spec(LANES_REDUCE_MAX, LANES_DTYPE_F32), FromDoubles(LANES_DTYPE_F32, {0.1, 0.3, 0.2}));
    EXPECT_EQ(f32.res.f, static_cast<double>(0.3f));
}

TEST(ReduceKernels, CountCountsEverything)
{
    for (lanes_dtype_t dt : kAllDtypes) {
        Data d = Random(dt, 9001, 5);
        Outcome o = Reduce(Spec(LANES_REDUCE_COUNT, dt), d, {333}, 2);
        ASSERT_EQ(o.rc, 0);
        EXPECT_EQ(o.res.dtype, LANES_DTYPE_I64);
        EXPECT_EQ(o.res.i, 9001);
    }
    Data nan = FromDoubles(LANES_DTYPE_F64, {kNaN, 1.0, kInf});
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_COUNT, LANES_DTYPE_F64), nan).res.i, 3);
}

// ---- NaN and inf ----

TEST(ReduceKernels, NaNPropagatesAsNumpy)
{
    for (lanes_dtype_t dt : kFloatDtypes)
        for (size_t pos : {size_t{0}, size_t{7}, size_t{4095}, size_t{4096}, size_t{12345}}) {
            Data d = Random(dt, 20000, pos + 1);
            std::vector<double> v = AsDoubles(d);
            v[pos] = kNaN;
            v[pos + 3000] = -kNaN;  // a later NaN does not win
            v[19999] = kNaN;
            d = FromDoubles(dt, v);
            std::string what = std::string(lanes_dtype_name(dt)) + " NaN at " + std::to_string(pos);
            for (int threads : {1, 3}) {
                for (lanes_reduce_op_t op : {LANES_REDUCE_SUM, LANES_REDUCE_MEAN, LANES_REDUCE_VAR, LANES_REDUCE_STD,
                                             LANES_REDUCE_MIN, LANES_REDUCE_MAX}) {
                    Outcome o = Reduce(Spec(op, dt), d, {5000}, threads);
                    ASSERT_EQ(o.rc, 0);
                    EXPECT_TRUE(std::isnan(o.res.f)) << what << " " << lanes_reduce_op_name(op);
                }
                EXPECT_EQ(Reduce(Spec(LANES_REDUCE_ARGMIN, dt), d, {5000}, threads).res.i, static_cast<int64_t>(pos)) << what;
                EXPECT_EQ(Reduce(Spec(LANES_REDUCE_ARGMAX, dt), d, {5000}, threads).res.i, static_cast<int64_t>(pos)) << what;
                EXPECT_EQ(Reduce(Spec(LANES_REDUCE_COUNT, dt), d, {5000}, threads).res.i, 20000);
            }
        }
}

TEST(ReduceKernels, InfinitiesAsNumpy)
{
    auto f = [](lanes_reduce_op_t op, std::vector<double> v) {
        return Reduce(Spec(op, LANES_DTYPE_F64), FromDoubles(LANES_DTYPE_F64, v)).res;
    };
    EXPECT_TRUE(std::isnan(f(LANES_REDUCE_SUM, {kInf, 1.0, -kInf}).f));
    EXPECT_EQ(f(LANES_REDUCE_SUM, {kInf, 1.0, kInf}).f, kInf);
    EXPECT_EQ(f(LANES_REDUCE_MEAN, {-kInf, 1.0}).f, -kInf);
    EXPECT_TRUE(std::isnan(f(LANES_REDUCE_VAR, {kInf, 1.0}).f));
    EXPECT_EQ(f(LANES_REDUCE_MIN, {kInf, -kInf, 3.0}).f, -kInf);
    EXPECT_EQ(f(LANES_REDUCE_ARGMAX, {1.0, kInf, kInf}).i, 1);
    EXPECT_EQ(f(LANES_REDUCE_SUM, {1e308, 1e308}).f, kInf);
    // sums of negative zeros stay negative zero
    EXPECT_EQ(Bits(f(LANES_REDUCE_SUM, {-0.0, -0.0, -0.0}).f), Bits(-0.0));
    EXPECT_EQ(Bits(f(LANES_REDUCE_SUM, {-0.0, 0.0}).f), Bits(0.0));
}

// ---- empty input ----

TEST(ReduceKernels, EmptyInputEveryOp)
{
    for (lanes_dtype_t dt : kAllDtypes) {
        Data empty;
        empty.dtype = dt;
        const bool is_int = dt == LANES_DTYPE_I64 || dt == LANES_DTYPE_I32;
        Outcome s = Reduce(Spec(LANES_REDUCE_SUM, dt), empty, {0, 0});
        ASSERT_EQ(s.rc, 0);
        if (is_int) {
            EXPECT_EQ(s.res.dtype, LANES_DTYPE_I64);
            EXPECT_EQ(s.res.i, 0);
        } else {
            EXPECT_EQ(s.res.dtype, LANES_DTYPE_F64);
            EXPECT_EQ(Bits(s.res.f), Bits(0.0));
        }
        Outcome c = Reduce(Spec(LANES_REDUCE_COUNT, dt), empty);
        EXPECT_EQ(c.rc, 0);
        EXPECT_EQ(c.res.i, 0);
        for (lanes_reduce_op_t op : {LANES_REDUCE_MEAN, LANES_REDUCE_VAR, LANES_REDUCE_STD}) {
            Outcome o = Reduce(Spec(op, dt, op == LANES_REDUCE_VAR ? -1.0 : 0.0), empty);
            EXPECT_EQ(o.rc, 0);
            EXPECT_EQ(o.res.dtype, LANES_DTYPE_F64);
            EXPECT_TRUE(std::isnan(o.res.f)) << lanes_reduce_op_name(op);
        }
        struct {
            lanes_reduce_op_t op;
            const char *msg;
        } errs[] = {
            {LANES_REDUCE_MIN, "zero-size array to reduction operation minimum which has no identity"},
            {LANES_REDUCE_MAX, "zero-size array to reduction operation maximum which has no identity"},
            {LANES_REDUCE_ARGMIN, "attempt to get argmin of an empty sequence"},
            {LANES_REDUCE_ARGMAX, "attempt to get argmax of an empty sequence"},
        };
        for (const auto &e : errs) {
            Outcome o = Reduce(Spec(e.op, dt), empty, {0}, 3);
            EXPECT_EQ(o.rc, LANES_EEMPTY);
            EXPECT_EQ(o.msg, e.msg);
        }
        Outcome h = Reduce(HistSpec(dt, 4, 0, 1), empty);
        ASSERT_EQ(h.rc, 0);
        EXPECT_EQ(h.counts, std::vector<int64_t>(4, 0));
        EXPECT_EQ(h.edges, (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
    }
}

// ---- histogram ----

// numpy.linspace(lo, hi, bins + 1), rounded to float for float32 input.
std::vector<double> RefEdges(double lo, double hi, uint32_t bins, bool f32)
{
    if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    std::vector<double> e(bins + 1);
    double delta = hi - lo, step = delta / bins;
    for (uint32_t i = 0; i < bins; i++)
        e[i] = step == 0 ? (static_cast<double>(i) / bins) * delta + lo : static_cast<double>(i) * step + lo;
    e[bins] = hi;
    if (f32)
        for (double &x : e)
            x = static_cast<float>(x);
    return e;
}

// Each value binned by a linear search over the edges: edges[k] <= x < edges[k+1], the last bin
// closed; NaN and values outside [edges[0], edges[bins]] are dropped.
std::vector<int64_t> RefHistogram(const Data &d, const std::vector<double> &edges)
{
    const size_t bins = edges.size() - 1;
    std::vector<int64_t> counts(bins, 0);
    for (size_t i = 0; i < d.n; i++) {
        double x = d.get(i);
        if (!(x >= edges[0] && x <= edges[bins]))
            continue;
        for (size_t k = 0; k < bins; k++) {
            if (x >= edges[k] && (x < edges[k + 1] || k == bins - 1)) {
                counts[k]++;
                break;
            }
        }
    }
    return counts;
}

void CheckHistogram(const Data &d, uint32_t bins, double lo, double hi, const std::string &what)
{
    std::vector<double> edges = RefEdges(lo, hi, bins, d.dtype == LANES_DTYPE_F32);
    std::vector<int64_t> want = RefHistogram(d, edges);
    for (int threads : {1, 2, 3})
        for (const Chunker &ch : {Chunker{}, Chunker{1, 4097, 999}}) {
            Outcome o = Reduce(HistSpec(d.dtype, bins, lo, hi), d, ch, threads);
            ASSERT_EQ(o.rc, 0) << what << ": " << o.msg;
            ASSERT_EQ(o.res.bins, bins);
            EXPECT_EQ(o.res.dtype, LANES_DTYPE_I64);
            EXPECT_EQ(o.counts, want) << what << " threads=" << threads;
            ASSERT_EQ(o.edges.size(), edges.size());
            EXPECT_EQ(std::memcmp(o.edges.data(), edges.data(), edges.size() * sizeof(double)), 0) << what;
            int64_t total = 0;
            for (int64_t c : want)
                total += c;
            EXPECT_EQ(o.res.i, total);
        }
}

TEST(ReduceKernels, HistogramMatchesReference)
{
    uint64_t seed = 400;
    struct Range {
        uint32_t bins;
        double lo, hi;
    } ranges[] = {{10, -1.0, 1.0}, {1, 0.0, 1.0}, {7, -3.3, 2.9}, {100, 0.1, 0.7}, {3, 5.0, 5.0},
                  {64, -1e-3, 1e-3}, {13, 1e9, 1e9 + 1.0}};
    for (lanes_dtype_t dt : kAllDtypes)
        for (const Range &r : ranges) {
            if (dt == LANES_DTYPE_F32 && r.lo == 1e9)
                continue;  // float32 edges collapse there: "Too many bins", tested below
            std::mt19937_64 rng(seed++);
            const bool is_int = dt == LANES_DTYPE_I64 || dt == LANES_DTYPE_I32;
            const double width = r.hi - r.lo;
            std::uniform_real_distribution<double> u(r.lo - 0.2 * width - 2, r.hi + 0.2 * width + 2);
            std::vector<double> v;
            for (int i = 0; i < 12000; i++)
                v.push_back(is_int ? std::round(u(rng)) : u(rng));
            // values on and next to every edge, the range ends, specials
            std::vector<double> edges = RefEdges(r.lo, r.hi, r.bins, dt == LANES_DTYPE_F32);
            for (double e : edges) {
                v.push_back(e);
                if (!is_int) {
                    v.push_back(std::nextafter(e, -kInf));
                    v.push_back(std::nextafter(e, kInf));
                    v.push_back(std::nextafter(static_cast<float>(e), -HUGE_VALF));
                    v.push_back(std::nextafter(static_cast<float>(e), HUGE_VALF));
                }
            }
            v.push_back(r.lo);
            v.push_back(r.hi);
            if (!is_int) {
                v.push_back(kNaN);
                v.push_back(kInf);
                v.push_back(-kInf);
            }
            std::shuffle(v.begin(), v.end(), rng);
            Data d = FromDoubles(dt, v);
            CheckHistogram(d, r.bins, r.lo, r.hi,
                           std::string(lanes_dtype_name(dt)) + " bins=" + std::to_string(r.bins) + " [" +
                               std::to_string(r.lo) + ", " + std::to_string(r.hi) + "]");
        }
}

TEST(ReduceKernels, HistogramEdgeCases)
{
    // numpy: np.histogram([0, 0.5, 1, 1, 2, -1], bins=2, range=(0, 1)) -> [1, 3]
    Outcome o = Reduce(HistSpec(LANES_DTYPE_F64, 2, 0, 1), FromDoubles(LANES_DTYPE_F64, {0, 0.5, 1, 1, 2, -1}));
    EXPECT_EQ(o.counts, (std::vector<int64_t>{1, 3}));
    // lo == hi widens by 0.5: np.histogram([5, 5, 4.5, 5.5, 6], bins=2, range=(5, 5)) -> [1, 3]
    o = Reduce(HistSpec(LANES_DTYPE_F64, 2, 5, 5), FromDoubles(LANES_DTYPE_F64, {5, 5, 4.5, 5.5, 6}));
    EXPECT_EQ(o.counts, (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(o.edges, (std::vector<double>{4.5, 5.0, 5.5}));
    // int input
    o = Reduce(HistSpec(LANES_DTYPE_I32, 4, 0, 4), FromInts(LANES_DTYPE_I32, {0, 1, 2, 3, 4, 5, -1, 4}));
    EXPECT_EQ(o.counts, (std::vector<int64_t>{1, 1, 1, 3}));
    // float32 input uses float32 edges: 0.1f is above 0.1, so 0.1f falls in the second bin of [0, 0.2].
    o = Reduce(HistSpec(LANES_DTYPE_F32, 2, 0.0, 0.2), FromDoubles(LANES_DTYPE_F32, {0.1, 0.2}));
    EXPECT_EQ(o.edges[1], static_cast<double>(0.1f));
    EXPECT_EQ(o.counts, (std::vector<int64_t>{0, 2}));
    // the most bins, a few values
    std::vector<double> v;
    for (int i = 0; i < 300; i++)
        v.push_back(i / 299.0);
    CheckHistogram(FromDoubles(LANES_DTYPE_F64, v), LANES_HISTOGRAM_MAX_BINS, 0.0, 1.0, "max bins");
}

// ---- spec validation ----

void ExpectNewFails(const lanes_reduce_spec_t &spec, const std::string &words)
{
    lanes_error_t err;
    lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
    EXPECT_EQ(r, nullptr) << words;
    lanes_reducer_free(r);
    EXPECT_EQ(err.code, LANES_EINVAL);
    EXPECT_NE(std::strstr(err.msg, words.c_str()), nullptr) << "message '" << err.msg << "' lacks '" << words << "'";
}

TEST(ReduceKernels, SpecErrorsNameTheProblem)
{
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 0, 0, 1), "histogram needs bins >= 1");
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, LANES_HISTOGRAM_MAX_BINS + 1, 0, 1), "65536");
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 10, 0, 1, 0), "histogram needs a range (lo, hi): the input is streamed once");
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 10, 2, 1), "max must be larger than min in range parameter");
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 10, 0, kInf), "supplied range of [0.0, inf] is not finite");
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 10, kNaN, 1.5), "supplied range of [nan, 1.5] is not finite");
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 10, -kInf, 100000), "supplied range of [-inf, 100000.0] is not finite");
    // numpy checks the order first: lo = inf > hi
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 10, kInf, 0), "max must be larger than min in range parameter");
    // edges that do not increase: numpy's "Too many bins for data range"
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 3, 1e300, 1e300), "Too many bins for data range. Cannot create 3 finite-sized bins");
    ExpectNewFails(HistSpec(LANES_DTYPE_F32, 10, 1.0, 1.0 + 1e-9), "Too many bins for data range. Cannot create 10 finite-sized bins");
    ExpectNewFails(HistSpec(LANES_DTYPE_F32, 13, 1e9, 1e9 + 1), "Cannot create 13 finite-sized bins");
    ExpectNewFails(HistSpec(LANES_DTYPE_F64, 4, -1e308, 1e308), "Too many bins for data range");
    ExpectNewFails(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64, kNaN), "ddof must be finite, got nan");
    ExpectNewFails(Spec(LANES_REDUCE_STD, LANES_DTYPE_F64, -kInf), "ddof must be finite, got -inf");
    ExpectNewFails(Spec(LANES_REDUCE_SUM, LANES_DTYPE_INVALID), "dtype");
    ExpectNewFails(Spec(LANES_REDUCE_SUM, static_cast<lanes_dtype_t>(12)), "dtype");
    ExpectNewFails(Spec(LANES_REDUCE_N_OPS, LANES_DTYPE_F64), "op");
    lanes_error_t err;
    EXPECT_EQ(lanes_reducer_new(nullptr, &err), nullptr);
    EXPECT_EQ(err.code, LANES_EINVAL);
    // the float64 path accepts the same range in float64
    Outcome o = Reduce(HistSpec(LANES_DTYPE_F64, 10, 1.0, 1.0 + 1e-9), FromDoubles(LANES_DTYPE_F64, {1.0}));
    EXPECT_EQ(o.rc, 0);
    // ddof is ignored by ops that do not use it
    EXPECT_EQ(Reduce(Spec(LANES_REDUCE_SUM, LANES_DTYPE_F64, kNaN), FromDoubles(LANES_DTYPE_F64, {1})).rc, 0);
}

TEST(ReduceKernels, FinishOnceAndFeedArguments)
{
    lanes_reduce_spec_t spec = Spec(LANES_REDUCE_SUM, LANES_DTYPE_F64);
    lanes_reducer_t *r = lanes_reducer_new(&spec, nullptr);
    ASSERT_NE(r, nullptr);
    double x = 2.0;
    EXPECT_EQ(lanes_reducer_feed(r, nullptr, 0, 1), 0);
    EXPECT_EQ(lanes_reducer_feed(r, nullptr, 1, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_reducer_feed(r, &x, 1, 1), 0);
    lanes_reduce_result_t res;
    lanes_error_t err;
    ASSERT_EQ(lanes_reducer_finish(r, &res, &err), 0);
    EXPECT_EQ(res.f, 2.0);
    EXPECT_EQ(lanes_reducer_finish(r, &res, &err), LANES_EINVAL);
    EXPECT_EQ(lanes_reducer_feed(r, &x, 1, 1), LANES_EINVAL);
    lanes_reducer_free(r);
    lanes_reducer_free(nullptr);
}

// ---- bit identity over chunkings and threads ----

std::vector<Chunker> Chunkings(uint64_t seed)
{
    std::vector<Chunker> c = {{}, {1}, {4095}, {4096}, {4097}, {1, 4095, 4097, 8191, 3, 0}, {12288, 1}};
    std::mt19937_64 rng(seed);
    Chunker random;
    for (int i = 0; i < 40; i++)
        random.push_back(rng() % 3 == 0 ? rng() % 5 : rng() % 9000);
    random.push_back(1);
    c.push_back(random);
    return c;
}

TEST(ReduceKernels, BitIdenticalForEveryChunkingAndThreadCount)
{
    const size_t n = 5 * 4096 + 1234;
    uint64_t seed = 900;
    for (lanes_dtype_t dt : {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64}) {
        Data d = Random(dt, n, seed++, 12.5);
        std::vector<double> xs = AsDoubles(d);
        RefPart ref_sum = RefBlocked(xs, false), ref_mom = RefBlocked(xs, true);
        for (lanes_reduce_op_t op : {LANES_REDUCE_SUM, LANES_REDUCE_MEAN, LANES_REDUCE_VAR, LANES_REDUCE_STD}) {
            if (op == LANES_REDUCE_SUM && dt == LANES_DTYPE_I64)
                continue;  // exact integer sum: checked elsewhere
            double want;
            if (op == LANES_REDUCE_SUM)
                want = ref_sum.sum;
            else if (op == LANES_REDUCE_MEAN)
                want = ref_sum.sum / static_cast<double>(n);
            else
                want = ref_mom.m2 / (ref_mom.n - 1.0);
            if (op == LANES_REDUCE_STD)
                want = std::sqrt(want);
            for (const Chunker &ch : Chunkings(seed++))
                for (int threads : {1, 2, 3}) {
                    if (ch == Chunker{1} && threads == 2)
                        continue;  // 1-element chunks never reach the parallel path; keep the test fast
                    Outcome o = Reduce(Spec(op, dt, 1.0), d, ch, threads, threads == 3 ? 1 : 0);
                    ASSERT_EQ(o.rc, 0);
                    EXPECT_EQ(std::memcmp(&o.res.f, &want, sizeof want), 0)
                        << lanes_dtype_name(dt) << " " << lanes_reduce_op_name(op) << " chunks[0]="
                        << (ch.empty() ? 0 : ch[0]) << " threads=" << threads << ": " << o.res.f << " vs " << want;
                }
        }
    }
}

TEST(ReduceKernels, BitIdenticalBeyondOneParallelBatch)
{
    // More than 256 blocks in one feed: several parallel batches, pushed in order.
    const size_t n = 300 * 4096 + 77;
    Data d = Random(LANES_DTYPE_F64, n, 4242, -3.0);
    std::vector<double> xs = AsDoubles(d);
    RefPart ref_sum = RefBlocked(xs, false), ref_mom = RefBlocked(xs, true);
    for (const Chunker &ch : {Chunker{}, Chunker{300001}, Chunker{4097, 1048576}})
        for (int threads : {1, 2, 3}) {
            Outcome s = Reduce(Spec(LANES_REDUCE_SUM, LANES_DTYPE_F64), d, ch, threads);
            Outcome v = Reduce(Spec(LANES_REDUCE_VAR, LANES_DTYPE_F64), d, ch, threads);
            EXPECT_EQ(Bits(s.res.f), Bits(ref_sum.sum)) << "threads=" << threads;
            EXPECT_EQ(Bits(v.res.f), Bits(ref_mom.m2 / ref_mom.n)) << "threads=" << threads;
        }
}

TEST(ReduceKernels, UnalignedInput)
{
    for (lanes_dtype_t dt : kAllDtypes) {
        Data d = Random(dt, 10000, 31);
        for (lanes_reduce_op_t op : {LANES_REDUCE_SUM, LANES_REDUCE_VAR, LANES_REDUCE_MIN, LANES_REDUCE_ARGMAX}) {
            Outcome a = Reduce(Spec(op, dt), d, {}, 1, 0);
            Outcome b = Reduce(Spec(op, dt), d, {4097}, 2, 1);
            Outcome c = Reduce(Spec(op, dt), d, {3}, 1, 3);
            EXPECT_EQ(Bits(a.res.f), Bits(b.res.f));
            EXPECT_EQ(Bits(a.res.f), Bits(c.res.f));
            EXPECT_EQ(a.res.i, b.res.i);
            EXPECT_EQ(a.res.i, c.res.i);
        }
        Outcome h1 = Reduce(HistSpec(dt, 50, -1000, 1000), d, {}, 1, 0);
        Outcome h2 = Reduce(HistSpec(dt, 50, -1000, 1000), d, {4097}, 3, 1);
        EXPECT_EQ(h1.counts, h2.counts);
    }
}

}  // namespace
