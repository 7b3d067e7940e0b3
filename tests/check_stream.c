/* Streamed image folders (dataset.h, loader.h): the same batches as decoding everything up
 * front, over epochs with flips and after seeks, whatever the number of workers; a file
 * that breaks after the scan is replaced and counted; the queue stays within its slots;
 * peak memory does not grow with the folder (20,000 files against 2,000, in child
 * processes); and a training run reports what it streams and what failed. Fixtures are
 * written at test time; only the last case needs an OpenCL device. */
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/fixtures.h"
#include "gan/run.h"

static cgan_dataset *open_at(cgan_ctx *ctx, const char *dir, int size, int cached)
{
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = size;
    o.cache_decoded = cached;
    cgan_dataset *ds = NULL;
    TU_OK(ctx, cgan_dataset_open(ctx, dir, &o, &ds));
    ck_assert_int_eq(cgan_dataset_streamed(ds), !cached);
    return ds;
}

/* n varied images in 3 classes: JPEG colour and gray, PNG, of sizes around and above 32
 * (DCT scaling, area and bilinear resizing), each with its own texture. */
static void varied_folder(const char *dir, int n)
{
    static const int sizes[][2] = { { 40, 30 }, { 32, 32 }, { 90, 70 }, { 20, 50 }, { 130, 100 }, { 64, 48 } };
    for (int c = 0; c < 3; c++) {
        char cls[8];
        snprintf(cls, sizeof cls, "k%d", c);
        fx_mkdir(dir, cls);
    }
    cgan_rng r;
    cgan_rng_init(&r, 77, 3);
    for (int i = 0; i < n; i++) {
        int w = sizes[i % 6][0], h = sizes[i % 6][1], ch = i % 5 == 4 ? 1 : 3;
        uint8_t *px = malloc((size_t)w * h * ch);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w * ch; x++)
                px[(size_t)y * w * ch + x] = (uint8_t)(x * (i + 3) + y * 7 + (cgan_rng_u32(&r) & 31));
        char name[32];
        snprintf(name, sizeof name, "k%d/%03d.%s", i % 3, i, i % 7 == 6 ? "png" : "jpg");
        if (i % 7 == 6)
            fx_png(fx_path(dir, name), w, h, ch == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, 8, px, NULL, 0);
        else
            fx_jpeg(fx_path(dir, name), w, h, ch, px, 85);
        free(px);
    }
}

/* k batches from each of n loaders (in step) must be the same bytes. */
static void same_batches(cgan_loader **l, int n, int k, int batch, size_t isz)
{
    float *x0 = malloc((size_t)batch * isz * sizeof *x0), *x = malloc((size_t)batch * isz * sizeof *x);
    float y0[64], y[64];
    for (int i = 0; i < k; i++) {
        int e0 = -1, e = -2;
        TU_OK(NULL, cgan_loader_next(l[0], x0, y0, &e0));
        for (int j = 1; j < n; j++) {
            TU_OK(NULL, cgan_loader_next(l[j], x, y, &e));
            ck_assert_int_eq(e, e0);
            ck_assert_msg(memcmp(x, x0, (size_t)batch * isz * sizeof *x) == 0, "batch %d of loader %d differs", i, j);
            ck_assert_int_eq(memcmp(y, y0, (size_t)batch * sizeof *y), 0);
        }
    }
    free(x0);
    free(x);
}

