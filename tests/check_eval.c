/* Evaluation (cgan/eval.h): FID (against identical sets, a known shift, and NumPy/SciPy),
 * KID's unbiasedness, precision and recall, the feature network's cache key and its
 * accuracy on a reduced budget, `cgan-cl eval` (JSON, chart, corrupt checkpoints) and
 * `cgan-cl train --eval-every` (same losses as without, the best checkpoint). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "cgan/eval.h"
#include "eval/eval_impl.h"
#include "data/dataset.h"

#define FASHION CGAN_DATA_DEFAULT_PATH
#ifndef CGAN_TEST_DATA
#define CGAN_TEST_DATA "tests/data"
#endif
#define LEGACY CGAN_TEST_DATA "/legacy-seed32-concat.safetensors"

static const char *srcdir(void)
{
    const char *s = getenv("CGAN_TOP_SRCDIR");
    return s && *s ? s : ".";
}

/* n x d normal features with the given mean (all coordinates) and a random linear mix, so
 * the covariance is not diagonal. */
static float *features(uint64_t seed, int n, int d, float mean, float scale)
{
    cgan_rng r;
    cgan_rng_init(&r, seed, 7);
    float *x = malloc((size_t)n * d * sizeof *x), *z = malloc((size_t)d * sizeof *z);
    float *mix = malloc((size_t)d * d * sizeof *mix);
    cgan_rng mr;
    cgan_rng_init(&mr, 99, 3);   /* the same mix for every seed */
    for (int i = 0; i < d * d; i++) mix[i] = cgan_rng_normal(&mr) * 0.3f + (i % (d + 1) == 0 ? 1.f : 0.f);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) z[j] = cgan_rng_normal(&r);
        for (int j = 0; j < d; j++) {
            double v = 0;
            for (int k = 0; k < d; k++) v += mix[j * d + k] * z[k];
            x[(size_t)i * d + j] = mean + scale * (float)v;
        }
    }
    free(z);
    free(mix);
    return x;
}

START_TEST(test_fid_identical_and_shift)
{
    cgan_ctx *ctx = cgan_ctx_new();
    const int n = 400, d = 24;
    float *a = features(1, n, d, 0.f, 1.f);
    double fid;
    TU_OK(ctx, cgan_fid(ctx, a, n, a, n, d, &fid));
    ck_assert_msg(fabs(fid) < 1e-8, "FID of a set with itself: %g", fid);
    /* a shift of every coordinate by s: the covariances match, FID = d s^2 */
    float *b = malloc((size_t)n * d * sizeof *b);
    for (int i = 0; i < n * d; i++) b[i] = a[i] + 0.5f;
    TU_OK(ctx, cgan_fid(ctx, a, n, b, n, d, &fid));
    ck_assert_msg(fabs(fid - d * 0.25) < 1e-6 * d, "FID of a shift: %.10g, expected %g", fid, d * 0.25);
    /* errors: too few rows */
    ck_assert_int_eq(cgan_fid(ctx, a, 1, b, n, d, &fid), CGAN_E_INVALID);
    free(a);
    free(b);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The Python with NumPy and SciPy: Debian's (python3-scipy) first, then the one on PATH. */
static const char *python;

static int have_scipy(void)
{
    static const char *const cands[] = { "/usr/bin/python3", "python3" };
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy, scipy.linalg' > /dev/null 2>&1", cands[i]);
        if (system(cmd) == 0) return python = cands[i], 1;
    }
    return 0;
}

static void write_f32(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(x, sizeof *x, n, f), n);
    fclose(f);
}

START_TEST(test_fid_scipy)
{
    cgan_ctx *ctx = cgan_ctx_new();
    const int na = 600, nb = 500, d = 32;
    float *a = features(2, na, d, 0.f, 1.f), *b = features(3, nb, d, 0.3f, 1.4f);
    char *dir = tu_tempdir("fidref");
    const char *pa = tu_pathf("%s/a.f32", dir), *pb = tu_pathf("%s/b.f32", dir);
    write_f32(pa, a, (size_t)na * d);
    write_f32(pb, b, (size_t)nb * d);
    char cmd[3000], out[128] = "";
    snprintf(cmd, sizeof cmd, "%s %s/tests/fid_ref.py %s %s %d", python, srcdir(), pa, pb, d);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(out, sizeof out, p));
    ck_assert_int_eq(pclose(p), 0);
    double ref = strtod(out, NULL), fid;
    TU_OK(ctx, cgan_fid(ctx, a, na, b, nb, d, &fid));
    printf("FID %.12g, NumPy/SciPy %.12g (relative difference %.2g)\n", fid, ref, fabs(fid - ref) / fabs(ref));
    ck_assert_msg(fabs(fid - ref) <= 1e-6 * fabs(ref), "FID %.12g, SciPy %.12g", fid, ref);
    tu_rmtree(dir);
    free(a);
    free(b);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* KID of two halves of one shuffled pool, over many shuffles: its mean is 0 within its
 * standard error (a biased estimator, such as the V-statistic, sits well above), and a
 * shifted set scores far above it. */
