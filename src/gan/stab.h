/* The stabilisers of issue 20 (cgan/trainer.h): their settings' check, the standing BatchNorm
 * statistics of G's EMA weights, and the spectral-norm power iteration of D. */
#ifndef CGAN_GAN_STAB_H
#define CGAN_GAN_STAB_H
#include "cgan/trainer.h"
#include "runtime/runtime.h"
#include "gan/models.h"

/* The schedule, label smoothing and standing-statistics settings, each error naming its
 * option. */
cgan_status cgan_stab_check(cgan_ctx *ctx, const cgan_train_cfg *c);

/* ---- standing BatchNorm statistics (BigGAN's "standing statistics") ------------------
 * G's BatchNorm running statistics recomputed with the EMA weights, the ones that sample:
 * a copy of G (its own graph, planned once, on first use) takes the EMA weights and runs
 * `batches` training-mode forward passes over noise with random classes; each BatchNorm
 * node's momentum is 1/(k+1) at batch k, so its running mean and variance (the unbiased
 * batch variance, as in training) end as the plain average over the batches. The
 * trainer's own G, its statistics and every training buffer are left as they were. */
typedef struct cgan_standing cgan_standing;
void cgan_standing_destroy(cgan_standing *s);
/* The inputs of batch k (0-based) of the standing pass into generator G: z ~ N(0, 1) and
 * class labels uniform over the classes, from Philox(seed ^ CGAN_STANDING_SEED, 8k and 8k+1). */
#define CGAN_STANDING_SEED 0x57a2d1a6b0c1e5ull
cgan_status cgan_standing_inputs(cgan_ctx *ctx, const cgan_generator *G, const cgan_model_cfg *m, uint64_t seed,
                                 int k);
/* The standing statistics of trainer t (cfg.standing_stats batches): G's state arena as
 * the trainer lays it out, in a malloc'ed array of *n floats (the caller frees it). */
cgan_status cgan_trainer_standing_stats(cgan_trainer *t, float **state, size_t *n);
#endif
