/* text_count.c: the word table and the streaming word counter.
 *
 * Design: the tokenizer (text_tokenize.c) calls back with each lower-cased word; the table is an
 * open-addressing hash map (a multiply-shift hash, linear probing, load <= 1/2, each slot holding a
 * 32-bit tag of the hash beside the entry's index) from word to an entry in an array kept in
 * insertion order, so the index of an entry is its first occurrence. The words' bytes live in one
 * growing pool (NUL-terminated), referenced by offset until the table is sorted. Sorting (a stable
 * radix sort) is by count descending, then by index: the order of Python's stable
 * sorted(..., reverse=True) over a dict. Memory is the vocabulary, never the text.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/text_internal.h"

/* A word's hash: 8 bytes at a time, each step a multiply and a shift (FNV-1a's byte-at-a-time chain
 * of multiplies was a third of the word ACF's time); the low bits index the slots. */
static uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)len;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        len -= 8;
    }
    if (len) {
        /* The last 1-7 bytes without a byte-wise copy into a word (whose 8-byte reload stalls on store
         * forwarding): 4..7 as two overlapping 4-byte loads (the overlap lands on the same bits), 1..3
         * as bytes 0, len/2 and len-1. Either is one-to-one for a given length, which the seed holds. */
        uint64_t v;
        if (len >= 4) {
            uint32_t lo, hi;
            memcpy(&lo, s, 4);
            memcpy(&hi, s + len - 4, 4);
            v = (uint64_t)lo | (uint64_t)hi << (8 * (len - 4));
        } else {
            const unsigned char *u = (const unsigned char *)s;
            v = (uint64_t)u[0] | (uint64_t)u[len / 2] << 8 | (uint64_t)u[len - 1] << 16;
        }
        h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 29);
}

void lanes_text__table_init(lanes_text__table_t *t)
{
    memset(t, 0, sizeof *t);
}

void lanes_text__table_free(lanes_text__table_t *t)
{
    free(t->entries);
    free(t->offs);
    free(t->slots);
    free(t->hashes);
    free(t->pool);
    memset(t, 0, sizeof *t);
}

/* The slot of a word with hash h: (the hash's high 32 bits << 32) | (entry index + 1); 0 is empty. A
 * probe compares the tag held in the slot before it touches the entry or the pool, so a miss costs one
 * cache line, not three. */
static inline uint64_t text_slot(uint64_t h, size_t i)
{
    return (h & 0xFFFFFFFF00000000ull) | (uint64_t)(i + 1);
}

