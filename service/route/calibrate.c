/* Calibration of the router's cost model (see calibrate.h).
 *
 * Measurement: a family's kernel state is created once (as a job creates it once) and fed pieces of
 * each size; a size is timed 'reps' times after one warm-up run and the fastest counts. The cpu
 * backend is the same kernel with cpu_threads OpenMP threads plus the latency of waking a thread
 * blocked on a condition variable (what lanes_pool_submit costs a task before it starts), measured
 * here with a ping-pong between two threads. Text runs on one pool thread, so its cpu constants are
 * the inline ones plus that latency.
 *
 * Fit (lanes_calibrate_fit): t = a + b * s, a = overhead_ns, s = 1 / bytes_per_ns, to the points (x_i
 * bytes, y_i ns). The router needs both ends right: the overhead decides whether a small piece is
 * worth handing to a pool thread or a device at all, the throughput where the backends cross. Plain
 * least squares gets neither reliably, because the real curve is no straight line: small pieces run
 * from cache and large ones from memory, so the cost per byte grows with the size, and on a loaded
 * machine the long runs are the ones most often preempted. A line through points that bend upwards
 * meets the time axis below zero; the old fit clamped that to 0 and refitted through the origin, a
 * model in which a tiny piece is free (for cuda, whose overhead is a round trip to the GPU worker,
 * wrong by tens of microseconds), and it happened whenever load bent the curve. So:
 *  - the error is relative ((y_i - t(x_i)) / y_i, weights 1/y_i^2): the sizes span three decades, and
 *    absolute errors would let the largest piece decide the overhead alone;
 *  - the overhead is at most y0, the smallest piece's time (time does not fall as bytes grow, so a
 *    piece of no bytes costs no more than the smallest one measured);
 *  - the overhead is at least L = y0 - x0 * ym / xm (x0, y0 the smallest piece, xm, ym the largest):
 *    ym / xm, the largest piece's time per byte, includes its share of the overhead, so it is at least
 *    the cost per byte, and x0 * ym / xm at least what the smallest piece's bytes cost: the rest of y0
 *    is overhead. Where the cost per byte grows with the size L can be <= 0 and the points do not
 *    resolve the overhead; then it is at least y0 / LANES_CALIBRATE_MIN_OVERHEAD_DIV (1/16): never
 *    free, and raising the overhead to it moves the smallest piece's prediction by at most 6 % of its
 *    time (about the spread of a fastest-of-n timing on a busy machine) before the slope is refitted;
 *  - s >= a tiny positive bound, so the predicted time increases with the bytes.
 * The error is a convex quadratic in (a, s) on that strip, so its minimum is exact without iterating:
 * the unconstrained least squares if it lies inside, else the best of the three edges' minima (a = the
 * lower bound, a = y0, s = the bound), each a one-variable least squares clamped to its edge.
 */
#define _POSIX_C_SOURCE 200809L
#include "clock.h"
#include "calibrate.h"

#include "gpu_pool.h"
#include "lanes/registry.h"
#include "test_hooks.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lanes/acf.h"
#include "lanes/kernels.h"
#include "lanes/text.h"

#define MAX_SIZES LANES_CALIBRATE_MAX_SIZES

static double now_ns(void) { return (double)lanes_now_ns(); }

/* ---- the kernels, one piece at a time ---- */

typedef struct bench {
    lanes_family_t fam;
    double *x, *y;          /* float64 input and map output */
    char *text;
    size_t cap;             /* elements (bytes for text) available */
    lanes_map_plan_t *plan;
    lanes_reducer_t *red;
    lanes_acf_t *acf;
    lanes_word_counter_t *wc;
    size_t bytes_per_elem;  /* as the pipeline counts them: input + output */
} bench_t;

