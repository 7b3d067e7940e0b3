/* The own GEMM provider: cgan-cl's kernels (cl/gemm.cl) behind cgan_gemm_provider.
 *
 * Variants (kernel families), chosen per device type unless $CGAN_GEMM_VARIANT names one:
 *   "cpu"        register tiles without local memory, the kernel form picked per shape and
 *                transposes (the default on CPU devices):
 *   "cpu-outer"    outer products, wide vectors along the columns of C
 *   "cpu-swap"     the same on C^T = op(B)^T op(A)^T, stored transposed
 *   "cpu-dot"      dot products with wide vectors along K (A.B^T shapes)
 *   "gpu"        local-memory tiles, 16x16 work-groups of 4x4 outputs per item where the
 *                device allows (the default on GPUs and other devices)
 * The "cpu-*" names pin one form, for tests and benchmarks. All variants accept every
 * transpose combination, any shape, offset, leading dimension and batch stride. */
#ifndef CGAN_OWNGEMM_H
#define CGAN_OWNGEMM_H
#include "gemm.h"

/* The provider that picks the variant per device (or from $CGAN_GEMM_VARIANT). */
const cgan_gemm_provider *cgan_gemm_provider_own(void);
/* A provider pinned to one variant; NULL for an unknown name. */
const cgan_gemm_provider *cgan_gemm_provider_own_variant(const char *name);
/* The variant names, NULL-terminated. */
const char *const *cgan_gemm_own_variants(void);
/* The variant the own provider would use on ctx now (environment, then device type);
 * NULL with an error recorded on ctx when $CGAN_GEMM_VARIANT names no variant. */
const char *cgan_gemm_own_variant_for(cgan_ctx *ctx);

/* Times p on an m x n x k GEMM with the given transposes (fresh random operands, beta 0):
 * one warm-up call, then `repeat` calls each timed with clFinish and the host clock;
 * *gflops is 2mnk over the median time. */
cgan_status cgan_gemm_bench(cgan_ctx *ctx, const cgan_gemm_provider *p, size_t m, size_t n,
                            size_t k, cgan_trans ta, cgan_trans tb, int repeat, double *gflops);
/* The same for a full argument set (strided batch, leading dimensions); the buffers in g
 * are used as given. */
cgan_status cgan_gemm_bench_args(cgan_ctx *ctx, const cgan_gemm_provider *p,
                                 const cgan_gemm_args *g, int repeat, double *gflops);
#endif
