/* cgan-cl generate: images from a checkpoint, by class name, index or prompt. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

#define CMD "generate"
#define MAX_SPECS 256

static void help(void)
{
    printf("usage: cgan-cl generate --checkpoint PATH (--out FILE | --out-dir DIR) [options]\n"
           "\n"
           "Generate images with a trained generator (eval mode). The same checkpoint, seed,\n"
           "options and device give the same bytes.\n"
           "\n"
           "checkpoint:\n"
           "  -c, --checkpoint PATH  a .safetensors checkpoint or a run folder (its 'latest')\n"
           "      --ema | --raw      EMA or raw weights of G (default: the EMA when the\n"
           "                         checkpoint has one, else raw)\n"
           "what:\n"
           "      --class NAME|INDEX a class by name (case-insensitive) or index; repeat for\n"
           "                         more (conditional models; default: every class)\n"
           "      --prompt TEXT      a class from a short text, e.g. \"a pair of ankle boots\";\n"
           "                         plural-insensitive, the longest class phrase wins; may\n"
           "                         be repeated and mixed with --class. A text model\n"
           "                         (trained with --cond text) reads the words through its\n"
           "                         text encoder instead: one grid row (or --out-dir folder)\n"
           "                         per prompt; words not in its vocabulary are reported\n"
           "                         and ignored, a prompt of unknown words only is an error\n"
           "  -n, --n N              images per requested class, or in all when the model is\n"
           "                         unconditional (default 8 per class, 64 unconditional)\n"
           "      --per-class N      the same as --n\n"
           "  -s, --seed S           noise seed (default 0); image k of each class uses the\n"
           "                         noise of slot k, so columns share z across class rows\n"
           "outputs (one of):\n"
           "  -o, --out FILE         one grid image (.png or .jpg): one row per requested\n"
           "                         class and N columns, or a near-square grid\n"
           "      --grid COLSxROWS   grid shape instead (without --n: as many as fill it)\n"
           "      --out-dir DIR      DIR/<class>/0000.png ... for each class (names made\n"
           "                         file-safe: \"T-shirt/top\" -> T-shirt_top); DIR/0000.png\n"
           "                         when unconditional\n"
           "      --interpolate STEPS  with --out: one row of STEPS images. One class (or an\n"
           "                         unconditional model): a walk in noise from the noise of\n"
           "                         --seed to that of seed+1, spherical (slerp), or linear\n"
           "                         with --lerp. Two classes: the same noise, the first\n"
           "                         class for the first half of the row and the second for\n"
           "                         the rest. The generator takes class indices, not a\n"
           "                         continuous condition, so no blend between two classes\n"
           "                         is drawn.\n"
           "      --lerp             linear instead of spherical noise interpolation\n"
           "other:\n"
           "      --batch N          images per generator pass (default %d; the last pass\n"
           "                         is padded)\n"
           "  -d, --device N|NAME    OpenCL device\n"
           "  -v, --verbose          device, weights and throughput (img/s)\n"
           "\n"
           "A progress line shows on a terminal. Images are written atomically; output\n"
           "folders are created and checked before any work, and a failed run leaves\n"
           "existing files as they were.\n",
           CGAN_GEN_DEFAULT_BATCH);
}

typedef struct progress_ui { int tty; } progress_ui;

static void on_progress(void *user, int64_t done, int64_t total)
{
    progress_ui *u = user;
    if (!u->tty) return;
    fprintf(stderr, "\r\033[Kgenerating %" PRId64 "/%" PRId64 " images (%d%%)", done, total,
            (int)(100 * done / (total ? total : 1)));
    fflush(stderr);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum { O_CLASS = 256, O_PROMPT, O_PER_CLASS, O_EMA, O_RAW, O_OUT_DIR, O_GRID, O_INTERP, O_LERP, O_BATCH };

typedef struct spec { int prompt; const char *text; } spec;

int cmd_generate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "checkpoint", required_argument, 0, 'c' }, { "class", required_argument, 0, O_CLASS },
        { "prompt", required_argument, 0, O_PROMPT }, { "n", required_argument, 0, 'n' },
        { "per-class", required_argument, 0, O_PER_CLASS }, { "seed", required_argument, 0, 's' },
        { "ema", no_argument, 0, O_EMA }, { "raw", no_argument, 0, O_RAW },
        { "out", required_argument, 0, 'o' }, { "out-dir", required_argument, 0, O_OUT_DIR },
        { "grid", required_argument, 0, O_GRID }, { "interpolate", required_argument, 0, O_INTERP },
        { "lerp", no_argument, 0, O_LERP }, { "batch", required_argument, 0, O_BATCH },
        { "device", required_argument, 0, 'd' }, { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    const char *ckpt = NULL, *out = NULL, *out_dir = NULL, *device = NULL;
    spec specs[MAX_SPECS];
    int nspecs = 0, verbose = 0, lerp = 0, ema = 0, raw = 0, n_set = 0;
    long n = 0, seed = 0, steps = 0, batch = CGAN_GEN_DEFAULT_BATCH;
    int cols = 0, rows = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:n:s:o:d:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'h': help(); return CLI_EXIT_OK;
        case 'c': ckpt = optarg; break;
        case O_CLASS:
        case O_PROMPT:
            if (nspecs == MAX_SPECS) return cli_usage_error(CMD, "at most %d --class/--prompt options", MAX_SPECS);
            if (c == O_PROMPT && cgan_text_count_words(optarg) == 0)
                return cli_usage_error(CMD, "--prompt '%s': empty prompt; describe a class, e.g. \"a dress\"", optarg);
            if (c == O_CLASS && !*optarg) return cli_usage_error(CMD, "--class needs a class name or index");
            specs[nspecs++] = (spec){ c == O_PROMPT, optarg };
            break;
        case 'n':
        case O_PER_CLASS:
            if (cli_parse_long(CMD, c == 'n' ? "--n" : "--per-class", optarg, 1, 100000000, &n)) return CLI_EXIT_USAGE;
            n_set = 1;
            break;
        case 's': if (cli_parse_long(CMD, "--seed", optarg, 0, 2147483647, &seed)) return CLI_EXIT_USAGE; break;
        case O_EMA: ema = 1; break;
        case O_RAW: raw = 1; break;
        case 'o': out = optarg; break;
        case O_OUT_DIR: out_dir = optarg; break;
        case O_GRID: {
            char x;
            int used = 0;
            if (sscanf(optarg, "%d%c%d%n", &cols, &x, &rows, &used) != 3 || (x != 'x' && x != 'X') ||
                optarg[used] || cols < 1 || rows < 1 || cols > 4096 || rows > 4096)
                return cli_usage_error(CMD, "--grid '%s': expected COLSxROWS, e.g. 8x4", optarg);
            break;
        }
        case O_INTERP: if (cli_parse_long(CMD, "--interpolate", optarg, 2, 1024, &steps)) return CLI_EXIT_USAGE; break;
        case O_LERP: lerp = 1; break;
        case O_BATCH: if (cli_parse_long(CMD, "--batch", optarg, 1, 4096, &batch)) return CLI_EXIT_USAGE; break;
        case 'd': device = optarg; break;
        case 'v': verbose = 1; break;
        default:
            if (optopt && optopt != '?') return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc && !ckpt) ckpt = argv[optind++];
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!ckpt) return cli_usage_error(CMD, "--checkpoint PATH is required");
    if (!out && !out_dir) return cli_usage_error(CMD, "give --out FILE or --out-dir DIR");
    if (out && out_dir) return cli_usage_error(CMD, "--out and --out-dir exclude each other");
    if (ema && raw) return cli_usage_error(CMD, "--ema and --raw exclude each other");
    if (steps && out_dir) return cli_usage_error(CMD, "--interpolate writes one strip; use --out FILE");
    if (steps && (cols || n_set)) return cli_usage_error(CMD, "--interpolate takes neither --grid nor --n");
    if (lerp && !steps) return cli_usage_error(CMD, "--lerp goes with --interpolate");
    if (cols && out_dir) return cli_usage_error(CMD, "--grid goes with --out");

    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx) { cli_error(NULL, "out of memory"); return CLI_EXIT_FAIL; }
    cgan_gen *g = NULL;
    int rc = CLI_EXIT_FAIL;
    int classes[MAX_SPECS];
    if (cgan_gen_open(ctx, ckpt, &g) != CGAN_OK) goto lib_error;
    for (int i = 0; i < nspecs; i++) {
        cgan_status st = specs[i].prompt ? cgan_gen_prompt(g, specs[i].text, &classes[i])
                                         : cgan_gen_find_class(g, specs[i].text, &classes[i]);
        if (st != CGAN_OK) goto lib_error;
        if (specs[i].prompt && cgan_gen_is_text(g)) {
            if (*cgan_gen_unknown_words(g))
                fprintf(stderr, "cgan-cl: generate: prompt \"%s\": unknown words ignored: %s\n", specs[i].text,
                        cgan_gen_unknown_words(g));
            printf("prompt \"%s\" -> row %d\n", specs[i].text, classes[i] + 1);
        } else if (specs[i].prompt) {
            printf("prompt \"%s\" -> class %d \"%s\"\n", specs[i].text, classes[i], cgan_gen_classes(g)[classes[i]]);
        }
    }
    if (ema && !cgan_gen_has_ema(g)) {
        fprintf(stderr, "cgan-cl: generate: %s has no EMA weights (trained with --ema 0); use --raw or leave both out\n",
                cgan_gen_path(g));
        goto done;
    }
    cgan_gen_job job = {
        .layout = steps ? CGAN_GEN_INTERP : out_dir ? CGAN_GEN_DIR : CGAN_GEN_GRID,
        .path = out ? out : out_dir, .classes = classes, .nclasses = nspecs, .per_class = (int)n,
        .seed = (uint64_t)seed, .cols = cols, .rows = rows, .steps = (int)steps, .linear = lerp,
    };
    if (cgan_gen_prepare(g, &job) != CGAN_OK) goto lib_error;
    if (cli_open_ctx(ctx, device) != CGAN_OK) {
        cli_error("device", cgan_last_error(ctx));
        goto done;
    }
    long pass = cgan_gen_total(g) < batch ? (long)cgan_gen_total(g) : batch; /* no padding for a small job */
    if (pass < 1) pass = 1;
    if (cgan_gen_load(g, ema ? CGAN_GEN_EMA : raw ? CGAN_GEN_RAW : CGAN_GEN_AUTO, (int)pass) != CGAN_OK)
        goto lib_error;
    if (verbose) {
        const cgan_device_info *d = cgan_ctx_device(ctx);
        printf("device: %s (%s)\ncheckpoint: %s (%s weights)\n", d->name, d->platform, cgan_gen_path(g),
               cgan_gen_uses_ema(g) ? "EMA" : "raw");
    }
    progress_ui ui = { isatty(STDERR_FILENO) };
    double t0 = now_s();
    cgan_status st = cgan_gen_run(g, on_progress, &ui);
    double dt = now_s() - t0;
    if (ui.tty) fputs("\r\033[K", stderr);
    cli_warnings(ctx);
    if (st != CGAN_OK) goto lib_error;
    int gc, gr;
    cgan_gen_grid_shape(g, &gc, &gr);
    long long total = (long long)cgan_gen_total(g);
    if (out_dir) printf("wrote %lld images under %s\n", total, out_dir);
    else printf("wrote %s (%lld images, %dx%d)\n", out, total, gc, gr);
    if (verbose) printf("%lld images in %.2f s: %.1f img/s\n", total, dt, dt > 0 ? total / dt : 0.0);
    rc = CLI_EXIT_OK;
    goto done;
lib_error:
    cli_error(CMD, cgan_last_error(ctx));
done:
    cgan_gen_close(g);
    cgan_ctx_destroy(ctx);
    return rc;
}
