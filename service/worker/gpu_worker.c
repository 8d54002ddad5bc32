/* GPU worker mode (see gpu_worker.h): one device, one command at a time, data in the pool's arena.
 *
 * Design: the loop blocks in recvmsg() for the next command; EOF means the pool closed its end (or the
 * daemon died) and the worker exits 0. The arena (a memfd) arrives with the first command and is
 * mapped shared for the worker's life; every offset and length of a command is checked against it
 * before use, so a malformed command is answered with LANES_EINVAL, never a wild access. Expressions
 * are compiled from their text with the kernels' cache (the pool sends the same text for every piece
 * of a job, so it compiles once per job, and NVRTC's cache in the CUDA context keeps the kernel).
 * The device is a lanes_backend_t (the cuda backend, or a test build's simulated device); the worker
 * checks a command against the arena and calls the backend's op. After a reply with poisoned = 1 the
 * worker exits with status 3: its CUDA context cannot be used again, and a fresh process gets a fresh
 * one.
 */
#define _GNU_SOURCE
#include "clock.h"
#include "gpu_worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lanes/backend.h"
#include "log.h"
#include "test_hooks.h"
#include "fdpass.h"


/* ---- commands ---- */

typedef struct arena {
    uint8_t *base;
    size_t len;
} arena_t;

/* 1 if [off, off + len) lies in the arena. */
static int in_arena(const arena_t *a, uint64_t off, uint64_t len)
{
    return a->base && off <= a->len && len <= a->len - off;
}

/* The command's expression: its text is "source\0name\0...\0param\0...". */
static lanes_expr_t *cmd_expr(const lanes_gpu_cmd_t *c, lanes_expr_input_t *inputs, const char **pnames,
                              lanes_error_t *err)
{
    if (c->n_inputs < 0 || c->n_inputs > LANES_EXPR_MAX_INPUTS || c->n_params < 0 ||
        c->n_params > LANES_EXPR_MAX_PARAMS || c->text_len == 0 || c->text_len > sizeof c->text ||
        c->text[c->text_len - 1] != 0) {
        lanes_error_set(err, LANES_EINVAL, "malformed expression in a GPU command");
        return NULL;
    }
    const char *p = c->text, *end = c->text + c->text_len;
    const char *src = p;
    p += strlen(p) + 1;
    for (int i = 0; i < c->n_inputs + c->n_params; i++) {
        if (p >= end) {
            lanes_error_set(err, LANES_EINVAL, "malformed expression names in a GPU command");
            return NULL;
        }
        if (i < c->n_inputs)
            inputs[i] = (lanes_expr_input_t){.name = p, .kind = (lanes_source_kind_t)c->in[i].kind,
                                             .dtype = (lanes_dtype_t)c->in[i].dtype};
        else
            pnames[i - c->n_inputs] = p;
        p += strlen(p) + 1;
    }
    return lanes_expr_acquire(src, inputs, (size_t)c->n_inputs, pnames, (size_t)c->n_params, err);
}

/* Binds the expression's inputs: arrays in the arena (n elements each), generators by their seeds. */
static int cmd_bind(const lanes_gpu_cmd_t *c, const arena_t *a, uint64_t n, lanes_expr_binding_t *b,
                    lanes_error_t *err)
{
    for (int i = 0; i < c->n_inputs; i++) {
        const lanes_gpu_input_t *in = &c->in[i];
        b[i] = (lanes_expr_binding_t){.seed = in->seed, .start = in->start, .step = in->step};
        if (in->kind == LANES_SOURCE_ARRAY) {
            size_t es = lanes_dtype_size((lanes_dtype_t)in->dtype);
            if (es == 0 || n > UINT64_MAX / es || !in_arena(a, in->offset, n * es))
                return lanes_error_set(err, LANES_EINVAL, "input %d of a GPU command is outside the arena", i);
            b[i].data = a->base + in->offset;
        }
    }
    return 0;
}

