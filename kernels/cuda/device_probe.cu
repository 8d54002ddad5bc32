/* CUDA device probe: counts the devices and reads their names, memory and compute capability.
 *
 * Design: the first CUDA code of the project, so the CUDA build path (nvcc, cudart_static, extern "C"
 * linkage into a C daemon) is exercised from day one. With no driver or no device the runtime returns
 * an error code; that is reported as zero devices with the runtime's own words, never as a crash.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "cuda_api.h"

extern "C" int lanes_cuda_probe(lanes_device_info_t *devs, int max, char *detail, size_t detail_cap)
{
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess) {
        snprintf(detail, detail_cap, "no CUDA device: cudaGetDeviceCount() failed: %s",
                 cudaGetErrorString(rc));
        return 0;
    }
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    for (int i = 0; i < count && i < max; i++) {
        cudaDeviceProp prop;
        memset(&devs[i], 0, sizeof devs[i]);
        devs[i].index = i;
        rc = cudaGetDeviceProperties(&prop, i);
        if (rc != cudaSuccess) {
            snprintf(devs[i].name, sizeof devs[i].name, "unknown (%s)", cudaGetErrorString(rc));
            continue;
        }
        snprintf(devs[i].name, sizeof devs[i].name, "%s", prop.name);
        devs[i].memory_bytes = (uint64_t)prop.totalGlobalMem;
        devs[i].cc_major = prop.major;
        devs[i].cc_minor = prop.minor;
    }
    snprintf(detail, detail_cap, "%d CUDA device(s); runtime %d.%d, driver %d.%d", count,
             runtime / 1000, (runtime % 1000) / 10, driver / 1000, (driver % 1000) / 10);
    return count;
}
