// Unit tests of the CPU map kernels (kernels/cpu/map_cpu.c): lanes_map_plan_compile/run.
//
// Design: every named function is run on every input dtype into both output dtypes and compared with
// a scalar reference written here independently of the kernel's blocking: element i is read with
// memcpy, converted to double, passed through plain libm in a simple loop and rounded once to the
// output dtype. Both call the same libm, so float64 output must match exactly (bit for bit, any NaN
// matching any NaN) and float32 output is (float) of the double reference. The data are random with
// fixed seeds and salted with NaN, +-inf, +-0, subnormals, huge values and negatives (sqrt and log of
// negatives give NaN). Lengths straddle the 1024-element block (0, 1, 3, 1023, 1025, 10007); input
// and output pointers are offset by one byte from an aligned buffer; threads 1, 2 and 3 must give
// identical bytes. Every compile-time error is checked for its code and the words of its message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dtype_ref.h"
#include "lanes/kernels.h"

namespace {

const lanes_dtype_t kAllDtypes[] = {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64, LANES_DTYPE_I32};
const lanes_dtype_t kOutDtypes[] = {LANES_DTYPE_F64, LANES_DTYPE_F32};
const size_t kLengths[] = {0, 1, 3, 1023, 1025, 10007};

// A typed array held as bytes, optionally starting one byte past an aligned address.
struct Array {
    lanes_dtype_t dtype = LANES_DTYPE_F64;
    size_t n = 0;
    size_t offset = 0;
    std::vector<unsigned char> bytes;

    Array(lanes_dtype_t dt, size_t count, size_t off) : dtype(dt), n(count), offset(off)
    {
        bytes.assign(count * lanes_dtype_size(dt) + off + 16, 0xAB);
    }
    unsigned char *data() { return bytes.data() + offset; }
    const unsigned char *data() const { return bytes.data() + offset; }
    size_t size_bytes() const { return n * lanes_dtype_size(dtype); }

