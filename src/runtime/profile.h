/* The device profile: every per-device decision of the engine, made once when the context
 * opens, from the device's reported limits, with the environment's overrides read here and
 * nowhere else. Ops, GEMM providers and the trainer ask ctx->profile; they never call getenv
 * or look at the device type themselves.
 *
 * Overrides (all optional; a bad value fails cgan_ctx_open with a message naming it):
 *   CGAN_DEVICE_CLASS=gpu|cpu   the whole profile a GPU (or a CPU) would get, on any device
 *   CGAN_MEM_ALIGN=BITS         sub-buffer alignment (a power of two, at least the device's;
 *                               4096 simulates NVIDIA's)
 *   CGAN_GEMM_PROVIDER=own|clblast, CGAN_GEMM_VARIANT=NAME, CGAN_GEMM_PACK=0|1
 *   CGAN_CONV_FORM=plane|element|implicit
 *   CGAN_BN_LANES=1..256 (a power of two)
 *   CGAN_STAGING=pinned|pageable
 *   CGAN_WG_LIMIT=N             cap every work-group at N items (at least 1)
 *   CGAN_TUNE_DISABLE=1         ignore the tuning table; CGAN_GEMM_POISON=1 (tests)
 * Tests that change the environment after opening call cgan_profile_refresh. */
#ifndef CGAN_PROFILE_H
#define CGAN_PROFILE_H
#include <stddef.h>
#include "cgan/cgan.h"

typedef enum cgan_conv_form {
    CGAN_CONV_FORM_PLANE = 0,   /* im2col/col2im by planes and rows (CPU caches) */
    CGAN_CONV_FORM_ELEMENT,     /* im2col/col2im an element per item, then GEMM + pack_cm */
    CGAN_CONV_FORM_IMPLICIT     /* implicit GEMM on NCHW: no columns, no pack passes (GPUs) */
} cgan_conv_form;

typedef enum cgan_staging_kind {
    CGAN_STAGING_PAGEABLE = 0,  /* uploads from malloc'ed host memory */
    CGAN_STAGING_PINNED         /* CL_MEM_ALLOC_HOST_PTR buffers, mapped once, copied from */
} cgan_staging_kind;

#define CGAN_PROFILE_NAME_MAX 24

typedef struct cgan_profile {
    cgan_device_type dclass;    /* CGAN_DEVICE_CPU or CGAN_DEVICE_GPU: whose choices these are
                                 * (accelerators and others get a GPU's) */
    int class_forced;           /* CGAN_DEVICE_CLASS (or cgan_ctx_set_device_class) chose it */
    char gemm_provider[CGAN_PROFILE_NAME_MAX]; /* "own" or "clblast" */
    char gemm_variant[CGAN_PROFILE_NAME_MAX];  /* the own provider's variant: "cpu", "gpu", ... */
    int gemm_pack;              /* -1 automatic, 0 never, 1 whenever the workspace fits */
    int gemm_fallback;          /* a failing non-own provider falls back to the own GEMM */
    int gemm_pinned;            /* CGAN_GEMM_PROVIDER or CGAN_GEMM_VARIANT chose the GEMM:
                                 * the tuning table does not apply */
    int tune;                   /* the tuning table applies (not CGAN_TUNE_DISABLE=1) */
    int gemm_poison;            /* CGAN_GEMM_POISON=1: NaN in fresh GEMM workspaces (tests) */
    cgan_conv_form conv_form;
    int bn_lanes;               /* work-items per plane in BatchNorm's reductions */
    size_t wg_limit;            /* most items in any work-group: the device's limit, capped
                                 * at 256 (and by CGAN_WG_LIMIT); kernels' own limits apply
                                 * on top, per kernel */
    size_t wg_item_max[3];      /* CL_DEVICE_MAX_WORK_ITEM_SIZES, capped by wg_limit */
    size_t local_mem;           /* bytes of local memory per work-group */
    size_t mem_align;           /* bytes: sub-buffer offsets are multiples of it */
    cgan_staging_kind staging;
    /* implicit convolution tiles (src/ops/conv_implicit.c): the work-group shape of the
     * square tile, the largest power-of-two square of at most 16 x 16 that wg_limit and
     * wg_item_max allow (the own "gpu" GEMM picks from the same limits, blas/owngemm.c) */
    int conv_wx, conv_wy;
    size_t max_alloc;           /* CGAN_MAX_ALLOC: bytes of device memory the context's buffers
                                 * may hold together; a plan that would pass it is refused
                                 * whole (0: no cap beyond the device's own) */
    size_t bucket_floats;       /* CGAN_BUCKET_MB: the gradient all-reduce's bucket, in floats
                                 * (default 1 MiB; a value outside [0.01, 4096] MiB is refused) */
    int diverge_rank;           /* CGAN_TEST_DIVERGE_RANK (a test hook): the rank whose D is
                                 * perturbed before the parameter check (-1: none) */
    uint64_t fault_launch;      /* CGAN_FAULT_LAUNCH (a test hook): the Nth kernel launch of the
                                 * context fails as the device would with CL_OUT_OF_RESOURCES
                                 * (0: off) */
    char overrides[512];        /* the overrides that applied, "NAME=value ..." ("" none) */
} cgan_profile;

/* Fill ctx->prof for ctx's open device, reading the overrides; class is NULL (the
 * environment's or the device's), "gpu" or "cpu". */
cgan_status cgan_profile_init(cgan_ctx *ctx, const char *dclass);
/* Recompute from the environment (tests that change it after opening). */
cgan_status cgan_profile_refresh(cgan_ctx *ctx);
/* Names for printing. */
const char *cgan_conv_form_str(cgan_conv_form f);
const char *cgan_staging_str(cgan_staging_kind s);
#endif
