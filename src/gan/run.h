/* Training runs: public, in cgan/trainer.h. */
#ifndef CGAN_RUN_H
#define CGAN_RUN_H
#include "gan/trainer.h"

/* Delete all but the newest `keep` (>= 1) checkpoints in <rundir>/checkpoints: the files
 * step_<N>.safetensors, ordered by the number N. CGAN_E_INVALID when keep < 1. */
cgan_status cgan_run_prune(cgan_ctx *ctx, const char *rundir, int keep);
#endif
