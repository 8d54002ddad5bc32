/* The text endpoints for one document: WordCount and WordAcf (the word-count course's jobs).
 *
 * Design: jobs of the chunk pipeline whose one array is raw bytes (UTF-8 text cut anywhere). Chunks
 * are tokenized in arrival order as they stream in (the kernels, lanes/text.h, carry a word or a code
 * point across chunk boundaries), inline or on a CPU-pool thread as the router places them by size.
 *   - WordCount: the counter holds the vocabulary only. Its table exists at the end, so it is the
 *     job's tail: pieces of about chunk_bytes (WordCounts, hand-packed: a word may hold any code point,
 *     U+0000 included), then WordCountDone with the totals and the job summary.
 *   - WordAcf: two passes over the text. Pass 1 counts as the text streams in, and the bytes are
 *     spooled into an anonymous memory file (spool.h, as Corpus documents); the tail reads the spool
 *     back in 1 MiB pieces for pass 2 (positions of the top words only), so the daemon holds the
 *     vocabulary, the top words' positions and one spooled copy of the text (not mapped: read
 *     piecewise). One reply message.
 * Both bound the text by max_doc_bytes, as a Corpus document: the engine refuses the call with the
 * chunk that passes it (lanes_job_layout_t.max_bytes), before it is counted or spooled.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lanes/text.h"
#include "lanes/v1/lanes.pb-c.h"
#include "rpc.h"
#include "spool.h"
#include "wire.h"

/* Bounds of a word ACF: its reply (timesteps float64 and the words) must fit one message. */
#define WORD_ACF_MAX_WORDS 4096
#define WORD_ACF_MAX_TIMESTEPS 100000
#define SPOOL_READ (1u << 20)

/* ---- WordCount ---- */

typedef struct count_state {
    const lanes_config_t *cfg;
    lanes_word_counter_t *wc;
    uint64_t top;
    const lanes_word_entry_t *entries;
    size_t n_entries, next;
    uint64_t total;
    int finished;
} count_state_t;

static void *count_create(const lanes_config_t *cfg)
{
    count_state_t *s = calloc(1, sizeof *s);
    if (s)
        s->cfg = cfg;
    return s;
}

static void count_destroy(void *state)
{
    count_state_t *s = state;
    lanes_word_counter_free(s->wc);
    free(s);
}

static int count_on_spec(void *state, const uint8_t *spec, size_t len, lanes_job_layout_t *layout, lanes_error_t *err)
{
    count_state_t *s = state;
    Lanes__V1__WordCountSpec *m = lanes__v1__word_count_spec__unpack(NULL, len, spec);
    if (!m)
        return lanes_error_set(err, LANES_EINVAL, "malformed WordCountSpec");
    s->top = m->top;
    s->wc = lanes_word_counter_new(m->min_length, err);
    layout->n_arrays = 1;
    layout->bytes = 1;
    layout->backend = (int)m->backend;
    layout->out_elem_bytes = 0; /* for the router: the result is a table, not per byte */
    layout->max_bytes = s->cfg->max_doc_bytes;
    lanes__v1__word_count_spec__free_unpacked(m, NULL);
    return s->wc ? 0 : err->code;
}

static int count_compute(void *state, const lanes_job_piece_t *piece, lanes_exec_t *x, lanes_out_list_t *out,
                         lanes_error_t *err)
{
    (void)x;
    (void)out;
    count_state_t *s = state;
    return lanes_word_counter_feed(s->wc, piece->arrays[0], piece->n, err) != 0 ? err->code : 0;
}

/* Packs entries [from, to) as WordCountResponse { counts: WordCounts { ... } }. */
static uint8_t *pack_word_counts(const lanes_word_entry_t *e, size_t from, size_t to, size_t *len)
{
    size_t inner = lanes_wire_word_counts_size(e, from, to);
    size_t total = 1 + lanes_wire_varint_size(inner) + inner;
    uint8_t *buf = malloc(total), *p = buf;
    if (!buf)
        return NULL;
    p = lanes_wire_put_varint(p, 1u << 3 | 2);
    p = lanes_wire_put_varint(p, inner);
    lanes_wire_word_counts_put(p, e, from, to);
    *len = total;
    return buf;
}

