/* Inverted dropout. The mask comes from Philox4x32-10: element i takes lane i % 4 of
 * the block philox({i / 4, counter_lo, counter_hi, DROPOUT_TAG}, {seed_lo, seed_hi}),
 * and is kept when its uniform draw is >= p. src/ops/dropout.c draws the same mask on
 * the host for the reference. */
#define DROPOUT_TAG 0x44524F50u

/* One work-item per block of four elements: mask[i] = keep ? scale : 0, y = x * mask. */
__kernel void dropout_fwd(const int n, const float p, const float scale, const uint key_lo,
                          const uint key_hi, const uint ctr_lo, const uint ctr_hi,
                          __global const float *x, __global float *mask, __global float *y)
{
    const int j = (int)get_global_id(0);
    const int first = j * 4;
    if (first >= n) return;
    const uint4 r = cgan_philox4x32((uint4)((uint)j, ctr_lo, ctr_hi, DROPOUT_TAG),
                                    (uint2)(key_lo, key_hi));
    const uint lanes[4] = { r.x, r.y, r.z, r.w };
    for (int l = 0; l < 4 && first + l < n; l++) {
        const float m = CGAN_U01(lanes[l]) >= p ? scale : 0.0f;
        mask[first + l] = m;
        y[first + l] = x[first + l] * m;
    }
}

/* dx = dy * mask (use_mask) or dy (eval), overwriting (beta == 0, dx not read) or
 * accumulating. */
__kernel void dropout_bwd(const int n, const int use_mask, __global const float *mask,
                          __global const float *dy, const float beta, __global float *dx)
{
    CGAN_1D_GUARD(i, n);
    const float g = use_mask ? dy[i] * mask[i] : dy[i];
    dx[i] = (beta == 0.0f) ? g : g + beta * dx[i];
}

/* Raw Philox outputs for the host-equality test: out[4i..4i+3] = philox(ctr[4i..], key). */
__kernel void philox_test(const int n, const uint key_lo, const uint key_hi,
                          __global const uint *ctr, __global uint *out)
{
    CGAN_1D_GUARD(i, n);
    const uint4 c = (uint4)(ctr[4 * i], ctr[4 * i + 1], ctr[4 * i + 2], ctr[4 * i + 3]);
    const uint4 r = cgan_philox4x32(c, (uint2)(key_lo, key_hi));
    out[4 * i] = r.x;
    out[4 * i + 1] = r.y;
    out[4 * i + 2] = r.z;
    out[4 * i + 3] = r.w;
}
