// Unit tests of the Philox random streams (kernels/cpu/random_cpu.c, API lanes/random.h).
//
// Design: the block function is checked against the Random123 library's published known-answer
// vectors (tests/kat_vectors of github.com/DEShawResearch/random123, the three "philox4x32 10" lines).
// The streams are then checked against their definition in random.h, recomputed here from
// lanes_philox4x32_10's words: the uniform bit for bit, the normal bit for bit too (the same libm
// log, sqrt and cos in the same order). The fills must equal the _at functions bit for bit for
// random starts and lengths, including starts that cross 2^32 (the counter's second word) and wrap
// at 2^64, and lengths that straddle the fill's internal block. Statistical sanity uses fixed seeds
// (deterministic, never flaky): mean and variance of 1e6 values within 5 standard errors, a 100-bin
// chi-square within 5 standard deviations of its 99 degrees of freedom, lag-1 and cross-seed
// correlations within 5 standard errors. Distinct seeds, including ones that differ only in the
// high 32 bits (the key's second word), must give different streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "lanes/random.h"

namespace {

constexpr size_t kStatN = 1000000;

uint64_t Bits(double v)
{
    uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

// The four Philox words of element k of stream seed, as random.h defines the counter and key.
void Words(uint64_t seed, uint64_t k, uint32_t w[4])
{
    const uint32_t ctr[4] = {static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32), 0, 0};
    const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    lanes_philox4x32_10(ctr, key, w);
}

double ExpectedUniform(uint64_t seed, uint64_t k)
{
    uint32_t w[4];
    Words(seed, k, w);
    const uint64_t x = static_cast<uint64_t>(w[0]) << 32 | w[1];
    return std::ldexp(static_cast<double>(x >> 11), -53);
}

double ExpectedNormal(uint64_t seed, uint64_t k)
{
    uint32_t w[4];
    Words(seed, k, w);
    const uint64_t x = static_cast<uint64_t>(w[0]) << 32 | w[1];
    const uint64_t y = static_cast<uint64_t>(w[2]) << 32 | w[3];
    const double u1 = std::ldexp(static_cast<double>((x >> 11) + 1), -53);
    const double u2 = std::ldexp(static_cast<double>(y >> 11), -53);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

struct Kat {
    uint32_t ctr[4];
    uint32_t key[2];
    uint32_t expected[4];
};

// Random123 tests/kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words), result.
const Kat kKats[] = {
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

TEST(Philox, KnownAnswerVectors)
{
    for (const Kat &kat : kKats) {
        uint32_t out[4] = {0, 0, 0, 0};
        lanes_philox4x32_10(kat.ctr, kat.key, out);
        for (int i = 0; i < 4; i++)
            EXPECT_EQ(out[i], kat.expected[i]) << std::hex << "ctr " << kat.ctr[0] << " word " << i;
    }
}

TEST(Philox, InputsAreNotModified)
{
    const uint32_t ctr[4] = {1, 2, 3, 4}, key[2] = {5, 6};
    uint32_t out[4];
    lanes_philox4x32_10(ctr, key, out);
    EXPECT_EQ(ctr[0], 1u);
    EXPECT_EQ(ctr[3], 4u);
    EXPECT_EQ(key[0], 5u);
    EXPECT_EQ(key[1], 6u);
}

// Elements worth checking one by one: the first, around 2^32 (counter word 1 starts counting) and
// the last before the counter wraps.
const uint64_t kEdgeIndices[] = {0, 1, 2, 255, 256, 0xffffffffull, 0x100000000ull, 0x100000005ull,
                                 0x123456789abcdefull, UINT64_MAX - 1, UINT64_MAX};
const uint64_t kSeeds[] = {0, 1, 42, 0xffffffffull, 0x100000000ull, 0xdeadbeefcafef00dull, UINT64_MAX};

TEST(Uniform, ExactConstructionFromPhiloxWords)
{
    for (uint64_t seed : kSeeds)
        for (uint64_t k : kEdgeIndices)
            EXPECT_EQ(Bits(lanes_uniform_at(seed, k)), Bits(ExpectedUniform(seed, k)))
                << "seed " << seed << " k " << k;
}

TEST(Uniform, CounterWordsAreLowThenHighHalfOfTheIndex)
{
    // Element 0x1_00000005 of seed 0x2_00000007 is Philox({5, 1, 0, 0}, {7, 2}).
    const uint32_t ctr[4] = {5, 1, 0, 0}, key[2] = {7, 2};
    uint32_t w[4];
    lanes_philox4x32_10(ctr, key, w);
    const uint64_t x = static_cast<uint64_t>(w[0]) << 32 | w[1];
    EXPECT_EQ(lanes_uniform_at(0x200000007ull, 0x100000005ull), static_cast<double>(x >> 11) * 0x1p-53);
}

TEST(Uniform, InHalfOpenUnitIntervalWith53Bits)
{
    std::vector<double> u(kStatN);
    lanes_uniform_fill(7, 0, u.size(), u.data());
    for (double v : u) {
        ASSERT_GE(v, 0.0);
        ASSERT_LT(v, 1.0);
        // A multiple of 2^-53: scaled back it is an integer below 2^53.
        const double s = std::ldexp(v, 53);
        ASSERT_EQ(s, std::floor(s));
    }
    // The largest value the construction can give is below 1.
    EXPECT_LT(static_cast<double>((UINT64_MAX >> 11)) * 0x1p-53, 1.0);
}

TEST(Normal, BoxMullerAsStated)
{
    for (uint64_t seed : kSeeds)
        for (uint64_t k : kEdgeIndices) {
            const double z = lanes_normal_at(seed, k);
            EXPECT_TRUE(std::isfinite(z));
            EXPECT_EQ(Bits(z), Bits(ExpectedNormal(seed, k))) << "seed " << seed << " k " << k;
        }
}

// Random starts (some near 2^32 and the 2^64 wrap) and lengths around the fill's block of 256.
std::vector<std::pair<uint64_t, size_t>> FillCases()
{
    std::vector<std::pair<uint64_t, size_t>> cases = {
        {0, 0}, {0, 1}, {0, 255}, {0, 256}, {0, 257}, {3, 1000},
        {0xffffffffull - 100, 300}, {UINT64_MAX - 10, 40}, {UINT64_MAX, 1}};
    std::mt19937_64 rng(12345);
    for (int i = 0; i < 40; i++) {
        uint64_t start = rng();
        if (i % 3 == 1)
            start = (rng() % 64) << 32 | (0xffffffffull - rng() % 512);
        cases.emplace_back(start, static_cast<size_t>(rng() % 3000));
    }
    return cases;
}

TEST(Fill, UniformEqualsAtBitForBit)
{
    for (uint64_t seed : {uint64_t{0}, uint64_t{99}, UINT64_MAX}) {
        for (const auto &[start, n] : FillCases()) {
            // One spare element on each side must be left alone.
            std::vector<double> buf(n + 2, -7.0);
            lanes_uniform_fill(seed, start, n, buf.data() + 1);
            ASSERT_EQ(buf[0], -7.0);
            ASSERT_EQ(buf[n + 1], -7.0);
            for (size_t j = 0; j < n; j++)
                ASSERT_EQ(Bits(buf[j + 1]), Bits(lanes_uniform_at(seed, start + j)))
                    << "seed " << seed << " start " << start << " j " << j;
        }
    }
}

TEST(Fill, NormalEqualsAtBitForBit)
{
    for (uint64_t seed : {uint64_t{0}, uint64_t{99}, UINT64_MAX}) {
        for (const auto &[start, n] : FillCases()) {
            std::vector<double> buf(n + 2, -7.0);
            lanes_normal_fill(seed, start, n, buf.data() + 1);
            ASSERT_EQ(buf[0], -7.0);
            ASSERT_EQ(buf[n + 1], -7.0);
            for (size_t j = 0; j < n; j++)
                ASSERT_EQ(Bits(buf[j + 1]), Bits(lanes_normal_at(seed, start + j)))
                    << "seed " << seed << " start " << start << " j " << j;
        }
    }
}

TEST(Fill, ChunkingDoesNotMatter)
{
    const size_t n = 10007;
    std::vector<double> whole(n), parts(n);
    lanes_uniform_fill(5, 1000, n, whole.data());
    for (size_t off = 0, len = 1; off < n; off += len, len = len * 3 + 1)
        lanes_uniform_fill(5, 1000 + off, std::min(len, n - off), parts.data() + off);
    EXPECT_EQ(std::memcmp(whole.data(), parts.data(), n * sizeof(double)), 0);
}

TEST(Fill, EmptyFillTouchesNothing)
{
    lanes_uniform_fill(1, 2, 0, nullptr);
    lanes_normal_fill(1, 2, 0, nullptr);
}

// Pearson's chi-square statistic of counts against equal expected counts.
double ChiSquare(const std::vector<size_t> &counts, size_t n)
{
    const double expected = static_cast<double>(n) / static_cast<double>(counts.size());
    double chi2 = 0.0;
    for (size_t c : counts) {
        const double d = static_cast<double>(c) - expected;
        chi2 += d * d / expected;
    }
    return chi2;
}

// Within 5 sigma of a chi-square with (bins - 1) degrees of freedom: mean df, variance 2 df.
void ExpectChiSquareOk(double chi2, size_t bins)
{
    const double df = static_cast<double>(bins - 1);
    EXPECT_LT(std::fabs(chi2 - df), 5.0 * std::sqrt(2.0 * df)) << "chi-square " << chi2 << " df " << df;
}

double Mean(const std::vector<double> &v)
{
    double s = 0.0;
    for (double x : v)
        s += x;
    return s / static_cast<double>(v.size());
}

double Variance(const std::vector<double> &v, double mean)
{
    double s = 0.0;
    for (double x : v)
        s += (x - mean) * (x - mean);
    return s / static_cast<double>(v.size() - 1);
}

double Correlation(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

TEST(Statistics, UniformMeanVarianceChiSquare)
{
    const double n = static_cast<double>(kStatN);
    for (uint64_t seed : {uint64_t{1}, uint64_t{0x5eed00000000ull}}) {
        std::vector<double> u(kStatN);
        lanes_uniform_fill(seed, 0, u.size(), u.data());
        const double mean = Mean(u), var = Variance(u, mean);
        // Uniform(0, 1): mean 1/2, variance 1/12; the sample variance's variance is
        // (mu4 - sigma^4) / n with mu4 = 1/80.
        EXPECT_LT(std::fabs(mean - 0.5), 5.0 * std::sqrt(1.0 / 12.0 / n)) << "seed " << seed;
        EXPECT_LT(std::fabs(var - 1.0 / 12.0), 5.0 * std::sqrt((1.0 / 80.0 - 1.0 / 144.0) / n))
            << "seed " << seed;

        std::vector<size_t> counts(100, 0);
        for (double v : u)
            counts[static_cast<size_t>(v * 100.0)]++;
        ExpectChiSquareOk(ChiSquare(counts, kStatN), counts.size());

        EXPECT_LT(std::fabs(Correlation(u.data(), u.data() + 1, kStatN - 1)), 5.0 / std::sqrt(n));
    }
}

TEST(Statistics, NormalMeanVarianceChiSquare)
{
    const double n = static_cast<double>(kStatN);
    for (uint64_t seed : {uint64_t{1}, uint64_t{0x5eed00000000ull}}) {
        std::vector<double> z(kStatN);
        lanes_normal_fill(seed, 0, z.size(), z.data());
        const double mean = Mean(z), var = Variance(z, mean);
        // N(0, 1): mean 0, variance 1; the sample variance's variance is 2 / n.
        EXPECT_LT(std::fabs(mean), 5.0 / std::sqrt(n)) << "seed " << seed;
        EXPECT_LT(std::fabs(var - 1.0), 5.0 * std::sqrt(2.0 / n)) << "seed " << seed;

        // 100 equiprobable bins: the normal CDF of each value.
        std::vector<size_t> counts(100, 0);
        for (double v : z) {
            ASSERT_TRUE(std::isfinite(v));
            const double p = 0.5 * std::erfc(-v / std::sqrt(2.0));
            counts[std::min<size_t>(99, static_cast<size_t>(p * 100.0))]++;
        }
        ExpectChiSquareOk(ChiSquare(counts, kStatN), counts.size());

        EXPECT_LT(std::fabs(Correlation(z.data(), z.data() + 1, kStatN - 1)), 5.0 / std::sqrt(n));
    }
}

TEST(Seeds, DistinctSeedsGiveDifferentStreams)
{
    // Seeds differing in one low bit, one high bit (the key's second word) and in both halves.
    const uint64_t seeds[] = {0, 1, 2, 0x100000000ull, 0x100000001ull, 0x8000000000000000ull, UINT64_MAX};
    const size_t n = 4096;
    std::vector<std::vector<double>> streams;
    for (uint64_t s : seeds) {
        streams.emplace_back(n);
        lanes_uniform_fill(s, 0, n, streams.back().data());
    }
    for (size_t a = 0; a < streams.size(); a++)
        for (size_t b = a + 1; b < streams.size(); b++) {
            size_t equal = 0;
            for (size_t j = 0; j < n; j++)
                equal += streams[a][j] == streams[b][j];
            EXPECT_EQ(equal, 0u) << "seeds " << seeds[a] << " and " << seeds[b];
            EXPECT_LT(std::fabs(Correlation(streams[a].data(), streams[b].data(), n)),
                      5.0 / std::sqrt(static_cast<double>(n)));
        }

    // Within one stream, 1e6 53-bit values are (almost surely) all distinct; a repeat would mean the
    // counter is not reaching Philox.
    std::vector<double> u(kStatN);
    lanes_uniform_fill(3, 0, u.size(), u.data());
    std::sort(u.begin(), u.end());
    EXPECT_GE(static_cast<size_t>(std::unique(u.begin(), u.end()) - u.begin()), kStatN - 1);
}

}  // namespace
