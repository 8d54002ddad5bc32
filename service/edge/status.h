/* The edge's status codes: gRPC's numbers, and the one table that turns a LANES_E* code into one.
 *
 * Design: inside the daemon a failure is a LANES_E* code with a message (lanes_error_t, lanes/error.h);
 * only the RPC edge speaks gRPC statuses. server.c maps the code a handler finishes a call with, and
 * the Corpus endpoint the code of each document's result, through lanes_status_from_error() (the
 * table and its reasons are in status.c).
 */
#ifndef LANES_STATUS_H
#define LANES_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes, numerically equal to gRPC's. */
typedef enum lanes_status {
    LANES_STATUS_OK = 0,
    LANES_STATUS_CANCELLED = 1,
    LANES_STATUS_UNKNOWN = 2,
    LANES_STATUS_INVALID_ARGUMENT = 3,
    LANES_STATUS_DEADLINE_EXCEEDED = 4,
    LANES_STATUS_NOT_FOUND = 5,
    LANES_STATUS_RESOURCE_EXHAUSTED = 8,
    LANES_STATUS_FAILED_PRECONDITION = 9,
    LANES_STATUS_UNIMPLEMENTED = 12,
    LANES_STATUS_INTERNAL = 13,
    LANES_STATUS_UNAVAILABLE = 14,
} lanes_status_t;

/* The status a client is told for code (0 or LANES_E*; UNKNOWN for any other). Thread-safe. */
lanes_status_t lanes_status_from_error(int code);

/* "INVALID_ARGUMENT", for logs ("?" for a number that is no lanes_status_t). Static string. Thread-safe. */
const char *lanes_status_name(lanes_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* LANES_STATUS_H */
