/* Normalisation, activation and dropout ops (batchnorm.c, activation.c, dropout.c):
 * their self-checks for `cgan-cl selftest` and the dropout mask rule shared with tests. */
#ifndef CGAN_OPS_NORM_H
#define CGAN_OPS_NORM_H
#include <stddef.h>
#include <stdint.h>
#include "runtime/runtime.h"
#include "core/selftest.h"
#include "ops/op.h"

/* Self-checks: a small odd-shaped graph through cgan_opcheck, train and eval mode. */
cgan_status cgan_selfcheck_batchnorm(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_cond_batchnorm(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_batchnorm_act(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_activation(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_dropout(cgan_ctx *ctx, cgan_check_result *res);

/* An activation of v in double precision, as the references compute it (act is not NONE). */
double cgan_act_value(cgan_act act, double slope, double v);

/* The dropout keep rule, as the device applies it: 1 when element i of a tensor is kept
 * by a dropout with probability p drawn from (seed, counter), else 0. */
int cgan_dropout_keep(uint64_t seed, uint64_t counter, size_t i, float p);
#endif
