/* The own GEMM provider (src/blas/owngemm.c, cl/gemm.cl): every variant against a double
 * reference on odd shapes, all four transposes, offsets and padded leading dimensions,
 * strided batches with shared weights, alpha != 1, beta 0 over NaN and beta 1; agreement
 * with CLBlast on a model shape; the variant choice, argument errors and the timing driver. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "blas/owngemm.h"
#include "blas/packgemm.h"


/* Float against double: the largest difference over the largest reference magnitude, over
 * the whole C buffer (elements outside the product must come back unchanged). */
static double norm_err(const float *got, const double *ref, size_t n, size_t *where)
{
    double scale = 1e-6, worst = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    *where = 0;
    for (size_t i = 0; i < n; i++) {
        double d = isfinite(got[i]) ? fabs((double)got[i] - ref[i]) / scale : INFINITY;
        if (d > worst) worst = d, *where = i;
    }
    return worst;
}

static double tolerance(size_t k)
{
    return 1e-6 * (2.0 + sqrt((double)k));
}

static size_t extent(size_t off, size_t stride, size_t batch, size_t rows, size_t ld)
{
    return off + (batch - 1) * stride + rows * ld;
}

/* Runs g (buffers filled here) on p and checks all of C. With beta == 0 the product's
 * elements of C hold NaN beforehand. */
static void run_case(cgan_ctx *ctx, const cgan_gemm_provider *p, cgan_gemm_args g,
                     uint64_t seed)
{
    cgan_rng rng;
    cgan_rng_init(&rng, seed, 3);
    size_t arows = g.ta ? g.k : g.m, brows = g.tb ? g.n : g.k;
    size_t na = extent(g.a_off, g.a_stride, g.batch, arows, g.lda);
    size_t nb = extent(g.b_off, g.b_stride, g.batch, brows, g.ldb);
    size_t nc = extent(g.c_off, g.c_stride, g.batch, g.m, g.ldc);
    float *ha = tu_random(&rng, na, -1, 1), *hb = tu_random(&rng, nb, -1, 1);
    float *hc = tu_random(&rng, nc, -1, 1), *got = malloc(nc * sizeof *got);
    double *ref = malloc(nc * sizeof *ref);
    ck_assert(got && ref);
    if (g.beta == 0.0f)
        for (size_t bi = 0; bi < g.batch; bi++)
            for (size_t i = 0; i < g.m; i++)
                for (size_t j = 0; j < g.n; j++) hc[g.c_off + bi * g.c_stride + i * g.ldc + j] = NAN;
    for (size_t i = 0; i < nc; i++) ref[i] = hc[i];
    for (size_t bi = 0; bi < g.batch; bi++) tu_ref_gemm(&g, ha, hb, hc, ref, bi);
    g.a = tu_upload(ctx, ha, na);
    g.b = tu_upload(ctx, hb, nb);
    g.c = tu_upload(ctx, hc, nc);
    TU_OK(ctx, p->gemm(ctx, &g));
    tu_download(ctx, g.c, got, nc);
    size_t at;
    double err = norm_err(got, ref, nc, &at);
    ck_assert_msg(err < tolerance(g.k),
                  "%s %s%s m=%zu n=%zu k=%zu batch=%zu lda=%zu ldb=%zu ldc=%zu alpha=%g "
                  "beta=%g: error %.3g at C[%zu] (got %g, want %g)",
                  p->name, g.ta ? "T" : "N", g.tb ? "T" : "N", g.m, g.n, g.k, g.batch, g.lda,
                  g.ldb, g.ldc, g.alpha, g.beta, err, at, got[at], ref[at]);
    cgan_buffer_release(g.a);
    cgan_buffer_release(g.b);
    cgan_buffer_release(g.c);
    free(ha); free(hb); free(hc); free(got); free(ref);
}

/* A single GEMM with offsets and leading dimensions above the minimum. */
static cgan_gemm_args single(int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                             float beta, size_t pad)
{
    cgan_gemm_args g = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
        .a_off = 5, .lda = (ta ? m : k) + pad,
        .b_off = 3, .ldb = (tb ? k : n) + 2 * pad,
        .c_off = 7, .ldc = n + pad,
        .batch = 1,
    };
    return g;
}

