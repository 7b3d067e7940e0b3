/* cgan-cl train: train a (conditional) GAN in a run folder. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    if (stop_flag) _exit(128 + sig); /* second signal: leave now; checkpoints are atomic */
    stop_flag = 1;
}

static void help(void)
{
    printf("usage: cgan-cl train [options]\n"
           "\n"
           "Train a conditional GAN. Progress shows on a terminal as one line (plain lines\n"
           "otherwise); the run folder gets sample grids, metrics.csv, a loss plot, the config\n"
           "and checkpoints. Ctrl-C (SIGINT) or SIGTERM finishes the step, saves a checkpoint\n"
           "and exits 0; a second signal exits at once (the last checkpoint stays intact).\n"
           "One run at a time per folder: a lock (DIR/.lock) makes a second train or\n"
           "--resume on it fail at once, naming the holder's process ID. On start, temporary\n"
           "files left by an interrupted save are removed. Class folder names and captions\n"
           "must be UTF-8.\n"
           "\n"
           "data:\n"
           "  --data PATH          image folder (one subfolder per class; JPEG/PNG) or a\n"
           "                       folder of IDX files (MNIST format, raw or .gz)\n"
           "                       (default: Fashion-MNIST in %s)\n"
           "  --channels 1|3       force grayscale or colour (default: from the data)\n"
           "  --max-images N       use at most N images (quick runs)\n"
           "  --cache-decoded      image folders: decode every image before training and keep\n"
           "                       it in memory (C x S x S bytes each), instead of decoding\n"
           "                       from disk ahead of each batch; the batches are the same\n"
           "  --flip               random horizontal flips\n"
           "  --diffaug            DiffAugment (translation + cutout) on every image D sees,\n"
           "                       real and fake, with gradients through it to G\n"
           "model:\n"
           "  --size 16|32|64|128|256  image size of the built-in DCGAN family (default 32);\n"
           "                       depth follows from it: log2(size) - 2 stages in G and D\n"
           "  --arch seed32|dcgan64  names for --size 32 and --size 64\n"
           "  --model FILE.json    G and D from a model description file instead (layer\n"
           "                       lists, doc/model-format.md); it sets the size and nz, and\n"
           "                       excludes --size, --arch, --nz, --ngf and --ndf\n"
           "  --cond none|concat|proj|text  conditioning (default concat); text: by the\n"
           "                       captions in the image folder's captions.tsv (lines\n"
           "                       'class/image.png<TAB>caption'), with a matching-aware D\n"
           "  --nz N --ngf N --ndf N   latent size and widths (100, 64, 64)\n"
           "training:\n"
           "  --loss bce|hinge     (default bce)\n"
           "  --batch N            (default 64)\n"
           "  --lr F --lr-d F      Adam learning rates of G and D (4e-4; --lr-d defaults to --lr)\n"
           "  --beta1 F --beta2 F  Adam betas (0, 0.999)\n"
           "  --d-steps N          D updates per G update (1)\n"
           "  --accum K            gradient accumulation: cut each batch into K micro batches\n"
           "                       (of batch/K images, each with its own BatchNorm statistics)\n"
           "                       and update once with their mean gradient (1: off)\n"
           "  --ema F              EMA decay of G's weights for samples and export, 0 = off (0.999)\n"
           "  --ema-rampup R       the EMA's warm-up: its time constant, 1/(1 - decay) G updates,\n"
           "                       is 1 + R x the updates so far until the decay reaches --ema\n"
           "                       (default 0.111: 1/9)\n"
           "stabilisers (off by default, except standing statistics):\n"
           "  --lr-schedule constant|linear|cosine  decay of both learning rates to 0 over\n"
           "                       the run's steps after the warm-up (default constant); with\n"
           "                       --lr-d != --lr this is TTUR with a schedule\n"
           "  --warmup N           linear learning-rate warm-up over the first N steps (0)\n"
           "  --label-smooth A     one-sided label smoothing: D's target for real images is\n"
           "                       1 - A, A in [0, 0.5) (--loss bce only; 0)\n"
           "  --spectral-norm      spectral normalisation of D's conv and linear weights (one\n"
           "                       power iteration per D update; its vectors are checkpointed)\n"
           "  --mbstd G            minibatch standard deviation: D's last stage gets one more\n"
           "                       feature plane, how much the images of each group of G differ\n"
           "                       (built-in models; 0 = off)\n"
           "  --standing-stats N   at each checkpoint, recompute G's BatchNorm statistics with\n"
           "                       the EMA weights over N batches of mixed-class noise and\n"
           "                       store them for sampling (generate --ema); default 20\n"
           "                       (none for text models or --ema 0); 0 = off\n"
           "  --steps N | --epochs N   length (default 1 epoch)\n"
           "  --seed N             seed of initialisation, noise and shuffling (1)\n"
           "run folder:\n"
           "  --out DIR            run folder (default ./run); a folder that holds a run\n"
           "                       already is refused: continue it with --resume DIR\n"
           "  --sample-every N     sample grid every N steps (500)\n"
           "  --ckpt-every N       checkpoint every N steps (1000)\n"
           "  --keep N             keep the last N checkpoints (3)\n"
           "  --log-every N        metrics/progress every N steps (50)\n"
           "  --resume DIR         continue a run from its latest checkpoint with its own\n"
           "                       settings: only --steps/--epochs (to extend it), --device,\n"
           "                       --cache-decoded, --accum, --sync-bn and --eval-* may be\n"
           "                       given, any other option is refused by name; every\n"
           "                       metadata value is checked against its range first\n"
           "  --init CKPT          start from the tensors of CKPT whose names and shapes match\n"
           "                       (pretrain, then fine-tune with conditioning)\n"
           "evaluation (as cgan-cl eval; may be given with --resume):\n"
           "  --eval-every N       every N steps (and at the end): FID, KID, precision,\n"
           "                       recall and conditional accuracy of the EMA generator on\n"
           "                       fixed noise (seed 0), added as columns to metrics.csv and\n"
           "                       plotted in eval.png; the checkpoint of the best FID is\n"
           "                       kept as DIR/best.safetensors (default: off)\n"
           "  --eval-n N           images per evaluation (1000)\n"
           "  --eval-features FILE a feature network file instead of the cached one (which\n"
           "                       is trained at the start when missing)\n"
           "  -d, --device N|NAME  OpenCL device; under mpirun a comma list gives one per\n"
           "                       process of a node (by local rank); without one, the\n"
           "                       processes of a node take its GPUs round-robin\n"
           "\n"
           "data parallel (a build with MPI; doc/scaling.md):\n"
           "  mpirun -np N cgan-cl train ... runs N replicas: each takes batch/N images of\n"
           "  every batch (the slices of one shuffled order), gradients are averaged by an\n"
           "  all-reduce after each backward, BatchNorm statistics stay per process. The\n"
           "  result matches one process with --accum N (times its own --accum). Rank 0\n"
           "  alone writes the run folder and prints progress; a signal to any process stops\n"
           "  all at the same step; parameters are compared every --log-every steps and a\n"
           "  divergence stops the run. --resume works the same under mpirun.\n"
           "  --sync-bn            BatchNorm statistics of the processes' slices together, as\n"
           "                       one batch of batch/--accum images (costs a host round trip\n"
           "                       per BatchNorm layer and pass); no effect on one process\n",
           "/usr/share/datasets/fashion-mnist");
}

