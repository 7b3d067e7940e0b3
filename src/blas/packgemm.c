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
    size_t cap = WORK_CAP; /* and at most the largest allocation, a quarter of the memory */
    if (ctx->info.max_alloc && ctx->info.max_alloc < cap) cap = (size_t)ctx->info.max_alloc;
    if (ctx->info.global_mem && ctx->info.global_mem / 4 < cap) cap = (size_t)(ctx->info.global_mem / 4);
    size_t per = (pf + qf) * sizeof(float);
    if (per == 0 || g->batch > cap / per) return 0;
    return per * g->batch;
}

int cgan_gemm_packed_suits(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    int force = ctx->profile.gemm_pack == 1;
    if (ctx->profile.gemm_pack == 0) return 0;
    cgan_packed_cfg c = cgan_gemm_packed_config(ctx, g, NULL);
    if (!cgan_gemm_packed_bytes(ctx, g, &c)) return 0;
    if (force) return 1;
    if (ctx->profile.dclass != CGAN_DEVICE_CPU) return 0;
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

/* ---- views ------------------------------------------------------------------------------ */
static const char *const view_names[] = { "matrix", "channel-major", "im2col" };

/* Checks that view v of operand `what` can stand for a rows x cols matrix X, and that its
 * images hold every element X reads. */
static cgan_status check_view(cgan_ctx *ctx, const cgan_gemm_args *g, const char *what,
                              const cgan_gemm_view *v, size_t rows, size_t cols)
{
    if (v->kind == CGAN_VIEW_MATRIX) return CGAN_OK;
    const char *name = view_names[v->kind];
    if (g->batch != 1)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: %s as a %s view needs batch 1, not %zu",
                          what, name, g->batch);
    if (!v->img)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: %s as a %s view has no image buffer",
                          what, name);
    size_t plane, per_image; /* X columns per image, image floats */
    if (v->kind == CGAN_VIEW_CM) {
        plane = v->p > 0 ? (size_t)v->p : 0;
        per_image = rows * plane;
    } else {
        if (v->k < 1 || v->stride < 1 || v->pad < 0 || v->c < 1 || v->h < 1 || v->w < 1 ||
            v->oh < 1 || v->ow < 1 || (size_t)v->c * v->k * v->k != rows)
            return cgan_error(ctx, CGAN_E_INVALID, "gemm: %s as an im2col view: %d channels, "
                              "kernel %d, stride %d, pad %d, %dx%d -> %dx%d cannot give %zu "
                              "rows", what, v->c, v->k, v->stride, v->pad, v->h, v->w, v->oh,
                              v->ow, rows);
        plane = (size_t)v->oh * v->ow;
        per_image = (size_t)v->c * v->h * v->w;
    }
    if (plane == 0 || cols % plane || v->n0 < 0)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: %s as a %s view: %zu columns are not "
                          "whole images of %zu positions (first image %d)", what, name, cols,
                          plane, v->n0);
    size_t need = ((size_t)v->n0 + cols / plane) * per_image, bytes = 0;
    CGAN_CL_CHECK(ctx, clGetMemObjectInfo(v->img, CL_MEM_SIZE, sizeof bytes, &bytes, NULL),
                  "clGetMemObjectInfo", "gemm: the images of %s", what);
    if (need > bytes / sizeof(float))
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: %s as a %s view reads %zu floats, its "
                          "buffer holds %zu", what, name, need, bytes / sizeof(float));
    return CGAN_OK;
}

static cgan_status check_views(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_gemm_views *v)
{
    int tb = g->tb == CGAN_TRANS;
    if (v->a.kind == CGAN_VIEW_IM2COL || (v->a.kind != CGAN_VIEW_MATRIX && g->ta == CGAN_TRANS))
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: A takes only a channel-major view, "
                          "untransposed");
    if (v->c.kind == CGAN_VIEW_IM2COL)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: C takes no im2col view");
    CGAN_TRY(check_view(ctx, g, "A", &v->a, g->m, g->k));
    CGAN_TRY(check_view(ctx, g, "B", &v->b, tb ? g->n : g->k, tb ? g->k : g->n));
    return check_view(ctx, g, "C", &v->c, g->m, g->n);
}

