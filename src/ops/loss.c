/* The four losses, each a mean over the batch with output [1,1,1,1]:
 *   BCE with logits against a constant target t: max(x,0) - x*t + log(1 + exp(-|x|));
 *   hinge for D: relu(1 - s*x), s = +1 real / -1 fake;   hinge for G: -x;
 *   softmax cross-entropy of logits [N,K,1,1] against labels [N,1,1,1].
 * The mean is one launch of one work-group that reduces in local memory; backward reads
 * the incoming gradient dout[0] on the device. Kernels: cl/loss.cl. */
#include <math.h>
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"

enum { MODE_BCE = 0, MODE_HINGE_D = 1, MODE_HINGE_G = 2 }; /* as LOSS_* in cl/loss.cl */

static int elem_loss(cgan_graph *g, cgan_op_type op, const char *opname, const char *name,
                     int logits, float target)
{
    cgan_node *nd = cgan_graph_begin(g, op, name, &logits, 1);
    if (!nd) return -1;
    if (!cgan_dense_fits_int(nd->in_shape[0]))
        return cgan_graph_fail(g, nd, "%s: logits tensor too large", opname);
    if (!isfinite(target)) return cgan_graph_fail(g, nd, "%s: target is not finite", opname);
    nd->a.target = target;
    return cgan_graph_end(g, nd, cgan_shape4(1, 1, 1, 1));
}

int cgan_nn_loss_bce(cgan_graph *g, const char *name, int logits, float target)
{
    return elem_loss(g, CGAN_OP_LOSS_BCE, "loss_bce", name, logits, target);
}

int cgan_nn_loss_hinge_d(cgan_graph *g, const char *name, int logits, float sign)
{
    if (sign != 1.0f && sign != -1.0f) {
        /* begin the node so the message carries its name */
        cgan_node *nd = cgan_graph_begin(g, CGAN_OP_LOSS_HINGE_D, name, &logits, 1);
        if (!nd) return -1;
        return cgan_graph_fail(g, nd, "loss_hinge_d: sign %g (need +1 or -1)", (double)sign);
    }
    return elem_loss(g, CGAN_OP_LOSS_HINGE_D, "loss_hinge_d", name, logits, sign);
}

int cgan_nn_loss_hinge_g(cgan_graph *g, const char *name, int logits)
{
    return elem_loss(g, CGAN_OP_LOSS_HINGE_G, "loss_hinge_g", name, logits, 0.0f);
}

int cgan_nn_loss_softmax_ce(cgan_graph *g, const char *name, int logits, int labels)
{
    int ins[2] = { logits, labels };
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_LOSS_SOFTMAX_CE, name, ins, 2);
    if (!nd) return -1;
    cgan_shape sx = nd->in_shape[0], sy = nd->in_shape[1];
    char buf[64];
    if (sx.h != 1 || sx.w != 1)
        return cgan_graph_fail(g, nd, "loss_softmax_ce: logits must be [N,K,1,1], got %s",
                               cgan_shape_str(sx, buf, sizeof buf));
    if (sy.c != 1 || sy.h != 1 || sy.w != 1)
        return cgan_graph_fail(g, nd, "loss_softmax_ce: labels must be [N,1,1,1], got %s",
                               cgan_shape_str(sy, buf, sizeof buf));
    if (sx.n != sy.n)
        return cgan_graph_fail(g, nd, "loss_softmax_ce: batch %d logits vs %d labels", sx.n, sy.n);
    int range = cgan_graph_index_range(g, labels);
    if (range > sx.c)
        return cgan_graph_fail(g, nd, "loss_softmax_ce: labels range over %d classes, logits have %d",
                               range, sx.c);
    if (!cgan_dense_fits_int(sx)) return cgan_graph_fail(g, nd, "loss_softmax_ce: logits too large");
    nd->a.num_classes = sx.c;
    return cgan_graph_end(g, nd, cgan_shape4(1, 1, 1, 1));
}

/* ---- device ------------------------------------------------------------------------ */

/* Local size of a one-work-group reduction: a power of two the kernel accepts, no larger
 * than the work (but at least 1). */
