/* cgan/generate.h: image generation.
 *
 * ---- Samplers: the generator's forward pass in eval mode on the shared executor, with
 * weights copied from a trainer (EMA or raw) or loaded from a checkpoint.
 *
 * ---- Generation jobs: generation from a checkpoint, what `cgan-cl generate` runs.
 *
 *   cgan_gen_open      resolve a run folder or file, read and check it (no device needed)
 *   cgan_gen_prepare   validate a job: classes, counts, grid shape; create and check the
 *                      output folders (still no device), so a bad request fails before
 *                      any work
 *   cgan_gen_load      after cgan_ctx_open: an eval-mode sampler with the EMA or raw weights
 *   cgan_gen_run       generate in batches of the sampler's size and write the images
 *
 * Noise: image slot k under seed S uses z = N(0, 1) draws of the counter-based RNG keyed
 * by (S, k) (cgan_gen_noise), so slot k is the same whatever the number of images, and the
 * k-th image of every class shares its noise (grid columns compare classes at fixed z).
 * Labels are the class indices. The same checkpoint, job and device give the same bytes.
 *
 * Text models (CGAN_COND_TEXT) have no classes: each cgan_gen_prompt adds a prompt, and
 * the prompts play the part of classes in a job (grid rows, --out-dir folders named
 * after the prompt, the indices in cgan_gen_job.classes). */
#ifndef CGAN_API_GENERATE_H
#define CGAN_API_GENERATE_H
#include <stdint.h>
#include "cgan/checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgan_sampler cgan_sampler;

/* An eval-mode generator for batches of n (memory planned once). */
CGAN_API cgan_status cgan_sampler_create(cgan_ctx *ctx, const cgan_model_cfg *model, int n, cgan_sampler **out);
CGAN_API void cgan_sampler_destroy(cgan_sampler *s);
CGAN_API int cgan_sampler_batch(const cgan_sampler *s);
/* Weights from a trainer: its EMA when use_ema and present, else the raw weights; BN
 * running statistics always from the trainer's G. Device copies only. */
CGAN_API cgan_status cgan_sampler_from_trainer(cgan_sampler *s, cgan_trainer *t, int use_ema);
/* Weights from a checkpoint file: use_ema 0 the raw weights; 1 the "ema." tensors, with the
 * standing BatchNorm statistics where the run made them (train --standing-stats); or
 * CGAN_SAMPLE_EMA_TRAINING_STATS, the EMA weights with the training statistics. */
#define CGAN_SAMPLE_EMA_TRAINING_STATS 2
CGAN_API cgan_status cgan_sampler_from_checkpoint(cgan_sampler *s, const cgan_st_file *f, int use_ema);
/* Generate: z [n, nz] and labels [n] (NULL when unconditional) in, images [n, nc, S, S]
 * in [-1, 1] out (host arrays; this call waits for the result). */
CGAN_API cgan_status cgan_sampler_run(cgan_sampler *s, const float *z, const float *labels, float *images);

#define CGAN_GEN_DEFAULT_BATCH 64
#define CGAN_GEN_MAX_GRID 4096      /* images in one grid file (all held in memory) */

typedef struct cgan_gen cgan_gen;

typedef enum cgan_gen_weights {
    CGAN_GEN_AUTO = 0,  /* the EMA when the checkpoint has "ema.*" tensors, else raw */
    CGAN_GEN_EMA,       /* the EMA; an error when there is none */
    CGAN_GEN_RAW,
    CGAN_GEN_EMA_TRAINING_STATS /* the EMA with the BatchNorm statistics of training, not the
                                 * standing ones a checkpoint may hold */
} cgan_gen_weights;

typedef enum cgan_gen_layout {
    CGAN_GEN_GRID = 0,  /* one image file: a grid (conditional: one row per class) */
    CGAN_GEN_DIR,       /* DIR/<class>/NNNN.png (unconditional: DIR/NNNN.png) */
    CGAN_GEN_INTERP     /* one row of `steps` images: a latent walk or a class switch */
} cgan_gen_layout;

