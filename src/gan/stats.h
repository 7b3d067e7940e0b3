/* Device-side training statistics (cl/gan_stats.cl). */
#ifndef CGAN_GAN_STATS_H
#define CGAN_GAN_STATS_H
#include "runtime/runtime.h"

/* out[slot] = mean sigmoid(logits) (D(x) or D(G(z))), out[slot+1] = fraction > 0. */
cgan_status cgan_logit_stats(cgan_ctx *ctx, cl_mem logits, size_t n, cl_mem out, int slot);
#endif
