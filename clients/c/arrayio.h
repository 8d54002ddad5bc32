/* arrayio: reading and writing flat arrays as .npy, raw binary or text, for the C clients.
 *
 * Design: an array here is one run of little-endian elements of a lanes dtype (float64, float32,
 * int64, int32) in C order, the same layout the wire protocol carries, held in one malloc'd buffer,
 * with its shape beside it. Readers take a FILE * (so stdin works) and fill an arrayio_array_t;
 * writers take an array and a FILE *.
 *   - npy: format 1.0, 2.0 and 3.0 on read, any shape (kept in the array), C or Fortran order (a
 *     Fortran-ordered array is reordered to C order, as numpy's reshape(-1) reads it). Every dtype the
 *     Python client sends is accepted and converted as its wire_dtype() does: float64, float32, int64
 *     and int32 as they are; float16 to float32; float128 (x86 long double) to float64; bool, int8,
 *     int16, uint8 and uint16 to int32; uint32 to int64; uint64 to float64 (rounded). Either byte
 *     order ('<', '>', '=' or '|'). Complex, object, string, datetime and structured dtypes are
 *     refused with a message naming the dtype. Written with the array's shape, version 1.0, header
 *     padded to 64 bytes as numpy does.
 *   - raw: densely packed elements with no header; the dtype comes from the caller; shape (n,).
 *   - text: numbers separated by whitespace, newlines or commas; '#' starts a comment to the end of the
 *     line; shape (n,). Written one per line, flat in C order: %.17g for float64, %.9g for float32
 *     (both round-trip exactly), integers as integers.
 * Broadcasting (arrayio_broadcast_shape, arrayio_broadcast_to) follows numpy's rules, so the CLI's
 * map gives the shape the Python client's map gives.
 * Errors: functions return 0 or a negative LANES_E* code and fill a lanes_error_t whose message names
 * the problem ("'x.npy': big-endian data ('>f8') is not supported ..."); I/O errors give LANES_EINVAL
 * with strerror() in the message. The host must be little-endian (checked at compile time).
 * Thread-safety: no global state; distinct arrays and files may be used from distinct threads.
 */
#ifndef LANES_ARRAYIO_H
#define LANES_ARRAYIO_H

#include <stddef.h>
#include <stdio.h>

#include "lanes/dtype.h"
#include "lanes/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum arrayio_format {
    ARRAYIO_FORMAT_NPY,
    ARRAYIO_FORMAT_RAW,
    ARRAYIO_FORMAT_TEXT,
} arrayio_format_t;

/* The most dimensions an array may have (numpy's NPY_MAXDIMS). */
#define ARRAYIO_MAX_DIMS 64

/* An array. data holds n * lanes_dtype_size(dtype) bytes in C order, owned by the array (malloc'd;
 * NULL when n == 0) and freed with arrayio_array_free(). n is the product of shape[0 .. ndim-1]
 * (1 for ndim 0, a scalar). file_dtype is the .npy file's own descr ("|u1", ">f8" ...) before any
 * conversion, "" for raw and text. */
typedef struct arrayio_array {
    lanes_dtype_t dtype;
    size_t n;
    void *data;
    size_t ndim;
    size_t shape[ARRAYIO_MAX_DIMS];
    char file_dtype[16];
} arrayio_array_t;

/* Frees a's buffer and resets it to empty; NULL is allowed. */
void arrayio_array_free(arrayio_array_t *a);

/* Parses "npy", "raw" or "text". Returns 0 or LANES_EINVAL. */
int arrayio_format_parse(const char *name, arrayio_format_t *fmt);
/* "npy", "raw" or "text". Static string. */
const char *arrayio_format_name(arrayio_format_t fmt);
/* The format a file name implies: .npy → npy, .txt/.csv → text, "-" → text, anything else → raw.
 * Case-insensitive. */
arrayio_format_t arrayio_format_from_path(const char *path);

/* Parses "float64", "float32", "int64", "int32" (also "f8", "f4", "i8", "i4", "double", "float").
 * Returns the dtype or LANES_DTYPE_INVALID. */
