// Unit tests of the expression language (lanes/expr.h; kernels/cpu/expr_parse.c, expr_vm.c,
// expr_cache.c).
//
// Design: every operator and function is run on arrays salted with NaN, +-inf, +-0, subnormals, huge
// values, halves (rounding) and random values, through every operand shape the VM has (array op
// array, array op scalar, scalar op array, with scalars as parameters so they can be NaN or inf), and
// compared with a reference computed here one element at a time with plain C++ and libm. Bounds: 0
// ULP everywhere. Arithmetic, sqrt, comparisons, where, min/max/clip, rounding and % are IEEE-exact
// or exact selections; transcendentals must equal the same libm call bit for bit, since both sides
// call it (NaN matches any NaN). Reference operands pass through volatile so the C++ compiler cannot
// fold a libm call with its own (correctly rounded) arithmetic.
//
// Then: precedence, numpy's remainder signs, half-to-even rounding, NaN-propagating min/max, the
// element index with offsets, every input dtype from unaligned pointers, float32 output, identical
// bits for thread counts 1/2/3 and for any split of [index0, index0 + n) across calls, fused reduce
// equal to eval + feed, aliases, constant folding as seen in lanes_expr_root, the cache (same object,
// distinct keys, refcounts, eviction), exact error messages and columns, the limits, and a small
// random-token fuzz of the compiler. The whole suite runs in well under a second (a few under ASan).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lanes/expr.h"
#include "lanes/kernels.h"
#include "lanes/random.h"

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

const double kSpecials[] = {kNaN,  -kNaN, kInf, -kInf, 0.0,   -0.0,    5e-324, -5e-324, 1e-310, 1e308,
                            -1e308, 0.5,  -0.5, 1.5,   -1.5,  2.5,     -2.5,   1.0,     -1.0,   2.0,
                            -2.0,  3.0,   -3.0, 0.75,  710.0, -745.0,  1e-30,  7.25,    -7.25,  100.0};
const size_t kNSpecials = sizeof kSpecials / sizeof kSpecials[0];

struct ExprDeleter {
    void operator()(lanes_expr_t *e) const { lanes_expr_free(e); }
};
using ExprPtr = std::unique_ptr<lanes_expr_t, ExprDeleter>;

lanes_expr_input_t ArrayIn(const char *name, lanes_dtype_t dt = LANES_DTYPE_F64)
{
    lanes_expr_input_t in;
    in.name = name;
    in.kind = LANES_SOURCE_ARRAY;
    in.dtype = dt;
    return in;
}

lanes_expr_binding_t Bind(const void *data)
{
    lanes_expr_binding_t b;
    std::memset(&b, 0, sizeof b);
    b.data = data;
    return b;
}

bool SameBits(double a, double b)
{
    if (std::isnan(a) && std::isnan(b))
        return true;
    uint64_t x, y;
    std::memcpy(&x, &a, 8);
    std::memcpy(&y, &b, 8);
    return x == y;
}

double Opaque(double v)
{
    volatile double x = v;
    return x;
}

// Compiles src for F64 array inputs x, y, z and parameters n, m; fails the test on error.
ExprPtr CompileXYZ(const std::string &src)
{
    lanes_expr_input_t in[3] = {ArrayIn("x"), ArrayIn("y"), ArrayIn("z")};
    const char *pn[2] = {"n", "m"};
    lanes_error_t err;
    lanes_expr_t *e = lanes_expr_compile(src.c_str(), in, 3, pn, 2, &err);
    EXPECT_NE(e, nullptr) << src << ": " << err.msg;
    return ExprPtr(e);
}

// Evaluates src on x, y, z (same length) with parameters n, m into float64.
std::vector<double> EvalXYZ(const std::string &src, const std::vector<double> &x, const std::vector<double> &y,
                            const std::vector<double> &z, double n = 0.0, double m = 0.0, int threads = 1)
{
    ExprPtr e = CompileXYZ(src);
    std::vector<double> out(x.size(), -123.0);
    if (!e)
        return out;
    lanes_expr_binding_t b[3] = {Bind(x.data()), Bind(y.data()), Bind(z.data())};
    double params[2] = {n, m};
    EXPECT_EQ(lanes_expr_eval(e.get(), b, params, 0, x.size(), out.data(), LANES_DTYPE_F64, threads), 0) << src;
    return out;
}

// Random values salted with every special value.
std::vector<double> Salted(size_t n, uint64_t seed, double lo = -10.0, double hi = 10.0)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<double> v(n);
    for (size_t k = 0; k < n; k++)
        v[k] = k < kNSpecials ? kSpecials[k] : (rng() % 8 == 0 ? kSpecials[rng() % kNSpecials] : u(rng));
    return v;
}

// Every pair of special values (x varies fastest), then random pairs.
void SpecialPairs(std::vector<double> *x, std::vector<double> *y, uint64_t seed)
{
    x->clear();
    y->clear();
    for (size_t a = 0; a < kNSpecials; a++)
        for (size_t b = 0; b < kNSpecials; b++) {
            x->push_back(kSpecials[b]);
            y->push_back(kSpecials[a]);
        }
    std::vector<double> rx = Salted(3000, seed), ry = Salted(3000, seed + 1);
    x->insert(x->end(), rx.begin(), rx.end());
    y->insert(y->end(), ry.begin(), ry.end());
}

#define EXPECT_BITS(got, want, what)                                                                   \
    EXPECT_TRUE(SameBits((got), (want))) << (what) << ": got " << (got) << " want " << (want)

// Compares out with ref(k) element by element, reporting at most 5 failures.
void ExpectAll(const std::vector<double> &out, const std::function<double(size_t)> &ref, const std::string &what)
{
    int failures = 0;
    for (size_t k = 0; k < out.size() && failures < 5; k++) {
        double want = ref(k);
        if (!SameBits(out[k], want)) {
            failures++;
            ADD_FAILURE() << what << " element " << k << ": got " << out[k] << " want " << want;
        }
    }
}

// ---- reference semantics, written independently of the kernels ----

double RefMod(double a, double b)  // numpy's npy_remainder, as written in numpy's npy_math
{
    double mod = std::fmod(Opaque(a), Opaque(b));
    if (b == 0.0)
        return mod;
    if (mod != 0.0 || std::isnan(mod)) {
        if ((b < 0) != (mod < 0))
            mod += b;
    } else {
        mod = std::copysign(0.0, b);
    }
    return mod;
}

double RefMin(double a, double b)
{
    if (std::isnan(a))
        return a;
    if (std::isnan(b))
        return b;
    return a <= b ? a : b;
}

double RefMax(double a, double b)
{
    if (std::isnan(a))
        return a;
    if (std::isnan(b))
        return b;
    return a >= b ? a : b;
}

double RefPowScalar(double x, double p)
{
    if (p == 2.0)
        return Opaque(x) * Opaque(x);
    if (p == 0.5)
        return std::sqrt(Opaque(x));
    if (p == -1.0)
        return 1.0 / Opaque(x);
    return std::pow(Opaque(x), Opaque(p));
}

bool Truth(double v) { return !(v == 0.0); }

// ---- operators and functions ----

struct Unary {
    const char *src;
    double (*ref)(double);
};

