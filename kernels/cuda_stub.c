/* Stand-in for the CUDA backend in builds without CUDA: the same extern "C" entry points as
 * cuda/cuda_api.h, each saying plainly that CUDA was not built in. Linked instead of cuda/*.cu so no
 * #ifdef leaks outside kernels/. */
#include <stdio.h>

#include "cuda/cuda_api.h"
#include "lanes/kernels.h"

int lanes_cuda_probe(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap)
{
    (void)devs;
    (void)max;
    snprintf(detail, detail_cap, "not built: this is a CPU-only build (configure with nvcc present)");
    return LANES_ENODEV;
}
