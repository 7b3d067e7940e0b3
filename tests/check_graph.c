/* Graph, executor and models: bad graphs, memory planning, gradient accumulation,
 * finite differences through a composed graph, whole seed32/dcgan64 models against the
 * host reference executor, and G->D composition. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/exec.h"
#include "core/reference.h"
#include "core/selftest.h"
#include "ops/builders.h"
#include "gan/models.h"

/* Random inputs (labels: random classes) written to the device and the reference. */
static void feed_inputs(cgan_graph *g, cgan_refexec *r, cgan_rng *rng)
{
    for (int i = 0; i < cgan_graph_tensor_count(g); i++) {
        cgan_gtensor *t = cgan_graph_tensor(g, i);
        if (t->kind != CGAN_TENSOR_INPUT || t->external) continue;
        size_t n = cgan_numel(t->shape);
        float *h = malloc(n * sizeof *h);
        int range = cgan_graph_index_range(g, i);
        for (size_t j = 0; j < n; j++)
            h[j] = range ? (float)cgan_rng_below(rng, (uint32_t)range) : cgan_rng_uniform(rng) * 2 - 1;
        TU_OK(cgan_graph_ctx(g), cgan_graph_write(g, i, h));
        double *d = cgan_refexec_value(r, i);
        for (size_t j = 0; j < n; j++) d[j] = h[j];
        free(h);
    }
}

static double compare(cgan_graph *g, int id, const double *ref, int grad)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    size_t n = cgan_numel(t->shape);
    float *h = malloc(n * sizeof *h);
    if (grad) TU_OK(cgan_graph_ctx(g), cgan_graph_read_grad(g, id, h));
    else TU_OK(cgan_graph_ctx(g), cgan_graph_read(g, id, h));
    double e = cgan_max_rel_err(h, ref, n);
    free(h);
    return e;
}

/* Every parameter gradient and every state tensor of g against the reference. */
static void compare_all(cgan_graph *g, cgan_refexec *r, double tol_state, double tol_grad, int grads)
{
    for (int i = 0; i < cgan_graph_tensor_count(g); i++) {
        cgan_gtensor *t = cgan_graph_tensor(g, i);
        if (t->kind == CGAN_TENSOR_STATE) {
            double e = compare(g, i, cgan_refexec_value(r, i), 0);
            ck_assert_msg(e <= tol_state, "%s: state error %g", t->name, e);
        } else if (grads && t->kind == CGAN_TENSOR_PARAM) {
            double e = compare(g, i, cgan_refexec_grad(r, i), 1);
            ck_assert_msg(e <= tol_grad, "%s: gradient error %g", t->name, e);
        }
    }
}

START_TEST(test_bad_graph)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "D");
    int x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 16, 16));
    int y = cgan_nn_conv2d(g, "conv1", x, 8, 4, 2, 1, 0);      /* 8x8 */
    int z = cgan_graph_input(g, "other", cgan_shape4(2, 5, 9, 9));
    int bad = cgan_nn_add(g, "sum", y, z);                       /* [2,8,8,8] + [2,5,9,9] */
    ck_assert_int_eq(bad, -1);
    int after = cgan_nn_activation(g, "act", bad, CGAN_ACT_RELU, 0); /* chains quietly */
    ck_assert_int_eq(after, -1);
    ck_assert_int_ne(cgan_graph_status(g), CGAN_OK);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "D.sum") != NULL, "message does not name the node: %s", msg);
    ck_assert_int_ne(cgan_graph_plan(g, CGAN_MODE_EVAL, 1), CGAN_OK);
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "G");
    x = cgan_graph_input(g, "x", cgan_shape4(1, 3, 2, 2));
    ck_assert_int_eq(cgan_nn_conv2d(g, "conv", x, 4, 4, 1, 0, 0), -1);
    ck_assert_msg(strstr(cgan_last_error(ctx), "G.conv") != NULL, "%s", cgan_last_error(ctx));
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "G");
    x = cgan_graph_input(g, "x", cgan_shape4(1, 3, 8, 8));
    cgan_nn_activation(g, "a", x, CGAN_ACT_RELU, 0);
    ck_assert_int_eq(cgan_nn_activation(g, "a", x, CGAN_ACT_RELU, 0), -1);
    ck_assert_msg(strstr(cgan_last_error(ctx), "G.a") != NULL, "%s", cgan_last_error(ctx));
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* conv -> bn -> lrelu -> deconv -> tanh -> loss: device backward against the reference
 * executor, the reference against central differences, and a coarse float32 device check. */
