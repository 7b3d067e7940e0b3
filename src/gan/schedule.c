/* Learning-rate schedules with linear warm-up (cgan/trainer.h, cgan_lr_at). */
#include <math.h>
#include <string.h>
#include "gan/stab.h"

static const char *const names[] = { "constant", "linear", "cosine" };

const char *cgan_lr_schedule_name(cgan_lr_schedule s)
{
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

int cgan_lr_schedule_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

float cgan_lr_at(const cgan_train_cfg *c, int d, int64_t step)
{
    const double base = d ? c->lr_d : c->lr_g;
    const int64_t W = c->warmup > 0 ? c->warmup : 0, T = c->lr_steps;
    double w = 1.0, p = 0.0, f = 1.0;
    if (step < 0) step = 0;
    if (step < W) w = (double)(step + 1) / (double)W;
    if (T > W && step > W) p = step >= T ? 1.0 : (double)(step - W) / (double)(T - W);
    else if (T > 0 && T <= W && step >= W) p = 1.0; /* the warm-up fills the run */
    if (c->lr_schedule == CGAN_LR_LINEAR) f = 1.0 - p;
    else if (c->lr_schedule == CGAN_LR_COSINE) f = 0.5 * (1.0 + cos(M_PI * p));
    return (float)(base * w * f);
}

int cgan_train_standing_batches(const cgan_train_cfg *c)
{
    if (c->standing_stats != CGAN_STANDING_AUTO) return c->standing_stats;
    return c->model.cond == CGAN_COND_TEXT || c->ema == 0 ? 0 : CGAN_STANDING_DEFAULT;
}

cgan_status cgan_stab_check(cgan_ctx *ctx, const cgan_train_cfg *c)
{
    if ((unsigned)c->lr_schedule > CGAN_LR_COSINE)
        return cgan_error(ctx, CGAN_E_INVALID, "--lr-schedule: unknown schedule %d", (int)c->lr_schedule);
    if (c->warmup < 0 || c->warmup > 1000000000)
        return cgan_error(ctx, CGAN_E_INVALID, "--warmup %lld: expected 0..1000000000 steps", (long long)c->warmup);
    if (c->lr_steps < 0) return cgan_error(ctx, CGAN_E_INVALID, "learning-rate schedule length %lld < 0", (long long)c->lr_steps);
    if (!(c->label_smooth >= 0 && c->label_smooth < 0.5f))
        return cgan_error(ctx, CGAN_E_INVALID, "--label-smooth %g: expected a number in [0, 0.5)", c->label_smooth);
    if (c->label_smooth > 0 && c->loss == CGAN_LOSS_HINGE)
        return cgan_error(ctx, CGAN_E_INVALID, "--label-smooth applies to --loss bce (a target for D's real images); "
                          "the hinge loss has no target to smooth");
    if ((c->standing_stats < 0 && c->standing_stats != CGAN_STANDING_AUTO) || c->standing_stats > 10000)
        return cgan_error(ctx, CGAN_E_INVALID, "--standing-stats %d: expected 0..10000 batches", c->standing_stats);
    if (c->standing_stats > 0 && c->model.cond == CGAN_COND_TEXT)
        return cgan_error(ctx, CGAN_E_INVALID, "--standing-stats mixes classes in its noise batches; text models (--cond "
                          "text) have none");
    if (c->standing_stats > 0 && c->ema == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "--standing-stats computes the statistics of the EMA weights; it needs "
                          "--ema > 0");
    return CGAN_OK;
}
