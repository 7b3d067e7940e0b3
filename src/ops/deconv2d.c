/* ConvTranspose2d (PyTorch semantics): x [N,Cin,H,W], weight [Cin,Cout,k,k], optional bias
 * [1,Cout,1,1]; out [N,Cout,Ho,Wo] with Ho = (H-1)*stride - 2*pad + k.
 *
 * It is the adjoint of a convolution of the output image, so it reuses conv2d's kernels
 * (cl/conv2d.cl) with the image side being the output [Cout,Ho,Wo] and the column side the
 * input positions H x W:
 * Forward:  cols = W^T * x_cm (x packed channel-major [Cin][nb*P], one GEMM per chunk of
 *           the batch), out = col2im(cols)
 * Backward: cols = im2col(dout); dW += x_cm * cols^T; dx_cm = W * cols, unpacked onto dx
 *           (beta = din_beta). Every product spans the chunk: per-image ones would be as
 *           narrow as P (16 columns on a 4x4 input).
 * Where the GEMM runs on the own packed form (CPUs), x_cm and the columns are read and dx
 * written straight from and to the images (views, cgan_gemm_viewed) instead of in passes
 * of their own.
 * On a 1x1 input without padding (the first generator layer) out[n] = x[n] * W is a plain
 * matrix product over the batch and needs no columns. */
#include <limits.h>
#include <stdlib.h>
#include "conv2d.h"
#include "conv_implicit.h"
#include "blas/gemm.h"
#include "core/opcheck.h"
#include "ops/builders.h"
#include "ops/defs.h"

typedef struct deconv_dims {
    int n, cin, h, w, cout, ho, wo, k, stride, pad;
    size_t kk;      /* Cout*k*k: rows of the columns */
    size_t p;       /* H*W: input positions */
    int dense;      /* 1x1 input, no padding: out [N][Cout*k*k] = x [N][Cin] * W */
} deconv_dims;

static deconv_dims dims_of(const cgan_node *nd)
{
    deconv_dims d;
    d.n = nd->in_shape[0].n;
    d.cin = nd->in_shape[0].c;
    d.h = nd->in_shape[0].h;
    d.w = nd->in_shape[0].w;
    d.cout = nd->out_shape.c;
    d.ho = nd->out_shape.h;
    d.wo = nd->out_shape.w;
    d.k = nd->a.k;
    d.stride = nd->a.stride;
    d.pad = nd->a.pad;
    d.kk = (size_t)d.cout * d.k * d.k;
    d.p = (size_t)d.h * d.w;
    d.dense = d.h == 1 && d.w == 1 && d.pad == 0;
    return d;
}

/* The convolution this op is the transpose of: image = output, positions = input. */
static cgan_colgeom colgeom_of(const deconv_dims *d)
{
    cgan_colgeom g = { d->cout, d->ho, d->wo, d->k, d->stride, d->pad, d->h, d->w };
    return g;
}

/* Work floats per batch image: columns plus the packed input. */
static size_t per_image(const deconv_dims *d)
{
    return (d->kk + (size_t)d->cin) * d->p;
}

static int chunk_of(cgan_ctx *ctx, const cgan_op_args *a, const deconv_dims *d)
{
    return cgan_conv_chunk_for(ctx, a, per_image(d), d->n);
}

