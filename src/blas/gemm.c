/* GEMM front end: argument checks, the provider choice per context (with the tuning table
 * of src/blas/tune.c), an observer for tools, the plain shortcut. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "owngemm.h"
#include "packgemm.h"
#include "tune.h"
#include "cgan/tools.h"

#define FAILED_MAX 64

/* What hangs off ctx->blas. */
typedef struct blas_state {
    const cgan_gemm_provider *provider; /* pinned by cgan_gemm_use; NULL: the default */
    cgan_gemm_observer observe;
    void *observe_user;
    cgan_gemm_record_fn record;         /* the public recorder (cgan/tools.h) */
    void *record_user;
    int tune_tried;                     /* the table was looked for (once per context) */
    cgan_tune_table tune;
    char tune_warning[512];
    char route[CGAN_TUNE_CHOICE_MAX + 8];
    cl_mem work;                        /* the GEMM workspace (packed operands), grow-only */
    size_t work_bytes;
    cgan_gemm_args failed[FAILED_MAX];  /* shapes another provider failed on: our own runs them */
    int n_failed;
} blas_state;

static void blas_state_free(void *p)
{
    blas_state *s = p;
    if (s) {
        cgan_tune_table_free(&s->tune);
        cgan_buffer_release(s->work);
    }
    free(p);
}

/* The state of ctx, created on first need; NULL when out of memory (then the defaults
 * apply: no observer, no tuning). */
static blas_state *state_of(cgan_ctx *ctx)
{
    if (!ctx) return NULL;
    if (!ctx->blas) {
        blas_state *s = calloc(1, sizeof *s);
        if (!s) return NULL;
        ctx->blas = s;
        ctx->blas_destroy = blas_state_free;
    }
    return ctx->blas;
}

/* The default: the device profile's provider (profile.c says why it is our own). */
static const cgan_gemm_provider *default_provider(cgan_ctx *ctx)
{
    if (ctx && ctx->opened && !strcmp(ctx->profile.gemm_provider, "clblast"))
        return cgan_gemm_provider_clblast();
    return cgan_gemm_provider_own();
}

const cgan_gemm_provider *cgan_gemm_current(cgan_ctx *ctx)
{
    const blas_state *s = ctx ? ctx->blas : NULL;
    return (s && s->provider) ? s->provider : default_provider(ctx);
}

void cgan_gemm_use(cgan_ctx *ctx, const cgan_gemm_provider *p)
{
    if (!ctx || (!p && !ctx->blas)) return; /* the default needs no state */
    blas_state *s = state_of(ctx);
    if (s) s->provider = p; /* NULL: back to the default */
}

void cgan_gemm_observe(cgan_ctx *ctx, cgan_gemm_observer fn, void *user)
{
    blas_state *s = (fn || (ctx && ctx->blas)) ? state_of(ctx) : NULL;
    if (!s) return;
    s->observe = fn;
    s->observe_user = user;
}

cgan_status cgan_gemm_record(cgan_ctx *ctx, cgan_gemm_record_fn fn, void *user)
{
    if (!ctx) return CGAN_E_INVALID;
    blas_state *s = (fn || ctx->blas) ? state_of(ctx) : NULL;
    if (!s) return fn ? cgan_error(ctx, CGAN_E_NOMEM, "gemm record: out of memory") : CGAN_OK;
    s->record = fn;
    s->record_user = user;
    return CGAN_OK;
}

static void record(blas_state *s, const cgan_gemm_args *g, const char *route)
{
    cgan_tune_shape t = cgan_tune_shape_of(g);
    cgan_gemm_shape p = { t.ta, t.tb, t.m, t.n, t.k, t.batch, t.lda, t.ldb, t.ldc,
                          t.a_stride, t.b_stride, t.c_stride };
    s->record(s->record_user, &p, g->alpha, g->beta, route);
}

/* ---- the workspace ------------------------------------------------------------------------- */
cgan_status cgan_gemm_workspace(cgan_ctx *ctx, size_t bytes, cl_mem *out)
{
    blas_state *s = state_of(ctx);
    if (!s) return cgan_error(ctx, CGAN_E_NOMEM, "gemm workspace: out of memory");
    if (s->work_bytes < bytes) {
        /* a buffer still read by queued kernels is freed only once they complete */
        cgan_buffer_release(s->work);
        s->work = NULL;
        s->work_bytes = 0;
        CGAN_TRY(cgan_buffer_create(ctx, bytes, "gemm workspace", &s->work));
        s->work_bytes = bytes;
        /* tests: NaN in every fresh workspace, so that a product reading what no copy
         * wrote shows up in its result */
        if (ctx->profile.gemm_poison)
            CGAN_TRY(cgan_buffer_fill_f32(ctx, s->work, 0, bytes / sizeof(float), NAN));
    }
    *out = s->work;
    return CGAN_OK;
}

