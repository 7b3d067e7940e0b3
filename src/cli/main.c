/* cgan-cl: train and sample conditional GANs on any OpenCL device. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    { "devices", cmd_devices, "list OpenCL devices and the default choice" },
    { "selftest", cmd_selftest, "build every kernel and check each op against the C reference" },
    { "train", cmd_train, "train a conditional GAN on an image folder or IDX set" },
    { "generate", cmd_generate, "generate images from a checkpoint by class, index or prompt" },
    { "info", cmd_info, "describe a checkpoint and verify its tensors" },
    { "serve", cmd_serve, "serve a prompt page and a JSON API over HTTP, batching requests" },
    { "eval", cmd_eval, "score a checkpoint or run folder: FID, KID, precision/recall, class accuracy" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cgan-cl [--version] [--help] [--device-class gpu|cpu] <command> [options]\n"
            "\n"
            "Train and sample conditional GANs with OpenCL kernels on NVIDIA, AMD and Intel\n"
            "GPUs, and on CPUs through PoCL.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "Run 'cgan-cl <command> --help' for a command's options.\n"
            "\n"
            "  --device-class gpu|cpu  make every per-device choice (GEMM, convolution form,\n"
            "                      BatchNorm lanes, staging, tiles) the one a GPU or a CPU\n"
            "                      would get, on any device (like CGAN_DEVICE_CLASS)\n"
            "\n"
            "environment:\n"
            "  CGAN_DEVICE         device index or name substring (like --device)\n"
            "  CGAN_DEVICE_CLASS   gpu or cpu (like --device-class)\n"
            "  CGAN_MEM_ALIGN      sub-buffer alignment in bits, at least the device's\n"
            "                      (4096 simulates NVIDIA's)\n"
            "  CGAN_GEMM_PROVIDER, CGAN_GEMM_VARIANT, CGAN_GEMM_PACK, CGAN_CONV_FORM,\n"
            "  CGAN_BN_LANES, CGAN_STAGING, CGAN_WG_LIMIT\n"
            "                      override single choices of the device profile\n"
            "                      ('cgan-cl devices -v' prints it; see man cgan-cl)\n"
            "  CGAN_CACHE_DIR      kernel binary cache and eval's feature networks (default\n"
            "                      $XDG_CACHE_HOME/cgan-cl, else ~/.cache/cgan-cl)\n"
            "  CGAN_CACHE_DISABLE  1 turns the kernel cache off\n"
            "  CGAN_KERNEL_DIR     load kernel sources from this folder instead of the\n"
            "                      copies built into the binary (development)\n");
}

void cli_error(const char *what, const char *msg)
{
    if (what && *what) fprintf(stderr, "cgan-cl: %s: %s\n", what, msg);
    else fprintf(stderr, "cgan-cl: %s\n", msg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    fprintf(stderr, "cgan-cl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'cgan-cl %s%s--help' for usage.\n", cmd ? cmd : "", cmd ? " " : "");
    if (cmd) fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

int cli_parse_long(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        cli_usage_error(cmd, "%s '%s': expected an integer in [%ld, %ld]", opt, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static const char *device_class; /* --device-class */

cgan_status cli_open_ctx(cgan_ctx *ctx, const char *spec)
{
    cgan_status st = cgan_ctx_set_device_class(ctx, device_class);
    return st != CGAN_OK ? st : cgan_ctx_open(ctx, spec);
}

void cli_warnings(cgan_ctx *ctx)
{
    for (const char *w; (w = cgan_ctx_next_warning(ctx));) fprintf(stderr, "cgan-cl: warning: %s\n", w);
}

cgan_ctx *cli_open(const char *spec)
{
    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx) {
        cli_error(NULL, "out of memory");
        return NULL;
    }
    if (cli_open_ctx(ctx, spec) != CGAN_OK) {
        cli_error("device", cgan_last_error(ctx));
        cgan_ctx_destroy(ctx);
        return NULL;
    }
    return ctx;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *a = argv[1];
    if (strcmp(a, "--device-class") == 0 || strncmp(a, "--device-class=", 15) == 0) {
        int eq = a[14] == '=';
        if (!eq && argc < 3) return cli_usage_error(NULL, "--device-class needs gpu or cpu");
        device_class = eq ? a + 15 : argv[2];
        if (strcmp(device_class, "gpu") && strcmp(device_class, "cpu"))
            return cli_usage_error(NULL, "--device-class '%s': gpu or cpu", device_class);
        argc -= eq ? 1 : 2;
        argv += eq ? 1 : 2;
        if (argc < 2) {
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
        a = argv[1];
    }
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
        printf("cgan-cl %s (git %s)\n", PACKAGE_VERSION, CGAN_GIT_REV);
        return CLI_EXIT_OK;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(a, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    if (a[0] == '-') fprintf(stderr, "cgan-cl: unknown option '%s'\n\n", a);
    else fprintf(stderr, "cgan-cl: unknown command '%s'\n\n", a);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
