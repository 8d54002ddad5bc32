// Test-only element loads for the unit tests' references: one element of a little-endian array as
// double or int64, via memcpy (any alignment). Written independently of kernels/cpu/convert.h, so
// the references do not share code with what they check.
#ifndef LANES_TEST_DTYPE_REF_H
#define LANES_TEST_DTYPE_REF_H

#include <cstdint>
#include <cstring>

#include "lanes/kernels.h"

// Element at p of an integer dtype (I64 or I32) as int64.
inline int64_t ref_load_int(const unsigned char *p, lanes_dtype_t dtype)
{
    if (dtype == LANES_DTYPE_I64) {
        int64_t v;
        std::memcpy(&v, p, 8);
        return v;
    }
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Element at p of any dtype as double (int64 rounded to the nearest double).
inline double ref_load_double(const unsigned char *p, lanes_dtype_t dtype)
{
    if (dtype == LANES_DTYPE_F64) {
        double v;
        std::memcpy(&v, p, 8);
        return v;
    }
    if (dtype == LANES_DTYPE_F32) {
        float v;
        std::memcpy(&v, p, 4);
        return v;
    }
    return static_cast<double>(ref_load_int(p, dtype));
}

#endif  // LANES_TEST_DTYPE_REF_H
