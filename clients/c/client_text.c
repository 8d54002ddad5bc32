/* lanes_client: the Acf, AcfOnce, WordCount, WordAcf and Corpus calls (see client.h).
 *
 * Design: each job gives its spec and a data callback to client.c's one request builder
 * (job_requests_t: the spec, then Chunks or DocPieces) and an on_message() callback to run_stream()
 * (or one message to run_unary() for AcfOnce), so a text or a corpus streams out while results stream
 * back, with one send and one receive in flight and gRPC's flow control as the only buffer.
 *   - Texts are read in pieces of chunk_bytes from a callback, memory or a file descriptor by a
 *     text_reader_t, which peeks one byte past a full piece so that the last piece of a text carries
 *     the end (SEND_CLOSE_FROM_CLIENT, or DocPiece.last) without an extra empty message. A text is
 *     never held whole.
 *   - Word tables are decoded by hand from the wire (a word may hold U+0000, which protobuf-c's char *
 *     strings would cut), into a word_table_t whose words live in an arena of blocks that never move.
 *   - ACF results arrive as pieces at increasing offsets and are appended to growing arrays; their
 *     sizes are checked against AcfDone at the end.
 *   - Corpus: documents go out one after another (open, pieces, close); results come back in any
 *     order, a big table in several DocResult messages, accumulated per document (found by name
 *     through a sorted index) and handed to the caller when its done = true arrives.
 */
#define _POSIX_C_SOURCE 200809L

#include "client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/slice.h>

#define METHOD_ACF "/lanes.v1.Lanes/Acf"
#define METHOD_ACF_ONCE "/lanes.v1.Lanes/AcfOnce"
#define METHOD_WORD_COUNT "/lanes.v1.Lanes/WordCount"
#define METHOD_WORD_ACF "/lanes.v1.Lanes/WordAcf"
#define METHOD_CORPUS "/lanes.v1.Lanes/Corpus"

#define ARENA_BLOCK_BYTES ((size_t)64 << 10)

static grpc_status_code oom(lanes_client_status_t *st)
{
    return st_set(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "client: out of memory");
}

/* Grows *p (of elements of size es) to hold at least need elements; *cap tracks the capacity. */
static int grow(void *p, size_t *cap, size_t need, size_t es)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*(void **)p, n * es);
    if (!q)
        return -1;
    *(void **)p = q;
    *cap = n;
    return 0;
}

/* ---- words: an arena of blocks that never move, and word tables ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block_t;

static void arena_free(arena_block_t *a)
{
    while (a) {
        arena_block_t *next = a->next;
        free(a);
        a = next;
    }
}

/* Copies len bytes into the arena, NUL-terminated. Returns the copy or NULL when out of memory. */
static char *arena_put(arena_block_t **head, const void *p, size_t len)
{
    arena_block_t *b = *head;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > ARENA_BLOCK_BYTES ? len + 1 : ARENA_BLOCK_BYTES;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = *head;
        b->used = 0;
        b->cap = cap;
        *head = b;
    }
    char *dst = b->data + b->used;
    if (len)
        memcpy(dst, p, len);
    dst[len] = '\0';
    b->used += len + 1;
    return dst;
}

typedef struct word_table {
    lanes_word_entry_t *entries;
    size_t n, cap;
    arena_block_t *arena;
} word_table_t;

static void word_table_free(word_table_t *t)
{
    free(t->entries);
    arena_free(t->arena);
    memset(t, 0, sizeof *t);
}

/* Appends the entries of one WordCounts message (repeated string words = 1; repeated uint64 counts =
 * 2, packed or not) to t. Returns 0, or -1 with st set. */
static int word_table_parse(word_table_t *t, const uint8_t *msg, size_t len, lanes_client_status_t *st)
{
    const uint8_t *p = msg, *end = msg + len, *val;
    size_t vlen, base = t->n, ncounts = 0;
    uint32_t field, wt;
    int r;
    while ((r = wire_next(&p, end, &field, &wt, &val, &vlen)) == 1) {
        if (field != 1 || wt != 2)
            continue;
        if (grow(&t->entries, &t->cap, t->n + 1, sizeof *t->entries))
            return oom(st), -1;
        char *w = arena_put(&t->arena, val, vlen);
        if (!w)
            return oom(st), -1;
        t->entries[t->n].word = w;
        t->entries[t->n].len = vlen;
        t->entries[t->n].count = 0;
        t->n++;
    }
    if (r < 0)
        goto bad;
    p = msg;
    for (;;) {
        const uint8_t *before = p;
        if ((r = wire_next(&p, end, &field, &wt, &val, &vlen)) != 1)
            break;
        if (field != 2)
            continue;
        uint64_t v;
        if (wt == 2) {
            const uint8_t *q = val, *qend = val + vlen;
            while (q < qend) {
                if (wire_varint(&q, qend, &v) || base + ncounts >= t->n)
                    goto bad;
                t->entries[base + ncounts++].count = v;
            }
        } else if (wt == 0) {
            const uint8_t *q = before;
            if (wire_varint(&q, end, &v) || wire_varint(&q, end, &v) || base + ncounts >= t->n)
                goto bad;
            t->entries[base + ncounts++].count = v;
        }
    }
    if (r < 0 || ncounts != t->n - base)
        goto bad;
    return 0;
bad:
    t->n = base;
    return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a WordCounts message"), -1;
}