/* Odd shapes: every edge of every tile, K = 1, vectors wider than N. The variants that
 * choose tiles by shape ("cpu", "gpu") run them all. The pinned CPU forms run shapes that
 * all map to one tile configuration per transpose, with edges in M, N and K: that keeps
 * the number of kernel builds (seconds each on PoCL) and so the test time down. */
static const size_t odd_shapes[][3] = {
    { 3, 17, 1 }, { 17, 3, 33 }, { 65, 33, 129 }, { 129, 17, 65 }, { 1, 1, 1 },
    { 17, 129, 3 },
};
static const size_t pinned_shapes[][3] = {
    { 33, 33, 17 }, { 65, 33, 1 }, { 129, 65, 129 }, { 33, 129, 3 },
};

static int is_pinned_form(const char *name)
{
    return strncmp(name, "cpu-", 4) == 0;
}

/* _i: the variant; the shapes with every transpose, alternating beta 0 (over NaN) and
 * beta 1, alpha != 1, padded leading dimensions and offsets. */
START_TEST(test_variant_shapes)
{
    const char *name = cgan_gemm_own_variants()[_i];
    const cgan_gemm_provider *p = cgan_gemm_provider_own_variant(name);
    ck_assert_ptr_nonnull(p);
    cgan_ctx *ctx = tu_ctx();
    int pinned = is_pinned_form(name);
    size_t count = pinned ? sizeof pinned_shapes / sizeof pinned_shapes[0]
                          : sizeof odd_shapes / sizeof odd_shapes[0];
    for (size_t s = 0; s < count; s++)
        for (int t = 0; t < 4; t++) {
            const size_t *sh = pinned ? pinned_shapes[s] : odd_shapes[s];
            float beta = (s + (size_t)t) % 2 ? 1.0f : 0.0f;
            cgan_gemm_args g = single(t & 1, t >> 1, sh[0], sh[1], sh[2], 0.75f, beta,
                                      s % 3 == 0 ? 0 : 3);
            run_case(ctx, p, g, 100 + s * 4 + (size_t)t);
        }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* _i: the variant; strided batches as the conv ops use them: shared weights (a_stride 0),
 * the second operand as column blocks of a wider matrix, C as separate or interleaved
 * blocks, and a batch with every stride set and K = 1. */
START_TEST(test_variant_batched)
{
    const char *name = cgan_gemm_own_variants()[_i];
    const cgan_gemm_provider *p = cgan_gemm_provider_own_variant(name);
    cgan_ctx *ctx = tu_ctx();
    for (int t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        const size_t m = 33, n = 33, k = 65, nb = 5;
        /* conv forward: C[b] (m x n, separate) = W (shared) x cols[:, b*n ..] */
        cgan_gemm_args g = {
            .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = 1.0f, .beta = 0.0f,
            .lda = ta ? m : k, .a_stride = 0,
            .ldb = tb ? k : n * nb, .b_stride = tb ? n * k : n,
            .ldc = n, .c_stride = m * n, .c_off = 2, .batch = nb,
        };
        run_case(ctx, p, g, 500 + (size_t)t);
        /* deconv forward: C as column blocks of one wide matrix, beta 1, alpha 2 */
        cgan_gemm_args h = {
            .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = 2.0f, .beta = 1.0f,
            .lda = (ta ? m : k) + 1, .a_off = 4, .a_stride = 0,
            .ldb = (tb ? k : n) + 2, .b_stride = ((tb ? n : k) + 1) * ((tb ? k : n) + 2),
            .ldc = n * nb, .c_stride = n, .batch = nb,
        };
        run_case(ctx, p, h, 600 + (size_t)t);
        /* every operand strided, K = 1 */
        cgan_gemm_args e = {
            .ta = ta, .tb = tb, .m = m, .n = n, .k = 1, .alpha = -1.5f, .beta = 0.0f,
            .lda = ta ? m : 1, .a_stride = m, .ldb = tb ? 1 : n, .b_stride = n,
            .ldc = n, .c_stride = m * n + 1, .batch = 3,
        };
        run_case(ctx, p, e, 700 + (size_t)t);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Larger K (error growth, several K panels of the CPU kernels, vector tails), narrow C,
 * on the variants that choose by shape. */
START_TEST(test_long_k)
{
    const char *names[] = { "cpu", "gpu" };
    cgan_ctx *ctx = tu_ctx();
    for (int v = 0; v < 2; v++) {
        const cgan_gemm_provider *p = cgan_gemm_provider_own_variant(names[v]);
        run_case(ctx, p, single(0, 0, 40, 48, 1000, 1.0f, 0.0f, 0), 800);
        run_case(ctx, p, single(1, 0, 70, 16, 531, 1.0f, 1.0f, 1), 801);
        run_case(ctx, p, single(0, 1, 24, 37, 2051, 0.5f, 0.0f, 0), 802);
        run_case(ctx, p, single(1, 1, 19, 40, 300, 1.0f, 0.0f, 2), 803);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The packed form: K in several chunks (beta applies to the first only), work-groups
 * wider than the rows of tiles, tiles of other shapes, every transpose; the automatic
 * "cpu" choice takes it on a large product and not on a thin one; the workspace grows
 * once and is then reused without allocating. */
/* A provider that runs spec_now (cgan_gemm_own_run_spec). */
static const char *spec_now;
static cgan_status spec_gemm(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    return cgan_gemm_own_run_spec(ctx, g, spec_now);
}

START_TEST(test_packed)
{
    cgan_ctx *ctx = tu_ctx();
    const cgan_gemm_provider p = { "packed", spec_gemm };
    static const char *const specs[] = { "cpu-packed:kb=40", "cpu-packed:lx=8,kb=17",
                                         "cpu-packed:nv=1,tm=5,vw=8", "cpu-packed:tm=3,nv=3" };
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < 4; t++) {
            spec_now = specs[s];
            run_case(ctx, &p, single(t & 1, t >> 1, 61, 83, 131, 0.5f, (float)((s + t) % 2),
                                     t), 1000 + (uint64_t)(s * 4 + t));
        }
    cgan_gemm_args big = single(0, 0, 200, 300, 100, 1.0f, 0.0f, 0);
    cgan_gemm_args thin = single(0, 1, 64, 16, 20000, 1.0f, 0.0f, 0);
    /* the automatic choice packs on the CPU class only (GPU mode: CGAN_DEVICE_CLASS=gpu) */
    ck_assert_int_eq(cgan_gemm_packed_suits(ctx, &big), ctx->profile.dclass == CGAN_DEVICE_CPU);
    ck_assert_int_eq(cgan_gemm_packed_suits(ctx, &thin), 0);
    setenv("CGAN_GEMM_PACK", "0", 1);
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    ck_assert_int_eq(cgan_gemm_packed_suits(ctx, &big), 0);
    setenv("CGAN_GEMM_PACK", "1", 1);
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    ck_assert_int_eq(cgan_gemm_packed_suits(ctx, &thin), 1);
    run_case(ctx, cgan_gemm_provider_own_variant("cpu"), single(0, 1, 37, 5, 300, 1.0f, 0.0f, 1),
             1099);
    unsetenv("CGAN_GEMM_PACK");
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    const cgan_gemm_provider *cpu = cgan_gemm_provider_own_variant("cpu");
    run_case(ctx, cpu, big, 1100);
    run_case(ctx, cpu, single(1, 1, 150, 97, 3000, 1.0f, 1.0f, 1), 1101); /* two K chunks */
    unsigned before = ctx->sync.buffers;
    run_case(ctx, cpu, single(1, 0, 100, 120, 90, 1.0f, 0.0f, 0), 1102);
    /* run_case makes three buffers of its own; the workspace is not reallocated */
    ck_assert_uint_eq(ctx->sync.buffers, before + 3);
    ck_assert_int_eq(cgan_gemm_own_spec_check(ctx, "cpu-packed:kc=64"), CGAN_E_INVALID);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- views: operands and C straight from NCHW images ---------------------------------- */
/* The matrix X a view stands for, rows x cols, built on the host from the images. */
static float *view_matrix(const cgan_gemm_view *v, const float *img, size_t rows, size_t cols)
{
    float *x = malloc(rows * cols * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) {
            float e;
            if (v->kind == CGAN_VIEW_CM) {
                size_t n = j / (size_t)v->p, q = j % (size_t)v->p;
                e = img[(((size_t)v->n0 + n) * rows + r) * (size_t)v->p + q];
            } else {
                int ch = (int)r / (v->k * v->k), ky = (int)r / v->k % v->k, kx = (int)r % v->k;
                int n = (int)j / (v->oh * v->ow), t = (int)j % (v->oh * v->ow);
                int iy = t / v->ow * v->stride - v->pad + ky, ix = t % v->ow * v->stride - v->pad + kx;
                e = iy >= 0 && iy < v->h && ix >= 0 && ix < v->w
                        ? img[(((size_t)(v->n0 + n) * v->c + ch) * v->h + iy) * v->w + ix] : 0.0f;
            }
            x[r * cols + j] = e;
        }
    return x;
}

/* One product with views: g's shape and transposes, a, b, c the views (matrix views take
 * random matrices); every element of C's buffer is compared with the double reference. */
static void run_view_case(cgan_ctx *ctx, cgan_gemm_args g, cgan_gemm_views v, size_t kb,
                          uint64_t seed)
{
    cgan_rng rng;
    cgan_rng_init(&rng, seed, 5);
    int ta = g.ta == CGAN_TRANS, tb = g.tb == CGAN_TRANS;
    size_t arows = ta ? g.k : g.m, acols = ta ? g.m : g.k;
    size_t brows = tb ? g.n : g.k, bcols = tb ? g.k : g.n;
    /* image buffers: the view's images from n0, plus one image past them */
    cgan_gemm_view *vs[3] = { &v.a, &v.b, &v.c };
    size_t rows[3] = { arows, brows, g.m }, cols[3] = { acols, bcols, g.n };
    float *host[3], *mat[3];
    size_t nimg[3];
    for (int i = 0; i < 3; i++) {
        cgan_gemm_view *w = vs[i];
        if (w->kind == CGAN_VIEW_MATRIX) {
            nimg[i] = rows[i] * cols[i];
            host[i] = tu_random(&rng, nimg[i], -1, 1);
            mat[i] = host[i];
            continue;
        }
        size_t plane = w->kind == CGAN_VIEW_CM ? (size_t)w->p : (size_t)w->oh * w->ow;
        size_t per = w->kind == CGAN_VIEW_CM ? rows[i] * plane : (size_t)w->c * w->h * w->w;
        nimg[i] = ((size_t)w->n0 + cols[i] / plane + 1) * per;
        host[i] = tu_random(&rng, nimg[i], -1, 1);
        mat[i] = view_matrix(w, host[i], rows[i], cols[i]);
        w->img = tu_upload(ctx, host[i], nimg[i]);
    }
    cgan_gemm_args p = g; /* the plain product on the host matrices */
    p.lda = acols, p.ldb = bcols, p.ldc = g.n, p.batch = 1;
    if (g.beta == 0.0f)
        for (size_t i = 0; i < g.m * g.n; i++) mat[2][i] = NAN;
    double *ref = malloc(g.m * g.n * sizeof *ref);
    for (size_t i = 0; i < g.m * g.n; i++) ref[i] = mat[2][i];
    tu_ref_gemm(&p, mat[0], mat[1], mat[2], ref, 0);
    /* on the device: C's images (or matrix) start as host[2] with the product's elements
     * NaN when beta is 0 */
    if (g.beta == 0.0f && v.c.kind == CGAN_VIEW_MATRIX)
        for (size_t i = 0; i < g.m * g.n; i++) host[2][i] = NAN;
    if (g.beta == 0.0f && v.c.kind == CGAN_VIEW_CM)
        for (size_t i = 0; i < g.m; i++)
            for (size_t j = 0; j < g.n; j++)
                host[2][(((size_t)v.c.n0 + j / (size_t)v.c.p) * g.m + i) * (size_t)v.c.p +
                        j % (size_t)v.c.p] = NAN;
    g.lda = acols, g.ldb = bcols, g.ldc = g.n, g.batch = 1;
    g.a = v.a.kind ? NULL : tu_upload(ctx, host[0], nimg[0]);
    g.b = v.b.kind ? NULL : tu_upload(ctx, host[1], nimg[1]);
    if (v.c.kind) {
        cgan_buffer_release(v.c.img);
        v.c.img = tu_upload(ctx, host[2], nimg[2]);
    } else {
        g.c = tu_upload(ctx, host[2], nimg[2]);
    }
    cgan_packed_cfg pin = { 0, 0, 0, kb, 0 };
    cgan_packed_cfg c = cgan_gemm_packed_config(ctx, &g, &pin);
    TU_OK(ctx, cgan_gemm_packed(ctx, &g, &c, &v));
    float *got = malloc(nimg[2] * sizeof *got);
    tu_download(ctx, v.c.kind ? v.c.img : g.c, got, nimg[2]);
    /* expected buffer: host[2] with the product's elements replaced by ref */
    double *want = malloc(nimg[2] * sizeof *want);
    for (size_t i = 0; i < nimg[2]; i++) want[i] = host[2][i];
    for (size_t i = 0; i < g.m; i++)
        for (size_t j = 0; j < g.n; j++) {
            size_t at = v.c.kind ? (((size_t)v.c.n0 + j / (size_t)v.c.p) * g.m + i) * (size_t)v.c.p +
                                       j % (size_t)v.c.p
                                 : i * g.n + j;
            want[at] = ref[i * g.n + j];
        }
    size_t at;
    double err = norm_err(got, want, nimg[2], &at);
    ck_assert_msg(err < tolerance(g.k), "views %d/%d/%d %s%s m=%zu n=%zu k=%zu: error %.3g at "
                  "%zu (got %g, want %g)", v.a.kind, v.b.kind, v.c.kind, ta ? "T" : "N",
                  tb ? "T" : "N", g.m, g.n, g.k, err, at, got[at], want[at]);
    for (int i = 0; i < 3; i++) {
        if (mat[i] != host[i]) free(mat[i]);
        free(host[i]);
        cgan_buffer_release(vs[i]->img);
    }
    cgan_buffer_release(g.a);
    cgan_buffer_release(g.b);
    cgan_buffer_release(g.c);
    free(ref); free(got); free(want);
}

static cgan_gemm_view cm(int n0, int p)
{
    cgan_gemm_view v = { .kind = CGAN_VIEW_CM, .n0 = n0, .p = p };
    return v;
}

/* the columns of images [c][h][w], kernel k, stride s, pad pd */
static cgan_gemm_view cols(int n0, int c, int h, int w, int k, int s, int pd)
{
    cgan_gemm_view v = { .kind = CGAN_VIEW_IM2COL, .n0 = n0, .c = c, .h = h, .w = w, .k = k,
                         .stride = s, .pad = pd, .oh = (h + 2 * pd - k) / s + 1,
                         .ow = (w + 2 * pd - k) / s + 1 };
    return v;
}

static cgan_gemm_args shape(int ta, int tb, size_t m, size_t n, size_t k, float beta)
{
    cgan_gemm_args g = { .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = 0.5f,
                         .beta = beta, .batch = 1 };
    return g;
}

/* Every view the convolutions use and the ones they do not (B channel-major transposed),
 * odd geometries (stride 3, pad 2, planes of 35 positions), a first image past 0, K in
 * chunks, beta 0 over NaN and beta 1; bad views are refused naming the operand. */
START_TEST(test_views)
{
    cgan_ctx *ctx = tu_ctx();
    static const cgan_gemm_views none;
    cgan_gemm_views v;
    /* conv forward: C (CM) = W * cols(x); x 3 images of 2x7x5, k3 s2 p1 -> 4x3 */
    v = none, v.b = cols(1, 2, 7, 5, 3, 2, 1), v.c = cm(1, 12);
    run_view_case(ctx, shape(0, 0, 13, 24, 18, 0.0f), v, 0, 1200);
    /* conv weight gradient: dout_cm * cols^T, beta 1, K in chunks of 7 */
    v = none, v.a = cm(0, 12), v.b = cols(0, 2, 7, 5, 3, 2, 1);
    run_view_case(ctx, shape(0, 1, 13, 18, 36, 1.0f), v, 7, 1201);
    /* the same with whole panels of taps (48 rows: 4x4 taps of 3 channels), stride 2 */
    v = none, v.a = cm(1, 16), v.b = cols(1, 3, 9, 8, 4, 2, 1);
    run_view_case(ctx, shape(0, 1, 5, 48, 32, 0.0f), v, 0, 1207);
    /* conv input gradient: W^T * dout_cm; deconv forward alike */
    v = none, v.b = cm(2, 35);
    run_view_case(ctx, shape(1, 0, 37, 70, 9, 0.0f), v, 0, 1202);
    /* B channel-major transposed (no op uses it) */
    v = none, v.b = cm(1, 5);
    run_view_case(ctx, shape(0, 1, 17, 33, 15, 1.0f), v, 4, 1203);
    /* deconv input gradient: C (CM, beta 1) = W * cols(dout), stride 3 pad 2 */
    v = none, v.b = cols(0, 3, 8, 9, 4, 3, 2), v.c = cm(0, 12);
    run_view_case(ctx, shape(0, 0, 5, 36, 48, 1.0f), v, 0, 1204);
    /* C channel-major in whole vectors (planes of 64, and of 16: two images per tile) */
    v = none, v.b = cm(0, 64), v.c = cm(1, 64);
    run_view_case(ctx, shape(0, 0, 13, 128, 9, 1.0f), v, 0, 1205);
    v = none, v.b = cm(0, 16), v.c = cm(2, 16);
    run_view_case(ctx, shape(0, 0, 25, 96, 7, 0.0f), v, 0, 1206);
    /* bad views */
    cgan_gemm_args g = shape(0, 0, 4, 10, 3, 0.0f);
    cl_mem buf;
    TU_OK(ctx, cgan_buffer_create(ctx, 40 * sizeof(float), "test", &buf));
    g.a = g.b = g.c = buf, g.lda = 3, g.ldb = 10, g.ldc = 10;
    cgan_packed_cfg c = cgan_gemm_packed_config(ctx, &g, NULL);
    v = none, v.b = cm(0, 3), v.b.img = buf; /* 10 columns are not images of 3 */
    ck_assert_int_eq(cgan_gemm_packed(ctx, &g, &c, &v), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "B as a channel-major view"), "%s",
                  cgan_last_error(ctx));
    v = none, v.c = cm(3, 5), v.c.img = buf; /* images 3..4 of 4x5 floats: 100 > 40 */
    ck_assert_int_eq(cgan_gemm_packed(ctx, &g, &c, &v), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "C as a channel-major view reads 100"), "%s",
                  cgan_last_error(ctx));
    v = none, v.a = cols(0, 1, 3, 3, 1, 1, 0), v.a.img = buf;
    ck_assert_int_eq(cgan_gemm_packed(ctx, &g, &c, &v), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "A takes only"), "%s", cgan_last_error(ctx));
    g.batch = 2, g.c_stride = 40;
    v = none, v.b = cm(0, 5), v.b.img = buf;
    ck_assert_int_eq(cgan_gemm_packed(ctx, &g, &c, &v), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "needs batch 1"), "%s", cgan_last_error(ctx));
    cgan_buffer_release(buf);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* CLBlast and the own provider agree on a model shape (D.conv3 forward, batch cut to 4). */
START_TEST(test_agrees_with_clblast)
{
    cgan_ctx *ctx = tu_ctx();
    if (!tu_clblast_fits(ctx, "own vs CLBlast")) {
        cgan_ctx_destroy(ctx);
        return;
    }
    const size_t m = 256, n = 16, k = 2048, nb = 4;
    cgan_gemm_args g = {
        .ta = CGAN_NO_TRANS, .tb = CGAN_NO_TRANS, .m = m, .n = n, .k = k,
        .alpha = 1.0f, .beta = 0.0f, .lda = k, .a_stride = 0, .ldb = n * nb, .b_stride = n,
        .ldc = n, .c_stride = m * n, .batch = nb,
    };
    cgan_rng rng;
    cgan_rng_init(&rng, 77, 0);
    size_t na = m * k, nbf = k * n * nb, nc = m * n * nb;
    float *ha = tu_random(&rng, na, -1, 1), *hb = tu_random(&rng, nbf, -1, 1);
    float *c1 = malloc(nc * sizeof *c1), *c2 = malloc(nc * sizeof *c2);
    double *d1 = malloc(nc * sizeof *d1);
    ck_assert(c1 && c2 && d1);
    g.a = tu_upload(ctx, ha, na);
    g.b = tu_upload(ctx, hb, nbf);
    g.c = tu_poisoned(ctx, nc);
    TU_OK(ctx, cgan_gemm_provider_clblast()->gemm(ctx, &g));
    tu_download(ctx, g.c, c1, nc);
    cgan_buffer_release(g.c);
    g.c = tu_poisoned(ctx, nc);
    TU_OK(ctx, cgan_gemm_provider_own()->gemm(ctx, &g));
    tu_download(ctx, g.c, c2, nc);
    for (size_t i = 0; i < nc; i++) d1[i] = c1[i];
    size_t at;
    double err = norm_err(c2, d1, nc, &at);
    ck_assert_msg(err < 2 * tolerance(k), "own vs clblast: %.3g at %zu (%g vs %g)", err, at,
                  c2[at], c1[at]);
    cgan_buffer_release(g.a);
    cgan_buffer_release(g.b);
    cgan_buffer_release(g.c);
    free(ha); free(hb); free(c1); free(c2); free(d1);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The variant comes from the profile's class unless CGAN_GEMM_VARIANT names one; a bad name
 * is an error that lists the good ones. */
START_TEST(test_variant_choice)
{
    cgan_ctx *ctx = tu_ctx();
    unsetenv("CGAN_GEMM_VARIANT");
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    const char *v = cgan_gemm_own_variant_for(ctx);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, ctx->profile.dclass == CGAN_DEVICE_CPU ? "cpu" : "gpu");
    setenv("CGAN_GEMM_VARIANT", "gpu", 1);
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    ck_assert_str_eq(cgan_gemm_own_variant_for(ctx), "gpu");
    run_case(ctx, cgan_gemm_provider_own(), single(0, 1, 9, 10, 11, 1.0f, 0.0f, 1), 900);
    setenv("CGAN_GEMM_VARIANT", "fastest", 1);
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    ck_assert_ptr_null(cgan_gemm_own_variant_for(ctx));
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "cpu-dot"));
    cl_mem buf = tu_poisoned(ctx, 64);
    cgan_gemm_args g = single(0, 0, 2, 2, 2, 1.0f, 0.0f, 0);
    g.a = g.b = g.c = buf;
    ck_assert_int_eq(cgan_gemm_provider_own()->gemm(ctx, &g), CGAN_E_INVALID);
    unsetenv("CGAN_GEMM_VARIANT");
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    ck_assert_ptr_null(cgan_gemm_provider_own_variant("fastest"));
    ck_assert_str_eq(cgan_gemm_provider_own_variant("cpu-swap")->name, "own:cpu-swap");
    /* through the front end, as the ops call it */
    cgan_gemm_use(ctx, cgan_gemm_provider_own());
    ck_assert_str_eq(cgan_gemm_current(ctx)->name, "own");
    TU_OK(ctx, cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, 2, 2, 2, 1.0f, buf, 0, 2, buf, 0,
                          2, 0.0f, buf, 8, 2));
    cgan_buffer_release(buf);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Arguments that would read or write outside the buffers, or race, are refused with a
 * message; empty products are no-ops. */
