/* Losses: a mean over the batch in ONE work-group (local size a power of two, set by the
 * host), each work-item striding over the elements, then a tree in local memory. Backward
 * kernels read the incoming gradient dout[0] on the device. */

#define LOSS_BCE 0
#define LOSS_HINGE_D 1
#define LOSS_HINGE_G 2

int label_class(const float v, const int k)
{
    return (v >= 0.0f && v < (float)k) ? (int)v : -1;
}

/* The loss of one logit x; t is the BCE target or the hinge sign. */
float loss_term(const int mode, const float x, const float t)
{
    if (mode == LOSS_BCE) return fmax(x, 0.0f) - x * t + log1p(exp(-fabs(x)));
    if (mode == LOSS_HINGE_D) return fmax(1.0f - t * x, 0.0f);
    return -x;
}

/* d loss_term / dx. */
float loss_dterm(const int mode, const float x, const float t)
{
    if (mode == LOSS_BCE) {
        const float e = exp(-fabs(x));
        const float sig = x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        return sig - t;
    }
    if (mode == LOSS_HINGE_D) return 1.0f - t * x > 0.0f ? -t : 0.0f;
    return -1.0f;
}

/* out[0] = mean_i loss_term(x[i]). Launch: one work-group. */
__kernel void loss_mean_fwd(const int n, const int mode, const float t, __global const float *x,
                            __global float *out, __local float *scratch)
{
    float acc = 0.0f;
    for (int i = (int)get_local_id(0); i < n; i += (int)get_local_size(0))
        acc += loss_term(mode, x[i], t);
    const float s = group_sum(scratch, acc);
    if (get_local_id(0) == 0) out[0] = s / (float)n;
}

/* dx[i] = dout[0] / n * loss_dterm(x[i]) (+ beta * dx[i]; beta 0 does not read dx). */
__kernel void loss_mean_bwd(const int n, const int mode, const float t, __global const float *x,
                            __global const float *dy, const float beta, __global float *dx)
{
    CGAN_1D_GUARD(i, n);
    const float g = dy[0] / (float)n * loss_dterm(mode, x[i], t);
    dx[i] = beta == 0.0f ? g : g + beta * dx[i];
}

/* Softmax cross-entropy: out[0] = mean_r (logsumexp(x[r,:]) - x[r, y_r]); rows with a
 * label out of range add 0. Launch: one work-group. */
__kernel void softmax_ce_fwd(const int rows, const int k, __global const float *x,
                             __global const float *labels, __global float *out,
                             __local float *scratch)
{
    float acc = 0.0f;
    for (int r = (int)get_local_id(0); r < rows; r += (int)get_local_size(0)) {
        const int cls = label_class(labels[r], k);
        if (cls < 0) continue;
        __global const float *xr = x + r * k;
        float m = xr[0];
        for (int j = 1; j < k; j++) m = fmax(m, xr[j]);
        float s = 0.0f;
        for (int j = 0; j < k; j++) s += exp(xr[j] - m);
        acc += m + log(s) - xr[cls];
    }
    const float s = group_sum(scratch, acc);
    if (get_local_id(0) == 0) out[0] = s / (float)rows;
}

/* dx[r, j] = dout[0] / rows * (softmax(x[r,:])_j - [j == y_r]); one work-item per row. */
__kernel void softmax_ce_bwd(const int rows, const int k, __global const float *x,
                             __global const float *labels, __global const float *dy,
                             const float beta, __global float *dx)
{
    CGAN_1D_GUARD(r, rows);
    const int cls = label_class(labels[r], k);
    const float g = dy[0] / (float)rows;
    __global const float *xr = x + r * k;
    __global float *dr = dx + r * k;
    float m = xr[0];
    for (int j = 1; j < k; j++) m = fmax(m, xr[j]);
    float s = 0.0f;
    for (int j = 0; j < k; j++) s += exp(xr[j] - m);
    const float inv = 1.0f / s;
    for (int j = 0; j < k; j++) {
        const float v = cls < 0 ? 0.0f : g * (exp(xr[j] - m) * inv - (j == cls ? 1.0f : 0.0f));
        dr[j] = beta == 0.0f ? v : v + beta * dr[j];
    }
}
