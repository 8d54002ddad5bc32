/* text_tokenize.c: the course's tokenizer as a streaming state machine.
 *
 * Design: bytes are decoded as strict UTF-8 (Python's decoder: no overlong forms, no surrogates,
 * nothing above U+10FFFF). A sequence cut by the end of a chunk is kept in 'pend' (at most 3 bytes)
 * and completed by the next chunk; the current word is kept as code points, so a word may straddle
 * any number of chunks. A code point that is one of the course's 26 delimiters or Python whitespace
 * ends the word; anything else is appended. A finished word is lower-cased as Python's str.lower():
 * utf8proc's simple lower-case mapping per code point, plus the two places where Python's full
 * mapping differs for lower(): U+0130 becomes "i" U+0307 (SpecialCasing's only unconditional lower
 * mapping), and U+03A3 becomes final sigma U+03C2 when preceded by a cased letter and not followed by
 * one, skipping case-ignorable code points either way (Python's handle_capital_sigma(), applied within
 * the word: the delimiters and whitespace around a word are neither cased nor case-ignorable).
 * Cased and case-ignorable are approximated from utf8proc's data: cased = category Lu, Ll, Lt or a code
 * point with a case mapping; case-ignorable = Mn, Me, Cf, Lm, Sk or a Word_Break MidLetter,
 * MidNumLet or Single_Quote code point (listed). Memory: one word, never the text.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "cpu/text_internal.h"

/* The course's delimiters: . , ; : ? $ @ ^ < > # % ` ! * - = ( ) [ ] { } / " ' (26). */
/* 1: delimiter or ASCII whitespace ends a word; 0: part of a word. Constant, so thread-safe. */
static const unsigned char text_ascii_break[128] = {
    [0x09] = 1, [0x0A] = 1, [0x0B] = 1, [0x0C] = 1, [0x0D] = 1,
    [0x1C] = 1, [0x1D] = 1, [0x1E] = 1, [0x1F] = 1, [' '] = 1,
    ['.'] = 1, [','] = 1, [';'] = 1, [':'] = 1, ['?'] = 1, ['$'] = 1, ['@'] = 1, ['^'] = 1,
    ['<'] = 1, ['>'] = 1, ['#'] = 1, ['%'] = 1, ['`'] = 1, ['!'] = 1, ['*'] = 1, ['-'] = 1,
    ['='] = 1, ['('] = 1, [')'] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1, ['/'] = 1,
    ['"'] = 1, ['\''] = 1,
};

int lanes_text__is_space(uint32_t cp)
{
    if (cp < 128) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    }
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

static int text_is_cased(uint32_t cp)
{
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    if (p->category == UTF8PROC_CATEGORY_LU || p->category == UTF8PROC_CATEGORY_LL ||
        p->category == UTF8PROC_CATEGORY_LT)
        return 1;
    return utf8proc_tolower((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp ||
           utf8proc_toupper((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp;
}

static int text_is_case_ignorable(uint32_t cp)
{
    switch (cp) {
    case 0x0027: case 0x002E: case 0x003A: case 0x00B7: case 0x0387: case 0x05F4: case 0x2018:
    case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07:
    case 0xFF0E: case 0xFF1A:
        return 1;
    default:
        break;
    }
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->category == UTF8PROC_CATEGORY_MN || p->category == UTF8PROC_CATEGORY_ME ||
           p->category == UTF8PROC_CATEGORY_CF || p->category == UTF8PROC_CATEGORY_LM ||
           p->category == UTF8PROC_CATEGORY_SK;
}

/* Python's handle_capital_sigma() for the sigma at index i of the word. */
static uint32_t text_lower_sigma(const uint32_t *w, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && text_is_case_ignorable(w[j - 1]))
        j--;
    if (j == 0 || !text_is_cased(w[j - 1]))
        return 0x3C3;
    j = i + 1;
    while (j < n && text_is_case_ignorable(w[j]))
        j++;
    return (j == n || !text_is_cased(w[j])) ? 0x3C2 : 0x3C3;
}

/* Decodes one strict UTF-8 sequence from s[0..n). Returns its length, 0 if the n bytes are a valid
 * but incomplete prefix, or -1 if invalid. */
static int text_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int need;
    unsigned lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return -1;
    }
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n)
            return 0;
        unsigned b = s[k];
        if (b < lo || b > hi)
            return -1;
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return need;
}

void lanes_text__tokenizer_init(lanes_text__tokenizer_t *tk, lanes_text__word_fn fn, void *ctx)
{
    memset(tk, 0, sizeof *tk);
    tk->fn = fn;
    tk->ctx = ctx;
}

void lanes_text__tokenizer_reset(lanes_text__tokenizer_t *tk)
{
    tk->npend = 0;
    tk->offset = 0;
    tk->ncps = 0;
}

void lanes_text__tokenizer_free(lanes_text__tokenizer_t *tk)
{
    free(tk->cps);
    free(tk->out);
    tk->cps = NULL;
    tk->out = NULL;
}

