/* From the daemon's errors to gRPC statuses: the one table (see status.h).
 *
 *   code            status                why
 *   0               OK
 *   LANES_EINVAL    INVALID_ARGUMENT      the request itself is wrong (a bad spec, a malformed chunk, a
 *                                         text that is not UTF-8): sending it again cannot help
 *   LANES_EEMPTY    INVALID_ARGUMENT      an input with nothing in it where the operation needs something
 *                                         (numpy's "zero-size array" ValueError for min, max, argmin,
 *                                         argmax): a property of the request, as EINVAL
 *   LANES_ENOMEM    RESOURCE_EXHAUSTED    memory ran out (the daemon's, or a worker's limit): a smaller or
 *                                         later request may fit
 *   LANES_ELIMIT    RESOURCE_EXHAUSTED    a limit of the service (calls, connections, the size of a
 *                                         one-message reply): the client should slow down or split
 *   LANES_ENODEV    UNAVAILABLE           a backend or device is down now (a GPU worker being restarted,
 *                                         the process pool stopped): retrying later may succeed
 *   LANES_EDEVICE   UNAVAILABLE           a device failed during the call and is down now (the same)
 *   LANES_EUNAVAIL  UNAVAILABLE           lanesd is shutting down, or ended the call at its grace period
 *   LANES_ENOTSUP   FAILED_PRECONDITION   the backend cannot do this (a deliberate fault outside a test
 *                                         build): it will not until the daemon is set up differently
 *   LANES_EPRECOND  FAILED_PRECONDITION   the request is valid but this daemon is not in the state it
 *                                         needs (a forced backend it cannot use for the job, a corpus
 *                                         without a process pool, an ACF of a document with no words)
 *   LANES_ECANCELED CANCELLED             the client cancelled or went away (or its document was
 *                                         dropped before it ran)
 *   LANES_ETIMEDOUT DEADLINE_EXCEEDED     a stream sat idle past idle_timeout_seconds
 *   LANES_ENOTFOUND NOT_FOUND             a named thing does not exist (Health of an unknown service)
 *   LANES_ENOSYS    UNIMPLEMENTED         no such method
 *   LANES_EINTERNAL INTERNAL              lanesd's own fault (a kernel that should not fail, a worker that
 *                                         died or broke protocol): the client did nothing wrong
 *   LANES_EUNKNOWN  UNKNOWN               and any code not in the table: no better kind is known
 */
#include "status.h"

#include "lanes/error.h"

lanes_status_t lanes_status_from_error(int code)
{
    switch (code) {
    case LANES_OK: return LANES_STATUS_OK;
    case LANES_EINVAL:
    case LANES_EEMPTY: return LANES_STATUS_INVALID_ARGUMENT;
    case LANES_ENOMEM:
    case LANES_ELIMIT: return LANES_STATUS_RESOURCE_EXHAUSTED;
    case LANES_ENODEV:
    case LANES_EDEVICE:
    case LANES_EUNAVAIL: return LANES_STATUS_UNAVAILABLE;
    case LANES_ENOTSUP:
    case LANES_EPRECOND: return LANES_STATUS_FAILED_PRECONDITION;
    case LANES_ECANCELED: return LANES_STATUS_CANCELLED;
    case LANES_ETIMEDOUT: return LANES_STATUS_DEADLINE_EXCEEDED;
    case LANES_ENOTFOUND: return LANES_STATUS_NOT_FOUND;
    case LANES_ENOSYS: return LANES_STATUS_UNIMPLEMENTED;
    case LANES_EINTERNAL: return LANES_STATUS_INTERNAL;
    default: return LANES_STATUS_UNKNOWN;
    }
}

const char *lanes_status_name(lanes_status_t status)
{
    switch (status) {
    case LANES_STATUS_OK: return "OK";
    case LANES_STATUS_CANCELLED: return "CANCELLED";
    case LANES_STATUS_UNKNOWN: return "UNKNOWN";
    case LANES_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case LANES_STATUS_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case LANES_STATUS_NOT_FOUND: return "NOT_FOUND";
    case LANES_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case LANES_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case LANES_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case LANES_STATUS_INTERNAL: return "INTERNAL";
    case LANES_STATUS_UNAVAILABLE: return "UNAVAILABLE";
    }
    return "?";
}
