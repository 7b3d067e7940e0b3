/* BatchNorm2d, plain and conditional, optionally with ReLU / LeakyReLU fused into its
 * output (cl/batchnorm.cl), with PyTorch's semantics:
 * training normalises with the batch mean and biased variance, saves mean and inverse
 * standard deviation in aux[0], aux[1] for backward, and moves running_mean/running_var
 * (the latter with the unbiased variance) by momentum; eval mode uses the running stats.
 * Conditional (attrs.num_classes = K > 0): inputs x and labels, gamma and beta are
 * [K,C] tables and each sample uses the row of its class.
 * With a cgan_bn_sync (train --sync-bn), training statistics and the batch terms of the
 * input gradient span every process of a data-parallel job (ops/op.h). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "ops/norm.h"
#include "ops/defs.h"
#include "ops/builders.h"
#include "core/opcheck.h"

/* Lanes per plane (BN_LANES in cl/batchnorm.cl): the device profile's (1 on CPUs, 32
 * elsewhere, never more than a work-group holds; $CGAN_BN_LANES overrides it). */
static int bn_lanes(const cgan_ctx *ctx)
{
    return ctx->profile.bn_lanes;
}

static cgan_status bn_kernel(cgan_ctx *ctx, int lanes, const char *name, cgan_kernel **k)
{
    char opts[32];
    snprintf(opts, sizeof opts, "-DBN_LANES=%d", lanes);
    return cgan_kernel_get(ctx, "batchnorm", opts, name, k);
}

typedef struct bn_dims {
    int N, C, HW, K, NC;
    int lanes, rows;        /* plane kernels: lanes per plane, planes per work-group */
    float neg;              /* fused activation: 1 none, 0 ReLU, slope LeakyReLU */
} bn_dims;

static cgan_status bn_get_dims(cgan_ctx *ctx, const cgan_node *nd, bn_dims *d)
{
    cgan_shape s = nd->in_shape[0];
    d->N = s.n;
    d->C = s.c;
    d->HW = s.h * s.w;
    d->K = nd->a.num_classes;
    d->NC = s.n * s.c;
    if (cgan_numel(s) > INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: %zu elements exceed the 32-bit index range",
                          nd->name, cgan_numel(s));
    d->neg = nd->a.act == CGAN_ACT_RELU ? 0.0f : nd->a.act == CGAN_ACT_LRELU ? nd->a.slope : 1.0f;
    d->lanes = bn_lanes(ctx);
    /* CPUs: groups of about 4096 values (1..64 planes); GPUs: 256 work-items */
    int rows = 1;
    if (d->lanes == 1)
        while (rows < 64 && (size_t)rows * 2 * (size_t)d->HW <= 4096) rows *= 2;
    else
        rows = d->lanes >= 256 ? 1 : 256 / d->lanes;
    d->rows = rows;
    return CGAN_OK;
}

/* The 2-D range of a plane kernel, its rows shrunk to what the kernel accepts. */
static cgan_range bn_planes(const bn_dims *d, const cgan_kernel *k)
{
    size_t cap = cgan_kernel_max_wg(k) / (size_t)d->lanes, rows = (size_t)d->rows;
    while (rows > 1 && rows > cap) rows /= 2;
    return cgan_range_2d((size_t)d->lanes, (size_t)d->NC, (size_t)d->lanes, rows);
}

static size_t bn_local(const cgan_range *r)
{
    return r->local[0] * r->local[1] * sizeof(float);
}

static cgan_status bn_need_work(cgan_ctx *ctx, const cgan_op_args *a)
{
    if (!a->work)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: batchnorm needs a work buffer", a->node->name);
    return CGAN_OK;
}

/* Training: per-plane sums into work, their per-channel combination into aux (batch mean
 * and inverse std) and the running statistics; then one pass writing the output. */
