/* Optimisers: Adam and the parameter EMA against their double references, on whole
 * buffers and on sub-buffers, plus argument checking. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "optim/optim.h"

static const cgan_adam_cfg GAN_CFG = { .lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f,
                                       .weight_decay = 0.f };

static double *to_double(const float *f, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    return d;
}

/* Gradients with random signs and magnitudes spread over 1e-3 .. 10. */
static void fill_grads(cgan_rng *r, float *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = cgan_rng_normal(r) * powf(10.f, cgan_rng_uniform(r) * 4.f - 3.f);
}

static void expect_close(cgan_ctx *ctx, cl_mem m, const double *ref, size_t n, double tol,
                         const char *what, size_t size)
{
    float *got = malloc(n * sizeof *got);
    ck_assert_ptr_nonnull(got);
    tu_download(ctx, m, got, n);
    double e = cgan_max_rel_err(got, ref, n);
    ck_assert_msg(e <= tol, "%s (n=%zu): error %.3g exceeds %.3g", what, size, e, tol);
    free(got);
}

/* Run `steps` Adam steps from t0 with fresh random gradients each step, on the device and
 * in double, and compare param, m and v. With resume, m and v start from random state
 * (as after loading a checkpoint) instead of zeros. */
static void adam_vs_ref(size_t n, const cgan_adam_cfg *cfg, int t0, int steps, int resume,
                        uint32_t seed)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_rng r;
    cgan_rng_init(&r, 99, seed);
    float *p = tu_random(&r, n, -1.f, 1.f);
    float *m = tu_random(&r, n, -0.1f, 0.1f);
    float *v = tu_random(&r, n, 0.f, 0.01f);
    float *g = tu_random(&r, n, 0.f, 0.f);
    if (!resume) {
        memset(m, 0, n * sizeof *m);
        memset(v, 0, n * sizeof *v);
    }
    double *rp = to_double(p, n), *rm = to_double(m, n), *rv = to_double(v, n);
    double *p0 = to_double(p, n), *rg = malloc(n * sizeof *rg);
    ck_assert_ptr_nonnull(rg);
    cl_mem dp = tu_upload(ctx, p, n), dm = tu_upload(ctx, m, n), dv = tu_upload(ctx, v, n);
    cl_mem dg = tu_poisoned(ctx, n);
    for (int s = 0; s < steps; s++) {
        fill_grads(&r, g, n);
        for (size_t i = 0; i < n; i++) rg[i] = g[i];
        TU_OK(ctx, cgan_buffer_write(ctx, dg, 0, n * sizeof *g, g));
        TU_OK(ctx, cgan_adam_step(ctx, cfg, n, dp, dg, dm, dv, t0 + s));
        cgan_adam_ref(cfg, n, rp, rg, rm, rv, t0 + s);
    }
    expect_close(ctx, dp, rp, n, 1e-5, "param", n);
    expect_close(ctx, dm, rm, n, 1e-5, "m", n);
    expect_close(ctx, dv, rv, n, 1e-5, "v", n);
    /* The updates themselves, relative to their own size (lr per step at most). */
    tu_download(ctx, dp, p, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(((double)p[i] - p0[i]) - (rp[i] - p0[i]));
        if (d > worst) worst = d;
    }
    ck_assert_msg(worst <= 1e-3 * cfg->lr * steps, "update error %.3g (lr %g, %d steps, n=%zu)",
                  worst, cfg->lr, steps, n);
    cgan_buffer_release(dp); cgan_buffer_release(dg);
    cgan_buffer_release(dm); cgan_buffer_release(dv);
    free(p); free(m); free(v); free(g); free(rp); free(rm); free(rv); free(p0); free(rg);
    cgan_ctx_destroy(ctx);
}

static const size_t SIZES[4] = { 1, 7, 1237, 100003 };

/* _i: size index in the low two bits, weight decay on in bit 2. */
START_TEST(test_adam_random)
{
    cgan_adam_cfg cfg = { .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                          .weight_decay = (_i & 4) ? 0.05f : 0.f };
    adam_vs_ref(SIZES[_i & 3], &cfg, 1, 5, 0, (uint32_t)_i);
}
END_TEST

/* Continuing from saved moments at a late step, with the GAN betas and weight decay. */
START_TEST(test_adam_resume)
{
    cgan_adam_cfg cfg = GAN_CFG;
    cfg.weight_decay = 1e-3f;
    adam_vs_ref(1237, &cfg, 998, 4, 1, 100);
    adam_vs_ref(1001, &cfg, 1000000, 2, 1, 101); /* bias corrections ~1 */
}
END_TEST

