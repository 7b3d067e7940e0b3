/* DiffAugment (translation, cutout): opcheck on odd shapes in train and eval mode, the
 * per-sample parameters against the host draw, the shape of the zeroed regions on a
 * constant image, determinism per (seed, counter), identities, the adjoint, the
 * executor against the reference executor, builder errors and the self-check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/exec.h"
#include "core/opcheck.h"
#include "core/reference.h"
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/diffaug.h"

/* ---- helpers --------------------------------------------------------------------- */

static cgan_graph *build(cgan_ctx *ctx, cgan_shape s, float tr, float cr)
{
    cgan_graph *g = cgan_graph_new(ctx, "t");
    ck_assert_ptr_nonnull(g);
    int x = cgan_graph_input(g, "x", s);
    ck_assert_int_ge(cgan_nn_diffaug(g, "aug", x, tr, cr), 0);
    TU_OK(ctx, cgan_graph_status(g));
    return g;
}

/* The op called directly with its own buffers (input, output, aux, dout, din). */
typedef struct direct {
    cgan_graph *g;
    cgan_shape s;
    size_t n;
    int sizes[4];
    cgan_op_args a;
} direct;

static void direct_setup(cgan_ctx *ctx, direct *d, cgan_shape s, float tr, float cr)
{
    memset(d, 0, sizeof *d);
    d->g = build(ctx, s, tr, cr);
    d->s = s;
    d->n = cgan_numel(s);
    cgan_diffaug_sizes(s.h, s.w, tr, cr, d->sizes);
    d->a.node = cgan_graph_node(d->g, cgan_graph_node_count(d->g) - 1);
    d->a.in[0] = tu_poisoned(ctx, d->n);
    d->a.out = tu_poisoned(ctx, d->n);
    d->a.aux[0] = tu_poisoned(ctx, (size_t)s.n * 4);
    d->a.dout = tu_poisoned(ctx, d->n);
    d->a.din[0] = tu_poisoned(ctx, d->n);
    d->a.train = 1;
    d->a.seed = 0x5eed0123456789abull;
    d->a.counter = 3;
}

static void direct_free(direct *d)
{
    cgan_buffer_release(d->a.in[0]);
    cgan_buffer_release(d->a.out);
    cgan_buffer_release(d->a.aux[0]);
    cgan_buffer_release(d->a.dout);
    cgan_buffer_release(d->a.din[0]);
    cgan_graph_destroy(d->g);
}

static void put(cgan_ctx *ctx, cl_mem m, const float *h, size_t n)
{
    TU_OK(ctx, cgan_buffer_write(ctx, m, 0, n * sizeof(float), h));
}

/* Forward; out (n floats) and params (4 per sample, as ints; may be NULL) read back. */
static void forward(cgan_ctx *ctx, direct *d, float *out, int *params)
{
    TU_OK(ctx, cgan_op_diffaug_def.forward(ctx, &d->a));
    tu_download(ctx, d->a.out, out, d->n);
    if (params) {
        size_t np = (size_t)d->s.n * 4;
        float *p = malloc(np * sizeof *p);
        ck_assert_ptr_nonnull(p);
        tu_download(ctx, d->a.aux[0], p, np);
        for (size_t i = 0; i < np; i++) {
            ck_assert_msg(p[i] == floorf(p[i]), "parameter %zu is %g", i, p[i]);
            params[i] = (int)p[i];
        }
        free(p);
    }
}

static float *filled(size_t n, float v)
{
    float *h = malloc(n * sizeof *h);
    ck_assert_ptr_nonnull(h);
    for (size_t i = 0; i < n; i++) h[i] = v;
    return h;
}

/* Length of [a, a+len) ∩ [lo, hi). */
static int overlap(int a, int len, int lo, int hi)
{
    int s = a > lo ? a : lo, e = a + len < hi ? a + len : hi;
    return e > s ? e - s : 0;
}

/* ---- opcheck ----------------------------------------------------------------------- */

typedef struct ocase {
    cgan_shape s;
    float tr, cr;
} ocase;

