/* Model descriptions and the DCGAN family at any size: the family's graphs at sizes 16..256
 * (shapes, parameter counts), the legacy checkpoints' tensors against today's graphs, a
 * table of malformed model files and their messages, and `cgan-cl train` end to end:
 * --model round trip, --size 128 and 256 on a JPEG folder made here, --init from a
 * legacy checkpoint, and the conflicts of --arch, --size and --model. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <jansson.h>
#include "testutil.h"
#include "core/exec.h"
#include "gan/checkpoint.h"
#include "gan/model_desc.h"

/* ---- the family -------------------------------------------------------------------- */

static int mult(int e) { return e >= 3 ? 8 : 1 << e; }

/* Trained parameters of the family by its definition (models.h), counted independently. */
static size_t family_params(int which, int S, const cgan_model_cfg *c)
{
    int L = 0;
    while ((4 << L) < S) L++;
    const size_t K = (size_t)c->num_classes;
    const int concat = c->cond == CGAN_COND_CONCAT, proj = c->cond == CGAN_COND_PROJ;
    size_t p = 0, cin;
    if (which == 0) {
        cin = (size_t)c->nz + (concat ? K : 0);
        p = concat ? K * K : 0;
        for (int i = 0; i < L; i++) {
            size_t w = (size_t)c->ngf * mult(L - 1 - i);
            p += cin * w * 16 + (proj ? 2 * K * w : 2 * w);
            cin = w;
        }
        return p + cin * (size_t)c->nc * 16;
    }
    cin = (size_t)c->nc + (concat ? K : 0);
    for (int i = 0; i < L; i++) {
        size_t v = (size_t)c->ndf * mult(i);
        p += cin * v * 16 + (i > 0 ? 2 * v : 0);
        cin = v;
    }
    return p + cin * 16 + (proj ? K * cin : 0);
}

START_TEST(test_family_sizes)
{
    cgan_ctx *ctx = cgan_ctx_new(); /* building needs no device */
    static const cgan_cond conds[3] = { CGAN_COND_NONE, CGAN_COND_CONCAT, CGAN_COND_PROJ };
    for (int S = 16; S <= 256; S *= 2) {
        int L = 0;
        while ((4 << L) < S) L++;
        for (int k = 0; k < 4; k++) {
            cgan_model_cfg c = cgan_model_defaults();
            c.size = S;
            c.batch = 2;
            c.cond = conds[k % 3];
            c.nc = k % 2 ? 1 : 3;
            c.num_classes = c.cond == CGAN_COND_NONE ? 0 : 5;
            c.ngf = c.ndf = k == 3 ? 64 : 4 + k; /* the default widths once (built, not planned) */
            cgan_generator G;
            cgan_discriminator D;
            TU_OK(ctx, cgan_build_generator(ctx, &c, &G));
            TU_OK(ctx, cgan_build_discriminator(ctx, &c, &D));
            cgan_shape go = cgan_graph_tensor(G.g, G.out)->shape, dl = cgan_graph_tensor(D.g, D.logit)->shape;
            ck_assert(cgan_shape_eq(go, cgan_shape4(2, c.nc, S, S)));
            ck_assert(cgan_shape_eq(dl, cgan_shape4(2, 1, 1, 1)));
            ck_assert_msg(cgan_graph_param_count(G.g) == family_params(0, S, &c), "S %d G: %zu vs %zu", S,
                          cgan_graph_param_count(G.g), family_params(0, S, &c));
            ck_assert_msg(cgan_graph_param_count(D.g) == family_params(1, S, &c), "S %d D: %zu vs %zu", S,
                          cgan_graph_param_count(D.g), family_params(1, S, &c));
            /* depth: L + 1 (de)convolutions in each network */
            char name[64];
            snprintf(name, sizeof name, "G.deconv%d.weight", L + 1);
            ck_assert_int_ge(cgan_graph_find_tensor(G.g, name), 0);
            snprintf(name, sizeof name, "G.deconv%d.weight", L + 2);
            ck_assert_int_lt(cgan_graph_find_tensor(G.g, name), 0);
            snprintf(name, sizeof name, "D.conv%d.weight", L + 1);
            ck_assert_int_ge(cgan_graph_find_tensor(D.g, name), 0);
            /* the generated description reads back as the family and builds the same */
            char *text = cgan_model_json(&c);
            ck_assert(cgan_model_is_builtin(&c, text));
            cgan_model_cfg f = c;
            f.desc = text;
            cgan_generator G2;
            TU_OK(ctx, cgan_build_generator(ctx, &f, &G2));
            ck_assert_int_eq(cgan_graph_tensor_count(G2.g), cgan_graph_tensor_count(G.g));
            for (int i = 0; i < cgan_graph_tensor_count(G.g); i++)
                ck_assert_str_eq(cgan_graph_tensor(G.g, i)->name, cgan_graph_tensor(G2.g, i)->name);
            c.ngf++;
            ck_assert(!cgan_model_is_builtin(&c, text));
            free(text);
            cgan_graph_destroy(G2.g);
            cgan_graph_destroy(G.g);
            cgan_graph_destroy(D.g);
        }
    }
    cgan_model_cfg c = cgan_model_defaults();
    c.size = 48;
    cgan_generator G;
    ck_assert_int_eq(cgan_build_generator(ctx, &c, &G), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "size 48"), "%s", cgan_last_error(ctx));
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Every parameter and statistic of today's graphs is in the legacy checkpoint with the
 * same shape, and the checkpoint has no other G or D tensor; the nodes are today's. */
