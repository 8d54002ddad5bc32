/* One message and at most one file descriptor over a SOCK_SEQPACKET socket: the transport of both
 * helper protocols (the process pool's, worker.h, and the GPU pool's, gpu_proto.h), on both sides.
 *
 * Design: a message is one datagram of a fixed size; a descriptor travels beside it as SCM_RIGHTS
 * ancillary data (a document or result memfd, a GPU arena). The receiver gets descriptors
 * close-on-exec, keeps the first and closes any extra a peer attached, so a misbehaving peer cannot
 * make it leak fds; a datagram or control data that did not fit is an error (EMSGSIZE), never a
 * truncated message. It lives with the workers (worker/) because it is the protocol side: the helper
 * modes use it without anything of the daemon's, and the pools (exec/) depend on it, not the reverse.
 */
#ifndef LANES_FDPASS_H
#define LANES_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sends one message of len bytes on a SOCK_SEQPACKET socket, with fd attached (SCM_RIGHTS) when
 * fd >= 0 (fd stays the caller's). Never raises SIGPIPE. Returns 0 or -1 with errno set. Thread-safe. */
int lanes_fdpass_send(int sock, const void *msg, size_t len, int fd);

/* Receives one message into buf (cap bytes) and at most one fd (received close-on-exec; extra fds a
 * peer attached are closed). Returns the message length, 0 at EOF, or -1 with errno set (EMSGSIZE for
 * a message or control data that did not fit; *fd is then -1). *fd gets the fd (the caller owns it)
 * or -1. Retries on EINTR. Thread-safe. */
ssize_t lanes_fdpass_recv(int sock, void *buf, size_t cap, int *fd);

#ifdef __cplusplus
}
#endif

#endif /* LANES_FDPASS_H */