/* ---- texts: pieces from a callback, memory or a file descriptor ---- */

typedef struct text_reader {
    lanes_client_text_t src;
    const char *name;         /* for messages: "the text" or a path */
    unsigned char *buf;       /* one piece */
    size_t cap;
    size_t mem_off;           /* memory source: bytes handed out */
    int fd_open;              /* the reader opened src.fd and closes it */
    int eof, have_carry;
    unsigned char carry;      /* the byte peeked past a full piece */
} text_reader_t;

static int text_reader_init(text_reader_t *r, const lanes_client_text_t *src, const char *name,
                            size_t chunk_bytes, lanes_client_status_t *st)
{
    memset(r, 0, sizeof *r);
    r->src = *src;
    r->name = name;
    r->cap = chunk_elements(chunk_bytes, 1, 1);
    r->buf = malloc(r->cap);
    if (!r->buf)
        return oom(st), -1;
    return 0;
}

static void text_reader_close(text_reader_t *r)
{
    if (r->fd_open)
        close(r->src.fd);
    r->fd_open = 0;
}

static void text_reader_free(text_reader_t *r)
{
    text_reader_close(r);
    free(r->buf);
    r->buf = NULL;
}

/* Reads up to cap bytes from the source: the count, 0 at the end, -1 with st set. */
static ptrdiff_t text_read_raw(text_reader_t *r, void *buf, size_t cap, lanes_client_status_t *st)
{
    if (r->src.read) {
        ptrdiff_t k = r->src.read(r->src.read_ctx, buf, cap);
        if (k < 0 || (size_t)k > cap) {
            st_set(st, GRPC_STATUS_CANCELLED, "client: text source failed (%s)", r->name);
            return -1;
        }
        return k;
    }
    if (r->src.data) {
        size_t k = r->src.len - r->mem_off;
        if (k > cap)
            k = cap;
        memcpy(buf, (const unsigned char *)r->src.data + r->mem_off, k);
        r->mem_off += k;
        return (ptrdiff_t)k;
    }
    for (;;) {
        ssize_t k = read(r->src.fd, buf, cap);
        if (k >= 0)
            return k;
        if (errno != EINTR) {
            st_set(st, GRPC_STATUS_CANCELLED, "client: cannot read %s: read() failed: %s", r->name,
                   strerror(errno));
            return -1;
        }
    }
}

/* Fills r->buf with the next piece of the text: *len bytes, *last set when the text ends with it (a
 * text of 0 bytes is one empty last piece). Returns 0, or -1 with st set. */
static int text_reader_next(text_reader_t *r, size_t *len, int *last, lanes_client_status_t *st)
{
    size_t m = 0;
    if (r->have_carry) {
        r->buf[m++] = r->carry;
        r->have_carry = 0;
    }
    while (m < r->cap && !r->eof) {
        ptrdiff_t k = text_read_raw(r, r->buf + m, r->cap - m, st);
        if (k < 0)
            return -1;
        if (k == 0)
            r->eof = 1;
        m += (size_t)k;
    }
    if (!r->eof) {
        ptrdiff_t k = text_read_raw(r, &r->carry, 1, st);
        if (k < 0)
            return -1;
        if (k == 0)
            r->eof = 1;
        else
            r->have_carry = 1;
    }
    *len = m;
    *last = r->eof && !r->have_carry;
    return 0;
}

/* A text job's data: the text's pieces as Chunk{arrays: [piece]} (job_requests_t sends the spec
 * first). An empty text is no chunk at all: the spec ends the stream. */
typedef struct text_stream {
    text_reader_t rd;
    ProtobufCBinaryData bin;
    Lanes__V1__Chunk chunk;
} text_stream_t;

/* A job_data_fn (ctx: the text_stream_t). */
static int text_stream_chunk(void *ctx, const ProtobufCMessage **m, int *last, lanes_client_status_t *st)
{
    text_stream_t *ts = ctx;
    size_t len;
    *m = NULL;
    if (text_reader_next(&ts->rd, &len, last, st))
        return -1;
    if (len == 0 && *last)
        return 0;
    ts->bin.len = len;
    ts->bin.data = ts->rd.buf;
    lanes__v1__chunk__init(&ts->chunk);
    ts->chunk.n_arrays = 1;
    ts->chunk.arrays = &ts->bin;
    *m = &ts->chunk.base;
    return 0;
}

static int text_valid(const lanes_client_text_t *t, lanes_client_status_t *st)
{
    if (!t->read && !t->data && t->fd < 0)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: the text has no source"), -1;
    return 0;
}