static cgan_status bn_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    bn_dims d;
    CGAN_TRY(bn_get_dims(ctx, nd, &d));
    cl_mem labels = d.K > 0 ? a->in[1] : a->in[0]; /* plain: a stand-in, never read */
    cl_mem mean = a->state[0], stat = a->state[1];
    int is_var = 1;
    cgan_kernel *k;
    cgan_range r;
    if (a->train) {
        CGAN_TRY(bn_need_work(ctx, a));
        CGAN_TRY(bn_kernel(ctx, d.lanes, "bn_stats_part", &k));
        r = bn_planes(&d, k);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.NC), CGAN_KINT(d.HW), CGAN_KMEM(a->in[0]),
                             CGAN_KMEM(a->work), CGAN_KLOCAL(bn_local(&r))));
        /* --sync-bn: the planes of every process, combined as one batch of N x ranks */
        cl_mem part = a->work;
        int planes = d.N;
        if (a->bn_sync && a->bn_sync->ranks > 1) {
            if ((int64_t)d.NC * a->bn_sync->ranks > INT_MAX / 2)
                return cgan_error(ctx, CGAN_E_INVALID, "%s: %d processes' statistics exceed the 32-bit index range",
                                  nd->name, a->bn_sync->ranks);
            CGAN_TRY(a->bn_sync->gather(a->bn_sync->user, ctx, a->work, (size_t)d.NC, &part));
            planes = d.N * a->bn_sync->ranks;
        }
        CGAN_TRY(bn_kernel(ctx, d.lanes, "bn_stats_final", &k));
        r = cgan_range_1d((size_t)d.C);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(planes), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                             CGAN_KFLOAT(nd->a.eps), CGAN_KFLOAT(nd->a.momentum),
                             CGAN_KMEM(part), CGAN_KMEM(a->aux[0]), CGAN_KMEM(a->aux[1]),
                             CGAN_KMEM(a->state[0]), CGAN_KMEM(a->state[1])));
        mean = a->aux[0];
        stat = a->aux[1];
        is_var = 0;
    }
    CGAN_TRY(bn_kernel(ctx, d.lanes, "bn_apply", &k));
    r = bn_planes(&d, k);
    return cgan_launch(ctx, k, &r, CGAN_KINT(d.NC), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                       CGAN_KINT(d.K), CGAN_KMEM(labels), CGAN_KMEM(a->in[0]), CGAN_KMEM(mean),
                       CGAN_KMEM(stat), CGAN_KINT(is_var), CGAN_KFLOAT(nd->a.eps),
                       CGAN_KMEM(a->param[0]), CGAN_KMEM(a->param[1]), CGAN_KFLOAT(d.neg),
                       CGAN_KMEM(a->out));
}

/* Backward: per-plane sums of dz and dz*xhat (dz: dy through the fused activation's
 * mask, taken from the saved output), needed for the parameter gradients and, in
 * training, for the batch terms of dx; their per-channel reduction; then dx in one pass.
 * work holds 2*N*C partial sums followed by 2*C batch terms. */
static cgan_status bn_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    bn_dims d;
    CGAN_TRY(bn_get_dims(ctx, nd, &d));
    cl_mem labels = d.K > 0 ? a->in[1] : a->in[0];
    cl_mem mean = a->train ? a->aux[0] : a->state[0];
    cl_mem stat = a->train ? a->aux[1] : a->state[1];
    /* y is read only through the activation mask */
    cl_mem y = d.neg != 1.0f ? a->out : a->dout;
    int is_var = !a->train;
    int want_dx = a->din[0] != NULL;
    int want_dg = a->dparam[0] != NULL, want_db = a->dparam[1] != NULL;
    int need_sums = (want_dx && a->train) || want_dg || want_db;
    cgan_kernel *k;
    cgan_range r;
    if (d.neg != 1.0f && !y)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: backward needs the saved output", nd->name);
    if (need_sums) {
        CGAN_TRY(bn_need_work(ctx, a));
        CGAN_TRY(bn_kernel(ctx, d.lanes, "bn_bwd_part", &k));
        r = bn_planes(&d, k);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.NC), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                             CGAN_KMEM(a->in[0]), CGAN_KMEM(y), CGAN_KMEM(a->dout),
                             CGAN_KMEM(mean), CGAN_KMEM(stat), CGAN_KINT(is_var),
                             CGAN_KFLOAT(nd->a.eps), CGAN_KFLOAT(d.neg), CGAN_KMEM(a->work),
                             CGAN_KLOCAL(bn_local(&r))));
        CGAN_TRY(bn_kernel(ctx, d.lanes, "bn_bwd_reduce", &k));
        r = cgan_range_1d((size_t)d.C);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(d.N), CGAN_KINT(d.C), CGAN_KINT(d.K),
                             CGAN_KMEM(labels), CGAN_KMEM(a->param[0]), CGAN_KMEM(a->work),
                             CGAN_KINT(want_dg), CGAN_KMEM(want_dg ? a->dparam[0] : a->work),
                             CGAN_KINT(want_db), CGAN_KMEM(want_db ? a->dparam[1] : a->work),
                             CGAN_KFLOAT(1.0 / ((double)d.N * (double)d.HW))));
        /* --sync-bn: the batch terms of dx over the job (the mean of the processes' means;
         * dgamma and dbeta stay this process's, as the gradient all-reduce averages them) */
        if (want_dx && a->train && a->bn_sync && a->bn_sync->ranks > 1)
            CGAN_TRY(a->bn_sync->mean(a->bn_sync->user, ctx, a->work, 2 * (size_t)d.NC, 2 * (size_t)d.C));
    }
    if (!want_dx) return CGAN_OK;
    CGAN_TRY(bn_kernel(ctx, d.lanes, "bn_bwd_dx", &k));
    r = bn_planes(&d, k);
    return cgan_launch(ctx, k, &r, CGAN_KINT(d.NC), CGAN_KINT(d.C), CGAN_KINT(d.HW),
                       CGAN_KINT(d.K), CGAN_KMEM(labels), CGAN_KMEM(a->in[0]), CGAN_KMEM(y),
                       CGAN_KMEM(a->dout), CGAN_KMEM(mean), CGAN_KMEM(stat), CGAN_KINT(is_var),
                       CGAN_KFLOAT(nd->a.eps), CGAN_KMEM(a->param[0]),
                       CGAN_KMEM(need_sums ? a->work : a->dout),
                       CGAN_KINT(need_sums ? 2 * d.NC : 0), CGAN_KINT(a->train),
                       CGAN_KFLOAT(d.neg), CGAN_KFLOAT(a->din_beta[0]), CGAN_KMEM(a->din[0]));
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
                double z = (x[i] - mean) * sd * g + b;
                a->out[i] = nd->a.act == CGAN_ACT_NONE ? z : cgan_act_value(nd->a.act, nd->a.slope, z);
            }
        }
    }
}

