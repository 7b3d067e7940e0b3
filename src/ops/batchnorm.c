/* BatchNorm2d, plain and conditional (cl/batchnorm.cl), with PyTorch's semantics:
 * training normalises with the batch mean and biased variance, saves mean and inverse
 * standard deviation in aux[0], aux[1] for backward, and moves running_mean/running_var
 * (the latter with the unbiased variance) by momentum; eval mode uses the running stats.
 * Conditional (attrs.num_classes = K > 0): inputs x and labels, gamma and beta are
 * [K,C] tables and each sample uses the row of its class. */
#include <limits.h>
#include <math.h>
#include "ops/norm.h"
#include "ops/defs.h"
#include "ops/builders.h"
#include "core/opcheck.h"

/* A power-of-two work-group size for the reductions: enough for `items` elements per
 * group, at most 256 and at most what the kernel accepts. */
static size_t reduce_wg(const cgan_kernel *k, size_t items)
{
    size_t cap = cgan_kernel_max_wg(k), wg = 1;
    if (cap > 256) cap = 256;
    while (wg * 2 <= cap && wg < items) wg *= 2;
    return wg;
}

static cgan_range groups(size_t count, size_t wg)
{
    cgan_range r = cgan_range_1d(count * wg);
    r.local[0] = wg;
    return r;
}

typedef struct bn_dims {
    int N, C, HW, K;
    size_t total;
} bn_dims;

static cgan_status bn_get_dims(cgan_ctx *ctx, const cgan_node *nd, bn_dims *d)
{
    cgan_shape s = nd->in_shape[0];
    d->N = s.n;
    d->C = s.c;
    d->HW = s.h * s.w;
    d->K = nd->a.num_classes;
    d->total = cgan_numel(s);
    if (d->total > INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: %zu elements exceed the 32-bit index range",
                          nd->name, d->total);
    return CGAN_OK;
}

static cgan_status bn_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    bn_dims d;
    CGAN_TRY(bn_get_dims(ctx, nd, &d));
    cl_mem labels = d.K > 0 ? a->in[1] : a->in[0]; /* plain: a stand-in, never read */
    cl_mem mean = a->state[0], stat = a->state[1];
    int is_var = 1;
    cgan_kernel *k;
    if (a->train) {
        CGAN_TRY(cgan_kernel_get(ctx, "batchnorm", NULL, "bn_stats", &k));
        size_t wg = reduce_wg(k, (size_t)d.N * (size_t)d.HW);
        cgan_range r = groups((size_t)d.C, wg);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.N), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                             CGAN_KFLOAT(nd->a.eps), CGAN_KFLOAT(nd->a.momentum),
                             CGAN_KMEM(a->in[0]), CGAN_KMEM(a->aux[0]), CGAN_KMEM(a->aux[1]),
                             CGAN_KMEM(a->state[0]), CGAN_KMEM(a->state[1]),
                             CGAN_KLOCAL(wg * sizeof(float))));
        mean = a->aux[0];
        stat = a->aux[1];
        is_var = 0;
    }
    CGAN_TRY(cgan_kernel_get(ctx, "batchnorm", NULL, "bn_apply", &k));
    cgan_range r = cgan_range_1d(d.total);
    return cgan_launch(ctx, k, &r, CGAN_KINT(d.total), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                       CGAN_KINT(d.K), CGAN_KMEM(labels), CGAN_KMEM(a->in[0]), CGAN_KMEM(mean),
                       CGAN_KMEM(stat), CGAN_KINT(is_var), CGAN_KFLOAT(nd->a.eps),
                       CGAN_KMEM(a->param[0]), CGAN_KMEM(a->param[1]), CGAN_KMEM(a->out));
}

/* Backward: per-(sample, channel) sums of dy and dy*xhat (needed for the parameter
 * gradients and, in training, for the batch terms of dx), their per-channel reduction,
 * then dx element-wise. work holds 2*N*C partial sums followed by 2*C batch terms. */