/* ---- builder ---------------------------------------------------------------------------- */
int cgan_nn_deconv2d(cgan_graph *g, const char *name, int x, int cout, int k, int stride,
                     int pad, int bias)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_DECONV2D, name, &x, 1);
    if (!nd) return -1;
    char sb[64];
    cgan_shape in = nd->in_shape[0];
    if (cout < 1 || k < 1 || stride < 1 || pad < 0)
        return cgan_graph_fail(g, nd, "deconv2d: bad arguments cout %d, kernel %d, stride %d, pad %d "
                               "(need cout, kernel, stride >= 1 and pad >= 0)", cout, k, stride, pad);
    long ho = (long)(in.h - 1) * stride - 2L * pad + k;
    long wo = (long)(in.w - 1) * stride - 2L * pad + k;
    if (ho < 1 || wo < 1)
        return cgan_graph_fail(g, nd, "deconv2d: input %s with kernel %d, stride %d, pad %d gives "
                               "an empty output (%ldx%ld)", cgan_shape_str(in, sb, sizeof sb), k,
                               stride, pad, ho, wo);
    if (ho > INT_MAX || wo > INT_MAX || (double)in.n * cout * ho * wo > INT_MAX ||
        cgan_numel(in) > INT_MAX || (size_t)cout * k * k > INT_MAX)
        return cgan_graph_fail(g, nd, "deconv2d: input %s with %d outputs exceeds the 32-bit "
                               "index range", cgan_shape_str(in, sb, sizeof sb), cout);
    cgan_shape out = cgan_shape4(in.n, cout, (int)ho, (int)wo);
    nd->a.k = k;
    nd->a.stride = stride;
    nd->a.pad = pad;
    nd->a.has_bias = bias != 0;
    if (cgan_conv_add_params(g, nd, cgan_shape4(in.c, cout, k, k), cout, bias) < 0) return -1;
    nd->out_shape = out;
    deconv_dims d = dims_of(nd);
    return cgan_conv_end(g, nd, "deconv2d", d.dense, per_image(&d), d.n, cout, bias, out);
}

/* ---- device forward / backward ----------------------------------------------------------- */
static cgan_status deconv_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    deconv_dims d = dims_of(nd);
    size_t po = (size_t)d.ho * d.wo;
    if (ctx->profile.conv_form == CGAN_CONV_FORM_IMPLICIT && !d.dense)
        return cgan_conv_implicit_forward(ctx, a);
    if (d.dense) {
        /* out [N][Cout*k*k] = x [N][Cin] * W [Cin][Cout*k*k] */
        CGAN_TRY(cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, d.n, d.kk, d.cin, 1.0f, a->in[0],
                            0, d.cin, a->param[0], 0, d.kk, 0.0f, a->out, 0, d.kk));
    } else {
        int nb = chunk_of(ctx, a, &d);
        if (nb < 1) return CGAN_E_INVALID;
        cgan_colgeom cg = colgeom_of(&d);
        for (int n0 = 0; n0 < d.n; n0 += nb) {
            int cnt = d.n - n0 < nb ? d.n - n0 : nb;
            size_t np = (size_t)cnt * d.p;
            size_t xoff = d.kk * np; /* packed x [Cin][np] after the columns [K][np] */
            /* cols [Cout*k*k][np] = W^T * x_cm [Cin][np]: one wide GEMM for the chunk (the
             * packed GEMM reads x_cm from x) */
            cgan_gemm_args g = { .ta = CGAN_TRANS, .tb = CGAN_NO_TRANS, .m = d.kk, .n = np,
                                 .k = d.cin, .alpha = 1.0f, .beta = 0.0f, .a = a->param[0],
                                 .lda = d.kk, .b = a->work, .b_off = xoff, .ldb = np,
                                 .c = a->work, .ldc = np, .batch = 1 };
            cgan_gemm_views v = { .b = cgan_conv_view_cm(a->in[0], n0, d.p) };
            int done;
            CGAN_TRY(cgan_gemm_viewed(ctx, &g, &v, &done));
            if (!done) {
                CGAN_TRY(cgan_conv_pack_cm(ctx, a->in[0], n0, cnt, d.cin, (int)d.p, a->work,
                                           xoff));
                CGAN_TRY(cgan_gemm(ctx, &g));
            }
            CGAN_TRY(cgan_conv_col2im(ctx, &cg, a->work, 0, n0, cnt, 0.0f, a->out));
        }
    }
    if (nd->a.has_bias) CGAN_TRY(cgan_conv_bias_add(ctx, d.n, d.cout, (int)po, a->param[1], a->out));
    return CGAN_OK;
}

