/* A document job's parameters and result, and the result's layout in a sealed memfd (see doc_job.h).
 *
 * Design: the writer streams the sections through a small buffer with write(2), word offsets computed
 * as it goes, so the worker never holds a second copy of its word table. The reader trusts nothing in
 * the file: it checks the seals (so the content cannot change after the checks), then each section
 * against the file size with overflow-free arithmetic (n <= (size - off) / element size), then each
 * word against the strings section, and only then builds the entry arrays that point into the mapping.
 */
#define _GNU_SOURCE
#include "doc_job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOC_MAGIC 0x52444e4cu /* "LNDR" */
#define DOC_VERSION 1u
#define DOC_HAS_COUNT 1u
#define DOC_HAS_ACF 2u
#define DOC_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

typedef struct doc_header {
    uint32_t magic, version;
    uint32_t flags, reserved;
    uint64_t total_words;
    uint64_t n_entries, entries_off;
    uint64_t n_top, top_off;
    uint64_t acf_n, acf_off;
    uint64_t strings_len, strings_off;
} doc_header_t;

typedef struct doc_word {
    uint64_t word_off, word_len, count;
} doc_word_t;

int lanes_doc_params_check(lanes_doc_params_t *p, lanes_error_t *err)
{
    if (!p->do_count && !p->do_acf) {
        return lanes_error_set(err, LANES_EINVAL, "nothing to compute: ask for the word count, the word ACF or both");
    }
    if (!p->do_acf)
        return 0;
    if (p->acf_mode != LANES_WORD_ACF_EXACT && p->acf_mode != LANES_WORD_ACF_COURSE) {
        return lanes_error_set(err, LANES_EINVAL, "unknown word ACF mode %d", p->acf_mode);
    }
    if (p->nwords == 0)
        p->nwords = LANES_DOC_ACF_NWORDS;
    if (p->timesteps == 0)
        p->timesteps = LANES_DOC_ACF_TIMESTEPS;
    if (p->nwords > LANES_DOC_ACF_MAX_NWORDS) {
        return lanes_error_set(err, LANES_EINVAL, "nwords %zu is above the maximum %d", p->nwords,
                               LANES_DOC_ACF_MAX_NWORDS);
    }
    if (p->timesteps > LANES_DOC_ACF_MAX_TIMESTEPS) {
        return lanes_error_set(err, LANES_EINVAL, "timesteps %zu is above the maximum %d", p->timesteps,
                               LANES_DOC_ACF_MAX_TIMESTEPS);
    }
    return 0;
}

lanes_doc_result_t *lanes_doc_result_new(void)
{
    lanes_doc_result_t *r = calloc(1, sizeof *r);
    if (r)
        r->worker = -1;
    return r;
}

/* Drops the mapped parts; keeps status, message and the worker fields. */
static void result_unmap(lanes_doc_result_t *res)
{
    if (res->map_)
        munmap(res->map_, res->map_len_);
    free(res->alloc_);
    res->map_ = NULL;
    res->map_len_ = 0;
    res->alloc_ = NULL;
    res->has_count = res->has_acf = 0;
    res->total_words = 0;
    res->n_entries = res->acf_n = res->n_top = 0;
    res->entries = res->top = NULL;
    res->acf = NULL;
}

void lanes_doc_result_free(lanes_doc_result_t *res)
{
    if (!res)
        return;
    result_unmap(res);
    free(res);
}

/* ---- writer (worker) ---- */

typedef struct out_buf {
    int fd;
    size_t n;
    int err; /* errno of the first failed write */
    char buf[65536];
} out_buf_t;

static void out_flush(out_buf_t *o)
{
    size_t done = 0;
    while (done < o->n && !o->err) {
        ssize_t w = write(o->fd, o->buf + done, o->n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            o->err = w < 0 ? errno : EIO;
        else
            done += (size_t)w;
    }
    o->n = 0;
}

static void out_put(out_buf_t *o, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0 && !o->err) {
        if (o->n == sizeof o->buf)
            out_flush(o);
        size_t k = sizeof o->buf - o->n;
        if (k > len)
            k = len;
        memcpy(o->buf + o->n, p, k);
        o->n += k;
        p += k;
        len -= k;
    }
}

static void out_words(out_buf_t *o, const lanes_word_entry_t *e, size_t n, uint64_t *str_off)
{
    for (size_t i = 0; i < n; i++) {
        doc_word_t w = {*str_off, e[i].len, e[i].count};
        out_put(o, &w, sizeof w);
        *str_off += e[i].len + 1;
    }
}

