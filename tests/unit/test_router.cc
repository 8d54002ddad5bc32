// Unit tests for service/route/router.c and service/route/calibrate.c: the cost model's choices and predicted
// times with injected constants, load accounting, the device table, pinned thresholds, forced
// backends, GPU-down fallback, the words of the reason, and the calibration file and measurement.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "calibrate.h"
#include "config.h"
#include "lanes/registry.h"
#include "router.h"
#include "status.h"

namespace {

// Constants chosen so the arithmetic is easy to follow (map jobs: 16 bytes per element).
lanes_cost_model_t test_model()
{
    lanes_cost_model_t m;
    lanes_router_default_model(&m);
    m.c[LANES_WHERE_INLINE][LANES_FAMILY_MAP] = {1000, 1.0};
    m.c[LANES_WHERE_CPU][LANES_FAMILY_MAP] = {20000, 4.0};
    m.c[LANES_WHERE_CUDA][LANES_FAMILY_MAP] = {25000, 20.0};
    m.c[LANES_WHERE_INLINE][LANES_FAMILY_REDUCE] = {500, 10.0};
    m.c[LANES_WHERE_CPU][LANES_FAMILY_REDUCE] = {5000, 40.0};
    m.c[LANES_WHERE_CUDA][LANES_FAMILY_REDUCE] = {0, 0}; // reduce does not run on cuda in this model
    m.c[LANES_WHERE_INLINE][LANES_FAMILY_ACF] = {0, 0.5};
    m.c[LANES_WHERE_CPU][LANES_FAMILY_ACF] = {10000, 1.0};
    m.c[LANES_WHERE_CUDA][LANES_FAMILY_ACF] = {25000, 10.0};
    m.cpu_threads = 2;
    snprintf(m.source, sizeof m.source, "test model");
    return m;
}

class Router : public ::testing::Test {
  protected:
    void SetUp() override
    {
        lanes_registry_init(2);
        ASSERT_EQ(lanes_registry_find(LANES_BACKEND_CUDA, &saved_cuda), 0);
        lanes_config_defaults(&cfg);
        cfg.threads = 2;
        cfg.pool_workers = 1;
        cfg.inline_threshold = 0; // the model decides
        cfg.gpu_threshold = 0;
        lanes_cost_model_t m = test_model();
        lanes_router_set_model(&m);
        lanes_router_set_devices(0);
    }
    void TearDown() override
    {
        EXPECT_EQ(lanes_router_cpu_busy(), 0) << "a placement was not released";
        for (int d = 0; d < LANES_ROUTER_MAX_DEVICES; d++)
            EXPECT_EQ(lanes_router_gpu_queue(d), 0) << "device " << d;
        lanes_registry_set_available(LANES_BACKEND_CUDA, saved_cuda.available, saved_cuda.detail);
        lanes_router_set_devices(0);
        lanes_cost_model_t m;
        lanes_router_default_model(&m);
        lanes_router_set_model(&m);
    }
    // Pretends this machine has n CUDA devices, all up.
    void gpus(int n)
    {
        lanes_registry_set_available(LANES_BACKEND_CUDA, 1, "test");
        lanes_router_set_devices(n);
    }
    lanes_router_t job(int forced, lanes_job_kind_t kind, size_t bpe, lanes_status_t want = LANES_STATUS_OK)
    {
        lanes_router_t r;
        EXPECT_EQ(lanes_status_from_error(lanes_router_init(&r, &cfg, forced, kind, bpe, &err)), want) << msg;
        return r;
    }
    lanes_placement_t place(lanes_router_t &r, uint64_t n)
    {
        lanes_placement_t p;
        EXPECT_EQ(lanes_router_place(&r, n, &p, &err), 0) << msg;
        return p;
    }
    std::string explain(const lanes_router_t &r, const char **backend)
    {
        char reason[320];
        lanes_router_explain(&r, backend, reason, sizeof reason);
        return reason;
    }
    lanes_backend_info_t saved_cuda;
    lanes_config_t cfg;
    lanes_error_t err{};
    const char *msg = err.msg; // the message of the last call
};

TEST_F(Router, ModelPicksTheCheapestBackendWithoutADevice)
{
    lanes_router_t r = job(0, LANES_JOB_MAP, 16);
    // 1000 elements = 16000 bytes: inline 17 us, cpu 24 us.
    lanes_placement_t p = place(r, 1000);
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    EXPECT_EQ(p.threads, 1);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_INLINE], 17000);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_CPU], 24000);
    EXPECT_LT(p.predicted_ns[LANES_WHERE_CUDA], 0) << "no device: cuda is no candidate";
    lanes_router_release(&p);
    // 10000 elements: inline 161 us, cpu 60 us.
    p = place(r, 10000);
    EXPECT_EQ(p.where, LANES_WHERE_CPU);
    EXPECT_EQ(p.threads, 2);
    EXPECT_EQ(p.device, -1);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_CPU], 60000);
    lanes_router_record(&r, &p, LANES_WHERE_CPU, 10000);
    lanes_router_release(&p);
    const char *backend;
    std::string reason = explain(r, &backend);
    EXPECT_STREQ(backend, "cpu");
    EXPECT_EQ(reason, "auto: 1 chunk(s), 10000 elements: 1 on cpu (OpenMP pool, 2 threads); a 10000-element piece: "
                      "cpu predicted 60.0 \xc2\xb5s, inline 161 \xc2\xb5s; model: test model");
}

