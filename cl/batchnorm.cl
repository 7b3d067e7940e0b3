/* BatchNorm2d over NCHW, plain (K == 0: gamma/beta [C]) and conditional (K > 0: tables
 * [K,C] indexed by the per-sample class label), with an optional activation fused into
 * the output. With z = (x - mean) * invstd * gamma + beta the output is
 *   y = z < 0 ? neg * z : z
 * neg = 1: plain batchnorm (y = z); neg = 0: ReLU; neg = slope >= 0: LeakyReLU. Because
 * the sign survives, backward takes the activation's derivative from the saved output:
 * dz = y > 0 ? dy : neg * dy, folded into the reductions and the dx pass.
 *
 * Work layout. A plane is the H*W values of one (sample, channel), contiguous in memory.
 * The plane kernels run on a 2-D range: dimension 0 holds BN_LANES lanes that share one
 * plane, dimension 1 the planes, several per work-group. Lane l takes the float4 blocks
 * l, l + BN_LANES, ... of its plane (vload4 needs only float alignment) and then the
 * scalar tail. BN_LANES is a power of two given as a build option: 1 on CPUs (one
 * work-item walks a whole plane with vector loads, no barrier), more on GPUs (coalesced
 * loads, a local-memory tree per plane). Statistics are reduced in two levels: exact
 * per-plane mean and sum of squared deviations (the plane is in cache for its second
 * pass), then one work-item per channel combines the planes (Chan et al.), so x is read
 * from memory once and the variance does not cancel. */

#ifndef BN_LANES
#define BN_LANES 1
#endif

/* Class of sample n: the label clamped into [0, K), or 0 for plain batchnorm. */
int bn_class(__global const float *labels, const int K, const int n)
{
    if (K <= 0) return 0;
    return clamp((int)labels[n], 0, K - 1);
}

/* Inverse standard deviation of channel c: stat holds it (is_var == 0, the batch
 * statistics saved by bn_stats_final) or holds the running variance (is_var != 0). */
float bn_invstd(__global const float *stat, const int is_var, const float eps, const int c)
{
    return is_var ? 1.0f / sqrt(stat[c] + eps) : stat[c];
}

float hsum4(const float4 v)
{
    return (v.x + v.y) + (v.z + v.w);
}

/* The sum of v over the lanes of this work-item's plane; every lane gets it. red holds
 * one float per work-item of the group. All work-items of the group must call it. */
