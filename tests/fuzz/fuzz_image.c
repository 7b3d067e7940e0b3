/* The JPEG and PNG decode paths (src/data/image.c): probe the header, decode from memory
 * (full size and DCT-scaled), and fit the result to a small square. */
#include "fuzz_util.h"
#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cgan_ctx *ctx = fuzz_ctx();
    int ch = 0;
    (void)cgan_image_probe(ctx, NULL, data, size, 16, &ch);
    for (int target = 0; target <= 16; target += 16) {
        cgan_image im = {0};
        if (cgan_image_decode(ctx, data, size, target, &im) == CGAN_OK) {
            uint8_t out[3 * 16 * 16];
            (void)cgan_image_fit(ctx, &im, 16, 3, out);
            (void)cgan_image_fit_or_pad(ctx, &im, 16, 1, out);
            cgan_image_free(&im);
        }
    }
    return 0;
}
