/* The stabilisers of issue 20: learning-rate schedules with warm-up, one-sided label
 * smoothing, spectral normalisation of D, standing BatchNorm statistics of G's EMA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "core/exec.h"
#include "gan/checkpoint.h"
#include "gan/trainer.h"
#include "core/graph_impl.h"
#include "core/reference.h"
#include "ops/spectral_norm.h"
#include "gan/stab.h"
#include "gan/sampler.h"

/* LAPACK (Fortran calling convention): the singular values of an m x n column-major A. */
extern void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *lda,
                    double *s, double *u, const int *ldu, double *vt, const int *ldvt, double *work,
                    const int *lwork, int *info);

static cgan_train_cfg tiny_cfg(void) { return tu_tiny_train_cfg(CGAN_COND_CONCAT); }
#define run tu_train_steps

/* ---- learning-rate schedules --------------------------------------------------------- */

START_TEST(test_lr_schedule_values)
{
    cgan_train_cfg c = cgan_train_defaults();
    c.lr_g = 2e-4f;
    c.lr_d = 1e-4f; /* TTUR: D's own rate follows the same schedule */
    /* constant without warm-up: the base rates, exactly (the defaults are unchanged) */
    for (int64_t s = 0; s < 5000; s += 777) {
        ck_assert(cgan_lr_at(&c, 0, s) == c.lr_g);
        ck_assert(cgan_lr_at(&c, 1, s) == c.lr_d);
    }
    c.lr_steps = 110;
    c.warmup = 10;
    const struct { cgan_lr_schedule k; int64_t step; double factor; } want[] = {
        { CGAN_LR_CONSTANT, 0, 0.1 }, { CGAN_LR_CONSTANT, 4, 0.5 }, { CGAN_LR_CONSTANT, 9, 1.0 },
        { CGAN_LR_CONSTANT, 10, 1.0 }, { CGAN_LR_CONSTANT, 500, 1.0 },
        { CGAN_LR_LINEAR, 0, 0.1 }, { CGAN_LR_LINEAR, 9, 1.0 }, { CGAN_LR_LINEAR, 10, 1.0 },
        { CGAN_LR_LINEAR, 35, 0.75 }, { CGAN_LR_LINEAR, 60, 0.5 }, { CGAN_LR_LINEAR, 109, 0.01 },
        { CGAN_LR_LINEAR, 110, 0.0 }, { CGAN_LR_LINEAR, 1000, 0.0 },
        { CGAN_LR_COSINE, 4, 0.5 }, { CGAN_LR_COSINE, 10, 1.0 }, { CGAN_LR_COSINE, 35, 0.5 + 0.5 * cos(M_PI / 4) },
        { CGAN_LR_COSINE, 60, 0.5 }, { CGAN_LR_COSINE, 85, 0.5 - 0.5 * cos(M_PI / 4) }, { CGAN_LR_COSINE, 110, 0.0 },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        c.lr_schedule = want[i].k;
        for (int d = 0; d < 2; d++) {
            float got = cgan_lr_at(&c, d, want[i].step), exp = (float)((d ? 1e-4f : 2e-4f) * want[i].factor);
            ck_assert_msg(fabsf(got - exp) <= 1e-7f * (d ? 1e-4f : 2e-4f), "%s step %lld net %d: %.9g, expected %.9g",
                          cgan_lr_schedule_name(want[i].k), (long long)want[i].step, d, got, exp);
        }
    }
    /* exact values where the arithmetic is exact */
    c.lr_g = 1.0f;
    c.lr_schedule = CGAN_LR_LINEAR;
    ck_assert(cgan_lr_at(&c, 0, 60) == 0.5f);
    ck_assert(cgan_lr_at(&c, 0, 110) == 0.0f);
    ck_assert(cgan_lr_at(&c, 0, 4) == 0.5f);
    c.lr_schedule = CGAN_LR_COSINE;
    ck_assert(cgan_lr_at(&c, 0, 10) == 1.0f);
    ck_assert(cgan_lr_at(&c, 0, 110) == 0.0f);
    /* names */
    ck_assert_int_eq(cgan_lr_schedule_parse("cosine"), CGAN_LR_COSINE);
    ck_assert_int_eq(cgan_lr_schedule_parse("linear"), CGAN_LR_LINEAR);
    ck_assert_int_eq(cgan_lr_schedule_parse("constant"), CGAN_LR_CONSTANT);
    ck_assert_int_eq(cgan_lr_schedule_parse("step"), -1);
}
END_TEST

