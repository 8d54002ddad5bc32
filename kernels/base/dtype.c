/* Element types (base library): sizes and names. Numbers match lanes.v1.DType so the daemon converts by
 * cast. */
#include "lanes/dtype.h"

size_t lanes_dtype_size(lanes_dtype_t dt)
{
    switch (dt) {
    case LANES_DTYPE_F64:
    case LANES_DTYPE_I64:
        return 8;
    case LANES_DTYPE_F32:
    case LANES_DTYPE_I32:
        return 4;
    default:
        return 0;
    }
}

const char *lanes_dtype_name(lanes_dtype_t dt)
{
    switch (dt) {
    case LANES_DTYPE_F64:
        return "float64";
    case LANES_DTYPE_F32:
        return "float32";
    case LANES_DTYPE_I64:
        return "int64";
    case LANES_DTYPE_I32:
        return "int32";
    default:
        return "invalid";
    }
}
