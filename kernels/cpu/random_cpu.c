/* Counter-based random streams on the CPU: Philox4x32-10 and the uniform and normal streams of
 * lanes/random.h.
 *
 * Design: element k of stream 'seed' is one Philox4x32-10 block with counter {lo32(k), hi32(k), 0, 0}
 * and key {lo32(seed), hi32(seed)} (random.h states the mapping to doubles exactly). Philox is the
 * Random123 reference: each round multiplies counter words 0 and 2 by 0xD2511F53 and 0xCD9E8D57
 * (32x32 -> 64 bits) and mixes the halves with words 1 and 3 and the round key; the key is bumped by
 * the Weyl increments 0x9E3779B9 and 0xBB67AE85 between rounds (ten rounds, nine bumps).
 *
 * Fills: the stream is cut into blocks of LANES_RANDOM_BLOCK elements. For a block, one loop with
 * no branches and no calls computes the ten rounds for every element (the round keys are computed
 * once per call, the ten rounds written out), storing the four output words in four arrays on the
 * stack; compilers vectorise it. The words are kept in 64-bit lanes with zero high halves, so each
 * product is one 32x32 -> 64-bit lane multiply (pmuludq) without shuffles (this ran 1.3x faster
 * than 32-bit lanes; Philox's rounds are a dependency chain, so a fill costs ~5 ns an element on
 * a 2020s x86 core with AVX-512 against ~9 ns for the scalar _at). A second loop turns words into
 * doubles. Converting a 53-bit integer to double has no packed instruction before AVX-512DQ, so the
 * value is split into 27 high and 26 low bits, each turned into a double by the exponent trick
 * (bits 0x4330000000000000 | v are the double 2^52 + v) and recombined: every step is exact, so the
 * result equals (double)v bit for bit, as in lanes_uniform_at(). The normal fill then applies the
 * Box-Muller formula with libm's log, sqrt and cos in a scalar loop (libm has no vector entry points
 * without -ffast-math). On x86-64 with GCC the block helpers are also compiled for AVX2 and AVX-512
 * and picked at load time (target_clones); every clone computes the same integers and the same
 * exactly rounded doubles, so results never depend on the machine.
 *
 * All functions are pure and thread-safe: no state outside the caller's stack.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lanes/random.h"

/* Elements per block: four 1 KiB word arrays on the stack. */
#define LANES_RANDOM_BLOCK 256

/* The Random123 reference constants for Philox4x32. */
#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)
#define PHILOX_ROUNDS 10
#define PHILOX_MASK32 UINT64_C(0xffffffff)

/* 2^-53, and 2 pi rounded to double (2 * M_PI, an exact doubling). */
#define LANES_RANDOM_2M53 0x1p-53
#define LANES_RANDOM_TWO_PI 6.283185307179586476925286766559

/* Runtime-dispatched clones of the block helpers, where the toolchain supports them (GCC on x86-64
 * with ifunc; the sanitizer and fuzzer builds use clang, which then gets the baseline). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define LANES_RANDOM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LANES_RANDOM_CLONES
#endif

/* One round on the four words in c0..c3 with round key (k0, k1). */
#define PHILOX_ROUND(c0, c1, c2, c3, k0, k1)                                   \
    do {                                                                       \
        const uint64_t p0_ = (uint64_t)PHILOX_M0 * (c0);                       \
        const uint64_t p1_ = (uint64_t)PHILOX_M1 * (c2);                       \
        const uint32_t n0_ = (uint32_t)(p1_ >> 32) ^ (c1) ^ (k0);              \
        const uint32_t n2_ = (uint32_t)(p0_ >> 32) ^ (c3) ^ (k1);              \
        (c1) = (uint32_t)p1_;                                                  \
        (c3) = (uint32_t)p0_;                                                  \
        (c0) = n0_;                                                            \
        (c2) = n2_;                                                            \
    } while (0)

