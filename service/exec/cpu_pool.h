/* The CPU pool: a few worker threads that run compute tasks in FIFO order, so large chunks never run
 * on completion-queue threads.
 *
 * Design: pool_workers threads (default 1) share one queue. Each task runs OpenMP itself with the
 * configured thread count; keeping the number of workers small stops concurrent jobs from
 * oversubscribing the cores (two big jobs take turns per chunk instead of fighting). Tasks are small
 * (one chunk), so a long stream never holds the pool for long.
 *
 * A second pool, LANES_POOL_GPU, runs the pieces placed on CUDA devices: its tasks mostly wait for a
 * GPU worker's reply, so they get their own threads (two per device, started with the GPU pool) and
 * never hold the CPU pool's threads while a device works, nor wait behind CPU work.
 */
#ifndef LANES_CPU_POOL_H
#define LANES_CPU_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*lanes_task_fn)(void *arg);

typedef enum lanes_pool_kind { LANES_POOL_CPU = 0, LANES_POOL_GPU = 1, LANES_POOL_N = 2 } lanes_pool_kind_t;

/* The same operations on either pool; the unsuffixed ones below act on LANES_POOL_CPU (and
 * lanes_pool_stop stops both). submit_to fails (-1) on a pool that was never started. */
int lanes_pool_start_kind(lanes_pool_kind_t kind, int workers);
int lanes_pool_submit_to(lanes_pool_kind_t kind, lanes_task_fn fn, void *arg);
int lanes_pool_depth_of(lanes_pool_kind_t kind);
void lanes_pool_stop_kind(lanes_pool_kind_t kind);

/* Starts the workers. Returns 0 or -1 (pthread_create failed; logged). Main thread, once. */
int lanes_pool_start(int workers);

/* Queues fn(arg) to run on a worker. Returns 0, or -1 if the pool is stopped or out of memory (the
 * task is not queued then; the caller keeps arg). Thread-safe. */
int lanes_pool_submit(lanes_task_fn fn, void *arg);

/* Tasks queued or running now. Thread-safe. */
int lanes_pool_depth(void);

/* Runs the queued tasks to the end, then joins the workers. Main thread, after the server stopped. */
void lanes_pool_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_CPU_POOL_H */
