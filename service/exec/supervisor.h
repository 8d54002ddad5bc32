/* The supervisor of lanesd's helper processes: the process pool's workers and the GPU workers are
 * spawned, greeted, reaped, described and respawned here, by one set of rules.
 *
 * Design: a helper is lanesd's own binary in a helper mode ("--worker", "--gpu-worker"), started by
 * lanes_spawn_helper() (helper_spawn.h: posix_spawn, never a bare fork, since the daemon has gRPC,
 * OpenMP and pool threads by then) with one end of a SOCK_SEQPACKET socketpair. Its first message is
 * a hello (the protocol's own struct); one that has not sent it within LANES_SUPERVISOR_HELLO_TIMEOUT_S
 * of its spawn is broken. Reaping kills it (at once, once a grace deadline passes, or never: the
 * caller may wait for its own exit), waits for it and says in words how it ended ("was killed by
 * signal 9 (SIGKILL)", "exited with status 3").
 *
 * Back-off (the one policy for every helper): a helper that lived 1 s or more is replaced at once; one
 * that lived less, or could not be spawned at all, died "at once", and the next waits 100 ms, doubling
 * with each such death in a row (200 ms, 400 ms, ...) up to 5 s, so a binary that dies at start cannot
 * make a respawn storm; a helper that lives 1 s resets the count. (The process pool's rule, which
 * tests/unit/test_proc_pool.cc checks; the GPU pool's own, "double on every death, reset by a command
 * that worked", is gone.)
 *
 * What stays in the pools: which helpers they want, their protocols (the hello's contents, commands,
 * replies), their jobs, and what a death means for them (a document retried, a device down). A pool
 * holds one lanes_supervisor_helper_t per process and one lanes_supervisor_backoff_t per slot, under
 * its own locks: these functions take none.
 */
#ifndef LANES_SUPERVISOR_H
#define LANES_SUPERVISOR_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A helper that has not said hello this long after its spawn is broken (a sanitizer build on a
 * loaded machine starts slowly; CUDA start-up can take seconds). */
#define LANES_SUPERVISOR_HELLO_TIMEOUT_S 60
/* A grace for helpers asked to exit (the process pool's stop) before they get SIGKILL. */
#define LANES_SUPERVISOR_STOP_GRACE_NS (2000ull * 1000000u)

/* One kind of helper: the binary and its mode. */
typedef struct lanes_supervisor {
    char exe[PATH_MAX];    /* what posix_spawn runs */
    char argv0[PATH_MAX];  /* what ps shows */
    const char *mode;      /* "--worker", "--gpu-worker" (static) */
} lanes_supervisor_t;

/* One helper process. */
typedef struct lanes_supervisor_helper {
    pid_t pid;             /* 0: none */
    int fd;                /* the daemon's end of its socket (close-on-exec); -1: none */
    uint64_t spawned_ns;   /* lanes_now_ns() at its spawn (kept after reaping: the back-off reads it) */
} lanes_supervisor_helper_t;

/* One slot's respawn schedule. */
typedef struct lanes_supervisor_backoff {
    uint64_t respawn_ns;   /* the next helper may start at this lanes_now_ns() */
    unsigned quick_deaths; /* deaths in a row of helpers that lived less than 1 s */
} lanes_supervisor_backoff_t;

/* What lanes_supervisor_hello() saw. */
typedef enum lanes_supervisor_hello_result {
    LANES_SUPERVISOR_HELLO_OK = 0,    /* a message of exactly the hello's size (the caller checks it) */
    LANES_SUPERVISOR_HELLO_ENDED,     /* EOF or a socket error: the helper ended (or is ending) first */
    LANES_SUPERVISOR_HELLO_LATE,      /* nothing within the hello timeout */
    LANES_SUPERVISOR_HELLO_MALFORMED, /* a message of another size */
} lanes_supervisor_hello_result_t;

/* Sets up s for helpers in 'mode' (a static string) run from 'exe', or this process's own binary
 * (/proc/self/exe) when exe is NULL (copied). Not thread-safe for s. */
void lanes_supervisor_init(lanes_supervisor_t *s, const char *exe, const char *mode);

/* An empty helper (no process, fd -1). */
void lanes_supervisor_helper_init(lanes_supervisor_helper_t *h);

/* Spawns a helper: "EXE MODE FD args..." (args NULL-terminated, may be NULL), named 'what' in
 * messages. On success returns 0 and fills *h; the helper gets SIGKILL when the calling thread ends
 * (PR_SET_PDEATHSIG, in its own main). Else -1 with a message in err (cap bytes) and *h empty. h is
 * the caller's; thread-safe otherwise. */
int lanes_supervisor_spawn(const lanes_supervisor_t *s, lanes_supervisor_helper_t *h, const char *const *args,
                           const char *what, char *err, size_t cap);

/* The lanes_now_ns() by which h must have said hello. */
uint64_t lanes_supervisor_hello_deadline(const lanes_supervisor_helper_t *h);

/* Waits until h's hello deadline for its first message and receives it into buf (len bytes: the
 * protocol's hello); an fd attached to it is closed. Blocks at most until the deadline. Thread-safe
 * for distinct helpers. */
lanes_supervisor_hello_result_t lanes_supervisor_hello(const lanes_supervisor_helper_t *h, void *buf, size_t len);

/* Asks h to exit by itself: shuts its socket down, so a helper waiting for work reads EOF and exits
 * 0 (a sanitizer build then checks it for leaks). Reap it afterwards. */
void lanes_supervisor_ask_exit(const lanes_supervisor_helper_t *h);

/* Ends and reaps h: waits for it to exit until deadline_ns (a lanes_now_ns() time; 0: no wait;
 * UINT64_MAX: as long as it takes), then kills it with SIGKILL (a helper already exiting keeps its own
 * status) and waits. Writes how it ended
 * into how (cap bytes; may be NULL): "was killed by signal 9 (SIGKILL)", "exited with status 3",
 * "exited (status unknown)". Closes its socket; h has no process afterwards (spawned_ns stays).
 * Returns 1 if it exited with status 0 by itself, else 0. */
int lanes_supervisor_reap(lanes_supervisor_helper_t *h, uint64_t deadline_ns, char *how, size_t cap);

/* Writes how a process ended from its wait status (see lanes_supervisor_reap); known = 0: "exited
 * (status unknown)". Thread-safe. */
void lanes_supervisor_describe_exit(int status, int known, char *buf, size_t cap);

/* The back-off (see above): a helper spawned at spawned_ns (0: it could not be spawned) is gone at
 * now_ns; sets b->respawn_ns for its successor and updates the count. Pure: no clock, no lock. */
void lanes_supervisor_backoff(lanes_supervisor_backoff_t *b, uint64_t spawned_ns, uint64_t now_ns);

#ifdef __cplusplus
}
#endif

#endif /* LANES_SUPERVISOR_H */
