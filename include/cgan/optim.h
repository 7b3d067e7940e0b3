/* cgan/optim.h: optimisers over a graph's parameter set.
 *
 * A graph keeps all its trained parameters in one contiguous device range and their
 * gradients in another (cgan/graph.h), so an optimiser is one kernel launch over the whole
 * set. Both optimisers here own their state buffers (allocated once, on create) and only
 * enqueue work: no host wait.
 *
 *     cgan_adam_cfg a = cgan_adam_defaults();           // lr 2e-4, betas (0.5, 0.999)
 *     cgan_optimizer *opt; cgan_adam_create(g, &a, &opt);
 *     for (...) { cgan_graph_zero_grad(g); forward; backward; cgan_optimizer_step(opt); }
 */
#ifndef CGAN_API_OPTIM_H
#define CGAN_API_OPTIM_H
#include <stdint.h>
#include "cgan/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Adam as PyTorch defines it, weight decay added to the gradient (L2, not AdamW):
 *   g = grad + wd*param; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *   param -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
typedef struct cgan_adam_cfg {
    float lr, beta1, beta2, eps, weight_decay;
} cgan_adam_cfg;

/* The DCGAN settings: lr 2e-4, beta1 0.5, beta2 0.999, eps 1e-8, no weight decay. (The GAN
 * trainer's own default, cgan_train_defaults, has beta1 0: measured better, BENCHMARKS.md.) */
CGAN_API cgan_adam_cfg cgan_adam_defaults(void);

typedef struct cgan_optimizer cgan_optimizer;

/* Adam over every parameter of g (planned in CGAN_MODE_TRAIN); moments start at zero.
 * CGAN_E_INVALID for a graph that is not planned for training or a bad setting (lr or
 * eps <= 0 or not finite, a beta outside [0, 1)). */
CGAN_API cgan_status cgan_adam_create(cgan_graph *g, const cgan_adam_cfg *cfg,
                                      cgan_optimizer **out);
/* One update from the gradients the graph holds now (enqueued). */
CGAN_API cgan_status cgan_optimizer_step(cgan_optimizer *o);
/* Change the learning rate from the next step on (schedules). */
CGAN_API cgan_status cgan_optimizer_set_lr(cgan_optimizer *o, float lr);
/* Updates made so far. */
CGAN_API int64_t cgan_optimizer_steps(const cgan_optimizer *o);
CGAN_API void cgan_optimizer_destroy(cgan_optimizer *o);

typedef struct cgan_ema cgan_ema;

/* An exponential moving average of g's parameters, starting from their current values:
 * ema = decay * ema + (1 - decay) * param at each cgan_ema_step. decay in [0, 1). */
CGAN_API cgan_status cgan_ema_create(cgan_graph *g, float decay, cgan_ema **out);
CGAN_API cgan_status cgan_ema_step(cgan_ema *e);
/* Copy the averaged parameters into another planned graph with the same parameters (the
 * same names and shapes, in the same order), e.g. an eval-mode twin for sampling. */
CGAN_API cgan_status cgan_ema_copy_to(cgan_ema *e, cgan_graph *dst);
CGAN_API void cgan_ema_destroy(cgan_ema *e);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_OPTIM_H */
