/* cgan/trainer.h: GAN training on the shared executor.
 *
 * The trainer: one step updates D on a real and a fake batch,
 * then G through D; Adam on both, an optional EMA of G. A step only enqueues work: the
 * host reads losses when it logs (cgan_trainer_read_log).
 *
 * Text models (CGAN_COND_TEXT) train a matching-aware D as GAN-INT-CLS (Reed et al. 2016):
 * G draws the fake batch from the real batch's captions, and D's loss is
 *   L(D(real, right caption), real) + 0.5 * (L(D(real, mismatched caption), fake)
 *                                            + L(D(fake, right caption), fake)),
 * so D must judge whether image and caption match, not only whether the image is real.
 * The mismatched caption of sample i is that of the next sample in the batch (cyclically)
 * whose tokens differ from sample i's; when the whole batch shares one caption it is the
 * next sample's (the same text). The G step scores (fake, right caption). */
#ifndef CGAN_API_TRAINER_H
#define CGAN_API_TRAINER_H
#include <signal.h>
#include "cgan/model.h"
#include "cgan/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The GAN loss: binary cross-entropy on logits (the DCGAN one) or the hinge loss. */
typedef enum cgan_loss_kind { CGAN_LOSS_BCE = 0, CGAN_LOSS_HINGE } cgan_loss_kind;

/* Learning-rate schedules (both networks): constant, linear decay to 0, or cosine decay
 * to 0 over the steps after the warm-up. */
typedef enum cgan_lr_schedule { CGAN_LR_CONSTANT = 0, CGAN_LR_LINEAR, CGAN_LR_COSINE } cgan_lr_schedule;

/* Everything a trainer is made from (start from cgan_train_defaults()). */
typedef struct cgan_train_cfg {
    cgan_model_cfg model;
    cgan_loss_kind loss;
    float lr_g, lr_d, beta1, beta2;
    int d_steps;          /* D updates per G update */
    int accum;            /* gradient accumulation: the batch is cut into `accum` micro batches
                           * whose mean gradient makes one update (0 or 1: none); under
                           * mpirun each process takes batch / processes images and cuts
                           * them so (doc/scaling.md) */
    float ema;            /* EMA decay of G's weights, reached after a warm-up: at G update n
                           * the decay is min(ema, 1 - 1/(1 + ema_rampup (n+1))); 0 turns the
                           * EMA off */
    float ema_rampup;     /* the warm-up: the average's time constant (1/(1-decay) updates)
                           * grows as ema_rampup times the updates so far, (0, 100];
                           * CGAN_EMA_RAMPUP_LEGACY (1/9: (1+n)/(10+n)) in runs before it */
    uint64_t seed;
    /* stabilisers (issue 20; all off by default) */
    cgan_lr_schedule lr_schedule; /* the decay of lr_g and lr_d (TTUR: lr_d != lr_g) */
    int64_t warmup;       /* steps of linear warm-up from lr/warmup to lr (0: none) */
    int64_t lr_steps;     /* the schedule's length in steps (a run sets it to its --steps) */
    float label_smooth;   /* one-sided label smoothing: D's real target is 1 - label_smooth
                           * (BCE only; [0, 0.5)) */
    int standing_stats;   /* batches of mixed-class noise for G's standing BatchNorm
                           * statistics with the EMA weights, at each checkpoint (0: off;
                           * CGAN_STANDING_AUTO, the default: CGAN_STANDING_DEFAULT batches
                           * where the model allows it, class-conditional or unconditional
                           * with the EMA on, else off) */
    int sync_bn;          /* data parallel: BatchNorm statistics of training passes over every
                           * process's micro batch, not each process's own (0: per process,
                           * as DDP; no effect on one process) */
} cgan_train_cfg;

#define CGAN_EMA_RAMPUP_LEGACY (1.0f / 9.0f)
#define CGAN_STANDING_AUTO (-1)
#define CGAN_STANDING_DEFAULT 20
/* The standing-statistics batches cfg asks for, CGAN_STANDING_AUTO resolved. */
CGAN_API int cgan_train_standing_batches(const cgan_train_cfg *cfg);

/* Defaults: the model's (cgan_model_defaults), BCE, lr 4e-4 for G and D, betas (0,
 * 0.999), one D step per G step, no accumulation, EMA 0.999, standing statistics
 * (CGAN_STANDING_AUTO), seed 1. Loss names "bce" and "hinge"; parse
 * returns -1 for an unknown name. */
