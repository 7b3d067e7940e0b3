/* The table of numerical self-checks (cgan-cl selftest, tests). */
#include <math.h>
#include "selftest.h"
#include "runtime/runtime.h"
#include "ops/elementwise.h"
#include "optim/optim.h"
#include "ops/dense.h"
#include "ops/norm.h"
#include "core/random.h"
#include "ops/conv2d.h"
#include "ops/diffaug.h"
#include "ops/spectral_norm.h"
#include "ops/mbstd.h"

static const cgan_check checks[] = {
    { "elementwise.axpby", cgan_check_axpby },
    { "optim.adam", cgan_check_adam },
    { "optim.ema", cgan_check_ema },
    { "random.philox", cgan_check_random },
    { "op.conv2d", cgan_selfcheck_conv2d },
    { "op.deconv2d", cgan_selfcheck_deconv2d },
    { "op.batchnorm", cgan_selfcheck_batchnorm },
    { "op.cond_batchnorm", cgan_selfcheck_cond_batchnorm },
    { "op.batchnorm_act", cgan_selfcheck_batchnorm_act },
    { "op.activation", cgan_selfcheck_activation },
    { "op.dropout", cgan_selfcheck_dropout },
    { "op.linear", cgan_selfcheck_linear },
    { "op.embedding", cgan_selfcheck_embedding },
    { "op.embed_mean", cgan_selfcheck_embed_mean },
    { "op.onehot", cgan_selfcheck_onehot },
    { "op.concat", cgan_selfcheck_concat },
    { "op.reshape", cgan_selfcheck_reshape },
    { "op.add", cgan_selfcheck_add },
    { "op.mul", cgan_selfcheck_mul },
    { "op.projection", cgan_selfcheck_projection },
    { "op.loss_bce", cgan_selfcheck_loss_bce },
    { "op.loss_hinge_d", cgan_selfcheck_loss_hinge_d },
    { "op.loss_hinge_g", cgan_selfcheck_loss_hinge_g },
    { "op.loss_softmax_ce", cgan_selfcheck_loss_softmax_ce },
    { "op.diffaug", cgan_selfcheck_diffaug },
    { "op.spectral_norm", cgan_selfcheck_spectral_norm },
    { "op.mbstd", cgan_selfcheck_mbstd },
};

int cgan_check_count(void)
{
    return (int)(sizeof checks / sizeof checks[0]);
}

const cgan_check *cgan_check_at(int i)
{
    return (i >= 0 && i < cgan_check_count()) ? &checks[i] : 0;
}

double cgan_max_rel_err(const float *got, const double *ref, size_t n)
{
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    if (scale < 1e-6) scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) return INFINITY; /* poisoned or unwritten elements */
        double d = fabs((double)got[i] - ref[i]) / scale;
        if (d > worst) worst = d;
    }
    return worst;
}

const char *cgan_check_name(int i)
{
    const cgan_check *c = cgan_check_at(i);
    return c ? c->name : NULL;
}

cgan_status cgan_check_run(cgan_ctx *ctx, int i, cgan_check_result *res)
{
    cgan_check_result dummy = { 0, 0 };
    const cgan_check *c = cgan_check_at(i);
    if (!c) return cgan_error(ctx, CGAN_E_NOT_FOUND, "self-check %d: no such check (%d registered)", i,
                              cgan_check_count());
    return c->run(ctx, res ? res : &dummy);
}