static int bench_run(bench_t *b, size_t n, int threads)
{
    switch (b->fam) {
    case LANES_FAMILY_MAP: {
        const void *in[1] = {b->x};
        return lanes_map_plan_run(b->plan, in, n, b->y, threads);
    }
    case LANES_FAMILY_REDUCE: return lanes_reducer_feed(b->red, b->x, n, threads);
    case LANES_FAMILY_ACF:
        lanes_acf_set_threads(b->acf, threads);
        return lanes_acf_feed(b->acf, b->x, n, LANES_DTYPE_F64);
    case LANES_FAMILY_TEXT: {
        lanes_error_t err = {0};
        return lanes_word_counter_feed(b->wc, b->text, n, &err);
    }
    default: return -1;
    }
}

static void bench_free(bench_t *b)
{
    free(b->x);
    free(b->y);
    free(b->text);
    lanes_map_plan_free(b->plan);
    lanes_reducer_free(b->red);
    lanes_acf_free(b->acf);
    lanes_word_counter_free(b->wc);
}

static int bench_init(bench_t *b, lanes_family_t fam, size_t cap, char *err, size_t ecap)
{
    memset(b, 0, sizeof *b);
    b->fam = fam;
    b->cap = cap;
    lanes_error_t e = {0};
    if (fam == LANES_FAMILY_TEXT) {
        /* Words of 2 to 9 letters drawn from a vocabulary of 4096, small ones more often (as in prose),
         * separated by spaces and the odd line break: the tokenizer's ASCII path and a stable table. */
        b->text = malloc(cap);
        char(*vocab)[10] = malloc(4096 * sizeof *vocab);
        if (!b->text || !vocab) {
            free(vocab);
            return lanes_errf(err, ecap, "calibration: out of memory");
        }
        uint32_t s = 12345;
        for (int w = 0; w < 4096; w++) {
            s = s * 1103515245u + 12345u;
            int len = 2 + (int)((s >> 16) % 8);
            for (int k = 0; k < len; k++) {
                s = s * 1103515245u + 12345u;
                vocab[w][k] = (char)('a' + (s >> 16) % 26);
            }
            vocab[w][len] = 0;
        }
        for (size_t i = 0; i < cap;) {
            s = s * 1103515245u + 12345u;
            uint32_t r = (s >> 8) & 0xffff;
            const char *word = vocab[(r * r) >> 20]; /* skewed towards the first words */
            for (size_t k = 0; word[k] && i < cap; k++)
                b->text[i++] = word[k];
            if (i < cap)
                b->text[i++] = (s & 0x1f000) == 0 ? '\n' : ' ';
        }
        free(vocab);
        b->wc = lanes_word_counter_new(0, &e);
        b->bytes_per_elem = 1;
        if (!b->wc)
            return lanes_errf(err, ecap, "calibration: word counter: %s", e.msg);
        return 0;
    }
    b->x = malloc(cap * sizeof(double));
    if (!b->x)
        return lanes_errf(err, ecap, "calibration: out of memory");
    for (size_t i = 0; i < cap; i++)
        b->x[i] = sin((double)i * 0.001) + (double)(i % 7) * 0.25;
    if (fam == LANES_FAMILY_MAP) {
        b->y = malloc(cap * sizeof(double));
        lanes_dtype_t in = LANES_DTYPE_F64;
        b->plan = lanes_map_plan_compile("sin", NULL, 0, &in, 1, LANES_DTYPE_F64, &e);
        b->bytes_per_elem = 16;
        if (!b->y || !b->plan)
            return lanes_errf(err, ecap, "calibration: map plan: %s", b->y ? e.msg : "out of memory");
    } else if (fam == LANES_FAMILY_REDUCE) {
        lanes_reduce_spec_t rs = {.op = LANES_REDUCE_SUM, .dtype = LANES_DTYPE_F64};
        b->red = lanes_reducer_new(&rs, &e);
        b->bytes_per_elem = 8;
        if (!b->red)
            return lanes_errf(err, ecap, "calibration: sum reducer: %s", e.msg);
    } else {
        lanes_acf_spec_t as = {.nlags = 16, .method = LANES_ACF_DIRECT, .threads = 1};
        b->acf = lanes_acf_new(&as, &e);
        b->bytes_per_elem = 8;
        if (!b->acf)
            return lanes_errf(err, ecap, "calibration: acf: %s", e.msg);
    }
    return 0;
}

