/* cli_text.c: the lanes CLI's text commands, the word-count course's jobs: wordcount, wordacf and
 * corpus (see cli.h).
 *
 * Design: the three commands run on one runner, text_command(). A command is a text_command_t: its
 * help and option table, what a positional argument is to it (wordcount and wordacf take one BOOK;
 * corpus takes books and directories of *.txt files) and what it runs once its options are read. The
 * text options (--min-length, --top, --nwords, --timesteps, --mode, --zipf-words, --out, --no-count,
 * --no-acf) are applied by one table-driven function, then the job options and the global ones.
 * wordcount and wordacf share book_run(): open the BOOK ('-' is stdin), connect, run the job, which
 * streams the text to the daemon and writes the course's file on stdout. corpus checks that the books'
 * names (and so their output files) are unique, then writes DIR/<name>.dat and DIR/<name>.csv as each
 * book finishes and DIR/results.csv at the end, all through corpus_write(); a failed book is reported
 * and the others still written (exit status 1). The formats themselves are cli_output.c's.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- what the text commands share ---- */

/* Opens a text to stream ('-' is stdin). Returns the descriptor, or -1 after printing why (exit 2). */
static int open_text(const char *cmd, const char *path)
{
    if (strcmp(path, "-") == 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", cmd, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: '%s' is a directory\n", cmd, path);
        close(fd);
        return -1;
    }
    return fd;
}

static int parse_word_acf_mode(const char *s, int *out)
{
    if (strcmp(s, "exact") == 0)
        *out = LANES__V1__WORD_ACF_SPEC__MODE__EXACT;
    else if (strcmp(s, "course") == 0)
        *out = LANES__V1__WORD_ACF_SPEC__MODE__COURSE;
    else
        return -1;
    return 0;
}

/* Options of the text commands; each command's table lists the ones it takes. */
typedef struct text_opts {
    uint64_t min_length, top, nwords, timesteps, zipf_words;
    int mode, no_count, no_acf;
    const char *out;
} text_opts_t;

/* Applies a text option. Returns 1 if 'name' is one (and valid), -1 after a usage error, 0 if not. */
static int text_option(const char *cmd, const char *name, const char *val, text_opts_t *to)
{
    static const struct {
        const char *name;
        size_t offset;
        uint64_t lo, hi;
    } counts[] = {
        {"min-length", offsetof(text_opts_t, min_length), 0, UINT32_MAX},
        {"top", offsetof(text_opts_t, top), 0, UINT64_MAX},
        {"nwords", offsetof(text_opts_t, nwords), 1, UINT32_MAX},
        {"timesteps", offsetof(text_opts_t, timesteps), 1, UINT32_MAX},
        {"zipf-words", offsetof(text_opts_t, zipf_words), 1, UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        if (strcmp(name, counts[i].name) != 0)
            continue;
        uint64_t v;
        if (cli_opts_parse_u64(val, &v) || v < counts[i].lo || v > counts[i].hi) {
            cli_opts_usage_error(cmd, "bad --%s '%s' (an integer %s)", name, val, counts[i].lo ? "> 0" : ">= 0");
            return -1;
        }
        *(uint64_t *)((char *)to + counts[i].offset) = v;
        return 1;
    }
    if (strcmp(name, "mode") == 0) {
        if (parse_word_acf_mode(val, &to->mode)) {
            cli_opts_usage_error(cmd, "bad --mode '%s' (exact or course)", val);
            return -1;
        }
    } else if (strcmp(name, "no-count") == 0) {
        to->no_count = 1;
    } else if (strcmp(name, "no-acf") == 0) {
        to->no_acf = 1;
    } else if (strcmp(name, "out") == 0) {
        to->out = val;
    } else {
        return 0;
    }
    return 1;
}

#define TEXT_JOB_OPTSPECS                                                                          \
    {"chunk-bytes", "N", "text bytes per message (default 1M; at most 4M)"},                     \
        {"backend", "NAME", "auto (default), inline, cpu, process-pool or cuda"},                  \
        {"summary", NULL, "print the job summary on stderr"}

#define WORD_ACF_OPTSPECS                                                                          \
    {"mode", "exact|course", "exact (default): lags 0..T-1, pairs from position 0;\n"            \
                             "course: the course script bit for bit, lags labelled 1..T"},        \
        {"nwords", "N", "the top words averaged (default 16)"},                                    \
        {"timesteps", "T", "lags per word (default 100)"}

/* A growing list of the books of a corpus. */
typedef struct book_list {
    char **paths;
    size_t n, cap;
} book_list_t;

static void book_list_free(book_list_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->paths[i]);
    free(b->paths);
    memset(b, 0, sizeof *b);
}

