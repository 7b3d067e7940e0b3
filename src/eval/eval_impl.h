/* Evaluation internals (the API is cgan/eval.h). */
#ifndef CGAN_EVAL_IMPL_H
#define CGAN_EVAL_IMPL_H
#include "cgan/cgan.h"
#include "cgan/eval.h"

struct cgan_featnet {
    cgan_ctx *ctx;
    int size, channels, num_classes, dim;
    int nw, widths[8];           /* conv widths, one stride-2 stage each */
    uint64_t key;                /* the cache key it was trained for (0: unknown) */
    double test_acc, train_s;
    int epochs, train_images;
    cgan_graph *g;               /* batches of 100, eval passes (a training plan: see featnet.c) */
    int in, feat, logits;
};

/* Index of the largest of v[0..n). */
int cgan_eval_argmax(const float *v, int n);
/* Images idx[0..n) of ds (idx NULL: 0..n-1) as floats in [-1, 1], NCHW, the loader's
 * mapping. */
cgan_status cgan_eval_read_images(cgan_ctx *ctx, const cgan_dataset *ds, const int *idx, int n, float *out);
#endif
