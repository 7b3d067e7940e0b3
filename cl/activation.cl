/* Activations: kind 0 ReLU, 1 LeakyReLU(slope), 2 Tanh, 3 Sigmoid (enum cgan_act). */

__kernel void act_fwd(const int n, const int kind, const float slope, __global const float *x,
                      __global float *y)
{
    CGAN_1D_GUARD(i, n);
    const float v = x[i];
    float r;
    switch (kind) {
    case 0: r = v < 0.0f ? 0.0f : v; break;        /* NaN passes through, as in PyTorch */
    case 1: r = v < 0.0f ? slope * v : v; break;
    case 2: r = tanh(v); break;
    default: r = 1.0f / (1.0f + exp(-v)); break;
    }
    y[i] = r;
}

/* dx = f'(.) * dy: from the input x for (leaky) ReLU, from the output y for tanh and
 * sigmoid. beta == 0 overwrites dx without reading it; otherwise dx = g + beta * dx. */
__kernel void act_bwd(const int n, const int kind, const float slope, __global const float *x,
                      __global const float *y, __global const float *dy, const float beta,
                      __global float *dx)
{
    CGAN_1D_GUARD(i, n);
    float d;
    switch (kind) {
    case 0: d = x[i] > 0.0f ? 1.0f : 0.0f; break;
    case 1: d = x[i] > 0.0f ? 1.0f : slope; break;
    case 2: { const float t = y[i]; d = 1.0f - t * t; } break;
    default: { const float s = y[i]; d = s * (1.0f - s); } break;
    }
    const float g = d * dy[i];
    dx[i] = (beta == 0.0f) ? g : g + beta * dx[i];
}
