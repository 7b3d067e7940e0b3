/* Norm ops: BatchNorm2d (plain and conditional), activations, dropout, device Philox. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/opcheck.h"
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/norm.h"

/* ---- helpers --------------------------------------------------------------------- */

enum { OP_BN, OP_CBN, OP_ACT, OP_DROP };

typedef struct spec {
    int op;
    cgan_shape x;
    int classes;     /* conditional BN */
    cgan_act act;
    float slope, p;
} spec;

static cgan_graph *build(cgan_ctx *ctx, const spec *s)
{
    cgan_graph *g = cgan_graph_new(ctx, "t");
    ck_assert_ptr_nonnull(g);
    int x = cgan_graph_input(g, "x", s->x);
    switch (s->op) {
    case OP_BN: cgan_nn_batchnorm(g, "bn", x); break;
    case OP_CBN: {
        int y = cgan_graph_input_labels(g, "y", s->x.n, s->classes);
        cgan_nn_cond_batchnorm(g, "cbn", x, y, s->classes);
        break;
    }
    case OP_ACT: cgan_nn_activation(g, "act", x, s->act, s->slope); break;
    default: cgan_nn_dropout(g, "drop", x, s->p); break;
    }
    TU_OK(ctx, cgan_graph_status(g));
    return g;
}

/* Run cgan_opcheck on one spec in one mode with the given tolerances. */
static void opcheck(cgan_ctx *ctx, const spec *s, int train, double tol, double tol_fd,
                    uint64_t seed)
{
    cgan_graph *g = build(ctx, s);
    char label[128], sb[64];
    snprintf(label, sizeof label, "op %d %s %s", s->op, cgan_shape_str(s->x, sb, sizeof sb),
             train ? "train" : "eval");
    cgan_opcheck_case c = { label, train, tol, tol, tol_fd, seed };
    cgan_opcheck_result r;
    cgan_status st = cgan_opcheck(ctx, g, &c, &r);
    ck_assert_msg(st == CGAN_OK, "%s: %s", label, cgan_last_error(ctx));
    ck_assert(r.err_fwd <= tol && r.err_bwd <= tol);
    cgan_graph_destroy(g);
}

/* Device buffers for calling an op directly (not through the harness). */
typedef struct direct {
    cgan_graph *g;
    const cgan_node *nd;
    cgan_op_args a;
} direct;

static void direct_setup(cgan_ctx *ctx, direct *d, const spec *s)
{
    memset(d, 0, sizeof *d);
    d->g = build(ctx, s);
    d->nd = cgan_graph_node(d->g, cgan_graph_node_count(d->g) - 1);
    d->a.node = d->nd;
    for (int i = 0; i < d->nd->n_in; i++) d->a.in[i] = tu_poisoned(ctx, cgan_numel(d->nd->in_shape[i]));
    for (int i = 0; i < d->nd->n_param; i++)
        d->a.param[i] = tu_poisoned(ctx, cgan_numel(d->nd->param_shape[i]));
    for (int i = 0; i < d->nd->n_state; i++)
        d->a.state[i] = tu_poisoned(ctx, cgan_numel(d->nd->state_shape[i]));
    for (int i = 0; i < d->nd->n_aux; i++) d->a.aux[i] = tu_poisoned(ctx, cgan_numel(d->nd->aux_shape[i]));
    d->a.out = tu_poisoned(ctx, cgan_numel(d->nd->out_shape));
    if (d->nd->work_floats) d->a.work = tu_poisoned(ctx, d->nd->work_floats);
}

