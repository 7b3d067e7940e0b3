/* --sync-bn at the op level (issue 17): batchnorm given a cgan_bn_sync whose second process
 * is simulated on the host (its half of the batch, its output gradient) must equal the
 * double-precision reference of one batchnorm over both halves: the output, the saved batch
 * statistics, the running statistics and the input gradient of this process's half; its
 * dgamma and dbeta are this half's only (the gradient all-reduce averages them). Odd shapes,
 * plain and conditional, with and without a fused LeakyReLU; outputs poisoned first. The
 * same op without the hook must disagree with the reference, so the comparison can fail. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/graph_impl.h"
#include "ops/builders.h"
#include "ops/op.h"
#include "runtime/runtime.h"

typedef struct half2 {
    int N, C, HW, K;                /* one process's batch N; K classes (0: plain) */
    float slope;                    /* fused LeakyReLU slope, or < 0 for none */
    const double *x2, *dy2, *y2lab; /* the simulated process's input, output gradient, labels */
    const double *gamma, *beta;     /* [K or 1, C] */
    double *mean, *invstd;          /* the statistics over both halves (from the reference) */
    cl_mem gathered;
    int gathers, means;
} half2;

static cgan_status mock_gather(void *user, cgan_ctx *ctx, cl_mem part, size_t n, cl_mem *out)
{
    half2 *h = user;
    ck_assert_uint_eq(n, (size_t)h->N * h->C);
    float *buf = malloc(4 * n * sizeof *buf);
    TU_OK(ctx, cgan_buffer_read(ctx, part, 0, 2 * n * sizeof(float), buf));
    memmove(buf + 2 * n, buf + n, n * sizeof(float)); /* this process's deviations */
    for (size_t g = 0; g < n; g++) {
        const double *xp = h->x2 + g * (size_t)h->HW;
        double s = 0, q = 0;
        for (int p = 0; p < h->HW; p++) s += xp[p];
        for (int p = 0; p < h->HW; p++) q += (xp[p] - s / h->HW) * (xp[p] - s / h->HW);
        buf[n + g] = (float)s;
        buf[3 * n + g] = (float)q;
    }
    TU_OK(ctx, cgan_buffer_write(ctx, h->gathered, 0, 4 * n * sizeof(float), buf));
    free(buf);
    *out = h->gathered;
    h->gathers++;
    return CGAN_OK;
}

/* This process's two batch terms averaged with the simulated one's (computed here from its
 * half, in double). */
static cgan_status mock_mean(void *user, cgan_ctx *ctx, cl_mem buf, size_t off, size_t n)
{
    half2 *h = user;
    ck_assert_uint_eq(n, 2 * (size_t)h->C);
    float *v = malloc(n * sizeof *v);
    TU_OK(ctx, cgan_buffer_read(ctx, buf, off * sizeof(float), n * sizeof(float), v));
    const double M = (double)h->N * h->HW;
    for (int c = 0; c < h->C; c++) {
        double a = 0, b = 0;
        for (int s = 0; s < h->N; s++) {
            const int k = h->K ? (int)h->y2lab[s] : 0;
            const double g = h->gamma[k * h->C + c], be = h->beta[k * h->C + c];
            for (int p = 0; p < h->HW; p++) {
                const size_t i = ((size_t)s * h->C + c) * h->HW + p;
                const double xh = (h->x2[i] - h->mean[c]) * h->invstd[c], z = xh * g + be;
                const double dz = h->slope >= 0 && !(z > 0) ? h->slope * h->dy2[i] : h->dy2[i];
                a += g * dz;
                b += g * dz * xh;
            }
        }
        v[c] = (float)((v[c] + a / M) / 2);
        v[h->C + c] = (float)((v[h->C + c] + b / M) / 2);
    }
    TU_OK(ctx, cgan_buffer_write(ctx, buf, off * sizeof(float), n * sizeof(float), v));
    free(v);
    h->means++;
    return CGAN_OK;
}

/* A graph of one batchnorm over [n, C, H, W] (K > 0: conditional); returns its node. */
static cgan_graph *bn_graph(cgan_ctx *ctx, int n, int C, int H, int W, int K, float slope, const cgan_node **nd)
{
    cgan_graph *g = cgan_graph_new(ctx, "sbn");
    int x = cgan_graph_input(g, "x", cgan_shape4(n, C, H, W));
    cgan_act act = slope >= 0 ? CGAN_ACT_LRELU : CGAN_ACT_NONE;
    if (K > 0) {
        int y = cgan_graph_input_labels(g, "y", n, K);
        cgan_nn_cond_batchnorm_act(g, "bn", x, y, K, act, slope >= 0 ? slope : 0.0f);
    } else {
        cgan_nn_batchnorm_act(g, "bn", x, act, slope >= 0 ? slope : 0.0f);
    }
    TU_OK(ctx, cgan_graph_status(g));
    *nd = cgan_graph_node(g, g->nn - 1);
    return g;
}

