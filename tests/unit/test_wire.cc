// Unit tests for service/edge/wire.c, checked against protobuf-c's own encoding of the same messages.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "lanes/text.h"
#include "lanes/v1/lanes.pb-c.h"
#include "wire.h"

namespace {

std::vector<uint8_t> pack(const ProtobufCMessage *m)
{
    std::vector<uint8_t> out(protobuf_c_message_get_packed_size(m));
    protobuf_c_message_pack(m, out.data());
    return out;
}

TEST(Wire, ReadsChunkArraysInPlace)
{
    std::vector<uint8_t> a(1000, 7), b(300, 9);
    ProtobufCBinaryData arrays[2] = {{a.size(), a.data()}, {b.size(), b.data()}};
    Lanes__V1__Chunk chunk = LANES__V1__CHUNK__INIT;
    chunk.n_arrays = 2;
    chunk.arrays = arrays;
    Lanes__V1__MapRequest req = LANES__V1__MAP_REQUEST__INIT;
    req.msg_case = LANES__V1__MAP_REQUEST__MSG_CHUNK;
    req.chunk = &chunk;
    auto msg = pack((ProtobufCMessage *)&req);

    uint32_t field;
    const uint8_t *body;
    size_t blen;
    ASSERT_EQ(lanes_wire_oneof(msg.data(), msg.size(), &field, &body, &blen), 0);
    EXPECT_EQ(field, 2u);
    const uint8_t *arr[4];
    size_t lens[4];
    ASSERT_EQ(lanes_wire_chunk_arrays(body, blen, arr, lens, 4), 2);
    EXPECT_EQ(lens[0], 1000u);
    EXPECT_EQ(lens[1], 300u);
    EXPECT_EQ(memcmp(arr[0], a.data(), 1000), 0);
    EXPECT_EQ(memcmp(arr[1], b.data(), 300), 0);
    EXPECT_GE(arr[0], msg.data());
    EXPECT_LE(arr[1] + 300, msg.data() + msg.size());
}

TEST(Wire, HeaderMatchesProtobufC)
{
    for (size_t n : {0ul, 1ul, 127ul, 128ul, 16383ul, 16384ul, 1ul << 20, (4ul << 20) + 3}) {
        std::vector<uint8_t> payload(n, 0x5a);
        ProtobufCBinaryData arr = {n, payload.data()};
        Lanes__V1__Chunk chunk = LANES__V1__CHUNK__INIT;
        chunk.n_arrays = 1;
        chunk.arrays = &arr;
        Lanes__V1__MapResponse resp = LANES__V1__MAP_RESPONSE__INIT;
        resp.msg_case = LANES__V1__MAP_RESPONSE__MSG_CHUNK;
        resp.chunk = &chunk;
        auto ref = pack((ProtobufCMessage *)&resp);
        std::vector<uint8_t> ours(LANES_WIRE_CHUNK_HEADER_MAX + n);
        size_t h = lanes_wire_chunk_header(ours.data(), 1, n);
        EXPECT_EQ(h, lanes_wire_chunk_header_size(1, n));
        if (n)
            memcpy(ours.data() + h, payload.data(), n);
        ours.resize(h + n);
        EXPECT_EQ(ours, ref) << "payload " << n;
    }
}

TEST(Wire, WordCountsMatchProtobufC)
{
    // Words without U+0000 (protobuf-c's strings are C strings), so its encoding is the reference.
    const lanes_word_entry_t e[] = {{"the", 3, 300}, {"a", 1, 2}, {"caf\xc3\xa9", 5, 1}, {"x", 1, 128}};
    for (size_t from = 0; from <= 4; from++)
        for (size_t to = from; to <= 4; to++) {
            std::vector<char *> words;
            std::vector<uint64_t> counts;
            for (size_t i = from; i < to; i++) {
                words.push_back(const_cast<char *>(e[i].word));
                counts.push_back(e[i].count);
            }
            Lanes__V1__WordCounts wc = LANES__V1__WORD_COUNTS__INIT;
            wc.n_words = words.size();
            wc.words = words.data();
            wc.n_counts = counts.size();
            wc.counts = counts.data();
            auto want = pack((ProtobufCMessage *)&wc);
            // protobuf-c leaves an empty packed field out; ours writes its tag and a zero length.
            size_t size = lanes_wire_word_counts_size(e, from, to);
            std::vector<uint8_t> ours(size);
            EXPECT_EQ(lanes_wire_word_counts_put(ours.data(), e, from, to), ours.data() + size);
            if (from == to) {
                EXPECT_EQ(ours, (std::vector<uint8_t>{2u << 3 | 2, 0}));
                continue;
            }
            EXPECT_EQ(ours, want) << from << ".." << to;
        }
}

TEST(Wire, PackIsProtobufCsEncoding)
{
    Lanes__V1__WordCountDone done = LANES__V1__WORD_COUNT_DONE__INIT;
    done.total_words = 12345;
    done.distinct_words = 67;
    uint8_t *buf = nullptr;
    size_t len = 0;
    lanes_error_t err{};
    ASSERT_EQ(lanes_wire_pack((ProtobufCMessage *)&done, &buf, &len, &err), 0) << err.msg;
    EXPECT_EQ(std::vector<uint8_t>(buf, buf + len), pack((ProtobufCMessage *)&done));
    free(buf);
}

TEST(Wire, RejectsMalformedMessages)
{
    uint32_t field;
    const uint8_t *body;
    size_t blen;
    const uint8_t truncated[] = {0x12, 0x05, 0x0a, 0x01};       // length past the end
    const uint8_t varint_field[] = {0x08, 0x01};                 // wire type 0
    const uint8_t two_fields[] = {0x0a, 0x00, 0x12, 0x00};       // spec and chunk
    const uint8_t endless_varint[] = {0x12, 0xff, 0xff, 0xff};   // unterminated length
    EXPECT_EQ(lanes_wire_oneof(truncated, sizeof truncated, &field, &body, &blen), -1);
    EXPECT_EQ(lanes_wire_oneof(varint_field, sizeof varint_field, &field, &body, &blen), -1);
    EXPECT_EQ(lanes_wire_oneof(two_fields, sizeof two_fields, &field, &body, &blen), -1);
    EXPECT_EQ(lanes_wire_oneof(endless_varint, sizeof endless_varint, &field, &body, &blen), -1);
    EXPECT_EQ(lanes_wire_oneof(nullptr, 0, &field, &body, &blen), -1);
    const uint8_t *arr[2];
    size_t lens[2];
    const uint8_t wrong_field[] = {0x12, 0x00};
    EXPECT_EQ(lanes_wire_chunk_arrays(wrong_field, sizeof wrong_field, arr, lens, 2), -1);
    const uint8_t three[] = {0x0a, 0x00, 0x0a, 0x00, 0x0a, 0x00};
    EXPECT_EQ(lanes_wire_chunk_arrays(three, sizeof three, arr, lens, 2), 3);  // counted, 2 stored
}

}  // namespace
