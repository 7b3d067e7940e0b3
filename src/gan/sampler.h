/* Image generation: the generator's forward pass in eval mode on the shared executor, with
 * weights copied from a trainer (EMA or raw) or loaded from a checkpoint. */
#ifndef CGAN_SAMPLER_H
#define CGAN_SAMPLER_H
#include "gan/trainer.h"
#include "io/safetensors.h"

typedef struct cgan_sampler cgan_sampler;

/* An eval-mode generator for batches of n (memory planned once). */
cgan_status cgan_sampler_create(cgan_ctx *ctx, const cgan_model_cfg *model, int n, cgan_sampler **out);
void cgan_sampler_destroy(cgan_sampler *s);
int cgan_sampler_batch(const cgan_sampler *s);
/* Weights from a trainer: its EMA when use_ema and present, else the raw weights; BN
 * running statistics always from the trainer's G. Device copies only. */
cgan_status cgan_sampler_from_trainer(cgan_sampler *s, cgan_trainer *t, int use_ema);
/* Weights from a checkpoint file ("ema." tensors when use_ema). */
cgan_status cgan_sampler_from_checkpoint(cgan_sampler *s, const cgan_st_file *f, int use_ema);
/* Generate: z [n, nz] and labels [n] (NULL when unconditional) in, images [n, nc, S, S]
 * in [-1, 1] out (host arrays; this call waits for the result). */
cgan_status cgan_sampler_run(cgan_sampler *s, const float *z, const float *labels, float *images);
#endif
