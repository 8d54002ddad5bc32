/* The GPU pool (see gpu_pool.h): workers per device, the shared arenas, commands, faults, respawns.
 *
 * Design: each device's worker process is a supervisor helper (supervisor.h: spawn, hello deadline,
 * reap, the words for its end, the respawn back-off), held under the device's mutex; its respawn
 * schedule is under P.smu, which the monitor waits on. What a death means here (the device down, the
 * registry and router told, the restart reported) stays in this file. */
#define _GNU_SOURCE
#include "clock.h"
#include "gpu_pool.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "gpu_proto.h"
#include "log.h"
#include "router.h"
#include "supervisor.h"

typedef struct device {
    pthread_mutex_t mu;     /* one command at a time; guards everything below but the stats copy */
    lanes_supervisor_helper_t h; /* its worker (fd -1 while it has none) */
    int arena_sent;         /* the current worker has the arena */
    uint8_t *arena;
    size_t arena_len;
    int arena_fd;
    lanes_gpu_cmd_t cmd;    /* the command being built (large: not on the stack) */
    /* read under P.smu */
    int up, fake;
    lanes_device_info_t info;
    uint64_t commands, failures, deaths, respawns;
    lanes_supervisor_backoff_t next; /* when the monitor may start its next worker */
    int respawn_wanted;              /* down, and the monitor should start one */
    char last_error[256];
} device_t;

static struct {
    int running;
    int n;                          /* devices driven */
    device_t d[LANES_GPU_POOL_MAX_DEVICES];
    lanes_gpu_pool_config_t cfg;
    lanes_supervisor_t sup;         /* "EXE --gpu-worker FD DEVICE STAGING_MB" */
    pthread_mutex_t smu;            /* stats, up flags, the monitor's schedule */
    pthread_cond_t cv;
    pthread_t monitor;
    int stopping, started;
    int start_rc;
    char start_err[512];
    uint64_t next_id;
} P = {.smu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};


/* ---- registry and router view ---- */

/* Tells the registry and router what is up. P.smu held. */
static void publish_locked(void)
{
    int up = 0;
    lanes_device_info_t infos[LANES_GPU_POOL_MAX_DEVICES] = {0};
    for (int i = 0; i < P.n; i++) {
        up += P.d[i].up;
        infos[i] = P.d[i].info;
        lanes_router_set_device_up(i, P.d[i].up);
    }
    lanes_registry_set_devices(infos, P.n);
    char detail[320];
    if (P.n == 0)
        return;
    int fake = P.d[0].fake;
    if (up == P.n)
        snprintf(detail, sizeof detail, "%d %sdevice(s) up: %s%s; one GPU worker process each (lanesd --gpu-worker)",
                 P.n, fake ? "simulated " : "", P.d[0].info.name, P.n > 1 ? ", ..." : "");
    else if (up > 0) {
        int len = snprintf(detail, sizeof detail, "%d of %d device(s) up; down (restarting):", up, P.n);
        for (int i = 0; i < P.n && len > 0 && (size_t)len < sizeof detail; i++)
            if (!P.d[i].up)
                len += snprintf(detail + len, sizeof detail - (size_t)len, " device %d", i);
    } else {
        int i = 0;
        while (i < P.n - 1 && !P.d[i].last_error[0])
            i++;
        snprintf(detail, sizeof detail, "down: every device failed (device %d: %.200s); restarting its worker", i,
                 P.d[i].last_error);
    }
    lanes_registry_set_available(LANES_BACKEND_CUDA, up > 0, detail);
}

/* ---- workers ---- */

/* Spawns the worker of device i and waits for its hello. On success the device has its worker (not
 * yet marked up). On failure the worker is reaped and the device's next try scheduled. Monitor thread
 * only, without P.smu. Returns 0, 1 (the worker says there is no device: not a fault; err has why),
 * or -1 with err set (nothing left running). */