static size_t reduce_wg(const cgan_kernel *k, size_t work)
{
    size_t l = cgan_dense_pow2_wg(cgan_kernel_max_wg(k));
    while (l > 1 && l / 2 >= work) l /= 2;
    return l;
}

static cgan_range one_group(size_t l)
{
    cgan_range r = cgan_range_1d(l);
    r.local[0] = l; /* the runtime uses it as given: exactly one work-group */
    return r;
}

static int elem_mode(const cgan_node *nd)
{
    return nd->op == CGAN_OP_LOSS_BCE ? MODE_BCE
         : nd->op == CGAN_OP_LOSS_HINGE_D ? MODE_HINGE_D : MODE_HINGE_G;
}

static cgan_status elem_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    size_t n = cgan_numel(nd->in_shape[0]);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "loss", NULL, "loss_mean_fwd", &k));
    size_t l = reduce_wg(k, n);
    cgan_range r = one_group(l);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(elem_mode(nd)), CGAN_KFLOAT(nd->a.target),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->out), CGAN_KLOCAL(l * sizeof(float)));
}

static cgan_status elem_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->din[0]) return CGAN_OK;
    size_t n = cgan_numel(nd->in_shape[0]);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "loss", NULL, "loss_mean_bwd", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(elem_mode(nd)), CGAN_KFLOAT(nd->a.target),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->dout), CGAN_KFLOAT(a->din_beta[0]),
                       CGAN_KMEM(a->din[0]));
}

static cgan_status ce_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    int rows = nd->in_shape[0].n, kc = nd->in_shape[0].c;
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "loss", NULL, "softmax_ce_fwd", &k));
    size_t l = reduce_wg(k, (size_t)rows);
    cgan_range r = one_group(l);
    return cgan_launch(ctx, k, &r, CGAN_KINT(rows), CGAN_KINT(kc), CGAN_KMEM(a->in[0]),
                       CGAN_KMEM(a->in[1]), CGAN_KMEM(a->out), CGAN_KLOCAL(l * sizeof(float)));
}

static cgan_status ce_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->din[0]) return CGAN_OK; /* labels (din[1]) get no gradient */
    int rows = nd->in_shape[0].n, kc = nd->in_shape[0].c;
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "loss", NULL, "softmax_ce_bwd", &k));
    cgan_range r = cgan_range_1d((size_t)rows);
    return cgan_launch(ctx, k, &r, CGAN_KINT(rows), CGAN_KINT(kc), CGAN_KMEM(a->in[0]),
                       CGAN_KMEM(a->in[1]), CGAN_KMEM(a->dout), CGAN_KFLOAT(a->din_beta[0]),
                       CGAN_KMEM(a->din[0]));
}

/* ---- reference ------------------------------------------------------------------- */

static double term(int mode, double x, double t)
{
    if (mode == MODE_BCE) return fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));
    if (mode == MODE_HINGE_D) return fmax(1.0 - t * x, 0.0);
    return -x;
}

static double dterm(int mode, double x, double t)
{
    if (mode == MODE_BCE) {
        double e = exp(-fabs(x));
        return (x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - t;
    }
    if (mode == MODE_HINGE_D) return 1.0 - t * x > 0.0 ? -t : 0.0;
    return -1.0;
}

static void elem_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    size_t n = cgan_numel(nd->in_shape[0]);
    int mode = elem_mode(nd);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += term(mode, a->in[0][i], nd->a.target);
    a->out[0] = s / (double)n;
}

static void elem_ref_backward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->din[0]) return;
    size_t n = cgan_numel(nd->in_shape[0]);
    int mode = elem_mode(nd);
    double g = a->dout[0] / (double)n;
    for (size_t i = 0; i < n; i++)
        cgan_dense_put(&a->din[0][i], a->din_beta[0], g * dterm(mode, a->in[0][i], nd->a.target));
}

/* Row r's max and sum of exp(x - max). */
static void row_stats(const double *x, int k, double *m, double *s)
{
    *m = x[0];
    for (int j = 1; j < k; j++) *m = fmax(*m, x[j]);
    *s = 0.0;
    for (int j = 0; j < k; j++) *s += exp(x[j] - *m);
}

