/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"). */
#include <math.h>
#include "rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void cgan_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
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

void cgan_rng_init(cgan_rng *r, uint64_t seed, uint32_t stream)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32) ^ (stream * 0x85EBCA6Bu);
    r->counter = 0;
    r->avail = 0;
}

uint32_t cgan_rng_u32(cgan_rng *r)
{
    if (r->avail == 0) {
        uint32_t ctr[4] = { (uint32_t)r->counter, (uint32_t)(r->counter >> 32), 0, 0 };
        cgan_philox4x32(ctr, r->key, r->buf);
        r->counter++;
        r->avail = 4;
    }
    return r->buf[4 - r->avail--];
}

float cgan_rng_uniform(cgan_rng *r)
{
    return (float)(cgan_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

float cgan_rng_normal(cgan_rng *r)
{
    float u1 = ((float)(cgan_rng_u32(r) >> 8) + 0.5f) * (1.0f / 16777216.0f);
    float u2 = cgan_rng_uniform(r);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.283185307f * u2);
}

uint32_t cgan_rng_below(cgan_rng *r, uint32_t n)
{
    if (n <= 1) return 0;
    uint32_t limit = UINT32_MAX - UINT32_MAX % n;
    uint32_t v;
    do v = cgan_rng_u32(r); while (v >= limit);
    return v % n;
}

void cgan_rng_fill_uniform(cgan_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * cgan_rng_uniform(r);
}

void cgan_rng_fill_normal(cgan_rng *r, float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++) x[i] = mean + std * cgan_rng_normal(r);
}
