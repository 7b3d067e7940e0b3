/* Prelude prepended to every cgan-cl program. OpenCL C 1.2, no extensions assumed. */
#define CGAN_GID0 ((int)get_global_id(0))

/* Index guard for 1-D kernels launched on a rounded-up range. */
#define CGAN_1D_GUARD(i, n) \
    const int i = (int)get_global_id(0); \
    if (i >= (n)) return

/* Philox4x32-10 (Salmon et al. 2011), bit-identical to cgan_philox4x32 in src/core/rng.c:
 * ten rounds over a 128-bit counter with a 64-bit key bumped by the Weyl constants. */
uint4 cgan_philox4x32(uint4 ctr, uint2 key)
{
    for (int round = 0; round < 10; round++) {
        const uint lo0 = 0xD2511F53u * ctr.x, hi0 = mul_hi(0xD2511F53u, ctr.x);
        const uint lo1 = 0xCD9E8D57u * ctr.z, hi1 = mul_hi(0xCD9E8D57u, ctr.z);
        ctr = (uint4)(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
        key += (uint2)(0x9E3779B9u, 0xBB67AE85u);
    }
    return ctr;
}

/* Uniform float in [0, 1) from 24 random bits, as cgan_rng_uniform on the host. */
#define CGAN_U01(u) ((float)((u) >> 8) * (1.0f / 16777216.0f))

/* Sum of v over the work-group (local size a power of two); every work-item gets it. */
float group_sum(__local float *s, const float v)
{
    const int l = (int)get_local_id(0);
    s[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int o = (int)get_local_size(0) / 2; o > 0; o >>= 1) {
        if (l < o) s[l] += s[l + o];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
