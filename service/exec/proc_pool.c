/* The process pool (see proc_pool.h): worker slots, a FIFO of tasks, one manager thread.
 *
 * Design: the pool is one static struct. Its mutex guards the queue, the list of cancelled tasks, the
 * stopping flag, the counters and the slots' visible state (for stats()); only the manager thread (or
 * start() before the manager exists) changes a slot, spawns, sends, receives and reaps, so it reads
 * slots without the lock and does all its I/O and callbacks unlocked. A slot is empty (no process,
 * maybe a respawn time), starting (spawned, no hello yet), idle or busy (one task). Spawning, the
 * hello's deadline, reaping, the words for a worker's end and the respawn back-off are the
 * supervisor's (supervisor.h); what a death means for a document stays here. A task keeps its
 * memfd and its preallocated result until done() takes the result, so a retry reuses the memfd and
 * completing a task never needs memory.
 */
#define _GNU_SOURCE
#include "clock.h"
#include "proc_pool.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fdpass.h"
#include "log.h"
#include "worker.h"

typedef struct task {
    struct task *next;
    int doc_fd;
    size_t doc_len;
    char *name;
    lanes_doc_params_t p;
    uint64_t tag, id;
    unsigned attempts;
    lanes_doc_done_fn done;
    void *arg;
    lanes_doc_result_t *res;
} task_t;

typedef enum { SLOT_EMPTY, SLOT_STARTING, SLOT_IDLE, SLOT_BUSY } slot_state_t;

typedef struct slot {
    slot_state_t state;
    lanes_supervisor_helper_t h;      /* its worker (pid 0 and fd -1 while empty) */
    task_t *task;
    lanes_supervisor_backoff_t next;  /* empty slots: when to start the next worker */
} slot_t;

static struct {
    pthread_mutex_t mu;
    int running, stopping;
    pthread_t thread;
    int wake_fd;
    int n;
    unsigned memory_mb, retries;
    lanes_supervisor_t sup; /* "EXE --worker FD MEMORY_MB" */
    slot_t s[LANES_PROC_POOL_MAX_WORKERS];
    task_t *head, *tail;
    size_t queued;
    task_t *cancelled;
    uint64_t next_id;
    uint64_t completed, failed, retried, deaths, respawns;
    int limit_enforced;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1};