static cgan_status deconv_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    deconv_dims d = dims_of(nd);
    size_t po = (size_t)d.ho * d.wo;
    cl_mem din = a->din[0], dw = a->dparam[0];
    if (ctx->profile.conv_form == CGAN_CONV_FORM_IMPLICIT && !d.dense)
        return cgan_conv_implicit_backward(ctx, a);
    if (nd->a.has_bias && a->dparam[1])
        CGAN_TRY(cgan_conv_bias_grad(ctx, d.n, d.cout, (int)po, a->dout, a->work, a->dparam[1]));
    if (d.dense) {
        if (dw) /* dW [Cin][K] += x^T [Cin][N] * dout [N][K] */
            CGAN_TRY(cgan_sgemm(ctx, CGAN_TRANS, CGAN_NO_TRANS, d.cin, d.kk, d.n, 1.0f, a->in[0],
                                0, d.cin, a->dout, 0, d.kk, 1.0f, dw, 0, d.kk));
        if (din) /* dx [N][Cin] = dout [N][K] * W^T (+ beta dx) */
            CGAN_TRY(cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_TRANS, d.n, d.cin, d.kk, 1.0f, a->dout, 0,
                                d.kk, a->param[0], 0, d.kk, a->din_beta[0], din, 0, d.cin));
        return CGAN_OK;
    }
    if (!din && !dw) return CGAN_OK;
    int nb = chunk_of(ctx, a, &d);
    if (nb < 1) return CGAN_E_INVALID;
    cgan_colgeom cg = colgeom_of(&d);
    for (int n0 = 0; n0 < d.n; n0 += nb) {
        int cnt = d.n - n0 < nb ? d.n - n0 : nb;
        size_t np = (size_t)cnt * d.p;
        size_t xoff = d.kk * np; /* packed x [Cin][np] after the columns [K][np] */
        /* The packed GEMM reads the columns of dout and x_cm through views, and writes dx
         * itself; otherwise they go through the work space. */
        cgan_gemm_view cols = cgan_conv_view_im2col(a->dout, n0, &cg);
        int done, have_cols = 0;
        if (dw) {
            cgan_gemm_args g = { .ta = CGAN_NO_TRANS, .tb = CGAN_TRANS, .m = d.cin, .n = d.kk,
                                 .k = np, .alpha = 1.0f, .beta = 1.0f, .a = a->work,
                                 .a_off = xoff, .lda = np, .b = a->work, .ldb = np, .c = dw,
                                 .ldc = d.kk, .batch = 1 };
            cgan_gemm_views v = { .a = cgan_conv_view_cm(a->in[0], n0, d.p), .b = cols };
            CGAN_TRY(cgan_gemm_viewed(ctx, &g, &v, &done));
            if (!done) {
                CGAN_TRY(cgan_conv_im2col(ctx, &cg, a->dout, n0, cnt, a->work, 0));
                have_cols = 1;
                CGAN_TRY(cgan_conv_pack_cm(ctx, a->in[0], n0, cnt, d.cin, (int)d.p, a->work,
                                           xoff));
                CGAN_TRY(cgan_gemm(ctx, &g));
            }
        }
        if (din) {
            /* dx_cm [Cin][np] = W [Cin][K] * cols [K][np] (into the packed x's place,
             * which the dW product above has consumed), then onto dx */
            cgan_gemm_args g = { .ta = CGAN_NO_TRANS, .tb = CGAN_NO_TRANS, .m = d.cin, .n = np,
                                 .k = d.kk, .alpha = 1.0f, .beta = a->din_beta[0],
                                 .a = a->param[0], .lda = d.kk, .b = a->work, .ldb = np,
                                 .c = a->work, .c_off = xoff, .ldc = np, .batch = 1 };
            cgan_gemm_views v = { .b = cols, .c = cgan_conv_view_cm(din, n0, d.p) };
            CGAN_TRY(cgan_gemm_viewed(ctx, &g, &v, &done));
            if (!done) {
                if (!have_cols) CGAN_TRY(cgan_conv_im2col(ctx, &cg, a->dout, n0, cnt, a->work, 0));
                g.beta = 0.0f; /* dx_cm is written, then added onto dx */
                CGAN_TRY(cgan_gemm(ctx, &g));
                CGAN_TRY(cgan_conv_unpack_cm(ctx, a->work, xoff, n0, cnt, d.cin, (int)d.p,
                                             a->din_beta[0], din));
            }
        }
    }
    return CGAN_OK;
}

