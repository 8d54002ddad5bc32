/* GPU outcomes of the endpoints (see rpc_gpu.h). */
#include "rpc_gpu.h"

#include <stdio.h>

#include "log.h"

lanes_status_t rpc_gpu_outcome(int rc, const lanes_error_t *err, lanes_exec_t *x, int *use, char *msg, size_t cap)
{
    *use = rc == 0;
    if (rc == 0)
        return LANES_STATUS_OK;
    if (rc == LANES_ENODEV || rc == LANES_EDEVICE) {
        if (x->forced) {
            snprintf(msg, cap, "backend 'cuda' was forced and the device failed: %s", err->msg);
            return LANES_STATUS_UNAVAILABLE;
        }
        lanes_log(LANES_LOG_INFO, 0, "a piece goes to the cpu: %s", err->msg);
        x->fell_back = 1;
        return LANES_STATUS_OK;
    }
    snprintf(msg, cap, "%s", err->msg[0] ? err->msg : lanes_strerror(rc));
    switch (rc) {
    case LANES_EINVAL: return LANES_STATUS_INVALID_ARGUMENT;
    case LANES_ENOMEM: return LANES_STATUS_RESOURCE_EXHAUSTED;
    case LANES_ENOTSUP: return LANES_STATUS_FAILED_PRECONDITION;
    default: return LANES_STATUS_INTERNAL;
    }
}
