/* cgan-cl eval: FID, KID, precision/recall and conditional accuracy of a checkpoint or of
 * every checkpoint of a run folder, in the feature space of a classifier trained by the
 * engine itself (cgan/eval.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

#define CMD "eval"

static void help(void)
{
    printf("usage: cgan-cl eval --checkpoint CKPT|RUNDIR [options]\n"
           "       cgan-cl eval --images DIR [--size S] [options]\n"
           "\n"
           "Score a generator against held-out real images in the feature space of a\n"
           "classifier trained by cgan-cl itself on the labelled training data (trained\n"
           "once, then cached by a hash of the data; nothing is downloaded):\n"
           "FID and KID, precision and recall (k-NN manifolds, k = 3), conditional\n"
           "accuracy (the classifier's accuracy on generated images labelled with the\n"
           "class asked for), per-class accuracy and FID. The same figures for two\n"
           "disjoint real sets of the same size (the real floor) are printed beside them:\n"
           "FID depends on n, so compare figures at the same n, against the floor.\n"
           "\n"
           "  -c, --checkpoint PATH  a .safetensors checkpoint, or a run folder: every\n"
           "                         checkpoint in it as a curve (RUNDIR/eval.csv and\n"
           "                         RUNDIR/eval.png)\n"
           "      --images DIR       score these images instead of a generator's: an image\n"
           "                         folder (one subfolder per class, named as the data's\n"
           "                         classes; generate --out-dir writes one) or an IDX set,\n"
           "                         e.g. another implementation's samples; n / classes of\n"
           "                         each class are taken, in an order drawn from --seed\n"
           "      --size S           --images: the side they are scored at (default 32)\n"
           "  -n, --n N              generated images, and real images per set (default:\n"
           "                         half the real images, at most %d: Fashion-MNIST's\n"
           "                         10,000 test images as two disjoint sets; the FID's\n"
           "                         bias and noise both fall with n)\n"
           "      --json             print the result as JSON\n"
           "      --data DIR         the labelled data (default: the data the checkpoint was\n"
           "                         trained on, else Fashion-MNIST); real images come from\n"
           "                         its test split when it has one, else its training images\n"
           "      --features FILE    a feature network (safetensors) instead of the cached one\n"
           "      --save-features FILE  also save the feature network used to FILE\n"
           "  -s, --seed S           noise of the generated images and draw of the real sets\n"
           "                         (default 0)\n"
           "      --plot FILE        a PNG bar chart of the per-class accuracy and FID\n"
           "                         (a run folder: of its last checkpoint)\n"
           "      --ema | --raw      EMA or raw weights of G (default: the EMA when the\n"
           "                         checkpoint has one, else raw)\n"
           "      --training-stats   the EMA weights with the BatchNorm statistics of\n"
           "                         training, not the standing ones the checkpoint holds\n"
           "                         (train --standing-stats), to measure what they give\n"
           "  -d, --device N|NAME    OpenCL device\n"
           "\n"
           "The classifier is cached in the kernel cache's folder ($CGAN_CACHE_DIR, else\n"
           "$XDG_CACHE_HOME/cgan-cl, else ~/.cache/cgan-cl) as features-<hash>.safetensors.\n",
           CGAN_EVAL_DEFAULT_N);
}

static void on_msg(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "%s\n", line);
}

static void print_result(const cgan_eval_result *r, char *const *classes)
{
    printf("                   generated          real floor (n = %d)\n", r->floor_n);
    printf("FID                %-18.3f %.3f\n", r->fid, r->fid_floor);
    char kid[64];
    snprintf(kid, sizeof kid, "%.4g +- %.2g", r->kid, r->kid_std);
    printf("KID                %-18s %.4g +- %.2g\n", kid, r->kid_floor, r->kid_floor_std);
    printf("precision (k=3)    %-18.4f %.4f\n", r->precision, r->precision_floor);
    printf("recall (k=3)       %-18.4f %.4f\n", r->recall, r->recall_floor);
    if (r->num_classes) {
        printf("cond. accuracy     %-18.4f %.4f (the classifier on real images)\n", r->cond_acc, r->real_acc);
        printf("per class:         cond_acc  FID\n");
        for (int c = 0; c < r->num_classes; c++)
            printf("  %-16.16s %8.3f  %8.3f\n", classes ? classes[c] : "", r->class_acc[c], r->class_fid[c]);
    } else {
        printf("cond. accuracy     -                  (unconditional model)\n");
    }
    printf("evaluated in %.1f s\n", r->seconds);
}

/* last: a copy of the latest result (run_folder goes in step order), for its per-class
 * chart (--plot) */
