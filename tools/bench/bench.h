/* cgan-bench: shared helpers of the benchmark subcommands. */
#ifndef CGAN_BENCH_H
#define CGAN_BENCH_H
#include <stdio.h>
#include "cgan/cgan.h"
#include "runtime/runtime.h"

typedef struct bench_opts {
    const char *device;
    int batch;
    int repeat;
    int warmup;
    int json;
    const char *arch;   /* "seed32", "dcgan64" or NULL for both */
    const char *checkpoint, *data;
    int per_class;
} bench_opts;

double bench_now_ms(void);
int bench_cmp_double(const void *a, const void *b);
double bench_median(double *v, int n);

int bench_ops(cgan_ctx *ctx, const bench_opts *o);
int bench_step(cgan_ctx *ctx, const bench_opts *o, int generate);
int bench_condacc(cgan_ctx *ctx, const bench_opts *o, const char *ckpt, const char *data, int per_class);
#endif
