/* Hand-written protobuf framing for the bulk path, so array bytes are never copied by a codec.
 *
 * Design: requests of Map and Reduce share one shape, `oneof { Spec spec = 1; Chunk chunk = 2; }`,
 * and Chunk is `repeated bytes arrays = 1`. The daemon reads chunk arrays in place (pointers into the
 * received message) and writes result chunks as a few header bytes followed by the array, which the
 * kernels compute straight into the message buffer. Specs and summaries are small and go through
 * protobuf-c (lanes_wire_pack). A WordCounts table is hand-packed too: its words are bytes that may
 * hold U+0000, which protobuf-c's string fields cannot. Every parser checks bounds and reports a
 * malformed message instead of reading past it.
 */
#ifndef LANES_WIRE_H
#define LANES_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lanes/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a message holding exactly one length-delimited field (a oneof of messages). Sets *field and
 * the body span. Returns 0, or -1 if the message is empty, malformed or holds other fields. */
int lanes_wire_oneof(const uint8_t *msg, size_t len, uint32_t *field, const uint8_t **body, size_t *body_len);

/* Reads the next length-delimited field at *p (advancing it). Returns 0, 1 at the end of the message,
 * or -1 if malformed or of another wire type. */
int lanes_wire_next_field(const uint8_t **p, const uint8_t *end, uint32_t *field, const uint8_t **body,
                          size_t *body_len);

/* Reads the arrays of a Chunk body in place. Returns the number of arrays (up to max are stored), or
 * -1 if malformed. Arrays beyond max are counted, not stored. */
int lanes_wire_chunk_arrays(const uint8_t *body, size_t len, const uint8_t **arrays, size_t *lens, int max);

/* Largest header lanes_wire_chunk_header writes. */
#define LANES_WIRE_CHUNK_HEADER_MAX 24

/* Writes the header of `{ <outer_field>: Chunk { arrays: <payload_len bytes> } }` to out and returns its
 * size; the payload follows it directly. */
size_t lanes_wire_chunk_header(uint8_t *out, uint32_t outer_field, size_t payload_len);

/* Size of the header lanes_wire_chunk_header would write. */
size_t lanes_wire_chunk_header_size(uint32_t outer_field, size_t payload_len);

/* Writers for hand-packed messages: the size of a varint; a varint at p; a length-delimited field
 * (tag, length, bytes) at p. Each returns the position after what it wrote; the caller sizes out with
 * lanes_wire_varint_size() (a tag of field f is the varint f << 3 | wire type). */
size_t lanes_wire_varint_size(uint64_t v);
uint8_t *lanes_wire_put_varint(uint8_t *p, uint64_t v);
uint8_t *lanes_wire_put_bytes(uint8_t *p, uint32_t field, const void *data, size_t len);

/* Packs a protobuf-c message into a new malloc'ed buffer (*buf, *len; the caller frees it). Returns 0,
 * or LANES_ENOMEM with err set. Thread-safe. */
struct ProtobufCMessage;
int lanes_wire_pack(const struct ProtobufCMessage *m, uint8_t **buf, size_t *len, lanes_error_t *err);

/* A lanes.v1.WordCounts body (words as length-delimited bytes: a word may hold U+0000; counts packed)
 * of entries [from, to): its size, and writing it at p (returns the end). Thread-safe. */
struct lanes_word_entry;
size_t lanes_wire_word_counts_size(const struct lanes_word_entry *e, size_t from, size_t to);
uint8_t *lanes_wire_word_counts_put(uint8_t *p, const struct lanes_word_entry *e, size_t from, size_t to);

/* Checks every string field of a message of type d (a protobuf-c descriptor), in nested messages and
 * map entries too, for U+0000: protobuf-c decodes a string into a NUL-terminated C string, so a name
 * "sum\0max" would silently become "sum" (and an expression "x\0+1" become "x"). Walks the raw wire
 * bytes, where a string's length is known. Returns 0 when no string field holds a NUL byte (a malformed
 * message also returns 0: its decoder reports it), or -1 with err (cap bytes) naming the field as a
 * path ("MapSpec.function", "ReduceSpec.generated[1].name", "MapSpec.params[0].key") and the byte.
 * Reads msg only; thread-safe. */
struct ProtobufCMessageDescriptor;
int lanes_wire_check_strings(const uint8_t *msg, size_t len, const struct ProtobufCMessageDescriptor *d, char *err,
                             size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* LANES_WIRE_H */
