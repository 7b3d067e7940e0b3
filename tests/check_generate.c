/* Generation: prompt matching, `cgan-cl generate` (determinism, grids, per-class folders,
 * interpolation strips, bad input) and `cgan-cl info` (good, damaged and too new
 * checkpoints). The checkpoints are made here by training a tiny model for two steps. */
#include <dirent.h>
#include <fcntl.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "core/exec.h"
#include "gan/checkpoint.h"
#include "gan/generate.h"
#include "gan/prompt.h"
#include "gan/trainer.h"

static char *const fmnist[10] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };

/* Made once by the unchecked fixture (the tests run in forked children). */
static char *work;                     /* temp folder */
static char cond_ckpt[1400], run_dir[1200], uncond_ckpt[1400];
static long long g_params, d_params;   /* of the conditional model, from its graphs */

#define pathf tu_pathf

static long long graph_params(cgan_graph *g)
{
    long long n = 0;
    for (int i = 0; i < cgan_graph_tensor_count(g); i++) {
        const cgan_gtensor *t = cgan_graph_tensor(g, i);
        if (t->kind == CGAN_TENSOR_PARAM) n += (long long)cgan_numel(t->shape);
    }
    return n;
}

/* Train a tiny model for two steps and save it. */
static void make_checkpoint(cgan_ctx *ctx, cgan_cond cond, float ema, const char *path, const cgan_ckpt_kv *extra,
                            int n_extra, int count_params)
{
    cgan_train_cfg c = cgan_train_defaults();
    c.model.batch = 4;
    c.model.ngf = c.model.ndf = 8;
    c.model.nz = 12;
    c.model.cond = cond;
    c.model.num_classes = cond == CGAN_COND_NONE ? 0 : 10;
    c.lr_g = c.lr_d = 0.01f; /* move the weights visibly in two steps */
    c.ema = ema;
    c.seed = 5;
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    float *x = malloc(4 * 32 * 32 * sizeof *x), y[4] = { 0, 3, 6, 9 };
    cgan_rng r;
    cgan_rng_init(&r, 11, 0);
    for (int s = 0; s < 2; s++) {
        cgan_rng_fill_uniform(&r, x, 4 * 32 * 32, -1, 1);
        TU_OK(ctx, cgan_trainer_step(t, x, cond == CGAN_COND_NONE ? NULL : y));
    }
    free(x);
    TU_OK(ctx, cgan_checkpoint_save(t, path, cond == CGAN_COND_NONE ? NULL : fmnist,
                                    cond == CGAN_COND_NONE ? 0 : 10, extra, n_extra));
    if (count_params) {
        g_params = graph_params(cgan_trainer_generator(t)->g);
        d_params = graph_params(cgan_trainer_discriminator(t)->g);
    }
    cgan_trainer_destroy(t);
}

static void setup(void)
{
    cgan_ctx *ctx = tu_ctx();
    work = tu_tempdir("generate");
    snprintf(run_dir, sizeof run_dir, "%s/run", work);
    ck_assert_int_eq(mkdir(run_dir, 0755), 0);
    ck_assert_int_eq(mkdir(pathf("%s/checkpoints", run_dir), 0755), 0);
    snprintf(cond_ckpt, sizeof cond_ckpt, "%s/checkpoints/step_000002.safetensors", run_dir);
    snprintf(uncond_ckpt, sizeof uncond_ckpt, "%s/uncond.safetensors", work);
    cgan_ckpt_kv extra[1] = { { "aliases", "{\"tee\": \"T-shirt/top\", \"boots\": \"Ankle boot\"}" } };
    make_checkpoint(ctx, CGAN_COND_CONCAT, 0.999f, cond_ckpt, extra, 1, 1);
    FILE *f = fopen(pathf("%s/latest", run_dir), "w");
    ck_assert_ptr_nonnull(f);
    fputs("checkpoints/step_000002.safetensors\n", f);
    fclose(f);
    make_checkpoint(ctx, CGAN_COND_NONE, 0.0f, uncond_ckpt, NULL, 0, 0);
    cgan_ctx_destroy(ctx);
}

static void teardown(void)
{
    tu_rmtree(work);
    free(work);
}