static void out_strings(out_buf_t *o, const lanes_word_entry_t *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out_put(o, e[i].word, e[i].len + 1);
}

int lanes_doc_result_write(int fd, const lanes_doc_result_t *res, lanes_error_t *err)
{
    size_t n_entries = res->has_count ? res->n_entries : 0;
    size_t n_top = res->has_acf ? res->n_top : 0;
    size_t acf_n = res->has_acf ? res->acf_n : 0;
    doc_header_t h = {.magic = DOC_MAGIC, .version = DOC_VERSION, .total_words = res->total_words};
    h.flags = (res->has_count ? DOC_HAS_COUNT : 0) | (res->has_acf ? DOC_HAS_ACF : 0);
    h.n_entries = n_entries;
    h.entries_off = sizeof h;
    h.n_top = n_top;
    h.top_off = h.entries_off + n_entries * sizeof(doc_word_t);
    h.acf_n = acf_n;
    h.acf_off = h.top_off + n_top * sizeof(doc_word_t);
    h.strings_off = h.acf_off + acf_n * sizeof(double);
    for (size_t i = 0; i < n_entries; i++)
        h.strings_len += res->entries[i].len + 1;
    for (size_t i = 0; i < n_top; i++)
        h.strings_len += res->top[i].len + 1;

    out_buf_t *o = malloc(sizeof *o);
    if (!o)
        return lanes_error_set(err, LANES_ENOMEM, "out of memory writing the result");
    o->fd = fd;
    o->n = 0;
    o->err = 0;
    out_put(o, &h, sizeof h);
    uint64_t str_off = 0;
    out_words(o, res->entries, n_entries, &str_off);
    out_words(o, res->top, n_top, &str_off);
    if (acf_n)
        out_put(o, res->acf, acf_n * sizeof(double));
    out_strings(o, res->entries, n_entries);
    out_strings(o, res->top, n_top);
    out_flush(o);
    int e = o->err;
    free(o);
    if (e)
        return lanes_error_set(err, e == ENOSPC || e == ENOMEM || e == EFBIG ? LANES_ENOMEM : LANES_EINVAL,
                               "write() of the result failed: %s", strerror(e));
    if (fcntl(fd, F_ADD_SEALS, DOC_SEALS | F_SEAL_SEAL) != 0)
        return lanes_error_set(err, LANES_EINVAL, "fcntl(F_ADD_SEALS) on the result failed: %s", strerror(errno));
    return 0;
}

/* ---- reader (parent) ---- */

/* A section of n elements of 'elem' bytes at off fits in a file of 'size' bytes, 8-byte aligned. */
static int section_fits(uint64_t off, uint64_t n, size_t elem, uint64_t size)
{
    return off % 8 == 0 && off <= size && n <= (size - off) / elem;
}

/* Checks the words of one section and points 'out' at their strings. */
static int words_check(const doc_word_t *w, size_t n, const char *strings, uint64_t strings_len,
                       lanes_word_entry_t *out, const char *what, lanes_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        doc_word_t x;
        memcpy(&x, &w[i], sizeof x);
        if (x.word_off >= strings_len || x.word_len >= strings_len - x.word_off ||
            strings[x.word_off + x.word_len] != 0)
            return lanes_error_set(err, LANES_EINVAL, "%s %zu: word outside the strings section or not terminated",
                                   what, i);
        out[i].word = strings + x.word_off;
        out[i].len = (size_t)x.word_len;
        out[i].count = x.count;
    }
    return 0;
}

/* The largest result a document of doc_len bytes can have: a word table of at most doc_len / 2 + 1
 * words (24 bytes each) whose lower-cased strings take at most 1.5 times their bytes in the text plus a
 * NUL, the top words, the ACF, with room to spare. */
static uint64_t result_max_bytes(const lanes_doc_params_t *p, uint64_t doc_len)
{
    uint64_t n = doc_len > UINT64_MAX / 64 ? UINT64_MAX / 64 : doc_len;
    return (1u << 20) + 40 * n + (p->do_acf ? 64 * (uint64_t)p->nwords + 8 * (uint64_t)p->timesteps : 0);
}

