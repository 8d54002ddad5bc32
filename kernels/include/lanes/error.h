/* lanes errors: one space of codes for the compute library and the daemon.
 *
 * Design: libuv's shape. Functions return 0 or a negative LANES_E* code from one X-macro table
 * (LANES_ERRNO_MAP), whose static texts lanes_strerror() gives; functions that can fail for a reason
 * worth telling a person also fill a lanes_error_t with a message that names the problem ("function
 * 'sine' is unknown"). The code says what kind of failure it is (a bad argument, a limit, a device
 * that went away); only the daemon's RPC edge turns a code into a gRPC status, with one table.
 */
#ifndef LANES_ERROR_H
#define LANES_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* The first six are the compute library's; the rest are the daemon's own kinds of failure, so that
 * every status lanesd sends has a code (service/edge/status.c maps each to its gRPC status). */
#define LANES_ERRNO_MAP(XX)                                   \
    XX(EINVAL, -1, "invalid argument")                        \
    XX(ENOMEM, -2, "out of memory")                           \
    XX(ENODEV, -3, "backend not available")                   \
    XX(ENOTSUP, -4, "operation not supported by the backend") \
    XX(EEMPTY, -5, "empty input")                             \
    XX(EDEVICE, -6, "device error")                           \
    XX(ELIMIT, -7, "a service limit was reached")             \
    XX(ECANCELED, -8, "cancelled")                            \
    XX(ETIMEDOUT, -9, "timed out")                            \
    XX(ENOTFOUND, -10, "not found")                           \
    XX(EUNAVAIL, -11, "service unavailable")                  \
    XX(EPRECOND, -12, "precondition not met")                 \
    XX(ENOSYS, -13, "not implemented")                        \
    XX(EINTERNAL, -14, "internal error")                      \
    XX(EUNKNOWN, -15, "unknown error")

enum {
    LANES_OK = 0,
#define LANES_XX_ENUM(name, code, text) LANES_##name = (code),
    LANES_ERRNO_MAP(LANES_XX_ENUM)
#undef LANES_XX_ENUM
};

/* Static text for a LANES_E* code ("unknown error" for others). Thread-safe. */
const char *lanes_strerror(int err);

/* A failure's code and a message for a person. Filled by the functions that take one. */
typedef struct lanes_error {
    int code;        /* LANES_E*, 0 if no error */
    char msg[512];   /* names the problem; "" if no error (expression errors add a caret line) */
    int column;      /* 1-based column of the problem in an expression's source; 0 if none */
} lanes_error_t;

/* Sets err (if not NULL) to code and a printf-formatted message; returns code. Thread-safe. */
int lanes_error_set(lanes_error_t *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* LANES_ERROR_H */
