/* Minibatch standard deviation for D (mbstd.c, cl/mbstd.cl; Karras et al. 2018, "Progressive
 * growing of GANs", section 3): one extra feature plane telling D how much the samples of a
 * small group differ, so that a G whose samples look alike is told apart from real data. */
#ifndef CGAN_OPS_MBSTD_H
#define CGAN_OPS_MBSTD_H
#include "core/graph.h"
#include "core/selftest.h"

/* Self-check: odd shapes with a short last group, forward and backward against the
 * double-precision reference, and the reference against finite differences. */
cgan_status cgan_selfcheck_mbstd(cgan_ctx *ctx, cgan_check_result *res);
#endif
