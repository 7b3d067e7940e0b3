/* Data layer: resize + crop, JPEG/PNG decoding, ImageFolder and IDX datasets, malformed
 * files; the batch loader's cases are in data/loader_cases.c. Fixtures are written at
 * test time (data/fixtures.c).
 * No OpenCL device is needed. */
#include <math.h>
#include <png.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/fixtures.h"

#define FASHION_DIR CGAN_DATA_DEFAULT_PATH

static uint8_t *rgb_fill(int w, int h, int c, uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t *px = malloc((size_t)w * h * c), v[3] = { r, g, b };
    for (int i = 0; i < w * h; i++)
        for (int k = 0; k < c; k++) px[i * c + k] = v[k];
    return px;
}

static cgan_dataset *open_ok(cgan_ctx *ctx, const char *dir, const cgan_data_opts *o)
{
    cgan_dataset *ds = NULL;
    TU_OK(ctx, cgan_dataset_open(ctx, dir, o, &ds));
    ck_assert_ptr_nonnull(ds);
    return ds;
}

/* Image i's pixels, whatever the mode (a static buffer, valid until the next call). */
static const uint8_t *image_px(cgan_ctx *ctx, const cgan_dataset *ds, int i)
{
    static uint8_t buf[3 * 64 * 64];
    ck_assert_uint_le(cgan_dataset_image_bytes(ds), sizeof buf);
    TU_OK(ctx, cgan_dataset_read(ctx, ds, i, buf));
    return buf;
}

/* Open must fail with st and a message holding `needle`. */
static void open_fails(cgan_ctx *ctx, const char *dir, const cgan_data_opts *o, cgan_status st,
                       const char *needle)
{
    cgan_dataset *ds = (cgan_dataset *)1;
    cgan_status got = cgan_dataset_open(ctx, dir, o, &ds);
    ck_assert_msg(got == st, "%s: %s, expected %s (%s)", dir ? dir : "NULL", cgan_status_str(got),
                  cgan_status_str(st), cgan_last_error(ctx));
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(cgan_last_error(ctx), needle) != NULL, "message lacks \"%s\": %s",
                  needle, cgan_last_error(ctx));
}

/* ---- DCT scale and resize ------------------------------------------------ */

START_TEST(test_jpeg_scale)
{
    int num, den, sw, sh;
    cgan_jpeg_pick_scale(400, 300, 32, &num, &den, &sw, &sh);
    ck_assert_int_eq(num * 8, den); /* 1/8 */
    ck_assert_int_eq(sw, 50);
    ck_assert_int_eq(sh, 38);
    cgan_jpeg_pick_scale(300, 400, 32, &num, &den, &sw, &sh);
    ck_assert_int_eq(sw, 38);
    ck_assert_int_eq(sh, 50);
    cgan_jpeg_pick_scale(64, 80, 32, &num, &den, &sw, &sh); /* 1/2 exactly reaches 32 */
    ck_assert_int_eq(num * 2, den);
    ck_assert_int_eq(sw, 32);
    cgan_jpeg_pick_scale(100, 100, 64, &num, &den, &sw, &sh); /* 5/8 -> 63 too small: 3/4 */
    ck_assert_int_eq(sw, 75);
    cgan_jpeg_pick_scale(20, 50, 32, &num, &den, &sw, &sh); /* smaller than the target */
    ck_assert_int_eq(num, den);
    ck_assert_int_eq(sw, 20);
    ck_assert_int_eq(sh, 50);
    /* a header's huge dimensions: no int overflow (UBSan in check_stream's late header) */
    cgan_jpeg_pick_scale(594396623, 2147483647, 32, &num, &den, &sw, &sh);
    ck_assert_int_eq(num * 8, den);
    ck_assert_int_eq(sw, 74299578);
    ck_assert_int_eq(sh, 268435456);
}
END_TEST

