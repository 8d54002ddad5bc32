/* Test hooks of the daemon: simulated GPU devices and deliberate device faults.
 *
 * Design: two implementations of this header. test_hooks.c, linked only into the test builds
 * (lanesd-test, the binary the integration tests run, and the unit tests), reads its switches from
 * the environment; test_hooks_off.c, linked into the lanesd users run, answers "no" to everything, so
 * no production code path can be steered from outside. The switches:
 *   LANES_TEST_FAKE_GPUS=N         N simulated devices (1..4): GPU workers serve the real protocol and
 *                                  compute with the cpu backend (lanes/backend.h), so routing, forced
 *                                  backends, faults and respawns are tested on machines without a GPU
 *   LANES_TEST_GPU_FAULT_FILE=PATH while PATH exists, the next command of a GPU worker first provokes a
 *                                  device fault (the real sticky CUDA error on a real device); the
 *                                  worker removes PATH, so one file is one fault
 *   LANES_TEST_WORKER_PAUSE_FILE=PATH while PATH exists, a process-pool worker that got a document
 *                                  creates PATH.busy and waits (at most 120 s) before computing it,
 *                                  so a test can kill a worker that is certainly mid-document
 * All functions are thread-safe, except the GPU worker's device hooks (gpu_open, gpu_fault,
 * gpu_poisoned), which its one command thread calls.
 */
#ifndef LANES_TEST_HOOKS_H
#define LANES_TEST_HOOKS_H

#include "gpu_proto.h"
#include "lanes/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 in a test build. */
int lanes_test_hooks_enabled(void);

/* The backend that computes for the simulated devices when LANES_TEST_FAKE_GPUS is set: its name
 * ("cpu", static), with *n_devices their count; else NULL and 0. */
const char *lanes_test_hooks_gpu_ops(int *n_devices);

/* In a GPU worker: when LANES_TEST_FAKE_GPUS is set, opens simulated device 'device' (the cpu backend)
 * into *out (the caller owns it: lanes_backend_close; NULL when 'device' is not one of them), fills
 * hello's n_devices, fake, info and detail, and returns 1; else returns 0 and the real device serves. */
int lanes_test_hooks_gpu_open(int device, lanes_gpu_hello_t *hello, lanes_backend_t **out);

/* A deliberate fault of the GPU worker's device b: on a simulated device a simulated sticky error
 * (lanes_test_hooks_gpu_poisoned is 1 from then on), on a real one lanes_backend_test_fault. Returns
 * the error it caused (LANES_EDEVICE) with err set; in the lanesd users run, LANES_ENOTSUP. */
int lanes_test_hooks_gpu_fault(lanes_backend_t *b, lanes_error_t *err);

/* 1 once a simulated device of this process has faulted, else 0. */
int lanes_test_hooks_gpu_poisoned(void);

/* 1 if a fault is requested now for 'device' (consumes the request). */
int lanes_test_hooks_gpu_fault_due(int device);

/* In a process-pool worker, before computing a document: the pause of LANES_TEST_WORKER_PAUSE_FILE. */
void lanes_test_hooks_worker_pause(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_TEST_HOOKS_H */
