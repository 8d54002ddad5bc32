/* A test series shared by the ACF tests: an AR(1) process x_t = mean + sd * s_t with
 * s_t = phi * s_{t-1} + e_t, e_t standard normal from std::mt19937_64(seed). Header-only. */
#ifndef LANES_TEST_ACF_SERIES_H
#define LANES_TEST_ACF_SERIES_H

#include <cstddef>
#include <random>
#include <vector>

inline std::vector<double> ar1(size_t n, double phi, double mean, double sd, unsigned seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd(0.0, 1.0);
    std::vector<double> x(n);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s = phi * s + nd(rng);
        x[i] = mean + sd * s;
    }
    return x;
}

#endif /* LANES_TEST_ACF_SERIES_H */
