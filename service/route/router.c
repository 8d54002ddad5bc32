/* The router (see router.h): the cost model, the device table and the load counters, and the per-job
 * placement of pieces with its reason.
 *
 * Design: the model is one global lanes_cost_model_t behind a mutex (it is replaced at start and by
 * tests; place() copies the one row it needs). The load is two kinds of C11 atomic counters: CPU
 * threads reserved (pool tasks by their OpenMP threads, inline pieces by their one RPC thread) and
 * pieces queued per device. place() predicts, for each backend that could run the piece now,
 *     inline: overhead + bytes / bw_inline
 *     cpu:    overhead + bytes / (bw_cpu * free_fraction)
 *             free_fraction = min(free threads, model cpu_threads) / model cpu_threads, free threads =
 *             the job's cpu_threads minus the threads reserved by every placement not yet released,
 *             never below 1 (a busy pool still gives a piece one thread's share)
 *     cuda:   (overhead + bytes / bw_cuda) * (1 + pieces queued on the device), on the least-loaded
 *             device that is up (bw_cuda includes the PCIe copies: the data is on the host)
 * then applies the config's pins (gpu_threshold first, then inline_threshold) and otherwise takes the
 * minimum, ties to the cheaper resource. A cpu placement gets the free threads when pool tasks run
 * concurrently (pool_workers > 1), so two big jobs split the cores instead of oversubscribing them;
 * with one pool worker, tasks never overlap and a task gets every thread (waiting for the pool is what
 * the smaller free_fraction predicts). The placement carries its reservation; release() gives it back
 * once and only once.
 *
 * The summary's reason is built from what ran (record) and from the decision of the job's biggest
 * piece (place keeps it in r->last), with the times as 3 significant digits.
 */
#define _POSIX_C_SOURCE 200809L
#include "router.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lanes/registry.h"

static pthread_mutex_t g_model_mu = PTHREAD_MUTEX_INITIALIZER;
static lanes_cost_model_t g_model;
static int g_model_set;

static atomic_int g_cpu_busy;
static atomic_int g_ndev;
static atomic_int g_dev_up[LANES_ROUTER_MAX_DEVICES];
static atomic_int g_gpu_queue[LANES_ROUTER_MAX_DEVICES];

static const char *const g_family_names[LANES_FAMILY_N] = {"map", "reduce", "acf", "text"};
static const char *const g_where_names[LANES_WHERE_N] = {"inline", "cpu", "cuda"};

/* ---- the model ---- */

