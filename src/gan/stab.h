/* The stabilisers of issue 20 (cgan/trainer.h): their settings' check, the standing BatchNorm
 * statistics of G's EMA weights, and the spectral-norm power iteration of D. */
#ifndef CGAN_GAN_STAB_H
#define CGAN_GAN_STAB_H
#include "cgan/trainer.h"
#include "runtime/runtime.h"

/* The schedule, label smoothing and standing-statistics settings, each error naming its
 * option. */
cgan_status cgan_stab_check(cgan_ctx *ctx, const cgan_train_cfg *c);
#endif
