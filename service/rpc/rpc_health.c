/* grpc.health.v1.Health: Check and Watch, which the gRPC C core does not provide.
 *
 * Design: the daemon serves the overall service "" and "lanes.v1.Lanes"; both are SERVING until
 * shutdown begins, then NOT_SERVING. "lanes.v1.Lanes.cuda" is the CUDA backend: SERVING while at least
 * one device is up (the registry's cuda entry is available), NOT_SERVING while none is (no device, or
 * every device's GPU worker failed and is being restarted); rpc_health_refresh() pushes its changes
 * to watchers. Jobs still run while it is NOT_SERVING: they go to the CPU. Check answers at once (NOT_FOUND for an unknown service, as the
 * health protocol says). Watch sends the current status, then a new message for every change, even
 * one undone before the previous message was out (each watcher queues them)
 * (SERVICE_UNKNOWN for an unknown service, which may appear later per the protocol; here it never
 * does); at shutdown every Watch stream gets NOT_SERVING and then ends with UNAVAILABLE.
 *
 * Locks: g_mu guards the list of watchers and the status; each watcher has its own mutex. Order:
 * g_mu, then a watcher's mutex, then (inside server.c) the call's. lanes_call_finish is never called
 * with g_mu held, because it can run on_done, which takes g_mu.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "lanes/registry.h"
#include "log.h"
#include "rpc.h"
#include "server.h"
#include "wire.h"

/* Changes a watcher keeps while a send is in flight, so a device that goes down and comes back
 * before the first message is out is still seen going down (a longer run keeps its first and last). */
#define WATCH_QUEUE 8

typedef struct watcher {
    pthread_mutex_t mu;
    lanes_call_t *call;
    int have_request;
    int known;         /* the service name is one we serve */
    int last_queued;   /* status last queued (or sent), -1 before the first */
    int queue[WATCH_QUEUE]; /* changes not sent yet: a send was in flight when they happened */
    int qn;
    int sending;
    int finished;
    struct watcher *next;
} watcher_t;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_serving = 1;
static watcher_t *g_watchers;

#define CUDA_SERVICE "lanes.v1.Lanes.cuda"

/* 0: unknown; 1: the daemon ("" or lanes.v1.Lanes); 2: its CUDA backend. */
static int service_known(const char *name)
{
    if (name[0] == 0 || strcmp(name, "lanes.v1.Lanes") == 0)
        return 1;
    return strcmp(name, CUDA_SERVICE) == 0 ? 2 : 0;
}

