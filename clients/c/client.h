/* lanes_client: calls to the lanes daemon over the gRPC C core, for the CLI and the benchmark.
 *
 * Design: a client owns one insecure channel and one completion queue (GRPC_CQ_NEXT). Every call runs
 * to completion inside the function that starts it, on the calling thread: unary calls are one batch
 * and one wait; streaming calls (Map, Reduce, Echo) keep exactly one SEND_MESSAGE and one RECV_MESSAGE
 * in flight at once and wait on the queue with grpc_completion_queue_next, so the client sends the
 * next chunk while the daemon's results for earlier chunks stream back, and gRPC's flow control is the
 * only buffer. A Map or Reduce job that fits one message goes instead through the unary twin
 * (MapOnce / ReduceOnce: one round trip), unless the job asks for the stream; a daemon without the
 * twins (UNIMPLEMENTED) gets the stream. Jobs are described by plain structs; the data comes either from memory (pointers) or
 * from a source callback that hands out the next run of elements (so a benchmark can stream 800 MB
 * from a 1 MiB pattern), and results go to a caller buffer or a sink callback.
 *
 * Errors: every call returns a grpc_status_code (GRPC_STATUS_OK = 0) and fills a lanes_client_status_t:
 * the server's code and details verbatim, or a code and message made here for failures on this side
 * (transport errors arrive from gRPC as UNAVAILABLE / DEADLINE_EXCEEDED ...; a reply that breaks the
 * protocol is INTERNAL; bad job arguments are INVALID_ARGUMENT, prefixed "client: ").
 *
 * Threads: one client must not be used by two threads at once; distinct clients may be used from
 * distinct threads concurrently (each has its own queue). lanes_client_new/free take and drop a
 * reference on the gRPC library (grpc_init/grpc_shutdown), so no other set-up is needed.
 */
#ifndef LANES_CLIENT_H
#define LANES_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

/* The base library only (lanes_base): element types, errors, word entries; not the compute stack. */
#include "lanes/dtype.h"
#include "lanes/error.h"
#include "lanes/text_format.h"
#include "lanes/v1/lanes.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Payload per data message (all input arrays of a chunk together) unless a job says otherwise. */
#define LANES_CLIENT_DEFAULT_CHUNK_BYTES ((size_t)1 << 20)
/* No message is ever larger than this (the daemon's and stock clients' default receive limit); chunk
 * sizes are clamped so that a packed message, protobuf framing included, fits. */
#define LANES_CLIENT_MAX_MESSAGE_BYTES ((size_t)4 << 20)

typedef struct lanes_client lanes_client_t;

typedef struct lanes_client_status {
    grpc_status_code code; /* GRPC_STATUS_OK on success */
    char message[512];     /* the server's details verbatim, or a message made here; "" when OK */
} lanes_client_status_t;

/* "OK", "INVALID_ARGUMENT", ... as in the gRPC docs; "UNKNOWN_STATUS" for codes out of range. */
const char *lanes_client_status_name(grpc_status_code code);

/* Copy of a JobSummary (see lanes.proto). backend is "" when the server sent none. */
typedef struct lanes_client_summary {
    char backend[32];
    char reason[256];
    uint64_t elements, chunks, bytes_in, bytes_out;
    double queued_seconds, compute_seconds, stream_seconds;
    uint32_t threads;
} lanes_client_summary_t;

/* Creates a client for target ("host:port", any gRPC target string). Connects lazily, on the first
 * call. Returns NULL only when out of memory. The caller owns the client and frees it with
 * lanes_client_free(). target is copied. */
lanes_client_t *lanes_client_new(const char *target);

/* Frees the client (NULL allowed). No call may be running on it. */
void lanes_client_free(lanes_client_t *c);

/* Deadline of each later call: seconds from its start; 0 or less means none (the default). A call past
 * its deadline fails with DEADLINE_EXCEEDED; one that gRPC has not wound down 1 s after its deadline
 * (gRPC core 1.51 sometimes never completes a streaming call cancelled mid-send) is abandoned: the
 * function returns DEADLINE_EXCEEDED and the client goes on with a fresh completion queue, leaving the
 * stuck call's small state allocated for the life of the process. */
