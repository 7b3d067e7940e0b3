/* Projection discriminator term: out[r] = sum_c E[y_r, c] * sum_hw x[r, c, hw]. */

int label_class(const float v, const int k)
{
    return (v >= 0.0f && v < (float)k) ? (int)v : -1;
}

/* One work-group per row r (launched with exactly rows groups). */
__kernel void projection_fwd(const int rows, const int c, const int hw, const int k,
                             __global const float *x, __global const float *labels,
                             __global const float *e, __global float *out,
                             __local float *scratch)
{
    const int r = (int)get_group_id(0);
    if (r >= rows) return; /* whole group: no barrier is skipped by part of it */
    const int cls = label_class(labels[r], k);
    float acc = 0.0f;
    if (cls >= 0) {
        __global const float *xr = x + r * c * hw;
        __global const float *er = e + cls * c;
        for (int j = (int)get_local_id(0); j < c * hw; j += (int)get_local_size(0))
            acc += xr[j] * er[j / hw];
    }
    const float s = group_sum(scratch, acc);
    if (get_local_id(0) == 0) out[r] = s;
}

/* dx[r, ch, p] = dout[r] * E[y_r, ch] (+ beta * dx). n = rows*c*hw. */
__kernel void projection_bwd_x(const int n, const int c, const int hw, const int k,
                               __global const float *labels, __global const float *e,
                               __global const float *dy, const float beta, __global float *dx)
{
    CGAN_1D_GUARD(i, n);
    const int r = i / (c * hw);
    const int ch = (i / hw) % c;
    const int cls = label_class(labels[r], k);
    const float g = cls >= 0 ? dy[r] * e[cls * c + ch] : 0.0f;
    dx[i] = beta == 0.0f ? g : g + beta * dx[i];
}

/* dE[cls, ch] += sum over rows r with label cls of dout[r] * sum_hw x[r, ch, hw].
 * One work-item per (cls, ch): no two work-items write the same element. */
__kernel void projection_bwd_e(const int rows, const int c, const int hw, const int k,
                               __global const float *x, __global const float *labels,
                               __global const float *dy, __global float *de)
{
    CGAN_1D_GUARD(i, k * c);
    const int cls = i / c, ch = i - cls * c;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) {
        if (label_class(labels[r], k) != cls) continue;
        __global const float *xp = x + (r * c + ch) * hw;
        float t = 0.0f;
        for (int p = 0; p < hw; p++) t += xp[p];
        s += dy[r] * t;
    }
    de[i] += s;
}
