/* Checkpoints in the safetensors format (https://huggingface.co/docs/safetensors):
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
 *  - Writes are atomic (io/atomic.h): an existing file is replaced only by a complete one.
 *
 * The reader loads the whole file into memory and validates everything before it hands
 * out a tensor: sizes, header JSON, dtypes, shapes, offsets (inside the data area, no
 * overlap, no hole) and the stored CRC32s. Every error names the file, and the tensor
 * where there is one. */
#ifndef CGAN_IO_SAFETENSORS_H
#define CGAN_IO_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "cgan/cgan.h"

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
const char *cgan_st_dtype_name(cgan_st_dtype dt);
size_t cgan_st_dtype_size(cgan_st_dtype dt);
/* The CRC32 used for the "crc32.<name>" metadata (zlib's crc32 over the raw bytes). */
uint32_t cgan_st_crc32(const void *data, size_t len);

/* ---- writer ---------------------------------------------------------------- */
typedef struct cgan_st_writer cgan_st_writer;

/* NULL-safe destroy. new fails only when out of memory. */
cgan_status cgan_st_writer_new(cgan_st_writer **out);
void cgan_st_writer_destroy(cgan_st_writer *w);

/* Add a tensor; the data (prod(shape) elements, little-endian host order) is COPIED, so
 * the caller's buffer may be reused at once. ndim may be 0 (a scalar: one element); a
 * dimension may be 0 (no data). Names must be non-empty UTF-8, unique, not
 * "__metadata__".
 * Errors (CGAN_E_INVALID / CGAN_E_NOMEM) are sticky, as on a TurboJPEG handle: the
 * writer keeps the first message (cgan_st_writer_error) and cgan_st_write reports it. */
cgan_status cgan_st_add(cgan_st_writer *w, const char *name, cgan_st_dtype dt,
                        const int64_t *shape, int ndim, const void *data);
cgan_status cgan_st_add_f32(cgan_st_writer *w, const char *name, const int64_t *shape,
                            int ndim, const float *data);
cgan_status cgan_st_add_u8(cgan_st_writer *w, const char *name, const int64_t *shape,
                           int ndim, const uint8_t *data);
cgan_status cgan_st_add_i64(cgan_st_writer *w, const char *name, const int64_t *shape,
                            int ndim, const int64_t *data);
/* Set (or replace) a metadata string. Keys starting with "crc32." are reserved. */
cgan_status cgan_st_set_meta(cgan_st_writer *w, const char *key, const char *value);
/* The first add/set error ("" when none). */
const char *cgan_st_writer_error(const cgan_st_writer *w);
/* Serialise to path atomically (see above). The writer stays usable. */
cgan_status cgan_st_write(cgan_ctx *ctx, cgan_st_writer *w, const char *path);

/* ---- reader ---------------------------------------------------------------- */
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
cgan_status cgan_st_open(cgan_ctx *ctx, const char *path, cgan_st_file **out);
cgan_status cgan_st_open_ex(cgan_ctx *ctx, const char *path, unsigned flags,
                            cgan_st_file **out);
void cgan_st_close(cgan_st_file *f);

/* Look a tensor up: CGAN_E_NOT_FOUND with a message naming the file and tensor when it
 * is missing (ctx may be NULL to skip the message). */
cgan_status cgan_st_find(cgan_ctx *ctx, const cgan_st_file *f, const char *name,
                         const cgan_st_tensor **out);
/* Copy a tensor into dst after checking its dtype and element count (CGAN_E_FORMAT /
 * CGAN_E_SHAPE otherwise); the usual way to load a parameter. */
cgan_status cgan_st_read(cgan_ctx *ctx, const cgan_st_file *f, const char *name,
                         cgan_st_dtype dt, void *dst, int64_t numel);

/* Tensors in header order. */
int cgan_st_count(const cgan_st_file *f);
const cgan_st_tensor *cgan_st_at(const cgan_st_file *f, int i);

/* A metadata value, NULL when absent. Iterate with meta_count / meta_at (header order,
 * the crc32.* entries included). */
const char *cgan_st_meta(const cgan_st_file *f, const char *key);
int cgan_st_meta_count(const cgan_st_file *f);
void cgan_st_meta_at(const cgan_st_file *f, int i, const char **key, const char **value);

const char *cgan_st_path(const cgan_st_file *f);
size_t cgan_st_header_len(const cgan_st_file *f);   /* N, padding included */

/* Recompute every stored CRC32; the first mismatch is a CGAN_E_FORMAT error naming the
 * tensor. *checked (may be NULL) receives how many tensors had a CRC to check. */
cgan_status cgan_st_verify(cgan_ctx *ctx, const cgan_st_file *f, int *checked);
#endif
