/* GEMM provider, Conv2d and ConvTranspose2d: device against the double reference on random
 * data (forward, backward with beta 0 and 1, finite differences), odd shapes, the DCGAN
 * layer shapes, batch chunking, and builder errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "blas/gemm.h"
#include "blas/owngemm.h"
#include "core/opcheck.h"
#include "ops/builders.h"
#include "ops/conv2d.h"

/* ---- GEMM ------------------------------------------------------------------------------- */

/* Runs g on random A/B (C random, or NaN when beta == 0) and compares every element of C,
 * including those the GEMM must leave alone. */
static void run_gemm_case(cgan_ctx *ctx, cgan_gemm_args g, uint64_t seed)
{
    cgan_rng rng;
    cgan_rng_init(&rng, seed, 1);
    size_t arows = g.ta ? g.k : g.m, brows = g.tb ? g.n : g.k;
    size_t batch = g.batch ? g.batch : 1;
    size_t na = g.a_off + (batch - 1) * g.a_stride + arows * g.lda;
    size_t nb = g.b_off + (batch - 1) * g.b_stride + brows * g.ldb;
    size_t nc = g.c_off + (batch - 1) * g.c_stride + g.m * g.ldc;
    float *ha = tu_random(&rng, na, -1, 1), *hb = tu_random(&rng, nb, -1, 1);
    float *hc = tu_random(&rng, nc, -1, 1), *got = malloc(nc * sizeof *got);
    double *ref = malloc(nc * sizeof *ref);
    ck_assert(got && ref);
    if (g.beta == 0.0f) /* C must not be read: NaN inside the written blocks */
        for (size_t bi = 0; bi < batch; bi++)
            for (size_t i = 0; i < g.m; i++)
                for (size_t j = 0; j < g.n; j++)
                    hc[g.c_off + bi * g.c_stride + i * g.ldc + j] = NAN;
    for (size_t i = 0; i < nc; i++) ref[i] = hc[i];
    for (size_t bi = 0; bi < batch; bi++) tu_ref_gemm(&g, ha, hb, hc, ref, bi);
    g.a = tu_upload(ctx, ha, na);
    g.b = tu_upload(ctx, hb, nb);
    g.c = tu_upload(ctx, hc, nc);
    TU_OK(ctx, cgan_gemm(ctx, &g));
    tu_download(ctx, g.c, got, nc);
    double err = cgan_max_rel_err(got, ref, nc);
    ck_assert_msg(err < 1e-5, "gemm %s%s m=%zu n=%zu k=%zu batch=%zu beta=%g: error %g",
                  g.ta ? "T" : "N", g.tb ? "T" : "N", g.m, g.n, g.k, batch, g.beta, err);
    cgan_buffer_release(g.a);
    cgan_buffer_release(g.b);
    cgan_buffer_release(g.c);
    free(ha); free(hb); free(hc); free(got); free(ref);
}

