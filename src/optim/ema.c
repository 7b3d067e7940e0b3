/* Exponential moving average of parameters (cl/ema.cl), its reference and self-check. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include "optim.h"
#include "core/rng.h"

cgan_status cgan_ema_update(cgan_ctx *ctx, size_t n, float decay, cl_mem ema, cl_mem param)
{
    if (!ctx) return CGAN_E_INVALID;
    if (n == 0) return cgan_error(ctx, CGAN_E_INVALID, "ema: n = 0, no parameters to average");
    if (n >= INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "ema: n = %zu exceeds the 32-bit index range", n);
    if (!(decay >= 0.0f && decay <= 1.0f)) /* NaN fails too */
        return cgan_error(ctx, CGAN_E_INVALID, "ema: decay = %g, must be in [0, 1]", decay);
    if (!ema || !param)
        return cgan_error(ctx, CGAN_E_INVALID, "ema: buffer %s is NULL", !ema ? "ema" : "param");
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "ema", NULL, "ema_update", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KFLOAT(decay),
                       CGAN_KFLOAT(1.0 - (double)decay), CGAN_KMEM(ema), CGAN_KMEM(param));
}

void cgan_ema_ref(size_t n, double decay, double *ema, const double *param)
{
    for (size_t i = 0; i < n; i++)
        ema[i] = decay == 0.0 ? param[i] : decay * ema[i] + (1.0 - decay) * param[i];
}

/* Self-check: initialise with decay 0 over a NaN-poisoned buffer, then several updates
 * with changing random parameters and decays, n odd. */
cgan_status cgan_check_ema(cgan_ctx *ctx, cgan_check_result *res)
{
    enum { N = 1237, STEPS = 6 };
    static const float decays[STEPS] = { 0.f, 0.999f, 0.9f, 0.5f, 0.99f, 1.f };
    const size_t bytes = N * sizeof(float);
    cgan_status st = CGAN_OK;
    cl_mem de = NULL, dp = NULL;
    float *hp = malloc(bytes), *got = malloc(bytes);
    double *re = calloc(N, sizeof *re), *rp = malloc(N * sizeof *rp);
    res->max_err = 0;
    res->tol = 1e-5;
    if (!hp || !got || !re || !rp) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    cgan_rng rng;
    cgan_rng_init(&rng, 4321, 3);
    if ((st = cgan_buffer_create(ctx, bytes, "ema", &de)) ||
        (st = cgan_buffer_create(ctx, bytes, "ema param", &dp)) ||
        (st = cgan_buffer_fill_f32(ctx, de, 0, N, NAN)))
        goto done;
    for (int s = 0; s < STEPS; s++) {
        cgan_rng_fill_normal(&rng, hp, N, 0.f, 1.f);
        for (size_t i = 0; i < N; i++) rp[i] = hp[i];
        cgan_ema_ref(N, decays[s], re, rp);
        if ((st = cgan_buffer_write(ctx, dp, 0, bytes, hp)) ||
            (st = cgan_ema_update(ctx, N, decays[s], de, dp)))
            goto done;
    }
    if ((st = cgan_buffer_read(ctx, de, 0, bytes, got))) goto done;
    res->max_err = cgan_max_rel_err(got, re, N);
    if (!(res->max_err <= res->tol))
        st = cgan_error(ctx, CGAN_E_NUMERIC, "ema: after %d updates: error %.3g exceeds %.3g", STEPS,
                        res->max_err, res->tol);
done:
    cgan_buffer_release(de);
    cgan_buffer_release(dp);
    free(hp); free(got); free(re); free(rp);
    return st;
}