void lanes_client_set_timeout(lanes_client_t *c, double seconds);

/* The target given to lanes_client_new(). Owned by the client. */
const char *lanes_client_target(const lanes_client_t *c);

/* ---- unary calls ---- */

/* Calls /lanes.v1.Lanes/Info. On OK, *out is a new message that the caller frees with
 * protobuf_c_message_free_unpacked(&(*out)->base, NULL); otherwise *out is NULL. */
grpc_status_code lanes_client_info(lanes_client_t *c, Lanes__V1__InfoResponse **out,
                                   lanes_client_status_t *st);

/* Calls /grpc.health.v1.Health/Check for service ("" or NULL: the whole server). On OK, *serving is
 * the HealthCheckResponse.ServingStatus number (1 SERVING, 2 NOT_SERVING, 0 UNKNOWN, 3 SERVICE_UNKNOWN). */
grpc_status_code lanes_client_health(lanes_client_t *c, const char *service, int *serving,
                                     lanes_client_status_t *st);

/* "SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN" or "INVALID". Static. */
const char *lanes_client_serving_name(int serving);

/* ---- streaming jobs ---- */

/* Hands out input data: sets arrays[i] (one per input array; one for Reduce and Echo) to elements
 * [offset, offset + m) of input i and returns m, 1 <= m <= n. The pointers need only stay valid until
 * the next call of the source or the end of the job (the data is copied into a message at once).
 * Returns 0 to abort the job (the call is cancelled and reports CANCELLED, "client: source failed"). */
typedef size_t (*lanes_client_source_fn)(void *ctx, uint64_t offset, size_t n, const void **arrays);

/* Receives output elements [offset, offset + n) in order; data is valid during the call only.
 * Returns 0 to go on, nonzero to abort the job (CANCELLED, "client: sink failed"). */
typedef int (*lanes_client_sink_fn)(void *ctx, uint64_t offset, const void *data, size_t n);

/* Which call carries a Map or Reduce job. */
typedef enum lanes_client_call {
    LANES_CLIENT_CALL_AUTO = 0, /* the unary twin if the job has no source and fits one message */
    LANES_CLIENT_CALL_STREAM,   /* always the stream */
    LANES_CLIENT_CALL_ONCE,     /* always the unary twin; INVALID_ARGUMENT if the job does not fit */
} lanes_client_call_t;

typedef struct lanes_client_map_job {
    const char *function;          /* "square", "power", ..., or an expression: "x*x + 1" */
    /* Optional names of the inputs in an expression (borrowed); all NULL: the daemon's defaults
     * x, y, z, w, ... */
    const char *in_names[LANES_MAP_MAX_INPUTS];
    const lanes_param_t *params;   /* n_params scalar parameters (names and array borrowed) */
    size_t n_params;
    size_t n_inputs;               /* 1 .. LANES_MAP_MAX_INPUTS */
    lanes_dtype_t in_dtypes[LANES_MAP_MAX_INPUTS];
    const void *inputs[LANES_MAP_MAX_INPUTS]; /* n elements each; used when source is NULL */
    uint64_t n;                    /* elements per input array (may be 0) */
    lanes_dtype_t out_dtype;       /* F64 (also when LANES_DTYPE_INVALID) or F32 */
    int backend;                   /* a Lanes__V1__Backend number; 0 = auto */
    size_t chunk_bytes;            /* payload per message, all inputs together; 0 = default */
    lanes_client_source_fn source; /* optional, instead of inputs */
    void *source_ctx;
    void *out;                     /* n elements of out_dtype; used when sink is NULL */
    lanes_client_sink_fn sink;     /* optional, instead of out */
    void *sink_ctx;
    lanes_client_call_t call;      /* default AUTO */
} lanes_client_map_job_t;

/* Runs a Map job: streams the spec and the inputs, writes the n results to job->out (or the sink) in
 * order. All job pointers are borrowed for the duration of the call. summary may be NULL. Fails with
 * INTERNAL if the server returns a number of elements other than n. */
grpc_status_code lanes_client_map(lanes_client_t *c, const lanes_client_map_job_t *job,
                                  lanes_client_summary_t *summary, lanes_client_status_t *st);