static const ocase ocases[] = {
    { { 1, 1, 7, 9 }, 0.125f, 0.5f },   { { 1, 3, 7, 9 }, 0.125f, 0.5f },
    { { 1, 1, 32, 32 }, 0.125f, 0.5f }, { { 1, 3, 32, 32 }, 0.125f, 0.5f },
    { { 5, 3, 7, 9 }, 0.125f, 0.5f },   { { 3, 2, 9, 7 }, 0.3f, 0.7f },
    { { 4, 1, 5, 3 }, 1.0f, 1.0f },     { { 2, 3, 1, 6 }, 0.5f, 0.5f },
    { { 3, 3, 32, 32 }, 0.0f, 0.5f },   { { 3, 3, 32, 32 }, 0.125f, 0.0f },
};
#define N_OCASES (int)(sizeof ocases / sizeof ocases[0])

/* Each case in train mode with three data/parameter seeds and once in eval mode. */
START_TEST(test_opcheck)
{
    cgan_ctx *ctx = tu_ctx();
    const ocase *oc = &ocases[_i];
    for (int m = 0; m < 4; m++) {
        int train = m < 3;
        cgan_graph *g = build(ctx, oc->s, oc->tr, oc->cr);
        char label[128], sb[64];
        snprintf(label, sizeof label, "diffaug %s t%.3g c%.3g %s", cgan_shape_str(oc->s, sb, sizeof sb),
                 (double)oc->tr, (double)oc->cr, train ? "train" : "eval");
        cgan_opcheck_case c = { label, train, 1e-6, 1e-6, 1e-5, 500u + 10u * (uint64_t)_i + (uint64_t)m };
        cgan_opcheck_result r;
        cgan_status st = cgan_opcheck(ctx, g, &c, &r);
        ck_assert_msg(st == CGAN_OK, "%s: %s", label, cgan_last_error(ctx));
        ck_assert(r.err_fwd <= 1e-6 && r.err_bwd <= 1e-6 && r.err_fd <= 1e-5);
        cgan_graph_destroy(g);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- parameters ----------------------------------------------------------------------- */

/* Device parameters equal the host draw, stay in range and cover every value. */
START_TEST(test_params_match_host)
{
    cgan_ctx *ctx = tu_ctx();
    direct d;
    direct_setup(ctx, &d, cgan_shape4(1024, 1, 32, 32), 0.125f, 0.5f);
    ck_assert(d.sizes[0] == 4 && d.sizes[1] == 4 && d.sizes[2] == 16 && d.sizes[3] == 16);
    float *x = filled(d.n, 1.0f), *y = malloc(d.n * sizeof *y);
    int *p = malloc(1024 * 4 * sizeof *p);
    ck_assert(y && p);
    put(ctx, d.a.in[0], x, d.n);
    forward(ctx, &d, y, p);
    int seen_t[2][9] = { { 0 } }, seen_c[2][32] = { { 0 } };
    for (int b = 0; b < 1024; b++) {
        int h[4];
        cgan_diffaug_draw(d.a.seed, d.a.counter, (uint32_t)b, 32, 32, d.sizes, h);
        for (int k = 0; k < 4; k++)
            ck_assert_msg(p[4 * b + k] == h[k], "sample %d param %d: device %d host %d", b, k,
                          p[4 * b + k], h[k]);
        ck_assert(h[0] >= -4 && h[0] <= 4 && h[1] >= -4 && h[1] <= 4);
        ck_assert(h[2] >= 0 && h[2] < 32 && h[3] >= 0 && h[3] < 32);
        seen_t[0][h[0] + 4] = seen_t[1][h[1] + 4] = 1;
        seen_c[0][h[2]] = seen_c[1][h[3]] = 1;
    }
    for (int k = 0; k < 2; k++) {
        for (int v = 0; v < 9; v++) ck_assert_msg(seen_t[k][v], "shift %d never drawn", v - 4);
        for (int v = 0; v < 32; v++) ck_assert_msg(seen_c[k][v], "centre %d never drawn", v);
    }
    /* the odd sizes round half up: 7 * 0.125 = 0.875 -> 1, 9 * 0.5 = 4.5 -> 5 */
    int sz[4];
    cgan_diffaug_sizes(7, 9, 0.125f, 0.5f, sz);
    ck_assert(sz[0] == 1 && sz[1] == 1 && sz[2] == 4 && sz[3] == 5);
    direct_free(&d);
    free(x); free(y); free(p);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- semantics on a constant image ---------------------------------------------------- */

/* A constant image: the zeros are exactly |ty| full rows on the side the image moved
 * away from, |tx| full columns likewise, and the cutout square clipped to the image
 * (cutout_size^2 when it is not clipped); every other pixel keeps the value; all channels
 * alike. */
static void check_constant(cgan_ctx *ctx, float tr, float cr, int *unclipped_seen)
{
    const int N = 64, C = 3, H = 32, W = 32;
    const float v = 2.5f;
    direct d;
    direct_setup(ctx, &d, cgan_shape4(N, C, H, W), tr, cr);
    float *x = filled(d.n, v), *y = malloc(d.n * sizeof *y);
    int *p = malloc((size_t)N * 4 * sizeof *p);
    ck_assert(y && p);
    put(ctx, d.a.in[0], x, d.n);
    forward(ctx, &d, y, p);
    const int ch = d.sizes[2], cw = d.sizes[3];
    for (int b = 0; b < N; b++) {
        const int tx = p[4 * b], ty = p[4 * b + 1], cy = p[4 * b + 2], cx = p[4 * b + 3];
        const float *img = y + (size_t)b * C * H * W;
        for (int c = 1; c < C; c++)
            ck_assert(memcmp(img, img + (size_t)c * H * W, (size_t)H * W * sizeof *img) == 0);
        /* full zero rows / columns come from translation only (the cutout is narrower) */
        int zr_top = 0, zr_bot = 0, zc_left = 0, zc_right = 0;
        for (int yy = 0; yy < H; yy++) {
            int all = 1;
            for (int xx = 0; xx < W; xx++) all &= img[yy * W + xx] == 0.0f;
            if (all) { if (yy < H / 2) zr_top++; else zr_bot++; }
        }
        for (int xx = 0; xx < W; xx++) {
            int all = 1;
            for (int yy = 0; yy < H; yy++) all &= img[yy * W + xx] == 0.0f;
            if (all) { if (xx < W / 2) zc_left++; else zc_right++; }
        }
        ck_assert_msg(zr_top == (ty > 0 ? ty : 0) && zr_bot == (ty < 0 ? -ty : 0),
                      "sample %d: ty %d, zero rows %d top %d bottom", b, ty, zr_top, zr_bot);
        ck_assert_msg(zc_left == (tx > 0 ? tx : 0) && zc_right == (tx < 0 ? -tx : 0),
                      "sample %d: tx %d, zero columns %d left %d right", b, tx, zc_left, zc_right);
        /* inside the band the translation keeps, the zeros form the clipped square */
        const int r0 = zr_top, r1 = H - zr_bot, c0 = zc_left, c1 = W - zc_right;
        int zeros = 0, miny = H, maxy = -1, minx = W, maxx = -1;
        for (int yy = r0; yy < r1; yy++)
            for (int xx = c0; xx < c1; xx++) {
                float o = img[yy * W + xx];
                ck_assert(o == 0.0f || o == v);
                if (o != 0.0f) continue;
                zeros++;
                if (yy < miny) miny = yy;
                if (yy > maxy) maxy = yy;
                if (xx < minx) minx = xx;
                if (xx > maxx) maxx = xx;
            }
        const int eh = overlap(cy - ch / 2, ch, r0, r1), ew = overlap(cx - cw / 2, cw, c0, c1);
        ck_assert_msg(zeros == eh * ew, "sample %d: %d zeros, expected %d x %d", b, zeros, eh, ew);
        if (zeros) {
            ck_assert(maxy - miny + 1 == eh && maxx - minx + 1 == ew);
            ck_assert(miny == (cy - ch / 2 > r0 ? cy - ch / 2 : r0));
            ck_assert(minx == (cx - cw / 2 > c0 ? cx - cw / 2 : c0));
        }
        if (eh == ch && ew == cw) {
            ck_assert_int_eq(zeros, ch * cw);
            (*unclipped_seen)++;
        }
    }
    direct_free(&d);
    free(x); free(y); free(p);
}

START_TEST(test_constant_image)
{
    cgan_ctx *ctx = tu_ctx();
    int unclipped = 0;
    check_constant(ctx, 0.125f, 0.5f, &unclipped);
    ck_assert_msg(unclipped > 0, "no sample had an unclipped cutout");
    /* cutout only: exactly the clipped square, 256 zeros when not clipped */
    unclipped = 0;
    check_constant(ctx, 0.0f, 0.5f, &unclipped);
    ck_assert(unclipped > 0);
    /* translation only: H*W - (H-|ty|)(W-|tx|) zeros (checked through the bands) */
    unclipped = 0;
    check_constant(ctx, 0.125f, 0.0f, &unclipped);
    ck_assert_int_eq(unclipped, 64); /* an empty cutout counts as unclipped */
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Translation on random data: the kept band is the input shifted by (tx, ty). */
START_TEST(test_translation_moves_pixels)
{
    cgan_ctx *ctx = tu_ctx();
    const int N = 16, C = 2, H = 11, W = 13;
    direct d;
    direct_setup(ctx, &d, cgan_shape4(N, C, H, W), 0.3f, 0.0f);
    cgan_rng rng;
    cgan_rng_init(&rng, 4, 4);
    float *x = tu_random(&rng, d.n, 0.5f, 1.5f), *y = malloc(d.n * sizeof *y);
    int p[16 * 4], moved = 0;
    ck_assert_ptr_nonnull(y);
    put(ctx, d.a.in[0], x, d.n);
    forward(ctx, &d, y, p);
    for (int b = 0; b < N; b++) {
        const int tx = p[4 * b], ty = p[4 * b + 1];
        moved += tx != 0 || ty != 0;
        for (int c = 0; c < C; c++)
            for (int yy = 0; yy < H; yy++)
                for (int xx = 0; xx < W; xx++) {
                    size_t base = ((size_t)b * C + c) * H * W;
                    int sy = yy - ty, sx = xx - tx;
                    float want = sy >= 0 && sy < H && sx >= 0 && sx < W ? x[base + sy * W + sx] : 0.0f;
                    ck_assert(y[base + yy * W + xx] == want);
                }
    }
    ck_assert(moved > N / 2);
    direct_free(&d);
    free(x); free(y);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- determinism ---------------------------------------------------------------------- */

START_TEST(test_counters)
{
    cgan_ctx *ctx = tu_ctx();
    const int N = 16;
    direct d;
    direct_setup(ctx, &d, cgan_shape4(N, 3, 32, 32), 0.125f, 0.5f);
    cgan_rng rng;
    cgan_rng_init(&rng, 5, 5);
    float *x = tu_random(&rng, d.n, -1, 1);
    float *y1 = malloc(d.n * sizeof *y1), *y2 = malloc(d.n * sizeof *y2);
    int p1[16 * 4], p2[16 * 4];
    ck_assert(y1 && y2);
    put(ctx, d.a.in[0], x, d.n);
    d.a.counter = 11;
    forward(ctx, &d, y1, p1);
    /* same (seed, counter): bit-identical */
    forward(ctx, &d, y2, p2);
    ck_assert(memcmp(y1, y2, d.n * sizeof *y1) == 0 && memcmp(p1, p2, sizeof p1) == 0);
    /* another counter (either half), another seed: other augmentations for most samples */
    for (int v = 0; v < 3; v++) {
        d.a.counter = v == 0 ? 12 : v == 1 ? 11 + (1ull << 32) : 11;
        if (v == 2) d.a.seed ^= 1ull << 40;
        forward(ctx, &d, y2, p2);
        int differ = 0;
        for (int b = 0; b < N; b++) differ += memcmp(&p1[4 * b], &p2[4 * b], 4 * sizeof(int)) != 0;
        ck_assert_msg(differ >= N - 1, "variant %d: only %d of %d samples differ", v, differ, N);
        ck_assert(memcmp(y1, y2, d.n * sizeof *y1) != 0);
    }
    /* samples of one batch differ from each other */
    int same = 0;
    for (int b = 1; b < N; b++) same += memcmp(&p1[0], &p1[4 * b], 4 * sizeof(int)) == 0;
    ck_assert_int_le(same, 1);
    direct_free(&d);
    free(x); free(y1); free(y2);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- identities ----------------------------------------------------------------------- */

/* Ratios 0 in train mode, and eval mode with the default ratios, are the identity both
 * ways: out == x, dx == dy (beta 0, din poisoned) and dx == dy + old (beta 1). */
START_TEST(test_identity)
{
    cgan_ctx *ctx = tu_ctx();
    for (int m = 0; m < 2; m++) {
        direct d;
        direct_setup(ctx, &d, cgan_shape4(3, 3, 7, 9), m ? 0.125f : 0.0f, m ? 0.5f : 0.0f);
        d.a.train = !m;
        cgan_rng rng;
        cgan_rng_init(&rng, 6, (uint32_t)m);
        float *x = tu_random(&rng, d.n, -1, 1), *dy = tu_random(&rng, d.n, -1, 1);
        float *old = tu_random(&rng, d.n, -1, 1), *y = malloc(d.n * sizeof *y);
        ck_assert_ptr_nonnull(y);
        put(ctx, d.a.in[0], x, d.n);
        put(ctx, d.a.dout, dy, d.n);
        forward(ctx, &d, y, NULL);
        ck_assert_msg(memcmp(x, y, d.n * sizeof *y) == 0, "mode %d: forward is not the identity", m);
        d.a.din_beta[0] = 0;
        TU_OK(ctx, cgan_op_diffaug_def.backward(ctx, &d.a));
        tu_download(ctx, d.a.din[0], y, d.n);
        ck_assert(memcmp(dy, y, d.n * sizeof *y) == 0);
        put(ctx, d.a.din[0], old, d.n);
        d.a.din_beta[0] = 1;
        TU_OK(ctx, cgan_op_diffaug_def.backward(ctx, &d.a));
        tu_download(ctx, d.a.din[0], y, d.n);
        for (size_t i = 0; i < d.n; i++) ck_assert(y[i] == dy[i] + old[i]);
        direct_free(&d);
        free(x); free(dy); free(old); free(y);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- backward ------------------------------------------------------------------------- */

/* <out, dy> == <x, dx> on a larger batch, and dx is zero exactly where no output pixel
 * reads the input (as many nonzeros as the output keeps). */
START_TEST(test_adjoint)
{
    cgan_ctx *ctx = tu_ctx();
    direct d;
    direct_setup(ctx, &d, cgan_shape4(8, 3, 32, 32), 0.125f, 0.5f);
    cgan_rng rng;
    cgan_rng_init(&rng, 7, 7);
    float *x = tu_random(&rng, d.n, 0.5f, 1.5f), *dy = tu_random(&rng, d.n, 0.5f, 1.5f);
    float *y = malloc(d.n * sizeof *y), *dx = malloc(d.n * sizeof *dx);
    ck_assert(y && dx);
    put(ctx, d.a.in[0], x, d.n);
    put(ctx, d.a.dout, dy, d.n);
    forward(ctx, &d, y, NULL);
    d.a.din_beta[0] = 0;
    TU_OK(ctx, cgan_op_diffaug_def.backward(ctx, &d.a));
    tu_download(ctx, d.a.din[0], dx, d.n);
    double lhs = 0, rhs = 0;
    size_t kept_out = 0, kept_in = 0;
    for (size_t i = 0; i < d.n; i++) {
        lhs += (double)y[i] * dy[i];
        rhs += (double)x[i] * dx[i];
        kept_out += y[i] != 0.0f;
        kept_in += dx[i] != 0.0f;
    }
    ck_assert_msg(fabs(lhs - rhs) <= 1e-9 * fabs(lhs), "<y,dy> %.17g, <x,dx> %.17g", lhs, rhs);
    ck_assert_uint_eq(kept_out, kept_in);
    ck_assert(kept_out < d.n && kept_out > d.n / 4);
    direct_free(&d);
    free(x); free(dy); free(y); free(dx);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Through the executor (planned aux, counter per node, backward reading aux) against
 * the reference executor: x -> diffaug -> tanh -> BCE. */
START_TEST(test_executor)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_graph *g = cgan_graph_new(ctx, "D");
    int x = cgan_graph_input(g, "x", cgan_shape4(4, 3, 9, 11));
    int a = cgan_nn_diffaug(g, "aug", x, 0.25f, 0.5f);
    int h = cgan_nn_activation(g, "tanh", a, CGAN_ACT_TANH, 0);
    int loss = cgan_nn_loss_bce(g, "loss", h, 1.0f);
    TU_OK(ctx, cgan_graph_status(g));
    TU_OK(ctx, cgan_graph_requires_grad(g, x));
    TU_OK(ctx, cgan_graph_plan(g, CGAN_MODE_TRAIN, 21));
    cgan_refexec *r;
    TU_OK(ctx, cgan_refexec_create(g, &r));
    const size_t n = 4 * 3 * 9 * 11;
    cgan_rng rng;
    cgan_rng_init(&rng, 8, 8);
    float *hx = tu_random(&rng, n, -1, 1), *got = malloc(n * sizeof *got);
    ck_assert_ptr_nonnull(got);
    TU_OK(ctx, cgan_graph_write(g, x, hx));
    double *rx = cgan_refexec_value(r, x);
    for (size_t i = 0; i < n; i++) rx[i] = hx[i];
    for (int step = 0; step < 2; step++) {
        TU_OK(ctx, cgan_graph_forward(g, 1, (uint64_t)step));
        TU_OK(ctx, cgan_graph_backward(g, loss, CGAN_GRAD_INPUTS));
        cgan_refexec_forward(r, 1, (uint64_t)step);
        cgan_refexec_backward(r, loss, CGAN_GRAD_INPUTS);
        TU_OK(ctx, cgan_graph_read(g, a, got));
        ck_assert(cgan_max_rel_err(got, cgan_refexec_value(r, a), n) <= 1e-6);
        TU_OK(ctx, cgan_graph_read_grad(g, x, got));
        double e = cgan_max_rel_err(got, cgan_refexec_grad(r, x), n);
        ck_assert_msg(e <= 1e-5, "step %d: input gradient error %g", step, e);
    }
    cgan_refexec_destroy(r);
    cgan_graph_destroy(g);
    free(hx); free(got);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- builder and self-check ----------------------------------------------------------- */

START_TEST(test_builder)
{
    cgan_ctx *ctx = cgan_ctx_new();
    const float bad[][2] = { { -0.1f, 0.5f }, { 0.125f, 1.5f }, { NAN, 0.5f }, { 0.125f, NAN } };
    for (int i = 0; i < 4; i++) {
        cgan_graph *g = cgan_graph_new(ctx, "G");
        int x = cgan_graph_input(g, "x", cgan_shape4(4, 3, 8, 8));
        ck_assert_int_eq(cgan_nn_diffaug(g, "aug", x, bad[i][0], bad[i][1]), -1);
        ck_assert_int_ne(cgan_graph_status(g), CGAN_OK);
        ck_assert_msg(strstr(cgan_last_error(ctx), "G.aug") != NULL, "%s", cgan_last_error(ctx));
        cgan_graph_destroy(g);
    }
    cgan_graph *g = cgan_graph_new(ctx, "G");
    ck_assert_int_eq(cgan_nn_diffaug(g, "aug", -1, 0.125f, 0.5f), -1); /* a failed chain */
    cgan_graph_destroy(g);
    g = cgan_graph_new(ctx, "G");
    int x = cgan_graph_input(g, "x", cgan_shape4(5, 3, 7, 9));
    int y = cgan_nn_diffaug(g, "aug2", x, 0.125f, 0.5f);
    ck_assert_int_ge(y, 0);
    TU_OK(ctx, cgan_graph_status(g));
    const cgan_node *nd = cgan_graph_node(g, cgan_graph_node_count(g) - 1);
    ck_assert_int_eq(nd->op, CGAN_OP_DIFFAUG);
    ck_assert(cgan_shape_eq(cgan_graph_tensor(g, y)->shape, cgan_shape4(5, 3, 7, 9)));
    ck_assert(nd->n_aux == 1 && cgan_shape_eq(nd->aux_shape[0], cgan_shape4(5, 4, 1, 1)));
    ck_assert(nd->n_param == 0 && nd->n_state == 0 && nd->work_floats == 0);
    ck_assert_ptr_eq(cgan_op_get(CGAN_OP_DIFFAUG), &cgan_op_diffaug_def);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_selfcheck)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_check_result r = { -1, -1 };
    TU_OK(ctx, cgan_selfcheck_diffaug(ctx, &r));
    ck_assert(r.tol > 0 && r.max_err >= 0 && r.max_err <= r.tol);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("diffaug");
    TCase *tc = tcase_create("opcheck");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_opcheck, 0, N_OCASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("semantics");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_params_match_host);
    tcase_add_test(tc, test_constant_image);
    tcase_add_test(tc, test_translation_moves_pixels);
    tcase_add_test(tc, test_counters);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_adjoint);
    tcase_add_test(tc, test_executor);
    suite_add_tcase(s, tc);
    tc = tcase_create("builder");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_builder);
    tcase_add_test(tc, test_selfcheck);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