TEST_F(Router, ModelPicksCudaWhenADeviceIsUp)
{
    gpus(1);
    lanes_router_t r = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t small = place(r, 1000); // cuda 25.8 us loses to inline's 17 us
    EXPECT_EQ(small.where, LANES_WHERE_INLINE);
    EXPECT_DOUBLE_EQ(small.predicted_ns[LANES_WHERE_CUDA], 25800);
    lanes_router_record(&r, &small, LANES_WHERE_INLINE, 1000);
    lanes_router_release(&small);
    // 1 Mi elements = 16 MiB: cuda 25 us + 838.9 us, cpu 20 us + 4.19 ms, inline 1 us + 16.8 ms.
    lanes_placement_t p = place(r, 1 << 20);
    EXPECT_EQ(p.where, LANES_WHERE_CUDA);
    EXPECT_EQ(p.device, 0);
    EXPECT_EQ(lanes_router_gpu_queue(0), 1);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_CUDA], 25000 + 16777216.0 / 20);
    lanes_router_record(&r, &p, LANES_WHERE_CUDA, 1 << 20);
    lanes_router_release(&p);
    EXPECT_EQ(lanes_router_gpu_queue(0), 0);
    const char *backend;
    std::string reason = explain(r, &backend);
    EXPECT_STREQ(backend, "cuda");
    EXPECT_EQ(reason, "auto: 2 chunk(s), 1049576 elements: 1 on cuda (device 0), 1 inline; a 1048576-element piece: "
                      "cuda (device 0) predicted 864 \xc2\xb5s, cpu 4.21 ms, inline 16.8 ms; model: test model");
}

TEST_F(Router, FamiliesHaveTheirOwnConstants)
{
    gpus(1);
    // Reduce (8 bytes per element) does not run on cuda in this model, so a device changes nothing.
    lanes_router_t r = job(0, LANES_JOB_REDUCE, 8);
    lanes_placement_t p = place(r, 1000); // inline 1.3 us, cpu 5.2 us
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_INLINE], 1300);
    EXPECT_LT(p.predicted_ns[LANES_WHERE_CUDA], 0);
    lanes_router_release(&p);
    p = place(r, 1000000); // inline 800.5 us, cpu 205 us
    EXPECT_EQ(p.where, LANES_WHERE_CPU);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_CPU], 205000);
    lanes_router_release(&p);
    job(LANES_BACKEND_CUDA, LANES_JOB_REDUCE, 8, LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_NE(std::string(msg).find("does not run reduce jobs"), std::string::npos) << msg;
    // ACF: cuda at 10 bytes/ns wins from 100000 values (800 KB: cuda 105 us, cpu 810 us, inline 1.6 ms).
    lanes_router_t a = job(0, LANES_JOB_ACF, 8);
    p = place(a, 100000);
    EXPECT_EQ(p.where, LANES_WHERE_CUDA);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_CUDA], 105000);
    EXPECT_DOUBLE_EQ(p.predicted_ns[LANES_WHERE_INLINE], 1600000);
    lanes_router_release(&p);
    p = place(a, 1000); // inline 16 us, cpu 18 us, cuda 25.8 us
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    lanes_router_release(&p);
}

