/* Checkpoints: public, in cgan/checkpoint.h. */
#ifndef CGAN_CHECKPOINT_H
#define CGAN_CHECKPOINT_H
#include "cgan/checkpoint.h"
#include "gan/trainer.h"
#include "io/safetensors.h"

/* Limits of what a checkpoint's metadata may hold (the step counters stay far from
 * overflow; the class and word counts bound the tensors built from them). */
#define CGAN_CKPT_MAX_STEPS 1000000000000000LL
#define CGAN_CKPT_MAX_CLASSES 100000
#define CGAN_CKPT_MAX_VOCAB 1000000

/* The metadata entry key as a decimal integer in [lo, hi] (the whole string, no
 * overflow); otherwise CGAN_E_FORMAT with a message naming the file and the field. */
cgan_status cgan_ckpt_meta_int(cgan_ctx *ctx, const cgan_st_file *f, const char *key, int64_t lo, int64_t hi,
                               int64_t *out);
#endif