/* dy taken back through the fused activation at z (its mask is z > 0, as y > 0). */
static double ref_dz(const cgan_node *nd, double z, double dy)
{
    if (nd->a.act == CGAN_ACT_NONE || z > 0) return dy;
    return nd->a.act == CGAN_ACT_LRELU ? nd->a.slope * dy : 0.0;
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
            double g = a->param[0][p0], b = a->param[1][p0], s1 = 0, s2 = 0;
            for (size_t p = 0; p < HW; p++) {
                size_t i = ((size_t)n * s.c + c) * HW + p;
                double xh = (x[i] - mean) * sd, d = ref_dz(nd, xh * g + b, dy[i]);
                s1 += d;
                s2 += d * xh;
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
            size_t p0 = (size_t)ref_class(a, n) * s.c + c;
            double g = a->param[0][p0], b = a->param[1][p0];
            for (size_t p = 0; p < HW; p++) {
                size_t i = ((size_t)n * s.c + c) * HW + p;
                double xh = (x[i] - mean) * sd;
                double d = ref_dz(nd, xh * g + b, dy[i]);
                double v = a->train ? sd * (g * d - A - xh * B) : g * sd * d;
                a->din[0][i] = beta == 0.0 ? v : v + beta * a->din[0][i];
            }
        }
    }
}

const cgan_op_def cgan_op_batchnorm_def = {
    .name = "batchnorm",
    .flags = CGAN_BWD_NEEDS_INPUT | CGAN_BWD_NEEDS_OUTPUT, /* the output: the fused mask */
    .forward = bn_forward,
    .backward = bn_backward,
    .ref_forward = bn_ref_forward,
    .ref_backward = bn_ref_backward,
};

/* ---- builders --------------------------------------------------------------------- */

