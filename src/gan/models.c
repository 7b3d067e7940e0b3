/* The model configuration, and the built-in DCGAN family as a model description (see
 * models.h); the graphs are built by the description interpreter (model_desc.c). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "models.h"
#include "model_desc.h"

cgan_model_cfg cgan_model_defaults(void)
{
    cgan_model_cfg c = { .size = 32, .desc = NULL, .cond = CGAN_COND_CONCAT, .batch = 64, .nz = 100, .nc = 1,
                         .num_classes = 10, .ngf = 64, .ndf = 64, .diffaug = 0, .vocab = 0 };
    return c;
}

int cgan_arch_size(cgan_arch arch) { return arch == CGAN_ARCH_DCGAN64 ? 64 : 32; }
const char *cgan_arch_name(cgan_arch a) { return a == CGAN_ARCH_DCGAN64 ? "dcgan64" : "seed32"; }

int cgan_model_size_ok(int size)
{
    for (int s = CGAN_MODEL_MIN_SIZE; s <= CGAN_MODEL_MAX_SIZE; s *= 2)
        if (s == size) return 1;
    return 0;
}

const char *cgan_model_family_name(int size)
{
    switch (size) {
    case 16: return "dcgan16";
    case 32: return "seed32";
    case 64: return "dcgan64";
    case 128: return "dcgan128";
    case 256: return "dcgan256";
    default: return "dcgan";
    }
}

const char *cgan_cond_name(cgan_cond c)
{
    return c == CGAN_COND_CONCAT ? "concat" : c == CGAN_COND_PROJ ? "proj" : c == CGAN_COND_TEXT ? "text" : "none";
}

int cgan_arch_parse(const char *s)
{
    if (!strcmp(s, "seed32")) return CGAN_ARCH_SEED32;
    if (!strcmp(s, "dcgan64")) return CGAN_ARCH_DCGAN64;
    return -1;
}

int cgan_cond_parse(const char *s)
{
    if (!strcmp(s, "none")) return CGAN_COND_NONE;
    if (!strcmp(s, "concat")) return CGAN_COND_CONCAT;
    if (!strcmp(s, "proj")) return CGAN_COND_PROJ;
    if (!strcmp(s, "text")) return CGAN_COND_TEXT;
    return -1;
}

int cgan_model_cond_width(const cgan_model_cfg *cfg)
{
    return cfg->cond == CGAN_COND_NONE ? 0 : cfg->cond == CGAN_COND_TEXT ? CGAN_TEXT_TOKENS : 1;
}

cgan_status cgan_model_cfg_check(cgan_ctx *ctx, const cgan_model_cfg *c)
{
    if (!c->desc && !cgan_model_size_ok(c->size))
        return cgan_error(ctx, CGAN_E_INVALID, "model: size %d: the built-in family has sizes 16, 32, 64, 128 and 256",
                          c->size);
    if (c->size < 4 || c->size > 4096) return cgan_error(ctx, CGAN_E_INVALID, "model: size %d out of range", c->size);
    if (c->batch < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: batch %d must be at least 1", c->batch);
    if (c->nz < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: nz %d must be at least 1", c->nz);
    if (c->nc != 1 && c->nc != 3) return cgan_error(ctx, CGAN_E_INVALID, "model: channels %d must be 1 or 3", c->nc);
    if (c->ngf < 1 || c->ndf < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: ngf/ndf must be positive");
    if (c->num_classes < 0) return cgan_error(ctx, CGAN_E_INVALID, "model: %d classes", c->num_classes);
    if (c->mbstd < 0 || c->mbstd > 4096)
        return cgan_error(ctx, CGAN_E_INVALID, "model: mbstd group size %d is not in [0, 4096]", c->mbstd);
    if (c->mbstd && c->desc)
        return cgan_error(ctx, CGAN_E_INVALID, "model: mbstd adds a layer to the built-in D; a model description "
                          "places an \"mbstd\" layer itself");
    if (c->cond == CGAN_COND_TEXT) {
        if (c->vocab < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: conditioning 'text' needs a vocabulary");
        return CGAN_OK;
    }
    if (c->cond != CGAN_COND_NONE && c->num_classes == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "model: conditioning '%s' needs classes", cgan_cond_name(c->cond));
    return CGAN_OK;
}

/* ---- the built-in family as a description ----------------------------------------- */