START_TEST(test_lr_schedule_trains_and_resumes)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tiny_cfg();
    c.lr_schedule = CGAN_LR_COSINE;
    c.warmup = 2;
    c.lr_steps = 6;
    c.ema_rampup = 0.3f;   /* resumed with the run (tu_check_resume compares the EMA) */
    /* a schedule changes the run (so it is applied), and resume continues it exactly */
    float a[6 * CGAN_LOG_FIELDS], b[6 * CGAN_LOG_FIELDS];
    cgan_train_cfg plain = tiny_cfg();
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &plain, &t));
    run(ctx, t, 3, a);
    cgan_trainer_destroy(t);
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    run(ctx, t, 3, b);
    cgan_trainer_destroy(t);
    /* step 0 runs with the same weights either way: D's first losses agree */
    ck_assert(a[CGAN_LOG_LOSS_D_REAL] == b[CGAN_LOG_LOSS_D_REAL]);
    ck_assert_msg(a[2 * CGAN_LOG_FIELDS + CGAN_LOG_LOSS_D_REAL] != b[2 * CGAN_LOG_FIELDS + CGAN_LOG_LOSS_D_REAL],
                  "the warm-up did not change the run");
    tu_check_resume(ctx, &c, 6, 3, "sched");
    /* bad settings are refused by option name */
    c.warmup = -1;
    ck_assert_int_eq(cgan_trainer_create(ctx, &c, &t), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "--warmup"));
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- label smoothing ---------------------------------------------------------------- */

/* BCE with logits against target t on the device vs a plain-C double reference, loss and
 * gradient, on an odd batch. */
START_TEST(test_label_smooth_loss)
{
    cgan_ctx *ctx = tu_ctx();
    const int N = 37;
    const float t = 1.0f - 0.15f;
    cgan_graph *g = cgan_graph_new(ctx, "T");
    int x = cgan_graph_input(g, "x", cgan_shape4(N, 1, 1, 1));
    TU_OK(ctx, cgan_graph_requires_grad(g, x));
    int l = cgan_nn_loss_bce(g, "loss", x, t);
    TU_OK(ctx, cgan_graph_plan(g, CGAN_MODE_TRAIN, 1));
    cgan_rng r;
    cgan_rng_init(&r, 5, 5);
    float *h = tu_random(&r, (size_t)N, -4, 4), loss, grad[37];
    TU_OK(ctx, cgan_graph_write(g, x, h));
    TU_OK(ctx, cgan_graph_forward(g, 1, 0));
    TU_OK(ctx, cgan_graph_backward(g, l, CGAN_GRAD_INPUTS));
    TU_OK(ctx, cgan_graph_read(g, l, &loss));
    TU_OK(ctx, cgan_graph_read_grad(g, x, grad));
    double ref = 0;
    for (int i = 0; i < N; i++) {
        double v = h[i];
        ref += (v > 0 ? v : 0) - v * (double)t + log1p(exp(-fabs(v)));
        double dg = (1.0 / (1.0 + exp(-v)) - (double)t) / N;
        ck_assert_msg(fabs(grad[i] - dg) <= 1e-6, "gradient %d: %g vs %g", i, grad[i], dg);
    }
    ref /= N;
    ck_assert_msg(fabs(loss - ref) <= 1e-6 * fabs(ref) + 1e-7, "loss %g vs %g", loss, ref);
    free(h);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* In training: D's real loss is BCE against 1 - A, so it moves linearly with A for the
 * same logits (the first step's), L(A) = L(0) + A * mean(logit); G's loss is not smoothed. */
START_TEST(test_label_smooth_trainer)
{
    cgan_ctx *ctx = tu_ctx();
    float rows[3][CGAN_LOG_FIELDS];
    const float A[3] = { 0.0f, 0.1f, 0.2f };
    for (int k = 0; k < 3; k++) {
        cgan_train_cfg c = tiny_cfg();
        c.label_smooth = A[k];
        cgan_trainer *t;
        TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
        run(ctx, t, 1, rows[k]);
        cgan_trainer_destroy(t);
    }
    double d1 = rows[1][CGAN_LOG_LOSS_D_REAL] - rows[0][CGAN_LOG_LOSS_D_REAL];
    double d2 = rows[2][CGAN_LOG_LOSS_D_REAL] - rows[0][CGAN_LOG_LOSS_D_REAL];
    ck_assert_msg(d1 != 0, "label smoothing did not change D's real loss");
    ck_assert_msg(fabs(d2 - 2 * d1) <= 1e-5, "real loss not linear in the smoothing: %g, %g", d1, d2);
    ck_assert(rows[1][CGAN_LOG_LOSS_D_FAKE] == rows[0][CGAN_LOG_LOSS_D_FAKE]);
    /* the hinge loss has no target: refused with the option's name */
    cgan_train_cfg c = tiny_cfg();
    c.label_smooth = 0.1f;
    c.loss = CGAN_LOSS_HINGE;
    cgan_trainer *t;
    ck_assert_int_eq(cgan_trainer_create(ctx, &c, &t), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "--label-smooth"));
    c.loss = CGAN_LOSS_BCE;
    tu_check_resume(ctx, &c, 4, 2, "smooth");
    cgan_ctx_destroy(ctx);
}
END_TEST


/* ---- spectral normalisation -------------------------------------------------------- */

/* The largest singular value of the rows x cols row-major w, by LAPACK. */
static double svd_max(const float *w, int rows, int cols)
{
    double *a = malloc((size_t)rows * cols * sizeof *a), s[64], dummy = 0, q;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) a[(size_t)j * rows + i] = w[(size_t)i * cols + j]; /* column-major */
    int m = rows, n = cols, one = 1, lwork = -1, info = 0;
    dgesvd_("N", "N", &m, &n, a, &m, s, &dummy, &one, &dummy, &one, &q, &lwork, &info);
    lwork = (int)q;
    double *work = malloc((size_t)lwork * sizeof *work);
    dgesvd_("N", "N", &m, &n, a, &m, s, &dummy, &one, &dummy, &one, work, &lwork, &info);
    ck_assert_int_eq(info, 0);
    free(work);
    free(a);
    return s[0];
}

