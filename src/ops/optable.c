/* The op table: every op's device forward/backward and its C reference, by op type. */
#include "ops/defs.h"

static const cgan_op_def *const table[] = {
    [CGAN_OP_CONV2D] = &cgan_op_conv2d_def,
    [CGAN_OP_DECONV2D] = &cgan_op_deconv2d_def,
    [CGAN_OP_BATCHNORM] = &cgan_op_batchnorm_def,
    [CGAN_OP_ACTIVATION] = &cgan_op_activation_def,
    [CGAN_OP_LINEAR] = &cgan_op_linear_def,
    [CGAN_OP_EMBEDDING] = &cgan_op_embedding_def,
    [CGAN_OP_EMBED_MEAN] = &cgan_op_embed_mean_def,
    [CGAN_OP_CONCAT] = &cgan_op_concat_def,
    [CGAN_OP_RESHAPE] = &cgan_op_reshape_def,
    [CGAN_OP_ADD] = &cgan_op_add_def,
    [CGAN_OP_MUL] = &cgan_op_mul_def,
    [CGAN_OP_DROPOUT] = &cgan_op_dropout_def,
    [CGAN_OP_PROJECTION] = &cgan_op_projection_def,
    [CGAN_OP_ONEHOT] = &cgan_op_onehot_def,
    [CGAN_OP_LOSS_BCE] = &cgan_op_loss_bce_def,
    [CGAN_OP_LOSS_HINGE_D] = &cgan_op_loss_hinge_d_def,
    [CGAN_OP_LOSS_HINGE_G] = &cgan_op_loss_hinge_g_def,
    [CGAN_OP_LOSS_SOFTMAX_CE] = &cgan_op_loss_softmax_ce_def,
    [CGAN_OP_DIFFAUG] = &cgan_op_diffaug_def,
    [CGAN_OP_SPECTRAL_NORM] = &cgan_op_spectral_norm_def,
    [CGAN_OP_MBSTD] = &cgan_op_mbstd_def,
};
_Static_assert(sizeof table / sizeof table[0] == CGAN_OP_COUNT,
               "the op table and cgan_op_type differ in length");

const cgan_op_def *cgan_op_get(cgan_op_type t)
{
    if ((int)t < 0 || t >= CGAN_OP_COUNT) return 0;
    return table[t];
}