START_TEST(test_stream_equals_cached)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("stream-eq");
    varied_folder(dir, 50);
    cgan_dataset *ds = open_at(ctx, dir, 32, 0), *dc = open_at(ctx, dir, 32, 1);
    ck_assert_int_eq(ds->n, 50);
    ck_assert_int_eq(dc->n, 50);
    ck_assert_int_eq(ds->channels, 3);
    ck_assert_int_eq(dc->channels, 3);
    ck_assert_int_eq(ds->skipped + dc->skipped, 0);
    uint8_t px[3 * 32 * 32];
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(ds->labels[i], dc->labels[i]);
        TU_OK(ctx, cgan_dataset_read(ctx, ds, i, px));
        ck_assert_msg(memcmp(px, cgan_dataset_image(dc, i), sizeof px) == 0, "image %d: %s", i,
                      cgan_dataset_path(ds, i));
    }
    /* 3 epochs (6 batches each) with flips: cached, streamed on 1 and on 4 workers */
    enum { isz = 3 * 32 * 32 };
    cgan_loader *lc, *l1, *l4, *lr;
    TU_OK(ctx, cgan_loader_create(ctx, dc, 8, 3, CGAN_AUG_FLIP, &lc));
    TU_OK(ctx, cgan_loader_create_full(ctx, ds, 8, 3, CGAN_AUG_FLIP, NULL, 1, 1, &l1));
    TU_OK(ctx, cgan_loader_create_full(ctx, ds, 8, 3, CGAN_AUG_FLIP, NULL, 1, 4, &l4));
    ck_assert_int_eq(cgan_loader_workers(l1), 1);
    ck_assert_int_eq(cgan_loader_workers(l4), 4);
    ck_assert_int_eq(cgan_loader_workers(lc), 1);
    cgan_loader *all[3] = { lc, l1, l4 };
    same_batches(all, 3, 18, 8, isz);
    /* after a seek, backwards and across an epoch's end */
    TU_OK(ctx, cgan_loader_seek(lc, 1, 40));
    TU_OK(ctx, cgan_loader_seek(l4, 1, 40));
    all[1] = l4;
    same_batches(all, 2, 9, 8, isz);
    /* resume: a new streamed loader sought to tell's position continues like the others */
    int ep, idx;
    cgan_loader_tell(l4, &ep, &idx);
    ck_assert_int_eq(ep, 3);
    ck_assert_int_eq(idx, 8 * 8 - 48);
    TU_OK(ctx, cgan_loader_create(ctx, ds, 8, 3, CGAN_AUG_FLIP, &lr));
    TU_OK(ctx, cgan_loader_seek(lr, ep, idx));
    all[2] = lr;
    same_batches(all, 3, 7, 8, isz);
    ck_assert_int_eq(cgan_loader_skipped(l4, NULL), 0);
    cgan_loader_destroy(lc);
    cgan_loader_destroy(l1);
    cgan_loader_destroy(l4);
    cgan_loader_destroy(lr);
    /* condition rows (text training) stream the same way */
    float rows[50 * 3];
    for (int i = 0; i < 50 * 3; i++) rows[i] = (float)i;
    TU_OK(ctx, cgan_loader_create_rows(ctx, dc, 5, 9, 0, rows, 3, &lc));
    TU_OK(ctx, cgan_loader_create_rows(ctx, ds, 5, 9, 0, rows, 3, &l1));
    float xa[5 * isz], xb[5 * isz], ya[15], yb[15];
    for (int k = 0; k < 12; k++) {
        TU_OK(ctx, cgan_loader_next(lc, xa, ya, NULL));
        TU_OK(ctx, cgan_loader_next(l1, xb, yb, NULL));
        ck_assert_int_eq(memcmp(xa, xb, sizeof xa), 0);
        ck_assert_int_eq(memcmp(ya, yb, sizeof ya), 0);
        ck_assert_float_eq(ya[1], ya[0] + 1);
    }
    cgan_loader_destroy(lc);
    cgan_loader_destroy(l1);
    cgan_dataset_destroy(ds);
    cgan_dataset_destroy(dc);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* n flat gray JPEGs whose level gives their id (8 + 10 id), in 2 classes. */
static void id_folder(const char *dir, int n)
{
    fx_mkdir(dir, "a");
    fx_mkdir(dir, "b");
    uint8_t px[24 * 24];
    for (int i = 0; i < n; i++) {
        memset(px, 8 + 10 * i, sizeof px);
        char name[32];
        snprintf(name, sizeof name, "%s/%02d.jpg", i % 2 ? "b" : "a", i);
        fx_jpeg(fx_path(dir, name), 24, 24, 1, px, 95);
    }
}

static int id_of(const float *x)
{
    return (int)lroundf(((x[0] + 1.0f) * 127.5f - 8.0f) / 10.0f);
}