static void legacy_tensors(const char *file, int size, const char *first_g, const char *last_d)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, tu_pathf("%s/%s", CGAN_TEST_DATA, file), &f));
    cgan_train_cfg cfg;
    TU_OK(ctx, cgan_checkpoint_config(ctx, f, &cfg));
    ck_assert_ptr_null(cfg.model.desc); /* the built-in family */
    ck_assert_int_eq(cfg.model.size, size);
    cgan_generator G;
    cgan_discriminator D;
    TU_OK(ctx, cgan_build_generator(ctx, &cfg.model, &G));
    TU_OK(ctx, cgan_build_discriminator(ctx, &cfg.model, &D));
    cgan_graph *gs[2] = { G.g, D.g };
    int in_graphs = 0, in_file = 0;
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < cgan_graph_tensor_count(gs[w]); i++) {
            const cgan_gtensor *t = cgan_graph_tensor(gs[w], i);
            if (t->kind != CGAN_TENSOR_PARAM && t->kind != CGAN_TENSOR_STATE) continue;
            in_graphs++;
            const cgan_st_tensor *s;
            TU_OK(ctx, cgan_st_find(ctx, f, t->name, &s));
            ck_assert_int_eq(s->numel, (int64_t)cgan_numel(t->shape));
        }
    for (int i = 0; i < cgan_st_count(f); i++) {
        const char *n = cgan_st_at(f, i)->name;
        in_file += !strncmp(n, "G.", 2) || !strncmp(n, "D.", 2);
    }
    ck_assert_int_eq(in_graphs, in_file);
    ck_assert_str_eq(cgan_graph_node(G.g, 0)->name, first_g);
    ck_assert_str_eq(cgan_graph_node(D.g, cgan_graph_node_count(D.g) - 1)->name, last_d);
    cgan_graph_destroy(G.g);
    cgan_graph_destroy(D.g);
    cgan_st_close(f);
    cgan_ctx_destroy(ctx);
}

START_TEST(test_legacy_tensors)
{
    legacy_tensors("legacy-seed32-concat.safetensors", 32, "G.embed", "D.conv4");
    legacy_tensors("legacy-dcgan64-proj.safetensors", 64, "G.deconv1", "D.logit");
}
END_TEST