cgan_status cgan_gemm_packed(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_packed_cfg *c,
                             const cgan_gemm_views *v)
{
    static const cgan_gemm_views none;
    if (!v) v = &none;
    if (g->m == 0 || g->n == 0 || g->batch == 0) return CGAN_OK;
    CGAN_TRY(check_views(ctx, g, v));
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
    const cgan_gemm_view *vb = &v->b;
    char opts[192];
    int n = snprintf(opts, sizeof opts, "-DTA=%d -DTB=%d -DVW=%zu -DNV=%zu -DTM=%zu", ta, tb,
                     c->vw, c->nv, c->tm);
    if (v->a.kind || vb->kind || v->c.kind)
        n += snprintf(opts + n, sizeof opts - (size_t)n, " -DPV=%d -DQV=%d -DCV=%d",
                      (int)v->a.kind, (int)vb->kind, (int)v->c.kind);
    if (vb->kind == CGAN_VIEW_IM2COL)
        snprintf(opts + n, sizeof opts - (size_t)n, " -DKS=%d -DCS=%d", vb->k, vb->stride);
    /* a view of B other than channel-major transposed is copied a plane at a time */
    int planes = vb->kind != CGAN_VIEW_MATRIX && !(vb->kind == CGAN_VIEW_CM && tb);
    cgan_kernel *kp, *kq, *km;
    CGAN_TRY(get_kernel(ctx, opts, "gemm_pack_p", &kp));
    CGAN_TRY(get_kernel(ctx, opts, planes ? "gemm_pack_q_planes" : "gemm_pack_q", &kq));
    CGAN_TRY(get_kernel(ctx, opts, "gemm_packed", &km));
    size_t pf, qf, tnc = c->nv * c->vw;
    panel_floats(g, c, &pf, &qf);
    size_t mp = ceil_div(g->m, c->tm), np = ceil_div(g->n, tnc), kg = ceil_div(g->k, PACK_K);
    size_t q_base = pf * g->batch;
    cl_mem a = v->a.kind ? v->a.img : g->a, b = vb->kind ? vb->img : g->b;
    cl_mem cm = v->c.kind ? v->c.img : g->c;
    size_t a_off = v->a.kind ? 0 : g->a_off, b_off = vb->kind ? 0 : g->b_off;
    size_t c_off = v->c.kind ? 0 : g->c_off;
    int qp = vb->kind == CGAN_VIEW_IM2COL ? vb->oh * vb->ow : vb->p;
    cgan_range rp = { 3, { kg, mp, g->batch }, { 1, 1, 1 } };
    CGAN_TRY(cgan_launch(ctx, kp, &rp, CGAN_KINT(g->m), CGAN_KINT(g->k), CGAN_KMEM(a),
                         CGAN_KLONG(a_off), CGAN_KINT(g->lda), CGAN_KLONG(g->a_stride),
                         CGAN_KINT(v->a.n0), CGAN_KINT(v->a.p > 0 ? v->a.p : 1), CGAN_KMEM(w),
                         CGAN_KLONG(0), CGAN_KLONG(pf)));
    if (planes) {
        size_t rows = tb ? np : g->k, nimg = (tb ? g->k : g->n) / (size_t)qp;
        cgan_range rq = { 2, { rows, nimg, 1 }, { 1, 1, 1 } };
        CGAN_TRY(cgan_launch(ctx, kq, &rq, CGAN_KINT(g->n), CGAN_KINT(g->k), CGAN_KMEM(b),
                             CGAN_KINT(vb->n0), CGAN_KINT(qp), CGAN_KINT(vb->c),
                             CGAN_KINT(vb->h), CGAN_KINT(vb->w), CGAN_KINT(vb->pad),
                             CGAN_KINT(vb->oh), CGAN_KINT(vb->ow), CGAN_KMEM(w),
                             CGAN_KLONG(q_base)));
    } else {
        cgan_range rq = { 3, { kg, np, g->batch }, { 1, 1, 1 } };
        CGAN_TRY(cgan_launch(ctx, kq, &rq, CGAN_KINT(g->n), CGAN_KINT(g->k), CGAN_KMEM(b),
                             CGAN_KLONG(b_off), CGAN_KINT(g->ldb), CGAN_KLONG(g->b_stride),
                             CGAN_KINT(vb->n0), CGAN_KINT(qp > 0 ? qp : 1), CGAN_KMEM(w),
                             CGAN_KLONG(q_base), CGAN_KLONG(qf)));
    }
    size_t lx = c->lx;
    if (lx > cgan_kernel_max_wg(km)) lx = 1;
    cgan_range rm = { 3, { cgan_align_up(mp, lx), np, g->batch }, { lx, 1, 1 } };
    for (size_t k0 = 0; k0 < g->k; k0 += c->kb) {
        size_t kc = g->k - k0 < c->kb ? g->k - k0 : c->kb;
        float beta = k0 ? 1.0f : g->beta; /* later chunks add to the first */
        CGAN_TRY(cgan_launch(ctx, km, &rm, CGAN_KINT(g->m), CGAN_KINT(g->n), CGAN_KINT(g->k),
                             CGAN_KFLOAT(g->alpha), CGAN_KMEM(w), CGAN_KLONG(0), CGAN_KLONG(pf),
                             CGAN_KLONG(q_base), CGAN_KLONG(qf), CGAN_KINT(k0), CGAN_KINT(kc),
                             CGAN_KFLOAT(beta), CGAN_KMEM(cm), CGAN_KLONG(c_off),
                             CGAN_KINT(g->ldc), CGAN_KLONG(g->c_stride), CGAN_KINT(v->c.n0),
                             CGAN_KINT(v->c.p > 0 ? v->c.p : 1)));
    }
    return CGAN_OK;
}
