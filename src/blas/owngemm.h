/* The own GEMM provider: cgan-cl's kernels (cl/gemm.cl) behind cgan_gemm_provider.
 *
 * Variants, chosen by device type (CPU: "cpu", any other: "gpu") unless the environment
 * variable CGAN_GEMM_VARIANT names one:
 *   "cpu"        "cpu-packed" on products large and square enough to pay for its copies
 *                (cgan_gemm_packed_suits); otherwise register tiles of wide vectors, the
 *                form picked per call from the transposes: "cpu-outer" for NN and TN,
 *                "cpu-swap" for TT, "cpu-dot" for NT
 *   "cpu-outer"  outer products along K, vectors along the columns of C (op(B) rows); work-
 *                groups of 4 items share K panels of op(B) (and of A when it is stored
 *                transposed) in local memory, which on a CPU is a contiguous copy that
 *                avoids cache-set aliasing at power-of-two leading dimensions
 *   "cpu-swap"   the same on C^T = op(B)^T op(A)^T, stored transposed
 *   "cpu-dot"    dot products with vectors along K, no local memory (A.B^T: weight
 *                gradients); also the fallback where local memory is too small
 *   "cpu-direct" gemm_reg's register tile with both operands streamed from global memory:
 *                no local memory and no barrier, so that a CPU device keeps the
 *                accumulators in registers (values live across a barrier are kept in
 *                memory per work-item); needs contiguous rows of op(B) (NN, TN; other
 *                transposes fall back to dot products)
 *   "cpu-packed" both operands copied into k-major micro-panels in a workspace, then one
 *                register tile per work-item over two sequential streams, K in chunks whose
 *                panel of op(B) stays in L2 (src/blas/packgemm.c); any transposes, since the
 *                copies absorb them
 *   "gpu"        classic local-memory tiling: 64x64 blocks (128x16 for C of up to 16
 *                columns), 16x16 work-groups of 4x4 (8x1) outputs per item, smaller where
 *                the device or kernel allows fewer items
 * The pinned "cpu-*" forms serve tests and benchmarks. Every variant accepts all four
 * transpose combinations, any shape, offsets, leading dimensions and strided batches;
 * each set of tile sizes and transposes is its own cached program. */
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

/* *out = 1 when the own provider, with the variant it would use on ctx now, runs g in the
 * packed form with its default tiles; CGAN_E_INVALID when $CGAN_GEMM_VARIANT names no
 * variant. */
cgan_status cgan_gemm_own_packs(cgan_ctx *ctx, const cgan_gemm_args *g, int *out);
/* The checks every own variant makes: 32-bit sizes, and every element of A, B and C the
 * product touches inside its buffer. */
cgan_status cgan_gemm_own_check_args(cgan_ctx *ctx, const cgan_gemm_args *g);

/* Specs: a variant name, optionally with pinned tile parameters after a colon, e.g.
 *   "cpu-outer:vw=16,nv=2,tm=12,kc=128"  (gemm_reg forms: vw nv tm kc ly; cpu-direct: vw nv tm)
 *   "cpu-packed:tm=8,kb=512"            (packed: vw nv tm kb lx)
 *   "cpu-dot:vw=16,tm=4,tn=4"           (dot products: vw tm tn)
 *   "gpu:wx=16,wy=16,rm=4,rn=4,bk=16"   (local tiling: all five)
 * Unset parameters keep the per-shape defaults. The tuner (src/blas/tune.c) stores specs. */
#define CGAN_GEMM_SPEC_MAX 64
/* CGAN_OK when spec parses (no device work); otherwise an error naming the bad part. */
cgan_status cgan_gemm_own_spec_check(cgan_ctx *ctx, const char *spec);
/* Runs g with the variant and parameters of spec (checked as cgan_gemm). */
cgan_status cgan_gemm_own_run_spec(cgan_ctx *ctx, const cgan_gemm_args *g, const char *spec);
/* The specs worth timing for g on ctx's device (the automatic choice first); writes at
 * most max and returns how many. */
int cgan_gemm_own_candidates(cgan_ctx *ctx, const cgan_gemm_args *g,
                             char (*out)[CGAN_GEMM_SPEC_MAX], int max);

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