typedef struct folder_ui {
    int json;
    json_t *arr;
    char *const *classes;
    cgan_eval_result last;
} folder_ui;

static void keep_last(folder_ui *u, const cgan_eval_result *r)
{
    cgan_eval_result_free(&u->last);
    u->last = *r;
    const size_t K = r->num_classes > 0 ? (size_t)r->num_classes : 0;
    u->last.class_acc = K && r->class_acc ? malloc(K * sizeof(double)) : NULL;
    u->last.class_fid = K && r->class_fid ? malloc(K * sizeof(double)) : NULL;
    if (u->last.class_acc) memcpy(u->last.class_acc, r->class_acc, K * sizeof(double));
    if (u->last.class_fid) memcpy(u->last.class_fid, r->class_fid, K * sizeof(double));
    if ((K && r->class_acc && !u->last.class_acc) || (K && r->class_fid && !u->last.class_fid))
        u->last.num_classes = 0;   /* out of memory: the chart is refused as for no classes */
}

static void on_each(void *user, int64_t step, const char *path, const cgan_eval_result *r)
{
    folder_ui *u = user;
    keep_last(u, r);
    if (u->json) {
        char *s = cgan_eval_result_json(r, u->classes);
        json_t *o = s ? json_loads(s, 0, NULL) : NULL;
        free(s);
        if (o) {
            json_object_set_new(o, "step", json_integer(step));
            json_object_set_new(o, "checkpoint", json_string(path));
            json_array_append_new(u->arr, o);
        }
        return;
    }
    printf("%8" PRId64 "  %9.3f  %9.3f  %8.4f  %9.4f  %9.4f  %8.4f\n", step, r->fid, r->fid_floor, r->kid,
           r->precision, r->recall, r->num_classes ? r->cond_acc : NAN);
    fflush(stdout);
}

/* The data a checkpoint was trained on: its "run" metadata's "data", else NULL. */
static char *trained_data(const cgan_gen *g)
{
    const char *run = cgan_st_meta(cgan_gen_file(g), "run");
    json_t *o = run ? json_loads(run, 0, NULL) : NULL;
    const char *d = o ? json_string_value(json_object_get(o, "data")) : NULL;
    char *out = d && *d ? strdup(d) : NULL;
    json_decref(o);
    return out;
}

/* One result: as JSON, or as the text report under its header line (when `show`); then
 * the per-class chart when plot is given. 0, or -1 after printing the error. */
static int report(cgan_ctx *ctx, const cgan_eval_result *r, char *const *classes, cgan_featnet *fn, int show,
                  int json, const char *header, const char *plot)
{
    if (show && json) {
        char *s = cgan_eval_result_json(r, classes);
        if (s) puts(s);
        free(s);
    } else if (show) {
        printf("%s\n", header);
        printf("feature network: %d features, test accuracy %.2f%%\n", cgan_featnet_dim(fn),
               100 * cgan_featnet_test_accuracy(fn));
        print_result(r, classes);
    }
    if (!plot) return 0;
    if (!r->num_classes) {
        fprintf(stderr, "cgan-cl: eval: --plot %s: an unconditional model has no per-class figures\n", plot);
        return -1;
    }
    if (cgan_eval_plot_classes(ctx, plot, r, classes)) {
        cli_error(CMD, cgan_last_error(ctx));
        return -1;
    }
    if (!json) printf("wrote %s\n", plot);
    return 0;
}