static int book_list_add(book_list_t *b, const char *dir, const char *name)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        char **p = realloc(b->paths, cap * sizeof *p);
        if (!p)
            return -1;
        b->paths = p;
        b->cap = cap;
    }
    size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char *s = malloc(len);
    if (!s)
        return -1;
    if (dir)
        snprintf(s, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    else
        snprintf(s, len, "%s", name);
    b->paths[b->n++] = s;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds a file, or a directory's *.txt files in name order. Returns 0 or an exit code (printed). */
static int corpus_add(const char *cmd, book_list_t *b, const char *arg)
{
    struct stat sb;
    if (stat(arg, &sb) != 0) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", cmd, arg, strerror(errno));
        return EXIT_USAGE;
    }
    if (!S_ISDIR(sb.st_mode)) {
        if (access(arg, R_OK) != 0) {
            fprintf(stderr, "%s: cannot open '%s': %s\n", cmd, arg, strerror(errno));
            return EXIT_USAGE;
        }
        return book_list_add(b, NULL, arg) ? (fprintf(stderr, "%s: out of memory\n", cmd), EXIT_SERVER) : 0;
    }
    DIR *d = opendir(arg);
    if (!d) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", cmd, arg, strerror(errno));
        return EXIT_USAGE;
    }
    size_t first = b->n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".txt") != 0)
            continue;
        if (book_list_add(b, arg, e->d_name)) {
            closedir(d);
            fprintf(stderr, "%s: out of memory\n", cmd);
            return EXIT_SERVER;
        }
        if (stat(b->paths[b->n - 1], &sb) != 0 || !S_ISREG(sb.st_mode))
            free(b->paths[--b->n]);
    }
    closedir(d);
    if (b->n == first) {
        fprintf(stderr, "%s: no .txt files in '%s'\n", cmd, arg);
        return EXIT_USAGE;
    }
    qsort(b->paths + first, b->n - first, sizeof *b->paths, cmp_str);
    return 0;
}

/* The file name of a path without its extension (Python's Path(p).stem): a new string. */
static char *path_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, base, len);
        s[len] = '\0';
    }
    return s;
}

/* ---- the one runner of the text commands ---- */

typedef struct text_command text_command_t;

/* A text command's options and arguments once read. */
typedef struct text_args {
    const text_command_t *tc;
    const char *cmd;      /* "lanes wordcount" ..., for messages */
    text_opts_t to;
    job_opts_t jo;
    const char *book;     /* wordcount, wordacf: the one BOOK */
    book_list_t books;    /* corpus: the books, in the order given */
} text_args_t;

/* A text command: its help and options, what a positional argument is to it, and what it runs. */
struct text_command {
    const char *cmd;
    const char *usage;       /* the help before the options */
    const optspec_t *opts;
    /* Takes one positional argument; returns an exit code (EXIT_OK to go on). */
    int (*add)(text_args_t *a, const char *arg);
    /* Runs the command once its options are read; returns the exit code. */
    int (*run)(globals_t *g, text_args_t *a);
    /* For book_run: the job on the opened BOOK (fd) with a client; returns the exit code. */
    int (*job)(lanes_client_t *c, int fd, const text_args_t *a);
};

