// Unit tests of the reducers' block-partials interface (kernels.h "block partials"): what another
// backend (the GPU) uses to hand whole blocks to a CPU reducer.
//
// Design: for every op that takes partials, every dtype and many lengths (shorter than a block, whole
// blocks, not a multiple of the block), with NaNs, ties, -0.0/0.0 and int64 values that wrap, the same
// data is reduced twice: (a) plainly, lanes_reducer_feed of the whole array; (b) a head fed with
// lanes_reducer_feed, then elements up to the block boundary (lanes_reducer_to_boundary), then whole
// blocks as lanes_reduce_partials_cpu partials through lanes_reducer_feed_partials, then the tail fed
// plainly. The results must be bit-identical (memcmp of the doubles). Histograms: counts made by a
// second reducer and added with lanes_reducer_feed_histogram equal plain feeding. Misuse (not at a
// boundary, ops without partials, bad arguments) returns LANES_EINVAL.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lanes/kernels.h"

namespace {

constexpr size_t kBlock = LANES_REDUCE_BLOCK;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

const lanes_reduce_op_t kPartialOps[] = {LANES_REDUCE_SUM,  LANES_REDUCE_MEAN, LANES_REDUCE_VAR,
                                         LANES_REDUCE_STD,  LANES_REDUCE_MIN,  LANES_REDUCE_MAX,
                                         LANES_REDUCE_ARGMIN, LANES_REDUCE_ARGMAX};
const lanes_dtype_t kDtypes[] = {LANES_DTYPE_F64, LANES_DTYPE_F32, LANES_DTYPE_I64, LANES_DTYPE_I32};

// n elements of dtype dt as bytes. 'flavour' picks the data: 0 random reals, 1 with NaNs and ties,
// 2 few distinct values (many ties, signed zeros), 3 huge integers (int sums wrap).
std::vector<unsigned char> MakeData(lanes_dtype_t dt, size_t n, int flavour, unsigned seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1000.0, 1000.0);
    std::vector<unsigned char> bytes(n * lanes_dtype_size(dt));
    for (size_t i = 0; i < n; i++) {
        double v = u(rng);
        int64_t iv = static_cast<int64_t>(rng());
        if (flavour == 1 && rng() % 97 == 0)
            v = kNaN;
        if (flavour == 1 && i % 1000 == 7)
            v = -1000.0; // ties at the minimum
        if (flavour == 2) {
            static const double few[] = {-0.0, 0.0, 1.5, -2.25, 3.0};
            v = few[rng() % 5];
            iv = static_cast<int64_t>(rng() % 5) - 2;
        } else if (flavour != 3) {
            iv = static_cast<int64_t>(v * 1e6);
        }
        unsigned char *p = bytes.data() + i * lanes_dtype_size(dt);
        switch (dt) {
        case LANES_DTYPE_F64:
            std::memcpy(p, &v, 8);
            break;
        case LANES_DTYPE_F32: {
            float f = static_cast<float>(v);
            std::memcpy(p, &f, 4);
            break;
        }
        case LANES_DTYPE_I64:
            std::memcpy(p, &iv, 8);
            break;
        default: {
            int32_t w = static_cast<int32_t>(iv);
            std::memcpy(p, &w, 4);
            break;
        }
        }
    }
    return bytes;
}

lanes_reduce_spec_t Spec(lanes_reduce_op_t op, lanes_dtype_t dt)
{
    lanes_reduce_spec_t s;
    std::memset(&s, 0, sizeof s);
    s.op = op;
    s.dtype = dt;
    s.ddof = op == LANES_REDUCE_STD ? 1.0 : 0.0;
    return s;
}

struct Outcome {
    int rc = 0;
    lanes_reduce_result_t res{};
};

Outcome Plain(const lanes_reduce_spec_t &spec, const std::vector<unsigned char> &d, size_t n)
{
    Outcome o;
    lanes_error_t err;
    lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
    EXPECT_NE(r, nullptr) << err.msg;
    EXPECT_EQ(lanes_reducer_feed(r, d.data(), n, 1), 0);
    o.rc = lanes_reducer_finish(r, &o.res, &err);
    lanes_reducer_free(r);
    return o;
}

