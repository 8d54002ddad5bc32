/* lanes-bench: throughput and latency of a running lanes daemon, measured from C.
 *
 *   lanes-bench [--server HOST:PORT] [--max-elements N] [--repeat R] [--json FILE] ...
 *
 * Design: for each element count (1e3 .. 1e8, up to --max-elements) three calls move the same float64
 * payload: Echo (the transport bound: bytes out and back, no decoding, no compute), Map "square"
 * (float64 in, float64 out) and Reduce "sum" (float64 in, one value out). Inputs come from one pattern
 * buffer of a chunk's size: a job that fits it is passed in memory (so, like the Python client, it goes
 * as one MapOnce/ReduceOnce round trip), a larger one streams from a source callback that hands the
 * pattern out again and again, so 1e8 elements (800 MB) stream from a megabyte of client memory. Map
 * results go to a sink that checks two values of each run and drops them. Each point is timed as
 * --repeat samples; a sample repeats the call enough times to last --min-seconds. The table shows the
 * median sample as MB/s of input payload (10^6 bytes) and its ratio to Echo of the same bytes. Then the
 * latency of tiny calls, each --latency-calls times after a warm-up, as p50/p99 in microseconds: Reduce
 * "sum" of 8 float64 through ReduceOnce and through the Reduce stream, and unary Info.
 * Output: the table on stdout; with --json FILE one JSON object with every number: "throughput" and
 * "latency_detail" in full, and "rows"/"latency" in the shape scripts/bench.py merges with its Python
 * results (best sample per point, as its Python side takes best-of). Not a test: it checks results
 * only to make sure the numbers measure real work.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "json_out.h"

#define MAX_SIZES 16
#define MAX_REPEAT 1000

typedef struct options {
    const char *server;
    uint64_t max_elements;
    int repeat;
    double min_seconds;
    size_t chunk_bytes;
    int latency_calls;
    int warmup_calls;
    const char *json_path;
    int skip_latency;
} options_t;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lanes-bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'lanes-bench --help'.\n");
    exit(2);
}

static void die_call(const char *what, const lanes_client_status_t *st)
{
    fprintf(stderr, "lanes-bench: %s: %s: %s\n", what, lanes_client_status_name(st->code), st->message);
    exit(1);
}

/* ---- the input pattern ---- */

typedef struct pattern {
    double *x;      /* pn elements */
    size_t pn;
    long double sum; /* of one whole pattern, for checking Reduce */
} pattern_t;

static void pattern_init(pattern_t *p, size_t pn)
{
    p->pn = pn;
    p->x = malloc(pn * sizeof *p->x);
    if (!p->x) {
        fprintf(stderr, "lanes-bench: out of memory\n");
        exit(1);
    }
    p->sum = 0;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < pn; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
        p->x[i] = (double)(s >> 11) * 0x1.0p-53 * 2.0 - 1.0;
        p->sum += p->x[i];
    }
}

static long double pattern_sum(const pattern_t *p, uint64_t n)
{
    long double s = p->sum * (long double)(n / p->pn);
    for (size_t i = 0; i < n % p->pn; i++)
        s += p->x[i];
    return s;
}

/* Elements: runs of the pattern, wrapping around. */
static size_t source_f64(void *ctx, uint64_t offset, size_t n, const void **arrays)
{
    const pattern_t *p = ctx;
    size_t at = (size_t)(offset % p->pn), m = p->pn - at;
    arrays[0] = p->x + at;
    return n < m ? n : m;
}

/* Bytes: the same pattern seen as bytes. */
static size_t source_bytes(void *ctx, uint64_t offset, size_t n, const void **arrays)
{
    const pattern_t *p = ctx;
    size_t bytes = p->pn * sizeof(double), at = (size_t)(offset % bytes), m = bytes - at;
    arrays[0] = (const unsigned char *)p->x + at;
    return n < m ? n : m;
}

/* Map "square" results: check the first and last element of each run. */
typedef struct square_check {
    const pattern_t *p;
    uint64_t bad;
} square_check_t;