/* No --device under mpirun: local rank r takes the node's GPU r mod (number of GPUs); with
 * no GPU, the default device for every process. */
static void round_robin_gpu(int local, char *spec, size_t n)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_device_info *list = NULL;
    int count = 0, gpus = 0;
    if (ctx && cgan_devices_list(ctx, &list, &count) == CGAN_OK) {
        for (int i = 0; i < count; i++) gpus += list[i].type == CGAN_DEVICE_GPU;
        for (int i = 0, g = 0; i < count && gpus > 0; i++)
            if (list[i].type == CGAN_DEVICE_GPU && g++ == local % gpus) snprintf(spec, n, "%d", list[i].index);
    }
    cgan_devices_free(list);
    cgan_ctx_destroy(ctx);
}

typedef struct ui {
    int tty;
    int64_t last_line;
    int64_t step, total;    /* the last progress event's */
    int epoch;
    double img_per_s;
    char checkpoint[4096];  /* the last checkpoint written */
} ui;

static void fmt_eta(double s, char *out, size_t n)
{
    if (s <= 0) { snprintf(out, n, "--"); return; }
    long v = (long)s;
    if (v >= 3600) snprintf(out, n, "%ldh%02ldm", v / 3600, v / 60 % 60);
    else snprintf(out, n, "%ldm%02lds", v / 60, v % 60);
}

