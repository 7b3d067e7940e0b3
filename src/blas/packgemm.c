/* The packed GEMM (cl/gemm_packed.cl): workspace layout, tile and K-chunk choice, launches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "packgemm.h"

#define PACK_K 64                         /* k per packing work-item (gemm_packed.cl) */
#define WORK_CAP ((size_t)1 << 30)        /* largest workspace the packed form asks for */
#define Q_PANEL_BYTES ((size_t)256 << 10) /* a Q panel chunk, to stay in L2 */

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

size_t cgan_gemm_device_vw(cgan_ctx *ctx)
{
    cl_uint w = 0;
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof w, &w, NULL)
        != CL_SUCCESS || w < 4)
        w = 4;
    return w > 16 ? 16 : w;
}

cgan_packed_cfg cgan_gemm_packed_config(cgan_ctx *ctx, const cgan_gemm_args *g,
                                        const cgan_packed_cfg *pin)
{
    cgan_packed_cfg c;
    /* 12 x 32 with AVX-512 (24 accumulators of the 32 vector registers), 6 x 16 with 16
     * registers of 8 floats */
    c.vw = cgan_gemm_device_vw(ctx);
    c.nv = 2;
    c.tm = c.vw >= 16 ? 12 : 6;
    c.lx = 4;
    if (pin) {
        if (pin->vw) c.vw = pin->vw;
        if (pin->nv) c.nv = pin->nv;
        if (pin->tm) c.tm = pin->tm;
        if (pin->lx) c.lx = pin->lx;
    }
    /* K in even chunks whose Q panel (kb x nv*vw floats) stays in L2 */
    size_t kmax = Q_PANEL_BYTES / (c.nv * c.vw * sizeof(float));
    if (kmax < 64) kmax = 64;
    size_t chunks = ceil_div(g->k, kmax);
    c.kb = chunks ? ceil_div(g->k, chunks) : g->k;
    if (pin && pin->kb) c.kb = pin->kb;
    return c;
}

/* Floats of one batch entry's P panels and Q panels. */
static void panel_floats(const cgan_gemm_args *g, const cgan_packed_cfg *c, size_t *pf,
                         size_t *qf)
{
    *pf = ceil_div(g->m, c->tm) * c->tm * g->k;
    *qf = ceil_div(g->n, c->nv * c->vw) * c->nv * c->vw * g->k;
}

size_t cgan_gemm_packed_bytes(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_packed_cfg *c)
{
    size_t pf, qf;
    panel_floats(g, c, &pf, &qf);
    size_t cap = WORK_CAP;
    if (ctx->info.max_alloc && ctx->info.max_alloc < cap) cap = (size_t)ctx->info.max_alloc;
    size_t per = (pf + qf) * sizeof(float);
    if (per == 0 || g->batch > cap / per) return 0;
    return per * g->batch;
}

int cgan_gemm_packed_suits(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    const char *env = getenv("CGAN_GEMM_PACK");
    int force = env && !strcmp(env, "1");
    if (env && !strcmp(env, "0")) return 0;
    cgan_packed_cfg c = cgan_gemm_packed_config(ctx, g, NULL);
    if (!cgan_gemm_packed_bytes(ctx, g, &c)) return 0;
    if (force) return 1;
    if (ctx->info.type != CGAN_DEVICE_CPU) return 0;
    /* Measured on the models' shapes (PoCL, AVX-512): where op(B) has contiguous rows (NN,
     * TN) the packed form won on every shape, even with a side of 1. Where op(B) runs
     * along K (NT, TT: weight gradients), its copy is a gather and dot products along K
     * need none: packing paid only when C is large on both sides (m n / (m + n) of 113
     * and up won, 47 and below lost). */
    double m = (double)g->m, n = (double)g->n;
    return g->tb != CGAN_TRANS || m * n / (m + n) >= 64.0;
}

static cgan_status get_kernel(cgan_ctx *ctx, const char *opts, const char *name, cgan_kernel **k)
{
    cgan_status st = cgan_kernel_get(ctx, "gemm_packed", opts, name, k);
    if (st != CGAN_OK) return cgan_error_wrap(ctx, st, "gemm kernel %s (%s)", name, opts);
    return CGAN_OK;
}