START_TEST(test_gemm_transposes)
{
    cgan_ctx *ctx = tu_ctx();
    /* the default: our own kernels on every class (profile.c); this test is CLBlast's */
    ck_assert_str_eq(cgan_gemm_current(ctx)->name, ctx->profile.gemm_provider);
    if (!tu_clblast_fits(ctx, "CLBlast transposes")) {
        cgan_ctx_destroy(ctx);
        return;
    }
    cgan_gemm_use(ctx, cgan_gemm_provider_clblast());
    ck_assert_str_eq(cgan_gemm_current(ctx)->name, "clblast");
    const size_t shapes[][3] = { { 5, 7, 3 }, { 33, 17, 65 }, { 1, 9, 130 } };
    for (int s = 0; s < 3; s++)
        for (int t = 0; t < 4; t++) {
            size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            cgan_gemm_args g = { .ta = t & 1, .tb = t >> 1, .m = m, .n = n, .k = k,
                                 .alpha = 0.75f, .beta = (t + s) % 2 ? 0.5f : 0.0f, .batch = 1 };
            /* padded leading dimensions and offsets, not multiples of anything */
            g.lda = (g.ta ? m : k) + 3;
            g.ldb = (g.tb ? k : n) + 1;
            g.ldc = n + 2;
            g.a_off = 7;
            g.b_off = 1;
            g.c_off = 5;
            run_gemm_case(ctx, g, 100 + (uint64_t)(s * 4 + t));
            /* the plain shortcut, tight layout */
            g.lda = g.ta ? m : k;
            g.ldb = g.tb ? k : n;
            g.ldc = n;
            g.a_off = g.b_off = g.c_off = 0;
            run_gemm_case(ctx, g, 200 + (uint64_t)(s * 4 + t));
        }
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_gemm_batched)
{
    cgan_ctx *ctx = tu_ctx();
    for (int t = 0; t < 4; t++) {
        size_t m = 6, n = 11, k = 13, batch = 5;
        cgan_gemm_args g = { .ta = t & 1, .tb = t >> 1, .m = m, .n = n, .k = k, .alpha = 1.0f,
                             .beta = t == 2 ? 1.0f : 0.0f, .batch = batch };
        g.lda = g.ta ? m : k;
        g.ldb = (g.tb ? k : n) + 2;
        g.ldc = n;
        g.a_stride = t == 1 ? m * k + 4 : 0;   /* shared A (as a conv weight) or its own */
        g.b_stride = (g.tb ? n : k) * g.ldb + 3;
        g.c_stride = m * n + 1;
        g.c_off = 2;
        run_gemm_case(ctx, g, 300 + (uint64_t)t);
    }
    /* interleaved columns: batch entry i at column offset i*n of one wide matrix */
    cgan_gemm_args g = { .m = 4, .n = 9, .k = 7, .alpha = 1.0f, .beta = 0.0f, .batch = 3 };
    g.lda = 7;
    g.ldb = 27;
    g.b_stride = 9;
    g.ldc = 9;
    g.c_stride = 36;
    run_gemm_case(ctx, g, 400);
    cgan_ctx_destroy(ctx);
}
END_TEST

static int fake_calls;
static cgan_status fake_gemm(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    (void)ctx; (void)g;
    fake_calls++;
    return CGAN_OK;
}

START_TEST(test_gemm_errors)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_gemm_use(ctx, cgan_gemm_provider_clblast());
    float h[64] = { 0 };
    cl_mem a = tu_upload(ctx, h, 64), c = tu_upload(ctx, h, 8);
    /* a leading dimension below the row length is caught before the provider */
    cgan_status st = cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, 4, 4, 4, 1, a, 0, 3, a, 0, 4, 0,
                                a, 0, 4);
    ck_assert_int_eq(st, CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "lda 3") != NULL, "%s", cgan_last_error(ctx));
    /* C too small for 4x4: CLBlast's own check, reported by name with the call and shape */
    st = cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, 4, 4, 4, 1, a, 0, 4, a, 0, 4, 0, c, 0, 4);
    ck_assert_int_eq(st, CGAN_E_BLAS);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "CLBlastSgemm") && strstr(msg, "CLBlastInsufficientMemoryC") &&
                  strstr(msg, "m=4 n=4 k=4"), "%s", msg);
    /* empty products do nothing; k == 0 is refused */
    TU_OK(ctx, cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, 0, 4, 4, 1, a, 0, 4, a, 0, 4, 0, c, 0, 4));
    ck_assert_int_eq(cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, 2, 2, 0, 1, a, 0, 1, a, 0, 2, 0,
                                c, 0, 2), CGAN_E_INVALID);
    /* every status code has a name */
    ck_assert_str_eq(cgan_clblast_status_str(0), "CLBlastSuccess");
    ck_assert(strstr(cgan_clblast_status_str(-2046), "LocalMemUsage") != NULL);
    ck_assert(strstr(cgan_clblast_status_str(-1017), "InvalidDimension") != NULL);
    ck_assert_str_eq(cgan_clblast_status_str(12345), "unknown CLBlast status");
    /* switching providers */
    static const cgan_gemm_provider fake = { "fake", fake_gemm };
    cgan_gemm_use(ctx, &fake);
    ck_assert_str_eq(cgan_gemm_current(ctx)->name, "fake");
    TU_OK(ctx, cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, 2, 2, 2, 1, a, 0, 2, a, 0, 2, 0, c, 0, 2));
    ck_assert_int_eq(fake_calls, 1);
    cgan_gemm_use(ctx, NULL); /* back to the per-device default */
    ck_assert_ptr_eq(cgan_gemm_current(ctx), cgan_ctx_device(ctx)->type == CGAN_DEVICE_CPU
                                                 ? cgan_gemm_provider_own() : cgan_gemm_provider_clblast());
    cgan_buffer_release(a);
    cgan_buffer_release(c);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- ops ---------------------------------------------------------------------------------- */
