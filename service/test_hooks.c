/* The test hooks of the test builds (see test_hooks.h): simulated GPU devices and deliberate faults.
 *
 * Design: a simulated device is the cpu backend (lanes/backend.h, kernels/cpu/backend_cpu.c: the very
 * reference a real device must match) opened in the GPU worker process in place of a CUDA device, so
 * the worker, its protocol and the pool run exactly as with a GPU. The hello names it a simulated GPU.
 * Its fault is simulated here: it marks the process's device poisoned, as a sticky CUDA error marks a
 * real context, so the worker takes the same exit path. Linked only into lanesd-test and the unit
 * tests.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int lanes_test_hooks_enabled(void) { return 1; }

static int fake_count(void)
{
    const char *v = getenv("LANES_TEST_FAKE_GPUS");
    int n = v ? atoi(v) : 0;
    return n < 0 ? 0 : n > 4 ? 4 : n;
}

/* The simulated device of this GPU worker process (one device per worker): -1 before gpu_open. */
static int g_device = -1;
static int g_poisoned;

const char *lanes_test_hooks_gpu_ops(int *n_devices)
{
    *n_devices = fake_count();
    return *n_devices > 0 ? "cpu" : NULL;
}

int lanes_test_hooks_gpu_open(int device, lanes_gpu_hello_t *hello, lanes_backend_t **out)
{
    int n = 0;
    const char *backend = lanes_test_hooks_gpu_ops(&n);
    *out = NULL;
    if (!backend)
        return 0;
    hello->n_devices = n;
    hello->fake = 1;
    snprintf(hello->detail, sizeof hello->detail,
             "%d simulated device(s) (LANES_TEST_FAKE_GPUS, test build: CPU kernels behind the GPU protocol)", n);
    if (device >= n)
        return 1;
    lanes_error_t err = {0};
    *out = lanes_registry_backend_open(backend, 0, 0, &err);
    if (!*out) {
        snprintf(hello->detail, sizeof hello->detail, "simulated device %d: %.200s", device, err.msg);
        return 1;
    }
    g_device = device;
    hello->info.index = device;
    snprintf(hello->info.name, sizeof hello->info.name, "lanes simulated GPU %d (test build)", device);
    hello->info.memory_bytes = (uint64_t)1 << 30;
    hello->info.cc_major = 9;
    hello->info.cc_minor = 0;
    return 1;
}

int lanes_test_hooks_gpu_fault(lanes_backend_t *b, lanes_error_t *err)
{
    if (g_device < 0)
        return lanes_backend_test_fault(b, err);
    g_poisoned = 1;
    return lanes_error_set(err, LANES_EDEVICE,
                           "simulated device %d: an illegal memory access was encountered (cudaErrorIllegalAddress, "
                           "test hook); the device context is lost", g_device);
}

int lanes_test_hooks_gpu_poisoned(void) { return g_poisoned; }

int lanes_test_hooks_gpu_fault_due(int device)
{
    (void)device;
    const char *path = getenv("LANES_TEST_GPU_FAULT_FILE");
    return path && *path && unlink(path) == 0;
}

void lanes_test_hooks_worker_pause(void)
{
    const char *path = getenv("LANES_TEST_WORKER_PAUSE_FILE");
    if (!path || !*path || access(path, F_OK) != 0)
        return;
    char busy[4096];
    snprintf(busy, sizeof busy, "%s.busy", path);
    int fd = open(busy, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    /* The test removes PATH (or kills this worker); 120 s is only a hang guard. */
    for (int i = 0; i < 12000 && access(path, F_OK) == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
