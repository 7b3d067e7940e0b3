/* Convolution helpers shared by conv2d and deconv2d: im2col / col2im over a chunk of the
 * batch, a channel-major pack, and per-channel bias add and bias gradient.
 *
 * Geometry: an "image" [.., C, H, W] (NCHW) is convolved with a square kernel k, stride s
 * and padding pad, giving Ho x Wo positions (P = Ho*Wo). The columns of images n0 ..
 * n0+nb-1 form one row-major matrix [C*k*k][nb*P]: row (c*k + ky)*k + kx, column n*P + p.
 * Keeping the batch inside the column index lets one GEMM span the whole chunk.
 * Offsets (col_off, ...) are in floats. */

/* cols[col_off + r*nb*P + n*P + oy*Wo + ox] = img[n0+n, c, oy*s-pad+ky, ox*s-pad+kx] (0 outside) */
__kernel void im2col(const int total, __global const float *img, const int n0, const int nb,
                     const int C, const int H, const int W, const int k, const int stride,
                     const int pad, const int Ho, const int Wo, __global float *cols,
                     const int col_off)
{
    CGAN_1D_GUARD(i, total);
    const int P = Ho * Wo;
    const int NP = nb * P;
    const int r = i / NP;
    const int j = i - r * NP;
    const int n = j / P;
    const int p = j - n * P;
    const int oy = p / Wo;
    const int ox = p - oy * Wo;
    const int kx = r % k;
    const int t = r / k;
    const int ky = t % k;
    const int c = t / k;
    const int iy = oy * stride - pad + ky;
    const int ix = ox * stride - pad + kx;
    float v = 0.0f;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
        v = img[(((n0 + n) * C + c) * H + iy) * W + ix];
    cols[col_off + i] = v;
}

/* The adjoint of im2col, as a gather: every image element of images n0 .. n0+nb-1 sums
 * the column entries that im2col would have read from it (no atomics).
 * beta == 0: img is only written; otherwise img = sum + beta * img. */
__kernel void col2im(const int total, __global const float *cols, const int col_off,
                     const int n0, const int nb, const int C, const int H, const int W,
                     const int k, const int stride, const int pad, const int Ho, const int Wo,
                     const float beta, __global float *img)
{
    CGAN_1D_GUARD(i, total);
    const int P = Ho * Wo;
    const int NP = nb * P;
    const int x = i % W;
    const int t = i / W;
    const int y = t % H;
    const int t2 = t / H;
    const int c = t2 % C;
    const int n = t2 / C;
    const int yp = y + pad, xp = x + pad;
    __global const float *base = cols + col_off + n * P;
    float sum = 0.0f;
    /* ky contributes when (yp - ky) is a non-negative multiple of stride below Ho*stride */
    for (int ky = yp % stride; ky < k; ky += stride) {
        const int oy = (yp - ky) / stride;
        if (oy < 0) break;
        if (oy >= Ho) continue;
        for (int kx = xp % stride; kx < k; kx += stride) {
            const int ox = (xp - kx) / stride;
            if (ox < 0) break;
            if (ox >= Wo) continue;
            sum += base[((c * k + ky) * k + kx) * NP + oy * Wo + ox];
        }
    }
    const int o = n0 * C * H * W + i;
    img[o] = (beta == 0.0f) ? sum : sum + beta * img[o];
}

/* Channel-major pack of images n0 .. n0+nb-1 of src [N][C][P]:
 * dst[dst_off + c*nb*P + n*P + p] = src[n0+n][c][p]. */
__kernel void pack_cm(const int total, __global const float *src, const int n0, const int nb,
                      const int C, const int P, __global float *dst, const int dst_off)
{
    CGAN_1D_GUARD(i, total);
    const int NP = nb * P;
    const int c = i / NP;
    const int j = i - c * NP;
    const int n = j / P;
    const int p = j - n * P;
    dst[dst_off + i] = src[((n0 + n) * C + c) * P + p];
}

/* y[n][c][p] += bias[c] over y [N][C][P]. */
__kernel void bias_add(const int total, const int C, const int P, __global const float *bias,
                       __global float *y)
{
    CGAN_1D_GUARD(i, total);
    y[i] += bias[(i / P) % C];
}

/* Bias gradient, first pass: part[c*G + g] = sum of dy[n][c][p] over the flat positions
 * j = n*P + p with j % G == g (G partial sums per channel). */
__kernel void bias_grad_part(const int total, const int N, const int C, const int P,
                             const int G, __global const float *dy, __global float *part)
{
    CGAN_1D_GUARD(i, total);
    const int c = i / G;
    const int g = i - c * G;
    const int NP = N * P;
    float s = 0.0f;
    for (int j = g; j < NP; j += G) {
        const int n = j / P;
        s += dy[(n * C + c) * P + (j - n * P)];
    }
    part[i] = s;
}

/* Second pass: dbias[c] += sum over g of part[c*G + g]. */
__kernel void bias_grad_sum(const int C, const int G, __global const float *part,
                            __global float *dbias)
{
    CGAN_1D_GUARD(c, C);
    float s = 0.0f;
    for (int g = 0; g < G; g++) s += part[c * G + g];
    dbias[c] += s;
}
