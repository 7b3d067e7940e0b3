/* The layer graph: tensors, nodes and named parameters, built through op builders
 * (src/ops/builders.h) and run by the executor (src/core/exec.h).
 *
 * Builders return a tensor id (>= 0). On a bad shape or argument they record the first
 * error on the graph and return -1; a builder given a -1 input returns -1 quietly, so a
 * model is written as a straight chain and checked once with cgan_graph_status(). */
#ifndef CGAN_GRAPH_H
#define CGAN_GRAPH_H
#include "ops/op.h"

typedef struct cgan_graph cgan_graph;

/* prefix names every tensor and node: "G" gives "G.deconv1.weight". */
cgan_graph *cgan_graph_new(cgan_ctx *ctx, const char *prefix);
void cgan_graph_destroy(cgan_graph *g);
cgan_ctx *cgan_graph_ctx(const cgan_graph *g);
const char *cgan_graph_prefix(const cgan_graph *g);

/* CGAN_OK, or the first error recorded while building (message on the context). */
cgan_status cgan_graph_status(const cgan_graph *g);

/* An input fed from outside. */
int cgan_graph_input(cgan_graph *g, const char *name, cgan_shape s);
/* An input of class indices in [0, num_classes), stored as floats, shape [n,1,1,1]. */
int cgan_graph_input_labels(cgan_graph *g, const char *name, int n, int num_classes);
/* An input of token ids in [0, vocab) (or the pad -1), stored as floats, shape
 * [n,len,1,1]: a caption per row. Like labels, it never gets a gradient. */
int cgan_graph_input_tokens(cgan_graph *g, const char *name, int n, int len, int vocab);

int cgan_graph_tensor_count(const cgan_graph *g);
cgan_tensor *cgan_graph_tensor(cgan_graph *g, int id);
int cgan_graph_find_tensor(const cgan_graph *g, const char *name); /* -1 when absent */
/* Index range of a labels or tokens input (classes, words), 0 for other tensors. */
int cgan_graph_index_range(const cgan_graph *g, int id);

int cgan_graph_node_count(const cgan_graph *g);
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
/* Record a shape/argument error for the node being built; returns -1. The message is
 * prefixed with the node's full name. */
int cgan_graph_fail(cgan_graph *g, const cgan_node *nd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#endif
