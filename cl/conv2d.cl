/* Convolution helpers shared by conv2d and deconv2d: im2col / col2im over a chunk of the
 * batch, a channel-major pack, and per-channel bias add and bias gradient.
 *
 * Geometry: an "image" [.., C, H, W] (NCHW) is convolved with a square kernel k, stride s
 * and padding pad, giving Ho x Wo positions (P = Ho*Wo). The columns of images n0 ..
 * n0+nb-1 form one row-major matrix [C*k*k][nb*P]: row (c*k + ky)*k + kx, column n*P + p.
 * Keeping the batch inside the column index lets one GEMM span the whole chunk.
 * Offsets (col_off, ...) are in floats. */

#ifdef KS
/* im2col and col2im take the kernel size KS and the stride CS as -D defines (one program per
 * pair; the models use two), so that every division by them is a shift or a multiply. Each
 * work-item walks a whole image plane with incremental indices: on a CPU device a work-group
 * is a loop over its items, and few, long items cost far less than one per element. */

/* cols[col_off + (r*nb + n)*P + oy*Wo + ox] = img[n0+n, c, oy*CS-pad+ky, ox*CS-pad+kx] (0
 * outside), r = (c*KS + ky)*KS + kx. Range: (nb, C*KS*KS), one item per (n, r). */
__kernel void im2col(__global const float *img, const int n0, const int nb, const int C,
                     const int H, const int W, const int pad, const int Ho, const int Wo,
                     __global float *cols, const int col_off)
{
    const int n = (int)get_global_id(0), r = (int)get_global_id(1);
    if (n >= nb) return;
    const int kx = r % KS, ky = (r / KS) % KS, c = r / (KS * KS);
    __global const float *src = img + ((n0 + n) * C + c) * H * W;
    __global float *dst = cols + col_off + (r * nb + n) * Ho * Wo;
    for (int oy = 0; oy < Ho; oy++) {
        const int iy = oy * CS - pad + ky;
        const int rowok = iy >= 0 && iy < H;
        __global const float *row = src + (rowok ? iy : 0) * W;
        for (int ox = 0; ox < Wo; ox++) {
            const int ix = ox * CS - pad + kx;
            dst[oy * Wo + ox] = (rowok && ix >= 0 && ix < W) ? row[ix] : 0.0f;
        }
    }
}

/* The adjoint of im2col, as a gather: every image element of images n0 .. n0+nb-1 sums
 * the column entries that im2col would have read from it (no atomics).
 * beta == 0: img is only written; otherwise img = sum + beta * img.
 * Range: (nb, C), one item per image plane. */
__kernel void col2im(__global const float *cols, const int col_off, const int n0, const int nb,
                     const int C, const int H, const int W, const int pad, const int Ho,
                     const int Wo, const float beta, __global float *img)
{
    const int n = (int)get_global_id(0), c = (int)get_global_id(1);
    if (n >= nb) return;
    const int P = Ho * Wo, NP = nb * P;
    __global const float *base = cols + col_off + n * P + c * KS * KS * NP;
    __global float *dst = img + ((n0 + n) * C + c) * H * W;
    for (int y = 0; y < H; y++) {
        const int yp = y + pad;
        for (int x = 0; x < W; x++) {
            const int xp = x + pad;
            float sum = 0.0f;
            /* ky contributes when (yp - ky) is a non-negative multiple of CS below Ho*CS */
            for (int ky = yp % CS; ky < KS; ky += CS) {
                const int oy = (yp - ky) / CS;
                if (oy < 0) break;
                if (oy >= Ho) continue;
                for (int kx = xp % CS; kx < KS; kx += CS) {
                    const int ox = (xp - kx) / CS;
                    if (ox < 0) break;
                    if (ox >= Wo) continue;
                    sum += base[(ky * KS + kx) * NP + oy * Wo + ox];
                }
            }
            __global float *o = dst + y * W + x;
            *o = (beta == 0.0f) ? sum : sum + beta * *o;
        }
    }
}
#endif /* KS */

/* Channel-major pack of images n0 .. n0+nb-1 of src [N][C][P]:
 * dst[dst_off + c*nb*P + n*P + p] = src[n0+n][c][p]. Range (nb, C): one item per plane. */
__kernel void pack_cm(__global const float *src, const int n0, const int nb, const int C,
                      const int P, __global float *dst, const int dst_off)
{
    const int n = (int)get_global_id(0), c = (int)get_global_id(1);
    if (n >= nb) return;
    __global const float *s = src + ((n0 + n) * C + c) * P;
    __global float *d = dst + dst_off + (c * nb + n) * P;
    for (int p = 0; p < P; p++) d[p] = s[p];
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
