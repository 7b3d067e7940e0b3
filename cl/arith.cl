/* Backward of the element-wise product node (forward uses cl/elementwise.cl). */

/* din[i] = dout[i] * other[i] (+ beta * din[i]; beta 0 does not read din). */
__kernel void mul_bwd(const int n, __global const float *dy, __global const float *other,
                      const float beta, __global float *din)
{
    CGAN_1D_GUARD(i, n);
    const float g = dy[i] * other[i];
    din[i] = beta == 0.0f ? g : g + beta * din[i];
}
