/* Op builders: add one node to a graph, infer and check its shapes, create its named
 * parameters. Each is implemented beside its op in src/ops/<op>.c. All return the output
 * tensor id, or -1 with the error recorded on the graph (see core/graph.h).
 *
 * Parameters use DCGAN initialisation: conv/deconv/linear weights N(0, 0.02), biases 0,
 * BN gamma N(1, 0.02), beta 0. */
#ifndef CGAN_BUILDERS_H
#define CGAN_BUILDERS_H
#include "core/graph.h"

/* x [N,Cin,H,W] -> [N,cout,Ho,Wo], Ho = (H + 2*pad - k)/stride + 1 (must be >= 1).
 * weight [cout,Cin,k,k]; bias [1,cout,1,1] when bias != 0. */
int cgan_nn_conv2d(cgan_graph *g, const char *name, int x, int cout, int k, int stride, int pad,
                   int bias);
/* ConvTranspose2d: x [N,Cin,H,W] -> [N,cout,Ho,Wo], Ho = (H-1)*stride - 2*pad + k.
 * weight [Cin,cout,k,k] (PyTorch's layout); bias [1,cout,1,1] when bias != 0. */
int cgan_nn_deconv2d(cgan_graph *g, const char *name, int x, int cout, int k, int stride,
                     int pad, int bias);
/* BatchNorm2d over x [N,C,H,W] (eps 1e-5, momentum 0.1; running_var takes the unbiased
 * batch variance, as PyTorch). params gamma, beta [1,C,1,1]; state running_mean (0),
 * running_var (1) [1,C,1,1]; aux saved mean and inverse std [1,C,1,1]. */
int cgan_nn_batchnorm(cgan_graph *g, const char *name, int x);
/* Conditional BatchNorm: gamma and beta come from per-class tables [K,C,1,1] indexed by
 * labels [N,1,1,1] (gamma table N(1,0.02), beta table 0). Inputs: x, labels. */
int cgan_nn_cond_batchnorm(cgan_graph *g, const char *name, int x, int labels, int num_classes);
/* The same with the activation fused into the node: y = act(BN(x)), one pass forward and
 * no separate activation pass backward (the mask comes from the saved output). act is
 * CGAN_ACT_RELU, CGAN_ACT_LRELU (slope finite, >= 0) or CGAN_ACT_NONE (plain BN).
 * Parameter and state names are those of the unfused node, so checkpoints load as-is. */
int cgan_nn_batchnorm_act(cgan_graph *g, const char *name, int x, cgan_act act, float slope);
int cgan_nn_cond_batchnorm_act(cgan_graph *g, const char *name, int x, int labels,
                               int num_classes, cgan_act act, float slope);
/* ReLU, LeakyReLU(slope), Tanh, Sigmoid; same shape. */
int cgan_nn_activation(cgan_graph *g, const char *name, int x, cgan_act act, float slope);
/* x [N,C,H,W] read as [N, C*H*W] -> [N,out,1,1]; weight [out, C*H*W, 1, 1]; bias [1,out,1,1]. */
int cgan_nn_linear(cgan_graph *g, const char *name, int x, int out, int bias);
/* labels [N,1,1,1] -> [N,dim,1,1]; weight [num_classes,dim,1,1] N(0,1). */
int cgan_nn_embedding(cgan_graph *g, const char *name, int labels, int num_classes, int dim);
/* Text encoder's word averaging: token ids [N,L,1,1] (cgan_graph_input_tokens; ids outside
 * [0,vocab) such as the pad -1 are ignored) -> the mean of their rows of weight
 * [vocab,dim,1,1] N(0,1), [N,dim,1,1]; zeros for a row of padding only. */
int cgan_nn_embed_mean(cgan_graph *g, const char *name, int tokens, int vocab, int dim);
/* labels [N,1,1,1] -> one-hot [N,num_classes,1,1]; no parameters, no gradient. */
int cgan_nn_onehot(cgan_graph *g, const char *name, int labels, int num_classes);
/* Channel concat of a [N,Ca,H,W] and b [N,Cb,H,W] -> [N,Ca+Cb,H,W]. When b is [N,Cb,1,1]
 * and a is larger, b is broadcast over HxW (label planes). */
int cgan_nn_concat(cgan_graph *g, const char *name, int a, int b);
/* Same data, new shape (element counts must match). */
int cgan_nn_reshape(cgan_graph *g, const char *name, int x, cgan_shape s);
/* Element-wise a + b, a * b (same shapes). */
int cgan_nn_add(cgan_graph *g, const char *name, int a, int b);
int cgan_nn_mul(cgan_graph *g, const char *name, int a, int b);
/* Inverted dropout with probability p in train mode, identity in eval mode. The mask is
 * drawn from Philox(seed, counter) so runs repeat; aux holds the mask. */
int cgan_nn_dropout(cgan_graph *g, const char *name, int x, float p);
/* Projection discriminator term: out[n] = sum_c embed[y_n, c] * sum_hw x[n,c,h,w].
 * Inputs x [N,C,H,W], labels; param embed [num_classes,C,1,1] N(0,0.02); out [N,1,1,1]. */
int cgan_nn_projection(cgan_graph *g, const char *name, int x, int labels, int num_classes);
/* Losses, mean over the batch, output [1,1,1,1]. logits [N,1,1,1] (any shape for BCE/hinge:
 * every element is one logit).
 * BCE with logits against a constant target (attrs.target: 1 real, 0 fake), stable form
 * max(x,0) - x*t + log(1 + exp(-|x|)). */
int cgan_nn_loss_bce(cgan_graph *g, const char *name, int logits, float target);
/* Hinge for D: mean(relu(1 - sign*x)), sign +1 for real, -1 for fake (attrs.target). */
int cgan_nn_loss_hinge_d(cgan_graph *g, const char *name, int logits, float sign);
/* Hinge for G: -mean(x). */
int cgan_nn_loss_hinge_g(cgan_graph *g, const char *name, int logits);
/* Softmax cross-entropy: logits [N,K,1,1], labels [N,1,1,1]. */
int cgan_nn_loss_softmax_ce(cgan_graph *g, const char *name, int logits, int labels);
#endif
