/* cgan-bench: measure what this device does with cgan-cl's kernels. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

static char bench_msg[2048];

cgan_status bench_fail(cgan_ctx *ctx, cgan_status st, const char *fmt, ...)
{
    va_list ap;
    cgan_clear_error(ctx);
    va_start(ap, fmt);
    vsnprintf(bench_msg, sizeof bench_msg, fmt, ap);
    va_end(ap);
    return st;
}

const char *bench_error(cgan_ctx *ctx)
{
    const char *e = ctx ? cgan_last_error(ctx) : "";
    return *e ? e : bench_msg;
}

void bench_clear_error(cgan_ctx *ctx)
{
    cgan_clear_error(ctx);
    bench_msg[0] = '\0';
}

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

void bench_train_cfg(cgan_arch arch, int batch, cgan_train_cfg *c)
{
    *c = cgan_train_defaults();
    c->model.size = cgan_arch_size(arch);
    c->model.batch = batch;
    c->ema = 0; /* the peer keeps no EMA */
    if (arch == CGAN_ARCH_DCGAN64) {
        c->model.nc = 3;
        c->model.num_classes = 0;
        c->model.cond = CGAN_COND_NONE;
    }
}

void bench_apply_widths(const bench_opts *o, cgan_train_cfg *c)
{
    if (o->ngf > 0) c->model.ngf = o->ngf;
    if (o->ndf > 0) c->model.ndf = o->ndf;
}

