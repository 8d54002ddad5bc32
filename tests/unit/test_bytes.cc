// Unit tests for kernels/base/bytes.c: the one byte-count parser of lanesd's config and the lanes CLI.
// Every spelling either of the two former parsers accepted is accepted here with the same value.
#include <gtest/gtest.h>

#include "lanes/bytes.h"
#include "lanes/error.h"

namespace {

double parsed(const char *s)
{
    double v = -12345;
    EXPECT_EQ(lanes_bytes_parse(s, &v), 0) << "'" << s << "'";
    return v;
}

TEST(Bytes, PlainNumbers)
{
    EXPECT_EQ(parsed("1048576"), 1048576.0);
    EXPECT_EQ(parsed("0"), 0.0);
    EXPECT_EQ(parsed("+997"), 997.0);
    EXPECT_EQ(parsed("-5"), -5.0); // the range is the caller's: lanesd says "below the minimum"
    EXPECT_EQ(parsed("1e6"), 1e6);
    EXPECT_EQ(parsed("4096 "), 4096.0);
}

TEST(Bytes, ConfigSpellings)
{
    EXPECT_EQ(parsed("1MiB"), 1048576.0);
    EXPECT_EQ(parsed("64KiB"), 65536.0);
    EXPECT_EQ(parsed("4160KiB"), 4160.0 * 1024);
    EXPECT_EQ(parsed("1M"), 1048576.0);
    EXPECT_EQ(parsed("2G"), 2.0 * 1024 * 1024 * 1024);
    EXPECT_EQ(parsed("1gib"), 1024.0 * 1024 * 1024);
    EXPECT_EQ(parsed("1.5K"), 1536.0);
    EXPECT_EQ(parsed("2 MiB"), 2.0 * 1024 * 1024);
    EXPECT_EQ(parsed("4096B"), 4096.0);
    EXPECT_EQ(parsed("4096b"), 4096.0);
    EXPECT_EQ(parsed("1kb"), 1024.0);
}

TEST(Bytes, CliSpellings)
{
    EXPECT_EQ(parsed("8K"), 8192.0);
    EXPECT_EQ(parsed("1k"), 1024.0);
    EXPECT_EQ(parsed("5M"), 5.0 * 1024 * 1024);
    EXPECT_EQ(parsed("1m"), 1048576.0);
    EXPECT_EQ(parsed("1Ki"), 1024.0);
    EXPECT_EQ(parsed("1KiB"), 1024.0);
    EXPECT_EQ(parsed("1KB"), 1024.0);
    EXPECT_EQ(parsed("100i"), 100.0);
    EXPECT_EQ(parsed("100iB"), 100.0);
}

TEST(Bytes, Rejected)
{
    double v = 7;
    for (const char *s : {"", "K", "abc", "2X", "1.5", "0.1K", "1KK", "1BB", "1Bi", "1KiBx", "inf", "nan",
                          "1e999", "1 2"}) {
        EXPECT_EQ(lanes_bytes_parse(s, &v), LANES_EINVAL) << "'" << s << "'";
        EXPECT_EQ(v, 7) << "'" << s << "' changed *out";
    }
    EXPECT_EQ(lanes_bytes_parse(nullptr, &v), LANES_EINVAL);
}

} // namespace
