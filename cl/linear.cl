/* Linear layer helpers; the products themselves are GEMMs (src/blas). */

/* y[r, o] += b[o] over rows x out elements. */
__kernel void linear_bias_fwd(const int n, const int out, __global const float *b,
                              __global float *y)
{
    CGAN_1D_GUARD(i, n);
    y[i] += b[i % out];
}

/* db[o] += sum_r dy[r, o]: one work-item per output feature, loads coalesced across o. */
__kernel void linear_bias_bwd(const int rows, const int out, __global const float *dy,
                              __global float *db)
{
    CGAN_1D_GUARD(o, out);
    float s = 0.0f;
    for (int r = 0; r < rows; r++) s += dy[r * out + o];
    db[o] += s;
}
