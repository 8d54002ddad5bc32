/* The CPU pool (see cpu_pool.h): a mutex, a condition variable and a singly linked FIFO of tasks. */
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

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task_t *head, *tail;
    int depth;
    int stopping;
    int n_workers;
    pthread_t workers[MAX_WORKERS];
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (!P.head && !P.stopping)
            pthread_cond_wait(&P.cv, &P.mu);
        task_t *t = P.head;
        if (!t)
            break; /* stopping and drained */
        P.head = t->next;
        if (!P.head)
            P.tail = NULL;
        pthread_mutex_unlock(&P.mu);
        t->fn(t->arg);
        free(t);
        pthread_mutex_lock(&P.mu);
        P.depth--;
    }
    pthread_mutex_unlock(&P.mu);
    return NULL;
}

int lanes_pool_start(int workers)
{
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    for (int i = 0; i < workers; i++) {
        int rc = pthread_create(&P.workers[i], NULL, worker, NULL);
        if (rc != 0) {
            lanes_log(LANES_LOG_ERR, rc, "pthread_create() of pool worker %d failed", i);
            return -1;
        }
        P.n_workers++;
    }
    return 0;
}

int lanes_pool_submit(lanes_task_fn fn, void *arg)
{
    task_t *t = malloc(sizeof *t);
    if (!t)
        return -1;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;
    pthread_mutex_lock(&P.mu);
    if (P.stopping) {
        pthread_mutex_unlock(&P.mu);
        free(t);
        return -1;
    }
    if (P.tail)
        P.tail->next = t;
    else
        P.head = t;
    P.tail = t;
    P.depth++;
    pthread_cond_signal(&P.cv);
    pthread_mutex_unlock(&P.mu);
    return 0;
}

int lanes_pool_depth(void)
{
    pthread_mutex_lock(&P.mu);
    int d = P.depth;
    pthread_mutex_unlock(&P.mu);
    return d;
}

void lanes_pool_stop(void)
{
    pthread_mutex_lock(&P.mu);
    P.stopping = 1;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < P.n_workers; i++)
        pthread_join(P.workers[i], NULL);
    P.n_workers = 0;
}