/* The text encoder's linear layer keeps its own initialisation through the description. */
START_TEST(test_text_init)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_model_cfg c = cgan_model_defaults();
    c.cond = CGAN_COND_TEXT;
    c.num_classes = 0;
    c.vocab = 20;
    for (int pass = 0; pass < 2; pass++) {
        char *text = pass ? cgan_model_json(&c) : NULL;
        cgan_model_cfg f = c;
        f.desc = text;
        cgan_generator G;
        TU_OK(ctx, cgan_build_generator(ctx, &f, &G));
        const cgan_gtensor *w = cgan_graph_tensor(G.g, cgan_graph_find_tensor(G.g, "G.text.fc.weight"));
        ck_assert_ptr_nonnull(w);
        ck_assert(w->init_std == 1.0f / sqrtf(32.0f));
        ck_assert_int_ge(cgan_graph_find_tensor(G.g, "G.text.fc.bias"), 0);
        cgan_graph_destroy(G.g);
        free(text);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- malformed model files --------------------------------------------------------- */

static const char base_model[] =
    "{\"format\": \"cgan-model\", \"version\": 1, \"size\": 16, \"nz\": 8, \"cond\": \"concat\",\n"
    " \"G\": [{\"name\": \"embed\", \"type\": \"embedding\", \"input\": \"labels\"},\n"
    "       {\"name\": \"cat\", \"type\": \"concat\", \"inputs\": [\"z\", \"embed\"]},\n"
    "       {\"name\": \"d1\", \"type\": \"deconv\", \"out\": 8, \"k\": 4},\n"
    "       {\"name\": \"bn1\", \"type\": \"batchnorm\", \"act\": \"relu\"},\n"
    "       {\"name\": \"d2\", \"type\": \"deconv\", \"out\": 4, \"k\": 4, \"stride\": 2, \"pad\": 1},\n"
    "       {\"name\": \"bn2\", \"type\": \"cond_batchnorm\", \"act\": \"relu\"},\n"
    "       {\"name\": \"d3\", \"type\": \"deconv\", \"out\": \"channels\", \"k\": 4, \"stride\": 2, \"pad\": 1},\n"
    "       {\"name\": \"tanh\", \"type\": \"tanh\"}],\n"
    " \"D\": [{\"name\": \"c1\", \"type\": \"conv\", \"out\": 4, \"k\": 4, \"stride\": 2, \"pad\": 1},\n"
    "       {\"name\": \"a1\", \"type\": \"lrelu\"},\n"
    "       {\"name\": \"c2\", \"type\": \"conv\", \"out\": 8, \"k\": 4, \"stride\": 2, \"pad\": 1},\n"
    "       {\"name\": \"bn2\", \"type\": \"batchnorm\", \"act\": \"lrelu\", \"slope\": 0.2},\n"
    "       {\"name\": \"c3\", \"type\": \"conv\", \"out\": 1, \"k\": 4},\n"
    "       {\"name\": \"proj\", \"type\": \"projection\", \"inputs\": [\"bn2\", \"labels\"]},\n"
    "       {\"name\": \"logit\", \"type\": \"add\", \"inputs\": [\"c3\", \"proj\"]}]}\n";

/* Set (value: JSON text) or delete (NULL) the element at path "key/index/key...". */
static void apply(json_t *root, const char *path, const char *value)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *c = root;
    char *seg = buf, *slash;
    while ((slash = strchr(seg, '/'))) {
        *slash = '\0';
        c = json_is_array(c) ? json_array_get(c, (size_t)atoi(seg)) : json_object_get(c, seg);
        ck_assert_msg(c != NULL, "no %s in the base model", path);
        seg = slash + 1;
    }
    json_t *v = value ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;
    ck_assert(!value || v);
    if (json_is_array(c)) {
        if (v) json_array_set_new(c, (size_t)atoi(seg), v);
        else json_array_remove(c, (size_t)atoi(seg));
    } else {
        if (v) json_object_set_new(c, seg, v);
        else json_object_del(c, seg);
    }
}