/* ---- running the CLI ----------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 1 >= cap) buf = realloc(buf, cap = cap ? cap * 2 : 4096);
        buf[n++] = (char)c;
    }
    fclose(f);
    if (!buf) buf = calloc(1, 1);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Largest difference of two PNGs' pixels (decoded to 8-bit RGBA, every channel); -1 when the sizes
 * differ. A different batch size may change a GEMM's summation order on some devices, so
 * images of other batch sizes are compared by value, not by bytes. */
static int png_maxdiff(const char *a, const char *b)
{
    png_image im[2];
    png_bytep px[2] = { NULL, NULL };
    const char *path[2] = { a, b };
    for (int k = 0; k < 2; k++) {
        memset(&im[k], 0, sizeof im[k]);
        im[k].version = PNG_IMAGE_VERSION;
        ck_assert_msg(png_image_begin_read_from_file(&im[k], path[k]), "%s: %s", path[k], im[k].message);
        im[k].format = PNG_FORMAT_RGBA;
        px[k] = malloc(PNG_IMAGE_SIZE(im[k]));
        ck_assert_msg(px[k] && png_image_finish_read(&im[k], NULL, px[k], 0, NULL), "%s: %s", path[k], im[k].message);
    }
    int d = -1;
    if (im[0].width == im[1].width && im[0].height == im[1].height) {
        d = 0;
        for (size_t i = 0; i < PNG_IMAGE_SIZE(im[0]); i++) {
            int e = abs((int)px[0][i] - (int)px[1][i]);
            if (e > d) d = e;
        }
    }
    free(px[0]);
    free(px[1]);
    return d;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- prompts ------------------------------------------------------------------------ */

START_TEST(test_prompt_match)
{
    cgan_ctx *ctx = cgan_ctx_new();
    struct { const char *prompt; int cls; } cases[] = {
        { "a pair of ankle boots", 9 }, { "two trousers", 1 }, { "sneakers", 7 }, { "dresses", 3 },
        { "Dress", 3 }, { "a t-shirt", 0 }, { "T-shirt/top", 0 }, { "a plain tshirt", 0 }, { "a top", 0 },
        { "a shirt", 6 }, { "SHIRTS!", 6 }, { "bags", 8 }, { "a warm coat", 4 }, { "pullovers", 2 },
        { "sandals for the beach", 5 }, { "a shirt with ankle boots", 9 }, /* longest phrase wins */
        { "a dress and a coat", 3 },                                       /* then the first one */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int c = -2;
        cgan_status st = cgan_prompt_match(ctx, cases[i].prompt, fmnist, 10, NULL, &c);
        ck_assert_msg(st == CGAN_OK, "'%s': %s", cases[i].prompt, cgan_last_error(ctx));
        ck_assert_msg(c == cases[i].cls, "'%s' -> %d (%s), expected %s", cases[i].prompt, c, c >= 0 ? fmnist[c] : "-",
                      fmnist[cases[i].cls]);
    }
    int c;
    ck_assert_int_eq(cgan_prompt_match(ctx, "a spaceship", fmnist, 10, NULL, &c), CGAN_E_NOT_FOUND);
    ck_assert_int_eq(c, -1);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "spaceship") && strstr(msg, "T-shirt/top") && strstr(msg, "Ankle boot"), "%s", msg);
    ck_assert_int_eq(cgan_prompt_match(ctx, "", fmnist, 10, NULL, &c), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_prompt_match(ctx, "  ?! ", fmnist, 10, NULL, &c), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "empty prompt"), "%s", cgan_last_error(ctx));
    const char *aliases[] = { "tee", "T-shirt/top", "boots", "Ankle boot", NULL };
    TU_OK(ctx, cgan_prompt_match(ctx, "a white tee", fmnist, 10, aliases, &c));
    ck_assert_int_eq(c, 0);
    TU_OK(ctx, cgan_prompt_match(ctx, "hiking boots", fmnist, 10, aliases, &c));
    ck_assert_int_eq(c, 9);
    const char *bad_alias[] = { "tee", "Blouse", NULL };
    ck_assert_int_eq(cgan_prompt_match(ctx, "a tee", fmnist, 10, bad_alias, &c), CGAN_E_INVALID);
    /* file names of classes */
    struct { const char *in, *out; } names[] = {
        { "T-shirt/top", "T-shirt_top" }, { "Ankle boot", "Ankle_boot" }, { "..", "_." }, { "", "_" }, { "a*b?c", "a_b_c" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char buf[64];
        cgan_class_filename(names[i].in, buf, sizeof buf);
        ck_assert_str_eq(buf, names[i].out);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- generate ----------------------------------------------------------------------- */

START_TEST(test_determinism)
{
    char *a = pathf("%s/a.png", work), *b = pathf("%s/b.png", work), *c = pathf("%s/c.png", work);
    TU_CLI_OK("generate", "--checkpoint", cond_ckpt, "--out", a, "--seed", "7", "--n", "4");
    ck_assert_msg(strstr(tu_cli_out, "wrote"), "%s", tu_cli_out);
    TU_CLI_OK("generate", "--checkpoint", run_dir, "--out", b, "--seed", "7", "--n", "4"); /* the run folder */
    ck_assert_msg(same_file(a, b), "the same seed gave different bytes");
    TU_CLI_OK("generate", "--checkpoint", cond_ckpt, "--out", c, "--seed", "8", "--n", "4");
    ck_assert_msg(!same_file(a, c), "another seed gave the same image");
    int w, h;
    tu_png_size(a, &w, &h); /* 4 columns, one row per class: (32 + 2) * k + 2 */
    ck_assert_int_eq(w, 4 * 34 + 2);
    ck_assert_int_eq(h, 10 * 34 + 2);
    /* a grid shape, classes by name, index and prompt, and several batches */
    TU_CLI_OK("generate", "-c", cond_ckpt, "-o", a, "--class", "dress", "--class", "9", "--prompt", "two trousers",
           "--grid", "5x3", "--batch", "4", "-v");
    ck_assert_msg(strstr(tu_cli_out, "-> class 1 \"Trouser\"") && strstr(tu_cli_out, "img/s"), "%s", tu_cli_out);
    tu_png_size(a, &w, &h);
    ck_assert_int_eq(w, 5 * 34 + 2);
    ck_assert_int_eq(h, 3 * 34 + 2);
    TU_CLI_OK("generate", "-c", cond_ckpt, "-o", b, "--class", "dress", "--class", "9", "--prompt", "two trousers",
           "--grid", "5x3");
    ck_assert_msg(png_maxdiff(a, b) >= 0 && png_maxdiff(a, b) <= 2, "the batch size changed the image by %d",
                  png_maxdiff(a, b));
    TU_CLI_OK("generate", "-c", cond_ckpt, "-o", b, "--class", "dress", "--class", "9", "--prompt", "two trousers",
           "--grid", "5x3", "--batch", "4");
    ck_assert_msg(same_file(a, b), "the same command gave different bytes");
    /* JPEG by extension; unconditional */
    char *j = pathf("%s/u.jpg", work);
    TU_CLI_OK("generate", "-c", uncond_ckpt, "-o", j, "--n", "6");
    size_t n;
    char *p = slurp(j, &n);
    ck_assert_msg(p && n > 3 && (unsigned char)p[0] == 0xFF && (unsigned char)p[1] == 0xD8, "not a JPEG");
    free(p);
}
END_TEST

START_TEST(test_out_dir)
{
    char dir[1400], two[1400];
    snprintf(dir, sizeof dir, "%s/dir", work);
    snprintf(two, sizeof two, "%s/two", work);
    TU_CLI_OK("generate", "-c", cond_ckpt, "--out-dir", dir, "--per-class", "3");
    ck_assert_int_eq(count_entries(dir), 10);
    for (int c = 0; c < 10; c++) {
        char name[64];
        cgan_class_filename(fmnist[c], name, sizeof name);
        char *sub = pathf("%s/%s", dir, name);
        ck_assert_msg(count_entries(sub) == 3, "%s holds %d files", sub, count_entries(sub));
        ck_assert(exists(pathf("%s/0000.png", sub)) && exists(pathf("%s/0002.png", sub)));
    }
    ck_assert(exists(pathf("%s/T-shirt_top/0001.png", dir)));
    int w, h;
    tu_png_size(pathf("%s/Ankle_boot/0000.png", dir), &w, &h);
    ck_assert(w == 32 && h == 32);
    /* chosen classes (a repeat is written once) into a fresh folder; the same images */
    TU_CLI_OK("generate", "-c", cond_ckpt, "--out-dir", two, "--n", "3", "--class", "Ankle boot", "--class", "9",
           "--prompt", "a t-shirt");
    ck_assert_int_eq(count_entries(two), 2);
    ck_assert(png_maxdiff(pathf("%s/Ankle_boot/0002.png", dir), pathf("%s/Ankle_boot/0002.png", two)) <= 2);
    ck_assert(png_maxdiff(pathf("%s/T-shirt_top/0000.png", dir), pathf("%s/T-shirt_top/0000.png", two)) <= 2);
    ck_assert(png_maxdiff(pathf("%s/T-shirt_top/0000.png", dir), pathf("%s/Ankle_boot/0000.png", dir)) > 0);
    /* unconditional: DIR/NNNN.png, several batches */
    char *u = pathf("%s/u", work);
    TU_CLI_OK("generate", "-c", uncond_ckpt, "--out-dir", u, "--n", "5", "--batch", "2");
    ck_assert_int_eq(count_entries(u), 5);
    ck_assert(exists(pathf("%s/0004.png", u)));
}
END_TEST

START_TEST(test_interpolate)
{
    char *s = pathf("%s/s.png", work), *t = pathf("%s/t.png", work);
    int w, h;
    TU_CLI_OK("generate", "-c", cond_ckpt, "-o", s, "--interpolate", "6", "--class", "Dress");
    tu_png_size(s, &w, &h);
    ck_assert_int_eq(w, 6 * 34 + 2);
    ck_assert_int_eq(h, 36);
    TU_CLI_OK("generate", "-c", cond_ckpt, "-o", t, "--interpolate", "6", "--class", "Dress", "--lerp");
    TU_CLI_OK("generate", "-c", cond_ckpt, "-o", t, "--interpolate", "5", "--class", "Dress", "--class", "Bag");
    TU_CLI_OK("generate", "-c", uncond_ckpt, "-o", t, "--interpolate", "4");
    TU_CLI_FAILS(1, "one class", "generate", "-c", cond_ckpt, "-o", t, "--interpolate", "4");
    TU_CLI_FAILS(1, "3 given", "generate", "-c", cond_ckpt, "-o", t, "--interpolate", "4", "--class", "1", "--class", "2",
              "--class", "3");
    TU_CLI_FAILS(2, "--interpolate", "generate", "-c", cond_ckpt, "-o", t, "--interpolate", "1", "--class", "1");
}
END_TEST

START_TEST(test_bad_input)
{
    char *keep = pathf("%s/keep.png", work);
    FILE *f = fopen(keep, "w");
    ck_assert_ptr_nonnull(f);
    fputs("precious bytes", f);
    fclose(f);
    /* missing checkpoint, folder without a checkpoint, corrupt checkpoint */
    TU_CLI_FAILS(1, "/nonexistent/x.safetensors", "generate", "-c", "/nonexistent/x.safetensors", "-o", keep);
    TU_CLI_FAILS(1, "latest", "generate", "-c", work, "-o", keep);
    char *cut = pathf("%s/cut.safetensors", work);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "head -c 5000 '%s' > '%s'", cond_ckpt, cut);
    ck_assert_int_eq(system(cmd), 0);
    TU_CLI_FAILS(1, "cut.safetensors", "generate", "-c", cut, "-o", keep);
    /* classes and prompts */
    TU_CLI_FAILS(1, "known classes: T-shirt/top, Trouser", "generate", "-c", cond_ckpt, "-o", keep, "--class", "Spaceship");
    ck_assert_msg(strstr(tu_cli_err, "Ankle boot"), "%s", tu_cli_err);
    TU_CLI_FAILS(1, "known classes", "generate", "-c", cond_ckpt, "-o", keep, "--class", "10");
    TU_CLI_FAILS(1, "known classes", "generate", "-c", cond_ckpt, "-o", keep, "--prompt", "a spaceship");
    TU_CLI_FAILS(2, "empty prompt", "generate", "-c", cond_ckpt, "-o", keep, "--prompt", "");
    TU_CLI_FAILS(1, "unconditional", "generate", "-c", uncond_ckpt, "-o", keep, "--class", "1");
    /* counts and options */
    TU_CLI_FAILS(2, "--n '0'", "generate", "-c", cond_ckpt, "-o", keep, "--n", "0");
    TU_CLI_FAILS(2, "--n '-3'", "generate", "-c", cond_ckpt, "-o", keep, "--n", "-3");
    TU_CLI_FAILS(2, "--out", "generate", "-c", cond_ckpt);
    TU_CLI_FAILS(2, "--grid", "generate", "-c", cond_ckpt, "-o", keep, "--grid", "3by2");
    TU_CLI_FAILS(1, "holds 4 images", "generate", "-c", cond_ckpt, "-o", keep, "--grid", "2x2", "--class", "1", "--n", "8");
    TU_CLI_FAILS(1, "no EMA", "generate", "-c", uncond_ckpt, "-o", keep, "--ema");
    TU_CLI_FAILS(1, "no EMA", "generate", "-c", uncond_ckpt, "--out-dir", pathf("%s/ema", work), "--ema");
    ck_assert_msg(!exists(pathf("%s/ema", work)), "a failed run created its output folder");
    /* outputs */
    TU_CLI_FAILS(1, "/nonexistent/dir/x.png", "generate", "-c", cond_ckpt, "-o", "/nonexistent/dir/x.png");
    TU_CLI_FAILS(1, ".png", "generate", "-c", cond_ckpt, "-o", pathf("%s/x.gif", work));
    TU_CLI_FAILS(1, "cannot create folder", "generate", "-c", cond_ckpt, "--out-dir", pathf("%s/sub", keep));
    /* the existing file was never touched, and nothing was left beside it */
    char *text = slurp(keep, NULL);
    ck_assert_str_eq(text, "precious bytes");
    free(text);
    ck_assert_msg(!exists(pathf("%s/x.gif", work)), "a file was written for a failed run");
    /* the --raw path works where --ema does not */
    TU_CLI_OK("generate", "-c", uncond_ckpt, "-o", keep, "--raw", "--n", "2");
    tu_png_size(keep, &(int){ 0 }, &(int){ 0 });
}
END_TEST

/* ---- checkpoints made before model descriptions ---------------------------------------- */

/* tests/data holds a seed32 (concat) and a dcgan64 (proj) checkpoint made by the code
 * before sizes and model descriptions (--ngf 8 --ndf 8, 3 steps), with the grids it
 * generated from them (seed 7, classes 0 and 7). They still load, rebuild as the
 * built-in family, and generate the same images. */
START_TEST(test_legacy_checkpoints)
{
    static const char *const names[2] = { "legacy-seed32-concat", "legacy-dcgan64-proj" };
    static const char *const arch[2] = { "seed32 (built-in DCGAN family), 32x32", "dcgan64 (built-in DCGAN family), 64x64" };
    for (int k = 0; k < 2; k++) {
        char *ck = pathf("%s/%s.safetensors", CGAN_TEST_DATA, names[k]);
        char *ref = pathf("%s/%s-ref.png", CGAN_TEST_DATA, names[k]), *out = pathf("%s/%s.png", work, names[k]);
        TU_CLI_OK("generate", "--checkpoint", ck, "--seed", "7", "--n", "4", "--class", "0", "--class", "7", "--out", out);
        int d = png_maxdiff(out, ref);
        ck_assert_msg(d >= 0 && d <= 1, "%s: the grid differs from the one the old code made by %d", names[k], d);
        TU_CLI_OK("info", ck);
        ck_assert_msg(strstr(tu_cli_out, arch[k]) && strstr(tu_cli_out, "ngf 8, ndf 8") &&
                      strstr(tu_cli_out, k ? "D  11  logit" : "G  10  tanh") && strstr(tu_cli_out, "0 failed"), "%s", tu_cli_out);
    }
}
END_TEST

/* ---- info --------------------------------------------------------------------------- */

START_TEST(test_info)
{
    TU_CLI_OK("info", run_dir);
    char want[128];
    snprintf(want, sizeof want, "G %lld, D %lld", g_params, d_params);
    ck_assert_msg(strstr(tu_cli_out, want), "no '%s' in:\n%s", want, tu_cli_out);
    ck_assert_msg(strstr(tu_cli_out, "classes:       10") && strstr(tu_cli_out, "T-shirt/top") &&
                  strstr(tu_cli_out, "Ankle boot") && strstr(tu_cli_out, "vocabulary:    none") &&
                  strstr(tu_cli_out, "seed32") && strstr(tu_cli_out, "concat") && strstr(tu_cli_out, "step:          2") &&
                  strstr(tu_cli_out, "alias \"tee\""), "%s", tu_cli_out);
    TU_CLI_OK("info", "--tensors", cond_ckpt);
    ck_assert_msg(strstr(tu_cli_out, "G.deconv1.weight") && strstr(tu_cli_out, "ema.G.deconv1.weight") &&
                  strstr(tu_cli_out, " ok") && !strstr(tu_cli_out, "MISMATCH"), "%s", tu_cli_out);
    TU_CLI_OK("info", uncond_ckpt);
    ck_assert_msg(strstr(tu_cli_out, "classes:       0") && strstr(tu_cli_out, "raw (no EMA)"), "%s", tu_cli_out);

    /* flip a byte inside G.deconv1.weight's data: described, named, exit 1 */
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, cond_ckpt, &f));
    const cgan_st_tensor *t;
    TU_OK(ctx, cgan_st_find(ctx, f, "G.deconv1.weight", &t));
    long long off = 8 + (long long)cgan_st_header_len(f) + (long long)t->offset + 5;
    cgan_st_close(f);
    cgan_ctx_destroy(ctx);
    char *bad = pathf("%s/damaged.safetensors", work), cmd[4096];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf '\\252' | dd of='%s' bs=1 seek=%lld conv=notrunc 2>/dev/null",
             cond_ckpt, bad, bad, off);
    ck_assert_int_eq(system(cmd), 0);
    TU_CLI_FAILS(1, "G.deconv1.weight", "info", bad);
    ck_assert_msg(strstr(tu_cli_out, "classes:       10") && strstr(tu_cli_out, "1 failed"), "%s", tu_cli_out);
    TU_CLI_FAILS(1, "G.deconv1.weight", "info", "--tensors", bad);
    ck_assert_msg(strstr(tu_cli_out, "MISMATCH"), "%s", tu_cli_out);
    TU_CLI_FAILS(1, "damaged.safetensors", "generate", "-c", bad, "-o", pathf("%s/d.png", work));
    ck_assert(!exists(pathf("%s/d.png", work)));
    TU_CLI_FAILS(1, "/nonexistent", "info", "/nonexistent/x.safetensors");
    TU_CLI_FAILS(2, "required", "info");
}
END_TEST