static int spawn_device(int i, lanes_gpu_hello_t *h, char *err, size_t cap)
{
    char dev_arg[16], staging_arg[16], what[48];
    snprintf(dev_arg, sizeof dev_arg, "%d", i);
    snprintf(staging_arg, sizeof staging_arg, "%u", P.cfg.staging_mb);
    snprintf(what, sizeof what, "GPU worker for device %d", i);
    const char *args[] = {dev_arg, staging_arg, NULL};
    lanes_supervisor_helper_t w;
    int rc = lanes_supervisor_spawn(&P.sup, &w, args, what, err, cap);
    if (rc == 0) {
        char why[160] = "";
        switch (lanes_supervisor_hello(&w, h, sizeof *h)) {
        case LANES_SUPERVISOR_HELLO_OK:
            h->detail[sizeof h->detail - 1] = 0;
            if (h->magic != LANES_GPU_MAGIC || h->version != LANES_GPU_VERSION)
                snprintf(why, sizeof why, "a malformed hello");
            break;
        case LANES_SUPERVISOR_HELLO_ENDED: snprintf(why, sizeof why, "it exited before saying hello"); break;
        case LANES_SUPERVISOR_HELLO_LATE:
            snprintf(why, sizeof why, "no hello within %d s", LANES_SUPERVISOR_HELLO_TIMEOUT_S);
            break;
        case LANES_SUPERVISOR_HELLO_MALFORMED: snprintf(why, sizeof why, "a malformed hello"); break;
        }
        pid_t pid = w.pid;
        if (why[0]) {
            char how[128];
            lanes_supervisor_reap(&w, 0, how, sizeof how);
            snprintf(err, cap, "%s (pid %d): %s; it %s", what, (int)pid, why, how);
            rc = -1;
        } else if (!h->ok) {
            lanes_supervisor_ask_exit(&w); /* it exits by itself after this hello */
            lanes_supervisor_reap(&w, UINT64_MAX, NULL, 0);
            snprintf(err, cap, "%s", h->detail);
            rc = 1; /* no device: not a fault */
        }
    }
    device_t *d = &P.d[i];
    if (rc != 0) {
        pthread_mutex_lock(&P.smu);
        lanes_supervisor_backoff(&d->next, w.spawned_ns, lanes_now_ns());
        pthread_mutex_unlock(&P.smu);
        return rc;
    }
    pthread_mutex_lock(&d->mu);
    d->h = w;
    d->arena_sent = 0;
    pthread_mutex_unlock(&d->mu);
    return 0;
}

/* Takes device i down after a failure (d->mu held by the caller): closes the socket, reaps the
 * worker, records what happened into err and schedules a respawn. */
static void device_down_locked(int i, const char *doing, const char *why, lanes_error_t *err)
{
    device_t *d = &P.d[i];
    char how[128] = "";
    pid_t pid = d->h.pid;
    if (pid > 0)
        lanes_supervisor_reap(&d->h, 0, how, sizeof how);
    char msg[512];
    snprintf(msg, sizeof msg, "GPU worker for device %d (pid %d) failed while running %s: %s%s%s", i, (int)pid,
             doing, why, how[0] ? "; it " : "", how);
    lanes_error_set(err, LANES_EDEVICE, "%s", msg);
    lanes_log(LANES_LOG_WARN, 0, "%s; device %d is down until a new worker starts", msg, i);
    pthread_mutex_lock(&P.smu);
    d->up = 0;
    d->deaths++;
    d->failures++;
    snprintf(d->last_error, sizeof d->last_error, "%.250s", msg);
    lanes_supervisor_backoff(&d->next, d->h.spawned_ns, lanes_now_ns());
    d->respawn_wanted = 1;
    publish_locked();
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.smu);
    if (P.cfg.on_change)
        P.cfg.on_change();
}