CGAN_API cgan_train_cfg cgan_train_defaults(void);
CGAN_API const char *cgan_loss_name(cgan_loss_kind k);
CGAN_API int cgan_loss_parse(const char *s);
/* Schedule names "constant", "linear", "cosine"; parse returns -1 for an unknown name. */
CGAN_API const char *cgan_lr_schedule_name(cgan_lr_schedule s);
CGAN_API int cgan_lr_schedule_parse(const char *s);
/* The learning rate of G (d = 0) or D (d = 1) for the update taken at step `step` (counted
 * from 0): base * w * f, where w = (step + 1) / warmup during the first `warmup` steps,
 * else 1, and with p = (step - warmup) / (lr_steps - warmup) in [0, 1] (0 before and
 * during the warm-up), f = 1 (constant), 1 - p (linear) or (1 + cos(pi p)) / 2 (cosine).
 * Computed in double, returned as float; the trainer passes it to the optimiser's kernel
 * each step. */
CGAN_API float cgan_lr_at(const cgan_train_cfg *c, int d, int64_t step);

/* Values logged per step (floats, one slot each). */
enum {
    CGAN_LOG_LOSS_D_REAL = 0, CGAN_LOG_LOSS_D_FAKE, CGAN_LOG_LOSS_G,
    CGAN_LOG_D_X, CGAN_LOG_ACC_REAL, CGAN_LOG_D_GZ, CGAN_LOG_ACC_FAKE,
    CGAN_LOG_LOSS_D_WRONG,    /* text models: D's loss on real images with mismatched captions */
    CGAN_LOG_FIELDS
};

typedef struct cgan_trainer cgan_trainer;

/* Build and plan G and D (parameters initialised from cfg->seed). */
CGAN_API cgan_status cgan_trainer_create(cgan_ctx *ctx, const cgan_train_cfg *cfg, cgan_trainer **out);
/* The same as one replica of a data-parallel job (cgan/dist.h; NULL: one process): its
 * graphs are built for cfg->model.batch / (accum x processes) images, each step takes the
 * whole global batch and trains on this process's slice, and the gradients are
 * all-reduced. Every process creates its trainer with the same cfg. */
struct cgan_dist;
CGAN_API cgan_status cgan_trainer_create_dist(cgan_ctx *ctx, const cgan_train_cfg *cfg, struct cgan_dist *dist,
                                              cgan_trainer **out);
/* Communication of a data-parallel trainer so far (zeros for one process): the wall time
 * from each all-reduce's first bucket to its last, the part of it the host waited for
 * after backward had finished (exposed: not overlapped with compute), and the bytes
 * reduced by this process. */
CGAN_API void cgan_trainer_comm_stats(const cgan_trainer *t, double *comm_s, double *exposed_s, int64_t *bytes);
CGAN_API void cgan_trainer_destroy(cgan_trainer *t);
CGAN_API const cgan_train_cfg *cgan_trainer_cfg(const cgan_trainer *t);
CGAN_API cgan_generator *cgan_trainer_generator(cgan_trainer *t);
CGAN_API cgan_discriminator *cgan_trainer_discriminator(cgan_trainer *t);

/* One training step on a real batch (host arrays: images NCHW in [-1,1], labels as class
 * indices, or for a text model CGAN_TEXT_TOKENS token ids per image (the captions); labels
 * may be NULL for an unconditional model). With d_steps > 1 the caller passes d_steps
 * batches back to back (images/labels point at the first). The upload is asynchronous
 * (double-buffered staging); no other host wait. */
CGAN_API cgan_status cgan_trainer_step(cgan_trainer *t, const float *images, const float *labels);
/* Steps taken so far (also restored by checkpoints). */
CGAN_API int64_t cgan_trainer_steps(const cgan_trainer *t);
CGAN_API void cgan_trainer_set_steps(cgan_trainer *t, int64_t steps, int64_t d_updates, int64_t g_updates);
CGAN_API void cgan_trainer_counts(const cgan_trainer *t, int64_t *d_updates, int64_t *g_updates);

/* Read the log of the last up to `cap` steps (blocking; the only host wait). Returns how
 * many rows were filled, oldest first, each CGAN_LOG_FIELDS floats, and their step numbers. */
CGAN_API cgan_status cgan_trainer_read_log(cgan_trainer *t, float *rows, int64_t *steps, int cap, int *count);