static int count_tail(void *state, int threads, size_t chunk_bytes, lanes_out_list_t *out, int *more,
                      lanes_error_t *err)
{
    (void)threads;
    count_state_t *s = state;
    if (!s->finished) {
        if (lanes_word_counter_finish(s->wc, &s->entries, &s->n_entries, &s->total, err) != 0)
            return err->code;
        s->finished = 1;
    }
    size_t end = s->n_entries;
    if (s->top && s->top < end)
        end = (size_t)s->top;
    size_t to = s->next, payload = 0;
    while (to < end && (to == s->next || payload + s->entries[to].len + 12 <= chunk_bytes)) {
        payload += s->entries[to].len + 12;
        to++;
    }
    if (to > s->next) {
        size_t len;
        uint8_t *buf = pack_word_counts(s->entries, s->next, to, &len);
        if (!buf || lanes_out_list_push(out, buf, len, len) != 0) {
            return lanes_error_set(err, LANES_ENOMEM, "out of memory");
        }
        s->next = to;
    }
    *more = s->next < end;
    return 0;
}

static int count_finish(void *state, const lanes_job_stats_t *st, uint8_t **buf, size_t *len, lanes_error_t *err)
{
    count_state_t *s = state;
    Lanes__V1__JobSummary summary;
    lanes_pipeline_summary(st, &summary);
    Lanes__V1__WordCountDone done = LANES__V1__WORD_COUNT_DONE__INIT;
    done.total_words = s->total;
    done.distinct_words = s->n_entries;
    done.summary = &summary;
    Lanes__V1__WordCountResponse r = LANES__V1__WORD_COUNT_RESPONSE__INIT;
    r.msg_case = LANES__V1__WORD_COUNT_RESPONSE__MSG_DONE;
    r.done = &done;
    return lanes_wire_pack((const ProtobufCMessage *)&r, buf, len, err);
}

const lanes_job_ops_t rpc_word_count_ops = {
    .name = "wordcount",
    .spec_descriptor = &lanes__v1__word_count_spec__descriptor,
    .kind = LANES_JOB_TEXT,
    .create = count_create,
    .on_spec = count_on_spec,
    .compute = count_compute,
    .tail = count_tail,
    .finish = count_finish,
    .destroy = count_destroy,
};

/* ---- WordAcf ---- */

typedef struct wacf_state {
    const lanes_config_t *cfg;
    lanes_word_acf_t *a;
    lanes_word_acf_mode_t mode;
    lanes_spool_t spool; /* the text, for pass 2; fd -1 before the spec */
    const double *acf;
    size_t n_acf;
} wacf_state_t;

static void *wacf_create(const lanes_config_t *cfg)
{
    wacf_state_t *s = calloc(1, sizeof *s);
    if (s) {
        s->cfg = cfg;
        s->spool.fd = -1;
    }
    return s;
}

static void wacf_destroy(void *state)
{
    wacf_state_t *s = state;
    lanes_word_acf_free(s->a);
    lanes_spool_free(&s->spool);
    free(s);
}

static int wacf_on_spec(void *state, const uint8_t *spec, size_t len, lanes_job_layout_t *layout, lanes_error_t *err)
{
    wacf_state_t *s = state;
    Lanes__V1__WordAcfSpec *m = lanes__v1__word_acf_spec__unpack(NULL, len, spec);
    if (!m)
        return lanes_error_set(err, LANES_EINVAL, "malformed WordAcfSpec");
    int rc = LANES_EINVAL;
    size_t nwords = m->nwords ? m->nwords : 16, timesteps = m->timesteps ? m->timesteps : 100;
    if (m->mode != LANES__V1__WORD_ACF_SPEC__MODE__EXACT && m->mode != LANES__V1__WORD_ACF_SPEC__MODE__COURSE) {
        lanes_error_set(err, LANES_EINVAL, "WordAcfSpec.mode is %d, not a mode (0 exact, 1 course)", (int)m->mode);
        goto out;
    }
    if (nwords > WORD_ACF_MAX_WORDS || timesteps > WORD_ACF_MAX_TIMESTEPS) {
        lanes_error_set(err, LANES_EINVAL, "%s is %zu; at most %d",
                        nwords > WORD_ACF_MAX_WORDS ? "nwords" : "timesteps",
                        nwords > WORD_ACF_MAX_WORDS ? nwords : timesteps,
                        nwords > WORD_ACF_MAX_WORDS ? WORD_ACF_MAX_WORDS : WORD_ACF_MAX_TIMESTEPS);
        goto out;
    }
    s->mode = m->mode == LANES__V1__WORD_ACF_SPEC__MODE__COURSE ? LANES_WORD_ACF_COURSE : LANES_WORD_ACF_EXACT;
    s->a = lanes_word_acf_new(s->mode, nwords, timesteps, m->min_length, err);
    if (!s->a) {
        rc = err->code;
        goto out;
    }
    /* max_doc_bytes bounds the text as it bounds a Corpus document: the engine refuses the chunk
     * that passes it (layout->max_bytes) before it reaches the spool, which checks it again. */
    if (lanes_spool_init(&s->spool, "the WordAcf text", s->cfg->max_doc_bytes, err) != 0) {
        rc = err->code; /* ENOMEM: memfd_create() failed */
        goto out;
    }
    layout->n_arrays = 1;
    layout->bytes = 1;
    layout->backend = (int)m->backend;
    layout->out_elem_bytes = 0; /* for the router: the result is a table, not per byte */
    layout->max_bytes = s->cfg->max_doc_bytes;
    rc = 0;
out:
    lanes__v1__word_acf_spec__free_unpacked(m, NULL);
    return rc;
}

