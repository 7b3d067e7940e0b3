/* Implicit-GEMM convolution (conv_implicit.h, kernels in cl/conv_implicit.cl).
 *
 * Launches per layer (N the batch, no chunking):
 *   conv2d   forward  conv_fwd with the bias fused                           1
 *            backward bias gradient (2), conv_wgrad (+ conv_wgrad_reduce when the
 *                     sum is split), conv_bwd_data with din_beta fused        3..5
 *   deconv2d forward  conv_bwd_data with the bias fused                      1
 *            backward bias gradient (2), conv_wgrad (+ reduce), conv_fwd     3..5
 *
 * Tiles: the first candidate that the device, the profile's work-group limits, the
 * kernel's own limit and the local memory allow. Thin products (few rows: the RGB layers)
 * get tall-and-narrow blocks; the rest 64 x 64 from the profile's conv_wx x conv_wy
 * items; smaller work-groups down to one item follow as fallbacks. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "conv_implicit.h"
#include "conv2d.h"

typedef struct tile {
    int wx, wy, rm, rn, bk;
} tile;

#define MAX_TILES 10

static cgan_status too_big(cgan_ctx *ctx, const char *what, size_t n)
{
    return cgan_error(ctx, CGAN_E_INVALID, "implicit conv %s: %zu elements exceed the 32-bit "
                      "index range", what, n);
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* Candidate tiles for a product of m rows, best first. */
static int candidates(const cgan_ctx *ctx, size_t m, tile *t)
{
    int n = 0;
    if (m <= 8) t[n++] = (tile){ 32, 8, 1, 4, 16 };       /*  8 x 128 */
    else if (m <= 16) t[n++] = (tile){ 16, 16, 1, 4, 16 }; /* 16 x 64 */
    else if (m <= 32) t[n++] = (tile){ 16, 16, 2, 4, 16 }; /* 32 x 64 */
    /* the profile's square (64 x 64 from 16 x 16 items where the limits allow) */
    t[n++] = (tile){ ctx->profile.conv_wx, ctx->profile.conv_wy, 4, 4, 16 };
    t[n++] = (tile){ 8, 8, 4, 4, 16 };   /* 32 x 32 */
    t[n++] = (tile){ 8, 4, 4, 4, 16 };   /* 16 x 32 */
    t[n++] = (tile){ 4, 4, 4, 4, 16 };   /* 16 x 16 */
    t[n++] = (tile){ 2, 2, 4, 4, 8 };    /*  8 x 8 */
    t[n++] = (tile){ 1, 1, 4, 4, 8 };    /*  4 x 4 */
    return n;
}

/* The tile fits the profile's limits and the local memory (before any kernel exists). */
static int fits(const cgan_ctx *ctx, const tile *t)
{
    const cgan_profile *p = &ctx->profile;
    size_t items = (size_t)t->wx * (size_t)t->wy;
    size_t lmem = (size_t)t->bk * ((size_t)t->wy * t->rm + 1 + (size_t)t->wx * t->rn + 1) * 4;
    return items <= p->wg_limit && (size_t)t->wx <= p->wg_item_max[0] &&
           (size_t)t->wy <= p->wg_item_max[1] && (!p->local_mem || lmem <= p->local_mem);
}

/* The first tile that fits and whose kernel `name` accepts its work-group. */
static cgan_status pick(cgan_ctx *ctx, const cgan_convgeom *g, size_t m, const char *name,
                        tile *out, cgan_kernel **k)
{
    tile t[MAX_TILES];
    int n = candidates(ctx, m, t);
    for (int i = 0; i < n; i++) {
        if (!fits(ctx, &t[i])) continue;
        char opts[96];
        snprintf(opts, sizeof opts, "-DWX=%d -DWY=%d -DRM=%d -DRN=%d -DBK=%d -DKS=%d -DCS=%d",
                 t[i].wx, t[i].wy, t[i].rm, t[i].rn, t[i].bk, g->k, g->stride);
        CGAN_TRY(cgan_kernel_get(ctx, "conv_implicit", opts, name, k));
        if (cgan_kernel_max_wg(*k) < (size_t)t[i].wx * t[i].wy) continue;
        *out = t[i];
        return CGAN_OK;
    }
    return cgan_error(ctx, CGAN_E_UNSUPPORTED, "implicit conv %s: no tile fits the device "
                      "(work-groups of at most %zu items, %zu bytes of local memory)", name,
                      ctx->profile.wg_limit, ctx->profile.local_mem);
}

/* Every tensor of g indexes in 32 bits. */
static cgan_status check_geom(cgan_ctx *ctx, const cgan_convgeom *g)
{
    size_t img = (size_t)g->n * g->c * g->h * g->w, pos = (size_t)g->n * g->f * g->ho * g->wo;
    size_t wt = (size_t)g->f * g->c * g->k * g->k;
    if (img > INT_MAX) return too_big(ctx, "image", img);
    if (pos > INT_MAX) return too_big(ctx, "output", pos);
    if (wt > INT_MAX) return too_big(ctx, "weight", wt);
    return CGAN_OK;
}

