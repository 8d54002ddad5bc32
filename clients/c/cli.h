/* The lanes CLI's internal interface: what its modules share (not installed, not for other programs).
 *
 * Design: the CLI (see lanes_cli.c) is five modules, one file each, named by their function prefix:
 *   - lanes_cli.c: main, the command table, and the info and health commands;
 *   - cli_opts.c (cli_opts_*): the option iterator and its help, usage errors, value parsing, the
 *     options every command (--server, --timeout) and every job (--chunk-bytes, --backend, --stream,
 *     --summary) takes, and the client those name;
 *   - cli_array.c (cli_array_*): the array commands map, reduce and acf;
 *   - cli_text.c (cli_text_*): the text commands wordcount, wordacf and corpus, on one runner;
 *   - cli_output.c (cli_output_*): the output writers: the course's .dat, word ACF CSV and Zipf
 *     table, ACF and reduce results, Info, job summaries and server errors.
 * A command is `int cmd(globals_t *g, int argc, char **argv)` returning the exit code. Everything
 * runs on the main thread.
 */
#ifndef LANES_CLI_H
#define LANES_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "arrayio.h"
#include "client.h"

#define EXIT_OK 0
#define EXIT_SERVER 1
#define EXIT_USAGE 2

#define DEFAULT_SERVER "127.0.0.1:50051"

/* The global options: where the daemon is and the calls' deadline (0: none). */
typedef struct globals {
    const char *server;
    double timeout;
} globals_t;

/* ---- options (cli_opts.c) ---- */

typedef struct optspec {
    const char *name;  /* without the leading "--" */
    const char *arg;   /* the argument's name in help, NULL for a flag */
    const char *help;
} optspec_t;

typedef struct optiter {
    int argc;
    char **argv;
    int i;
    int only_positional; /* after "--" */
    const char *cmd;     /* "lanes map" ... for messages */
} optiter_t;

enum { OPT_END, OPT_OPTION, OPT_POSITIONAL, OPT_ERROR };

/* The global options' entries of a command's table (each table ends with {NULL, NULL, NULL}). */
#define GLOBAL_OPTSPECS                                                                              \
    {"server", "HOST:PORT", "the daemon (default $LANES_SERVER or " DEFAULT_SERVER ")"},           \
        {"timeout", "SECONDS", "deadline of the call (default none)"},                              \
        {"help", NULL, "print this help"}

/* Prints "CMD: message" and the hint to --help on stderr; returns EXIT_USAGE. */
int cli_opts_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The next argument: OPT_OPTION with *spec and *val (NULL for flags), OPT_POSITIONAL with *val,
 * OPT_END, or OPT_ERROR after printing a message. "--name value", "--name=value", "--" and "-h". */
int cli_opts_next(optiter_t *it, const optspec_t *specs, const optspec_t **spec, const char **val);

/* One help line per option; a help text may hold '\n' to continue on an indented line. */
void cli_opts_print(FILE *f, const optspec_t *specs);

/* A whole string as a double (strtod) / an unsigned decimal integer. Return 0 or -1. */
int cli_opts_parse_double(const char *s, double *out);
int cli_opts_parse_u64(const char *s, uint64_t *out);

/* Options every job command takes: --chunk-bytes, --backend, --stream, --summary. */
typedef struct job_opts {
    uint64_t chunk_bytes;
    int backend, stream, want_summary;
} job_opts_t;

/* Applies a job option. Returns 1 if 'name' is one (and was valid), -1 after printing a usage error
 * for a bad value, 0 if 'name' is no job option. */
int cli_opts_job(const char *cmd, const char *name, const char *val, job_opts_t *jo);

/* Applies a global option (--server, --timeout): 1 if handled, 0 if not one of them, -1 on a bad
 * value (message printed). */
int cli_opts_global(const char *cmd, globals_t *g, const char *name, const char *val);

/* A client of the daemon the global options name, with their deadline; exits on out of memory.
 * The caller frees it with lanes_client_free(). */
lanes_client_t *cli_opts_connect(const globals_t *g);

/* ---- output writers (cli_output.c): those returning int give 0, or -1 when writing failed ---- */

/* Prints "lanes: STATUS: message" on stderr; returns EXIT_SERVER. */
int cli_output_server_error(const lanes_client_status_t *st);
/* The job summary: backend and reason, counts, seconds (three lines). */
void cli_output_summary(FILE *f, const lanes_client_summary_t *s);
/* Info as text, or as one JSON object. */
void cli_output_info_text(FILE *f, const Lanes__V1__InfoResponse *r);
void cli_output_info_json(FILE *f, const Lanes__V1__InfoResponse *r);
/* A reduction: the value (%.17g, integers as integers), or "lo hi count" per histogram bin. */
void cli_output_reduce(FILE *f, const lanes_client_reduce_reply_t *r);
/* ACF text columns: lag, acf, then lower and upper (alpha), then qstat and pvalue (nan at lag 0). */
int cli_output_acf_text(FILE *f, const lanes_client_acf_reply_t *r);
/* ACF as npy or raw: the acf to path, confint (flat lower, upper pairs), qstat and pvalues to
 * companion files (path "r.npy": "r.confint.npy" ...); errors are printed. */
int cli_output_acf_arrays(const char *path, arrayio_format_t fmt, const lanes_client_acf_reply_t *r);
/* The course's .dat: "word count pct\n" per entry, pct = count / total * 100 as Python's repr. */
int cli_output_dat(FILE *f, const lanes_word_entry_t *e, size_t n, uint64_t total);
/* The course's word ACF CSV: "%.18e,%.18e\n" of (t + first_label, acf[t]). */
int cli_output_word_acf_csv(FILE *f, const double *acf, size_t n, uint64_t first_label);
/* The course's Zipf table (results.csv): "Book,word1,...,wordK", then "book,count1,..." per book. */
int cli_output_zipf_csv(FILE *f, const lanes_client_corpus_reply_t *r, uint64_t k);

/* ---- commands ---- */

int cli_array_map(globals_t *g, int argc, char **argv);
int cli_array_reduce(globals_t *g, int argc, char **argv);
int cli_array_acf(globals_t *g, int argc, char **argv);
int cli_text_wordcount(globals_t *g, int argc, char **argv);
int cli_text_wordacf(globals_t *g, int argc, char **argv);
int cli_text_corpus(globals_t *g, int argc, char **argv);

#endif /* LANES_CLI_H */
