/* Adam over a contiguous parameter range (cl/adam.cl), its double reference and self-check. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include "optim.h"
#include "core/rng.h"

/* Every argument of an Adam step, checked before anything is enqueued. NaN fails the
 * comparisons below on purpose, so it is rejected with the field's name. */
static cgan_status check_args(cgan_ctx *ctx, const cgan_adam_cfg *c, size_t n, cl_mem param,
                              cl_mem grad, cl_mem m, cl_mem v, int t)
{
    if (!c) return cgan_error(ctx, CGAN_E_INVALID, "adam: cfg is NULL");
    if (t < 1) return cgan_error(ctx, CGAN_E_INVALID, "adam: step t = %d, must be >= 1 (1-based)", t);
    if (n == 0) return cgan_error(ctx, CGAN_E_INVALID, "adam: n = 0, no parameters to update");
    if (n >= INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "adam: n = %zu exceeds the 32-bit index range", n);
    if (!(c->lr >= 0.0f) || isinf(c->lr))
        return cgan_error(ctx, CGAN_E_INVALID, "adam: lr = %g, must be finite and >= 0", c->lr);
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f))
        return cgan_error(ctx, CGAN_E_INVALID, "adam: beta1 = %g, must be in [0, 1)", c->beta1);
    if (!(c->beta2 >= 0.0f && c->beta2 < 1.0f))
        return cgan_error(ctx, CGAN_E_INVALID, "adam: beta2 = %g, must be in [0, 1)", c->beta2);
    if (!(c->eps > 0.0f) || isinf(c->eps))
        return cgan_error(ctx, CGAN_E_INVALID, "adam: eps = %g, must be finite and > 0", c->eps);
    if (!(c->weight_decay >= 0.0f) || isinf(c->weight_decay))
        return cgan_error(ctx, CGAN_E_INVALID, "adam: weight_decay = %g, must be finite and >= 0",
                          c->weight_decay);
    const char *missing = !param ? "param" : !grad ? "grad" : !m ? "m" : !v ? "v" : NULL;
    if (missing) return cgan_error(ctx, CGAN_E_INVALID, "adam: buffer %s is NULL", missing);
    return CGAN_OK;
}

/* Bias corrections for step t, in double: lr / (1 - b1^t) and 1 / sqrt(1 - b2^t). */
static void corrections(const cgan_adam_cfg *c, int t, double *step, double *inv_sqrt_bc2)
{
    double bc1 = 1.0 - pow((double)c->beta1, (double)t);
    double bc2 = 1.0 - pow((double)c->beta2, (double)t);
    *step = (double)c->lr / bc1;
    *inv_sqrt_bc2 = 1.0 / sqrt(bc2);
}

cgan_status cgan_adam_step(cgan_ctx *ctx, const cgan_adam_cfg *cfg, size_t n, cl_mem param,
                           cl_mem grad, cl_mem m, cl_mem v, int t)
{
    if (!ctx) return CGAN_E_INVALID;
    CGAN_TRY(check_args(ctx, cfg, n, param, grad, m, v, t));
    double step, inv_sqrt_bc2;
    corrections(cfg, t, &step, &inv_sqrt_bc2);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "adam", NULL, "adam_step", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KFLOAT(step), CGAN_KFLOAT(inv_sqrt_bc2),
                       CGAN_KFLOAT(cfg->beta1), CGAN_KFLOAT(1.0 - (double)cfg->beta1),
                       CGAN_KFLOAT(cfg->beta2), CGAN_KFLOAT(1.0 - (double)cfg->beta2),
                       CGAN_KFLOAT(cfg->eps), CGAN_KFLOAT(cfg->weight_decay), CGAN_KMEM(param),
                       CGAN_KMEM(grad), CGAN_KMEM(m), CGAN_KMEM(v));
}