/* The ids of `batches` batches of 8 at size 16. */
static void draw_ids(cgan_loader *l, int batches, int *ids)
{
    float x[8 * 256], y[8];
    for (int k = 0; k < batches; k++) {
        TU_OK(NULL, cgan_loader_next(l, x, y, NULL));
        for (int b = 0; b < 8; b++) ids[k * 8 + b] = id_of(x + b * 256);
    }
}

START_TEST(test_stream_corrupt_after_scan)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("stream-bad");
    id_folder(dir, 24);
    cgan_dataset *ds = open_at(ctx, dir, 16, 0), *dc = open_at(ctx, dir, 16, 1);
    ck_assert_int_eq(ds->channels, 1);
    /* after the scan: one file cut short, one removed */
    int bad_a = -1, bad_b = -1;
    for (int i = 0; i < 24; i++) {
        const char *p = cgan_dataset_path(ds, i);
        if (strstr(p, "/05.jpg")) bad_a = i;
        if (strstr(p, "/06.jpg")) bad_b = i;
    }
    ck_assert(bad_a >= 0 && bad_b >= 0);
    struct stat sb;
    ck_assert_int_eq(stat(cgan_dataset_path(ds, bad_a), &sb), 0);
    ck_assert_int_eq(truncate(cgan_dataset_path(ds, bad_a), sb.st_size / 2), 0);
    ck_assert_int_eq(unlink(cgan_dataset_path(ds, bad_b)), 0);
    cgan_loader *ls, *lc;
    TU_OK(ctx, cgan_loader_create(ctx, ds, 8, 11, 0, &ls));
    TU_OK(ctx, cgan_loader_create(ctx, dc, 8, 11, 0, &lc));
    int s[9 * 8], c[9 * 8];
    draw_ids(ls, 9, s); /* 3 epochs of 3 batches: every image each epoch */
    draw_ids(lc, 9, c);
    for (int e = 0; e < 3; e++) {
        const int *se = s + e * 24, *ce = c + e * 24;
        for (int p = 0; p < 24; p++) {
            int k = 0; /* the next image of the permutation whose file still decodes */
            while (ce[(p + k) % 24] == 5 || ce[(p + k) % 24] == 6) k++;
            ck_assert_msg(se[p] == ce[(p + k) % 24], "epoch %d position %d: image %d, expected %d", e, p, se[p],
                          ce[(p + k) % 24]);
            ck_assert(se[p] != 5 && se[p] != 6);
        }
    }
    const char *example = NULL;
    ck_assert_int_eq(cgan_loader_skipped(ls, &example), 2);
    ck_assert_ptr_nonnull(example);
    ck_assert_msg(strstr(example, "/05.jpg: ") || strstr(example, "/06.jpg: cannot open"), "%s", example);
    ck_assert_int_eq(cgan_loader_skipped(lc, &example), 0);
    ck_assert_ptr_null(example);
    cgan_loader_destroy(ls);
    cgan_loader_destroy(lc);
    /* reading the broken image directly is an error naming it */
    uint8_t px[256];
    ck_assert_int_ne(cgan_dataset_read(ctx, ds, bad_b, px), CGAN_OK);
    ck_assert(strstr(cgan_last_error(ctx), "06.jpg") != NULL);
    /* nothing decodes any more: an error, every time, not a hang */
    for (int i = 0; i < 24; i++) unlink(cgan_dataset_path(ds, i));
    TU_OK(ctx, cgan_loader_create(ctx, ds, 8, 11, CGAN_AUG_FLIP, &ls));
    float x[8 * 256], y[8];
    ck_assert_int_eq(cgan_loader_next(ls, x, y, NULL), CGAN_E_FORMAT);
    ck_assert_msg(strstr(cgan_last_error(ctx), "none of the 24 images") != NULL, "%s", cgan_last_error(ctx));
    ck_assert_int_eq(cgan_loader_next(ls, x, y, NULL), CGAN_E_FORMAT);
    ck_assert_int_eq(cgan_loader_skipped(ls, NULL), 24);
    cgan_loader_destroy(ls);
    cgan_dataset_destroy(ds);
    cgan_dataset_destroy(dc);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A JPEG whose frame header lies past the first 64 KiB (two large APP15 segments): the
 * scan reads on; JPEGs cut inside their headers, listed before it, do not spoil the
 * headers read after them on the same decoder. */
