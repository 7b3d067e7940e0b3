/* Mean of word embeddings over the tokens of each row (the text encoder's first half).
 * Token ids are floats; an id outside [0, vocab) is padding (the pad is -1) and ignored. */

/* The word index of a token, -1 for padding (the host reference uses the same rule). */
int token_word(const float v, const int vocab)
{
    return (v >= 0.0f && v < (float)vocab) ? (int)v : -1;
}

/* y[r, d] = mean over the words w of row r of W[w, d]; 0 for a row of padding only. */
__kernel void embed_mean_fwd(const int n, const int len, const int dim, const int vocab,
                             __global const float *tokens, __global const float *w,
                             __global float *y)
{
    CGAN_1D_GUARD(i, n);
    const int r = i / dim, d = i - r * dim;
    float s = 0.0f;
    int count = 0;
    for (int l = 0; l < len; l++) {
        const int t = token_word(tokens[r * len + l], vocab);
        if (t >= 0) {
            s += w[t * dim + d];
            count++;
        }
    }
    y[i] = count ? s / (float)count : 0.0f;
}

/* dW[v, d] += sum over rows r of (occurrences of v in r) * dy[r, d] / (words in r). One
 * work-item per (v, d) walks every token, so no two work-items write the same element
 * (no atomics). */
__kernel void embed_mean_bwd(const int rows, const int len, const int dim, const int vocab,
                             __global const float *tokens, __global const float *dy,
                             __global float *dw)
{
    CGAN_1D_GUARD(i, vocab * dim);
    const int v = i / dim, d = i - v * dim;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) {
        int count = 0, hits = 0;
        for (int l = 0; l < len; l++) {
            const int t = token_word(tokens[r * len + l], vocab);
            count += t >= 0;
            hits += t == v;
        }
        if (hits) s += (float)hits * dy[r * dim + d] / (float)count;
    }
    dw[i] += s;
}
