/* The daemon's clock: monotonic nanoseconds, for deadlines, idle limits, back-off and timings.
 *
 * Design: one function over CLOCK_MONOTONIC, so that every part of the daemon (and its helper
 * processes) reads the same clock, and no file keeps a private copy. clock.c is the only file of
 * service/ that calls clock_gettime(CLOCK_MONOTONIC).
 */
#ifndef LANES_CLOCK_H
#define LANES_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic clock in nanoseconds (an arbitrary origin: compare readings of one boot). Thread-safe,
 * async-signal-safe. */
uint64_t lanes_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CLOCK_H */
