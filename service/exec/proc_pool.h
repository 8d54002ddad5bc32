/* The process pool: word count and word ACF of documents in worker processes (issue 4's Corpus).
 *
 * Design: N workers are the daemon's own binary in worker mode (worker.h), started with posix_spawn,
 * never a bare fork (the daemon has gRPC and OpenMP threads). Each has one end of a SOCK_SEQPACKET
 * socketpair; the daemon's ends are close-on-exec. One manager thread owns the workers: it poll()s
 * their sockets and an eventfd that submit(), cancel() and stop() poke, hands the oldest queued
 * document (FIFO) to an idle worker (one document per worker at a time, passed as a sealed memfd),
 * maps each result memfd after checking it (doc_job.h), and runs the done() callbacks.
 *
 * Faults: a worker that dies (a crash, kill -9, the kernel's OOM killer) fails only the document it
 * was running, or runs it again on another worker while the document has attempts left (1 + retries);
 * its status is then INTERNAL with "worker pid 1234 was killed by signal 9 (SIGKILL) while running
 * document 'pg99.txt'". A worker that answers out of protocol or with a malformed result is killed,
 * and its document fails with INTERNAL (not retried: it may be deterministic). Kernel errors are
 * never retried: INVALID_ARGUMENT (invalid UTF-8 at byte N), FAILED_PRECONDITION (an ACF of a text
 * without words), RESOURCE_EXHAUSTED (over the worker's memory limit). The manager reaps a dead worker
 * and starts another in its slot after the supervisor's back-off (supervisor.h: at once if it had
 * lived 1 s or more), so a binary that dies at start cannot make a respawn storm.
 *
 * Threads: start() and stop() from one thread (the main thread); submit(), cancel() and stats() from
 * any thread. Callbacks run on the manager thread without the pool's lock held, one at a time; they
 * must be short, and may call submit(), cancel() and stats(), never stop(). A worker gets SIGKILL
 * when the thread that spawned it ends (PR_SET_PDEATHSIG): the first workers come from start()'s
 * thread, which must outlive the pool, respawned ones from the manager thread.
 */
#ifndef LANES_PROC_POOL_H
#define LANES_PROC_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "doc_job.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LANES_PROC_POOL_MAX_WORKERS 64
#define LANES_PROC_POOL_MAX_RETRIES 3

typedef struct lanes_proc_pool_config {
    int workers;         /* worker processes, 1 .. LANES_PROC_POOL_MAX_WORKERS */
    unsigned memory_mb;  /* each worker's memory for its work (address space above what it maps at
                            start, the document's mapping included); 0: no limit */
    unsigned retries;    /* more attempts of a document whose worker died, 0 .. 3 */
    const char *exe;     /* the lanesd binary run as "EXE --worker FD MEMORY_MB" (copied);
                            NULL: /proc/self/exe */
} lanes_proc_pool_config_t;

/* A document is done (or failed, or was cancelled): the receiver owns res and frees it with
 * lanes_doc_result_free(). Runs exactly once per accepted document, on the manager thread. */
typedef void (*lanes_doc_done_fn)(void *arg, lanes_doc_result_t *res);

typedef struct lanes_proc_pool_stats {
    int running;                   /* between start() and stop() */
    int workers;                   /* slots */
    int ready;                     /* workers that said hello and are alive */
    int busy;                      /* workers running a document */
    int pid[LANES_PROC_POOL_MAX_WORKERS];  /* each slot's process, 0 while it has none */
    int slot_busy[LANES_PROC_POOL_MAX_WORKERS];
    size_t queued;                 /* documents waiting for a worker */
    uint64_t completed;            /* documents done with status OK */
    uint64_t failed;               /* documents done with another status (cancelled ones included) */
    uint64_t retried;              /* attempts started again after a worker died */
    uint64_t deaths;               /* workers that died or were killed for a protocol error */
    uint64_t respawns;             /* workers started after the first ones */
    int memory_limit_enforced;     /* 1 if the workers run under RLIMIT_AS (never under ASan) */
    unsigned memory_mb;
} lanes_proc_pool_stats_t;

/* Starts cfg->workers workers and waits (at most 60 s) until each has said hello, then the manager
 * thread. Returns 0, or -1 with a message in err (cap bytes) and nothing left running (a bad
 * configuration, posix_spawn() failed, a worker died at start: the binary does not know --worker).
 * Not thread-safe: one thread calls start() and stop(). */
int lanes_proc_pool_start(const lanes_proc_pool_config_t *cfg, char *err, size_t cap);

/* Queues a document: doc_fd is a memfd (or any mappable file) with doc_len bytes, name names it in
 * messages (copied), p says what to compute (copied; defaults filled in), tag groups documents for
 * lanes_proc_pool_cancel(). On success the pool owns doc_fd (it closes it when the document is done)
 * and done(arg, res) will run exactly once. On failure the caller keeps doc_fd and done() is never
 * called: returns LANES_EINVAL (bad fd or parameters; lanes_doc_params_check() says why), LANES_ENODEV
 * (the pool is not running) or LANES_ENOMEM. Thread-safe. */
int lanes_proc_pool_submit(int doc_fd, size_t doc_len, const char *name, const lanes_doc_params_t *p,
                           uint64_t tag, lanes_doc_done_fn done, void *arg);

/* Drops the queued documents with this tag: each completes with CANCELLED (its done() runs on the
 * manager thread soon after). Documents already running finish normally. Returns how many were
 * dropped. Thread-safe. */
size_t lanes_proc_pool_cancel(uint64_t tag);

/* Fills *st (zeros and running = 0 when the pool is not running). Thread-safe. */
void lanes_proc_pool_stats(lanes_proc_pool_stats_t *st);

/* Stops the pool: queued and running documents complete with UNAVAILABLE (callbacks on the manager
 * thread before it ends), workers are killed and reaped, the thread is joined. The pool may be started
 * again afterwards. Not thread-safe (see start()); a no-op when not running. */
void lanes_proc_pool_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_PROC_POOL_H */
