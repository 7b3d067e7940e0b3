/* check_data's loader cases: order, flips, seek/resume, the thread. Uses a synthetic
 * dataset whose images carry their own id, so batches can be traced back. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "fixtures.h"

/* n images 1 x 4 x 4 whose first pixel is the image's id (< 256), label id % 10, and
 * whose left column is bright (to see flips). */
static cgan_dataset *id_dataset(int n)
{
    cgan_dataset *ds = NULL;
    ck_assert_int_eq(cgan_dataset_alloc(NULL, n, 1, 4, 10, &ds), CGAN_OK);
    for (int i = 0; i < n; i++) {
        uint8_t *im = cgan_dataset_image(ds, i);
        im[0] = (uint8_t)i;
        for (int y = 1; y < 4; y++) im[y * 4] = 255;
        ds->labels[i] = i % 10;
    }
    return ds;
}

/* Image id of sample b in a batch, and whether it is mirrored. */
static int sample_id(const float *img, int b, int *flipped)
{
    const float *s = img + b * 16;
    *flipped = s[4 + 3] > 0.5f;
    float v = *flipped ? s[3] : s[0];
    return (int)lroundf((v + 1.0f) * 127.5f);
}

/* ids of `batches` batches from a loader into ids (batch 16), epochs into ep. */
static void draw(cgan_loader *l, int batches, int *ids, int *ep, int *flips)
{
    float img[16 * 16], lab[16];
    for (int k = 0; k < batches; k++) {
        TU_OK(NULL, cgan_loader_next(l, img, lab, &ep[k]));
        for (int b = 0; b < 16; b++) {
            int f;
            ids[k * 16 + b] = sample_id(img, b, &f);
            ck_assert_int_eq((int)lab[b], ids[k * 16 + b] % 10);
            if (flips) flips[k * 16 + b] = f;
        }
    }
}

START_TEST(test_loader_order)
{
    cgan_dataset *ds = id_dataset(100);
    cgan_loader *a, *b, *c;
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 42, 0, &a), CGAN_OK);
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 42, 0, &b), CGAN_OK);
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 43, 0, &c), CGAN_OK);
    ck_assert_int_eq(cgan_loader_batches_per_epoch(a), 6);
    int ia[18 * 16], ib[18 * 16], ic[6 * 16], ea[18], eb[18], ec[6];
    draw(a, 18, ia, ea, NULL);
    draw(b, 18, ib, eb, NULL);
    draw(c, 6, ic, ec, NULL);
    ck_assert_int_eq(memcmp(ia, ib, sizeof ia), 0); /* same seed: same batches */
    ck_assert_int_ne(memcmp(ia, ic, sizeof ic), 0);  /* another seed: another order */
    ck_assert_int_ne(memcmp(ia, ia + 96, 96 * sizeof(int)), 0); /* epochs differ */
    for (int e = 0; e < 3; e++) {
        int seen[100] = { 0 };
        for (int k = 0; k < 6; k++) ck_assert_int_eq(ea[e * 6 + k], e);
        for (int i = 0; i < 96; i++) {
            int id = ia[e * 96 + i];
            ck_assert(id >= 0 && id < 100);
            ck_assert_msg(!seen[id]++, "image %d twice in epoch %d", id, e);
        }
    }
    int ep, idx;
    cgan_loader_tell(a, &ep, &idx);
    ck_assert_int_eq(ep, 3);
    ck_assert_int_eq(idx, 0);
    cgan_loader_destroy(a);
    cgan_loader_destroy(b);
    cgan_loader_destroy(c);
    /* pixel values in [-1, 1] */
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 100, 1, 0, &a), CGAN_OK);
    float img[100 * 16], lab[100];
    TU_OK(NULL, cgan_loader_next(a, img, lab, NULL));
    for (int i = 0; i < 100 * 16; i++) ck_assert(img[i] >= -1.0f && img[i] <= 1.0f);
    ck_assert_float_eq(img[4], 1.0f);
    cgan_loader_destroy(a);
    cgan_dataset_destroy(ds);
}
END_TEST

START_TEST(test_loader_flip)
{
    cgan_dataset *ds = id_dataset(64);
    cgan_loader *a, *b, *n;
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 7, CGAN_AUG_FLIP, &a), CGAN_OK);
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 7, CGAN_AUG_FLIP, &b), CGAN_OK);
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 7, 0, &n), CGAN_OK);
    int ia[32 * 16], ib[32 * 16], in[32 * 16], fa[32 * 16], fb[32 * 16], fn[32 * 16], e[32];
    draw(a, 32, ia, e, fa);
    draw(b, 32, ib, e, fb);
    draw(n, 32, in, e, fn);
    ck_assert_int_eq(memcmp(ia, in, sizeof ia), 0); /* flips do not change the order */
    ck_assert_int_eq(memcmp(fa, fb, sizeof fa), 0);
    int flipped = 0;
    for (int i = 0; i < 32 * 16; i++) {
        flipped += fa[i];
        ck_assert_int_eq(fn[i], 0);
    }
    ck_assert_msg(flipped > 200 && flipped < 312, "%d of 512 flipped", flipped);
    cgan_loader_destroy(a);
    cgan_loader_destroy(b);
    cgan_loader_destroy(n);
    cgan_dataset_destroy(ds);
}
END_TEST

