/* Protobuf framing for bulk chunks (see wire.h): varints and length-delimited fields only. */
#include "wire.h"

#include <string.h>

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
