/* lanes byte counts: the one parser of sizes such as "1048576", "64KiB", "1M" or "2G".
 *
 * Design: part of the base library (lanes_base, kernels/base/). lanesd's configuration (its *_bytes
 * keys, from a file, the environment or flags) and the lanes CLI (--chunk-bytes) read sizes with this
 * one function; each checks the range and words its own error message, as each did before they
 * shared the parser.
 */
#ifndef LANES_BYTES_H
#define LANES_BYTES_H

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a byte count: a number in strtod()'s syntax ("1048576", "1.5", "1e6", "0x400", "-5"),
 * optional white space, then an optional unit, case ignored: K, M or G (binary multiples: 1024,
 * 1024^2, 1024^3), then an optional "i", then an optional "B" ("64KiB", "1M", "2g", "4096B", "1kb",
 * "1KiB"). The value must be finite and a whole number of bytes once multiplied ("1.5K" is 1536).
 * Sets *out and returns 0, or returns LANES_EINVAL (s NULL or empty, no number, an unknown unit,
 * text after the unit, a fraction of a byte). The range is the caller's to check: *out may be
 * negative or as large as a double goes. Thread-safe. */
int lanes_bytes_parse(const char *s, double *out);

#ifdef __cplusplus
}
#endif

#endif /* LANES_BYTES_H */