START_TEST(test_errors)
{
    cgan_ctx *ctx = tu_ctx();
    const cgan_gemm_provider *p = cgan_gemm_provider_own();
    cl_mem buf = tu_poisoned(ctx, 100);
    cgan_gemm_args g = single(0, 0, 4, 4, 4, 1.0f, 0.0f, 0);
    g.a_off = g.b_off = g.c_off = 0;
    g.a = g.b = buf;
    g.c = buf;
    cgan_gemm_args e = g;
    e.lda = 3;
    ck_assert_int_eq(p->gemm(ctx, &e), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "ldA"));
    e = g;
    e.c_off = 90; /* C would end at float 106 of 100 */
    ck_assert_int_eq(p->gemm(ctx, &e), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "buffer holds 100"));
    e = g;
    e.batch = 3;
    e.a_stride = 16;
    ck_assert_int_eq(p->gemm(ctx, &e), CGAN_E_INVALID); /* c_stride 0: a race */
    e.c_stride = 16;
    e.b_stride = 43; /* B would end at float 16 + 2*43 = 102 */
    ck_assert_int_eq(p->gemm(ctx, &e), CGAN_E_INVALID);
    e = g;
    e.a = NULL;
    ck_assert_int_eq(p->gemm(ctx, &e), CGAN_E_INVALID);
    e = g;
    e.m = 0;
    TU_OK(ctx, p->gemm(ctx, &e));
    e = g;
    e.batch = 0;
    TU_OK(ctx, p->gemm(ctx, &e));
    cgan_buffer_release(buf);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The timing driver runs and reports a rate. */
