/* Reshape: the same elements under a new shape. Forward is a device copy; backward copies
 * (or accumulates) the gradient back. No kernels of its own. */
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"
#include "ops/elementwise.h"

int cgan_nn_reshape(cgan_graph *g, const char *name, int x, cgan_shape s)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_RESHAPE, name, &x, 1);
    if (!nd) return -1;
    char bi[64], bo[64];
    if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1)
        return cgan_graph_fail(g, nd, "reshape: bad target shape %s", cgan_shape_str(s, bo, sizeof bo));
    if (cgan_numel(s) != cgan_numel(nd->in_shape[0]))
        return cgan_graph_fail(g, nd, "reshape: %s has %zu elements, %s has %zu",
                               cgan_shape_str(nd->in_shape[0], bi, sizeof bi),
                               cgan_numel(nd->in_shape[0]), cgan_shape_str(s, bo, sizeof bo),
                               cgan_numel(s));
    if (!cgan_dense_fits_int(s)) return cgan_graph_fail(g, nd, "reshape: tensor too large");
    return cgan_graph_end(g, nd, s);
}

static cgan_status reshape_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    return cgan_buffer_copy(ctx, a->in[0], 0, a->out, 0, n * sizeof(float));
}

static cgan_status reshape_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    if (!a->din[0]) return CGAN_OK;
    size_t n = cgan_numel(a->node->out_shape);
    if (a->din_beta[0] == 0.0f) return cgan_buffer_copy(ctx, a->dout, 0, a->din[0], 0, n * sizeof(float));
    return cgan_axpby(ctx, n, 1.0f, a->dout, a->din_beta[0], a->din[0]);
}

static void reshape_ref_forward(const cgan_ref_args *a)
{
    size_t n = cgan_numel(a->node->out_shape);
    for (size_t i = 0; i < n; i++) a->out[i] = a->in[0][i];
}

static void reshape_ref_backward(const cgan_ref_args *a)
{
    if (!a->din[0]) return;
    size_t n = cgan_numel(a->node->out_shape);
    for (size_t i = 0; i < n; i++) cgan_dense_put(&a->din[0][i], a->din_beta[0], a->dout[i]);
}

const cgan_op_def cgan_op_reshape_def = {
    "reshape", 0, reshape_forward, reshape_backward, reshape_ref_forward, reshape_ref_backward
};

cgan_status cgan_selfcheck_reshape(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "reshape self-check: out of memory");
    int x = cgan_graph_input(g, "x", cgan_shape4(3, 35, 1, 1));
    cgan_nn_reshape(g, "view", x, cgan_shape4(3, 5, 7, 1));
    const cgan_opcheck_case c = { "reshape [3,35,1,1] -> [3,5,7,1]", 1, 1e-6, 1e-6, 1e-5, 15 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
