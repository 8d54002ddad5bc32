/* lanes-bench-expr: how fast does lanes_expr_eval run an expression over float64 arrays?
 *
 * Design: for each expression (by default the four of scripts/bench_expr.py: 2*x-1, x**2 + y**2,
 * sin(x)*exp(-x), where(x>0, sqrt(x), 0)) and each size (default 1e6 and 1e8 elements) it compiles
 * the expression once (inputs x and y: float64 arrays), evaluates it for 0.3 s to warm up (that also
 * touches every output page), then times 'repeats' evaluations into the same float64 output with the
 * given thread count and reports the median and the minimum. Compilation is not timed: the daemon
 * caches compiled expressions (lanes_expr_acquire), so a job pays it once. On a machine shared with
 * other work, a call with as many threads as CPUs waits a whole scheduler slice (~8 ms) whenever one
 * of its threads is descheduled: medians of millisecond calls are then multiples of 8 ms, while one
 * thread is unaffected. Run it on an idle machine, or compare --threads 1.
 *
 * The inputs are a function of the element index that numpy reproduces bit for bit, so
 * scripts/bench_expr.py can time numpy and numexpr on the very same data and compare results:
 *   x[k] = (double)((k * 0x9E3779B97F4A7C15 mod 2^64) >> 11) * 2^-53 * 20 - 10,
 *   y[k] the same with multiplier 0xD1B54A32D192ED03,
 * evaluated left to right, each operation rounded (built with -ffp-contract=off): uniform-looking
 * values in [-10, 10). For each run the output includes 'samples' evenly spaced elements (first and
 * last included) as [k, x, y, value], printed with 17 significant digits (exact round trip).
 *
 * Output: one JSON object on stdout: {"threads", "results": [{"expr", "n", "repeats", "median_ms",
 * "min_ms", "samples"}]}. Progress goes to stderr. Not a test: timings depend on the machine and its
 * load. Memory: three arrays of n doubles (2.4 GB at 1e8).
 *
 * Usage: lanes-bench-expr [--threads N] [--sizes N[,N...]] [--repeats R] [--samples S]
 *                         [--expr SRC]...   (sizes accept 1e6-style numbers)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lanes/expr.h"

#define BENCH_MAX_EXPRS 16
#define BENCH_MAX_SIZES 8
#define BENCH_MAX_REPEATS 1000
#define BENCH_WARMUP_MS 300.0

static const char *const g_default_exprs[] = {"2*x-1", "x**2 + y**2", "sin(x)*exp(-x)",
                                              "where(x>0, sqrt(x), 0)"};

typedef struct bench_opts {
    int threads;
    int repeats;      /* 0: chosen per size */
    int exprs_given;  /* an --expr replaced the defaults */
    size_t samples;
    size_t n_sizes;
    size_t sizes[BENCH_MAX_SIZES];
    size_t n_exprs;
    const char *exprs[BENCH_MAX_EXPRS];
} bench_opts_t;

static double bench_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int bench_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The benchmark's input: element k of the sequence with multiplier mul, in [-10, 10). */
static void bench_fill(double *v, size_t n, uint64_t mul)
{
    for (size_t k = 0; k < n; k++) {
        const uint64_t h = (uint64_t)k * mul;
        v[k] = (double)(h >> 11) * 0x1p-53 * 20.0 - 10.0;
    }
}

/* Parses "1000000", "1e6" or "1e8" as an element count; 0 on error. */
static size_t bench_parse_size(const char *s)
{
    char *end = NULL;
    errno = 0;
    const double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 1.0) || v > 1e12 || v != floor(v))
        return 0;
    return (size_t)v;
}

static int bench_parse_args(int argc, char **argv, bench_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--threads") == 0 && v) {
            o->threads = atoi(v);
            i++;
        } else if (strcmp(a, "--repeats") == 0 && v) {
            o->repeats = atoi(v);
            if (o->repeats < 1 || o->repeats > BENCH_MAX_REPEATS) {
                fprintf(stderr, "lanes-bench-expr: --repeats must be 1..%d\n", BENCH_MAX_REPEATS);
                return -1;
            }
            i++;
        } else if (strcmp(a, "--samples") == 0 && v) {
            o->samples = (size_t)strtoul(v, NULL, 10);
            i++;
        } else if (strcmp(a, "--sizes") == 0 && v) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            o->n_sizes = 0;
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                const size_t n = bench_parse_size(t);
                if (n == 0 || o->n_sizes == BENCH_MAX_SIZES) {
                    fprintf(stderr, "lanes-bench-expr: bad --sizes '%s' (at most %d counts >= 1)\n", v,
                            BENCH_MAX_SIZES);
                    return -1;
                }
                o->sizes[o->n_sizes++] = n;
            }
            i++;
        } else if (strcmp(a, "--expr") == 0 && v) {
            if (!o->exprs_given) {
                o->exprs_given = 1; /* the first --expr replaces the defaults */
                o->n_exprs = 0;
            }
            if (o->n_exprs == BENCH_MAX_EXPRS) {
                fprintf(stderr, "lanes-bench-expr: at most %d --expr\n", BENCH_MAX_EXPRS);
                return -1;
            }
            o->exprs[o->n_exprs++] = v;
            i++;
        } else {
            fprintf(stderr,
                    "usage: lanes-bench-expr [--threads N] [--sizes N[,N...]] [--repeats R] "
                    "[--samples S] [--expr SRC]...\n");
            return -1;
        }
    }
    if (o->threads < 1)
        o->threads = 1;
    return 0;
}