START_TEST(test_malformed)
{
    static const struct { const char *path, *value, *want; } cases[] = {
        { "", "{\"format\": \"cgan-model\", \"version\": 1,", "not valid JSON: line 1" },
        { "", "[1, 2]", "a model description is a JSON object" },
        { "format", "\"cgan-modle\"", "\"format\" must be \"cgan-model\"" },
        { "version", "2", "version 2 is newer than this cgan-cl reads" },
        { "size", NULL, "\"size\" must be an integer" },
        { "nz", "0", "\"nz\" must be an integer in [1, 4096]" },
        { "layers", "[]", "unknown field \"layers\"" },
        { "G", NULL, "\"G\" is missing" },
        { "D", "[]", "\"D\" must be a non-empty list" },
        { "G/2/type", "\"resblock\"", "G layer 3 \"d1\": unknown \"type\" \"resblock\"" },
        { "G/2/out", NULL, "G layer 3 \"d1\": \"out\" is missing" },
        { "G/4/k", "-4", "G layer 5 \"d2\": \"k\" must be an integer >= 1" },
        { "D/0/stride", "0", "D layer 1 \"c1\": \"stride\" must be an integer >= 1" },
        { "D/2/pad", "\"1\"", "D layer 3 \"c2\": \"pad\" must be an integer >= 0" },
        { "G/2/bias", "1", "G layer 3 \"d1\": \"bias\" must be true or false" },
        { "G/4/strides", "2", "G layer 5 \"d2\": unknown field \"strides\" for a deconv layer" },
        { "G/3/name", "\"d1\"", "G layer 4 \"d1\": \"name\" \"d1\" is used by layer 3 too" },
        { "D/1/name", NULL, "D layer 2: \"name\" is missing" },
        { "D/2/input", "\"c9\"", "D layer 3 \"c2\": \"input\" \"c9\" names no earlier layer nor an input of D" },
        { "G/2/input", "\"tanh\"", "G layer 3 \"d1\": \"input\" \"tanh\" names no earlier layer" },
        { "G/3/act", "\"gelu\"", "G layer 4 \"bn1\": \"act\" must be \"none\", \"relu\" or \"lrelu\"" },
        { "G/3/slope", "0.1", "G layer 4 \"bn1\": \"slope\" needs \"act\": \"lrelu\"" },
        { "G/3/inputs", "[\"d1\", \"d1\"]", "G layer 4 \"bn1\": takes one input" },
        { "cond", "\"none\"", "G layer 1 \"embed\": \"input\" \"labels\": the model is unconditional" },
        { "D/0/input", "\"labels\"", "D layer 1 \"c1\": \"input\" \"labels\" holds class labels" },
        { "G/0/input", "\"tokens\"", "G layer 1 \"embed\": \"input\" \"tokens\": a class-conditional model has" },
        { "G/3/type", "\"mbstd\"", "G layer 4 \"bn1\": an mbstd layer belongs in D" },
        { "D/1", "{\"name\": \"a1\", \"type\": \"mbstd\", \"group\": 0}", "D layer 2 \"a1\": \"group\" must be an integer in [1, 4096]" },
        /* shapes: found when the graphs are built */
        { "G/6/stride", "1", "G layer 8 \"tanh\" (G's output) is [2,1,9,9]; G must end in [2,1,16,16]" },
        { "D/6", "{\"name\": \"logit\", \"type\": \"conv\", \"out\": 1, \"k\": 1, \"input\": \"bn2\"}",
          "D layer 7 \"logit\" (D's output) is [2,1,4,4]" },
        { "D/6/inputs", "[\"c3\", \"bn2\"]", "D layer 7 \"logit\": D.logit" },
        { "G/3", "{\"name\": \"bn1\", \"type\": \"reshape\", \"shape\": [7, 1, 1]}", "G layer 4 \"bn1\": G.bn1" },
    };
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("badmodel");
    char *path = tu_pathf("%s/bad.json", dir);
    /* the base model itself is sound */
    FILE *f = fopen(path, "w");
    fputs(base_model, f);
    fclose(f);
    char *text;
    cgan_model_head h;
    TU_OK(ctx, cgan_model_file_read(ctx, path, &text, &h));
    cgan_model_cfg cfg = cgan_model_defaults();
    cfg.desc = text;
    cfg.size = h.size;
    cfg.nz = h.nz;
    cfg.num_classes = 3;
    cfg.batch = 2;
    TU_OK(ctx, cgan_model_check(ctx, &cfg, path));
    free(text);
    /* so is the sample in doc/models */
    const char *sample = CGAN_DOC_DIR "/models/dcgan-wide64.json";
    TU_OK(ctx, cgan_model_file_read(ctx, sample, &text, &h));
    cgan_model_cfg wide = cgan_model_defaults();
    wide.desc = text;
    wide.size = h.size;
    wide.nz = h.nz;
    wide.nc = 3;
    wide.batch = 2;
    TU_OK(ctx, cgan_model_check(ctx, &wide, sample));
    free(text);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *bad;
        if (!*cases[k].path) {
            bad = strdup(cases[k].value);
        } else {
            json_t *root = json_loads(base_model, 0, NULL);
            apply(root, cases[k].path, cases[k].value);
            bad = json_dumps(root, JSON_PRESERVE_ORDER);
            json_decref(root);
        }
        f = fopen(path, "w");
        fputs(bad, f);
        fclose(f);
        free(bad);
        cgan_status st = cgan_model_file_read(ctx, path, &text, &h);
        if (st == CGAN_OK) {
            cfg.desc = text;
            cfg.size = h.size;
            cfg.nz = h.nz;
            cfg.cond = h.cond >= 0 ? (cgan_cond)h.cond : cfg.cond;
            st = cgan_model_check(ctx, &cfg, path);
            free(text);
        }
        const char *msg = cgan_last_error(ctx);
        ck_assert_msg(st != CGAN_OK, "case %zu (%s): accepted", k, cases[k].path);
        ck_assert_msg(strstr(msg, path) && strstr(msg, cases[k].want), "case %zu (%s): message lacks '%s': %s", k,
                      cases[k].path, cases[k].want, msg);
    }
    ck_assert_int_eq(cgan_model_file_read(ctx, tu_pathf("%s/none.json", dir), &text, &h), CGAN_E_NOT_FOUND);
    ck_assert(strstr(cgan_last_error(ctx), "none.json"));
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- cgan-cl train end to end ------------------------------------------------------- */

