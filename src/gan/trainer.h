/* GAN training on the shared executor: one step updates D on a real and a fake batch,
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
#ifndef CGAN_TRAINER_H
#define CGAN_TRAINER_H
#include "gan/models.h"
#include "optim/optim.h"

typedef enum cgan_loss_kind { CGAN_LOSS_BCE = 0, CGAN_LOSS_HINGE } cgan_loss_kind;

typedef struct cgan_train_cfg {
    cgan_model_cfg model;
    cgan_loss_kind loss;
    float lr_g, lr_d, beta1, beta2;
    int d_steps;          /* D updates per G update */
    float ema;            /* EMA decay of G's weights (after a warm-up of min(ema, (1+n)/(10+n))
                           * at G update n); 0 turns the EMA off */
    uint64_t seed;
} cgan_train_cfg;

cgan_train_cfg cgan_train_defaults(void);
const char *cgan_loss_name(cgan_loss_kind k);
int cgan_loss_parse(const char *s);

/* Values logged per step (floats, one slot each). */
enum {
    CGAN_LOG_LOSS_D_REAL = 0, CGAN_LOG_LOSS_D_FAKE, CGAN_LOG_LOSS_G,
    CGAN_LOG_D_X, CGAN_LOG_ACC_REAL, CGAN_LOG_D_GZ, CGAN_LOG_ACC_FAKE,
    CGAN_LOG_LOSS_D_WRONG,    /* text models: D's loss on real images with mismatched captions */
    CGAN_LOG_FIELDS
};

typedef struct cgan_trainer cgan_trainer;

/* Build and plan G and D (parameters initialised from cfg->seed). */
cgan_status cgan_trainer_create(cgan_ctx *ctx, const cgan_train_cfg *cfg, cgan_trainer **out);
void cgan_trainer_destroy(cgan_trainer *t);
const cgan_train_cfg *cgan_trainer_cfg(const cgan_trainer *t);
cgan_generator *cgan_trainer_generator(cgan_trainer *t);
cgan_discriminator *cgan_trainer_discriminator(cgan_trainer *t);

/* One training step on a real batch (host arrays: images NCHW in [-1,1], labels as class
 * indices, or for a text model CGAN_TEXT_TOKENS token ids per image (the captions); labels
 * may be NULL for an unconditional model). With d_steps > 1 the caller passes d_steps
 * batches back to back (images/labels point at the first). The upload is asynchronous
 * (double-buffered staging); no other host wait. */
cgan_status cgan_trainer_step(cgan_trainer *t, const float *images, const float *labels);
/* Steps taken so far (also restored by checkpoints). */
int64_t cgan_trainer_steps(const cgan_trainer *t);
void cgan_trainer_set_steps(cgan_trainer *t, int64_t steps, int64_t d_updates, int64_t g_updates);
void cgan_trainer_counts(const cgan_trainer *t, int64_t *d_updates, int64_t *g_updates);

/* Read the log of the last up to `cap` steps (blocking; the only host wait). Returns how
 * many rows were filled, oldest first, each CGAN_LOG_FIELDS floats, and their step numbers. */
cgan_status cgan_trainer_read_log(cgan_trainer *t, float *rows, int64_t *steps, int cap, int *count);

/* Buffers for checkpoints and sampling. */
cl_mem cgan_trainer_adam_m(cgan_trainer *t, int d);   /* d: 0 = G, 1 = D */
cl_mem cgan_trainer_adam_v(cgan_trainer *t, int d);
cl_mem cgan_trainer_ema(cgan_trainer *t);            /* NULL when the EMA is off */
size_t cgan_trainer_param_count(const cgan_trainer *t, int d); /* floats in those buffers */
struct cgan_graph *cgan_trainer_graph(cgan_trainer *t, int d); /* G's (0) or D's (1) graph */
#endif
