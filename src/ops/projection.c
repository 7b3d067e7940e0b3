/* Projection discriminator term (Miyato & Koyama): out[n] = sum_c E[y_n, c] * sum_hw x[n,c,h,w].
 * Inputs x and labels, param embed [K,C,1,1]. Kernels: cl/projection.cl. */
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"

int cgan_nn_projection(cgan_graph *g, const char *name, int x, int labels, int num_classes)
{
    int ins[2] = { x, labels };
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_PROJECTION, name, ins, 2);
    if (!nd) return -1;
    cgan_shape sx = nd->in_shape[0], sy = nd->in_shape[1];
    char buf[64];
    if (num_classes < 1) return cgan_graph_fail(g, nd, "projection: %d classes (need >= 1)", num_classes);
    if (sy.c != 1 || sy.h != 1 || sy.w != 1)
        return cgan_graph_fail(g, nd, "projection: labels must be [N,1,1,1], got %s",
                               cgan_shape_str(sy, buf, sizeof buf));
    if (sx.n != sy.n) return cgan_graph_fail(g, nd, "projection: batch %d vs %d labels", sx.n, sy.n);
    int range = cgan_graph_index_range(g, labels);
    if (range > num_classes)
        return cgan_graph_fail(g, nd, "projection: labels range over %d classes, table has %d",
                               range, num_classes);
    if (!cgan_dense_fits_int(sx) || (size_t)num_classes * sx.c > 0x7fffffffu)
        return cgan_graph_fail(g, nd, "projection: tensor too large");
    nd->a.num_classes = num_classes;
    if (cgan_graph_add_param(g, nd, "embed", cgan_shape4(num_classes, sx.c, 1, 1), CGAN_INIT_NORMAL,
                             0.0f, 0.02f) < 0)
        return -1;
    return cgan_graph_end(g, nd, cgan_shape4(sx.n, 1, 1, 1));
}

static void dims(const cgan_node *nd, int *rows, int *c, int *hw, int *k)
{
    *rows = nd->in_shape[0].n;
    *c = nd->in_shape[0].c;
    *hw = nd->in_shape[0].h * nd->in_shape[0].w;
    *k = nd->a.num_classes;
}

static cgan_status projection_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    int rows, c, hw, k;
    dims(a->node, &rows, &c, &hw, &k);
    cgan_kernel *kr;
    CGAN_TRY(cgan_kernel_get(ctx, "projection", NULL, "projection_fwd", &kr));
    /* one work-group per row; the group reduces C*HW products in local memory */
    size_t l = cgan_dense_pow2_wg(cgan_kernel_max_wg(kr));
    while (l > 32 && l / 2 >= (size_t)c * hw) l /= 2; /* small rows: smaller groups */
    cgan_range r = cgan_range_1d((size_t)rows * l);
    r.local[0] = l;
    return cgan_launch(ctx, kr, &r, CGAN_KINT(rows), CGAN_KINT(c), CGAN_KINT(hw), CGAN_KINT(k),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->in[1]), CGAN_KMEM(a->param[0]),
                       CGAN_KMEM(a->out), CGAN_KLOCAL(l * sizeof(float)));
}

static cgan_status projection_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    int rows, c, hw, k;
    dims(a->node, &rows, &c, &hw, &k);
    cgan_kernel *kr;
    if (a->din[0]) {
        int n = rows * c * hw;
        CGAN_TRY(cgan_kernel_get(ctx, "projection", NULL, "projection_bwd_x", &kr));
        cgan_range r = cgan_range_1d((size_t)n);
        CGAN_TRY(cgan_launch(ctx, kr, &r, CGAN_KINT(n), CGAN_KINT(c), CGAN_KINT(hw), CGAN_KINT(k),
                             CGAN_KMEM(a->in[1]), CGAN_KMEM(a->param[0]), CGAN_KMEM(a->dout),
                             CGAN_KFLOAT(a->din_beta[0]), CGAN_KMEM(a->din[0])));
    }
    if (a->dparam[0]) {
        CGAN_TRY(cgan_kernel_get(ctx, "projection", NULL, "projection_bwd_e", &kr));
        cgan_range r = cgan_range_1d((size_t)k * c);
        CGAN_TRY(cgan_launch(ctx, kr, &r, CGAN_KINT(rows), CGAN_KINT(c), CGAN_KINT(hw), CGAN_KINT(k),
                             CGAN_KMEM(a->in[0]), CGAN_KMEM(a->in[1]), CGAN_KMEM(a->dout),
                             CGAN_KMEM(a->dparam[0])));
    }
    /* labels (din[1]) get no gradient */
    return CGAN_OK;
}

static void projection_ref_forward(const cgan_ref_args *a)
{
    int rows, c, hw, k;
    dims(a->node, &rows, &c, &hw, &k);
    for (int r = 0; r < rows; r++) {
        int cls = cgan_dense_class(a->in[1][r], k);
        double s = 0.0;
        if (cls >= 0)
            for (int ch = 0; ch < c; ch++) {
                const double *xp = a->in[0] + ((size_t)r * c + ch) * hw;
                double t = 0.0;
                for (int p = 0; p < hw; p++) t += xp[p];
                s += a->param[0][(size_t)cls * c + ch] * t;
            }
        a->out[r] = s;
    }
}

static void projection_ref_backward(const cgan_ref_args *a)
{
    int rows, c, hw, k;
    dims(a->node, &rows, &c, &hw, &k);
    for (int r = 0; r < rows; r++) {
        int cls = cgan_dense_class(a->in[1][r], k);
        for (int ch = 0; ch < c; ch++) {
            const double *xp = a->in[0] + ((size_t)r * c + ch) * hw;
            double e = cls >= 0 ? a->param[0][(size_t)cls * c + ch] : 0.0;
            if (a->din[0])
                for (int p = 0; p < hw; p++)
                    cgan_dense_put(&a->din[0][((size_t)r * c + ch) * hw + p], a->din_beta[0],
                                   a->dout[r] * e);
            if (a->dparam[0] && cls >= 0) {
                double t = 0.0;
                for (int p = 0; p < hw; p++) t += xp[p];
                a->dparam[0][(size_t)cls * c + ch] += a->dout[r] * t;
            }
        }
    }
}

const cgan_op_def cgan_op_projection_def = {
    "projection", CGAN_BWD_NEEDS_INPUT, projection_forward, projection_backward,
    projection_ref_forward, projection_ref_backward
};

cgan_status cgan_selfcheck_projection(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "projection self-check: out of memory");
    int x = cgan_graph_input(g, "x", cgan_shape4(5, 7, 3, 3));
    int y = cgan_graph_input_labels(g, "y", 5, 4);
    cgan_nn_projection(g, "proj", x, y, 4);
    const cgan_opcheck_case c = { "projection [5,7,3,3], 4 classes", 1, 1e-5, 1e-5, 1e-5, 17 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
