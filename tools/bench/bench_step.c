/* cgan-bench step / generate: full training steps (D on a real and a fake batch, then G
 * through D, Adam on both: the workload of torch_dcgan_bench.py) and generation batches,
 * median of --repeat after --warmup, timed with the host clock around a drained queue. */
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "core/rng.h"
#include "gan/sampler.h"
#include "gan/trainer.h"

static void arch_cfg(cgan_arch arch, int batch, cgan_train_cfg *c)
{
    *c = cgan_train_defaults();
    c->model.arch = arch;
    c->model.batch = batch;
    c->ema = 0; /* the peer keeps no EMA */
    if (arch == CGAN_ARCH_DCGAN64) { c->model.nc = 3; c->model.num_classes = 0; c->model.cond = CGAN_COND_NONE; }
}

static int run_one(cgan_ctx *ctx, const bench_opts *o, cgan_arch arch, int generate)
{
    cgan_train_cfg cfg;
    arch_cfg(arch, o->batch, &cfg);
    const int S = cgan_model_image_size(arch), B = o->batch;
    size_t img = (size_t)B * cfg.model.nc * S * S;
    float *x = malloc(img * sizeof *x), *y = malloc((size_t)B * sizeof *y), *z = malloc((size_t)B * cfg.model.nz * sizeof *z);
    double *ms = malloc((size_t)o->repeat * sizeof *ms);
    cgan_trainer *t = NULL;
    cgan_sampler *s = NULL;
    int rc = 1;
    if (!x || !y || !z || !ms) goto done;
    cgan_rng r;
    cgan_rng_init(&r, 5, 5);
    cgan_rng_fill_uniform(&r, x, img, -1, 1);
    cgan_rng_fill_normal(&r, z, (size_t)B * cfg.model.nz, 0, 1);
    for (int i = 0; i < B; i++) y[i] = (float)(cfg.model.num_classes ? i % cfg.model.num_classes : 0);
    if (generate) {
        if (cgan_sampler_create(ctx, &cfg.model, B, &s)) goto done;
    } else if (cgan_trainer_create(ctx, &cfg, &t)) goto done;
    for (int i = 0; i < o->warmup + o->repeat; i++) {
        if (cgan_finish(ctx)) goto done;
        double t0 = bench_now_ms();
        if (generate ? cgan_sampler_run(s, z, cfg.model.num_classes ? y : NULL, x)
                     : cgan_trainer_step(t, x, cfg.model.num_classes ? y : NULL))
            goto done;
        if (cgan_finish(ctx)) goto done;
        if (i >= o->warmup) ms[i - o->warmup] = bench_now_ms() - t0;
    }
    double med = bench_median(ms, o->repeat);
    const char *what = generate ? "generate" : "train";
    if (o->json)
        printf("{\"bench\":\"%s\",\"arch\":\"%s\",\"nc\":%d,\"classes\":%d,\"batch\":%d,\"device\":\"%s\",\"ms\":%.2f,\"img_per_s\":%.1f}\n",
               what, cgan_arch_name(arch), cfg.model.nc, cfg.model.num_classes, B, cgan_ctx_device(ctx)->name, med,
               B * 1000.0 / med);
    else
        printf("%-8s %-8s nc=%d K=%-2d batch %-4d %9.2f ms  %8.1f img/s\n", what, cgan_arch_name(arch), cfg.model.nc,
               cfg.model.num_classes, B, med, B * 1000.0 / med);
    rc = 0;
done:
    if (rc) fprintf(stderr, "cgan-bench: %s\n", cgan_last_error(ctx));
    cgan_trainer_destroy(t);
    cgan_sampler_destroy(s);
    free(x); free(y); free(z); free(ms);
    return rc;
}

int bench_step(cgan_ctx *ctx, const bench_opts *o, int generate)
{
    int rc = 0;
    if (!o->arch || !strcmp(o->arch, "seed32")) rc |= run_one(ctx, o, CGAN_ARCH_SEED32, generate);
    if (!o->arch || !strcmp(o->arch, "dcgan64")) rc |= run_one(ctx, o, CGAN_ARCH_DCGAN64, generate);
    return rc;
}
