/* DiffAugment "translation,cutout" (cl/diffaug.cl); semantics in diffaug.h.
 * Forward draws the per-sample parameters into aux[0] with one kernel and gathers the
 * output with another; backward gathers the input gradient from aux[0]. The reference
 * draws the same parameters with the host Philox. */
#include <limits.h>
#include <math.h>
#include "ops/diffaug.h"
#include "ops/defs.h"
#include "core/opcheck.h"
#include "core/rng.h"

#define DIFFAUG_TAG 0x44494641u /* "DIFA", same constant as cl/diffaug.cl */
#define DIFFAUG_MAX_SIDE (1 << 24) /* parameters are kept exactly in float aux */

static int round_half_up(int n, float ratio)
{
    return (int)floor((double)n * (double)ratio + 0.5);
}

void cgan_diffaug_sizes(int h, int w, float translate_ratio, float cutout_ratio, int sizes[4])
{
    sizes[0] = round_half_up(h, translate_ratio);
    sizes[1] = round_half_up(w, translate_ratio);
    sizes[2] = round_half_up(h, cutout_ratio);
    sizes[3] = round_half_up(w, cutout_ratio);
}

/* Uniform integer in [0, m) from a 32-bit word (mul_hi on the device). */
static int below(uint32_t u, uint32_t m)
{
    return (int)(((uint64_t)u * m) >> 32);
}

void cgan_diffaug_draw(uint64_t seed, uint64_t counter, uint32_t n, int h, int w,
                       const int sizes[4], int p[4])
{
    const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    const uint32_t ctr[4] = { n, (uint32_t)counter, (uint32_t)(counter >> 32), DIFFAUG_TAG };
    uint32_t r[4];
    cgan_philox4x32(ctr, key, r);
    p[0] = below(r[0], 2u * (uint32_t)sizes[1] + 1u) - sizes[1];
    p[1] = below(r[1], 2u * (uint32_t)sizes[0] + 1u) - sizes[0];
    p[2] = below(r[2], (uint32_t)h);
    p[3] = below(r[3], (uint32_t)w);
}

static void node_sizes(const cgan_node *nd, int sizes[4])
{
    cgan_diffaug_sizes(nd->in_shape[0].h, nd->in_shape[0].w, nd->a.p, nd->a.target, sizes);
}

/* ---- device ----------------------------------------------------------------------- */

static cgan_status check_range(cgan_ctx *ctx, const cgan_node *nd, size_t n)
{
    if (n > INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: %zu elements exceed the 32-bit index range",
                          nd->name, n);
    return CGAN_OK;
}

static cgan_status diffaug_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    const cgan_shape s = nd->in_shape[0];
    size_t n = cgan_numel(s);
    CGAN_TRY(check_range(ctx, nd, n));
    if (!a->train) return cgan_buffer_copy(ctx, a->in[0], 0, a->out, 0, n * sizeof(float));
    int sz[4];
    node_sizes(nd, sz);
    cgan_kernel *kp, *kf;
    CGAN_TRY(cgan_kernel_get(ctx, "diffaug", NULL, "diffaug_params", &kp));
    CGAN_TRY(cgan_kernel_get(ctx, "diffaug", NULL, "diffaug_fwd", &kf));
    cgan_range rp = cgan_range_1d((size_t)s.n);
    CGAN_TRY(cgan_launch(ctx, kp, &rp, CGAN_KINT(s.n), CGAN_KINT(s.h), CGAN_KINT(s.w),
                         CGAN_KINT(sz[0]), CGAN_KINT(sz[1]), CGAN_KUINT((uint32_t)a->seed),
                         CGAN_KUINT((uint32_t)(a->seed >> 32)), CGAN_KUINT((uint32_t)a->counter),
                         CGAN_KUINT((uint32_t)(a->counter >> 32)), CGAN_KMEM(a->aux[0])));
    cgan_range rf = cgan_range_1d(n);
    return cgan_launch(ctx, kf, &rf, CGAN_KINT(n), CGAN_KINT(s.c * s.h * s.w), CGAN_KINT(s.h),
                       CGAN_KINT(s.w), CGAN_KINT(sz[2]), CGAN_KINT(sz[3]), CGAN_KMEM(a->aux[0]),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->out));
}

static cgan_status diffaug_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    if (!a->din[0]) return CGAN_OK;
    const cgan_node *nd = a->node;
    const cgan_shape s = nd->in_shape[0];
    size_t n = cgan_numel(s);
    CGAN_TRY(check_range(ctx, nd, n));
    int sz[4];
    node_sizes(nd, sz);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "diffaug", NULL, "diffaug_bwd", &k));
    cgan_range r = cgan_range_1d(n);
    /* in eval mode the parameters are not read; dout stands in as a valid buffer */
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(s.c * s.h * s.w), CGAN_KINT(s.h),
                       CGAN_KINT(s.w), CGAN_KINT(sz[2]), CGAN_KINT(sz[3]), CGAN_KINT(a->train),
                       CGAN_KMEM(a->train ? a->aux[0] : a->dout), CGAN_KMEM(a->dout),
                       CGAN_KFLOAT(a->din_beta[0]), CGAN_KMEM(a->din[0]));
}

/* ---- reference -------------------------------------------------------------------- */

/* 1 when output pixel (y, x) of a sample with parameters p survives the cutout. */
static int ref_uncut(const int p[4], const int sz[4], int y, int x)
{
    int y0 = p[2] - sz[2] / 2, x0 = p[3] - sz[3] / 2;
    return !(y >= y0 && y < y0 + sz[2] && x >= x0 && x < x0 + sz[3]);
}

