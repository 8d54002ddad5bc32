/* Error codes and messages of lanes (base library): one X-macro table (LANES_ERRNO_MAP in lanes/error.h)
 * gives the codes and their static texts; lanes_error_t carries a formatted message for a person. */
#include <stdarg.h>
#include <stdio.h>

#include "lanes/error.h"

const char *lanes_strerror(int err)
{
    switch (err) {
    case LANES_OK:
        return "ok";
#define LANES_XX_CASE(name, code, text) \
    case LANES_##name:                  \
        return text;
        LANES_ERRNO_MAP(LANES_XX_CASE)
#undef LANES_XX_CASE
    default:
        return "unknown error";
    }
}

int lanes_error_set(lanes_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        err->column = 0;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