static int run_cmd(lanes_backend_t *dev, const lanes_gpu_cmd_t *c, const arena_t *a, lanes_error_t *err)
{
    lanes_expr_input_t inputs[LANES_EXPR_MAX_INPUTS];
    const char *pnames[LANES_EXPR_MAX_PARAMS];
    lanes_expr_binding_t b[LANES_EXPR_MAX_INPUTS];
    lanes_expr_t *e = NULL;
    int rc = 0;
    if (!a->base && c->op != LANES_GPU_OP_FAULT)
        return lanes_error_set(err, LANES_EINVAL, "a GPU command before the arena");
    if ((c->op == LANES_GPU_OP_MAP || c->has_expr) && c->op != LANES_GPU_OP_ACF && c->op != LANES_GPU_OP_FAULT) {
        e = cmd_expr(c, inputs, pnames, err);
        if (!e)
            return err->code;
        uint64_t n_elems = c->op == LANES_GPU_OP_PARTIALS ? c->n * LANES_REDUCE_BLOCK : c->n;
        rc = cmd_bind(c, a, n_elems, b, err);
        if (rc)
            goto out;
    }
    lanes_reduce_spec_t spec = {.op = (lanes_reduce_op_t)c->rop, .dtype = (lanes_dtype_t)c->rdtype,
                                .ddof = c->ddof, .bins = c->bins, .has_range = c->has_range, .lo = c->lo,
                                .hi = c->hi};
    switch (c->op) {
    case LANES_GPU_OP_MAP: {
        size_t os = lanes_dtype_size((lanes_dtype_t)c->out_dtype);
        if (os == 0 || !in_arena(a, c->out_offset, c->n * os)) {
            rc = lanes_error_set(err, LANES_EINVAL, "the map result of a GPU command is outside the arena");
            break;
        }
        rc = lanes_backend_map(dev, e, b, c->params, c->index0, (size_t)c->n, a->base + c->out_offset,
                      (lanes_dtype_t)c->out_dtype, err);
        break;
    }
    case LANES_GPU_OP_PARTIALS: {
        size_t es = lanes_dtype_size(spec.dtype);
        if (c->n > (a->len / sizeof(lanes_reduce_partial_t)) ||
            !in_arena(a, c->out_offset, c->n * sizeof(lanes_reduce_partial_t)) ||
            (!e && (es == 0 || !in_arena(a, c->data_offset, c->n * LANES_REDUCE_BLOCK * es)))) {
            rc = lanes_error_set(err, LANES_EINVAL, "the blocks of a GPU reduce command are outside the arena");
            break;
        }
        rc = lanes_backend_reduce_partials(dev, &spec, e, b, c->params, e ? NULL : a->base + c->data_offset, c->index0, (size_t)c->n,
                           (lanes_reduce_partial_t *)(void *)(a->base + c->out_offset), err);
        break;
    }
    case LANES_GPU_OP_HISTOGRAM: {
        /* The worker's own reducer gives the bin edges exactly as the daemon's (same spec). */
        lanes_reducer_t *r = lanes_reducer_new(&spec, err);
        lanes_histogram_params_t hp;
        size_t es = lanes_dtype_size(spec.dtype);
        if (!r) {
            rc = err->code;
            break;
        }
        rc = lanes_reducer_histogram_params(r, &hp);
        if (rc == 0 && (!in_arena(a, c->out_offset, (uint64_t)hp.bins * sizeof(int64_t)) ||
                        (!e && (es == 0 || !in_arena(a, c->data_offset, c->n * es)))))
            rc = lanes_error_set(err, LANES_EINVAL, "the data of a GPU histogram command is outside the arena");
        else if (rc != 0)
            lanes_error_set(err, rc, "a GPU histogram command needs a histogram with a given range");
        if (rc == 0)
            rc = lanes_backend_histogram(dev, &spec, &hp, e, b, c->params, e ? NULL : a->base + c->data_offset, c->index0,
                                (size_t)c->n, (int64_t *)(void *)(a->base + c->out_offset), err);
        lanes_reducer_free(r);
        break;
    }
    case LANES_GPU_OP_ACF:
        if (c->nlags > a->len / 8 || c->n > a->len / 8 || c->n > c->max_used ||
            !in_arena(a, c->data_offset, (c->nlags + c->n) * 8) || !in_arena(a, c->out_offset, (c->nlags + 1) * 8)) {
            rc = lanes_error_set(err, LANES_EINVAL, "the buffers of a GPU ACF command are outside the arena");
            break;
        }
        rc = lanes_backend_acf_lagsums(dev, (const double *)(const void *)(a->base + c->data_offset), (size_t)c->nlags, (size_t)c->n,
                      (size_t)c->max_used, (double *)(void *)(a->base + c->out_offset), err);
        break;
    case LANES_GPU_OP_FAULT:
        rc = lanes_test_hooks_gpu_fault(dev, err); /* refused unless this is a test build */
        break;
    default:
        rc = lanes_error_set(err, LANES_EINVAL, "unknown GPU command %d", c->op);
    }
out:
    if (e)
        lanes_expr_release(e);
    return rc;
}

