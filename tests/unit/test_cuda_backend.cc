// Unit tests of the CUDA code's own calls (kernels/cuda/map.cu, reduce.cu, kcache.cu) on device 0: what
// the backend interface does not reach. The comparisons of every op with the CPU (maps, block partials,
// fused expression reduces, histograms) run through lanes/backend.h in tests/backend/test_backend_ops.cc.
//
// Design: without a device (or in a CPU-only build) every test skips with the probe's reason. With
// one, a context is opened with small (1 MiB) staging buffers. Checks:
//  - group partials merged on the device equal lanes_reduce_partials_combine;
//  - the NVRTC cache hits, a compile error is LANES_EINVAL with NVRTC's log, argument checks;
//  - lanes_cuda_test_fault poisons the context and later calls fail with LANES_EDEVICE (last test:
//    a sticky error ends the process's use of the device).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#ifdef LANES_TEST_CUDA_RUNTIME
#include <cuda_runtime.h> // device buffers for the device-resident group combine
#endif

#include "../backend/ops_ref.h"
#include "cuda/cuda_api.h"
#include "lanes/expr.h"
#include "lanes/kernels.h"

namespace {

using namespace ops_ref;

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
