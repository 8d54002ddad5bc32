/* GPU worker mode of lanesd ("lanesd --gpu-worker FD DEVICE STAGING_MB"): one process per CUDA
 * device, driven by the daemon's GPU pool over the protocol of gpu_proto.h.
 *
 * Design: the worker opens its device as a compute backend (lanes/backend.h: the "cuda" backend's
 * device DEVICE; the only way this process reaches CUDA) and serves one command at a time: it maps the
 * pool's shared arena, compiles the command's expression (the kernels' cache), runs the backend's op
 * and answers. When a device error poisons the backend the worker replies with poisoned = 1 and exits
 * with status 3; the pool respawns it. It asks for SIGKILL when the pool's thread goes
 * (PR_SET_PDEATHSIG). In test builds (lanesd-test, test_hooks.c) a simulated device may take the
 * device's place: the "cpu" backend behind the same process boundary, with the test hooks' faults, so
 * the pool's routing, fault handling and respawns are tested on machines without a GPU.
 */
#ifndef LANES_GPU_WORKER_H
#define LANES_GPU_WORKER_H

#ifdef __cplusplus
extern "C" {
#endif

/* Runs GPU worker mode; argv is "lanesd --gpu-worker FD DEVICE [STAGING_MB]". Returns the exit
 * status: 0 at EOF, 2 for bad arguments, 1 when the socket fails, 3 after a poisoned context. Call
 * first in main(), before any thread exists. */
int lanes_gpu_worker_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* LANES_GPU_WORKER_H */