START_TEST(test_stream_late_header)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("stream-late");
    fx_mkdir(dir, "c");
    uint8_t px[40 * 30 * 3];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 13 + i / 97);
    size_t len;
    uint8_t *jpg = fx_jpeg_mem(40, 30, 3, px, 90, &len);
    size_t seg = 65000, big_len = len + 2 * (seg + 2);
    uint8_t *big = malloc(big_len), *at = big;
    memcpy(at, jpg, 2); /* SOI */
    at += 2;
    for (int k = 0; k < 2; k++) {
        at[0] = 0xFF;
        at[1] = 0xEF; /* APP15 */
        at[2] = (uint8_t)(seg >> 8);
        at[3] = (uint8_t)(seg & 0xFF);
        memset(at + 4, 'x', seg - 2);
        at += seg + 2;
    }
    memcpy(at, jpg + 2, len - 2);
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "c/%02d%s.jpg", i, i % 2 ? "_cut" : "");
        if (i % 2) fx_bytes(fx_path(dir, name), jpg, 100); /* inside the tables */
        else if (i % 4 == 0) fx_bytes(fx_path(dir, name), big, big_len);
        else fx_bytes(fx_path(dir, name), jpg, len);
    }
    cgan_dataset *ds = open_at(ctx, dir, 24, 0), *dc = open_at(ctx, dir, 24, 1);
    ck_assert_int_eq(ds->n, 10);
    ck_assert_int_eq(ds->skipped, 10);
    ck_assert_int_eq(dc->n, 10);
    uint8_t out[3 * 24 * 24];
    for (int i = 0; i < 10; i++) {
        TU_OK(ctx, cgan_dataset_read(ctx, ds, i, out));
        ck_assert_int_eq(memcmp(out, cgan_dataset_image(dc, i), sizeof out), 0);
        ck_assert_int_eq(memcmp(out, cgan_dataset_image(dc, 0), sizeof out), 0); /* the same picture */
    }
    cgan_dataset_destroy(ds);
    cgan_dataset_destroy(dc);
    free(big);
    free(jpg);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_stream_bounded)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("stream-slots");
    id_folder(dir, 24);
    cgan_dataset *ds = open_at(ctx, dir, 16, 0);
    cgan_loader *l;
    TU_OK(ctx, cgan_loader_create_full(ctx, ds, 2, 5, CGAN_AUG_FLIP, NULL, 1, 4, &l));
    float x[2 * 256], y[2];
    int most = 0;
    for (int k = 0; k < 300; k++) {
        int r = cgan_loader_ready(l);
        ck_assert_int_le(r, CGAN_LOADER_SLOTS);
        if (r > most) most = r;
        if (k % 3 == 0) TU_OK(ctx, cgan_loader_next(l, x, y, NULL));
        else usleep(200);
    }
    /* left alone, the workers fill every slot and stop there */
    for (int i = 0; i < 5000 && cgan_loader_ready(l) < CGAN_LOADER_SLOTS; i++) usleep(1000);
    ck_assert_int_eq(cgan_loader_ready(l), CGAN_LOADER_SLOTS);
    usleep(50000);
    ck_assert_int_eq(cgan_loader_ready(l), CGAN_LOADER_SLOTS);
    cgan_loader_destroy(l);
    cgan_dataset_destroy(ds);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- peak memory against the folder's size ----------------------------------------- */

/* n small JPEGs (16 x 16, 16 contents) in 10 class folders. */
static void many_jpegs(const char *dir, int n)
{
    uint8_t *blobs[16];
    size_t lens[16];
    uint8_t px[16 * 16 * 3];
    for (int v = 0; v < 16; v++) {
        for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * (v + 1) + v * 13);
        blobs[v] = fx_jpeg_mem(16, 16, 3, px, 90, &lens[v]);
    }
    for (int c = 0; c < 10; c++) {
        char cls[8];
        snprintf(cls, sizeof cls, "c%d", c);
        fx_mkdir(dir, cls);
    }
    for (int i = 0; i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s/c%d/img_%06d.jpg", dir, i % 10, i);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, blobs[i % 16], lens[i % 16]), (ssize_t)lens[i % 16]);
        close(fd);
    }
    for (int v = 0; v < 16; v++) free(blobs[v]);
}