TEST_F(Router, LoadAccountingSplitsTheCores)
{
    cfg.pool_workers = 2; // pool tasks may run at once: a placement gets the free threads
    lanes_router_t a = job(0, LANES_JOB_MAP, 16), b = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t pa = place(a, 1 << 20);
    EXPECT_EQ(pa.where, LANES_WHERE_CPU);
    EXPECT_EQ(pa.threads, 2);
    EXPECT_EQ(pa.reserved, 2);
    EXPECT_EQ(lanes_router_cpu_busy(), 2);
    EXPECT_DOUBLE_EQ(pa.predicted_ns[LANES_WHERE_CPU], 20000 + 16777216.0 / 4);
    // The second big job sees no free core: one thread's share, so half the bandwidth.
    lanes_placement_t pb = place(b, 1 << 20);
    EXPECT_EQ(pb.where, LANES_WHERE_CPU);
    EXPECT_EQ(pb.threads, 1);
    EXPECT_DOUBLE_EQ(pb.predicted_ns[LANES_WHERE_CPU], 20000 + 16777216.0 / 2);
    EXPECT_EQ(lanes_router_cpu_busy(), 3);
    // A 2000-element piece goes to the cpu on an idle machine (28 us vs 33 us inline), inline under load.
    lanes_router_t c = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t pc = place(c, 2000);
    EXPECT_EQ(pc.where, LANES_WHERE_INLINE);
    EXPECT_DOUBLE_EQ(pc.predicted_ns[LANES_WHERE_CPU], 36000);
    lanes_router_release(&pc);
    lanes_router_release(&pa);
    lanes_router_release(&pa); // idempotent
    EXPECT_EQ(pa.reserved, 0);
    EXPECT_EQ(lanes_router_cpu_busy(), 1);
    lanes_router_release(&pb);
    EXPECT_EQ(lanes_router_cpu_busy(), 0);
    pc = place(c, 2000);
    EXPECT_EQ(pc.where, LANES_WHERE_CPU);
    EXPECT_EQ(pc.threads, 2);
    EXPECT_DOUBLE_EQ(pc.predicted_ns[LANES_WHERE_CPU], 28000);
    lanes_router_release(&pc);
}

TEST_F(Router, OnePoolWorkerKeepsEveryThreadButPredictsTheWait)
{
    lanes_router_t a = job(0, LANES_JOB_MAP, 16), b = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t pa = place(a, 1 << 20), pb = place(b, 1 << 20);
    EXPECT_EQ(pa.threads, 2);
    EXPECT_EQ(pb.threads, 2) << "with one pool worker, tasks take turns: each gets every thread";
    EXPECT_GT(pb.predicted_ns[LANES_WHERE_CPU], pa.predicted_ns[LANES_WHERE_CPU]);
    lanes_router_release(&pa);
    lanes_router_release(&pb);
}

