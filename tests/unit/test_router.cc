// Unit tests for service/router.c: thresholds, forced backends and the words of the reason.
#include <gtest/gtest.h>

#include <string>

#include "config.h"
#include "lanes/registry.h"
#include "router.h"

namespace {

class Router : public ::testing::Test {
  protected:
    void SetUp() override
    {
        lanes_registry_init(2);
        lanes_config_defaults(&cfg);
        cfg.threads = 2;
        cfg.inline_threshold = 1000;
    }
    lanes_config_t cfg;
    char msg[512] = "";
};

TEST_F(Router, AutoSplitsAtTheThreshold)
{
    lanes_router_t r;
    ASSERT_EQ(lanes_router_init(&r, &cfg, 0, LANES_JOB_MAP, msg, sizeof msg), LANES_STATUS_OK);
    int threads = 0;
    EXPECT_EQ(lanes_router_place(&r, 999, &threads), 0);
    EXPECT_EQ(threads, 1);
    EXPECT_EQ(lanes_router_place(&r, 1000, &threads), 1);
    EXPECT_EQ(threads, 2);
    const char *backend;
    char reason[320];
    lanes_router_explain(&r, 3, 30, 0, 0, &backend, reason, sizeof reason);
    EXPECT_STREQ(backend, "inline");
    EXPECT_EQ(std::string(reason), "auto: 3 chunk(s), each under inline_threshold 1000 elements: inline");
    lanes_router_explain(&r, 1, 10, 4, 40000, &backend, reason, sizeof reason);
    EXPECT_STREQ(backend, "cpu");
    EXPECT_NE(std::string(reason).find("4 chunk(s) (40000 elements) at least inline_threshold 1000"),
              std::string::npos);
}

TEST_F(Router, ForcedBackends)
{
    lanes_router_t r;
    ASSERT_EQ(lanes_router_init(&r, &cfg, LANES_BACKEND_INLINE, LANES_JOB_MAP, msg, sizeof msg), LANES_STATUS_OK);
    int threads = 0;
    EXPECT_EQ(lanes_router_place(&r, 1u << 30, &threads), 0);
    EXPECT_EQ(threads, 1);
    ASSERT_EQ(lanes_router_init(&r, &cfg, LANES_BACKEND_CPU, LANES_JOB_REDUCE, msg, sizeof msg), LANES_STATUS_OK);
    EXPECT_EQ(lanes_router_place(&r, 1, &threads), 1);
    EXPECT_EQ(threads, 2);
}

TEST_F(Router, UnavailableOrUnknownBackendsAreRefused)
{
    lanes_router_t r;
    lanes_backend_info_t cuda;
    ASSERT_EQ(lanes_registry_find(LANES_BACKEND_CUDA, &cuda), 0);
    if (!cuda.available) {
        EXPECT_EQ(lanes_router_init(&r, &cfg, LANES_BACKEND_CUDA, LANES_JOB_MAP, msg, sizeof msg),
                  LANES_STATUS_FAILED_PRECONDITION);
        EXPECT_NE(std::string(msg).find("backend 'cuda' is not available"), std::string::npos) << msg;
    }
    EXPECT_EQ(lanes_router_init(&r, &cfg, LANES_BACKEND_PROCESS_POOL, LANES_JOB_MAP, msg, sizeof msg),
              LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_NE(std::string(msg).find("runs batches of documents (the Corpus call), not map jobs"), std::string::npos)
        << msg;
    EXPECT_EQ(lanes_router_init(&r, &cfg, 42, LANES_JOB_MAP, msg, sizeof msg), LANES_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(lanes_router_init(&r, &cfg, LANES_BACKEND_CPU, LANES_JOB_CORPUS, msg, sizeof msg),
              LANES_STATUS_FAILED_PRECONDITION);
    EXPECT_NE(std::string(msg).find("a corpus runs on the process pool only"), std::string::npos) << msg;
    EXPECT_EQ(lanes_router_init(&r, &cfg, LANES_BACKEND_CUDA, LANES_JOB_TEXT, msg, sizeof msg),
              LANES_STATUS_FAILED_PRECONDITION);
}

TEST_F(Router, TextIsPlacedByBytesOnOneThread)
{
    lanes_router_t r;
    ASSERT_EQ(lanes_router_init(&r, &cfg, 0, LANES_JOB_TEXT, msg, sizeof msg), LANES_STATUS_OK);
    int threads = 0;
    EXPECT_EQ(lanes_router_place(&r, LANES_ROUTER_TEXT_POOL_BYTES - 1, &threads), 0);
    EXPECT_EQ(lanes_router_place(&r, LANES_ROUTER_TEXT_POOL_BYTES, &threads), 1);
    EXPECT_EQ(threads, 1);
    const char *backend;
    char reason[320];
    lanes_router_explain(&r, 1, 1000, 3, 300000, &backend, reason, sizeof reason);
    EXPECT_STREQ(backend, "cpu");
    EXPECT_NE(std::string(reason).find("one document of 301000 bytes"), std::string::npos) << reason;
}

}  // namespace
