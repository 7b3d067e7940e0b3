/* A training run in a run folder: data, loader thread, trainer, progress events, sample
 * grids, metrics.csv with a loss plot, checkpoints with a `latest` pointer, resume.
 *
 *   RUNDIR/config                       the run's settings as JSON
 *   RUNDIR/metrics.csv, RUNDIR/loss.png step, time, losses, D(x), D(G(z)), img/s
 *   RUNDIR/samples/step_NNNNNN.png      fixed-noise grid, one row per class
 *   RUNDIR/checkpoints/step_NNNNNN.safetensors, RUNDIR/latest */
#ifndef CGAN_RUN_H
#define CGAN_RUN_H
#include <signal.h>
#include "gan/trainer.h"

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
    volatile sig_atomic_t *stop;  /* set asynchronously (a signal): finish the step, save, return */
} cgan_run_opts;

void cgan_run_defaults(cgan_run_opts *o);

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
    int epoch;
    double img_per_s, eta_s;
    float loss_d, loss_g, d_x, d_gz, acc_real, acc_fake;
    cgan_trainer *trainer;    /* the run's trainer (for callers that inspect or change it) */
} cgan_run_event;

typedef void (*cgan_run_callback)(void *user, const cgan_run_event *e);

/* Run until the step total, an error, or *stop. Returns CGAN_OK when finished or stopped
 * (then *stopped = 1), CGAN_E_NUMERIC on a non-finite loss (no checkpoint is written for
 * it; the last good one stays). */
cgan_status cgan_run_train(cgan_ctx *ctx, const cgan_run_opts *o, cgan_run_callback cb, void *user,
                           int *stopped);
#endif