static char *work, *jpegs;

/* 2 classes x 8 colour JPEGs of 256x256: a class-coloured gradient with a moving square. */
static void make_jpegs(const char *root)
{
    static const char *const cls[2] = { "red", "blue" };
    const int W = 256;
    unsigned char *px = malloc((size_t)W * W * 3);
    tjhandle tj = tjInitCompress();
    ck_assert(px && tj);
    for (int c = 0; c < 2; c++) {
        char *d = tu_pathf("%s/%s", root, cls[c]);
        ck_assert_int_eq(mkdir(d, 0755), 0);
        for (int i = 0; i < 8; i++) {
            for (int y = 0; y < W; y++)
                for (int x = 0; x < W; x++) {
                    unsigned char *p = px + ((size_t)y * W + x) * 3;
                    int in = x / 32 == i && y / 32 == (i * 3) % 8;
                    p[0] = (unsigned char)(c == 0 ? 128 + y / 2 : x / 4);
                    p[1] = (unsigned char)(in ? 255 : (x + y) / 4);
                    p[2] = (unsigned char)(c == 1 ? 128 + x / 2 : y / 4);
                }
            unsigned char *jpg = NULL;
            unsigned long n = 0;
            ck_assert_int_eq(tjCompress2(tj, px, W, 0, W, TJPF_RGB, &jpg, &n, TJSAMP_420, 90, 0), 0);
            FILE *f = fopen(tu_pathf("%s/%d.jpg", d, i), "wb");
            ck_assert(f && fwrite(jpg, 1, n, f) == n);
            fclose(f);
            tjFree(jpg);
        }
    }
    tjDestroy(tj);
    free(px);
}

static void setup(void)
{
    work = tu_tempdir("model");
    jpegs = strdup(tu_pathf("%s/jpegs", work));
    ck_assert_int_eq(mkdir(jpegs, 0755), 0);
    make_jpegs(jpegs);
}

