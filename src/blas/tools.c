/* The public GEMM and tuning calls of cgan/tools.h: thin wrappers over gemm.c (the default
 * choice, routes), owngemm.c (candidates), tune.c (the table, choices, CLBlast overrides).
 * cgan_gemm_record lives in gemm.c, beside the observer it extends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cgan/tools.h"
#include "gemm.h"
#include "owngemm.h"
#include "tune.h"

_Static_assert(CGAN_GEMM_CHOICE_MAX == CGAN_TUNE_CHOICE_MAX, "public and internal choice sizes");
_Static_assert(CGAN_CLBLAST_PARAMS_MAX == CGAN_TUNE_PARAMS_MAX, "CLBlast parameter counts");
_Static_assert(sizeof(cgan_clblast_params) == sizeof(cgan_tune_override) &&
               sizeof(((cgan_clblast_params *)0)->kernel) == sizeof(((cgan_tune_override *)0)->kernel) &&
               sizeof(((cgan_clblast_params *)0)->names) == sizeof(((cgan_tune_override *)0)->names),
               "cgan_clblast_params mirrors cgan_tune_override");

struct cgan_tuning {
    cgan_ctx *ctx;
    cgan_tune_table t;
};

static cgan_tune_shape to_internal(const cgan_gemm_shape *s)
{
    cgan_tune_shape t = { s->ta != 0, s->tb != 0, s->m, s->n, s->k, s->batch, s->lda, s->ldb,
                          s->ldc, s->a_stride, s->b_stride, s->c_stride };
    return t;
}

static cgan_gemm_shape to_public(const cgan_tune_shape *t)
{
    cgan_gemm_shape s = { t->ta, t->tb, t->m, t->n, t->k, t->batch, t->lda, t->ldb, t->ldc,
                          t->a_stride, t->b_stride, t->c_stride };
    return s;
}

static void override_in(cgan_tune_override *o, const cgan_clblast_params *p)
{
    memset(o, 0, sizeof *o);
    memcpy(o->kernel, p->kernel, sizeof o->kernel);
    o->kernel[sizeof o->kernel - 1] = '\0';
    o->count = p->count;
    for (int i = 0; i < p->count && i < CGAN_TUNE_PARAMS_MAX; i++) {
        memcpy(o->names[i], p->names[i], sizeof o->names[i]);
        o->names[i][sizeof o->names[i] - 1] = '\0';
        o->values[i] = p->values[i];
    }
}

static void override_out(cgan_clblast_params *p, const cgan_tune_override *o)
{
    memset(p, 0, sizeof *p);
    memcpy(p->kernel, o->kernel, sizeof p->kernel);
    p->count = o->count;
    for (int i = 0; i < o->count; i++) {
        memcpy(p->names[i], o->names[i], sizeof p->names[i]);
        p->values[i] = o->values[i];
    }
}

static cgan_status check_params(cgan_ctx *ctx, const cgan_clblast_params *p, int n, int max)
{
    if (n < 0 || n > max || (n && !p))
        return cgan_error(ctx, CGAN_E_INVALID, "CLBlast parameters: %d sets (0..%d)", n, max);
    for (int i = 0; i < n; i++)
        if (p[i].count < 0 || p[i].count > CGAN_CLBLAST_PARAMS_MAX)
            return cgan_error(ctx, CGAN_E_INVALID, "CLBlast parameters of %.15s: %d of them (0..%d)",
                              p[i].kernel, p[i].count, CGAN_CLBLAST_PARAMS_MAX);
    return CGAN_OK;
}

/* ---- GEMM ------------------------------------------------------------------------------ */

/* Floats an operand stored rows x cols (leading dimension ld) reaches over the batch. */
static size_t extent(size_t rows, size_t cols, size_t ld, size_t stride, size_t batch)
{
    if (!rows || !cols || !batch) return 0;
    return (batch - 1) * stride + (rows - 1) * ld + cols;
}

static cgan_status fits(cgan_ctx *ctx, const cgan_tensor *t, size_t need, const char *which)
{
    if (!t) return cgan_error(ctx, CGAN_E_INVALID, "gemm: tensor %s is NULL", which);
    if (cgan_tensor_numel(t) < need)
        return cgan_error(ctx, CGAN_E_SHAPE, "gemm: tensor %s holds %zu floats, the shape reaches %zu",
                          which, cgan_tensor_numel(t), need);
    return CGAN_OK;
}