/* A graph x -> linear (in -> out) with its weight spectrally normalised. */
static cgan_graph *sn_linear(cgan_ctx *ctx, int in, int out, int *w, int *wsn, int *u, int *v)
{
    cgan_graph *g = cgan_graph_new(ctx, "T");
    int x = cgan_graph_input(g, "x", cgan_shape4(2, in, 1, 1));
    cgan_nn_linear(g, "fc", x, out, 0);
    *wsn = cgan_spectral_norm_wrap(g, 0);
    TU_OK(ctx, cgan_graph_status(g));
    *w = cgan_graph_find_tensor(g, "T.fc.weight");
    *u = cgan_graph_find_tensor(g, "T.fc_sn.u");
    *v = cgan_graph_find_tensor(g, "T.fc_sn.v");
    ck_assert(*w >= 0 && *u >= 0 && *v >= 0);
    ck_assert_int_eq(cgan_graph_node(g, 0)->op, CGAN_OP_SPECTRAL_NORM); /* it runs first */
    ck_assert_int_eq(cgan_graph_node(g, 1)->param[0], *wsn);
    return g;
}

/* After enough power iterations sigma = W / W_sn matches the SVD's largest singular value. */
START_TEST(test_sn_sigma_vs_svd)
{
    cgan_ctx *ctx = tu_ctx();
    const int shapes[][2] = { { 7, 45 }, { 13, 5 }, { 1, 9 }, { 24, 24 } };
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        const int rows = shapes[c][0], cols = shapes[c][1];
        int w, wsn, u, v;
        cgan_graph *g = sn_linear(ctx, cols, rows, &w, &wsn, &u, &v);
        TU_OK(ctx, cgan_graph_plan(g, CGAN_MODE_TRAIN, 3));
        cgan_rng r;
        cgan_rng_init(&r, 11, (uint32_t)c);
        float *hw = tu_random(&r, (size_t)rows * cols, -1, 1), *x = tu_random(&r, (size_t)2 * cols, -1, 1);
        float *hs = malloc((size_t)rows * cols * sizeof *hs);
        TU_OK(ctx, cgan_graph_write(g, w, hw));
        TU_OK(ctx, cgan_graph_write(g, cgan_graph_find_tensor(g, "T.x"), x));
        for (int it = 0; it < 300; it++) {
            cgan_spectral_norm_iterate(g, 1);
            TU_OK(ctx, cgan_graph_forward(g, 1, (uint64_t)it));
        }
        TU_OK(ctx, cgan_graph_read(g, wsn, hs));
        double want = svd_max(hw, rows, cols), got = 0;
        for (int k = 0; k < rows * cols; k++) got += fabs(hw[k]);
        double den = 0;
        for (int k = 0; k < rows * cols; k++) den += fabs(hs[k]);
        got /= den; /* W / W_sn, averaged over the matrix */
        ck_assert_msg(fabs(got - want) <= 1e-4 * want, "%dx%d: sigma %.8g, SVD %.8g", rows, cols, got, want);
        free(hw); free(x); free(hs);
        cgan_graph_destroy(g);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A conv and a linear layer, both normalised, on odd shapes: the device forward (power
 * iteration from u = 1, then W / u^T W v) against a double computation here, the gradient of
 * W against the reference executor and that against finite differences of it. */
START_TEST(test_sn_forward_backward)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "T");
    int x = cgan_graph_input(g, "x", cgan_shape4(3, 4, 5, 5));
    int h = cgan_nn_conv2d(g, "conv", x, 3, 3, 2, 1, 0);
    h = cgan_nn_activation(g, "act", h, CGAN_ACT_LRELU, 0.2f);
    h = cgan_nn_linear(g, "fc", h, 1, 1);
    int loss = cgan_nn_loss_bce(g, "loss", h, 0.9f);
    TU_OK(ctx, cgan_spectral_norm_graph(g));
    ck_assert_int_eq(cgan_graph_node_count(g), 6);
    TU_OK(ctx, cgan_graph_plan(g, CGAN_MODE_TRAIN, 5));
    cgan_rng r;
    cgan_rng_init(&r, 12, 1);
    float *hx = tu_random(&r, 3 * 4 * 25, -1, 1);
    TU_OK(ctx, cgan_graph_write(g, x, hx));
    const char *names[2] = { "T.conv", "T.fc" };
    int rows[2] = { 3, 1 }, cols[2] = { 36, 27 };
    for (int l = 0; l < 2; l++) { /* larger weights than the initialisation's, so sigma is not tiny */
        float *hw = tu_random(&r, (size_t)rows[l] * cols[l], -1, 1);
        TU_OK(ctx, cgan_graph_write(g, cgan_graph_find_tensor(g, tu_pathf("%s.weight", names[l])), hw));
        free(hw);
    }
    TU_OK(ctx, cgan_graph_zero_grad(g));
    cgan_spectral_norm_iterate(g, 1);
    TU_OK(ctx, cgan_graph_forward(g, 1, 0));
    cgan_refexec *ref;
    TU_OK(ctx, cgan_refexec_create(g, &ref)); /* parameters and the iterated u, v */
    for (int k = 0; k < 3 * 4 * 25; k++) cgan_refexec_value(ref, x)[k] = hx[k];
    for (int l = 0; l < 2; l++) {
        const int R = rows[l], C = cols[l];
        int w = cgan_graph_find_tensor(g, tu_pathf("%s.weight", names[l]));
        int wsn = cgan_graph_find_tensor(g, tu_pathf("%s_sn.out", names[l]));
        float *hw = malloc((size_t)R * C * sizeof *hw), *hs = malloc((size_t)R * C * sizeof *hs);
        float *hu = malloc((size_t)R * sizeof *hu), *hv = malloc((size_t)C * sizeof *hv);
        TU_OK(ctx, cgan_graph_read(g, w, hw));
        TU_OK(ctx, cgan_graph_read(g, cgan_graph_find_tensor(g, tu_pathf("%s_sn.u", names[l])), hu));
        TU_OK(ctx, cgan_graph_read(g, cgan_graph_find_tensor(g, tu_pathf("%s_sn.v", names[l])), hv));
        /* one power iteration from u = 1 */
        double *v = calloc((size_t)C, sizeof *v), *u = calloc((size_t)R, sizeof *u), nv = 0, nu = 0;
        for (int j = 0; j < C; j++) {
            for (int i = 0; i < R; i++) v[j] += hw[i * C + j];
            nv += v[j] * v[j];
        }
        for (int j = 0; j < C; j++) v[j] /= sqrt(nv);
        for (int i = 0; i < R; i++) {
            for (int j = 0; j < C; j++) u[i] += hw[i * C + j] * v[j];
            nu += u[i] * u[i];
        }
        double sigma = sqrt(nu);
        for (int i = 0; i < R; i++) u[i] /= sqrt(nu);
        for (int j = 0; j < C; j++) ck_assert_msg(fabs(hv[j] - v[j]) <= 1e-5, "%s v[%d]: %g vs %g", names[l], j, hv[j], v[j]);
        for (int i = 0; i < R; i++) ck_assert_msg(fabs(hu[i] - u[i]) <= 1e-5, "%s u[%d]: %g vs %g", names[l], i, hu[i], u[i]);
        TU_OK(ctx, cgan_graph_read(g, wsn, hs));
        for (int k = 0; k < R * C; k++)
            ck_assert_msg(fabs(hs[k] - hw[k] / sigma) <= 1e-5 * fabs(hw[k] / sigma) + 1e-6, "%s W_sn[%d]: %g vs %g",
                          names[l], k, hs[k], hw[k] / sigma);
        free(v); free(u); free(hw); free(hs); free(hu); free(hv);
    }
    TU_OK(ctx, cgan_graph_backward(g, loss, CGAN_GRAD_PARAMS));
    /* gradients of W: device vs reference executor (u, v held), reference vs finite differences */
    cgan_refexec_forward(ref, 0, 0);
    cgan_refexec_backward(ref, loss, CGAN_GRAD_PARAMS);
    for (int l = 0; l < 2; l++) {
        const int n = rows[l] * cols[l];
        int w = cgan_graph_find_tensor(g, tu_pathf("%s.weight", names[l]));
        float *dw = malloc((size_t)n * sizeof *dw);
        TU_OK(ctx, cgan_graph_read_grad(g, w, dw));
        double *rg = cgan_refexec_grad(ref, w), *rw = cgan_refexec_value(ref, w), *rl = cgan_refexec_value(ref, loss);
        ck_assert_msg(cgan_max_rel_err(dw, rg, (size_t)n) <= 1e-4, "%s: gradient error %g", names[l],
                      cgan_max_rel_err(dw, rg, (size_t)n));
        double scale = 0, worst = 0;
        for (int k = 0; k < n; k++) scale = fmax(scale, fabs(rg[k]));
        for (int k = 0; k < n; k++) {
            const double step = 1e-6, keep = rw[k];
            rw[k] = keep + step;
            cgan_refexec_forward(ref, 0, 0);
            double lp = rl[0];
            rw[k] = keep - step;
            cgan_refexec_forward(ref, 0, 0);
            double lm = rl[0];
            rw[k] = keep;
            worst = fmax(worst, fabs((lp - lm) / (2 * step) - rg[k]) / scale);
        }
        ck_assert_msg(worst <= 1e-5, "%s: finite differences differ by %g", names[l], worst);
        free(dw);
    }
    cgan_refexec_destroy(ref);
    free(hx);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A trainer with spectral norm: u and v go through a checkpoint unchanged, and a resumed
 * run continues bit-identically. */