START_TEST(test_loader_seek)
{
    cgan_dataset *ds = id_dataset(100);
    cgan_loader *a, *b;
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 5, CGAN_AUG_FLIP, &a), CGAN_OK);
    int ia[10 * 16], fa[10 * 16], ea[10], ep, idx;
    draw(a, 4, ia, ea, fa);
    cgan_loader_tell(a, &ep, &idx);
    ck_assert_int_eq(ep, 0);
    ck_assert_int_eq(idx, 64);
    draw(a, 6, ia + 64, ea + 4, fa + 64);
    /* a new loader resumed at (0, 64) continues identically, across the epoch change */
    ck_assert_int_eq(cgan_loader_create(NULL, ds, 16, 5, CGAN_AUG_FLIP, &b), CGAN_OK);
    float img[256], lab[16];
    TU_OK(NULL, cgan_loader_next(b, img, lab, NULL)); /* b is elsewhere first */
    TU_OK(NULL, cgan_loader_seek(b, ep, idx));
    int ib[6 * 16], fb[6 * 16], eb[6];
    draw(b, 6, ib, eb, fb);
    ck_assert_int_eq(memcmp(ib, ia + 64, sizeof ib), 0);
    ck_assert_int_eq(memcmp(fb, fa + 64, sizeof fb), 0);
    ck_assert_int_eq(memcmp(eb, ea + 4, sizeof eb), 0);
    ck_assert_int_eq(eb[2], 1);
    /* seeking back repeats; an index without a full batch left means the next epoch */
    TU_OK(NULL, cgan_loader_seek(a, 0, 0));
    draw(b, 1, ib, eb, NULL);
    draw(a, 1, ib, eb, NULL);
    ck_assert_int_eq(memcmp(ib, ia, 16 * sizeof(int)), 0);
    TU_OK(NULL, cgan_loader_seek(a, 2, 90));
    cgan_loader_tell(a, &ep, &idx);
    ck_assert_int_eq(ep, 3);
    ck_assert_int_eq(idx, 0);
    ck_assert_int_eq(cgan_loader_seek(a, -1, 0), CGAN_E_INVALID);
    cgan_loader_destroy(a);
    cgan_loader_destroy(b);
    cgan_dataset_destroy(ds);
}
END_TEST

START_TEST(test_loader_thread)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_dataset *ds = NULL;
    TU_OK(ctx, cgan_dataset_alloc(ctx, 500, 3, 32, 10, &ds));
    cgan_loader *l;
    ck_assert_int_eq(cgan_loader_create(ctx, ds, 0, 1, 0, &l), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_loader_create(ctx, ds, 501, 1, 0, &l), CGAN_E_INVALID);
    ck_assert(strstr(cgan_last_error(ctx), "501") != NULL);
    ck_assert_int_eq(cgan_loader_create(ctx, ds, 8, 1, 0x80, &l), CGAN_E_INVALID);
    /* the thread fills every slot without being asked, and stops there */
    TU_OK(ctx, cgan_loader_create(ctx, ds, 64, 1, CGAN_AUG_FLIP, &l));
    ck_assert_int_eq(cgan_loader_workers(l), 1); /* in memory */
    for (int i = 0; i < 5000 && cgan_loader_ready(l) < CGAN_LOADER_SLOTS; i++) usleep(1000);
    ck_assert_int_eq(cgan_loader_ready(l), CGAN_LOADER_SLOTS);
    float *img = malloc(64 * 3 * 32 * 32 * sizeof(float)), lab[64];
    int ep = 0;
    TU_OK(ctx, cgan_loader_next(l, img, lab, &ep));
    for (int i = 0; i < 5000 && cgan_loader_ready(l) < CGAN_LOADER_SLOTS; i++) usleep(1000);
    ck_assert_int_eq(cgan_loader_ready(l), CGAN_LOADER_SLOTS);
    usleep(20000);
    ck_assert_int_eq(cgan_loader_ready(l), CGAN_LOADER_SLOTS);
    for (int k = 0; k < 300; k++) TU_OK(ctx, cgan_loader_next(l, img, lab, &ep));
    ck_assert_int_eq(ep, 300 / 7); /* batch 300, 7 batches an epoch */
    TU_OK(ctx, cgan_loader_next(l, img, lab, &ep)); /* the thread is refilling now */
    cgan_loader_destroy(l);
    TU_OK(ctx, cgan_loader_create(ctx, ds, 64, 1, 0, &l));
    cgan_loader_destroy(l); /* at once, while the first batch is being filled */
    TU_OK(ctx, cgan_loader_create(ctx, ds, 64, 1, 0, &l));
    TU_OK(ctx, cgan_loader_seek(l, 4, 0));
    cgan_loader_destroy(l); /* right after a seek */
    cgan_loader_destroy(NULL);
    free(img);
    cgan_dataset_destroy(ds);
    cgan_ctx_destroy(ctx);
}
END_TEST

TCase *data_loader_tcase(void)
{
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, test_loader_order);
    tcase_add_test(tc, test_loader_flip);
    tcase_add_test(tc, test_loader_seek);
    tcase_add_test(tc, test_loader_thread);
    return tc;
}