/* The fastest of reps runs of one piece of n elements, after a warm-up run. */
static int time_piece(bench_t *b, size_t n, int threads, int reps, double *ns)
{
    if (bench_run(b, n, threads) != 0)
        return -1;
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = now_ns();
        if (bench_run(b, n, threads) != 0)
            return -1;
        double dt = now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    *ns = best;
    return 0;
}

/* The relative squared error of t = a + x * slope over the points (calibrate.c's fit). */
static double fit_error(const double *x, const double *y, int k, double a, double slope)
{
    double e = 0;
    for (int i = 0; i < k; i++) {
        double r = (y[i] - a - x[i] * slope) / y[i];
        e += r * r;
    }
    return e;
}

/* The slope minimising fit_error with the overhead fixed at a, at least smin. */
static double fit_slope_given(const double *x, const double *y, int k, double a, double smin)
{
    double num = 0, den = 0;
    for (int i = 0; i < k; i++) {
        double w = 1.0 / (y[i] * y[i]);
        num += w * x[i] * (y[i] - a);
        den += w * x[i] * x[i];
    }
    double s = den > 0 ? num / den : smin;
    return s > smin ? s : smin;
}

int lanes_calibrate_fit(const double *bytes, const double *ns, int k, lanes_cost_t *out)
{
    double x[LANES_CALIBRATE_MAX_SIZES], y[LANES_CALIBRATE_MAX_SIZES];
    int n = 0, lo_i = -1, hi_i = -1;
    for (int i = 0; i < k && n < LANES_CALIBRATE_MAX_SIZES; i++) {
        if (!(isfinite(bytes[i]) && bytes[i] > 0 && isfinite(ns[i]) && ns[i] > 0))
            continue;
        x[n] = bytes[i];
        y[n] = ns[i];
        /* the smallest and largest pieces; of equal sizes the faster (timings only err upwards) */
        if (lo_i < 0 || x[n] < x[lo_i] || (x[n] == x[lo_i] && y[n] < y[lo_i]))
            lo_i = n;
        if (hi_i < 0 || x[n] > x[hi_i] || (x[n] == x[hi_i] && y[n] < y[hi_i]))
            hi_i = n;
        n++;
    }
    if (n < 2 || x[lo_i] == x[hi_i])
        return -1;
    const double x0 = x[lo_i], y0 = y[lo_i], xm = x[hi_i], ym = y[hi_i];
    double a_lo = y0 - x0 * ym / xm;
    if (a_lo < y0 / LANES_CALIBRATE_MIN_OVERHEAD_DIV)
        a_lo = y0 / LANES_CALIBRATE_MIN_OVERHEAD_DIV;
    const double a_hi = y0;
    const double smin = 1e-9 * ym / xm; /* a billionth of the largest piece's time per byte */

    /* Unconstrained weighted least squares (weights 1/y^2). */
    double sw = 0, swx = 0, swy = 0, swxx = 0, swxy = 0;
    for (int i = 0; i < n; i++) {
        double w = 1.0 / (y[i] * y[i]);
        sw += w;
        swx += w * x[i];
        swy += w * y[i];
        swxx += w * x[i] * x[i];
        swxy += w * x[i] * y[i];
    }
    double det = sw * swxx - swx * swx;
    double a = 0, s = 0;
    int inside = 0;
    if (det > 0) {
        s = (sw * swxy - swx * swy) / det;
        a = (swy - s * swx) / sw;
        inside = a >= a_lo && a <= a_hi && s >= smin;
    }
    if (!inside) { /* the minimum lies on an edge of the strip: the best of the three edges' minima */
        double best = INFINITY;
        const double edges[2] = {a_lo, a_hi};
        for (int e = 0; e < 2; e++) {
            double se = fit_slope_given(x, y, n, edges[e], smin), err = fit_error(x, y, n, edges[e], se);
            if (err < best) {
                best = err;
                a = edges[e];
                s = se;
            }
        }
        double ae = (swy - smin * swx) / sw; /* s = smin: the overhead's least squares, clamped */
        ae = ae < a_lo ? a_lo : ae > a_hi ? a_hi : ae;
        if (fit_error(x, y, n, ae, smin) < best) {
            a = ae;
            s = smin;
        }
    }
    out->overhead_ns = a;
    out->bytes_per_ns = 1.0 / s;
    return 0;
}