START_TEST(test_bench)
{
    cgan_ctx *ctx = tu_ctx();
    double gf = 0;
    TU_OK(ctx, cgan_gemm_bench(ctx, cgan_gemm_provider_own(), 64, 48, 32, CGAN_NO_TRANS,
                               CGAN_TRANS, 3, &gf));
    ck_assert(gf > 0 && isfinite(gf));
    ck_assert_int_eq(cgan_gemm_bench(ctx, cgan_gemm_provider_own(), 0, 4, 4, CGAN_NO_TRANS,
                                     CGAN_NO_TRANS, 3, &gf), CGAN_E_INVALID);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Specs: every candidate the tuner would time on this device computes the right product
 * (on the transposes its form serves, odd shapes with edges in M, N and K); bad specs are
 * refused naming the problem. */
START_TEST(test_specs)
{
    cgan_ctx *ctx = tu_ctx();
    const cgan_gemm_provider p = { "spec", spec_gemm };
    char specs[64][CGAN_GEMM_SPEC_MAX];
    cgan_gemm_args probe = single(0, 0, 37, 45, 29, 1.0f, 0.0f, 0);
    int n = cgan_gemm_own_candidates(ctx, &probe, specs, 64);
    ck_assert_int_gt(n, 4);
    for (int i = 0; i < n; i++) {
        spec_now = specs[i];
        TU_OK(ctx, cgan_gemm_own_spec_check(ctx, specs[i]));
        int ta = 0, tb = 0;
        if (!strncmp(specs[i], "cpu-swap", 8)) ta = tb = 1;
        if (!strncmp(specs[i], "cpu-dot", 7)) tb = 1;
        cgan_gemm_args g = single(ta, tb, 37, 45, 29, 0.5f, (float)(i % 2), 2);
        run_case(ctx, &p, g, 900 + (uint64_t)i);
    }
    static const char *const bad[][2] = {
        { "cpu-fast", "unknown variant" },     { "cpu-outer:tm", "key=value" },
        { "cpu-outer:tm=0", "tm must be" },    { "cpu-outer:vw=12", "power of two" },
        { "cpu-dot:kc=64", "does not apply" }, { "gpu:wx=16", "all of wx" },
        { "cpu-outer:tm=4x", "tm must be" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cgan_gemm_own_spec_check(ctx, bad[i][0]), CGAN_E_INVALID);
        ck_assert_msg(strstr(cgan_last_error(ctx), bad[i][1]) != NULL, "%s: %s", bad[i][0],
                      cgan_last_error(ctx));
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    int nv = 0;
    while (cgan_gemm_own_variants()[nv]) nv++;
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("variants");
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, test_variant_shapes, 0, nv);
    tcase_add_loop_test(tc, test_variant_batched, 0, nv);
    tcase_add_test(tc, test_long_k);
    tcase_add_test(tc, test_packed);
    tcase_add_test(tc, test_views);
    tcase_add_test(tc, test_specs);
    suite_add_tcase(s, tc);
    tc = tcase_create("provider");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_agrees_with_clblast);
    tcase_add_test(tc, test_variant_choice);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_bench);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