typedef struct lanes_client_reduce_job {
    const char *op;                /* "sum", "mean", "histogram", ... */
    lanes_dtype_t dtype;
    double ddof;                   /* var, std */
    uint32_t bins;                 /* histogram; 0 = the server's default (10) */
    int has_range;                 /* histogram: sends Range{lo, hi} when nonzero */
    double lo, hi;
    int range_from_data;           /* histogram: lo and hi are the data's min and max (numpy's default
                                      range; float32 edges then use float32 arithmetic, as numpy) */
    int backend;                   /* a Lanes__V1__Backend number; 0 = auto */
    size_t chunk_bytes;            /* 0 = default */
    const void *data;              /* n elements; used when source is NULL */
    uint64_t n;
    lanes_client_source_fn source; /* optional, instead of data */
    void *source_ctx;
    lanes_client_call_t call;      /* default AUTO */
} lanes_client_reduce_job_t;

typedef struct lanes_client_reduce_reply {
    lanes_dtype_t dtype;           /* of the scalar result, as numpy would give it */
    double value;                  /* when dtype is F64 or F32 */
    int64_t int_value;             /* when dtype is I64 or I32 */
    uint32_t bins;                 /* histogram: number of bins, else 0 */
    int64_t *counts;               /* bins counts, malloc'd (NULL if none) */
    double *edges;                 /* bins + 1 edges, malloc'd (NULL if none) */
    lanes_client_summary_t summary;
} lanes_client_reduce_reply_t;

/* Runs a Reduce job. On OK, *reply is filled and owns counts/edges: free them with
 * lanes_client_reduce_reply_free(). On failure *reply is zeroed (freeing it is still allowed). */
grpc_status_code lanes_client_reduce(lanes_client_t *c, const lanes_client_reduce_job_t *job,
                                     lanes_client_reduce_reply_t *reply, lanes_client_status_t *st);

/* Frees the histogram arrays of a reply and zeroes them; NULL allowed. */
void lanes_client_reduce_reply_free(lanes_client_reduce_reply_t *reply);

typedef struct lanes_client_echo_job {
    const void *data;              /* n bytes; used when source is NULL */
    uint64_t n;
    size_t chunk_bytes;            /* 0 = default */
    lanes_client_source_fn source; /* optional, instead of data (elements are bytes) */
    void *source_ctx;
    void *out;                     /* n bytes; optional, used when sink is NULL */
    lanes_client_sink_fn sink;     /* optional */
    void *sink_ctx;
} lanes_client_echo_job_t;

/* Streams n bytes through /lanes.v1.Lanes/Echo in chunks and receives them back (into out or the sink
 * if given, else counted only). *bytes_back (may be NULL) gets the number of bytes received. Fails with
 * INTERNAL if that differs from n. */
grpc_status_code lanes_client_echo(lanes_client_t *c, const lanes_client_echo_job_t *job,
                                   uint64_t *bytes_back, lanes_client_status_t *st);

/* ---- autocorrelation (client_text.c) ---- */

typedef struct lanes_client_acf_job {
    lanes_dtype_t dtype;           /* of the series */
    const void *data;              /* n elements; used when source is NULL */
    uint64_t n;                    /* the series' length (required: the default nlags and the end check) */
    int64_t nlags;                 /* lags 0 .. nlags; negative: statsmodels' default
                                      min(int(10*log10(n)), n-1), resolved by the daemon */
    int adjusted;                  /* divide lag k by n - k instead of n */
    double alpha;                  /* 0: no confidence intervals; else Bartlett's at 1 - alpha */
    int qstat;                     /* Ljung-Box Q statistics and p-values */
    int method;                    /* a Lanes__V1__AcfSpec__Method number: 0 auto, 1 direct, 2 fft */
    int backend;                   /* a Lanes__V1__Backend number; 0 = auto */
    size_t chunk_bytes;            /* 0 = default */
    lanes_client_source_fn source; /* optional, instead of data (one array) */
    void *source_ctx;
    lanes_client_call_t call;      /* AUTO: AcfOnce when the series fits one message and the results
                                      fit one reply, else the stream */
} lanes_client_acf_job_t;

