/* A document job of the process pool: what to compute on one document (lanes_doc_params_t), its
 * result (lanes_doc_result_t), and the result's binary layout in the memfd a worker hands back.
 *
 * Design: a worker runs the text kernels on a document and writes what they return into a new memfd
 * with lanes_doc_result_write(), then seals it (no write, shrink or grow). The daemon maps it read-only
 * with lanes_doc_result_map(), which first checks the seals, then every count, offset, length and
 * string against the file's size before anything points into it: a broken or hostile worker can fail
 * its own document, never crash the daemon or make it read outside the mapping. The layout is private
 * to this file (doc_job.c); both sides are the same binary, so integers are native-endian. Sections,
 * each 8-byte aligned:
 *
 *   header   magic, version, flags, total words, and (count, offset) of each section below
 *   entries  n_entries x {u64 word offset, u64 word length, u64 count}: the word table, in the
 *            counter's order (count descending, ties by first occurrence)
 *   top      n_top x the same: the word ACF's top words by rank, with their counts
 *   acf      acf_n doubles: the ACF averaged over the top words, lags 0 .. acf_n-1
 *   strings  the words, each NUL-terminated, at their offsets from the start of this section
 *
 * Threads: every function works on its own arguments only and is thread-safe.
 */
#ifndef LANES_DOC_JOB_H
#define LANES_DOC_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/error.h"
#include "lanes/text.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of the word ACF, as the course's script. */
#define LANES_DOC_ACF_NWORDS 16
#define LANES_DOC_ACF_TIMESTEPS 100
/* Bounds checked by lanes_doc_params_check() (they keep a worker's reply and the parent's copy of a
 * result small whatever a client asks). */
#define LANES_DOC_ACF_MAX_NWORDS 100000
#define LANES_DOC_ACF_MAX_TIMESTEPS 1000000

/* What to compute on a document; do_count and do_acf may both be set (at least one must be). */
typedef struct lanes_doc_params {
    int do_count;        /* the full word table and the total */
    size_t min_length;   /* words shorter than this (code points) are dropped, for both jobs */
    int do_acf;          /* the word ACF of the top words */
    int acf_mode;        /* lanes_word_acf_mode_t: LANES_WORD_ACF_EXACT or LANES_WORD_ACF_COURSE */
    size_t nwords;       /* top words averaged; 0 means LANES_DOC_ACF_NWORDS */
    size_t timesteps;    /* lags; 0 means LANES_DOC_ACF_TIMESTEPS */
} lanes_doc_params_t;

/* One document's result, handed to the pool's done() callback. The receiver owns it and frees it
 * with lanes_doc_result_free(); the pointers below stay valid until then. */
typedef struct lanes_doc_result {
    lanes_error_t err;                 /* code 0, or why this document failed (LANES_E*: the client sees
                                        * its status, edge/status.c) with a message naming the document */
    int has_count, has_acf;            /* which parts are filled (as asked, when status is OK) */
    uint64_t total_words;              /* words counted (after min_length) */
    size_t n_entries;                  /* word table (has_count) */
    const lanes_word_entry_t *entries;
    size_t acf_n;                      /* the ACF, acf_n = timesteps values (has_acf) */
    const double *acf;
    size_t n_top;                      /* the top words by rank and their counts (has_acf) */
    const lanes_word_entry_t *top;
    int worker;                        /* pool slot that ran it last, -1 if none */
    int pid;                           /* that worker's pid, 0 if none */
    unsigned attempts;                 /* workers that started it (more than 1 after a crash) */
    uint64_t compute_ns;               /* the worker's time in the kernels (last attempt) */
    /* private */
    void *map_;
    size_t map_len_;
    lanes_word_entry_t *alloc_;
} lanes_doc_result_t;

/* Fills in the defaults (nwords, timesteps) and checks the parameters. Returns 0, or LANES_EINVAL
 * with err set. Thread-safe. */
int lanes_doc_params_check(lanes_doc_params_t *p, lanes_error_t *err);

/* A new empty result (no error, worker -1): the caller owns it (lanes_doc_result_free()). Returns
 * NULL when out of memory. Thread-safe. */
lanes_doc_result_t *lanes_doc_result_new(void);

/* Frees a result and unmaps its memory; NULL is allowed. Thread-safe on distinct results. */
void lanes_doc_result_free(lanes_doc_result_t *res);

/* Worker side: writes the public fields of res (has_count, total_words, entries, has_acf, top, acf;
 * the pointers are borrowed for the call) into fd, an empty memfd created with MFD_ALLOW_SEALING, and
 * seals it. Writes with write(2), so the result costs no address space in the worker. Returns 0, or
 * LANES_ENOMEM (the file could not grow) / LANES_EINVAL with err set. */
int lanes_doc_result_write(int fd, const lanes_doc_result_t *res, lanes_error_t *err);

/* Parent side: maps the sealed memfd fd (borrowed; the mapping outlives it) and fills res's counts
 * and pointers after checking every bound, that the parts p asked for are there, and that the file is
 * no larger than any result of a doc_len-byte document can be (so a hostile worker cannot make the
 * daemon allocate more than a real result would). Returns 0, or LANES_EINVAL (a malformed result) /
 * LANES_ENOMEM with err saying what is wrong and res left empty (nothing mapped). Thread-safe on
 * distinct results. */
int lanes_doc_result_map(int fd, const lanes_doc_params_t *p, uint64_t doc_len, lanes_doc_result_t *res,
                         lanes_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* LANES_DOC_JOB_H */
