/* Document spools: a document received in pieces, kept in a memfd for the process pool.
 *
 * Design: an endpoint appends each piece of a document as it arrives (write(2) into an anonymous
 * memory file, so the gRPC threads never hold a whole document) and finishes the spool, which seals
 * the file (no write, shrink or grow: a worker maps exactly what was received, and a broken worker
 * cannot change it for a retry) and hands its fd to lanes_proc_pool_submit(). The size is checked on
 * every append against the spool's maximum (max_doc_bytes). Spools are shared memory, invisible in
 * the daemon's resident set: lanes_spool_usage() counts them for Info.
 *
 * Ownership: a spool is a plain struct owned by the caller; lanes_spool_free() closes the memfd unless
 * lanes_spool_finish() handed it over. Threads: one spool must not be used by two threads at once;
 * distinct spools are independent.
 */
#ifndef LANES_SPOOL_H
#define LANES_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lanes_spool {
    int fd;             /* the memfd, -1 once finished or freed */
    uint64_t len;       /* bytes appended */
    uint64_t max_bytes; /* largest document accepted */
    char name[128];     /* the document's name, for messages (cut to fit) */
} lanes_spool_t;

/* Creates an empty memfd (close-on-exec, sealable) for the document 'name' (copied). Returns 0, or
 * LANES_ENOMEM with err set (memfd_create() failed). */
int lanes_spool_init(lanes_spool_t *s, const char *name, uint64_t max_bytes, lanes_error_t *err);

/* Appends len bytes (borrowed for the call). Returns 0; LANES_EINVAL with err set when the document
 * would exceed max_bytes ("document 'x' is larger than the maximum of N bytes"; nothing is written);
 * LANES_ENOMEM when write() fails (the machine is out of memory for the file). */
int lanes_spool_append(lanes_spool_t *s, const void *data, size_t len, lanes_error_t *err);

/* Seals the memfd and hands it over: *fd gets it (the caller owns it; close-on-exec) and *len its
 * length. The spool is then empty; lanes_spool_free() is still allowed. Returns 0 or LANES_EINVAL with
 * err set (fcntl(F_ADD_SEALS) failed; the spool keeps its fd). */
int lanes_spool_finish(lanes_spool_t *s, int *fd, uint64_t *len, lanes_error_t *err);

/* Closes the memfd if the spool still has one. */
void lanes_spool_free(lanes_spool_t *s);

/* The memory held now in this process's spools, finished ones handed to the process pool included
 * until their new owner closes them: *bytes gets the memory their files use (st_blocks: the pages
 * written, shared memory that the process's resident set does not count) and *files their number.
 * Costs one fstat() per spool. Returns 0. Thread-safe; a spool closed during the call may or may not
 * be counted. */
int lanes_spool_usage(uint64_t *bytes, unsigned *files);

/* A sealed memfd holding len bytes of data (a finished spool in one call; tests and small documents).
 * Returns the fd (the caller owns it) or a negative LANES_E* code with err set. */
int lanes_spool_from_bytes(const char *name, const void *data, size_t len, lanes_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* LANES_SPOOL_H */
