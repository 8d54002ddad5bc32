// Unit tests of the text kernels (lanes/text.h): the course's tokenizer, word count, word ACF.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lanes/text.h"
extern "C" {
#include "../../kernels/cpu/text_internal.h"
}

namespace {

std::string ReadBook(const char *name)
{
    std::string path = std::string(LANES_SHARED_DATA) + "/gutenberg/" + name;
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

int Collect(void *ctx, const char *w, size_t len, size_t ncp)
{
    (void)ncp;
    static_cast<std::vector<std::string> *>(ctx)->emplace_back(w, len);
    return 0;
}

// Tokenizes text fed in chunks of 'chunk' bytes (0: all at once). Returns the error code.
int Tokenize(const std::string &text, std::vector<std::string> *out, size_t chunk = 0,
             lanes_error_t *err = nullptr)
{
    lanes_error_t e{};
    if (!err)
        err = &e;
    lanes_text__tokenizer_t tk;
    lanes_text__tokenizer_init(&tk, Collect, out);
    int rc = 0;
    if (chunk == 0)
        chunk = text.size() ? text.size() : 1;
    for (size_t i = 0; i < text.size() && rc == 0; i += chunk)
        rc = lanes_text__tokenizer_feed(&tk, text.data() + i, std::min(chunk, text.size() - i), err);
    if (rc == 0)
        rc = lanes_text__tokenizer_finish(&tk, err);
    lanes_text__tokenizer_free(&tk);
    return rc;
}

std::vector<std::string> Words(const std::string &text, size_t chunk = 0)
{
    std::vector<std::string> w;
    EXPECT_EQ(Tokenize(text, &w, chunk), 0);
    return w;
}

using V = std::vector<std::string>;

TEST(TextTokenize, DelimitersAndAscii)
{
    EXPECT_EQ(Words("Hello, World! It's 3.14."), (V{"hello", "world", "it", "s", "3", "14"}));
    EXPECT_EQ(Words(".,;:?$@^<>#%`!*-=()[]{}/\"'"), V{});
    EXPECT_EQ(Words("a&b  c\r\nd\te\x0b" "f\x0cg\x1ch\x1di\x1ej\x1fk"),
              (V{"a&b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}));
    EXPECT_EQ(Words(""), V{});
    EXPECT_EQ(Words("   \r\n"), V{});
    EXPECT_EQ(Words("x_y+z~1|2\\3"), V{"x_y+z~1|2\\3"});
}

TEST(TextTokenize, UnicodeWhitespace)
{
    const char *spaces[] = {"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x85",
                            "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
                            "\xe2\x81\x9f", "\xe3\x80\x80"};
    for (const char *s : spaces)
        EXPECT_EQ(Words(std::string("a") + s + "b"), (V{"a", "b"})) << s;
    // Not whitespace in Python: BOM, zero-width space, U+180E.
    EXPECT_EQ(Words("\xef\xbb\xbfThe end"), (V{"\xef\xbb\xbf" "the", "end"}));
    EXPECT_EQ(Words("a\xe2\x80\x8b" "b"), (V{"a\xe2\x80\x8b" "b"}));
    for (uint32_t c : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x1Cu, 0x1Du, 0x1Eu, 0x1Fu, 0x20u, 0x85u,
                       0xA0u, 0x1680u, 0x2000u, 0x2005u, 0x200Au, 0x2028u, 0x2029u, 0x202Fu, 0x205Fu,
                       0x3000u})
        EXPECT_TRUE(lanes_text__is_space(c)) << std::hex << c;
    for (uint32_t c : {0x41u, 0xFEFFu, 0x200Bu, 0x180Eu, 0x2060u, 0x1Bu})
        EXPECT_FALSE(lanes_text__is_space(c)) << std::hex << c;
}

TEST(TextTokenize, LowerCase)
{
    EXPECT_EQ(Words("\xc3\x86THER"), V{"\xc3\xa6ther"});                    // Æ → æ
    EXPECT_EQ(Words("\xe2\x80\x9d" "Don\xe2\x80\x99t\xe2\x80\x9d"),
              V{"\xe2\x80\x9d" "don\xe2\x80\x99t\xe2\x80\x9d"});             // ” and ’ stay
    EXPECT_EQ(Words("\xc4\xb0stanbul"), V{"i\xcc\x87stanbul"});              // İ → i̇
    // ΟΔΟΣ → οδος (final sigma), ΣΑ → σα, Σ alone → σ, ΑΣΑ → ασα.
    EXPECT_EQ(Words("\xce\x9f\xce\x94\xce\x9f\xce\xa3"), V{"\xce\xbf\xce\xb4\xce\xbf\xcf\x82"});
    EXPECT_EQ(Words("\xce\xa3\xce\x91"), V{"\xcf\x83\xce\xb1"});
    EXPECT_EQ(Words("\xce\xa3"), V{"\xcf\x83"});
    EXPECT_EQ(Words("\xce\x91\xce\xa3\xce\x91"), V{"\xce\xb1\xcf\x83\xce\xb1"});
    // A delimiter ends the word, so the sigma before it is final.
    EXPECT_EQ(Words("\xce\x91\xce\xa3.\xce\x91"), (V{"\xce\xb1\xcf\x82", "\xce\xb1"}));
    // Case-ignorable ’ after the sigma is skipped: still final.
    EXPECT_EQ(Words("\xce\x91\xce\xa3\xe2\x80\x99"), V{"\xce\xb1\xcf\x82\xe2\x80\x99"});
}

TEST(TextTokenize, ChunkBoundariesAnywhere)
{
    std::string text = "\xef\xbb\xbfThe \xc3\x86ther, don\xe2\x80\x99t\r\n\xce\x9f\xce\x94\xce\x9f"
                       "\xce\xa3 \xf0\x9f\x98\x80smile\xc2\xa0" "3.14 end";
    V all = Words(text);
    EXPECT_EQ(all.size(), 8u);
    for (size_t chunk = 1; chunk <= text.size(); chunk++)
        EXPECT_EQ(Words(text, chunk), all) << "chunk " << chunk;
}

TEST(TextTokenize, InvalidUtf8)
{
    struct Case {
        std::string text;
        const char *msg;
    } cases[] = {
        {"abc \xff", "invalid UTF-8 at byte 4"},
        {"ab\x80", "invalid UTF-8 at byte 2"},
        {"a\xc0\xaf", "invalid UTF-8 at byte 1"},          // overlong
        {"a\xe0\x80\xaf", "invalid UTF-8 at byte 1"},      // overlong
        {"aa\xed\xa0\x80", "invalid UTF-8 at byte 2"},     // surrogate
        {"a\xf4\x90\x80\x80", "invalid UTF-8 at byte 1"},  // > U+10FFFF
        {"abc\xe2\x80", "invalid UTF-8 at byte 3"},        // cut by the end
        {"abc\xe2(", "invalid UTF-8 at byte 3"},
    };
    for (const Case &c : cases) {
        for (size_t chunk : {size_t(0), size_t(1), size_t(2)}) {
            V w;
            lanes_error_t err{};
            EXPECT_EQ(Tokenize(c.text, &w, chunk, &err), LANES_EINVAL);
            EXPECT_NE(std::strstr(err.msg, c.msg), nullptr) << err.msg << " / " << c.msg;
        }
    }
}

TEST(TextTokenize, BookTokenCounts)
{
    struct {
        const char *name;
        size_t n;
    } books[] = {{"pg42.txt", 29312}, {"pg45.txt", 108590}, {"pg58.txt", 19230},
                 {"pg65.txt", 104682}, {"pg87.txt", 376183}, {"pg99.txt", 11423},
                 {"pg105.txt", 87358}};
    for (auto &b : books) {
        std::string text = ReadBook(b.name);
        ASSERT_FALSE(text.empty()) << b.name;
        V w = Words(text, 4093);
        EXPECT_EQ(w.size(), b.n) << b.name;
    }
    V w = Words(ReadBook("pg99.txt"));
    ASSERT_GE(w.size(), 2u);
    EXPECT_EQ(w[0], "\xef\xbb\xbf" "the");
    EXPECT_EQ(w[1], "project");
}

// ---- word count ----

struct Counted {
    std::vector<std::pair<std::string, uint64_t>> entries;
    std::vector<std::string> dat;
    uint64_t total = 0;
};

Counted Count(const std::string &text, size_t min_length = 1, size_t chunk = 0)
{
    Counted c;
    lanes_error_t err{};
    lanes_word_counter_t *wc = lanes_word_counter_new(min_length, &err);
    EXPECT_NE(wc, nullptr);
    if (chunk == 0)
        chunk = text.size() ? text.size() : 1;
    for (size_t i = 0; i < text.size(); i += chunk)
        EXPECT_EQ(lanes_word_counter_feed(wc, text.data() + i, std::min(chunk, text.size() - i), &err),
                  0) << err.msg;
    const lanes_word_entry_t *e = nullptr;
    size_t n = 0;
    EXPECT_EQ(lanes_word_counter_finish(wc, &e, &n, &c.total, &err), 0) << err.msg;
    for (size_t i = 0; i < n; i++) {
        EXPECT_EQ(std::strlen(e[i].word), e[i].len);
        c.entries.emplace_back(std::string(e[i].word, e[i].len), e[i].count);
        char buf[256];
        int len = lanes_word_dat_line(&e[i], c.total, buf, sizeof buf);
        EXPECT_GT(len, 0);
        c.dat.emplace_back(buf);
    }
    lanes_word_counter_free(wc);
    return c;
}

TEST(TextCount, SmallTextOrderAndTies)
{
    Counted c = Count("b a b c a d b; A's");
    using E = std::vector<std::pair<std::string, uint64_t>>;
    // Ties in order of first occurrence: b before a; then c, d, s.
    EXPECT_EQ(c.entries, (E{{"b", 3}, {"a", 3}, {"c", 1}, {"d", 1}, {"s", 1}}));
    EXPECT_EQ(c.total, 9u);
    EXPECT_EQ(c.dat[0], "b 3 33.33333333333333\n");
    Counted m = Count("aa b ccc dd \xc3\xa9\xc3\xa9 \xc4\xb0", 2);
    EXPECT_EQ(m.entries, (E{{"aa", 1}, {"ccc", 1}, {"dd", 1}, {"\xc3\xa9\xc3\xa9", 1},
                            {"i\xcc\x87", 1}}));
    EXPECT_EQ(m.total, 5u);
    EXPECT_EQ(m.dat[0], "aa 1 20.0\n");
    Counted e = Count("");
    EXPECT_TRUE(e.entries.empty());
    EXPECT_EQ(e.total, 0u);
}

// The table's rank order (a radix sort over the counts' bytes) against std::stable_sort: counts that
// straddle the 8-bit digits (255, 256, 257, 65535, 65536, 70000) and ties at each of them.
TEST(TextCount, RankOrderAcrossDigitBoundaries)
{
    const uint64_t wanted[] = {1, 256, 255, 65536, 257, 256, 70000, 65535, 1, 255, 70000, 65536, 3};
    lanes_text__table_t t;
    lanes_text__table_init(&t);
    std::vector<std::pair<std::string, uint64_t>> ref;
    for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++)
        ref.emplace_back("w" + std::to_string(w), wanted[w]);
    // Interleave the occurrences so that first occurrence is the word's number.
    for (uint64_t round = 0; round < 70000; round++) {
        for (const auto &e : ref) {
            if (round < e.second) {
                ASSERT_EQ(lanes_text__table_add(&t, e.first.data(), e.first.size()), 0);
            }
        }
    }
    ASSERT_EQ(lanes_text__table_sort(&t), 0);
    std::stable_sort(ref.begin(), ref.end(), [](const auto &a, const auto &b) { return a.second > b.second; });
    ASSERT_EQ(t.n, ref.size());
    for (size_t r = 0; r < t.n; r++) {
        EXPECT_EQ(std::string(t.entries[r].word, t.entries[r].len), ref[r].first) << "rank " << r;
        EXPECT_EQ(t.entries[r].count, ref[r].second) << "rank " << r;
    }
    lanes_text__table_free(&t);
}

TEST(TextCount, ChunkingDoesNotMatter)
{
    std::string text = "\xef\xbb\xbfThe \xc3\x86ther, the don\xe2\x80\x99t\r\nTHE \xce\x9f\xce\xa3 "
                       "the\xc2\xa0" "end. end";
    Counted all = Count(text);
    for (size_t chunk = 1; chunk < text.size(); chunk++) {
        Counted c = Count(text, 1, chunk);
        EXPECT_EQ(c.entries, all.entries);
        EXPECT_EQ(c.total, all.total);
    }
    EXPECT_EQ(all.entries[0], (std::pair<std::string, uint64_t>("the", 3)));
}

TEST(TextCount, InvalidUtf8AndMisuse)
{
    lanes_error_t err{};
    lanes_word_counter_t *wc = lanes_word_counter_new(1, &err);
    ASSERT_NE(wc, nullptr);
    std::string good(1234, 'a');
    EXPECT_EQ(lanes_word_counter_feed(wc, good.data(), good.size(), &err), 0);
    EXPECT_EQ(lanes_word_counter_feed(wc, "\xfe", 1, &err), LANES_EINVAL);
    EXPECT_STREQ(err.msg, "invalid UTF-8 at byte 1234 (the text must be UTF-8)");
    EXPECT_EQ(lanes_word_counter_feed(wc, "a", 1, &err), LANES_EINVAL);
    EXPECT_EQ(lanes_word_counter_finish(wc, nullptr, nullptr, nullptr, &err), LANES_EINVAL);
    lanes_word_counter_free(wc);

    // Latin-1 text: a clear error, not garbage words.
    wc = lanes_word_counter_new(1, &err);
    EXPECT_EQ(lanes_word_counter_feed(wc, "caf\xe9 au lait", 12, &err), LANES_EINVAL);
    EXPECT_STREQ(err.msg, "invalid UTF-8 at byte 3 (the text must be UTF-8)");
    lanes_word_counter_free(wc);

    wc = lanes_word_counter_new(1, &err);
    EXPECT_EQ(lanes_word_counter_feed(wc, "ab\xe2\x80", 4, &err), 0);
    EXPECT_EQ(lanes_word_counter_finish(wc, nullptr, nullptr, nullptr, &err), LANES_EINVAL);
    EXPECT_STREQ(err.msg, "invalid UTF-8 at byte 2 (the text must be UTF-8)");
    lanes_word_counter_free(wc);
    lanes_word_counter_free(nullptr);
}

TEST(TextCount, PinnedBooks)
{
    Counted c = Count(ReadBook("pg99.txt"), 1, 1000);
    EXPECT_EQ(c.total, 11423u);
    EXPECT_EQ(c.entries.size(), 2511u);
    ASSERT_GE(c.dat.size(), 4u);
    EXPECT_EQ(c.dat[0], "the 712 6.233038606320581\n");
    EXPECT_EQ(c.dat[1], "of 416 3.6417753654906764\n");
    EXPECT_EQ(c.dat[2], "and 366 3.204061980215355\n");
    EXPECT_EQ(c.dat[3], "to 326 2.8538912719950975\n");

    Counted m = Count(ReadBook("pg99.txt"), 5);
    EXPECT_EQ(m.total, 4610u);
    EXPECT_EQ(m.entries.size(), 2031u);
    EXPECT_EQ(m.dat[0], "gutenberg 94 2.0390455531453364\n");
    EXPECT_EQ(m.dat[1], "project 88 1.9088937093275489\n");

    Counted p58 = Count(ReadBook("pg58.txt"));
    EXPECT_EQ(p58.total, 19230u);
    EXPECT_EQ(p58.dat[0], "the 762 3.962558502340094\n");
    EXPECT_EQ(p58.dat[1], "and 762 3.962558502340094\n");

    Counted p45 = Count(ReadBook("pg45.txt"));
    EXPECT_EQ(p45.total, 108590u);
    EXPECT_EQ(p45.entries.size(), 8399u);
    EXPECT_EQ(p45.dat[0], "the 4082 3.7590938392117135\n");
    EXPECT_EQ(p45.entries[15], (std::pair<std::string, uint64_t>("with", 837)));
    EXPECT_EQ(p45.entries[16], (std::pair<std::string, uint64_t>("be", 837)));

    struct {
        const char *name;
        uint64_t n;
    } books[] = {{"pg42.txt", 29312}, {"pg65.txt", 104682}, {"pg87.txt", 376183},
                 {"pg105.txt", 87358}};
    for (auto &b : books)
        EXPECT_EQ(Count(ReadBook(b.name), 1, 65536).total, b.n) << b.name;
}

struct ReprCase {
    double v;
    const char *repr;
};

// Python 3's repr() of each value (generated with CPython; the values are written exactly in hex).
const ReprCase kReprCases[] = {
{0x1.999999999999ap-4, "0.1"},
{0x1.5555555555555p-2, "0.3333333333333333"},
{0x1.9000000000000p+6, "100.0"},
{0x1.1c37937e08000p+53, "1e+16"},
{0x1.f75104d551d69p-17, "1.5e-05"},
{0x1.8eea1ac2368c5p+2, "6.233038606320581"},
{0x1.9000000000000p+5, "50.0"},
{0x1.4f8b588e368f1p-17, "1e-05"},
{0x1.aa535d3d0c000p+53, "1.5e+16"},
{0x1.a36e2eb1c432dp-14, "0.0001"},
{0x1.02e4b6ce5dc68p-13, "0.00012345"},
{0x1.c12218377de66p+46, "123456789012345.6"},
{0x1.18b54f22aeb03p+50, "1234567890123456.8"},
{0x1.1c37937e07fffp+53, "9999999999999998.0"},
{0x0.0000000000001p-1022, "5e-324"},
{0x1.fffffffffffffp+1023, "1.7976931348623157e+308"},
{0x0.0000000000003p-1022, "1.5e-323"},
{0x1.3333333333333p-2, "0.3"},
{0x1.5555555555555p-1, "0.6666666666666666"},
{0x1.0f0cf064dd592p+73, "1e+22"},
{0x1.ad7f29abcaf48p-24, "1e-07"},
{0x1.9000000000000p+3, "12.5"},
{-0x1.4000000000000p+1, "-2.5"},
{0x1.c6bf526340000p+49, "1000000000000000.0"},
{0x1.edd2f1a9fbe77p+6, "123.456"},
{0x1.921f9f01b866ep+1, "3.14159"},
{0x1.0000000000000p-1022, "2.2250738585072014e-308"},
{0x1.1666666666666p+2, "4.35"},
{0x1.01f31f46ed246p-13, "0.000123"},
{0x1.249ad2594c37dp+332, "1e+100"},
{0x1.0000000000000p-20, "9.5367431640625e-07"},
{0x1.0000000000000p+0, "1.0"},
{-0x1.0000000000000p-1, "-0.5"},
{0x1.ec00000000000p+6, "123.0"},
{0x1.a36e3171742f0p-14, "0.00010000001"},
{-0x1.74de452e6b438p+811, "-1.989032661366619e+244"},
{0x1.3270e269e0d37p+594, "7.761117632285041e+178"},
{0x1.c7fd0a6a3a450p-826, "3.980498358697587e-249"},
{-0x1.f0824128b2f33p+292, "-1.5432835417340557e+88"},
{0x1.8e811892f902bp-638, "1.3647584518757569e-192"},
{-0x1.1985d5d9dc9f8p-684, "-1.3701135617873088e-206"},
{-0x1.25d940ed90475p+655, "-1.7160537630466207e+197"},
{0x1.675cc81e74ef5p-144, "6.294675241195386e-44"},
{0x1.0a35a099950d8p-671, "1.0613447212142254e-202"},
{0x1.d549b6f03675ap+689, "4.708325160387546e+207"},
{0x1.c172411e20b8fp-38, "6.387016158513563e-12"},
{-0x1.16ece1738f7d9p-814, "-9.973130378568733e-246"},
{0x1.1ddb66cad4a26p-781, "8.779753225680271e-236"},
{-0x1.192cfd3ac94afp-755, "-5.795503248498993e-228"},
{-0x1.c105d1fb17c23p+809, "-5.988180159386011e+243"},
{-0x1.0b33839263059p-488, "-1.306052388527796e-147"},
{-0x1.f48f1a09f76b5p-684, "-2.436117699484841e-206"},
{0x1.630f1f29d0da9p-770, "2.233386999150174e-232"},
{-0x1.60af593bd04cfp-673, "-3.51527970626667e-203"},
{0x1.1e29c658cda14p-820, "1.5987381841032883e-247"},
{0x1.8d190f9ebdaccp-118, "4.6678633181812096e-36"},
{-0x1.1973e0becd7b0p-791, "-8.441872792105456e-239"},
{0x1.7beaddbc496cbp-478, "1.9015657400796622e-144"},
{0x1.cb2424a23d596p+693, "7.370437700706684e+208"},
{-0x1.a63ec24ede6a4p-857, "-1.7163996725272777e-258"},
{-0x1.766581e27a1c0p-733, "-3.2367190832119987e-221"},
{-0x1.d05584ef8aa38p-777, "-2.2818334634712625e-234"},
{-0x1.7ba94d0eda82fp-278, "-3.0536383926309363e-84"},
{0x1.1dbe22e44158bp-601, "1.3449551894627777e-181"},
{-0x1.a736994e3bf91p-732, "-7.317495976062606e-221"},
{0x1.850c5a38fd547p-254, "5.249822308814304e-77"},
{0x1.135d25f557203p-624, "1.5450754142984396e-188"},
{-0x1.ce4228c38fb29p-155, "-3.953625698224792e-47"},
{-0x1.a70c31012f037p-760, "-2.72491267476498e-229"},
{-0x1.769b10f4205b4p-536, "-6.505141861548772e-162"},
{0x1.5052434b9b5dfp+1010, "1.441484839555994e+304"},
{-0x1.ed162ae2eb154p-894, "-1.4583679262758548e-269"},
{-0x1.877186d76b07ep+112, "-7.939416668807721e+33"},
{0x1.1af10506bf2efp+884, "1.4255183989699612e+266"},
{-0x1.6a78795e761d1p+711, "-1.525315701232403e+214"},
{0x1.0a9587403e430p+458, "7.750545741548908e+137"},
{0x1.8e2774cbd87adp-6, "0.024301399287089676"},
{0x1.5319acb5c7427p-287, "5.326960081783017e-87"},
{-0x1.2ea20b2f14c94p+123, "-1.2570882301712172e+37"},
{0x1.4733f3e7d1bfbp-688, "9.952684009002448e-208"},
{0x1.d2055930d6eafp+206, "1.8721667527122837e+62"},
{0x1.ff20686734721p+1004, "3.422978398947072e+302"},
{0x1.e05cde00902c7p+383, "3.6967297937384553e+115"},
{0x1.6cc3ababced20p+815, "3.113284956169447e+245"},
{-0x1.4bcfc49b64a08p-577, "-2.6202582260546103e-174"},
{0x1.d4acefaecbd38p-724, "2.0745096302730225e-218"},
{-0x1.e07bc1e398f10p-975, "-5.877500503097409e-294"},
{0x1.af4d46b0a18e8p-348, "2.938345597354166e-105"},
{0x1.0f82ec1d3fcffp+378, "6.529598674765832e+113"},
{-0x1.acbe226e87555p+751, "-1.9837344250050814e+226"},
{0x1.46c697d2caf82p+704, "1.0743030475716402e+212"},
{-0x1.6e1f40a097c97p+869, "-5.629271400715247e+261"},
{0x1.eef86ab1031d0p-706, "5.743310614918485e-213"},
{-0x1.e0d7ac3baea9ep-786, "-4.61515470702556e-237"},
{-0x1.2135e92b1d3f2p+161, "-3.302201168194502e+48"},
{-0x1.f9acae01f5057p+280, "-3.8373366379117136e+84"},
{0x1.242425051c1ccp+370, "2.7444240984593666e+111"},
{0x1.54a7bb1fee08fp+411, "7.037254769664525e+123"},
{0x1.6144b98289fcdp+1011, "3.0282415270685036e+304"},
{-0x1.11cdd9474031bp+193, "-1.3427313830183207e+58"},
{0x1.a72d174c9df6ap-742, "7.145365052251808e-224"},
{0x1.5e837d70820fep-640, "3.0010119427191346e-193"},
{0x1.abd81f1d69ed6p+82, "8.08174890787967e+24"},
{-0x1.15945795e8229p-216, "-1.029599445714058e-65"},
{0x1.3d6b2aa05e11ap-757, "1.6356324386913733e-228"},
{-0x1.d420f0f88080bp-77, "-1.210084267904234e-23"},
{0x1.26dcbb394fb36p+245, "6.512205859834416e+73"},
{-0x1.448b3a5aa3c81p-704, "-1.5063173670565552e-212"},
{-0x1.58f33fe3b890bp-281, "-3.468068334360956e-85"},
{0x1.58370d269a9a5p+802, "3.5862982565236525e+241"},
{-0x1.4eb5248db40afp-136, "-1.500880737539812e-41"},
{-0x1.5128862c33a4fp+562, "-1.9881605394901064e+169"},
{0x1.5563dab2cd31ep+398, "8.608929980762736e+119"},
{-0x1.e583505c6af07p+781, "-2.412056419517317e+235"},
{0x1.fb2297631a992p+432, "2.1970596639628e+130"},
{-0x1.539382b0537e6p-569, "-6.864829614150003e-172"},
{0x1.2aa0a1df9fd78p+999, "6.249646571111859e+300"},
{0x1.c76fb0f17a300p-130, "1.3070380624806793e-39"},
{0x1.52399c4aaeac1p+154, "3.0170681842882087e+46"},
{-0x1.561e6211c70cfp-47, "-9.495701001087435e-15"},
{0x1.c9f503f63af83p+606, "4.750750204750985e+182"},
{-0x1.477d26415479cp+684, "-1.0267710304426359e+206"},
{0x1.b103cdf1582b0p+1010, "1.8559166032057722e+304"},
{0x1.6fb1a14a0f9e7p-342, "1.6032007377980954e-103"},
{0x1.2287672fdf202p+622, "1.9751801151887592e+187"},
{0x1.0771f8ca81811p+115, "4.274642804177215e+34"},
{0x1.d977ee2257159p-463, "7.765387138513795e-140"},
{0x1.6aab0d1bc52d9p+740, "8.193439767873551e+222"},
{-0x1.b305fdd2e1609p-818, "-9.721565446084252e-247"},
{-0x1.66a3a47469a4dp-178, "-3.6566096214330605e-54"},
{-0x1.91b4a6a50df4dp+969, "-7.829495745681799e+291"},
{-0x1.6f0245bd86d40p-275, "-2.361499160522349e-83"},
{0x1.499c9e25a7605p+535, "1.448139668433268e+161"},
{0x1.287fff52ddf5dp-78, "3.8321725482165366e-24"},
{0x1.e7c2a26a2c0bdp-684, "2.373829056313949e-206"},
{0x1.b7dbd2d1c9af0p-404, "4.1586747791282524e-122"},
{-0x1.48c893b618676p-374, "-3.337733639824717e-113"},
{0x1.6909e3bbbe9eap-974, "8.832790543982714e-294"},
{-0x1.28c2e7c26847fp+333, "-2.0284108606212458e+100"},
{0x1.e05cf96d0cc5fp-277, "7.7271785554382585e-84"},
{0x1.c9cbc43435cc5p+131, "4.868121678598285e+39"},
{0x1.b0c4e010c4759p-427, "4.877621251706118e-129"},
{-0x1.af4016b4013efp-882, "-5.224362650831876e-266"},
{-0x1.caaf75e8766edp-574, "-2.8977267740353203e-173"},
{0x1.088f590fbbd11p+282, "8.030506098092244e+84"},
{0x1.03626f3fe39c0p-509, "6.045556425707975e-154"},
{-0x1.4a8b2b0c4312dp+448, "-9.38484012349791e+134"},
{-0x1.1e07a83f73f16p+821, "-1.5624204901097633e+247"},
{-0x1.be1c29e1a8ef4p-389, "-1.3820816268679183e-117"},
{-0x1.28881ad1b72dbp-41, "-5.267460409693142e-13"},
{0x1.69a5d0dd27a65p+847, "1.3257208647146701e+255"},
{-0x1.88334e647cb8fp+496, "-3.1343387564175544e+149"},
{-0x1.ed0b6c7ac1491p+827, "-1.7236642596087033e+249"},
{-0x1.a2b7fdfe01893p-284, "-5.26215508230537e-86"},
{-0x1.c6ec8cc4169a3p-781, "-1.3972441246414233e-235"},
{0x1.7e4236472f1a3p+607, "7.930940904982885e+182"},
{0x1.50cad66237a04p+591, "1.0662269838816983e+178"},
{0x1.5145c1a81682cp+949, "6.269123622077618e+285"},
{0x1.36886a260cd0bp+617, "6.597432204635068e+185"},
{0x1.bc97d0fef7928p-243, "1.2286657182299287e-73"},
{-0x1.32d0d113db17dp+962, "-4.671898820796292e+289"},
{0x1.cec313571810ap+781, "2.2990284766219708e+235"},
{0x1.442f9298cb3a5p-573, "4.0960622500000236e-173"},
{-0x1.94309570dc195p-611, "-1.8578815093690756e-184"},
{0x1.58ca00d75985dp-604, "2.028598735161868e-182"},
{-0x1.8bb16000f49c8p-750, "-2.6098858497543247e-226"},
{-0x1.fd7b326b94c7fp-874, "-1.5800543282391385e-263"},
{-0x1.e4e4519f9919cp+815, "-4.138580468110595e+245"},
{-0x1.de2a05d158a2fp-558, "-1.979700384530873e-168"},
{0x1.0339d068739fap-735, "5.602624368784844e-222"},
{0x1.c631cdfd43f37p-172, "2.9637577225244357e-52"},
{0x1.0914a9d33a01cp+518, "8.885378326057658e+155"},
{-0x1.8aa872607679dp-473, "-6.321104805376388e-143"},
{-0x1.98d7c4093f6dep+842, "-4.683524268002167e+253"},
{-0x1.ef80f58ee8571p-605, "-1.4576712926495294e-182"},
{0x1.1fd925d39d0a8p+919, "4.982985442018492e+276"},
{0x1.7cec31f7296abp-551, "2.018688023533605e-166"},
{0x1.20724d953ee26p+976, "7.19616430630608e+293"},
{-0x1.29ba3fe3bfadap+934, "-1.6888652122551737e+281"},
{0x1.b2c68774b15d7p+944, "2.5254629938390568e+284"},
{0x1.58dbe7bdc968bp+254, "3.899603970996924e+76"},
{0x1.4e25a15fc899ep-433, "5.884498686465263e-131"},
{-0x1.aa1551a28f7b3p-1, "-0.8321939001977995"},
{-0x1.7a86557b6fb7ep-39, "-2.6895800563014877e-12"},
{0x1.6f7a243c71b9ap+937, "1.667616833822443e+282"},
{-0x1.aa1f6d42fddbbp-237, "-7.536779240929748e-72"},
{-0x1.e7fc229540a6ep-957, "-1.564806243429316e-288"},
{0x1.8f87605e999f3p-183, "1.2729722444358082e-55"},
{-0x1.7a50df373ca53p+828, "-2.6451545124100877e+249"},
{0x1.bcf35873be078p+458, "1.2936292141064353e+138"},
{-0x1.844e52587be6bp-245, "-2.6827804666270476e-74"},
{-0x1.575438b0d590bp+673, "-5.256027060419438e+202"},
{-0x1.5a82a06ec41adp+34, "-23253909947.064137"},
{0x1.f9b0687322e25p+197, "3.967827360139949e+59"},
{-0x1.636a2fa7f0eabp-438, "-1.9559485635143812e-132"},
{0x1.c77a2dd02de92p-651, "1.9041429903692674e-196"},
{-0x1.f40f6b239f3c7p+391, "-9.851688112218029e+117"},
{-0x1.5a81842d87208p-948, "-5.688985253318455e-286"},
{-0x1.3a1d45de00997p+649, "-2.866256113753001e+195"},
{0x1.ee76f2ac34446p+433, "4.284334760083779e+130"},
{0x1.8f227c59db916p-111, "6.0055116385069545e-34"},
{-0x1.4248c8857f9a4p-853, "-2.0961043337155302e-257"},
{-0x1.0c08bc7702420p-1012, "-2.3855829055394437e-305"},
{-0x1.ddbbd5464ecc2p-465, "-1.9588354272108557e-140"},
{-0x1.c865239194242p-560, "-4.7239295389576093e-169"},
{-0x1.488b1cfbf3360p+158, "-4.689128253227445e+47"},
{-0x1.16b02fc241d0bp+35, "-37404900882.056725"},
{0x1.51707da45e18ap-224, "4.8891889123485164e-68"},
{0x1.882a5ce5b2a92p-43, "1.7415645814351736e-13"},
{0x1.34036d17e4497p+618, "1.3087808816820187e+186"},
{-0x1.6c6fdbd685167p+219, "-1.1993653182754763e+66"},
{0x1.dd3313a0b9965p-205, "3.62502428300625e-62"},
{0x1.6f36a8483f8b8p+995, "4.8031302683796236e+299"},
{-0x1.313f55b06258ep-77, "-7.890460386087061e-24"},
{-0x1.6a926076b3e36p+982, "-5.789083059546687e+295"},
{-0x1.4eb860726e25cp+165, "-6.114926900127176e+49"},
{0x1.4b98d4787f93bp+911, "2.2423152312153185e+274"},
{0x1.2b70442594052p-230, "6.779048301501982e-70"},
{-0x1.a6429b1491e24p-593, "-5.088065966122347e-179"},
{0x1.2cb77f4de2c08p+387, "3.7027639610999215e+116"},
{-0x1.e2a1f727d8349p+240, "-3.331008319093603e+72"},
{-0x1.ee9e5efe09f07p-110, "-1.4884388187324959e-33"},
{0x1.a1ecffcf00fecp+408, "1.0791887901409966e+123"},
{-0x1.9d04af47aebddp+920, "-1.4299647765176006e+277"},
{0x1.e259b5d58c705p-694, "2.2924808400735589e-209"},
{0x1.6f88938703800p-605, "1.0812088444412107e-182"},
{0x1.729763a12917cp+902, "4.894534771866121e+271"},
{0x1.5f6ad325b55ddp+360, "3.223900221186047e+108"},
{0x1.f2ab53451d013p+953, "1.4830591812993337e+287"},
{-0x1.947249fc2d0a1p+964, "-2.4634109827844716e+290"},
{-0x1.a23cde67a9b75p-572, "-1.0568802049276326e-172"},
{0x1.d1034d726c86bp-1016, "2.5867201219109653e-306"},
{-0x1.147437abec539p+653, "-4.036175494637978e+196"},
{0x1.0d60ea72991b9p+386, "1.658446308654235e+116"},
{-0x1.45effccb573d9p-437, "-3.5874527890711494e-132"},
{0x1.8ac7d4d5ef9a2p+39, "847784864503.801"},
{0x1.2bc252e04e2bbp+10, "1199.0363083613763"},
{0x1.bcb00d72261a4p+52, "7823028840980900.0"},
{0x1.a200ca37ae713p-13, "0.0001993194034549053"},
{0x1.941fcccc9053bp+38, "433925075748.0817"},
{0x1.d8890d77dae50p+54, "3.325171998646099e+16"},
{0x1.ae4424a7d6813p+49, "946165345398018.4"},
{0x1.eecc51841e6bdp+11, "3958.384950694481"},
{0x1.8f159e5ec4312p-21, "7.433527108043208e-07"},
{0x1.7c00d4854a714p-11, "0.0007247986656342153"},
{0x1.553b16310549cp-27, "9.931123564171669e-09"},
{0x1.273759a619c4cp+17, "151150.70038148982"},
{0x1.52457dad3d819p-14, "8.065019820321962e-05"},
{0x1.c7a85b5b3339fp+35, "61157333721.60082"},
{0x1.1d4e7c027cc9cp+43, "9803059434470.305"},
{0x1.8933ceb707d86p-14, "9.374675106287562e-05"},
{0x1.cc3fd8e7298d0p-15, "5.4866004398677914e-05"},
{0x1.e681094eed312p+50, "2139667432191172.5"},
{0x1.c41b20d5ab876p+39, "970890177237.7644"},
{0x1.75e1eef949736p+46, "102772053529180.84"},
{0x1.6cb27b026ca25p+16, "93362.48050574267"},
{0x1.4345c37fddd8ep-7, "0.009865494211893002"},
{0x1.0eb6ecf09860ap-7, "0.00826155251815221"},
{0x1.258915c4f7052p-12, "0.0002799372562642999"},
{0x1.dfff1ecd09b7dp-6, "0.029296665267021894"},
{0x1.3178cf5752655p+6, "76.36797844353107"},
{0x1.9541eb0921a34p+14, "25936.479527021016"},
{0x1.6648b5b830cb5p-24, "8.341949964394694e-08"},
{0x1.c7022ee6bec0bp+9, "910.0170563155565"},
{0x1.054428fe61793p+43, "8977040012043.787"},
{0x1.bd0f4e9a22bbfp+25, "58334877.204185"},
{0x1.40e9f58913770p+25, "42062827.07090652"},
{0x1.b6c4c8c19285fp-17, "1.3076325902212382e-05"},
{0x1.67c040a3447a3p-28, "5.2350658558716635e-09"},
{0x1.f021ee4abd599p+52, "8728055986771353.0"},
{0x1.f752b883f842fp-30, "1.8310788727219873e-09"},
{0x1.457e8ca80e6cdp-14, "7.76038965576667e-05"},
{0x1.a4c4b1f4434b3p+20, "1723467.1221344888"},
{0x1.9f78c8733a7f0p-18, "6.1910123918349494e-06"},
{0x1.bd2e353e2cef7p+5, "55.647562490221326"},
{0x1.0449ec1e53a7bp+26, "68233136.4738559"},
{0x1.8aaa49d91f70ep+55, "5.554418748802469e+16"},
{0x1.724263a42643ep+29, "776490100.5186841"},
{0x1.29e9f66569c9ap-11, "0.0005682257002960378"},
{0x1.3ad1798588d0fp+51, "2769170704647815.5"},
{0x1.7dd145f8483fap+16, "97745.27331973604"},
{0x1.3f4e62583fc9ap+52, "5617293866564762.0"},
{0x1.dff8159a9bc37p-21, "8.940120779908301e-07"},
{0x1.4a3eebf7b7cdep+35, "44324839357.74388"},
{0x1.6a9ade04fab30p+36, "97336025167.6687"},
{0x1.74a5821b105f8p+45, "51216147243531.94"},
{0x1.a6f39a0774d26p+24, "27718554.02912631"},
{0x1.457dd980cf8abp+22, "5332854.375791709"},
{0x1.9ff3486068e32p-5, "0.05077518592886711"},
{0x1.65ffe2e17c445p-1, "0.6992178821802858"},
{0x1.2e60c016eaed7p-7, "0.009227842134201065"},
{0x1.60524a3ab0603p-14, "8.399997833932059e-05"},
{0x1.0465edd560706p+12, "4166.3705648200175"},
{0x1.dab87ea66fdd4p-22, "4.421180882750436e-07"},
{0x1.062b8b71ebfc0p+16, "67115.54470705893"},
{0x1.547ebf2fbd7c9p+39, "731207669726.7433"},
{0x1.9662711264205p-19, "3.0278007525157937e-06"},
{0x1.783d7ad595b85p-14, "8.970264328787669e-05"},
{0x1.b57daed0edd59p+39, "939504658550.9171"},
{0x1.14ee80e4e9eb9p-14, "6.60256515191371e-05"},
{0x1.a8a4fd096cd0fp-16, "2.531078374596896e-05"},
{0x1.8c4e6c7e591b7p-4, "0.0967544782666384"},
{0x1.f51701b46aecfp-18, "7.466820921935449e-06"},
{0x1.e62745fa35b0cp+21, "3982568.747172719"},
{0x1.7b097bc1c59bbp+40, "1627951710661.6082"},
{0x1.b470d50c9cfabp-11, "0.0008324446694829476"},
{0x1.0d70e8cf2549ap+26, "70632355.23665085"},
{0x1.3b79f341d5e75p+15, "40380.97511166047"},
{0x1.393103e752ad5p+4, "19.574466613393117"},
{0x1.70c6aec9134e8p+6, "92.19402612858141"},
{0x1.2949300d69a35p+24, "19482928.052393157"},
{0x1.4dba1693d8f24p+45, "45867076844318.28"},
{0x1.cee611cde70dcp+0, "1.8081980827037603"},
{0x1.4b285cf1ea06cp+2, "5.174338566059401"},
{0x1.1304cad2d9e54p-21, "5.122622844634555e-07"},
{0x1.40bd26b5cc3cep+53, "1.1284995812984732e+16"},
{0x1.32c28194322d9p-19, "2.285538537181612e-06"},
{0x1.5850a087f80a0p-4, "0.0840612669703682"},
{0x1.680d6ff8a6448p+48, "395881899140676.5"},
{0x1.9cccd17bddb7ap+50, "1815513914111710.5"},
{0x1.94dc728bb9ba0p+13, "12955.55593056773"},
{0x1.ee86739d983cep+42, "8495878272608.951"},
{0x1.a351367c8b4a2p-1, "0.8189789797812816"},
{0x1.83245b3ea6551p+28, "405947827.91560847"},
{0x1.11ef38868f114p+33, "9191715085.117714"},
{0x1.8bb08be60aafcp+5, "49.46120433540452"},
{0x1.3363ca4bcf41fp-27, "8.94622078468077e-09"},
{0x1.a336d31ec4285p-11, "0.0007995875529066143"},
{0x1.c8ae4209c48b8p-22, "4.253170407957226e-07"},
{0x1.719b049e19d11p-29, "2.689234237249919e-09"},
{0x1.c2cbdfb8db2b2p+55, "6.344395062965595e+16"},
{0x1.8440a80edbac0p+34, "26055188539.432373"},
{0x1.cbaf2aef6b4b2p-21, "8.562286363721489e-07"},
{0x1.62f0ab9d488bap-19, "2.644509960917754e-06"},
{0x1.6b04d12d27960p+5, "45.37735209729249"},
{0x1.846696cba54d2p+16, "99430.5890448869"},
{0x1.da74657a9659ep-1, "0.9266692840712272"},
{0x1.0b0504885f0dbp-24, "6.217034543247877e-08"},
{0x1.afa6171574e12p-5, "0.05269150265271717"},
{0x1.ebd9210d5127ap-11, "0.0009381259166408439"},
{0x1.129dfb6af4931p-12, "0.0002618952918826022"},
{0x1.02436b7528d50p+1, "2.0176824876850006"},
{0x1.dfa352da35cbbp+25, "62867109.70476671"},
{0x1.e61431b0783fcp+2, "7.5949825499856125"},
{0x1.036c84f59f029p+42, "4456868730492.04"},
{0x1.63ccbd9fa16e4p+7, "177.89988421292867"},
{0x1.9b7bce8129959p-1, "0.8036789448422424"},
{0x1.96432dbc4499cp-32, "3.69493515442767e-10"},
{0x1.5d8f59fb7560ep+29, "733080383.4323137"},
{0x1.7518daaa438b9p+26, "97805162.66037263"},
{0x1.cfa228dd797c2p+18, "474760.6385177338"},
{0x1.799651f8972bdp+56, "1.0628134502709141e+17"},
{0x1.7a6957909f92fp+42, "6501059936894.296"},
{0x1.b7a653bd4cd69p+58, "4.950015734576154e+17"},
{0x1.5305a53a8549fp+26, "88872596.9143853"},
{0x1.936adaae1e9e7p-9, "0.003077830499987433"},
{0x1.88f9e94d7a72bp+6, "98.24405404147971"},
{0x1.210962cdc889cp+44, "19862448299144.61"},
{0x1.31b30c0236c2bp-14, "7.288441705403995e-05"},
{0x1.94b29d09ae049p+8, "404.6977087068413"},
{0x1.b40b0d45c20a2p+59, "9.81881931829367e+17"},
{0x1.16c8850d93372p-23, "1.2981858115088285e-07"},
{0x1.403ac2ef6aba8p-1, "0.6254483144051521"},
{0x1.7200e22436786p-25, "4.3074070783888184e-08"},
{0x1.2c268b4aa67a5p+56, "8.44848727079307e+16"},
{0x1.2296f944e34d6p+25, "38088178.538186714"},
{0x1.ad25d05daca56p+2, "6.705432979086785"},
{0x1.b3ab2bb609c99p+45, "59877841355065.195"},
{0x1.1e309f866fabep+18, "293058.49258033547"},
{0x1.7b99d82854140p-3, "0.18535202858994104"},
{0x1.c8863f0076b58p-2, "0.44582460823374026"},
{0x1.235026202dbc3p+5, "36.41413521899769"},
{0x1.cfc864af922dcp+29, "972622997.9463763"},
{0x1.15e9db14cc44bp-25, "3.23533894452799e-08"},
{0x1.35036bfb4ba8bp+3, "9.656667700587851"},
{0x1.c8e5d767b7619p-13, "0.0002178658571584814"},
{0x1.560d83254fadap+3, "10.68914944922783"},
{0x1.579da0f3047d0p-4, "0.08389056082549406"},
{0x1.497dcda661883p-8, "0.005027640063763997"},
{0x1.1a25b5d564be0p+51, "2481793947870704.0"},
{0x1.447022e841d00p-8, "0.004950531503943312"},
{0x1.56b176301f8e2p-14, "8.170442811381324e-05"},
{0x1.572d6f78759a1p-25, "3.995111702889258e-08"},
{0x1.f84aebc3995c2p+1, "3.9397864060472054"},
{0x1.f2796ae75b3c7p-6, "0.030424456022433845"},
{0x1.01d21e4a0b1dcp+23, "8448271.14461606"},
{0x1.65e0c0aa6c049p-14, "8.532474990974414e-05"},
{0x1.de6d0da85e1a3p+45, "65754367331267.27"},
{0x1.2413fc8f40159p+36, "78404110580.00526"},
{0x1.379cf9286e5edp+5, "38.951647106044994"},
{0x1.b7ddd2dad83d7p+22, "7206772.713715515"},
{0x1.0fdf33cfb49a0p+47, "149463149042253.0"},
{0x1.03812d300f294p-14, "6.187071699143904e-05"},
{0x1.372207811b2e8p+55, "4.378806669158586e+16"},
{0x1.10c14afee66fep+26, "71501099.98281476"},
{0x1.1d471236a7cb4p+49, "627332124331926.5"},
{0x1.0b6e3c4106601p+26, "70105329.01601411"},
{0x1.a9221200fbb71p+23, "13930761.001920434"},
{0x1.c0be6961595ccp+32, "7528671585.3490715"},
{0x1.28a121baa4b27p+56, "8.349375934370264e+16"},
{0x1.2b824507cb536p+37, "160797597945.4157"},
{0x1.a8f5ef63937f0p+45, "58406151680623.875"},
{0x1.f0df2cbbf9109p+45, "68289536950050.07"},
{0x1.592619ea0af31p-21, "6.428897994007223e-07"},
{0x1.a23ac0c94e114p-19, "3.1160526289508498e-06"},
{0x1.ab905c8622057p-18, "6.3711987704565724e-06"},
{0x1.6fca90f3d5699p+18, "376618.26488242444"},
{0x1.0415a2e13fde9p+39, "558527246495.9347"},
{0x1.1f7c63405aa2ep+24, "18840675.251383"},
{0x1.9f71c70b114e6p+22, "6806641.760808205"},
{0x1.019c39447d928p+18, "263792.8948053294"},
{0x1.6ac0379d5c625p+49, "797697552070852.6"},
{0x1.bca72251d1f0ap+29, "932504650.2275097"},
{0x1.1895a19023b6fp+23, "9194192.78152248"},
{0x1.e0946028c63f8p+45, "66050356222151.94"},
{0x1.50b25870140c9p+55, "4.738584254100436e+16"},
{0x1.30f27bb1386d0p-4, "0.07444999997417345"},
{0x1.0aeb9bfc0cb7dp+51, "2347856218318270.5"},
{0x1.7549db9b58cd0p+47, "205217527082086.5"},
{0x1.3d5988f5c6dc5p+19, "649932.2800020507"},
{0x1.34b7cdfb4e9ffp+12, "4939.4877884932785"},
{0x1.65590edf7e345p+39, "767398735807.1022"},
{0x1.ed9c4e4db4df7p-26, "2.873191667122401e-08"},
{0x1.1f4d08ba447fep+39, "616974015778.2498"},
{0x1.2779ae07d1bb4p+34, "19829012511.277054"},
{0x1.2ded3254ef124p-3, "0.14742507287690743"},
{0x1.da0dbb59e50a8p+45, "65153436171425.31"},
{0x1.6ae4bce72f454p+31, "3044171379.592325"},
{0x1.45c8a1652f281p+20, "1334410.087203175"},
{0x1.f0ef5df1750b0p-5, "0.06066101406364177"},
{0x1.4651e34635f3bp-17, "9.72509009182465e-06"},
{0x1.92e7a0d9e21ebp+42, "6921851725704.4795"},
{0x1.643dc59f3248fp+45, "48961431004745.12"},
{0x1.f86dec6b393c4p+18, "516535.6940444077"},
{0x1.08d5066715d62p+52, "4658976082976098.0"},
{0x1.a85567efc0b75p+3, "13.26042553736418"},
{0x1.139254bfb5bccp+8, "275.5716056650824"},
{0x1.6b06e5573aa68p+8, "363.026936961955"},
{0x1.8becd60a66d5cp+7, "197.96257050042448"},
{0x1.82dbdb3aa81cep+2, "6.044668967515873"},
{0x1.2c1ea6c34b52ap+9, "600.2394641988551"},
{0x1.43aca20b4e6e5p+7, "161.83717379887017"},
{0x1.4e972638c1a46p+7, "167.29521348346515"},
{0x1.70b630c2d95b9p+7, "184.3558407678918"},
{0x1.83b7fa88578afp+6, "96.92966664346999"},
{0x1.b99eccd0f3dfep+8, "441.6203127475163"},
{0x1.9a9e61c6da543p+3, "12.831833732971637"},
{0x1.fdae98e7a261cp+5, "63.71025258030224"},
{0x1.1d43b5d097e28p+7, "142.63224651197493"},
{0x1.b7ac73b4132dcp+4, "27.479602530877727"},
{0x1.0f254e692901cp+8, "271.1457277035822"},
{0x1.263f35b0d6066p+6, "73.56172825151734"},
{0x1.f0a60e79afa54p+6, "124.16216459402614"},
{0x1.f85f8f32ed75bp+4, "31.523329924522255"},
{0x1.005398d0e0e4ap+4, "16.0204094085041"},
{0x1.3ba7ced6e00f2p+7, "157.82774993405434"},
{0x1.bbb2d3410a020p+5, "55.46231699764053"},
{0x1.6872ec76e18b6p+7, "180.22446033004024"},
{0x1.8cb487b3caf43p+10, "1586.820782612035"},
{0x1.14e17cc52f41ap+12, "4430.092961487384"},
{0x1.8266a628ab26ap+7, "193.20048644150967"},
{0x1.2e6ab0fcabf7ep+7, "151.20838155364248"},
{0x1.0c88685a9031ap+7, "134.26642115602664"},
{0x1.0266d07883218p+9, "516.8032370224273"},
{0x1.e3fcbce02c163p+6, "120.99681425351223"},
{0x1.dbf75307d1166p+6, "118.99152767385166"},
{0x1.cc7b316caec03p+3, "14.390038215895407"},
{0x1.2948edc63d204p+14, "19026.232201533407"},
{0x1.59d87d91dbf0bp+5, "43.23070825531439"},
{0x1.42818945f0a81p+5, "40.31325010910678"},
{0x1.4bc48a3993a6dp+8, "331.7677341447332"},
{0x1.95d23ffca0710p+6, "101.45532221535927"},
{0x1.b73cb1b157ef9p+4, "27.45231789851002"},
{0x1.4cdcb3ee8de3bp+0, "1.3002426583679056"},
{0x1.fe934f5cde07ap+7, "255.2877148648293"},
{0x1.101be23229c48p+6, "68.02723005657128"},
{0x1.089b91b468ad9p+4, "16.537980751726398"},
{0x1.66c7d967398e6p+5, "44.847582632488226"},
{0x1.819553b27d43cp+9, "771.1666167365688"},
{0x1.37d3468df1d8ep+5, "38.97816191572484"},
{0x1.c52be8e0a6346p+5, "56.646440272400056"},
{0x1.01ae24ea5510dp+5, "32.21003134796238"},
{0x1.133132153e818p+4, "17.199510653481497"},
{0x1.8a176997b544fp+7, "197.04572748267898"},
{0x1.f85a44bfb2767p+6, "126.08815288092374"},
{0x1.67dc711f1f618p+5, "44.98263763727681"},
{0x1.3a229d94e335ap+9, "628.2704340085431"},
{0x1.774e93a844157p+6, "93.82673514285612"},
{0x1.5581399f8b6e5p+6, "85.37619637764472"},
{0x1.4c79c6a2b5f83p+7, "166.23784359427745"},
{0x1.9e2fdd3e2fb50p+7, "207.09348482448922"},
{0x1.6f1b07aca6a82p+7, "183.55279292616257"},
{0x1.7cfed5a117ca3p+11, "3047.963577791657"},
{0x1.aa6b81f22cabfp+6, "106.6049878921285"},
{0x1.3b6a2cb41878fp+7, "157.70737231062637"},
{0x1.a1380ecbb61e0p+6, "104.30474394129806"},
{0x1.53823a3d3a5bfp+7, "169.75435057961838"},
{0x1.0df9ed74cdecep+8, "269.9762795450923"},
{0x1.be82093c2c5b7p+9, "893.0159068314159"},
{0x1.533856ba33c7cp+2, "5.300313646162177"},
{0x1.647976f115202p+7, "178.2372355783737"},
{0x1.2548934c78635p+6, "73.3208743999938"},
{0x1.0f943292460cdp+9, "543.1577933160821"},
{0x1.287ecb162ce3cp+6, "74.12382158898339"},
{0x1.d789ad2661946p+5, "58.94222478852548"},
{0x1.57bd6b777defdp+2, "5.3709362666047555"},
{0x1.50f182d91df2cp+7, "168.47170141687945"},
{0x1.2a37ec9fe8d9ap+6, "74.55461358889298"},
{0x1.c743435b761bap+6, "113.81568663509725"},
{0x1.e7e74cf2c152dp+6, "121.9758794718261"},
{0x1.d1bca51b097fap+6, "116.43422357793307"},
{0x1.9027ca2f45160p+6, "100.03885721072356"},
{0x1.f5d7123c1a184p+7, "250.92006099527873"},
{0x1.ef61a8a722201p+5, "61.92268496106045"},
{0x1.3d55fb895a5d6p+6, "79.33396734823268"},
{0x1.5ac9ea395aed1p+6, "86.69718255631894"},
{0x1.5336dd68dac75p+7, "169.6071579711021"},
{0x1.1e3d80d5d5428p+6, "71.56006178011069"},
{0x1.8de1d353c5d36p+8, "397.8821308477376"},
{0x1.214c154e0acffp+5, "36.162150010781254"},
{0x1.ba0e28e23eaabp+5, "55.25691391710037"},
{0x1.46a40f1b9e187p+7, "163.3204277639854"},
{0x1.f44b02465147cp+7, "250.1465017294139"},
{0x1.8fdfac399ae12p+5, "49.98421521190552"},
{0x1.5eb3130379dc2p+5, "43.837438609272354"},
{0x1.a5175bb9b0497p+6, "105.27281084192724"},
{0x1.97bde0c308475p+4, "25.483856927723952"},
{0x1.3b4f929d9ae75p+6, "78.82770773179966"},
{0x1.9f6bb4e72bf52p+5, "51.927591138867356"},
{0x1.ec224f00a6f78p+5, "61.516752247901366"},
{0x1.c87d7c93a3006p+4, "28.53063638372989"},
{0x1.03b46b4999d4cp+6, "64.92619051934633"},
{0x1.febdc10bd7e04p+4, "31.92132668138767"},
{0x1.19ca461a7aa07p+8, "281.7901321935064"},
{0x1.1420a6803b219p+12, "4418.040649634343"},
};

TEST(TextFormat, PyFloatRepr)
{
    char buf[64];
    for (const ReprCase &c : kReprCases) {
        int n = lanes_py_float_repr(c.v, buf, sizeof buf);
        EXPECT_STREQ(buf, c.repr) << std::hexfloat << c.v;
        EXPECT_EQ(n, (int)std::strlen(c.repr));
    }
    lanes_py_float_repr(0.0, buf, sizeof buf);
    EXPECT_STREQ(buf, "0.0");
    lanes_py_float_repr(-0.0, buf, sizeof buf);
    EXPECT_STREQ(buf, "-0.0");
    lanes_py_float_repr(INFINITY, buf, sizeof buf);
    EXPECT_STREQ(buf, "inf");
    lanes_py_float_repr(-INFINITY, buf, sizeof buf);
    EXPECT_STREQ(buf, "-inf");
    lanes_py_float_repr(NAN, buf, sizeof buf);
    EXPECT_STREQ(buf, "nan");
    // Cut output, snprintf-style.
    char small[4];
    EXPECT_EQ(lanes_py_float_repr(6.233038606320581, small, sizeof small), 17);
    EXPECT_STREQ(small, "6.2");
}

// ---- word ACF ----

struct AcfRun {
    int rc = 0;
    std::vector<double> acf;
    std::vector<std::string> rows;
    std::vector<std::string> words;
    std::string msg;
};

AcfRun Acf(const std::string &text, lanes_word_acf_mode_t mode, size_t nwords = 16, size_t T = 100,
           size_t chunk1 = 0, size_t chunk2 = 0, const std::string *text2 = nullptr)
{
    AcfRun out;
    lanes_error_t err{};
    lanes_word_acf_t *a = lanes_word_acf_new(mode, nwords, T, 1, &err);
    EXPECT_NE(a, nullptr) << err.msg;
    auto feed = [&](const std::string &s, size_t chunk) {
        if (chunk == 0)
            chunk = s.size() ? s.size() : 1;
        for (size_t i = 0; i < s.size() && out.rc == 0; i += chunk)
            out.rc = lanes_word_acf_feed(a, s.data() + i, std::min(chunk, s.size() - i), &err);
    };
    feed(text, chunk1);
    if (out.rc == 0)
        out.rc = lanes_word_acf_next_pass(a, &err);
    if (out.rc == 0)
        feed(text2 ? *text2 : text, chunk2);
    const double *v = nullptr;
    size_t n = 0;
    if (out.rc == 0)
        out.rc = lanes_word_acf_finish(a, &v, &n, &err);
    if (out.rc == 0) {
        out.acf.assign(v, v + n);
        char buf[128];
        for (size_t t = 0; t < n; t++) {
            EXPECT_GT(lanes_word_acf_csv_row(a, t, buf, sizeof buf), 0);
            out.rows.emplace_back(buf);
        }
        EXPECT_EQ(lanes_word_acf_csv_row(a, n, buf, sizeof buf), LANES_EINVAL);
        size_t k = 0;
        const lanes_word_entry_t *w = lanes_word_acf_words(a, &k);
        for (size_t i = 0; i < k; i++)
            out.words.emplace_back(w[i].word, w[i].len);
    }
    out.msg = err.msg;
    lanes_word_acf_free(a);
    return out;
}

TEST(TextAcf, SmallTextBothModes)
{
    // Positions: a 0 2 4 5, b 1 3.
    std::string text = "a b a b a a";
    AcfRun e = Acf(text, LANES_WORD_ACF_EXACT, 2, 4);
    ASSERT_EQ(e.rc, 0) << e.msg;
    EXPECT_EQ(e.words, (std::vector<std::string>{"a", "b"}));
    // a: lag0 4/4, lag1 1/4 (4,5), lag2 2/4 (0,2 2,4), lag3 1/4 (2,5); b: 1, 0, 1/2, 0.
    EXPECT_EQ(e.acf, (std::vector<double>{1.0, (0.25 + 0.0) / 2, (0.5 + 0.5) / 2, (0.25 + 0.0) / 2}));
    EXPECT_EQ(e.rows[0], "0.000000000000000000e+00,1.000000000000000000e+00\n");
    AcfRun c = Acf(text, LANES_WORD_ACF_COURSE, 2, 4);
    ASSERT_EQ(c.rc, 0) << c.msg;
    // Course: a's pairs skip position 0: lag0 3/4, lag1 1/4, lag2 1/4, lag3 1/4.
    EXPECT_EQ(c.acf, (std::vector<double>{(0.75 + 1.0) / 2, (0.25 + 0.0) / 2, (0.25 + 0.5) / 2,
                                          (0.25 + 0.0) / 2}));
    EXPECT_EQ(c.rows[0], "1.000000000000000000e+00,8.750000000000000000e-01\n");
    EXPECT_EQ(c.rows[3], "4.000000000000000000e+00,1.250000000000000000e-01\n");
    // Fewer words than asked: the average is over the words there are.
    AcfRun one = Acf("x x", LANES_WORD_ACF_EXACT, 16, 3);
    EXPECT_EQ(one.acf, (std::vector<double>{1.0, 0.5, 0.0}));
}

TEST(TextAcf, ErrorsAndMisuse)
{
    lanes_error_t err{};
    EXPECT_EQ(lanes_word_acf_new(LANES_WORD_ACF_EXACT, 0, 100, 1, &err), nullptr);
    EXPECT_EQ(err.code, LANES_EINVAL);
    EXPECT_EQ(lanes_word_acf_new(LANES_WORD_ACF_EXACT, 16, 0, 1, &err), nullptr);
    EXPECT_EQ(Acf("  ... ", LANES_WORD_ACF_EXACT).rc, LANES_EEMPTY);
    std::string other = "a b c";
    AcfRun d = Acf("a b", LANES_WORD_ACF_EXACT, 16, 100, 0, 0, &other);
    EXPECT_EQ(d.rc, LANES_EINVAL);
    EXPECT_NE(d.msg.find("not the same text"), std::string::npos) << d.msg;
    std::string bad = "a \xff";
    AcfRun b = Acf(bad, LANES_WORD_ACF_COURSE);
    EXPECT_EQ(b.rc, LANES_EINVAL);
    EXPECT_EQ(b.msg, "invalid UTF-8 at byte 2 (the text must be UTF-8)");

    lanes_word_acf_t *a = lanes_word_acf_new(LANES_WORD_ACF_EXACT, 2, 2, 1, &err);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(lanes_word_acf_finish(a, nullptr, nullptr, &err), LANES_EINVAL);
    char buf[64];
    EXPECT_EQ(lanes_word_acf_csv_row(a, 0, buf, sizeof buf), LANES_EINVAL);
    EXPECT_EQ(lanes_word_acf_words(a, nullptr), nullptr);
    lanes_word_acf_free(a);
    lanes_word_acf_free(nullptr);
}

TEST(TextAcf, CoursePinnedPg99)
{
    std::string text = ReadBook("pg99.txt");
    AcfRun c = Acf(text, LANES_WORD_ACF_COURSE, 16, 100, 777, 4096);
    ASSERT_EQ(c.rc, 0) << c.msg;
    ASSERT_EQ(c.rows.size(), 100u);
    EXPECT_EQ(c.rows[0], "1.000000000000000000e+00,1.000000000000000000e+00\n");
    EXPECT_EQ(c.rows[1], "2.000000000000000000e+00,0.000000000000000000e+00\n");
    EXPECT_EQ(c.rows[2], "3.000000000000000000e+00,7.339029896867326451e-03\n");
    EXPECT_EQ(c.rows[3], "4.000000000000000000e+00,2.278769707613419876e-02\n");
    EXPECT_EQ(c.rows[50], "5.100000000000000000e+01,2.413108331233347614e-02\n");
    EXPECT_EQ(c.rows[99], "1.000000000000000000e+02,2.859623379265031559e-02\n");
    EXPECT_EQ(c.words.front(), "the");
    EXPECT_EQ(c.words.back(), "me");
    // Position 0 is "\ufeffthe", not a top word: exact mode gives the same values, labelled from 0.
    AcfRun e = Acf(text, LANES_WORD_ACF_EXACT);
    EXPECT_EQ(e.acf, c.acf);
    EXPECT_EQ(e.acf[0], 1.0);
    EXPECT_EQ(e.rows[2], "2.000000000000000000e+00,7.339029896867326451e-03\n");
}

TEST(TextAcf, Pg45TieAndPg65Modes)
{
    AcfRun c45 = Acf(ReadBook("pg45.txt"), LANES_WORD_ACF_COURSE);
    ASSERT_EQ(c45.rc, 0) << c45.msg;
    ASSERT_EQ(c45.words.size(), 16u);
    EXPECT_EQ(c45.words[15], "with");  // ties with "be" at 837; "with" occurs first
    EXPECT_EQ(c45.words[7], "\xe2\x80\x9d");
    EXPECT_EQ(c45.rows[1], "2.000000000000000000e+00,1.387474595901640618e-03\n");
    EXPECT_EQ(c45.rows[99], "1.000000000000000000e+02,1.921737103816002420e-02\n");

    // pg65 has no BOM: its first word "the" is a top word, so the modes differ.
    std::string text = ReadBook("pg65.txt");
    AcfRun c = Acf(text, LANES_WORD_ACF_COURSE, 16, 100, 0, 3);
    ASSERT_EQ(c.rc, 0) << c.msg;
    EXPECT_EQ(c.rows[0], "1.000000000000000000e+00,9.996639784946236285e-01\n");
    EXPECT_EQ(c.rows[2], "3.000000000000000000e+00,2.099656742050623817e-02\n");
    EXPECT_EQ(c.rows[99], "1.000000000000000000e+02,3.026825273200972263e-02\n");
    AcfRun e = Acf(text, LANES_WORD_ACF_EXACT, 16, 100, 5, 0);
    ASSERT_EQ(e.rc, 0) << e.msg;
    EXPECT_EQ(e.acf[0], 1.0);
    EXPECT_EQ(e.rows[1], "1.000000000000000000e+00,1.179245283018867880e-03\n");
    EXPECT_EQ(e.rows[99], "9.900000000000000000e+01,3.060427423738606642e-02\n");
}

}  // namespace

namespace {

// The word ACF's pass-1 table is the word counter's table of the same text and min_length (the
// process pool's worker sends it as the document's word count).
TEST(TextAcf, TableEqualsTheWordCount)
{
    std::string text = ReadBook("pg58.txt");
    for (size_t min_length : {0, 4}) {
        lanes_error_t err = {};
        lanes_word_counter_t *wc = lanes_word_counter_new(min_length, &err);
        ASSERT_NE(wc, nullptr);
        ASSERT_EQ(lanes_word_counter_feed(wc, text.data(), text.size(), &err), 0) << err.msg;
        const lanes_word_entry_t *want;
        size_t n_want = 0;
        uint64_t total = 0;
        ASSERT_EQ(lanes_word_counter_finish(wc, &want, &n_want, &total, &err), 0) << err.msg;

        lanes_word_acf_t *a = lanes_word_acf_new(LANES_WORD_ACF_EXACT, 16, 10, min_length, &err);
        ASSERT_NE(a, nullptr);
        size_t n = 99;
        EXPECT_EQ(lanes_word_acf_table(a, &n), nullptr);
        EXPECT_EQ(n, 0u);
        ASSERT_EQ(lanes_word_acf_feed(a, text.data(), text.size(), &err), 0) << err.msg;
        ASSERT_EQ(lanes_word_acf_next_pass(a, &err), 0) << err.msg;
        const lanes_word_entry_t *got = lanes_word_acf_table(a, &n);
        ASSERT_EQ(n, n_want);
        for (size_t i = 0; i < n; i++) {
            ASSERT_EQ(std::string(got[i].word, got[i].len), std::string(want[i].word, want[i].len)) << i;
            ASSERT_EQ(got[i].count, want[i].count) << i;
        }
        EXPECT_EQ(lanes_word_acf_total_words(a), total);
        lanes_word_acf_free(a);
        lanes_word_counter_free(wc);
    }
}

}  // namespace
