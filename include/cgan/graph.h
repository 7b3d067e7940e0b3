/* cgan/graph.h: layer graphs, built by calls and run by the one executor.
 *
 * A graph is a list of nodes (one op each) over named tensors. Build it with the cgan_nn_*
 * calls below, each of which adds one node, checks and infers its shapes, creates its
 * parameters, and returns the id (>= 0) of its output tensor. Then plan it once
 * (cgan_graph_plan: device memory for parameters, gradients and activations, laid out by
 * lifetime, and parameters initialised), and run it any number of times: forward and
 * backward only enqueue kernels on the context's queue, allocate nothing and wait for
 * nothing. Training and generation go through this same executor.
 *
 * Errors while building: a builder given a bad shape or argument records the first error
 * on the graph (message on the context, naming the node: "G.deconv2: ...") and returns -1;
 * a builder given -1 as an input returns -1 quietly. So a model is written as a straight
 * chain and checked once with cgan_graph_status():
 *
 *     cgan_graph *g = cgan_graph_new(ctx, "C");
 *     int x = cgan_graph_input(g, "x", cgan_shape4(64, 1, 28, 28));
 *     x = cgan_nn_conv2d(g, "conv1", x, 16, 3, 1, 1, 1);
 *     x = cgan_nn_activation(g, "relu1", x, CGAN_ACT_RELU, 0.f);
 *     ...
 *     if (cgan_graph_status(g) != CGAN_OK) puts(cgan_last_error(ctx));
 *
 * Names: the graph's prefix, the node's name and the tensor's role make the module path:
 * prefix "G", node "deconv1" gives the parameter "G.deconv1.weight" and the output
 * "G.deconv1.out". Checkpoints store parameters under these names.
 *
 * Parameters use DCGAN initialisation unless set otherwise (cgan_graph_set_init): conv,
 * deconv and linear weights N(0, 0.02), biases 0, BatchNorm gamma N(1, 0.02) and beta 0,
 * embeddings N(0, 1). The draws depend only on the seed given to cgan_graph_plan and the
 * tensor's name, so adding a layer does not change the others' starting values. */
#ifndef CGAN_API_GRAPH_H
#define CGAN_API_GRAPH_H
#include <stdint.h>
#include "cgan/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgan_graph cgan_graph;

/* Activations (also fused into BatchNorm nodes). */
typedef enum cgan_act {
    CGAN_ACT_RELU = 0, CGAN_ACT_LRELU, CGAN_ACT_TANH, CGAN_ACT_SIGMOID,
    CGAN_ACT_NONE           /* identity: batchnorm without a fused activation */
} cgan_act;

/* What a tensor of a graph is. */
typedef enum cgan_tensor_kind {
    CGAN_TENSOR_ACT = 0,   /* activation produced by a node */
    CGAN_TENSOR_INPUT,     /* fed from outside (images, noise, labels, another graph's output) */
    CGAN_TENSOR_PARAM,     /* trained parameter; lives in the graph's parameter arena */
    CGAN_TENSOR_STATE      /* non-trained state saved in checkpoints (BN running stats) */
} cgan_tensor_kind;

/* How a parameter is initialised. */
typedef enum cgan_init {
    CGAN_INIT_NORMAL = 0,  /* N(mean, std) */
    CGAN_INIT_CONST,       /* every element = mean */
    CGAN_INIT_UNIFORM      /* U(-std, std) */
} cgan_init;

/* ---- graphs and their tensors --------------------------------------------------- */

/* A new empty graph on ctx (which may still be unopened while building; it must be open
 * to plan). prefix (at most 31 bytes) starts every name. NULL when out of memory. */
CGAN_API cgan_graph *cgan_graph_new(cgan_ctx *ctx, const char *prefix);
/* Frees the graph and its device memory (NULL is accepted). */
CGAN_API void cgan_graph_destroy(cgan_graph *g);
CGAN_API cgan_ctx *cgan_graph_ctx(const cgan_graph *g);
CGAN_API const char *cgan_graph_prefix(const cgan_graph *g);

/* CGAN_OK, or the first error recorded while building (message on the context). */
CGAN_API cgan_status cgan_graph_status(const cgan_graph *g);