typedef struct jb { json_t *list; int bad; } jb;

/* Append a layer {name, type} to the list; NULL (and b->bad) when out of memory. */
static json_t *add(jb *b, const char *name, const char *type)
{
    json_t *o = json_pack("{s:s, s:s}", "name", name, "type", type);
    if (!o || json_array_append_new(b->list, o) != 0) { b->bad = 1; return NULL; }
    return o;
}

static void put(jb *b, json_t *o, const char *key, json_t *v)
{
    if (json_object_set_new(o, key, v) != 0) b->bad = 1; /* a NULL o or v fails here */
}

static void put_int(jb *b, json_t *o, const char *key, int v) { put(b, o, key, json_integer(v)); }

static void put_pair(jb *b, json_t *o, const char *x, const char *y) { put(b, o, "inputs", json_pack("[s, s]", x, y)); }

/* A 4x4 (de)convolution: stride 1 pad 0 (first deconv, last conv) or stride 2 pad 1. */
static json_t *add_conv(jb *b, const char *name, const char *type, int out, int up)
{
    json_t *o = add(b, name, type);
    if (out > 0) put_int(b, o, "out", out);
    else put(b, o, "out", json_string("channels"));
    put_int(b, o, "k", 4);
    put_int(b, o, "stride", up ? 2 : 1);
    put_int(b, o, "pad", up ? 1 : 0);
    return o;
}

/* The text encoder of one network: token ids -> mean word embedding -> linear -> leaky ReLU,
 * [N,CGAN_TEXT_CODE,1,1] (see models.h). The linear layer starts from N(0, 1/sqrt(E))
 * instead of DCGAN's N(0, 0.02): with the N(0,1) word embeddings the code then starts at
 * about unit scale, like the class embedding and the one-hot planes of concat, instead of
 * a twentieth of it, which G and D would first have to learn to amplify. */
static void add_text_code(jb *b)
{
    json_t *o = add(b, "text.embed", "embed_mean");
    put(b, o, "input", json_string("tokens"));
    put_int(b, o, "dim", CGAN_TEXT_EMBED);
    o = add(b, "text.fc", "linear");
    put_int(b, o, "out", CGAN_TEXT_CODE);
    put(b, o, "bias", json_true());
    put(b, o, "init_std", json_real((double)(1.0f / sqrtf((float)CGAN_TEXT_EMBED))));
    o = add(b, "text.lrelu", "lrelu");
    put(b, o, "slope", json_real(0.2));
}

/* G: the condition joins z, then the deconv stages (see models.h). */
static void builtin_g(jb *b, const cgan_model_cfg *cfg, int L)
{
    char name[32], bn[32];
    if (cfg->cond == CGAN_COND_CONCAT) {
        put(b, add(b, "embed", "embedding"), "input", json_string("labels"));
        put_pair(b, add(b, "concat", "concat"), "z", "embed");
    } else if (cfg->cond == CGAN_COND_TEXT) {
        add_text_code(b);
        put_pair(b, add(b, "concat", "concat"), "z", "text.lrelu");
    }
    for (int i = 0; i < L; i++) {
        int mult = L - 1 - i >= 3 ? 8 : 1 << (L - 1 - i);
        snprintf(name, sizeof name, "deconv%d", i + 1);
        add_conv(b, name, "deconv", cfg->ngf * mult, i > 0);
        /* BatchNorm and ReLU in one node (one pass forward, one backward) */
        snprintf(bn, sizeof bn, "bn%d", i + 1);
        put(b, add(b, bn, cfg->cond == CGAN_COND_PROJ ? "cond_batchnorm" : "batchnorm"), "act", json_string("relu"));
    }
    snprintf(name, sizeof name, "deconv%d", L + 1);
    add_conv(b, name, "deconv", 0, 1);
    add(b, "tanh", "tanh");
}

/* D: the condition joins the image (one-hot or text-code planes), the conv stages, the
 * logit, and for proj the projection term. */
