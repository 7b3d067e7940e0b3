/* DiffAugment "translation,cutout" (semantics in src/ops/diffaug.h). Per-sample parameters
 * p[4n..4n+3] = (tx, ty, cy, cx) come from philox({n, ctr_lo, ctr_hi, DIFFAUG_TAG},
 * {key_lo, key_hi}); src/ops/diffaug.c draws the same ones on the host. */
#define DIFFAUG_TAG 0x44494641u

/* Uniform integer in [0, m) from a 32-bit word, as below() on the host. */
#define DIFFAUG_BELOW(u, m) ((int)mul_hi((uint)(u), (uint)(m)))

/* One work-item per sample: draw (tx, ty, cy, cx) into p. sh, sw: translation radii. */
__kernel void diffaug_params(const int nsamples, const int h, const int w, const int sh,
                             const int sw, const uint key_lo, const uint key_hi,
                             const uint ctr_lo, const uint ctr_hi, __global float *p)
{
    CGAN_1D_GUARD(b, nsamples);
    const uint4 r = cgan_philox4x32((uint4)((uint)b, ctr_lo, ctr_hi, DIFFAUG_TAG),
                                    (uint2)(key_lo, key_hi));
    p[4 * b] = (float)(DIFFAUG_BELOW(r.x, 2 * sw + 1) - sw);
    p[4 * b + 1] = (float)(DIFFAUG_BELOW(r.y, 2 * sh + 1) - sh);
    p[4 * b + 2] = (float)DIFFAUG_BELOW(r.z, h);
    p[4 * b + 3] = (float)DIFFAUG_BELOW(r.w, w);
}

/* 1 when output pixel (y, x) lies outside the ch x cw cutout square centred at (cy, cx). */
int diffaug_uncut(const int y, const int x, const int cy, const int cx, const int ch,
                         const int cw)
{
    const int y0 = cy - ch / 2, x0 = cx - cw / 2;
    return !(y >= y0 && y < y0 + ch && x >= x0 && x < x0 + cw);
}

/* One work-item per output element: y = x translated by (tx, ty) with zeros shifted in,
 * then the cutout square zeroed. chw = C*H*W. */
__kernel void diffaug_fwd(const int n, const int chw, const int h, const int w, const int ch,
                          const int cw, __global const float *p, __global const float *x,
                          __global float *y)
{
    CGAN_1D_GUARD(i, n);
    const int b = i / chw;
    const int xx = i % w, yy = (i / w) % h;
    const int tx = (int)p[4 * b], ty = (int)p[4 * b + 1];
    const int cy = (int)p[4 * b + 2], cx = (int)p[4 * b + 3];
    const int sy = yy - ty, sx = xx - tx;
    const int keep = sy >= 0 && sy < h && sx >= 0 && sx < w &&
                     diffaug_uncut(yy, xx, cy, cx, ch, cw);
    y[i] = keep ? x[i - ty * w - tx] : 0.0f;
}

/* One work-item per input element: the adjoint gather dx[y,x] = dy[y+ty, x+tx] where that
 * output pixel was kept, else 0 (train), or dx = dy (eval, p not read); overwriting
 * (beta == 0, dx not read) or accumulating. */
__kernel void diffaug_bwd(const int n, const int chw, const int h, const int w, const int ch,
                          const int cw, const int train, __global const float *p,
                          __global const float *dy, const float beta, __global float *dx)
{
    CGAN_1D_GUARD(i, n);
    float g;
    if (train) {
        const int b = i / chw;
        const int xx = i % w, yy = (i / w) % h;
        const int tx = (int)p[4 * b], ty = (int)p[4 * b + 1];
        const int cy = (int)p[4 * b + 2], cx = (int)p[4 * b + 3];
        const int oy = yy + ty, ox = xx + tx;
        const int keep = oy >= 0 && oy < h && ox >= 0 && ox < w &&
                         diffaug_uncut(oy, ox, cy, cx, ch, cw);
        g = keep ? dy[i + ty * w + tx] : 0.0f;
    } else {
        g = dy[i];
    }
    dx[i] = (beta == 0.0f) ? g : g + beta * dx[i];
}