START_TEST(test_sn_trainer_checkpoint)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tiny_cfg();
    c.model.spectral_norm = 1;
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    cgan_graph *D = cgan_trainer_graph(t, 1);
    int nsn = 0;
    for (int i = 0; i < cgan_graph_node_count(D); i++) nsn += cgan_graph_node(D, i)->op == CGAN_OP_SPECTRAL_NORM;
    ck_assert_int_ge(nsn, 3); /* every conv of the family's D */
    run(ctx, t, 3, NULL);
    char *dir = tu_tempdir("snckpt");
    const char *path = tu_pathf("%s/sn.safetensors", dir);
    char *classes[3] = { "a", "b", "c" };
    TU_OK(ctx, cgan_checkpoint_save(t, path, classes, 3, NULL, 0));
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, path, &f));
    int checked = 0;
    for (int i = 0; i < cgan_graph_tensor_count(D); i++) {
        const char *name = cgan_graph_tensor_name(D, i);
        size_t L = strlen(name);
        if (L < 5 || (strcmp(name + L - 5, "_sn.u") && strcmp(name + L - 5, "_sn.v"))) continue;
        size_t n = cgan_numel(cgan_graph_tensor_shape(D, i));
        float *dev = malloc(n * sizeof *dev), *file = malloc(n * sizeof *file);
        TU_OK(ctx, cgan_graph_read(D, i, dev));
        TU_OK(ctx, cgan_st_read(ctx, f, name, CGAN_ST_F32, file, (int64_t)n));
        ck_assert_msg(!memcmp(dev, file, n * sizeof *dev), "%s differs in the checkpoint", name);
        double norm = 0; /* a unit vector after the iterations */
        for (size_t k = 0; k < n; k++) norm += (double)dev[k] * dev[k];
        ck_assert_msg(fabs(norm - 1) < 1e-4, "%s: |.|^2 = %g", name, norm);
        free(dev); free(file);
        checked++;
    }
    ck_assert_int_eq(checked, 2 * nsn);
    cgan_st_close(f);
    cgan_trainer_destroy(t);
    tu_rmtree(dir);
    tu_check_resume(ctx, &c, 6, 3, "snresume");
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- standing BatchNorm statistics --------------------------------------------------- */

