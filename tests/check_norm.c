/* Norm ops: BatchNorm2d (plain and conditional, with or without a fused activation),
 * activations, dropout, device Philox. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/exec.h"
#include "core/opcheck.h"
#include "ops/builders.h"
#include "ops/defs.h"
#include "ops/norm.h"

/* ---- helpers --------------------------------------------------------------------- */

enum { OP_BN, OP_CBN, OP_ACT, OP_DROP, OP_BNA, OP_CBNA };

typedef struct spec {
    int op;
    cgan_shape x;
    int classes;     /* conditional BN */
    cgan_act act;    /* activation; the fused one for OP_BNA / OP_CBNA */
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
    case OP_BNA: cgan_nn_batchnorm_act(g, "bn", x, s->act, s->slope); break;
    case OP_CBNA: {
        int y = cgan_graph_input_labels(g, "y", s->x.n, s->classes);
        cgan_nn_cond_batchnorm_act(g, "cbn", x, y, s->classes, s->act, s->slope);
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

/* ---- BatchNorm with a fused activation ------------------------------------------- */

static const struct { cgan_shape x; int k; cgan_act act; } bna_cases[] = {
    { { 3, 5, 7, 3 }, 0, CGAN_ACT_RELU },       /* odd shape: vector blocks and a tail */
    { { 3, 5, 7, 3 }, 0, CGAN_ACT_LRELU },
    { { 3, 5, 7, 3 }, 4, CGAN_ACT_RELU },
    { { 3, 5, 7, 3 }, 4, CGAN_ACT_LRELU },
    { { 1, 4, 5, 5 }, 0, CGAN_ACT_LRELU },      /* batch 1 */
    { { 1, 3, 2, 3 }, 3, CGAN_ACT_RELU },
    { { 5, 2, 1, 1 }, 0, CGAN_ACT_RELU },       /* 1x1 maps: the tail only */
    { { 64, 128, 8, 8 }, 0, CGAN_ACT_LRELU },   /* model shapes: seed32 D.bn2 */
    { { 64, 64, 16, 16 }, 10, CGAN_ACT_RELU },  /* seed32 G.bn3, projection-conditional */
};
#define N_BNA (int)(sizeof bna_cases / sizeof bna_cases[0])

/* Case _i / 2 in train (even _i) and eval mode, through the harness with finite
 * differences on the small shapes (on large ones a parameter step moves some of the
 * thousands of values per channel across the kink, which FD cannot follow). */
START_TEST(test_bn_act_opcheck)
{
    cgan_ctx *ctx = tu_ctx();
    const int c = _i / 2;
    spec s = { .op = bna_cases[c].k ? OP_CBNA : OP_BNA, .x = bna_cases[c].x,
               .classes = bna_cases[c].k, .act = bna_cases[c].act, .slope = 0.2f };
    const int small = cgan_numel(s.x) < 10000;
    opcheck(ctx, &s, _i % 2 == 0, 1e-4, small ? 1e-5 : 0, 71u + (uint64_t)_i);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* The GPU form of the kernels (several lanes per plane, local-memory trees) on this
 * device: plain, conditional and fused cases, odd and model shapes, both modes. */
START_TEST(test_bn_lanes)
{
    static const char *const lanes[] = { "4", "64" };
    setenv("CGAN_BN_LANES", lanes[_i], 1);
    cgan_ctx *ctx = tu_ctx();
    for (int c = 0; c < N_BNA; c += 2)
        for (int m = 0; m < 2; m++) {
            spec s = { .op = bna_cases[c].k ? OP_CBNA : OP_BNA, .x = bna_cases[c].x,
                       .classes = bna_cases[c].k, .act = bna_cases[c].act, .slope = 0.2f };
            opcheck(ctx, &s, m, 1e-4, 0, 91u + (uint64_t)(2 * c + m));
        }
    spec p = { .op = OP_BN, .x = cgan_shape4(7, 3, 5, 5) };
    opcheck(ctx, &p, 1, 1e-4, 1e-5, 90);
    cgan_ctx_destroy(ctx);
    unsetenv("CGAN_BN_LANES");
}
END_TEST

/* A planned training graph of x -> batchnorm -> activation (fused == 0) or of the fused
 * node, with x requiring a gradient. */
typedef struct pair {
    cgan_graph *g;
    int x, y, out;
} pair;

static pair pair_build(cgan_ctx *ctx, cgan_shape xs, int classes, cgan_act act, int fused)
{
    pair p;
    p.g = cgan_graph_new(ctx, "G");
    ck_assert_ptr_nonnull(p.g);
    p.x = cgan_graph_input(p.g, "x", xs);
    p.y = classes ? cgan_graph_input_labels(p.g, "y", xs.n, classes) : -1;
    if (fused) {
        p.out = classes ? cgan_nn_cond_batchnorm_act(p.g, "bn1", p.x, p.y, classes, act, 0.2f)
                        : cgan_nn_batchnorm_act(p.g, "bn1", p.x, act, 0.2f);
    } else {
        int z = classes ? cgan_nn_cond_batchnorm(p.g, "bn1", p.x, p.y, classes)
                        : cgan_nn_batchnorm(p.g, "bn1", p.x);
        p.out = cgan_nn_activation(p.g, "act1", z, act, 0.2f);
    }
    TU_OK(ctx, cgan_graph_status(p.g));
    TU_OK(ctx, cgan_graph_requires_grad(p.g, p.x));
    TU_OK(ctx, cgan_graph_plan(p.g, CGAN_MODE_TRAIN, 77));
    return p;
}

/* Everything a pass produces, read back. */
typedef struct pair_out {
    float *y, *dx, *grads, *state, *y_eval;
    size_t n, np, ns;
} pair_out;

/* Parameters set by name (so both graphs must name them alike), a train forward, a
 * backward from dy into parameters and x, then an eval forward. */
static void pair_run(cgan_ctx *ctx, pair *p, const float *x, const float *labels,
                     const float *gamma, const float *beta, const float *dy, pair_out *o)
{
    cgan_graph *g = p->g;
    o->n = cgan_numel(cgan_graph_tensor(g, p->x)->shape);
    cgan_graph_grad_arena(g, &o->np);
    cgan_graph_state_arena(g, &o->ns);
    o->y = malloc(o->n * 4); o->dx = malloc(o->n * 4); o->y_eval = malloc(o->n * 4);
    o->grads = malloc(o->np * 4); o->state = malloc(o->ns * 4);
    ck_assert(o->y && o->dx && o->y_eval && o->grads && o->state);
    TU_OK(ctx, cgan_graph_write(g, p->x, x));
    if (p->y >= 0) TU_OK(ctx, cgan_graph_write(g, p->y, labels));
    TU_OK(ctx, cgan_graph_write(g, cgan_graph_find_tensor(g, "G.bn1.weight"), gamma));
    TU_OK(ctx, cgan_graph_write(g, cgan_graph_find_tensor(g, "G.bn1.bias"), beta));
    TU_OK(ctx, cgan_graph_zero_grad(g));
    TU_OK(ctx, cgan_graph_forward(g, 1, 0));
    TU_OK(ctx, cgan_graph_read(g, p->out, o->y));
    TU_OK(ctx, cgan_buffer_write(ctx, cgan_graph_grad(g, p->out), 0, o->n * 4, dy));
    TU_OK(ctx, cgan_graph_backward(g, -1, CGAN_GRAD_PARAMS | CGAN_GRAD_INPUTS));
    TU_OK(ctx, cgan_graph_read_grad(g, p->x, o->dx));
    TU_OK(ctx, cgan_buffer_read(ctx, cgan_graph_grad_arena(g, NULL), 0, o->np * 4, o->grads));
    TU_OK(ctx, cgan_buffer_read(ctx, cgan_graph_state_arena(g, NULL), 0, o->ns * 4, o->state));
    TU_OK(ctx, cgan_graph_forward(g, 0, 1));
    TU_OK(ctx, cgan_graph_read(g, p->out, o->y_eval));
}

static void pair_out_free(pair_out *o)
{
    free(o->y); free(o->dx); free(o->grads); free(o->state); free(o->y_eval);
}

/* |a - b| over the largest |b|, at most tol. */
static void same(const char *what, const float *a, const float *b, size_t n, double tol)
{
    double scale = 1e-6, worst = 0;
    for (size_t i = 0; i < n; i++) if (fabs(b[i]) > scale) scale = fabs(b[i]);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(a[i]), "%s[%zu] = %g", what, i, a[i]);
        double e = fabs((double)a[i] - b[i]) / scale;
        if (e > worst) worst = e;
    }
    ck_assert_msg(worst <= tol, "%s: fused differs from unfused by %.3g (tolerance %.3g)", what,
                  worst, tol);
}

static const struct { cgan_shape x; int k; cgan_act act; } pair_cases[] = {
    { { 3, 5, 7, 3 }, 0, CGAN_ACT_RELU },
    { { 3, 5, 7, 3 }, 4, CGAN_ACT_LRELU },
    { { 1, 6, 5, 3 }, 3, CGAN_ACT_RELU },        /* batch 1 */
    { { 64, 256, 4, 4 }, 0, CGAN_ACT_LRELU },    /* seed32 D.bn3 */
    { { 64, 64, 32, 32 }, 0, CGAN_ACT_RELU },    /* dcgan64 G.bn4 */
    { { 64, 128, 8, 8 }, 10, CGAN_ACT_RELU },    /* seed32 G.bn2, projection-conditional */
};
#define N_PAIR (int)(sizeof pair_cases / sizeof pair_cases[0])

START_TEST(test_bn_act_matches_unfused)
{
    cgan_ctx *ctx = tu_ctx();
    const cgan_shape xs = pair_cases[_i].x;
    const int K = pair_cases[_i].k, rows = K ? K : 1;
    const size_t n = cgan_numel(xs), np = (size_t)rows * (size_t)xs.c;
    cgan_rng rng;
    cgan_rng_init(&rng, 404, (uint32_t)_i);
    float *x = tu_random(&rng, n, -2, 3), *dy = tu_random(&rng, n, -1, 1);
    float *gamma = tu_random(&rng, np, 0.5f, 1.5f), *beta = tu_random(&rng, np, -0.5f, 0.5f);
    float *labels = malloc((size_t)xs.n * sizeof *labels);
    ck_assert_ptr_nonnull(labels);
    for (int i = 0; i < xs.n; i++) labels[i] = (float)cgan_rng_below(&rng, (uint32_t)rows);
    pair u = pair_build(ctx, xs, K, pair_cases[_i].act, 0);
    pair f = pair_build(ctx, xs, K, pair_cases[_i].act, 1);
    ck_assert_int_eq(cgan_graph_node_count(f.g), 1);
    ck_assert_uint_lt(cgan_graph_activation_bytes(f.g), cgan_graph_activation_bytes(u.g));
    pair_out ou, of;
    pair_run(ctx, &u, x, labels, gamma, beta, dy, &ou);
    pair_run(ctx, &f, x, labels, gamma, beta, dy, &of);
    ck_assert(ou.np == of.np && ou.ns == of.ns);
    same("y", of.y, ou.y, n, 1e-6);
    same("dx", of.dx, ou.dx, n, 1e-5);
    same("parameter gradients", of.grads, ou.grads, of.np, 1e-5);
    same("running statistics", of.state, ou.state, of.ns, 1e-6);
    same("eval y", of.y_eval, ou.y_eval, n, 1e-6);
    pair_out_free(&ou);
    pair_out_free(&of);
    cgan_graph_destroy(u.g);
    cgan_graph_destroy(f.g);
    free(x); free(dy); free(gamma); free(beta); free(labels);
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
        cgan_gtensor *t = cgan_graph_tensor(g, id);
        ck_assert(cgan_shape_eq(t->shape, cgan_shape4(1, 3, 1, 1)));
    }
    ck_assert_float_eq(cgan_graph_tensor(g, cgan_graph_find_tensor(g, names[3]))->init_mean, 1.0f);
    cgan_graph_destroy(g);

    /* the fused node: the unfused node's names; only (leaky) ReLU with a slope >= 0 */
    g = cgan_graph_new(ctx, "D");
    x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 4, 4));
    y = cgan_graph_input_labels(g, "y", 2, 4);
    ck_assert_int_ge(cgan_nn_batchnorm_act(g, "bn2", x, CGAN_ACT_LRELU, 0.2f), 0);
    for (int i = 0; i < 4; i++) ck_assert_msg(cgan_graph_find_tensor(g, names[i]) >= 0, "%s", names[i]);
    ck_assert_int_ge(cgan_nn_cond_batchnorm_act(g, "bn3", x, y, 4, CGAN_ACT_RELU, 0), 0);
    ck_assert(cgan_shape_eq(cgan_graph_tensor(g, cgan_graph_find_tensor(g, "D.bn3.bias"))->shape,
                            cgan_shape4(4, 3, 1, 1)));
    TU_OK(ctx, cgan_graph_status(g));
    ck_assert_int_eq(cgan_nn_batchnorm_act(g, "bn4", x, CGAN_ACT_TANH, 0), -1);
    ck_assert_msg(strstr(cgan_last_error(ctx), "D.bn4") != NULL, "%s", cgan_last_error(ctx));
    cgan_graph_destroy(g);
    g = cgan_graph_new(ctx, "D");
    x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 4, 4));
    ck_assert_int_eq(cgan_nn_batchnorm_act(g, "bn5", x, CGAN_ACT_LRELU, -0.1f), -1);
    cgan_graph_destroy(g);
    g = cgan_graph_new(ctx, "D");
    x = cgan_graph_input(g, "x", cgan_shape4(2, 3, 4, 4));
    ck_assert_int_eq(cgan_nn_batchnorm_act(g, "bn6", x, CGAN_ACT_LRELU, NAN), -1);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_selfchecks)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_check_fn fns[] = { cgan_selfcheck_batchnorm, cgan_selfcheck_cond_batchnorm,
                            cgan_selfcheck_batchnorm_act, cgan_selfcheck_activation,
                            cgan_selfcheck_dropout };
    for (int i = 0; i < 5; i++) {
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
    tc = tcase_create("batchnorm_act");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_bn_act_opcheck, 0, 2 * N_BNA);
    tcase_add_loop_test(tc, test_bn_act_matches_unfused, 0, N_PAIR);
    tcase_add_loop_test(tc, test_bn_lanes, 0, 2);
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