/* The monitor: starts the first workers, then restarts the ones that went down. */
static void *monitor_main(void *arg)
{
    (void)arg;
    lanes_gpu_hello_t h;
    char err[512];
    /* Device 0 first: its probe says how many there are. */
    memset(&h, 0, sizeof h);
    int rc = spawn_device(0, &h, err, sizeof err);
    pthread_mutex_lock(&P.smu);
    if (rc < 0) {
        /* The worker could not start or died at once (a broken driver, say): the daemon runs on
         * without CUDA and says why. */
        P.n = 0;
        char detail[320];
        snprintf(detail, sizeof detail, "unavailable: %.300s", err);
        lanes_registry_set_available(LANES_BACKEND_CUDA, 0, detail);
        lanes_log(LANES_LOG_WARN, 0, "cuda: %s", detail);
    } else if (rc > 0) {
        P.n = 0;
        lanes_registry_set_available(LANES_BACKEND_CUDA, 0, h.detail);
        lanes_log(LANES_LOG_INFO, 0, "cuda: no device (%s)", h.detail);
    } else {
        int want = P.cfg.max_devices < 0 ? h.n_devices : P.cfg.max_devices;
        P.n = want < h.n_devices ? want : h.n_devices;
        if (P.n > LANES_GPU_POOL_MAX_DEVICES)
            P.n = LANES_GPU_POOL_MAX_DEVICES;
        if (P.n < 1)
            P.n = 1;
        lanes_router_set_devices(P.n);
        P.d[0].up = 1;
        P.d[0].fake = h.fake;
        P.d[0].info = h.info;
    }
    pthread_mutex_unlock(&P.smu);
    for (int i = 1; rc == 0 && i < P.n; i++) {
        memset(&h, 0, sizeof h);
        int r = spawn_device(i, &h, err, sizeof err);
        pthread_mutex_lock(&P.smu);
        P.d[i].info = h.info;
        P.d[i].fake = h.fake;
        if (r == 0)
            P.d[i].up = 1;
        else {
            snprintf(P.d[i].last_error, sizeof P.d[i].last_error, "%.250s", err);
            P.d[i].respawn_wanted = 1; /* spawn_device() scheduled it */
            lanes_log(LANES_LOG_WARN, 0, "cuda: device %d did not start: %s", i, err);
        }
        pthread_mutex_unlock(&P.smu);
    }
    pthread_mutex_lock(&P.smu);
    if (P.n > 0)
        publish_locked();
    P.started = 1;
    pthread_cond_broadcast(&P.cv);
    /* Respawns. */
    while (!P.stopping) {
        uint64_t now = lanes_now_ns(), next = UINT64_MAX;
        int due = -1;
        for (int i = 0; i < P.n; i++) {
            device_t *d = &P.d[i];
            if (d->up || !d->respawn_wanted)
                continue;
            if (d->next.respawn_ns <= now) {
                due = i;
                break;
            }
            if (d->next.respawn_ns < next)
                next = d->next.respawn_ns;
        }
        if (due >= 0) {
            P.d[due].respawn_wanted = 0;
            pthread_mutex_unlock(&P.smu);
            memset(&h, 0, sizeof h);
            int r = spawn_device(due, &h, err, sizeof err);
            pthread_mutex_lock(&P.smu);
            device_t *d = &P.d[due];
            if (r == 0 && !P.stopping) {
                d->up = 1;
                d->respawns++;
                lanes_log(LANES_LOG_INFO, 0, "cuda: device %d is up again (worker pid %d)", due, (int)d->h.pid);
            } else {
                if (r != 0)
                    snprintf(d->last_error, sizeof d->last_error, "restart failed: %.230s", err);
                d->respawn_wanted = 1; /* spawn_device() scheduled a failed try */
            }
            publish_locked();
            if (P.cfg.on_change) {
                pthread_mutex_unlock(&P.smu);
                P.cfg.on_change();
                pthread_mutex_lock(&P.smu);
            }
            continue;
        }
        if (next == UINT64_MAX) {
            pthread_cond_wait(&P.cv, &P.smu);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t wait = next - now;
            ts.tv_sec += (time_t)(wait / 1000000000u);
            ts.tv_nsec += (long)(wait % 1000000000u);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&P.cv, &P.smu, &ts);
        }
    }
    pthread_mutex_unlock(&P.smu);
    return NULL;
}