/* Reads a text command's options and arguments (stopping at the first error) and runs it. */
static int text_command(globals_t *g, int argc, char **argv, const text_command_t *tc)
{
    optiter_t it = {argc, argv, 0, 0, tc->cmd};
    text_args_t a;
    memset(&a, 0, sizeof a);
    a.tc = tc;
    a.cmd = tc->cmd;
    const optspec_t *spec;
    const char *val;
    int k, handled, rc = EXIT_OK;
    while (rc == EXIT_OK && (k = cli_opts_next(&it, tc->opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR) {
            rc = EXIT_USAGE;
        } else if (k == OPT_POSITIONAL) {
            rc = tc->add(&a, val);
        } else if (strcmp(spec->name, "help") == 0) {
            fputs(tc->usage, stdout);
            cli_opts_print(stdout, tc->opts);
            book_list_free(&a.books);
            return EXIT_OK;
        } else if ((handled = text_option(it.cmd, spec->name, val, &a.to)) != 0 ||
                   (handled = cli_opts_job(it.cmd, spec->name, val, &a.jo)) != 0) {
            rc = handled < 0 ? EXIT_USAGE : EXIT_OK;
        } else if (cli_opts_global(it.cmd, g, spec->name, val) < 0) {
            rc = EXIT_USAGE;
        }
    }
    if (rc == EXIT_OK)
        rc = tc->run(g, &a);
    book_list_free(&a.books);
    return rc;
}

/* wordcount, wordacf: the one BOOK. */
static int one_book(text_args_t *a, const char *arg)
{
    if (a->book)
        return cli_opts_usage_error(a->cmd, "unexpected argument '%s' (the book is '%s')", arg, a->book);
    a->book = arg;
    return EXIT_OK;
}

/* wordcount, wordacf: opens the BOOK ('-': stdin), runs the command's job on it, closes both. */
static int book_run(globals_t *g, text_args_t *a)
{
    if (!a->book)
        return cli_opts_usage_error(a->cmd, "missing BOOK (a UTF-8 text file, or '-' for stdin)");
    int fd = open_text(a->cmd, a->book);
    if (fd < 0)
        return EXIT_USAGE;
    lanes_client_t *c = cli_opts_connect(g);
    int rc = a->tc->job(c, fd, a);
    lanes_client_free(c);
    if (fd > 0)
        close(fd);
    return rc;
}

/* ---- wordcount ---- */

static const optspec_t wordcount_opts[] = {
    {"min-length", "N", "drop words shorter than N characters (default 0: keep all)"},
    {"top", "N", "only the N most frequent words (default 0: all)"},
    TEXT_JOB_OPTSPECS,
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

/* wordcount: the .dat on stdout. */
static int wordcount_job(lanes_client_t *c, int fd, const text_args_t *a)
{
    lanes_client_word_count_job_t job;
    memset(&job, 0, sizeof job);
    job.text.fd = fd;
    job.min_length = (uint32_t)a->to.min_length;
    job.top = a->to.top;
    job.backend = a->jo.backend;
    job.chunk_bytes = (size_t)a->jo.chunk_bytes;

    lanes_client_status_t st;
    int rc = EXIT_OK;
    lanes_client_word_count_reply_t reply;
    if (lanes_client_word_count(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = cli_output_server_error(&st);
    } else {
        if (cli_output_dat(stdout, reply.entries, reply.n_entries, reply.total_words) != 0) {
            fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
            rc = EXIT_SERVER;
        }
        if (a->jo.want_summary) {
            fprintf(stderr, "words: %" PRIu64 " counted, %" PRIu64 " distinct\n", reply.total_words,
                    reply.distinct_words);
            cli_output_summary(stderr, &reply.summary);
        }
    }
    lanes_client_word_count_reply_free(&reply);
    return rc;
}

static const text_command_t wordcount_command = {
    "lanes wordcount",
    "Usage: lanes wordcount BOOK [--min-length N] [--top N] > BOOK.dat\n"
    "Counts the words of a UTF-8 text as the word-count course does (. , ; : ? $ @ ^ < > #\n"
    "% ` ! * - = ( ) [ ] { } / \" ' are spaces; Python's split() and lower()) and prints\n"
    "its .dat: 'word count percent' per line, most frequent first. BOOK '-' is stdin;\n"
    "the text is streamed, never read whole.\n\nOptions:\n",
    wordcount_opts, one_book, book_run, wordcount_job,
};

int cli_text_wordcount(globals_t *g, int argc, char **argv)
{
    return text_command(g, argc, argv, &wordcount_command);
}

/* ---- wordacf ---- */

static const optspec_t wordacf_opts[] = {
    WORD_ACF_OPTSPECS,
    {"min-length", "N", "drop words shorter than N characters (default 0: keep all)"},
    TEXT_JOB_OPTSPECS,
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

/* wordacf: the CSV on stdout. */
static int wordacf_job(lanes_client_t *c, int fd, const text_args_t *a)
{
    lanes_client_word_acf_job_t job;
    memset(&job, 0, sizeof job);
    job.text.fd = fd;
    job.mode = a->to.mode;
    job.nwords = (uint32_t)a->to.nwords;
    job.timesteps = (uint32_t)a->to.timesteps;
    job.min_length = (uint32_t)a->to.min_length;
    job.backend = a->jo.backend;
    job.chunk_bytes = (size_t)a->jo.chunk_bytes;

    lanes_client_status_t st;
    int rc = EXIT_OK;
    lanes_client_word_acf_reply_t reply;
    if (lanes_client_word_acf(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = cli_output_server_error(&st);
    } else {
        if (cli_output_word_acf_csv(stdout, reply.acf, reply.n_acf, reply.first_label) != 0) {
            fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
            rc = EXIT_SERVER;
        }
        if (a->jo.want_summary) {
            fprintf(stderr, "words: %" PRIu64 " counted; top:", reply.total_words);
            for (size_t i = 0; i < reply.n_words; i++)
                fprintf(stderr, " %s (%" PRIu64 ")", reply.words[i], reply.counts[i]);
            fputc('\n', stderr);
            cli_output_summary(stderr, &reply.summary);
        }
    }
    lanes_client_word_acf_reply_free(&reply);
    return rc;
}

static const text_command_t wordacf_command = {
    "lanes wordacf",
    "Usage: lanes wordacf BOOK [--mode exact|course] [--nwords N] [--timesteps T] > acf.csv\n"
    "The word autocorrelation of a UTF-8 text (the word-count course's): for each of the N\n"
    "most frequent words, the share of its occurrences followed by itself t words later,\n"
    "averaged over the words. Prints CSV rows 'lag,value' (%.18e). BOOK '-' is stdin.\n"
    "\nOptions:\n",
    wordacf_opts, one_book, book_run, wordacf_job,
};

int cli_text_wordacf(globals_t *g, int argc, char **argv)
{
    return text_command(g, argc, argv, &wordacf_command);
}

/* ---- corpus ---- */

static const optspec_t corpus_opts[] = {
    {"out", "DIR", "where the .dat, .csv and results.csv files go (created if missing)"},
    {"no-count", NULL, "no word tables (.dat files)"},
    {"no-acf", NULL, "no word ACFs (.csv files)"},
    WORD_ACF_OPTSPECS,
    {"min-length", "N", "drop words shorter than N characters (default 0: keep all)"},
    {"zipf-words", "N", "columns of results.csv (default 10)"},
    TEXT_JOB_OPTSPECS,
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

/* corpus: a book file, or a directory's *.txt files in name order. */
static int corpus_add_arg(text_args_t *a, const char *arg)
{
    return corpus_add(a->cmd, &a->books, arg);
}

typedef struct corpus_out {
    const char *cmd, *dir;
    int want_dat, want_csv;
    size_t n_docs, finished, failed;
    char **failed_names;  /* n_docs slots: the documents that failed, in the order given */
} corpus_out_t;

/* Writes DIR/<stem>.<ext> with writer(f, arg). Returns 0, or -1 after printing why. */
static int corpus_write(const corpus_out_t *co, const char *stem, const char *ext,
                        int (*writer)(FILE *, const void *), const void *arg)
{
    size_t len = strlen(co->dir) + strlen(stem) + strlen(ext) + 3;
    char *path = malloc(len);
    if (!path)
        return -1;
    snprintf(path, len, "%s/%s.%s", co->dir, stem, ext);
    FILE *f = fopen(path, "w");
    int bad = !f || writer(f, arg) != 0;
    if (f && fclose(f) != 0)
        bad = 1;
    if (bad)
        fprintf(stderr, "%s: cannot write '%s': %s\n", co->cmd, path, strerror(errno));
    free(path);
    return bad ? -1 : 0;
}

/* The writers of corpus_write: a document's .dat and .csv, the Zipf table (results.csv). */
static int doc_write_dat(FILE *f, const void *doc)
{
    const lanes_client_doc_result_t *d = doc;
    return cli_output_dat(f, d->entries, d->n_entries, d->total_words);
}

static int doc_write_csv(FILE *f, const void *doc)
{
    const lanes_client_doc_result_t *d = doc;
    return cli_output_word_acf_csv(f, d->acf, d->n_acf, d->first_label);
}

typedef struct zipf_table {
    const lanes_client_corpus_reply_t *reply;
    uint64_t k; /* columns */
} zipf_table_t;

static int zipf_write(FILE *f, const void *table)
{
    const zipf_table_t *z = table;
    return cli_output_zipf_csv(f, z->reply, z->k);
}

/* One finished document: its files, and one progress line on stderr. */
static int corpus_on_doc(void *ctx, const lanes_client_doc_result_t *d)
{
    corpus_out_t *co = ctx;
    char *stem = path_stem(d->name);
    if (!stem)
        return -1;
    co->finished++;
    int failed = d->status != GRPC_STATUS_OK;
    if (!failed && co->want_dat && corpus_write(co, stem, "dat", doc_write_dat, d) != 0)
        failed = 2;
    if (!failed && co->want_csv && corpus_write(co, stem, "csv", doc_write_csv, d) != 0)
        failed = 2;
    if (failed == 1)
        fprintf(stderr, "%s: [%zu/%zu] %s: FAILED: %s: %s\n", co->cmd, co->finished, co->n_docs, d->name,
                lanes_client_status_name(d->status), d->error);
    else if (failed == 0)
        fprintf(stderr, "%s: [%zu/%zu] %s: %" PRIu64 " words, %.3f s, %s%s\n", co->cmd, co->finished,
                co->n_docs, d->name, d->total_words, d->seconds, d->backend,
                d->attempts > 1 ? " (retried)" : "");
    if (failed) {
        co->failed++;
        co->failed_names[d->index] = stem;
        return 0;
    }
    free(stem);
    return 0;
}

static int corpus_run(globals_t *g, const book_list_t *books, const text_opts_t *to, const job_opts_t *jo,
                      corpus_out_t *co)
{
    lanes_client_corpus_job_t job;
    memset(&job, 0, sizeof job);
    job.paths = (const char *const *)books->paths;
    job.n_docs = books->n;
    job.word_count = !to->no_count;
    job.word_acf = !to->no_acf;
    job.min_length = (uint32_t)to->min_length;
    job.mode = to->mode;
    job.nwords = (uint32_t)to->nwords;
    job.timesteps = (uint32_t)to->timesteps;
    job.zipf_words = (uint32_t)to->zipf_words;
    job.backend = jo->backend;
    job.chunk_bytes = (size_t)jo->chunk_bytes;
    job.on_doc = corpus_on_doc;
    job.doc_ctx = co;

    lanes_client_t *c = cli_opts_connect(g);
    lanes_client_status_t st;
    lanes_client_corpus_reply_t reply;
    int rc = EXIT_OK;
    if (lanes_client_corpus(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = cli_output_server_error(&st);
    } else {
        zipf_table_t z = {&reply, to->zipf_words ? to->zipf_words : 10};
        if (corpus_write(co, "results", "csv", zipf_write, &z) != 0)
            rc = EXIT_SERVER;
        if (jo->want_summary) {
            fprintf(stderr, "documents: %u, failed: %u\n", reply.documents, reply.failed);
            cli_output_summary(stderr, &reply.summary);
        }
    }
    lanes_client_corpus_reply_free(&reply);
    lanes_client_free(c);
    if (co->failed) {
        fprintf(stderr, "%s: %zu of %zu documents failed:", co->cmd, co->failed, co->n_docs);
        for (size_t i = 0; i < co->n_docs; i++)
            if (co->failed_names[i])
                fprintf(stderr, " %s", books->paths[i]);
        fputc('\n', stderr);
        rc = EXIT_SERVER;
    }
    return rc;
}

/* Checks that the documents' file names (and so their output files) are unique. */
static int corpus_unique_names(const char *cmd, const book_list_t *b)
{
    char **stems = calloc(b->n ? b->n : 1, sizeof *stems);
    int rc = stems ? EXIT_OK : EXIT_SERVER;
    for (size_t i = 0; rc == EXIT_OK && i < b->n; i++)
        if (!(stems[i] = path_stem(b->paths[i])))
            rc = EXIT_SERVER;
    if (rc == EXIT_OK)
        qsort(stems, b->n, sizeof *stems, cmp_str);
    for (size_t i = 1; rc == EXIT_OK && i < b->n; i++)
        if (strcmp(stems[i - 1], stems[i]) == 0) {
            fprintf(stderr, "%s: two books are named '%s' (their output files would collide)\n", cmd, stems[i]);
            rc = EXIT_USAGE;
        }
    for (size_t i = 0; stems && i < b->n; i++)
        free(stems[i]);
    free(stems);
    return rc;
}

/* corpus: checks the books and --out, makes DIR, runs the corpus. */
static int corpus_cmd_run(globals_t *g, text_args_t *a)
{
    if (a->books.n == 0)
        return cli_opts_usage_error(a->cmd, "missing DIR_OR_FILES (the books)");
    if (!a->to.out)
        return cli_opts_usage_error(a->cmd, "missing --out DIR");
    int rc = corpus_unique_names(a->cmd, &a->books);
    if (rc == EXIT_OK && mkdir(a->to.out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create '%s': %s\n", a->cmd, a->to.out, strerror(errno));
        rc = EXIT_SERVER;
    }
    if (rc == EXIT_OK) {
        corpus_out_t co = {a->cmd, a->to.out, !a->to.no_count, !a->to.no_acf, a->books.n, 0, 0,
                           calloc(a->books.n, sizeof(char *))};
        if (!co.failed_names) {
            fprintf(stderr, "%s: out of memory\n", a->cmd);
            rc = EXIT_SERVER;
        } else {
            rc = corpus_run(g, &a->books, &a->to, &a->jo, &co);
            for (size_t i = 0; i < a->books.n; i++)
                free(co.failed_names[i]);
            free(co.failed_names);
        }
    }
    return rc;
}

static const text_command_t corpus_command = {
    "lanes corpus",
    "Usage: lanes corpus DIR_OR_FILES... --out DIR [--no-count] [--no-acf] [--mode exact|course]\n"
    "Runs many books on the daemon's process pool: for each, DIR/<name>.dat (its word count,\n"
    "as 'lanes wordcount') and DIR/<name>.csv (its word ACF, as 'lanes wordacf'), then the\n"
    "Zipf table DIR/results.csv ('Book,word1,...' and the top counts of each book, in the\n"
    "order given). <name> is the file name without its extension; a directory stands for its\n"
    "*.txt files in name order. One line per finished book goes to stderr; if any book\n"
    "fails, the others are still written and the exit status is 1.\n\nOptions:\n",
    corpus_opts, corpus_add_arg, corpus_cmd_run, NULL,
};

int cli_text_corpus(globals_t *g, int argc, char **argv)
{
    return text_command(g, argc, argv, &corpus_command);
}