/* ---- the tuning table ---------------------------------------------------------------------- */
/* The table applies to the default choice only: not when cgan_gemm_use or the environment
 * ($CGAN_GEMM_PROVIDER, $CGAN_GEMM_VARIANT) pins the provider, nor with $CGAN_TUNE_DISABLE. */
static int tuning_applies(const cgan_ctx *ctx, const blas_state *s)
{
    return !s->provider && !ctx->profile.gemm_pinned && ctx->profile.tune;
}

int cgan_gemm_tuning_applies(cgan_ctx *ctx)
{
    blas_state *s = ctx ? ctx->blas : NULL;
    blas_state none = { 0 };
    return ctx && tuning_applies(ctx, s ? s : &none);
}

/* Load the table once; a missing file is silent, a bad one leaves a warning. The context's
 * error message is kept: looking for the table is not the caller's operation. */
static void tune_load_once(cgan_ctx *ctx, blas_state *s)
{
    if (s->tune_tried) return;
    s->tune_tried = 1;
    char saved[CGAN_ERRMSG_MAX];
    memcpy(saved, ctx->err, sizeof saved);
    cgan_status st = cgan_tune_load(ctx, &s->tune);
    if (st != CGAN_OK && st != CGAN_E_NOT_FOUND)
        snprintf(s->tune_warning, sizeof s->tune_warning, "%.500s", ctx->err);
    if (st == CGAN_OK && s->tune.n_ov &&
        cgan_tune_apply_overrides(ctx, s->tune.ov, s->tune.n_ov) != CGAN_OK)
        snprintf(s->tune_warning, sizeof s->tune_warning, "tuning: CLBlast overrides not "
                 "applied: %.400s", ctx->err);
    memcpy(ctx->err, saved, sizeof saved);
}

static const char *tuned_choice(cgan_ctx *ctx, blas_state *s, const cgan_gemm_args *g)
{
    if (!s || !tuning_applies(ctx, s)) return NULL;
    tune_load_once(ctx, s);
    if (!s->tune.n) return NULL;
    cgan_tune_shape sh = cgan_tune_shape_of(g);
    const cgan_tune_entry *e = cgan_tune_table_find(&s->tune, &sh);
    return e ? e->choice : NULL;
}

void cgan_gemm_tune_reload(cgan_ctx *ctx)
{
    blas_state *s = ctx ? ctx->blas : NULL;
    if (!s) return;
    cgan_tune_table_free(&s->tune);
    s->tune_tried = 0;
    s->tune_warning[0] = '\0';
}

const char *cgan_gemm_tune_warning(cgan_ctx *ctx)
{
    blas_state *s = state_of(ctx);
    if (!s || !tuning_applies(ctx, s)) return NULL;
    tune_load_once(ctx, s);
    return s->tune_warning[0] ? s->tune_warning : NULL;
}

/* "tuned:<choice>" or the provider's name. */
static const char *route_of(cgan_ctx *ctx, blas_state *s, const char *choice)
{
    if (!choice) return cgan_gemm_current(ctx)->name;
    if (!s) return "tuned";
    snprintf(s->route, sizeof s->route, "tuned:%s", choice);
    return s->route;
}

const char *cgan_gemm_route(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    blas_state *s = state_of(ctx);
    return route_of(ctx, s, tuned_choice(ctx, s, g));
}

static const char *tr(cgan_trans t)
{
    return t == CGAN_TRANS ? "T" : "N";
}

/* Leading dimensions of row-major storage: op(A) is MxK, stored MxK (N) or KxM (T). */
static cgan_status check_args(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    size_t a_cols = g->ta == CGAN_TRANS ? g->m : g->k;
    size_t b_cols = g->tb == CGAN_TRANS ? g->k : g->n;
    const char *bad = NULL;
    size_t have = 0, need = 0;
    if (!g->a || !g->b || !g->c) bad = "buffer";
    else if (g->lda < a_cols) bad = "lda", have = g->lda, need = a_cols;
    else if (g->ldb < b_cols) bad = "ldb", have = g->ldb, need = b_cols;
    else if (g->ldc < g->n) bad = "ldc", have = g->ldc, need = g->n;
    if (!bad) return CGAN_OK;
    if (!need)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu k=%zu: a NULL buffer",
                          tr(g->ta), tr(g->tb), g->m, g->n, g->k);
    return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu k=%zu: %s %zu is below %zu",
                      tr(g->ta), tr(g->tb), g->m, g->n, g->k, bad, have, need);
}

