/* Worker mode (see worker.h): one process, one document at a time, results in sealed memfds.
 *
 * Design: the loop blocks in recvmsg() for the next task; EOF means the pool closed its end (or the
 * daemon died), and the worker exits 0. A task's document is mapped read-only and fed to the kernels
 * whole (they stream over it; the ACF reads it twice); a failed task is answered with a status and the
 * kernel's message, and the worker goes on. Memory for the work is bounded by RLIMIT_AS, so a document
 * whose vocabulary does not fit fails with the kernels' LANES_ENOMEM instead of growing the process
 * until the machine's OOM killer picks something.
 */
#define _GNU_SOURCE
#include "clock.h"
#include "test_hooks.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doc_job.h"
#include "fdpass.h"
#include "lanes/text.h"
#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define WORKER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WORKER_ASAN 1
#endif
#endif
#ifndef WORKER_ASAN
#define WORKER_ASAN 0
#endif

/* Bytes of address space mapped now (VmSize), 0 if unknown. */
static uint64_t mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long long pages = 0;
    int ok = fscanf(f, "%llu", &pages) == 1;
    fclose(f);
    return ok ? pages * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Sets RLIMIT_AS to what is mapped now plus memory_mb (within the hard limit). Returns the limit set,
 * 0 if none. */
static uint64_t limit_memory(unsigned long memory_mb)
{
    if (memory_mb == 0 || WORKER_ASAN)
        return 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0) {
        lanes_log(LANES_LOG_ERR, errno, "worker: getrlimit(RLIMIT_AS) failed");
        return 0;
    }
    uint64_t limit = mapped_bytes() + ((uint64_t)memory_mb << 20);
    if (rl.rlim_max != RLIM_INFINITY && limit > (uint64_t)rl.rlim_max)
        limit = (uint64_t)rl.rlim_max;
    rl.rlim_cur = (rlim_t)limit;
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        lanes_log(LANES_LOG_ERR, errno, "worker: setrlimit(RLIMIT_AS, %llu) failed", (unsigned long long)limit);
        return 0;
    }
    return limit;
}

/* A kernel's failure as the kind the pool reports for the document: EINVAL (invalid UTF-8) and ENOMEM
 * stay; an ACF of a text without words (EEMPTY) is EPRECOND: the text is valid, but this job needs words
 * in it; anything else is lanesd's own fault. */
static int reply_code(int code)
{
    switch (code) {
    case LANES_EINVAL:
    case LANES_ENOMEM: return code;
    case LANES_EEMPTY: return LANES_EPRECOND;
    default: return LANES_EINTERNAL;
    }
}

/* Runs one task on the document mapped at doc (len bytes). On success *result_fd gets the sealed
 * result memfd. Fills rep's code and message. */
static void run_kernels(const lanes_worker_task_t *t, const char *doc, size_t len, lanes_worker_reply_t *rep,
                        int *result_fd)
{
    lanes_error_t e = {0};
    lanes_word_counter_t *wc = NULL;
    lanes_word_acf_t *acf = NULL;
    lanes_doc_result_t out;
    memset(&out, 0, sizeof out);
    lanes_test_hooks_worker_pause(); /* lanesd-test only: tests kill a worker that is surely busy */
    uint64_t t0 = lanes_now_ns();
    int rc = 0;
    if (t->do_acf) {
        /* The ACF's first pass counts every word: with do_count its table is the word count, so the
         * document is tokenized twice, not three times. */
        acf = lanes_word_acf_new((lanes_word_acf_mode_t)t->acf_mode, (size_t)t->nwords, (size_t)t->timesteps,
                                 (size_t)t->min_length, &e);
        rc = acf ? lanes_word_acf_feed(acf, doc, len, &e) : e.code;
        if (rc == 0)
            rc = lanes_word_acf_next_pass(acf, &e);
        if (rc == 0)
            rc = lanes_word_acf_feed(acf, doc, len, &e);
        if (rc == 0)
            rc = lanes_word_acf_finish(acf, &out.acf, &out.acf_n, &e);
        if (rc == 0) {
            out.top = lanes_word_acf_words(acf, &out.n_top);
            out.total_words = lanes_word_acf_total_words(acf);
            if (t->do_count)
                out.entries = lanes_word_acf_table(acf, &out.n_entries);
        }
        out.has_acf = 1;
    } else if (t->do_count) {
        wc = lanes_word_counter_new((size_t)t->min_length, &e);
        rc = wc ? lanes_word_counter_feed(wc, doc, len, &e) : e.code;
        if (rc == 0)
            rc = lanes_word_counter_finish(wc, &out.entries, &out.n_entries, &out.total_words, &e);
    }
    out.has_count = t->do_count != 0;
    rep->compute_ns = lanes_now_ns() - t0;
    if (rc == 0) {
        int fd = memfd_create("lanes-result", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
            rc = lanes_error_set(&e, errno == ENOMEM || errno == EMFILE ? LANES_ENOMEM : LANES_EINVAL,
                                 "memfd_create() of the result failed: %s", strerror(errno));
        else if ((rc = lanes_doc_result_write(fd, &out, &e)) != 0)
            close(fd);
        else
            *result_fd = fd;
    }
    if (rc != 0) {
        rep->code = reply_code(e.code ? e.code : rc);
        snprintf(rep->msg, sizeof rep->msg, "%s", e.msg[0] ? e.msg : lanes_strerror(rc));
    }
    lanes_word_acf_free(acf);
    lanes_word_counter_free(wc);
}

/* Maps the task's document and runs it. */
static void run_task(const lanes_worker_task_t *t, int doc_fd, lanes_worker_reply_t *rep, int *result_fd)
{
    struct stat st;
    if (doc_fd < 0) {
        rep->code = LANES_EINTERNAL;
        snprintf(rep->msg, sizeof rep->msg, "the task came without its document");
        return;
    }
    if (fstat(doc_fd, &st) != 0 || (uint64_t)st.st_size < t->doc_len || t->doc_len > SIZE_MAX) {
        rep->code = LANES_EINTERNAL;
        snprintf(rep->msg, sizeof rep->msg, "the document's memfd is shorter than its %llu bytes",
                 (unsigned long long)t->doc_len);
        return;
    }
    size_t len = (size_t)t->doc_len;
    const char *doc = "";
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, doc_fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            rep->code = e == ENOMEM ? LANES_ENOMEM : LANES_EINTERNAL;
            snprintf(rep->msg, sizeof rep->msg, "mmap() of the document (%zu bytes) failed: %s", len, strerror(e));
            return;
        }
        madvise(map, len, MADV_SEQUENTIAL);
        doc = map;
    }
    run_kernels(t, doc, len, rep, result_fd);
    if (map)
        munmap(map, len);
}

