/* Logging for lanesd: one line per event with time, level and pid, to stderr.
 *
 * Design: lanes_log() is a macro that checks the level before formatting, so a debug line costs one
 * comparison when debug is off. errno-style codes are passed separately and printed with strerror(),
 * so a failed call is logged as "bind() failed: Address already in use". Thread-safe: each line is
 * formatted into a buffer and written with one write(2).
 */
#ifndef LANES_LOG_H
#define LANES_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lanes_log_level {
    LANES_LOG_ERR = 0,
    LANES_LOG_WARN = 1,
    LANES_LOG_INFO = 2,
    LANES_LOG_DEBUG = 3,
} lanes_log_level_t;

extern int lanes_log_current_level;

/* Sets the level; lines above it are skipped. Call before threads start (a plain int store). */
void lanes_log_set_level(lanes_log_level_t level);

/* Parses "error", "warn", "info" or "debug". Returns 0 or -1. */
int lanes_log_parse_level(const char *s, lanes_log_level_t *out);
const char *lanes_log_level_name(lanes_log_level_t level);

/* Writes one line. errnum != 0 appends ": strerror(errnum)". Thread-safe. Use the macro. */
void lanes_log_write(lanes_log_level_t level, int errnum, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define lanes_log(level, errnum, ...)                         \
    do {                                                      \
        if ((int)(level) <= lanes_log_current_level)          \
            lanes_log_write((level), (errnum), __VA_ARGS__);  \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* LANES_LOG_H */
