/* The protocol between the GPU pool (gpu_pool.c, in the daemon) and a GPU worker (gpu_worker.c,
 * "lanesd --gpu-worker FD DEVICE"), one worker process per CUDA device.
 *
 * Design: the daemon never initialises CUDA; each device is driven by a worker process that the pool
 * starts with posix_spawn and respawns when it dies, so a sticky CUDA error (an illegal address
 * poisons the context for the life of the process) costs one worker, never the daemon. Messages are
 * datagrams on a SOCK_SEQPACKET socketpair; bulk data never goes through the socket: the pool creates
 * a shared memory arena (a memfd of arena_bytes) and passes it with the first message; a command names
 * the arena offsets of its inputs and of its result. One command runs at a time per worker.
 *
 *   worker -> pool  lanes_gpu_hello_t        (after probing and opening its device; ok = 0 says why not)
 *   pool -> worker  lanes_gpu_cmd_t + text   (arena fd attached to the first command only)
 *   worker -> pool  lanes_gpu_reply_t        (code 0, or a LANES_E* code and a message; poisoned = 1:
 *                                             the worker exits after this reply)
 *
 * Expressions travel as their source text, input names and parameter names (in cmd.text, NUL
 * separated) and are compiled again in the worker (the kernels' expression cache, then NVRTC's).
 */
#ifndef LANES_GPU_PROTO_H
#define LANES_GPU_PROTO_H

#include <stdint.h>

#include "lanes/expr.h"
#include "lanes/kernels.h"
#include "lanes/registry.h"

#define LANES_GPU_MAGIC 0x21555047u /* "GPU!" */
#define LANES_GPU_VERSION 1u
/* Bytes of cmd.text: an expression's source, names and parameter names. */
#define LANES_GPU_TEXT_MAX (LANES_EXPR_MAX_LENGTH + 64 * (LANES_EXPR_MAX_INPUTS + LANES_EXPR_MAX_PARAMS) + 16)

typedef struct lanes_gpu_hello {
    uint32_t magic, version;
    int32_t pid;
    int32_t device;
    int32_t ok;           /* 1: the device is open and the worker serves commands */
    int32_t n_devices;    /* what the probe saw (0 without a device or driver) */
    int32_t fake;         /* 1: a test build's simulated device (test_hooks.c) */
    int32_t reserved;
    lanes_device_info_t info;
    char detail[256];     /* the probe's words, or why the device could not be opened */
} lanes_gpu_hello_t;

typedef enum lanes_gpu_op {
    LANES_GPU_OP_MAP = 1,      /* n elements of an expression -> out (out_dtype) */
    LANES_GPU_OP_PARTIALS = 2, /* n blocks of an array (data) or expression -> lanes_reduce_partial_t[n] */
    LANES_GPU_OP_HISTOGRAM = 3,/* n elements -> int64 counts[bins] */
    LANES_GPU_OP_ACF = 4,      /* buf of nlags + n doubles -> r[nlags + 1] */
    LANES_GPU_OP_FAULT = 5,    /* provoke a sticky error (refused unless the worker has test hooks) */
} lanes_gpu_op_t;

typedef struct lanes_gpu_input {
    int32_t kind;         /* lanes_source_kind_t */
    int32_t dtype;        /* ARRAY */
    uint64_t offset;      /* ARRAY: arena offset of its n elements */
    uint64_t seed;        /* UNIFORM, NORMAL */
    double start, step;   /* RANGE */
} lanes_gpu_input_t;

typedef struct lanes_gpu_cmd {
    uint32_t magic, version;
    uint64_t id;
    int32_t op;           /* lanes_gpu_op_t */
    int32_t has_expr;     /* MAP always; PARTIALS, HISTOGRAM: 1 = the elements are an expression */
    int32_t n_inputs, n_params;
    int32_t out_dtype;    /* MAP */
    int32_t reserved;
    lanes_gpu_input_t in[LANES_EXPR_MAX_INPUTS];
    double params[LANES_EXPR_MAX_PARAMS];
    uint64_t index0;      /* job index of the first element */
    uint64_t n;           /* elements (MAP, HISTOGRAM, ACF's new values) or blocks (PARTIALS) */
    uint64_t data_offset; /* PARTIALS, HISTOGRAM over an array; ACF's buffer */
    uint64_t out_offset;  /* where the result goes */
    /* reduce spec (PARTIALS, HISTOGRAM) */
    int32_t rop, rdtype;
    uint32_t bins;
    int32_t has_range;
    double ddof, lo, hi;
    /* ACF */
    uint64_t nlags, max_used;
    uint32_t text_len;    /* bytes used in text */
    uint32_t reserved2;
    char text[LANES_GPU_TEXT_MAX]; /* source \0 input names \0 ... param names \0 ... */
} lanes_gpu_cmd_t;

typedef struct lanes_gpu_reply {
    uint32_t magic, version;
    uint64_t id;
    int32_t code;         /* 0 or LANES_E* */
    int32_t poisoned;     /* the device context is lost: the worker exits after this reply */
    uint64_t compute_ns;
    char msg[512];
} lanes_gpu_reply_t;

#endif /* LANES_GPU_PROTO_H */