typedef struct cgan_gen_job {
    cgan_gen_layout layout;
    const char *path;       /* the image file (GRID, INTERP) or the folder (DIR) */
    const int *classes;     /* requested class indices (repeats allowed); NULL/0: every
                               class (GRID, DIR); INTERP takes one or two */
    int nclasses;
    int per_class;          /* images per class, or in all when unconditional; 0: the
                               default (8 per class, 64 unconditional; GRID with cols and
                               rows: as many as fill the grid) */
    uint64_t seed;
    int cols, rows;         /* GRID shape; 0: per_class columns, one row per class
                               (unconditional: a near-square grid) */
    int steps;              /* INTERP: images in the strip (>= 2) */
    int linear;             /* INTERP noise walk: linear instead of spherical */
} cgan_gen_job;

/* Progress of cgan_gen_run: images done of total (after each batch). */
typedef void (*cgan_gen_progress)(void *user, int64_t done, int64_t total);

/* A checkpoint path from a --checkpoint argument: a file as it is, a run folder through
 * its "latest" pointer (relative to the folder). *path is malloc'ed. CGAN_E_NOT_FOUND
 * naming the argument when neither exists. */
CGAN_API cgan_status cgan_gen_resolve(cgan_ctx *ctx, const char *arg, char **path);

/* Open a checkpoint for generation: CRC32s checked, the format version and config read,
 * class names (a conditional model without names gets "0", "1", ...) and the optional
 * "aliases" metadata (a JSON object {"alias": "class name"}). ctx needs no device yet. */
CGAN_API cgan_status cgan_gen_open(cgan_ctx *ctx, const char *arg, cgan_gen **out);
/* The same with cgan_st_open_ex flags (CGAN_ST_OPEN_NO_CRC: describe a damaged file). */
CGAN_API cgan_status cgan_gen_open_ex(cgan_ctx *ctx, const char *arg, unsigned st_flags, cgan_gen **out);
/* Frees the job and its sampler (NULL is accepted). */
CGAN_API void cgan_gen_close(cgan_gen *g);

/* The checkpoint file opened, its configuration and the open file (for more metadata). */
CGAN_API const char *cgan_gen_path(const cgan_gen *g);
CGAN_API const cgan_train_cfg *cgan_gen_cfg(const cgan_gen *g);
CGAN_API const cgan_st_file *cgan_gen_file(const cgan_gen *g);
/* Class names of a conditional model; 0 and NULL when it is unconditional. */
CGAN_API int cgan_gen_num_classes(const cgan_gen *g);
CGAN_API char *const *cgan_gen_classes(const cgan_gen *g);
/* The alias pairs { alias, class, ..., NULL } (never NULL). */
CGAN_API const char *const *cgan_gen_aliases(const cgan_gen *g);
CGAN_API int cgan_gen_has_ema(const cgan_gen *g);

/* A --class value: a class name (case-insensitive, or its file-name form), else a
 * decimal index. CGAN_E_NOT_FOUND listing the classes; CGAN_E_INVALID when the model is
 * unconditional. */
CGAN_API cgan_status cgan_gen_find_class(cgan_gen *g, const char *spec, int *cls);
/* A --prompt value through cgan_prompt_match with the checkpoint's aliases. A text model:
 * the prompt's token ids through G's text encoder (words: runs of letters and digits, lower-cased); *cls is the prompt's
 * index (0, 1, ... in the order given); unknown words are ignored (listed by
 * cgan_gen_unknown_words); CGAN_E_INVALID for an empty prompt or one of unknown words only. */
CGAN_API cgan_status cgan_gen_prompt(cgan_gen *g, const char *prompt, int *cls);
/* A text model: 1, its vocabulary size, and the unknown words of the last prompt ("" when
 * none; ", "-separated). */
/* Number of words in a prompt or caption: runs of ASCII letters and digits (bytes of UTF-8
 * characters count as letters); every other byte separates words. */
