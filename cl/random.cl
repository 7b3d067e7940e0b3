/* Device random numbers from Philox (prelude): element i draws philox({i, counter, tag}, seed). */

/* Standard normal noise (Box-Muller on the first two words). */
__kernel void randn(const int n, const uint seed_lo, const uint seed_hi, const uint ctr_lo,
                    const uint ctr_hi, __global float *y)
{
    CGAN_1D_GUARD(i, n);
    uint4 r = cgan_philox4x32((uint4)((uint)i, ctr_lo, ctr_hi, 0x4E4F524Du), (uint2)(seed_lo, seed_hi));
    float u1 = ((float)(r.x >> 8) + 0.5f) * (1.0f / 16777216.0f);
    float u2 = CGAN_U01(r.y);
    y[i] = sqrt(-2.0f * log(u1)) * cos(6.283185307f * u2);
}

/* Uniform class indices in [0, k), stored as floats. */
__kernel void randint(const int n, const int k, const uint seed_lo, const uint seed_hi,
                      const uint ctr_lo, const uint ctr_hi, __global float *y)
{
    CGAN_1D_GUARD(i, n);
    uint4 r = cgan_philox4x32((uint4)((uint)i, ctr_lo, ctr_hi, 0x494E5449u), (uint2)(seed_lo, seed_hi));
    /* 24-bit uniform scaled down: bias below 2^-24 * k, negligible for class counts */
    int c = (int)(CGAN_U01(r.x) * (float)k);
    y[i] = (float)(c < k ? c : k - 1);
}