// head elements plainly, up to the boundary, whole blocks as partials, the tail plainly.
Outcome ViaPartials(const lanes_reduce_spec_t &spec, const std::vector<unsigned char> &d, size_t n, size_t head)
{
    Outcome o;
    lanes_error_t err;
    const size_t es = lanes_dtype_size(spec.dtype);
    lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
    EXPECT_NE(r, nullptr) << err.msg;
    EXPECT_EQ(lanes_reducer_takes_partials(r), 1);
    size_t pos = head < n ? head : n;
    EXPECT_EQ(lanes_reducer_feed(r, d.data(), pos, 1), 0);
    size_t tb = lanes_reducer_to_boundary(r);
    EXPECT_EQ(tb, pos % kBlock ? kBlock - pos % kBlock : 0u);
    if (tb > n - pos)
        tb = n - pos;
    EXPECT_EQ(lanes_reducer_feed(r, d.data() + pos * es, tb, 1), 0);
    pos += tb;
    size_t nb = (n - pos) / kBlock;
    if (nb > 0) {
        EXPECT_EQ(lanes_reducer_to_boundary(r), 0u);
        std::vector<lanes_reduce_partial_t> parts(nb);
        EXPECT_EQ(lanes_reduce_partials_cpu(&spec, d.data() + pos * es, pos, nb, parts.data()), 0);
        EXPECT_EQ(lanes_reducer_feed_partials(r, parts.data(), nb), 0);
        pos += nb * kBlock;
    }
    EXPECT_EQ(lanes_reducer_feed(r, d.data() + pos * es, n - pos, 1), 0);
    EXPECT_EQ(lanes_reducer_count(r), n);
    o.rc = lanes_reducer_finish(r, &o.res, &err);
    lanes_reducer_free(r);
    return o;
}

std::string Bits(double v)
{
    uint64_t b;
    std::memcpy(&b, &v, 8);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g (0x%016llx)", v, static_cast<unsigned long long>(b));
    return buf;
}

TEST(ReducePartials, BitIdenticalToPlainFeeding)
{
    const size_t sizes[] = {1, 100, kBlock - 1, kBlock, kBlock + 1, 3 * kBlock, 5 * kBlock + 123, 37 * kBlock + 4000};
    const size_t heads[] = {0, 1, 4095, 4096, 5000};
    int cases = 0;
    for (lanes_dtype_t dt : kDtypes) {
        for (int flavour = 0; flavour < 4; flavour++) {
            for (size_t n : sizes) {
                std::vector<unsigned char> d = MakeData(dt, n, flavour, static_cast<unsigned>(n * 7 + flavour));
                for (lanes_reduce_op_t op : kPartialOps) {
                    lanes_reduce_spec_t spec = Spec(op, dt);
                    Outcome a = Plain(spec, d, n);
                    for (size_t head : heads) {
                        Outcome b = ViaPartials(spec, d, n, head);
                        SCOPED_TRACE(std::string(lanes_reduce_op_name(op)) + " " + lanes_dtype_name(dt) + " n=" +
                                     std::to_string(n) + " head=" + std::to_string(head) + " flavour=" +
                                     std::to_string(flavour));
                        ASSERT_EQ(a.rc, b.rc);
                        ASSERT_EQ(a.res.dtype, b.res.dtype);
                        ASSERT_EQ(std::memcmp(&a.res.f, &b.res.f, sizeof(double)), 0)
                            << Bits(a.res.f) << " vs " << Bits(b.res.f);
                        ASSERT_EQ(a.res.i, b.res.i);
                        cases++;
                    }
                }
            }
        }
    }
    EXPECT_GT(cases, 1000);
}

