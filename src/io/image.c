/* PNG / JPEG output by extension, written atomically, and sample grids. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <turbojpeg.h>
#include "runtime/atomic.h"
#include "io/image.h"
#include "runtime/runtime.h"

typedef enum { FMT_NONE, FMT_PNG, FMT_JPEG } image_format;

static image_format format_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) return FMT_NONE;
    if (!strcasecmp(dot, ".png")) return FMT_PNG;
    if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")) return FMT_JPEG;
    return FMT_NONE;
}

cgan_status cgan_png_encode(cgan_ctx *ctx, const uint8_t *pixels, int w, int h, int channels,
                            uint8_t **png, size_t *size)
{
    *png = NULL;
    *size = 0;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = channels == 1 ? PNG_FORMAT_GRAY
               : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
    png_alloc_size_t n = 0;
    uint8_t *buf = NULL;
    int ok = png_image_write_get_memory_size(img, n, 0, pixels, w * channels, NULL);
    if (ok && !(buf = malloc(n ? n : 1))) {
        png_image_free(&img);
        return cgan_error(ctx, CGAN_E_NOMEM, "PNG: out of memory");
    }
    if (ok) ok = png_image_write_to_memory(&img, buf, &n, 0, pixels, w * channels, NULL);
    if (!ok || PNG_IMAGE_FAILED(img)) {
        char msg[sizeof img.message + 1];
        snprintf(msg, sizeof msg, "%s", img.message[0] ? img.message : "unknown error");
        png_image_free(&img);
        free(buf);
        return cgan_error(ctx, CGAN_E_INVALID, "encoding PNG failed: %s", msg);
    }
    png_image_free(&img);
    *png = buf;
    *size = n;
    return CGAN_OK;
}

/* One encoder for files and memory, so a served image and a written one are the same bytes. */
static cgan_status write_png(cgan_ctx *ctx, const char *path, const uint8_t *pixels, int w,
                             int h, int channels)
{
    uint8_t *png = NULL;
    size_t size = 0;
    cgan_status st = cgan_png_encode(ctx, pixels, w, h, channels, &png, &size);
    if (st != CGAN_OK) return cgan_error_wrap(ctx, st, "%s", path);
    cgan_atomic_file af;
    st = cgan_atomic_open(ctx, path, &af);
    if (st == CGAN_OK && fwrite(png, 1, size, af.fp) != size) {
        int err = errno;
        cgan_atomic_abort(&af);
        st = cgan_error(ctx, CGAN_E_IO, "%s: writing PNG failed: %s", path, strerror(err));
    } else if (st == CGAN_OK) {
        st = cgan_atomic_commit(ctx, &af);
    }
    free(png);
    return st;
}

static cgan_status write_jpeg(cgan_ctx *ctx, const char *path, const uint8_t *pixels, int w,
                              int h, int channels)
{
    cgan_status st = CGAN_OK;
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    tjhandle tj = tjInitCompress();
    if (!tj) return cgan_error(ctx, CGAN_E_NOMEM, "%s: TurboJPEG: %s", path, tjGetErrorStr2(NULL));
    int pf = channels == 1 ? TJPF_GRAY : channels == 3 ? TJPF_RGB : TJPF_RGBX;
    int sub = channels == 1 ? TJSAMP_GRAY : TJSAMP_444;
    if (tjCompress2(tj, pixels, w, w * channels, h, pf, &jpeg, &size, sub, CGAN_JPEG_QUALITY,
                    TJFLAG_ACCURATEDCT) != 0) {
        st = cgan_error(ctx, CGAN_E_IO, "%s: JPEG compression failed: %s", path,
                        tjGetErrorStr2(tj));
        goto done;
    }
    st = cgan_atomic_write(ctx, path, jpeg, size);
done:
    tjFree(jpeg);
    tjDestroy(tj);
    return st;
}

cgan_status cgan_image_write(cgan_ctx *ctx, const char *path, const uint8_t *pixels, int w,
                             int h, int channels)
{
    if (!path) return cgan_error(ctx, CGAN_E_INVALID, "image: no output path");
    image_format fmt = format_of(path);
    if (fmt == FMT_NONE)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: unknown image type; the name must end in "
                          ".png, .jpg or .jpeg", path);
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: image size %dx%d out of range (1 to 65535)",
                          path, w, h);
    if (channels != 1 && channels != 3 && channels != 4)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: %d channels (1, 3 or 4 supported)", path,
                          channels);
    if (!pixels) return cgan_error(ctx, CGAN_E_INVALID, "%s: no pixels", path);
    return fmt == FMT_PNG ? write_png(ctx, path, pixels, w, h, channels)
                          : write_jpeg(ctx, path, pixels, w, h, channels);
}

static uint8_t to_u8(float v)
{
    if (!(v > -1.0f)) return 0;      /* also NaN */
    if (v >= 1.0f) return 255;
    return (uint8_t)lrintf((v + 1.0f) * 127.5f);
}

cgan_status cgan_grid_compose(cgan_ctx *ctx, const float *images, int n, int c, int s,
                              int cols, int pad, uint8_t **out_hwc, int *w, int *h)
{
    *out_hwc = NULL;
    if (n <= 0 || (c != 1 && c != 3) || s <= 0 || cols <= 0 || pad < 0 || !images)
        return cgan_error(ctx, CGAN_E_INVALID, "grid: bad arguments (n=%d c=%d s=%d cols=%d "
                          "pad=%d; need n, s, cols > 0, c = 1 or 3, pad >= 0)", n, c, s, cols,
                          pad);
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int64_t gw = (int64_t)cols * (s + pad) + pad, gh = (int64_t)rows * (s + pad) + pad;
    if (gw > 65535 || gh > 65535)
        return cgan_error(ctx, CGAN_E_INVALID, "grid: %lldx%lld pixels is too large",
                          (long long)gw, (long long)gh);
    uint8_t *out = calloc((size_t)(gw * gh * c), 1);
    if (!out) return cgan_error(ctx, CGAN_E_NOMEM, "grid: out of memory");
    size_t plane = (size_t)s * (size_t)s;
    for (int k = 0; k < n; k++) {
        const float *img = images + (size_t)k * (size_t)c * plane;
        int x0 = pad + (k % cols) * (s + pad), y0 = pad + (k / cols) * (s + pad);
        for (int y = 0; y < s; y++) {
            uint8_t *row = out + ((size_t)(y0 + y) * (size_t)gw + (size_t)x0) * (size_t)c;
            for (int x = 0; x < s; x++)
                for (int ch = 0; ch < c; ch++)
                    row[x * c + ch] = to_u8(img[(size_t)ch * plane + (size_t)y * s + x]);
        }
    }
    *out_hwc = out;
    *w = (int)gw;
    *h = (int)gh;
    return CGAN_OK;
}

cgan_status cgan_grid_write(cgan_ctx *ctx, const char *path, const float *images, int n,
                            int c, int s, int cols, int pad)
{
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CGAN_TRY(cgan_grid_compose(ctx, images, n, c, s, cols, pad, &px, &w, &h));
    cgan_status st = cgan_image_write(ctx, path, px, w, h, c);
    free(px);
    return st;
}
