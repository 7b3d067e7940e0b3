/* cgan-cl selftest: "does cgan-cl work on my device?" Build every kernel, run every check. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void help(void)
{
    printf("usage: cgan-cl selftest [--device N|NAME] [--only CHECK] [--list] [--help]\n"
           "\n"
           "Build every kernel program for the chosen device, reporting whether each build was\n"
           "cold or came from the kernel cache and how long it took, then run each registered\n"
           "numerical check against the plain-C reference. Prints a pass/fail table and exits\n"
           "non-zero when anything fails.\n"
           "\n"
           "  -d, --device N|NAME   device index or name substring (see 'cgan-cl devices')\n"
           "      --only CHECK      run only the named check (no build table)\n"
           "      --list            print the names of the registered checks\n");
}

int cmd_selftest(int argc, char **argv)
{
    static const struct option opts[] = {
        { "device", required_argument, 0, 'd' }, { "help", no_argument, 0, 'h' },
        { "only", required_argument, 0, 'o' }, { "list", no_argument, 0, 'l' }, { 0, 0, 0, 0 }
    };
    const char *device = NULL, *only = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': device = optarg; break;
        case 'h': help(); return CLI_EXIT_OK;
        case 'o': only = optarg; break;
        case 'l':
            for (int i = 0; i < cgan_check_count(); i++) printf("%s\n", cgan_check_name(i));
            return CLI_EXIT_OK;
        default:
            if (optopt) return cli_usage_error("selftest", "option '-%c' needs a value or is unknown", optopt);
            return cli_usage_error("selftest", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("selftest", "unexpected argument '%s'", argv[optind]);
    if (only) {
        int found = 0;
        for (int i = 0; i < cgan_check_count(); i++) found |= !strcmp(cgan_check_name(i), only);
        if (!found) return cli_usage_error("selftest", "--only '%s': no such check (see --list)", only);
    }
    cgan_ctx *ctx = cli_open(device);
    if (!ctx) return CLI_EXIT_FAIL;
    const cgan_device_info *d = cgan_ctx_device(ctx);
    printf("device: [%d] %s (%s, %s)\n", d->index, d->name, d->platform, cgan_device_type_str(d->type));
    printf("kernel cache: %s\n", *cgan_ctx_cache_dir(ctx) ? cgan_ctx_cache_dir(ctx) : "disabled");
    char prof[2048];
    if (cgan_ctx_profile_str(ctx, prof, sizeof prof) > 0) printf("profile:\n%s\n", prof);

    int fails = 0, passes = 0, skips = 0, checks = 0, built = 0, programs = 0;
    double total_ms = 0;
    printf("%-22s %10s  %s\n", "program", "build ms", "source");
    for (const char *const *name = cgan_kernel_programs(); !only && *name; name++) {
        int from_cache = 0;
        double build_ms = 0;
        programs++;
        cgan_status st = cgan_kernel_program_build(ctx, *name, &from_cache, &build_ms);
        if (st != CGAN_OK) {
            printf("%-22s %10s  FAIL\n", *name, "-");
            fprintf(stderr, "%s\n", cgan_last_error(ctx));
            fails++; /* a kernel program that does not build fails the run */
            continue;
        }
        total_ms += build_ms;
        printf("%-22s %10.1f  %s\n", *name, build_ms, from_cache ? "cached" : "cold");
        built++;
    }
    if (!only) printf("%-22s %10.1f\n\n", "all programs", total_ms);

    printf("%-30s %11s %9s  %s\n", "check", "max error", "tolerance", "result");
    for (int i = 0; i < cgan_check_count(); i++) {
        const char *name = cgan_check_name(i);
        if (only && strcmp(name, only) != 0) continue;
        cgan_check_result r = { 0, 0 };
        cgan_clear_error(ctx);
        cgan_status st = cgan_check_run(ctx, i, &r);
        const char *res = st == CGAN_OK ? "PASS" : st == CGAN_E_UNSUPPORTED ? "SKIP" : "FAIL";
        printf("%-30s %11.3e %9.1e  %s\n", name, r.max_err, r.tol, res);
        checks++;
        if (st == CGAN_OK) passes++;
        else if (st == CGAN_E_UNSUPPORTED) skips++;
        else if (st != CGAN_E_UNSUPPORTED) {
            fails++;
            fprintf(stderr, "  %s: %s\n", name, cgan_last_error(ctx));
        }
    }
    /* passed and failed count checks (and programs that fail to build); the programs built
     * are said apart */
    printf("\n%d passed, %d failed", passes, fails);
    if (skips) printf(", %d skipped", skips);
    printf(" (%d check%s", checks, checks == 1 ? "" : "s");
    if (!only) printf("; %d of %d kernel programs built", built, programs);
    printf(")\n");
    cgan_ctx_destroy(ctx);
    return fails ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
