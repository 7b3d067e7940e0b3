/* Spectral normalisation (Miyato et al. 2018): W_sn = W / sigma, sigma = u^T W v with u, v
 * from one power iteration per D update, kept as state (spectral_norm.h, cl/spectral_norm.cl).
 * The gradient treats u and v as constants, as the paper and PyTorch do:
 * dW += (G - <G, W_sn> u v^T) / sigma. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops/spectral_norm.h"
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"
#include "core/opcheck.h"

#define SN_EPS 1e-12

static void sn_dims(const cgan_node *nd, int *rows, int *cols)
{
    cgan_shape s = nd->param_shape[0];
    *rows = s.n;
    *cols = s.c * s.h * s.w;
}

/* A spectral_norm node named `name` over parameter w, appended to g. */
static int sn_node(cgan_graph *g, const char *name, int w)
{
    cgan_gtensor *wt = cgan_graph_tensor(g, w);
    if (!wt || wt->kind != CGAN_TENSOR_PARAM) return cgan_graph_fail(g, NULL, "spectral_norm %s: not a parameter", name);
    cgan_shape s = wt->shape;
    size_t cols = (size_t)s.c * s.h * s.w;
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_SPECTRAL_NORM, name, NULL, 0);
    if (!nd) return -1;
    if (cols * (size_t)s.n > 0x7fffffffu) return cgan_graph_fail(g, nd, "spectral_norm: weight too large");
    nd->n_param = 1;
    nd->param[0] = w;
    nd->param_shape[0] = s;
    nd->a.iterate = 1;
    if (cgan_graph_add_state(g, nd, "u", cgan_shape4(s.n, 1, 1, 1), 1.0f) < 0 ||
        cgan_graph_add_state(g, nd, "v", cgan_shape4((int)cols, 1, 1, 1), 1.0f) < 0)
        return -1;
    nd->n_aux = 1;
    nd->aux_shape[0] = cgan_shape4(1, 1, 1, 1); /* sigma, for backward */
    nd->work_floats = (size_t)s.n + cols + 1;
    return cgan_graph_end(g, nd, s);
}

int cgan_spectral_norm_wrap(cgan_graph *g, int i)
{
    cgan_node *target = cgan_graph_node(g, i);
    if (!target || (target->op != CGAN_OP_CONV2D && target->op != CGAN_OP_LINEAR) || target->n_param < 1)
        return cgan_graph_fail(g, target, "spectral_norm: node %d is not a conv2d or linear node", i);
    const char *pre = cgan_graph_prefix(g);
    size_t skip = pre[0] ? strlen(pre) + 1 : 0; /* the node's name without the graph's prefix */
    char name[80];
    snprintf(name, sizeof name, "%s_sn", target->name + skip);
    int w = target->param[0];
    int out = sn_node(g, name, w);
    if (out < 0 || cgan_graph_move_last(g, i) < 0) return -1;
    cgan_graph_node(g, i + 1)->param[0] = out; /* the wrapped node, one place on */
    return out;
}

cgan_status cgan_spectral_norm_graph(cgan_graph *g)
{
    for (int i = 0; i < cgan_graph_node_count(g) && cgan_graph_status(g) == CGAN_OK; i++) {
        const cgan_node *nd = cgan_graph_node(g, i);
        if (nd->op != CGAN_OP_CONV2D && nd->op != CGAN_OP_LINEAR) continue;
        if (cgan_spectral_norm_wrap(g, i) >= 0) i++; /* past the wrapped node */
    }
    return cgan_graph_status(g);
}

void cgan_spectral_norm_iterate(cgan_graph *g, int on)
{
    for (int i = 0; i < cgan_graph_node_count(g); i++) {
        cgan_node *nd = cgan_graph_node(g, i);
        if (nd->op == CGAN_OP_SPECTRAL_NORM) nd->a.iterate = on;
    }
}

/* ---- device ------------------------------------------------------------------------ */

