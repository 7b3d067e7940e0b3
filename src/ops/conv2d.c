/* Conv2d (PyTorch semantics): x [N,Cin,H,W], weight [Cout,Cin,k,k], optional bias [1,Cout,1,1].
 *
 * Forward:  columns = im2col(x) for a chunk of the batch, [Cin*k*k][nb*Ho*Wo]; then one
 *           GEMM out_cm = W * columns over the whole chunk, unpacked to NCHW.
 * Backward: dout packed channel-major [Cout][nb*Ho*Wo], so that
 *           dW += dout_cm * columns^T   (one GEMM over the whole chunk)
 *           dcols = W^T * dout_cm, din = col2im(dcols)   (gather, no atomics)
 * A "dense" layer whose kernel covers the whole unpadded input (Ho = Wo = 1, as the last
 * layer of a DCGAN discriminator) is a plain matrix product and skips the columns.
 * Where the GEMM runs on the own packed form (CPUs), it reads the columns and dout_cm
 * straight from the images and writes out in NCHW (views, cgan_gemm_viewed): no im2col,
 * pack or unpack pass, only the GEMM's own copies (dcols still go through the work space
 * to col2im).
 *
 * Also the helpers shared with deconv2d.c (cl/conv2d.cl) and the builder. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conv2d.h"
#include "conv_implicit.h"
#include "blas/gemm.h"
#include "core/opcheck.h"
#include "ops/builders.h"
#include "ops/defs.h"

/* ---- shared helpers ------------------------------------------------------------------ */
static cgan_status too_big(cgan_ctx *ctx, const char *what, size_t n)
{
    return cgan_error(ctx, CGAN_E_INVALID, "%s: %zu elements exceed the 32-bit index range",
                      what, n);
}

/* The program of im2col/col2im for g's kernel size and stride. */
static cgan_status colgeom_kernel(cgan_ctx *ctx, const cgan_colgeom *g, const char *name,
                                  cgan_kernel **k)
{
    char opts[48];
    snprintf(opts, sizeof opts, "-DKS=%d -DCS=%d", g->k, g->stride);
    return cgan_kernel_get(ctx, "conv2d", opts, name, k);
}

/* A 2-D range of nb x planes items, work-groups of up to 16 images of one plane. */
static cgan_range plane_range(size_t nb, size_t planes)
{
    size_t lx = nb >= 16 ? 16 : nb;
    cgan_range r = { 2, { cgan_align_up(nb, lx), planes, 1 }, { lx, 1, 1 } };
    return r;
}

/* A 3-D range of one item per element, rows of x0 along the first dimension. */
static cgan_range element_range(size_t x0, size_t y, size_t z)
{
    size_t lx = x0 >= 16 ? 16 : x0;
    cgan_range r = { 3, { cgan_align_up(x0, lx), y, z }, { lx, 1, 1 } };
    return r;
}

/* The plane/row forms of im2col and col2im where the device profile says so (CPUs), the
 * element forms otherwise. */
static int plane_form(const cgan_ctx *ctx)
{
    return ctx->profile.conv_form == CGAN_CONV_FORM_PLANE;
}

cgan_status cgan_conv_im2col(cgan_ctx *ctx, const cgan_colgeom *g, cl_mem img, int n0, int nb,
                             cl_mem cols, size_t col_off)
{
    size_t total = (size_t)g->c * g->k * g->k * (size_t)nb * g->oh * g->ow;
    if (total + col_off > INT_MAX) return too_big(ctx, "im2col", total + col_off);
    if ((size_t)(n0 + nb) * g->c * g->h * g->w > INT_MAX)
        return too_big(ctx, "im2col", (size_t)(n0 + nb) * g->c * g->h * g->w);
    int planes = plane_form(ctx);
    cgan_kernel *k;
    CGAN_TRY(colgeom_kernel(ctx, g, planes ? "im2col_planes" : "im2col", &k));
    size_t rows = (size_t)g->c * g->k * g->k;
    cgan_range r = planes ? plane_range((size_t)nb, rows)
                          : element_range((size_t)g->ow, (size_t)nb * g->oh, rows);
    return cgan_launch(ctx, k, &r, CGAN_KMEM(img), CGAN_KINT(n0), CGAN_KINT(nb),
                       CGAN_KINT(g->c), CGAN_KINT(g->h), CGAN_KINT(g->w), CGAN_KINT(g->pad),
                       CGAN_KINT(g->oh), CGAN_KINT(g->ow), CGAN_KMEM(cols), CGAN_KINT(col_off));
}