cgan_status cgan_gemm_packed(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_packed_cfg *c)
{
    if (g->m == 0 || g->n == 0 || g->batch == 0) return CGAN_OK;
    size_t bytes = cgan_gemm_packed_bytes(ctx, g, c);
    if (!bytes)
        return cgan_error(ctx, CGAN_E_NOMEM, "gemm (packed) m=%zu n=%zu k=%zu batch=%zu: the "
                          "packed operands exceed the workspace limit", g->m, g->n, g->k,
                          g->batch);
    if (c->kb == 0 || c->lx == 0 || c->tm == 0 || c->nv == 0 || c->vw < 2 || c->vw > 16 ||
        (c->vw & (c->vw - 1)))
        return cgan_error(ctx, CGAN_E_INVALID, "gemm (packed): vw %zu (2, 4, 8 or 16), nv %zu, "
                          "tm %zu, kb %zu, lx %zu (each at least 1)", c->vw, c->nv, c->tm, c->kb,
                          c->lx);
    cl_mem w;
    CGAN_TRY(cgan_gemm_workspace(ctx, bytes, &w));
    int ta = g->ta == CGAN_TRANS, tb = g->tb == CGAN_TRANS;
    char opts[128];
    snprintf(opts, sizeof opts, "-DTA=%d -DTB=%d -DVW=%zu -DNV=%zu -DTM=%zu", ta, tb, c->vw,
             c->nv, c->tm);
    cgan_kernel *kp, *kq, *km;
    CGAN_TRY(get_kernel(ctx, opts, "gemm_pack_p", &kp));
    CGAN_TRY(get_kernel(ctx, opts, "gemm_pack_q", &kq));
    CGAN_TRY(get_kernel(ctx, opts, "gemm_packed", &km));
    size_t pf, qf, tnc = c->nv * c->vw;
    panel_floats(g, c, &pf, &qf);
    size_t mp = ceil_div(g->m, c->tm), np = ceil_div(g->n, tnc), kg = ceil_div(g->k, PACK_K);
    size_t q_base = pf * g->batch;
    cgan_range rp = { 3, { kg, mp, g->batch }, { 1, 1, 1 } };
    CGAN_TRY(cgan_launch(ctx, kp, &rp, CGAN_KINT(g->m), CGAN_KINT(g->k), CGAN_KMEM(g->a),
                         CGAN_KLONG(g->a_off), CGAN_KINT(g->lda), CGAN_KLONG(g->a_stride),
                         CGAN_KMEM(w), CGAN_KLONG(0), CGAN_KLONG(pf)));
    cgan_range rq = { 3, { kg, np, g->batch }, { 1, 1, 1 } };
    CGAN_TRY(cgan_launch(ctx, kq, &rq, CGAN_KINT(g->n), CGAN_KINT(g->k), CGAN_KMEM(g->b),
                         CGAN_KLONG(g->b_off), CGAN_KINT(g->ldb), CGAN_KLONG(g->b_stride),
                         CGAN_KMEM(w), CGAN_KLONG(q_base), CGAN_KLONG(qf)));
    size_t lx = c->lx;
    if (lx > cgan_kernel_max_wg(km)) lx = 1;
    cgan_range rm = { 3, { cgan_align_up(mp, lx), np, g->batch }, { lx, 1, 1 } };
    for (size_t k0 = 0; k0 < g->k; k0 += c->kb) {
        size_t kc = g->k - k0 < c->kb ? g->k - k0 : c->kb;
        float beta = k0 ? 1.0f : g->beta; /* later chunks add to the first */
        CGAN_TRY(cgan_launch(ctx, km, &rm, CGAN_KINT(g->m), CGAN_KINT(g->n), CGAN_KINT(g->k),
                             CGAN_KFLOAT(g->alpha), CGAN_KMEM(w), CGAN_KLONG(0), CGAN_KLONG(pf),
                             CGAN_KLONG(q_base), CGAN_KLONG(qf), CGAN_KINT(k0), CGAN_KINT(kc),
                             CGAN_KFLOAT(beta), CGAN_KMEM(g->c), CGAN_KLONG(g->c_off),
                             CGAN_KINT(g->ldc), CGAN_KLONG(g->c_stride)));
    }
    return CGAN_OK;
}
