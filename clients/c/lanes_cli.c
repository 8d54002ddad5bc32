/* lanes: the command-line client of the lanes daemon.
 *
 *   lanes [--server HOST:PORT] [--timeout SECONDS] COMMAND [ARGS...]
 *   commands: info, health, map, reduce, acf, wordcount, wordacf, corpus (each takes --help)
 *
 * Design: one function per command, each driven by a small table of its options (which also prints
 * its help), parsed by one iterator that understands "--name value", "--name=value" and "--". The
 * global options are accepted before the command and among its options. Arrays are read and written
 * by arrayio (npy, raw, text), which converts every .npy dtype the Python client sends as it does and
 * keeps the shape: map broadcasts its inputs as numpy and writes a .npy result of their broadcast
 * shape, as the Python client's map returns; reduce and acf read the elements in C order. The calls
 * go through lanes_client. Exit codes: 0 ok; 2 usage or input
 * error (the message names the argument or file); 1 a server or transport error, printed as
 * "lanes: <STATUS_NAME>: <server message>", or an output file that cannot be written.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrayio.h"
#include "client.h"
#include "json_out.h"
#include "lanes/bytes.h"
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
        double bytes; /* "4096", "64K", "1MiB" (lanes/bytes.h) */
        if (lanes_bytes_parse(val, &bytes) || bytes < 1 || bytes > LANES_CLIENT_MAX_MESSAGE_BYTES) {
            usage_error(cmd, "bad --chunk-bytes '%s' (1 to 4194304, or with K/M suffix)", val);
            return -1;
        }
        jo->chunk_bytes = (uint64_t)bytes;
    } else if (strcmp(name, "backend") == 0) {
        if (parse_backend(val, &jo->backend)) {
            usage_error(cmd, "bad --backend '%s' (auto, inline, cpu, process-pool, cuda)", val);
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
                   "repeat it for functions of several arrays (power x y); several\n"
                   "inputs broadcast together as numpy's do, and a .npy result has\n"
                   "their shape (raw and text results are flat, in C order)"},
    {"param", "NAME=VALUE", "a scalar parameter (power: n; affine: a, b); repeatable"},
    {"out", "FILE", "where to write the result ('-' or none: text on stdout)"},
    {"out-dtype", "float64|float32", "the result's dtype (default float64)"},
    {"format", "npy|raw|text", "the output format (default from the --out name:\n"
                               ".npy npy, .txt/.csv text, else raw)"},
    {"dtype", "DTYPE", "dtype of raw and text inputs: float64, float32, int64, int32\n"
                       "(text defaults to float64); a .npy file carries its own dtype\n"
                       "(the ones 'lanes map --help' lists)"},
    {"chunk-bytes", "N", "payload per message, all inputs together (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process-pool or cuda"},
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
                   "or NAME=),\nand writes one output element per input element. Several inputs broadcast together as\n"
                   "in numpy; a .npy result has the inputs' (broadcast) shape. A .npy input may hold float16,\n"
                   "float32, float64, float128, int8 to int64, uint8 to uint64 or bool, in either byte order\n"
                   "and C or Fortran order; it is converted as the Python client converts it: float16 to\n"
                   "float32, float128 to float64, bool, int8, int16, uint8 and uint16 to int32, uint32 to\n"
                   "int64, uint64 to float64 (complex and other dtypes are refused).\n"
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
    /* The inputs broadcast together as numpy's (and so the Python client's) map does; the result has
     * their broadcast shape. */
    size_t shape[ARRAYIO_MAX_DIMS], ndim = 0;
    if (rc == EXIT_OK) {
        const arrayio_array_t *ptrs[LANES_MAP_MAX_INPUTS];
        lanes_error_t err = {0};
        for (size_t i = 0; i < n_in; i++)
            ptrs[i] = &arrays[i];
        if (arrayio_broadcast_shape(ptrs, ins, n_in, shape, &ndim, &err) != 0) {
            fprintf(stderr, "%s: %s\n", it.cmd, err.msg);
            rc = EXIT_USAGE;
        }
        for (size_t i = 0; i < n_in && rc == EXIT_OK; i++)
            if (arrayio_broadcast_to(&arrays[i], shape, ndim, ins[i], &err) != 0) {
                fprintf(stderr, "%s: %s\n", it.cmd, err.msg);
                rc = err.code == LANES_ENOMEM ? EXIT_SERVER : EXIT_USAGE;
            }
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
    if (arrayio_write_path_nd(out_path ? out_path : "-", out_fmt, out_dtype, out, shape, ndim, &err) != 0) {
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
                       "(text defaults to float64); a .npy file carries its own dtype\n"
                       "(the ones 'lanes map --help' lists)"},
    {"ddof", "D", "var and std: delta degrees of freedom, as numpy's ddof (default 0)"},
    {"bins", "N", "histogram: number of equal-width bins (default 10)"},
    {"range", "LO:HI", "histogram: the range of the bins (default: the data's min:max, as numpy)"},
    {"chunk-bytes", "N", "payload per message (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process-pool or cuda"},
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

/* ---- acf ---- */

static const optspec_t acf_opts[] = {
    {"nlags", "N", "lags 0 .. N (default statsmodels': min(int(10*log10(n)), n-1))"},
    {"adjusted", NULL, "divide lag k by n - k instead of n"},
    {"alpha", "A", "Bartlett confidence intervals at level 1 - A (0 < A < 1)"},
    {"qstat", NULL, "Ljung-Box Q statistics and their p-values"},
    {"method", "auto|direct|fft", "how lags are computed (default auto: direct for few lags)"},
    {"out", "FILE", "where to write the result ('-' or none: text on stdout)"},
    {"format", "npy|raw|text", "the output format (default from the --out name:\n"
                               ".npy npy, .txt/.csv text, else raw)"},
    {"dtype", "DTYPE", "dtype of a raw or text input: float64, float32, int64, int32\n"
                       "(text defaults to float64); a .npy file carries its own dtype\n"
                       "(the ones 'lanes map --help' lists)"},
    {"chunk-bytes", "N", "payload per message (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process-pool or cuda"},
    {"stream", NULL, "use the streaming call even for a job that fits one message"},
    {"summary", NULL, "print the job summary on stderr"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

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

/* Text columns: lag, acf, then lower and upper (alpha), then qstat and pvalue (qstat; nan at lag 0). */
static int acf_write_text(FILE *f, const lanes_client_acf_reply_t *r)
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

/* npy or raw: the acf to path, confint (flat lower, upper pairs), qstat and pvalues to companions. */
static int acf_write_arrays(const char *path, arrayio_format_t fmt, const lanes_client_acf_reply_t *r)
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

static int parse_acf_method(const char *s, int *out)
{
    static const char *const names[] = {"auto", "direct", "fft"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i; /* Lanes__V1__AcfSpec__Method: 0 auto, 1 direct, 2 fft */
            return 0;
        }
    return -1;
}

static int cmd_acf(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes acf"};
    const optspec_t *spec;
    const char *val, *in = NULL, *out_path = NULL;
    lanes_dtype_t in_dtype = LANES_DTYPE_INVALID;
    arrayio_format_t out_fmt = ARRAYIO_FORMAT_TEXT;
    int have_format = 0, handled, k;
    job_opts_t jo = {0};
    lanes_client_acf_job_t job;
    memset(&job, 0, sizeof job);
    job.nlags = -1;

    while ((k = opt_next(&it, acf_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (in)
                return usage_error(it.cmd, "unexpected argument '%s' (the input is '%s')", val, in);
            in = val;
            continue;
        }
        const char *o = spec->name;
        if (strcmp(o, "help") == 0) {
            printf("Usage: lanes acf FILE [--nlags N] [--adjusted] [--alpha A] [--qstat] [--method M] [--out FILE]\n"
                   "The autocorrelation of a series, as statsmodels.tsa.stattools.acf (FILE: .npy, .txt/.csv\n"
                   "text, '-' text on stdin, else raw with --dtype). Text output has one row per lag:\n"
                   "'lag acf [lower upper] [qstat pvalue]' (qstat and pvalue are nan at lag 0). npy and raw\n"
                   "output write the acf to FILE and, when asked for, FILE's stem + .confint (flat lower,\n"
                   "upper pairs), .qstat and .pvalues beside it: r.npy, r.confint.npy, r.qstat.npy ...\n"
                   "Examples:\n  lanes acf x.npy --nlags 40\n  lanes acf x.npy --alpha 0.05 --qstat --out r.npy\n"
                   "\nOptions:\n");
            print_options(stdout, acf_opts);
            return EXIT_OK;
        } else if (strcmp(o, "nlags") == 0) {
            uint64_t v;
            if (parse_u64(val, &v) || v > INT64_MAX)
                return usage_error(it.cmd, "bad --nlags '%s' (a non-negative integer)", val);
            job.nlags = (int64_t)v;
        } else if (strcmp(o, "adjusted") == 0) {
            job.adjusted = 1;
        } else if (strcmp(o, "alpha") == 0) {
            if (parse_double(val, &job.alpha) || !(job.alpha > 0 && job.alpha < 1))
                return usage_error(it.cmd, "bad --alpha '%s' (a number between 0 and 1, e.g. 0.05)", val);
        } else if (strcmp(o, "qstat") == 0) {
            job.qstat = 1;
        } else if (strcmp(o, "method") == 0) {
            if (parse_acf_method(val, &job.method))
                return usage_error(it.cmd, "bad --method '%s' (auto, direct or fft)", val);
        } else if (strcmp(o, "out") == 0) {
            out_path = val;
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
    if (!in)
        return usage_error(it.cmd, "missing FILE (the series, e.g. 'lanes acf x.npy')");
    int to_stdout = !out_path || strcmp(out_path, "-") == 0;
    if (!have_format && !to_stdout)
        out_fmt = arrayio_format_from_path(out_path);
    if (out_fmt != ARRAYIO_FORMAT_TEXT && to_stdout && (job.alpha != 0 || job.qstat))
        return usage_error(it.cmd, "--alpha and --qstat with %s output need --out FILE (they go to files "
                                   "beside it)", arrayio_format_name(out_fmt));
    arrayio_array_t a;
    int rc = read_input(it.cmd, in, in_dtype, &a);
    if (rc != EXIT_OK)
        return rc;
    /* One series, as the Python client's acf(): a (n,) array, or one of shape (1, n), (n, 1) ... */
    size_t longest = 0;
    for (size_t d = 0; d < a.ndim; d++)
        longest = a.shape[d] > longest ? a.shape[d] : longest;
    if (a.ndim > 1 && a.n != longest) {
        char sh[256];
        fprintf(stderr, "%s: '%s' has shape %s: acf takes one series (a 1-D array)\n", it.cmd, in,
                arrayio_shape_str(a.shape, a.ndim, sh, sizeof sh));
        arrayio_array_free(&a);
        return EXIT_USAGE;
    }
    job.dtype = a.dtype;
    job.data = a.data;
    job.n = a.n;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;
    job.call = jo.stream ? LANES_CLIENT_CALL_STREAM : LANES_CLIENT_CALL_AUTO;

    lanes_client_t *c = connect_client(g);
    lanes_client_status_t st;
    lanes_client_acf_reply_t reply;
    if (lanes_client_acf(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = server_error(&st);
    } else {
        if (jo.want_summary) {
            fprintf(stderr, "acf: n %" PRIu64 ", nlags %" PRIu64 ", method %s\n", reply.n, reply.nlags, reply.method);
            print_summary(stderr, &reply.summary);
        }
        int bad;
        if (out_fmt == ARRAYIO_FORMAT_TEXT && to_stdout) {
            bad = acf_write_text(stdout, &reply);
            if (bad)
                fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
        } else if (out_fmt == ARRAYIO_FORMAT_TEXT) {
            FILE *f = fopen(out_path, "w");
            bad = !f || acf_write_text(f, &reply) != 0;
            if (f && fclose(f) != 0)
                bad = 1;
            if (bad)
                fprintf(stderr, "lanes: cannot write '%s': %s\n", out_path, strerror(errno));
        } else {
            bad = acf_write_arrays(to_stdout ? "-" : out_path, out_fmt, &reply);
        }
        if (bad)
            rc = EXIT_SERVER;
    }
    lanes_client_acf_reply_free(&reply);
    lanes_client_free(c);
    arrayio_array_free(&a);
    return rc;
}

/* ---- text: wordcount, wordacf, corpus ---- */

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

/* The course's .dat: "word count pct\n" per entry, pct = count / total * 100 as Python's repr. */
static int write_dat(FILE *f, const lanes_word_entry_t *e, size_t n, uint64_t total)
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
static int write_acf_csv(FILE *f, const double *acf, size_t n, uint64_t first_label)
{
    for (size_t t = 0; t < n; t++)
        fprintf(f, "%.18e,%.18e\n", (double)(t + first_label), acf[t]);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
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
        if (parse_u64(val, &v) || v < counts[i].lo || v > counts[i].hi) {
            usage_error(cmd, "bad --%s '%s' (an integer %s)", name, val, counts[i].lo ? "> 0" : ">= 0");
            return -1;
        }
        *(uint64_t *)((char *)to + counts[i].offset) = v;
        return 1;
    }
    if (strcmp(name, "mode") == 0) {
        if (parse_word_acf_mode(val, &to->mode)) {
            usage_error(cmd, "bad --mode '%s' (exact or course)", val);
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

/* Parses the options and the one BOOK of wordcount and wordacf. Returns EXIT_OK, or an exit code
 * (*done set when --help was printed). */
static int text_command_args(globals_t *g, optiter_t *it, const optspec_t *opts, const char *usage,
                             const char **book, text_opts_t *to, job_opts_t *jo, int *done)
{
    const optspec_t *spec;
    const char *val;
    int k, handled;
    while ((k = opt_next(it, opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (*book)
                return usage_error(it->cmd, "unexpected argument '%s' (the book is '%s')", val, *book);
            *book = val;
            continue;
        }
        if (strcmp(spec->name, "help") == 0) {
            fputs(usage, stdout);
            print_options(stdout, opts);
            *done = 1;
            return EXIT_OK;
        }
        if ((handled = text_option(it->cmd, spec->name, val, to)) != 0 ||
            (handled = job_option(it->cmd, spec->name, val, jo)) != 0) {
            if (handled < 0)
                return EXIT_USAGE;
        } else if (global_option(it->cmd, g, spec->name, val) < 0) {
            return EXIT_USAGE;
        }
    }
    if (!*book)
        return usage_error(it->cmd, "missing BOOK (a UTF-8 text file, or '-' for stdin)");
    return EXIT_OK;
}

static const optspec_t wordcount_opts[] = {
    {"min-length", "N", "drop words shorter than N characters (default 0: keep all)"},
    {"top", "N", "only the N most frequent words (default 0: all)"},
    TEXT_JOB_OPTSPECS,
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int cmd_wordcount(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes wordcount"};
    const char *book = NULL;
    text_opts_t to = {0};
    job_opts_t jo = {0};
    int done = 0;
    int rc = text_command_args(g, &it, wordcount_opts,
                               "Usage: lanes wordcount BOOK [--min-length N] [--top N] > BOOK.dat\n"
                               "Counts the words of a UTF-8 text as the word-count course does (. , ; : ? $ @ ^ < > #\n"
                               "% ` ! * - = ( ) [ ] { } / \" ' are spaces; Python's split() and lower()) and prints\n"
                               "its .dat: 'word count percent' per line, most frequent first. BOOK '-' is stdin;\n"
                               "the text is streamed, never read whole.\n\nOptions:\n",
                               &book, &to, &jo, &done);
    if (rc != EXIT_OK || done)
        return rc;
    int fd = open_text(it.cmd, book);
    if (fd < 0)
        return EXIT_USAGE;
    lanes_client_word_count_job_t job;
    memset(&job, 0, sizeof job);
    job.text.fd = fd;
    job.min_length = (uint32_t)to.min_length;
    job.top = to.top;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;

    lanes_client_t *c = connect_client(g);
    lanes_client_status_t st;
    lanes_client_word_count_reply_t reply;
    if (lanes_client_word_count(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = server_error(&st);
    } else {
        if (write_dat(stdout, reply.entries, reply.n_entries, reply.total_words) != 0) {
            fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
            rc = EXIT_SERVER;
        }
        if (jo.want_summary) {
            fprintf(stderr, "words: %" PRIu64 " counted, %" PRIu64 " distinct\n", reply.total_words,
                    reply.distinct_words);
            print_summary(stderr, &reply.summary);
        }
    }
    lanes_client_word_count_reply_free(&reply);
    lanes_client_free(c);
    if (fd > 0)
        close(fd);
    return rc;
}

static const optspec_t wordacf_opts[] = {
    WORD_ACF_OPTSPECS,
    {"min-length", "N", "drop words shorter than N characters (default 0: keep all)"},
    TEXT_JOB_OPTSPECS,
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int cmd_wordacf(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes wordacf"};
    const char *book = NULL;
    text_opts_t to = {0};
    job_opts_t jo = {0};
    int done = 0;
    int rc = text_command_args(g, &it, wordacf_opts,
                               "Usage: lanes wordacf BOOK [--mode exact|course] [--nwords N] [--timesteps T] > acf.csv\n"
                               "The word autocorrelation of a UTF-8 text (the word-count course's): for each of the N\n"
                               "most frequent words, the share of its occurrences followed by itself t words later,\n"
                               "averaged over the words. Prints CSV rows 'lag,value' (%.18e). BOOK '-' is stdin.\n"
                               "\nOptions:\n",
                               &book, &to, &jo, &done);
    if (rc != EXIT_OK || done)
        return rc;
    int fd = open_text(it.cmd, book);
    if (fd < 0)
        return EXIT_USAGE;
    lanes_client_word_acf_job_t job;
    memset(&job, 0, sizeof job);
    job.text.fd = fd;
    job.mode = to.mode;
    job.nwords = (uint32_t)to.nwords;
    job.timesteps = (uint32_t)to.timesteps;
    job.min_length = (uint32_t)to.min_length;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;

    lanes_client_t *c = connect_client(g);
    lanes_client_status_t st;
    lanes_client_word_acf_reply_t reply;
    if (lanes_client_word_acf(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = server_error(&st);
    } else {
        if (write_acf_csv(stdout, reply.acf, reply.n_acf, reply.first_label) != 0) {
            fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
            rc = EXIT_SERVER;
        }
        if (jo.want_summary) {
            fprintf(stderr, "words: %" PRIu64 " counted; top:", reply.total_words);
            for (size_t i = 0; i < reply.n_words; i++)
                fprintf(stderr, " %s (%" PRIu64 ")", reply.words[i], reply.counts[i]);
            fputc('\n', stderr);
            print_summary(stderr, &reply.summary);
        }
    }
    lanes_client_word_acf_reply_free(&reply);
    lanes_client_free(c);
    if (fd > 0)
        close(fd);
    return rc;
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

typedef struct corpus_out {
    const char *cmd, *dir;
    int want_dat, want_csv;
    size_t n_docs, finished, failed;
    char **failed_names;  /* n_docs slots: the documents that failed, in the order given */
} corpus_out_t;

/* Writes DIR/<stem>.<ext> with writer. Returns 0, or -1 after printing why. */
static int corpus_write_file(const corpus_out_t *co, const char *stem, const char *ext,
                             int (*writer)(FILE *, const lanes_client_doc_result_t *),
                             const lanes_client_doc_result_t *doc)
{
    size_t len = strlen(co->dir) + strlen(stem) + strlen(ext) + 3;
    char *path = malloc(len);
    if (!path)
        return -1;
    snprintf(path, len, "%s/%s.%s", co->dir, stem, ext);
    FILE *f = fopen(path, "w");
    int bad = !f || writer(f, doc) != 0;
    if (f && fclose(f) != 0)
        bad = 1;
    if (bad)
        fprintf(stderr, "%s: cannot write '%s': %s\n", co->cmd, path, strerror(errno));
    free(path);
    return bad ? -1 : 0;
}

static int doc_write_dat(FILE *f, const lanes_client_doc_result_t *d)
{
    return write_dat(f, d->entries, d->n_entries, d->total_words);
}

static int doc_write_csv(FILE *f, const lanes_client_doc_result_t *d)
{
    return write_acf_csv(f, d->acf, d->n_acf, d->first_label);
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
    if (!failed && co->want_dat && corpus_write_file(co, stem, "dat", doc_write_dat, d) != 0)
        failed = 2;
    if (!failed && co->want_csv && corpus_write_file(co, stem, "csv", doc_write_csv, d) != 0)
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

/* DIR/results.csv: "Book,word1,...,wordK", then "book,count1,...,countK" per document. */
static int corpus_write_zipf(const corpus_out_t *co, const lanes_client_corpus_reply_t *r, uint64_t k)
{
    size_t len = strlen(co->dir) + sizeof "/results.csv";
    char *path = malloc(len);
    if (!path)
        return -1;
    snprintf(path, len, "%s/results.csv", co->dir);
    FILE *f = fopen(path, "w");
    int bad = !f;
    if (f) {
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
        bad = fflush(f) != 0 || ferror(f);
        if (fclose(f) != 0)
            bad = 1;
    }
    if (bad)
        fprintf(stderr, "%s: cannot write '%s': %s\n", co->cmd, path, strerror(errno));
    free(path);
    return bad ? -1 : 0;
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

    lanes_client_t *c = connect_client(g);
    lanes_client_status_t st;
    lanes_client_corpus_reply_t reply;
    int rc = EXIT_OK;
    if (lanes_client_corpus(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = server_error(&st);
    } else {
        if (corpus_write_zipf(co, &reply, to->zipf_words ? to->zipf_words : 10) != 0)
            rc = EXIT_SERVER;
        if (jo->want_summary) {
            fprintf(stderr, "documents: %u, failed: %u\n", reply.documents, reply.failed);
            print_summary(stderr, &reply.summary);
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

static int cmd_corpus(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes corpus"};
    const optspec_t *spec;
    const char *val;
    text_opts_t to = {0};
    job_opts_t jo = {0};
    book_list_t books = {0};
    int k, handled, rc = EXIT_OK;
    while (rc == EXIT_OK && (k = opt_next(&it, corpus_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR) {
            rc = EXIT_USAGE;
        } else if (k == OPT_POSITIONAL) {
            rc = corpus_add(it.cmd, &books, val);
        } else if (strcmp(spec->name, "help") == 0) {
            printf("Usage: lanes corpus DIR_OR_FILES... --out DIR [--no-count] [--no-acf] [--mode exact|course]\n"
                   "Runs many books on the daemon's process pool: for each, DIR/<name>.dat (its word count,\n"
                   "as 'lanes wordcount') and DIR/<name>.csv (its word ACF, as 'lanes wordacf'), then the\n"
                   "Zipf table DIR/results.csv ('Book,word1,...' and the top counts of each book, in the\n"
                   "order given). <name> is the file name without its extension; a directory stands for its\n"
                   "*.txt files in name order. One line per finished book goes to stderr; if any book\n"
                   "fails, the others are still written and the exit status is 1.\n\nOptions:\n");
            print_options(stdout, corpus_opts);
            book_list_free(&books);
            return EXIT_OK;
        } else if ((handled = text_option(it.cmd, spec->name, val, &to)) != 0 ||
                   (handled = job_option(it.cmd, spec->name, val, &jo)) != 0) {
            rc = handled < 0 ? EXIT_USAGE : EXIT_OK;
        } else if (global_option(it.cmd, g, spec->name, val) < 0) {
            rc = EXIT_USAGE;
        }
    }
    if (rc == EXIT_OK && books.n == 0)
        rc = usage_error(it.cmd, "missing DIR_OR_FILES (the books)");
    if (rc == EXIT_OK && !to.out)
        rc = usage_error(it.cmd, "missing --out DIR");
    if (rc == EXIT_OK)
        rc = corpus_unique_names(it.cmd, &books);
    if (rc == EXIT_OK && mkdir(to.out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create '%s': %s\n", it.cmd, to.out, strerror(errno));
        rc = EXIT_SERVER;
    }
    if (rc == EXIT_OK) {
        corpus_out_t co = {it.cmd, to.out, !to.no_count, !to.no_acf, books.n, 0, 0,
                           calloc(books.n, sizeof(char *))};
        if (!co.failed_names) {
            fprintf(stderr, "%s: out of memory\n", it.cmd);
            rc = EXIT_SERVER;
        } else {
            rc = corpus_run(g, &books, &to, &jo, &co);
            for (size_t i = 0; i < books.n; i++)
                free(co.failed_names[i]);
            free(co.failed_names);
        }
    }
    book_list_free(&books);
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
    {"acf", cmd_acf, "autocorrelation of a series (statsmodels' acf)"},
    {"wordcount", cmd_wordcount, "word count of a text: the course's .dat"},
    {"wordacf", cmd_wordacf, "word autocorrelation of a text: the course's .csv"},
    {"corpus", cmd_corpus, "many books at once: .dat and .csv each, and the Zipf table"},
    {NULL, NULL, NULL},
};

static void main_usage(FILE *f)
{
    fprintf(f, "Usage: lanes [--server HOST:PORT] [--timeout SECONDS] COMMAND [ARGS...]\n\n"
               "A client of the lanes compute daemon (lanesd).\n\nCommands:\n");
    for (const command_t *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
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
            return usage_error("lanes", "unknown command '%s' (info, health, map, reduce, acf, wordcount, wordacf, corpus)", val);
        }
        if (strcmp(spec->name, "help") == 0) {
            main_usage(stdout);
            return EXIT_OK;
        }
        if (global_option("lanes", &g, spec->name, val) < 0)
            return EXIT_USAGE;
    }
    return usage_error("lanes", "missing COMMAND (info, health, map, reduce, acf, wordcount, wordacf, corpus)");
}