typedef struct lanes_client_acf_reply {
    uint64_t n;                    /* values the daemon received */
    uint64_t nlags;                /* resolved */
    char method[16];               /* "direct" or "fft" */
    double *acf;                   /* nlags + 1 values */
    double *confint;               /* (nlags + 1) x 2 row-major (lower, upper); NULL without alpha */
    double *qstat, *pvalues;       /* nlags values each (index i is lag i + 1); NULL without qstat */
    lanes_client_summary_t summary;
} lanes_client_acf_reply_t;

/* Runs an Acf (or AcfOnce) job. On OK *reply owns malloc'd arrays: free them with
 * lanes_client_acf_reply_free(). On failure *reply is zeroed (freeing it is still allowed). Fails with
 * INTERNAL if the pieces the daemon sends do not make whole arrays of the announced sizes. */
grpc_status_code lanes_client_acf(lanes_client_t *c, const lanes_client_acf_job_t *job,
                                  lanes_client_acf_reply_t *reply, lanes_client_status_t *st);

/* Frees a reply's arrays and zeroes it; NULL allowed. */
void lanes_client_acf_reply_free(lanes_client_acf_reply_t *reply);

/* ---- text jobs (client_text.c) ---- */

/* Reads the next bytes of a text into buf (at most cap). Returns how many (> 0), 0 at the end of the
 * text, or -1 to abort the job (CANCELLED, "client: text source failed"). */
typedef ptrdiff_t (*lanes_client_read_fn)(void *ctx, void *buf, size_t cap);

/* Where a text comes from: the read callback if set, else data/len if data is not NULL, else the file
 * descriptor fd (read(2) to the end; not closed). Only chunk_bytes of it are held at a time. */
typedef struct lanes_client_text {
    lanes_client_read_fn read;
    void *read_ctx;
    const void *data;
    size_t len;
    int fd;
} lanes_client_text_t;

/* Receives n entries of a word table, in the table's order (count descending, ties in order of first
 * occurrence). Entries and their words (NUL-terminated; len counts the bytes, a word may hold U+0000)
 * are valid during the call only. Returns 0 to go on, nonzero to abort (CANCELLED, "client: sink
 * failed"). */
typedef int (*lanes_client_words_fn)(void *ctx, const lanes_word_entry_t *entries, size_t n);

typedef struct lanes_client_word_count_job {
    lanes_client_text_t text;
    uint32_t min_length;           /* drop words shorter than this many code points; 0 keeps all */
    uint64_t top;                  /* only the first top entries; 0: all */
    int backend;
    size_t chunk_bytes;            /* text bytes per message; 0 = default */
    lanes_client_words_fn on_words; /* optional: entries go here as they arrive instead of the reply */
    void *words_ctx;
} lanes_client_word_count_job_t;

typedef struct lanes_client_word_count_reply {
    lanes_word_entry_t *entries;   /* the table (NULL when on_words was given); words owned by the reply */
    size_t n_entries;
    uint64_t total_words;          /* words counted: the .dat percentages divide by it */
    uint64_t distinct_words;
    lanes_client_summary_t summary;
    void *arena_;                  /* private: where the words live */
} lanes_client_word_count_reply_t;

/* Streams the text to WordCount in chunks and receives its table. On OK *reply is filled; free it with
 * lanes_client_word_count_reply_free(). On failure *reply is zeroed (freeing it is still allowed). */
grpc_status_code lanes_client_word_count(lanes_client_t *c, const lanes_client_word_count_job_t *job,
                                         lanes_client_word_count_reply_t *reply, lanes_client_status_t *st);

void lanes_client_word_count_reply_free(lanes_client_word_count_reply_t *reply);

typedef struct lanes_client_word_acf_job {
    lanes_client_text_t text;
    int mode;                      /* a Lanes__V1__WordAcfSpec__Mode number: 0 exact, 1 course */
    uint32_t nwords;               /* top words averaged; 0: 16 */
    uint32_t timesteps;            /* T; 0: 100 */
    uint32_t min_length;
    int backend;
    size_t chunk_bytes;
} lanes_client_word_acf_job_t;

