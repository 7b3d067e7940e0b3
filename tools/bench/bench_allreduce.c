/* cgan-bench allreduce: the collective under the data-parallel trainer (doc/scaling.md).
 * Run it under mpirun -np N (one process measures nothing but the step):
 * 1. all-reduce latency and bandwidth of host float buffers the sizes of the models'
 *    gradient arenas (G and D of seed32 and dcgan64) and of a sweep of sizes: median of
 *    --repeat after --warmup, each started together after a barrier; algbw = bytes / time,
 *    busbw = algbw x 2(N-1)/N (what a ring moves per link);
 * 2. the training step split: a data-parallel step of --batch images over the N processes
 *    (--batch / N each), its communication span and the exposed part (the host waiting on
 *    the all-reduce after backward had finished), against a step of the same per-process
 *    batch without communication, run at the same time on every process. */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

static cgan_status time_allreduce(cgan_dist *d, cgan_ctx *ctx, float *buf, size_t n, const bench_opts *o,
                                  double *med)
{
    double *ms = malloc((size_t)o->repeat * sizeof *ms);
    if (!ms) return bench_fail(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = CGAN_OK;
    for (int i = 0; i < o->warmup + o->repeat && st == CGAN_OK; i++) {
        for (size_t k = 0; k < n; k++) buf[k] = (float)(k % 7);
        if ((st = cgan_dist_barrier(d, ctx))) break;
        double t0 = bench_now_ms();
        if ((st = cgan_dist_allreduce(d, ctx, buf, n, CGAN_DIST_F32, CGAN_DIST_SUM))) break;
        double t = bench_now_ms() - t0;
        if ((st = cgan_dist_allreduce(d, ctx, &t, 1, CGAN_DIST_F64, CGAN_DIST_MAX))) break;
        if (i >= o->warmup) ms[i - o->warmup] = t;
    }
    if (st == CGAN_OK) *med = bench_median(ms, o->repeat);
    free(ms);
    return st;
}

static void report_size(cgan_ctx *ctx, const bench_opts *o, int np, const char *what, size_t n, double ms)
{
    const double bytes = (double)n * sizeof(float), algbw = ms > 0 ? bytes / (ms * 1e6) : 0;
    const double busbw = algbw * (np > 1 ? 2.0 * (np - 1) / np : 0);
    if (o->json)
        bench_emit(ctx, json_pack("{s:s,s:s,s:i,s:I,s:f,s:f,s:f}", "bench", "allreduce", "what", what, "processes",
                                  np, "bytes", (json_int_t)bytes, "ms", ms, "algbw_gb_s", algbw, "busbw_gb_s", busbw));
    else
        printf("allreduce np=%d %-22s %10.0f B  %9.3f ms  algbw %7.3f GB/s  busbw %7.3f GB/s\n", np, what, bytes, ms,
               algbw, busbw);
}

/* The mean step time of --repeat steps after --warmup, the slowest process's. */
static cgan_status time_steps(cgan_dist *d, cgan_ctx *ctx, cgan_trainer *t, const float *x, const float *y,
                              const bench_opts *o, double *ms)
{
    for (int i = 0; i < o->warmup; i++) BENCH_TRY(cgan_trainer_step(t, x, y));
    BENCH_TRY(bench_finish(ctx));
    BENCH_TRY(cgan_dist_barrier(d, ctx));
    double t0 = bench_now_ms();
    for (int i = 0; i < o->repeat; i++) BENCH_TRY(cgan_trainer_step(t, x, y));
    BENCH_TRY(bench_finish(ctx));
    *ms = (bench_now_ms() - t0) / o->repeat;
    return cgan_dist_allreduce(d, ctx, ms, 1, CGAN_DIST_F64, CGAN_DIST_MAX);
}

static cgan_status step_split(cgan_dist *d, cgan_ctx *ctx, const bench_opts *o, cgan_arch arch)
{
    const int np = cgan_dist_size(d);
    cgan_train_cfg cfg, one;
    bench_train_cfg(arch, o->batch, &cfg);
    bench_apply_widths(o, &cfg);
    one = cfg;
    one.model.batch = o->batch / np;
    const size_t img = (size_t)o->batch * cfg.model.nc * cfg.model.size * cfg.model.size;
    float *x = malloc(img * sizeof *x), *y = malloc((size_t)o->batch * sizeof *y);
    cgan_trainer *t = NULL, *solo = NULL;
    cgan_status st = x && y ? CGAN_OK : bench_fail(ctx, CGAN_E_NOMEM, "out of memory");
    if (st == CGAN_OK) {
        cgan_rng r;
        cgan_rng_init(&r, 5, 5);
        cgan_rng_fill_uniform(&r, x, img, -1, 1);
        for (int i = 0; i < o->batch; i++) y[i] = (float)(cfg.model.num_classes ? i % cfg.model.num_classes : 0);
    }
    const float *labels = cfg.model.num_classes ? y : NULL;
    double ms = 0, solo_ms = 0, c0 = 0, e0 = 0, c1 = 0, e1 = 0;
    int64_t b0 = 0, b1 = 0;
    if (st == CGAN_OK) st = cgan_trainer_create_dist(ctx, &cfg, d, &t);
    if (st == CGAN_OK) st = cgan_trainer_create(ctx, &one, &solo);
    if (st == CGAN_OK) st = time_steps(d, ctx, solo, x, labels, o, &solo_ms);
    if (st == CGAN_OK) {
        for (int i = 0; i < o->warmup && st == CGAN_OK; i++) st = cgan_trainer_step(t, x, labels);
        cgan_trainer_comm_stats(t, &c0, &e0, &b0);
    }
    if (st == CGAN_OK) {
        bench_opts timed = *o;
        timed.warmup = 0;
        st = time_steps(d, ctx, t, x, labels, &timed, &ms);
    }
    if (st == CGAN_OK) {
        cgan_trainer_comm_stats(t, &c1, &e1, &b1);
        double v[2] = { (c1 - c0) * 1e3 / o->repeat, (e1 - e0) * 1e3 / o->repeat };
        st = cgan_dist_allreduce(d, ctx, v, 2, CGAN_DIST_F64, CGAN_DIST_MAX);
        const double comm = v[0], exposed = v[1], mb = (double)(b1 - b0) / o->repeat / 1e6;
        const double ips = o->batch * 1000.0 / ms, solo_ips = one.model.batch * 1000.0 / solo_ms;
        if (st == CGAN_OK && cgan_dist_rank(d) == 0) {
            if (o->json)
                bench_emit(ctx, json_pack("{s:s,s:s,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "bench",
                                          "allreduce-step", "arch", cgan_arch_name(arch), "processes", np, "batch",
                                          o->batch, "per_process", one.model.batch, "step_ms", ms, "compute_ms",
                                          ms - exposed, "comm_ms", comm, "exposed_ms", exposed, "mb_per_step", mb,
                                          "img_per_s", ips, "solo_step_ms", solo_ms, "solo_img_per_s", solo_ips));
            else
                printf("step-split np=%d %-8s batch %d (%d/process): step %.2f ms = compute %.2f + exposed comm "
                       "%.2f ms (%.1f%%); comm span %.2f ms, %.2f MB reduced/process/step; %.1f img/s; one "
                       "process alone at %d: %.2f ms, %.1f img/s (speed-up %.2fx, efficiency %.0f%%)\n",
                       np, cgan_arch_name(arch), o->batch, one.model.batch, ms, ms - exposed, exposed,
                       ms > 0 ? 100.0 * exposed / ms : 0, comm, mb, ips, one.model.batch, solo_ms, solo_ips,
                       ips / solo_ips, 100.0 * ips / solo_ips / np);
        }
    }
    cgan_trainer_destroy(t);
    cgan_trainer_destroy(solo);
    free(x);
    free(y);
    return st;
}

static cgan_status run(cgan_dist *d, cgan_ctx *ctx, const bench_opts *o)
{
    const int np = cgan_dist_size(d);
    if (o->batch % np) return bench_fail(ctx, CGAN_E_INVALID, "--batch %d is not a multiple of %d processes", o->batch, np);
    /* the models' arena sizes */
    struct { char what[32]; size_t n; } sizes[32];
    int ns = 0;
    for (int a = 0; a < 2; a++) {
        cgan_arch arch = a ? CGAN_ARCH_DCGAN64 : CGAN_ARCH_SEED32;
        if (!bench_arch_on(o, arch)) continue;
        cgan_train_cfg cfg;
        bench_train_cfg(arch, np, &cfg);
        bench_apply_widths(o, &cfg);
        cgan_trainer *t;
        BENCH_TRY(cgan_trainer_create(ctx, &cfg, &t));
        for (int g = 0; g < 2; g++) {
            snprintf(sizes[ns].what, sizeof sizes[ns].what, "%s %s arena", cgan_arch_name(arch), g ? "D" : "G");
            sizes[ns++].n = cgan_trainer_param_count(t, g);
        }
        cgan_trainer_destroy(t);
    }
    for (size_t n = 256; n <= ((size_t)16 << 20) && ns < 32; n *= 4) {
        snprintf(sizes[ns].what, sizeof sizes[ns].what, "sweep");
        sizes[ns++].n = n;
    }
    size_t most = 0;
    for (int i = 0; i < ns; i++) most = sizes[i].n > most ? sizes[i].n : most;
    float *buf = malloc(most * sizeof *buf);
    if (!buf) return bench_fail(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = CGAN_OK;
    for (int i = 0; i < ns && st == CGAN_OK; i++) {
        double ms = 0;
        st = time_allreduce(d, ctx, buf, sizes[i].n, o, &ms);
        if (st == CGAN_OK && cgan_dist_rank(d) == 0) report_size(ctx, o, np, sizes[i].what, sizes[i].n, ms);
    }
    free(buf);
    if (st == CGAN_OK && cgan_dist_rank(d) == 0) fflush(stdout);
    for (int a = 0; a < 2 && st == CGAN_OK; a++) {
        cgan_arch arch = a ? CGAN_ARCH_DCGAN64 : CGAN_ARCH_SEED32;
        if (bench_arch_on(o, arch)) st = step_split(d, ctx, o, arch);
        if (cgan_dist_rank(d) == 0) fflush(stdout);
    }
    return st;
}

int bench_allreduce(const bench_opts *o, const char *device_class)
{
    cgan_dist *d = NULL;
    char err[512], spec[256];
    if (cgan_dist_init(&d, err, sizeof err) != CGAN_OK ||
        cgan_dist_device_spec(o->device, cgan_dist_local_rank(d), cgan_dist_local_size(d), spec, sizeof spec, err,
                              sizeof err) != CGAN_OK) {
        fprintf(stderr, "cgan-bench allreduce: %s\n", err);
        cgan_dist_abort(d, 1);
        cgan_dist_finalize(d);
        return 1;
    }
    cgan_ctx *ctx = cgan_ctx_new();
    int rc = 1;
    if (!ctx || cgan_ctx_set_device_class(ctx, device_class) != CGAN_OK || cgan_ctx_open(ctx, spec[0] ? spec : NULL)) {
        fprintf(stderr, "cgan-bench: device: %s\n", ctx ? bench_error(ctx) : "out of memory");
    } else {
        if (cgan_dist_rank(d) == 0 && cgan_dist_size(d) == 1 && !o->json)
            printf("allreduce: one process (%s): the all-reduce moves nothing; run under mpirun -np N\n",
                   cgan_dist_backend(d));
        if (run(d, ctx, o) == CGAN_OK) rc = 0;
        else fprintf(stderr, "cgan-bench allreduce: process %d: %s\n", cgan_dist_rank(d), bench_error(ctx));
    }
    cgan_ctx_destroy(ctx);
    if (rc) cgan_dist_abort(d, rc);
    cgan_dist_finalize(d);
    return rc;
}
