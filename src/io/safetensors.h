/* The safetensors writer (internal; the format and the reader are public, in
 * cgan/checkpoint.h). */
#ifndef CGAN_IO_SAFETENSORS_H
#define CGAN_IO_SAFETENSORS_H
#include "cgan/checkpoint.h"

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

#endif
