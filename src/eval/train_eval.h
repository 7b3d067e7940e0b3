/* Evaluation during a training run (cgan_run_opts.eval_every): the evaluator, the FID
 * curve and the best FID so far; run.c calls these, nothing else of src/eval. */
#ifndef CGAN_EVAL_TRAIN_EVAL_H
#define CGAN_EVAL_TRAIN_EVAL_H
#include "cgan/eval.h"
#include "cgan/trainer.h"

typedef struct cgan_train_eval cgan_train_eval;

/* The evaluator for a run on data (NULL: Fashion-MNIST) at the model's size and channels;
 * best_path: the run's best checkpoint, whose "eval_fid" metadata (when it exists) is the
 * best so far of a resumed run. */
cgan_status cgan_train_eval_create(cgan_ctx *ctx, const cgan_run_opts *o, const char *data, int size, int channels,
                                   const char *best_path, cgan_eval_message msg, void *user, cgan_train_eval **out);
void cgan_train_eval_destroy(cgan_train_eval *te);
/* Score what s generates (its weights loaded by the caller) at step; *improved: 1 when its
 * FID is the best so far. */
cgan_status cgan_train_eval_run(cgan_train_eval *te, cgan_sampler *s, int num_classes, int64_t step, int *improved);
/* The last result (valid after a run). */
const cgan_eval_result *cgan_train_eval_last(const cgan_train_eval *te);
/* ",<columns>" for metrics.csv: the values of the evaluation at step, or empty fields. */
void cgan_train_eval_columns(const cgan_train_eval *te, int64_t step, char *buf, size_t n);
/* Plot the FID curve so far to path. */
cgan_status cgan_train_eval_plot(cgan_train_eval *te, const char *path);
#endif
