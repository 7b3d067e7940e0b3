/* Channel concat: a [N,Ca,H,W] and b [N,Cb,H,W] -> [N,Ca+Cb,H,W]; a b of [N,Cb,1,1] is
 * broadcast over HxW (label planes) and its gradient summed back. Kernels: cl/concat.cl. */
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"

int cgan_nn_concat(cgan_graph *g, const char *name, int a, int b)
{
    int ins[2] = { a, b };
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_CONCAT, name, ins, 2);
    if (!nd) return -1;
    cgan_shape sa = nd->in_shape[0], sb = nd->in_shape[1];
    char ba[64], bb[64];
    if (sa.n != sb.n) return cgan_graph_fail(g, nd, "concat: batch %d vs %d", sa.n, sb.n);
    int bcast = sb.h == 1 && sb.w == 1;
    if (!bcast && (sa.h != sb.h || sa.w != sb.w))
        return cgan_graph_fail(g, nd, "concat: spatial size of %s vs %s (b must match a or be 1x1)",
                               cgan_shape_str(sa, ba, sizeof ba), cgan_shape_str(sb, bb, sizeof bb));
    cgan_shape out = cgan_shape4(sa.n, sa.c + sb.c, sa.h, sa.w);
    if (!cgan_dense_fits_int(sa) || !cgan_dense_fits_int(sb) || sa.c > 0x7fffffff - sb.c ||
        !cgan_dense_fits_int(out))
        return cgan_graph_fail(g, nd, "concat: output too large");
    return cgan_graph_end(g, nd, out);
}

/* Sizes: channels of a and b, plane size of the output and of b. */
static void dims(const cgan_node *nd, int *ca, int *cb, int *hw, int *bhw)
{
    *ca = nd->in_shape[0].c;
    *cb = nd->in_shape[1].c;
    *hw = nd->out_shape.h * nd->out_shape.w;
    *bhw = nd->in_shape[1].h * nd->in_shape[1].w;
}

static cgan_status concat_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    int ca, cb, hw, bhw;
    dims(a->node, &ca, &cb, &hw, &bhw);
    int n = (int)cgan_numel(a->node->out_shape);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "concat", NULL, "concat_fwd", &k));
    cgan_range r = cgan_range_1d((size_t)n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(ca), CGAN_KINT(cb), CGAN_KINT(hw),
                       CGAN_KINT(bhw), CGAN_KMEM(a->in[0]), CGAN_KMEM(a->in[1]), CGAN_KMEM(a->out));
}

static cgan_status concat_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    int ca, cb, hw, bhw;
    dims(a->node, &ca, &cb, &hw, &bhw);
    cgan_kernel *k;
    if (a->din[0]) {
        int n = (int)cgan_numel(a->node->in_shape[0]);
        CGAN_TRY(cgan_kernel_get(ctx, "concat", NULL, "concat_bwd_a", &k));
        cgan_range r = cgan_range_1d((size_t)n);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(ca), CGAN_KINT(cb), CGAN_KINT(hw),
                             CGAN_KMEM(a->dout), CGAN_KFLOAT(a->din_beta[0]), CGAN_KMEM(a->din[0])));
    }
    if (a->din[1]) {
        int n = (int)cgan_numel(a->node->in_shape[1]);
        CGAN_TRY(cgan_kernel_get(ctx, "concat", NULL, "concat_bwd_b", &k));
        cgan_range r = cgan_range_1d((size_t)n);
        CGAN_TRY(cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(ca), CGAN_KINT(cb), CGAN_KINT(hw),
                             CGAN_KINT(bhw), CGAN_KMEM(a->dout), CGAN_KFLOAT(a->din_beta[1]),
                             CGAN_KMEM(a->din[1])));
    }
    return CGAN_OK;
}

static void concat_ref_forward(const cgan_ref_args *a)
{
    int ca, cb, hw, bhw;
    dims(a->node, &ca, &cb, &hw, &bhw);
    int n = a->node->out_shape.n, ct = ca + cb;
    for (int s = 0; s < n; s++)
        for (int c = 0; c < ct; c++)
            for (int p = 0; p < hw; p++) {
                double v = c < ca ? a->in[0][((size_t)s * ca + c) * hw + p]
                                  : a->in[1][((size_t)s * cb + (c - ca)) * bhw + (bhw == 1 ? 0 : p)];
                a->out[((size_t)s * ct + c) * hw + p] = v;
            }
}

static void concat_ref_backward(const cgan_ref_args *a)
{
    int ca, cb, hw, bhw;
    dims(a->node, &ca, &cb, &hw, &bhw);
    int n = a->node->out_shape.n, ct = ca + cb;
    if (a->din[0])
        for (int s = 0; s < n; s++)
            for (int c = 0; c < ca; c++)
                for (int p = 0; p < hw; p++)
                    cgan_dense_put(&a->din[0][((size_t)s * ca + c) * hw + p], a->din_beta[0],
                                   a->dout[((size_t)s * ct + c) * hw + p]);
    if (a->din[1])
        for (int s = 0; s < n; s++)
            for (int c = 0; c < cb; c++) {
                const double *src = a->dout + ((size_t)s * ct + ca + c) * hw;
                double *dst = a->din[1] + ((size_t)s * cb + c) * bhw;
                if (bhw == 1) {
                    double sum = 0.0;
                    for (int p = 0; p < hw; p++) sum += src[p];
                    cgan_dense_put(dst, a->din_beta[1], sum);
                } else {
                    for (int p = 0; p < hw; p++) cgan_dense_put(&dst[p], a->din_beta[1], src[p]);
                }
            }
}

const cgan_op_def cgan_op_concat_def = {
    "concat", 0, concat_forward, concat_backward, concat_ref_forward, concat_ref_backward
};

cgan_status cgan_selfcheck_concat(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "concat self-check: out of memory");
    int x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 5, 3));
    int y = cgan_graph_input(g, "y", cgan_shape4(2, 4, 1, 1));
    cgan_nn_concat(g, "cat", x, y);
    const cgan_opcheck_case c = { "concat [2,3,5,3] + broadcast [2,4,1,1]", 1, 1e-6, 1e-5, 1e-5, 14 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