lanes_dtype_t arrayio_dtype_parse(const char *name);

/* Reads a whole array from f in format fmt into *out (which the caller then owns). dtype is required
 * for raw and text (for text, LANES_DTYPE_INVALID means float64) and ignored for npy, whose header
 * gives it. 'name' only labels messages (a path, or "<stdin>"). On failure *out is left empty and err
 * names the problem. */
int arrayio_read(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype,
                 arrayio_array_t *out, lanes_error_t *err);

/* Opens path ("-" is stdin) and reads it with arrayio_read(). If the file starts with the .npy magic
 * it is read as npy whatever fmt says. */
int arrayio_read_path(const char *path, arrayio_format_t fmt, lanes_dtype_t dtype, arrayio_array_t *out,
                      lanes_error_t *err);

/* Parses a complete .npy image held in memory (buf, len). Same rules as arrayio_read(). */
int arrayio_read_npy_buffer(const void *buf, size_t len, const char *name, arrayio_array_t *out,
                            lanes_error_t *err);

/* Writes n elements of dtype at data to f in format fmt (npy: a 1-D array). The data is borrowed.
 * Returns 0, or LANES_EINVAL with err set when writing fails. Does not close f; flushes it. */
int arrayio_write(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                  size_t n, lanes_error_t *err);

/* As arrayio_write(), for an array of shape[0 .. ndim-1] (ndim <= ARRAYIO_MAX_DIMS) in C order: npy
 * records the shape; raw and text write the elements flat. */
int arrayio_write_nd(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                     const size_t *shape, size_t ndim, lanes_error_t *err);

/* Creates (truncates) path ("-" is stdout) and writes the array with arrayio_write(). */
int arrayio_write_path(const char *path, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                       size_t n, lanes_error_t *err);

/* Creates (truncates) path ("-" is stdout) and writes the array with arrayio_write_nd(). */
int arrayio_write_path_nd(const char *path, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                          const size_t *shape, size_t ndim, lanes_error_t *err);

/* Builds the .npy header (magic, version, length, dict, padding and newline) for a 1-D array of n
 * elements into buf (cap bytes). version is 1 or 2 (0: 1 unless the header needs 2). Returns the
 * header length, or 0 if cap is too small or the arguments are bad. */
size_t arrayio_npy_header(char *buf, size_t cap, lanes_dtype_t dtype, size_t n, int version);

/* As arrayio_npy_header(), for shape[0 .. ndim-1] (ndim 0: a scalar). ARRAYIO_NPY_HEADER_MAX bytes
 * always suffice. */
#define ARRAYIO_NPY_HEADER_MAX 2048
size_t arrayio_npy_header_nd(char *buf, size_t cap, lanes_dtype_t dtype, const size_t *shape, size_t ndim,
                             int version);

/* Writes a shape as Python prints a tuple ("(3, 4)", "(12,)", "()") into buf (cap bytes, truncated
 * if too small). Returns buf. */
char *arrayio_shape_str(const size_t *shape, size_t ndim, char *buf, size_t cap);

/* The shape k arrays broadcast to under numpy's rules (shapes aligned at their last dimension; in
 * each dimension the extents are equal or 1), into shape (ARRAYIO_MAX_DIMS slots) and *ndim. names[i]
 * labels arrays[i] in messages. Returns 0, or LANES_EINVAL with err naming the two arrays and their
 * shapes when they cannot be broadcast together. */
int arrayio_broadcast_shape(const arrayio_array_t *const *arrays, const char *const *names, size_t k,
                            size_t *shape, size_t *ndim, lanes_error_t *err);

/* Replaces a's elements by their broadcast to shape[0 .. ndim-1] (which arrayio_broadcast_shape()
 * gave for a and others), copying; nothing changes when a already has that shape. Returns 0, or
 * LANES_ENOMEM / LANES_EINVAL with err set (a is then unchanged). */
int arrayio_broadcast_to(arrayio_array_t *a, const size_t *shape, size_t ndim, const char *name,
                         lanes_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* LANES_ARRAYIO_H */
