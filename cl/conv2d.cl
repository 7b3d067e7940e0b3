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
 * pair; the models use two), so that every division by them is a shift or a multiply.
 * Each comes in two forms, picked per device type by src/ops/conv2d.c:
 *   - element forms (GPUs): one work-item per element, neighbouring items on neighbouring
 *     addresses;
 *   - plane/row forms (CPUs): one item walks an image plane or row with incremental
 *     indices. A CPU runs a work-group as a loop over its items, and few long items cost
 *     far less than one per element (on PoCL im2col+col2im took 4x less time). */

/* cols[col_off + (r*nb + n)*P + oy*Wo + ox] = img[n0+n, c, oy*CS-pad+ky, ox*CS-pad+kx] (0
 * outside), r = (c*KS + ky)*KS + kx. Range: (Wo, nb*Ho, C*KS*KS). */
__kernel void im2col(__global const float *img, const int n0, const int nb, const int C,
                     const int H, const int W, const int pad, const int Ho, const int Wo,
                     __global float *cols, const int col_off)
{
    const int ox = (int)get_global_id(0), t = (int)get_global_id(1), r = (int)get_global_id(2);
    if (ox >= Wo || t >= nb * Ho) return;
    const int n = t / Ho, oy = t - n * Ho;
    const int kx = r % KS, ky = (r / KS) % KS, c = r / (KS * KS);
    const int iy = oy * CS - pad + ky, ix = ox * CS - pad + kx;
    float v = 0.0f;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
        v = img[(((n0 + n) * C + c) * H + iy) * W + ix];
    cols[col_off + (r * nb + n) * Ho * Wo + oy * Wo + ox] = v;
}

/* The same, one item per (n, r): a whole output plane. Range: (nb, C*KS*KS). */
__kernel void im2col_planes(__global const float *img, const int n0, const int nb, const int C,
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
 * Range: (W, H, nb*C). */
__kernel void col2im(__global const float *cols, const int col_off, const int n0, const int nb,
                     const int C, const int H, const int W, const int pad, const int Ho,
                     const int Wo, const float beta, __global float *img)
{
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), t = (int)get_global_id(2);
    if (x >= W || y >= H) return;
    const int n = t / C, c = t - n * C;
    const int P = Ho * Wo, NP = nb * P;
    const int yp = y + pad, xp = x + pad;
    __global const float *base = cols + col_off + n * P + c * KS * KS * NP;
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
    const int o = ((n0 + n) * C + c) * H * W + y * W + x;
    img[o] = (beta == 0.0f) ? sum : sum + beta * img[o];
}

/* The same result, one item per output row (n, c, y): the column entries that reach the
 * row are added along contiguous column rows into the item's own row (a scatter with
 * stride CS, no atomics). Range (nb, C*H). */
__kernel void col2im_rows(__global const float *cols, const int col_off, const int n0,
                          const int nb, const int C, const int H, const int W, const int pad,
                          const int Ho, const int Wo, const float beta, __global float *img)
{
    const int n = (int)get_global_id(0), t = (int)get_global_id(1);
    if (n >= nb) return;
    const int c = t / H, y = t - c * H;
    const int P = Ho * Wo, NP = nb * P;
    __global float *row = img + (((n0 + n) * C + c) * H + y) * W;
    if (beta == 0.0f)
        for (int x = 0; x < W; x++) row[x] = 0.0f;
    else
        for (int x = 0; x < W; x++) row[x] *= beta;
    const int yp = y + pad;
    for (int ky = yp % CS; ky < KS; ky += CS) {
        const int oy = (yp - ky) / CS;
        if (oy < 0) break;
        if (oy >= Ho) continue;
        for (int kx = 0; kx < KS; kx++) {
            /* x = ox*CS + kx - pad must lie in [0, W) */
            if (W - 1 + pad - kx < 0) continue;
            const int ox0 = pad - kx > 0 ? (pad - kx + CS - 1) / CS : 0;
            const int ox1 = min((W - 1 + pad - kx) / CS + 1, Wo);
            __global const float *src =
                cols + col_off + ((c * KS + ky) * KS + kx) * NP + n * P + oy * Wo;
            for (int ox = ox0; ox < ox1; ox++) row[ox * CS + kx - pad] += src[ox];
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

/* The inverse: dst[n0+n][c][p] = src[src_off + c*nb*P + n*P + p] (+ beta * dst). Range
 * (nb, C). */
__kernel void unpack_cm(__global const float *src, const int src_off, const int n0,
                        const int nb, const int C, const int P, const float beta,
                        __global float *dst)
{
    const int n = (int)get_global_id(0), c = (int)get_global_id(1);
    if (n >= nb) return;
    __global const float *s = src + src_off + (c * nb + n) * P;
    __global float *d = dst + ((n0 + n) * C + c) * P;
    if (beta == 0.0f)
        for (int p = 0; p < P; p++) d[p] = s[p];
    else
        for (int p = 0; p < P; p++) d[p] = mad(beta, d[p], s[p]);
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
