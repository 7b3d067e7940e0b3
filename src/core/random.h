/* Device random fills (cl/random.cl) and their host twins, which draw the same numbers
 * from the same (seed, counter). Used for latent noise and fake labels. */
#ifndef CGAN_RANDOM_H
#define CGAN_RANDOM_H
#include "runtime/runtime.h"
#include "core/selftest.h"

cgan_status cgan_randn(cgan_ctx *ctx, cl_mem y, size_t n, uint64_t seed, uint64_t counter);
cgan_status cgan_randint(cgan_ctx *ctx, cl_mem y, size_t n, int k, uint64_t seed, uint64_t counter);
void cgan_randn_host(float *y, size_t n, uint64_t seed, uint64_t counter);
void cgan_randint_host(float *y, size_t n, int k, uint64_t seed, uint64_t counter);
cgan_status cgan_check_random(cgan_ctx *ctx, cgan_check_result *res);
#endif