static void direct_free(direct *d)
{
    for (int i = 0; i < CGAN_MAX_IN; i++) { cgan_buffer_release(d->a.in[i]); cgan_buffer_release(d->a.din[i]); }
    for (int i = 0; i < CGAN_MAX_PARAM; i++) { cgan_buffer_release(d->a.param[i]); cgan_buffer_release(d->a.dparam[i]); }
    for (int i = 0; i < CGAN_MAX_STATE; i++) cgan_buffer_release(d->a.state[i]);
    for (int i = 0; i < CGAN_MAX_AUX; i++) cgan_buffer_release(d->a.aux[i]);
    cgan_buffer_release(d->a.out);
    cgan_buffer_release(d->a.dout);
    cgan_buffer_release(d->a.work);
    cgan_graph_destroy(d->g);
}

static void put(cgan_ctx *ctx, cl_mem m, const float *h, size_t n)
{
    TU_OK(ctx, cgan_buffer_write(ctx, m, 0, n * sizeof(float), h));
}

/* ---- Philox ---------------------------------------------------------------------- */

/* The host Philox against the published known-answer vectors (Random123 kat_vectors),
 * then the device Philox of cl/_common.cl against the host on random counters and keys. */
START_TEST(test_philox_device_matches_host)
{
    static const uint32_t kat[3][10] = {
        { 0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u },
        { 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
          0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu },
        { 0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
          0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u },
    };
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        cgan_philox4x32(kat[t], kat[t] + 4, out);
        for (int j = 0; j < 4; j++)
            ck_assert_msg(out[j] == kat[t][6 + j], "host KAT %d word %d: %08x != %08x", t, j,
                          out[j], kat[t][6 + j]);
    }
    cgan_ctx *ctx = tu_ctx();
    cgan_kernel *k;
    TU_OK(ctx, cgan_kernel_get(ctx, "dropout", NULL, "philox_test", &k));
    const int n = 1001;
    uint32_t *ctr = malloc((size_t)n * 16), *got = malloc((size_t)n * 16);
    ck_assert(ctr && got);
    cgan_rng rng;
    cgan_rng_init(&rng, 2024, 5);
    for (int i = 0; i < 4 * n; i++) ctr[i] = cgan_rng_u32(&rng);
    for (int t = 0; t < 3; t++) memcpy(ctr + 4 * t, kat[2], 16); /* a few known counters too */
    for (int round = 0; round < 3; round++) {
        uint32_t key[2] = { cgan_rng_u32(&rng), cgan_rng_u32(&rng) };
        if (round == 0) { key[0] = kat[2][4]; key[1] = kat[2][5]; }
        cl_mem bc, bo;
        TU_OK(ctx, cgan_buffer_create(ctx, (size_t)n * 16, "ctr", &bc));
        TU_OK(ctx, cgan_buffer_create(ctx, (size_t)n * 16, "out", &bo));
        TU_OK(ctx, cgan_buffer_write(ctx, bc, 0, (size_t)n * 16, ctr));
        cgan_range r = cgan_range_1d((size_t)n);
        TU_OK(ctx, cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KUINT(key[0]), CGAN_KUINT(key[1]),
                               CGAN_KMEM(bc), CGAN_KMEM(bo)));
        TU_OK(ctx, cgan_buffer_read(ctx, bo, 0, (size_t)n * 16, got));
        for (int i = 0; i < n; i++) {
            uint32_t want[4];
            cgan_philox4x32(ctr + 4 * i, key, want);
            for (int j = 0; j < 4; j++)
                ck_assert_msg(got[4 * i + j] == want[j], "block %d word %d: %08x != %08x", i, j,
                              got[4 * i + j], want[j]);
        }
        cgan_buffer_release(bc);
        cgan_buffer_release(bo);
    }
    free(ctr);
    free(got);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- BatchNorm -------------------------------------------------------------------- */

static const cgan_shape bn_shapes[] = {
    { 1, 3, 5, 7 },   /* batch 1 */
    { 4, 1, 3, 3 },   /* one channel */
    { 7, 3, 5, 5 },
    { 3, 5, 1, 1 },   /* 1x1 maps, N*H*W = 3 (with 2, dx is ~eps/var: all cancellation) */
    { 3, 6, 17, 13 },
};
#define N_BN_SHAPES (int)(sizeof bn_shapes / sizeof bn_shapes[0])