static long vm_hwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

/* In a child process: open dir at 64 x 64 (streamed or cached), take 30 batches of 64
 * with flips; its peak RSS in KiB (-1 on failure). */
static long loader_peak_kib(const char *dir, int cached)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        FILE *cr = fopen("/proc/self/clear_refs", "w"); /* "5": restart the peak from now */
        if (cr) {
            fputs("5", cr);
            fclose(cr);
        }
        long kib = -1;
        cgan_data_opts o;
        cgan_data_opts_default(&o);
        o.size = 64;
        o.cache_decoded = cached;
        cgan_dataset *ds = NULL;
        cgan_loader *l = NULL;
        float *x = malloc((size_t)64 * 3 * 64 * 64 * sizeof *x), y[64];
        int ok = x && cgan_dataset_open(NULL, dir, &o, &ds) == CGAN_OK &&
                 cgan_loader_create(NULL, ds, 64, 1, CGAN_AUG_FLIP, &l) == CGAN_OK;
        for (int k = 0; ok && k < 30; k++) ok = cgan_loader_next(l, x, y, NULL) == CGAN_OK;
        if (ok) kib = vm_hwm_kib();
        cgan_loader_destroy(l);
        cgan_dataset_destroy(ds);
        free(x);
        if (write(fds[1], &kib, sizeof kib) != (ssize_t)sizeof kib) _exit(2);
        _exit(0);
    }
    close(fds[1]);
    long kib = -1;
    ck_assert_int_eq(read(fds[0], &kib, sizeof kib), (ssize_t)sizeof kib);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_gt(kib, 0);
    return kib;
}

START_TEST(test_stream_rss)
{
    /* 20,000 images would be 20000 * 3 * 64 * 64 = 245 MB decoded; their paths ~1 MB */
    const long bound_kib = 32 * 1024;
    char *big = tu_tempdir("stream-20k"), *small = tu_tempdir("stream-2k");
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    many_jpegs(big, 20000);
    many_jpegs(small, 2000);
    long s_small = loader_peak_kib(small, 0), s_big = loader_peak_kib(big, 0);
    long c_small = loader_peak_kib(small, 1), c_big = loader_peak_kib(big, 1);
    printf("peak RSS at 64x64, 30 batches of 64: streamed 2,000 files %ld KiB, 20,000 files %ld KiB (+%ld); "
           "cache_decoded 2,000 %ld KiB, 20,000 %ld KiB (+%ld); bound +%ld KiB (%.1f s of CPU)\n",
           s_small, s_big, s_big - s_small, c_small, c_big, c_big - c_small, bound_kib,
           (double)clock() / CLOCKS_PER_SEC - t0);
#ifdef __SANITIZE_ADDRESS__
    /* ASan's quarantine and shadow memory make peak RSS say nothing about our buffers */
    printf("SKIP the RSS bound: built with AddressSanitizer\n");
    tu_rmtree(big);
    tu_rmtree(small);
    free(big);
    free(small);
    return;
#endif
    ck_assert_msg(s_big - s_small < bound_kib, "streaming grew by %ld KiB from 2,000 to 20,000 files",
                  s_big - s_small);
    ck_assert_msg(c_big - c_small > bound_kib, "the bound does not tell decoding everything apart (+%ld KiB)",
                  c_big - c_small);
    tu_rmtree(big);
    tu_rmtree(small);
    free(big);
    free(small);
}
END_TEST

