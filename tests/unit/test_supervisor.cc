// Unit tests of the helper supervisor (service/exec/supervisor.c): spawning, the hello, reaping and
// the words for a helper's end, and the back-off policy. Helpers are tiny sh scripts run as
// "sh SCRIPT FD" (the supervisor's "EXE MODE FD" with the script as the mode) that end in a chosen way,
// and the real lanesd-test in worker mode for a real hello. Nothing here waits on the wall clock: a
// helper that never says hello blocks reading its socket until the test kills it, and the back-off is
// checked as a function of the times it is given.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <list>
#include <string>
#include <vector>

#include "supervisor.h"
#include "worker.h"

namespace {

constexpr uint64_t kMs = 1000000;

class Supervisor : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/lanes-supervisor-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override
    {
        for (const auto &f : files_)
            unlink(f.c_str());
        rmdir(dir_.c_str());
    }

    // A helper kind that runs "sh SCRIPT FD": body sees the socket's fd number as $1.
    lanes_supervisor_t Script(const std::string &name, const std::string &body)
    {
        std::string path = dir_ + "/" + name + ".sh";
        std::ofstream(path) << body << "\n";
        files_.push_back(path);
        paths_.push_back(path);
        lanes_supervisor_t s;
        lanes_supervisor_init(&s, "/bin/sh", paths_.back().c_str());
        return s;
    }

    void Spawn(const lanes_supervisor_t &s, lanes_supervisor_helper_t *h)
    {
        char err[512] = "";
        ASSERT_EQ(lanes_supervisor_spawn(&s, h, nullptr, "test helper", err, sizeof err), 0) << err;
        ASSERT_GT(h->pid, 0);
        ASSERT_GE(h->fd, 0);
        ASSERT_GT(h->spawned_ns, 0u);
    }

    std::string dir_;
    std::vector<std::string> files_;
    std::list<std::string> paths_; // the modes the supervisors point to (stable addresses)
};

TEST_F(Supervisor, AHelperThatExitsAtOnceEndsBeforeItsHelloAndSaysItsStatus)
{
    lanes_supervisor_t s = Script("exit3", "exit 3");
    lanes_supervisor_helper_t h;
    Spawn(s, &h);
    lanes_worker_hello_t hello{};
    EXPECT_EQ(lanes_supervisor_hello(&h, &hello, sizeof hello), LANES_SUPERVISOR_HELLO_ENDED);
    char how[128] = "";
    EXPECT_EQ(lanes_supervisor_reap(&h, UINT64_MAX, how, sizeof how), 0);
    EXPECT_STREQ(how, "exited with status 3");
    EXPECT_EQ(h.pid, 0);
    EXPECT_EQ(h.fd, -1);
}

TEST_F(Supervisor, AHelperKilledByASignalIsDescribedByItsName)
{
    lanes_supervisor_t s = Script("killed", "kill -KILL $$");
    lanes_supervisor_helper_t h;
    Spawn(s, &h);
    lanes_worker_hello_t hello{};
    EXPECT_EQ(lanes_supervisor_hello(&h, &hello, sizeof hello), LANES_SUPERVISOR_HELLO_ENDED);
    char how[128] = "";
    EXPECT_EQ(lanes_supervisor_reap(&h, UINT64_MAX, how, sizeof how), 0);
    EXPECT_STREQ(how, "was killed by signal 9 (SIGKILL)");
}

TEST_F(Supervisor, AHelperThatNeverSaysHelloIsKilledWhenReapedAtOnce)
{
    // It reads its socket until EOF: it would outlive any wait, so only the kill ends it.
    lanes_supervisor_t s = Script("silent", "eval \"exec cat <&$1\"");
    lanes_supervisor_helper_t h;
    Spawn(s, &h);
    pid_t pid = h.pid;
    char how[128] = "";
    EXPECT_EQ(lanes_supervisor_reap(&h, 0, how, sizeof how), 0);
    EXPECT_STREQ(how, "was killed by signal 9 (SIGKILL)");
    EXPECT_NE(kill(pid, 0), 0) << "the helper was not reaped";
}

TEST_F(Supervisor, AHelperAskedToExitEndsCleanly)
{
    lanes_supervisor_t s = Script("eof", "eval \"exec cat <&$1\"");
    lanes_supervisor_helper_t h;
    Spawn(s, &h);
    lanes_supervisor_ask_exit(&h);
    char how[128] = "";
    EXPECT_EQ(lanes_supervisor_reap(&h, UINT64_MAX, how, sizeof how), 1);
    EXPECT_STREQ(how, "exited with status 0");
}