static void ce_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    int rows = nd->in_shape[0].n, k = nd->in_shape[0].c;
    double total = 0.0;
    for (int r = 0; r < rows; r++) {
        int cls = cgan_dense_class(a->in[1][r], k);
        if (cls < 0) continue;
        const double *x = a->in[0] + (size_t)r * k;
        double m, s;
        row_stats(x, k, &m, &s);
        total += m + log(s) - x[cls];
    }
    a->out[0] = total / rows;
}

static void ce_ref_backward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->din[0]) return;
    int rows = nd->in_shape[0].n, k = nd->in_shape[0].c;
    double g = a->dout[0] / rows;
    for (int r = 0; r < rows; r++) {
        int cls = cgan_dense_class(a->in[1][r], k);
        const double *x = a->in[0] + (size_t)r * k;
        double m, s;
        row_stats(x, k, &m, &s);
        for (int j = 0; j < k; j++) {
            double v = cls < 0 ? 0.0 : g * (exp(x[j] - m) / s - (j == cls ? 1.0 : 0.0));
            cgan_dense_put(&a->din[0][(size_t)r * k + j], a->din_beta[0], v);
        }
    }
}

const cgan_op_def cgan_op_loss_bce_def = {
    "loss_bce", CGAN_BWD_NEEDS_INPUT, elem_forward, elem_backward, elem_ref_forward,
    elem_ref_backward
};
const cgan_op_def cgan_op_loss_hinge_d_def = {
    "loss_hinge_d", CGAN_BWD_NEEDS_INPUT, elem_forward, elem_backward, elem_ref_forward,
    elem_ref_backward
};
const cgan_op_def cgan_op_loss_hinge_g_def = {
    "loss_hinge_g", 0, elem_forward, elem_backward, elem_ref_forward, elem_ref_backward
};
const cgan_op_def cgan_op_loss_softmax_ce_def = {
    "loss_softmax_ce", CGAN_BWD_NEEDS_INPUT, ce_forward, ce_backward, ce_ref_forward,
    ce_ref_backward
};

/* ---- self-checks ------------------------------------------------------------------- */

/* kind: 0 BCE, 1 hinge D, 2 hinge G, 3 softmax CE, on an odd batch of 37. */
static cgan_status check_loss(cgan_ctx *ctx, cgan_check_result *res, int kind)
{
    static const char *labels[] = { "loss_bce [37,1,1,1]", "loss_hinge_d [37,1,1,1]",
                                    "loss_hinge_g [37,1,1,1]", "loss_softmax_ce [37,5,1,1]" };
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "loss self-check: out of memory");
    int x = cgan_graph_input(g, "x", cgan_shape4(37, kind == 3 ? 5 : 1, 1, 1));
    switch (kind) {
    case 0: cgan_nn_loss_bce(g, "loss", x, 1.0f); break;
    case 1: cgan_nn_loss_hinge_d(g, "loss", x, -1.0f); break;
    case 2: cgan_nn_loss_hinge_g(g, "loss", x); break;
    default: cgan_nn_loss_softmax_ce(g, "loss", x, cgan_graph_input_labels(g, "y", 37, 5)); break;
    }
    /* hinge D's kink is at x = sign, the edge of the harness's U(-1,1) data: FD stays valid */
    const cgan_opcheck_case c = { labels[kind], 1, 1e-5, 1e-5, 1e-5, 18 + (uint64_t)kind };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}

cgan_status cgan_selfcheck_loss_bce(cgan_ctx *ctx, cgan_check_result *res)
{
    return check_loss(ctx, res, 0);
}

cgan_status cgan_selfcheck_loss_hinge_d(cgan_ctx *ctx, cgan_check_result *res)
{
    return check_loss(ctx, res, 1);
}

cgan_status cgan_selfcheck_loss_hinge_g(cgan_ctx *ctx, cgan_check_result *res)
{
    return check_loss(ctx, res, 2);
}

cgan_status cgan_selfcheck_loss_softmax_ce(cgan_ctx *ctx, cgan_check_result *res)
{
    return check_loss(ctx, res, 3);
}
