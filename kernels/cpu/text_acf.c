/* text_acf.c: word autocorrelation of the most frequent words, exact and as the course computes it.
 *
 * Design: two passes over the same text (the daemon re-reads a document it holds). Pass 1 tokenizes
 * and counts every word in a word table (text_count.c); next_pass() sorts it and keeps the top
 * nwords words (word count order: count descending, ties by first occurrence) in a second small table
 * whose index is the rank. Pass 2 tokenizes again and appends each top word's token index to its
 * positions list, so memory is the vocabulary plus the top words' occurrences, never the text (keeping
 * every word's positions would cost 8 bytes a token; the top words are all the ACF needs).
 *
 * For a word with sorted positions p, pairs[t] = #{a : p[a] + t is also a position}; we walk each
 * p[a] forward while p[b] - p[a] < T, so the work is occurrences x min(T, occurrences in a window).
 * Course mode skips p[a] == 0 (the course's loop "for i in range(1, nwords_total - t)"); the
 * denominator is the word's occurrences in both modes. Each word's acf[t] is pairs[t] / occurrences
 * (integers, one division: what numpy gets from its float accumulation of 0/1 products, which is exact
 * below 2^53). The average is numpy's np.average(acf, axis=0) over the C-ordered (nwords, T) array:
 * a sum over the words in rank order, one row after another (0.0 + row 0 + row 1 ...), divided by the
 * number of words. This order reproduces the course's pinned CSV digits for pg99 (tests/unit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/text_internal.h"

enum { ACF_PASS1 = 1, ACF_PASS2 = 2, ACF_DONE = 3, ACF_FAILED = -1 };

struct lanes_word_acf {
    lanes_word_acf_mode_t mode;
    size_t nwords, timesteps, min_length;
    int state;
    lanes_text__tokenizer_t tk;
    lanes_text__table_t counts;  /* pass 1; sorted by next_pass() */
    uint64_t ntok1, ntok2;       /* tokens of each pass (before the min_length filter) */
    lanes_text__table_t top;     /* the top words, index = rank */
    size_t k;                    /* number of top words */
    uint64_t **pos;              /* pos[r]: token indices of word r, ascending */
    size_t *npos;
    double *acf;
};

static int acf_word_pass1(void *ctx, const char *word, size_t len, size_t ncp)
{
    lanes_word_acf_t *a = ctx;
    a->ntok1++;
    if (ncp < a->min_length)
        return 0;
    return lanes_text__table_add(&a->counts, word, len);
}

static int acf_word_pass2(void *ctx, const char *word, size_t len, size_t ncp)
{
    (void)ncp;
    lanes_word_acf_t *a = ctx;
    uint64_t i = a->ntok2++;
    long r = lanes_text__table_find(&a->top, word, len);
    if (r < 0)
        return 0;
    /* More occurrences than pass 1 counted: the texts differ (caught in finish); do not overflow. */
    if (a->npos[r] < a->counts.entries[r].count)
        a->pos[r][a->npos[r]] = i;
    a->npos[r]++;
    return 0;
}

lanes_word_acf_t *lanes_word_acf_new(lanes_word_acf_mode_t mode, size_t nwords, size_t timesteps,
                                     size_t min_length, lanes_error_t *err)
{
    if (mode != LANES_WORD_ACF_EXACT && mode != LANES_WORD_ACF_COURSE) {
        lanes_error_set(err, LANES_EINVAL, "word ACF: unknown mode %d", (int)mode);
        return NULL;
    }
    if (nwords == 0 || timesteps == 0) {
        lanes_error_set(err, LANES_EINVAL, "word ACF: %s must be at least 1",
                        nwords == 0 ? "the number of words" : "the number of lags");
        return NULL;
    }
    lanes_word_acf_t *a = calloc(1, sizeof *a);
    if (!a) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory for a word ACF");
        return NULL;
    }
    a->mode = mode;
    a->nwords = nwords;
    a->timesteps = timesteps;
    a->min_length = min_length;
    a->state = ACF_PASS1;
    lanes_text__tokenizer_init(&a->tk, acf_word_pass1, a);
    lanes_text__table_init(&a->counts);
    lanes_text__table_init(&a->top);
    return a;
}

static int acf_fail(lanes_word_acf_t *a, int rc)
{
    a->state = ACF_FAILED;
    return rc;
}

int lanes_word_acf_feed(lanes_word_acf_t *a, const void *data, size_t len, lanes_error_t *err)
{
    if (!a || (!data && len > 0))
        return lanes_error_set(err, LANES_EINVAL, "word ACF: NULL argument");
    if (a->state != ACF_PASS1 && a->state != ACF_PASS2)
        return lanes_error_set(err, LANES_EINVAL, "word ACF: feed after %s",
                               a->state == ACF_DONE ? "finish" : "an error");
    int rc = lanes_text__tokenizer_feed(&a->tk, data, len, err);
    return rc < 0 ? acf_fail(a, rc) : 0;
}

