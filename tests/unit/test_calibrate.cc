// Unit tests for service/route/calibrate.c's fit (lanes_calibrate_fit): synthetic timings, exact, noisy,
// bent upwards as cache and load bend them (the case whose unconstrained intercept is negative and
// which the old fit clamped to a zero overhead), and bent downwards; every result is checked against
// the bounds the fit promises and against an independent brute-force minimum of the same error; and
// lanes_calibrate() through a pretend GPU worker whose timings bend, recorded as they were measured.
//
// Everything here is deterministic: the "measurements" are numbers made up by the test (a fixed-seed
// generator for the noise), never timed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "calibrate.h"
#include "router.h"

namespace {

// lanesd --calibrate's sizes: 1024 .. 1048576 elements of 16 bytes (map, and what cuda is timed on).
std::vector<double> full_sizes()
{
    std::vector<double> x;
    for (double n = 1024; n <= 1048576; n *= 4)
        x.push_back(n * 16);
    return x;
}

double predict(const lanes_cost_t &c, double bytes) { return c.overhead_ns + bytes / c.bytes_per_ns; }

// The fit's objective, computed here on its own: the squared relative error.
double rel_error(const std::vector<double> &x, const std::vector<double> &y, double a, double slope)
{
    double e = 0;
    for (size_t i = 0; i < x.size(); i++) {
        double r = (y[i] - a - slope * x[i]) / y[i];
        e += r * r;
    }
    return e;
}

// Plain (unconstrained) least squares of the relative error: what the old fit started from.
void unconstrained(const std::vector<double> &x, const std::vector<double> &y, double *a, double *slope)
{
    double sw = 0, swx = 0, swy = 0, swxx = 0, swxy = 0;
    for (size_t i = 0; i < x.size(); i++) {
        double w = 1 / (y[i] * y[i]);
        sw += w, swx += w * x[i], swy += w * y[i], swxx += w * x[i] * x[i], swxy += w * x[i] * y[i];
    }
    *slope = (sw * swxy - swx * swy) / (sw * swxx - swx * swx);
    *a = (swy - *slope * swx) / sw;
}

// The bounds calibrate.h promises, from the smallest and the largest piece.
struct Bounds {
    double lo, hi;
};
Bounds bounds(const std::vector<double> &x, const std::vector<double> &y)
{
    double l = y.front() - x.front() * y.back() / x.back();
    return {std::max(l, y.front() / LANES_CALIBRATE_MIN_OVERHEAD_DIV), y.front()};
}

// The smallest error over a fine grid of overheads in the bounds, each with its best slope found by
// golden-section search (the error is convex in the slope): an independent estimate of the minimum.
double brute_force_min(const std::vector<double> &x, const std::vector<double> &y)
{
    Bounds b = bounds(x, y);
    double best = INFINITY;
    const int steps = 300; // a coarser grid only finds a larger minimum: the check gets weaker, never flaky
    for (int i = 0; i <= steps; i++) {
        double a = b.lo + (b.hi - b.lo) * i / steps;
        double lo = 0, hi = 4 * y.back() / x.back();
        for (int it = 0; it < 80; it++) {
            double m1 = lo + (hi - lo) * 0.381966, m2 = hi - (hi - lo) * 0.381966;
            if (rel_error(x, y, a, m1) < rel_error(x, y, a, m2))
                hi = m2;
            else
                lo = m1;
        }
        best = std::min(best, rel_error(x, y, a, (lo + hi) / 2));
    }
    return best;
}

// Every promise of lanes_calibrate_fit, and that it found the minimum.
void expect_sound_fit(const std::vector<double> &x, const std::vector<double> &y, const lanes_cost_t &c,
                      const std::string &what)
{
    Bounds b = bounds(x, y);
    EXPECT_GT(c.bytes_per_ns, 0) << what;
    EXPECT_TRUE(std::isfinite(c.bytes_per_ns)) << what;
    EXPECT_GT(c.overhead_ns, 0) << what << ": a piece is never free";
    EXPECT_GE(c.overhead_ns, b.lo * (1 - 1e-12)) << what;
    EXPECT_LE(c.overhead_ns, b.hi * (1 + 1e-12)) << what << ": no more than the smallest piece's time";
    EXPECT_GE(predict(c, x.front()), y.front() / LANES_CALIBRATE_MIN_OVERHEAD_DIV) << what;
    for (size_t i = 1; i < x.size(); i++)
        EXPECT_GT(predict(c, x[i]), predict(c, x[i - 1])) << what << ": increasing in the bytes";
    double e = rel_error(x, y, c.overhead_ns, 1 / c.bytes_per_ns), ref = brute_force_min(x, y);
    EXPECT_LE(e, ref * (1 + 1e-6) + 1e-15) << what << ": not the least squares in the bounds";
}

TEST(CalibrateFit, AnExactLineIsRecovered)
{
    auto x = full_sizes();
    std::vector<double> y;
    for (double b : x)
        y.push_back(30000 + b / 0.12);
    lanes_cost_t c;
    ASSERT_EQ(lanes_calibrate_fit(x.data(), y.data(), (int)x.size(), &c), 0);
    EXPECT_NEAR(c.overhead_ns, 30000, 30000 * 1e-9);
    EXPECT_NEAR(c.bytes_per_ns, 0.12, 0.12 * 1e-9);
    expect_sound_fit(x, y, c, "exact line");
}

// The failure of issue 11: acf.cuda through the simulated GPU worker on a loaded machine, fitted as
// ('acf.cuda', 0.0, 0.115644). The small pieces ran at the streaming rate and the large ones slower
// (cache, preemption of the long runs), so the line through them meets the axis below zero.
TEST(CalibrateFit, TimingsBentUpwardsKeepAPositiveOverhead)
{
    auto x = full_sizes();
    std::vector<double> y;
    for (size_t i = 0; i < x.size(); i++)
        y.push_back(3000 + x[i] / 0.13 * (1 + 0.04 * (double)i * (double)i)); // the cost per byte grows
    double a0, s0;
    unconstrained(x, y, &a0, &s0);
    ASSERT_LT(a0, 0) << "the case must be one whose plain least squares has a negative overhead";
    lanes_cost_t c;
    ASSERT_EQ(lanes_calibrate_fit(x.data(), y.data(), (int)x.size(), &c), 0);
    expect_sound_fit(x, y, c, "bent upwards");
    // Here the data cannot resolve the overhead (the largest piece's rate explains all of y0), so it
    // sits on the floor: 1/16 of the smallest piece's time, not 0.
    EXPECT_NEAR(c.overhead_ns, y[0] / LANES_CALIBRATE_MIN_OVERHEAD_DIV, y[0] * 1e-9);
    // The model still predicts the pieces that were measured within the bend of the data.
    for (size_t i = 0; i < x.size(); i++)
        EXPECT_NEAR(predict(c, x[i]) / y[i], 1, 0.5) << i;
}

// A big overhead with a small slope, measured with the largest piece slowed down: the bound from the
// largest piece's rate keeps the overhead near what the smallest pieces show.
TEST(CalibrateFit, TheLargestPiecesRateBoundsTheOverheadFromBelow)
{
    auto x = full_sizes();
    std::vector<double> y;
    for (double b : x)
        y.push_back(50000 + b / 20);
    y.back() *= 1.6; // one slow run of the largest piece
    double a0, s0;
    unconstrained(x, y, &a0, &s0);
    lanes_cost_t c;
    ASSERT_EQ(lanes_calibrate_fit(x.data(), y.data(), (int)x.size(), &c), 0);
    expect_sound_fit(x, y, c, "slow largest piece");
    Bounds b = bounds(x, y);
    EXPECT_GT(b.lo, y[0] / LANES_CALIBRATE_MIN_OVERHEAD_DIV) << "this case is bounded by the rate, not the floor";
    EXPECT_GE(c.overhead_ns, b.lo * (1 - 1e-12));
    EXPECT_NEAR(c.overhead_ns, 50000, 50000 * 0.1);
}

// Timings that flatten out above the smallest piece (it ran faster than the line through the others)
// put the plain intercept above the smallest piece's time; a piece of no bytes cannot cost more than
// the smallest one measured.
TEST(CalibrateFit, TheOverheadIsAtMostTheSmallestPiecesTime)
{
    std::vector<double> x = {16384, 65536, 262144, 1048576}, y = {100000, 150000, 160000, 300000};
    double a0, s0;
    unconstrained(x, y, &a0, &s0);
    ASSERT_GT(a0, y[0]);
    lanes_cost_t c;
    ASSERT_EQ(lanes_calibrate_fit(x.data(), y.data(), (int)x.size(), &c), 0);
    expect_sound_fit(x, y, c, "bent downwards");
    EXPECT_DOUBLE_EQ(c.overhead_ns, y[0]);
}

// Fastest-of-n timings err only upwards: one-sided noise, sometimes a large outlier, over many seeds
// and three machines' worth of constants (an inline map, a pool piece, a GPU round trip).
TEST(CalibrateFit, NoisyTimingsAlwaysGiveASoundModel)
{
    struct Truth {
        double a, bw;
    } truths[] = {{80, 1.5}, {12000, 6.0}, {30000, 0.12}};
    auto x = full_sizes();
    std::mt19937_64 rng(11);
    std::normal_distribution<double> noise(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    int floor_hits = 0;
    for (const Truth &t : truths) {
        for (int seed = 0; seed < 100; seed++) {
            std::vector<double> y;
            for (double b : x) {
                double v = (t.a + b / t.bw) * (1 + 0.05 * std::fabs(noise(rng)));
                if (u(rng) < 0.1)
                    v *= 1 + 2 * u(rng); // a run that was preempted in every repetition
                y.push_back(v);
            }
            lanes_cost_t c;
            ASSERT_EQ(lanes_calibrate_fit(x.data(), y.data(), (int)x.size(), &c), 0);
            std::string what = "a=" + std::to_string(t.a) + " bw=" + std::to_string(t.bw) + " seed " +
                               std::to_string(seed);
            expect_sound_fit(x, y, c, what);
            if (c.overhead_ns <= bounds(x, y).lo * (1 + 1e-12))
                floor_hits++;
            if (HasFailure())
                return;
        }
    }
    EXPECT_GT(floor_hits, 0) << "the noise should push some fits onto the lower bound (the old fit's zero)";
}

// With little noise the fit is also accurate, not merely sound.
TEST(CalibrateFit, SmallNoiseStaysCloseToTheTruth)
{
    auto x = full_sizes();
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0, 0.02);
    for (int seed = 0; seed < 100; seed++) {
        std::vector<double> y;
        for (double b : x)
            y.push_back((30000 + b / 0.12) * (1 + u(rng)));
        lanes_cost_t c;
        ASSERT_EQ(lanes_calibrate_fit(x.data(), y.data(), (int)x.size(), &c), 0);
        for (double b : x)
            EXPECT_NEAR(predict(c, b) / (30000 + b / 0.12), 1, 0.03) << seed << " " << b;
    }
}

TEST(CalibrateFit, PointsThatAreNotTimingsAreLeftOutAndTooFewAreRefused)
{
    lanes_cost_t c = {-1, -1};
    double x1[] = {1000};
    double y1[] = {500};
    EXPECT_EQ(lanes_calibrate_fit(x1, y1, 1, &c), -1);
    double x2[] = {1000, 1000, 1000}, y2[] = {500, 400, 600};
    EXPECT_EQ(lanes_calibrate_fit(x2, y2, 3, &c), -1) << "one size only";
    double x3[] = {1000, 2000, 4000}, y3[] = {500, 0, -3};
    EXPECT_EQ(lanes_calibrate_fit(x3, y3, 3, &c), -1) << "one usable point";
    EXPECT_EQ(lanes_calibrate_fit(x3, y3, 0, &c), -1);
    EXPECT_EQ(c.overhead_ns, -1) << "untouched on failure";
    EXPECT_EQ(c.bytes_per_ns, -1);
    // NaN, infinity, zero and negative entries are ignored; the rest is an exact line.
    double x4[] = {1000, NAN, 2000, 3000, 0, 4000}, y4[] = {1500, 7, 2500, INFINITY, 9, 4500};
    ASSERT_EQ(lanes_calibrate_fit(x4, y4, 6, &c), 0);
    EXPECT_NEAR(c.overhead_ns, 500, 1e-6);
    EXPECT_NEAR(c.bytes_per_ns, 1, 1e-12);
    // Of two timings of one size the faster one is the smallest piece's (the bound's) time.
    double x5[] = {1000, 1000, 8000}, y5[] = {3000, 1500, 8500};
    ASSERT_EQ(lanes_calibrate_fit(x5, y5, 3, &c), 0);
    EXPECT_LE(c.overhead_ns, 1500);
}

// ---- lanes_calibrate() through a pretend GPU worker whose timings bend as a loaded one's do ----

int bent_gpu(void *ctx, lanes_family_t fam, size_t bytes, double *ns)
{
    ++*static_cast<int *>(ctx);
    if (fam == LANES_FAMILY_TEXT)
        return -1;
    double i = std::log2((double)bytes / 16384) / 2; // 0 for the smallest piece, 5 for the largest
    *ns = 3000 + (double)bytes / 0.13 * (1 + 0.04 * i * i);
    return 0;
}

TEST(Calibrate, BentGpuTimingsGiveAPositiveCudaOverheadAndAreRecorded)
{
    lanes_cost_model_t m;
    static lanes_calibrate_measured_t rec;
    memset(&rec, 0, sizeof rec);
    int calls = 0;
    lanes_calibrate_opts_t o = {.cpu_threads = 1, .quick = 1, .measure_gpu = bent_gpu, .gpu_ctx = &calls,
                                .measured = &rec};
    char err[512] = "";
    ASSERT_EQ(lanes_calibrate(&o, &m, err, sizeof err), 0) << err;
    EXPECT_GT(calls, 0);
    for (int f : {LANES_FAMILY_MAP, LANES_FAMILY_REDUCE, LANES_FAMILY_ACF}) {
        const lanes_calibrate_series_t &s = rec.s[LANES_WHERE_CUDA][f];
        ASSERT_GE(s.n, 2) << f;
        std::vector<double> x(s.bytes, s.bytes + s.n), y(s.ns, s.ns + s.n);
        for (int i = 0; i < s.n; i++) {
            double want;
            bent_gpu(&calls, (lanes_family_t)f, (size_t)x[i], &want);
            EXPECT_DOUBLE_EQ(y[i], want) << "recorded as measured";
        }
        expect_sound_fit(x, y, m.c[LANES_WHERE_CUDA][f], "cuda family " + std::to_string(f));
    }
    EXPECT_EQ(rec.s[LANES_WHERE_CUDA][LANES_FAMILY_TEXT].n, 0) << "text does not run on cuda";
    // The inline and cpu series were recorded too, and their constants are sound in the same way.
    for (int w : {LANES_WHERE_INLINE, LANES_WHERE_CPU})
        for (int f = 0; f < LANES_FAMILY_N; f++) {
            const lanes_calibrate_series_t &s = rec.s[w][f];
            ASSERT_EQ(s.n, 3) << "the quick calibration times three sizes";
            EXPECT_LE(s.bytes[2], 131072.0 * 16 * 4) << "and none of them large";
            EXPECT_GT(m.c[w][f].overhead_ns, 0) << w << " " << f;
            EXPECT_LE(m.c[w][f].overhead_ns, s.ns[0]) << w << " " << f;
            EXPECT_GT(m.c[w][f].bytes_per_ns, 0) << w << " " << f;
        }
    // lanesd --calibrate prints the series as "measured family.backend = bytes:ns ...".
    char text[8192];
    lanes_calibrate_format_measured(&rec, text, sizeof text);
    std::string t(text);
    EXPECT_NE(t.find("measured acf.cuda = 32768:"), std::string::npos) << t;
    EXPECT_NE(t.find("measured text.inline = "), std::string::npos) << t;
    EXPECT_EQ(t.find("text.cuda"), std::string::npos) << t;
}

} // namespace