static void ref_params(const double *aux, int sample, int p[4])
{
    for (int k = 0; k < 4; k++) p[k] = (int)aux[4 * sample + k];
}

static void diffaug_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    const cgan_shape s = nd->in_shape[0];
    size_t n = cgan_numel(s);
    if (!a->train) {
        for (size_t i = 0; i < n; i++) a->out[i] = a->in[0][i];
        return;
    }
    int sz[4];
    node_sizes(nd, sz);
    const size_t plane = (size_t)s.h * (size_t)s.w;
    for (int b = 0; b < s.n; b++) {
        int p[4];
        cgan_diffaug_draw(a->seed, a->counter, (uint32_t)b, s.h, s.w, sz, p);
        for (int k = 0; k < 4; k++) a->aux[0][4 * b + k] = p[k];
        for (int c = 0; c < s.c; c++) {
            const double *xin = a->in[0] + ((size_t)b * s.c + c) * plane;
            double *y = a->out + ((size_t)b * s.c + c) * plane;
            for (int yy = 0; yy < s.h; yy++)
                for (int xx = 0; xx < s.w; xx++) {
                    int sy = yy - p[1], sx = xx - p[0];
                    int keep = sy >= 0 && sy < s.h && sx >= 0 && sx < s.w && ref_uncut(p, sz, yy, xx);
                    y[(size_t)yy * s.w + xx] = keep ? xin[(size_t)sy * s.w + sx] : 0.0;
                }
        }
    }
}

static void diffaug_ref_backward(const cgan_ref_args *a)
{
    if (!a->din[0]) return;
    const cgan_node *nd = a->node;
    const cgan_shape s = nd->in_shape[0];
    const double beta = a->din_beta[0];
    const size_t plane = (size_t)s.h * (size_t)s.w;
    int sz[4];
    node_sizes(nd, sz);
    for (int b = 0; b < s.n; b++) {
        int p[4] = { 0, 0, 0, 0 };
        if (a->train) ref_params(a->aux[0], b, p);
        for (int c = 0; c < s.c; c++) {
            const double *dy = a->dout + ((size_t)b * s.c + c) * plane;
            double *dx = a->din[0] + ((size_t)b * s.c + c) * plane;
            for (int yy = 0; yy < s.h; yy++)
                for (int xx = 0; xx < s.w; xx++) {
                    double g;
                    if (!a->train) {
                        g = dy[(size_t)yy * s.w + xx];
                    } else {
                        int oy = yy + p[1], ox = xx + p[0];
                        int keep = oy >= 0 && oy < s.h && ox >= 0 && ox < s.w &&
                                   ref_uncut(p, sz, oy, ox);
                        g = keep ? dy[(size_t)oy * s.w + ox] : 0.0;
                    }
                    double *d = &dx[(size_t)yy * s.w + xx];
                    *d = beta == 0.0 ? g : g + beta * *d;
                }
        }
    }
}

const cgan_op_def cgan_op_diffaug_def = {
    .name = "diffaug",
    .flags = 0,
    .forward = diffaug_forward,
    .backward = diffaug_backward,
    .ref_forward = diffaug_ref_forward,
    .ref_backward = diffaug_ref_backward,
};

int cgan_nn_diffaug(cgan_graph *g, const char *name, int x, float translate_ratio,
                    float cutout_ratio)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_DIFFAUG, name, &x, 1);
    if (!nd) return -1;
    if (!(translate_ratio >= 0.0f && translate_ratio <= 1.0f))
        return cgan_graph_fail(g, nd, "translation ratio %g is not in [0, 1]",
                               (double)translate_ratio);
    if (!(cutout_ratio >= 0.0f && cutout_ratio <= 1.0f))
        return cgan_graph_fail(g, nd, "cutout ratio %g is not in [0, 1]", (double)cutout_ratio);
    const cgan_shape s = nd->in_shape[0];
    if (s.h > DIFFAUG_MAX_SIDE || s.w > DIFFAUG_MAX_SIDE)
        return cgan_graph_fail(g, nd, "image side %d x %d is too large", s.h, s.w);
    nd->a.p = translate_ratio;
    nd->a.target = cutout_ratio;
    nd->n_aux = 1;
    nd->aux_shape[0] = cgan_shape4(s.n, 4, 1, 1);
    return cgan_graph_end(g, nd, s);
}

/* Train mode (finite differences are exact: the op is linear in x for fixed parameters)
 * and eval mode, on an odd shape whose sizes round up (7 x 5: shifts 2, 1; cutout 4 x 3). */
cgan_status cgan_selfcheck_diffaug(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_status st = CGAN_OK;
    double worst = -1;
    res->max_err = 0;
    res->tol = 1e-5;
    for (int train = 1; train >= 0 && st == CGAN_OK; train--) {
        cgan_graph *g = cgan_graph_new(ctx, "check");
        if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        int x = cgan_graph_input(g, "x", cgan_shape4(3, 2, 7, 5));
        cgan_nn_diffaug(g, "aug", x, 0.25f, 0.5f);
        cgan_opcheck_case c = { train ? "diffaug train" : "diffaug eval", train, 1e-6, 1e-6, 1e-5,
                                91u + (uint64_t)train };
        st = cgan_opcheck_graph(ctx, g, &c, res, &worst);
    }
    return st;
}