    double get(size_t i) const { return ref_load_double(data() + i * lanes_dtype_size(dtype), dtype); }
};

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Random values of the dtype, salted with special values. 'exponent' keeps values small (power's y).
Array MakeInput(lanes_dtype_t dt, size_t n, size_t offset, uint64_t seed, bool exponent = false)
{
    Array a(dt, n, offset);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> wide(-100.0, 100.0);
    std::uniform_real_distribution<double> small(-4.0, 4.0);
    std::uniform_int_distribution<int> pick(0, 15);
    static const double specials[] = {kNaN, -kNaN, kInf,   -kInf,   0.0,    -0.0,   1e-310, -1e-310,
                                      1e308, -1e308, 710.0, -745.0, 1e-30, 0.5,    -0.5,   2.0};
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = a.data() + i * lanes_dtype_size(dt);
        switch (dt) {
        case LANES_DTYPE_F64:
        case LANES_DTYPE_F32: {
            double v = exponent ? std::round(small(rng) * 2) / 2 : wide(rng);
            if (pick(rng) == 0)
                v = specials[rng() % (sizeof specials / sizeof specials[0])];
            if (dt == LANES_DTYPE_F64) {
                std::memcpy(p, &v, 8);
            } else {
                float f = static_cast<float>(v);
                std::memcpy(p, &f, 4);
            }
            break;
        }
        case LANES_DTYPE_I64: {
            int64_t v;
            int k = pick(rng);
            if (exponent)
                v = static_cast<int64_t>(rng() % 9) - 4;
            else if (k == 0)
                v = std::numeric_limits<int64_t>::min();
            else if (k == 1)
                v = std::numeric_limits<int64_t>::max();
            else if (k == 2)
                v = (int64_t{1} << 53) + 1;  // not representable: rounds to nearest
            else if (k < 8)
                v = static_cast<int64_t>(rng());
            else
                v = static_cast<int64_t>(rng() % 2001) - 1000;
            std::memcpy(p, &v, 8);
            break;
        }
        default: {
            int32_t v;
            int k = pick(rng);
            if (exponent)
                v = static_cast<int32_t>(rng() % 9) - 4;
            else if (k == 0)
                v = std::numeric_limits<int32_t>::min();
            else if (k == 1)
                v = std::numeric_limits<int32_t>::max();
            else if (k < 6)
                v = static_cast<int32_t>(static_cast<uint32_t>(rng()));
            else
                v = static_cast<int32_t>(rng() % 2001) - 1000;
            std::memcpy(p, &v, 4);
            break;
        }
        }
    }
    return a;
}

struct Fn {
    const char *name;
    std::vector<lanes_param_t> params;
    size_t n_inputs;
};

// The reference: plain libm on doubles, one element at a time.
double RefEval(const Fn &fn, double x, double y)
{
    std::string f = fn.name;
    auto param = [&](const char *name) {
        for (const auto &p : fn.params)
            if (std::strcmp(p.name, name) == 0)
                return p.value;
        ADD_FAILURE() << "no parameter " << name;
        return 0.0;
    };
    if (f == "square")
        return x * x;
    if (f == "cube")
        return x * x * x;
    if (f == "power") {
        if (fn.n_inputs == 2)
            return std::pow(x, y);
        // numpy's x**n fast paths for these scalar exponents.
        double n = param("n");
        if (n == 2.0)
            return x * x;
        if (n == 0.5)
            return std::sqrt(x);
        if (n == -1.0)
            return 1.0 / x;
        return std::pow(x, n);
    }
    if (f == "sqrt")
        return std::sqrt(x);
    if (f == "exp")
        return std::exp(x);
    if (f == "log")
        return std::log(x);
    if (f == "abs")
        return std::fabs(x);
    if (f == "sin")
        return std::sin(x);
    if (f == "cos")
        return std::cos(x);
    if (f == "affine") {
        volatile double ax = param("a") * x;  // two roundings, never an FMA
        return ax + param("b");
    }
    ADD_FAILURE() << "no reference for " << f;
    return 0.0;
}

// Checks out[i] against the reference for all i; NaN matches any NaN, everything else bit for bit.
void ExpectMatchesReference(const Fn &fn, const Array &x, const Array *y, const Array &out,
                            const std::string &what)
{
    int failures = 0;
    for (size_t i = 0; i < x.n && failures < 5; i++) {
        double ref = RefEval(fn, x.get(i), y ? y->get(i) : 0.0);
        bool ok;
        double got = out.get(i);
        if (out.dtype == LANES_DTYPE_F32) {
            float rf = static_cast<float>(ref);
            float gf = static_cast<float>(got);  // exact: got is a float
            ok = (std::isnan(rf) && std::isnan(gf)) || std::memcmp(&rf, &gf, 4) == 0;
        } else {
            ok = (std::isnan(ref) && std::isnan(got)) || std::memcmp(&ref, &got, 8) == 0;
        }
        if (!ok) {
            failures++;
            ADD_FAILURE() << what << " element " << i << ": x=" << x.get(i)
                          << (y ? " y=" + std::to_string(y->get(i)) : std::string()) << " got " << got
                          << " want " << ref;
        }
    }
}

std::vector<Fn> OneInputFunctions()
{
    return {
        {"square", {}, 1},
        {"cube", {}, 1},
        {"power", {{"n", 2.0}}, 1},
        {"power", {{"n", 0.5}}, 1},
        {"power", {{"n", -1.0}}, 1},
        {"power", {{"n", -1.5}}, 1},
        {"power", {{"n", 3.0}}, 1},
        {"sqrt", {}, 1},
        {"exp", {}, 1},
        {"log", {}, 1},
        {"abs", {}, 1},
        {"sin", {}, 1},
        {"cos", {}, 1},
        {"affine", {{"a", 1.5}, {"b", -0.25}}, 1},
        {"affine", {{"b", 1e-17}, {"a", 0.1}}, 1},  // parameters in any order
    };
}

std::string Describe(const Fn &fn, const std::vector<lanes_dtype_t> &in, lanes_dtype_t out, size_t n,
                     size_t offset)
{
    std::string s = std::string(fn.name) + "(";
    for (const auto &p : fn.params)
        s += std::string(p.name) + "=" + std::to_string(p.value) + " ";
    for (auto d : in)
        s += std::string(lanes_dtype_name(d)) + " ";
    s += ") -> " + std::string(lanes_dtype_name(out)) + " n=" + std::to_string(n) +
         " offset=" + std::to_string(offset);
    return s;
}

// Runs fn on the inputs with threads 1, 2, 3; checks the reference and that all three agree.
void RunAndCheck(const Fn &fn, const std::vector<const Array *> &ins, lanes_dtype_t out_dt, size_t offset)
{
    std::vector<lanes_dtype_t> dts;
    std::vector<const void *> ptrs;
    for (const Array *a : ins) {
        dts.push_back(a->dtype);
        ptrs.push_back(a->data());
    }
    const size_t n = ins[0]->n;
    std::string what = Describe(fn, dts, out_dt, n, offset);
    lanes_error_t err;
    lanes_map_plan_t *plan = lanes_map_plan_compile(fn.name, fn.params.data(), fn.params.size(), dts.data(),
                                                    dts.size(), out_dt, &err);
    ASSERT_NE(plan, nullptr) << what << ": " << err.msg;
    EXPECT_EQ(lanes_map_plan_n_inputs(plan), dts.size());
    EXPECT_EQ(lanes_map_plan_out_dtype(plan), out_dt);

    Array first(out_dt, n, offset);
    for (int threads = 1; threads <= 3; threads++) {
        Array out(out_dt, n, offset);
        ASSERT_EQ(lanes_map_plan_run(plan, ptrs.data(), n, out.data(), threads), 0) << what;
        // The bytes past the output are untouched.
        for (size_t k = out.offset + out.size_bytes(); k < out.bytes.size(); k++)
            ASSERT_EQ(out.bytes[k], 0xAB) << what << ": wrote past the end";
        if (threads == 1) {
            ExpectMatchesReference(fn, *ins[0], ins.size() > 1 ? ins[1] : nullptr, out, what);
            first = out;
        } else {
            EXPECT_EQ(std::memcmp(first.data(), out.data(), out.size_bytes()), 0)
                << what << ": threads=" << threads << " differs from threads=1";
        }
    }
    lanes_map_plan_free(plan);
}

TEST(MapKernels, EveryFunctionEveryDtypeMatchesReference)
{
    uint64_t seed = 1;
    for (const Fn &fn : OneInputFunctions())
        for (lanes_dtype_t in : kAllDtypes)
            for (lanes_dtype_t out : kOutDtypes)
                for (size_t n : kLengths) {
                    size_t offset = (seed % 2);  // alternate aligned and one byte off
                    Array x = MakeInput(in, n, offset, seed++);
                    RunAndCheck(fn, {&x}, out, offset);
                }
}

TEST(MapKernels, PowerWithExponentArrayEveryDtypePair)
{
    Fn fn{"power", {}, 2};
    uint64_t seed = 1000;
    for (lanes_dtype_t xd : kAllDtypes)
        for (lanes_dtype_t yd : kAllDtypes)
            for (lanes_dtype_t out : kOutDtypes)
                for (size_t n : kLengths) {
                    size_t offset = 1;
                    Array x = MakeInput(xd, n, offset, seed++);
                    Array y = MakeInput(yd, n, offset, seed++, /*exponent=*/true);
                    RunAndCheck(fn, {&x, &y}, out, offset);
                }
}

TEST(MapKernels, UnalignedEverywhereForEveryFunction)
{
    // Input and output each one byte past an aligned address, with a length straddling blocks.
    uint64_t seed = 5000;
    for (const Fn &fn : OneInputFunctions())
        for (lanes_dtype_t in : kAllDtypes) {
            Array x = MakeInput(in, 2051, 1, seed++);
            RunAndCheck(fn, {&x}, LANES_DTYPE_F64, 1);
            RunAndCheck(fn, {&x}, LANES_DTYPE_F32, 1);
        }
}

TEST(MapKernels, SpecialValues)
{
    // Exact expectations on values that have one right answer.
    const double xs[] = {-0.0, 0.0, -1.0, kInf, -kInf, kNaN, 4.0};
    const size_t n = sizeof xs / sizeof xs[0];
    const lanes_dtype_t f64 = LANES_DTYPE_F64;
    auto run = [&](const char *name, std::vector<lanes_param_t> params) {
        std::vector<double> out(n);
        lanes_error_t err;
        lanes_map_plan_t *plan = lanes_map_plan_compile(name, params.data(), params.size(), &f64, 1, f64, &err);
        EXPECT_NE(plan, nullptr) << err.msg;
        const void *in[1] = {xs};
        EXPECT_EQ(lanes_map_plan_run(plan, in, n, out.data(), 1), 0);
        lanes_map_plan_free(plan);
        return out;
    };
    auto sq = run("sqrt", {});
    EXPECT_TRUE(std::signbit(sq[0]) && sq[0] == 0.0);  // sqrt(-0) = -0
    EXPECT_TRUE(std::isnan(sq[2]));                    // sqrt(-1) = NaN
    EXPECT_EQ(sq[3], kInf);
    EXPECT_TRUE(std::isnan(sq[5]));
    EXPECT_EQ(sq[6], 2.0);
    auto lg = run("log", {});
    EXPECT_EQ(lg[0], -kInf);
    EXPECT_EQ(lg[1], -kInf);
    EXPECT_TRUE(std::isnan(lg[2]));
    EXPECT_TRUE(std::isnan(lg[4]));
    auto ab = run("abs", {});
    EXPECT_FALSE(std::signbit(ab[0]));
    EXPECT_EQ(ab[4], kInf);
    auto sqr = run("square", {});
    EXPECT_FALSE(std::signbit(sqr[0]));
    EXPECT_EQ(sqr[4], kInf);
    auto cu = run("cube", {});
    EXPECT_TRUE(std::signbit(cu[0]));
    EXPECT_EQ(cu[4], -kInf);
    auto ex = run("exp", {});
    EXPECT_EQ(ex[4], 0.0);
    EXPECT_EQ(ex[1], 1.0);
    // NaN parameters are allowed and propagate.
    auto af = run("affine", {{"a", kNaN}, {"b", 1.0}});
    for (double v : af)
        EXPECT_TRUE(std::isnan(v));
    // affine is two roundings: 0.1 * 3 + (-0.3) is 5.55e-17, not the fused 2.77e-17.
    double three = 3.0;
    double out = 0;
    lanes_param_t p[2] = {{"a", 0.1}, {"b", -0.3}};
    lanes_map_plan_t *plan = lanes_map_plan_compile("affine", p, 2, &f64, 1, f64, nullptr);
    ASSERT_NE(plan, nullptr);
    const void *in[1] = {&three};
    ASSERT_EQ(lanes_map_plan_run(plan, in, 1, &out, 1), 0);
    volatile double ax = 0.1 * 3.0;
    EXPECT_EQ(out, ax + -0.3);
    EXPECT_NE(out, std::fma(0.1, 3.0, -0.3));
    lanes_map_plan_free(plan);
}

TEST(MapKernels, Int64ConvertsToNearestDouble)
{
    const int64_t xs[] = {(int64_t{1} << 53) + 1, std::numeric_limits<int64_t>::max(), -((int64_t{1} << 62) + 3)};
    double out[3];
    const lanes_dtype_t i64 = LANES_DTYPE_I64;
    lanes_param_t p[2] = {{"a", 1.0}, {"b", 0.0}};
    lanes_map_plan_t *plan = lanes_map_plan_compile("affine", p, 2, &i64, 1, LANES_DTYPE_F64, nullptr);
    ASSERT_NE(plan, nullptr);
    const void *in[1] = {xs};
    ASSERT_EQ(lanes_map_plan_run(plan, in, 3, out, 2), 0);
    EXPECT_EQ(out[0], 9007199254740992.0);
    EXPECT_EQ(out[1], 9223372036854775808.0);
    EXPECT_EQ(out[2], -4611686018427387904.0);
    lanes_map_plan_free(plan);
}

TEST(MapKernels, OutputMayAliasInputOfSameSize)
{
    Array x = MakeInput(LANES_DTYPE_F64, 5000, 0, 77);
    Array copy = x;
    const lanes_dtype_t f64 = LANES_DTYPE_F64;
    lanes_map_plan_t *plan = lanes_map_plan_compile("sin", nullptr, 0, &f64, 1, f64, nullptr);
    ASSERT_NE(plan, nullptr);
    for (int threads : {1, 3}) {
        Array buf = copy;
        const void *in[1] = {buf.data()};
        ASSERT_EQ(lanes_map_plan_run(plan, in, buf.n, buf.data(), threads), 0);
        ExpectMatchesReference({"sin", {}, 1}, copy, nullptr, buf, "in place");
    }
    lanes_map_plan_free(plan);
}

TEST(MapKernels, RunArguments)
{
    const lanes_dtype_t f64 = LANES_DTYPE_F64;
    lanes_map_plan_t *plan = lanes_map_plan_compile("square", nullptr, 0, &f64, 1, LANES_DTYPE_F32, nullptr);
    ASSERT_NE(plan, nullptr);
    EXPECT_EQ(lanes_map_plan_input_dtype(plan, 0), LANES_DTYPE_F64);
    EXPECT_EQ(lanes_map_plan_input_dtype(plan, 1), LANES_DTYPE_INVALID);
    EXPECT_EQ(lanes_map_plan_run(plan, nullptr, 0, nullptr, 1), 0);  // n == 0 is fine
    EXPECT_EQ(lanes_map_plan_run(plan, nullptr, 0, nullptr, 4), 0);
    EXPECT_EQ(lanes_map_plan_run(plan, nullptr, 3, nullptr, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_map_plan_run(nullptr, nullptr, 0, nullptr, 1), LANES_EINVAL);
    lanes_map_plan_free(plan);
    lanes_map_plan_free(nullptr);
}

TEST(MapKernels, FunctionNames)
{
    const char *const *names = lanes_map_function_names();
    std::vector<std::string> got;
    for (size_t i = 0; names[i]; i++)
        got.push_back(names[i]);
    std::vector<std::string> want = {"square", "cube", "power", "sqrt", "exp",
                                     "log",    "abs",  "sin",   "cos",  "affine"};
    EXPECT_EQ(got, want);
}

// ---- compile errors ----

struct CompileCase {
    const char *function;
    std::vector<lanes_param_t> params;
    std::vector<lanes_dtype_t> in;
    lanes_dtype_t out;
    std::vector<std::string> words;  // each must appear in the message
};

void ExpectCompileFails(const CompileCase &c)
{
    lanes_error_t err;
    std::memset(&err, 0, sizeof err);
    lanes_map_plan_t *plan = lanes_map_plan_compile(c.function, c.params.data(), c.params.size(), c.in.data(),
                                                    c.in.size(), c.out, &err);
    EXPECT_EQ(plan, nullptr) << (c.function ? c.function : "(null)");
    lanes_map_plan_free(plan);
    EXPECT_EQ(err.code, LANES_EINVAL);
    for (const std::string &w : c.words)
        EXPECT_NE(std::strstr(err.msg, w.c_str()), nullptr) << "message '" << err.msg << "' lacks '" << w << "'";
}

TEST(MapKernels, CompileErrorsNameTheProblem)
{
    const lanes_dtype_t F64 = LANES_DTYPE_F64, F32 = LANES_DTYPE_F32, I64 = LANES_DTYPE_I64,
                        I32 = LANES_DTYPE_I32;
    const std::vector<CompileCase> cases = {
        {"sine", {}, {F64}, F64, {"unknown function 'sine'", "known: square, cube, power, sqrt, exp, log, abs, sin, cos, affine"}},
        {"", {}, {F64}, F64, {"function"}},
        {nullptr, {}, {F64}, F64, {"function"}},
        {"affine", {{"a", 1.0}}, {F64}, F64, {"function 'affine' needs parameter 'b'"}},
        {"affine", {{"b", 1.0}}, {F64}, F64, {"function 'affine' needs parameter 'a'"}},
        {"affine", {{"a", 1.0}, {"b", 2.0}, {"c", 3.0}}, {F64}, F64, {"function 'affine' takes no parameter 'c'"}},
        {"affine", {{"a", 1.0}, {"a", 2.0}, {"b", 3.0}}, {F64}, F64, {"'a'", "twice"}},
        {"square", {{"n", 2.0}}, {F64}, F64, {"function 'square' takes no parameter 'n'"}},
        {"sin", {{"a", 2.0}}, {F32}, F64, {"function 'sin' takes no parameter 'a'"}},
        {"sqrt", {}, {F64, F64}, F64, {"function 'sqrt' takes 1 input array, got 2"}},
        {"cube", {}, {}, F64, {"function 'cube' takes 1 input array, got 0"}},
        {"affine", {{"a", 1.0}, {"b", 2.0}}, {I32, I32}, F64, {"function 'affine' takes 1 input array, got 2"}},
        {"power", {}, {F64}, F64, {"function 'power' needs parameter 'n'"}},
        {"power", {{"n", 2.0}}, {F64, F64}, F64, {"function 'power' takes no parameter 'n'"}},
        {"power", {}, {F64, F64, F64}, F64, {"function 'power' takes 1 or 2 input arrays, got 3"}},
        {"power", {{"x", 2.0}}, {F64}, F64, {"function 'power' takes no parameter 'x'"}},
        {"square", {}, {F64}, I64, {"output dtype must be float64 or float32, got int64"}},
        {"square", {}, {F64}, I32, {"output dtype must be float64 or float32, got int32"}},
        {"square", {}, {F64}, LANES_DTYPE_INVALID, {"output dtype must be float64 or float32, got invalid"}},
        {"square", {}, {static_cast<lanes_dtype_t>(9)}, F64, {"input 0", "invalid dtype"}},
        {"power", {}, {F64, LANES_DTYPE_INVALID}, F64, {"input 1", "invalid dtype"}},
    };
    for (const auto &c : cases)
        ExpectCompileFails(c);
}

TEST(MapKernels, CompileAcceptsNaNParametersAndNullError)
{
    const lanes_dtype_t f32 = LANES_DTYPE_F32;
    lanes_param_t p[1] = {{"n", kNaN}};
    lanes_map_plan_t *plan = lanes_map_plan_compile("power", p, 1, &f32, 1, LANES_DTYPE_F32, nullptr);
    EXPECT_NE(plan, nullptr);
    lanes_map_plan_free(plan);
    EXPECT_EQ(lanes_map_plan_compile("nope", nullptr, 0, &f32, 1, LANES_DTYPE_F32, nullptr), nullptr);
}

}  // namespace
