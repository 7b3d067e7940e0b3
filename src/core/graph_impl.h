/* The graph's representation, shared by graph.c, exec.c and reference.c only. */
#ifndef CGAN_GRAPH_IMPL_H
#define CGAN_GRAPH_IMPL_H
#include "core/graph.h"

struct cgan_plan;

struct cgan_graph {
    cgan_ctx *ctx;
    char prefix[32];
    cgan_gtensor *t;
    int *index_range;       /* per tensor: class count for label inputs, else 0 */
    int nt, capt;
    cgan_node *nodes;
    int nn, capn;
    cgan_status status;
    cgan_node building;
    int is_building;
    struct cgan_plan *plan; /* owned by exec.c */
    cgan_grad_hook grad_hook; /* see cgan_graph_set_grad_hook (exec.h) */
    void *grad_hook_user;
    const struct cgan_bn_sync *bn_sync; /* see cgan_graph_set_bn_sync (exec.h) */
};

void cgan_plan_free(struct cgan_plan *p);
uint64_t cgan_plan_seed(const struct cgan_plan *p);
#endif
