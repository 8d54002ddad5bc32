/* The daemon's listening sockets and its connection budget: lanesd accepts TCP connections itself and
 * hands each one to the RPC edge, so a burst of connections can never stop it accepting.
 *
 * Why not gRPC's own listener: when accept4() fails with EMFILE (more connections than descriptors),
 * gRPC core 1.51's listener logs "Failed accept4: Too many open files" and never accepts again, while
 * the existing connections keep working (see ../shared/GRPC_CORE_NOTES.md), so the daemon looks
 * healthy to its clients and is dead to everyone else. Here one thread polls the listening sockets
 * and accepts; every connection it keeps goes to the server through a callback (server.c passes it
 * to grpc_server_add_channel_from_fd).
 *
 * Design: the budget is counted, not guessed. Each kept connection is recorded, in a table indexed
 * by its descriptor number, with its socket's inode; a connection that gRPC has closed is noticed by
 * a scan (its descriptor is gone or names another inode), which runs before any refusal, every 256
 * accepts and for Info, so the count that decides is exact without any hook into gRPC. A new connection is kept
 * only while fewer than max_connections are open AND the process has at least a reserve of free
 * descriptors below RLIMIT_NOFILE (for the pools' memfds, pipes and worker sockets); otherwise it
 * is closed at once and the refusal is logged (once per burst, with the count at the end of it).
 * If accept4() itself fails with EMFILE/ENFILE (descriptors taken by other work), a descriptor held
 * in reserve is released to accept and close the waiting connection, so the backlog drains and the
 * loop goes on; the listener never gives up.
 *
 * Threads: lanes_listener_start/stop from the main thread; the accept thread calls on_connection;
 * lanes_listener_peer and lanes_listener_connections from any thread.
 */
#ifndef LANES_LISTENER_H
#define LANES_LISTENER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called on the accept thread with a connected, non-blocking, close-on-exec socket; the callee owns
 * fd from then on. peer is "ADDRESS:PORT" (valid during the call only). */
typedef void (*lanes_listener_conn_fn)(int fd, const char *peer, void *arg);

/* Raises this process's RLIMIT_NOFILE soft limit to its hard limit (logged when it changes) and
 * returns the soft limit now in force. Main thread, at start. */
long lanes_listener_raise_nofile(void);

/* Binds every address 'listen' ("HOST:PORT", "[V6]:PORT"; port 0 picks one) resolves to, all on the
 * same port, and listens; max_connections bounds the open connections (0: as many as the
 * descriptor limit allows). Writes the bound port to *port. Returns 0, or -1 with a one-line message
 * in err ("cannot listen on 127.0.0.1:50051: address in use"). Main thread, once, early (before the
 * pools start, so a taken port fails at once). */
int lanes_listener_open(const char *listen, int max_connections, int *port, char *err, size_t err_cap);

/* Starts the accept thread: each kept connection goes to on_connection(fd, peer, arg). Returns 0 or
 * -1 with err set. Main thread, once, after lanes_listener_open. */
int lanes_listener_start(lanes_listener_conn_fn on_connection, void *arg, char *err, size_t err_cap);

/* Stops the accept thread and closes the listening sockets (kept connections stay with their owner).
 * Main thread; safe to call when not started, and twice. */
void lanes_listener_stop(void);

/* The peer address of a kept connection, from its descriptor number as gRPC names it ("fd:12"), into
 * buf; "" if unknown. Thread-safe. */
void lanes_listener_peer(const char *grpc_peer, char *buf, size_t cap);

/* Open kept connections (as of the last accept), the effective limit, and the refusals so far.
 * Thread-safe. */
void lanes_listener_connections(int *open, int *limit, unsigned long long *refused);

#ifdef __cplusplus
}
#endif

#endif /* LANES_LISTENER_H */