/* ---- Acf ---- */

typedef struct acf_call {
    const lanes_client_acf_job_t *job;
    feed_t feed;
    int got_done;
    lanes_client_acf_reply_t *reply;
    size_t n_acf, n_confint, n_qstat, n_pvalues; /* values received */
    size_t cap_acf, cap_confint, cap_qstat, cap_pvalues;
} acf_call_t;

static void acf_spec_build(const lanes_client_acf_job_t *job, Lanes__V1__AcfSpec *spec)
{
    lanes__v1__acf_spec__init(spec);
    spec->dtype = (Lanes__V1__DType)job->dtype;
    if (job->nlags >= 0) {
        spec->lags_case = LANES__V1__ACF_SPEC__LAGS_NLAGS;
        spec->nlags = job->nlags;
    }
    spec->n = job->n;
    spec->adjusted = job->adjusted != 0;
    spec->alpha = job->alpha;
    spec->qstat = job->qstat != 0;
    spec->method = (Lanes__V1__AcfSpec__Method)job->method;
    spec->backend = (Lanes__V1__Backend)job->backend;
}

/* Appends len bytes of float64 values to *arr (holding *n of *cap). */
static int acf_append(double **arr, size_t *n, size_t *cap, const ProtobufCBinaryData *b)
{
    size_t m = b->len / sizeof(double);
    if (m == 0)
        return 0;
    if (grow(arr, cap, *n + m, sizeof(double)))
        return -1;
    memcpy(*arr + *n, b->data, m * sizeof(double));
    *n += m;
    return 0;
}

static int acf_piece(acf_call_t *ac, const Lanes__V1__AcfValues *v, lanes_client_status_t *st)
{
    lanes_client_acf_reply_t *r = ac->reply;
    size_t m = v->acf.len / sizeof(double);
    size_t qn = v->qstat.len / sizeof(double);
    if (v->acf.len % sizeof(double) || v->offset != ac->n_acf || v->confint.len % (2 * sizeof(double)) ||
        (v->confint.len && v->confint.len != 2 * v->acf.len) || v->qstat.len != v->pvalues.len ||
        v->qstat.len % sizeof(double) || qn > m || (qn && ac->n_qstat != v->offset))
        return st_set(st, GRPC_STATUS_INTERNAL,
                      "client: an AcfValues piece at offset %llu does not follow the %zu values received",
                      (unsigned long long)v->offset, ac->n_acf) != 0;
    if (acf_append(&r->acf, &ac->n_acf, &ac->cap_acf, &v->acf) ||
        acf_append(&r->confint, &ac->n_confint, &ac->cap_confint, &v->confint) ||
        acf_append(&r->qstat, &ac->n_qstat, &ac->cap_qstat, &v->qstat) ||
        acf_append(&r->pvalues, &ac->n_pvalues, &ac->cap_pvalues, &v->pvalues))
        return oom(st) != 0;
    return 0;
}

static int acf_done(acf_call_t *ac, const Lanes__V1__AcfDone *d, lanes_client_status_t *st)
{
    lanes_client_acf_reply_t *r = ac->reply;
    const lanes_client_acf_job_t *job = ac->job;
    r->n = d->n;
    r->nlags = d->nlags;
    copy_str(r->method, sizeof r->method, d->method);
    summary_copy(&r->summary, d->summary);
    size_t total = (size_t)d->nlags + 1;
    if (ac->n_acf != total || ac->n_confint != (job->alpha != 0 ? 2 * total : 0) ||
        ac->n_qstat != (job->qstat ? total - 1 : 0))
        return st_set(st, GRPC_STATUS_INTERNAL,
                      "client: Acf sent %zu acf, %zu confint and %zu qstat values for nlags %llu",
                      ac->n_acf, ac->n_confint, ac->n_qstat, (unsigned long long)d->nlags) != 0;
    ac->got_done = 1;
    return 0;
}

static int acf_on_message(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    acf_call_t *ac = ctx;
    Lanes__V1__AcfResponse *m = lanes__v1__acf_response__unpack(NULL, len, data);
    int rc = 0;
    if (!m)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode an AcfResponse") != 0;
    if (ac->got_done)
        rc = st_set(st, GRPC_STATUS_INTERNAL, "client: Acf sent a message after AcfDone") != 0;
    else if (m->msg_case == LANES__V1__ACF_RESPONSE__MSG_VALUES)
        rc = acf_piece(ac, m->values, st);
    else if (m->msg_case == LANES__V1__ACF_RESPONSE__MSG_DONE)
        rc = acf_done(ac, m->done, st);
    lanes__v1__acf_response__free_unpacked(m, NULL);
    return rc;
}

