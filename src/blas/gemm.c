/* GEMM front end: argument checks, the provider choice per context, the plain shortcut. */
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "owngemm.h"

/* What hangs off ctx->blas. */
typedef struct blas_state {
    const cgan_gemm_provider *provider;
} blas_state;

static void blas_state_free(void *p)
{
    free(p);
}

/* The default per device: our own kernels on CPUs (CLBlast's reach about a tenth of the
 * CPU's rate under PoCL), CLBlast on GPUs and other devices, where it is tuned.
 * $CGAN_GEMM_PROVIDER=clblast|own overrides the choice. */
static const cgan_gemm_provider *default_provider(cgan_ctx *ctx)
{
    const char *env = getenv("CGAN_GEMM_PROVIDER");
    if (env && !strcmp(env, "clblast")) return cgan_gemm_provider_clblast();
    if (env && !strcmp(env, "own")) return cgan_gemm_provider_own();
    if (ctx && ctx->opened && ctx->info.type == CGAN_DEVICE_CPU) return cgan_gemm_provider_own();
    return cgan_gemm_provider_clblast();
}

const cgan_gemm_provider *cgan_gemm_current(cgan_ctx *ctx)
{
    const blas_state *s = ctx ? ctx->blas : NULL;
    return (s && s->provider) ? s->provider : default_provider(ctx);
}

void cgan_gemm_use(cgan_ctx *ctx, const cgan_gemm_provider *p)
{
    if (!ctx) return;
    blas_state *s = ctx->blas;
    if (!s) {
        if (!p) return; /* the default needs no state */
        s = calloc(1, sizeof *s);
        if (!s) return; /* keep the default provider; nothing else to report here */
        ctx->blas = s;
        ctx->blas_destroy = blas_state_free;
    }
    s->provider = p; /* NULL: back to the default */
}

static const char *tr(cgan_trans t)
{
    return t == CGAN_TRANS ? "T" : "N";
}

/* Leading dimensions of row-major storage: op(A) is MxK, stored MxK (N) or KxM (T). */
static cgan_status check_args(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    size_t a_cols = g->ta == CGAN_TRANS ? g->m : g->k;
    size_t b_cols = g->tb == CGAN_TRANS ? g->k : g->n;
    const char *bad = NULL;
    size_t have = 0, need = 0;
    if (!g->a || !g->b || !g->c) bad = "buffer";
    else if (g->lda < a_cols) bad = "lda", have = g->lda, need = a_cols;
    else if (g->ldb < b_cols) bad = "ldb", have = g->ldb, need = b_cols;
    else if (g->ldc < g->n) bad = "ldc", have = g->ldc, need = g->n;
    if (!bad) return CGAN_OK;
    if (!need)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu k=%zu: a NULL buffer",
                          tr(g->ta), tr(g->tb), g->m, g->n, g->k);
    return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu k=%zu: %s %zu is below %zu",
                      tr(g->ta), tr(g->tb), g->m, g->n, g->k, bad, have, need);
}

cgan_status cgan_gemm(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    if (g->m == 0 || g->n == 0 || g->batch == 0) return CGAN_OK; /* nothing to write */
    if (g->k == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu: k is 0", tr(g->ta),
                          tr(g->tb), g->m, g->n);
    CGAN_TRY(check_args(ctx, g));
    const cgan_gemm_provider *p = cgan_gemm_current(ctx);
    return p->gemm(ctx, g);
}

cgan_status cgan_sgemm(cgan_ctx *ctx, cgan_trans ta, cgan_trans tb, size_t m, size_t n, size_t k,
                       float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                       size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc)
{
    cgan_gemm_args g = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
        .a = a, .a_off = a_off, .lda = lda,
        .b = b, .b_off = b_off, .ldb = ldb,
        .c = c, .c_off = c_off, .ldc = ldc,
        .batch = 1,
    };
    return cgan_gemm(ctx, &g);
}