static void teardown(void)
{
    tu_rmtree(work);
    free(work);
    free(jpegs);
}

/* The built-in description of size 16 with widths 4, written to a file. */
static char *write_model(const char *name)
{
    cgan_model_cfg c = cgan_model_defaults();
    c.size = 16;
    c.ngf = c.ndf = 4;
    char *text = cgan_model_json(&c), *path = strdup(tu_pathf("%s/%s", work, name));
    FILE *f = fopen(path, "w");
    ck_assert(text && f && fputs(text, f) >= 0);
    fclose(f);
    free(text);
    return path;
}

START_TEST(test_cli_conflicts)
{
    char *model = write_model("conflicts.json"), *out = tu_pathf("%s/never", work);
    TU_CLI_FAILS(2, "--arch dcgan64 is --size 64; give one of them", "train", "--arch", "dcgan64", "--size", "32");
    TU_CLI_FAILS(2, "--arch seed32 is --size 32", "train", "--size", "64", "--arch", "seed32");
    TU_CLI_FAILS(2, "--size '48': use 16, 32, 64, 128 or 256", "train", "--size", "48");
    TU_CLI_FAILS(2, "--size '512'", "train", "--size", "512");
    static const char *const other[][2] = { { "--size", "16" }, { "--arch", "seed32" }, { "--ngf", "8" },
                                            { "--ndf", "8" }, { "--nz", "50" } };
    for (int i = 0; i < 5; i++) {
        char want[64];
        snprintf(want, sizeof want, "--model and %s exclude each other", other[i][0]);
        TU_CLI_FAILS(2, want, "train", "--model", model, other[i][0], other[i][1], "--out", out);
    }
    TU_CLI_FAILS(2, "--cond proj conflicts with \"cond\": \"concat\"", "train", "--model", model, "--cond", "proj");
    TU_CLI_FAILS(1, "missing.json", "train", "--model", tu_pathf("%s/missing.json", work));
    /* a bad file is named with its layer and field before any device work */
    json_t *root = json_load_file(model, 0, NULL);
    apply(root, "G/4/stride", "0");
    ck_assert_int_eq(json_dump_file(root, model, 0), 0);
    json_decref(root);
    TU_CLI_FAILS(1, "G layer 5 \"deconv2\": \"stride\" must be an integer >= 1", "train", "--model", model, "--data", jpegs);
    ck_assert_msg(strstr(tu_cli_err, "conflicts.json"), "%s", tu_cli_err);
    struct stat sb;
    ck_assert(stat(out, &sb) != 0);
    free(model);
}
END_TEST

/* A model file trains, its checkpoint generates and describes itself without flags, and
 * the run resumes with it. */
START_TEST(test_cli_model_roundtrip)
{
    char *model = write_model("m16.json"), *run = strdup(tu_pathf("%s/run16", work));
    char *png = tu_pathf("%s/m16.png", work), *again = tu_pathf("%s/m16-info.json", work);
    TU_CLI_OK("train", "--model", model, "--data", jpegs, "--batch", "4", "--steps", "2", "--out", run, "--log-every", "1");
    TU_CLI_OK("generate", "-c", run, "-o", png, "--n", "3");
    int w, h;
    tu_png_size(png, &w, &h);
    ck_assert_int_eq(w, 3 * 18 + 2); /* 3 columns, a row per class: (16 + 2) * k + 2 */
    ck_assert_int_eq(h, 2 * 18 + 2);
    TU_CLI_OK("info", run);
    ck_assert_msg(strstr(tu_cli_out, "architecture:  model description \"dcgan16\", 16x16, nc 3") &&
                  strstr(tu_cli_out, "G   3  deconv1          deconv          [8,4,4]"), "%s", tu_cli_out);
    /* the stored description is the file's */
    TU_CLI_OK("info", "--model", run);
    FILE *f = fopen(again, "w");
    fputs(tu_cli_out, f);
    fclose(f);
    json_t *a = json_load_file(model, 0, NULL), *b = json_load_file(again, 0, NULL);
    ck_assert_msg(a && b && json_equal(a, b), "info --model: %s", tu_cli_out);
    json_decref(a);
    json_decref(b);
    TU_CLI_OK("train", "--resume", run, "--steps", "3");
    ck_assert_msg(strstr(tu_cli_out, "resuming"), "%s", tu_cli_out);
    TU_CLI_FAILS(2, "--model and --resume exclude each other", "train", "--resume", run, "--model", model);
    free(model);
    free(run);
}
END_TEST

