/* cgan/random.h: the counter-based random numbers (Philox4x32-10) that drive noise,
 * shuffling and initialisation. The same function runs in the kernels, so host and device
 * draw identical streams from (seed, stream, counter): a run is reproducible from its seed,
 * and a program can draw the noise the library would. Plain host code, no context. */
#ifndef CGAN_API_RANDOM_H
#define CGAN_API_RANDOM_H
#include <stddef.h>
#include <stdint.h>
#include "cgan/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One Philox4x32-10 block: 4 words from a 128-bit counter and a 64-bit key. */
CGAN_API void cgan_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* A sequential generator: seed and stream pick the key, draws advance the counter. Plain
 * data: copy it to fork a stream; one generator per thread. */
typedef struct cgan_rng {
    uint32_t key[2];
    uint64_t counter;
    uint32_t buf[4];
    int avail;
} cgan_rng;

CGAN_API void cgan_rng_init(cgan_rng *r, uint64_t seed, uint32_t stream);
CGAN_API uint32_t cgan_rng_u32(cgan_rng *r);
/* Uniform in [0, 1). */
CGAN_API float cgan_rng_uniform(cgan_rng *r);
/* Standard normal (Box-Muller). */
CGAN_API float cgan_rng_normal(cgan_rng *r);
/* Uniform integer in [0, n). */
CGAN_API uint32_t cgan_rng_below(cgan_rng *r, uint32_t n);
/* n draws, uniform in [lo, hi) or normal with mean and std. */
CGAN_API void cgan_rng_fill_uniform(cgan_rng *r, float *x, size_t n, float lo, float hi);
CGAN_API void cgan_rng_fill_normal(cgan_rng *r, float *x, size_t n, float mean, float std);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_RANDOM_H */