static cgan_gemm_args args_of(const cgan_gemm_shape *s, float alpha, float beta)
{
    cgan_gemm_args g = { .ta = s->ta ? CGAN_TRANS : CGAN_NO_TRANS,
                         .tb = s->tb ? CGAN_TRANS : CGAN_NO_TRANS, .m = s->m, .n = s->n,
                         .k = s->k, .alpha = alpha, .beta = beta, .lda = s->lda,
                         .a_stride = s->a_stride, .ldb = s->ldb, .b_stride = s->b_stride,
                         .ldc = s->ldc, .c_stride = s->c_stride, .batch = s->batch };
    return g;
}

cgan_status cgan_gemm_run(cgan_ctx *ctx, const char *choice, const cgan_gemm_shape *s, float alpha,
                          const cgan_tensor *a, const cgan_tensor *b, float beta, cgan_tensor *c)
{
    if (!ctx) return CGAN_E_INVALID;
    if (!s) return cgan_error(ctx, CGAN_E_INVALID, "gemm: NULL shape");
    CGAN_TRY(fits(ctx, a, extent(s->ta ? s->k : s->m, s->ta ? s->m : s->k, s->lda, s->a_stride,
                                 s->batch), "A"));
    CGAN_TRY(fits(ctx, b, extent(s->tb ? s->n : s->k, s->tb ? s->k : s->n, s->ldb, s->b_stride,
                                 s->batch), "B"));
    CGAN_TRY(fits(ctx, c, extent(s->m, s->n, s->ldc, s->c_stride, s->batch), "C"));
    cgan_gemm_args g = args_of(s, alpha, beta);
    g.a = cgan_tensor_cl_mem(a);
    g.b = cgan_tensor_cl_mem(b);
    g.c = cgan_tensor_cl_mem(c);
    if (!choice) return cgan_gemm(ctx, &g);
    if (!strcmp(choice, "own")) return cgan_gemm_provider_own()->gemm(ctx, &g);
    return cgan_tune_run_choice(ctx, &g, choice);
}

cgan_status cgan_gemm_default_choice(cgan_ctx *ctx, char *buf, size_t n)
{
    if (!ctx || !buf || !n) return CGAN_E_INVALID;
    const cgan_gemm_provider *p = cgan_gemm_current(ctx);
    if (!strcmp(p->name, "own")) {
        const char *v = cgan_gemm_own_variant_for(ctx);
        snprintf(buf, n, "own:%s", v ? v : "cpu");
    } else {
        snprintf(buf, n, "%s", p->name);
    }
    return CGAN_OK;
}

cgan_status cgan_gemm_default_route(cgan_ctx *ctx, const cgan_gemm_shape *s, char *buf, size_t n)
{
    if (!ctx || !buf || !n) return CGAN_E_INVALID;
    if (!s) return cgan_error(ctx, CGAN_E_INVALID, "gemm route: NULL shape");
    cgan_gemm_args g = args_of(s, 1.0f, 0.0f);
    snprintf(buf, n, "%s", cgan_gemm_route(ctx, &g));
    return CGAN_OK;
}

cgan_status cgan_gemm_candidates(cgan_ctx *ctx, const cgan_gemm_shape *s,
                                 char (*out)[CGAN_GEMM_CHOICE_MAX], int max, int *count)
{
    if (!ctx || !count) return CGAN_E_INVALID;
    *count = 0;
    if (!s || max < 0 || (max && !out))
        return cgan_error(ctx, CGAN_E_INVALID, "gemm candidates: bad arguments");
    if (!max) return CGAN_OK;
    char (*specs)[CGAN_GEMM_SPEC_MAX] = malloc((size_t)max * sizeof *specs);
    if (!specs) return cgan_error(ctx, CGAN_E_NOMEM, "gemm candidates: out of memory");
    cgan_gemm_args g = args_of(s, 1.0f, 0.0f);
    int ns = cgan_gemm_own_candidates(ctx, &g, specs, max);
    for (int i = 0; i < ns; i++)
        snprintf(out[i], CGAN_GEMM_CHOICE_MAX, "own:%.*s", CGAN_GEMM_SPEC_MAX - 1, specs[i]);
    free(specs);
    *count = ns;
    return CGAN_OK;
}

cgan_status cgan_clblast_apply(cgan_ctx *ctx, const cgan_clblast_params *p, int n)
{
    if (!ctx) return CGAN_E_INVALID;
    CGAN_TRY(check_params(ctx, p, n, 64));
    for (int i = 0; i < n; i++) {
        cgan_tune_override o;
        override_in(&o, &p[i]);
        CGAN_TRY(cgan_tune_apply_overrides(ctx, &o, 1));
    }
    return CGAN_OK;
}