#if BN_LANES > 1
float lane_sum(__local float *red, const float v)
{
    const int l = (int)get_local_id(0), row = (int)get_local_id(1) * BN_LANES;
    red[row + l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = BN_LANES / 2; s > 0; s >>= 1) {
        if (l < s) red[row + l] += red[row + l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = red[row];
    barrier(CLK_LOCAL_MEM_FENCE); /* red may be reused at once */
    return r;
}
#else
#define lane_sum(red, v) (v)
#endif

/* Training statistics, level 1: for plane g (n * C + c), part[g] = its sum and
 * part[NC + g] = the sum of squared deviations from its own mean. Planes past NC run
 * empty so that every lane reaches the barriers. */
__kernel void bn_stats_part(const int NC, const int HW, __global const float *x,
                            __global float *part, __local float *red)
{
    const int g = (int)get_global_id(1), lane = (int)get_local_id(0);
    const int hw = g < NC ? HW : 0, nb = hw >> 2;
    __global const float *xp = x + (size_t)(g < NC ? g : 0) * (size_t)HW;
    float4 s4 = (float4)(0.0f);
    for (int b = lane; b < nb; b += BN_LANES) s4 += vload4(b, xp);
    float s = hsum4(s4);
    for (int p = 4 * nb + lane; p < hw; p += BN_LANES) s += xp[p];
    s = lane_sum(red, s);
    const float m = hw ? s / (float)hw : 0.0f;
    float4 q4 = (float4)(0.0f);
    for (int b = lane; b < nb; b += BN_LANES) {
        const float4 d = vload4(b, xp) - m;
        q4 += d * d;
    }
    float q = hsum4(q4);
    for (int p = 4 * nb + lane; p < hw; p += BN_LANES) {
        const float d = xp[p] - m;
        q += d * d;
    }
    q = lane_sum(red, q);
    if (lane == 0 && g < NC) {
        part[g] = s;
        part[NC + g] = q;
    }
}

/* Training statistics, level 2, one work-item per channel: the batch mean and biased
 * variance from the N planes; mean_out = mean, invstd_out = 1/sqrt(var + eps); the
 * running statistics move towards mean and the unbiased variance by momentum. */
__kernel void bn_stats_final(const int N, const int C, const int HW, const float eps,
                             const float momentum, __global const float *part,
                             __global float *mean_out, __global float *invstd_out,
                             __global float *run_mean, __global float *run_var)
{
    CGAN_1D_GUARD(c, C);
    const int NC = N * C;
    const float M = (float)N * (float)HW, hw = (float)HW;
    float s = 0.0f;
    for (int n = 0; n < N; n++) s += part[n * C + c];
    const float mean = s / M;
    float q = 0.0f;
    for (int n = 0; n < N; n++) {
        const float d = part[n * C + c] / hw - mean;
        q += part[NC + n * C + c] + hw * d * d;
    }
    const float var = q / M;
    mean_out[c] = mean;
    invstd_out[c] = 1.0f / sqrt(var + eps);
    const float unbiased = M > 1.0f ? var * (M / (M - 1.0f)) : var;
    run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * mean;
    run_var[c] = (1.0f - momentum) * run_var[c] + momentum * unbiased;
}

/* y = act((x - mean) * invstd * gamma + beta), one pass. */
__kernel void bn_apply(const int NC, const int C, const int HW, const int K,
                       __global const float *labels, __global const float *x,
                       __global const float *mean, __global const float *stat, const int is_var,
                       const float eps, __global const float *gamma, __global const float *beta,
                       const float neg, __global float *y)
{
    const int g = (int)get_global_id(1), lane = (int)get_local_id(0);
    if (g >= NC) return; /* no barrier in this kernel */
    const int c = g % C, pi = bn_class(labels, K, g / C) * C + c, nb = HW >> 2;
    const float m = mean[c], sc = bn_invstd(stat, is_var, eps, c) * gamma[pi], sh = beta[pi];
    __global const float *xp = x + (size_t)g * (size_t)HW;
    __global float *yp = y + (size_t)g * (size_t)HW;
    for (int b = lane; b < nb; b += BN_LANES) {
        const float4 z = (vload4(b, xp) - m) * sc + sh;
        vstore4(select(z, neg * z, z < 0.0f), b, yp);
    }
    for (int p = 4 * nb + lane; p < HW; p += BN_LANES) {
        const float z = (xp[p] - m) * sc + sh;
        yp[p] = z < 0.0f ? neg * z : z;
    }
}

/* Backward, level 1, per plane g: part[g] = sum dz, part[NC + g] = sum dz * xhat, with
 * dz = dy where y > 0 and neg * dy elsewhere (y is not read when neg == 1). */
__kernel void bn_bwd_part(const int NC, const int C, const int HW, __global const float *x,
                          __global const float *y, __global const float *dy,
                          __global const float *mean, __global const float *stat,
                          const int is_var, const float eps, const float neg,
                          __global float *part, __local float *red)
{
    const int g = (int)get_global_id(1), lane = (int)get_local_id(0);
    const int gg = g < NC ? g : 0, hw = g < NC ? HW : 0, nb = hw >> 2, c = gg % C;
    const size_t off = (size_t)gg * (size_t)HW;
    __global const float *xp = x + off, *yp = y + off, *dp = dy + off;
    const float m = mean[c];
    const int masked = neg != 1.0f;
    float4 a4 = (float4)(0.0f), b4 = (float4)(0.0f);
    for (int b = lane; b < nb; b += BN_LANES) {
        float4 d = vload4(b, dp);
        if (masked) d = select(neg * d, d, vload4(b, yp) > 0.0f);
        a4 += d;
        b4 += d * (vload4(b, xp) - m);
    }
    float s1 = hsum4(a4), s2 = hsum4(b4);
    for (int p = 4 * nb + lane; p < hw; p += BN_LANES) {
        float d = dp[p];
        if (masked && !(yp[p] > 0.0f)) d *= neg;
        s1 += d;
        s2 += d * (xp[p] - m);
    }
    s1 = lane_sum(red, s1);
    s2 = lane_sum(red, s2);
    if (lane == 0 && g < NC) {
        part[g] = s1;
        part[NC + g] = s2 * bn_invstd(stat, is_var, eps, c);
    }
}

/* Backward, level 2: one work-item per channel sums the per-sample parts over the batch.
 * dgamma[k,c] += sum dz*xhat and dbeta[k,c] += sum dz over the samples of class k (when
 * wanted); ab[c] = mean of gamma_n * dz, ab[C + c] = mean of gamma_n * dz * xhat, the two
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

/* Backward, level 3: the input gradient, one pass, with ab = work + ab_off and dz as in
 * bn_bwd_part.
 * train: dx = invstd * (gamma_n * dz - ab[c] - xhat * ab[C + c]) (batch statistics);
 * eval:  dx = gamma_n * invstd * dz (neither ab nor x is read).
 * beta == 0 overwrites dx without reading it; otherwise dx = g + beta * dx. */
__kernel void bn_bwd_dx(const int NC, const int C, const int HW, const int K,
                        __global const float *labels, __global const float *x,
                        __global const float *y, __global const float *dy,
                        __global const float *mean, __global const float *stat, const int is_var,
                        const float eps, __global const float *gamma, __global const float *work,
                        const int ab_off, const int train, const float neg, const float beta,
                        __global float *dx)
{
    const int g = (int)get_global_id(1), lane = (int)get_local_id(0);
    if (g >= NC) return; /* no barrier in this kernel */
    const int c = g % C, nb = HW >> 2;
    const float sd = bn_invstd(stat, is_var, eps, c), m = mean[c];
    const float k1 = sd * gamma[bn_class(labels, K, g / C) * C + c];
    const float k0 = train ? sd * work[ab_off + c] : 0.0f;
    const float k2 = train ? sd * sd * work[ab_off + C + c] : 0.0f;
    const int masked = neg != 1.0f;
    const size_t off = (size_t)g * (size_t)HW;
    __global const float *xp = x + off, *yp = y + off, *dp = dy + off;
    __global float *op = dx + off;
    for (int b = lane; b < nb; b += BN_LANES) {
        float4 d = vload4(b, dp);
        if (masked) d = select(neg * d, d, vload4(b, yp) > 0.0f);
        float4 v = k1 * d;
        if (train) v -= k0 + (vload4(b, xp) - m) * k2;
        if (beta != 0.0f) v += beta * vload4(b, op);
        vstore4(v, b, op);
    }
    for (int p = 4 * nb + lane; p < HW; p += BN_LANES) {
        float d = dp[p];
        if (masked && !(yp[p] > 0.0f)) d *= neg;
        float v = k1 * d;
        if (train) v -= k0 + (xp[p] - m) * k2;
        op[p] = beta == 0.0f ? v : v + beta * op[p];
    }
}