static cgan_status one_group(cgan_ctx *ctx, const char *name, size_t work, cgan_kernel **k, cgan_range *r,
                             size_t *local_bytes)
{
    CGAN_TRY(cgan_kernel_get(ctx, "spectral_norm", NULL, name, k));
    size_t l = cgan_dense_pow2_wg(cgan_kernel_max_wg(*k));
    while (l > 1 && l / 2 >= work) l /= 2;
    *r = cgan_range_1d(l);
    r->local[0] = l; /* exactly one work-group */
    *local_bytes = l * sizeof(float);
    return CGAN_OK;
}

static cgan_status matvec(cgan_ctx *ctx, const cgan_op_args *a, int trans, cl_mem x, int xo, int yo)
{
    int rows, cols;
    sn_dims(a->node, &rows, &cols);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "spectral_norm", NULL, "sn_matvec", &k));
    cgan_range r = cgan_range_1d((size_t)(trans ? cols : rows));
    return cgan_launch(ctx, k, &r, CGAN_KINT(rows), CGAN_KINT(cols), CGAN_KINT(trans), CGAN_KMEM(a->param[0]),
                       CGAN_KMEM(x), CGAN_KINT(xo), CGAN_KMEM(a->work), CGAN_KINT(yo));
}

static cgan_status normalize(cgan_ctx *ctx, const cgan_op_args *a, int n, int xo, cl_mem out)
{
    cgan_kernel *k;
    cgan_range r;
    size_t lb;
    CGAN_TRY(one_group(ctx, "sn_normalize", (size_t)n, &k, &r, &lb));
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KMEM(a->work), CGAN_KINT(xo), CGAN_KMEM(out), CGAN_KLOCAL(lb));
}

/* work: [0, cols) W^T u, [cols, cols + rows) W v. */
static cgan_status sn_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    int rows, cols;
    sn_dims(a->node, &rows, &cols);
    cl_mem u = a->state[0], v = a->state[1];
    if (!a->work) return cgan_error(ctx, CGAN_E_INVALID, "%s: spectral_norm needs a work buffer", a->node->name);
    if (a->train && a->node->a.iterate) {
        CGAN_TRY(matvec(ctx, a, 1, u, 0, 0));
        CGAN_TRY(normalize(ctx, a, cols, 0, v));
        CGAN_TRY(matvec(ctx, a, 0, v, 0, cols));
        CGAN_TRY(normalize(ctx, a, rows, cols, u));
    } else {
        CGAN_TRY(matvec(ctx, a, 0, v, 0, cols));
    }
    cgan_kernel *k;
    cgan_range r;
    size_t lb;
    CGAN_TRY(one_group(ctx, "sn_sigma", (size_t)rows, &k, &r, &lb));
    CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(rows), CGAN_KMEM(u), CGAN_KMEM(a->work), CGAN_KINT(cols),
                         CGAN_KMEM(a->aux[0]), CGAN_KLOCAL(lb)));
    CGAN_TRY(cgan_kernel_get(ctx, "spectral_norm", NULL, "sn_scale", &k));
    r = cgan_range_1d((size_t)rows * cols);
    return cgan_launch(ctx, k, &r, CGAN_KINT(rows * cols), CGAN_KMEM(a->param[0]), CGAN_KMEM(a->aux[0]),
                       CGAN_KMEM(a->out));
}

static cgan_status sn_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    if (!a->dparam[0]) return CGAN_OK;
    int rows, cols;
    sn_dims(a->node, &rows, &cols);
    if (!a->work) return cgan_error(ctx, CGAN_E_INVALID, "%s: spectral_norm needs a work buffer", a->node->name);
    cgan_kernel *k;
    cgan_range r;
    size_t lb;
    CGAN_TRY(one_group(ctx, "sn_gdot", (size_t)rows * cols, &k, &r, &lb));
    CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(rows * cols), CGAN_KMEM(a->dout), CGAN_KMEM(a->param[0]),
                         CGAN_KMEM(a->aux[0]), CGAN_KMEM(a->work), CGAN_KLOCAL(lb)));
    CGAN_TRY(cgan_kernel_get(ctx, "spectral_norm", NULL, "sn_grad", &k));
    r = cgan_range_1d((size_t)rows * cols);
    return cgan_launch(ctx, k, &r, CGAN_KINT(rows), CGAN_KINT(cols), CGAN_KMEM(a->dout), CGAN_KMEM(a->state[0]),
                       CGAN_KMEM(a->state[1]), CGAN_KMEM(a->work), CGAN_KMEM(a->aux[0]), CGAN_KMEM(a->dparam[0]));
}