void lanes_router_default_model(lanes_cost_model_t *out)
{
    memset(out, 0, sizeof *out);
    /* inline and cpu: measured on the 2-core dev machine (x86-64 VM, 2 online CPUs, OMP_WAIT_POLICY
     * passive, RelWithDebInfo, other builds running beside it) with `lanesd --calibrate --threads 2`
     * (calibrate.c: map = sin on float64, 16 bytes per element; reduce = sum of float64; acf = the
     * direct method with 16 lags; text = the word tokenizer; cpu = 2 OpenMP threads behind a pool
     * thread's wake-up), the median of three runs. The inline intercepts fitted to 0 (below the
     * timer's noise); the cpu ones are OpenMP's team wake-up plus the pool's hand-off. On this
     * machine the direct ACF with 16 lags and the memory-bound sum gain nothing from a second
     * thread. bytes: the piece's input + output bytes. */
    out->c[LANES_WHERE_INLINE][LANES_FAMILY_MAP] = (lanes_cost_t){0.0, 2.76};
    out->c[LANES_WHERE_INLINE][LANES_FAMILY_REDUCE] = (lanes_cost_t){0.0, 58.3};
    out->c[LANES_WHERE_INLINE][LANES_FAMILY_ACF] = (lanes_cost_t){0.0, 1.39};
    out->c[LANES_WHERE_INLINE][LANES_FAMILY_TEXT] = (lanes_cost_t){0.0, 0.144};
    out->c[LANES_WHERE_CPU][LANES_FAMILY_MAP] = (lanes_cost_t){61500.0, 4.61};
    out->c[LANES_WHERE_CPU][LANES_FAMILY_REDUCE] = (lanes_cost_t){2380.0, 33.4};
    out->c[LANES_WHERE_CPU][LANES_FAMILY_ACF] = (lanes_cost_t){2380.0, 1.37};
    out->c[LANES_WHERE_CPU][LANES_FAMILY_TEXT] = (lanes_cost_t){2380.0, 0.139};
    /* cuda: not measured here (no GPU on the dev machine); published H100 figures: about 25 us of
     * fixed cost per piece through the GPU worker (a launch, two async copies and a stream sync), and
     * PCIe Gen5 x16 at about 20 bytes/ns in practice for data copied in and out (the kernels
     * themselves run at HBM3 speed, ~3 TB/s, so the copies bound every family). ACF's direct method
     * does nlags multiply-adds per value: still copy-bound on an H100. Text does not run on cuda. */
    out->c[LANES_WHERE_CUDA][LANES_FAMILY_MAP] = (lanes_cost_t){25000.0, 20.0};
    out->c[LANES_WHERE_CUDA][LANES_FAMILY_REDUCE] = (lanes_cost_t){25000.0, 20.0};
    out->c[LANES_WHERE_CUDA][LANES_FAMILY_ACF] = (lanes_cost_t){25000.0, 20.0};
    out->c[LANES_WHERE_CUDA][LANES_FAMILY_TEXT] = (lanes_cost_t){0.0, 0.0};
    out->cpu_threads = 2;
    snprintf(out->source, sizeof out->source, "built-in defaults");
}

void lanes_router_set_model(const lanes_cost_model_t *m)
{
    pthread_mutex_lock(&g_model_mu);
    g_model = *m;
    g_model.source[sizeof g_model.source - 1] = 0;
    if (g_model.cpu_threads < 1)
        g_model.cpu_threads = 1;
    g_model_set = 1;
    pthread_mutex_unlock(&g_model_mu);
}

void lanes_router_get_model(lanes_cost_model_t *out)
{
    pthread_mutex_lock(&g_model_mu);
    if (!g_model_set) {
        lanes_router_default_model(&g_model);
        g_model_set = 1;
    }
    *out = g_model;
    pthread_mutex_unlock(&g_model_mu);
}

/* One family's constants and the model's facts, copied under the lock (place() needs no more). */
typedef struct model_row {
    lanes_cost_t c[LANES_WHERE_N];
    int cpu_threads;
} model_row_t;

static void get_row(lanes_family_t fam, model_row_t *row)
{
    pthread_mutex_lock(&g_model_mu);
    if (!g_model_set) {
        lanes_router_default_model(&g_model);
        g_model_set = 1;
    }
    for (int w = 0; w < LANES_WHERE_N; w++)
        row->c[w] = g_model.c[w][fam];
    row->cpu_threads = g_model.cpu_threads;
    pthread_mutex_unlock(&g_model_mu);
}

/* Three significant digits with a unit: "1.90 ms", "14.2 ms", "512 us" (micro sign), "25.0 ns". */
static void format_ns(double ns, char *buf, size_t cap)
{
    static const char *const units[] = {"ns", "\xc2\xb5s", "ms", "s"};
    double v = ns < 0 ? 0 : ns;
    int u = 0;
    while (u < 3 && v >= 999.5) {
        v /= 1000;
        u++;
    }
    if (v >= 99.95)
        snprintf(buf, cap, "%.0f %s", v, units[u]);
    else if (v >= 9.995)
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    else
        snprintf(buf, cap, "%.2f %s", v, units[u]);
}

