/* Linear (fully connected): y[N,out] = x[N,in] W^T + b with W [out,in] (stored [out,in,1,1]).
 * The products are GEMMs; the bias kernels are in cl/linear.cl. */
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"
#include "blas/gemm.h"

int cgan_nn_linear(cgan_graph *g, const char *name, int x, int out, int bias)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_LINEAR, name, &x, 1);
    if (!nd) return -1;
    cgan_shape s = nd->in_shape[0];
    if (out < 1) return cgan_graph_fail(g, nd, "linear: %d output features (need >= 1)", out);
    if (!cgan_dense_fits_int(s)) return cgan_graph_fail(g, nd, "linear: input too large");
    size_t in = (size_t)s.c * s.h * s.w;
    if ((size_t)out * in > 0x7fffffffu || (size_t)out * (size_t)s.n > 0x7fffffffu)
        return cgan_graph_fail(g, nd, "linear: %zu x %d weight too large", in, out);
    nd->a.has_bias = bias != 0;
    if (cgan_graph_add_param(g, nd, "weight", cgan_shape4(out, (int)in, 1, 1), CGAN_INIT_NORMAL,
                             0.0f, 0.02f) < 0)
        return -1;
    if (bias && cgan_graph_add_param(g, nd, "bias", cgan_shape4(1, out, 1, 1), CGAN_INIT_CONST,
                                     0.0f, 0.0f) < 0)
        return -1;
    return cgan_graph_end(g, nd, cgan_shape4(s.n, out, 1, 1));
}

/* Sizes of a linear node: rows, input features, output features. */
static void dims(const cgan_node *nd, size_t *rows, size_t *in, size_t *out)
{
    cgan_shape s = nd->in_shape[0];
    *rows = (size_t)s.n;
    *in = (size_t)s.c * s.h * s.w;
    *out = (size_t)nd->out_shape.c;
}

static cgan_status linear_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    size_t rows, in, out;
    dims(a->node, &rows, &in, &out);
    /* y = x W^T */
    CGAN_TRY(cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_TRANS, rows, out, in, 1.0f, a->in[0], 0, in,
                        a->param[0], 0, in, 0.0f, a->out, 0, out));
    if (a->node->n_param < 2) return CGAN_OK;
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "linear", NULL, "linear_bias_fwd", &k));
    cgan_range r = cgan_range_1d(rows * out);
    return cgan_launch(ctx, k, &r, CGAN_KINT(rows * out), CGAN_KINT(out), CGAN_KMEM(a->param[1]),
                       CGAN_KMEM(a->out));
}

static cgan_status linear_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    size_t rows, in, out;
    dims(a->node, &rows, &in, &out);
    /* dx[N,in] = dy[N,out] W[out,in] */
    if (a->din[0])
        CGAN_TRY(cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, rows, in, out, 1.0f, a->dout, 0, out,
                            a->param[0], 0, in, a->din_beta[0], a->din[0], 0, in));
    /* dW[out,in] += dy^T x */
    if (a->dparam[0])
        CGAN_TRY(cgan_sgemm(ctx, CGAN_TRANS, CGAN_NO_TRANS, out, in, rows, 1.0f, a->dout, 0, out,
                            a->in[0], 0, in, 1.0f, a->dparam[0], 0, in));
    if (a->node->n_param > 1 && a->dparam[1]) {
        cgan_kernel *k;
        CGAN_TRY(cgan_kernel_get(ctx, "linear", NULL, "linear_bias_bwd", &k));
        cgan_range r = cgan_range_1d(out);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(rows), CGAN_KINT(out), CGAN_KMEM(a->dout),
                             CGAN_KMEM(a->dparam[1])));
    }
    return CGAN_OK;
}

static void linear_ref_forward(const cgan_ref_args *a)
{
    size_t rows, in, out;
    dims(a->node, &rows, &in, &out);
    const double *x = a->in[0], *w = a->param[0];
    const double *b = a->node->n_param > 1 ? a->param[1] : NULL;
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (size_t i = 0; i < in; i++) s += x[r * in + i] * w[o * in + i];
            a->out[r * out + o] = s;
        }
}

static void linear_ref_backward(const cgan_ref_args *a)
{
    size_t rows, in, out;
    dims(a->node, &rows, &in, &out);
    const double *x = a->in[0], *w = a->param[0], *dy = a->dout;
    if (a->din[0])
        for (size_t r = 0; r < rows; r++)
            for (size_t i = 0; i < in; i++) {
                double s = 0.0;
                for (size_t o = 0; o < out; o++) s += dy[r * out + o] * w[o * in + i];
                cgan_dense_put(&a->din[0][r * in + i], a->din_beta[0], s);
            }
    if (a->dparam[0])
        for (size_t o = 0; o < out; o++)
            for (size_t i = 0; i < in; i++) {
                double s = 0.0;
                for (size_t r = 0; r < rows; r++) s += dy[r * out + o] * x[r * in + i];
                a->dparam[0][o * in + i] += s;
            }
    if (a->node->n_param > 1 && a->dparam[1])
        for (size_t o = 0; o < out; o++) {
            double s = 0.0;
            for (size_t r = 0; r < rows; r++) s += dy[r * out + o];
            a->dparam[1][o] += s;
        }
}

const cgan_op_def cgan_op_linear_def = {
    "linear", CGAN_BWD_NEEDS_INPUT, linear_forward, linear_backward, linear_ref_forward,
    linear_ref_backward
};

cgan_status cgan_selfcheck_linear(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "linear self-check: out of memory");
    int x = cgan_graph_input(g, "x", cgan_shape4(3, 5, 3, 1));
    cgan_nn_linear(g, "fc", x, 7, 1);
    const cgan_opcheck_case c = { "linear 3x15 -> 7", 1, 1e-4, 1e-4, 1e-5, 11 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