/* An input fed from outside (cgan_graph_write, or bound to a tensor). */
CGAN_API int cgan_graph_input(cgan_graph *g, const char *name, cgan_shape s);
/* An input of class indices in [0, num_classes), stored as floats, shape [n,1,1,1]. It
 * never gets a gradient. */
CGAN_API int cgan_graph_input_labels(cgan_graph *g, const char *name, int n, int num_classes);
/* An input of token ids in [0, vocab) (or the pad -1), stored as floats, shape
 * [n,len,1,1]: a caption per row. Like labels, it never gets a gradient. */
CGAN_API int cgan_graph_input_tokens(cgan_graph *g, const char *name, int n, int len, int vocab);

/* Tensors in the graph; ids run from 0 to count - 1. */
CGAN_API int cgan_graph_tensor_count(const cgan_graph *g);
/* The id of the tensor with this full name ("G.deconv1.weight"), -1 when absent. */
CGAN_API int cgan_graph_find_tensor(const cgan_graph *g, const char *name);
/* Name, shape and kind of tensor id (0 <= id < cgan_graph_tensor_count); NULL, a zero
 * shape and CGAN_TENSOR_ACT for a bad id. */
CGAN_API const char *cgan_graph_tensor_name(const cgan_graph *g, int id);
CGAN_API cgan_shape cgan_graph_tensor_shape(const cgan_graph *g, int id);
CGAN_API cgan_tensor_kind cgan_graph_tensor_kind(const cgan_graph *g, int id);
/* Change how a parameter is initialised (before cgan_graph_plan). CGAN_E_INVALID when id
 * is not a parameter. */
CGAN_API cgan_status cgan_graph_set_init(cgan_graph *g, int id, cgan_init init, float mean,
                                         float std);
/* Nodes in the order they run, and each node's full name ("G.deconv1"). */
CGAN_API int cgan_graph_node_count(const cgan_graph *g);
CGAN_API const char *cgan_graph_node_name(const cgan_graph *g, int i);

/* ---- ops: each adds one node and returns its output tensor id ------------------- */

/* Conv2d: x [N,Cin,H,W] -> [N,cout,Ho,Wo], Ho = (H + 2*pad - k)/stride + 1 (>= 1).
 * weight [cout,Cin,k,k]; bias [1,cout,1,1] when bias != 0. */
CGAN_API int cgan_nn_conv2d(cgan_graph *g, const char *name, int x, int cout, int k, int stride,
                            int pad, int bias);
/* ConvTranspose2d: x [N,Cin,H,W] -> [N,cout,Ho,Wo], Ho = (H-1)*stride - 2*pad + k.
 * weight [Cin,cout,k,k] (PyTorch's layout); bias [1,cout,1,1] when bias != 0. */
CGAN_API int cgan_nn_deconv2d(cgan_graph *g, const char *name, int x, int cout, int k,
                              int stride, int pad, int bias);
/* BatchNorm2d over x [N,C,H,W] (eps 1e-5, momentum 0.1; running_var takes the unbiased
 * batch variance, as PyTorch). Parameters "weight" (gamma) and "bias" (beta) [1,C,1,1];
 * state "running_mean" (0) and "running_var" (1). Batch statistics in training passes,
 * running statistics in eval passes. */
CGAN_API int cgan_nn_batchnorm(cgan_graph *g, const char *name, int x);
/* Conditional BatchNorm: gamma and beta come from per-class tables [K,C,1,1] indexed by
 * labels [N,1,1,1] (gamma table N(1,0.02), beta table 0). */
CGAN_API int cgan_nn_cond_batchnorm(cgan_graph *g, const char *name, int x, int labels,
                                    int num_classes);
/* The same with the activation fused into the node: y = act(BN(x)) in one pass forward
 * and backward. act: CGAN_ACT_RELU, CGAN_ACT_LRELU (slope finite, >= 0) or CGAN_ACT_NONE.
 * Parameter names are those of the unfused node. */
CGAN_API int cgan_nn_batchnorm_act(cgan_graph *g, const char *name, int x, cgan_act act,
                                   float slope);
