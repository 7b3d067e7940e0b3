/* The executor: the same code runs training and generation.
 *
 * cgan_graph_plan() lays out device memory once: parameters, their gradients and state in
 * contiguous arenas; activations, gradients and saved values in one arena planned by
 * lifetime for the mode, so buffers are reused; one scratch buffer for im2col columns.
 * Forward and backward only enqueue kernels: no allocation, no host wait. */
#ifndef CGAN_EXEC_H
#define CGAN_EXEC_H
#include "core/graph.h"

typedef enum cgan_mode {
    CGAN_MODE_EVAL = 0,   /* forward only; aggressive reuse */
    CGAN_MODE_TRAIN = 1   /* forward (train or eval) and backward */
} cgan_mode;

/* What a backward pass computes. */
#define CGAN_GRAD_PARAMS 1u   /* accumulate parameter gradients (+=) */
#define CGAN_GRAD_INPUTS 2u   /* gradients of inputs marked with cgan_graph_requires_grad */

/* Before planning: ask for the gradient of an input tensor (D's image input, to drive G). */
cgan_status cgan_graph_requires_grad(cgan_graph *g, int id);
/* Point an input tensor at outside buffers (another graph's output and its gradient).
 * Allowed before and after planning; grad may be NULL. */
cgan_status cgan_graph_bind(cgan_graph *g, int id, cl_mem value, cl_mem grad);

/* Plan memory and initialise parameters (DCGAN init drawn from seed, per tensor name). */
cgan_status cgan_graph_plan(cgan_graph *g, cgan_mode mode, uint64_t seed);

/* Enqueue the forward pass; train selects batch statistics and dropout. counter feeds
 * the dropout RNG together with the seed. */
cgan_status cgan_graph_forward(cgan_graph *g, int train, uint64_t counter);
/* Enqueue the backward pass after a forward. seed_id >= 0: that tensor's gradient is set
 * to 1 (a scalar loss); seed_id < 0: the caller has written the gradients of the graph's
 * outputs (cgan_graph_grad). what: CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS. */
cgan_status cgan_graph_backward(cgan_graph *g, int seed_id, unsigned what);
/* Zero every parameter gradient (one fill over the gradient arena). */
cgan_status cgan_graph_zero_grad(cgan_graph *g);

/* Device buffers after planning (NULL when absent). */
cl_mem cgan_graph_value(cgan_graph *g, int id);
cl_mem cgan_graph_grad(cgan_graph *g, int id);
/* The parameter arena, its gradient twin and the state arena, in floats. */
cl_mem cgan_graph_param_arena(cgan_graph *g, size_t *n_floats);
cl_mem cgan_graph_grad_arena(cgan_graph *g, size_t *n_floats);
cl_mem cgan_graph_state_arena(cgan_graph *g, size_t *n_floats);
/* Bytes of the activation arena and of the scratch buffer (for reports and tests). */
size_t cgan_graph_activation_bytes(const cgan_graph *g);
size_t cgan_graph_scratch_bytes(const cgan_graph *g);
/* Number of trained parameters (floats). */
size_t cgan_graph_param_count(const cgan_graph *g);

/* Tools only: time every node (the queue is drained around each, so passes get slower).
 * Turning it on or off resets the totals. */
cgan_status cgan_graph_profile(cgan_graph *g, int on);
void cgan_graph_profile_get(const cgan_graph *g, int node, double *fwd_ms, double *bwd_ms,
                            unsigned *fwd_calls, unsigned *bwd_calls);

/* Blocking host copies of a tensor's value or gradient (setup, tests, checkpoints). */
cgan_status cgan_graph_write(cgan_graph *g, int id, const float *src);
cgan_status cgan_graph_read(cgan_graph *g, int id, float *dst);
cgan_status cgan_graph_read_grad(cgan_graph *g, int id, float *dst);
#endif
