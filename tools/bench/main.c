/* cgan-bench: measure what this device does with cgan-cl's kernels. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cgan-bench <command> [options]\n"
            "\n"
            "commands:\n"
            "  step    training steps per second and img/s (seed32 nc=1 K=10, dcgan64 nc=3 K=0):\n"
            "          D on a real and a fake batch, then G through D, Adam on both\n"
            "  generate  generation img/s of the same models\n"
            "  ops     forward and backward time of every layer of seed32 and dcgan64\n"
            "  condacc how often generated images land nearest the mean of the class asked\n"
            "          for (--checkpoint CKPT [--data DIR] [--per-class N])\n"
            "\n"
            "options:\n"
            "  -d, --device N|NAME   device (see 'cgan-cl devices')\n"
            "  -b, --batch N         batch size (default 64)\n"
            "  -r, --repeat N        timed repetitions; the median is reported (default 5)\n"
            "  -w, --warmup N        untimed repetitions first (default 1)\n"
            "  -a, --arch NAME       seed32 or dcgan64 (default: both)\n"
            "      --json            one JSON object per line\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { usage(stdout); return 0; }
    const char *cmd = argv[1];
    if (strcmp(cmd, "ops") != 0 && strcmp(cmd, "condacc") != 0 && strcmp(cmd, "step") != 0 &&
        strcmp(cmd, "generate") != 0) {
        fprintf(stderr, "cgan-bench: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    bench_opts o = { NULL, 64, 5, 1, 0, NULL, NULL, NULL, 200 };
    static const struct option opts[] = {
        { "device", required_argument, 0, 'd' }, { "batch", required_argument, 0, 'b' },
        { "repeat", required_argument, 0, 'r' }, { "warmup", required_argument, 0, 'w' },
        { "arch", required_argument, 0, 'a' }, { "json", no_argument, 0, 'j' },
        { "checkpoint", required_argument, 0, 'c' }, { "data", required_argument, 0, 'D' },
        { "per-class", required_argument, 0, 'p' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "d:b:r:w:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o.device = optarg; break;
        case 'b': o.batch = atoi(optarg); break;
        case 'r': o.repeat = atoi(optarg); break;
        case 'w': o.warmup = atoi(optarg); break;
        case 'a': o.arch = optarg; break;
        case 'j': o.json = 1; break;
        case 'c': o.checkpoint = optarg; break;
        case 'D': o.data = optarg; break;
        case 'p': o.per_class = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.batch < 1 || o.repeat < 1 || o.warmup < 0) {
        fprintf(stderr, "cgan-bench: --batch and --repeat must be at least 1\n");
        return 2;
    }
    if (o.arch && strcmp(o.arch, "seed32") && strcmp(o.arch, "dcgan64")) {
        fprintf(stderr, "cgan-bench: --arch '%s': use seed32 or dcgan64\n", o.arch);
        return 2;
    }
    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx || cgan_ctx_open(ctx, o.device) != CGAN_OK) {
        fprintf(stderr, "cgan-bench: device: %s\n", ctx ? cgan_last_error(ctx) : "out of memory");
        cgan_ctx_destroy(ctx);
        return 1;
    }
    int rc;
    if (!strcmp(cmd, "condacc")) {
        if (!o.checkpoint || o.per_class < 1) {
            fprintf(stderr, "cgan-bench condacc: --checkpoint is required (and --per-class >= 1)\n");
            cgan_ctx_destroy(ctx);
            return 2;
        }
        rc = bench_condacc(ctx, &o, o.checkpoint, o.data, o.per_class);
    } else if (!strcmp(cmd, "step") || !strcmp(cmd, "generate")) {
        rc = bench_step(ctx, &o, !strcmp(cmd, "generate"));
    } else {
        rc = bench_ops(ctx, &o);
    }
    cgan_ctx_destroy(ctx);
    return rc;
}