START_TEST(test_composed_fd)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "T");
    int x = cgan_graph_input(g, "x", cgan_shape4(3, 2, 9, 7));
    int h = cgan_nn_conv2d(g, "conv", x, 5, 3, 2, 1, 0); /* a bias before BN has no gradient */
    h = cgan_nn_batchnorm(g, "bn", h);
    h = cgan_nn_activation(g, "lrelu", h, CGAN_ACT_LRELU, 0.2f);
    h = cgan_nn_deconv2d(g, "deconv", h, 2, 3, 2, 1, 1);
    h = cgan_nn_activation(g, "tanh", h, CGAN_ACT_TANH, 0);
    int loss = cgan_nn_loss_bce(g, "loss", h, 1.0f);
    TU_OK(ctx, cgan_graph_status(g));
    TU_OK(ctx, cgan_graph_requires_grad(g, x));
    TU_OK(ctx, cgan_graph_plan(g, CGAN_MODE_TRAIN, 5));
    cgan_refexec *r;
    TU_OK(ctx, cgan_refexec_create(g, &r));
    cgan_rng rng;
    cgan_rng_init(&rng, 11, 0);
    feed_inputs(g, r, &rng);
    TU_OK(ctx, cgan_graph_forward(g, 1, 0));
    TU_OK(ctx, cgan_graph_backward(g, loss, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS));
    cgan_refexec_forward(r, 1, 0);
    cgan_refexec_backward(r, loss, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS);
    ck_assert(compare(g, loss, cgan_refexec_value(r, loss), 0) < 1e-5);
    ck_assert(compare(g, x, cgan_refexec_grad(r, x), 1) < 1e-4);
    compare_all(g, r, 1e-5, 1e-4, 1);

    /* the reference gradient against central differences of the reference loss */
    const double step = 1e-6;
    int targets[] = { x, cgan_graph_find_tensor(g, "T.conv.weight"), cgan_graph_find_tensor(g, "T.bn.weight"),
                      cgan_graph_find_tensor(g, "T.deconv.weight"), cgan_graph_find_tensor(g, "T.deconv.bias") };
    for (int k = 0; k < 5; k++) {
        int id = targets[k];
        ck_assert_int_ge(id, 0);
        size_t n = cgan_numel(cgan_graph_tensor(g, id)->shape);
        double *v = cgan_refexec_value(r, id), *gr = cgan_refexec_grad(r, id);
        double scale = 1e-6, worst = 0;
        for (size_t j = 0; j < n; j++) scale = fmax(scale, fabs(gr[j]));
        for (size_t s = 0; s < 12; s++) {
            size_t j = cgan_rng_below(&rng, (uint32_t)n);
            double keep = v[j];
            v[j] = keep + step;
            cgan_refexec_forward(r, 1, 0);
            double lp = cgan_refexec_value(r, loss)[0];
            v[j] = keep - step;
            cgan_refexec_forward(r, 1, 0);
            double lm = cgan_refexec_value(r, loss)[0];
            v[j] = keep;
            worst = fmax(worst, fabs((lp - lm) / (2 * step) - gr[j]) / scale);
        }
        ck_assert_msg(worst < 1e-5, "%s: finite-difference error %g", cgan_graph_tensor(g, id)->name, worst);
    }

    /* float32 on the device: loss differences for a few input elements */
    size_t n = cgan_numel(cgan_graph_tensor(g, x)->shape);
    float *hx = malloc(n * sizeof *hx), *gx = malloc(n * sizeof *gx);
    TU_OK(ctx, cgan_graph_read(g, x, hx));
    TU_OK(ctx, cgan_graph_read_grad(g, x, gx));
    double gscale = 0;
    for (size_t j = 0; j < n; j++) gscale = fmax(gscale, fabs(gx[j]));
    for (int s = 0; s < 4; s++) {
        size_t j = cgan_rng_below(&rng, (uint32_t)n);
        float keep = hx[j], lp, lm;
        hx[j] = keep + 1e-2f;
        TU_OK(ctx, cgan_graph_write(g, x, hx));
        TU_OK(ctx, cgan_graph_forward(g, 1, 0));
        TU_OK(ctx, cgan_graph_read(g, loss, &lp));
        hx[j] = keep - 1e-2f;
        TU_OK(ctx, cgan_graph_write(g, x, hx));
        TU_OK(ctx, cgan_graph_forward(g, 1, 0));
        TU_OK(ctx, cgan_graph_read(g, loss, &lm));
        hx[j] = keep;
        double fd = (lp - lm) / 2e-2;
        ck_assert_msg(fabs(fd - gx[j]) <= 0.05 * gscale, "device FD %g vs gradient %g", fd, gx[j]);
    }
    free(hx);
    free(gx);
    cgan_refexec_destroy(r);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A tensor read by two nodes gets the sum of both gradients. */