static int text_emit(lanes_text__tokenizer_t *tk)
{
    size_t n = tk->ncps;
    if (n == 0)
        return 0;
    tk->ncps = 0;
    /* At most 4 bytes per code point, plus 2 for U+0130's extra U+0307. */
    size_t need = 6 * n + 1;
    if (need > tk->cap_out) {
        size_t cap = tk->cap_out ? tk->cap_out : 64;
        while (cap < need)
            cap *= 2;
        char *p = realloc(tk->out, cap);
        if (!p)
            return LANES_ENOMEM;
        tk->out = p;
        tk->cap_out = cap;
    }
    size_t len = 0, ncp = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = tk->cps[i];
        if (c < 0x80) {
            tk->out[len++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            ncp++;
            continue;
        }
        if (c == 0x130) {
            tk->out[len++] = 'i';
            len += (size_t)utf8proc_encode_char(0x307, (utf8proc_uint8_t *)tk->out + len);
            ncp += 2;
            continue;
        }
        uint32_t l = (c == 0x3A3) ? text_lower_sigma(tk->cps, n, i)
                                  : (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        len += (size_t)utf8proc_encode_char((utf8proc_int32_t)l, (utf8proc_uint8_t *)tk->out + len);
        ncp++;
    }
    return tk->fn(tk->ctx, tk->out, len, ncp);
}

/* Emits an all-ASCII word given as bytes: str.lower() maps only A-Z there. */
static int text_emit_ascii(lanes_text__tokenizer_t *tk, const unsigned char *w, size_t n)
{
    if (n + 1 > tk->cap_out) {
        size_t cap = tk->cap_out ? tk->cap_out : 64;
        while (cap < n + 1)
            cap *= 2;
        char *p = realloc(tk->out, cap);
        if (!p)
            return LANES_ENOMEM;
        tk->out = p;
        tk->cap_out = cap;
    }
    for (size_t k = 0; k < n; k++) {
        unsigned c = w[k];
        tk->out[k] = (char)(c - 'A' < 26u ? c + 32 : c);
    }
    return tk->fn(tk->ctx, tk->out, n, n);
}

/* Handles one decoded code point. */
static inline int text_put(lanes_text__tokenizer_t *tk, uint32_t c)
{
    int brk = c < 128 ? text_ascii_break[c] : lanes_text__is_space(c);
    if (brk)
        return text_emit(tk);
    if (tk->ncps == tk->cap_cps) {
        size_t cap = tk->cap_cps ? 2 * tk->cap_cps : 64;
        uint32_t *p = realloc(tk->cps, cap * sizeof *p);
        if (!p)
            return LANES_ENOMEM;
        tk->cps = p;
        tk->cap_cps = cap;
    }
    tk->cps[tk->ncps++] = c;
    return 0;
}

static int text_bad_utf8(lanes_error_t *err, uint64_t at)
{
    return lanes_error_set(err, LANES_EINVAL, "invalid UTF-8 at byte %llu (the text must be UTF-8)",
                           (unsigned long long)at);
}

static int text_oom(lanes_error_t *err)
{
    return lanes_error_set(err, LANES_ENOMEM, "out of memory while tokenizing");
}

int lanes_text__tokenizer_feed(lanes_text__tokenizer_t *tk, const void *data, size_t len,
                               lanes_error_t *err)
{
    const unsigned char *s = data;
    size_t i = 0;
    uint32_t cp;
    int rc;
    /* Complete a sequence cut by the previous chunk, one byte at a time. */
    while (tk->npend > 0 && i < len) {
        tk->pend[tk->npend++] = s[i++];
        int k = text_decode(tk->pend, tk->npend, &cp);
        if (k < 0)
            return text_bad_utf8(err, tk->offset);
        if (k > 0) {
            tk->offset += (uint64_t)k;
            tk->npend = 0;
            if ((rc = text_put(tk, cp)) < 0)
                return rc == LANES_ENOMEM ? text_oom(err) : rc;
        }
    }
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (tk->ncps == 0 && !text_ascii_break[c]) {
                /* Fast path: a word that starts here and ends at an ASCII break inside this chunk,
                 * all ASCII, is lower-cased straight into the output (no code points, no tables). */
                size_t j = i + 1;
                while (j < len && s[j] < 0x80 && !text_ascii_break[s[j]])
                    j++;
                if (j < len && s[j] < 0x80) {
                    if ((rc = text_emit_ascii(tk, s + i, j - i)) < 0)
                        return rc == LANES_ENOMEM ? text_oom(err) : rc;
                    tk->offset += (uint64_t)(j + 1 - i);
                    i = j + 1; /* the break after the word ends nothing more */
                    continue;
                }
            }
            if ((rc = text_put(tk, c)) < 0)
                return rc == LANES_ENOMEM ? text_oom(err) : rc;
            i++;
            tk->offset++;
            continue;
        }
        int k = text_decode(s + i, len - i, &cp);
        if (k < 0)
            return text_bad_utf8(err, tk->offset);
        if (k == 0) {
            memcpy(tk->pend, s + i, len - i);
            tk->npend = len - i;
            break;
        }
        if ((rc = text_put(tk, cp)) < 0)
            return rc == LANES_ENOMEM ? text_oom(err) : rc;
        i += (size_t)k;
        tk->offset += (uint64_t)k;
    }
    return 0;
}

int lanes_text__tokenizer_finish(lanes_text__tokenizer_t *tk, lanes_error_t *err)
{
    if (tk->npend > 0)
        return text_bad_utf8(err, tk->offset);
    int rc = text_emit(tk);
    return rc == LANES_ENOMEM ? text_oom(err) : rc;
}
