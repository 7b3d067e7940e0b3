/* Spectral normalisation of D's weights (spectral_norm.c, cl/spectral_norm.cl): the op
 * computes W_sn = W / sigma(W) from a parameter W that another node (conv2d, linear) uses,
 * so that node reads W_sn in W's place and W gets the gradient through W_sn and sigma. */
#ifndef CGAN_OPS_SPECTRAL_NORM_H
#define CGAN_OPS_SPECTRAL_NORM_H
#include "core/graph.h"
#include "core/selftest.h"

/* Normalise the weight (parameter 0) of node i, a conv2d or linear node: a spectral_norm
 * node "<node>_sn" (state "u" [rows] and "v" [cols], both starting at 1; W read as a
 * [shape.n, rest] matrix) is inserted before it and the node reads its output instead of
 * W. Returns the new node's output id, or -1 (recorded on the graph). */
int cgan_spectral_norm_wrap(cgan_graph *g, int i);
/* Wrap every conv2d and linear node of g; returns the graph's status. */
cgan_status cgan_spectral_norm_graph(cgan_graph *g);
/* Whether the spectral_norm nodes of g take a power iteration in their next training
 * passes (on: the first pass of a D update; off: the others, so one iteration per update).
 * Read when a pass is enqueued. */
void cgan_spectral_norm_iterate(cgan_graph *g, int on);
/* Self-check: odd-shaped weights through cgan_opcheck, training (with the iteration) and
 * eval mode (with finite differences). */
cgan_status cgan_selfcheck_spectral_norm(cgan_ctx *ctx, cgan_check_result *res);
#endif
