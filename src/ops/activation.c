/* Activations (cl/activation.cl): ReLU, LeakyReLU, Tanh, Sigmoid. Backward reads the
 * input for the ReLUs and the output for tanh and sigmoid. */
#include <limits.h>
#include <math.h>
#include "ops/norm.h"
#include "ops/defs.h"
#include "ops/builders.h"
#include "core/opcheck.h"

static cgan_status act_check_size(cgan_ctx *ctx, const cgan_node *nd, size_t n)
{
    if (n > INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: %zu elements exceed the 32-bit index range",
                          nd->name, n);
    return CGAN_OK;
}

static cgan_status act_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    size_t n = cgan_numel(nd->in_shape[0]);
    CGAN_TRY(act_check_size(ctx, nd, n));
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "activation", NULL, "act_fwd", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(nd->a.act), CGAN_KFLOAT(nd->a.slope),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->out));
}

static cgan_status act_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->din[0]) return CGAN_OK;
    size_t n = cgan_numel(nd->in_shape[0]);
    CGAN_TRY(act_check_size(ctx, nd, n));
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "activation", NULL, "act_bwd", &k));
    cgan_range r = cgan_range_1d(n);
    /* the kernel reads only the one of x / y its kind needs; a missing one is stood in
     * for by dout so every argument is a valid buffer */
    cl_mem x = a->in[0] ? a->in[0] : a->dout, y = a->out ? a->out : a->dout;
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(nd->a.act), CGAN_KFLOAT(nd->a.slope),
                       CGAN_KMEM(x), CGAN_KMEM(y), CGAN_KMEM(a->dout),
                       CGAN_KFLOAT(a->din_beta[0]), CGAN_KMEM(a->din[0]));
}

double cgan_act_value(cgan_act act, double slope, double v)
{
    switch (act) {
    case CGAN_ACT_RELU: return v < 0 ? 0 : v;   /* NaN passes through, as in PyTorch */
    case CGAN_ACT_LRELU: return v < 0 ? slope * v : v;
    case CGAN_ACT_TANH: return tanh(v);
    case CGAN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case CGAN_ACT_NONE: break;
    }
    return v;
}

static void act_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    size_t n = cgan_numel(nd->in_shape[0]);
    for (size_t i = 0; i < n; i++) a->out[i] = cgan_act_value(nd->a.act, nd->a.slope, a->in[0][i]);
}

static void act_ref_backward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->din[0]) return;
    size_t n = cgan_numel(nd->in_shape[0]);
    double beta = a->din_beta[0];
    for (size_t i = 0; i < n; i++) {
        double d;
        switch (nd->a.act) {
        case CGAN_ACT_RELU: d = a->in[0][i] > 0 ? 1.0 : 0.0; break;
        case CGAN_ACT_LRELU: d = a->in[0][i] > 0 ? 1.0 : nd->a.slope; break;
        case CGAN_ACT_TANH: d = 1.0 - a->out[i] * a->out[i]; break;
        default: d = a->out[i] * (1.0 - a->out[i]); break;
        }
        double g = d * a->dout[i];
        a->din[0][i] = beta == 0.0 ? g : g + beta * a->din[0][i];
    }
}

const cgan_op_def cgan_op_activation_def = {
    .name = "activation",
    .flags = CGAN_BWD_NEEDS_INPUT | CGAN_BWD_NEEDS_OUTPUT,
    .forward = act_forward,
    .backward = act_backward,
    .ref_forward = act_ref_forward,
    .ref_backward = act_ref_backward,
};

int cgan_nn_activation(cgan_graph *g, const char *name, int x, cgan_act act, float slope)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_ACTIVATION, name, &x, 1);
    if (!nd) return -1;
    if (act != CGAN_ACT_RELU && act != CGAN_ACT_LRELU && act != CGAN_ACT_TANH &&
        act != CGAN_ACT_SIGMOID)
        return cgan_graph_fail(g, nd, "unknown activation kind %d", (int)act);
    if (!isfinite(slope)) return cgan_graph_fail(g, nd, "leaky ReLU slope is not finite");
    nd->a.act = act;
    nd->a.slope = act == CGAN_ACT_LRELU ? slope : 0.0f;
    return cgan_graph_end(g, nd, nd->in_shape[0]);
}

/* Every kind on an odd shape, in eval mode (activations have no train/eval difference). */
cgan_status cgan_selfcheck_activation(cgan_ctx *ctx, cgan_check_result *res)
{
    static const char *const names[] = { "relu", "lrelu", "tanh", "sigmoid" };
    cgan_status st = CGAN_OK;
    double worst = -1;
    res->max_err = 0;
    res->tol = 1e-5;
    for (int kind = 0; kind < 4 && st == CGAN_OK; kind++) {
        cgan_graph *g = cgan_graph_new(ctx, "check");
        if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        int x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 5, 7));
        cgan_nn_activation(g, names[kind], x, (cgan_act)kind, 0.2f);
        cgan_opcheck_case c = { names[kind], 0, 1e-5, 1e-5, 1e-5, 101u + (uint64_t)kind };
        st = cgan_opcheck_graph(ctx, g, &c, res, &worst);
    }
    return st;
}