/* --images: another generator's images (or any labelled set) scored as generated ones. */
static int eval_images(const char *images, const char *data, const char *features, const char *save,
                       const char *plot, const char *device, int size, long n, long seed, int json, int gen_opts)
{
    if (gen_opts)
        return cli_usage_error(CMD, "--images scores images, not a generator: --checkpoint, --ema, --raw and "
                               "--training-stats do not apply");
    int rc = CLI_EXIT_FAIL;
    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx) { cli_error(CMD, "out of memory"); return CLI_EXIT_FAIL; }
    cgan_evaluator *ev = NULL;
    cgan_eval_result r;
    memset(&r, 0, sizeof r);
    cgan_eval_opts eo;
    cgan_eval_opts_default(&eo);
    eo.data = data;
    eo.features = features;
    eo.size = size;
    eo.n = (int)n;
    eo.seed = (uint64_t)seed;
    if (cli_open_ctx(ctx, device) || cgan_evaluator_create(ctx, &eo, on_msg, NULL, &ev)) goto fail;
    cgan_featnet *fn = cgan_evaluator_featnet(ev);
    char *const *classes = cgan_evaluator_class_names(ev);
    if ((save && cgan_featnet_save(fn, save)) || cgan_evaluator_images(ev, images, &r)) goto fail;
    char header[4200];
    snprintf(header, sizeof header, "images: %s, n = %d, seed %ld", images, r.n, seed);
    rc = report(ctx, &r, classes, fn, 1, json, header, plot) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    goto out;
fail:
    cli_error(CMD, cgan_last_error(ctx));
out:
    cli_warnings(ctx);
    cgan_eval_result_free(&r);
    cgan_evaluator_destroy(ev);
    cgan_ctx_destroy(ctx);
    return rc;
}