cgan_status cgan_conv_col2im(cgan_ctx *ctx, const cgan_colgeom *g, cl_mem cols, size_t col_off,
                             int n0, int nb, float beta, cl_mem img)
{
    size_t total = (size_t)nb * g->c * g->h * g->w;
    size_t cols_end = col_off + (size_t)g->c * g->k * g->k * (size_t)nb * g->oh * g->ow;
    if (total + (size_t)n0 * g->c * g->h * g->w > INT_MAX || cols_end > INT_MAX)
        return too_big(ctx, "col2im", total > cols_end ? total : cols_end);
    int rows = plane_form(ctx);
    cgan_kernel *k;
    CGAN_TRY(colgeom_kernel(ctx, g, rows ? "col2im_rows" : "col2im", &k));
    cgan_range r = rows ? plane_range((size_t)nb, (size_t)g->c * g->h)
                        : element_range((size_t)g->w, (size_t)g->h, (size_t)nb * g->c);
    return cgan_launch(ctx, k, &r, CGAN_KMEM(cols), CGAN_KINT(col_off), CGAN_KINT(n0),
                       CGAN_KINT(nb), CGAN_KINT(g->c), CGAN_KINT(g->h), CGAN_KINT(g->w),
                       CGAN_KINT(g->pad), CGAN_KINT(g->oh), CGAN_KINT(g->ow), CGAN_KFLOAT(beta),
                       CGAN_KMEM(img));
}

cgan_status cgan_conv_pack_cm(cgan_ctx *ctx, cl_mem src, int n0, int nb, int c, int p, cl_mem dst,
                              size_t dst_off)
{
    size_t total = (size_t)nb * c * p;
    if (total + dst_off > INT_MAX || (size_t)(n0 + nb) * c * p > INT_MAX)
        return too_big(ctx, "pack_cm", total + dst_off);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "conv2d", NULL, "pack_cm", &k));
    cgan_range r = plane_range((size_t)nb, (size_t)c);
    return cgan_launch(ctx, k, &r, CGAN_KMEM(src), CGAN_KINT(n0), CGAN_KINT(nb),
                       CGAN_KINT(c), CGAN_KINT(p), CGAN_KMEM(dst), CGAN_KINT(dst_off));
}

cgan_status cgan_conv_unpack_cm(cgan_ctx *ctx, cl_mem src, size_t src_off, int n0, int nb, int c,
                                int p, float beta, cl_mem dst)
{
    size_t total = (size_t)nb * c * p;
    if (total + src_off > INT_MAX || (size_t)(n0 + nb) * c * p > INT_MAX)
        return too_big(ctx, "unpack_cm", total + src_off);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "conv2d", NULL, "unpack_cm", &k));
    cgan_range r = plane_range((size_t)nb, (size_t)c);
    return cgan_launch(ctx, k, &r, CGAN_KMEM(src), CGAN_KINT(src_off), CGAN_KINT(n0),
                       CGAN_KINT(nb), CGAN_KINT(c), CGAN_KINT(p), CGAN_KFLOAT(beta),
                       CGAN_KMEM(dst));
}

cgan_gemm_view cgan_conv_view_cm(cl_mem img, int n0, size_t p)
{
    cgan_gemm_view v = { .kind = CGAN_VIEW_CM, .img = img, .n0 = n0, .p = (int)p };
    return v;
}

cgan_gemm_view cgan_conv_view_im2col(cl_mem img, int n0, const cgan_colgeom *g)
{
    cgan_gemm_view v = { .kind = CGAN_VIEW_IM2COL, .img = img, .n0 = n0, .c = g->c, .h = g->h,
                         .w = g->w, .k = g->k, .stride = g->stride, .pad = g->pad,
                         .oh = g->oh, .ow = g->ow };
    return v;
}

cgan_status cgan_conv_bias_add(cgan_ctx *ctx, int n, int c, int p, cl_mem bias, cl_mem y)
{
    size_t total = (size_t)n * c * p;
    if (total > INT_MAX) return too_big(ctx, "bias_add", total);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "conv2d", NULL, "bias_add", &k));
    cgan_range r = cgan_range_1d(total);
    return cgan_launch(ctx, k, &r, CGAN_KINT(total), CGAN_KINT(c), CGAN_KINT(p), CGAN_KMEM(bias),
                       CGAN_KMEM(y));
}

