/* Training checkpoints: G, D and EMA weights, BN running statistics, Adam state and the
 * step counters in one safetensors file, with the configuration and class names in its
 * metadata.
 *
 * Tensor names: "G.deconv1.weight", "D.bn2.running_mean", "ema.G.deconv1.weight",
 * "adam.m.G.deconv1.weight", "adam.v.D.conv2.weight". Shapes are stored without size-1
 * dimensions at the front (batch) and back (H, W), as PyTorch stores them: a BN weight is
 * [C], a conv weight [Cout, Cin, k, k]. Metadata: "format" = "cgan-cl",
 * "format_version", "step", "d_updates", "g_updates", "seed", "config" (JSON, with the
 * image "size"), "model" (the model description, gan/model_desc.h, whole: a model file's
 * text or the built-in family's generated one), "classes" (JSON array), plus the caller's keys; text models get "vocabulary" (a JSON
 * array of the words, gan/text.h) from their caller. */
#ifndef CGAN_CHECKPOINT_H
#define CGAN_CHECKPOINT_H
#include "gan/trainer.h"
#include "io/safetensors.h"

#define CGAN_CKPT_FORMAT_VERSION 1

typedef struct cgan_ckpt_kv { const char *key, *value; } cgan_ckpt_kv;

/* Save atomically. classes may be NULL (unconditional); extra holds n_extra more keys. */
cgan_status cgan_checkpoint_save(cgan_trainer *t, const char *path, char *const *classes,
                                 int num_classes, const cgan_ckpt_kv *extra, int n_extra);

/* Resume: every tensor the trainer has must be present with its shape; restores weights,
 * statistics, Adam state, EMA and counters. *file (may be NULL) receives the open file
 * for reading further metadata; the caller closes it. */
cgan_status cgan_checkpoint_load(cgan_trainer *t, const char *path, cgan_st_file **file);

/* Fine-tuning start: load every G/D/EMA tensor whose name and shape match; Adam state and
 * counters start fresh. report (may be NULL) receives lines "loaded NAME", "new NAME
 * (not in checkpoint)", "skipped NAME (shape [..] vs [..])". */
typedef void (*cgan_ckpt_report)(void *user, const char *line);
cgan_status cgan_checkpoint_init_from(cgan_trainer *t, const char *path, cgan_ckpt_report report,
                                      void *user, int *loaded, int *fresh, int *skipped);

/* The model and training configuration of a checkpoint (for resume, generate and info).
 * cfg->model.desc points into f's "model" metadata (valid while f is open), or is NULL
 * when the checkpoint holds the built-in family (its description, or, in checkpoints
 * older than descriptions, the preset named by "arch"). */
cgan_status cgan_checkpoint_config(cgan_ctx *ctx, const cgan_st_file *f, cgan_train_cfg *cfg);
/* Config as JSON text (malloc'ed). */
char *cgan_train_cfg_json(const cgan_train_cfg *cfg);
/* Class names from the "classes" metadata: a malloc'ed array of malloc'ed strings. */
cgan_status cgan_checkpoint_classes(cgan_ctx *ctx, const cgan_st_file *f, char ***names, int *count);
void cgan_free_strings(char **names, int count);
#endif
