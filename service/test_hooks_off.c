/* The test hooks of the production lanesd: none (see test_hooks.h). */
#include "test_hooks.h"

int lanes_test_hooks_enabled(void) { return 0; }

const lanes_gpu_device_ops_t *lanes_test_hooks_gpu_ops(int *n_devices)
{
    *n_devices = 0;
    return NULL;
}

int lanes_test_hooks_gpu_fault_due(int device)
{
    (void)device;
    return 0;
}

void lanes_test_hooks_worker_pause(void) {}
