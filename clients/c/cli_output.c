/* cli_output.c: the lanes CLI's output writers (see cli.h).
 *
 * Design: every format the CLI writes is one function here, so each command only picks its writers:
 * the word-count course's files byte for byte as the course's Python writes them (the .dat line comes
 * from the base library, lanes_word_dat_line, with Python's float repr; the word ACF CSV is numpy's
 * "%.18e,%.18e"; the Zipf table is results.csv), the ACF as text columns or npy/raw arrays with
 * companion files, a reduction's value, Info as text or JSON (json_out.h escapes the strings), a job
 * summary, and a server error ("lanes: STATUS: message", exit status 1). Writers that report failure
 * flush their stream and return -1 when it failed, so a full disk is an error, not a short file.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

int cli_output_server_error(const lanes_client_status_t *st)
{
    fprintf(stderr, "lanes: %s: %s\n", lanes_client_status_name(st->code), st->message);
    return EXIT_SERVER;
}

void cli_output_summary(FILE *f, const lanes_client_summary_t *s)
{
    fprintf(f, "backend: %s%s%s%s\n", s->backend[0] ? s->backend : "(none)", s->reason[0] ? " (" : "",
            s->reason, s->reason[0] ? ")" : "");
    fprintf(f, "elements: %" PRIu64 "  chunks: %" PRIu64 "  bytes in: %" PRIu64 "  bytes out: %" PRIu64
               "  threads: %u\n",
            s->elements, s->chunks, s->bytes_in, s->bytes_out, s->threads);
    fprintf(f, "seconds: queued %.6f  compute %.6f  stream %.6f\n", s->queued_seconds, s->compute_seconds,
            s->stream_seconds);
}

/* ---- Info ---- */

static void json_strings(FILE *f, char **v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        json_write_string(f, v[i]);
    }
    fputc(']', f);
}

void cli_output_info_json(FILE *f, const Lanes__V1__InfoResponse *r)
{
    fputs("{\"version\": ", f);
    json_write_string(f, r->version);
    fputs(", \"grpc_core_version\": ", f);
    json_write_string(f, r->grpc_core_version);
    fputs(", \"backends\": [", f);
    for (size_t i = 0; i < r->n_backends; i++) {
        const Lanes__V1__BackendInfo *b = r->backends[i];
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        json_write_string(f, b->name);
        fprintf(f, ", \"compiled\": %s, \"available\": %s, \"detail\": ", b->compiled ? "true" : "false",
                b->available ? "true" : "false");
        json_write_string(f, b->detail);
        fputc('}', f);
    }
    fputs("], \"devices\": [", f);
    for (size_t i = 0; i < r->n_devices; i++) {
        const Lanes__V1__DeviceInfo *d = r->devices[i];
        fprintf(f, "%s{\"index\": %d, \"name\": ", i ? ", " : "", d->index);
        json_write_string(f, d->name);
        fprintf(f, ", \"memory_bytes\": %" PRIu64 ", \"compute_capability\": ", d->memory_bytes);
        json_write_string(f, d->compute_capability);
        fputc('}', f);
    }
    fprintf(f,
            "], \"cpu_threads\": %u, \"cq_threads\": %u, \"chunk_bytes\": %" PRIu64
            ", \"max_message_bytes\": %" PRIu64 ", \"inline_threshold\": %" PRIu64 ", \"map_functions\": ",
            r->cpu_threads, r->cq_threads, r->chunk_bytes, r->max_message_bytes, r->inline_threshold);
    json_strings(f, r->map_functions, r->n_map_functions);
    fputs(", \"reduce_ops\": ", f);
    json_strings(f, r->reduce_ops, r->n_reduce_ops);
    fprintf(f, ", \"max_calls\": %u, \"pid\": %u, \"uptime_seconds\": %.3f, \"online_cpus\": %u", r->max_calls,
            r->pid, r->uptime_seconds, r->online_cpus);
    fprintf(f,
            ", \"active_calls\": %u, \"active_control_calls\": %u, \"open_connections\": %u, "
            "\"max_connections\": %u, \"refused_connections\": %" PRIu64 ", \"idle_timeout_seconds\": %.3f, "
            "\"rss_bytes\": %" PRIu64 ", \"spool_bytes\": %" PRIu64 ", \"spools\": %u, \"memory_bytes\": %" PRIu64
            ", \"max_doc_bytes\": %" PRIu64 "}\n",
            r->active_calls, r->active_control_calls, r->open_connections, r->max_connections,
            r->refused_connections, r->idle_timeout_seconds, r->rss_bytes, r->spool_bytes, r->spools,
            r->memory_bytes, r->max_doc_bytes);
}