/* Appends to out[*len .. cap) with snprintf; once full, the text ends in "..." and the rest is dropped. */
static void append(char *out, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    if (cap == 0 || *len >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= cap - *len) {
        *len = cap - 1;
        if (cap >= 4)
            memcpy(out + cap - 4, "...", 4);
        return;
    }
    *len += (size_t)n;
}

void lanes_router_format_model(const lanes_cost_model_t *m, char *out, size_t cap)
{
    size_t len = 0;
    if (cap)
        out[0] = 0;
    append(out, cap, &len, "%s; cpu_threads %d", m->source, m->cpu_threads);
    for (int fam = 0; fam < LANES_FAMILY_N; fam++) {
        append(out, cap, &len, "; %s:", g_family_names[fam]);
        int first = 1;
        for (int w = 0; w < LANES_WHERE_N; w++) {
            const lanes_cost_t *c = &m->c[w][fam];
            if (c->bytes_per_ns <= 0)
                continue;
            char o[32];
            format_ns(c->overhead_ns, o, sizeof o);
            append(out, cap, &len, "%s %s %s + %.3g B/ns", first ? "" : ",", g_where_names[w], o, c->bytes_per_ns);
            first = 0;
        }
    }
}

/* ---- devices and load ---- */

void lanes_router_set_devices(int count)
{
    if (count < 0)
        count = 0;
    if (count > LANES_ROUTER_MAX_DEVICES)
        count = LANES_ROUTER_MAX_DEVICES;
    for (int d = 0; d < LANES_ROUTER_MAX_DEVICES; d++)
        atomic_store(&g_dev_up[d], d < count);
    atomic_store(&g_ndev, count);
}

void lanes_router_set_device_up(int device, int up)
{
    if (device >= 0 && device < atomic_load(&g_ndev))
        atomic_store(&g_dev_up[device], up ? 1 : 0);
}

int lanes_router_device_up(int device)
{
    return device >= 0 && device < atomic_load(&g_ndev) && atomic_load(&g_dev_up[device]);
}

int lanes_router_cpu_busy(void) { return atomic_load(&g_cpu_busy); }

int lanes_router_gpu_queue(int device)
{
    return device >= 0 && device < LANES_ROUTER_MAX_DEVICES ? atomic_load(&g_gpu_queue[device]) : 0;
}

/* The up device with the fewest queued pieces (ties: the lowest index), or -1; its queue in *queue. */
static int least_loaded_device(int *queue)
{
    int best = -1, best_q = 0, n = atomic_load(&g_ndev);
    for (int d = 0; d < n; d++) {
        if (!atomic_load(&g_dev_up[d]))
            continue;
        int q = atomic_load(&g_gpu_queue[d]);
        if (best < 0 || q < best_q) {
            best = d;
            best_q = q;
        }
    }
    *queue = best_q;
    return best;
}

static int cuda_registered(void)
{
    lanes_backend_info_t b;
    return lanes_registry_find(LANES_BACKEND_CUDA, &b) == 0 && b.available;
}

/* ---- per job ---- */

static lanes_family_t family_of(lanes_job_kind_t kind)
{
    switch (kind) {
    case LANES_JOB_MAP: return LANES_FAMILY_MAP;
    case LANES_JOB_REDUCE: return LANES_FAMILY_REDUCE;
    case LANES_JOB_ACF: return LANES_FAMILY_ACF;
    case LANES_JOB_TEXT:
    case LANES_JOB_CORPUS: return LANES_FAMILY_TEXT;
    }
    return LANES_FAMILY_MAP;
}

