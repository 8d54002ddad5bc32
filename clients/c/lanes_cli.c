/* lanes: the command-line client of the lanes daemon.
 *
 *   lanes [--server HOST:PORT] [--timeout SECONDS] COMMAND [ARGS...]
 *   commands: info, health, map, reduce (each takes --help)
 *
 * Design: one function per command, each driven by a small table of its options (which also prints
 * its help), parsed by one iterator that understands "--name value", "--name=value" and "--". The
 * global options are accepted before the command and among its options. Arrays are read and written
 * by arrayio (npy, raw, text); the calls go through lanes_client. Exit codes: 0 ok; 2 usage or input
 * error (the message names the argument or file); 1 a server or transport error, printed as
 * "lanes: <STATUS_NAME>: <server message>", or an output file that cannot be written.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrayio.h"
#include "client.h"
#include "json_out.h"
#include "grpc/health/v1/health.pb-c.h"

#define EXIT_OK 0
#define EXIT_SERVER 1
#define EXIT_USAGE 2

#define DEFAULT_SERVER "127.0.0.1:50051"
#define MAX_PARAMS 32

typedef struct globals {
    const char *server;
    double timeout;
} globals_t;

/* ---- option parsing ---- */

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

static int usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", cmd);
    return EXIT_USAGE;
}

/* Returns OPT_OPTION with *spec and *val (NULL for flags), OPT_POSITIONAL with *val, OPT_END, or
 * OPT_ERROR after printing a message. */
static int opt_next(optiter_t *it, const optspec_t *specs, const optspec_t **spec, const char **val)
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
        return opt_next(it, specs, spec, val);
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
        usage_error(it->cmd, "unknown option '%s'", a);
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
                usage_error(it->cmd, "option '--%s' takes no value", s->name);
                return OPT_ERROR;
            }
            *val = NULL;
        } else if (eq) {
            *val = eq + 1;
        } else if (it->i < it->argc) {
            *val = it->argv[it->i++];
        } else {
            usage_error(it->cmd, "option '--%s' needs a value (%s)", s->name, s->arg);
            return OPT_ERROR;
        }
        return OPT_OPTION;
    }
    usage_error(it->cmd, "unknown option '--%.*s'", (int)nlen, name);
    return OPT_ERROR;
}

/* One line per option; a help text may hold '\n' to continue on an indented line. */
static void print_options(FILE *f, const optspec_t *specs)
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

static int parse_double(const char *s, double *out)
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

static int parse_u64(const char *s, uint64_t *out)
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

/* Bytes with an optional K/k (KiB) or M/m (MiB) suffix. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno == ERANGE)
        return -1;
    uint64_t mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mult = 1024 * 1024, end++;
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end != '\0' || v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
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
        {"process_pool", LANES__V1__BACKEND__BACKEND_PROCESS_POOL},
        {"process-pool", LANES__V1__BACKEND__BACKEND_PROCESS_POOL},
        {"cuda", LANES__V1__BACKEND__BACKEND_CUDA},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(s, table[i].name) == 0) {
            *out = table[i].value;
            return 0;
        }
    return -1;
}

/* Handles the options every command accepts (--server, --timeout). Returns 1 if handled, 0 if not
 * one of them, -1 on a bad value (message printed). */
/* Options every job command takes: --chunk-bytes, --backend, --stream, --summary. */
typedef struct job_opts {
    uint64_t chunk_bytes;
    int backend, stream, want_summary;
} job_opts_t;

/* Applies a job option. Returns 1 if 'name' is one (and was valid), -1 after printing a usage error
 * for a bad value, 0 if 'name' is no job option. */
