/* The public optimiser objects (cgan/optim.h): Adam and an EMA over one graph's parameter
 * arena, each owning its state buffers; the updates are the kernels of adam.c and ema.c. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "optim.h"
#include "core/graph_impl.h"
#include "core/exec.h"

struct cgan_optimizer {
    cgan_graph *g;
    cgan_adam_cfg cfg;
    cl_mem m, v;
    size_t n;
    int64_t t;
};

struct cgan_ema {
    cgan_graph *g;
    float decay;
    cl_mem avg;
    size_t n;
};

cgan_adam_cfg cgan_adam_defaults(void)
{
    cgan_adam_cfg c = { 2e-4f, 0.5f, 0.999f, 1e-8f, 0.f };
    return c;
}

/* The parameter arena of a planned graph, or an error naming what is missing. */
static cgan_status arena(cgan_graph *g, int need_grads, const char *who, size_t *n)
{
    if (!g) return CGAN_E_INVALID;
    size_t np = 0, ng = 0;
    cl_mem p = cgan_graph_param_arena(g, &np);
    cl_mem gr = cgan_graph_grad_arena(g, &ng);
    if (!p || np == 0)
        return cgan_error(g->ctx, CGAN_E_INVALID, "%s: graph %s is not planned or has no parameters", who, g->prefix);
    if (need_grads && !gr)
        return cgan_error(g->ctx, CGAN_E_INVALID, "%s: graph %s is not planned for training (CGAN_MODE_TRAIN)",
                          who, g->prefix);
    if (np >= INT_MAX) return cgan_error(g->ctx, CGAN_E_INVALID, "%s: %zu parameters exceed the 32-bit range", who, np);
    *n = np;
    return CGAN_OK;
}

static cgan_status zeroed(cgan_ctx *ctx, size_t n, const char *what, cl_mem *out)
{
    CGAN_TRY(cgan_buffer_create(ctx, n * sizeof(float), what, out));
    return cgan_buffer_fill_f32(ctx, *out, 0, n, 0.f);
}

cgan_status cgan_adam_create(cgan_graph *g, const cgan_adam_cfg *cfg, cgan_optimizer **out)
{
    if (!out) return CGAN_E_INVALID;
    *out = NULL;
    size_t n = 0;
    CGAN_TRY(arena(g, 1, "cgan_adam_create", &n));
    cgan_adam_cfg c = cfg ? *cfg : cgan_adam_defaults();
    if (!(c.lr > 0.f) || isinf(c.lr) || !(c.eps > 0.f) || isinf(c.eps) || !(c.beta1 >= 0.f && c.beta1 < 1.f) ||
        !(c.beta2 >= 0.f && c.beta2 < 1.f) || !(c.weight_decay >= 0.f) || isinf(c.weight_decay))
        return cgan_error(g->ctx, CGAN_E_INVALID,
                          "cgan_adam_create: lr %g, eps %g must be finite and > 0, betas %g, %g in [0, 1), "
                          "weight decay %g finite and >= 0", c.lr, c.eps, c.beta1, c.beta2, c.weight_decay);
    cgan_optimizer *o = calloc(1, sizeof *o);
    if (!o) return cgan_error(g->ctx, CGAN_E_NOMEM, "cgan_adam_create: out of memory");
    o->g = g;
    o->cfg = c;
    o->n = n;
    cgan_status st = zeroed(g->ctx, n, "adam.m", &o->m);
    if (st == CGAN_OK) st = zeroed(g->ctx, n, "adam.v", &o->v);
    if (st != CGAN_OK) {
        cgan_optimizer_destroy(o);
        return st;
    }
    *out = o;
    return CGAN_OK;
}

cgan_status cgan_optimizer_step(cgan_optimizer *o)
{
    if (!o) return CGAN_E_INVALID;
    if (o->t >= INT_MAX) return cgan_error(o->g->ctx, CGAN_E_INVALID, "adam: step counter overflow");
    CGAN_TRY(cgan_adam_step(o->g->ctx, &o->cfg, o->n, cgan_graph_param_arena(o->g, NULL),
                            cgan_graph_grad_arena(o->g, NULL), o->m, o->v, (int)(o->t + 1)));
    o->t++;
    return CGAN_OK;
}