static double *to_double(const float *f, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    return d;
}

static double max_diff(const float *a, const double *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / fmax(1.0, fabs(b[i]));
        if (!(e <= w)) w = e; /* NaN (an unwritten, poisoned value) is the worst */
    }
    return w;
}

/* Run one case; returns the worst difference with the hook, and in *unsynced the output's
 * difference without it. */
static double run_case(int N, int C, int H, int W, int K, float slope, double *unsynced)
{
    cgan_ctx *ctx = tu_ctx();
    const int HW = H * W;
    const size_t half = (size_t)N * C * HW, all = 2 * half, P = (size_t)(K > 0 ? K : 1) * C;
    const cgan_node *nd, *nd2;
    cgan_graph *g1 = bn_graph(ctx, N, C, H, W, K, slope, &nd);
    cgan_graph *g2 = bn_graph(ctx, 2 * N, C, H, W, K, slope, &nd2);
    const cgan_op_def *def = cgan_op_get(CGAN_OP_BATCHNORM);
    cgan_rng rng;
    cgan_rng_init(&rng, 1000u + (uint32_t)(N * 7 + C * 3 + K), 5);
    /* the halves differ in mean and spread, so the combined statistics are neither's */
    float *x = malloc(all * sizeof *x), *dy = tu_random(&rng, all, -1, 1), *lab = malloc(2 * N * sizeof *lab);
    for (size_t i = 0; i < all; i++) x[i] = i < half ? 0.5f + cgan_rng_normal(&rng) : -0.7f + 2.0f * cgan_rng_normal(&rng);
    for (int i = 0; i < 2 * N; i++) lab[i] = K > 0 ? (float)cgan_rng_below(&rng, (uint32_t)K) : 0.0f;
    float *gam = tu_random(&rng, P, 0.5f, 1.5f), *bet = tu_random(&rng, P, -0.5f, 0.5f);
    float *rm = tu_random(&rng, C, -1, 1), *rv = tu_random(&rng, C, 0.5f, 1.5f);

    /* the reference over both halves, in double */
    double *xd = to_double(x, all), *dyd = to_double(dy, all), *labd = to_double(lab, 2 * N);
    double *gd = to_double(gam, P), *bd = to_double(bet, P), *rmd = to_double(rm, C), *rvd = to_double(rv, C);
    double *outd = calloc(all, sizeof *outd), *dxd = calloc(all, sizeof *dxd), *auxm = calloc(C, sizeof *auxm),
           *auxs = calloc(C, sizeof *auxs), *dgd = calloc(P, sizeof *dgd), *dbd = calloc(P, sizeof *dbd);
    cgan_ref_args ra;
    memset(&ra, 0, sizeof ra);
    ra.node = nd2;
    ra.train = 1;
    ra.in[0] = xd;
    ra.in[1] = labd;
    ra.out = outd;
    ra.param[0] = gd;
    ra.param[1] = bd;
    ra.state[0] = rmd;
    ra.state[1] = rvd;
    ra.aux[0] = auxm;
    ra.aux[1] = auxs;
    def->ref_forward(&ra);
    ra.dout = dyd;
    ra.din[0] = dxd;
    def->ref_backward(&ra);
    /* this half's dgamma and dbeta: the same backward with the other half's gradient zero */
    double *dyh = calloc(all, sizeof *dyh), *scratch = calloc(all, sizeof *scratch);
    memcpy(dyh, dyd, half * sizeof *dyh);
    ra.dout = dyh;
    ra.din[0] = scratch;
    ra.dparam[0] = dgd;
    ra.dparam[1] = dbd;
    def->ref_backward(&ra);

    half2 h = { N, C, HW, K > 0 ? K : 0, slope, xd + half, dyd + half, labd + N, gd, bd, auxm, auxs, NULL, 0, 0 };
    TU_OK(ctx, cgan_buffer_create(ctx, 4 * (size_t)N * C * sizeof(float), "gathered", &h.gathered));
    cgan_bn_sync sync = { 2, mock_gather, mock_mean, &h };
    double worst = 0;
    for (int with = 1; with >= 0; with--) {
        cl_mem dx_in = tu_upload(ctx, x, half), dlab = tu_upload(ctx, lab, N), dgam = tu_upload(ctx, gam, P),
               dbet = tu_upload(ctx, bet, P), drm = tu_upload(ctx, rm, C), drv = tu_upload(ctx, rv, C),
               ddy = tu_upload(ctx, dy, half), out = tu_poisoned(ctx, half), a0 = tu_poisoned(ctx, C),
               a1 = tu_poisoned(ctx, C), work = tu_poisoned(ctx, nd->work_floats), dx = tu_poisoned(ctx, half),
               dg = tu_upload(ctx, (float[64]){ 0 }, P), db = tu_upload(ctx, (float[64]){ 0 }, P);
        cgan_op_args a;
        memset(&a, 0, sizeof a);
        a.node = nd;
        a.train = 1;
        a.in[0] = dx_in;
        a.in[1] = K > 0 ? dlab : NULL;
        a.out = out;
        a.param[0] = dgam;
        a.param[1] = dbet;
        a.state[0] = drm;
        a.state[1] = drv;
        a.aux[0] = a0;
        a.aux[1] = a1;
        a.work = work;
        a.bn_sync = with ? &sync : NULL;
        TU_OK(ctx, def->forward(ctx, &a));
        a.dout = ddy;
        a.din[0] = dx;
        a.dparam[0] = dg;
        a.dparam[1] = db;
        TU_OK(ctx, def->backward(ctx, &a));
        float *o = malloc(half * sizeof *o), *gx = malloc(half * sizeof *gx), st[4][64], pg[2][64];
        tu_download(ctx, out, o, half);
        tu_download(ctx, dx, gx, half);
        tu_download(ctx, a0, st[0], C);
        tu_download(ctx, a1, st[1], C);
        tu_download(ctx, drm, st[2], C);
        tu_download(ctx, drv, st[3], C);
        tu_download(ctx, dg, pg[0], P);
        tu_download(ctx, db, pg[1], P);
        double e[8] = { max_diff(o, outd, half),    max_diff(gx, dxd, half),    max_diff(st[0], auxm, C),
                        max_diff(st[1], auxs, C),   max_diff(st[2], rmd, C),    max_diff(st[3], rvd, C),
                        max_diff(pg[0], dgd, P),    max_diff(pg[1], dbd, P) };
        if (with) {
            for (int i = 0; i < 8; i++) worst = fmax(worst, e[i]);
            printf("sync-bn N=%d x 2 C=%d %dx%d K=%d slope %g: out %.2g dx %.2g mean %.2g invstd %.2g running %.2g "
                   "%.2g dgamma %.2g dbeta %.2g\n", N, C, H, W, K, (double)slope, e[0], e[1], e[2], e[3], e[4],
                   e[5], e[6], e[7]);
            ck_assert_int_eq(h.gathers, 1);
            ck_assert_int_eq(h.means, 1);
        } else {
            *unsynced = e[0];
        }
        free(o); free(gx);
        cl_mem bufs[] = { dx_in, dlab, dgam, dbet, drm, drv, ddy, out, a0, a1, work, dx, dg, db };
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cgan_buffer_release(bufs[i]);
    }
    cgan_buffer_release(h.gathered);
    free(x); free(dy); free(lab); free(gam); free(bet); free(rm); free(rv);
    free(xd); free(dyd); free(labd); free(gd); free(bd); free(rmd); free(rvd);
    free(outd); free(dxd); free(auxm); free(auxs); free(dgd); free(dbd); free(dyh); free(scratch);
    cgan_graph_destroy(g1);
    cgan_graph_destroy(g2);
    cgan_ctx_destroy(ctx);
    return worst;
}

START_TEST(test_sync_bn_op)
{
    static const struct { int N, C, H, W, K; float slope; } cases[] = {
        { 3, 5, 7, 3, 0, -1.0f }, { 2, 3, 5, 5, 0, 0.2f }, { 5, 4, 3, 1, 3, 0.0f }, { 4, 6, 4, 4, 4, -1.0f },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double unsynced = 0;
        double w = run_case(cases[i].N, cases[i].C, cases[i].H, cases[i].W, cases[i].K, cases[i].slope, &unsynced);
        ck_assert_msg(w <= 2e-5, "case %zu: differs from the reference over both halves by %g", i, w);
        ck_assert_msg(unsynced > 1e-2, "case %zu: without the hook the output differs by only %g", i, unsynced);
    }
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("syncbn");
    TCase *tc = tcase_create("op");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sync_bn_op);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
