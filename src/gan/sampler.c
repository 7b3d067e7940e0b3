/* The generator in eval mode, for sample grids and `cgan-cl generate`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sampler.h"
#include "core/exec.h"

struct cgan_sampler {
    cgan_ctx *ctx;
    cgan_model_cfg cfg;     /* cfg.desc points at desc */
    char *desc;             /* the sampler's copy of the model description */
    cgan_generator G;
};

cgan_status cgan_sampler_create(cgan_ctx *ctx, const cgan_model_cfg *model, int n, cgan_sampler **out)
{
    *out = NULL;
    if (n < 1) return cgan_error(ctx, CGAN_E_INVALID, "sampler: batch %d", n);
    cgan_sampler *s = calloc(1, sizeof *s);
    if (!s) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    s->ctx = ctx;
    s->cfg = *model;
    s->cfg.batch = n;
    cgan_status st = CGAN_OK;
    if (model->desc && !(s->cfg.desc = s->desc = strdup(model->desc))) st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    if (st == CGAN_OK) st = cgan_build_generator(ctx, &s->cfg, &s->G);
    if (st == CGAN_OK) st = cgan_graph_plan(s->G.g, CGAN_MODE_EVAL, 0);
    if (st != CGAN_OK) { cgan_sampler_destroy(s); return st; }
    *out = s;
    return CGAN_OK;
}

void cgan_sampler_destroy(cgan_sampler *s)
{
    if (!s) return;
    cgan_graph_destroy(s->G.g);
    free(s->desc);
    free(s);
}

int cgan_sampler_batch(const cgan_sampler *s) { return s->cfg.batch; }
const cgan_model_cfg *cgan_sampler_model(const cgan_sampler *s) { return &s->cfg; }

cgan_status cgan_sampler_from_trainer(cgan_sampler *s, cgan_trainer *t, int use_ema)
{
    cgan_graph *src = cgan_trainer_generator(t)->g;
    size_t np = 0, ns = 0, mp = 0, ms = 0;
    cl_mem sp = cgan_graph_param_arena(src, &np), ss = cgan_graph_state_arena(src, &ns);
    cl_mem dp = cgan_graph_param_arena(s->G.g, &mp), ds = cgan_graph_state_arena(s->G.g, &ms);
    /* same architecture, other batch: the arenas have the same layout */
    if (np != mp || ns != ms)
        return cgan_error(s->ctx, CGAN_E_SHAPE, "sampler: the generator's layout differs from the trainer's");
    cl_mem from = use_ema && cgan_trainer_ema(t) ? cgan_trainer_ema(t) : sp;
    CGAN_TRY(cgan_buffer_copy(s->ctx, from, 0, dp, 0, np * sizeof(float)));
    if (ns) CGAN_TRY(cgan_buffer_copy(s->ctx, ss, 0, ds, 0, ns * sizeof(float)));
    return CGAN_OK;
}

cgan_status cgan_sampler_from_checkpoint(cgan_sampler *s, const cgan_st_file *f, int use_ema)
{
    cgan_graph *g = s->G.g;
    cgan_status st = CGAN_OK;
    for (int i = 0; i < cgan_graph_tensor_count(g) && st == CGAN_OK; i++) {
        cgan_gtensor *t = cgan_graph_tensor(g, i);
        if (t->kind != CGAN_TENSOR_PARAM && t->kind != CGAN_TENSOR_STATE) continue;
        char name[160];
        /* EMA weights; and their standing BatchNorm statistics where the run made them
         * (--standing-stats), else the training statistics */
        const cgan_st_tensor *found;
        snprintf(name, sizeof name, "ema.%s", t->name);
        int ema = use_ema && (t->kind == CGAN_TENSOR_PARAM || (use_ema != CGAN_SAMPLE_EMA_TRAINING_STATS &&
                                                               cgan_st_find(NULL, f, name, &found) == CGAN_OK));
        snprintf(name, sizeof name, "%s%s", ema ? "ema." : "", t->name);
        size_t n = cgan_numel(t->shape);
        float *h = malloc(n * sizeof *h);
        if (!h) return cgan_error(s->ctx, CGAN_E_NOMEM, "out of memory");
        st = cgan_st_read(s->ctx, f, name, CGAN_ST_F32, h, (int64_t)n);
        if (st == CGAN_OK) st = cgan_graph_write(g, i, h);
        free(h);
    }
    return st;
}

cgan_status cgan_sampler_run(cgan_sampler *s, const float *z, const float *labels, float *images)
{
    cgan_graph *g = s->G.g;
    CGAN_TRY(cgan_graph_write(g, s->G.z, z));
    if (s->G.labels >= 0) {
        if (!labels) return cgan_error(s->ctx, CGAN_E_INVALID, "sampler: the model is conditional; labels are needed");
        CGAN_TRY(cgan_graph_write(g, s->G.labels, labels));
    }
    CGAN_TRY(cgan_graph_forward(g, 0, 0));
    return cgan_graph_read(g, s->G.out, images);
}
