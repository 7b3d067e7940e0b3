/* Element-wise Add and Mul nodes (same shapes). Forward uses cl/elementwise.cl; the product's
 * backward kernel is in cl/arith.cl. Also the self-check runner the dense ops share. */
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"
#include "ops/elementwise.h"

static int binary_node(cgan_graph *g, cgan_op_type op, const char *opname, const char *name,
                       int a, int b)
{
    int ins[2] = { a, b };
    cgan_node *nd = cgan_graph_begin(g, op, name, ins, 2);
    if (!nd) return -1;
    char ba[64], bb[64];
    if (!cgan_shape_eq(nd->in_shape[0], nd->in_shape[1]))
        return cgan_graph_fail(g, nd, "%s: shapes %s vs %s", opname,
                               cgan_shape_str(nd->in_shape[0], ba, sizeof ba),
                               cgan_shape_str(nd->in_shape[1], bb, sizeof bb));
    if (!cgan_dense_fits_int(nd->in_shape[0])) return cgan_graph_fail(g, nd, "%s: tensor too large", opname);
    return cgan_graph_end(g, nd, nd->in_shape[0]);
}

int cgan_nn_add(cgan_graph *g, const char *name, int a, int b)
{
    return binary_node(g, CGAN_OP_ADD, "add", name, a, b);
}

int cgan_nn_mul(cgan_graph *g, const char *name, int a, int b)
{
    return binary_node(g, CGAN_OP_MUL, "mul", name, a, b);
}

/* ---- add ------------------------------------------------------------------------- */

static cgan_status add_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    return cgan_add(ctx, cgan_numel(a->node->out_shape), a->in[0], a->in[1], a->out);
}

static cgan_status add_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    for (int i = 0; i < 2; i++)
        if (a->din[i]) CGAN_TRY(cgan_axpby(ctx, n, 1.0f, a->dout, a->din_beta[i], a->din[i]));
    return CGAN_OK;
}

static void add_ref_forward(const cgan_ref_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    for (size_t i = 0; i < n; i++) a->out[i] = a->in[0][i] + a->in[1][i];
}

static void add_ref_backward(const cgan_ref_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    for (int k = 0; k < 2; k++)
        if (a->din[k])
            for (size_t i = 0; i < n; i++) cgan_dense_put(&a->din[k][i], a->din_beta[k], a->dout[i]);
}

const cgan_op_def cgan_op_add_def = {
    "add", 0, add_forward, add_backward, add_ref_forward, add_ref_backward
};

/* ---- mul ------------------------------------------------------------------------- */

static cgan_status mul_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    return cgan_mul(ctx, cgan_numel(a->node->out_shape), a->in[0], a->in[1], a->out);
}

static cgan_status mul_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    cgan_kernel *k = NULL;
    for (int i = 0; i < 2; i++) {
        if (!a->din[i]) continue;
        if (!k) CGAN_TRY(cgan_kernel_get(ctx, "arith", NULL, "mul_bwd", &k));
        cgan_range r = cgan_range_1d(n);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KMEM(a->dout), CGAN_KMEM(a->in[1 - i]),
                             CGAN_KFLOAT(a->din_beta[i]), CGAN_KMEM(a->din[i])));
    }
    return CGAN_OK;
}

static void mul_ref_forward(const cgan_ref_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    for (size_t i = 0; i < n; i++) a->out[i] = a->in[0][i] * a->in[1][i];
}

static void mul_ref_backward(const cgan_ref_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    for (int k = 0; k < 2; k++)
        if (a->din[k])
            for (size_t i = 0; i < n; i++)
                cgan_dense_put(&a->din[k][i], a->din_beta[k], a->dout[i] * a->in[1 - k][i]);
}

const cgan_op_def cgan_op_mul_def = {
    "mul", CGAN_BWD_NEEDS_INPUT, mul_forward, mul_backward, mul_ref_forward, mul_ref_backward
};

/* ---- self-checks ------------------------------------------------------------------- */

static cgan_status check_binary(cgan_ctx *ctx, cgan_check_result *res, int mul)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "%s self-check: out of memory", mul ? "mul" : "add");
    cgan_shape s = cgan_shape4(3, 5, 7, 3);
    int x = cgan_graph_input(g, "x", s), y = cgan_graph_input(g, "y", s);
    if (mul) cgan_nn_mul(g, "mul", x, y);
    else cgan_nn_add(g, "add", x, y);
    const cgan_opcheck_case c = { mul ? "mul [3,5,7,3]" : "add [3,5,7,3]", 1, 1e-5, 1e-5, 1e-5, 16 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}

cgan_status cgan_selfcheck_add(cgan_ctx *ctx, cgan_check_result *res)
{
    return check_binary(ctx, res, 0);
}

cgan_status cgan_selfcheck_mul(cgan_ctx *ctx, cgan_check_result *res)
{
    return check_binary(ctx, res, 1);
}