int lanes_router_init(lanes_router_t *r, const lanes_config_t *cfg, int requested, lanes_job_kind_t kind,
                      size_t bytes_per_elem, lanes_error_t *err)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->family = family_of(kind);
    r->forced = requested;
    r->bytes_per_elem = bytes_per_elem;
    r->inline_threshold = cfg->inline_threshold;
    r->gpu_threshold = cfg->gpu_threshold;
    r->cpu_threads = cfg->threads;
    if (r->cpu_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        r->cpu_threads = n > 0 ? (int)n : 1;
    }
    r->pool_workers = cfg->pool_workers > 0 ? cfg->pool_workers : 1;
    r->last = (lanes_placement_t){.where = LANES_WHERE_INLINE, .threads = 1, .device = -1,
                                  .predicted_ns = {-1, -1, -1}};
    if (requested == 0)
        return 0;
    lanes_backend_info_t b;
    if (requested == LANES_BACKEND_PROCESS_POOL && kind != LANES_JOB_CORPUS)
        return lanes_error_set(err, LANES_EPRECOND,
                               "backend 'process-pool' runs batches of documents (the Corpus call), not %s jobs",
                               lanes_router_kind_name(kind));
    if (kind == LANES_JOB_CORPUS && requested != LANES_BACKEND_PROCESS_POOL)
        return lanes_error_set(err, requested > 0 && requested <= LANES_BACKEND_CUDA ? LANES_EPRECOND : LANES_EINVAL,
                               "a corpus runs on the process pool only (backend 3), not on backend %d", requested);
    if (kind == LANES_JOB_TEXT && requested == LANES_BACKEND_CUDA)
        return lanes_error_set(err, LANES_EPRECOND,
                               "backend 'cuda' does not run text jobs (inline, cpu, or process-pool via Corpus)");
    if (lanes_registry_find((lanes_backend_id_t)requested, &b) != 0)
        return lanes_error_set(err, LANES_EINVAL,
                               "unknown backend %d (0 auto, 1 inline, 2 cpu, 3 process-pool, 4 cuda)", requested);
    if (!b.available)
        return lanes_error_set(err, LANES_EPRECOND, "backend '%s' is not available: %s", b.name, b.detail);
    if (requested == LANES_BACKEND_CUDA) {
        model_row_t row;
        get_row(r->family, &row);
        if (row.c[LANES_WHERE_CUDA].bytes_per_ns <= 0)
            return lanes_error_set(err, LANES_EPRECOND,
                                   "backend 'cuda' does not run %s jobs (the router's cost model has no cuda entry "
                                   "for them)", lanes_router_kind_name(kind));
        int q, n = atomic_load(&g_ndev);
        if (least_loaded_device(&q) < 0) {
            if (n == 0)
                return lanes_error_set(err, LANES_EPRECOND,
                                       "backend 'cuda' is not available: no CUDA device is up (no GPU worker has "
                                       "registered a device with the router)");
            return lanes_error_set(err, LANES_EPRECOND,
                                   "backend 'cuda' is not available: all %d CUDA device(s) are down", n);
        }
    }
    return 0;
}

const char *lanes_router_kind_name(lanes_job_kind_t kind)
{
    switch (kind) {
    case LANES_JOB_MAP: return "map";
    case LANES_JOB_REDUCE: return "reduce";
    case LANES_JOB_ACF: return "acf";
    case LANES_JOB_TEXT: return "text";
    case LANES_JOB_CORPUS: return "corpus";
    }
    return "?";
}

const char *lanes_router_family_name(lanes_family_t fam)
{
    return fam >= 0 && fam < LANES_FAMILY_N ? g_family_names[fam] : "?";
}

const char *lanes_where_name(lanes_where_t w)
{
    return w >= 0 && w < LANES_WHERE_N ? g_where_names[w] : "?";
}

static double cost_of(const lanes_cost_t *c, double bytes, double bw_scale)
{
    return c->bytes_per_ns > 0 ? c->overhead_ns + bytes / (c->bytes_per_ns * bw_scale) : -1;
}