typedef struct conv_case {
    int n, cin, h, w, cout, k, stride, pad, bias;
    int fd;           /* run the finite-difference check (small shapes) */
    int chunk;        /* > 0: shrink the work space to this many batch images per chunk */
    const char *label;
} conv_case;

static const conv_case conv_cases[] = {
    { 1, 1, 5, 5, 1, 3, 1, 1, 0, 1, 0, "single channel, batch 1" },
    { 3, 3, 7, 9, 5, 3, 2, 1, 1, 1, 0, "odd 7x9, stride 2, bias" },
    { 2, 3, 8, 6, 4, 4, 2, 1, 0, 1, 0, "k4 s2 p1" },
    { 2, 2, 11, 10, 3, 3, 3, 2, 1, 1, 0, "stride 3, pad 2" },
    { 2, 3, 5, 7, 2, 1, 1, 0, 1, 1, 0, "1x1 kernel" },
    { 2, 4, 7, 6, 3, 1, 2, 0, 0, 1, 0, "1x1 kernel, stride 2" },
    { 3, 3, 4, 4, 2, 4, 1, 0, 1, 1, 0, "kernel covers the input (dense path)" },
    { 2, 5, 3, 3, 3, 3, 1, 2, 0, 1, 0, "pad 2 on 3x3" },
    { 1, 3, 2, 2, 2, 4, 2, 1, 1, 1, 0, "input smaller than the kernel, padded" },
    { 5, 3, 9, 7, 4, 3, 2, 1, 1, 1, 2, "chunks of 2 over batch 5" },
    { 2, 11, 32, 32, 64, 4, 2, 1, 0, 0, 0, "seed32 D: Conv(11->64,4,2,1) on 32x32" },
    { 2, 64, 16, 16, 32, 4, 2, 1, 0, 0, 0, "Conv(64->32,4,2,1) on 16x16" },
    { 2, 256, 4, 4, 1, 4, 1, 0, 0, 0, 0, "D head: Conv(256->1,4,1,0) on 4x4" },
};

static const conv_case deconv_cases[] = {
    { 1, 1, 3, 3, 1, 3, 1, 1, 0, 1, 0, "single channel, batch 1" },
    { 3, 3, 4, 5, 4, 4, 2, 1, 1, 1, 0, "k4 s2 p1, bias" },
    { 3, 2, 3, 4, 3, 3, 3, 0, 1, 1, 0, "stride 3" },
    { 2, 3, 5, 3, 2, 1, 1, 0, 0, 1, 0, "1x1 kernel" },
    { 2, 3, 3, 3, 2, 1, 2, 0, 1, 1, 0, "1x1 kernel, stride 2 (gaps)" },
    { 2, 4, 1, 1, 3, 4, 1, 0, 1, 1, 0, "1x1 input (dense path)" },
    { 2, 3, 2, 2, 2, 4, 2, 2, 0, 1, 0, "pad 2" },
    { 1, 2, 1, 1, 3, 3, 2, 1, 0, 1, 0, "1x1 input, padded" },
    { 5, 3, 3, 4, 2, 4, 2, 1, 1, 1, 2, "chunks of 2 over batch 5" },
    { 2, 110, 1, 1, 256, 4, 1, 0, 0, 0, 0, "seed32 G: ConvT(110->256,4,1,0) on 1x1" },
    { 2, 256, 4, 4, 128, 4, 2, 1, 0, 0, 0, "ConvT(256->128,4,2,1) on 4x4" },
    { 2, 64, 8, 8, 3, 4, 2, 1, 0, 0, 0, "G out: ConvT(64->3,4,2,1) on 8x8" },
};