CGAN_API int cgan_nn_cond_batchnorm_act(cgan_graph *g, const char *name, int x, int labels,
                                        int num_classes, cgan_act act, float slope);
/* ReLU, LeakyReLU(slope), Tanh, Sigmoid; same shape. */
CGAN_API int cgan_nn_activation(cgan_graph *g, const char *name, int x, cgan_act act,
                                float slope);
/* Fully connected: x [N,C,H,W] read as [N, C*H*W] -> [N,out,1,1]; weight [out,C*H*W,1,1];
 * bias [1,out,1,1] when bias != 0. */
CGAN_API int cgan_nn_linear(cgan_graph *g, const char *name, int x, int out, int bias);
/* Embedding: labels [N,1,1,1] -> [N,dim,1,1]; weight [num_classes,dim,1,1] N(0,1). */
CGAN_API int cgan_nn_embedding(cgan_graph *g, const char *name, int labels, int num_classes,
                               int dim);
/* Mean of word embeddings: token ids [N,L,1,1] (ids outside [0,vocab), such as the pad -1,
 * are ignored) -> the mean of their rows of weight [vocab,dim,1,1], [N,dim,1,1]; zeros for
 * a row of padding only. */
CGAN_API int cgan_nn_embed_mean(cgan_graph *g, const char *name, int tokens, int vocab, int dim);
/* One-hot: labels [N,1,1,1] -> [N,num_classes,1,1]; no parameters, no gradient. */
CGAN_API int cgan_nn_onehot(cgan_graph *g, const char *name, int labels, int num_classes);
/* Channel concat of a [N,Ca,H,W] and b [N,Cb,H,W] -> [N,Ca+Cb,H,W]. When b is [N,Cb,1,1]
 * and a is larger, b is broadcast over HxW (label planes). */
CGAN_API int cgan_nn_concat(cgan_graph *g, const char *name, int a, int b);
/* Same data, new shape (element counts must match). */
CGAN_API int cgan_nn_reshape(cgan_graph *g, const char *name, int x, cgan_shape s);
/* Element-wise a + b and a * b (same shapes). */
CGAN_API int cgan_nn_add(cgan_graph *g, const char *name, int a, int b);
CGAN_API int cgan_nn_mul(cgan_graph *g, const char *name, int a, int b);
/* Inverted dropout with probability p in training passes, identity in eval passes; the
 * mask comes from Philox(seed, counter), so runs repeat. */
CGAN_API int cgan_nn_dropout(cgan_graph *g, const char *name, int x, float p);
/* Projection discriminator term: out[n] = sum_c embed[y_n, c] * sum_hw x[n,c,h,w].
 * x [N,C,H,W], labels [N,1,1,1]; parameter "embed" [num_classes,C,1,1]; out [N,1,1,1]. */
CGAN_API int cgan_nn_projection(cgan_graph *g, const char *name, int x, int labels,
                                int num_classes);
/* DiffAugment (Zhao et al. 2020) in training passes: per sample, a random translation by
 * up to `translate` of the side (zero fill) and a cutout square of `cutout` of the side;
 * differentiable, the identity in eval passes. */
CGAN_API int cgan_nn_diffaug(cgan_graph *g, const char *name, int x, float translate,
                             float cutout);
/* Minibatch standard deviation (Karras et al. 2018), for D: x [N,C,H,W] -> [N,C+1,H,W], the
 * extra plane of each sample holding the mean over C*H*W features of their standard
 * deviation across its group (samples in batch order, `group` to a group, the last one
 * holding what is left). The same in training and eval passes. */
CGAN_API int cgan_nn_mbstd(cgan_graph *g, const char *name, int x, int group);

/* Losses: the mean over the batch, output [1,1,1,1].
 * BCE with logits against a constant target (1 real, 0 fake); every element of logits is
 * one logit. */