/* G's (d = 0) or D's (d = 1) graph, planned for training. */
CGAN_API cgan_graph *cgan_trainer_graph(cgan_trainer *t, int d);
/* Floats in each network's parameter arena (and its Adam moments and EMA). */
CGAN_API size_t cgan_trainer_param_count(const cgan_trainer *t, int d);

/* ---- whole runs -------------------------------------------------------------------
 * A training run in a run folder: data, loader thread, trainer, progress events, sample
 * grids, metrics.csv with a loss plot, checkpoints with a `latest` pointer, resume.
 *
 *   RUNDIR/config                       the run's settings as JSON
 *   RUNDIR/metrics.csv, RUNDIR/loss.png step, time, losses, D(x), D(G(z)), img/s
 *   RUNDIR/samples/step_NNNNNN.png      fixed-noise grid, one row per class
 *   RUNDIR/checkpoints/step_NNNNNN.safetensors, RUNDIR/latest
 *   RUNDIR/eval.png, RUNDIR/best.safetensors   with eval_every (below) */

typedef struct cgan_run_opts {
    cgan_train_cfg train;
    const char *data;         /* NULL: Fashion-MNIST from the Debian package */
    int channels;             /* 0 = detect */
    int max_images;           /* 0 = all */
    int flip;
    int cache_decoded;        /* image folders: decode every image up front and keep it in
                               * memory (default: decode from disk while training) */
    const char *out;          /* run folder (created) */
    int64_t steps;            /* total steps; 0 with epochs > 0: epochs * batches per epoch */
    int epochs;
    int sample_every, ckpt_every, keep, log_every;
    const char *resume;       /* run folder to continue (its settings are used) */
    const char *init;         /* checkpoint to initialise matching tensors from */
    const char *model_origin; /* where train.model.desc came from (a model file's path), for
                               * messages; NULL: "model description" */
    volatile sig_atomic_t *stop;  /* set asynchronously (a signal): finish the step, save, return */
    struct cgan_dist *dist;   /* the data-parallel job this process is part of (cgan/dist.h), or
                               * NULL: one process. Every process calls cgan_run_train with
                               * the same options; rank 0 alone writes the run folder and gets
                               * the callbacks; a stop on any process stops all at the same
                               * step; the parameters are compared every log_every steps */
    /* Evaluation during training (cgan/eval.h), on fixed noise (seed 0) and real sets:
     * every eval_every steps and at the end, the EMA generator is scored; metrics.csv gets
     * the columns of cgan_eval_csv_header (empty on other rows), RUNDIR/eval.png the FID
     * curve, and the checkpoint of the best FID is written to RUNDIR/best.safetensors.
     * The feature network is obtained once at the start. Training does not depend on it:
     * the losses are the same with and without. */
    int eval_every;           /* 0: off */
    int eval_n;               /* images per evaluation (default 1000) */
    const char *eval_features;/* a feature network file; NULL: the cache (trained when missing) */
} cgan_run_opts;

/* Defaults: cgan_train_defaults, Fashion-MNIST, channels detected, one epoch, run folder
 * "run", a sample grid every 500 steps, a checkpoint every 1000, keep 3, log every 50. */
CGAN_API void cgan_run_defaults(cgan_run_opts *o);

typedef enum cgan_run_event_kind {
    CGAN_RUN_INFO = 0,   /* a message line (data report, --init report, resume) */
    CGAN_RUN_LOG,        /* progress numbers */
    CGAN_RUN_SAMPLE,     /* a grid was written (path) */
    CGAN_RUN_CHECKPOINT  /* a checkpoint was written (path) */
} cgan_run_event_kind;

typedef struct cgan_run_event {
    cgan_run_event_kind kind;
    const char *text;         /* INFO message, or the path written */
    int64_t step, total;
    int epoch;                /* the epoch of the last step's batch, counted from 1 */
    double img_per_s, eta_s;
    float loss_d, loss_g, d_x, d_gz, acc_real, acc_fake;
    cgan_trainer *trainer;    /* the run's trainer (for callers that inspect or change it) */
} cgan_run_event;

typedef void (*cgan_run_callback)(void *user, const cgan_run_event *e);

/* Run until the step total, an error, or *stop. Returns CGAN_OK when finished or stopped
 * (then *stopped = 1), CGAN_E_NUMERIC on a non-finite loss (no checkpoint is written for
 * it; the last good one stays). */
CGAN_API cgan_status cgan_run_train(cgan_ctx *ctx, const cgan_run_opts *o, cgan_run_callback cb, void *user,
                           int *stopped);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_TRAINER_H */
