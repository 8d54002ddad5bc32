/* cli_opts.c: the lanes CLI's options (see cli.h).
 *
 * Design: a command describes its options in a table of optspec_t (name, argument, help), which both
 * drives parsing and prints its help. One iterator, cli_opts_next(), walks argv: "--name value",
 * "--name=value", "-h" for --help, "--" ends the options, and a negative number is a positional
 * argument ("lanes ... -3"). Options shared by several commands are applied by one function each
 * (cli_opts_global for --server and --timeout, cli_opts_job for the job options), which return 0 for
 * a name that is not theirs, so a command tries them in turn. Usage errors print "CMD: message" and
 * a hint to --help and give exit status 2. Byte counts (--chunk-bytes) use the base library's
 * parser (lanes/bytes.h), the one lanesd's configuration uses.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes/bytes.h"

/* ---- the option iterator and its help ---- */

int cli_opts_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", cmd);
    return EXIT_USAGE;
}

int cli_opts_next(optiter_t *it, const optspec_t *specs, const optspec_t **spec, const char **val)
{
    if (it->i >= it->argc)
        return OPT_END;
    const char *a = it->argv[it->i++];
    if (it->only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
        *val = a;
        return OPT_POSITIONAL;
    }
    if (strcmp(a, "--") == 0) {
        it->only_positional = 1;
        return cli_opts_next(it, specs, spec, val);
    }
    if (strcmp(a, "-h") == 0)
        a = "--help";
    if (a[1] != '-') {
        /* A negative number is a positional argument ("lanes ... -3"), anything else an error. */
        char *end;
        strtod(a, &end);
        if (*end == '\0') {
            *val = a;
            return OPT_POSITIONAL;
        }
        cli_opts_usage_error(it->cmd, "unknown option '%s'", a);
        return OPT_ERROR;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    for (const optspec_t *s = specs; s->name; s++) {
        if (strlen(s->name) != nlen || strncmp(s->name, name, nlen) != 0)
            continue;
        *spec = s;
        if (!s->arg) {
            if (eq) {
                cli_opts_usage_error(it->cmd, "option '--%s' takes no value", s->name);
                return OPT_ERROR;
            }
            *val = NULL;
        } else if (eq) {
            *val = eq + 1;
        } else if (it->i < it->argc) {
            *val = it->argv[it->i++];
        } else {
            cli_opts_usage_error(it->cmd, "option '--%s' needs a value (%s)", s->name, s->arg);
            return OPT_ERROR;
        }
        return OPT_OPTION;
    }
    cli_opts_usage_error(it->cmd, "unknown option '--%.*s'", (int)nlen, name);
    return OPT_ERROR;
}

void cli_opts_print(FILE *f, const optspec_t *specs)
{
    enum { WIDTH = 27 };
    for (const optspec_t *s = specs; s->name; s++) {
        char left[64];
        if (s->arg)
            snprintf(left, sizeof left, "--%s %s", s->name, s->arg);
        else
            snprintf(left, sizeof left, "--%s", s->name);
        if (strlen(left) > WIDTH)
            fprintf(f, "  %s\n  %-*s ", left, WIDTH, "");
        else
            fprintf(f, "  %-*s ", WIDTH, left);
        for (const char *h = s->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n')
                fprintf(f, "  %-*s ", WIDTH, "");
        }
        fputc('\n', f);
    }
}

/* ---- value parsing ---- */

int cli_opts_parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int cli_opts_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static int parse_backend(const char *s, int *out)
{
    static const struct {
        const char *name;
        int value;
    } table[] = {
        {"auto", LANES__V1__BACKEND__BACKEND_AUTO},
        {"inline", LANES__V1__BACKEND__BACKEND_INLINE},
        {"cpu", LANES__V1__BACKEND__BACKEND_CPU},
        {"process-pool", LANES__V1__BACKEND__BACKEND_PROCESS_POOL},
        {"process_pool", LANES__V1__BACKEND__BACKEND_PROCESS_POOL}, /* the old spelling, still accepted */
        {"cuda", LANES__V1__BACKEND__BACKEND_CUDA},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(s, table[i].name) == 0) {
            *out = table[i].value;
            return 0;
        }
    return -1;
}

int cli_opts_job(const char *cmd, const char *name, const char *val, job_opts_t *jo)
{
    if (strcmp(name, "chunk-bytes") == 0) {
        double bytes; /* "4096", "64K", "1MiB" (lanes/bytes.h) */
        if (lanes_bytes_parse(val, &bytes) || bytes < 1 || bytes > LANES_CLIENT_MAX_MESSAGE_BYTES) {
            cli_opts_usage_error(cmd, "bad --chunk-bytes '%s' (1 to 4194304, or with K/M suffix)", val);
            return -1;
        }
        jo->chunk_bytes = (uint64_t)bytes;
    } else if (strcmp(name, "backend") == 0) {
        if (parse_backend(val, &jo->backend)) {
            cli_opts_usage_error(cmd, "bad --backend '%s' (auto, inline, cpu, process-pool, cuda)", val);
            return -1;
        }
    } else if (strcmp(name, "stream") == 0) {
        jo->stream = 1;
    } else if (strcmp(name, "summary") == 0) {
        jo->want_summary = 1;
    } else {
        return 0;
    }
    return 1;
}

int cli_opts_global(const char *cmd, globals_t *g, const char *name, const char *val)
{
    if (strcmp(name, "server") == 0) {
        if (!*val)
            return cli_opts_usage_error(cmd, "--server needs HOST:PORT"), -1;
        g->server = val;
        return 1;
    }
    if (strcmp(name, "timeout") == 0) {
        double t;
        if (cli_opts_parse_double(val, &t) || !(t > 0) || !isfinite(t))
            return cli_opts_usage_error(cmd, "bad --timeout '%s' (seconds, > 0)", val), -1;
        g->timeout = t;
        return 1;
    }
    return 0;
}

/* ---- the client the global options name ---- */

lanes_client_t *cli_opts_connect(const globals_t *g)
{
    lanes_client_t *c = lanes_client_new(g->server);
    if (!c) {
        fprintf(stderr, "lanes: out of memory\n");
        exit(EXIT_SERVER);
    }
    lanes_client_set_timeout(c, g->timeout);
    return c;
}