/* At t = 1 the bias corrections make the first step move every parameter by ~lr against
 * the sign of its gradient, whatever the gradient's magnitude. */
START_TEST(test_adam_first_step)
{
    const size_t n = 4099;
    const cgan_adam_cfg cfgs[2] = {
        { .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.f },
        GAN_CFG,
    };
    cgan_ctx *ctx = tu_ctx();
    cgan_rng r;
    cgan_rng_init(&r, 5, 5);
    for (int c = 0; c < 2; c++) {
        float *p = tu_random(&r, n, -1.f, 1.f), *g = tu_random(&r, n, 0.f, 0.f);
        float *got = malloc(n * sizeof *got);
        for (size_t i = 0; i < n; i++) { /* |g| in [1e-3, 100], random sign */
            g[i] = powf(10.f, cgan_rng_uniform(&r) * 5.f - 3.f);
            if (cgan_rng_uniform(&r) < 0.5f) g[i] = -g[i];
        }
        cl_mem dp = tu_upload(ctx, p, n), dg = tu_upload(ctx, g, n);
        cl_mem dm = tu_poisoned(ctx, n), dv = tu_poisoned(ctx, n);
        TU_OK(ctx, cgan_buffer_fill_f32(ctx, dm, 0, n, 0.f));
        TU_OK(ctx, cgan_buffer_fill_f32(ctx, dv, 0, n, 0.f));
        TU_OK(ctx, cgan_adam_step(ctx, &cfgs[c], n, dp, dg, dm, dv, 1));
        tu_download(ctx, dp, got, n);
        const double lr = cfgs[c].lr;
        for (size_t i = 0; i < n; i++) {
            double moved = (double)got[i] - p[i], want = g[i] > 0 ? -lr : lr;
            ck_assert_msg(fabs(moved - want) <= 1e-3 * lr, "cfg %d element %zu (g=%g): moved %.9g, want %.9g",
                          c, i, g[i], moved, want);
        }
        cgan_buffer_release(dp); cgan_buffer_release(dg);
        cgan_buffer_release(dm); cgan_buffer_release(dv);
        free(p); free(g); free(got);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_ema_steps)
{
    static const float decays[] = { 0.f, 0.999f, 0.9f, 0.5f, 0.99f, 0.25f };
    const int steps = (int)(sizeof decays / sizeof decays[0]);
    const size_t n = SIZES[_i];
    cgan_ctx *ctx = tu_ctx();
    cgan_rng r;
    cgan_rng_init(&r, 11, (uint32_t)_i);
    float *p = tu_random(&r, n, 0.f, 0.f), *got = malloc(n * sizeof *got), *before = malloc(n * sizeof *before);
    double *re = to_double(p, n), *rp = malloc(n * sizeof *rp);
    cl_mem de = tu_poisoned(ctx, n), dp = tu_poisoned(ctx, n);
    for (int s = 0; s < steps; s++) {
        cgan_rng_fill_normal(&r, p, n, 0.5f, 2.f);
        for (size_t i = 0; i < n; i++) rp[i] = p[i];
        TU_OK(ctx, cgan_buffer_write(ctx, dp, 0, n * sizeof *p, p));
        TU_OK(ctx, cgan_ema_update(ctx, n, decays[s], de, dp));
        cgan_ema_ref(n, decays[s], re, rp);
        if (s == 0) { /* decay 0 copies param exactly, over a NaN-poisoned ema */
            tu_download(ctx, de, got, n);
            ck_assert_mem_eq(got, p, n * sizeof *p);
        }
    }
    expect_close(ctx, de, re, n, 1e-5, "ema", n);
    /* decay 1 leaves the average exactly as it was */
    tu_download(ctx, de, before, n);
    cgan_rng_fill_normal(&r, p, n, 0.f, 1.f);
    TU_OK(ctx, cgan_buffer_write(ctx, dp, 0, n * sizeof *p, p));
    TU_OK(ctx, cgan_ema_update(ctx, n, 1.f, de, dp));
    tu_download(ctx, de, got, n);
    ck_assert_mem_eq(got, before, n * sizeof *got);
    cgan_buffer_release(de); cgan_buffer_release(dp);
    free(p); free(got); free(before); free(re); free(rp);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Parameters at an aligned offset inside larger buffers, as when one optimiser runs over
 * the generator's part of a shared parameter arena: the range is updated, the rest of the
 * parent buffers is left bit-for-bit untouched. */
START_TEST(test_sub_range)
{
    cgan_ctx *ctx = tu_ctx();
    const size_t n = 1001, off = 2 * ctx->profile.mem_align / sizeof(float), total = off + n + 333;
    const size_t bytes = total * sizeof(float);
    cgan_rng r;
    cgan_rng_init(&r, 21, 0);
    float *p = tu_random(&r, total, -1.f, 1.f), *g = tu_random(&r, total, -1.f, 1.f);
    float *m = tu_random(&r, total, -1.f, 1.f), *v = tu_random(&r, total, 0.f, 1.f);
    float *e = tu_random(&r, total, -1.f, 1.f), *got = malloc(bytes);
    for (size_t i = off; i < off + n; i++) m[i] = v[i] = 0.f;
    cl_mem P = tu_upload(ctx, p, total), G = tu_upload(ctx, g, total), M = tu_upload(ctx, m, total);
    cl_mem V = tu_upload(ctx, v, total), E = tu_upload(ctx, e, total);
    cl_mem sp, sg, sm, sv, se;
    const size_t ob = off * sizeof(float), nb = n * sizeof(float);
    TU_OK(ctx, cgan_buffer_sub(ctx, P, ob, nb, "param range", &sp));
    TU_OK(ctx, cgan_buffer_sub(ctx, G, ob, nb, "grad range", &sg));
    TU_OK(ctx, cgan_buffer_sub(ctx, M, ob, nb, "m range", &sm));
    TU_OK(ctx, cgan_buffer_sub(ctx, V, ob, nb, "v range", &sv));
    TU_OK(ctx, cgan_buffer_sub(ctx, E, ob, nb, "ema range", &se));
    cgan_adam_cfg cfg = GAN_CFG;
    cfg.lr = 0.01f;
    cfg.weight_decay = 0.02f;
    double *rp = to_double(p + off, n), *rg = to_double(g + off, n);
    double *rm = to_double(m + off, n), *rv = to_double(v + off, n), *re = to_double(e + off, n);
    for (int t = 1; t <= 3; t++) {
        TU_OK(ctx, cgan_adam_step(ctx, &cfg, n, sp, sg, sm, sv, t));
        cgan_adam_ref(&cfg, n, rp, rg, rm, rv, t);
        TU_OK(ctx, cgan_ema_update(ctx, n, 0.9f, se, sp));
        cgan_ema_ref(n, 0.9, re, rp);
    }
    const float *host[5] = { p, g, m, v, e };
    cl_mem parent[5] = { P, G, M, V, E };
    const double *ref[5] = { rp, rg, rm, rv, re };
    static const char *const names[5] = { "param", "grad", "m", "v", "ema" };
    for (int b = 0; b < 5; b++) {
        tu_download(ctx, parent[b], got, total);
        ck_assert_msg(memcmp(got, host[b], ob) == 0, "%s changed before the range", names[b]);
        ck_assert_msg(memcmp(got + off + n, host[b] + off + n, (total - off - n) * sizeof(float)) == 0,
                      "%s changed after the range", names[b]);
        double err = cgan_max_rel_err(got + off, ref[b], n);
        ck_assert_msg(err <= 1e-5, "%s in the range: error %.3g", names[b], err);
    }
    cl_mem all[10] = { sp, sg, sm, sv, se, P, G, M, V, E };
    for (int b = 0; b < 10; b++) cgan_buffer_release(all[b]);
    free(p); free(g); free(m); free(v); free(e); free(got);
    free(rp); free(rg); free(rm); free(rv); free(re);
    cgan_ctx_destroy(ctx);
}
END_TEST

static void expect_invalid(cgan_ctx *ctx, cgan_status st, const char *field)
{
    ck_assert_msg(st == CGAN_E_INVALID, "bad %s accepted: %s", field, cgan_status_str(st));
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, field) != NULL, "message does not name %s: %s", field, msg);
    cgan_clear_error(ctx);
}