START_TEST(test_kid_unbiased)
{
    cgan_ctx *ctx = cgan_ctx_new();
    const int pool = 400, d = 8, draws = 200, half = pool / 2;
    float *x = features(4, pool, d, 0.f, 1.f);
    float *a = malloc((size_t)half * d * sizeof *a), *b = malloc((size_t)half * d * sizeof *b);
    int *perm = malloc(pool * sizeof *perm);
    cgan_rng r;
    cgan_rng_init(&r, 5, 1);
    double sum = 0, sum2 = 0;
    for (int t = 0; t < draws; t++) {
        for (int i = 0; i < pool; i++) perm[i] = i;
        for (int i = pool - 1; i > 0; i--) {
            int j = (int)cgan_rng_below(&r, (uint32_t)(i + 1)), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        for (int i = 0; i < half; i++) {
            memcpy(a + (size_t)i * d, x + (size_t)perm[i] * d, d * sizeof *a);
            memcpy(b + (size_t)i * d, x + (size_t)perm[half + i] * d, d * sizeof *b);
        }
        double m, s;
        TU_OK(ctx, cgan_kid(ctx, a, half, b, half, d, 1, half, (uint64_t)t, &m, &s));
        sum += m;
        sum2 += m * m;
    }
    double mean = sum / draws, sd = sqrt((sum2 / draws - mean * mean) * draws / (draws - 1));
    double se = sd / sqrt(draws);
    printf("KID of shuffled halves: mean %.3g over %d draws, standard error %.3g\n", mean, draws, se);
    ck_assert_msg(fabs(mean) < 3 * se, "KID mean %.4g is not 0 within 3 standard errors (%.4g)", mean, se);
    /* a shifted distribution */
    float *c = features(6, half, d, 0.5f, 1.f);
    double m, s;
    TU_OK(ctx, cgan_kid(ctx, a, half, c, half, d, 20, 100, 1, &m, &s));
    printf("KID of a shift: %.4g +- %.2g\n", m, s);
    ck_assert_msg(m > 10 * se && m > 3 * s, "KID of a shifted set %.4g +- %.3g", m, s);
    free(x); free(a); free(b); free(c); free(perm);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_precision_recall)
{
    cgan_ctx *ctx = cgan_ctx_new();
    const int n = 3000, d = 4;
    float *real = features(7, n, d, 0.f, 1.f), *other = features(8, n, d, 0.f, 1.f);
    float *shift = features(9, n, d, 1.5f, 1.f), *narrow = features(10, n, d, 0.f, 0.3f);
    double p, r;
    TU_OK(ctx, cgan_precision_recall(ctx, real, n, other, n, d, 3, &p, &r));
    printf("real vs real (n = %d): precision %.4f, recall %.4f\n", n, p, r);
    ck_assert_msg(p > 0.95 && r > 0.95, "real vs real: precision %.4f, recall %.4f", p, r);
    double ps, rs;
    TU_OK(ctx, cgan_precision_recall(ctx, real, n, shift, n, d, 3, &ps, &rs));
    printf("shifted: precision %.4f, recall %.4f\n", ps, rs);
    ck_assert_msg(ps < p - 0.2 && rs < r - 0.2, "shifted: precision %.4f, recall %.4f", ps, rs);
    /* a collapsed generator: precise, but it covers little of the real manifold */
    TU_OK(ctx, cgan_precision_recall(ctx, real, n, narrow, n, d, 3, &ps, &rs));
    printf("narrow: precision %.4f, recall %.4f\n", ps, rs);
    ck_assert_msg(ps > 0.95 && rs < 0.6, "narrow: precision %.4f, recall %.4f", ps, rs);
    ck_assert_int_eq(cgan_precision_recall(ctx, real, 3, other, n, d, 3, &p, &r), CGAN_E_INVALID);
    free(real); free(other); free(shift); free(narrow);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A synthetic labelled set: class c is a bright square at a place of its own, with noise. */
static cgan_dataset *synthetic(cgan_ctx *ctx, int n, uint64_t seed)
{
    cgan_dataset *ds;
    TU_OK(ctx, cgan_dataset_alloc(ctx, n, 1, 16, 4, &ds));
    cgan_rng r;
    cgan_rng_init(&r, seed, 2);
    for (int i = 0; i < n; i++) {
        int c = i % 4;
        ds->labels[i] = c;
        uint8_t *px = ds->pixels + (size_t)i * 256;
        for (int j = 0; j < 256; j++) px[j] = (uint8_t)cgan_rng_below(&r, 60);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) px[(2 + (c / 2) * 7 + y) * 16 + 2 + (c % 2) * 7 + x] = 220;
    }
    return ds;
}

/* The cache: the same data hits it without training; other data (one pixel) has another
 * key and trains. */
START_TEST(test_cache_key)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_dataset *a = synthetic(ctx, 200, 1), *b = synthetic(ctx, 200, 1);
    cgan_featnet_opts o;
    cgan_featnet_opts_default(&o);
    o.epochs = 6;
    o.batch = 20;
    uint64_t ka, kb;
    TU_OK(ctx, cgan_featnet_key(ctx, a, &o, &ka));
    TU_OK(ctx, cgan_featnet_key(ctx, b, &o, &kb));
    ck_assert(ka == kb);
    b->pixels[1234] ^= 1;   /* one pixel */
    TU_OK(ctx, cgan_featnet_key(ctx, b, &o, &kb));
    ck_assert(ka != kb);
    b->pixels[1234] ^= 1;
    b->labels[5] = (b->labels[5] + 1) % 4;   /* one label */
    TU_OK(ctx, cgan_featnet_key(ctx, b, &o, &kb));
    ck_assert(ka != kb);
    cgan_featnet_opts o2 = o;
    o2.epochs = 7;   /* other training settings */
    uint64_t k2;
    TU_OK(ctx, cgan_featnet_key(ctx, a, &o2, &k2));
    ck_assert(ka != k2);

    char path[1200], pathb[1200];
    TU_OK(ctx, cgan_featnet_cache_path(ctx, ka, path, sizeof path));
    TU_OK(ctx, cgan_featnet_cache_path(ctx, kb, pathb, sizeof pathb));
    ck_assert_msg(path[0], "the kernel cache (and so the feature network cache) is disabled");
    unlink(path);   /* left by an earlier run of this test */
    unlink(pathb);
    cgan_featnet *f;
    int trained = -1;
    TU_OK(ctx, cgan_featnet_obtain(ctx, a, a, NULL, &o, NULL, NULL, &trained, &f));
    ck_assert_int_eq(trained, 1);
    double acc = cgan_featnet_test_accuracy(f);
    printf("synthetic classifier: accuracy %.3f\n", acc);
    ck_assert_msg(acc > 0.9, "accuracy %.3f on an easy synthetic set", acc);
    ck_assert_msg(access(path, R_OK) == 0, "no cache file %s", path);
    /* features of a loaded network equal those of the trained one */
    float *x = malloc(7 * 256 * sizeof *x), *f1 = malloc(7 * 128 * sizeof *f1), *f2 = malloc(7 * 128 * sizeof *f2);
    TU_OK(ctx, cgan_eval_read_images(ctx, a, NULL, 7, x));
    TU_OK(ctx, cgan_featnet_run(f, x, 7, f1, NULL));
    /* the features are the penultimate layer after its ReLU, read before anything else
     * could reuse its memory: none is negative, and some are positive */
    int pos = 0;
    for (int i = 0; i < 7 * 128; i++) {
        ck_assert_msg(f1[i] >= 0, "feature %d is %g: not the penultimate layer's output", i, f1[i]);
        pos += f1[i] > 0;
    }
    ck_assert_int_gt(pos, 7 * 128 / 10);
    cgan_featnet_destroy(f);
    TU_OK(ctx, cgan_featnet_obtain(ctx, a, a, NULL, &o, NULL, NULL, &trained, &f));
    ck_assert_int_eq(trained, 0);   /* a hit */
    ck_assert(fabs(cgan_featnet_test_accuracy(f) - acc) < 1e-6);
    TU_OK(ctx, cgan_featnet_run(f, x, 7, f2, NULL));
    ck_assert_int_eq(cgan_featnet_dim(f), 128);
    ck_assert_mem_eq(f1, f2, 7 * 128 * sizeof *f1);
    cgan_featnet_destroy(f);
    TU_OK(ctx, cgan_featnet_obtain(ctx, b, b, NULL, &o, NULL, NULL, &trained, &f));
    ck_assert_int_eq(trained, 1);   /* other data: trained anew */
    cgan_featnet_destroy(f);
    /* a damaged cache file is trained anew, not trusted */
    FILE *fp = fopen(path, "wb");
    fputs("garbage", fp);
    fclose(fp);
    TU_OK(ctx, cgan_featnet_obtain(ctx, a, a, NULL, &o, NULL, NULL, &trained, &f));
    ck_assert_int_eq(trained, 1);
    cgan_featnet_destroy(f);
    /* a file that is not a feature network, named in the error */
    ck_assert_int_eq(cgan_featnet_load(ctx, LEGACY, &f), CGAN_E_FORMAT);
    ck_assert_msg(strstr(cgan_last_error(ctx), "legacy-seed32-concat.safetensors") &&
                  strstr(cgan_last_error(ctx), "not a feature network"), "%s", cgan_last_error(ctx));
    free(x); free(f1); free(f2);
    unlink(path);
    unlink(pathb);
    cgan_dataset_destroy(a);
    cgan_dataset_destroy(b);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The first 2,000 Fashion-MNIST training images at 32x32: the small feature network's
 * training set, and the real images of the class-folder test. */
static cgan_dataset *fashion_2000(cgan_ctx *ctx)
{
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = 32;
    o.max_images = 2000;
    cgan_dataset *ds;
    TU_OK(ctx, cgan_dataset_open(ctx, FASHION, &o, &ds));
    return ds;
}

/* A small feature network of Fashion-MNIST for the command-line tests (2,000 images, one
 * epoch): enough to exercise every path, not to judge a model. */
static char *small_features(cgan_ctx *ctx)
{
    static char path[1200];
    if (path[0]) return path;
    char *dir = tu_tempdir("evalfeat");
    snprintf(path, sizeof path, "%s/features.safetensors", dir);
    cgan_dataset *train = fashion_2000(ctx);
    cgan_featnet_opts fo;
    cgan_featnet_opts_default(&fo);
    fo.epochs = 1;
    cgan_featnet *f;
    TU_OK(ctx, cgan_featnet_train(ctx, train, NULL, &fo, NULL, NULL, &f));
    TU_OK(ctx, cgan_featnet_save(f, path));
    cgan_featnet_destroy(f);
    cgan_dataset_destroy(train);
    return path;
}

static const char *cli(void)
{
    const char *c = getenv("CGAN_CLI");
    return c && *c ? c : "./cgan-cl";
}

START_TEST(test_cli_eval)
{
    cgan_ctx *ctx = tu_ctx();
    const char *feat = small_features(ctx);
    char *dir = tu_tempdir("evalcli");
    const char *plot = tu_pathf("%s/classes.png", dir);
    char *out, *err;
    const char *argv[] = { "cgan-cl", "eval", "--checkpoint", LEGACY, "--features", feat, "--n", "200", "--json",
                           "--plot", plot, NULL };
    int rc = tu_spawn("evalcli", cli(), argv, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0, "eval failed (%d): %s", rc, err);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    ck_assert_msg(o != NULL, "not JSON: %s (%s)", je.text, out);
    const char *keys[] = { "fid", "kid", "kid_std", "precision", "recall", "cond_acc" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(json_is_number(json_object_get(o, keys[i])), "no number '%s' in %s", keys[i], out);
    json_t *fl = json_object_get(o, "real_floor");
    ck_assert(json_is_object(fl) && json_integer_value(json_object_get(fl, "n")) == 200);
    double fid = json_number_value(json_object_get(o, "fid")), floor = json_number_value(json_object_get(fl, "fid"));
    ck_assert_msg(fid > floor && floor >= 0, "FID %g, floor %g", fid, floor);
    json_t *pc = json_object_get(o, "per_class");
    ck_assert(json_is_array(pc) && json_array_size(pc) == 10);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(pc, 9), "class")), "Ankle boot");
    int w, h;
    tu_png_size(plot, &w, &h);
    ck_assert(w > 0 && h > w / 2);
    json_decref(o);
    free(out);
    free(err);
    /* the text report prints the floor beside the figures */
    const char *argv2[] = { "cgan-cl", "eval", "-c", LEGACY, "--features", feat, "--n", "100", NULL };
    rc = tu_spawn("evalcli", cli(), argv2, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0 && strstr(out, "real floor (n = 100)") && strstr(out, "FID") && strstr(out, "Ankle boot"),
                  "rc %d: %s%s", rc, out, err);
    free(out);
    free(err);
    tu_rmtree(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

static double jnum(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

/* The mean of the per-class FIDs of an eval --json result. */
static double class_fid_mean(json_t *o)
{
    json_t *pc = json_object_get(o, "per_class");
    double sum = 0;
    for (size_t i = 0; i < json_array_size(pc); i++) sum += jnum(json_array_get(pc, i), "fid");
    return json_array_size(pc) ? sum / (double)json_array_size(pc) : NAN;
}

/* eval --images with the small feature network and --n 200: its JSON (freed by the caller). */
static json_t *eval_images_json(const char *images, const char *feat)
{
    TU_CLI_OK("eval", "--images", images, "--features", feat, "--n", "200", "--json");
    json_t *o = json_loads(tu_cli_out, 0, NULL);
    ck_assert_msg(o != NULL, "not JSON: %s", tu_cli_out);
    return o;
}

/* Real Fashion-MNIST training images as a class-folder set under dir: per_class PNGs of
 * each class, in folders named as `generate --out-dir` names them. */
static void write_real_folders(cgan_ctx *ctx, const char *dir, int per_class)
{
    cgan_dataset *ds = fashion_2000(ctx);
    const int K = cgan_dataset_num_classes(ds);
    int *have = calloc((size_t)K, sizeof *have);
    float x[32 * 32];
    for (int i = 0; i < cgan_dataset_count(ds); i++) {
        int c = cgan_dataset_label(ds, i);
        if (have[c] == per_class) continue;
        char name[256], path[1600];
        cgan_class_filename(cgan_dataset_class_names(ds)[c], name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/%04d.png", dir, name, have[c]++);
        TU_OK(ctx, cgan_eval_read_images(ctx, ds, &i, 1, x));
        unsigned char *png;
        size_t len;
        TU_OK(ctx, cgan_gen_grid_png(ctx, x, 1, 1, 32, 1, 0, &png, &len));
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f && fwrite(png, 1, len, f) == len && fclose(f) == 0, "%s", path);
        free(png);
    }
    for (int c = 0; c < K; c++) ck_assert_int_eq(have[c], per_class);
    free(have);
    cgan_dataset_destroy(ds);
}

/* eval --images: a labelled set scored as generated. Real training images score as the
 * real floor does, from the IDX set or from class folders (in alphabetical order, not label
 * order: matched by name); the same folders under each other's names score far worse; a
 * generator's `generate --out-dir` output scores as its checkpoint does; a class the data
 * lacks, and too few images of a class, are named errors. */
START_TEST(test_cli_images)
{
    cgan_ctx *ctx = tu_ctx();
    const char *feat = small_features(ctx);
    char *dir = tu_tempdir("evalimg");
    json_t *o = eval_images_json(FASHION, feat), *fl = json_object_get(o, "real_floor");
    double fid = jnum(o, "fid"), floor = jnum(fl, "fid"), acc = jnum(o, "cond_acc"), facc = jnum(fl, "cond_acc");
    printf("real training images as generated: FID %.4f (floor %.4f), accuracy %.3f (floor %.3f)\n", fid, floor,
           acc, facc);
    ck_assert_msg(fid < 2 * floor && fid > 0.5 * floor, "FID %g of real images against a floor of %g", fid, floor);
    ck_assert_msg(fabs(acc - facc) < 0.08, "accuracy %g on real images as generated, %g on the real set", acc, facc);
    const double idx_cfid = class_fid_mean(o);
    json_decref(o);

    /* the same kind of images as class folders of PNGs */
    char real[1200], tmp[1300];   /* tu_pathf's buffers are reused */
    snprintf(real, sizeof real, "%s/real", dir);
    snprintf(tmp, sizeof tmp, "%s/tmp", real);
    ck_assert_int_eq(mkdir(real, 0755), 0);
    write_real_folders(ctx, real, 20);
    /* without --n: half the real set (here the folder's 200 training images, no test
     * split), so that the floor's two sets are disjoint */
    TU_CLI_OK("eval", "--images", real, "--data", real, "--features", feat, "--json");
    o = json_loads(tu_cli_out, 0, NULL);
    ck_assert_msg(o && json_integer_value(json_object_get(o, "n")) == 100 &&
                  json_integer_value(json_object_get(json_object_get(o, "real_floor"), "n")) == 100, "%s", tu_cli_out);
    json_decref(o);
    o = eval_images_json(real, feat);
    fid = jnum(o, "fid");
    const double in_order = class_fid_mean(o);
    json_decref(o);
    /* each folder under the next one's name */
    char *const names[] = { "Ankle_boot", "Bag", "Coat", "Dress", "Pullover", "Sandal", "Shirt", "Sneaker",
                            "T-shirt_top", "Trouser" };
    for (int i = 0; i < 10; i++) {
        char from[1400], to[1400];
        snprintf(from, sizeof from, "%s/%s", real, names[i]);
        snprintf(to, sizeof to, "%s/%s", real, i ? names[i - 1] : "tmp");
        ck_assert_msg(rename(from, i ? to : tmp) == 0, "%s", from);
    }
    ck_assert_int_eq(rename(tmp, tu_pathf("%s/%s", real, names[9])), 0);
    o = eval_images_json(real, feat);
    const double mixed = class_fid_mean(o);
    json_decref(o);
    printf("real class folders: FID %.4f (floor %.4f); per-class FID %.4f (IDX %.4f), mixed up %.4f\n", fid, floor,
           in_order, idx_cfid, mixed);
    ck_assert_msg(fid < 2 * floor, "FID %g of real images in folders against a floor of %g", fid, floor);
    ck_assert_msg(in_order < 1.5 * idx_cfid, "per-class FID %g from folders, %g from IDX", in_order, idx_cfid);
    ck_assert_msg(mixed > 3 * in_order, "per-class FID %g with the classes mixed up, %g in order", mixed, in_order);
    /* too few of a class: 20 of each, 300 need 30 */
    ck_assert_int_eq(tu_cli("eval", "--images", real, "--features", feat, "--n", "300", (const char *)NULL), 1);
    ck_assert_msg(strstr(tu_cli_err, real) && strstr(tu_cli_err, "20 image(s) of class") &&
                  strstr(tu_cli_err, "takes 30"), "%s", tu_cli_err);
    /* a class the data does not have */
    ck_assert_int_eq(rename(tu_pathf("%s/Bag", real), tu_pathf("%s/Zebra", real)), 0);
    ck_assert_int_eq(tu_cli("eval", "--images", real, "--features", feat, "--n", "200", (const char *)NULL), 1);
    ck_assert_msg(strstr(tu_cli_err, "class 'Zebra' is not a class of the data"), "%s", tu_cli_err);

    /* a generator's images, by class folder, score as its checkpoint does (other noise) */
    char gen[1200];
    snprintf(gen, sizeof gen, "%s/gen", dir);
    TU_CLI_OK("generate", "-c", LEGACY, "--out-dir", gen, "-n", "20");
    TU_CLI_OK("eval", "--checkpoint", LEGACY, "--features", feat, "--n", "200", "--json");
    o = json_loads(tu_cli_out, 0, NULL);
    const double ck_fid = jnum(o, "fid");
    json_decref(o);
    o = eval_images_json(gen, feat);
    printf("a generator: FID %.4f; its images %.4f\n", ck_fid, jnum(o, "fid"));
    ck_assert_msg(fabs(jnum(o, "fid") - ck_fid) < 0.2 * ck_fid, "FID %g, checkpoint %g", jnum(o, "fid"), ck_fid);
    json_decref(o);
    /* --images with generator options, and --size without --images or out of range */
    ck_assert_int_eq(tu_cli("eval", "--images", gen, "--raw", (const char *)NULL), 2);
    ck_assert_msg(strstr(tu_cli_err, "--images scores images"), "%s", tu_cli_err);
    ck_assert_int_eq(tu_cli("eval", "-c", LEGACY, "--size", "32", (const char *)NULL), 2);
    ck_assert_int_eq(tu_cli("eval", "--images", gen, "--size", "33", (const char *)NULL), 2);
    tu_rmtree(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* metrics.csv of a run: the header and the rows, each row's fields 2..9 (the losses, D's
 * outputs and accuracies: not the times) joined, for comparing runs. */
static char *losses_of(const char *csv, char **header)
{
    char *text = tu_read_text(csv), *save = NULL, *out = calloc(1, strlen(text) + 1);
    int first = 1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (first) {
            *header = strdup(line);
            first = 0;
            continue;
        }
        /* fields 2..9: from after the second comma to the tenth */
        char *p = line;
        for (int c = 0; c < 2 && p; c++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        char *e = p;
        for (int c = 0; c < 8 && e; c++) e = strchr(e, ',') ? strchr(e, ',') + 1 : NULL;
        ck_assert_msg(p && e, "short row: %s", line);
        strncat(out, p, (size_t)(e - p));
        strcat(out, "\n");
    }
    free(text);
    return out;
}

/* --eval-every: the same losses as without it, eval columns on the evaluated steps, the
 * curve, and a best checkpoint that generate reads. */
START_TEST(test_train_eval_every)
{
    cgan_ctx *ctx = tu_ctx();
    const char *feat = small_features(ctx);
    char *dir = tu_tempdir("evaltrain");
    const char *runs[2] = { tu_pathf("%s/plain", dir), tu_pathf("%s/eval", dir) };
    char *losses[2], *header[2];
    for (int i = 0; i < 2; i++) {
        const char *argv[] = { "cgan-cl", "train", "--max-images", "256", "--steps", "20", "--batch", "16", "--ngf",
                               "8", "--ndf", "8", "--log-every", "5", "--sample-every", "100", "--ckpt-every", "10",
                               "--out", runs[i], i ? "--eval-every" : NULL, "10", "--eval-n", "40",
                               "--eval-features", feat, NULL };
        char *out, *err;
        int rc = tu_spawn("evaltrain", cli(), argv, NULL, NULL, &out, &err);
        ck_assert_msg(rc == 0, "train %s failed (%d): %s%s", runs[i], rc, out, err);
        if (i) ck_assert_msg(strstr(out, "eval at step 10: FID") && strstr(out, "eval at step 20: FID"), "%s", out);
        free(out);
        free(err);
        losses[i] = losses_of(tu_pathf("%s/metrics.csv", runs[i]), &header[i]);
    }
    ck_assert_msg(strlen(losses[0]) > 20, "no rows: %s", losses[0]);
    ck_assert_msg(!strcmp(losses[0], losses[1]), "evaluation changed training:\n%s\nvs\n%s", losses[0], losses[1]);
    ck_assert_msg(!strstr(header[0], "fid"), "%s", header[0]);
    ck_assert_msg(strstr(header[1], ",fid,fid_floor,kid,kid_std,kid_floor,precision,recall,cond_acc,eval_n"), "%s",
                  header[1]);
    char *csv = tu_read_text(tu_pathf("%s/metrics.csv", runs[1]));
    ck_assert_msg(strstr(csv, "\n5,") && strstr(csv, ",,,,,,,,\n"), "rows without evaluation have empty fields: %s", csv);
    ck_assert_msg(strstr(csv, ",40\n"), "rows with evaluation end in eval_n: %s", csv);
    free(csv);
    int w, h;
    tu_png_size(tu_pathf("%s/eval.png", runs[1]), &w, &h);
    const char *best = tu_pathf("%s/best.safetensors", runs[1]);
    ck_assert_msg(access(best, R_OK) == 0, "no %s", best);
    ck_assert_msg(access(tu_pathf("%s/best.safetensors", runs[0]), F_OK) != 0, "best without --eval-every");
    const char *png = tu_pathf("%s/best.png", dir);
    const char *argv[] = { "cgan-cl", "generate", "--checkpoint", best, "--out", png, NULL };
    char *out, *err;
    ck_assert_int_eq(tu_spawn("evaltrain", cli(), argv, NULL, NULL, &out, &err), 0);
    tu_png_size(png, &w, &h);
    free(out);
    free(err);
    /* a run folder: every checkpoint as a curve */
    char chart[1200];
    snprintf(chart, sizeof chart, "%s/classes.png", runs[1]);
    const char *argv2[] = { "cgan-cl", "eval", "--checkpoint", runs[1], "--features", feat, "--n", "40", "--plot", chart,
                            NULL };
    ck_assert_int_eq(tu_spawn("evaltrain", cli(), argv2, NULL, NULL, &out, &err), 0);
    /* --plot with a folder: the chart of its latest checkpoint, from the curve's scoring */
    ck_assert_msg(strstr(out, "wrote ") && strstr(out, "classes.png") && !strstr(out, "checkpoint: "), "%s", out);
    tu_png_size(chart, &w, &h);
    ck_assert_msg(w > 0 && h > 0, "%s: %d x %d", chart, w, h);
    char *ecsv = tu_read_text(tu_pathf("%s/eval.csv", runs[1]));
    ck_assert_msg(strstr(ecsv, "step,checkpoint,fid,") && strstr(ecsv, "\n10,checkpoints/step_000010.safetensors,") &&
                  strstr(ecsv, "\n20,checkpoints/step_000020.safetensors,"), "%s", ecsv);
    free(ecsv);
    free(out);
    free(err);
    for (int i = 0; i < 2; i++) {
        free(losses[i]);
        free(header[i]);
    }
    tu_rmtree(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A checkpoint that is truncated or garbage: a clear error naming it, exit 1, no crash. */
START_TEST(test_cli_corrupt)
{
    char *dir = tu_tempdir("evalbad");
    FILE *src = fopen(LEGACY, "rb");
    ck_assert_ptr_nonnull(src);
    fseek(src, 0, SEEK_END);
    long len = ftell(src);
    fseek(src, 0, SEEK_SET);
    char *buf = malloc((size_t)len);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, src), len);
    fclose(src);
    const char *trunc = tu_pathf("%s/truncated.safetensors", dir), *garbage = tu_pathf("%s/garbage.safetensors", dir);
    FILE *f = fopen(trunc, "wb");
    fwrite(buf, 1, (size_t)len / 2, f);
    fclose(f);
    f = fopen(garbage, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    free(buf);
    const char *files[] = { trunc, garbage, tu_pathf("%s/missing.safetensors", dir) };
    for (int i = 0; i < 3; i++) {
        char *out, *err;
        const char *argv[] = { "cgan-cl", "eval", "--checkpoint", files[i], NULL };
        int rc = tu_spawn("evalbad", cli(), argv, NULL, NULL, &out, &err);
        ck_assert_msg(rc == 1 && strstr(err, files[i]), "%s: rc %d, stderr %s", files[i], rc, err);
        free(out);
        free(err);
    }
    /* usage errors */
    char *out, *err;
    const char *argv[] = { "cgan-cl", "eval", "--checkpoint", LEGACY, "--n", "3", NULL };
    ck_assert_int_eq(tu_spawn("evalbad", cli(), argv, NULL, NULL, &out, &err), 2);
    ck_assert_msg(strstr(err, "--n"), "%s", err);
    free(out);
    free(err);
    const char *argv2[] = { "cgan-cl", "eval", "--checkpoint", LEGACY, "--training-stats", "--raw", NULL };
    ck_assert_int_eq(tu_spawn("evalbad", cli(), argv2, NULL, NULL, &out, &err), 2);
    ck_assert_msg(strstr(err, "--training-stats") && strstr(err, "--raw"), "%s", err);
    free(out);
    free(err);
    tu_rmtree(dir);
}
END_TEST

/* The feature network on Fashion-MNIST on a reduced budget (15,000 images, 1 epoch) keeps
 * a lower bound; the full run (60,000 images, 3 epochs) reaches over 90% (README). */
START_TEST(test_classifier_accuracy)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = 32;
    o.max_images = 15000;
    cgan_dataset *train, *test;
    TU_OK(ctx, cgan_dataset_open(ctx, FASHION, &o, &train));
    o.split = "test";
    o.max_images = 0;
    TU_OK(ctx, cgan_dataset_open(ctx, FASHION, &o, &test));
    cgan_featnet_opts fo;
    cgan_featnet_opts_default(&fo);
    fo.epochs = 1;
    cgan_featnet *f;
    TU_OK(ctx, cgan_featnet_train(ctx, train, test, &fo, NULL, NULL, &f));
    double acc = cgan_featnet_test_accuracy(f);
    printf("feature network, 15000 images x 1 epoch: test accuracy %.2f%% in %.1f s\n", 100 * acc,
           cgan_featnet_train_seconds(f));
    ck_assert_msg(acc >= 0.83, "test accuracy %.4f below the reduced budget's bound 0.83", acc);
    cgan_featnet_destroy(f);
    cgan_dataset_destroy(train);
    cgan_dataset_destroy(test);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("eval");
    TCase *m = tcase_create("metrics");
    tcase_add_test(m, test_fid_identical_and_shift);
    if (tu_require(have_scipy(), 1, "python3-scipy (apt-get install python3-scipy)")) tcase_add_test(m, test_fid_scipy);
    tcase_add_test(m, test_kid_unbiased);
    tcase_add_test(m, test_precision_recall);
    suite_add_tcase(s, m);
    TCase *f = tcase_create("featnet");
    tcase_set_timeout(f, 900);
    tcase_add_test(f, test_cache_key);
    tcase_add_test(f, test_cli_corrupt);
    suite_add_tcase(s, f);
    if (tu_require(access(FASHION, R_OK) == 0, 1, "Fashion-MNIST (apt-get install dataset-fashion-mnist)")) {
        TCase *c = tcase_create("cli");
        tcase_set_timeout(c, 900);
        tcase_add_test(c, test_cli_eval);
        tcase_add_test(c, test_cli_images);
        tcase_add_test(c, test_train_eval_every);
        suite_add_tcase(s, c);
        TCase *a = tcase_create("accuracy");
        tcase_set_timeout(a, 900);
        tcase_add_test(a, test_classifier_accuracy);
        suite_add_tcase(s, a);
    }
    return tu_run(s);
}
