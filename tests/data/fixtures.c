/* Fixture writers for check_data (see fixtures.h). */
#include <check.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <zlib.h>
#include "fixtures.h"

const char *fx_path(const char *dir, const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

void fx_mkdir(const char *dir, const char *name)
{
    ck_assert_int_eq(mkdir(fx_path(dir, name), 0755), 0);
}

void fx_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

uint8_t *fx_jpeg_mem(int w, int h, int c, const uint8_t *px, int quality, size_t *len)
{
    tjhandle tj = tjInitCompress();
    ck_assert_ptr_nonnull(tj);
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    int pf = c == 1 ? TJPF_GRAY : c == 3 ? TJPF_RGB : TJPF_CMYK;
    int samp = c == 1 ? TJSAMP_GRAY : TJSAMP_444;
    int rc = tjCompress2(tj, px, w, 0, h, pf, &jpeg, &size, samp, quality, TJFLAG_ACCURATEDCT);
    ck_assert_msg(rc == 0, "tjCompress2: %s", tjGetErrorStr2(tj));
    uint8_t *out = malloc(size);
    ck_assert_ptr_nonnull(out);
    memcpy(out, jpeg, size);
    tjFree(jpeg);
    tjDestroy(tj);
    *len = size;
    return out;
}

void fx_jpeg(const char *path, int w, int h, int c, const uint8_t *px, int quality)
{
    size_t len;
    uint8_t *buf = fx_jpeg_mem(w, h, c, px, quality, &len);
    fx_bytes(path, buf, len);
    free(buf);
}

void fx_png(const char *path, int w, int h, int color_type, int depth, const uint8_t *px,
            const uint8_t *palette, int npal)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    ck_assert_ptr_nonnull(info);
    if (setjmp(png_jmpbuf(png))) ck_abort_msg("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < npal; i++) {
            pal[i].red = palette[3 * i];
            pal[i].green = palette[3 * i + 1];
            pal[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, pal, npal);
    }
    png_write_info(png, info);
    int ch = color_type == PNG_COLOR_TYPE_GRAY ? 1 : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
           : color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGBA ? 4 : 1;
    size_t stride = (size_t)w * (size_t)ch * (size_t)(depth / 8);
    for (int y = 0; y < h; y++) png_write_row(png, px + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    ck_assert_int_eq(fclose(f), 0);
}

void fx_idx(const char *path, int gz, uint32_t magic, const uint32_t *dims, int ndims,
            const uint8_t *data, size_t len)
{
    uint8_t head[16];
    uint32_t words[4] = { magic, 0, 0, 0 };
    for (int i = 0; i < ndims; i++) words[1 + i] = dims[i];
    for (int i = 0; i < 1 + ndims; i++) {
        head[4 * i] = (uint8_t)(words[i] >> 24);
        head[4 * i + 1] = (uint8_t)(words[i] >> 16);
        head[4 * i + 2] = (uint8_t)(words[i] >> 8);
        head[4 * i + 3] = (uint8_t)words[i];
    }
    size_t hl = 4 + 4 * (size_t)ndims;
    if (!gz) {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(head, 1, hl, f), hl);
        if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
        return;
    }
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, head, (unsigned)hl), (int)hl);
    if (len) ck_assert_int_eq(gzwrite(g, data, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(g), Z_OK);
}
