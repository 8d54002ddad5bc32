/* lanes text formats: Python's repr() of a float, and the word count's .dat line.
 *
 * Design: part of the base library (lanes_base, kernels/base/), so the CLI writes the course's files
 * with the same code as the daemon's kernels use for their messages, without linking the kernels.
 * A word table entry (lanes_word_entry_t) is the unit both sides pass around; lanes/text.h includes
 * this header. Every function here is thread-safe and allocates nothing.
 */
#ifndef LANES_TEXT_FORMAT_H
#define LANES_TEXT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lanes_word_entry {
    const char *word;   /* lower-cased UTF-8, NUL-terminated; owned by whoever made the entry */
    size_t len;         /* bytes, without the NUL */
    uint64_t count;
} lanes_word_entry_t;

/* Writes Python's repr() of a float: the shortest digits that read back to v; scientific notation
 * when the decimal exponent is < -4 or >= 16 ("1e-05", "1.5e+16"), otherwise positional with a '.'
 * ("50.0"); "nan", "inf", "-inf", "-0.0". Returns the length (snprintf-style: the output is cut and
 * NUL-terminated if cap is too small; a 32-byte buffer always suffices). Thread-safe. */
int lanes_py_float_repr(double v, char *buf, size_t cap);

/* Writes the course's .dat line "word count pct\n", pct = count / total * 100 as Python's repr.
 * Returns the length snprintf-style (the line is cut if cap is too small), or LANES_EINVAL for a
 * NULL entry. Thread-safe. */
int lanes_word_dat_line(const lanes_word_entry_t *e, uint64_t total, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* LANES_TEXT_FORMAT_H */
