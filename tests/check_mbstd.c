/* Minibatch standard deviation (op mbstd, train --mbstd): the op's values by hand, its
 * place in the built-in D, the config and checkpoint round trip, an exact resume, and
 * the command line. The op's device kernels against the double-precision reference and
 * finite differences are the self-check op.mbstd (check_runtime runs every self-check;
 * it is run here too). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "core/graph_impl.h"
#include "ops/defs.h"
#include "ops/mbstd.h"
#include "gan/checkpoint.h"
#include "gan/models.h"
#include "gan/trainer.h"

/* The reference on a batch of 5 in groups of 2 (the last group is one image), C = 2, 1x2:
 * values worked out by hand. */
START_TEST(test_values)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "t");
    int x = cgan_graph_input(g, "x", cgan_shape4(5, 2, 1, 2));
    int y = cgan_nn_mbstd(g, "mb", x, 2);
    TU_OK(ctx, cgan_graph_status(g));
    ck_assert_int_ge(y, 0);
    const cgan_node *nd = cgan_graph_node(g, 0);
    ck_assert_int_eq(nd->op, CGAN_OP_MBSTD);
    ck_assert_int_eq(nd->out_shape.c, 3);
    ck_assert_int_eq(nd->a.group, 2);
    /* samples: group 0 = {0, 1}, group 1 = {2, 3}, group 2 = {4} */
    double in[5][4] = { { 0, 1, 2, 3 }, { 2, 1, 2, 7 }, { -1, -1, -1, -1 }, { 3, -1, 1, -1 }, { 9, 8, 7, 6 } };
    double out[5][6], dout[5][6], din[5][4];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 6; j++) { out[i][j] = NAN; dout[i][j] = j >= 4 ? 1.0 : 0.0; }
    cgan_ref_args a = { .node = nd, .train = 1 };
    a.in[0] = &in[0][0];
    a.out = &out[0][0];
    cgan_op_get(CGAN_OP_MBSTD)->ref_forward(&a);
    /* per-feature standard deviations, sqrt(var + 1e-8): group 0 has 1, 0, 0, 2; group 1
     * has 2, 0, 1, 0; the one-image group 2 has 0 everywhere */
    const double e = 1e-8;
    const double s0 = (sqrt(1 + e) + sqrt(e) + sqrt(e) + sqrt(4 + e)) / 4;
    const double s1 = (sqrt(4 + e) + sqrt(e) + sqrt(1 + e) + sqrt(e)) / 4, s2 = sqrt(e);
    const double want[5] = { s0, s0, s1, s1, s2 };
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 4; j++) ck_assert(out[i][j] == in[i][j]);
        for (int p = 4; p < 6; p++)
            ck_assert_msg(fabs(out[i][p] - want[i]) < 1e-9, "sample %d: %.12g, want %.12g", i, out[i][p], want[i]);
    }
    /* backward with dy = 1 on the statistic planes only: d s_g / dx = (x - mu) / (F gs sd),
     * summed over the 2 planes of each of the group's members */
    a.dout = &dout[0][0];
    a.din[0] = &din[0][0];
    a.din_beta[0] = 0;
    cgan_op_get(CGAN_OP_MBSTD)->ref_backward(&a);
    /* group 0, feature 0: x = 0, 2 (mu 1, sd 1); dy summed over the group's 2 members' 2
     * planes, over F = 4: 1, so dx = (0 - 1) / (2 * 1) */
    ck_assert_msg(fabs(din[0][0] - (-0.5)) < 1e-6, "%g", din[0][0]);
    ck_assert_msg(fabs(din[1][0] - 0.5) < 1e-6, "%g", din[1][0]);
    /* feature 3: x = 3, 7 (mu 5, sd 2): (3 - 5) / (2 * 2) */
    ck_assert_msg(fabs(din[0][3] - (-0.5)) < 1e-6, "%g", din[0][3]);
    /* the one-image group: x - mu = 0 everywhere */
    for (int j = 0; j < 4; j++) ck_assert(din[4][j] == 0.0);
    cgan_graph_destroy(g);
    /* a group size below 1 is refused, naming the node */
    g = cgan_graph_new(ctx, "t");
    x = cgan_graph_input(g, "x", cgan_shape4(2, 1, 1, 1));
    ck_assert_int_lt(cgan_nn_mbstd(g, "bad", x, 0), 0);
    ck_assert_int_ne(cgan_graph_status(g), CGAN_OK);
    ck_assert_msg(strstr(cgan_last_error(ctx), "bad") && strstr(cgan_last_error(ctx), "group size 0"), "%s",
                  cgan_last_error(ctx));
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_selfcheck)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_check_result r;
    TU_OK(ctx, cgan_selfcheck_mbstd(ctx, &r));
    ck_assert_msg(r.max_err <= r.tol, "op.mbstd: %g > %g", r.max_err, r.tol);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The layer sits between D's last BatchNorm and its logit, one plane wider; off, no node. */