START_TEST(test_resize_constant)
{
    cgan_ctx *ctx = cgan_ctx_new();
    const int sizes[][2] = { { 45, 37 }, { 20, 50 }, { 300, 7 }, { 32, 32 }, { 1, 1 } };
    uint8_t out[3 * 32 * 32];
    for (int t = 0; t < 5; t++) {
        for (int c = 1; c <= 3; c += 2) {
            uint8_t *px = rgb_fill(sizes[t][0], sizes[t][1], c, 200, 100, 50);
            cgan_image im = { sizes[t][0], sizes[t][1], c, px };
            TU_OK(ctx, cgan_image_fit(ctx, &im, 32, c, out));
            for (int i = 0; i < 32 * 32; i++)
                for (int k = 0; k < c; k++)
                    ck_assert_int_eq(out[k * 1024 + i], c == 1 ? 200 : (int)((uint8_t[]){ 200, 100, 50 }[k]));
            free(px);
        }
    }
    /* channel conversions: gray -> RGB repeats, RGB -> gray is the BT.601 luma */
    uint8_t *px = rgb_fill(45, 37, 3, 200, 100, 50);
    cgan_image im = { 45, 37, 3, px };
    TU_OK(ctx, cgan_image_fit(ctx, &im, 32, 1, out));
    ck_assert_int_eq(out[517], (int)lround(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
    im.c = 1;
    TU_OK(ctx, cgan_image_fit(ctx, &im, 32, 3, out));
    ck_assert_int_eq(out[5], out[1024 + 5]);
    ck_assert_int_eq(out[5], out[2048 + 5]);
    ck_assert_int_eq(cgan_image_fit(ctx, &im, 0, 3, out), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_image_fit(ctx, &im, 32, 2, out), CGAN_E_INVALID);
    free(px);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Fraction of [a, b) inside [lo, hi). */
static double overlap(double a, double b, double lo, double hi)
{
    double l = a > lo ? a : lo, h = b < hi ? b : hi;
    return h > l ? (h - l) / (b - a) : 0.0;
}

START_TEST(test_resize_split)
{
    cgan_ctx *ctx = cgan_ctx_new();
    /* 64 x 40, left 32 columns 0, right 255: shorter side 40 -> 32, width 51, crop from 9 */
    int w = 64, h = 40;
    uint8_t *px = malloc((size_t)w * h), out[32 * 32];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) px[y * w + x] = x < 32 ? 0 : 255;
    cgan_image im = { w, h, 1, px };
    TU_OK(ctx, cgan_image_fit(ctx, &im, 32, 1, out));
    double scale = 64.0 / 51.0;
    for (int j = 0; j < 32; j++) {
        double want = 255.0 * overlap((j + 9) * scale, (j + 10) * scale, 32, 64);
        for (int y = 0; y < 32; y++)
            ck_assert_msg(abs(out[y * 32 + j] - (int)lround(want)) <= 1, "column %d: %d, want %.1f",
                          j, out[y * 32 + j], want);
    }
    ck_assert_int_eq(out[15], 0);  /* the split stays between columns 16 and 17 */
    ck_assert_int_eq(out[18], 255);
    free(px);
    /* the same through a JPEG (4:4:4, quality 95): the edge stays within a pixel */
    uint8_t *rgb = malloc((size_t)400 * 300 * 3);
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 400; x++)
            for (int k = 0; k < 3; k++) rgb[(y * 400 + x) * 3 + k] = x < 200 ? 0 : 255;
    size_t len;
    uint8_t *jpg = fx_jpeg_mem(400, 300, 3, rgb, 95, &len);
    cgan_image dec;
    TU_OK(ctx, cgan_image_decode(ctx, jpg, len, 32, &dec));
    ck_assert_int_eq(dec.w, 50);
    ck_assert_int_eq(dec.h, 38);
    ck_assert_int_eq(dec.c, 3);
    uint8_t out3[3 * 32 * 32];
    TU_OK(ctx, cgan_image_fit(ctx, &dec, 32, 3, out3));
    /* 50 x 38 -> 42 x 32, crop from 5: the split (x = 25 -> 21) is at column 16 */
    for (int k = 0; k < 3; k++)
        for (int y = 2; y < 30; y++) {
            ck_assert_int_le(out3[k * 1024 + y * 32 + 14], 12);
            ck_assert_int_ge(out3[k * 1024 + y * 32 + 17], 243);
        }
    cgan_image_free(&dec);
    free(jpg);
    free(rgb);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_resize_gradient)
{
    cgan_ctx *ctx = cgan_ctx_new();
    uint8_t out[32 * 32];
    /* shrinking (area): 45 x 37 horizontal ramp */
    uint8_t *px = malloc(45 * 37);
    for (int y = 0; y < 37; y++)
        for (int x = 0; x < 45; x++) px[y * 45 + x] = (uint8_t)(x * 255 / 44);
    cgan_image im = { 45, 37, 1, px };
    TU_OK(ctx, cgan_image_fit(ctx, &im, 32, 1, out));
    for (int y = 0; y < 32; y++) {
        for (int x = 1; x < 32; x++) ck_assert_int_ge(out[y * 32 + x], out[y * 32 + x - 1]);
        ck_assert_int_gt(out[y * 32 + 31], out[y * 32] + 150);
        ck_assert_int_eq(out[y * 32 + 7], out[7]);
    }
    free(px);
    /* enlarging (bilinear): 20 x 50 vertical ramp -> 32 x 80, centre rows */
    px = malloc(20 * 50);
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 20; x++) px[y * 20 + x] = (uint8_t)(y * 5);
    im = (cgan_image){ 20, 50, 1, px };
    TU_OK(ctx, cgan_image_fit(ctx, &im, 32, 1, out));
    for (int y = 1; y < 32; y++) {
        ck_assert_int_gt(out[y * 32], out[(y - 1) * 32]);
        ck_assert_int_eq(out[y * 32 + 31], out[y * 32]);
    }
    /* row y of the crop is row y + 24 of 80: source centre (y + 24.5) * 50/80 - 0.5 */
    for (int y = 0; y < 32; y++)
        ck_assert_int_eq(out[y * 32], (int)lround(5 * ((y + 24.5) * 0.625 - 0.5)));
    free(px);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- decoding ------------------------------------------------------------ */

START_TEST(test_png_kinds)
{
    char *dir = tu_tempdir("png");
    cgan_ctx *ctx = cgan_ctx_new();
    uint8_t out[3 * 16 * 16];
    struct {
        int type, depth, ch;
        uint8_t px[4 * 2];  /* samples of one pixel (16-bit: big-endian) */
        int want[3], want_c;
    } cases[] = {
        { PNG_COLOR_TYPE_GRAY, 8, 1, { 77 }, { 77 }, 1 },
        { PNG_COLOR_TYPE_GRAY_ALPHA, 8, 2, { 200, 255 }, { 200 }, 1 },
        { PNG_COLOR_TYPE_GRAY_ALPHA, 8, 2, { 200, 0 }, { 0 }, 1 },          /* on black */
        { PNG_COLOR_TYPE_RGB, 8, 3, { 10, 20, 30 }, { 10, 20, 30 }, 3 },
        { PNG_COLOR_TYPE_RGBA, 8, 4, { 10, 20, 30, 255 }, { 10, 20, 30 }, 3 },
        { PNG_COLOR_TYPE_RGBA, 8, 4, { 250, 20, 30, 0 }, { 0, 0, 0 }, 3 },
        { PNG_COLOR_TYPE_GRAY, 16, 1, { 0x80, 0x00 }, { 128 }, 1 },
        { PNG_COLOR_TYPE_RGB, 16, 3, { 0xFF, 0xFF, 0x40, 0x00, 0x00, 0x10 }, { 255, 64, 0 }, 3 },
        { PNG_COLOR_TYPE_PALETTE, 8, 1, { 1 }, { 40, 50, 60 }, 3 },
    };
    const uint8_t pal[6] = { 0, 0, 0, 40, 50, 60 };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int w = 13, h = 9, bps = cases[t].ch * cases[t].depth / 8;
        uint8_t *px = malloc((size_t)w * h * bps);
        for (int i = 0; i < w * h; i++) memcpy(px + i * bps, cases[t].px, (size_t)bps);
        const char *p = fx_path(dir, "k.png");
        fx_png(p, w, h, cases[t].type, cases[t].depth, px, pal, 2);
        free(px);
        FILE *f = fopen(p, "rb");
        static uint8_t buf[4096];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        cgan_image im;
        TU_OK(ctx, cgan_image_decode(ctx, buf, len, 16, &im));
        ck_assert_int_eq(im.w, w);
        ck_assert_int_eq(im.h, h);
        ck_assert_msg(im.c == cases[t].want_c, "case %zu: %d channels", t, im.c);
        TU_OK(ctx, cgan_image_fit(ctx, &im, 16, im.c, out));
        for (int k = 0; k < im.c; k++)
            ck_assert_msg(abs(out[k * 256 + 100] - cases[t].want[k]) <= 1, "case %zu channel %d: %d != %d",
                          t, k, out[k * 256 + 100], cases[t].want[k]);
        cgan_image_free(&im);
    }
    cgan_ctx_destroy(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_jpeg_kinds)
{
    cgan_ctx *ctx = cgan_ctx_new();
    size_t len;
    cgan_image im;
    uint8_t *g = rgb_fill(20, 50, 1, 90, 0, 0);
    uint8_t *jpg = fx_jpeg_mem(20, 50, 1, g, 90, &len);
    TU_OK(ctx, cgan_image_decode(ctx, jpg, len, 32, &im));
    ck_assert_int_eq(im.c, 1);
    ck_assert_int_eq(im.w, 20);
    for (int i = 0; i < im.w * im.h; i++) ck_assert_int_le(abs(im.px[i] - 90), 2);
    cgan_image_free(&im);
    free(jpg);
    free(g);
    /* CMYK (Adobe-inverted samples): decoded to RGB */
    uint8_t *cmyk = malloc(16 * 16 * 4);
    for (int i = 0; i < 256; i++) {
        cmyk[4 * i] = 255; cmyk[4 * i + 1] = 0; cmyk[4 * i + 2] = 255; cmyk[4 * i + 3] = 255;
    }
    jpg = fx_jpeg_mem(16, 16, 4, cmyk, 95, &len);
    TU_OK(ctx, cgan_image_decode(ctx, jpg, len, 0, &im));
    ck_assert_int_eq(im.c, 3);
    ck_assert_int_ge(im.px[0], 240);
    ck_assert_int_le(im.px[1], 15);
    ck_assert_int_ge(im.px[2], 240);
    cgan_image_free(&im);
    free(jpg);
    free(cmyk);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Mutated and truncated JPEGs and PNGs: an error or a sane image, never a crash. */
START_TEST(test_decode_fuzz)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("fuzz");
    uint8_t *rgb = malloc(45 * 37 * 3);
    for (int i = 0; i < 45 * 37 * 3; i++) rgb[i] = (uint8_t)(i * 7);
    size_t jlen, plen;
    uint8_t *jpg = fx_jpeg_mem(45, 37, 3, rgb, 80, &jlen);
    const char *pp = fx_path(dir, "f.png");
    fx_png(pp, 45, 37, PNG_COLOR_TYPE_RGB, 8, rgb, NULL, 0);
    static uint8_t png[65536];
    FILE *f = fopen(pp, "rb");
    plen = fread(png, 1, sizeof png, f);
    fclose(f);
    ck_assert(plen > 0 && plen < sizeof png);
    cgan_rng r;
    cgan_rng_init(&r, 99, 0);
    uint8_t *buf = malloc(jlen > plen ? jlen : plen), out[3 * 32 * 32];
    int ok = 0, bad = 0;
    for (int it = 0; it < 400; it++) {
        const uint8_t *src = it % 2 ? png : jpg;
        size_t len = it % 2 ? plen : jlen;
        memcpy(buf, src, len);
        if (it % 4 < 2) {
            len = 1 + cgan_rng_below(&r, (uint32_t)len - 1); /* truncate */
        } else {
            int flips = 1 + (int)cgan_rng_below(&r, 8);
            for (int k = 0; k < flips; k++)
                buf[cgan_rng_below(&r, (uint32_t)len)] ^= (uint8_t)(1 + cgan_rng_below(&r, 255));
        }
        cgan_image im;
        cgan_status st = cgan_image_decode(ctx, buf, len, 32, &im);
        if (st == CGAN_OK) {
            ck_assert(im.w > 0 && im.h > 0 && (im.c == 1 || im.c == 3));
            TU_OK(ctx, cgan_image_fit(ctx, &im, 32, 3, out));
            cgan_image_free(&im);
            ok++;
        } else {
            ck_assert_int_eq(st, CGAN_E_FORMAT);
            ck_assert(strlen(cgan_last_error(ctx)) > 0);
            ck_assert_ptr_null(im.px);
            bad++;
        }
    }
    ck_assert_int_gt(bad, 150); /* truncations must be caught */
    (void)ok;
    ck_assert_int_eq(cgan_image_decode(ctx, (const uint8_t *)"hello", 5, 32, &(cgan_image){ 0 }),
                     CGAN_E_FORMAT);
    free(buf);
    free(jpg);
    free(rgb);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- ImageFolder --------------------------------------------------------- */

START_TEST(test_folder)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("folder");
    fx_mkdir(dir, "zebra");
    fx_mkdir(dir, "apple");
    fx_mkdir(dir, ".hidden");
    fx_mkdir(dir, "empty");
    char *a = strdup(fx_path(dir, "apple")), *z = strdup(fx_path(dir, "zebra"));
    uint8_t *red = rgb_fill(45, 37, 3, 250, 10, 10), *gray = rgb_fill(20, 50, 1, 60, 0, 0);
    fx_jpeg(fx_path(a, "1.jpg"), 45, 37, 3, red, 95);
    fx_png(fx_path(a, "2.PNG"), 20, 50, PNG_COLOR_TYPE_GRAY, 8, gray, NULL, 0);
    fx_jpeg(fx_path(z, "a.JPEG"), 20, 50, 1, gray, 95);
    fx_jpeg(fx_path(dir, ".hidden/x.jpg"), 20, 50, 1, gray, 95);
    fx_bytes(fx_path(z, "notes.txt"), "ignored", 7);
    /* bad files: truncated JPEG, random bytes as .png, text as .jpg, empty */
    size_t len; /* cut inside the scan data: libjpeg would pad it with grey */
    uint8_t *busy = malloc(64 * 64 * 3);
    for (int i = 0; i < 64 * 64 * 3; i++) busy[i] = (uint8_t)(i * 7 + i / 191);
    uint8_t *jpg = fx_jpeg_mem(64, 64, 3, busy, 95, &len);
    free(busy);
    ck_assert_int_gt(len, 4000);
    fx_bytes(fx_path(z, "b_trunc.jpg"), jpg, len * 3 / 4);
    uint8_t noise[300];
    for (int i = 0; i < 300; i++) noise[i] = (uint8_t)(i * 37 + 11);
    fx_bytes(fx_path(z, "c_noise.png"), noise, sizeof noise);
    fx_bytes(fx_path(z, "d_text.jpg"), "not a picture\n", 14);
    fx_bytes(fx_path(z, "e_zero.png"), "", 0);

    cgan_data_opts cached;
    cgan_data_opts_default(&cached);
    cached.cache_decoded = 1;
    cgan_dataset *dc = open_ok(ctx, dir, &cached), *ds = dc;
    ck_assert_str_eq(ds->format, "imagefolder");
    ck_assert_ptr_nonnull(ds->pixels);
    ck_assert_ptr_null(ds->path_off);
    ck_assert_int_eq(ds->num_classes, 2);
    ck_assert_str_eq(ds->class_names[0], "apple");
    ck_assert_str_eq(ds->class_names[1], "zebra");
    ck_assert_int_eq(ds->n, 3);
    ck_assert_int_eq(ds->channels, 3); /* one colour image */
    ck_assert_int_eq(ds->size, 32);
    ck_assert_int_eq(ds->labels[0], 0);
    ck_assert_int_eq(ds->labels[1], 0);
    ck_assert_int_eq(ds->labels[2], 1);
    ck_assert_int_eq(ds->skipped, 4);
    ck_assert_int_eq(ds->skipped_kept, 4);
    const char *names[4] = { "b_trunc.jpg", "c_noise.png", "d_text.jpg", "e_zero.png" };
    for (int i = 0; i < 4; i++)
        ck_assert_msg(strstr(ds->skipped_examples[i], names[i]) != NULL, "%s", ds->skipped_examples[i]);
    ck_assert(strstr(ds->skipped_examples[3], "empty file") != NULL);
    const uint8_t *im = cgan_dataset_image(ds, 0);
    for (int i = 0; i < 1024; i++) {
        ck_assert_int_le(abs(im[i] - 250), 4);
        ck_assert_int_le(abs(im[1024 + i] - 10), 4);
    }
    im = cgan_dataset_image(ds, 1);
    for (int i = 0; i < 3 * 1024; i++) ck_assert_int_eq(im[i], 60);

    /* streamed (the default): only headers are read at open, so the JPEG cut inside its scan
     * data is listed, and fails when it is read; the other images are the same bytes */
    ds = open_ok(ctx, dir, NULL);
    ck_assert_ptr_null(ds->pixels);
    ck_assert(cgan_dataset_streamed(ds));
    ck_assert_int_eq(ds->n, 4);
    ck_assert_int_eq(ds->channels, 3);
    ck_assert_int_eq(ds->skipped, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(strstr(ds->skipped_examples[i], names[i + 1]) != NULL, "%s", ds->skipped_examples[i]);
    ck_assert(strstr(ds->skipped_examples[2], "empty file") != NULL);
    ck_assert_int_eq(ds->labels[3], 1);
    ck_assert(strstr(cgan_dataset_path(ds, 0), "apple/1.jpg") != NULL);
    ck_assert(strstr(cgan_dataset_path(ds, 3), "zebra/b_trunc.jpg") != NULL);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(memcmp(image_px(ctx, ds, i), cgan_dataset_image(dc, i), 3 * 1024), 0);
    uint8_t scratch[3 * 1024];
    ck_assert_int_eq(cgan_dataset_read(ctx, ds, 3, scratch), CGAN_E_FORMAT);
    ck_assert_msg(strstr(cgan_last_error(ctx), "b_trunc.jpg: corrupt JPEG data") != NULL, "%s", cgan_last_error(ctx));
    ck_assert_int_eq(cgan_dataset_read(ctx, ds, 4, scratch), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_dataset_read(ctx, ds, -1, scratch), CGAN_E_INVALID);
    cgan_dataset_destroy(ds);
    cgan_dataset_destroy(dc);

    /* forced gray, another size */
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.channels = 1;
    o.size = 16;
    ds = open_ok(ctx, dir, &o);
    ck_assert_int_eq(ds->channels, 1);
    ck_assert_int_eq(ds->size, 16);
    ck_assert_int_le(abs(image_px(ctx, ds, 0)[40] - 82), 4); /* luma of (250,10,10) */
    cgan_dataset_destroy(ds);

    /* all gray: one channel detected (cached: from the decoded images; streamed: from the
     * headers, where the cut JPEG still counts as colour until it is removed) */
    free(red);
    red = rgb_fill(45, 37, 1, 30, 0, 0);
    fx_png(fx_path(a, "1.jpg"), 45, 37, PNG_COLOR_TYPE_GRAY, 8, red, NULL, 0); /* PNG named .jpg */
    dc = open_ok(ctx, dir, &cached);
    ck_assert_int_eq(dc->channels, 1);
    ck_assert_int_eq(dc->n, 3);
    for (int i = 0; i < 1024; i++) ck_assert_int_eq(cgan_dataset_image(dc, 0)[i], 30);
    ck_assert_int_eq(cgan_dataset_image(dc, 2)[500], 60);
    ds = open_ok(ctx, dir, NULL);
    ck_assert_int_eq(ds->channels, 3);
    cgan_dataset_destroy(ds);
    ck_assert_int_eq(unlink(fx_path(z, "b_trunc.jpg")), 0);
    ds = open_ok(ctx, dir, NULL);
    ck_assert_int_eq(ds->channels, 1);
    ck_assert_int_eq(ds->n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(memcmp(image_px(ctx, ds, i), cgan_dataset_image(dc, i), 1024), 0);
    cgan_dataset_destroy(ds);
    cgan_dataset_destroy(dc);
    free(a); free(z); free(red); free(gray); free(jpg);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_folder_subset)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("subset");
    for (int c = 0; c < 3; c++) {
        char cls[8], name[16];
        snprintf(cls, sizeof cls, "c%d", c);
        fx_mkdir(dir, cls);
        for (int i = 0; i < 20; i++) {
            uint8_t *px = rgb_fill(8, 8, 1, (uint8_t)(c * 20 + i), 0, 0);
            snprintf(name, sizeof name, "%s/%02d.png", cls, i);
            fx_png(fx_path(dir, name), 8, 8, PNG_COLOR_TYPE_GRAY, 8, px, NULL, 0);
            free(px);
        }
    }
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = 8;
    cgan_dataset *ds = open_ok(ctx, dir, &o); /* 60 files: the threaded path */
    ck_assert_int_eq(ds->n, 60);
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(ds->labels[i], i / 20);
        ck_assert_int_eq(image_px(ctx, ds, i)[0], i);
    }
    cgan_dataset_destroy(ds);
    o.max_images = 6;
    ds = open_ok(ctx, dir, &o);
    ck_assert_int_eq(ds->n, 6);
    int per[3] = { 0 };
    for (int i = 0; i < 6; i++) per[ds->labels[i]]++;
    ck_assert(per[0] == 2 && per[1] == 2 && per[2] == 2);
    ck_assert_int_eq(image_px(ctx, ds, 1)[0], 10);
    cgan_dataset_destroy(ds);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_folder_errors)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("empty");
    open_fails(ctx, dir, NULL, CGAN_E_NOT_FOUND, dir);
    fx_mkdir(dir, "cls");
    open_fails(ctx, dir, NULL, CGAN_E_NOT_FOUND, "no class subfolders");
    uint8_t *px = rgb_fill(8, 8, 1, 1, 0, 0);
    fx_png(fx_path(dir, "loose.png"), 8, 8, PNG_COLOR_TYPE_GRAY, 8, px, NULL, 0);
    open_fails(ctx, dir, NULL, CGAN_E_NOT_FOUND, "no class subfolders");
    fx_bytes(fx_path(dir, "cls/a.jpg"), "text", 4);
    fx_bytes(fx_path(dir, "cls/b.png"), "", 0);
    open_fails(ctx, dir, NULL, CGAN_E_FORMAT, "no usable image");
    open_fails(ctx, fx_path(dir, "nope"), NULL, CGAN_E_NOT_FOUND, "nope");
    open_fails(ctx, fx_path(dir, "loose.png"), NULL, CGAN_E_INVALID, "not a folder");
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.channels = 2;
    open_fails(ctx, dir, &o, CGAN_E_INVALID, "channels");
    cgan_data_opts_default(&o);
    o.split = "valid";
    open_fails(ctx, dir, &o, CGAN_E_INVALID, "split");
    free(px);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A JPEG damaged inside its scan data, which libjpeg decodes with a warning (issue 15,
 * defect 7): skipped with the reason, in lower case or not, never trained on. */
START_TEST(test_jpeg_warning_skipped)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("jpgwarn");
    fx_mkdir(dir, "cls");
    uint8_t *px = rgb_fill(48, 40, 3, 200, 30, 60);
    for (int i = 0; i < 48 * 40 * 3; i++) px[i] = (uint8_t)(px[i] ^ (i * 37));
    size_t len = 0;
    uint8_t *jpg = fx_jpeg_mem(48, 40, 3, px, 90, &len);
    fx_bytes(fx_path(dir, "cls/good.jpg"), jpg, len);
    /* an end-of-image marker in the middle of the entropy-coded data */
    jpg[len / 2] = 0xFF;
    jpg[len / 2 + 1] = 0xD9;
    fx_bytes(fx_path(dir, "cls/mid.jpg"), jpg, len);
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.cache_decoded = 1;
    cgan_dataset *ds = NULL;
    TU_OK(ctx, cgan_dataset_open(ctx, dir, &o, &ds));
    ck_assert_int_eq(ds->n, 1);
    ck_assert_int_eq(ds->skipped, 1);
    ck_assert_msg(strstr(ds->skipped_examples[0], "mid.jpg") && strstr(ds->skipped_examples[0], "corrupt JPEG data"),
                  "%s", ds->skipped_examples[0]);
    cgan_dataset_destroy(ds);
    free(jpg);
    free(px);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Entries with an image's name that cannot be read as files (issue 15, defect 7): a FIFO, a
 * link that loops, a link to nothing. Each is skipped with its reason and counted by kind,
 * and the scan never waits on the FIFO. */
START_TEST(test_scan_not_files)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("notfiles");
    fx_mkdir(dir, "cls");
    uint8_t *px = rgb_fill(8, 8, 1, 1, 0, 0);
    fx_png(fx_path(dir, "cls/good.png"), 8, 8, PNG_COLOR_TYPE_GRAY, 8, px, NULL, 0);
    ck_assert_int_eq(mkfifo(fx_path(dir, "cls/pipe.png"), 0600), 0);
    ck_assert_int_eq(symlink("loop2.jpg", fx_path(dir, "cls/loop1.jpg")), 0);
    ck_assert_int_eq(symlink("loop1.jpg", fx_path(dir, "cls/loop2.jpg")), 0);
    ck_assert_int_eq(symlink("nowhere.png", fx_path(dir, "cls/dangling.png")), 0);
    for (int cached = 0; cached < 2; cached++) {
        cgan_data_opts o;
        cgan_data_opts_default(&o);
        o.cache_decoded = cached;
        cgan_dataset *ds = NULL;
        TU_OK(ctx, cgan_dataset_open(ctx, dir, &o, &ds));
        ck_assert_int_eq(ds->n, 1);
        ck_assert_int_eq(ds->skipped, 4);
        ck_assert_int_eq(ds->skipped_by[CGAN_SKIP_NOT_FILE], 1);
        ck_assert_int_eq(ds->skipped_by[CGAN_SKIP_LINK], 3);
        char sum[256];
        cgan_dataset_skip_summary(ds, sum, sizeof sum);
        ck_assert_msg(strstr(sum, "1 not a file (a FIFO") && strstr(sum, "3 a link that loops or leads nowhere"),
                      "%s", sum);
        int fifo_said = 0;
        for (int i = 0; i < ds->skipped_kept; i++) fifo_said |= strstr(ds->skipped_examples[i], "pipe.png: a FIFO") != 0;
        ck_assert(fifo_said);
        cgan_dataset_destroy(ds);
    }
    free(px);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A PNG whose IHDR says 0 x N (issue 15, defect 18): skipped as an image without pixels,
 * never called "too large", streamed (header probe) or decoded up front. */
START_TEST(test_png_zero_size)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("png0");
    fx_mkdir(dir, "cls");
    uint8_t *px = rgb_fill(8, 8, 1, 1, 0, 0);
    fx_png(fx_path(dir, "cls/good.png"), 8, 8, PNG_COLOR_TYPE_GRAY, 8, px, NULL, 0);
    /* signature, then an IHDR of width 0, height 8, 8-bit gray, with its CRC */
    uint8_t png[8 + 25] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                            0, 0, 0, 0, 0, 0, 0, 8, 8, 0, 0, 0, 0 };
    uint32_t crc = (uint32_t)crc32(0L, png + 12, 17);
    png[29] = (uint8_t)(crc >> 24), png[30] = (uint8_t)(crc >> 16), png[31] = (uint8_t)(crc >> 8), png[32] = (uint8_t)crc;
    fx_bytes(fx_path(dir, "cls/zero.png"), png, sizeof png);
    for (int cached = 0; cached < 2; cached++) {
        cgan_data_opts o;
        cgan_data_opts_default(&o);
        o.cache_decoded = cached;
        cgan_dataset *ds = NULL;
        TU_OK(ctx, cgan_dataset_open(ctx, dir, &o, &ds));
        ck_assert_int_eq(ds->n, 1);
        ck_assert_int_eq(ds->skipped, 1);
        /* our header probe says "no pixels"; libpng's own decoder "Invalid IHDR data" */
        const char *why = ds->skipped_examples[0];
        ck_assert_msg(strstr(why, "zero.png") && (strstr(why, "no pixels") || strstr(why, "IHDR")) &&
                          !strstr(why, "too large"),
                      "%s", why);
        cgan_dataset_destroy(ds);
    }
    free(px);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A 282-byte progressive JPEG whose header claims 17490 x 18760 (found by
 * tests/fuzz/fuzz_image, kept in tests/data/fuzz/image/): libjpeg would hold the full-size
 * coefficients (2 GB) even to decode at 1/8 scale. Refused from its header as too large,
 * for a small target and at full size, by the decoder and the header probe alike. */