int lanes_router_place(lanes_router_t *r, uint64_t n, lanes_placement_t *p, lanes_error_t *err)
{
    const int text = r->kind == LANES_JOB_TEXT || r->kind == LANES_JOB_CORPUS;
    *p = (lanes_placement_t){.where = LANES_WHERE_INLINE, .threads = 1, .device = -1,
                             .predicted_ns = {-1, -1, -1}};
    model_row_t row;
    get_row(r->family, &row);
    double bytes = (double)n * (text || r->bytes_per_elem == 0 ? 1.0 : (double)r->bytes_per_elem);

    int threads = r->cpu_threads > 0 ? r->cpu_threads : 1;
    int free_threads = threads - atomic_load(&g_cpu_busy);
    if (free_threads < 1)
        free_threads = 1;
    int mt = row.cpu_threads > 0 ? row.cpu_threads : 1;
    int usable = free_threads < mt ? free_threads : mt;
    double fraction = text ? 1.0 : (double)usable / mt; /* text's cpu constants are one pool thread's */

    p->predicted_ns[LANES_WHERE_INLINE] = cost_of(&row.c[LANES_WHERE_INLINE], bytes, 1.0);
    p->predicted_ns[LANES_WHERE_CPU] = cost_of(&row.c[LANES_WHERE_CPU], bytes, fraction);
    int queue = 0, dev = -1;
    if (!text) {
        dev = least_loaded_device(&queue);
        if (dev >= 0 && row.c[LANES_WHERE_CUDA].bytes_per_ns > 0 && (r->forced == LANES_BACKEND_CUDA || cuda_registered()))
            p->predicted_ns[LANES_WHERE_CUDA] = cost_of(&row.c[LANES_WHERE_CUDA], bytes, 1.0) * (1 + queue);
        else
            dev = -1;
    }

    lanes_where_t where;
    switch (r->forced) {
    case LANES_BACKEND_INLINE: where = LANES_WHERE_INLINE; break;
    case LANES_BACKEND_CPU: where = LANES_WHERE_CPU; break;
    case LANES_BACKEND_CUDA:
        if (dev < 0) {
            int nd = atomic_load(&g_ndev);
            return lanes_error_set(err, LANES_ENODEV,
                                   "backend 'cuda' was forced, but no CUDA device is up now (%d device(s) known%s)", nd,
                                   nd ? ", all down" : "");
        }
        where = LANES_WHERE_CUDA;
        break;
    default:
        if (text) {
            where = n >= LANES_ROUTER_TEXT_POOL_BYTES ? LANES_WHERE_CPU : LANES_WHERE_INLINE;
        } else if (r->gpu_threshold > 0 && n >= r->gpu_threshold && dev >= 0) {
            where = LANES_WHERE_CUDA;
        } else if (r->inline_threshold > 0 && n < r->inline_threshold) {
            where = LANES_WHERE_INLINE;
        } else {
            /* The minimum among the candidates; a pinned threshold takes its backend out of the choice
             * for the sizes it does not pin. Ties go to the cheaper resource (the loop's order). */
            int cand[LANES_WHERE_N];
            cand[LANES_WHERE_INLINE] = r->inline_threshold == 0 && p->predicted_ns[LANES_WHERE_INLINE] >= 0;
            cand[LANES_WHERE_CPU] = p->predicted_ns[LANES_WHERE_CPU] >= 0;
            cand[LANES_WHERE_CUDA] = r->gpu_threshold == 0 && p->predicted_ns[LANES_WHERE_CUDA] >= 0;
            where = LANES_WHERE_CPU; /* when the model runs the family nowhere: the pool */
            double best = -1;
            for (int w = 0; w < LANES_WHERE_N; w++) {
                if (cand[w] && (best < 0 || p->predicted_ns[w] < best)) {
                    best = p->predicted_ns[w];
                    where = (lanes_where_t)w;
                }
            }
        }
    }

    p->where = where;
    if (where == LANES_WHERE_CUDA) {
        p->device = dev;
        p->threads = 1; /* the pool thread that feeds the device */
        p->reserved = 1;
        atomic_fetch_add(&g_gpu_queue[dev], 1);
    } else {
        if (where == LANES_WHERE_CPU && !text)
            p->threads = r->pool_workers > 1 ? (free_threads < threads ? free_threads : threads) : threads;
        p->reserved = p->threads;
        atomic_fetch_add(&g_cpu_busy, p->threads);
    }
    if (n >= r->last_n) {
        r->last = *p;
        r->last.reserved = 0; /* a copy for the reason; the caller's placement holds the load */
        r->last_n = n;
    }
    return 0;
}