static int wacf_compute(void *state, const lanes_job_piece_t *piece, lanes_exec_t *x, lanes_out_list_t *out,
                        lanes_error_t *err)
{
    (void)x;
    (void)out;
    wacf_state_t *s = state;
    if (lanes_word_acf_feed(s->a, piece->arrays[0], piece->n, err) != 0)
        return err->code;
    lanes_error_t serr = {0};
    if (lanes_spool_append(&s->spool, piece->arrays[0], piece->n, &serr) != 0)
        return lanes_error_set(err, serr.code, "spooling the text failed: %s", serr.msg);
    return 0;
}

static int wacf_tail(void *state, int threads, size_t chunk_bytes, lanes_out_list_t *out, int *more, lanes_error_t *err)
{
    (void)threads;
    (void)chunk_bytes;
    (void)out;
    wacf_state_t *s = state;
    *more = 0;
    if (lanes_word_acf_next_pass(s->a, err) != 0)
        goto fail;
    uint8_t *piece = malloc(SPOOL_READ);
    if (!piece)
        return lanes_error_set(err, LANES_ENOMEM, "out of memory");
    for (uint64_t off = 0; off < s->spool.len;) {
        ssize_t r = pread(s->spool.fd, piece, SPOOL_READ, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(piece);
            return lanes_error_set(err, LANES_EINTERNAL, "reading the spooled text failed: pread() failed: %s",
                                   r < 0 ? strerror(errno) : "short");
        }
        if (lanes_word_acf_feed(s->a, piece, (size_t)r, err) != 0) {
            free(piece);
            goto fail;
        }
        off += (uint64_t)r;
    }
    free(piece);
    if (lanes_word_acf_finish(s->a, &s->acf, &s->n_acf, err) != 0)
        goto fail;
    return 0;
fail:
    if (err->code == LANES_EEMPTY)
        return lanes_error_set(err, LANES_EINVAL,
                               "the text has no words (after the min_length filter): a word ACF needs at least one");
    return err->code;
}

static int wacf_finish(void *state, const lanes_job_stats_t *st, uint8_t **buf, size_t *len, lanes_error_t *err)
{
    wacf_state_t *s = state;
    size_t k = 0;
    const lanes_word_entry_t *e = lanes_word_acf_words(s->a, &k);
    char **words = calloc(k ? k : 1, sizeof *words);
    uint64_t *counts = calloc(k ? k : 1, sizeof *counts);
    if (!words || !counts) {
        free(words);
        free(counts);
        return lanes_error_set(err, LANES_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        words[i] = (char *)e[i].word;
        counts[i] = e[i].count;
    }
    Lanes__V1__JobSummary summary;
    lanes_pipeline_summary(st, &summary);
    Lanes__V1__WordAcfResponse r = LANES__V1__WORD_ACF_RESPONSE__INIT;
    r.acf.data = (uint8_t *)s->acf;
    r.acf.len = s->n_acf * sizeof(double);
    r.n_words = k;
    r.words = words;
    r.n_counts = k;
    r.counts = counts;
    r.total_words = lanes_word_acf_total_words(s->a);
    r.first_label = s->mode == LANES_WORD_ACF_COURSE ? 1 : 0;
    r.summary = &summary;
    int rc = lanes_wire_pack((const ProtobufCMessage *)&r, buf, len, err);
    free(words);
    free(counts);
    return rc;
}

const lanes_job_ops_t rpc_word_acf_ops = {
    .name = "wordacf",
    .spec_descriptor = &lanes__v1__word_acf_spec__descriptor,
    .kind = LANES_JOB_TEXT,
    .create = wacf_create,
    .on_spec = wacf_on_spec,
    .compute = wacf_compute,
    .tail = wacf_tail,
    .finish = wacf_finish,
    .destroy = wacf_destroy,
};