START_TEST(test_jpeg_huge_progressive)
{
    static const uint8_t jpg[] = {
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
        0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x10, 0x0b, 0x0c, 0x0e, 0x0c, 0x0a, 0x10,
        0x0e, 0x0d, 0x0e, 0x12, 0x11, 0x10, 0x13, 0x18, 0x28, 0x1a, 0x18, 0x16, 0x16, 0x18, 0x31, 0x23,
        0x25, 0x1d, 0x28, 0x3a, 0x33, 0x3d, 0x3c, 0x39, 0x33, 0x38, 0x37, 0x40, 0x48, 0x5c, 0x4e, 0x40,
        0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6d, 0x51, 0x57, 0x5f, 0x62, 0x67, 0x68, 0x67, 0x3e, 0x4d,
        0x71, 0x79, 0x70, 0x64, 0x78, 0x5c, 0x65, 0x67, 0x63, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x11, 0x12,
        0x12, 0x18, 0x15, 0x18, 0x2f, 0x1a, 0x1a, 0x2f, 0x63, 0x42, 0x36, 0x42, 0x63, 0x63, 0x63, 0x63,
        0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
        0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
        0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0xff, 0xc2,
        0x00, 0x11, 0x08, 0x49, 0x48, 0x44, 0x52, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
        0x01, 0xff, 0xc4, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xc4, 0x00, 0x14, 0x01, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xda, 0x00,
        0x0c, 0x03, 0x01, 0x00, 0x02, 0x10, 0x03, 0x10, 0x00, 0x00, 0x01, 0x0f, 0x02, 0xaf, 0xff, 0xc4,
        0x00, 0x16, 0x11, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x32, 0xff, 0xda, 0x00, 0x08, 0x01, 0x03, 0x01, 0x01, 0x3f, 0x01,
        0xa6, 0x3f, 0x2e, 0x94, 0xae, 0x22, 0x34, 0x73, 0xff, 0xd9
    };
    cgan_ctx *ctx = cgan_ctx_new();
    for (int target = 0; target <= 32; target += 32) {
        cgan_image im = {0};
        ck_assert_int_eq(cgan_image_decode(ctx, jpg, sizeof jpg, target, &im), CGAN_E_FORMAT);
        ck_assert_msg(strstr(cgan_last_error(ctx), "17490 x 18760 is too large"), "%s",
                      cgan_last_error(ctx));
        ck_assert_ptr_null(im.px);
    }
    int ch = 0;
    ck_assert_int_eq(cgan_image_probe(ctx, NULL, jpg, sizeof jpg, 32, &ch), CGAN_E_FORMAT);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- IDX ------------------------------------------------------------------ */

/* n random 28x28 images with labels i % 10, as the train pair in dir. */
static uint8_t *write_idx_pair(const char *dir, const char *prefix, int n, int gz)
{
    uint8_t *px = malloc((size_t)n * 784), lab[256];
    cgan_rng r;
    cgan_rng_init(&r, 5, 1);
    for (int i = 0; i < n * 784; i++) px[i] = (uint8_t)cgan_rng_u32(&r);
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)(i % 10);
    char name[64];
    uint32_t d3[3] = { (uint32_t)n, 28, 28 }, d1[1] = { (uint32_t)n };
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", prefix, gz ? ".gz" : "");
    fx_idx(fx_path(dir, name), gz, 0x803, d3, 3, px, (size_t)n * 784);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", prefix, gz ? ".gz" : "");
    fx_idx(fx_path(dir, name), gz, 0x801, d1, 1, lab, (size_t)n);
    return px;
}

