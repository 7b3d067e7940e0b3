/* The GEMM shapes to measure: recorded from one real training step of each model (through
 * cgan_gemm's observer, so the list follows the code), deduplicated, plus square sizes. */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

typedef struct recorder {
    cgan_ctx *ctx;
    bench_shape *v;
    int n, cap;
    const char *origin;
    cgan_status st;
} recorder;

static cgan_status push(cgan_ctx *ctx, bench_shape **v, int *n, int *cap, const bench_shape *s)
{
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 32;
        bench_shape *nv = realloc(*v, (size_t)nc * sizeof *nv);
        if (!nv) return bench_fail(ctx, CGAN_E_NOMEM, "out of memory recording GEMM shapes");
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *s;
    return CGAN_OK;
}

static void observe(void *user, const cgan_gemm_shape *s, float alpha, float beta,
                    const char *route)
{
    recorder *r = user;
    (void)route;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].origin, r->origin) && bench_shape_eq(&r->v[i].s, s)) {
            r->v[i].calls++;
            return;
        }
    bench_shape b = { *s, alpha, beta, 1, "" };
    snprintf(b.origin, sizeof b.origin, "%s", r->origin);
    if (r->st == CGAN_OK) r->st = push(r->ctx, &r->v, &r->n, &r->cap, &b);
}

static cgan_status record_arch(cgan_ctx *ctx, cgan_arch arch, int batch, recorder *r)
{
    cgan_train_cfg cfg;
    bench_train_cfg(arch, batch, &cfg);
    const int S = cfg.model.size;
    size_t img = (size_t)batch * cfg.model.nc * S * S;
    float *x = malloc(img * sizeof *x), *y = malloc((size_t)batch * sizeof *y);
    cgan_trainer *t = NULL;
    cgan_status st = x && y ? CGAN_OK : bench_fail(ctx, CGAN_E_NOMEM, "out of memory");
    if (st == CGAN_OK) {
        cgan_rng rng;
        cgan_rng_init(&rng, 3, 3);
        cgan_rng_fill_uniform(&rng, x, img, -1, 1);
        for (int i = 0; i < batch; i++)
            y[i] = (float)(cfg.model.num_classes ? i % cfg.model.num_classes : 0);
        st = cgan_trainer_create(ctx, &cfg, &t);
    }
    if (st == CGAN_OK) {
        r->origin = cgan_arch_name(arch);
        st = cgan_gemm_record(ctx, observe, r);
        if (st == CGAN_OK) st = cgan_trainer_step(t, x, cfg.model.num_classes ? y : NULL);
        cgan_gemm_record(ctx, NULL, NULL);
        if (st == CGAN_OK) st = bench_finish(ctx);
        if (st == CGAN_OK) st = r->st;
    }
    cgan_trainer_destroy(t);
    free(x);
    free(y);
    return st;
}

cgan_status bench_model_shapes(cgan_ctx *ctx, const bench_opts *o, bench_shape **v, int *n)
{
    recorder r = { ctx, *v, *n, *n, NULL, CGAN_OK };
    cgan_status st = CGAN_OK;
    if (bench_arch_on(o, CGAN_ARCH_SEED32)) st = record_arch(ctx, CGAN_ARCH_SEED32, o->batch, &r);
    if (st == CGAN_OK && bench_arch_on(o, CGAN_ARCH_DCGAN64))
        st = record_arch(ctx, CGAN_ARCH_DCGAN64, o->batch, &r);
    *v = r.v;
    *n = r.n;
    return st;
}

cgan_status bench_square_shapes(cgan_ctx *ctx, const char *list, bench_shape **v, int *n)
{
    if (!list || !strcmp(list, "none")) return CGAN_OK;
    int cap = *n;
    for (const char *p = list; *p;) {
        char *end;
        long s = strtol(p, &end, 10);
        if (end == p || s < 1 || s > 16384 || (*end && *end != ','))
            return bench_fail(ctx, CGAN_E_INVALID, "--square '%s': expected sizes like 256,512 "
                              "(1..16384) or 'none'", list);
        size_t z = (size_t)s;
        bench_shape b = { { 0, 0, z, z, z, 1, z, z, z, 0, 0, 0 }, 1.0f, 0.0f, 0, "square" };
        BENCH_TRY(push(ctx, v, n, &cap, &b));
        p = *end ? end + 1 : end;
    }
    return CGAN_OK;
}

int bench_shape_eq(const cgan_gemm_shape *a, const cgan_gemm_shape *b)
{
    return a->ta == b->ta && a->tb == b->tb && a->m == b->m && a->n == b->n && a->k == b->k &&
           a->batch == b->batch && a->lda == b->lda && a->ldb == b->ldb && a->ldc == b->ldc &&
           a->a_stride == b->a_stride && a->b_stride == b->b_stride && a->c_stride == b->c_stride;
}

void bench_shape_str(const cgan_gemm_shape *s, char *out, size_t n)
{
    snprintf(out, n, "%s%s m=%zu n=%zu k=%zu batch=%zu lda=%zu ldb=%zu ldc=%zu strides=%zu/%zu/%zu",
             s->ta ? "T" : "N", s->tb ? "T" : "N", s->m, s->n, s->k, s->batch, s->lda, s->ldb,
             s->ldc, s->a_stride, s->b_stride, s->c_stride);
}

void bench_shape_label(const bench_shape *s, char *out, size_t n)
{
    const cgan_gemm_shape *t = &s->s;
    if (t->batch > 1)
        snprintf(out, n, "%s%s %zux%zux%zu b%zu", t->ta ? "T" : "N", t->tb ? "T" : "N", t->m, t->n,
                 t->k, t->batch);
    else
        snprintf(out, n, "%s%s %zux%zux%zu", t->ta ? "T" : "N", t->tb ? "T" : "N", t->m, t->n, t->k);
}

double bench_shape_flop(const bench_shape *s)
{
    return 2.0 * (double)s->s.m * (double)s->s.n * (double)s->s.k * (double)s->s.batch;
}

json_t *bench_shape_json(const bench_shape *s)
{
    const cgan_gemm_shape *t = &s->s;
    return json_pack("{s:s,s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:[I,I,I],s:f,s:f}",
                     "origin", s->origin, "calls_per_step", s->calls, "ta", t->ta ? "T" : "N",
                     "tb", t->tb ? "T" : "N", "m", (json_int_t)t->m, "n", (json_int_t)t->n,
                     "k", (json_int_t)t->k, "batch", (json_int_t)t->batch,
                     "lda", (json_int_t)t->lda, "ldb", (json_int_t)t->ldb,
                     "ldc", (json_int_t)t->ldc, "strides", (json_int_t)t->a_stride,
                     (json_int_t)t->b_stride, (json_int_t)t->c_stride, "alpha", (double)s->alpha,
                     "beta", (double)s->beta);
}