CGAN_API int cgan_nn_loss_bce(cgan_graph *g, const char *name, int logits, float target);
/* Hinge for D: mean(relu(1 - sign*x)), sign +1 for real, -1 for fake. */
CGAN_API int cgan_nn_loss_hinge_d(cgan_graph *g, const char *name, int logits, float sign);
/* Hinge for G: -mean(x). */
CGAN_API int cgan_nn_loss_hinge_g(cgan_graph *g, const char *name, int logits);
/* Softmax cross-entropy: logits [N,K,1,1], labels [N,1,1,1] (class indices). */
CGAN_API int cgan_nn_loss_softmax_ce(cgan_graph *g, const char *name, int logits, int labels);

/* ---- the executor ---------------------------------------------------------------- */

typedef enum cgan_mode {
    CGAN_MODE_EVAL = 0,   /* forward only; activations reused aggressively */
    CGAN_MODE_TRAIN = 1   /* forward (training or eval passes) and backward */
} cgan_mode;

/* What a backward pass computes (flags). */
#define CGAN_GRAD_PARAMS 1u   /* accumulate parameter gradients (+=) */
#define CGAN_GRAD_INPUTS 2u   /* gradients of inputs marked with cgan_graph_requires_grad */

/* Before planning: ask for the gradient of an input (a discriminator's image input, to
 * drive a generator). */
CGAN_API cgan_status cgan_graph_requires_grad(cgan_graph *g, int id);
/* Lay out device memory once and initialise the parameters from seed. Needs an opened
 * context and a graph without errors. */
CGAN_API cgan_status cgan_graph_plan(cgan_graph *g, cgan_mode mode, uint64_t seed);
/* Enqueue the forward pass. train != 0 selects batch statistics and dropout; counter feeds
 * the dropout and DiffAugment draws together with the seed (use the step number). */
CGAN_API cgan_status cgan_graph_forward(cgan_graph *g, int train, uint64_t counter);
/* Enqueue the backward pass after a forward. seed_id >= 0: that tensor's gradient is set
 * to 1 (a scalar loss); seed_id < 0: the caller has written the gradients of the outputs
 * (cgan_graph_write_grad). what: CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS. Parameter gradients
 * accumulate: zero them first (cgan_graph_zero_grad). */
CGAN_API cgan_status cgan_graph_backward(cgan_graph *g, int seed_id, unsigned what);
/* Zero every parameter gradient (one fill; enqueued). */
CGAN_API cgan_status cgan_graph_zero_grad(cgan_graph *g);

/* Blocking copies between host memory and a tensor's value or gradient (setup, reading
 * results, checkpoints). The host array holds the tensor's numel floats. */
CGAN_API cgan_status cgan_graph_write(cgan_graph *g, int id, const float *src);
CGAN_API cgan_status cgan_graph_read(cgan_graph *g, int id, float *dst);
CGAN_API cgan_status cgan_graph_read_grad(cgan_graph *g, int id, float *dst);
CGAN_API cgan_status cgan_graph_write_grad(cgan_graph *g, int id, const float *src);
/* Feed an input from a standalone tensor of the same shape (no copy); grad (may be NULL)
 * receives the input's gradient when it requires one. Before or after planning. */
CGAN_API cgan_status cgan_graph_bind_tensor(cgan_graph *g, int id, cgan_tensor *value,
                                            cgan_tensor *grad);
/* Feed input `id` of g from tensor `src_id` of another planned graph `src` on the same
 * context, and send the input's gradient back into src's gradient of that tensor (so a
 * discriminator's gradient reaches a generator). */
CGAN_API cgan_status cgan_graph_connect(cgan_graph *g, int id, cgan_graph *src, int src_id);

/* Trained parameters (floats), and the bytes planned for activations and scratch. */
CGAN_API size_t cgan_graph_param_count(const cgan_graph *g);
CGAN_API size_t cgan_graph_activation_bytes(const cgan_graph *g);
CGAN_API size_t cgan_graph_scratch_bytes(const cgan_graph *g);

/* Time every node (tools and tuning; the queue is drained around each node, so passes get
 * slower). Turning it on or off resets the totals. */
CGAN_API cgan_status cgan_graph_profile(cgan_graph *g, int on);
CGAN_API void cgan_graph_profile_get(const cgan_graph *g, int node, double *fwd_ms,
                                     double *bwd_ms, unsigned *fwd_calls, unsigned *bwd_calls);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_GRAPH_H */
