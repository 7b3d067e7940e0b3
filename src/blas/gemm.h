/* GEMM behind a small provider interface, so other kernels can be chosen per device and
 * shape later. CLBlast is the first provider.
 *
 * Row-major: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, offsets and leading
 * dimensions in floats. With beta == 0, C is not read. */
#ifndef CGAN_GEMM_H
#define CGAN_GEMM_H
#include "runtime/runtime.h"

typedef enum cgan_trans { CGAN_NO_TRANS = 0, CGAN_TRANS = 1 } cgan_trans;

typedef struct cgan_gemm_args {
    cgan_trans ta, tb;
    size_t m, n, k;
    float alpha, beta;
    cl_mem a; size_t a_off, lda, a_stride;  /* strides: per batch entry, may be 0 */
    cl_mem b; size_t b_off, ldb, b_stride;
    cl_mem c; size_t c_off, ldc, c_stride;
    size_t batch;                           /* 1 for a single GEMM */
} cgan_gemm_args;

typedef struct cgan_gemm_provider {
    const char *name;
    /* Strided-batched GEMM (batch == 1 is a plain GEMM). */
    cgan_status (*gemm)(cgan_ctx *ctx, const cgan_gemm_args *g);
} cgan_gemm_provider;

/* Run a GEMM on the provider chosen for this context (CLBlast by default). */
cgan_status cgan_gemm(cgan_ctx *ctx, const cgan_gemm_args *g);
/* Plain single GEMM shortcut. */
cgan_status cgan_sgemm(cgan_ctx *ctx, cgan_trans ta, cgan_trans tb, size_t m, size_t n, size_t k,
                       float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                       size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc);

const cgan_gemm_provider *cgan_gemm_provider_clblast(void);
/* The provider in use on ctx; cgan_gemm_use switches it (tools, tests). */
const cgan_gemm_provider *cgan_gemm_current(cgan_ctx *ctx);
void cgan_gemm_use(cgan_ctx *ctx, const cgan_gemm_provider *p);
/* Tools: fn sees every cgan_gemm before it runs, with the route it takes: the provider's
 * name ("own", "clblast", "own:cpu-dot" when pinned) or "tuned:<choice>" when the tuning
 * table (tune.h) decides. NULL turns it off. */
typedef void (*cgan_gemm_observer)(void *user, const cgan_gemm_args *g, const char *route);
void cgan_gemm_observe(cgan_ctx *ctx, cgan_gemm_observer fn, void *user);
/* The route cgan_gemm would take for g now (the string lives until the next call). */
const char *cgan_gemm_route(cgan_ctx *ctx, const cgan_gemm_args *g);

/* The tuning table of the device (tune.h) is loaded on the first GEMM that uses the default
 * choice, and applies to that choice only: not when cgan_gemm_use or $CGAN_GEMM_PROVIDER /
 * $CGAN_GEMM_VARIANT pin a provider, nor with $CGAN_TUNE_DISABLE=1. The warning says why a
 * tuning file was ignored (NULL when none was, or there is none). */
const char *cgan_gemm_tune_warning(cgan_ctx *ctx);
/* 1 when the table would apply to ctx now (nothing pins the provider); loads nothing. */
int cgan_gemm_tuning_applies(cgan_ctx *ctx);
/* Forget the loaded table; the next GEMM reads the file again. */
void cgan_gemm_tune_reload(cgan_ctx *ctx);

/* A device buffer of at least `bytes` for a provider's scratch (the packed operands of
 * src/blas/packgemm.c), owned by ctx: it grows when a larger one is asked for and is
 * otherwise reused, so after the first use of the largest size no call allocates. Valid
 * until the next call; work enqueued in order on ctx's queue may use it. */
cgan_status cgan_gemm_workspace(cgan_ctx *ctx, size_t bytes, cl_mem *out);

/* Operand views of NCHW images (src/blas/packgemm.h). */
typedef struct cgan_gemm_views cgan_gemm_views;
/* Runs g with some operands read, or C written, through views of NCHW images, when
 * cgan_gemm would run g on the own provider's packed form (which reads its operands
 * through copies anyway): then *done = 1. Otherwise nothing runs, *done = 0, and the
 * caller runs g on the plain matrices it describes, which must be valid arguments. */
cgan_status cgan_gemm_viewed(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_gemm_views *v,
                            int *done);

/* Message for a CLBlast status code. */
const char *cgan_clblast_status_str(int status);
#endif