/* The EMA network's statistics in a checkpoint equal the average, over the standing
 * batches, of each BatchNorm input's per-channel batch mean and unbiased variance, computed
 * here in double from a G with the EMA weights on the same batches; the training
 * statistics are saved unchanged; a run with it resumes bit-identically. */
START_TEST(test_standing_stats)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tiny_cfg();
    c.model.cond = CGAN_COND_PROJ; /* conditional BatchNorm in G: the classes matter */
    c.standing_stats = 3;
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    run(ctx, t, 3, NULL);
    char *dir = tu_tempdir("standing");
    const char *path = tu_pathf("%s/s.safetensors", dir);
    char *classes[3] = { "a", "b", "c" };
    cgan_graph *TG = cgan_trainer_graph(t, 0);
    size_t ns = 0;
    cgan_graph_state_arena(TG, &ns);
    float *before = malloc(ns * sizeof *before), *after = malloc(ns * sizeof *after);
    TU_OK(ctx, cgan_buffer_read(ctx, cgan_graph_state_arena(TG, NULL), 0, ns * sizeof(float), before));
    TU_OK(ctx, cgan_checkpoint_save(t, path, classes, 3, NULL, 0));
    TU_OK(ctx, cgan_buffer_read(ctx, cgan_graph_state_arena(TG, NULL), 0, ns * sizeof(float), after));
    ck_assert_msg(!memcmp(before, after, ns * sizeof *before), "the training statistics changed");
    /* the reference: G with the EMA weights, training-mode passes on the standing batches */
    cgan_generator G;
    TU_OK(ctx, cgan_build_generator(ctx, &c.model, &G));
    TU_OK(ctx, cgan_graph_plan(G.g, CGAN_MODE_TRAIN, 1)); /* activations kept: readable */
    size_t np = 0;
    cgan_graph_param_arena(G.g, &np);
    TU_OK(ctx, cgan_buffer_copy(ctx, cgan_trainer_ema(t), 0, cgan_graph_param_arena(G.g, NULL), 0, np * sizeof(float)));
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, path, &f));
    int nbn = 0;
    double *sum_m[8] = { 0 }, *sum_v[8] = { 0 };
    int bn_node[8], bn_c[8];
    for (int i = 0; i < cgan_graph_node_count(G.g); i++)
        if (cgan_graph_node(G.g, i)->op == CGAN_OP_BATCHNORM && nbn < 8) {
            bn_node[nbn] = i;
            bn_c[nbn] = cgan_graph_node(G.g, i)->in_shape[0].c;
            sum_m[nbn] = calloc((size_t)bn_c[nbn], sizeof(double));
            sum_v[nbn] = calloc((size_t)bn_c[nbn], sizeof(double));
            nbn++;
        }
    ck_assert_int_ge(nbn, 2);
    for (int k = 0; k < c.standing_stats; k++) {
        TU_OK(ctx, cgan_standing_inputs(ctx, &G, &c.model, c.seed, k));
        TU_OK(ctx, cgan_graph_forward(G.g, 1, (uint64_t)k));
        for (int b = 0; b < nbn; b++) {
            const cgan_node *nd = cgan_graph_node(G.g, bn_node[b]);
            cgan_shape sh = nd->in_shape[0];
            size_t n = cgan_numel(sh), hw = (size_t)sh.h * sh.w, per = (size_t)sh.n * hw;
            float *xin = malloc(n * sizeof *xin);
            TU_OK(ctx, cgan_graph_read(G.g, nd->in[0], xin));
            for (int ch = 0; ch < sh.c; ch++) {
                double m = 0, v = 0;
                for (int s2 = 0; s2 < sh.n; s2++)
                    for (size_t q = 0; q < hw; q++) m += xin[((size_t)s2 * sh.c + ch) * hw + q];
                m /= (double)per;
                for (int s2 = 0; s2 < sh.n; s2++)
                    for (size_t q = 0; q < hw; q++) {
                        double d = xin[((size_t)s2 * sh.c + ch) * hw + q] - m;
                        v += d * d;
                    }
                sum_m[b][ch] += m;
                sum_v[b][ch] += v / (double)(per - 1);
            }
            free(xin);
        }
    }
    for (int b = 0; b < nbn; b++) {
        const cgan_node *nd = cgan_graph_node(G.g, bn_node[b]);
        for (int which = 0; which < 2; which++) {
            const char *raw = cgan_graph_tensor_name(G.g, nd->state[which]);
            const char *name = tu_pathf("ema.%s", raw);
            float *got = malloc((size_t)bn_c[b] * sizeof *got), *train = malloc((size_t)bn_c[b] * sizeof *train);
            TU_OK(ctx, cgan_st_read(ctx, f, name, CGAN_ST_F32, got, bn_c[b]));
            TU_OK(ctx, cgan_st_read(ctx, f, raw, CGAN_ST_F32, train, bn_c[b]));
            int differs = 0;
            for (int ch = 0; ch < bn_c[b]; ch++) {
                double want = (which ? sum_v[b][ch] : sum_m[b][ch]) / c.standing_stats;
                ck_assert_msg(fabs(got[ch] - want) <= 1e-4 * fabs(want) + 1e-6, "%s[%d]: %.8g, reference %.8g", name, ch,
                              got[ch], want);
                differs |= got[ch] != train[ch];
            }
            ck_assert_msg(differs, "%s equals the training statistics", name);
            /* the training statistics in the file are the trainer's */
            ck_assert(!memcmp(train, before + cgan_graph_tensor(TG, cgan_graph_find_tensor(TG, raw))->arena_offset,
                              (size_t)bn_c[b] * sizeof *train));
            free(got); free(train);
        }
        free(sum_m[b]); free(sum_v[b]);
    }
    /* generate's loader takes them for the EMA weights, and not for the raw ones */
    cgan_sampler *sm;
    TU_OK(ctx, cgan_sampler_create(ctx, &c.model, 2, &sm));
    TU_OK(ctx, cgan_sampler_from_checkpoint(sm, f, 1));
    TU_OK(ctx, cgan_sampler_from_checkpoint(sm, f, 0));
    /* eval --training-stats: the EMA weights with the training statistics sample what the
     * trainer's own EMA sampler does, to the bit; with the standing ones the images differ */
    const size_t nimg = 2 * (size_t)c.model.nc * c.model.size * c.model.size;
    float *z = malloc(2 * (size_t)c.model.nz * sizeof *z), lab[2] = { 0, 1 };
    float *im[3] = { malloc(nimg * sizeof(float)), malloc(nimg * sizeof(float)), malloc(nimg * sizeof(float)) };
    cgan_rng zr;
    cgan_rng_init(&zr, 77, 0);
    cgan_rng_fill_normal(&zr, z, 2 * (size_t)c.model.nz, 0, 1);
    TU_OK(ctx, cgan_sampler_from_trainer(sm, t, 1));
    TU_OK(ctx, cgan_sampler_run(sm, z, lab, im[0]));
    TU_OK(ctx, cgan_sampler_from_checkpoint(sm, f, CGAN_SAMPLE_EMA_TRAINING_STATS));
    TU_OK(ctx, cgan_sampler_run(sm, z, lab, im[1]));
    TU_OK(ctx, cgan_sampler_from_checkpoint(sm, f, 1));
    TU_OK(ctx, cgan_sampler_run(sm, z, lab, im[2]));
    ck_assert_msg(!memcmp(im[0], im[1], nimg * sizeof(float)), "EMA with training statistics differs from the trainer's");
    ck_assert_msg(memcmp(im[1], im[2], nimg * sizeof(float)), "the standing statistics changed no image");
    free(z); free(im[0]); free(im[1]); free(im[2]);
    cgan_sampler_destroy(sm);
    cgan_st_close(f);
    cgan_graph_destroy(G.g);
    cgan_trainer_destroy(t);
    free(before); free(after);
    tu_rmtree(dir);
    tu_check_resume(ctx, &c, 4, 2, "standresume");
    /* refused without the EMA and for text models, naming the option */
    c.ema = 0;
    ck_assert_int_eq(cgan_trainer_create(ctx, &c, &t), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "--standing-stats"));
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- the command line ----------------------------------------------------------------- */

