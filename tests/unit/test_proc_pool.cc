// Unit tests of the process pool (service/exec/proc_pool.c), its workers (service/worker/worker.c), the result
// layout's checks (service/exec/doc_job.c) and document spools (service/exec/spool.c). The workers are the real
// lanesd-test binary of this build (LANESD_PATH); results are compared with the text kernels called
// here on the same bytes. Faults are made deterministic: a worker to be killed first pauses on its
// document (lanesd-test's LANES_TEST_WORKER_PAUSE_FILE), so it is certainly mid-document.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "doc_job.h"
#include "fdpass.h"
#include "lanes/text.h"
#include "proc_pool.h"
#include "spool.h"
#include "status.h"
#include "worker.h"

extern char **environ;

namespace {

using Clock = std::chrono::steady_clock;
// How long a wait for something that must happen may take before it is called a hang: generous for
// the sanitizer build on a busy 2-core machine. A guard, never a measurement.
constexpr std::chrono::seconds kHangGuard{120};

std::string ReadBook(const std::string &name)
{
    std::string path = std::string(LANES_SHARED_DATA) + "/gutenberg/" + name;
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "missing test data " << path << " (the shared/ checkout beside the repository)";
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

const std::vector<std::string> kBooks = {"pg105.txt", "pg42.txt", "pg45.txt", "pg58.txt",
                                         "pg65.txt",  "pg87.txt", "pg99.txt"};

struct Entry {
    std::string word;
    uint64_t count;
    bool operator==(const Entry &o) const { return word == o.word && count == o.count; }
};

// A result copied out of lanes_doc_result_t (which the callback frees).
struct Result {
    lanes_status_t status = LANES_STATUS_UNKNOWN;
    std::string msg;
    uint64_t total = 0;
    std::vector<Entry> entries, top;
    std::vector<double> acf;
    int worker = -1, pid = 0;
    unsigned attempts = 0;
};

std::vector<Entry> Entries(const lanes_word_entry_t *e, size_t n)
{
    std::vector<Entry> v;
    for (size_t i = 0; i < n; i++)
        v.push_back({std::string(e[i].word, e[i].len), e[i].count});
    return v;
}

// The kernels called directly: what a worker must return.
Result Reference(const std::string &text, const lanes_doc_params_t &p)
{
    Result r;
    lanes_error_t err{};
    r.status = LANES_STATUS_OK;
    if (p.do_count) {
        lanes_word_counter_t *wc = lanes_word_counter_new(p.min_length, &err);
        EXPECT_EQ(lanes_word_counter_feed(wc, text.data(), text.size(), &err), 0) << err.msg;
        const lanes_word_entry_t *e = nullptr;
        size_t n = 0;
        EXPECT_EQ(lanes_word_counter_finish(wc, &e, &n, &r.total, &err), 0) << err.msg;
        r.entries = Entries(e, n);
        lanes_word_counter_free(wc);
    }
    if (p.do_acf) {
        size_t nw = p.nwords ? p.nwords : 16, T = p.timesteps ? p.timesteps : 100;
        lanes_word_acf_t *a = lanes_word_acf_new((lanes_word_acf_mode_t)p.acf_mode, nw, T, p.min_length, &err);
        EXPECT_EQ(lanes_word_acf_feed(a, text.data(), text.size(), &err), 0);
        EXPECT_EQ(lanes_word_acf_next_pass(a, &err), 0) << err.msg;
        EXPECT_EQ(lanes_word_acf_feed(a, text.data(), text.size(), &err), 0);
        const double *acf = nullptr;
        size_t n = 0;
        EXPECT_EQ(lanes_word_acf_finish(a, &acf, &n, &err), 0) << err.msg;
        r.acf.assign(acf, acf + n);
        const lanes_word_entry_t *top = lanes_word_acf_words(a, &n);
        r.top = Entries(top, n);
        if (!p.do_count)
            r.total = lanes_word_acf_total_words(a);
        lanes_word_acf_free(a);
    }
    return r;
}

// Collects results by document name; the callbacks run on the pool's manager thread.
struct Collector {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, Result> results;
    int calls = 0;

    struct Ticket {
        Collector *c;
        std::string name;
    };

    static void Done(void *arg, lanes_doc_result_t *res)
    {
        auto *t = static_cast<Ticket *>(arg);
        Result r;
        r.status = lanes_status_from_error(res->err.code); // what the client is told (the edge's table)
        r.msg = res->err.msg;
        r.total = res->total_words;
        if (res->has_count)
            r.entries = Entries(res->entries, res->n_entries);
        if (res->has_acf) {
            r.top = Entries(res->top, res->n_top);
            r.acf.assign(res->acf, res->acf + res->acf_n);
        }
        r.worker = res->worker;
        r.pid = res->pid;
        r.attempts = res->attempts;
        lanes_doc_result_free(res);
        std::lock_guard<std::mutex> lk(t->c->mu);
        t->c->results[t->name] = r;
        t->c->calls++;
        t->c->cv.notify_all();
        delete t;
    }

    // Submits text as document 'name'. Returns the submit code.
    int Submit(const std::string &name, const std::string &text, lanes_doc_params_t p, uint64_t tag = 0)
    {
        lanes_error_t err{};
        int fd = lanes_spool_from_bytes(name.c_str(), text.data(), text.size(), &err);
        EXPECT_GE(fd, 0) << err.msg;
        auto *t = new Ticket{this, name};
        int rc = lanes_proc_pool_submit(fd, text.size(), name.c_str(), &p, tag, Done, t);
        if (rc != 0) {
            close(fd);
            delete t;
        }
        return rc;
    }

    // Waits until n callbacks have run (a hang guard of kHangGuard).
    bool WaitFor(int n)
    {
        std::unique_lock<std::mutex> lk(mu);
        return cv.wait_for(lk, kHangGuard, [&] { return calls >= n; });
    }

    Result Get(const std::string &name)
    {
        std::lock_guard<std::mutex> lk(mu);
        return results[name];
    }
};

lanes_doc_params_t CountParams(size_t min_length = 0)
{
    lanes_doc_params_t p{};
    p.do_count = 1;
    p.min_length = min_length;
    return p;
}

lanes_doc_params_t AcfParams(int mode, size_t nwords = 0, size_t timesteps = 0, size_t min_length = 0)
{
    lanes_doc_params_t p{};
    p.do_acf = 1;
    p.acf_mode = mode;
    p.nwords = nwords;
    p.timesteps = timesteps;
    p.min_length = min_length;
    return p;
}

void ExpectSame(const Result &got, const Result &want, const std::string &what)
{
    ASSERT_EQ(got.status, LANES_STATUS_OK) << what << ": " << got.msg;
    EXPECT_EQ(got.msg, "") << what;
    EXPECT_EQ(got.total, want.total) << what;
    EXPECT_TRUE(got.entries == want.entries) << what << ": word tables differ (" << got.entries.size() << " and "
                                             << want.entries.size() << " entries)";
    EXPECT_TRUE(got.top == want.top) << what << ": top words differ";
    ASSERT_EQ(got.acf.size(), want.acf.size()) << what;
    for (size_t t = 0; t < want.acf.size(); t++)
        ASSERT_EQ(got.acf[t], want.acf[t]) << what << ": acf[" << t << "]";  // bit for bit
}

lanes_proc_pool_stats_t Stats()
{
    lanes_proc_pool_stats_t st;
    lanes_proc_pool_stats(&st);
    return st;
}

// Waits until pred(stats) holds (a hang guard of kHangGuard); returns the stats it saw last.
template <class Pred>
lanes_proc_pool_stats_t WaitStats(Pred pred)
{
    auto deadline = Clock::now() + kHangGuard;
    lanes_proc_pool_stats_t st = Stats();
    while (!pred(st) && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        st = Stats();
    }
    return st;
}

// Copies of pg87 (2.6 MB) in the documents whose worker is killed: 53 MB, about 0.25 s of word count
// (far longer than the test takes to see the worker busy and kill it; 4x that under ASan).
constexpr int kCopies = 20;

// A book repeated: long enough to kill its worker mid-document (each copy ends with a newline, so the
// counts are the book's times k).
std::string Repeated(const std::string &book, int k)
{
    std::string s;
    s.reserve((book.size() + 1) * k);
    for (int i = 0; i < k; i++) {
        s += book;
        s += '\n';
    }
    return s;
}

class ProcPool : public ::testing::Test {
protected:
    void Start(int workers, unsigned retries, unsigned memory_mb = 1024)
    {
        lanes_proc_pool_config_t cfg{};
        cfg.workers = workers;
        cfg.retries = retries;
        cfg.memory_mb = memory_mb;
        cfg.exe = LANESD_PATH;
        char dir[] = "/tmp/lanes-pause-XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        pause_ = std::string(dir) + "/pause";
        setenv("LANES_TEST_WORKER_PAUSE_FILE", pause_.c_str(), 1); /* the workers inherit it */
        char err[1024] = "";
        ASSERT_EQ(lanes_proc_pool_start(&cfg, err, sizeof err), 0) << err;
        lanes_proc_pool_stats_t st = Stats();
        ASSERT_EQ(st.running, 1);
        ASSERT_EQ(st.ready, workers);
    }
    void TearDown() override
    {
        Resume();
        lanes_proc_pool_stop();
        unsetenv("LANES_TEST_WORKER_PAUSE_FILE");
        if (!pause_.empty())
            rmdir(pause_.substr(0, pause_.rfind('/')).c_str());
    }

    // From now on a worker that gets a document waits before computing it (lanesd-test's hook), so
    // it is certainly mid-document when a test kills it or stops the pool.
    void PauseWorkers()
    {
        FILE *f = fopen(pause_.c_str(), "w");
        ASSERT_NE(f, nullptr);
        fclose(f);
    }
    void Resume() { unlink(pause_.c_str()); }
    // Waits until a worker has paused on its document (its marker file), then takes the marker.
    void WaitPaused()
    {
        std::string busy = pause_ + ".busy";
        auto deadline = std::chrono::steady_clock::now() + kHangGuard;
        while (access(busy.c_str(), F_OK) != 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ASSERT_EQ(unlink(busy.c_str()), 0) << "no worker paused on its document";
    }

    // Pauses the next document's worker (call before submitting), waits until it is paused, kill -9s
    // it and lets the rest run. Returns its slot and pid.
    std::pair<int, int> KillBusyWorker()
    {
        WaitPaused();
        lanes_proc_pool_stats_t st = WaitStats([](const lanes_proc_pool_stats_t &s) { return s.busy > 0; });
        for (int i = 0; i < st.workers; i++) {
            if (st.slot_busy[i]) {
                EXPECT_EQ(kill(st.pid[i], SIGKILL), 0);
                Resume();
                return {i, st.pid[i]};
            }
        }
        ADD_FAILURE() << "no worker became busy";
        return {-1, 0};
    }

    std::string pause_;

    // Waits until slot i runs a ready worker other than old_pid.
    void ExpectRespawned(int slot, int old_pid)
    {
        lanes_proc_pool_stats_t st = WaitStats([&](const lanes_proc_pool_stats_t &s) {
            return s.ready == s.workers && s.pid[slot] != 0 && s.pid[slot] != old_pid;
        });
        EXPECT_EQ(st.ready, st.workers);
        EXPECT_NE(st.pid[slot], old_pid);
        EXPECT_GE(st.respawns, 1u);
        EXPECT_GE(st.deaths, 1u);
        EXPECT_NE(kill(old_pid, 0), 0) << "the killed worker was not reaped";
    }
};

TEST_F(ProcPool, BooksOnTwoWorkersEqualTheKernels)
{
    Start(2, 1);
    Collector c;
    std::map<std::string, std::pair<std::string, lanes_doc_params_t>> docs;
    for (const auto &b : kBooks) {
        std::string text = ReadBook(b);
        ASSERT_FALSE(text.empty()) << b;
        lanes_doc_params_t both = CountParams();
        both.do_acf = 1;
        both.acf_mode = LANES_WORD_ACF_EXACT;
        docs[b + "/count+exact"] = {text, both};
        lanes_doc_params_t course = AcfParams(LANES_WORD_ACF_COURSE, 8, 50, 4);
        course.do_count = 1;
        docs[b + "/course"] = {text, course};
    }
    docs["pg99.txt/course-defaults"] = {ReadBook("pg99.txt"), AcfParams(LANES_WORD_ACF_COURSE)};
    for (auto &d : docs)
        ASSERT_EQ(c.Submit(d.first, d.second.first, d.second.second), 0) << d.first;
    ASSERT_TRUE(c.WaitFor((int)docs.size()));
    for (auto &d : docs) {
        Result got = c.Get(d.first);
        ExpectSame(got, Reference(d.second.first, d.second.second), d.first);
        EXPECT_EQ(got.attempts, 1u) << d.first;
        EXPECT_GE(got.worker, 0);
        EXPECT_GT(got.pid, 0);
    }
    Result defaults = c.Get("pg99.txt/course-defaults");
    EXPECT_EQ(defaults.acf.size(), 100u);
    EXPECT_EQ(defaults.top.size(), 16u);
    EXPECT_EQ(defaults.total, Reference(ReadBook("pg99.txt"), CountParams()).total)
        << "an ACF alone reports the word counter's total";
    lanes_proc_pool_stats_t st = Stats();
    EXPECT_EQ(st.completed, docs.size());
    EXPECT_EQ(st.failed, 0u);
    EXPECT_EQ(st.deaths, 0u);
    EXPECT_EQ(st.queued, 0u);
}

TEST_F(ProcPool, KilledWorkerIsRetriedAndRespawned)
{
    Start(2, 1);
    Collector c;
    std::string book = ReadBook("pg87.txt");
    std::string big = Repeated(book, kCopies);
    PauseWorkers();
    ASSERT_EQ(c.Submit("big.txt", big, CountParams()), 0);
    auto [slot, pid] = KillBusyWorker();
    ASSERT_GE(slot, 0);
    ASSERT_TRUE(c.WaitFor(1));
    Result got = c.Get("big.txt");
    Result want = Reference(book + "\n", CountParams());
    want.total *= kCopies;
    for (auto &e : want.entries)
        e.count *= kCopies;
    ExpectSame(got, want, "big.txt after its worker was killed");
    EXPECT_EQ(got.attempts, 2u);
    EXPECT_NE(got.pid, pid);
    EXPECT_EQ(Stats().retried, 1u);
    ExpectRespawned(slot, pid);

    ASSERT_EQ(c.Submit("pg99.txt", ReadBook("pg99.txt"), CountParams()), 0);
    ASSERT_TRUE(c.WaitFor(2));
    ExpectSame(c.Get("pg99.txt"), Reference(ReadBook("pg99.txt"), CountParams()), "pg99.txt after the respawn");
}

TEST_F(ProcPool, KilledWorkerWithoutRetriesFailsItsDocumentOnly)
{
    Start(2, 0);
    Collector c;
    std::string big = Repeated(ReadBook("pg87.txt"), kCopies);
    PauseWorkers();
    ASSERT_EQ(c.Submit("big.txt", big, CountParams()), 0);
    auto [slot, pid] = KillBusyWorker();
    ASSERT_GE(slot, 0);
    ASSERT_TRUE(c.WaitFor(1));
    Result got = c.Get("big.txt");
    EXPECT_EQ(got.status, LANES_STATUS_INTERNAL);
    EXPECT_EQ(got.msg, "worker pid " + std::to_string(pid) +
                           " was killed by signal 9 (SIGKILL) while running document 'big.txt'");
    EXPECT_EQ(got.attempts, 1u);
    EXPECT_EQ(got.pid, pid);
    EXPECT_TRUE(got.entries.empty());
    ExpectRespawned(slot, pid);

    std::string text = ReadBook("pg58.txt");
    ASSERT_EQ(c.Submit("pg58.txt", text, CountParams()), 0);
    ASSERT_TRUE(c.WaitFor(2));
    ExpectSame(c.Get("pg58.txt"), Reference(text, CountParams()), "pg58.txt after the respawn");
    lanes_proc_pool_stats_t st = Stats();
    EXPECT_EQ(st.completed, 1u);
    EXPECT_EQ(st.failed, 1u);
    EXPECT_EQ(st.retried, 0u);
}

TEST_F(ProcPool, WorkersThatDieAtOnceAreRespawnedAfterABackOff)
{
    // A worker that lived less than 1 s died "at once": the next waits 100 ms, then 200 ms, then 400 ms.
    // Whether a worker lived less than 1 s depends on the machine's speed (starting a sanitizer build
    // on a busy machine can take longer), so the back-off is checked for as long as the test knows it:
    // a worker was spawned after the previous kill (or the start), so if the kill came less than 1 s
    // later, its death was quick. The lower bounds cannot fail from slowness; they only weaken.
    auto spawned_after = Clock::now();
    Start(1, 1);
    int pid = Stats().pid[0];
    bool all_quick = true;
    int checked = 0;
    for (int k = 0; k < 3; k++) {
        auto t0 = Clock::now();
        all_quick = all_quick && t0 - spawned_after < std::chrono::milliseconds(1000);
        ASSERT_EQ(kill(pid, SIGKILL), 0);
        lanes_proc_pool_stats_t st = WaitStats(
            [&](const lanes_proc_pool_stats_t &s) { return s.ready == 1 && s.pid[0] != pid; });
        auto waited = Clock::now() - t0;
        spawned_after = t0;
        ASSERT_EQ(st.ready, 1);
        if (all_quick) {
            EXPECT_GE(waited, std::chrono::milliseconds(100 << k)) << "death " << k + 1;
            checked++;
        }
        EXPECT_EQ(st.deaths, (uint64_t)k + 1);
        EXPECT_EQ(st.respawns, (uint64_t)k + 1);
        pid = st.pid[0];
    }
    Collector c;
    std::string text = ReadBook("pg99.txt");
    ASSERT_EQ(c.Submit("pg99.txt", text, CountParams()), 0);
    ASSERT_TRUE(c.WaitFor(1));
    ExpectSame(c.Get("pg99.txt"), Reference(text, CountParams()), "pg99.txt after three respawns");
    if (checked < 3)
        std::printf("note: the back-off was checked for %d of 3 deaths (the others' workers may have lived "
                    "over 1 s on this machine)\n", checked);
}

TEST_F(ProcPool, WorkerOverItsMemoryLimit)
{
    Start(1, 1, 32);
    if (!Stats().memory_limit_enforced)
        GTEST_SKIP() << "worker memory limits are not enforced under AddressSanitizer (RLIMIT_AS and its "
                        "shadow memory do not mix)";
    // 2 million distinct words (18 MB): the word table needs far more than the 32 MiB.
    std::string vocab;
    vocab.reserve(18u << 20);
    char w[16];
    for (int i = 0; i < 2000000; i++) {
        snprintf(w, sizeof w, "w%07d ", i);
        vocab += w;
    }
    Collector c;
    ASSERT_EQ(c.Submit("vocab.txt", vocab, CountParams()), 0);
    ASSERT_TRUE(c.WaitFor(1));
    Result got = c.Get("vocab.txt");
    EXPECT_EQ(got.status, LANES_STATUS_RESOURCE_EXHAUSTED) << got.msg;
    EXPECT_EQ(got.msg.rfind("document 'vocab.txt': worker over its memory limit of 32 MiB", 0), 0u) << got.msg;
    EXPECT_EQ(got.attempts, 1u) << "a deterministic failure is not retried";

    // The worker survived its failure and runs the next document.
    std::string text = ReadBook("pg99.txt");
    ASSERT_EQ(c.Submit("pg99.txt", text, CountParams()), 0);
    ASSERT_TRUE(c.WaitFor(2));
    ExpectSame(c.Get("pg99.txt"), Reference(text, CountParams()), "pg99.txt after vocab.txt");
    EXPECT_EQ(c.Get("pg99.txt").pid, got.pid);
    EXPECT_EQ(Stats().deaths, 0u);
}

TEST_F(ProcPool, InvalidUtf8AndGarbageAreInvalidArgument)
{
    Start(2, 1);
    Collector c;
    std::string bad = "hello wörld \xff more";
    std::mt19937 rng(42);
    std::string garbage(4096, 0);
    for (auto &ch : garbage)
        ch = (char)(rng() & 0xff);
    lanes_error_t kerr{};
    lanes_word_counter_t *wc = lanes_word_counter_new(0, &kerr);
    int krc = lanes_word_counter_feed(wc, garbage.data(), garbage.size(), &kerr);
    if (krc == 0)
        krc = lanes_word_counter_finish(wc, nullptr, nullptr, nullptr, &kerr);
    lanes_word_counter_free(wc);
    ASSERT_EQ(krc, LANES_EINVAL);

    ASSERT_EQ(c.Submit("bad.txt", bad, CountParams()), 0);
    ASSERT_EQ(c.Submit("bad-acf.txt", bad, AcfParams(LANES_WORD_ACF_EXACT)), 0);
    ASSERT_EQ(c.Submit("garbage.bin", garbage, CountParams()), 0);
    ASSERT_TRUE(c.WaitFor(3));
    Result r = c.Get("bad.txt");
    EXPECT_EQ(r.status, LANES_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(r.msg.rfind("document 'bad.txt': invalid UTF-8 at byte 13", 0), 0u) << r.msg;
    EXPECT_EQ(r.attempts, 1u);
    r = c.Get("bad-acf.txt");
    EXPECT_EQ(r.status, LANES_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(r.msg.rfind("document 'bad-acf.txt': invalid UTF-8 at byte 13", 0), 0u) << r.msg;
    r = c.Get("garbage.bin");
    EXPECT_EQ(r.status, LANES_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(r.msg, std::string("document 'garbage.bin': ") + kerr.msg);
    EXPECT_EQ(r.attempts, 1u);
    lanes_proc_pool_stats_t st = Stats();
    EXPECT_EQ(st.deaths, 0u);
    EXPECT_EQ(st.retried, 0u);
    EXPECT_EQ(st.failed, 3u);
}

TEST_F(ProcPool, EmptyDocuments)
{
    Start(1, 1);
    Collector c;
    ASSERT_EQ(c.Submit("empty.txt", "", CountParams()), 0);
    ASSERT_EQ(c.Submit("blank.txt", " \n\t.,;!? \n", CountParams()), 0);
    ASSERT_EQ(c.Submit("empty-acf.txt", "", AcfParams(LANES_WORD_ACF_COURSE)), 0);
    lanes_doc_params_t both = CountParams();
    both.do_acf = 1;
    ASSERT_EQ(c.Submit("blank-both.txt", "--- ...\n", both), 0);
    ASSERT_TRUE(c.WaitFor(4));
    for (const char *name : {"empty.txt", "blank.txt"}) {
        Result r = c.Get(name);
        EXPECT_EQ(r.status, LANES_STATUS_OK) << name << ": " << r.msg;
        EXPECT_EQ(r.total, 0u) << name;
        EXPECT_TRUE(r.entries.empty()) << name;
    }
    for (const char *name : {"empty-acf.txt", "blank-both.txt"}) {
        Result r = c.Get(name);
        EXPECT_EQ(r.status, LANES_STATUS_FAILED_PRECONDITION) << name;
        EXPECT_EQ(r.msg, std::string("document '") + name + "': word ACF: the text has no words");
    }
}

TEST_F(ProcPool, StopCompletesQueuedAndRunningDocuments)
{
    Start(1, 1);
    Collector c;
    PauseWorkers(); /* the worker is certainly still on big.txt when the pool stops */
    ASSERT_EQ(c.Submit("big.txt", Repeated(ReadBook("pg87.txt"), kCopies), CountParams()), 0);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(c.Submit("small" + std::to_string(i), "a few words", CountParams()), 0);
    WaitPaused();
    lanes_proc_pool_stats_t st = WaitStats([](const lanes_proc_pool_stats_t &s) { return s.busy == 1; });
    ASSERT_EQ(st.busy, 1);
    EXPECT_EQ(st.queued, 5u);
    int pid = st.pid[0];
    lanes_proc_pool_stop();
    EXPECT_EQ(c.calls, 6) << "every document completes before stop() returns";
    Result big = c.Get("big.txt");
    EXPECT_EQ(big.status, LANES_STATUS_UNAVAILABLE);
    EXPECT_EQ(big.msg, "the process pool stopped while worker pid " + std::to_string(pid) +
                           " was running document 'big.txt'");
    for (int i = 0; i < 5; i++) {
        Result r = c.Get("small" + std::to_string(i));
        EXPECT_EQ(r.status, LANES_STATUS_UNAVAILABLE);
        EXPECT_EQ(r.msg, "document 'small" + std::to_string(i) + "' was not run: the process pool stopped");
    }
    EXPECT_NE(kill(pid, 0), 0) << "the worker was not reaped";
    EXPECT_EQ(Stats().running, 0);
    int fd = lanes_spool_from_bytes("late", "x", 1, nullptr);
    lanes_doc_params_t p = CountParams();
    EXPECT_EQ(lanes_proc_pool_submit(fd, 1, "late", &p, 0, Collector::Done, nullptr), LANES_ENODEV);
    close(fd);
}

TEST_F(ProcPool, CancelDropsQueuedDocumentsOfATag)
{
    Start(1, 1);
    Collector c;
    std::string book = ReadBook("pg99.txt");
    ASSERT_EQ(c.Submit("big.txt", Repeated(ReadBook("pg87.txt"), 6), CountParams(), 1), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(c.Submit("call2-" + std::to_string(i), book, CountParams(), 2), 0);
    ASSERT_EQ(c.Submit("call3", book, CountParams(), 3), 0);
    EXPECT_EQ(lanes_proc_pool_cancel(2), 3u);
    EXPECT_EQ(lanes_proc_pool_cancel(2), 0u);
    ASSERT_TRUE(c.WaitFor(5));
    for (int i = 0; i < 3; i++) {
        Result r = c.Get("call2-" + std::to_string(i));
        EXPECT_EQ(r.status, LANES_STATUS_CANCELLED);
        EXPECT_EQ(r.msg, "document 'call2-" + std::to_string(i) + "' was cancelled before it ran");
        EXPECT_EQ(r.attempts, 0u);
    }
    EXPECT_EQ(c.Get("big.txt").status, LANES_STATUS_OK);
    ExpectSame(c.Get("call3"), Reference(book, CountParams()), "call3");
}

TEST(ProcPoolStart, RejectsABinaryWithoutWorkerMode)
{
    lanes_proc_pool_config_t cfg{};
    cfg.workers = 2;
    cfg.exe = "/bin/true";
    char err[1024] = "";
    EXPECT_EQ(lanes_proc_pool_start(&cfg, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("of /bin/true ended before it was ready"), std::string::npos) << err;
    EXPECT_EQ(Stats().running, 0);
    cfg.exe = "/nonexistent/lanesd";
    EXPECT_EQ(lanes_proc_pool_start(&cfg, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("is not executable"), std::string::npos) << err;
    cfg.exe = LANESD_PATH;
    cfg.workers = 0;
    EXPECT_EQ(lanes_proc_pool_start(&cfg, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("0 workers is outside 1 .. 64"), std::string::npos) << err;
}

TEST(ProcPoolSubmit, RejectsBadParameters)
{
    lanes_doc_params_t p{};
    lanes_error_t err{};
    EXPECT_EQ(lanes_doc_params_check(&p, &err), LANES_EINVAL);
    EXPECT_STREQ(err.msg, "nothing to compute: ask for the word count, the word ACF or both");
    p = AcfParams(7);
    EXPECT_EQ(lanes_doc_params_check(&p, &err), LANES_EINVAL);
    p = AcfParams(LANES_WORD_ACF_EXACT);
    EXPECT_EQ(lanes_doc_params_check(&p, &err), 0);
    EXPECT_EQ(p.nwords, 16u);
    EXPECT_EQ(p.timesteps, 100u);
    p = lanes_doc_params_t{};
    EXPECT_EQ(lanes_proc_pool_submit(0, 0, "x", &p, 0, Collector::Done, nullptr), LANES_EINVAL);
}

// ---- a worker alone, driven over its socket ----

lanes_worker_reply_t Ask(int sock, const void *msg, size_t len, int fd, int *result_fd)
{
    lanes_worker_reply_t rep{};
    EXPECT_EQ(lanes_fdpass_send(sock, msg, len, fd), 0);
    EXPECT_EQ(lanes_fdpass_recv(sock, &rep, sizeof rep, result_fd), (ssize_t)sizeof rep);
    rep.msg[sizeof rep.msg - 1] = 0;
    return rep;
}

TEST(Worker, ServesTasksAndExitsCleanlyAtEof)
{
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    int child_fd = sv[1] == 3 ? 4 : 3;
    std::string fd_arg = std::to_string(child_fd);
    char *argv[] = {(char *)LANESD_PATH, (char *)"--worker", fd_arg.data(), (char *)"256", nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], child_fd);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, LANESD_PATH, &fa, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    int sock = sv[0];

    lanes_worker_hello_t hello{};
    int fd = -1;
    ASSERT_EQ(lanes_fdpass_recv(sock, &hello, sizeof hello, &fd), (ssize_t)sizeof hello);
    EXPECT_EQ(hello.magic, LANES_WORKER_MAGIC);
    EXPECT_EQ(hello.pid, pid);
    EXPECT_EQ(fd, -1);

    int result_fd = -1;
    lanes_worker_reply_t rep = Ask(sock, "abc", 3, -1, &result_fd);
    EXPECT_EQ(lanes_status_from_error(rep.code), LANES_STATUS_INTERNAL);
    EXPECT_STREQ(rep.msg, "malformed task (3 bytes)");
    EXPECT_EQ(result_fd, -1);

    lanes_worker_task_t t{};
    t.magic = LANES_WORKER_MAGIC;
    t.version = LANES_WORKER_VERSION;
    t.id = 7;
    t.do_count = 1;
    rep = Ask(sock, &t, sizeof t, -1, &result_fd);
    EXPECT_EQ(lanes_status_from_error(rep.code), LANES_STATUS_INTERNAL);
    EXPECT_STREQ(rep.msg, "the task came without its document");

    std::string text = "b a b b";
    int doc = lanes_spool_from_bytes("doc", text.data(), text.size(), nullptr);
    ASSERT_GE(doc, 0);
    t.doc_len = text.size() + 1;
    rep = Ask(sock, &t, sizeof t, doc, &result_fd);
    EXPECT_EQ(lanes_status_from_error(rep.code), LANES_STATUS_INTERNAL);
    EXPECT_STREQ(rep.msg, "the document's memfd is shorter than its 8 bytes");

    t.doc_len = text.size();
    rep = Ask(sock, &t, sizeof t, doc, &result_fd);
    EXPECT_EQ(lanes_status_from_error(rep.code), LANES_STATUS_OK) << rep.msg;
    EXPECT_EQ(rep.id, 7u);
    ASSERT_GE(result_fd, 0);
    EXPECT_NE(fcntl(result_fd, F_GETFD) & FD_CLOEXEC, 0) << "received fds are close-on-exec";
    lanes_doc_params_t p = CountParams();
    lanes_doc_result_t *res = lanes_doc_result_new();
    lanes_error_t err{};
    ASSERT_EQ(lanes_doc_result_map(result_fd, &p, text.size(), res, &err), 0) << err.msg;
    close(result_fd);
    EXPECT_EQ(res->total_words, 4u);
    ASSERT_EQ(res->n_entries, 2u);
    EXPECT_STREQ(res->entries[0].word, "b");
    EXPECT_EQ(res->entries[0].count, 3u);
    EXPECT_STREQ(res->entries[1].word, "a");
    lanes_doc_result_free(res);
    close(doc);

    close(sock);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the worker exits 0 at EOF (a sanitizer build exits otherwise on a leak); wait status " << status;
}

// ---- the parent's checks of a result memfd ----

// A memfd holding bytes, sealed unless told.
int ResultFd(const std::vector<char> &bytes, bool seal = true)
{
    int fd = memfd_create("test-result", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()), (ssize_t)bytes.size());
    if (seal) {
        EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
    }
    return fd;
}

// A valid result of two words, "b" x 3 and "a" x 1, written by the worker's writer.
std::vector<char> ValidResult()
{
    static const char *words[] = {"b", "a"};
    lanes_word_entry_t e[2] = {{words[0], 1, 3}, {words[1], 1, 1}};
    lanes_doc_result_t r{};
    r.has_count = 1;
    r.total_words = 4;
    r.entries = e;
    r.n_entries = 2;
    int fd = memfd_create("test-result", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    lanes_error_t err{};
    EXPECT_EQ(lanes_doc_result_write(fd, &r, &err), 0) << err.msg;
    off_t size = lseek(fd, 0, SEEK_END);
    std::vector<char> bytes((size_t)size);
    EXPECT_EQ(pread(fd, bytes.data(), bytes.size(), 0), (ssize_t)size);
    close(fd);
    return bytes;
}

std::string MapError(const std::vector<char> &bytes, bool seal = true, uint64_t doc_len = 8)
{
    int fd = ResultFd(bytes, seal);
    lanes_doc_params_t p = CountParams();
    lanes_doc_result_t *res = lanes_doc_result_new();
    lanes_error_t err{};
    int rc = lanes_doc_result_map(fd, &p, doc_len, res, &err);
    close(fd);
    if (rc == 0) {
        EXPECT_EQ(res->n_entries, 2u);
        EXPECT_STREQ(res->entries[0].word, "b");
        EXPECT_EQ(res->entries[0].count, 3u);
        EXPECT_STREQ(res->entries[1].word, "a");
        EXPECT_EQ(res->total_words, 4u);
    } else {
        EXPECT_EQ(res->entries, nullptr);
        EXPECT_EQ(res->map_, nullptr);
    }
    lanes_doc_result_free(res);
    return rc == 0 ? "" : err.msg;
}

void Put64(std::vector<char> &b, size_t off, uint64_t v) { memcpy(b.data() + off, &v, sizeof v); }

TEST(DocResult, TheParentChecksEveryBound)
{
    std::vector<char> good = ValidResult();
    EXPECT_EQ(MapError(good), "");
    EXPECT_NE(MapError(good, false).find("not sealed"), std::string::npos);
    EXPECT_NE(MapError(std::vector<char>(good.begin(), good.begin() + 20)).find("less than its header"),
              std::string::npos);
    // Header: magic, version, flags, reserved (4 bytes each), then total_words at 16, n_entries at 24,
    // entries_off 32, n_top 40, top_off 48, acf_n 56, acf_off 64, strings_len 72, strings_off 80.
    std::vector<char> b = good;
    b[0] ^= 1;
    EXPECT_NE(MapError(b).find("bad magic"), std::string::npos);
    b = good;
    Put64(b, 24, 1ull << 40);  // more entries than the file holds
    EXPECT_NE(MapError(b).find("outside the result"), std::string::npos);
    b = good;
    Put64(b, 24, UINT64_MAX / 8);  // a count whose size overflows
    EXPECT_NE(MapError(b).find("outside the result"), std::string::npos);
    b = good;
    Put64(b, 32, 33);  // misaligned
    EXPECT_NE(MapError(b).find("outside the result"), std::string::npos);
    b = good;
    Put64(b, 72, 1ull << 62);  // strings past the end
    EXPECT_NE(MapError(b).find("outside the result"), std::string::npos);
    b = good;
    Put64(b, 88, 1000);  // the first word's offset, past its section
    EXPECT_NE(MapError(b).find("word table entry 0"), std::string::npos);
    b = good;
    Put64(b, 96, 2);  // the first word's length runs over its NUL
    EXPECT_NE(MapError(b).find("word table entry 0"), std::string::npos);
    b = good;
    b[b.size() - 1] = 'x';  // the last word loses its NUL
    EXPECT_NE(MapError(b).find("word table entry 1"), std::string::npos);
    b = good;
    b[8] = 3;  // parts that were not asked for
    EXPECT_NE(MapError(b).find("has parts 0x3"), std::string::npos);
    b = good;
    b.resize((1u << 20) + 1000);  // larger than any result of an 8-byte document
    EXPECT_NE(MapError(b).find("more than any result of a document of 8 bytes"), std::string::npos);
}

TEST(Spool, SealsAndBoundsTheDocument)
{
    lanes_spool_t s;
    lanes_error_t err{};
    ASSERT_EQ(lanes_spool_init(&s, "doc.txt", 10, &err), 0) << err.msg;
    EXPECT_EQ(lanes_spool_append(&s, "hello", 5, &err), 0);
    EXPECT_EQ(lanes_spool_append(&s, " world", 6, &err), LANES_EINVAL);
    EXPECT_STREQ(err.msg, "document 'doc.txt' is larger than the maximum of 10 bytes (max_doc_bytes)");
    EXPECT_EQ(lanes_spool_append(&s, "!!!!!", 5, &err), 0);
    int fd = -1;
    uint64_t len = 0;
    ASSERT_EQ(lanes_spool_finish(&s, &fd, &len, &err), 0) << err.msg;
    lanes_spool_free(&s);
    EXPECT_EQ(len, 10u);
    EXPECT_EQ(fcntl(fd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW),
              F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);
    EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_EQ(write(fd, "x", 1), -1);
    char buf[16] = "";
    EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 10);
    EXPECT_STREQ(buf, "hello!!!!!");
    close(fd);
}

}  // namespace