/* The whole job as one AcfCall to AcfOnce. */
static grpc_status_code acf_once(lanes_client_t *c, acf_call_t *ac, lanes_client_status_t *st)
{
    const lanes_client_acf_job_t *job = ac->job;
    Lanes__V1__AcfSpec spec;
    ProtobufCBinaryData bin;
    Lanes__V1__Chunk chunk = LANES__V1__CHUNK__INIT;
    Lanes__V1__AcfCall call = LANES__V1__ACF_CALL__INIT;
    grpc_slice reply;
    acf_spec_build(job, &spec);
    call.spec = &spec;
    if (job->n) {
        bin.len = (size_t)job->n * ac->feed.es[0];
        bin.data = (uint8_t *)job->data;
        chunk.n_arrays = 1;
        chunk.arrays = &bin;
        call.chunk = &chunk;
    }
    grpc_status_code code = run_unary(c, METHOD_ACF_ONCE, &call.base, &reply, st);
    if (code != GRPC_STATUS_OK)
        return code;
    Lanes__V1__AcfResult *m =
        lanes__v1__acf_result__unpack(NULL, GRPC_SLICE_LENGTH(reply), GRPC_SLICE_START_PTR(reply));
    grpc_slice_unref(reply);
    if (!m)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode the AcfResult");
    int rc = 0;
    for (size_t i = 0; i < m->n_values && rc == 0; i++)
        rc = acf_piece(ac, m->values[i], st);
    if (rc == 0 && !m->done)
        rc = st_set(st, GRPC_STATUS_INTERNAL, "client: the AcfResult has no AcfDone") != 0;
    if (rc == 0)
        rc = acf_done(ac, m->done, st);
    lanes__v1__acf_result__free_unpacked(m, NULL);
    if (rc == 0)
        st_ok(st);
    return st->code;
}

void lanes_client_acf_reply_free(lanes_client_acf_reply_t *reply)
{
    if (!reply)
        return;
    free(reply->acf);
    free(reply->confint);
    free(reply->qstat);
    free(reply->pvalues);
    memset(reply, 0, sizeof *reply);
}

/* The nlags a job will resolve to, for sizing: statsmodels' default when unset. */
static uint64_t acf_expected_nlags(const lanes_client_acf_job_t *job)
{
    if (job->nlags >= 0)
        return (uint64_t)job->nlags;
    if (job->n < 2)
        return 0;
    double d = floor(10.0 * log10((double)job->n));
    return d < (double)(job->n - 1) ? (uint64_t)d : job->n - 1;
}

grpc_status_code lanes_client_acf(lanes_client_t *c, const lanes_client_acf_job_t *job,
                                  lanes_client_acf_reply_t *reply, lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    acf_call_t ac;
    if (!st)
        st = &dummy;
    memset(reply, 0, sizeof *reply);
    memset(&ac, 0, sizeof ac);
    ac.job = job;
    ac.reply = reply;
    size_t es = lanes_dtype_size(job->dtype);
    if (es == 0)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: the series has no valid dtype");
    if (job->n && !job->source && !job->data)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: the series is NULL");
    ac.feed.n_arrays = 1;
    ac.feed.es[0] = es;
    ac.feed.inputs = &job->data;
    ac.feed.source = job->source;
    ac.feed.source_ctx = job->source_ctx;
    ac.feed.n = job->n;
    ac.feed.chunk_elems = chunk_elements(job->chunk_bytes, es, 1);
    const feed_t feed = ac.feed;

    /* One message each way: the series fits one chunk and the results (acf, confint pairs, qstat and
     * pvalues: 40 bytes a lag at most) one default-sized reply. */
    size_t per_lag = sizeof(double) * (1 + (job->alpha != 0 ? 2 : 0) + (job->qstat ? 2 : 0));
    uint64_t nlags = acf_expected_nlags(job);
    int fits = !job->source && job->n <= ac.feed.chunk_elems &&
               nlags < LANES_CLIENT_DEFAULT_CHUNK_BYTES / per_lag;
    if (job->call == LANES_CLIENT_CALL_ONCE && !fits)
        return st_set(st, GRPC_STATUS_INVALID_ARGUMENT,
                      "client: this Acf job does not fit one message (or has a source): use the stream");
    grpc_status_code code = GRPC_STATUS_UNIMPLEMENTED;
    if (fits && job->call != LANES_CLIENT_CALL_STREAM)
        code = acf_once(c, &ac, st);
    if (code == GRPC_STATUS_UNIMPLEMENTED && job->call != LANES_CLIENT_CALL_ONCE) {
        lanes_client_acf_reply_free(reply);
        memset(&ac, 0, sizeof ac);
        ac.job = job;
        ac.reply = reply;
        ac.feed = feed;
        Lanes__V1__AcfSpec spec;
        job_requests_t jr;
        acf_spec_build(job, &spec);
        job_requests_init(&jr, &spec.base, feed_chunk, &ac.feed);
        stream_io_t io = {job_next, &jr, acf_on_message, &ac};
        code = run_stream(c, METHOD_ACF, &io, st);
        job_requests_free(&jr);
    }
    if (code == GRPC_STATUS_OK && !ac.got_done)
        code = st_set(st, GRPC_STATUS_INTERNAL, "client: Acf returned OK but no AcfDone");
    if (code != GRPC_STATUS_OK)
        lanes_client_acf_reply_free(reply);
    return code;
}

