/* The task pools (see cpu_pool.h): each a mutex, a condition variable and a singly linked FIFO. */
#include "cpu_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_WORKERS 64

typedef struct task {
    lanes_task_fn fn;
    void *arg;
    struct task *next;
} task_t;

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task_t *head, *tail;
    int depth;
    int stopping;
    int n_workers;
    pthread_t workers[MAX_WORKERS];
} pool_t;

static pool_t g_pools[LANES_POOL_N] = {
    {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER},
    {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER},
};

static void *worker(void *arg)
{
    pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        task_t *t = p->head;
        if (!t)
            break; /* stopping and drained */
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        t->fn(t->arg);
        free(t);
        pthread_mutex_lock(&p->mu);
        p->depth--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int lanes_pool_start(int workers) { return lanes_pool_start_kind(LANES_POOL_CPU, workers); }
int lanes_pool_submit(lanes_task_fn fn, void *arg) { return lanes_pool_submit_to(LANES_POOL_CPU, fn, arg); }
int lanes_pool_depth(void) { return lanes_pool_depth_of(LANES_POOL_CPU); }

void lanes_pool_stop(void)
{
    lanes_pool_stop_kind(LANES_POOL_GPU);
    lanes_pool_stop_kind(LANES_POOL_CPU);
}

int lanes_pool_start_kind(lanes_pool_kind_t kind, int workers)
{
    pool_t *P = &g_pools[kind];
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;

    pthread_mutex_lock(&P->mu);
    P->stopping = 0;
    pthread_mutex_unlock(&P->mu);
    for (int i = P->n_workers; i < workers; i++) {
        int rc = pthread_create(&P->workers[i], NULL, worker, P);
        if (rc != 0) {
            lanes_log(LANES_LOG_ERR, rc, "pthread_create() of pool worker %d failed", i);
            return -1;
        }
        P->n_workers++;
    }
    return 0;
}

int lanes_pool_submit_to(lanes_pool_kind_t kind, lanes_task_fn fn, void *arg)
{
    pool_t *P = &g_pools[kind];
    task_t *t = malloc(sizeof *t);
    if (!t)
        return -1;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;
    pthread_mutex_lock(&P->mu);
    if (P->stopping || P->n_workers == 0) {
        pthread_mutex_unlock(&P->mu);
        free(t);
        return -1;
    }
    if (P->tail)
        P->tail->next = t;
    else
        P->head = t;
    P->tail = t;
    P->depth++;
    pthread_cond_signal(&P->cv);
    pthread_mutex_unlock(&P->mu);
    return 0;
}

int lanes_pool_depth_of(lanes_pool_kind_t kind)
{
    pool_t *P = &g_pools[kind];
    pthread_mutex_lock(&P->mu);
    int d = P->depth;
    pthread_mutex_unlock(&P->mu);
    return d;
}

void lanes_pool_stop_kind(lanes_pool_kind_t kind)
{
    pool_t *P = &g_pools[kind];
    pthread_mutex_lock(&P->mu);
    P->stopping = 1;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    for (int i = 0; i < P->n_workers; i++)
        pthread_join(P->workers[i], NULL);
    P->n_workers = 0;
}
