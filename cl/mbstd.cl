/* Minibatch standard deviation (src/ops/mbstd.c): x [N,C,H,W] -> y [N,C+1,H,W], the extra
 * plane of each sample holding s_g, the mean over the F = C*H*W features of the standard
 * deviation across the sample's group g (samples g*G .. min(g*G+G, N)-1). */

#define MBSTD_EPS 1e-8f

/* Mean and standard deviation of feature f across group g's members (gs of them). */
float mbstd_moments(__global const float *x, const int F, const int g0, const int gs, const int f, float *mu)
{
    float m = 0.0f;
    for (int j = 0; j < gs; j++) m += x[(g0 + j) * F + f];
    m /= (float)gs;
    float v = 0.0f;
    for (int j = 0; j < gs; j++) {
        const float d = x[(g0 + j) * F + f] - m;
        v += d * d;
    }
    *mu = m;
    return sqrt(v / (float)gs + MBSTD_EPS);
}

/* stat[g] = the mean over f of the standard deviation of feature f across group g: one
 * work-group per group (local size a power of two), its work-items taking features in
 * turn, summed in local memory. */
__kernel void mbstd_stat(const int F, const int N, const int G, __global const float *x, __global float *stat,
                         __local float *scratch)
{
    const int g = (int)get_group_id(0), g0 = g * G, gs = min(G, N - g0);
    float acc = 0.0f, mu;
    for (int f = (int)get_local_id(0); f < F; f += (int)get_local_size(0)) acc += mbstd_moments(x, F, g0, gs, f, &mu);
    const float s = group_sum(scratch, acc);
    if (get_local_id(0) == 0) stat[g] = s / (float)F;
}

/* y = x with the statistic plane appended. n = N*(C+1)*HW. */
__kernel void mbstd_fwd(const int n, const int C, const int HW, const int G, __global const float *x,
                        __global const float *stat, __global float *y)
{
    CGAN_1D_GUARD(i, n);
    const int p = i % HW, c = (i / HW) % (C + 1), s = i / (HW * (C + 1));
    y[i] = c < C ? x[(s * C + c) * HW + p] : stat[s / G];
}

/* dstat[g] = (sum over the group's members and HxW of dy's statistic plane) / F. n = M. */
__kernel void mbstd_dstat(const int M, const int N, const int C, const int HW, const int G,
                          __global const float *dy, __global float *dstat)
{
    CGAN_1D_GUARD(g, M);
    const int g0 = g * G, gs = min(G, N - g0);
    float s = 0.0f;
    for (int j = 0; j < gs; j++)
        for (int p = 0; p < HW; p++) s += dy[((g0 + j) * (C + 1) + C) * HW + p];
    dstat[g] = s / (float)(C * HW);
}

/* dx = dy[:, :C] + dstat[g] * (x - mu) / (gs * sd) (+ beta * dx; beta 0 does not read dx).
 * n = N*C*HW. */
__kernel void mbstd_bwd(const int n, const int C, const int HW, const int N, const int G,
                        __global const float *x, __global const float *dy, __global const float *dstat,
                        const float beta, __global float *dx)
{
    CGAN_1D_GUARD(i, n);
    const int F = C * HW, s = i / F, f = i % F, p = f % HW, c = f / HW;
    const int g = s / G, g0 = g * G, gs = min(G, N - g0);
    float mu;
    const float sd = mbstd_moments(x, F, g0, gs, f, &mu);
    const float d = dy[(s * (C + 1) + c) * HW + p] + dstat[g] * (x[i] - mu) / ((float)gs * sd);
    dx[i] = beta == 0.0f ? d : d + beta * dx[i];
}
