/* Minibatch standard deviation (see mbstd.h; kernels in cl/mbstd.cl).
 * x [N,C,H,W] -> y [N,C+1,H,W]: y[:, :C] = x, and y[n, C, :, :] = s_g for n's group g.
 * The samples are split into groups of G in batch order (samples g*G .. g*G+G-1; the last
 * group holds what is left, so any N works), and
 *   s_g = (1/F) sum_f sqrt(var_g(f) + eps),  F = C*H*W,
 * var_g(f) the biased variance of feature f across the group's members. Training and eval
 * passes are the same. Backward: ds_g/dx[n,f] = (x[n,f] - mu_g(f)) / (F * gs * sd_g(f)). */
#include <math.h>
#include "ops/mbstd.h"
#include "ops/defs.h"
#include "ops/builders.h"
#include "ops/dense.h"
#include "core/opcheck.h"

#define MBSTD_EPS 1e-8 /* as cl/mbstd.cl */

typedef struct mb_dims { int N, C, HW, F, G, M; } mb_dims;

static mb_dims dims(const cgan_node *nd)
{
    const cgan_shape x = nd->in_shape[0];
    mb_dims d = { x.n, x.c, x.h * x.w, x.c * x.h * x.w, nd->a.group, 0 };
    d.M = (d.N + d.G - 1) / d.G;
    return d;
}

int cgan_nn_mbstd(cgan_graph *g, const char *name, int x, int group)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_MBSTD, name, &x, 1);
    if (!nd) return -1;
    cgan_shape s = nd->in_shape[0];
    if (group < 1) return cgan_graph_fail(g, nd, "mbstd: group size %d must be at least 1", group);
    cgan_shape out = cgan_shape4(s.n, s.c + 1, s.h, s.w);
    if (!cgan_dense_fits_int(s) || s.c == 0x7fffffff || !cgan_dense_fits_int(out))
        return cgan_graph_fail(g, nd, "mbstd: output too large");
    nd->a.group = group < s.n ? group : s.n; /* a batch smaller than a group is one group */
    mb_dims d = dims(nd);
    nd->work_floats = (size_t)d.M; /* the statistic of each group; backward: its gradient */
    return cgan_graph_end(g, nd, out);
}

static cgan_status mbstd_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const mb_dims d = dims(a->node);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "mbstd", NULL, "mbstd_stat", &k));
    /* one work-group per group of samples, reducing its F features in local memory */
    size_t l = cgan_dense_pow2_wg(cgan_kernel_max_wg(k));
    while (l > 32 && l / 2 >= (size_t)d.F) l /= 2; /* few features: smaller work-groups */
    cgan_range r = cgan_range_1d((size_t)d.M * l);
    r.local[0] = l;
    CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.F), CGAN_KINT(d.N), CGAN_KINT(d.G), CGAN_KMEM(a->in[0]),
                         CGAN_KMEM(a->work), CGAN_KLOCAL(l * sizeof(float))));
    const int n = (int)cgan_numel(a->node->out_shape);
    r = cgan_range_1d((size_t)n);
    CGAN_TRY(cgan_kernel_get(ctx, "mbstd", NULL, "mbstd_fwd", &k));
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(d.C), CGAN_KINT(d.HW), CGAN_KINT(d.G),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->work), CGAN_KMEM(a->out));
}

static cgan_status mbstd_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    if (!a->din[0]) return CGAN_OK;
    const mb_dims d = dims(a->node);
    cgan_kernel *k;
    cgan_range r = cgan_range_1d((size_t)d.M);
    CGAN_TRY(cgan_kernel_get(ctx, "mbstd", NULL, "mbstd_dstat", &k));
    CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.M), CGAN_KINT(d.N), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                         CGAN_KINT(d.G), CGAN_KMEM(a->dout), CGAN_KMEM(a->work)));
    const int n = d.N * d.F;
    r = cgan_range_1d((size_t)n);
    CGAN_TRY(cgan_kernel_get(ctx, "mbstd", NULL, "mbstd_bwd", &k));
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(d.C), CGAN_KINT(d.HW), CGAN_KINT(d.N), CGAN_KINT(d.G),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->dout), CGAN_KMEM(a->work), CGAN_KFLOAT(a->din_beta[0]),
                       CGAN_KMEM(a->din[0]));
}

/* Group g's members: samples g0 .. g0 + size - 1 (the last group may be short). */
static int group_span(const mb_dims *d, int g, int *g0)
{
    *g0 = g * d->G;
    return d->N - *g0 < d->G ? d->N - *g0 : d->G;
}