TEST_F(Router, DeviceTableAndGpuDownFallback)
{
    gpus(2);
    EXPECT_TRUE(lanes_router_device_up(0));
    EXPECT_TRUE(lanes_router_device_up(1));
    EXPECT_FALSE(lanes_router_device_up(2));
    lanes_router_t r = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t p0 = place(r, 1 << 20), p1 = place(r, 1 << 20);
    EXPECT_EQ(p0.device, 0);
    EXPECT_EQ(p1.device, 1) << "the least-loaded device";
    lanes_router_release(&p1);
    // Device 1 goes down: pieces queue on device 0, and its queue makes them dearer.
    lanes_router_set_device_up(1, 0);
    lanes_placement_t p2 = place(r, 1 << 20);
    EXPECT_EQ(p2.where, LANES_WHERE_CUDA);
    EXPECT_EQ(p2.device, 0);
    EXPECT_DOUBLE_EQ(p2.predicted_ns[LANES_WHERE_CUDA], 2 * (25000 + 16777216.0 / 20));
    EXPECT_EQ(lanes_router_gpu_queue(0), 2);
    lanes_router_release(&p0);
    lanes_router_release(&p2);
    // Both down: AUTO falls back to the cpu; forced cuda is refused up front, or UNAVAILABLE mid-job.
    lanes_router_t forced = job(LANES_BACKEND_CUDA, LANES_JOB_MAP, 16);
    lanes_router_set_device_up(0, 0);
    lanes_placement_t p = place(r, 1 << 20);
    EXPECT_EQ(p.where, LANES_WHERE_CPU);
    EXPECT_LT(p.predicted_ns[LANES_WHERE_CUDA], 0);
    lanes_router_release(&p);
    EXPECT_EQ(lanes_status_from_error(lanes_router_place(&forced, 1000, &p, &err)), LANES_STATUS_UNAVAILABLE);
    EXPECT_EQ(std::string(msg), "backend 'cuda' was forced, but no CUDA device is up now (2 device(s) known, all down)");
    EXPECT_EQ(p.reserved, 0);
    job(LANES_BACKEND_CUDA, LANES_JOB_MAP, 16, LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_EQ(std::string(msg), "backend 'cuda' is not available: all 2 CUDA device(s) are down");
    lanes_router_set_devices(0);
    job(LANES_BACKEND_CUDA, LANES_JOB_ACF, 8, LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_NE(std::string(msg).find("no CUDA device is up"), std::string::npos) << msg;
    // Device 0 comes back.
    lanes_router_set_devices(2);
    lanes_router_set_device_up(1, 0);
    p = place(forced, 1000);
    EXPECT_EQ(p.where, LANES_WHERE_CUDA);
    EXPECT_EQ(p.device, 0);
    lanes_router_release(&p);
}

TEST_F(Router, APieceThatFellBackIsCountedAndSaid)
{
    gpus(1);
    lanes_router_t r = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t p = place(r, 1 << 20);
    ASSERT_EQ(p.where, LANES_WHERE_CUDA);
    lanes_router_record(&r, &p, LANES_WHERE_CPU, 1 << 20); // the device failed mid-piece
    lanes_router_release(&p);
    EXPECT_EQ(r.gpu_fallbacks, 1);
    const char *backend;
    std::string reason = explain(r, &backend);
    EXPECT_STREQ(backend, "cpu");
    EXPECT_NE(reason.find("1 on cpu"), std::string::npos) << reason;
    EXPECT_NE(reason.find("; 1 piece(s) fell back to the cpu after a device failure"), std::string::npos) << reason;
}

TEST_F(Router, PinnedThresholdsOverrideTheModel)
{
    gpus(1);
    cfg.inline_threshold = 5000;
    lanes_router_t r = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t p = place(r, 4999); // the model says cuda (29 us vs inline 81 us): the pin says inline
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    EXPECT_LT(p.predicted_ns[LANES_WHERE_CUDA], p.predicted_ns[LANES_WHERE_INLINE]);
    lanes_router_record(&r, &p, LANES_WHERE_INLINE, 4999);
    lanes_router_release(&p);
    const char *backend;
    std::string reason = explain(r, &backend);
    EXPECT_NE(reason.find("inline predicted 81.0 \xc2\xb5s, cuda 29.0 \xc2\xb5s, cpu 40.0 \xc2\xb5s (pinned: under "
                          "inline_threshold 5000)"),
              std::string::npos)
        << reason;
    lanes_router_set_devices(0);
    p = place(r, 5000); // at the threshold: the model's choice without inline (no device now)
    EXPECT_EQ(p.where, LANES_WHERE_CPU);
    lanes_router_release(&p);
    // A piece the model runs inline (acf, 100 values: inline 1.6 us, cpu 10.8 us) leaves inline once a
    // threshold at or below its size is pinned.
    cfg.inline_threshold = 0;
    lanes_router_t a2 = job(0, LANES_JOB_ACF, 8);
    p = place(a2, 100); // inline 1.6 us, cpu 10.8 us
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    lanes_router_release(&p);
    cfg.inline_threshold = 200;
    lanes_router_t a3 = job(0, LANES_JOB_ACF, 8);
    p = place(a3, 200); // at the threshold: inline is out of the choice though cheaper
    EXPECT_EQ(p.where, LANES_WHERE_CPU);
    lanes_router_release(&p);

    // gpu_threshold: cuda only from it on, and then whatever the model says.
    gpus(1);
    cfg.inline_threshold = 0;
    cfg.gpu_threshold = 2000000;
    lanes_router_t g = job(0, LANES_JOB_MAP, 16);
    p = place(g, 1 << 20); // the model would pick cuda
    EXPECT_EQ(p.where, LANES_WHERE_CPU);
    lanes_router_release(&p);
    p = place(g, 2000000);
    EXPECT_EQ(p.where, LANES_WHERE_CUDA);
    lanes_router_record(&g, &p, LANES_WHERE_CUDA, 2000000);
    lanes_router_release(&p);
    reason = explain(g, &backend);
    EXPECT_NE(reason.find("(pinned: gpu_threshold 2000000)"), std::string::npos) << reason;
    cfg.gpu_threshold = 100;
    cfg.inline_threshold = 5000;
    lanes_router_t both = job(0, LANES_JOB_MAP, 16);
    p = place(both, 1000); // both pins apply: gpu_threshold wins while a device is up
    EXPECT_EQ(p.where, LANES_WHERE_CUDA);
    lanes_router_release(&p);
    lanes_router_set_device_up(0, 0);
    p = place(both, 1000);
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    lanes_router_release(&p);
}

TEST_F(Router, DefaultConfigKeepsTodaysSplit)
{
    lanes_config_defaults(&cfg);
    cfg.threads = 2;
    lanes_cost_model_t m;
    lanes_router_default_model(&m);
    lanes_router_set_model(&m);
    lanes_router_t r = job(0, LANES_JOB_MAP, 16);
    lanes_placement_t p = place(r, 16383);
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    lanes_router_record(&r, &p, LANES_WHERE_INLINE, 16383);
    lanes_router_release(&p);
    for (int i = 0; i < 3; i++) {
        p = place(r, 131072);
        EXPECT_EQ(p.where, LANES_WHERE_CPU);
        EXPECT_EQ(p.threads, 2);
        lanes_router_record(&r, &p, LANES_WHERE_CPU, 131072);
        lanes_router_release(&p);
    }
    const char *backend;
    std::string reason = explain(r, &backend);
    EXPECT_STREQ(backend, "cpu");
    EXPECT_EQ(reason.rfind("auto: 4 chunk(s), 409599 elements: 3 on cpu (OpenMP pool, 2 threads), 1 inline; a "
                           "131072-element piece: cpu predicted ",
                           0),
              0u)
        << reason;
    EXPECT_NE(reason.find("; smaller pieces inline (under inline_threshold 16384); model: built-in defaults"),
              std::string::npos)
        << reason;
}

TEST_F(Router, ForcedBackends)
{
    lanes_router_t r = job(LANES_BACKEND_INLINE, LANES_JOB_MAP, 16);
    lanes_placement_t p = place(r, 1u << 30);
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    EXPECT_EQ(p.threads, 1);
    lanes_router_record(&r, &p, LANES_WHERE_INLINE, 1u << 30);
    lanes_router_release(&p);
    const char *backend;
    EXPECT_EQ(explain(r, &backend), "forced by the client: inline");
    EXPECT_STREQ(backend, "inline");
    r = job(LANES_BACKEND_CPU, LANES_JOB_REDUCE, 8);
    p = place(r, 1);
    EXPECT_EQ(p.where, LANES_WHERE_CPU);
    EXPECT_EQ(p.threads, 2);
    lanes_router_record(&r, &p, LANES_WHERE_CPU, 1);
    lanes_router_release(&p);
    EXPECT_EQ(explain(r, &backend), "forced by the client: cpu (OpenMP pool, 2 threads)");
    EXPECT_STREQ(backend, "cpu");
    gpus(1);
    r = job(LANES_BACKEND_CUDA, LANES_JOB_MAP, 16);
    p = place(r, 10); // tiny, but forced
    EXPECT_EQ(p.where, LANES_WHERE_CUDA);
    EXPECT_EQ(p.device, 0);
    lanes_router_record(&r, &p, LANES_WHERE_CUDA, 10);
    lanes_router_release(&p);
    EXPECT_EQ(explain(r, &backend), "forced by the client: cuda (1 chunk(s) on the GPU)");
    EXPECT_STREQ(backend, "cuda");
}

TEST_F(Router, UnavailableOrUnknownBackendsAreRefused)
{
    lanes_router_t r;
    if (!saved_cuda.available) {
        EXPECT_EQ(lanes_status_from_error(lanes_router_init(&r, &cfg, LANES_BACKEND_CUDA, LANES_JOB_MAP, 16, &err)),
                  LANES_STATUS_FAILED_PRECONDITION);
        EXPECT_NE(std::string(msg).find("backend 'cuda' is not available"), std::string::npos) << msg;
    }
    lanes_registry_set_available(LANES_BACKEND_CUDA, 1, "test");
    EXPECT_EQ(lanes_status_from_error(lanes_router_init(&r, &cfg, LANES_BACKEND_CUDA, LANES_JOB_MAP, 16, &err)),
              LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_EQ(std::string(msg), "backend 'cuda' is not available: no CUDA device is up (no GPU worker has registered "
                                "a device with the router)");
    EXPECT_EQ(lanes_status_from_error(lanes_router_init(&r, &cfg, LANES_BACKEND_PROCESS_POOL, LANES_JOB_MAP, 16, &err)),
              LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_NE(std::string(msg).find("runs batches of documents (the Corpus call), not map jobs"), std::string::npos)
        << msg;
    EXPECT_EQ(lanes_status_from_error(lanes_router_init(&r, &cfg, 42, LANES_JOB_MAP, 16, &err)), LANES_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(lanes_status_from_error(lanes_router_init(&r, &cfg, LANES_BACKEND_CPU, LANES_JOB_CORPUS, 0, &err)),
              LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_NE(std::string(msg).find("a corpus runs on the process pool only"), std::string::npos) << msg;
    EXPECT_EQ(lanes_status_from_error(lanes_router_init(&r, &cfg, LANES_BACKEND_CUDA, LANES_JOB_TEXT, 1, &err)),
              LANES_STATUS_FAILED_PRECONDITION);
}

TEST_F(Router, TextIsPlacedByBytesOnOneThread)
{
    gpus(1); // text never goes to cuda
    lanes_router_t r = job(0, LANES_JOB_TEXT, 1);
    lanes_placement_t p = place(r, LANES_ROUTER_TEXT_POOL_BYTES - 1);
    EXPECT_EQ(p.where, LANES_WHERE_INLINE);
    lanes_router_record(&r, &p, LANES_WHERE_INLINE, 1000);
    lanes_router_release(&p);
    for (int i = 0; i < 3; i++) {
        p = place(r, LANES_ROUTER_TEXT_POOL_BYTES);
        EXPECT_EQ(p.where, LANES_WHERE_CPU);
        EXPECT_EQ(p.threads, 1);
        EXPECT_LT(p.predicted_ns[LANES_WHERE_CUDA], 0);
        lanes_router_record(&r, &p, LANES_WHERE_CPU, 100000);
        lanes_router_release(&p);
    }
    const char *backend;
    std::string reason = explain(r, &backend);
    EXPECT_STREQ(backend, "cpu");
    EXPECT_NE(reason.find("one document of 301000 bytes"), std::string::npos) << reason;
}

TEST_F(Router, ReasonIsTruncatedToTheSummaryField)
{
    gpus(1);
    lanes_cost_model_t m = test_model();
    std::string longsrc(sizeof m.source - 1, 'x');
    snprintf(m.source, sizeof m.source, "%s", longsrc.c_str());
    lanes_router_set_model(&m);
    lanes_router_t r = job(0, LANES_JOB_MAP, 16);
    for (uint64_t n : {1000ull, 123456789ull}) {
        lanes_placement_t p = place(r, n);
        lanes_router_record(&r, &p, LANES_WHERE_CPU, n);
        lanes_router_record(&r, &p, LANES_WHERE_INLINE, n);
        lanes_router_release(&p);
    }
    r.gpu_fallbacks = 7;
    char reason[320];
    const char *backend;
    lanes_router_explain(&r, &backend, reason, sizeof reason);
    EXPECT_EQ(strlen(reason), sizeof reason - 1);
    EXPECT_EQ(std::string(reason).substr(sizeof reason - 4), "...");
    char tiny[8];
    lanes_router_explain(&r, &backend, tiny, sizeof tiny);
    EXPECT_STREQ(tiny, "auto...");
}

// ---- the calibration file ----

class CalibrationFile : public ::testing::Test {
  protected:
    void SetUp() override
    {
        snprintf(path, sizeof path, "/tmp/lanes-test-calibration-%ld.txt", (long)getpid());
    }
    void TearDown() override { remove(path); }
    void write(const char *text)
    {
        FILE *f = fopen(path, "w");
        ASSERT_NE(f, nullptr);
        fputs(text, f);
        fclose(f);
    }
    std::string read_error()
    {
        lanes_cost_model_t m;
        char err[512] = "";
        EXPECT_EQ(lanes_calibrate_read_model(path, &m, err, sizeof err), -1);
        return err;
    }
    char path[128];
};

TEST_F(CalibrationFile, RoundTrip)
{
    lanes_cost_model_t m = test_model(), back;
    m.cpu_threads = 6;
    char err[512] = "";
    ASSERT_EQ(lanes_calibrate_write_model(path, &m, err, sizeof err), 0) << err;
    ASSERT_EQ(lanes_calibrate_read_model(path, &back, err, sizeof err), 0) << err;
    EXPECT_EQ(back.cpu_threads, 6);
    for (int w = 0; w < LANES_WHERE_N; w++)
        for (int f = 0; f < LANES_FAMILY_N; f++) {
            EXPECT_DOUBLE_EQ(back.c[w][f].overhead_ns, m.c[w][f].overhead_ns) << w << " " << f;
            EXPECT_DOUBLE_EQ(back.c[w][f].bytes_per_ns, m.c[w][f].bytes_per_ns) << w << " " << f;
        }
    EXPECT_EQ(std::string(back.source), std::string("calibration file ") + path + " (test model)");
    // The model text for Info names the source and the constants.
    char text[1024];
    lanes_router_format_model(&back, text, sizeof text);
    EXPECT_EQ(std::string(text).rfind(std::string(back.source) + "; cpu_threads 6; map: inline 1.00 \xc2\xb5s + 1 B/ns, "
                                      "cpu 20.0 \xc2\xb5s + 4 B/ns, cuda 25.0 \xc2\xb5s + 20 B/ns; reduce:",
                                      0),
              0u)
        << text;
}

TEST_F(CalibrationFile, ALongPathKeepsItsTailInTheSource)
{
    std::string dir = "/tmp/lanes-test-calibration-" + std::to_string(getpid()) + "-" + std::string(120, 'd');
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    std::string file = dir + "/cal.txt";
    lanes_cost_model_t m = test_model(), back;
    char err[512] = "";
    ASSERT_EQ(lanes_calibrate_write_model(file.c_str(), &m, err, sizeof err), 0) << err;
    ASSERT_EQ(lanes_calibrate_read_model(file.c_str(), &back, err, sizeof err), 0) << err;
    std::string src = back.source;
    EXPECT_EQ(src.rfind("calibration file ..." + file.substr(file.size() - 110) + " (test", 0), 0u) << src;
    EXPECT_LT(src.size(), sizeof back.source);
    remove(file.c_str());
    rmdir(dir.c_str());
}

TEST_F(CalibrationFile, EntriesLeftOutKeepTheDefaults)
{
    write("# a partial file\nmap.cpu = 123 4.5   # comment\n\n");
    lanes_cost_model_t m, d;
    char err[512] = "";
    ASSERT_EQ(lanes_calibrate_read_model(path, &m, err, sizeof err), 0) << err;
    lanes_router_default_model(&d);
    EXPECT_DOUBLE_EQ(m.c[LANES_WHERE_CPU][LANES_FAMILY_MAP].overhead_ns, 123);
    EXPECT_DOUBLE_EQ(m.c[LANES_WHERE_CPU][LANES_FAMILY_MAP].bytes_per_ns, 4.5);
    EXPECT_DOUBLE_EQ(m.c[LANES_WHERE_INLINE][LANES_FAMILY_ACF].bytes_per_ns,
                     d.c[LANES_WHERE_INLINE][LANES_FAMILY_ACF].bytes_per_ns);
    EXPECT_EQ(std::string(m.source), std::string("calibration file ") + path);
}

TEST_F(CalibrationFile, ErrorsNameTheFileAndLine)
{
    std::string p = path;
    write("cpu_threads = 2\n# fine so far\nmap.gpu = 1 2\n");
    EXPECT_EQ(read_error(), "calibration file " + p + " line 3: unknown key 'map.gpu' (families map, reduce, acf, "
                                                      "text; backends inline, cpu, cuda: 'map.cpu')");
    write("map.cpu = 1000 fast\n");
    EXPECT_EQ(read_error(), "calibration file " + p + " line 1: map.cpu: '1000 fast' is not 'overhead_ns "
                                                      "bytes_per_ns' (two numbers >= 0)");
    write("map.cpu = -1 2\n");
    EXPECT_NE(read_error().find("line 1: map.cpu: '-1 2' is not"), std::string::npos);
    write("\n\nmap.cpu 1 2\n");
    EXPECT_NE(read_error().find(" line 3: expected 'family.backend = overhead_ns bytes_per_ns'"), std::string::npos);
    write("cpu_threads = 0\n");
    EXPECT_NE(read_error().find(" line 1: cpu_threads: '0' is not a thread count"), std::string::npos);
    write("# nothing\n");
    EXPECT_NE(read_error().find(" line 1: no 'family.backend = overhead_ns bytes_per_ns' entry"), std::string::npos);
    remove(path);
    EXPECT_EQ(read_error(), "calibration file " + p + ": cannot open: No such file or directory");
    // The daemon's start-up model: the file if set (its error is fatal), else defaults.
    lanes_config_t cfg;
    lanes_config_defaults(&cfg);
    lanes_cost_model_t m;
    char err[512] = "";
    snprintf(cfg.calibration_file, sizeof cfg.calibration_file, "%s", path);
    EXPECT_EQ(lanes_calibrate_startup_model(&cfg, &m, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("cannot open"), std::string::npos) << err;
    cfg.calibration_file[0] = 0;
    ASSERT_EQ(lanes_calibrate_startup_model(&cfg, &m, err, sizeof err), 0);
    EXPECT_STREQ(m.source, "built-in defaults");
}

// ---- measurement ----

// A pretend GPU worker: 10 us + bytes / 50 per piece; it cannot run ACF.
int fake_gpu(void *ctx, lanes_family_t fam, size_t bytes, double *ns)
{
    ++*static_cast<int *>(ctx);
    if (fam == LANES_FAMILY_ACF)
        return -1;
    *ns = 10000 + (double)bytes / 50;
    return 0;
}

TEST(Calibrate, QuickCalibrationMeasuresEveryFamily)
{
    lanes_cost_model_t m, d;
    lanes_router_default_model(&d);
    int calls = 0;
    static lanes_calibrate_measured_t rec;
    lanes_calibrate_opts_t o = {.cpu_threads = 2, .quick = 1, .measure_gpu = fake_gpu, .gpu_ctx = &calls,
                                .measured = &rec};
    char err[512] = "";
    ASSERT_EQ(lanes_calibrate(&o, &m, err, sizeof err), 0) << err;
    // calibrate_at_start must stay well under a second: not timed here (a busy machine would decide),
    // but bounded by the work it does, three small sizes per family and backend.
    for (int w : {LANES_WHERE_INLINE, LANES_WHERE_CPU})
        for (int f = 0; f < LANES_FAMILY_N; f++) {
            EXPECT_EQ(rec.s[w][f].n, 3) << w << " " << f;
            EXPECT_LE(rec.s[w][f].bytes[rec.s[w][f].n - 1], 131072.0 * 16) << w << " " << f;
        }
    EXPECT_EQ(m.cpu_threads, 2);
    for (int f = 0; f < LANES_FAMILY_N; f++) {
        for (int w : {LANES_WHERE_INLINE, LANES_WHERE_CPU}) {
            EXPECT_GT(m.c[w][f].bytes_per_ns, 0) << w << " " << f;
            EXPECT_GT(m.c[w][f].overhead_ns, 0) << w << " " << f << ": a piece is never free";
        }
    }
    EXPECT_GT(m.c[LANES_WHERE_CPU][LANES_FAMILY_MAP].overhead_ns, 0) << "a pool task's hand-off costs something";
    EXPECT_GT(calls, 0);
    EXPECT_NEAR(m.c[LANES_WHERE_CUDA][LANES_FAMILY_MAP].overhead_ns, 10000, 1);
    EXPECT_NEAR(m.c[LANES_WHERE_CUDA][LANES_FAMILY_MAP].bytes_per_ns, 50, 0.01);
    EXPECT_NEAR(m.c[LANES_WHERE_CUDA][LANES_FAMILY_REDUCE].bytes_per_ns, 50, 0.01);
    // ACF failed on the device: it keeps the built-in constants; text never runs on cuda.
    EXPECT_DOUBLE_EQ(m.c[LANES_WHERE_CUDA][LANES_FAMILY_ACF].bytes_per_ns, d.c[LANES_WHERE_CUDA][LANES_FAMILY_ACF].bytes_per_ns);
    EXPECT_DOUBLE_EQ(m.c[LANES_WHERE_CUDA][LANES_FAMILY_TEXT].bytes_per_ns, 0);
    EXPECT_EQ(std::string(m.source).rfind("start-up calibration, ", 0), 0u) << m.source;
    EXPECT_NE(std::string(m.source).find("2 threads, cuda measured"), std::string::npos) << m.source;
    // The table for lanesd --calibrate has a line per family and backend.
    char table[4096];
    lanes_calibrate_format_table(&m, table, sizeof table);
    EXPECT_NE(std::string(table).find("\ntext    cuda"), std::string::npos) << table;
    EXPECT_NE(std::string(table).find("does not run"), std::string::npos) << table;
}

TEST(Calibrate, WithoutAGpuCallbackCudaKeepsItsDefaults)
{
    lanes_cost_model_t m, d;
    lanes_router_default_model(&d);
    lanes_calibrate_opts_t o = {.cpu_threads = 1, .quick = 1, .measure_gpu = nullptr, .gpu_ctx = nullptr, .measured = nullptr};
    char err[512] = "";
    ASSERT_EQ(lanes_calibrate(&o, &m, err, sizeof err), 0) << err;
    for (int f = 0; f < LANES_FAMILY_N; f++) {
        EXPECT_DOUBLE_EQ(m.c[LANES_WHERE_CUDA][f].overhead_ns, d.c[LANES_WHERE_CUDA][f].overhead_ns);
        EXPECT_DOUBLE_EQ(m.c[LANES_WHERE_CUDA][f].bytes_per_ns, d.c[LANES_WHERE_CUDA][f].bytes_per_ns);
    }
    EXPECT_NE(std::string(m.source).find("1 threads, cuda H100 defaults"), std::string::npos) << m.source;
}

} // namespace