static void print_words(FILE *f, const char *label, char **v, size_t n)
{
    fprintf(f, "%s:", label);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s", v[i]);
    fprintf(f, "%s\n", n ? "" : " (none)");
}

void cli_output_info_text(FILE *f, const Lanes__V1__InfoResponse *r)
{
    fprintf(f, "lanesd %s (gRPC core %s), pid %u, up %.1f s\n", r->version, r->grpc_core_version, r->pid,
            r->uptime_seconds);
    fprintf(f, "backends:\n");
    for (size_t i = 0; i < r->n_backends; i++) {
        const Lanes__V1__BackendInfo *b = r->backends[i];
        const char *state = !b->compiled ? "not built" : b->available ? "available" : "unavailable";
        fprintf(f, "  %-14s %-12s %s\n", b->name, state, b->detail);
    }
    if (r->n_devices == 0)
        fprintf(f, "devices: none\n");
    else
        fprintf(f, "devices:\n");
    for (size_t i = 0; i < r->n_devices; i++) {
        const Lanes__V1__DeviceInfo *d = r->devices[i];
        fprintf(f, "  %d: %s, %.1f GiB, compute capability %s\n", d->index, d->name,
                (double)d->memory_bytes / (1024.0 * 1024 * 1024), d->compute_capability);
    }
    fprintf(f, "threads: %u OpenMP per job, %u completion-queue, %u online CPUs\n", r->cpu_threads,
            r->cq_threads, r->online_cpus);
    fprintf(f,
            "limits: chunk %" PRIu64 " bytes, max message %" PRIu64 " bytes, inline below %" PRIu64
            " elements, %u concurrent calls\n",
            r->chunk_bytes, r->max_message_bytes, r->inline_threshold, r->max_calls);
    fprintf(f,
            "now: %u job call(s) and %u Health/Info call(s) in progress, %u of at most %u connection(s) open, "
            "%" PRIu64 " refused since start; idle streams end after %g s\n",
            r->active_calls, r->active_control_calls, r->open_connections, r->max_connections,
            r->refused_connections, r->idle_timeout_seconds);
    fprintf(f, "memory: %.1f MiB (resident %.1f MiB, %u document spool(s) %.1f MiB); documents up to %.1f MiB\n",
            (double)r->memory_bytes / 1048576.0, (double)r->rss_bytes / 1048576.0, r->spools,
            (double)r->spool_bytes / 1048576.0, (double)r->max_doc_bytes / 1048576.0);
    print_words(f, "map functions", r->map_functions, r->n_map_functions);
    print_words(f, "reduce ops", r->reduce_ops, r->n_reduce_ops);
}

/* ---- reduce and acf ---- */

void cli_output_reduce(FILE *f, const lanes_client_reduce_reply_t *r)
{
    if (r->bins) {
        for (uint32_t b = 0; b < r->bins; b++)
            fprintf(f, "%.17g %.17g %" PRId64 "\n", r->edges[b], r->edges[b + 1], r->counts[b]);
    } else if (r->dtype == LANES_DTYPE_I64 || r->dtype == LANES_DTYPE_I32) {
        fprintf(f, "%" PRId64 "\n", r->int_value);
    } else {
        fprintf(f, "%.17g\n", r->value);
    }
}

