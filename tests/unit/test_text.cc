// Unit tests of the text kernels (lanes/text.h): the course's tokenizer, word count, word ACF.
#include <gtest/gtest.h>

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

}  // namespace
