/* JPEG (TurboJPEG, with DCT scaling) and PNG (libpng's simplified API) decoding into gray
 * or RGB interleaved bytes, and the header checks of a folder scan. */
#include <limits.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <zlib.h>
#include "runtime/runtime.h"
#include "image.h"

/* Decoded images larger than this are refused (a header may claim 65535 x 65535). */
#define MAX_DECODED_BYTES ((size_t)1 << 28)
/* JPEGs whose full size has more pixels than this are refused whatever the DCT scale:
 * libjpeg keeps a progressive or multi-scan JPEG's coefficients for the whole image at
 * full size (2 bytes a sample), so a 300-byte header claiming 17490 x 18760 made it
 * allocate 2 GB to decode at 1/8 scale (found by tests/fuzz/fuzz_image). 2^27 pixels
 * (a 108-megapixel photo fits) bounds that to about 800 MB. */
#define MAX_JPEG_PIXELS ((size_t)1 << 27)

/* TJSCALED in 64 bits: a header's dimension times a numerator overflows int (UBSan). */
static int scaled(int dim, tjscalingfactor f)
{
    long long s = ((long long)dim * f.num + f.denom - 1) / f.denom;
    return s > INT_MAX ? INT_MAX : (int)s;
}

void cgan_jpeg_pick_scale(int w, int h, int target, int *num, int *denom, int *sw, int *sh)
{
    int n = 0, best_num = 1, best_den = 1, best_short = w < h ? w : h;
    tjscalingfactor *f = tjGetScalingFactors(&n);
    for (int i = 0; f && i < n; i++) {
        if (f[i].num > f[i].denom) continue; /* enlarging is left to the resampler */
        int s = scaled(w < h ? w : h, f[i]);
        if (s >= target && s < best_short) {
            best_short = s;
            best_num = f[i].num;
            best_den = f[i].denom;
        }
    }
    tjscalingfactor chosen = { best_num, best_den };
    *num = best_num;
    *denom = best_den;
    *sw = scaled(w, chosen);
    *sh = scaled(h, chosen);
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

/* The header of a JPEG: the size decoded at `target`, the pixel format, gray or not. */
static cgan_status jpeg_header(cgan_ctx *ctx, tjhandle tj, const uint8_t *buf, size_t len, int target,
                               int *w, int *h, int *sw, int *sh, int *pf, int *gray)
{
    int subsamp = 0, cs = 0;
    *w = *h = 0;
    if (len > ULONG_MAX || tjDecompressHeader3(tj, buf, (unsigned long)len, w, h, &subsamp, &cs) != 0)
        return cgan_error(ctx, CGAN_E_FORMAT, "bad JPEG header: %s", tjGetErrorStr2(tj));
    if (*w <= 0 || *h <= 0) /* TurboJPEG 2.1 reads a tables-only stream as 0 x 0 */
        return cgan_error(ctx, CGAN_E_FORMAT, "bad JPEG header: no image in the stream");
    if ((size_t)*w * (size_t)*h > MAX_JPEG_PIXELS)
        return cgan_error(ctx, CGAN_E_FORMAT, "JPEG of %d x %d is too large", *w, *h);
    int num = 1, den = 1;
    *sw = *w;
    *sh = *h;
    if (target > 0) cgan_jpeg_pick_scale(*w, *h, target, &num, &den, sw, sh);
    int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    *gray = cs == TJCS_GRAY;
    *pf = *gray ? TJPF_GRAY : cmyk ? TJPF_CMYK : TJPF_RGB;
    size_t bytes = (size_t)*sw * (size_t)*sh * (size_t)tjPixelSize[*pf];
    if (*sw <= 0 || *sh <= 0 || bytes > MAX_DECODED_BYTES)
        return cgan_error(ctx, CGAN_E_FORMAT, "JPEG of %d x %d is too large", *w, *h);
    return CGAN_OK;
}

static cgan_status decode_jpeg(cgan_ctx *ctx, tjhandle own, const uint8_t *buf, size_t len, int target,
                               cgan_image *out)
{
    cgan_status st;
    uint8_t *px = NULL;
    tjhandle tj = own ? own : tjInitDecompress();
    if (!tj) return cgan_error(ctx, CGAN_E_NOMEM, "TurboJPEG: %s", tjGetErrorStr2(NULL));
    int w = 0, h = 0, sw = 0, sh = 0, pf = 0, gray = 0;
    if ((st = jpeg_header(ctx, tj, buf, len, target, &w, &h, &sw, &sh, &pf, &gray)) != CGAN_OK) goto fail;
    st = CGAN_E_FORMAT;
    int cmyk = pf == TJPF_CMYK;
    size_t bytes = (size_t)sw * (size_t)sh * (size_t)tjPixelSize[pf];
    px = malloc(bytes);
    if (!px) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "JPEG of %d x %d: out of memory", w, h);
        goto fail;
    }
    /* A warning means damaged data that libjpeg papered over (a stream that ends early is
     * padded with grey, a corrupt segment skipped): such a file is skipped, with the reason,
     * never trained on. */
    if (tjDecompress2(tj, buf, (unsigned long)len, px, sw, 0, sh, pf, TJFLAG_ACCURATEDCT) != 0) {
        const char *why = tjGetErrorStr2(tj);
        cgan_error(ctx, st, "%s JPEG data: %s", tjGetErrorCode(tj) == TJERR_WARNING ? "corrupt" : "bad", why);
        goto fail;
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
    if (tj != own) tjDestroy(tj);
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
    if (im.width == 0 || im.height == 0) {
        cgan_error(ctx, st, "bad PNG: the image is %u x %u (no pixels)", im.width, im.height);
        goto fail;
    }
    if (im.width > INT_MAX / 4 || im.height > INT_MAX / 4 ||
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

static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static int is_jpeg(const uint8_t *buf, size_t len)
{
    return len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF;
}

static int is_png(const uint8_t *buf, size_t len)
{
    return len >= 8 && memcmp(buf, png_magic, 8) == 0;
}

cgan_status cgan_image_decode_tj(cgan_ctx *ctx, void *tj, const uint8_t *buf, size_t len, int target,
                                 cgan_image *out)
{
    memset(out, 0, sizeof *out);
    if (!buf || len == 0) return cgan_error(ctx, CGAN_E_FORMAT, "empty file");
    if (is_jpeg(buf, len)) return decode_jpeg(ctx, tj, buf, len, target, out);
    if (is_png(buf, len)) return decode_png(ctx, buf, len, out);
    return cgan_error(ctx, CGAN_E_FORMAT, "not a JPEG or PNG file");
}

cgan_status cgan_image_decode(cgan_ctx *ctx, const uint8_t *buf, size_t len, int target,
                              cgan_image *out)
{
    return cgan_image_decode_tj(ctx, NULL, buf, len, target, out);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The signature and the IHDR chunk, checked as libpng would before decoding: length, name,
 * CRC, sizes, bit depth for the colour type, methods. */
static cgan_status probe_png(cgan_ctx *ctx, const uint8_t *buf, size_t len, int *channels)
{
    if (len < 33) return cgan_error(ctx, CGAN_E_FORMAT, "bad PNG: the file ends inside its header");
    const uint8_t *d = buf + 16;
    if (be32(buf + 8) != 13 || memcmp(buf + 12, "IHDR", 4) != 0)
        return cgan_error(ctx, CGAN_E_FORMAT, "bad PNG: the first chunk is not a 13-byte IHDR");
    if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), buf + 12, 17) != be32(buf + 29))
        return cgan_error(ctx, CGAN_E_FORMAT, "bad PNG: IHDR: CRC error");
    uint32_t w = be32(d), h = be32(d + 4);
    int depth = d[8], type = d[9];
    int depth_ok = 0;
    switch (type) {
    case 0: depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
    case 3: depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
    case 2: case 4: case 6: depth_ok = depth == 8 || depth == 16; break;
    default: return cgan_error(ctx, CGAN_E_FORMAT, "bad PNG: IHDR: colour type %d", type);
    }
    if (!depth_ok) return cgan_error(ctx, CGAN_E_FORMAT, "bad PNG: IHDR: bit depth %d of colour type %d", depth, type);
    if (d[10] != 0 || d[11] != 0 || d[12] > 1)
        return cgan_error(ctx, CGAN_E_FORMAT, "bad PNG: IHDR: unknown compression, filter or interlace method");
    if (w == 0 || h == 0)
        return cgan_error(ctx, CGAN_E_FORMAT, "bad PNG: IHDR: the image is %u x %u (no pixels)", w, h);
    if (w > INT_MAX / 4 || h > INT_MAX / 4 || (size_t)w * h * 3 > MAX_DECODED_BYTES)
        return cgan_error(ctx, CGAN_E_FORMAT, "PNG of %u x %u is too large", w, h);
    *channels = type & 2 ? 3 : 1; /* colour and palette types decode to RGB, as in decode_png */
    return CGAN_OK;
}

cgan_status cgan_image_probe(cgan_ctx *ctx, void *tj, const uint8_t *buf, size_t len, int target,
                             int *channels)
{
    if (!buf || len == 0) return cgan_error(ctx, CGAN_E_FORMAT, "empty file");
    if (is_png(buf, len)) return probe_png(ctx, buf, len, channels);
    if (!is_jpeg(buf, len)) return cgan_error(ctx, CGAN_E_FORMAT, "not a JPEG or PNG file");
    tjhandle h = tj ? tj : tjInitDecompress();
    if (!h) return cgan_error(ctx, CGAN_E_NOMEM, "TurboJPEG: %s", tjGetErrorStr2(NULL));
    int w, hh, sw, sh, pf, gray;
    cgan_status st = jpeg_header(ctx, h, buf, len, target, &w, &hh, &sw, &sh, &pf, &gray);
    if (st == CGAN_OK) *channels = gray ? 1 : 3;
    if (h != tj) tjDestroy(h);
    return st;
}