/* Text columns: lag, acf, then lower and upper (alpha), then qstat and pvalue (qstat; nan at lag 0). */
int cli_output_acf_text(FILE *f, const lanes_client_acf_reply_t *r)
{
    fprintf(f, "# lag acf%s%s\n", r->confint ? " lower upper" : "", r->qstat ? " qstat pvalue" : "");
    for (uint64_t k = 0; k <= r->nlags; k++) {
        fprintf(f, "%" PRIu64 " %.17g", k, r->acf[k]);
        if (r->confint)
            fprintf(f, " %.17g %.17g", r->confint[2 * k], r->confint[2 * k + 1]);
        if (r->qstat) {
            if (k == 0)
                fputs(" nan nan", f);
            else
                fprintf(f, " %.17g %.17g", r->qstat[k - 1], r->pvalues[k - 1]);
        }
        fputc('\n', f);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* "dir/r.npy" + "confint" → "dir/r.confint.npy"; "r" → "r.confint". The caller frees it. */
static char *companion_path(const char *path, const char *what)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
        dot = path + strlen(path);
    size_t stem = (size_t)(dot - path), len = strlen(path) + strlen(what) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%.*s.%s%s", (int)stem, path, what, dot);
    return s;
}

/* npy or raw: the acf to path, confint (flat lower, upper pairs), qstat and pvalues to companions. */
int cli_output_acf_arrays(const char *path, arrayio_format_t fmt, const lanes_client_acf_reply_t *r)
{
    const struct {
        const char *what;
        const double *data;
        size_t n;
    } outs[] = {
        {NULL, r->acf, (size_t)r->nlags + 1},
        {"confint", r->confint, 2 * ((size_t)r->nlags + 1)},
        {"qstat", r->qstat, (size_t)r->nlags},
        {"pvalues", r->pvalues, (size_t)r->nlags},
    };
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        if (!outs[i].data)
            continue;
        char *p = outs[i].what ? companion_path(path, outs[i].what) : NULL;
        lanes_error_t err = {0};
        int rc = arrayio_write_path(p ? p : path, fmt, LANES_DTYPE_F64, outs[i].data, outs[i].n, &err);
        free(p);
        if (rc != 0) {
            fprintf(stderr, "lanes: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

/* ---- the word-count course's files ---- */

/* The course's .dat: "word count pct\n" per entry, pct = count / total * 100 as Python's repr. */
int cli_output_dat(FILE *f, const lanes_word_entry_t *e, size_t n, uint64_t total)
{
    char line[4096];
    for (size_t i = 0; i < n; i++) {
        int len;
        if (e[i].len + 64 > sizeof line || memchr(e[i].word, '\0', e[i].len)) {
            /* a long word, or one holding U+0000 (which %.*s would cut): the word, then the rest */
            lanes_word_entry_t rest = {"", 0, e[i].count};
            fwrite(e[i].word, 1, e[i].len, f);
            len = lanes_word_dat_line(&rest, total, line, sizeof line);
        } else {
            len = lanes_word_dat_line(&e[i], total, line, sizeof line);
        }
        if (len < 0 || (size_t)len >= sizeof line)
            return -1;
        fwrite(line, 1, (size_t)len, f);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* The course's word ACF CSV: "%.18e,%.18e\n" of (t + first_label, acf[t]). */
int cli_output_word_acf_csv(FILE *f, const double *acf, size_t n, uint64_t first_label)
{
    for (size_t t = 0; t < n; t++)
        fprintf(f, "%.18e,%.18e\n", (double)(t + first_label), acf[t]);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

int cli_output_zipf_csv(FILE *f, const lanes_client_corpus_reply_t *r, uint64_t k)
{
    fputs("Book", f);
    for (uint64_t i = 1; i <= k; i++)
        fprintf(f, ",word%" PRIu64, i);
    fputc('\n', f);
    for (size_t i = 0; i < r->n_zipf; i++) {
        fputs(r->zipf[i].book, f);
        for (size_t j = 0; j < r->zipf[i].n_counts; j++)
            fprintf(f, ",%" PRIu64, r->zipf[i].counts[j]);
        fputc('\n', f);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
