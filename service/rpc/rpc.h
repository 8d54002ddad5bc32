/* The daemon's endpoints, as seen by main.c: one lanes_job_ops_t per streamed job (rpc_map.c,
 * rpc_reduce.c, rpc_acf.c, rpc_text.c; rpc_corpus.c's asynchronous job behind rpc_corpus_method) and a
 * lanes_method_t per plain endpoint (rpc_info.c, rpc_health.c, rpc_echo.c), plus helpers they share.
 * None of these files includes gRPC headers. A job's callbacks return LANES_E* codes with a
 * lanes_error_t (pipeline.h); only the plain endpoints, which end their own calls, speak the edge's
 * API (server.h).
 */
#ifndef LANES_RPC_H
#define LANES_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const lanes_job_ops_t rpc_map_ops;
extern const lanes_job_ops_t rpc_reduce_ops;
extern const lanes_job_ops_t rpc_acf_ops;
extern const lanes_job_ops_t rpc_word_count_ops;
extern const lanes_job_ops_t rpc_word_acf_ops;

/* Prepares shared state (name lists, the config Info reports). Main thread, before the server starts;
 * cfg must outlive the server. */
void rpc_init(const lanes_config_t *cfg, uint64_t start_ns);

/* "square, cube, ..." and "sum, min, ...": for error messages. Static strings, set by rpc_init. */
const char *rpc_map_function_list(void);
const char *rpc_reduce_op_list(void);

/* Fills in the Corpus endpoint (rpc_corpus.c): the pipeline engine with Corpus' asynchronous job,
 * whose documents run on the process pool. cfg must outlive the server. Main thread, before the
 * server starts. */
void rpc_corpus_method(struct lanes_method *m, const lanes_config_t *cfg);

/* Plain endpoints. */
extern const struct lanes_method rpc_info_method;
extern const struct lanes_method rpc_echo_method;
extern const struct lanes_method rpc_health_check_method;
extern const struct lanes_method rpc_health_watch_method;

/* Health: marks the daemon NOT_SERVING (shutdown) and tells every Watch stream, which then ends.
 * Thread-safe. */
void rpc_health_set_not_serving(void);
/* Sends Watch streams the statuses that changed (the CUDA backend went down or came back). Any thread
 * holding no lock of the server's. */
void rpc_health_refresh(void);

#ifdef __cplusplus
}
#endif

#endif /* LANES_RPC_H */