void lanes_router_release(lanes_placement_t *p)
{
    if (p->reserved <= 0)
        return;
    if (p->where == LANES_WHERE_CUDA) {
        if (p->device >= 0 && p->device < LANES_ROUTER_MAX_DEVICES)
            atomic_fetch_sub(&g_gpu_queue[p->device], p->reserved);
    } else {
        atomic_fetch_sub(&g_cpu_busy, p->reserved);
    }
    p->reserved = 0;
}

void lanes_router_record(lanes_router_t *r, const lanes_placement_t *p, lanes_where_t where, uint64_t n)
{
    if (where < 0 || where >= LANES_WHERE_N)
        return;
    r->chunks[where]++;
    r->elems[where] += n;
    if (p && p->where == LANES_WHERE_CUDA && where != LANES_WHERE_CUDA)
        r->gpu_fallbacks++;
}

/* "cpu (OpenMP pool, 2 threads)", "cuda (device 0)", "inline". */
static void describe_where(lanes_where_t w, int device, int threads, char *buf, size_t cap)
{
    if (w == LANES_WHERE_CUDA && device >= 0)
        snprintf(buf, cap, "cuda (device %d)", device);
    else if (w == LANES_WHERE_CPU)
        snprintf(buf, cap, "cpu (OpenMP pool, %d thread%s)", threads, threads == 1 ? "" : "s");
    else
        snprintf(buf, cap, "%s", lanes_where_name(w));
}

