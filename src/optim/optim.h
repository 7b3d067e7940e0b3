/* Optimiser kernels over contiguous parameter buffers: Adam and an exponential moving
 * average of parameters. One launch each over the whole range. */
#ifndef CGAN_OPTIM_H
#define CGAN_OPTIM_H
#include "cgan/optim.h"
#include "runtime/runtime.h"
#include "core/selftest.h"


/* One Adam step t (1-based, for bias correction) over n floats:
 *   g = grad + wd*param; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *   param -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)      (PyTorch's formula) */
cgan_status cgan_adam_step(cgan_ctx *ctx, const cgan_adam_cfg *cfg, size_t n, cl_mem param,
                           cl_mem grad, cl_mem m, cl_mem v, int t);
/* ema = decay*ema + (1-decay)*param over n floats. */
cgan_status cgan_ema_update(cgan_ctx *ctx, size_t n, float decay, cl_mem ema, cl_mem param);

/* Double-precision references of the same updates. */
void cgan_adam_ref(const cgan_adam_cfg *cfg, size_t n, double *param, const double *grad,
                   double *m, double *v, int t);
void cgan_ema_ref(size_t n, double decay, double *ema, const double *param);

cgan_status cgan_check_adam(cgan_ctx *ctx, cgan_check_result *res);
cgan_status cgan_check_ema(cgan_ctx *ctx, cgan_check_result *res);
#endif
