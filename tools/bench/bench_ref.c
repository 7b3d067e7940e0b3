/* Operands of one GEMM shape (random, on the host and the device), the host reference in
 * double precision, and the check of a result against it.
 *
 * The reference is OpenBLAS's cblas_dgemm when cgan-bench is built with OpenBLAS (every
 * element of C is checked), else (or with $CGAN_BENCH_PLAIN_REF=1) a plain double loop: every element for shapes up to
 * FULL_MACS multiply-adds, else the first and last rows of every batch entry plus random
 * rows, about SAMPLE_MACS in all. Each element must lie within
 *   16 u (sqrt(k) + 2) |alpha| |row i of op(A)| |column j of op(B)| + 8 u |beta c0|
 *   + 4 u |reference|   (u = 2^-24),
 * about 16 times the rounding error a float GEMM of random data makes. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "bench.h"
#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

#define FULL_MACS (1.0 * (1 << 27))
#define SAMPLE_MACS (1.0 * (1 << 26))
#define U (1.0 / 16777216.0)

int bench_host_blas(void)
{
#ifdef HAVE_OPENBLAS
    return 1;
#else
    return 0;
#endif
}

const char *bench_host_blas_version(void)
{
#if defined(HAVE_OPENBLAS) && defined(CGAN_OPENBLAS_VERSION)
    return "OpenBLAS " CGAN_OPENBLAS_VERSION;
#else
    return bench_host_blas() ? "OpenBLAS" : "none";
#endif
}

const char *bench_host_blas_core(void)
{
#ifdef HAVE_OPENBLAS
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
#else
    return "none";
#endif
}

/* Floats an operand stored rows x cols (leading dimension ld) spans over the batch. */
static size_t extent(size_t rows, size_t cols, size_t ld, size_t stride, size_t batch)
{
    return (batch - 1) * stride + (rows - 1) * ld + cols;
}

/* Element (i, l) of op(A) and (l, j) of op(B) of batch entry bi. */
static double op_a(const bench_operands *op, size_t bi, size_t i, size_t l)
{
    const cgan_gemm_shape *g = &op->g;
    const float *A = op->a + bi * g->a_stride;
    return g->ta ? A[l * g->lda + i] : A[i * g->lda + l];
}

static double op_b(const bench_operands *op, size_t bi, size_t l, size_t j)
{
    const cgan_gemm_shape *g = &op->g;
    const float *B = op->b + bi * g->b_stride;
    return g->tb ? B[j * g->ldb + l] : B[l * g->ldb + j];
}

static size_t c_index(const cgan_gemm_shape *g, size_t bi, size_t i, size_t j)
{
    return bi * g->c_stride + i * g->ldc + j;
}

static void norms(bench_operands *op)
{
    const cgan_gemm_shape *g = &op->g;
    for (size_t bi = 0; bi < g->batch; bi++) {
        for (size_t i = 0; i < g->m; i++) {
            double s = 0;
            for (size_t l = 0; l < g->k; l++) s += op_a(op, bi, i, l) * op_a(op, bi, i, l);
            op->anorm[bi * g->m + i] = sqrt(s);
        }
        for (size_t j = 0; j < g->n; j++) {
            double s = 0;
            for (size_t l = 0; l < g->k; l++) s += op_b(op, bi, l, j) * op_b(op, bi, l, j);
            op->bnorm[bi * g->n + j] = sqrt(s);
        }
    }
}

/* Row i of entry bi by the plain loop. */
static void ref_row(bench_operands *op, size_t bi, size_t i, double *acc)
{
    const cgan_gemm_shape *g = &op->g;
    memset(acc, 0, g->n * sizeof *acc);
    for (size_t l = 0; l < g->k; l++) {
        double av = op_a(op, bi, i, l);
        for (size_t j = 0; j < g->n; j++) acc[j] += av * op_b(op, bi, l, j);
    }
}

static void store_row(bench_operands *op, size_t bi, size_t i, const double *acc)
{
    const cgan_gemm_shape *g = &op->g;
    float *r = op->ref + (bi * g->m + i) * g->n;
    for (size_t j = 0; j < g->n; j++)
        r[j] = (float)(op->alpha * acc[j] + (double)op->beta * op->c0[c_index(g, bi, i, j)]);
}

#ifdef HAVE_OPENBLAS
/* On one thread: OpenBLAS's idle workers spin for a while after a call, which would slow
 * the device timings that follow on a CPU device. */
