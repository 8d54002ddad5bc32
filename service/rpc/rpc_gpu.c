/* GPU outcomes of the endpoints (see rpc_gpu.h). */
#include "rpc_gpu.h"

#include "log.h"

int rpc_gpu_outcome(int rc, const lanes_error_t *gerr, lanes_exec_t *x, int *use, lanes_error_t *err)
{
    *use = rc == 0;
    if (rc == 0)
        return 0;
    if (rc == LANES_ENODEV || rc == LANES_EDEVICE) {
        if (x->forced)
            return lanes_error_set(err, rc, "backend 'cuda' was forced and the device failed: %s", gerr->msg);
        lanes_log(LANES_LOG_INFO, 0, "a piece goes to the cpu: %s", gerr->msg);
        x->fell_back = 1;
        return 0;
    }
    /* The work's own error keeps its kind (an expression NVRTC rejects: EINVAL; device memory: ENOMEM;
     * what the backend cannot do: ENOTSUP); anything else from a device is lanesd's fault. */
    int code = rc == LANES_EINVAL || rc == LANES_ENOMEM || rc == LANES_ENOTSUP ? rc : LANES_EINTERNAL;
    return lanes_error_set(err, code, "%s", gerr->msg[0] ? gerr->msg : lanes_strerror(rc));
}