/* cgan-bench loader: its figures, in text and JSON, and its usage errors (no device). */
START_TEST(test_bench_loader)
{
    const char *bench = getenv("CGAN_BENCH");
    ck_assert_msg(bench != NULL, "CGAN_BENCH is not set");
    char *dir = tu_tempdir("stream-bench");
    varied_folder(dir, 30);
    char *out = NULL, *err = NULL;
    const char *a1[] = { "cgan-bench", "loader", "--data", dir, "--size", "32", "--batch", "8", "--batches", "6",
                         "--workers", "2", NULL };
    int rc = tu_spawn("stream-bench", bench, a1, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
    ck_assert_msg(strstr(out, "30 images, 3x32x32, streamed from disk") && strstr(out, "2 worker threads") &&
                  strstr(out, "decoded: ") && strstr(out, "img/s (48 images") && strstr(out, "peak RSS: "), "%s", out);
    free(out);
    free(err);
    const char *a2[] = { "cgan-bench", "loader", "--data", dir, "--size", "32", "--batch", "8", "--batches", "6",
                         "--cache-decoded", "--json", NULL };
    rc = tu_spawn("stream-bench", bench, a2, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
    ck_assert_msg(strstr(out, "\"bench\":\"loader\"") && strstr(out, "\"streamed\":false") &&
                  strstr(out, "\"img_per_s\":") && strstr(out, "\"peak_rss_mib\":"), "%s", out);
    free(out);
    free(err);
    const char *a3[] = { "cgan-bench", "loader", "--size", "32", NULL };
    ck_assert_int_eq(tu_spawn("stream-bench", bench, a3, NULL, NULL, &out, &err), 2);
    ck_assert_msg(strstr(err, "--data DIR is required"), "%s", err);
    free(out);
    free(err);
    const char *a4[] = { "cgan-bench", "loader", "--data", dir, "--batch", "31", NULL };
    ck_assert_int_eq(tu_spawn("stream-bench", bench, a4, NULL, NULL, &out, &err), 1);
    ck_assert_msg(strstr(err, "--batch 31 is larger"), "%s", err);
    free(out);
    free(err);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- a training run ------------------------------------------------------------------- */

static cgan_run_opts tiny_run(const char *data, const char *out, int cached)
{
    cgan_run_opts o;
    cgan_run_defaults(&o);
    o.data = data;
    o.out = out;
    o.cache_decoded = cached;
    o.flip = 1;
    o.steps = 4;
    o.train.model.batch = 8;
    o.train.model.ngf = o.train.model.ndf = 8;
    o.train.model.nz = 16;
    o.log_every = 1;
    o.sample_every = o.ckpt_every = 4;
    return o;
}

static char *metrics_without_time(const char *dir)
{
    char *text = tu_read_text(tu_pathf("%s/metrics.csv", dir)), *out = calloc(1, strlen(text) + 1), *o = out;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL, *last = strrchr(line, ',');
        if (!c2 || last <= c2) continue; /* time (column 2) and img/s (the last) vary */
        o += sprintf(o, "%.*s%.*s\n", (int)(c1 - line), line, (int)(last - c2), c2);
    }
    free(text);
    return out;
}

START_TEST(test_stream_run)
{
    cgan_ctx *ctx = tu_ctx();
    char *data = tu_tempdir("stream-run"), *a = tu_tempdir("stream-run-a"), *b = tu_tempdir("stream-run-b");
    varied_folder(data, 24);
    int stopped;
    cgan_run_opts o = tiny_run(data, a, 0);
    TU_OK(ctx, cgan_run_train(ctx, &o, NULL, NULL, &stopped));
    o = tiny_run(data, b, 1);
    TU_OK(ctx, cgan_run_train(ctx, &o, NULL, NULL, &stopped));
    char *ma = metrics_without_time(a), *mb = metrics_without_time(b);
    ck_assert_int_gt(strlen(ma), 40);
    ck_assert_msg(strcmp(ma, mb) == 0, "streamed and cached runs differ:\n%s\nvs\n%s", ma, mb);
    free(ma);
    free(mb);
    /* a JPEG cut inside its data: listed when streaming and reported when it fails, skipped
     * at open with --cache-decoded; a text file: skipped at open either way */
    uint8_t busy[64 * 64 * 3];
    for (int i = 0; i < (int)sizeof busy; i++) busy[i] = (uint8_t)(i * 7 + i / 191);
    size_t len;
    uint8_t *jpg = fx_jpeg_mem(64, 64, 3, busy, 95, &len);
    fx_bytes(fx_path(data, "k0/zz_cut.jpg"), jpg, len * 3 / 4);
    free(jpg);
    fx_bytes(fx_path(data, "k1/zz_text.jpg"), "not an image", 12);
    const char *cli = getenv("CGAN_CLI");
    ck_assert_msg(cli != NULL, "CGAN_CLI is not set");
    for (int cached = 0; cached < 2; cached++) { /* batches of 5: 25 streamed images, all used */
        tu_rmtree(cached ? b : a); /* --out does not start over an existing run */
        const char *argv[] = { "cgan-cl", "train", "--data", data, "--out", cached ? b : a, "--steps", "5",
                               "--batch", "5", "--ngf", "8", "--ndf", "8", "--nz", "16", "--flip",
                               "--sample-every", "5", "--ckpt-every", "5", cached ? "--cache-decoded" : NULL, NULL };
        char *out = NULL, *err = NULL;
        int rc = tu_spawn("stream-cli", cli, argv, NULL, NULL, &out, &err);
        ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
        /* the end of a run says what it did and how to use it (issue 15, defects 20, 21):
         * streamed, 5 batches of 5 of 25 images are exactly the first epoch, counted from 1;
         * cached, 24 images make 4 batches an epoch, so step 5 is in the second */
        ck_assert_msg(strstr(out, cached ? "done: step 5 of 5, epoch 2," : "done: step 5 of 5, epoch 1,") &&
                          strstr(out, "checkpoint: ") && strstr(out, "generate:   cgan-cl generate --checkpoint "),
                      "%s", out);
        ck_assert_msg(!strstr(out, "epoch 0"), "%s", out);
        /* the config says what was used, tidily (defect 22): the data's path and channels,
         * floats in their shortest form */
        char *cfg = tu_read_text(tu_pathf("%s/config", cached ? b : a));
        ck_assert_msg(strstr(cfg, "\"channels\": 3") && strstr(cfg, data) && strstr(cfg, "\"beta2\": 0.999,") &&
                          strstr(cfg, "\"lr_g\": 0.0004,") && strstr(cfg, "\"beta1\": 0.0,") /* the defaults */ &&
                          !strstr(cfg, "0.9990000"),
                      "%s", cfg);
        free(cfg);
        ck_assert_msg(strstr(out, "skipped 1 file(s): 1 with bad or damaged image data") || cached, "%s", out);
        if (cached) {
            ck_assert_msg(strstr(out, "24 images") && strstr(out, "in memory") && strstr(out, "skipped 2 file(s): 2 with bad or damaged image data"),
                          "%s", out);
            ck_assert_msg(!strstr(out, "during training"), "%s", out);
        } else {
            ck_assert_msg(strstr(out, "25 images") && strstr(out, "decoded from disk while training"), "%s", out);
            ck_assert_msg(strstr(out, "zz_text.jpg: not a JPEG or PNG file"), "%s", out);
            ck_assert_msg(strstr(out, "loader: 1 file(s) could not be decoded during training") &&
                          strstr(out, "zz_cut.jpg: corrupt JPEG data"), "%s", out);
        }
        free(out);
        free(err);
    }
    tu_rmtree(data);
    tu_rmtree(a);
    tu_rmtree(b);
    free(data);
    free(a);
    free(b);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* In a child: an OpenCL implementation opened here would not survive Check's forks. */
static int have_device(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cgan_ctx *ctx = cgan_ctx_new();
        _exit(ctx && cgan_ctx_open(ctx, NULL) == CGAN_OK ? 0 : 1);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("stream");
    tcase_add_test(tc, test_stream_equals_cached);
    tcase_add_test(tc, test_stream_corrupt_after_scan);
    tcase_add_test(tc, test_stream_late_header);
    tcase_add_test(tc, test_stream_bounded);
    tcase_add_test(tc, test_stream_rss);
    tcase_add_test(tc, test_bench_loader);
    suite_add_tcase(s, tc);
    tc = tcase_create("run");
    tcase_set_timeout(tc, 900);
    if (tu_require(have_device(), 1, "an OpenCL device")) tcase_add_test(tc, test_stream_run);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
