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
/* Workspace bytes g needs with c; 0 when over 1 GiB, the device's largest allocation or a
 * quarter of its memory (then the packed form does not run). */
size_t cgan_gemm_packed_bytes(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_packed_cfg *c);
/* 1 when the packed form is the better default for g on ctx: a CPU device, a workspace
 * that fits, and op(B) with contiguous rows or C large on both sides. $CGAN_GEMM_PACK=0
 * turns it off, =1 takes it wherever the workspace fits (any device). */
int cgan_gemm_packed_suits(cgan_ctx *ctx, const cgan_gemm_args *g);
/* Operands read, or C written, straight from NCHW images (cl/gemm_packed.cl): */
typedef enum cgan_view_kind {
    CGAN_VIEW_MATRIX = 0, /* the matrix of the GEMM arguments */
    CGAN_VIEW_CM = 1,     /* channel-major: X[r][n*p + q] = img[((n0 + n)*R + r)*p + q] */
    CGAN_VIEW_IM2COL = 2  /* X[(ch*k + ky)*k + kx][n*oh*ow + oy*ow + ox] =
                           * img[n0 + n][ch][oy*stride - pad + ky][ox*stride - pad + kx] */
} cgan_view_kind;

typedef struct cgan_gemm_view {
    cgan_view_kind kind;
    cl_mem img;   /* the images (float 0 is image 0) */
    int n0;       /* the first image X covers */
    int p;        /* CM: positions per image plane */
    int c, h, w, k, stride, pad, oh, ow; /* IM2COL: the images' geometry */
} cgan_gemm_view;

/* Views of A (CM only, with ta N), B (CM or IM2COL, either tb) and C (CM): op(A) = X,
 * op(B) = X (X^T when tb is T), C = X. A matrix view leaves the argument as it is. */
struct cgan_gemm_views {
    cgan_gemm_view a, b, c;
};

/* Runs g (arguments already checked by the caller), with views when v is not NULL (then
 * batch must be 1; the shapes of the views are checked here). */
cgan_status cgan_gemm_packed(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_packed_cfg *c,
                             const cgan_gemm_views *v);
#endif