TEST(ExprOps, UnaryFunctionsMatchLibm)
{
    const Unary cases[] = {
        {"abs(x)", [](double a) { return std::fabs(Opaque(a)); }},
        {"sqrt(x)", [](double a) { return std::sqrt(Opaque(a)); }},
        {"cbrt(x)", [](double a) { return std::cbrt(Opaque(a)); }},
        {"exp(x)", [](double a) { return std::exp(Opaque(a)); }},
        {"expm1(x)", [](double a) { return std::expm1(Opaque(a)); }},
        {"log(x)", [](double a) { return std::log(Opaque(a)); }},
        {"log1p(x)", [](double a) { return std::log1p(Opaque(a)); }},
        {"log2(x)", [](double a) { return std::log2(Opaque(a)); }},
        {"log10(x)", [](double a) { return std::log10(Opaque(a)); }},
        {"sin(x)", [](double a) { return std::sin(Opaque(a)); }},
        {"cos(x)", [](double a) { return std::cos(Opaque(a)); }},
        {"tan(x)", [](double a) { return std::tan(Opaque(a)); }},
        {"asin(x)", [](double a) { return std::asin(Opaque(a)); }},
        {"acos(x)", [](double a) { return std::acos(Opaque(a)); }},
        {"atan(x)", [](double a) { return std::atan(Opaque(a)); }},
        {"sinh(x)", [](double a) { return std::sinh(Opaque(a)); }},
        {"cosh(x)", [](double a) { return std::cosh(Opaque(a)); }},
        {"tanh(x)", [](double a) { return std::tanh(Opaque(a)); }},
        {"floor(x)", [](double a) { return std::floor(Opaque(a)); }},
        {"ceil(x)", [](double a) { return std::ceil(Opaque(a)); }},
        {"round(x)", [](double a) { return std::nearbyint(Opaque(a)); }},
        {"trunc(x)", [](double a) { return std::trunc(Opaque(a)); }},
        {"-x", [](double a) { return -a; }},
        {"not x", [](double a) { return Truth(a) ? 0.0 : 1.0; }},
        {"x**2", [](double a) { return Opaque(a) * Opaque(a); }},
        {"square(x)", [](double a) { return Opaque(a) * Opaque(a); }},
        {"x**0.5", [](double a) { return std::sqrt(Opaque(a)); }},
        {"x**-1", [](double a) { return 1.0 / Opaque(a); }},
        {"x**3", [](double a) { return std::pow(Opaque(a), Opaque(3.0)); }},
        {"cube(x)", [](double a) { return Opaque(Opaque(a) * Opaque(a)) * Opaque(a); }},  // as the map API's cube
        {"pow(x, 2)", [](double a) { return std::pow(Opaque(a), Opaque(2.0)); }},
        {"2**x", [](double a) { return std::pow(Opaque(2.0), Opaque(a)); }},
    };
    // Small values too, for asin/acos; lengths straddle blocks.
    std::vector<double> x = Salted(5000, 1);
    std::vector<double> s = Salted(2000, 2, -1.0, 1.0);
    x.insert(x.end(), s.begin(), s.end());
    for (const Unary &c : cases) {
        std::vector<double> out = EvalXYZ(c.src, x, x, x);
        ExpectAll(out, [&](size_t k) { return c.ref(x[k]); }, c.src);
    }
}

struct Binary {
    const char *op;  // "+" or a function name
    bool fn;
    double (*ref)(double, double);
};

// pow's reference depends on the exponent's shape, so ** is checked separately.
const Binary kBinaries[] = {
    {"+", false, [](double a, double b) { return Opaque(a) + Opaque(b); }},
    {"-", false, [](double a, double b) { return Opaque(a) - Opaque(b); }},
    {"*", false, [](double a, double b) { return Opaque(a) * Opaque(b); }},
    {"/", false, [](double a, double b) { return Opaque(a) / Opaque(b); }},
    {"%", false, RefMod},
    {"<", false, [](double a, double b) { return a < b ? 1.0 : 0.0; }},
    {"<=", false, [](double a, double b) { return a <= b ? 1.0 : 0.0; }},
    {">", false, [](double a, double b) { return a > b ? 1.0 : 0.0; }},
    {">=", false, [](double a, double b) { return a >= b ? 1.0 : 0.0; }},
    {"==", false, [](double a, double b) { return a == b ? 1.0 : 0.0; }},
    {"!=", false, [](double a, double b) { return a != b ? 1.0 : 0.0; }},
    {"and", false, [](double a, double b) { return Truth(a) && Truth(b) ? 1.0 : 0.0; }},
    {"or", false, [](double a, double b) { return Truth(a) || Truth(b) ? 1.0 : 0.0; }},
    {"atan2", true, [](double a, double b) { return std::atan2(Opaque(a), Opaque(b)); }},
    {"min", true, RefMin},
    {"max", true, RefMax},
    {"hypot", true, [](double a, double b) { return std::hypot(Opaque(a), Opaque(b)); }},
    {"pow", true, [](double a, double b) { return std::pow(Opaque(a), Opaque(b)); }},
};

std::string BinSrc(const Binary &b, const std::string &l, const std::string &r)
{
    return b.fn ? std::string(b.op) + "(" + l + ", " + r + ")" : l + " " + b.op + " " + r;
}

TEST(ExprOps, BinaryArrayArray)
{
    std::vector<double> x, y;
    SpecialPairs(&x, &y, 10);
    for (const Binary &b : kBinaries) {
        std::string src = BinSrc(b, "x", "y");
        std::vector<double> out = EvalXYZ(src, x, y, x);
        ExpectAll(out, [&](size_t k) { return b.ref(x[k], y[k]); }, src);
    }
    std::string src = "x ** y";
    std::vector<double> out = EvalXYZ(src, x, y, x);
    ExpectAll(out, [&](size_t k) { return std::pow(Opaque(x[k]), Opaque(y[k])); }, src);
}

TEST(ExprOps, BinaryWithScalarOperands)
{
    // Scalars as parameters (any value, NaN and inf included) on either side, and as constants.
    std::vector<double> x = Salted(2100, 20);
    for (const Binary &b : kBinaries) {
        for (double n : kSpecials) {
            std::string vs = BinSrc(b, "x", "n"), sv = BinSrc(b, "n", "x");
            std::vector<double> o1 = EvalXYZ(vs, x, x, x, n), o2 = EvalXYZ(sv, x, x, x, n);
            ExpectAll(o1, [&](size_t k) { return b.ref(x[k], n); }, vs + " n=" + std::to_string(n));
            ExpectAll(o2, [&](size_t k) { return b.ref(n, x[k]); }, sv + " n=" + std::to_string(n));
        }
        std::string vc = BinSrc(b, "x", "2.5"), cv = BinSrc(b, "-0.0", "x");
        ExpectAll(EvalXYZ(vc, x, x, x), [&](size_t k) { return b.ref(x[k], 2.5); }, vc);
        ExpectAll(EvalXYZ(cv, x, x, x), [&](size_t k) { return b.ref(-0.0, x[k]); }, cv);
    }
    // ** with a scalar exponent takes numpy's fast paths; a scalar base never does.
    for (double n : kSpecials) {
        ExpectAll(EvalXYZ("x ** n", x, x, x, n), [&](size_t k) { return RefPowScalar(x[k], n); },
                  "x ** n, n=" + std::to_string(n));
        ExpectAll(EvalXYZ("power(x, n)", x, x, x, n), [&](size_t k) { return RefPowScalar(x[k], n); },
                  "power(x, n), n=" + std::to_string(n));
        ExpectAll(EvalXYZ("n ** x", x, x, x, n),
                  [&](size_t k) { return std::pow(Opaque(n), Opaque(x[k])); }, "n ** x");
    }
}

TEST(ExprOps, PowFastPathsAtSpecialValues)
{
    std::vector<double> x = {-0.0, 0.0, -kInf, kInf, kNaN, -1.0, 3.0};
    std::vector<double> sq = EvalXYZ("x**0.5", x, x, x);
    EXPECT_TRUE(std::signbit(sq[0]) && sq[0] == 0.0) << "sqrt(-0.0) is -0.0, pow(-0.0, 0.5) would be +0.0";
    EXPECT_TRUE(std::isnan(sq[2])) << "sqrt(-inf) is NaN, pow would give inf";
    std::vector<double> cpow = EvalXYZ("pow(x, 0.5)", x, x, x);
    EXPECT_FALSE(std::signbit(cpow[0]));
    EXPECT_EQ(cpow[2], kInf);
    std::vector<double> rc = EvalXYZ("x**-1", x, x, x);
    EXPECT_EQ(rc[0], -kInf);
    EXPECT_EQ(rc[1], kInf);
}

