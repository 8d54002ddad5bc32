/* The Corpus endpoint: word count and word ACF of many documents in one call, on the process pool.
 *
 * Design: an asynchronous job of the pipeline engine (pipeline.h), which owns the call: its
 * references, flow control, send queue and fail path. This file keeps what is Corpus' own. The client
 * streams documents one after another as DocPiece messages (corpus_on_message decodes them). Each
 * document's pieces are appended to a spool (a memfd, spool.h) as they arrive, so no gRPC thread ever
 * holds a whole document; its last piece seals the spool, and the engine's submit hands it to the
 * process pool (proc_pool.h), which runs it on a worker process and calls back on its manager thread
 * (doc_done, which hands the result to the engine). Each result becomes one or more
 * CorpusResponse.doc messages (a large word table in pieces of about chunk_bytes), queued for sending
 * as soon as the document is done, in whatever order documents finish (imap_unordered). When the
 * client has half-closed and every document is answered, CorpusDone carries the Zipf table (the
 * counts of each document's most frequent words, in the order the documents were sent).
 *
 * Flow control is the engine's: the next message is read only while fewer than max_pending
 * (2 x the pool's workers) documents are with the pool and the queued replies are under two chunks,
 * so a call holds a bounded number of spooled documents and replies. A bad document (too large, a
 * kernel error, a worker that died) fails only itself: its DocResult carries the status and message;
 * a protocol error (a piece out of order, a duplicate name) fails the call, and the engine then
 * cancels the call's documents still queued in the pool (corpus_cancel).
 *
 * Lifetime and threads: the state lives as long as the engine's job, whose references include one per
 * document with the pool (its completion may come after the call ended). Every callback here runs
 * under the engine's mutex, so the state needs no lock of its own.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lanes/v1/lanes.pb-c.h"
#include "proc_pool.h"
#include "rpc.h"
#include "spool.h"
#include "status.h"
#include "wire.h"

#define ZIPF_DEFAULT 10
#define ZIPF_MAX 1000
#define NAME_MAX_BYTES 1024

typedef struct doc_rec {
    char *name;
    int state; /* 0 receiving or with the pool, 1 done ok, -1 failed */
    size_t n_zipf;
    uint64_t *zipf;
} doc_rec_t;

typedef struct corpus {
    const lanes_config_t *cfg;
    uint64_t tag; /* the call's documents in the pool, for lanes_proc_pool_cancel() */

    lanes_doc_params_t params;
    int send_table;
    uint32_t zipf_words;
    int forced; /* the client asked for the process pool */

    doc_rec_t *docs;
    size_t n_docs, cap_docs;
    size_t *slots; /* open-addressing set of doc indices + 1, by name */
    size_t n_slots;

    int receiving, skipping; /* a document's pieces are arriving; skipping: it already failed */
    lanes_spool_t spool;
    size_t cur;

    uint64_t pieces, bytes_in, compute_ns, failed_docs;
} corpus_t;

/* A document with the pool: the process pool's callback argument, then the engine's unit result. */
typedef struct doc_ctx {
    lanes_job_t *job;
    size_t index;
    lanes_doc_result_t *res;
} doc_ctx_t;

static uint64_t next_tag;

static void *corpus_create(const lanes_config_t *cfg)
{
    corpus_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = cfg;
    c->spool.fd = -1;
    c->tag = __atomic_add_fetch(&next_tag, 1, __ATOMIC_RELAXED);
    return c;
}