void lanes_calibrate_format_measured(const lanes_calibrate_measured_t *m, char *out, size_t cap)
{
    static const char *const fams[LANES_FAMILY_N] = {"map", "reduce", "acf", "text"}; /* as router.c names them */
    size_t len = 0;
    if (cap > 0)
        out[0] = 0;
    for (int w = 0; w < LANES_WHERE_N; w++)
        for (int fam = 0; fam < LANES_FAMILY_N; fam++) {
            const lanes_calibrate_series_t *sr = &m->s[w][fam];
            if (sr->n <= 0)
                continue;
            int r = snprintf(out + len, cap - len, "measured %s.%s =", fams[fam], lanes_where_name((lanes_where_t)w));
            for (int i = 0; r >= 0 && (size_t)r < cap - len && i < sr->n; i++) {
                len += (size_t)r;
                r = snprintf(out + len, cap - len, " %.17g:%.17g", sr->bytes[i], sr->ns[i]);
            }
            if (r < 0 || (size_t)r >= cap - len)
                return;
            len += (size_t)r;
            r = snprintf(out + len, cap - len, "\n");
            if (r < 0 || (size_t)r >= cap - len)
                return;
            len += (size_t)r;
        }
}

/* ---- the latency of handing a task to a waiting thread ---- */

typedef struct pingpong {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int turn; /* 0: main's, 1: the helper's, 2: stop */
} pingpong_t;

static void *pong(void *arg)
{
    pingpong_t *pp = arg;
    pthread_mutex_lock(&pp->mu);
    for (;;) {
        while (pp->turn == 0)
            pthread_cond_wait(&pp->cv, &pp->mu);
        if (pp->turn == 2)
            break;
        pp->turn = 0;
        pthread_cond_broadcast(&pp->cv);
    }
    pthread_mutex_unlock(&pp->mu);
    return NULL;
}

/* One-way handoff latency in ns (half the median round trip), or 0 if no thread could be made. */
static double handoff_ns(int rounds)
{
    pingpong_t pp = {.turn = 0};
    pthread_mutex_init(&pp.mu, NULL);
    pthread_cond_init(&pp.cv, NULL);
    pthread_t t;
    double result = 0;
    if (pthread_create(&t, NULL, pong, &pp) == 0) {
        double *rt = malloc((size_t)rounds * sizeof *rt);
        int k = 0;
        for (int i = 0; rt && i < rounds; i++) {
            double t0 = now_ns();
            pthread_mutex_lock(&pp.mu);
            pp.turn = 1;
            pthread_cond_broadcast(&pp.cv);
            while (pp.turn != 0)
                pthread_cond_wait(&pp.cv, &pp.mu);
            pthread_mutex_unlock(&pp.mu);
            rt[k++] = now_ns() - t0;
        }
        pthread_mutex_lock(&pp.mu);
        pp.turn = 2;
        pthread_cond_broadcast(&pp.cv);
        pthread_mutex_unlock(&pp.mu);
        pthread_join(t, NULL);
        if (k > 0) { /* median by insertion sort: k is small */
            for (int i = 1; i < k; i++)
                for (int j = i; j > 0 && rt[j - 1] > rt[j]; j--) {
                    double s = rt[j];
                    rt[j] = rt[j - 1];
                    rt[j - 1] = s;
                }
            result = rt[k / 2] / 2;
        }
        free(rt);
    }
    pthread_cond_destroy(&pp.cv);
    pthread_mutex_destroy(&pp.mu);
    return result;
}

/* ---- the calibration ---- */

