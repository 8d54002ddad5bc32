/* extern "C" entry points of the CUDA backend (kernels/cuda/ (.cu files)), with the same names in
 * cuda_stub.c for builds without CUDA. Only registry.c calls these. */
#ifndef LANES_CUDA_API_H
#define LANES_CUDA_API_H

#include "lanes/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counts CUDA devices and describes up to max of them in devs. Returns the count (0 when there is no
 * device or no driver), or LANES_ENODEV when built without CUDA; writes a one-line explanation to
 * detail either way. Initialises the CUDA runtime in this process: call once, from the main thread,
 * before any fork-sensitive work. */
int lanes_cuda_probe(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CUDA_API_H */