int lanes_gpu_pool_start(const lanes_gpu_pool_config_t *cfg, char *err, size_t cap)
{
    if (P.running) {
        snprintf(err, cap, "the GPU pool is already running");
        return -1;
    }
    if (cfg->max_devices == 0) {
        lanes_registry_set_available(LANES_BACKEND_CUDA, 0, "off: gpu_devices = 0");
        return 0;
    }
    if (cfg->arena_bytes < (1u << 20)) {
        snprintf(err, cap, "GPU pool: an arena of %zu bytes is below 1 MiB", cfg->arena_bytes);
        return -1;
    }
    lanes_supervisor_init(&P.sup, cfg->exe, "--gpu-worker");
    P.cfg = *cfg;
    P.cfg.exe = NULL;
    P.n = 0;
    P.stopping = P.started = P.start_rc = 0;
    for (int i = 0; i < LANES_GPU_POOL_MAX_DEVICES; i++) {
        device_t *d = &P.d[i];
        memset(d, 0, sizeof *d);
        pthread_mutex_init(&d->mu, NULL);
        d->arena_fd = -1;
        lanes_supervisor_helper_init(&d->h);
    }
    /* One arena per device the pool may drive; made lazily for devices beyond the first below. */
    if (pthread_create(&P.monitor, NULL, monitor_main, NULL) != 0) {
        snprintf(err, cap, "GPU pool: pthread_create failed");
        return -1;
    }
    pthread_mutex_lock(&P.smu);
    while (!P.started && P.start_rc == 0)
        pthread_cond_wait(&P.cv, &P.smu);
    int rc = P.start_rc;
    pthread_mutex_unlock(&P.smu);
    if (rc != 0) {
        snprintf(err, cap, "GPU pool: %s", P.start_err);
        pthread_mutex_lock(&P.smu);
        P.stopping = 1;
        pthread_cond_broadcast(&P.cv);
        pthread_mutex_unlock(&P.smu);
        pthread_join(P.monitor, NULL);
        return -1;
    }
    for (int i = 0; i < P.n; i++) {
        device_t *d = &P.d[i];
        d->arena_fd = memfd_create("lanes-gpu-arena", MFD_CLOEXEC);
        if (d->arena_fd < 0 || ftruncate(d->arena_fd, (off_t)cfg->arena_bytes) != 0 ||
            (d->arena = mmap(NULL, cfg->arena_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, d->arena_fd, 0)) ==
                MAP_FAILED) {
            snprintf(err, cap, "GPU pool: the shared arena of %zu bytes for device %d: %s", cfg->arena_bytes, i,
                     strerror(errno));
            d->arena = NULL;
            P.running = 1;
            lanes_gpu_pool_stop();
            return -1;
        }
        d->arena_len = cfg->arena_bytes;
    }
    P.running = 1;
    if (P.n > 0)
        lanes_log(LANES_LOG_INFO, 0, "cuda: %d device(s), one GPU worker each, %zu MiB shared arena each", P.n,
                  cfg->arena_bytes >> 20);
    return 0;
}

void lanes_gpu_pool_stop(void)
{
    if (!P.running)
        return;
    pthread_mutex_lock(&P.smu);
    P.stopping = 1;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.smu);
    pthread_join(P.monitor, NULL);
    for (int i = 0; i < LANES_GPU_POOL_MAX_DEVICES; i++) {
        device_t *d = &P.d[i];
        pthread_mutex_lock(&d->mu);
        if (d->h.fd >= 0) {
            lanes_supervisor_ask_exit(&d->h); /* EOF: the worker releases its device and exits 0 */
            lanes_supervisor_reap(&d->h, UINT64_MAX, NULL, 0); /* however long CUDA's teardown takes */
        }
        if (d->arena)
            munmap(d->arena, d->arena_len);
        if (d->arena_fd >= 0)
            close(d->arena_fd);
        d->arena = NULL;
        d->arena_fd = -1;
        pthread_mutex_unlock(&d->mu);
        pthread_mutex_lock(&P.smu);
        d->up = 0;
        pthread_mutex_unlock(&P.smu);
    }
    pthread_mutex_lock(&P.smu);
    for (int i = 0; i < P.n; i++)
        lanes_router_set_device_up(i, 0);
    P.n = 0;
    pthread_mutex_unlock(&P.smu);
    lanes_registry_set_available(LANES_BACKEND_CUDA, 0, "stopped");
    P.running = 0;
}

int lanes_gpu_pool_devices(void)
{
    pthread_mutex_lock(&P.smu);
    int n = P.n;
    pthread_mutex_unlock(&P.smu);
    return n;
}

int lanes_gpu_pool_stats(lanes_gpu_device_stats_t *out, int max)
{
    pthread_mutex_lock(&P.smu);
    for (int i = 0; i < P.n && i < max; i++) {
        device_t *d = &P.d[i];
        out[i] = (lanes_gpu_device_stats_t){.up = d->up, .fake = d->fake, .pid = d->up ? (int)d->h.pid : 0,
                                            .info = d->info, .commands = d->commands, .failures = d->failures,
                                            .deaths = d->deaths, .respawns = d->respawns};
        snprintf(out[i].last_error, sizeof out[i].last_error, "%s", d->last_error);
    }
    int n = P.n;
    pthread_mutex_unlock(&P.smu);
    return n;
}

