/* lanes element types: the dtypes of arrays and the named scalar parameters of a job spec.
 *
 * Design: part of the base library (lanes_base, kernels/base/), the few plain values that the compute
 * library, the daemon and the clients all speak. The dtype numbers match lanes.v1.DType, so a wire
 * value converts by a cast. Nothing here computes; lanes/kernels.h includes this header.
 */
#ifndef LANES_DTYPE_H
#define LANES_DTYPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lanes_dtype {
    LANES_DTYPE_INVALID = 0,
    LANES_DTYPE_F64 = 1,
    LANES_DTYPE_F32 = 2,
    LANES_DTYPE_I64 = 3,
    LANES_DTYPE_I32 = 4,
} lanes_dtype_t;

/* Bytes per element, 0 for an invalid dtype. Thread-safe. */
size_t lanes_dtype_size(lanes_dtype_t dt);
/* "float64", "float32", "int64", "int32", or "invalid". Static string. Thread-safe. */
const char *lanes_dtype_name(lanes_dtype_t dt);

/* The most input arrays of one map job. */
#define LANES_MAP_MAX_INPUTS 8

/* A named scalar parameter of a job (a map function's "n", "a", "b"). */
typedef struct lanes_param {
    const char *name;   /* borrowed */
    double value;
} lanes_param_t;

#ifdef __cplusplus
}
#endif

#endif /* LANES_DTYPE_H */