START_TEST(test_cli_size128)
{
    char *run = tu_pathf("%s/run128", work), *png = tu_pathf("%s/g128.png", work);
    TU_CLI_OK("train", "--size", "128", "--ngf", "4", "--ndf", "4", "--batch", "4", "--steps", "3", "--data", jpegs,
           "--out", run, "--log-every", "1", "--flip");
    ck_assert_msg(strstr(tu_cli_out, "16 images, 2 classes, 3x128x128"), "%s", tu_cli_out);
    TU_CLI_OK("generate", "-c", run, "-o", png, "--n", "2");
    int w, h;
    tu_png_size(png, &w, &h);
    ck_assert_int_eq(w, 2 * 130 + 2);
    ck_assert_int_eq(h, 2 * 130 + 2);
    TU_CLI_OK("info", run);
    ck_assert_msg(strstr(tu_cli_out, "dcgan128 (built-in DCGAN family), 128x128, nc 3") &&
                  strstr(tu_cli_out, "G   7  deconv3") && strstr(tu_cli_out, "D  13  conv6"), "%s", tu_cli_out);
}
END_TEST

START_TEST(test_cli_size256)
{
    char *run = tu_pathf("%s/run256", work), *png = tu_pathf("%s/g256.png", work);
    TU_CLI_OK("train", "--size", "256", "--ngf", "2", "--ndf", "2", "--batch", "2", "--steps", "1", "--data", jpegs,
           "--out", run, "--cond", "proj");
    TU_CLI_OK("generate", "-c", run, "-o", png, "--n", "1", "--class", "blue");
    int w, h;
    tu_png_size(png, &w, &h);
    ck_assert_int_eq(w, 258 + 2);
    ck_assert_int_eq(h, 258 + 2);
}
END_TEST

/* --init from a legacy seed32 checkpoint into a run on other data (3 channels, 2 classes):
 * the tensors whose names and shapes match load, the others start fresh. */
START_TEST(test_cli_legacy_init)
{
    char *run = tu_pathf("%s/runinit", work);
    TU_CLI_OK("train", "--arch", "seed32", "--size", "32", "--ngf", "8", "--ndf", "8", "--batch", "4", "--steps", "1",
           "--data", jpegs, "--out", run, "--init", tu_pathf("%s/legacy-seed32-concat.safetensors", CGAN_TEST_DATA));
    const char *p = strstr(tu_cli_out, "tensors loaded");
    ck_assert_msg(p && strstr(tu_cli_out, "skipped G.embed.weight") && strstr(tu_cli_out, "loaded  G.deconv2.weight"),
                  "%s", tu_cli_out);
    int loaded = 0, fresh = 0, skipped = 0;
    const char *line = strstr(tu_cli_out, "init from ");
    ck_assert(line && sscanf(strstr(line, ": ") + 2, "%d tensors loaded, %d new, %d skipped", &loaded, &fresh, &skipped) == 3);
    ck_assert_int_ge(loaded, 10);
    ck_assert_int_eq(fresh, 0);
    ck_assert_int_ge(skipped, 4);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("descriptions");
    tcase_add_test(tc, test_family_sizes);
    tcase_add_test(tc, test_legacy_tensors);
    tcase_add_test(tc, test_text_init);
    tcase_add_test(tc, test_malformed);
    suite_add_tcase(s, tc);
    tc = tcase_create("cli");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cli_conflicts);
    tcase_add_test(tc, test_cli_model_roundtrip);
    tcase_add_test(tc, test_cli_size128);
    tcase_add_test(tc, test_cli_size256);
    tcase_add_test(tc, test_cli_legacy_init);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