void lanes_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        if (r > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        PHILOX_ROUND(c0, c1, c2, c3, k0, k1);
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The ten round keys of a seed: key r is key 0 plus r Weyl increments. */
typedef struct philox_keys {
    uint32_t k0[PHILOX_ROUNDS];
    uint32_t k1[PHILOX_ROUNDS];
} philox_keys_t;

static void philox_keys_init(philox_keys_t *ks, uint64_t seed)
{
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        ks->k0[r] = k0;
        ks->k1[r] = k1;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
}

/* One round in 64-bit lanes holding 32-bit words (the same arithmetic as PHILOX_ROUND): the masks
 * tell the compiler the high halves are zero, so each product is one 32x32 -> 64-bit lane multiply
 * (pmuludq) with no shuffles between 32- and 64-bit lanes. */
#define PHILOX_ROUND64(c0, c1, c2, c3, k0, k1)                                 \
    do {                                                                       \
        const uint64_t p0_ = (uint64_t)PHILOX_M0 * ((c0) & PHILOX_MASK32);     \
        const uint64_t p1_ = (uint64_t)PHILOX_M1 * ((c2) & PHILOX_MASK32);     \
        const uint64_t n0_ = (p1_ >> 32) ^ (c1) ^ (k0);                        \
        const uint64_t n2_ = (p0_ >> 32) ^ (c3) ^ (k1);                        \
        (c1) = p1_ & PHILOX_MASK32;                                            \
        (c3) = p0_ & PHILOX_MASK32;                                            \
        (c0) = n0_;                                                            \
        (c2) = n2_;                                                            \
    } while (0)

/* The four words of elements start .. start+n-1 (n <= LANES_RANDOM_BLOCK) into w0..w3. The counter
 * wraps modulo 2^64 with k, as in the _at functions. */
LANES_RANDOM_CLONES
static void philox_block(const philox_keys_t *ks, uint64_t start, size_t n, uint32_t *restrict w0,
                         uint32_t *restrict w1, uint32_t *restrict w2, uint32_t *restrict w3)
{
    const uint64_t a0 = ks->k0[0], a1 = ks->k0[1], a2 = ks->k0[2], a3 = ks->k0[3], a4 = ks->k0[4],
                   a5 = ks->k0[5], a6 = ks->k0[6], a7 = ks->k0[7], a8 = ks->k0[8], a9 = ks->k0[9];
    const uint64_t b0 = ks->k1[0], b1 = ks->k1[1], b2 = ks->k1[2], b3 = ks->k1[3], b4 = ks->k1[4],
                   b5 = ks->k1[5], b6 = ks->k1[6], b7 = ks->k1[7], b8 = ks->k1[8], b9 = ks->k1[9];
    for (size_t j = 0; j < n; j++) {
        const uint64_t k = start + (uint64_t)j;
        uint64_t c0 = k & PHILOX_MASK32, c1 = k >> 32, c2 = 0, c3 = 0;
        PHILOX_ROUND64(c0, c1, c2, c3, a0, b0);
        PHILOX_ROUND64(c0, c1, c2, c3, a1, b1);
        PHILOX_ROUND64(c0, c1, c2, c3, a2, b2);
        PHILOX_ROUND64(c0, c1, c2, c3, a3, b3);
        PHILOX_ROUND64(c0, c1, c2, c3, a4, b4);
        PHILOX_ROUND64(c0, c1, c2, c3, a5, b5);
        PHILOX_ROUND64(c0, c1, c2, c3, a6, b6);
        PHILOX_ROUND64(c0, c1, c2, c3, a7, b7);
        PHILOX_ROUND64(c0, c1, c2, c3, a8, b8);
        PHILOX_ROUND64(c0, c1, c2, c3, a9, b9);
        w0[j] = (uint32_t)c0;
        w1[j] = (uint32_t)c1;
        w2[j] = (uint32_t)c2;
        w3[j] = (uint32_t)c3;
    }
}

/* (double)v for v < 2^54, exactly, by operations that vectorise without 64-bit integer conversions:
 * v = hi * 2^26 + lo with hi < 2^28 and lo < 2^26, each made a double as (2^52 + part) - 2^52. */
static inline double u54_to_double(uint64_t v)
{
    const uint64_t magic = UINT64_C(0x4330000000000000); /* the double 2^52 */
    const uint64_t hb = magic | (v >> 26), lb = magic | (v & ((UINT64_C(1) << 26) - 1));
    double h, l;
    memcpy(&h, &hb, sizeof h);
    memcpy(&l, &lb, sizeof l);
    return (h - 0x1p52) * 0x1p26 + (l - 0x1p52);
}

/* The uniform of two words: (x >> 11) * 2^-53 with x = hi << 32 | lo. */
LANES_RANDOM_CLONES
static void uniform_block(size_t n, const uint32_t *restrict hi, const uint32_t *restrict lo,
                          double *restrict out, double offset)
{
    /* offset is 0 for the uniform in [0, 1) and 1 for the Box-Muller u1 in (0, 1]: (v + 1) * 2^-53,
     * with v + 1 <= 2^53 exact in a double. */
    const uint64_t add = offset != 0.0 ? 1 : 0;
    for (size_t j = 0; j < n; j++) {
        const uint64_t x = (uint64_t)hi[j] << 32 | lo[j];
        out[j] = u54_to_double((x >> 11) + add) * LANES_RANDOM_2M53;
    }
}

static inline double uniform_of(uint32_t hi, uint32_t lo)
{
    const uint64_t x = (uint64_t)hi << 32 | lo;
    return (double)(x >> 11) * LANES_RANDOM_2M53;
}

static inline double box_muller(double u1, double u2)
{
    return sqrt(-2.0 * log(u1)) * cos(LANES_RANDOM_TWO_PI * u2);
}

static void philox_element(uint64_t seed, uint64_t k, uint32_t out[4])
{
    const uint32_t ctr[4] = {(uint32_t)k, (uint32_t)(k >> 32), 0, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    lanes_philox4x32_10(ctr, key, out);
}

double lanes_uniform_at(uint64_t seed, uint64_t k)
{
    uint32_t w[4];
    philox_element(seed, k, w);
    return uniform_of(w[0], w[1]);
}

double lanes_normal_at(uint64_t seed, uint64_t k)
{
    uint32_t w[4];
    philox_element(seed, k, w);
    const uint64_t x = (uint64_t)w[0] << 32 | w[1];
    const double u1 = (double)((x >> 11) + 1) * LANES_RANDOM_2M53;
    const double u2 = uniform_of(w[2], w[3]);
    return box_muller(u1, u2);
}

void lanes_uniform_fill(uint64_t seed, uint64_t start, size_t n, double *out)
{
    philox_keys_t ks;
    uint32_t w0[LANES_RANDOM_BLOCK], w1[LANES_RANDOM_BLOCK], w2[LANES_RANDOM_BLOCK],
        w3[LANES_RANDOM_BLOCK];
    philox_keys_init(&ks, seed);
    for (size_t done = 0; done < n;) {
        const size_t m = n - done < LANES_RANDOM_BLOCK ? n - done : LANES_RANDOM_BLOCK;
        philox_block(&ks, start + (uint64_t)done, m, w0, w1, w2, w3);
        uniform_block(m, w0, w1, out + done, 0.0);
        done += m;
    }
}

void lanes_normal_fill(uint64_t seed, uint64_t start, size_t n, double *out)
{
    philox_keys_t ks;
    uint32_t w0[LANES_RANDOM_BLOCK], w1[LANES_RANDOM_BLOCK], w2[LANES_RANDOM_BLOCK],
        w3[LANES_RANDOM_BLOCK];
    double u2[LANES_RANDOM_BLOCK];
    philox_keys_init(&ks, seed);
    for (size_t done = 0; done < n;) {
        const size_t m = n - done < LANES_RANDOM_BLOCK ? n - done : LANES_RANDOM_BLOCK;
        double *o = out + done;
        philox_block(&ks, start + (uint64_t)done, m, w0, w1, w2, w3);
        uniform_block(m, w0, w1, o, 1.0); /* u1, in place in the output */
        uniform_block(m, w2, w3, u2, 0.0);
        for (size_t j = 0; j < m; j++)
            o[j] = box_muller(o[j], u2[j]);
        done += m;
    }
}
