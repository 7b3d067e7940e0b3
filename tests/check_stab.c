/* The stabilisers of issue 20: learning-rate schedules with warm-up, one-sided label
 * smoothing, spectral normalisation of D, standing BatchNorm statistics of G's EMA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/exec.h"
#include "gan/checkpoint.h"
#include "gan/trainer.h"

static cgan_train_cfg tiny_cfg(void) { return tu_tiny_train_cfg(CGAN_COND_CONCAT); }
#define run tu_train_steps

/* Train `total` steps straight, and again as `half` steps, a checkpoint, a fresh trainer
 * loading it, and the rest: the logs must agree bit for bit. */
static void check_resume(cgan_ctx *ctx, const cgan_train_cfg *c, int total, int half, const char *tag)
{
    char *dir = tu_tempdir(tag);
    const char *path = tu_pathf("%s/a.safetensors", dir);
    char *classes[3] = { "a", "b", "c" };
    float *full = malloc((size_t)total * CGAN_LOG_FIELDS * sizeof *full);
    float *part = malloc((size_t)total * CGAN_LOG_FIELDS * sizeof *part);
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, c, &t));
    run(ctx, t, total, full);
    cgan_trainer_destroy(t);
    TU_OK(ctx, cgan_trainer_create(ctx, c, &t));
    run(ctx, t, half, NULL);
    TU_OK(ctx, cgan_checkpoint_save(t, path, classes, 3, NULL, 0));
    cgan_trainer_destroy(t);
    /* the settings come back from the checkpoint's config */
    cgan_st_file *f;
    cgan_train_cfg back;
    TU_OK(ctx, cgan_st_open(ctx, path, &f));
    TU_OK(ctx, cgan_checkpoint_config(ctx, f, &back));
    cgan_st_close(f);
    ck_assert_int_eq(back.lr_schedule, c->lr_schedule);
    ck_assert_int_eq(back.warmup, c->warmup);
    ck_assert_int_eq(back.lr_steps, c->lr_steps);
    ck_assert(back.label_smooth == c->label_smooth);
    ck_assert_int_eq(back.standing_stats, c->standing_stats);
    ck_assert_int_eq(back.model.spectral_norm, c->model.spectral_norm);
    TU_OK(ctx, cgan_trainer_create(ctx, &back, &t));
    TU_OK(ctx, cgan_checkpoint_load(t, path, NULL));
    run(ctx, t, total - half, part);
    for (int i = 0; i < (total - half) * CGAN_LOG_FIELDS; i++)
        ck_assert_msg(part[i] == full[half * CGAN_LOG_FIELDS + i], "%s: resumed run differs at %d: %g vs %g", tag, i,
                      part[i], full[half * CGAN_LOG_FIELDS + i]);
    cgan_trainer_destroy(t);
    tu_rmtree(dir);
    free(full);
    free(part);
}

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
    check_resume(ctx, &c, 6, 3, "sched");
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
    check_resume(ctx, &c, 4, 2, "smooth");
    cgan_ctx_destroy(ctx);
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
    suite_add_tcase(s, tc);
    return tu_run(s);
}
