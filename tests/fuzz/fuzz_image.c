/* The JPEG and PNG decode paths (src/data/image.c): probe the header, decode from memory
 * for a target side of 16 (JPEGs DCT-scaled), and fit the result to a small square. A full-
 * size decode is left out: a header may claim up to the 256 MiB the decoder allows, whose
 * decoding takes seconds and says nothing more about the parsing. */
#include "fuzz_util.h"
#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cgan_ctx *ctx = fuzz_ctx();
    int ch = 0;
    (void)cgan_image_probe(ctx, NULL, data, size, 16, &ch);
    cgan_image im = {0};
    if (cgan_image_decode(ctx, data, size, 16, &im) == CGAN_OK) {
        uint8_t out[3 * 16 * 16];
        (void)cgan_image_fit(ctx, &im, 16, 3, out);
        (void)cgan_image_fit_or_pad(ctx, &im, 16, 1, out);
        cgan_image_free(&im);
    }
    return 0;
}