/* ---- commands ---- */

static const char *op_name(int op)
{
    switch (op) {
    case LANES_GPU_OP_MAP: return "map";
    case LANES_GPU_OP_PARTIALS: return "reduce";
    case LANES_GPU_OP_HISTOGRAM: return "histogram";
    case LANES_GPU_OP_ACF: return "acf";
    default: return "a command";
    }
}

/* Locks device dev for a command. Returns 0 (locked, d->cmd zeroed), or LANES_ENODEV with err set. */
static int device_enter(int dev, lanes_error_t *err)
{
    if (!P.running || dev < 0 || dev >= P.n)
        return lanes_error_set(err, LANES_ENODEV, "CUDA device %d is not driven by this daemon", dev);
    device_t *d = &P.d[dev];
    pthread_mutex_lock(&d->mu);
    if (d->h.fd < 0 || !d->arena) {
        pthread_mutex_unlock(&d->mu);
        pthread_mutex_lock(&P.smu);
        lanes_error_set(err, LANES_ENODEV, "CUDA device %d is down: %s", dev,
                        P.d[dev].last_error[0] ? P.d[dev].last_error : "its worker is not running");
        pthread_mutex_unlock(&P.smu);
        return LANES_ENODEV;
    }
    memset(&d->cmd, 0, offsetof(lanes_gpu_cmd_t, text));
    d->cmd.magic = LANES_GPU_MAGIC;
    d->cmd.version = LANES_GPU_VERSION;
    return 0;
}

/* Sends d->cmd and waits for the reply (d->mu held). Returns 0 or a LANES_E* code with err set; a
 * dead or poisoned worker takes the device down. */
static int device_run(int dev, lanes_error_t *err)
{
    device_t *d = &P.d[dev];
    lanes_gpu_cmd_t *c = &d->cmd;
    pthread_mutex_lock(&P.smu);
    c->id = ++P.next_id;
    pthread_mutex_unlock(&P.smu);
    const char *doing = op_name(c->op);
    if (lanes_fdpass_send(d->h.fd, c, sizeof *c, d->arena_sent ? -1 : d->arena_fd) != 0) {
        device_down_locked(dev, doing, "the command could not be sent", err);
        return LANES_EDEVICE;
    }
    d->arena_sent = 1;
    struct pollfd pfd = {.fd = d->h.fd, .events = POLLIN};
    int timeout_ms = (int)(P.cfg.timeout_s * 1000.0);
    int pr;
    do
        pr = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);
    while (pr < 0 && errno == EINTR);
    if (pr == 0) {
        char why[96];
        snprintf(why, sizeof why, "no answer within %.0f s (killed)", P.cfg.timeout_s);
        device_down_locked(dev, doing, why, err);
        return LANES_EDEVICE;
    }
    lanes_gpu_reply_t rep;
    int xfd = -1;
    ssize_t n = lanes_fdpass_recv(d->h.fd, &rep, sizeof rep, &xfd);
    if (xfd >= 0)
        close(xfd);
    if (n != (ssize_t)sizeof rep || rep.magic != LANES_GPU_MAGIC || rep.id != c->id) {
        device_down_locked(dev, doing, n == 0 ? "the worker died" : "a reply out of protocol", err);
        return LANES_EDEVICE;
    }
    rep.msg[sizeof rep.msg - 1] = 0;
    pthread_mutex_lock(&P.smu);
    d->commands++;
    if (rep.code != 0)
        d->failures++;
    pthread_mutex_unlock(&P.smu);
    if (rep.poisoned) {
        device_down_locked(dev, doing, rep.msg[0] ? rep.msg : "the device context was lost", err);
        return LANES_EDEVICE;
    }
    if (rep.code != 0)
        return lanes_error_set(err, rep.code, "%s", rep.msg);
    return 0;
}

/* Puts x into d->cmd: inputs (arrays copied into the arena at *off, n elements each), parameters and
 * the text. Returns 0 or LANES_EINVAL with err set. */
