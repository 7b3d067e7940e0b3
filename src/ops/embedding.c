/* Embedding (labels -> rows of a [K,dim] table) and one-hot encoding (labels -> [N,K,1,1]).
 * Labels are floats holding class indices; they never get a gradient. Kernels: cl/embedding.cl. */
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"

/* Shared shape checks of a labels input. Returns 0, or -1 with the error recorded. */
static int check_labels(cgan_graph *g, cgan_node *nd, const char *op, int labels, int k)
{
    cgan_shape s = nd->in_shape[0];
    char buf[64];
    if (k < 1) return cgan_graph_fail(g, nd, "%s: %d classes (need >= 1)", op, k);
    if (s.c != 1 || s.h != 1 || s.w != 1 || s.n < 1)
        return cgan_graph_fail(g, nd, "%s: labels must be [N,1,1,1], got %s", op,
                               cgan_shape_str(s, buf, sizeof buf));
    int range = cgan_graph_index_range(g, labels);
    if (range > k)
        return cgan_graph_fail(g, nd, "%s: labels range over %d classes, table has %d", op, range, k);
    return 0;
}

int cgan_nn_embedding(cgan_graph *g, const char *name, int labels, int num_classes, int dim)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_EMBEDDING, name, &labels, 1);
    if (!nd) return -1;
    if (check_labels(g, nd, "embedding", labels, num_classes) < 0) return -1;
    if (dim < 1) return cgan_graph_fail(g, nd, "embedding: dimension %d (need >= 1)", dim);
    if ((size_t)num_classes * dim > 0x7fffffffu || (size_t)nd->in_shape[0].n * dim > 0x7fffffffu)
        return cgan_graph_fail(g, nd, "embedding: %d x %d table too large", num_classes, dim);
    nd->a.num_classes = num_classes;
    if (cgan_graph_add_param(g, nd, "weight", cgan_shape4(num_classes, dim, 1, 1),
                             CGAN_INIT_NORMAL, 0.0f, 1.0f) < 0)
        return -1;
    return cgan_graph_end(g, nd, cgan_shape4(nd->in_shape[0].n, dim, 1, 1));
}

int cgan_nn_onehot(cgan_graph *g, const char *name, int labels, int num_classes)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_ONEHOT, name, &labels, 1);
    if (!nd) return -1;
    if (check_labels(g, nd, "onehot", labels, num_classes) < 0) return -1;
    if ((size_t)nd->in_shape[0].n * num_classes > 0x7fffffffu)
        return cgan_graph_fail(g, nd, "onehot: %d x %d output too large", nd->in_shape[0].n,
                               num_classes);
    nd->a.num_classes = num_classes;
    return cgan_graph_end(g, nd, cgan_shape4(nd->in_shape[0].n, num_classes, 1, 1));
}

/* ---- embedding ------------------------------------------------------------------- */

static cgan_status embedding_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    int rows = nd->in_shape[0].n, dim = nd->out_shape.c, k = nd->a.num_classes;
    cgan_kernel *kr;
    CGAN_TRY(cgan_kernel_get(ctx, "embedding", NULL, "embedding_fwd", &kr));
    cgan_range r = cgan_range_1d((size_t)rows * dim);
    return cgan_launch(ctx, kr, &r, CGAN_KINT(rows * dim), CGAN_KINT(dim), CGAN_KINT(k),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->param[0]), CGAN_KMEM(a->out));
}

static cgan_status embedding_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->dparam[0]) return CGAN_OK; /* labels have no gradient */
    int rows = nd->in_shape[0].n, dim = nd->out_shape.c, k = nd->a.num_classes;
    cgan_kernel *kr;
    CGAN_TRY(cgan_kernel_get(ctx, "embedding", NULL, "embedding_bwd", &kr));
    cgan_range r = cgan_range_1d((size_t)k * dim);
    return cgan_launch(ctx, kr, &r, CGAN_KINT(rows), CGAN_KINT(dim), CGAN_KINT(k),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->dout), CGAN_KMEM(a->dparam[0]));
}

static void embedding_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    int rows = nd->in_shape[0].n, dim = nd->out_shape.c, k = nd->a.num_classes;
    for (int r = 0; r < rows; r++) {
        int c = cgan_dense_class(a->in[0][r], k);
        for (int d = 0; d < dim; d++)
            a->out[(size_t)r * dim + d] = c >= 0 ? a->param[0][(size_t)c * dim + d] : 0.0;
    }
}

static void embedding_ref_backward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    if (!a->dparam[0]) return;
    int rows = nd->in_shape[0].n, dim = nd->out_shape.c, k = nd->a.num_classes;
    for (int r = 0; r < rows; r++) {
        int c = cgan_dense_class(a->in[0][r], k);
        if (c < 0) continue;
        for (int d = 0; d < dim; d++)
            a->dparam[0][(size_t)c * dim + d] += a->dout[(size_t)r * dim + d];
    }
}

const cgan_op_def cgan_op_embedding_def = {
    "embedding", CGAN_BWD_NEEDS_INPUT, embedding_forward, embedding_backward,
    embedding_ref_forward, embedding_ref_backward
};

/* ---- one-hot ----------------------------------------------------------------------- */

static cgan_status onehot_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    int rows = nd->in_shape[0].n, k = nd->a.num_classes;
    cgan_kernel *kr;
    CGAN_TRY(cgan_kernel_get(ctx, "embedding", NULL, "onehot_fwd", &kr));
    cgan_range r = cgan_range_1d((size_t)rows * k);
    return cgan_launch(ctx, kr, &r, CGAN_KINT(rows * k), CGAN_KINT(k), CGAN_KMEM(a->in[0]),
                       CGAN_KMEM(a->out));
}

/* Labels are constants of the graph: nothing flows back. */
static cgan_status onehot_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    (void)ctx;
    (void)a;
    return CGAN_OK;
}

static void onehot_ref_forward(const cgan_ref_args *a)
{
    const cgan_node *nd = a->node;
    int rows = nd->in_shape[0].n, k = nd->a.num_classes;
    for (int r = 0; r < rows; r++) {
        int c = cgan_dense_class(a->in[0][r], k);
        for (int j = 0; j < k; j++) a->out[(size_t)r * k + j] = j == c ? 1.0 : 0.0;
    }
}

static void onehot_ref_backward(const cgan_ref_args *a)
{
    (void)a;
}

const cgan_op_def cgan_op_onehot_def = {
    "onehot", 0, onehot_forward, onehot_backward, onehot_ref_forward, onehot_ref_backward
};

/* ---- self-checks ------------------------------------------------------------------- */

cgan_status cgan_selfcheck_embedding(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "embedding self-check: out of memory");
    int y = cgan_graph_input_labels(g, "y", 9, 5);
    cgan_nn_embedding(g, "emb", y, 5, 7);
    const cgan_opcheck_case c = { "embedding 5x7, batch 9", 1, 1e-5, 1e-5, 1e-5, 12 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}

cgan_status cgan_selfcheck_onehot(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "onehot self-check: out of memory");
    int y = cgan_graph_input_labels(g, "y", 7, 3);
    cgan_nn_onehot(g, "onehot", y, 3);
    const cgan_opcheck_case c = { "onehot 3 classes, batch 7", 1, 1e-6, 1e-6, 0, 13 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