static int sink_square(void *ctx, uint64_t offset, const void *data, size_t n)
{
    square_check_t *sc = ctx;
    const unsigned char *d = data;
    uint64_t idx[2] = {offset, offset + n - 1};
    for (int k = 0; k < 2; k++) {
        double got, x = sc->p->x[idx[k] % sc->p->pn];
        memcpy(&got, d + (size_t)(idx[k] - offset) * 8, 8);
        if (got != x * x)
            sc->bad++;
    }
    return 0;
}

/* ---- measurements ---- */

typedef enum op { OP_ECHO, OP_MAP, OP_REDUCE, N_OPS } op_t;
static const char *const op_names[N_OPS] = {"echo", "map", "reduce"};

typedef struct point {
    uint64_t elements, bytes;
    int measured;
    double seconds;      /* median per call */
    double best_seconds; /* fastest per call */
    double mb_per_s;
    double ratio_to_echo;
    int calls_per_sample;
    int samples;
    char backend[32];
} point_t;

typedef struct bench {
    options_t opt;
    lanes_client_t *c;
    pattern_t pat;
} bench_t;

/* One call of op over n elements; fills backend (if not NULL). Exits on a failed call. */
static void run_once(bench_t *b, op_t op, uint64_t n, char *backend, size_t backend_cap)
{
    lanes_client_status_t st;
    switch (op) {
    case OP_ECHO: {
        lanes_client_echo_job_t job;
        memset(&job, 0, sizeof job);
        job.n = n * sizeof(double);
        job.chunk_bytes = b->opt.chunk_bytes;
        job.source = source_bytes;
        job.source_ctx = &b->pat;
        if (lanes_client_echo(b->c, &job, NULL, &st) != GRPC_STATUS_OK)
            die_call("Echo", &st);
        if (backend)
            snprintf(backend, backend_cap, "-");
        break;
    }
    case OP_MAP: {
        lanes_client_map_job_t job;
        lanes_client_summary_t sum;
        square_check_t sc = {&b->pat, 0};
        memset(&job, 0, sizeof job);
        job.function = "square";
        job.n_inputs = 1;
        job.in_dtypes[0] = LANES_DTYPE_F64;
        job.n = n;
        job.out_dtype = LANES_DTYPE_F64;
        job.chunk_bytes = b->opt.chunk_bytes;
        if (n <= b->pat.pn) {
            job.inputs[0] = b->pat.x; /* in memory: a job that fits one message goes as MapOnce */
        } else {
            job.source = source_f64;
            job.source_ctx = &b->pat;
        }
        job.sink = sink_square;
        job.sink_ctx = &sc;
        if (lanes_client_map(b->c, &job, &sum, &st) != GRPC_STATUS_OK)
            die_call("Map square", &st);
        if (sc.bad) {
            fprintf(stderr, "lanes-bench: Map square returned %" PRIu64 " wrong values for %" PRIu64
                            " elements\n",
                    sc.bad, n);
            exit(1);
        }
        if (backend)
            snprintf(backend, backend_cap, "%s", sum.backend);
        break;
    }
    case OP_REDUCE: {
        lanes_client_reduce_job_t job;
        lanes_client_reduce_reply_t reply;
        memset(&job, 0, sizeof job);
        job.op = "sum";
        job.dtype = LANES_DTYPE_F64;
        job.n = n;
        job.chunk_bytes = b->opt.chunk_bytes;
        if (n <= b->pat.pn) {
            job.data = b->pat.x; /* in memory: a job that fits one message goes as ReduceOnce */
        } else {
            job.source = source_f64;
            job.source_ctx = &b->pat;
        }
        if (lanes_client_reduce(b->c, &job, &reply, &st) != GRPC_STATUS_OK)
            die_call("Reduce sum", &st);
        long double want = pattern_sum(&b->pat, n);
        double tol = 1e-9 * (double)n + 1e-9;
        if (!(fabs((double)((long double)reply.value - want)) <= tol)) {
            fprintf(stderr, "lanes-bench: Reduce sum of %" PRIu64 " elements gave %.17g, expected %.17g\n", n,
                    reply.value, (double)want);
            exit(1);
        }
        if (backend)
            snprintf(backend, backend_cap, "%s", reply.summary.backend);
        lanes_client_reduce_reply_free(&reply);
        break;
    }
    default:
        break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void measure(bench_t *b, op_t op, uint64_t n, point_t *pt)
{
    double samples[MAX_REPEAT];
    int r = 0;
    memset(pt, 0, sizeof *pt);
    pt->elements = n;
    pt->bytes = n * sizeof(double);
    /* The first call warms up and calibrates; if it is long enough it is also the first sample. */
    double t0 = now_seconds();
    run_once(b, op, n, pt->backend, sizeof pt->backend);
    double first = now_seconds() - t0;
    int k = 1;
    if (first >= b->opt.min_seconds)
        samples[r++] = first;
    else
        k = (int)ceil(b->opt.min_seconds / (first > 1e-6 ? first : 1e-6));
    if (k > 100000)
        k = 100000;
    while (r < b->opt.repeat) {
        t0 = now_seconds();
        for (int i = 0; i < k; i++)
            run_once(b, op, n, NULL, 0);
        samples[r++] = (now_seconds() - t0) / k;
    }
    qsort(samples, (size_t)r, sizeof samples[0], cmp_double);
    pt->samples = r;
    pt->calls_per_sample = k;
    pt->seconds = r % 2 ? samples[r / 2] : 0.5 * (samples[r / 2 - 1] + samples[r / 2]);
    pt->best_seconds = samples[0];
    pt->mb_per_s = (double)pt->bytes / 1e6 / pt->seconds;
    pt->measured = 1;
}

typedef struct latency {
    int calls;
    double p50_us, p99_us, mean_us, min_us, max_us;
} latency_t;

static void latency_of(double *us, int n, latency_t *out)
{
    double sum = 0;
    qsort(us, (size_t)n, sizeof us[0], cmp_double);
    for (int i = 0; i < n; i++)
        sum += us[i];
    out->calls = n;
    out->p50_us = us[(size_t)(0.50 * (n - 1) + 0.5)];
    out->p99_us = us[(size_t)(0.99 * (n - 1) + 0.5)];
    out->mean_us = sum / n;
    out->min_us = us[0];
    out->max_us = us[n - 1];
}

/* Times n calls of one tiny Reduce "sum" of 1..8 (after the warm-up), one call mode. */
static void latency_reduce(bench_t *b, lanes_client_call_t mode, double *us, latency_t *out)
{
    const double x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    lanes_client_status_t st;
    lanes_client_reduce_job_t job;
    memset(&job, 0, sizeof job);
    job.op = "sum";
    job.dtype = LANES_DTYPE_F64;
    job.data = x;
    job.n = 8;
    job.call = mode;
    for (int i = -b->opt.warmup_calls; i < b->opt.latency_calls; i++) {
        lanes_client_reduce_reply_t reply;
        double t0 = now_seconds();
        if (lanes_client_reduce(b->c, &job, &reply, &st) != GRPC_STATUS_OK)
            die_call("Reduce sum (latency)", &st);
        double t = now_seconds() - t0;
        if (reply.value != 36.0) {
            fprintf(stderr, "lanes-bench: Reduce sum of 1..8 gave %.17g\n", reply.value);
            exit(1);
        }
        if (i >= 0)
            us[i] = t * 1e6;
    }
    latency_of(us, b->opt.latency_calls, out);
}

static void measure_latency(bench_t *b, latency_t *reduce_lat, latency_t *reduce_stream_lat,
                            latency_t *info_lat)
{
    int n = b->opt.latency_calls;
    double *us = malloc((size_t)n * sizeof *us);
    lanes_client_status_t st;
    if (!us) {
        fprintf(stderr, "lanes-bench: out of memory\n");
        exit(1);
    }
    latency_reduce(b, LANES_CLIENT_CALL_AUTO, us, reduce_lat);          /* ReduceOnce */
    latency_reduce(b, LANES_CLIENT_CALL_STREAM, us, reduce_stream_lat); /* Reduce stream */
    for (int i = -b->opt.warmup_calls; i < n; i++) {
        Lanes__V1__InfoResponse *r;
        double t0 = now_seconds();
        if (lanes_client_info(b->c, &r, &st) != GRPC_STATUS_OK)
            die_call("Info (latency)", &st);
        double t = now_seconds() - t0;
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (i >= 0)
            us[i] = t * 1e6;
    }
    latency_of(us, n, info_lat);
    free(us);
}

/* ---- output ---- */


static void json_latency(FILE *f, const char *name, const char *what, const latency_t *l)
{
    fprintf(f, "\"%s\": {\"what\": ", name);
    json_write_string(f, what);
    fprintf(f,
            ", \"calls\": %d, \"p50_us\": %.3f, \"p99_us\": %.3f, \"mean_us\": %.3f, \"min_us\": %.3f, "
            "\"max_us\": %.3f}",
            l->calls, l->p50_us, l->p99_us, l->mean_us, l->min_us, l->max_us);
}

static void usage(void)
{
    printf("Usage: lanes-bench [--server HOST:PORT] [OPTIONS]\n"
           "Measures Map \"square\", Reduce \"sum\" and Echo throughput (float64, 1e3 .. 1e8 elements)\n"
           "and tiny Reduce / Info latency against a running lanesd.\n\nOptions:\n"
           "  --server HOST:PORT     the daemon (default $LANES_SERVER or 127.0.0.1:50051)\n"
           "  --max-elements N       largest element count (default 1e8; accepts 1e7 etc.)\n"
           "  --repeat R             samples per point, median reported (default 3)\n"
           "  --min-seconds S        a sample repeats a call to last at least S (default 0.1)\n"
           "  --chunk-bytes N        payload per message (default 1048576; at most 4 MiB)\n"
           "  --latency-calls N      timed tiny calls (default 2000), after --warmup N (default 200)\n"
           "  --no-latency           skip the latency part\n"
           "  --json FILE            also write all numbers as one JSON object ('-': stdout)\n"
           "  --help                 print this help\n");
}

static uint64_t parse_count(const char *flag, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !(v >= 1) || v > 1e12 || v != floor(v))
        die_usage("bad %s '%s' (a positive integer, e.g. 1000000 or 1e6)", flag, s);
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    bench_t b;
    memset(&b, 0, sizeof b);
    options_t *o = &b.opt;
    o->server = getenv("LANES_SERVER");
    if (!o->server || !*o->server)
        o->server = "127.0.0.1:50051";
    o->max_elements = 100000000;
    o->repeat = 3;
    o->min_seconds = 0.1;
    o->chunk_bytes = LANES_CLIENT_DEFAULT_CHUNK_BYTES;
    o->latency_calls = 2000;
    o->warmup_calls = 200;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char name[64];
        const char *eq = strchr(a, '=');
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (strcmp(a, "--no-latency") == 0) {
            o->skip_latency = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            die_usage("unexpected argument '%s'", a);
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name)
            die_usage("unknown option '%s'", a);
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            die_usage("option '%s' needs a value", name);
        if (strcmp(name, "--server") == 0)
            o->server = v;
        else if (strcmp(name, "--max-elements") == 0)
            o->max_elements = parse_count(name, v);
        else if (strcmp(name, "--repeat") == 0) {
            uint64_t r = parse_count(name, v);
            if (r > MAX_REPEAT)
                die_usage("--repeat is at most %d", MAX_REPEAT);
            o->repeat = (int)r;
        } else if (strcmp(name, "--min-seconds") == 0) {
            char *end;
            o->min_seconds = strtod(v, &end);
            if (*end || !(o->min_seconds >= 0) || o->min_seconds > 60)
                die_usage("bad --min-seconds '%s' (0 to 60)", v);
        } else if (strcmp(name, "--chunk-bytes") == 0) {
            uint64_t cb = parse_count(name, v);
            if (cb > LANES_CLIENT_MAX_MESSAGE_BYTES)
                die_usage("--chunk-bytes is at most %zu", LANES_CLIENT_MAX_MESSAGE_BYTES);
            o->chunk_bytes = (size_t)cb;
        } else if (strcmp(name, "--latency-calls") == 0) {
            uint64_t n = parse_count(name, v);
            if (n > 10000000)
                die_usage("--latency-calls is at most 10000000");
            o->latency_calls = (int)n;
        } else if (strcmp(name, "--warmup") == 0) {
            char *end;
            long w = strtol(v, &end, 10);
            if (*end || w < 0 || w > 1000000)
                die_usage("bad --warmup '%s'", v);
            o->warmup_calls = (int)w;
        } else if (strcmp(name, "--json") == 0)
            o->json_path = v;
        else
            die_usage("unknown option '%s'", name);
    }

    /* The pattern is one chunk long, so every chunk is one contiguous run of it. */
    size_t pn = (o->chunk_bytes > LANES_CLIENT_DEFAULT_CHUNK_BYTES ? o->chunk_bytes
                                                                    : LANES_CLIENT_DEFAULT_CHUNK_BYTES) /
                sizeof(double);
    pattern_init(&b.pat, pn);
    b.c = lanes_client_new(o->server);
    if (!b.c) {
        fprintf(stderr, "lanes-bench: out of memory\n");
        return 1;
    }

    lanes_client_status_t st;
    Lanes__V1__InfoResponse *info;
    if (lanes_client_info(b.c, &info, &st) != GRPC_STATUS_OK)
        die_call("Info", &st);
    printf("lanes-bench: server %s (lanesd %s, %u OpenMP threads, %u online CPUs, inline below %" PRIu64
           " elements)\n",
           o->server, info->version, info->cpu_threads, info->online_cpus, info->inline_threshold);
    printf("float64 payload, chunk %zu bytes, median of %d samples, each >= %.2f s; MB = 10^6 bytes\n\n",
           o->chunk_bytes, o->repeat, o->min_seconds);
    printf("%12s %14s | %10s | %10s %6s %-7s | %10s %6s %-7s\n", "elements", "bytes", "echo MB/s", "map MB/s",
           "/echo", "backend", "reduce MB/s", "/echo", "backend");
    fflush(stdout);

    point_t pts[MAX_SIZES][N_OPS];
    int n_sizes = 0;
    for (uint64_t n = 1000; n <= o->max_elements && n_sizes < MAX_SIZES; n *= 10, n_sizes++) {
        point_t *row = pts[n_sizes];
        for (int op = 0; op < N_OPS; op++)
            measure(&b, (op_t)op, n, &row[op]);
        for (int op = 0; op < N_OPS; op++)
            row[op].ratio_to_echo = row[op].mb_per_s / row[OP_ECHO].mb_per_s;
        printf("%12" PRIu64 " %14" PRIu64 " | %10.1f | %10.1f %6.2f %-7s | %10.1f %6.2f %-7s\n", n, n * 8,
               row[OP_ECHO].mb_per_s, row[OP_MAP].mb_per_s, row[OP_MAP].ratio_to_echo, row[OP_MAP].backend,
               row[OP_REDUCE].mb_per_s, row[OP_REDUCE].ratio_to_echo, row[OP_REDUCE].backend);
        fflush(stdout);
    }

    latency_t lat_reduce = {0}, lat_reduce_stream = {0}, lat_info = {0};
    if (!o->skip_latency) {
        measure_latency(&b, &lat_reduce, &lat_reduce_stream, &lat_info);
        printf("\nlatency over %d calls after %d warm-up calls (microseconds):\n", o->latency_calls,
               o->warmup_calls);
        printf("  %-40s p50 %8.1f  p99 %8.1f  mean %8.1f  min %8.1f\n", "Reduce sum of 8 float64 (ReduceOnce)",
               lat_reduce.p50_us, lat_reduce.p99_us, lat_reduce.mean_us, lat_reduce.min_us);
        printf("  %-40s p50 %8.1f  p99 %8.1f  mean %8.1f  min %8.1f\n", "Reduce sum of 8 float64 (stream)",
               lat_reduce_stream.p50_us, lat_reduce_stream.p99_us, lat_reduce_stream.mean_us,
               lat_reduce_stream.min_us);
        printf("  %-40s p50 %8.1f  p99 %8.1f  mean %8.1f  min %8.1f\n", "Info (unary)", lat_info.p50_us,
               lat_info.p99_us, lat_info.mean_us, lat_info.min_us);
    }

    if (o->json_path) {
        FILE *f = strcmp(o->json_path, "-") == 0 ? stdout : fopen(o->json_path, "w");
        if (!f) {
            fprintf(stderr, "lanes-bench: cannot create '%s': %s\n", o->json_path, strerror(errno));
            return 1;
        }
        fprintf(f, "{\"tool\": \"lanes-bench\", \"client\": \"c\", \"server\": ");
        json_write_string(f, o->server);
        fprintf(f, ", \"server_version\": ");
        json_write_string(f, info->version);
        fprintf(f,
                ", \"server_cpu_threads\": %u, \"server_online_cpus\": %u, \"inline_threshold\": %" PRIu64
                ", \"dtype\": \"float64\", \"chunk_bytes\": %zu, \"repeat\": %d, \"min_seconds\": %g, "
                "\"mb\": 1000000, \"throughput\": [",
                info->cpu_threads, info->online_cpus, info->inline_threshold, o->chunk_bytes, o->repeat,
                o->min_seconds);
        int first = 1;
        for (int s = 0; s < n_sizes; s++)
            for (int op = 0; op < N_OPS; op++) {
                const point_t *p = &pts[s][op];
                fprintf(f, "%s\n  {\"op\": \"%s\", \"function\": \"%s\", \"elements\": %" PRIu64
                           ", \"bytes\": %" PRIu64 ", \"seconds\": %.9f, \"best_seconds\": %.9f, "
                           "\"mb_per_s\": %.3f, \"ratio_to_echo\": %.4f, \"samples\": %d, "
                           "\"calls_per_sample\": %d, \"backend\": ",
                        first ? "" : ",", op_names[op],
                        op == OP_MAP ? "square" : op == OP_REDUCE ? "sum" : "", p->elements, p->bytes,
                        p->seconds, p->best_seconds, p->mb_per_s, p->ratio_to_echo, p->samples,
                        p->calls_per_sample);
                json_write_string(f, op == OP_ECHO ? "" : p->backend);
                fputc('}', f);
                first = 0;
            }
        /* scripts/bench.py's rows: best sample per point, as its Python side takes best-of. */
        fprintf(f, "\n], \"rows_statistic\": \"best\", \"rows\": [");
        for (int r = 0; r < n_sizes; r++) {
            const point_t *e = &pts[r][OP_ECHO], *m = &pts[r][OP_MAP], *d = &pts[r][OP_REDUCE];
            double mb = (double)e->bytes / 1e6;
            fprintf(f, "%s\n  {\"client\": \"c\", \"elements\": %" PRIu64 ", \"map_MBps\": %.3f, "
                       "\"reduce_MBps\": %.3f, \"echo_MBps\": %.3f, \"map_vs_echo\": %.4f, \"map_backend\": ",
                    r ? "," : "", e->elements, mb / m->best_seconds, mb / d->best_seconds, mb / e->best_seconds,
                    e->best_seconds / m->best_seconds);
            json_write_string(f, m->backend);
            fputc('}', f);
        }
        fprintf(f, "\n], \"latency\": ");
        if (o->skip_latency) {
            fprintf(f, "null");
        } else {
            fprintf(f,
                    "{\"client\": \"c\", \"calls\": %d, \"reduce_p50_us\": %.3f, \"reduce_p99_us\": %.3f, "
                    "\"reduce_stream_p50_us\": %.3f, \"reduce_stream_p99_us\": %.3f, \"info_p50_us\": %.3f, "
                    "\"info_p99_us\": %.3f}",
                    o->latency_calls, lat_reduce.p50_us, lat_reduce.p99_us, lat_reduce_stream.p50_us,
                    lat_reduce_stream.p99_us, lat_info.p50_us, lat_info.p99_us);
        }
        fprintf(f, ", \"latency_detail\": {");
        if (!o->skip_latency) {
            json_latency(f, "reduce_sum_8", "Reduce sum of 8 float64 (ReduceOnce)", &lat_reduce);
            fprintf(f, ", ");
            json_latency(f, "reduce_sum_8_stream", "Reduce sum of 8 float64 (Reduce stream)", &lat_reduce_stream);
            fprintf(f, ", ");
            json_latency(f, "info", "Info (unary)", &lat_info);
        }
        fprintf(f, "}}\n");
        if (f != stdout && fclose(f) != 0) {
            fprintf(stderr, "lanes-bench: cannot write '%s': %s\n", o->json_path, strerror(errno));
            return 1;
        }
    }
    protobuf_c_message_free_unpacked(&info->base, NULL);
    lanes_client_free(b.c);
    free(b.pat.x);
    return 0;
}