int lanes_worker_main(int argc, char **argv)
{
    char *end = NULL;
    long sock = argc >= 3 ? strtol(argv[2], &end, 10) : -1;
    if (argc < 3 || argc > 4 || *end || sock < 0 || sock > 1 << 20) {
        fprintf(stderr, "usage: lanesd --worker FD [MEMORY_MB] (started by the daemon's process pool)\n");
        return 2;
    }
    unsigned long memory_mb = 0;
    if (argc == 4) {
        memory_mb = strtoul(argv[3], &end, 10);
        if (*end) {
            fprintf(stderr, "lanesd --worker: MEMORY_MB '%s' is not a number\n", argv[3]);
            return 2;
        }
    }
    int fd = (int)sock;
    /* If the daemon died before this call, its end of the socket is closed and recvmsg sees EOF. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        lanes_log(LANES_LOG_WARN, errno, "worker: prctl(PR_SET_PDEATHSIG) failed");
    prctl(PR_SET_NAME, "lanesd-worker");
    /* Ctrl-C reaches the whole process group: the daemon decides when its workers stop. */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    lanes_worker_hello_t hello = {LANES_WORKER_MAGIC, LANES_WORKER_VERSION, (int32_t)getpid(), 0, 0};
    hello.memory_limit_bytes = limit_memory(memory_mb);
    hello.memory_limit_enforced = hello.memory_limit_bytes != 0;
    if (lanes_fdpass_send(fd, &hello, sizeof hello, -1) != 0) {
        lanes_log(LANES_LOG_ERR, errno, "worker: sendmsg() of the hello failed");
        return 1;
    }
    for (;;) {
        lanes_worker_task_t t;
        int doc_fd = -1;
        ssize_t n = lanes_fdpass_recv(fd, &t, sizeof t, &doc_fd);
        if (n == 0)
            return 0;
        if (n < 0 && errno != EMSGSIZE) {
            lanes_log(LANES_LOG_ERR, errno, "worker: recvmsg() failed");
            return 1;
        }
        lanes_worker_reply_t rep;
        memset(&rep, 0, sizeof rep);
        rep.magic = LANES_WORKER_MAGIC;
        rep.version = LANES_WORKER_VERSION;
        int result_fd = -1;
        if (n != (ssize_t)sizeof t || t.magic != LANES_WORKER_MAGIC || t.version != LANES_WORKER_VERSION) {
            rep.code = LANES_EINTERNAL;
            snprintf(rep.msg, sizeof rep.msg, "malformed task (%zd bytes)", n);
        } else {
            rep.id = t.id;
            run_task(&t, doc_fd, &rep, &result_fd);
        }
        if (doc_fd >= 0)
            close(doc_fd);
        int rc = lanes_fdpass_send(fd, &rep, sizeof rep, result_fd);
        int e = errno;
        if (result_fd >= 0)
            close(result_fd);
        if (rc != 0) {
            if (e == EPIPE || e == ECONNRESET)
                return 0;
            lanes_log(LANES_LOG_ERR, e, "worker: sendmsg() of a reply failed");
            return 1;
        }
    }
}