static void builtin_d(jb *b, const cgan_model_cfg *cfg, int L)
{
    char name[32], last[32] = "", logit[32];
    if (cfg->cond == CGAN_COND_CONCAT) {
        put(b, add(b, "onehot", "onehot"), "input", json_string("labels"));
        put_pair(b, add(b, "concat", "concat"), "x", "onehot");
    } else if (cfg->cond == CGAN_COND_TEXT) {
        add_text_code(b);
        put_pair(b, add(b, "concat", "concat"), "x", "text.lrelu"); /* code planes */
    }
    for (int i = 0; i < L; i++) {
        snprintf(name, sizeof name, "conv%d", i + 1);
        add_conv(b, name, "conv", cfg->ndf * (i >= 3 ? 8 : 1 << i), 1);
        json_t *o;
        if (i > 0) { /* BatchNorm and LeakyReLU in one node */
            snprintf(last, sizeof last, "bn%d", i + 1);
            o = add(b, last, "batchnorm");
            put(b, o, "act", json_string("lrelu"));
        } else {
            snprintf(last, sizeof last, "lrelu%d", i + 1);
            o = add(b, last, "lrelu");
        }
        put(b, o, "slope", json_real(0.2));
    }
    if (cfg->mbstd > 0) /* the group statistic joins the last stage's features */
        put_int(b, add(b, "mbstd", "mbstd"), "group", cfg->mbstd);
    snprintf(logit, sizeof logit, "conv%d", L + 1);
    add_conv(b, logit, "conv", 1, 0);
    if (cfg->cond == CGAN_COND_PROJ) {
        put_pair(b, add(b, "proj", "projection"), last, "labels");
        put_pair(b, add(b, "logit", "add"), logit, "proj");
    }
}

json_t *cgan_model_builtin_json(const cgan_model_cfg *cfg)
{
    int L = 0;
    while ((4 << L) < cfg->size) L++;
    json_t *root = json_pack("{s:s, s:i, s:s, s:i, s:i, s:s}", "format", CGAN_MODEL_FORMAT, "version", 1, "name",
                             cgan_model_family_name(cfg->size), "size", cfg->size, "nz", cfg->nz, "cond",
                             cgan_cond_name(cfg->cond));
    jb g = { json_array(), 0 }, d = { json_array(), 0 };
    if (g.list) builtin_g(&g, cfg, L);
    if (d.list) builtin_d(&d, cfg, L);
    int bad = !root || !g.list || !d.list || g.bad || d.bad;
    bad |= json_object_set_new(root, "G", g.list) != 0;
    bad |= json_object_set_new(root, "D", d.list) != 0;
    if (bad) { json_decref(root); return NULL; }
    return root;
}

char *cgan_model_json(const cgan_model_cfg *cfg)
{
    if (cfg->desc) return strdup(cfg->desc);
    json_t *root = cgan_model_builtin_json(cfg);
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return s;
}

int cgan_model_is_builtin(const cgan_model_cfg *cfg, const char *text)
{
    if (!text || !cgan_model_size_ok(cfg->size)) return 0;
    json_t *a = json_loads(text, 0, NULL), *b = a ? cgan_model_builtin_json(cfg) : NULL;
    int same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

/* ---- the graphs ------------------------------------------------------------------- */

static const char *origin(const cgan_model_cfg *cfg)
{
    return cfg->desc ? "model description" : "built-in model";
}

cgan_status cgan_build_generator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_generator *out)
{
    memset(out, 0, sizeof *out);
    out->labels = -1;
    cgan_model_net n;
    CGAN_TRY(cgan_model_build_net(ctx, cfg, origin(cfg), 0, NULL, NULL, &n));
    out->g = n.g;
    out->z = n.in;
    out->labels = n.labels;
    out->out = n.out;
    return CGAN_OK;
}

cgan_status cgan_build_discriminator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_discriminator *out)
{
    memset(out, 0, sizeof *out);
    out->labels = -1;
    cgan_model_net n;
    CGAN_TRY(cgan_model_build_net(ctx, cfg, origin(cfg), 1, NULL, NULL, &n));
    out->g = n.g;
    out->x = n.in;
    out->labels = n.labels;
    out->logit = n.out;
    return CGAN_OK;
}
