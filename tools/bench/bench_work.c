/* cgan-bench step --count: the work of one training step, counted from the graphs' shapes:
 * floating-point operations (a multiply-add is 2) and the bytes the kernels must at least
 * move (each tensor, parameter and gradient read or written once per pass; no cache
 * reuse, no scratch). Passes per step as cgan_trainer_step runs them (d_steps 1): G forward
 * and backward once, D forward and backward three times (real, fake, G through D), Adam on
 * G and D, the EMA of G. A model of the minimum, to set beside launches and device time. */
#include "bench.h"
#include "core/graph_impl.h"
#include "gan/trainer.h"

static double numel(cgan_shape s)
{
    return (double)cgan_numel(s);
}

/* Forward flops of one node: products for convolutions and linear layers, a few per
 * element elsewhere (BatchNorm: statistics and the affine map, about 8). */
static double node_flops(const cgan_node *nd)
{
    cgan_shape in = nd->in_shape[0], out = nd->out_shape;
    switch (nd->op) {
    case CGAN_OP_CONV2D: return 2.0 * numel(out) * in.c * nd->a.k * nd->a.k;
    case CGAN_OP_DECONV2D: return 2.0 * numel(in) * out.c * nd->a.k * nd->a.k;
    case CGAN_OP_LINEAR: return 2.0 * numel(out) * (numel(in) / in.n);
    case CGAN_OP_BATCHNORM: return 8.0 * numel(out);
    default: return 2.0 * numel(out);
    }
}

static double node_bytes(const cgan_node *nd, int backward)
{
    double f = numel(nd->out_shape), p = 0;
    for (int i = 0; i < nd->n_in; i++) f += numel(nd->in_shape[i]);
    for (int i = 0; i < nd->n_param; i++) p += numel(nd->param_shape[i]);
    /* forward: inputs, parameters, output; backward: output gradient, inputs, parameters,
     * input gradients, parameter gradients read and written */
    return 4.0 * (backward ? 2.0 * f + 3.0 * p : f + p);
}

static void graph_work(cgan_graph *g, int fwd, int bwd, double *flops, double *bytes)
{
    for (int i = 0; i < g->nn; i++) {
        const cgan_node *nd = &g->nodes[i];
        double f = node_flops(nd);
        /* backward of a product: the input and the weight gradients, a product each */
        *flops += fwd * f + bwd * 2.0 * f;
        *bytes += fwd * node_bytes(nd, 0) + bwd * node_bytes(nd, 1);
    }
}

void bench_step_work(cgan_trainer *t, double *flops, double *bytes)
{
    *flops = *bytes = 0;
    graph_work(cgan_trainer_graph(t, 0), 1, 1, flops, bytes);
    graph_work(cgan_trainer_graph(t, 1), 3, 3, flops, bytes);
    double pg = (double)cgan_trainer_param_count(t, 0), pd = (double)cgan_trainer_param_count(t, 1);
    /* Adam: read parameter, gradient, m, v; write parameter, m, v; about 12 flops each */
    *flops += 12.0 * (pg + pd);
    *bytes += 4.0 * 7.0 * (pg + pd);
    if (cgan_trainer_ema(t)) { /* EMA: read both, write one */
        *flops += 3.0 * pg;
        *bytes += 4.0 * 3.0 * pg;
    }
}
