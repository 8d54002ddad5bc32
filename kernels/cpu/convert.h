/* Element loads and stores for the CPU kernels: any lanes dtype to double, double to F64/F32.
 *
 * Design: arrays arrive as little-endian bytes that may sit at any address (the daemon hands out
 * pointers into protobuf buffers), so every access goes through memcpy of one element. Compilers turn
 * a fixed-size memcpy into a single unaligned load or store, so this costs nothing, and it keeps
 * UBSan's alignment check quiet. Conversions are C's: int64 -> double rounds to nearest (as numpy's
 * astype(float64)), float -> double is exact, double -> float rounds once to nearest.
 *
 * The block helpers take the dtype once and switch outside their loop, so callers dispatch once per
 * block, never per element. Internal to kernels/cpu; not part of the public API.
 */
#ifndef LANES_CPU_CONVERT_H
#define LANES_CPU_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lanes/kernels.h"

/* Element i of an array of dtype 'dt' at 'base' (any alignment), as double. */
static inline double lanes__load_f64(const unsigned char *base, size_t i)
{
    double v;
    memcpy(&v, base + i * sizeof v, sizeof v);
    return v;
}

static inline double lanes__load_f32(const unsigned char *base, size_t i)
{
    float v;
    memcpy(&v, base + i * sizeof v, sizeof v);
    return (double)v;
}

static inline double lanes__load_i64(const unsigned char *base, size_t i)
{
    int64_t v;
    memcpy(&v, base + i * sizeof v, sizeof v);
    return (double)v;
}

static inline double lanes__load_i32(const unsigned char *base, size_t i)
{
    int32_t v;
    memcpy(&v, base + i * sizeof v, sizeof v);
    return (double)v;
}

/* Element i as int64 (for integer dtypes only: I64 or I32). */
static inline int64_t lanes__load_int(const unsigned char *base, lanes_dtype_t dt, size_t i)
{
    if (dt == LANES_DTYPE_I64) {
        int64_t v;
        memcpy(&v, base + i * sizeof v, sizeof v);
        return v;
    }
    int32_t v;
    memcpy(&v, base + i * sizeof v, sizeof v);
    return v;
}

/* Converts n elements of dtype 'dt' starting at 'src' into dst[0..n). dt must be valid. */
static inline void lanes__convert_to_f64(double *dst, const void *src, lanes_dtype_t dt, size_t n)
{
    const unsigned char *p = (const unsigned char *)src;
    switch (dt) {
    case LANES_DTYPE_F64:
        memcpy(dst, p, n * sizeof *dst);
        break;
    case LANES_DTYPE_F32:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            dst[i] = lanes__load_f32(p, i);
        break;
    case LANES_DTYPE_I64:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            dst[i] = lanes__load_i64(p, i);
        break;
    case LANES_DTYPE_I32:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            dst[i] = lanes__load_i32(p, i);
        break;
    default:
        break;
    }
}

/* Stores src[0..n) as dtype 'dt' (F64 or F32) at 'dst' (any alignment), rounding once. */
static inline void lanes__store_from_f64(void *dst, const double *src, lanes_dtype_t dt, size_t n)
{
    unsigned char *p = (unsigned char *)dst;
    if (dt == LANES_DTYPE_F64) {
        memcpy(p, src, n * sizeof *src);
    } else if (dt == LANES_DTYPE_F32) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float v = (float)src[i];
            memcpy(p + i * sizeof v, &v, sizeof v);
        }
    }
}

#endif /* LANES_CPU_CONVERT_H */
