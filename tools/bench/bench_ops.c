/* cgan-bench ops: per-layer forward and backward times of the models' training passes
 * (G forward, D forward and backward to its input and parameters, G backward). */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

typedef struct row { char name[64]; double fwd, bwd; } row;

/* One kernel's launch timing (cgan_kernel_profile_get). */
typedef struct kern { const char *name; unsigned calls; double ms; } kern;

static int by_time(const void *a, const void *b)
{
    double x = ((const kern *)a)->ms, y = ((const kern *)b)->ms;
    return (x < y) - (x > y);
}

/* The kernels timed so far, in the profile's order; *n of them (NULL when out of memory). */
static kern *kernels_of(cgan_ctx *ctx, int *n)
{
    *n = cgan_kernel_profile_count(ctx);
    kern *v = calloc((size_t)(*n > 0 ? *n : 1), sizeof *v);
    for (int i = 0; v && i < *n; i++)
        cgan_kernel_profile_get(ctx, i, &v[i].name, &v[i].calls, &v[i].ms);
    if (!v) *n = 0;
    return v;
}

/* The kernels of the timed passes by device time, per pass. */
static void print_kernels(cgan_ctx *ctx, int repeat)
{
    double all = 0;
    int n;
    kern *v = kernels_of(ctx, &n);
    qsort(v, (size_t)n, sizeof *v, by_time);
    for (int i = 0; i < n; i++) all += v[i].ms;
    printf("%-20s %10s %10s %7s   (per pass, by kernel)\n", "kernel", "calls", "ms", "share");
    for (int i = 0; i < n; i++)
        printf("%-20s %10.1f %10.3f %6.1f%%\n", v[i].name, (double)v[i].calls / repeat,
               v[i].ms / repeat, 100 * v[i].ms / (all > 0 ? all : 1));
    printf("\n");
    free(v);
}