START_TEST(test_grad_accumulation)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "T");
    int x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 5, 5));
    int a = cgan_nn_conv2d(g, "conv", x, 3, 3, 1, 1, 0);
    int b = cgan_nn_activation(g, "act", a, CGAN_ACT_SIGMOID, 0);
    int c = cgan_nn_mul(g, "mul", a, b);   /* a used twice */
    int d = cgan_nn_add(g, "add", c, x);   /* x used twice */
    int loss = cgan_nn_loss_hinge_g(g, "loss", d);
    TU_OK(ctx, cgan_graph_status(g));
    TU_OK(ctx, cgan_graph_requires_grad(g, x));
    TU_OK(ctx, cgan_graph_plan(g, CGAN_MODE_TRAIN, 3));
    cgan_refexec *r;
    TU_OK(ctx, cgan_refexec_create(g, &r));
    cgan_rng rng;
    cgan_rng_init(&rng, 12, 0);
    feed_inputs(g, r, &rng);
    for (int rep = 0; rep < 2; rep++) { /* twice: parameter gradients accumulate */
        TU_OK(ctx, cgan_graph_forward(g, 1, 0));
        TU_OK(ctx, cgan_graph_backward(g, loss, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS));
        cgan_refexec_forward(r, 1, 0);
        cgan_refexec_backward(r, loss, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS);
    }
    ck_assert(compare(g, x, cgan_refexec_grad(r, x), 1) < 1e-4);
    compare_all(g, r, 1e-5, 1e-4, 1);
    TU_OK(ctx, cgan_graph_zero_grad(g));
    int w = cgan_graph_find_tensor(g, "T.conv.weight");
    float gw[81];
    TU_OK(ctx, cgan_graph_read_grad(g, w, gw));
    for (int i = 0; i < 81; i++) ck_assert_float_eq(gw[i], 0.f);
    cgan_refexec_destroy(r);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

static void check_model(int size, cgan_cond cond, int nc, int K, int batch, int ngf, int diffaug)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_model_cfg cfg = cgan_model_defaults();
    cfg.size = size; cfg.cond = cond; cfg.nc = nc; cfg.num_classes = K; cfg.batch = batch;
    cfg.ngf = cfg.ndf = ngf;
    cfg.diffaug = diffaug;
    cgan_generator G;
    cgan_discriminator D;
    TU_OK(ctx, cgan_build_generator(ctx, &cfg, &G));
    TU_OK(ctx, cgan_build_discriminator(ctx, &cfg, &D));
    TU_OK(ctx, cgan_graph_requires_grad(D.g, D.x));
    TU_OK(ctx, cgan_graph_plan(G.g, CGAN_MODE_TRAIN, 21));
    TU_OK(ctx, cgan_graph_plan(D.g, CGAN_MODE_TRAIN, 22));
    cgan_refexec *rg, *rd;
    TU_OK(ctx, cgan_refexec_create(G.g, &rg));
    TU_OK(ctx, cgan_refexec_create(D.g, &rd));
    cgan_rng rng;
    cgan_rng_init(&rng, 13, 0);
    feed_inputs(G.g, rg, &rng);
    feed_inputs(D.g, rd, &rng);
    int S = size;
    /* G forward; D forward on G's output; D backward to its input; G backward from there */
    TU_OK(ctx, cgan_graph_forward(G.g, 1, 0));
    cgan_refexec_forward(rg, 1, 0);
    ck_assert(compare(G.g, G.out, cgan_refexec_value(rg, G.out), 0) < 1e-4);
    TU_OK(ctx, cgan_graph_bind(D.g, D.x, cgan_graph_value(G.g, G.out), cgan_graph_grad(G.g, G.out)));
    memcpy(cgan_refexec_value(rd, D.x), cgan_refexec_value(rg, G.out), (size_t)batch * nc * S * S * sizeof(double));
    if (D.labels >= 0) {
        TU_OK(ctx, cgan_buffer_copy(ctx, cgan_graph_value(G.g, G.labels), 0, cgan_graph_value(D.g, D.labels), 0, batch * sizeof(float)));
        memcpy(cgan_refexec_value(rd, D.labels), cgan_refexec_value(rg, G.labels), batch * sizeof(double));
    }
    TU_OK(ctx, cgan_graph_forward(D.g, 1, 0));
    cgan_refexec_forward(rd, 1, 0);
    ck_assert(compare(D.g, D.logit, cgan_refexec_value(rd, D.logit), 0) < 1e-4);
    TU_OK(ctx, cgan_graph_backward(D.g, D.logit, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS));
    cgan_refexec_backward(rd, D.logit, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS);
    compare_all(D.g, rd, 1e-4, 2e-4, 1);
    memcpy(cgan_refexec_grad(rg, G.out), cgan_refexec_grad(rd, D.x), (size_t)batch * nc * S * S * sizeof(double));
    ck_assert(compare(G.g, G.out, cgan_refexec_grad(rd, D.x), 1) < 2e-4);
    TU_OK(ctx, cgan_graph_backward(G.g, -1, CGAN_GRAD_PARAMS));
    cgan_refexec_backward(rg, -1, CGAN_GRAD_PARAMS);
    compare_all(G.g, rg, 1e-4, 5e-4, 1);
    /* eval mode reuses more: its plan is smaller */
    cgan_generator Ge;
    TU_OK(ctx, cgan_build_generator(ctx, &cfg, &Ge));
    TU_OK(ctx, cgan_graph_plan(Ge.g, CGAN_MODE_EVAL, 21));
    ck_assert_uint_lt(cgan_graph_activation_bytes(Ge.g), cgan_graph_activation_bytes(G.g));
    cgan_refexec_destroy(rg);
    cgan_refexec_destroy(rd);
    cgan_graph_destroy(Ge.g);
    cgan_graph_destroy(G.g);
    cgan_graph_destroy(D.g);
    cgan_ctx_destroy(ctx);
}