/* Reference: mean and standard deviation of feature f over group g. */
static double ref_moments(const double *x, const mb_dims *d, int g, int f, double *mu)
{
    int g0;
    const int gs = group_span(d, g, &g0);
    double m = 0.0, v = 0.0;
    for (int j = 0; j < gs; j++) m += x[(size_t)(g0 + j) * d->F + f];
    m /= gs;
    for (int j = 0; j < gs; j++) v += (x[(size_t)(g0 + j) * d->F + f] - m) * (x[(size_t)(g0 + j) * d->F + f] - m);
    *mu = m;
    return sqrt(v / gs + MBSTD_EPS);
}

static void mbstd_ref_forward(const cgan_ref_args *a)
{
    const mb_dims d = dims(a->node);
    for (int g = 0; g < d.M; g++) {
        double s = 0.0, mu;
        for (int f = 0; f < d.F; f++) s += ref_moments(a->in[0], &d, g, f, &mu);
        s /= d.F;
        int g0;
        const int gs = group_span(&d, g, &g0);
        for (int n = g0; n < g0 + gs; n++) {
            double *y = a->out + (size_t)n * (d.C + 1) * d.HW;
            for (int f = 0; f < d.F; f++) y[f] = a->in[0][(size_t)n * d.F + f];
            for (int p = 0; p < d.HW; p++) y[d.F + p] = s;
        }
    }
}

static void mbstd_ref_backward(const cgan_ref_args *a)
{
    if (!a->din[0]) return;
    const mb_dims d = dims(a->node);
    for (int g = 0; g < d.M; g++) {
        int g0;
        const int gs = group_span(&d, g, &g0);
        double ds = 0.0;
        for (int n = g0; n < g0 + gs; n++)
            for (int p = 0; p < d.HW; p++) ds += a->dout[((size_t)n * (d.C + 1) + d.C) * d.HW + p];
        ds /= d.F;
        for (int f = 0; f < d.F; f++) {
            double mu, sd = ref_moments(a->in[0], &d, g, f, &mu);
            for (int n = g0; n < g0 + gs; n++) {
                const size_t i = (size_t)n * d.F + f;
                const double v = a->dout[(size_t)n * (d.C + 1) * d.HW + f] + ds * (a->in[0][i] - mu) / (gs * sd);
                cgan_dense_put(&a->din[0][i], a->din_beta[0], v);
            }
        }
    }
}

const cgan_op_def cgan_op_mbstd_def = {
    .name = "mbstd",
    .flags = CGAN_BWD_NEEDS_INPUT,
    .forward = mbstd_forward,
    .backward = mbstd_backward,
    .ref_forward = mbstd_ref_forward,
    .ref_backward = mbstd_ref_backward,
};

/* Groups of 4 over a batch of 7 (the last group has 3), a batch smaller than the group,
 * and groups of one. The case with the most groups runs first: under Oclgrind's
 * uninitialised-value plugin, a later case's work buffer holding more groups than an
 * earlier, released one was reported as read uninitialised past the earlier size, though
 * every value matched the reference (seen with Oclgrind 21.10, 2026-12-04). */
cgan_status cgan_selfcheck_mbstd(cgan_ctx *ctx, cgan_check_result *res)
{
    static const struct { int n, c, h, w, group; const char *label; } cases[] = {
        { 6, 2, 2, 3, 1, "mbstd [6,2,2,3] groups of 1 (the statistic is constant)" },
        { 7, 3, 3, 2, 4, "mbstd [7,3,3,2] groups of 4 (last 3)" },
        { 3, 5, 1, 1, 4, "mbstd [3,5,1,1], a batch below the group size" },
    };
    cgan_status st = CGAN_OK;
    double worst = -1;
    res->max_err = 0;
    res->tol = 1e-4;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && st == CGAN_OK; i++) {
        cgan_graph *g = cgan_graph_new(ctx, "check");
        if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "mbstd self-check: out of memory");
        int x = cgan_graph_input(g, "x", cgan_shape4(cases[i].n, cases[i].c, cases[i].h, cases[i].w));
        cgan_nn_mbstd(g, "mbstd", x, cases[i].group);
        const cgan_opcheck_case c = { cases[i].label, 1, 1e-5, 1e-4, 1e-4, 31u + (uint64_t)i };
        st = cgan_opcheck_graph(ctx, g, &c, res, &worst);
    }
    return st;
}
