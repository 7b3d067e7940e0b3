/* Resize the shorter side to S, cut the centre S x S, convert channels, write CHW.
 * Separable resampling: per output column (then row) a short list of source taps. An
 * axis that shrinks averages the source pixels its output pixel covers (area); an axis
 * that grows interpolates linearly between pixel centres (bilinear). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/runtime.h"
#include "image.h"

typedef struct taps {
    int max;       /* taps per output sample */
    int *first;    /* first source index of output j */
    int *count;    /* taps used by output j */
    float *w;      /* w[j * max + k]: weight of source first[j] + k */
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->w);
}

/* Taps for outputs offset .. offset+n-1 of an axis resampled from `in` to `full` samples. */
static int taps_build(taps *t, int in, int full, int offset, int n)
{
    double scale = (double)in / (double)full;
    t->max = in > full ? (int)ceil(scale) + 2 : 2;
    t->first = malloc((size_t)n * sizeof *t->first);
    t->count = malloc((size_t)n * sizeof *t->count);
    t->w = calloc((size_t)n * (size_t)t->max, sizeof *t->w);
    if (!t->first || !t->count || !t->w) return -1;
    for (int j = 0; j < n; j++) {
        int o = offset + j;
        float *w = t->w + (size_t)j * (size_t)t->max;
        if (in > full) { /* area */
            double a = o * scale, b = (o + 1) * scale;
            int i0 = (int)floor(a), k = 0;
            for (int i = i0; i < in && i < b && k < t->max; i++, k++) {
                double lo = a > i ? a : i, hi = b < i + 1 ? b : i + 1;
                w[k] = (float)((hi - lo) / scale);
            }
            t->first[j] = i0;
            t->count[j] = k;
        } else { /* bilinear (identity when in == full) */
            double x = (o + 0.5) * scale - 0.5;
            if (x < 0) x = 0;
            if (x > in - 1) x = in - 1;
            int i0 = (int)floor(x);
            double f = x - i0;
            t->first[j] = i0;
            w[0] = (float)(1.0 - f);
            t->count[j] = 1;
            if (i0 + 1 < in && f > 0) {
                w[1] = (float)f;
                t->count[j] = 2;
            }
        }
    }
    return 0;
}

static uint8_t to_u8(float v)
{
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)(v + 0.5f);
}

/* src: size*size pixels of c interleaved floats; out: channels planes. */
static void emit_chw(const float *src, int c, int size, int channels, uint8_t *out)
{
    size_t plane = (size_t)size * (size_t)size;
    for (size_t p = 0; p < plane; p++) {
        const float *s = src + p * (size_t)c;
        if (channels == c) {
            for (int ch = 0; ch < c; ch++) out[(size_t)ch * plane + p] = to_u8(s[ch]);
        } else if (channels == 1) {
            out[p] = to_u8(0.299f * s[0] + 0.587f * s[1] + 0.114f * s[2]);
        } else {
            uint8_t g = to_u8(s[0]);
            for (int ch = 0; ch < 3; ch++) out[(size_t)ch * plane + p] = g;
        }
    }
}

static cgan_status check_args(cgan_ctx *ctx, const cgan_image *in, int size, int channels)
{
    if (!in || !in->px || in->w <= 0 || in->h <= 0 || (in->c != 1 && in->c != 3))
        return cgan_error(ctx, CGAN_E_INVALID, "image resize: empty or malformed image");
    if (size <= 0 || size > 4096 || (channels != 1 && channels != 3))
        return cgan_error(ctx, CGAN_E_INVALID, "image resize: bad target %d x %d x %d",
                          channels, size, size);
    return CGAN_OK;
}

cgan_status cgan_image_fit(cgan_ctx *ctx, const cgan_image *in, int size, int channels,
                           uint8_t *out)
{
    cgan_status st = check_args(ctx, in, size, channels);
    if (st != CGAN_OK) return st;
    int w = in->w, h = in->h, c = in->c;
    /* the resized (uncropped) size: shorter side = size, aspect kept */
    long rw, rh;
    if (w <= h) {
        rw = size;
        rh = lround((double)h * size / w);
    } else {
        rh = size;
        rw = lround((double)w * size / h);
    }
    if (rw < size) rw = size;
    if (rh < size) rh = size;
    int ox = (int)((rw - size) / 2), oy = (int)((rh - size) / 2);

    taps tx = { 0 }, ty = { 0 };
    float *rows = NULL, *res = NULL;
    st = CGAN_E_NOMEM;
    if (taps_build(&tx, w, (int)rw, ox, size) || taps_build(&ty, h, (int)rh, oy, size)) goto fail;
    /* horizontal pass over the source rows the vertical taps read */
    int y0 = ty.first[0], y1 = ty.first[size - 1] + ty.count[size - 1];
    size_t rstride = (size_t)size * (size_t)c;
    rows = malloc((size_t)(y1 - y0) * rstride * sizeof *rows);
    res = malloc((size_t)size * rstride * sizeof *res);
    if (!rows || !res) goto fail;
    for (int y = y0; y < y1; y++) {
        const uint8_t *srow = in->px + (size_t)y * (size_t)w * (size_t)c;
        float *drow = rows + (size_t)(y - y0) * rstride;
        for (int j = 0; j < size; j++) {
            const float *wt = tx.w + (size_t)j * (size_t)tx.max;
            for (int ch = 0; ch < c; ch++) {
                float acc = 0.0f;
                for (int k = 0; k < tx.count[j]; k++)
                    acc += wt[k] * srow[(size_t)(tx.first[j] + k) * (size_t)c + (size_t)ch];
                drow[(size_t)j * (size_t)c + (size_t)ch] = acc;
            }
        }
    }
    /* vertical pass */
    for (int i = 0; i < size; i++) {
        const float *wt = ty.w + (size_t)i * (size_t)ty.max;
        float *drow = res + (size_t)i * rstride;
        for (size_t x = 0; x < rstride; x++) {
            float acc = 0.0f;
            for (int k = 0; k < ty.count[i]; k++)
                acc += wt[k] * rows[(size_t)(ty.first[i] + k - y0) * rstride + x];
            drow[x] = acc;
        }
    }
    emit_chw(res, c, size, channels, out);
    st = CGAN_OK;
fail:
    if (st != CGAN_OK) cgan_error(ctx, st, "image resize: out of memory");
    taps_free(&tx);
    taps_free(&ty);
    free(rows);
    free(res);
    return st;
}

cgan_status cgan_image_fit_or_pad(cgan_ctx *ctx, const cgan_image *in, int size, int channels,
                                  uint8_t *out)
{
    cgan_status st = check_args(ctx, in, size, channels);
    if (st != CGAN_OK) return st;
    int side = in->w, c = in->c;
    if (in->h != side || size <= side || size - side > 4)
        return cgan_image_fit(ctx, in, size, channels, out);
    float *canvas = calloc((size_t)size * (size_t)size * (size_t)c, sizeof *canvas);
    if (!canvas) return cgan_error(ctx, CGAN_E_NOMEM, "image pad: out of memory");
    int off = (size - side) / 2;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side * c; x++)
            canvas[((size_t)(y + off) * (size_t)size + (size_t)off) * (size_t)c + (size_t)x] =
                in->px[(size_t)y * (size_t)side * (size_t)c + (size_t)x];
    emit_chw(canvas, c, size, channels, out);
    free(canvas);
    return CGAN_OK;
}

void cgan_image_free(cgan_image *im)
{
    if (!im) return;
    free(im->px);
    im->px = NULL;
    im->w = im->h = im->c = 0;
}