/* Fits one backend's series of one family into out->c (and keeps it in o->measured if asked). */
static int fit_series(const lanes_calibrate_opts_t *o, lanes_where_t w, lanes_family_t fam, const double *x,
                      const double *y, int n, lanes_cost_model_t *out, char *err, size_t cap)
{
    if (o->measured) {
        lanes_calibrate_series_t *sr = &o->measured->s[w][fam];
        sr->n = n;
        memcpy(sr->bytes, x, (size_t)n * sizeof *x);
        memcpy(sr->ns, y, (size_t)n * sizeof *y);
    }
    if (lanes_calibrate_fit(x, y, n, &out->c[w][fam]) != 0)
        return lanes_errf(err, cap, "calibration: %s on %s: the timings cannot be fitted (fewer than two pieces "
                          "of different sizes with a time > 0)", lanes_router_family_name(fam), lanes_where_name(w));
    return 0;
}

int lanes_calibrate(const lanes_calibrate_opts_t *o, lanes_cost_model_t *out, char *err, size_t cap)
{
    int threads = o->cpu_threads;
    if (threads < 1) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    lanes_router_default_model(out);
    out->cpu_threads = threads;
    /* Elements per piece (bytes for text): spans the inline/cpu crossover and the chunk sizes. */
    static const size_t quick_sizes[] = {2048, 16384, 131072};
    static const size_t full_sizes[] = {1024, 4096, 16384, 65536, 262144, 1048576};
    const size_t *sizes = o->quick ? quick_sizes : full_sizes;
    const int n_sizes = o->quick ? 3 : 6, reps = o->quick ? 3 : 7;
    const double handoff = handoff_ns(o->quick ? 50 : 400);

    for (int fam = 0; fam < LANES_FAMILY_N; fam++) {
        bench_t b;
        /* text pieces are bytes; four times the element count keeps its pieces at chunk-like sizes */
        const size_t scale = fam == LANES_FAMILY_TEXT ? 4 : 1;
        if (bench_init(&b, (lanes_family_t)fam, sizes[n_sizes - 1] * scale, err, cap) != 0) {
            bench_free(&b);
            return -1;
        }
        double x[MAX_SIZES], yi[MAX_SIZES], yc[MAX_SIZES];
        for (int s = 0; s < n_sizes; s++) {
            size_t n = sizes[s] * scale;
            x[s] = (double)n * (double)b.bytes_per_elem;
            int rc = time_piece(&b, n, 1, reps, &yi[s]);
            if (rc == 0 && fam != LANES_FAMILY_TEXT)
                rc = time_piece(&b, n, threads, reps, &yc[s]);
            else
                yc[s] = yi[s];
            if (rc != 0) {
                bench_free(&b);
                return lanes_errf(err, cap, "calibration: the %s kernel failed on a piece of %zu elements",
                                  lanes_router_family_name((lanes_family_t)fam), n);
            }
            yc[s] += handoff;
        }
        bench_free(&b);
        if (fit_series(o, LANES_WHERE_INLINE, (lanes_family_t)fam, x, yi, n_sizes, out, err, cap) != 0 ||
            fit_series(o, LANES_WHERE_CPU, (lanes_family_t)fam, x, yc, n_sizes, out, err, cap) != 0)
            return -1;
        if (out->c[LANES_WHERE_CPU][fam].overhead_ns < handoff)
            out->c[LANES_WHERE_CPU][fam].overhead_ns = handoff; /* a pool task never starts sooner */
    }

    int gpu_measured = 0;
    if (o->measure_gpu) {
        for (int fam = 0; fam < LANES_FAMILY_N; fam++) {
            if (out->c[LANES_WHERE_CUDA][fam].bytes_per_ns <= 0)
                continue; /* the family does not run on cuda */
            double x[MAX_SIZES], y[MAX_SIZES];
            int ok = 1;
            for (int s = 0; s < n_sizes && ok; s++) {
                x[s] = (double)sizes[s] * 16.0;
                ok = o->measure_gpu(o->gpu_ctx, (lanes_family_t)fam, (size_t)x[s], &y[s]) == 0 && y[s] > 0;
            }
            if (ok) {
                if (fit_series(o, LANES_WHERE_CUDA, (lanes_family_t)fam, x, y, n_sizes, out, err, cap) != 0)
                    return -1;
                gpu_measured++;
            }
        }
    }

    char when[64] = "";
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = 0;
    snprintf(out->source, sizeof out->source, "%s, %.32s, %s, %d threads, cuda %s",
             o->quick ? "start-up calibration" : "lanesd --calibrate", host, when, threads,
             gpu_measured ? "measured" : "H100 defaults");
    return 0;
}