static int bn_finish(cgan_graph *g, cgan_node *nd, int rows, cgan_act act, float slope)
{
    const cgan_shape x = nd->in_shape[0];
    const cgan_shape ch = cgan_shape4(1, x.c, 1, 1), tab = cgan_shape4(rows, x.c, 1, 1);
    if (act != CGAN_ACT_NONE && act != CGAN_ACT_RELU && act != CGAN_ACT_LRELU)
        return cgan_graph_fail(g, nd, "activation kind %d cannot be fused into batchnorm "
                                      "(ReLU and LeakyReLU can)", (int)act);
    /* backward reads the mask from the output's sign: the slope must keep it */
    if (act == CGAN_ACT_LRELU && !(isfinite(slope) && slope >= 0.0f))
        return cgan_graph_fail(g, nd, "fused leaky ReLU slope %g must be finite and >= 0",
                               (double)slope);
    nd->a.act = act;
    nd->a.slope = act == CGAN_ACT_LRELU ? slope : 0.0f;
    if (cgan_graph_add_param(g, nd, "weight", tab, CGAN_INIT_NORMAL, 1.0f, 0.02f) < 0 ||
        cgan_graph_add_param(g, nd, "bias", tab, CGAN_INIT_CONST, 0.0f, 0.0f) < 0 ||
        cgan_graph_add_state(g, nd, "running_mean", ch, 0.0f) < 0 ||
        cgan_graph_add_state(g, nd, "running_var", ch, 1.0f) < 0)
        return -1;
    nd->n_aux = 2;
    nd->aux_shape[0] = ch;
    nd->aux_shape[1] = ch;
    /* 2*N*C per-plane partial sums (forward and backward), then 2*C batch terms */
    nd->work_floats = 2 * (size_t)x.n * (size_t)x.c + 2 * (size_t)x.c;
    return cgan_graph_end(g, nd, x);
}

int cgan_nn_batchnorm_act(cgan_graph *g, const char *name, int x, cgan_act act, float slope)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_BATCHNORM, name, &x, 1);
    if (!nd) return -1;
    nd->a.num_classes = 0;
    return bn_finish(g, nd, 1, act, slope);
}

int cgan_nn_batchnorm(cgan_graph *g, const char *name, int x)
{
    return cgan_nn_batchnorm_act(g, name, x, CGAN_ACT_NONE, 0.0f);
}

int cgan_nn_cond_batchnorm_act(cgan_graph *g, const char *name, int x, int labels,
                               int num_classes, cgan_act act, float slope)
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
    return bn_finish(g, nd, num_classes, act, slope);
}

int cgan_nn_cond_batchnorm(cgan_graph *g, const char *name, int x, int labels, int num_classes)
{
    return cgan_nn_cond_batchnorm_act(g, name, x, labels, num_classes, CGAN_ACT_NONE, 0.0f);
}

/* ---- self-checks -------------------------------------------------------------------- */

/* One batchnorm graph (conditional when classes > 0, with a fused act) through
 * cgan_opcheck in train and eval mode; res keeps the case worst relative to its
 * tolerance, *worst that ratio. */
static cgan_status bn_selfcheck(cgan_ctx *ctx, cgan_shape xs, int classes, cgan_act act,
                                cgan_check_result *res, double *worst)
{
    cgan_status st = CGAN_OK;
    for (int train = 1; train >= 0 && st == CGAN_OK; train--) {
        cgan_graph *g = cgan_graph_new(ctx, "check");
        if (g) {
            int x = cgan_graph_input(g, "x", xs);
            if (classes > 0) {
                int y = cgan_graph_input_labels(g, "y", xs.n, classes);
                cgan_nn_cond_batchnorm_act(g, "cbn", x, y, classes, act, 0.2f);
            } else {
                cgan_nn_batchnorm_act(g, "bn", x, act, 0.2f);
            }
        }
        cgan_opcheck_case c = { train ? "batchnorm train" : "batchnorm eval", train, 1e-4, 1e-4,
                                1e-5, 31u + (uint64_t)train + 2u * (uint64_t)classes +
                                          4u * (uint64_t)act };
        st = cgan_opcheck_graph(ctx, g, &c, res, worst);
    }
    return st;
}

cgan_status cgan_selfcheck_batchnorm(cgan_ctx *ctx, cgan_check_result *res)
{
    double worst = -1;
    return bn_selfcheck(ctx, cgan_shape4(3, 5, 7, 9), 0, CGAN_ACT_NONE, res, &worst);
}

cgan_status cgan_selfcheck_cond_batchnorm(cgan_ctx *ctx, cgan_check_result *res)
{
    double worst = -1;
    return bn_selfcheck(ctx, cgan_shape4(6, 3, 5, 7), 4, CGAN_ACT_NONE, res, &worst);
}

/* Fused ReLU into plain and LeakyReLU(0.2) into conditional batchnorm, odd shapes. */
cgan_status cgan_selfcheck_batchnorm_act(cgan_ctx *ctx, cgan_check_result *res)
{
    double worst = -1;
    cgan_status st = bn_selfcheck(ctx, cgan_shape4(3, 5, 7, 3), 0, CGAN_ACT_RELU, res, &worst);
    if (st == CGAN_OK)
        st = bn_selfcheck(ctx, cgan_shape4(5, 3, 3, 5), 3, CGAN_ACT_LRELU, res, &worst);
    return st;
}
