/* cgan/checkpoint.h: checkpoints, and reading any safetensors file.
 *
 * ---- Checkpoints. Training checkpoints hold G, D and EMA weights, BN running statistics, Adam state and the
 * step counters in one safetensors file, with the configuration and class names in its
 * metadata.
 *
 * Tensor names: "G.deconv1.weight", "D.bn2.running_mean", "ema.G.deconv1.weight",
 * "adam.m.G.deconv1.weight", "adam.v.D.conv2.weight". A run with --spectral-norm adds D's
 * power-iteration vectors as state ("D.conv2_sn.u", "D.conv2_sn.v"); one with
 * --standing-stats adds the EMA network's own BatchNorm statistics
 * ("ema.G.bn1.running_mean", ...), which the EMA generator uses. Shapes are stored without size-1
 * dimensions at the front (batch) and back (H, W), as PyTorch stores them: a BN weight is
 * [C], a conv weight [Cout, Cin, k, k]. Metadata: "format" = "cgan-cl",
 * "format_version", "step", "d_updates", "g_updates", "seed", "config" (JSON, with the
 * image "size"), "model" (the model description, whole: a model file's text or the
 * built-in family's generated one), "classes" (JSON array), plus the caller's keys; text models get "vocabulary" (a JSON
 * array of the words) from their caller.
 *
 * ---- safetensors files. The safetensors format (https://huggingface.co/docs/safetensors):
 *
 *   u64 N (little-endian) | N bytes of JSON header, space-padded | raw tensor bytes
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets relative to the start of the data area) and may hold "__metadata__", an object
 * of string values. Files written here open in Python with safetensors.safe_open.
 *
 * Conventions of this writer:
 *  - "__metadata__" comes first, then the tensors. The data area holds the tensors sorted
 *    by element size (8, 4, 2, 1 bytes; insertion order within a size), so every tensor
 *    is aligned to its element size; it has no holes, as the format demands.
 *  - The header is padded with spaces so that the data area starts at a multiple of 8.
 *  - CRC32 (zlib's, of the tensor's raw bytes) is stored per tensor in the metadata under
 *    the key "crc32.<tensor name>" as 8 lowercase hex digits, e.g.
 *    "crc32.G.deconv1.weight": "1a2b3c4d". Keys starting with "crc32." are reserved.
 *  - Writes are atomic (a temporary file, flushed, then renamed): an existing file is replaced only by a complete one.
 *
 * The reader loads the whole file into memory and validates everything before it hands
 * out a tensor: sizes, header JSON, dtypes, shapes, offsets (inside the data area, no
 * overlap, no hole) and the stored CRC32s. Every error names the file, and the tensor
 * where there is one. */
#ifndef CGAN_API_CHECKPOINT_H
#define CGAN_API_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>
#include "cgan/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CGAN_ST_MAX_DIMS 8
#define CGAN_ST_MAX_HEADER (100u * 1024u * 1024u)   /* the format's limit, 100 MB */
#define CGAN_ST_CRC_PREFIX "crc32."

typedef enum cgan_st_dtype {
    CGAN_ST_BOOL, CGAN_ST_U8, CGAN_ST_I8, CGAN_ST_F8_E4M3, CGAN_ST_F8_E5M2,
    CGAN_ST_I16, CGAN_ST_U16, CGAN_ST_F16, CGAN_ST_BF16,
    CGAN_ST_I32, CGAN_ST_U32, CGAN_ST_F32,
    CGAN_ST_I64, CGAN_ST_U64, CGAN_ST_F64,
    CGAN_ST_DTYPE_COUNT
} cgan_st_dtype;

/* "F32", "U8", ... as in the header; element size in bytes. */
CGAN_API const char *cgan_st_dtype_name(cgan_st_dtype dt);
CGAN_API size_t cgan_st_dtype_size(cgan_st_dtype dt);
/* The CRC32 used for the "crc32.<name>" metadata (zlib's crc32 over the raw bytes). */
CGAN_API uint32_t cgan_st_crc32(const void *data, size_t len);

/* ---- reading safetensors files ---------------------------------------------------------------- */
typedef struct cgan_st_file cgan_st_file;

typedef struct cgan_st_tensor {
    const char *name;
    cgan_st_dtype dtype;
    int ndim;
    int64_t shape[CGAN_ST_MAX_DIMS];
    int64_t numel;           /* prod(shape); 1 for a scalar */
    size_t nbytes;
    size_t offset;           /* begin, relative to the data area */
    const void *data;        /* inside the file's buffer; aligned to the element size in
                                files this writer made, possibly not in others (memcpy) */
    int has_crc;             /* the metadata holds "crc32.<name>" */
    uint32_t crc;            /* that stored value */
} cgan_st_tensor;