/* ---- the tuning table -------------------------------------------------------------------- */

int cgan_tuning_applies(cgan_ctx *ctx)
{
    return cgan_gemm_tuning_applies(ctx);
}

cgan_status cgan_tuning_use(cgan_ctx *ctx, int on)
{
    if (!ctx) return CGAN_E_INVALID;
    ctx->profile.tune = on != 0;
    cgan_gemm_tune_reload(ctx);
    return CGAN_OK;
}

cgan_status cgan_tuning_path(cgan_ctx *ctx, char *buf, size_t n)
{
    if (!ctx || !buf || !n) return CGAN_E_INVALID;
    return cgan_tune_path(ctx, buf, n);
}

cgan_status cgan_tuning_create(cgan_ctx *ctx, cgan_tuning **out)
{
    if (!ctx || !out) return CGAN_E_INVALID;
    *out = calloc(1, sizeof **out);
    if (!*out) return cgan_error(ctx, CGAN_E_NOMEM, "tuning table: out of memory");
    (*out)->ctx = ctx;
    cgan_tune_table_init(&(*out)->t);
    return CGAN_OK;
}

cgan_status cgan_tuning_load(cgan_ctx *ctx, cgan_tuning **out)
{
    if (!ctx || !out) return CGAN_E_INVALID;
    CGAN_TRY(cgan_tuning_create(ctx, out));
    cgan_status st = cgan_tune_load(ctx, &(*out)->t);
    if (st != CGAN_OK) {
        cgan_tuning_destroy(*out);
        *out = NULL;
    }
    return st;
}

cgan_status cgan_tuning_save(cgan_tuning *t)
{
    if (!t) return CGAN_E_INVALID;
    return cgan_tune_save(t->ctx, &t->t);
}

void cgan_tuning_destroy(cgan_tuning *t)
{
    if (!t) return;
    cgan_tune_table_free(&t->t);
    free(t);
}

int cgan_tuning_count(const cgan_tuning *t)
{
    return t ? t->t.n : 0;
}

cgan_status cgan_tuning_entry(const cgan_tuning *t, int i, cgan_gemm_shape *s, const char **choice)
{
    if (!t) return CGAN_E_INVALID;
    if (i < 0 || i >= t->t.n)
        return cgan_error(t->ctx, CGAN_E_INVALID, "tuning table: no entry %d (%d entries)", i, t->t.n);
    if (s) *s = to_public(&t->t.e[i].s);
    if (choice) *choice = t->t.e[i].choice;
    return CGAN_OK;
}

cgan_status cgan_tuning_set(cgan_tuning *t, const cgan_gemm_shape *s, const char *choice,
                            double default_ms, double tuned_ms)
{
    if (!t) return CGAN_E_INVALID;
    if (!s) return cgan_error(t->ctx, CGAN_E_INVALID, "tuning table: NULL shape");
    CGAN_TRY(cgan_tune_choice_check(t->ctx, choice));
    cgan_tune_shape ts = to_internal(s);
    return cgan_tune_table_set(t->ctx, &t->t, &ts, choice, default_ms, tuned_ms);
}

cgan_status cgan_tuning_remove(cgan_tuning *t, int i)
{
    if (!t) return CGAN_E_INVALID;
    if (i < 0 || i >= t->t.n)
        return cgan_error(t->ctx, CGAN_E_INVALID, "tuning table: no entry %d (%d entries)", i, t->t.n);
    memmove(&t->t.e[i], &t->t.e[i + 1], (size_t)(t->t.n - i - 1) * sizeof t->t.e[0]);
    t->t.n--;
    return CGAN_OK;
}

cgan_status cgan_tuning_clblast(const cgan_tuning *t, cgan_clblast_params p[2], int *n)
{
    if (!t || !p || !n) return CGAN_E_INVALID;
    *n = t->t.n_ov;
    for (int i = 0; i < t->t.n_ov; i++) override_out(&p[i], &t->t.ov[i]);
    return CGAN_OK;
}

cgan_status cgan_tuning_set_clblast(cgan_tuning *t, const cgan_clblast_params *p, int n)
{
    if (!t) return CGAN_E_INVALID;
    CGAN_TRY(check_params(t->ctx, p, n, 2));
    memset(t->t.ov, 0, sizeof t->t.ov);
    for (int i = 0; i < n; i++) override_in(&t->t.ov[i], &p[i]);
    t->t.n_ov = n;
    return CGAN_OK;
}