/* A copy of src with format_version rewritten. */
static void rewrite_version(cgan_ctx *ctx, const char *src, const char *dst, const char *version)
{
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, src, &f));
    cgan_st_writer *w;
    TU_OK(ctx, cgan_st_writer_new(&w));
    for (int i = 0; i < cgan_st_count(f); i++) {
        const cgan_st_tensor *t = cgan_st_at(f, i);
        TU_OK(ctx, cgan_st_add(w, t->name, t->dtype, t->shape, t->ndim, t->data));
    }
    for (int i = 0; i < cgan_st_meta_count(f); i++) {
        const char *k, *v;
        cgan_st_meta_at(f, i, &k, &v);
        if (strncmp(k, CGAN_ST_CRC_PREFIX, strlen(CGAN_ST_CRC_PREFIX)) != 0) TU_OK(ctx, cgan_st_set_meta(w, k, v));
    }
    TU_OK(ctx, cgan_st_set_meta(w, "format_version", version));
    TU_OK(ctx, cgan_st_write(ctx, w, dst));
    cgan_st_writer_destroy(w);
    cgan_st_close(f);
}

START_TEST(test_newer_version)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *same = pathf("%s/v1.safetensors", work), *newer = pathf("%s/v99.safetensors", work);
    rewrite_version(ctx, cond_ckpt, same, "1");
    rewrite_version(ctx, cond_ckpt, newer, "99");
    cgan_ctx_destroy(ctx);
    char *a = pathf("%s/v1.png", work), *b = pathf("%s/v1b.png", work);
    TU_CLI_OK("generate", "-c", same, "-o", a, "--n", "2"); /* the rewrite itself is sound */
    TU_CLI_OK("generate", "-c", cond_ckpt, "-o", b, "--n", "2");
    ck_assert(same_file(a, b));
    TU_CLI_FAILS(1, "version 99 is newer", "generate", "-c", newer, "-o", pathf("%s/v99.png", work));
    ck_assert_msg(strstr(tu_cli_err, "v99.safetensors"), "%s", tu_cli_err);
    TU_CLI_FAILS(1, "version 99 is newer", "info", newer);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("generate");
    TCase *lib = tcase_create("prompt");
    tcase_add_test(lib, test_prompt_match);
    suite_add_tcase(s, lib);
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_out_dir);
    tcase_add_test(tc, test_interpolate);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_info);
    tcase_add_test(tc, test_legacy_checkpoints);
    tcase_add_test(tc, test_newer_version);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