static void run_op_case(int deconv, const conv_case *cc, int idx)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "T");
    ck_assert_ptr_nonnull(g);
    int x = cgan_graph_input(g, "x", cgan_shape4(cc->n, cc->cin, cc->h, cc->w));
    int y = deconv ? cgan_nn_deconv2d(g, "op", x, cc->cout, cc->k, cc->stride, cc->pad, cc->bias)
                   : cgan_nn_conv2d(g, "op", x, cc->cout, cc->k, cc->stride, cc->pad, cc->bias);
    ck_assert_msg(y >= 0, "%s: %s", cc->label, cgan_last_error(ctx));
    TU_OK(ctx, cgan_graph_status(g));
    cgan_node *nd = cgan_graph_node(g, cgan_graph_node_count(g) - 1);
    if (cc->chunk > 0) {
        cgan_shape o = nd->out_shape;
        size_t per = deconv ? ((size_t)cc->cout * cc->k * cc->k + cc->cin) * cc->h * cc->w
                            : ((size_t)cc->cin * cc->k * cc->k + cc->cout) * o.h * o.w;
        if (ctx->profile.conv_form != CGAN_CONV_FORM_IMPLICIT) /* implicit: no columns */
            ck_assert_uint_ge(nd->work_floats, per * cc->n);
        nd->work_floats = per * cc->chunk + per / 2; /* not a whole number of images */
        ck_assert_uint_ge(nd->work_floats, (size_t)cc->cout * CGAN_CONV_BIAS_PARTS);
    }
    cgan_opcheck_case oc = { cc->label, 1, 1e-4, 1e-4, cc->fd ? 1e-5 : 0, 1000 + (uint64_t)idx };
    cgan_opcheck_result r;
    cgan_status st = cgan_opcheck(ctx, g, &oc, &r);
    ck_assert_msg(st == CGAN_OK, "%s %d (%s): %s", deconv ? "deconv2d" : "conv2d", idx, cc->label,
                  cgan_last_error(ctx));
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}

START_TEST(test_conv2d)
{
    run_op_case(0, &conv_cases[_i], _i);
}
END_TEST

START_TEST(test_deconv2d)
{
    run_op_case(1, &deconv_cases[_i], _i);
}
END_TEST

/* The suite above runs the device's defaults; these run the cases again with one setting
 * changed: the element forms of im2col/col2im (the GPU default), on the cases small enough
 * for finite differences; every GEMM through the packed form, so through views of the
 * images (no im2col, pack or unpack pass; weight gradients included, which the default
 * packs only when large), on every case; no GEMM packed, so every product on the plain
 * matrices the views stand for, on the finite-difference cases. */
#define NCONV (int)(sizeof conv_cases / sizeof conv_cases[0])
#define NDECONV (int)(sizeof deconv_cases / sizeof deconv_cases[0])
static const struct env_run {
    const char *var, *value;
    int deconv, cases;
    const char *var2, *value2;  /* a second setting, or NULL */
} env_runs[] = {
    { "CGAN_CONV_FORM", "element", 0, 10, NULL, NULL },
    { "CGAN_CONV_FORM", "element", 1, 9, NULL, NULL },
    { "CGAN_GEMM_PACK", "1", 0, NCONV, NULL, NULL },
    { "CGAN_GEMM_PACK", "1", 1, NDECONV, NULL, NULL },
    { "CGAN_GEMM_PACK", "0", 0, 10, NULL, NULL },
    { "CGAN_GEMM_PACK", "0", 1, 9, NULL, NULL },
    /* the implicit GEMM (the GPU default): every case, then under small work-groups */
    { "CGAN_CONV_FORM", "implicit", 0, NCONV, NULL, NULL },
    { "CGAN_CONV_FORM", "implicit", 1, NDECONV, NULL, NULL },
    { "CGAN_DEVICE_CLASS", "gpu", 0, 10, NULL, NULL },
    { "CGAN_DEVICE_CLASS", "gpu", 1, 9, NULL, NULL },
    { "CGAN_CONV_FORM", "implicit", 0, 10, "CGAN_WG_LIMIT", "16" },
    { "CGAN_CONV_FORM", "implicit", 1, 9, "CGAN_WG_LIMIT", "16" },
    { "CGAN_CONV_FORM", "implicit", 0, 10, "CGAN_WG_LIMIT", "1" },
    { "CGAN_CONV_FORM", "implicit", 1, 9, "CGAN_WG_LIMIT", "1" },
};

static int env_run_total(void)
{
    int t = 0;
    for (size_t i = 0; i < sizeof env_runs / sizeof env_runs[0]; i++) t += env_runs[i].cases;
    return t;
}