static void on_event(void *user, const cgan_run_event *e)
{
    ui *u = user;
    switch (e->kind) {
    case CGAN_RUN_INFO:
        if (u->tty) fputs("\r\033[K", stdout);
        printf("%s\n", e->text);
        break;
    case CGAN_RUN_LOG: {
        u->step = e->step;
        u->total = e->total;
        u->epoch = e->epoch;
        u->img_per_s = e->img_per_s;
        char eta[32];
        fmt_eta(e->eta_s, eta, sizeof eta);
        if (u->tty)
            printf("\r\033[Kstep %" PRId64 "/%" PRId64 "  epoch %d  %.1f img/s  ETA %s  loss D %.3f G %.3f  D(x) %.2f  D(G(z)) %.2f",
                   e->step, e->total, e->epoch, e->img_per_s, eta, e->loss_d, e->loss_g, e->d_x, e->d_gz);
        else
            printf("step %" PRId64 "/%" PRId64 " epoch %d img/s %.1f eta %s loss_d %.4f loss_g %.4f d_x %.3f d_g_z %.3f acc_real %.2f acc_fake %.2f\n",
                   e->step, e->total, e->epoch, e->img_per_s, eta, e->loss_d, e->loss_g, e->d_x, e->d_gz,
                   e->acc_real, e->acc_fake);
        break;
    }
    case CGAN_RUN_SAMPLE:
    case CGAN_RUN_CHECKPOINT:
        if (u->tty) fputs("\r\033[K", stdout);
        printf("%s %s\n", e->kind == CGAN_RUN_SAMPLE ? "samples" : "checkpoint", e->text);
        if (e->kind == CGAN_RUN_CHECKPOINT) snprintf(u->checkpoint, sizeof u->checkpoint, "%s", e->text);
        break;
    }
    fflush(stdout);
}

static int parse_float(const char *opt, const char *v, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi)) {
        cli_usage_error("train", "%s '%s': expected a number in [%g, %g]", opt, v, lo, hi);
        return -1;
    }
    *out = (float)x;
    return 0;
}

enum { O_DATA = 256, O_CHANNELS, O_MAXIMG, O_FLIP, O_ARCH, O_SIZE, O_COND, O_NZ, O_NGF, O_NDF, O_LOSS, O_BATCH,
       O_LR, O_LRD, O_B1, O_B2, O_DSTEPS, O_EMA, O_STEPS, O_EPOCHS, O_SEED, O_OUT, O_SAMPLE, O_CKPT, O_KEEP,
       O_LOG, O_RESUME, O_INIT, O_DIFFAUG, O_MODEL, O_CACHE, O_ACCUM, O_SYNCBN, O_EVAL_EVERY, O_EVAL_N,
       O_EVAL_FEATURES };
/* the stabilisers (issue 20) */
enum { O_LRSCHED = 400, O_WARMUP, O_LSMOOTH, O_SPECNORM, O_STANDING, O_EMA_RAMPUP, O_MBSTD };

/* Options of the model that a model file or another option may set too. */
typedef struct model_opts {
    int arch, size, cond;          /* -1 when not given */
    int nz_set, ngf_set, ndf_set;
    const char *model;             /* --model FILE */
} model_opts;

/* Settle the model options into o (conflicts are usage errors); *text receives a model
 * file's text (the caller frees it). Returns a CLI exit code, CLI_EXIT_OK to go on. */