START_TEST(test_builtin_place)
{
    cgan_ctx *ctx = tu_ctx();
    for (int size = 16; size <= 64; size *= 2) {
        cgan_model_cfg m = cgan_model_defaults();
        m.size = size;
        m.ndf = 8;
        m.batch = 6;
        m.mbstd = 4;
        cgan_discriminator d;
        TU_OK(ctx, cgan_build_discriminator(ctx, &m, &d));
        int at = -1, n = cgan_graph_node_count(d.g);
        for (int i = 0; i < n; i++)
            if (cgan_graph_node(d.g, i)->op == CGAN_OP_MBSTD) at = i;
        ck_assert_int_ge(at, 1);
        const cgan_node *mb = cgan_graph_node(d.g, at), *logit = cgan_graph_node(d.g, at + 1);
        ck_assert_str_eq(mb->name, "D.mbstd");
        ck_assert_int_eq(mb->a.group, 4);
        ck_assert_int_eq(cgan_graph_node(d.g, at - 1)->op, CGAN_OP_BATCHNORM);
        ck_assert_int_eq(logit->op, CGAN_OP_CONV2D);
        ck_assert_int_eq(logit->in[0], mb->out);
        ck_assert_int_eq(logit->in_shape[0].c, mb->in_shape[0].c + 1);
        ck_assert_int_eq(logit->out, d.logit);
        cgan_graph_destroy(d.g);
        m.mbstd = 0;
        TU_OK(ctx, cgan_build_discriminator(ctx, &m, &d));
        for (int i = 0; i < cgan_graph_node_count(d.g); i++) ck_assert_int_ne(cgan_graph_node(d.g, i)->op, CGAN_OP_MBSTD);
        cgan_graph_destroy(d.g);
    }
    /* with a model description the flag is refused: the description places the layer */
    cgan_model_cfg m = cgan_model_defaults();
    m.mbstd = 4;
    char *text = cgan_model_json(&m);
    m.desc = text;
    cgan_discriminator d;
    ck_assert_int_eq(cgan_build_discriminator(ctx, &m, &d), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "mbstd"), "%s", cgan_last_error(ctx));
    /* that description (with its mbstd layer) builds on its own */
    m.mbstd = 0;
    TU_OK(ctx, cgan_build_discriminator(ctx, &m, &d));
    int found = 0;
    for (int i = 0; i < cgan_graph_node_count(d.g); i++) found += cgan_graph_node(d.g, i)->op == CGAN_OP_MBSTD;
    ck_assert_int_eq(found, 1);
    cgan_graph_destroy(d.g);
    free(text);
    m = cgan_model_defaults();
    m.mbstd = 5000;
    ck_assert_int_eq(cgan_model_cfg_check(ctx, &m), CGAN_E_INVALID);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A trainer with mbstd: the checkpoint's config holds it, it loads as the built-in family,
 * and a run resumed from the checkpoint continues bit for bit; without it the run differs. */
START_TEST(test_trainer_resume)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tu_tiny_train_cfg(CGAN_COND_CONCAT);
    c.model.batch = 6;
    c.model.mbstd = 4; /* groups of 4 and 2 */
    tu_check_resume(ctx, &c, 6, 3, "mbstdresume");
    float with[3 * CGAN_LOG_FIELDS], without[3 * CGAN_LOG_FIELDS];
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    tu_train_steps(ctx, t, 3, with);
    cgan_trainer_destroy(t);
    c.model.mbstd = 0;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    tu_train_steps(ctx, t, 3, without);
    cgan_trainer_destroy(t);
    int differ = 0;
    for (int i = 0; i < 3 * CGAN_LOG_FIELDS; i++) differ += with[i] != without[i];
    ck_assert_int_gt(differ, 0);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_cli)
{
    TU_CLI_OK("train", "--help");
    ck_assert_msg(strstr(tu_cli_out, "--mbstd G"), "--help lacks --mbstd");
    const char *src = getenv("CGAN_TOP_SRCDIR");
    ck_assert_ptr_nonnull(src);
    char *man = tu_read_text(tu_pathf("%s/doc/cgan-cl.1", src)), *readme = tu_read_text(tu_pathf("%s/README.md", src));
    char *fmt = tu_read_text(tu_pathf("%s/doc/model-format.md", src));
    ck_assert_msg(strstr(man, "\\-\\-mbstd"), "the man page lacks --mbstd");
    ck_assert_msg(strstr(readme, "--mbstd"), "README.md lacks --mbstd");
    ck_assert_msg(strstr(fmt, "| `mbstd` |"), "doc/model-format.md lacks the mbstd layer");
    free(man);
    free(readme);
    free(fmt);
    char *dir = tu_tempdir("mbstdcli");
    const char *out = tu_pathf("%s/run", dir), *model = tu_pathf("%s/m.json", dir);
    TU_CLI_FAILS(2, "--mbstd '-1'", "train", "--mbstd", "-1", "--out", out);
    TU_CLI_FAILS(2, "--mbstd 'x'", "train", "--mbstd", "x", "--out", out);
    FILE *f = fopen(model, "w");
    cgan_model_cfg m = cgan_model_defaults();
    char *text = cgan_model_json(&m);
    fputs(text, f);
    fclose(f);
    free(text);
    TU_CLI_FAILS(2, "--model and --mbstd exclude each other", "train", "--model", model, "--mbstd", "4", "--out", out);
    ck_assert(access(out, F_OK) != 0);
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) == 0) {
        TU_CLI_OK("train", "--max-images", "64", "--batch", "8", "--ngf", "8", "--ndf", "8", "--steps", "2",
                  "--mbstd", "3", "--sample-every", "100", "--out", out);
        char *cfg = tu_read_text(tu_pathf("%s/config", out));
        ck_assert_msg(strstr(cfg, "\"mbstd\": 3"), "%s", cfg);
        free(cfg);
        TU_CLI_OK("info", out);
        ck_assert_msg(strstr(tu_cli_out, "mbstd") && strstr(tu_cli_out, "[33,4,4]"), "%s", tu_cli_out);
        TU_CLI_FAILS(2, "--mbstd cannot change them", "train", "--resume", out, "--mbstd", "2");
        TU_CLI_OK("train", "--resume", out, "--steps", "3");
        ck_assert(access(tu_pathf("%s/checkpoints/step_000003.safetensors", out), F_OK) == 0);
    }
    tu_rmtree(dir);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("mbstd");
    TCase *tc = tcase_create("mbstd");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_selfcheck);
    tcase_add_test(tc, test_builtin_place);
    tcase_add_test(tc, test_trainer_resume);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