static int ref_blas(bench_operands *op)
{
    const cgan_gemm_shape *g = &op->g;
    int threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    double *a = malloc(op->na * sizeof *a), *b = malloc(op->nb * sizeof *b);
    double *c = malloc(g->m * g->n * sizeof *c);
    int ok = a && b && c;
    for (size_t i = 0; ok && i < op->na; i++) a[i] = op->a[i];
    for (size_t i = 0; ok && i < op->nb; i++) b[i] = op->b[i];
    for (size_t bi = 0; ok && bi < g->batch; bi++) {
        cblas_dgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans,
                    g->tb ? CblasTrans : CblasNoTrans, (int)g->m, (int)g->n,
                    (int)g->k, 1.0, a + bi * g->a_stride, (int)g->lda, b + bi * g->b_stride,
                    (int)g->ldb, 0.0, c, (int)g->n);
        for (size_t i = 0; i < g->m; i++) store_row(op, bi, i, c + i * g->n);
    }
    free(a);
    free(b);
    free(c);
    openblas_set_num_threads(threads);
    return ok;
}
#endif

static int reference(bench_operands *op, unsigned seed)
{
    const cgan_gemm_shape *g = &op->g;
#ifdef HAVE_OPENBLAS
    const char *plain = getenv("CGAN_BENCH_PLAIN_REF"); /* tests of the loop on this build */
    if (!plain || !*plain || !strcmp(plain, "0")) return ref_blas(op);
#endif
    double macs = (double)g->m * (double)g->n * (double)g->k * (double)g->batch;
    size_t per = g->m;
    if (macs > FULL_MACS) {
        op->sampled = 1;
        per = (size_t)(SAMPLE_MACS / ((double)g->n * (double)g->k * (double)g->batch));
        if (per < 2) per = 2;
        if (per > g->m) per = g->m;
    }
    double *acc = malloc(g->n * sizeof *acc);
    if (!acc) return 0;
    cgan_rng r;
    cgan_rng_init(&r, seed, 11);
    for (size_t bi = 0; bi < g->batch; bi++)
        for (size_t t = 0; t < per; t++) {
            size_t i = t;
            if (per < g->m) { /* the edges, then random rows */
                float u;
                cgan_rng_fill_uniform(&r, &u, 1, 0, 1);
                i = t == 0 ? 0 : t == 1 ? g->m - 1 : (size_t)(u * (float)g->m) % g->m;
            }
            ref_row(op, bi, i, acc);
            store_row(op, bi, i, acc);
        }
    free(acc);
    return 1;
}

static double tol_of(const bench_operands *op, size_t bi, size_t i, size_t j, double ref)
{
    const cgan_gemm_shape *g = &op->g;
    double t = 16 * U * (sqrt((double)g->k) + 2) * fabs((double)op->alpha) *
               op->anorm[bi * g->m + i] * op->bnorm[bi * g->n + j];
    return t + 8 * U * fabs((double)op->beta * op->c0[c_index(g, bi, i, j)]) + 4 * U * fabs(ref) +
           1e-30;
}

size_t bench_check(const bench_operands *op, const float *c, double *worst)
{
    const cgan_gemm_shape *g = &op->g;
    size_t bad = 0;
    *worst = 0;
    for (size_t bi = 0; bi < g->batch; bi++)
        for (size_t i = 0; i < g->m; i++) {
            const float *r = op->ref + (bi * g->m + i) * g->n;
            if (isnan(r[0])) continue; /* a row not sampled */
            for (size_t j = 0; j < g->n; j++) {
                double e = fabs((double)c[c_index(g, bi, i, j)] - r[j]) / tol_of(op, bi, i, j, r[j]);
                if (!(e <= 1.0)) bad++;
                if (!(e <= *worst)) *worst = e; /* NaN shows as NaN */
            }
        }
    return bad;
}

void bench_corrupt(const bench_operands *op, float *c)
{
    const cgan_gemm_shape *g = &op->g; /* the last row of the last entry: always checked */
    size_t bi = g->batch - 1, i = g->m - 1, j = (g->n * 7) / 11;
    float *r = op->ref + (bi * g->m + i) * g->n;
    c[c_index(g, bi, i, j)] += (float)(1.0 + 100 * tol_of(op, bi, i, j, r[j]));
}

