/* The trainer's internals; the public side is cgan/trainer.h. */
#ifndef CGAN_TRAINER_H
#define CGAN_TRAINER_H
#include "cgan/trainer.h"
#include "gan/models.h"
#include "optim/optim.h"

/* Buffers for checkpoints and sampling. */
cl_mem cgan_trainer_adam_m(cgan_trainer *t, int d);   /* d: 0 = G, 1 = D */
cl_mem cgan_trainer_adam_v(cgan_trainer *t, int d);
cl_mem cgan_trainer_ema(cgan_trainer *t);            /* NULL when the EMA is off */

/* A data-parallel trainer's parts (accum.h; cgan_trainer_create_dist is public). */
struct cgan_gsync;
struct cgan_gsync *cgan_trainer_gsync(cgan_trainer *t, int d); /* NULL for one process */
struct cgan_dist *cgan_trainer_dist(cgan_trainer *t);
/* Where the trainer keeps its standing-statistics pass (gan/stab.h), made on first use and
 * destroyed with the trainer. */
struct cgan_standing **cgan_trainer_standing_slot(cgan_trainer *t);
#endif
