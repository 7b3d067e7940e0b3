/* Standing BatchNorm statistics of G's EMA weights (gan/stab.h). */
#include <stdlib.h>
#include <string.h>
#include "stab.h"
#include "trainer.h"
#include "core/exec.h"
#include "core/random.h"

struct cgan_standing {
    cgan_model_cfg cfg;      /* cfg.desc points at desc */
    char *desc;
    cgan_generator G;
};

void cgan_standing_destroy(cgan_standing *s)
{
    if (!s) return;
    cgan_graph_destroy(s->G.g);
    free(s->desc);
    free(s);
}

static cgan_status standing_create(cgan_ctx *ctx, const cgan_model_cfg *m, uint64_t seed, cgan_standing **out)
{
    *out = NULL;
    cgan_standing *s = calloc(1, sizeof *s);
    if (!s) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    s->cfg = *m;
    s->cfg.diffaug = 0;
    cgan_status st = CGAN_OK;
    if (m->desc && !(s->cfg.desc = s->desc = strdup(m->desc))) st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    if (st == CGAN_OK) st = cgan_build_generator(ctx, &s->cfg, &s->G);
    /* forward passes only: an evaluation plan (training-mode passes need nothing more) */
    if (st == CGAN_OK) st = cgan_graph_plan(s->G.g, CGAN_MODE_EVAL, seed);
    if (st != CGAN_OK) { cgan_standing_destroy(s); return st; }
    *out = s;
    return CGAN_OK;
}

cgan_status cgan_standing_inputs(cgan_ctx *ctx, const cgan_generator *G, const cgan_model_cfg *m, uint64_t seed,
                                 int k)
{
    const uint64_t key = seed ^ CGAN_STANDING_SEED, ctr = (uint64_t)k * 8;
    const size_t N = (size_t)m->batch;
    CGAN_TRY(cgan_randn(ctx, cgan_graph_value(G->g, G->z), N * (size_t)m->nz, key, ctr));
    if (G->labels >= 0) CGAN_TRY(cgan_randint(ctx, cgan_graph_value(G->g, G->labels), N, m->num_classes, key, ctr + 1));
    return CGAN_OK;
}

cgan_status cgan_trainer_standing_stats(cgan_trainer *t, float **state, size_t *n)
{
    *state = NULL;
    *n = 0;
    const cgan_train_cfg *c = cgan_trainer_cfg(t);
    cgan_graph *src = cgan_trainer_generator(t)->g;
    cgan_ctx *ctx = cgan_graph_ctx(src);
    if (c->standing_stats <= 0 || !cgan_trainer_ema(t))
        return cgan_error(ctx, CGAN_E_INVALID, "standing statistics need --standing-stats N and the EMA");
    if (c->model.cond == CGAN_COND_TEXT)
        return cgan_error(ctx, CGAN_E_UNSUPPORTED, "--standing-stats: text models have no classes to mix");
    cgan_standing **slot = cgan_trainer_standing_slot(t);
    if (!*slot) CGAN_TRY(standing_create(ctx, &c->model, c->seed, slot));
    cgan_standing *s = *slot;
    cgan_graph *g = s->G.g;
    size_t np = 0, ns = 0, mp = 0, ms = 0;
    cgan_graph_param_arena(src, &np);
    cgan_graph_state_arena(src, &ns);
    cl_mem dp = cgan_graph_param_arena(g, &mp), ds = cgan_graph_state_arena(g, &ms);
    if (np != mp || ns != ms)
        return cgan_error(ctx, CGAN_E_SHAPE, "standing statistics: the generator's layout differs from the trainer's");
    CGAN_TRY(cgan_buffer_copy(ctx, cgan_trainer_ema(t), 0, dp, 0, np * sizeof(float)));
    for (int k = 0; k < c->standing_stats; k++) {
        /* momentum 1/(k+1): after batch k the running values are the mean over batches 0..k */
        for (int i = 0; i < cgan_graph_node_count(g); i++) {
            cgan_node *nd = cgan_graph_node(g, i);
            if (nd->op == CGAN_OP_BATCHNORM) nd->a.momentum = 1.0f / (float)(k + 1);
        }
        CGAN_TRY(cgan_standing_inputs(ctx, &s->G, &s->cfg, c->seed, k));
        CGAN_TRY(cgan_graph_forward(g, 1, (uint64_t)k));
    }
    float *h = malloc((ns ? ns : 1) * sizeof *h);
    if (!h) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = ns ? cgan_buffer_read(ctx, ds, 0, ns * sizeof(float), h) : CGAN_OK;
    if (st != CGAN_OK) { free(h); return st; }
    *state = h;
    *n = ns;
    return CGAN_OK;
}
