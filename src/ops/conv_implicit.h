/* Implicit-GEMM convolution (cl/conv_implicit.cl): conv2d and deconv2d products as tiled
 * GEMMs that gather their operands straight from NCHW tensors, with no column buffer and
 * no pack or unpack pass. The form a GPU profile uses (ctx->profile.conv_form ==
 * CGAN_CONV_FORM_IMPLICIT); dense layers stay on the plain GEMM. */
#ifndef CGAN_OPS_CONV_IMPLICIT_H
#define CGAN_OPS_CONV_IMPLICIT_H
#include <stddef.h>
#include "runtime/runtime.h"
#include "ops/op.h"

/* One convolution: the image [n][c][h][w] convolved by a weight [f][c][k][k] (stride,
 * pad) into the positions [n][f][ho][wo]. A ConvTranspose2d is the same with its output
 * as the image and its input as the positions (weight [Cin][Cout][k][k] = [f][c][k][k]). */
typedef struct cgan_convgeom {
    int n, c, h, w, f, ho, wo, k, stride, pad;
} cgan_convgeom;

/* The geometry of a conv2d or deconv2d node. */
cgan_convgeom cgan_conv_implicit_geom(const cgan_node *nd);

/* y = conv(x) (+ bias[f] unless bias is NULL) + beta * y (beta 0: y is only written). */
cgan_status cgan_conv_implicit_fwd(cgan_ctx *ctx, const cgan_convgeom *g, cl_mem x, cl_mem wt,
                                   cl_mem bias, float beta, cl_mem y);
/* x = conv^T(y) (+ bias[c] unless NULL) + beta * x: a gather by stride phases. */
cgan_status cgan_conv_implicit_bwd_data(cgan_ctx *ctx, const cgan_convgeom *g, cl_mem y,
                                        cl_mem wt, cl_mem bias, float beta, cl_mem x);
/* dw[f][c][ky][kx] += sum over n, oy, ox of y[n][f][oy][ox] x[n][c][oy*s-pad+ky][ox*s-pad+kx];
 * splits the long sum over work (work_floats floats; NULL/0: no split). */
cgan_status cgan_conv_implicit_wgrad(cgan_ctx *ctx, const cgan_convgeom *g, cl_mem y, cl_mem x,
                                     cl_mem work, size_t work_floats, cl_mem dw);

/* Work floats the weight gradient of node nd would like for its split-K partial sums
 * (0: none), at most CGAN_CONV_WORK_CAP. */
size_t cgan_conv_implicit_work(const cgan_ctx *ctx, const cgan_node *nd);

/* The forward and backward of a conv2d or deconv2d node (not a dense one) in this form. */
cgan_status cgan_conv_implicit_forward(cgan_ctx *ctx, const cgan_op_args *a);
cgan_status cgan_conv_implicit_backward(cgan_ctx *ctx, const cgan_op_args *a);
#endif
