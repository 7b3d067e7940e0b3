/* Text conditioning: words, the vocabulary and token ids, captions.tsv (good and bad),
 * loader rows, the embed_mean op, text models and the vocabulary in checkpoints, and the
 * end-to-end run: the synthetic shapes set, `cgan-cl train --cond text`, then images for
 * "red ..." prompts must come out redder than those for "blue ..." prompts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "core/exec.h"
#include "core/opcheck.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/loader.h"
#include "gan/checkpoint.h"
#include "gan/generate.h"
#include "gan/text.h"
#include "gan/trainer.h"
#include "io/image.h"
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/dense.h"

#define pathf tu_pathf

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* The whole file as a string (malloc'ed; "" when it cannot be read). */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = 0;
    if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    char *buf = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
    if (f && n > 0 && fseek(f, 0, SEEK_SET) == 0) n = (long)fread(buf, 1, (size_t)n, f);
    if (f) fclose(f);
    if (len) *len = (size_t)(n > 0 ? n : 0);
    return buf;
}

/* ---- words and the vocabulary --------------------------------------------------------- */

static cgan_vocab vocab_of(cgan_ctx *ctx, char *const *captions, int n)
{
    cgan_vocab v;
    TU_OK(ctx, cgan_vocab_build(ctx, captions, n, CGAN_TEXT_TOKENS, &v));
    return v;
}