int bench_arch_on(const bench_opts *o, cgan_arch arch)
{
    return !o->arch || !strcmp(o->arch, cgan_arch_name(arch));
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cgan-bench <command> [options]\n"
            "\n"
            "commands:\n"
            "  step      training steps per second and img/s (seed32 nc=1 K=10, dcgan64 nc=3 K=0):\n"
            "            D on a real and a fake batch, then G through D, Adam on both\n"
            "  generate  generation img/s of the same models\n"
            "  step --count, generate --count\n"
            "            OpenCL host calls per step (batch), counted by clcount.so (LD_PRELOAD):\n"
            "            creations, blocking calls, flushes, launches, copies and fills\n"
            "  ops       forward and backward time of every layer of seed32 and dcgan64\n"
            "  gemm      GFLOP/s of each GEMM provider (own, clblast, tuned when a tuning file\n"
            "            exists, and OpenBLAS on the host when built with it) on the GEMM shapes\n"
            "            one training step issues at --batch (recorded) and on square sizes;\n"
            "            every result is checked against a double-precision host reference and\n"
            "            a wrong one is reported as FAIL (exit status 1)\n"
            "  tune      search, per recorded GEMM shape, the fastest correct choice among the\n"
            "            own kernel variants, CLBlast, and CLBlast's Xgemm/XgemmDirect parameters;\n"
            "            writes tune-<hash>.json (per device) to the cache folder ($CGAN_CACHE_DIR,\n"
            "            else $XDG_CACHE_HOME/cgan-cl, else ~/.cache/cgan-cl), which cgan-cl then\n"
            "            applies to the default GEMM choice ($CGAN_TUNE_DISABLE=1 turns it off)\n"
            "  condacc   how often generated images land nearest the mean of the class asked\n"
            "            for (--checkpoint CKPT|RUNDIR [--data DIR] [--per-class N])\n"
            "  allreduce under mpirun -np N: all-reduce latency and bandwidth (algbw, and busbw =\n"
            "            algbw x 2(N-1)/N) on the G and D gradient arenas of seed32 and dcgan64\n"
            "            and a sweep of sizes; then a data-parallel training step of --batch\n"
            "            images (batch/N per process) split into compute and exposed\n"
            "            communication, with the communication span and bytes per step, against\n"
            "            one process alone at batch/N (speed-up and efficiency); --device as\n"
            "            cgan-cl train under mpirun (a comma list by local rank)\n"
            "  loader    images/s the batch loader decodes from an image folder, and peak RSS\n"
            "            (--data DIR [--size S] [--batch B] [--batches N] [--cache-decoded]\n"
            "            [--workers W]); needs no OpenCL device\n"
            "\n"
            "options:\n"
            "  -d, --device N|NAME   device (see 'cgan-cl devices')\n"
            "      --device-class gpu|cpu\n"
            "                        every per-device choice as a GPU or a CPU would get it,\n"
            "                        on any device (like CGAN_DEVICE_CLASS)\n"
            "  -b, --batch N         batch size (default 64)\n"
            "  -r, --repeat N        timed repetitions; the median is reported (default 5)\n"
            "  -w, --warmup N        untimed repetitions first (default 1)\n"
            "  -a, --arch NAME       seed32 or dcgan64 (default: both; gemm also takes none)\n"
            "      --ngf N --ndf N   step, generate: the models' widths (default 64 each, as\n"
            "                        cgan-cl train; printed with every result)\n"
            "      --json            one JSON object per line, with the device, driver, OpenCL C,\n"
            "                        CLBlast and git versions, build flags and date under \"meta\"\n"
            "  step, generate:\n"
            "      --count           count OpenCL host calls per step (batch) instead of timing:\n"
            "                        --repeat steps (default 2 x --log-every) back to back, no\n"
            "                        clock and no queue drain; a table per step and a summary\n"
            "                        of steps 2..N. Starts itself again with LD_PRELOAD set to\n"
            "                        clcount.so ($CGAN_CLCOUNT, else .libs/clcount.so beside\n"
            "                        the binary, else the installed one) unless it is loaded\n"
            "      --log-every L     with --count: read the losses every L steps and after the\n"
            "                        last, as 'cgan-cl train --log-every' does (default 5)\n"
            "  gemm:\n"
            "      --list            print the recorded GEMM shapes and stop\n"
            "      --square LIST     square sizes, e.g. 256,512,1024 (the default), or none\n"
            "  loader:\n"
            "      --data DIR        image folder (class subfolders of JPEG/PNG) or IDX folder\n"
            "      --size S          side of the images made (default 64)\n"
            "      --batches N       batches taken (default 50), with flips, as training does\n"
            "      --cache-decoded   decode every image when opening (timed apart), then serve\n"
            "                        batches from memory\n"
            "      --workers W       decoding threads, 1 to 4 (default: one per CPU, at most 4)\n"
            "  tune:\n"
            "      --budget SECONDS  stop searching after this long, keep the best so far\n"
            "                        (default 300)\n"
            "      --no-model-check  keep the table without timing whole training steps and\n"
            "                        generation batches with it and without it\n"
            "      --keep-margin F   keep the table only when the untuned time over the tuned\n"
            "                        time of those is at least F (default 1.02)\n"
            "\n"
            "Times are medians of --repeat runs after --warmup, by the host clock around a\n"
            "drained queue and by OpenCL profiling events; kernel builds stay outside them.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { usage(stdout); return 0; }
    const char *cmd = argv[1];
    static const char *const cmds[] = { "ops", "condacc", "step", "generate", "gemm", "tune", "loader", "allreduce",
                                        NULL };
    int known = 0;
    for (int i = 0; cmds[i]; i++) known |= !strcmp(cmd, cmds[i]);
    if (!known) {
        fprintf(stderr, "cgan-bench: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    bench_opts o = { NULL, 64, 5, 1, 0, NULL, NULL, NULL, 200, 0, "256,512,1024", 300, NULL, 1,
                     1.02, 0, 5, 64, 50, 0, 0, 0, 0 };
    enum { OPT_COUNT = 0x100, OPT_LOG_EVERY, OPT_SIZE, OPT_BATCHES, OPT_CACHE, OPT_WORKERS, OPT_NGF, OPT_NDF }; /* long options only */
    o.inject = getenv("CGAN_BENCH_CORRUPT"); /* tests: corrupt this provider's result */
    if (o.inject && !*o.inject) o.inject = NULL;
    static const struct option opts[] = {
        { "device", required_argument, 0, 'd' }, { "batch", required_argument, 0, 'b' },
        { "repeat", required_argument, 0, 'r' }, { "warmup", required_argument, 0, 'w' },
        { "arch", required_argument, 0, 'a' }, { "json", no_argument, 0, 'j' },
        { "checkpoint", required_argument, 0, 'c' }, { "data", required_argument, 0, 'D' },
        { "per-class", required_argument, 0, 'p' }, { "list", no_argument, 0, 'l' },
        { "square", required_argument, 0, 's' }, { "budget", required_argument, 0, 'B' },
        { "inject-error", required_argument, 0, 'I' }, /* hidden: tests */
        { "no-model-check", no_argument, 0, 'N' }, { "keep-margin", required_argument, 0, 'K' },
        { "device-class", required_argument, 0, 'C' },
        { "count", no_argument, 0, OPT_COUNT }, { "log-every", required_argument, 0, OPT_LOG_EVERY },
        { "size", required_argument, 0, OPT_SIZE }, { "batches", required_argument, 0, OPT_BATCHES },
        { "cache-decoded", no_argument, 0, OPT_CACHE }, { "workers", required_argument, 0, OPT_WORKERS },
        { "ngf", required_argument, 0, OPT_NGF }, { "ndf", required_argument, 0, OPT_NDF },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    const char *device_class = NULL;
    int c, repeat_given = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "d:b:r:w:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o.device = optarg; break;
        case 'C': device_class = optarg; break;
        case 'b': o.batch = atoi(optarg); break;
        case 'r': o.repeat = atoi(optarg); repeat_given = 1; break;
        case 'w': o.warmup = atoi(optarg); break;
        case 'a': o.arch = optarg; break;
        case 'j': o.json = 1; break;
        case 'c': o.checkpoint = optarg; break;
        case 'D': o.data = optarg; break;
        case 'p': o.per_class = atoi(optarg); break;
        case 'l': o.list = 1; break;
        case 's': o.square = optarg; break;
        case 'B': o.budget = atof(optarg); break;
        case 'I': o.inject = optarg; break;
        case 'N': o.model_check = 0; break;
        case 'K': o.keep_margin = atof(optarg); break;
        case OPT_COUNT: o.count = 1; break;
        case OPT_LOG_EVERY: o.log_every = atoi(optarg); break;
        case OPT_SIZE: o.size = atoi(optarg); break;
        case OPT_BATCHES: o.batches = atoi(optarg); break;
        case OPT_CACHE: o.cache_decoded = 1; break;
        case OPT_WORKERS: o.workers = atoi(optarg); break;
        case OPT_NGF: o.ngf = atoi(optarg); break;
        case OPT_NDF: o.ndf = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.batch < 1 || o.repeat < 1 || o.warmup < 0) {
        fprintf(stderr, "cgan-bench: --batch and --repeat must be at least 1\n");
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "cgan-bench %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return 2;
    }
    if (!(o.keep_margin >= 0)) {
        fprintf(stderr, "cgan-bench tune: --keep-margin must be a number >= 0\n");
        return 2;
    }
    if (!(o.budget >= 0)) {
        fprintf(stderr, "cgan-bench tune: --budget must be a number of seconds >= 0\n");
        return 2;
    }
    int stepping = !strcmp(cmd, "step") || !strcmp(cmd, "generate");
    if (o.count && !stepping) {
        fprintf(stderr, "cgan-bench %s: --count applies to step and generate only\n", cmd);
        return 2;
    }
    if (o.log_every < 1 || o.log_every > 1000) { /* the trainer keeps the last 1024 steps */
        fprintf(stderr, "cgan-bench: --log-every must be between 1 and 1000\n");
        return 2;
    }
    if (!strcmp(cmd, "loader")) {
        if (!o.data || o.size < 1 || o.size > 1024 || o.batches < 1 || o.workers < 0 || o.workers > 4) {
            fprintf(stderr, "cgan-bench loader: --data DIR is required; --size 1..1024, --batches >= 1, "
                            "--workers 1..4\n");
            return 2;
        }
        return bench_loader(&o);
    }
    if (!strcmp(cmd, "allreduce")) return bench_allreduce(&o, device_class);
    if (o.count && !repeat_given) o.repeat = 2 * o.log_every;
    if (o.count && bench_count_preload(argv)) return 1;
    int gemm = !strcmp(cmd, "gemm");
    if (o.arch && strcmp(o.arch, "seed32") && strcmp(o.arch, "dcgan64") &&
        !(gemm && !strcmp(o.arch, "none"))) {
        fprintf(stderr, "cgan-bench: --arch '%s': use seed32 or dcgan64%s\n", o.arch,
                gemm ? " (or none: square sizes only)" : "");
        return 2;
    }
    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx || cgan_ctx_set_device_class(ctx, device_class) != CGAN_OK ||
        cgan_ctx_open(ctx, o.device) != CGAN_OK) {
        fprintf(stderr, "cgan-bench: device: %s\n", ctx ? bench_error(ctx) : "out of memory");
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
    } else if (!strcmp(cmd, "gemm")) {
        rc = bench_gemm(ctx, &o);
    } else if (!strcmp(cmd, "tune")) {
        rc = bench_tune(ctx, &o);
    } else {
        rc = bench_ops(ctx, &o);
    }
    cgan_ctx_destroy(ctx);
    return rc;
}