/* _i counts through the cases of every run in turn. */
START_TEST(test_ops_env)
{
    int i = _i;
    for (size_t r = 0; r < sizeof env_runs / sizeof env_runs[0]; i -= env_runs[r++].cases)
        if (i < env_runs[r].cases) {
            setenv(env_runs[r].var, env_runs[r].value, 1);
            if (env_runs[r].var2) setenv(env_runs[r].var2, env_runs[r].value2, 1);
            run_op_case(env_runs[r].deconv,
                        env_runs[r].deconv ? &deconv_cases[i] : &conv_cases[i], i);
            unsetenv(env_runs[r].var);
            if (env_runs[r].var2) unsetenv(env_runs[r].var2);
            return;
        }
    ck_abort_msg("case %d past the runs", _i);
}
END_TEST

START_TEST(test_selfchecks)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_check_result r;
    TU_OK(ctx, cgan_selfcheck_conv2d(ctx, &r));
    ck_assert(r.max_err <= r.tol);
    TU_OK(ctx, cgan_selfcheck_deconv2d(ctx, &r));
    ck_assert(r.max_err <= r.tol);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- implicit GEMM form ------------------------------------------------------------------ */
/* Odd shapes for the implicit kernels: non-square, stride 1..3, pad 0..2, k 1..5, channel
 * counts off every tile size, batch 1 and odd. opcheck poisons outputs and beta-0 input
 * gradients with NaN, so an element a kernel leaves unwritten fails the comparison, and
 * runs backward with din_beta 0 and 1. */
static const conv_case implicit_conv_cases[] = {
    { 1, 3, 9, 6, 5, 5, 1, 2, 1, 1, 0, "k5 s1 p2, 9x6, batch 1" },
    { 3, 5, 10, 7, 7, 3, 2, 0, 1, 1, 0, "k3 s2 p0, 10x7" },
    { 3, 2, 6, 11, 3, 2, 2, 1, 0, 1, 0, "k2 s2 p1, 6x11" },
    { 1, 7, 5, 8, 9, 1, 2, 0, 1, 1, 0, "k1 s2, stride holes in dx" },
    { 3, 4, 7, 5, 6, 4, 1, 2, 0, 1, 0, "k4 s1 p2" },
    { 5, 3, 13, 9, 17, 3, 1, 1, 1, 0, 0, "17 outputs, batch 5" },
    { 3, 33, 9, 10, 70, 3, 2, 1, 0, 0, 0, "33 -> 70 channels, past 64-row tiles" },
    { 3, 6, 24, 21, 5, 3, 1, 1, 0, 0, 0, "long K for the weight gradient (split)" },
    { 1, 2, 1, 1, 3, 3, 2, 1, 1, 1, 0, "1x1 input, padded" },
};

static const conv_case implicit_deconv_cases[] = {
    { 1, 3, 4, 6, 5, 5, 1, 2, 1, 1, 0, "k5 s1 p2, 4x6, batch 1" },
    { 3, 5, 5, 3, 7, 3, 2, 0, 1, 1, 0, "k3 s2 p0: phases with unequal taps" },
    { 3, 2, 4, 5, 3, 2, 2, 1, 0, 1, 0, "k2 s2 p1" },
    { 1, 7, 3, 4, 9, 1, 2, 0, 1, 1, 0, "k1 s2: phases without taps (bias only)" },
    { 3, 4, 3, 2, 6, 4, 3, 2, 0, 1, 0, "k4 s3 p2" },
    { 5, 17, 5, 4, 3, 4, 2, 1, 1, 0, 0, "17 -> 3 channels (RGB-like), batch 5" },
    { 3, 70, 4, 3, 33, 4, 2, 1, 0, 0, 0, "70 -> 33 channels" },
    { 3, 5, 11, 12, 4, 4, 2, 1, 0, 0, 0, "long K for the weight gradient (split)" },
};
#define NICONV (int)(sizeof implicit_conv_cases / sizeof implicit_conv_cases[0])
#define NIDECONV (int)(sizeof implicit_deconv_cases / sizeof implicit_deconv_cases[0])

/* Every case under the implicit form at the device's limits, at 16-item work-groups, and
 * at one item. */
static const char *const implicit_limits[] = { NULL, "16", "1" };

START_TEST(test_implicit_shapes)
{
    int per = NICONV + NIDECONV, lim = _i / per, i = _i % per;
    setenv("CGAN_CONV_FORM", "implicit", 1);
    if (implicit_limits[lim]) setenv("CGAN_WG_LIMIT", implicit_limits[lim], 1);
    if (i < NICONV) run_op_case(0, &implicit_conv_cases[i], 2000 + i);
    else run_op_case(1, &implicit_deconv_cases[i - NICONV], 3000 + i);
    unsetenv("CGAN_CONV_FORM");
    unsetenv("CGAN_WG_LIMIT");
}
END_TEST