static int job_option(const char *cmd, const char *name, const char *val, job_opts_t *jo)
{
    if (strcmp(name, "chunk-bytes") == 0) {
        if (parse_bytes(val, &jo->chunk_bytes) || jo->chunk_bytes == 0 ||
            jo->chunk_bytes > LANES_CLIENT_MAX_MESSAGE_BYTES) {
            usage_error(cmd, "bad --chunk-bytes '%s' (1 to 4194304, or with K/M suffix)", val);
            return -1;
        }
    } else if (strcmp(name, "backend") == 0) {
        if (parse_backend(val, &jo->backend)) {
            usage_error(cmd, "bad --backend '%s' (auto, inline, cpu, process_pool, cuda)", val);
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

static int global_option(const char *cmd, globals_t *g, const char *name, const char *val)
{
    if (strcmp(name, "server") == 0) {
        if (!*val)
            return usage_error(cmd, "--server needs HOST:PORT"), -1;
        g->server = val;
        return 1;
    }
    if (strcmp(name, "timeout") == 0) {
        double t;
        if (parse_double(val, &t) || !(t > 0) || !isfinite(t))
            return usage_error(cmd, "bad --timeout '%s' (seconds, > 0)", val), -1;
        g->timeout = t;
        return 1;
    }
    return 0;
}

#define GLOBAL_OPTSPECS                                                                              \
    {"server", "HOST:PORT", "the daemon (default $LANES_SERVER or " DEFAULT_SERVER ")"},           \
        {"timeout", "SECONDS", "deadline of the call (default none)"},                              \
        {"help", NULL, "print this help"}

static lanes_client_t *connect_client(const globals_t *g)
{
    lanes_client_t *c = lanes_client_new(g->server);
    if (!c) {
        fprintf(stderr, "lanes: out of memory\n");
        exit(EXIT_SERVER);
    }
    lanes_client_set_timeout(c, g->timeout);
    return c;
}

static int server_error(const lanes_client_status_t *st)
{
    fprintf(stderr, "lanes: %s: %s\n", lanes_client_status_name(st->code), st->message);
    return EXIT_SERVER;
}

static void print_summary(FILE *f, const lanes_client_summary_t *s)
{
    fprintf(f, "backend: %s%s%s%s\n", s->backend[0] ? s->backend : "(none)", s->reason[0] ? " (" : "",
            s->reason, s->reason[0] ? ")" : "");
    fprintf(f, "elements: %" PRIu64 "  chunks: %" PRIu64 "  bytes in: %" PRIu64 "  bytes out: %" PRIu64
               "  threads: %u\n",
            s->elements, s->chunks, s->bytes_in, s->bytes_out, s->threads);
    fprintf(f, "seconds: queued %.6f  compute %.6f  stream %.6f\n", s->queued_seconds, s->compute_seconds,
            s->stream_seconds);
}

/* ---- info ---- */

static const optspec_t info_opts[] = {
    {"json", NULL, "print the reply as one JSON object"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};


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

static void info_print_json(FILE *f, const Lanes__V1__InfoResponse *r)
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
    fprintf(f, ", \"max_calls\": %u, \"pid\": %u, \"uptime_seconds\": %.3f, \"online_cpus\": %u}\n",
            r->max_calls, r->pid, r->uptime_seconds, r->online_cpus);
}

static void print_words(FILE *f, const char *label, char **v, size_t n)
{
    fprintf(f, "%s:", label);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s", v[i]);
    fprintf(f, "%s\n", n ? "" : " (none)");
}

static void info_print_text(FILE *f, const Lanes__V1__InfoResponse *r)
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
    print_words(f, "map functions", r->map_functions, r->n_map_functions);
    print_words(f, "reduce ops", r->reduce_ops, r->n_reduce_ops);
}

static int cmd_info(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes info"};
    const optspec_t *spec;
    const char *val;
    int json = 0, k, rc;
    while ((k = opt_next(&it, info_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL)
            return usage_error(it.cmd, "unexpected argument '%s'", val);
        if (strcmp(spec->name, "help") == 0) {
            printf("Usage: lanes info [--json]\nPrints the daemon's version, backends, devices, threads, "
                   "limits, functions and ops.\n\nOptions:\n");
            print_options(stdout, info_opts);
            return EXIT_OK;
        }
        if (strcmp(spec->name, "json") == 0)
            json = 1;
        else if ((rc = global_option(it.cmd, g, spec->name, val)) < 0)
            return EXIT_USAGE;
    }
    lanes_client_t *c = connect_client(g);
    lanes_client_status_t st;
    Lanes__V1__InfoResponse *r;
    if (lanes_client_info(c, &r, &st) != GRPC_STATUS_OK) {
        lanes_client_free(c);
        return server_error(&st);
    }
    if (json)
        info_print_json(stdout, r);
    else
        info_print_text(stdout, r);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    lanes_client_free(c);
    return EXIT_OK;
}

/* ---- health ---- */

static const optspec_t health_opts[] = {
    {"service", "NAME", "the service to check (default \"\": the whole server)"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int cmd_health(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes health"};
    const optspec_t *spec;
    const char *val, *service = "";
    int k;
    while ((k = opt_next(&it, health_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL)
            return usage_error(it.cmd, "unexpected argument '%s'", val);
        if (strcmp(spec->name, "help") == 0) {
            printf("Usage: lanes health [--service NAME]\nAsks grpc.health.v1.Health/Check; prints SERVING "
                   "or NOT_SERVING (...) and exits 0 only when SERVING.\n\nOptions:\n");
            print_options(stdout, health_opts);
            return EXIT_OK;
        }
        if (strcmp(spec->name, "service") == 0)
            service = val;
        else if (global_option(it.cmd, g, spec->name, val) < 0)
            return EXIT_USAGE;
    }
    lanes_client_t *c = connect_client(g);
    lanes_client_status_t st;
    int serving;
    grpc_status_code code = lanes_client_health(c, service, &serving, &st);
    lanes_client_free(c);
    if (code != GRPC_STATUS_OK)
        return server_error(&st);
    printf("%s\n", lanes_client_serving_name(serving));
    return serving == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? EXIT_OK : EXIT_SERVER;
}

/* ---- reading inputs ---- */

/* Reads one --in argument: .npy (or any file with the npy magic), text (.txt, .csv, "-") or raw. */
static int read_input(const char *cmd, const char *path, lanes_dtype_t dtype, arrayio_array_t *a)
{
    lanes_error_t err = {0};
    arrayio_format_t fmt = arrayio_format_from_path(path);
    if (arrayio_read_path(path, fmt, dtype, a, &err) != 0) {
        if (fmt == ARRAYIO_FORMAT_RAW && dtype == LANES_DTYPE_INVALID && strstr(err.msg, "needs a dtype"))
            return usage_error(cmd, "%s; give --dtype (raw input: a name not ending in .npy, .txt or .csv)",
                               err.msg);
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- map ---- */

static const optspec_t map_opts[] = {
    {"in", "FILE", "an input array: .npy, .txt/.csv text, '-' text on stdin, else raw;\n"
                   "repeat it for functions of several arrays (power x y)"},
    {"param", "NAME=VALUE", "a scalar parameter (power: n; affine: a, b); repeatable"},
    {"out", "FILE", "where to write the result ('-' or none: text on stdout)"},
    {"out-dtype", "float64|float32", "the result's dtype (default float64)"},
    {"format", "npy|raw|text", "the output format (default from the --out name:\n"
                               ".npy npy, .txt/.csv text, else raw)"},
    {"dtype", "DTYPE", "dtype of raw and text inputs: float64, float32, int64, int32\n"
                       "(text defaults to float64)"},
    {"chunk-bytes", "N", "payload per message, all inputs together (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process_pool or cuda"},
    {"stream", NULL, "use the streaming call even for a job that fits one message"},
    {"summary", NULL, "print the job summary on stderr"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int cmd_map(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes map"};
    const optspec_t *spec;
    const char *val, *function = NULL, *ins[LANES_MAP_MAX_INPUTS], *out_path = NULL;
    size_t n_in = 0, n_params = 0;
    lanes_param_t params[MAX_PARAMS];
    char param_names[MAX_PARAMS][64];
    char in_names[LANES_MAP_MAX_INPUTS][64];
    int named_inputs = 0;
    lanes_dtype_t out_dtype = LANES_DTYPE_F64, in_dtype = LANES_DTYPE_INVALID;
    int have_format = 0, handled, k;
    job_opts_t jo = {0};
    arrayio_format_t out_fmt = ARRAYIO_FORMAT_TEXT;

    while ((k = opt_next(&it, map_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (function)
                return usage_error(it.cmd, "unexpected argument '%s' (the function is '%s')", val, function);
            function = val;
            continue;
        }
        const char *o = spec->name;
        if (strcmp(o, "help") == 0) {
            printf("Usage: lanes map FUNCTION --in [NAME=]X [--in [NAME=]Y] [--param NAME=VALUE]... [--out FILE]\n"
                   "Applies FUNCTION elementwise (square, cube, power, sqrt, exp, log, abs, sin, cos, "
                   "affine;\n'lanes info' lists them), or an expression over the inputs (named x, y, z, ... "
                   "or NAME=),\nand writes one output element per input element.\n"
                   "  lanes map 'x*x + 1' --in x.npy --out y.npy\n"
                   "  lanes map 'where(a > b, a, b) * k' --in a=a.npy --in b=b.npy --param k=2\n"
                   "Examples:\n  lanes map square --in x.npy --out y.npy\n"
                   "  lanes map power --in x.npy --param n=3\n  lanes map power --in x.npy --in y.npy\n"
                   "  lanes map affine --in x.txt --param a=2 --param b=-1 --out -\n\nOptions:\n");
            print_options(stdout, map_opts);
            return EXIT_OK;
        } else if (strcmp(o, "in") == 0) {
            if (n_in == LANES_MAP_MAX_INPUTS)
                return usage_error(it.cmd, "too many --in (at most %d)", LANES_MAP_MAX_INPUTS);
            /* --in NAME=FILE names the input in an expression */
            size_t id = 0;
            while ((val[id] == '_' || isalpha((unsigned char)val[id]) || (id && isdigit((unsigned char)val[id]))))
                id++;
            if (id > 0 && id < 64 && val[id] == '=' && val[id + 1]) {
                memcpy(in_names[n_in], val, id);
                in_names[n_in][id] = 0;
                named_inputs = 1;
                val += id + 1;
            } else {
                in_names[n_in][0] = 0;
            }
            ins[n_in++] = val;
        } else if (strcmp(o, "param") == 0) {
            const char *eq = strchr(val, '=');
            double v;
            if (!eq || eq == val || (size_t)(eq - val) >= sizeof param_names[0] || parse_double(eq + 1, &v))
                return usage_error(it.cmd, "bad --param '%s' (expected NAME=NUMBER, e.g. n=3)", val);
            if (n_params == MAX_PARAMS)
                return usage_error(it.cmd, "too many --param (at most %d)", MAX_PARAMS);
            memcpy(param_names[n_params], val, (size_t)(eq - val));
            param_names[n_params][eq - val] = '\0';
            params[n_params].name = param_names[n_params];
            params[n_params].value = v;
            n_params++;
        } else if (strcmp(o, "out") == 0) {
            out_path = val;
        } else if (strcmp(o, "out-dtype") == 0) {
            out_dtype = arrayio_dtype_parse(val);
            if (out_dtype != LANES_DTYPE_F64 && out_dtype != LANES_DTYPE_F32)
                return usage_error(it.cmd, "bad --out-dtype '%s' (float64 or float32)", val);
        } else if (strcmp(o, "format") == 0) {
            if (arrayio_format_parse(val, &out_fmt))
                return usage_error(it.cmd, "bad --format '%s' (npy, raw or text)", val);
            have_format = 1;
        } else if (strcmp(o, "dtype") == 0) {
            in_dtype = arrayio_dtype_parse(val);
            if (in_dtype == LANES_DTYPE_INVALID)
                return usage_error(it.cmd, "bad --dtype '%s' (float64, float32, int64 or int32)", val);
        } else if ((handled = job_option(it.cmd, o, val, &jo)) != 0) {
            if (handled < 0)
                return EXIT_USAGE;
        } else if (global_option(it.cmd, g, o, val) < 0) {
            return EXIT_USAGE;
        }
    }
    if (!function)
        return usage_error(it.cmd, "missing FUNCTION (e.g. 'lanes map square --in x.npy')");
    if (n_in == 0)
        return usage_error(it.cmd, "missing --in (at least one input array)");
    if (!have_format && out_path && strcmp(out_path, "-") != 0)
        out_fmt = arrayio_format_from_path(out_path);
    size_t stdin_uses = 0;
    for (size_t i = 0; i < n_in; i++)
        stdin_uses += strcmp(ins[i], "-") == 0;
    if (stdin_uses > 1)
        return usage_error(it.cmd, "'--in -' (stdin) can be given only once");

    arrayio_array_t arrays[LANES_MAP_MAX_INPUTS];
    memset(arrays, 0, sizeof arrays);
    int rc = EXIT_OK;
    void *out = NULL;
    lanes_client_t *c = NULL;
    for (size_t i = 0; i < n_in && rc == EXIT_OK; i++)
        rc = read_input(it.cmd, ins[i], in_dtype, &arrays[i]);
    for (size_t i = 1; i < n_in && rc == EXIT_OK; i++)
        if (arrays[i].n != arrays[0].n) {
            fprintf(stderr, "%s: inputs differ in length: '%s' has %zu elements, '%s' has %zu\n", it.cmd,
                    ins[0], arrays[0].n, ins[i], arrays[i].n);
            rc = EXIT_USAGE;
        }
    if (rc != EXIT_OK)
        goto done;

    size_t n = arrays[0].n, out_es = lanes_dtype_size(out_dtype);
    out = malloc(n ? n * out_es : 1);
    if (!out) {
        fprintf(stderr, "%s: out of memory for %zu results\n", it.cmd, n);
        rc = EXIT_SERVER;
        goto done;
    }
    lanes_client_map_job_t job;
    memset(&job, 0, sizeof job);
    job.function = function;
    job.params = params;
    job.n_params = n_params;
    job.n_inputs = n_in;
    for (size_t i = 0; named_inputs && i < n_in; i++)
        job.in_names[i] = in_names[i][0] ? in_names[i] : NULL;
    for (size_t i = 0; i < n_in; i++) {
        job.in_dtypes[i] = arrays[i].dtype;
        job.inputs[i] = arrays[i].data;
    }
    job.n = n;
    job.out_dtype = out_dtype;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;
    job.out = out;
    job.call = jo.stream ? LANES_CLIENT_CALL_STREAM : LANES_CLIENT_CALL_AUTO;

    c = connect_client(g);
    lanes_client_status_t st;
    lanes_client_summary_t summary;
    if (lanes_client_map(c, &job, &summary, &st) != GRPC_STATUS_OK) {
        rc = server_error(&st);
        goto done;
    }
    if (jo.want_summary)
        print_summary(stderr, &summary);
    lanes_error_t err = {0};
    if (arrayio_write_path(out_path ? out_path : "-", out_fmt, out_dtype, out, n, &err) != 0) {
        fprintf(stderr, "lanes: %s\n", err.msg);
        rc = EXIT_SERVER;
    }
done:
    lanes_client_free(c);
    free(out);
    for (size_t i = 0; i < n_in; i++)
        arrayio_array_free(&arrays[i]);
    return rc;
}

/* ---- reduce ---- */

static const optspec_t reduce_opts[] = {
    {"in", "FILE", "the input array (.npy, .txt/.csv text, '-' text on stdin, else raw)"},
    {"dtype", "DTYPE", "dtype of a raw or text input: float64, float32, int64, int32\n"
                       "(text defaults to float64)"},
    {"ddof", "D", "var and std: delta degrees of freedom, as numpy's ddof (default 0)"},
    {"bins", "N", "histogram: number of equal-width bins (default 10)"},
    {"range", "LO:HI", "histogram: the range of the bins (default: the data's min:max, as numpy)"},
    {"chunk-bytes", "N", "payload per message (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process_pool or cuda"},
    {"stream", NULL, "use the streaming call even for a job that fits one message"},
    {"summary", NULL, "print the job summary on stderr"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int parse_range(const char *s, double *lo, double *hi)
{
    char *end;
    errno = 0;
    *lo = strtod(s, &end);
    if (end == s || *end != ':' || errno == ERANGE)
        return -1;
    return parse_double(end + 1, hi);
}

/* The (min, max) of a's values as doubles, (0, 1) when empty. Returns -1 if either is not finite. */
static int data_range(const arrayio_array_t *a, double *lo, double *hi)
{
    if (a->n == 0) {
        *lo = 0;
        *hi = 1;
        return 0;
    }
    double mn = INFINITY, mx = -INFINITY;
    int nan = 0;
    for (size_t i = 0; i < a->n; i++) {
        double v;
        switch (a->dtype) {
        case LANES_DTYPE_F64:
            v = ((const double *)a->data)[i];
            break;
        case LANES_DTYPE_F32:
            v = ((const float *)a->data)[i];
            break;
        case LANES_DTYPE_I64:
            v = (double)((const int64_t *)a->data)[i];
            break;
        default:
            v = ((const int32_t *)a->data)[i];
            break;
        }
        if (isnan(v))
            nan = 1;
        if (v < mn)
            mn = v;
        if (v > mx)
            mx = v;
    }
    *lo = nan ? NAN : mn; /* numpy's min and max propagate NaN */
    *hi = nan ? NAN : mx;
    return isfinite(*lo) && isfinite(*hi) ? 0 : -1;
}

static int cmd_reduce(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes reduce"};
    const optspec_t *spec;
    const char *val, *op = NULL, *in = NULL;
    lanes_dtype_t in_dtype = LANES_DTYPE_INVALID;
    double ddof = 0, lo = 0, hi = 0;
    uint64_t bins = 0;
    int has_range = 0, handled, k;
    job_opts_t jo = {0};

    while ((k = opt_next(&it, reduce_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (op)
                return usage_error(it.cmd, "unexpected argument '%s' (the op is '%s')", val, op);
            op = val;
            continue;
        }
        const char *o = spec->name;
        if (strcmp(o, "help") == 0) {
            printf("Usage: lanes reduce OP --in X [--ddof D] [--bins N] [--range LO:HI]\n"
                   "Reduces an array to one value: sum, min, max, mean, var, std, count, argmin, argmax,\n"
                   "or histogram (printed as lines 'lo hi count'). Integers print as integers, floats\n"
                   "with %%.17g.\nExamples:\n  lanes reduce sum --in x.npy\n  lanes reduce var --in x.npy "
                   "--ddof 1\n  lanes reduce histogram --in x.npy --bins 5 --range 0:1\n\nOptions:\n");
            print_options(stdout, reduce_opts);
            return EXIT_OK;
        } else if (strcmp(o, "in") == 0) {
            if (in)
                return usage_error(it.cmd, "only one --in is allowed");
            in = val;
        } else if (strcmp(o, "dtype") == 0) {
            in_dtype = arrayio_dtype_parse(val);
            if (in_dtype == LANES_DTYPE_INVALID)
                return usage_error(it.cmd, "bad --dtype '%s' (float64, float32, int64 or int32)", val);
        } else if (strcmp(o, "ddof") == 0) {
            if (parse_double(val, &ddof) || !isfinite(ddof))
                return usage_error(it.cmd, "bad --ddof '%s' (a number)", val);
        } else if (strcmp(o, "bins") == 0) {
            if (parse_u64(val, &bins) || bins == 0 || bins > UINT32_MAX)
                return usage_error(it.cmd, "bad --bins '%s' (a positive integer)", val);
        } else if (strcmp(o, "range") == 0) {
            if (parse_range(val, &lo, &hi))
                return usage_error(it.cmd, "bad --range '%s' (expected LO:HI, e.g. 0:1)", val);
            has_range = 1;
        } else if ((handled = job_option(it.cmd, o, val, &jo)) != 0) {
            if (handled < 0)
                return EXIT_USAGE;
        } else if (global_option(it.cmd, g, o, val) < 0) {
            return EXIT_USAGE;
        }
    }
    if (!op)
        return usage_error(it.cmd, "missing OP (e.g. 'lanes reduce sum --in x.npy')");
    if (!in)
        return usage_error(it.cmd, "missing --in (the input array)");
    arrayio_array_t a;
    int rc = read_input(it.cmd, in, in_dtype, &a);
    if (rc != EXIT_OK)
        return rc;
    int range_from_data = 0;
    if (strcmp(op, "histogram") == 0 && !has_range) {
        /* numpy.histogram's default range: the data's (min, max), (0, 1) when empty. */
        if (data_range(&a, &lo, &hi) != 0) {
            fprintf(stderr, "%s: autodetected range of [%.17g, %.17g] is not finite; give --range LO:HI\n",
                    it.cmd, lo, hi);
            arrayio_array_free(&a);
            return EXIT_USAGE;
        }
        has_range = 1;
        range_from_data = 1;
    }
    lanes_client_reduce_job_t job;
    memset(&job, 0, sizeof job);
    job.op = op;
    job.dtype = a.dtype;
    job.ddof = ddof;
    job.bins = (uint32_t)bins;
    job.has_range = has_range;
    job.lo = lo;
    job.hi = hi;
    job.range_from_data = range_from_data;
    job.call = jo.stream ? LANES_CLIENT_CALL_STREAM : LANES_CLIENT_CALL_AUTO;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;
    job.data = a.data;
    job.n = a.n;

    lanes_client_t *c = connect_client(g);
    lanes_client_status_t st;
    lanes_client_reduce_reply_t reply;
    if (lanes_client_reduce(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = server_error(&st);
    } else {
        if (reply.bins) {
            for (uint32_t b = 0; b < reply.bins; b++)
                printf("%.17g %.17g %" PRId64 "\n", reply.edges[b], reply.edges[b + 1], reply.counts[b]);
        } else if (reply.dtype == LANES_DTYPE_I64 || reply.dtype == LANES_DTYPE_I32) {
            printf("%" PRId64 "\n", reply.int_value);
        } else {
            printf("%.17g\n", reply.value);
        }
        if (jo.want_summary)
            print_summary(stderr, &reply.summary);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
            rc = EXIT_SERVER;
        }
    }
    lanes_client_reduce_reply_free(&reply);
    lanes_client_free(c);
    arrayio_array_free(&a);
    return rc;
}

/* ---- main ---- */

typedef struct command {
    const char *name;
    int (*run)(globals_t *g, int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"info", cmd_info, "the daemon's version, backends, devices, limits, functions and ops"},
    {"health", cmd_health, "grpc.health.v1 check: SERVING or NOT_SERVING"},
    {"map", cmd_map, "apply a function elementwise to arrays"},
    {"reduce", cmd_reduce, "reduce an array to a value or a histogram"},
    {NULL, NULL, NULL},
};

static void main_usage(FILE *f)
{
    fprintf(f, "Usage: lanes [--server HOST:PORT] [--timeout SECONDS] COMMAND [ARGS...]\n\n"
               "A client of the lanes compute daemon (lanesd).\n\nCommands:\n");
    for (const command_t *c = commands; c->name; c++)
        fprintf(f, "  %-8s %s\n", c->name, c->summary);
    fprintf(f, "\nOptions:\n");
    static const optspec_t g[] = {GLOBAL_OPTSPECS, {NULL, NULL, NULL}};
    print_options(f, g);
    fprintf(f, "\n'lanes COMMAND --help' describes a command. Exit status: 0 ok, 1 server or transport "
               "error,\n2 usage or input error.\n");
}

int main(int argc, char **argv)
{
    globals_t g = {getenv("LANES_SERVER"), 0};
    if (!g.server || !*g.server)
        g.server = DEFAULT_SERVER;
    static const optspec_t gopts[] = {GLOBAL_OPTSPECS, {NULL, NULL, NULL}};
    optiter_t it = {argc - 1, argv + 1, 0, 0, "lanes"};
    const optspec_t *spec;
    const char *val;
    int k;
    while ((k = opt_next(&it, gopts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (strcmp(val, "help") == 0) {
                main_usage(stdout);
                return EXIT_OK;
            }
            for (const command_t *c = commands; c->name; c++)
                if (strcmp(c->name, val) == 0)
                    return c->run(&g, it.argc - it.i, it.argv + it.i);
            return usage_error("lanes", "unknown command '%s' (info, health, map, reduce)", val);
        }
        if (strcmp(spec->name, "help") == 0) {
            main_usage(stdout);
            return EXIT_OK;
        }
        if (global_option("lanes", &g, spec->name, val) < 0)
            return EXIT_USAGE;
    }
    return usage_error("lanes", "missing COMMAND (info, health, map, reduce)");
}
