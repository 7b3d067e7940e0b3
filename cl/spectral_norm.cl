/* Spectral normalisation (Miyato et al. 2018) of a weight W read as a rows x cols matrix,
 * row i being output unit i: W_sn = W / sigma with sigma = u^T W v, where u [rows] and
 * v [cols] are kept between passes; a training pass that iterates first takes one power
 * iteration, v = W^T u / |W^T u|, u = W v / |W v|. Backward, with u and v held constant:
 * dW += (G - <G, W_sn> u v^T) / sigma, G the gradient of W_sn. Kernels marked "one
 * work-group" are launched with exactly one group (local size a power of two). */

#define SN_EPS 1e-12f

/* y[yo + k] = sum_i W[i, k] x[xo + i] (trans: k < cols) or sum_j W[k, j] x[xo + j]
 * (k < rows). */
__kernel void sn_matvec(const int rows, const int cols, const int trans, __global const float *w,
                        __global const float *x, const int xo, __global float *y, const int yo)
{
    const int n = trans ? cols : rows;
    CGAN_1D_GUARD(k, n);
    float acc = 0.0f;
    if (trans)
        for (int i = 0; i < rows; i++) acc += w[i * cols + k] * x[xo + i];
    else
        for (int j = 0; j < cols; j++) acc += w[k * cols + j] * x[xo + j];
    y[yo + k] = acc;
}

/* sum_k a[ao + k] * b[bo + k] over k < n, from every work-item of the group. */
float sn_dot(__local float *s, const int n, __global const float *a, const int ao,
             __global const float *b, const int bo)
{
    float acc = 0.0f;
    for (int k = (int)get_local_id(0); k < n; k += (int)get_local_size(0)) acc += a[ao + k] * b[bo + k];
    return group_sum(s, acc);
}

/* out[k] = x[xo + k] / max(|x|, eps), k < n. One work-group. */
__kernel void sn_normalize(const int n, __global const float *x, const int xo, __global float *out,
                           __local float *s)
{
    const float inv = 1.0f / fmax(sqrt(sn_dot(s, n, x, xo, x, xo)), SN_EPS);
    for (int k = (int)get_local_id(0); k < n; k += (int)get_local_size(0)) out[k] = x[xo + k] * inv;
}

/* sigma[0] = sum_i u[i] t[to + i] (t = W v). One work-group. */
__kernel void sn_sigma(const int rows, __global const float *u, __global const float *t, const int to,
                       __global float *sigma, __local float *s)
{
    const float d = sn_dot(s, rows, u, 0, t, to);
    if (get_local_id(0) == 0) sigma[0] = d;
}

/* out[k] = w[k] / sigma[0]. */
__kernel void sn_scale(const int n, __global const float *w, __global const float *sigma, __global float *out)
{
    CGAN_1D_GUARD(k, n);
    out[k] = w[k] / sigma[0];
}

/* c[0] = <G, W_sn> = sum_k g[k] w[k] / sigma[0]. One work-group. */
__kernel void sn_gdot(const int n, __global const float *g, __global const float *w,
                      __global const float *sigma, __global float *c, __local float *s)
{
    const float d = sn_dot(s, n, g, 0, w, 0);
    if (get_local_id(0) == 0) c[0] = d / sigma[0];
}

/* dw[i, j] += (g[i, j] - c[0] u[i] v[j]) / sigma[0]. */
__kernel void sn_grad(const int rows, const int cols, __global const float *g, __global const float *u,
                      __global const float *v, __global const float *c, __global const float *sigma,
                      __global float *dw)
{
    CGAN_1D_GUARD(k, rows * cols);
    const int i = k / cols, j = k - i * cols;
    dw[k] += (g[k] - c[0] * u[i] * v[j]) / sigma[0];
}