/* Prints a double as JSON: 17 significant digits, or null for NaN and infinities. */
static void bench_json_double(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

/* Times one expression at one size; prints its JSON object. Returns 0 or -1. */
static int bench_run(const bench_opts_t *o, const char *src, size_t n, const double *x, const double *y,
                     double *out, int first)
{
    static const lanes_expr_input_t inputs[2] = {
        {.name = "x", .kind = LANES_SOURCE_ARRAY, .dtype = LANES_DTYPE_F64},
        {.name = "y", .kind = LANES_SOURCE_ARRAY, .dtype = LANES_DTYPE_F64},
    };
    lanes_error_t err;
    lanes_expr_t *e = lanes_expr_compile(src, inputs, 2, NULL, 0, &err);
    if (e == NULL) {
        fprintf(stderr, "lanes-bench-expr: %s\n", err.msg);
        return -1;
    }
    const lanes_expr_binding_t b[2] = {{.data = x}, {.data = y}};

    /* Warm-up: calls until BENCH_WARMUP_MS have passed (at least one), so one-time costs (the output's
     * page faults, the OpenMP pool's start, cold caches) stay out of the timed calls. Then enough
     * repeats for ~1 s of timing (3 .. 25) unless given. */
    double warm = 0.0;
    for (const double start = bench_now_ms(); bench_now_ms() - start < BENCH_WARMUP_MS || warm == 0.0;) {
        const double t0 = bench_now_ms();
        if (lanes_expr_eval(e, b, NULL, 0, n, out, LANES_DTYPE_F64, o->threads) != 0) {
            fprintf(stderr, "lanes-bench-expr: lanes_expr_eval failed for '%s'\n", src);
            lanes_expr_free(e);
            return -1;
        }
        warm = bench_now_ms() - t0;
        if (warm == 0.0)
            warm = 1e-6;
    }
    int repeats = o->repeats;
    if (repeats == 0) {
        repeats = (int)(1000.0 / warm);
        repeats = repeats < 3 ? 3 : repeats > 25 ? 25 : repeats;
    }
    double times[BENCH_MAX_REPEATS];
    for (int r = 0; r < repeats; r++) {
        const double t0 = bench_now_ms();
        lanes_expr_eval(e, b, NULL, 0, n, out, LANES_DTYPE_F64, o->threads);
        times[r] = bench_now_ms() - t0;
    }
    qsort(times, (size_t)repeats, sizeof times[0], bench_cmp_double);
    const double median = repeats % 2 ? times[repeats / 2]
                                       : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2]);
    fprintf(stderr, "lanes-bench-expr: %-26s n=%-10zu %4d repeats  median %10.3f ms\n", src, n, repeats,
            median);

    printf("%s\n    {\"expr\": \"", first ? "" : ",");
    for (const char *c = src; *c; c++) {
        if (*c == '"' || *c == '\\')
            putchar('\\');
        if ((unsigned char)*c >= 0x20)
            putchar(*c);
    }
    printf("\", \"n\": %zu, \"repeats\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f, \"samples\": [", n,
           repeats, median, times[0]);
    const size_t s = o->samples < n ? o->samples : n;
    for (size_t j = 0; j < s; j++) {
        const size_t k = s > 1 ? (size_t)((double)j * (double)(n - 1) / (double)(s - 1)) : 0;
        printf("%s[%zu, ", j ? ", " : "", k);
        bench_json_double(x[k]);
        printf(", ");
        bench_json_double(y[k]);
        printf(", ");
        bench_json_double(out[k]);
        printf("]");
    }
    printf("]}");
    lanes_expr_free(e);
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts_t o = {.threads = 1, .samples = 1000, .n_sizes = 2, .sizes = {1000000, 100000000}};
    o.n_exprs = sizeof g_default_exprs / sizeof g_default_exprs[0];
    for (size_t i = 0; i < o.n_exprs; i++)
        o.exprs[i] = g_default_exprs[i];
    if (bench_parse_args(argc, argv, &o) != 0)
        return 2;

    size_t max_n = 0;
    for (size_t i = 0; i < o.n_sizes; i++)
        max_n = o.sizes[i] > max_n ? o.sizes[i] : max_n;
    double *x = malloc(max_n * sizeof(double));
    double *y = malloc(max_n * sizeof(double));
    double *out = malloc(max_n * sizeof(double));
    if (x == NULL || y == NULL || out == NULL) {
        fprintf(stderr, "lanes-bench-expr: out of memory for 3 x %zu doubles\n", max_n);
        return 1;
    }
    bench_fill(x, max_n, UINT64_C(0x9E3779B97F4A7C15));
    bench_fill(y, max_n, UINT64_C(0xD1B54A32D192ED03));

    int rc = 0, first = 1;
    printf("{\"threads\": %d, \"results\": [", o.threads);
    for (size_t si = 0; si < o.n_sizes; si++)
        for (size_t ei = 0; ei < o.n_exprs; ei++) {
            if (bench_run(&o, o.exprs[ei], o.sizes[si], x, y, out, first) != 0)
                rc = 1;
            else
                first = 0;
            fflush(stdout);
        }
    printf("\n]}\n");
    free(out);
    free(y);
    free(x);
    return rc;
}
