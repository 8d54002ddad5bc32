/* Worker mode of lanesd ("lanesd --worker FD MEMORY_MB") and the protocol between the process pool
 * (proc_pool.c) and a worker.
 *
 * Design: a worker is the daemon's own binary, started by the pool with posix_spawn and one end of a
 * SOCK_SEQPACKET socketpair as fd FD. It never starts gRPC or OpenMP work. It sets its own address
 * space limit (RLIMIT_AS: what it has mapped at start plus MEMORY_MB; 0 is no limit; not under
 * AddressSanitizer, whose shadow memory needs terabytes of address space), asks the kernel for SIGKILL
 * when its parent goes (PR_SET_PDEATHSIG), says hello, then serves one task at a time until EOF:
 *
 *   pool -> worker   lanes_worker_task_t, with the document's memfd (SCM_RIGHTS, fdpass.h)
 *   worker -> pool   lanes_worker_reply_t, with a sealed result memfd (doc_job.h) when code is 0
 *
 * The worker maps the document read-only (the bytes never pass through a socket or a gRPC thread),
 * runs the text kernels and writes the result with write(2) into a memfd it creates. Each message is
 * one datagram of a fixed size; anything else is a protocol error. A failure is a LANES_E* code: the
 * kernel's LANES_EINVAL (invalid UTF-8) and LANES_ENOMEM, LANES_EPRECOND for the kernel's LANES_EEMPTY
 * (no words for an ACF), LANES_EINTERNAL for anything else; the message is the kernel's, without the
 * document's name (the pool adds it).
 */
#ifndef LANES_WORKER_H
#define LANES_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LANES_WORKER_MAGIC 0x4b524f57u /* "WORK" */
#define LANES_WORKER_VERSION 1u

/* The first message of a worker, once its limit is set. */
typedef struct lanes_worker_hello {
    uint32_t magic, version;
    int32_t pid;
    int32_t memory_limit_enforced; /* 1 if RLIMIT_AS is in place */
    uint64_t memory_limit_bytes;   /* the limit set, 0 if none */
} lanes_worker_hello_t;

typedef struct lanes_worker_task {
    uint32_t magic, version;
    uint64_t id;
    uint64_t doc_len;              /* bytes of the document memfd to read */
    int32_t do_count, do_acf, acf_mode, reserved;
    uint64_t min_length, nwords, timesteps;
} lanes_worker_task_t;

typedef struct lanes_worker_reply {
    uint32_t magic, version;
    uint64_t id;                   /* the task's */
    int32_t code;                  /* 0, or the failure's LANES_E* code (see above) */
    uint64_t compute_ns;
    char msg[512];                 /* NUL-terminated; "" on success */
} lanes_worker_reply_t;

/* Runs worker mode; argv is "lanesd --worker FD [MEMORY_MB]". Returns the process exit status: 0 at
 * EOF, 2 for bad arguments, 1 when the socket fails. Call first in main(), before any thread exists. */
int lanes_worker_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* LANES_WORKER_H */