/* ---- WordCount ---- */

typedef struct word_count_call {
    const lanes_client_word_count_job_t *job;
    text_stream_t ts;
    word_table_t table;
    lanes_client_word_count_reply_t *reply;
    int got_done;
} word_count_call_t;

static int word_count_on_message(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    word_count_call_t *wc = ctx;
    const uint8_t *p = data, *end = data + len, *val;
    size_t vlen;
    uint32_t field, wt;
    int r;
    while ((r = wire_next(&p, end, &field, &wt, &val, &vlen)) == 1) {
        if (wt != 2)
            continue;
        if (wc->got_done)
            return st_set(st, GRPC_STATUS_INTERNAL, "client: WordCount sent a message after its totals") != 0;
        if (field == 1) {
            if (word_table_parse(&wc->table, val, vlen, st))
                return -1;
            if (wc->job->on_words) {
                int stop = wc->table.n && wc->job->on_words(wc->job->words_ctx, wc->table.entries, wc->table.n);
                word_table_free(&wc->table);
                if (stop)
                    return st_set(st, GRPC_STATUS_CANCELLED, "client: sink failed") != 0;
            }
        } else if (field == 2) {
            Lanes__V1__WordCountDone *d = lanes__v1__word_count_done__unpack(NULL, vlen, val);
            if (!d)
                return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a WordCountDone") != 0;
            wc->reply->total_words = d->total_words;
            wc->reply->distinct_words = d->distinct_words;
            summary_copy(&wc->reply->summary, d->summary);
            lanes__v1__word_count_done__free_unpacked(d, NULL);
            wc->got_done = 1;
        }
    }
    if (r < 0)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a WordCountResponse") != 0;
    return 0;
}

void lanes_client_word_count_reply_free(lanes_client_word_count_reply_t *reply)
{
    if (!reply)
        return;
    free(reply->entries);
    arena_free(reply->arena_);
    memset(reply, 0, sizeof *reply);
}

grpc_status_code lanes_client_word_count(lanes_client_t *c, const lanes_client_word_count_job_t *job,
                                         lanes_client_word_count_reply_t *reply, lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    word_count_call_t wc;
    if (!st)
        st = &dummy;
    memset(reply, 0, sizeof *reply);
    memset(&wc, 0, sizeof wc);
    wc.job = job;
    wc.reply = reply;
    if (text_valid(&job->text, st) || text_reader_init(&wc.ts.rd, &job->text, "the text", job->chunk_bytes, st))
        return st->code;
    Lanes__V1__WordCountSpec spec = LANES__V1__WORD_COUNT_SPEC__INIT;
    job_requests_t jr;
    spec.min_length = job->min_length;
    spec.top = job->top;
    spec.backend = (Lanes__V1__Backend)job->backend;
    job_requests_init(&jr, &spec.base, text_stream_chunk, &wc.ts);

    stream_io_t io = {job_next, &jr, word_count_on_message, &wc};
    grpc_status_code code = run_stream(c, METHOD_WORD_COUNT, &io, st);
    if (code == GRPC_STATUS_OK && !wc.got_done)
        code = st_set(st, GRPC_STATUS_INTERNAL, "client: WordCount returned OK but no WordCountDone");
    job_requests_free(&jr);
    text_reader_free(&wc.ts.rd);
    if (code != GRPC_STATUS_OK) {
        word_table_free(&wc.table);
        lanes_client_word_count_reply_free(reply);
        return code;
    }
    reply->entries = wc.table.entries;
    reply->n_entries = wc.table.n;
    reply->arena_ = wc.table.arena;
    return GRPC_STATUS_OK;
}

/* ---- WordAcf ---- */

typedef struct word_acf_call {
    text_stream_t ts;
    lanes_client_word_acf_reply_t *reply;
    int got_reply;
} word_acf_call_t;

static int word_acf_on_message(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    word_acf_call_t *wa = ctx;
    lanes_client_word_acf_reply_t *r = wa->reply;
    Lanes__V1__WordAcfResponse *m = lanes__v1__word_acf_response__unpack(NULL, len, data);
    if (!m)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode the WordAcfResponse") != 0;
    lanes_client_word_acf_reply_free(r);
    int rc = 0;
    size_t n = m->acf.len / sizeof(double);
    if (m->acf.len % sizeof(double) || m->n_words != m->n_counts) {
        rc = st_set(st, GRPC_STATUS_INTERNAL, "client: the WordAcfResponse's arrays do not match") != 0;
        goto out;
    }
    r->acf = malloc(n ? n * sizeof(double) : 1);
    r->words = calloc(m->n_words ? m->n_words : 1, sizeof *r->words);
    r->counts = malloc(m->n_counts ? m->n_counts * sizeof *r->counts : 1);
    if (!r->acf || !r->words || !r->counts) {
        rc = oom(st) != 0;
        goto out;
    }
    if (n)
        memcpy(r->acf, m->acf.data, n * sizeof(double));
    r->n_acf = n;
    for (size_t i = 0; i < m->n_words; i++) {
        r->words[i] = strdup(m->words[i]);
        r->n_words = i + 1;
        if (!r->words[i]) {
            rc = oom(st) != 0;
            goto out;
        }
        r->counts[i] = m->counts[i];
    }
    r->total_words = m->total_words;
    r->first_label = m->first_label;
    summary_copy(&r->summary, m->summary);
    wa->got_reply = 1;
out:
    lanes__v1__word_acf_response__free_unpacked(m, NULL);
    if (rc)
        lanes_client_word_acf_reply_free(r);
    return rc;
}

