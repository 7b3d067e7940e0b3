/* Mean of embeddings: token ids [N,L,1,1] (floats; ids outside [0, vocab), such as the pad
 * -1, are ignored) -> the mean of the rows of a [vocab,dim] table over each row's tokens,
 * [N,dim,1,1]. A row of padding only gives zeros. The gradient goes into the table only;
 * token ids never get one. Kernels: cl/embed_mean.cl. */
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"

int cgan_nn_embed_mean(cgan_graph *g, const char *name, int tokens, int vocab, int dim)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_EMBED_MEAN, name, &tokens, 1);
    if (!nd) return -1;
    cgan_shape s = nd->in_shape[0];
    char buf[64];
    if (vocab < 1) return cgan_graph_fail(g, nd, "embed_mean: vocabulary of %d words (need >= 1)", vocab);
    if (dim < 1) return cgan_graph_fail(g, nd, "embed_mean: dimension %d (need >= 1)", dim);
    if (s.h != 1 || s.w != 1 || !cgan_dense_fits_int(s))
        return cgan_graph_fail(g, nd, "embed_mean: tokens must be [N,L,1,1], got %s",
                               cgan_shape_str(s, buf, sizeof buf));
    int range = cgan_graph_index_range(g, tokens);
    if (range > vocab)
        return cgan_graph_fail(g, nd, "embed_mean: token ids range over %d words, the table has %d", range,
                               vocab);
    if ((size_t)vocab * dim > 0x7fffffffu || (size_t)s.n * dim > 0x7fffffffu)
        return cgan_graph_fail(g, nd, "embed_mean: %d x %d table too large", vocab, dim);
    nd->a.num_classes = vocab;
    if (cgan_graph_add_param(g, nd, "weight", cgan_shape4(vocab, dim, 1, 1), CGAN_INIT_NORMAL, 0.0f,
                             1.0f) < 0)
        return -1;
    return cgan_graph_end(g, nd, cgan_shape4(s.n, dim, 1, 1));
}

/* Sizes of a node: rows, tokens per row, embedding size, vocabulary. */
static void dims(const cgan_node *nd, int *rows, int *len, int *dim, int *vocab)
{
    *rows = nd->in_shape[0].n;
    *len = nd->in_shape[0].c;
    *dim = nd->out_shape.c;
    *vocab = nd->a.num_classes;
}

static cgan_status embed_mean_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    int rows, len, dim, vocab;
    dims(a->node, &rows, &len, &dim, &vocab);
    cgan_kernel *kr;
    CGAN_TRY(cgan_kernel_get(ctx, "embed_mean", NULL, "embed_mean_fwd", &kr));
    cgan_range r = cgan_range_1d((size_t)rows * dim);
    return cgan_launch(ctx, kr, &r, CGAN_KINT(rows * dim), CGAN_KINT(len), CGAN_KINT(dim), CGAN_KINT(vocab),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->param[0]), CGAN_KMEM(a->out));
}

static cgan_status embed_mean_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    if (!a->dparam[0]) return CGAN_OK; /* token ids have no gradient */
    int rows, len, dim, vocab;
    dims(a->node, &rows, &len, &dim, &vocab);
    cgan_kernel *kr;
    CGAN_TRY(cgan_kernel_get(ctx, "embed_mean", NULL, "embed_mean_bwd", &kr));
    cgan_range r = cgan_range_1d((size_t)vocab * dim);
    return cgan_launch(ctx, kr, &r, CGAN_KINT(rows), CGAN_KINT(len), CGAN_KINT(dim), CGAN_KINT(vocab),
                       CGAN_KMEM(a->in[0]), CGAN_KMEM(a->dout), CGAN_KMEM(a->dparam[0]));
}

/* Words (tokens that are not padding) in row r. */
static int row_words(const double *tokens, int r, int len, int vocab)
{
    int count = 0;
    for (int l = 0; l < len; l++) count += cgan_dense_class(tokens[(size_t)r * len + l], vocab) >= 0;
    return count;
}

static void embed_mean_ref_forward(const cgan_ref_args *a)
{
    int rows, len, dim, vocab;
    dims(a->node, &rows, &len, &dim, &vocab);
    for (int r = 0; r < rows; r++) {
        int count = row_words(a->in[0], r, len, vocab);
        double *y = a->out + (size_t)r * dim;
        for (int d = 0; d < dim; d++) y[d] = 0.0;
        for (int l = 0; l < len; l++) {
            int t = cgan_dense_class(a->in[0][(size_t)r * len + l], vocab);
            if (t < 0) continue;
            for (int d = 0; d < dim; d++) y[d] += a->param[0][(size_t)t * dim + d] / count;
        }
    }
}

static void embed_mean_ref_backward(const cgan_ref_args *a)
{
    if (!a->dparam[0]) return;
    int rows, len, dim, vocab;
    dims(a->node, &rows, &len, &dim, &vocab);
    for (int r = 0; r < rows; r++) {
        int count = row_words(a->in[0], r, len, vocab);
        for (int l = 0; l < len; l++) {
            int t = cgan_dense_class(a->in[0][(size_t)r * len + l], vocab);
            if (t < 0) continue;
            for (int d = 0; d < dim; d++)
                a->dparam[0][(size_t)t * dim + d] += a->dout[(size_t)r * dim + d] / count;
        }
    }
}

const cgan_op_def cgan_op_embed_mean_def = {
    "embed_mean", CGAN_BWD_NEEDS_INPUT, embed_mean_forward, embed_mean_backward,
    embed_mean_ref_forward, embed_mean_ref_backward
};

cgan_status cgan_selfcheck_embed_mean(cgan_ctx *ctx, cgan_check_result *res)
{
    cgan_graph *g = cgan_graph_new(ctx, "check");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "embed_mean self-check: out of memory");
    int t = cgan_graph_input_tokens(g, "tokens", 7, 5, 11);
    cgan_nn_embed_mean(g, "embed", t, 11, 9);
    const cgan_opcheck_case c = { "embed_mean 11x9, 7 rows of 5 tokens", 1, 1e-5, 1e-5, 1e-5, 14 };
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
