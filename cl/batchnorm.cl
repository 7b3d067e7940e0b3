/* BatchNorm2d over NCHW, plain (K == 0: gamma/beta [C]) and conditional (K > 0: tables
 * [K,C] indexed by the per-sample class label). Statistics are reduced in float by one
 * work-group per channel (or per sample and channel), each work-item summing a strided
 * slice and the group finishing with a tree in local memory; the variance takes a second
 * pass over x - mean so that it does not cancel. Work-group sizes are powers of two. */

/* The sum of v over the work-group; every work-item gets it. red holds local_size floats. */
float wg_sum(__local float *red, const float v)
{
    const int lid = (int)get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* red may be reused at once */
    return r;
}

/* Class of sample n: the label clamped into [0, K), or 0 for plain batchnorm. */
int bn_class(__global const float *labels, const int K, const int n)
{
    if (K <= 0) return 0;
    return clamp((int)labels[n], 0, K - 1);
}

/* Per-channel batch statistics in training mode: one work-group per channel.
 * mean_out = mean, invstd_out = 1/sqrt(biased var + eps); the running statistics move
 * towards mean and the unbiased variance by momentum. */
__kernel void bn_stats(const int N, const int C, const int HW, const float eps,
                       const float momentum, __global const float *x, __global float *mean_out,
                       __global float *invstd_out, __global float *run_mean,
                       __global float *run_var, __local float *red)
{
    const int c = (int)get_group_id(0);
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    if (c >= C) return; /* whole groups only */
    const int M = N * HW;
    float s = 0.0f;
    for (int e = lid; e < M; e += wg) {
        const int n = e / HW;
        s += x[(n * C + c) * HW + (e - n * HW)];
    }
    const float mean = wg_sum(red, s) / (float)M;
    float q = 0.0f;
    for (int e = lid; e < M; e += wg) {
        const int n = e / HW;
        const float d = x[(n * C + c) * HW + (e - n * HW)] - mean;
        q += d * d;
    }
    const float var = wg_sum(red, q) / (float)M;
    if (lid == 0) {
        mean_out[c] = mean;
        invstd_out[c] = 1.0f / sqrt(var + eps);
        const float unbiased = M > 1 ? var * ((float)M / (float)(M - 1)) : var;
        run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * mean;
        run_var[c] = (1.0f - momentum) * run_var[c] + momentum * unbiased;
    }
}

/* Inverse standard deviation of channel c: stat holds it (is_var == 0, the batch
 * statistics saved by bn_stats) or holds the running variance (is_var != 0). */
float bn_invstd(__global const float *stat, const int is_var, const float eps, const int c)
{
    return is_var ? 1.0f / sqrt(stat[c] + eps) : stat[c];
}

/* y = (x - mean) * invstd * gamma + beta, element-wise. */
__kernel void bn_apply(const int total, const int C, const int HW, const int K,
                       __global const float *labels, __global const float *x,
                       __global const float *mean, __global const float *stat, const int is_var,
                       const float eps, __global const float *gamma, __global const float *beta,
                       __global float *y)
{
    CGAN_1D_GUARD(i, total);
    const int nc = i / HW, c = nc % C, n = nc / C;
    const int p = bn_class(labels, K, n) * C + c;
    y[i] = (x[i] - mean[c]) * bn_invstd(stat, is_var, eps, c) * gamma[p] + beta[p];
}

/* Backward, step 1: one work-group per (n, c) reduces over H*W:
 * part[n*C + c] = sum dy, part[N*C + n*C + c] = sum dy * xhat. */
__kernel void bn_bwd_partial(const int N, const int C, const int HW, __global const float *x,
                             __global const float *dy, __global const float *mean,
                             __global const float *stat, const int is_var, const float eps,
                             __global float *part, __local float *red)
{
    const int g = (int)get_group_id(0);
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    if (g >= N * C) return; /* whole groups only */
    const int c = g % C;
    const float m = mean[c], sd = bn_invstd(stat, is_var, eps, c);
    float s1 = 0.0f, s2 = 0.0f;
    for (int p = lid; p < HW; p += wg) {
        const float d = dy[g * HW + p];
        s1 += d;
        s2 += d * (x[g * HW + p] - m) * sd;
    }
    s1 = wg_sum(red, s1);
    s2 = wg_sum(red, s2);
    if (lid == 0) {
        part[g] = s1;
        part[N * C + g] = s2;
    }
}

/* Backward, step 2: one work-item per channel sums the per-sample parts over the batch.
 * dgamma[k,c] += sum dy*xhat and dbeta[k,c] += sum dy over the samples of class k (when
 * wanted); ab[c] = mean of gamma_n * dy, ab[C + c] = mean of gamma_n * dy * xhat, the two
 * batch terms of the input gradient, written after the partial sums: ab = part + 2*N*C. */
__kernel void bn_bwd_reduce(const int N, const int C, const int K, __global const float *labels,
                            __global const float *gamma, __global float *part,
                            const int want_dgamma, __global float *dgamma,
                            const int want_dbeta, __global float *dbeta, const float inv_m)
{
    CGAN_1D_GUARD(c, C);
    __global float *ab = part + 2 * N * C;
    float a = 0.0f, b = 0.0f;
    for (int n = 0; n < N; n++) {
        const int p = bn_class(labels, K, n) * C + c;
        const float s1 = part[n * C + c], s2 = part[N * C + n * C + c];
        a += gamma[p] * s1;
        b += gamma[p] * s2;
        if (want_dgamma) dgamma[p] += s2;
        if (want_dbeta) dbeta[p] += s1;
    }
    ab[c] = a * inv_m;
    ab[C + c] = b * inv_m;
}

/* Backward, step 3: the input gradient, element-wise, with ab = work + ab_off.
 * train: dx = invstd * (gamma_n * dy - ab[c] - xhat * ab[C + c]) (batch statistics);
 * eval:  dx = gamma_n * invstd * dy (ab is not read).
 * beta == 0 overwrites dx without reading it; otherwise dx = g + beta * dx. */
__kernel void bn_bwd_dx(const int total, const int C, const int HW, const int K,
                        __global const float *labels, __global const float *x,
                        __global const float *dy, __global const float *mean,
                        __global const float *stat, const int is_var, const float eps,
                        __global const float *gamma, __global const float *work,
                        const int ab_off, const int train, const float beta, __global float *dx)
{
    CGAN_1D_GUARD(i, total);
    __global const float *ab = work + ab_off;
    const int nc = i / HW, c = nc % C, n = nc / C;
    const float gm = gamma[bn_class(labels, K, n) * C + c];
    const float sd = bn_invstd(stat, is_var, eps, c);
    float g;
    if (train) {
        const float xhat = (x[i] - mean[c]) * sd;
        g = sd * (gm * dy[i] - ab[c] - xhat * ab[C + c]);
    } else {
        g = gm * sd * dy[i];
    }
    dx[i] = (beta == 0.0f) ? g : g + beta * dx[i];
}