cgan_status cgan_optimizer_set_lr(cgan_optimizer *o, float lr)
{
    if (!o) return CGAN_E_INVALID;
    if (!(lr > 0.f) || isinf(lr))
        return cgan_error(o->g->ctx, CGAN_E_INVALID, "adam: learning rate %g must be finite and > 0", lr);
    o->cfg.lr = lr;
    return CGAN_OK;
}

int64_t cgan_optimizer_steps(const cgan_optimizer *o) { return o ? o->t : 0; }

void cgan_optimizer_destroy(cgan_optimizer *o)
{
    if (!o) return;
    cgan_buffer_release(o->m);
    cgan_buffer_release(o->v);
    free(o);
}

cgan_status cgan_ema_create(cgan_graph *g, float decay, cgan_ema **out)
{
    if (!out) return CGAN_E_INVALID;
    *out = NULL;
    size_t n = 0;
    CGAN_TRY(arena(g, 0, "cgan_ema_create", &n));
    if (!(decay >= 0.f && decay < 1.f))
        return cgan_error(g->ctx, CGAN_E_INVALID, "cgan_ema_create: decay %g must be in [0, 1)", decay);
    cgan_ema *e = calloc(1, sizeof *e);
    if (!e) return cgan_error(g->ctx, CGAN_E_NOMEM, "cgan_ema_create: out of memory");
    e->g = g;
    e->decay = decay;
    e->n = n;
    cgan_status st = cgan_buffer_create(g->ctx, n * sizeof(float), "ema", &e->avg);
    if (st == CGAN_OK)
        st = cgan_buffer_copy(g->ctx, cgan_graph_param_arena(g, NULL), 0, e->avg, 0, n * sizeof(float));
    if (st != CGAN_OK) {
        cgan_ema_destroy(e);
        return st;
    }
    *out = e;
    return CGAN_OK;
}

cgan_status cgan_ema_step(cgan_ema *e)
{
    if (!e) return CGAN_E_INVALID;
    return cgan_ema_update(e->g->ctx, e->n, e->decay, e->avg, cgan_graph_param_arena(e->g, NULL));
}

cgan_status cgan_ema_copy_to(cgan_ema *e, cgan_graph *dst)
{
    if (!e) return CGAN_E_INVALID;
    size_t n = 0;
    CGAN_TRY(arena(dst, 0, "cgan_ema_copy_to", &n));
    if (dst->ctx != e->g->ctx)
        return cgan_error(e->g->ctx, CGAN_E_INVALID, "cgan_ema_copy_to: graph %s is on another context", dst->prefix);
    /* the same parameters in the same order: names after the prefix and shapes */
    int i = 0, j = 0;
    for (;;) {
        while (i < e->g->nt && e->g->t[i].kind != CGAN_TENSOR_PARAM) i++;
        while (j < dst->nt && dst->t[j].kind != CGAN_TENSOR_PARAM) j++;
        if (i >= e->g->nt || j >= dst->nt) break;
        const char *a = e->g->t[i].name + strlen(e->g->prefix), *b = dst->t[j].name + strlen(dst->prefix);
        if (strcmp(a, b) || !cgan_shape_eq(e->g->t[i].shape, dst->t[j].shape))
            return cgan_error(e->g->ctx, CGAN_E_SHAPE, "cgan_ema_copy_to: parameter %s does not match %s",
                              e->g->t[i].name, dst->t[j].name);
        i++, j++;
    }
    if (i < e->g->nt || j < dst->nt || n != e->n)
        return cgan_error(e->g->ctx, CGAN_E_SHAPE, "cgan_ema_copy_to: graphs %s and %s hold different parameters",
                          e->g->prefix, dst->prefix);
    return cgan_buffer_copy(e->g->ctx, e->avg, 0, cgan_graph_param_arena(dst, NULL), 0, e->n * sizeof(float));
}

void cgan_ema_destroy(cgan_ema *e)
{
    if (!e) return;
    cgan_buffer_release(e->avg);
    free(e);
}
