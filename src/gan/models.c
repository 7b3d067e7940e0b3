/* seed32 and dcgan64 generator and discriminator graphs (bias-free convolutions, DCGAN init). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "models.h"
#include "ops/builders.h"
#include "ops/diffaug.h"

cgan_model_cfg cgan_model_defaults(void)
{
    cgan_model_cfg c = { CGAN_ARCH_SEED32, CGAN_COND_CONCAT, 64, 100, 1, 10, 64, 64, 0, 0 };
    return c;
}

int cgan_model_image_size(cgan_arch arch) { return arch == CGAN_ARCH_DCGAN64 ? 64 : 32; }
const char *cgan_arch_name(cgan_arch a) { return a == CGAN_ARCH_DCGAN64 ? "dcgan64" : "seed32"; }

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

static cgan_status check_cfg(cgan_ctx *ctx, const cgan_model_cfg *c)
{
    if (c->batch < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: batch %d must be at least 1", c->batch);
    if (c->nz < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: nz %d must be at least 1", c->nz);
    if (c->nc != 1 && c->nc != 3) return cgan_error(ctx, CGAN_E_INVALID, "model: channels %d must be 1 or 3", c->nc);
    if (c->ngf < 1 || c->ndf < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: ngf/ndf must be positive");
    if (c->num_classes < 0) return cgan_error(ctx, CGAN_E_INVALID, "model: %d classes", c->num_classes);
    if (c->cond == CGAN_COND_TEXT) {
        if (c->vocab < 1) return cgan_error(ctx, CGAN_E_INVALID, "model: conditioning 'text' needs a vocabulary");
        return CGAN_OK;
    }
    if (c->cond != CGAN_COND_NONE && c->num_classes == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "model: conditioning '%s' needs classes", cgan_cond_name(c->cond));
    return CGAN_OK;
}

/* The text encoder of one network: token ids -> mean word embedding -> linear -> leaky ReLU,
 * [N,CGAN_TEXT_CODE,1,1] (see models.h). The linear layer starts from N(0, 1/sqrt(E))
 * instead of DCGAN's N(0, 0.02): with the N(0,1) word embeddings the code then starts at
 * about unit scale, like the class embedding and the one-hot planes of concat, instead of
 * a twentieth of it, which G and D would first have to learn to amplify. */
static int text_code(cgan_graph *g, int tokens, int vocab)
{
    int e = cgan_nn_embed_mean(g, "text.embed", tokens, vocab, CGAN_TEXT_EMBED);
    int c = cgan_nn_linear(g, "text.fc", e, CGAN_TEXT_CODE, 1);
    char name[96];
    snprintf(name, sizeof name, "%s.text.fc.weight", cgan_graph_prefix(g));
    cgan_gtensor *w = cgan_graph_tensor(g, cgan_graph_find_tensor(g, name));
    if (w) w->init_std = 1.0f / sqrtf((float)CGAN_TEXT_EMBED);
    return cgan_nn_activation(g, "text.lrelu", c, CGAN_ACT_LRELU, 0.2f);
}

/* The condition input of a network: class indices or token ids; -1 when unconditional. */
static int cond_input(cgan_graph *g, const cgan_model_cfg *cfg)
{
    if (cfg->cond == CGAN_COND_NONE) return -1;
    if (cfg->cond == CGAN_COND_TEXT) return cgan_graph_input_tokens(g, "tokens", cfg->batch, CGAN_TEXT_TOKENS, cfg->vocab);
    return cgan_graph_input_labels(g, "labels", cfg->batch, cfg->num_classes);
}

/* Widths from the first G layer down: seed32 4,2,1 x ngf; dcgan64 8,4,2,1 x ngf. */
static int layer_count(cgan_arch a) { return a == CGAN_ARCH_DCGAN64 ? 4 : 3; }