static int text_table_rehash(lanes_text__table_t *t, size_t nslots)
{
    uint64_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return LANES_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t k = (size_t)t->hashes[i] & (nslots - 1);
        while (slots[k])
            k = (k + 1) & (nslots - 1);
        slots[k] = text_slot(t->hashes[i], i);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

static long text_table_find_h(const lanes_text__table_t *t, const char *word, size_t len, uint64_t h)
{
    if (t->nslots == 0)
        return -1;
    const uint64_t tag = h & 0xFFFFFFFF00000000ull;
    size_t k = (size_t)h & (t->nslots - 1);
    uint64_t s;
    while ((s = t->slots[k]) != 0) {
        if ((s & 0xFFFFFFFF00000000ull) == tag) {
            size_t i = (size_t)(uint32_t)s - 1;
            if (t->entries[i].len == len && memcmp(t->pool + t->offs[i], word, len) == 0)
                return (long)i;
        }
        k = (k + 1) & (t->nslots - 1);
    }
    return -1;
}

long lanes_text__table_find(const lanes_text__table_t *t, const char *word, size_t len)
{
    return text_table_find_h(t, word, len, text_hash(word, len));
}

int lanes_text__table_add(lanes_text__table_t *t, const char *word, size_t len)
{
    const uint64_t h = text_hash(word, len);
    long found = text_table_find_h(t, word, len, h);
    if (found >= 0) {
        t->entries[found].count++;
        return 0;
    }
    if (t->n >= UINT32_MAX - 1)
        return LANES_ENOMEM;
    if (2 * (t->n + 1) > t->nslots) {
        if (text_table_rehash(t, t->nslots ? 2 * t->nslots : 1024) < 0)
            return LANES_ENOMEM;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 512;
        lanes_word_entry_t *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return LANES_ENOMEM;
        t->entries = e;
        size_t *o = realloc(t->offs, cap * sizeof *o);
        if (!o)
            return LANES_ENOMEM;
        t->offs = o;
        uint64_t *hs = realloc(t->hashes, cap * sizeof *hs);
        if (!hs)
            return LANES_ENOMEM;
        t->hashes = hs;
        t->cap = cap;
    }
    if (t->pool_len + len + 1 > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 4096;
        while (cap < t->pool_len + len + 1)
            cap *= 2;
        char *p = realloc(t->pool, cap);
        if (!p)
            return LANES_ENOMEM;
        t->pool = p;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, word, len);
    t->pool[t->pool_len + len] = '\0';
    size_t i = t->n++;
    t->offs[i] = t->pool_len;
    t->pool_len += len + 1;
    t->hashes[i] = h;
    t->entries[i].word = NULL;
    t->entries[i].len = len;
    t->entries[i].count = 1;
    size_t k = (size_t)h & (t->nslots - 1);
    while (t->slots[k])
        k = (k + 1) & (t->nslots - 1);
    t->slots[k] = text_slot(h, i);
    return 0;
}

/* The rank order: count descending, ties by first occurrence (index). Entries start in index order,
 * so a stable sort by count descending gives it: an LSD radix sort, 8 bits a pass, as many passes as
 * the largest count has bytes (one or two for most texts), each pass stable. O(n) where qsort's
 * comparisons were a fifth of a large vocabulary's word count. */
static int text_rank_order(const lanes_word_entry_t *entries, size_t n, uint32_t **out)
{
    uint32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return LANES_ENOMEM;
    }
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++) {
        a[i] = (uint32_t)i;
        if (entries[i].count > max)
            max = entries[i].count;
    }
    for (unsigned shift = 0; shift < 64 && (max >> shift) != 0; shift += 8) {
        size_t start[256] = {0};
        for (size_t i = 0; i < n; i++)
            start[(entries[a[i]].count >> shift) & 0xFF]++;
        /* descending: bucket 255 first */
        size_t at = 0;
        for (int d = 255; d >= 0; d--) {
            size_t c = start[d];
            start[d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            b[start[(entries[a[i]].count >> shift) & 0xFF]++] = a[i];
        uint32_t *tmp = a;
        a = b;
        b = tmp;
    }
    free(b);
    *out = a;
    return 0;
}

int lanes_text__table_sort(lanes_text__table_t *t)
{
    if (t->n == 0)
        return 0;
    uint32_t *order = NULL;
    lanes_word_entry_t *sorted = malloc(t->n * sizeof *sorted);
    if (!sorted || text_rank_order(t->entries, t->n, &order) < 0) {
        free(sorted);
        return LANES_ENOMEM;
    }
    for (size_t r = 0; r < t->n; r++) {
        size_t i = order[r];
        sorted[r] = t->entries[i];
        sorted[r].word = t->pool + t->offs[i];
    }
    free(order);
    free(t->entries);
    t->entries = sorted;
    /* The slots and offsets refer to the insertion order: drop them (no more lookups). */
    free(t->slots);
    free(t->offs);
    free(t->hashes);
    t->slots = NULL;
    t->offs = NULL;
    t->hashes = NULL;
    t->nslots = 0;
    t->cap = t->n;
    return 0;
}

/* ---- the word counter ---- */

struct lanes_word_counter {
    lanes_text__tokenizer_t tk;
    lanes_text__table_t table;
    size_t min_length;
    uint64_t total;
    int state;  /* 0 feeding, 1 finished, -1 failed */
};

static int text_counter_word(void *ctx, const char *word, size_t len, size_t ncp)
{
    lanes_word_counter_t *wc = ctx;
    if (ncp < wc->min_length)
        return 0;
    wc->total++;
    return lanes_text__table_add(&wc->table, word, len);
}

lanes_word_counter_t *lanes_word_counter_new(size_t min_length, lanes_error_t *err)
{
    lanes_word_counter_t *wc = calloc(1, sizeof *wc);
    if (!wc) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory for a word counter");
        return NULL;
    }
    lanes_text__tokenizer_init(&wc->tk, text_counter_word, wc);
    lanes_text__table_init(&wc->table);
    wc->min_length = min_length;
    return wc;
}

int lanes_word_counter_feed(lanes_word_counter_t *wc, const void *data, size_t len,
                            lanes_error_t *err)
{
    if (!wc || (!data && len > 0))
        return lanes_error_set(err, LANES_EINVAL, "word counter: NULL argument");
    if (wc->state != 0)
        return lanes_error_set(err, LANES_EINVAL, "word counter: feed after %s",
                               wc->state > 0 ? "finish" : "an error");
    int rc = lanes_text__tokenizer_feed(&wc->tk, data, len, err);
    if (rc < 0)
        wc->state = -1;
    return rc;
}

int lanes_word_counter_finish(lanes_word_counter_t *wc, const lanes_word_entry_t **entries,
                              size_t *n, uint64_t *total, lanes_error_t *err)
{
    if (!wc)
        return lanes_error_set(err, LANES_EINVAL, "word counter: NULL argument");
    if (wc->state != 0)
        return lanes_error_set(err, LANES_EINVAL, "word counter: finish after %s",
                               wc->state > 0 ? "finish" : "an error");
    int rc = lanes_text__tokenizer_finish(&wc->tk, err);
    if (rc == 0 && lanes_text__table_sort(&wc->table) < 0)
        rc = lanes_error_set(err, LANES_ENOMEM, "out of memory sorting the word counts");
    if (rc < 0) {
        wc->state = -1;
        return rc;
    }
    wc->state = 1;
    lanes_text__tokenizer_free(&wc->tk);
    if (entries)
        *entries = wc->table.entries;
    if (n)
        *n = wc->table.n;
    if (total)
        *total = wc->total;
    return 0;
}

void lanes_word_counter_free(lanes_word_counter_t *wc)
{
    if (!wc)
        return;
    lanes_text__tokenizer_free(&wc->tk);
    lanes_text__table_free(&wc->table);
    free(wc);
}
