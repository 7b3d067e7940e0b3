/* Inverted dropout (cl/dropout.cl): train mode keeps each element with probability 1-p
 * and scales it by 1/(1-p); the mask is kept in aux[0]. Eval mode is the identity.
 * The mask is a pure function of (seed, counter, element index) through Philox4x32-10,
 * so the host reference draws exactly the device's mask. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include "ops/norm.h"
#include "ops/defs.h"
#include "ops/builders.h"
#include "core/opcheck.h"
#include "core/rng.h"

#define DROPOUT_TAG 0x44524F50u /* same constant as cl/dropout.cl */

static float keep_scale(float p)
{
    return 1.0f / (1.0f - p);
}

int cgan_dropout_keep(uint64_t seed, uint64_t counter, size_t i, float p)
{
    const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    const uint32_t ctr[4] = { (uint32_t)(i >> 2), (uint32_t)counter, (uint32_t)(counter >> 32),
                              DROPOUT_TAG };
    uint32_t out[4];
    cgan_philox4x32(ctr, key, out);
    float u = (float)(out[i & 3] >> 8) * (1.0f / 16777216.0f);
    return u >= p;
}

static cgan_status dropout_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    size_t n = cgan_numel(nd->in_shape[0]);
    if (n > INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: %zu elements exceed the 32-bit index range",
                          nd->name, n);
    if (!a->train) return cgan_buffer_copy(ctx, a->in[0], 0, a->out, 0, n * sizeof(float));
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "dropout", NULL, "dropout_fwd", &k));
    cgan_range r = cgan_range_1d((n + 3) / 4);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KFLOAT(nd->a.p),
                       CGAN_KFLOAT(keep_scale(nd->a.p)), CGAN_KUINT((uint32_t)a->seed),
                       CGAN_KUINT((uint32_t)(a->seed >> 32)), CGAN_KUINT((uint32_t)a->counter),
                       CGAN_KUINT((uint32_t)(a->counter >> 32)), CGAN_KMEM(a->in[0]),
                       CGAN_KMEM(a->aux[0]), CGAN_KMEM(a->out));
}

static cgan_status dropout_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    if (!a->din[0]) return CGAN_OK;
    size_t n = cgan_numel(a->node->in_shape[0]);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "dropout", NULL, "dropout_bwd", &k));
    cgan_range r = cgan_range_1d(n);
    /* in eval mode the mask is not read; dout stands in for it as a valid buffer */
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(a->train),
                       CGAN_KMEM(a->train ? a->aux[0] : a->dout), CGAN_KMEM(a->dout),
                       CGAN_KFLOAT(a->din_beta[0]), CGAN_KMEM(a->din[0]));
}

static void dropout_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    size_t n = cgan_numel(nd->in_shape[0]);
    double scale = keep_scale(nd->a.p);
    for (size_t i = 0; i < n; i++) {
        if (!a->train) {
            a->out[i] = a->in[0][i];
            continue;
        }
        double m = cgan_dropout_keep(a->seed, a->counter, i, nd->a.p) ? scale : 0.0;
        a->aux[0][i] = m;
        a->out[i] = a->in[0][i] * m;
    }
}

static void dropout_ref_backward(const cgan_ref_args *a)
{
    if (!a->din[0]) return;
    size_t n = cgan_numel(a->node->in_shape[0]);
    double beta = a->din_beta[0];
    for (size_t i = 0; i < n; i++) {
        double g = a->train ? a->dout[i] * a->aux[0][i] : a->dout[i];
        a->din[0][i] = beta == 0.0 ? g : g + beta * a->din[0][i];
    }
}

const cgan_op_def cgan_op_dropout_def = {
    .name = "dropout",
    .flags = 0,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .ref_forward = dropout_ref_forward,
    .ref_backward = dropout_ref_backward,
};

int cgan_nn_dropout(cgan_graph *g, const char *name, int x, float p)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_DROPOUT, name, &x, 1);
    if (!nd) return -1;
    if (!(p >= 0.0f && p <= 1.0f))
        return cgan_graph_fail(g, nd, "dropout probability %g is not in [0, 1]", (double)p);
    nd->a.p = p;
    nd->n_aux = 1;
    nd->aux_shape[0] = nd->in_shape[0];
    return cgan_graph_end(g, nd, nd->in_shape[0]);
}

/* Train mode (with finite differences: the mask is fixed by seed and counter) and eval. */
cgan_status cgan_selfcheck_dropout(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_status st = CGAN_OK;
    double worst = -1;
    res->max_err = 0;
    res->tol = 1e-5;
    for (int train = 1; train >= 0 && st == CGAN_OK; train--) {
        cgan_graph *g = cgan_graph_new(ctx, "check");
        if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        int x = cgan_graph_input(g, "x", cgan_shape4(3, 5, 7, 3));
        cgan_nn_dropout(g, "drop", x, 0.3f);
        cgan_opcheck_case c = { train ? "dropout train" : "dropout eval", train, 1e-5, 1e-5, 1e-5,
                                77u + (uint64_t)train };
        st = cgan_opcheck_graph(ctx, g, &c, res, &worst);
    }
    return st;
}
