/* cgan-cl devices: list every OpenCL device and which one the default would choose. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void help(void)
{
    printf("usage: cgan-cl devices [-v|--verbose] [--help]\n"
           "\n"
           "List every OpenCL platform and device: index, platform, name, type, OpenCL C\n"
           "version, compute units, global and local memory, largest work-group, fp16 and\n"
           "fp64 support. The device marked 'default' is the one used when neither --device\n"
           "nor CGAN_DEVICE is given (the first GPU, otherwise the first device).\n"
           "\n"
           "  -v, --verbose   also open each device and print its profile: every choice the\n"
           "                  engine makes for it (GEMM provider and variant, convolution\n"
           "                  form, BatchNorm lanes, work-group limit, tiles, alignment,\n"
           "                  staging memory) after the overrides in the environment and\n"
           "                  'cgan-cl --device-class'\n");
}

static void mib(char *out, size_t n, uint64_t bytes)
{
    if (bytes >= (1ull << 30)) snprintf(out, n, "%.1f GiB", bytes / (double)(1ull << 30));
    else if (bytes >= (1ull << 20)) snprintf(out, n, "%.1f MiB", bytes / (double)(1ull << 20));
    else snprintf(out, n, "%.0f KiB", bytes / 1024.0);
}

/* The profile of device `index`, indented under its listing. */
static cgan_status print_profile(int index)
{
    char spec[16], text[2048];
    snprintf(spec, sizeof spec, "%d", index);
    cgan_ctx *ctx = cli_open(spec);
    if (!ctx) return CGAN_E_INVALID;
    printf("    profile:\n");
    if (cgan_ctx_profile_str(ctx, text, sizeof text) > 0)
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
            printf("      %s\n", line);
    cgan_ctx_destroy(ctx);
    return CGAN_OK;
}

int cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, 0, 'h' },
                                          { "verbose", no_argument, 0, 'v' }, { 0, 0, 0, 0 } };
    int c, verbose = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        if (c == 'h') { help(); return CLI_EXIT_OK; }
        if (c == 'v') { verbose = 1; continue; }
        return cli_usage_error("devices", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc) return cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);

    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx) { cli_error(NULL, "out of memory"); return CLI_EXIT_FAIL; }
    cgan_device_info *list = NULL;
    int n = 0;
    if (cgan_devices_list(ctx, &list, &n) != CGAN_OK) {
        cli_error("devices", cgan_last_error(ctx));
        cgan_ctx_destroy(ctx);
        return CLI_EXIT_FAIL;
    }
    const char *env = getenv("CGAN_DEVICE");
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < n; i++) {
        const cgan_device_info *d = &list[i];
        char g[32], l[32], m[32];
        mib(g, sizeof g, d->global_mem);
        mib(l, sizeof l, d->local_mem);
        mib(m, sizeof m, d->max_alloc);
        printf("[%d] %s%s\n", d->index, d->name, d->is_default ? "  (default)" : "");
        printf("    platform        %s\n", d->platform);
        printf("    vendor          %s\n", d->vendor);
        printf("    type            %s\n", cgan_device_type_str(d->type));
        printf("    version         %s (driver %s)\n", d->version, d->driver);
        printf("    OpenCL C        %s\n", d->c_version);
        printf("    compute units   %u\n", d->compute_units);
        printf("    global memory   %s (largest allocation %s)\n", g, m);
        printf("    local memory    %s\n", l);
        printf("    max work-group  %zu\n", d->max_work_group);
        printf("    fp16            %s\n", d->fp16 ? "yes" : "no");
        printf("    fp64            %s\n", d->fp64 ? "yes" : "no");
        if (verbose && print_profile(d->index) != CGAN_OK) rc = CLI_EXIT_FAIL;
    }
    if (env && *env) {
        /* an override that names no device is an error now, not at the next command */
        int idx = -1;
        if (cgan_devices_find(ctx, env, &idx) == CGAN_OK) {
            printf("\nCGAN_DEVICE=%s overrides the default: device [%d].\n", env, idx);
        } else {
            char msg[4300];
            snprintf(msg, sizeof msg, "CGAN_DEVICE=%s: %s", env, cgan_last_error(ctx));
            cli_error("devices", msg);
            rc = CLI_EXIT_FAIL;
        }
    }
    cgan_devices_free(list);
    cgan_ctx_destroy(ctx);
    return rc;
}