START_TEST(test_idx)
{
    cgan_ctx *ctx = cgan_ctx_new();
    for (int gz = 0; gz < 2; gz++) {
        char *dir = tu_tempdir("idx");
        uint8_t *src = write_idx_pair(dir, "train", 7, gz);
        cgan_dataset *ds = open_ok(ctx, dir, NULL);
        ck_assert_str_eq(ds->format, "idx");
        ck_assert_int_eq(ds->n, 7);
        ck_assert_int_eq(ds->channels, 1);
        ck_assert_int_eq(ds->size, 32);
        ck_assert_int_eq(ds->num_classes, 10);
        ck_assert_str_eq(ds->class_names[3], "3");
        for (int i = 0; i < 7; i++) {
            const uint8_t *im = cgan_dataset_image(ds, i);
            ck_assert_int_eq(ds->labels[i], i % 10);
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    int inside = y >= 2 && y < 30 && x >= 2 && x < 30;
                    int want = inside ? src[i * 784 + (y - 2) * 28 + x - 2] : 0;
                    ck_assert_int_eq(im[y * 32 + x], want);
                }
        }
        cgan_dataset_destroy(ds);
        /* options: a subset, 3 channels, size 28 (a copy) and 14 (area) */
        cgan_data_opts o;
        cgan_data_opts_default(&o);
        o.max_images = 3;
        o.channels = 3;
        o.size = 28;
        ds = open_ok(ctx, dir, &o);
        ck_assert_int_eq(ds->n, 3);
        ck_assert_int_eq(ds->channels, 3);
        ck_assert_int_eq(memcmp(cgan_dataset_image(ds, 2) + 2 * 784, src + 2 * 784, 784), 0);
        cgan_dataset_destroy(ds);
        o.size = 14;
        o.channels = 0;
        ds = open_ok(ctx, dir, &o);
        const uint8_t *s = src + 784;
        int want = (s[0] + s[1] + s[28] + s[29] + 2) / 4;
        ck_assert_int_le(abs(cgan_dataset_image(ds, 1)[0] - want), 1);
        cgan_dataset_destroy(ds);
        /* classes.txt beside, the test split */
        const char *names = "zero\r\none\n\ntwo\nthree\nfour\nfive\nsix\n";
        fx_bytes(fx_path(dir, "classes.txt"), names, strlen(names));
        free(write_idx_pair(dir, "t10k", 7, !gz));
        o = (cgan_data_opts){ .split = "test" };
        ds = open_ok(ctx, dir, &o);
        ck_assert_int_eq(ds->num_classes, 7);
        ck_assert_str_eq(ds->class_names[0], "zero");
        ck_assert_str_eq(ds->class_names[1], "one");
        ck_assert_str_eq(ds->class_names[2], "two");
        cgan_dataset_destroy(ds);
        fx_bytes(fx_path(dir, "classes.txt"), "a\nb\n", 4); /* labels go up to 6 */
        open_fails(ctx, dir, NULL, CGAN_E_FORMAT, "classes.txt");
        /* long lines (issue 15, defect 8): a 4,000-byte name is one class, not two; a
         * 5,000-byte one is refused naming the line */
        char *longnames = malloc(5200 + 64);
        memset(longnames, 'x', 4000);
        strcpy(longnames + 4000, "\nb\nc\nd\ne\nf\ng\n");
        fx_bytes(fx_path(dir, "classes.txt"), longnames, strlen(longnames));
        ds = open_ok(ctx, dir, &o);
        ck_assert_int_eq(ds->num_classes, 7);
        ck_assert_int_eq((int)strlen(ds->class_names[0]), 4000);
        ck_assert_str_eq(ds->class_names[1], "b");
        cgan_dataset_destroy(ds);
        memset(longnames, 'y', 5000);
        strcpy(longnames + 5000, "\nb\nc\nd\ne\nf\ng\n");
        fx_bytes(fx_path(dir, "classes.txt"), longnames, strlen(longnames));
        open_fails(ctx, dir, &o, CGAN_E_FORMAT, "line 1: a class name of 5000 bytes");
        free(longnames);
        free(src);
        tu_rmtree(dir);
        free(dir);
    }
    /* Fashion-MNIST names, detected by the folder name */
    char *dir = tu_tempdir("Fashion-idx");
    free(write_idx_pair(dir, "train", 10, 1));
    cgan_dataset *ds = open_ok(ctx, dir, NULL);
    ck_assert_int_eq(ds->num_classes, 10);
    ck_assert_str_eq(ds->class_names[0], "T-shirt/top");
    ck_assert_str_eq(ds->class_names[9], "Ankle boot");
    cgan_dataset_destroy(ds);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_idx_bad)
{
    cgan_ctx *ctx = cgan_ctx_new();
    uint8_t data[4 * 784] = { 0 }, lab[4] = { 0 };
    struct {
        uint32_t imagic, idims[3], lmagic, ldim;
        size_t ibytes, lbytes;
        cgan_status st;
        const char *needle;
    } cases[] = {
        { 0x804, { 4, 28, 28 }, 0x801, 4, 4 * 784, 4, CGAN_E_FORMAT, "magic" },
        { 0x803, { 4, 28, 28 }, 0x803, 4, 4 * 784, 4, CGAN_E_FORMAT, "magic" },
        { 0x803, { 4, 28, 28 }, 0x801, 3, 4 * 784, 3, CGAN_E_FORMAT, "3 labels" },
        { 0x803, { 0x80000000u, 28, 28 }, 0x801, 0x80000000u, 4 * 784, 4, CGAN_E_FORMAT, "2147483648" },
        { 0x803, { 0xFFFFFFFFu, 28, 28 }, 0x801, 0xFFFFFFFFu, 4 * 784, 4, CGAN_E_FORMAT, "claims" },
        { 0x803, { 1000000, 28, 28 }, 0x801, 1000000, 4 * 784, 4, CGAN_E_FORMAT, "truncated" },
        { 0x803, { 4, 28, 28 }, 0x801, 4, 3 * 784 + 5, 4, CGAN_E_FORMAT, "truncated" },
        { 0x803, { 4, 28, 28 }, 0x801, 4, 4 * 784, 2, CGAN_E_FORMAT, "truncated" },
        { 0x803, { 4, 100000, 100000 }, 0x801, 4, 4 * 784, 4, CGAN_E_FORMAT, "out of range" },
        { 0x803, { 4, 0, 28 }, 0x801, 4, 0, 4, CGAN_E_FORMAT, "out of range" },
        { 0x803, { 0, 28, 28 }, 0x801, 0, 0, 0, CGAN_E_FORMAT, "no image" },
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        for (int gz = 0; gz < 2; gz++) {
            char *dir = tu_tempdir("idxbad");
            const char *ip = fx_path(dir, gz ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte");
            fx_idx(ip, gz, cases[t].imagic, cases[t].idims, 3, data, cases[t].ibytes);
            fx_idx(fx_path(dir, gz ? "train-labels-idx1-ubyte.gz" : "train-labels-idx1-ubyte"), gz,
                   cases[t].lmagic, &cases[t].ldim, 1, lab, cases[t].lbytes);
            open_fails(ctx, dir, NULL, cases[t].st, cases[t].needle);
            ck_assert_msg(strstr(cgan_last_error(ctx), "train-") != NULL, "no file named: %s",
                          cgan_last_error(ctx));
            tu_rmtree(dir);
            free(dir);
        }
    }
    /* a header cut short, and a gzip stream cut short */
    char *dir = tu_tempdir("idxcut");
    fx_bytes(fx_path(dir, "train-images-idx3-ubyte"), "\0\0\x08\x03\0\0", 6);
    fx_idx(fx_path(dir, "train-labels-idx1-ubyte"), 0, 0x801, (uint32_t[]){ 4 }, 1, lab, 4);
    open_fails(ctx, dir, NULL, CGAN_E_FORMAT, "truncated");
    unlink(fx_path(dir, "train-images-idx3-ubyte"));
    const char *gp = fx_path(dir, "train-images-idx3-ubyte.gz");
    cgan_rng r;
    cgan_rng_init(&r, 1, 2);
    for (int i = 0; i < 4 * 784; i++) data[i] = (uint8_t)cgan_rng_u32(&r);
    fx_idx(gp, 1, 0x803, (uint32_t[]){ 4, 28, 28 }, 3, data, 4 * 784);
    struct stat sb;
    ck_assert_int_eq(stat(gp, &sb), 0);
    ck_assert_int_eq(truncate(gp, sb.st_size / 2), 0);
    open_fails(ctx, dir, NULL, CGAN_E_FORMAT, "train-images-idx3-ubyte.gz");
    /* every byte of data there, only the gzip trailer (CRC and length, 8 bytes) cut off
     * (issue 15, defect 10): reported, not taken as complete */
    fx_idx(gp, 1, 0x803, (uint32_t[]){ 4, 28, 28 }, 3, data, 4 * 784);
    ck_assert_int_eq(stat(gp, &sb), 0);
    ck_assert_int_eq(truncate(gp, sb.st_size - 8), 0);
    open_fails(ctx, dir, NULL, CGAN_E_FORMAT, "without its trailer");
    /* more data than the header counts */
    fx_idx(gp, 1, 0x803, (uint32_t[]){ 3, 28, 28 }, 3, data, 4 * 784);
    fx_idx(fx_path(dir, "train-labels-idx1-ubyte"), 0, 0x801, (uint32_t[]){ 3 }, 1, lab, 3);
    open_fails(ctx, dir, NULL, CGAN_E_FORMAT, "after the last record");
    /* and whole files open */
    fx_idx(gp, 1, 0x803, (uint32_t[]){ 4, 28, 28 }, 3, data, 4 * 784);
    fx_idx(fx_path(dir, "train-labels-idx1-ubyte"), 0, 0x801, (uint32_t[]){ 4 }, 1, lab, 4);
    cgan_dataset *whole = NULL;
    TU_OK(ctx, cgan_dataset_open(ctx, dir, NULL, &whole));
    ck_assert_int_eq(whole->n, 4);
    cgan_dataset_destroy(whole);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_fashion_mnist)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.max_images = 1000;
    cgan_dataset *ds = open_ok(ctx, NULL, &o);
    ck_assert_int_eq(ds->n, 1000);
    ck_assert_int_eq(ds->channels, 1);
    ck_assert_int_eq(ds->size, 32);
    ck_assert_int_eq(ds->num_classes, 10);
    const char *want[10] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };
    for (int i = 0; i < 10; i++) ck_assert_str_eq(ds->class_names[i], want[i]);
    int seen[10] = { 0 }, nonzero = 0;
    for (int i = 0; i < ds->n; i++) {
        ck_assert(ds->labels[i] >= 0 && ds->labels[i] < 10);
        seen[ds->labels[i]] = 1;
        const uint8_t *im = cgan_dataset_image(ds, i);
        for (int k = 0; k < 32; k++) {
            ck_assert_int_eq(im[k], 0);            /* padded rows and columns */
            ck_assert_int_eq(im[31 * 32 + k], 0);
            ck_assert_int_eq(im[k * 32 + 1], 0);
            ck_assert_int_eq(im[k * 32 + 30], 0);
        }
        nonzero += im[16 * 32 + 16] != 0;
    }
    for (int c = 0; c < 10; c++) ck_assert(seen[c]);
    ck_assert_int_gt(nonzero, 500);
    cgan_dataset_destroy(ds);
    o.split = "test";
    o.max_images = 50;
    ds = open_ok(ctx, FASHION_DIR, &o);
    ck_assert_int_eq(ds->n, 50);
    ck_assert_str_eq(ds->class_names[9], "Ankle boot");
    cgan_dataset_destroy(ds);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("resize");
    tcase_add_test(tc, test_jpeg_scale);
    tcase_add_test(tc, test_jpeg_huge_progressive);
    tcase_add_test(tc, test_resize_constant);
    tcase_add_test(tc, test_resize_split);
    tcase_add_test(tc, test_resize_gradient);
    suite_add_tcase(s, tc);
    tc = tcase_create("decode");
    tcase_add_test(tc, test_png_kinds);
    tcase_add_test(tc, test_jpeg_kinds);
    tcase_add_test(tc, test_decode_fuzz);
    suite_add_tcase(s, tc);
    tc = tcase_create("dataset");
    tcase_add_test(tc, test_folder);
    tcase_add_test(tc, test_folder_subset);
    tcase_add_test(tc, test_folder_errors);
    tcase_add_test(tc, test_png_zero_size);
    tcase_add_test(tc, test_jpeg_warning_skipped);
    tcase_add_test(tc, test_scan_not_files);
    tcase_add_test(tc, test_idx);
    tcase_add_test(tc, test_idx_bad);
    if (tu_require(access(FASHION_DIR, R_OK) == 0, 1, "Fashion-MNIST (apt-get install dataset-fashion-mnist)"))
        tcase_add_test(tc, test_fashion_mnist);
    else printf("SKIP test_fashion_mnist: %s is not present\n", FASHION_DIR);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, data_loader_tcase());
    return tu_run(s);
}