/* ---- double reference -------------------------------------------------------------------- */
/* Runs BODY for every (input xi, weight wi, output oi) index triple that meets. */
#define DECONV_LOOP(d, BODY)                                                                 \
    for (int n = 0; n < (d).n; n++)                                                          \
        for (int ci = 0; ci < (d).cin; ci++)                                                 \
            for (int iy = 0; iy < (d).h; iy++)                                               \
                for (int ix = 0; ix < (d).w; ix++) {                                         \
                    size_t xi = ((size_t)(n * (d).cin + ci) * (d).h + iy) * (d).w + ix;      \
                    for (int co = 0; co < (d).cout; co++)                                    \
                        for (int ky = 0; ky < (d).k; ky++) {                                 \
                            int oy = iy * (d).stride - (d).pad + ky;                         \
                            if (oy < 0 || oy >= (d).ho) continue;                            \
                            for (int kx = 0; kx < (d).k; kx++) {                             \
                                int ox = ix * (d).stride - (d).pad + kx;                     \
                                if (ox < 0 || ox >= (d).wo) continue;                        \
                                size_t wi = ((size_t)(ci * (d).cout + co) * (d).k + ky) * (d).k + kx; \
                                size_t oi = ((size_t)(n * (d).cout + co) * (d).ho + oy) * (d).wo + ox; \
                                BODY;                                                        \
                            }                                                                \
                        }                                                                    \
                }

static void ref_forward(const cgan_ref_args *a)
{
    deconv_dims d = dims_of(a->node);
    const double *x = a->in[0], *wt = a->param[0];
    const double *b = a->node->a.has_bias ? a->param[1] : NULL;
    size_t po = (size_t)d.ho * d.wo, no = (size_t)d.n * d.cout * po;
    for (size_t i = 0; i < no; i++) a->out[i] = b ? b[(i / po) % (size_t)d.cout] : 0.0;
    DECONV_LOOP(d, a->out[oi] += x[xi] * wt[wi]);
}

static void ref_backward(const cgan_ref_args *a)
{
    deconv_dims d = dims_of(a->node);
    const double *x = a->in[0], *wt = a->param[0], *dy = a->dout;
    double *dx = a->din[0], *dw = a->dparam[0];
    double *db = a->node->a.has_bias ? a->dparam[1] : NULL;
    size_t po = (size_t)d.ho * d.wo, no = (size_t)d.n * d.cout * po;
    if (db)
        for (size_t i = 0; i < no; i++) db[(i / po) % (size_t)d.cout] += dy[i];
    if (dx) {
        size_t nx = (size_t)d.n * d.cin * d.p;
        for (size_t i = 0; i < nx; i++) dx[i] = a->din_beta[0] == 0.0 ? 0.0 : a->din_beta[0] * dx[i];
    }
    DECONV_LOOP(d, {
        if (dx) dx[xi] += dy[oi] * wt[wi];
        if (dw) dw[wi] += dy[oi] * x[xi];
    });
}

const cgan_op_def cgan_op_deconv2d_def = {
    "deconv2d", CGAN_BWD_NEEDS_INPUT, deconv_forward, deconv_backward, ref_forward, ref_backward,
};

/* ---- self-check ---------------------------------------------------------------------------- */
cgan_status cgan_selfcheck_deconv2d(cgan_ctx *ctx, cgan_check_result *res)
{
    const cgan_opcheck_case c = { "deconv2d 4x4 s2 p1 bias on [3,3,4,5]", 1, 1e-4, 1e-4, 1e-5, 11 };
    cgan_graph *g = cgan_graph_new(ctx, "selftest");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    int x = cgan_graph_input(g, "x", cgan_shape4(3, 3, 4, 5));
    cgan_nn_deconv2d(g, "deconv", x, 4, 4, 2, 1, 1);
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