cgan_status cgan_build_generator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_generator *out)
{
    memset(out, 0, sizeof *out);
    out->labels = -1;
    CGAN_TRY(check_cfg(ctx, cfg));
    cgan_graph *g = cgan_graph_new(ctx, "G");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    const int N = cfg->batch, K = cfg->num_classes, L = layer_count(cfg->arch);
    const cgan_cond cond = cfg->cond;
    int x = out->z = cgan_graph_input(g, "z", cgan_shape4(N, cfg->nz, 1, 1));
    out->labels = cond_input(g, cfg);
    if (cond == CGAN_COND_CONCAT) {
        int e = cgan_nn_embedding(g, "embed", out->labels, K, K);
        x = cgan_nn_concat(g, "concat", x, e);
    } else if (cond == CGAN_COND_TEXT) {
        x = cgan_nn_concat(g, "concat", x, text_code(g, out->labels, cfg->vocab));
    }
    char name[32];
    for (int i = 0; i < L; i++) {
        int width = cfg->ngf << (L - 1 - i);
        snprintf(name, sizeof name, "deconv%d", i + 1);
        x = i == 0 ? cgan_nn_deconv2d(g, name, x, width, 4, 1, 0, 0)
                   : cgan_nn_deconv2d(g, name, x, width, 4, 2, 1, 0);
        /* BatchNorm and ReLU in one node (one pass forward, one backward) */
        snprintf(name, sizeof name, "bn%d", i + 1);
        x = cond == CGAN_COND_PROJ
                ? cgan_nn_cond_batchnorm_act(g, name, x, out->labels, K, CGAN_ACT_RELU, 0.f)
                : cgan_nn_batchnorm_act(g, name, x, CGAN_ACT_RELU, 0.f);
    }
    snprintf(name, sizeof name, "deconv%d", L + 1);
    x = cgan_nn_deconv2d(g, name, x, cfg->nc, 4, 2, 1, 0);
    out->out = cgan_nn_activation(g, "tanh", x, CGAN_ACT_TANH, 0.f);
    cgan_status st = cgan_graph_status(g);
    if (st != CGAN_OK) {
        cgan_graph_destroy(g);
        memset(out, 0, sizeof *out);
        return st;
    }
    out->g = g;
    return CGAN_OK;
}

cgan_status cgan_build_discriminator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_discriminator *out)
{
    memset(out, 0, sizeof *out);
    out->labels = -1;
    CGAN_TRY(check_cfg(ctx, cfg));
    cgan_graph *g = cgan_graph_new(ctx, "D");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    const int N = cfg->batch, K = cfg->num_classes, L = layer_count(cfg->arch);
    const int S = cgan_model_image_size(cfg->arch);
    const cgan_cond cond = cfg->cond;
    int x = out->x = cgan_graph_input(g, "x", cgan_shape4(N, cfg->nc, S, S));
    out->labels = cond_input(g, cfg);
    /* DiffAugment on every image D sees in training (real and fake, D and G steps); the
     * gradient flows through it to G. The identity in eval mode. */
    if (cfg->diffaug) x = cgan_nn_diffaug(g, "diffaug", x, 0.125f, 0.5f);
    if (cond == CGAN_COND_CONCAT) {
        int planes = cgan_nn_onehot(g, "onehot", out->labels, K);
        x = cgan_nn_concat(g, "concat", x, planes);
    } else if (cond == CGAN_COND_TEXT) {
        x = cgan_nn_concat(g, "concat", x, text_code(g, out->labels, cfg->vocab)); /* code planes */
    }
    char name[32];
    for (int i = 0; i < L; i++) {
        int width = cfg->ndf << i;
        snprintf(name, sizeof name, "conv%d", i + 1);
        x = cgan_nn_conv2d(g, name, x, width, 4, 2, 1, 0);
        if (i > 0) { /* BatchNorm and LeakyReLU in one node */
            snprintf(name, sizeof name, "bn%d", i + 1);
            x = cgan_nn_batchnorm_act(g, name, x, CGAN_ACT_LRELU, 0.2f);
        } else {
            snprintf(name, sizeof name, "lrelu%d", i + 1);
            x = cgan_nn_activation(g, name, x, CGAN_ACT_LRELU, 0.2f);
        }
    }
    snprintf(name, sizeof name, "conv%d", L + 1);
    int logit = cgan_nn_conv2d(g, name, x, 1, 4, 1, 0, 0);
    if (cond == CGAN_COND_PROJ) {
        int proj = cgan_nn_projection(g, "proj", x, out->labels, K);
        logit = cgan_nn_add(g, "logit", logit, proj);
    }
    out->logit = logit;
    cgan_status st = cgan_graph_status(g);
    if (st != CGAN_OK) {
        cgan_graph_destroy(g);
        memset(out, 0, sizeof *out);
        return st;
    }
    out->g = g;
    return CGAN_OK;
}