int lanes_word_acf_next_pass(lanes_word_acf_t *a, lanes_error_t *err)
{
    if (!a)
        return lanes_error_set(err, LANES_EINVAL, "word ACF: NULL argument");
    if (a->state != ACF_PASS1)
        return lanes_error_set(err, LANES_EINVAL, "word ACF: next_pass outside pass 1");
    int rc = lanes_text__tokenizer_finish(&a->tk, err);
    if (rc < 0)
        return acf_fail(a, rc);
    if (lanes_text__table_sort(&a->counts) < 0)
        return acf_fail(a, lanes_error_set(err, LANES_ENOMEM, "out of memory sorting words"));
    if (a->counts.n == 0)
        return acf_fail(a, lanes_error_set(err, LANES_EEMPTY, "word ACF: the text has no words"));
    a->k = a->counts.n < a->nwords ? a->counts.n : a->nwords;
    a->pos = calloc(a->k, sizeof *a->pos);
    a->npos = calloc(a->k, sizeof *a->npos);
    if (!a->pos || !a->npos)
        return acf_fail(a, lanes_error_set(err, LANES_ENOMEM, "out of memory for positions"));
    for (size_t r = 0; r < a->k; r++) {
        const lanes_word_entry_t *e = &a->counts.entries[r];
        a->pos[r] = malloc(e->count * sizeof **a->pos);
        if (!a->pos[r] || lanes_text__table_add(&a->top, e->word, e->len) < 0)
            return acf_fail(a, lanes_error_set(err, LANES_ENOMEM, "out of memory for positions"));
    }
    lanes_text__tokenizer_reset(&a->tk);
    a->tk.fn = acf_word_pass2;
    a->state = ACF_PASS2;
    return 0;
}

int lanes_word_acf_finish(lanes_word_acf_t *a, const double **acf, size_t *n, lanes_error_t *err)
{
    if (!a)
        return lanes_error_set(err, LANES_EINVAL, "word ACF: NULL argument");
    if (a->state != ACF_PASS2)
        return lanes_error_set(err, LANES_EINVAL, "word ACF: finish %s",
                               a->state == ACF_PASS1 ? "before next_pass" : "called twice or after an error");
    int rc = lanes_text__tokenizer_finish(&a->tk, err);
    if (rc < 0)
        return acf_fail(a, rc);
    int same = a->ntok2 == a->ntok1;
    for (size_t r = 0; r < a->k && same; r++)
        same = a->npos[r] == a->counts.entries[r].count;
    if (!same)
        return acf_fail(a, lanes_error_set(err, LANES_EINVAL,
                                           "word ACF: the second pass is not the same text "
                                           "(%llu words, then %llu)",
                                           (unsigned long long)a->ntok1,
                                           (unsigned long long)a->ntok2));
    size_t T = a->timesteps;
    uint64_t *pairs = malloc(T * sizeof *pairs);
    a->acf = calloc(T, sizeof *a->acf);
    if (!pairs || !a->acf) {
        free(pairs);
        return acf_fail(a, lanes_error_set(err, LANES_ENOMEM, "out of memory for the ACF"));
    }
    for (size_t r = 0; r < a->k; r++) {
        const uint64_t *p = a->pos[r];
        size_t np = a->npos[r];
        memset(pairs, 0, T * sizeof *pairs);
        for (size_t i = 0; i < np; i++) {
            if (a->mode == LANES_WORD_ACF_COURSE && p[i] == 0)
                continue;
            for (size_t j = i; j < np && p[j] - p[i] < T; j++)
                pairs[p[j] - p[i]]++;
        }
        for (size_t t = 0; t < T; t++)
            a->acf[t] += (double)pairs[t] / (double)np;
    }
    for (size_t t = 0; t < T; t++)
        a->acf[t] /= (double)a->k;
    free(pairs);
    lanes_text__tokenizer_free(&a->tk);
    a->state = ACF_DONE;
    if (acf)
        *acf = a->acf;
    if (n)
        *n = T;
    return 0;
}

const lanes_word_entry_t *lanes_word_acf_words(const lanes_word_acf_t *a, size_t *n)
{
    if (!a || a->state == ACF_PASS1 || a->k == 0) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = a->k;
    return a->counts.entries;
}

const lanes_word_entry_t *lanes_word_acf_table(const lanes_word_acf_t *a, size_t *n)
{
    const int ready = a && a->state != ACF_PASS1 && a->k > 0;
    if (n)
        *n = ready ? a->counts.n : 0;
    return ready ? a->counts.entries : NULL;
}

uint64_t lanes_word_acf_total_words(const lanes_word_acf_t *a)
{
    if (!a || a->state == ACF_PASS1 || a->k == 0)
        return 0;
    uint64_t total = 0;
    for (size_t i = 0; i < a->counts.n; i++)
        total += a->counts.entries[i].count;
    return total;
}

int lanes_word_acf_csv_row(const lanes_word_acf_t *a, size_t t, char *buf, size_t cap)
{
    if (!a || a->state != ACF_DONE || t >= a->timesteps)
        return LANES_EINVAL;
    double label = (double)(a->mode == LANES_WORD_ACF_COURSE ? t + 1 : t);
    return snprintf(buf, cap, "%.18e,%.18e\n", label, a->acf[t]);
}

void lanes_word_acf_free(lanes_word_acf_t *a)
{
    if (!a)
        return;
    lanes_text__tokenizer_free(&a->tk);
    lanes_text__table_free(&a->counts);
    lanes_text__table_free(&a->top);
    if (a->pos)
        for (size_t r = 0; r < a->k; r++)
            free(a->pos[r]);
    free(a->pos);
    free(a->npos);
    free(a->acf);
    free(a);
}