static void corpus_destroy(void *state)
{
    corpus_t *c = state;
    for (size_t i = 0; i < c->n_docs; i++) {
        free(c->docs[i].name);
        free(c->docs[i].zipf);
    }
    free(c->docs);
    free(c->slots);
    lanes_spool_free(&c->spool);
    free(c);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Adds a document record; returns 0, 1 if the name is taken, -1 when out of memory. */
static int doc_add(corpus_t *c, const char *name)
{
    if (2 * (c->n_docs + 1) > c->n_slots) {
        size_t n = c->n_slots ? 2 * c->n_slots : 64;
        size_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < c->n_docs; i++) {
            size_t k = name_hash(c->docs[i].name) & (n - 1);
            while (slots[k])
                k = (k + 1) & (n - 1);
            slots[k] = i + 1;
        }
        free(c->slots);
        c->slots = slots;
        c->n_slots = n;
    }
    size_t k = name_hash(name) & (c->n_slots - 1);
    for (; c->slots[k]; k = (k + 1) & (c->n_slots - 1))
        if (strcmp(c->docs[c->slots[k] - 1].name, name) == 0)
            return 1;
    if (c->n_docs == c->cap_docs) {
        size_t cap = c->cap_docs ? 2 * c->cap_docs : 16;
        doc_rec_t *d = realloc(c->docs, cap * sizeof *d);
        if (!d)
            return -1;
        c->docs = d;
        c->cap_docs = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    c->docs[c->n_docs] = (doc_rec_t){.name = copy};
    c->slots[k] = ++c->n_docs;
    return 0;
}

static int result_enomem(lanes_error_t *err)
{
    return lanes_error_set(err, LANES_ENOMEM, "out of memory for a document's result");
}

/* Packs { doc: DocResult { name, counts: entries[from, to) } ++ rest } with rest a packed DocResult
 * (or nothing). Hand-packed: a word may hold any code point, U+0000 included. */
static uint8_t *pack_doc(const char *name, const lanes_word_entry_t *e, size_t from, size_t to, const uint8_t *rest,
                         size_t rest_len, size_t *len)
{
    size_t name_len = strlen(name);
    size_t counts = to > from ? lanes_wire_word_counts_size(e, from, to) : 0;
    size_t body = 1 + lanes_wire_varint_size(name_len) + name_len + rest_len;
    if (to > from)
        body += 1 + lanes_wire_varint_size(counts) + counts;
    size_t total = 1 + lanes_wire_varint_size(body) + body;
    uint8_t *buf = malloc(total), *p = buf;
    if (!buf)
        return NULL;
    p = lanes_wire_put_varint(p, 1u << 3 | 2);
    p = lanes_wire_put_varint(p, body);
    p = lanes_wire_put_bytes(p, 1, name, name_len);
    if (to > from) {
        p = lanes_wire_put_varint(p, 2u << 3 | 2);
        p = lanes_wire_put_varint(p, counts);
        p = lanes_wire_word_counts_put(p, e, from, to);
    }
    if (rest_len)
        memcpy(p, rest, rest_len);
    *len = total;
    return buf;
}

/* Appends to out the messages of a finished document (its table in pieces, then the rest). Returns 0
 * or LANES_ENOMEM with err set. */
static int queue_result(corpus_t *c, doc_rec_t *d, const lanes_doc_result_t *res, lanes_out_list_t *out,
                        lanes_error_t *err)
{
    char backend[96] = "";
    if (res->pid > 0)
        snprintf(backend, sizeof backend, "process-pool worker %d (pid %d)", res->worker, res->pid);
    const int ok = res->err.code == 0;
    size_t n_top = ok && res->has_acf ? res->n_top : 0;
    char **words = calloc(n_top ? n_top : 1, sizeof *words);
    if (!words)
        return result_enomem(err);
    Lanes__V1__DocResult r = LANES__V1__DOC_RESULT__INIT;
    r.done = 1;
    r.status = (uint32_t)lanes_status_from_error(res->err.code); /* a document's status: the edge's table */
    r.error = (char *)(ok ? "" : res->err.msg);
    r.backend = backend;
    r.attempts = res->attempts;
    r.seconds = (double)res->compute_ns * 1e-9;
    if (ok) {
        r.total_words = res->total_words;
        if (res->has_acf) {
            r.acf.data = (uint8_t *)res->acf;
            r.acf.len = res->acf_n * sizeof(double);
            for (size_t i = 0; i < n_top; i++)
                words[i] = (char *)res->top[i].word;
            r.n_acf_words = n_top;
            r.acf_words = words;
            r.first_label = c->params.acf_mode == LANES_WORD_ACF_COURSE ? 1 : 0;
        }
    }
    size_t rest_len = lanes__v1__doc_result__get_packed_size(&r);
    uint8_t *rest = malloc(rest_len ? rest_len : 1);
    if (!rest) {
        free(words);
        return result_enomem(err);
    }
    lanes__v1__doc_result__pack(&r, rest);
    free(words);

    size_t from = 0, end = ok && c->send_table && res->has_count ? res->n_entries : 0;
    int rc = 0;
    for (;;) {
        size_t to = from, payload = 0;
        while (to < end && (to == from || payload + res->entries[to].len + 12 <= c->cfg->chunk_bytes)) {
            payload += res->entries[to].len + 12;
            to++;
        }
        size_t len = 0;
        int last = to == end;
        uint8_t *buf = pack_doc(d->name, res->entries, from, to, last ? rest : NULL, last ? rest_len : 0, &len);
        if (!buf || lanes_out_list_push(out, buf, len, len) != 0) {
            rc = result_enomem(err);
            break;
        }
        if (last)
            break;
        from = to;
    }
    free(rest);
    return rc;
}

/* The process pool's callback (its manager thread): hands the document to the engine, which calls
 * corpus_unit_done under its lock. */
static void doc_done(void *arg, lanes_doc_result_t *res)
{
    doc_ctx_t *x = arg;
    x->res = res;
    lanes_pipeline_unit_done(x->job, x);
}

/* A document came back from the pool: records its Zipf counts and appends its DocResult to out (NULL:
 * the call has ended). */
static int corpus_unit_done(void *state, void *result, lanes_out_list_t *out, lanes_error_t *err)
{
    corpus_t *c = state;
    doc_ctx_t *x = result;
    lanes_doc_result_t *res = x->res;
    doc_rec_t *d = &c->docs[x->index];
    c->compute_ns += res->compute_ns;
    if (res->err.code == 0) {
        d->state = 1;
        if (res->has_count && c->zipf_words) {
            size_t n = res->n_entries < c->zipf_words ? res->n_entries : c->zipf_words;
            d->zipf = malloc((n ? n : 1) * sizeof *d->zipf);
            if (d->zipf) {
                for (size_t i = 0; i < n; i++)
                    d->zipf[i] = res->entries[i].count;
                d->n_zipf = n;
            }
        }
    } else {
        d->state = -1;
        c->failed_docs++;
    }
    int rc = out ? queue_result(c, d, res, out, err) : 0;
    lanes_doc_result_free(res);
    free(x);
    return rc;
}

/* A document failed before reaching the pool (too large, no memory): its result, appended to out,
 * says so. Returns 0 or LANES_ENOMEM with err set. */
static int doc_fail(corpus_t *c, size_t index, int code, const char *msg, lanes_out_list_t *out, lanes_error_t *err)
{
    doc_rec_t *d = &c->docs[index];
    d->state = -1;
    c->failed_docs++;
    lanes_doc_result_t res = {.worker = -1};
    lanes_error_set(&res.err, code, "%s", msg);
    return queue_result(c, d, &res, out, err);
}

/* The engine's submit: seals the current document's spool and hands it to the pool. */
static int corpus_submit(void *state, lanes_job_t *job, lanes_out_list_t *out, lanes_error_t *err)
{
    corpus_t *c = state;
    int fd = -1;
    uint64_t len = 0;
    lanes_error_t serr = {0};
    if (lanes_spool_finish(&c->spool, &fd, &len, &serr) != 0)
        return doc_fail(c, c->cur, LANES_EINTERNAL, serr.msg, out, err);
    doc_ctx_t *x = malloc(sizeof *x);
    if (!x) {
        close(fd);
        return doc_fail(c, c->cur, LANES_ENOMEM, "out of memory", out, err);
    }
    *x = (doc_ctx_t){.job = job, .index = c->cur};
    int rc = lanes_proc_pool_submit(fd, (size_t)len, c->docs[c->cur].name, &c->params, c->tag, doc_done, x);
    if (rc != 0) {
        close(fd);
        free(x);
        char msg[600];
        snprintf(msg, sizeof msg, "document '%s' could not be queued: %s", c->docs[c->cur].name,
                 rc == LANES_ENODEV ? "the process pool is not running" : lanes_strerror(rc));
        return doc_fail(c, c->cur, rc, msg, out, err); /* ENODEV: UNAVAILABLE; ENOMEM: RESOURCE_EXHAUSTED */
    }
    return 1;
}

static void corpus_cancel(void *state)
{
    corpus_t *c = state;
    lanes_proc_pool_cancel(c->tag);
}

/* Takes a piece of a document: a first piece names a new document and opens its spool; the last one
 * ends it (m->unit_ready unless it already failed). */
static int on_piece(corpus_t *c, const Lanes__V1__DocPiece *p, lanes_job_msg_t *m, lanes_out_list_t *out,
                    lanes_error_t *err)
{
    const char *name = p->name ? p->name : "";
    int rc = 0;
    if (!c->receiving) {
        if (!*name)
            return lanes_error_set(err, LANES_EINVAL,
                                   "document #%zu has no name: the first piece of a document must carry its name",
                                   c->n_docs + 1);
        if (strlen(name) > NAME_MAX_BYTES)
            return lanes_error_set(err, LANES_EINVAL, "document #%zu: its name is longer than %d bytes", c->n_docs + 1,
                                   NAME_MAX_BYTES);
        rc = doc_add(c, name);
        if (rc > 0)
            return lanes_error_set(err, LANES_EINVAL,
                                   "document name '%s' was sent twice: names must be unique in a corpus", name);
        if (rc < 0)
            return lanes_error_set(err, LANES_ENOMEM, "out of memory");
        c->cur = c->n_docs - 1;
        c->receiving = 1;
        c->skipping = 0;
        lanes_error_t serr = {0};
        if (lanes_spool_init(&c->spool, name, c->cfg->max_doc_bytes, &serr) != 0) {
            c->skipping = 1;
            rc = doc_fail(c, c->cur, serr.code, serr.msg, out, err); /* ENOMEM: memfd_create() failed */
            if (rc != 0)
                return rc;
        }
    } else if (*name && strcmp(name, c->docs[c->cur].name) != 0) {
        return lanes_error_set(err, LANES_EINVAL,
                               "a piece of document '%s' arrived before the last piece of document '%s' (documents "
                               "are sent one after another; the last piece has last = true)",
                               name, c->docs[c->cur].name);
    }
    c->pieces++;
    c->bytes_in += p->data.len;
    if (!c->skipping && p->data.len) {
        lanes_error_t serr = {0};
        if (lanes_spool_append(&c->spool, p->data.data, p->data.len, &serr) != 0) {
            c->skipping = 1;
            lanes_spool_free(&c->spool);
            rc = doc_fail(c, c->cur, serr.code, serr.msg, out, err); /* EINVAL: over max_doc_bytes; ENOMEM */
            if (rc != 0)
                return rc;
        }
    }
    if (p->last) {
        c->receiving = 0;
        if (!c->skipping)
            m->unit_ready = 1;
        else
            lanes_spool_free(&c->spool);
    }
    return 0;
}

/* The engine's on_message: a CorpusRequest holds the spec (field 1) or a DocPiece (field 2). */
static int corpus_on_message(void *state, int have_spec, const uint8_t *msg, size_t len, lanes_job_msg_t *m,
                             lanes_out_list_t *out, lanes_error_t *err)
{
    corpus_t *c = state;
    uint32_t field = 0;
    const uint8_t *body = NULL;
    size_t blen = 0;
    if (lanes_wire_oneof(msg, len, &field, &body, &blen) != 0 || (field != 1 && field != 2))
        return lanes_error_set(err, LANES_EINVAL,
                               "malformed Corpus request message: it must hold exactly one of spec (field 1) or doc "
                               "(field 2)");
    if (field == 1) {
        if (have_spec)
            return lanes_error_set(err, LANES_EINVAL, "the corpus spec was sent twice: only the first message of a "
                                                      "Corpus call carries it");
        m->spec = body;
        m->spec_len = blen;
        return 0;
    }
    if (!have_spec)
        return lanes_error_set(err, LANES_EINVAL,
                               "a document arrived before the corpus spec: the first message of a Corpus call must "
                               "carry it");
    char smsg[512];
    if (lanes_wire_check_strings(body, blen, &lanes__v1__doc_piece__descriptor, smsg, sizeof smsg) != 0)
        return lanes_error_set(err, LANES_EINVAL, "piece %llu: %s", (unsigned long long)c->pieces, smsg);
    Lanes__V1__DocPiece *p = lanes__v1__doc_piece__unpack(NULL, blen, body);
    if (!p)
        return lanes_error_set(err, LANES_EINVAL, "malformed DocPiece (piece %llu)", (unsigned long long)c->pieces);
    int rc = on_piece(c, p, m, out, err);
    lanes__v1__doc_piece__free_unpacked(p, NULL);
    return rc;
}

static int corpus_on_end(void *state, int have_spec, lanes_error_t *err)
{
    corpus_t *c = state;
    if (!have_spec)
        return lanes_error_set(err, LANES_EINVAL, "the Corpus request stream ended before the corpus spec");
    if (c->receiving)
        return lanes_error_set(err, LANES_EINVAL,
                               "the request stream ended inside document '%s': its last piece must have last = true",
                               c->docs[c->cur].name);
    return 0;
}

/* The engine's on_spec (the engine checked the spec's strings and then checks its backend). */
static int corpus_on_spec(void *state, const uint8_t *body, size_t len, lanes_job_layout_t *layout,
                          lanes_error_t *err)
{
    corpus_t *c = state;
    Lanes__V1__CorpusSpec *m = lanes__v1__corpus_spec__unpack(NULL, len, body);
    if (!m)
        return lanes_error_set(err, LANES_EINVAL, "malformed CorpusSpec");
    int rc = 0;
    if (!m->word_count && !m->word_acf)
        rc = lanes_error_set(err, LANES_EINVAL, "the corpus spec asks for nothing: set word_count, word_acf or both");
    else if (m->mode != LANES__V1__WORD_ACF_SPEC__MODE__EXACT && m->mode != LANES__V1__WORD_ACF_SPEC__MODE__COURSE)
        rc = lanes_error_set(err, LANES_EINVAL, "CorpusSpec.mode is %d, not a mode (0 exact, 1 course)", (int)m->mode);
    else if (m->zipf_words > ZIPF_MAX)
        rc = lanes_error_set(err, LANES_EINVAL, "zipf_words is %u; at most %d", m->zipf_words, ZIPF_MAX);
    if (rc == 0) {
        c->params = (lanes_doc_params_t){
            .do_count = m->word_count,
            .min_length = m->min_length,
            .do_acf = m->word_acf,
            .acf_mode = m->mode == LANES__V1__WORD_ACF_SPEC__MODE__COURSE ? LANES_WORD_ACF_COURSE
                                                                         : LANES_WORD_ACF_EXACT,
            .nwords = m->nwords,
            .timesteps = m->timesteps,
        };
        c->send_table = m->word_count;
        c->zipf_words = m->word_count ? (m->zipf_words ? m->zipf_words : ZIPF_DEFAULT) : 0;
        rc = lanes_doc_params_check(&c->params, err);
    }
    if (rc == 0) {
        lanes_proc_pool_stats_t ps;
        lanes_proc_pool_stats(&ps);
        if (!ps.running)
            rc = lanes_error_set(err, LANES_EPRECOND,
                                 "the process pool is not running (proc_workers = 0): no corpus can run");
        else
            layout->max_units = (size_t)ps.workers * 2; /* documents with the pool at once */
    }
    layout->backend = (int)m->backend;
    c->forced = m->backend != 0;
    lanes__v1__corpus_spec__free_unpacked(m, NULL);
    return rc;
}

/* The engine's finish: the CorpusDone message (malloc'ed, into *buf and *len). */
static int corpus_finish(void *state, const lanes_job_stats_t *stats, uint8_t **out_buf, size_t *len,
                         lanes_error_t *err)
{
    corpus_t *c = state;
    lanes_proc_pool_stats_t ps;
    lanes_proc_pool_stats(&ps);
    size_t n_rows = 0;
    for (size_t i = 0; i < c->n_docs; i++)
        n_rows += c->docs[i].state == 1 && c->docs[i].zipf;
    Lanes__V1__ZipfRow *rows = calloc(n_rows ? n_rows : 1, sizeof *rows);
    Lanes__V1__ZipfRow **rowp = calloc(n_rows ? n_rows : 1, sizeof *rowp);
    char **books = calloc(n_rows ? n_rows : 1, sizeof *books);
    uint8_t *buf = NULL;
    lanes_error_set(err, LANES_ENOMEM, "out of memory");
    if (!rows || !rowp || !books)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < c->n_docs; i++) {
        doc_rec_t *d = &c->docs[i];
        if (d->state != 1 || !d->zipf)
            continue;
        books[k] = strdup(d->name);
        if (!books[k])
            goto out;
        char *dot = strrchr(books[k], '.'), *slash = strrchr(books[k], '/');
        if (dot && dot != books[k] && (!slash || dot > slash + 1))
            *dot = 0;
        lanes__v1__zipf_row__init(&rows[k]);
        rows[k].book = books[k];
        rows[k].n_counts = d->n_zipf;
        rows[k].counts = d->zipf;
        rowp[k] = &rows[k];
        k++;
    }
    lanes_job_stats_t st = {0};
    st.elements = c->bytes_in;
    st.chunks = c->pieces;
    st.bytes_in = c->bytes_in;
    st.compute_ns = c->compute_ns;
    st.total_ns = stats->total_ns;
    st.max_threads = ps.workers;
    st.backend = "process-pool";
    snprintf(st.reason, sizeof st.reason,
             "%s: %zu document(s) on the process pool (%d worker processes, one document each at a time; memory "
             "limit %u MiB%s; a document whose worker dies is retried %u time(s))",
             c->forced ? "forced by the client" : "auto: a batch of documents", c->n_docs, ps.workers,
             ps.memory_mb, ps.memory_limit_enforced ? "" : " (not enforced)", c->cfg->worker_retries);
    Lanes__V1__JobSummary summary;
    lanes_pipeline_summary(&st, &summary);
    summary.compute_seconds = (double)c->compute_ns * 1e-9; /* summed over workers */
    summary.stream_seconds = 0;
    Lanes__V1__CorpusDone done = LANES__V1__CORPUS_DONE__INIT;
    done.n_zipf = k;
    done.zipf = rowp;
    done.documents = (uint32_t)c->n_docs;
    done.failed = (uint32_t)c->failed_docs;
    done.summary = &summary;
    Lanes__V1__CorpusResponse r = LANES__V1__CORPUS_RESPONSE__INIT;
    r.msg_case = LANES__V1__CORPUS_RESPONSE__MSG_DONE;
    r.done = &done;
    if (lanes_wire_pack((const ProtobufCMessage *)&r, &buf, len, err) == 0)
        *err = (lanes_error_t){0};
out:
    if (books)
        for (size_t i = 0; i < n_rows; i++)
            free(books[i]);
    free(books);
    free(rows);
    free(rowp);
    *out_buf = buf;
    return err->code;
}

static const lanes_job_ops_t corpus_ops = {
    .name = "corpus",
    .kind = LANES_JOB_CORPUS,
    .spec_descriptor = &lanes__v1__corpus_spec__descriptor,
    .create = corpus_create,
    .on_spec = corpus_on_spec,
    .finish = corpus_finish,
    .destroy = corpus_destroy,
    .on_message = corpus_on_message,
    .on_end = corpus_on_end,
    .submit = corpus_submit,
    .unit_done = corpus_unit_done,
    .cancel = corpus_cancel,
};

void rpc_corpus_method(struct lanes_method *m, const lanes_config_t *cfg)
{
    lanes_pipeline_method(m, "/lanes.v1.Lanes/Corpus", &corpus_ops, cfg, 0);
}
