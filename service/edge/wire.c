/* Protobuf framing for bulk chunks (see wire.h): varints and length-delimited fields only; packing of
 * the small messages through protobuf-c, and of word tables by hand; and the check of a message's
 * string fields for U+0000, which walks the wire bytes with the message's protobuf-c descriptor
 * (field numbers to names and types). */
#include "wire.h"

#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes/text.h"

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int lanes_wire_next_field(const uint8_t **p, const uint8_t *end, uint32_t *field, const uint8_t **body,
                          size_t *body_len)
{
    if (*p == end)
        return 1;
    uint64_t key, len;
    if (read_varint(p, end, &key) != 0 || (key & 7) != 2 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    if (read_varint(p, end, &len) != 0 || len > (uint64_t)(end - *p))
        return -1;
    *field = (uint32_t)(key >> 3);
    *body = *p;
    *body_len = (size_t)len;
    *p += len;
    return 0;
}

int lanes_wire_oneof(const uint8_t *msg, size_t len, uint32_t *field, const uint8_t **body, size_t *body_len)
{
    const uint8_t *p = msg, *end = msg + len;
    if (!msg || lanes_wire_next_field(&p, end, field, body, body_len) != 0)
        return -1;
    return p == end ? 0 : -1;
}

int lanes_wire_chunk_arrays(const uint8_t *body, size_t len, const uint8_t **arrays, size_t *lens, int max)
{
    const uint8_t *p = body, *end = body + len;
    int n = 0;
    for (;;) {
        uint32_t field;
        const uint8_t *b;
        size_t bl;
        int rc = lanes_wire_next_field(&p, end, &field, &b, &bl);
        if (rc == 1)
            return n;
        if (rc != 0 || field != 1)
            return -1;
        if (n < max) {
            arrays[n] = b;
            lens[n] = bl;
        }
        n++;
    }
}

size_t lanes_wire_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

uint8_t *lanes_wire_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

size_t lanes_wire_chunk_header_size(uint32_t outer_field, size_t payload_len)
{
    size_t inner = 1 + lanes_wire_varint_size(payload_len) + payload_len;
    return lanes_wire_varint_size((uint64_t)outer_field << 3 | 2) + lanes_wire_varint_size(inner) + 1 + lanes_wire_varint_size(payload_len);
}

size_t lanes_wire_chunk_header(uint8_t *out, uint32_t outer_field, size_t payload_len)
{
    size_t inner = 1 + lanes_wire_varint_size(payload_len) + payload_len;
    uint8_t *p = lanes_wire_put_varint(out, (uint64_t)outer_field << 3 | 2);
    p = lanes_wire_put_varint(p, inner);
    *p++ = (1u << 3) | 2; /* Chunk.arrays */
    p = lanes_wire_put_varint(p, payload_len);
    return (size_t)(p - out);
}

uint8_t *lanes_wire_put_bytes(uint8_t *p, uint32_t field, const void *data, size_t len)
{
    p = lanes_wire_put_varint(p, (uint64_t)field << 3 | 2);
    p = lanes_wire_put_varint(p, len);
    if (len)
        memcpy(p, data, len);
    return p + len;
}

int lanes_wire_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len, lanes_error_t *err)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    *buf = malloc(n ? n : 1);
    if (!*buf)
        return lanes_error_set(err, LANES_ENOMEM, "out of memory packing a %zu-byte reply", n);
    *len = protobuf_c_message_pack(m, *buf);
    return 0;
}

size_t lanes_wire_word_counts_size(const lanes_word_entry_t *e, size_t from, size_t to)
{
    size_t words = 0, counts = 0;
    for (size_t i = from; i < to; i++) {
        words += 1 + lanes_wire_varint_size(e[i].len) + e[i].len;
        counts += lanes_wire_varint_size(e[i].count);
    }
    return words + 1 + lanes_wire_varint_size(counts) + counts;
}