// Group partials (lanes_reduce_partials_combine, lanes_reducer_feed_group_partials): 45 whole blocks
// and a short tail fed as blocks 0-3 at level 0, a group of 4 (level 2), a group of 8 (level 3), two
// groups of 4, 8 blocks at level 0, a group of 8 at block 32, 5 blocks at level 0, then the tail
// plainly, must give the bits of plain feeding. A group out of alignment is EINVAL.
TEST(ReducePartials, GroupPartialsBitIdenticalToPlainFeeding)
{
    const size_t nb = 45, n = nb * kBlock + 777;
    struct Step {
        size_t first_block, n_groups;
        unsigned level;
    };
    const Step steps[] = {{0, 4, 0}, {4, 1, 2}, {8, 1, 3}, {16, 2, 2}, {24, 8, 0}, {32, 1, 3}, {40, 5, 0}};
    int cases = 0;
    for (lanes_dtype_t dt : kDtypes) {
        for (int flavour = 0; flavour < 4; flavour++) {
            std::vector<unsigned char> d = MakeData(dt, n, flavour, 1000u + static_cast<unsigned>(flavour));
            for (lanes_reduce_op_t op : kPartialOps) {
                lanes_reduce_spec_t spec = Spec(op, dt);
                SCOPED_TRACE(std::string(lanes_reduce_op_name(op)) + " " + lanes_dtype_name(dt) + " flavour=" +
                             std::to_string(flavour));
                Outcome a = Plain(spec, d, n);
                std::vector<lanes_reduce_partial_t> parts(nb), groups(nb);
                ASSERT_EQ(lanes_reduce_partials_cpu(&spec, d.data(), 0, nb, parts.data()), 0);
                lanes_error_t err;
                lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
                ASSERT_NE(r, nullptr);
                for (const Step &st : steps) {
                    const size_t blocks = st.n_groups << st.level;
                    ASSERT_EQ(lanes_reduce_partials_combine(&spec, parts.data() + st.first_block, blocks, st.level,
                                                            groups.data()),
                              0);
                    ASSERT_EQ(lanes_reducer_feed_group_partials(r, groups.data(), st.n_groups, st.level), 0);
                }
                ASSERT_EQ(lanes_reducer_count(r), nb * kBlock);
                ASSERT_EQ(lanes_reducer_feed(r, d.data() + nb * kBlock * lanes_dtype_size(dt), 777, 1), 0);
                Outcome b;
                b.rc = lanes_reducer_finish(r, &b.res, &err);
                lanes_reducer_free(r);
                ASSERT_EQ(a.rc, b.rc);
                ASSERT_EQ(std::memcmp(&a.res.f, &b.res.f, sizeof(double)), 0) << Bits(a.res.f) << " vs " << Bits(b.res.f);
                ASSERT_EQ(a.res.i, b.res.i);
                cases++;
            }
        }
    }
    EXPECT_EQ(cases, 4 * 4 * 8);

    // Out of alignment, bad levels and sizes.
    lanes_reduce_spec_t spec = Spec(LANES_REDUCE_SUM, LANES_DTYPE_F64);
    std::vector<unsigned char> d = MakeData(LANES_DTYPE_F64, 8 * kBlock, 0, 7);
    std::vector<lanes_reduce_partial_t> parts(8), groups(8);
    ASSERT_EQ(lanes_reduce_partials_cpu(&spec, d.data(), 0, 8, parts.data()), 0);
    EXPECT_EQ(lanes_reduce_partials_combine(&spec, parts.data(), 6, 2, groups.data()), LANES_EINVAL);
    EXPECT_EQ(lanes_reduce_partials_combine(&spec, parts.data(), 8, LANES_REDUCE_MAX_GROUP_LEVEL + 1, groups.data()),
              LANES_EINVAL);
    ASSERT_EQ(lanes_reduce_partials_combine(&spec, parts.data(), 4, 2, groups.data()), 0);
    lanes_error_t err;
    lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(lanes_reducer_feed_partials(r, parts.data(), 3), 0);
    EXPECT_EQ(lanes_reducer_feed_group_partials(r, groups.data(), 1, 2), LANES_EINVAL); // 3 blocks fed
    ASSERT_EQ(lanes_reducer_feed_partials(r, parts.data() + 3, 1), 0);
    EXPECT_EQ(lanes_reducer_feed_group_partials(r, groups.data(), 1, 2), 0);
    lanes_reducer_free(r);
}

