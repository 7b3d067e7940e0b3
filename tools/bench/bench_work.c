/* cgan-bench step --count: the work of one training step, counted from the graphs' shapes:
 * floating-point operations (a multiply-add is 2) and the bytes the kernels must at least
 * move (each tensor, parameter and gradient read or written once per pass; no cache
 * reuse, no scratch). Passes per step as cgan_trainer_step runs them (d_steps 1): G forward
 * and backward once, D forward and backward three times (real, fake, G through D), Adam on
 * G and D, the EMA of G. A model of the minimum, to set beside launches and device time. */
#include <string.h>
#include "bench.h"

static double numel(const cgan_graph *g, int id)
{
    return (double)cgan_numel(cgan_graph_tensor_shape(g, id));
}

/* Forward flops of one node: products for convolutions and linear layers, a few per
 * element elsewhere (BatchNorm: statistics and the affine map, about 8). */
static double node_flops(const cgan_graph *g, const cgan_node_info *nd)
{
    cgan_shape in = cgan_graph_tensor_shape(g, nd->in[0]), out = cgan_graph_tensor_shape(g, nd->out);
    double nin = (double)cgan_numel(in), nout = (double)cgan_numel(out);
    if (!strcmp(nd->op, "conv2d")) return 2.0 * nout * in.c * nd->k * nd->k;
    if (!strcmp(nd->op, "deconv2d")) return 2.0 * nin * out.c * nd->k * nd->k;
    if (!strcmp(nd->op, "linear")) return 2.0 * nout * (nin / in.n);
    if (!strcmp(nd->op, "batchnorm")) return 8.0 * nout;
    return 2.0 * nout;
}

static double node_bytes(const cgan_graph *g, const cgan_node_info *nd, int backward)
{
    double f = numel(g, nd->out), p = 0;
    for (int i = 0; i < nd->n_in; i++) f += numel(g, nd->in[i]);
    for (int i = 0; i < nd->n_param; i++) p += numel(g, nd->param[i]);
    /* forward: inputs, parameters, output; backward: output gradient, inputs, parameters,
     * input gradients, parameter gradients read and written */
    return 4.0 * (backward ? 2.0 * f + 3.0 * p : f + p);
}

static void graph_work(cgan_graph *g, int fwd, int bwd, double *flops, double *bytes)
{
    for (int i = 0; i < cgan_graph_node_count(g); i++) {
        cgan_node_info nd;
        if (cgan_graph_node_info(g, i, &nd) != CGAN_OK) continue;
        double f = node_flops(g, &nd);
        /* backward of a product: the input and the weight gradients, a product each */
        *flops += fwd * f + bwd * 2.0 * f;
        *bytes += fwd * node_bytes(g, &nd, 0) + bwd * node_bytes(g, &nd, 1);
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
    if (cgan_trainer_cfg(t)->ema > 0) { /* EMA: read both, write one */
        *flops += 3.0 * pg;
        *bytes += 4.0 * 3.0 * pg;
    }
}