static char *out_text, *err_text;

static int cli_run(const char *const *argv)
{
    free(out_text);
    free(err_text);
    out_text = err_text = NULL;
    const char *exe = getenv("CGAN_CLI");
    ck_assert_msg(exe != NULL, "CGAN_CLI is not set (run through make check)");
    return tu_spawn("stabcli", exe, argv, NULL, NULL, &out_text, &err_text);
}

/* Every flag is in --help and the man page; bad values are refused naming the option. */
/* The EMA's warm-up: after every G update the trainer's average equals one kept here in
 * double from the raw weights it read back, with the decay min(ema, 1 - 1/(1 + r (n+1)))
 * at update n; the cap is reached within the run, and another r gives another average.
 * r and the average resume from a checkpoint (tu_check_resume). */
static void ema_reference(double rampup, double cap, int steps, double *max_err, double *diff_legacy)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tiny_cfg();
    c.ema = (float)cap;
    c.ema_rampup = (float)rampup;
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    size_t np = 0;
    cl_mem raw = cgan_graph_param_arena(cgan_trainer_graph(t, 0), &np);
    float *w = malloc(np * sizeof *w), *e = malloc(np * sizeof *e);
    double *ref = malloc(np * sizeof *ref), *legacy = malloc(np * sizeof *legacy);
    TU_OK(ctx, cgan_buffer_read(ctx, raw, 0, np * sizeof(float), w));
    for (size_t i = 0; i < np; i++) ref[i] = legacy[i] = w[i];   /* the average starts at the weights */
    double scale = 0;
    *max_err = 0;
    for (int n = 1; n <= steps; n++) {
        run(ctx, t, 1, NULL);
        TU_OK(ctx, cgan_buffer_read(ctx, raw, 0, np * sizeof(float), w));
        double d = fmin(cap, 1.0 - 1.0 / (1.0 + rampup * (n + 1.0)));
        double dl = fmin(cap, (1.0 + n) / (10.0 + n));   /* the warm-up of runs before --ema-rampup */
        for (size_t i = 0; i < np; i++) {
            ref[i] = d * ref[i] + (1 - d) * w[i];
            legacy[i] = dl * legacy[i] + (1 - dl) * w[i];
        }
    }
    TU_OK(ctx, cgan_buffer_read(ctx, cgan_trainer_ema(t), 0, np * sizeof(float), e));
    *diff_legacy = 0;
    for (size_t i = 0; i < np; i++) {
        scale = fmax(scale, fabs(ref[i]));
        *max_err = fmax(*max_err, fabs(e[i] - ref[i]));
        *diff_legacy = fmax(*diff_legacy, fabs(e[i] - legacy[i]));
    }
    *max_err /= scale;
    *diff_legacy /= scale;
    free(w); free(e); free(ref); free(legacy);
    cgan_trainer_destroy(t);
    cgan_ctx_destroy(ctx);
}