START_TEST(test_seed32_concat) { check_model(32, CGAN_COND_CONCAT, 1, 10, 3, 64, 0); }
END_TEST
START_TEST(test_seed32_proj) { check_model(32, CGAN_COND_PROJ, 3, 4, 2, 16, 1); }
END_TEST
START_TEST(test_dcgan64) { check_model(64, CGAN_COND_NONE, 3, 0, 2, 64, 0); }
END_TEST
START_TEST(test_dcgan16_proj) { check_model(16, CGAN_COND_PROJ, 3, 3, 2, 8, 1); }
END_TEST

/* Every op in the table has a name, forward, backward and both references. */
START_TEST(test_op_table)
{
    for (int i = 0; i < CGAN_OP_COUNT; i++) {
        const cgan_op_def *d = cgan_op_get((cgan_op_type)i);
        ck_assert_msg(d && d->name && d->forward && d->backward && d->ref_forward && d->ref_backward,
                      "op %d is incomplete", i);
        for (int j = 0; j < i; j++) ck_assert_str_ne(d->name, cgan_op_get((cgan_op_type)j)->name);
    }
    ck_assert_ptr_null(cgan_op_get(CGAN_OP_COUNT));
}
END_TEST

/* Parameter counts equal PyTorch's for the same architectures. */
START_TEST(test_param_counts)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_model_cfg cfg = cgan_model_defaults();
    cgan_generator G;
    cgan_discriminator D;
    TU_OK(ctx, cgan_build_generator(ctx, &cfg, &G));
    TU_OK(ctx, cgan_build_discriminator(ctx, &cfg, &D));
    /* seed32, nz 100, K 10, nc 1: embedding 100 + deconvs 110*256*16 + 256*128*16 + 128*64*16
     * + 64*16 + BN 2*(256+128+64) */
    ck_assert_uint_eq(cgan_graph_param_count(G.g), 100 + 450560 + 524288 + 131072 + 1024 + 896);
    /* D: 11*64*16 + 64*128*16 + 128*256*16 + 256*16 + BN 2*(128+256) */
    ck_assert_uint_eq(cgan_graph_param_count(D.g), 11264 + 131072 + 524288 + 4096 + 768);
    cgan_graph_destroy(G.g);
    cgan_graph_destroy(D.g);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_op_table);
    tcase_add_test(tc, test_bad_graph);
    tcase_add_test(tc, test_composed_fd);
    tcase_add_test(tc, test_grad_accumulation);
    tcase_add_test(tc, test_param_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("models");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_seed32_concat);
    tcase_add_test(tc, test_seed32_proj);
    tcase_add_test(tc, test_dcgan64);
    tcase_add_test(tc, test_dcgan16_proj);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
