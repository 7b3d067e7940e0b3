/* cgan-bench step / generate: full training steps (D on a real and a fake batch, then G
 * through D, Adam on both: the workload of torch_dcgan_bench.py) and generation batches,
 * median of --repeat after --warmup, timed with the host clock around a drained queue and
 * with profiling markers (the device's view). With --count, bench_count.c counts the
 * OpenCL host calls of each step instead. */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

static int run_one(cgan_ctx *ctx, const bench_opts *o, cgan_arch arch, int generate)
{
    cgan_train_cfg cfg;
    bench_train_cfg(arch, o->batch, &cfg);
    bench_apply_widths(o, &cfg);
    const int S = cfg.model.size, B = o->batch;
    size_t img = (size_t)B * cfg.model.nc * S * S;
    float *x = malloc(img * sizeof *x), *y = malloc((size_t)B * sizeof *y), *z = malloc((size_t)B * cfg.model.nz * sizeof *z);
    double *ms = malloc((size_t)o->repeat * 2 * sizeof *ms), *ev = ms ? ms + o->repeat : NULL;
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
        bench_clock c;
        double h, e;
        if (bench_clock_start(ctx, &c)) goto done;
        cgan_status st = generate ? cgan_sampler_run(s, z, cfg.model.num_classes ? y : NULL, x)
                                  : cgan_trainer_step(t, x, cfg.model.num_classes ? y : NULL);
        if (st == CGAN_OK) st = bench_clock_stop(ctx, &c, &h, &e);
        else clReleaseEvent(c.start);
        if (st != CGAN_OK) goto done;
        if (i >= o->warmup) {
            ms[i - o->warmup] = h;
            ev[i - o->warmup] = e;
        }
    }
    double med = bench_median(ms, o->repeat), emed = bench_median(ev, o->repeat);
    const char *what = generate ? "generate" : "train";
    if (o->json)
        bench_emit(ctx, json_pack("{s:s,s:s,s:i,s:i,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:f,s:f}", "bench", what,
                                  "arch", cgan_arch_name(arch), "nc", cfg.model.nc, "classes",
                                  cfg.model.num_classes, "cond", cgan_cond_name(cfg.model.cond),
                                  "nz", cfg.model.nz, "ngf", cfg.model.ngf, "ndf", cfg.model.ndf,
                                  "batch", B, "repeat", o->repeat, "warmup", o->warmup, "ms", med,
                                  "event_ms", emed, "img_per_s", B * 1000.0 / med,
                                  "img_per_s_event", emed > 0 ? B * 1000.0 / emed : 0.0));
    else
        printf("%-8s %-8s nc=%d K=%-2d ngf=%d ndf=%d batch %-4d %9.2f ms (events %9.2f ms)  %8.1f img/s\n",
               what, cgan_arch_name(arch), cfg.model.nc, cfg.model.num_classes, cfg.model.ngf, cfg.model.ndf, B,
               med, emed,
               B * 1000.0 / med);
    rc = 0;
done:
    if (rc) fprintf(stderr, "cgan-bench: %s\n", bench_error(ctx));
    cgan_trainer_destroy(t);
    cgan_sampler_destroy(s);
    free(x); free(y); free(z); free(ms);
    return rc;
}

int bench_step(cgan_ctx *ctx, const bench_opts *o, int generate)
{
    if (o->count) return bench_count(ctx, o, generate);
    int rc = 0;
    if (bench_arch_on(o, CGAN_ARCH_SEED32)) rc |= run_one(ctx, o, CGAN_ARCH_SEED32, generate);
    if (bench_arch_on(o, CGAN_ARCH_DCGAN64)) rc |= run_one(ctx, o, CGAN_ARCH_DCGAN64, generate);
    return rc;
}