TEST(ExprOps, WhereAndClipAllShapes)
{
    std::vector<double> x, y;
    SpecialPairs(&x, &y, 30);
    std::vector<double> z = Salted(x.size(), 31);
    auto sel = [](double c, double a, double b) { return Truth(c) ? a : b; };
    ExpectAll(EvalXYZ("where(x > 0, sqrt(x), 0)", x, y, z),
              [&](size_t k) { return x[k] > 0 ? std::sqrt(x[k]) : 0.0; }, "where sqrt");
    ExpectAll(EvalXYZ("where(x, y, z)", x, y, z), [&](size_t k) { return sel(x[k], y[k], z[k]); }, "where vvv");
    ExpectAll(EvalXYZ("where(x, y, n)", x, y, z, kNaN), [&](size_t k) { return sel(x[k], y[k], kNaN); }, "vvs");
    ExpectAll(EvalXYZ("where(x, n, z)", x, y, z, -0.0), [&](size_t k) { return sel(x[k], -0.0, z[k]); }, "vsv");
    ExpectAll(EvalXYZ("where(x, n, m)", x, y, z, 1.0, 2.0), [&](size_t k) { return sel(x[k], 1.0, 2.0); }, "vss");
    for (double n : {0.0, -0.0, kNaN, 3.0})
        ExpectAll(EvalXYZ("where(n, y, z)", x, y, z, n), [&](size_t k) { return sel(n, y[k], z[k]); },
                  "where scalar condition");
    auto clip = [](double v, double lo, double hi) { return RefMin(RefMax(v, lo), hi); };
    ExpectAll(EvalXYZ("clip(x, y, z)", x, y, z), [&](size_t k) { return clip(x[k], y[k], z[k]); }, "clip vvv");
    for (double lo : {-1.0, kNaN, -kInf})
        for (double hi : {2.0, kNaN, kInf})
            ExpectAll(EvalXYZ("clip(x, n, m)", x, y, z, lo, hi), [&](size_t k) { return clip(x[k], lo, hi); },
                      "clip vss");
    ExpectAll(EvalXYZ("clip(x, n, z)", x, y, z, 0.5), [&](size_t k) { return clip(x[k], 0.5, z[k]); }, "clip vsv");
    ExpectAll(EvalXYZ("clip(n, y, z)", x, y, z, 0.5), [&](size_t k) { return clip(0.5, y[k], z[k]); }, "clip svv");
    std::vector<double> one = {1.0, kNaN, 5.0};
    std::vector<double> c = EvalXYZ("clip(x, 0, 2)", one, one, one);
    EXPECT_EQ(c[0], 1.0);
    EXPECT_TRUE(std::isnan(c[1]));
    EXPECT_EQ(c[2], 2.0);
}

TEST(ExprOps, RemainderSignsAsNumpy)
{
    struct {
        double a, b, want;
    } cases[] = {
        {5, 3, 2},      {-5, 3, 1},        {5, -3, -1},       {-5, -3, -2},    {3, 3, 0.0},   {3, -3, -0.0},
        {-3, 3, 0.0},   {-3, -3, -0.0},    {0.0, -2, -0.0},   {-0.0, 2, 0.0},  {5.5, 2, 1.5}, {-5.5, 2, 0.5},
        {1, 0, kNaN},   {1, -0.0, kNaN},   {kInf, 2, kNaN},   {2, kInf, 2},    {-2, kInf, kInf},
        {2, -kInf, -kInf}, {kNaN, 2, kNaN}, {2, kNaN, kNaN},
    };
    std::vector<double> x, y;
    for (auto &c : cases) {
        x.push_back(c.a);
        y.push_back(c.b);
    }
    std::vector<double> out = EvalXYZ("x % y", x, y, x);
    for (size_t k = 0; k < x.size(); k++)
        EXPECT_BITS(out[k], cases[k].want, std::to_string(x[k]) + " % " + std::to_string(y[k]));
    // folded constants agree
    ExprPtr e = CompileXYZ("-5 % 3");
    ASSERT_TRUE(e);
    EXPECT_EQ(lanes_expr_root(e.get())->op, LANES_EXPR_CONST);
    EXPECT_EQ(lanes_expr_root(e.get())->value, 1.0);
}

TEST(ExprOps, RoundHalfToEvenMinMaxNaN)
{
    std::vector<double> x = {0.5, 1.5, 2.5, -2.5, -0.5, 3.5, -1.5, 0.49999999999999994, 4503599627370497.0};
    std::vector<double> want = {0.0, 2.0, 2.0, -2.0, -0.0, 4.0, -2.0, 0.0, 4503599627370497.0};
    std::vector<double> out = EvalXYZ("round(x)", x, x, x);
    for (size_t k = 0; k < x.size(); k++)
        EXPECT_BITS(out[k], want[k], "round(" + std::to_string(x[k]) + ")");
    std::vector<double> a = {kNaN, 1.0, kNaN, -0.0, 0.0}, b = {1.0, kNaN, kNaN, 0.0, -0.0};
    std::vector<double> mn = EvalXYZ("min(x, y)", a, b, a), mx = EvalXYZ("max(x, y)", a, b, a);
    for (int k = 0; k < 3; k++) {
        EXPECT_TRUE(std::isnan(mn[k])) << k;
        EXPECT_TRUE(std::isnan(mx[k])) << k;
    }
    EXPECT_TRUE(std::signbit(mn[3]));  // ties keep the first argument, as numpy's minimum
    EXPECT_FALSE(std::signbit(mn[4]));
}

// ---- precedence ----

double EvalConst(const std::string &src)
{
    ExprPtr e = CompileXYZ(src);
    if (!e)
        return -999.0;
    double out = -999.0;
    double params[2] = {0, 0};
    EXPECT_EQ(lanes_expr_eval(e.get(), nullptr, params, 0, 1, &out, LANES_DTYPE_F64, 1), 0);
    return out;
}

TEST(ExprParse, PrecedenceAsPython)
{
    EXPECT_EQ(EvalConst("-2**2"), -4.0);
    EXPECT_EQ(EvalConst("2**-1"), 0.5);
    EXPECT_EQ(EvalConst("2**3**2"), 512.0);
    EXPECT_EQ(EvalConst("(2**3)**2"), 64.0);
    EXPECT_EQ(EvalConst("-2**-2"), -0.25);
    EXPECT_EQ(EvalConst("1-2-3"), -4.0);
    EXPECT_EQ(EvalConst("8/2/2"), 2.0);
    EXPECT_EQ(EvalConst("2*3+4*5"), 26.0);
    EXPECT_EQ(EvalConst("(1+2)*3"), 9.0);
    EXPECT_EQ(EvalConst("10 % 4 * 3"), 6.0);
    EXPECT_EQ(EvalConst("2 * 7 % 4"), 2.0);
    EXPECT_EQ(EvalConst("- - 3"), 3.0);
    EXPECT_EQ(EvalConst("+3 - -2"), 5.0);
    EXPECT_EQ(EvalConst("1 + 2 < 4"), 1.0);
    EXPECT_EQ(EvalConst("not 1 == 2"), 1.0);
    EXPECT_EQ(EvalConst("not 0 and 0"), 0.0);  // (not 0) and 0
    EXPECT_EQ(EvalConst("0 and 0 or 1"), 1.0);
    EXPECT_EQ(EvalConst("1 or 0 and 0"), 1.0);  // 1 or (0 and 0)
    EXPECT_EQ(EvalConst("not not 5"), 1.0);
    EXPECT_EQ(EvalConst("2 or 0"), 1.0);  // results are 1.0/0.0, not Python's operand
    EXPECT_EQ(EvalConst("1e-3 * 1000"), 1.0);
    EXPECT_EQ(EvalConst(".5 + 5. + 1E+1"), 15.5);
    EXPECT_EQ(EvalConst("pi"), 3.141592653589793);
    EXPECT_EQ(EvalConst("e"), 2.718281828459045);
    EXPECT_EQ(EvalConst("  3\t*\n2 "), 6.0);

    std::vector<double> x = Salted(3000, 40), y = Salted(3000, 41), z = Salted(3000, 42);
    ExpectAll(EvalXYZ("-x**2", x, y, z), [&](size_t k) { return -(Opaque(x[k]) * Opaque(x[k])); }, "-x**2");
    ExpectAll(EvalXYZ("x < y and not z", x, y, z),
              [&](size_t k) { return (x[k] < y[k]) && !Truth(z[k]) ? 1.0 : 0.0; }, "x < y and not z");
    ExpectAll(EvalXYZ("x - y - z", x, y, z),
              [&](size_t k) { return Opaque(Opaque(x[k]) - Opaque(y[k])) - Opaque(z[k]); }, "x - y - z");
    ExpectAll(EvalXYZ("x + y * z", x, y, z),
              [&](size_t k) { return Opaque(x[k]) + Opaque(Opaque(y[k]) * Opaque(z[k])); }, "x + y * z");
    ExpectAll(EvalXYZ("x / y / z", x, y, z),
              [&](size_t k) { return Opaque(Opaque(x[k]) / Opaque(y[k])) / Opaque(z[k]); }, "x / y / z");
}

