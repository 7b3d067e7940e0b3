/* The executor's internals (the public side is cgan/graph.h; the cl_mem of a graph tensor
 * is public in cgan/cgan_cl.h).
 *
 * cgan_graph_plan() lays out device memory once: parameters, their gradients and state in
 * contiguous arenas; activations, gradients and saved values in one arena planned by
 * lifetime for the mode, so buffers are reused; one scratch buffer for im2col columns.
 * Forward and backward only enqueue kernels: no allocation, no host wait. */
#ifndef CGAN_EXEC_H
#define CGAN_EXEC_H
#include "core/graph.h"
#include "cgan/cgan_cl.h"

/* The parameter arena, its gradient twin and the state arena, in floats. */
cl_mem cgan_graph_param_arena(cgan_graph *g, size_t *n_floats);
cl_mem cgan_graph_grad_arena(cgan_graph *g, size_t *n_floats);
cl_mem cgan_graph_state_arena(cgan_graph *g, size_t *n_floats);
/* Called during a backward that computes parameter gradients, after each node's kernels
 * are enqueued, with `ready`: the gradients at float offsets >= ready in the gradient arena
 * are final once the queue reaches this point (no node still to run touches them). Used
 * to start the gradients' all-reduce while backward still runs. NULL removes it. */
void cgan_graph_set_grad_hook(cgan_graph *g, cgan_grad_hook fn, void *user);
/* BatchNorm statistics of training passes over a data-parallel job (ops/op.h's
 * cgan_bn_sync, kept by the caller while the graph runs); NULL: per process. */
struct cgan_bn_sync;
void cgan_graph_set_bn_sync(cgan_graph *g, const struct cgan_bn_sync *sync);
#endif