START_TEST(test_words_and_vocab)
{
    cgan_ctx *ctx = cgan_ctx_new();
    ck_assert_int_eq(cgan_text_count_words("Small, RED circle!"), 3);
    ck_assert_int_eq(cgan_text_count_words(" ,.!- "), 0);
    ck_assert_int_eq(cgan_text_count_words(""), 0);
    ck_assert_int_eq(cgan_text_count_words("caf\xc3\xa9 au-lait"), 3); /* UTF-8 bytes are letters */
    char *caps[] = { "Red circle", "small BLUE square.", "red, red... CIRCLE!", "a3 b-2" };
    cgan_vocab v = vocab_of(ctx, caps, 4);
    static const char *want[] = { "2", "a3", "b", "blue", "circle", "red", "small", "square" };
    ck_assert_int_eq(v.n, 8);
    for (int i = 0; i < v.n; i++) ck_assert_str_eq(v.words[i], want[i]);
    ck_assert_int_eq(cgan_vocab_find(&v, "red"), 5);
    ck_assert_int_eq(cgan_vocab_find(&v, "Red"), -1);
    ck_assert_int_eq(cgan_vocab_find(&v, "green"), -1);
    /* the same captions in another order give the same vocabulary */
    char *shuffled[] = { "a3 b-2", "red, red... CIRCLE!", "small BLUE square.", "Red circle" };
    cgan_vocab v2 = vocab_of(ctx, shuffled, 4);
    ck_assert_int_eq(v2.n, v.n);
    for (int i = 0; i < v.n; i++) ck_assert_str_eq(v2.words[i], v.words[i]);
    cgan_vocab_free(&v2);
    /* only the first CGAN_TEXT_TOKENS words of a caption count */
    char longcap[512] = "";
    for (int i = 0; i < CGAN_TEXT_TOKENS + 3; i++) strcat(longcap, i < CGAN_TEXT_TOKENS ? "w " : "tail ");
    char *lc[] = { longcap };
    v2 = vocab_of(ctx, lc, 1);
    ck_assert_int_eq(v2.n, 1);
    ck_assert_str_eq(v2.words[0], "w");
    cgan_vocab_free(&v2);
    char *none[] = { "!!", "  " };
    ck_assert_int_eq(cgan_vocab_build(ctx, none, 2, CGAN_TEXT_TOKENS, &v2), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "no word"));

    /* encoding: case, punctuation, unknown words, padding */
    float ids[CGAN_TEXT_TOKENS];
    int known, unknown, dropped;
    char list[64];
    TU_OK(ctx, cgan_vocab_encode(ctx, &v, "A RED-circle, please", ids, CGAN_TEXT_TOKENS, &known, &unknown, &dropped,
                                 list, sizeof list));
    ck_assert_int_eq(known, 2);
    ck_assert_int_eq(unknown, 2);
    ck_assert_int_eq(dropped, 0);
    ck_assert_str_eq(list, "a, please");
    ck_assert(ids[0] == 5.0f && ids[1] == 4.0f);
    for (int i = 2; i < CGAN_TEXT_TOKENS; i++) ck_assert(ids[i] == CGAN_TEXT_PAD);
    TU_OK(ctx, cgan_vocab_encode(ctx, &v, "red red red", ids, 2, &known, &unknown, &dropped, NULL, 0));
    ck_assert_int_eq(known, 2);
    ck_assert_int_eq(dropped, 1);

    /* prompts */
    TU_OK(ctx, cgan_vocab_prompt(ctx, &v, "a blue thing", ids, CGAN_TEXT_TOKENS, list, sizeof list));
    ck_assert_str_eq(list, "a, thing");
    ck_assert(ids[0] == 3.0f && ids[1] == CGAN_TEXT_PAD);
    ck_assert_int_eq(cgan_vocab_prompt(ctx, &v, "purple hexagon", ids, CGAN_TEXT_TOKENS, list, sizeof list),
                     CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "purple, hexagon"));
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "known words: 2, a3, b, blue"));
    ck_assert_int_eq(cgan_vocab_prompt(ctx, &v, "", ids, CGAN_TEXT_TOKENS, NULL, 0), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "empty prompt"));
    ck_assert_int_eq(cgan_vocab_prompt(ctx, &v, " ?! ", ids, CGAN_TEXT_TOKENS, NULL, 0), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "empty prompt"));

    /* all captions: a caption without a known word, or all captions the same, is an error */
    float *rows = NULL;
    TU_OK(ctx, cgan_vocab_encode_all(ctx, &v, caps, 4, CGAN_TEXT_TOKENS, &rows, &unknown, &dropped));
    ck_assert(rows[2 * CGAN_TEXT_TOKENS + 0] == 5.0f && rows[2 * CGAN_TEXT_TOKENS + 2] == 4.0f);
    free(rows);
    char *bad[] = { "red circle", "green thing" };
    ck_assert_int_eq(cgan_vocab_encode_all(ctx, &v, bad, 2, CGAN_TEXT_TOKENS, &rows, &unknown, &dropped),
                     CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "green thing"));
    char *same[] = { "Red circle", "red, circle", "RED CIRCLE" };
    ck_assert_int_eq(cgan_vocab_encode_all(ctx, &v, same, 3, CGAN_TEXT_TOKENS, &rows, &unknown, &dropped),
                     CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "same"));

    /* JSON round trip and malformed vocabularies */
    char *json = cgan_vocab_json(&v);
    ck_assert_ptr_nonnull(json);
    TU_OK(ctx, cgan_vocab_from_json(ctx, json, "x.safetensors", &v2));
    ck_assert_int_eq(v2.n, v.n);
    for (int i = 0; i < v.n; i++) ck_assert_str_eq(v2.words[i], v.words[i]);
    cgan_vocab_free(&v2);
    free(json);
    static const char *broken[] = { NULL, "{}", "[]", "[\"b\", \"a\"]", "[\"a\", \"a\"]", "[\"Red\"]", "[\"two words\"]",
                                    "[\"a\", 3]", "[\"\"]", "not json" };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        ck_assert_msg(cgan_vocab_from_json(ctx, broken[i], "x.safetensors", &v2) == CGAN_E_FORMAT, "case %zu", i);
        ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "x.safetensors"));
        ck_assert_ptr_null(v2.words);
    }
    cgan_vocab_free(&v);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- captions.tsv --------------------------------------------------------------------- */

/* An image folder of 3 classes x 2 images (8x8 PNGs); images[k] its relative paths. */
static const char *images[6] = { "a/0.png", "a/1.png", "b/0.png", "b/1.png", "c/0.png", "c/1.png" };

static char *make_folder(cgan_ctx *ctx)
{
    char *dir = tu_tempdir("captions");
    float px[3 * 8 * 8];
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(mkdir(pathf("%s/%c", dir, images[k][0]), 0755) == 0 || k % 2 == 1, 1);
        for (int i = 0; i < 3 * 64; i++) px[i] = (float)k / 6.0f - 0.4f; /* image k has gray level k */
        TU_OK(ctx, cgan_grid_write(ctx, pathf("%s/%s", dir, images[k]), px, 1, 3, 8, 1, 0));
    }
    return dir;
}

