/* The daemon's endpoints, as seen by main.c: one lanes_job_ops_t per streamed job (rpc_map.c,
 * rpc_reduce.c, rpc_acf.c, rpc_text.c) and a lanes_method_t per plain endpoint (rpc_info.c, rpc_health.c, rpc_echo.c), plus
 * helpers they share. None of these files includes gRPC headers: they speak server.h.
 */
#ifndef LANES_RPC_H
#define LANES_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pipeline.h"
#include "server.h"

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

/* Packs a protobuf-c message into a new malloc'ed buffer (*buf, *len). Returns OK, or
 * RESOURCE_EXHAUSTED with msg set. */
lanes_status_t rpc_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len, char *msg, size_t cap);

/* A lanes.v1.WordCounts body (words as length-delimited bytes: a word may hold U+0000; counts packed)
 * of entries [from, to): its size, and writing it at p (returns the end). rpc_text.c. Thread-safe. */
struct lanes_word_entry;
size_t rpc_word_counts_size(const struct lanes_word_entry *e, size_t from, size_t to);
uint8_t *rpc_word_counts_put(uint8_t *p, const struct lanes_word_entry *e, size_t from, size_t to);

/* Fills in the Corpus endpoint (rpc_corpus.c), which runs on the process pool. cfg must outlive the
 * server. Main thread, before the server starts. */
void rpc_corpus_method(lanes_method_t *m, const lanes_config_t *cfg);

/* Plain endpoints. */
extern const lanes_method_t rpc_info_method;
extern const lanes_method_t rpc_echo_method;
extern const lanes_method_t rpc_health_check_method;
extern const lanes_method_t rpc_health_watch_method;

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
