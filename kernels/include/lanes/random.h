/* Counter-based random streams for generated inputs: Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the Random123 library's reference).
 *
 * Design: element k of a stream is a pure function of (seed, k), so its value is the same whatever the
 * chunking, the thread count or the backend (a GPU kernel computes the same counter). Element k uses
 * one Philox call with counter {lo32(k), hi32(k), 0, 0} and key {lo32(seed), hi32(seed)}:
 *   uniform: x = (uint64)out[0] << 32 | out[1];  u = (x >> 11) * 2^-53, in [0, 1) (exact, 53 bits)
 *   normal:  u1 = ((x >> 11) + 1) * 2^-53, in (0, 1];  y = (uint64)out[2] << 32 | out[3];
 *            u2 = (y >> 11) * 2^-53;  z = sqrt(-2 log u1) * cos(2 pi u2)   (Box-Muller, one value kept)
 * uniform is bit-exact on every backend; normal goes through libm's log and cos, so another backend's
 * libm may differ in the last bits.
 * All functions are pure and thread-safe.
 */
#ifndef LANES_RANDOM_H
#define LANES_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One Philox4x32-10 block: out = philox(ctr, key), ten rounds, the reference's constants. */
void lanes_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Element k of the uniform / normal stream 'seed'. */
double lanes_uniform_at(uint64_t seed, uint64_t k);
double lanes_normal_at(uint64_t seed, uint64_t k);

/* out[j] = element (start + j) of the stream, for j < n. Vectorisable loops; no OpenMP inside. */
void lanes_uniform_fill(uint64_t seed, uint64_t start, size_t n, double *out);
void lanes_normal_fill(uint64_t seed, uint64_t start, size_t n, double *out);

#ifdef __cplusplus
}
#endif

#endif /* LANES_RANDOM_H */
