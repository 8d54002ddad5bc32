/* The test hooks of the production lanesd: none (see test_hooks.h). */
#include "test_hooks.h"

int lanes_test_hooks_enabled(void) { return 0; }

const char *lanes_test_hooks_gpu_ops(int *n_devices)
{
    *n_devices = 0;
    return NULL;
}

int lanes_test_hooks_gpu_open(int device, lanes_gpu_hello_t *hello, lanes_backend_t **out)
{
    (void)device;
    (void)hello;
    *out = NULL;
    return 0;
}

int lanes_test_hooks_gpu_fault(lanes_backend_t *b, lanes_error_t *err)
{
    (void)b;
    return lanes_error_set(err, LANES_ENOTSUP, "deliberate faults exist only in test builds (lanesd-test)");
}

int lanes_test_hooks_gpu_poisoned(void) { return 0; }

int lanes_test_hooks_gpu_fault_due(int device)
{
    (void)device;
    return 0;
}

void lanes_test_hooks_worker_pause(void) {}