TEST(ReducePartials, CpuPartialsFollowTheBlockRule)
{
    // One block of 1.0 .. 4096.0: the 16-lane sum is exact, so S = 4096*4097/2; the moments kind
    // gives n = 4096 and mean = S / n; the extreme kind gives absolute indices.
    std::vector<double> v(kBlock);
    for (size_t i = 0; i < kBlock; i++)
        v[i] = static_cast<double>(i + 1);
    lanes_reduce_partial_t p;
    lanes_reduce_spec_t s = Spec(LANES_REDUCE_SUM, LANES_DTYPE_F64);
    ASSERT_EQ(lanes_reduce_partials_cpu(&s, v.data(), 8 * kBlock, 1, &p), 0);
    EXPECT_EQ(p.sum, 4096.0 * 4097.0 / 2.0);
    s.op = LANES_REDUCE_VAR;
    ASSERT_EQ(lanes_reduce_partials_cpu(&s, v.data(), 0, 1, &p), 0);
    EXPECT_EQ(p.n, 4096.0);
    EXPECT_EQ(p.mean, 2048.5);
    EXPECT_GT(p.m2, 0.0);
    s.op = LANES_REDUCE_ARGMAX;
    ASSERT_EQ(lanes_reduce_partials_cpu(&s, v.data(), 8 * kBlock, 1, &p), 0);
    EXPECT_EQ(p.idx, 8 * kBlock + kBlock - 1);
    EXPECT_EQ(p.f, 4096.0);
    EXPECT_EQ(p.has_nan, 0);
    v[10] = kNaN;
    v[20] = kNaN;
    ASSERT_EQ(lanes_reduce_partials_cpu(&s, v.data(), 0, 1, &p), 0);
    EXPECT_EQ(p.has_nan, 1);
    EXPECT_EQ(p.idx, 10u);
    EXPECT_TRUE(std::isnan(p.f));
}

TEST(ReducePartials, HistogramCountsFedFromElsewhere)
{
    for (lanes_dtype_t dt : kDtypes) {
        const size_t n = 3 * kBlock + 77;
        std::vector<unsigned char> d = MakeData(dt, n, 1, 5);
        lanes_reduce_spec_t spec = Spec(LANES_REDUCE_HISTOGRAM, dt);
        spec.bins = 37;
        spec.has_range = 1;
        spec.lo = -900.0;
        spec.hi = 800.0;
        if (dt == LANES_DTYPE_I64 || dt == LANES_DTYPE_I32) {
            spec.lo = -9e8;
            spec.hi = 8e8;
        }
        lanes_error_t err;
        lanes_reducer_t *plain = lanes_reducer_new(&spec, &err);
        lanes_reducer_t *other = lanes_reducer_new(&spec, &err);
        lanes_reducer_t *sum = lanes_reducer_new(&spec, &err);
        ASSERT_TRUE(plain && other && sum) << err.msg;
        EXPECT_EQ(lanes_reducer_takes_partials(plain), 0);
        lanes_histogram_params_t hp;
        ASSERT_EQ(lanes_reducer_histogram_params(plain, &hp), 0);
        EXPECT_EQ(hp.bins, 37u);
        EXPECT_EQ(hp.f32, dt == LANES_DTYPE_F32);
        EXPECT_EQ(hp.keep_lo, hp.edges[0]);
        EXPECT_EQ(hp.keep_hi, hp.edges[37]);
        ASSERT_EQ(lanes_reducer_feed(plain, d.data(), n, 1), 0);
        // 'other' bins the second half; its counts are added to 'sum', which bins the first half.
        const size_t half = n / 2, es = lanes_dtype_size(dt);
        ASSERT_EQ(lanes_reducer_feed(sum, d.data(), half, 1), 0);
        ASSERT_EQ(lanes_reducer_feed(other, d.data() + half * es, n - half, 1), 0);
        lanes_reduce_result_t ro, rp, rs;
        ASSERT_EQ(lanes_reducer_finish(other, &ro, &err), 0);
        ASSERT_EQ(lanes_reducer_feed_histogram(sum, ro.counts, n - half), 0);
        ASSERT_EQ(lanes_reducer_finish(plain, &rp, &err), 0);
        ASSERT_EQ(lanes_reducer_finish(sum, &rs, &err), 0);
        EXPECT_EQ(lanes_reducer_count(sum), n);
        EXPECT_EQ(rp.i, rs.i);
        for (uint32_t k = 0; k < 37; k++)
            EXPECT_EQ(rp.counts[k], rs.counts[k]) << "bin " << k;
        EXPECT_GT(rp.i, 0);
        lanes_reducer_free(plain);
        lanes_reducer_free(other);
        lanes_reducer_free(sum);
    }
}

