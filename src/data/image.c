/* JPEG (TurboJPEG, with DCT scaling) and PNG (libpng's simplified API) decoding into gray
 * or RGB interleaved bytes. */
#include <limits.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include "runtime/runtime.h"
#include "image.h"

/* Decoded images larger than this are refused (a header may claim 65535 x 65535). */
#define MAX_DECODED_BYTES ((size_t)1 << 28)

void cgan_jpeg_pick_scale(int w, int h, int target, int *num, int *denom, int *sw, int *sh)
{
    int n = 0, best_num = 1, best_den = 1, best_short = w < h ? w : h;
    tjscalingfactor *f = tjGetScalingFactors(&n);
    for (int i = 0; f && i < n; i++) {
        if (f[i].num > f[i].denom) continue; /* enlarging is left to the resampler */
        int s = TJSCALED(w < h ? w : h, f[i]);
        if (s >= target && s < best_short) {
            best_short = s;
            best_num = f[i].num;
            best_den = f[i].denom;
        }
    }
    tjscalingfactor chosen = { best_num, best_den };
    *num = best_num;
    *denom = best_den;
    *sw = TJSCALED(w, chosen);
    *sh = TJSCALED(h, chosen);
}

/* CMYK JPEGs (Adobe, inverted) to RGB: R = C * K / 255, and so on. */
static void cmyk_to_rgb(uint8_t *px, size_t npix)
{
    for (size_t i = 0; i < npix; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned k = s[3];
        uint8_t r = (uint8_t)((s[0] * k + 127) / 255), g = (uint8_t)((s[1] * k + 127) / 255),
                b = (uint8_t)((s[2] * k + 127) / 255);
        px[3 * i] = r;
        px[3 * i + 1] = g;
        px[3 * i + 2] = b;
    }
}

static cgan_status decode_jpeg(cgan_ctx *ctx, const uint8_t *buf, size_t len, int target,
                               cgan_image *out)
{
    cgan_status st = CGAN_E_FORMAT;
    uint8_t *px = NULL;
    tjhandle tj = tjInitDecompress();
    if (!tj) return cgan_error(ctx, CGAN_E_NOMEM, "TurboJPEG: %s", tjGetErrorStr2(NULL));
    int w = 0, h = 0, subsamp = 0, cs = 0;
    if (len > ULONG_MAX ||
        tjDecompressHeader3(tj, buf, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
        cgan_error(ctx, st, "bad JPEG header: %s", tjGetErrorStr2(tj));
        goto fail;
    }
    int num = 1, den = 1, sw = w, sh = h;
    if (target > 0) cgan_jpeg_pick_scale(w, h, target, &num, &den, &sw, &sh);
    int gray = cs == TJCS_GRAY, cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    int pf = gray ? TJPF_GRAY : cmyk ? TJPF_CMYK : TJPF_RGB;
    size_t bytes = (size_t)sw * (size_t)sh * (size_t)tjPixelSize[pf];
    if (sw <= 0 || sh <= 0 || bytes > MAX_DECODED_BYTES) {
        cgan_error(ctx, st, "JPEG of %d x %d is too large", w, h);
        goto fail;
    }
    px = malloc(bytes);
    if (!px) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "JPEG of %d x %d: out of memory", w, h);
        goto fail;
    }
    /* Warnings (stray bytes between markers, say) leave a usable image; a stream that
     * ends early is rejected: libjpeg would pad it with grey. */
    if (tjDecompress2(tj, buf, (unsigned long)len, px, sw, 0, sh, pf, TJFLAG_ACCURATEDCT) != 0) {
        const char *why = tjGetErrorStr2(tj);
        if (tjGetErrorCode(tj) != TJERR_WARNING || strstr(why, "Premature end")) {
            cgan_error(ctx, st, "bad JPEG data: %s", why);
            goto fail;
        }
    }
    if (cmyk) cmyk_to_rgb(px, (size_t)sw * (size_t)sh);
    out->w = sw;
    out->h = sh;
    out->c = gray ? 1 : 3;
    out->px = px;
    px = NULL;
    st = CGAN_OK;
fail:
    free(px);
    tjDestroy(tj);
    return st;
}

static cgan_status decode_png(cgan_ctx *ctx, const uint8_t *buf, size_t len, cgan_image *out)
{
    cgan_status st = CGAN_E_FORMAT;
    uint8_t *px = NULL;
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, buf, len)) {
        cgan_error(ctx, st, "bad PNG: %s", im.message);
        goto fail;
    }
    int color = (im.format & PNG_FORMAT_FLAG_COLOR) != 0;
    /* 16-bit files without a gAMA chunk hold sRGB values like 8-bit ones (libpng would
     * assume linear and brighten them) */
    im.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    im.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (im.width == 0 || im.height == 0 || im.width > INT_MAX / 4 || im.height > INT_MAX / 4 ||
        (size_t)im.width * im.height * 3 > MAX_DECODED_BYTES) {
        cgan_error(ctx, st, "PNG of %u x %u is too large", im.width, im.height);
        goto fail;
    }
    px = malloc(PNG_IMAGE_SIZE(im));
    if (!px) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "PNG of %u x %u: out of memory", im.width, im.height);
        goto fail;
    }
    png_color black = { 0, 0, 0 }; /* alpha is composited on black */
    if (!png_image_finish_read(&im, &black, px, 0, NULL)) {
        cgan_error(ctx, st, "bad PNG data: %s", im.message);
        goto fail;
    }
    out->w = (int)im.width;
    out->h = (int)im.height;
    out->c = color ? 3 : 1;
    out->px = px;
    px = NULL;
    st = CGAN_OK;
fail:
    png_image_free(&im);
    free(px);
    return st;
}

cgan_status cgan_image_decode(cgan_ctx *ctx, const uint8_t *buf, size_t len, int target,
                              cgan_image *out)
{
    static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    memset(out, 0, sizeof *out);
    if (!buf || len == 0) return cgan_error(ctx, CGAN_E_FORMAT, "empty file");
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return decode_jpeg(ctx, buf, len, target, out);
    if (len >= 8 && memcmp(buf, png_magic, 8) == 0) return decode_png(ctx, buf, len, out);
    return cgan_error(ctx, CGAN_E_FORMAT, "not a JPEG or PNG file");
}