void lanes_client_word_acf_reply_free(lanes_client_word_acf_reply_t *reply)
{
    if (!reply)
        return;
    for (size_t i = 0; reply->words && i < reply->n_words; i++)
        free(reply->words[i]);
    free(reply->words);
    free(reply->counts);
    free(reply->acf);
    memset(reply, 0, sizeof *reply);
}

grpc_status_code lanes_client_word_acf(lanes_client_t *c, const lanes_client_word_acf_job_t *job,
                                       lanes_client_word_acf_reply_t *reply, lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    word_acf_call_t wa;
    if (!st)
        st = &dummy;
    memset(reply, 0, sizeof *reply);
    memset(&wa, 0, sizeof wa);
    wa.reply = reply;
    if (text_valid(&job->text, st) || text_reader_init(&wa.ts.rd, &job->text, "the text", job->chunk_bytes, st))
        return st->code;
    Lanes__V1__WordAcfSpec spec = LANES__V1__WORD_ACF_SPEC__INIT;
    job_requests_t jr;
    spec.mode = (Lanes__V1__WordAcfSpec__Mode)job->mode;
    spec.nwords = job->nwords;
    spec.timesteps = job->timesteps;
    spec.min_length = job->min_length;
    spec.backend = (Lanes__V1__Backend)job->backend;
    job_requests_init(&jr, &spec.base, text_stream_chunk, &wa.ts);

    stream_io_t io = {job_next, &jr, word_acf_on_message, &wa};
    grpc_status_code code = run_stream(c, METHOD_WORD_ACF, &io, st);
    if (code == GRPC_STATUS_OK && !wa.got_reply)
        code = st_set(st, GRPC_STATUS_INTERNAL, "client: WordAcf returned OK but no WordAcfResponse");
    job_requests_free(&jr);
    text_reader_free(&wa.ts.rd);
    if (code != GRPC_STATUS_OK)
        lanes_client_word_acf_reply_free(reply);
    return code;
}

/* ---- Corpus ---- */

typedef struct named_doc {
    const char *name;
    size_t index;
} named_doc_t;

typedef struct corpus_call {
    const lanes_client_corpus_job_t *job;
    const char **names;       /* n_docs: the names sent */
    named_doc_t *by_name;     /* n_docs: sorted by name */
    word_table_t *tables;     /* n_docs: tables of documents still coming back */
    unsigned char *finished;  /* n_docs: done = true seen */
    text_reader_t rd;
    Lanes__V1__DocPiece piece; /* corpus_piece's last message */
    size_t doc;               /* the document being sent */
    int in_doc;               /* its first piece went out */
    lanes_client_corpus_reply_t *reply;
    int got_done;
} corpus_call_t;

static int by_name_cmp(const void *a, const void *b)
{
    return strcmp(((const named_doc_t *)a)->name, ((const named_doc_t *)b)->name);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Resolves the names and the sorted index; fails on a duplicate name. */
static int corpus_names(corpus_call_t *cc, lanes_client_status_t *st)
{
    const lanes_client_corpus_job_t *job = cc->job;
    size_t n = job->n_docs;
    cc->names = calloc(n ? n : 1, sizeof *cc->names);
    cc->by_name = calloc(n ? n : 1, sizeof *cc->by_name);
    cc->tables = calloc(n ? n : 1, sizeof *cc->tables);
    cc->finished = calloc(n ? n : 1, 1);
    if (!cc->names || !cc->by_name || !cc->tables || !cc->finished)
        return oom(st) != 0;
    for (size_t i = 0; i < n; i++) {
        if (!job->paths[i])
            return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: document %zu has no path", i) != 0;
        cc->names[i] = job->names && job->names[i] ? job->names[i] : base_name(job->paths[i]);
        if (!cc->names[i][0])
            return st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: document %zu ('%s') has an empty name", i,
                          job->paths[i]) != 0;
        cc->by_name[i].name = cc->names[i];
        cc->by_name[i].index = i;
    }
    if (n)
        qsort(cc->by_name, n, sizeof *cc->by_name, by_name_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(cc->by_name[i - 1].name, cc->by_name[i].name) == 0)
            return st_set(st, GRPC_STATUS_INVALID_ARGUMENT,
                          "client: two documents are named '%s' (names must be unique in a corpus)",
                          cc->by_name[i].name) != 0;
    return 0;
}