// ---- index, dtypes, outputs ----

TEST(ExprEval, IndexIsGlobal)
{
    lanes_expr_input_t in = ArrayIn("x");
    lanes_error_t err;
    ExprPtr e(lanes_expr_compile("i * 2 + x", &in, 1, nullptr, 0, &err));
    ASSERT_TRUE(e) << err.msg;
    const size_t n = 5000;
    std::vector<double> x = Salted(n, 50), out(n);
    lanes_expr_binding_t b = Bind(x.data());
    for (uint64_t index0 : {uint64_t{0}, uint64_t{12345}, (uint64_t{1} << 53) - 100, uint64_t{1} << 60}) {
        ASSERT_EQ(lanes_expr_eval(e.get(), &b, nullptr, index0, n, out.data(), LANES_DTYPE_F64, 1), 0);
        ExpectAll(out,
                  [&](size_t k) { return Opaque(static_cast<double>(index0 + k) * 2.0) + Opaque(x[k]); },
                  "i * 2 + x at index0 " + std::to_string(index0));
    }
}

// Bytes of n random values of dtype dt, starting 'offset' bytes into the buffer.
std::vector<unsigned char> TypedBytes(lanes_dtype_t dt, size_t n, size_t offset, uint64_t seed,
                                      std::vector<double> *as_double)
{
    std::vector<unsigned char> buf(n * lanes_dtype_size(dt) + offset + 8, 0xAB);
    std::vector<double> v = Salted(n, seed, -1e6, 1e6);
    std::mt19937_64 rng(seed);
    as_double->resize(n);
    for (size_t k = 0; k < n; k++) {
        unsigned char *p = buf.data() + offset + k * lanes_dtype_size(dt);
        switch (dt) {
        case LANES_DTYPE_F64:
            std::memcpy(p, &v[k], 8);
            (*as_double)[k] = v[k];
            break;
        case LANES_DTYPE_F32: {
            float f = static_cast<float>(v[k]);
            std::memcpy(p, &f, 4);
            (*as_double)[k] = f;
            break;
        }
        case LANES_DTYPE_I64: {
            int64_t i = k % 7 == 0 ? static_cast<int64_t>(rng()) : static_cast<int64_t>(rng() % 2001) - 1000;
            std::memcpy(p, &i, 8);
            (*as_double)[k] = static_cast<double>(i);
            break;
        }
        default: {
            int32_t i = static_cast<int32_t>(static_cast<uint32_t>(rng()));
            std::memcpy(p, &i, 4);
            (*as_double)[k] = i;
            break;
        }
        }
    }
    return buf;
}

TEST(ExprEval, EveryDtypeUnalignedAndFloat32Output)
{
    const lanes_dtype_t dts[] = {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64, LANES_DTYPE_I32};
    const size_t n = 4099;
    for (lanes_dtype_t dx : dts) {
        for (lanes_dtype_t dy : dts) {
            std::vector<double> xd, yd;
            std::vector<unsigned char> xb = TypedBytes(dx, n, 1, 60, &xd), yb = TypedBytes(dy, n, 3, 61, &yd);
            lanes_expr_input_t in[2] = {ArrayIn("x", dx), ArrayIn("y", dy)};
            lanes_error_t err;
            ExprPtr e(lanes_expr_compile("x * 0.5 - sin(y)", in, 2, nullptr, 0, &err));
            ASSERT_TRUE(e) << err.msg;
            lanes_expr_binding_t b[2] = {Bind(xb.data() + 1), Bind(yb.data() + 3)};
            std::vector<unsigned char> o64(n * 8 + 1), o32(n * 4 + 1);
            ASSERT_EQ(lanes_expr_eval(e.get(), b, nullptr, 0, n, o64.data() + 1, LANES_DTYPE_F64, 2), 0);
            ASSERT_EQ(lanes_expr_eval(e.get(), b, nullptr, 0, n, o32.data() + 1, LANES_DTYPE_F32, 1), 0);
            int failures = 0;
            for (size_t k = 0; k < n && failures < 5; k++) {
                double want = Opaque(xd[k] * 0.5) - std::sin(Opaque(yd[k]));
                double got;
                float got32;
                std::memcpy(&got, o64.data() + 1 + 8 * k, 8);
                std::memcpy(&got32, o32.data() + 1 + 4 * k, 4);
                if (!SameBits(got, want) || !SameBits(got32, static_cast<float>(want))) {
                    failures++;
                    ADD_FAILURE() << lanes_dtype_name(dx) << "/" << lanes_dtype_name(dy) << " element " << k
                                  << ": got " << got << " / " << got32 << " want " << want;
                }
            }
        }
    }
}

TEST(ExprEval, PlainInputAlignedOrNotAnyDtypeOut)
{
    // "x" is the input as it is: read in place when aligned, converted through a register when not.
    const size_t n = 2500;
    std::vector<double> xd;
    std::vector<unsigned char> xb = TypedBytes(LANES_DTYPE_F64, n, 8, 65, &xd);
    lanes_expr_input_t in = ArrayIn("x");
    lanes_error_t err;
    ExprPtr e(lanes_expr_compile("x", &in, 1, nullptr, 0, &err));
    ASSERT_TRUE(e);
    for (size_t in_off : {0, 1, 4})
        for (size_t out_off : {0, 3}) {
            std::vector<unsigned char> src(n * 8 + 16), o64(n * 8 + 16), o32(n * 4 + 16);
            std::memcpy(src.data() + in_off, xb.data() + 8, n * 8);
            lanes_expr_binding_t b = Bind(src.data() + in_off);
            ASSERT_EQ(lanes_expr_eval(e.get(), &b, nullptr, 0, n, o64.data() + out_off, LANES_DTYPE_F64, 2), 0);
            ASSERT_EQ(lanes_expr_eval(e.get(), &b, nullptr, 0, n, o32.data() + out_off, LANES_DTYPE_F32, 1), 0);
            EXPECT_EQ(std::memcmp(o64.data() + out_off, src.data() + in_off, n * 8), 0) << in_off << " " << out_off;
            for (size_t k = 0; k < n; k++) {
                float f;
                std::memcpy(&f, o32.data() + out_off + 4 * k, 4);
                ASSERT_TRUE(SameBits(f, static_cast<float>(xd[k]))) << k;
            }
        }
    // evaluated in place: out is the input
    std::vector<double> x = Salted(n, 66);
    std::vector<double> y = x;
    lanes_expr_binding_t b = Bind(y.data());
    ASSERT_EQ(lanes_expr_eval(e.get(), &b, nullptr, 0, n, y.data(), LANES_DTYPE_F64, 1), 0);
    EXPECT_EQ(std::memcmp(x.data(), y.data(), n * 8), 0);
}

TEST(ExprEval, GeneratedInputs)
{
    lanes_expr_input_t in[3] = {{"r", LANES_SOURCE_RANGE, LANES_DTYPE_INVALID},
                                {"u", LANES_SOURCE_UNIFORM, LANES_DTYPE_INVALID},
                                {"g", LANES_SOURCE_NORMAL, LANES_DTYPE_INVALID}};
    lanes_error_t err;
    ExprPtr er(lanes_expr_compile("r", in, 3, nullptr, 0, &err));
    ExprPtr eu(lanes_expr_compile("u", in, 3, nullptr, 0, &err));
    ExprPtr eg(lanes_expr_compile("g", in, 3, nullptr, 0, &err));
    ASSERT_TRUE(er && eu && eg);
    EXPECT_EQ(lanes_expr_uses_input(er.get(), 0), 1);
    EXPECT_EQ(lanes_expr_uses_input(er.get(), 1), 0);
    lanes_expr_binding_t b[3];
    std::memset(b, 0, sizeof b);
    b[0].start = -3.25;
    b[0].step = 0.1;
    b[1].seed = 42;
    b[2].seed = 7;
    const size_t n = 3000;
    const uint64_t index0 = 1000003;
    std::vector<double> o(n);
    ASSERT_EQ(lanes_expr_eval(er.get(), b, nullptr, index0, n, o.data(), LANES_DTYPE_F64, 1), 0);
    ExpectAll(o, [&](size_t k) { return -3.25 + Opaque(0.1 * static_cast<double>(index0 + k)); }, "range");
    ASSERT_EQ(lanes_expr_eval(eu.get(), b, nullptr, index0, n, o.data(), LANES_DTYPE_F64, 1), 0);
    ExpectAll(o, [&](size_t k) { return lanes_uniform_at(42, index0 + k); }, "uniform");
    ASSERT_EQ(lanes_expr_eval(eg.get(), b, nullptr, index0, n, o.data(), LANES_DTYPE_F64, 1), 0);
    ExpectAll(o, [&](size_t k) { return lanes_normal_at(7, index0 + k); }, "normal");
}