START_TEST(test_ema_rampup)
{
    double err, dl;
    /* r = 1/9 is the warm-up of earlier runs, (1+n)/(10+n), to rounding */
    ema_reference(CGAN_EMA_RAMPUP_LEGACY, 0.999, 6, &err, &dl);
    printf("EMA, r = 1/9: error %.2e, from the (1+n)/(10+n) warm-up %.2e\n", err, dl);
    ck_assert_msg(err < 1e-5 && dl < 1e-5, "r = 1/9: error %g, %g from the legacy warm-up", err, dl);
    /* r = 0.5 with a cap of 0.7, reached at update 3 (1 - 1/(1 + 0.5 x 4) = 0.667 < 0.7 < 0.75) */
    ema_reference(0.5, 0.7, 6, &err, &dl);
    printf("EMA, r = 0.5, cap 0.7: error %.2e, from the legacy warm-up %.2e\n", err, dl);
    ck_assert_msg(err < 1e-5, "r = 0.5: error %g", err);
    ck_assert_msg(dl > 100 * err + 1e-6, "r = 0.5 averages as the legacy warm-up does (%g)", dl);
}
END_TEST

START_TEST(test_cli_flags)
{
    static const char *const flags[] = { "--lr-schedule", "--warmup", "--label-smooth", "--spectral-norm",
                                         "--standing-stats", "--lr-d", "--ema-rampup" };
    const char *help[] = { "cgan-cl", "train", "--help", NULL };
    ck_assert_int_eq(cli_run(help), 0);
    const char *src = getenv("CGAN_TOP_SRCDIR");
    ck_assert_ptr_nonnull(src);
    char *man = tu_read_text(tu_pathf("%s/doc/cgan-cl.1", src)), *readme = tu_read_text(tu_pathf("%s/README.md", src));
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        char roff[64];
        size_t u = 0;
        for (const char *p = flags[i]; *p && u + 3 < sizeof roff; p++) {
            if (*p == '-') roff[u++] = '\\';
            roff[u++] = *p;
        }
        roff[u] = '\0';
        ck_assert_msg(strstr(out_text, flags[i]), "--help lacks %s", flags[i]);
        ck_assert_msg(strstr(man, roff), "the man page lacks %s", roff);
        ck_assert_msg(strstr(readme, flags[i]), "README.md lacks %s", flags[i]);
    }
    ck_assert_msg(strstr(man, "TTUR") && strstr(readme, "TTUR"), "TTUR is not documented");
    free(man);
    free(readme);
    const struct { const char *a, *b, *c, *d, *want; } bad[] = {
        { "--lr-schedule", "step", NULL, NULL, "--lr-schedule 'step'" },
        { "--warmup", "-3", NULL, NULL, "--warmup '-3'" },
        { "--label-smooth", "0.5", NULL, NULL, "--label-smooth '0.5'" },
        { "--label-smooth", "0.1", "--loss", "hinge", "--label-smooth applies to --loss bce" },
        { "--standing-stats", "x", NULL, NULL, "--standing-stats 'x'" },
        { "--ema-rampup", "0", NULL, NULL, "--ema-rampup '0'" },
        { "--ema-rampup", "101", NULL, NULL, "--ema-rampup '101'" },
        { "--standing-stats", "4", "--ema", "0", "--standing-stats computes the statistics of the EMA" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = { "cgan-cl", "train", bad[i].a, bad[i].b, bad[i].c, bad[i].d, NULL };
        ck_assert_int_eq(cli_run(argv), 2);
        ck_assert_msg(strstr(err_text, bad[i].want), "case %zu: want '%s' in: %s", i, bad[i].want, err_text);
    }
}
END_TEST

