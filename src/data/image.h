/* Image decoding (JPEG through TurboJPEG, PNG through libpng) and the resize +
 * centre-crop that turns any image into an S x S training sample. Internal to src/data
 * (and the tests); the dataset API is in dataset.h. */
#ifndef CGAN_DATA_IMAGE_H
#define CGAN_DATA_IMAGE_H
#include <stddef.h>
#include <stdint.h>
#include "cgan/cgan.h"

/* A decoded image: interleaved rows (HWC), c = 1 (gray) or 3 (RGB). */
typedef struct cgan_image {
    int w, h, c;
    uint8_t *px;
} cgan_image;

void cgan_image_free(cgan_image *im);

/* The DCT scale TurboJPEG should decode a w x h JPEG with for target side `target`: the
 * smallest scale <= 1 whose scaled shorter side is still >= target (1/1 when the image is
 * already smaller). Writes the factor and the decoded size (libjpeg's rounding up). */
void cgan_jpeg_pick_scale(int w, int h, int target, int *num, int *denom, int *sw, int *sh);

/* Decode a JPEG or PNG held in memory (recognised by its magic bytes). JPEGs are reduced
 * with cgan_jpeg_pick_scale(target) while decoding; target 0 decodes at full size. On
 * failure returns CGAN_E_FORMAT (or CGAN_E_NOMEM) with a short reason on err_ctx, which
 * does not name the file: the caller adds that. */
cgan_status cgan_image_decode(cgan_ctx *err_ctx, const uint8_t *buf, size_t len, int target,
                              cgan_image *out);

/* The same with the caller's TurboJPEG decompressor (a tjhandle from tjInitDecompress; NULL:
 * one is made for the call). A handle serves one thread at a time. */
cgan_status cgan_image_decode_tj(cgan_ctx *err_ctx, void *tj, const uint8_t *buf, size_t len,
                                 int target, cgan_image *out);

/* Check the header of a JPEG or PNG whose first len bytes are in buf (the whole file is not
 * needed): a JPEG's by TurboJPEG's header parser (tjDecompressHeader3, so its SOF marker must
 * lie within buf), a PNG's signature and IHDR chunk (length, CRC, sizes, bit depth for the
 * colour type, methods). The size limits of decoding apply. *channels receives what
 * cgan_image_decode would give: 1 for a gray image, else 3. CGAN_E_FORMAT with the reason
 * (the messages of cgan_image_decode where they overlap). tj as for cgan_image_decode_tj. */
cgan_status cgan_image_probe(cgan_ctx *err_ctx, void *tj, const uint8_t *buf, size_t len, int target,
                             int *channels);

/* Scale the shorter side of `in` to `size` (area averaging when shrinking, bilinear when
 * enlarging, per axis), cut the centre size x size, convert to `channels` (1 or 3) and
 * write CHW bytes to out (channels * size * size). */
cgan_status cgan_image_fit(cgan_ctx *err_ctx, const cgan_image *in, int size, int channels,
                           uint8_t *out);

/* Place a square gray src_side image centred on a size x size canvas of zeros (IDX 28 to
 * 32), or fit it when that is not a small enlargement. out holds channels * size * size. */
cgan_status cgan_image_fit_or_pad(cgan_ctx *err_ctx, const cgan_image *in, int size,
                                  int channels, uint8_t *out);
#endif