static int put_expr(device_t *d, const lanes_gpu_expr_t *x, size_t first, size_t n, size_t *off, lanes_error_t *err)
{
    lanes_gpu_cmd_t *c = &d->cmd;
    if (x->n_inputs > LANES_EXPR_MAX_INPUTS || x->n_params > LANES_EXPR_MAX_PARAMS)
        return lanes_error_set(err, LANES_EINVAL, "too many inputs or parameters for a GPU command");
    c->has_expr = 1;
    c->n_inputs = (int32_t)x->n_inputs;
    c->n_params = (int32_t)x->n_params;
    size_t t = 0;
    const size_t cap = sizeof c->text;
    size_t l = strlen(x->src) + 1;
    if (l > cap)
        return lanes_error_set(err, LANES_EINVAL, "the expression is too long for a GPU command");
    memcpy(c->text, x->src, l);
    t = l;
    for (size_t i = 0; i < x->n_inputs + x->n_params; i++) {
        const char *name = i < x->n_inputs ? x->inputs[i].name : x->param_names[i - x->n_inputs];
        l = strlen(name) + 1;
        if (t + l > cap)
            return lanes_error_set(err, LANES_EINVAL, "the expression's names are too long for a GPU command");
        memcpy(c->text + t, name, l);
        t += l;
    }
    c->text_len = (uint32_t)t;
    for (size_t i = 0; i < x->n_params; i++)
        c->params[i] = x->params[i];
    for (size_t i = 0; i < x->n_inputs; i++) {
        lanes_gpu_input_t *in = &c->in[i];
        in->kind = x->inputs[i].kind;
        in->dtype = x->inputs[i].dtype;
        in->seed = x->bind[i].seed;
        in->start = x->bind[i].start;
        in->step = x->bind[i].step;
        if (in->kind == LANES_SOURCE_ARRAY) {
            size_t es = lanes_dtype_size(x->inputs[i].dtype);
            in->offset = *off;
            memcpy(d->arena + *off, (const uint8_t *)x->bind[i].data + first * es, n * es);
            *off += (n * es + 63) & ~(size_t)63;
        }
    }
    return 0;
}

/* Arena bytes per element of x's arrays. */
static size_t expr_array_bytes(const lanes_gpu_expr_t *x)
{
    size_t b = 0;
    for (size_t i = 0; x && i < x->n_inputs; i++)
        if (x->inputs[i].kind == LANES_SOURCE_ARRAY)
            b += lanes_dtype_size(x->inputs[i].dtype);
    return b;
}

/* Elements of one command: what fits the arena at 'per' bytes each plus 'fixed' bytes (and 64 bytes of
 * alignment per array), at most 'want'. */
static size_t fit(size_t arena, size_t per, size_t fixed, size_t want)
{
    size_t room = arena > fixed + 64 * (LANES_EXPR_MAX_INPUTS + 2) ? arena - fixed - 64 * (LANES_EXPR_MAX_INPUTS + 2) : 0;
    size_t n = per ? room / per : want;
    return n < want ? n : want;
}

int lanes_gpu_map(int dev, const lanes_gpu_expr_t *x, uint64_t index0, size_t n, void *out,
                  lanes_dtype_t out_dtype, lanes_error_t *err)
{
    size_t os = lanes_dtype_size(out_dtype);
    if (!x || !x->src || os == 0 || (n && !out))
        return lanes_error_set(err, LANES_EINVAL, "lanes_gpu_map: bad arguments");
    for (size_t done = 0; done < n;) {
        int rc = device_enter(dev, err);
        if (rc)
            return rc;
        device_t *d = &P.d[dev];
        size_t step = fit(d->arena_len, expr_array_bytes(x) + os, 0, n - done);
        size_t off = 0;
        rc = step ? put_expr(d, x, done, step, &off, err) : lanes_error_set(err, LANES_EINVAL, "arena too small");
        if (rc == 0) {
            d->cmd.op = LANES_GPU_OP_MAP;
            d->cmd.out_dtype = out_dtype;
            d->cmd.index0 = index0 + done;
            d->cmd.n = step;
            d->cmd.out_offset = off;
            rc = device_run(dev, err);
            if (rc == 0)
                memcpy((uint8_t *)out + done * os, d->arena + off, step * os);
        }
        pthread_mutex_unlock(&d->mu);
        if (rc)
            return rc;
        done += step;
    }
    return 0;
}

static void put_spec(lanes_gpu_cmd_t *c, const lanes_reduce_spec_t *spec)
{
    c->rop = spec->op;
    c->rdtype = spec->dtype;
    c->bins = spec->bins;
    c->has_range = spec->has_range;
    c->ddof = spec->ddof;
    c->lo = spec->lo;
    c->hi = spec->hi;
}