START_TEST(test_invalid_args)
{
    cgan_ctx *ctx = tu_ctx();
    const size_t n = 37;
    cgan_rng r;
    cgan_rng_init(&r, 3, 3);
    float *p = tu_random(&r, n, -1.f, 1.f), *pv = tu_random(&r, n, 0.f, 1.f);
    float *got = malloc(n * sizeof *got);
    cl_mem dp = tu_upload(ctx, p, n), dg = tu_upload(ctx, p, n), dm = tu_upload(ctx, p, n);
    cl_mem dv = tu_upload(ctx, pv, n); /* second moments are never negative */
    const cgan_adam_cfg ok = GAN_CFG;
    cgan_adam_cfg c;
#define BAD_CFG(field, value)                                                          \
    do {                                                                               \
        c = ok;                                                                        \
        c.field = (value);                                                             \
        expect_invalid(ctx, cgan_adam_step(ctx, &c, n, dp, dg, dm, dv, 1), #field);    \
    } while (0)
    BAD_CFG(lr, -1e-3f);
    BAD_CFG(lr, NAN);
    BAD_CFG(lr, INFINITY);
    BAD_CFG(beta1, 1.f);
    BAD_CFG(beta1, -0.1f);
    BAD_CFG(beta1, NAN);
    BAD_CFG(beta2, 1.f);
    BAD_CFG(beta2, 1.5f);
    BAD_CFG(eps, 0.f);
    BAD_CFG(eps, -1e-8f);
    BAD_CFG(eps, NAN);
    BAD_CFG(weight_decay, -0.01f);
    BAD_CFG(weight_decay, NAN);
#undef BAD_CFG
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, n, dp, dg, dm, dv, 0), "t =");
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, n, dp, dg, dm, dv, -4), "t =");
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, 0, dp, dg, dm, dv, 1), "n =");
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, (size_t)INT_MAX, dp, dg, dm, dv, 1), "n =");
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, (size_t)-1, dp, dg, dm, dv, 1), "n =");
    expect_invalid(ctx, cgan_adam_step(ctx, NULL, n, dp, dg, dm, dv, 1), "cfg");
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, n, NULL, dg, dm, dv, 1), "param");
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, n, dp, NULL, dm, dv, 1), "grad");
    expect_invalid(ctx, cgan_adam_step(ctx, &ok, n, dp, dg, dm, NULL, 1), "v");
    expect_invalid(ctx, cgan_ema_update(ctx, n, -0.1f, dm, dp), "decay");
    expect_invalid(ctx, cgan_ema_update(ctx, n, 1.0001f, dm, dp), "decay");
    expect_invalid(ctx, cgan_ema_update(ctx, n, NAN, dm, dp), "decay");
    expect_invalid(ctx, cgan_ema_update(ctx, 0, 0.5f, dm, dp), "n =");
    expect_invalid(ctx, cgan_ema_update(ctx, (size_t)INT_MAX + 5, 0.5f, dm, dp), "n =");
    expect_invalid(ctx, cgan_ema_update(ctx, n, 0.5f, NULL, dp), "ema");
    expect_invalid(ctx, cgan_ema_update(ctx, n, 0.5f, dm, NULL), "param");
    ck_assert_int_eq(cgan_adam_step(NULL, &ok, n, dp, dg, dm, dv, 1), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_ema_update(NULL, n, 0.5f, dm, dp), CGAN_E_INVALID);
    /* nothing was enqueued by the rejected calls */
    cl_mem all[4] = { dp, dg, dm, dv };
    for (int b = 0; b < 4; b++) {
        tu_download(ctx, all[b], got, n);
        ck_assert_msg(memcmp(got, b == 3 ? pv : p, n * sizeof *p) == 0,
                      "buffer %d changed by a rejected call", b);
    }
    /* edge values that are valid: lr 0 is a no-op on param, betas 0, decay 0 and 1 */
    c = ok;
    c.lr = 0.f;
    TU_OK(ctx, cgan_adam_step(ctx, &c, n, dp, dg, dm, dv, 1));
    tu_download(ctx, dp, got, n);
    ck_assert_mem_eq(got, p, n * sizeof *p);
    c = ok;
    c.beta1 = 0.f;
    c.beta2 = 0.f;
    TU_OK(ctx, cgan_adam_step(ctx, &c, n, dp, dg, dm, dv, 3));
    TU_OK(ctx, cgan_ema_update(ctx, n, 0.f, dm, dp));
    TU_OK(ctx, cgan_ema_update(ctx, n, 1.f, dm, dp));
    TU_OK(ctx, cgan_finish(ctx));
    for (int b = 0; b < 4; b++) cgan_buffer_release(all[b]);
    free(p); free(pv); free(got);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_selfchecks)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_check_result res = { -1, -1 };
    TU_OK(ctx, cgan_check_adam(ctx, &res));
    ck_assert(res.tol > 0 && res.max_err >= 0 && res.max_err <= res.tol);
    res = (cgan_check_result){ -1, -1 };
    TU_OK(ctx, cgan_check_ema(ctx, &res));
    ck_assert(res.tol > 0 && res.max_err >= 0 && res.max_err <= res.tol);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("adam");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_adam_random, 0, 8);
    tcase_add_test(tc, test_adam_resume);
    tcase_add_test(tc, test_adam_first_step);
    suite_add_tcase(s, tc);
    tc = tcase_create("ema");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_ema_steps, 0, 4);
    suite_add_tcase(s, tc);
    tc = tcase_create("ranges");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_sub_range);
    tcase_add_test(tc, test_invalid_args);
    tcase_add_test(tc, test_selfchecks);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