static int current_status(int known, int serving)
{
    if (!known)
        return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    if (known == 2 && serving) {
        lanes_backend_info_t b;
        serving = lanes_registry_find(LANES_BACKEND_CUDA, &b) == 0 && b.available;
    }
    return serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                   : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static int pack_status(int status, uint8_t **buf, size_t *len)
{
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
    lanes_error_t err;
    return lanes_wire_pack((const ProtobufCMessage *)&r, buf, len, &err) == 0 ? 0 : -1;
}

/* Decodes a HealthCheckRequest's service name into out. Returns 0, or -1 with err set (malformed, or a
 * NUL byte in the name). */
static int read_service(const uint8_t *data, size_t len, char *out, size_t cap, char *err, size_t err_cap)
{
    snprintf(err, err_cap, "malformed HealthCheckRequest");
    if (lanes_wire_check_strings(data, len, &grpc__health__v1__health_check_request__descriptor, err, err_cap) != 0)
        return -1; /* "lanes.v1.Lanes\0junk" must not read as lanes.v1.Lanes */
    Grpc__Health__V1__HealthCheckRequest *req = grpc__health__v1__health_check_request__unpack(NULL, len, data);
    if (!req)
        return -1;
    snprintf(out, cap, "%s", req->service ? req->service : "");
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
    return 0;
}

/* ---- Check ---- */

static void *check_start(lanes_call_t *call, void *arg) { return call; }

static void check_on_message(void *ctx, uint8_t *data, size_t len)
{
    lanes_call_t *call = ctx;
    char service[256];
    char why[256];
    int rc = read_service(data, len, service, sizeof service, why, sizeof why);
    free(data);
    if (rc != 0) {
        lanes_call_finish(call, LANES_EINVAL, why, NULL, 0);
        return;
    }
    if (!service_known(service)) {
        char msg[400];
        snprintf(msg, sizeof msg, "unknown service '%s' (served: '', 'lanes.v1.Lanes' and '" CUDA_SERVICE "')",
                 service);
        lanes_call_finish(call, LANES_ENOTFOUND, msg, NULL, 0);
        return;
    }
    pthread_mutex_lock(&g_mu);
    int status = current_status(service_known(service), g_serving);
    pthread_mutex_unlock(&g_mu);
    uint8_t *buf;
    size_t blen;
    if (pack_status(status, &buf, &blen) != 0)
        lanes_call_finish(call, LANES_ENOMEM, "out of memory", NULL, 0);
    else
        lanes_call_finish(call, 0, "", buf, blen);
}

static void noop_cancel(void *ctx) { (void)ctx; }
static void noop_done(void *ctx) { (void)ctx; }

const lanes_method_t rpc_health_check_method = {
    .path = "/grpc.health.v1.Health/Check",
    .unary_request = 1,
    .start = check_start,
    .on_message = check_on_message,
    .on_cancel = noop_cancel,
    .on_done = noop_done,
};

/* ---- Watch ---- */

/* With w->mu held: queues the status if it changed since the last one queued, and sends the oldest
 * queued status if no send is in flight. Returns 1 when the stream should end now (shutdown, and the
 * last status is out): the caller marks it and finishes it. */
static int watcher_update_locked(watcher_t *w, int serving)
{
    if (w->finished || !w->have_request)
        return 0;
    int status = current_status(w->known, serving);
    if (status != w->last_queued) {
        if (w->qn == WATCH_QUEUE)
            w->qn--; /* a long run of flips: the latest replaces the one before it */
        w->queue[w->qn++] = status;
        w->last_queued = status;
    }
    if (w->sending)
        return 0;
    if (w->qn > 0) {
        uint8_t *buf;
        size_t len;
        if (pack_status(w->queue[0], &buf, &len) != 0)
            return 0;
        memmove(w->queue, w->queue + 1, sizeof w->queue[0] * (size_t)(w->qn - 1));
        w->qn--;
        w->sending = 1;
        if (lanes_call_send(w->call, buf, len) != 0)
            w->sending = 0; /* the call broke: on_cancel follows */
        return 0;
    }
    if (!serving) { /* shutdown: the daemon's own state, not the CUDA backend's */
        w->finished = 1;
        return 1;
    }
    return 0;
}

static void watcher_end(watcher_t *w)
{
    lanes_call_finish(w->call, LANES_EUNAVAIL, "lanesd is shutting down", NULL, 0);
}

static void *watch_start(lanes_call_t *call, void *arg)
{
    watcher_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    w->call = call;
    w->last_queued = -1;
    pthread_mutex_lock(&g_mu);
    w->next = g_watchers;
    g_watchers = w;
    pthread_mutex_unlock(&g_mu);
    return w;
}

static void watch_on_message(void *ctx, uint8_t *data, size_t len)
{
    watcher_t *w = ctx;
    char service[256];
    char why[256];
    int rc = read_service(data, len, service, sizeof service, why, sizeof why);
    free(data);
    pthread_mutex_lock(&g_mu);
    int serving = g_serving;
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_lock(&w->mu);
    if (rc != 0) {
        w->finished = 1;
        lanes_call_finish(w->call, LANES_EINVAL, why, NULL, 0);
    } else {
        w->have_request = 1;
        w->known = service_known(service);
        if (watcher_update_locked(w, serving))
            watcher_end(w); /* inside a callback: on_done cannot run before it returns */
    }
    pthread_mutex_unlock(&w->mu);
}

static void watch_on_sent(void *ctx, int ok)
{
    watcher_t *w = ctx;
    pthread_mutex_lock(&g_mu);
    int serving = g_serving;
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_lock(&w->mu);
    w->sending = 0;
    if (ok && watcher_update_locked(w, serving))
        watcher_end(w);
    pthread_mutex_unlock(&w->mu);
}

static void watch_on_cancel(void *ctx)
{
    watcher_t *w = ctx;
    pthread_mutex_lock(&w->mu);
    int first = !w->finished;
    w->finished = 1;
    pthread_mutex_unlock(&w->mu);
    if (first)
        lanes_call_finish(w->call, LANES_ECANCELED, "the call was cancelled", NULL, 0);
}

static void watch_on_done(void *ctx)
{
    watcher_t *w = ctx;
    pthread_mutex_lock(&g_mu);
    for (watcher_t **p = &g_watchers; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

const lanes_method_t rpc_health_watch_method = {
    .path = "/grpc.health.v1.Health/Watch",
    .unary_request = 1,
    .start = watch_start,
    .on_message = watch_on_message,
    .on_sent = watch_on_sent,
    .on_cancel = watch_on_cancel,
    .on_done = watch_on_done,
};

void rpc_health_set_not_serving(void)
{
    /* Streams whose status does not change (unknown services) end now, outside g_mu; the others get
     * NOT_SERVING and end from on_sent. A stream marked finished here is finished by us alone, so it
     * stays valid until we do. */
    watcher_t *to_end[256];
    int n = 0;
    pthread_mutex_lock(&g_mu);
    g_serving = 0;
    for (watcher_t *w = g_watchers; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        if (n < 256 && watcher_update_locked(w, 0))
            to_end[n++] = w;
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < n; i++)
        watcher_end(to_end[i]);
}

void rpc_health_refresh(void)
{
    pthread_mutex_lock(&g_mu);
    int serving = g_serving;
    for (watcher_t *w = g_watchers; serving && w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        watcher_update_locked(w, serving); /* queues a change; never ends a stream while serving */
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&g_mu);
}
