/* The test hooks of the test builds (see test_hooks.h): simulated GPU devices and deliberate faults.
 *
 * Design: a simulated device is a lanes_gpu_device_ops_t whose operations run the CPU kernels on the
 * calling thread: maps with lanes_expr_eval, block partials with lanes_reduce_partials_cpu (the very
 * reference a real device must match), histograms with a reducer, ACF lag sums with a long-double
 * loop. Its fault marks it poisoned, as a sticky CUDA error marks a real context, so the worker takes
 * the same exit path. Linked only into lanesd-test and the unit tests.
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

typedef struct fake_dev {
    int device;
    int poisoned;
} fake_dev_t;

static void *fake_open(int device, size_t staging_bytes, lanes_gpu_hello_t *hello)
{
    (void)staging_bytes;
    int n = fake_count();
    hello->n_devices = n;
    hello->fake = 1;
    snprintf(hello->detail, sizeof hello->detail,
             "%d simulated device(s) (LANES_TEST_FAKE_GPUS, test build: CPU kernels behind the GPU protocol)", n);
    if (device >= n)
        return NULL;
    fake_dev_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->device = device;
    hello->info.index = device;
    snprintf(hello->info.name, sizeof hello->info.name, "lanes simulated GPU %d (test build)", device);
    hello->info.memory_bytes = (uint64_t)1 << 30;
    hello->info.cc_major = 9;
    hello->info.cc_minor = 0;
    return d;
}

static int fake_check(fake_dev_t *d, lanes_error_t *err)
{
    if (d->poisoned)
        return lanes_error_set(err, LANES_EDEVICE, "simulated device %d: the context was lost", d->device);
    return 0;
}

static int fake_map(void *dev, const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
                    uint64_t index0, size_t n, void *out, lanes_dtype_t out_dtype, lanes_error_t *err)
{
    int rc = fake_check(dev, err);
    if (rc)
        return rc;
    rc = lanes_expr_eval(e, b, params, index0, n, out, out_dtype, 1);
    return rc ? lanes_error_set(err, rc, "simulated map failed: %s", lanes_strerror(rc)) : 0;
}

/* Evaluates elements index0 .. index0 + n - 1 of an expression into a new float64 array (the caller
 * frees it), or NULL with err set. */
static double *eval_all(const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
                        uint64_t index0, size_t n, lanes_error_t *err)
{
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf) {
        lanes_error_set(err, LANES_ENOMEM, "simulated device: out of memory for %zu values", n);
        return NULL;
    }
    int rc = lanes_expr_eval(e, b, params, index0, n, buf, LANES_DTYPE_F64, 1);
    if (rc) {
        lanes_error_set(err, rc, "simulated device: evaluating the expression failed: %s", lanes_strerror(rc));
        free(buf);
        return NULL;
    }
    return buf;
}

static int fake_partials(void *dev, const lanes_reduce_spec_t *spec, const lanes_expr_t *e,
                         const lanes_expr_binding_t *b, const double *params, const void *data, uint64_t index0,
                         size_t n_blocks, lanes_reduce_partial_t *out, lanes_error_t *err)
{
    int rc = fake_check(dev, err);
    if (rc)
        return rc;
    if (!e) {
        rc = lanes_reduce_partials_cpu(spec, data, index0, n_blocks, out);
        return rc ? lanes_error_set(err, rc, "simulated reduce failed: %s", lanes_strerror(rc)) : 0;
    }
    double *buf = eval_all(e, b, params, index0, n_blocks * LANES_REDUCE_BLOCK, err);
    if (!buf)
        return err->code;
    rc = lanes_reduce_partials_cpu(spec, buf, index0, n_blocks, out);
    free(buf);
    return rc ? lanes_error_set(err, rc, "simulated reduce failed: %s", lanes_strerror(rc)) : 0;
}

static int fake_histogram(void *dev, const lanes_reduce_spec_t *spec, const lanes_histogram_params_t *hp,
                          const lanes_expr_t *e, const lanes_expr_binding_t *b, const double *params,
                          const void *data, uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err)
{
    int rc = fake_check(dev, err);
    if (rc)
        return rc;
    lanes_reducer_t *r = lanes_reducer_new(spec, err);
    if (!r)
        return err->code;
    double *buf = NULL;
    if (e && !(buf = eval_all(e, b, params, index0, n, err))) {
        lanes_reducer_free(r);
        return err->code;
    }
    rc = lanes_reducer_feed(r, e ? (const void *)buf : data, n, 1);
    lanes_reduce_result_t res;
    if (rc == 0)
        rc = lanes_reducer_finish(r, &res, err);
    if (rc == 0)
        memcpy(counts, res.counts, (size_t)hp->bins * sizeof *counts);
    free(buf);
    lanes_reducer_free(r);
    return rc ? lanes_error_set(err, rc, "simulated histogram failed: %s", lanes_strerror(rc)) : 0;
}

static int fake_acf(void *dev, const double *buf, size_t nlags, size_t used, size_t max_used, double *r,
                    lanes_error_t *err)
{
    (void)max_used;
    int rc = fake_check(dev, err);
    if (rc)
        return rc;
    for (size_t k = 0; k <= nlags; k++) {
        long double s = 0;
        for (size_t j = nlags; j < nlags + used; j++)
            s += (long double)buf[j - k] * buf[j];
        r[k] = (double)s;
    }
    return 0;
}

static int fake_fault(void *dev, lanes_error_t *err)
{
    fake_dev_t *d = dev;
    d->poisoned = 1;
    return lanes_error_set(err, LANES_EDEVICE,
                           "simulated device %d: an illegal memory access was encountered (cudaErrorIllegalAddress, "
                           "test hook); the device context is lost", d->device);
}

static int fake_poisoned(void *dev) { return ((fake_dev_t *)dev)->poisoned; }

static void fake_close(void *dev) { free(dev); }

static const lanes_gpu_device_ops_t g_fake_ops = {
    .name = "simulated",
    .open = fake_open,
    .map = fake_map,
    .partials = fake_partials,
    .histogram = fake_histogram,
    .acf = fake_acf,
    .fault = fake_fault,
    .poisoned = fake_poisoned,
    .close = fake_close,
};

const lanes_gpu_device_ops_t *lanes_test_hooks_gpu_ops(int *n_devices)
{
    *n_devices = fake_count();
    return *n_devices > 0 ? &g_fake_ops : NULL;
}

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
