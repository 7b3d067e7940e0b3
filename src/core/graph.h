/* The layer graph's internals: the tensor and node records and the primitives op builders
 * use. The public side (building with cgan_nn_*, planning, running) is cgan/graph.h. */
#ifndef CGAN_GRAPH_H
#define CGAN_GRAPH_H
#include "ops/op.h"

cgan_gtensor *cgan_graph_tensor(cgan_graph *g, int id);
/* Index range of a labels or tokens input (classes, words), 0 for other tensors. */
int cgan_graph_index_range(const cgan_graph *g, int id);

cgan_node *cgan_graph_node(cgan_graph *g, int i);
/* The node that produced tensor id, or -1. */
int cgan_graph_producer(const cgan_graph *g, int id);

/* ---- primitives for op builders (src/ops/<op>.c) ------------------------------- */
/* Start a node: checks inputs are valid ids, fills n_in/in/in_shape, sets the name
 * "<prefix>.<name>". Returns NULL when an input is -1 or on error. */
cgan_node *cgan_graph_begin(cgan_graph *g, cgan_op_type op, const char *name,
                            const int *inputs, int n_in);
/* Add a trained parameter "<node>.<pname>" to the node being built. */
int cgan_graph_add_param(cgan_graph *g, cgan_node *nd, const char *pname, cgan_shape s,
                         cgan_init init, float mean, float std);
/* Add a state tensor "<node>.<sname>" (BN running statistics), initialised to value. */
int cgan_graph_add_state(cgan_graph *g, cgan_node *nd, const char *sname, cgan_shape s,
                         float value);
/* Finish: creates the output tensor "<node>.out" with shape out; returns its id. */
int cgan_graph_end(cgan_graph *g, cgan_node *nd, cgan_shape out);
/* Move the graph's last node to position pos (0 <= pos < node count), the nodes from pos
 * on moving one place later: a node that prepares another's parameter (spectral_norm)
 * runs before it. Returns pos, or -1 (recorded on the graph) for a bad pos. */
int cgan_graph_move_last(cgan_graph *g, int pos);
/* Record a shape/argument error for the node being built; returns -1. The message is
 * prefixed with the node's full name. */
int cgan_graph_fail(cgan_graph *g, const cgan_node *nd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A callback of backward (cgan_graph_set_grad_hook in exec.h). */
typedef cgan_status (*cgan_grad_hook)(void *user, size_t ready);

#endif