enum {
    CGAN_ST_OPEN_NO_CRC = 1  /* do not check CRC32s on open (cgan_st_verify does later) */
};

/* Read and validate path; CRC32s are checked. CGAN_E_NOT_FOUND when the file does not
 * exist, CGAN_E_IO on read errors, CGAN_E_FORMAT for anything malformed. */
CGAN_API cgan_status cgan_st_open(cgan_ctx *ctx, const char *path, cgan_st_file **out);
CGAN_API cgan_status cgan_st_open_ex(cgan_ctx *ctx, const char *path, unsigned flags,
                            cgan_st_file **out);
/* Frees the file and its buffer (NULL is accepted); its tensors' data pointers die with it. */
CGAN_API void cgan_st_close(cgan_st_file *f);

/* Look a tensor up: CGAN_E_NOT_FOUND with a message naming the file and tensor when it
 * is missing (ctx may be NULL to skip the message). */
CGAN_API cgan_status cgan_st_find(cgan_ctx *ctx, const cgan_st_file *f, const char *name,
                         const cgan_st_tensor **out);
/* Copy a tensor into dst after checking its dtype and element count (CGAN_E_FORMAT /
 * CGAN_E_SHAPE otherwise); the usual way to load a parameter. */
CGAN_API cgan_status cgan_st_read(cgan_ctx *ctx, const cgan_st_file *f, const char *name,
                         cgan_st_dtype dt, void *dst, int64_t numel);

/* Tensors in header order. */
CGAN_API int cgan_st_count(const cgan_st_file *f);
CGAN_API const cgan_st_tensor *cgan_st_at(const cgan_st_file *f, int i);

/* A metadata value, NULL when absent. Iterate with meta_count / meta_at (header order,
 * the crc32.* entries included). */
CGAN_API const char *cgan_st_meta(const cgan_st_file *f, const char *key);
CGAN_API int cgan_st_meta_count(const cgan_st_file *f);
CGAN_API void cgan_st_meta_at(const cgan_st_file *f, int i, const char **key, const char **value);

/* The path it was opened from, and the JSON header's length. */
CGAN_API const char *cgan_st_path(const cgan_st_file *f);
CGAN_API size_t cgan_st_header_len(const cgan_st_file *f);   /* N, padding included */

/* Recompute every stored CRC32; the first mismatch is a CGAN_E_FORMAT error naming the
 * tensor. *checked (may be NULL) receives how many tensors had a CRC to check. */
CGAN_API cgan_status cgan_st_verify(cgan_ctx *ctx, const cgan_st_file *f, int *checked);

/* ---- checkpoints ------------------------------------------------------------------ */
#define CGAN_CKPT_FORMAT_VERSION 1

typedef struct cgan_ckpt_kv { const char *key, *value; } cgan_ckpt_kv;

/* Save atomically. classes may be NULL (unconditional); extra holds n_extra more keys. */
CGAN_API cgan_status cgan_checkpoint_save(cgan_trainer *t, const char *path, char *const *classes,
                                 int num_classes, const cgan_ckpt_kv *extra, int n_extra);

/* Resume: every tensor the trainer has must be present with its shape; restores weights,
 * statistics, Adam state, EMA and counters. *file (may be NULL) receives the open file
 * for reading further metadata; the caller closes it. */
CGAN_API cgan_status cgan_checkpoint_load(cgan_trainer *t, const char *path, cgan_st_file **file);

/* Fine-tuning start: load every G/D/EMA tensor whose name and shape match; Adam state and
 * counters start fresh. report (may be NULL) receives lines "loaded NAME", "new NAME
 * (not in checkpoint)", "skipped NAME (shape [..] vs [..])". */
typedef void (*cgan_ckpt_report)(void *user, const char *line);
CGAN_API cgan_status cgan_checkpoint_init_from(cgan_trainer *t, const char *path, cgan_ckpt_report report,
                                      void *user, int *loaded, int *fresh, int *skipped);

/* The model and training configuration of a checkpoint (for resume, generate and info).
 * cfg->model.desc points into f's "model" metadata (valid while f is open), or is NULL
 * when the checkpoint holds the built-in family (its description, or, in checkpoints
 * older than descriptions, the preset named by "arch"). */
CGAN_API cgan_status cgan_checkpoint_config(cgan_ctx *ctx, const cgan_st_file *f, cgan_train_cfg *cfg);
/* Config as JSON text (malloc'ed). */
CGAN_API char *cgan_train_cfg_json(const cgan_train_cfg *cfg);
/* Class names from the "classes" metadata: a malloc'ed array of malloc'ed strings. */
CGAN_API cgan_status cgan_checkpoint_classes(cgan_ctx *ctx, const cgan_st_file *f, char ***names, int *count);
CGAN_API void cgan_free_strings(char **names, int count);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_CHECKPOINT_H */
