/* Logging for lanesd (see log.h): "2026-11-21T10:35:00.123Z INFO  [pid] message". */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int lanes_log_current_level = LANES_LOG_INFO;

static const char *const g_level_names[] = {"error", "warn", "info", "debug"};

void lanes_log_set_level(lanes_log_level_t level) { lanes_log_current_level = (int)level; }

int lanes_log_parse_level(const char *s, lanes_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, g_level_names[i]) == 0) {
            *out = (lanes_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

const char *lanes_log_level_name(lanes_log_level_t level)
{
    return (level >= 0 && level <= LANES_LOG_DEBUG) ? g_level_names[level] : "?";
}

void lanes_log_write(lanes_log_level_t level, int errnum, const char *fmt, ...)
{
    static const char *const tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%ld] ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                     tags[level >= 0 && level <= LANES_LOG_DEBUG ? level : 0], (long)getpid());
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 2)
        n = (int)sizeof line - 2;
    if (errnum) {
        char buf[256];
        const char *msg = buf;
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
        msg = strerror_r(errnum, buf, sizeof buf);
#else
        if (strerror_r(errnum, buf, sizeof buf) != 0)
            snprintf(buf, sizeof buf, "error %d", errnum);
#endif
        int m = snprintf(line + n, sizeof line - (size_t)n, ": %s", msg);
        if (m > 0)
            n = (size_t)(n + m) >= sizeof line - 2 ? (int)sizeof line - 2 : n + m;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