static int run_arch(cgan_ctx *ctx, const bench_opts *o, cgan_arch arch)
{
    cgan_model_cfg cfg = cgan_model_defaults();
    cfg.size = cgan_arch_size(arch);
    cfg.batch = o->batch;
    if (arch == CGAN_ARCH_DCGAN64) { cfg.nc = 3; cfg.num_classes = 0; cfg.cond = CGAN_COND_NONE; }
    cgan_generator G = { 0 };
    cgan_discriminator D = { 0 };
    int rc = 1;
    row *rows = NULL;
    double *samples = NULL;
    if (cgan_build_generator(ctx, &cfg, &G) || cgan_build_discriminator(ctx, &cfg, &D) ||
        cgan_graph_requires_grad(D.g, D.x) || cgan_graph_plan(G.g, CGAN_MODE_TRAIN, 1) ||
        cgan_graph_plan(D.g, CGAN_MODE_TRAIN, 2) ||
        cgan_graph_bind(D.g, D.x, cgan_graph_value(G.g, G.out), cgan_graph_grad(G.g, G.out)))
        goto fail;
    if (D.labels >= 0 && cgan_graph_bind(D.g, D.labels, cgan_graph_value(G.g, G.labels), NULL)) goto fail;
    int ng = cgan_graph_node_count(G.g), nd = cgan_graph_node_count(D.g), nrows = ng + nd;
    rows = calloc((size_t)nrows, sizeof *rows);
    samples = calloc((size_t)o->repeat * ((size_t)nrows * 2 + 2), sizeof *samples);
    if (!rows || !samples) goto fail;
    double *host = samples + (size_t)o->repeat * (size_t)nrows * 2, *ev = host + o->repeat;
    for (int rep = 0; rep < o->warmup + o->repeat; rep++) {
        int timed = rep >= o->warmup;
        if (rep == o->warmup) cgan_kernel_profile_reset(ctx);
        if (cgan_graph_profile(G.g, timed) || cgan_graph_profile(D.g, timed) ||
            cgan_kernel_profile(ctx, timed))
            goto fail;
        bench_clock clk;
        double h, e;
        if (bench_clock_start(ctx, &clk)) goto fail;
        if (cgan_graph_forward(G.g, 1, (uint64_t)rep) || cgan_graph_forward(D.g, 1, (uint64_t)rep) ||
            cgan_graph_backward(D.g, D.logit, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS) ||
            cgan_graph_backward(G.g, -1, CGAN_GRAD_PARAMS)) {
            clReleaseEvent(clk.start);
            goto fail;
        }
        if (bench_clock_stop(ctx, &clk, &h, &e)) goto fail;
        if (!timed) continue;
        int k = rep - o->warmup;
        host[k] = h;
        ev[k] = e;
        for (int i = 0; i < nrows; i++) {
            cgan_graph *g = i < ng ? G.g : D.g;
            int idx = i < ng ? i : i - ng;
            double f, b;
            unsigned fc, bc;
            cgan_graph_profile_get(g, idx, &f, &b, &fc, &bc);
            samples[((size_t)i * 2) * (size_t)o->repeat + (size_t)k] = f;
            samples[((size_t)i * 2 + 1) * (size_t)o->repeat + (size_t)k] = b;
            snprintf(rows[i].name, sizeof rows[i].name, "%s", cgan_graph_node_name(g, idx));
        }
    }
    double total = 0;
    for (int i = 0; i < nrows; i++) {
        rows[i].fwd = bench_median(samples + (size_t)i * 2 * (size_t)o->repeat, o->repeat);
        rows[i].bwd = bench_median(samples + ((size_t)i * 2 + 1) * (size_t)o->repeat, o->repeat);
        total += rows[i].fwd + rows[i].bwd;
    }
    double host_ms = bench_median(host, o->repeat), event_ms = bench_median(ev, o->repeat);
    const cgan_device_info *d = cgan_ctx_device(ctx);
    if (!o->json) {
        printf("%s, batch %d, on %s: median of %d (G fwd, D fwd, D bwd, G bwd; no optimiser)\n",
               cgan_arch_name(arch), o->batch, d->name, o->repeat);
        printf("%-20s %10s %10s %7s\n", "layer", "fwd ms", "bwd ms", "share");
        for (int i = 0; i < nrows; i++)
            printf("%-20s %10.3f %10.3f %6.1f%%\n", rows[i].name, rows[i].fwd, rows[i].bwd,
                   100 * (rows[i].fwd + rows[i].bwd) / (total > 0 ? total : 1));
        printf("%-20s %21.3f  (whole pass: host %.3f ms, events %.3f ms, with per-launch "
               "profiling)\n", "total", total, host_ms, event_ms);
        print_kernels(ctx, o->repeat);
    } else {
        json_t *layers = json_array();
        for (int i = 0; layers && i < nrows; i++)
            json_array_append_new(layers, json_pack("{s:s,s:f,s:f,s:f}", "name", rows[i].name,
                                                    "fwd_ms", rows[i].fwd, "bwd_ms", rows[i].bwd,
                                                    "share", (rows[i].fwd + rows[i].bwd) /
                                                                 (total > 0 ? total : 1)));
        int nk;
        kern *kv = kernels_of(ctx, &nk);
        json_t *kernels = json_array();
        for (int i = 0; kernels && i < nk; i++)
            json_array_append_new(kernels, json_pack("{s:s,s:f,s:f}", "name", kv[i].name,
                                                     "calls", (double)kv[i].calls / o->repeat,
                                                     "ms", kv[i].ms / o->repeat));
        free(kv);
        bench_emit(ctx, json_pack("{s:s,s:s,s:i,s:i,s:f,s:f,s:f,s:o*,s:o*}", "bench", "ops",
                                  "arch", cgan_arch_name(arch), "batch", o->batch, "repeat",
                                  o->repeat, "total_ms", total, "host_ms", host_ms, "event_ms",
                                  event_ms, "layers", layers, "kernels", kernels));
    }
    rc = 0;
fail:
    cgan_kernel_profile(ctx, 0);
    if (rc) fprintf(stderr, "cgan-bench ops: %s\n", bench_error(ctx));
    free(rows);
    free(samples);
    cgan_graph_destroy(G.g);
    cgan_graph_destroy(D.g);
    return rc;
}

int bench_ops(cgan_ctx *ctx, const bench_opts *o)
{
    int rc = 0;
    if (bench_arch_on(o, CGAN_ARCH_SEED32)) rc |= run_arch(ctx, o, CGAN_ARCH_SEED32);
    if (bench_arch_on(o, CGAN_ARCH_DCGAN64)) rc |= run_arch(ctx, o, CGAN_ARCH_DCGAN64);
    return rc;
}