uint8_t *lanes_wire_word_counts_put(uint8_t *p, const lanes_word_entry_t *e, size_t from, size_t to)
{
    size_t counts = 0;
    for (size_t i = from; i < to; i++)
        counts += lanes_wire_varint_size(e[i].count);
    for (size_t i = from; i < to; i++)
        p = lanes_wire_put_bytes(p, 1, e[i].word, e[i].len);
    p = lanes_wire_put_varint(p, 2u << 3 | 2);
    p = lanes_wire_put_varint(p, counts);
    for (size_t i = from; i < to; i++)
        p = lanes_wire_put_varint(p, e[i].count);
    return p;
}

/* Nested messages deeper than this are not walked (lanes.proto nests three levels at most). */
#define CHECK_MAX_DEPTH 16

/* Walks the fields in [p, end) of a message of type d; path[0 .. plen) names it. Returns 0 or -1 with
 * err set. Stops quietly (0) at anything malformed: the decoder that runs next reports it. */
static int check_strings(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *d, char *path,
                         size_t plen, size_t pcap, char *err, size_t cap, int depth)
{
    unsigned seen[64] = {0}; /* occurrences of each repeated field so far, by index in d->fields */
    while (p < end) {
        uint64_t key, v, len = 0;
        const uint8_t *body = NULL;
        if (read_varint(&p, end, &key) != 0)
            return 0;
        switch (key & 7) {
        case 0:
            if (read_varint(&p, end, &v) != 0)
                return 0;
            continue;
        case 1:
            if (end - p < 8)
                return 0;
            p += 8;
            continue;
        case 5:
            if (end - p < 4)
                return 0;
            p += 4;
            continue;
        case 2:
            if (read_varint(&p, end, &len) != 0 || len > (uint64_t)(end - p))
                return 0;
            body = p;
            p += len;
            break;
        default:
            return 0; /* groups (unused in proto3) or garbage */
        }
        uint64_t id = key >> 3;
        const ProtobufCFieldDescriptor *f =
            id > 0 && id <= 0x1fffffff ? protobuf_c_message_descriptor_get_field(d, (unsigned)id) : NULL;
        if (!f || (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE))
            continue; /* unknown fields are skipped by the decoder too; bytes may hold anything */
        size_t fi = (size_t)(f - d->fields);
        unsigned k = fi < 64 ? seen[fi]++ : 0;
        int n = f->label == PROTOBUF_C_LABEL_REPEATED ? snprintf(path + plen, pcap - plen, ".%s[%u]", f->name, k)
                                                      : snprintf(path + plen, pcap - plen, ".%s", f->name);
        size_t nlen = n < 0 || plen + (size_t)n >= pcap ? pcap - 1 : plen + (size_t)n;
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            const uint8_t *z = len ? memchr(body, 0, (size_t)len) : NULL;
            if (z) {
                snprintf(err, cap,
                         "%s holds a NUL byte (U+0000) at byte %zu of its %llu: a name or an expression cannot "
                         "contain one (it would be cut short there)",
                         path, (size_t)(z - body), (unsigned long long)len);
                return -1;
            }
        } else if (depth < CHECK_MAX_DEPTH && f->descriptor &&
                   check_strings(body, body + len, f->descriptor, path, nlen, pcap, err, cap, depth + 1) != 0) {
            return -1;
        }
        path[plen] = 0;
    }
    return 0;
}

int lanes_wire_check_strings(const uint8_t *msg, size_t len, const ProtobufCMessageDescriptor *d, char *err,
                             size_t cap)
{
    char path[256];
    if (!msg || !d)
        return 0;
    int n = snprintf(path, sizeof path, "%s", d->short_name);
    size_t plen = n < 0 ? 0 : (size_t)n < sizeof path ? (size_t)n : sizeof path - 1;
    return check_strings(msg, msg + len, d, path, plen, sizeof path, err, cap, 0);
}
