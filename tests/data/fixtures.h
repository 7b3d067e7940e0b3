/* Shared by check_data's and check_stream's sources. Writers for the fixtures: JPEG (TurboJPEG), PNG (libpng, any colour type and
 * depth), IDX (raw or gzip), plain bytes. Each fails the running test on error. */
#ifndef CGAN_TEST_FIXTURES_H
#define CGAN_TEST_FIXTURES_H
#include <stddef.h>
#include <stdint.h>
#include <check.h>

/* "dir/name" into a static rotating buffer (valid for a few calls). */
const char *fx_path(const char *dir, const char *name);
void fx_mkdir(const char *dir, const char *name);
void fx_bytes(const char *path, const void *data, size_t len);

/* c = 1 (gray) or 3 (RGB), interleaved rows; pixel format CMYK when c = 4. */
void fx_jpeg(const char *path, int w, int h, int c, const uint8_t *px, int quality);
/* JPEG bytes in memory (malloc'ed) */
uint8_t *fx_jpeg_mem(int w, int h, int c, const uint8_t *px, int quality, size_t *len);

/* color_type: PNG_COLOR_TYPE_*; depth 8 or 16; rows of w * channels samples (big-endian
 * 16-bit samples when depth is 16); palette used for PNG_COLOR_TYPE_PALETTE (npal entries of
 * RGB). */
void fx_png(const char *path, int w, int h, int color_type, int depth, const uint8_t *px,
            const uint8_t *palette, int npal);

/* An IDX ubyte file: magic 0x0801 (1 dim) or 0x0803 (3 dims); data may be shorter than the
 * header claims (to test truncation). gz selects gzip output. */
void fx_idx(const char *path, int gz, uint32_t magic, const uint32_t *dims, int ndims,
            const uint8_t *data, size_t len);

/* The loader's test case (data/loader_cases.c). */
TCase *data_loader_tcase(void);
#endif