/* The index of the document named name, or -1. */
static ptrdiff_t corpus_find(const corpus_call_t *cc, const char *name)
{
    size_t lo = 0, hi = cc->job->n_docs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cc->by_name[mid].name, name);
        if (c == 0)
            return (ptrdiff_t)cc->by_name[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Opens document cc->doc for reading. */
static int corpus_open(corpus_call_t *cc, lanes_client_status_t *st)
{
    const char *path = cc->job->paths[cc->doc];
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        grpc_status_code code = errno == ENOENT ? GRPC_STATUS_NOT_FOUND
                                : errno == EACCES ? GRPC_STATUS_PERMISSION_DENIED
                                                  : GRPC_STATUS_CANCELLED;
        return st_set(st, code, "client: cannot open '%s': %s", path, strerror(errno)) != 0;
    }
    cc->rd.src.read = NULL;
    cc->rd.src.data = NULL;
    cc->rd.src.fd = fd;
    cc->rd.fd_open = 1;
    cc->rd.name = path;
    cc->rd.eof = 0;
    cc->rd.have_carry = 0;
    cc->in_doc = 0;
    return 0;
}

/* A job_data_fn (ctx: the corpus_call_t): the next DocPiece, the documents one after another, each
 * named in its first piece; none for a corpus of no documents. */
static int corpus_piece(void *ctx, const ProtobufCMessage **m, int *last, lanes_client_status_t *st)
{
    corpus_call_t *cc = ctx;
    const lanes_client_corpus_job_t *job = cc->job;
    *m = NULL;
    *last = 1;
    if (cc->doc == job->n_docs)
        return 0;
    if (!cc->rd.fd_open && corpus_open(cc, st))
        return -1;
    size_t len;
    int end;
    if (text_reader_next(&cc->rd, &len, &end, st))
        return -1;
    lanes__v1__doc_piece__init(&cc->piece);
    if (!cc->in_doc)
        cc->piece.name = (char *)cc->names[cc->doc];
    cc->piece.data.len = len;
    cc->piece.data.data = cc->rd.buf; /* the buffer outlives the close below */
    cc->piece.last = end != 0;
    cc->in_doc = 1;
    *last = 0;
    if (end) {
        text_reader_close(&cc->rd);
        cc->doc++;
        *last = cc->doc == job->n_docs;
    }
    *m = &cc->piece.base;
    return 0;
}

/* Appends the word table piece of a DocResult (field 2, WordCounts) to t, if it has one. */
static int doc_counts_field(const uint8_t *data, size_t len, word_table_t *t, lanes_client_status_t *st)
{
    const uint8_t *p = data, *end = data + len, *val;
    size_t vlen;
    uint32_t field, wt;
    int r;
    while ((r = wire_next(&p, end, &field, &wt, &val, &vlen)) == 1)
        if (field == 2 && wt == 2 && word_table_parse(t, val, vlen, st))
            return -1;
    return r < 0 ? st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a DocResult") != 0 : 0;
}

static int corpus_doc(corpus_call_t *cc, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    Lanes__V1__DocResult *d = lanes__v1__doc_result__unpack(NULL, len, data);
    if (!d)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a DocResult") != 0;
    int rc = 0;
    ptrdiff_t i = corpus_find(cc, d->name);
    if (i < 0 || cc->finished[i]) {
        rc = st_set(st, GRPC_STATUS_INTERNAL, "client: a DocResult for %s document '%s'",
                    i < 0 ? "an unknown" : "an already finished", d->name) != 0;
        goto out;
    }
    word_table_t *t = &cc->tables[i];
    if ((rc = doc_counts_field(data, len, t, st)) != 0 || !d->done)
        goto out;
    cc->finished[i] = 1;
    if (cc->job->on_doc) {
        lanes_client_doc_result_t r;
        memset(&r, 0, sizeof r);
        r.index = (size_t)i;
        r.name = cc->names[i];
        r.status = (grpc_status_code)d->status;
        r.error = d->error ? d->error : "";
        r.entries = t->entries;
        r.n_entries = t->n;
        r.total_words = d->total_words;
        r.acf = (const double *)d->acf.data; /* protobuf-c's copy: malloc'd, so aligned */
        r.n_acf = d->acf.len / sizeof(double);
        r.acf_words = d->acf_words;
        r.n_acf_words = d->n_acf_words;
        r.first_label = d->first_label;
        r.backend = d->backend ? d->backend : "";
        r.attempts = d->attempts;
        r.seconds = d->seconds;
        if (cc->job->on_doc(cc->job->doc_ctx, &r))
            rc = st_set(st, GRPC_STATUS_CANCELLED, "client: sink failed at document '%s'", r.name) != 0;
    }
    word_table_free(t);
out:
    lanes__v1__doc_result__free_unpacked(d, NULL);
    return rc;
}