/* ---- reference (double) ------------------------------------------------------------ */

static void ref_normalize(double *x, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++) s += x[k] * x[k];
    double inv = 1.0 / fmax(sqrt(s), SN_EPS);
    for (int k = 0; k < n; k++) x[k] *= inv;
}

static void sn_ref_forward(const cgan_ref_args *a)
{
    int rows, cols;
    sn_dims(a->node, &rows, &cols);
    const double *w = a->param[0];
    double *u = a->state[0], *v = a->state[1];
    double *t = calloc((size_t)rows, sizeof *t);
    if (!t) return;
    if (a->train && a->node->a.iterate) {
        for (int j = 0; j < cols; j++) {
            double s = 0;
            for (int i = 0; i < rows; i++) s += w[(size_t)i * cols + j] * u[i];
            v[j] = s;
        }
        ref_normalize(v, cols);
    }
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < cols; j++) s += w[(size_t)i * cols + j] * v[j];
        t[i] = s;
    }
    if (a->train && a->node->a.iterate) {
        memcpy(u, t, (size_t)rows * sizeof *u);
        ref_normalize(u, rows);
    }
    double sigma = 0;
    for (int i = 0; i < rows; i++) sigma += u[i] * t[i];
    a->aux[0][0] = sigma;
    for (size_t k = 0; k < (size_t)rows * cols; k++) a->out[k] = w[k] / sigma;
    free(t);
}

static void sn_ref_backward(const cgan_ref_args *a)
{
    if (!a->dparam[0]) return;
    int rows, cols;
    sn_dims(a->node, &rows, &cols);
    const double *w = a->param[0], *g = a->dout, *u = a->state[0], *v = a->state[1];
    const double sigma = a->aux[0][0];
    double c = 0;
    for (size_t k = 0; k < (size_t)rows * cols; k++) c += g[k] * w[k];
    c /= sigma;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            size_t k = (size_t)i * cols + j;
            a->dparam[0][k] += (g[k] - c * u[i] * v[j]) / sigma;
        }
}

const cgan_op_def cgan_op_spectral_norm_def = {
    "spectral_norm", 0, sn_forward, sn_backward, sn_ref_forward, sn_ref_backward
};

/* ---- self-check ------------------------------------------------------------------- */

cgan_status cgan_selfcheck_spectral_norm(cgan_ctx *ctx, cgan_check_result *res)
{
    /* a conv weight [7,5,3,3] (7 x 45) and a linear one [3,13]; the node under test is
     * the last, over the weight its layer created */
    double worst = -1;
    cgan_status st = CGAN_OK;
    for (int c = 0; c < 4 && st == CGAN_OK; c++) {
        const int conv = c < 2, train = c % 2 == 0;
        cgan_graph *g = cgan_graph_new(ctx, "check");
        int x = cgan_graph_input(g, "x", conv ? cgan_shape4(2, 5, 6, 6) : cgan_shape4(2, 13, 1, 1));
        int y = conv ? cgan_nn_conv2d(g, "layer", x, 7, 3, 1, 1, 0) : cgan_nn_linear(g, "layer", x, 3, 1);
        if (y >= 0) sn_node(g, "sn", cgan_graph_find_tensor(g, "check.layer.weight"));
        /* training passes iterate (u and v then depend on W: no finite differences); eval
         * passes hold u and v, and the gradient is checked by finite differences */
        cgan_opcheck_case oc = { train ? (conv ? "spectral_norm train 7x45" : "spectral_norm train 3x13")
                                       : (conv ? "spectral_norm eval 7x45" : "spectral_norm eval 3x13"),
                                 train, 1e-4, 1e-4, train ? 0 : 1e-4, 60 + (uint64_t)c };
        st = cgan_opcheck_graph(ctx, g, &oc, res, &worst);
    }
    return st;
}