TEST_F(Supervisor, AHelloOfTheWrongSizeIsMalformed)
{
    lanes_supervisor_t s = Script("short", "eval \"printf hi >&$1; exec cat <&$1\""); // then waits for EOF
    lanes_supervisor_helper_t h;
    Spawn(s, &h);
    lanes_worker_hello_t hello{};
    EXPECT_EQ(lanes_supervisor_hello(&h, &hello, sizeof hello), LANES_SUPERVISOR_HELLO_MALFORMED);
    EXPECT_EQ(lanes_supervisor_reap(&h, 0, nullptr, 0), 0) << "killed, not a clean exit";
}

TEST_F(Supervisor, ARealWorkerSaysHelloAndExitsAtEof)
{
    lanes_supervisor_t s;
    lanes_supervisor_init(&s, LANESD_PATH, "--worker");
    lanes_supervisor_helper_t h;
    Spawn(s, &h);
    lanes_worker_hello_t hello{};
    ASSERT_EQ(lanes_supervisor_hello(&h, &hello, sizeof hello), LANES_SUPERVISOR_HELLO_OK);
    EXPECT_EQ(hello.magic, LANES_WORKER_MAGIC);
    EXPECT_EQ(hello.pid, h.pid);
    EXPECT_EQ(lanes_supervisor_hello_deadline(&h), h.spawned_ns + LANES_SUPERVISOR_HELLO_TIMEOUT_S * 1000 * kMs);
    lanes_supervisor_ask_exit(&h);
    char how[128] = "";
    EXPECT_EQ(lanes_supervisor_reap(&h, UINT64_MAX, how, sizeof how), 1);
    EXPECT_STREQ(how, "exited with status 0");
}

TEST(SupervisorSpawn, AMissingBinaryFailsWithAMessageAndLeavesNoHelper)
{
    lanes_supervisor_t s;
    lanes_supervisor_init(&s, "/nonexistent/lanesd", "--worker");
    lanes_supervisor_helper_t h;
    char err[512] = "";
    EXPECT_EQ(lanes_supervisor_spawn(&s, &h, nullptr, "worker 0", err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("posix_spawn() of worker 0 (/nonexistent/lanesd) failed"), std::string::npos)
        << err;
    EXPECT_EQ(h.pid, 0);
    EXPECT_EQ(h.fd, -1);
    EXPECT_EQ(h.spawned_ns, 0u);
}

TEST(SupervisorDescribe, AnUnknownStatus)
{
    char how[64];
    lanes_supervisor_describe_exit(0, 0, how, sizeof how);
    EXPECT_STREQ(how, "exited (status unknown)");
}

TEST(SupervisorBackoff, QuickDeathsDoubleFrom100MsTo5S)
{
    lanes_supervisor_backoff_t b{};
    const uint64_t t0 = 1000000 * kMs;
    const uint64_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (unsigned k = 0; k < sizeof want / sizeof want[0]; k++) {
        uint64_t now = t0 + k * 10000 * kMs;
        lanes_supervisor_backoff(&b, now - 999 * kMs, now); // lived 999 ms: "at once"
        EXPECT_EQ(b.respawn_ns, now + want[k] * kMs) << "death " << k + 1;
        EXPECT_EQ(b.quick_deaths, k + 1);
    }
}

TEST(SupervisorBackoff, AHelperThatLivedASecondIsReplacedAtOnceAndResetsTheCount)
{
    lanes_supervisor_backoff_t b{};
    const uint64_t now = 1000000 * kMs;
    lanes_supervisor_backoff(&b, now - 10 * kMs, now);
    lanes_supervisor_backoff(&b, now - 10 * kMs, now);
    EXPECT_EQ(b.quick_deaths, 2u);
    lanes_supervisor_backoff(&b, now - 1000 * kMs, now);
    EXPECT_EQ(b.respawn_ns, now);
    EXPECT_EQ(b.quick_deaths, 0u);
    lanes_supervisor_backoff(&b, now - 10 * kMs, now);
    EXPECT_EQ(b.respawn_ns, now + 100 * kMs) << "the count starts again";
}

TEST(SupervisorBackoff, AFailedSpawnCountsAsAQuickDeath)
{
    lanes_supervisor_backoff_t b{};
    const uint64_t now = 1000000 * kMs;
    lanes_supervisor_backoff(&b, 0, now);
    EXPECT_EQ(b.respawn_ns, now + 100 * kMs);
    lanes_supervisor_backoff(&b, 0, now);
    EXPECT_EQ(b.respawn_ns, now + 200 * kMs);
}

} // namespace