static void wake(void)
{
    uint64_t one = 1;
    if (write(P.wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        lanes_log(LANES_LOG_ERR, errno, "write() to the process pool's eventfd failed");
}

static void task_free(task_t *t)
{
    if (t->doc_fd >= 0)
        close(t->doc_fd);
    lanes_doc_result_free(t->res);
    free(t->name);
    free(t);
}

/* Hands the task's result to its receiver and frees the task. Manager thread, unlocked. */
static void task_complete(task_t *t)
{
    lanes_doc_result_t *res = t->res;
    res->attempts = t->attempts;
    t->res = NULL;
    pthread_mutex_lock(&P.mu);
    if (res->err.code == 0)
        P.completed++;
    else
        P.failed++;
    pthread_mutex_unlock(&P.mu);
    lanes_doc_done_fn done = t->done;
    void *arg = t->arg;
    task_free(t);
    done(arg, res);
}

static void task_fail(task_t *t, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void task_fail(task_t *t, int code, const char *fmt, ...)
{
    lanes_doc_result_t *res = t->res;
    res->err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->err.msg, sizeof res->err.msg, fmt, ap);
    va_end(ap);
    task_complete(t);
}

static void slot_set(int i, slot_state_t state, task_t *task)
{
    pthread_mutex_lock(&P.mu);
    P.s[i].state = state;
    P.s[i].task = task;
    pthread_mutex_unlock(&P.mu);
}

/* ---- workers: spawn, lose, describe ---- */

/* Starts a worker in slot i (empty). Returns 0, or -1 with err set and the next try scheduled. */
static int slot_spawn(int i, char *err, size_t cap)
{
    slot_t *w = &P.s[i];
    char mem_arg[24], what[32];
    snprintf(mem_arg, sizeof mem_arg, "%u", P.memory_mb);
    snprintf(what, sizeof what, "worker %d", i);
    const char *args[] = {mem_arg, NULL};
    lanes_supervisor_helper_t h;
    if (lanes_supervisor_spawn(&P.sup, &h, args, what, err, cap) != 0) {
        pthread_mutex_lock(&P.mu);
        lanes_supervisor_backoff(&w->next, 0, lanes_now_ns());
        pthread_mutex_unlock(&P.mu);
        return -1;
    }
    pthread_mutex_lock(&P.mu);
    w->h = h;
    w->state = SLOT_STARTING;
    w->task = NULL;
    pthread_mutex_unlock(&P.mu);
    return 0;
}

/* Kills (if needed) and reaps the worker of slot i, empties the slot, schedules its respawn and
 * returns its task (NULL if none). 'how' gets the description of its end ("was killed by ...") unless
 * 'why' (a protocol error) is given. Manager thread (or start()). */
static task_t *slot_lose(int i, const char *why, char *how, size_t cap)
{
    slot_t *w = &P.s[i];
    /* A worker whose socket reached EOF is exiting; SIGKILL does not change an exit already under way. */
    lanes_supervisor_helper_t h = w->h;
    char ended[128];
    lanes_supervisor_reap(&h, 0, ended, sizeof ended);
    snprintf(how, cap, "%s", why ? why : ended);
    pthread_mutex_lock(&P.mu);
    task_t *t = w->task;
    lanes_supervisor_backoff(&w->next, h.spawned_ns, lanes_now_ns());
    w->h = h;
    w->state = SLOT_EMPTY;
    w->task = NULL;
    P.deaths++;
    pthread_mutex_unlock(&P.mu);
    return t;
}

/* The worker of slot i is gone or broken: fail or requeue its task. */
static void slot_died(int i, const char *why)
{
    pid_t pid = P.s[i].h.pid;
    int was_starting = P.s[i].state == SLOT_STARTING;
    char how[256];
    task_t *t = slot_lose(i, why, how, sizeof how);
    if (!t) {
        char next[64] = "";
        uint64_t now = lanes_now_ns();
        if (P.running && P.s[i].next.respawn_ns > now)
            snprintf(next, sizeof next, "; starting another in %llu ms",
                     (unsigned long long)((P.s[i].next.respawn_ns - now) / 1000000));
        else if (P.running)
            snprintf(next, sizeof next, "; starting another");
        lanes_log(LANES_LOG_WARN, 0, "process pool: worker %d (pid %d) %s%s%s", i, (int)pid, how,
                  was_starting ? " before it was ready" : "", next);
        return;
    }
    t->res->worker = i;
    t->res->pid = (int)pid;
    if (!why && t->attempts <= P.retries) {
        lanes_log(LANES_LOG_WARN, 0,
                  "process pool: worker %d (pid %d) %s while running document '%s'; running it again (attempt "
                  "%u of %u)",
                  i, (int)pid, how, t->name, t->attempts + 1, P.retries + 1);
        pthread_mutex_lock(&P.mu);
        t->next = P.head; /* first in line: it has waited already */
        P.head = t;
        if (!P.tail)
            P.tail = t;
        P.queued++;
        P.retried++;
        pthread_mutex_unlock(&P.mu);
        return;
    }
    lanes_log(LANES_LOG_WARN, 0, "process pool: worker %d (pid %d) %s while running document '%s'", i, (int)pid,
              how, t->name);
    if (t->attempts > 1)
        task_fail(t, LANES_EINTERNAL, "worker pid %d %s while running document '%s' (attempt %u of %u)",
                  (int)pid, how, t->name, t->attempts, P.retries + 1);
    else
        task_fail(t, LANES_EINTERNAL, "worker pid %d %s while running document '%s'", (int)pid, how, t->name);
}

/* Stops every worker: idle ones get EOF and exit by themselves (a sanitizer build then checks them
 * for leaks), busy and starting ones, and any still there after the supervisor's stop grace, get
 * SIGKILL. Running tasks fail with UNAVAILABLE. Manager thread at its end (or start()). */
static void workers_stop(void)
{
    for (int i = 0; i < P.n; i++)
        if (P.s[i].state == SLOT_IDLE)
            lanes_supervisor_ask_exit(&P.s[i].h);
    uint64_t deadline = lanes_now_ns() + LANES_SUPERVISOR_STOP_GRACE_NS;
    for (int i = 0; i < P.n; i++) {
        slot_t *w = &P.s[i];
        if (w->state == SLOT_EMPTY)
            continue;
        lanes_supervisor_helper_t h = w->h;
        pid_t pid = h.pid;
        char how[128];
        int clean = lanes_supervisor_reap(&h, w->state == SLOT_IDLE ? deadline : 0, how, sizeof how);
        if (w->state == SLOT_IDLE && !clean)
            lanes_log(LANES_LOG_WARN, 0, "process pool: worker %d (pid %d) %s at stop", i, (int)pid, how);
        pthread_mutex_lock(&P.mu);
        task_t *t = w->task;
        w->h = h;
        w->state = SLOT_EMPTY;
        w->task = NULL;
        pthread_mutex_unlock(&P.mu);
        if (t) {
            t->res->worker = i;
            t->res->pid = (int)pid;
            task_fail(t, LANES_EUNAVAIL,
                      "the process pool stopped while worker pid %d was running document '%s'", (int)pid, t->name);
        }
    }
}

/* ---- messages from workers ---- */

static void on_hello(int i)
{
    slot_t *w = &P.s[i];
    lanes_worker_hello_t h;
    lanes_supervisor_hello_result_t got = lanes_supervisor_hello(&w->h, &h, sizeof h);
    if (got == LANES_SUPERVISOR_HELLO_ENDED) {
        slot_died(i, NULL);
        return;
    }
    if (got != LANES_SUPERVISOR_HELLO_OK || h.magic != LANES_WORKER_MAGIC || h.version != LANES_WORKER_VERSION) {
        slot_died(i, "sent a malformed hello (is it a lanesd of the same version?)");
        return;
    }
    pthread_mutex_lock(&P.mu);
    w->state = SLOT_IDLE;
    if (!h.memory_limit_enforced)
        P.limit_enforced = 0;
    pthread_mutex_unlock(&P.mu);
}

/* The kinds of failure a worker may report (worker.h); anything else is INTERNAL. */
static int reply_code(int32_t code)
{
    switch (code) {
    case LANES_EINVAL:
    case LANES_EPRECOND:
    case LANES_ENOMEM:
        return code;
    default:
        return LANES_EINTERNAL;
    }
}

static void on_reply(int i)
{
    slot_t *w = &P.s[i];
    lanes_worker_reply_t r;
    int fd = -1;
    ssize_t n = lanes_fdpass_recv(w->h.fd, &r, sizeof r, &fd);
    if (n == 0 || (n < 0 && errno != EMSGSIZE)) {
        slot_died(i, NULL);
        return;
    }
    task_t *t = w->task;
    if (!t || n != (ssize_t)sizeof r || r.magic != LANES_WORKER_MAGIC || r.version != LANES_WORKER_VERSION ||
        r.id != t->id) {
        if (fd >= 0)
            close(fd);
        char why[128];
        snprintf(why, sizeof why, "sent a malformed reply (%zd bytes%s)", n, t ? "" : " while idle");
        pid_t pid = w->h.pid;
        task_t *lost = slot_lose(i, why, why, sizeof why);
        lanes_log(LANES_LOG_ERR, 0, "process pool: worker %d (pid %d) %s; killed it", i, (int)pid, why);
        if (lost) {
            lost->res->worker = i;
            lost->res->pid = (int)pid;
            task_fail(lost, LANES_EINTERNAL, "worker pid %d %s for document '%s'", (int)pid, why, lost->name);
        }
        return;
    }
    lanes_doc_result_t *res = t->res;
    res->worker = i;
    res->pid = (int)w->h.pid;
    res->compute_ns = r.compute_ns;
    r.msg[sizeof r.msg - 1] = 0;
    lanes_error_t bad = {0};
    if (r.code == 0) {
        if (fd < 0)
            lanes_error_set(&bad, LANES_EINTERNAL, "a reply without its result");
        else
            lanes_doc_result_map(fd, &t->p, t->doc_len, res, &bad);
    } else {
        int code = reply_code(r.code);
        if (code == LANES_ENOMEM && P.limit_enforced && P.memory_mb)
            lanes_error_set(&res->err, code, "document '%s': worker over its memory limit of %u MiB (%s)", t->name,
                            P.memory_mb, r.msg);
        else
            lanes_error_set(&res->err, code, "document '%s': %s", t->name, r.msg);
    }
    if (fd >= 0)
        close(fd);
    if (bad.code) {
        pid_t pid = w->h.pid;
        char why[300];
        snprintf(why, sizeof why, "sent a malformed result: %.250s", bad.msg);
        slot_lose(i, why, why, sizeof why);
        lanes_log(LANES_LOG_ERR, 0, "process pool: worker %d (pid %d) %s; killed it", i, (int)pid, why);
        task_fail(t, LANES_EINTERNAL, "worker pid %d %s for document '%s'", (int)pid, why, t->name);
        return;
    }
    slot_set(i, SLOT_IDLE, NULL);
    task_complete(t);
}

/* ---- the manager ---- */

/* Hands queued tasks to idle workers. */
static void dispatch(void)
{
    for (int i = 0; i < P.n; i++) {
        if (P.s[i].state != SLOT_IDLE)
            continue;
        pthread_mutex_lock(&P.mu);
        task_t *t = P.head;
        if (t) {
            P.head = t->next;
            if (!P.head)
                P.tail = NULL;
            P.queued--;
            t->next = NULL;
            t->attempts++;
            P.s[i].state = SLOT_BUSY;
            P.s[i].task = t;
        }
        pthread_mutex_unlock(&P.mu);
        if (!t)
            return;
        lanes_worker_task_t m;
        memset(&m, 0, sizeof m);
        m.magic = LANES_WORKER_MAGIC;
        m.version = LANES_WORKER_VERSION;
        m.id = t->id;
        m.doc_len = t->doc_len;
        m.do_count = t->p.do_count != 0;
        m.do_acf = t->p.do_acf != 0;
        m.acf_mode = t->p.acf_mode;
        m.min_length = t->p.min_length;
        m.nwords = t->p.nwords;
        m.timesteps = t->p.timesteps;
        if (lanes_fdpass_send(P.s[i].h.fd, &m, sizeof m, t->doc_fd) != 0) {
            /* The worker is gone (EPIPE) or the socket broke: the usual death path, which retries. */
            lanes_log(LANES_LOG_WARN, errno, "process pool: sendmsg() to worker %d (pid %d) failed", i,
                      (int)P.s[i].h.pid);
            slot_died(i, NULL);
        }
    }
}

static void respawn_due(uint64_t now)
{
    for (int i = 0; i < P.n; i++) {
        slot_t *w = &P.s[i];
        if (w->state != SLOT_EMPTY || w->next.respawn_ns > now)
            continue;
        char err[512];
        if (slot_spawn(i, err, sizeof err) != 0) {
            lanes_log(LANES_LOG_ERR, 0, "process pool: %s", err);
        } else {
            pthread_mutex_lock(&P.mu);
            P.respawns++;
            pthread_mutex_unlock(&P.mu);
        }
    }
}

/* Kills workers past their hello deadline that never said hello. */
static void hello_timeouts(uint64_t now)
{
    char why[64];
    snprintf(why, sizeof why, "did not say hello within %d s", LANES_SUPERVISOR_HELLO_TIMEOUT_S);
    for (int i = 0; i < P.n; i++)
        if (P.s[i].state == SLOT_STARTING && now > lanes_supervisor_hello_deadline(&P.s[i].h))
            slot_died(i, why);
}

/* Milliseconds until the next respawn or hello deadline, -1 if none. */
static int next_timeout_ms(uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < P.n; i++) {
        if (P.s[i].state == SLOT_EMPTY && P.s[i].next.respawn_ns < next)
            next = P.s[i].next.respawn_ns;
        if (P.s[i].state == SLOT_STARTING && lanes_supervisor_hello_deadline(&P.s[i].h) < next)
            next = lanes_supervisor_hello_deadline(&P.s[i].h);
    }
    if (next == UINT64_MAX)
        return -1;
    if (next <= now)
        return 0;
    uint64_t ms = (next - now + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Waits for one round of events and handles them. wake_fd < 0: no eventfd (start()). */
static void poll_once(int timeout_ms)
{
    struct pollfd pfd[LANES_PROC_POOL_MAX_WORKERS + 1];
    int slot_of[LANES_PROC_POOL_MAX_WORKERS + 1];
    int n = 0;
    if (P.running) {
        pfd[n] = (struct pollfd){.fd = P.wake_fd, .events = POLLIN};
        slot_of[n++] = -1;
    }
    for (int i = 0; i < P.n; i++) {
        if (P.s[i].state == SLOT_EMPTY)
            continue;
        pfd[n] = (struct pollfd){.fd = P.s[i].h.fd, .events = POLLIN};
        slot_of[n++] = i;
    }
    int rc = poll(pfd, (nfds_t)n, timeout_ms);
    if (rc < 0) {
        if (errno != EINTR)
            lanes_log(LANES_LOG_ERR, errno, "process pool: poll() failed");
        return;
    }
    for (int k = 0; k < n; k++) {
        if (!pfd[k].revents)
            continue;
        int i = slot_of[k];
        if (i < 0) {
            uint64_t v;
            if (read(P.wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                lanes_log(LANES_LOG_ERR, errno, "read() of the process pool's eventfd failed");
        } else if (P.s[i].state == SLOT_STARTING)
            on_hello(i);
        else if (P.s[i].state == SLOT_BUSY || P.s[i].state == SLOT_IDLE)
            on_reply(i);
    }
}

static void *manager(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&P.mu);
        int stopping = P.stopping;
        task_t *cancelled = P.cancelled;
        P.cancelled = NULL;
        pthread_mutex_unlock(&P.mu);
        while (cancelled) {
            task_t *t = cancelled;
            cancelled = t->next;
            task_fail(t, LANES_ECANCELED, "document '%s' was cancelled before it ran", t->name);
        }
        if (stopping)
            break;
        uint64_t now = lanes_now_ns();
        hello_timeouts(now);
        respawn_due(now);
        dispatch();
        poll_once(next_timeout_ms(lanes_now_ns()));
    }

    /* Stopping: no submit() gets in any more; fail what waits (and what cancel() dropped meanwhile),
     * then kill the workers. */
    pthread_mutex_lock(&P.mu);
    task_t *queue = P.head, *cancelled = P.cancelled;
    P.head = P.tail = P.cancelled = NULL;
    P.queued = 0;
    pthread_mutex_unlock(&P.mu);
    while (cancelled) {
        task_t *t = cancelled;
        cancelled = t->next;
        task_fail(t, LANES_ECANCELED, "document '%s' was cancelled before it ran", t->name);
    }
    while (queue) {
        task_t *t = queue;
        queue = t->next;
        task_fail(t, LANES_EUNAVAIL, "document '%s' was not run: the process pool stopped", t->name);
    }
    workers_stop();
    return NULL;
}

/* ---- API ---- */

static void pool_reset(void)
{
    if (P.wake_fd >= 0)
        close(P.wake_fd);
    P.wake_fd = -1;
    P.running = P.stopping = 0;
    P.n = 0;
    memset(P.s, 0, sizeof P.s);
    P.completed = P.failed = P.retried = P.deaths = P.respawns = 0;
}

int lanes_proc_pool_start(const lanes_proc_pool_config_t *cfg, char *err, size_t cap)
{
    if (P.running) {
        snprintf(err, cap, "the process pool is already running");
        return -1;
    }
    if (cfg->workers < 1 || cfg->workers > LANES_PROC_POOL_MAX_WORKERS) {
        snprintf(err, cap, "process pool: %d workers is outside 1 .. %d", cfg->workers, LANES_PROC_POOL_MAX_WORKERS);
        return -1;
    }
    if (cfg->retries > LANES_PROC_POOL_MAX_RETRIES) {
        snprintf(err, cap, "process pool: %u retries is above the maximum %d", cfg->retries,
                 LANES_PROC_POOL_MAX_RETRIES);
        return -1;
    }
    const char *exe = cfg->exe ? cfg->exe : "/proc/self/exe";
    if (strlen(exe) >= sizeof P.sup.exe) {
        snprintf(err, cap, "process pool: the worker binary's path is too long");
        return -1;
    }
    if (access(exe, X_OK) != 0) {
        snprintf(err, cap, "process pool: the worker binary %s is not executable: %s", exe, strerror(errno));
        return -1;
    }
    pool_reset();
    lanes_supervisor_init(&P.sup, cfg->exe, "--worker");
    P.n = cfg->workers;
    P.memory_mb = cfg->memory_mb;
    P.retries = cfg->retries;
    P.limit_enforced = cfg->memory_mb > 0;
    for (int i = 0; i < P.n; i++)
        lanes_supervisor_helper_init(&P.s[i].h);

    int rc = 0;
    for (int i = 0; i < P.n && rc == 0; i++)
        rc = slot_spawn(i, err, cap);
    /* Wait for every hello; a worker that dies now is a configuration problem, not a fault to ride out. */
    for (;;) {
        int starting = 0, lost = -1;
        for (int i = 0; i < P.n; i++) {
            if (P.s[i].state == SLOT_STARTING)
                starting++;
            if (P.s[i].state == SLOT_EMPTY)
                lost = i;
        }
        if (rc != 0 || lost >= 0 || starting == 0)
            break;
        uint64_t now = lanes_now_ns();
        if (next_timeout_ms(now) == 0) {
            snprintf(err, cap, "process pool: %d worker(s) did not say hello within %d s", starting,
                     LANES_SUPERVISOR_HELLO_TIMEOUT_S);
            rc = -1;
            break;
        }
        pid_t pids[LANES_PROC_POOL_MAX_WORKERS];
        for (int i = 0; i < P.n; i++)
            pids[i] = P.s[i].h.pid;
        poll_once(next_timeout_ms(now));
        for (int i = 0; i < P.n && rc == 0; i++) {
            if (P.s[i].state == SLOT_EMPTY && pids[i]) {
                snprintf(err, cap,
                         "process pool: worker %d (pid %d) of %s ended before it was ready (see its messages above)",
                         i, (int)pids[i], P.sup.exe);
                rc = -1;
            }
        }
    }
    if (rc == 0) {
        P.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (P.wake_fd < 0) {
            snprintf(err, cap, "eventfd() for the process pool failed: %s", strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0) {
        P.running = 1;
        int e = pthread_create(&P.thread, NULL, manager, NULL);
        if (e != 0) {
            snprintf(err, cap, "pthread_create() of the process pool's manager failed: %s", strerror(e));
            P.running = 0;
            rc = -1;
        }
    }
    if (rc != 0) {
        workers_stop();
        pool_reset();
        return -1;
    }
    return 0;
}

int lanes_proc_pool_submit(int doc_fd, size_t doc_len, const char *name, const lanes_doc_params_t *p,
                           uint64_t tag, lanes_doc_done_fn done, void *arg)
{
    if (doc_fd < 0 || !p || !done)
        return LANES_EINVAL;
    lanes_doc_params_t params = *p;
    lanes_error_t why;
    if (lanes_doc_params_check(&params, &why) != 0)
        return LANES_EINVAL;
    task_t *t = calloc(1, sizeof *t);
    if (!t)
        return LANES_ENOMEM;
    t->name = strdup(name ? name : "");
    t->res = lanes_doc_result_new();
    if (!t->name || !t->res) {
        t->doc_fd = -1;
        task_free(t);
        return LANES_ENOMEM;
    }
    t->doc_fd = doc_fd;
    t->doc_len = doc_len;
    t->p = params;
    t->tag = tag;
    t->done = done;
    t->arg = arg;
    pthread_mutex_lock(&P.mu);
    if (!P.running || P.stopping) {
        pthread_mutex_unlock(&P.mu);
        t->doc_fd = -1; /* stays the caller's */
        task_free(t);
        return LANES_ENODEV;
    }
    t->id = ++P.next_id;
    if (P.tail)
        P.tail->next = t;
    else
        P.head = t;
    P.tail = t;
    P.queued++;
    wake(); /* under the lock: stop() cannot close the eventfd meanwhile */
    pthread_mutex_unlock(&P.mu);
    return 0;
}

size_t lanes_proc_pool_cancel(uint64_t tag)
{
    size_t n = 0;
    pthread_mutex_lock(&P.mu);
    task_t **pp = &P.head, *last = NULL;
    while (*pp) {
        task_t *t = *pp;
        if (t->tag == tag) {
            *pp = t->next;
            t->next = P.cancelled;
            P.cancelled = t;
            P.queued--;
            n++;
        } else {
            last = t;
            pp = &t->next;
        }
    }
    P.tail = last;
    if (n && P.running)
        wake();
    pthread_mutex_unlock(&P.mu);
    return n;
}

void lanes_proc_pool_stats(lanes_proc_pool_stats_t *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&P.mu);
    if (P.running && !P.stopping) {
        st->running = 1;
        st->workers = P.n;
        for (int i = 0; i < P.n; i++) {
            const slot_t *w = &P.s[i];
            st->pid[i] = (int)w->h.pid;
            st->slot_busy[i] = w->state == SLOT_BUSY;
            st->ready += w->state == SLOT_IDLE || w->state == SLOT_BUSY;
            st->busy += w->state == SLOT_BUSY;
        }
        st->queued = P.queued;
        st->completed = P.completed;
        st->failed = P.failed;
        st->retried = P.retried;
        st->deaths = P.deaths;
        st->respawns = P.respawns;
        st->memory_limit_enforced = P.limit_enforced;
        st->memory_mb = P.memory_mb;
    }
    pthread_mutex_unlock(&P.mu);
}

void lanes_proc_pool_stop(void)
{
    if (!P.running)
        return;
    pthread_mutex_lock(&P.mu);
    P.stopping = 1;
    wake();
    pthread_mutex_unlock(&P.mu);
    pthread_join(P.thread, NULL);
    pthread_mutex_lock(&P.mu);
    pool_reset();
    pthread_mutex_unlock(&P.mu);
}