/* A short run with every stabiliser: the config and the checkpoint hold them, the EMA's
 * standing statistics and D's power-iteration vectors are in the checkpoint, and --resume
 * continues with them. */
START_TEST(test_cli_run_resume)
{
    char *dir = tu_tempdir("stabrun");
    const char *out = tu_pathf("%s/run", dir);
    const char *train[] = { "cgan-cl", "train", "--max-images", "64", "--batch", "8", "--ngf", "8", "--ndf", "8",
                            "--steps", "3", "--spectral-norm", "--standing-stats", "2", "--lr-schedule", "linear",
                            "--warmup", "2", "--label-smooth", "0.1", "--lr-d", "1e-4", "--sample-every", "100",
                            "--out", out, NULL };
    ck_assert_msg(cli_run(train) == 0, "%s%s", out_text, err_text);
    char *cfg = tu_read_text(tu_pathf("%s/config", out));
    ck_assert_msg(strstr(cfg, "\"lr_schedule\": \"linear\"") && strstr(cfg, "\"warmup\": 2") &&
                  strstr(cfg, "\"label_smooth\": 0.1") && strstr(cfg, "\"spectral_norm\": true") &&
                  strstr(cfg, "\"standing_stats\": 2") && strstr(cfg, "\"lr_steps\": 3"), "%s", cfg);
    free(cfg);
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, tu_pathf("%s/checkpoints/step_000003.safetensors", out), &f));
    int ema_stats = 0, sn = 0;
    for (int i = 0; i < cgan_st_count(f); i++) {
        const char *n = cgan_st_at(f, i)->name;
        ema_stats += !strncmp(n, "ema.G.", 6) && strstr(n, ".running_mean") != NULL;
        sn += !strncmp(n, "D.", 2) && strstr(n, "_sn.u") != NULL;
    }
    cgan_st_close(f);
    cgan_ctx_destroy(ctx);
    ck_assert_int_ge(ema_stats, 1);
    ck_assert_int_ge(sn, 2);
    const char *resume[] = { "cgan-cl", "train", "--resume", out, "--steps", "5", NULL };
    ck_assert_msg(cli_run(resume) == 0, "%s%s", out_text, err_text);
    ck_assert_msg(access(tu_pathf("%s/checkpoints/step_000005.safetensors", out), F_OK) == 0, "%s", out_text);
    const char *gen[] = { "cgan-cl", "generate", "--checkpoint", out, "--class", "0", "--n", "2", "--out",
                          tu_pathf("%s/g.png", dir), NULL };
    ck_assert_msg(cli_run(gen) == 0, "%s%s", out_text, err_text);
    tu_rmtree(dir);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("stab");
    TCase *tc = tcase_create("stab");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_lr_schedule_values);
    tcase_add_test(tc, test_lr_schedule_trains_and_resumes);
    tcase_add_test(tc, test_label_smooth_loss);
    tcase_add_test(tc, test_label_smooth_trainer);
    tcase_add_test(tc, test_sn_sigma_vs_svd);
    tcase_add_test(tc, test_sn_forward_backward);
    tcase_add_test(tc, test_sn_trainer_checkpoint);
    tcase_add_test(tc, test_standing_stats);
    tcase_add_test(tc, test_ema_rampup);
    tcase_add_test(tc, test_cli_flags);
    if (tu_require(access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) == 0, 1,
                   "Fashion-MNIST (apt-get install dataset-fashion-mnist)"))
        tcase_add_test(tc, test_cli_run_resume);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
