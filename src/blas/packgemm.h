/* The packed GEMM of the own provider (cl/gemm_packed.cl): both operands copied into
 * k-major micro-panels in a workspace (cgan_gemm_workspace), then one register tile per
 * work-item over sequential streams. For CPU devices, on products large enough to pay for
 * the copies (cgan_gemm_packed_suits). */
#ifndef CGAN_PACKGEMM_H
#define CGAN_PACKGEMM_H
#include "gemm.h"

typedef struct cgan_packed_cfg {
    size_t vw, nv, tm; /* a tile is tm rows x nv vectors of vw columns */
    size_t kb;         /* K per launch of the multiply (a Q panel stays in L2) */
    size_t lx;         /* work-items per work-group, along the rows */
} cgan_packed_cfg;

/* The float vector width the device prefers (16 with AVX-512, 8 with AVX2), clamped to
 * 4..16. */
size_t cgan_gemm_device_vw(cgan_ctx *ctx);
/* The configuration for g on ctx: the defaults where pins (fields of `pin`, 0 = default;
 * pin may be NULL) leave them. */
cgan_packed_cfg cgan_gemm_packed_config(cgan_ctx *ctx, const cgan_gemm_args *g,
                                        const cgan_packed_cfg *pin);
/* Workspace bytes g needs with c; 0 when over the device's largest allocation or 1 GiB
 * (then the packed form cannot run). */
size_t cgan_gemm_packed_bytes(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_packed_cfg *c);
/* 1 when the packed form is the better default for g on ctx: a CPU device, a workspace
 * that fits, and op(B) with contiguous rows or C large on both sides. $CGAN_GEMM_PACK=0
 * turns it off, =1 takes it wherever the workspace fits (any device). */
int cgan_gemm_packed_suits(cgan_ctx *ctx, const cgan_gemm_args *g);
/* Runs g (arguments already checked by the caller). */
cgan_status cgan_gemm_packed(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_packed_cfg *c);
#endif
