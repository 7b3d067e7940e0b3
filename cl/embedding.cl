/* Embedding lookup and one-hot encoding of class labels stored as floats. */

/* Class index of a label, -1 when outside [0, k) (the host reference uses the same rule). */
int label_class(const float v, const int k)
{
    return (v >= 0.0f && v < (float)k) ? (int)v : -1;
}

/* y[r, d] = W[label_r, d]; 0 for a label out of range. */
__kernel void embedding_fwd(const int n, const int dim, const int k,
                            __global const float *labels, __global const float *w,
                            __global float *y)
{
    CGAN_1D_GUARD(i, n);
    const int r = i / dim, d = i - r * dim;
    const int c = label_class(labels[r], k);
    y[i] = c >= 0 ? w[c * dim + d] : 0.0f;
}

/* dW[c, d] += sum over rows r with label c of dy[r, d]. One work-item per (c, d) walks the
 * batch, so no two work-items write the same element (no atomics). */
__kernel void embedding_bwd(const int rows, const int dim, const int k,
                            __global const float *labels, __global const float *dy,
                            __global float *dw)
{
    CGAN_1D_GUARD(i, k * dim);
    const int c = i / dim, d = i - c * dim;
    float s = 0.0f;
    for (int r = 0; r < rows; r++)
        if (label_class(labels[r], k) == c) s += dy[r * dim + d];
    dw[i] += s;
}

/* y[r, c] = 1 where c is row r's label, else 0. */
__kernel void onehot_fwd(const int n, const int k, __global const float *labels,
                         __global float *y)
{
    CGAN_1D_GUARD(i, n);
    const int r = i / k, c = i - r * k;
    y[i] = label_class(labels[r], k) == c ? 1.0f : 0.0f;
}