int lanes_gpu_reduce_partials(int dev, const lanes_reduce_spec_t *spec, const lanes_gpu_expr_t *x,
                              const void *data, uint64_t index0, size_t n_blocks, lanes_reduce_partial_t *out,
                              lanes_error_t *err)
{
    size_t es = x ? 0 : lanes_dtype_size(spec->dtype);
    if (!spec || (!x && (!data || es == 0)) || (n_blocks && !out) || index0 % LANES_REDUCE_BLOCK)
        return lanes_error_set(err, LANES_EINVAL, "lanes_gpu_reduce_partials: bad arguments");
    const size_t per_block = (x ? expr_array_bytes(x) : es) * LANES_REDUCE_BLOCK + sizeof(lanes_reduce_partial_t);
    for (size_t done = 0; done < n_blocks;) {
        int rc = device_enter(dev, err);
        if (rc)
            return rc;
        device_t *d = &P.d[dev];
        size_t step = fit(d->arena_len, per_block, 0, n_blocks - done);
        size_t off = 0;
        rc = step ? 0 : lanes_error_set(err, LANES_EINVAL, "arena too small");
        if (rc == 0 && x)
            rc = put_expr(d, x, done * LANES_REDUCE_BLOCK, step * LANES_REDUCE_BLOCK, &off, err);
        if (rc == 0 && !x) {
            d->cmd.data_offset = off;
            memcpy(d->arena, (const uint8_t *)data + done * LANES_REDUCE_BLOCK * es, step * LANES_REDUCE_BLOCK * es);
            off += (step * LANES_REDUCE_BLOCK * es + 63) & ~(size_t)63;
        }
        if (rc == 0) {
            put_spec(&d->cmd, spec);
            d->cmd.op = LANES_GPU_OP_PARTIALS;
            d->cmd.index0 = index0 + done * LANES_REDUCE_BLOCK;
            d->cmd.n = step;
            d->cmd.out_offset = off;
            rc = device_run(dev, err);
            if (rc == 0)
                memcpy(out + done, d->arena + off, step * sizeof *out);
        }
        pthread_mutex_unlock(&d->mu);
        if (rc)
            return rc;
        done += step;
    }
    return 0;
}

int lanes_gpu_reduce_histogram(int dev, const lanes_reduce_spec_t *spec, const lanes_gpu_expr_t *x,
                               const void *data, uint64_t index0, size_t n, int64_t *counts, lanes_error_t *err)
{
    size_t es = x ? 0 : lanes_dtype_size(spec->dtype);
    if (!spec || (!x && (!data || es == 0)) || !counts || spec->bins == 0)
        return lanes_error_set(err, LANES_EINVAL, "lanes_gpu_reduce_histogram: bad arguments");
    const size_t count_bytes = (size_t)spec->bins * sizeof(int64_t);
    memset(counts, 0, count_bytes);
    for (size_t done = 0; done < n;) {
        int rc = device_enter(dev, err);
        if (rc)
            return rc;
        device_t *d = &P.d[dev];
        size_t step = fit(d->arena_len, x ? expr_array_bytes(x) : es, count_bytes, n - done);
        size_t off = 0;
        rc = step ? 0 : lanes_error_set(err, LANES_EINVAL, "arena too small");
        if (rc == 0 && x)
            rc = put_expr(d, x, done, step, &off, err);
        if (rc == 0 && !x) {
            d->cmd.data_offset = 0;
            memcpy(d->arena, (const uint8_t *)data + done * es, step * es);
            off = (step * es + 63) & ~(size_t)63;
        }
        if (rc == 0) {
            put_spec(&d->cmd, spec);
            d->cmd.op = LANES_GPU_OP_HISTOGRAM;
            d->cmd.index0 = index0 + done;
            d->cmd.n = step;
            d->cmd.out_offset = off;
            rc = device_run(dev, err);
            if (rc == 0) {
                const int64_t *part = (const int64_t *)(const void *)(d->arena + off);
                for (uint32_t b = 0; b < spec->bins; b++)
                    counts[b] += part[b];
            }
        }
        pthread_mutex_unlock(&d->mu);
        if (rc)
            return rc;
        done += step;
    }
    return 0;
}