void cgan_adam_ref(const cgan_adam_cfg *cfg, size_t n, double *param, const double *grad,
                   double *m, double *v, int t)
{
    const double b1 = cfg->beta1, b2 = cfg->beta2, wd = cfg->weight_decay;
    const double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
    for (size_t i = 0; i < n; i++) {
        double g = grad[i];
        if (wd != 0.0) g += wd * param[i];
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        param[i] -= (double)cfg->lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + (double)cfg->eps);
    }
}

static void to_double(double *d, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = f[i];
}

/* Self-check: 5 steps with fresh random gradients of mixed magnitudes each step, weight
 * decay on, n odd; the parameters and both moments are compared with the reference. */
cgan_status cgan_check_adam(cgan_ctx *ctx, cgan_check_result *res)
{
    enum { N = 1237, STEPS = 5 };
    const cgan_adam_cfg cfg = { .lr = 0.01f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f,
                                .weight_decay = 0.01f };
    const size_t bytes = N * sizeof(float);
    cgan_status st = CGAN_OK;
    cl_mem dp = NULL, dg = NULL, dm = NULL, dv = NULL;
    float *hp = malloc(bytes), *hg = malloc(bytes), *got = malloc(bytes);
    double *rp = malloc(N * sizeof *rp), *rg = malloc(N * sizeof *rg);
    double *rm = calloc(N, sizeof *rm), *rv = calloc(N, sizeof *rv);
    res->max_err = 0;
    res->tol = 1e-5;
    if (!hp || !hg || !got || !rp || !rg || !rm || !rv) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    cgan_rng rng;
    cgan_rng_init(&rng, 1234, 7);
    cgan_rng_fill_uniform(&rng, hp, N, -1.f, 1.f);
    to_double(rp, hp, N);
    if ((st = cgan_buffer_create(ctx, bytes, "adam param", &dp)) ||
        (st = cgan_buffer_create(ctx, bytes, "adam grad", &dg)) ||
        (st = cgan_buffer_create(ctx, bytes, "adam m", &dm)) ||
        (st = cgan_buffer_create(ctx, bytes, "adam v", &dv)) ||
        (st = cgan_buffer_write(ctx, dp, 0, bytes, hp)) ||
        (st = cgan_buffer_fill_f32(ctx, dm, 0, N, 0.f)) ||
        (st = cgan_buffer_fill_f32(ctx, dv, 0, N, 0.f)))
        goto done;
    for (int t = 1; t <= STEPS; t++) {
        for (size_t i = 0; i < N; i++) /* magnitudes from 1e-3 to 10 */
            hg[i] = cgan_rng_normal(&rng) * powf(10.f, cgan_rng_uniform(&rng) * 4.f - 3.f);
        to_double(rg, hg, N);
        cgan_adam_ref(&cfg, N, rp, rg, rm, rv, t);
        if ((st = cgan_buffer_write(ctx, dg, 0, bytes, hg)) ||
            (st = cgan_adam_step(ctx, &cfg, N, dp, dg, dm, dv, t)))
            goto done;
    }
    static const char *const names[3] = { "param", "m", "v" };
    cl_mem bufs[3] = { dp, dm, dv };
    const double *refs[3] = { rp, rm, rv };
    for (int j = 0; j < 3; j++) {
        if ((st = cgan_buffer_read(ctx, bufs[j], 0, bytes, got))) goto done;
        double e = cgan_max_rel_err(got, refs[j], N);
        if (!(e <= res->max_err)) res->max_err = e;
        if (!(e <= res->tol)) {
            st = cgan_error(ctx, CGAN_E_NUMERIC, "adam: %s after %d steps: error %.3g exceeds %.3g",
                            names[j], STEPS, e, res->tol);
            goto done;
        }
    }
done:
    cgan_buffer_release(dp);
    cgan_buffer_release(dg);
    cgan_buffer_release(dm);
    cgan_buffer_release(dv);
    free(hp); free(hg); free(got); free(rp); free(rg); free(rm); free(rv);
    return st;
}
