/* Test hooks of the daemon: simulated GPU devices and deliberate device faults.
 *
 * Design: two implementations of this header. test_hooks.c, linked only into the test builds
 * (lanesd-test, the binary the integration tests run, and the unit tests), reads its switches from
 * the environment; test_hooks_off.c, linked into the lanesd users run, answers "no" to everything, so
 * no production code path can be steered from outside. The switches:
 *   LANES_TEST_FAKE_GPUS=N         N simulated devices (1..4): GPU workers serve the real protocol and
 *                                  compute with the CPU kernels, so routing, forced backends, faults
 *                                  and respawns are tested on machines without a GPU
 *   LANES_TEST_GPU_FAULT_FILE=PATH while PATH exists, the next command of a GPU worker first provokes a
 *                                  device fault (the real sticky CUDA error on a real device); the
 *                                  worker removes PATH, so one file is one fault
 *   LANES_TEST_WORKER_PAUSE_FILE=PATH while PATH exists, a process-pool worker that got a document
 *                                  creates PATH.busy and waits (at most 120 s) before computing it,
 *                                  so a test can kill a worker that is certainly mid-document
 * All functions are thread-safe.
 */
#ifndef LANES_TEST_HOOKS_H
#define LANES_TEST_HOOKS_H

#include "gpu_worker.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 in a test build. */
int lanes_test_hooks_enabled(void);

/* The simulated device's operations when LANES_TEST_FAKE_GPUS is set (and *n_devices its count), else
 * NULL. */
const lanes_gpu_device_ops_t *lanes_test_hooks_gpu_ops(int *n_devices);

/* 1 if a fault is requested now for 'device' (consumes the request). */
int lanes_test_hooks_gpu_fault_due(int device);

/* In a process-pool worker, before computing a document: the pause of LANES_TEST_WORKER_PAUSE_FILE. */
void lanes_test_hooks_worker_pause(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_TEST_HOOKS_H */