TEST(ReducePartials, MisuseIsEinval)
{
    lanes_error_t err;
    lanes_reduce_spec_t spec = Spec(LANES_REDUCE_SUM, LANES_DTYPE_F64);
    lanes_reducer_t *r = lanes_reducer_new(&spec, &err);
    ASSERT_NE(r, nullptr);
    std::vector<double> x(kBlock, 1.0);
    lanes_reduce_partial_t p;
    ASSERT_EQ(lanes_reduce_partials_cpu(&spec, x.data(), 0, 1, &p), 0);
    ASSERT_EQ(lanes_reducer_feed(r, x.data(), 3, 1), 0);
    EXPECT_EQ(lanes_reducer_to_boundary(r), kBlock - 3);
    EXPECT_EQ(lanes_reducer_feed_partials(r, &p, 1), LANES_EINVAL); // not at a boundary
    ASSERT_EQ(lanes_reducer_feed(r, x.data(), kBlock - 3, 1), 0);
    EXPECT_EQ(lanes_reducer_feed_partials(r, &p, 1), 0);
    EXPECT_EQ(lanes_reducer_feed_partials(r, nullptr, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_reducer_feed_partials(nullptr, &p, 1), LANES_EINVAL);
    lanes_histogram_params_t hp;
    EXPECT_EQ(lanes_reducer_histogram_params(r, &hp), LANES_EINVAL); // not a histogram
    int64_t c = 1;
    EXPECT_EQ(lanes_reducer_feed_histogram(r, &c, 1), LANES_EINVAL);
    lanes_reduce_result_t res;
    ASSERT_EQ(lanes_reducer_finish(r, &res, &err), 0);
    EXPECT_EQ(res.f, 2.0 * kBlock);
    EXPECT_EQ(lanes_reducer_feed_partials(r, &p, 1), LANES_EINVAL); // after finish
    lanes_reducer_free(r);

    // count and histogram take no partials
    lanes_reduce_spec_t cs = Spec(LANES_REDUCE_COUNT, LANES_DTYPE_F64);
    r = lanes_reducer_new(&cs, &err);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(lanes_reducer_takes_partials(r), 0);
    EXPECT_EQ(lanes_reducer_feed_partials(r, &p, 1), LANES_EINVAL);
    lanes_reducer_free(r);
    EXPECT_EQ(lanes_reduce_partials_cpu(&cs, x.data(), 0, 1, &p), LANES_EINVAL);
    lanes_reduce_spec_t hs = Spec(LANES_REDUCE_HISTOGRAM, LANES_DTYPE_F64);
    hs.bins = 4;
    hs.has_range = 1;
    hs.lo = 0;
    hs.hi = 1;
    r = lanes_reducer_new(&hs, &err);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(lanes_reducer_feed_partials(r, &p, 1), LANES_EINVAL);
    EXPECT_EQ(lanes_reducer_feed_histogram(r, nullptr, 1), LANES_EINVAL);
    lanes_reducer_free(r);
    EXPECT_EQ(lanes_reduce_partials_cpu(&hs, x.data(), 0, 1, &p), LANES_EINVAL);
    // index0 not a multiple of the block, NULL data, bad dtype
    EXPECT_EQ(lanes_reduce_partials_cpu(&spec, x.data(), 1, 1, &p), LANES_EINVAL);
    EXPECT_EQ(lanes_reduce_partials_cpu(&spec, nullptr, 0, 1, &p), LANES_EINVAL);
    lanes_reduce_spec_t bad = Spec(LANES_REDUCE_SUM, LANES_DTYPE_INVALID);
    EXPECT_EQ(lanes_reduce_partials_cpu(&bad, x.data(), 0, 1, &p), LANES_EINVAL);
    EXPECT_EQ(lanes_reduce_partials_cpu(nullptr, x.data(), 0, 1, &p), LANES_EINVAL);
}

} // namespace