// An expression over every kind of input, i, parameters and many ops.
struct Mixed {
    ExprPtr e;
    std::vector<unsigned char> xb;
    std::vector<double> y;
    lanes_expr_binding_t b[5];
    double params[2] = {0.75, -2.0};

    explicit Mixed(size_t n)
    {
        lanes_expr_input_t in[5] = {ArrayIn("x", LANES_DTYPE_F32), ArrayIn("y"),
                                    {"r", LANES_SOURCE_RANGE, LANES_DTYPE_INVALID},
                                    {"u", LANES_SOURCE_UNIFORM, LANES_DTYPE_INVALID},
                                    {"g", LANES_SOURCE_NORMAL, LANES_DTYPE_INVALID}};
        const char *pn[2] = {"a", "b"};
        lanes_error_t err;
        e.reset(lanes_expr_compile(
            "where(x > a, sqrt(abs(x)) * exp(-u), y % 3 - g) + clip(r, b, 5) * (i % 7) + hypot(x, y) ** a",
            in, 5, pn, 2, &err));
        EXPECT_TRUE(e) << err.msg;
        std::vector<double> xd;
        xb = TypedBytes(LANES_DTYPE_F32, n, 1, 70, &xd);
        y = Salted(n, 71);
        std::memset(b, 0, sizeof b);
        b[0].data = xb.data() + 1;
        b[1].data = y.data();
        b[2].start = -10;
        b[2].step = 0.001;
        b[3].seed = 5;
        b[4].seed = 6;
    }
    // Bindings for elements starting at 'off' of this job.
    void At(size_t off, lanes_expr_binding_t *out) const
    {
        std::memcpy(out, b, sizeof b);
        out[0].data = static_cast<const unsigned char *>(b[0].data) + 4 * off;
        out[1].data = y.data() + off;
    }
};

TEST(ExprEval, ThreadsAndSplitsGiveIdenticalBits)
{
    const size_t n = 20011;
    const uint64_t index0 = 777;
    Mixed m(n);
    ASSERT_TRUE(m.e);
    std::vector<double> ref(n), out(n);
    ASSERT_EQ(lanes_expr_eval(m.e.get(), m.b, m.params, index0, n, ref.data(), LANES_DTYPE_F64, 1), 0);
    for (int threads : {2, 3, 8}) {
        std::fill(out.begin(), out.end(), 0.0);
        ASSERT_EQ(lanes_expr_eval(m.e.get(), m.b, m.params, index0, n, out.data(), LANES_DTYPE_F64, threads), 0);
        EXPECT_EQ(std::memcmp(ref.data(), out.data(), n * 8), 0) << "threads " << threads;
    }
    std::mt19937_64 rng(80);
    for (int trial = 0; trial < 4; trial++) {
        std::fill(out.begin(), out.end(), 0.0);
        size_t off = 0;
        while (off < n) {
            size_t len = std::min<size_t>(n - off, 1 + rng() % (trial == 0 ? 7 : 6000));
            lanes_expr_binding_t b[5];
            m.At(off, b);
            ASSERT_EQ(lanes_expr_eval(m.e.get(), b, m.params, index0 + off, len, out.data() + off, LANES_DTYPE_F64,
                                      1 + static_cast<int>(rng() % 3)),
                      0);
            off += len;
        }
        EXPECT_EQ(std::memcmp(ref.data(), out.data(), n * 8), 0) << "split trial " << trial;
    }
}

TEST(ExprEval, ReduceEqualsEvalThenFeed)
{
    const size_t n = 300007;  // more than one 256K piece
    Mixed m(n);
    ASSERT_TRUE(m.e);
    std::vector<double> all(n);
    ASSERT_EQ(lanes_expr_eval(m.e.get(), m.b, m.params, 5, n, all.data(), LANES_DTYPE_F64, 1), 0);
    const lanes_reduce_op_t ops[] = {LANES_REDUCE_SUM, LANES_REDUCE_VAR, LANES_REDUCE_ARGMAX};
    for (lanes_reduce_op_t op : ops) {
        for (int threads : {1, 2}) {
            lanes_reduce_spec_t spec;
            std::memset(&spec, 0, sizeof spec);
            spec.op = op;
            spec.dtype = LANES_DTYPE_F64;
            lanes_error_t err;
            lanes_reducer_t *r1 = lanes_reducer_new(&spec, &err);
            lanes_reducer_t *r2 = lanes_reducer_new(&spec, &err);
            ASSERT_TRUE(r1 && r2);
            ASSERT_EQ(lanes_reducer_feed(r1, all.data(), n, 1), 0);
            ASSERT_EQ(lanes_expr_reduce(m.e.get(), m.b, m.params, 5, n, r2, threads), 0);
            EXPECT_EQ(lanes_reducer_count(r2), n);
            lanes_reduce_result_t a, b;
            ASSERT_EQ(lanes_reducer_finish(r1, &a, &err), 0);
            ASSERT_EQ(lanes_reducer_finish(r2, &b, &err), 0);
            EXPECT_TRUE(SameBits(a.f, b.f)) << lanes_reduce_op_name(op) << ": " << a.f << " vs " << b.f;
            EXPECT_EQ(a.i, b.i);
            lanes_reducer_free(r1);
            lanes_reducer_free(r2);
        }
    }
}