static cgan_status bn_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    bn_dims d;
    CGAN_TRY(bn_get_dims(ctx, nd, &d));
    cl_mem labels = d.K > 0 ? a->in[1] : a->in[0];
    cl_mem mean = a->train ? a->aux[0] : a->state[0];
    cl_mem stat = a->train ? a->aux[1] : a->state[1];
    int is_var = !a->train;
    int want_dx = a->din[0] != NULL;
    int want_dg = a->dparam[0] != NULL, want_db = a->dparam[1] != NULL;
    int need_sums = (want_dx && a->train) || want_dg || want_db;
    size_t nc = (size_t)d.N * (size_t)d.C;
    cgan_kernel *k;
    if (need_sums) {
        if (!a->work)
            return cgan_error(ctx, CGAN_E_INVALID, "%s: backward needs a work buffer", nd->name);
        CGAN_TRY(cgan_kernel_get(ctx, "batchnorm", NULL, "bn_bwd_partial", &k));
        size_t wg = reduce_wg(k, (size_t)d.HW);
        cgan_range r = groups(nc, wg);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.N), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                             CGAN_KMEM(a->in[0]), CGAN_KMEM(a->dout), CGAN_KMEM(mean),
                             CGAN_KMEM(stat), CGAN_KINT(is_var), CGAN_KFLOAT(nd->a.eps),
                             CGAN_KMEM(a->work), CGAN_KLOCAL(wg * sizeof(float))));
        CGAN_TRY(cgan_kernel_get(ctx, "batchnorm", NULL, "bn_bwd_reduce", &k));
        r = cgan_range_1d((size_t)d.C);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.N), CGAN_KINT(d.C), CGAN_KINT(d.K),
                             CGAN_KMEM(labels), CGAN_KMEM(a->param[0]), CGAN_KMEM(a->work),
                             CGAN_KINT(want_dg), CGAN_KMEM(want_dg ? a->dparam[0] : a->work),
                             CGAN_KINT(want_db), CGAN_KMEM(want_db ? a->dparam[1] : a->work),
                             CGAN_KFLOAT(1.0 / ((double)d.N * (double)d.HW))));
    }
    if (!want_dx) return CGAN_OK;
    CGAN_TRY(cgan_kernel_get(ctx, "batchnorm", NULL, "bn_bwd_dx", &k));
    cgan_range r = cgan_range_1d(d.total);
    return cgan_launch(ctx, k, &r, CGAN_KINT(d.total), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                       CGAN_KINT(d.K), CGAN_KMEM(labels), CGAN_KMEM(a->in[0]), CGAN_KMEM(a->dout),
                       CGAN_KMEM(mean), CGAN_KMEM(stat), CGAN_KINT(is_var), CGAN_KFLOAT(nd->a.eps),
                       CGAN_KMEM(a->param[0]), CGAN_KMEM(need_sums ? a->work : a->dout),
                       CGAN_KINT(need_sums ? 2 * nc : 0), CGAN_KINT(a->train),
                       CGAN_KFLOAT(a->din_beta[0]), CGAN_KMEM(a->din[0]));
}

/* ---- double-precision reference ------------------------------------------------- */

static int ref_class(const cgan_ref_args *a, int n)
{
    int K = a->node->a.num_classes;
    if (K <= 0) return 0;
    double v = a->in[1][n];
    int k = v >= 0 ? (v < K ? (int)v : K - 1) : 0;
    return k;
}

/* Mean and inverse std of channel c used by the pass: batch (aux) or running (state). */
static void ref_stats(const cgan_ref_args *a, int c, double *mean, double *invstd)
{
    if (a->train) {
        *mean = a->aux[0][c];
        *invstd = a->aux[1][c];
    } else {
        *mean = a->state[0][c];
        *invstd = 1.0 / sqrt(a->state[1][c] + (double)a->node->a.eps);
    }
}