/* The checks of every entry point: *empty = 1 when g writes nothing (then nothing runs). */
static cgan_status entry_checks(cgan_ctx *ctx, const cgan_gemm_args *g, int *empty)
{
    *empty = g->m == 0 || g->n == 0 || g->batch == 0;
    if (*empty) return CGAN_OK;
    if (g->k == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu: k is 0", tr(g->ta),
                          tr(g->tb), g->m, g->n);
    return check_args(ctx, g);
}

/* ---- falling back to our own GEMM ----------------------------------------------------------- */
static int same_shape(const cgan_gemm_args *a, const cgan_gemm_args *b)
{
    return a->ta == b->ta && a->tb == b->tb && a->m == b->m && a->n == b->n && a->k == b->k &&
           a->lda == b->lda && a->ldb == b->ldb && a->ldc == b->ldc && a->batch == b->batch;
}

static int failed_before(const blas_state *s, const cgan_gemm_args *g)
{
    for (int i = 0; s && i < s->n_failed; i++)
        if (same_shape(&s->failed[i], g)) return 1;
    return 0;
}

/* The default route (not a provider pinned by cgan_gemm_use, which tools measure) failed
 * on g in a provider other than ours: with the profile's fallback on, note the shape, say
 * so once, and run g on our own GEMM. */
static cgan_status fall_back(cgan_ctx *ctx, blas_state *s, const cgan_gemm_args *g,
                             cgan_status st, const char *route)
{
    if (st != CGAN_E_BLAS || !s || s->provider || !ctx->profile.gemm_fallback) return st;
    if (!s->n_failed)
        cgan_warn(ctx, "gemm: %s failed (%.300s); our own GEMM runs this and any other shape "
                  "it fails on", route, ctx->err);
    if (s->n_failed < FAILED_MAX) s->failed[s->n_failed++] = *g;
    ctx->err[0] = '\0';
    return cgan_gemm_provider_own()->gemm(ctx, g);
}

cgan_status cgan_gemm(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    int empty;
    CGAN_TRY(entry_checks(ctx, g, &empty));
    if (empty) return CGAN_OK;
    blas_state *s = state_of(ctx);
    const char *choice = tuned_choice(ctx, s, g);
    const char *route = route_of(ctx, s, choice);
    if (s && s->observe) s->observe(s->observe_user, g, route);
    if (s && s->record) record(s, g, route);
    const cgan_gemm_provider *p = cgan_gemm_current(ctx), *own = cgan_gemm_provider_own();
    if (!choice && p == own) return own->gemm(ctx, g);
    if (s && !s->provider && failed_before(s, g)) return own->gemm(ctx, g);
    cgan_status st = choice ? cgan_tune_run_choice(ctx, g, choice) : p->gemm(ctx, g);
    return st == CGAN_OK ? st : fall_back(ctx, s, g, st, route);
}

cgan_status cgan_sgemm(cgan_ctx *ctx, cgan_trans ta, cgan_trans tb, size_t m, size_t n, size_t k,
                       float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                       size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc)
{
    cgan_gemm_args g = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
        .a = a, .a_off = a_off, .lda = lda,
        .b = b, .b_off = b_off, .ldb = ldb,
        .c = c, .c_off = c_off, .ldc = ldc,
        .batch = 1,
    };
    return cgan_gemm(ctx, &g);
}

cgan_status cgan_gemm_viewed(cgan_ctx *ctx, const cgan_gemm_args *g, const cgan_gemm_views *v,
                            int *done)
{
    *done = 0;
    blas_state *s = state_of(ctx);
    /* only where cgan_gemm would take the own provider's packed form for g */
    if (!s || s->provider || cgan_gemm_current(ctx) != cgan_gemm_provider_own() ||
        tuned_choice(ctx, s, g))
        return CGAN_OK;
    int packs;
    CGAN_TRY(cgan_gemm_own_packs(ctx, g, &packs));
    if (!packs) return CGAN_OK;
    int empty;
    CGAN_TRY(entry_checks(ctx, g, &empty));
    if (empty) return *done = 1, CGAN_OK;
    CGAN_TRY(cgan_gemm_own_check_args(ctx, g));
    if (s->observe) s->observe(s->observe_user, g, cgan_gemm_current(ctx)->name);
    if (s->record) record(s, g, cgan_gemm_current(ctx)->name);
    cgan_packed_cfg c = cgan_gemm_packed_config(ctx, g, NULL);
    CGAN_TRY(cgan_gemm_packed(ctx, g, &c, v));
    *done = 1;
    return CGAN_OK;
}