cgan_status cgan_conv_bias_grad(cgan_ctx *ctx, int n, int c, int p, cl_mem dy, cl_mem work,
                                cl_mem dbias)
{
    const int parts = CGAN_CONV_BIAS_PARTS;
    size_t total = (size_t)c * parts;
    if ((size_t)n * c * p > INT_MAX) return too_big(ctx, "bias gradient", (size_t)n * c * p);
    if (!work) return cgan_error(ctx, CGAN_E_INVALID, "bias gradient: no work space");
    cgan_kernel *k1, *k2;
    CGAN_TRY(cgan_kernel_get(ctx, "conv2d", NULL, "bias_grad_part", &k1));
    CGAN_TRY(cgan_kernel_get(ctx, "conv2d", NULL, "bias_grad_sum", &k2));
    cgan_range r1 = cgan_range_1d(total), r2 = cgan_range_1d((size_t)c);
    CGAN_TRY(cgan_launch(ctx, k1, &r1, CGAN_KINT(total), CGAN_KINT(n), CGAN_KINT(c), CGAN_KINT(p),
                         CGAN_KINT(parts), CGAN_KMEM(dy), CGAN_KMEM(work)));
    return cgan_launch(ctx, k2, &r2, CGAN_KINT(c), CGAN_KINT(parts), CGAN_KMEM(work),
                       CGAN_KMEM(dbias));
}

int cgan_conv_chunk(size_t work_floats, size_t per_image, int n)
{
    if (per_image == 0) return n;
    size_t nb = work_floats / per_image;
    return nb >= (size_t)n ? n : (int)nb;
}

int cgan_conv_plan_chunk(size_t per_image, int n)
{
    int nb = cgan_conv_chunk(CGAN_CONV_WORK_CAP, per_image, n);
    return nb < 1 ? 1 : nb;
}

/* ---- geometry -------------------------------------------------------------------------- */
typedef struct conv_dims {
    int n, cin, h, w, cout, ho, wo, k, stride, pad;
    size_t kk;      /* Cin*k*k: rows of the columns */
    size_t p;       /* Ho*Wo */
    int dense;      /* the kernel covers the whole unpadded input: out = x * W^T */
} conv_dims;

static conv_dims dims_of(const cgan_node *nd)
{
    conv_dims d;
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
    d.kk = (size_t)d.cin * d.k * d.k;
    d.p = (size_t)d.ho * d.wo;
    d.dense = d.pad == 0 && d.h == d.k && d.w == d.k;
    return d;
}

static cgan_colgeom colgeom_of(const conv_dims *d)
{
    cgan_colgeom g = { d->cin, d->h, d->w, d->k, d->stride, d->pad, d->ho, d->wo };
    return g;
}

/* Work floats per batch image: columns plus the packed output gradient. */
static size_t per_image(const conv_dims *d)
{
    return (d->kk + (size_t)d->cout) * d->p;
}

int cgan_conv_chunk_for(cgan_ctx *ctx, const cgan_op_args *a, size_t per_image, int n)
{
    size_t have = a->work ? a->node->work_floats : 0;
    int nb = cgan_conv_chunk(have, per_image, n);
    if (nb < 1)
        cgan_error(ctx, CGAN_E_INVALID, "%s: work space of %zu floats is below the %zu one image needs",
                   a->node->name, have, per_image);
    return nb;
}

static int chunk_of(cgan_ctx *ctx, const cgan_op_args *a, const conv_dims *d)
{
    return cgan_conv_chunk_for(ctx, a, per_image(d), d->n);
}

/* ---- builder ---------------------------------------------------------------------------- */
int cgan_nn_conv2d(cgan_graph *g, const char *name, int x, int cout, int k, int stride, int pad,
                   int bias)
{
    cgan_node *nd = cgan_graph_begin(g, CGAN_OP_CONV2D, name, &x, 1);
    if (!nd) return -1;
    char sb[64];
    cgan_shape in = nd->in_shape[0];
    if (cout < 1 || k < 1 || stride < 1 || pad < 0)
        return cgan_graph_fail(g, nd, "conv2d: bad arguments cout %d, kernel %d, stride %d, pad %d "
                               "(need cout, kernel, stride >= 1 and pad >= 0)", cout, k, stride, pad);
    if (in.h + 2 * pad < k || in.w + 2 * pad < k)
        return cgan_graph_fail(g, nd, "conv2d: input %s is smaller than kernel %d with pad %d",
                               cgan_shape_str(in, sb, sizeof sb), k, pad);
    cgan_shape out = cgan_shape4(in.n, cout, (in.h + 2 * pad - k) / stride + 1,
                                 (in.w + 2 * pad - k) / stride + 1);
    if (cgan_numel(in) > INT_MAX || cgan_numel(out) > INT_MAX || (size_t)in.c * k * k > INT_MAX)
        return cgan_graph_fail(g, nd, "conv2d: input %s with %d outputs exceeds the 32-bit index range",
                               cgan_shape_str(in, sb, sizeof sb), cout);
    nd->a.k = k;
    nd->a.stride = stride;
    nd->a.pad = pad;
    nd->a.has_bias = bias != 0;
    if (cgan_conv_add_params(g, nd, cgan_shape4(cout, in.c, k, k), cout, bias) < 0) return -1;
    nd->out_shape = out;
    conv_dims d = dims_of(nd);
    return cgan_conv_end(g, nd, "conv2d", d.dense, per_image(&d), d.n, cout, bias, out);
}

