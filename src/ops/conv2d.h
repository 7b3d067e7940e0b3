/* Convolution helpers shared by conv2d.c and deconv2d.c (kernels in cl/conv2d.cl), and the
 * self-checks of both ops. */
#ifndef CGAN_OPS_CONV2D_H
#define CGAN_OPS_CONV2D_H
#include "core/selftest.h"
#include "runtime/runtime.h"
#include "ops/op.h"
#include "core/graph.h"
#include "blas/packgemm.h"

/* Work space is sized so that one chunk of the batch fits in at most this many floats
 * (64 MiB); larger batches are processed in several chunks. */
#define CGAN_CONV_WORK_CAP ((size_t)1 << 24)
/* Partial sums per channel of the bias gradient (needs C * this many work floats). */
#define CGAN_CONV_BIAS_PARTS 64

/* The image side of an im2col: [.., c, h, w] convolved by k/stride/pad into oh x ow. */
typedef struct cgan_colgeom {
    int c, h, w, k, stride, pad, oh, ow;
} cgan_colgeom;

/* Images n0 .. n0+nb-1 of img into columns [c*k*k][nb*oh*ow] at work float col_off. */
cgan_status cgan_conv_im2col(cgan_ctx *ctx, const cgan_colgeom *g, cl_mem img, int n0, int nb,
                             cl_mem cols, size_t col_off);
/* Columns back onto images n0 .. n0+nb-1 of img: img = col2im + beta * img (beta 0: write). */
cgan_status cgan_conv_col2im(cgan_ctx *ctx, const cgan_colgeom *g, cl_mem cols, size_t col_off,
                             int n0, int nb, float beta, cl_mem img);
/* dst[dst_off + (c*nb + n)*p + q] = src[n0+n][c][q] (channel-major pack of a chunk). */
cgan_status cgan_conv_pack_cm(cgan_ctx *ctx, cl_mem src, int n0, int nb, int c, int p, cl_mem dst,
                              size_t dst_off);
/* The inverse: dst[n0+n][c][q] = src[src_off + (c*nb + n)*p + q] + beta * dst[..]. */
cgan_status cgan_conv_unpack_cm(cgan_ctx *ctx, cl_mem src, size_t src_off, int n0, int nb, int c,
                                int p, float beta, cl_mem dst);
/* Views for cgan_gemm_viewed: images n0.. of img as the channel-major matrix [C][nb*p]
 * (p positions per plane), and as their im2col columns [c*k*k][nb*oh*ow]. */
cgan_gemm_view cgan_conv_view_cm(cl_mem img, int n0, size_t p);
cgan_gemm_view cgan_conv_view_im2col(cl_mem img, int n0, const cgan_colgeom *g);
/* y[n][c][q] += bias[c] over y [n][c][p]. */
cgan_status cgan_conv_bias_add(cgan_ctx *ctx, int n, int c, int p, cl_mem bias, cl_mem y);
/* dbias[c] += sum over n, q of dy[n][c][q]; uses c * CGAN_CONV_BIAS_PARTS floats of work. */
cgan_status cgan_conv_bias_grad(cgan_ctx *ctx, int n, int c, int p, cl_mem dy, cl_mem work,
                                cl_mem dbias);
/* Batch images per chunk for per_image floats of work in work_floats (0: too small). */
int cgan_conv_chunk(size_t work_floats, size_t per_image, int n);
/* The chunk for a launch of node a->node: images per pass that fit its work space, or 0
 * with an error naming the node when not even one image fits. */
int cgan_conv_chunk_for(cgan_ctx *ctx, const cgan_op_args *a, size_t per_image, int n);
/* Builder tail shared by conv2d and deconv2d: the weight (DCGAN N(0, 0.02)) and optional
 * bias parameters. Returns -1 on error (recorded on g). */
int cgan_conv_add_params(cgan_graph *g, cgan_node *nd, cgan_shape weight, int cout, int bias);
/* Size the work space (a chunk of images of per_image floats unless dense, and the bias
 * reduction) and finish the node with output shape out. */
int cgan_conv_end(cgan_graph *g, cgan_node *nd, const char *op, int dense, size_t per_image,
                  int n, int cout, int bias, cgan_shape out);
/* How many batch images a chunk holds when building: as many as fit CGAN_CONV_WORK_CAP. */
int cgan_conv_plan_chunk(size_t per_image, int n);

/* Self-checks for `cgan-cl selftest`: small odd shapes through cgan_opcheck. */
cgan_status cgan_selfcheck_conv2d(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_selfcheck_deconv2d(cgan_ctx *ctx, cgan_check_result *res);
#endif
