/* Dense ops: linear, embedding, one-hot, concat, reshape, add, mul, projection and the
 * four losses, against their double-precision references (forward, backward, finite
 * differences), on odd shapes, plus the builders' shape errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/opcheck.h"
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"

/* Run the harness on g (whose last node is the op under test) and destroy g. */
static void check_op(cgan_ctx *ctx, cgan_graph *g, const char *label, double tol, double tol_fd,
                     uint64_t seed)
{
    ck_assert_msg(cgan_graph_status(g) == CGAN_OK, "%s: build failed: %s", label,
                  cgan_last_error(ctx));
    cgan_opcheck_case c = { label, 1, tol, tol, tol_fd, seed };
    cgan_opcheck_result r;
    cgan_status st = cgan_opcheck(ctx, g, &c, &r);
    ck_assert_msg(st == CGAN_OK, "%s: %s: %s", label, cgan_status_str(st), cgan_last_error(ctx));
    cgan_graph_destroy(g);
}

static cgan_graph *new_graph(cgan_ctx *ctx)
{
    cgan_graph *g = cgan_graph_new(ctx, "T");
    ck_assert_ptr_nonnull(g);
    return g;
}

/* ---- linear ------------------------------------------------------------------------ */

START_TEST(test_linear)
{
    static const struct { int n, c, h, w, out, bias; } cases[] = {
        { 1, 5, 1, 1, 3, 1 },    /* batch 1 */
        { 7, 3, 3, 3, 13, 1 },   /* a feature map read as 27 features */
        { 4, 17, 1, 1, 1, 0 },   /* one output, no bias */
        { 33, 10, 1, 1, 9, 1 },
    };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[96];
        snprintf(label, sizeof label, "linear [%d,%d,%d,%d] -> %d%s", cases[i].n, cases[i].c,
                 cases[i].h, cases[i].w, cases[i].out, cases[i].bias ? "" : " (no bias)");
        cgan_graph *g = new_graph(ctx);
        int x = cgan_graph_input(g, "x", cgan_shape4(cases[i].n, cases[i].c, cases[i].h, cases[i].w));
        int y = cgan_nn_linear(g, "fc", x, cases[i].out, cases[i].bias);
        ck_assert_int_ge(y, 0);
        const cgan_node *nd = cgan_graph_node(g, 0);
        ck_assert_int_eq(nd->n_param, cases[i].bias ? 2 : 1);
        int in = cases[i].c * cases[i].h * cases[i].w;
        ck_assert(cgan_shape_eq(nd->param_shape[0], cgan_shape4(cases[i].out, in, 1, 1)));
        ck_assert(cgan_shape_eq(nd->out_shape, cgan_shape4(cases[i].n, cases[i].out, 1, 1)));
        ck_assert_int_ge(cgan_graph_find_tensor(g, "T.fc.weight"), 0);
        ck_assert_int_eq(cgan_graph_find_tensor(g, "T.fc.bias") >= 0, cases[i].bias);
        check_op(ctx, g, label, 1e-4, 1e-5, 100 + i);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- embedding, one-hot ------------------------------------------------------------ */

START_TEST(test_embedding)
{
    static const struct { int n, k, dim; } cases[] = {
        { 1, 3, 5 }, { 9, 10, 7 }, { 64, 2, 33 }, /* many rows per class: accumulation */
    };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[96];
        snprintf(label, sizeof label, "embedding %d classes x %d, batch %d", cases[i].k,
                 cases[i].dim, cases[i].n);
        cgan_graph *g = new_graph(ctx);
        int y = cgan_graph_input_labels(g, "y", cases[i].n, cases[i].k);
        int e = cgan_nn_embedding(g, "emb", y, cases[i].k, cases[i].dim);
        ck_assert_int_ge(e, 0);
        ck_assert(cgan_shape_eq(cgan_graph_tensor(g, e)->shape, cgan_shape4(cases[i].n, cases[i].dim, 1, 1)));
        ck_assert_int_ge(cgan_graph_find_tensor(g, "T.emb.weight"), 0);
        check_op(ctx, g, label, 1e-5, 1e-5, 200 + i);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_onehot)
{
    static const struct { int n, k; } cases[] = { { 1, 1 }, { 13, 10 }, { 100, 7 } };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[96];
        snprintf(label, sizeof label, "onehot %d classes, batch %d", cases[i].k, cases[i].n);
        cgan_graph *g = new_graph(ctx);
        int y = cgan_graph_input_labels(g, "y", cases[i].n, cases[i].k);
        int o = cgan_nn_onehot(g, "oh", y, cases[i].k);
        ck_assert_int_ge(o, 0);
        ck_assert_int_eq(cgan_graph_node(g, 0)->n_param, 0);
        check_op(ctx, g, label, 1e-7, 0, 300 + i);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- concat, reshape, add, mul ------------------------------------------------------ */

START_TEST(test_concat)
{
    static const cgan_shape cases[][2] = {
        { { 3, 5, 3, 3 }, { 3, 2, 3, 3 } },   /* same plane */
        { { 2, 3, 5, 7 }, { 2, 4, 1, 1 } },   /* label planes broadcast over 5x7 */
        { { 1, 3, 1, 1 }, { 1, 2, 1, 1 } },   /* vectors, batch 1 */
        { { 1, 1, 9, 2 }, { 1, 11, 1, 1 } },  /* broadcast, batch 1 */
    };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[96], sa[32], sb[32];
        snprintf(label, sizeof label, "concat %s + %s", cgan_shape_str(cases[i][0], sa, sizeof sa),
                 cgan_shape_str(cases[i][1], sb, sizeof sb));
        cgan_graph *g = new_graph(ctx);
        int a = cgan_graph_input(g, "a", cases[i][0]), b = cgan_graph_input(g, "b", cases[i][1]);
        int o = cgan_nn_concat(g, "cat", a, b);
        ck_assert_int_ge(o, 0);
        cgan_shape want = cases[i][0];
        want.c += cases[i][1].c;
        ck_assert(cgan_shape_eq(cgan_graph_tensor(g, o)->shape, want));
        check_op(ctx, g, label, 1e-6, 1e-5, 400 + i);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_reshape_add_mul)
{
    cgan_ctx *ctx = tu_ctx();
    static const cgan_shape rs[][2] = {
        { { 3, 5, 2, 1 }, { 3, 10, 1, 1 } },
        { { 1, 7, 1, 1 }, { 1, 1, 7, 1 } },
        { { 2, 3, 5, 5 }, { 6, 25, 1, 1 } },
    };
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
        cgan_graph *g = new_graph(ctx);
        int x = cgan_graph_input(g, "x", rs[i][0]);
        ck_assert_int_ge(cgan_nn_reshape(g, "view", x, rs[i][1]), 0);
        check_op(ctx, g, "reshape", 1e-7, 1e-5, 500 + i);
    }
    static const cgan_shape es[] = { { 3, 5, 7, 2 }, { 1, 1, 1, 1 }, { 2, 3, 17, 13 } };
    for (size_t i = 0; i < sizeof es / sizeof es[0]; i++)
        for (int mul = 0; mul < 2; mul++) {
            cgan_graph *g = new_graph(ctx);
            int a = cgan_graph_input(g, "a", es[i]), b = cgan_graph_input(g, "b", es[i]);
            int o = mul ? cgan_nn_mul(g, "mul", a, b) : cgan_nn_add(g, "add", a, b);
            ck_assert_int_ge(o, 0);
            check_op(ctx, g, mul ? "mul" : "add", 1e-5, 1e-5, 510 + 2 * i + mul);
        }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- projection -------------------------------------------------------------------- */

START_TEST(test_projection)
{
    static const struct { int n, c, h, w, k; } cases[] = {
        { 5, 7, 3, 3, 4 },
        { 1, 3, 1, 1, 2 },      /* batch 1, no plane */
        { 6, 33, 4, 4, 10 },    /* 528 products per row: more than one per work-item */
        { 40, 5, 2, 3, 3 },     /* several rows per class */
    };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[96];
        snprintf(label, sizeof label, "projection [%d,%d,%d,%d], %d classes", cases[i].n, cases[i].c,
                 cases[i].h, cases[i].w, cases[i].k);
        cgan_graph *g = new_graph(ctx);
        int x = cgan_graph_input(g, "x", cgan_shape4(cases[i].n, cases[i].c, cases[i].h, cases[i].w));
        int y = cgan_graph_input_labels(g, "y", cases[i].n, cases[i].k);
        int o = cgan_nn_projection(g, "proj", x, y, cases[i].k);
        ck_assert_int_ge(o, 0);
        ck_assert(cgan_shape_eq(cgan_graph_tensor(g, o)->shape, cgan_shape4(cases[i].n, 1, 1, 1)));
        ck_assert_int_ge(cgan_graph_find_tensor(g, "T.proj.embed"), 0);
        check_op(ctx, g, label, 1e-5, 1e-5, 600 + i);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- losses ------------------------------------------------------------------------ */

enum { L_BCE, L_HINGE_D, L_HINGE_G, L_CE };

/* Add loss `kind` on x to g (target: BCE target or hinge sign; k: classes for CE). */
static int add_loss(cgan_graph *g, int kind, int x, float target, int n, int k)
{
    switch (kind) {
    case L_BCE: return cgan_nn_loss_bce(g, "loss", x, target);
    case L_HINGE_D: return cgan_nn_loss_hinge_d(g, "loss", x, target);
    case L_HINGE_G: return cgan_nn_loss_hinge_g(g, "loss", x);
    default: return cgan_nn_loss_softmax_ce(g, "loss", x, cgan_graph_input_labels(g, "y", n, k));
    }
}

START_TEST(test_losses)
{
    static const struct { int kind; float target; cgan_shape s; } cases[] = {
        { L_BCE, 1.0f, { 1, 1, 1, 1 } },
        { L_BCE, 0.0f, { 7, 1, 1, 1 } },
        { L_BCE, 1.0f, { 3, 2, 5, 5 } },      /* any shape: every element a logit */
        { L_BCE, 0.0f, { 1000, 1, 1, 1 } },
        { L_BCE, 1.0f, { 20011, 1, 1, 1 } },  /* many elements per work-item */
        { L_HINGE_D, 1.0f, { 1, 1, 1, 1 } },
        { L_HINGE_D, -1.0f, { 13, 1, 1, 1 } },
        { L_HINGE_D, 1.0f, { 1000, 1, 1, 1 } },
        { L_HINGE_G, 0.0f, { 1, 1, 1, 1 } },
        { L_HINGE_G, 0.0f, { 3, 1, 7, 1 } },
        { L_HINGE_G, 0.0f, { 1000, 1, 1, 1 } },
        { L_CE, 0.0f, { 1, 3, 1, 1 } },
        { L_CE, 0.0f, { 7, 13, 1, 1 } },
        { L_CE, 0.0f, { 1000, 10, 1, 1 } },
        { L_CE, 0.0f, { 3001, 2, 1, 1 } },
    };
    static const char *names[] = { "loss_bce", "loss_hinge_d", "loss_hinge_g", "loss_softmax_ce" };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[96], sb[48];
        snprintf(label, sizeof label, "%s %s target %g", names[cases[i].kind],
                 cgan_shape_str(cases[i].s, sb, sizeof sb), (double)cases[i].target);
        cgan_graph *g = new_graph(ctx);
        int x = cgan_graph_input(g, "x", cases[i].s);
        int o = add_loss(g, cases[i].kind, x, cases[i].target, cases[i].s.n, cases[i].s.c);
        ck_assert_int_ge(o, 0);
        ck_assert(cgan_shape_eq(cgan_graph_tensor(g, o)->shape, cgan_shape4(1, 1, 1, 1)));
        check_op(ctx, g, label, 1e-5, 1e-5, 700 + i);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The harness draws logits in (-1,1), where hinge D never reaches its flat part and BCE is
 * far from saturation. Run the element losses directly on logits in (-40,40): both hinge
 * branches, and BCE where a naive log(1+exp(x)) would overflow. */
START_TEST(test_losses_wide)
{
    const int n = 1003;
    static const struct { int kind; float target; } cases[] = {
        { L_BCE, 1.0f }, { L_BCE, 0.0f }, { L_HINGE_D, 1.0f }, { L_HINGE_D, -1.0f }, { L_HINGE_G, 0.0f },
    };
    cgan_ctx *ctx = tu_ctx();
    cgan_rng rng;
    cgan_rng_init(&rng, 5, 0);
    float *hx = tu_random(&rng, (size_t)n, -40.f, 40.f);
    for (int i = 0; i < 200; i++) hx[i] *= 0.05f; /* some near the hinge kink and BCE's middle */
    double *dx = malloc((size_t)n * sizeof *dx), *gref = malloc((size_t)n * sizeof *gref);
    float *got = malloc((size_t)n * sizeof *got);
    for (int i = 0; i < n; i++) dx[i] = hx[i];
    cl_mem x = tu_upload(ctx, hx, (size_t)n);
    float dval = -0.75f;
    cl_mem dout = tu_upload(ctx, &dval, 1);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cgan_graph *g = new_graph(ctx);
        int xi = cgan_graph_input(g, "x", cgan_shape4(n, 1, 1, 1));
        ck_assert_int_ge(add_loss(g, cases[c].kind, xi, cases[c].target, n, 1), 0);
        const cgan_node *nd = cgan_graph_node(g, 0);
        const cgan_op_def *def = cases[c].kind == L_BCE ? &cgan_op_loss_bce_def
                               : cases[c].kind == L_HINGE_D ? &cgan_op_loss_hinge_d_def
                                                            : &cgan_op_loss_hinge_g_def;
        cl_mem out = tu_poisoned(ctx, 1), din = tu_poisoned(ctx, (size_t)n);
        cgan_op_args a;
        memset(&a, 0, sizeof a);
        a.node = nd;
        a.train = 1;
        a.in[0] = x;
        a.out = out;
        TU_OK(ctx, def->forward(ctx, &a));
        a.dout = dout;
        a.din[0] = din;
        a.din_beta[0] = 0.0f;
        TU_OK(ctx, def->backward(ctx, &a));
        double rout = 0, rdout = dval;
        cgan_ref_args ra;
        memset(&ra, 0, sizeof ra);
        ra.node = nd;
        ra.in[0] = dx;
        ra.out = &rout;
        def->ref_forward(&ra);
        ra.dout = &rdout;
        ra.din[0] = gref;
        def->ref_backward(&ra);
        float fout;
        tu_download(ctx, out, &fout, 1);
        ck_assert_msg(isfinite(fout) && fabs(fout - rout) <= 1e-5 * fmax(1.0, fabs(rout)),
                      "%s case %zu: loss %g, reference %g", def->name, c, (double)fout, rout);
        tu_download(ctx, din, got, (size_t)n);
        double e = cgan_max_rel_err(got, gref, (size_t)n);
        ck_assert_msg(e <= 1e-5, "%s case %zu: gradient error %g", def->name, c, e);
        if (cases[c].kind == L_HINGE_D) { /* both branches were taken */
            int zero = 0, nonzero = 0;
            for (int i = 0; i < n; i++) { if (gref[i] == 0) zero++; else nonzero++; }
            ck_assert(zero > 100 && nonzero > 100);
        }
        cgan_buffer_release(out);
        cgan_buffer_release(din);
        cgan_graph_destroy(g);
    }
    cgan_buffer_release(x);
    cgan_buffer_release(dout);
    free(hx); free(dx); free(gref); free(got);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- shape errors ------------------------------------------------------------------ */

/* Each builds one bad node named "bad" in a graph "T". */
static int bad_concat_batch(cgan_graph *g)
{
    return cgan_nn_concat(g, "bad", cgan_graph_input(g, "a", cgan_shape4(4, 2, 3, 3)),
                          cgan_graph_input(g, "b", cgan_shape4(3, 2, 3, 3)));
}
static int bad_concat_plane(cgan_graph *g)
{
    return cgan_nn_concat(g, "bad", cgan_graph_input(g, "a", cgan_shape4(2, 2, 4, 4)),
                          cgan_graph_input(g, "b", cgan_shape4(2, 2, 2, 2)));
}
static int bad_concat_plane_a(cgan_graph *g)
{
    return cgan_nn_concat(g, "bad", cgan_graph_input(g, "a", cgan_shape4(2, 2, 1, 1)),
                          cgan_graph_input(g, "b", cgan_shape4(2, 2, 3, 3)));
}
static int bad_reshape(cgan_graph *g)
{
    return cgan_nn_reshape(g, "bad", cgan_graph_input(g, "x", cgan_shape4(2, 3, 4, 5)),
                           cgan_shape4(2, 3, 4, 4));
}
static int bad_add(cgan_graph *g)
{
    return cgan_nn_add(g, "bad", cgan_graph_input(g, "a", cgan_shape4(2, 3, 1, 1)),
                       cgan_graph_input(g, "b", cgan_shape4(2, 4, 1, 1)));
}
static int bad_mul(cgan_graph *g)
{
    return cgan_nn_mul(g, "bad", cgan_graph_input(g, "a", cgan_shape4(2, 3, 5, 5)),
                       cgan_graph_input(g, "b", cgan_shape4(3, 3, 5, 5)));
}
static int bad_linear(cgan_graph *g)
{
    return cgan_nn_linear(g, "bad", cgan_graph_input(g, "x", cgan_shape4(2, 3, 1, 1)), 0, 1);
}
static int bad_embedding_range(cgan_graph *g)
{
    return cgan_nn_embedding(g, "bad", cgan_graph_input_labels(g, "y", 4, 10), 5, 8);
}
static int bad_embedding_shape(cgan_graph *g)
{
    return cgan_nn_embedding(g, "bad", cgan_graph_input(g, "y", cgan_shape4(4, 3, 1, 1)), 5, 8);
}
static int bad_embedding_dim(cgan_graph *g)
{
    return cgan_nn_embedding(g, "bad", cgan_graph_input_labels(g, "y", 4, 5), 5, 0);
}
static int bad_onehot(cgan_graph *g)
{
    return cgan_nn_onehot(g, "bad", cgan_graph_input(g, "y", cgan_shape4(4, 1, 2, 1)), 3);
}
static int bad_projection(cgan_graph *g)
{
    return cgan_nn_projection(g, "bad", cgan_graph_input(g, "x", cgan_shape4(4, 8, 2, 2)),
                              cgan_graph_input_labels(g, "y", 3, 5), 5);
}
static int bad_ce_logits(cgan_graph *g)
{
    return cgan_nn_loss_softmax_ce(g, "bad", cgan_graph_input(g, "x", cgan_shape4(4, 10, 2, 2)),
                                   cgan_graph_input_labels(g, "y", 4, 10));
}
static int bad_ce_batch(cgan_graph *g)
{
    return cgan_nn_loss_softmax_ce(g, "bad", cgan_graph_input(g, "x", cgan_shape4(4, 10, 1, 1)),
                                   cgan_graph_input_labels(g, "y", 3, 10));
}
static int bad_ce_classes(cgan_graph *g)
{
    return cgan_nn_loss_softmax_ce(g, "bad", cgan_graph_input(g, "x", cgan_shape4(4, 10, 1, 1)),
                                   cgan_graph_input_labels(g, "y", 4, 12));
}
static int bad_hinge_sign(cgan_graph *g)
{
    return cgan_nn_loss_hinge_d(g, "bad", cgan_graph_input(g, "x", cgan_shape4(4, 1, 1, 1)), 0.5f);
}

static const struct {
    int (*build)(cgan_graph *g);
    const char *expect; /* a fragment of the message besides the node name */
} bad_cases[] = {
    { bad_concat_batch, "batch 4 vs 3" },
    { bad_concat_plane, "[2,2,2,2]" },
    { bad_concat_plane_a, "[2,2,3,3]" },
    { bad_reshape, "120 elements" },
    { bad_add, "[2,4,1,1]" },
    { bad_mul, "[3,3,5,5]" },
    { bad_linear, "0 output features" },
    { bad_embedding_range, "10 classes" },
    { bad_embedding_shape, "[4,3,1,1]" },
    { bad_embedding_dim, "dimension 0" },
    { bad_onehot, "[4,1,2,1]" },
    { bad_projection, "batch 4 vs 3" },
    { bad_ce_logits, "[4,10,2,2]" },
    { bad_ce_batch, "batch 4 logits vs 3" },
    { bad_ce_classes, "12 classes" },
    { bad_hinge_sign, "sign 0.5" },
};

START_TEST(test_bad_shapes)
{
    /* builders do not touch the device, but the error message lives on a context */
    cgan_ctx *ctx = cgan_ctx_new();
    ck_assert_ptr_nonnull(ctx);
    cgan_graph *g = new_graph(ctx);
    int out = bad_cases[_i].build(g);
    ck_assert_int_eq(out, -1);
    ck_assert_int_ne(cgan_graph_status(g), CGAN_OK);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "T.bad") != NULL, "case %d: message does not name the node: %s", _i, msg);
    ck_assert_msg(strstr(msg, bad_cases[_i].expect) != NULL, "case %d: message lacks '%s': %s", _i,
                  bad_cases[_i].expect, msg);
    /* a builder given the failed output returns -1 quietly and keeps the first message */
    ck_assert_int_eq(cgan_nn_reshape(g, "next", out, cgan_shape4(1, 1, 1, 1)), -1);
    ck_assert_str_eq(cgan_last_error(ctx), msg);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- the selftest entries ----------------------------------------------------------- */

START_TEST(test_selfchecks)
{
    static const struct { const char *name; cgan_check_fn fn; } checks[] = {
        { "linear", cgan_selfcheck_linear }, { "embedding", cgan_selfcheck_embedding },
        { "onehot", cgan_selfcheck_onehot }, { "concat", cgan_selfcheck_concat },
        { "reshape", cgan_selfcheck_reshape }, { "add", cgan_selfcheck_add },
        { "mul", cgan_selfcheck_mul }, { "projection", cgan_selfcheck_projection },
        { "loss_bce", cgan_selfcheck_loss_bce }, { "loss_hinge_d", cgan_selfcheck_loss_hinge_d },
        { "loss_hinge_g", cgan_selfcheck_loss_hinge_g },
        { "loss_softmax_ce", cgan_selfcheck_loss_softmax_ce },
    };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        cgan_check_result r = { -1, -1 };
        cgan_status st = checks[i].fn(ctx, &r);
        ck_assert_msg(st == CGAN_OK, "selfcheck %s: %s", checks[i].name, cgan_last_error(ctx));
        ck_assert_msg(r.tol > 0 && r.max_err >= 0 && r.max_err <= r.tol, "selfcheck %s: %g vs %g",
                      checks[i].name, r.max_err, r.tol);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("dense");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_linear);
    tcase_add_test(tc, test_embedding);
    tcase_add_test(tc, test_onehot);
    tcase_add_test(tc, test_concat);
    tcase_add_test(tc, test_reshape_add_mul);
    tcase_add_test(tc, test_projection);
    suite_add_tcase(s, tc);
    tc = tcase_create("losses");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_losses);
    tcase_add_test(tc, test_losses_wide);
    suite_add_tcase(s, tc);
    tc = tcase_create("builders");
    tcase_add_loop_test(tc, test_bad_shapes, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("selftest");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_selfchecks);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