CGAN_API int cgan_text_count_words(const char *text);
CGAN_API int cgan_gen_is_text(const cgan_gen *g);
CGAN_API int cgan_gen_vocab_size(const cgan_gen *g);
CGAN_API const char *cgan_gen_unknown_words(const cgan_gen *g);

/* Validate and keep the job (its strings and arrays are copied); create the output
 * folder(s) and check that they are writable, or that an image file's folder is. */
CGAN_API cgan_status cgan_gen_prepare(cgan_gen *g, const cgan_gen_job *job);
/* Images the prepared job makes, and the grid shape it settled on (GRID, INTERP). */
CGAN_API int64_t cgan_gen_total(const cgan_gen *g);
CGAN_API void cgan_gen_grid_shape(const cgan_gen *g, int *cols, int *rows);

/* Build the eval-mode generator for batches of `batch` and load the weights. Needs an
 * opened ctx. CGAN_E_INVALID when the EMA is asked for and the checkpoint has none. */
CGAN_API cgan_status cgan_gen_load(cgan_gen *g, cgan_gen_weights w, int batch);
CGAN_API int cgan_gen_uses_ema(const cgan_gen *g);

/* Run the prepared job; the last batch is padded. progress may be NULL. */
CGAN_API cgan_status cgan_gen_run(cgan_gen *g, cgan_gen_progress progress, void *user);

/* ---- Serving: many small requests in one generator pass (what `cgan-cl serve` runs).
 * A server opens the checkpoint with cgan_gen_open, makes samplers with cgan_gen_sampler,
 * fills each batch row with cgan_gen_item and answers with cgan_gen_grid_png: the grid of
 * n images of class c under seed S is the same bytes as the .png grid cgan_gen_run writes
 * for that one class, n and seed (on a device whose forward does not depend on the batch
 * size; see cgan_sampler_run). */
#define CGAN_GEN_GRID_PAD 2         /* pixels of black around and between grid cells */
/* A new eval-mode sampler for batches of `batch` with the EMA (use_ema) or raw weights of
 * the checkpoint; the caller destroys it. Needs an opened ctx (g's). */
CGAN_API cgan_status cgan_gen_sampler(cgan_gen *g, int use_ema, int batch, cgan_sampler **out);
/* The generator input of image `slot` of class cls (-1 when unconditional) under seed, as a
 * grid job makes it: z (nz floats) and *label (the class index; untouched when
 * unconditional). CGAN_E_INVALID for a text model or a class out of range. */
CGAN_API cgan_status cgan_gen_item(const cgan_gen *g, int cls, uint64_t seed, int slot, float *z, float *label);
/* The grid shape a job of n images of one class (or n unconditional images) gets. */
CGAN_API void cgan_gen_grid_cols(const cgan_gen *g, int n, int *cols, int *rows);
/* PNG bytes of n generator images (NCHW in [-1, 1], nc channels, size x size) tiled in
 * `cols` columns with `pad` pixels between (CGAN_GEN_GRID_PAD for a grid, 0 for one image):
 * *png is malloc'ed (free with free()). ctx may be NULL (no message then). */
CGAN_API cgan_status cgan_gen_grid_png(cgan_ctx *ctx, const float *images, int n, int nc, int size, int cols,
                                       int pad, unsigned char **png, size_t *len);

/* The noise of image slot `slot` under seed: nz standard normal values. */
CGAN_API void cgan_gen_noise(uint64_t seed, uint32_t slot, int nz, float *z);
/* File-name form of a class name: bytes other than letters, digits, '.', '-', '_' and
 * UTF-8 become '_' ("T-shirt/top" -> "T-shirt_top", "Ankle boot" -> "Ankle_boot");
 * a leading '.' too; an empty name is "_". */
CGAN_API void cgan_class_filename(const char *name, char *out, size_t size);
/* Trained parameters of one network ("G" or "D") in a checkpoint: the sum of numel of
 * its "<net>.*" tensors, BN running statistics not counted (EMA and Adam copies have
 * other prefixes). */
CGAN_API int64_t cgan_ckpt_param_count(const cgan_st_file *f, const char *net);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_GENERATE_H */
