/* lanes text kernels: word count and word autocorrelation (the word-count course's jobs).
 *
 * Tokenizer (reproduces the course's Python): each of the 26 characters . , ; : ? $ @ ^ < > # % ` ! *
 * - = ( ) [ ] { } / " ' becomes a space; the text is split on whitespace as Python's str.split()
 * (U+0009..U+000D, U+001C..U+001F, U+0020, and every code point of bidirectional class WS, B or S or
 * of category Zs); each word is lower-cased as Python's str.lower() (full mapping: U+0130 becomes
 * "i" U+0307, and a capital sigma at the end of a cased word becomes final sigma U+03C2). Every other
 * character stays inside words (a BOM U+FEFF too: the first word of most books is "\ufeffthe").
 *
 * Input: UTF-8 bytes fed in chunks cut anywhere (a code point or a word may straddle chunks); the
 * result never depends on the chunking. Invalid UTF-8 (what Python's strict decoder rejects: stray
 * continuation bytes, overlong forms, surrogates, code points above U+10FFFF, a sequence cut by the
 * end of the text) fails with LANES_EINVAL and "invalid UTF-8 at byte N" (N: offset of the first byte
 * of the bad sequence from the start of the text). After an error the object only accepts _free().
 *
 * Ownership: every object is created by _new() and owned by the caller, who frees it with _free().
 * Data passed to _feed() is borrowed for the call only. Results (entries, words, ACF values) are owned
 * by the object and valid until it is freed.
 *
 * Threads: all functions run on the calling thread. Distinct objects may be used concurrently; one
 * object must not be used by two threads at once. The row writers are thread-safe.
 *
 * Formats: Python's float repr and the word count's .dat line (lanes_py_float_repr,
 * lanes_word_dat_line) are the base library's, in lanes/text_format.h, which this header includes.
 */
#ifndef LANES_TEXT_H
#define LANES_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/kernels.h"
#include "lanes/text_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- word count ---- */

/* lanes_word_entry_t (a word, its length and count; here owned by the counter): lanes/text_format.h. */

typedef struct lanes_word_counter lanes_word_counter_t;

/* A new counter. Words shorter than min_length code points (after lower-casing, as the course's
 * len(word)) are dropped before counting; 0 and 1 keep every word. Memory is proportional to the
 * vocabulary, never to the text. Returns NULL with err set (LANES_ENOMEM). */
lanes_word_counter_t *lanes_word_counter_new(size_t min_length, lanes_error_t *err);

/* Feeds the next len bytes of the text. Returns 0, or LANES_EINVAL (invalid UTF-8, a feed after
 * finish or after an error), or LANES_ENOMEM, with err set. */
int lanes_word_counter_feed(lanes_word_counter_t *wc, const void *data, size_t len,
                            lanes_error_t *err);

/* Ends the text and sorts: *entries gets n entries by count descending, ties in order of first
 * occurrence (Python's stable sort of the course); *total the number of words counted (after the
 * min_length filter). entries, n and total may each be NULL. May be called once; the entries are
 * owned by the counter. Returns 0 or a negative code with err set. */
int lanes_word_counter_finish(lanes_word_counter_t *wc, const lanes_word_entry_t **entries,
                              size_t *n, uint64_t *total, lanes_error_t *err);

/* Frees the counter and its entries; NULL is allowed. */
void lanes_word_counter_free(lanes_word_counter_t *wc);

/* ---- word autocorrelation ---- */

typedef enum lanes_word_acf_mode {
    /* acf_w[t] = #{i : word w at i and at i+t} / occurrences(w), t = 0 .. T-1; rows labelled t. */
    LANES_WORD_ACF_EXACT = 0,
    /* The course script bit for bit: pairs start at position 1 (position 0 still counts in the
     * denominator); the CSV labels the lags 1 .. T. */
    LANES_WORD_ACF_COURSE = 1,
} lanes_word_acf_mode_t;

typedef struct lanes_word_acf lanes_word_acf_t;

/* A new word ACF of the top nwords words (by the word count order, min_length as for the counter)
 * over lags 0 .. timesteps-1 (course defaults: 16 words, 100 lags).
 *
 * The text is fed TWICE (the daemon holds the document in a file or shared memory and re-reads it):
 * pass 1 counts words (lanes_word_acf_feed), lanes_word_acf_next_pass() picks the top words, pass 2
 * (lanes_word_acf_feed again, same bytes, any chunking) records the positions of the top words only,
 * then lanes_word_acf_finish(). Memory: the vocabulary plus the positions of the top words, never the
 * text (keeping every word's position would cost 8 bytes per token). Work after the passes is
 * proportional to occurrences x timesteps at most. Pair counts are integers and each word's value is
 * one division, so results are exact and do not depend on chunking. The average is a plain double sum
 * in rank order divided by the number of words, as numpy's np.average(acf, axis=0) over a C-ordered
 * (nwords, T) array. Returns NULL with err set (LANES_EINVAL for nwords or timesteps 0). */
lanes_word_acf_t *lanes_word_acf_new(lanes_word_acf_mode_t mode, size_t nwords, size_t timesteps,
                                     size_t min_length, lanes_error_t *err);

/* Feeds the next bytes of the text in the current pass. Returns 0 or a negative code with err set. */
int lanes_word_acf_feed(lanes_word_acf_t *a, const void *data, size_t len, lanes_error_t *err);

/* Ends pass 1 and starts pass 2. Fails with LANES_EEMPTY if the text has no words. */
int lanes_word_acf_next_pass(lanes_word_acf_t *a, lanes_error_t *err);

/* Ends pass 2 (which must have produced the same number of words as pass 1, else LANES_EINVAL) and
 * computes the average: *acf gets timesteps values owned by the object. acf and n may be NULL. */
int lanes_word_acf_finish(lanes_word_acf_t *a, const double **acf, size_t *n, lanes_error_t *err);

/* The top words chosen after pass 1 (valid until the object is freed), or NULL before. */
const lanes_word_entry_t *lanes_word_acf_words(const lanes_word_acf_t *a, size_t *n);

/* The whole word table of pass 1 after lanes_word_acf_next_pass() succeeded: every word the
 * min_length filter kept, in the word counter's order (count descending, ties by first occurrence),
 * the same entries lanes_word_counter_finish() gives for the same text; NULL (and *n = 0) before.
 * Owned by the object, valid until it is freed. n may be NULL. */
const lanes_word_entry_t *lanes_word_acf_table(const lanes_word_acf_t *a, size_t *n);

/* The number of words pass 1 counted (after the min_length filter: the word counter's total for the
 * same text), or 0 before lanes_word_acf_next_pass() succeeded. */
uint64_t lanes_word_acf_total_words(const lanes_word_acf_t *a);

/* Writes CSV row t (0-based) of a finished ACF, "%.18e,%.18e\n" of (label, value); the label is t
 * in exact mode and t + 1 in course mode. Returns the length snprintf-style, or LANES_EINVAL if the
 * object is not finished or t is out of range. */
int lanes_word_acf_csv_row(const lanes_word_acf_t *a, size_t t, char *buf, size_t cap);

void lanes_word_acf_free(lanes_word_acf_t *a);

#ifdef __cplusplus
}
#endif

#endif /* LANES_TEXT_H */
