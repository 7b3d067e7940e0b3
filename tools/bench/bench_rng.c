/* The host random numbers of cgan-bench's inputs: Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3") drawn in sequence, the key from a seed and a stream.
 * The same draws as the engine's own host generator, so the inputs (and the figures measured
 * on them) stay what they were when cgan-bench used that one. */
#include <math.h>
#include "bench.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void bench_rng_init(bench_rng *r, uint64_t seed, uint32_t stream)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32) ^ (stream * 0x85EBCA6Bu);
    r->counter = 0;
    r->avail = 0;
}

static uint32_t next_u32(bench_rng *r)
{
    if (r->avail == 0) {
        uint32_t ctr[4] = { (uint32_t)r->counter, (uint32_t)(r->counter >> 32), 0, 0 };
        philox(ctr, r->key, r->buf);
        r->counter++;
        r->avail = 4;
    }
    return r->buf[4 - r->avail--];
}

static float uniform(bench_rng *r) /* [0, 1) */
{
    return (float)(next_u32(r) >> 8) * (1.0f / 16777216.0f);
}

void bench_rng_fill_uniform(bench_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * uniform(r);
}

void bench_rng_fill_normal(bench_rng *r, float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++) { /* Box-Muller */
        float u1 = ((float)(next_u32(r) >> 8) + 0.5f) * (1.0f / 16777216.0f);
        float u2 = uniform(r);
        x[i] = mean + std * (sqrtf(-2.0f * logf(u1)) * cosf(6.283185307f * u2));
    }
}