void lanes_calibrate_format_table(const lanes_cost_model_t *m, char *out, size_t cap)
{
    static const char *const fams[LANES_FAMILY_N] = {"map", "reduce", "acf", "text"};
    size_t len = 0;
    int n = snprintf(out, cap, "router cost model: %s\ncpu threads: %d\n%-7s %-7s %14s %12s %16s\n", m->source,
                     m->cpu_threads, "family", "backend", "overhead (us)", "bytes/ns", "1 MiB piece (us)");
    if (n < 0 || (size_t)n >= cap)
        return;
    len = (size_t)n;
    for (int fam = 0; fam < LANES_FAMILY_N; fam++) {
        for (int w = 0; w < LANES_WHERE_N; w++) {
            const lanes_cost_t *c = &m->c[w][fam];
            if (c->bytes_per_ns > 0)
                n = snprintf(out + len, cap - len, "%-7s %-7s %14.2f %12.4g %16.1f\n", fams[fam],
                             lanes_where_name((lanes_where_t)w), c->overhead_ns / 1e3, c->bytes_per_ns,
                             (c->overhead_ns + 1048576.0 / c->bytes_per_ns) / 1e3);
            else
                n = snprintf(out + len, cap - len, "%-7s %-7s %14s %12s %16s\n", fams[fam],
                             lanes_where_name((lanes_where_t)w), "-", "does not run", "-");
            if (n < 0 || (size_t)n >= cap - len)
                return;
            len += (size_t)n;
        }
    }
}

/* ---- the calibration file ---- */

/* The index i < n whose name(i) is s[0 .. len), or -1. */
static int index_of(const char *(*name)(int), int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(name(i)) == len && strncmp(name(i), s, len) == 0)
            return i;
    return -1;
}

static const char *family_at(int i) { return lanes_router_family_name((lanes_family_t)i); }
static const char *where_at(int i) { return lanes_where_name((lanes_where_t)i); }

/* Parses "overhead_ns bytes_per_ns": two finite numbers >= 0. */
static int parse_cost(const char *s, lanes_cost_t *c)
{
    char *end;
    errno = 0;
    double o = strtod(s, &end);
    if (end == s || errno || !isfinite(o) || o < 0)
        return -1;
    const char *p = end;
    errno = 0;
    double b = strtod(p, &end);
    if (end == p || errno || !isfinite(b) || b < 0)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -1;
    c->overhead_ns = o;
    c->bytes_per_ns = b;
    return 0;
}

