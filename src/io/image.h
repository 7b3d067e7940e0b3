/* Images out: PNG (libpng) or JPEG (TurboJPEG) chosen by the file extension, sample
 * grids composed from generator output, and a small loss-curve plotter. */
#ifndef CGAN_IO_IMAGE_H
#define CGAN_IO_IMAGE_H
#include <stdint.h>
#include "cgan/cgan.h"

#define CGAN_JPEG_QUALITY 95
#define CGAN_PLOT_W 640
#define CGAN_PLOT_H 360
#define CGAN_PLOT_MAX_SERIES 4

/* Write w x h pixels of `channels` interleaved 8-bit samples (HWC, rows top to bottom):
 * 1 = gray, 3 = RGB, 4 = RGBA. The extension picks the format, case-insensitively:
 * .png (lossless, alpha kept) or .jpg/.jpeg (quality 95, 4:4:4 chroma, alpha dropped).
 * Any other extension is CGAN_E_INVALID naming the path. The file is replaced
 * atomically (temporary file + rename), so an existing image is never half-overwritten. */
cgan_status cgan_image_write(cgan_ctx *ctx, const char *path, const uint8_t *pixels, int w,
                             int h, int channels);

/* PNG bytes of w x h pixels (as cgan_image_write takes them) in memory: *png is malloc'ed
 * (free with free()); cgan_image_write's .png files are these bytes. */
cgan_status cgan_png_encode(cgan_ctx *ctx, const uint8_t *pixels, int w, int h, int channels,
                            uint8_t **png, size_t *size);

/* Tile n images (NCHW float, values in [-1, 1]) of c channels (1 or 3) and s x s pixels
 * into a grid of min(cols, n) columns and ceil(n / cols) rows, the way torchvision's
 * make_grid does: `pad` pixels of black (0) around and between the tiles, and black in
 * the unused cells of the last row. Image k sits at row k / cols, column k % cols, with
 * its top-left pixel at (pad + col * (s + pad), pad + row * (s + pad)).
 * Values map to round((v + 1) * 127.5) clamped to [0, 255]; NaN becomes 0.
 * *out_hwc (malloc'ed, free with free()) holds *w x *h x c bytes. ctx may be NULL. */
cgan_status cgan_grid_compose(cgan_ctx *ctx, const float *images, int n, int c, int s,
                              int cols, int pad, uint8_t **out_hwc, int *w, int *h);
/* Compose and write in one call. */
cgan_status cgan_grid_write(cgan_ctx *ctx, const char *path, const float *images, int n,
                            int c, int s, int cols, int pad);

/* Line plot of up to 4 series against steps on a white CGAN_PLOT_W x CGAN_PLOT_H RGB
 * canvas: axes with numeric ticks, one colour per series (blue, orange, green, red),
 * a legend of the labels (drawn in a built-in 5x7 font: letters are shown upper case;
 * characters outside A-Z 0-9 . - + : _ ( ) / = % , show as '?'). Non-finite values
 * leave a gap in their line. Written with cgan_image_write, so path must end in .png
 * (or .jpg). labels may be NULL. */
cgan_status cgan_plot_losses(cgan_ctx *ctx, const char *path, const double *steps,
                             const double *const series[], int nseries, int npoints,
                             const char *const *labels);
/* Bar charts: npanels panels (1 to 4) stacked top to bottom, each of n bars (values; NaN
 * leaves a gap) with the value above each bar, names (may be NULL: indices; cut to fit)
 * under them and a title (titles may be NULL), on the canvas of the line plots. */
cgan_status cgan_plot_bars(cgan_ctx *ctx, const char *path, const double *const panels[], int npanels, int n,
                           const char *const *names, const char *const *titles);
#endif
