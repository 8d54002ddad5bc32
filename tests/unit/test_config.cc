// Unit tests for service/config.c: defaults, sources and their precedence, validation messages.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "config.h"

namespace {

struct Loaded {
    int rc;
    lanes_config_t cfg;
    std::string err, out;
};

Loaded load(std::vector<std::string> args, std::vector<std::string> env = {})
{
    std::vector<char *> argv;
    static std::string prog = "lanesd";
    argv.push_back(prog.data());
    for (auto &a : args)
        argv.push_back(a.data());
    std::vector<char *> envp;
    for (auto &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    Loaded l{};
    char err[1024] = "", out[8192] = "";
    l.rc = lanes_config_load(&l.cfg, (int)argv.size(), argv.data(), envp.data(), err, sizeof err, out, sizeof out);
    l.err = err;
    l.out = out;
    return l;
}

TEST(Config, DefaultsAreValidAndDocumented)
{
    Loaded l = load({});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_STREQ(l.cfg.listen, "127.0.0.1:50051");
    EXPECT_EQ(l.cfg.chunk_bytes, 1u << 20);
    EXPECT_EQ(l.cfg.max_message_bytes, (4u << 20) + (64u << 10));
    EXPECT_EQ(l.cfg.threads, 0);
    EXPECT_GT(l.cfg.inline_threshold, 0u);
    EXPECT_DOUBLE_EQ(l.cfg.grace_seconds, 5.0);
}

TEST(Config, FlagsOverrideEnvironmentInBothSpellings)
{
    Loaded l = load({"--threads", "3", "--chunk-bytes=64KiB"}, {"LANES_THREADS=7", "LANES_CQ_THREADS=5"});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_EQ(l.cfg.threads, 3);
    EXPECT_EQ(l.cfg.cq_threads, 5);
    EXPECT_EQ(l.cfg.chunk_bytes, 65536u);
}

TEST(Config, ByteSuffixes)
{
    lanes_config_t cfg;
    lanes_config_defaults(&cfg);
    char err[256];
    ASSERT_EQ(lanes_config_set(&cfg, "max_message_bytes", "8MiB", "t", err, sizeof err), 0) << err;
    EXPECT_EQ(cfg.max_message_bytes, 8u << 20);
    ASSERT_EQ(lanes_config_set(&cfg, "chunk_bytes", "2M", "t", err, sizeof err), 0) << err;
    EXPECT_EQ(cfg.chunk_bytes, 2u << 20);
    EXPECT_NE(lanes_config_set(&cfg, "chunk_bytes", "2X", "t", err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("not a byte count"), std::string::npos) << err;
}

TEST(Config, ErrorsNameTheKeyAndOrigin)
{
    Loaded l = load({"--max-calls", "0"});
    EXPECT_EQ(l.rc, -1);
    EXPECT_EQ(l.err, "option --max-calls: max_calls: 0 is below the minimum 1");
    l = load({}, {"LANES_POOL_WORKERS=many"});
    EXPECT_EQ(l.rc, -1);
    EXPECT_EQ(l.err, "environment LANES_POOL_WORKERS: pool_workers: 'many' is not an integer");
    l = load({"--bogus=1"});
    EXPECT_EQ(l.rc, -1);
    EXPECT_NE(l.err.find("unknown option '--bogus=1'"), std::string::npos);
    l = load({"--threads"});
    EXPECT_EQ(l.rc, -1);
    EXPECT_EQ(l.err, "option --threads needs a value");
}

TEST(Config, ChunkMustFitInAMessage)
{
    Loaded l = load({"--chunk-bytes", "4MiB", "--max-message-bytes", "4MiB"});
    EXPECT_EQ(l.rc, -1);
    EXPECT_NE(l.err.find("chunk_bytes (4194304) must be at least 1 KiB below max_message_bytes"), std::string::npos)
        << l.err;
}

TEST(Config, FileWithCommentsAndQuotes)
{
    char path[] = "/tmp/lanes-test-config-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("# lanes\nlisten = \"0.0.0.0:6000\"  # all interfaces\n\n  log_level=debug\n", f);
    fclose(f);
    Loaded l = load({"--config", path});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_STREQ(l.cfg.listen, "0.0.0.0:6000");
    EXPECT_EQ(l.cfg.log_level, 3);
    f = fopen(path, "w");
    fputs("threads = 1\nthreads = -1\n", f);
    fclose(f);
    l = load({"--config", path});
    EXPECT_EQ(l.rc, -1);
    EXPECT_NE(l.err.find("line 2: threads: -1 is below the minimum 0"), std::string::npos) << l.err;
    remove(path);
}

TEST(Config, ProcessPoolKeys)
{
    Loaded l = load({});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_EQ(l.cfg.proc_workers, -1);  // auto
    EXPECT_EQ(l.cfg.worker_memory_mb, 4096);
    EXPECT_EQ(l.cfg.worker_retries, 1);
    EXPECT_EQ(l.cfg.max_doc_bytes, 1ull << 30);
    l = load({"--proc-workers", "0", "--worker-retries=3", "--max-doc-bytes", "64MiB"}, {"LANES_WORKER_MEMORY_MB=512"});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_EQ(l.cfg.proc_workers, 0);
    EXPECT_EQ(l.cfg.worker_retries, 3);
    EXPECT_EQ(l.cfg.worker_memory_mb, 512);
    EXPECT_EQ(l.cfg.max_doc_bytes, 64ull << 20);
    l = load({"--proc-workers", "auto"});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_EQ(l.cfg.proc_workers, -1);
    l = load({"--proc-workers", "many"});
    EXPECT_EQ(l.err, "option --proc-workers: proc_workers: 'many' is not an integer or auto");
    l = load({"--worker-retries", "4"});
    EXPECT_EQ(l.err, "option --worker-retries: worker_retries: 4 is above the maximum 3");
    l = load({"--print-config", "--proc-workers", "3"});
    EXPECT_NE(l.out.find("proc_workers = 3\n"), std::string::npos) << l.out;
    l = load({"--print-config"});
    EXPECT_NE(l.out.find("proc_workers = auto\n"), std::string::npos) << l.out;
}

TEST(Config, RouterKeys)
{
    Loaded l = load({});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_STREQ(l.cfg.calibration_file, "");
    EXPECT_EQ(l.cfg.calibrate_at_start, 0);
    EXPECT_EQ(l.cfg.gpu_threshold, 0u);
    EXPECT_EQ(l.cfg.inline_threshold, 16384u);  // today's behaviour stays pinned by default
    l = load({"--calibration-file", "/tmp/cal.txt", "--gpu-threshold=1M"}, {"LANES_CALIBRATE_AT_START=1"});
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_STREQ(l.cfg.calibration_file, "/tmp/cal.txt");
    EXPECT_EQ(l.cfg.calibrate_at_start, 1);
    EXPECT_EQ(l.cfg.gpu_threshold, 1u << 20);
    l = load({"--calibrate-at-start", "2"});
    EXPECT_EQ(l.err, "option --calibrate-at-start: calibrate_at_start: 2 is above the maximum 1");
    l = load({"--gpu-threshold", "lots"});
    EXPECT_NE(l.err.find("gpu_threshold: 'lots' is not a byte count"), std::string::npos) << l.err;
    l = load({"--print-config", "--gpu-threshold", "4096", "--calibration-file", "c.txt"});
    ASSERT_EQ(l.rc, 1);
    EXPECT_NE(l.out.find("gpu_threshold = 4096\n"), std::string::npos) << l.out;
    EXPECT_NE(l.out.find("calibration_file = \"c.txt\"\n"), std::string::npos) << l.out;
    EXPECT_NE(l.out.find("calibrate_at_start = 0\n"), std::string::npos) << l.out;
    l = load({"--help"});
    ASSERT_EQ(l.rc, 1);
    EXPECT_NE(l.out.find("--calibration-file"), std::string::npos) << l.out;
    EXPECT_NE(l.out.find("--gpu-threshold"), std::string::npos) << l.out;
    EXPECT_NE(l.out.find("lanesd --calibrate [FILE]"), std::string::npos) << l.out;
}

TEST(Config, PrintConfigRoundTrips)
{
    Loaded l = load({"--print-config", "--threads", "2"});
    ASSERT_EQ(l.rc, 1);
    EXPECT_NE(l.out.find("threads = 2\n"), std::string::npos);
    EXPECT_NE(l.out.find("log_level = info\n"), std::string::npos);
}

}  // namespace
