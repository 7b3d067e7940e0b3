/* Channel concat of a [N,ca,H,W] and b [N,cb,bh,bw] where b's plane is either HxW (bhw == hw)
 * or 1x1 (bhw == 1: broadcast over HxW). */

__kernel void concat_fwd(const int n, const int ca, const int cb, const int hw, const int bhw,
                         __global const float *a, __global const float *b, __global float *y)
{
    CGAN_1D_GUARD(i, n);
    const int ct = ca + cb;
    const int p = i % hw;
    const int c = (i / hw) % ct;
    const int s = i / (hw * ct);
    y[i] = c < ca ? a[(s * ca + c) * hw + p]
                  : b[(s * cb + (c - ca)) * bhw + (bhw == 1 ? 0 : p)];
}

/* da = dout[:, :ca] (+ beta * da; beta 0 does not read da). n = N*ca*hw. */
__kernel void concat_bwd_a(const int n, const int ca, const int cb, const int hw,
                           __global const float *dy, const float beta, __global float *da)
{
    CGAN_1D_GUARD(i, n);
    const int p = i % hw;
    const int c = (i / hw) % ca;
    const int s = i / (hw * ca);
    const float g = dy[(s * (ca + cb) + c) * hw + p];
    da[i] = beta == 0.0f ? g : g + beta * da[i];
}

/* db = dout[:, ca:], summed over HxW when b was broadcast. n = N*cb*bhw. */
__kernel void concat_bwd_b(const int n, const int ca, const int cb, const int hw, const int bhw,
                           __global const float *dy, const float beta, __global float *db)
{
    CGAN_1D_GUARD(i, n);
    const int p = i % bhw;
    const int c = (i / bhw) % cb;
    const int s = i / (bhw * cb);
    __global const float *src = dy + (s * (ca + cb) + ca + c) * hw;
    float g;
    if (bhw == 1) {
        g = 0.0f;
        for (int q = 0; q < hw; q++) g += src[q];
    } else {
        g = src[p];
    }
    db[i] = beta == 0.0f ? g : g + beta * db[i];
}