size_t lanes_gpu_acf_max_block(size_t nlags)
{
    size_t arena = P.cfg.arena_bytes;
    size_t need = (2 * nlags + 2) * sizeof(double) + 128;
    return arena > need ? (arena - need) / sizeof(double) : 0;
}

int lanes_gpu_acf_lagsums(int dev, const double *buf, size_t nlags, size_t used, size_t max_used, double *r,
                          lanes_error_t *err)
{
    if (!buf || !r || used == 0 || used > max_used)
        return lanes_error_set(err, LANES_EINVAL, "lanes_gpu_acf_lagsums: bad arguments");
    if (max_used > lanes_gpu_acf_max_block(nlags))
        return lanes_error_set(err, LANES_EINVAL, "an ACF block of %zu values with %zu lags does not fit the GPU arena",
                               max_used, nlags);
    int rc = device_enter(dev, err);
    if (rc)
        return rc;
    device_t *d = &P.d[dev];
    size_t in_bytes = (nlags + used) * sizeof(double);
    memcpy(d->arena, buf, in_bytes);
    d->cmd.op = LANES_GPU_OP_ACF;
    d->cmd.nlags = nlags;
    d->cmd.n = used;
    d->cmd.max_used = max_used;
    d->cmd.data_offset = 0;
    d->cmd.out_offset = (in_bytes + 63) & ~(size_t)63;
    rc = device_run(dev, err);
    if (rc == 0)
        memcpy(r, d->arena + d->cmd.out_offset, (nlags + 1) * sizeof(double));
    pthread_mutex_unlock(&d->mu);
    return rc;
}

int lanes_gpu_pool_measure(void *ctx, int fam, size_t bytes, double *ns)
{
    (void)ctx;
    if (lanes_gpu_pool_devices() < 1 || bytes < 64)
        return -1;
    const size_t nlags = 16;
    size_t n = fam == LANES_FAMILY_MAP ? bytes / 16 : bytes / 8;
    if (fam == LANES_FAMILY_REDUCE) /* whole blocks: the device reduces only those */
        n = n < LANES_REDUCE_BLOCK ? LANES_REDUCE_BLOCK : n - n % LANES_REDUCE_BLOCK;
    if (n == 0 || (fam != LANES_FAMILY_MAP && fam != LANES_FAMILY_REDUCE && fam != LANES_FAMILY_ACF))
        return -1;
    double *in = malloc((n + nlags) * sizeof *in);
    double *res = malloc((fam == LANES_FAMILY_MAP ? n : n / LANES_REDUCE_BLOCK + nlags + 1) *
                         (fam == LANES_FAMILY_REDUCE ? sizeof(lanes_reduce_partial_t) : sizeof(double)));
    int rc = in && res ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n + nlags; i++)
        in[i] = (double)(i % 1000) * 1e-3;
    lanes_expr_input_t x_in = {.name = "x", .kind = LANES_SOURCE_ARRAY, .dtype = LANES_DTYPE_F64};
    lanes_expr_binding_t bind = {.data = in};
    lanes_gpu_expr_t x = {.src = "sin(x)", .n_inputs = 1, .inputs = &x_in, .bind = &bind};
    lanes_reduce_spec_t sum = {.op = LANES_REDUCE_SUM, .dtype = LANES_DTYPE_F64};
    double best = -1;
    for (int rep = 0; rc == 0 && rep < 4; rep++) { /* the first run compiles and warms up */
        lanes_error_t err = {0};
        uint64_t t0 = lanes_now_ns();
        if (fam == LANES_FAMILY_MAP)
            rc = lanes_gpu_map(0, &x, 0, n, res, LANES_DTYPE_F64, &err);
        else if (fam == LANES_FAMILY_REDUCE)
            rc = lanes_gpu_reduce_partials(0, &sum, NULL, in, 0, n / LANES_REDUCE_BLOCK,
                                           (lanes_reduce_partial_t *)(void *)res, &err);
        else
            rc = lanes_gpu_acf_lagsums(0, in, nlags, n, n, res, &err);
        double dt = (double)(lanes_now_ns() - t0);
        if (rc != 0)
            lanes_log(LANES_LOG_WARN, 0, "calibration on device 0: %s", err.msg);
        if (rep > 0 && (best < 0 || dt < best))
            best = dt;
    }
    free(in);
    free(res);
    if (rc != 0 || best <= 0)
        return -1;
    *ns = best;
    return 0;
}