static void bn_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    const cgan_shape s = nd->in_shape[0];
    const size_t HW = (size_t)s.h * s.w, M = (size_t)s.n * HW;
    const double *x = a->in[0];
    for (int c = 0; c < s.c; c++) {
        if (a->train) {
            double sum = 0, q = 0;
            for (int n = 0; n < s.n; n++)
                for (size_t p = 0; p < HW; p++) sum += x[((size_t)n * s.c + c) * HW + p];
            double mean = sum / (double)M;
            for (int n = 0; n < s.n; n++)
                for (size_t p = 0; p < HW; p++) {
                    double dv = x[((size_t)n * s.c + c) * HW + p] - mean;
                    q += dv * dv;
                }
            double var = q / (double)M;
            double unbiased = M > 1 ? var * (double)M / (double)(M - 1) : var;
            double mom = nd->a.momentum;
            a->aux[0][c] = mean;
            a->aux[1][c] = 1.0 / sqrt(var + (double)nd->a.eps);
            a->state[0][c] = (1 - mom) * a->state[0][c] + mom * mean;
            a->state[1][c] = (1 - mom) * a->state[1][c] + mom * unbiased;
        }
        double mean, sd;
        ref_stats(a, c, &mean, &sd);
        for (int n = 0; n < s.n; n++) {
            size_t p0 = (size_t)ref_class(a, n) * s.c + c;
            double g = a->param[0][p0], b = a->param[1][p0];
            for (size_t p = 0; p < HW; p++) {
                size_t i = ((size_t)n * s.c + c) * HW + p;
                a->out[i] = (x[i] - mean) * sd * g + b;
            }
        }
    }
}

static void bn_ref_backward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    const cgan_shape s = nd->in_shape[0];
    const size_t HW = (size_t)s.h * s.w, M = (size_t)s.n * HW;
    const double *x = a->in[0], *dy = a->dout;
    for (int c = 0; c < s.c; c++) {
        double mean, sd, A = 0, B = 0;
        ref_stats(a, c, &mean, &sd);
        for (int n = 0; n < s.n; n++) {
            size_t p0 = (size_t)ref_class(a, n) * s.c + c;
            double g = a->param[0][p0], s1 = 0, s2 = 0;
            for (size_t p = 0; p < HW; p++) {
                size_t i = ((size_t)n * s.c + c) * HW + p;
                s1 += dy[i];
                s2 += dy[i] * (x[i] - mean) * sd;
            }
            A += g * s1;
            B += g * s2;
            if (a->dparam[0]) a->dparam[0][p0] += s2;
            if (a->dparam[1]) a->dparam[1][p0] += s1;
        }
        if (!a->din[0]) continue;
        A /= (double)M;
        B /= (double)M;
        double beta = a->din_beta[0];
        for (int n = 0; n < s.n; n++) {
            double g = a->param[0][(size_t)ref_class(a, n) * s.c + c];
            for (size_t p = 0; p < HW; p++) {
                size_t i = ((size_t)n * s.c + c) * HW + p;
                double v = a->train ? sd * (g * dy[i] - A - (x[i] - mean) * sd * B)
                                    : g * sd * dy[i];
                a->din[0][i] = beta == 0.0 ? v : v + beta * a->din[0][i];
            }
        }
    }
}

const cgan_op_def cgan_op_batchnorm_def = {
    .name = "batchnorm",
    .flags = CGAN_BWD_NEEDS_INPUT,
    .forward = bn_forward,
    .backward = bn_backward,
    .ref_forward = bn_ref_forward,
    .ref_backward = bn_ref_backward,
};

/* ---- builders --------------------------------------------------------------------- */

