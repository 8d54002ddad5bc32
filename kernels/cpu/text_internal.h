/* Internal interface of the text kernels: the streaming tokenizer (text_tokenize.c) and the word
 * table (text_count.c), shared by the word count and the word ACF. Not installed. */
#ifndef LANES_TEXT_INTERNAL_H
#define LANES_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/text.h"

/* Called once per word: lower-cased UTF-8 (not NUL-terminated), its length in bytes and in code
 * points. Returns 0 or a negative LANES_E* code (which stops the feed and is returned by it). */
typedef int (*lanes_text__word_fn)(void *ctx, const char *word, size_t len, size_t ncp);

typedef struct lanes_text__tokenizer {
    unsigned char pend[4];  /* a UTF-8 sequence cut by the end of the last chunk */
    size_t npend;
    uint64_t offset;        /* bytes of the text before the next byte fed */
    uint32_t *cps;          /* the current word's code points, as in the text */
    size_t ncps, cap_cps;
    char *out;              /* the lower-cased word being emitted */
    size_t cap_out;
    lanes_text__word_fn fn;
    void *ctx;
} lanes_text__tokenizer_t;

void lanes_text__tokenizer_init(lanes_text__tokenizer_t *tk, lanes_text__word_fn fn, void *ctx);
/* Resets to the start of a text (keeps the buffers and the callback). */
void lanes_text__tokenizer_reset(lanes_text__tokenizer_t *tk);
int lanes_text__tokenizer_feed(lanes_text__tokenizer_t *tk, const void *data, size_t len,
                               lanes_error_t *err);
/* Ends the text: emits the last word; a cut UTF-8 sequence is an error. */
int lanes_text__tokenizer_finish(lanes_text__tokenizer_t *tk, lanes_error_t *err);
void lanes_text__tokenizer_free(lanes_text__tokenizer_t *tk);

/* Python's str.isspace() for one code point. */
int lanes_text__is_space(uint32_t cp);

/* ---- word table: insertion-ordered hash map from word to count ---- */

typedef struct lanes_text__table {
    lanes_word_entry_t *entries;  /* insertion order; word pointers fixed up by _sorted() */
    size_t *offs;                 /* offset of each word in pool */
    size_t n, cap;
    uint64_t *slots;              /* open addressing: hash tag << 32 | entry index + 1; 0 = empty */
    uint64_t *hashes;             /* per entry */
    size_t nslots;
    char *pool;
    size_t pool_len, pool_cap;
} lanes_text__table_t;

void lanes_text__table_init(lanes_text__table_t *t);
void lanes_text__table_free(lanes_text__table_t *t);
/* Adds one occurrence of word; returns 0 or LANES_ENOMEM. */
int lanes_text__table_add(lanes_text__table_t *t, const char *word, size_t len);
/* Index of word in insertion order, or -1. */
long lanes_text__table_find(const lanes_text__table_t *t, const char *word, size_t len);
/* Sorts the entries by count descending, ties by first occurrence, and fixes the word pointers.
 * Afterwards the table accepts no more words. Returns 0 or LANES_ENOMEM. */
int lanes_text__table_sort(lanes_text__table_t *t);

#endif /* LANES_TEXT_INTERNAL_H */