static int settle_model(const model_opts *mo, cgan_run_opts *o, char **text)
{
    cgan_model_cfg *m = &o->train.model;
    *text = NULL;
    if (mo->arch >= 0 && mo->size >= 0 && cgan_arch_size((cgan_arch)mo->arch) != mo->size)
        return cli_usage_error("train", "--arch %s is --size %d; give one of them", cgan_arch_name((cgan_arch)mo->arch),
                               cgan_arch_size((cgan_arch)mo->arch));
    if (mo->size >= 0) m->size = mo->size;
    else if (mo->arch >= 0) m->size = cgan_arch_size((cgan_arch)mo->arch);
    if (mo->cond >= 0) m->cond = (cgan_cond)mo->cond;
    if (!mo->model) return CLI_EXIT_OK;
    const char *other = mo->size >= 0 ? "--size" : mo->arch >= 0 ? "--arch" : mo->ngf_set ? "--ngf" : mo->ndf_set ? "--ndf"
                        : mo->nz_set ? "--nz" : m->mbstd ? "--mbstd" : o->resume ? "--resume" : NULL;
    if (other)
        return cli_usage_error("train", "--model and %s exclude each other: %s; give one of them", other,
                               o->resume ? "a resumed run keeps its own model"
                               : m->mbstd ? "--mbstd adds a layer to the built-in D; in a model file, add an \"mbstd\" layer"
                                          : "the model file sets the architecture (its size, nz and widths)");
    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx) { cli_error("train", "out of memory"); return CLI_EXIT_FAIL; }
    cgan_model_head h;
    if (cgan_model_file_read(ctx, mo->model, text, &h) != CGAN_OK) {
        cli_error("train", cgan_last_error(ctx));
        cgan_ctx_destroy(ctx);
        return CLI_EXIT_FAIL;
    }
    cgan_ctx_destroy(ctx);
    if (h.cond >= 0 && mo->cond >= 0 && h.cond != mo->cond)
        return cli_usage_error("train", "--cond %s conflicts with \"cond\": \"%s\" in %s; leave --cond out or change the "
                               "file", cgan_cond_name((cgan_cond)mo->cond), cgan_cond_name((cgan_cond)h.cond), mo->model);
    if (h.cond >= 0) m->cond = (cgan_cond)h.cond;
    m->desc = *text;
    m->size = h.size;
    m->nz = h.nz;
    o->model_origin = mo->model;
    return CLI_EXIT_OK;
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, 0, O_DATA }, { "channels", required_argument, 0, O_CHANNELS },
        { "max-images", required_argument, 0, O_MAXIMG }, { "flip", no_argument, 0, O_FLIP },
        { "arch", required_argument, 0, O_ARCH }, { "size", required_argument, 0, O_SIZE },
        { "cond", required_argument, 0, O_COND }, { "nz", required_argument, 0, O_NZ },
        { "ngf", required_argument, 0, O_NGF }, { "ndf", required_argument, 0, O_NDF },
        { "loss", required_argument, 0, O_LOSS }, { "batch", required_argument, 0, O_BATCH },
        { "lr", required_argument, 0, O_LR }, { "lr-d", required_argument, 0, O_LRD },
        { "beta1", required_argument, 0, O_B1 }, { "beta2", required_argument, 0, O_B2 },
        { "d-steps", required_argument, 0, O_DSTEPS }, { "ema", required_argument, 0, O_EMA },
        { "ema-rampup", required_argument, 0, O_EMA_RAMPUP },
        { "steps", required_argument, 0, O_STEPS }, { "epochs", required_argument, 0, O_EPOCHS },
        { "seed", required_argument, 0, O_SEED }, { "out", required_argument, 0, O_OUT },
        { "sample-every", required_argument, 0, O_SAMPLE }, { "ckpt-every", required_argument, 0, O_CKPT },
        { "keep", required_argument, 0, O_KEEP }, { "log-every", required_argument, 0, O_LOG },
        { "resume", required_argument, 0, O_RESUME }, { "init", required_argument, 0, O_INIT },
        { "diffaug", no_argument, 0, O_DIFFAUG }, { "model", required_argument, 0, O_MODEL },
        { "cache-decoded", no_argument, 0, O_CACHE }, { "accum", required_argument, 0, O_ACCUM },
        { "sync-bn", no_argument, 0, O_SYNCBN },
        { "eval-every", required_argument, 0, O_EVAL_EVERY },
        { "eval-n", required_argument, 0, O_EVAL_N }, { "eval-features", required_argument, 0, O_EVAL_FEATURES },
        { "lr-schedule", required_argument, 0, O_LRSCHED }, { "warmup", required_argument, 0, O_WARMUP },
        { "label-smooth", required_argument, 0, O_LSMOOTH }, { "spectral-norm", no_argument, 0, O_SPECNORM },
        { "mbstd", required_argument, 0, O_MBSTD },
        { "standing-stats", required_argument, 0, O_STANDING },
        { "device", required_argument, 0, 'd' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    cgan_run_opts o;
    cgan_run_defaults(&o);
    const char *device = NULL;
    int lr_d_set = 0;
    model_opts mo = { -1, -1, -1, 0, 0, 0, NULL };
    long v;
    int c, li = -1;
    const char *fixed = NULL; /* the first option a resumed run could not honour */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:h", opts, &li)) != -1) {
        /* a resumed run keeps its settings: only its length, device and data caching may be
         * given with --resume (issue 15, defect 14); the rest is refused by name below */
        if (!fixed && c != 'h' && c != 'd' && c != O_STEPS && c != O_EPOCHS && c != O_RESUME && c != O_CACHE &&
            c != O_ACCUM && c != O_SYNCBN &&
            c != O_EVAL_EVERY && c != O_EVAL_N && c != O_EVAL_FEATURES && c != '?' && li >= 0)
            fixed = opts[li].name;
        li = -1;
        switch (c) {
        case 'h': help(); return CLI_EXIT_OK;
        case 'd': device = optarg; break;
        case O_DATA: o.data = optarg; break;
        case O_CHANNELS:
            if (cli_parse_long("train", "--channels", optarg, 1, 3, &v) || v == 2)
                return v == 2 ? cli_usage_error("train", "--channels must be 1 or 3") : CLI_EXIT_USAGE;
            o.channels = (int)v; break;
        case O_MAXIMG: if (cli_parse_long("train", "--max-images", optarg, 1, 100000000, &v)) return CLI_EXIT_USAGE; o.max_images = (int)v; break;
        case O_FLIP: o.flip = 1; break;
        case O_ARCH: {
            int a = cgan_arch_parse(optarg);
            if (a < 0) return cli_usage_error("train", "--arch '%s': use seed32 or dcgan64", optarg);
            mo.arch = a; break;
        }
        case O_SIZE:
            if (cli_parse_long("train", "--size", optarg, CGAN_MODEL_MIN_SIZE, CGAN_MODEL_MAX_SIZE, &v)) return CLI_EXIT_USAGE;
            if (!cgan_model_size_ok((int)v)) return cli_usage_error("train", "--size '%s': use 16, 32, 64, 128 or 256", optarg);
            mo.size = (int)v; break;
        case O_MODEL: mo.model = optarg; break;
        case O_COND: {
            int cd = cgan_cond_parse(optarg);
            if (cd < 0) return cli_usage_error("train", "--cond '%s': use none, concat, proj or text", optarg);
            mo.cond = cd; break;
        }
        case O_NZ: if (cli_parse_long("train", "--nz", optarg, 1, 4096, &v)) return CLI_EXIT_USAGE; o.train.model.nz = (int)v; mo.nz_set = 1; break;
        case O_NGF: if (cli_parse_long("train", "--ngf", optarg, 1, 1024, &v)) return CLI_EXIT_USAGE; o.train.model.ngf = (int)v; mo.ngf_set = 1; break;
        case O_NDF: if (cli_parse_long("train", "--ndf", optarg, 1, 1024, &v)) return CLI_EXIT_USAGE; o.train.model.ndf = (int)v; mo.ndf_set = 1; break;
        case O_LOSS: {
            int l = cgan_loss_parse(optarg);
            if (l < 0) return cli_usage_error("train", "--loss '%s': use bce or hinge", optarg);
            o.train.loss = (cgan_loss_kind)l; break;
        }
        case O_BATCH: if (cli_parse_long("train", "--batch", optarg, 1, 4096, &v)) return CLI_EXIT_USAGE; o.train.model.batch = (int)v; break;
        case O_LR: if (parse_float("--lr", optarg, 0, 1, &o.train.lr_g)) return CLI_EXIT_USAGE; break;
        case O_LRD: if (parse_float("--lr-d", optarg, 0, 1, &o.train.lr_d)) return CLI_EXIT_USAGE; lr_d_set = 1; break;
        case O_B1: if (parse_float("--beta1", optarg, 0, 0.9999999, &o.train.beta1)) return CLI_EXIT_USAGE; break;
        case O_B2: if (parse_float("--beta2", optarg, 0, 0.9999999, &o.train.beta2)) return CLI_EXIT_USAGE; break;
        case O_DSTEPS: if (cli_parse_long("train", "--d-steps", optarg, 1, 16, &v)) return CLI_EXIT_USAGE; o.train.d_steps = (int)v; break;
        case O_ACCUM: if (cli_parse_long("train", "--accum", optarg, 1, 256, &v)) return CLI_EXIT_USAGE; o.train.accum = (int)v; break;
        case O_SYNCBN: o.train.sync_bn = 1; break;
        case O_EMA: if (parse_float("--ema", optarg, 0, 0.9999999, &o.train.ema)) return CLI_EXIT_USAGE; break;
        case O_STEPS: if (cli_parse_long("train", "--steps", optarg, 1, 1000000000, &v)) return CLI_EXIT_USAGE; o.steps = v; break;
        case O_EPOCHS: if (cli_parse_long("train", "--epochs", optarg, 1, 1000000, &v)) return CLI_EXIT_USAGE; o.epochs = (int)v; break;
        case O_SEED: if (cli_parse_long("train", "--seed", optarg, 0, 2147483647, &v)) return CLI_EXIT_USAGE; o.train.seed = (uint64_t)v; break;
        case O_OUT: o.out = optarg; break;
        case O_SAMPLE: if (cli_parse_long("train", "--sample-every", optarg, 1, 1000000000, &v)) return CLI_EXIT_USAGE; o.sample_every = (int)v; break;
        case O_CKPT: if (cli_parse_long("train", "--ckpt-every", optarg, 1, 1000000000, &v)) return CLI_EXIT_USAGE; o.ckpt_every = (int)v; break;
        case O_KEEP: if (cli_parse_long("train", "--keep", optarg, 1, 10000, &v)) return CLI_EXIT_USAGE; o.keep = (int)v; break;
        case O_LOG: if (cli_parse_long("train", "--log-every", optarg, 1, 1000, &v)) return CLI_EXIT_USAGE; o.log_every = (int)v; break;
        case O_RESUME: o.resume = optarg; break;
        case O_INIT: o.init = optarg; break;
        case O_DIFFAUG: o.train.model.diffaug = 1; break;
        case O_CACHE: o.cache_decoded = 1; break;
        case O_EVAL_EVERY: if (cli_parse_long("train", "--eval-every", optarg, 1, 1000000000, &v)) return CLI_EXIT_USAGE; o.eval_every = (int)v; break;
        case O_EVAL_N: if (cli_parse_long("train", "--eval-n", optarg, 8, 1000000, &v)) return CLI_EXIT_USAGE; o.eval_n = (int)v; break;
        case O_EVAL_FEATURES: o.eval_features = optarg; break;
        case O_LRSCHED: {
            int k = cgan_lr_schedule_parse(optarg);
            if (k < 0) return cli_usage_error("train", "--lr-schedule '%s': use constant, linear or cosine", optarg);
            o.train.lr_schedule = (cgan_lr_schedule)k; break;
        }
        case O_WARMUP: if (cli_parse_long("train", "--warmup", optarg, 0, 1000000000, &v)) return CLI_EXIT_USAGE; o.train.warmup = v; break;
        case O_LSMOOTH:
            if (parse_float("--label-smooth", optarg, 0, 0.4999999, &o.train.label_smooth)) return CLI_EXIT_USAGE;
            break;
        case O_SPECNORM: o.train.model.spectral_norm = 1; break;
        case O_MBSTD: if (cli_parse_long("train", "--mbstd", optarg, 0, 4096, &v)) return CLI_EXIT_USAGE; o.train.model.mbstd = (int)v; break;
        case O_EMA_RAMPUP:
            if (parse_float("--ema-rampup", optarg, 1e-6, 100, &o.train.ema_rampup)) return CLI_EXIT_USAGE;
            break;
        case O_STANDING: if (cli_parse_long("train", "--standing-stats", optarg, 0, 10000, &v)) return CLI_EXIT_USAGE; o.train.standing_stats = (int)v; break;
        default:
            if (optopt) return cli_usage_error("train", "option '%s' needs a value", argv[optind - 1]);
            return cli_usage_error("train", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!lr_d_set) o.train.lr_d = o.train.lr_g;
    if (o.train.label_smooth > 0 && o.train.loss == CGAN_LOSS_HINGE)
        return cli_usage_error("train", "--label-smooth applies to --loss bce (a target for D's real images); the "
                               "hinge loss has no target to smooth");
    if (o.train.standing_stats > 0 && o.train.ema == 0)
        return cli_usage_error("train", "--standing-stats computes the statistics of the EMA weights; it needs --ema > 0");
    if (o.resume && o.init) return cli_usage_error("train", "--resume and --init exclude each other");
    if (o.resume && fixed && strcmp(fixed, "model") != 0 && strcmp(fixed, "init") != 0)
        return cli_usage_error("train", "--resume %s continues the run with the settings it was started with, so "
                               "--%s cannot change them (with --resume give only --steps, --epochs, --device, "
                               "--cache-decoded, --accum, --sync-bn or --eval-*; to train on with other settings, start a new run from its "
                               "checkpoint with --init)", o.resume, fixed);
    char *model_text = NULL;
    int rc = settle_model(&mo, &o, &model_text);
    if (rc != CLI_EXIT_OK) { free(model_text); return rc; }

    /* the job this process belongs to (one process unless started by mpirun or srun) */
    cgan_dist *dist = NULL;
    char derr[512], spec[256];
    if (cgan_dist_init(&dist, derr, sizeof derr) != CGAN_OK ||
        cgan_dist_device_spec(device, cgan_dist_local_rank(dist), cgan_dist_local_size(dist), spec, sizeof spec, derr,
                              sizeof derr) != CGAN_OK) {
        cli_error("train", derr);
        free(model_text);
        cgan_dist_abort(dist, CLI_EXIT_FAIL);
        cgan_dist_finalize(dist);
        return CLI_EXIT_FAIL;
    }
    const int rank = cgan_dist_rank(dist), nproc = cgan_dist_size(dist);
    if (nproc > 1 && !spec[0] && !getenv("CGAN_DEVICE")) round_robin_gpu(cgan_dist_local_rank(dist), spec, sizeof spec);
    cgan_ctx *ctx = cli_open(spec[0] ? spec : NULL);
    if (!ctx) { free(model_text); cgan_dist_abort(dist, CLI_EXIT_FAIL); cgan_dist_finalize(dist); return CLI_EXIT_FAIL; }
    const cgan_device_info *d = cgan_ctx_device(ctx);
    if (nproc > 1) printf("process %d of %d: device %s (%s)\n", rank, nproc, d->name, d->platform);
    else printf("device: %s (%s)\n", d->name, d->platform);
    o.dist = dist;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.stop = &stop_flag;
    ui u;
    memset(&u, 0, sizeof u);
    u.tty = isatty(STDOUT_FILENO);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int stopped = 0;
    cgan_status st = cgan_run_train(ctx, &o, on_event, &u, &stopped);
    if (u.tty) putchar('\n');
    free(model_text);
    if (st != CGAN_OK) {
        if (nproc > 1) {
            char line[4200];
            snprintf(line, sizeof line, "process %d of %d: %s", rank, nproc, cgan_last_error(ctx));
            cli_error("train", line);
            fflush(stderr);
            /* the other processes may wait in a collective for this one: end the job */
            cgan_dist_abort(dist, CLI_EXIT_FAIL);
        } else {
            cli_error("train", cgan_last_error(ctx));
        }
        cgan_ctx_destroy(ctx);
        cgan_dist_finalize(dist);
        return CLI_EXIT_FAIL;
    }
    if (rank != 0) { /* rank 0 reports for the job */
        cgan_ctx_destroy(ctx);
        cgan_dist_finalize(dist);
        return CLI_EXIT_OK;
    }
    /* what a finished (or stopped) run leaves, and how to use it */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s: step %" PRId64 " of %" PRId64 ", epoch %d, %.1f s (last logged rate %.1f img/s)\n",
           stopped ? "stopped by signal" : "done", u.step, u.total, u.epoch, secs, u.img_per_s);
    if (u.checkpoint[0]) {
        printf("checkpoint: %s\n", u.checkpoint);
        printf("generate:   cgan-cl generate --checkpoint %s --out samples.png\n", o.resume ? o.resume : o.out);
    }
    cgan_ctx_destroy(ctx);
    cgan_dist_finalize(dist);
    return CLI_EXIT_OK;
}