int lanes_calibrate_read_model(const char *path, lanes_cost_model_t *out, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return lanes_errf(err, cap, "calibration file %s: cannot open: %s", path, strerror(errno));
    lanes_router_default_model(out);
    char measured[128] = "";
    char line[1024];
    int lineno = 0, rc = 0, entries = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t ll = strlen(line);
        if (ll == sizeof line - 1 && line[ll - 1] != '\n' && !feof(f)) {
            rc = lanes_errf(err, cap, "calibration file %s line %d: the line is longer than %zu characters", path, lineno,
                      sizeof line - 2);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = lanes_trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = lanes_errf(err, cap, "calibration file %s line %d: expected 'family.backend = overhead_ns bytes_per_ns', "
                      "'cpu_threads = N' or 'measured = text', got '%.80s'", path, lineno, s);
            break;
        }
        *eq = 0;
        char *key = lanes_trim(s), *value = lanes_trim(eq + 1);
        if (strcmp(key, "measured") == 0) {
            snprintf(measured, sizeof measured, "%s", value);
            continue;
        }
        if (strcmp(key, "cpu_threads") == 0) {
            char *end;
            errno = 0;
            long t = strtol(value, &end, 10);
            if (end == value || *end || errno || t < 1 || t > 4096) {
                rc = lanes_errf(err, cap, "calibration file %s line %d: cpu_threads: '%.40s' is not a thread count "
                          "(1 to 4096)", path, lineno, value);
                break;
            }
            out->cpu_threads = (int)t;
            continue;
        }
        const char *dot = strchr(key, '.');
        int fam = dot ? index_of(family_at, LANES_FAMILY_N, key, (size_t)(dot - key)) : -1;
        int where = dot ? index_of(where_at, LANES_WHERE_N, dot + 1, strlen(dot + 1)) : -1;
        if (fam < 0 || where < 0) {
            rc = lanes_errf(err, cap, "calibration file %s line %d: unknown key '%.60s' (families map, reduce, acf, "
                      "text; backends inline, cpu, cuda: 'map.cpu')", path, lineno, key);
            break;
        }
        if (parse_cost(value, &out->c[where][fam]) != 0) {
            rc = lanes_errf(err, cap, "calibration file %s line %d: %s: '%.60s' is not 'overhead_ns bytes_per_ns' "
                      "(two numbers >= 0)", path, lineno, key, value);
            break;
        }
        entries++;
    }
    if (rc == 0 && ferror(f))
        rc = lanes_errf(err, cap, "calibration file %s: read error: %s", path, strerror(errno));
    fclose(f);
    if (rc == 0 && entries == 0)
        rc = lanes_errf(err, cap, "calibration file %s line %d: no 'family.backend = overhead_ns bytes_per_ns' entry", path,
                  lineno);
    if (rc != 0)
        return rc;
    /* The path comes first and whole (a very long one keeps its tail); "measured" gets what is left. */
    size_t pl = strlen(path), keep = 110;
    int n = pl > keep ? snprintf(out->source, sizeof out->source, "calibration file ...%s", path + pl - keep)
                      : snprintf(out->source, sizeof out->source, "calibration file %s", path);
    size_t used = n > 0 ? (size_t)n : 0;
    if (measured[0] && used + 8 < sizeof out->source) {
        size_t room = sizeof out->source - used - 4; /* " (" + ")" + NUL */
        snprintf(out->source + used, sizeof out->source - used, " (%.*s)", (int)room, measured);
    }
    return 0;
}

int lanes_calibrate_write_model(const char *path, const lanes_cost_model_t *m, char *err, size_t cap)
{
    char tmp[1100];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return lanes_errf(err, cap, "calibration file %s: the name is too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return lanes_errf(err, cap, "calibration file %s: cannot create %s: %s", path, tmp, strerror(errno));
    fprintf(f, "# lanes router calibration (lanesd --calibrate; read at start with calibration_file = this file).\n"
               "# The predicted time of a piece on a backend is overhead_ns + bytes / bytes_per_ns, bytes being\n"
               "# the piece's input + output bytes; bytes_per_ns 0 means the backend does not run that family.\n"
               "# cpu constants hold for cpu_threads OpenMP threads through a CPU-pool thread.\n");
    fprintf(f, "measured = %s\n", m->source);
    fprintf(f, "cpu_threads = %d\n", m->cpu_threads);
    for (int fam = 0; fam < LANES_FAMILY_N; fam++)
        for (int w = 0; w < LANES_WHERE_N; w++)
            fprintf(f, "%s.%s = %.6g %.6g\n", family_at(fam), where_at(w), m->c[w][fam].overhead_ns,
                    m->c[w][fam].bytes_per_ns);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return lanes_errf(err, cap, "calibration file %s: writing %s failed", path, tmp);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return lanes_errf(err, cap, "calibration file %s: rename from %s failed: %s", path, tmp, strerror(e));
    }
    return 0;
}

