/* The dense ops (linear, embedding, one-hot, concat, reshape, add, mul, projection and
 * the losses): their self-checks for `cgan-cl selftest`, and small helpers their files share. */
#ifndef CGAN_OPS_DENSE_H
#define CGAN_OPS_DENSE_H
#include "core/selftest.h"
#include "core/graph.h"
#include "core/opcheck.h"

/* Self-checks: each builds a tiny odd-shaped graph holding the op and runs cgan_opcheck. */
cgan_status cgan_selfcheck_linear(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_embedding(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_embed_mean(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_onehot(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_concat(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_reshape(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_add(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_mul(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_projection(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_loss_bce(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_loss_hinge_d(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_loss_hinge_g(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_loss_softmax_ce(cgan_ctx *ctx, cgan_check_result *res);

/* ---- shared by the dense op files ------------------------------------------------ */

/* A builder's size check: every tensor the kernels index must fit a 32-bit int. */
static inline int cgan_dense_fits_int(cgan_shape s)
{
    return s.n > 0 && s.c > 0 && s.h > 0 && s.w > 0 && cgan_numel(s) <= 0x7fffffffu;
}

/* Class index of a label stored as a float, -1 when outside [0, k). Kernels use the same rule. */
static inline int cgan_dense_class(double v, int k)
{
    if (!(v >= 0.0) || v >= (double)k) return -1;
    return (int)v;
}

/* Reference: write a gradient element honouring din_beta (0: overwrite without reading). */
static inline void cgan_dense_put(double *d, double beta, double v)
{
    *d = beta == 0.0 ? v : v + beta * *d;
}

/* The largest power of two <= min(256, max) work-group size for a reduction kernel. */
static inline size_t cgan_dense_pow2_wg(size_t max)
{
    size_t l = 1;
    while (l * 2 <= max && l * 2 <= 256) l *= 2;
    return l;
}
#endif