static cgan_range tile_range(const tile *t, size_t cols, size_t rows, size_t z)
{
    size_t bm = (size_t)t->wy * t->rm, bn = (size_t)t->wx * t->rn;
    cgan_range r = { 3, { ceil_div(cols ? cols : 1, bn) * t->wx,
                          ceil_div(rows ? rows : 1, bm) * t->wy, z },
                     { (size_t)t->wx, (size_t)t->wy, 1 } };
    return r;
}

cgan_convgeom cgan_conv_implicit_geom(const cgan_node *nd)
{
    cgan_shape in = nd->in_shape[0], out = nd->out_shape;
    cgan_shape img = in, pos = out;
    if (nd->op == CGAN_OP_DECONV2D) {
        img = out;
        pos = in;
    }
    cgan_convgeom g = { in.n, img.c, img.h, img.w, pos.c, pos.h, pos.w, nd->a.k, nd->a.stride,
                        nd->a.pad };
    return g;
}

/* conv_fwd and conv_bwd_data take the same arguments: the tensor read, the weight, the
 * bias fused into the store (when not NULL), beta, the tensor written, the geometry. */
static cgan_status launch_gather(cgan_ctx *ctx, cgan_kernel *k, const cgan_range *r,
                                 const cgan_convgeom *g, cl_mem src, cl_mem wt, cl_mem bias,
                                 float beta, cl_mem dst)
{
    return cgan_launch(ctx, k, r, CGAN_KMEM(src), CGAN_KMEM(wt), CGAN_KMEM(bias ? bias : wt),
                       CGAN_KINT(bias != NULL), CGAN_KFLOAT(beta), CGAN_KMEM(dst), CGAN_KINT(g->n),
                       CGAN_KINT(g->c), CGAN_KINT(g->h), CGAN_KINT(g->w), CGAN_KINT(g->f),
                       CGAN_KINT(g->ho), CGAN_KINT(g->wo), CGAN_KINT(g->pad));
}

cgan_status cgan_conv_implicit_fwd(cgan_ctx *ctx, const cgan_convgeom *g, cl_mem x, cl_mem wt,
                                   cl_mem bias, float beta, cl_mem y)
{
    CGAN_TRY(check_geom(ctx, g));
    tile t;
    cgan_kernel *k;
    CGAN_TRY(pick(ctx, g, (size_t)g->f, "conv_fwd", &t, &k));
    cgan_range r = tile_range(&t, (size_t)g->n * g->ho * g->wo, (size_t)g->f, 1);
    return launch_gather(ctx, k, &r, g, x, wt, bias, beta, y);
}

cgan_status cgan_conv_implicit_bwd_data(cgan_ctx *ctx, const cgan_convgeom *g, cl_mem y,
                                        cl_mem wt, cl_mem bias, float beta, cl_mem x)
{
    CGAN_TRY(check_geom(ctx, g));
    tile t;
    cgan_kernel *k;
    CGAN_TRY(pick(ctx, g, (size_t)g->c, "conv_bwd_data", &t, &k));
    size_t s = (size_t)g->stride;
    /* the most pixels any stride phase has */
    size_t cols = (size_t)g->n * ceil_div((size_t)g->h, s) * ceil_div((size_t)g->w, s);
    cgan_range r = tile_range(&t, cols, (size_t)g->c, s * s);
    return launch_gather(ctx, k, &r, g, y, wt, bias, beta, x);
}

/* Chunks of the weight gradient's sum over N*P for tile t: enough work-groups for the
 * device (about four per compute unit), each chunk at least 8 tiles deep, the partial
 * blocks within `avail` floats. Returns the chunk count (1: no split), *kchunk its depth. */
static int wgrad_splits(const cgan_ctx *ctx, const cgan_convgeom *g, const tile *t,
                        size_t avail, int *kchunk)
{
    size_t kt = (size_t)g->n * g->ho * g->wo, mn = (size_t)g->f * g->c * g->k * g->k;
    size_t bm = (size_t)t->wy * t->rm, bn = (size_t)t->wx * t->rn;
    size_t groups = ceil_div((size_t)g->f, bm) * ceil_div((size_t)g->c * g->k * g->k, bn);
    size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
    size_t want = ceil_div(4 * cu, groups);
    size_t deep = kt / ((size_t)t->bk * 8);
    if (want > deep) want = deep;
    if (want > 64) want = 64;
    if (mn && want > avail / mn) want = avail / mn;
    if (want < 2) {
        *kchunk = (int)kt;
        return 1;
    }
    size_t chunk = ceil_div(ceil_div(kt, want), (size_t)t->bk) * t->bk;
    *kchunk = (int)chunk;
    return (int)ceil_div(kt, chunk);
}