int cgan_conv_add_params(cgan_graph *g, cgan_node *nd, cgan_shape weight, int cout, int bias)
{
    if (cgan_graph_add_param(g, nd, "weight", weight, CGAN_INIT_NORMAL, 0.0f, 0.02f) < 0) return -1;
    if (bias && cgan_graph_add_param(g, nd, "bias", cgan_shape4(1, cout, 1, 1), CGAN_INIT_CONST,
                                     0.0f, 0.0f) < 0)
        return -1;
    return 0;
}

int cgan_conv_end(cgan_graph *g, cgan_node *nd, const char *op, int dense, size_t per_image,
                  int n, int cout, int bias, cgan_shape out)
{
    size_t work = 0;
    if (!dense && cgan_graph_ctx(g)->profile.conv_form == CGAN_CONV_FORM_IMPLICIT)
        work = cgan_conv_implicit_work(cgan_graph_ctx(g), nd); /* split-K partial sums */
    else if (!dense)
        work = (size_t)cgan_conv_plan_chunk(per_image, n) * per_image;
    if (bias && work < (size_t)cout * CGAN_CONV_BIAS_PARTS) work = (size_t)cout * CGAN_CONV_BIAS_PARTS;
    if (work > INT_MAX)
        return cgan_graph_fail(g, nd, "%s: one image needs %zu work floats, over the 32-bit "
                               "index range", op, work);
    nd->work_floats = work;
    return cgan_graph_end(g, nd, out);
}

/* ---- device forward / backward ----------------------------------------------------------- */
static cgan_status conv_forward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    conv_dims d = dims_of(nd);
    if (ctx->profile.conv_form == CGAN_CONV_FORM_IMPLICIT && !d.dense)
        return cgan_conv_implicit_forward(ctx, a);
    if (d.dense) {
        /* out [N][Cout] = x [N][Cin*k*k] * W^T */
        CGAN_TRY(cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_TRANS, d.n, d.cout, d.kk, 1.0f, a->in[0], 0,
                            d.kk, a->param[0], 0, d.kk, 0.0f, a->out, 0, d.cout));
    } else {
        int nb = chunk_of(ctx, a, &d);
        if (nb < 1) return CGAN_E_INVALID;
        cgan_colgeom cg = colgeom_of(&d);
        for (int n0 = 0; n0 < d.n; n0 += nb) {
            int cnt = d.n - n0 < nb ? d.n - n0 : nb;
            size_t np = (size_t)cnt * d.p;
            size_t ooff = d.kk * np; /* out_cm [Cout][np] after the columns [K][np] */
            /* out_cm [Cout][np] = W [Cout][K] * cols [K][np]: one wide GEMM for the chunk
             * (per-image products are as narrow as P, 16 columns in the models' last
             * layers), then back to NCHW. The packed GEMM reads the columns from x and
             * writes NCHW itself. */
            cgan_gemm_args g = { .ta = CGAN_NO_TRANS, .tb = CGAN_NO_TRANS, .m = d.cout, .n = np,
                                 .k = d.kk, .alpha = 1.0f, .beta = 0.0f, .a = a->param[0],
                                 .lda = d.kk, .b = a->work, .ldb = np, .c = a->work,
                                 .c_off = ooff, .ldc = np, .batch = 1 };
            cgan_gemm_views v = { .b = cgan_conv_view_im2col(a->in[0], n0, &cg),
                                  .c = cgan_conv_view_cm(a->out, n0, d.p) };
            int done;
            CGAN_TRY(cgan_gemm_viewed(ctx, &g, &v, &done));
            if (done) continue;
            CGAN_TRY(cgan_conv_im2col(ctx, &cg, a->in[0], n0, cnt, a->work, 0));
            CGAN_TRY(cgan_gemm(ctx, &g));
            CGAN_TRY(cgan_conv_unpack_cm(ctx, a->work, ooff, n0, cnt, d.cout, (int)d.p, 0.0f,
                                         a->out));
        }
    }
    if (nd->a.has_bias) CGAN_TRY(cgan_conv_bias_add(ctx, d.n, d.cout, (int)d.p, a->param[1], a->out));
    return CGAN_OK;
}