static int bn_finish(cgan_graph *g, cgan_node *nd, int rows)
{
    const cgan_shape x = nd->in_shape[0];
    const cgan_shape ch = cgan_shape4(1, x.c, 1, 1), tab = cgan_shape4(rows, x.c, 1, 1);
    if (cgan_graph_add_param(g, nd, "weight", tab, CGAN_INIT_NORMAL, 1.0f, 0.02f) < 0 ||
        cgan_graph_add_param(g, nd, "bias", tab, CGAN_INIT_CONST, 0.0f, 0.0f) < 0 ||
        cgan_graph_add_state(g, nd, "running_mean", ch, 0.0f) < 0 ||
        cgan_graph_add_state(g, nd, "running_var", ch, 1.0f) < 0)
        return -1;
    nd->n_aux = 2;
    nd->aux_shape[0] = ch;
    nd->aux_shape[1] = ch;
    /* backward: 2*N*C per-sample partial sums, then 2*C batch terms */
    nd->work_floats = 2 * (size_t)x.n * (size_t)x.c + 2 * (size_t)x.c;
    return cgan_graph_end(g, nd, x);
}

int cgan_nn_batchnorm(cgan_graph *g, const char *name, int x)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_BATCHNORM, name, &x, 1);
    if (!nd) return -1;
    nd->a.num_classes = 0;
    return bn_finish(g, nd, 1);
}

int cgan_nn_cond_batchnorm(cgan_graph *g, const char *name, int x, int labels, int num_classes)
{
    const int in[2] = { x, labels };
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_BATCHNORM, name, in, 2);
    if (!nd) return -1;
    char sb[64];
    const cgan_shape ls = nd->in_shape[1];
    if (num_classes <= 0) return cgan_graph_fail(g, nd, "%d classes", num_classes);
    if (ls.n != nd->in_shape[0].n || ls.c != 1 || ls.h != 1 || ls.w != 1)
        return cgan_graph_fail(g, nd, "labels %s must be [%d,1,1,1]",
                               cgan_shape_str(ls, sb, sizeof sb), nd->in_shape[0].n);
    int range = cgan_graph_index_range(g, labels);
    if (range > num_classes)
        return cgan_graph_fail(g, nd, "labels range over %d classes, the tables hold %d", range,
                               num_classes);
    nd->a.num_classes = num_classes;
    return bn_finish(g, nd, num_classes);
}

/* ---- self-checks -------------------------------------------------------------------- */

/* One batchnorm graph (conditional when classes > 0) through cgan_opcheck in train and
 * eval mode; res gets the worst error relative to its tolerance. */
static cgan_status bn_selfcheck(cgan_ctx *ctx, cgan_shape xs, int classes, cgan_check_result *res)
{
    cgan_status st = CGAN_OK;
    double worst = -1;
    res->max_err = 0;
    res->tol = 1e-4;
    for (int train = 1; train >= 0 && st == CGAN_OK; train--) {
        cgan_graph *g = cgan_graph_new(ctx, "check");
        if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        int x = cgan_graph_input(g, "x", xs);
        if (classes > 0) {
            int y = cgan_graph_input_labels(g, "y", xs.n, classes);
            cgan_nn_cond_batchnorm(g, "cbn", x, y, classes);
        } else {
            cgan_nn_batchnorm(g, "bn", x);
        }
        st = cgan_graph_status(g);
        cgan_opcheck_case c = { train ? "batchnorm train" : "batchnorm eval", train, 1e-4, 1e-4,
                                1e-5, 31u + (uint64_t)train + 2u * (uint64_t)classes };
        cgan_opcheck_result r = { 0, 0, 0, 0 };
        if (st == CGAN_OK) st = cgan_opcheck(ctx, g, &c, &r);
        cgan_check_result one;
        cgan_opcheck_to_check(&c, &r, &one);
        if (one.max_err / one.tol > worst) {
            worst = one.max_err / one.tol;
            *res = one;
        }
        cgan_graph_destroy(g);
    }
    return st;
}

cgan_status cgan_selfcheck_batchnorm(cgan_ctx *ctx, cgan_check_result *res)
{
    return bn_selfcheck(ctx, cgan_shape4(3, 5, 7, 9), 0, res);
}

cgan_status cgan_selfcheck_cond_batchnorm(cgan_ctx *ctx, cgan_check_result *res)
{
    return bn_selfcheck(ctx, cgan_shape4(6, 3, 5, 7), 4, res);
}