TEST(ExprEval, ArgumentChecks)
{
    lanes_expr_input_t in[2] = {ArrayIn("x"), ArrayIn("unused")};
    const char *pn[1] = {"n"};
    lanes_error_t err;
    ExprPtr e(lanes_expr_compile("x * n", in, 2, pn, 1, &err));
    ASSERT_TRUE(e);
    EXPECT_EQ(lanes_expr_uses_input(e.get(), 0), 1);
    EXPECT_EQ(lanes_expr_uses_input(e.get(), 1), 0);
    EXPECT_EQ(lanes_expr_uses_input(e.get(), 9), 0);
    double x[3] = {1, 2, 3}, out[3], n = 2;
    lanes_expr_binding_t b[2] = {Bind(x), Bind(nullptr)};  // an unused input needs no data
    EXPECT_EQ(lanes_expr_eval(e.get(), b, &n, 0, 3, out, LANES_DTYPE_F64, 1), 0);
    EXPECT_EQ(out[2], 6.0);
    EXPECT_EQ(lanes_expr_eval(e.get(), b, &n, 0, 3, out, LANES_DTYPE_I64, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_expr_eval(e.get(), b, nullptr, 0, 3, out, LANES_DTYPE_F64, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_expr_eval(e.get(), nullptr, &n, 0, 3, out, LANES_DTYPE_F64, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_expr_eval(e.get(), b, &n, 0, 3, nullptr, LANES_DTYPE_F64, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_expr_eval(nullptr, b, &n, 0, 3, out, LANES_DTYPE_F64, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_expr_eval(e.get(), b, &n, 0, 0, nullptr, LANES_DTYPE_F64, 1), 0);
    EXPECT_EQ(lanes_expr_eval(e.get(), b, &n, UINT64_MAX, 3, out, LANES_DTYPE_F64, 1), LANES_EINVAL);
    b[0].data = nullptr;
    EXPECT_EQ(lanes_expr_eval(e.get(), b, &n, 0, 3, out, LANES_DTYPE_F64, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_expr_reduce(e.get(), b, &n, 0, 3, nullptr, 1), LANES_EINVAL);
    // a constant expression fills the output, float32 rounded once
    ExprPtr c(lanes_expr_compile("1/3 + n", in, 2, pn, 1, &err));
    ASSERT_TRUE(c);
    std::vector<float> f(1000);
    ASSERT_EQ(lanes_expr_eval(c.get(), nullptr, &n, 0, f.size(), f.data(), LANES_DTYPE_F32, 3), 0);
    for (float v : f)
        ASSERT_EQ(v, static_cast<float>(Opaque(1.0 / 3.0) + 2.0));
}

// ---- aliases and folding ----

TEST(ExprParse, AliasesExpand)
{
    std::vector<double> x = Salted(2500, 90);
    ExpectAll(EvalXYZ("affine(x, n, m)", x, x, x, 1.1, -0.3),
              [&](size_t k) { return Opaque(1.1 * Opaque(x[k])) + -0.3; }, "affine");
    ExpectAll(EvalXYZ("power(x, 3.5)", x, x, x), [&](size_t k) { return std::pow(Opaque(x[k]), 3.5); }, "power");
    ExprPtr e = CompileXYZ("affine(x, n, m)");
    ASSERT_TRUE(e);
    const lanes_expr_node_t *r = lanes_expr_root(e.get());
    ASSERT_EQ(r->op, LANES_EXPR_ADD);
    ASSERT_EQ(r->args[0]->op, LANES_EXPR_MUL);
    EXPECT_EQ(r->args[0]->args[0]->op, LANES_EXPR_PARAM);
    EXPECT_EQ(r->args[0]->args[0]->slot, 0);
    EXPECT_EQ(r->args[0]->args[1]->op, LANES_EXPR_INPUT);
    EXPECT_EQ(r->args[1]->op, LANES_EXPR_PARAM);
    EXPECT_EQ(r->args[1]->slot, 1);
    ExprPtr s = CompileXYZ("square(x)");
    ASSERT_TRUE(s);
    EXPECT_EQ(lanes_expr_root(s.get())->op, LANES_EXPR_POW);
    EXPECT_EQ(lanes_expr_root(s.get())->args[1]->value, 2.0);

    const char *const *names = lanes_expr_function_names();
    std::vector<std::string> list;
    for (size_t k = 0; names[k]; k++)
        list.push_back(names[k]);
    for (const char *want : {"abs", "atan2", "clip", "where", "square", "cube", "power", "affine", "round"})
        EXPECT_NE(std::find(list.begin(), list.end(), want), list.end()) << want;
}

TEST(ExprParse, ConstantFoldingInTheTree)
{
    ExprPtr e = CompileXYZ("2*pi");
    ASSERT_TRUE(e);
    const lanes_expr_node_t *r = lanes_expr_root(e.get());
    EXPECT_EQ(r->op, LANES_EXPR_CONST);
    EXPECT_EQ(r->n_args, 0);
    EXPECT_EQ(r->value, 2 * 3.141592653589793);
    EXPECT_EQ(r->column, 1);

    e = CompileXYZ("x + sin(0.5) * 2");
    ASSERT_TRUE(e);
    r = lanes_expr_root(e.get());
    ASSERT_EQ(r->op, LANES_EXPR_ADD);
    EXPECT_EQ(r->column, 1);
    EXPECT_EQ(r->args[0]->op, LANES_EXPR_INPUT);
    EXPECT_EQ(r->args[1]->op, LANES_EXPR_CONST);
    EXPECT_EQ(r->args[1]->column, 5);
    EXPECT_EQ(r->args[1]->value, std::sin(Opaque(0.5)) * 2);

    // x*2*pi is (x*2)*pi: nothing to fold without reassociating
    e = CompileXYZ("x*2*pi");
    ASSERT_TRUE(e);
    r = lanes_expr_root(e.get());
    ASSERT_EQ(r->op, LANES_EXPR_MUL);
    EXPECT_EQ(r->args[0]->op, LANES_EXPR_MUL);
    EXPECT_EQ(r->args[1]->op, LANES_EXPR_CONST);

    // parameters and i are not constants; a constant where() condition picks its branch
    e = CompileXYZ("n * 2 + i");
    ASSERT_TRUE(e);
    r = lanes_expr_root(e.get());
    EXPECT_EQ(r->args[0]->op, LANES_EXPR_MUL);
    EXPECT_EQ(r->args[1]->op, LANES_EXPR_INDEX);
    EXPECT_EQ(r->args[1]->column, 9);
    e = CompileXYZ("where(1 < 2, y, x)");
    ASSERT_TRUE(e);
    EXPECT_EQ(lanes_expr_root(e.get())->op, LANES_EXPR_INPUT);
    EXPECT_EQ(lanes_expr_root(e.get())->slot, 1);
    EXPECT_EQ(lanes_expr_uses_input(e.get(), 0), 0);
    EXPECT_EQ(lanes_expr_uses_input(e.get(), 1), 1);

    // folding uses the VM's functions: same bits as the evaluated form
    std::vector<double> x = {0.5, 2.5, -7.25, 1e-3};
    for (const char *f : {"exp(%s)", "round(%s)", "%s %% -3", "%s ** 3", "%s ** 0.5", "cbrt(%s)", "pow(%s, 2)"}) {
        for (double v : x) {
            char folded[64], live[64];
            std::snprintf(folded, sizeof folded, f, ("(" + std::to_string(v) + ")").c_str());
            std::snprintf(live, sizeof live, f, "x");
            std::vector<double> xs(1, std::stod(std::to_string(v)));
            double a = EvalConst(folded);
            double b = EvalXYZ(live, xs, xs, xs)[0];
            EXPECT_BITS(a, b, folded);
        }
    }
}

// ---- cache ----

TEST(ExprCache, SharesAndCountsReferences)
{
    lanes_expr_cache_clear();
    lanes_expr_input_t in[2] = {ArrayIn("x"), ArrayIn("y", LANES_DTYPE_F32)};
    const char *pn[2] = {"n", "m"};
    const char *pn2[2] = {"n", "k"};
    lanes_error_t err;
    lanes_expr_t *a = lanes_expr_acquire("x * n + y", in, 2, pn, 2, &err);
    lanes_expr_t *b = lanes_expr_acquire("x * n + y", in, 2, pn, 2, &err);
    ASSERT_TRUE(a);
    EXPECT_EQ(a, b);
    lanes_expr_t *c = lanes_expr_acquire("x * n + y", in, 2, pn2, 2, &err);  // other parameter names
    EXPECT_NE(c, a);
    lanes_expr_input_t in2[2] = {ArrayIn("x"), ArrayIn("y", LANES_DTYPE_I32)};
    lanes_expr_t *d = lanes_expr_acquire("x * n + y", in2, 2, pn, 2, &err);  // other dtype
    EXPECT_NE(d, a);
    EXPECT_NE(d, c);
    lanes_expr_t *f = lanes_expr_acquire("x * n + y ", in, 2, pn, 2, &err);  // other source
    EXPECT_NE(f, a);
    lanes_expr_cache_stats_t st;
    lanes_expr_cache_stats(&st);
    EXPECT_EQ(st.entries, 4u);
    EXPECT_EQ(st.capacity, 64u);

    // a released but cached expression is still the same object; one held past a clear still works
    lanes_expr_release(b);
    lanes_expr_t *a2 = lanes_expr_acquire("x * n + y", in, 2, pn, 2, &err);
    EXPECT_EQ(a2, a);
    lanes_expr_cache_clear();
    lanes_expr_cache_stats(&st);
    EXPECT_EQ(st.entries, 0u);
    double x[2] = {1, 2}, out[2], params[2] = {3, 0};
    float y[2] = {0.5f, 0.25f};
    lanes_expr_binding_t bd[2] = {Bind(x), Bind(y)};
    ASSERT_EQ(lanes_expr_eval(a, bd, params, 0, 2, out, LANES_DTYPE_F64, 1), 0);
    EXPECT_EQ(out[1], 6.25);
    lanes_expr_release(a);
    ASSERT_EQ(lanes_expr_eval(a2, bd, params, 0, 2, out, LANES_DTYPE_F64, 1), 0);  // a2 is a's last holder
    lanes_expr_release(a2);  // freed here (ASan/LSan would see a leak or a use after free otherwise)
    lanes_expr_t *a3 = lanes_expr_acquire("x * n + y", in, 2, pn, 2, &err);
    ASSERT_TRUE(a3);
    lanes_expr_release(a3);
    lanes_expr_release(c);
    lanes_expr_release(d);
    lanes_expr_release(f);

    // errors are reported and not cached
    EXPECT_EQ(lanes_expr_acquire("sine(x)", in, 2, pn, 2, &err), nullptr);
    EXPECT_EQ(err.code, LANES_EINVAL);
    EXPECT_EQ(err.column, 1);

    // bounded: 100 distinct expressions leave 64, the oldest evicted even while held
    std::vector<lanes_expr_t *> held;
    for (int k = 0; k < 100; k++)
        held.push_back(lanes_expr_acquire(("x + " + std::to_string(k)).c_str(), in, 2, pn, 2, &err));
    lanes_expr_cache_stats(&st);
    EXPECT_EQ(st.entries, 64u);
    EXPECT_GE(st.evictions, 36u);
    lanes_expr_t *again = lanes_expr_acquire("x + 99", in, 2, pn, 2, &err);
    EXPECT_EQ(again, held[99]);
    lanes_expr_release(again);
    for (lanes_expr_t *h : held) {
        ASSERT_EQ(lanes_expr_eval(h, bd, params, 0, 2, out, LANES_DTYPE_F64, 1), 0);
        lanes_expr_release(h);
    }
    // a plain compiled expression can be released too
    lanes_expr_release(lanes_expr_compile("x", in, 2, pn, 2, &err));
    lanes_expr_cache_clear();
}

TEST(ExprCache, ConcurrentAcquire)
{
    lanes_expr_cache_clear();
    lanes_expr_input_t in = ArrayIn("x");
    std::vector<lanes_expr_t *> got(64, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&, t] {
            for (int k = t; k < 64; k += 4) {
                lanes_error_t err;
                got[k] = lanes_expr_acquire(k % 2 ? "x * 2" : "x * 3", &in, 1, nullptr, 0, &err);
            }
        });
    }
    for (auto &th : threads)
        th.join();
    for (int k = 2; k < 64; k++)
        EXPECT_EQ(got[k], got[k % 2]);
    for (lanes_expr_t *e : got)
        lanes_expr_release(e);
    lanes_expr_cache_clear();
}

// ---- errors ----

struct ErrCase {
    const char *src;
    int column;
    const char *msg;
};

TEST(ExprErrors, ExactMessagesAndColumns)
{
    const ErrCase cases[] = {
        {"sine(x)", 1, "unknown function 'sine' at column 1\n  sine(x)\n  ^"},
        {"x + q", 5, "unknown name 'q' at column 5 (inputs: x, y, z; parameters: n, m)\n  x + q\n      ^"},
        {"sin(x))", 7, "unexpected ')' at column 7\n  sin(x))\n        ^"},
        {"(x + 1", 7, "expected ')' at end of expression\n  (x + 1\n        ^"},
        {"atan2(x)", 1, "function 'atan2' takes 2 arguments, got 1 at column 1\n  atan2(x)\n  ^"},
        {"sqrt(x, y)", 1, "function 'sqrt' takes 1 argument, got 2 at column 1\n  sqrt(x, y)\n  ^"},
        {"x < y < 1", 7,
         "comparisons cannot be chained at column 7 (write a < b and b < c)\n  x < y < 1\n        ^"},
        {"x +", 4, "expected a value at end of expression\n  x +\n     ^"},
        {"", 1, "empty expression\n  \n  ^"},
        {"x $ y", 3, "unexpected character '$' at column 3\n  x $ y\n    ^"},
        {"2x + 1", 1, "invalid number '2x' at column 1\n  2x + 1\n  ^"},
        {"1e+ 2", 1, "invalid number '1e' at column 1\n  1e+ 2\n  ^"},
        {"x = 1", 3, "unexpected character '=' at column 3 (use '==' to compare)\n  x = 1\n    ^"},
        {"x ^ 2", 3, "unexpected character '^' at column 3 (use '**' for powers)\n  x ^ 2\n    ^"},
        {"x // 2", 3,
         "unexpected character '//' at column 3 (floor division is not supported: write floor(a / b))\n"
         "  x // 2\n    ^"},
        {"sin + 1", 1, "function 'sin' needs its arguments: sin(...) at column 1\n  sin + 1\n  ^"},
        {"x y", 3, "unexpected name 'y' at column 3\n  x y\n    ^"},
        {"x and", 6, "expected a value at end of expression\n  x and\n       ^"},
        {"max(x, y", 9, "expected ')' at end of expression\n  max(x, y\n          ^"},
        {"max(x y)", 7, "unexpected name 'y' at column 7 (expected ',' or ')')\n  max(x y)\n        ^"},
        {"x * (1 2)", 8, "unexpected number '2' at column 8 (expected ')')\n  x * (1 2)\n         ^"},
        {"not", 4, "expected a value at end of expression\n  not\n     ^"},
        {"x + or", 5, "unexpected 'or' at column 5\n  x + or\n      ^"},
        {"x\t@", 3, "unexpected character '@' at column 3\n  x @\n    ^"},
        {"x + \xc3\xa9", 5, "unexpected character 0xc3 at column 5\n  x + ??\n      ^"},
    };
    for (const ErrCase &c : cases) {
        lanes_expr_input_t in[3] = {ArrayIn("x"), ArrayIn("y"), ArrayIn("z")};
        const char *pn[2] = {"n", "m"};
        lanes_error_t err;
        lanes_expr_t *e = lanes_expr_compile(c.src, in, 3, pn, 2, &err);
        EXPECT_EQ(e, nullptr) << c.src;
        lanes_expr_free(e);
        EXPECT_EQ(err.code, LANES_EINVAL) << c.src;
        EXPECT_EQ(err.column, c.column) << c.src;
        EXPECT_EQ(std::string(err.msg), c.msg) << c.src;
    }
}

TEST(ExprErrors, LongSourceExcerpt)
{
    std::string src = "x + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17 + q + 18 + 19 + "
                      "20 + 21 + 22 + 23 + 24 + 25 + 26 + 27 + 28";
    lanes_expr_input_t in = ArrayIn("x");
    lanes_error_t err;
    EXPECT_EQ(lanes_expr_compile(src.c_str(), &in, 1, nullptr, 0, &err), nullptr);
    EXPECT_EQ(err.column, 81);
    // 35 characters either side of the column, "..." where cut; the caret under the q
    EXPECT_EQ(std::string(err.msg),
              "unknown name 'q' at column 81 (inputs: x; parameters: none)\n"
              "  ...11 + 12 + 13 + 14 + 15 + 16 + 17 + q + 18 + 19 + 20 + 21 + 22 + 23 + 2...\n"
              "                                        ^");
    // near the end the window ends at the source's end
    src = std::string(100, ' ') + "x +";
    EXPECT_EQ(lanes_expr_compile(src.c_str(), &in, 1, nullptr, 0, &err), nullptr);
    EXPECT_EQ(err.column, 104);
    std::string msg = err.msg;
    EXPECT_EQ(msg.substr(0, msg.find('\n')), "expected a value at end of expression");
    EXPECT_NE(msg.find("x +\n"), std::string::npos) << msg;
    EXPECT_EQ(msg.substr(msg.rfind('\n') + 1), std::string(2 + 3 + 70, ' ') + "^");
}

TEST(ExprErrors, Declarations)
{
    struct {
        std::vector<const char *> inputs, params;
        const char *msg;
    } cases[] = {
        {{"sin"}, {}, "input name 'sin' is the name of a function"},
        {{"x"}, {"where"}, "parameter name 'where' is the name of a function"},
        {{"pi"}, {}, "input name 'pi' is reserved (pi and e are constants, i is the element index)"},
        {{"x"}, {"i"}, "parameter name 'i' is reserved (pi and e are constants, i is the element index)"},
        {{"e"}, {}, "input name 'e' is reserved (pi and e are constants, i is the element index)"},
        {{"and"}, {}, "input name 'and' is a keyword"},
        {{"x", "x"}, {}, "name 'x' is given twice (inputs 0 and 1)"},
        {{"x"}, {"x"}, "name 'x' is given twice (input 0 and parameter 0)"},
        {{"x"}, {"n", "n"}, "name 'n' is given twice (parameters 0 and 1)"},
        {{"2x"}, {}, "input name '2x' is not a valid name (letters, digits and '_', not starting with a digit)"},
        {{""}, {}, "input 0 has no name"},
        {{"x", "y", "z", "a", "b", "c", "d", "f", "g"}, {}, "too many inputs (9, limit 8)"},
    };
    for (auto &c : cases) {
        std::vector<lanes_expr_input_t> in;
        for (const char *name : c.inputs)
            in.push_back(ArrayIn(name));
        lanes_error_t err;
        EXPECT_EQ(lanes_expr_compile("1", in.data(), in.size(), c.params.data(), c.params.size(), &err), nullptr);
        EXPECT_EQ(err.code, LANES_EINVAL);
        EXPECT_EQ(err.column, 0);
        EXPECT_EQ(std::string(err.msg), c.msg);
    }
    std::vector<std::string> names;
    for (int k = 0; k < 33; k++)
        names.push_back("p" + std::to_string(k));
    std::vector<const char *> pn;
    for (auto &s : names)
        pn.push_back(s.c_str());
    lanes_error_t err;
    EXPECT_EQ(lanes_expr_compile("1", nullptr, 0, pn.data(), 33, &err), nullptr);
    EXPECT_EQ(std::string(err.msg), "too many parameters (33, limit 32)");
    lanes_expr_t *ok = lanes_expr_compile("p0 + p31", nullptr, 0, pn.data(), 32, &err);
    EXPECT_NE(ok, nullptr) << err.msg;
    lanes_expr_free(ok);
    lanes_expr_input_t bad = ArrayIn("x", LANES_DTYPE_INVALID);
    EXPECT_EQ(lanes_expr_compile("x", &bad, 1, nullptr, 0, &err), nullptr);
    EXPECT_EQ(std::string(err.msg), "input 'x' has an invalid dtype (0)");
    EXPECT_EQ(lanes_expr_compile(nullptr, nullptr, 0, nullptr, 0, &err), nullptr);
    EXPECT_EQ(std::string(err.msg), "no expression given");
    EXPECT_EQ(lanes_expr_compile("1 +", nullptr, 0, nullptr, 0, nullptr), nullptr);  // err may be NULL
    // unknown names with nothing declared
    EXPECT_EQ(lanes_expr_compile("q", nullptr, 0, nullptr, 0, &err), nullptr);
    EXPECT_EQ(std::string(err.msg), "unknown name 'q' at column 1 (inputs: none; parameters: none)\n  q\n  ^");
}

// ---- limits ----

std::string CompileError(const std::string &src, int *column = nullptr)
{
    lanes_expr_input_t in = ArrayIn("x");
    lanes_error_t err;
    lanes_expr_t *e = lanes_expr_compile(src.c_str(), &in, 1, nullptr, 0, &err);
    if (e) {
        lanes_expr_free(e);
        return "";
    }
    EXPECT_EQ(err.code, LANES_EINVAL);
    EXPECT_LT(std::strlen(err.msg), sizeof err.msg);
    if (column)
        *column = err.column;
    std::string m = err.msg;
    return m.substr(0, m.find('\n'));
}

std::string Repeat(const std::string &s, size_t n)
{
    std::string r;
    for (size_t k = 0; k < n; k++)
        r += s;
    return r;
}

TEST(ExprLimits, LongDeepWide)
{
    int col = 0;
    EXPECT_EQ(CompileError(Repeat("x", 5000), &col), "expression too long (5000 characters, limit 4096)");
    EXPECT_EQ(col, 4097);
    EXPECT_EQ(CompileError("x" + Repeat(" ", 4095)), "");  // exactly at the limit
    EXPECT_EQ(CompileError(Repeat("(", 100000)), "expression too long (100000 characters, limit 4096)");

    // parentheses: nesting 128 is allowed, the 129th fails where it opens
    EXPECT_EQ(CompileError(Repeat("(", 128) + "x" + Repeat(")", 128)), "");
    EXPECT_EQ(CompileError(Repeat("(", 4000), &col), "expression too deep (limit 64) at column 129");
    EXPECT_EQ(col, 129);
    EXPECT_EQ(CompileError(Repeat("-(", 2000)), "expression too deep (limit 64) at column 129");
    // tree height: 64 levels fit, 65 do not
    EXPECT_EQ(CompileError(Repeat("sin(", 63) + "x" + Repeat(")", 63)), "");
    EXPECT_EQ(CompileError(Repeat("sin(", 64) + "x" + Repeat(")", 64), &col),
              "expression too deep (limit 64) at column 1");
    EXPECT_EQ(CompileError(Repeat("x+", 63) + "x"), "");
    EXPECT_EQ(CompileError(Repeat("x+", 64) + "x", &col), "expression too deep (limit 64) at column 128");
    EXPECT_EQ(CompileError(Repeat("-", 64) + "x"), "expression too deep (limit 64) at column 1");
    EXPECT_EQ(CompileError(Repeat("2**", 64) + "x"), "expression too deep (limit 64) at column 2");
    EXPECT_EQ(CompileError(Repeat("not ", 64) + "x"), "expression too deep (limit 64) at column 1");

    // wide: a balanced tree of 1023 nodes; the same of constants folds to one node
    std::string wide = "x", wide1 = "1";
    for (int k = 0; k < 9; k++) {
        wide = "(" + wide + "+" + wide + ")";
        wide1 = "(" + wide1 + "+" + wide1 + ")";
    }
    EXPECT_EQ(CompileError(wide, &col), "expression too large (1023 nodes after folding, limit 512)");
    EXPECT_EQ(col, 1);
    EXPECT_EQ(CompileError(wide1), "");
    EXPECT_EQ(EvalConst(wide1), 512.0);
    // 511 nodes pass and evaluate (a deep, register-hungry shape too)
    std::string ok = "x";
    for (int k = 0; k < 8; k++)
        ok = "(" + ok + "*" + ok + ")";
    ok = "sin(" + ok + ")";
    EXPECT_EQ(CompileError(ok), "");
    std::string deep = "x";
    for (int k = 0; k < 30; k++)
        deep = "(x + " + deep + ") * 1.0001";
    std::vector<double> x = Salted(3000, 100);
    ExpectAll(EvalXYZ(deep, x, x, x),
              [&](size_t k) {
                  double v = x[k];
                  for (int j = 0; j < 30; j++)
                      v = Opaque(Opaque(x[k] + v) * 1.0001);
                  return v;
              },
              "deep");
}

TEST(ExprLimits, RandomTokensNeverCrash)
{
    const char *toks[] = {"x",   "y",  "n",  "1",     "2.5", ".5",    "1e3",   "1e",    "(",    ")",  ",",
                          "+",   "-",  "*",  "/",     "%",   "**",    "<",     "<=",    "==",   "!=", "and",
                          "or",  "not", "sin(", "where(", "clip(", "atan2(", "pi", "i",  "q",  "$",  " ",
                          "max(", "affine(", "\t", "=", "sqrt", "5.", "((((", "))))", "-(-"};
    const size_t nt = sizeof toks / sizeof toks[0];
    std::mt19937_64 rng(110);
    lanes_expr_input_t in[2] = {ArrayIn("x"), ArrayIn("y", LANES_DTYPE_I32)};
    const char *pn[1] = {"n"};
    int compiled = 0;
    std::vector<double> xd(50), out(50);
    std::vector<int32_t> yd(50);
    for (size_t k = 0; k < 50; k++) {
        xd[k] = kSpecials[k % kNSpecials];
        yd[k] = static_cast<int32_t>(k) - 25;
    }
    for (int trial = 0; trial < 3000; trial++) {
        std::string src;
        size_t len = 1 + rng() % 30;
        for (size_t k = 0; k < len; k++)
            src += toks[rng() % nt];
        lanes_error_t err;
        lanes_expr_t *e = lanes_expr_compile(src.c_str(), in, 2, pn, 1, &err);
        if (!e) {
            ASSERT_EQ(err.code, LANES_EINVAL) << src;
            ASSERT_GE(err.column, 1) << src;
            ASSERT_LE(err.column, static_cast<int>(src.size()) + 1) << src;
            ASSERT_NE(std::strchr(err.msg, '^'), nullptr) << src;
            continue;
        }
        compiled++;
        lanes_expr_binding_t b[2] = {Bind(xd.data()), Bind(yd.data())};
        double n = 0.5;
        ASSERT_EQ(lanes_expr_eval(e, b, &n, 3, 50, out.data(), LANES_DTYPE_F64, 1), 0) << src;
        lanes_expr_free(e);
    }
    EXPECT_GT(compiled, 30);
}

}  // namespace