cgan_status cgan_conv_implicit_wgrad(cgan_ctx *ctx, const cgan_convgeom *g, cl_mem y, cl_mem x,
                                     cl_mem work, size_t work_floats, cl_mem dw)
{
    CGAN_TRY(check_geom(ctx, g));
    tile t;
    cgan_kernel *k;
    CGAN_TRY(pick(ctx, g, (size_t)g->f, "conv_wgrad", &t, &k));
    size_t mn = (size_t)g->f * g->c * g->k * g->k;
    int kchunk;
    int splits = wgrad_splits(ctx, g, &t, work ? work_floats : 0, &kchunk);
    if ((size_t)splits * mn > INT_MAX) return too_big(ctx, "weight gradient", (size_t)splits * mn);
    cgan_range r = tile_range(&t, (size_t)g->c * g->k * g->k, (size_t)g->f, (size_t)splits);
    CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KMEM(y), CGAN_KMEM(x),
                         CGAN_KMEM(splits > 1 ? work : dw), CGAN_KINT(splits == 1),
                         CGAN_KINT(g->n), CGAN_KINT(g->c), CGAN_KINT(g->h), CGAN_KINT(g->w),
                         CGAN_KINT(g->f), CGAN_KINT(g->ho), CGAN_KINT(g->wo), CGAN_KINT(g->pad),
                         CGAN_KINT(kchunk)));
    if (splits == 1) return CGAN_OK;
    cgan_kernel *kr;
    CGAN_TRY(cgan_kernel_get(ctx, "conv_implicit", NULL, "conv_wgrad_reduce", &kr));
    size_t lx = ctx->profile.wg_limit < 64 ? ctx->profile.wg_limit : 64;
    if (lx > ctx->profile.wg_item_max[0]) lx = ctx->profile.wg_item_max[0];
    if (lx > cgan_kernel_max_wg(kr)) lx = cgan_kernel_max_wg(kr);
    if (lx < 1) lx = 1;
    cgan_range rr = { 1, { cgan_align_up(mn, lx), 1, 1 }, { lx, 1, 1 } };
    return cgan_launch(ctx, kr, &rr, CGAN_KINT(mn), CGAN_KINT(splits), CGAN_KMEM(work),
                       CGAN_KMEM(dw));
}

size_t cgan_conv_implicit_work(const cgan_ctx *ctx, const cgan_node *nd)
{
    cgan_convgeom g = cgan_conv_implicit_geom(nd);
    tile t[MAX_TILES];
    int n = candidates(ctx, (size_t)g.f, t);
    for (int i = 0; i < n; i++) {
        if (!fits(ctx, &t[i])) continue;
        size_t mn = (size_t)g.f * g.c * g.k * g.k;
        int kchunk;
        int splits = wgrad_splits(ctx, &g, &t[i], CGAN_CONV_WORK_CAP, &kchunk);
        return splits > 1 ? (size_t)splits * mn : 0;
    }
    return 0;
}

/* ---- the ops ---------------------------------------------------------------------------- */
cgan_status cgan_conv_implicit_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    cgan_convgeom g = cgan_conv_implicit_geom(nd);
    cl_mem bias = nd->a.has_bias ? a->param[1] : NULL;
    if (nd->op == CGAN_OP_DECONV2D)
        return cgan_conv_implicit_bwd_data(ctx, &g, a->in[0], a->param[0], bias, 0.0f, a->out);
    return cgan_conv_implicit_fwd(ctx, &g, a->in[0], a->param[0], bias, 0.0f, a->out);
}

cgan_status cgan_conv_implicit_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    cgan_convgeom g = cgan_conv_implicit_geom(nd);
    int deconv = nd->op == CGAN_OP_DECONV2D;
    /* the output's gradient and the input, as positions (y) and image (x) of g */
    cl_mem gy = deconv ? a->in[0] : a->dout, gx = deconv ? a->dout : a->in[0];
    int cout = deconv ? g.c : g.f;
    size_t plane = deconv ? (size_t)g.h * g.w : (size_t)g.ho * g.wo;
    if (nd->a.has_bias && a->dparam[1])
        CGAN_TRY(cgan_conv_bias_grad(ctx, g.n, cout, (int)plane, a->dout, a->work, a->dparam[1]));
    if (a->dparam[0])
        CGAN_TRY(cgan_conv_implicit_wgrad(ctx, &g, gy, gx, a->work, a->work ? nd->work_floats : 0,
                                          a->dparam[0]));
    if (a->din[0]) {
        if (deconv) /* dx (positions) = conv(dout) */
            return cgan_conv_implicit_fwd(ctx, &g, a->dout, a->param[0], NULL, a->din_beta[0],
                                          a->din[0]);
        return cgan_conv_implicit_bwd_data(ctx, &g, a->dout, a->param[0], NULL, a->din_beta[0],
                                           a->din[0]);
    }
    return CGAN_OK;
}
