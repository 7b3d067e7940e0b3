/* Counter-based random numbers (Philox4x32-10). The same function exists in the kernel prelude cl/_common.cl so
 * host and device draw identical streams from (seed, stream, counter). */
#ifndef CGAN_RNG_H
#define CGAN_RNG_H
#include <stdint.h>
#include <stddef.h>

void cgan_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* A sequential host generator over Philox: seed + stream pick the key, draws advance the counter. */
typedef struct cgan_rng {
    uint32_t key[2];
    uint64_t counter;
    uint32_t buf[4];
    int avail;
} cgan_rng;

void cgan_rng_init(cgan_rng *r, uint64_t seed, uint32_t stream);
uint32_t cgan_rng_u32(cgan_rng *r);
/* Uniform in [0, 1). */
float cgan_rng_uniform(cgan_rng *r);
/* Standard normal (Box-Muller). */
float cgan_rng_normal(cgan_rng *r);
/* Uniform integer in [0, n). */
uint32_t cgan_rng_below(cgan_rng *r, uint32_t n);
void cgan_rng_fill_uniform(cgan_rng *r, float *x, size_t n, float lo, float hi);
void cgan_rng_fill_normal(cgan_rng *r, float *x, size_t n, float mean, float std);
#endif