cgan_status bench_operands_create(cgan_ctx *ctx, const bench_shape *s, unsigned seed,
                                  bench_operands *op)
{
    memset(op, 0, sizeof *op);
    const cgan_gemm_shape *t = &s->s;
    op->g = *t;
    op->alpha = s->alpha;
    op->beta = s->beta;
    op->na = extent(t->ta ? t->k : t->m, t->ta ? t->m : t->k, t->lda, t->a_stride, t->batch);
    op->nb = extent(t->tb ? t->n : t->k, t->tb ? t->k : t->n, t->ldb, t->b_stride, t->batch);
    op->nc = extent(t->m, t->n, t->ldc, t->c_stride, t->batch);
    size_t nref = t->batch * t->m * t->n;
    op->a = malloc(op->na * sizeof *op->a);
    op->b = malloc(op->nb * sizeof *op->b);
    op->c0 = malloc(op->nc * sizeof *op->c0);
    op->ref = malloc(nref * sizeof *op->ref);
    op->anorm = malloc(t->batch * t->m * sizeof *op->anorm);
    op->bnorm = malloc(t->batch * t->n * sizeof *op->bnorm);
    if (!op->a || !op->b || !op->c0 || !op->ref || !op->anorm || !op->bnorm) goto nomem;
    cgan_rng r;
    cgan_rng_init(&r, seed, 7);
    cgan_rng_fill_uniform(&r, op->a, op->na, -1, 1);
    cgan_rng_fill_uniform(&r, op->b, op->nb, -1, 1);
    cgan_rng_fill_uniform(&r, op->c0, op->nc, -1, 1);
    for (size_t i = 0; i < nref; i++) op->ref[i] = NAN;
    norms(op);
    if (!reference(op, seed)) goto nomem;
    if (op->na > INT_MAX || op->nb > INT_MAX || op->nc > INT_MAX) {
        bench_operands_destroy(op);
        return bench_fail(ctx, CGAN_E_SHAPE, "gemm bench: %zux%zux%zu batch %zu: an operand "
                          "over %d floats", t->m, t->n, t->k, t->batch, INT_MAX);
    }
    cgan_status st = cgan_tensor_create(ctx, cgan_shape4((int)op->na, 1, 1, 1), &op->ta);
    if (st == CGAN_OK) st = cgan_tensor_create(ctx, cgan_shape4((int)op->nb, 1, 1, 1), &op->tb);
    if (st == CGAN_OK) st = cgan_tensor_create(ctx, cgan_shape4((int)op->nc, 1, 1, 1), &op->tc);
    if (st == CGAN_OK) st = cgan_tensor_upload(op->ta, op->a);
    if (st == CGAN_OK) st = cgan_tensor_upload(op->tb, op->b);
    if (st == CGAN_OK) st = bench_operands_reset(ctx, op);
    if (st != CGAN_OK) bench_operands_destroy(op);
    return st;
nomem:
    bench_operands_destroy(op);
    return bench_fail(ctx, CGAN_E_NOMEM, "gemm bench: out of memory for %zux%zux%zu batch %zu",
                      t->m, t->n, t->k, t->batch);
}

void bench_operands_destroy(bench_operands *op)
{
    cgan_tensor_destroy(op->ta);
    cgan_tensor_destroy(op->tb);
    cgan_tensor_destroy(op->tc);
    free(op->a);
    free(op->b);
    free(op->c0);
    free(op->ref);
    free(op->anorm);
    free(op->bnorm);
    memset(op, 0, sizeof *op);
}

cgan_status bench_operands_reset(cgan_ctx *ctx, bench_operands *op)
{
    (void)ctx;
    return cgan_tensor_upload(op->tc, op->c0);
}

cgan_status bench_gemm_call(cgan_ctx *ctx, const bench_operands *op, const char *choice)
{
    return cgan_gemm_run(ctx, choice, &op->g, op->alpha, op->ta, op->tb, op->beta, op->tc);
}

cgan_status bench_verify(cgan_ctx *ctx, bench_operands *op, const char *choice, int corrupt,
                         int *ok, double *worst)
{
    float *c = malloc(op->nc * sizeof *c);
    if (!c) return bench_fail(ctx, CGAN_E_NOMEM, "gemm bench: out of memory");
    cgan_status st = bench_operands_reset(ctx, op);
    if (st == CGAN_OK) st = bench_gemm_call(ctx, op, choice);
    if (st == CGAN_OK) st = cgan_tensor_download(op->tc, c);
    if (st == CGAN_OK) {
        if (corrupt) bench_corrupt(op, c);
        *ok = bench_check(op, c, worst) == 0;
    }
    free(c);
    return st;
}

void bench_host_sgemm(const bench_operands *op, float *c)
{
#ifdef HAVE_OPENBLAS
    const cgan_gemm_shape *g = &op->g;
    memcpy(c, op->c0, op->nc * sizeof *c);
    for (size_t bi = 0; bi < g->batch; bi++)
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans,
                    g->tb ? CblasTrans : CblasNoTrans, (int)g->m, (int)g->n,
                    (int)g->k, op->alpha, op->a + bi * g->a_stride, (int)g->lda,
                    op->b + bi * g->b_stride, (int)g->ldb, op->beta, c + bi * g->c_stride,
                    (int)g->ldc);
#else
    (void)op;
    (void)c;
#endif
}