enum { O_JSON = 256, O_DATA, O_FEATURES, O_SAVE_FEATURES, O_PLOT, O_EMA, O_RAW, O_TRAINING_STATS, O_IMAGES, O_SIZE };

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        { "checkpoint", required_argument, 0, 'c' }, { "n", required_argument, 0, 'n' },
        { "json", no_argument, 0, O_JSON }, { "data", required_argument, 0, O_DATA },
        { "features", required_argument, 0, O_FEATURES }, { "save-features", required_argument, 0, O_SAVE_FEATURES },
        { "seed", required_argument, 0, 's' }, { "plot", required_argument, 0, O_PLOT },
        { "ema", no_argument, 0, O_EMA }, { "raw", no_argument, 0, O_RAW },
        { "training-stats", no_argument, 0, O_TRAINING_STATS }, { "images", required_argument, 0, O_IMAGES },
        { "size", required_argument, 0, O_SIZE },
        { "device", required_argument, 0, 'd' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    const char *ckpt = NULL, *images = NULL, *data = NULL, *features = NULL, *save = NULL, *plot = NULL, *device = NULL;
    long n = 0, seed = 0, size = 0;   /* n 0: half the real set, at most CGAN_EVAL_DEFAULT_N */
    int json = 0, ema = 0, raw = 0, tstats = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:n:s:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': help(); return CLI_EXIT_OK;
        case 'c': ckpt = optarg; break;
        case 'n': if (cli_parse_long(CMD, "--n", optarg, 8, 1000000, &n)) return CLI_EXIT_USAGE; break;
        case 's': if (cli_parse_long(CMD, "--seed", optarg, 0, 2147483647L, &seed)) return CLI_EXIT_USAGE; break;
        case O_JSON: json = 1; break;
        case O_DATA: data = optarg; break;
        case O_FEATURES: features = optarg; break;
        case O_SAVE_FEATURES: save = optarg; break;
        case O_PLOT: plot = optarg; break;
        case O_EMA: ema = 1; break;
        case O_RAW: raw = 1; break;
        case O_TRAINING_STATS: tstats = 1; break;
        case O_IMAGES: images = optarg; break;
        case O_SIZE:
            if (cli_parse_long(CMD, "--size", optarg, 8, 1024, &size)) return CLI_EXIT_USAGE;
            if (!cgan_model_size_ok((int)size))
                return cli_usage_error(CMD, "--size %ld: expected a model size (16, 32, 64, 128 or 256)", size);
            break;
        case 'd': device = optarg; break;
        default:
            return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (images) return eval_images(images, data, features, save, plot, device, size ? (int)size : 32, n, seed, json,
                                   ckpt || ema || raw || tstats);
    if (!ckpt) return cli_usage_error(CMD, "--checkpoint (or --images) is required");
    if (size) return cli_usage_error(CMD, "--size is for --images: a checkpoint's images have its model's size");
    if (ema && raw) return cli_usage_error(CMD, "--ema and --raw exclude each other");
    if (tstats && raw)
        return cli_usage_error(CMD, "--training-stats picks the BatchNorm statistics of the EMA weights; the raw "
                               "weights always use the training statistics (leave out --raw)");
    const cgan_gen_weights w = tstats ? CGAN_GEN_EMA_TRAINING_STATS : ema ? CGAN_GEN_EMA
                               : raw ? CGAN_GEN_RAW : CGAN_GEN_AUTO;
    struct stat sb;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/checkpoints", ckpt);
    const int folder = stat(ckpt, &sb) == 0 && S_ISDIR(sb.st_mode) && stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode);

    int rc = CLI_EXIT_FAIL;
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_gen *g = NULL;
    cgan_evaluator *ev = NULL;
    char *owned_data = NULL;
    cgan_eval_result r;
    memset(&r, 0, sizeof r);
    if (!ctx) { cli_error(CMD, "out of memory"); return CLI_EXIT_FAIL; }
    /* the checkpoint first (no device yet): a bad file fails before any work */
    if (cgan_gen_open(ctx, ckpt, &g)) { cli_error(CMD, cgan_last_error(ctx)); goto out; }
    if (cgan_gen_is_text(g)) {
        fprintf(stderr, "cgan-cl: eval: %s: a text-conditioned model has no classes to score; eval takes "
                "class-conditional and unconditional models\n", cgan_gen_path(g));
        goto out;
    }
    if (!data) data = owned_data = trained_data(g);
    cgan_eval_opts eo;
    cgan_eval_opts_default(&eo);
    eo.data = data;
    eo.features = features;
    eo.size = cgan_gen_cfg(g)->model.size;
    eo.channels = cgan_gen_cfg(g)->model.nc;
    eo.n = (int)n;
    eo.seed = (uint64_t)seed;
    if (cli_open_ctx(ctx, device)) { cli_error(CMD, cgan_last_error(ctx)); goto out; }
    if (cgan_evaluator_create(ctx, &eo, on_msg, NULL, &ev)) { cli_error(CMD, cgan_last_error(ctx)); goto out; }
    cgan_featnet *fn = cgan_evaluator_featnet(ev);
    if (save && cgan_featnet_save(fn, save)) { cli_error(CMD, cgan_last_error(ctx)); goto out; }
    char *const *classes = cgan_evaluator_class_names(ev);
    if (folder) {
        folder_ui u = { json, json ? json_array() : NULL, classes, { 0 } };
        if (!json)
            printf("    step        FID  FID floor       KID  precision     recall  cond_acc\n");
        int count = 0;
        const cgan_status fst = cgan_evaluator_run_folder(ev, ckpt, w, on_each, &u, &count);
        r = u.last;   /* the latest checkpoint's result, for --plot (freed at out) */
        if (fst) {
            json_decref(u.arr);
            cli_error(CMD, cgan_last_error(ctx));
            goto out;
        }
        if (json) {
            char *s = json_dumps(u.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
            if (s) puts(s);
            free(s);
            json_decref(u.arr);
        } else {
            printf("%d checkpoint(s); real floor at n = %d; feature network test accuracy %.2f%%\n", count,
                   cgan_evaluator_n(ev), 100 * cgan_featnet_test_accuracy(fn));
            printf("wrote %s/eval.csv and %s/eval.png\n", ckpt, ckpt);
        }
    }
    if (!folder || plot) {   /* a file, or the chart of the folder's latest checkpoint (scored above) */
        if (!folder && cgan_evaluator_checkpoint(ev, cgan_gen_path(g), w, &r)) {
            cli_error(CMD, cgan_last_error(ctx));
            goto out;
        }
        char header[4200];
        snprintf(header, sizeof header, "checkpoint: %s (%s), n = %d, seed %ld", cgan_gen_path(g),
                 w == CGAN_GEN_RAW || !cgan_gen_has_ema(g) ? "raw weights"
                 : w == CGAN_GEN_EMA_TRAINING_STATS ? "EMA weights, training BatchNorm statistics"
                                                    : "EMA weights",
                 r.n, seed);
        if (report(ctx, &r, classes, fn, !folder, json, header, plot)) goto out;
    }
    rc = CLI_EXIT_OK;
out:
    cli_warnings(ctx);
    cgan_eval_result_free(&r);
    cgan_evaluator_destroy(ev);
    cgan_gen_close(g);
    free(owned_data);
    cgan_ctx_destroy(ctx);
    return rc;
}