static const char *good_tsv = "# shapes\n"
                              "a/0.png\tzero caption\r\n"
                              "./a/1.png\t  one caption \n"
                              "\n"
                              "b/0.png\ttwo\n"
                              "b/1.png\tthree\n"
                              "c/0.png\tfour\n"
                              "c/1.png\tfive\n";

static cgan_status open_captions(cgan_ctx *ctx, const char *dir, int max_images, cgan_dataset **ds)
{
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = 8;
    o.captions = 1;
    o.max_images = max_images;
    return cgan_dataset_open(ctx, dir, &o, ds);
}

START_TEST(test_captions)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = make_folder(ctx);
    cgan_dataset *ds = NULL;
    /* no captions.tsv */
    ck_assert_int_eq(open_captions(ctx, dir, 0, &ds), CGAN_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "captions.tsv"));
    /* good: comments, blank lines, CRLF, "./" and spaces are fine; captions follow images */
    write_text(pathf("%s/captions.tsv", dir), good_tsv);
    TU_OK(ctx, open_captions(ctx, dir, 0, &ds));
    static const char *want[] = { "zero caption", "one caption", "two", "three", "four", "five" };
    ck_assert_int_eq(ds->n, 6);
    for (int i = 0; i < 6; i++) {
        ck_assert_str_eq(ds->captions[i], want[i]);
        ck_assert_int_eq(ds->labels[i], i / 2);
        int level = (int)lrintf(((float)i / 6.0f - 0.4f + 1.0f) * 127.5f); /* the image of its path */
        uint8_t px[3 * 8 * 8];
        ck_assert_uint_le(cgan_dataset_image_bytes(ds), sizeof px);
        TU_OK(ctx, cgan_dataset_read(ctx, ds, i, px));
        ck_assert_int_le(abs(px[0] - level), 1);
    }
    cgan_dataset_destroy(ds);
    /* a subset needs captions for its images only; without captions nothing is read */
    write_text(pathf("%s/captions.tsv", dir), "a/0.png\tzero\nb/0.png\ttwo\nc/0.png\tfour\n");
    TU_OK(ctx, open_captions(ctx, dir, 3, &ds)); /* images 0, 2 and 4 of the listing */
    ck_assert_int_eq(ds->n, 3);
    ck_assert_str_eq(ds->captions[0], "zero");
    ck_assert_str_eq(ds->captions[1], "two");
    ck_assert_str_eq(ds->captions[2], "four");
    cgan_dataset_destroy(ds);
    write_text(pathf("%s/captions.tsv", dir), "garbage\n");
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = 8;
    TU_OK(ctx, cgan_dataset_open(ctx, dir, &o, &ds));
    ck_assert_ptr_null(ds->captions);
    cgan_dataset_destroy(ds);

    static const struct { const char *tsv, *expect1, *expect2; } bad[] = {
        { "a/0.png\tzero\na/1.png one\n", "line 2", "no tab" },
        { "a/0.png\tzero\n\t lonely caption\n", "line 2", "path is empty" },
        { "a/0.png\t?!\n", "line 1", "no word" },
        { "a/0.png\tzero\nb/0.png\ttwo\na/0.png\tagain\n", "line 3", "second caption for a/0.png (the first is on line 1)" },
        { "a/0.png\tzero\nz/9.png\tnothing\n", "line 2", "no image z/9.png" },
        { "a/0.png\tzero\na/1.png\tone\n", "4 of the 6 images have no caption", "b/0.png" },
        { "# only a comment\n", "captions.tsv", "no caption" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(pathf("%s/captions.tsv", dir), bad[i].tsv);
        ds = NULL;
        cgan_status st = open_captions(ctx, dir, 0, &ds);
        const char *msg = cgan_last_error(ctx);
        ck_assert_msg(st == CGAN_E_FORMAT, "case %zu: %s", i, msg);
        ck_assert_ptr_null(ds);
        ck_assert_msg(strstr(msg, "captions.tsv") && strstr(msg, bad[i].expect1) && strstr(msg, bad[i].expect2),
                      "case %zu: %s", i, msg);
    }
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The loader hands out each image's condition row with it. */
START_TEST(test_loader_rows)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_dataset *ds;
    const int n = 10, W = 5, B = 4;
    TU_OK(ctx, cgan_dataset_alloc(ctx, n, 1, 4, 2, &ds));
    float *rows = malloc((size_t)n * W * sizeof *rows);
    for (int i = 0; i < n; i++) {
        cgan_dataset_image(ds, i)[0] = (uint8_t)(20 * i);
        for (int k = 0; k < W; k++) rows[i * W + k] = (float)(100 * i + k);
    }
    cgan_loader *l;
    ck_assert_int_eq(cgan_loader_create_rows(ctx, ds, B, 3, 0, NULL, W, &l), CGAN_E_INVALID);
    TU_OK(ctx, cgan_loader_create_rows(ctx, ds, B, 3, 0, rows, W, &l));
    float x[4 * 16], y[4 * 5];
    for (int batch = 0; batch < 5; batch++) {
        TU_OK(ctx, cgan_loader_next(l, x, y, NULL));
        for (int b = 0; b < B; b++) {
            int img = (int)lrintf((x[b * 16] + 1.0f) * 127.5f) / 20;
            for (int k = 0; k < W; k++) ck_assert(y[b * W + k] == (float)(100 * img + k));
        }
    }
    cgan_loader_destroy(l);
    free(rows);
    cgan_dataset_destroy(ds);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- the embed_mean op ----------------------------------------------------------------- */

START_TEST(test_embed_mean_op)
{
    static const struct { int n, len, vocab, dim; } cases[] = {
        { 1, 1, 1, 1 }, { 7, 5, 11, 9 }, { 33, 16, 3, 17 } /* repeated words */, { 5, 3, 40, 64 },
    };
    cgan_ctx *ctx = tu_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[96];
        snprintf(label, sizeof label, "embed_mean %d rows x %d tokens, %d words x %d", cases[i].n, cases[i].len,
                 cases[i].vocab, cases[i].dim);
        cgan_graph *g = cgan_graph_new(ctx, "T");
        int t = cgan_graph_input_tokens(g, "t", cases[i].n, cases[i].len, cases[i].vocab);
        int e = cgan_nn_embed_mean(g, "emb", t, cases[i].vocab, cases[i].dim);
        ck_assert_int_ge(e, 0);
        ck_assert(cgan_shape_eq(cgan_graph_tensor(g, e)->shape, cgan_shape4(cases[i].n, cases[i].dim, 1, 1)));
        ck_assert_int_ge(cgan_graph_find_tensor(g, "T.emb.weight"), 0);
        cgan_opcheck_case c = { label, 1, 1e-5, 1e-5, 1e-5, 800 + i };
        cgan_opcheck_result r;
        cgan_status st = cgan_opcheck(ctx, g, &c, &r);
        ck_assert_msg(st == CGAN_OK, "%s: %s", label, cgan_last_error(ctx));
        cgan_graph_destroy(g);
    }
    cgan_check_result res = { -1, -1 };
    TU_OK(ctx, cgan_selfcheck_embed_mean(ctx, &res));
    ck_assert(res.max_err >= 0 && res.max_err <= res.tol);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Padding (-1, and any id outside the vocabulary) is ignored: forward and backward on the
 * device against the reference, a row of padding only gives zeros and no gradient, and
 * finite differences of the reference. */
START_TEST(test_embed_mean_pads)
{
    enum { N = 6, L = 4, V = 5, E = 7 };
    static const float tok[N * L] = { 0, -1, -1, -1,  2, 2, 4, -1,  -1, -1, -1, -1,
                                      3, 1, 0, 4,     -1, 9, 1, -1,  4, -1, 4, -1 };
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "T");
    int t = cgan_graph_input_tokens(g, "t", N, L, V);
    ck_assert_int_ge(cgan_nn_embed_mean(g, "emb", t, V, E), 0);
    const cgan_node *nd = cgan_graph_node(g, 0);
    cgan_rng rng;
    cgan_rng_init(&rng, 77, 0);
    float *w = tu_random(&rng, V * E, -1, 1), *dy = tu_random(&rng, N * E, -1, 1);
    float *dw0 = tu_random(&rng, V * E, -1, 1);
    double dt[N * L], ddw[V * E], dwv[V * E], ddy[N * E], out[N * E];
    for (int i = 0; i < N * L; i++) dt[i] = tok[i];
    for (int i = 0; i < V * E; i++) { dwv[i] = w[i]; ddw[i] = dw0[i]; }
    for (int i = 0; i < N * E; i++) ddy[i] = dy[i];
    cl_mem mt = tu_upload(ctx, tok, N * L), mw = tu_upload(ctx, w, V * E), mdy = tu_upload(ctx, dy, N * E);
    cl_mem mdw = tu_upload(ctx, dw0, V * E), mout = tu_poisoned(ctx, N * E);
    cgan_op_args a;
    memset(&a, 0, sizeof a);
    a.node = nd;
    a.train = 1;
    a.in[0] = mt;
    a.param[0] = mw;
    a.out = mout;
    TU_OK(ctx, cgan_op_embed_mean_def.forward(ctx, &a));
    a.dout = mdy;
    a.dparam[0] = mdw;
    TU_OK(ctx, cgan_op_embed_mean_def.backward(ctx, &a));
    cgan_ref_args ra;
    memset(&ra, 0, sizeof ra);
    ra.node = nd;
    ra.in[0] = dt;
    ra.param[0] = dwv;
    ra.out = out;
    cgan_op_embed_mean_def.ref_forward(&ra);
    ra.dout = ddy;
    ra.dparam[0] = ddw;
    cgan_op_embed_mean_def.ref_backward(&ra);
    float got[N * E], gdw[V * E];
    tu_download(ctx, mout, got, N * E);
    tu_download(ctx, mdw, gdw, V * E);
    ck_assert_msg(cgan_max_rel_err(got, out, N * E) <= 1e-6, "forward error %g", cgan_max_rel_err(got, out, N * E));
    ck_assert_msg(cgan_max_rel_err(gdw, ddw, V * E) <= 1e-6, "backward error %g", cgan_max_rel_err(gdw, ddw, V * E));
    for (int d = 0; d < E; d++) {
        ck_assert(got[2 * E + d] == 0.0f);                                      /* padding only */
        ck_assert_msg(fabs(got[0 * E + d] - w[0 * E + d]) < 1e-6, "one word: its row"); /* one word */
        ck_assert(fabs(got[5 * E + d] - w[4 * E + d]) < 1e-6);                   /* the same word twice */
        ck_assert(fabs(out[1 * E + d] - (2.0 * w[2 * E + d] + w[4 * E + d]) / 3.0) < 1e-6);
    }
    /* finite differences of L = sum(out * dy) over every table entry (the reference is linear
     * in the table, so central differences are exact up to rounding) */
    for (int i = 0; i < V * E; i++) {
        double keep = dwv[i], lp = 0, lm = 0;
        dwv[i] = keep + 1e-3;
        cgan_op_embed_mean_def.ref_forward(&ra);
        for (int k = 0; k < N * E; k++) lp += out[k] * ddy[k];
        dwv[i] = keep - 1e-3;
        cgan_op_embed_mean_def.ref_forward(&ra);
        for (int k = 0; k < N * E; k++) lm += out[k] * ddy[k];
        dwv[i] = keep;
        double fd = (lp - lm) / 2e-3;
        ck_assert_msg(fabs(fd - (ddw[i] - dw0[i])) < 1e-6, "entry %d: finite difference %g, backward %g", i, fd,
                      ddw[i] - dw0[i]);
    }
    cl_mem bufs[] = { mt, mw, mdy, mdw, mout };
    for (size_t i = 0; i < 5; i++) cgan_buffer_release(bufs[i]);
    free(w); free(dy); free(dw0);
    cgan_graph_destroy(g);

    /* builder errors name the node */
    static const struct { int n, len, h, vocab, range, dim; const char *expect; } bad[] = {
        { 3, 4, 2, 5, 5, 8, "[3,4,2,1]" }, { 3, 4, 1, 0, 5, 8, "vocabulary of 0" },
        { 3, 4, 1, 5, 9, 8, "9 words, the table has 5" }, { 3, 4, 1, 5, 5, 0, "dimension 0" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = cgan_graph_new(ctx, "T");
        int x = bad[i].h == 1 ? cgan_graph_input_tokens(g, "t", bad[i].n, bad[i].len, bad[i].range)
                              : cgan_graph_input(g, "t", cgan_shape4(bad[i].n, bad[i].len, bad[i].h, 1));
        ck_assert_int_eq(cgan_nn_embed_mean(g, "bad", x, bad[i].vocab, bad[i].dim), -1);
        ck_assert_msg(strstr(cgan_last_error(ctx), "T.bad") && strstr(cgan_last_error(ctx), bad[i].expect),
                      "case %zu: %s", i, cgan_last_error(ctx));
        cgan_graph_destroy(g);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- text models and checkpoints -------------------------------------------------------- */

static char *shapes_caps[] = { "red circle", "small blue square", "a large red triangle", "blue circle" };

static cgan_train_cfg tiny_text_cfg(int vocab)
{
    cgan_train_cfg c = cgan_train_defaults();
    c.model.cond = CGAN_COND_TEXT;
    c.model.num_classes = 0;
    c.model.vocab = vocab;
    c.model.batch = 4;
    c.model.ngf = c.model.ndf = 8;
    c.model.nz = 12;
    c.seed = 9;
    return c;
}

START_TEST(test_text_model_checkpoint)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("textckpt");
    cgan_vocab v = vocab_of(ctx, shapes_caps, 4);
    ck_assert_int_eq(v.n, 8);
    float *tokens = NULL;
    int unknown, dropped;
    TU_OK(ctx, cgan_vocab_encode_all(ctx, &v, shapes_caps, 4, CGAN_TEXT_TOKENS, &tokens, &unknown, &dropped));

    /* the graphs: token inputs and one text encoder per network */
    cgan_train_cfg c = tiny_text_cfg(v.n);
    cgan_train_cfg no_vocab = tiny_text_cfg(0);
    cgan_generator gen;
    ck_assert_int_eq(cgan_build_generator(ctx, &no_vocab.model, &gen), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "vocabulary"));
    ck_assert_int_eq(cgan_model_cond_width(&c.model), CGAN_TEXT_TOKENS);
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    cgan_graph *G = cgan_trainer_generator(t)->g, *D = cgan_trainer_discriminator(t)->g;
    ck_assert(cgan_shape_eq(cgan_graph_tensor(G, cgan_trainer_generator(t)->labels)->shape,
                            cgan_shape4(4, CGAN_TEXT_TOKENS, 1, 1)));
    static const char *names[] = { "G.text.embed.weight", "G.text.fc.weight", "G.text.fc.bias", "D.text.embed.weight",
                                   "D.text.fc.weight", "D.text.fc.bias" };
    for (int i = 0; i < 6; i++)
        ck_assert_msg(cgan_graph_find_tensor(i < 3 ? G : D, names[i]) >= 0, "%s missing", names[i]);
    ck_assert(cgan_shape_eq(cgan_graph_tensor(G, cgan_graph_find_tensor(G, "G.text.embed.weight"))->shape,
                            cgan_shape4(8, CGAN_TEXT_EMBED, 1, 1)));
    /* steps: a text model needs token ids; the mismatched-caption loss is logged */
    float *x = malloc(4 * 32 * 32 * sizeof *x);
    cgan_rng r;
    cgan_rng_init(&r, 3, 0);
    cgan_rng_fill_uniform(&r, x, 4 * 32 * 32, -1, 1);
    ck_assert_int_eq(cgan_trainer_step(t, x, NULL), CGAN_E_INVALID);
    for (int s = 0; s < 2; s++) TU_OK(ctx, cgan_trainer_step(t, x, tokens));
    float rows[2 * CGAN_LOG_FIELDS];
    int64_t steps[2];
    int n = 0;
    TU_OK(ctx, cgan_trainer_read_log(t, rows, steps, 2, &n));
    ck_assert_int_eq(n, 2);
    for (int i = 0; i < 2; i++) {
        const float *row = rows + i * CGAN_LOG_FIELDS;
        ck_assert(isfinite(row[CGAN_LOG_LOSS_D_WRONG]) && row[CGAN_LOG_LOSS_D_WRONG] > 0.05f);
        ck_assert(isfinite(row[CGAN_LOG_LOSS_D_FAKE]) && row[CGAN_LOG_LOSS_D_REAL] > 0.05f);
    }

    /* the vocabulary round trip: saved, read back by generation, prompts through it */
    char *json = cgan_vocab_json(&v);
    cgan_ckpt_kv extra[1] = { { "vocabulary", json } };
    const char *path = pathf("%s/text.safetensors", dir);
    TU_OK(ctx, cgan_checkpoint_save(t, path, NULL, 0, extra, 1));
    cgan_gen *g;
    TU_OK(ctx, cgan_gen_open(ctx, path, &g));
    ck_assert(cgan_gen_is_text(g));
    ck_assert_int_eq(cgan_gen_vocab_size(g), 8);
    ck_assert_int_eq(cgan_gen_cfg(g)->model.cond, CGAN_COND_TEXT);
    ck_assert_int_eq(cgan_gen_cfg(g)->model.vocab, 8);
    int cls;
    TU_OK(ctx, cgan_gen_prompt(g, "A small RED square", &cls));
    ck_assert_int_eq(cls, 0);
    ck_assert_str_eq(cgan_gen_unknown_words(g), "");
    TU_OK(ctx, cgan_gen_prompt(g, "blue hexagon", &cls));
    ck_assert_int_eq(cls, 1);
    ck_assert_str_eq(cgan_gen_unknown_words(g), "hexagon");
    ck_assert_int_eq(cgan_gen_prompt(g, "green hexagon", &cls), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_gen_find_class(g, "0", &cls), CGAN_E_INVALID);
    cgan_gen_close(g);
    /* resume into the same model; a model of another vocabulary size is refused */
    cgan_trainer *t2;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t2));
    TU_OK(ctx, cgan_checkpoint_load(t2, path, NULL));
    ck_assert_int_eq(cgan_trainer_steps(t2), 2);
    cgan_trainer_destroy(t2);
    cgan_train_cfg other = tiny_text_cfg(9);
    TU_OK(ctx, cgan_trainer_create(ctx, &other, &t2));
    ck_assert_int_eq(cgan_checkpoint_load(t2, path, NULL), CGAN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "8 words"));
    cgan_trainer_destroy(t2);
    /* a text checkpoint without its vocabulary cannot be used for prompts */
    const char *bare = pathf("%s/bare.safetensors", dir);
    TU_OK(ctx, cgan_checkpoint_save(t, bare, NULL, 0, NULL, 0));
    ck_assert_int_eq(cgan_gen_open(ctx, bare, &g), CGAN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "vocabulary"));
    cgan_trainer_destroy(t);
    free(json);
    free(x);
    free(tokens);
    cgan_vocab_free(&v);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- end to end: shapes, `train --cond text`, prompts ------------------------------------ */

