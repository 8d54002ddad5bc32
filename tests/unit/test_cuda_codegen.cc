// Unit tests of the CUDA code generator (kernels/cuda/cuda_codegen.c): lanes_cuda_expr_source for
// expressions using every op and function, every input kind and array dtype, map kernels into float64
// and float32, and the fused kernel of every reduce op; and lanes_cuda_compile_check.
//
// Design: each generated source is checked as text (the kernel it defines, the typed loads, the pow
// fast path decided as the CPU VM decides, rint for round, exact hexadecimal constants) and, when the
// build has CUDA, compiled by NVRTC for compute capability 9.0: NVRTC needs no GPU, so this runs on
// every CUDA build machine. A CPU-only build (the stub returns LANES_ENODEV) checks the text only.
// Errors: a buffer too small is LANES_ENOMEM, count or a bad output dtype LANES_EINVAL, and a
// malformed source LANES_EINVAL with NVRTC's log in the message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuda/cuda_api.h"
#include "lanes/expr.h"

namespace {

const lanes_expr_input_t kInputs[] = {
    {"a", LANES_SOURCE_ARRAY, LANES_DTYPE_F64}, {"b", LANES_SOURCE_ARRAY, LANES_DTYPE_F32},
    {"c", LANES_SOURCE_ARRAY, LANES_DTYPE_I64}, {"d", LANES_SOURCE_ARRAY, LANES_DTYPE_I32},
    {"r", LANES_SOURCE_RANGE, LANES_DTYPE_INVALID}, {"u", LANES_SOURCE_UNIFORM, LANES_DTYPE_INVALID},
    {"g", LANES_SOURCE_NORMAL, LANES_DTYPE_INVALID},
};
const char *const kParams[] = {"p", "q"};

bool HaveNvrtc()
{
    lanes_error_t err;
    return lanes_cuda_compile_check("extern \"C\" __global__ void k() {}", 90, &err) != LANES_ENODEV;
}

struct Expr {
    lanes_expr_t *e = nullptr;
    explicit Expr(const char *src)
    {
        lanes_error_t err;
        e = lanes_expr_compile(src, kInputs, 7, kParams, 2, &err);
        EXPECT_NE(e, nullptr) << src << ": " << err.msg;
    }
    ~Expr() { lanes_expr_free(e); }
};

std::string Source(const lanes_expr_t *e, lanes_dtype_t out, int reduce, lanes_reduce_op_t op)
{
    std::vector<char> buf(1 << 20);
    long len = lanes_cuda_expr_source(e, out, reduce, op, buf.data(), buf.size());
    EXPECT_GT(len, 0);
    if (len <= 0)
        return "";
    EXPECT_EQ(static_cast<size_t>(len), std::string(buf.data()).size());
    return std::string(buf.data());
}

void Compiles(const std::string &src, const char *what)
{
    if (!HaveNvrtc())
        return;
    lanes_error_t err;
    err.msg[0] = '\0';
    EXPECT_EQ(lanes_cuda_compile_check(src.c_str(), 90, &err), 0) << what << ": " << err.msg;
}

// Every op and function, every input kind and dtype.
const char *const kExpressions[] = {
    "a + b * c - d / r",
    "-a ** 2 + a ** 0.5 + a ** -1 + a ** p + a ** b + pow(a, 2)",
    "a % b + (c % 3) - (-d % p)",
    "(a < b) + (a <= b) + (a > b) + (a >= b) + (a == b) + (a != b)",
    "(a < 1 and b > 2) or not (c == d)",
    "where(a > 0, b, c) + where(u < 0.5, 1, 2) + where(g, p, q)",
    "abs(a) + sqrt(b) + cbrt(c) + exp(d) + expm1(r) + log(u) + log1p(g) + log2(a) + log10(b)",
    "sin(a) + cos(b) + tan(c) + asin(u) + acos(u) + atan(g) + atan2(a, b)",
    "sinh(a) + cosh(b) + tanh(c) + floor(d) + ceil(r) + round(u) + trunc(g)",
    "min(a, b) + max(c, d) + clip(a, p, q) + clip(a, b, c) + hypot(a, b)",
    "square(a) + cube(b) + power(c, 3) + affine(d, p, q)",
    "i * 2 + pi + e",
    "4 * ((u * u + g * g) < 1)",
    "r",
    "p * q + 1",
    "a / 0 + 1e308 * 10",
};

TEST(CudaCodegen, EveryExpressionAsMapF64AndF32)
{
    for (const char *src : kExpressions) {
        Expr x(src);
        ASSERT_NE(x.e, nullptr);
        std::string s64 = Source(x.e, LANES_DTYPE_F64, 0, LANES_REDUCE_SUM);
        EXPECT_NE(s64.find("extern \"C\" __global__ void lanes_map"), std::string::npos) << src;
        EXPECT_NE(s64.find("lanes_philox4x32_10"), std::string::npos) << "the prelude is emitted";
        Compiles(s64, src);
        std::string s32 = Source(x.e, LANES_DTYPE_F32, 0, LANES_REDUCE_SUM);
        EXPECT_NE(s32.find("__double2float_rn"), std::string::npos) << src;
    }
    // one float32 map compiled too
    Expr x(kExpressions[0]);
    Compiles(Source(x.e, LANES_DTYPE_F32, 0, LANES_REDUCE_SUM), "float32 map");
}

TEST(CudaCodegen, EveryReduceOp)
{
    const lanes_reduce_op_t ops[] = {LANES_REDUCE_SUM,    LANES_REDUCE_MEAN,   LANES_REDUCE_VAR,
                                     LANES_REDUCE_STD,    LANES_REDUCE_MIN,    LANES_REDUCE_MAX,
                                     LANES_REDUCE_ARGMIN, LANES_REDUCE_ARGMAX, LANES_REDUCE_HISTOGRAM};
    Expr x("a * b + u - c / (d + 1)");
    ASSERT_NE(x.e, nullptr);
    for (lanes_reduce_op_t op : ops) {
        std::string s = Source(x.e, LANES_DTYPE_F64, 1, op);
        const char *kernel = op == LANES_REDUCE_HISTOGRAM ? "void lanes_hist(" : "void lanes_reduce(";
        EXPECT_NE(s.find(kernel), std::string::npos) << lanes_reduce_op_name(op);
        const char *want = "lanes_hist_elems(";
        if (op == LANES_REDUCE_SUM || op == LANES_REDUCE_MEAN)
            want = "lanes_reduce_blocks<LANES_DK_FSUM, false";
        else if (op == LANES_REDUCE_VAR || op == LANES_REDUCE_STD)
            want = "lanes_reduce_blocks<LANES_DK_MOMENTS";
        else if (op == LANES_REDUCE_MAX || op == LANES_REDUCE_ARGMAX)
            want = "lanes_reduce_blocks<LANES_DK_EXTREME, true";
        else if (op == LANES_REDUCE_MIN || op == LANES_REDUCE_ARGMIN)
            want = "lanes_reduce_blocks<LANES_DK_EXTREME, false";
        EXPECT_NE(s.find(want), std::string::npos) << lanes_reduce_op_name(op);
        Compiles(s, lanes_reduce_op_name(op));
    }
}

TEST(CudaCodegen, TextFollowsTheVmSemantics)
{
    Expr x("a ** 2 + b ** p + c ** d + pow(a, 2) + round(u) + 0.1 + r + g + i");
    ASSERT_NE(x.e, nullptr);
    std::string s = Source(x.e, LANES_DTYPE_F64, 0, LANES_REDUCE_SUM);
    // exponents the same for every element (constant, parameter) take numpy's fast paths; an exponent
    // that varies per element and pow() are C pow
    EXPECT_NE(s.find("lanes_pow_scalar(v0, 0x1p+1)"), std::string::npos) << s.substr(s.size() - 1500);
    EXPECT_NE(s.find("lanes_pow_scalar(v1, a.p[0])"), std::string::npos);
    EXPECT_NE(s.find("pow(v2, v3)"), std::string::npos);
    EXPECT_NE(s.find("pow(v0, 0x1p+1)"), std::string::npos);
    EXPECT_NE(s.find("rint(v5)"), std::string::npos);
    EXPECT_NE(s.find("0x1.999999999999ap-4"), std::string::npos) << "0.1 exactly, in hexadecimal";
    // typed loads per dtype; generated inputs at the global index
    EXPECT_NE(s.find("(const double *)a.in[0]"), std::string::npos);
    EXPECT_NE(s.find("(const float *)a.in[1]"), std::string::npos);
    EXPECT_NE(s.find("(const long long *)a.in[2]"), std::string::npos);
    EXPECT_NE(s.find("(const int *)a.in[3]"), std::string::npos);
    EXPECT_NE(s.find("a.start[4]"), std::string::npos);
    EXPECT_NE(s.find("lanes_uniform_at(a.seed[5], gi)"), std::string::npos);
    EXPECT_NE(s.find("lanes_normal_at(a.seed[6], gi)"), std::string::npos);
    EXPECT_NE(s.find("((double)gi)"), std::string::npos);
    // an input used twice is loaded once
    EXPECT_EQ(s.find("const double v0 ="), s.rfind("const double v0 ="));
    // non-finite constants by their bits
    Expr inf("a + 1e308 * 10");
    ASSERT_NE(inf.e, nullptr);
    EXPECT_NE(Source(inf.e, LANES_DTYPE_F64, 0, LANES_REDUCE_SUM).find("__longlong_as_double(0x7ff0000000000000LL)"),
              std::string::npos);
}

TEST(CudaCodegen, Errors)
{
    Expr x("a + 1");
    ASSERT_NE(x.e, nullptr);
    char small[64];
    EXPECT_EQ(lanes_cuda_expr_source(x.e, LANES_DTYPE_F64, 0, LANES_REDUCE_SUM, small, sizeof small), LANES_ENOMEM);
    EXPECT_EQ(lanes_cuda_expr_source(x.e, LANES_DTYPE_F64, 0, LANES_REDUCE_SUM, nullptr, 0), LANES_ENOMEM);
    std::vector<char> buf(1 << 20);
    EXPECT_EQ(lanes_cuda_expr_source(x.e, LANES_DTYPE_I32, 0, LANES_REDUCE_SUM, buf.data(), buf.size()), LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_expr_source(x.e, LANES_DTYPE_F64, 1, LANES_REDUCE_COUNT, buf.data(), buf.size()),
              LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_expr_source(x.e, LANES_DTYPE_F32, 1, LANES_REDUCE_SUM, buf.data(), buf.size()), LANES_EINVAL);
    EXPECT_EQ(lanes_cuda_expr_source(nullptr, LANES_DTYPE_F64, 0, LANES_REDUCE_SUM, buf.data(), buf.size()),
              LANES_EINVAL);

    lanes_error_t err;
    err.msg[0] = '\0';
    int rc = lanes_cuda_compile_check("extern \"C\" __global__ void k() { this is not C++; }", 90, &err);
    if (!HaveNvrtc()) {
        EXPECT_EQ(rc, LANES_ENODEV);
        GTEST_SKIP() << "CPU-only build: NVRTC is not built in (" << err.msg << ")";
    }
    EXPECT_EQ(rc, LANES_EINVAL);
    EXPECT_NE(std::string(err.msg).find("error"), std::string::npos) << err.msg;
}

} // namespace
