/* Adam (PyTorch's formulation) over a flat parameter range, one element per work-item.
 * The host computes the bias corrections in double and passes
 *   step        = lr / (1 - beta1^t)
 *   inv_sqrt_bc2 = 1 / sqrt(1 - beta2^t)
 * so that  param -= step * m / (sqrt(v) * inv_sqrt_bc2 + eps). */
__kernel void adam_step(const int n, const float step, const float inv_sqrt_bc2,
                        const float beta1, const float one_minus_beta1,
                        const float beta2, const float one_minus_beta2,
                        const float eps, const float weight_decay,
                        __global float *param, __global const float *grad,
                        __global float *m, __global float *v)
{
    CGAN_1D_GUARD(i, n);
    float p = param[i];
    float g = grad[i];
    if (weight_decay != 0.0f) g += weight_decay * p;   /* decay added to the gradient */
    float mi = beta1 * m[i] + one_minus_beta1 * g;
    float vi = beta2 * v[i] + one_minus_beta2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    param[i] = p - step * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
}
