/* cgan-bench tune's last stage: the tuned table judged on the models themselves. Each GEMM
 * candidate is timed alone, with its operands hot in the caches; inside a training step
 * or a generator pass they are not, and a choice that wins alone can lose there (seen on
 * PoCL). So whole training steps and generation batches of the tuned models are timed
 * with the table applied and not, in alternating rounds, and the table is kept only when
 * the models get faster. */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define ROUNDS 3

typedef struct model_run {
    cgan_trainer *t;
    cgan_sampler *s;
    float *x, *y, *z;
    int labelled;
} model_run;

static void run_free(model_run *r)
{
    cgan_trainer_destroy(r->t);
    cgan_sampler_destroy(r->s);
    free(r->x); free(r->y); free(r->z);
    memset(r, 0, sizeof *r);
}

static cgan_status run_init(cgan_ctx *ctx, cgan_arch arch, int batch, model_run *r)
{
    cgan_train_cfg cfg;
    bench_train_cfg(arch, batch, &cfg);
    const int S = cfg.model.size;
    size_t img = (size_t)batch * cfg.model.nc * S * S;
    memset(r, 0, sizeof *r);
    r->x = malloc(img * sizeof *r->x);
    r->y = malloc((size_t)batch * sizeof *r->y);
    r->z = malloc((size_t)batch * cfg.model.nz * sizeof *r->z);
    if (!r->x || !r->y || !r->z) return bench_fail(ctx, CGAN_E_NOMEM, "tune: out of memory");
    cgan_rng g;
    cgan_rng_init(&g, 11, 3);
    cgan_rng_fill_uniform(&g, r->x, img, -1, 1);
    cgan_rng_fill_normal(&g, r->z, (size_t)batch * cfg.model.nz, 0, 1);
    r->labelled = cfg.model.num_classes > 0;
    for (int i = 0; i < batch; i++) r->y[i] = (float)(r->labelled ? i % cfg.model.num_classes : 0);
    BENCH_TRY(cgan_trainer_create(ctx, &cfg, &r->t));
    return cgan_sampler_create(ctx, &cfg.model, batch, &r->s);
}

/* One training step and one generation batch, host milliseconds around a drained queue. */
static cgan_status run_once(cgan_ctx *ctx, model_run *r, double *ms)
{
    bench_clock c;
    double h, e;
    BENCH_TRY(bench_clock_start(ctx, &c));
    cgan_status st = cgan_trainer_step(r->t, r->x, r->labelled ? r->y : NULL);
    if (st == CGAN_OK) st = cgan_sampler_run(r->s, r->z, r->labelled ? r->y : NULL, r->x);
    if (st != CGAN_OK) {
        clReleaseEvent(c.start);
        return st;
    }
    BENCH_TRY(bench_clock_stop(ctx, &c, &h, &e));
    *ms = h;
    return CGAN_OK;
}

/* The table on (tuned) or off, read again from its file. */
static void use_table(cgan_ctx *ctx, int tuned)
{
    cgan_tuning_use(ctx, tuned);
}

cgan_status bench_model_check(cgan_ctx *ctx, const bench_opts *o, double *default_ms,
                              double *tuned_ms)
{
    model_run runs[2];
    int n = 0;
    double t[2][ROUNDS];
    cgan_status st = CGAN_OK;
    memset(runs, 0, sizeof runs);
    for (int a = 0; a < 2 && st == CGAN_OK; a++)
        if (bench_arch_on(o, (cgan_arch)a)) st = run_init(ctx, (cgan_arch)a, o->batch, &runs[n++]);
    /* a warm-up of each setting builds its kernels outside the timings */
    for (int tuned = 0; tuned < 2 && st == CGAN_OK; tuned++) {
        use_table(ctx, tuned);
        for (int i = 0; i < n && st == CGAN_OK; i++) {
            double ms;
            st = run_once(ctx, &runs[i], &ms);
        }
    }
    for (int k = 0; k < ROUNDS && st == CGAN_OK; k++)
        for (int tuned = 0; tuned < 2 && st == CGAN_OK; tuned++) {
            use_table(ctx, tuned);
            t[tuned][k] = 0;
            for (int i = 0; i < n && st == CGAN_OK; i++) {
                double ms = 0;
                st = run_once(ctx, &runs[i], &ms);
                t[tuned][k] += ms;
            }
        }
    use_table(ctx, 1);
    if (st == CGAN_OK) {
        *default_ms = bench_median(t[0], ROUNDS);
        *tuned_ms = bench_median(t[1], ROUNDS);
    }
    for (int i = 0; i < n; i++) run_free(&runs[i]);
    return st;
}