static char *work;
static char out_txt[1200], err_txt[1200];

/* Run cgan-cl with the arguments (a shell-quoted string); stdout and stderr go to files. */
static int cli(const char *args)
{
    const char *exe = getenv("CGAN_CLI");
    ck_assert_msg(exe != NULL, "CGAN_CLI is not set");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", exe, args, out_txt, err_txt);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Mean of R - B (0..255) over the images in a folder of PNGs. */
static double mean_red_minus_blue(cgan_ctx *ctx, const char *dir, int count)
{
    double sum = 0;
    long px = 0;
    for (int i = 0; i < count; i++) {
        size_t len;
        char path[1500];
        snprintf(path, sizeof path, "%s/%04d.png", dir, i);
        char *buf = read_all(path, &len);
        cgan_image im;
        TU_OK(ctx, cgan_image_decode(ctx, (const uint8_t *)buf, len, 0, &im));
        ck_assert_int_eq(im.c, 3);
        for (int k = 0; k < im.w * im.h; k++) sum += (double)im.px[3 * k] - im.px[3 * k + 2];
        px += (long)im.w * im.h;
        cgan_image_free(&im);
        free(buf);
    }
    return sum / (double)px;
}

START_TEST(test_shapes_end_to_end)
{
    cgan_ctx *ctx = cgan_ctx_new();
    work = tu_tempdir("shapes");
    snprintf(out_txt, sizeof out_txt, "%s/stdout.txt", work);
    snprintf(err_txt, sizeof err_txt, "%s/stderr.txt", work);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s/data' --n 512 --colours red,green,blue --seed 7 >/dev/null",
             SHAPES_TOOL, work);
    ck_assert_int_eq(system(cmd), 0);
    char *tsv = read_all(pathf("%s/data/captions.tsv", work), NULL);
    ck_assert_ptr_nonnull(strstr(tsv, "red-circle/"));
    free(tsv);

    /* a short run; the settings were tuned so that the colours are learnt in 100 steps */
    const char *run = pathf("%s/run", work);
    int rc = cli(pathf("train --data '%s/data' --cond text --batch 32 --ngf 16 --ndf 16 --nz 32 --lr 5e-4 "
                       "--steps 100 --seed 1 --log-every 50 --sample-every 100 --out '%s'", work, run));
    char *err = read_all(err_txt, NULL), *out = read_all(out_txt, NULL);
    ck_assert_msg(rc == 0, "train failed (%d): %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "vocabulary of 9 words"));
    free(out);
    free(err);

    rc = cli(pathf("generate -c '%s' --prompt 'red circle' --prompt 'a small red square' --prompt 'Blue circle' "
                   "--prompt 'large blue triangle, please' -n 16 --out-dir '%s/gen'", run, work));
    err = read_all(err_txt, NULL);
    ck_assert_msg(rc == 0, "generate failed (%d): %s", rc, err);
    ck_assert_msg(strstr(err, "unknown words ignored: please") != NULL, "stderr: %s", err);
    free(err);
    static const char *red[] = { "red_circle", "a_small_red_square" }, *blue[] = { "Blue_circle",
                                                                                  "large_blue_triangle__please" };
    double r = 0, b = 0;
    for (int i = 0; i < 2; i++) {
        double vr = mean_red_minus_blue(ctx, pathf("%s/gen/%s", work, red[i]), 16);
        double vb = mean_red_minus_blue(ctx, pathf("%s/gen/%s", work, blue[i]), 16);
        printf("check_text: mean R-B: \"%s\" %.1f, \"%s\" %.1f\n", red[i], vr, blue[i], vb);
        r += vr / 2;
        b += vb / 2;
    }
    printf("check_text: red prompts minus blue prompts, mean R-B: %.1f (of 0..255)\n", r - b);
    ck_assert_msg(r - b > 30.0, "red prompts are not clearly redder than blue ones: R-B %.1f vs %.1f", r, b);

    /* bad prompts, info, and resuming keeps the vocabulary */
    ck_assert_int_eq(cli(pathf("generate -c '%s' --prompt 'purple hexagon' -o '%s/x.png'", run, work)), 1);
    err = read_all(err_txt, NULL);
    ck_assert_msg(strstr(err, "no word is in the vocabulary") && strstr(err, "known words: a, blue"), "%s", err);
    free(err);
    /* known only through a stop word (issue 15, defect 17): refused, saying which words */
    ck_assert_int_eq(cli(pathf("generate -c '%s' --prompt 'a purple hexagon' -o '%s/x.png'", run, work)), 1);
    err = read_all(err_txt, NULL);
    ck_assert_msg(strstr(err, "no content word") && strstr(err, "known only a (") &&
                      strstr(err, "unknown: purple, hexagon"), "%s", err);
    free(err);
    ck_assert_int_eq(cli(pathf("generate -c '%s' --prompt ' ... ' -o '%s/x.png'", run, work)), 2);
    ck_assert_int_eq(cli(pathf("generate -c '%s' -o '%s/x.png'", run, work)), 1);
    ck_assert_int_eq(access(pathf("%s/x.png", work), F_OK), -1);
    ck_assert_int_eq(cli(pathf("info '%s'", run)), 0);
    out = read_all(out_txt, NULL);
    ck_assert_msg(strstr(out, "conditioning:  text") && strstr(out, "vocabulary:    9 words"), "%s", out);
    free(out);
    rc = cli(pathf("train --resume '%s' --steps 101", run));
    out = read_all(out_txt, NULL);
    ck_assert_msg(rc == 0 && strstr(out, "vocabulary of 9 words from"), "resume (%d): %s", rc, out);
    free(out);
    tu_rmtree(work);
    free(work);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("words");
    tcase_add_test(tc, test_words_and_vocab);
    tcase_add_test(tc, test_captions);
    tcase_add_test(tc, test_loader_rows);
    suite_add_tcase(s, tc);
    tc = tcase_create("op");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_embed_mean_op);
    tcase_add_test(tc, test_embed_mean_pads);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_text_model_checkpoint);
    /* tools/make-shapes-dataset is a Python script: skipped (77), never passed, without it */
    if (tu_require(system("python3 -c 'import zlib' >/dev/null 2>&1") == 0, 1, "python3 (tools/make-shapes-dataset)"))
        tcase_add_test(tc, test_shapes_end_to_end);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