static cgan_status conv_backward(cgan_ctx *ctx, const cgan_op_args *a)
{
    const cgan_node *nd = a->node;
    conv_dims d = dims_of(nd);
    cl_mem din = a->din[0], dw = a->dparam[0];
    if (ctx->profile.conv_form == CGAN_CONV_FORM_IMPLICIT && !d.dense)
        return cgan_conv_implicit_backward(ctx, a);
    if (nd->a.has_bias && a->dparam[1])
        CGAN_TRY(cgan_conv_bias_grad(ctx, d.n, d.cout, (int)d.p, a->dout, a->work, a->dparam[1]));
    if (d.dense) {
        if (dw) /* dW [Cout][K] += dout^T [Cout][N] * x [N][K] */
            CGAN_TRY(cgan_sgemm(ctx, CGAN_TRANS, CGAN_NO_TRANS, d.cout, d.kk, d.n, 1.0f, a->dout,
                                0, d.cout, a->in[0], 0, d.kk, 1.0f, dw, 0, d.kk));
        if (din) /* dx [N][K] = dout [N][Cout] * W [Cout][K] (+ beta dx) */
            CGAN_TRY(cgan_sgemm(ctx, CGAN_NO_TRANS, CGAN_NO_TRANS, d.n, d.kk, d.cout, 1.0f,
                                a->dout, 0, d.cout, a->param[0], 0, d.kk, a->din_beta[0], din, 0,
                                d.kk));
        return CGAN_OK;
    }
    if (!din && !dw) return CGAN_OK;
    int nb = chunk_of(ctx, a, &d);
    if (nb < 1) return CGAN_E_INVALID;
    cgan_colgeom cg = colgeom_of(&d);
    for (int n0 = 0; n0 < d.n; n0 += nb) {
        int cnt = d.n - n0 < nb ? d.n - n0 : nb;
        size_t np = (size_t)cnt * d.p;
        size_t doff = d.kk * np; /* packed dout [Cout][np] after the columns [K][np] */
        /* The packed GEMM reads dout_cm and the columns from dout and x through views;
         * otherwise they are made in the work space first. */
        cgan_gemm_view dout_cm = cgan_conv_view_cm(a->dout, n0, d.p);
        int done, packed = 0;
        if (dw) {
            cgan_gemm_args g = { .ta = CGAN_NO_TRANS, .tb = CGAN_TRANS, .m = d.cout, .n = d.kk,
                                 .k = np, .alpha = 1.0f, .beta = 1.0f, .a = a->work,
                                 .a_off = doff, .lda = np, .b = a->work, .ldb = np, .c = dw,
                                 .ldc = d.kk, .batch = 1 };
            cgan_gemm_views v = { .a = dout_cm, .b = cgan_conv_view_im2col(a->in[0], n0, &cg) };
            CGAN_TRY(cgan_gemm_viewed(ctx, &g, &v, &done));
            if (!done) {
                CGAN_TRY(cgan_conv_pack_cm(ctx, a->dout, n0, cnt, d.cout, (int)d.p, a->work,
                                           doff));
                packed = 1;
                CGAN_TRY(cgan_conv_im2col(ctx, &cg, a->in[0], n0, cnt, a->work, 0));
                CGAN_TRY(cgan_gemm(ctx, &g));
            }
        }
        if (din) {
            /* dcols [K][np] = W^T * dout_cm, then gathered back onto the images */
            cgan_gemm_args g = { .ta = CGAN_TRANS, .tb = CGAN_NO_TRANS, .m = d.kk, .n = np,
                                 .k = d.cout, .alpha = 1.0f, .beta = 0.0f, .a = a->param[0],
                                 .lda = d.kk, .b = a->work, .b_off = doff, .ldb = np,
                                 .c = a->work, .ldc = np, .batch = 1 };
            cgan_gemm_views v = { .b = dout_cm };
            CGAN_TRY(cgan_gemm_viewed(ctx, &g, &v, &done));
            if (!done) {
                if (!packed)
                    CGAN_TRY(cgan_conv_pack_cm(ctx, a->dout, n0, cnt, d.cout, (int)d.p, a->work,
                                               doff));
                CGAN_TRY(cgan_gemm(ctx, &g));
            }
            CGAN_TRY(cgan_conv_col2im(ctx, &cg, a->work, 0, n0, cnt, a->din_beta[0], din));
        }
    }
    return CGAN_OK;
}