static int corpus_done(corpus_call_t *cc, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    lanes_client_corpus_reply_t *r = cc->reply;
    Lanes__V1__CorpusDone *d = lanes__v1__corpus_done__unpack(NULL, len, data);
    if (!d)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode the CorpusDone") != 0;
    int rc = 0;
    r->zipf = calloc(d->n_zipf ? d->n_zipf : 1, sizeof *r->zipf);
    if (!r->zipf)
        rc = oom(st) != 0;
    for (size_t i = 0; rc == 0 && i < d->n_zipf; i++) {
        const Lanes__V1__ZipfRow *z = d->zipf[i];
        lanes_client_zipf_row_t *row = &r->zipf[i];
        r->n_zipf = i + 1;
        row->book = strdup(z->book ? z->book : "");
        row->counts = malloc(z->n_counts ? z->n_counts * sizeof *row->counts : 1);
        if (!row->book || !row->counts) {
            rc = oom(st) != 0;
            break;
        }
        if (z->n_counts)
            memcpy(row->counts, z->counts, z->n_counts * sizeof *row->counts);
        row->n_counts = z->n_counts;
    }
    r->documents = d->documents;
    r->failed = d->failed;
    summary_copy(&r->summary, d->summary);
    lanes__v1__corpus_done__free_unpacked(d, NULL);
    cc->got_done = rc == 0;
    return rc;
}

static int corpus_on_message(void *ctx, const uint8_t *data, size_t len, lanes_client_status_t *st)
{
    corpus_call_t *cc = ctx;
    const uint8_t *p = data, *end = data + len, *val;
    size_t vlen;
    uint32_t field, wt;
    int r;
    while ((r = wire_next(&p, end, &field, &wt, &val, &vlen)) == 1) {
        if (wt != 2 || (field != 1 && field != 2))
            continue;
        if (cc->got_done)
            return st_set(st, GRPC_STATUS_INTERNAL, "client: Corpus sent a message after CorpusDone") != 0;
        if ((field == 1 ? corpus_doc(cc, val, vlen, st) : corpus_done(cc, val, vlen, st)) != 0)
            return -1;
    }
    if (r < 0)
        return st_set(st, GRPC_STATUS_INTERNAL, "client: cannot decode a CorpusResponse") != 0;
    return 0;
}

void lanes_client_corpus_reply_free(lanes_client_corpus_reply_t *reply)
{
    if (!reply)
        return;
    for (size_t i = 0; reply->zipf && i < reply->n_zipf; i++) {
        free(reply->zipf[i].book);
        free(reply->zipf[i].counts);
    }
    free(reply->zipf);
    memset(reply, 0, sizeof *reply);
}

static void corpus_call_free(corpus_call_t *cc)
{
    for (size_t i = 0; cc->tables && i < cc->job->n_docs; i++)
        word_table_free(&cc->tables[i]);
    free(cc->tables);
    free(cc->names);
    free(cc->by_name);
    free(cc->finished);
    text_reader_free(&cc->rd);
}

grpc_status_code lanes_client_corpus(lanes_client_t *c, const lanes_client_corpus_job_t *job,
                                     lanes_client_corpus_reply_t *reply, lanes_client_status_t *st)
{
    lanes_client_status_t dummy;
    corpus_call_t cc;
    if (!st)
        st = &dummy;
    memset(reply, 0, sizeof *reply);
    memset(&cc, 0, sizeof cc);
    cc.job = job;
    cc.reply = reply;
    lanes_client_text_t none = {NULL, NULL, NULL, 0, -1};
    grpc_status_code code;
    if (job->n_docs && !job->paths)
        code = st_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: no paths");
    else if (corpus_names(&cc, st) || text_reader_init(&cc.rd, &none, "", job->chunk_bytes, st))
        code = st->code;
    else {
        Lanes__V1__CorpusSpec spec = LANES__V1__CORPUS_SPEC__INIT;
        job_requests_t jr;
        spec.word_count = job->word_count != 0;
        spec.word_acf = job->word_acf != 0;
        spec.min_length = job->min_length;
        spec.mode = (Lanes__V1__WordAcfSpec__Mode)job->mode;
        spec.nwords = job->nwords;
        spec.timesteps = job->timesteps;
        spec.zipf_words = job->zipf_words;
        spec.backend = (Lanes__V1__Backend)job->backend;
        job_requests_init(&jr, &spec.base, corpus_piece, &cc);
        stream_io_t io = {job_next, &jr, corpus_on_message, &cc};
        code = run_stream(c, METHOD_CORPUS, &io, st);
        job_requests_free(&jr);
        if (code == GRPC_STATUS_OK && !cc.got_done)
            code = st_set(st, GRPC_STATUS_INTERNAL, "client: Corpus returned OK but no CorpusDone");
    }
    corpus_call_free(&cc);
    if (code != GRPC_STATUS_OK)
        lanes_client_corpus_reply_free(reply);
    return code;
}