static int launched(const cgan_ctx *ctx, const char *name)
{
    for (int i = 0; i < ctx->prof_count; i++)
        if (strcmp(ctx->prof[i].name, name) == 0) return ctx->prof[i].count;
    return 0;
}

/* The implicit form really runs: the profile switched after opening (and back) picks it,
 * every product goes through its kernels, and no im2col, col2im, pack, unpack or GEMM is
 * launched. The long-K case splits its weight gradient (work planned, reduce launched). */
START_TEST(test_implicit_launches)
{
    cgan_ctx *ctx = tu_ctx();
    setenv("CGAN_CONV_FORM", "implicit", 1);
    TU_OK(ctx, cgan_profile_refresh(ctx));
    ck_assert_int_eq(ctx->profile.conv_form, CGAN_CONV_FORM_IMPLICIT);
    for (int deconv = 0; deconv < 2; deconv++) {
        const conv_case *cc = deconv ? &implicit_deconv_cases[NIDECONV - 1]
                                     : &implicit_conv_cases[NICONV - 2];
        cgan_graph *g = cgan_graph_new(ctx, "T");
        int x = cgan_graph_input(g, "x", cgan_shape4(cc->n, cc->cin, cc->h, cc->w));
        int y = deconv ? cgan_nn_deconv2d(g, "op", x, cc->cout, cc->k, cc->stride, cc->pad, 1)
                       : cgan_nn_conv2d(g, "op", x, cc->cout, cc->k, cc->stride, cc->pad, 1);
        ck_assert_msg(y >= 0, "%s", cgan_last_error(ctx));
        cgan_node *nd = cgan_graph_node(g, cgan_graph_node_count(g) - 1);
        /* split-K partials (more than one weight's worth), not im2col columns */
        size_t wsize = deconv ? (size_t)cc->cin * cc->cout * cc->k * cc->k
                              : (size_t)cc->cout * cc->cin * cc->k * cc->k;
        ck_assert_msg(nd->work_floats >= 2 * wsize, "work %zu for a weight of %zu",
                      nd->work_floats, wsize);
        TU_OK(ctx, cgan_profile_enable(ctx, 1));
        cgan_profile_reset(ctx);
        cgan_opcheck_case oc = { cc->label, 1, 1e-4, 1e-4, 0, 77 };
        cgan_opcheck_result r;
        TU_OK(ctx, cgan_opcheck(ctx, g, &oc, &r));
        TU_OK(ctx, cgan_profile_enable(ctx, 0));
        ck_assert_int_ge(launched(ctx, "conv_fwd"), 1);
        ck_assert_int_ge(launched(ctx, "conv_bwd_data"), 1);
        ck_assert_int_ge(launched(ctx, "conv_wgrad"), 1);
        ck_assert_int_ge(launched(ctx, "conv_wgrad_reduce"), 1);
        static const char *const old[] = { "im2col", "im2col_planes", "col2im", "col2im_rows",
                                           "pack_cm", "unpack_cm", "bias_add" };
        for (size_t j = 0; j < sizeof old / sizeof old[0]; j++)
            ck_assert_msg(!launched(ctx, old[j]), "%s launched", old[j]);
        for (int j = 0; j < ctx->prof_count; j++)
            ck_assert_msg(strncmp(ctx->prof[j].name, "gemm", 4) != 0, "%s launched",
                          ctx->prof[j].name);
        cgan_graph_destroy(g);
    }
    unsetenv("CGAN_CONV_FORM");
    TU_OK(ctx, cgan_profile_refresh(ctx));
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- builders ------------------------------------------------------------------------------ */
START_TEST(test_builder_shapes)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "G");
    int z = cgan_graph_input(g, "z", cgan_shape4(4, 110, 1, 1));
    int h = cgan_nn_deconv2d(g, "deconv1", z, 256, 4, 1, 0, 0);
    h = cgan_nn_deconv2d(g, "deconv2", h, 128, 4, 2, 1, 0);
    h = cgan_nn_deconv2d(g, "deconv3", h, 3, 4, 2, 1, 1);
    TU_OK(ctx, cgan_graph_status(g));
    cgan_shape s = cgan_graph_tensor(g, h)->shape;
    ck_assert(cgan_shape_eq(s, cgan_shape4(4, 3, 16, 16)));
    int w = cgan_graph_find_tensor(g, "G.deconv2.weight");
    ck_assert_int_ge(w, 0);
    ck_assert(cgan_shape_eq(cgan_graph_tensor(g, w)->shape, cgan_shape4(256, 128, 4, 4)));
    ck_assert_int_lt(cgan_graph_find_tensor(g, "G.deconv2.bias"), 0);
    int b = cgan_graph_find_tensor(g, "G.deconv3.bias");
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(cgan_graph_tensor(g, b)->init, CGAN_INIT_CONST);
    ck_assert(cgan_graph_tensor(g, w)->init == CGAN_INIT_NORMAL &&
              fabsf(cgan_graph_tensor(g, w)->init_std - 0.02f) < 1e-7f);
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "D");
    int x = cgan_graph_input(g, "x", cgan_shape4(2, 11, 32, 32));
    h = cgan_nn_conv2d(g, "conv1", x, 64, 4, 2, 1, 0);
    h = cgan_nn_conv2d(g, "conv2", h, 128, 4, 2, 1, 0);
    h = cgan_nn_conv2d(g, "conv3", h, 256, 4, 2, 1, 0);
    h = cgan_nn_conv2d(g, "conv4", h, 1, 4, 1, 0, 1);
    TU_OK(ctx, cgan_graph_status(g));
    ck_assert(cgan_shape_eq(cgan_graph_tensor(g, h)->shape, cgan_shape4(2, 1, 1, 1)));
    w = cgan_graph_find_tensor(g, "D.conv1.weight");
    ck_assert(cgan_shape_eq(cgan_graph_tensor(g, w)->shape, cgan_shape4(64, 11, 4, 4)));
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_builder_errors)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "D");
    int x = cgan_graph_input(g, "x", cgan_shape4(1, 3, 2, 2));
    int y = cgan_nn_conv2d(g, "conv1", x, 8, 4, 1, 0, 0);
    ck_assert_int_eq(y, -1);
    ck_assert_int_eq(cgan_graph_status(g), CGAN_E_SHAPE);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "D.conv1") && strstr(msg, "[1,3,2,2]") &&
                  strstr(msg, "smaller than kernel 4 with pad 0"), "%s", msg);
    /* a builder given -1 stays quiet and keeps the first error */
    ck_assert_int_eq(cgan_nn_conv2d(g, "conv2", y, 8, 3, 1, 1, 0), -1);
    ck_assert_int_eq(cgan_nn_deconv2d(g, "deconv", y, 8, 3, 1, 1, 0), -1);
    ck_assert(strstr(cgan_last_error(ctx), "D.conv1") != NULL);
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "G");
    x = cgan_graph_input(g, "z", cgan_shape4(2, 4, 1, 1));
    ck_assert_int_eq(cgan_nn_deconv2d(g, "deconv1", x, 8, 2, 1, 1, 0), -1);
    msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "G.deconv1") && strstr(msg, "empty output"), "%s", msg);
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "G");
    x = cgan_graph_input(g, "z", cgan_shape4(2, 4, 5, 5));
    ck_assert_int_eq(cgan_nn_conv2d(g, "conv0", x, 8, 3, 0, 1, 0), -1);
    msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "G.conv0") && strstr(msg, "stride 0"), "%s", msg);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_gemm_transposes);
    tcase_add_test(tc, test_gemm_batched);
    tcase_add_test(tc, test_gemm_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("ops");
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, test_conv2d, 0, NCONV);
    tcase_add_loop_test(tc, test_deconv2d, 0, NDECONV);
    tcase_add_loop_test(tc, test_ops_env, 0, env_run_total());
    tcase_add_test(tc, test_selfchecks);
    tcase_add_loop_test(tc, test_implicit_shapes, 0,
                        (int)(sizeof implicit_limits / sizeof implicit_limits[0]) *
                            (NICONV + NIDECONV));
    tcase_add_test(tc, test_implicit_launches);
    suite_add_tcase(s, tc);
    tc = tcase_create("builders");
    tcase_add_test(tc, test_builder_shapes);
    tcase_add_test(tc, test_builder_errors);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