/* ---- double reference -------------------------------------------------------------------- */
static void ref_forward(const cgan_ref_args *a)
{
    conv_dims d = dims_of(a->node);
    const double *x = a->in[0], *wt = a->param[0];
    const double *b = a->node->a.has_bias ? a->param[1] : NULL;
    for (int n = 0; n < d.n; n++)
        for (int co = 0; co < d.cout; co++)
            for (int oy = 0; oy < d.ho; oy++)
                for (int ox = 0; ox < d.wo; ox++) {
                    double s = b ? b[co] : 0.0;
                    for (int ci = 0; ci < d.cin; ci++)
                        for (int ky = 0; ky < d.k; ky++) {
                            int iy = oy * d.stride - d.pad + ky;
                            if (iy < 0 || iy >= d.h) continue;
                            for (int kx = 0; kx < d.k; kx++) {
                                int ix = ox * d.stride - d.pad + kx;
                                if (ix < 0 || ix >= d.w) continue;
                                s += wt[((size_t)(co * d.cin + ci) * d.k + ky) * d.k + kx] *
                                     x[((size_t)(n * d.cin + ci) * d.h + iy) * d.w + ix];
                            }
                        }
                    a->out[((size_t)(n * d.cout + co) * d.ho + oy) * d.wo + ox] = s;
                }
}

static void ref_backward(const cgan_ref_args *a)
{
    conv_dims d = dims_of(a->node);
    const double *x = a->in[0], *wt = a->param[0], *dy = a->dout;
    double *dx = a->din[0], *dw = a->dparam[0];
    double *db = a->node->a.has_bias ? a->dparam[1] : NULL;
    if (dx) {
        size_t nx = (size_t)d.n * d.cin * d.h * d.w;
        for (size_t i = 0; i < nx; i++) dx[i] = a->din_beta[0] == 0.0 ? 0.0 : a->din_beta[0] * dx[i];
    }
    for (int n = 0; n < d.n; n++)
        for (int co = 0; co < d.cout; co++)
            for (int oy = 0; oy < d.ho; oy++)
                for (int ox = 0; ox < d.wo; ox++) {
                    double g = dy[((size_t)(n * d.cout + co) * d.ho + oy) * d.wo + ox];
                    if (db) db[co] += g;
                    for (int ci = 0; ci < d.cin; ci++)
                        for (int ky = 0; ky < d.k; ky++) {
                            int iy = oy * d.stride - d.pad + ky;
                            if (iy < 0 || iy >= d.h) continue;
                            for (int kx = 0; kx < d.k; kx++) {
                                int ix = ox * d.stride - d.pad + kx;
                                if (ix < 0 || ix >= d.w) continue;
                                size_t wi = ((size_t)(co * d.cin + ci) * d.k + ky) * d.k + kx;
                                size_t xi = ((size_t)(n * d.cin + ci) * d.h + iy) * d.w + ix;
                                if (dw) dw[wi] += g * x[xi];
                                if (dx) dx[xi] += g * wt[wi];
                            }
                        }
                }
}

const cgan_op_def cgan_op_conv2d_def = {
    "conv2d", CGAN_BWD_NEEDS_INPUT, conv_forward, conv_backward, ref_forward, ref_backward,
};

/* ---- self-check ---------------------------------------------------------------------------- */
cgan_status cgan_selfcheck_conv2d(cgan_ctx *ctx, cgan_check_result *res)
{
    const cgan_opcheck_case c = { "conv2d 3x3 s2 p1 bias on [3,3,7,9]", 1, 1e-4, 1e-4, 1e-5, 7 };
    cgan_graph *g = cgan_graph_new(ctx, "selftest");
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    int x = cgan_graph_input(g, "x", cgan_shape4(3, 3, 7, 9));
    cgan_nn_conv2d(g, "conv", x, 5, 3, 2, 1, 1);
    return cgan_opcheck_graph(ctx, g, &c, res, NULL);
}