int lanes_doc_result_map(int fd, const lanes_doc_params_t *p, uint64_t doc_len, lanes_doc_result_t *res,
                         lanes_error_t *err)
{
    result_unmap(res);
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0)
        return lanes_error_set(err, LANES_EINVAL, "the result is not a memfd (fcntl(F_GET_SEALS) failed: %s)",
                               strerror(errno));
    if ((seals & DOC_SEALS) != DOC_SEALS)
        return lanes_error_set(err, LANES_EINVAL, "the result memfd is not sealed (seals 0x%x)", (unsigned)seals);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return lanes_error_set(err, LANES_EINVAL, "fstat() of the result failed: %s", strerror(errno));
    if (st.st_size < (off_t)sizeof(doc_header_t))
        return lanes_error_set(err, LANES_EINVAL, "the result has %lld bytes, less than its header",
                               (long long)st.st_size);
    uint64_t size = (uint64_t)st.st_size;
    if (size > result_max_bytes(p, doc_len) || size > SIZE_MAX)
        return lanes_error_set(err, LANES_EINVAL,
                               "the result has %llu bytes, more than any result of a document of %llu bytes",
                               (unsigned long long)size, (unsigned long long)doc_len);
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return lanes_error_set(err, LANES_ENOMEM, "mmap() of the result (%llu bytes) failed: %s",
                               (unsigned long long)size, strerror(errno));
    res->map_ = map;
    res->map_len_ = (size_t)size;

    doc_header_t h;
    memcpy(&h, map, sizeof h);
    unsigned want = (p->do_count ? DOC_HAS_COUNT : 0) | (p->do_acf ? DOC_HAS_ACF : 0);
    int rc = 0;
    if (h.magic != DOC_MAGIC || h.version != DOC_VERSION)
        rc = lanes_error_set(err, LANES_EINVAL, "bad magic or version (0x%08x, %u)", h.magic, h.version);
    else if (h.flags != want)
        rc = lanes_error_set(err, LANES_EINVAL, "the result has parts 0x%x, asked for 0x%x", h.flags, want);
    else if (!section_fits(h.entries_off, h.n_entries, sizeof(doc_word_t), size) ||
             !section_fits(h.top_off, h.n_top, sizeof(doc_word_t), size) ||
             !section_fits(h.acf_off, h.acf_n, sizeof(double), size) ||
             !section_fits(h.strings_off, h.strings_len, 1, size))
        rc = lanes_error_set(err, LANES_EINVAL, "a section lies outside the result's %llu bytes",
                             (unsigned long long)size);
    else if (!(want & DOC_HAS_COUNT) && h.n_entries != 0)
        rc = lanes_error_set(err, LANES_EINVAL, "a word table that was not asked for");
    else if (want & DOC_HAS_ACF && (h.acf_n != p->timesteps || h.n_top == 0 || h.n_top > p->nwords))
        rc = lanes_error_set(err, LANES_EINVAL, "an ACF of %llu values and %llu words, asked for %zu and at most %zu",
                             (unsigned long long)h.acf_n, (unsigned long long)h.n_top, p->timesteps, p->nwords);
    else if (!(want & DOC_HAS_ACF) && (h.acf_n != 0 || h.n_top != 0))
        rc = lanes_error_set(err, LANES_EINVAL, "an ACF that was not asked for");
    if (rc != 0) {
        result_unmap(res);
        return rc;
    }

    /* Both counts are bounded by the file size (24 bytes a word), so the product cannot overflow. */
    size_t n_words = (size_t)h.n_entries + (size_t)h.n_top;
    res->alloc_ = malloc((n_words ? n_words : 1) * sizeof *res->alloc_);
    if (!res->alloc_) {
        result_unmap(res);
        return lanes_error_set(err, LANES_ENOMEM, "out of memory for %zu result words", n_words);
    }
    const char *base = map;
    const char *strings = base + h.strings_off;
    if (words_check((const doc_word_t *)(base + h.entries_off), (size_t)h.n_entries, strings, h.strings_len,
                    res->alloc_, "word table entry", err) != 0 ||
        words_check((const doc_word_t *)(base + h.top_off), (size_t)h.n_top, strings, h.strings_len,
                    res->alloc_ + h.n_entries, "top word", err) != 0) {
        result_unmap(res);
        return err->code;
    }
    res->has_count = p->do_count != 0;
    res->has_acf = p->do_acf != 0;
    res->total_words = h.total_words;
    res->n_entries = (size_t)h.n_entries;
    res->entries = h.n_entries ? res->alloc_ : NULL;
    res->n_top = (size_t)h.n_top;
    res->top = h.n_top ? res->alloc_ + h.n_entries : NULL;
    res->acf_n = (size_t)h.acf_n;
    res->acf = h.acf_n ? (const double *)(base + h.acf_off) : NULL;
    return 0;
}