START_TEST(test_bn_opcheck)
{
    cgan_ctx *ctx = tu_ctx();
    spec s = { .op = OP_BN, .x = bn_shapes[_i / 2] };
    opcheck(ctx, &s, _i % 2 == 0, 1e-4, 1e-5, 11u + (uint64_t)_i);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The largest reduction the trainer needs (N*H*W = 64*32*32) within 1e-4, both modes;
 * and eval mode on a single 1x1 sample (generation of one image). */
START_TEST(test_bn_large_and_single)
{
    cgan_ctx *ctx = tu_ctx();
    spec s = { .op = OP_BN, .x = cgan_shape4(64, 2, 32, 32) };
    opcheck(ctx, &s, 1, 1e-4, 1e-5, 5);
    opcheck(ctx, &s, 0, 1e-4, 1e-5, 6);
    spec one = { .op = OP_BN, .x = cgan_shape4(1, 4, 1, 1) };
    opcheck(ctx, &one, 0, 1e-4, 1e-5, 7);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Hand-computed PyTorch numbers, independent of the reference: one channel holding
 * 1, 2, 3, 4 (N = 2, H*W = 2): mean 2.5, biased var 1.25, unbiased 5/3; running stats
 * from (0, 1) with momentum 0.1; gamma 2, beta 0.5. */
START_TEST(test_bn_known_values)
{
    cgan_ctx *ctx = tu_ctx();
    spec s = { .op = OP_BN, .x = cgan_shape4(2, 1, 1, 2) };
    direct d;
    direct_setup(ctx, &d, &s);
    const float x[4] = { 1, 2, 3, 4 }, gamma = 2, beta = 0.5f, rm = 0, rv = 1;
    put(ctx, d.a.in[0], x, 4);
    put(ctx, d.a.param[0], &gamma, 1);
    put(ctx, d.a.param[1], &beta, 1);
    put(ctx, d.a.state[0], &rm, 1);
    put(ctx, d.a.state[1], &rv, 1);
    d.a.train = 1;
    TU_OK(ctx, cgan_op_batchnorm_def.forward(ctx, &d.a));
    float y[4], m, is, nrm, nrv;
    tu_download(ctx, d.a.out, y, 4);
    tu_download(ctx, d.a.aux[0], &m, 1);
    tu_download(ctx, d.a.aux[1], &is, 1);
    tu_download(ctx, d.a.state[0], &nrm, 1);
    tu_download(ctx, d.a.state[1], &nrv, 1);
    const double sd = 1.0 / sqrt(1.25 + 1e-5);
    ck_assert_double_eq_tol(m, 2.5, 1e-6);
    ck_assert_double_eq_tol(is, sd, 1e-5);
    ck_assert_double_eq_tol(nrm, 0.25, 1e-6);
    ck_assert_double_eq_tol(nrv, 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(y[i], (x[i] - 2.5) * sd * 2 + 0.5, 1e-5);
    /* eval: the running statistics just computed */
    d.a.train = 0;
    TU_OK(ctx, cgan_op_batchnorm_def.forward(ctx, &d.a));
    tu_download(ctx, d.a.out, y, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(y[i], (x[i] - nrm) / sqrt(nrv + 1e-5) * 2 + 0.5, 1e-5);
    direct_free(&d);
    cgan_ctx_destroy(ctx);
}
END_TEST

static const struct { cgan_shape x; int k; } cbn_cases[] = {
    { { 6, 3, 5, 7 }, 4 },
    { { 1, 2, 3, 5 }, 3 },    /* batch 1 */
    { { 9, 1, 4, 4 }, 10 },   /* one channel, classes the batch does not all cover */
    { { 16, 5, 9, 9 }, 10 },
};
#define N_CBN (int)(sizeof cbn_cases / sizeof cbn_cases[0])

START_TEST(test_cond_bn_opcheck)
{
    cgan_ctx *ctx = tu_ctx();
    spec s = { .op = OP_CBN, .x = cbn_cases[_i / 2].x, .classes = cbn_cases[_i / 2].k };
    opcheck(ctx, &s, _i % 2 == 0, 1e-4, 1e-5, 21u + (uint64_t)_i);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* With one class and that class's row equal to plain BN's gamma/beta, conditional BN
 * gives the same output as plain BN; with two classes each sample uses its own row. */
START_TEST(test_cond_bn_rows)
{
    cgan_ctx *ctx = tu_ctx();
    const cgan_shape xs = cgan_shape4(4, 3, 2, 3);
    const size_t n = cgan_numel(xs);
    cgan_rng rng;
    cgan_rng_init(&rng, 3, 3);
    float *x = tu_random(&rng, n, -2, 2), *gt = tu_random(&rng, 6, 0.5f, 1.5f);
    float *bt = tu_random(&rng, 6, -1, 1), rm[3] = { 0, 0, 0 }, rv[3] = { 1, 1, 1 };
    const float labels[4] = { 1, 0, 0, 1 };
    float yc[72], yp[72];
    spec sc = { .op = OP_CBN, .x = xs, .classes = 2 }, sp = { .op = OP_BN, .x = xs };
    direct c, p;
    direct_setup(ctx, &c, &sc);
    direct_setup(ctx, &p, &sp);
    put(ctx, c.a.in[0], x, n);
    put(ctx, c.a.in[1], labels, 4);
    put(ctx, c.a.param[0], gt, 6);
    put(ctx, c.a.param[1], bt, 6);
    put(ctx, c.a.state[0], rm, 3);
    put(ctx, c.a.state[1], rv, 3);
    c.a.train = 1;
    TU_OK(ctx, cgan_op_batchnorm_def.forward(ctx, &c.a));
    tu_download(ctx, c.a.out, yc, n);
    /* plain BN with class-1 parameters must match the samples labelled 1, and with
     * class-0 parameters the samples labelled 0 */
    for (int cls = 0; cls < 2; cls++) {
        put(ctx, p.a.in[0], x, n);
        put(ctx, p.a.param[0], gt + 3 * cls, 3);
        put(ctx, p.a.param[1], bt + 3 * cls, 3);
        put(ctx, p.a.state[0], rm, 3);
        put(ctx, p.a.state[1], rv, 3);
        p.a.train = 1;
        TU_OK(ctx, cgan_op_batchnorm_def.forward(ctx, &p.a));
        tu_download(ctx, p.a.out, yp, n);
        for (int s = 0; s < 4; s++) {
            if ((int)labels[s] != cls) continue;
            for (size_t j = 0; j < n / 4; j++)
                ck_assert_float_eq_tol(yc[s * n / 4 + j], yp[s * n / 4 + j], 1e-5f);
        }
    }
    direct_free(&c);
    direct_free(&p);
    free(x); free(gt); free(bt);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- activations ------------------------------------------------------------------- */

static const cgan_shape act_shapes[] = { { 1, 1, 1, 1 }, { 3, 5, 7, 9 }, { 2, 3, 1, 1 } };

START_TEST(test_activation_opcheck)
{
    cgan_ctx *ctx = tu_ctx();
    for (int kind = 0; kind < 4; kind++)
        for (int m = 0; m < 2; m++) {
            spec s = { .op = OP_ACT, .x = act_shapes[_i], .act = (cgan_act)kind, .slope = 0.2f };
            opcheck(ctx, &s, m, 1e-5, 1e-5, 40u + (uint64_t)(kind * 2 + m) + 10u * (uint64_t)_i);
        }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- dropout ------------------------------------------------------------------------ */

START_TEST(test_dropout_opcheck)
{
    cgan_ctx *ctx = tu_ctx();
    const cgan_shape shapes[] = { { 3, 5, 7, 3 }, { 1, 1, 1, 1 }, { 2, 3, 5, 5 } };
    const float ps[] = { 0.3f, 0.5f, 0.0f };
    for (int i = 0; i < 3; i++)
        for (int m = 0; m < 2; m++) {
            spec s = { .op = OP_DROP, .x = shapes[i], .p = ps[i] };
            opcheck(ctx, &s, m, 1e-6, 1e-5, 60u + (uint64_t)(2 * i + m));
        }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Masks on a large tensor: the kept fraction is about 1-p, values are exactly 0 or
 * 1/(1-p), every element agrees with the host rule, the same (seed, counter) repeats and
 * another counter or seed gives another mask; eval mode is the identity. */
START_TEST(test_dropout_masks)
{
    cgan_ctx *ctx = tu_ctx();
    const float p = 0.3f;
    spec s = { .op = OP_DROP, .x = cgan_shape4(8, 13, 61, 67), .p = p };
    const size_t n = cgan_numel(s.x);
    direct d;
    direct_setup(ctx, &d, &s);
    cgan_rng rng;
    cgan_rng_init(&rng, 9, 9);
    float *x = tu_random(&rng, n, 0.5f, 1.5f);
    float *m1 = malloc(n * 4), *m2 = malloc(n * 4), *y = malloc(n * 4);
    ck_assert(m1 && m2 && y);
    put(ctx, d.a.in[0], x, n);
    d.a.train = 1;
    d.a.seed = 0x123456789abcdefull;
    d.a.counter = 5;
    TU_OK(ctx, cgan_op_dropout_def.forward(ctx, &d.a));
    tu_download(ctx, d.a.aux[0], m1, n);
    tu_download(ctx, d.a.out, y, n);
    const float scale = 1.0f / (1.0f - p);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = cgan_dropout_keep(d.a.seed, d.a.counter, i, p);
        ck_assert_msg(m1[i] == (keep ? scale : 0.0f), "element %zu: mask %g, host keep %d", i,
                      m1[i], keep);
        ck_assert(y[i] == x[i] * m1[i]);
        kept += keep;
    }
    double frac = (double)kept / (double)n;
    ck_assert_msg(fabs(frac - (1.0 - p)) < 0.005, "kept fraction %.4f, expected %.2f", frac, 1.0 - p);
    /* same counter: same mask */
    TU_OK(ctx, cgan_op_dropout_def.forward(ctx, &d.a));
    tu_download(ctx, d.a.aux[0], m2, n);
    ck_assert(memcmp(m1, m2, n * 4) == 0);
    /* another counter, another seed: different masks (about 42% of elements differ) */
    for (int v = 0; v < 2; v++) {
        if (v == 0) d.a.counter = 6;
        else { d.a.counter = 5; d.a.seed ^= 1ull << 40; }
        TU_OK(ctx, cgan_op_dropout_def.forward(ctx, &d.a));
        tu_download(ctx, d.a.aux[0], m2, n);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++) diff += m1[i] != m2[i];
        double f = (double)diff / (double)n;
        ck_assert_msg(fabs(f - 2 * p * (1 - p)) < 0.01, "variant %d: %.4f of the mask differs", v, f);
    }
    /* eval mode: y == x */
    d.a.train = 0;
    TU_OK(ctx, cgan_op_dropout_def.forward(ctx, &d.a));
    tu_download(ctx, d.a.out, y, n);
    ck_assert(memcmp(x, y, n * 4) == 0);
    direct_free(&d);
    free(x); free(m1); free(m2); free(y);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- builders and self-checks --------------------------------------------------------- */

START_TEST(test_builder_errors)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_graph *g = cgan_graph_new(ctx, "G");
    int x = cgan_graph_input(g, "x", cgan_shape4(4, 3, 5, 5));
    int y = cgan_graph_input_labels(g, "y", 4, 10);
    ck_assert_int_ge(cgan_nn_cond_batchnorm(g, "ok", x, y, 10), 0);
    TU_OK(ctx, cgan_graph_status(g));
    ck_assert_int_eq(cgan_nn_cond_batchnorm(g, "bad", x, x, 10), -1);
    ck_assert_int_ne(cgan_graph_status(g), CGAN_OK);
    ck_assert_msg(strstr(cgan_last_error(ctx), "G.bad") != NULL, "%s", cgan_last_error(ctx));
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "G");
    x = cgan_graph_input(g, "x", cgan_shape4(4, 3, 5, 5));
    y = cgan_graph_input_labels(g, "y", 4, 10);
    ck_assert_int_eq(cgan_nn_cond_batchnorm(g, "few", x, y, 5), -1); /* labels reach 9 */
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "G");
    x = cgan_graph_input(g, "x", cgan_shape4(4, 3, 5, 5));
    ck_assert_int_eq(cgan_nn_dropout(g, "drop", x, 1.5f), -1);
    ck_assert(strstr(cgan_last_error(ctx), "G.drop") != NULL);
    cgan_graph_destroy(g);

    g = cgan_graph_new(ctx, "G");
    x = cgan_graph_input(g, "x", cgan_shape4(4, 3, 5, 5));
    ck_assert_int_eq(cgan_nn_activation(g, "act", x, (cgan_act)9, 0), -1);
    ck_assert_int_eq(cgan_nn_batchnorm(g, "bn", -1), -1); /* a failed chain stays quiet */
    cgan_graph_destroy(g);

    /* names follow PyTorch */
    g = cgan_graph_new(ctx, "D");
    x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 4, 4));
    ck_assert_int_ge(cgan_nn_batchnorm(g, "bn2", x), 0);
    const char *names[] = { "D.bn2.weight", "D.bn2.bias", "D.bn2.running_mean", "D.bn2.running_var" };
    for (int i = 0; i < 4; i++) {
        int id = cgan_graph_find_tensor(g, names[i]);
        ck_assert_msg(id >= 0, "%s missing", names[i]);
        cgan_tensor *t = cgan_graph_tensor(g, id);
        ck_assert(cgan_shape_eq(t->shape, cgan_shape4(1, 3, 1, 1)));
    }
    ck_assert_float_eq(cgan_graph_tensor(g, cgan_graph_find_tensor(g, names[3]))->init_mean, 1.0f);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_selfchecks)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_check_fn fns[] = { cgan_selfcheck_batchnorm, cgan_selfcheck_cond_batchnorm,
                            cgan_selfcheck_activation, cgan_selfcheck_dropout };
    for (int i = 0; i < 4; i++) {
        cgan_check_result r = { -1, -1 };
        TU_OK(ctx, fns[i](ctx, &r));
        ck_assert(r.tol > 0 && r.max_err >= 0 && r.max_err <= r.tol);
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("norm");
    TCase *tc = tcase_create("philox");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_philox_device_matches_host);
    suite_add_tcase(s, tc);
    tc = tcase_create("batchnorm");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_bn_opcheck, 0, 2 * N_BN_SHAPES);
    tcase_add_test(tc, test_bn_large_and_single);
    tcase_add_test(tc, test_bn_known_values);
    tcase_add_loop_test(tc, test_cond_bn_opcheck, 0, 2 * N_CBN);
    tcase_add_test(tc, test_cond_bn_rows);
    suite_add_tcase(s, tc);
    tc = tcase_create("activation");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_activation_opcheck, 0, 3);
    suite_add_tcase(s, tc);
    tc = tcase_create("dropout");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_dropout_opcheck);
    tcase_add_test(tc, test_dropout_masks);
    suite_add_tcase(s, tc);
    tc = tcase_create("builders");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_builder_errors);
    tcase_add_test(tc, test_selfchecks);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