typedef struct lanes_client_word_acf_reply {
    double *acf;                   /* n_acf values */
    size_t n_acf;
    char **words;                  /* n_words top words (each malloc'd), by rank */
    uint64_t *counts;              /* their counts */
    size_t n_words;
    uint64_t total_words;
    uint64_t first_label;          /* CSV label of acf[0]: 0 (exact) or 1 (course) */
    lanes_client_summary_t summary;
} lanes_client_word_acf_reply_t;

/* Streams the text to WordAcf. On OK *reply owns malloc'd arrays: free them with
 * lanes_client_word_acf_reply_free(). On failure *reply is zeroed. */
grpc_status_code lanes_client_word_acf(lanes_client_t *c, const lanes_client_word_acf_job_t *job,
                                       lanes_client_word_acf_reply_t *reply, lanes_client_status_t *st);

void lanes_client_word_acf_reply_free(lanes_client_word_acf_reply_t *reply);

/* One finished document of a Corpus job. Everything is valid during the callback only. */
typedef struct lanes_client_doc_result {
    size_t index;                  /* of the document in the job's paths */
    const char *name;              /* as sent: the job's name for it */
    grpc_status_code status;       /* OK, or why this document failed */
    const char *error;             /* "" when OK */
    const lanes_word_entry_t *entries; /* its whole word table (word_count), all pieces together */
    size_t n_entries;
    uint64_t total_words;
    const double *acf;             /* n_acf values (word_acf) */
    size_t n_acf;
    char *const *acf_words;        /* the words averaged */
    size_t n_acf_words;
    uint64_t first_label;
    const char *backend;           /* where it ran */
    uint32_t attempts;
    double seconds;
} lanes_client_doc_result_t;

/* Receives one finished document. Returns 0 to go on, nonzero to abort (CANCELLED, "client: sink
 * failed"). */
typedef int (*lanes_client_doc_fn)(void *ctx, const lanes_client_doc_result_t *doc);

typedef struct lanes_client_corpus_job {
    const char *const *paths;      /* n_docs files, each streamed in pieces of chunk_bytes */
    const char *const *names;      /* optional: the name sent for each (unique); NULL: base names */
    size_t n_docs;
    int word_count, word_acf;      /* what to compute per document */
    uint32_t min_length;
    int mode;                      /* word ACF mode, as lanes_client_word_acf_job_t */
    uint32_t nwords, timesteps;    /* 0: 16 and 100 */
    uint32_t zipf_words;           /* columns of the Zipf table; 0: 10 */
    int backend;
    size_t chunk_bytes;            /* 0 = default */
    lanes_client_doc_fn on_doc;    /* optional: each document's result as it arrives */
    void *doc_ctx;
} lanes_client_corpus_job_t;

typedef struct lanes_client_zipf_row {
    char *book;                    /* the document's name without its extension */
    uint64_t *counts;              /* n_counts counts, in rank order */
    size_t n_counts;
} lanes_client_zipf_row_t;

typedef struct lanes_client_corpus_reply {
    lanes_client_zipf_row_t *zipf; /* n_zipf rows, documents in the order sent, failed ones left out */
    size_t n_zipf;
    uint32_t documents, failed;
    lanes_client_summary_t summary;
} lanes_client_corpus_reply_t;

/* Runs a Corpus job: sends the documents one after another (each file opened, streamed in pieces and
 * closed in turn) while results come back, hands each finished document to on_doc, and fills *reply
 * with the Zipf table. A file that cannot be opened aborts the job (NOT_FOUND, PERMISSION_DENIED or
 * CANCELLED, "client: cannot open ..." naming it), one that cannot be read too (CANCELLED); a
 * document the daemon fails is not an error of the call: its result has status != OK. On OK free *reply with
 * lanes_client_corpus_reply_free(); on failure it is zeroed. */
grpc_status_code lanes_client_corpus(lanes_client_t *c, const lanes_client_corpus_job_t *job,
                                     lanes_client_corpus_reply_t *reply, lanes_client_status_t *st);

void lanes_client_corpus_reply_free(lanes_client_corpus_reply_t *reply);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CLIENT_H */
