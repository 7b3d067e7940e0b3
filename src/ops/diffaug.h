/* DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
 * Training"), policy "translation,cutout", as one op (src/ops/diffaug.c, cl/diffaug.cl).
 *
 * Train mode, per sample n of x [N,C,H,W] (every channel alike):
 *  - translation by (tx, ty): tx uniform in [-sw, sw], ty in [-sh, sh] with
 *    sh = round(H * translate_ratio), sw = round(W * translate_ratio) (round half up);
 *    t[y,x] = x[y-ty, x-tx] where that is inside the image, else 0;
 *  - then cutout: out[y,x] = 0 on the rows cy - ch/2 .. cy - ch/2 + ch - 1 and the
 *    columns cx - cw/2 .. cx - cw/2 + cw - 1 (clipped at the borders), ch = round(H *
 *    cutout_ratio), cw = round(W * cutout_ratio), cy uniform in [0,H), cx in [0,W);
 *    out = t elsewhere.
 * Eval mode is the identity. The op is linear in x for fixed parameters; backward is the
 * adjoint gather (dx[y,x] = dy[y+ty, x+tx] where that pixel was kept, else 0).
 *
 * The parameters come from Philox4x32-10: philox({n, counter_lo, counter_hi, DIFFAUG_TAG},
 * {seed_lo, seed_hi}) gives four words w0..w3 and tx = below(w0, 2sw+1) - sw,
 * ty = below(w1, 2sh+1) - sh, cy = below(w2, H), cx = below(w3, W), with
 * below(w, m) = (w * m) >> 32 (exact on host and device). Forward keeps them in aux[0]
 * [N,4,1,1] as floats (tx, ty, cy, cx) for backward.
 *
 * Attributes (no dedicated fields in cgan_attrs yet): attrs.p holds translate_ratio,
 * attrs.target holds cutout_ratio. */
#ifndef CGAN_OPS_DIFFAUG_H
#define CGAN_OPS_DIFFAUG_H
#include <stdint.h>
#include "core/graph.h"
#include "core/selftest.h"

/* x [N,C,H,W] -> same shape. Ratios in [0, 1] (DiffAugment's defaults: 0.125, 0.5). */
int cgan_nn_diffaug(cgan_graph *g, const char *name, int x, float translate_ratio,
                    float cutout_ratio);

/* The integer sizes an image of h x w gets: sizes = { sh, sw, ch, cw } as above. */
void cgan_diffaug_sizes(int h, int w, float translate_ratio, float cutout_ratio, int sizes[4]);

/* The parameters of sample n, as the device draws them: p = { tx, ty, cy, cx }. */
void cgan_diffaug_draw(uint64_t seed, uint64_t counter, uint32_t n, int h, int w,
                       const int sizes[4], int p[4]);

/* Self-check for `cgan-cl selftest`: a small odd-shaped graph through cgan_opcheck in
 * train and eval mode. */
cgan_status cgan_selfcheck_diffaug(cgan_ctx *ctx, cgan_check_result *res);
#endif
