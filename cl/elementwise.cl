/* Element-wise kernels over flat float arrays. */

/* y[i] = a * x[i] + b * y[i]; with b == 0, y is not read (it may hold garbage). */
__kernel void axpby(const int n, const float a, __global const float *x, const float b,
                    __global float *y)
{
    CGAN_1D_GUARD(i, n);
    y[i] = (b == 0.0f) ? a * x[i] : a * x[i] + b * y[i];
}

/* y[i] = value */
__kernel void fill(const int n, const float value, __global float *y)
{
    CGAN_1D_GUARD(i, n);
    y[i] = value;
}

/* z[i] = x[i] + y[i] */
__kernel void add(const int n, __global const float *x, __global const float *y,
                  __global float *z)
{
    CGAN_1D_GUARD(i, n);
    z[i] = x[i] + y[i];
}

/* z[i] = x[i] * y[i] */
__kernel void mul(const int n, __global const float *x, __global const float *y,
                  __global float *z)
{
    CGAN_1D_GUARD(i, n);
    z[i] = x[i] * y[i];
}

/* y[first + i] = value for i < n (device-side fill, so tools such as Oclgrind see the
 * writes; clEnqueueFillBuffer is not tracked as initialisation there). */
__kernel void fill_range(const int n, const int first, const float value, __global float *y)
{
    CGAN_1D_GUARD(i, n);
    y[first + i] = value;
}