int lanes_calibrate_startup_model(const lanes_config_t *cfg, lanes_cost_model_t *out, char *err, size_t cap)
{
    if (cfg->calibration_file[0])
        return lanes_calibrate_read_model(cfg->calibration_file, out, err, cap);
    if (cfg->calibrate_at_start) {
        lanes_calibrate_opts_t o = {.cpu_threads = cfg->threads, .quick = 1};
        return lanes_calibrate(&o, out, err, cap);
    }
    lanes_router_default_model(out);
    return 0;
}

/* calibrate.h's GPU callback, over the GPU pool's device 0. */
static int gpu_measure(void *ctx, lanes_family_t fam, size_t bytes, double *ns)
{
    return lanes_gpu_pool_measure(ctx, (int)fam, bytes, ns);
}

int lanes_calibrate_main(int argc, char **argv)
{
    extern char **environ;
    const char *file = NULL;
    int skip = 2; /* argv[0] --calibrate [FILE] */
    if (argc > 2 && strncmp(argv[2], "--", 2) != 0) {
        file = argv[2];
        skip = 3;
    }
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        fprintf(stderr, "lanesd: out of memory\n");
        return 1;
    }
    int n = 0;
    args[n++] = argv[0];
    for (int i = skip; i < argc; i++)
        args[n++] = argv[i];
    static lanes_config_t cfg;
    static char text[8192];
    char err[1024];
    int rc = lanes_config_load(&cfg, n, args, environ, err, sizeof err, text, sizeof text);
    free(args);
    if (rc < 0) {
        fprintf(stderr, "lanesd: %s\n", err);
        return 2;
    }
    if (rc > 0) {
        fputs(text, stdout);
        return 0;
    }
    if (!file)
        file = cfg.calibration_file[0] ? cfg.calibration_file : "lanes-calibration.txt";
    lanes_cost_model_t m;
    static lanes_calibrate_measured_t measured;
    lanes_calibrate_opts_t o = {.cpu_threads = cfg.threads, .quick = 0, .measured = &measured};
    double t0 = now_ns();
    /* CUDA: the daemon's own GPU workers, so the constants include what a real piece pays (the arena
     * copies and the command), not just the kernel. */
    lanes_registry_init(cfg.threads);
    lanes_backend_info_t cuda;
    int fake = 0;
    lanes_test_hooks_gpu_ops(&fake); /* lanesd-test's simulated devices need no CUDA build */
    if (lanes_registry_find(LANES_BACKEND_CUDA, &cuda) == 0 && (cuda.compiled || fake > 0) && cfg.gpu_devices != 0) {
        lanes_gpu_pool_config_t gc = {.max_devices = 1, .arena_bytes = (size_t)cfg.gpu_arena_mb << 20,
                                      .timeout_s = cfg.gpu_timeout_s};
        if (lanes_gpu_pool_start(&gc, err, sizeof err) == 0 && lanes_gpu_pool_devices() > 0) {
            o.measure_gpu = gpu_measure;
        } else {
            lanes_registry_find(LANES_BACKEND_CUDA, &cuda);
            printf("cuda: not measured (%s); the model keeps its built-in cuda constants\n", cuda.detail);
        }
    }
    rc = lanes_calibrate(&o, &m, err, sizeof err);
    lanes_gpu_pool_stop();
    if (rc != 0) {
        fprintf(stderr, "lanesd: %s\n", err);
        return 1;
    }
    lanes_calibrate_format_table(&m, text, sizeof text);
    fputs(text, stdout);
    /* What the constants were fitted to (bytes:ns, the fastest run of each size), for people and tests. */
    lanes_calibrate_format_measured(&measured, text, sizeof text);
    fputs(text, stdout);
    if (lanes_calibrate_write_model(file, &m, err, sizeof err) != 0) {
        fprintf(stderr, "lanesd: %s\n", err);
        return 1;
    }
    printf("measured in %.2f s; wrote %s (start lanesd with --calibration-file %s)\n", (now_ns() - t0) * 1e-9, file,
           file);
    return 0;
}