void lanes_router_explain(const lanes_router_t *r, const char **backend, char *reason, size_t cap)
{
    const int text = r->kind == LANES_JOB_TEXT || r->kind == LANES_JOB_CORPUS;
    uint64_t total_chunks = 0, total_elems = 0;
    int most = -1;
    for (int w = 0; w < LANES_WHERE_N; w++) {
        total_chunks += r->chunks[w];
        total_elems += r->elems[w];
        if (r->chunks[w] && (most < 0 || r->elems[w] > r->elems[most] ||
                             (r->elems[w] == r->elems[most] && r->chunks[w] > r->chunks[most])))
            most = w;
    }
    if (most < 0) /* nothing ran: the forced backend, else inline */
        most = r->forced == LANES_BACKEND_CPU ? LANES_WHERE_CPU
               : r->forced == LANES_BACKEND_CUDA ? LANES_WHERE_CUDA
                                                 : LANES_WHERE_INLINE;
    *backend = g_where_names[most];
    size_t len = 0;
    if (cap)
        reason[0] = 0;
    const int max_threads = r->last.where == LANES_WHERE_CPU ? r->last.threads : r->cpu_threads;

    if (r->forced == LANES_BACKEND_INLINE) {
        append(reason, cap, &len, "forced by the client: inline");
    } else if (r->forced == LANES_BACKEND_CPU) {
        if (text)
            append(reason, cap, &len, "forced by the client: cpu (a pool thread; one document is tokenized in order)");
        else
            append(reason, cap, &len, "forced by the client: cpu (OpenMP pool, %d threads)", max_threads);
    } else if (r->forced == LANES_BACKEND_CUDA) {
        append(reason, cap, &len, "forced by the client: cuda");
        if (r->chunks[LANES_WHERE_CUDA])
            append(reason, cap, &len, " (%llu chunk(s) on the GPU)", (unsigned long long)r->chunks[LANES_WHERE_CUDA]);
    } else if (text) {
        append(reason, cap, &len,
               "auto: one document of %llu bytes, tokenized in order as it streams in: %llu piece(s) under %u "
               "bytes inline, %llu on a cpu-pool thread (batches of documents go to the process pool: Corpus)",
               (unsigned long long)total_elems, (unsigned long long)r->chunks[LANES_WHERE_INLINE],
               LANES_ROUTER_TEXT_POOL_BYTES, (unsigned long long)r->chunks[LANES_WHERE_CPU]);
    } else {
        append(reason, cap, &len, "auto: %llu chunk(s), %llu elements:", (unsigned long long)total_chunks,
               (unsigned long long)total_elems);
        /* what ran where */
        int first = 1;
        for (int w = LANES_WHERE_N - 1; w >= 0; w--) {
            if (!r->chunks[w])
                continue;
            char d[64];
            describe_where((lanes_where_t)w, w == LANES_WHERE_CUDA ? r->last.device : -1, max_threads, d,
                           sizeof d);
            if (w == LANES_WHERE_CUDA && r->last.where != LANES_WHERE_CUDA)
                snprintf(d, sizeof d, "cuda");
            append(reason, cap, &len, "%s %llu %s%s", first ? "" : ",", (unsigned long long)r->chunks[w],
                   w == LANES_WHERE_INLINE ? "" : "on ", d);
            first = 0;
        }
        if (first)
            append(reason, cap, &len, " none ran");
        /* the decision of the biggest piece: the chosen backend first, then the others by time */
        const lanes_placement_t *p = &r->last;
        if (r->last_n > 0 && p->predicted_ns[p->where] >= 0) {
            char t[32], d[32];
            format_ns(p->predicted_ns[p->where], t, sizeof t);
            if (p->where == LANES_WHERE_CUDA && p->device >= 0)
                snprintf(d, sizeof d, "cuda (device %d)", p->device);
            else
                snprintf(d, sizeof d, "%s", g_where_names[p->where]);
            append(reason, cap, &len, "; a %llu-element piece: %s predicted %s", (unsigned long long)r->last_n, d, t);
            int done[LANES_WHERE_N] = {0};
            done[p->where] = 1;
            for (;;) {
                int next = -1;
                for (int w = 0; w < LANES_WHERE_N; w++)
                    if (!done[w] && p->predicted_ns[w] >= 0 &&
                        (next < 0 || p->predicted_ns[w] < p->predicted_ns[next]))
                        next = w;
                if (next < 0)
                    break;
                done[next] = 1;
                format_ns(p->predicted_ns[next], t, sizeof t);
                append(reason, cap, &len, ", %s %s", g_where_names[next], t);
            }
            if (p->where == LANES_WHERE_CUDA && r->gpu_threshold > 0 && r->last_n >= r->gpu_threshold)
                append(reason, cap, &len, " (pinned: gpu_threshold %llu)", (unsigned long long)r->gpu_threshold);
            else if (p->where == LANES_WHERE_INLINE && r->inline_threshold > 0 && r->last_n < r->inline_threshold)
                append(reason, cap, &len, " (pinned: under inline_threshold %llu)",
                       (unsigned long long)r->inline_threshold);
        }
        if (r->inline_threshold > 0 && r->chunks[LANES_WHERE_INLINE] &&
            (r->last.where != LANES_WHERE_INLINE || r->last_n >= r->inline_threshold))
            append(reason, cap, &len, "; smaller pieces inline (under inline_threshold %llu)",
                   (unsigned long long)r->inline_threshold);
        else if (r->inline_threshold > 0 && r->last.where != LANES_WHERE_INLINE)
            append(reason, cap, &len, "; inline only under inline_threshold %llu",
                   (unsigned long long)r->inline_threshold);
        lanes_cost_model_t m;
        lanes_router_get_model(&m);
        append(reason, cap, &len, "; model: %s", m.source);
    }
    if (r->gpu_fallbacks > 0)
        append(reason, cap, &len, "; %d piece(s) fell back to the cpu after a device failure", r->gpu_fallbacks);
}