/* Maps the arena the pool sent (shared, read-write, for the worker's life). Returns 0 or -1. */
static int map_arena(int fd, arena_t *a)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0)
        return -1;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -1;
    a->base = p;
    a->len = (size_t)st.st_size;
    return 0;
}

/* Opens CUDA device 'device' as a backend (lanes/backend.h), filling hello's n_devices, info and detail
 * (the probe's words, or why the device could not be opened). NULL when it cannot. */
static lanes_backend_t *open_cuda(int device, size_t staging_bytes, lanes_gpu_hello_t *hello)
{
    lanes_device_info_t devs[16];
    int n = lanes_registry_backend_probe("cuda", devs, 16, hello->detail, sizeof hello->detail);
    hello->n_devices = n > 0 ? n : 0;
    if (n <= 0 || device >= n)
        return NULL;
    lanes_error_t err = {0};
    lanes_backend_t *b = lanes_registry_backend_open("cuda", device, staging_bytes, &err);
    if (!b) {
        snprintf(hello->detail, sizeof hello->detail, "opening CUDA device %d failed: %.200s", device, err.msg);
        return NULL;
    }
    lanes_backend_describe(b, &hello->info);
    return b;
}

int lanes_gpu_worker_main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: lanesd --gpu-worker FD DEVICE [STAGING_MB] (started by lanesd itself)\n");
        return 2;
    }
    char *end = NULL;
    long sock = strtol(argv[2], &end, 10);
    long device = strtol(argv[3], NULL, 10);
    long staging_mb = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
    if (!end || *end || sock < 0 || device < 0 || device > 15 || staging_mb < 0 || staging_mb > 4096) {
        fprintf(stderr, "lanesd --gpu-worker: bad arguments\n");
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return 0; /* the daemon is already gone */
    signal(SIGPIPE, SIG_IGN);

    lanes_gpu_hello_t hello;
    memset(&hello, 0, sizeof hello);
    hello.magic = LANES_GPU_MAGIC;
    hello.version = LANES_GPU_VERSION;
    hello.pid = (int32_t)getpid();
    hello.device = (int32_t)device;
    lanes_backend_t *dev = NULL;
    if (!lanes_test_hooks_gpu_open((int)device, &hello, &dev))
        dev = open_cuda((int)device, (size_t)staging_mb << 20, &hello);
    hello.ok = dev != NULL;
    if (lanes_fdpass_send((int)sock, &hello, sizeof hello, -1) != 0)
        return 1;
    if (!dev)
        return 0;

    static lanes_gpu_cmd_t cmd;
    arena_t arena = {0};
    int status = 0;
    for (;;) {
        int fd = -1;
        ssize_t n = lanes_fdpass_recv((int)sock, &cmd, sizeof cmd, &fd);
        if (n == 0)
            break;
        if (n < 0) {
            status = 1;
            break;
        }
        lanes_gpu_reply_t rep;
        memset(&rep, 0, sizeof rep);
        rep.magic = LANES_GPU_MAGIC;
        rep.version = LANES_GPU_VERSION;
        rep.id = cmd.id;
        lanes_error_t err = {0};
        if (fd >= 0) {
            if (arena.base || map_arena(fd, &arena) != 0)
                lanes_error_set(&err, LANES_EINVAL, "the arena could not be mapped: %s", strerror(errno));
            close(fd);
        }
        if (err.code == 0 && ((size_t)n != sizeof cmd || cmd.magic != LANES_GPU_MAGIC || cmd.version != LANES_GPU_VERSION))
            lanes_error_set(&err, LANES_EINVAL, "malformed GPU command (%zd bytes)", n);
        uint64_t t0 = lanes_now_ns();
        if (err.code == 0 && lanes_test_hooks_gpu_fault_due((int)device)) {
            /* A test asked for a device fault now: provoke the real one (or the simulated one). */
            lanes_test_hooks_gpu_fault(dev, &err);
        }
        if (err.code == 0)
            run_cmd(dev, &cmd, &arena, &err);
        rep.compute_ns = lanes_now_ns() - t0;
        rep.code = err.code;
        rep.poisoned = lanes_backend_poisoned(dev) || lanes_test_hooks_gpu_poisoned();
        snprintf(rep.msg, sizeof rep.msg, "%s", err.msg);
        if (lanes_fdpass_send((int)sock, &rep, sizeof rep, -1) != 0) {
            status = 1;
            break;
        }
        if (rep.poisoned) {
            /* The context is lost for this process: exit without touching the device again. */
            _exit(3);
        }
    }
    lanes_backend_close(dev);
    if (arena.base)
        munmap(arena.base, arena.len);
    return status;
}
