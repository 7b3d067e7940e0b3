/* The op definitions, one per src/ops/<op>.c, gathered by the op table (optable.c). */
#ifndef CGAN_OPS_DEFS_H
#define CGAN_OPS_DEFS_H
#include "ops/op.h"

extern const cgan_op_def cgan_op_conv2d_def;
extern const cgan_op_def cgan_op_deconv2d_def;
extern const cgan_op_def cgan_op_batchnorm_def;
extern const cgan_op_def cgan_op_activation_def;
extern const cgan_op_def cgan_op_linear_def;
extern const cgan_op_def cgan_op_embedding_def;
extern const cgan_op_def cgan_op_embed_mean_def;
extern const cgan_op_def cgan_op_concat_def;
extern const cgan_op_def cgan_op_reshape_def;
extern const cgan_op_def cgan_op_add_def;
extern const cgan_op_def cgan_op_mul_def;
extern const cgan_op_def cgan_op_dropout_def;
extern const cgan_op_def cgan_op_projection_def;
extern const cgan_op_def cgan_op_onehot_def;
extern const cgan_op_def cgan_op_loss_bce_def;
extern const cgan_op_def cgan_op_loss_hinge_d_def;
extern const cgan_op_def cgan_op_loss_hinge_g_def;
extern const cgan_op_def cgan_op_loss_softmax_ce_def;
extern const cgan_op_def cgan_op_diffaug_def;
extern const cgan_op_def cgan_op_spectral_norm_def;
extern const cgan_op_def cgan_op_mbstd_def;
#endif
